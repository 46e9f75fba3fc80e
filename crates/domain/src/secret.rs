//! Secrets in memory, token digests, and client-secret hashing.
//!
//! * [`Secret`] wraps every password, client secret, token and code the server handles, so that
//!   it can never reach a log line or `Debug` output by accident.
//! * [`TokenDigest`] is what storage keeps for tokens and codes: the SHA-256 of the string the
//!   client holds. A database leak gives no usable token.
//! * [`generate_token`] mints tokens and codes: 256 random bits, base64url without padding.
//! * [`ClientSecretHash`], [`hash_client_secret`] and [`verify_client_secret`] keep client
//!   secrets out of the database in a form that is cheap to check.
//!
//! # Why client secrets use a fast hash
//!
//! A password is chosen by a person and has little entropy, so its hash must be slow
//! (PBKDF2, see [`crate::credentials`]) to make guessing expensive after a leak. A client secret
//! made by [`generate_client_secret`] is 256 bits straight from the CSPRNG: nobody can guess it,
//! fast hash or slow, so key stretching buys nothing, while it would cost a PBKDF2 run (and a
//! trip through the hash pool) on *every* client-authenticated request. A salted HMAC-SHA256
//! is therefore enough: it is one-way, the per-secret salt defeats precomputed tables and makes
//! equal secrets hash differently, and checking it takes about a microsecond. The MAC is
//! compared in constant time ([`ring::hmac::verify`]).
//!
//! Operators who set a human-chosen client secret (the demo's `demo-secret`, for instance) get
//! the same cheap check and therefore no protection against offline guessing if the database
//! leaks; production clients should use generated secrets.
//!
//! Stored format: `hmac-sha256$<salt>$<mac>`, salt 16 bytes, MAC = HMAC-SHA256(key = salt,
//! message = UTF-8 secret), both in standard base64 without padding.

use std::fmt;

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine as _;

use crate::credentials::CredentialError;
use crate::rng::Rng;

/// Number of random bytes in a token, code or generated client secret (256 bits).
pub const TOKEN_BYTES: usize = 32;

/// Length of a token in characters: 32 bytes in base64url without padding.
pub const TOKEN_LEN: usize = 43;

/// A password, client secret, token or code held in memory.
///
/// `Debug` and `Display` print `<redacted>`; the only way to the text is [`Secret::expose`],
/// which makes every use visible in review. It deliberately implements no `PartialEq`: compare
/// with [`Secret::ct_eq`], which runs in constant time. The bytes are overwritten when the
/// value is dropped (best effort: copies made by the allocator on growth are not reached).
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret string.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret text. Call it only where the value is really needed (hashing, the one
    /// response that hands it to its owner).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Compares with `other` in time that depends only on the lengths, not on the contents.
    pub fn ct_eq(&self, other: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), other.as_bytes())
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.fill(0);
        std::hint::black_box(&bytes);
    }
}

/// Byte comparison whose running time depends only on the lengths (`subtle`): the one
/// comparison of secrets, codes and PKCE challenges.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}

/// The SHA-256 digest of a token or code string: what storage keeps and looks up.
///
/// Not a secret (the token cannot be recovered from it), so `Debug` shows it in hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    /// The digest of the token as the client presents it (its UTF-8 bytes).
    pub fn of(token: &str) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        Self(out)
    }

    /// Wraps 32 digest bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Reads a digest back from storage.
    ///
    /// # Errors
    /// [`CredentialError::DigestLength`] unless `bytes` is exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, CredentialError> {
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CredentialError::DigestLength(bytes.len()))?;
        Ok(Self(array))
    }

    /// The 32 digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        use fmt::Write as _;
        let mut out = String::with_capacity(64);
        for byte in self.0 {
            let _ = write!(out, "{byte:02x}");
        }
        out
    }

    /// Parses 64 hex characters (either case).
    ///
    /// # Errors
    /// [`CredentialError::DigestLength`] for a wrong length, [`CredentialError::Malformed`] for
    /// a non-hex character.
    pub fn from_hex(hex: &str) -> Result<Self, CredentialError> {
        let bytes = hex.as_bytes();
        if bytes.len() != 64 {
            return Err(CredentialError::DigestLength(bytes.len() / 2));
        }
        let mut out = [0u8; 32];
        for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let hi = hex_value(pair[0]).ok_or(CredentialError::Malformed("digest is not hex"))?;
            let lo = hex_value(pair[1]).ok_or(CredentialError::Malformed("digest is not hex"))?;
            *slot = (hi << 4) | lo;
        }
        Ok(Self(out))
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenDigest({})", self.to_hex())
    }
}

