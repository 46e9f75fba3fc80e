//! A typed client for Gatehouse: the five legacy ASP.NET Web API token dialects it speaks byte
//! for byte, and its OAuth 2 / OpenID Connect surface.
//!
//! | dialect | method | endpoint | errors |
//! |---|---|---|---|
//! | Katana (seed 004) | [`Client::katana_token`] | `POST /token` | [`Error::OAuth`] (400 for everything, as Katana did) |
//! | v1 (seed 003) | [`Client::v1_token`] | `POST /api/v1/auth/token` | [`Error::OAuth`] |
//! | member (seed 002) | [`Client::member_token`] | `POST /api/Token` | [`Error::WebApi`] (`HttpError` + `ModelState`) |
//! | otc (seed 001) | [`Client::otc_auth_code`], [`Client::otc_token`] | `POST /admin/login/auth_code`, `/admin/login/token` | [`Error::Otc`] (the envelope's header) |
//! | onetime (seed 000) | [`Client::onetime_token`], [`Client::onetime_authorize`] | `POST /oauth2/onetime/token`, `/oauth2/onetime/authorize` | [`Error::WebApi`] (camel-cased) |
//! | standards | [`Client::metadata`], [`Client::token`], [`Client::introspect`], [`Client::revoke`], [`Client::userinfo`], [`Client::authorization_request`] | RFC 8414, 6749, 7662, 7009, 7636 | [`Error::OAuth`] |
//!
//! Legacy requests are the `gatehouse-models` wire types, written by `gatehouse-codec` in the
//! [`MediaType`] of your choice exactly as the legacy clients wrote them (JSON as Json.NET,
//! XML as DataContractSerializer, form bodies as Web API bound them). Secrets are
//! [`Secret`]s, which never print; the models redact theirs in `Debug`.
//!
//! Retries: a request that never reached the server (connection refused or reset before
//! sending) is retried whatever its method; a `GET` (discovery, JWKS, userinfo) is retried on
//! a timeout or a 502/503/504 too. A `POST` that may have arrived is never repeated: a
//! password grant counts toward lockout and a code is single use.
//!
//! ```no_run
//! # async fn demo() -> Result<(), gatehouse_client::Error> {
//! use gatehouse_client::{Client, ClientCredentials, Grant, MediaType, Secret};
//! use gatehouse_models::katana::OAuthRequest;
//!
//! let gatehouse = Client::builder("http://127.0.0.1:8080").build()?;
//! // Katana's /token, as a form body.
//! let token = gatehouse
//!     .katana_token(&OAuthRequest::password("alice", "alice-password-1"), MediaType::Form)
//!     .await?;
//! // The standards surface: client credentials, then introspection.
//! let client = ClientCredentials::new("demo-client", "demo-secret");
//! let issued = gatehouse.token(&client, Grant::ClientCredentials { scope: None }).await?;
//! let info = gatehouse.introspect(&client, &Secret::new(token.access_token)).await?;
//! assert!(info.active);
//! # let _ = issued;
//! # Ok(()) }
//! ```
//!
//! With the `blocking` feature, `blocking::Client` offers the same methods without async.
//! [`resource`] validates bearer tokens for a resource server (introspection with a bounded
//! cache, or RFC 9068 JWTs against the JWKS), with actix-web (`actix`) and axum (`axum`)
//! extractors.
#![deny(missing_docs)]

use std::time::Duration;

use gatehouse_codec::{decode, decode_json, BodyFormat, DecodeOptions};
use gatehouse_models::http_error::HttpError;
use gatehouse_models::oauth::ErrorResponse;
use gatehouse_models::Contract;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Method;
use serde::de::DeserializeOwned;

#[cfg(feature = "blocking")]
pub mod blocking;
mod error;
mod legacy;
mod media;
pub mod resource;
mod secret;
mod standard;

pub use error::Error;
pub use media::MediaType;
pub use secret::{ClientAuthMethod, ClientCredentials, Secret};
pub use standard::{AuthorizationRequest, Grant, ServerMetadata, TokenResponse};

/// Builds a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    base: String,
    timeout: Duration,
    connect_timeout: Duration,
    retries: u32,
}

impl ClientBuilder {
    /// Timeout of a whole request (default 30 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Timeout of establishing a connection (default 5 s).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Retries of what is safe to retry (default 2; see the crate documentation).
    #[must_use]
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// The client.
    ///
    /// # Errors
    /// [`Error::Url`] when the base URL is not `http://` or `https://`; [`Error::Transport`]
    /// when the TLS stack cannot start.
    pub fn build(self) -> Result<Client, Error> {
        let base = self.base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::Url(
                "the base URL must start with http:// or https://".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("gatehouse-client/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Client {
            http,
            base,
            retries: self.retries,
        })
    }
}

