//! The three media types of the legacy ASP.NET Web API services, and their content
//! negotiation.
//!
//! * JSON as Json.NET wrote it (compact, its string escaping) and read it (exact then
//!   case-insensitive property names, booleans and integers accepted in strings).
//! * XML as DataContractSerializer wrote it (one line, no declaration, members in ordinal
//!   order, `i:nil`, dictionaries in the Arrays namespace), read with stricter rules: members
//!   in any order, a repeated member is an error, no DOCTYPE, entities or processing
//!   instructions, bounded depth.
//! * Form bodies (`application/x-www-form-urlencoded`) with case-insensitive keys and the
//!   jQuery-style dictionary keys; written as Web API's model binding and Katana's form
//!   reader read them ([`encode_form`]: dictionaries as `payload[0].Key=k&payload[0].Value=v`).
//!
//! The codec is generic over serde; what XML needs beyond serde's data model comes from
//! [`gatehouse_models::Contract`] and [`gatehouse_models::xml_hint`].
//!
//! ```
//! use gatehouse_codec::{decode, encode, negotiate, BodyFormat, DecodeOptions, ResponseFormat};
//! use gatehouse_models::Contract;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, PartialEq, Debug)]
//! struct OneTimeTokenResponse {
//!     #[serde(rename = "code")]
//!     code: String,
//! }
//! impl Contract for OneTimeTokenResponse {
//!     const XML_ROOT: &'static str = "OneTimeTokenResponse";
//!     const XML_NAMESPACE: &'static str = "http://schemas.datacontract.org/2004/07/App.Auth.Models";
//!     const JSON_CAMEL_CASE: bool = true;
//! }
//!
//! let v = OneTimeTokenResponse { code: "abc".into() };
//! assert_eq!(encode(ResponseFormat::Json, &v).unwrap(), br#"{"code":"abc"}"#);
//! let xml = encode(ResponseFormat::Xml, &v).unwrap();
//! assert!(xml.ends_with(b"<Code>abc</Code></OneTimeTokenResponse>"));
//! let back: OneTimeTokenResponse = decode(BodyFormat::Xml, &xml, &DecodeOptions::default()).unwrap();
//! assert_eq!(back, v);
//! assert_eq!(negotiate(Some("application/xml;q=0.9,*/*;q=0.8"), None), ResponseFormat::Xml);
//! ```

mod auth;
mod de_common;
mod error;
mod form;
mod form_ser;
mod http_error;
mod json;
mod json_text;
mod media;
mod rfc_form;
mod text_de;
mod xml;

/// XML reading limits, and the resolution-work measure the tests use.
pub mod xml_limits {
    pub use crate::xml::de::{
        resolution_work, MAX_ATTRIBUTES_PER_ELEMENT, MAX_NAMESPACES_IN_SCOPE,
        MAX_NAMESPACES_PER_ELEMENT,
    };
}

use gatehouse_models::Contract;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use auth::{
    form_url_decode, form_url_encode, parse_basic, parse_bearer, BasicCredentials, ClientPair,
};
pub use error::{DecodeError, EncodeError, MediaTypeError};
pub use http_error::{encode_http_error, encode_local_name};
pub use json::JsonNetFormatter;
pub use media::{
    classify, negotiate, negotiate_media, BodyFormat, Charset, Negotiated, ResponseFormat,
};
pub use rfc_form::{decode_strict_form, parse_urlencoded, StrictFormError};

/// Limits and leniencies of the readers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Deepest nesting of objects, arrays, elements or key segments (default 64).
    pub max_depth: usize,
    /// Longest string, text node, form key or value, in bytes (default 64 KiB).
    pub max_string_len: usize,
    /// Form bodies: join a repeated key's values with `,` as Katana did (the `/token`
    /// endpoint); otherwise a repeated key is an error (default `false`).
    pub join_repeated_form_keys: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            max_depth: 64,
            max_string_len: 64 * 1024,
            join_repeated_form_keys: false,
        }
    }
}

/// Read a request body of the given format into the contract `T`.
///
/// # Errors
/// [`DecodeError`]: the body is empty, not UTF-8 or malformed in its media type, deeper or
/// longer than `opts` allow, the wrong XML root, a repeated member, or a value that does not
/// convert to its member's type.
pub fn decode<T: DeserializeOwned + Contract>(
    format: BodyFormat,
    body: &[u8],
    opts: &DecodeOptions,
) -> Result<T, DecodeError> {
    match format {
        BodyFormat::Json => json::from_slice_ignoring(body, opts, T::JSON_IGNORE),
        BodyFormat::Xml => xml::de::from_slice(body, opts),
        BodyFormat::Form => form::from_slice(body, opts),
    }
}

