//! DPoP (RFC 9449): sender-constrained access and refresh tokens.
//!
//! A DPoP proof is a JWT the client signs with a key it holds, per request; the server
//! binds the tokens it issues to that key's SHA-256 JWK thumbprint (RFC 7638, `jkt`), and
//! afterwards accepts them only with a fresh proof by the same key. [`check_proof`] is the
//! one check of section 4.3, a pure function of the proof, the request and the time, with a
//! typed [`DpopRejection`]; the service records each accepted proof's `jti` (per key) until
//! the proof leaves its `iat` window ([`Gatehouse::accept_dpop_proof`]), in a cache capped
//! at [`crate::Config::max_live_dpop_proofs`].
//!
//! Choices where the RFC leaves them open:
//! - `iat` may lie up to [`IAT_PAST`] (60 s) in the past and [`IAT_FUTURE`] (5 s) in the
//!   future: openid-client and oauth4webapi sign each proof just before sending it, so a
//!   minute covers slow networks and small clock skew while keeping the replay cache small.
//! - Server nonces (section 8) are stateless: base64url HMAC-SHA256, under the server key the
//!   forms use (shared by every replica through the database), of the current
//!   [`NONCE_SLOT`] (5 minutes); the current and the previous slot's nonces are accepted, so
//!   a nonce lives 5 to 10 minutes and replicas agree without talking.
//! - `htu` is compared after RFC 3986 syntax- and scheme-based normalisation (case of scheme
//!   and host, default ports, an empty path, percent-encoding case), without query and
//!   fragment, against the configured issuer's URL of the endpoint (never the Host header).

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use crate::client_assertion::{check_key, split, MAX_JTI_BYTES};
use crate::error::Error;
use crate::forms::FormKey;
use crate::keys::{verify_signature, Alg};
use crate::secret::TokenDigest;
use crate::service::Gatehouse;
use crate::store::Store;

/// Per client: DPoP settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientDpop {
    /// The client.
    pub client_id: String,
    /// `dpop_bound_access_tokens`: every token request of the client must carry a DPoP proof.
    pub dpop_bound_access_tokens: bool,
}

/// What recording a proof's `jti` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofRecord {
    /// First use: recorded.
    Fresh,
    /// Seen before within its window: a replay.
    Replayed,
    /// The cache is full.
    Full,
}

/// The `typ` of a DPoP proof (section 4.2).
pub const PROOF_TYPE: &str = "dpop+jwt";
/// The HTTP header carrying a proof, and the authorization scheme of a bound token.
pub const HEADER: &str = "DPoP";
/// The longest proof accepted (an RS256 proof with a 4096-bit key is about 2 KiB).
pub const MAX_PROOF_BYTES: usize = 8 * 1024;
/// How far in the past a proof's `iat` may lie.
pub const IAT_PAST: Duration = Duration::seconds(60);
/// How far in the future a proof's `iat` may lie (clock skew).
pub const IAT_FUTURE: Duration = Duration::seconds(5);
/// The period of a server nonce.
pub const NONCE_SLOT: Duration = Duration::minutes(5);
/// Live proofs remembered at most (every replica together): at 1,000 proofs a second a
/// 65-second window holds 65,000. Beyond it proofs are refused as a temporary condition.
pub const MAX_LIVE_PROOFS: u64 = 100_000;
/// The purpose of the nonce HMAC (no other token of the forms' key verifies as a nonce).
const NONCE_PURPOSE: &str = "dpop-nonce";

/// The algorithms a proof may be signed with (`dpop_signing_alg_values_supported`).
pub fn algorithms() -> Vec<&'static str> {
    Alg::ALL.iter().map(|a| a.as_str()).collect()
}

