//! Value formats at their edges, through the codec: DateTime kinds and fractions, TimeSpan in
//! `c` and xs:duration, Guid case, enums, escaping, empty and null dictionaries.

use std::collections::BTreeMap;

use gatehouse_codec::{decode, encode, BodyFormat, ResponseFormat};
use gatehouse_models::dotnet::{DateTime, TimeSpan};
use gatehouse_models::otc::ResponseStatus;
use gatehouse_models::Contract;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{opts, text};

const NS: &str = "http://schemas.datacontract.org/2004/07/Gatehouse.Tests";
const XML_HEAD: &str = "<Sample xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns=\"http://schemas.datacontract.org/2004/07/Gatehouse.Tests\">";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Sample {
    #[serde(rename = "When")]
    when: DateTime,
    #[serde(rename = "Span")]
    span: TimeSpan,
    #[serde(rename = "Id")]
    id: Uuid,
    #[serde(rename = "Status")]
    status: ResponseStatus,
    #[serde(rename = "Text")]
    text: String,
    #[serde(rename = "Map")]
    map: Option<BTreeMap<String, String>>,
}

impl Contract for Sample {
    const XML_ROOT: &'static str = "Sample";
    const XML_NAMESPACE: &'static str = NS;
}

fn sample() -> Sample {
    Sample {
        when: "2025-05-04T07:27:27.2699792Z".parse().expect("date"),
        span: TimeSpan::parse_c_format("00:00:00").expect("span"),
        id: Uuid::from_u128(0x3be9edf1_5491_4d5c_a5c6_423218dfb6cc),
        status: ResponseStatus::Ok,
        text: "plain".into(),
        map: None,
    }
}

fn json_of(s: &Sample) -> String {
    text(&encode(ResponseFormat::Json, s).expect("json")).to_owned()
}

fn xml_of(s: &Sample) -> String {
    text(&encode(ResponseFormat::Xml, s).expect("xml")).to_owned()
}

/// Both encodings, and both read back to the same value.
fn both(s: &Sample) -> (String, String) {
    let (j, x) = (json_of(s), xml_of(s));
    let back: Sample = decode(BodyFormat::Json, j.as_bytes(), &opts()).expect("read json");
    assert_eq!(&back, s, "JSON round trip of {j}");
    let back: Sample = decode(BodyFormat::Xml, x.as_bytes(), &opts()).expect("read xml");
    assert_eq!(&back, s, "XML round trip of {x}");
    (j, x)
}

fn with_field(json_member: &str) -> Sample {
    let mut v: serde_json::Value = serde_json::from_str(&json_of(&sample())).expect("json");
    let patch: serde_json::Value =
        serde_json::from_str(&format!("{{{json_member}}}")).expect("patch");
    for (k, val) in patch.as_object().expect("object") {
        v[k] = val.clone();
    }
    decode(BodyFormat::Json, v.to_string().as_bytes(), &opts()).expect("decode patched")
}

#[test]
fn whole_document_shapes() {
    let (j, x) = both(&sample());
    assert_eq!(
        j,
        r#"{"When":"2025-05-04T07:27:27.2699792Z","Span":"00:00:00","Id":"3be9edf1-5491-4d5c-a5c6-423218dfb6cc","Status":0,"Text":"plain","Map":null}"#
    );
    assert_eq!(
        x,
        format!("{XML_HEAD}<Id>3be9edf1-5491-4d5c-a5c6-423218dfb6cc</Id><Map i:nil=\"true\" /><Span>PT0S</Span><Status>Ok</Status><Text>plain</Text><When>2025-05-04T07:27:27.2699792Z</When></Sample>")
    );
}

