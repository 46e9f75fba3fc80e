//! Katana bearer tickets under a legacy machineKey (`--katana-machine-key`, issue 21), end
//! to end on a real server: tickets issued at `/token` (their bytes are proven against the
//! real Katana bearer middleware by `gatehouse-domain`'s golden test), and tickets the real
//! Katana authorization server issued (`tests/golden/katana/katana-issued.json`, recorded by
//! the Mono harness) adopted once at Gatehouse, with revocation holding. Every refused
//! ticket the harness recorded is refused here too, without a 500.

use std::path::{Path, PathBuf};

use gatehouse_katana::{MachineKey, Ticket, TicketFormat, NAME_IDENTIFIER_CLAIM};
use gatehouse_tests::Request;
use serde_json::Value;

use crate::security::capture_logs;
use crate::support::{settings_of, Server, BROKER};

const KEY: &str = "hmacsha256-aes256";

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/katana")
}

fn golden(name: &str) -> Value {
    let path = golden_dir().join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("golden")).expect("json")
}

/// The harness's key file `name`, copied to a private file (mode 0600) in `dir`.
fn private_key_file(dir: &Path, name: &str) -> PathBuf {
    let text = std::fs::read_to_string(golden_dir().join(format!("keys/{name}.config")))
        .expect("key file");
    let path = dir.join(format!("{name}.config"));
    std::fs::write(&path, text).expect("write");
    set_mode(&path, 0o600);
    path
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn format_of(name: &str) -> TicketFormat {
    let text = std::fs::read_to_string(golden_dir().join(format!("keys/{name}.config")))
        .expect("key file");
    TicketFormat::access_token(&MachineKey::parse(&text).expect("key"))
}

/// A demo server whose machineKey is the harness's `KEY`.
fn server(dir: &tempfile::TempDir, scope: &str) -> Server {
    let key = private_key_file(dir.path(), KEY);
    let scope = scope.to_owned();
    Server::start_with(move |s| {
        s.katana_machine_key = Some(key);
        s.katana_default_scope = scope;
    })
}

/// Tickets of alice under `KEY` from the real Katana code: the one its authorization
/// server issued, then three its `TicketDataFormat` protected (`katana-edge.json`, each
/// accepted by the real bearer middleware).
fn legacy_tickets() -> Vec<String> {
    let issued = golden("katana-issued.json");
    let edge = golden("katana-edge.json");
    let from_server = issued
        .as_array()
        .expect("array")
        .iter()
        .filter(|e| e["key"] == KEY && e["user"] == "alice");
    let from_format = edge.as_array().expect("array").iter().filter(|e| {
        e["key"] == KEY
            && matches!(
                e["case"].as_str(),
                Some("baseline" | "extra-claims" | "only-name-claim")
            )
    });
    let tickets: Vec<String> = from_server
        .chain(from_format)
        .map(|e| e["token"].as_str().expect("token").to_owned())
        .collect();
    assert_eq!(tickets.len(), 4);
    tickets
}

fn userinfo(server: &Server, token: &str) -> gatehouse_tests::Response {
    server.send(Request::get("/oauth2/userinfo").bearer(token))
}

fn revoke(server: &Server, token: &str, client: (&str, &str)) -> u16 {
    server
        .send(
            Request::post("/oauth2/revoke")
                .basic(client.0, client.1)
                .form(&format!("token={token}")),
        )
        .status
}

#[test]
fn token_endpoint_issues_a_katana_ticket_that_gatehouse_tracks() {
    let dir = tempfile::tempdir().expect("dir");
    let server = server(&dir, "");
    let res =
        server.send(Request::post("/token").form(
            "grant_type=password&userName=alice&password=alice-password-1&clientKey=laptop-1",
        ));
    assert_eq!(res.status, 200, "{}", res.text());
    let body = res.json();
    let token = body["access_token"].as_str().expect("token");
    let ticket: Ticket = format_of(KEY).unprotect(token).expect("a Katana ticket");
    assert_eq!(ticket.authentication_type, "Bearer");
    assert_eq!(ticket.claim(&ticket.name_claim_type), Some("alice"));
    assert_eq!(ticket.claim(NAME_IDENTIFIER_CLAIM), body["userID"].as_str());
    for (property, member) in [
        ("userName", "userName"),
        ("userID", "userID"),
        ("sessionKey", "sessionKey"),
        ("clientKey", "clientKey"),
    ] {
        assert_eq!(
            ticket.property(property),
            body[member].as_str(),
            "{property}"
        );
    }
    let (issued, expires) = (
        ticket.issued().expect(".issued"),
        ticket.expires().expect(".expires"),
    );
    assert_eq!(
        (expires - issued).whole_seconds(),
        body["expires_in"].as_i64().expect("expires_in")
    );
    // Recorded by digest: introspection sees it, revocation ends it.
    let info = server.introspect(token);
    assert_eq!(info["active"], true);
    assert_eq!(info["username"], "alice");
    assert_eq!(info["exp"].as_i64(), Some(expires.unix_timestamp()));
    // Another client (public, no introspect_any) can neither see nor revoke it.
    assert!(revoke(&server, token, ("demo-public", "")) >= 400);
    assert!(server.active(token));
    assert_eq!(revoke(&server, token, ("demo-client", "demo-secret")), 200);
    assert!(!server.active(token));
}

#[test]
fn a_legacy_ticket_is_adopted_once_and_its_revocation_holds() {
    let dir = tempfile::tempdir().expect("dir");
    let server = server(&dir, "openid profile");
    let tickets = legacy_tickets();
    assert!(tickets.len() >= 2, "two tickets of alice under {KEY}");
    let sessions = server.count("sessions");
    // First use at introspection: adopted (a session of its own), then known.
    let info = server.introspect(&tickets[0]);
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["sub"], "a11ce000-0000-4000-8000-000000000001");
    assert_eq!(server.count("sessions"), sessions + 1);
    assert!(server.active(&tickets[0]));
    assert_eq!(server.count("sessions"), sessions + 1, "adopted once");
    // First use at userinfo (a bearer token like any other: the adopted scope is the
    // configured default scope).
    let res = userinfo(&server, &tickets[1]);
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["sub"], "a11ce000-0000-4000-8000-000000000001");
    assert_eq!(server.count("sessions"), sessions + 2);
    // Revoked: refused everywhere from now on, and never adopted again.
    assert_eq!(
        revoke(&server, &tickets[0], ("demo-client", "demo-secret")),
        200
    );
    assert!(!server.active(&tickets[0]));
    assert_eq!(userinfo(&server, &tickets[0]).status, 401);
    assert_eq!(server.count("sessions"), sessions + 2);
    // Revoking a ticket never seen before adopts it so that the revocation holds.
    let fresh = legacy_tickets_of_other_user();
    assert_eq!(revoke(&server, &fresh, ("demo-client", "demo-secret")), 200);
    assert!(!server.active(&fresh));
    assert_eq!(userinfo(&server, &fresh).status, 401);
}

