//! Credential capture (issue 22), end to end: the legacy service is a second, real Gatehouse
//! process (demo data plus users the first one has no password for); the first asks it about
//! logins of users it does not know or that import marked `capture`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use gatehouse::config::Settings;
use gatehouse_tests::{metric, Request};

use crate::support::{count_rows, settings_of, Server};

const CAROL_ID: &str = "ca201000-0000-4000-8000-000000000003";
const DAVE_HERE: &str = "da7e0000-0000-4000-8000-00000000000a";
const DAVE_THERE: &str = "da7e0000-0000-4000-8000-00000000000b";

/// Users only the legacy service can check: carol (unknown here), dave (marked here), and
/// `cap0`…`cap9` (for the timing figures).
fn legacy_users() -> String {
    let mut users = vec![
        format!(r#"{{"id":"{CAROL_ID}","user_name":"carol","password":"carol-legacy-pass"}}"#),
        format!(r#"{{"id":"{DAVE_THERE}","user_name":"dave","password":"dave-legacy-pass"}}"#),
        r#"{"user_name":"frank","password":"frank-legacy-pass"}"#.to_owned(),
    ];
    for i in 0..10 {
        users.push(format!(
            r#"{{"user_name":"cap{i}","password":"cap{i}-legacy-pass"}}"#
        ));
    }
    format!(r#"{{"users":[{}]}}"#, users.join(","))
}

fn import(db: &Path, doc: &str) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("doc.json");
    std::fs::write(&file, doc).expect("write import document");
    gatehouse::cli::import(&settings_of(db), &file).expect("import");
}

fn legacy() -> Server {
    let server = Server::start_with(|s| s.lockout_free_failures = 100);
    import(&server.db, &legacy_users());
    server
}

/// Gatehouse in front, capturing from `upstream`; dave is imported marked `capture`, an
/// editor, with an id of his own.
fn capturing(upstream: SocketAddr, tweak: impl FnOnce(&mut Settings)) -> Server {
    let server = Server::start_with(|s| {
        s.legacy_upstream = Some(format!("http://{upstream}"));
        s.legacy_upstream_timeout = 2;
        s.credential_capture = true;
        s.credential_capture_rate = 1000;
        tweak(s);
    });
    import(
        &server.db,
        &format!(
            r#"{{"users":[{{"id":"{DAVE_HERE}","user_name":"dave","password_hash":"capture","editor":true}},
                {{"user_name":"frank","password_hash":"capture","member":{{"member_id":"9012","id":21}}}}]}}"#
        ),
    );
    server
}

fn katana(user: &str, password: &str) -> Request {
    Request::post("/token").form(&format!(
        "grant_type=password&userName={user}&password={password}"
    ))
}

fn report(db: &Path) -> serde_json::Value {
    let text =
        gatehouse::cli::migration_report(&settings_of(db), None, true).expect("migration report");
    serde_json::from_str(&text).expect("report JSON")
}

fn password_hashes(server: &Server) -> f64 {
    metric(server.addr, "gatehouse_password_hashes_total").expect("hash counter")
}

#[test]
fn a_user_only_the_legacy_service_knows_is_captured_and_logs_in_after_it_stops() {
    let logs = crate::security::capture_logs();
    let mut upstream = legacy();
    let mut server = capturing(upstream.addr, |_| {});
    assert_eq!(report(&server.db)["capture"]["users_to_capture"], 2);

    // Carol: unknown here, right password upstream: captured with the upstream's userID.
    let res = server.send(katana("carol", "carol-legacy-pass"));
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["userID"], CAROL_ID);
    let token = res.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert!(server.active(&token), "Gatehouse answered from itself");
    // v1 and the standards endpoint find her here too.
    assert_eq!(
        server.v1_login("carol", "carol-legacy-pass")["token_type"],
        "Bearer"
    );

    // The standards endpoint captures too (cap0 is unknown here).
    let res = server.send(
        Request::post("/oauth2/token")
            .basic("demo-client", "demo-secret")
            .form("grant_type=password&username=cap0&password=cap0-legacy-pass"),
    );
    assert_eq!(res.status, 200, "{}", res.text());

    // The legacy service stops: carol still logs in, the upstream is not needed any more.
    upstream.stop();
    let res = server.send(katana("carol", "carol-legacy-pass"));
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["userID"], CAROL_ID);
    // A wrong password is now judged here.
    assert_eq!(server.send(katana("carol", "carol-wrong-pass")).status, 400);

    let figures = report(&server.db);
    assert_eq!(figures["capture"]["users_captured"], 2, "{figures}");
    assert_eq!(
        figures["capture"]["users_to_capture"], 2,
        "dave and frank still to capture"
    );
    assert_eq!(
        metric(server.addr, "gatehouse_capture_users_captured"),
        Some(2.0)
    );
    let text = gatehouse::cli::migration_report(&settings_of(&server.db), None, false)
        .expect("report table");
    assert!(text.contains("users captured"), "{text}");

    // No password in a log line, the audit log or the database.
    server.stop();
    let logged = logs.contents();
    let audit =
        std::fs::read_to_string(server.db.with_extension("audit.jsonl")).unwrap_or_default();
    for secret in ["carol-legacy-pass", "carol-wrong-pass", "cap0-legacy-pass"] {
        assert!(!logged.contains(secret), "{secret} in a log line");
        assert!(!audit.contains(secret), "{secret} in the audit log");
        let db = std::fs::read(&server.db).expect("database file");
        assert!(
            !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} stored"
        );
    }
}

