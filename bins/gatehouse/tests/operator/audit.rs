//! `--audit-log`: one JSON line per security event, each kind once per action, no secret,
//! the command line's changes with the operator, counted in /metrics, rotated by size.

use gatehouse_tests::Request;
use serde_json::Value;

use crate::harness::{both, Backend, Env};

fn events(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn of_kind<'a>(all: &'a [Value], kind: &str) -> Vec<&'a Value> {
    all.iter().filter(|e| e["event"] == kind).collect()
}

both!(audit_log_records_each_event_once, |env: Env| {
    let log = env.path("audit.jsonl");
    let log_arg = log.display().to_string();
    let server = env.serve(&["--audit-log", &log_arg]);
    let mut secrets = vec!["alice-password-1".to_owned(), "demo-secret".to_owned()];

    // A login: login_succeeded and token_issued, once each.
    let first = server.login("alice", "alice-password-1");
    assert_eq!(first.status, 200);
    let access = first.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let refresh = first.json()["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    secrets.extend([access.clone(), refresh.clone()]);
    let all = events(&log);
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[0]["event"], "login_succeeded");
    assert_eq!(all[0]["user"], "alice");
    assert_eq!(all[0]["address"], "127.0.0.1");
    assert_eq!(all[1]["event"], "token_issued");
    assert_eq!(all[1]["grant"], "password");
    assert_eq!(all[1]["client"], "demo-client");
    assert_eq!(all[1]["refresh_token"], true);
    assert!(all[1]["session"].is_string() && all[1]["ts"].is_string() && all[1]["pid"].is_u64());

    // Five wrong passwords: five login_failed; the fifth locks the account and the address.
    for _ in 0..5 {
        assert_eq!(server.login("bob", "wrong-password-9").status, 400);
    }
    secrets.push("wrong-password-9".to_owned());
    let all = events(&log);
    let failed = of_kind(&all, "login_failed");
    assert_eq!(failed.len(), 5);
    assert!(failed
        .iter()
        .all(|e| e["reason"] == "bad_credentials" && e["user"] == "bob"));
    let locks: Vec<&str> = of_kind(&all, "locked_out")
        .iter()
        .filter_map(|e| e["key"].as_str())
        .collect();
    assert_eq!(locks, ["user:bob", "ip:127.0.0.1"]);
    // Locked: refused without a check, reason locked (Katana's /token: no client whose
    // authentication the address lock would refuse first).
    let katana = server.send(
        Request::post("/token").form("grant_type=password&username=bob&password=bob-password-1"),
    );
    assert_eq!(katana.status, 429, "{}", katana.text());
    let all = events(&log);
    assert_eq!(
        all.last().map(|e| e["reason"].clone()),
        Some("locked".into())
    );

    // A refresh: token_issued with grant refresh_token; its revocation: token_revoked.
    env.run(&[
        "user",
        "unlock",
        "bob",
        "--address",
        "127.0.0.1",
        "--audit-log",
        &log_arg,
    ])
    .expect(0);
    let refreshed = server.send(
        Request::post("/api/v1/auth/token")
            .basic("demo-client", "demo-secret")
            .form(&format!("grant_type=refresh_token&refresh_token={refresh}")),
    );
    assert_eq!(refreshed.status, 200);
    let new_refresh = refreshed.json()["refresh_token"]
        .as_str()
        .expect("r")
        .to_owned();
    secrets.push(new_refresh.clone());
    let revoked = server.send(
        Request::post("/oauth2/revoke")
            .basic("demo-client", "demo-secret")
            .form(&format!("token={new_refresh}")),
    );
    assert_eq!(revoked.status, 200);
    // Revoking it again changes nothing and records nothing.
    server.send(
        Request::post("/oauth2/revoke")
            .basic("demo-client", "demo-secret")
            .form(&format!("token={new_refresh}")),
    );
    // An otc authorization code: issued once, redeemed once (with its token_issued); the
    // replay records no redemption.
    let issued = server.send(Request::post("/admin/login/auth_code").form(
        "ClientId=demo-client&ClientSecret=demo-secret&Username=alice&Password=alice-password-1",
    ));
    assert_eq!(issued.status, 200, "{}", issued.text());
    let code = issued.json()["Body"]["AuthCode"]
        .as_str()
        .expect("code")
        .to_owned();
    secrets.push(code.clone());
    let exchange = || {
        server.send(Request::post("/admin/login/token").json(&format!(
            r#"{{"ClientId":"demo-client","ClientSecret":"demo-secret","AuthCode":"{code}"}}"#
        )))
    };
    assert_eq!(exchange().status, 200);
    assert_ne!(exchange().status, 200);
    let all = events(&log);
    let codes = of_kind(&all, "code_issued");
    assert_eq!(codes.len(), 1);
    assert_eq!(codes[0]["kind"], "authorization_code");
    assert_eq!(codes[0]["client"], "demo-client");
    assert_eq!(of_kind(&all, "code_redeemed").len(), 1);
    assert_eq!(
        all.iter()
            .filter(|e| e["grant"] == "authorization_code")
            .count(),
        1
    );

    // The command line's changes, with the operator (same file).
    env.run_with(
        &["user", "disable", "bob", "--audit-log", &log_arg],
        "",
        &[("USER", "ops-oncall")],
    )
    .expect(0);
    let all = events(&log);
    let issued: Vec<&Value> = of_kind(&all, "token_issued");
    assert_eq!(issued.len(), 3);
    assert_eq!(issued[1]["grant"], "refresh_token");
    let revoked = of_kind(&all, "token_revoked");
    assert_eq!(revoked.len(), 1, "{all:?}");
    assert_eq!(revoked[0]["kind"], "refresh_token");
    assert_eq!(revoked[0]["client"], "demo-client");
    let admin = of_kind(&all, "admin_action");
    let actions: Vec<(&str, &str)> = admin
        .iter()
        .filter_map(|e| Some((e["action"].as_str()?, e["target"].as_str()?)))
        .collect();
    assert_eq!(actions, [("user.unlock", "bob"), ("user.disable", "bob")]);
    assert_eq!(admin[1]["operator"], "ops-oncall");
    assert_eq!(admin[1]["via"], "cli");

    // No secret, token, code or password anywhere in the file.
    let text = std::fs::read_to_string(&log).expect("log");
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "{secret} in the audit log");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&log).expect("log").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The server's own events, counted in /metrics (the command line counts its own).
    let server_events = all.iter().filter(|e| e["via"] != "cli").count();
    let mut counted = 0.0;
    for kind in [
        "login_succeeded",
        "login_failed",
        "locked_out",
        "token_issued",
        "token_revoked",
        "code_issued",
        "code_redeemed",
    ] {
        let n = gatehouse_tests::metric(
            server.addr,
            &format!("gatehouse_audit_events_total{{kind=\"{kind}\"}}"),
        )
        .expect(kind);
        assert_eq!(n as usize, of_kind(&all, kind).len(), "{kind}");
        counted += n;
    }
    assert_eq!(counted as usize, server_events);
});