/// Why a proof or its use was refused. `Nonce` is `use_dpop_nonce`, `Full` a temporary
/// condition; every other one is `invalid_dpop_proof` (token endpoint) or `invalid_token`
/// (resources).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DpopRejection {
    /// No `DPoP` header where one is required (a bound token, a client that must bind).
    #[error("a DPoP proof is required")]
    Missing,
    /// More than one `DPoP` header.
    #[error("more than one DPoP header")]
    Multiple,
    /// Not a compact JWS of JSON objects, or longer than [`MAX_PROOF_BYTES`].
    #[error("the DPoP proof is malformed")]
    Malformed,
    /// `typ` is not `dpop+jwt`.
    #[error("the DPoP proof's typ must be dpop+jwt")]
    Type,
    /// `alg` is not one of [`algorithms`] (never `none` nor an HMAC).
    #[error("the DPoP proof's algorithm is not supported")]
    Algorithm,
    /// `jwk` is missing, not a supported public key, or holds private members.
    #[error("the DPoP proof's jwk must be a supported public key")]
    Key,
    /// The signature does not verify with `jwk`.
    #[error("the DPoP proof's signature does not verify")]
    Signature,
    /// `jti` is missing, empty or too long.
    #[error("the DPoP proof's jti is missing or too long")]
    Jti,
    /// `htm` is not the request's method.
    #[error("the DPoP proof's htm is not the request method")]
    Method,
    /// `htu` is not the request's URL.
    #[error("the DPoP proof's htu is not the request URL")]
    Url,
    /// `iat` is missing or outside the window.
    #[error("the DPoP proof's iat is missing or outside the accepted window")]
    IssuedAt,
    /// The server requires a nonce and the proof carries none, or an expired or foreign one.
    #[error("a fresh DPoP nonce is required")]
    Nonce,
    /// `ath` is missing or not the hash of the presented access token.
    #[error("the DPoP proof's ath does not match the access token")]
    AccessTokenHash,
    /// The proof's `jti` was already used with this key.
    #[error("the DPoP proof was replayed")]
    Replayed,
    /// The proof's key is not the one the token or the refresh token is bound to.
    #[error("the DPoP key is not the key the token is bound to")]
    WrongKey,
    /// The replay cache is full (a temporary condition).
    #[error("too many DPoP proofs; try again shortly")]
    Full,
}

/// A verified proof: the key's thumbprint and what the service records against replay.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// The SHA-256 JWK thumbprint of the proof's key (RFC 7638), base64url.
    pub jkt: String,
    /// Digest of (jkt, jti): the replay cache's key.
    pub digest: TokenDigest,
    /// When the proof leaves its window (the cache forgets it then).
    pub expires_at: OffsetDateTime,
}

impl fmt::Debug for VerifiedProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedProof")
            .field("jkt", &self.jkt)
            .finish_non_exhaustive()
    }
}

/// The request a proof must match.
pub struct ProofRequest<'a> {
    /// The compact JWS from the `DPoP` header.
    pub proof: &'a str,
    /// The HTTP method (`POST`).
    pub method: &'a str,
    /// The endpoint's public URL under the configured issuer, without query.
    pub url: &'a str,
    /// The access token presented with the proof (at a resource): `ath` must be its hash.
    pub access_token: Option<&'a str>,
    /// The nonce key, when the server requires nonces.
    pub nonce_key: Option<&'a FormKey>,
}

impl fmt::Debug for ProofRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProofRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("nonce_required", &self.nonce_key.is_some())
            .finish_non_exhaustive()
    }
}

fn text<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    map.get(name).and_then(Value::as_str)
}

/// Checks a proof (RFC 9449 section 4.3, steps 1 to 11 but the replay check, which the
/// service makes against the cache).
///
/// # Errors
/// The [`DpopRejection`] that refused it.
pub fn check_proof(
    req: &ProofRequest<'_>,
    now: OffsetDateTime,
) -> Result<VerifiedProof, DpopRejection> {
    if req.proof.len() > MAX_PROOF_BYTES {
        return Err(DpopRejection::Malformed);
    }
    let parts = split(req.proof).map_err(|_| DpopRejection::Malformed)?;
    if text(&parts.header, "typ") != Some(PROOF_TYPE) {
        return Err(DpopRejection::Type);
    }
    let alg = text(&parts.header, "alg")
        .and_then(Alg::parse)
        .ok_or(DpopRejection::Algorithm)?;
    if parts.header.contains_key("crit") {
        return Err(DpopRejection::Malformed);
    }
    let jwk = parts
        .header
        .get("jwk")
        .and_then(Value::as_object)
        .ok_or(DpopRejection::Key)?;
    check_key(jwk).map_err(|_| DpopRejection::Key)?;
    if text(jwk, "alg").is_some_and(|a| a != alg.as_str()) {
        return Err(DpopRejection::Key);
    }
    if !verify_signature(alg, jwk, parts.signed.as_bytes(), &parts.signature) {
        return Err(DpopRejection::Signature);
    }
    let jkt = thumbprint(jwk).ok_or(DpopRejection::Key)?;
    let claims = &parts.claims;
    let jti = text(claims, "jti")
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_BYTES)
        .ok_or(DpopRejection::Jti)?;
    if text(claims, "htm") != Some(req.method) {
        return Err(DpopRejection::Method);
    }
    let same_url = text(claims, "htu")
        .and_then(normalise_url)
        .zip(normalise_url(req.url))
        .is_some_and(|(a, b)| a == b);
    if !same_url {
        return Err(DpopRejection::Url);
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(DpopRejection::IssuedAt)?;
    let now_s = now.unix_timestamp();
    if iat < now_s - IAT_PAST.whole_seconds() || iat > now_s + IAT_FUTURE.whole_seconds() {
        return Err(DpopRejection::IssuedAt);
    }
    if let Some(key) = req.nonce_key {
        if !text(claims, "nonce").is_some_and(|n| nonce_valid(key, now, n)) {
            return Err(DpopRejection::Nonce);
        }
    }
    if let Some(token) = req.access_token {
        if text(claims, "ath") != Some(access_token_hash(token).as_str()) {
            return Err(DpopRejection::AccessTokenHash);
        }
    }
    let expires_at = OffsetDateTime::from_unix_timestamp(iat + IAT_PAST.whole_seconds() + 1)
        .map_err(|_| DpopRejection::IssuedAt)?;
    Ok(VerifiedProof {
        digest: TokenDigest::of(&format!("{jkt}.{jti}")),
        jkt,
        expires_at,
    })
}