/// Mints a token or code: 256 random bits as base64url without padding ([`TOKEN_LEN`] = 43
/// characters), with its digest for storage.
pub fn generate_token(rng: &dyn Rng) -> (Secret, TokenDigest) {
    let token = random_base64url(rng);
    let digest = TokenDigest::of(&token);
    (Secret(token), digest)
}

/// Makes a client secret the way the CLI does: 256 random bits as base64url without padding.
/// Hash it with [`hash_client_secret`], show it once, and forget it.
pub fn generate_client_secret(rng: &dyn Rng) -> Secret {
    Secret(random_base64url(rng))
}

fn random_base64url(rng: &dyn Rng) -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rng.fill(&mut bytes);
    let text = URL_SAFE_NO_PAD.encode(bytes);
    bytes.fill(0);
    text
}

const CLIENT_SECRET_SCHEME: &str = "hmac-sha256";
const CLIENT_SECRET_SALT_BYTES: usize = 16;
const CLIENT_SECRET_MAC_BYTES: usize = 32;

/// A client secret as stored: `hmac-sha256$<salt>$<mac>` (see the module documentation).
///
/// Built by [`hash_client_secret`] or read back with [`ClientSecretHash::parse`], which checks
/// the format, so a value of this type is always well formed.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecretHash {
    stored: String,
    salt: [u8; CLIENT_SECRET_SALT_BYTES],
    mac: [u8; CLIENT_SECRET_MAC_BYTES],
}

impl ClientSecretHash {
    /// Reads a stored client-secret hash.
    ///
    /// # Errors
    /// [`CredentialError::MalformedClientSecretHash`] for anything but
    /// `hmac-sha256$<16-byte salt>$<32-byte mac>` in unpadded standard base64.
    pub fn parse(stored: &str) -> Result<Self, CredentialError> {
        let mut parts = stored.split('$');
        let (Some(scheme), Some(salt), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(CredentialError::MalformedClientSecretHash);
        };
        if scheme != CLIENT_SECRET_SCHEME {
            return Err(CredentialError::MalformedClientSecretHash);
        }
        let salt = decode_fixed::<CLIENT_SECRET_SALT_BYTES>(salt)
            .ok_or(CredentialError::MalformedClientSecretHash)?;
        let mac = decode_fixed::<CLIENT_SECRET_MAC_BYTES>(mac)
            .ok_or(CredentialError::MalformedClientSecretHash)?;
        Ok(Self {
            stored: stored.to_owned(),
            salt,
            mac,
        })
    }

    /// The string to store.
    pub fn as_str(&self) -> &str {
        &self.stored
    }
}

fn decode_fixed<const N: usize>(text: &str) -> Option<[u8; N]> {
    // Bound the work before decoding: N bytes need at most 4 * ceil(N / 3) characters.
    if text.len() > N.div_ceil(3) * 4 {
        return None;
    }
    STANDARD_NO_PAD.decode(text).ok()?.try_into().ok()
}

impl fmt::Debug for ClientSecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSecretHash")
            .field("scheme", &CLIENT_SECRET_SCHEME)
            .finish_non_exhaustive()
    }
}

fn client_secret_mac(salt: &[u8], secret: &str) -> ring::hmac::Tag {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, salt);
    ring::hmac::sign(&key, secret.as_bytes())
}