/// Why a body did not bind, as Web API's `ModelState` listed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingErrors {
    /// Every failure, in document order (JSON goes on past a member that does not convert,
    /// as Json.NET did; XML and forms stop at the first). Never empty.
    pub errors: Vec<DecodeError>,
    /// `[Required]` members (CLR names, [`Contract::REQUIRED`]) missing once the failing
    /// members were skipped (JSON only).
    pub missing: Vec<&'static str>,
}

/// [`decode`], reporting every failure Web API's `ModelState` would have listed.
///
/// # Errors
/// [`BindingErrors`]: the failures of [`decode`] (every one for JSON, the first for XML and
/// forms), and the required members missing.
pub fn decode_reporting<T: DeserializeOwned + Contract>(
    format: BodyFormat,
    body: &[u8],
    opts: &DecodeOptions,
) -> Result<T, BindingErrors> {
    match format {
        BodyFormat::Json => json::from_slice_reporting(body, opts, T::JSON_IGNORE, T::REQUIRED)
            .map_err(|(errors, missing)| BindingErrors { errors, missing }),
        _ => decode(format, body, opts).map_err(|e| BindingErrors {
            errors: vec![e],
            missing: Vec::new(),
        }),
    }
}

/// Read a JSON body into a type that has no XML form (RFC 7662 / 7009 requests).
///
/// # Errors
/// [`DecodeError`], as [`decode`] for JSON.
pub fn decode_json<T: DeserializeOwned>(
    body: &[u8],
    opts: &DecodeOptions,
) -> Result<T, DecodeError> {
    json::from_slice(body, opts)
}

/// Read a form body into any type (keys matched case-insensitively).
///
/// # Errors
/// [`DecodeError`], as [`decode`] for forms: a malformed escape, a repeated key (unless
/// `opts` join them), limits, a value that does not convert.
pub fn decode_form<T: DeserializeOwned>(
    body: &[u8],
    opts: &DecodeOptions,
) -> Result<T, DecodeError> {
    form::from_slice(body, opts)
}

/// Write the contract `value` in the negotiated format.
///
/// # Errors
/// [`EncodeError`]: the value has a shape `format` cannot express (an XML root that is not a
/// struct, a dictionary with keys that are not strings), a `TimeSpan` hint on a value that
/// is not one, or its `Serialize` failed.
pub fn encode<T: Serialize + Contract>(
    format: ResponseFormat,
    value: &T,
) -> Result<Vec<u8>, EncodeError> {
    match format {
        ResponseFormat::Json => json::to_vec(value),
        ResponseFormat::Xml => xml::ser::to_vec(value),
    }
}

/// Write `value` (a struct: any request model of the dialects, or an RFC 7662/7009 request)
/// as an `application/x-www-form-urlencoded` body that Web API 5.2.3 and Katana bound back to
/// the same values (checked against the legacy oracle: `tests/golden/form.json`).
///
/// ```
/// use gatehouse_codec::{decode_form, encode_form, DecodeOptions};
/// use gatehouse_models::onetime::OneTimeTokenRequest;
///
/// let mut request = OneTimeTokenRequest::new("demo-client");
/// request.payload = Some([("lang".to_owned(), "en gb".to_owned())].into_iter().collect());
/// let body = encode_form(&request).unwrap();
/// assert_eq!(body, b"clientId=demo-client&payload%5B0%5D.Key=lang&payload%5B0%5D.Value=en+gb");
/// let back: OneTimeTokenRequest = decode_form(&body, &DecodeOptions::default()).unwrap();
/// assert_eq!(back, request);
/// ```
///
/// # Errors
/// [`EncodeError`]: a shape a form cannot express (nested sequences, a dictionary with keys
/// that are not strings), or the value's `Serialize` failed.
pub fn encode_form<T: Serialize>(value: &T) -> Result<Vec<u8>, EncodeError> {
    form_ser::to_vec(value)
}

/// Write any value as Json.NET-style JSON (types that are JSON only, such as RFC 6749
/// error bodies and RFC 7662 responses).
///
/// # Errors
/// [`EncodeError`]: the value's `Serialize` failed, or a map key is not a string.
pub fn encode_json<T: Serialize>(value: &T) -> Result<Vec<u8>, EncodeError> {
    json::to_vec(value)
}

/// The README's examples, compiled and run as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
