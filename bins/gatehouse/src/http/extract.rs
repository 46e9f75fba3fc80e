//! The actix extractors a handler is built from, so that a handler is: extract, one domain
//! call, the answer in the dialect's words.
//!
//! * [`Dialect`]: the endpoint answering and the negotiated response format, put in the
//!   request's extensions by the route's middleware ([`super::in_dialect`]), which also
//!   writes any [`ApiError`] in that dialect's words.
//! * [`Caller`]: the caller's address; a caller a trusted proxy did not identify is refused.
//! * [`Credentials`]: the caller and its `Authorization` header, from which the client is
//!   built — Basic, else the body's pair — in exactly one place ([`Credentials::build`]).
//! * [`Body`]: the body read within the configured limit and request timeout, then decoded as
//!   the endpoint reads it ([`WebApi`], [`Katana`] or [`Rfc`]).
//!
//! Extractors run in the order of the handler's arguments and the first refusal wins, so
//! the order of checks is the order of the arguments: [`Credentials`] (or [`Caller`]) before
//! [`Body`] refuses an unidentified caller before anything is read. The Basic header is
//! parsed when the handler asks for the client, after the body decoded, as before.

use std::future::{ready, Future, Ready};
use std::marker::PhantomData;
use std::net::IpAddr;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage as _, HttpRequest};
use gatehouse_codec::{self as codec, BasicCredentials, ResponseFormat};
use gatehouse_domain::secret::Secret;
use gatehouse_domain::service::ClientAuth;
use gatehouse_models::Contract;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::request::{self, Leniency};
use super::Endpoint;
use crate::AppState;

/// The endpoint answering and the negotiated response format (in the request's extensions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    /// The endpoint answering.
    pub endpoint: Endpoint,
    /// The negotiated response format.
    pub format: ResponseFormat,
}

impl Dialect {
    /// The endpoint's dialect for this request: the format negotiated from `Accept` and
    /// `Content-Type`.
    pub fn negotiate(req: &HttpRequest, endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            format: codec::negotiate(
                request::header_str(req, header::ACCEPT),
                request::header_str(req, header::CONTENT_TYPE),
            ),
        }
    }
}

impl FromRequest for Dialect {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(req.extensions().get::<Dialect>().copied().ok_or_else(|| {
            tracing::error!(
                path = req.path(),
                "a dialect handler on a route without its dialect"
            );
            ApiError::Internal
        }))
    }
}

/// The caller's address ([`request::client_ip`]); refused when a trusted proxy forwarded a
/// hop that is not an address: per-address lockout needs an address, and the proxy's own
/// would lump every caller together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The caller's address (X-Forwarded-For only from trusted proxies).
    pub ip: IpAddr,
    /// Whether the peer is one of the trusted proxies.
    pub from_trusted_proxy: bool,
}

impl Caller {
    /// The caller of `req`, as the configured trusted proxies tell it.
    ///
    /// # Errors
    /// [`ApiError::BadRequest`] when a trusted proxy forwarded the request without naming
    /// the caller in `X-Forwarded-For`.
    pub fn of(req: &HttpRequest) -> Result<Self, ApiError> {
        let trusted = req
            .app_data::<web::Data<AppState>>()
            .map_or(&[][..], |s| &s.config.trusted_proxies[..]);
        match request::client_ip(req, trusted) {
            (request::Caller::Addr(ip), from_trusted_proxy) => Ok(Self {
                ip,
                from_trusted_proxy,
            }),
            (request::Caller::Unidentified, _) => Err(ApiError::BadRequest(
                "The forwarding proxy did not identify the caller (X-Forwarded-For).".into(),
            )),
        }
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Caller::of(req))
    }
}

/// The caller and the `Authorization` header it sent: what a client authenticates with,
/// beside the `client_id`/`client_secret` pair of the body.
pub struct Credentials {
    /// Who called.
    pub caller: Caller,
    /// The `Authorization` header (visible ASCII), never shown.
    authorization: Option<String>,
    /// The issuer identifier: the only `aud` a client assertion may name.
    issuer: String,
}

