"""Both pages in a real headless Chromium (Debian's chromium + chromium-driver), against the real
servers: typing, sending, seeing the answer. Screenshots are kept in results/screenshots/."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from bot import handoff
from bot.compliance import rulebook
from tests.e2e.conftest import customer_token

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "results" / "screenshots"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,1000", "--lang=zh-CN"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def wait_for(driver, condition, timeout: float = 30):
    return WebDriverWait(driver, timeout).until(condition)


def bot_texts(driver) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#log .msg.bot")]


def send(driver, text: str) -> None:
    before = len(bot_texts(driver))
    box = driver.find_element(By.ID, "text")
    box.send_keys(text)
    driver.find_element(By.ID, "send").click()
    wait_for(driver, lambda d: len(bot_texts(d)) > before)


def test_web_chat_answers_offers_quick_replies_and_shows_the_handoff(servers, browser):
    browser.get(f"{servers.rasa_url}/webhooks/rest/chat")
    browser.execute_script("sessionStorage.clear()")
    browser.refresh()
    # Demo mode: the page offers the demo sign-in; a new demo customer is preselected.
    wait_for(browser, EC.element_to_be_clickable((By.ID, "demo-sign-in"))).click()
    wait_for(browser, lambda d: "demo-" in d.find_element(By.ID, "who").text)
    send(browser, "查余额")
    assert any("12,345.67" in t for t in bot_texts(browser)), bot_texts(browser)
    send(browser, "给张三转账100元")
    cancel = wait_for(browser, EC.element_to_be_clickable((By.XPATH, "//div[@class='buttons']/button[.='取消']")))
    before = len(bot_texts(browser))
    cancel.click()
    wait_for(browser, lambda d: len(bot_texts(d)) > before)
    assert "已取消本次转账" in bot_texts(browser)[-1]
    assert not browser.find_element(By.ID, "handoff").is_displayed()
    send(browser, "转人工")
    wait_for(browser, EC.visibility_of_element_located((By.ID, "handoff")))
    assert "人工" in browser.find_element(By.ID, "handoff").text
    browser.save_screenshot(str(SCREENSHOTS / "web_chat.png"))


def test_copilot_page_shows_every_feature_and_records_feedback(servers, browser, chat_as):
    chat_as("demo-c2").texts("转人工")  # the bot hands demo-c2 to a person: the agent claims it below
    [waiting] = handoff.recent("demo-c2")[:1]
    browser.get(f"{servers.copilot_url}/copilot")
    browser.execute_script("sessionStorage.clear()")
    browser.refresh()
    key = browser.find_element(By.ID, "agent-key")
    key.send_keys(servers.demo_agent_keys["demo-agent"])
    key.send_keys(Keys.TAB)  # the page then says whose key it is
    wait_for(browser, EC.text_to_be_present_in_element((By.ID, "who"), "demo-agent"))
    browser.find_element(By.ID, "refresh-handoffs").click()  # claiming the handoff makes demo-c2 the call's customer
    wait_for(browser, EC.element_to_be_clickable((By.ID, f"claim-{waiting.id}"))).click()
    wait_for(browser, EC.text_to_be_present_in_element_value((By.ID, "customer"), "demo-c2"))
    browser.find_element(By.ID, "utterance").send_keys("我想买股票基金")
    browser.find_element(By.ID, "analyse").click()
    wait_for(browser, EC.text_to_be_present_in_element((By.ID, "intent"), "product_inquiry"))
    assert "calm" in browser.find_element(By.ID, "emotion").text
    assert "C2" in browser.find_element(By.ID, "alerts").text
    assert "合规检查通过" in browser.find_element(By.ID, "reply").text
    assert "来源" in browser.find_element(By.ID, "knowledge").text
    browser.find_element(By.CSS_SELECTOR, "#reply-feedback button[data-verdict='used']").click()
    wait_for(browser, EC.text_to_be_present_in_element((By.ID, "feedback-status"), "saved: used"))
    browser.find_element(By.ID, "draft").send_keys("安心成长股票基金保本，稳赚不赔")
    browser.find_element(By.ID, "check").click()
    wait_for(browser, EC.text_to_be_present_in_element((By.ID, "draft-result"), "✗"))
    browser.find_element(By.ID, "refresh-handoffs").click()
    wait_for(browser, EC.text_to_be_present_in_element((By.ID, "handoffs"), "#"))
    # The customer's holdings: demo-c2 holds a product above C2, flagged for an advisor's review.
    wait_for(browser, EC.text_to_be_present_in_element((By.ID, "advisory"), "above the customer's level"))
    browser.find_element(By.ID, "make-report").click()
    wait_for(browser, EC.presence_of_element_located((By.ID, "report-link")))
    assert "/webhooks/rest/report/" in browser.find_element(By.ID, "report-link").get_attribute("href")
    browser.save_screenshot(str(SCREENSHOTS / "copilot.png"))


@pytest.mark.parametrize("language,ask", [("zh", "请给我生成个人资产配置报告"),
                                          ("en", "please send me my personal allocation report")])
def test_the_allocation_report_renders_as_a_page_and_a_pdf(chat_as, browser, tmp_path, language, ask):
    """Looked at as the customer sees it: the page in Chromium (charts drawn, the warning and the
    caveat on it) and the PDF rasterised by pdftoppm; the images are kept in results/screenshots/."""
    [message] = [t for t in chat_as("demo-c4").texts(ask) if "/webhooks/rest/report/" in t]
    link = re.search(r"(http://[^\s]+/webhooks/rest/report/[A-Za-z0-9_.\-]+)", message).group(1)
    browser.get(link)
    charts = browser.find_elements(By.CSS_SELECTOR, "svg")
    assert len(charts) >= 2 and all(c.size["width"] > 200 and c.size["height"] > 100 for c in charts[:2])
    page = browser.find_element(By.TAG_NAME, "body").text
    rules = rulebook.current()
    assert rules.mandatory_warning[language] in page and rules.past_performance_warning[language] in page
    browser.save_screenshot(str(SCREENSHOTS / f"allocation_report_{language}.png"))
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(requests.get(f"{link}/pdf", timeout=30).content)
    for old in SCREENSHOTS.glob(f"allocation_report_{language}_pdf*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf),
                    str(SCREENSHOTS / f"allocation_report_{language}_pdf")], check=True, timeout=60)
    [image] = SCREENSHOTS.glob(f"allocation_report_{language}_pdf*.png")
    assert image.stat().st_size > 20_000  # a page with text and charts, not a blank one


def test_copilot_page_with_a_wrong_agent_key_says_so(servers, browser):
    browser.get(f"{servers.copilot_url}/copilot")
    browser.execute_script("sessionStorage.clear()")
    browser.refresh()
    browser.find_element(By.ID, "agent-key").send_keys("wrong")
    browser.find_element(By.ID, "utterance").send_keys("你好")
    browser.find_element(By.ID, "analyse").click()
    wait_for(browser, EC.text_to_be_present_in_element((By.ID, "request-error"), "unknown agent key"))


def test_web_chat_opened_by_the_app_with_a_token_needs_no_sign_in(servers, browser):
    browser.get(f"{servers.rasa_url}/webhooks/rest/chat#token={customer_token('demo-rich')}")
    browser.execute_script("sessionStorage.clear()")
    browser.refresh()  # the token in the address is read again
    assert not browser.find_element(By.ID, "signin").is_displayed()
    send(browser, "查余额")
    assert any("880,000.00" in t for t in bot_texts(browser)), bot_texts(browser)
