//! Web API's `HttpError` as its formatters wrote it: JSON through the dialect's contract
//! resolver (the onetime service's camelCase resolver renamed `Message`/`ModelState` too), XML
//! through `HttpError`'s own `IXmlSerializable`: `<Error><Message>…</Message><ModelState>
//! <request.ClientId>first second</request.ClientId></ModelState></Error>`, a key's messages
//! joined with a space, keys made XML names with `XmlConvert.EncodeLocalName`.

use gatehouse_models::http_error::HttpError;
use serde::ser::{SerializeMap, Serializer as _};

use crate::error::EncodeError;
use crate::media::ResponseFormat;
use crate::xml::ser::escape_text;

/// Write `e` in `format`; `camel`: the dialect's JSON used Json.NET's
/// `CamelCasePropertyNamesContractResolver` (onetime), which applies to `HttpError` and to
/// its dictionary keys.
///
/// # Errors
/// [`EncodeError`] when a member cannot be written in `format` (a `ModelState` entry the
/// media type cannot express); the legacy bodies always can.
pub fn encode_http_error(
    format: ResponseFormat,
    e: &HttpError,
    camel: bool,
) -> Result<Vec<u8>, EncodeError> {
    match format {
        ResponseFormat::Json => json(e, camel),
        ResponseFormat::Xml => Ok(xml(e)),
    }
}

/// Json.NET's `ToCamelCase`: the leading run of upper-case letters is lowered (all of it but
/// the last when a lower-case letter follows).
fn camel_case(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if !chars.first().is_some_and(|c| c.is_uppercase()) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    for (i, c) in chars.iter().enumerate() {
        let next_lower = chars.get(i + 1).is_some_and(|n| !n.is_uppercase());
        if i > 0 && next_lower || !c.is_uppercase() {
            out.extend(chars[i..].iter());
            return out;
        }
        out.extend(c.to_lowercase());
    }
    out
}

fn json(e: &HttpError, camel: bool) -> Result<Vec<u8>, EncodeError> {
    let name = |n: &str| if camel { camel_case(n) } else { n.to_owned() };
    let mut out = Vec::with_capacity(128);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, crate::JsonNetFormatter);
    let err = |x: serde_json::Error| EncodeError::Custom(x.to_string());
    let mut map = ser.serialize_map(None).map_err(err)?;
    map.serialize_entry(&name("Message"), &e.message)
        .map_err(err)?;
    if let Some(ms) = &e.model_state {
        let keyed: Vec<(String, &Vec<String>)> = ms.iter().map(|(k, v)| (name(k), v)).collect();
        map.serialize_entry(&name("ModelState"), &OrderedMap(&keyed))
            .map_err(err)?;
    }
    map.end().map_err(err)?;
    Ok(out)
}

struct OrderedMap<'a>(&'a [(String, &'a Vec<String>)]);

impl serde::Serialize for OrderedMap<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

fn xml(e: &HttpError) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(b"<Error><Message>");
    escape_text(&mut out, &e.message);
    out.extend_from_slice(b"</Message>");
    if let Some(ms) = &e.model_state {
        out.extend_from_slice(b"<ModelState>");
        for (key, messages) in ms.iter() {
            let name = encode_local_name(key);
            out.push(b'<');
            out.extend_from_slice(name.as_bytes());
            out.push(b'>');
            escape_text(&mut out, &messages.join(" "));
            out.extend_from_slice(b"</");
            out.extend_from_slice(name.as_bytes());
            out.push(b'>');
        }
        out.extend_from_slice(b"</ModelState>");
    }
    out.extend_from_slice(b"</Error>");
    out
}

/// `XmlConvert.EncodeLocalName`: characters that cannot appear in an XML local name become
/// `_xHHHH_` (and an `_x` that looks like such an escape has its `_` escaped).
pub fn encode_local_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let start_ok = c.is_alphabetic() || c == '_';
        let ok = if i == 0 {
            start_ok
        } else {
            start_ok || c.is_numeric() || matches!(c, '-' | '.' | '\u{B7}')
        };
        let looks_escaped = c == '_'
            && chars.get(i + 1) == Some(&'x')
            && chars.len() > i + 6
            && chars[i + 2..i + 6].iter().all(char::is_ascii_hexdigit)
            && chars[i + 6] == '_';
        if ok && !looks_escaped {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                out.push_str(&format!("_x{unit:04X}_"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_as_web_api_wrote_them() {
        let mut e = HttpError::new("The request is invalid.");
        e.add_model_error("request.ClientId", "The ClientId field is required.");
        e.add_model_error("request.ClientId", "Second.");
        assert_eq!(
            encode_http_error(ResponseFormat::Xml, &e, false).unwrap(),
            b"<Error><Message>The request is invalid.</Message><ModelState><request.ClientId>The ClientId field is required. Second.</request.ClientId></ModelState></Error>"
        );
        assert_eq!(
            encode_http_error(ResponseFormat::Json, &e, true).unwrap(),
            br#"{"message":"The request is invalid.","modelState":{"request.ClientId":["The ClientId field is required.","Second."]}}"#
        );
        assert_eq!(
            encode_http_error(ResponseFormat::Json, &HttpError::new("x<"), false).unwrap(),
            br#"{"Message":"x<"}"#
        );
    }

    #[test]
    fn names() {
        assert_eq!(camel_case("Message"), "message");
        assert_eq!(camel_case("ModelState"), "modelState");
        assert_eq!(camel_case("URLValue"), "urlValue");
        assert_eq!(camel_case("request.X"), "request.X");
        assert_eq!(encode_local_name("request.a b"), "request.a_x0020_b");
        assert_eq!(encode_local_name("request[0]"), "request_x005B_0_x005D_");
        assert_eq!(encode_local_name("1a"), "_x0031_a");
    }
}
