//! Dual-run with a legacy service and the migration report (issue 22), end to end: the
//! legacy upstream is a second, real Gatehouse server (own database, own port; it speaks the
//! legacy dialects byte for byte) holding a user the primary does not have, or a raw socket
//! that hangs, resets or answers 500.

use std::io::Read as _;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse::config::{DualRunMode, Settings};
use gatehouse_tests::{metric, Request, Response};

use crate::support::{count_rows, settings_of, Server};

/// A user only the legacy service has (the planted difference).
const CAROL: &str = r#"{"users":[{"id":"ca201000-0000-4000-8000-000000000003","user_name":"carol","password":"carol-legacy-pass"}]}"#;

fn import(db: &Path, doc: &str) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("doc.json");
    std::fs::write(&file, doc).expect("write import document");
    gatehouse::cli::import(&settings_of(db), &file).expect("import");
}

/// The legacy service: the demo data and carol.
/// The legacy service: a demo Gatehouse under a machineKey of its own (not the demo key the
/// Gatehouse in front of it has), so its Katana tickets are unknown to that Gatehouse, as they
/// would be to one configured with another key.
fn legacy() -> Server {
    let server = Server::start_with(|s| {
        let gatehouse_storage::Database::Sqlite(db) = &s.database else {
            panic!("the test servers run on SQLite")
        };
        let key = db.with_extension("legacy.machinekey");
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/golden/katana/keys/hmacsha512-aes256.config"
        ))
        .expect("a harness key");
        std::fs::write(&key, text).expect("write the key");
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        s.katana_machine_key = Some(key);
    });
    import(&server.db, CAROL);
    server
}

fn dual_run(
    mode: DualRunMode,
    upstream: SocketAddr,
    passwords: &[&str],
) -> impl FnOnce(&mut Settings) {
    let passwords: Vec<String> = passwords.iter().map(|d| (*d).to_owned()).collect();
    move |s| {
        s.dual_run = mode;
        s.legacy_upstream = Some(format!("http://{upstream}"));
        s.dual_run_forward_passwords = passwords;
        s.legacy_upstream_timeout = 1;
    }
}

fn katana(user: &str, password: &str) -> Request {
    Request::post("/token").form(&format!(
        "grant_type=password&userName={user}&password={password}"
    ))
}

/// Every table of the SQLite file but the dual-run's own, with its row count.
fn table_rows(db: &Path) -> Vec<(String, i64)> {
    use diesel::{Connection as _, RunQueryDsl as _};
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let mut conn = diesel::SqliteConnection::establish(&db.to_string_lossy()).expect("open");
    let names: Vec<Name> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .load(&mut conn)
    .expect("tables");
    names
        .into_iter()
        .map(|n| n.name)
        .filter(|n| {
            !["dual_run_counts", "dual_run_differences", "legacy_usage"].contains(&n.as_str())
        })
        .map(|n| {
            let rows = count_rows(db, &n);
            (n, rows)
        })
        .collect()
}

/// The stored differences, every column as text.
fn differences(db: &Path) -> Vec<String> {
    use diesel::{Connection as _, RunQueryDsl as _};
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        row: String,
    }
    let mut conn = diesel::SqliteConnection::establish(&db.to_string_lossy()).expect("open");
    diesel::sql_query(
        "SELECT mode || '|' || dialect || '|' || endpoint || '|' || COALESCE(client_id, '') || '|' \
         || kinds || '|' || detail || '|' || gatehouse_answer || '|' || upstream_answer AS row \
         FROM dual_run_differences ORDER BY id",
    )
    .load::<Row>(&mut conn)
    .expect("differences")
    .into_iter()
    .map(|r| r.row)
    .collect()
}

fn outcome(server: &Server, dialect: &str, kind: &str) -> f64 {
    metric(
        server.addr,
        &format!("gatehouse_dual_run_outcomes_total{{dialect=\"{dialect}\",kind=\"{kind}\"}}"),
    )
    .unwrap_or(0.0)
}

