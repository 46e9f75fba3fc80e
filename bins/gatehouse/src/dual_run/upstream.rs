//! The legacy upstream: one request forwarded as the client sent it (method, path and query
//! as written, body, `Content-Type`, `Accept`, `Accept-Charset`, `Authorization`, and the
//! caller's address in `X-Forwarded-For`), within a deadline covering connect, head and
//! body, without following redirects, and with a cap on the answer's size.

use std::net::IpAddr;
use std::time::Duration;

use actix_web::http::header;
use actix_web::web::Bytes;

use super::compare::Answer;

/// Largest legacy answer read (a token answer is well under 4 KiB).
const MAX_ANSWER: usize = 256 * 1024;

/// What was forwarded: everything comes from the client's request.
#[derive(Clone)]
pub struct Forward {
    /// The upstream base URL (no trailing slash) and the path and query as the client
    /// wrote them.
    pub url: String,
    /// The method.
    pub method: actix_web::http::Method,
    /// The forwarded headers' values.
    pub headers: Vec<(header::HeaderName, header::HeaderValue)>,
    /// The caller's address.
    pub caller: IpAddr,
    /// The body.
    pub body: Bytes,
}

impl std::fmt::Debug for Forward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The body and the Authorization header are credentials: never shown.
        f.debug_struct("Forward")
            .field("url", &self.url)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

/// Why the upstream gave no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No answer within the deadline.
    Timeout,
    /// Connecting, sending or reading failed (refused, reset, TLS).
    Connection,
    /// The answer was larger than [`MAX_ANSWER`].
    TooLarge,
}

impl Failure {
    /// The counter's kind.
    pub fn kind(self) -> &'static str {
        match self {
            Failure::Timeout => "upstream_timeout",
            Failure::Connection => "upstream_failed",
            Failure::TooLarge => "upstream_too_large",
        }
    }
}

/// The headers forwarded, by name.
pub const FORWARDED: [header::HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::ACCEPT,
    header::ACCEPT_CHARSET,
    header::AUTHORIZATION,
];

thread_local! {
    /// One client per HTTP worker (awc is single-threaded): its connection pool is reused.
    static CLIENT: std::cell::RefCell<Option<(Duration, awc::Client)>> = const { std::cell::RefCell::new(None) };
}

fn client(timeout: Duration) -> awc::Client {
    CLIENT.with(|cell| {
        let mut cell = cell.borrow_mut();
        if let Some((t, c)) = cell.as_ref() {
            if *t == timeout {
                return c.clone();
            }
        }
        let mut connector = awc::Connector::new().timeout(timeout);
        if let Some(tls) = tls() {
            connector = connector.openssl(tls);
        }
        let c = awc::Client::builder()
            .connector(connector)
            .timeout(timeout)
            .disable_redirects()
            .no_default_headers()
            .finish();
        *cell = Some((timeout, c.clone()));
        c
    })
}

/// OpenSSL with the system's trust store (Debian's bundle when the vendored library's own
/// default path holds none).
pub(crate) fn tls() -> Option<openssl::ssl::SslConnector> {
    let mut builder = openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls()).ok()?;
    let _ = builder.set_default_verify_paths();
    for bundle in [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
    ] {
        if std::path::Path::new(bundle).exists() {
            let _ = builder.set_ca_file(bundle);
            break;
        }
    }
    Some(builder.build())
}

/// The upstream's answer with its headers (hop-by-hop ones left out).
#[derive(Debug, Clone)]
pub struct Upstream {
    /// Status, Content-Type, body.
    pub answer: Answer,
    /// The end-to-end headers, in order.
    pub headers: Vec<(header::HeaderName, header::HeaderValue)>,
}

/// Sends `forward` and reads the whole answer within `timeout`.
///
/// # Errors
/// [`Failure`]: no answer within `timeout`, the connection failed, or the answer is larger
/// than [`MAX_ANSWER`].
pub async fn send(forward: &Forward, timeout: Duration) -> Result<Upstream, Failure> {
    let attempt = async {
        let mut request = client(timeout).request(forward.method.clone(), &forward.url);
        for (name, value) in &forward.headers {
            request = request.insert_header((name.clone(), value.clone()));
        }
        request = request.insert_header(("X-Forwarded-For", forward.caller.to_string()));
        let mut response = request
            .send_body(forward.body.clone())
            .await
            .map_err(|e| match e {
                awc::error::SendRequestError::Timeout => Failure::Timeout,
                _ => Failure::Connection,
            })?;
        let body = response
            .body()
            .limit(MAX_ANSWER)
            .await
            .map_err(|e| match e {
                awc::error::PayloadError::Overflow => Failure::TooLarge,
                _ => Failure::Connection,
            })?;
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let headers = response
            .headers()
            .iter()
            .filter(|(name, _)| !hop_by_hop(name))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        Ok(Upstream {
            answer: Answer {
                status: response.status().as_u16(),
                content_type,
                body: body.to_vec(),
            },
            headers,
        })
    };
    match actix_web::rt::time::timeout(timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(Failure::Timeout),
    }
}

/// Headers of one connection, not of the answer (RFC 9110 section 7.6.1), and the length
/// actix writes itself.
fn hop_by_hop(name: &header::HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "content-length"
    )
}
