//! The request plumbing under the extractors of [`super::extract`]: the caller's address,
//! the body read within its limit and decoded for the dialect, the `Authorization` schemes.

use std::net::IpAddr;

use actix_web::http::header;
use actix_web::{web, HttpRequest};
use gatehouse_codec::{self as codec, BodyFormat, DecodeOptions};
use gatehouse_models::Contract;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A header's value when it is present and visible ASCII.
pub fn header_str(req: &HttpRequest, name: header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The caller's address: the peer, or, when the peer is a trusted proxy, the right-most
/// X-Forwarded-For hop that is not itself a trusted proxy (RFC 7239 section 5.2, RFC 9110
/// section 5.3).
///
/// Every `X-Forwarded-For` field line counts, joined in order (a proxy such as HAProxy adds
/// its own line after the client's), and the list is walked from the right: each trusted
/// proxy vouches only for the hop to its left, so the first untrusted hop is the caller and
/// anything further left is the client's own claim. Ports are stripped (`203.0.113.5:40000`,
/// `[2001:db8::1]:443`), quotes too. When that hop is not an address (`unknown`, garbage) the
/// caller is [`Caller::Unidentified`] and the request is refused: falling back to the proxy's
/// own address would let one caller lock out everyone behind the proxy. When every hop is a
/// trusted proxy the left-most stands for the caller; without the header the peer (the proxy
/// itself, e.g. a health check) is the caller.
pub fn client_ip(req: &HttpRequest, trusted: &[IpAddr]) -> (Caller, bool) {
    let peer = req
        .peer_addr()
        .map(|a| a.ip().to_canonical())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    if !trusted.contains(&peer) {
        return (Caller::Addr(peer), false);
    }
    let lines: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .map(|v| v.to_str().unwrap_or("unknown"))
        .collect();
    (forwarded_caller(&lines, trusted, peer), true)
}

/// Who called, as far as a trusted proxy can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// An address.
    Addr(IpAddr),
    /// The hop that should name the caller is not an address.
    Unidentified,
}

/// The walk of [`client_ip`] over the `X-Forwarded-For` field lines, in order.
pub fn forwarded_caller(lines: &[&str], trusted: &[IpAddr], peer: IpAddr) -> Caller {
    let hops: Vec<&str> = lines
        .iter()
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .filter(|hop| !hop.is_empty())
        .collect();
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Some(addr) if trusted.contains(&addr) => continue,
            Some(addr) => return Caller::Addr(addr),
            None => return Caller::Unidentified,
        }
    }
    Caller::Addr(hops.first().and_then(|h| parse_hop(h)).unwrap_or(peer))
}

/// One hop: an IP address, with or without a port, brackets or quotes.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim().trim_matches('"');
    let addr = hop
        .parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse::<std::net::Ipv6Addr>().ok())
                .map(IpAddr::V6)
        })?;
    Some(addr.to_canonical())
}

/// Reads the body, refusing more than `limit` bytes (a Content-Length over the limit is
/// refused before anything is read) and giving up when the body has not fully arrived within
/// the configured request timeout (a slow or lying client must not hold a worker's
/// connection open forever: actix's own timeout covers the head only).
///
/// # Errors
/// [`ApiError::TooLarge`] past `limit`, [`ApiError::Timeout`] past the request timeout,
/// [`ApiError::BadRequest`] when the connection breaks mid-body.
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
        Ok(Ok(Ok(body))) => {
            // Kept for the legacy-usage book (a reference count, not a copy).
            actix_web::HttpMessage::extensions_mut(req)
                .insert(crate::dual_run::RawBody(body.clone()));
            Ok(body)
        }
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
///
/// # Errors
/// [`ApiError::MediaType`] for a Content-Type the leniency does not read,
/// [`ApiError::Binding`] for a body that does not bind (every failure Web API listed).
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

/// Decodes the body of an RFC endpoint strictly (issue 19 item 11; the legacy dialects keep
/// their leniency): a form (RFC 6749 appendix B) with exact parameter names, each at most
/// once; JSON too when `json_too` (introspection and revocation, documented in
/// docs/oauth.md), read as RFC 8259 (no comments, nothing after the value, exact names, a
/// name at most once). Errors never quote the body (it carries secrets).
///
/// # Errors
/// [`ApiError::MediaType`] for another Content-Type, [`ApiError::BadRequest`] for an empty
/// JSON body, malformed URL encoding or JSON, a repeated parameter or one that is not a
/// string.
pub fn decode_rfc<T: DeserializeOwned>(
    req: &HttpRequest,
    body: &[u8],
    json_too: bool,
) -> Result<T, ApiError> {
    let content_type = header_str(req, header::CONTENT_TYPE);
    match codec::classify(content_type) {
        Ok(BodyFormat::Form) => strict_form(body),
        Ok(BodyFormat::Json) if json_too => {
            if body.is_empty() {
                return Err(ApiError::BadRequest("The request body is empty.".into()));
            }
            serde_json::from_slice(body).map_err(|e| strict_error(&e))
        }
        Ok(_) => Err(ApiError::MediaType(if json_too {
            "The request entity's media type is not supported for this resource: send application/x-www-form-urlencoded or application/json.".into()
        } else {
            "The request entity's media type is not supported for this resource: send application/x-www-form-urlencoded (RFC 6749).".into()
        })),
        Err(e) => Err(ApiError::MediaType(e.to_string())),
    }
}

