//! Signed tokens and OpenID Connect end to end over HTTP: the JWKS and both discovery
//! documents, RFC 9068 access tokens (introspection, revocation, tampering, rotation and
//! retirement), the id_token of the code flow, userinfo and RP-initiated logout; then real
//! validators: PyJWT against the JWKS, and Authlib's OpenID client driving headless Chromium.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use gatehouse::config::Settings;
use gatehouse_domain::pkce::s256;
use gatehouse_tests::{Request, Response};
use serde_json::{json, Value};

use crate::standard::{enc, import};
use crate::support::{settings_of, Server};

pub(crate) const CB: &str = "https://rp.example/cb";
pub(crate) const VERIFIER: &str = "oidc-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";
pub(crate) const ALICE: &str = "a11ce000-0000-4000-8000-000000000001";

fn clients(server: &Server) {
    import(
        server,
        &format!(
            r#"{{"clients":[
 {{"client_id":"api","secret":"api-secret","grants":["client_credentials","password","refresh_token"],"scope":"read write","access_token_format":"jwt"}},
 {{"client_id":"other","secret":"other-secret","grants":["client_credentials"],"scope":"read"}},
 {{"client_id":"rp","secret":"rp-secret","grants":["authorization_code","refresh_token"],"scope":"openid profile email","redirect_uris":["{CB}"],"access_token_format":"jwt"}},
 {{"client_id":"rp-opaque","secret":"rp2-secret","grants":["authorization_code"],"scope":"openid profile","redirect_uris":["{CB}"]}}
]}}"#
        ),
    );
}

fn server() -> Server {
    let server = Server::start();
    clients(&server);
    server
}

fn kek(server: &Server) -> PathBuf {
    let mut name = server.db.as_os_str().to_owned();
    name.push(".kek");
    PathBuf::from(name)
}

