//! Hostile bodies: each one is a typed error, never a panic or a stack overflow.

use gatehouse_codec::{decode, decode_json, BodyFormat, DecodeError, DecodeOptions};
use gatehouse_models::{member, onetime, otc};

use crate::opts;

const MEMBER_NS: &str = "http://schemas.datacontract.org/2004/07/AuEAuth_WebAPI.Models";

fn member_req(format: BodyFormat, body: &[u8]) -> DecodeError {
    decode::<member::AuthMemberModel>(format, body, &opts()).expect_err("hostile body must fail")
}

#[test]
fn empty_bodies() {
    for format in [BodyFormat::Json, BodyFormat::Xml, BodyFormat::Form] {
        for body in [&b""[..], b"   \r\n"] {
            assert_eq!(
                member_req(format, body),
                DecodeError::EmptyBody,
                "{format:?}"
            );
        }
    }
    assert_eq!(
        DecodeError::EmptyBody.to_string(),
        "the request body is empty"
    );
}

#[test]
fn invalid_utf8() {
    assert_eq!(
        member_req(BodyFormat::Json, b"{\"MemberId\":\"\xff\"}"),
        DecodeError::InvalidUtf8
    );
    let x = format!(
        "<AuthMemberModel xmlns=\"{MEMBER_NS}\"><MemberId>\u{0}</MemberId></AuthMemberModel>"
    )
    .into_bytes();
    let x: Vec<u8> = x
        .into_iter()
        .map(|b| if b == 0 { 0xC3 } else { b })
        .collect();
    assert_eq!(member_req(BodyFormat::Xml, &x), DecodeError::InvalidUtf8);
    assert_eq!(
        member_req(BodyFormat::Form, b"MemberId=\xc3\x28"),
        DecodeError::InvalidUtf8
    );
    // Percent-escaped invalid UTF-8 in a form value.
    assert!(matches!(
        member_req(BodyFormat::Form, b"MemberId=%C3%28"),
        DecodeError::InvalidValue { .. }
    ));
}

#[test]
fn truncated_documents() {
    let json = br#"{"MemberId":"1234","Password":"pw"}"#;
    for n in 1..json.len() {
        let e = member_req(BodyFormat::Json, &json[..n]);
        assert!(
            matches!(e, DecodeError::Malformed { .. } | DecodeError::EmptyBody),
            "{n}: {e:?}"
        );
    }
    let xml = format!("<AuthMemberModel xmlns=\"{MEMBER_NS}\"><MemberId>1234</MemberId><Password>pw</Password></AuthMemberModel>");
    for n in 1..xml.len() {
        let e = member_req(BodyFormat::Xml, &xml.as_bytes()[..n]);
        assert!(
            matches!(
                e,
                DecodeError::Malformed { .. }
                    | DecodeError::WrongRoot { .. }
                    | DecodeError::EmptyBody
            ),
            "{n}: {e:?}"
        );
    }
}

#[test]
fn wrong_root_and_namespace() {
    let e = member_req(
        BodyFormat::Xml,
        format!("<TokenModel xmlns=\"{MEMBER_NS}\"/>").as_bytes(),
    );
    assert!(matches!(e, DecodeError::WrongRoot { .. }), "{e:?}");
    // The name sent is not echoed (it could be anything the caller typed).
    assert_eq!(e.to_string(), "the root element is not 'AuthMemberModel'");
    let e = member_req(
        BodyFormat::Xml,
        b"<AuthMemberModel xmlns=\"http://schemas.datacontract.org/2004/07/Evil\"/>",
    );
    assert!(matches!(e, DecodeError::WrongNamespace { .. }), "{e:?}");
    let e = member_req(BodyFormat::Xml, b"<m:AuthMemberModel xmlns:m=\"urn:x\"/>");
    assert!(matches!(e, DecodeError::WrongNamespace { .. }), "{e:?}");
    let e = member_req(BodyFormat::Xml, b"<x:AuthMemberModel/>");
    assert!(
        matches!(e, DecodeError::Malformed { .. }),
        "undeclared prefix: {e:?}"
    );
}

