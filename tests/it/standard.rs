//! The standards surface end to end over HTTP: `/oauth2/authorize` with its login and consent
//! pages, `/oauth2/token`, the metadata. A cookie-keeping raw HTTP "browser" stands in for
//! the real one here (the real one, headless Chromium, runs in `browser_flow_with_authlib`);
//! each authorization rule has a test where a second client or user tries to cross it.

use std::collections::HashMap;

use gatehouse_domain::pkce::s256;
use gatehouse_tests::{Request, Response};
use serde_json::Value;

use crate::support::{settings_of, Server};

pub(crate) const WEB_CB: &str = "https://web.example/cb";
const SPA_CB: &str = "http://127.0.0.1:9/cb";
pub(crate) const THIRD_CB: &str = "https://third.example/cb";
pub(crate) const VERIFIER: &str = "verifier-0123456789-abcdefghijklmnopqrstuvwxyz~";
pub(crate) const OTHER_VERIFIER: &str = "verifier-9876543210-abcdefghijklmnopqrstuvwxyz~";

fn clients_doc() -> String {
    format!(
        r#"{{"clients":[
 {{"client_id":"spa","grants":["authorization_code","refresh_token"],"scope":"openid profile","redirect_uris":["{SPA_CB}"]}},
 {{"client_id":"web","client_name":"Web <Example>","secret":"web-secret","grants":["authorization_code","refresh_token","client_credentials","password"],"scope":"openid profile email","redirect_uris":["{WEB_CB}","https://web.example/cb2?tenant=1"]}},
 {{"client_id":"third","secret":"third-secret","grants":["authorization_code"],"scope":"openid profile","redirect_uris":["{THIRD_CB}"],"consent_required":true}}
]}}"#
    )
}

pub(crate) fn import(server: &Server, doc: &str) {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), doc).expect("write");
    gatehouse::cli::import(&settings_of(&server.db), file.path()).expect("import");
}

pub(crate) fn server_with(tweak: impl FnOnce(&mut gatehouse::config::Settings)) -> Server {
    let server = Server::start_with(tweak);
    import(&server, &clients_doc());
    server
}

pub(crate) fn server() -> Server {
    server_with(|_| {})
}

pub(crate) fn enc(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn dec(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() + 1 => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("hex");
                out.push(u8::from_str_radix(hex, 16).expect("hex"));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).expect("utf-8")
}

pub(crate) fn authorize_path(client: &str, redirect: &str, extra: &[(&str, &str)]) -> String {
    let mut path = format!(
        "/oauth2/authorize?response_type=code&client_id={}&redirect_uri={}",
        enc(client),
        enc(redirect)
    );
    for (k, v) in extra {
        path.push_str(&format!("&{k}={}", enc(v)));
    }
    path
}

pub(crate) fn pkce(verifier: &str) -> [(&'static str, String); 2] {
    [
        ("code_challenge", s256(verifier)),
        ("code_challenge_method", "S256".to_owned()),
    ]
}

/// A cookie jar over the raw client.
#[derive(Default, Clone)]
pub(crate) struct Browser {
    pub(crate) cookies: HashMap<String, String>,
}

impl Browser {
    pub(crate) fn send(&mut self, server: &Server, mut request: Request) -> Response {
        if !self.cookies.is_empty() {
            let header: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            request = request.header("Cookie", &header.join("; "));
        }
        let res = server.send(request);
        for (name, value) in &res.headers {
            if name == "set-cookie" {
                let pair = value.split(';').next().unwrap_or_default();
                if let Some((k, v)) = pair.split_once('=') {
                    if v.is_empty() || value.contains("Max-Age=0") {
                        self.cookies.remove(k);
                    } else {
                        self.cookies.insert(k.to_owned(), v.to_owned());
                    }
                }
            }
        }
        res
    }

    pub(crate) fn get(&mut self, server: &Server, path: &str) -> Response {
        self.send(server, Request::get(path))
    }

    pub(crate) fn post(
        &mut self,
        server: &Server,
        path: &str,
        fields: &[(&str, String)],
    ) -> Response {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        self.send(server, Request::post(path).form(&body.join("&")))
    }

    /// Opens `path` (expecting the login form) and submits it with `user` / `password`.
    pub(crate) fn sign_in(
        &mut self,
        server: &Server,
        path: &str,
        user: &str,
        password: &str,
    ) -> Response {
        let page = self.get(server, path);
        assert_eq!(page.status, 200, "{}", page.text());
        let mut fields = hidden_fields(page.text());
        fields.push(("username", user.to_owned()));
        fields.push(("password", password.to_owned()));
        self.post(server, "/oauth2/login", &fields)
    }
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The hidden inputs of the page's form.
pub(crate) fn hidden_fields(html: &str) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for piece in html.split("<input type=\"hidden\" name=\"").skip(1) {
        let (name, rest) = piece.split_once('"').expect("name");
        let value = rest
            .split_once("value=\"")
            .and_then(|(_, v)| v.split_once('"'))
            .map(|(v, _)| unescape(v))
            .unwrap_or_default();
        out.push((&*Box::leak(name.to_owned().into_boxed_str()), value));
    }
    out
}

/// The query parameters of a 303's Location, which must start with `prefix`.
pub(crate) fn redirected(res: &Response, prefix: &str) -> HashMap<String, String> {
    assert_eq!(res.status, 303, "{}", res.text());
    let location = res.header("location").expect("Location");
    assert!(location.starts_with(prefix), "{location}");
    let query = location.split_once('?').map(|(_, q)| q).unwrap_or("");
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_owned(), dec(v)))
        .collect()
}

fn token(server: &Server, request: Request) -> Response {
    let res = server.send(request);
    assert_eq!(res.header("cache-control"), Some("no-store"), "{res:?}");
    assert_eq!(res.header("pragma"), Some("no-cache"));
    assert_eq!(res.header("content-type"), Some("application/json"));
    res
}

