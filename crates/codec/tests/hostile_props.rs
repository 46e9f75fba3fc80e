//! Property tests of every decode path the server exposes (the same paths as the cargo-fuzz
//! targets in `fuzz/`): arbitrary and hostile bodies into every dialect's request type in
//! every media type, content negotiation and `Authorization` parsing. A decode may fail with
//! a typed error; it must never panic, and the hostile shapes must be refused.

use gatehouse_codec::{
    classify, decode, decode_form, decode_json, negotiate, parse_basic, parse_bearer, BodyFormat,
    DecodeOptions, ResponseFormat,
};
use gatehouse_models::oauth::{IntrospectionRequest, RevocationRequest};
use gatehouse_models::{katana, member, onetime, otc, v1};
use proptest::prelude::*;

const FORMATS: [BodyFormat; 3] = [BodyFormat::Json, BodyFormat::Xml, BodyFormat::Form];

/// Decodes `body` into every request type; returns how many accepted it.
fn decode_all(format: BodyFormat, body: &[u8], opts: &DecodeOptions) -> usize {
    let mut ok = 0;
    ok += usize::from(decode::<onetime::OneTimeTokenRequest>(format, body, opts).is_ok());
    ok += usize::from(decode::<onetime::OneTimeAuthorizeRequest>(format, body, opts).is_ok());
    ok += usize::from(decode::<otc::AuthCodeRequest>(format, body, opts).is_ok());
    ok += usize::from(decode::<otc::TokenRequest>(format, body, opts).is_ok());
    ok += usize::from(decode::<member::AuthMemberModel>(format, body, opts).is_ok());
    ok += usize::from(decode::<v1::TokenRequest>(format, body, opts).is_ok());
    ok += usize::from(decode::<katana::OAuthRequest>(format, body, opts).is_ok());
    match format {
        BodyFormat::Form => {
            ok += usize::from(decode_form::<IntrospectionRequest>(body, opts).is_ok());
            ok += usize::from(decode_form::<RevocationRequest>(body, opts).is_ok());
        }
        _ => {
            ok += usize::from(decode_json::<IntrospectionRequest>(body, opts).is_ok());
            ok += usize::from(decode_json::<RevocationRequest>(body, opts).is_ok());
        }
    }
    ok
}

fn opts(join: bool) -> DecodeOptions {
    DecodeOptions {
        join_repeated_form_keys: join,
        ..DecodeOptions::default()
    }
}

