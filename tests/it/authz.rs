//! Authorization that holds (issue 9): each rule is crossed by a second client, user or
//! address, end to end (real server, real SQLite file, over HTTP).

use std::path::Path;

use gatehouse_tests::{metric, Request, Response};
use serde_json::Value;

use crate::support::{count_rows, settings_of, Server};

// ----- helpers ------------------------------------------------------------------------

/// Applies an import document to the server's database, as `gatehouse import` does.
fn import(db: &Path, doc: &str) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("doc.json");
    std::fs::write(&file, doc).expect("write import document");
    gatehouse::cli::import(&settings_of(db), &file).expect("import");
}

/// The extra clients of the issue's reproduction.
const CLIENTS: &str = r#"{"clients":[
  {"client_id":"mobile","grants":["password"],"scope":"openid profile admin"},
  {"client_id":"partner","secret":"partner-secret","grants":["onetime"],"scope":"openid profile admin"},
  {"client_id":"nogrant","secret":"nogrant-secret","grants":["password"],"scope":"openid profile admin"},
  {"client_id":"rs","secret":"rs-secret","grants":["client_credentials"],"scope":"api"},
  {"client_id":"gateway","secret":"gateway-secret","grants":["client_credentials"],"scope":"",
   "introspect_any":true}
]}"#;

fn str_of(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {v}"))
        .to_owned()
}

