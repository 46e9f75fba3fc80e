//! JWT verification (`gatehouse_domain::keys::verify_jwt`, what every JWT access token,
//! `id_token_hint` and userinfo call goes through) against a fixture ES256 key.
//!
//! The first byte picks the mode: even, the rest is a compact JWS verified as it is (header
//! parsing, `kid` lookup, `alg` pinning, `crit`, signature decoding and checking: a fuzzer
//! cannot forge a signature, so this is the unauthenticated surface); odd, the rest is a
//! claims document, signed with the fixture key and then verified, which reaches the checks
//! after the signature (`iss`, `exp`, `typ`) with arbitrary claims.

use std::sync::OnceLock;

use gatehouse_domain::keys::{
    generate_key, verify_jwt, Alg, KeyEncryptionKey, KeyRing, SigningKey,
};
use gatehouse_domain::rng::SeededRng;
use time::macros::datetime;
use time::OffsetDateTime;

const ISSUER: &str = "https://login.example";
const NOW: OffsetDateTime = datetime!(2026-12-06 12:00 UTC);

fn fixture() -> &'static (KeyRing, SigningKey) {
    static FIXTURE: OnceLock<(KeyRing, SigningKey)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let ring = KeyRing::new(KeyEncryptionKey::from_bytes(&[7; 32]));
        ring.set_issuer(ISSUER);
        let key = generate_key(Alg::Es256, ring.kek(), &SeededRng::new(1), NOW, NOW)
            .expect("fixture key");
        (ring, key)
    })
}

/// See the module documentation.
pub fn verify(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (ring, key) = fixture();
    let keys = std::slice::from_ref(key);
    if mode % 2 == 0 {
        if let Ok(token) = std::str::from_utf8(rest) {
            let _ = verify_jwt(token, keys, ISSUER, "at+jwt", NOW);
        }
        return;
    }
    let Ok(claims) = serde_json::from_slice::<serde_json::Value>(rest) else {
        return;
    };
    if let Ok(token) = ring.sign(key, "at+jwt", &claims) {
        let _ = verify_jwt(&token, keys, ISSUER, "at+jwt", NOW);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_accepts_its_own_valid_token_and_refuses_a_forged_one() {
        let (ring, key) = fixture();
        let claims =
            serde_json::json!({"iss": ISSUER, "sub": "alice", "exp": NOW.unix_timestamp() + 60});
        let token = ring.sign(key, "at+jwt", &claims).expect("sign");
        assert!(verify_jwt(&token, std::slice::from_ref(key), ISSUER, "at+jwt", NOW).is_ok());
        let forged = format!("{}x", &token[..token.len() - 1]);
        assert!(verify_jwt(&forged, std::slice::from_ref(key), ISSUER, "at+jwt", NOW).is_err());
    }
}
