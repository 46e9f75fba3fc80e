//! [`Error`]: every failure of a call, with the server's refusal in its dialect's own shape.

use gatehouse_models::http_error::HttpError;
use gatehouse_models::oauth::{ErrorCode, ErrorResponse};
use gatehouse_models::otc::ResponseHeader;

/// Why a call failed.
///
/// A refusal by the server keeps the shape its dialect wrote: RFC 6749 errors (Katana `/token`,
/// v1, the standards surface), Web API's `HttpError` with its `ModelState` (member, onetime,
/// whose JSON is camel-cased), or the otc envelope's header. [`Error::oauth_code`] and
/// [`Error::status`] answer the common questions whatever the dialect.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request could not be sent or its answer not read (connection, TLS, timeout).
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
    /// An RFC 6749 error body.
    #[error("{status} {}{}", .error.error.as_str(), describe(.error.error_description.as_deref()))]
    OAuth {
        /// The HTTP status.
        status: u16,
        /// The body.
        error: ErrorResponse,
        /// `Retry-After` in seconds, when the server sent one.
        retry_after: Option<u64>,
    },
    /// Web API's `HttpError` body (member and onetime dialects).
    #[error("{status} {}", .error.message)]
    WebApi {
        /// The HTTP status.
        status: u16,
        /// The body, `ModelState` included.
        error: HttpError,
        /// `Retry-After` in seconds, when the server sent one.
        retry_after: Option<u64>,
    },
    /// The otc envelope with a status other than `Ok`.
    #[error("{status} otc {}: {}", .header.status, .header.message)]
    Otc {
        /// The HTTP status.
        status: u16,
        /// The envelope's header.
        header: ResponseHeader,
    },
    /// An answer that is neither success nor the endpoint's error shape (a proxy's page,
    /// an empty body); only its status and media type are kept.
    #[error("unexpected answer {status} ({content_type})")]
    Unexpected {
        /// The HTTP status.
        status: u16,
        /// Its `Content-Type`, or empty.
        content_type: String,
    },
    /// A success body that did not decode into the expected model.
    #[error("the answer did not decode: {0}")]
    Decode(#[from] gatehouse_codec::DecodeError),
    /// The request could not be written in the chosen media type.
    #[error("the request could not be encoded: {0}")]
    Encode(#[from] gatehouse_codec::EncodeError),
    /// A base URL or endpoint that is not a usable URL.
    #[error("invalid URL: {0}")]
    Url(String),
    /// A bearer token a resource-server helper refused ([`crate::resource`]).
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
}

fn describe(description: Option<&str>) -> String {
    description.map(|d| format!(": {d}")).unwrap_or_default()
}

impl Error {
    /// The HTTP status of a refusal by the server.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::OAuth { status, .. }
            | Error::WebApi { status, .. }
            | Error::Otc { status, .. }
            | Error::Unexpected { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The RFC 6749 error code, for the dialects that write one.
    pub fn oauth_code(&self) -> Option<&ErrorCode> {
        match self {
            Error::OAuth { error, .. } => Some(&error.error),
            _ => None,
        }
    }

    /// `Retry-After` of a refusal (a locked account, a busy server), in seconds.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::OAuth { retry_after, .. } | Error::WebApi { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the client's own credentials were refused (`invalid_client`, the otc
    /// envelope's `InvalidClient`, or a Web API 401 at a client-authenticated endpoint).
    pub fn is_invalid_client(&self) -> bool {
        match self {
            Error::OAuth { error, .. } => error.error == ErrorCode::InvalidClient,
            Error::Otc { header, .. } => {
                header.status_code == gatehouse_models::otc::ResponseStatus::InvalidClient
            }
            Error::WebApi { status, .. } => *status == 401,
            _ => false,
        }
    }
}