/// Bodies built from the syntax of the three media types, so the readers get past the first
/// byte: fragments of JSON, XML and form glued in random order.
fn syntax_soup() -> impl Strategy<Value = Vec<u8>> {
    let atoms = prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        "\"",
        ":",
        ",",
        "null",
        "true",
        "1e999",
        "-0",
        "\"\\u0000\"",
        "\"\\ud800\"",
        "<",
        ">",
        "</",
        "/>",
        "<?",
        "?>",
        "<!",
        "<!DOCTYPE",
        "<!ENTITY",
        "&",
        "&amp;",
        "&#0;",
        "&#x110000;",
        "&lol;",
        "i:nil=\"true\"",
        "xmlns=\"\"",
        "xmlns:i=",
        "<UserName>",
        "</UserName>",
        "<Payload>",
        "<a:KeyValueOfstringstring>",
        "<a:Key>",
        "=",
        "&",
        "%",
        "%zz",
        "%FF",
        "+",
        "[",
        "][",
        "].",
        "[0]",
        "[Key]",
        "[Value]",
        "Payload",
        "payload",
        "grant_type",
        "userName",
        "clientId",
        "ClientId",
        "Code",
        "code",
        "MemberId",
        "\u{feff}",
        "\u{0}",
        "é",
        "\u{10ffff}",
        " ",
        "\r\n",
        "\t",
    ]);
    prop::collection::vec(atoms, 0..64).prop_map(|v| v.concat().into_bytes())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512), join in any::<bool>()) {
        for format in FORMATS {
            let _ = decode_all(format, &body, &opts(join));
        }
    }

    #[test]
    fn syntax_soup_never_panics(body in syntax_soup(), join in any::<bool>()) {
        for format in FORMATS {
            let _ = decode_all(format, &body, &opts(join));
        }
    }

    #[test]
    fn deep_json_is_refused(depth in 129usize..6000, open in prop::sample::select(vec!["[", "{\"a\":"])) {
        let body = format!("{}1", open.repeat(depth));
        prop_assert_eq!(decode_all(BodyFormat::Json, body.as_bytes(), &opts(false)), 0);
    }

    #[test]
    fn deep_xml_is_refused(depth in 65usize..6000, closed in any::<bool>()) {
        let mut body = format!(
            "<OAuthRequest xmlns=\"http://schemas.datacontract.org/2004/07/Yindo.DAL.Types\">{}",
            "<a>".repeat(depth)
        );
        if closed {
            body.push_str(&"</a>".repeat(depth));
            body.push_str("</OAuthRequest>");
        }
        prop_assert!(decode::<katana::OAuthRequest>(BodyFormat::Xml, body.as_bytes(), &opts(false)).is_err());
    }

    #[test]
    fn deep_form_keys_are_refused(depth in 65usize..3000) {
        let body = format!("clientId=c&payload{}=v", "[a]".repeat(depth));
        prop_assert!(decode::<onetime::OneTimeTokenRequest>(BodyFormat::Form, body.as_bytes(), &opts(false)).is_err());
    }

    #[test]
    fn any_doctype_is_refused(internal in "[a-zA-Z0-9 %;&\"<>!]{0,40}", before in any::<bool>()) {
        let root = "<AuthMemberModel xmlns=\"http://schemas.datacontract.org/2004/07/AuEAuth_WebAPI.Models\"><MemberId>1</MemberId></AuthMemberModel>";
        let doctype = format!("<!DOCTYPE AuthMemberModel [{internal}]>");
        let body = if before { format!("{doctype}{root}") } else { format!("<?xml version=\"1.0\"?>{doctype}{root}") };
        prop_assert!(decode::<member::AuthMemberModel>(BodyFormat::Xml, body.as_bytes(), &opts(false)).is_err());
    }

    #[test]
    fn oversized_strings_are_refused(extra in 1usize..2048) {
        let o = DecodeOptions { max_string_len: 1024, ..DecodeOptions::default() };
        let long = "x".repeat(1024 + extra);
        let json = format!("{{\"grant_type\":\"password\",\"userName\":\"{long}\"}}");
        prop_assert!(decode::<katana::OAuthRequest>(BodyFormat::Json, json.as_bytes(), &o).is_err());
        let form = format!("grant_type=password&userName={long}");
        prop_assert!(decode::<katana::OAuthRequest>(BodyFormat::Form, form.as_bytes(), &o).is_err());
        let xml = format!("<OAuthRequest xmlns=\"http://schemas.datacontract.org/2004/07/Yindo.DAL.Types\"><UserName>{long}</UserName></OAuthRequest>");
        prop_assert!(decode::<katana::OAuthRequest>(BodyFormat::Xml, xml.as_bytes(), &o).is_err());
    }

    #[test]
    fn negotiation_always_picks_json_or_xml(accept in proptest::option::of("[ -~]{0,80}"), content_type in proptest::option::of("[ -~]{0,80}")) {
        let f = negotiate(accept.as_deref(), content_type.as_deref());
        prop_assert!(matches!(f, ResponseFormat::Json | ResponseFormat::Xml));
        let _ = classify(content_type.as_deref());
    }

    #[test]
    fn basic_headers_never_panic(header in "[ -~]{0,120}") {
        let _ = parse_basic(&header);
        let _ = parse_bearer(&header);
    }

    #[test]
    fn basic_round_trips_and_hides_the_secret(id in "[a-zA-Z0-9._~-]{1,30}", secret in "#[ -~]{8,40}") {
        use base64::Engine as _;
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
        );
        let creds = parse_basic(&header).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&creds.raw.id, &id);
        prop_assert_eq!(&creds.raw.secret, &secret);
        let debug = format!("{creds:?}");
        prop_assert!(!debug.contains(&secret), "secret in Debug: {}", debug);
    }
}
