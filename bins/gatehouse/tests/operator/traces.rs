//! `--otlp-endpoint`: one span per request, sent over OTLP/HTTP to a real receiver (a Python
//! server decoding with the protocol's own generated messages, `opentelemetry-proto` from
//! PyPI: tests/clients/otlp_receiver.py), with the route template, dialect, client id, status
//! and storage time, and no secret anywhere in the bytes sent.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gatehouse_tests::external::{require, Piece};
use gatehouse_tests::Request;
use serde_json::Value;

use crate::harness::{Backend, Env};

/// The receiver process, killed when dropped.
struct Receiver {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Receiver {
    fn start(python: &Path, dir: PathBuf) -> Self {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/otlp_receiver.py");
        let mut child = Command::new(python)
            .arg(script)
            .arg(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the receiver starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the receiver's port");
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("port: {line:?}"));
        Self { child, port, dir }
    }

    fn spans(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join("spans.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect()
    }

    /// Waits (the batch goes every 100 ms here) until a span of `route` with `status` came.
    fn wait_for(&self, route: &str, status: u16) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let spans = self.spans();
            if spans.iter().any(|s| {
                s["attributes"]["http.route"] == route
                    && s["attributes"]["http.response.status_code"] == status
            }) {
                return spans;
            }
            assert!(
                Instant::now() < deadline,
                "no span of {route} {status}: {spans:#?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn only<'a>(spans: &'a [Value], route: &str, status: u16) -> &'a Value {
    let found: Vec<&Value> = spans
        .iter()
        .filter(|s| {
            s["attributes"]["http.route"] == route
                && s["attributes"]["http.response.status_code"] == status
        })
        .collect();
    assert_eq!(found.len(), 1, "{route} {status}: {spans:#?}");
    found[0]
}

#[test]
fn each_request_is_one_span_at_a_real_otlp_receiver_with_no_secret() {
    let Some(python) = require(Piece::Python, "traces: the OTLP/HTTP receiver") else {
        return;
    };
    let Some(env) = Env::new(Backend::Sqlite, "otlp_traces") else {
        return;
    };
    let out = env.path("otlp");
    std::fs::create_dir(&out).expect("dir");
    let receiver = Receiver::start(&python, out.clone());
    let endpoint = format!("http://127.0.0.1:{}", receiver.port);
    let server = env.serve_with_env(
        &["--otlp-endpoint", &endpoint],
        &[("OTEL_BSP_SCHEDULE_DELAY", "100")],
    );
    let mut secrets = vec![
        "alice-password-1".to_owned(),
        "demo-secret".to_owned(),
        // Basic demo-client:demo-secret
        "ZGVtby1jbGllbnQ6ZGVtby1zZWNyZXQ=".to_owned(),
    ];

    // A v1 password grant: 200, with the client and the storage time.
    let login = server.login("alice", "alice-password-1");
    assert_eq!(login.status, 200);
    for field in ["access_token", "refresh_token"] {
        secrets.push(login.json()[field].as_str().expect(field).to_owned());
    }
    // Member dialect (no client), wrong password, a path as ASP.NET routing took it: 401.
    let member = server.send(
        Request::post("/API/Token/").json(r#"{"MemberId":"5678","Password":"member-wrong-pw-77"}"#),
    );
    assert_eq!(member.status, 401, "{}", member.text());
    secrets.push("member-wrong-pw-77".to_owned());
    // The authorization endpoint: only the route reaches the collector, not the query.
    let authorize = server.send(Request::get(
        "/oauth2/authorize?response_type=code&client_id=demo-client\
         &redirect_uri=https%3A%2F%2Fapp.example%2Fcallback&state=state-value-5150\
         &code_challenge=challenge-value-000000000000000000000000000&code_challenge_method=S256",
    ));
    // Valid: the login form (no browser session yet), with its CSRF token.
    assert_eq!(authorize.status, 200, "{}", authorize.text());
    let page = authorize.text();
    let csrf = page
        .split(r#"name="csrf_token" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("csrf token");
    secrets.push(csrf.to_owned());
    secrets.extend([
        "state-value-5150".to_owned(),
        "challenge-value-000000000000000000000000000".to_owned(),
        "app.example".to_owned(),
    ]);
    // A code that is no code, at /oauth2/token: 400.
    let token = server.send(
        Request::post("/oauth2/token")
            .basic("demo-client", "demo-secret")
            .form("grant_type=authorization_code&code=code-value-31337&redirect_uri=https%3A%2F%2Fapp.example%2Fcallback"),
    );
    assert_eq!(token.status, 400, "{}", token.text());
    secrets.push("code-value-31337".to_owned());
    // A path no route serves, with a query: "unmatched", nothing of the path.
    let unknown = server.send(Request::get("/private-path-4242?token=query-token-8080"));
    assert_eq!(unknown.status, 404);
    secrets.extend([
        "private-path-4242".to_owned(),
        "query-token-8080".to_owned(),
    ]);

    let spans = receiver.wait_for("unmatched", 404);
    let spans = if spans
        .iter()
        .any(|s| s["attributes"]["http.route"] == "/oauth2/token")
    {
        spans
    } else {
        receiver.wait_for("/oauth2/token", 400)
    };
    assert!(
        !out.join("errors.txt").exists(),
        "the receiver refused a body"
    );

    let v1 = only(&spans, "/api/v1/auth/token", 200);
    assert_eq!(v1["name"], "POST /api/v1/auth/token");
    assert_eq!(v1["kind"], "SPAN_KIND_SERVER");
    assert_eq!(v1["status"], "STATUS_CODE_UNSET");
    assert_eq!(v1["scope"], "gatehouse");
    assert_eq!(v1["resource"]["service.name"], "gatehouse");
    let a = &v1["attributes"];
    assert_eq!(a["http.request.method"], "POST");
    assert_eq!(a["gatehouse.dialect"], "v1");
    assert_eq!(a["gatehouse.client_id"], "demo-client");
    let storage = a["gatehouse.storage_us"].as_i64().expect("storage time");
    assert!(storage > 0, "{v1}");
    let member = only(&spans, "/api/token", 401);
    assert_eq!(member["name"], "POST /api/token");
    assert_eq!(member["attributes"]["gatehouse.dialect"], "member");
    assert!(member["attributes"]["gatehouse.client_id"].is_null());
    // The failure was counted: a write.
    assert!(
        member["attributes"]["gatehouse.storage_us"].as_i64() > Some(0),
        "{member}"
    );
    let authorize = &only(&spans, "/oauth2/authorize", 200)["attributes"];
    assert_eq!(authorize["gatehouse.dialect"], "standard");
    assert_eq!(authorize["gatehouse.client_id"], "demo-client");
    let token = only(&spans, "/oauth2/token", 400);
    assert_eq!(token["attributes"]["gatehouse.client_id"], "demo-client");
    let unknown = only(&spans, "unmatched", 404);
    assert_eq!(unknown["name"], "GET unmatched");
    assert_eq!(unknown["attributes"]["gatehouse.dialect"], "none");
    assert!(unknown["attributes"]["gatehouse.client_id"].is_null());
    // Exactly the documented attributes, on every span.
    let documented = [
        "http.request.method",
        "http.route",
        "http.response.status_code",
        "gatehouse.dialect",
        "gatehouse.client_id",
        "gatehouse.storage_us",
    ];
    for span in &spans {
        for key in span["attributes"].as_object().expect("attributes").keys() {
            assert!(documented.contains(&key.as_str()), "{key} in {span}");
        }
    }

    // Nothing secret in any byte the collector received.
    let raw = std::fs::read(out.join("raw.bin")).expect("raw bodies");
    for secret in &secrets {
        let found = raw.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(!found, "{secret} sent to the collector");
    }
    // The request spans are exported, never logged.
    assert!(
        !server.log().contains("gatehouse.storage_us"),
        "{}",
        server.log()
    );
}

#[test]
fn an_otlp_endpoint_that_is_no_collector_url_is_refused_at_start() {
    let Some(env) = Env::new(Backend::Sqlite, "otlp_refused") else {
        return;
    };
    for bad in [
        "collector:4318",
        "ftp://c/",
        "http://user:pw@c:4318",
        "http://c/?k=v",
    ] {
        let run = env.run(&["--otlp-endpoint", bad, "migrate"]);
        assert_eq!(run.code(), 1, "{bad}");
        assert!(
            run.stderr().contains("otlp-endpoint"),
            "{bad}: {}",
            run.stderr()
        );
    }
}
