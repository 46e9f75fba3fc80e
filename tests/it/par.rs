//! Pushed authorization requests (RFC 9126) end to end: the push (client authentication,
//! the request checked, 201), `/oauth2/authorize` with only `client_id` and `request_uri`
//! through the login page, single use, the binding to the client, the per-client cap,
//! `require_pushed_authorization_requests` per client and globally, and the setting off; each
//! rule crossed by a second client or a replay.

use gatehouse::config::{ParSetting, Settings};
use gatehouse_domain::pkce::s256;
use gatehouse_tests::{Request, Response};
use serde_json::{json, Value};

use crate::oidc::{hidden_fields, query_of, Browser, CB, VERIFIER};
use crate::standard::{enc, import};
use crate::support::Server;

fn server_with(tweak: impl FnOnce(&mut Settings)) -> Server {
    let server = Server::start_with(tweak);
    import(
        &server,
        &format!(
            r#"{{"clients":[
 {{"client_id":"web","secret":"web-secret","grants":["authorization_code"],"scope":"openid profile","redirect_uris":["{CB}"]}},
 {{"client_id":"other","secret":"other-secret","grants":["authorization_code"],"scope":"openid","redirect_uris":["https://other.example/cb"]}},
 {{"client_id":"spa","grants":["authorization_code"],"scope":"openid","redirect_uris":["{CB}"]}},
 {{"client_id":"strict","secret":"strict-secret","grants":["authorization_code"],"scope":"openid","redirect_uris":["{CB}"],"require_pushed_authorization_requests":true}}
]}}"#
        ),
    );
    server
}

fn request_form(client: &str, redirect: &str, state: &str) -> String {
    format!(
        "response_type=code&client_id={client}&redirect_uri={}&scope=openid&state={state}&nonce=n1&code_challenge={}&code_challenge_method=S256",
        enc(redirect),
        s256(VERIFIER)
    )
}

fn push(server: &Server, basic: Option<(&str, &str)>, form: &str) -> Response {
    let mut req = Request::post("/oauth2/par");
    if let Some((id, secret)) = basic {
        req = req.basic(id, secret);
    }
    server.send(req.form(form))
}

fn pushed_uri(server: &Server, id: &str, secret: &str, form: &str) -> String {
    let res = push(server, Some((id, secret)), form);
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let v = res.json();
    assert_eq!(v["expires_in"], 60);
    let uri = v["request_uri"].as_str().expect("request_uri").to_owned();
    assert!(
        uri.starts_with("urn:ietf:params:oauth:request_uri:"),
        "{uri}"
    );
    uri
}

fn authorize(browser: &mut Browser, server: &Server, client: &str, uri: &str) -> Response {
    browser.send(
        server,
        Request::get(&format!(
            "/oauth2/authorize?client_id={client}&request_uri={}",
            enc(uri)
        )),
    )
}

fn page_refused(res: &Response) {
    assert_eq!(res.status, 400, "{}", res.text());
    assert!(res.header("location").is_none(), "never redirected");
}

fn error_of(res: &Response) -> Value {
    json!({"status": res.status, "error": res.json()["error"]})
}

