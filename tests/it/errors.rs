//! Every error rule of the legacy dialects (docs/wire-format.md), in each dialect's words, and that a refused request
//! stored nothing.

use gatehouse_tests::{Request, Response};
use serde_json::Value;

use crate::support::Server;

/// Rows that a successful grant would add.
fn stored(server: &Server) -> [i64; 5] {
    [
        server.count("sessions"),
        server.count("access_tokens"),
        server.count("refresh_tokens"),
        server.count("authorization_codes"),
        server.count("onetime_codes"),
    ]
}

fn oauth_error(res: &Response, status: u16, error: &str) {
    assert_eq!(res.status, status, "{}", res.text());
    assert_eq!(
        res.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    // Legacy's IIS host headers on every error of the legacy routes (issue 11).
    assert_eq!(res.header("cache-control"), Some("no-cache"));
    assert_eq!(res.header("pragma"), Some("no-cache"));
    assert_eq!(res.header("expires"), Some("-1"));
    let v = res.json();
    assert_eq!(v["error"], error, "{v}");
    assert!(v["error_description"].is_string(), "{v}");
}

fn http_error(res: &Response, status: u16) -> String {
    assert_eq!(res.status, status, "{}", res.text());
    let v = res.json();
    // The onetime service's formatter camel-cased HttpError (issue 11).
    let camel = v.get("message").is_some();
    assert!(camel != v.get("Message").is_some(), "{v}");
    v[if camel { "message" } else { "Message" }]
        .as_str()
        .unwrap_or_else(|| panic!("HttpError body: {}", res.text()))
        .to_owned()
}

#[test]
fn wrong_password_and_unknown_user_read_the_same_everywhere() {
    // Each attempt from its own address, so the per-address back-off stays out of the way.
    let server = Server::start_with(|a| a.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")]);
    let mut n = 0;
    let mut from = || {
        n += 1;
        format!("10.0.0.{n}")
    };
    let before = stored(&server);
    let pairs = [("alice", "wrong-password"), ("nobody", "alice-password-1")];
    let mut bodies = Vec::new();
    for (user, password) in pairs {
        let katana = server.send(
            Request::post("/token")
                .header("X-Forwarded-For", &from())
                .form(&format!(
                    "grant_type=password&userName={user}&password={password}"
                )),
        );
        oauth_error(&katana, 400, "invalid_grant");
        let v1 = server.send(
            Request::post("/api/v1/auth/token")
                .header("X-Forwarded-For", &from())
                .basic("demo-client", "demo-secret")
                .form(&format!(
                    "grant_type=password&username={user}&password={password}"
                )),
        );
        oauth_error(&v1, 400, "invalid_grant");
        let otc = server.send(
            Request::post("/admin/login/auth_code")
                .header("X-Forwarded-For", &from())
                .form(&format!(
            "ClientId=demo-client&ClientSecret=demo-secret&Username={user}&Password={password}"
        )),
        );
        assert_eq!(otc.status, 401, "{}", otc.text());
        let mut v: Value = otc.json();
        assert_eq!(v["Header"]["StatusCode"], 3);
        assert_eq!(v["Header"]["Status"], "InvalidCredentials");
        assert_eq!(v["Body"], Value::Null);
        v["Header"]["ErrorId"] = Value::Null;
        bodies.push((katana.body, v1.body, v));
    }
    assert_eq!(
        bodies[0], bodies[1],
        "no difference between a wrong password and an unknown user"
    );
    let member = server.send(
        Request::post("/api/Token")
            .header("X-Forwarded-For", &from())
            .json(r#"{"MemberId":"9999","Password":"x"}"#),
    );
    let message = http_error(&member, 401);
    let member2 = server.send(
        Request::post("/api/Token")
            .header("X-Forwarded-For", &from())
            .json(r#"{"MemberId":"1234","Password":"x"}"#),
    );
    assert_eq!(http_error(&member2, 401), message);
    assert_eq!(stored(&server), before, "nothing stored");
}

#[test]
fn otc_error_ids_are_fresh_and_logged() {
    let server = Server::start();
    let ids: Vec<String> = (0..2)
        .map(|_| {
            let res = server.send(Request::post("/admin/login/auth_code").json("{"));
            assert_eq!(res.status, 400, "{}", res.text());
            let v = res.json();
            assert_eq!(v["Header"]["StatusCode"], 1);
            assert_eq!(v["Header"]["Status"], "InvalidRequest");
            assert!(!v["Header"]["Message"]
                .as_str()
                .unwrap_or_default()
                .is_empty());
            v["Header"]["ErrorId"].as_str().expect("ErrorId").to_owned()
        })
        .collect();
    assert_ne!(ids[0], ids[1]);
    // XML clients get the envelope in XML.
    let res = server.send(
        Request::post("/admin/login/auth_code")
            .xml("<AuthCodeRequest xmlns=\"http://schemas.datacontract.org/2004/07/SaG.OTC.API.Models.Requests\"><ClientId>demo-client</ClientId></AuthCodeRequest>"),
    );
    assert_eq!(res.status, 400, "{}", res.text());
    let text = res.text();
    assert!(text.starts_with("<AuthCodeResponse xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns=\"http://schemas.datacontract.org/2004/07/SaG.OTC.API.Models.Responses\"><Body i:nil=\"true\" /><Header><ErrorId>"), "{text}");
    assert!(
        text.contains("<StatusCode>InvalidRequest</StatusCode>"),
        "{text}"
    );
}

#[test]
fn unsupported_media_types_are_415_in_each_dialect() {
    let server = Server::start();
    let before = stored(&server);
    let res = server.send(
        Request::post("/api/Token")
            .header("Content-Type", "text/plain")
            .body(b"MemberId=1234"),
    );
    let m = http_error(&res, 415);
    assert_eq!(
        m,
        "The request entity's media type 'text/plain' is not supported for this resource."
    );
    let res = server.send(Request::post("/api/Token").body(br#"{"MemberId":"1234"}"#));
    let m = http_error(&res, 415);
    assert!(m.contains("no Content-Type header"), "{m}");
    let res = server.send(
        Request::post("/api/v1/auth/token")
            .header("Content-Type", "text/plain")
            .body(b"grant_type=password"),
    );
    oauth_error(&res, 415, "invalid_request");
    let res = server.send(
        Request::post("/admin/login/token")
            .header("Content-Type", "image/png")
            .body(b"\x89PNG"),
    );
    assert_eq!(res.status, 415);
    assert_eq!(res.json()["Header"]["Status"], "UnsupportedMediaType");
    assert_eq!(stored(&server), before);
}

#[test]
fn bodies_over_the_limit_are_413() {
    let server = Server::start();
    let big = format!(
        r#"{{"MemberId":"1234","Password":"{}"}}"#,
        "x".repeat(70 * 1024)
    );
    let res = server.send(Request::post("/api/Token").json(&big));
    http_error(&res, 413);
    let res = server.send(Request::post("/token").form(&format!(
        "grant_type=password&userName=alice&password={}",
        "x".repeat(70 * 1024)
    )));
    oauth_error(&res, 413, "invalid_request");
    // Chunked, with no Content-Length: refused while reading.
    let mut raw = b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for _ in 0..20 {
        raw.extend_from_slice(format!("1000\r\n{}\r\n", "a".repeat(0x1000)).as_bytes());
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    let res = gatehouse_tests::send_raw(server.addr, &raw).expect("answer");
    oauth_error(&res, 413, "invalid_request");
}

#[test]
fn malformed_bodies_name_the_problem() {
    let server = Server::start();
    let before = stored(&server);
    // member: wrong JSON type names the field.
    let res =
        server.send(Request::post("/api/Token").json(r#"{"MemberId":{"a":1},"Password":"x"}"#));
    // Web API's ModelState under Json.NET's path, the exception text hidden (issue 11).
    assert_eq!(http_error(&res, 400), "The request is invalid.");
    assert_eq!(
        res.json()["ModelState"]["request.MemberId"][0],
        "An error has occurred."
    );
    // member: missing member, Web API model state.
    let res = server.send(Request::post("/api/Token").json(r#"{"Password":"x"}"#));
    assert_eq!(res.status, 400);
    assert_eq!(
        res.text(),
        r#"{"Message":"The request is invalid.","ModelState":{"request.MemberId":["The MemberId field is required."]}}"#
    );
    // member in XML answers in XML.
    let res = server.send(Request::post("/api/Token").xml("<AuthMemberModel><MemberId>1"));
    assert_eq!(res.status, 400);
    assert!(res.text().starts_with("<Error><Message>"), "{}", res.text());
    // wrong root and wrong namespace.
    for xml in [
        r#"<Other xmlns="http://schemas.datacontract.org/2004/07/AuEAuth_WebAPI.Models"><MemberId>1</MemberId></Other>"#,
        r#"<AuthMemberModel xmlns="urn:evil"><MemberId>1</MemberId></AuthMemberModel>"#,
        r#"<AuthMemberModel><MemberId>1</MemberId><MemberId>2</MemberId></AuthMemberModel>"#,
    ] {
        let res = server.send(Request::post("/api/Token").xml(xml));
        assert_eq!(res.status, 400, "{xml}: {}", res.text());
    }
    // v1 and katana: invalid_request.
    let res = server.send(Request::post("/api/v1/auth/token").json("[1,2"));
    oauth_error(&res, 400, "invalid_request");
    let res =
        server.send(Request::post("/token").json(r#"{"grant_type":"password","userName":7}"#));
    oauth_error(&res, 400, "invalid_request");
    // onetime: empty body.
    let token = server.alice_token();
    let before_onetime = stored(&server);
    let res = server.send(
        Request::post("/oauth2/onetime/token")
            .bearer(&token)
            .json(""),
    );
    http_error(&res, 400);
    assert_eq!(stored(&server), before_onetime);
    assert_eq!(stored(&server)[3..], before[3..]);
}

#[test]
fn grant_and_client_errors() {
    let server = Server::start();
    let before = stored(&server);
    oauth_error(
        &server.send(Request::post("/token").form("grant_type=client_credentials")),
        400,
        "unsupported_grant_type",
    );
    // Katana compares grant_type case-sensitively.
    oauth_error(
        &server.send(
            Request::post("/token")
                .form("grant_type=Password&userName=alice&password=alice-password-1"),
        ),
        400,
        "unsupported_grant_type",
    );
    oauth_error(
        &server.send(Request::post("/api/v1/auth/token").form("grant_type=implicit")),
        400,
        "unsupported_grant_type",
    );
    // Katana answers a bad client with 400; v1 with 401, and WWW-Authenticate when Basic was used.
    oauth_error(
        &server.send(
            Request::post("/token")
                .basic("demo-client", "nope")
                .form("grant_type=password&userName=alice&password=alice-password-1"),
        ),
        400,
        "invalid_client",
    );
    let res = server.send(
        Request::post("/api/v1/auth/token")
            .basic("demo-client", "nope")
            .form("grant_type=client_credentials"),
    );
    oauth_error(&res, 401, "invalid_client");
    assert!(res
        .header("www-authenticate")
        .is_some_and(|v| v.starts_with("Basic")));
    let res = server.send(
        Request::post("/api/v1/auth/token")
            .form("grant_type=client_credentials&client_id=demo-client&client_secret=nope"),
    );
    oauth_error(&res, 401, "invalid_client");
    assert_eq!(res.header("www-authenticate"), None);
    oauth_error(
        &server.send(Request::post("/api/v1/auth/token").form("grant_type=refresh_token&client_id=demo-client&client_secret=demo-secret&refresh_token=forged")),
        400,
        "invalid_grant",
    );
    // onetime without any caller, with a forged bearer.
    let res =
        server.send(Request::post("/oauth2/onetime/token").json(r#"{"clientId":"demo-client"}"#));
    http_error(&res, 401);
    let res = server.send(
        Request::post("/oauth2/onetime/token")
            .bearer("forged")
            .json(r#"{"clientId":"demo-client"}"#),
    );
    http_error(&res, 401);
    let res = server.send(
        Request::post("/oauth2/onetime/authorize")
            .basic("demo-client", "demo-secret")
            .json(r#"{"code":"forged"}"#),
    );
    http_error(&res, 400);
    assert_eq!(stored(&server), before);
}

#[test]
fn repeated_failures_lock_with_retry_after_and_persist() {
    let mut server = Server::start();
    let mut last = None;
    for _ in 0..8 {
        let res = server
            .send(Request::post("/api/Token").json(r#"{"MemberId":"5678","Password":"wrong"}"#));
        last = Some(res);
    }
    let res = last.expect("responses");
    http_error(&res, 429);
    let retry: u64 = res
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After seconds");
    assert!(retry >= 1);
    // Even the right password is refused while locked, without hashing.
    let res = server.send(
        Request::post("/token").form("grant_type=password&userName=bob&password=bob-password-1"),
    );
    oauth_error(&res, 429, "invalid_grant");
    // The lock is in the database: a restarted server still refuses.
    let db = server.db.clone();
    server.stop();
    let running = crate::support::restart_on(&db, |_| {});
    let res = Request::post("/token")
        .form("grant_type=password&userName=bob&password=bob-password-1")
        .send(running.addr);
    assert_eq!(res.status, 429, "{}", res.text());
    assert!(res.header("retry-after").is_some());
    running.stop();
}

#[test]
fn routing_errors() {
    let server = Server::start();
    let res = server.send(Request::get("/token"));
    assert_eq!(res.status, 405);
    assert_eq!(res.header("allow"), Some("POST"));
    let res = server.send(Request::post("/api/nothing"));
    // Web API quoted the absolute URI as sent (issue 11).
    assert_eq!(
        http_error(&res, 404),
        "No HTTP resource was found that matches the request URI 'http://localhost/api/nothing'."
    );
    assert_eq!(
        res.header("cache-control"),
        Some("no-cache"),
        "legacy host headers on 404"
    );
}

#[test]
fn one_person_has_one_allowance_across_dialects() {
    // Each attempt from another address (through a trusted proxy): only the account counts.
    let server = Server::start_with(|a| {
        a.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    });
    for i in 0..5 {
        let res = server.send(
            Request::post("/api/Token")
                .header("X-Forwarded-For", &format!("10.1.0.{i}"))
                .json(r#"{"MemberId":"5678","Password":"wrong"}"#),
        );
        http_error(&res, 401);
    }
    // bob's member failures lock bob at katana too, even with the right password.
    let res = server.send(
        Request::post("/token")
            .header("X-Forwarded-For", "10.1.0.99")
            .form("grant_type=password&userName=bob&password=bob-password-1"),
    );
    oauth_error(&res, 429, "invalid_grant");
    // alice is not affected.
    let res = server.send(
        Request::post("/token")
            .header("X-Forwarded-For", "10.1.0.98")
            .form("grant_type=password&userName=alice&password=alice-password-1"),
    );
    assert_eq!(res.status, 200, "{}", res.text());
}

/// Issue 20: one 405 for every route of the table (Web API's on the legacy host, RFC 6749's
/// elsewhere, `Allow` from the table), and one OAuth error writer on the standards surface:
/// a 401 there always carries the `Basic` challenge (RFC 7235 section 3.1), whether the client
/// authenticated with Basic or in the body, at every standards endpoint alike.
#[test]
fn one_405_and_one_oauth_error_writer() {
    use gatehouse_models::routes::Endpoint;
    let server = Server::start();
    for e in Endpoint::ALL {
        if e.methods().len() == 2 {
            continue;
        }
        let wrong = if e.allow() == "GET" { "DELETE" } else { "GET" };
        let res = gatehouse_tests::send_raw(
            server.addr,
            format!(
                "{wrong} {} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                e.path().replace("{id}", "POST-token")
            )
            .as_bytes(),
        )
        .expect("answered");
        assert_eq!(res.status, 405, "{e:?}");
        assert_eq!(res.header("allow"), Some(e.allow()), "{e:?}");
        let v = res.json();
        if e.on_legacy_host() {
            let message = v.get("Message").or_else(|| v.get("message"));
            assert!(message.is_some_and(Value::is_string), "{e:?}: {v}");
        } else {
            assert_eq!(v["error"], "invalid_request", "{e:?}");
            assert_eq!(res.header("cache-control"), Some("no-store"), "{e:?}");
        }
    }
    for path in ["/oauth2/introspect", "/oauth2/revoke", "/oauth2/token"] {
        let res = server.send(Request::post(path).form(
            "token=x&grant_type=client_credentials&client_id=demo-client&client_secret=nope",
        ));
        assert_eq!(res.status, 401, "{path}: {}", res.text());
        assert_eq!(res.json()["error"], "invalid_client", "{path}");
        assert_eq!(
            res.header("www-authenticate"),
            Some("Basic realm=\"gatehouse\""),
            "{path}"
        );
        assert_eq!(
            res.header("content-type"),
            Some("application/json"),
            "{path}"
        );
        assert_eq!(res.header("cache-control"), Some("no-store"), "{path}");
    }
}
