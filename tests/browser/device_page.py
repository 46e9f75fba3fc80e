"""The device verification page (RFC 8628 section 3.3) in Debian's headless Chromium through
selenium: opens `verification_uri_complete`, checks the code is filled in, continues, signs
in, checks the consent page shows the same code, allows, and waits for "Device connected".

Run by tests/it/device.rs (`openid_client_6_device_flow_in_chromium`) while openid-client 6
polls, with one JSON argument:

    {"uri": "http://127.0.0.1:PORT/oauth2/device?user_code=XXXX-XXXX", "user": "alice",
     "password": "...", "chromium": "/usr/bin/chromium", "chromedriver": "/usr/bin/chromedriver"}

Prints `OK device page`.
"""

import json
import os
import shutil
import sys
import tempfile
from urllib.parse import parse_qs, urlparse

os.environ["SE_OFFLINE"] = "true"
os.environ["SE_AVOID_STATS"] = "true"

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def main():
    cfg = json.loads(sys.argv[1])
    code = parse_qs(urlparse(cfg["uri"]).query)["user_code"][0]
    profile = tempfile.mkdtemp(prefix="gatehouse-device-")
    options = webdriver.ChromeOptions()
    options.binary_location = cfg["chromium"]
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(
        service=Service(executable_path=cfg["chromedriver"]), options=options
    )
    try:
        wait = WebDriverWait(driver, 30)
        driver.get(cfg["uri"])
        field = driver.find_element(By.ID, "user_code")
        check(field.get_attribute("value") == code, "the code is filled in")
        check(not driver.find_elements(By.TAG_NAME, "script"), "no script")
        driver.find_element(By.ID, "continue").click()
        wait.until(lambda d: d.find_elements(By.ID, "password"))
        driver.find_element(By.ID, "username").send_keys(cfg["user"])
        driver.find_element(By.ID, "password").send_keys(cfg["password"])
        driver.find_element(By.ID, "submit").click()
        wait.until(lambda d: d.find_elements(By.ID, "allow"))
        shown = driver.find_element(By.ID, "shown_code").text
        check(shown == code, f"the consent page shows {shown}, the device {code}")
        driver.find_element(By.ID, "allow").click()
        wait.until(lambda d: d.find_elements(By.ID, "connected"))
        print("OK device page: code filled in, signed in, code compared, allowed")
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