#[test]
fn pushed_requests_are_single_use_bound_to_their_client_and_capped() {
    let server = server_with(|_| {});
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let doc = server.send(Request::get(path)).json();
        let issuer = doc["issuer"].as_str().unwrap_or_default().to_owned();
        assert_eq!(
            doc["pushed_authorization_request_endpoint"],
            json!(format!("{issuer}/oauth2/par"))
        );
        assert_eq!(doc["require_pushed_authorization_requests"], false);
    }

    // The push, then the browser with client_id and request_uri only, through the login form.
    let uri = pushed_uri(
        &server,
        "web",
        "web-secret",
        &request_form("web", CB, "st-par"),
    );
    let mut alice = Browser::default();
    let page = authorize(&mut alice, &server, "web", &uri);
    assert_eq!(page.status, 200, "{}", page.text());
    let mut fields = hidden_fields(page.text());
    let carried: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        carried,
        ["client_id", "request_uri", "csrf_token"],
        "the form carries the request_uri only"
    );
    fields.push(("username".into(), "alice".into()));
    fields.push(("password".into(), "alice-password-1".into()));
    let res = alice.post(&server, "/oauth2/login", &fields);
    assert_eq!(res.status, 303, "{}", res.text());
    let q = query_of(res.header("location").expect("location"));
    assert_eq!(q.get("state").map(String::as_str), Some("st-par"));
    let code = q["code"].clone();
    let res = server.send(
        Request::post("/oauth2/token")
            .basic("web", "web-secret")
            .form(&format!(
                "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={VERIFIER}",
                enc(&code),
                enc(CB)
            )),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(
        res.json()["id_token"].is_string(),
        "the pushed nonce and scope held"
    );

    // Replayed, in the same browser (signed in) or another: refused with a page.
    page_refused(&authorize(&mut alice, &server, "web", &uri));
    page_refused(&authorize(&mut Browser::default(), &server, "web", &uri));

    // Another client's request_uri: refused, and the owner can still use it once.
    let uri = pushed_uri(&server, "web", "web-secret", &request_form("web", CB, "s2"));
    page_refused(&authorize(&mut alice, &server, "other", &uri));
    page_refused(&authorize(&mut alice, &server, "", &uri));
    let res = authorize(&mut alice, &server, "web", &uri);
    assert_eq!(res.status, 303, "{}", res.text());
    assert!(query_of(res.header("location").unwrap_or_default()).contains_key("code"));
    page_refused(&authorize(&mut alice, &server, "web", &uri));
    page_refused(&authorize(
        &mut alice,
        &server,
        "web",
        "urn:ietf:params:oauth:request_uri:forged",
    ));

    // The push itself: a client pushing for another, a bad secret, an unregistered redirect
    // URI, a request_uri inside, a repeated parameter; a public client with PKCE is fine.
    let res = push(
        &server,
        Some(("web", "web-secret")),
        &request_form("other", "https://other.example/cb", "s"),
    );
    assert_eq!(
        error_of(&res),
        json!({"status": 400, "error": "invalid_request"}),
        "{}",
        res.text()
    );
    let res = push(
        &server,
        Some(("web", "wrong")),
        &request_form("web", CB, "s"),
    );
    assert_eq!(
        error_of(&res),
        json!({"status": 401, "error": "invalid_client"})
    );
    assert!(res
        .header("www-authenticate")
        .is_some_and(|h| h.starts_with("Basic")));
    let res = push(
        &server,
        Some(("web", "web-secret")),
        &request_form("web", "https://evil.example/cb", "s"),
    );
    assert_eq!(
        error_of(&res),
        json!({"status": 400, "error": "invalid_request"})
    );
    let res = push(
        &server,
        Some(("web", "web-secret")),
        &format!("{}&request_uri=x", request_form("web", CB, "s")),
    );
    assert_eq!(
        error_of(&res),
        json!({"status": 400, "error": "invalid_request"})
    );
    let res = push(
        &server,
        Some(("web", "web-secret")),
        &format!("{}&scope=profile", request_form("web", CB, "s")),
    );
    assert_eq!(
        error_of(&res),
        json!({"status": 400, "error": "invalid_request"})
    );
    let res = push(
        &server,
        Some(("web", "web-secret")),
        &request_form("web", CB, "s").replace("scope=openid", "scope=admin"),
    );
    assert_eq!(
        error_of(&res),
        json!({"status": 400, "error": "invalid_scope"})
    );
    let res = push(&server, None, &request_form("spa", CB, "s"));
    assert_eq!(res.status, 201, "{}", res.text());

    // A client that must push: a plain request (or a login form built by hand) is refused.
    let plain = format!("/oauth2/authorize?{}", request_form("strict", CB, "s9"));
    let res = alice.send(&server, Request::get(&plain));
    let q = query_of(res.header("location").expect("redirected with an error"));
    assert_eq!(q.get("error").map(String::as_str), Some("invalid_request"));
    assert_eq!(q.get("state").map(String::as_str), Some("s9"));
    let res = alice.send(
        &server,
        Request::post("/oauth2/login").form(&request_form("strict", CB, "s9")),
    );
    let q = query_of(res.header("location").expect("redirected with an error"));
    assert_eq!(q.get("error").map(String::as_str), Some("invalid_request"));
    let uri = pushed_uri(
        &server,
        "strict",
        "strict-secret",
        &request_form("strict", CB, "s10"),
    );
    let res = authorize(&mut alice, &server, "strict", &uri);
    assert!(
        query_of(res.header("location").unwrap_or_default()).contains_key("code"),
        "{}",
        res.text()
    );

    // The cap: at most 32 live pushed requests per client; the next is 429 with Retry-After.
    for _ in 0..32 {
        pushed_uri(
            &server,
            "other",
            "other-secret",
            &request_form("other", "https://other.example/cb", "s"),
        );
    }
    let res = push(
        &server,
        Some(("other", "other-secret")),
        &request_form("other", "https://other.example/cb", "s"),
    );
    assert_eq!(
        error_of(&res),
        json!({"status": 429, "error": "temporarily_unavailable"})
    );
    assert_eq!(res.header("retry-after"), Some("60"));
    // Another client is not affected by it.
    pushed_uri(&server, "web", "web-secret", &request_form("web", CB, "s"));
}

/// `--pushed-authorization-requests off`: no endpoint, nothing advertised, no request_uri;
/// `required`: every client must push, and discovery says so.
#[test]
fn the_setting_turns_par_off_or_requires_it() {
    let off = server_with(|s| s.pushed_authorization_requests = Some(ParSetting::Off));
    let doc = off
        .send(Request::get("/.well-known/oauth-authorization-server"))
        .json();
    assert!(
        doc.get("pushed_authorization_request_endpoint").is_none(),
        "{doc}"
    );
    assert!(
        doc.get("require_pushed_authorization_requests").is_none(),
        "{doc}"
    );
    let res = push(
        &off,
        Some(("web", "web-secret")),
        &request_form("web", CB, "s"),
    );
    assert_eq!(res.status, 404);
    page_refused(&authorize(
        &mut Browser::default(),
        &off,
        "web",
        "urn:ietf:params:oauth:request_uri:x",
    ));

    let required = server_with(|s| s.pushed_authorization_requests = Some(ParSetting::Required));
    let doc = required
        .send(Request::get("/.well-known/openid-configuration"))
        .json();
    assert_eq!(doc["require_pushed_authorization_requests"], true);
    let mut b = Browser::default();
    let res = b.send(
        &required,
        Request::get(&format!(
            "/oauth2/authorize?{}",
            request_form("web", CB, "s")
        )),
    );
    let q = query_of(res.header("location").expect("redirected with an error"));
    assert_eq!(q.get("error").map(String::as_str), Some("invalid_request"));
    let uri = pushed_uri(
        &required,
        "web",
        "web-secret",
        &request_form("web", CB, "s"),
    );
    assert_eq!(
        authorize(&mut b, &required, "web", &uri).status,
        200,
        "the login page"
    );
}
