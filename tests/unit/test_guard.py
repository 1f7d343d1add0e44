import shutil

import pytest
import yaml

from bot.compliance import guard, rulebook

WARNING_ZH = "理财非存款、产品有风险、投资须谨慎"


@pytest.mark.parametrize("text, rule", [
    ("这款产品保本保收益", "guarantees"),
    ("和存款一样安全", "guarantees"),
    ("This fund is risk-free", "guarantees"),
    ("you can't lose with this", "guarantees"),
    ("这是我们最好的产品", "superlatives"),
    ("最后机会，错过就没了", "urgency_and_fear"),
    ("Act now before it's too late", "urgency_and_fear"),
    ("预期收益率 4.5%", "stated_yield"),
    ("年化收益3.2%", "stated_yield"),
    ("it pays 5% annual return", "stated_yield"),
    ("expected yield is high", "stated_yield"),
    ("这只基金明年一定会涨", "prediction"),
    ("the market will definitely recover", "prediction"),
])
def test_forbidden_wording_is_caught(text, rule):
    assert rule in {v.rule for v in guard.check_message(text)}


@pytest.mark.parametrize("text", [
    "您的账户可用余额为 12,345.67 CNY。",
    "转账手续费和限额因渠道而不同，以本行公布的最新收费标准为准。",
    "Your balance is CNY 100.00.",
    "管理费 0.5%/年",  # a fee from a product sheet is a fact, not a promised yield
])
def test_ordinary_banking_text_passes(text):
    assert guard.check_message(text) == []


def test_product_named_without_warning_is_blocked():
    assert [v.rule for v in guard.check_message("推荐安心纯债债券基金")] == ["missing_warning"]
    assert [v.rule for v in guard.check_message("Try the Anxin Pure Bond Fund")] == ["missing_warning"]


def test_product_named_after_the_warning_in_the_same_turn_passes():
    assert guard.check_message("安心纯债债券基金：风险等级 R2", earlier_in_turn=[f"【风险提示】{WARNING_ZH}。"]) == []
    assert guard.check_message(f"{WARNING_ZH}。安心纯债债券基金") == []


def test_rules_reload_without_restart(tmp_path, monkeypatch):
    rules_file = tmp_path / "rules.yml"
    shutil.copy(rulebook.DEFAULT_RULES, rules_file)
    monkeypatch.setenv("ANXIN_COMPLIANCE_RULES", str(rules_file))
    assert guard.check_message("稳稳的幸福") == []
    raw = yaml.safe_load(rules_file.read_text(encoding="utf-8"))
    raw["forbidden_phrases"]["guarantees"].append("稳稳的幸福")
    rules_file.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    import os
    os.utime(rules_file, ns=(rules_file.stat().st_atime_ns, rules_file.stat().st_mtime_ns + 1_000_000))
    assert [v.rule for v in guard.check_message("稳稳的幸福")] == ["guarantees"]
