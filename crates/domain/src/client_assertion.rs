//! `private_key_jwt` client authentication (RFC 7523 section 2.2 and 3, OpenID Connect Core
//! section 9, the audience rule of RFC 7523bis): a client proves itself with a JWT signed by a
//! key of the JWK Set registered for it.
//!
//! The rules, all checked here as pure functions of the assertion, the client's keys, the
//! expected audience and the time (storage only remembers the `jti`s):
//! - `iss` and `sub` are both the client id (and the `client_id` parameter, when sent);
//! - `aud` is the issuer identifier, as a single string (RFC 7523bis: an assertion meant for
//!   one endpoint or another server is never accepted, so a token endpoint URL is refused);
//! - `exp` is required and in the future, `iat` and `nbf` (optional) not more than
//!   [`CLOCK_SKEW`] ahead, and the assertion lives at most [`MAX_LIFETIME`] (from `iat`, or
//!   from now without one): a stolen assertion is useful for minutes, not hours;
//! - `jti` is required (at most [`MAX_JTI_BYTES`]); the service refuses a `jti` already seen
//!   for the client while the first assertion lives;
//! - the JWS `alg` is RS256, ES256 or EdDSA (never `none`, never an HMAC), the key is chosen
//!   by `kid` (or, without one, any key of the set that verifies), and a key's own `alg` and
//!   `use`, when given, must agree.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use crate::keys::{verify_signature, Alg};

/// `client_assertion_type` of a JWT client assertion (RFC 7523 section 2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest an assertion may live (`exp` minus `iat`, or minus now without `iat`).
/// openid-client 6 / oauth4webapi sign for 60 s, Authlib for 60 s when asked (its default
/// is an hour, which is refused: see docs/oauth.md).
pub const MAX_LIFETIME: Duration = Duration::minutes(5);

/// How far ahead of our clock `iat` and `nbf` may be.
pub const CLOCK_SKEW: Duration = Duration::seconds(60);

/// The longest `jti` accepted (oauth4webapi sends 43 characters, Authlib 24).
pub const MAX_JTI_BYTES: usize = 256;

/// The longest assertion accepted (an RS256 assertion with a 4096-bit key is about 1 KiB).
pub const MAX_ASSERTION_BYTES: usize = 8 * 1024;

/// The longest JWK Set stored for a client, and how many keys it may hold.
pub const MAX_JWKS_BYTES: usize = 16 * 1024;
/// See [`MAX_JWKS_BYTES`].
pub const MAX_KEYS: usize = 10;

/// Live `jti`s remembered per client: a client signing a 60-second assertion per request may
/// make 20,000 requests a minute; beyond that it is refused (`RateLimited`) until some
/// expire, so not even a client's leaked key can grow the table without bound.
pub const MAX_LIVE_JTIS_PER_CLIENT: u64 = 20_000;

/// Why an assertion was refused. Every one is `invalid_client` on the wire; the reason goes
/// to the log (never the assertion).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AssertionRejection {
    /// Not a compact JWS of JSON objects, or too long.
    #[error("malformed assertion")]
    Malformed,
    /// `alg` is not RS256, ES256 or EdDSA, or not the key's.
    #[error("algorithm not accepted")]
    Algorithm,
    /// The client has no registered keys.
    #[error("the client has no keys")]
    NoKeys,
    /// No key of the client's set verifies the signature (or `kid` names none).
    #[error("signature not verified by a key of the client")]
    Signature,
    /// `iss` or `sub` is not the client id (or they differ).
    #[error("iss and sub must be the client id")]
    Subject,
    /// `aud` is not the issuer identifier as a single string.
    #[error("aud must be the issuer")]
    Audience,
    /// `exp` is missing or past.
    #[error("expired")]
    Expired,
    /// `iat` or `nbf` lies in the future.
    #[error("not yet valid")]
    NotYetValid,
    /// It lives longer than [`MAX_LIFETIME`].
    #[error("lifetime too long")]
    Lifetime,
    /// `jti` is missing, empty or too long.
    #[error("jti missing or too long")]
    Jti,
    /// `typ` names another kind of JWT.
    #[error("wrong type")]
    Type,
    /// Its `jti` was already used by this client.
    #[error("replayed jti")]
    Replayed,
}

