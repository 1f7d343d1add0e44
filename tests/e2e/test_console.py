"""The compliance console in a real headless Chromium against the real servers: records made by
real conversations are found, exported and verified; a real guard block is reviewed; a rules
draft is validated and tried beside the live rules; the history and the simulation report are
shown; only a compliance officer gets in, and what they read is audited. Screenshot:
results/screenshots/console.png."""

from __future__ import annotations

import csv
import io
import os
import shutil
import uuid
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from bot.compliance import audit, catalogue, rulebook
from tests.e2e.conftest import Chat

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "results" / "screenshots"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    return tmp_path_factory.mktemp("console-downloads")


@pytest.fixture(scope="module")
def browser(downloads):
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1400,2400", "--lang=zh-CN"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.set_page_load_timeout(30)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def wait_for(driver, condition, timeout: float = 30):
    return WebDriverWait(driver, timeout).until(condition)


def text_of(driver, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text


def open_console(servers, browser) -> None:
    browser.get(f"{servers.copilot_url}/console")
    browser.delete_all_cookies()
    browser.refresh()
    wait_for(browser, EC.element_to_be_clickable((By.ID, "sign-in")))


def sign_in(browser, key: str) -> None:
    browser.find_element(By.ID, "officer-key").send_keys(key)
    browser.find_element(By.ID, "sign-in").click()


def rows(browser, table_id: str) -> list[list[str]]:
    """The table's cells as shown, read in one go (the page redraws tables as answers arrive)."""
    return browser.execute_script("return [...document.querySelectorAll(`#${arguments[0]} tbody tr`)]"
                                  ".map(r => [...r.cells].map(c => c.innerText))", table_id)


@pytest.fixture(scope="module")
def conversations(servers, chat_as_module):
    """Audit records made by the real bot: a C3 customer shown products (warning and suggestion
    records) and a guard block (a phrase of the bot's card-lost answer made forbidden for one turn)."""
    reply = chat_as_module("demo-c3").say("有什么基金推荐")
    shown = sorted({p.id for m in reply for p in catalogue.named_in(m.get("text", ""))})
    assert shown, reply
    blocked_customer = f"demo-console-{uuid.uuid4().hex[:6]}"
    rules_file = os.environ["ANXIN_COMPLIANCE_RULES"]
    original = Path(rules_file).read_text(encoding="utf-8")
    try:
        Path(rules_file).write_text(original.replace("  guarantees:\n", "  guarantees:\n    - 演示号码\n", 1),
                                    encoding="utf-8")
        assert chat_as_module(blocked_customer).texts("我的银行卡丢了") == [rulebook.current().blocked_reply["zh"]]
    finally:
        Path(rules_file).write_text(original, encoding="utf-8")
    return {"shown": shown, "blocked_customer": blocked_customer}


@pytest.fixture(scope="module")
def chat_as_module(servers):
    return lambda sender: Chat(servers, sender)


def test_only_a_compliance_officer_gets_in(servers, browser):
    api = f"{servers.copilot_url}/console/api/audit"
    assert requests.get(api, timeout=10).status_code == 401
    for agent in ("demo-agent", "demo-supervisor"):
        headers = {"Authorization": f"Bearer {servers.demo_agent_keys[agent]}"}
        assert requests.get(api, headers=headers, timeout=10).status_code == 403
    officer = {"Authorization": f"Bearer {servers.demo_agent_keys['demo-compliance']}"}
    assert requests.get(api, headers=officer, timeout=10).status_code == 200
    assert requests.get(f"{servers.copilot_url}/api/me", headers=officer, timeout=10).status_code == 401
    open_console(servers, browser)
    sign_in(browser, servers.demo_agent_keys["demo-supervisor"])
    wait_for(browser, EC.text_to_be_present_in_element((By.ID, "signin-error"), "合规专员"))
    assert not browser.find_element(By.ID, "console").is_displayed()


def test_the_officer_searches_exports_verifies_reviews_and_tries_a_draft(servers, browser, conversations, downloads):
    open_console(servers, browser)
    sign_in(browser, servers.demo_agent_keys["demo-compliance"])
    wait_for(browser, EC.text_to_be_present_in_element((By.ID, "who"), "demo-compliance"))
    assert browser.get_cookie("anxin_console")["httpOnly"] is True
    assert browser.execute_script("return document.cookie") == ""  # the session is out of the page's reach

    wait_for(browser, EC.text_to_be_present_in_element((By.ID, "audit-summary"), "records"))  # the first page
    # The audit trail: the suggestion the bot made to demo-c3, by customer, kind and product.
    product = conversations["shown"][0]
    browser.find_element(By.ID, "f-customer").send_keys("demo-c3")
    Select(browser.find_element(By.ID, "f-kind")).select_by_value("suggestion")
    Select(browser.find_element(By.ID, "f-product")).select_by_value(product)
    browser.find_element(By.ID, "search").click()
    wait_for(browser, lambda d: rows(d, "audit-table") and all(r[3] == "suggestion" for r in rows(d, "audit-table")))
    found = rows(browser, "audit-table")
    assert all(r[2] == "demo-c3" and r[4] == "C3" and f"{product}(" in r[5] for r in found), found
    suggestion_ids = {int(r[0]) for r in found}

    browser.find_element(By.ID, "export-csv").click()
    wait_for(browser, EC.text_to_be_present_in_element((By.ID, "export-status"), "anxin-audit-"))
    exported = wait_for(browser, lambda d: [p for p in downloads.glob("anxin-audit-*.csv")
                                            if not p.with_name(p.name + ".crdownload").exists()])
    records = list(csv.DictReader(io.StringIO(exported[0].read_text(encoding="utf-8-sig"))))
    assert {int(r["id"]) for r in records} == suggestion_ids
    assert all(r["customer_id"] == "demo-c3" and product in r["products"] for r in records)

    browser.find_element(By.ID, "verify").click()
    wait_for(browser, EC.text_to_be_present_in_element((By.ID, "verify-result"), "chain intact"))

    # The guard block the bot's turn left, reviewed: it moves from "not yet" to "reviewed".
    customer = conversations["blocked_customer"]
    browser.find_element(By.ID, "g-customer").send_keys(customer)
    browser.find_element(By.ID, "load-blocks").click()
    wait_for(browser, lambda d: len(rows(d, "blocks")) == 1 and rows(d, "blocks")[0][2] == customer)
    assert "guarantees: 演示号码" in rows(browser, "blocks")[0][3]
    row = browser.find_element(By.CSS_SELECTOR, "#blocks tbody tr")
    Select(row.find_element(By.CSS_SELECTOR, "select.verdict-choice")).select_by_value("false_alarm")
    row.find_element(By.CSS_SELECTOR, "input.review-note").send_keys("测试用词，规则已恢复")
    row.find_element(By.CSS_SELECTOR, "button.review").click()
    wait_for(browser, lambda d: rows(d, "blocks") == [])
    Select(browser.find_element(By.ID, "g-reviewed")).select_by_value("yes")
    browser.find_element(By.ID, "load-blocks").click()
    wait_for(browser, EC.text_to_be_present_in_element((By.ID, "blocks"), "demo-compliance"))
    assert "误拦" in rows(browser, "blocks")[0][5] and "测试用词" in rows(browser, "blocks")[0][5]

    # A rules draft: validated by the servers' check, a sentence tried against it and the live rules.
    draft = browser.find_element(By.ID, "draft")
    wait_for(browser, lambda d: "mandatory_warning" in draft.get_attribute("value"))
    live_text = draft.get_attribute("value")
    assert "never goes live" in text_of(browser, "draft-notice")
    edited = (live_text.replace("version: 1", "version: 2")
              .replace("  guarantees:\n", "  guarantees:\n    - 稳稳的幸福\n", 1))
    browser.execute_script("arguments[0].value = arguments[1]", draft, edited)
    browser.find_element(By.ID, "validate").click()
    wait_for(browser, EC.text_to_be_present_in_element((By.ID, "validate-result"), "valid (version 2)"))
    browser.find_element(By.ID, "try-text").send_keys("买了它就是稳稳的幸福")
    browser.find_element(By.ID, "try").click()
    wait_for(browser, EC.text_to_be_present_in_element((By.ID, "try-draft"), "Blocked"))
    assert "Passes" in text_of(browser, "try-live") and "稳稳的幸福" in text_of(browser, "try-draft")
    browser.execute_script("arguments[0].value = arguments[1]", draft, "version: 3\n")
    browser.find_element(By.ID, "validate").click()
    wait_for(browser, EC.text_to_be_present_in_element((By.ID, "validate-result"), "invalid"))
    assert "mandatory_warning" in text_of(browser, "validate-result")
    assert Path(os.environ["ANXIN_COMPLIANCE_RULES"]).read_text(encoding="utf-8") == live_text  # nothing went live

    # The rules versions in force and the latest simulation report.
    browser.find_element(By.ID, "load-history").click()
    wait_for(browser, lambda d: any(r[0] == str(rulebook.current().version) for r in rows(d, "history")))
    assert "compliance_simulation-" in text_of(browser, "simulation-name")
    assert "Compliance simulation" in text_of(browser, "simulation")
    browser.save_screenshot(str(SCREENSHOTS / "console.png"))

    # What the officer read is in the audit trail, under the customers concerned.
    reads = [e.detail for e in audit.history("demo-c3") if e.kind == "console_read"]
    assert any(d.startswith("officer demo-compliance: searched the audit trail") for d in reads), reads
    assert any(d.startswith("officer demo-compliance: exported the audit trail as csv") for d in reads), reads
    assert any("listed guard blocks" in e.detail for e in audit.history(customer) if e.kind == "console_read")

    browser.find_element(By.ID, "sign-out").click()
    wait_for(browser, EC.visibility_of_element_located((By.ID, "sign-in-form")))
    assert browser.get_cookie("anxin_console") is None