/// `ath`: base64url SHA-256 of the access token's ASCII (section 4.2).
pub fn access_token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        token.as_bytes(),
    ))
}

/// The RFC 7638 SHA-256 thumbprint of a (checked) public JWK: the required members in
/// lexicographic order, no whitespace.
pub fn thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let members: &[&str] = match text(jwk, "kty")? {
        "RSA" => &["e", "kty", "n"],
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut canonical = Map::new();
    for m in members {
        canonical.insert((*m).to_owned(), Value::String(text(jwk, m)?.to_owned()));
    }
    // serde_json's Map keeps keys sorted (no preserve_order feature): the RFC 7638 order.
    let json = serde_json::to_string(&canonical).ok()?;
    Some(URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, json.as_bytes())))
}

fn slot(now: OffsetDateTime) -> i64 {
    now.unix_timestamp().div_euclid(NONCE_SLOT.whole_seconds())
}

/// The server nonce of `now` (section 8).
pub fn nonce(key: &FormKey, now: OffsetDateTime) -> String {
    key.token(NONCE_PURPOSE, &[&slot(now).to_string()])
}

/// Whether `presented` is the nonce of the current or the previous slot.
pub fn nonce_valid(key: &FormKey, now: OffsetDateTime, presented: &str) -> bool {
    let s = slot(now);
    [s, s - 1]
        .iter()
        .any(|s| key.verify(NONCE_PURPOSE, &[&s.to_string()], presented))
}

/// An `http(s)` URL normalised for comparison (RFC 3986 sections 6.2.2 and 6.2.3): scheme and
/// host lower case, the default port dropped, an empty path `/`, percent-encodings upper
/// case and unreserved ones decoded; query and fragment dropped. `None` when it is not an
/// absolute `http(s)` URL or carries user information.
pub fn normalise_url(url: &str) -> Option<String> {
    let url = url.split(['#', '?']).next()?;
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => return None,
    };
    let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let mut host = authority.to_ascii_lowercase();
    if host.ends_with(default_port) {
        host.truncate(host.len() - default_port.len());
    }
    let path = if path.is_empty() { "/" } else { path };
    Some(format!("{scheme}://{host}{}", normalise_path(path)?))
}

fn normalise_path(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = path.get(i + 1..i + 3)?;
            let b = u8::from_str_radix(hex, 16).ok()?;
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                out.push(b as char);
            } else {
                out.push('%');
                out.push_str(&hex.to_ascii_uppercase());
            }
            i += 3;
        } else {
            out.push(bytes[i] as char);
            i += 1;
        }
    }
    Some(out)
}

impl<S: Store> Gatehouse<S> {
    /// Checks a request's DPoP proof ([`check_proof`]) and records its `jti` for its key
    /// until it leaves the `iat` window; a second use is `Replayed`. Of two requests with one
    /// proof exactly one is accepted (a conditional insert on the one writer). A full cache
    /// refuses with `Full` (a temporary condition) rather than grow. A write: call it on a
    /// blocking worker.
    ///
    /// # Errors
    /// `Dpop(rejection)`, `Storage`.
    pub fn accept_dpop_proof(&self, req: &ProofRequest<'_>) -> Result<VerifiedProof, Error> {
        let now = self.clock().now();
        let proof = check_proof(req, now).map_err(Error::Dpop)?;
        let cap = self.config().max_live_dpop_proofs;
        let (digest, expires_at) = (proof.digest, proof.expires_at);
        let record = self
            .store()
            .write(move |tx| tx.record_dpop_proof(&digest, expires_at, now, cap))?;
        match record {
            ProofRecord::Fresh => Ok(proof),
            ProofRecord::Replayed => Err(Error::Dpop(DpopRejection::Replayed)),
            ProofRecord::Full => {
                tracing::warn!(cap, "DPoP replay cache full: proofs refused");
                Err(Error::Dpop(DpopRejection::Full))
            }
        }
    }