/// v1 password login of alice through demo-client with `scope`.
fn v1_alice(server: &Server, scope: &str) -> Value {
    let res = server.send(
        Request::post("/api/v1/auth/token")
            .basic("demo-client", "demo-secret")
            .form(&format!(
                "grant_type=password&username=alice&password=alice-password-1&scope={scope}"
            )),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()
}

fn issue_code(server: &Server, bearer: &str, client_id: &str) -> Response {
    server.send(
        Request::post("/oauth2/onetime/token")
            .bearer(bearer)
            .json(&format!(r#"{{"clientId":"{client_id}"}}"#)),
    )
}

fn code_of(res: &Response) -> String {
    assert_eq!(res.status, 200, "{}", res.text());
    let v = res.json();
    v["code"]
        .as_str()
        .or_else(|| v["Code"].as_str())
        .unwrap_or_else(|| panic!("code in {v}"))
        .to_owned()
}

fn redeem(server: &Server, body: &str, basic: Option<(&str, &str)>) -> Response {
    let mut r = Request::post("/oauth2/onetime/authorize");
    if let Some((id, secret)) = basic {
        r = r.basic(id, secret);
    }
    server.send(r.json(body))
}

fn access_of(res: &Response) -> String {
    assert_eq!(res.status, 200, "{}", res.text());
    let v = res.json();
    v["access_token"]
        .as_str()
        .or_else(|| v["accessToken"].as_str())
        .unwrap_or_else(|| panic!("access token in {v}"))
        .to_owned()
}

fn revoke(server: &Server, token: &str) {
    let res = server.send(
        Request::post("/oauth2/revoke")
            .basic("demo-client", "demo-secret")
            .form(&format!("token={token}")),
    );
    assert_eq!(res.status, 200, "{}", res.text());
}

fn refresh(server: &Server, token: &str, scope: Option<&str>) -> Response {
    let scope = scope.map(|s| format!("&scope={s}")).unwrap_or_default();
    server.send(
        Request::post("/api/v1/auth/token")
            .basic("demo-client", "demo-secret")
            .form(&format!(
                "grant_type=refresh_token&refresh_token={token}{scope}"
            )),
    )
}

fn oauth_error(res: &Response, status: u16, code: &str) {
    assert_eq!(res.status, status, "{}", res.text());
    assert_eq!(res.json()["error"], code, "{}", res.text());
}

// ----- 1. one-time codes --------------------------------------------------------------

/// The issue's reproduction, and every way around it.
#[test]
fn a_one_time_code_never_widens_or_outlives_its_source() {
    let server = Server::start();
    import(&server.db, CLIENTS);
    let login = v1_alice(&server, "openid");
    let source = str_of(&login, "access_token");

    // Codes for a public client, or a client without the onetime grant, are refused.
    for client in ["mobile", "nogrant", "nobody"] {
        let res = issue_code(&server, &source, client);
        assert_eq!(res.status, 400, "{client}: {}", res.text());
    }
    // A code for partner: partner must authenticate to redeem it.
    let code = code_of(&issue_code(&server, &source, "partner"));
    let res = redeem(
        &server,
        &format!(r#"{{"code":"{code}","clientId":"partner"}}"#),
        None,
    );
    assert_eq!(res.status, 401, "no secret: {}", res.text());
    let res = redeem(
        &server,
        &format!(r#"{{"code":"{code}","clientId":"mobile"}}"#),
        None,
    );
    assert_eq!(res.status, 400, "a public client: {}", res.text());
    let res = redeem(
        &server,
        &format!(r#"{{"code":"{code}"}}"#),
        Some(("partner", "partner-secret")),
    );
    let derived = access_of(&res);
    // The scope is the source token's (openid), not partner's whole scope.
    let info = server.introspect(&derived);
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["scope"], "openid", "{info}");
    assert_eq!(info["client_id"], "partner", "{info}");
    assert_ne!(info["sid"], login["session_state"], "a session of its own");

    // A derived token cannot mint the next code.
    let res = issue_code(&server, &derived, "partner");
    assert_eq!(res.status, 403, "{}", res.text());

    // Revoking the source access token ends the derived session.
    revoke(&server, &source);
    assert!(
        !server.active(&derived),
        "derived token outlived its source"
    );

    // Ending the source session (revoking its refresh token) ends a derived one too.
    let login = v1_alice(&server, "openid");
    let code = code_of(&issue_code(
        &server,
        &str_of(&login, "access_token"),
        "partner",
    ));
    let derived = access_of(&redeem(
        &server,
        &format!(r#"{{"code":"{code}"}}"#),
        Some(("partner", "partner-secret")),
    ));
    assert!(server.active(&derived));
    revoke(&server, &str_of(&login, "refresh_token"));
    assert!(
        !server.active(&derived),
        "derived token outlived its session"
    );

    // Refresh-token reuse detection ends the source session, and the derived one with it.
    let login = v1_alice(&server, "openid");
    let code = code_of(&issue_code(
        &server,
        &str_of(&login, "access_token"),
        "partner",
    ));
    let derived = access_of(&redeem(
        &server,
        &format!(r#"{{"code":"{code}"}}"#),
        Some(("partner", "partner-secret")),
    ));
    let old = str_of(&login, "refresh_token");
    assert_eq!(refresh(&server, &old, None).status, 200);
    oauth_error(&refresh(&server, &old, None), 400, "invalid_grant");
    assert!(
        !server.active(&derived),
        "derived token survived reuse detection"
    );

    // A replayed code ends both what it opened and the session that issued it.
    let login = v1_alice(&server, "openid");
    let code = code_of(&issue_code(
        &server,
        &str_of(&login, "access_token"),
        "partner",
    ));
    let body = format!(r#"{{"code":"{code}"}}"#);
    let derived = access_of(&redeem(&server, &body, Some(("partner", "partner-secret"))));
    let res = redeem(&server, &body, Some(("partner", "partner-secret")));
    assert_eq!(res.status, 400, "{}", res.text());
    assert!(!server.active(&derived));
    assert!(!server.active(&str_of(&login, "access_token")));
    assert!(!server.active(&str_of(&login, "refresh_token")));
}

/// With `--onetime-chain` a derived token may issue codes, and every descendant still ends
/// with the first session.
#[test]
fn chained_one_time_codes_end_with_the_first_session() {
    let server = Server::start_with(|a| a.onetime_chain = true);
    import(&server.db, CLIENTS);
    let login = v1_alice(&server, "openid profile");
    let first = access_of(&redeem(
        &server,
        &format!(
            r#"{{"code":"{}"}}"#,
            code_of(&issue_code(
                &server,
                &str_of(&login, "access_token"),
                "partner"
            ))
        ),
        Some(("partner", "partner-secret")),
    ));
    let second = access_of(&redeem(
        &server,
        &format!(
            r#"{{"code":"{}"}}"#,
            code_of(&issue_code(&server, &first, "demo-client"))
        ),
        Some(("demo-client", "demo-secret")),
    ));
    let info = server.introspect(&second);
    assert_eq!(info["scope"], "openid profile", "{info}");
    assert!(
        info["exp"].as_i64() <= server.introspect(&str_of(&login, "refresh_token"))["exp"].as_i64()
    );
    revoke(&server, &str_of(&login, "refresh_token"));
    assert!(!server.active(&first));
    assert!(
        !server.active(&second),
        "a grandchild outlived the first session"
    );
}

// ----- 2. introspection and revocation --------------------------------------------------

#[test]
fn introspection_needs_a_confidential_client_and_shows_only_its_tokens() {
    let server = Server::start();
    import(&server.db, CLIENTS);
    let alice = server.v1_login("alice", "alice-password-1");
    let katana = server.alice_token();
    for token in [
        str_of(&alice, "access_token"),
        str_of(&alice, "refresh_token"),
        katana.clone(),
    ] {
        // A public client, no secret: refused outright.
        let res = server.send(
            Request::post("/oauth2/introspect")
                .form(&format!("client_id=demo-public&token={token}")),
        );
        oauth_error(&res, 401, "invalid_client");
        // A confidential client sees nothing of another client's (or no client's) tokens.
        let res = server.send(
            Request::post("/oauth2/introspect")
                .basic("rs", "rs-secret")
                .form(&format!("token={token}")),
        );
        assert_eq!(res.status, 200, "{}", res.text());
        assert_eq!(res.text(), r#"{"active":false}"#);
        // One with introspect_any (a resource server) sees everything.
        let res = server.send(
            Request::post("/oauth2/introspect")
                .basic("gateway", "gateway-secret")
                .form(&format!("token={token}")),
        );
        assert_eq!(res.json()["active"], true, "{}", res.text());
    }
    // Refusing a public client is not a failed authentication: it does not lock the address.
    for _ in 0..6 {
        let res = server.send(
            Request::post("/oauth2/introspect")
                .form(&format!("client_id=demo-public&token={katana}")),
        );
        oauth_error(&res, 401, "invalid_client");
    }
    assert!(server.active(&katana));
    // rs sees its own token.
    let own = server.send(
        Request::post("/api/v1/auth/token")
            .basic("rs", "rs-secret")
            .form("grant_type=client_credentials"),
    );
    let own = str_of(&own.json(), "access_token");
    let res = server.send(
        Request::post("/oauth2/introspect")
            .basic("rs", "rs-secret")
            .form(&format!("token={own}")),
    );
    assert_eq!(res.json()["active"], true, "{}", res.text());

    // A public client cannot revoke tokens that are not its own (client-less ones included).
    let res = server.send(
        Request::post("/oauth2/revoke").form(&format!("client_id=demo-public&token={katana}")),
    );
    oauth_error(&res, 400, "unauthorized_client");
    assert!(server.active(&katana));
    // ... but it can revoke its own.
    let public = server
        .send(Request::post("/api/v1/auth/token").form(
            "grant_type=password&username=bob&password=bob-password-1&client_id=demo-public",
        ));
    let public = str_of(&public.json(), "refresh_token");
    let res = server.send(
        Request::post("/oauth2/revoke").form(&format!("client_id=demo-public&token={public}")),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(!server.active(&public));
}

// ----- 3. v1 needs a client ---------------------------------------------------------------

#[test]
fn v1_without_a_client_is_refused_unless_a_default_client_stands_in() {
    let grant = "grant_type=password&username=alice&password=alice-password-1";
    let server = Server::start();
    let res = server.send(
        Request::post("/api/v1/auth/token")
            .form(&format!("{grant}&scope=admin root write:everything")),
    );
    oauth_error(&res, 401, "invalid_client");
    let res = server.send(Request::post("/api/v1/auth/token").form(grant));
    oauth_error(&res, 401, "invalid_client");
    // Katana's /token keeps working without a client, with the (empty) default scope.
    let katana = server.alice_token();
    assert_eq!(server.introspect(&katana).get("scope"), None);

    let server = Server::start_with(|a| {
        a.v1_default_client = Some("demo-client".into());
        a.katana_default_scope = "openid".into();
    });
    let res = server.send(Request::post("/api/v1/auth/token").form(grant));
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["scope"], "openid profile", "demo-client's scope");
    let res =
        server.send(Request::post("/api/v1/auth/token").form(&format!("{grant}&scope=admin root")));
    oauth_error(&res, 400, "invalid_scope");
    let katana = server.alice_token();
    assert_eq!(server.introspect(&katana)["scope"], "openid");
}

// ----- 6. sessions end ----------------------------------------------------------------------

#[test]
fn password_change_and_disable_end_sessions_for_good() {
    let server = Server::start();
    let before = server.v1_login("alice", "alice-password-1");
    let katana = server.alice_token();
    // A new password (as `gatehouse import` or `user passwd` sets it).
    import(
        &server.db,
        r#"{"users":[{"user_name":"alice","password":"alice-password-2","operator":true,
            "editor":true,"query_all":true,"df_visible":true}]}"#,
    );
    assert!(!server.active(&str_of(&before, "access_token")));
    assert!(!server.active(&katana));
    oauth_error(
        &refresh(&server, &str_of(&before, "refresh_token"), None),
        400,
        "invalid_grant",
    );

    // Disable, then re-enable: bob's old tokens stay dead.
    let bob = server.v1_login("bob", "bob-password-1");
    import(
        &server.db,
        r#"{"users":[{"user_name":"bob","disabled":true}]}"#,
    );
    import(
        &server.db,
        r#"{"users":[{"user_name":"bob","disabled":false}]}"#,
    );
    assert!(!server.active(&str_of(&bob, "access_token")));
    oauth_error(
        &refresh(&server, &str_of(&bob, "refresh_token"), None),
        400,
        "invalid_grant",
    );
    // Bob can log in again.
    server.v1_login("bob", "bob-password-1");
}

#[test]
fn refresh_follows_the_clients_current_scope_and_the_session_has_an_end() {
    let server = Server::start_with(|a| {
        a.session_max_lifetime = 600;
        a.refresh_token_lifetime = 86_400;
    });
    let login = server.v1_login("alice", "alice-password-1");
    assert_eq!(login["scope"], "openid profile");
    assert!(
        login["refresh_expires_in"].as_i64() <= Some(600),
        "refresh token past the session's end: {login}"
    );
    // Narrow demo-client to openid.
    import(
        &server.db,
        r#"{"clients":[{"client_id":"demo-client","secret":"demo-secret",
            "grants":["password","refresh_token","client_credentials","authorization_code","onetime"],
            "scope":"openid","redirect_url":"https://app.example/callback",
            "broker_id":"3be9edf1-5491-4d5c-a5c6-423218dfb6cc","introspect_any":true}]}"#,
    );
    let res = refresh(&server, &str_of(&login, "refresh_token"), Some("profile"));
    oauth_error(&res, 400, "invalid_scope");
    let res = refresh(&server, &str_of(&login, "refresh_token"), None);
    assert_eq!(res.status, 200, "{}", res.text());
    let next = res.json();
    assert_eq!(next["scope"], "openid", "the removed scope is gone");
    // Every rotation stays within the session's absolute end.
    let mut token = str_of(&next, "refresh_token");
    for _ in 0..3 {
        let res = refresh(&server, &token, None);
        assert_eq!(res.status, 200, "{}", res.text());
        let v = res.json();
        let left = v["refresh_expires_in"].as_i64().unwrap_or(i64::MAX);
        assert!(left <= 600, "rotation extended the session: {v}");
        assert!(v["expires_in"].as_i64() <= Some(600));
        token = str_of(&v, "refresh_token");
    }
    // Take the password grant away from demo-client: its password sessions stop refreshing.
    import(
        &server.db,
        r#"{"clients":[{"client_id":"demo-client","secret":"demo-secret",
            "grants":["refresh_token","client_credentials","authorization_code","onetime"],
            "scope":"openid","redirect_url":"https://app.example/callback",
            "broker_id":"3be9edf1-5491-4d5c-a5c6-423218dfb6cc","introspect_any":true}]}"#,
    );
    oauth_error(&refresh(&server, &token, None), 400, "unauthorized_client");
}

