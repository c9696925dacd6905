#!/usr/bin/python3
"""tests/lib/dashboard.py: the dashboard (GET /admin/) in a real browser.

Drives Debian's headless Chromium through Selenium against the fixture's
nginx and database; tests/it/70-dashboard.sh runs it.  Exit 0 when every
check held, 1 with one line per broken check on stderr.  A missing
browser or driver is a failure, never a skip.

  dashboard.py URL TOKEN MARKUP_JOB REPLAY_JOB ORDER_ID

MARKUP_JOB is a dead job whose last_error holds markup, REPLAY_JOB a dead
job the page replays, ORDER_ID an order whose confirmation the page looks
up.  The database is read with `mariadb -uroot` (MYSQL_UNIX_PORT,
MYSQL_DATABASE from the fixture's environment).  With
CATALOG_SCREENSHOTS=DIR the page is also saved as DIR/dashboard.png and
DIR/dashboard-login-error.png.
"""
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT = 30           # seconds; the machine is shared and slow at times
REFRESH_S = 5       # dashboard.js REFRESH_MS
failures = []


def check(what, got, want):
    if got != want:
        failures.append(f"{what}: got {got!r}, want {want!r}")


def sql(query):
    out = subprocess.run(
        ["mariadb", "-uroot", "--socket=" + os.environ["MYSQL_UNIX_PORT"],
         "-N", "-B", os.environ["MYSQL_DATABASE"], "-e", query],
        check=True, capture_output=True, text=True)
    return out.stdout.strip()


def api(url, token, path):
    req = urllib.request.Request(url + path,
                                 headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=10) as res:
        return json.load(res)


def browser():
    for f in (CHROMIUM, CHROMEDRIVER):
        if not os.access(f, os.X_OK):
            sys.exit(f"dashboard.py: {f} is missing (scripts/deps installs "
                     "chromium and chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-dev-shm-usage", "--disable-background-networking",
              "--disable-extensions", "--no-first-run",
              "--window-size=1280,1000"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs",
                        {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


def console_problems(driver, allowed=()):
    """Console entries at WARNING or above, except those naming allowed."""
    bad = []
    for e in driver.get_log("browser"):
        if e["level"] in ("SEVERE", "WARNING") and \
                not any(a in e["message"] for a in allowed):
            bad.append(e["message"])
    return bad


def save_full_page(driver, path):
    """The whole page, not only the window (Chrome DevTools Protocol)."""
    import base64
    height = driver.execute_script(
        "return document.documentElement.scrollHeight")
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": 1280, "height": height,
                 "scale": 1}})
    with open(path, "wb") as f:
        f.write(base64.b64decode(shot["data"]))


def text(driver, element_id):
    return driver.find_element("id", element_id).text


def count(driver, element_id):
    return text(driver, element_id).replace(",", "")


