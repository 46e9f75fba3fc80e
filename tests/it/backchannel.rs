//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0), end to end: a real relying
//! party endpoint (tests/clients/backchannel_receiver.py) verifies every logout token with
//! PyJWT against the server's JWKS. Alice's logout notifies exactly the clients that got
//! tokens through her browser session (not the client without a back-channel URI, not the
//! clients of Bob's session in another browser); a receiver that hangs or answers 500 never
//! delays the logout and is retried a bounded number of times, each outcome audited and
//! counted.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gatehouse_tests::external::{require, Piece};
use gatehouse_tests::Request;
use serde_json::Value;

use crate::oidc::{code, exchange, part, query_of, Browser, CB};
use crate::standard::{enc, import};
use crate::support::Server;

const OUT: &str = "https://rp.example/signed-out";

/// The receiver process, killed on drop.
struct Receiver {
    child: Child,
    port: u16,
    out: PathBuf,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Receiver {
    fn start(python: &Path, server: &Server, dir: &Path) -> Self {
        let doc = Request::get("/.well-known/openid-configuration").send(server.addr);
        assert_eq!(doc.status, 200, "{}", doc.text());
        let doc = doc.json();
        let out = dir.join("received.jsonl");
        let config = serde_json::json!({
            "issuer": doc["issuer"],
            "jwks_uri": doc["jwks_uri"],
            "out": out,
        });
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut child = Command::new(python)
            .arg(root.join("tests/clients/backchannel_receiver.py"))
            .arg(config.to_string())
            .env("HOME", std::env::temp_dir())
            .stdout(Stdio::piped())
            .spawn()
            .expect("receiver starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("port line");
        let port = line.trim().parse().expect("port");
        Self { child, port, out }
    }

    fn uri(&self, behaviour: &str, client: &str) -> String {
        format!("http://127.0.0.1:{}/{behaviour}/{client}", self.port)
    }

    fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect()
    }
}

/// The `backchannel_logout` events of the audit log.
fn audited(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "backchannel_logout")
        .collect()
}

/// Waits (at most a minute: a bound for a broken build, not a timing assertion) until
/// `done` holds.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn client(id: &str, backchannel: Option<&str>, extra: &str) -> String {
    let uri = backchannel
        .map(|u| {
            format!(r#","backchannel_logout_uri":"{u}","backchannel_logout_session_required":true"#)
        })
        .unwrap_or_default();
    format!(
        r#"{{"client_id":"{id}","secret":"{id}-secret","grants":["authorization_code"],"scope":"openid","redirect_uris":["{CB}"],"post_logout_redirect_uris":["{OUT}"]{uri}{extra}}}"#
    )
}

/// Signs `user` in through `browser` for `client`: its id_token.
fn sign_in(server: &Server, browser: &mut Browser, client: &str, user: &str) -> String {
    let c = code(
        server,
        browser,
        client,
        "openid",
        "n-1",
        user,
        &format!("{user}-password-1"),
    );
    exchange(server, client, &format!("{client}-secret"), &c)["id_token"]
        .as_str()
        .expect("id_token")
        .to_owned()
}

/// Logs the browser out with `hint` (no confirmation page): the 303 back to the client.
fn log_out(server: &Server, browser: &mut Browser, hint: &str) {
    let res = browser.send(
        server,
        Request::get(&format!(
            "/oauth2/logout?id_token_hint={}&post_logout_redirect_uri={}&state=bye",
            enc(hint),
            enc(OUT)
        )),
    );
    assert_eq!(res.status, 303, "{}", res.text());
    let q = query_of(res.header("location").expect("location"));
    assert_eq!(q.get("state").map(String::as_str), Some("bye"));
}

struct Setup {
    server: Server,
    receiver: Receiver,
    audit: PathBuf,
    _dir: tempfile::TempDir,
}

fn setup(test: &str) -> Option<Setup> {
    let python = require(Piece::Python, test)?;
    let dir = tempfile::tempdir().expect("dir");
    let audit = dir.path().join("audit.jsonl");
    let path = audit.clone();
    let server = Server::start_with(move |s| {
        s.audit_log = Some(path);
        s.metrics_bind = Some("127.0.0.1:0".parse().expect("addr"));
        s.admin_bind = Some("127.0.0.1:0".parse().expect("addr"));
    });
    let receiver = Receiver::start(&python, &server, dir.path());
    Some(Setup {
        server,
        receiver,
        audit,
        _dir: dir,
    })
}