/// Hashes a client secret for storage with a fresh 16-byte salt.
pub fn hash_client_secret(secret: &Secret, rng: &dyn Rng) -> ClientSecretHash {
    let mut salt = [0u8; CLIENT_SECRET_SALT_BYTES];
    rng.fill(&mut salt);
    let tag = client_secret_mac(&salt, secret.expose());
    let mut mac = [0u8; CLIENT_SECRET_MAC_BYTES];
    mac.copy_from_slice(tag.as_ref());
    let stored = format!(
        "{CLIENT_SECRET_SCHEME}${}${}",
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(mac)
    );
    ClientSecretHash { stored, salt, mac }
}

/// Whether `presented` is the secret behind `stored`. Constant time in the secret; about a
/// microsecond, so it runs inline on every client-authenticated request.
pub fn verify_client_secret(stored: &ClientSecretHash, presented: &str) -> bool {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &stored.salt);
    ring::hmac::verify(&key, presented.as_bytes(), &stored.mac).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{SeededRng, SystemRng};
    use std::collections::BTreeSet;

    #[test]
    fn secret_debug_and_display_never_show_the_value() {
        let secret = Secret::from("hunter2-top-secret".to_owned());
        assert_eq!(format!("{secret:?}"), "<redacted>");
        assert_eq!(format!("{secret}"), "<redacted>");
        assert_eq!(format!("{secret:#?}"), "<redacted>");
        #[derive(Debug)]
        #[expect(
            dead_code,
            reason = "the fields exist to be formatted by the derived Debug"
        )]
        struct Login {
            user: &'static str,
            password: Secret,
        }
        let login = Login {
            user: "alice",
            password: Secret::new("alice-password-1"),
        };
        let shown = format!("{login:?}");
        assert!(!shown.contains("alice-password-1"), "{shown}");
        assert!(shown.contains("<redacted>"));
        assert_eq!(secret.expose(), "hunter2-top-secret");
    }

    #[test]
    fn secret_ct_eq() {
        let secret = Secret::new("abc");
        assert!(secret.ct_eq("abc"));
        assert!(!secret.ct_eq("abd"));
        assert!(!secret.ct_eq("ab"));
        assert!(!secret.ct_eq("abcd"));
        assert!(Secret::new("").ct_eq(""));
    }

    #[test]
    fn token_digest_known_answer() {
        // python3 -c "import hashlib; print(hashlib.sha256(b'abc').hexdigest())"
        let digest = TokenDigest::of("abc");
        assert_eq!(
            digest.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(TokenDigest::from_hex(&digest.to_hex()), Ok(digest));
        assert_eq!(
            TokenDigest::from_hex(&digest.to_hex().to_uppercase()),
            Ok(digest)
        );
        assert_eq!(TokenDigest::from_slice(digest.as_bytes()), Ok(digest));
        assert_eq!(
            format!("{digest:?}"),
            "TokenDigest(ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad)"
        );
    }

    #[test]
    fn token_digest_rejects_bad_input() {
        assert_eq!(
            TokenDigest::from_slice(&[0u8; 31]),
            Err(CredentialError::DigestLength(31))
        );
        assert_eq!(
            TokenDigest::from_slice(&[]),
            Err(CredentialError::DigestLength(0))
        );
        assert!(TokenDigest::from_hex("abc").is_err());
        assert!(TokenDigest::from_hex(&"zz".repeat(32)).is_err());
        // Multi-byte characters must not cause a panic on a char boundary.
        assert!(TokenDigest::from_hex(&"é".repeat(32)).is_err());
    }

    #[test]
    fn tokens_are_43_base64url_chars_and_unique() {
        let rng = SystemRng::new();
        let mut seen = BTreeSet::new();
        for _ in 0..1000 {
            let (token, digest) = generate_token(&rng);
            let text = token.expose();
            assert_eq!(text.len(), TOKEN_LEN);
            assert!(
                text.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'),
                "alphabet"
            );
            assert_eq!(URL_SAFE_NO_PAD.decode(text).map(|b| b.len()), Ok(32));
            assert_eq!(digest, TokenDigest::of(text));
            assert!(seen.insert(text.to_owned()), "duplicate token");
        }
        let secret = generate_client_secret(&rng);
        assert_eq!(secret.expose().len(), TOKEN_LEN);
    }

    #[test]
    fn tokens_come_from_the_injected_rng() {
        let (a, _) = generate_token(&SeededRng::new(7));
        let (b, _) = generate_token(&SeededRng::new(7));
        let (c, _) = generate_token(&SeededRng::new(8));
        assert!(a.ct_eq(b.expose()));
        assert!(!a.ct_eq(c.expose()));
    }

    #[test]
    fn client_secret_round_trip_and_rejection() {
        let rng = SeededRng::new(1);
        let secret = generate_client_secret(&rng);
        let stored = hash_client_secret(&secret, &rng);
        assert!(stored.as_str().starts_with("hmac-sha256$"));
        assert!(!stored.as_str().contains(secret.expose()));
        assert!(verify_client_secret(&stored, secret.expose()));
        assert!(!verify_client_secret(&stored, "wrong"));
        assert!(!verify_client_secret(&stored, ""));
        let mut truncated = secret.expose().to_owned();
        truncated.pop();
        assert!(!verify_client_secret(&stored, &truncated));

        // Same secret, different salt, different string; both verify.
        let again = hash_client_secret(&secret, &rng);
        assert_ne!(again.as_str(), stored.as_str());
        assert!(verify_client_secret(&again, secret.expose()));

        // Survives a trip through storage.
        let reread = ClientSecretHash::parse(stored.as_str());
        assert_eq!(reread.as_ref(), Ok(&stored));
        let shown = format!("{stored:?}");
        assert!(!shown.contains(stored.as_str()));
    }

    #[test]
    fn client_secret_known_answer() {
        // python3 -c "import hashlib,hmac,base64; s=bytes(range(64,80));
        //   m=hmac.new(s,b'demo-secret',hashlib.sha256).digest();
        //   print('hmac-sha256\$'+base64.b64encode(s).decode().rstrip('=')+'\$'
        //         +base64.b64encode(m).decode().rstrip('='))"
        // hmac-sha256$QEFCQ0RFRkdISUpLTE1OTw$ffIbCFflCmn/nmSzvdTJt39ZOVWsK8LpoUKOJns7FFA
        let stored = ClientSecretHash::parse(
            "hmac-sha256$QEFCQ0RFRkdISUpLTE1OTw$ffIbCFflCmn/nmSzvdTJt39ZOVWsK8LpoUKOJns7FFA",
        );
        let Ok(stored) = stored else {
            panic!("vector did not parse: {stored:?}");
        };
        assert!(verify_client_secret(&stored, "demo-secret"));
        assert!(!verify_client_secret(&stored, "demo-secreT"));
    }

    #[test]
    fn client_secret_hash_rejects_hostile_strings() {
        let good_salt = "QEFCQ0RFRkdISUpLTE1OTw";
        let good_mac = "ffIbCFflCmn/nmSzvdTJt39ZOVWsK8LpoUKOJns7FFA";
        let long = "A".repeat(100_000);
        let cases = [
            String::new(),
            "demo-secret".to_owned(),
            format!("hmac-sha1${good_salt}${good_mac}"),
            format!("hmac-sha256${good_salt}"),
            format!("hmac-sha256${good_salt}${good_mac}$extra"),
            format!("hmac-sha256${good_salt}=${good_mac}"),
            format!("hmac-sha256$!!!!${good_mac}"),
            format!("hmac-sha256$QEFC${good_mac}"),
            format!("hmac-sha256${good_salt}$ffIb"),
            format!("hmac-sha256${long}${good_mac}"),
            format!("hmac-sha256${good_salt}$é{good_mac}"),
        ];
        for case in &cases {
            assert_eq!(
                ClientSecretHash::parse(case),
                Err(CredentialError::MalformedClientSecretHash),
                "{}",
                &case[..case.len().min(80)]
            );
        }
    }
}
