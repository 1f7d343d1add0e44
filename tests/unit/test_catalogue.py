import pytest
import yaml

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


@pytest.mark.parametrize("text, product_id", [
    ("现金宝能随时取吗", "AX-MMF-01"),                 # a short name from the aliases block
    ("沪深300指数基金的风险等级", "AX-EF-02"),
    ("介绍一下年年养老", "AX-INS-01"),
    ("is Anxin CD covered by deposit insurance?", "AX-DEP-02"),
    ("tell me about the anxin cash fund", "AX-MMF-01"),  # English aliases: any case
    ("AX-MMF-01", "AX-MMF-01"),                          # ids
    ("产品代码 ax-ef-03", "AX-EF-03"),
    ("code AX_PE_01 please", "AX-PE-01"),
    ("ＡＸ－ＭＭＦ－０１", "AX-MMF-01"),                   # full-width
    ("稳盈90天", "AX-WM-01"),                            # the alias is written "稳盈 90 天"
    ("现\u200b金\u200b宝", "AX-MMF-01"),                 # zero-width spaces slipped in
    ("安心纯 债债券基金", "AX-BF-01"),
])
def test_short_names_ids_and_other_spellings_name_a_product(text, product_id):
    assert [p.id for p in catalogue.named_in(text)] == [product_id]


def test_every_alias_and_id_names_its_own_product_only():
    raw = yaml.safe_load(catalogue.catalogue_path().read_text(encoding="utf-8"))
    assert set(raw["aliases"]) == {p.id for p in catalogue.products()}
    for product_id, by_language in raw["aliases"].items():
        for alias in [*by_language["zh"], *by_language["en"], product_id]:
            assert [p.id for p in catalogue.named_in(alias)] == [product_id], alias


@pytest.mark.parametrize("text", ["我想存一笔定期", "what is a money market fund?", "R1 到 R5 是什么意思",
                                  "Welcome to Anxin. Plus, I can check your balance.", "AX-ZZ-01"])
def test_words_that_name_no_product(text):
    assert catalogue.named_in(text) == []


def test_aliases_for_an_unknown_product_are_refused(tmp_path, monkeypatch):
    raw = yaml.safe_load(catalogue.DEFAULT_CATALOGUE.read_text(encoding="utf-8"))
    raw["aliases"]["AX-XX-99"] = {"zh": ["不存在"], "en": ["Nothing"]}
    path = tmp_path / "catalogue.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("ANXIN_CATALOGUE", str(path))
    with pytest.raises(ValueError, match="AX-XX-99"):
        catalogue.products()
