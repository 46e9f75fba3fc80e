"""private_key_jwt (RFC 7523 section 2.2) driven by Authlib's PrivateKeyJWT.

Authlib signs `aud` = the token endpoint URL and `exp` = one hour by default; Gatehouse takes
only the issuer as `aud` (RFC 7523bis) and at most five minutes, so the client is given the
issuer as its "token_endpoint" for signing and a 60-second lifetime. Authlib also stores the
`jti` it draws in a `claims` dict passed to it (every later assertion would repeat it and be
refused as a replay), so a fresh dict is passed per assertion.

Run by tests/it/client_jwt.rs (`authlib_private_key_jwt`) with one JSON argument:
  {"issuer": "...", "client_id": "...", "key": <private JWK>}
Prints `OK <summary>`; any failure raises (non-zero exit).
"""

import json
import sys
import time

import requests

from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oauth2.rfc7523.assertion import private_key_jwt_sign
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from joserfc.jwk import ECKey

cfg = json.loads(sys.argv[1])
issuer = cfg["issuer"]
done = []


class IssuerAudience(PrivateKeyJWT):
    alg = "ES256"

    def sign(self, auth, token_endpoint):
        return private_key_jwt_sign(
            auth.client_secret,
            client_id=auth.client_id,
            token_endpoint=issuer,
            alg=self.alg,
            claims={"exp": int(time.time()) + 60},
            header={"kid": cfg["key"]["kid"]},
        )


session = OAuth2Session(
    cfg["client_id"],
    ECKey.import_key(cfg["key"]),
    token_endpoint_auth_method=IssuerAudience(issuer),
    revocation_endpoint_auth_method=IssuerAudience(issuer),
    scope="api",
)
meta = requests.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=10).json()
assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"], meta
# RFC 8414's rules, as Authlib checks them (the signing algorithms must come with
# private_key_jwt, without "none").
AuthorizationServerMetadata(meta).validate()
done.append("discovery")

token = session.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
assert token["token_type"] == "Bearer" and token["scope"] == "api", token
done.append("client_credentials")

info = session.introspect_token(meta["introspection_endpoint"], token=token["access_token"])
assert info.status_code == 200 and info.json()["active"] is True, info.text
done.append("introspection")

res = session.revoke_token(meta["revocation_endpoint"], token=token["access_token"])
assert res.status_code == 200, res.text
info = session.introspect_token(meta["introspection_endpoint"], token=token["access_token"])
assert info.json()["active"] is False, info.text
done.append("revocation")

# Authlib's default (aud = the token endpoint URL, an hour): refused.
default = OAuth2Session(
    cfg["client_id"],
    ECKey.import_key(cfg["key"]),
    token_endpoint_auth_method=PrivateKeyJWT(meta["token_endpoint"], alg="ES256"),
)
try:
    default.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
    raise AssertionError("an assertion for the token endpoint URL was accepted")
except Exception as e:  # authlib raises OAuthError with .error
    assert getattr(e, "error", "") == "invalid_client", repr(e)
done.append("token endpoint aud refused")

print("OK " + ", ".join(done))
