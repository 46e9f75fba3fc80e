//! Resource-server helpers: validate the bearer token of an incoming request.
//!
//! - [`Introspector`]: RFC 7662 introspection at Gatehouse (any token of any dialect), with a
//!   cache bounded in size and time; an answer is never used past the token's `exp`.
//! - [`JwtValidator`]: RFC 9068 JWT access tokens (`typ` `at+jwt`) verified against the
//!   server's JWKS, algorithms pinned, the JWKS cached and fetched again on an unknown `kid`
//!   (at most once per [`JwtValidator::refetch_interval`]).
//!
//! - `KatanaValidator` (feature `katana`): a Katana bearer ticket under the legacy
//!   `<machineKey>`, checked locally as the legacy APIs' `OAuthBearerAuthenticationMiddleware`
//!   did, but stricter: a ticket without `.expires` is refused (Katana accepted it forever).
//!
//! All implement [`Validator`], which the `actix` and `axum` extractors use.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use gatehouse_models::oauth::IntrospectionResponse;
use serde::Deserialize;
use serde_json::Value;

use crate::{Client, ClientCredentials, Error, Secret};

/// Who a valid token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// `sub`: the user id, or the client for client credentials.
    pub subject: Option<String>,
    /// The user name, where the server tells it.
    pub username: Option<String>,
    /// The client the token was issued to.
    pub client_id: Option<String>,
    /// The granted scopes.
    pub scopes: Vec<String>,
    /// Expiry, seconds since the Unix epoch.
    pub expires_at: Option<i64>,
}

