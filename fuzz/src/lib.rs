//! Shared dispatch of the fuzz targets: the first input byte picks the request type (every
//! dialect's request, plus the RFC 7662/7009 bodies, `/oauth2/token`'s form and v1's code
//! binding) and the decode options; the rest is the
//! body. A decode may fail (that is a typed error); it must never panic, hang or blow the
//! stack.

use gatehouse_codec::{decode, decode_form, decode_json, BodyFormat, DecodeOptions};
use gatehouse_models::oauth::{IntrospectionRequest, RevocationRequest, TokenRequest};
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
