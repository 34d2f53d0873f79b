"""Drives Strata's status page in headless Chromium (Debian's chromium and chromedriver,
through Selenium) and checks what a person would see.

Usage: status_page.py MASTER_HTTP_URL VICTIM_WORKER_ID FILE_PATH

1. The overview shows every worker live, the cluster healthy and the file counted; the file
   browser shows the file's blocks with the workers holding them; a worker's page opens.
2. It prints READY and waits; the test then kills VICTIM_WORKER_ID with SIGKILL.
3. Without reloading, the page turns the victim's row dead, the cluster under-replicated and
   lists the file's blocks as under-replicated; the victim's page says dead. Prints PASSED.
"""
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

url, victim, file_path = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--user-data-dir=" + tempfile.mkdtemp(prefix="strata-chromium-")]:
    options.add_argument(flag)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def wait_for(what, check, timeout=60):
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: check())
    except Exception:
        print(driver.find_element(By.TAG_NAME, "body").text, file=sys.stderr)
        raise AssertionError("timed out waiting until " + what)


def text_of(selector):
    found = driver.find_elements(By.CSS_SELECTOR, selector)
    return found[0].text.strip() if found else None


def worker_states():
    rows = driver.find_elements(By.CSS_SELECTOR, "#workers tbody tr[data-worker]")
    return {row.get_attribute("data-worker"):
            row.find_element(By.CSS_SELECTOR, "td.state").text.strip() for row in rows}


try:
    driver.get(url + "/")
    wait_for("three workers show live",
             lambda: list(worker_states().values()) == ["live"] * 3)
    assert victim in worker_states(), worker_states()
    assert text_of("#health") == "HEALTHY", text_of("#health")
    assert text_of("#live-workers") == "3" and text_of("#dead-workers") == "0"
    summary = text_of("#summary")
    assert "FILES\n1" in summary.upper(), summary
    assert "Every block is healthy." in text_of("#unhealthy")

    # The file browser: from the root to the file, whose blocks show where they are.
    driver.find_element(By.LINK_TEXT, "Browse").click()
    top = file_path.strip("/").split("/")[0]
    wait_for("the root listing shows " + top,
             lambda: driver.find_elements(By.LINK_TEXT, top + "/"))
    driver.find_element(By.LINK_TEXT, top + "/").click()
    name = file_path.rsplit("/", 1)[1]
    wait_for("the directory listing shows " + name,
             lambda: driver.find_elements(By.LINK_TEXT, name))
    driver.find_element(By.LINK_TEXT, name).click()
    wait_for("the file's blocks are listed",
             lambda: len(driver.find_elements(By.CSS_SELECTOR, "#blocks tr[data-block]")) == 2)
    for row in driver.find_elements(By.CSS_SELECTOR, "#blocks tr[data-block]"):
        holders = row.find_elements(By.CSS_SELECTOR, "td a")
        assert len(holders) == 3, row.text

    # A worker's page, through its link.
    driver.find_element(By.LINK_TEXT, victim).click()
    wait_for("the worker page opens", lambda: text_of("#worker-state") == "live")
    driver.find_element(By.LINK_TEXT, "Overview").click()
    wait_for("the overview is back", lambda: len(worker_states()) == 3)

    # Mark this page: a reload would lose the mark.
    driver.execute_script("window.strataNotReloaded = true;")
    print("READY", flush=True)

    wait_for("the killed worker turns dead",
             lambda: worker_states().get(victim) == "dead", timeout=90)
    assert driver.execute_script("return window.strataNotReloaded === true;"), "page reloaded"
    states = worker_states()
    assert sorted(states.values()) == ["dead", "live", "live"], states
    assert text_of("#dead-workers") == "1"
    wait_for("the cluster shows under-replicated blocks of the file",
             lambda: text_of("#health") == "UNDER-REPLICATED"
             and file_path in (text_of("#unhealthy") or ""))
    driver.find_element(By.LINK_TEXT, victim).click()
    wait_for("the dead worker's page says dead", lambda: text_of("#worker-state") == "dead")
    assert driver.execute_script("return window.strataNotReloaded === true;"), "page reloaded"
    print("PASSED", flush=True)
finally:
    driver.quit()
