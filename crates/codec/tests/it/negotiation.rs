//! Content-Type classification and Web API's content negotiation.

use gatehouse_codec::{classify, negotiate, BodyFormat, MediaTypeError, ResponseFormat};

use ResponseFormat::{Json, Xml};

const FORM: &str = "application/x-www-form-urlencoded";

#[test]
fn negotiation_table() {
    let cases: &[(Option<&str>, Option<&str>, ResponseFormat)] = &[
        // Browser Accept: XML at 0.9 beats */* at 0.8 (text/html matches no writer).
        (
            Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            None,
            Xml,
        ),
        // */*: a tie between the writers goes to the first, JSON.
        (Some("*/*"), None, Json),
        (Some("*/*"), Some("application/xml"), Json),
        // q=0 never matches; JSON is also acceptable.
        (Some("application/xml;q=0, application/json"), None, Json),
        (Some("application/xml;q=0"), Some("application/xml"), Xml),
        (Some("application/xml;q=0"), None, Json),
        // No Accept: the request's Content-Type, then JSON.
        (None, Some("application/xml"), Xml),
        (None, Some("text/xml; charset=utf-8"), Xml),
        (None, Some(FORM), Json),
        (None, Some("application/json"), Json),
        (None, None, Json),
        // Unknown Accept falls through to the Content-Type, then JSON.
        (Some("image/png"), Some("text/xml"), Xml),
        (Some("image/png"), None, Json),
        // Form is never written: an Accept of form matches no writer.
        (Some(FORM), None, Json),
        (Some(FORM), Some("application/xml"), Xml),
        (Some(&*format!("{FORM}, application/xml;q=0.5")), None, Xml),
        // Exact beats type/* beats */* at equal q; a higher q wins over exactness.
        (Some("text/*, application/xml"), None, Xml),
        (Some("application/*, text/xml"), None, Xml),
        (Some("*/*, application/xml"), None, Xml),
        (Some("application/json;q=0.5, */*"), None, Json),
        (Some("application/json;q=0.5, text/*"), None, Json),
        (Some("application/json;q=0.5, text/xml"), None, Xml),
        (
            Some("application/xml;q=0.6, application/json;q=0.5"),
            None,
            Xml,
        ),
        (Some("text/*;q=0.4, application/json;q=0.3"), None, Json),
        // Case and parameters do not matter.
        (Some("APPLICATION/XML; charset=utf-8"), None, Xml),
        (Some("text/xml;level=1;q=0.9"), None, Xml),
        // Malformed entries are dropped; a malformed q drops its entry.
        (Some("garbage, application/xml"), None, Xml),
        (Some("application/xml;q=2, text/json"), None, Json),
        (Some(""), Some("application/xml"), Xml),
    ];
    for (accept, content_type, expected) in cases {
        assert_eq!(
            negotiate(*accept, *content_type),
            *expected,
            "Accept {accept:?}, Content-Type {content_type:?}"
        );
    }
}

#[test]
fn content_types_of_responses() {
    assert_eq!(Json.content_type(), "application/json; charset=utf-8");
    assert_eq!(Xml.content_type(), "application/xml; charset=utf-8");
}

#[test]
fn classify_request_content_types() {
    let ok = [
        ("application/json", BodyFormat::Json),
        ("text/json", BodyFormat::Json),
        ("Application/JSON; charset=utf-8", BodyFormat::Json),
        ("application/xml", BodyFormat::Xml),
        ("text/xml; charset=utf-8", BodyFormat::Xml),
        (FORM, BodyFormat::Form),
        (
            "application/x-www-form-urlencoded; charset=UTF-8",
            BodyFormat::Form,
        ),
    ];
    for (ct, format) in ok {
        assert_eq!(classify(Some(ct)), Ok(format), "{ct}");
    }
    assert_eq!(
        classify(Some("text/javascript")),
        Err(MediaTypeError::JavaScript)
    );
    assert_eq!(classify(None), Err(MediaTypeError::Missing));
    assert_eq!(classify(Some("  ")), Err(MediaTypeError::Missing));
    assert_eq!(
        classify(Some("text/plain; charset=utf-8")),
        Err(MediaTypeError::Unsupported("text/plain".into()))
    );
}

#[test]
fn media_type_messages_are_web_apis() {
    assert_eq!(
        MediaTypeError::Unsupported("text/plain".into()).to_string(),
        "The request entity's media type 'text/plain' is not supported for this resource."
    );
    assert_eq!(
        MediaTypeError::Missing.to_string(),
        "The request contains an entity body but no Content-Type header. The inferred media type 'application/octet-stream' is not supported for this resource."
    );
    assert_eq!(
        MediaTypeError::JavaScript.to_string(),
        "The request entity's media type 'text/javascript' is not supported for this resource."
    );
}
