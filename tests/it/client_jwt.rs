//! `private_key_jwt` client authentication (RFC 7523 section 2.2) over HTTP: at the token,
//! introspection and revocation endpoints; a second client, a replay, another audience,
//! another key each refused as `invalid_client` with nothing changed; a client holding a
//! secret and keys; discovery advertising it only while some client has keys.

use gatehouse_tests::jwt::{unix_now, TestKey, ASSERTION_TYPE};
use gatehouse_tests::{Request, Response};
use serde_json::{json, Value};

use crate::support::{settings_of, Server};

/// Two key-only clients, `signer` and `other`, each with its own key; and the issuer.
fn server() -> (Server, TestKey, TestKey, String) {
    server_with(|_| {})
}

fn server_with(
    tweak: impl FnOnce(&mut gatehouse::config::Settings),
) -> (Server, TestKey, TestKey, String) {
    let server = Server::start_with(tweak);
    let (signer, other) = (TestKey::generate("s1"), TestKey::generate("o1"));
    let doc = json!({"clients": [
        {"client_id": "signer", "grants": ["client_credentials"], "scope": "api",
         "jwks": signer.jwks()},
        {"client_id": "other", "grants": ["client_credentials"], "scope": "api",
         "jwks": other.jwks()},
    ]});
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), doc.to_string()).expect("write");
    gatehouse::cli::import(&settings_of(&server.db), file.path()).expect("import");
    let issuer = metadata(&server)["issuer"]
        .as_str()
        .expect("issuer")
        .to_owned();
    (server, signer, other, issuer)
}

fn metadata(server: &Server) -> Value {
    server
        .send(Request::get("/.well-known/oauth-authorization-server"))
        .json()
}

fn form_with(assertion: &str, rest: &str) -> String {
    format!("client_assertion_type={ASSERTION_TYPE}&client_assertion={assertion}&{rest}")
}

fn token(server: &Server, assertion: &str) -> Response {
    server.send(
        Request::post("/oauth2/token").form(&form_with(assertion, "grant_type=client_credentials")),
    )
}

fn assert_invalid_client(res: &Response, what: &str) {
    assert_eq!(res.status, 401, "{what}: {}", res.text());
    assert_eq!(res.json()["error"], "invalid_client", "{what}");
}

#[test]
fn private_key_jwt_at_token_introspection_and_revocation() {
    let (server, signer, _, issuer) = server();
    let res = token(&server, &signer.assertion("signer", &issuer));
    assert_eq!(res.status, 200, "{}", res.text());
    let access = res.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let introspect = |assertion: String| {
        server.send(
            Request::post("/oauth2/introspect")
                .form(&form_with(&assertion, &format!("token={access}"))),
        )
    };
    let info = introspect(signer.assertion("signer", &issuer));
    assert_eq!(info.status, 200, "{}", info.text());
    assert_eq!(info.json()["active"], true);
    assert_eq!(info.json()["client_id"], "signer");
    // The body's client_id may accompany the assertion, and must name its subject.
    let revoked = server.send(Request::post("/oauth2/revoke").form(&form_with(
        &signer.assertion("signer", &issuer),
        &format!("client_id=signer&token={access}"),
    )));
    assert_eq!(revoked.status, 200, "{}", revoked.text());
    assert_eq!(
        introspect(signer.assertion("signer", &issuer)).json()["active"],
        false
    );
    // A client with keys and no secret is confidential: its bare client_id is nobody.
    let bare = server.send(
        Request::post("/oauth2/token").form("grant_type=client_credentials&client_id=signer"),
    );
    assert_invalid_client(&bare, "bare client_id of a key-only client");
}