/// An assertion that verified: what the service remembers to refuse its replay.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// The client it authenticates.
    pub client_id: String,
    /// Its `jti`.
    pub jti: String,
    /// Its `exp`: the `jti` is remembered until then.
    pub expires_at: OffsetDateTime,
}

impl fmt::Debug for VerifiedAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedAssertion")
            .field("client_id", &self.client_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Parts<'a> {
    pub(crate) header: Map<String, Value>,
    pub(crate) claims: Map<String, Value>,
    pub(crate) signed: &'a str,
    pub(crate) signature: Vec<u8>,
}

pub(crate) fn decode_object(part: &str) -> Result<Map<String, Value>, AssertionRejection> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| AssertionRejection::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| AssertionRejection::Malformed)
}

pub(crate) fn split(jwt: &str) -> Result<Parts<'_>, AssertionRejection> {
    if jwt.len() > MAX_ASSERTION_BYTES {
        return Err(AssertionRejection::Malformed);
    }
    let mut it = jwt.split('.');
    let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(AssertionRejection::Malformed);
    };
    Ok(Parts {
        header: decode_object(h)?,
        claims: decode_object(p)?,
        signed: &jwt[..h.len() + 1 + p.len()],
        signature: URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| AssertionRejection::Malformed)?,
    })
}

/// The client an assertion claims to come from (`sub`, unverified): which client's keys to
/// verify it with. `None` when it is not a JWT with a string `sub`.
pub fn claimed_client(jwt: &str) -> Option<String> {
    let parts = split(jwt).ok()?;
    parts.claims.get("sub")?.as_str().map(str::to_owned)
}

fn text<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

fn instant(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, AssertionRejection> {
    match claims.get(name) {
        None => Ok(None),
        // NumericDate may carry a fraction (RFC 7519 section 2); whole seconds are kept.
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or(AssertionRejection::Malformed),
        Some(_) => Err(AssertionRejection::Malformed),
    }
}

/// Verifies `jwt` as an assertion of client `client_id` (with the JWK Set `jwks`) for the
/// issuer `audience` at `now`. The `jti` is not looked up here (the service does).
///
/// # Errors
/// The [`AssertionRejection`] that refused it.
pub fn verify(
    jwt: &str,
    client_id: &str,
    jwks: Option<&str>,
    audience: &str,
    now: OffsetDateTime,
) -> Result<VerifiedAssertion, AssertionRejection> {
    let parts = split(jwt)?;
    check_type(&parts.header)?;
    let alg = text(&parts.header, "alg")
        .and_then(Alg::parse)
        .ok_or(AssertionRejection::Algorithm)?;
    if parts.header.contains_key("crit") {
        return Err(AssertionRejection::Malformed);
    }
    let keys = jwks
        .and_then(|j| serde_json::from_str::<Value>(j).ok())
        .ok_or(AssertionRejection::NoKeys)?;
    let keys = keys
        .get("keys")
        .and_then(Value::as_array)
        .ok_or(AssertionRejection::NoKeys)?;
    let kid = text(&parts.header, "kid");
    let verified = keys
        .iter()
        .filter_map(Value::as_object)
        .filter(|k| kid.is_none_or(|kid| text(k, "kid") == Some(kid)))
        .filter(|k| text(k, "use").is_none_or(|u| u == "sig"))
        .filter(|k| text(k, "alg").is_none_or(|a| a == alg.as_str()))
        .any(|k| verify_signature(alg, k, parts.signed.as_bytes(), &parts.signature));
    if !verified {
        return Err(AssertionRejection::Signature);
    }
    check_claims(&parts.claims, client_id, audience, now)
}

fn check_type(header: &Map<String, Value>) -> Result<(), AssertionRejection> {
    // RFC 7523bis registers `client-authentication+jwt`; plain `JWT` and none are what
    // every library sends today. Another type (an access token, a DPoP proof, a logout
    // token) is never a client assertion.
    match text(header, "typ").map(|t| t.strip_prefix("application/").unwrap_or(t)) {
        None => Ok(()),
        Some(t) if t.eq_ignore_ascii_case("JWT") => Ok(()),
        Some(t) if t.eq_ignore_ascii_case("client-authentication+jwt") => Ok(()),
        Some(_) => Err(AssertionRejection::Type),
    }
}

fn check_claims(
    claims: &Map<String, Value>,
    client_id: &str,
    audience: &str,
    now: OffsetDateTime,
) -> Result<VerifiedAssertion, AssertionRejection> {
    if text(claims, "iss") != Some(client_id) || text(claims, "sub") != Some(client_id) {
        return Err(AssertionRejection::Subject);
    }
    if audience.is_empty() || text(claims, "aud") != Some(audience) {
        return Err(AssertionRejection::Audience);
    }
    let now_s = now.unix_timestamp();
    let exp = instant(claims, "exp")?.ok_or(AssertionRejection::Expired)?;
    if exp <= now_s {
        return Err(AssertionRejection::Expired);
    }
    let ahead = now_s + CLOCK_SKEW.whole_seconds();
    let iat = instant(claims, "iat")?;
    if iat.is_some_and(|t| t > ahead) || instant(claims, "nbf")?.is_some_and(|t| t > ahead) {
        return Err(AssertionRejection::NotYetValid);
    }
    if exp - iat.unwrap_or(now_s).min(now_s) > MAX_LIFETIME.whole_seconds() {
        return Err(AssertionRejection::Lifetime);
    }
    let jti = text(claims, "jti")
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_BYTES)
        .ok_or(AssertionRejection::Jti)?;
    Ok(VerifiedAssertion {
        client_id: client_id.to_owned(),
        jti: jti.to_owned(),
        expires_at: OffsetDateTime::from_unix_timestamp(exp)
            .map_err(|_| AssertionRejection::Expired)?,
    })
}