    /// Whether a client must bind its tokens (`dpop_bound_access_tokens`), for `client
    /// update` and the admin API, which keep it unless given.
    ///
    /// # Errors
    /// `Storage`.
    pub fn client_dpop_bound(&self, client_id: &str) -> Result<bool, Error> {
        Ok(self
            .store()
            .read(|tx| tx.client_dpop(client_id))?
            .is_some_and(|c| c.dpop_bound_access_tokens))
    }

    /// Checks a DPoP-bound (or bearer) access token as a resource receives it (RFC 9449
    /// section 7): with `proof` (`Authorization: DPoP`) the token must be bound to the
    /// proof's key; without (`Bearer`) it must not be bound at all (section 7.1: a bound
    /// token is never a bearer token).
    ///
    /// # Errors
    /// `InvalidToken` (not live, or bound and presented as Bearer), `Dpop(WrongKey)`,
    /// `Storage`.
    pub fn validate_presented_token(
        &self,
        token: &str,
        proof: Option<&VerifiedProof>,
    ) -> Result<crate::TokenInfo, Error> {
        let info = self.validate_access_token_any(token)?;
        match (info.jkt.as_deref(), proof) {
            (None, None) => Ok(info),
            (Some(bound), Some(p)) if bound == p.jkt => Ok(info),
            (Some(_), Some(_)) => Err(Error::Dpop(DpopRejection::WrongKey)),
            // Bound, presented as Bearer; or a bearer token presented with DPoP.
            (Some(_), None) | (None, Some(_)) => Err(Error::InvalidToken),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_compare_after_normalisation() {
        let n = |u: &str| normalise_url(u).unwrap_or_default();
        assert_eq!(
            n("HTTPS://Login.Example.COM:443/oauth2/token?x=1#f"),
            n("https://login.example.com/oauth2/token")
        );
        assert_eq!(n("http://a.example:80"), "http://a.example/");
        assert_eq!(
            n("https://a.example/%7euser/%2f"),
            "https://a.example/~user/%2F"
        );
        assert_ne!(n("https://a.example:8443/t"), n("https://a.example/t"));
        assert_ne!(
            n("https://a.example/oauth2/token"),
            n("https://a.example/oauth2/Token")
        );
        assert!(normalise_url("ftp://a.example/").is_none());
        assert!(normalise_url("https://u@a.example/").is_none());
        assert!(normalise_url("https://a.example/%zz").is_none());
    }

    #[test]
    fn nonces_live_two_slots_under_one_key() {
        let key = FormKey::new(&[1; 32]);
        let t = OffsetDateTime::from_unix_timestamp(1_800_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let n = nonce(&key, t);
        assert!(nonce_valid(&key, t, &n));
        assert!(nonce_valid(&key, t + NONCE_SLOT, &n));
        assert!(!nonce_valid(&key, t + NONCE_SLOT * 2, &n));
        assert!(!nonce_valid(&FormKey::new(&[2; 32]), t, &n));
        // Another purpose's token of the same key is no nonce.
        assert!(!nonce_valid(
            &key,
            t,
            &key.token("login", &[&slot(t).to_string()])
        ));
    }

    #[test]
    fn thumbprint_is_rfc_7638s_example() {
        // RFC 7638 section 3.1.
        let jwk: Map<String, Value> = serde_json::from_str(
            r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#,
        )
        .unwrap_or_default();
        assert_eq!(
            thumbprint(&jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn debug_never_shows_a_proof_or_a_token() {
        let key = FormKey::new(&[1; 32]);
        let req = ProofRequest {
            proof: "eyJhbGciOiJFUzI1NiJ9.e30.c2lnbmF0dXJl",
            method: "POST",
            url: "https://a.example/oauth2/token",
            access_token: Some("secret-access-token"),
            nonce_key: Some(&key),
        };
        let text = format!("{req:?}");
        assert!(
            !text.contains("c2lnbmF0dXJl") && !text.contains("secret-access-token"),
            "{text}"
        );
        let proof = VerifiedProof {
            jkt: "thumb".into(),
            digest: TokenDigest::of("thumb.jti-value"),
            expires_at: OffsetDateTime::UNIX_EPOCH,
        };
        assert!(!format!("{proof:?}").contains("jti-value"));
    }

    #[test]
    fn ath_is_base64url_sha256() {
        // RFC 9449 section 7.1's example token and ath.
        assert_eq!(
            access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }
}