impl Principal {
    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// The future a [`Validator`] returns.
pub type ValidateFuture<'a> = Pin<Box<dyn Future<Output = Result<Principal, Error>> + Send + 'a>>;

/// Validates a bearer token.
pub trait Validator: Send + Sync {
    /// The principal of `token`, or [`Error::InvalidToken`] (or a transport error).
    fn validate<'a>(&'a self, token: &'a str) -> ValidateFuture<'a>;
}

#[expect(
    clippy::disallowed_methods,
    reason = "a resource server compares exp with the wall clock; this crate has no injected clock"
)]
fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn scopes(scope: Option<&str>) -> Vec<String> {
    scope
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A cache of answers keyed by the SHA-256 of the token (the token itself is not kept).
struct Cache<V> {
    entries: HashMap<[u8; 32], (V, Instant)>,
    order: VecDeque<[u8; 32]>,
    capacity: usize,
}

impl<V: Clone> Cache<V> {
    fn new(capacity: usize) -> Self {
        Cache {
            entries: HashMap::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    fn key(token: &str) -> [u8; 32] {
        let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(digest.as_ref());
        key
    }

    fn get(&mut self, key: &[u8; 32]) -> Option<V> {
        match self.entries.get(key) {
            Some((value, until)) if Instant::now() < *until => Some(value.clone()),
            Some(_) => {
                self.entries.remove(key);
                None
            }
            None => None,
        }
    }

    fn put(&mut self, key: [u8; 32], value: V, until: Instant) {
        if self.capacity == 0 {
            return;
        }
        while self.entries.len() >= self.capacity {
            match self.order.pop_front() {
                Some(old) => {
                    self.entries.remove(&old);
                }
                None => break,
            }
        }
        if self.entries.insert(key, (value, until)).is_none() {
            self.order.push_back(key);
        }
    }
}

/// Validates tokens by RFC 7662 introspection at Gatehouse, as a confidential client with
/// introspection rights.
///
/// An active answer is cached for at most [`Introspector::max_age`] and never past the
/// token's `exp`; an inactive one for `max_age` too (a refused token does not become valid).
/// A revocation at Gatehouse is therefore seen within `max_age` (default 30 s; zero turns the
/// cache off).
pub struct Introspector {
    client: Client,
    credentials: ClientCredentials,
    max_age: Duration,
    cache: Mutex<Cache<Option<Principal>>>,
}

impl Introspector {
    /// Introspects at `client`'s server with `credentials`; at most 10,000 cached answers,
    /// each for at most 30 s.
    pub fn new(client: Client, credentials: ClientCredentials) -> Self {
        Introspector {
            client,
            credentials,
            max_age: Duration::from_secs(30),
            cache: Mutex::new(Cache::new(10_000)),
        }
    }

    /// How long an answer is reused (zero: ask every time).
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// How many answers are kept (the oldest go first).
    #[must_use]
    pub fn capacity(self, capacity: usize) -> Self {
        Introspector {
            cache: Mutex::new(Cache::new(capacity)),
            ..self
        }
    }

    /// The principal of `token`.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] for an inactive token; the client's errors otherwise.
    pub async fn check(&self, token: &str) -> Result<Principal, Error> {
        let key = Cache::<Option<Principal>>::key(token);
        let cached = self
            .cache
            .lock()
            .map_err(|_| Error::InvalidToken("cache poisoned"))?
            .get(&key);
        let answer = match cached {
            Some(answer) => answer,
            None => {
                let info = self
                    .client
                    .introspect(&self.credentials, &Secret::new(token))
                    .await?;
                let answer = principal_of(&info);
                let mut until = Instant::now() + self.max_age;
                if let Some(exp) = answer.as_ref().and_then(|p| p.expires_at) {
                    let left = u64::try_from(exp - now_unix()).unwrap_or(0);
                    until = until.min(Instant::now() + Duration::from_secs(left));
                }
                if let Ok(mut cache) = self.cache.lock() {
                    cache.put(key, answer.clone(), until);
                }
                answer
            }
        };
        match answer {
            Some(p) if p.expires_at.is_none_or(|exp| exp > now_unix()) => Ok(p),
            _ => Err(Error::InvalidToken("the token is not active")),
        }
    }
}

fn principal_of(info: &IntrospectionResponse) -> Option<Principal> {
    info.active.then(|| Principal {
        subject: info.sub.clone(),
        username: info.username.clone(),
        client_id: info.client_id.clone(),
        scopes: scopes(info.scope.as_deref()),
        expires_at: info.exp,
    })
}

impl Validator for Introspector {
    fn validate<'a>(&'a self, token: &'a str) -> ValidateFuture<'a> {
        Box::pin(self.check(token))
    }
}

/// A JWS algorithm a [`JwtValidator`] accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// ECDSA P-256 with SHA-256 (Gatehouse's default for access tokens).
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// Ed25519.
    EdDsa,
}

impl Algorithm {
    fn name(self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::Rs256 => "RS256",
            Algorithm::EdDsa => "EdDSA",
        }
    }
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize, Clone)]
struct Jwk {
    kid: Option<String>,
    kty: String,
    alg: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

struct KeySet {
    keys: HashMap<String, Jwk>,
    fetched: Option<Instant>,
}

/// Validates RFC 9068 JWT access tokens locally, against the server's JWKS.
///
/// Checks: the signature with the key named by `kid`, an algorithm of the pinned list that
/// is the key's own, `typ` `at+jwt`, `iss`, `aud` (containing the configured audience),
/// `exp` (and `nbf`, `iat` not in the future) with a leeway of 30 s.
/// A JWT cannot tell a revocation: keep lifetimes short or use an [`Introspector`].
pub struct JwtValidator {
    client: Client,
    jwks_uri: String,
    issuer: String,
    audience: String,
    algorithms: Vec<Algorithm>,
    refetch_interval: Duration,
    leeway: i64,
    keys: tokio::sync::Mutex<KeySet>,
}

impl JwtValidator {
    /// Validates tokens of `issuer` for `audience`, signed with one of `algorithms`, with the
    /// keys at `jwks_uri` (relative to `client`'s base URL, or absolute).
    pub fn new(
        client: Client,
        jwks_uri: impl Into<String>,
        issuer: impl Into<String>,
        audience: impl Into<String>,
        algorithms: &[Algorithm],
    ) -> Self {
        JwtValidator {
            client,
            jwks_uri: jwks_uri.into(),
            issuer: issuer.into(),
            audience: audience.into(),
            algorithms: algorithms.to_vec(),
            refetch_interval: Duration::from_secs(30),
            leeway: 30,
            keys: tokio::sync::Mutex::new(KeySet {
                keys: HashMap::new(),
                fetched: None,
            }),
        }
    }

