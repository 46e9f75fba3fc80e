//! The device authorization grant (RFC 8628) end to end: `/oauth2/device_authorization`, the
//! verification page `/oauth2/device` (code, sign-in, consent) and polling at `/oauth2/token`.
//! A second client polls another client's device code, a second browser (another user) tries
//! to approve with the first browser's form, wrong user codes and floods are refused.
//! openid-client 6 with the page in headless Chromium: `openid_client_6_device_flow_in_chromium`.

use gatehouse_tests::{Request, Response};
use serde_json::{json, Value};

use crate::standard::{enc, hidden_fields, import, Browser};
use crate::support::Server;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn clients() -> String {
    format!(
        r#"{{"clients":[
 {{"client_id":"tv","client_name":"Living-room TV","grants":["{GRANT}","refresh_token"],"scope":"openid profile"}},
 {{"client_id":"cli","secret":"cli-secret","grants":["{GRANT}"],"scope":"profile"}},
 {{"client_id":"web-only","secret":"web-secret","grants":["authorization_code"],"scope":"profile","redirect_uris":["https://web.example/cb"]}}
]}}"#
    )
}

fn server() -> Server {
    let server = Server::start();
    import(&server, &clients());
    server
}

fn ask(server: &Server, form: &str) -> Response {
    server.send(Request::post("/oauth2/device_authorization").form(form))
}

fn ask_tv(server: &Server) -> Value {
    let res = ask(server, "client_id=tv&scope=profile");
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("cache-control"), Some("no-store"));
    res.json()
}

fn poll(server: &Server, client: &str, device_code: &str) -> Response {
    server.send(Request::post("/oauth2/token").form(&format!(
        "grant_type={}&client_id={client}&device_code={}",
        enc(GRANT),
        enc(device_code)
    )))
}

fn poll_cli(server: &Server, device_code: &str) -> Response {
    server.send(
        Request::post("/oauth2/token")
            .basic("cli", "cli-secret")
            .form(&format!(
                "grant_type={}&device_code={}",
                enc(GRANT),
                enc(device_code)
            )),
    )
}

fn error_of(res: &Response) -> String {
    assert_eq!(res.status, 400, "{}", res.text());
    res.json()["error"].as_str().unwrap_or_default().to_owned()
}

/// Opens the page for `user_code` and submits the code form.
fn enter(browser: &mut Browser, server: &Server, user_code: &str) -> Response {
    let page = browser.get(
        server,
        &format!("/oauth2/device?user_code={}", enc(user_code)),
    );
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(
        page.text().contains(&format!("value=\"{user_code}\"")),
        "prefilled"
    );
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(!page.text().contains("<script"));
    let mut fields = hidden_fields(page.text());
    fields.push(("user_code", user_code.to_owned()));
    browser.post(server, "/oauth2/device", &fields)
}

/// Submits the login form of `page` as `user`.
fn sign_in(browser: &mut Browser, server: &Server, page: &Response, user: &str) -> Response {
    assert!(page.text().contains("Sign in"), "{}", page.text());
    let mut fields = hidden_fields(page.text());
    fields.push(("username", user.to_owned()));
    fields.push(("password", format!("{user}-password-1")));
    browser.post(server, "/oauth2/device", &fields)
}

fn decide(browser: &mut Browser, server: &Server, consent: &Response, decision: &str) -> Response {
    let mut fields = hidden_fields(consent.text());
    fields.push(("decision", decision.to_owned()));
    browser.post(server, "/oauth2/device", &fields)
}

