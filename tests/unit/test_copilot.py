"""Copilot features in-process: a failing feature reports its own error beside the others, and
the draft check."""

from __future__ import annotations

import asyncio
import socket

from bot.copilot import analysis, store
from bot.copilot.rasa_client import RasaClient


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens here once the probe closes


def test_a_rasa_server_that_is_down_fails_only_its_own_features():
    rasa = RasaClient(f"http://127.0.0.1:{closed_port()}", "token")
    result = asyncio.run(analysis.analyse(rasa, "call-down", "我的基金跌了好多，好担心怎么办", "demo-c3"))
    assert "intent unavailable" in result["intent"]["error"]
    assert "suggested_reply unavailable" in result["suggested_reply"]["error"]
    assert result["emotion"]["label"] == "anxious" and result["emotion"]["trend"][-1]["emotion"] == "anxious"
    assert result["knowledge"]["snippets"][0]["entry_id"] == "edu-market-fall"
    assert [a["rule"] for a in result["alerts"]] == ["emotional"]
    assert store.trend("call-down")[-1]["turn_id"] == result["turn_id"]


def test_draft_check():
    assert analysis.check_draft("您好，请问还有什么可以帮您？", None) == {"ok": True, "findings": []}
    found = analysis.check_draft("年化收益率 4.5%，稳赚不赔", None)
    assert {f["rule"] for f in found["findings"]} >= {"guarantees", "stated_yield"}
    warned = analysis.check_draft("理财非存款、产品有风险、投资须谨慎。安心成长股票基金是一只股票基金。", "demo-c5")
    assert warned["ok"], warned
    unsuitable = analysis.check_draft("理财非存款、产品有风险、投资须谨慎。安心成长股票基金是一只股票基金。", "demo-c1")
    assert [f["rule"] for f in unsuitable["findings"]] == ["unsuitable_product"]


def test_distress_trend_counts_only_the_negative_turns_in_a_row():
    trend = [{"emotion": e} for e in ("anxious", "calm", "anxious", "angry")]
    alerts = analysis._alerts("你们到底管不管", None, "complaint", {"label": "angry"}, trend, None)
    distress = [a for a in alerts if a["rule"] == "distress_trend"]
    assert len(distress) == 1 and distress[0]["message"].startswith("客户连续 2 句")
    calm_last = [{"emotion": e} for e in ("angry", "angry", "calm")]
    assert not [a for a in analysis._alerts("好的", None, "affirm", {"label": "calm"}, calm_last, None)
                if a["rule"] == "distress_trend"]
