"""Both discovery documents checked by Authlib's validators (pinned in
scripts/test-requirements.txt): the RFC 8414 document by `rfc8414.AuthorizationServerMetadata`,
the OpenID configuration by `oidc.discovery.OpenIDProviderMetadata`; both must be the same
document. Run by tests/it/oidc.rs (`discovery_documents_validate_with_authlib`) with one JSON
argument {"issuer": "...", "openid": true|false}. Prints `OK ...`; any failure exits non-zero.
"""

import json
import sys

import requests
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.discovery import OpenIDProviderMetadata


def check(condition, message):
    if not condition:
        raise SystemExit(f"check failed: {message}")


def main():
    cfg = json.loads(sys.argv[1])
    issuer = cfg["issuer"]
    res = requests.get(issuer + "/.well-known/oauth-authorization-server", timeout=10)
    check(res.status_code == 200, f"RFC 8414 status {res.status_code}")
    oauth = res.json()
    AuthorizationServerMetadata(oauth).validate()
    check(oauth["authorization_response_iss_parameter_supported"] is True, "iss parameter")
    res = requests.get(issuer + "/.well-known/openid-configuration", timeout=10)
    if not cfg["openid"]:
        check(res.status_code == 404, f"not an OpenID provider: {res.status_code}")
        check("id_token_signing_alg_values_supported" not in oauth, "no id_token algorithms")
        print("OK RFC 8414 validated; no OpenID provider advertised")
        return
    check(res.status_code == 200, f"OpenID status {res.status_code}")
    oidc = res.json()
    OpenIDProviderMetadata(oidc).validate()
    check(oidc == oauth, "the two documents differ")
    for member in (
        "authorization_response_iss_parameter_supported",
        "introspection_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
    ):
        check(member in oidc, member)
    print("OK RFC 8414 and OpenID Provider metadata validated, one document")


if __name__ == "__main__":
    main()