/// The client authentication parameters of a standards endpoint's body (RFC 6749 section
/// 2.3.1, RFC 7521 section 4.2): a form holds them and hands them to
/// [`Credentials::exclusive_of`]. Never printed.
#[derive(Default)]
pub struct ClientParams {
    /// `client_id`.
    pub client_id: Option<String>,
    /// `client_secret`.
    pub client_secret: Option<String>,
    /// `client_assertion_type` (only `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`).
    pub client_assertion_type: Option<String>,
    /// `client_assertion`: the signed JWT of `private_key_jwt`.
    pub client_assertion: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("caller", &self.caller)
            .field("authorization", &self.authorization.as_ref().map(|_| "***"))
            .finish()
    }
}

/// How a client presented itself, before it is a [`ClientAuth`].
enum Presented {
    /// `Authorization: Basic`.
    Basic(BasicCredentials),
    /// The body's `client_id` and, for a confidential client, its secret.
    Body(String, Option<String>),
    /// A `private_key_jwt` assertion, with the body's `client_id` when sent.
    Assertion(Option<String>, String),
}

impl FromRequest for Credentials {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Credentials::of(req))
    }
}

impl Credentials {
    /// The credentials of `req` (for a handler that identifies its caller after reading the
    /// body): the caller ([`Caller::of`]) and the `Authorization` header.
    ///
    /// # Errors
    /// As [`Caller::of`].
    pub fn of(req: &HttpRequest) -> Result<Self, ApiError> {
        Ok(Credentials {
            caller: Caller::of(req)?,
            authorization: request::header_str(req, header::AUTHORIZATION).map(str::to_owned),
            issuer: req
                .app_data::<web::Data<AppState>>()
                .map(|s| s.issuer().to_owned())
                .unwrap_or_default(),
        })
    }

    /// The caller's address.
    pub fn ip(&self) -> IpAddr {
        self.caller.ip
    }

    /// The one place a [`ClientAuth`] is made: the presented credentials, with the caller's
    /// address (failed attempts are counted against it).
    fn build(&self, presented: Presented) -> ClientAuth {
        let client = match presented {
            Presented::Basic(basic) => {
                ClientAuth::basic(basic.candidates().map(|p| (p.id.clone(), p.secret.clone())))
            }
            Presented::Body(id, secret) => ClientAuth::new(id, secret.map(Secret::from)),
            Presented::Assertion(id, jwt) => {
                ClientAuth::assertion(id, Secret::from(jwt), self.issuer.clone())
            }
        };
        crate::telemetry::record_client(client.client_id());
        client.with_caller_ip(self.caller.ip)
    }

    /// The `Authorization: Basic` credentials, when the header uses that scheme (a malformed
    /// one is [`ApiError::BadClientAuth`]).
    fn basic_credentials(&self) -> Result<Option<BasicCredentials>, ApiError> {
        match self.authorization.as_deref() {
            Some(value) if request::is_scheme(value, "basic") => codec::parse_basic(value)
                .map(Some)
                .map_err(|_| ApiError::BadClientAuth),
            _ => Ok(None),
        }
    }

    /// The client of `Authorization: Basic`, when the header uses that scheme.
    ///
    /// # Errors
    /// [`ApiError::BadClientAuth`] for a Basic header that does not parse (not base64, not
    /// UTF-8, no `:`).
    pub fn basic(&self) -> Result<Option<ClientAuth>, ApiError> {
        Ok(self
            .basic_credentials()?
            .map(|b| self.build(Presented::Basic(b))))
    }

    /// The `Authorization: Bearer` token, when the header uses that scheme.
    pub fn bearer(&self) -> Option<&str> {
        self.authorization.as_deref().and_then(codec::parse_bearer)
    }