#[test]
fn date_time_kinds_and_fractions() {
    let cases = [
        // (sent, written): UTC, local with offsets (negative, zero), unspecified.
        ("2025-05-04T07:27:27Z", "2025-05-04T07:27:27Z"),
        ("2025-05-04T07:27:27.1Z", "2025-05-04T07:27:27.1Z"),
        ("2025-05-04T07:27:27.12Z", "2025-05-04T07:27:27.12Z"),
        ("2025-05-04T07:27:27.123Z", "2025-05-04T07:27:27.123Z"),
        ("2025-05-04T07:27:27.1234Z", "2025-05-04T07:27:27.1234Z"),
        ("2025-05-04T07:27:27.12345Z", "2025-05-04T07:27:27.12345Z"),
        ("2025-05-04T07:27:27.123456Z", "2025-05-04T07:27:27.123456Z"),
        (
            "2025-05-04T07:27:27.1234567Z",
            "2025-05-04T07:27:27.1234567Z",
        ),
        ("2025-05-04T07:27:27.1000000Z", "2025-05-04T07:27:27.1Z"),
        ("2025-05-04T07:27:27.0000000Z", "2025-05-04T07:27:27Z"),
        (
            "2025-05-04T17:27:27.2699792+10:00",
            "2025-05-04T17:27:27.2699792+10:00",
        ),
        ("2025-05-04T01:27:27.5-05:30", "2025-05-04T01:27:27.5-05:30"),
        ("2025-05-04T07:27:27+00:00", "2025-05-04T07:27:27+00:00"),
        ("2025-05-04T07:27:27", "2025-05-04T07:27:27"),
        ("2025-05-04T07:27:27.0010000", "2025-05-04T07:27:27.001"),
        ("0001-01-01T00:00:00", "0001-01-01T00:00:00"),
        (
            "9999-12-31T23:59:59.9999999Z",
            "9999-12-31T23:59:59.9999999Z",
        ),
    ];
    for (sent, written) in cases {
        let s = with_field(&format!(r#""When":"{sent}""#));
        let (j, x) = both(&s);
        assert!(
            j.starts_with(&format!(r#"{{"When":"{written}""#)),
            "{sent}: {j}"
        );
        assert!(
            x.ends_with(&format!("<When>{written}</When></Sample>")),
            "{sent}: {x}"
        );
    }
}

#[test]
fn time_span_c_and_xs_duration() {
    let cases = [
        ("00:00:00", "PT0S"),
        ("-00:00:01", "-PT1S"),
        ("00:00:00.1234567", "PT0.1234567S"),
        ("00:00:01.5000000", "PT1.5S"),
        ("1.02:00:00", "P1DT2H"),
        ("1.00:00:00", "P1D"),
        ("3.04:05:06.0000007", "P3DT4H5M6.0000007S"),
        ("-2.00:00:00.1000000", "-P2DT0.1S"),
        ("10675199.02:48:05.4775807", "P10675199DT2H48M5.4775807S"),
        ("-10675199.02:48:05.4775808", "-P10675199DT2H48M5.4775808S"),
    ];
    for (c, xs) in cases {
        let s = with_field(&format!(r#""Span":"{c}""#));
        let (j, x) = both(&s);
        assert!(j.contains(&format!(r#""Span":"{c}""#)), "{c}: {j}");
        assert!(x.contains(&format!("<Span>{xs}</Span>")), "{c}: {x}");
    }
    // xs:duration forms DataContractSerializer read but never wrote.
    for (xs, c) in [
        ("P1Y", "365.00:00:00"),
        ("P1M", "30.00:00:00"),
        ("PT36H", "1.12:00:00"),
        ("PT90M", "01:30:00"),
    ] {
        let x = xml_of(&sample()).replace("<Span>PT0S</Span>", &format!("<Span>{xs}</Span>"));
        let s: Sample = decode(BodyFormat::Xml, x.as_bytes(), &opts()).expect(xs);
        assert_eq!(s.span.to_c_format(), c, "{xs}");
    }
}

#[test]
fn guid_is_written_lowercase_whatever_was_sent() {
    let s = with_field(r#""Id":"3BE9EDF1-5491-4D5C-A5C6-423218DFB6CC""#);
    let (j, x) = both(&s);
    assert!(j.contains("3be9edf1-5491-4d5c-a5c6-423218dfb6cc"), "{j}");
    assert!(
        x.contains("<Id>3be9edf1-5491-4d5c-a5c6-423218dfb6cc</Id>"),
        "{x}"
    );
    let upper = x.replace(
        "3be9edf1-5491-4d5c-a5c6-423218dfb6cc",
        "3BE9EDF1-5491-4D5C-A5C6-423218DFB6CC",
    );
    let back: Sample =
        decode(BodyFormat::Xml, upper.as_bytes(), &opts()).expect("upper-case guid in XML");
    assert_eq!(back.id, s.id);
}

#[test]
fn enum_is_an_integer_in_json_and_a_name_in_xml() {
    for status in ResponseStatus::ALL {
        let mut s = sample();
        s.status = status;
        let (j, x) = both(&s);
        assert!(
            j.contains(&format!(r#""Status":{}"#, status.value())),
            "{j}"
        );
        assert!(x.contains(&format!("<Status>{status}</Status>")), "{x}");
    }
    // Json.NET also bound the name (case-insensitive) and an integer in a string.
    assert_eq!(
        with_field(r#""Status":"invalidclient""#).status,
        ResponseStatus::InvalidClient
    );
    assert_eq!(
        with_field(r#""Status":"2""#).status,
        ResponseStatus::InvalidClient
    );
}

#[test]
fn json_escaping_is_json_nets() {
    let mut s = sample();
    s.text = "<a&b>\"\\/\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}é中😀\u{85}\u{2028}\u{2029}".into();
    let (j, _) = both(&s);
    assert!(
        j.contains(r#""Text":"<a&b>\"\\/\n\r\t\b\f\u0001\u001f"#),
        "{j}"
    );
    assert!(j.contains("\u{7f}é中😀\\u0085\\u2028\\u2029\""), "{j}");
}

#[test]
fn xml_escaping_is_data_contract_serializers() {
    let mut s = sample();
    s.text = "<a&b>\"'\\\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}é中😀\u{85}\u{2028}\u{fffe}".into();
    let (_, x) = both(&s);
    assert!(
        x.contains("<Text>&lt;a&amp;b&gt;\"'\\\n&#xD;\t&#x8;&#xC;&#x1;&#x1F;\u{7f}é中😀\u{85}\u{2028}&#xFFFE;</Text>"),
        "{x}"
    );
}

#[test]
fn empty_strings() {
    let mut s = sample();
    s.text = String::new();
    let (j, x) = both(&s);
    assert!(j.contains(r#""Text":"""#));
    assert!(x.contains("<Text></Text>"), "{x}");
    // `<Text />` reads as the empty string too.
    let short = x.replace("<Text></Text>", "<Text />");
    let back: Sample = decode(BodyFormat::Xml, short.as_bytes(), &opts()).expect("empty element");
    assert_eq!(back.text, "");
}

#[test]
fn empty_null_and_full_dictionaries() {
    let mut s = sample();
    s.map = Some(BTreeMap::new());
    let (j, x) = both(&s);
    assert!(j.ends_with(r#""Map":{}}"#), "{j}");
    assert!(
        x.contains(
            r#"<Map xmlns:d2p1="http://schemas.microsoft.com/2003/10/Serialization/Arrays" />"#
        ),
        "{x}"
    );

    s.map = None;
    let (j, x) = both(&s);
    assert!(j.ends_with(r#""Map":null}"#), "{j}");
    assert!(x.contains(r#"<Map i:nil="true" />"#), "{x}");

    s.map = Some(BTreeMap::from([
        ("k<1>".to_owned(), "v&1".to_owned()),
        ("".to_owned(), "".to_owned()),
    ]));
    let (j, x) = both(&s);
    assert!(j.ends_with(r#""Map":{"":"","k<1>":"v&1"}}"#), "{j}");
    assert!(
        x.contains(concat!(
            r#"<Map xmlns:d2p1="http://schemas.microsoft.com/2003/10/Serialization/Arrays">"#,
            "<d2p1:KeyValueOfstringstring><d2p1:Key></d2p1:Key><d2p1:Value></d2p1:Value></d2p1:KeyValueOfstringstring>",
            "<d2p1:KeyValueOfstringstring><d2p1:Key>k&lt;1&gt;</d2p1:Key><d2p1:Value>v&amp;1</d2p1:Value></d2p1:KeyValueOfstringstring>",
            "</Map>"
        )),
        "{x}"
    );
}

/// A contract without a namespace (Web API's `<Error>`) declares nothing on the root; a nil
/// member then declares `xmlns:i` itself so the document stays well-formed.
#[test]
fn contract_without_namespace() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Error {
        #[serde(rename = "Message")]
        message: Option<String>,
    }
    impl Contract for Error {
        const XML_ROOT: &'static str = "Error";
        const XML_NAMESPACE: &'static str = "";
    }
    let e = Error {
        message: Some("The request is invalid.".into()),
    };
    let x = encode(ResponseFormat::Xml, &e).expect("xml");
    assert_eq!(
        text(&x),
        "<Error><Message>The request is invalid.</Message></Error>"
    );
    assert_eq!(
        decode::<Error>(BodyFormat::Xml, &x, &opts()).expect("read"),
        e
    );
    let e = Error { message: None };
    let x = encode(ResponseFormat::Xml, &e).expect("xml");
    assert_eq!(
        text(&x),
        r#"<Error><Message i:nil="true" xmlns:i="http://www.w3.org/2001/XMLSchema-instance" /></Error>"#
    );
    assert_eq!(
        decode::<Error>(BodyFormat::Xml, &x, &opts()).expect("read"),
        e
    );
}

#[test]
fn models_http_error_xml_has_no_model_state() {
    use gatehouse_models::http_error::HttpError;
    let e = HttpError::invalid_model("request.MemberId", "The MemberId field is required.");
    let j = encode(ResponseFormat::Json, &e).expect("json");
    assert_eq!(
        text(&j),
        r#"{"Message":"The request is invalid.","ModelState":{"request.MemberId":["The MemberId field is required."]}}"#
    );
    let x = encode(ResponseFormat::Xml, &e).expect("xml");
    assert_eq!(
        text(&x),
        "<Error><Message>The request is invalid.</Message></Error>"
    );
}

/// Members sort ordinally (uppercase before lowercase), whatever the declaration order;
/// nested structs sort too; an empty struct is `<X />`.
#[test]
fn ordinal_member_order_and_nesting() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Inner {
        z: i32,
        #[serde(rename = "Z")]
        big_z: i32,
    }
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Empty {}
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Outer {
        #[serde(rename = "id_Member")]
        id_member: i32,
        #[serde(rename = "UserName")]
        user_name: String,
        #[serde(rename = "DFVisible")]
        df: bool,
        #[serde(rename = "Inner")]
        inner: Inner,
        #[serde(rename = "E")]
        empty: Empty,
    }
    impl Contract for Outer {
        const XML_ROOT: &'static str = "Outer";
        const XML_NAMESPACE: &'static str = NS;
    }
    let v = Outer {
        id_member: 7,
        user_name: "u".into(),
        df: false,
        inner: Inner { z: 1, big_z: 2 },
        empty: Empty {},
    };
    let x = encode(ResponseFormat::Xml, &v).expect("xml");
    assert!(
        text(&x).ends_with("<DFVisible>false</DFVisible><E /><Inner><Z>2</Z><z>1</z></Inner><UserName>u</UserName><id_Member>7</id_Member></Outer>"),
        "{}",
        text(&x)
    );
    assert_eq!(
        decode::<Outer>(BodyFormat::Xml, &x, &opts()).expect("read"),
        v
    );
}

/// More members than the writer keeps inline (16), declared in reverse order.
#[test]
fn many_members_sort_too() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Wide {
        r: u8,
        q: u8,
        p: u8,
        o: u8,
        n: u8,
        m: u8,
        l: u8,
        k: u8,
        j: u8,
        i: u8,
        h: u8,
        g: u8,
        f: u8,
        e: u8,
        d: u8,
        c: u8,
        b: u8,
        a: u8,
    }
    impl Contract for Wide {
        const XML_ROOT: &'static str = "Wide";
        const XML_NAMESPACE: &'static str = NS;
        const JSON_CAMEL_CASE: bool = true;
    }
    let v = Wide {
        r: 18,
        q: 17,
        p: 16,
        o: 15,
        n: 14,
        m: 13,
        l: 12,
        k: 11,
        j: 10,
        i: 9,
        h: 8,
        g: 7,
        f: 6,
        e: 5,
        d: 4,
        c: 3,
        b: 2,
        a: 1,
    };
    let x = encode(ResponseFormat::Xml, &v).expect("xml");
    let body: String = (b'A'..=b'R')
        .map(|c| format!("<{0}>{1}</{0}>", c as char, c - b'A' + 1))
        .collect();
    assert!(
        text(&x).ends_with(&format!("{body}</Wide>")),
        "{}",
        text(&x)
    );
    assert_eq!(
        decode::<Wide>(BodyFormat::Xml, &x, &opts()).expect("read"),
        v
    );
}

/// The same member names sort differently with and without camel-casing (the writer caches
/// orders per name sequence, so the flag must be part of the key).
#[test]
fn camel_flag_changes_the_order_of_the_same_names() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Plain {
        a: u8,
        #[serde(rename = "B")]
        b: u8,
    }
    impl Contract for Plain {
        const XML_ROOT: &'static str = "X";
        const XML_NAMESPACE: &'static str = "";
    }
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Camel {
        a: u8,
        #[serde(rename = "B")]
        b: u8,
    }
    impl Contract for Camel {
        const XML_ROOT: &'static str = "X";
        const XML_NAMESPACE: &'static str = "";
        const JSON_CAMEL_CASE: bool = true;
    }
    for _ in 0..2 {
        let p = encode(ResponseFormat::Xml, &Plain { a: 1, b: 2 }).expect("plain");
        assert_eq!(text(&p), "<X><B>2</B><a>1</a></X>");
        let c = encode(ResponseFormat::Xml, &Camel { a: 1, b: 2 }).expect("camel");
        assert_eq!(text(&c), "<X><A>1</A><B>2</B></X>");
        assert_eq!(
            decode::<Camel>(BodyFormat::Xml, &c, &opts()).expect("read"),
            Camel { a: 1, b: 2 }
        );
    }
}
