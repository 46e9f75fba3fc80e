//! The admin API's OpenAPI document (`/admin/v1/openapi.json` on `--admin-bind`): valid per
//! `openapi-spec-validator`, and every live answer of every operation (and the refusals'
//! problem bodies) valid against the schema its operation documents. The behaviour of the
//! operations on both backends is in `bins/gatehouse/tests/operator/admin.rs`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;

use gatehouse_tests::external::{require, Piece};
use gatehouse_tests::Request;
use serde_json::{json, Value};

use crate::support::Server;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

fn schema(name: &str) -> String {
    format!("#/components/schemas/{name}")
}

fn array_of(name: &str) -> Value {
    json!({"type": "array", "items": {"$ref": schema(name)}})
}

#[test]
fn admin_openapi_validates_and_every_answer_matches_it() {
    let audit = tempfile::tempdir().expect("dir");
    let audit_path = audit.path().join("audit.jsonl");
    let path = audit_path.clone();
    let server = Server::start_with(move |s| {
        s.admin_bind = Some("127.0.0.1:0".parse().expect("addr"));
        s.audit_log = Some(path);
    });
    let admin: SocketAddr = server.admin_addr().expect("admin listener");
    let doc = Request::get("/admin/v1/openapi.json").send(admin);
    assert_eq!(doc.status, 200);
    let raw = doc.text().to_owned();
    let doc = doc.json();
    // Every route of the API is documented, with the problem answers.
    let paths = doc["paths"].as_object().expect("paths");
    assert_eq!(paths.len(), 14, "{:?}", paths.keys());
    for (path, ops) in paths {
        for (method, op) in ops.as_object().expect("ops") {
            assert!(op["responses"]["401"].is_object(), "{method} {path}");
        }
    }

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
    server.alice_token();
    for _ in 0..5 {
        let res = server.send(
            Request::post("/api/v1/auth/token")
                .basic("demo-client", "demo-secret")
                .form("grant_type=password&username=bob&password=wrong-password-9"),
        );
        assert_eq!(res.status, 400);
    }
    let mut cases = Vec::new();
    let mut answer = |where_: &str, request: Request, status: u16, expected: Value| {
        let res = request.send(admin);
        assert_eq!(res.status, status, "{where_}: {}", res.text());
        let schema = match expected {
            Value::String(r) => json!({ "$ref": r }),
            inline => inline,
        };
        cases.push(json!({"where": where_, "schema": schema, "instance": res.json()}));
    };
    let authed = |r: Request| r.bearer(&token);
    answer(
        "users",
        authed(Request::get("/admin/v1/users?filter=a")),
        200,
        array_of("User"),
    );
    answer(
        "user",
        authed(Request::get("/admin/v1/users/alice")),
        200,
        json!(schema("UserDetails")),
    );
    answer(
        "sessions",
        authed(Request::get("/admin/v1/sessions?user=alice")),
        200,
        json!(schema("SessionsOfUser")),
    );
    answer(
        "lockouts",
        authed(Request::get("/admin/v1/lockouts")),
        200,
        array_of("Lockout"),
    );
    answer(
        "unlock",
        authed(Request::post("/admin/v1/users/bob/unlock")),
        200,
        json!(schema("Unlocked")),
    );
    answer(
        "disable",
        authed(Request::post("/admin/v1/users/bob/disable")),
        200,
        json!(schema("Disabled")),
    );
    answer(
        "enable",
        authed(Request::post("/admin/v1/users/bob/enable")),
        200,
        json!(schema("Disabled")),
    );
    answer(
        "end",
        authed(Request::post("/admin/v1/users/alice/end-sessions")),
        200,
        json!(schema("Ended")),
    );
    answer(
        "clients",
        authed(Request::get("/admin/v1/clients")),
        200,
        array_of("Client"),
    );
    answer(
        "client",
        authed(Request::get("/admin/v1/clients/demo-client")),
        200,
        json!(schema("Client")),
    );
    answer(
        "update",
        authed(
            Request::patch("/admin/v1/clients/demo-client").json(r#"{"consent_required": true}"#),
        ),
        200,
        json!(schema("Client")),
    );
    answer(
        "rotate",
        authed(Request::post("/admin/v1/clients/demo-client/rotate-secret")),
        200,
        json!(schema("RotatedSecret")),
    );
    answer(
        "keys",
        authed(Request::get("/admin/v1/keys")),
        200,
        array_of("Key"),
    );
    answer(
        "rotate key",
        authed(Request::post("/admin/v1/keys").json(r#"{"alg": "EdDSA"}"#)),
        200,
        json!(schema("Key")),
    );
    answer(
        "audit",
        authed(Request::get("/admin/v1/audit")),
        200,
        array_of("AuditEvent"),
    );
    answer(
        "no token",
        Request::get("/admin/v1/users"),
        401,
        json!(schema("Problem")),
    );
    answer(
        "not found",
        authed(Request::get("/admin/v1/users/nobody")),
        404,
        json!(schema("Problem")),
    );
    answer(
        "bad",
        authed(Request::get("/admin/v1/audit?limit=-1")),
        400,
        json!(schema("Problem")),
    );
    let kid = Request::get("/admin/v1/keys")
        .bearer(&token)
        .send(admin)
        .json()[0]["kid"]
        .as_str()
        .expect("kid")
        .to_owned();
    answer(
        "retire",
        authed(Request::post(&format!("/admin/v1/keys/{kid}/retire"))),
        200,
        json!(schema("Retired")),
    );
    // The audit trail read back holds every kind the calls above caused.
    let trail = std::fs::read_to_string(&audit_path).expect("audit log");
    assert!(trail.contains("\"action\":\"client.rotate_secret\""));

    let Some(python) = require(Piece::Python, "admin API: OpenAPI validation") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("openapi.json"), raw).expect("write");
    std::fs::write(
        dir.path().join("cases.json"),
        serde_json::to_vec(&cases).expect("cases"),
    )
    .expect("write");
    let out = Command::new(python)
        .arg(workspace().join("tests/browser/validate_admin_openapi.py"))
        .arg(dir.path().join("openapi.json"))
        .arg(dir.path().join("cases.json"))
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("{} answers valid", cases.len())),
        "{stdout}"
    );
}

#[test]
fn the_console_works_in_headless_chromium_on_a_phone_and_a_desktop() {
    let Some(driver) = require(Piece::Browser, "admin console in headless Chromium") else {
        return;
    };
    let Some(python) = require(Piece::Python, "admin console in headless Chromium") else {
        return;
    };
    let audit = tempfile::tempdir().expect("dir");
    let path = audit.path().join("audit.jsonl");
    let server = Server::start_with(move |s| {
        s.admin_bind = Some("127.0.0.1:0".parse().expect("addr"));
        s.audit_log = Some(path);
        // bob stays locked while the browser looks (the default lock lasts a second).
        s.lockout_initial_delay = 600;
    });
    let admin = server.admin_addr().expect("admin listener");
    let profile = tempfile::tempdir().expect("profile dir");
    let mut cmd = Command::new(python);
    cmd.arg(workspace().join("tests/browser/admin_console.py"))
        .arg(format!("http://{}", server.addr))
        .arg(format!("http://{admin}"))
        .arg(&driver)
        .arg(gatehouse_tests::external::chromium())
        .arg(profile.path());
    if std::env::var_os("GATEHOUSE_CONSOLE_SCREENSHOTS").is_some() {
        cmd.arg(workspace().join("docs/screenshots"));
    }
    let out = cmd.output().expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("console flows: 2"), "{stdout}");
}