/// Waits until `f` holds (comparisons are recorded after the answer, off the request).
fn eventually(what: &str, f: impl Fn() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(10), "never: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The answer without the headers that differ from one answer to the next, the headers
/// sorted (actix writes a header map in its own order).
fn stable(res: &Response) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut headers: Vec<_> = res
        .headers
        .iter()
        .filter(|(k, _)| k != "date")
        .cloned()
        .collect();
    headers.sort();
    (res.status, headers, res.body.clone())
}

#[test]
fn observe_answers_with_the_upstreams_bytes_writes_nothing_and_records_a_planted_difference() {
    let logs = crate::security::capture_logs();
    let upstream = legacy();
    let audit_dir = tempfile::tempdir().expect("temporary directory");
    let audit = audit_dir.path().join("audit.jsonl");
    let with_audit = audit.clone();
    let server = Server::start_with(move |s| {
        dual_run(DualRunMode::Observe, upstream.addr, &["katana"])(s);
        s.audit_log = Some(with_audit);
    });
    let before = table_rows(&server.db);

    // Carol exists only upstream: the client gets the upstream's token, Gatehouse (the dry
    // run) would have refused her: a status difference.
    let res = server.send(katana("carol", "carol-legacy-pass"));
    assert_eq!(res.status, 200, "{}", res.text());
    let carol_token = res.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert!(upstream.active(&carol_token), "the upstream issued it");
    assert!(!server.active(&carol_token), "Gatehouse issued nothing");

    // Alice exists on both: same answer shape, a token of the upstream's.
    let res = server.send(katana("alice", "alice-password-1"));
    assert_eq!(res.status, 200, "{}", res.text());
    let alice_token = res.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert!(upstream.active(&alice_token));
    assert!(!server.active(&alice_token));

    // Wrong passwords: refused by the upstream, which locks alice after five; the dry run
    // counts no failure, so on the sixth Gatehouse would still have said 400: a second
    // status difference.
    for attempt in 1..=6 {
        let res = server.send(katana("alice", "wrong-password-77"));
        let expected = if attempt == 6 { 429 } else { 400 };
        assert_eq!(res.status, expected, "{}", res.text());
    }

    // A deterministic answer, byte for byte the upstream's (headers and body).
    let odd = Request::post("/TOKEN/?x=1")
        .form("grant_type=nonsense")
        .header("Accept", "text/json");
    let direct = upstream.send(odd.clone());
    let relayed = server.send(odd);
    assert_eq!(stable(&relayed), stable(&direct));

    eventually("six comparisons recorded", || {
        outcome(&server, "katana", "compared") >= 9.0
    });
    // Nothing of the dry runs was written: every table has the rows it had.
    assert_eq!(table_rows(&server.db), before);

    let same = outcome(&server, "katana", "same");
    let status = outcome(&server, "katana", "status");
    assert!(
        same >= 7.0,
        "alice's answers and the refusals are the same ({same})"
    );
    assert_eq!(
        status, 2.0,
        "carol's answer and the upstream's lock differ in status"
    );
    eventually("stored", || {
        count_rows(&server.db, "dual_run_differences") == 2
    });
    let stored = differences(&server.db);
    let row = &stored[0];
    assert!(row.starts_with("observe|katana|/token||status,"), "{row}");
    assert!(row.contains("status 400 vs 200"), "{row}");
    assert!(
        row.contains("invalid_grant"),
        "Gatehouse's error is kept: {row}"
    );
    assert!(stored[1].contains("status 400 vs 429"), "{}", stored[1]);
    // Each difference is one audit event; the dry runs themselves record nothing (the
    // client got the upstream's answers).
    let events: Vec<serde_json::Value> = std::fs::read_to_string(&audit)
        .expect("audit log")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(
        kinds,
        ["dual_run_difference", "dual_run_difference"],
        "{events:#?}"
    );
    for e in &events {
        assert_eq!(
            (&e["mode"], &e["dialect"], &e["endpoint"], &e["stored"]),
            (
                &"observe".into(),
                &"katana".into(),
                &"/token".into(),
                &true.into()
            )
        );
        assert!(
            e["kinds"].as_str().is_some_and(|k| k.starts_with("status")),
            "{e}"
        );
        assert!(e["client"].is_null());
    }
    let audit_text = std::fs::read_to_string(&audit).expect("audit log");

    // No password, token or code in a stored difference or a log line.
    let text = logs.contents();
    for secret in [
        "carol-legacy-pass",
        "alice-password-1",
        "wrong-password-77",
        carol_token.as_str(),
        alice_token.as_str(),
    ] {
        for row in &stored {
            assert!(!row.contains(secret), "{secret} stored: {row}");
        }
        assert!(!text.contains(secret), "{secret} logged");
        assert!(!audit_text.contains(secret), "{secret} in the audit log");
    }
    for row in &stored {
        assert!(crate::security::token_shaped(row).is_empty(), "{row}");
    }
}

