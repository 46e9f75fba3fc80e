"""RFC 9068 access tokens checked by PyJWT (pinned in scripts/test-requirements.txt) against
the server's JWKS, as a resource server would do offline.

Run by tests/it/oidc.rs (`pyjwt_verifies_access_tokens_against_the_jwks`) with one JSON
argument: {"issuer": "http://127.0.0.1:PORT", "audience": "https://api.example", "tokens": [...]}
(tokens signed by several keys and algorithms, the later ones after rotations). Prints
`OK <n> tokens verified` at the end; any failed check raises (non-zero exit).
"""

import base64
import json
import sys

import jwt  # PyJWT
from jwt import PyJWKClient

ALGORITHMS = ["RS256", "ES256", "EdDSA"]


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def b64(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def main():
    cfg = json.loads(sys.argv[1])
    issuer = cfg["issuer"]
    client = PyJWKClient(issuer + "/oauth2/jwks", cache_keys=False, cache_jwk_set=False)
    verified = 0
    for token in cfg["tokens"]:
        header = jwt.get_unverified_header(token)
        check(header["typ"] == "at+jwt", header)
        key = client.get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            key.key,
            algorithms=ALGORITHMS,
            audience=cfg["audience"],
            issuer=issuer,
            options={"require": ["exp", "iat", "iss", "sub", "aud", "jti"]},
        )
        for claim in ["client_id", "scope", "sid"]:
            check(claim in claims, f"{claim} in {claims}")
        verified += 1

        # Tampering is caught by the library too.
        head, payload, sig = token.split(".")
        forged = dict(claims, scope=claims["scope"] + " admin")
        try:
            jwt.decode(f"{head}.{b64(forged)}.{sig}", key.key, algorithms=ALGORITHMS,
                       audience=cfg["audience"], issuer=issuer)
            raise AssertionError("a changed claim verified")
        except jwt.InvalidSignatureError:
            pass
        none = b64({"alg": "none", "typ": "at+jwt", "kid": header["kid"]})
        try:
            jwt.decode(f"{none}.{payload}.", key.key, algorithms=ALGORITHMS,
                       audience=cfg["audience"], issuer=issuer)
            raise AssertionError("alg none verified")
        except jwt.InvalidTokenError:
            pass
        try:
            jwt.decode(token, key.key, algorithms=ALGORITHMS, audience="someone-else", issuer=issuer)
            raise AssertionError("another audience verified")
        except jwt.InvalidAudienceError:
            pass
    algs = {jwt.get_unverified_header(t)["alg"] for t in cfg["tokens"]}
    check(algs == set(ALGORITHMS), algs)
    print(f"OK {verified} tokens verified ({', '.join(sorted(algs))}), tampering refused")


if __name__ == "__main__":
    main()