// ----- 5. the cost of a failed login ----------------------------------------------------------

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn b64_nopad(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}

/// Every failed login costs at least the configured PBKDF2 work, whatever the stored hash:
/// measured in iterations (the server's counter), never in time.
#[test]
fn every_failed_login_costs_the_configured_work() {
    const COST: u64 = 20_000;
    let server = Server::start_with(|a| a.hash_iterations = 20_000);
    let v2 = {
        let mut blob = vec![0u8];
        blob.extend([7u8; 16]);
        blob.extend([9u8; 32]);
        format!("aspnet-identity${}", b64(&blob))
    };
    let v3 = {
        let mut blob = vec![1u8];
        blob.extend(1u32.to_be_bytes()); // HMAC-SHA256
        blob.extend(10_000u32.to_be_bytes());
        blob.extend(16u32.to_be_bytes());
        blob.extend([7u8; 16]);
        blob.extend([9u8; 32]);
        format!("aspnet-identity${}", b64(&blob))
    };
    let old = format!(
        "pbkdf2-sha256$1000${}${}",
        b64_nopad(&[7; 16]),
        b64_nopad(&[9; 32])
    );
    import(
        &server.db,
        &format!(
            r#"{{"users":[{{"user_name":"v2user","password_hash":"{v2}"}},
                {{"user_name":"v3user","password_hash":"{v3}"}},
                {{"user_name":"olduser","password_hash":"{old}"}}]}}"#
        ),
    );
    let iterations = || {
        metric(server.addr, "gatehouse_password_hash_iterations_total")
            .expect("iteration counter on /metrics") as u64
    };
    let mut figures = Vec::new();
    for user in ["alice", "nobody", "v2user", "v3user", "olduser"] {
        let before = iterations();
        let res = server.send(Request::post("/token").form(&format!(
            "grant_type=password&userName={user}&password=wrong"
        )));
        oauth_error(&res, 400, "invalid_grant");
        let spent = iterations() - before;
        figures.push((user, spent));
        assert!(
            spent >= COST,
            "{user}: a failed login cost {spent} iterations"
        );
    }
    println!("iterations per failed login: {figures:?}");
}

