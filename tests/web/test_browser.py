"""The console in a real headless Chromium (Debian's chromium + chromium-driver, via Selenium), served by a
real `ltcgw run` daemon over a ledger that processed real traffic: the login (a wrong password refused), the
pages in zh-CN by default and in English on request, filters, a message's timeline, a viewer refused an
action, a resend confirmed with a reason, done by the daemon and shown in the audit log, the original
downloaded byte for byte after its confirmation, and the pages at 700 px without a page-wide scroll.

Set LTCGW_CONSOLE_SCREENSHOTS=docs to refresh the screenshots kept in the docs (docs/console-*.png).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from adapters.spool import FolderSpool
from adapters.sqlite_ledger import SqliteLedger
from gateway.domain.lifecycle import State
from tests.support.waiting import wait_for

from .conftest import PASSWORD, QINGDAO, YANTAI, Traffic, free_port

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@dataclass
class Site:
    url: str
    traffic: Traffic
    downloads: Path

    def ledger(self) -> SqliteLedger:
        return SqliteLedger(self.traffic.root / "ledger.sqlite3")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def site(traffic_template, tmp_path_factory):
    root = tmp_path_factory.mktemp("console") / "ws"
    shutil.copytree(traffic_template, root)
    import json

    traffic = Traffic(root, json.loads((root / "ids.json").read_text()))
    port = free_port()
    traffic.enable_console(port)
    ltcgw = Path(sys.executable).with_name("ltcgw")
    log = (root / "daemon.log").open("wb")
    daemon = subprocess.Popen([str(ltcgw), "run", "-c", str(traffic.config_path)], stdout=log, stderr=subprocess.STDOUT,
                              cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: daemon.poll() is not None or _answers(url + "/"), seconds=60,
                 what="the console answering (or the daemon ending)")
        assert daemon.poll() is None, (root / "daemon.log").read_text()
        yield Site(url, traffic, root / "downloads")
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        log.close()
    assert daemon.returncode == 0, (root / "daemon.log").read_text()[-3000:]  # stopped cleanly, console included


@pytest.fixture(scope="module")
def browser(site, tmp_path_factory):
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not look for a driver online
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}", "--window-size=1280,860"):
        options.add_argument(argument)
    site.downloads.mkdir()
    options.add_experimental_option("prefs", {"download.default_directory": str(site.downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(site.downloads)})
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()



def _shot(browser, tmp_path: Path, name: str) -> None:
    """A screenshot: into docs/ when LTCGW_CONSOLE_SCREENSHOTS names it, else the test's folder."""
    folder = Path(os.environ.get("LTCGW_CONSOLE_SCREENSHOTS") or tmp_path)
    path = folder / f"console-{name}.png"
    browser.save_screenshot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _rows(driver) -> list:
    return [row for row in driver.find_elements(By.CSS_SELECTOR, "#log tbody tr") if row.get_attribute("data-state")]