#[test]
fn assertions_that_cross_a_rule_are_refused_and_change_nothing() {
    // Every refusal counts against the address (as a wrong secret does): the address
    // lockout is raised here so that each rule is seen on its own.
    let (server, signer, other, issuer) = server_with(|s| s.lockout_free_failures = 1_000);
    let tokens_before = server.count("access_tokens");
    let now = unix_now();
    let with = |name: &str, value: Value| {
        let mut claims = TestKey::claims_at("signer", &issuer, now);
        claims[name] = value;
        signer.assertion_of(&claims)
    };
    let cases: Vec<(&str, String)> = vec![
        // The second client's key, claiming to be the first.
        ("another client's key", other.assertion("signer", &issuer)),
        // Signed with the first client's key id but another key.
        (
            "another key under the client's kid",
            TestKey::generate("s1").assertion("signer", &issuer),
        ),
        (
            "the token endpoint as aud",
            with("aud", json!(format!("{issuer}/oauth2/token"))),
        ),
        (
            "another issuer as aud",
            with("aud", json!("https://other.example")),
        ),
        ("aud as an array", with("aud", json!([issuer]))),
        ("expired", with("exp", json!(now - 1))),
        ("lives ten minutes", with("exp", json!(now + 600))),
        ("no jti", {
            let mut c = TestKey::claims_at("signer", &issuer, now);
            c.as_object_mut().map(|m| m.remove("jti"));
            signer.assertion_of(&c)
        }),
        ("iss is another client", with("iss", json!("other"))),
        (
            "alg none",
            format!(
                "{}.{}.",
                base64_url(r#"{"alg":"none"}"#),
                base64_url(&TestKey::claims_at("signer", &issuer, now).to_string())
            ),
        ),
        (
            "an access token's type",
            signer.sign(
                &json!({"alg": "ES256", "kid": "s1", "typ": "at+jwt"}),
                &TestKey::claims_at("signer", &issuer, now),
            ),
        ),
        ("not a JWT", "abc".to_owned()),
    ];
    for (what, assertion) in &cases {
        assert_invalid_client(&token(&server, assertion), what);
    }
    // The first client's good assertion, presented with the second client's id.
    let res = server.send(Request::post("/oauth2/token").form(&form_with(
        &signer.assertion("signer", &issuer),
        "grant_type=client_credentials&client_id=other",
    )));
    assert_invalid_client(&res, "client_id of another client");
    // Replay: once at the token endpoint, then again there and at introspection.
    let once = signer.assertion("signer", &issuer);
    assert_eq!(token(&server, &once).status, 200);
    assert_invalid_client(&token(&server, &once), "replayed at the token endpoint");
    let replay =
        server.send(Request::post("/oauth2/introspect").form(&form_with(&once, "token=whatever")));
    assert_invalid_client(&replay, "replayed at introspection");
    assert_eq!(
        server.count("access_tokens"),
        tokens_before + 1,
        "only the good one"
    );
    // Two methods at once, or a half-given assertion: invalid_request.
    let good = signer.assertion("signer", &issuer);
    for (what, req) in [
        (
            "assertion and Basic",
            Request::post("/oauth2/token")
                .basic("demo-client", "demo-secret")
                .form(&form_with(&good, "grant_type=client_credentials")),
        ),
        (
            "assertion and client_secret",
            Request::post("/oauth2/token").form(&form_with(
                &good,
                "grant_type=client_credentials&client_id=signer&client_secret=x",
            )),
        ),
        (
            "assertion without its type",
            Request::post("/oauth2/token").form(&format!(
                "grant_type=client_credentials&client_assertion={good}"
            )),
        ),
    ] {
        let res = server.send(req);
        assert_eq!(res.status, 400, "{what}: {}", res.text());
        assert_eq!(res.json()["error"], "invalid_request", "{what}");
    }
    let saml = server.send(Request::post("/oauth2/token").form(&format!(
        "grant_type=client_credentials&client_assertion_type=urn:ietf:params:oauth:client-assertion-type:saml2-bearer&client_assertion={good}"
    )));
    assert_invalid_client(&saml, "another assertion type");
    // None of those consumed the good assertion.
    assert_eq!(token(&server, &good).status, 200);
}

#[test]
fn bad_assertions_lock_the_address_like_bad_secrets() {
    let (server, signer, other, issuer) = server();
    for _ in 0..5 {
        assert_invalid_client(&token(&server, &other.assertion("signer", &issuer)), "bad");
    }
    let locked = token(&server, &signer.assertion("signer", &issuer));
    assert_eq!(locked.status, 429, "{}", locked.text());
    assert!(locked.header("retry-after").is_some());
    // At introspection too (it runs on the blocking pool for an assertion, and counts).
    drop(server);
    let (server, signer, other, issuer) = self::server();
    let introspect = |assertion: String| {
        server.send(Request::post("/oauth2/introspect").form(&form_with(&assertion, "token=t")))
    };
    for _ in 0..5 {
        assert_invalid_client(&introspect(other.assertion("signer", &issuer)), "bad");
    }
    let locked = introspect(signer.assertion("signer", &issuer));
    assert_eq!(locked.status, 429, "{}", locked.text());
}

fn base64_url(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[test]
fn a_client_holds_a_secret_and_keys_during_a_migration() {
    let server = Server::start();
    let issuer = metadata(&server)["issuer"]
        .as_str()
        .expect("issuer")
        .to_owned();
    let demo = TestKey::demo_client();
    let basic = || {
        server.send(
            Request::post("/oauth2/token")
                .basic("demo-client", "demo-secret")
                .form("grant_type=client_credentials"),
        )
    };
    assert_eq!(basic().status, 200);
    assert_eq!(
        token(&server, &demo.assertion("demo-client", &issuer)).status,
        200
    );
    for doc in [
        metadata(&server),
        server
            .send(Request::get("/.well-known/openid-configuration"))
            .json(),
    ] {
        let methods = doc["token_endpoint_auth_methods_supported"].to_string();
        assert!(methods.contains("private_key_jwt"), "{methods}");
        assert_eq!(
            doc["token_endpoint_auth_signing_alg_values_supported"],
            json!(["ES256", "EdDSA", "RS256"])
        );
    }
    // Keys removed: assertions stop, the secret goes on, discovery stops advertising.
    gatehouse::cli::client_set_jwks(&settings_of(&server.db), "demo-client", None).expect("clear");
    assert_invalid_client(
        &token(&server, &demo.assertion("demo-client", &issuer)),
        "keys removed",
    );
    assert_eq!(basic().status, 200);
    for doc in [
        metadata(&server),
        server
            .send(Request::get("/.well-known/openid-configuration"))
            .json(),
    ] {
        assert!(!doc.to_string().contains("private_key_jwt"), "{doc}");
        assert!(doc
            .get("token_endpoint_auth_signing_alg_values_supported")
            .is_none());
    }
    // A key-only client keeps its keys: removing them would make it public.
    let keys = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(keys.path(), demo.jwks().to_string()).expect("write");
    let args = gatehouse::cli::NewClientArgs {
        client_id: "device".into(),
        grants: vec!["client_credentials".into()],
        scope: String::new(),
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
        post_logout_redirect_uris: Vec::new(),
        require_pushed_authorization_requests: false,
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
        token_exchange_audiences: Vec::new(),
        dpop_bound_access_tokens: false,
        jwks: Some(keys.path().to_owned()),
        keys_only: true,
    };
    gatehouse::cli::client_add(&settings_of(&server.db), args).expect("add");
    let err = gatehouse::cli::client_set_jwks(&settings_of(&server.db), "device", None)
        .expect_err("refused");
    assert!(err.contains("public"), "{err}");
    assert_eq!(
        token(&server, &demo.assertion("device", &issuer)).status,
        200
    );
    // A private key is never registered.
    let private = tempfile::NamedTempFile::new().expect("temp");
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../docs/demo/demo-client-private-key.json"),
        private.path(),
    )
    .expect("copy");
    let set = format!(
        r#"{{"keys":[{}]}}"#,
        std::fs::read_to_string(private.path()).expect("read")
    );
    std::fs::write(private.path(), set).expect("write");
    let err =
        gatehouse::cli::client_set_jwks(&settings_of(&server.db), "device", Some(private.path()))
            .expect_err("refused");
    assert!(err.contains("private"), "{err}");
}

#[test]
fn assertions_never_reach_the_logs() {
    let logs = crate::security::capture_logs();
    let (server, signer, other, issuer) = server();
    let good = signer.assertion("signer", &issuer);
    assert_eq!(token(&server, &good).status, 200);
    let replayed = token(&server, &good);
    assert_invalid_client(&replayed, "replay");
    let stranger = other.assertion("signer", &issuer);
    assert_invalid_client(&token(&server, &stranger), "another key");
    let text = logs.contents();
    for (i, assertion) in [&good, &stranger].into_iter().enumerate() {
        let signature = assertion.rsplit('.').next().unwrap_or_default();
        assert!(!text.contains(signature), "assertion {i} in the logs");
        assert!(!replayed.text().contains(signature));
    }
    assert!(
        text.contains("client assertion refused"),
        "the reason is logged"
    );
}

/// The private JWK of `key`'s pair is not exportable from `ring`; the real clients get the
/// demo client's key file, registered for a fresh key-only client, and a stranger's key
/// (registered nowhere) generated by the script's own library.
fn real_client_server() -> (Server, Value, String) {
    let server = Server::start();
    let demo = TestKey::demo_client();
    let doc = json!({"clients": [
        {"client_id": "signed-app", "grants": ["client_credentials"], "scope": "api",
         "jwks": demo.jwks()},
    ]});
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), doc.to_string()).expect("write");
    gatehouse::cli::import(&settings_of(&server.db), file.path()).expect("import");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    let key: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("docs/demo/demo-client-private-key.json"))
            .expect("demo key"),
    )
    .expect("json");
    let issuer = format!("http://{}", server.addr);
    (server, key, issuer)
}

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn run_ok(mut command: std::process::Command, what: &str) {
    let out = command.output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("OK discovery"),
        "{what} failed:\n{stdout}\n{stderr}"
    );
    eprintln!("{}", stdout.trim());
}

