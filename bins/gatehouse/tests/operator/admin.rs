//! `--admin-bind`: the admin API with the real binary on both backends. Who is refused (no
//! token, a bad, expired or revoked one, a user's, a client's without `gatehouse:admin`, one
//! whose client lost the scope), what each operation does (seen through the protocol
//! endpoints and the command line), that every call is audited with the operator and
//! counted, that bad input is a 400 problem and never a 500, and that no secret reaches the
//! audit log.

use std::net::{SocketAddr, TcpListener};

use gatehouse_tests::{Request, Response};
use serde_json::Value;

use crate::harness::{both, Backend, Env, Server};

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
}

/// `serve --demo --admin-bind …` with an audit log and a key-encryption key (so keys can be
/// rotated on both backends).
fn serve(env: &Env) -> (Server, SocketAddr) {
    let admin = free_addr();
    let kek = env.path("kek");
    std::fs::write(&kek, "11".repeat(32)).expect("kek");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&kek, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let args = [
        "--admin-bind".to_owned(),
        admin.to_string(),
        "--audit-log".to_owned(),
        env.path("audit.jsonl").display().to_string(),
        "--key-encryption-key-file".to_owned(),
        kek.display().to_string(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    (env.serve(&args), admin)
}

/// A client-credentials token of `client` with `scope`: the response.
fn client_token(server: &Server, client: &str, secret: &str, scope: &str) -> Response {
    server.send(
        Request::post("/oauth2/token")
            .basic(client, secret)
            .form(&format!("grant_type=client_credentials&scope={scope}")),
    )
}

#[track_caller]
fn admin_token(server: &Server) -> String {
    let res = client_token(server, "demo-admin", "demo-admin-secret", "gatehouse:admin");
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned()
}

fn call(admin: SocketAddr, request: Request, token: Option<&str>) -> Response {
    match token {
        Some(t) => request.bearer(t),
        None => request,
    }
    .send(admin)
}

fn events(env: &Env) -> Vec<Value> {
    std::fs::read_to_string(env.path("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn last_event(env: &Env) -> Value {
    events(env).pop().expect("an audit event")
}

/// A refusal: its status, the problem body, the challenge; the last audit event says why.
#[track_caller]
fn assert_refused(env: &Env, res: &Response, status: u16, challenge: &str, reason: &str) {
    assert_eq!(res.status, status, "{}", res.text());
    assert_eq!(res.header("content-type"), Some("application/problem+json"));
    assert_eq!(res.json()["status"], status);
    assert!(
        res.header("www-authenticate").is_some_and(|h| h
            .starts_with("Bearer realm=\"gatehouse-admin\"")
            && h.contains(challenge)),
        "{:?}",
        res.header("www-authenticate")
    );
    let event = last_event(env);
    assert_eq!(event["event"], "admin_refused", "{event}");
    assert_eq!(event["reason"], reason, "{event}");
    assert_eq!(event["via"], "admin_api");
}

both!(
    admin_api_refuses_every_caller_but_an_admin_client,
    |env: Env| {
        let (server, admin) = serve(&env);
        let users = || Request::get("/admin/v1/users");

        // Nothing without a token: a bare challenge (RFC 6750 3.1).
        let res = call(admin, users(), None);
        assert_refused(&env, &res, 401, "realm", "no_token");
        assert!(!res
            .header("www-authenticate")
            .unwrap_or("")
            .contains("error="));
        assert_eq!(last_event(&env)["operator"], Value::Null);
        // A token that is no token.
        let res = call(admin, users(), Some("not-a-token"));
        assert_refused(&env, &res, 401, "error=\"invalid_token\"", "invalid_token");
        // A user's token (a password grant of the demo client).
        let alice = server.token("alice", "alice-password-1");
        let res = call(admin, users(), Some(&alice));
        assert_refused(
            &env,
            &res,
            403,
            "error=\"insufficient_scope\"",
            "user_token",
        );
        assert!(res
            .header("www-authenticate")
            .unwrap_or("")
            .contains("scope=\"gatehouse:admin\""));
        // A confidential client without the scope (its client-credentials token).
        let res = client_token(&server, "demo-client", "demo-secret", "openid");
        let other = res.json()["access_token"]
            .as_str()
            .expect("token")
            .to_owned();
        let res = call(admin, users(), Some(&other));
        assert_refused(&env, &res, 403, "insufficient_scope", "missing_scope");
        // ... nor can it ask for the scope.
        let res = client_token(&server, "demo-client", "demo-secret", "gatehouse:admin");
        assert_eq!(res.status, 400, "{}", res.text());
        assert_eq!(res.json()["error"], "invalid_scope");
        // The OpenAPI document is not data: it needs no token.
        let doc = call(admin, Request::get("/admin/v1/openapi.json"), None);
        assert_eq!(doc.status, 200);
        assert_eq!(doc.json()["openapi"], "3.1.0");

        // The admin client's token works ...
        let token = admin_token(&server);
        let res = call(admin, users(), Some(&token));
        assert_eq!(res.status, 200, "{}", res.text());
        let event = last_event(&env);
        assert_eq!(
            (&event["event"], &event["operator"], &event["action"]),
            (
                &"admin_action".into(),
                &"demo-admin".into(),
                &"user.list".into()
            )
        );
        // ... until revoked (RFC 7009 by its own client).
        let revoke = server.send(
            Request::post("/oauth2/revoke")
                .basic("demo-admin", "demo-admin-secret")
                .form(&format!("token={token}")),
        );
        assert_eq!(revoke.status, 200, "{}", revoke.text());
        let res = call(admin, users(), Some(&token));
        assert_refused(&env, &res, 401, "invalid_token", "invalid_token");

        // A token whose client lost the scope is refused at once, though the token holds it.
        let token = admin_token(&server);
        env.run(&["client", "update", "demo-admin", "--scope", "api"])
            .expect(0);
        let res = call(admin, users(), Some(&token));
        assert_refused(&env, &res, 403, "insufficient_scope", "missing_scope");
        env.run(&[
            "client",
            "update",
            "demo-admin",
            "--scope",
            "gatehouse:admin",
        ])
        .expect(0);

        // An expired token (a client whose tokens live one second).
        let doc = env.path("short.json");
        std::fs::write(
            &doc,
            r#"{"clients": [{"client_id": "short-admin", "secret": "short-admin-secret",
            "grants": ["client_credentials"], "scope": "gatehouse:admin",
            "access_token_lifetime_secs": 1}]}"#,
        )
        .expect("document");
        env.run(&["import", &doc.display().to_string()]).expect(0);
        let res = client_token(
            &server,
            "short-admin",
            "short-admin-secret",
            "gatehouse:admin",
        );
        let short = res.json()["access_token"]
            .as_str()
            .expect("token")
            .to_owned();
        assert_eq!(call(admin, users(), Some(&short)).status, 200);
        std::thread::sleep(std::time::Duration::from_millis(2100));
        let res = call(admin, users(), Some(&short));
        assert_refused(&env, &res, 401, "invalid_token", "invalid_token");

        // Unknown paths and methods are refusals too, audited and counted.
        let res = call(admin, Request::get("/admin/v1/nothing"), None);
        assert_eq!(res.status, 404);
        assert_eq!(last_event(&env)["reason"], "not_found");
        let res = call(admin, Request::post("/admin/v1/users"), None);
        assert_eq!(res.status, 405);
        assert_eq!(last_event(&env)["reason"], "method_not_allowed");
        // The admin API is not on the main listener.
        let main = server.send(Request::get("/admin/v1/users").bearer(&admin_token(&server)));
        assert_eq!(main.status, 404, "{}", main.text());

        let refused: Vec<Value> = events(&env)
            .into_iter()
            .filter(|e| e["event"] == "admin_refused")
            .collect();
        assert_eq!(refused.len(), 9, "{refused:?}");
        let metrics = server.send(Request::get("/metrics")).text().to_owned();
        assert!(
            metrics.contains("gatehouse_admin_requests_total{outcome=\"refused\"} 9"),
            "{metrics}"
        );
        assert!(metrics.contains("gatehouse_admin_requests_total{outcome=\"ok\"} 2"));
        assert!(metrics.contains("gatehouse_audit_events_total{kind=\"admin_refused\"} 9"));
    }
);

both!(admin_api_runs_the_operators_operations, |env: Env| {
    let (server, admin) = serve(&env);
    let token = admin_token(&server);
    let get = |path: &str| call(admin, Request::get(path), Some(&token));
    let post = |path: &str, body: &str| call(admin, Request::post(path).json(body), Some(&token));
    let mut secrets = vec!["demo-admin-secret".to_owned(), token.clone()];

    // Users: the filter; one user with their sessions.
    let res = get("/admin/v1/users?filter=ALI");
    assert_eq!(res.status, 200, "{}", res.text());
    let names: Vec<Value> = res
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|u| u["user_name"].clone())
        .collect();
    assert_eq!(names, ["alice"]);
    let alice = server.token("alice", "alice-password-1");
    secrets.push(alice.clone());
    let shown = get("/admin/v1/users/alice").json();
    assert_eq!(shown["user"]["user_name"], "alice");
    assert_eq!(shown["member"]["member_id"], "1234");
    assert_eq!(shown["sessions"].as_array().map(Vec::len), Some(1));
    assert!(shown["user"].get("password_hash").is_none());
    let sessions = get("/admin/v1/sessions?user=alice").json();
    assert_eq!(sessions["sessions"][0]["client_id"], "demo-client");

    // End sessions: alice's token dies.
    let res = post("/admin/v1/users/alice/end-sessions", "");
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["ended"], 1);
    assert!(!server.active(&alice));

    // Lockouts: five wrong passwords lock bob; unlock lets him in.
    for _ in 0..5 {
        assert_eq!(server.login("bob", "wrong-password-9").status, 400);
    }
    secrets.push("wrong-password-9".to_owned());
    assert_eq!(server.login("bob", "bob-password-1").status, 429);
    let locks = get("/admin/v1/lockouts?prefix=user:").json();
    assert_eq!(locks[0]["key"], "user:bob");
    assert_eq!(locks[0]["locked"], true);
    let res = post(
        "/admin/v1/users/bob/unlock",
        r#"{"addresses": ["127.0.0.1"]}"#,
    );
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        res.json()["cleared"],
        serde_json::json!(["user:bob", "ip:127.0.0.1"])
    );
    assert_eq!(server.login("bob", "bob-password-1").status, 200);

    // Disable and enable.
    assert_eq!(post("/admin/v1/users/bob/disable", "").status, 200);
    assert_eq!(server.login("bob", "bob-password-1").status, 400);
    assert_eq!(post("/admin/v1/users/bob/enable", "").status, 200);
    assert_eq!(server.login("bob", "bob-password-1").status, 200);

    // Clients: list, show, update (seen by the command line), rotate the secret.
    let clients = get("/admin/v1/clients").json();
    assert!(clients
        .as_array()
        .expect("array")
        .iter()
        .any(|c| c["client_id"] == "demo-admin"));
    assert!(!get("/admin/v1/clients/demo-client")
        .text()
        .contains("secret_hash"));
    let res = call(
        admin,
        Request::patch("/admin/v1/clients/demo-client")
            .json(r#"{"scope": "openid profile email", "client_name": "Renamed"}"#),
        Some(&token),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    let cli = env.json(&["client", "show", "demo-client"]);
    assert_eq!(
        (cli["scope"].as_str(), cli["name"].as_str()),
        (Some("openid profile email"), Some("Renamed"))
    );
    let res = post("/admin/v1/clients/demo-client/rotate-secret", "");
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let secret = res.json()["client_secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    secrets.push(secret.clone());
    assert_eq!(
        client_token(&server, "demo-client", "demo-secret", "openid").status,
        401
    );
    assert_eq!(
        client_token(&server, "demo-client", &secret, "openid").status,
        200
    );

    // Keys: rotate (pending), retire.
    let res = post("/admin/v1/keys", r#"{"alg": "ES256", "publish_delay": 0}"#);
    assert_eq!(res.status, 200, "{}", res.text());
    let kid = res.json()["kid"].as_str().expect("kid").to_owned();
    let keys = get("/admin/v1/keys").json();
    assert!(keys
        .as_array()
        .expect("array")
        .iter()
        .any(|k| k["kid"] == kid.as_str()));
    let res = post(
        &format!("/admin/v1/keys/{kid}/retire"),
        r#"{"keep_published_for": 60}"#,
    );
    assert_eq!(res.status, 200, "{}", res.text());
    let keys = env.run(&["keys", "list"]).expect(0);
    assert!(
        keys.lines()
            .any(|l| l.starts_with(&kid) && l.contains("retired")),
        "{keys}"
    );

    // Bad input: a 400 or 404 problem, never a 500, nothing changed.
    for (request, status) in [
        (Request::post("/admin/v1/users/bob/unlock").json("{"), 400),
        (
            Request::post("/admin/v1/users/bob/unlock").json(r#"{"addresses": ["nope"]}"#),
            400,
        ),
        (
            Request::post("/admin/v1/users/bob/unlock").json(r#"{"extra": 1}"#),
            400,
        ),
        (Request::post("/admin/v1/users/nobody/disable"), 404),
        (Request::get("/admin/v1/users/nobody"), 404),
        (Request::get("/admin/v1/sessions"), 400),
        (Request::get("/admin/v1/users?filter=a&filter=b"), 400),
        (
            Request::patch("/admin/v1/clients/demo-client").json(r#"{"grants": ["bogus"]}"#),
            400,
        ),
        (
            Request::patch("/admin/v1/clients/demo-client")
                .json(r#"{"redirect_uris": ["not a uri"]}"#),
            400,
        ),
        (
            Request::patch("/admin/v1/clients/demo-client").json(r#"{"client_id": "other"}"#),
            400,
        ),
        (Request::patch("/admin/v1/clients/nobody").json("{}"), 404),
        (Request::post("/admin/v1/clients/nobody/rotate-secret"), 404),
        (
            Request::post("/admin/v1/keys").json(r#"{"alg": "HS256"}"#),
            400,
        ),
        (
            Request::post("/admin/v1/keys").json(r#"{"publish_delay": -1}"#),
            400,
        ),
        (Request::post("/admin/v1/keys/nokey/retire"), 404),
        (Request::get("/admin/v1/audit?limit=0"), 400),
        (Request::get("/admin/v1/audit?limit=x"), 400),
        (
            Request::post("/admin/v1/users/bob/unlock").body(&[0xff; 70 * 1024]),
            413,
        ),
    ] {
        let res = call(admin, request, Some(&token));
        assert_eq!(res.status, status, "{}", res.text());
        if status != 413 {
            assert_eq!(res.header("content-type"), Some("application/problem+json"));
        }
    }
    let cli = env.json(&["client", "show", "demo-client"]);
    assert_eq!(
        cli["scope"], "openid profile email",
        "unchanged by the refusals"
    );

    // The audit trail, read back through the API: every call, newest first, the operator.
    let trail = get("/admin/v1/audit?limit=1000").json();
    let trail = trail.as_array().expect("array");
    // Newest first: the last refusal (the read is audited after it answered).
    assert_eq!(trail[0]["request"], "GET /admin/v1/audit", "{:?}", trail[0]);
    assert_eq!(last_event(&env)["action"], "audit.read");
    let actions: Vec<&str> = trail
        .iter()
        .filter(|e| e["event"] == "admin_action")
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "user.list",
        "user.show",
        "session.list",
        "user.end_sessions",
        "lockout.list",
        "user.unlock",
        "user.disable",
        "user.enable",
        "client.list",
        "client.show",
        "client.update",
        "client.rotate_secret",
        "keys.rotate",
        "keys.list",
        "keys.retire",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    assert!(trail
        .iter()
        .filter(|e| e["via"] == "admin_api")
        .all(|e| e["operator"] == "demo-admin"));
    let refusals = trail
        .iter()
        .filter(|e| e["event"] == "admin_refused")
        .count();
    assert_eq!(
        refusals, 17,
        "every bad input is audited (the 413 never reached a handler)"
    );
    let log = std::fs::read_to_string(env.path("audit.jsonl")).expect("log");
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "a secret in the audit log");
    }
    assert!(!server.log().contains(&secret));
});

/// The `name=value` of a response's `Set-Cookie` named `name`.
fn set_cookie(res: &Response, name: &str) -> Option<String> {
    res.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.clone())
        .find(|v| v.starts_with(&format!("{name}=")))
}

fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|piece| {
            let (name, rest) = piece.split_once('"').expect("name");
            let value = rest
                .split_once("value=\"")
                .and_then(|(_, v)| v.split_once('"'))
                .map(|(v, _)| v.replace("&amp;", "&"))
                .unwrap_or_default();
            (name.to_owned(), value)
        })
        .collect()
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/')
        .map_or("/".to_owned(), |i| rest[i..].to_owned())
}

/// The console's sign-in through the server's own login page: the callback's response.
fn console_sign_in(server: &Server, admin: SocketAddr, user: &str, password: &str) -> Response {
    let start = Request::get("/admin/console/login").send(admin);
    assert_eq!(start.status, 303, "{}", start.text());
    let login_cookie = set_cookie(&start, "__Host-gatehouse-console-login").expect("login cookie");
    assert!(login_cookie.contains("HttpOnly") && login_cookie.contains("Secure"));
    let login_cookie = login_cookie.split(';').next().expect("pair").to_owned();
    let authorize = start.header("location").expect("location");
    assert!(
        authorize.contains("code_challenge_method=S256"),
        "{authorize}"
    );
    let page = server.send(Request::get(&path_of(authorize)));
    assert_eq!(page.status, 200, "{}", page.text());
    let form_cookie = page
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("form cookie")
        .to_owned();
    let mut body: Vec<String> = hidden_fields(page.text())
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    body.push(format!("username={user}&password={password}"));
    let res = server.send(
        Request::post("/oauth2/login")
            .header("Cookie", &form_cookie)
            .form(&body.join("&")),
    );
    assert_eq!(res.status, 303, "{}", res.text());
    let callback = res.header("location").expect("callback");
    assert!(
        callback.starts_with(&format!("http://{admin}/admin/console/callback?")),
        "{callback}"
    );
    Request::get(&path_of(callback))
        .header("Cookie", &login_cookie)
        .send(admin)
}

#[track_caller]
fn session_cookie(res: &Response) -> String {
    assert_eq!(res.status, 303, "{}", res.text());
    let cookie = set_cookie(res, "__Host-gatehouse-console").expect("session cookie");
    for attribute in ["Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Domain"), "host-only: {cookie}");
    cookie.split(';').next().expect("pair").to_owned()
}

fn csrf_of(html: &str) -> String {
    hidden_fields(html)
        .into_iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v)
        .expect("a csrf field")
}

both!(
    console_signs_operators_in_and_guards_every_form,
    |env: Env| {
        let (server, admin) = serve(&env);
        // Without a session: to the sign-in.
        let res = Request::get("/admin/console/").send(admin);
        assert_eq!(res.status, 303);
        assert_eq!(res.header("location"), Some("/admin/console/login"));

        // bob has no operator flag: refused after a correct sign-in, audited, his token ended.
        let res = console_sign_in(&server, admin, "bob", "bob-password-1");
        assert_eq!(res.status, 403, "{}", res.text());
        assert!(set_cookie(&res, "__Host-gatehouse-console").is_none());
        let event = last_event(&env);
        assert_eq!(
            (event["reason"].as_str(), event["operator"].as_str()),
            (Some("not_operator"), Some("bob"))
        );
        // ... and the session his sign-in opened is ended at once.
        let bob = env.json(&["user", "show", "bob"]);
        assert_eq!(bob["sessions"].as_array().map(Vec::len), Some(0), "{bob}");

        // alice is an operator.
        let alice = session_cookie(&console_sign_in(
            &server,
            admin,
            "alice",
            "alice-password-1",
        ));
        let page = Request::get("/admin/console/?q=bo")
            .header("Cookie", &alice)
            .send(admin);
        assert_eq!(page.status, 200, "{}", page.text());
        assert!(page
            .header("content-security-policy")
            .is_some_and(|c| c.contains("default-src 'none'")));
        assert!(
            page.text().contains("/admin/console/users/bob") && !page.text().contains("<script")
        );
        let csrf = csrf_of(page.text());
        // A second session of alice: its own CSRF token.
        let other = session_cookie(&console_sign_in(
            &server,
            admin,
            "alice",
            "alice-password-1",
        ));
        let other_csrf = csrf_of(
            Request::get("/admin/console/")
                .header("Cookie", &other)
                .send(admin)
                .text(),
        );
        assert_ne!(csrf, other_csrf);
        // Signing out revokes the session's token: its cookie no longer enters.
        let res = Request::post("/admin/console/logout")
            .header("Cookie", &other)
            .form(&format!("csrf={}", encode(&other_csrf)))
            .send(admin);
        assert_eq!(res.status, 200, "{}", res.text());
        let res = Request::get("/admin/console/")
            .header("Cookie", &other)
            .send(admin);
        assert_eq!(res.status, 303, "signed out: {}", res.text());

        // bob logs in (a session to end) and gets locked by failures from another address.
        let bob_token = server.token("bob", "bob-password-1");
        let post = |path: &str, cookie: &str, body: &str| {
            Request::post(path)
                .header("Cookie", cookie)
                .form(body)
                .send(admin)
        };
        // CSRF missing, foreign, forged: refused, audited, nothing ended.
        for body in [
            String::new(),
            format!("csrf={}", encode(&other_csrf)),
            "csrf=AAAA".to_owned(),
        ] {
            let res = post("/admin/console/users/bob/end-sessions", &alice, &body);
            assert_eq!(res.status, 403, "{}", res.text());
            let event = last_event(&env);
            assert_eq!(
                (event["reason"].as_str(), event["via"].as_str()),
                (Some("csrf"), Some("console"))
            );
        }
        assert!(server.active(&bob_token));
        // No session at all: refused.
        let res = post(
            "/admin/console/users/bob/end-sessions",
            "x=y",
            &format!("csrf={}", encode(&csrf)),
        );
        assert_eq!(res.status, 401, "{}", res.text());
        assert!(server.active(&bob_token));
        // With its own token: done, audited with the operator.
        let res = post(
            "/admin/console/users/bob/end-sessions",
            &alice,
            &format!("csrf={}", encode(&csrf)),
        );
        assert_eq!(res.status, 303, "{}", res.text());
        assert!(!server.active(&bob_token));
        let event = last_event(&env);
        assert_eq!(
            (
                event["action"].as_str(),
                event["operator"].as_str(),
                event["via"].as_str(),
                event["target"].as_str()
            ),
            (
                Some("user.end_sessions"),
                Some("alice"),
                Some("console"),
                Some("bob")
            )
        );

        // Unlock: bob locked, the user page shows it, the form lifts it.
        for _ in 0..5 {
            server.login("bob", "wrong-password-9");
        }
        let page = Request::get("/admin/console/users/bob")
            .header("Cookie", &alice)
            .send(admin);
        assert!(page.text().contains("locked until"), "{}", page.text());
        let res = post(
            "/admin/console/users/bob/unlock",
            &alice,
            &format!("csrf={}&address=127.0.0.1", encode(&csrf)),
        );
        assert_eq!(res.status, 303, "{}", res.text());
        assert_eq!(server.login("bob", "bob-password-1").status, 200);
        // Disable and enable.
        post(
            "/admin/console/users/bob/disable",
            &alice,
            &format!("csrf={}", encode(&csrf)),
        );
        assert_eq!(server.login("bob", "bob-password-1").status, 400);
        post(
            "/admin/console/users/bob/enable",
            &alice,
            &format!("csrf={}", encode(&csrf)),
        );
        assert_eq!(server.login("bob", "bob-password-1").status, 200);

        // Rotate a client secret: shown once, the old one refused.
        let res = post(
            "/admin/console/clients/demo-client/rotate-secret",
            &alice,
            &format!("csrf={}", encode(&csrf)),
        );
        assert_eq!(res.status, 200, "{}", res.text());
        let secret = res
            .text()
            .split("<code id=\"secret\">")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .expect("secret")
            .to_owned();
        assert_eq!(
            client_token(&server, "demo-client", "demo-secret", "openid").status,
            401
        );
        assert_eq!(
            client_token(&server, "demo-client", &secret, "openid").status,
            200
        );

        // Keys: add one, retire it.
        let res = post(
            "/admin/console/keys",
            &alice,
            &format!("csrf={}&alg=ES256", encode(&csrf)),
        );
        assert_eq!(res.status, 303, "{}", res.text());
        let kid = last_event(&env)["target"].clone();
        assert_eq!(kid, "ES256");
        // Bad input: a page, never a 500.
        let res = post(
            "/admin/console/keys",
            &alice,
            &format!("csrf={}&alg=HS256", encode(&csrf)),
        );
        assert_eq!(res.status, 400, "{}", res.text());
        let res = post(
            "/admin/console/users/bob/unlock",
            &alice,
            &format!("csrf={}&address=nope", encode(&csrf)),
        );
        assert_eq!(res.status, 400, "{}", res.text());
        let res = post(
            "/admin/console/users/nobody/disable",
            &alice,
            &format!("csrf={}", encode(&csrf)),
        );
        assert_eq!(res.status, 404, "{}", res.text());

        // The audit page shows the trail; ending alice's sessions signs her out of the console.
        let page = Request::get("/admin/console/audit")
            .header("Cookie", &alice)
            .send(admin);
        assert!(page.text().contains("client.rotate_secret"));
        env.run(&["user", "end-sessions", "alice"]).expect(0);
        let res = Request::get("/admin/console/")
            .header("Cookie", &alice)
            .send(admin);
        assert_eq!(res.status, 303, "signed out: {}", res.text());
        let log = std::fs::read_to_string(env.path("audit.jsonl")).expect("log");
        assert!(!log.contains(&secret) && !log.contains(alice.split('=').nth(1).expect("token")));
    }
);

// `--admin-url`: behind a TLS proxy the console's client is registered with the public
// redirect URI and the sign-in goes there; the bound address is no longer a redirect target.
both!(
    the_console_signs_in_through_the_public_admin_url,
    |env: Env| {
        let admin = free_addr();
        let bound = admin.to_string();
        let server = env.serve(&[
            "--admin-bind",
            &bound,
            "--admin-url",
            "https://admin.example/",
        ]);
        let start = Request::get("/admin/console/login").send(admin);
        assert_eq!(start.status, 303, "{}", start.text());
        let authorize = start.header("location").expect("location").to_owned();
        let public = encode("https://admin.example/admin/console/callback");
        assert!(
            authorize.contains(&format!("redirect_uri={public}&")),
            "{authorize}"
        );
        let page = server.send(Request::get(&path_of(&authorize)));
        assert_eq!(
            page.status,
            200,
            "{:?} {}",
            page.header("location"),
            page.text()
        );
        let local = encode(&format!("http://{bound}/admin/console/callback"));
        let page = server.send(Request::get(&path_of(&authorize.replace(&public, &local))));
        assert_eq!(page.status, 400, "{}", page.text());
    }
);
