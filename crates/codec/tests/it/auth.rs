//! `Authorization` header parsing.

use base64::Engine as _;
use gatehouse_codec::{parse_basic, parse_bearer, DecodeError};

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn basic_plain_credentials() {
    let c = parse_basic(&format!("Basic {}", b64("demo-client:demo-secret"))).expect("valid");
    assert_eq!(c.raw.id, "demo-client");
    assert_eq!(c.raw.secret, "demo-secret");
    assert_eq!(c.url_decoded, None);
    assert_eq!(c.candidates().count(), 1);
}

#[test]
fn basic_scheme_is_case_insensitive_and_splits_at_first_colon() {
    let c = parse_basic(&format!("bAsIc   {} ", b64("id:se:cr:et"))).expect("valid");
    assert_eq!(
        (c.raw.id.as_str(), c.raw.secret.as_str()),
        ("id", "se:cr:et")
    );
    let c = parse_basic(&format!("Basic {}", b64(":"))).expect("empty id and secret");
    assert_eq!((c.raw.id.as_str(), c.raw.secret.as_str()), ("", ""));
}

#[test]
fn basic_url_encoded_credentials_give_both_pairs() {
    // RFC 6749 2.3.1: the client form-URL-encodes id and secret first.
    let c = parse_basic(&format!("Basic {}", b64("my%20client:p%2Bss+word%3A"))).expect("valid");
    assert_eq!(c.raw.id, "my%20client");
    assert_eq!(c.raw.secret, "p%2Bss+word%3A");
    let d = c.url_decoded.as_ref().expect("decoding changes it");
    assert_eq!(d.id, "my client");
    assert_eq!(d.secret, "p+ss word:");
    assert_eq!(c.candidates().count(), 2);
    // A `%` that is not an escape: only the raw pair.
    let c = parse_basic(&format!("Basic {}", b64("id:100%"))).expect("valid");
    assert_eq!(c.url_decoded, None);
}

#[test]
fn basic_unpadded_base64_and_utf8() {
    let enc = b64("é:ü");
    let c = parse_basic(&format!("Basic {}", enc.trim_end_matches('='))).expect("valid");
    assert_eq!((c.raw.id.as_str(), c.raw.secret.as_str()), ("é", "ü"));
}

#[test]
fn basic_errors_are_typed_and_do_not_echo_the_header() {
    let bad = [
        "Bearer abc".to_owned(),
        "Basic".to_owned(),
        "Basic ".to_owned(),
        "Basic !!!notbase64".to_owned(),
        format!("Basic {}", b64("no-colon")),
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode([0xff, b':', 0xfe])
        ),
        String::new(),
    ];
    for h in bad {
        let e = parse_basic(&h).expect_err(&h);
        assert!(matches!(e, DecodeError::Authorization { .. }), "{h}: {e:?}");
        assert!(!e.to_string().contains("notbase64"));
    }
}

#[test]
fn basic_debug_hides_secrets() {
    let c = parse_basic(&format!("Basic {}", b64("id%21:top%20secret"))).expect("valid");
    let dbg = format!("{c:?}");
    assert!(dbg.contains("id"), "{dbg}");
    assert!(!dbg.contains("secret"), "{dbg}");
}

#[test]
fn bearer_tokens() {
    assert_eq!(
        parse_bearer("Bearer abc.DEF-123_~+/=="),
        Some("abc.DEF-123_~+/==")
    );
    assert_eq!(parse_bearer("bearer  tok "), Some("tok"));
    assert_eq!(parse_bearer("Bearer"), None);
    assert_eq!(parse_bearer("Bearer "), None);
    assert_eq!(parse_bearer("Bearer a b"), None);
    assert_eq!(parse_bearer("Bearer ==="), None);
    assert_eq!(parse_bearer("Basic abc"), None);
    assert_eq!(parse_bearer("Bearer a,b"), None);
}