// ----- 4. X-Forwarded-For -----------------------------------------------------------------

fn katana_fail(server: &Server, lines: &[&str], user: &str) -> Response {
    let mut r = Request::post("/token");
    for line in lines {
        r = r.header("X-Forwarded-For", line);
    }
    server.send(r.form(&format!(
        "grant_type=password&userName={user}&password=wrong"
    )))
}

#[test]
fn the_proxy_appended_address_is_the_one_that_gets_locked() {
    let server = Server::start_with(|a| {
        a.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
        a.lockout_initial_delay = 600;
    });
    // The attacker forges a new first line each time; HAProxy appends the real address.
    for i in 0..5 {
        let forged = format!("198.51.100.{i}");
        let res = katana_fail(&server, &[&forged, "203.0.113.5"], &format!("ghost{i}"));
        oauth_error(&res, 400, "invalid_grant");
    }
    let res = katana_fail(&server, &["198.51.100.77", "203.0.113.5"], "ghost9");
    assert_eq!(
        res.status,
        429,
        "the address was not locked: {}",
        res.text()
    );
    // With a port, it is the same address.
    let res = katana_fail(&server, &["203.0.113.5:40000"], "ghost10");
    assert_eq!(res.status, 429, "{}", res.text());
    // Someone else behind the same proxy is not affected.
    let res = server.send(
        Request::post("/token")
            .header("X-Forwarded-For", "203.0.113.6")
            .form("grant_type=password&userName=alice&password=alice-password-1"),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    // A hop that is not an address is refused, never counted against the proxy.
    for junk in ["unknown", "203.0.113.5, garbage"] {
        let res = katana_fail(&server, &[junk], "ghost11");
        assert_eq!(res.status, 400, "{junk}: {}", res.text());
        assert!(
            res.text().contains("did not identify the caller"),
            "{}",
            res.text()
        );
    }
    // v1 echoes the address it settled on, port stripped.
    let res = server.send(
        Request::post("/api/v1/auth/token")
            .basic("demo-client", "demo-secret")
            .header("X-Forwarded-For", "10.0.0.1, [2001:db8::7]:443")
            .form("grant_type=client_credentials"),
    );
    assert_eq!(res.json()["ip"], "2001:db8::7", "{}", res.text());
}

#[test]
fn ipv6_callers_are_locked_by_their_64() {
    let server = Server::start_with(|a| {
        a.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
        a.lockout_initial_delay = 600;
    });
    for i in 1..=5 {
        let addr = format!("2001:db8:1:2::{i:x}");
        oauth_error(
            &katana_fail(&server, &[&addr], &format!("ghost{i}")),
            400,
            "invalid_grant",
        );
    }
    let res = katana_fail(&server, &["2001:db8:1:2:ffff:ffff:ffff:ffff"], "ghost9");
    assert_eq!(res.status, 429, "rotating within the /64: {}", res.text());
    let res = server.send(
        Request::post("/token")
            .header("X-Forwarded-For", "2001:db8:1:3::1")
            .form("grant_type=password&userName=alice&password=alice-password-1"),
    );
    assert_eq!(
        res.status,
        200,
        "the next /64 is not locked: {}",
        res.text()
    );
}

// ----- 7. one-time code flood ------------------------------------------------------------

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Many sessions of one user, each issuing codes with the largest payload allowed, far past
/// every cap: the outstanding codes, the rows and the file stay bounded.
#[test]
fn a_one_time_code_flood_is_bounded() {
    let server = Server::start();
    let payload: String = (0..32)
        .map(|i| format!(r#""k{i:02}":"{}""#, "x".repeat(120)))
        .collect::<Vec<_>>()
        .join(",");
    let body = format!(r#"{{"clientId":"demo-client","payload":{{{payload}}}}}"#);
    assert!(body.len() > 4000);
    // Over the payload cap: refused.
    let huge = format!(
        r#"{{"clientId":"demo-client","payload":{{"a":"{}","b":"{}","c":"{}","d":"{}","e":"{}"}}}}"#,
        "x".repeat(1000),
        "x".repeat(1000),
        "x".repeat(1000),
        "x".repeat(1000),
        "x".repeat(1000)
    );
    let token = server.alice_token();
    let res = server.send(
        Request::post("/oauth2/onetime/token")
            .bearer(&token)
            .json(&huge),
    );
    assert_eq!(res.status, 400, "{}", res.text());

    let (mut ok, mut limited) = (0, 0);
    for _ in 0..10 {
        let token = server.alice_token();
        for _ in 0..20 {
            let res = server.send(
                Request::post("/oauth2/onetime/token")
                    .bearer(&token)
                    .json(&body),
            );
            match res.status {
                200 => ok += 1,
                429 => {
                    assert!(res.header("retry-after").is_some());
                    limited += 1;
                }
                other => panic!("{other}: {}", res.text()),
            }
        }
    }
    let rows = count_rows(&server.db, "onetime_codes");
    let wal = server.db.with_extension("db-wal");
    let bytes = file_len(&server.db) + file_len(&wal);
    println!(
        "one-time flood: 200 requests, {ok} codes issued, {limited} refused (429), \
         {rows} rows, {bytes} bytes (database + WAL)"
    );
    assert!(ok <= 16, "{ok} codes issued to one user");
    assert!(rows <= 16, "{rows} outstanding codes");
    assert_eq!(ok + limited, 200);
    assert!(bytes < 4 * 1024 * 1024, "{bytes} bytes after the flood");
}

// ----- 12. refresh grace -------------------------------------------------------------------

#[test]
fn a_replay_in_the_grace_window_gets_one_retry_not_a_fork_each_time() {
    let server = Server::start_with(|a| a.refresh_grace = 30);
    let login = server.v1_login("alice", "alice-password-1");
    let old = str_of(&login, "refresh_token");
    let first = refresh(&server, &old, None);
    assert_eq!(first.status, 200, "{}", first.text());
    let first = str_of(&first.json(), "refresh_token");
    // One concurrent-style retry: a second head, both live.
    let retry = refresh(&server, &old, None);
    assert_eq!(retry.status, 200, "{}", retry.text());
    let retry = str_of(&retry.json(), "refresh_token");
    assert!(server.active(&first) && server.active(&retry));
    // Any further replay is reuse: the family ends.
    for _ in 0..9 {
        oauth_error(&refresh(&server, &old, None), 400, "invalid_grant");
    }
    assert!(!server.active(&first));
    assert!(!server.active(&retry));
    let live: i64 = count_live_refresh(&server.db);
    assert_eq!(live, 0, "live refresh tokens after 10 replays");
}

fn count_live_refresh(db: &Path) -> i64 {
    use diesel::{Connection as _, RunQueryDsl as _};
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn =
        diesel::SqliteConnection::establish(&db.to_string_lossy()).expect("database opens");
    diesel::sql_query(
        "SELECT count(*) AS n FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id \
         WHERE r.rotated_at IS NULL AND r.revoked_at IS NULL AND s.ended_at IS NULL",
    )
    .get_result::<Count>(&mut conn)
    .expect("count")
    .n
}

// ----- 13. lockout codes -------------------------------------------------------------------

#[test]
fn a_locked_address_is_throttled_not_told_its_grant_is_bad() {
    let server = Server::start_with(|a| a.lockout_initial_delay = 600);
    for i in 0..5 {
        let res = server.send(
            Request::post("/api/v1/auth/token")
                .basic("demo-client", &format!("guess-{i}"))
                .form("grant_type=client_credentials"),
        );
        oauth_error(&res, 401, "invalid_client");
    }
    // The right secret from the locked address: throttled, 429 + Retry-After.
    let res = server.send(
        Request::post("/api/v1/auth/token")
            .basic("demo-client", "demo-secret")
            .form("grant_type=client_credentials"),
    );
    oauth_error(&res, 429, "temporarily_unavailable");
    assert!(res.header("retry-after").is_some());
}

/// The lockout record of `key`: its failure count (0 without one).
fn failures_of(db: &Path, key: &str) -> i64 {
    use diesel::{Connection as _, RunQueryDsl as _};
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn =
        diesel::SqliteConnection::establish(&db.to_string_lossy()).expect("database opens");
    diesel::sql_query(
        "SELECT coalesce(max(failures), 0) AS n FROM login_failures WHERE lock_key = ?",
    )
    .bind::<diesel::sql_types::Text, _>(key)
    .get_result::<Count>(&mut conn)
    .expect("count")
    .n
}

/// Client-credentials and refresh grants authenticate their client on the HTTP worker and
/// queue the count of a wrong secret (issue 23): each refusal is still answered only once its
/// count is on disk (read from the database right after each answer), and a refused refresh
/// spends nothing.
#[test]
fn a_wrong_secret_at_a_grant_is_counted_before_its_answer() {
    let server = Server::start_with(|a| a.lockout_initial_delay = 600);
    let login = server.v1_login("alice", "alice-password-1");
    let token = str_of(&login, "refresh_token");
    let bodies = [
        "grant_type=client_credentials".to_owned(),
        format!("grant_type=refresh_token&refresh_token={token}"),
    ];
    for (i, body) in bodies.iter().cycle().take(4).enumerate() {
        let res = server.send(
            Request::post("/api/v1/auth/token")
                .basic("demo-client", &format!("guess-{i}"))
                .form(body),
        );
        oauth_error(&res, 401, "invalid_client");
        assert_eq!(
            failures_of(&server.db, "ip:127.0.0.1"),
            i64::try_from(i + 1).expect("small"),
            "after refusal {i} ({body})"
        );
    }
    let res = refresh(&server, &token, None);
    assert_eq!(res.status, 200, "{}", res.text());
}

/// A sprayer's wrong secrets in parallel: every `invalid_client` answered was counted (the
/// writer serializes the counts, none is lost), and once the address is locked the right
/// secret is throttled.
#[test]
fn parallel_wrong_secrets_are_each_counted() {
    let server = Server::start_with(|a| a.lockout_initial_delay = 600);
    let addr = server.addr;
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..8)
            .map(|t| {
                scope.spawn(move || {
                    (0..3)
                        .map(|i| {
                            Request::post("/oauth2/token")
                                .basic("demo-client", &format!("guess-{t}-{i}"))
                                .form("grant_type=client_credentials")
                                .send(addr)
                                .status
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("thread"))
            .collect()
    });
    let refused = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    assert!(refused >= 5, "{statuses:?}");
    assert_eq!(
        failures_of(&server.db, "ip:127.0.0.1"),
        i64::try_from(refused).expect("small"),
        "{statuses:?}"
    );
    let res = server.send(
        Request::post("/oauth2/token")
            .basic("demo-client", "demo-secret")
            .form("grant_type=client_credentials"),
    );
    oauth_error(&res, 429, "temporarily_unavailable");
}

/// Introspection only reads on the HTTP worker; the edge counts a wrong client secret off the
/// worker. The count still adds up: five wrong secrets at `/oauth2/introspect` lock the
/// address, and the right secret from it is then throttled there and at the token endpoint.
#[test]
fn wrong_secrets_at_introspection_still_lock_the_address() {
    let server = Server::start_with(|a| a.lockout_initial_delay = 600);
    let introspect = |secret: &str| {
        server.send(
            Request::post("/oauth2/introspect")
                .basic("demo-client", secret)
                .form("token=whatever"),
        )
    };
    for i in 0..5 {
        oauth_error(&introspect(&format!("guess-{i}")), 401, "invalid_client");
    }
    let res = introspect("demo-secret");
    oauth_error(&res, 429, "temporarily_unavailable");
    let res = server.send(
        Request::post("/api/v1/auth/token")
            .basic("demo-client", "demo-secret")
            .form("grant_type=client_credentials"),
    );
    oauth_error(&res, 429, "temporarily_unavailable");
}

/// As docs/security.md says: a success clears the account's count, not the address's (so
/// an attacker sharing an address cannot reset it with a login of their own in between).
#[test]
fn a_success_does_not_reset_the_address_count() {
    let server = Server::start_with(|a| a.lockout_initial_delay = 600);
    let fail = |user: &str| {
        server.send(Request::post("/token").form(&format!(
            "grant_type=password&userName={user}&password=wrong"
        )))
    };
    for i in 0..4 {
        oauth_error(&fail(&format!("ghost{i}")), 400, "invalid_grant");
    }
    server.alice_token();
    oauth_error(&fail("ghost4"), 400, "invalid_grant");
    let res = fail("ghost5");
    assert_eq!(res.status, 429, "{}", res.text());
}

// ----- 9. Windows domains ------------------------------------------------------------------

#[test]
fn windows_principals_must_name_a_configured_domain() {
    let server = Server::start_with(|a| {
        a.windows_auth_header = Some("X-Remote-User".into());
        a.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
        a.windows_domains = vec!["CORP".into(), "corp.example".into()];
    });
    let body =
        r#"{"WindowsAuthentication":true,"client_id":"demo-client","client_secret":"demo-secret"}"#;
    let login = |principal: &str| {
        server.send(
            Request::post("/api/v1/auth/token")
                .header("X-Remote-User", principal)
                .json(body),
        )
    };
    for ok in ["CORP\\alice", "alice@corp.example"] {
        let res = login(ok);
        assert_eq!(res.status, 200, "{ok}: {}", res.text());
        assert_eq!(
            server.introspect(&str_of(&res.json(), "access_token"))["username"],
            "alice"
        );
    }
    for refused in [
        "UNTRUSTED-FOREST\\alice",
        "alice@evil.example",
        "evil\\x\\alice",
        "alice",
    ] {
        let res = login(refused);
        assert_eq!(res.status, 400, "{refused}: {}", res.text());
        assert!(res.json()["access_token"].is_null());
    }
}

// ----- 14. hygiene ----------------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn database_files_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let server = Server::start();
    server.alice_token();
    for suffix in ["", "-wal", "-shm"] {
        let path = std::path::PathBuf::from(format!("{}{suffix}", server.db.display()));
        let mode = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "{}: {:o}",
            path.display(),
            mode & 0o777
        );
    }
}

#[test]
fn metrics_on_their_own_listener_match_the_path_exactly() {
    let server =
        Server::start_with(|a| a.metrics_bind = Some("127.0.0.1:0".parse().expect("addr")));
    let metrics = server.metrics_addr().expect("metrics listener");
    let res = Request::get("/metrics").send(metrics);
    assert_eq!(res.status, 200);
    assert!(res.text().contains("gatehouse_password_hashes_total"));
    for variant in [
        "/METRICS",
        "/%6detrics",
        "/metrics/",
        "/Metrics",
        "/metrics?x=1/..",
    ] {
        let res = Request::get(variant).send(metrics);
        if variant.starts_with("/metrics?") {
            assert_eq!(res.status, 200, "a query string is not another path");
            continue;
        }
        assert_eq!(res.status, 404, "{variant} on the metrics listener");
    }
    // Not on the main listener, under any spelling.
    for variant in ["/metrics", "/METRICS", "/%6detrics", "/metrics/"] {
        let res = server.send(Request::get(variant));
        assert_eq!(
            res.status,
            404,
            "{variant} on the main listener: {}",
            res.text()
        );
    }
    assert_eq!(server.send(Request::get("/healthz")).status, 200);
}