#[test]
fn the_audit_log_rotates_by_size_and_loses_no_line() {
    let Some(env) = Env::new(Backend::Sqlite, "audit_rotation") else {
        return;
    };
    let log = env.path("audit.jsonl");
    let log_arg = log.display().to_string();
    let server = env.serve(&["--audit-log", &log_arg, "--audit-log-max-bytes", "4096"]);
    for _ in 0..30 {
        server.token("alice", "alice-password-1");
    }
    let rotated = env.path("audit.jsonl.1");
    assert!(rotated.exists(), "rotated at 4096 bytes");
    assert!(std::fs::metadata(&rotated).expect("size").len() < 4096 + 1024);
    let mut all = Vec::new();
    for n in (1..=5).rev() {
        all.extend(events(&env.path(&format!("audit.jsonl.{n}"))));
    }
    all.extend(events(&log));
    assert_eq!(all.len(), 60, "every line kept, none torn");
    assert_eq!(of_kind(&all, "token_issued").len(), 30);
    env.run(&["--audit-log-max-bytes", "100", "migrate"])
        .expect(1);
}

#[test]
fn serve_demo_on_sqlite_keeps_an_audit_log_beside_the_database() {
    let Some(env) = Env::new(Backend::Sqlite, "audit_demo") else {
        return;
    };
    let server = env.serve(&[]);
    server.token("alice", "alice-password-1");
    let all = events(&env.path("gatehouse.db.audit.jsonl"));
    assert_eq!(of_kind(&all, "login_succeeded").len(), 1);
    assert_eq!(of_kind(&all, "token_issued").len(), 1);
}

/// The events appended since the last call.
struct Tail {
    path: std::path::PathBuf,
    seen: usize,
}

impl Tail {
    fn new(path: std::path::PathBuf) -> Self {
        Self { path, seen: 0 }
    }

    /// The new events; asserts their kinds, in order.
    #[track_caller]
    fn expect(&mut self, kinds: &[&str]) -> Vec<Value> {
        let all = events(&self.path);
        let new = all[self.seen..].to_vec();
        self.seen = all.len();
        let got: Vec<&str> = new.iter().filter_map(|e| e["event"].as_str()).collect();
        assert_eq!(got, kinds, "{new:#?}");
        new
    }
}

const BROKER: &str = "3be9edf1-5491-4d5c-a5c6-423218dfb6cc";