#[test]
fn passwords_go_upstream_only_for_the_dialects_listed() {
    let upstream = legacy();
    let server = Server::start_with(dual_run(DualRunMode::Observe, upstream.addr, &[]));
    let upstream_tokens = upstream.count("access_tokens");
    // A password login is not forwarded: Gatehouse answers it itself.
    let alice = server.alice_token();
    assert!(server.active(&alice));
    assert!(!upstream.active(&alice));
    let res = server.send(katana("carol", "carol-legacy-pass"));
    assert_eq!(res.status, 400, "carol is unknown here: {}", res.text());
    assert_eq!(
        upstream.count("access_tokens"),
        upstream_tokens,
        "no login upstream"
    );
    assert!(outcome(&server, "katana", "skipped_password") >= 2.0);
    // A request without a password is forwarded: the client gets the upstream's token.
    let res = server.send(
        Request::post("/api/v1/auth/token")
            .basic("demo-client", "demo-secret")
            .form("grant_type=client_credentials"),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    let token = res.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert!(upstream.active(&token));
    assert!(!server.active(&token));
}

/// A raw legacy upstream: 0 hangs (reads, never answers), 1 resets (closes with the request
/// unread), 2 answers 500.
fn broken_upstream(mode: Arc<AtomicU8>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mode = mode.load(Ordering::SeqCst);
            std::thread::spawn(move || match mode {
                0 => {
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf);
                    std::thread::sleep(Duration::from_secs(5));
                }
                1 => {
                    // Unread data at close: the kernel answers with a reset.
                    std::thread::sleep(Duration::from_millis(100));
                    drop(stream);
                }
                _ => {
                    use std::io::Write as _;
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf);
                    let _ = stream.write_all(
                        b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\nContent-Length: 5\r\nConnection: close\r\n\r\noops!",
                    );
                }
            });
        }
    });
    addr
}

#[test]
fn primary_answers_at_once_whatever_the_upstream_does() {
    let mode = Arc::new(AtomicU8::new(0));
    let upstream = broken_upstream(mode.clone());
    let server = Server::start_with(dual_run(DualRunMode::Primary, upstream, &["katana"]));
    for (m, kind) in [
        (0, "upstream_timeout"),
        (1, "upstream_failed"),
        (2, "status"),
    ] {
        mode.store(m, Ordering::SeqCst);
        let started = Instant::now();
        let res = server.send(katana("alice", "alice-password-1"));
        let took = started.elapsed();
        assert_eq!(res.status, 200, "{kind}: {}", res.text());
        // The upstream's deadline is a second; the client never waits for it.
        assert!(
            took < Duration::from_millis(800),
            "{kind}: answered after {took:?}"
        );
        let token = res.json()["access_token"]
            .as_str()
            .expect("token")
            .to_owned();
        assert!(server.active(&token), "{kind}: Gatehouse's own token");
        eventually(kind, || outcome(&server, "katana", kind) >= 1.0);
    }
    // The 500 was compared and stored as a difference.
    eventually("stored", || {
        count_rows(&server.db, "dual_run_differences") == 1
    });
    let stored = differences(&server.db);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(
        stored[0].starts_with("primary|katana|/token||status,content_type,body"),
        "{}",
        stored[0]
    );
}

