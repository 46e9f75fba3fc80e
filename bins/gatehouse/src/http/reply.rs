//! What the dialect handlers share to write a success and to check required members.

use actix_web::http::header;
use actix_web::HttpResponse;
use gatehouse_codec::{self as codec, ResponseFormat};
use gatehouse_models::Contract;
use serde::Serialize;

use super::error::ApiError;

/// What a dialect handler answers: the success as built, or the failure that
/// [`super::in_dialect`] puts in the dialect's words.
pub type Reply = Result<HttpResponse, ApiError>;

/// A token response in the negotiated format, never cached.
pub fn token<T: Serialize + Contract>(format: ResponseFormat, value: &T) -> Reply {
    let body = codec::encode(format, value).map_err(|e| {
        tracing::error!(error = %e, "response did not encode");
        ApiError::Internal
    })?;
    Ok(no_store(HttpResponse::Ok())
        .insert_header((header::CONTENT_TYPE, format.content_type()))
        .body(body))
}

/// A JSON-only (RFC) response, never cached.
pub fn json<T: Serialize>(value: &T) -> Reply {
    let body = codec::encode_json(value).map_err(|e| {
        tracing::error!(error = %e, "response did not encode");
        ApiError::Internal
    })?;
    Ok(json_bytes(body))
}

/// JSON bytes as a response, never cached.
pub fn json_bytes(body: impl actix_web::body::MessageBody + 'static) -> HttpResponse {
    no_store(HttpResponse::Ok())
        .insert_header((header::CONTENT_TYPE, ResponseFormat::Json.content_type()))
        .body(body)
}

fn no_store(mut builder: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    builder
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    builder
}

/// The value, unless absent or blank.
pub fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// A required member (`{what} is required.`).
pub fn required(value: Option<String>, what: &str) -> Result<String, ApiError> {
    non_empty(value).ok_or_else(|| ApiError::BadRequest(format!("{what} is required.")))
}

/// A required member of a Web API model: its model-state error
/// (`{"Message":"The request is invalid.","ModelState":{"request.Member":[...]}}`).
pub fn required_member(value: Option<String>, member: &str) -> Result<String, ApiError> {
    non_empty(value).ok_or_else(|| ApiError::Invalid {
        key: format!("request.{member}"),
        error: format!("The {member} field is required."),
    })
}

/// Whole seconds, as the dialects write lifetimes.
pub fn secs(d: time::Duration) -> i64 {
    d.whole_seconds()
}
