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
