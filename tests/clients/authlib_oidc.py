"""OpenID Connect with Authlib's client (pinned in scripts/test-requirements.txt) and
Debian's headless Chromium through selenium.

Run by tests/it/oidc.rs (`authlib_oidc_client_in_chromium`) with one JSON argument:

    {"issuer": "http://127.0.0.1:PORT", "redirect_uri": "http://127.0.0.1:PORT2/callback",
     "client": ["id", "secret"], "chromium": "/usr/bin/chromium",
     "chromedriver": "/usr/bin/chromedriver", "marker_dir": "/tmp/..."}

Discovery from the bare issuer (/.well-known/openid-configuration), the code flow with PKCE
S256 and a nonce through the login page, the id_token validated by Authlib (signature against
the JWKS, iss, aud, exp, iat, nonce, at_hash), userinfo; then the keys rotate (the script
writes `rotate` into marker_dir and waits for `rotated`) and a second flow, in the same
browser without the form, is validated against the refetched JWKS. Prints `OK oidc ...`.
"""

import json
import os
import shutil
import sys
import tempfile
import time

os.environ["SE_OFFLINE"] = "true"
os.environ["SE_AVOID_STATS"] = "true"

import requests  # noqa: E402
from authlib.common.security import generate_token  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from authlib.jose import JsonWebKey, jwt  # noqa: E402
from authlib.oidc.core import CodeIDToken  # noqa: E402
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


def browser(cfg, profile):
    options = webdriver.ChromeOptions()
    options.binary_location = cfg["chromium"]
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    return webdriver.Chrome(service=Service(executable_path=cfg["chromedriver"]), options=options)


def arrived(driver, redirect_uri):
    WebDriverWait(driver, 30).until(lambda d: d.current_url.startswith(redirect_uri + "?"))
    return driver.current_url


def flow(cfg, doc, driver, sign_in):
    client_id, secret = cfg["client"]
    session = OAuth2Session(
        client_id,
        secret,
        scope="openid profile",
        redirect_uri=cfg["redirect_uri"],
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    verifier = generate_token(64)
    nonce = generate_token(24)
    url, state = session.create_authorization_url(
        doc["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    check("nonce=" in url and "code_challenge_method=S256" in url, url)
    driver.get(url)
    if sign_in:
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "username"))
        driver.find_element(By.ID, "username").send_keys("alice")
        driver.find_element(By.ID, "password").send_keys("alice-password-1")
        driver.find_element(By.ID, "submit").click()
    response_url = arrived(driver, cfg["redirect_uri"])
    token = session.fetch_token(
        doc["token_endpoint"],
        authorization_response=response_url,
        state=state,
        code_verifier=verifier,
    )
    check("id_token" in token, token)
    # The JWKS, fetched now (after a rotation it holds the new key).
    keys = JsonWebKey.import_key_set(requests.get(doc["jwks_uri"], timeout=10).json())
    claims = jwt.decode(
        token["id_token"],
        keys,
        claims_cls=CodeIDToken,
        claims_options={
            "iss": {"essential": True, "value": doc["issuer"]},
            "aud": {"essential": True, "value": client_id},
        },
        claims_params={"nonce": nonce, "access_token": token["access_token"]},
    )
    claims.validate(leeway=5)
    check(claims["nonce"] == nonce, claims)
    check("at_hash" in claims and "auth_time" in claims and "sid" in claims, claims)
    info = session.get(doc["userinfo_endpoint"])
    check(info.status_code == 200, info.text)
    info = info.json()
    check(info["sub"] == claims["sub"], (info, claims))
    check(info.get("preferred_username") == "alice", info)
    header = json.loads(
        __import__("base64").urlsafe_b64decode(token["id_token"].split(".")[0] + "==")
    )
    # The RFC 9068 access token verifies against the same JWKS.
    at_header = json.loads(
        __import__("base64").urlsafe_b64decode(token["access_token"].split(".")[0] + "==")
    )
    check(at_header["typ"] == "at+jwt", at_header)
    at_claims = jwt.decode(token["access_token"], keys)
    at_claims.validate(leeway=5)
    check(at_claims["aud"] == client_id and at_claims["sub"] == claims["sub"], at_claims)
    header["at_alg"] = at_header["alg"]
    header["at_kid"] = at_header["kid"]
    return claims, header


def main():
    cfg = json.loads(sys.argv[1])
    issuer = cfg["issuer"]
    done = []
    # Discovery from the bare issuer.
    res = requests.get(issuer + "/.well-known/openid-configuration", timeout=10)
    check(res.status_code == 200, res.status_code)
    doc = res.json()
    check(doc["issuer"] == issuer, doc)
    for member in ["authorization_endpoint", "token_endpoint", "jwks_uri",
                   "response_types_supported", "subject_types_supported",
                   "id_token_signing_alg_values_supported", "userinfo_endpoint",
                   "end_session_endpoint"]:
        check(member in doc, member)
    done.append("discovery")

    profile = tempfile.mkdtemp(prefix="gatehouse-oidc-chromium-")
    driver = browser(cfg, profile)
    try:
        claims, header = flow(cfg, doc, driver, sign_in=True)
        # id_tokens default to RS256 (OpenID Core's mandatory algorithm), JWT access tokens
        # to ES256 (docs/oidc.md).
        check(header["alg"] == "RS256" and header["at_alg"] == "ES256", header)
        done.append("code flow with PKCE and nonce, id_token (RS256), access token (ES256) "
                    "and userinfo validated")

        marker = cfg["marker_dir"]
        open(os.path.join(marker, "rotate"), "w").close()
        for _ in range(600):
            if os.path.exists(os.path.join(marker, "rotated")):
                break
            time.sleep(0.1)
        check(os.path.exists(os.path.join(marker, "rotated")), "rotated")
        claims2, header2 = flow(cfg, doc, driver, sign_in=False)
        check(header2["alg"] == "RS256" and header2["kid"] != header["kid"], header2)
        check(header2["at_alg"] == "ES256" and header2["at_kid"] != header["at_kid"], header2)
        check(claims2["sub"] == claims["sub"], "sub is stable")
        check(claims2["sid"] == claims["sid"], "same browser session")
        done.append("after rotation (id_token on the new RS256 key, access token on the new ES256 key) "
                    "validated against the refetched JWKS")
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    print("OK oidc: " + "; ".join(done))


if __name__ == "__main__":
    main()
