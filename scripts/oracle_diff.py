#!/usr/bin/env python3
"""Differential harness: the same request to the legacy oracle (ASP.NET Web API 5.2.3 on Mono,
../shared/oracle/) and to Gatehouse, compared by status, Content-Type, the caching headers and
the body (success bodies with their values normalised: tokens, ids and times must differ).

    ../shared/oracle/run.sh 18481 &
    gatehouse serve --demo --database /tmp/gh.db --bind 127.0.0.1:18480 --display-offset +10:00 &
    scripts/oracle_diff.py [--oracle 18481] [--gatehouse 18480] [--record tests/golden/oracle]

Every case is either the same on both sides or names the section of docs/wire-format.md that
declares the difference deliberate (with its reason). Exit status 1 when an undeclared
difference remains. --record writes one golden file per case (the oracle's answer, and for a
declared difference Gatehouse's answer too) that tests/it/oracle.rs replays against a real
Gatehouse without Mono. The normalisation here and in tests/it/oracle.rs is the same.
"""
import argparse
import base64
import http.client
import json
import os
import re
import sys

MEMBER_NS = "http://schemas.datacontract.org/2004/07/AuEAuth_WebAPI.Models"
ONETIME_NS = "http://schemas.datacontract.org/2004/07/App.Auth.Models"
OTC_NS = "http://schemas.datacontract.org/2004/07/SaG.OTC.API.Models.Requests"
V1_NS = "http://schemas.datacontract.org/2004/07/IO.Swagger.Models"
KATANA_NS = "http://schemas.datacontract.org/2004/07/Yindo.DAL.Types"

JSON = ("Content-Type", "application/json")
XML = ("Content-Type", "application/xml")
FORM = ("Content-Type", "application/x-www-form-urlencoded")
BEARER = ("Authorization", "Bearer {{BEARER}}")
DEMO_BASIC = ("Authorization", "Basic " + base64.b64encode(b"demo-client:demo-secret").decode())

MEMBER_OK = '{"MemberId":"1234","Password":"alice-password-1"}'
V1_OK = "grant_type=password&username=alice&password=alice-password-1"
OTC_OK = '{"ClientId":"demo-client","ClientSecret":"demo-secret","Username":"alice","Password":"alice-password-1"}'
KATANA_OK = "grant_type=password&userName=alice&password=alice-password-1&clientKey=k1"


def case(name, path, body, *headers, method="POST", declared=None):
    return {
        "name": name,
        "method": method,
        "path": path,
        "headers": list(headers),
        "body": body,
        "declared": declared,
    }


# Declared differences: the key is the section of docs/wire-format.md ("Differences from
# legacy") that gives the reason.
SPEC_ERRORS = "otc-v1-katana-error-shapes"
LOGIC = "controller-logic"
DUPLICATES = "duplicate-members"
FORM_VALUE = "form-error-text"
ORDER = "xml-member-order"