/// The ticket of bob the real Katana server issued under `KEY`.
fn legacy_tickets_of_other_user() -> String {
    golden("katana-issued.json")
        .as_array()
        .expect("array")
        .iter()
        .find(|e| e["key"] == KEY && e["user"] == "bob")
        .and_then(|e| e["token"].as_str())
        .expect("bob's ticket")
        .to_owned()
}

#[test]
fn a_legacy_ticket_issues_one_time_codes_like_any_bearer_token() {
    let dir = tempfile::tempdir().expect("dir");
    let server = server(&dir, "");
    let token = &legacy_tickets()[0];
    let res = server.send(Request::post("/oauth2/onetime/token").bearer(token).json(&format!(
        r#"{{"clientId":"demo-client","brokerId":"{BROKER}","tradingAccount":"TA-1001","server":"demo-live"}}"#
    )));
    assert_eq!(res.status, 200, "{}", res.text());
    // Revoking the legacy ticket ends what it issued too.
    let code = res.json()["code"].as_str().expect("code").to_owned();
    assert_eq!(revoke(&server, token, ("demo-client", "demo-secret")), 200);
    let res = server.send(
        Request::post("/oauth2/onetime/authorize")
            .basic("demo-client", "demo-secret")
            .json(&format!(r#"{{"clientId":"demo-client","code":"{code}"}}"#)),
    );
    assert!(res.status >= 400, "{}", res.text());
}

#[test]
fn disabling_the_user_ends_katana_tickets_of_both_origins() {
    let dir = tempfile::tempdir().expect("dir");
    let server = server(&dir, "");
    let ours = server.alice_token();
    let legacy = &legacy_tickets()[0];
    assert!(server.active(&ours) && server.active(legacy));
    gatehouse::cli::user_disable(&settings_of(&server.db), "alice").expect("disable");
    assert!(!server.active(&ours));
    assert!(!server.active(legacy));
    // A ticket of a disabled user never seen before is refused too (fail closed).
    assert!(!server.active(&legacy_tickets()[1]));
}

#[test]
fn every_ticket_the_real_bearer_middleware_refused_is_refused_without_a_500() {
    let dir = tempfile::tempdir().expect("dir");
    let server = server(&dir, "openid");
    let sessions = server.count("sessions");
    let mut refused = 0;
    let rejected = golden("katana-rejected.json");
    let edge = golden("katana-edge.json");
    let no_expiry = edge.as_array().expect("edge").iter().filter(|e| {
        matches!(
            e["case"].as_str(),
            Some("no-expires" | "no-issued-no-expires" | "malformed-expires")
        )
    });
    for entry in rejected.as_array().expect("array").iter().chain(no_expiry) {
        // Every key's refusals: those of other keys are wrong-key tickets here.
        let Some(token) = entry["token"].as_str().filter(|t| !t.is_empty()) else {
            continue;
        };
        // Another key's wrong-key case may be a valid ticket under this server's key.
        if entry["case"] == "wrong-key"
            && entry["description"]
                .as_str()
                .is_some_and(|d| d.ends_with(&format!("under key {KEY}")))
        {
            continue;
        }
        let case = format!("{} {}", entry["key"], entry["case"]);
        let info = server.send(
            Request::post("/oauth2/introspect")
                .basic("demo-client", "demo-secret")
                .form(&format!("token={}", urlencode(token))),
        );
        assert_eq!(info.status, 200, "{case}: {}", info.text());
        assert_eq!(info.json()["active"], false, "{case}");
        let res = userinfo(&server, token);
        assert!(
            res.status == 401 || res.status == 400,
            "{case}: {}",
            res.status
        );
        refused += 1;
    }
    assert!(refused >= 200, "{refused}");
    assert_eq!(server.count("sessions"), sessions, "nothing adopted");
}

/// Form-encodes a token of the harness's literal cases (some are not Base64Url).
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn a_ticket_of_an_unknown_user_or_spelled_otherwise_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let server = server(&dir, "");
    let format = format_of(KEY);
    let legacy = &legacy_tickets()[0];
    let mut ticket = format.unprotect(legacy).expect("ticket");
    for c in &mut ticket.claims {
        if c.claim_type == ticket.name_claim_type {
            c.value = "mallory".to_owned();
        }
    }
    let unknown = format.protect(&ticket, &[7; 16]);
    assert!(!server.active(&unknown));
    // The same ticket bytes spelled with padding are not another token to adopt.
    assert!(server.active(legacy));
    assert!(!server.active(&format!("{legacy}==")));
    assert_eq!(revoke(&server, legacy, ("demo-client", "demo-secret")), 200);
    assert!(!server.active(legacy));
}

#[test]
fn machine_key_files_are_refused_at_start_with_the_attribute_named_and_no_key_shown() {
    let dir = tempfile::tempdir().expect("dir");
    let good =
        std::fs::read_to_string(golden_dir().join(format!("keys/{KEY}.config"))).expect("key");
    let start = |text: &str, mode: u32| {
        let path = dir.path().join("bad.config");
        std::fs::write(&path, text).expect("write");
        set_mode(&path, mode);
        let mut settings = settings_of(&dir.path().join("gh.db"));
        settings.katana_machine_key = Some(path);
        gatehouse::start(settings)
            .map(|_| ())
            .expect_err("refused")
            .to_string()
    };
    let validation_key = "0123456789ABCDEF".repeat(8);
    let element = |attrs: &str| format!("<machineKey {attrs} />");
    let cases = [
        (
            element(&format!(
                r#"validationKey="AutoGenerate,IsolateApps" decryptionKey="{}""#,
                "AB".repeat(32)
            )),
            "validationKey",
        ),
        (
            element(&format!(
                r#"validationKey="{validation_key}" decryptionKey="AutoGenerate,IsolateApps""#
            )),
            "decryptionKey",
        ),
        (
            element(&format!(
                r#"validationKey="{validation_key}" decryptionKey="{}""#,
                "AB".repeat(20)
            )),
            "decryptionKey",
        ),
        (
            element(&format!(
                r#"validationKey="{}" decryptionKey="{}""#,
                "AB".repeat(8),
                "AB".repeat(32)
            )),
            "validationKey",
        ),
        (
            element(&format!(
                r#"validationKey="{validation_key}" decryptionKey="{}" decryption="3DES""#,
                "AB".repeat(24)
            )),
            "decryption",
        ),
        (
            element(&format!(
                r#"validationKey="{validation_key}" decryptionKey="{}" validation="MD5""#,
                "AB".repeat(32)
            )),
            "validation",
        ),
        (
            element(&format!(
                r#"validationKey="{validation_key}" decryptionKey="{}" dataProtectorType="My.Protector""#,
                "AB".repeat(32)
            )),
            "dataProtectorType",
        ),
        (
            "<configuration><system.web/></configuration>".to_owned(),
            "no <machineKey>",
        ),
    ];
    for (text, named) in cases {
        let message = start(&text, 0o600);
        assert!(message.contains(named), "{named}: {message}");
        assert!(
            !message.contains(&validation_key) && !message.contains(&"AB".repeat(16)),
            "{message}"
        );
    }
    // A key file others may read is refused whatever it holds.
    let message = start(&good, 0o644);
    assert!(message.contains("chmod 600"), "{message}");
}

#[test]
fn machine_keys_and_tickets_never_reach_the_logs() {
    let logs = capture_logs();
    let dir = tempfile::tempdir().expect("dir");
    let server = server(&dir, "");
    let ours = server.alice_token();
    let legacy = legacy_tickets()[0].clone();
    assert!(server.active(&legacy));
    assert_eq!(
        revoke(&server, &legacy, ("demo-client", "demo-secret")),
        200
    );
    assert_eq!(userinfo(&server, &legacy).status, 401);
    drop(server);
    let text = logs.contents();
    assert!(text.contains("katana tickets on"), "the capture works");
    let key =
        std::fs::read_to_string(golden_dir().join(format!("keys/{KEY}.config"))).expect("key");
    let secrets: Vec<&str> = key
        .split('"')
        .filter(|v| v.len() >= 32 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect();
    assert_eq!(secrets.len(), 2, "both keys found in the file");
    for secret in
        secrets
            .iter()
            .copied()
            .chain([ours.as_str(), legacy.as_str(), &ours[..40], &legacy[..40]])
    {
        assert!(!text.contains(secret), "a secret reached the logs");
    }
}

#[test]
fn katana_inspect_decodes_a_ticket_for_operators_without_showing_the_keys() {
    let dir = tempfile::tempdir().expect("dir");
    let mut settings = settings_of(&dir.path().join("gh.db"));
    settings.demo = false;
    assert!(
        gatehouse::cli::katana_inspect(&settings, "x").is_err(),
        "no key configured"
    );
    settings.katana_machine_key = Some(private_key_file(dir.path(), KEY));
    let token = &legacy_tickets()[0];
    let out = gatehouse::cli::katana_inspect(&settings, token).expect("decodes");
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["authenticationType"], "Bearer");
    assert_eq!(v["claims"][0]["value"], "alice");
    assert_eq!(v["properties"]["userName"], "alice");
    assert_eq!(v["expired"], false);
    let key =
        std::fs::read_to_string(golden_dir().join(format!("keys/{KEY}.config"))).expect("key");
    for secret in key.split('"').filter(|v| v.len() >= 32) {
        assert!(!out.contains(secret));
    }
    let mut tampered = token.clone();
    tampered.replace_range(10..11, if &token[10..11] == "A" { "B" } else { "A" });
    let err = gatehouse::cli::katana_inspect(&settings, &tampered).expect_err("refused");
    assert!(err.contains("not a Katana access token"), "{err}");
}