pub(crate) fn exchange(server: &Server, client: Option<(&str, &str)>, form: &str) -> Response {
    let request = Request::post("/oauth2/token");
    let request = match client {
        Some((id, secret)) => request.basic(id, secret),
        None => request,
    };
    token(server, request.form(form))
}

pub(crate) fn code_form(code: &str, redirect: &str, verifier: Option<&str>) -> String {
    let mut form = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}",
        enc(code),
        enc(redirect)
    );
    if let Some(v) = verifier {
        form.push_str(&format!("&code_verifier={}", enc(v)));
    }
    form
}

pub(crate) fn introspect_as(server: &Server, id: &str, secret: &str, token: &str) -> Value {
    let res = server.send(
        Request::post("/oauth2/introspect")
            .basic(id, secret)
            .form(&format!("token={}", enc(token))),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()
}

pub(crate) fn error_of(res: &Response) -> String {
    res.json()["error"].as_str().unwrap_or_default().to_owned()
}

/// A code for `web` through the login page (alice), with PKCE.
pub(crate) fn web_code(server: &Server, browser: &mut Browser, verifier: &str) -> String {
    let [c, m] = pkce(verifier);
    let path = authorize_path(
        "web",
        WEB_CB,
        &[("state", "st-1"), (c.0, &c.1), (m.0, &m.1)],
    );
    let res = browser.sign_in(server, &path, "alice", "alice-password-1");
    let q = redirected(&res, WEB_CB);
    assert_eq!(q["state"], "st-1");
    q["code"].clone()
}

#[test]
fn authorization_code_flow_login_page_and_session() {
    let server = server();
    let mut browser = Browser::default();
    let [c, m] = pkce(VERIFIER);
    let path = authorize_path(
        "web",
        WEB_CB,
        &[
            ("scope", "openid email"),
            ("state", "xyz <&>"),
            (c.0, &c.1),
            (m.0, &m.1),
        ],
    );
    // The login page: named product and client, its headers, a pre-login cookie.
    let page = browser.get(&server, &path);
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(html.contains("Gatehouse") && html.contains("<strong>Web &lt;Example&gt;</strong>"));
    assert!(html.contains("name=\"username\"") && html.contains("type=\"password\""));
    assert!(!html.contains("<script"), "no script");
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"));
    assert!(page
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/html")));
    let set = page.header("set-cookie").unwrap_or_default();
    assert!(
        set.starts_with("gatehouse_login=")
            && set.contains("HttpOnly")
            && set.contains("SameSite=Lax")
    );
    assert!(!set.contains("Secure"), "http issuer: no Secure");

    // Submitting it: a session cookie, then the code at the exact redirect URI with state.
    let mut fields = hidden_fields(html);
    fields.push(("username", "alice".into()));
    fields.push(("password", "alice-password-1".into()));
    let res = browser.post(&server, "/oauth2/login", &fields);
    let q = redirected(&res, &format!("{WEB_CB}?"));
    assert_eq!(q["state"], "xyz <&>");
    assert_eq!(q["iss"], format!("http://{}", server.addr), "RFC 9207");
    let set = res
        .headers
        .iter()
        .find(|(k, v)| k == "set-cookie" && v.starts_with("gatehouse_session="))
        .map(|(_, v)| v.clone())
        .expect("session cookie");
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"));
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let code = q["code"].clone();

    // The exchange: RFC 6749 5.1 members only, scope as granted.
    let res = exchange(
        &server,
        Some(("web", "web-secret")),
        &code_form(&code, WEB_CB, Some(VERIFIER)),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    let v = res.json();
    let keys = crate::support::json_keys(res.text());
    assert_eq!(
        keys,
        [
            "access_token",
            "token_type",
            "expires_in",
            "refresh_token",
            "scope",
            "id_token"
        ]
    );
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["scope"], "openid email");
    let access = v["access_token"].as_str().unwrap_or_default().to_owned();
    let info = introspect_as(&server, "web", "web-secret", &access);
    assert_eq!(info["active"], true);
    assert_eq!(info["username"], "alice");
    assert_eq!(info["client_id"], "web");
    assert_eq!(info["token_type"], "Bearer");
    assert_eq!(info["scope"], "openid email");

    // A second authorization in the same browser skips the form.
    let res = browser.get(
        &server,
        &authorize_path("web", WEB_CB, &[(c.0, &c.1), (m.0, &m.1)]),
    );
    let q = redirected(&res, WEB_CB);
    assert!(q.contains_key("code") && !q.contains_key("state"));
    // prompt=login forces it.
    let res = browser.get(
        &server,
        &authorize_path(
            "web",
            WEB_CB,
            &[("prompt", "login"), (c.0, &c.1), (m.0, &m.1)],
        ),
    );
    assert_eq!(res.status, 200);
    assert!(res.text().contains("name=\"password\""));
    // Another registered URI with its own query keeps it.
    let res = browser.get(
        &server,
        &authorize_path(
            "web",
            "https://web.example/cb2?tenant=1",
            &[(c.0, &c.1), (m.0, &m.1)],
        ),
    );
    let q = redirected(&res, "https://web.example/cb2?tenant=1&code=");
    assert!(q.contains_key("code"));
    // Signing in again (prompt=login, as bob) replaces alice's session: her cookie is dead.
    let alice_session = browser.cookies.get("gatehouse_session").cloned();
    let path = authorize_path(
        "web",
        WEB_CB,
        &[("prompt", "login"), (c.0, &c.1), (m.0, &m.1)],
    );
    let res = browser.sign_in(&server, &path, "bob", "bob-password-1");
    let code = redirected(&res, WEB_CB)["code"].clone();
    let res = exchange(
        &server,
        Some(("web", "web-secret")),
        &code_form(&code, WEB_CB, Some(VERIFIER)),
    );
    let access = res.json()["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        introspect_as(&server, "web", "web-secret", &access)["username"],
        "bob"
    );
    let mut old = Browser::default();
    old.cookies.insert(
        "gatehouse_session".into(),
        alice_session.expect("alice's cookie"),
    );
    let res = old.get(
        &server,
        &authorize_path(
            "web",
            WEB_CB,
            &[("prompt", "none"), (c.0, &c.1), (m.0, &m.1)],
        ),
    );
    assert_eq!(redirected(&res, WEB_CB)["error"], "login_required");
}

#[test]
fn public_client_pkce_refresh_and_v1_exchange() {
    let server = server();
    let mut browser = Browser::default();
    let [c, m] = pkce(VERIFIER);
    let path = authorize_path("spa", SPA_CB, &[(c.0, &c.1), (m.0, &m.1)]);
    let res = browser.sign_in(&server, &path, "bob", "bob-password-1");
    let code = redirected(&res, SPA_CB)["code"].clone();
    // Missing verifier for a public client: refused, code kept.
    let res = exchange(
        &server,
        None,
        &format!("client_id=spa&{}", code_form(&code, SPA_CB, None)),
    );
    assert_eq!((res.status, error_of(&res)), (400, "invalid_grant".into()));
    // Wrong verifier: refused.
    let res = exchange(
        &server,
        None,
        &format!(
            "client_id=spa&{}",
            code_form(&code, SPA_CB, Some(OTHER_VERIFIER))
        ),
    );
    assert_eq!((res.status, error_of(&res)), (400, "invalid_grant".into()));
    // Wrong redirect URI: refused.
    let res = exchange(
        &server,
        None,
        &format!(
            "client_id=spa&{}",
            code_form(&code, "http://127.0.0.1:9/other", Some(VERIFIER))
        ),
    );
    assert_eq!((res.status, error_of(&res)), (400, "invalid_grant".into()));
    // The right one works: a public client authenticates by its id alone.
    let res = exchange(
        &server,
        None,
        &format!("client_id=spa&{}", code_form(&code, SPA_CB, Some(VERIFIER))),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    let refresh = res.json()["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // Refresh at /oauth2/token, rotation: the new pair has a refresh token.
    let res = exchange(
        &server,
        None,
        &format!(
            "grant_type=refresh_token&client_id=spa&refresh_token={}",
            enc(&refresh)
        ),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(res.json()["refresh_token"].is_string());

    // A public client without PKCE, and plain PKCE, are refused at the authorization
    // endpoint (redirected, with state).
    let res = browser.get(&server, &authorize_path("spa", SPA_CB, &[("state", "s1")]));
    let q = redirected(&res, SPA_CB);
    assert_eq!(
        q["iss"],
        format!("http://{}", server.addr),
        "RFC 9207 on errors too"
    );
    assert_eq!(
        (q["error"].as_str(), q["state"].as_str()),
        ("invalid_request", "s1")
    );
    let res = browser.get(
        &server,
        &authorize_path(
            "spa",
            SPA_CB,
            &[
                ("state", "s2"),
                ("code_challenge", VERIFIER),
                ("code_challenge_method", "plain"),
            ],
        ),
    );
    let q = redirected(&res, SPA_CB);
    assert_eq!(q["error"], "invalid_request");
    assert!(q["error_description"].contains("S256"), "{q:?}");
    // A challenge without a method means plain: refused too.
    let res = browser.get(
        &server,
        &authorize_path("spa", SPA_CB, &[("code_challenge", &s256(VERIFIER))]),
    );
    assert_eq!(redirected(&res, SPA_CB)["error"], "invalid_request");

    // v1 checks the same bindings: demo-client's code through the page, exchanged at v1.
    let [c, m] = pkce(OTHER_VERIFIER);
    let res = browser.get(
        &server,
        &authorize_path(
            "demo-client",
            "https://app.example/callback",
            &[(c.0, &c.1), (m.0, &m.1)],
        ),
    );
    let code = redirected(&res, "https://app.example/callback")["code"].clone();
    let v1 = |form: String| {
        server.send(
            Request::post("/api/v1/auth/token")
                .basic("demo-client", "demo-secret")
                .form(&form),
        )
    };
    let res = v1(format!("grant_type=authorization_code&code={}", enc(&code)));
    assert_eq!((res.status, error_of(&res)), (400, "invalid_grant".into()));
    let res = v1(code_form(
        &code,
        "https://app.example/callback",
        Some(VERIFIER),
    ));
    assert_eq!((res.status, error_of(&res)), (400, "invalid_grant".into()));
    let res = v1(code_form(
        &code,
        "https://app.example/callback",
        Some(OTHER_VERIFIER),
    ));
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["scope"], "openid profile");
}

#[test]
fn a_wrong_redirect_uri_is_shown_never_redirected() {
    let server = server();
    let mut browser = Browser::default();
    let [c, m] = pkce(VERIFIER);
    let cases = [
        authorize_path(
            "web",
            "https://evil.example/cb",
            &[(c.0, &c.1), (m.0, &m.1)],
        ),
        authorize_path("web", "https://web.example/cb/", &[]),
        authorize_path("web", "https://web.example/CB", &[]),
        authorize_path("web", "https://web.example/cb?x=1", &[]),
        authorize_path("web", "https://web.example/cb2", &[]),
        authorize_path("web", "https://web.example/cb#f", &[]),
        // Another client's registered URI.
        authorize_path("web", THIRD_CB, &[]),
        authorize_path("nobody", WEB_CB, &[]),
        "/oauth2/authorize?response_type=code&client_id=web".to_owned(),
        format!(
            "/oauth2/authorize?response_type=code&redirect_uri={}",
            enc(WEB_CB)
        ),
        format!(
            "/oauth2/authorize?response_type=code&client_id=web&redirect_uri={}&redirect_uri={}",
            enc(WEB_CB),
            enc("https://evil.example/cb")
        ),
        "/oauth2/authorize?client_id=%zz".to_owned(),
    ];
    for path in cases {
        let res = browser.get(&server, &path);
        assert_eq!(res.status, 400, "{path}: {}", res.text());
        assert!(res.header("location").is_none(), "{path}");
        assert!(res.text().contains("cannot be completed"), "{path}");
        assert_eq!(res.header("x-frame-options"), Some("DENY"));
    }
    // Once the redirect URI is trusted, errors go back to it: response_type, scope, repeats.
    let res = browser.get(
        &server,
        &format!(
            "{}&state=q",
            authorize_path("web", WEB_CB, &[]).replace("response_type=code", "response_type=token")
        ),
    );
    let q = redirected(&res, WEB_CB);
    assert_eq!(
        (q["error"].as_str(), q["state"].as_str()),
        ("unsupported_response_type", "q")
    );
    let res = browser.get(
        &server,
        &authorize_path("web", WEB_CB, &[("scope", "openid admin"), ("state", "q")]),
    );
    let q = redirected(&res, WEB_CB);
    assert_eq!(
        (q["error"].as_str(), q["state"].as_str()),
        ("invalid_scope", "q")
    );
    let res = browser.get(
        &server,
        &authorize_path("web", WEB_CB, &[("response_mode", "form_post")]),
    );
    assert_eq!(redirected(&res, WEB_CB)["error"], "invalid_request");
    let res = browser.get(
        &server,
        &authorize_path("web", WEB_CB, &[("scope", "a"), ("scope", "b")]),
    );
    assert_eq!(redirected(&res, WEB_CB)["error"], "invalid_request");
    // A client without the grant.
    import(
        &server,
        r#"{"clients":[{"client_id":"cc","secret":"cc-secret","grants":["client_credentials"],"redirect_uris":["https://cc.example/cb"]}]}"#,
    );
    let res = browser.get(&server, &authorize_path("cc", "https://cc.example/cb", &[]));
    assert_eq!(
        redirected(&res, "https://cc.example/cb")["error"],
        "unauthorized_client"
    );
}

#[test]
fn codes_are_bound_to_their_client_and_a_replay_revokes_what_it_produced() {
    let server = server();
    let mut browser = Browser::default();
    let code = web_code(&server, &mut browser, VERIFIER);
    // Another client presents it, with everything else right: refused, the code survives.
    let res = exchange(
        &server,
        Some(("demo-client", "demo-secret")),
        &code_form(&code, WEB_CB, Some(VERIFIER)),
    );
    assert_eq!((res.status, error_of(&res)), (400, "invalid_grant".into()));
    let res = exchange(
        &server,
        None,
        &format!("client_id=spa&{}", code_form(&code, WEB_CB, Some(VERIFIER))),
    );
    assert_eq!((res.status, error_of(&res)), (400, "invalid_grant".into()));
    // A wrong secret for the right client: 401 with WWW-Authenticate.
    let res = exchange(
        &server,
        Some(("web", "nope")),
        &code_form(&code, WEB_CB, Some(VERIFIER)),
    );
    assert_eq!((res.status, error_of(&res)), (401, "invalid_client".into()));
    assert!(res
        .header("www-authenticate")
        .is_some_and(|v| v.starts_with("Basic")));
    // A verifier for a code issued without a challenge is refused (PKCE downgrade).
    let path = authorize_path("web", WEB_CB, &[]);
    let res = browser.get(&server, &path);
    let plain_code = redirected(&res, WEB_CB)["code"].clone();
    let res = exchange(
        &server,
        Some(("web", "web-secret")),
        &code_form(&plain_code, WEB_CB, Some(VERIFIER)),
    );
    assert_eq!((res.status, error_of(&res)), (400, "invalid_grant".into()));
    // The rightful exchange.
    let res = exchange(
        &server,
        Some(("web", "web-secret")),
        &code_form(&code, WEB_CB, Some(VERIFIER)),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    let v = res.json();
    let access = v["access_token"].as_str().unwrap_or_default().to_owned();
    let refresh = v["refresh_token"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        introspect_as(&server, "web", "web-secret", &access)["active"],
        true
    );
    // Replayed: refused, and the tokens of the first exchange are dead.
    let res = exchange(
        &server,
        Some(("web", "web-secret")),
        &code_form(&code, WEB_CB, Some(VERIFIER)),
    );
    assert_eq!((res.status, error_of(&res)), (400, "invalid_grant".into()));
    assert_eq!(
        introspect_as(&server, "web", "web-secret", &access)["active"],
        false
    );
    assert_eq!(
        introspect_as(&server, "web", "web-secret", &refresh)["active"],
        false
    );
}

#[test]
fn login_form_csrf_wrong_password_and_lockout() {
    let server = server_with(|a| a.lockout_initial_delay = 600);
    let [c, m] = pkce(VERIFIER);
    let path = authorize_path("web", WEB_CB, &[(c.0, &c.1), (m.0, &m.1)]);
    let mut browser = Browser::default();
    let page = browser.get(&server, &path);
    let fields = hidden_fields(page.text());
    let with = |mut f: Vec<(&'static str, String)>, csrf: Option<&str>, user: &str, pw: &str| {
        f.retain(|(k, _)| *k != "csrf_token");
        if let Some(c) = csrf {
            f.push(("csrf_token", c.to_owned()));
        }
        f.push(("username", user.to_owned()));
        f.push(("password", pw.to_owned()));
        f
    };
    let csrf = fields
        .iter()
        .find(|(k, _)| *k == "csrf_token")
        .map(|(_, v)| v.clone())
        .expect("csrf field");
    let base = gatehouse_tests::metric(server.addr, "gatehouse_password_hashes_total");
    // Missing CSRF token: refused, no session.
    let res = browser.post(
        &server,
        "/oauth2/login",
        &with(fields.clone(), None, "alice", "alice-password-1"),
    );
    assert_eq!(res.status, 403, "{}", res.text());
    assert!(res.header("location").is_none());
    assert!(!browser.cookies.contains_key("gatehouse_session"));
    // A token from another browser (the attacker's own form) with this browser's cookie.
    let mut attacker = Browser::default();
    let theirs = hidden_fields(attacker.get(&server, &path).text())
        .into_iter()
        .find(|(k, _)| *k == "csrf_token")
        .map(|(_, v)| v)
        .expect("csrf");
    assert_ne!(theirs, csrf);
    let res = browser.post(
        &server,
        "/oauth2/login",
        &with(fields.clone(), Some(&theirs), "alice", "alice-password-1"),
    );
    assert_eq!(res.status, 403, "{}", res.text());
    // The right token, but no pre-login cookie (a cross-site post carries none).
    let mut bare = Browser::default();
    let res = bare.post(
        &server,
        "/oauth2/login",
        &with(fields.clone(), Some(&csrf), "alice", "alice-password-1"),
    );
    assert_eq!(res.status, 403, "{}", res.text());
    assert!(!bare.cookies.contains_key("gatehouse_session"));
    assert_eq!(
        gatehouse_tests::metric(server.addr, "gatehouse_password_hashes_total"),
        base,
        "a refused form costs no hash"
    );

    // A wrong password and an unknown user read the same.
    let res = browser.post(
        &server,
        "/oauth2/login",
        &with(fields.clone(), Some(&csrf), "alice", "wrong"),
    );
    assert_eq!(res.status, 400);
    assert!(res
        .text()
        .contains("The user name or password is incorrect."));
    assert!(res.text().contains("value=\"alice\""), "the name is kept");
    let hashes = |server: &Server| {
        gatehouse_tests::metric(server.addr, "gatehouse_password_hashes_total").expect("counter")
    };
    let before = hashes(&server);
    let res = browser.post(
        &server,
        "/oauth2/login",
        &with(fields.clone(), Some(&csrf), "nobody", "wrong"),
    );
    assert_eq!(
        hashes(&server) - before,
        1.0,
        "an unknown user costs one full hash"
    );
    assert_eq!(res.status, 400);
    assert!(res
        .text()
        .contains("The user name or password is incorrect."));
    // Four more failures for alice lock her account everywhere, the right password included.
    for _ in 0..4 {
        browser.post(
            &server,
            "/oauth2/login",
            &with(fields.clone(), Some(&csrf), "alice", "wrong"),
        );
    }
    let res = browser.post(
        &server,
        "/oauth2/login",
        &with(fields.clone(), Some(&csrf), "alice", "alice-password-1"),
    );
    assert_eq!(res.status, 429, "{}", res.text());
    assert!(res.text().contains("Too many failed sign-in attempts"));
    assert!(res.header("retry-after").is_some());
    assert!(!browser.cookies.contains_key("gatehouse_session"));
    let res = server.send(
        Request::post("/api/v1/auth/token")
            .basic("demo-client", "demo-secret")
            .form("grant_type=password&username=alice&password=alice-password-1"),
    );
    assert_eq!(res.status, 429, "the page's failures count at v1 too");
}

#[test]
fn prompt_none_consent_logout_and_disabled_users() {
    let server = server();
    let mut browser = Browser::default();
    let [c, m] = pkce(VERIFIER);
    let pk = [(c.0, c.1.as_str()), (m.0, m.1.as_str())];
    // prompt=none without a session: login_required, with state.
    let mut extra = vec![("prompt", "none"), ("state", "n1")];
    extra.extend(pk);
    let res = browser.get(&server, &authorize_path("web", WEB_CB, &extra));
    let q = redirected(&res, WEB_CB);
    assert_eq!(
        (q["error"].as_str(), q["state"].as_str()),
        ("login_required", "n1")
    );

    // The consent page of a consent_required client lists the scope; its form is bound to
    // the session.
    let res = browser.sign_in(
        &server,
        &authorize_path("third", THIRD_CB, &[("state", "t")]),
        "bob",
        "bob-password-1",
    );
    assert_eq!(res.status, 200, "{}", res.text());
    let html = res.text().to_owned();
    assert!(html.contains("<code>openid</code>") && html.contains("<code>profile</code>"));
    assert!(html.contains("<strong>third</strong>") && html.contains("<strong>bob</strong>"));
    let fields = hidden_fields(&html);
    let deny: Vec<_> = fields
        .iter()
        .cloned()
        .chain([("decision", "deny".to_owned())])
        .collect();
    let res = browser.post(&server, "/oauth2/consent", &deny);
    let q = redirected(&res, THIRD_CB);
    assert_eq!(
        (q["error"].as_str(), q["state"].as_str()),
        ("access_denied", "t")
    );
    // Someone else's consent token (another session) is refused.
    let mut other = Browser::default();
    let res = other.sign_in(
        &server,
        &authorize_path("third", THIRD_CB, &[]),
        "alice",
        "alice-password-1",
    );
    let their_fields = hidden_fields(res.text());
    let foreign: Vec<_> = their_fields
        .iter()
        .cloned()
        .chain([("decision", "allow".to_owned())])
        .collect();
    let res = browser.post(&server, "/oauth2/consent", &foreign);
    assert_eq!(res.status, 403, "{}", res.text());
    let allow: Vec<_> = fields
        .iter()
        .cloned()
        .chain([("decision", "allow".to_owned())])
        .collect();
    let res = browser.post(&server, "/oauth2/consent", &allow);
    let code = redirected(&res, THIRD_CB)["code"].clone();
    let res = exchange(
        &server,
        Some(("third", "third-secret")),
        &code_form(&code, THIRD_CB, None),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(
        res.json().get("refresh_token").is_none(),
        "third has no refresh grant"
    );
    // prompt=none with a session but consent needed: consent_required.
    let res = browser.get(
        &server,
        &authorize_path("third", THIRD_CB, &[("prompt", "none")]),
    );
    assert_eq!(redirected(&res, THIRD_CB)["error"], "consent_required");
    // prompt=none with a session, first-party client: a code without any page.
    let mut extra = vec![("prompt", "none")];
    extra.extend(pk);
    let res = browser.get(&server, &authorize_path("web", WEB_CB, &extra));
    assert!(redirected(&res, WEB_CB).contains_key("code"));

    // Logout ends the session: the form is back.
    let res = browser.get(&server, "/oauth2/logout");
    assert_eq!(res.status, 200);
    let session = browser
        .cookies
        .get("gatehouse_session")
        .cloned()
        .expect("session");
    // A POST without the confirmation form's token only shows the confirmation again.
    let res = browser.send(&server, Request::post("/oauth2/logout"));
    assert_eq!(res.status, 200);
    assert!(browser.cookies.contains_key("gatehouse_session"));
    let fields = hidden_fields(res.text());
    let res = browser.post(&server, "/oauth2/logout", &fields);
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(!browser.cookies.contains_key("gatehouse_session"));
    // Even the old cookie value is dead server-side.
    browser.cookies.insert("gatehouse_session".into(), session);
    let res = browser.get(&server, &authorize_path("web", WEB_CB, &extra));
    assert_eq!(redirected(&res, WEB_CB)["error"], "login_required");

    // Disabling a user ends their browser sessions.
    let res = other.get(&server, &authorize_path("web", WEB_CB, &extra));
    assert!(
        redirected(&res, WEB_CB).contains_key("code"),
        "alice's session is live"
    );
    gatehouse::cli::user_disable(&settings_of(&server.db), "alice").expect("disable");
    let res = other.get(&server, &authorize_path("web", WEB_CB, &extra));
    assert_eq!(redirected(&res, WEB_CB)["error"], "login_required");
}

#[test]
fn token_endpoint_speaks_rfc_6749_exactly() {
    let server = server();
    // client_credentials: no refresh_token member at all.
    let res = exchange(
        &server,
        Some(("web", "web-secret")),
        "grant_type=client_credentials&scope=email",
    );
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        crate::support::json_keys(res.text()),
        ["access_token", "token_type", "expires_in", "scope"]
    );
    assert!(!res.text().contains("null"));
    // client_secret_post works too.
    let res = token(
        &server,
        Request::post("/oauth2/token")
            .form("grant_type=client_credentials&client_id=web&client_secret=web-secret"),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    // password grant, with a refresh token.
    let res = exchange(
        &server,
        Some(("web", "web-secret")),
        "grant_type=password&username=alice&password=alice-password-1",
    );
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(res.json()["refresh_token"].is_string());
    // A client without the password grant.
    let res = exchange(
        &server,
        None,
        "grant_type=password&client_id=spa&username=alice&password=alice-password-1",
    );
    assert_eq!(
        (res.status, error_of(&res)),
        (400, "unauthorized_client".into())
    );
    // A public client cannot use client credentials.
    let res = exchange(&server, None, "grant_type=client_credentials&client_id=spa");
    assert_eq!(
        (res.status, error_of(&res)),
        (400, "unauthorized_client".into())
    );
    // Errors.
    for (client, form, status, error) in [
        (
            Some(("web", "wrong")),
            "grant_type=client_credentials",
            401,
            "invalid_client",
        ),
        (
            Some(("nobody", "x")),
            "grant_type=client_credentials",
            401,
            "invalid_client",
        ),
        (None, "grant_type=client_credentials", 401, "invalid_client"),
        (
            Some(("web", "web-secret")),
            "grant_type=implicit",
            400,
            "unsupported_grant_type",
        ),
        (
            Some(("web", "web-secret")),
            "scope=openid",
            400,
            "invalid_request",
        ),
        (
            Some(("web", "web-secret")),
            "grant_type=client_credentials&scope=admin",
            400,
            "invalid_scope",
        ),
        (
            Some(("web", "web-secret")),
            "grant_type=authorization_code",
            400,
            "invalid_request",
        ),
        (
            Some(("web", "web-secret")),
            "grant_type=authorization_code&code=nope",
            400,
            "invalid_grant",
        ),
        (
            Some(("web", "web-secret")),
            "grant_type=refresh_token&refresh_token=nope",
            400,
            "invalid_grant",
        ),
        (
            Some(("web", "web-secret")),
            "grant_type=password&username=alice&password=bad",
            400,
            "invalid_grant",
        ),
        (
            Some(("web", "web-secret")),
            "grant_type=client_credentials&client_secret=web-secret",
            400,
            "invalid_request",
        ),
    ] {
        let res = exchange(&server, client, form);
        assert_eq!(
            (res.status, error_of(&res)),
            (status, error.to_owned()),
            "{form}: {}",
            res.text()
        );
        if status == 401 {
            assert!(
                res.header("www-authenticate")
                    .is_some_and(|v| v.starts_with("Basic")),
                "{form}"
            );
        }
        let v = res.json();
        assert!(v
            .as_object()
            .is_some_and(|o| o.keys().all(|k| k == "error" || k == "error_description")));
    }
    // GET is not a token request.
    let res = server.send(Request::get("/oauth2/token"));
    assert_eq!(res.status, 405);
}

#[test]
fn metadata_comes_from_the_issuer() {
    let server = server();
    let res = server.send(
        Request::get("/.well-known/oauth-authorization-server")
            .header("X-Forwarded-Host", "evil.example"),
    );
    assert_eq!(res.status, 200);
    assert!(res.header("cache-control").is_some());
    let v = res.json();
    let issuer = format!("http://{}", server.addr);
    assert_eq!(v["issuer"], issuer.as_str());
    assert_eq!(
        v["authorization_endpoint"],
        format!("{issuer}/oauth2/authorize")
    );
    assert_eq!(v["token_endpoint"], format!("{issuer}/oauth2/token"));
    assert_eq!(v["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        v["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    // The demo client has keys: private_key_jwt is on (client_jwt.rs turns it off).
    assert_eq!(
        v["introspection_endpoint_auth_methods_supported"],
        serde_json::json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ])
    );
    let scopes = v["scopes_supported"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(scopes.contains(&Value::from("email")) && scopes.contains(&Value::from("openid")));

    // A configured https issuer: metadata says so, cookies are Secure with __Host-.
    let server = server_with(|a| a.issuer = Some("https://login.example/".into()));
    let v = server
        .send(Request::get("/.well-known/oauth-authorization-server"))
        .json();
    assert_eq!(v["issuer"], "https://login.example");
    assert_eq!(
        v["revocation_endpoint"],
        "https://login.example/oauth2/revoke"
    );
    let res = server.send(Request::get(&authorize_path("web", WEB_CB, &[])));
    let set = res.header("set-cookie").unwrap_or_default();
    assert!(
        set.starts_with("__Host-gatehouse_login=") && set.contains("; Secure"),
        "{set}"
    );

    // Revocation answers {} as JSON.
    let res = server.send(
        Request::post("/oauth2/revoke")
            .basic("web", "web-secret")
            .form("token=unknown"),
    );
    assert_eq!((res.status, res.text()), (200, "{}"));
    assert!(res
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/json")));
}

/// A loopback page for the browser to land on after the redirect: answers every request with
/// a small page and records the request targets.
struct RedirectTarget {
    port: u16,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RedirectTarget {
    fn start() -> Self {
        use std::io::{BufRead as _, BufReader, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (seen2, stop2) = (seen.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                loop {
                    let mut header = String::new();
                    match reader.read_line(&mut header) {
                        Ok(0) | Err(_) => break,
                        Ok(_) if header == "\r\n" => break,
                        Ok(_) => {}
                    }
                }
                if let Some(target) = line.split(' ').nth(1) {
                    seen2
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(target.to_owned());
                }
                let body = "<!DOCTYPE html><title>Signed in</title><p>Signed in.</p>";
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self {
            port,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for RedirectTarget {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The authorization-code flow with PKCE in Debian's headless Chromium, driven by selenium,
/// with Authlib as the client: discovery and RFC 8414 validation, the login page (a wrong
/// password first), the exchange, introspection, a second authorization without the form, a
/// public client, refresh, revocation, client credentials and password. Saves the login
/// page's screenshot as docs/login.png.
#[test]
fn browser_flow_with_authlib() {
    use gatehouse_tests::external::{chromium, require, Piece};
    let test = "standard::browser_flow_with_authlib";
    let Some(python) = require(Piece::Python, test) else {
        return;
    };
    let Some(chromedriver) = require(Piece::Browser, test) else {
        return;
    };
    let server = Server::start();
    let target = RedirectTarget::start();
    let redirect = format!("http://127.0.0.1:{}/callback", target.port);
    import(
        &server,
        &format!(
            r#"{{"clients":[
 {{"client_id":"authlib-web","client_name":"Example App","secret":"authlib-secret","grants":["authorization_code","refresh_token","client_credentials","password"],"scope":"openid profile email","redirect_uris":["{redirect}"]}},
 {{"client_id":"authlib-spa","grants":["authorization_code","refresh_token"],"scope":"openid","redirect_uris":["{redirect}"]}}
]}}"#
        ),
    );
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    let screenshot = root.join("docs/login.png");
    let config = serde_json::json!({
        "issuer": format!("http://{}", server.addr),
        "redirect_uri": redirect,
        "web": ["authlib-web", "authlib-secret"],
        "spa": "authlib-spa",
        "chromium": chromium(),
        "chromedriver": chromedriver,
        "screenshot": screenshot,
    });
    let out = std::process::Command::new(&python)
        .arg(root.join("tests/clients/authlib_flow.py"))
        .arg(config.to_string())
        .env("HOME", std::env::temp_dir())
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("OK metadata validated"),
        "authlib_flow.py failed:\n{stdout}\n{stderr}"
    );
    eprintln!("{}", stdout.trim());
    // The browser landed on the redirect target with codes, never with an error.
    let seen = target.seen();
    let codes = seen
        .iter()
        .filter(|t| t.starts_with("/callback?code="))
        .count();
    assert!(codes >= 3, "{seen:?}");
    assert!(!seen.iter().any(|t| t.contains("error=")), "{seen:?}");
    let png = std::fs::read(&screenshot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
}

/// openid-client 6 (npm, pinned) against the standards surface: RFC 8414 discovery, the code
/// flow with PKCE for a confidential and a public client (the login form submitted with
/// fetch), a replayed code and a swapped verifier refused, introspection, password, refresh,
/// revocation, RFC 8693 token exchange with `genericGrantRequest` (and `invalid_target` for an
/// audience off the allow-list), client credentials without a refresh_token member, a wrong
/// secret.
#[test]
fn openid_client_6() {
    use gatehouse_tests::external::{require, Piece};
    let Some(node_dir) = require(Piece::Node, "standard::openid_client_6") else {
        return;
    };
    let server = server();
    let redirect = "http://127.0.0.1:9/openid-client";
    import(
        &server,
        &format!(
            r#"{{"clients":[
 {{"client_id":"oidc-web","secret":"oidc-secret","grants":["authorization_code","refresh_token","client_credentials","password","token_exchange"],"scope":"openid profile email","redirect_uris":["{redirect}"],"token_exchange_audiences":["oidc-api"]}},
 {{"client_id":"oidc-spa","grants":["authorization_code","refresh_token"],"scope":"profile","redirect_uris":["{redirect}"]}}
]}}"#
        ),
    );
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    // ES modules resolve packages from their own directory: run the script from node_dir.
    let script = node_dir.join("gatehouse-openid-client-flow.mjs");
    std::fs::copy(root.join("tests/clients/openid_client_flow.mjs"), &script).expect("copy");
    let config = serde_json::json!({
        "issuer": format!("http://{}", server.addr),
        "redirect_uri": redirect,
        "web": ["oidc-web", "oidc-secret"],
        "spa": "oidc-spa",
        "audience": "oidc-api",
    });
    let out = std::process::Command::new("node")
        .arg(&script)
        .arg(config.to_string())
        .current_dir(&node_dir)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("OK discovery"),
        "openid_client_flow.mjs failed:\n{stdout}\n{stderr}"
    );
    eprintln!("{}", stdout.trim());
}

#[test]
fn hostile_inputs_get_clear_errors_never_500() {
    let server = server();
    // Token endpoint: wrong media type, broken Basic, repeated keys, oversized body.
    let res = token(
        &server,
        Request::post("/oauth2/token")
            .basic("web", "web-secret")
            .xml("<grant_type>client_credentials</grant_type>"),
    );
    assert_eq!(
        (res.status, error_of(&res)),
        (415, "invalid_request".into())
    );
    let res = token(
        &server,
        Request::post("/oauth2/token")
            .header("Authorization", "Basic !!!not-base64")
            .form("grant_type=client_credentials"),
    );
    assert_eq!((res.status, error_of(&res)), (401, "invalid_client".into()));
    let res = exchange(
        &server,
        Some(("web", "web-secret")),
        "grant_type=client_credentials&grant_type=password",
    );
    assert_eq!(
        (res.status, error_of(&res)),
        (400, "invalid_request".into())
    );
    let big = format!("grant_type=client_credentials&scope={}", "a".repeat(70_000));
    let res = exchange(&server, Some(("web", "web-secret")), &big);
    assert_eq!(
        (res.status, error_of(&res)),
        (413, "invalid_request".into())
    );
    let res = exchange(&server, Some(("web", "web-secret")), "\u{0}\u{1}=%ff");
    assert_eq!(res.status, 400, "{}", res.text());
    // Case-insensitive paths as everywhere else.
    let res = exchange_path(&server, "/OAuth2/Token/", "grant_type=client_credentials");
    assert_eq!(res.status, 200, "{}", res.text());

    // Authorization endpoint and forms.
    let long_state = "s".repeat(5000);
    let res = server.send(Request::get(&authorize_path(
        "web",
        WEB_CB,
        &[("state", &long_state)],
    )));
    assert_eq!(redirected(&res, WEB_CB)["error"], "invalid_request");
    let res = server.send(Request::post("/oauth2/login").json("{}"));
    assert_eq!(res.status, 415);
    assert!(res.text().contains("application/x-www-form-urlencoded"));
    let res = server.send(Request::post("/oauth2/login").form("%zz"));
    assert_eq!(res.status, 400);
    let res = server.send(Request::post("/oauth2/login").form(""));
    assert_eq!(res.status, 400, "no client: a page");
    let res = server.send(Request::post("/oauth2/consent").form("client_id=web"));
    assert_eq!(res.status, 400);
    let res = server.send(Request::get(
        "/oauth2/authorize?client_id=web&redirect_uri=%F0%28",
    ));
    assert_eq!(res.status, 400);
    for (method, path) in [
        ("PUT", "/oauth2/authorize"),
        ("GET", "/oauth2/login"),
        ("DELETE", "/oauth2/logout"),
    ] {
        let res = gatehouse_tests::send_raw(
            server.addr,
            format!("{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .expect("answered");
        assert_eq!(res.status, 405, "{method} {path}");
        assert!(res.header("allow").is_some());
    }
    // Logout without a session is harmless.
    let res = server.send(Request::post("/oauth2/logout"));
    assert_eq!(res.status, 200);
}

fn exchange_path(server: &Server, path: &str, form: &str) -> Response {
    token(
        server,
        Request::post(path).basic("web", "web-secret").form(form),
    )
}

/// Every secret of the standards surface (passwords, client secrets, codes, verifiers, CSRF
/// tokens, cookies, access and refresh tokens) stays out of TRACE logs of every target.
#[test]
fn trace_logs_of_the_standards_surface_hold_no_secret() {
    let logs = crate::security::capture_logs();
    let server = server();
    let mut secrets: Vec<String> = [
        "alice-password-1",
        "wrong-password-4Rt",
        "web-secret",
        VERIFIER,
    ]
    .map(str::to_owned)
    .to_vec();
    let mut browser = Browser::default();
    let [c, m] = pkce(VERIFIER);
    let path = authorize_path("web", WEB_CB, &[("state", "st"), (c.0, &c.1), (m.0, &m.1)]);
    let page = browser.get(&server, &path);
    let mut fields = hidden_fields(page.text());
    secrets.extend(
        fields
            .iter()
            .filter(|(k, _)| *k == "csrf_token")
            .map(|(_, v)| v.clone()),
    );
    let wrong = [
        ("username", "alice".to_owned()),
        ("password", "wrong-password-4Rt".to_owned()),
    ];
    browser.post(
        &server,
        "/oauth2/login",
        &[fields.clone(), wrong.to_vec()].concat(),
    );
    fields.push(("username", "alice".into()));
    fields.push(("password", "alice-password-1".into()));
    let res = browser.post(&server, "/oauth2/login", &fields);
    let code = redirected(&res, WEB_CB)["code"].clone();
    secrets.push(code.clone());
    secrets.extend(browser.cookies.values().cloned());
    let res = exchange(
        &server,
        Some(("web", "web-secret")),
        &code_form(&code, WEB_CB, Some(VERIFIER)),
    );
    let v = res.json();
    for k in ["access_token", "refresh_token"] {
        secrets.push(v[k].as_str().unwrap_or_default().to_owned());
    }
    // The replay and a refused exchange log too.
    exchange(
        &server,
        Some(("web", "web-secret")),
        &code_form(&code, WEB_CB, Some(VERIFIER)),
    );
    exchange(
        &server,
        Some(("web", "wrong-password-4Rt")),
        "grant_type=client_credentials",
    );
    let page = browser.send(&server, Request::post("/oauth2/logout"));
    let fields = hidden_fields(page.text());
    browser.post(&server, "/oauth2/logout", &fields);
    drop(server);
    let text = logs.contents();
    assert!(text.contains("browser session opened"), "logs captured");
    let leaked: Vec<&String> = secrets
        .iter()
        .filter(|s| !s.is_empty() && text.contains(s.as_str()))
        .collect();
    assert!(leaked.is_empty(), "secrets in the logs: {leaked:?}");
    let shaped = crate::security::token_shaped(&text);
    assert!(
        shaped.is_empty(),
        "token-shaped strings in the logs: {shaped:?}"
    );
}