    /// The shortest time between two JWKS fetches caused by unknown `kid`s (default 30 s):
    /// tokens with made-up `kid`s cannot make the validator hammer the server.
    #[must_use]
    pub fn refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self
    }

    async fn key(&self, kid: &str) -> Result<Jwk, Error> {
        let mut set = self.keys.lock().await;
        if let Some(key) = set.keys.get(kid) {
            return Ok(key.clone());
        }
        if set
            .fetched
            .is_some_and(|at| at.elapsed() < self.refetch_interval)
        {
            return Err(Error::InvalidToken("unknown key id"));
        }
        let answer = self.client.get(&self.jwks_uri, None).await?;
        set.fetched = Some(Instant::now());
        let jwks: Jwks = answer.into_json()?;
        set.keys = jwks
            .keys
            .into_iter()
            .filter_map(|k| k.kid.clone().map(|kid| (kid, k)))
            .collect();
        set.keys
            .get(kid)
            .cloned()
            .ok_or(Error::InvalidToken("unknown key id"))
    }

    /// The principal of `token`.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] naming the check that failed; a transport error when the JWKS
    /// could not be fetched.
    pub async fn check(&self, token: &str) -> Result<Principal, Error> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::InvalidToken("not a compact JWS"));
        };
        let header: Value = decode_part(h)?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let algorithm = self
            .algorithms
            .iter()
            .copied()
            .find(|a| a.name() == alg)
            .ok_or(Error::InvalidToken("algorithm not allowed"))?;
        if header
            .get("typ")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
            .as_deref()
            != Some("at+jwt")
        {
            return Err(Error::InvalidToken("not an RFC 9068 access token (typ)"));
        }
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or(Error::InvalidToken("no key id"))?;
        let key = self.key(kid).await?;
        let signature = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| Error::InvalidToken("signature is not base64url"))?;
        verify(algorithm, &key, format!("{h}.{p}").as_bytes(), &signature)?;
        let claims: Value = decode_part(p)?;
        self.claims(&claims)
    }

    fn claims(&self, claims: &Value) -> Result<Principal, Error> {
        let now = now_unix();
        let number = |name: &str| claims.get(name).and_then(Value::as_i64);
        let exp = number("exp").ok_or(Error::InvalidToken("no exp"))?;
        if exp + self.leeway <= now {
            return Err(Error::InvalidToken("expired"));
        }
        if number("nbf").is_some_and(|nbf| nbf - self.leeway > now)
            || number("iat").is_some_and(|iat| iat - self.leeway > now)
        {
            return Err(Error::InvalidToken("not yet valid"));
        }
        if claims.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(Error::InvalidToken("another issuer"));
        }
        let audience_ok = match claims.get("aud") {
            Some(Value::String(a)) => *a == self.audience,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(&self.audience)),
            _ => false,
        };
        if !audience_ok {
            return Err(Error::InvalidToken("another audience"));
        }
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        Ok(Principal {
            subject: text("sub"),
            username: text("preferred_username").or_else(|| text("username")),
            client_id: text("client_id"),
            scopes: scopes(claims.get("scope").and_then(Value::as_str)),
            expires_at: Some(exp),
        })
    }
}

impl Validator for JwtValidator {
    fn validate<'a>(&'a self, token: &'a str) -> ValidateFuture<'a> {
        Box::pin(self.check(token))
    }
}

fn decode_part(part: &str) -> Result<Value, Error> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| Error::InvalidToken("a part is not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| Error::InvalidToken("a part is not JSON"))
}

fn b64(field: Option<&String>) -> Result<Vec<u8>, Error> {
    field
        .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
        .ok_or(Error::InvalidToken("the key is incomplete"))
}