CASES = [
    # ---- successes in every dialect and media type (values normalised) ----
    case("member-json-ok", "/api/Token", MEMBER_OK, JSON),
    case("member-xml-ok", "/api/Token",
         f'<AuthMemberModel xmlns="{MEMBER_NS}"><MemberId>1234</MemberId><Password>alice-password-1</Password></AuthMemberModel>',
         XML, ("Accept", "application/xml")),
    case("member-form-ok", "/api/Token", "MemberId=1234&Password=alice-password-1", FORM),
    case("v1-form-ok", "/api/v1/auth/token", V1_OK, FORM, DEMO_BASIC),
    case("v1-json-ok", "/api/v1/auth/token",
         '{"WindowsAuthentication":false,"client_id":"demo-client","client_secret":"demo-secret","username":"alice","password":"alice-password-1","grant_type":"password"}',
         JSON),
    case("v1-xml-ok", "/api/v1/auth/token",
         f'<TokenRequest xmlns="{V1_NS}"><grant_type>password</grant_type><password>alice-password-1</password><username>alice</username></TokenRequest>',
         XML, DEMO_BASIC),
    case("katana-form-ok", "/token", KATANA_OK, FORM),
    case("katana-form-ok-xml", "/token", KATANA_OK, FORM, ("Accept", "application/xml")),
    case("otc-json-ok", "/admin/login/auth_code", OTC_OK, JSON),
    case("otc-xml-ok", "/admin/login/auth_code", OTC_OK, JSON, ("Accept", "text/xml")),
    case("onetime-json-ok", "/oauth2/onetime/token", '{"clientId":"demo-client","payload":{"lang":"en"}}', JSON, BEARER),
    case("onetime-xml-ok", "/oauth2/onetime/token",
         f'<OneTimeTokenRequest xmlns="{ONETIME_NS}"><ClientId>demo-client</ClientId></OneTimeTokenRequest>',
         XML, BEARER),
    # ---- 1. binding failures: HttpError + ModelState (JSON and XML) ----
    case("member-json-truncated", "/api/Token", '{"MemberId":"1234"', JSON),
    case("member-json-garbage", "/api/Token", "garbage", JSON),
    case("member-json-array", "/api/Token", "[1]", JSON),
    case("member-json-object-member", "/api/Token", '{"MemberId":{},"Password":"x"}', JSON),
    case("member-xml-broken", "/api/Token",
         f'<AuthMemberModel xmlns="{MEMBER_NS}"><MemberId>1</Password></AuthMemberModel>', XML),
    case("member-xml-broken-accept-json", "/api/Token",
         f'<AuthMemberModel xmlns="{MEMBER_NS}"><MemberId>1</Password></AuthMemberModel>', XML,
         ("Accept", "application/json")),
    case("member-json-error-as-xml", "/api/Token", '{"MemberId":"1"', JSON, ("Accept", "application/xml")),
    case("onetime-required-xml", "/oauth2/onetime/token",
         f'<OneTimeTokenRequest xmlns="{ONETIME_NS}"><UserName>x</UserName></OneTimeTokenRequest>', XML, BEARER),
    # ---- 2. onetime camelCase errors ----
    case("onetime-required-json", "/oauth2/onetime/token", "{}", JSON, BEARER),
    case("onetime-bad-guid", "/oauth2/onetime/token", '{"clientId":"demo-client","brokerId":"nope"}', JSON, BEARER),
    case("onetime-bad-guid-and-required", "/oauth2/onetime/token", '{"brokerId":"nope"}', JSON, BEARER),
    case("onetime-two-bad-members-and-required", "/oauth2/onetime/token", '{"brokerId":"nope","payload":5}', JSON, BEARER),
    case("onetime-bad-members-as-xml", "/oauth2/onetime/token", '{"brokerId":"nope","payload":5,"clientId":"x"}', JSON,
         BEARER, ("Accept", "application/xml")),
    case("member-json-broken-inside-value", "/api/Token", '{"MemberId":"1","Password":tru}', JSON),
    case("member-json-broken-between-members", "/api/Token", '{"MemberId":"1" "Password":"2"}', JSON),
    case("onetime-bad-payload", "/oauth2/onetime/token", '{"clientId":"demo-client","payload":[1]}', JSON, BEARER),
    case("onetime-form-bad-guid", "/oauth2/onetime/token", "ClientId=demo-client&BrokerId=nope", FORM, BEARER,
         declared=FORM_VALUE),
    # ---- 3. text/xml and text/json ----
    case("member-text-json", "/api/Token", MEMBER_OK, ("Content-Type", "text/json")),
    case("member-accept-text-star", "/api/Token", MEMBER_OK, JSON, ("Accept", "text/*")),
    case("member-accept-text-xml", "/api/Token", MEMBER_OK, JSON, ("Accept", "text/xml")),
    case("member-text-xml-body", "/api/Token",
         f'<AuthMemberModel xmlns="{MEMBER_NS}"><MemberId>1234</MemberId><Password>alice-password-1</Password></AuthMemberModel>',
         ("Content-Type", "text/xml")),
    case("member-error-text-json", "/api/Token", '{"MemberId":', ("Content-Type", "text/json")),
    # ---- 4. Accept-Charset: utf-16 ----
    case("member-utf16-json", "/api/Token", MEMBER_OK, JSON, ("Accept-Charset", "utf-16")),
    case("member-utf16-xml", "/api/Token", MEMBER_OK, JSON, ("Accept", "application/xml"), ("Accept-Charset", "utf-16")),
    case("member-utf16-error", "/api/Token", "[1]", JSON, ("Accept-Charset", "utf-8;q=0.5, utf-16")),
    # ---- 5. 404 and 405 ----
    case("405-json", "/api/v1/auth/token", None, method="GET"),
    case("405-xml", "/api/v1/auth/token", None, ("Accept", "application/xml"), method="GET"),
    case("405-onetime-camel", "/oauth2/onetime/token", None, method="GET"),
    case("405-put-member", "/API/TOKEN", "", method="PUT"),
    case("404-post", "/api/Nope", ""),
    case("404-get-text-xml", "/nope/x/Y?q=1%20&b", None, ("Accept", "text/xml"), method="GET"),
    case("404-root", "/", None, method="GET"),
    case("404-escapes", "/Nope/%41%2F%25%3F%20x?a=%41%2F%25&b=%20", ""),
    # ---- 6. Json.NET leniency ----
    case("member-json-comment", "/api/Token", '/* c */ {"MemberId":"1234", // x\n"Password":"alice-password-1"}', JSON),
    case("member-json-single-quotes", "/api/Token", "{'MemberId':'1234',Password:'alice-password-1'}", JSON),
    case("member-json-trailing", "/api/Token", MEMBER_OK + " trailing", JSON),
    case("member-json-trailing-comma", "/api/Token", '{"MemberId":"1234","Password":"alice-password-1",}', JSON),
    case("member-json-number-id", "/api/Token", '{"MemberId":1234,"Password":"alice-password-1"}', JSON),
    case("v1-json-bool-from-number", "/api/v1/auth/token",
         '{"WindowsAuthentication":0,"username":"alice","password":"alice-password-1","grant_type":"password"}',
         JSON, DEMO_BASIC),
    case("v1-json-bool-from-string-one", "/api/v1/auth/token",
         '{"WindowsAuthentication":"1","username":"alice","password":"alice-password-1","grant_type":"password"}',
         JSON, DEMO_BASIC, declared=SPEC_ERRORS),
    case("member-json-duplicate", "/api/Token", '{"MemberId":"5678","MemberId":"1234","Password":"alice-password-1"}', JSON,
         declared=DUPLICATES),
    # ---- 7. XML root without a namespace ----
    case("member-xml-no-namespace", "/api/Token",
         "<AuthMemberModel><MemberId>1234</MemberId><Password>alice-password-1</Password></AuthMemberModel>", XML),
    case("onetime-xml-no-namespace", "/oauth2/onetime/token",
         "<OneTimeTokenRequest><ClientId>demo-client</ClientId></OneTimeTokenRequest>", XML, BEARER),
    case("member-xml-out-of-order", "/api/Token",
         f'<AuthMemberModel xmlns="{MEMBER_NS}"><Password>alice-password-1</Password><MemberId>1234</MemberId></AuthMemberModel>',
         XML, declared=ORDER),
    # ---- 8. WindowsAuthentication is a bool ----
    case("v1-json-windows-null", "/api/v1/auth/token",
         '{"WindowsAuthentication":null,"username":"alice","password":"alice-password-1","grant_type":"password"}',
         JSON, DEMO_BASIC, declared=SPEC_ERRORS),
    # ---- 9. SubAccount is not read from JSON ----
    case("member-json-subaccount", "/api/Token", '{"MemberId":"1234","Password":"alice-password-1","SubAccount":"9"}', JSON),
    case("member-xml-subaccount", "/api/Token",
         f'<AuthMemberModel xmlns="{MEMBER_NS}"><MemberId>1234</MemberId><Password>alice-password-1</Password><SubAccount>9</SubAccount></AuthMemberModel>',
         XML),
    # ---- 10. caching headers: every case above compares them; errors too ----
    case("otc-json-missing", "/admin/login/auth_code", "{}", JSON, declared=SPEC_ERRORS),
    case("katana-json-ok", "/token",
         '{"grant_type":"password","userName":"alice","password":"alice-password-1","clientKey":"k1"}', JSON),
    # ---- 11. empty body, no Content-Type ----
    case("member-empty-no-content-type", "/api/Token", "", declared=LOGIC),
    case("onetime-empty-no-content-type", "/oauth2/onetime/token", "", BEARER, declared=LOGIC),
    case("member-empty-text-plain", "/api/Token", "", ("Content-Type", "text/plain"), declared=LOGIC),
    case("member-blank-json", "/api/Token", "  \r\n ", JSON, declared=LOGIC),
    case("member-blank-form", "/api/Token", "   ", FORM, declared=LOGIC),
    case("member-blank-xml", "/api/Token", "   ", XML),
    case("katana-empty-no-content-type", "/token", "", declared=LOGIC),
    # ---- 415 texts stay as they were ----
    case("member-415", "/api/Token", "x", ("Content-Type", "text/plain")),
    case("member-415-no-content-type", "/api/Token", "x"),
    case("onetime-415", "/oauth2/onetime/token", "x", ("Content-Type", "text/plain"), BEARER),
]

