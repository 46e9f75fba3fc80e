//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) as ASP.NET Core's OpenID
//! Connect handler does it, end to end: `id_token_hint`, `post_logout_redirect_uri` (one of
//! the client's registered ones, exactly), `state`, `ui_locales`, the confirmation page only
//! when the request cannot be tied to the session, and its anti-forgery rules; each rule
//! crossed by a second client, user or browser session.

use gatehouse_tests::{Request, Response};
use serde_json::json;

use crate::oidc::{code, exchange, hidden_fields, introspect, query_of, Browser, CB, VERIFIER};
use crate::standard::{enc, import};
use crate::support::Server;

/// ASP.NET Core's default `SignedOutCallbackPath`.
const OUT: &str = "https://rp.example/signout-callback-oidc";
const OUT2: &str = "https://rp2.example/signed-out";

fn server() -> Server {
    let server = Server::start();
    import(
        &server,
        &format!(
            r#"{{"clients":[
 {{"client_id":"rp","client_name":"Relying Party","secret":"rp-secret","grants":["authorization_code","refresh_token"],"scope":"openid profile","redirect_uris":["{CB}"],"post_logout_redirect_uris":["{OUT}"]}},
 {{"client_id":"rp2","secret":"rp2-secret","grants":["authorization_code"],"scope":"openid","redirect_uris":["{CB}"],"post_logout_redirect_uris":["{OUT2}"]}}
]}}"#
        ),
    );
    server
}

/// Signs `user` in through `browser` for `client` and returns (id_token, access token).
fn sign_in(
    server: &Server,
    browser: &mut Browser,
    client: &str,
    secret: &str,
    user: &str,
) -> (String, String) {
    let c = code(
        server,
        browser,
        client,
        "openid",
        "n",
        user,
        &format!("{user}-password-1"),
    );
    let t = exchange(server, client, secret, &c);
    (
        t["id_token"].as_str().expect("id_token").to_owned(),
        t["access_token"].as_str().expect("access_token").to_owned(),
    )
}

fn logout(browser: &mut Browser, server: &Server, query: &[(&str, &str)]) -> Response {
    let q: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    browser.send(
        server,
        Request::get(&format!("/oauth2/logout?{}", q.join("&"))),
    )
}

/// Whether the browser still has a live session (prompt=none gives a code).
fn signed_in(server: &Server, browser: &mut Browser) -> bool {
    let path = format!(
        "/oauth2/authorize?response_type=code&client_id=rp&redirect_uri={}&scope=openid&prompt=none&code_challenge={}&code_challenge_method=S256",
        enc(CB),
        gatehouse_domain::pkce::s256(VERIFIER)
    );
    let res = browser.send(server, Request::get(&path));
    query_of(res.header("location").unwrap_or_default()).contains_key("code")
}

fn refused(res: &Response, why: &str) {
    assert_eq!(res.status, 400, "{}", res.text());
    assert!(res.header("location").is_none(), "never redirected");
    assert!(res.text().contains(why), "{}", res.text());
}

