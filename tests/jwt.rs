//! A client's side of `private_key_jwt` for the tests: P-256 keys (generated, or the demo
//! client's from `docs/demo/demo-client-private-key.json`) and ES256 client assertions signed
//! with `ring`, independently of the server's code.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::{SecureRandom as _, SystemRandom};
use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};

/// `client_assertion_type` of RFC 7523.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A P-256 key pair with its `kid`.
pub struct TestKey {
    pair: EcdsaKeyPair,
    /// Its key id.
    pub kid: String,
}

fn b64(v: &Value, name: &str) -> Vec<u8> {
    let text = v[name]
        .as_str()
        .unwrap_or_else(|| panic!("jwk member {name}"));
    URL_SAFE_NO_PAD
        .decode(text)
        .unwrap_or_else(|e| panic!("jwk member {name}: {e}"))
}

impl TestKey {
    /// A new key.
    pub fn generate(kid: &str) -> Self {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap_or_else(|e| panic!("keygen: {e}"));
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref(), &rng)
            .unwrap_or_else(|e| panic!("key: {e}"));
        Self {
            pair,
            kid: kid.to_owned(),
        }
    }

    /// A private P-256 JWK (`d`, `x`, `y`, `kid`).
    pub fn from_jwk(jwk: &Value) -> Self {
        let mut public = vec![4u8];
        public.extend(b64(jwk, "x"));
        public.extend(b64(jwk, "y"));
        let pair = EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &b64(jwk, "d"),
            &public,
            &SystemRandom::new(),
        )
        .unwrap_or_else(|e| panic!("private jwk: {e}"));
        Self {
            pair,
            kid: jwk["kid"].as_str().unwrap_or_default().to_owned(),
        }
    }

    /// The demo client's key (`docs/demo/demo-client-private-key.json`).
    pub fn demo_client() -> Self {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../docs/demo/demo-client-private-key.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        Self::from_jwk(&serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}")))
    }

    /// The public JWK.
    pub fn public_jwk(&self) -> Value {
        let p = self.pair.public_key().as_ref();
        json!({"kty": "EC", "crv": "P-256", "kid": self.kid, "use": "sig", "alg": "ES256",
               "x": URL_SAFE_NO_PAD.encode(&p[1..33]), "y": URL_SAFE_NO_PAD.encode(&p[33..65])})
    }

    /// A JWK Set of this key alone.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.public_jwk()] })
    }

    /// A compact JWS of `claims` with `header` (as given: add `alg` yourself).
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let mut input = URL_SAFE_NO_PAD.encode(header.to_string());
        input.push('.');
        input.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
        let sig = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap_or_else(|e| panic!("sign: {e}"));
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    /// The claims of a good assertion of `client_id` for `aud` at unix time `now`: 60 s,
    /// a fresh random `jti`.
    pub fn claims_at(client_id: &str, aud: &str, now: i64) -> Value {
        json!({"iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + 60,
               "jti": random_jti()})
    }

    /// A good assertion (ES256, with `kid`) of `claims`.
    pub fn assertion_of(&self, claims: &Value) -> String {
        self.sign(&json!({"alg": "ES256", "kid": self.kid}), claims)
    }

    /// A good assertion of `client_id` for `aud`, now.
    pub fn assertion(&self, client_id: &str, aud: &str) -> String {
        self.assertion_of(&Self::claims_at(client_id, aud, unix_now()))
    }
}

/// Seconds since the epoch: the wall clock the server under test reads.
#[expect(
    clippy::disallowed_methods,
    reason = "a client's assertion is dated by the wall clock the real server reads"
)]
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

/// 128 random bits, base64url.
pub fn random_jti() -> String {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .unwrap_or_else(|e| panic!("rng: {e}"));
    URL_SAFE_NO_PAD.encode(bytes)
}