pub(crate) fn part(jwt: &str, i: usize) -> Value {
    let p = jwt.split('.').nth(i).expect("part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).expect("base64url")).expect("JSON")
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

pub(crate) fn token(server: &Server, id: &str, secret: &str, form: &str) -> Value {
    let res = server.send(Request::post("/oauth2/token").basic(id, secret).form(form));
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()
}

fn cc(server: &Server) -> String {
    token(server, "api", "api-secret", "grant_type=client_credentials")["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

pub(crate) fn introspect(server: &Server, id: &str, secret: &str, tok: &str) -> Value {
    let res = server.send(
        Request::post("/oauth2/introspect")
            .basic(id, secret)
            .form(&format!("token={}", enc(tok))),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()
}

fn active(server: &Server, tok: &str) -> bool {
    introspect(server, "api", "api-secret", tok)["active"] == json!(true)
}

fn jwks(server: &Server) -> Value {
    let res = server.send(Request::get("/oauth2/jwks"));
    assert_eq!(res.status, 200);
    res.json()
}

/// The kid of the (only) published key of `alg`.
fn kid_of_alg(server: &Server, alg: &str) -> String {
    let set = jwks(server);
    let mut of_alg = set["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter(|k| k["alg"] == alg)
        .map(|k| k["kid"].as_str().expect("kid").to_owned());
    let kid = of_alg.next().expect("a key of the algorithm");
    assert!(of_alg.next().is_none(), "one {alg} key");
    kid
}

fn kids(server: &Server) -> Vec<String> {
    jwks(server)["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect()
}

#[test]
fn jwks_and_discovery_documents() {
    let server = server();
    let res = server.send(Request::get("/oauth2/jwks"));
    assert_eq!(res.status, 200);
    assert_eq!(res.header("cache-control"), Some("public, max-age=300"));
    assert_eq!(res.header("content-type"), Some("application/json"));
    let set = res.json();
    let keys = set["keys"].as_array().expect("keys");
    assert_eq!(
        keys.len(),
        2,
        "the first keys: RS256 (id_tokens) and ES256 (access tokens)"
    );
    let key = keys.iter().find(|k| k["kty"] == "RSA").expect("RSA key");
    let ec = keys.iter().find(|k| k["kty"] == "EC").expect("EC key");
    assert_eq!(
        (ec["crv"].as_str(), ec["alg"].as_str()),
        (Some("P-256"), Some("ES256"))
    );
    assert!(ec.get("d").is_none(), "no private member d");
    assert_eq!(
        (
            key["kty"].as_str(),
            key["alg"].as_str(),
            key["use"].as_str()
        ),
        (Some("RSA"), Some("RS256"), Some("sig"))
    );
    assert!(key["kid"].as_str().is_some_and(|k| !k.is_empty()));
    for private in ["d", "p", "q", "dp", "dq", "qi"] {
        assert!(key.get(private).is_none(), "no private member {private}");
    }
    assert_eq!(
        server.send(Request::post("/oauth2/jwks").form("")).status,
        405
    );

    let issuer = format!("http://{}", server.addr);
    let rfc8414 = server
        .send(Request::get("/.well-known/oauth-authorization-server"))
        .json();
    assert_eq!(rfc8414["jwks_uri"], json!(format!("{issuer}/oauth2/jwks")));

    let res = server.send(Request::get("/.well-known/openid-configuration"));
    assert_eq!(res.status, 200);
    assert!(res.header("cache-control").is_some());
    let doc = res.json();
    // OpenID Connect Discovery 1.0 section 3: every REQUIRED member.
    assert_eq!(doc["issuer"], json!(issuer));
    assert_eq!(
        doc["authorization_endpoint"],
        json!(format!("{issuer}/oauth2/authorize"))
    );
    assert_eq!(
        doc["token_endpoint"],
        json!(format!("{issuer}/oauth2/token"))
    );
    assert_eq!(doc["jwks_uri"], json!(format!("{issuer}/oauth2/jwks")));
    assert_eq!(
        doc["userinfo_endpoint"],
        json!(format!("{issuer}/oauth2/userinfo"))
    );
    assert_eq!(
        doc["end_session_endpoint"],
        json!(format!("{issuer}/oauth2/logout"))
    );
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(doc["subject_types_supported"], json!(["public"]));
    assert!(doc["id_token_signing_alg_values_supported"]
        .as_array()
        .expect("algs")
        .contains(&json!("RS256")));
    assert!(doc["scopes_supported"]
        .as_array()
        .expect("scopes")
        .contains(&json!("openid")));
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    // The KEK beside the demo database is the owner's alone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(kek(&server))
            .expect("kek")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn jwt_access_tokens_are_rfc_9068_and_introspection_refuses_tampering() {
    let server = server();
    let issuer = format!("http://{}", server.addr);
    let tok = cc(&server);
    let header = part(&tok, 0);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(
        header["alg"], "ES256",
        "the default algorithm of access tokens"
    );
    assert_eq!(header["kid"], json!(kid_of_alg(&server, "ES256")));
    let claims = part(&tok, 1);
    assert_eq!(claims["iss"], json!(issuer));
    assert_eq!(
        claims["sub"], "api",
        "client credentials: the client is the subject"
    );
    assert_eq!(claims["aud"], "api");
    assert_eq!(claims["client_id"], "api");
    assert_eq!(claims["scope"], "read write");
    for claim in ["exp", "iat"] {
        assert!(claims[claim].is_i64(), "{claim}");
    }
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 32));
    assert!(claims["sid"].as_str().is_some());
    let exp = claims["exp"].as_i64().unwrap_or(0);
    assert_eq!(
        exp - claims["iat"].as_i64().unwrap_or(0),
        1200,
        "default lifetime"
    );
    let info = introspect(&server, "api", "api-secret", &tok);
    assert_eq!(info["active"], true);
    assert_eq!(info["token_type"], "Bearer");
    assert_eq!(info["scope"], "read write");
    // Another client (without introspect_any) sees it inactive, as for opaque tokens.
    assert_eq!(
        introspect(&server, "other", "other-secret", &tok)["active"],
        false
    );

    let [h, p, s] = {
        let v: Vec<&str> = tok.split('.').collect();
        [v[0], v[1], v[2]]
    };
    let mut forged = claims.clone();
    forged["scope"] = json!("read write admin");
    let changed_claim = format!("{h}.{}.{s}", b64(&forged));
    let mut later = claims.clone();
    later["exp"] = json!(exp + 3600);
    let changed_exp = format!("{h}.{}.{s}", b64(&later));
    let none_header = json!({"alg": "none", "typ": "at+jwt", "kid": header["kid"]});
    let alg_none = format!("{}.{p}.", b64(&none_header));
    let alg_none_with_sig = format!("{}.{p}.{s}", b64(&none_header));
    let hs_header = json!({"alg": "HS256", "typ": "at+jwt", "kid": header["kid"]});
    let alg_hs256 = format!("{}.{p}.{s}", b64(&hs_header));
    let unknown_kid = format!(
        "{}.{p}.{s}",
        b64(&json!({"alg": "RS256", "typ": "at+jwt", "kid": "not-a-key"}))
    );
    let no_kid = format!("{}.{p}.{s}", b64(&json!({"alg": "RS256", "typ": "at+jwt"})));
    let wrong_typ = format!(
        "{}.{p}.{s}",
        b64(&json!({"alg": "RS256", "typ": "JWT", "kid": header["kid"]}))
    );
    let truncated_sig = format!("{h}.{p}.{}", &s[..s.len() - 4]);
    let mut sig_bytes = URL_SAFE_NO_PAD.decode(s).expect("sig");
    sig_bytes[10] ^= 1;
    let flipped_sig = format!("{h}.{p}.{}", URL_SAFE_NO_PAD.encode(&sig_bytes));
    for (what, bad) in [
        ("a changed claim", &changed_claim),
        ("a later exp", &changed_exp),
        ("alg none", &alg_none),
        ("alg none with the signature", &alg_none_with_sig),
        ("alg HS256", &alg_hs256),
        ("an unknown kid", &unknown_kid),
        ("no kid", &no_kid),
        ("another typ", &wrong_typ),
        ("a truncated signature", &truncated_sig),
        ("a flipped signature bit", &flipped_sig),
        ("four parts", &format!("{tok}.x")),
        (
            "the jti alone",
            &claims["jti"].as_str().unwrap_or_default().to_owned(),
        ),
    ] {
        let info = introspect(&server, "api", "api-secret", bad);
        assert_eq!(info, json!({"active": false}), "{what}");
        // Revoking a forgery revokes nothing.
        let res = server.send(
            Request::post("/oauth2/revoke")
                .basic("api", "api-secret")
                .form(&format!("token={}", enc(bad))),
        );
        assert_eq!(res.status, 200, "{what}");
        assert!(active(&server, &tok), "{what}: the real token lives on");
    }

    // Revocation: another client may not; the owner may, and introspection sees it at once.
    let res = server.send(
        Request::post("/oauth2/revoke")
            .basic("other", "other-secret")
            .form(&format!("token={}", enc(&tok))),
    );
    assert!(res.status >= 400, "{}", res.text());
    assert!(active(&server, &tok));
    let res = server.send(
        Request::post("/oauth2/revoke")
            .basic("api", "api-secret")
            .form(&format!("token={}", enc(&tok))),
    );
    assert_eq!(res.status, 200);
    assert!(!active(&server, &tok), "revoked: inactive at once");

    // Opaque stays the default: demo-client's tokens have no dots, on every dialect.
    let opaque = server.alice_token();
    assert!(!opaque.contains('.'), "{opaque}");
    let other = token(
        &server,
        "other",
        "other-secret",
        "grant_type=client_credentials",
    );
    assert!(!other["access_token"].as_str().unwrap_or(".").contains('.'));
}

#[test]
fn password_and_refresh_for_a_jwt_client_keep_the_session() {
    let server = server();
    let first = token(
        &server,
        "api",
        "api-secret",
        "grant_type=password&username=alice&password=alice-password-1&scope=read",
    );
    let at = first["access_token"].as_str().expect("at");
    let claims = part(at, 1);
    assert_eq!(claims["sub"], ALICE, "sub is the user's GUID");
    assert_eq!(claims["scope"], "read");
    let rt = first["refresh_token"].as_str().expect("rt");
    assert!(!rt.contains('.'), "refresh tokens stay opaque");
    let second = token(
        &server,
        "api",
        "api-secret",
        &format!("grant_type=refresh_token&refresh_token={}", enc(rt)),
    );
    let at2 = second["access_token"].as_str().expect("at2");
    let claims2 = part(at2, 1);
    assert_eq!(claims2["sid"], claims["sid"], "same session");
    assert_eq!(claims2["sub"], ALICE);
    assert_ne!(claims2["jti"], claims["jti"]);
    assert!(active(&server, at) && active(&server, at2));
    // The v1 legacy dialect with the same client issues its JWTs too (the client asked).
    let res = server.send(
        Request::post("/api/v1/auth/token")
            .basic("api", "api-secret")
            .form("grant_type=client_credentials"),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    let v1 = res.json()["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(part(&v1, 0)["typ"], "at+jwt");
    assert!(active(&server, &v1));
    // Revoking the refresh token ends the family: both JWTs die at once.
    let res = server.send(
        Request::post("/oauth2/revoke")
            .basic("api", "api-secret")
            .form(&format!(
                "token={}",
                enc(second["refresh_token"].as_str().unwrap_or_default())
            )),
    );
    assert_eq!(res.status, 200);
    assert!(!active(&server, at) && !active(&server, at2));
}

#[test]
fn rotation_publishes_first_and_retirement_keeps_a_window() {
    let server = server();
    let db = server.db.clone();
    let first_kid = kid_of_alg(&server, "ES256");
    let t1 = cc(&server);
    assert_eq!(part(&t1, 0)["kid"], json!(first_kid));
    // A key with a publish delay: listed at once, not signing yet.
    gatehouse::cli::keys_rotate(&settings_of(&db), "ES256", 3600).expect("rotate");
    let listed = kids(&server);
    assert_eq!(listed.len(), 3);
    let pending = listed[2].clone();
    let t2 = cc(&server);
    assert_eq!(
        part(&t2, 0)["kid"],
        json!(first_kid),
        "the pending key does not sign"
    );
    // A key without delay signs at once (the newest active key of the client's algorithm).
    gatehouse::cli::keys_rotate(&settings_of(&db), "ES256", 0).expect("rotate");
    let listed = kids(&server);
    assert_eq!(listed.len(), 4);
    let es = listed[3].clone();
    let t3 = cc(&server);
    assert_eq!(part(&t3, 0)["kid"], json!(es));
    assert_eq!(part(&t3, 0)["alg"], "ES256");
    assert!(active(&server, &t1) && active(&server, &t3));
    assert_ne!(pending, es);
    // A wrong KEK file cannot rotate.
    let wrong = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(wrong.path(), "tooshort").expect("write");
    let wrong = Settings {
        key_encryption_key_file: Some(wrong.path().to_path_buf()),
        ..settings_of(&db)
    };
    assert!(gatehouse::cli::keys_rotate(&wrong, "RS256", 0).is_err());
    assert!(gatehouse::cli::keys_rotate(&settings_of(&db), "HS256", 0).is_err());
    // Retired with the default window: still published and accepted.
    gatehouse::cli::keys_retire(&settings_of(&db), &first_kid, None).expect("retire");
    assert!(kids(&server).contains(&first_kid));
    assert!(active(&server, &t1));
    assert!(gatehouse::cli::keys_retire(&settings_of(&db), "no-such-kid", None).is_err());
    // Retired with no window left: gone from the JWKS, its unexpired tokens refused.
    gatehouse::cli::keys_retire(&settings_of(&db), &es, Some(0)).expect("retire");
    assert!(!kids(&server).contains(&es));
    assert!(
        !active(&server, &t3),
        "signed by a key retired past its window"
    );
    assert!(
        active(&server, &t1),
        "the other retired key is within its window"
    );
    gatehouse::cli::keys_list(&settings_of(&db)).expect("list");
}

// ----- OpenID Connect --------------------------------------------------------------------

/// A cookie jar over the raw client.
#[derive(Default)]
pub(crate) struct Browser {
    pub(crate) cookies: HashMap<String, String>,
}

impl Browser {
    pub(crate) fn send(&mut self, server: &Server, mut request: Request) -> Response {
        if !self.cookies.is_empty() {
            let header: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            request = request.header("Cookie", &header.join("; "));
        }
        let res = server.send(request);
        for (name, value) in &res.headers {
            if name == "set-cookie" {
                let pair = value.split(';').next().unwrap_or_default();
                if let Some((k, v)) = pair.split_once('=') {
                    if v.is_empty() || value.contains("Max-Age=0") {
                        self.cookies.remove(k);
                    } else {
                        self.cookies.insert(k.to_owned(), v.to_owned());
                    }
                }
            }
        }
        res
    }

    pub(crate) fn post(
        &mut self,
        server: &Server,
        path: &str,
        fields: &[(String, String)],
    ) -> Response {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        self.send(server, Request::post(path).form(&body.join("&")))
    }
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

pub(crate) fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for piece in html.split("<input type=\"hidden\" name=\"").skip(1) {
        let (name, rest) = piece.split_once('"').expect("name");
        let value = rest
            .split_once("value=\"")
            .and_then(|(_, v)| v.split_once('"'))
            .map(|(v, _)| unescape(v))
            .unwrap_or_default();
        out.push((name.to_owned(), value));
    }
    out
}

pub(crate) fn query_of(location: &str) -> HashMap<String, String> {
    let q = location.split_once('?').map(|(_, q)| q).unwrap_or("");
    q.split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| {
            let v = v.replace('+', " ");
            let mut out = Vec::new();
            let b = v.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'%' && i + 2 < b.len() + 1 {
                    out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).expect("hex"));
                    i += 3;
                } else {
                    out.push(b[i]);
                    i += 1;
                }
            }
            (k.to_owned(), String::from_utf8(out).expect("utf-8"))
        })
        .collect()
}

/// Authorizes `client` for `scope` with `nonce` (signing in as `user` when the browser has no
/// session) and returns the code.
pub(crate) fn code(
    server: &Server,
    browser: &mut Browser,
    client: &str,
    scope: &str,
    nonce: &str,
    user: &str,
    password: &str,
) -> String {
    let path = format!(
        "/oauth2/authorize?response_type=code&client_id={client}&redirect_uri={}&scope={}&state=s1&nonce={}&code_challenge={}&code_challenge_method=S256",
        enc(CB),
        enc(scope),
        enc(nonce),
        s256(VERIFIER)
    );
    let mut res = browser.send(server, Request::get(&path));
    if res.status == 200 {
        let mut fields = hidden_fields(res.text());
        fields.push(("username".into(), user.into()));
        fields.push(("password".into(), password.into()));
        res = browser.post(server, "/oauth2/login", &fields);
    }
    assert_eq!(res.status, 303, "{}", res.text());
    let q = query_of(res.header("location").expect("location"));
    assert_eq!(q.get("state").map(String::as_str), Some("s1"));
    q["code"].clone()
}

pub(crate) fn exchange(server: &Server, client: &str, secret: &str, code: &str) -> Value {
    token(
        server,
        client,
        secret,
        &format!(
            "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}",
            enc(code),
            enc(CB),
            VERIFIER
        ),
    )
}

fn userinfo(server: &Server, tok: &str) -> Response {
    server.send(Request::get("/oauth2/userinfo").bearer(tok))
}

#[test]
fn code_flow_id_token_userinfo_and_logout() {
    let server = server();
    let issuer = format!("http://{}", server.addr);
    let mut browser = Browser::default();
    let c = code(
        &server,
        &mut browser,
        "rp",
        "openid profile",
        "n-0S6_WzA2Mj",
        "alice",
        "alice-password-1",
    );
    let tokens = exchange(&server, "rp", "rp-secret", &c);
    let at = tokens["access_token"].as_str().expect("access_token");
    let id = tokens["id_token"]
        .as_str()
        .expect("an id_token for the openid scope");
    let header = part(id, 0);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], json!(kids(&server)[0]));
    let claims = part(id, 1);
    assert_eq!(claims["iss"], json!(issuer));
    assert_eq!(claims["sub"], ALICE);
    assert_eq!(claims["aud"], "rp");
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["preferred_username"], "alice");
    assert_eq!(
        claims["at_hash"],
        json!(gatehouse_domain::keys::half_hash(
            gatehouse_domain::keys::Alg::Rs256,
            at
        ))
    );
    for claim in ["exp", "iat", "auth_time"] {
        assert!(claims[claim].is_i64(), "{claim}");
    }
    assert!(claims["auth_time"].as_i64() <= claims["iat"].as_i64());
    let sid = claims["sid"].as_str().expect("sid").to_owned();
    // The access token is an RFC 9068 JWT for this client, in another session than the sid
    // (the sid is the browser session).
    assert_eq!(part(at, 1)["sub"], ALICE);

    // userinfo.
    let res = userinfo(&server, at);
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert_eq!(
        res.json(),
        json!({"sub": ALICE, "preferred_username": "alice"})
    );
    let res = server.send(Request::post("/oauth2/userinfo").bearer(at).form(""));
    assert_eq!(res.status, 200);
    let res = server.send(Request::get("/oauth2/userinfo"));
    assert_eq!(res.status, 401);
    // One challenge writer (issue 20): the realm of every other challenge too.
    assert_eq!(
        res.header("www-authenticate"),
        Some("Bearer realm=\"gatehouse\"")
    );
    assert_eq!(res.json()["error"], "invalid_request");
    let res = userinfo(&server, "not-a-token");
    assert_eq!(res.status, 401);
    assert_eq!(
        res.header("www-authenticate"),
        Some("Bearer realm=\"gatehouse\", error=\"invalid_token\"")
    );
    assert_eq!(res.json(), json!({"error": "invalid_token"}));
    // A token without the openid scope gets no userinfo.
    let res = userinfo(&server, &server.alice_token());
    assert_eq!(res.status, 401);
    let res = userinfo(&server, &cc(&server));
    assert_eq!(res.status, 401, "client credentials have no user");

    // The same browser again (no form): the same sub and sid; without openid no id_token.
    let c2 = code(
        &server,
        &mut browser,
        "rp",
        "openid",
        "n2",
        "alice",
        "alice-password-1",
    );
    let t2 = exchange(&server, "rp", "rp-secret", &c2);
    let claims2 = part(t2["id_token"].as_str().expect("id_token"), 1);
    assert_eq!(
        (claims2["sub"].as_str(), claims2["sid"].as_str()),
        (Some(ALICE), Some(sid.as_str()))
    );
    assert_eq!(claims2["nonce"], "n2");
    assert!(
        claims2.get("preferred_username").is_none(),
        "profile not granted"
    );
    let c3 = code(
        &server,
        &mut browser,
        "rp",
        "profile",
        "n3",
        "alice",
        "alice-password-1",
    );
    let t3 = exchange(&server, "rp", "rp-secret", &c3);
    assert!(t3.get("id_token").is_none(), "{t3}");
    assert_eq!(
        userinfo(&server, t3["access_token"].as_str().unwrap_or_default()).status,
        401
    );
    // An opaque client gets an id_token too; its opaque access token gets userinfo.
    let c4 = code(
        &server,
        &mut browser,
        "rp-opaque",
        "openid profile",
        "n4",
        "alice",
        "alice-password-1",
    );
    let t4 = exchange(&server, "rp-opaque", "rp2-secret", &c4);
    let opaque = t4["access_token"].as_str().expect("at");
    assert!(!opaque.contains('.'));
    assert_eq!(
        part(t4["id_token"].as_str().expect("id_token"), 1)["aud"],
        "rp-opaque"
    );
    assert_eq!(userinfo(&server, opaque).json()["sub"], ALICE);
    // Another user's sub differs; another client cannot redeem rp's code.
    let mut bobs = Browser::default();
    let cb = code(
        &server,
        &mut bobs,
        "rp",
        "openid",
        "nb",
        "bob",
        "bob-password-1",
    );
    let res = server.send(
        Request::post("/oauth2/token")
            .basic("rp-opaque", "rp2-secret")
            .form(&format!(
                "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={VERIFIER}",
                enc(&cb),
                enc(CB)
            )),
    );
    assert_eq!(res.status, 400, "{}", res.text());
    let tb = exchange(&server, "rp", "rp-secret", &cb);
    let bob_sub = part(tb["id_token"].as_str().expect("id_token"), 1)["sub"].clone();
    assert_ne!(bob_sub, json!(ALICE));
    let bob_at = tb["access_token"].as_str().unwrap_or_default().to_owned();

    // RP-initiated logout ends the browser session and every token it led to; bob's live on.
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let page = browser.send(&server, Request::post("/oauth2/logout").form(""));
    assert_eq!(page.status, 200, "{}", page.text());
    let res = browser.post(&server, "/oauth2/logout", &hidden_fields(page.text()));
    assert_eq!(res.status, 200, "{}", res.text());
    let rp_active = |t: &str| introspect(&server, "rp", "rp-secret", t)["active"] == json!(true);
    assert!(introspect(&server, "rp-opaque", "rp2-secret", opaque)["active"] == json!(false));
    for t in [at, t2["access_token"].as_str().unwrap_or_default()] {
        assert!(!rp_active(t), "logout ends the tokens");
    }
    assert_eq!(userinfo(&server, at).status, 401);
    let res = server.send(
        Request::post("/oauth2/token")
            .basic("rp", "rp-secret")
            .form(&format!(
                "grant_type=refresh_token&refresh_token={}",
                enc(&refresh)
            )),
    );
    assert_eq!(res.status, 400, "the refresh token ended too");
    assert!(rp_active(&bob_at));
    assert_eq!(userinfo(&server, &bob_at).status, 200);
    // The next authorization asks for the password again.
    let path = format!(
        "/oauth2/authorize?response_type=code&client_id=rp&redirect_uri={}&scope=openid&code_challenge={}&code_challenge_method=S256",
        enc(CB),
        s256(VERIFIER)
    );
    assert_eq!(browser.send(&server, Request::get(&path)).status, 200);
}

// ----- real validators ---------------------------------------------------------------------

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn run_python(python: &Path, script: &str, config: &Value) -> String {
    let out = std::process::Command::new(python)
        .arg(root().join(script))
        .arg(config.to_string())
        .env("HOME", std::env::temp_dir())
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script} failed:\n{stdout}\n{stderr}");
    eprintln!("{}", stdout.trim());
    stdout
}

