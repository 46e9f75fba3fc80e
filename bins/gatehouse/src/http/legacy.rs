//! What Web API's pipeline did to every answer of the legacy surface, after the handler
//! wrote it (one place, so handlers keep writing `application/json; charset=utf-8`):
//!
//! * the media type and charset of the whole negotiation: `text/json` / `text/xml` when that
//!   is what the Accept header, `text/*` or the request Content-Type matched, and
//!   `Accept-Charset: utf-16` as a UTF-16 body (`codec::negotiate_media`);
//! * the caching headers of Web API's IIS host, `Cache-Control: no-cache`,
//!   `Pragma: no-cache`, `Expires: -1`, on every answer without a Cache-Control (404 and 405
//!   included); token endpoints keep RFC 6749's `no-store` too: `no-store, no-cache`.
//!
//! It applies to the legacy dialects' routes and to the answers marked [`WebApiAnswer`] (the
//! 404 and 405 answers); the standards endpoints are left as they are written.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpMessage as _;
use gatehouse_codec::{self as codec, ResponseFormat};

use super::Endpoint;

/// Marks a response as Web API's own (404, 405): negotiated and cached like the legacy
/// routes' answers.
#[derive(Debug, Clone, Copy)]
pub struct WebApiAnswer;

/// Is `path` (normalised) one of the five legacy dialects' routes?
fn is_legacy_route(path: &str) -> bool {
    Endpoint::ALL
        .into_iter()
        .any(|e| e.route() == path && e.is_legacy())
}

/// The middleware (registered inside the path normalisation).
///
/// # Errors
/// What the inner service returns (a handler's failure is already a response).
pub async fn legacy_answers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let token_route = is_legacy_route(req.path());
    let text = |name: header::HeaderName| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let accept = text(header::ACCEPT);
    let accept_charset = text(header::ACCEPT_CHARSET);
    let content_type = text(header::CONTENT_TYPE);
    let res = next.call(req).await?.map_into_boxed_body();
    let web_api = res.response().extensions().get::<WebApiAnswer>().is_some();
    if !token_route && !web_api {
        return Ok(res);
    }
    let (req, mut res) = res.into_parts();
    let headers = res.headers_mut();
    // Token answers (RFC 6749 section 5.1: no-store) keep it beside legacy's no-cache.
    let cache = match headers
        .get(header::CACHE_CONTROL)
        .map(HeaderValue::as_bytes)
    {
        None => Some("no-cache"),
        Some(b"no-store") => Some("no-store, no-cache"),
        Some(_) => None,
    };
    if let Some(cache) = cache {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        headers.insert(header::EXPIRES, HeaderValue::from_static("-1"));
    }
    let written = match headers.get(header::CONTENT_TYPE).map(HeaderValue::as_bytes) {
        Some(b"application/json; charset=utf-8") => ResponseFormat::Json,
        Some(b"application/xml; charset=utf-8") => ResponseFormat::Xml,
        _ => return Ok(ServiceResponse::new(req, res)),
    };
    let negotiated = codec::negotiate_media(
        accept.as_deref(),
        accept_charset.as_deref(),
        content_type.as_deref(),
    )
    .for_format(written);
    if let Ok(v) = HeaderValue::from_str(&negotiated.content_type()) {
        res.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    if negotiated.charset == codec::Charset::Utf8 {
        return Ok(ServiceResponse::new(req, res));
    }
    let (res, body) = res.into_parts();
    let bytes = actix_web::body::to_bytes(body)
        .await
        .map_err(|_| actix_web::error::ErrorInternalServerError("response body"))?;
    let res = res.set_body(BoxBody::new(negotiated.encode_body(&bytes)));
    Ok(ServiceResponse::new(req, res))
}

/// The original request URI, kept by the path normalisation for the 404 text.
#[derive(Debug, Clone)]
pub struct OriginalUri(pub actix_web::http::Uri);

/// Web API's own error answer (404, 405): an `HttpError` negotiated like any answer, in the
/// dialect's JSON casing (the onetime routes' formatter camel-cased it).
pub fn web_api_error(
    req: &actix_web::HttpRequest,
    status: actix_web::http::StatusCode,
    message: String,
    camel: bool,
) -> actix_web::HttpResponse {
    let format = codec::negotiate(
        super::request::header_str(req, header::ACCEPT),
        super::request::header_str(req, header::CONTENT_TYPE),
    );
    let body = gatehouse_models::http_error::HttpError::new(message);
    let mut res = match codec::encode_http_error(format, &body, camel) {
        Ok(bytes) => actix_web::HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, format.content_type()))
            .body(bytes),
        Err(_) => actix_web::HttpResponse::build(status).finish(),
    };
    res.extensions_mut().insert(WebApiAnswer);
    res
}

/// The request URI as .NET's `Uri.ToString()` showed it in the 404 text: absolute
/// (`http://` and the Host header), percent-escapes of ASCII characters unescaped except `%`
/// itself (and, in the query, the delimiters).
pub fn display_uri(req: &actix_web::HttpRequest) -> String {
    let original = req.extensions().get::<OriginalUri>().map(|o| o.0.clone());
    let uri = original.unwrap_or_else(|| req.uri().clone());
    let host = super::request::header_str(req, header::HOST)
        .map(str::to_owned)
        .unwrap_or_else(|| req.app_config().host().to_owned());
    let mut out = format!("http://{host}{}", unescape(uri.path(), "%"));
    if let Some(q) = uri.query() {
        out.push('?');
        out.push_str(&unescape(q, "%:/?#[]@!$&'()*+,;="));
    }
    out
}

fn unescape(s: &str, keep: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                if v.is_ascii() && v >= 0x20 && v != 0x7F && !keep.contains(char::from(v)) {
                    out.push(char::from(v));
                    i += 3;
                    continue;
                }
            }
        }
        out.push(char::from(b[i]));
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_unescape_as_dotnet_showed_them() {
        assert_eq!(unescape("/Nope/%41%2F%25%3F%20x", "%"), "/Nope/A/%25? x");
        assert_eq!(
            unescape("a=%41%2F%25&b=%20", "%:/?#[]@!$&'()*+,;="),
            "a=A%2F%25&b= "
        );
        assert_eq!(unescape("%4", "%"), "%4");
        assert_eq!(unescape("%", "%"), "%");
    }
}
