"""The standards surface driven by real clients: Authlib (PyPI, pinned in
scripts/test-requirements.txt) and Debian's headless Chromium through selenium.

Run by tests/it/standard.rs (`browser_flow_with_authlib`) against a real server, with one
JSON argument:

    {"issuer": "http://127.0.0.1:PORT", "redirect_uri": "http://127.0.0.1:PORT2/callback",
     "web": ["id", "secret"], "spa": "public id", "chromium": "/usr/bin/chromium",
     "chromedriver": "/usr/bin/chromedriver", "screenshot": "docs/login.png"}

It discovers everything from the issuer's RFC 8414 metadata (validated by Authlib), runs the
authorization-code flow with PKCE S256 in the browser through the login page, exchanges the
code, introspects, refreshes, revokes, runs the public-client flow and the other grants, and
prints one line `OK <summary>` at the end. Any failed check raises (non-zero exit).
"""

import json
import os
import shutil
import sys
import tempfile

# selenium-manager must never download anything: the driver and the browser are given.
os.environ["SE_OFFLINE"] = "true"
os.environ["SE_AVOID_STATS"] = "true"

import requests  # noqa: E402
from authlib.common.security import generate_token  # noqa: E402
from authlib.integrations.base_client.errors import OAuthError  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata  # noqa: E402
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
    "--window-size=720,760",
    "--force-device-scale-factor=1",
    "--hide-scrollbars",
]


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def browser(cfg, profile):
    options = webdriver.ChromeOptions()
    options.binary_location = cfg["chromium"]
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    service = Service(executable_path=cfg["chromedriver"])
    return webdriver.Chrome(service=service, options=options)


def arrived(driver, redirect_uri):
    WebDriverWait(driver, 30).until(lambda d: d.current_url.startswith(redirect_uri + "?"))
    return driver.current_url


def main():
    cfg = json.loads(sys.argv[1])
    issuer = cfg["issuer"]
    redirect_uri = cfg["redirect_uri"]
    web_id, web_secret = cfg["web"]
    done = []

    # Discovery: the RFC 8414 document, validated by Authlib.
    res = requests.get(issuer + "/.well-known/oauth-authorization-server", timeout=10)
    check(res.status_code == 200, f"metadata status {res.status_code}")
    doc = res.json()
    AuthorizationServerMetadata(doc).validate()
    check(doc["issuer"] == issuer, f"issuer {doc['issuer']} != {issuer}")
    check(doc["code_challenge_methods_supported"] == ["S256"], "S256 advertised")
    done.append("metadata validated")

    web = OAuth2Session(
        web_id,
        web_secret,
        scope="openid profile",
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    verifier = generate_token(64)
    url, state = web.create_authorization_url(doc["authorization_endpoint"], code_verifier=verifier)
    check("code_challenge_method=S256" in url, url)

    profile = tempfile.mkdtemp(prefix="gatehouse-chromium-")
    driver = browser(cfg, profile)
    try:
        driver.get(url)
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "username"))
        check("Gatehouse" in driver.page_source and "Example App" in driver.page_source, "names shown")
        if cfg.get("screenshot"):
            check(driver.save_screenshot(cfg["screenshot"]), "screenshot saved")
            done.append("screenshot")
        # A wrong password first: the page says so and keeps the name.
        driver.find_element(By.ID, "username").send_keys("alice")
        driver.find_element(By.ID, "password").send_keys("not-her-password")
        driver.find_element(By.ID, "submit").click()
        WebDriverWait(driver, 30).until(lambda d: "incorrect" in d.page_source)
        check(
            driver.find_element(By.ID, "username").get_attribute("value") == "alice",
            "name kept",
        )
        driver.find_element(By.ID, "password").send_keys("alice-password-1")
        driver.find_element(By.ID, "submit").click()
        response_url = arrived(driver, redirect_uri)
        done.append("login page in chromium")

        token = web.fetch_token(
            doc["token_endpoint"],
            authorization_response=response_url,
            state=state,
            code_verifier=verifier,
        )
        check(token["token_type"] == "Bearer", token)
        check("refresh_token" in token and token["scope"] == "openid profile", token)
        done.append("code exchanged with PKCE")

        info = web.introspect_token(doc["introspection_endpoint"], token=token["access_token"])
        check(info.status_code == 200, info.text)
        info = info.json()
        check(info["active"] is True and info["token_type"] == "Bearer", info)
        check(info["username"] == "alice" and info["client_id"] == web_id, info)
        done.append("introspected")

        # The same browser authorizes again without the form.
        verifier2 = generate_token(64)
        url2, state2 = web.create_authorization_url(
            doc["authorization_endpoint"], code_verifier=verifier2
        )
        driver.get(url2)
        response2 = arrived(driver, redirect_uri)
        web2 = web.fetch_token(
            doc["token_endpoint"],
            authorization_response=response2,
            state=state2,
            code_verifier=verifier2,
        )
        check(web2["access_token"] != token["access_token"], "a new token")
        done.append("session reused")

        # A public client (no secret, PKCE) in the same browser.
        spa = OAuth2Session(
            cfg["spa"],
            scope="openid",
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="none",
        )
        verifier3 = generate_token(64)
        url3, state3 = spa.create_authorization_url(
            doc["authorization_endpoint"], code_verifier=verifier3
        )
        driver.get(url3)
        response3 = arrived(driver, redirect_uri)
        spa_token = spa.fetch_token(
            doc["token_endpoint"],
            authorization_response=response3,
            state=state3,
            code_verifier=verifier3,
        )
        check(spa_token["scope"] == "openid", spa_token)
        # Its code replayed: refused.
        try:
            spa.fetch_token(
                doc["token_endpoint"],
                authorization_response=response3,
                state=state3,
                code_verifier=verifier3,
            )
            raise AssertionError("a replayed code was accepted")
        except OAuthError as e:
            check(e.error == "invalid_grant", e)
        done.append("public client with PKCE")
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)

    # Refresh, then revoke the new refresh token: its whole session dies.
    refreshed = web.refresh_token(doc["token_endpoint"], refresh_token=token["refresh_token"])
    check(refreshed["refresh_token"] != token["refresh_token"], "rotated")
    res = web.revoke_token(doc["revocation_endpoint"], token=refreshed["refresh_token"])
    check(res.status_code == 200 and res.json() == {}, res.text)
    res = web.introspect_token(doc["introspection_endpoint"], token=refreshed["access_token"])
    check(res.json() == {"active": False}, res.text)
    done.append("refresh, revoke")

    # The other grants.
    machine = OAuth2Session(web_id, web_secret, token_endpoint_auth_method="client_secret_post")
    cc = machine.fetch_token(doc["token_endpoint"], grant_type="client_credentials")
    check("refresh_token" not in cc and cc["token_type"] == "Bearer", cc)
    basic = OAuth2Session(web_id, web_secret, scope="profile")
    pw = basic.fetch_token(doc["token_endpoint"], username="bob", password="bob-password-1")
    check(pw["scope"] == "profile" and "refresh_token" in pw, pw)
    try:
        OAuth2Session(web_id, "wrong").fetch_token(
            doc["token_endpoint"], grant_type="client_credentials"
        )
        raise AssertionError("a wrong secret was accepted")
    except OAuthError as e:
        check(e.error == "invalid_client", e)
    done.append("client_credentials, password, invalid_client")

    print("OK " + "; ".join(done))


if __name__ == "__main__":
    main()