/// PyJWT (pinned) verifies JWT access tokens against the JWKS, with every algorithm (one
/// client each, one configured audience) and after a rotation of every key, and refuses the
/// tampered ones.
#[test]
fn pyjwt_verifies_access_tokens_against_the_jwks() {
    use gatehouse_tests::external::{require, Piece};
    let Some(python) = require(
        Piece::Python,
        "oidc::pyjwt_verifies_access_tokens_against_the_jwks",
    ) else {
        return;
    };
    let server = server();
    let db = server.db.clone();
    gatehouse::cli::keys_rotate(&settings_of(&db), "EdDSA", 0).expect("rotate");
    // One resource server's audience, a client per algorithm.
    import(
        &server,
        r#"{"clients":[
 {"client_id":"rs-es","secret":"s-es","grants":["client_credentials"],"scope":"read","access_token_format":"jwt","audience":"https://api.example"},
 {"client_id":"rs-rs","secret":"s-rs","grants":["client_credentials"],"scope":"read","access_token_format":"jwt","audience":"https://api.example","access_token_signed_response_alg":"RS256"},
 {"client_id":"rs-ed","secret":"s-ed","grants":["client_credentials"],"scope":"read","access_token_format":"jwt","audience":"https://api.example","access_token_signed_response_alg":"EdDSA"}
]}"#,
    );
    let grant = |id: &str, secret: &str| {
        token(&server, id, secret, "grant_type=client_credentials")["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    };
    let mut tokens = Vec::new();
    for (id, secret, alg) in [
        ("rs-es", "s-es", "ES256"),
        ("rs-rs", "s-rs", "RS256"),
        ("rs-ed", "s-ed", "EdDSA"),
    ] {
        let t = grant(id, secret);
        assert_eq!(part(&t, 0)["alg"], json!(alg), "{id}");
        assert_eq!(part(&t, 1)["aud"], "https://api.example", "{id}");
        tokens.push(t);
    }
    // After a rotation of every algorithm, the library finds the new keys in the JWKS and
    // still verifies the tokens of the previous ones.
    for alg in ["ES256", "RS256", "EdDSA"] {
        gatehouse::cli::keys_rotate(&settings_of(&db), alg, 0).expect("rotate");
    }
    for (id, secret) in [("rs-es", "s-es"), ("rs-rs", "s-rs"), ("rs-ed", "s-ed")] {
        let t = grant(id, secret);
        assert!(
            !tokens
                .iter()
                .any(|old| part(old, 0)["kid"] == part(&t, 0)["kid"]),
            "{id}: signed by the new key"
        );
        tokens.push(t);
    }
    let config = json!({
        "issuer": format!("http://{}", server.addr),
        "audience": "https://api.example",
        "tokens": tokens,
    });
    let out = run_python(&python, "tests/clients/pyjwt_verify.py", &config);
    assert!(out.contains("OK 6 tokens verified"), "{out}");
}

/// A tiny HTTP server the browser is redirected to (answers every request with a page).
struct RedirectTarget {
    port: u16,
}

impl RedirectTarget {
    fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            use std::io::{Read as _, Write as _};
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut buf = [0u8; 8192];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\nConnection: close\r\n\r\n<p>signed in",
                );
            }
        });
        Self { port }
    }
}

