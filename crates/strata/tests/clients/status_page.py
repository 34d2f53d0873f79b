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
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
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


# The page redraws itself every two seconds, so an element found a moment ago may be gone:
# what is read is read in one script (atomic with respect to the page's own), and a click on
# a link that was just replaced is tried again.


def wait_for(what, check, timeout=60):
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2,
                             ignored_exceptions=[StaleElementReferenceException]
                             ).until(lambda d: check())
    except Exception:
        print(driver.execute_script("return document.body.innerText;"), file=sys.stderr)
        raise AssertionError("timed out waiting until " + what)


def text_of(selector):
    return driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.innerText.trim() : null;",
        selector)


def worker_states():
    return driver.execute_script("""
        const states = {};
        for (const row of document.querySelectorAll("#workers tbody tr[data-worker]")) {
          states[row.dataset.worker] = row.querySelector("td.state").textContent.trim();
        }
        return states;""")


def click(link_text):
    def clicked():
        try:
            driver.find_element(By.LINK_TEXT, link_text).click()
            return True
        except (NoSuchElementException, StaleElementReferenceException):
            return False
    wait_for("a link " + link_text + " can be clicked", clicked)


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
    click("Browse")
    top = file_path.strip("/").split("/")[0]
    click(top + "/")
    click(file_path.rsplit("/", 1)[1])
    holders = """return [...document.querySelectorAll("#blocks tr[data-block]")]
                     .map((row) => row.querySelectorAll("td a").length);"""
    wait_for("the file's two blocks are listed with three holders each",
             lambda: driver.execute_script(holders) == [3, 3])

    # A worker's page, through its link.
    click(victim)
    wait_for("the worker page opens", lambda: text_of("#worker-state") == "live")
    click("Overview")
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
    click(victim)
    wait_for("the dead worker's page says dead", lambda: text_of("#worker-state") == "dead")
    assert driver.execute_script("return window.strataNotReloaded === true;"), "page reloaded"
    print("PASSED", flush=True)
finally:
    driver.quit()