/// Checks a JWK Set a client registers and returns it compact: at most [`MAX_KEYS`] public
/// keys (RSA of at least 2048 bits, EC P-256 or OKP Ed25519), no private members, `kid`s
/// unique, `alg` (when given) one Gatehouse verifies, `use` (when given) `sig`.
///
/// # Errors
/// What is wrong, for the operator.
pub fn parse_jwks(text_in: &str) -> Result<String, String> {
    if text_in.len() > MAX_JWKS_BYTES {
        return Err(format!("the JWK Set is longer than {MAX_JWKS_BYTES} bytes"));
    }
    let set: Value =
        serde_json::from_str(text_in).map_err(|e| format!("the JWK Set is not JSON: {e}"))?;
    let keys = set
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("the JWK Set has no \"keys\" array")?;
    if keys.is_empty() || keys.len() > MAX_KEYS {
        return Err(format!("the JWK Set must hold 1 to {MAX_KEYS} keys"));
    }
    let mut kids = Vec::new();
    for key in keys {
        let key = key.as_object().ok_or("a key is not a JSON object")?;
        check_key(key)?;
        if let Some(kid) = text(key, "kid") {
            if kids.contains(&kid) {
                return Err(format!("kid {kid:?} appears twice"));
            }
            kids.push(kid);
        }
    }
    Ok(serde_json::json!({ "keys": keys }).to_string())
}