/// openid-client 6 (`PrivateKeyJwt`): client credentials, introspection and revocation with
/// assertions; a key not registered for the client refused.
#[test]
fn openid_client_6_private_key_jwt() {
    use gatehouse_tests::external::{require, Piece};
    let Some(node_dir) = require(Piece::Node, "client_jwt::openid_client_6_private_key_jwt") else {
        return;
    };
    let (_server, key, issuer) = real_client_server();
    let stranger = json!({"kty": "EC", "crv": "P-256", "kid": "demo-client-1",
        // A valid P-256 private key that is not the demo client's (RFC 7515 A.3's).
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"});
    let script = node_dir.join("gatehouse-openid-client-private-key-jwt.mjs");
    std::fs::copy(
        root().join("tests/clients/openid_client_private_key_jwt.mjs"),
        &script,
    )
    .expect("copy");
    let config = json!({"issuer": issuer, "client_id": "signed-app", "key": key,
                        "stranger": stranger});
    let mut command = std::process::Command::new("node");
    command
        .arg(&script)
        .arg(config.to_string())
        .current_dir(&node_dir);
    run_ok(command, "openid_client_private_key_jwt.mjs");
}

/// Authlib's `PrivateKeyJWT`, signing for the issuer: the same round; its default audience
/// (the token endpoint URL) refused.
#[test]
fn authlib_private_key_jwt() {
    use gatehouse_tests::external::{require, Piece};
    let Some(python) = require(Piece::Python, "client_jwt::authlib_private_key_jwt") else {
        return;
    };
    let (_server, key, issuer) = real_client_server();
    let config = json!({"issuer": issuer, "client_id": "signed-app", "key": key});
    let mut command = std::process::Command::new(&python);
    command
        .arg(root().join("tests/clients/authlib_private_key_jwt.py"))
        .arg(config.to_string())
        .env("HOME", std::env::temp_dir());
    run_ok(command, "authlib_private_key_jwt.py");
}