CACHE_HEADERS = ("cache-control", "pragma", "expires", "allow")


def send(port, c, bearer):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.putrequest(c["method"], c["path"], skip_host=True, skip_accept_encoding=True)
    conn.putheader("Host", f"127.0.0.1:{port}")
    for k, v in c["headers"]:
        conn.putheader(k, v.replace("{{BEARER}}", bearer))
    body = c["body"]
    if body is not None:
        body = body.encode()
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    if body:
        conn.send(body)
    r = conn.getresponse()
    data = r.read()
    headers = {k.lower(): v for k, v in r.getheaders()}
    conn.close()
    return r.status, headers, data


def decode_body(headers, data):
    ct = headers.get("content-type", "")
    if "charset=utf-16" in ct.lower():
        if data.startswith(b"\xff\xfe"):
            return "[utf-16 BOM]" + data[2:].decode("utf-16-le")
        return "[utf-16 no BOM]" + data.decode("utf-16-le")
    return data.decode("utf-8", "replace")


def normalise_values(text):
    """Scalar values replaced: JSON strings that are values by "~", numbers by 0; XML text
    between tags by ~. Keys, element names, order, nulls and booleans stay."""
    body = text
    prefix = ""
    if body.startswith("[utf-16"):
        prefix, body = body.split("]", 1)
        prefix += "]"
    if body.lstrip().startswith("<"):
        return prefix + re.sub(r">[^<]+<", ">~<", body)
    out = []
    i = 0
    n = len(body)
    while i < n:
        ch = body[i]
        if ch == '"':
            j = i + 1
            while j < n and body[j] != '"':
                j += 2 if body[j] == "\\" else 1
            s = body[i:j + 1]
            k = j + 1
            while k < n and body[k] in " \t\r\n":
                k += 1
            out.append(s if k < n and body[k] == ":" else '"~"')
            i = j + 1
        elif ch == "-" or ch.isdigit():
            j = i + 1
            while j < n and (body[j].isdigit() or body[j] in ".eE+-"):
                j += 1
            out.append("0")
            i = j
        else:
            out.append(ch)
            i += 1
    return prefix + "".join(out)