/// Authlib's OpenID Connect client: discovery from the bare issuer, the code flow with PKCE
/// and a nonce through the login page in headless Chromium, id_token validation against the
/// JWKS (signature, iss, aud, exp, nonce, at_hash), userinfo, and a second flow after a key
/// rotation.
#[test]
fn authlib_oidc_client_in_chromium() {
    use gatehouse_tests::external::{chromium, require, Piece};
    let test = "oidc::authlib_oidc_client_in_chromium";
    let Some(python) = require(Piece::Python, test) else {
        return;
    };
    let Some(chromedriver) = require(Piece::Browser, test) else {
        return;
    };
    let server = Server::start();
    let target = RedirectTarget::start();
    let redirect = format!("http://127.0.0.1:{}/callback", target.port);
    import(
        &server,
        &format!(
            r#"{{"clients":[
 {{"client_id":"authlib-rp","secret":"authlib-secret","grants":["authorization_code","refresh_token"],"scope":"openid profile","redirect_uris":["{redirect}"],"access_token_format":"jwt"}}
]}}"#
        ),
    );
    let config = json!({
        "issuer": format!("http://{}", server.addr),
        "redirect_uri": redirect,
        "client": ["authlib-rp", "authlib-secret"],
        "chromium": chromium(),
        "chromedriver": chromedriver,
    });
    // The flow runs twice in the script; between the runs the keys rotate (ES256, no delay),
    // triggered through a marker file the script waits for.
    let marker = tempfile::tempdir().expect("dir");
    let mut config = config;
    config["marker_dir"] = json!(marker.path());
    let db = server.db.clone();
    let dir = marker.path().to_path_buf();
    let rotator = std::thread::spawn(move || {
        let ask = dir.join("rotate");
        for _ in 0..600 {
            if ask.exists() {
                // A new RS256 key (id_tokens) and then an ES256 key (the newest: access tokens).
                gatehouse::cli::keys_rotate(&settings_of(&db), "RS256", 0).expect("rotate");
                gatehouse::cli::keys_rotate(&settings_of(&db), "ES256", 0).expect("rotate");
                std::fs::write(dir.join("rotated"), b"").expect("marker");
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        false
    });
    let out = run_python(&python, "tests/clients/authlib_oidc.py", &config);
    assert!(
        rotator.join().unwrap_or(false),
        "the script asked for a rotation"
    );
    assert!(out.contains("OK oidc"), "{out}");
}

/// TRACE logs of every signed-token path hold no token, id_token, signature or KEK.
#[test]
fn trace_logs_never_contain_signed_tokens_or_the_kek() {
    let logs = crate::security::capture_logs();
    let server = server();
    let kek_text = std::fs::read_to_string(kek(&server)).expect("kek");
    let mut secrets = vec![
        kek_text.trim().to_owned(),
        "api-secret".to_owned(),
        "rp-secret".to_owned(),
    ];
    let at = cc(&server);
    let _ = introspect(&server, "api", "api-secret", &at);
    let mut forged = at.clone();
    forged.push('x');
    let _ = introspect(&server, "api", "api-secret", &forged);
    secrets.push(at);
    let mut browser = Browser::default();
    let c = code(
        &server,
        &mut browser,
        "rp",
        "openid profile",
        "log-nonce",
        "alice",
        "alice-password-1",
    );
    let tokens = exchange(&server, "rp", "rp-secret", &c);
    for name in ["access_token", "id_token", "refresh_token"] {
        let t = tokens[name].as_str().expect(name).to_owned();
        let _ = userinfo(&server, &t);
        secrets.push(t);
    }
    secrets.push(c);
    gatehouse::cli::keys_rotate(&settings_of(&server.db), "EdDSA", 0).expect("rotate");
    let t = cc(&server);
    let _ = userinfo(&server, &t);
    secrets.push(t);
    let text = logs.contents();
    assert!(
        text.contains("a JWT access token was refused"),
        "the logs were captured"
    );
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "a secret in the logs");
        if let Some(sig) = secret.rsplit('.').next().filter(|s| s.len() > 20) {
            assert!(!text.contains(sig), "a signature in the logs");
        }
    }
}

