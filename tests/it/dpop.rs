//! DPoP (RFC 9449) over HTTP: proofs bind the tokens of `/oauth2/token` to a key
//! (`token_type` `DPoP`, `cnf.jkt` in introspection and in JWT access tokens), server nonces
//! (`use_dpop_nonce` with `DPoP-Nonce`), `/oauth2/userinfo` with `Authorization: DPoP`; a
//! second key, a replayed proof, a wrong `htm`/`htu`, a stale `iat`, a missing nonce, a bound
//! token used as Bearer, another client's refresh token: each refused with its error and
//! nothing changed. Proofs are signed with `ring` here, independently of the server's code.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use gatehouse_tests::jwt::{unix_now, TestKey};
use gatehouse_tests::{Request, Response};
use serde_json::{json, Value};

use crate::support::{settings_of, Server};

/// What a proof says; `proof` signs it.
struct Claims<'a> {
    htm: &'a str,
    htu: String,
    nonce: Option<&'a str>,
    ath: Option<String>,
    iat: i64,
    jti: String,
}

fn claims<'a>(htm: &'a str, htu: String, nonce: Option<&'a str>) -> Claims<'a> {
    Claims {
        htm,
        htu,
        nonce,
        ath: None,
        iat: unix_now(),
        jti: gatehouse_tests::jwt::random_jti(),
    }
}

fn public_jwk(key: &TestKey) -> Value {
    let mut jwk = key.public_jwk();
    if let Some(map) = jwk.as_object_mut() {
        map.remove("kid");
        map.remove("use");
    }
    jwk
}

fn proof_with(key: &TestKey, header: &Value, c: &Claims<'_>) -> String {
    let mut body = json!({"htm": c.htm, "htu": c.htu, "iat": c.iat, "jti": c.jti});
    if let Some(n) = c.nonce {
        body["nonce"] = json!(n);
    }
    if let Some(ath) = &c.ath {
        body["ath"] = json!(ath);
    }
    key.sign(header, &body)
}

fn proof(key: &TestKey, c: &Claims<'_>) -> String {
    proof_with(
        key,
        &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": public_jwk(key)}),
        c,
    )
}

/// RFC 7638 thumbprint of a P-256 key, computed here.
fn jkt(key: &TestKey) -> String {
    let jwk = key.public_jwk();
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        jwk["x"].as_str().unwrap_or_default(),
        jwk["y"].as_str().unwrap_or_default()
    );
    URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        canonical.as_bytes(),
    ))
}

fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        token.as_bytes(),
    ))
}

fn issuer(server: &Server) -> String {
    server
        .send(Request::get("/.well-known/oauth-authorization-server"))
        .json()["issuer"]
        .as_str()
        .expect("issuer")
        .to_owned()
}

fn token_url(server: &Server) -> String {
    format!("{}/oauth2/token", issuer(server))
}

/// The server's current nonce: a proof without one is answered `use_dpop_nonce`.
fn nonce(server: &Server, key: &TestKey) -> String {
    let c = claims("POST", token_url(server), None);
    let res = server.send(
        Request::post("/oauth2/token")
            .basic("demo-client", "demo-secret")
            .header("DPoP", &proof(key, &c))
            .form("grant_type=client_credentials"),
    );
    assert_eq!(res.status, 400, "{}", res.text());
    assert_eq!(res.json()["error"], "use_dpop_nonce");
    res.header("DPoP-Nonce").expect("DPoP-Nonce").to_owned()
}

fn password_grant(server: &Server, client: (&str, Option<&str>), dpop: Option<&str>) -> Response {
    let mut req = Request::post("/oauth2/token");
    let mut form = "grant_type=password&username=alice&password=alice-password-1".to_owned();
    match client {
        // demo-client may have openid (userinfo); demo-public has no scope of its own.
        (id, Some(secret)) => {
            req = req.basic(id, secret);
            form.push_str("&scope=openid+profile");
        }
        (id, None) => form.push_str(&format!("&client_id={id}")),
    }
    if let Some(p) = dpop {
        req = req.header("DPoP", p);
    }
    server.send(req.form(&form))
}

fn str_of(v: &Value, name: &str) -> String {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} in {v}"))
        .to_owned()
}

