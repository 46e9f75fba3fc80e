//! Issue 19's low and info items, end to end on the real server and its database: keys that
//! do not open (item 5), and the items after it, each crossed by a second client or user.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use gatehouse_domain::keys::{generate_key, Alg, KeyEncryptionKey};
use gatehouse_domain::rng::SystemRng;
use gatehouse_domain::store::Store as _;
use gatehouse_storage::{Storage, StorageOptions};
use gatehouse_tests::Request;
use serde_json::Value;

use crate::standard::import;
use crate::support::{settings_of, Server};

const JWT_CLIENT: &str = r#"{"clients":[
 {"client_id":"api","secret":"api-secret","grants":["client_credentials"],"scope":"read","access_token_format":"jwt"}
]}"#;

fn kid_of(jwt: &str) -> String {
    let header = jwt.split('.').next().expect("header");
    let v: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("b64")).expect("json");
    v["kid"].as_str().expect("kid").to_owned()
}

fn client_credentials(server: &Server) -> gatehouse_tests::Response {
    server.send(
        Request::post("/oauth2/token")
            .basic("api", "api-secret")
            .form("grant_type=client_credentials"),
    )
}

/// Issue 19 item 5: a key sealed under another key-encryption key (what a rotation with the
/// wrong KEK used to store) never makes a grant answer 500: the previous key signs while
/// one can, then 503 `temporarily_unavailable`; `keys rotate` with a wrong KEK changes
/// nothing and says why.
#[test]
fn a_key_that_does_not_open_is_503_never_500_and_rotate_proves_the_kek() {
    let server = Server::start();
    import(&server, JWT_CLIENT);
    let res = client_credentials(&server);
    assert_eq!(res.status, 200, "{}", res.text());
    let good_kid = kid_of(res.json()["access_token"].as_str().expect("token"));

    // Rotation with another KEK: refused, nothing stored.
    let wrong = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(
        wrong.path(),
        KeyEncryptionKey::generate_text(&SystemRng::new()),
    )
    .expect("write");
    let wrong_settings = gatehouse::config::Settings {
        key_encryption_key_file: Some(wrong.path().to_path_buf()),
        ..settings_of(&server.db)
    };
    let before = server.count("signing_keys");
    let err = gatehouse::cli::keys_rotate(&wrong_settings, "ES256", 0).expect_err("refused");
    assert!(err.contains("does not open"), "{err}");
    assert_eq!(server.count("signing_keys"), before);

    // What an unchecked rotation stored: a newer ES256 key sealed under the other KEK.
    let storage = Storage::open(&server.db, StorageOptions::default()).expect("open");
    let other = KeyEncryptionKey::parse(&std::fs::read_to_string(wrong.path()).expect("read"))
        .expect("kek");
    let now = gatehouse_domain::clock::Clock::now(&gatehouse_domain::clock::SystemClock);
    let bad = generate_key(Alg::Es256, &other, &SystemRng::new(), now, now).expect("key");
    storage
        .write(move |tx| tx.insert_signing_key(&bad))
        .expect("insert");
    let res = client_credentials(&server);
    assert_eq!(res.status, 200, "the previous key signs: {}", res.text());
    assert_eq!(
        kid_of(res.json()["access_token"].as_str().expect("token")),
        good_kid
    );

    // Without a previous key that opens: 503 temporarily_unavailable, not 500.
    gatehouse::cli::keys_retire(&settings_of(&server.db), &good_kid, Some(0)).expect("retire");
    let res = client_credentials(&server);
    assert_eq!(res.status, 503, "{}", res.text());
    assert_eq!(res.json()["error"], "temporarily_unavailable");
    assert!(!res.text().contains("password hash"), "{}", res.text());
}

