"""The allocation report (bot/advisory/report_*.py, reports.py): every text passes the compliance
guard (warning first, no forbidden wording) or nothing is made; HTML with inline SVG charts and a
PDF in Chinese and English; stored so any replica serves it; signed, expiring links whose forgery
or expiry is refused with a clear reason; a render check writing results/reports/."""

from __future__ import annotations

import dataclasses
import os
import stat
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.advisory import render_check, report_content, report_links, report_store, reports, texts, valuation
from bot.advisory.report_content import ReportBlocked
from bot.advisory.report_links import ReportLinkError
from bot.compliance import catalogue, guard

ROOT = Path(__file__).resolve().parents[2]
WARNING = {"zh": "理财非存款、产品有风险、投资须谨慎",
           "en": "Wealth products are not deposits; they carry risk; invest with care."}
CAVEAT = {"zh": "过往业绩不代表未来表现", "en": "Past performance does not predict future results"}
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)


def content_of(customer: str, language: str) -> report_content.ReportContent:
    return report_content.build(valuation.portfolio(customer), customer, NOW, NOW + timedelta(hours=72), language)


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("customer", ["demo-c1", "demo-c2", "demo-c4", "demo-senior", "demo-rich", "demo-expired",
                                      "demo-low-balance"])
def test_every_text_of_every_demo_report_passes_the_guard_warning_first(customer, language):
    content = content_of(customer, language)
    pieces = [t for t in content.texts if t]
    assert pieces[1] == WARNING[language]
    for i, piece in enumerate(pieces):
        assert guard.check_message(piece, earlier_in_turn=pieces[:i]) == [], piece
    assert any(CAVEAT[language] in note for note in content.notes)
    first_product = next(i for i, t in enumerate(pieces) if catalogue.named_in(t)) if content.rows else None
    assert first_product is None or first_product > 1


def test_a_report_whose_text_breaks_the_rules_is_refused_and_nothing_is_stored(monkeypatch):
    broken = {**texts.all_texts(), "report": {**texts.all_texts()["report"],
                                              "facts_not_advice": {"zh": "本产品保本保收益，预期年化 5%", "en": "x"}}}
    monkeypatch.setattr(texts, "all_texts", lambda: broken)
    with pytest.raises(ReportBlocked) as blocked:
        reports.create_report("demo-c4", "zh")
    assert {v.rule for v in blocked.value.violations} == {"guarantees", "stated_yield"}
    assert report_store.purge_expired(NOW + timedelta(days=3650)) == 0  # none was stored


def test_a_report_without_the_warning_before_a_product_is_refused():
    content = content_of("demo-c4", "zh")
    with pytest.raises(ReportBlocked, match="missing_warning"):
        report_content.check(dataclasses.replace(content, warning=""))


@pytest.mark.parametrize("language", ["zh", "en"])
def test_html_and_pdf_are_made_stored_and_served_through_the_link(language):
    made = reports.create_report("demo-senior", language, now=NOW - timedelta(hours=1))
    assert [(f.product_id, f.new) for f in made.flags] == [("AX-EF-01", True)]
    report = report_links.open_report(made.token, now=NOW)
    assert report.customer_id == "demo-senior" and report.language == language
    html = report.html
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") == 2 and "<script" not in html
    assert html.index(WARNING[language]) < html.index(catalogue.named_in(html)[0].name[language])
    assert "stroke-dasharray" in html  # the customer's level marked on the chart
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing fetched
    assert report.pdf.startswith(b"%PDF-") and b"STSong-Light" in report.pdf and report.pdf.rstrip().endswith(b"%%EOF")
    assert made.expires_at == NOW - timedelta(hours=1) + timedelta(hours=72)


