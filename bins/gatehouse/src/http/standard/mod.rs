//! The standards-native surface beside the legacy dialects: `/oauth2/authorize` with its
//! login and consent pages, `/oauth2/logout`, the RFC 6749 token endpoint `/oauth2/token`,
//! and the RFC 8414 metadata built from the configured issuer.
//!
//! Every page is server-rendered HTML with an inline stylesheet (no script, no external
//! asset), never cached, never framed. Decisions are domain calls
//! (`check_authorization`, `browser_login`, `issue_authorization_code`, `exchange_code`).

use actix_web::http::header;
use actix_web::HttpRequest;
use gatehouse_models::v1::CodeExtras;

pub(super) mod authorize;
pub(super) mod device;
pub(super) mod logout;
pub mod metadata;
pub(crate) mod page;
pub(super) mod par;
pub(super) mod token;

pub use metadata::document as metadata_document;

/// The `redirect_uri` and `code_verifier` of a v1 `authorization_code` request (read from
/// the same body beside the v1 contract, which does not carry them), so a code issued by
/// `/oauth2/authorize` is checked at v1 exactly as at `/oauth2/token`.
pub fn v1_code_binding(req: &HttpRequest, body: &[u8]) -> gatehouse_domain::authorize::CodeBinding {
    let opts = gatehouse_codec::DecodeOptions::default();
    let content_type = crate::http::request::header_str(req, header::CONTENT_TYPE);
    let extras: CodeExtras = match gatehouse_codec::classify(content_type) {
        Ok(gatehouse_codec::BodyFormat::Form) => {
            gatehouse_codec::decode_form(body, &opts).unwrap_or_default()
        }
        Ok(gatehouse_codec::BodyFormat::Json) => {
            gatehouse_codec::decode_json(body, &opts).unwrap_or_default()
        }
        _ => CodeExtras::default(),
    };
    gatehouse_domain::authorize::CodeBinding {
        redirect_uri: extras.redirect_uri.filter(|v| !v.is_empty()),
        code_verifier: extras.code_verifier.filter(|v| !v.is_empty()),
    }
}

// ----- small HTTP helpers ------------------------------------------------------------------

pub(crate) use gatehouse_codec::parse_urlencoded;

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `uri` with `params` added to its query (RFC 6749 section 4.1.2: keep the existing query).
pub(crate) fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    let mut out = uri.to_owned();
    let mut sep = if uri.contains('?') { '&' } else { '?' };
    if uri.ends_with('?') || uri.ends_with('&') {
        sep = '\0';
    }
    for (k, v) in params {
        if sep != '\0' {
            out.push(sep);
        }
        sep = '&';
        out.push_str(k);
        out.push('=');
        out.push_str(&percent_encode(v));
    }
    out
}

/// A cookie of the request by name; `None` when it is absent, empty, or sent more than once
/// (a second cookie of the same name is one planted beside ours, from a sibling domain or
/// another path: refused rather than guessed at).
pub(crate) fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    let mut found = req
        .headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_owned());
    let first = found.next()?;
    if found.next().is_some() {
        tracing::info!(cookie = name, "cookie sent more than once: refused");
        return None;
    }
    Some(first).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent_encode("a b&c=é"), "a%20b%26c%3D%C3%A9");
    }

    #[test]
    fn queries_are_appended() {
        assert_eq!(
            with_query("https://a.example/cb", &[("code", "x"), ("state", "s t")]),
            "https://a.example/cb?code=x&state=s%20t"
        );
        assert_eq!(
            with_query("https://a.example/cb?k=v", &[("code", "x")]),
            "https://a.example/cb?k=v&code=x"
        );
    }
}