    /// The legacy dialects' rule: `Authorization: Basic`, else the body's pair; `None` when
    /// neither (a blank id or secret counts as absent).
    ///
    /// # Errors
    /// As [`Self::basic`].
    pub fn client(
        &self,
        body_id: Option<String>,
        body_secret: Option<String>,
    ) -> Result<Option<ClientAuth>, ApiError> {
        let blank = |v: &String| v.trim().is_empty();
        if let Some(client) = self.basic()? {
            return Ok(Some(client));
        }
        let secret = body_secret.filter(|s| !blank(s));
        Ok(body_id
            .filter(|id| !blank(id))
            .map(|id| self.build(Presented::Body(id, secret))))
    }

    /// The body's pair alone (otc: both members required, checked by the handler).
    pub fn pair(&self, id: String, secret: String) -> ClientAuth {
        self.build(Presented::Body(id, Some(secret)))
    }

    /// RFC 6749 section 2.3 (`/oauth2/token`): Basic, or `client_id`/`client_secret` in the
    /// body, or a public client's bare `client_id`; two methods at once are refused, and so is
    /// a body `client_id` naming another client than the header. An empty member is absent.
    ///
    /// # Errors
    /// As [`Self::exclusive_of`].
    pub fn exclusive(
        &self,
        body_id: Option<String>,
        body_secret: Option<String>,
    ) -> Result<ClientAuth, ApiError> {
        self.exclusive_of(ClientParams {
            client_id: body_id,
            client_secret: body_secret,
            ..ClientParams::default()
        })
    }