#[test]
fn rp_initiated_logout_as_aspnet_core_does_it() {
    let server = server();
    let mut alice = Browser::default();
    let (hint, at) = sign_in(&server, &mut alice, "rp", "rp-secret", "alice");
    let state = "CfDJ8Kx-state_0123456789";
    let aspnet = |uri: &str| {
        vec![
            ("id_token_hint", hint.clone()),
            ("post_logout_redirect_uri", uri.to_owned()),
            ("state", state.to_owned()),
            ("ui_locales", "en-US fr".to_owned()),
            ("x-client-SKU", "ID_NET9_0".to_owned()),
            ("x-client-ver", "8.0.1.0".to_owned()),
        ]
    };
    let q = |v: &Vec<(&'static str, String)>| -> Vec<(&'static str, String)> { v.clone() };
    let send = |b: &mut Browser, v: Vec<(&str, String)>| {
        let pairs: Vec<(&str, &str)> = v.iter().map(|(k, v)| (*k, v.as_str())).collect();
        logout(b, &server, &pairs)
    };

    // Another client's registered URI, an unregistered one, a client that is not the hint's,
    // a URI without any client, a tampered hint: each a page, never a redirect, nothing ended.
    refused(
        &send(&mut alice, q(&aspnet(OUT2))),
        "not registered for this client",
    );
    refused(
        &send(&mut alice, q(&aspnet("https://evil.example/out"))),
        "not registered",
    );
    let mut wrong_client = aspnet(OUT);
    wrong_client.push(("client_id", "rp2".to_owned()));
    refused(
        &send(&mut alice, wrong_client),
        "client_id is not the client",
    );
    // Without hint and client_id (ASP.NET Core without SaveTokens): the one client that
    // registered the URI; a URI two clients registered, or none, is refused.
    import(
        &server,
        r#"{"clients":[
 {"client_id":"s1","grants":["authorization_code"],"redirect_uris":["https://s.example/cb"],"post_logout_redirect_uris":["https://shared.example/out"]},
 {"client_id":"s2","grants":["authorization_code"],"redirect_uris":["https://s.example/cb"],"post_logout_redirect_uris":["https://shared.example/out"]}
]}"#,
    );
    refused(
        &logout(
            &mut alice,
            &server,
            &[
                ("post_logout_redirect_uri", "https://shared.example/out"),
                ("state", state),
            ],
        ),
        "needs client_id or id_token_hint",
    );
    refused(
        &logout(
            &mut alice,
            &server,
            &[("post_logout_redirect_uri", "https://nobody.example/out")],
        ),
        "needs client_id or id_token_hint",
    );
    let page = logout(
        &mut alice,
        &server,
        &[("post_logout_redirect_uri", OUT), ("state", state)],
    );
    assert_eq!(page.status, 200, "a confirmation: {}", page.text());
    assert!(page.text().contains("Relying Party"), "rp asks");
    let mut parts: Vec<String> = hint.split('.').map(str::to_owned).collect();
    let mut claims = crate::oidc::part(&hint, 1);
    claims["aud"] = json!("rp2");
    parts[1] = base64_url(&claims.to_string());
    let forged = parts.join(".");
    let mut v = aspnet(OUT2);
    v[0].1 = forged;
    refused(
        &send(&mut alice, v),
        "not an ID token issued by this server",
    );
    let mut twice = aspnet(OUT);
    twice.push(("state", "again".to_owned()));
    refused(&send(&mut alice, twice), "more than once");
    assert!(signed_in(&server, &mut alice), "nothing was ended");
    assert_eq!(introspect(&server, "rp", "rp-secret", &at)["active"], true);

    // Bob's id_token in Alice's browser names another session: a confirmation page, nothing
    // ended until Alice confirms.
    let mut bob = Browser::default();
    let (bob_hint, bob_at) = sign_in(&server, &mut bob, "rp", "rp-secret", "bob");
    let mut v = aspnet(OUT);
    v[0].1 = bob_hint.clone();
    let page = send(&mut alice, v);
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains("Relying Party") && page.text().contains("csrf_token"));
    assert!(signed_in(&server, &mut alice));
    let form = hidden_fields(page.text());
    // The form posted from another origin, or with Bob's session's token: refused.
    let body: Vec<String> = form
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    let cookie = format!("gatehouse_session={}", alice.cookies["gatehouse_session"]);
    let foreign = server.send(
        Request::post("/oauth2/logout")
            .header("Cookie", &cookie)
            .header("Origin", "https://evil.example")
            .form(&body.join("&")),
    );
    assert_eq!(foreign.status, 403, "{}", foreign.text());
    let bob_page = send(&mut bob, aspnet(OUT));
    let bob_form = hidden_fields(bob_page.text());
    let res = alice.post(&server, "/oauth2/logout", &bob_form);
    assert_eq!(res.status, 403, "another session's token: {}", res.text());
    // A bare POST (a forged sign-out button) only shows the confirmation.
    let res = alice.send(&server, Request::post("/oauth2/logout"));
    assert_eq!(res.status, 200);
    assert!(signed_in(&server, &mut alice), "still signed in");
    assert_eq!(
        introspect(&server, "rp", "rp-secret", &bob_at)["active"],
        true
    );

    // Alice's own hint: no page, straight back to the registered URI with state; the session
    // and the tokens it led to are ended; Bob's live on.
    let res = send(&mut alice, aspnet(OUT));
    assert_eq!(res.status, 303, "{}", res.text());
    assert_eq!(
        res.header("location"),
        Some(format!("{OUT}?state={state}").as_str())
    );
    assert!(!alice.cookies.contains_key("gatehouse_session"));
    assert!(!signed_in(&server, &mut alice));
    assert_eq!(introspect(&server, "rp", "rp-secret", &at)["active"], false);
    assert_eq!(
        introspect(&server, "rp", "rp-secret", &bob_at)["active"],
        true
    );
    assert!(signed_in(&server, &mut bob));

    // Again with the same (now old) hint and no session: nothing to confirm, redirected.
    let res = send(&mut alice, aspnet(OUT));
    assert_eq!(res.status, 303);
    // Without a hint, a live session asks first; the confirmed form redirects with state.
    let res = logout(
        &mut bob,
        &server,
        &[
            ("client_id", "rp2"),
            ("post_logout_redirect_uri", OUT2),
            ("state", "s2"),
        ],
    );
    assert_eq!(res.status, 200, "{}", res.text());
    let res = bob.post(&server, "/oauth2/logout", &hidden_fields(res.text()));
    assert_eq!(res.status, 303, "{}", res.text());
    assert_eq!(
        res.header("location"),
        Some(format!("{OUT2}?state=s2").as_str())
    );
    assert!(!signed_in(&server, &mut bob));
    assert_eq!(
        introspect(&server, "rp", "rp-secret", &bob_at)["active"],
        false
    );
}