/// The whole grant with a second client and a second browser trying to cross it:
/// another client's poll of the device code is `invalid_grant` before and after approval
/// and changes nothing; bob's browser cannot use alice's consent form; the device code is
/// single use (a replay ends the session it opened); deny answers `access_denied`.
#[test]
fn device_flow_with_a_second_client_and_a_second_browser() {
    let server = server();
    // Advertised in both documents once a client has the grant.
    let meta = server
        .send(Request::get("/.well-known/oauth-authorization-server"))
        .json();
    let endpoint = format!("http://{}/oauth2/device_authorization", server.addr);
    assert_eq!(meta["device_authorization_endpoint"], json!(endpoint));
    assert!(meta["grant_types_supported"]
        .as_array()
        .is_some_and(|g| g.contains(&json!(GRANT))));

    // The answer of RFC 8628 section 3.2.
    let first = ask_tv(&server);
    let user_code = first["user_code"].as_str().unwrap_or_default().to_owned();
    assert_eq!(user_code.len(), 9, "{first}");
    assert!(user_code.chars().enumerate().all(|(i, c)| if i == 4 {
        c == '-'
    } else {
        "BCDFGHJKLMNPQRSTVWXZ".contains(c)
    }));
    let page = format!("http://{}/oauth2/device", server.addr);
    assert_eq!(first["verification_uri"], json!(page));
    assert_eq!(
        first["verification_uri_complete"],
        json!(format!("{page}?user_code={user_code}"))
    );
    assert_eq!(first["expires_in"], json!(600));
    assert_eq!(first["interval"], json!(5));
    let device_code = first["device_code"].as_str().unwrap_or_default().to_owned();
    assert!(device_code.len() >= 43);

    // Refusals of the request itself.
    let res = ask(&server, "client_id=web-only");
    assert_eq!(res.status, 401, "a confidential client without its secret");
    let res = server.send(
        Request::post("/oauth2/device_authorization")
            .basic("web-only", "web-secret")
            .form(""),
    );
    assert_eq!(error_of(&res), "unauthorized_client");
    assert_eq!(ask(&server, "client_id=nobody").status, 401);
    assert_eq!(
        error_of(&ask(&server, "client_id=tv&scope=admin")),
        "invalid_scope"
    );

    // Polling: pending, then too fast.
    assert_eq!(
        error_of(&poll(&server, "tv", &device_code)),
        "authorization_pending"
    );
    assert_eq!(error_of(&poll(&server, "tv", &device_code)), "slow_down");
    // Another client cannot poll it (and the unknown code is unknown).
    assert_eq!(error_of(&poll_cli(&server, &device_code)), "invalid_grant");
    assert_eq!(
        error_of(&poll(&server, "tv", "not-a-code")),
        "invalid_grant"
    );
    let res = server.send(
        Request::post("/oauth2/token").form(&format!("grant_type={}&client_id=tv", enc(GRANT))),
    );
    assert_eq!(error_of(&res), "invalid_request", "device_code is required");

    // Alice approves a second code in her browser: code, sign-in, consent.
    let second = ask_tv(&server);
    let code2 = second["user_code"].as_str().unwrap_or_default().to_owned();
    let device2 = second["device_code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut alice = Browser::default();
    let login = enter(&mut alice, &server, &code2);
    assert_eq!(login.status, 200, "{}", login.text());
    let consent = sign_in(&mut alice, &server, &login, "alice");
    assert_eq!(consent.status, 200, "{}", consent.text());
    assert!(
        consent.text().contains(&code2),
        "the page shows the code to compare"
    );
    assert!(consent.text().contains("Living-room TV"));

    // Bob, in another browser, signs in for a third code and tries alice's consent form.
    let third = ask_tv(&server);
    let code3 = third["user_code"].as_str().unwrap_or_default().to_owned();
    let device3 = third["device_code"].as_str().unwrap_or_default().to_owned();
    let mut bob = Browser::default();
    let bob_login = enter(&mut bob, &server, &code3);
    let bob_consent = sign_in(&mut bob, &server, &bob_login, "bob");
    assert_eq!(bob_consent.status, 200, "{}", bob_consent.text());
    let forged = decide(&mut bob, &server, &consent, "allow");
    assert_eq!(forged.status, 403, "{}", forged.text());
    assert_eq!(
        error_of(&poll(&server, "tv", &device2)),
        "authorization_pending"
    );

    // Alice allows; the other client still cannot redeem it; the tv can, once.
    let done = decide(&mut alice, &server, &consent, "allow");
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(done.text().contains("Device connected"));
    assert_eq!(error_of(&poll_cli(&server, &device2)), "invalid_grant");
    std::thread::sleep(std::time::Duration::from_secs(5));
    let tokens = poll(&server, "tv", &device2);
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    let tokens = tokens.json();
    let access = tokens["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(tokens["token_type"], json!("Bearer"));
    assert_eq!(tokens["scope"], json!("profile"));
    assert!(tokens["refresh_token"].is_string());
    let info = server.introspect(&access);
    assert_eq!(info["active"], json!(true), "{info}");
    assert_eq!(info["client_id"], json!("tv"));
    assert_eq!(info["username"], json!("alice"), "{info}");
    // A replay (a stolen device code) is refused and ends what the first redemption opened.
    std::thread::sleep(std::time::Duration::from_secs(5));
    assert_eq!(error_of(&poll(&server, "tv", &device2)), "invalid_grant");
    assert!(!server.active(&access), "the replay ended the session");
    // Approving again is impossible: the code is no longer pending.
    let again = decide(&mut alice, &server, &consent, "allow");
    assert_eq!(again.status, 400, "{}", again.text());

    // Bob denies his code.
    let denied = decide(&mut bob, &server, &bob_consent, "deny");
    assert_eq!(denied.status, 200, "{}", denied.text());
    assert_eq!(error_of(&poll(&server, "tv", &device3)), "access_denied");
}

/// Wrong, malformed and already used user codes are refused with the code form again and
/// change nothing; every look-up counts against the browser's and the address's window:
/// the 11th in a minute is 429, for another browser at the same address too, even with a
/// right code.
#[test]
fn wrong_user_codes_are_refused_and_entry_is_rate_limited() {
    let server = server();
    let right = ask_tv(&server);
    let right_code = right["user_code"].as_str().unwrap_or_default().to_owned();
    let mut browser = Browser::default();
    let page = browser.get(&server, "/oauth2/device");
    let csrf = hidden_fields(page.text());
    for (i, typed) in [
        "BBBB-BBBB",
        "bcdf-ghjk",
        "hello",
        "AAAA-AAAA",
        "",
        "BCDF-GHJ",
        "ZZZZZZZZ",
        "0000-0000",
        "<script>",
        "XXXX-XXXX",
    ]
    .iter()
    .enumerate()
    {
        let mut fields = csrf.clone();
        fields.push(("user_code", (*typed).to_owned()));
        let res = browser.post(&server, "/oauth2/device", &fields);
        assert_eq!(res.status, 400, "{i} {typed}: {}", res.text());
        assert!(
            res.text().contains("not valid or has expired"),
            "{}",
            res.text()
        );
        assert!(!res.text().contains("<script>"));
    }
    // A form without this browser's token is refused before any look-up.
    let mut other = Browser::default();
    let _ = other.get(&server, "/oauth2/device");
    let mut fields = csrf.clone();
    fields.push(("user_code", right_code.clone()));
    assert_eq!(other.post(&server, "/oauth2/device", &fields).status, 403);
    // The 11th look-up from this browser: 429, even for the right code.
    let res = browser.post(&server, "/oauth2/device", &fields);
    assert_eq!(res.status, 429, "{}", res.text());
    assert!(res.header("retry-after").is_some());
    // Another browser at the same address is throttled too.
    let page = other.get(&server, "/oauth2/device");
    let mut fields = hidden_fields(page.text());
    fields.push(("user_code", right_code));
    assert_eq!(other.post(&server, "/oauth2/device", &fields).status, 429);
    // Nothing was decided.
    let device = right["device_code"].as_str().unwrap_or_default();
    assert_eq!(
        error_of(&poll(&server, "tv", device)),
        "authorization_pending"
    );
}

/// A client may ask for 30 device codes a minute (then 429 with `Retry-After`); another
/// client is not affected.
#[test]
fn device_codes_are_capped_per_client_per_minute() {
    let server = server();
    for i in 0..30 {
        let res = ask(&server, "client_id=tv");
        assert_eq!(res.status, 200, "{i}: {}", res.text());
    }
    let res = ask(&server, "client_id=tv");
    assert_eq!(res.status, 429, "{}", res.text());
    assert_eq!(res.json()["error"], json!("temporarily_unavailable"));
    assert!(res.header("retry-after").is_some());
    let other = server.send(
        Request::post("/oauth2/device_authorization")
            .basic("cli", "cli-secret")
            .form("scope=profile"),
    );
    assert_eq!(other.status, 200, "{}", other.text());
    assert_eq!(server.count("device_codes"), 31);
}

/// Without a client with the grant, neither document advertises the device flow.
#[test]
fn not_advertised_without_a_client_with_the_grant() {
    let server = Server::start_with(|s| s.demo = false);
    let meta = server
        .send(Request::get("/.well-known/oauth-authorization-server"))
        .json();
    assert!(
        meta.get("device_authorization_endpoint").is_none(),
        "{meta}"
    );
    assert!(!meta.to_string().contains("device_code"));
}

/// openid-client 6 (pinned): `initiateDeviceAuthorization` and
/// `pollDeviceAuthorizationGrant` (which handles `authorization_pending` and `slow_down`)
/// while the user enters the code at `verification_uri_complete`, signs in and approves in
/// headless Chromium (selenium).
#[test]
fn openid_client_6_device_flow_in_chromium() {
    use gatehouse_tests::external::{chromium, require, Piece};
    use std::io::BufRead as _;
    let test = "device::openid_client_6_device_flow_in_chromium";
    let Some(node_dir) = require(Piece::Node, test) else {
        return;
    };
    let Some(python) = require(Piece::Python, test) else {
        return;
    };
    let Some(chromedriver) = require(Piece::Browser, test) else {
        return;
    };
    let server = server();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    let script = "openid_client_device.mjs";
    let copy = node_dir.join(format!("gatehouse-{script}"));
    std::fs::copy(root.join("tests/clients").join(script), &copy).expect("copy");
    let config = json!({"issuer": format!("http://{}", server.addr), "client_id": "tv"});
    let mut node = std::process::Command::new("node")
        .arg(&copy)
        .arg(config.to_string())
        .current_dir(&node_dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("node runs");
    let mut lines = std::io::BufReader::new(node.stdout.take().expect("stdout")).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let uri = first
        .strip_prefix("VISIT ")
        .unwrap_or_else(|| panic!("node said {first}"))
        .to_owned();
    let browser = std::process::Command::new(&python)
        .arg(root.join("tests/browser/device_page.py"))
        .arg(
            json!({"uri": uri, "user": "alice", "password": "alice-password-1",
                   "chromium": chromium(), "chromedriver": chromedriver})
            .to_string(),
        )
        .env("HOME", std::env::temp_dir())
        .output()
        .expect("python runs");
    let said = String::from_utf8_lossy(&browser.stdout).into_owned();
    assert!(
        browser.status.success() && said.contains("OK device page"),
        "{said}\n{}",
        String::from_utf8_lossy(&browser.stderr)
    );
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = node.wait().expect("node ends");
    let out = rest.join("\n");
    assert!(status.success() && out.contains("OK "), "{out}");
    eprintln!("{said}{out}");
}

/// TRACE logs of the whole device flow hold no device code, user code, token, password,
/// client secret, form token or cookie.
#[test]
fn trace_logs_of_the_device_flow_hold_no_secret() {
    let logs = crate::security::capture_logs();
    let server = server();
    let mut secrets: Vec<String> = vec!["alice-password-1".into(), "cli-secret".into()];
    let issued = ask_tv(&server);
    let user_code = issued["user_code"].as_str().unwrap_or_default().to_owned();
    let device_code = issued["device_code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    secrets.push(user_code.clone());
    secrets.push(user_code.replace('-', ""));
    secrets.push(device_code.clone());
    let _ = poll(&server, "tv", &device_code);
    let _ = poll_cli(&server, &device_code);
    let mut alice = Browser::default();
    let login = enter(&mut alice, &server, &user_code);
    let consent = sign_in(&mut alice, &server, &login, "alice");
    for page in [&login, &consent] {
        secrets.extend(
            hidden_fields(page.text())
                .into_iter()
                .filter(|(k, _)| *k == "csrf_token")
                .map(|(_, v)| v),
        );
    }
    decide(&mut alice, &server, &consent, "allow");
    secrets.extend(alice.cookies.values().cloned());
    std::thread::sleep(std::time::Duration::from_secs(5));
    let tokens = poll(&server, "tv", &device_code).json();
    for k in ["access_token", "refresh_token"] {
        secrets.push(tokens[k].as_str().unwrap_or_default().to_owned());
    }
    drop(server);
    let text = logs.contents();
    assert!(text.contains("device request decided"), "logs captured");
    let leaked: Vec<&String> = secrets
        .iter()
        .filter(|s| !s.is_empty() && text.contains(s.as_str()))
        .collect();
    assert!(leaked.is_empty(), "secrets in the logs: {leaked:?}");
}
