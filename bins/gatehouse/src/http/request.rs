//! What every handler needs from the HTTP request: the negotiated response format, the body
//! read within its limit and decoded for the dialect, the caller's address and credentials.

use std::net::IpAddr;

use actix_web::http::header;
use actix_web::{web, HttpRequest};
use gatehouse_codec::{self as codec, BasicCredentials, BodyFormat, DecodeOptions, ResponseFormat};
use gatehouse_models::Contract;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::Endpoint;

/// The parts of a request a handler works from.
#[derive(Debug)]
pub struct Ctx {
    /// The endpoint answering.
    pub endpoint: Endpoint,
    /// The negotiated response format.
    pub format: ResponseFormat,
    /// The caller's address (X-Forwarded-For only from trusted proxies).
    pub ip: IpAddr,
    /// Whether the peer is one of the trusted proxies.
    pub from_trusted_proxy: bool,
}

impl Ctx {
    /// Negotiates the response format and works out the caller's address.
    pub fn new(req: &HttpRequest, endpoint: Endpoint, trusted: &[IpAddr]) -> Self {
        let accept = header_str(req, header::ACCEPT);
        let content_type = header_str(req, header::CONTENT_TYPE);
        let (ip, from_trusted_proxy) = client_ip(req, trusted);
        Self {
            endpoint,
            format: codec::negotiate(accept, content_type),
            ip,
            from_trusted_proxy,
        }
    }
}

/// A header's value when it is present and visible ASCII.
pub fn header_str(req: &HttpRequest, name: header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The caller's address: the peer, or, when the peer is a trusted proxy, the right-most
/// address of X-Forwarded-For that is not itself a trusted proxy.
pub fn client_ip(req: &HttpRequest, trusted: &[IpAddr]) -> (IpAddr, bool) {
    let peer = req
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    if !trusted.contains(&peer) {
        return (peer, false);
    }
    let mut ip = peer;
    for value in req.headers().get_all("x-forwarded-for") {
        let Ok(value) = value.to_str() else { continue };
        for hop in value.split(',').rev() {
            match hop.trim().parse::<IpAddr>() {
                Ok(addr) if trusted.contains(&addr) => continue,
                Ok(addr) => return (addr, true),
                Err(_) => return (ip, true),
            }
        }
    }
    // Every hop was a trusted proxy: the last one stands for the client.
    if let Some(last) = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.trim().parse().ok())
    {
        ip = last;
    }
    (ip, true)
}

/// Reads the body, refusing more than `limit` bytes (a Content-Length over the limit is
/// refused before anything is read) and giving up when the body has not fully arrived within
/// the configured request timeout (a slow or lying client must not hold a worker's
/// connection open forever: actix's own timeout covers the head only).
pub async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, ApiError> {
    if let Some(len) = header_str(req, header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok()) {
        if len > limit as u64 {
            return Err(ApiError::TooLarge { limit });
        }
    }
    let seconds = req
        .app_data::<web::Data<crate::AppState>>()
        .map_or(10, |s| s.config.request_timeout);
    let read = payload.to_bytes_limited(limit);
    match actix_web::rt::time::timeout(std::time::Duration::from_secs(seconds), read).await {
        Ok(Ok(Ok(body))) => Ok(body),
        Ok(Ok(Err(_))) => Err(ApiError::BadRequest(
            "The request body could not be read.".into(),
        )),
        Ok(Err(_)) => Err(ApiError::TooLarge { limit }),
        Err(_) => Err(ApiError::Timeout),
    }
}

/// How an endpoint treats Content-Types that Web API would not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leniency {
    /// Web API: JSON, XML and form only; anything else is 415.
    WebApi,
    /// Katana's `/token`: `text/javascript` is JSON, and any other body is read as a form.
    Katana,
}

/// Decodes `body` as the request's Content-Type says.
///
/// A zero-length body binds the empty model whatever the Content-Type (none included): Web
/// API bound `null` without consulting a formatter, so there is no 415; the handler then
/// reports the required members, as it does for `{}`. A JSON or form body of whitespace
/// binds the empty model too (Json.NET read it as `null`).
pub fn decode<T: DeserializeOwned + Contract>(
    req: &HttpRequest,
    body: &[u8],
    leniency: Leniency,
) -> Result<T, ApiError> {
    let opts = DecodeOptions {
        join_repeated_form_keys: leniency == Leniency::Katana,
        ..DecodeOptions::default()
    };
    if body.is_empty() {
        return codec::decode_reporting(BodyFormat::Json, b"{}", &opts).map_err(|errors| {
            ApiError::Binding {
                format: BodyFormat::Json,
                errors,
            }
        });
    }
    let content_type = header_str(req, header::CONTENT_TYPE);
    let format = match (codec::classify(content_type), leniency) {
        (Ok(f), _) => f,
        (Err(codec::MediaTypeError::JavaScript), Leniency::Katana) => BodyFormat::Json,
        (Err(_), Leniency::Katana) => BodyFormat::Form,
        (Err(e), Leniency::WebApi) => return Err(ApiError::MediaType(e.to_string())),
    };
    // Json.NET read only whitespace as `null`, and a blank form binds nothing: the empty model
    // too. (Whitespace is not an XML document: DataContractSerializer refused it.)
    let blank = body.iter().all(u8::is_ascii_whitespace);
    let body: &[u8] = if blank && format != BodyFormat::Xml {
        b"{}"
    } else {
        body
    };
    let format = if blank && format != BodyFormat::Xml {
        BodyFormat::Json
    } else {
        format
    };
    codec::decode_reporting(format, body, &opts)
        .map_err(|errors| ApiError::Binding { format, errors })
}

/// Decodes a body of a JSON-only (RFC) type: JSON or form.
pub fn decode_rfc<T: DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> Result<T, ApiError> {
    let content_type = header_str(req, header::CONTENT_TYPE);
    let opts = DecodeOptions::default();
    match codec::classify(content_type) {
        Ok(BodyFormat::Form) => codec::decode_form(body, &opts).map_err(ApiError::Decode),
        Ok(BodyFormat::Json) => {
            if body.is_empty() {
                return Err(ApiError::BadRequest("The request body is empty.".into()));
            }
            codec::decode_json(body, &opts).map_err(ApiError::Decode)
        }
        Ok(BodyFormat::Xml) => Err(ApiError::MediaType(
            "The request entity's media type is not supported for this resource: send application/x-www-form-urlencoded or application/json.".into(),
        )),
        Err(e) => Err(ApiError::MediaType(e.to_string())),
    }
}

/// The `Authorization: Basic` credentials, when the header uses that scheme.
pub fn basic(req: &HttpRequest) -> Result<Option<BasicCredentials>, ApiError> {
    match header_str(req, header::AUTHORIZATION) {
        Some(value) if is_scheme(value, "basic") => codec::parse_basic(value)
            .map(Some)
            .map_err(|_| ApiError::BadClientAuth),
        _ => Ok(None),
    }
}

/// The `Authorization: Bearer` token, when the header uses that scheme.
pub fn bearer(req: &HttpRequest) -> Option<&str> {
    header_str(req, header::AUTHORIZATION).and_then(codec::parse_bearer)
}

/// Whether the request carries `Authorization: Basic` (for `WWW-Authenticate`).
pub fn uses_basic(req: &HttpRequest) -> bool {
    header_str(req, header::AUTHORIZATION).is_some_and(|v| is_scheme(v, "basic"))
}

fn is_scheme(value: &str, scheme: &str) -> bool {
    value
        .get(..scheme.len())
        .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
        && value.as_bytes().get(scheme.len()) == Some(&b' ')
}
