//! PKCE (RFC 7636) with the `S256` method only: `plain` is refused (RFC 9700 section 2.1.1).
//!
//! The authorization request carries `code_challenge` = base64url(SHA-256(`code_verifier`))
//! without padding, which is always 43 characters; the token request carries the verifier,
//! 43 to 128 characters of `[A-Za-z0-9-._~]` (section 4.1). The comparison of the computed
//! challenge with the stored one runs in time independent of where they differ.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// The one accepted `code_challenge_method`.
pub const S256: &str = "S256";

/// Why a challenge or method is refused (the words are shown to the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkceError {
    /// `code_challenge_method` other than `S256` (`plain` included).
    UnsupportedMethod,
    /// A `code_challenge` that is not 43 base64url characters.
    MalformedChallenge,
    /// `code_challenge_method` without `code_challenge`.
    MethodWithoutChallenge,
}

impl PkceError {
    /// A sentence for `error_description`.
    pub fn describe(self) -> &'static str {
        match self {
            PkceError::UnsupportedMethod => {
                "code_challenge_method must be S256 (plain is not accepted)"
            }
            PkceError::MalformedChallenge => {
                "code_challenge must be the 43-character base64url SHA-256 of the verifier"
            }
            PkceError::MethodWithoutChallenge => {
                "code_challenge_method given without code_challenge"
            }
        }
    }
}

/// Checks the PKCE parameters of an authorization request. `Ok(None)` when there are none;
/// an absent method means `plain` by RFC 7636 section 4.3, which is refused.
///
/// # Errors
/// [`PkceError`].
pub fn check_request(
    challenge: Option<&str>,
    method: Option<&str>,
) -> Result<Option<String>, PkceError> {
    match (challenge, method) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(PkceError::MethodWithoutChallenge),
        (Some(_), None) => Err(PkceError::UnsupportedMethod),
        (Some(challenge), Some(method)) => {
            if method != S256 {
                return Err(PkceError::UnsupportedMethod);
            }
            if !is_challenge(challenge) {
                return Err(PkceError::MalformedChallenge);
            }
            Ok(Some(challenge.to_owned()))
        }
    }
}

fn is_challenge(text: &str) -> bool {
    text.len() == 43
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `verifier` has the form RFC 7636 section 4.1 allows.
pub fn is_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// base64url(SHA-256(verifier)) without padding.
pub fn s256(verifier: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// Whether `verifier` is well formed and hashes to `challenge` (constant-time comparison).
pub fn verify(verifier: &str, challenge: &str) -> bool {
    if !is_verifier(verifier) {
        return false;
    }
    let computed = s256(verifier);
    crate::secret::constant_time_eq(computed.as_bytes(), challenge.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc_7636_appendix_b() {
        assert_eq!(s256(VERIFIER), CHALLENGE);
        assert!(verify(VERIFIER, CHALLENGE));
        assert!(!verify(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK",
            CHALLENGE
        ));
        assert!(!verify(
            VERIFIER,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
        ));
    }

    #[test]
    fn verifier_form() {
        assert!(!is_verifier("short"));
        assert!(!is_verifier(&"a".repeat(129)));
        assert!(is_verifier(&"a".repeat(128)));
        assert!(!is_verifier(&format!("{}+", "a".repeat(42))));
        // A challenge equal to a malformed verifier's hash still fails.
        let bad = "a b".repeat(20);
        assert!(!verify(&bad, &s256(&bad)));
    }

    #[test]
    fn request_parameters() {
        assert_eq!(check_request(None, None), Ok(None));
        assert_eq!(
            check_request(Some(CHALLENGE), Some("S256")),
            Ok(Some(CHALLENGE.to_owned()))
        );
        assert_eq!(
            check_request(Some(CHALLENGE), Some("plain")),
            Err(PkceError::UnsupportedMethod)
        );
        assert_eq!(
            check_request(Some(CHALLENGE), None),
            Err(PkceError::UnsupportedMethod)
        );
        assert_eq!(
            check_request(Some("abc"), Some("S256")),
            Err(PkceError::MalformedChallenge)
        );
        assert_eq!(
            check_request(None, Some("S256")),
            Err(PkceError::MethodWithoutChallenge)
        );
        assert_eq!(
            check_request(Some(CHALLENGE), Some("s256")),
            Err(PkceError::UnsupportedMethod)
        );
    }
}
