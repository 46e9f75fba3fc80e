#!/usr/bin/env python3
"""Builds fuzz/seeds/<target>/ from the seed samples in crates/codec/tests/golden: each
sample prefixed with the selector byte of its request type (see fuzz/src/lib.rs)."""
import base64, os, pathlib

root = pathlib.Path(__file__).resolve().parent
golden = root.parent / "crates" / "codec" / "tests" / "golden"
seeds = root / "seeds"
for t in ["decode_json", "decode_xml", "decode_form", "negotiate", "basic_header"]:
    (seeds / t).mkdir(parents=True, exist_ok=True)

ext_target = {"json": "decode_json", "js": "decode_json", "xml": "decode_xml", "form": "decode_form"}
for path in sorted(golden.glob("00?_request.sample.*")):
    selector = int(path.name[:3])
    target = ext_target[path.suffix[1:]]
    data = path.read_bytes()
    for flag in (0, 0x80):
        (seeds / target / f"{path.name}.{flag:02x}").write_bytes(bytes([selector | flag]) + data)

extra = {
    5: ('{"code":"c","clientId":"demo-client","clientSecret":"s"}',
        '<OneTimeAuthorizeRequest xmlns="http://schemas.datacontract.org/2004/07/App.Auth.Models"><ClientId>demo-client</ClientId><Code>c</Code></OneTimeAuthorizeRequest>',
        "code=c&clientId=demo-client&clientSecret=s"),
    6: ('{"ClientId":"demo-client","ClientSecret":"s","AuthCode":"c"}',
        '<TokenRequest xmlns="http://schemas.datacontract.org/2004/07/SaG.OTC.API.Models.Requests"><AuthCode>c</AuthCode><ClientId>demo-client</ClientId><ClientSecret>s</ClientSecret></TokenRequest>',
        "ClientId=demo-client&ClientSecret=s&AuthCode=c"),
    7: ('{"token":"t","token_type_hint":"access_token","client_id":"c"}', None,
        "token=t&token_type_hint=refresh_token&client_id=c&client_secret=s"),
    8: ('{"token":"t","client_id":"c"}', None, "token=t&client_id=c"),
    0: (None, None, "clientId=c&brokerId=3be9edf1-5491-4d5c-a5c6-423218dfb6cc&payload[k]=v&payload[0][Key]=a&payload[0][Value]=b&payload[1].Key=x"),
}
for sel, (j, x, f) in extra.items():
    for target, body in (("decode_json", j), ("decode_xml", x), ("decode_form", f)):
        if body is not None:
            (seeds / target / f"extra_{sel}").write_bytes(bytes([sel]) + body.encode())

accepts = ["application/json", "application/xml;q=0.9,*/*;q=0.8", "text/xml", "text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,*/*;q=0.8", "*/*", "application/json; charset=utf-8"]
ctypes = ["application/x-www-form-urlencoded", "text/javascript", "application/xml; charset=utf-8", "text/json", "multipart/form-data; boundary=x", ""]
for i, (a, c) in enumerate(zip(accepts, ctypes)):
    (seeds / "negotiate" / f"seed_{i}").write_bytes(a.encode() + b"\0" + c.encode())

pairs = ["demo-client:demo-secret", "demo%2Dclient:demo%3Asecret", "id:", ":secret", "a+b:c%20d", "no-colon"]
for i, p in enumerate(pairs):
    (seeds / "basic_header" / f"seed_{i}").write_bytes(b"Basic " + base64.b64encode(p.encode()))
(seeds / "basic_header" / "bearer").write_bytes(b"Bearer abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
(seeds / "basic_header" / "lower").write_bytes(b"basic   ZGVtby1jbGllbnQ6ZGVtby1zZWNyZXQ=")
queries = [
    "response_type=code&client_id=demo-public&redirect_uri=http%3A%2F%2F127.0.0.1%3A8400%2Fcallback&scope=openid+profile&state=xyz&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&nonce=n-0S6",
    "response_type=code&client_id=a&client_id=b&prompt=none&response_mode=query",
    "client_id=demo-client&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aabc",
    "redirect_uri=javascript%3Aalert(1)&code_challenge=short&code_challenge_method=plain&utm=1",
    "state=%zz",
]
forms = [
    "grant_type=authorization_code&code=c&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk&client_id=demo-public",
    "grant_type=refresh_token&refresh_token=r&scope=profile",
    "grant_type=password&username=alice&password=alice-password-1&client_id=demo-client&client_secret=demo-secret",
    "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=t&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token&audience=api",
    "grant_type=client_credentials&grant_type=password",
]
for t, bodies in (("authorize_query", queries), ("token_form", forms)):
    (seeds / t).mkdir(parents=True, exist_ok=True)
    for i, body in enumerate(bodies):
        (seeds / t / f"seed_{i}").write_bytes(body.encode())
print("seeds written to", seeds)