/// A client of one Gatehouse server (cheap to clone; connections are pooled).
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    retries: u32,
}

/// How an endpoint words its refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// RFC 6749 JSON.
    OAuth,
    /// Web API's `HttpError`.
    WebApi,
}

/// A request ready to send (and to send again).
struct Call<'a> {
    method: Method,
    path: &'a str,
    content_type: Option<&'static str>,
    accept: &'static str,
    authorization: Option<String>,
    body: Vec<u8>,
}

/// What came back.
pub(crate) struct Answer {
    status: u16,
    content_type: String,
    retry_after: Option<u64>,
    body: Vec<u8>,
}

impl Client {
    /// A builder for the server at `base_url` (`http://127.0.0.1:8080`).
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base: base_url.into(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            retries: 2,
        }
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    async fn send(&self, call: &Call<'_>) -> Result<Answer, Error> {
        let mut attempt = 0;
        loop {
            match self.send_once(call).await {
                Ok(answer)
                    if call.method == Method::GET
                        && matches!(answer.status, 502..=504)
                        && attempt < self.retries => {}
                Ok(answer) => return Ok(answer),
                Err(e) if attempt < self.retries && retryable(&e, &call.method) => {}
                Err(e) => return Err(Error::Transport(e)),
            }
            attempt += 1;
            tokio::time::sleep(Duration::from_millis(100 << attempt.min(5))).await;
        }
    }

    async fn send_once(&self, call: &Call<'_>) -> Result<Answer, reqwest::Error> {
        let mut request = self
            .http
            .request(call.method.clone(), self.url(call.path))
            .header(ACCEPT, call.accept);
        if let Some(content_type) = call.content_type {
            request = request
                .header(CONTENT_TYPE, content_type)
                .body(call.body.clone());
        }
        if let Some(authorization) = &call.authorization {
            let mut value =
                HeaderValue::from_str(authorization).unwrap_or(HeaderValue::from_static(""));
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }
        let response = request.send().await?;
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header(CONTENT_TYPE).unwrap_or_default();
        let retry_after = header(RETRY_AFTER).and_then(|v| v.trim().parse().ok());
        let status = response.status().as_u16();
        let body = response.bytes().await?.to_vec();
        Ok(Answer {
            status,
            content_type,
            retry_after,
            body,
        })
    }
}

/// Nothing reached the server (any method), or a `GET` timed out.
fn retryable(e: &reqwest::Error, method: &Method) -> bool {
    e.is_connect() || (*method == Method::GET && e.is_timeout())
}

impl Answer {
    fn format(&self) -> Option<BodyFormat> {
        let essence = self
            .content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/json" | "text/json" | "text/javascript" => Some(BodyFormat::Json),
            "application/xml" | "text/xml" => Some(BodyFormat::Xml),
            _ => None,
        }
    }

    fn unexpected(&self) -> Error {
        Error::Unexpected {
            status: self.status,
            content_type: self.content_type.clone(),
        }
    }

    /// A success body as `T`, or the refusal in `shape`.
    fn into_model<T: DeserializeOwned + Contract>(self, shape: Shape) -> Result<T, Error> {
        if !(200..300).contains(&self.status) {
            return Err(self.refusal(shape));
        }
        let format = self.format().ok_or_else(|| self.unexpected())?;
        Ok(decode(format, &self.body, &DecodeOptions::default())?)
    }

    /// A JSON-only success body (the RFC surfaces) as `T`, or the RFC 6749 refusal.
    fn into_json<T: DeserializeOwned>(self) -> Result<T, Error> {
        if !(200..300).contains(&self.status) {
            return Err(self.refusal(Shape::OAuth));
        }
        if self.format() != Some(BodyFormat::Json) {
            return Err(self.unexpected());
        }
        Ok(decode_json(&self.body, &DecodeOptions::default())?)
    }

    fn refusal(&self, shape: Shape) -> Error {
        let opts = DecodeOptions::default();
        match (shape, self.format()) {
            (Shape::OAuth, Some(BodyFormat::Json)) => {
                match decode_json::<ErrorResponse>(&self.body, &opts) {
                    Ok(error) => Error::OAuth {
                        status: self.status,
                        error,
                        retry_after: self.retry_after,
                    },
                    Err(_) => self.unexpected(),
                }
            }
            (Shape::WebApi, Some(format)) => {
                let error = match format {
                    BodyFormat::Xml => decode::<HttpError>(format, &self.body, &opts),
                    _ => decode_json::<HttpError>(&self.body, &opts),
                };
                match error {
                    Ok(error) => Error::WebApi {
                        status: self.status,
                        error,
                        retry_after: self.retry_after,
                    },
                    Err(_) => self.unexpected(),
                }
            }
            _ => self.unexpected(),
        }
    }
}

/// The README's examples, compiled and run as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