fn assert_dpop_error(res: &Response, code: &str, what: &str) {
    assert_eq!(res.status, 400, "{what}: {}", res.text());
    assert_eq!(res.json()["error"], code, "{what}: {}", res.text());
}

#[test]
fn proofs_bind_tokens_to_the_key_everywhere_they_are_used() {
    let server = Server::start();
    let (key, other) = (TestKey::generate("a"), TestKey::generate("b"));
    let n = nonce(&server, &key);
    let res = password_grant(
        &server,
        ("demo-client", Some("demo-secret")),
        Some(&proof(&key, &claims("POST", token_url(&server), Some(&n)))),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["token_type"], "DPoP");
    assert!(
        res.header("DPoP-Nonce").is_some(),
        "a fresh nonce on success"
    );
    let access = str_of(&res.json(), "access_token");

    // RFC 9449 section 6.2: introspection says how the token is bound.
    let info = server.introspect(&access);
    assert_eq!(info["token_type"], "DPoP", "{info}");
    assert_eq!(info["cnf"]["jkt"], jkt(&key), "{info}");

    let userinfo = format!("{}/oauth2/userinfo", issuer(&server));
    // A bound token is no bearer token (section 7.1).
    let res = server.send(Request::get("/oauth2/userinfo").bearer(&access));
    assert_eq!(res.status, 401, "{}", res.text());
    let challenges: Vec<&str> = res
        .headers
        .iter()
        .filter(|(k, _)| k == "www-authenticate")
        .map(|(_, v)| v.as_str())
        .collect();
    assert!(
        challenges
            .iter()
            .any(|c| c.starts_with("DPoP ") && c.contains("algs=\"")),
        "{challenges:?}"
    );
    assert!(
        challenges.iter().any(|c| c.contains("invalid_token")),
        "{challenges:?}"
    );

    let dpop_get = |key: &TestKey, c: Claims<'_>| {
        server.send(
            Request::get("/oauth2/userinfo")
                .header("Authorization", &format!("DPoP {access}"))
                .header("DPoP", &proof(key, &c)),
        )
    };
    let mut good = claims("GET", userinfo.clone(), Some(&n));
    good.ath = Some(ath(&access));
    let res = dpop_get(&key, good);
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["preferred_username"], "alice");
    assert!(res.header("DPoP-Nonce").is_some());

    // Another key, though its proof is sound.
    let mut theirs = claims("GET", userinfo.clone(), Some(&n));
    theirs.ath = Some(ath(&access));
    let res = dpop_get(&other, theirs);
    assert_eq!(res.status, 401, "{}", res.text());
    assert_eq!(res.json()["error"], "invalid_token");
    // No ath, an ath of another token, the token endpoint's htu, POST for GET.
    let res = dpop_get(&key, claims("GET", userinfo.clone(), Some(&n)));
    assert_eq!(res.json()["error"], "invalid_dpop_proof", "{}", res.text());
    let mut wrong_ath = claims("GET", userinfo.clone(), Some(&n));
    wrong_ath.ath = Some(ath("another-token"));
    assert_eq!(
        dpop_get(&key, wrong_ath).json()["error"],
        "invalid_dpop_proof"
    );
    let mut wrong_htu = claims("GET", token_url(&server), Some(&n));
    wrong_htu.ath = Some(ath(&access));
    assert_eq!(
        dpop_get(&key, wrong_htu).json()["error"],
        "invalid_dpop_proof"
    );
    let mut wrong_htm = claims("POST", userinfo.clone(), Some(&n));
    wrong_htm.ath = Some(ath(&access));
    assert_eq!(
        dpop_get(&key, wrong_htm).json()["error"],
        "invalid_dpop_proof"
    );
    // Without a nonce: use_dpop_nonce with a fresh one, on the DPoP challenge.
    let mut no_nonce = claims("GET", userinfo, None);
    no_nonce.ath = Some(ath(&access));
    let res = dpop_get(&key, no_nonce);
    assert_eq!(res.status, 401);
    assert_eq!(res.json()["error"], "use_dpop_nonce");
    assert!(res.header("DPoP-Nonce").is_some());
    // DPoP scheme without a proof.
    let res = server
        .send(Request::get("/oauth2/userinfo").header("Authorization", &format!("DPoP {access}")));
    assert_eq!(res.status, 401);
    assert_eq!(res.json()["error"], "invalid_dpop_proof");
    // Still the key's after all this.
    assert_eq!(server.introspect(&access)["cnf"]["jkt"], jkt(&key));

    // An unbound token keeps working as Bearer, and is refused with a DPoP proof.
    let res = password_grant(&server, ("demo-client", Some("demo-secret")), None);
    assert_eq!(res.json()["token_type"], "Bearer");
    let bearer = str_of(&res.json(), "access_token");
    assert_eq!(
        server
            .send(Request::get("/oauth2/userinfo").bearer(&bearer))
            .status,
        200
    );
    assert!(server.introspect(&bearer).get("cnf").is_none());
}

