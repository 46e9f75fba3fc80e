"""Drives Debian's headless Chromium through the admin console of a running Gatehouse.

    admin_console.py MAIN_URL ADMIN_URL CHROMEDRIVER CHROMIUM PROFILE_DIR [SCREENSHOT_DIR]

At a phone (390 px) and a desktop (1280 px) width, in a fresh profile each: sign in as the
demo operator alice through the server's own login page (authorization code + PKCE), lock bob
out (five wrong passwords at Katana's /token), search users, open bob's page, unlock him (and
the address), end his sessions,
rotate demo-client's secret, read the audit trail. Each page must have a title and one h1, log
no console errors, load nothing external and not scroll sideways. With SCREENSHOT_DIR, writes
console-<step>-<size>.png there. Prints "console flows: 2" when both widths passed.
"""

import os
import sys
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SIZES = {"phone": (390, 844), "desktop": (1280, 900)}


def check(driver, step, size, failures, shots):
    url = driver.current_url
    if not driver.title:
        failures.append(f"{size} {step}: no title ({url})")
    if len(driver.find_elements(By.TAG_NAME, "h1")) != 1:
        failures.append(f"{size} {step}: not exactly one h1 ({url})")
    if driver.find_elements(By.TAG_NAME, "script"):
        failures.append(f"{size} {step}: a script element")
    inner = driver.execute_script("return window.innerWidth")
    scroll = driver.execute_script("return document.documentElement.scrollWidth")
    if scroll > inner:
        failures.append(f"{size} {step}: scrolls sideways ({scroll} > {inner})")
    external = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    if external:
        failures.append(f"{size} {step}: loaded {external}")
    for entry in driver.get_log("browser"):
        if entry.get("level") in ("SEVERE", "ERROR"):
            failures.append(f"{size} {step}: console: {entry.get('message')}")
    if shots:
        driver.save_screenshot(os.path.join(shots, f"console-{step}-{size}.png"))


def submit(driver, action, expect):
    """Submits the form posting to `action` and waits (up to 30 s) for `expect` on the page
    it leads to."""
    form = driver.find_element(By.CSS_SELECTOR, f"form[action='{action}']")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    try:
        WebDriverWait(driver, 30).until(lambda d: expect in d.page_source)
        return True
    except Exception:  # noqa: BLE001 (selenium's TimeoutException; the caller reports)
        return False


def lock_bob(main):
    for _ in range(5):
        request = urllib.request.Request(
            main + "/token",
            data=b"grant_type=password&username=bob&password=wrong-password-9",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            urllib.request.urlopen(request, timeout=30)
        except urllib.error.HTTPError:
            pass


def flow(driver, main, admin, size, failures, shots):
    driver.get(admin + "/admin/console/")
    # The server's own login page (main listener).
    if "/oauth2/authorize" not in driver.current_url:
        failures.append(f"{size}: not sent to the login page: {driver.current_url}")
        return
    check(driver, "sign-in", size, failures, shots)
    driver.find_element(By.NAME, "username").send_keys("alice")
    driver.find_element(By.NAME, "password").send_keys("alice-password-1")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    if not driver.current_url.startswith(admin + "/admin/console/"):
        failures.append(f"{size}: not signed in: {driver.current_url} {driver.page_source[:300]}")
        return
    lock_bob(main)
    # Search.
    box = driver.find_element(By.NAME, "q")
    box.send_keys("bo")
    box.submit()
    check(driver, "search", size, failures, shots)
    driver.find_element(By.LINK_TEXT, "bob").click()
    if "locked until" not in driver.page_source:
        failures.append(f"{size}: bob's lockout not shown")
    check(driver, "user", size, failures, shots)
    # Unlock (the account and the address), then end sessions.
    driver.find_element(By.NAME, "address").send_keys("127.0.0.1")
    if not submit(driver, "/admin/console/users/bob/unlock", "failed logins forgotten"):
        failures.append(f"{size}: unlock: {driver.page_source[:400]}")
    if "locked until" in driver.page_source:
        failures.append(f"{size}: still locked after unlock")
    check(driver, "unlocked", size, failures, shots)
    if not submit(driver, "/admin/console/users/bob/end-sessions", "sessions of bob ended"):
        failures.append(f"{size}: end sessions: {driver.page_source[:400]}")
    # Rotate a client secret.
    driver.find_element(By.LINK_TEXT, "Clients").click()
    check(driver, "clients", size, failures, shots)
    submit(driver, "/admin/console/clients/demo-client/rotate-secret", 'id="secret"')
    found = driver.find_elements(By.ID, "secret")
    secret = found[0].text if found else ""
    if len(secret) < 20:
        failures.append(f"{size}: no new secret shown")
    check(driver, "secret", size, failures, shots)
    # The audit trail.
    driver.find_element(By.LINK_TEXT, "Audit").click()
    if "client.rotate_secret" not in driver.page_source:
        failures.append(f"{size}: the rotation is not in the audit trail")
    check(driver, "audit", size, failures, shots)


def main() -> int:
    main, admin, driver_path, chromium, profile = sys.argv[1:6]
    shots = sys.argv[6] if len(sys.argv) > 6 else None
    os.environ["SE_AVOID_STATS"] = "true"
    failures = []
    passed = 0
    for size, (w, h) in SIZES.items():
        opts = Options()
        opts.binary_location = chromium
        for flag in FLAGS:
            opts.add_argument(flag)
        opts.add_argument(f"--user-data-dir={os.path.join(profile, size)}")
        opts.add_argument(f"--window-size={w},{h}")
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
        try:
            driver.set_window_size(w, h)
            before = len(failures)
            flow(driver, main, admin, size, failures, shots)
            passed += len(failures) == before
        finally:
            driver.quit()
    if failures:
        print("\n".join(failures))
        return 1
    print(f"console flows: {passed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