/// The format is checked where it is configured: the import document and the CLI.
#[test]
fn access_token_format_is_validated() {
    let server = Server::start();
    let file = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(
        file.path(),
        r#"{"clients":[{"client_id":"x","secret":"x-secret","grants":["client_credentials"],"scope":"","access_token_format":"JWT"}]}"#,
    )
    .expect("write");
    let err = gatehouse::cli::import(&settings_of(&server.db), file.path()).expect_err("refused");
    assert!(err.contains("access_token_format"), "{err}");
    let err = gatehouse::cli::client_add(
        &settings_of(&server.db),
        gatehouse::cli::NewClientArgs {
            client_id: "y".into(),
            grants: vec!["client_credentials".into()],
            scope: String::new(),
            redirect_url: None,
            broker: None,
            public: false,
            redirect_uris: Vec::new(),
            consent_required: false,
            access_token_format: "signed".into(),
            client_name: None,
            introspect_any: false,
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
        },
    )
    .expect_err("refused");
    assert!(err.contains("opaque or jwt"), "{err}");
}

// ----- per-client audience and algorithms, e-mail claims, unavailable keys ----------------

/// `aud` is the client's configured audience, else its id; a client never gets another
/// client's audience (the RFC 8707 `resource` parameter is not supported and changes
/// nothing); a malformed audience is refused where it is configured.
#[test]
fn the_audience_is_per_client() {
    let server = server();
    import(
        &server,
        r#"{"clients":[
 {"client_id":"a","secret":"a-secret","grants":["client_credentials"],"scope":"read","access_token_format":"jwt","audience":"https://api-a.example"},
 {"client_id":"b","secret":"b-secret","grants":["client_credentials"],"scope":"read","access_token_format":"jwt"}
]}"#,
    );
    let aud = |id: &str, secret: &str, form: &str| {
        let t = token(&server, id, secret, form);
        part(t["access_token"].as_str().expect("access_token"), 1)["aud"].clone()
    };
    assert_eq!(
        aud("a", "a-secret", "grant_type=client_credentials"),
        "https://api-a.example"
    );
    assert_eq!(aud("b", "b-secret", "grant_type=client_credentials"), "b");
    assert_eq!(
        aud(
            "b",
            "b-secret",
            "grant_type=client_credentials&resource=https%3A%2F%2Fapi-a.example"
        ),
        "b",
        "B cannot obtain A's audience"
    );
    // The CLI takes it too; spaces are refused with the field named.
    let args = |id: &str, audience: &str| gatehouse::cli::NewClientArgs {
        client_id: id.into(),
        grants: vec!["client_credentials".into()],
        scope: String::new(),
        redirect_url: None,
        broker: None,
        public: false,
        redirect_uris: Vec::new(),
        consent_required: false,
        access_token_format: "jwt".into(),
        client_name: None,
        introspect_any: false,
        audience: Some(audience.into()),
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
    };
    let err = gatehouse::cli::client_add(&settings_of(&server.db), args("c", "two words"))
        .expect_err("refused");
    assert!(err.contains("audience"), "{err}");
    gatehouse::cli::client_add(&settings_of(&server.db), args("c", "urn:example:api"))
        .expect("added");
}

