//! Several `gatehouse serve` processes on one PostgreSQL database (a throwaway cluster from
//! `gatehouse_tests::pg`), driven over HTTP: single use holds across replicas, lockout counts
//! add up, a change made through one is seen by the next request to the other, a SIGKILLed
//! replica loses no acknowledged token, and no log line holds the database password.
//!
//! Left out, loudly, without the PostgreSQL server binaries; a failure under
//! `GATEHOUSE_TEST_REQUIRE=postgres` (scripts/test).

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use gatehouse_tests::{send_raw, Request, Response};
use serde_json::Value;

const BROKER: &str = "3be9edf1-5491-4d5c-a5c6-423218dfb6cc";

/// One `gatehouse serve` process.
struct Replica {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

impl Replica {
    /// Starts a replica on `url` (demo data loaded, cheap hashes) and waits until it answers.
    fn start(url: &str, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("replica.log");
        let out = std::fs::File::create(&log).expect("log file");
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args([
                "--log",
                "info",
                "serve",
                "--demo",
                "--hash-iterations",
                "1000",
            ])
            .args(["--workers", "2", "--hash-threads", "1", "--bind"])
            .arg(addr.to_string())
            .args(extra)
            .env("GATEHOUSE_DATABASE", url)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .spawn()
            .expect("gatehouse starts");
        let mut replica = Self {
            child,
            addr,
            log,
            _dir: dir,
        };
        // Readiness, not a timed assertion: poll until it answers (or has exited).
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(Some(status)) = replica.child.try_wait() {
                panic!("replica exited ({status}): {}", replica.log());
            }
            if send_raw(
                addr,
                &Request::get("/.well-known/oauth-authorization-server").to_bytes(),
            )
            .is_ok()
            {
                return replica;
            }
            assert!(
                Instant::now() < deadline,
                "replica never answered: {}",
                replica.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn send(&self, request: Request) -> Response {
        request.send(self.addr)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn introspect(&self, token: &str) -> Value {
        let res = self.send(
            Request::post("/oauth2/introspect")
                .basic("demo-client", "demo-secret")
                .form(&format!("token={token}")),
        );
        assert_eq!(res.status, 200, "{}", res.text());
        res.json()
    }

    fn active(&self, token: &str) -> bool {
        self.introspect(token)["active"] == Value::Bool(true)
    }

    fn v1(&self, form: &str) -> Response {
        self.send(
            Request::post("/api/v1/auth/token")
                .basic("demo-client", "demo-secret")
                .form(form),
        )
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh database and two replicas on it; `None` when PostgreSQL is left out.
fn two_replicas(test: &str, extra: &[&str]) -> Option<(String, Replica, Replica)> {
    let url = gatehouse_tests::pg::fresh_database(test)?;
    let a = Replica::start(&url, extra);
    let b = Replica::start(&url, extra);
    Some((url, a, b))
}

/// Neither replica's log holds the password; both name the database with `***`.
fn assert_password_never_logged(replicas: &[&Replica]) {
    let cluster = gatehouse_tests::pg::shared("password check").expect("cluster");
    for r in replicas {
        let log = r.log();
        assert!(
            !log.contains(cluster.password()),
            "password in the log: {log}"
        );
        assert!(
            log.contains(":***@127.0.0.1:"),
            "database not named in the log: {log}"
        );
    }
}

/// `n` requests at once, spread over the replicas in turn.
fn race(replicas: &[&Replica], n: usize, request: impl Fn() -> Request + Sync) -> Vec<Response> {
    let barrier = Barrier::new(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let replica = replicas[i % replicas.len()];
                let (barrier, request) = (&barrier, &request);
                s.spawn(move || {
                    let req = request();
                    barrier.wait();
                    replica.send(req)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("request thread"))
            .collect()
    })
}

fn text(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {v}"))
        .to_owned()
}

fn one_winner(responses: &[Response]) -> &Response {
    let wins: Vec<&Response> = responses.iter().filter(|r| r.status == 200).collect();
    assert_eq!(
        wins.len(),
        1,
        "{:?}",
        responses
            .iter()
            .map(|r| (r.status, r.text().to_owned()))
            .collect::<Vec<_>>()
    );
    assert!(responses.iter().all(|r| r.status == 200 || r.status == 400));
    wins[0]
}

#[test]
fn single_use_holds_across_replicas() {
    let Some((_url, a, b)) = two_replicas("single_use_holds_across_replicas", &[]) else {
        return;
    };
    let both = [&a, &b];

    // An authorization code, issued on A, exchanged 32 times at once on A and B.
    let res = a.send(Request::post("/admin/login/auth_code").form(
        "ClientId=demo-client&ClientSecret=demo-secret&Username=alice&Password=alice-password-1",
    ));
    assert_eq!(res.status, 200, "{}", res.text());
    let code = res.json()["Body"]["AuthCode"]
        .as_str()
        .expect("code")
        .to_owned();
    let responses = race(&both, 32, || {
        Request::post("/api/v1/auth/token")
            .basic("demo-client", "demo-secret")
            .form(&format!("grant_type=authorization_code&code={code}"))
    });
    let access = text(&one_winner(&responses).json(), "access_token");
    // The replays ended what the exchange produced, on both replicas.
    assert!(!a.active(&access) && !b.active(&access));

    // A one-time code.
    let login = a.v1("grant_type=password&username=alice&password=alice-password-1");
    assert_eq!(login.status, 200, "{}", login.text());
    let bearer = text(&login.json(), "access_token");
    let res = b.send(Request::post("/oauth2/onetime/token").bearer(&bearer).json(&format!(
        r#"{{"clientId":"demo-client","brokerId":"{BROKER}","tradingAccount":"TA-1001","server":"demo-live"}}"#
    )));
    assert_eq!(res.status, 200, "{}", res.text());
    let code = text(&res.json(), "code");
    let responses = race(&both, 32, || {
        Request::post("/oauth2/onetime/authorize")
            .basic("demo-client", "demo-secret")
            .json(&format!(r#"{{"code":"{code}"}}"#))
    });
    let access = text(&one_winner(&responses).json(), "accessToken");
    assert!(!a.active(&access) && !b.active(&access));

    // A refresh token: one rotation; the replays end the family everywhere.
    let login = b.v1("grant_type=password&username=bob&password=bob-password-1");
    assert_eq!(login.status, 200, "{}", login.text());
    let first = login.json();
    let refresh = text(&first, "refresh_token");
    let responses = race(&both, 32, || {
        Request::post("/api/v1/auth/token")
            .basic("demo-client", "demo-secret")
            .form(&format!("grant_type=refresh_token&refresh_token={refresh}"))
    });
    let rotated = one_winner(&responses).json();
    for token in [text(&first, "access_token"), text(&rotated, "access_token")] {
        assert!(!a.active(&token) && !b.active(&token));
    }
    assert_password_never_logged(&both);
}

#[test]
fn lockout_counts_add_up_across_replicas() {
    // The default allowance (5 free failures), a long first lock.
    let extra = ["--lockout-initial-delay", "600"];
    let Some((_url, a, b)) = two_replicas("lockout_counts_add_up_across_replicas", &extra) else {
        return;
    };
    // Five failures, alternating between the replicas: the allowance is used up, the
    // account is locked (600 s).
    for i in 0..5 {
        let r = if i % 2 == 0 { &a } else { &b };
        let res = r.v1("grant_type=password&username=bob&password=wrong-password");
        assert_eq!(res.status, 400, "failure {i}: {}", res.text());
    }
    // Locked on both, even with the right password.
    for r in [&a, &b] {
        let res = r.v1("grant_type=password&username=bob&password=bob-password-1");
        assert_eq!(res.status, 429, "{}", res.text());
        assert!(res.header("retry-after").is_some());
    }
    // (The address 127.0.0.1 is locked too, by the same five failures: per-address counts
    // add up across replicas as well.)
    let res = b.v1("grant_type=password&username=alice&password=alice-password-1");
    assert_eq!(res.status, 429, "{}", res.text());
}

#[test]
fn a_change_on_one_replica_is_seen_at_once_on_the_other() {
    let Some((url, a, b)) =
        two_replicas("a_change_on_one_replica_is_seen_at_once_on_the_other", &[])
    else {
        return;
    };
    // Revocation on B, introspection on A right after.
    let login = a.v1("grant_type=password&username=alice&password=alice-password-1");
    assert_eq!(login.status, 200, "{}", login.text());
    let access = text(&login.json(), "access_token");
    assert!(a.active(&access) && b.active(&access));
    let res = b.send(
        Request::post("/oauth2/revoke")
            .basic("demo-client", "demo-secret")
            .form(&format!("token={access}")),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(!a.active(&access));

    // A password change (the CLI, a third process on the same database): the old password
    // fails on both at once, the new one works on both.
    let gatehouse = env!("CARGO_BIN_EXE_gatehouse");
    let mut passwd = Command::new(gatehouse)
        .args(["user", "passwd", "bob", "--hash-iterations", "1000"])
        .env("GATEHOUSE_DATABASE", &url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gatehouse user passwd");
    passwd
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"new-bob-password-2\n")
        .expect("password on stdin");
    let out = passwd.wait_with_output().expect("passwd runs");
    assert!(out.status.success(), "{out:?}");
    for r in [&a, &b] {
        let res = r.v1("grant_type=password&username=bob&password=bob-password-1");
        assert_eq!(res.status, 400, "{}", res.text());
        let res = r.v1("grant_type=password&username=bob&password=new-bob-password-2");
        assert_eq!(res.status, 200, "{}", res.text());
    }

    // Disabling a user: her live token dies on both at once.
    let login = b.v1("grant_type=password&username=alice&password=alice-password-1");
    let access = text(&login.json(), "access_token");
    assert!(a.active(&access));
    let out = Command::new(gatehouse)
        .args(["user", "disable", "alice"])
        .env("GATEHOUSE_DATABASE", &url)
        .output()
        .expect("gatehouse user disable");
    assert!(out.status.success(), "{out:?}");
    assert!(!a.active(&access) && !b.active(&access));
    let cli_output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let cluster = gatehouse_tests::pg::shared("password check").expect("cluster");
    assert!(!cli_output.contains(cluster.password()), "{cli_output}");
    assert_password_never_logged(&[&a, &b]);
}

/// Client-credentials grants on both replicas; A is SIGKILLed in the middle; every token
/// either replica acknowledged (a 200 with the token in it) is active on B afterwards.
#[test]
fn sigkill_of_a_replica_loses_no_acknowledged_token() {
    let Some((_url, mut a, b)) =
        two_replicas("sigkill_of_a_replica_loses_no_acknowledged_token", &[])
    else {
        return;
    };
    let acknowledged = Mutex::new(Vec::<String>::new());
    let killed = AtomicBool::new(false);
    let failed_after_kill = AtomicUsize::new(0);
    let grant = Request::post("/api/v1/auth/token")
        .basic("demo-client", "demo-secret")
        .form("grant_type=client_credentials")
        .to_bytes();
    std::thread::scope(|s| {
        let mut handles = Vec::new();
        for i in 0..16 {
            let addr = if i % 2 == 0 { a.addr } else { b.addr };
            let (acknowledged, killed, failed, grant) =
                (&acknowledged, &killed, &failed_after_kill, &grant);
            handles.push(s.spawn(move || {
                // Until the kill, and 30 more requests after it.
                let mut after = 0;
                while after < 30 {
                    if killed.load(Ordering::SeqCst) {
                        after += 1;
                    }
                    match send_raw(addr, grant) {
                        Ok(res) if res.status == 200 => {
                            let token = res.json()["access_token"]
                                .as_str()
                                .expect("token")
                                .to_owned();
                            acknowledged.lock().expect("lock").push(token);
                        }
                        Ok(res) => {
                            assert!(killed.load(Ordering::SeqCst), "{}", res.text());
                            failed.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(_) => {
                            // Only the killed replica may fail to answer.
                            assert!(killed.load(Ordering::SeqCst));
                            failed.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            }));
        }
        // Kill A in the middle of the load: once 400 grants were acknowledged. (A load
        // thread that ended before the kill failed: stop waiting, the scope reports it.)
        while acknowledged.lock().expect("lock").len() < 400 {
            if handles.iter().any(|h| h.is_finished()) {
                break;
            }
            std::thread::yield_now();
        }
        a.child.kill().expect("SIGKILL");
        killed.store(true, Ordering::SeqCst);
    });
    let _ = a.child.wait();
    let tokens = acknowledged.into_inner().expect("tokens");
    assert!(tokens.len() >= 400);
    assert!(
        failed_after_kill.load(Ordering::SeqCst) > 0,
        "A was really gone"
    );
    // Every acknowledged token, through the survivor.
    let inactive: Vec<&String> = tokens.iter().filter(|t| !b.active(t)).collect();
    assert!(
        inactive.is_empty(),
        "{} of {} acknowledged tokens lost",
        inactive.len(),
        tokens.len()
    );
    eprintln!(
        "{} acknowledged tokens all active on the survivor",
        tokens.len()
    );
}

/// `gatehouse copy` from a SQLite file into PostgreSQL: a replica on PostgreSQL then accepts
/// the token issued on SQLite; a second copy copies nothing; the password never shows.
#[test]
fn copy_command_moves_a_sqlite_server_to_postgres() {
    let Some(url) =
        gatehouse_tests::pg::fresh_database("copy_command_moves_a_sqlite_server_to_postgres")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = dir.path().join("gatehouse.db");
    let sqlite = sqlite.to_str().expect("utf-8");
    let old = Replica::start(sqlite, &[]);
    let login = old.v1("grant_type=password&username=alice&password=alice-password-1");
    assert_eq!(login.status, 200, "{}", login.text());
    let access = text(&login.json(), "access_token");
    drop(old);

    let copy = |from: &str, to: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(["copy", "--from", from, "--to", to])
            .output()
            .expect("gatehouse copy");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{all}");
        let cluster = gatehouse_tests::pg::shared("password check").expect("cluster");
        assert!(!all.contains(cluster.password()), "{all}");
        all
    };
    let first = copy(sqlite, &url);
    assert!(first.contains("copy verified"), "{first}");
    assert!(
        first.contains("access_tokens: 1 in the source, 1 in the destination (1 copied now)"),
        "{first}"
    );
    let second = copy(sqlite, &url);
    assert!(
        second.contains("access_tokens: 1 in the source, 1 in the destination (0 copied now)"),
        "{second}"
    );

    let new = Replica::start(&url, &[]);
    assert!(new.active(&access));
}

/// The database name at the end of a URL from `fresh_database`.
fn database_name(url: &str) -> &str {
    url.rsplit('/').next().expect("database name")
}

/// Runs `gatehouse purge` on `url`: its exit status and everything it printed.
fn purge_process(url: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["--log", "info", "purge"])
        .env("GATEHOUSE_DATABASE", url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gatehouse purge starts")
}

/// Expired rows purged by several processes at once (two `gatehouse purge` beside each
/// other, three rounds) while two replicas keep issuing and introspecting tokens: every
/// expired row is deleted exactly once (the purged counts add up to what had expired),
/// nothing live is lost, no process fails or logs an error.
#[test]
fn purges_from_several_processes_at_once_lose_nothing_live() {
    let test = "purges_from_several_processes_at_once_lose_nothing_live";
    let Some((url, a, b)) = two_replicas(test, &[]) else {
        return;
    };
    let cluster = gatehouse_tests::pg::shared(test).expect("cluster");
    let db = database_name(&url);
    let grant = |r: &Replica| {
        let res = r.v1("grant_type=client_credentials");
        assert_eq!(res.status, 200, "{}", res.text());
        text(&res.json(), "access_token")
    };
    let login = |r: &Replica| {
        let res = r.v1("grant_type=password&username=alice&password=alice-password-1");
        assert_eq!(res.status, 200, "{}", res.text());
        let body = res.json();
        (text(&body, "access_token"), text(&body, "refresh_token"))
    };
    // Tokens to expire: 60 access tokens and 20 refresh tokens (20 of the access tokens
    // with them), issued on both replicas.
    let mut doomed = Vec::new();
    for i in 0..40 {
        doomed.push(grant(if i % 2 == 0 { &a } else { &b }));
    }
    for i in 0..20 {
        doomed.push(login(if i % 2 == 0 { &a } else { &b }).0);
    }
    // They expired two days ago (the purge deletes what expired more than a day ago).
    let two_days_ago = "(extract(epoch from now() - interval '2 days') * 1000000)::bigint";
    cluster
        .psql(
            db,
            &format!(
                "UPDATE access_tokens SET expires_at = {two_days_ago}; \
                 UPDATE refresh_tokens SET expires_at = {two_days_ago}"
            ),
        )
        .expect("expire");
    let expired_rows: u64 = cluster
        .psql(
            db,
            "SELECT (SELECT count(*) FROM access_tokens) + (SELECT count(*) FROM refresh_tokens)",
        )
        .expect("count")
        .parse()
        .expect("a count");
    assert_eq!(expired_rows, 80);
    // Live tokens issued before the purges (an access and a refresh token among them).
    let mut live: Vec<String> = (0..20)
        .map(|i| grant(if i % 2 == 0 { &a } else { &b }))
        .collect();
    let (user_access, user_refresh) = login(&b);
    live.push(user_access);

    // Load on both replicas while two purge processes run at once, three times over.
    let done = AtomicBool::new(false);
    let issued_meanwhile = Mutex::new(Vec::<String>::new());
    let mut purged = 0u64;
    std::thread::scope(|s| {
        for r in [&a, &b] {
            let (done, issued, live) = (&done, &issued_meanwhile, &live);
            s.spawn(move || {
                let mut i = 0;
                while !done.load(Ordering::SeqCst) {
                    let token = grant(r);
                    assert!(r.active(&token), "a fresh token is active");
                    assert!(r.active(&live[i % live.len()]), "a live token stays active");
                    issued.lock().expect("lock").push(token);
                    i += 1;
                }
            });
        }
        for round in 0..3 {
            let children = [purge_process(&url), purge_process(&url)];
            for child in children {
                let out = child.wait_with_output().expect("purge ends");
                let all = format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                assert!(out.status.success(), "round {round}: {all}");
                assert!(!all.contains(cluster.password()), "{all}");
                assert!(
                    !all.contains("ERROR") && !all.contains("WARN"),
                    "round {round}: {all}"
                );
                let rows: u64 = all
                    .lines()
                    .find_map(|l| l.strip_suffix(" expired rows purged"))
                    .and_then(|l| l.rsplit(' ').next())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("no count in: {all}"));
                purged += rows;
            }
        }
        done.store(true, Ordering::SeqCst);
    });

    // Every expired row deleted, each once.
    assert_eq!(
        purged, expired_rows,
        "purged counts add up to what had expired"
    );
    assert_eq!(
        cluster
            .psql(
                db,
                &format!(
                    "SELECT (SELECT count(*) FROM access_tokens WHERE expires_at < {two_days_ago} + 86400000000) \
                     + (SELECT count(*) FROM refresh_tokens WHERE expires_at < {two_days_ago} + 86400000000)"
                ),
            )
            .expect("count"),
        "0"
    );
    for token in &doomed {
        assert!(!a.active(token), "an expired token is not active");
    }
    // Everything live still is, on both replicas.
    let meanwhile = issued_meanwhile.into_inner().expect("tokens");
    assert!(!meanwhile.is_empty());
    for token in live.iter().chain(&meanwhile) {
        assert!(a.active(token) && b.active(token), "a live token was lost");
    }
    let refreshed = a.v1(&format!(
        "grant_type=refresh_token&refresh_token={user_refresh}"
    ));
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    for r in [&a, &b] {
        let log = r.log();
        assert!(!log.contains("ERROR"), "{log}");
    }
    assert_password_never_logged(&[&a, &b]);
    eprintln!(
        "{purged} expired rows purged by 6 processes; {} live tokens all active",
        live.len() + meanwhile.len()
    );
}

/// Runs a `gatehouse` command on `database`: whether it succeeded, and all it printed.
fn gatehouse_on(database: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .env("GATEHOUSE_DATABASE", database)
        .stdin(Stdio::null())
        .output()
        .expect("gatehouse runs");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), all)
}

/// TLS to PostgreSQL against a real server: a cluster of its own with `ssl=on`, a
/// certificate signed by a CA made for the test, and `pg_hba.conf` taking TLS connections
/// only. A plain connection is refused with a clear error; `sslmode=require` (in the URL or
/// as `--database-sslmode`) connects; `verify-full` with the right `sslrootcert` serves
/// grants, with a wrong one it is refused; every connection of the replica is encrypted
/// (`pg_stat_ssl`); the password shows nowhere.
#[test]
fn tls_to_postgres_is_required_and_verified() {
    let test = "tls_to_postgres_is_required_and_verified";
    let Some(bin) =
        gatehouse_tests::external::require(gatehouse_tests::external::Piece::Postgres, test)
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let certs = gatehouse_tests::pg::test_certificates(dir.path()).expect("test certificates");
    let cluster = gatehouse_tests::pg::Cluster::start_with(
        &bin,
        gatehouse_tests::pg::Durability::Tests,
        Some(&certs.server),
    )
    .expect("a PostgreSQL cluster with TLS");
    let url = cluster.create_database().expect("database");
    let password = cluster.password();

    // Plain: refused by the server, and the error says why.
    let (ok, out) = gatehouse_on(&format!("{url}?sslmode=disable"), &["migrate"]);
    assert!(!ok, "a plain connection was accepted: {out}");
    assert!(out.contains("no encryption"), "{out}");
    assert!(!out.contains(password), "{out}");

    // Encrypted, certificate not checked.
    let (ok, out) = gatehouse_on(&format!("{url}?sslmode=require"), &["migrate"]);
    assert!(ok, "{out}");
    assert!(out.contains("schema up to date"), "{out}");
    assert!(!out.contains(password), "{out}");

    // verify-full against a CA that did not sign the server's certificate: refused.
    let wrong = format!(
        "{url}?sslmode=verify-full&sslrootcert={}",
        certs.other_ca.display()
    );
    let (ok, out) = gatehouse_on(&wrong, &["migrate"]);
    assert!(!ok, "a certificate from another CA was accepted: {out}");
    assert!(out.contains("certificate verify failed"), "{out}");
    assert!(!out.contains(password), "{out}");

    // verify-full with the right CA, host 127.0.0.1 in the certificate: a replica serves.
    let verified = format!(
        "{url}?sslmode=verify-full&sslrootcert={}",
        certs.ca.display()
    );
    let a = Replica::start(&verified, &[]);
    // And one with the plain URL and `--database-sslmode require`.
    let b = Replica::start(&url, &["--database-sslmode", "require"]);
    let res = a.v1("grant_type=client_credentials");
    assert_eq!(res.status, 200, "{}", res.text());
    let token = text(&res.json(), "access_token");
    assert!(a.active(&token) && b.active(&token));
    let res = b.v1("grant_type=password&username=alice&password=alice-password-1");
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(a.active(&text(&res.json(), "access_token")));

    // Every connection the replicas hold is encrypted.
    let counts = cluster
        .psql(
            "postgres",
            "SELECT count(*) FILTER (WHERE s.ssl) || ' ' || count(*) \
             FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
             WHERE a.application_name = 'gatehouse'",
        )
        .expect("pg_stat_ssl");
    let (encrypted, all) = counts.split_once(' ').expect("two counts");
    assert_eq!(encrypted, all, "unencrypted connections: {counts}");
    assert!(all.parse::<u32>().expect("a count") >= 4, "{counts}");
    for r in [&a, &b] {
        let log = r.log();
        assert!(!log.contains(password), "password in the log: {log}");
        assert!(log.contains(":***@127.0.0.1:"), "{log}");
    }
}