def _click_and_load(browser, element) -> None:
    """Click, then wait until the next page has replaced this one (the old elements are gone)."""
    page = browser.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(browser, 30).until(lambda d: _gone(page))
    WebDriverWait(browser, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")


def _gone(element) -> bool:
    """Whether the page holding `element` was replaced. Chromium answers a question about a node of a page being
    replaced with "stale element" or, mid-navigation, with "Node with given id does not belong to the document":
    both say the old page is gone."""
    try:
        element.is_enabled()
    except WebDriverException:  # StaleElementReferenceException is one
        return True
    return False


def _login(site, browser, name: str, password: str = PASSWORD) -> None:
    browser.delete_all_cookies()
    browser.get(site.url + "/login")
    browser.find_element(By.ID, "name").send_keys(name)
    browser.find_element(By.ID, "password").send_keys(password)
    _click_and_load(browser, browser.find_element(By.ID, "sign-in"))


def _failed_page(site, browser) -> None:
    browser.get(site.url + "/")
    _click_and_load(browser, browser.find_element(By.CSS_SELECTOR, "#failed a"))
    assert "/message/" in browser.current_url


def test_login_is_asked_and_the_pages_are_in_chinese(site, browser, tmp_path) -> None:
    browser.delete_all_cookies()
    browser.get(site.url + "/")
    assert "/login?next=" in browser.current_url and "登录" in browser.title
    _shot(browser, tmp_path, "login")
    _login(site, browser, "otto", "not the password")
    assert "用户名或密码错误" in browser.find_element(By.ID, "problem").text
    _login(site, browser, "otto")
    assert browser.title.startswith("概览")
    assert browser.find_element(By.ID, "user").text == "otto (操作员)"
    cities = browser.find_elements(By.CSS_SELECTOR, "#cities tbody tr")
    assert [row.get_attribute("data-city") for row in cities] == ["370100", "370200", "370300", "370600"]
    assert "济南" in cities[0].text  # city names, not only codes
    assert browser.find_element(By.ID, "n-failed").text == "1"
    assert site.traffic.ids["failed"] in browser.find_element(By.ID, "failed").text
    assert "sig.digest" in browser.find_element(By.ID, "rejected").text
    css = browser.execute_script("return getComputedStyle(document.querySelector('header.bar')).backgroundColor")
    assert css == "rgb(15, 76, 129)"  # the stylesheet loaded under the CSP
    _shot(browser, tmp_path, "overview")


def test_filters_change_the_rows(site, browser) -> None:
    _login(site, browser, "otto")
    browser.get(site.url + "/messages")
    everything = _rows(browser)
    assert len(everything) == 12
    Select(browser.find_element(By.ID, "f-city")).select_by_value(YANTAI)
    _click_and_load(browser, browser.find_element(By.ID, "f-apply"))
    assert "city=" + YANTAI in browser.current_url
    rows = _rows(browser)
    assert 0 < len(rows) < len(everything)
    assert all(YANTAI in (row.get_attribute("data-sender"), row.get_attribute("data-receiver")) for row in rows)
    assert browser.find_element(By.ID, "count").text.startswith(f"{len(rows)} 份报文")

    Select(browser.find_element(By.ID, "f-city")).select_by_value("")
    Select(browser.find_element(By.ID, "f-state")).select_by_value("FAILED")
    _click_and_load(browser, browser.find_element(By.ID, "f-apply"))
    rows = _rows(browser)
    assert [row.get_attribute("data-state") for row in rows] == ["FAILED"]
    assert site.traffic.ids["failed"] in rows[0].text


def test_a_message_shows_its_timeline(site, browser) -> None:
    _login(site, browser, "otto")
    _failed_page(site, browser)
    items = browser.find_elements(By.CSS_SELECTOR, "#timeline li")
    assert [item.find_element(By.TAG_NAME, "code").text for item in items][:6] == [
        "captured", "check_passed", "delivered", "receipt_overdue", "delivered", "retries_exhausted"]
    assert "no receipt after 2 deliveries" in items[5].text
    assert "A3-370300-370200-202609-4" in browser.find_element(By.ID, "header").text


def test_a_viewer_is_refused_an_action(site, browser) -> None:
    _login(site, browser, "vera")
    _failed_page(site, browser)
    assert browser.find_elements(By.ID, "resend") == [] and browser.find_element(By.ID, "no-actions")
    browser.get(browser.current_url.replace("?key=", "/resend?key="))
    assert "需要“操作员”角色" in browser.find_element(By.ID, "error").text
    assert browser.find_elements(By.CSS_SELECTOR, "#nav a[href='/audit']") == []


def test_the_original_downloads_byte_for_byte_after_its_confirmation(site, browser) -> None:
    _login(site, browser, "otto")
    _failed_page(site, browser)
    _click_and_load(browser, browser.find_element(By.ID, "download"))
    browser.find_element(By.ID, "reason").send_keys("青岛 asks for its copy")
    browser.find_element(By.ID, "confirm-button").click()
    name = site.traffic.ids["failed_name"]
    wait_for(lambda: sorted(p.name for p in site.downloads.glob("*")), until=lambda names: name in names,
             what=f"{name} in the browser's downloads")
    ledger = site.ledger()
    sha = ledger.trace(site.traffic.ids["failed"])[0][0].sha256
    ledger.close()
    original = FolderSpool(site.traffic.root / "spool").read("inbox", sha)
    wait_for((site.downloads / name).read_bytes, until=lambda data: data == original, seconds=10,
             what="the download complete, byte for byte the original")


def test_a_resend_is_confirmed_done_and_audited(site, browser, tmp_path) -> None:
    message_id, name = site.traffic.ids["failed"], site.traffic.ids["failed_name"]
    inbox = site.traffic.root / "drops" / QINGDAO / "inbox" / name
    inbox.unlink()  # the city lost it: the resend must write it again
    _login(site, browser, "otto")
    _failed_page(site, browser)
    _click_and_load(browser, browser.find_element(By.ID, "resend"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "重发此报文？"
    ledger = site.ledger()
    try:
        assert ledger.trace(message_id)[0][0].state is State.FAILED  # the confirmation page changes nothing
        browser.find_element(By.ID, "reason").send_keys("青岛 lost the file (phone call 10:20)")
        _shot(browser, tmp_path, "confirm")
        _click_and_load(browser, browser.find_element(By.ID, "confirm-button"))
        assert "已重发" in browser.find_element(By.ID, "notice").text
        wait_for(inbox.is_file, what="the delivery written again by the daemon")
        record = wait_for(lambda: ledger.trace(message_id)[0][0], until=lambda r: r.deliveries == 3,
                          what="the third delivery in the ledger")
        assert record.state is State.DELIVERED
        assert "operator: web console resend by otto" in [t.cause for t in ledger.trace(message_id)[0][1]]
        entry = next(a for a in ledger.audit() if a.action == "resend")
        assert (entry.user, entry.subject, entry.reason) == ("otto", message_id, "青岛 lost the file (phone call 10:20)")
    finally:
        ledger.close()
    browser.get(site.url + "/audit")
    row = browser.find_element(By.CSS_SELECTOR, "#audit tr[data-action='resend']")
    assert "otto" in row.text and "青岛 lost the file (phone call 10:20)" in row.text and QINGDAO in row.text
    assert f"已重发至 {QINGDAO}" in row.text  # the outcome in the session's language (kept as code and values)
    _shot(browser, tmp_path, "audit")


def test_english_on_request_and_the_new_pages(site, browser, tmp_path) -> None:
    _login(site, browser, "ada")
    _click_and_load(browser, browser.find_element(By.ID, "lang-en"))
    assert browser.title.startswith("Overview") and "receipts overdue" in browser.page_source
    browser.get(site.url + "/alerts")
    rows = browser.find_elements(By.CSS_SELECTOR, "#alert-list tbody tr[data-kind]")
    assert rows and any(row.find_elements(By.TAG_NAME, "a") for row in rows)
    _shot(browser, tmp_path, "alerts")
    browser.get(site.url + "/cities")
    assert len(browser.find_elements(By.CSS_SELECTOR, ".city-card")) == 4
    assert "Qingdao" in browser.page_source or "青岛" in browser.page_source
    _shot(browser, tmp_path, "cities")
    browser.get(site.url + "/settlement?period=2026-10")
    assert browser.find_element(By.ID, "deadlines") and browser.find_element(By.ID, "reconciliation")
    notes = browser.find_element(By.ID, "deadlines").text
    assert "fees cut-off at the residence city" in notes and "定点机构" not in notes
    _shot(browser, tmp_path, "settlement")
    browser.get(site.url + "/accounts")
    assert "vera" in browser.find_element(By.ID, "accounts").text
    _click_and_load(browser, browser.find_element(By.ID, "lang-zh"))
    assert browser.find_element(By.ID, "user").text == "ada (管理员)"


def test_usable_at_700_pixels(site, browser, tmp_path) -> None:
    _login(site, browser, "otto")
    browser.set_window_size(700, 900)
    try:
        for path in ("/", "/messages", "/alerts", "/cities", "/settlement?period=2026-10", "/audit"):
            browser.get(site.url + path)
            width = browser.execute_script("return document.documentElement.scrollWidth")
            inner = browser.execute_script("return window.innerWidth")
            assert width <= inner, f"{path}: the page scrolls sideways at 700 px ({width} > {inner})"
        browser.get(site.url + "/")
        _shot(browser, tmp_path, "700px")
    finally:
        browser.set_window_size(1280, 860)


def test_larger_type_on_a_projector(site, browser) -> None:
    _login(site, browser, "vera")
    browser.set_window_size(1920, 1080)
    try:
        browser.get(site.url + "/")
        size = browser.execute_script("return getComputedStyle(document.body).fontSize")
        assert size == "18px"
    finally:
        browser.set_window_size(1280, 860)
    browser.get(site.url + "/")
    assert browser.execute_script("return getComputedStyle(document.body).fontSize") == "14px"