#[test]
fn repeated_members() {
    let e = member_req(
        BodyFormat::Xml,
        format!("<AuthMemberModel xmlns=\"{MEMBER_NS}\"><Password>a</Password><Password>b</Password></AuthMemberModel>").as_bytes(),
    );
    assert_eq!(
        e,
        DecodeError::Repeated {
            field: "Password".into()
        }
    );
    let e = member_req(BodyFormat::Json, br#"{"Password":"a","password":"b"}"#);
    assert!(matches!(e, DecodeError::Repeated { .. }), "{e:?}");
    let e = member_req(BodyFormat::Form, b"Password=a&Password=b");
    assert!(matches!(e, DecodeError::Repeated { .. }), "{e:?}");
}

#[test]
fn doctype_entities_and_processing_instructions() {
    let billion_laughs = format!(
        r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<AuthMemberModel xmlns="{MEMBER_NS}"><MemberId>&lol9;</MemberId></AuthMemberModel>"#
    );
    let e = member_req(BodyFormat::Xml, billion_laughs.as_bytes());
    assert_eq!(
        e,
        DecodeError::Forbidden {
            what: "a DOCTYPE declaration"
        }
    );

    let xxe = format!(
        r#"<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><AuthMemberModel xmlns="{MEMBER_NS}"><MemberId>&x;</MemberId></AuthMemberModel>"#
    );
    assert!(matches!(
        member_req(BodyFormat::Xml, xxe.as_bytes()),
        DecodeError::Forbidden { .. }
    ));

    // An entity reference without any declaration.
    let undeclared = format!(
        r#"<AuthMemberModel xmlns="{MEMBER_NS}"><MemberId>&lol;</MemberId></AuthMemberModel>"#
    );
    assert!(matches!(
        member_req(BodyFormat::Xml, undeclared.as_bytes()),
        DecodeError::Forbidden { .. }
    ));

    for pi in [
        format!(r#"<?xml-stylesheet href="x"?><AuthMemberModel xmlns="{MEMBER_NS}"/>"#),
        format!(r#"<AuthMemberModel xmlns="{MEMBER_NS}"><?php evil() ?></AuthMemberModel>"#),
    ] {
        let e = member_req(BodyFormat::Xml, pi.as_bytes());
        assert_eq!(
            e,
            DecodeError::Forbidden {
                what: "a processing instruction"
            },
            "{pi}"
        );
    }
    let late_decl =
        format!(r#"<AuthMemberModel xmlns="{MEMBER_NS}"><?xml version="1.0"?></AuthMemberModel>"#);
    assert!(matches!(
        member_req(BodyFormat::Xml, late_decl.as_bytes()),
        DecodeError::Malformed { .. }
    ));
}

#[test]
fn ten_thousand_deep_nesting() {
    let n = 10_000;
    // JSON: as the body, and inside an unknown member.
    let body = format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert!(matches!(
        member_req(BodyFormat::Json, body.as_bytes()),
        DecodeError::TooDeep { .. }
    ));
    let body = format!(
        r#"{{"MemberId":"1","x":{}1{}}}"#,
        r#"{"a":"#.repeat(n),
        "}".repeat(n)
    );
    assert!(matches!(
        member_req(BodyFormat::Json, body.as_bytes()),
        DecodeError::TooDeep { .. }
    ));
    // Deeper than our limit but within serde_json's 128.
    let body = format!(r#"{{"x":{}1{}}}"#, "[".repeat(100), "]".repeat(100));
    assert_eq!(
        member_req(BodyFormat::Json, body.as_bytes()),
        DecodeError::TooDeep { max: 64 }
    );
    // XML.
    let body = format!(
        r#"<AuthMemberModel xmlns="{MEMBER_NS}">{}{}</AuthMemberModel>"#,
        "<a>".repeat(n),
        "</a>".repeat(n)
    );
    assert_eq!(
        member_req(BodyFormat::Xml, body.as_bytes()),
        DecodeError::TooDeep { max: 64 }
    );
    // Unclosed, too.
    let body = format!(
        r#"<AuthMemberModel xmlns="{MEMBER_NS}">{}"#,
        "<a>".repeat(n)
    );
    assert_eq!(
        member_req(BodyFormat::Xml, body.as_bytes()),
        DecodeError::TooDeep { max: 64 }
    );
    // Form keys.
    let body = format!("MemberId{}=1", "[a]".repeat(n));
    assert_eq!(
        member_req(BodyFormat::Form, body.as_bytes()),
        DecodeError::TooDeep { max: 64 }
    );
    // A custom limit applies.
    let tight = DecodeOptions {
        max_depth: 2,
        ..DecodeOptions::default()
    };
    let e = decode::<otc::AuthCodeResponse>(
        BodyFormat::Json,
        br#"{"Header":{"Message":"","StatusCode":0,"Status":"Ok","ErrorId":null,"x":[]},"Body":null}"#,
        &tight,
    )
    .expect_err("depth 3");
    assert_eq!(e, DecodeError::TooDeep { max: 2 });
}

#[test]
fn one_mebibyte_string() {
    let big = "a".repeat(1 << 20);
    let e = member_req(
        BodyFormat::Json,
        format!(r#"{{"MemberId":"{big}"}}"#).as_bytes(),
    );
    assert_eq!(
        e,
        DecodeError::TooLong {
            field: "MemberId".into(),
            max: 64 * 1024
        }
    );
    assert_eq!(
        e.to_string(),
        "field 'MemberId': the value is longer than 65536 bytes"
    );
    // In an unknown member too.
    let e = member_req(
        BodyFormat::Json,
        format!(r#"{{"Junk":"{big}"}}"#).as_bytes(),
    );
    assert!(matches!(e, DecodeError::TooLong { .. }), "{e:?}");
    let e = member_req(
        BodyFormat::Xml,
        format!(
            r#"<AuthMemberModel xmlns="{MEMBER_NS}"><MemberId>{big}</MemberId></AuthMemberModel>"#
        )
        .as_bytes(),
    );
    assert_eq!(
        e,
        DecodeError::TooLong {
            field: "MemberId".into(),
            max: 64 * 1024
        }
    );
    let e = member_req(BodyFormat::Form, format!("MemberId={big}").as_bytes());
    assert_eq!(
        e,
        DecodeError::TooLong {
            field: "MemberId".into(),
            max: 64 * 1024
        }
    );
    // Many small references adding up.
    let e = member_req(
        BodyFormat::Xml,
        format!(
            r#"<AuthMemberModel xmlns="{MEMBER_NS}"><MemberId>{}</MemberId></AuthMemberModel>"#,
            "&amp;".repeat(70_000)
        )
        .as_bytes(),
    );
    assert!(matches!(e, DecodeError::TooLong { .. }), "{e:?}");
    // JSON object keys.
    let e = decode_json::<serde_json::Value>(format!(r#"{{"{big}":1}}"#).as_bytes(), &opts())
        .expect_err("key");
    assert!(matches!(e, DecodeError::TooLong { .. }), "{e:?}");
}

#[test]
fn malformed_documents() {
    // Json.NET read a trailing comma, single quotes, comments and trailing text (issue 11):
    // they bind; what it could not read stays malformed.
    for body in [
        &b"{\"MemberId\":\"1\",}"[..],
        b"{'MemberId':'1'}",
        b"{\"MemberId\":\"1\"} trailing",
        b"/* c */ {MemberId: '1'}",
    ] {
        let m: member::AuthMemberModel = decode(BodyFormat::Json, body, &opts()).expect("lenient");
        assert_eq!(m.member_id.as_deref(), Some("1"));
    }
    for body in [
        &b"nul"[..],
        b"{\"MemberId\" \"1\"}",
        b"{\"MemberId\":}",
        b"{,}",
    ] {
        assert!(matches!(
            member_req(BodyFormat::Json, body),
            DecodeError::Malformed { .. }
        ));
    }
    for body in [
        format!("<AuthMemberModel xmlns=\"{MEMBER_NS}\"><MemberId>1</Password></AuthMemberModel>"),
        format!("<AuthMemberModel xmlns=\"{MEMBER_NS}\"></AuthMemberModel><again/>"),
        format!("<AuthMemberModel xmlns=\"{MEMBER_NS}\"></AuthMemberModel>text"),
        "text<AuthMemberModel/>".to_owned(),
        format!("<AuthMemberModel xmlns=\"{MEMBER_NS}\"><MemberId a=1>x</MemberId></AuthMemberModel>"),
        format!("<AuthMemberModel xmlns=\"{MEMBER_NS}\"><MemberId>&#xD800;</MemberId></AuthMemberModel>"),
        format!("<AuthMemberModel xmlns=\"{MEMBER_NS}\"><MemberId>& </MemberId></AuthMemberModel>"),
    ] {
        let e = member_req(BodyFormat::Xml, body.as_bytes());
        assert!(matches!(e, DecodeError::Malformed { .. }), "{body}: {e:?}");
    }
}

#[test]
fn dictionaries_of_the_wrong_shape() {
    let ns = "http://schemas.datacontract.org/2004/07/App.Auth.Models";
    let e = decode::<onetime::OneTimeTokenRequest>(
        BodyFormat::Xml,
        format!(r#"<OneTimeTokenRequest xmlns="{ns}"><ClientId><x>nested</x></ClientId></OneTimeTokenRequest>"#).as_bytes(),
        &opts(),
    )
    .expect_err("element where text belongs");
    assert_eq!(e.field(), Some("clientId"));
    let e =
        decode::<onetime::OneTimeTokenRequest>(BodyFormat::Json, br#"{"payload":["a"]}"#, &opts())
            .expect_err("array");
    assert_eq!(e.field(), Some("payload"));
}

/// Issue 9 item 11: attributes and namespace declarations cost work proportional to the body,
/// whatever their shape. Measured as namespace-resolution work (names compared against the
/// bindings in scope), not time.
#[test]
fn xml_attribute_and_namespace_work_is_linear_at_the_body_limit() {
    use gatehouse_codec::xml_limits::{
        resolution_work, MAX_ATTRIBUTES_PER_ELEMENT, MAX_NAMESPACES_IN_SCOPE,
        MAX_NAMESPACES_PER_ELEMENT,
    };
    const LIMIT: usize = 64 * 1024;
    let fill = |head: &str, unit: &dyn Fn(usize) -> String, tail: &str| {
        let mut s = head.to_owned();
        let mut i = 0;
        while s.len() + tail.len() + unit(i).len() < LIMIT {
            s.push_str(&unit(i));
            i += 1;
        }
        s.push_str(tail);
        s
    };
    // The shapes that were quadratic: one element with thousands of declarations or
    // attributes. Refused as soon as the bound is passed, after constant work.
    let decls = fill(
        &format!("<AuthMemberModel xmlns=\"{MEMBER_NS}\""),
        &|i| format!(" xmlns:p{i}=\"urn:{i}\""),
        "/>",
    );
    let attrs = fill(
        &format!("<AuthMemberModel xmlns=\"{MEMBER_NS}\""),
        &|i| format!(" a{i}=\"\""),
        "/>",
    );
    for body in [&decls, &attrs] {
        assert!(body.len() > LIMIT - 64);
        let (work, r) = resolution_work::<member::AuthMemberModel>(body.as_bytes(), &opts());
        assert!(matches!(r, Err(DecodeError::Forbidden { .. })), "{r:?}");
        assert!(
            work <= MAX_ATTRIBUTES_PER_ELEMENT * MAX_NAMESPACES_IN_SCOPE,
            "{work}"
        );
    }
    // The worst accepted shape: every element as wide as allowed, the scope as full as
    // allowed (declarations nested 4 deep), siblings filling the body limit.
    let wide = |i: usize| {
        let ns: String = (0..MAX_NAMESPACES_PER_ELEMENT)
            .map(|k| format!(" xmlns:q{k}=\"urn:{i}:{k}\""))
            .collect();
        let plain: String = (0..MAX_ATTRIBUTES_PER_ELEMENT - MAX_NAMESPACES_PER_ELEMENT)
            .map(|k| format!(" q{}:b{k}=\"\"", k % MAX_NAMESPACES_PER_ELEMENT))
            .collect();
        format!("<u{i}{ns}{plain}/>")
    };
    // The root declares one, each sibling 8: the rest of the scope goes to the wrappers.
    let depth =
        (MAX_NAMESPACES_IN_SCOPE - 1 - MAX_NAMESPACES_PER_ELEMENT) / MAX_NAMESPACES_PER_ELEMENT;
    let open: String = (0..depth)
        .map(|d| {
            let ns: String = (0..MAX_NAMESPACES_PER_ELEMENT)
                .map(|k| format!(" xmlns:d{d}x{k}=\"urn:d{d}:{k}\""))
                .collect();
            format!("<w{d}{ns}>")
        })
        .collect();
    let close: String = (0..depth).rev().map(|d| format!("</w{d}>")).collect();
    let head = format!("<AuthMemberModel xmlns=\"{MEMBER_NS}\"><MemberId>1</MemberId>{open}");
    let tail = format!("{close}</AuthMemberModel>");
    let half = |limit: usize| {
        let mut s = head.clone();
        let mut i = 0;
        while s.len() + tail.len() + wide(i).len() < limit {
            s.push_str(&wide(i));
            i += 1;
        }
        s.push_str(&tail);
        s
    };
    let full = half(LIMIT);
    let small = half(LIMIT / 2);
    let (w_full, r) = resolution_work::<member::AuthMemberModel>(full.as_bytes(), &opts());
    r.expect("the widest accepted shape decodes");
    let (w_small, r) = resolution_work::<member::AuthMemberModel>(small.as_bytes(), &opts());
    r.expect("half of it too");
    // Linear: at most (bindings in scope + 1) comparisons per name, a name per few bytes;
    // twice the body is about twice the work, not four times.
    assert!(
        w_full <= (MAX_NAMESPACES_IN_SCOPE + 1) * full.len() / 4,
        "{w_full} for {}",
        full.len()
    );
    eprintln!(
        "xml resolution work: {w_small} for {} bytes, {w_full} for {} bytes",
        small.len(),
        full.len()
    );
    let ratio = w_full as f64 / w_small as f64;
    assert!(
        (1.8..2.3).contains(&ratio),
        "{w_small} -> {w_full}: {ratio}"
    );
    // And it binds: the unknown wide elements are skipped.
    let m: member::AuthMemberModel =
        decode(BodyFormat::Xml, full.as_bytes(), &opts()).expect("binds");
    assert_eq!(m.member_id.as_deref(), Some("1"));
}
