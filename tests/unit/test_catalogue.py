from bot.compliance import catalogue

TEXT_FIELDS = ("name", "term", "liquidity", "fees", "key_risks")


def test_at_least_fifteen_products_across_all_levels_and_types():
    products = catalogue.products()
    assert len(products) >= 15
    assert {p.risk for p in products} == set(catalogue.RISK_LEVELS)
    assert {"deposit", "money_market_fund", "bond_fund", "hybrid_fund", "equity_fund", "structured_deposit",
            "insurance", "private_fund"} <= {p.type for p in products}


def test_every_product_sheet_is_complete_in_both_languages():
    for product in catalogue.products():
        for field in TEXT_FIELDS:
            value = getattr(product, field)
            assert set(value) == {"zh", "en"} and all(isinstance(v, str) and v for v in value.values()), \
                (product.id, field, value)
        assert product.min_amount > 0


def test_private_products_and_only_they_have_a_cooling_off_period():
    for product in catalogue.products():
        assert (product.type == "private_fund") == (product.cooling_off_hours >= 24), product.id


def test_product_names_are_detected_in_text():
    assert [p.id for p in catalogue.named_in("我想了解安心纯债债券基金")] == ["AX-BF-01"]
    assert [p.id for p in catalogue.named_in("what about the anxin csi 300 index fund?")] == ["AX-EF-02"]
    assert catalogue.named_in("查余额") == []