pub(crate) fn check_key(key: &Map<String, Value>) -> Result<(), String> {
    const PRIVATE: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];
    if PRIVATE.iter().any(|m| key.contains_key(*m)) {
        return Err("a key holds private members: register public keys only".into());
    }
    let b64 = |name: &str| -> Result<Vec<u8>, String> {
        let v = text(key, name).ok_or_else(|| format!("a key lacks {name:?}"))?;
        URL_SAFE_NO_PAD
            .decode(v)
            .map_err(|_| format!("{name:?} is not base64url"))
    };
    match (text(key, "kty"), text(key, "crv")) {
        (Some("RSA"), _) => {
            let n = b64("n")?;
            b64("e")?;
            if n.len() < 256 {
                return Err("RSA keys must have at least 2048 bits".into());
            }
        }
        (Some("EC"), Some("P-256")) => {
            if b64("x")?.len() != 32 || b64("y")?.len() != 32 {
                return Err("a P-256 key has 32-byte x and y".into());
            }
        }
        (Some("OKP"), Some("Ed25519")) => {
            if b64("x")?.len() != 32 {
                return Err("an Ed25519 key has a 32-byte x".into());
            }
        }
        _ => return Err("keys must be RSA, EC P-256 or OKP Ed25519".into()),
    }
    if let Some(alg) = key.get("alg") {
        if alg.as_str().and_then(Alg::parse).is_none() {
            return Err("a key's alg must be RS256, ES256 or EdDSA".into());
        }
    }
    if key.get("use").is_some_and(|u| u.as_str() != Some("sig")) {
        return Err("a key's use must be sig".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{
        EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING,
    };
    use serde_json::json;

    const ISSUER: &str = "https://id.example";

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    struct Key {
        pair: EcdsaKeyPair,
        kid: &'static str,
    }

    impl Key {
        fn new(kid: &'static str) -> Self {
            let rng = SystemRandom::new();
            let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .unwrap_or_else(|_| panic!("keygen"));
            let pair =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref(), &rng)
                    .unwrap_or_else(|_| panic!("key"));
            Self { pair, kid }
        }

        fn jwk(&self) -> Value {
            let p = self.pair.public_key().as_ref();
            json!({"kty": "EC", "crv": "P-256", "kid": self.kid, "use": "sig",
                   "x": URL_SAFE_NO_PAD.encode(&p[1..33]), "y": URL_SAFE_NO_PAD.encode(&p[33..65])})
        }

        fn sign(&self, header: &Value, claims: &Value) -> String {
            let mut input = URL_SAFE_NO_PAD.encode(header.to_string());
            input.push('.');
            input.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
            let sig = self
                .pair
                .sign(&SystemRandom::new(), input.as_bytes())
                .unwrap_or_else(|_| panic!("sign"));
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
        }
    }

    fn claims() -> Value {
        let t = now().unix_timestamp();
        json!({"iss": "app", "sub": "app", "aud": ISSUER, "iat": t, "exp": t + 60, "jti": "j-1"})
    }

    fn set(keys: &[&Key]) -> String {
        json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()}).to_string()
    }

    fn check(
        key: &Key,
        jwks: &str,
        claims: &Value,
    ) -> Result<VerifiedAssertion, AssertionRejection> {
        let jwt = key.sign(&json!({"alg": "ES256", "kid": key.kid}), claims);
        verify(&jwt, "app", Some(jwks), ISSUER, now())
    }

    #[test]
    fn a_good_assertion_verifies_and_names_its_jti() {
        let key = Key::new("k1");
        let v = check(&key, &set(&[&key]), &claims());
        let v = v.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((v.client_id.as_str(), v.jti.as_str()), ("app", "j-1"));
        assert_eq!(v.expires_at, now() + Duration::seconds(60));
        assert_eq!(
            claimed_client(&key.sign(&json!({"alg": "ES256"}), &claims())).as_deref(),
            Some("app")
        );
        // Without a kid, any key of the set that verifies.
        let other = Key::new("k0");
        let jwt = key.sign(&json!({"alg": "ES256"}), &claims());
        assert!(verify(&jwt, "app", Some(&set(&[&other, &key])), ISSUER, now()).is_ok());
    }

    #[test]
    fn every_rule_has_its_rejection() {
        let key = Key::new("k1");
        let jwks = set(&[&key]);
        let with = |name: &str, value: Value| {
            let mut c = claims();
            c[name] = value;
            check(&key, &jwks, &c)
        };
        let t = now().unix_timestamp();
        use AssertionRejection as R;
        assert_eq!(
            with("aud", json!(format!("{ISSUER}/oauth2/token"))),
            Err(R::Audience)
        );
        assert_eq!(with("aud", json!([ISSUER])), Err(R::Audience));
        assert_eq!(
            with("aud", json!("https://other.example")),
            Err(R::Audience)
        );
        assert_eq!(with("iss", json!("other")), Err(R::Subject));
        assert_eq!(with("sub", json!("other")), Err(R::Subject));
        assert_eq!(with("exp", json!(t)), Err(R::Expired));
        assert_eq!(with("exp", Value::Null), Err(R::Malformed));
        assert_eq!(with("iat", json!(t + 61)), Err(R::NotYetValid));
        assert_eq!(with("nbf", json!(t + 61)), Err(R::NotYetValid));
        assert_eq!(with("exp", json!(t + 301)), Err(R::Lifetime));
        // A back-dated iat does not stretch the lifetime either.
        let mut c = claims();
        c["iat"] = json!(t - 400);
        c["exp"] = json!(t + 10);
        assert_eq!(check(&key, &jwks, &c), Err(R::Lifetime));
        assert_eq!(with("jti", json!("")), Err(R::Jti));
        assert_eq!(with("jti", json!("x".repeat(257))), Err(R::Jti));
        let mut c = claims();
        c.as_object_mut().map(|m| m.remove("jti"));
        assert_eq!(check(&key, &jwks, &c), Err(R::Jti));
        // Another key, another client's set, a key restricted to another use or alg.
        let stranger = Key::new("k1");
        assert_eq!(check(&stranger, &jwks, &claims()), Err(R::Signature));
        let mut enc = key.jwk();
        enc["use"] = json!("enc");
        let enc = json!({"keys": [enc]}).to_string();
        assert_eq!(check(&key, &enc, &claims()), Err(R::Signature));
        let mut jwk = key.jwk();
        jwk["alg"] = json!("RS256");
        let wrong_alg = json!({"keys": [jwk]}).to_string();
        assert_eq!(check(&key, &wrong_alg, &claims()), Err(R::Signature));
        assert_eq!(
            verify("a.b.c", "app", Some(&jwks), ISSUER, now()),
            Err(R::Malformed)
        );
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(claims().to_string())
        );
        assert_eq!(
            verify(&none, "app", Some(&jwks), ISSUER, now()),
            Err(R::Algorithm)
        );
        let hs = key.sign(&json!({"alg": "HS256", "kid": "k1"}), &claims());
        assert_eq!(
            verify(&hs, "app", Some(&jwks), ISSUER, now()),
            Err(R::Algorithm)
        );
        let typed = key.sign(&json!({"alg": "ES256", "typ": "at+jwt"}), &claims());
        assert_eq!(
            verify(&typed, "app", Some(&jwks), ISSUER, now()),
            Err(R::Type)
        );
        let jwt = key.sign(&json!({"alg": "ES256"}), &claims());
        assert_eq!(verify(&jwt, "app", None, ISSUER, now()), Err(R::NoKeys));
        assert_eq!(
            verify(&jwt, "other", Some(&jwks), ISSUER, now()),
            Err(R::Subject)
        );
    }

    #[test]
    fn registered_sets_hold_public_signature_keys_only() {
        let key = Key::new("k1");
        assert!(parse_jwks(&set(&[&key])).is_ok());
        let ed = Ed25519KeyPair::from_seed_unchecked(&[7u8; 32]).unwrap_or_else(|_| panic!("ed"));
        let okp = json!({"kty": "OKP", "crv": "Ed25519",
                         "x": URL_SAFE_NO_PAD.encode(ed.public_key().as_ref())});
        assert!(parse_jwks(&json!({"keys": [okp]}).to_string()).is_ok());
        let mut private = key.jwk();
        private["d"] = json!("AAAA");
        for bad in [
            json!({"keys": []}),
            json!({"keys": [private]}),
            json!({"keys": [{"kty": "oct", "k": "AAAA"}]}),
            json!({"keys": [key.jwk(), key.jwk()]}),
            json!({"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]}),
            json!({"nokeys": 1}),
        ] {
            assert!(parse_jwks(&bad.to_string()).is_err(), "{bad}");
        }
        assert!(parse_jwks("not json").is_err());
    }

    #[test]
    fn debug_shows_no_jti() {
        let v = VerifiedAssertion {
            client_id: "app".into(),
            jti: "secret-jti".into(),
            expires_at: now(),
        };
        assert!(!format!("{v:?}").contains("secret-jti"));
    }
}