/// A form body, names exact, each at most once, every value a string
/// ([`codec::decode_strict_form`]).
fn strict_form<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    codec::decode_strict_form(body).map_err(|e| match e {
        codec::StrictFormError::NotUrlEncoded => {
            ApiError::BadRequest("The form body is not valid URL encoding.".into())
        }
        codec::StrictFormError::Repeated(name) => ApiError::BadRequest(format!(
            "The parameter {} appears more than once.",
            printable_name(&name)
        )),
        codec::StrictFormError::Binding(e) => strict_error(&e),
    })
}

/// A parameter name fit for an error message (short, printable).
fn printable_name(name: &str) -> String {
    if name.len() <= 64 && name.bytes().all(|b| b.is_ascii_graphic()) {
        name.to_owned()
    } else {
        "(unprintable)".to_owned()
    }
}

/// The refusal of a strict body, naming the kind of fault and never a value.
fn strict_error(e: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    ApiError::BadRequest(match e.classify() {
        Category::Data => {
            "A parameter has the wrong type (every parameter is a string) or appears more than once."
                .to_owned()
        }
        Category::Syntax | Category::Eof => format!(
            "The body is not valid JSON (RFC 8259: no comments, nothing after the value) at line {} column {}.",
            e.line(),
            e.column()
        ),
        Category::Io => "The body could not be read.".to_owned(),
    })
}

/// The `Authorization: Bearer` token, when the header uses that scheme.
pub fn bearer(req: &HttpRequest) -> Option<&str> {
    header_str(req, header::AUTHORIZATION).and_then(codec::parse_bearer)
}

/// Whether the request carries `Authorization: Basic` (for `WWW-Authenticate`).
pub fn uses_basic(req: &HttpRequest) -> bool {
    header_str(req, header::AUTHORIZATION).is_some_and(|v| is_scheme(v, "basic"))
}

/// Whether an `Authorization` value uses `scheme` (case-insensitively, then a space).
pub(super) fn is_scheme(value: &str, scheme: &str) -> bool {
    value
        .get(..scheme.len())
        .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
        && value.as_bytes().get(scheme.len()) == Some(&b' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([255, 255, 255, 255]))
    }

    fn caller(lines: &[&str], trusted: &[&str]) -> Caller {
        let trusted: Vec<IpAddr> = trusted.iter().map(|t| ip(t)).collect();
        forwarded_caller(lines, &trusted, ip("127.0.0.1"))
    }

    #[test]
    fn the_line_the_proxy_appends_wins_over_the_clients_own() {
        // The client sent its own line first; HAProxy appended the real peer as a new line.
        assert_eq!(
            caller(&["198.51.100.7", "203.0.113.5"], &["127.0.0.1"]),
            Caller::Addr(ip("203.0.113.5"))
        );
        // In one line, comma separated: the same walk.
        assert_eq!(
            caller(&["198.51.100.7, 203.0.113.5"], &["127.0.0.1"]),
            Caller::Addr(ip("203.0.113.5"))
        );
    }

    #[test]
    fn trusted_hops_are_skipped_from_the_right() {
        assert_eq!(
            caller(
                &["203.0.113.5, 10.0.0.2", "10.0.0.1"],
                &["127.0.0.1", "10.0.0.1", "10.0.0.2"]
            ),
            Caller::Addr(ip("203.0.113.5"))
        );
        // Every hop trusted: the left-most stands for the caller.
        assert_eq!(
            caller(&["10.0.0.2, 10.0.0.1"], &["10.0.0.1", "10.0.0.2"]),
            Caller::Addr(ip("10.0.0.2"))
        );
        // No header at all: the peer.
        assert_eq!(caller(&[], &["127.0.0.1"]), Caller::Addr(ip("127.0.0.1")));
    }

    #[test]
    fn ports_brackets_and_quotes_are_stripped() {
        assert_eq!(
            caller(&["203.0.113.5:40000"], &[]),
            Caller::Addr(ip("203.0.113.5"))
        );
        assert_eq!(
            caller(&["[2001:db8::1]:443"], &[]),
            Caller::Addr(ip("2001:db8::1"))
        );
        assert_eq!(
            caller(&["\"[2001:db8::2]\""], &[]),
            Caller::Addr(ip("2001:db8::2"))
        );
        assert_eq!(
            caller(&["::ffff:203.0.113.9"], &[]),
            Caller::Addr(ip("203.0.113.9"))
        );
    }

    #[test]
    fn a_hop_that_is_not_an_address_is_never_the_proxy() {
        assert_eq!(caller(&["unknown"], &["127.0.0.1"]), Caller::Unidentified);
        assert_eq!(
            caller(&["203.0.113.5, garbage"], &["127.0.0.1"]),
            Caller::Unidentified
        );
        // Junk the client wrote to the left of a well-formed hop does not matter.
        assert_eq!(
            caller(&["unknown, 203.0.113.5"], &["127.0.0.1"]),
            Caller::Addr(ip("203.0.113.5"))
        );
    }
}
