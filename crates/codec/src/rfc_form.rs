//! The standards endpoints' `application/x-www-form-urlencoded` (RFC 6749 appendix B):
//! query strings and form bodies as name/value pairs, and the strict form reader of
//! `/oauth2/token` and the other RFC endpoints (exact names, each at most once, every value
//! a string). The legacy dialects' lenient reader (case-insensitive keys, jQuery-style
//! dictionaries) is [`crate::decode_form`].

use serde::de::DeserializeOwned;

use crate::auth::form_url_decode;

/// The name/value pairs of `text` in order (`a=1&b=x+y&c`: a name without `=` has an empty
/// value; empty parts are skipped); `None` on a malformed escape or invalid UTF-8 in any
/// name or value.
///
/// ```
/// let pairs = gatehouse_codec::parse_urlencoded("a=1&b=x+y%2Bz&c").unwrap();
/// assert_eq!(pairs[1], ("b".to_owned(), "x y+z".to_owned()));
/// assert!(gatehouse_codec::parse_urlencoded("a=%zz").is_none());
/// ```
pub fn parse_urlencoded(text: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    for part in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        out.push((form_url_decode(k)?, form_url_decode(v)?));
    }
    Some(out)
}

/// Why a strict form body did not bind. Never holds a value (a form carries secrets).
#[derive(Debug, thiserror::Error)]
pub enum StrictFormError {
    /// The body is not UTF-8, or an escape is malformed.
    #[error("the form body is not valid URL encoding")]
    NotUrlEncoded,
    /// A parameter appears more than once (RFC 6749 section 3.2); its name.
    #[error("a parameter appears more than once")]
    Repeated(String),
    /// A parameter does not fit the type (serde's error, about names and types only: every
    /// value reaches it as a string).
    #[error("a parameter has the wrong type")]
    Binding(serde_json::Error),
}

/// Reads a form body strictly into `T`: names exact (case-sensitive, as RFC 6749 section
/// 3.1 reads them), each at most once, every value a string.
///
/// # Errors
/// [`StrictFormError`]: the body is not URL encoding, a name repeats, or a value does not
/// bind to its member.
pub fn decode_strict_form<T: DeserializeOwned>(body: &[u8]) -> Result<T, StrictFormError> {
    let pairs = std::str::from_utf8(body)
        .ok()
        .and_then(parse_urlencoded)
        .ok_or(StrictFormError::NotUrlEncoded)?;
    let mut object = serde_json::Map::new();
    for (name, value) in pairs {
        if object.contains_key(&name) {
            return Err(StrictFormError::Repeated(name));
        }
        object.insert(name, serde_json::Value::String(value));
    }
    serde_json::from_value(serde_json::Value::Object(object)).map_err(StrictFormError::Binding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_decode_in_order() {
        let pairs = parse_urlencoded("a=1&b=x+y%2Bz&c&d=%C3%A9").unwrap_or_default();
        assert_eq!(
            pairs,
            [
                ("a".into(), "1".into()),
                ("b".into(), "x y+z".into()),
                ("c".into(), String::new()),
                ("d".into(), "é".into())
            ]
        );
        assert!(parse_urlencoded("a=%zz").is_none());
        assert!(parse_urlencoded("a=%FF").is_none());
    }

    #[derive(Debug, serde::Deserialize)]
    struct Form {
        grant_type: Option<String>,
    }

    #[test]
    fn strict_forms_refuse_repeats_and_bad_escapes() {
        let form: Form = decode_strict_form(b"grant_type=password&x=1").expect("binds");
        assert_eq!(form.grant_type.as_deref(), Some("password"));
        assert!(matches!(
            decode_strict_form::<Form>(b"grant_type=a&grant_type=b"),
            Err(StrictFormError::Repeated(name)) if name == "grant_type"
        ));
        assert!(matches!(
            decode_strict_form::<Form>(b"grant_type=%zz"),
            Err(StrictFormError::NotUrlEncoded)
        ));
        assert!(matches!(
            decode_strict_form::<Form>(b"\xff"),
            Err(StrictFormError::NotUrlEncoded)
        ));
    }
}