/// The signature over `message` with `key`, which must be of `algorithm`'s type.
fn verify(algorithm: Algorithm, key: &Jwk, message: &[u8], signature: &[u8]) -> Result<(), Error> {
    use ring::signature::{self as sig, UnparsedPublicKey};
    if key.alg.as_deref().is_some_and(|a| a != algorithm.name()) {
        return Err(Error::InvalidToken("the key is for another algorithm"));
    }
    let bad = |_| Error::InvalidToken("bad signature");
    match (algorithm, key.kty.as_str(), key.crv.as_deref()) {
        (Algorithm::Es256, "EC", Some("P-256")) => {
            let mut point = vec![4u8];
            point.extend(b64(key.x.as_ref())?);
            point.extend(b64(key.y.as_ref())?);
            UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, point)
                .verify(message, signature)
                .map_err(bad)
        }
        (Algorithm::Rs256, "RSA", _) => sig::RsaPublicKeyComponents {
            n: b64(key.n.as_ref())?,
            e: b64(key.e.as_ref())?,
        }
        .verify(&sig::RSA_PKCS1_2048_8192_SHA256, message, signature)
        .map_err(bad),
        (Algorithm::EdDsa, "OKP", Some("Ed25519")) => {
            UnparsedPublicKey::new(&sig::ED25519, b64(key.x.as_ref())?)
                .verify(message, signature)
                .map_err(bad)
        }
        _ => Err(Error::InvalidToken("the key is for another algorithm")),
    }
}

#[cfg(feature = "katana")]
mod katana {
    use gatehouse_katana::{
        MachineKey, TicketFormat, NAME_CLAIM, NAME_IDENTIFIER_CLAIM, ROLE_CLAIM,
    };

    use super::{now_unix, Principal, ValidateFuture, Validator};
    use crate::Error;

    /// Validates Katana bearer tickets under the legacy machineKey, locally.
    ///
    /// Checks the MAC and decryption (`MachineKey.Unprotect` with the OAuth access-token
    /// purposes), the `Bearer` authentication type, and `.expires` (required: Katana's own
    /// middleware accepted a ticket without one forever). The principal's subject is the
    /// `NameIdentifier` claim, its user name the `Name` claim, its scopes the role claims.
    /// A ticket cannot tell a revocation at Gatehouse: introspect when that matters.
    #[derive(Debug, Clone)]
    pub struct KatanaValidator {
        format: TicketFormat,
    }

    impl KatanaValidator {
        /// Validates tickets protected under `key`.
        pub fn new(key: &MachineKey) -> Self {
            KatanaValidator {
                format: TicketFormat::access_token(key),
            }
        }

        /// The principal of `token`.
        ///
        /// # Errors
        /// [`Error::InvalidToken`] naming the check that failed.
        pub fn check(&self, token: &str) -> Result<Principal, Error> {
            let ticket = self
                .format
                .unprotect(token)
                .map_err(|_| Error::InvalidToken("not a ticket under this machineKey"))?;
            if ticket.authentication_type != "Bearer" {
                return Err(Error::InvalidToken("not a bearer ticket"));
            }
            let expires = ticket
                .expires()
                .ok_or(Error::InvalidToken("no .expires"))?
                .unix_timestamp();
            if expires <= now_unix() {
                return Err(Error::InvalidToken("expired"));
            }
            let roles = ticket
                .claims
                .iter()
                .filter(|c| c.claim_type == ROLE_CLAIM)
                .map(|c| c.value.clone())
                .collect();
            Ok(Principal {
                subject: ticket.claim(NAME_IDENTIFIER_CLAIM).map(str::to_owned),
                username: ticket.claim(NAME_CLAIM).map(str::to_owned),
                client_id: None,
                scopes: roles,
                expires_at: Some(expires),
            })
        }
    }

    impl Validator for KatanaValidator {
        fn validate<'a>(&'a self, token: &'a str) -> ValidateFuture<'a> {
            Box::pin(std::future::ready(self.check(token)))
        }
    }
}

#[cfg(feature = "katana")]
pub use katana::KatanaValidator;