#[test]
fn bad_proofs_are_refused_and_change_nothing() {
    let server = Server::start();
    let key = TestKey::generate("a");
    let n = nonce(&server, &key);
    let url = token_url(&server);
    let sessions = server.count("sessions");
    let send = |proofs: &[&str]| {
        let mut req = Request::post("/oauth2/token").basic("demo-client", "demo-secret");
        for p in proofs {
            req = req.header("DPoP", p);
        }
        server.send(req.form("grant_type=client_credentials"))
    };
    let now = unix_now();
    let jwk = public_jwk(&key);
    let mut private = key.public_jwk();
    private["d"] = json!(URL_SAFE_NO_PAD.encode([7u8; 32]));
    let at = |iat: i64| Claims {
        iat,
        ..claims("POST", url.clone(), Some(&n))
    };
    let cases: Vec<(&str, String)> = vec![
        (
            "wrong htm",
            proof(&key, &claims("GET", url.clone(), Some(&n))),
        ),
        (
            "wrong htu",
            proof(
                &key,
                &claims("POST", url.replace("/token", "/par"), Some(&n)),
            ),
        ),
        (
            "htu of the Host header",
            proof(
                &key,
                &claims("POST", "http://localhost/oauth2/token".into(), Some(&n)),
            ),
        ),
        ("stale iat", proof(&key, &at(now - 120))),
        ("future iat", proof(&key, &at(now + 60))),
        (
            "foreign nonce",
            proof(&key, &claims("POST", url.clone(), Some("bm9ub25jZQ"))),
        ),
        (
            "typ JWT",
            proof_with(
                &key,
                &json!({"typ": "JWT", "alg": "ES256", "jwk": jwk}),
                &at(now),
            ),
        ),
        (
            "alg none",
            proof_with(
                &key,
                &json!({"typ": "dpop+jwt", "alg": "none", "jwk": jwk}),
                &at(now),
            ),
        ),
        (
            "HS256",
            proof_with(
                &key,
                &json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": jwk}),
                &at(now),
            ),
        ),
        (
            "private jwk",
            proof_with(
                &key,
                &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": private}),
                &at(now),
            ),
        ),
        (
            "jwk of another key",
            proof_with(
                &key,
                &json!({"typ": "dpop+jwt", "alg": "ES256",
                       "jwk": public_jwk(&TestKey::generate("x"))}),
                &at(now),
            ),
        ),
        ("not a JWT", "a.b".to_owned()),
        ("too large", "a".repeat(9 * 1024)),
    ];
    for (what, p) in &cases {
        let res = send(&[p]);
        if *what == "foreign nonce" {
            assert_dpop_error(&res, "use_dpop_nonce", what);
        } else {
            assert_dpop_error(&res, "invalid_dpop_proof", what);
        }
    }
    // Two DPoP headers, each sound.
    let a = proof(&key, &claims("POST", url.clone(), Some(&n)));
    let b = proof(&key, &claims("POST", url.clone(), Some(&n)));
    assert_dpop_error(&send(&[&a, &b]), "invalid_dpop_proof", "two headers");
    assert_eq!(server.count("sessions"), sessions, "nothing issued");

    // A replay: the first use binds, the second is refused.
    let once = proof(&key, &claims("POST", url.clone(), Some(&n)));
    assert_eq!(send(&[&once]).status, 200);
    assert_dpop_error(&send(&[&once]), "invalid_dpop_proof", "replay");
    assert_eq!(server.count("sessions"), sessions + 1);
    // An upper-case, default-port htu is the same URL (RFC 3986 normalisation).
    let loud = url.replacen("http://", "HTTP://", 1);
    assert_eq!(
        send(&[&proof(&key, &claims("POST", loud, Some(&n)))]).status,
        200
    );
}