    /// [`Self::exclusive`] with `private_key_jwt` too (RFC 7523 section 2.2): the standards
    /// endpoints (token, introspection, revocation, PAR) build their client here. An
    /// assertion comes with `client_assertion_type` exactly
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`, alone (no Basic header, no
    /// `client_secret`); its `aud` must be the issuer.
    ///
    /// # Errors
    /// [`ApiError::BadRequest`] for two methods at once, an assertion without its type (or
    /// the reverse), or a body `client_id` that is not the header's client;
    /// [`ApiError::BadClientAuth`] for another assertion type or a Basic header that does
    /// not parse; [`ApiError::MissingClient`] when no client is named at all.
    pub fn exclusive_of(&self, params: ClientParams) -> Result<ClientAuth, ApiError> {
        let ClientParams {
            client_id: body_id,
            client_secret: body_secret,
            client_assertion_type,
            client_assertion,
        } = params;
        let body_id = body_id.filter(|v| !v.is_empty());
        let body_secret = body_secret.filter(|v| !v.is_empty());
        let assertion_type = client_assertion_type.filter(|v| !v.is_empty());
        let assertion = client_assertion.filter(|v| !v.is_empty());
        match (assertion_type.as_deref(), assertion) {
            (None, None) => {}
            (Some(gatehouse_domain::client_assertion::ASSERTION_TYPE), Some(jwt)) => {
                if body_secret.is_some() || self.authorization.is_some() {
                    return Err(ApiError::BadRequest(
                        "Use one client authentication method: client_assertion, HTTP Basic or client_secret, not several.".into(),
                    ));
                }
                return Ok(self.build(Presented::Assertion(body_id, jwt)));
            }
            (Some(gatehouse_domain::client_assertion::ASSERTION_TYPE), None) => {
                return Err(ApiError::BadRequest("client_assertion is required.".into()))
            }
            (None, Some(_)) => {
                return Err(ApiError::BadRequest(
                    "client_assertion_type is required.".into(),
                ))
            }
            (Some(_), _) => return Err(ApiError::BadClientAuth),
        }
        if let Some(basic) = self.basic_credentials()? {
            if body_secret.is_some() {
                return Err(ApiError::BadRequest(
                    "Use one client authentication method: HTTP Basic or client_secret in the body, not both.".into(),
                ));
            }
            // RFC 6749 2.3.1: the Basic id is form-encoded (oauth4webapi sends `a%2Db` for
            // `a-b`), so the body's id may match either candidate.
            if body_id
                .as_deref()
                .is_some_and(|id| !basic.candidates().any(|pair| pair.id == id))
            {
                return Err(ApiError::BadRequest(
                    "client_id in the body is not the client of the Authorization header.".into(),
                ));
            }
            return Ok(self.build(Presented::Basic(basic)));
        }
        let id = body_id.ok_or(ApiError::MissingClient)?;
        Ok(self.build(Presented::Body(id, body_secret)))
    }
}

/// How an endpoint decodes its body into `T`.
pub trait Decoding<T> {
    /// Decodes `body` as `req`'s Content-Type says.
    ///
    /// # Errors
    /// [`ApiError::MediaType`] for a Content-Type the endpoint does not read, and the
    /// binding errors of the body in its dialect's words.
    fn decode(req: &HttpRequest, body: &[u8]) -> Result<T, ApiError>;
}

/// Web API's formatters: JSON, XML and form; anything else is 415 ([`Leniency::WebApi`]).
#[derive(Debug)]
pub enum WebApi {}

/// Katana's `/token`: `text/javascript` is JSON, any other body a form, repeated form keys
/// joined ([`Leniency::Katana`]).
#[derive(Debug)]
pub enum Katana {}

/// Introspection and revocation: a strict form or strict JSON ([`request::decode_rfc`]).
#[derive(Debug)]
pub enum Rfc {}

/// RFC 6749's token endpoint: a strict form only ([`request::decode_rfc`]).
#[derive(Debug)]
pub enum RfcForm {}

impl<T: DeserializeOwned + Contract> Decoding<T> for WebApi {
    fn decode(req: &HttpRequest, body: &[u8]) -> Result<T, ApiError> {
        request::decode(req, body, Leniency::WebApi)
    }
}

impl<T: DeserializeOwned + Contract> Decoding<T> for Katana {
    fn decode(req: &HttpRequest, body: &[u8]) -> Result<T, ApiError> {
        request::decode(req, body, Leniency::Katana)
    }
}

impl<T: DeserializeOwned> Decoding<T> for Rfc {
    fn decode(req: &HttpRequest, body: &[u8]) -> Result<T, ApiError> {
        request::decode_rfc(req, body, true)
    }
}

impl<T: DeserializeOwned> Decoding<T> for RfcForm {
    fn decode(req: &HttpRequest, body: &[u8]) -> Result<T, ApiError> {
        request::decode_rfc(req, body, false)
    }
}

/// The body, read within `--body-limit` and the request timeout ([`request::read_body`]),
/// decoded by `D`.
#[derive(Debug)]
pub struct Body<T, D = WebApi> {
    /// The decoded request.
    pub value: T,
    /// The bytes as read (v1 reads a second contract from them).
    pub bytes: web::Bytes,
    decoding: PhantomData<fn() -> D>,
}

impl<T: 'static, D: Decoding<T> + 'static> FromRequest for Body<T, D> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = web::Payload::from_request(&req, payload);
        Box::pin(async move {
            let limit = req
                .app_data::<web::Data<AppState>>()
                .map_or(0, |s| s.config.body_limit);
            let payload = payload.await.map_err(|_| ApiError::Internal)?;
            let bytes = request::read_body(&req, payload, limit).await?;
            let value = D::decode(&req, &bytes)?;
            Ok(Body {
                value,
                bytes,
                decoding: PhantomData,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    const BASIC: &str = "Basic ZGVtby1jbGllbnQ6ZGVtby1zZWNyZXQ="; // demo-client:demo-secret

    fn creds(authorization: Option<&str>) -> Credentials {
        let peer = std::net::SocketAddr::from(([203, 0, 113, 5], 40000));
        let mut req = TestRequest::default().peer_addr(peer);
        if let Some(value) = authorization {
            req = req.insert_header((header::AUTHORIZATION, value));
        }
        match Credentials::of(&req.to_http_request()) {
            Ok(c) => c,
            Err(e) => panic!("no trusted proxy, so the peer is the caller: {e}"),
        }
    }

    fn id(client: &Result<Option<ClientAuth>, ApiError>) -> Option<&str> {
        client
            .as_ref()
            .ok()
            .and_then(|c| c.as_ref())
            .map(|c| c.client_id())
    }

    #[test]
    fn basic_wins_over_the_body_pair_and_blank_members_are_absent() {
        let with_basic = creds(Some(BASIC));
        assert_eq!(with_basic.ip(), IpAddr::from([203, 0, 113, 5]));
        let client = with_basic.client(Some("other".into()), Some("s".into()));
        assert_eq!(id(&client), Some("demo-client"));
        let without = creds(None);
        let body = without.client(Some("demo-public".into()), None);
        assert_eq!(id(&body), Some("demo-public"));
        assert!(matches!(
            without.client(Some("  ".into()), Some("s".into())),
            Ok(None)
        ));
        assert!(matches!(
            creds(Some("Basic !!!")).client(None, None),
            Err(ApiError::BadClientAuth)
        ));
        // Another scheme is not client authentication.
        assert!(matches!(creds(Some("Bearer abc")).basic(), Ok(None)));
        assert_eq!(creds(Some("Bearer abc")).bearer(), Some("abc"));
    }

    #[test]
    fn rfc_6749_allows_one_method_only() {
        let with_basic = creds(Some(BASIC));
        assert!(matches!(
            with_basic.exclusive(None, Some("demo-secret".into())),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            with_basic.exclusive(Some("other".into()), None),
            Err(ApiError::BadRequest(_))
        ));
        let same = with_basic.exclusive(Some("demo-client".into()), None);
        assert_eq!(
            same.map(|c| c.client_id().to_owned()).ok(),
            Some("demo-client".into())
        );
        assert!(matches!(
            creds(None).exclusive(Some(String::new()), None),
            Err(ApiError::MissingClient)
        ));
    }

    #[test]
    fn an_assertion_comes_alone_with_its_type() {
        let params =
            |id: Option<&str>, secret: Option<&str>, ty: Option<&str>, jwt: Option<&str>| {
                ClientParams {
                    client_id: id.map(str::to_owned),
                    client_secret: secret.map(str::to_owned),
                    client_assertion_type: ty.map(str::to_owned),
                    client_assertion: jwt.map(str::to_owned),
                }
            };
        let ty = Some(gatehouse_domain::client_assertion::ASSERTION_TYPE);
        let alone = creds(None).exclusive_of(params(Some("app"), None, ty, Some("a.b.c")));
        assert!(alone
            .as_ref()
            .is_ok_and(|c| c.is_assertion() && c.client_id() == "app"));
        let shown = format!("{:?}", alone.ok());
        assert!(!shown.contains("a.b.c"), "{shown}");
        for (what, p, with_basic) in [
            ("with Basic", params(None, None, ty, Some("a.b.c")), true),
            (
                "with a secret",
                params(Some("app"), Some("s"), ty, Some("a.b.c")),
                false,
            ),
            (
                "without its type",
                params(Some("app"), None, None, Some("a.b.c")),
                false,
            ),
            (
                "a type without it",
                params(Some("app"), None, ty, None),
                false,
            ),
        ] {
            let c = creds(with_basic.then_some(BASIC));
            assert!(
                matches!(c.exclusive_of(p), Err(ApiError::BadRequest(_))),
                "{what}"
            );
        }
        let saml = params(None, None, Some("urn:x:saml2-bearer"), Some("a.b.c"));
        assert!(matches!(
            creds(None).exclusive_of(saml),
            Err(ApiError::BadClientAuth)
        ));
    }

    #[test]
    fn the_authorization_header_never_shows() {
        let shown = format!("{:?}", creds(Some(BASIC)));
        assert!(!shown.contains("ZGVtby1"), "{shown}");
    }
}
