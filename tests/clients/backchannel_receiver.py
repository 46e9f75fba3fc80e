"""A relying party's back-channel logout endpoint (OpenID Connect Back-Channel Logout 1.0,
section 2.8), verifying every logout token with PyJWT (pinned in
scripts/test-requirements.txt) against the server's JWKS.

Run by tests/it/backchannel.rs with one JSON argument: {"issuer": ..., "jwks_uri": ...,
"out": PATH}. Listens on 127.0.0.1 (a free port, printed as the first line of stdout) and
serves `POST /<behaviour>/<client_id>`: `ok` verifies the token (form-encoded
`logout_token`; signature against the JWKS, `typ` `logout+jwt`, `iss`, `aud` = the client
id, `iat`, `exp`, `jti`, the back-channel `events` member as an empty object, `sub`, `sid`,
no `nonce`) and answers 200 (400 when a check fails); `fail` answers 500; `hang` never
answers before the server gives up. Each request is appended to PATH as one JSON line:
{"behaviour", "client", "ok", "error", "claims"} ("ok" and "claims" only for `ok`).
"""

import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt  # PyJWT
from jwt import PyJWKClient

EVENT = "http://schemas.openid.net/event/backchannel-logout"
ALGORITHMS = ["RS256", "ES256", "EdDSA"]
LOCK = threading.Lock()


def check(condition, message):
    if not condition:
        raise ValueError(message)


def verify(cfg, client_id, token):
    header = jwt.get_unverified_header(token)
    check(header.get("typ") == "logout+jwt", f"typ {header.get('typ')!r}")
    key = PyJWKClient(cfg["jwks_uri"], cache_keys=False, cache_jwk_set=False)
    signing = key.get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        signing.key,
        algorithms=ALGORITHMS,
        audience=client_id,
        issuer=cfg["issuer"],
        options={"require": ["iss", "aud", "iat", "exp", "jti", "sub"]},
    )
    check(claims.get("events") == {EVENT: {}}, f"events {claims.get('events')!r}")
    check(isinstance(claims.get("sid"), str) and claims["sid"], "sid missing")
    check("nonce" not in claims, "nonce present")
    return claims


def handler_for(cfg):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            parts = self.path.strip("/").split("/")
            behaviour, client_id = (parts + ["", ""])[:2]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            record = {"behaviour": behaviour, "client": client_id}
            status = 200
            if behaviour == "ok":
                try:
                    check(
                        self.headers.get("Content-Type", "").startswith(
                            "application/x-www-form-urlencoded"
                        ),
                        "content type",
                    )
                    form = urllib.parse.parse_qs(body)
                    check(list(form) == ["logout_token"], f"form {list(form)}")
                    record["claims"] = verify(cfg, client_id, form["logout_token"][0])
                    record["ok"] = True
                except Exception as e:  # noqa: BLE001 (every failure is reported)
                    record["ok"] = False
                    record["error"] = repr(e)
                    status = 400
            with LOCK, open(cfg["out"], "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
            if behaviour == "hang":
                time.sleep(60)
                return
            if behaviour == "fail":
                status = 500
            self.send_response(status)
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    return Handler


def main():
    cfg = json.loads(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(cfg))
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
