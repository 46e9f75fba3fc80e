"""Drives Debian's headless Chromium through every help page of a running Gatehouse.

    help_pages.py BASE_URL CHROMEDRIVER CHROMIUM PROFILE_DIR [SCREENSHOT_DIR]

Starting at /Help it follows every internal link. Each page must answer 200 with HTML, log no
console errors, and fit a phone (390 px) and a wide (1440 px) window without sideways
scrolling; every link's target must answer 200 and every #anchor must exist on its page.
With SCREENSHOT_DIR, writes help-index.png, help-api.png (POST api/Token) and
help-api-phone.png there. No browser or driver is downloaded: the driver's path is given
(selenium-manager does not run).
"""

import os
import sys
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

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
SIZES = {"phone": (390, 844), "wide": (1440, 900)}


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", "")


def main() -> int:
    base, driver_path, chromium, profile = sys.argv[1:5]
    shots = sys.argv[5] if len(sys.argv) > 5 else None
    os.environ["SE_AVOID_STATS"] = "true"
    opts = Options()
    opts.binary_location = chromium
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={profile}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
    failures = []
    origin = urllib.parse.urlsplit(base)
    try:
        queue = [base + "/Help"]
        seen = set(queue)
        anchors = []  # (page url, fragment, found on)
        ids = {}
        checked = 0
        while queue:
            url = queue.pop(0)
            status, ctype = fetch(url)
            if status != 200:
                failures.append(f"{url}: status {status}")
                continue
            if not ctype.startswith("text/html"):
                continue  # /openapi.json: its status is what a link needs
            checked += 1
            for name, (w, h) in SIZES.items():
                driver.set_window_size(w, h)
                driver.get(url)
                inner = driver.execute_script("return window.innerWidth")
                scroll = driver.execute_script(
                    "return document.documentElement.scrollWidth"
                )
                if scroll > inner:
                    failures.append(f"{url}: {name} layout scrolls sideways ({scroll} > {inner})")
                if not driver.title:
                    failures.append(f"{url}: no title")
            for entry in driver.get_log("browser"):
                if entry.get("level") in ("SEVERE", "ERROR"):
                    failures.append(f"{url}: console: {entry.get('message')}")
            id_list = [
                e.get_attribute("id") for e in driver.find_elements(By.CSS_SELECTOR, "[id]")
            ]
            ids[url] = set(id_list)
            if len(id_list) != len(ids[url]):
                failures.append(f"{url}: duplicate ids")
            if len(driver.find_elements(By.TAG_NAME, "h1")) != 1:
                failures.append(f"{url}: not exactly one h1")
            for a in driver.find_elements(By.CSS_SELECTOR, "a[href]"):
                href = a.get_attribute("href")
                parts = urllib.parse.urlsplit(href)
                if (parts.scheme, parts.netloc) != (origin.scheme, origin.netloc):
                    failures.append(f"{url}: external link {href}")
                    continue
                target = urllib.parse.urlunsplit(parts._replace(fragment=""))
                if parts.fragment:
                    anchors.append((target, parts.fragment, url))
                if target not in seen:
                    seen.add(target)
                    queue.append(target)
        for target, fragment, on in anchors:
            if fragment not in ids.get(target, set()):
                failures.append(f"{on}: anchor #{fragment} missing on {target}")
        if shots:
            for (url, file, size) in [
                (base + "/Help", "help-index.png", (1280, None)),
                (base + "/Help/Api/POST-api-Token", "help-api.png", (1280, None)),
                (base + "/Help/Api/POST-api-Token", "help-api-phone.png", (390, 844)),
            ]:
                driver.set_window_size(size[0], 900)
                driver.get(url)
                height = size[1] or min(
                    driver.execute_script("return document.documentElement.scrollHeight"),
                    2600,
                )
                driver.set_window_size(size[0], height)
                driver.save_screenshot(os.path.join(shots, file))
                print(f"screenshot {file}")
    finally:
        driver.quit()
    print(f"pages checked: {checked}")
    if failures:
        print("\n".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