def answer(port, status, headers, data):
    text = decode_body(headers, data)
    text = re.sub(r"127\.0\.0\.1:%d" % port, "HOST", text)
    # Error ids (otc's ErrorId) are fresh per answer.
    text = re.sub(r"\b[0-9a-f]{32}\b", "<id>", text)
    return {
        "status": status,
        "content_type": headers.get("content-type"),
        "headers": {h: headers.get(h) for h in CACHE_HEADERS},
        "body": normalise_values(text) if status == 200 else text,
    }


def same(c, o, g):
    """Equal, or equal but for the one difference the issue mandates everywhere: a token
    answer keeps RFC 6749's `no-store` beside legacy's `no-cache`."""
    if o == g:
        return True
    if o["status"] == 200 and g["headers"].get("cache-control") == "no-store, no-cache" \
            and o["headers"].get("cache-control") == "no-cache":
        g2 = dict(g, headers=dict(g["headers"], **{"cache-control": "no-cache"}))
        return o == g2
    return False


def bearer_token(port):
    c = case("login", "/token", KATANA_OK, FORM)
    status, headers, data = send(port, c, "")
    if status != 200:
        sys.exit(f"cannot log in to Gatehouse on {port}: {status} {data!r}")
    return json.loads(data)["access_token"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--oracle", type=int, default=18481)
    ap.add_argument("--gatehouse", type=int, default=18480)
    ap.add_argument("--record", help="write golden files into this directory")
    ap.add_argument("--only", help="run the cases whose name contains this")
    args = ap.parse_args()
    undeclared = 0
    declared = 0
    n_same = 0
    for c in CASES:
        if args.only and args.only not in c["name"]:
            continue
        token = bearer_token(args.gatehouse)
        o = answer(args.oracle, *send(args.oracle, c, token))
        g = answer(args.gatehouse, *send(args.gatehouse, c, token))
        if same(c, o, g):
            verdict = "same"
            n_same += 1
        elif c["declared"]:
            verdict = f"DECLARED ({c['declared']})"
            declared += 1
        else:
            verdict = "DIFF"
            undeclared += 1
        print(f"{verdict:40} {c['name']}")
        if not same(c, o, g):
            for k in ("status", "content_type", "headers", "body"):
                if o[k] != g[k]:
                    print(f"    {k}: oracle    {o[k]!r}")
                    print(f"    {k}: gatehouse {g[k]!r}")
        if args.record:
            os.makedirs(args.record, exist_ok=True)
            golden = {
                "name": c["name"],
                "request": {k: c[k] for k in ("method", "path", "headers", "body")},
                "declared": c["declared"],
                "oracle": o,
            }
            if not same(c, o, g):
                golden["gatehouse"] = g if c["declared"] else None
            with open(os.path.join(args.record, c["name"] + ".json"), "w") as f:
                json.dump(golden, f, indent=1, ensure_ascii=False)
                f.write("\n")
    print(f"\n{n_same} same, {declared} declared differences, {undeclared} undeclared differences")
    return 1 if undeclared else 0


if __name__ == "__main__":
    sys.exit(main())
