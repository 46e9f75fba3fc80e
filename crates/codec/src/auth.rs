//! `Authorization` header parsing: Basic client credentials and Bearer tokens.

use std::fmt;

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;

use crate::error::DecodeError;

/// A client id and secret from a Basic header.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientPair {
    /// The client id (user-id part).
    pub id: String,
    /// The client secret (password part); hidden from `Debug`.
    pub secret: String,
}

impl fmt::Debug for ClientPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientPair")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Credentials from `Authorization: Basic ...`.
///
/// RFC 6749 section 2.3.1 says clients URL-encode id and secret before Basic-encoding them;
/// many clients do not. Servers must try both: [`raw`](Self::raw) is the pair as decoded from
/// base64, [`url_decoded`](Self::url_decoded) the form-URL-decoded pair when that differs
/// (and is valid UTF-8).
#[derive(Clone, PartialEq, Eq)]
pub struct BasicCredentials {
    /// The pair exactly as sent.
    pub raw: ClientPair,
    /// The pair after `application/x-www-form-urlencoded` decoding, when that changes it.
    pub url_decoded: Option<ClientPair>,
}

impl BasicCredentials {
    /// The candidate pairs to check, the raw one first.
    pub fn candidates(&self) -> impl Iterator<Item = &ClientPair> {
        std::iter::once(&self.raw).chain(self.url_decoded.as_ref())
    }
}

impl fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicCredentials")
            .field("raw", &self.raw)
            .field("url_decoded", &self.url_decoded)
            .finish_non_exhaustive()
    }
}

const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Split `Scheme rest` with a case-insensitive scheme; `rest` trimmed.
fn scheme<'h>(header: &'h str, name: &str) -> Option<&'h str> {
    let header = header.trim();
    let (s, rest) = header.split_once([' ', '\t'])?;
    s.eq_ignore_ascii_case(name).then(|| rest.trim())
}

/// Parse `Authorization: Basic base64(id:secret)`. The scheme is case-insensitive; the
/// decoded text must be UTF-8 and is split at the first `:`.
///
/// # Errors
/// [`DecodeError::Authorization`]: another scheme, empty credentials, text that is not
/// base64, not UTF-8, or has no `:` (the reason never quotes the header).
pub fn parse_basic(header: &str) -> Result<BasicCredentials, DecodeError> {
    let auth = |reason| DecodeError::Authorization { reason };
    let encoded = scheme(header, "Basic").ok_or(auth("the scheme is not Basic"))?;
    if encoded.is_empty() {
        return Err(auth("the Basic credentials are empty"));
    }
    let bytes = BASE64
        .decode(encoded)
        .map_err(|_| auth("the Basic credentials are not valid base64"))?;
    let text = String::from_utf8(bytes).map_err(|_| auth("the Basic credentials are not UTF-8"))?;
    let (id, secret) = text
        .split_once(':')
        .ok_or(auth("the Basic credentials have no ':' separator"))?;
    let raw = ClientPair {
        id: id.to_owned(),
        secret: secret.to_owned(),
    };
    let url_decoded = match (form_url_decode(id), form_url_decode(secret)) {
        (Some(id), Some(secret)) if id != raw.id || secret != raw.secret => {
            Some(ClientPair { id, secret })
        }
        _ => None,
    };
    Ok(BasicCredentials { raw, url_decoded })
}

/// `application/x-www-form-urlencoded` encoding of one component as .NET's
/// `FormUrlEncodedContent` wrote it (`Uri.EscapeDataString`, then `%20` as `+`): the RFC 3986
/// unreserved characters stay, every other byte of the UTF-8 is `%XX` in upper-case hex.
///
/// ```
/// assert_eq!(gatehouse_codec::form_url_encode("a b&c=é"), "a+b%26c%3D%C3%A9");
/// ```
pub fn form_url_encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 15)]));
            }
        }
    }
    out
}

/// `application/x-www-form-urlencoded` decoding of one component: `+` is a space, `%XX` a
/// byte; `None` on a malformed escape or invalid UTF-8.
pub fn form_url_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    if !bytes.iter().any(|&b| b == b'%' || b == b'+') {
        return Some(s.to_owned());
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hi = bytes.get(i + 1).and_then(|b| (*b as char).to_digit(16))?;
                let lo = bytes.get(i + 2).and_then(|b| (*b as char).to_digit(16))?;
                out.push(u8::try_from(hi * 16 + lo).ok()?);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Parse `Authorization: Bearer <token>` (scheme case-insensitive). The token must be an RFC
/// 6750 `b64token`; anything else gives `None`.
pub fn parse_bearer(header: &str) -> Option<&str> {
    let token = scheme(header, "Bearer")?;
    let body = token.trim_end_matches('=');
    let ok = !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        });
    ok.then_some(token)
}