#[test]
fn refresh_tokens_stay_with_their_key_and_client() {
    let server = Server::start();
    let (key, other) = (TestKey::generate("a"), TestKey::generate("b"));
    let n = nonce(&server, &key);
    let url = token_url(&server);
    let res = password_grant(
        &server,
        ("demo-public", None),
        Some(&proof(&key, &claims("POST", url.clone(), Some(&n)))),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["token_type"], "DPoP");
    let refresh = str_of(&res.json(), "refresh_token");
    let tokens = server.count("refresh_tokens");
    let refresh_with = |client: (&str, Option<&str>), p: Option<String>| {
        let mut req = Request::post("/oauth2/token");
        let mut form = format!("grant_type=refresh_token&refresh_token={refresh}");
        match client {
            (id, Some(secret)) => req = req.basic(id, secret),
            (id, None) => form.push_str(&format!("&client_id={id}")),
        }
        if let Some(p) = p {
            req = req.header("DPoP", &p);
        }
        server.send(req.form(&form))
    };
    let fresh = |k: &TestKey| Some(proof(k, &claims("POST", url.clone(), Some(&n))));
    // Another key, no key, another client with its own key.
    assert_dpop_error(
        &refresh_with(("demo-public", None), fresh(&other)),
        "invalid_dpop_proof",
        "another key",
    );
    assert_dpop_error(
        &refresh_with(("demo-public", None), None),
        "invalid_dpop_proof",
        "no proof",
    );
    let res = refresh_with(("demo-client", Some("demo-secret")), fresh(&other));
    assert_eq!(res.status, 400, "{}", res.text());
    assert_eq!(res.json()["error"], "invalid_grant");
    assert_eq!(server.count("refresh_tokens"), tokens, "nothing rotated");
    // The holder of the key still refreshes, bound to the same key.
    let res = refresh_with(("demo-public", None), fresh(&key));
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["token_type"], "DPoP");
    let access = str_of(&res.json(), "access_token");
    assert_eq!(server.introspect(&access)["cnf"]["jkt"], jkt(&key));
}

#[test]
fn a_client_that_must_bind_gets_no_bearer_tokens_and_jwts_carry_cnf() {
    let server = Server::start();
    let doc = json!({"clients": [
        {"client_id": "bound", "secret": "bound-secret-0123456789",
         "grants": ["client_credentials", "password"], "scope": "api",
         "access_token_format": "jwt", "dpop_bound_access_tokens": true},
    ]});
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), doc.to_string()).expect("write");
    gatehouse::cli::import(&settings_of(&server.db), file.path()).expect("import");
    let sessions = server.count("sessions");
    let res = server.send(
        Request::post("/oauth2/token")
            .basic("bound", "bound-secret-0123456789")
            .form("grant_type=client_credentials"),
    );
    assert_dpop_error(&res, "invalid_dpop_proof", "no proof");
    // Nor through a legacy dialect, which cannot carry a proof.
    let res = server.send(
        Request::post("/api/v1/auth/token")
            .basic("bound", "bound-secret-0123456789")
            .form("grant_type=client_credentials"),
    );
    assert!(res.status >= 400, "{}", res.text());
    assert_eq!(server.count("sessions"), sessions, "nothing issued");

    let key = TestKey::generate("a");
    let n = nonce(&server, &key);
    let res = server.send(
        Request::post("/oauth2/token")
            .basic("bound", "bound-secret-0123456789")
            .header(
                "DPoP",
                &proof(&key, &claims("POST", token_url(&server), Some(&n))),
            )
            .form("grant_type=client_credentials"),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["token_type"], "DPoP");
    let jwt = str_of(&res.json(), "access_token");
    let payload = jwt.split('.').nth(1).expect("a JWT");
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON");
    assert_eq!(claims["cnf"]["jkt"], jkt(&key), "{claims}");
}

