"""The console in a real headless Chromium (Debian's chromium + chromium-driver, via Selenium), served by a
real `ltcgw run` daemon over a ledger that processed real traffic: pages load, filters change the rows, a
message's timeline is shown, the original downloads byte for byte, and resend is refused without the token
and done with it (the daemon writes the file to the receiver's inbox again).

Set LTCGW_CONSOLE_SCREENSHOT=docs/console.png to refresh the screenshot kept in the docs.
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
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from adapters.spool import FolderSpool
from adapters.sqlite_ledger import SqliteLedger
from gateway.domain.lifecycle import State
from tests.support.waiting import wait_for

from .conftest import QINGDAO, TOKEN, YANTAI, Traffic, free_port

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


def _rows(driver) -> list:
    return [row for row in driver.find_elements(By.CSS_SELECTOR, "#log tbody tr") if row.get_attribute("data-state")]


def _click_and_load(browser, element) -> None:
    """Click, then wait until the next page has replaced this one (the old elements are gone)."""
    page = browser.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(browser, 30).until(expected_conditions.staleness_of(page))
    WebDriverWait(browser, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")


def _failed_page(site, browser) -> None:
    browser.get(site.url + "/")
    _click_and_load(browser, browser.find_element(By.CSS_SELECTOR, "#failed a"))
    assert "/message/" in browser.current_url


def test_the_dashboard_loads(site, browser, tmp_path) -> None:
    browser.get(site.url + "/")
    assert browser.title.startswith("Overview")
    cities = browser.find_elements(By.CSS_SELECTOR, "#cities tbody tr")
    assert [row.get_attribute("data-city") for row in cities] == ["370100", "370200", "370300", "370600"]
    assert browser.find_element(By.ID, "n-failed").text == "1"
    assert site.traffic.ids["failed"] in browser.find_element(By.ID, "failed").text
    assert "sig.digest" in browser.find_element(By.ID, "rejected").text
    css = browser.execute_script("return getComputedStyle(document.querySelector('header.bar')).backgroundColor")
    assert css == "rgb(15, 76, 129)"  # the stylesheet loaded under the CSP
    shot = Path(os.environ.get("LTCGW_CONSOLE_SCREENSHOT") or tmp_path / "console.png")
    browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_filters_change_the_rows(site, browser) -> None:
    browser.get(site.url + "/messages")
    everything = _rows(browser)
    assert len(everything) == 12
    Select(browser.find_element(By.ID, "f-city")).select_by_value(YANTAI)
    _click_and_load(browser, browser.find_element(By.ID, "f-apply"))
    assert "city=" + YANTAI in browser.current_url
    rows = _rows(browser)
    assert 0 < len(rows) < len(everything)
    assert all(YANTAI in (row.get_attribute("data-sender"), row.get_attribute("data-receiver")) for row in rows)
    assert browser.find_element(By.ID, "count").text.startswith(f"{len(rows)} message")

    Select(browser.find_element(By.ID, "f-city")).select_by_value("")
    Select(browser.find_element(By.ID, "f-state")).select_by_value("FAILED")
    _click_and_load(browser, browser.find_element(By.ID, "f-apply"))
    assert "state=FAILED" in browser.current_url
    rows = _rows(browser)
    assert [row.get_attribute("data-state") for row in rows] == ["FAILED"]
    assert site.traffic.ids["failed"] in rows[0].text

    browser.find_element(By.ID, "f-q").send_keys(site.traffic.ids["acknowledged"])
    Select(browser.find_element(By.ID, "f-state")).select_by_value("")
    _click_and_load(browser, browser.find_element(By.ID, "f-apply"))
    assert "q=" in browser.current_url
    assert [row.text.split()[2] for row in _rows(browser)] == [site.traffic.ids["acknowledged"]]


def test_a_message_shows_its_timeline(site, browser) -> None:
    _failed_page(site, browser)
    items = browser.find_elements(By.CSS_SELECTOR, "#timeline li")
    assert [item.find_element(By.TAG_NAME, "code").text for item in items][:6] == [
        "captured", "check_passed", "delivered", "receipt_overdue", "delivered", "retries_exhausted"]
    assert "no receipt after 2 deliveries" in items[5].text
    assert "A3-370300-370200-202609-4" in browser.find_element(By.ID, "header").text


def test_the_original_downloads_byte_for_byte(site, browser) -> None:
    _failed_page(site, browser)
    form = browser.find_element(By.ID, "download")
    form.find_element(By.NAME, "token").send_keys(TOKEN)
    form.find_element(By.TAG_NAME, "button").click()
    name = site.traffic.ids["failed_name"]
    downloaded = wait_for(lambda: sorted(p.name for p in site.downloads.glob("*")), until=lambda names: name in names,
                          what=f"{name} in the browser's downloads (files there)")
    downloaded = site.downloads / name
    ledger = site.ledger()
    sha = ledger.trace(site.traffic.ids["failed"])[0][0].sha256
    ledger.close()
    original = FolderSpool(site.traffic.root / "spool").read("inbox", sha)
    wait_for(downloaded.read_bytes, until=lambda data: data == original, seconds=10,
             what="the download complete, byte for byte the original")


def test_resend_is_refused_without_the_token_and_done_with_it(site, browser) -> None:
    message_id, name = site.traffic.ids["failed"], site.traffic.ids["failed_name"]
    inbox = site.traffic.root / "drops" / QINGDAO / "inbox" / name
    inbox.unlink()  # the city lost it: the resend must write it again
    _failed_page(site, browser)
    _click_and_load(browser, browser.find_element(By.CSS_SELECTOR, "#resend button"))
    assert "token is missing or wrong" in browser.find_element(By.ID, "error").text
    ledger = site.ledger()
    try:
        assert ledger.trace(message_id)[0][0].state is State.FAILED

        _failed_page(site, browser)
        form = browser.find_element(By.ID, "resend")
        form.find_element(By.NAME, "token").send_keys(TOKEN)
        _click_and_load(browser, form.find_element(By.TAG_NAME, "button"))
        assert "Resend requested" in browser.find_element(By.ID, "notice").text
        wait_for(inbox.is_file, what="the delivery written again by the daemon")
        record = wait_for(lambda: ledger.trace(message_id)[0][0], until=lambda r: r.deliveries == 3,
                          what="the third delivery in the ledger")
        assert record.state is State.DELIVERED
        assert "operator: web console resend" in [t.cause for t in ledger.trace(message_id)[0][1]]
    finally:
        ledger.close()