fn base64_url(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// The per-client setting is validated where it is configured (import and CLI).
#[test]
fn post_logout_redirect_uris_are_validated_at_configuration() {
    let server = server();
    let file = tempfile::NamedTempFile::new().expect("temp");
    for bad in [
        r#"["http://rp.example/out"]"#,
        r#"["https://rp.example/out#x"]"#,
        r#"["https://rp.example/out","https://rp.example/out"]"#,
    ] {
        std::fs::write(
            file.path(),
            format!(r#"{{"clients":[{{"client_id":"x","grants":["authorization_code"],"post_logout_redirect_uris":{bad}}}]}}"#),
        )
        .expect("write");
        let err = gatehouse::cli::import(&crate::support::settings_of(&server.db), file.path())
            .expect_err(bad);
        assert!(err.contains("post-logout redirect URI"), "{err}");
    }
}

/// `gatehouse client add --post-logout-redirect-uri` stores the setting (used by the next
/// logout) and refuses a bad URI.
#[test]
fn client_add_takes_post_logout_redirect_uris() {
    let server = server();
    let settings = crate::support::settings_of(&server.db);
    let args = |id: &str, uri: &str| gatehouse::cli::NewClientArgs {
        client_id: id.into(),
        grants: vec!["authorization_code".into()],
        scope: "openid".into(),
        redirect_url: None,
        broker: None,
        public: true,
        redirect_uris: vec![CB.to_owned()],
        consent_required: false,
        access_token_format: "opaque".into(),
        client_name: None,
        introspect_any: false,
        audience: None,
        access_token_alg: None,
        id_token_alg: None,
        post_logout_redirect_uris: vec![uri.to_owned()],
        require_pushed_authorization_requests: false,
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
        token_exchange_audiences: Vec::new(),
        dpop_bound_access_tokens: false,
        jwks: None,
        keys_only: false,
    };
    let err = gatehouse::cli::client_add(&settings, args("cli", "javascript:alert(1)"))
        .expect_err("refused");
    assert!(err.contains("post-logout redirect URI"), "{err}");
    gatehouse::cli::client_add(&settings, args("cli", "https://cli.example/out")).expect("added");
    let mut browser = Browser::default();
    let res = logout(
        &mut browser,
        &server,
        &[
            ("client_id", "cli"),
            ("post_logout_redirect_uri", "https://cli.example/out"),
            ("state", "z"),
        ],
    );
    assert_eq!(res.status, 303, "{}", res.text());
    assert_eq!(
        res.header("location"),
        Some("https://cli.example/out?state=z")
    );
    // rp's URI is not cli's.
    refused(
        &logout(
            &mut browser,
            &server,
            &[("client_id", "cli"), ("post_logout_redirect_uri", OUT)],
        ),
        "not registered",
    );
}

/// Runs a script of tests/clients with the pinned Node clients; its stdout.
pub(crate) fn run_node(
    node_dir: &std::path::Path,
    script: &str,
    config: &serde_json::Value,
) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    // ES modules resolve packages from their own directory: run the script from node_dir.
    let copy = node_dir.join(format!("gatehouse-{script}"));
    std::fs::copy(root.join("tests/clients").join(script), &copy).expect("copy");
    let out = std::process::Command::new("node")
        .arg(&copy)
        .arg(config.to_string())
        .current_dir(node_dir)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.starts_with("OK "),
        "{script} failed:\n{stdout}\n{stderr}"
    );
    eprintln!("{}", stdout.trim());
    stdout
}

/// openid-client 6 (pinned): OpenID discovery, the code flow pushed first
/// (`buildAuthorizationUrlWithPAR`, RFC 9126; a replayed `request_uri` refused),
/// `buildEndSessionUrl` with
/// `id_token_hint`, `post_logout_redirect_uri` and `state`, followed with the session cookie;
/// another client's URI refused.
#[test]
fn openid_client_6_logout() {
    use gatehouse_tests::external::{require, Piece};
    let Some(node_dir) = require(Piece::Node, "logout::openid_client_6_logout") else {
        return;
    };
    let server = server();
    let redirect = "http://127.0.0.1:9/openid-client";
    import(
        &server,
        &format!(
            r#"{{"clients":[{{"client_id":"node-rp","secret":"node-secret","grants":["authorization_code"],"scope":"openid","redirect_uris":["{redirect}"],"post_logout_redirect_uris":["http://127.0.0.1:9/signed-out"]}}]}}"#
        ),
    );
    run_node(
        &node_dir,
        "openid_client_logout.mjs",
        &json!({
            "issuer": format!("http://{}", server.addr),
            "redirect_uri": redirect,
            "client": ["node-rp", "node-secret"],
            "post_logout": "http://127.0.0.1:9/signed-out",
            "foreign_post_logout": OUT,
        }),
    );
}