#[test]
fn logout_notifies_exactly_the_clients_of_the_ended_browser_session() {
    let Some(Setup {
        server,
        receiver,
        audit,
        _dir,
    }) = setup("backchannel::logout_notifies_exactly_the_clients_of_the_ended_browser_session")
    else {
        return;
    };
    let doc = |s: &Server| {
        Request::get("/.well-known/openid-configuration")
            .send(s.addr)
            .json()
    };
    assert!(
        doc(&server).get("backchannel_logout_supported").is_none(),
        "not advertised while no client has a back-channel URI"
    );
    import(
        &server,
        &format!(
            r#"{{"clients":[{},{},{},{}]}}"#,
            client("bc-one", Some(&receiver.uri("ok", "bc-one")), ""),
            client("bc-two", Some(&receiver.uri("ok", "bc-two")), ""),
            client("bc-bob", Some(&receiver.uri("ok", "bc-bob")), ""),
            client("plain", None, ""),
        ),
    );
    // A cleartext URI off loopback, or another scheme: refused, nothing stored.
    for bad in ["http://rp.example/bc", "ftp://127.0.0.1/bc"] {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(
            file.path(),
            format!(r#"{{"clients":[{}]}}"#, client("bc-bad", Some(bad), "")),
        )
        .expect("write");
        let refused = gatehouse::cli::import(&crate::support::settings_of(&server.db), file.path());
        assert!(refused.is_err(), "{bad}");
    }
    assert_eq!(server.count("client_backchannel"), 3);
    let d = doc(&server);
    assert_eq!(d["backchannel_logout_supported"], true);
    assert_eq!(d["backchannel_logout_session_supported"], true);

    // Alice's browser: tokens for bc-one, bc-two and plain. Bob's browser: bc-bob and bc-one.
    let mut alice = Browser::default();
    let hint = sign_in(&server, &mut alice, "bc-one", "alice");
    sign_in(&server, &mut alice, "bc-two", "alice");
    sign_in(&server, &mut alice, "plain", "alice");
    let mut bob = Browser::default();
    sign_in(&server, &mut bob, "bc-bob", "bob");
    let bob_hint = sign_in(&server, &mut bob, "bc-one", "bob");
    let alice_claims = part(&hint, 1);
    let bob_sid = part(&bob_hint, 1)["sid"].clone();
    assert!(alice_claims["sid"].is_string(), "id_tokens carry sid");

    log_out(&server, &mut alice, &hint);
    wait_for("two deliveries", || audited(&audit).len() >= 2);
    // Nothing more comes: give a stray delivery time to arrive before counting.
    std::thread::sleep(Duration::from_millis(500));
    let events = audited(&audit);
    let mut clients: Vec<&str> = events
        .iter()
        .map(|e| e["client"].as_str().unwrap_or(""))
        .collect();
    clients.sort_unstable();
    assert_eq!(clients, ["bc-one", "bc-two"], "{events:?}");
    assert!(events
        .iter()
        .all(|e| e["outcome"] == "delivered" && e["attempts"] == 1));
    let received = receiver.received();
    assert_eq!(received.len(), 2, "{received:?}");
    for r in &received {
        assert_eq!(r["ok"], true, "PyJWT verified it: {r}");
        let claims = &r["claims"];
        assert_eq!(claims["aud"], r["client"]);
        assert_eq!(claims["sub"], alice_claims["sub"]);
        assert_eq!(claims["sid"], alice_claims["sid"]);
        assert_ne!(claims["sid"], bob_sid, "never Bob's session");
        assert!(claims.get("nonce").is_none());
    }
    assert_ne!(received[0]["claims"]["jti"], received[1]["claims"]["jti"]);
    let metrics = server.metrics_addr().expect("metrics");
    let delivered = gatehouse_tests::metric(
        metrics,
        "gatehouse_backchannel_logout_total{outcome=\"delivered\"}",
    );
    assert!(delivered.is_some_and(|n| n >= 2.0), "{delivered:?}");

    // Bob's session lives on; his own logout notifies his clients only.
    log_out(&server, &mut bob, &bob_hint);
    wait_for("Bob's deliveries", || receiver.received().len() >= 4);
    let bob_received: Vec<Value> = receiver.received()[2..].to_vec();
    let mut bob_clients: Vec<&str> = bob_received
        .iter()
        .map(|r| r["client"].as_str().unwrap_or(""))
        .collect();
    bob_clients.sort_unstable();
    assert_eq!(bob_clients, ["bc-bob", "bc-one"]);
    assert!(bob_received
        .iter()
        .all(|r| r["ok"] == true && r["claims"]["sid"] == bob_sid));
}

#[test]
fn a_hanging_or_failing_receiver_never_delays_the_logout_and_is_retried_boundedly() {
    let Some(Setup {
        server,
        receiver,
        audit,
        _dir,
    }) = setup("backchannel::a_hanging_or_failing_receiver_never_delays_the_logout")
    else {
        return;
    };
    import(
        &server,
        &format!(
            r#"{{"clients":[{},{}]}}"#,
            client("bc-hang", Some(&receiver.uri("hang", "bc-hang")), ""),
            client("bc-fail", Some(&receiver.uri("fail", "bc-fail")), ""),
        ),
    );
    let mut alice = Browser::default();
    let hint = sign_in(&server, &mut alice, "bc-hang", "alice");
    sign_in(&server, &mut alice, "bc-fail", "alice");
    let mut bob = Browser::default();
    let bob_hint = sign_in(&server, &mut bob, "bc-hang", "bob");
    log_out(&server, &mut alice, &hint);
    let hanging = |r: &[Value]| r.iter().filter(|x| x["client"] == "bc-hang").count();
    wait_for("the receiver to hang", || {
        hanging(&receiver.received()) >= 1
    });
    // While the receiver holds Alice's notice, Bob's logout (which queues one more for the
    // same receiver) answers at once.
    log_out(&server, &mut bob, &bob_hint);
    assert!(
        audited(&audit).iter().all(|e| e["client"] != "bc-hang"),
        "the logout answered while the receiver hangs"
    );
    wait_for("every notice given up", || audited(&audit).len() >= 3);
    let events = audited(&audit);
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(
        events
            .iter()
            .all(|e| e["outcome"] == "failed" && e["attempts"] == 3),
        "{events:?}"
    );
    let received = receiver.received();
    assert_eq!(hanging(&received), 6, "3 attempts each: {received:?}");
    assert_eq!(
        received.iter().filter(|x| x["client"] == "bc-fail").count(),
        3,
        "{received:?}"
    );
    let metrics = server.metrics_addr().expect("metrics");
    let failed = gatehouse_tests::metric(
        metrics,
        "gatehouse_backchannel_logout_total{outcome=\"failed\"}",
    );
    assert!(failed.is_some_and(|n| n >= 2.0), "{failed:?}");
}

/// An operator's end-sessions through the admin API ends every browser session of Alice:
/// her clients are told, Bob's session in another browser is not.
#[test]
fn an_operators_end_sessions_notifies_the_users_clients_only() {
    let Some(Setup {
        server,
        receiver,
        audit,
        _dir,
    }) = setup("backchannel::an_operators_end_sessions_notifies_the_users_clients_only")
    else {
        return;
    };
    import(
        &server,
        &format!(
            r#"{{"clients":[{}]}}"#,
            client("bc-one", Some(&receiver.uri("ok", "bc-one")), ""),
        ),
    );
    let mut alice = Browser::default();
    let alice_sid = part(&sign_in(&server, &mut alice, "bc-one", "alice"), 1)["sid"].clone();
    let mut bob = Browser::default();
    sign_in(&server, &mut bob, "bc-one", "bob");
    let token = server
        .send(
            Request::post("/oauth2/token")
                .basic("demo-admin", "demo-admin-secret")
                .form("grant_type=client_credentials&scope=gatehouse%3Aadmin"),
        )
        .json()["access_token"]
        .as_str()
        .expect("admin token")
        .to_owned();
    let admin = server.admin_addr().expect("admin listener");
    let res = Request::post("/admin/v1/users/alice/end-sessions")
        .bearer(&token)
        .send(admin);
    assert!(res.status < 300, "{} {}", res.status, res.text());
    wait_for("the delivery", || !audited(&audit).is_empty());
    std::thread::sleep(Duration::from_millis(500));
    let received = receiver.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0]["ok"], true, "{received:?}");
    assert_eq!(received[0]["claims"]["sid"], alice_sid);
}
