//! Web API's `HttpError`: the error body of the onetime and member dialects.
//!
//! JSON: `{"Message":"The request is invalid.","ModelState":{"request.MemberId":["..."]}}`,
//! `ModelState` omitted when there is none. XML: `<Error><Message>...</Message><ModelState>
//! <request.MemberId>...</request.MemberId></ModelState></Error>`, root `Error` without a
//! namespace. Web API wrote it with its own `IXmlSerializable` and, on the onetime service,
//! camel-cased its JSON: `gatehouse_codec::encode_http_error` writes both exactly; the generic
//! contract encoder writes the message only ([`Contract::XML_OMIT`]).

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Contract;

/// Web API's `HttpError` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpError {
    /// A human sentence.
    #[serde(rename = "Message")]
    pub message: String,
    /// Per-member validation errors, keyed `request.Member`; omitted when `None`.
    #[serde(
        rename = "ModelState",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub model_state: Option<ModelState>,
}

/// Web API's `ModelStateDictionary` as written: keys in the order the errors were added
/// (formatter errors first, then validation), each with its messages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelState(pub Vec<(String, Vec<String>)>);

impl ModelState {
    /// The messages of `key`, if any.
    pub fn get(&self, key: &str) -> Option<&Vec<String>> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Keys and messages in order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Vec<String>)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl Serialize for ModelState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for ModelState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ModelState;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of message arrays")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ModelState, A::Error> {
                let mut out = ModelState::default();
                while let Some((k, v)) = map.next_entry::<String, Vec<String>>()? {
                    match out.0.iter_mut().find(|(key, _)| *key == k) {
                        Some((_, msgs)) => msgs.extend(v),
                        None => out.0.push((k, v)),
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}

impl HttpError {
    /// An error with only a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            model_state: None,
        }
    }

    /// Web API's invalid-model answer: `"The request is invalid."` with one error for `key`
    /// (such as `request.MemberId`). Call [`HttpError::add_model_error`] for more.
    pub fn invalid_model(key: impl Into<String>, error: impl Into<String>) -> Self {
        let mut e = Self::new("The request is invalid.");
        e.add_model_error(key, error);
        e
    }

    /// Adds a validation error for `key`.
    pub fn add_model_error(&mut self, key: impl Into<String>, error: impl Into<String>) {
        let key = key.into();
        let state = self.model_state.get_or_insert_with(ModelState::default);
        match state.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, messages)) => messages.push(error.into()),
            None => state.0.push((key, vec![error.into()])),
        }
    }
}

impl Contract for HttpError {
    const XML_ROOT: &'static str = "Error";
    const XML_NAMESPACE: &'static str = "";
    const XML_OMIT: &'static [&'static str] = &["ModelState"];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let e = HttpError::new(
            "The request entity's media type 'text/plain' is not supported for this resource.",
        );
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"Message":"The request entity's media type 'text/plain' is not supported for this resource."}"#
        );
        assert_eq!(serde_json::from_str::<HttpError>(&json).unwrap(), e);

        let mut e = HttpError::invalid_model("request.MemberId", "The MemberId field is required.");
        e.add_model_error("request.MemberId", "second");
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"Message":"The request is invalid.","ModelState":{"request.MemberId":["The MemberId field is required.","second"]}}"#
        );
        assert_eq!(serde_json::from_str::<HttpError>(&json).unwrap(), e);
    }
}
