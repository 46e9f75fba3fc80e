//! [`MediaType`]: what a legacy request is written as, and what is asked back.

use gatehouse_codec::{encode, encode_form, ResponseFormat};
use gatehouse_models::Contract;
use serde::Serialize;

use crate::Error;

/// The media type a legacy request body is written in.
///
/// Every legacy endpoint read JSON, XML and form bodies (Web API's three formatters); seed 004
/// also lists `text/javascript` for Katana's `/token`, which is JSON under another name.
/// The answer is asked for in XML after an XML request and in JSON otherwise, as the legacy
/// clients did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MediaType {
    /// `application/json`: JSON as Json.NET wrote it.
    #[default]
    Json,
    /// `application/xml`: XML as DataContractSerializer wrote it.
    Xml,
    /// `application/x-www-form-urlencoded`, as Web API and Katana bound it.
    Form,
    /// `text/javascript` (seed 004): a JSON body, and a JSON answer under that media type.
    JavaScript,
}

impl MediaType {
    /// The `Content-Type` of the request.
    pub fn content_type(self) -> &'static str {
        match self {
            MediaType::Json => "application/json",
            MediaType::Xml => "application/xml",
            MediaType::Form => "application/x-www-form-urlencoded",
            MediaType::JavaScript => "text/javascript",
        }
    }

    /// The `Accept` of the request.
    pub fn accept(self) -> &'static str {
        match self {
            MediaType::Xml => "application/xml",
            MediaType::JavaScript => "text/javascript",
            MediaType::Json | MediaType::Form => "application/json",
        }
    }

    /// The body of `value` in this media type.
    ///
    /// # Errors
    /// [`Error`] from the codec's encoder: a shape the media type cannot express, or the
    /// value's `Serialize` failed.
    pub fn encode<T: Serialize + Contract>(self, value: &T) -> Result<Vec<u8>, Error> {
        Ok(match self {
            MediaType::Json | MediaType::JavaScript => encode(ResponseFormat::Json, value)?,
            MediaType::Xml => encode(ResponseFormat::Xml, value)?,
            MediaType::Form => encode_form(value)?,
        })
    }
}