/// Issue 19 item 11: the RFC endpoints parse strictly (exact names, no Json.NET comments or
/// trailing text, `/oauth2/token` form only); the legacy dialects keep their leniency.
#[test]
fn rfc_endpoints_parse_strictly_and_legacy_ones_stay_lenient() {
    let server = Server::start();
    let token = server.alice_token();
    let refused = |req: Request, status: u16| {
        let res = server.send(req);
        assert_eq!(res.status, status, "{}", res.text());
        assert_eq!(res.json()["error"], "invalid_request", "{}", res.text());
        assert!(!res.text().contains(&token), "never echoed");
        assert!(!res.text().contains("demo-secret"), "never echoed");
    };
    // Case variants of RFC 6749 parameter names are other parameters.
    refused(
        Request::post("/oauth2/token")
            .basic("demo-client", "demo-secret")
            .form("Grant_Type=client_credentials"),
        400,
    );
    // JSON is not RFC 6749's token request.
    let res = server.send(
        Request::post("/oauth2/token")
            .basic("demo-client", "demo-secret")
            .json(r#"{"grant_type":"client_credentials"}"#),
    );
    assert_eq!(res.status, 415, "{}", res.text());
    // Introspection: a comment, trailing text, a case variant, a repeated name.
    for body in [
        format!(r#"{{"token":"{token}" /* Json.NET read this */}}"#),
        format!(r#"{{"token":"{token}"}} and more"#),
        format!(r#"{{"Token":"{token}"}}"#),
        r#"{"token":5}"#.to_owned(),
    ] {
        refused(
            Request::post("/oauth2/introspect")
                .basic("demo-client", "demo-secret")
                .json(&body),
            400,
        );
    }
    refused(
        Request::post("/oauth2/revoke")
            .basic("demo-client", "demo-secret")
            .form(&format!("TOKEN={token}")),
        400,
    );
    refused(
        Request::post("/oauth2/revoke")
            .basic("demo-client", "demo-secret")
            .form(&format!("token=x&token={token}")),
        400,
    );
    assert!(server.active(&token), "nothing was revoked");
    // The exact forms work.
    let res = server.send(
        Request::post("/oauth2/introspect")
            .basic("demo-client", "demo-secret")
            .json(&format!(r#"{{"token":"{token}"}}"#)),
    );
    assert_eq!(res.json()["active"], true, "{}", res.text());
    let res = server.send(
        Request::post("/oauth2/token")
            .basic("demo-client", "demo-secret")
            .form("grant_type=client_credentials"),
    );
    assert_eq!(res.status, 200, "{}", res.text());

    // Legacy leniency stays: v1 form names in any case, Json.NET comments at the member
    // dialect.
    let res = server.send(
        Request::post("/api/v1/auth/token")
            .basic("demo-client", "demo-secret")
            .form("Grant_Type=password&UserName=alice&PASSWORD=alice-password-1"),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    let res = server.send(
        Request::post("/api/Token")
            .json(r#"{"MemberId":"1234", /* a comment */ "Password":"alice-password-1"}"#),
    );
    assert_eq!(res.status, 200, "{}", res.text());
}

/// Issue 19 item 18: another client's token is refused at revocation in revocation's words.
#[test]
fn revoking_another_clients_token_is_refused_in_revocations_words() {
    let server = Server::start();
    import(
        &server,
        r#"{"clients":[{"client_id":"other","secret":"other-secret","grants":["client_credentials"],"scope":""}]}"#,
    );
    let v = server.v1_login("alice", "alice-password-1");
    let token = v["access_token"].as_str().expect("token").to_owned();
    let res = server.send(
        Request::post("/oauth2/revoke")
            .basic("other", "other-secret")
            .form(&format!("token={token}")),
    );
    assert_eq!(res.status, 400, "{}", res.text());
    let body = res.json();
    assert_eq!(body["error"], "unauthorized_client");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(description.contains("revoke"), "{description}");
    assert!(!description.contains("grant type"), "{description}");
    assert!(server.active(&token), "the owner's token lives");
}

fn import_result(server: &Server, doc: &str) -> Result<(), String> {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), doc).expect("write");
    gatehouse::cli::import(&settings_of(&server.db), file.path())
}

/// Issue 19 items 10 and 16: `gatehouse import` names the field path and the expected type of
/// a wrongly typed value, never the value; a `password_hash` this server cannot verify is
/// refused at import (it used to be stored, and the user could never sign in).
#[test]
fn import_errors_never_echo_values_and_hashes_are_checked() {
    let server = Server::start();
    let users = server.count("users");
    let err = import_result(
        &server,
        r#"{"users":[{"user_name":"carol","password":987654321987}]}"#,
    )
    .expect_err("refused");
    assert!(!err.contains("987654321987"), "{err}");
    assert!(
        err.contains("users[0].password") && err.contains("expected"),
        "{err}"
    );
    let err = import_result(
        &server,
        r#"{"clients":[{"client_id":"x","secret":["s3cr3t-value"],"grants":[]}]}"#,
    )
    .expect_err("refused");
    assert!(!err.contains("s3cr3t-value"), "{err}");
    assert!(err.contains("clients[0].secret"), "{err}");
    for hash in ["pbkdf2-sha256$600000$bm90$", "not-a-hash", "AQAAAAEAACcQ"] {
        let err = import_result(
            &server,
            &format!(r#"{{"users":[{{"user_name":"carol","password_hash":"{hash}"}}]}}"#),
        )
        .expect_err("refused");
        assert!(err.contains("password_hash"), "{err}");
    }
    assert_eq!(server.count("users"), users, "nothing stored");
    // A real hash (made by this server) imports, and its password signs in.
    let hasher = gatehouse_domain::credentials::PasswordHasher::new(1_000).expect("hasher");
    let hash = hasher.hash("carol-password-1", &SystemRng::new());
    import_result(
        &server,
        &format!(r#"{{"users":[{{"user_name":"carol","password_hash":"{hash}"}}]}}"#),
    )
    .expect("imported");
    assert_eq!(
        server.v1_login("carol", "carol-password-1")["token_type"],
        "Bearer"
    );
}

/// Issue 19 item 9 (RFC 9068 section 5): a client whose id is a user's GUID (its
/// client-credentials JWTs would carry that user's `sub`), or whose audience is another
/// client's id, is refused at import and at `client add`.
/// `client add`'s options for a confidential client with `grants` and `scope`.
fn cli_client(id: &str, grants: &[&str], scope: &str) -> gatehouse::cli::NewClientArgs {
    gatehouse::cli::NewClientArgs {
        client_id: id.into(),
        grants: grants.iter().map(|g| (*g).to_owned()).collect(),
        scope: scope.into(),
        redirect_url: None,
        broker: None,
        public: false,
        introspect_any: false,
        redirect_uris: Vec::new(),
        consent_required: false,
        client_name: None,
        access_token_format: "opaque".into(),
        audience: None,
        access_token_alg: None,
        id_token_alg: None,
        jwks: None,
        keys_only: false,
        post_logout_redirect_uris: Vec::new(),
        require_pushed_authorization_requests: false,
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
        token_exchange_audiences: Vec::new(),
        dpop_bound_access_tokens: false,
    }
}

/// Issue 20 item 4: import and `client add` build a client through the one `ClientSpec`
/// validation. A client id with surrounding white space is refused by both (ids are matched
/// exactly: import used to store it as given, `client add` trimmed it); both store the scope
/// with runs of white space made one space; both refuse an unknown grant in the same words.
#[test]
fn import_and_client_add_apply_one_client_rule() {
    let server = Server::start();
    let settings = settings_of(&server.db);
    let clients = server.count("clients");
    // As JSON text in the document, as the characters themselves on the command line.
    for id in [" padded", "padded\\t", "tab\\u0007bell"] {
        let err = import_result(
            &server,
            &format!(r#"{{"clients":[{{"client_id":"{id}","grants":["password"],"scope":""}}]}}"#),
        )
        .expect_err("import refuses");
        assert!(
            err.contains("client_id must not begin or end with white space"),
            "{err}"
        );
    }
    for id in [" padded", "padded\t", "tab\u{7}bell"] {
        let err = gatehouse::cli::client_add(&settings, cli_client(id, &["password"], ""))
            .expect_err("client add refuses");
        assert!(
            err.contains("client_id must not begin or end with white space"),
            "{err}"
        );
    }
    assert_eq!(server.count("clients"), clients, "nothing stored");

    import_result(
        &server,
        r#"{"clients":[{"client_id":"from-import","secret":"s-1234567890","grants":["password"],"scope":"  read \t write  "}]}"#,
    )
    .expect("imported");
    gatehouse::cli::client_add(
        &settings,
        cli_client("from-cli", &["password"], "  read \t write  "),
    )
    .expect("added");
    assert_eq!(
        server.count(
            "clients WHERE client_id IN ('from-import', 'from-cli') AND scope = 'read write'"
        ),
        2,
        "both normalise the scope"
    );

    let from_import = import_result(
        &server,
        r#"{"clients":[{"client_id":"typo","grants":["pasword"],"scope":""}]}"#,
    )
    .expect_err("refused");
    let from_cli = gatehouse::cli::client_add(&settings, cli_client("typo", &["pasword"], ""))
        .expect_err("refused");
    assert!(
        from_import.contains(r#"client typo: unknown grant "pasword""#),
        "{from_import}"
    );
    assert_eq!(from_import, from_cli, "one rule, one message");
}

#[test]
fn jwt_subjects_and_audiences_cannot_collide() {
    let server = Server::start();
    let clients = server.count("clients");
    let err = import_result(
        &server,
        r#"{"clients":[{"client_id":"a11ce000-0000-4000-8000-000000000001","secret":"s-1234567890","grants":["client_credentials"],"scope":"","access_token_format":"jwt"}]}"#,
    )
    .expect_err("refused");
    assert!(err.contains("user's id"), "{err}");
    let err = import_result(
        &server,
        r#"{"clients":[{"client_id":"mallory","secret":"s-1234567890","grants":["client_credentials"],"scope":"","access_token_format":"jwt","audience":"demo-client"}]}"#,
    )
    .expect_err("refused");
    assert!(err.contains("another client's id"), "{err}");
    let err = gatehouse::cli::client_add(
        &settings_of(&server.db),
        cli_client(
            "b0b00000-0000-4000-8000-000000000002",
            &["client_credentials"],
            "",
        ),
    )
    .expect_err("refused");
    assert!(err.contains("user's id"), "{err}");
    assert_eq!(server.count("clients"), clients, "nothing stored");
    // A user whose id is a client's id.
    import_result(
        &server,
        r#"{"clients":[{"client_id":"c0ffee00-0000-4000-8000-000000000003","grants":["password"],"scope":""}]}"#,
    )
    .expect("a GUID naming nobody is a fine client id");
    let err = import_result(
        &server,
        r#"{"users":[{"id":"c0ffee00-0000-4000-8000-000000000003","user_name":"carol","password":"carol-password-1"}]}"#,
    )
    .expect_err("refused");
    assert!(err.contains("client's id"), "{err}");
}

/// Issue 19 item 14: a JWT client's refresh after an administrator narrowed its scope is
/// narrowed (as for opaque clients), not refused as "the refresh token changed".
#[test]
fn a_jwt_clients_refresh_follows_its_narrowed_scope() {
    let server = Server::start();
    let client = |scope: &str| {
        format!(
            r#"{{"clients":[{{"client_id":"api","secret":"api-secret","grants":["password","refresh_token"],"scope":"{scope}","access_token_format":"jwt"}}]}}"#
        )
    };
    import(&server, &client("read write"));
    let res = server.send(
        Request::post("/oauth2/token")
            .basic("api", "api-secret")
            .form(
                "grant_type=password&username=alice&password=alice-password-1&scope=read%20write",
            ),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    let refresh = res.json()["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    import(&server, &client("read"));
    let res = server.send(
        Request::post("/oauth2/token")
            .basic("api", "api-secret")
            .form(&format!("grant_type=refresh_token&refresh_token={refresh}")),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["scope"], "read");
}
