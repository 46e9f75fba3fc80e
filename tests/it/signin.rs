//! Codes that die with their sign-in, and code floods (issue 19 items 1, 2 and 4), end to end:
//! the real server on its SQLite file, a cookie-keeping "browser" per browser session, and a
//! second browser session or user trying to cross each rule. The same rules run on both
//! backends in the storage suite (`authorize::*`).

use gatehouse_tests::{Request, Response};

use crate::standard::{
    authorize_path, code_form, error_of, exchange, hidden_fields, import, introspect_as, pkce,
    redirected, server, web_code, Browser, VERIFIER, WEB_CB,
};
use crate::support::Server;

/// A code for `web` by `prompt=none` in a browser that is signed in.
fn silent_code(server: &Server, browser: &mut Browser, extra: &[(&str, &str)]) -> Response {
    let [c, m] = pkce(VERIFIER);
    let mut params = vec![("prompt", "none"), (c.0, c.1.as_str()), (m.0, m.1.as_str())];
    params.extend_from_slice(extra);
    browser.get(server, &authorize_path("web", WEB_CB, &params))
}

fn code_of(res: &Response) -> String {
    redirected(res, WEB_CB)["code"].clone()
}

fn exchange_web(server: &Server, code: &str) -> Response {
    exchange(
        server,
        Some(("web", "web-secret")),
        &code_form(code, WEB_CB, Some(VERIFIER)),
    )
}

fn access_of(res: &Response) -> String {
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned()
}

fn active(server: &Server, token: &str) -> bool {
    introspect_as(server, "web", "web-secret", token)["active"] == true
}

fn withdrawn(res: &Response) {
    assert_eq!(res.status, 400, "{}", res.text());
    assert_eq!(error_of(res), "invalid_grant");
    let description = res.json()["error_description"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(description.contains("withdrawn"), "{description}");
}

/// Logout as the page does: the form of `GET /oauth2/logout`, posted from our own origin.
fn log_out(server: &Server, browser: &mut Browser) {
    let page = browser.get(server, "/oauth2/logout");
    assert_eq!(page.status, 200, "{}", page.text());
    let fields = hidden_fields(page.text());
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", crate::standard::enc(v)))
        .collect();
    let res = browser.send(
        server,
        Request::post("/oauth2/logout")
            .header("Origin", &format!("http://{}", server.addr))
            .form(&body.join("&")),
    );
    assert_eq!(res.status, 200, "{}", res.text());
}

#[test]
fn a_code_dies_with_the_logout_of_its_browser_session_only() {
    let server = server();
    let mut victim = Browser::default();
    let unexchanged = web_code(&server, &mut victim, VERIFIER);
    let tokens = access_of(&exchange_web(
        &server,
        &code_of(&silent_code(&server, &mut victim, &[])),
    ));
    // The stolen cookie mints one more code before the victim logs out.
    let minted = code_of(&silent_code(&server, &mut victim, &[]));
    // The same user in a second browser.
    let mut other = Browser::default();
    let others = web_code(&server, &mut other, VERIFIER);

    log_out(&server, &mut victim);
    withdrawn(&exchange_web(&server, &unexchanged));
    withdrawn(&exchange_web(&server, &minted));
    assert!(
        !active(&server, &tokens),
        "logout ends what its codes opened"
    );
    let kept = access_of(&exchange_web(&server, &others));
    assert!(
        active(&server, &kept),
        "the other browser session is not touched"
    );
}

#[test]
fn codes_issued_before_a_password_change_or_disable_are_refused() {
    let server = server();
    let otc = |password: &str| {
        let res = server.send(Request::post("/admin/login/auth_code").form(&format!(
            "ClientId=web&ClientSecret=web-secret&Username=alice&Password={password}"
        )));
        assert_eq!(res.status, 200, "{}", res.text());
        res.json()["Body"]["AuthCode"]
            .as_str()
            .expect("code")
            .to_owned()
    };
    let otc_exchange = |code: &str| {
        server.send(Request::post("/admin/login/token").form(&format!(
            "ClientId=web&ClientSecret=web-secret&AuthCode={code}"
        )))
    };
    let before = otc("alice-password-1");
    let mut alice = Browser::default();
    let browser_code = web_code(&server, &mut alice, VERIFIER);
    let mut bob = Browser::default();
    let [c, m] = pkce(VERIFIER);
    let res = bob.sign_in(
        &server,
        &authorize_path("web", WEB_CB, &[(c.0, &c.1), (m.0, &m.1)]),
        "bob",
        "bob-password-1",
    );
    let bobs = code_of(&res);
    // `gatehouse import` with a new password for alice (as `user passwd` does).
    import(
        &server,
        r#"{"users":[{"id":"a11ce000-0000-4000-8000-000000000001","user_name":"alice",
            "password":"alice-password-2","operator":true}]}"#,
    );
    let res = otc_exchange(&before);
    assert_eq!(res.status, 400, "{}", res.text());
    assert_eq!(res.json()["Header"]["Status"], "InvalidCode");
    withdrawn(&exchange_web(&server, &browser_code));
    assert!(
        active(&server, &access_of(&exchange_web(&server, &bobs))),
        "bob's code is his"
    );

    // Disable (and re-enable at once): the code issued before still does not redeem.
    let before = otc("alice-password-2");
    gatehouse::cli::user_disable(&crate::support::settings_of(&server.db), "alice")
        .expect("disable");
    import(
        &server,
        r#"{"users":[{"id":"a11ce000-0000-4000-8000-000000000001","user_name":"alice",
            "password":"alice-password-2","operator":true,"disabled":false}]}"#,
    );
    let res = otc_exchange(&before);
    assert_eq!(res.status, 400, "{}", res.text());
    let res = otc_exchange(&otc("alice-password-2"));
    assert_eq!(
        res.status,
        200,
        "a code issued after the change works: {}",
        res.text()
    );
}