def main():
    url, token, markup_job, replay_job, order_id = sys.argv[1:6]
    shots = os.environ.get("CATALOG_SCREENSHOTS")
    origin = urllib.parse.urlsplit(url)
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser()
    wait = WebDriverWait(driver, WAIT)
    try:
        driver.get(url + "/admin/")
        wait.until(ec.visibility_of_element_located((By.ID, "token")))
        title = driver.title

        # a wrong token: an error, no data, nothing kept
        driver.find_element(By.ID, "token").send_keys("wrong-" + token[:4])
        driver.find_element(By.CSS_SELECTOR, "#login button").click()
        wait.until(ec.visibility_of_element_located((By.ID, "error")))
        check("wrong token: the error", "401" in text(driver, "error"), True)
        check("wrong token: data hidden",
              driver.find_element(By.ID, "data").is_displayed(), False)
        check("wrong token: no count", driver.find_element(
            By.ID, "count-pending").get_attribute("textContent"), "\u2013")
        check("wrong token: no rows",
              len(driver.find_elements(By.CSS_SELECTOR, "#dead-rows tr")), 0)
        check("wrong token: forgotten", driver.execute_script(
            "return sessionStorage.getItem('catalog-admin-token')"), None)
        if shots:
            driver.save_screenshot(os.path.join(shots,
                                                "dashboard-login-error.png"))
        # the refused requests are the only console lines allowed here
        for m in console_problems(driver, allowed=("401",)):
            failures.append("console after a wrong token: " + m)

        # the right one
        driver.find_element(By.ID, "token").send_keys(token)
        driver.find_element(By.CSS_SELECTOR, "#login button").click()
        wait.until(lambda d: d.execute_script(
            "return document.body.dataset.loaded === '1'"))
        check("error gone", driver.find_element(By.ID, "error")
              .is_displayed(), False)
        want = sql("SELECT CONCAT_WS(' ', SUM(status = 'pending'),"
                   " SUM(status = 'running'), SUM(status = 'done'),"
                   " SUM(status = 'dead'), (SELECT COUNT(*) FROM"
                   " dead_letter_jobs WHERE replayed_at IS NULL)) FROM jobs")
        got = " ".join(count(driver, i) for i in (
            "count-pending", "count-running", "count-done", "count-dead",
            "dead-letters"))
        check("counts = the database", got, want)
        stats = api(url, token, "/api/admin/stats")
        c = stats["cache"]
        check("cache hits", count(driver, "cache-hits"), str(c["hits"]))
        check("cache misses", count(driver, "cache-misses"), str(c["misses"]))
        check("cache bypass", count(driver, "cache-bypass"), str(c["bypass"]))
        if c["hits"] + c["misses"] > 0:
            check("hit ratio", text(driver, "cache-ratio"), "%.1f %%" % (
                100.0 * c["hits"] / (c["hits"] + c["misses"])))
        check("chart bars drawn", len(driver.find_elements(
            By.CSS_SELECTOR, "#chart svg rect")) > 0, True)

        # markup in last_error is text
        row = driver.find_element(By.CSS_SELECTOR,
                                  f"#dead-rows tr[data-job='{markup_job}']")
        cell = row.find_element(By.CSS_SELECTOR, "td.error-text")
        check("markup as text", cell.get_attribute("textContent"),
              sql(f"SELECT last_error FROM jobs WHERE id = {markup_job}"))
        check("no element from last_error",
              len(row.find_elements(By.CSS_SELECTOR, "td.error-text *")), 0)
        check("no image anywhere",
              len(driver.find_elements(By.TAG_NAME, "img")), 0)
        check("title untouched", driver.title, title)

        # order confirmation lookup
        order = api(url, token, f"/api/orders/{order_id}")
        driver.find_element(By.ID, "order-id").send_keys(order_id)
        driver.find_element(By.CSS_SELECTOR, "#order-form button").click()
        wait.until(ec.visibility_of_element_located((By.ID, "order-result")))
        check("order confirmation", text(driver, "order-confirmation"),
              order["confirmation"])
        job = sql("SELECT CONCAT('#', id, ' (', status, ')') FROM jobs"
                  f" WHERE idempotency_key = 'order-confirmation-{order_id}'")
        check("order job", text(driver, "order-job"), job)

        if shots:
            save_full_page(driver, os.path.join(shots, "dashboard.png"))

        # replay from the page, through its confirm()
        driver.find_element(
            By.CSS_SELECTOR,
            f"#dead-rows tr[data-job='{replay_job}'] button.replay").click()
        alert = wait.until(ec.alert_is_present())
        check("confirm names the job", f"#{replay_job}" in alert.text, True)
        alert.accept()
        wait.until(ec.invisibility_of_element_located(
            (By.CSS_SELECTOR, f"#dead-rows tr[data-job='{replay_job}']")))
        check("replayed job in the database",
              sql(f"SELECT status, attempts FROM jobs WHERE id = {replay_job}"),
              "pending\t0")

        # a hidden tab sends nothing; shown again, it refreshes at once.
        # Every fetch records the page's visibility when it was sent.
        driver.execute_script("""
            window.__sent = []; window.__shown = [];
            var f = window.fetch;
            window.fetch = function () {
              window.__sent.push(document.visibilityState);
              return f.apply(this, arguments);
            };
            document.addEventListener("visibilitychange", function () {
              window.__shown.push(document.visibilityState);
            });""")
        first = driver.current_window_handle
        driver.switch_to.new_window("tab")    # hides the dashboard's tab
        time.sleep(REFRESH_S + 1.5)
        driver.close()
        driver.switch_to.window(first)
        wait.until(lambda d: d.execute_script(
            "return window.__sent.length > 0"))
        check("the tab was hidden, then shown", driver.execute_script(
            "return window.__shown"), ["hidden", "visible"])
        check("requests sent while hidden", driver.execute_script(
            "return window.__sent.filter(function (v) {"
            " return v !== 'visible'; }).length"), 0)

        # the token: this tab's storage, never a URL or a cookie
        check("token kept", driver.execute_script(
            "return sessionStorage.getItem('catalog-admin-token')"), token)
        check("no cookie", driver.get_cookies(), [])
        check("no cookie (document)", driver.execute_script(
            "return document.cookie"), "")

        for m in console_problems(driver):
            failures.append("console: " + m)
        for e in driver.get_log("performance"):
            msg = json.loads(e["message"])["message"]
            if msg["method"] != "Network.requestWillBeSent":
                continue
            req = msg["params"]["request"]["url"]
            if token in req:
                failures.append("the token is in a URL: " + req)
            u = urllib.parse.urlsplit(req)
            if (u.scheme, u.netloc) != (origin.scheme, origin.netloc):
                failures.append("a request to another host: " + req)
    finally:
        driver.quit()
    for f in failures:
        print(f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
