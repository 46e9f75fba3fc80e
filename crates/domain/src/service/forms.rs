//! Anti-forgery tokens of the login and consent forms (issue 19 items 6 and 15).
//!
//! A token is HMAC-SHA256 under a server key ([`FormKey`]: 32 random bytes generated at the
//! first start and kept in the database, table `server_keys`, so every replica shares it and
//! a restart keeps open forms valid) over a purpose and the values it is bound to, each
//! length-prefixed: the login form's token over the pre-login cookie (a server-issued random
//! value of fixed format, [`is_form_cookie`]); the consent form's over the browser-session
//! cookie, the client, the redirect URI, the scope, the PKCE challenge and the nonce it was
//! shown for. Without the key nobody can compute a token for a cookie they planted, and a
//! consent token approves exactly the request it was shown for.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::hmac;
use time::OffsetDateTime;

use crate::error::Error;
use crate::rng::Rng;
use crate::service::Gatehouse;
use crate::store::Store;

/// The name of the forms' key in `server_keys`.
pub const FORMS_KEY: &str = "forms";

/// Length of a form cookie: base64url without padding of 32 random bytes.
pub const FORM_COOKIE_LEN: usize = 43;

/// The server key of the forms' tokens. `Debug` never prints it.
#[derive(Clone)]
pub struct FormKey(hmac::Key);

impl fmt::Debug for FormKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FormKey(..)")
    }
}

impl FormKey {
    /// The key of 32 stored bytes.
    pub fn new(secret: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// The signed message: the purpose and each part, each prefixed by its length.
    fn message(purpose: &str, parts: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for part in std::iter::once(purpose).chain(parts.iter().copied()) {
            out.extend_from_slice(&(part.len() as u64).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out
    }

    /// The token of `purpose` bound to `parts` (base64url, 43 characters).
    pub fn token(&self, purpose: &str, parts: &[&str]) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.0, &Self::message(purpose, parts)).as_ref())
    }

    /// Whether `presented` is the token of `purpose` and `parts` (constant time).
    pub fn verify(&self, purpose: &str, parts: &[&str], presented: &str) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(presented) else {
            return false;
        };
        hmac::verify(&self.0, &Self::message(purpose, parts), &tag).is_ok()
    }
}

/// A fresh form cookie value: 32 random bytes, base64url.
pub fn new_form_cookie(rng: &dyn Rng) -> String {
    let mut bytes = [0u8; 32];
    rng.fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `value` has the form of a cookie the server issues (anything else is ignored and
/// replaced).
pub fn is_form_cookie(value: &str) -> bool {
    value.len() == FORM_COOKIE_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && URL_SAFE_NO_PAD.decode(value).is_ok_and(|b| b.len() == 32)
}

impl<S: Store> Gatehouse<S> {
    /// The forms' key: generated and stored at the first call on a new database (replicas
    /// racing agree: the first insert wins, every caller reads the stored one).
    ///
    /// # Errors
    /// `Storage` (also for a stored key of the wrong length).
    pub fn form_key(&self) -> Result<FormKey, Error> {
        let mut fresh = [0u8; 32];
        self.rng().fill(&mut fresh);
        let now: OffsetDateTime = self.clock().now();
        let stored = self.store().write(move |tx| {
            tx.insert_server_key_if_absent(FORMS_KEY, &fresh, now)?;
            tx.server_key(FORMS_KEY)
        })?;
        match stored {
            Some(secret) if secret.len() == 32 => Ok(FormKey::new(&secret)),
            _ => Err(Error::storage(std::io::Error::other(
                "the forms' server key is missing or malformed",
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_bind_key_purpose_and_every_part() {
        let key = FormKey::new(&[7; 32]);
        let t = key.token("login", &["cookie"]);
        assert_eq!(t.len(), 43);
        assert!(key.verify("login", &["cookie"], &t));
        assert!(!key.verify("login", &["cookie2"], &t));
        assert!(!key.verify("consent", &["cookie"], &t));
        assert!(!FormKey::new(&[8; 32]).verify("login", &["cookie"], &t));
        // Length prefixes: moving a boundary changes the token.
        assert_ne!(key.token("p", &["ab", "c"]), key.token("p", &["a", "bc"]));
        assert!(!key.verify("login", &["cookie"], "not base64!"));
        assert!(!format!("{key:?}").contains('7'));
    }

    #[test]
    fn form_cookies_have_one_format() {
        let rng = crate::rng::SeededRng::new(3);
        let c = new_form_cookie(&rng);
        assert!(is_form_cookie(&c));
        assert!(!is_form_cookie("x"));
        assert!(!is_form_cookie(&"a".repeat(44)));
        assert!(!is_form_cookie(&format!("{}=", &c[..42])));
    }
}