#[test]
fn a_code_flood_is_refused_with_429_and_long_nonces_are_refused() {
    let server = server();
    let mut alice = Browser::default();
    let _first = web_code(&server, &mut alice, VERIFIER);
    let mut issued = 1;
    let refused = loop {
        let res = silent_code(&server, &mut alice, &[("nonce", &"n".repeat(255))]);
        if res.status != 303 {
            break res;
        }
        code_of(&res);
        issued += 1;
        assert!(issued <= 8, "8 outstanding codes per browser session");
    };
    assert_eq!(issued, 8);
    assert_eq!(refused.status, 429, "{}", refused.text());
    assert_eq!(refused.header("retry-after"), Some("60"));
    assert!(refused.text().contains("Too many sign-in requests"));
    // Bob's browser is not alice's: his first code comes.
    let mut bob = Browser::default();
    let [c, m] = pkce(VERIFIER);
    let res = bob.sign_in(
        &server,
        &authorize_path("web", WEB_CB, &[(c.0, &c.1), (m.0, &m.1)]),
        "bob",
        "bob-password-1",
    );
    code_of(&res);
    // A nonce over 255 bytes, a state over 1 KiB: refused at the redirect URI, nothing stored.
    let rows = server.count("authorization_codes");
    let res = silent_code(&server, &mut bob, &[("nonce", &"n".repeat(256))]);
    let q = redirected(&res, WEB_CB);
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(
        q["error_description"],
        "nonce is too long (at most 255 bytes)"
    );
    let res = silent_code(&server, &mut bob, &[("state", &"s".repeat(1025))]);
    let q = redirected(&res, WEB_CB);
    assert_eq!(
        q["error_description"],
        "state is too long (at most 1024 bytes)"
    );
    assert_eq!(server.count("authorization_codes"), rows);
}

/// Issue 19 item 4, decided: a sign-in that replaces the browser session (`prompt=login`)
/// ends that browser session and withdraws its codes, but the tokens clients already got
/// through it live on; logout ends them.
#[test]
fn prompt_login_keeps_issued_tokens_and_logout_ends_them() {
    let server = server();
    let mut browser = Browser::default();
    let first = access_of(&exchange_web(
        &server,
        &web_code(&server, &mut browser, VERIFIER),
    ));
    let pending = code_of(&silent_code(&server, &mut browser, &[]));
    let [c, m] = pkce(VERIFIER);
    let res = browser.sign_in(
        &server,
        &authorize_path(
            "web",
            WEB_CB,
            &[("prompt", "login"), (c.0, &c.1), (m.0, &m.1)],
        ),
        "alice",
        "alice-password-1",
    );
    let second = access_of(&exchange_web(&server, &code_of(&res)));
    assert!(
        active(&server, &first),
        "re-authenticating is not logging out"
    );
    withdrawn(&exchange_web(&server, &pending));
    log_out(&server, &mut browser);
    assert!(
        !active(&server, &second),
        "logout ends the tokens of its browser session"
    );
}