/// Each client names the algorithm of its access tokens and of its id_tokens; the newest
/// active key of that algorithm signs. An algorithm without an active key is refused where
/// the client is configured.
#[test]
fn algorithms_are_per_client() {
    let server = server();
    let doc = format!(
        r#"{{"clients":[
 {{"client_id":"ed","secret":"ed-secret","grants":["client_credentials"],"scope":"read","access_token_format":"jwt","access_token_signed_response_alg":"EdDSA"}},
 {{"client_id":"rp-es","secret":"rp-es-secret","grants":["authorization_code"],"scope":"openid","redirect_uris":["{CB}"],"id_token_signed_response_alg":"ES256"}}
]}}"#
    );
    let file = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(file.path(), &doc).expect("write");
    // No EdDSA key yet: refused, nothing stored, the fix named.
    let err = gatehouse::cli::import(&settings_of(&server.db), file.path()).expect_err("refused");
    assert!(
        err.contains("client ed") && err.contains("EdDSA") && err.contains("keys rotate"),
        "{err}"
    );
    let res = server.send(
        Request::post("/oauth2/token")
            .basic("ed", "ed-secret")
            .form("grant_type=client_credentials"),
    );
    assert_eq!(res.status, 401, "not stored: {}", res.text());
    // A pending key does not count: it cannot sign yet.
    gatehouse::cli::keys_rotate(&settings_of(&server.db), "EdDSA", 3600).expect("rotate");
    assert!(gatehouse::cli::import(&settings_of(&server.db), file.path()).is_err());
    gatehouse::cli::keys_rotate(&settings_of(&server.db), "EdDSA", 0).expect("rotate");
    import(&server, &doc);
    let t = token(&server, "ed", "ed-secret", "grant_type=client_credentials");
    let ed = t["access_token"].as_str().expect("at");
    assert_eq!(part(ed, 0)["alg"], "EdDSA");
    assert_eq!(introspect(&server, "ed", "ed-secret", ed)["active"], true);
    // Another client keeps its own algorithm.
    assert_eq!(part(&cc(&server), 0)["alg"], "ES256");
    // id_tokens: rp-es gets ES256, rp keeps RS256 (the OpenID default).
    let mut browser = Browser::default();
    let c = code(
        &server,
        &mut browser,
        "rp-es",
        "openid",
        "n-es",
        "alice",
        "alice-password-1",
    );
    let t = exchange(&server, "rp-es", "rp-es-secret", &c);
    let id = t["id_token"].as_str().expect("id_token");
    assert_eq!(part(id, 0)["alg"], "ES256");
    assert_eq!(part(id, 0)["kid"], json!(kid_of_alg(&server, "ES256")));
    let c = code(
        &server,
        &mut browser,
        "rp",
        "openid",
        "n-rs",
        "alice",
        "alice-password-1",
    );
    let t = exchange(&server, "rp", "rp-secret", &c);
    assert_eq!(
        part(t["id_token"].as_str().expect("id_token"), 0)["alg"],
        "RS256"
    );
    // An unknown algorithm name is refused with the names accepted.
    let bad = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(
        bad.path(),
        r#"{"clients":[{"client_id":"x","secret":"x-secret","grants":["client_credentials"],"access_token_format":"jwt","access_token_signed_response_alg":"HS256"}]}"#,
    )
    .expect("write");
    let err = gatehouse::cli::import(&settings_of(&server.db), bad.path()).expect_err("refused");
    assert!(err.contains("RS256, ES256 or EdDSA"), "{err}");
}