def test_links_that_are_forged_edited_expired_malformed_or_for_nothing_are_refused():
    made = reports.create_report("demo-c4", "zh", now=NOW)
    other = reports.create_report("demo-c2", "zh", now=NOW)
    report_id, expires, signature = made.token.split(".")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    attempts = {
        f"{report_id}.{expires}.{flipped}": "forged",
        f"{other.report_id}.{expires}.{signature}": "forged",                  # another report, this signature
        f"{report_id}.{int(expires) + 86400}.{signature}": "forged",           # kept alive longer
        f"{report_links.issue('0' * 32, NOW + timedelta(hours=1))}": "unknown",  # signed, but no such report
        "": "malformed", "abc": "malformed", f"{report_id}.{expires}": "malformed",
        f"{report_id}.{expires}.{signature}x": "malformed",
    }
    for token, reason in attempts.items():
        with pytest.raises(ReportLinkError) as refused:
            report_links.open_report(token, now=NOW + timedelta(minutes=5))
        assert refused.value.reason == reason, token
    with pytest.raises(ReportLinkError) as late:
        report_links.open_report(made.token, now=NOW + timedelta(hours=72))
    assert late.value.reason == "expired"
    assert late.value.message("zh") == "这个报告链接已过期，请通过安心助手重新生成报告。"
    assert late.value.message("en") == "This report link has expired; please ask Anxin to create the report again."
    assert report_links.open_report(made.token, now=NOW + timedelta(hours=71)).customer_id == "demo-c4"
    shorter = report_links.issue(made.report_id, NOW + timedelta(hours=1))  # a link may live less than its report
    with pytest.raises(ReportLinkError, match="expired"):
        report_links.open_report(shorter, now=NOW + timedelta(hours=2))


def test_expired_reports_are_purged_and_their_links_then_find_nothing():
    made = reports.create_report("demo-c1", "en", now=NOW)
    assert report_store.purge_expired(NOW + timedelta(hours=71)) == 0
    assert report_store.purge_expired(NOW + timedelta(hours=72)) == 1
    assert report_store.find(made.report_id) is None


def test_a_link_signed_under_another_key_is_forged(monkeypatch):
    made = reports.create_report("demo-c3", "zh", now=NOW)
    monkeypatch.setenv("ANXIN_REPORT_KEY", "another-replica-key-0123456789")
    with pytest.raises(ReportLinkError, match="forged"):
        report_links.open_report(made.token, now=NOW)


def test_the_demo_key_file_is_private_and_production_needs_a_configured_key(monkeypatch, isolated_state):
    reports.create_report("demo-c3", "zh")
    key_file = isolated_state / "report.key"
    assert len(key_file.read_bytes()) == 32 and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not (isolated_state / "audit.key").exists()  # a key of its own, not the audit key
    monkeypatch.setenv("ANXIN_DEMO_MODE", "0")
    with pytest.raises(RuntimeError, match="ANXIN_REPORT_KEY is not set"):
        report_links.issue("0" * 32, NOW)
    monkeypatch.setenv("ANXIN_REPORT_KEY", "short")
    with pytest.raises(RuntimeError, match="ANXIN_REPORT_KEY is too short"):
        report_links.issue("0" * 32, NOW)
    monkeypatch.setenv("ANXIN_REPORT_KEY", "a-bank-key-from-the-vault-0001")
    assert report_links.issue("0" * 32, NOW) != report_links.issue("1" * 32, NOW)


def test_the_rasa_environment_serves_a_stored_report_without_reportlab(isolated_state):
    made = reports.create_report("demo-c4", "en")
    python = ROOT / ".venv-rasa" / "bin" / "python"
    code = ("import sys; from bot.advisory import report_links; r = report_links.open_report(sys.argv[1]); "
            "print(r.customer_id, len(r.pdf) > 1000, 'reportlab' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    served = subprocess.run([str(python), "-c", code, made.token], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert served.returncode == 0, served.stderr
    assert served.stdout.split() == ["demo-c4", "True", "False"]


def test_the_render_check_writes_html_and_pdf_to_results_reports():
    written = render_check.write_reports(("demo-c4", "demo-senior"))
    assert {p.name for p in written} == {f"{c}-{lang}.{kind}" for c in ("demo-c4", "demo-senior")
                                         for lang in ("zh", "en") for kind in ("html", "pdf")}
    assert all(p.parent == ROOT / "results" / "reports" and p.stat().st_size > 2000 for p in written)
    assert all(p.read_bytes().startswith(b"%PDF-") for p in written if p.suffix == ".pdf")