#[test]
fn discovery_advertises_dpop_only_when_on() {
    let server = Server::start();
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let doc = server.send(Request::get(path)).json();
        assert_eq!(
            doc["dpop_signing_alg_values_supported"],
            json!(["RS256", "ES256", "EdDSA"]),
            "{path}"
        );
    }
    let off = Server::start_with(|s| s.dpop = Some(gatehouse::config::OnOff::Off));
    let doc = off
        .send(Request::get("/.well-known/oauth-authorization-server"))
        .text()
        .to_owned();
    assert!(!doc.contains("dpop"), "{doc}");
    // Off, a proof is ignored (RFC 9449 section 5): a Bearer token.
    let key = TestKey::generate("a");
    let url = format!("{}/oauth2/token", issuer(&off));
    let res = off.send(
        Request::post("/oauth2/token")
            .basic("demo-client", "demo-secret")
            .header("DPoP", &proof(&key, &claims("POST", url, None)))
            .form("grant_type=client_credentials"),
    );
    assert_eq!(res.json()["token_type"], "Bearer", "{}", res.text());
}

#[test]
fn without_required_nonces_a_proof_needs_none() {
    let server = Server::start_with(|s| s.dpop_nonce = gatehouse::config::OnOff::Off);
    let key = TestKey::generate("a");
    let res = server.send(
        Request::post("/oauth2/token")
            .basic("demo-client", "demo-secret")
            .header(
                "DPoP",
                &proof(&key, &claims("POST", token_url(&server), None)),
            )
            .form("grant_type=client_credentials"),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["token_type"], "DPoP");
    assert!(res.header("DPoP-Nonce").is_none());
}

#[test]
fn proofs_and_bound_tokens_never_reach_the_log() {
    let logs = crate::security::capture_logs();
    let server = Server::start();
    let key = TestKey::generate("a");
    let n = nonce(&server, &key);
    let p = proof(&key, &claims("POST", token_url(&server), Some(&n)));
    let res = password_grant(&server, ("demo-client", Some("demo-secret")), Some(&p));
    assert_eq!(res.status, 200, "{}", res.text());
    let access = str_of(&res.json(), "access_token");
    // A replay is logged as refused, never with the proof.
    assert_eq!(
        password_grant(&server, ("demo-client", Some("demo-secret")), Some(&p)).status,
        400
    );
    let text = logs.contents();
    let signature = p.rsplit('.').next().unwrap_or_default();
    assert!(!text.contains(signature), "a proof was logged");
    assert!(!text.contains(&access), "an access token was logged");
    assert!(!text.contains(&n), "a nonce was logged");
}

/// openid-client 6 (`getDPoPHandle`): a password grant, introspection, userinfo, refresh and
/// client credentials with proofs and server nonces; another key refused.
#[test]
fn openid_client_6_dpop() {
    use gatehouse_tests::external::{require, Piece};
    let Some(node_dir) = require(Piece::Node, "dpop::openid_client_6_dpop") else {
        return;
    };
    let server = Server::start();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    let script = node_dir.join("gatehouse-openid-client-dpop.mjs");
    std::fs::copy(root.join("tests/clients/openid_client_dpop.mjs"), &script).expect("copy");
    let config = json!({"issuer": issuer(&server), "client_id": "demo-client",
                        "client_secret": "demo-secret", "username": "alice",
                        "password": "alice-password-1"});
    let out = std::process::Command::new("node")
        .arg(&script)
        .arg(config.to_string())
        .current_dir(&node_dir)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("OK discovery"),
        "openid_client_dpop.mjs failed:\n{stdout}\n{stderr}"
    );
    eprintln!("{}", stdout.trim());
}