/// Userinfo releases `email` and `email_verified` only with the `email` scope, `name` and
/// `preferred_username` only with `profile`, and only what the user has; the id_token of the
/// code flow carries the `profile` claims but not the e-mail address (OpenID Core 5.4).
#[test]
fn email_and_profile_claims_follow_the_scope() {
    let server = server();
    import(
        &server,
        r#"{"users":[
 {"user_name":"erin","password":"erin-password-1","name":"Erin Example","email":"erin@example.com","email_verified":true},
 {"user_name":"frank","password":"frank-password-1","email":"frank@example.com"},
 {"user_name":"gina","password":"gina-password-1"}
]}"#,
    );
    let claims_of = |user: &str, password: &str, scope: &str| {
        let mut browser = Browser::default();
        let c = code(&server, &mut browser, "rp", scope, "n", user, password);
        let t = exchange(&server, "rp", "rp-secret", &c);
        let at = t["access_token"].as_str().expect("at").to_owned();
        let res = userinfo(&server, &at);
        assert_eq!(res.status, 200, "{}", res.text());
        let id = part(t["id_token"].as_str().expect("id_token"), 1);
        (res.json(), id)
    };
    let (info, id) = claims_of("erin", "erin-password-1", "openid email");
    assert_eq!(info["email"], "erin@example.com");
    assert_eq!(info["email_verified"], true);
    assert!(info.get("preferred_username").is_none() && info.get("name").is_none());
    assert!(id.get("email").is_none(), "not in the id_token");
    let (info, id) = claims_of("erin", "erin-password-1", "openid profile");
    assert!(
        info.get("email").is_none(),
        "no email without the email scope"
    );
    assert_eq!(info["name"], "Erin Example");
    assert_eq!(info["preferred_username"], "erin");
    assert_eq!(id["name"], "Erin Example");
    let (info, _) = claims_of("frank", "frank-password-1", "openid profile email");
    assert_eq!(info["email"], "frank@example.com");
    assert_eq!(
        info["email_verified"], false,
        "unverified unless the operator says so"
    );
    assert!(info.get("name").is_none(), "frank has no name");
    let (info, _) = claims_of("gina", "gina-password-1", "openid email");
    assert!(info.get("email").is_none() && info.get("email_verified").is_none());
    // A client not allowed `email` cannot have it granted.
    let mut browser = Browser::default();
    let path = format!(
        "/oauth2/authorize?response_type=code&client_id=rp-opaque&redirect_uri={}&scope={}&state=s1&nonce=n&code_challenge={}&code_challenge_method=S256",
        enc(CB),
        enc("openid email"),
        s256(VERIFIER)
    );
    let res = browser.send(&server, Request::get(&path));
    assert_eq!(res.status, 303, "{}", res.text());
    let q = query_of(res.header("location").expect("location"));
    assert_eq!(q.get("error").map(String::as_str), Some("invalid_scope"));
    // Discovery lists the claims.
    let doc = server
        .send(Request::get("/.well-known/openid-configuration"))
        .json();
    for claim in ["email", "email_verified", "name"] {
        assert!(
            doc["claims_supported"]
                .as_array()
                .is_some_and(|c| c.contains(&json!(claim))),
            "{claim}"
        );
    }
    // Malformed addresses are refused where they are configured.
    let bad = tempfile::NamedTempFile::new().expect("temp");
    for user in [
        r#"{"user_name":"h","password":"p","email":"no-at-sign"}"#,
        r#"{"user_name":"h","password":"p","email":"two words@example.com"}"#,
        r#"{"user_name":"h","password":"p","email_verified":true}"#,
    ] {
        std::fs::write(bad.path(), format!(r#"{{"users":[{user}]}}"#)).expect("write");
        let err = gatehouse::cli::import(&settings_of(&server.db), bad.path()).expect_err(user);
        assert!(err.contains("email"), "{err}");
    }
}

fn start_without_kek(db: &Path) -> Result<gatehouse::Running, gatehouse::StartError> {
    gatehouse::start(gatehouse::config::Settings {
        database: gatehouse_storage::Database::Sqlite(db.to_path_buf()),
        bind: "127.0.0.1:0".parse().expect("address"),
        hash_iterations: 1_000,
        ..gatehouse::config::Settings::default()
    })
}

/// A JWT client whose tokens cannot be signed: a server without a key-encryption key refuses
/// to start; one that lost the key meanwhile, or whose key of the client's algorithm was
/// retired, answers 503 `temporarily_unavailable` with the reason (never a 500), on the
/// standards and the legacy endpoints; opaque clients are not affected.
#[test]
fn unsignable_clients_are_clear_errors() {
    let mut server = Server::start();
    let db = server.db.clone();
    server.stop();
    // No KEK, no JWT client yet: starts (opaque tokens only).
    let running = start_without_kek(&db).expect("starts without a KEK");
    let file = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(
        file.path(),
        r#"{"clients":[{"client_id":"api","secret":"api-secret","grants":["client_credentials"],"scope":"read","access_token_format":"jwt"}]}"#,
    )
    .expect("write");
    // The database has keys (the demo server made them): the client is accepted...
    gatehouse::cli::import(&settings_of(&db), file.path()).expect("import");
    // ...but this server cannot sign.
    for path in ["/oauth2/token", "/api/v1/auth/token"] {
        let res = Request::post(path)
            .basic("api", "api-secret")
            .form("grant_type=client_credentials")
            .send(running.addr);
        assert_eq!(res.status, 503, "{path}: {}", res.text());
        let body = res.json();
        assert_eq!(body["error"], "temporarily_unavailable", "{path}");
        let why = body["error_description"].as_str().unwrap_or_default();
        assert!(why.contains("key-encryption key"), "{path}: {why}");
    }
    let res = Request::post("/oauth2/token")
        .basic("demo-client", "demo-secret")
        .form("grant_type=client_credentials")
        .send(running.addr);
    assert_eq!(res.status, 200, "opaque clients unaffected: {}", res.text());
    running.stop();
    // Restarting without the KEK is refused, naming the client and the setting.
    let err = start_without_kek(&db).expect_err("refused").to_string();
    assert!(
        err.contains("client api") && err.contains("key-encryption-key-file"),
        "{err}"
    );

    // With keys: the client's algorithm has no active key any more (retired at once).
    let server = self::server();
    let es = kid_of_alg(&server, "ES256");
    gatehouse::cli::keys_retire(&settings_of(&server.db), &es, Some(0)).expect("retire");
    let res = server.send(
        Request::post("/oauth2/token")
            .basic("api", "api-secret")
            .form("grant_type=client_credentials"),
    );
    assert_eq!(res.status, 503, "{}", res.text());
    let body = res.json();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("ES256")),
        "{body}"
    );
    // The RS256 key does not stand in; an opaque client still gets its tokens.
    let other = token(
        &server,
        "other",
        "other-secret",
        "grant_type=client_credentials",
    );
    assert!(other["access_token"].is_string());
    // A new ES256 key (no delay) and the client is served again.
    gatehouse::cli::keys_rotate(&settings_of(&server.db), "ES256", 0).expect("rotate");
    assert_eq!(part(&cc(&server), 0)["alg"], "ES256");
}