#[test]
fn a_flood_of_compared_requests_stays_within_the_caps() {
    // An upstream without the demo data refuses every login: every comparison differs.
    let upstream = Server::start_with(|s| s.demo = false);
    let server = Server::start_with(|s| {
        dual_run(DualRunMode::Primary, upstream.addr, &["v1"])(s);
        s.dual_run_rate = 2;
        s.dual_run_max_differences = 3;
    });
    let started = Instant::now();
    for _ in 0..40 {
        server.v1_login("alice", "alice-password-1");
    }
    let seconds = started.elapsed().as_secs_f64().ceil() + 1.0;
    std::thread::sleep(Duration::from_millis(1500));
    let compared = outcome(&server, "v1", "compared");
    let skipped = outcome(&server, "v1", "skipped_rate");
    assert!(compared >= 1.0, "some were compared");
    assert!(
        compared <= 2.0 * seconds,
        "{compared} comparisons in {seconds} s"
    );
    assert_eq!(compared + skipped, 40.0);
    assert_eq!(
        count_rows(&server.db, "dual_run_differences"),
        3.min(compared as i64)
    );
    assert!(count_rows(&server.db, "dual_run_differences") <= 3);
}

#[test]
fn the_migration_report_counts_legacy_use_per_client_and_feature() {
    let server = Server::start_with(|s| s.legacy_usage_flush = 1);
    server.v1_login("alice", "alice-password-1");
    server.v1_login("bob", "bob-password-1");
    server.alice_token();
    // A client id nobody has is counted as "(unknown)", never stored as sent.
    let res = server.send(
        Request::post("/api/v1/auth/token")
            .xml("<TokenRequest><grant_type>password</grant_type><username>a</username><password>b</password><client_id>made-up-client-x</client_id></TokenRequest>"),
    );
    assert_ne!(res.status, 200);
    eventually("flushed", || count_rows(&server.db, "legacy_usage") >= 3);
    let json =
        gatehouse::cli::migration_report(&settings_of(&server.db), None, true).expect("report");
    assert!(!json.contains("made-up-client-x"), "{json}");
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let usage = report["usage"].as_array().expect("usage");
    let row = |client: &str, dialect: &str| {
        usage
            .iter()
            .find(|u| u["client_id"] == client && u["dialect"] == dialect)
            .unwrap_or_else(|| panic!("{client} {dialect} in {json}"))
            .clone()
    };
    let demo = row("demo-client", "v1");
    assert_eq!(demo["requests"], 2);
    assert_eq!(demo["features"]["password_grant"], 2);
    assert_eq!(demo["features"]["form_body"], 2);
    let katana = row("", "katana");
    assert_eq!(katana["requests"], 1);
    let unknown = row("(unknown)", "v1");
    assert_eq!(unknown["features"]["xml_body"], 1);
    // --since later than every request: nothing.
    let later = gatehouse_domain::clock::Clock::now(&gatehouse_domain::clock::SystemClock)
        + time::Duration::hours(1);
    let json = gatehouse::cli::migration_report(&settings_of(&server.db), Some(later), true)
        .expect("report");
    assert!(json.contains(r#""usage":[]"#), "{json}");
    // The same figures in /metrics.
    assert_eq!(
        metric(
            server.addr,
            "gatehouse_legacy_requests_total{client=\"demo-client\",dialect=\"v1\"}"
        ),
        Some(2.0)
    );
    assert_eq!(
        metric(
            server.addr,
            "gatehouse_legacy_feature_requests_total{client=\"demo-client\",dialect=\"v1\",feature=\"password_grant\"}"
        ),
        Some(2.0)
    );
    // The text form names the client and the features.
    let text =
        gatehouse::cli::migration_report(&settings_of(&server.db), None, false).expect("report");
    assert!(text.contains("demo-client"), "{text}");
    assert!(text.contains("password_grant 2"), "{text}");
}

#[test]
fn an_upstream_over_plain_http_must_be_loopback() {
    let refused = gatehouse::start(Settings {
        legacy_upstream: Some("http://legacy.example.com".into()),
        dual_run: DualRunMode::Observe,
        ..Settings::default()
    })
    .expect_err("refused");
    assert!(refused.to_string().contains("loopback"), "{refused}");
    let no_upstream = gatehouse::start(Settings {
        dual_run: DualRunMode::Primary,
        ..Settings::default()
    })
    .expect_err("refused");
    assert!(
        no_upstream.to_string().contains("legacy-upstream"),
        "{no_upstream}"
    );
    let bad_dialect = gatehouse::start(Settings {
        legacy_upstream: Some("https://legacy.example.com".into()),
        dual_run_forward_passwords: vec!["oauth2".into()],
        ..Settings::default()
    })
    .expect_err("refused");
    assert!(
        bad_dialect.to_string().contains("unknown dialect"),
        "{bad_dialect}"
    );
}

/// The real legacy Web API (the oracle on Mono), stopped (by its process id) when dropped.
struct Oracle {
    child: std::process::Child,
    addr: SocketAddr,
}

impl Oracle {
    fn start(run_sh: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = std::process::Command::new("sh")
            .arg(run_sh)
            .arg(port.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the oracle starts");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let started = Instant::now();
        let info =
            format!("GET /oracle/info HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        while gatehouse_tests::send_raw(addr, info.as_bytes()).map_or(true, |r| r.status != 200) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the oracle never answered"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Self { child, addr }
    }

    /// Sends `request` straight to the oracle (its listener wants its own address as Host).
    fn send(&self, request: &Request) -> Response {
        let raw = String::from_utf8(request.to_bytes())
            .expect("a text request")
            .replacen("Host: localhost", &format!("Host: {}", self.addr), 1);
        gatehouse_tests::send_raw(self.addr, raw.as_bytes()).expect("the oracle answers")
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Observe mode in front of the real legacy stack (ASP.NET Web API 5.2.3, Json.NET,
/// DataContractSerializer on Mono): the client gets the legacy bytes, and the comparison
/// finds Gatehouse's v1 and Katana answers to have the legacy members in the legacy order
/// and media type; only values differ (the oracle answers fixed sample strings where
/// Gatehouse has tokens and ids), which is what the report must show.
#[test]
fn observe_in_front_of_the_real_legacy_web_api() {
    let Some(run_sh) = gatehouse_tests::external::require(
        gatehouse_tests::external::Piece::Mono,
        "dual_run::observe_in_front_of_the_real_legacy_web_api",
    ) else {
        return;
    };
    let oracle = Oracle::start(&run_sh);
    let server = Server::start_with(|s| {
        dual_run(DualRunMode::Observe, oracle.addr, &["v1", "katana"])(s);
        s.legacy_upstream_timeout = 10;
    });
    let v1 = Request::post("/api/v1/auth/token")
        .basic("demo-client", "demo-secret")
        .form("grant_type=password&username=alice&password=alice-password-1");
    let kat = katana("alice", "alice-password-1");
    for request in [v1, kat] {
        let relayed = server.send(request.clone());
        let direct = oracle.send(&request);
        assert!(
            relayed.header("x-oracle-bound").is_some(),
            "the legacy stack answered"
        );
        assert_eq!(
            stable(&relayed),
            stable(&direct),
            "the legacy bytes, unchanged"
        );
    }
    eventually("both compared", || {
        count_rows(&server.db, "dual_run_differences") == 2
    });
    for row in differences(&server.db) {
        let kinds = row.split('|').nth(4).expect("kinds");
        assert!(
            kinds == "shape,value" || kinds == "value",
            "only values differ from the legacy answer, not status, media type or members: {row}"
        );
        assert!(!row.contains("alice-password-1"), "{row}");
    }
}