/// The per-client setting through the admin API: `PATCH {"dpop_bound_access_tokens": true}`
/// makes a client's proof-less requests fail, another change keeps it, `false` lifts it.
#[test]
fn the_admin_api_sets_dpop_bound_access_tokens() {
    let server = Server::start_with(|s| s.admin_bind = Some("127.0.0.1:0".parse().expect("addr")));
    let admin = server.admin_addr().expect("admin listener");
    let token = str_of(
        &server
            .send(
                Request::post("/oauth2/token")
                    .basic("demo-admin", "demo-admin-secret")
                    .form("grant_type=client_credentials&scope=gatehouse%3Aadmin"),
            )
            .json(),
        "access_token",
    );
    let patch = |body: &str| {
        let res = Request::patch("/admin/v1/clients/demo-client")
            .bearer(&token)
            .json(body)
            .send(admin);
        assert_eq!(res.status, 200, "{body}: {}", res.text());
    };
    let bearer = || {
        server.send(
            Request::post("/oauth2/token")
                .basic("demo-client", "demo-secret")
                .form("grant_type=client_credentials"),
        )
    };
    assert_eq!(bearer().status, 200);
    patch(r#"{"dpop_bound_access_tokens": true}"#);
    assert_dpop_error(&bearer(), "invalid_dpop_proof", "bound by the admin API");
    patch(r#"{"consent_required": false}"#);
    assert_dpop_error(&bearer(), "invalid_dpop_proof", "kept by another change");
    patch(r#"{"dpop_bound_access_tokens": false}"#);
    assert_eq!(bearer().json()["token_type"], "Bearer");
}

/// RFC 9449 section 10: `dpop_jkt` at `/oauth2/authorize` (and pushed at `/oauth2/par`)
/// binds the code: only a token request with a proof by that key redeems it; a thief's
/// attempts (no proof, another key) leave it unspent for its owner.
#[test]
fn dpop_jkt_binds_the_authorization_code() {
    use crate::standard::{authorize_path, enc, pkce, redirected, Browser, WEB_CB};
    let server = crate::standard::server();
    let (key, thief) = (TestKey::generate("a"), TestKey::generate("b"));
    let n = nonce(&server, &key);
    let url = token_url(&server);
    let verifier = "v".repeat(43);
    let [c, m] = pkce(&verifier);
    let redeem = |code: &str, k: Option<&TestKey>| {
        let mut req = Request::post("/oauth2/token").basic("web", "web-secret");
        if let Some(k) = k {
            req = req.header("DPoP", &proof(k, &claims("POST", url.clone(), Some(&n))));
        }
        server.send(req.form(&format!(
            "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={verifier}",
            enc(code),
            enc(WEB_CB)
        )))
    };
    let check_bound = |code: &str| {
        assert_dpop_error(&redeem(code, None), "invalid_dpop_proof", "no proof");
        assert_dpop_error(
            &redeem(code, Some(&thief)),
            "invalid_dpop_proof",
            "another key",
        );
        let res = redeem(code, Some(&key));
        assert_eq!(res.status, 200, "{}", res.text());
        assert_eq!(res.json()["token_type"], "DPoP");
    };

    let mut browser = Browser::default();
    let thumb = jkt(&key);
    let path = authorize_path(
        "web",
        WEB_CB,
        &[
            ("state", "s"),
            (c.0, &c.1),
            (m.0, &m.1),
            ("dpop_jkt", &thumb),
        ],
    );
    let res = browser.sign_in(&server, &path, "alice", "alice-password-1");
    check_bound(&redirected(&res, WEB_CB)["code"]);

    // Pushed (RFC 9126): the parameter travels with the request_uri.
    let form = format!(
        "response_type=code&client_id=web&redirect_uri={}&state=p&{}={}&{}={}&dpop_jkt={thumb}",
        enc(WEB_CB),
        c.0,
        c.1,
        m.0,
        m.1
    );
    let pushed = server.send(
        Request::post("/oauth2/par")
            .basic("web", "web-secret")
            .form(&form),
    );
    assert_eq!(pushed.status, 201, "{}", pushed.text());
    let uri = str_of(&pushed.json(), "request_uri");
    let res = browser.get(
        &server,
        &format!("/oauth2/authorize?client_id=web&request_uri={}", enc(&uri)),
    );
    check_bound(&redirected(&res, WEB_CB)["code"]);

    // Not a thumbprint: invalid_request at the client's redirect URI.
    let bad = authorize_path(
        "web",
        WEB_CB,
        &[(c.0, &c.1), (m.0, &m.1), ("dpop_jkt", "abc")],
    );
    let res = browser.get(&server, &bad);
    assert_eq!(redirected(&res, WEB_CB)["error"], "invalid_request");
}