/// Introspection and userinfo refuse a correctly signed JWT whose `exp` has passed (a client
/// with a 1-second lifetime; the test waits for that condition and times nothing).
#[test]
fn expired_jwts_are_refused() {
    let server = server();
    import(
        &server,
        r#"{"clients":[{"client_id":"short","secret":"short-secret","grants":["client_credentials"],"scope":"read","access_token_format":"jwt","access_token_lifetime_secs":1,"introspect_any":true}]}"#,
    );
    let t = token(
        &server,
        "short",
        "short-secret",
        "grant_type=client_credentials",
    );
    let at = t["access_token"].as_str().expect("at").to_owned();
    let exp = part(&at, 1)["exp"].as_i64().expect("exp");
    // Wait until the token's exp has passed on the clock the server reads (a condition, not
    // a timed assertion).
    #[expect(
        clippy::disallowed_methods,
        reason = "waits for the wall clock the server reads to pass exp"
    )]
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    };
    while now() <= exp {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        introspect(&server, "short", "short-secret", &at),
        json!({"active": false}),
        "expired"
    );
    assert_eq!(userinfo(&server, &at).status, 401);
}

/// Issue 19 items 13 and 17, issue 24 item 8: the RFC 8414 document and the OpenID
/// configuration are one document (with `authorization_response_iss_parameter_supported` and
/// the endpoint authentication methods in both). A server without signing keys does not say
/// it is an OpenID provider (the OpenID document is 404, no id_token algorithm, userinfo or
/// `openid` scope is listed) and refuses an `openid` authorization request (`invalid_scope`)
/// instead of issuing a code whose exchange would lack the id_token.
#[test]
fn discovery_is_one_document_and_only_an_openid_provider_says_it_is_one() {
    let server = server();
    let oauth = server
        .send(Request::get("/.well-known/oauth-authorization-server"))
        .json();
    let oidc = server
        .send(Request::get("/.well-known/openid-configuration"))
        .json();
    assert_eq!(oauth, oidc, "one source");
    assert_eq!(oidc["authorization_response_iss_parameter_supported"], true);
    // The demo client holds keys for private_key_jwt, so that method is advertised too.
    assert_eq!(
        oidc["introspection_endpoint_auth_methods_supported"],
        json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ])
    );
    assert_eq!(
        oidc["revocation_endpoint_auth_methods_supported"],
        json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none"
        ])
    );

    // No key-encryption key: not an OpenID provider.
    let dir = gatehouse_tests::TempDb::new();
    let bare = Settings {
        database: gatehouse_storage::Database::Sqlite(dir.path.clone()),
        bind: "127.0.0.1:0".parse().expect("address"),
        hash_iterations: 1_000,
        ..Settings::default()
    };
    let file = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(
        file.path(),
        format!(
            r#"{{"clients":[{{"client_id":"rp","secret":"rp-secret","grants":["authorization_code"],"scope":"openid profile","redirect_uris":["{CB}"]}}]}}"#
        ),
    )
    .expect("write");
    gatehouse::cli::import(&bare, file.path()).expect("import");
    let running = gatehouse::start(bare).expect("starts without a KEK");
    let res = Request::get("/.well-known/openid-configuration").send(running.addr);
    assert_eq!(res.status, 404, "{}", res.text());
    let doc = Request::get("/.well-known/oauth-authorization-server")
        .send(running.addr)
        .json();
    for member in [
        "id_token_signing_alg_values_supported",
        "userinfo_endpoint",
        "end_session_endpoint",
        "subject_types_supported",
    ] {
        assert!(doc.get(member).is_none(), "{member}: {doc}");
    }
    assert_eq!(doc["scopes_supported"], json!(["profile"]), "{doc}");
    let authorize = |scope: &str| {
        Request::get(&format!(
            "/oauth2/authorize?response_type=code&client_id=rp&redirect_uri={}&scope={}&state=s&code_challenge={}&code_challenge_method=S256",
            enc(CB),
            enc(scope),
            s256(VERIFIER)
        ))
        .send(running.addr)
    };
    let res = authorize("openid profile");
    assert_eq!(res.status, 303, "{}", res.text());
    let q = query_of(res.header("location").expect("location"));
    assert_eq!(q.get("error").map(String::as_str), Some("invalid_scope"));
    assert_eq!(q.get("state").map(String::as_str), Some("s"));
    assert_eq!(authorize("profile").status, 200, "the login page");
    running.stop();
}

/// Authlib's RFC 8414 and OpenID Provider metadata validators accept the documents, with and
/// without signing keys.
#[test]
fn discovery_documents_validate_with_authlib() {
    use gatehouse_tests::external::{require, Piece};
    let Some(python) = require(
        Piece::Python,
        "oidc::discovery_documents_validate_with_authlib",
    ) else {
        return;
    };
    let server = server();
    run_python(
        &python,
        "tests/clients/metadata_validate.py",
        &json!({"issuer": format!("http://{}", server.addr), "openid": true}),
    );
    let dir = gatehouse_tests::TempDb::new();
    let running = start_without_kek(&dir.path).expect("starts");
    run_python(
        &python,
        "tests/clients/metadata_validate.py",
        &json!({"issuer": format!("http://{}", running.addr), "openid": false}),
    );
    running.stop();
}