/// The token of an `Authorization: Bearer` header value.
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

#[cfg(feature = "actix")]
mod actix {
    //! `Bearer`: an actix-web extractor. Register the validator as app data:
    //! `App::new().app_data(web::Data::new(Validators::new(introspector)))`.
    use std::future::Future;
    use std::pin::Pin;

    use actix_web::http::header;
    use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};

    use super::{bearer_token, Principal, Validators};

    /// A request's validated bearer token; refused with 401 and
    /// `WWW-Authenticate: Bearer error="invalid_token"`.
    #[derive(Debug, Clone)]
    pub struct Bearer(pub Principal);

    /// Why [`Bearer`] refused.
    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    pub struct BearerRejection(&'static str);

    impl ResponseError for BearerRejection {
        fn error_response(&self) -> HttpResponse {
            HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, r#"Bearer error="invalid_token""#))
                .finish()
        }
    }

    impl FromRequest for Bearer {
        type Error = BearerRejection;
        type Future = Pin<Box<dyn Future<Output = Result<Bearer, BearerRejection>>>>;

        fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
            let validators = req.app_data::<web::Data<Validators>>().cloned();
            let token = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(bearer_token)
                .map(str::to_owned);
            Box::pin(async move {
                let validators = validators.ok_or(BearerRejection("no validator configured"))?;
                let token = token.ok_or(BearerRejection("no bearer token"))?;
                validators
                    .0
                    .validate(&token)
                    .await
                    .map(Bearer)
                    .map_err(|_| BearerRejection("invalid token"))
            })
        }
    }
}

#[cfg(feature = "actix")]
pub use actix::{Bearer, BearerRejection};

#[cfg(feature = "axum")]
mod axum {
    //! `AxumBearer`: an axum extractor; the state must give a [`Validators`] (`FromRef`).
    use axum_core::extract::{FromRef, FromRequestParts};
    use axum_core::response::{IntoResponse, Response};
    use http::request::Parts;
    use http::{header, StatusCode};

    use super::{bearer_token, Principal, Validators};

    /// A request's validated bearer token.
    #[derive(Debug, Clone)]
    pub struct AxumBearer(pub Principal);

    /// 401 with `WWW-Authenticate: Bearer error="invalid_token"`.
    #[derive(Debug)]
    pub struct AxumBearerRejection;

    impl IntoResponse for AxumBearerRejection {
        fn into_response(self) -> Response {
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, r#"Bearer error="invalid_token""#)],
            )
                .into_response()
        }
    }

    impl<S> FromRequestParts<S> for AxumBearer
    where
        Validators: FromRef<S>,
        S: Send + Sync,
    {
        type Rejection = AxumBearerRejection;

        async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
            let validators = Validators::from_ref(state);
            let token = parts
                .headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(bearer_token)
                .ok_or(AxumBearerRejection)?;
            validators
                .0
                .validate(token)
                .await
                .map(AxumBearer)
                .map_err(|_| AxumBearerRejection)
        }
    }
}

#[cfg(feature = "axum")]
pub use axum::{AxumBearer, AxumBearerRejection};

/// The validator the extractors use (cheap to clone).
#[derive(Clone)]
pub struct Validators(pub std::sync::Arc<dyn Validator>);

impl Validators {
    /// Wraps `validator`.
    pub fn new(validator: impl Validator + 'static) -> Self {
        Validators(std::sync::Arc::new(validator))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_is_bounded_and_forgets_at_its_deadline() {
        let mut cache = Cache::new(2);
        let later = Instant::now() + Duration::from_secs(60);
        for i in 0u8..5 {
            cache.put([i; 32], i, later);
        }
        assert_eq!(cache.entries.len(), 2);
        assert_eq!(cache.get(&[4; 32]), Some(4));
        assert_eq!(cache.get(&[0; 32]), None);
        cache.put([9; 32], 9, Instant::now());
        assert_eq!(cache.get(&[9; 32]), None, "past its deadline");
    }

    #[test]
    fn bearer_headers() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }
}
