//! Shared dispatch of the fuzz targets: the first input byte picks the request type (every
//! dialect's request, plus the RFC 7662/7009 bodies, `/oauth2/token`'s form and v1's code
//! binding) and the decode options; the rest is the
//! body. A decode may fail (that is a typed error); it must never panic, hang or blow the
//! stack.

pub mod jwt;

use gatehouse_codec::{decode, decode_form, decode_json, BodyFormat, DecodeOptions};
use gatehouse_models::oauth::{
    AuthorizationQuery, GrantType, IntrospectionRequest, RevocationRequest, TokenRequest,
};
use gatehouse_models::{katana, member, onetime, otc, v1};

/// Request types reachable from the server, in selector order.
pub const TYPES: [&str; 11] = [
    "onetime::OneTimeTokenRequest",
    "otc::AuthCodeRequest",
    "member::AuthMemberModel",
    "v1::TokenRequest",
    "katana::OAuthRequest",
    "onetime::OneTimeAuthorizeRequest",
    "otc::TokenRequest",
    "oauth::IntrospectionRequest",
    "oauth::RevocationRequest",
    "oauth::TokenRequest",
    "v1::CodeExtras",
];

fn options(selector: u8) -> DecodeOptions {
    DecodeOptions {
        // Bit 7 switches Katana's repeated-key joining, as the server does for /token.
        join_repeated_form_keys: selector & 0x80 != 0,
        ..DecodeOptions::default()
    }
}

macro_rules! touch {
    ($r:expr) => {
        // Debug output of a decoded value must not panic either (it redacts secrets).
        if let Ok(v) = $r {
            let _ = format!("{v:?}");
        }
    };
}

/// Decodes `data[1..]` in `format` into the type `data[0]` selects.
pub fn dispatch(format: BodyFormat, data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let opts = options(selector);
    match (selector & 0x7f) as usize % TYPES.len() {
        0 => touch!(decode::<onetime::OneTimeTokenRequest>(format, body, &opts)),
        1 => touch!(decode::<otc::AuthCodeRequest>(format, body, &opts)),
        2 => touch!(decode::<member::AuthMemberModel>(format, body, &opts)),
        3 => touch!(decode::<v1::TokenRequest>(format, body, &opts)),
        4 => touch!(decode::<katana::OAuthRequest>(format, body, &opts)),
        5 => touch!(decode::<onetime::OneTimeAuthorizeRequest>(
            format, body, &opts
        )),
        6 => touch!(decode::<otc::TokenRequest>(format, body, &opts)),
        // The RFC bodies have no XML form: the server reads them as JSON or form only.
        7 => match format {
            BodyFormat::Form => touch!(decode_form::<IntrospectionRequest>(body, &opts)),
            _ => touch!(decode_json::<IntrospectionRequest>(body, &opts)),
        },
        8 => match format {
            BodyFormat::Form => touch!(decode_form::<RevocationRequest>(body, &opts)),
            _ => touch!(decode_json::<RevocationRequest>(body, &opts)),
        },
        // `/oauth2/token` reads a form only; JSON is fuzzed too (the same serde model).
        9 => match format {
            BodyFormat::Form => touch!(decode_form::<TokenRequest>(body, &opts)),
            _ => touch!(decode_json::<TokenRequest>(body, &opts)),
        },
        // v1's code binding, read beside the v1 contract from the same body.
        _ => match format {
            BodyFormat::Form => touch!(decode_form::<v1::CodeExtras>(body, &opts)),
            _ => touch!(decode_json::<v1::CodeExtras>(body, &opts)),
        },
    }
}

/// `Accept` and `Content-Type` (split at the first NUL) through negotiation and
/// classification.
pub fn negotiate(data: &[u8]) {
    let (accept, content_type) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let accept = std::str::from_utf8(accept).ok();
    let content_type = std::str::from_utf8(content_type).ok();
    let format = gatehouse_codec::negotiate(accept, content_type);
    let _ = format.content_type();
    let _ = gatehouse_codec::classify(content_type);
    let _ = gatehouse_codec::classify(accept);
}

/// An `Authorization` header through the Basic and Bearer parsers.
pub fn basic_header(data: &[u8]) {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(creds) = gatehouse_codec::parse_basic(header) {
        // Debug must not panic (and redacts the secret).
        let _ = format!("{creds:?}");
        let _ = creds.candidates().count();
    }
    let _ = gatehouse_codec::parse_bearer(header);
}

/// A query string of `/oauth2/authorize` (or a PAR form) as the server reads it: the pairs
/// (`gatehouse_codec::parse_urlencoded`), the parameters (`AuthorizationQuery`), then the
/// domain's pure checks of what it found (redirect URI syntax, PKCE).
pub fn authorize_query(data: &[u8]) {
    let Some(pairs) = std::str::from_utf8(data)
        .ok()
        .and_then(gatehouse_codec::parse_urlencoded)
    else {
        return;
    };
    let query = AuthorizationQuery::from_pairs(pairs);
    // Debug must not panic (and redacts state, challenge, nonce).
    let _ = format!("{query:?}");
    let _ = query.repeated();
    if let Some(uri) = query.redirect_uri.as_deref() {
        let _ = gatehouse_domain::authorize::valid_redirect_uri(uri);
    }
    let _ = gatehouse_domain::pkce::check_request(
        query.code_challenge.as_deref(),
        query.code_challenge_method.as_deref(),
    );
}

/// A form body of `/oauth2/token` as the server reads it: the strict form reader
/// (`gatehouse_codec::decode_strict_form`: exact names, each once) into `TokenRequest`, then
/// the grant type.
pub fn token_form(data: &[u8]) {
    match gatehouse_codec::decode_strict_form::<TokenRequest>(data) {
        Ok(form) => {
            // Debug must not panic (and redacts every secret).
            let _ = format!("{form:?}");
            if let Some(grant) = form.grant_type.as_deref() {
                let _ = GrantType::from_wire(grant);
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// Every target (its `fuzz_targets/<name>.rs` calls exactly this) by name: the seed run of
/// `fuzz/smoke.sh` (stable, no sanitizer) feeds each its `seeds/<name>/`.
pub const TARGETS: [(&str, fn(&[u8])); 8] = [
    ("decode_json", |d| dispatch(BodyFormat::Json, d)),
    ("decode_xml", |d| dispatch(BodyFormat::Xml, d)),
    ("decode_form", |d| dispatch(BodyFormat::Form, d)),
    ("negotiate", negotiate),
    ("basic_header", basic_header),
    ("verify_jwt", jwt::verify),
    ("authorize_query", authorize_query),
    ("token_form", token_form),
];

#[cfg(test)]
mod tests {
    use super::TARGETS;

    #[test]
    fn every_target_runs_over_its_seeds() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for (name, run) in TARGETS {
            assert!(
                root.join("fuzz_targets")
                    .join(format!("{name}.rs"))
                    .exists(),
                "{name}"
            );
            let seeds: Vec<_> = std::fs::read_dir(root.join("seeds").join(name))
                .unwrap_or_else(|e| panic!("seeds/{name}: {e}"))
                .map(|e| e.expect("seed").path())
                .collect();
            assert!(!seeds.is_empty(), "{name} has no seed");
            for seed in seeds {
                run(&std::fs::read(&seed).expect("seed"));
            }
        }
        let targets = std::fs::read_dir(root.join("fuzz_targets"))
            .expect("targets")
            .count();
        assert_eq!(targets, TARGETS.len(), "a target missing from TARGETS");
    }
}