both!(
    every_dialect_records_each_event_once_per_action,
    |env: Env| {
        let log = env.path("audit.jsonl");
        let log_arg = log.display().to_string();
        let server = env.serve(&["--audit-log", &log_arg]);
        let mut tail = Tail::new(log.clone());

        // Katana /token without a client: a login and its token.
        let katana = |password: &str| {
            server.send(Request::post("/token").form(&format!(
                "grant_type=password&username=alice&password={password}"
            )))
        };
        assert_eq!(katana("alice-password-1").status, 200);
        let new = tail.expect(&["login_succeeded", "token_issued"]);
        assert_eq!(new[1]["grant"], "password");
        assert!(new[1]["client"].is_null());
        assert_eq!(katana("katana-wrong-pw-1").status, 400);
        let new = tail.expect(&["login_failed"]);
        assert_eq!(new[0]["reason"], "bad_credentials");

        // The member dialect: its login and its token (this one was missing), then a failure.
        let member = |password: &str| {
            server.send(
                Request::post("/api/Token")
                    .json(&format!(r#"{{"MemberId":"1234","Password":"{password}"}}"#)),
            )
        };
        assert_eq!(member("alice-password-1").status, 200);
        let new = tail.expect(&["login_succeeded", "token_issued"]);
        assert_eq!(new[0]["user"], "alice");
        assert_eq!(new[1]["grant"], "password");
        assert_eq!(new[1]["user"], "a11ce000-0000-4000-8000-000000000001");
        assert_eq!(member("member-wrong-pw-1").status, 401);
        tail.expect(&["login_failed"]);

        // otc: a wrong password is one failure, no code.
        let otc = server.send(Request::post("/admin/login/auth_code").form(
            "ClientId=demo-client&ClientSecret=demo-secret&Username=alice&Password=otc-wrong-pw-1",
        ));
        assert_ne!(otc.status, 200);
        tail.expect(&["login_failed"]);

        // v1, then a one-time code issued with its token and redeemed by the client.
        let login = server.login("alice", "alice-password-1");
        assert_eq!(login.status, 200);
        tail.expect(&["login_succeeded", "token_issued"]);
        let access = login.json()["access_token"]
            .as_str()
            .expect("token")
            .to_owned();
        let issued = server.send(
        Request::post("/oauth2/onetime/token")
            .bearer(&access)
            .json(&format!(
                r#"{{"clientId":"demo-client","brokerId":"{BROKER}","tradingAccount":"TA-1001","server":"demo-live"}}"#
            )),
    );
        assert_eq!(issued.status, 200, "{}", issued.text());
        let new = tail.expect(&["code_issued"]);
        assert_eq!(new[0]["kind"], "onetime_code");
        assert_eq!(new[0]["client"], "demo-client");
        let code = issued.json()["code"].as_str().expect("code").to_owned();
        let redeem = || {
            server.send(
                Request::post("/oauth2/onetime/authorize")
                    .basic("demo-client", "demo-secret")
                    .json(&format!(r#"{{"code":"{code}"}}"#)),
            )
        };
        assert_eq!(redeem().status, 200);
        let new = tail.expect(&["code_redeemed", "token_issued"]);
        assert_eq!(new[0]["kind"], "onetime_code");
        assert_eq!(new[1]["grant"], "onetime");
        // A replay is refused and records nothing redeemed.
        assert_ne!(redeem().status, 200);
        let replay = tail.expect(&[]);
        assert!(replay.is_empty());

        // The standards surface: client credentials, then the access token revoked.
        let cc = server.send(
            Request::post("/oauth2/token")
                .basic("demo-client", "demo-secret")
                .form("grant_type=client_credentials"),
        );
        assert_eq!(cc.status, 200, "{}", cc.text());
        let new = tail.expect(&["token_issued"]);
        assert_eq!(new[0]["grant"], "client_credentials");
        assert!(new[0]["user"].is_null());
        let revoked = server.send(
            Request::post("/oauth2/revoke")
                .basic("demo-client", "demo-secret")
                .form(&format!("token={access}")),
        );
        assert_eq!(revoked.status, 200);
        let new = tail.expect(&["token_revoked"]);
        assert_eq!(new[0]["kind"], "access_token");
        assert_eq!(new[0]["client"], "demo-client");

        // The login page.
        server.browser_sign_in("alice", "alice-password-1");
        let new = tail.expect(&["login_succeeded", "code_issued"]);
        assert_eq!(new[1]["kind"], "authorization_code");

        // The command line: a password change, with the operator.
        env.run_with(
            &["user", "passwd", "bob", "--audit-log", &log_arg],
            "bob-new-password-2\n",
            &[("USER", "ops-oncall")],
        )
        .expect(0);
        let new = tail.expect(&["admin_action"]);
        assert_eq!(
            (&new[0]["action"], &new[0]["target"], &new[0]["operator"]),
            (&"user.passwd".into(), &"bob".into(), &"ops-oncall".into())
        );
        if env.backend == Backend::Sqlite {
            // Key rotation (the demo's key-encryption key lies beside its SQLite file).
            let kek = format!("{}.kek", env.database);
            env.run_with(
                &[
                    "keys",
                    "rotate",
                    "--key-encryption-key-file",
                    &kek,
                    "--audit-log",
                    &log_arg,
                ],
                "",
                &[("USER", "ops-oncall")],
            )
            .expect(0);
            let new = tail.expect(&["admin_action"]);
            assert_eq!(new[0]["action"], "keys.rotate");
        }

        let text = std::fs::read_to_string(&log).expect("log");
        for secret in [
            "alice-password-1",
            "katana-wrong-pw-1",
            "member-wrong-pw-1",
            "otc-wrong-pw-1",
            "bob-new-password-2",
            "demo-secret",
            access.as_str(),
            code.as_str(),
        ] {
            assert!(!text.contains(secret), "{secret} in the audit log");
        }
    }
);