/// The fields of a form, `name` replaced (or added) with `value`.
fn with_field(
    fields: &[(&'static str, String)],
    name: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    let mut out: Vec<_> = fields.iter().filter(|(k, _)| *k != name).cloned().collect();
    out.push((name, value.to_owned()));
    out
}

/// Issue 19 item 6: the login form's token is an HMAC under the server's key over a cookie
/// the server issued. A cookie someone planted, with the token the old unkeyed formula gives
/// for it, is refused; so is another browser's token, and a cookie sent twice.
#[test]
fn a_planted_login_cookie_gets_no_token() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    let server = server();
    let [c, m] = pkce(VERIFIER);
    let path = authorize_path("web", WEB_CB, &[(c.0, &c.1), (m.0, &m.1)]);
    let mut victim = Browser::default();
    let page = victim.get(&server, &path);
    let fields = hidden_fields(page.text());
    let filled = with_field(
        &with_field(&fields, "username", "alice"),
        "password",
        "alice-password-1",
    );

    // The planted cookie: a well-formed value of the attacker's choosing.
    let planted = URL_SAFE_NO_PAD.encode([42u8; 32]);
    // What the token was before: base64url(SHA-256(purpose NUL cookie)), no key.
    let unkeyed = gatehouse_domain::pkce::s256(&format!("gatehouse login form\0{planted}"));
    let mut attacker = Browser::default();
    attacker
        .cookies
        .insert("gatehouse_login".into(), planted.clone());
    let res = attacker.post(
        &server,
        "/oauth2/login",
        &with_field(&filled, "csrf_token", &unkeyed),
    );
    assert_eq!(res.status, 403, "{}", res.text());

    // Another browser's (valid) token with this browser's cookie.
    let mut other = Browser::default();
    let theirs = hidden_fields(other.get(&server, &path).text());
    let their_token = theirs
        .iter()
        .find(|(k, _)| *k == "csrf_token")
        .expect("token")
        .1
        .clone();
    let res = victim.post(
        &server,
        "/oauth2/login",
        &with_field(&filled, "csrf_token", &their_token),
    );
    assert_eq!(res.status, 403, "{}", res.text());

    // The right token, but the cookie sent twice (one planted beside ours).
    let mine = victim.cookies["gatehouse_login"].clone();
    let body: Vec<String> = filled
        .iter()
        .map(|(k, v)| format!("{k}={}", crate::standard::enc(v)))
        .collect();
    let res = server.send(
        Request::post("/oauth2/login")
            .header(
                "Cookie",
                &format!("gatehouse_login={planted}; gatehouse_login={mine}"),
            )
            .form(&body.join("&")),
    );
    assert_eq!(res.status, 403, "{}", res.text());
    // The page's own pair works.
    let res = victim.post(&server, "/oauth2/login", &filled);
    assert!(redirected(&res, WEB_CB).contains_key("code"));
    // A cookie of another format is replaced by a server-issued one.
    let mut odd = Browser::default();
    odd.cookies
        .insert("gatehouse_login".into(), "chosen-by-me".into());
    odd.get(&server, &path);
    assert_ne!(odd.cookies["gatehouse_login"], "chosen-by-me");
}

/// Issue 19 item 15: a consent token approves the request it was shown for (client,
/// redirect URI, scope, PKCE challenge, nonce) and no other, even in the same browser
/// session.
#[test]
fn a_consent_token_approves_only_the_request_it_was_shown_for() {
    use crate::standard::{OTHER_VERIFIER, THIRD_CB};

    let server = server();
    import(
        &server,
        &format!(
            r#"{{"clients":[{{"client_id":"fourth","secret":"fourth-secret",
            "grants":["authorization_code"],"scope":"openid profile",
            "redirect_uris":["{THIRD_CB}"],"consent_required":true}}]}}"#
        ),
    );
    let mut browser = Browser::default();
    let [c, m] = pkce(VERIFIER);
    let shown = [
        ("scope", "openid"),
        (c.0, c.1.as_str()),
        (m.0, m.1.as_str()),
    ];
    let res = browser.sign_in(
        &server,
        &authorize_path("third", THIRD_CB, &shown),
        "alice",
        "alice-password-1",
    );
    assert_eq!(res.status, 200, "{}", res.text());
    let fields = with_field(&hidden_fields(res.text()), "decision", "allow");
    let token = fields
        .iter()
        .find(|(k, _)| *k == "csrf_token")
        .expect("token")
        .1
        .clone();
    // The same token, another scope / client / challenge / nonce: refused.
    let other_challenge = gatehouse_domain::pkce::s256(OTHER_VERIFIER);
    for (name, value) in [
        ("scope", "openid profile"),
        ("client_id", "fourth"),
        ("code_challenge", other_challenge.as_str()),
        ("nonce", "n-other"),
    ] {
        let crossed = with_field(&fields, name, value);
        let res = browser.post(&server, "/oauth2/consent", &crossed);
        assert_eq!(res.status, 403, "{name}: {}", res.text());
        assert_eq!(
            crossed
                .iter()
                .find(|(k, _)| *k == "csrf_token")
                .map(|(_, v)| v),
            Some(&token)
        );
    }
    // The request it was shown for: the code.
    let res = browser.post(&server, "/oauth2/consent", &fields);
    assert!(redirected(&res, THIRD_CB).contains_key("code"));
}