#[test]
fn an_import_marked_user_keeps_ids_and_flags_and_a_second_user_cannot_use_the_first_password() {
    let upstream = legacy();
    let server = capturing(upstream.addr, |_| {});
    let users = count_rows(&server.db, "users");
    // Carol's password does not capture dave (the upstream checks it against dave), nor
    // erin, whom nobody knows.
    assert_eq!(server.send(katana("dave", "carol-legacy-pass")).status, 400);
    assert_eq!(server.send(katana("erin", "carol-legacy-pass")).status, 400);
    assert_eq!(report(&server.db)["capture"]["users_to_capture"], 2);

    // Dave's own password completes him: his id here (not the upstream's), his flags.
    let res = server.send(katana("dave", "dave-legacy-pass"));
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["userID"], DAVE_HERE);
    let v1 = server.v1_login("dave", "dave-legacy-pass");
    assert_eq!(v1["is_editor"], true, "{v1}");
    let figures = report(&server.db);
    assert_eq!(figures["capture"]["users_to_capture"], 1, "{figures}");
    assert_eq!(figures["capture"]["users_captured"], 1, "{figures}");
    // Dave was completed in place, erin never created.
    assert_eq!(count_rows(&server.db, "users"), users);
}

#[test]
fn a_wrong_password_is_refused_upstream_and_counted_toward_lockout() {
    let upstream = legacy();
    let server = capturing(upstream.addr, |s| s.lockout_free_failures = 3);
    for _ in 0..3 {
        let res = server.send(katana("carol", "not-carols-pass"));
        assert_eq!(res.status, 400, "{}", res.text());
    }
    // Locked here now: even the right password is not sent upstream, and carol is not
    // captured.
    let res = server.send(katana("carol", "carol-legacy-pass"));
    assert_eq!(res.status, 429, "{}", res.text());
    assert_eq!(report(&server.db)["capture"]["users_captured"], 0);
    assert!(count_rows(&server.db, "login_failures") >= 1);
}

/// The timing of a capturing login, a local success, a local failure and an unknown user's
/// failure, with capture on: each computes one PBKDF2 here (counted), and the local ones wait
/// as long as an upstream check takes. The medians are printed for docs/security.md.
#[test]
fn capture_timing_does_not_tell_users_apart() {
    let upstream = legacy();
    let server = capturing(upstream.addr, |s| s.lockout_free_failures = 1000);
    let took = |request: Request, expect: u16| {
        let before = password_hashes(&server);
        let start = Instant::now();
        let res = server.send(request);
        let t = start.elapsed();
        assert_eq!(res.status, expect, "{}", res.text());
        assert_eq!(password_hashes(&server) - before, 1.0, "one hash per login");
        t
    };
    let mut captured = Vec::new();
    let mut local = Vec::new();
    let mut local_wrong = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..10 {
        captured.push(took(
            katana(&format!("cap{i}"), &format!("cap{i}-legacy-pass")),
            200,
        ));
        local.push(took(katana("alice", "alice-password-1"), 200));
        local_wrong.push(took(katana("alice", "wrong-password-9"), 400));
        unknown.push(took(katana(&format!("nobody{i}"), "wrong-password-9"), 400));
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    eprintln!("samples: captured {captured:?}\nlocal {local:?}\nlocal_wrong {local_wrong:?}\nunknown {unknown:?}");
    eprintln!(
        "capture timing medians: captured {:?}, local success {:?}, local failure {:?}, unknown user {:?}",
        median(&mut captured),
        median(&mut local),
        median(&mut local_wrong),
        median(&mut unknown)
    );
}

/// The member dialect logs in by `MemberId`, which the legacy service's Katana `/token` does
/// not know: a member whose user import marked `capture` is asked about by that user's name;
/// a wrong password there completes nobody, the right one completes the user, who then logs
/// in without the upstream.
#[test]
fn a_marked_members_login_is_captured_by_the_users_name() {
    let mut upstream = legacy();
    let server = capturing(upstream.addr, |_| {});
    let member = |password: &str| {
        Request::post("/api/Token")
            .json(&format!(r#"{{"MemberId":"9012","Password":"{password}"}}"#))
    };
    assert_ne!(server.send(member("dave-legacy-pass")).status, 200);
    assert_eq!(report(&server.db)["capture"]["users_captured"], 0);
    let res = server.send(member("frank-legacy-pass"));
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(report(&server.db)["capture"]["users_captured"], 1);
    upstream.stop();
    let res = server.send(member("frank-legacy-pass"));
    assert_eq!(
        res.status,
        200,
        "after the upstream stopped: {}",
        res.text()
    );
}
