//! The HTTP surface: routes, the path normalisation ASP.NET routing implied, metrics, and
//! one small module per dialect whose handlers extract a typed request ([`extract`]), make
//! one domain call and write the answer in the dialect; a failure is an [`ApiError`], put in
//! the dialect's words by the route's middleware ([`in_dialect`], [`error::render`]).
//!
//! | module | routes |
//! |---|---|
//! | [`katana`] | `POST /token` |
//! | [`v1`] | `POST /api/v1/auth/token` |
//! | [`member`] | `POST /api/Token` |
//! | [`otc`] | `POST /admin/login/auth_code`, `POST /admin/login/token` |
//! | [`onetime`] | `POST /oauth2/onetime/token`, `POST /oauth2/onetime/authorize` |
//! | [`shared`] | introspection, revocation, RFC 8414 metadata, `/healthz`, `/metrics` |
//! | [`standard`] | `/oauth2/authorize`, login, consent, logout, `/oauth2/token` |
//! | [`oidc`] | JWKS, userinfo, OpenID Provider metadata |
//!
//! Each legacy module documents the quirks of its dialect it keeps; what Web API's pipeline
//! did to every legacy answer (negotiated media type and charset, caching headers) is
//! [`legacy`].

use std::borrow::Cow;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode, Uri};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage as _, HttpRequest, HttpResponse, Route};
use tracing::Instrument as _;

pub mod error;
pub mod extract;
mod katana;
pub mod legacy;
mod member;
pub mod oidc;
mod onetime;
mod otc;
mod reply;
pub mod request;
mod shared;
pub mod standard;
mod v1;

pub use error::ApiError;

/// Every route Gatehouse serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /oauth2/onetime/token`
    OneTimeToken,
    /// `POST /oauth2/onetime/authorize`
    OneTimeAuthorize,
    /// `POST /admin/login/auth_code`
    OtcAuthCode,
    /// `POST /admin/login/token`
    OtcToken,
    /// `POST /api/Token`
    MemberToken,
    /// `POST /api/v1/auth/token`
    V1Token,
    /// `POST /token`
    KatanaToken,
    /// `POST /oauth2/introspect`
    Introspect,
    /// `POST /oauth2/revoke`
    Revoke,
    /// `GET /.well-known/oauth-authorization-server`
    Metadata,
    /// `GET /healthz`
    Health,
    /// `GET /metrics`
    Metrics,
}

/// How a dialect words its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// RFC 6749 JSON errors; Katana answers 400 to everything.
    OAuth {
        /// Katana's `/token`.
        katana: bool,
    },
    /// Web API's HttpError, negotiated.
    WebApi,
    /// The otc Header/Body envelope.
    Otc {
        /// The token exchange (else the auth code endpoint).
        token: bool,
    },
}

impl Endpoint {
    /// All of them, for the route table.
    pub const ALL: [Endpoint; 12] = [
        Endpoint::OneTimeToken,
        Endpoint::OneTimeAuthorize,
        Endpoint::OtcAuthCode,
        Endpoint::OtcToken,
        Endpoint::MemberToken,
        Endpoint::V1Token,
        Endpoint::KatanaToken,
        Endpoint::Introspect,
        Endpoint::Revoke,
        Endpoint::Metadata,
        Endpoint::Health,
        Endpoint::Metrics,
    ];

    /// The normalised (lower-case, no trailing slash) path.
    pub fn route(self) -> &'static str {
        match self {
            Endpoint::OneTimeToken => "/oauth2/onetime/token",
            Endpoint::OneTimeAuthorize => "/oauth2/onetime/authorize",
            Endpoint::OtcAuthCode => "/admin/login/auth_code",
            Endpoint::OtcToken => "/admin/login/token",
            Endpoint::MemberToken => "/api/token",
            Endpoint::V1Token => "/api/v1/auth/token",
            Endpoint::KatanaToken => "/token",
            Endpoint::Introspect => "/oauth2/introspect",
            Endpoint::Revoke => "/oauth2/revoke",
            Endpoint::Metadata => "/.well-known/oauth-authorization-server",
            Endpoint::Health => "/healthz",
            Endpoint::Metrics => "/metrics",
        }
    }

    /// The dialect label used in metrics and logs.
    pub fn dialect(self) -> &'static str {
        match self {
            Endpoint::OneTimeToken | Endpoint::OneTimeAuthorize => "onetime",
            Endpoint::OtcAuthCode | Endpoint::OtcToken => "otc",
            Endpoint::MemberToken => "member",
            Endpoint::V1Token => "v1",
            Endpoint::KatanaToken => "katana",
            _ => "shared",
        }
    }

    /// How its errors are worded.
    pub fn family(self) -> Family {
        match self {
            Endpoint::OneTimeToken | Endpoint::OneTimeAuthorize | Endpoint::MemberToken => {
                Family::WebApi
            }
            Endpoint::OtcAuthCode => Family::Otc { token: false },
            Endpoint::OtcToken => Family::Otc { token: true },
            Endpoint::KatanaToken => Family::OAuth { katana: true },
            _ => Family::OAuth { katana: false },
        }
    }

    /// The endpoint of a normalised path.
    pub fn from_route(path: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|e| e.route() == path)
    }
}

/// ASP.NET routing matched paths case-insensitively and ignored a trailing slash: the path
/// is lower-cased and trimmed before routing.
pub fn normalize_path(path: &str) -> Cow<'_, str> {
    let trimmed = match path.trim_end_matches('/') {
        "" => "/",
        t => t,
    };
    if trimmed.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(trimmed.to_ascii_lowercase())
    } else {
        Cow::Borrowed(trimmed)
    }
}

/// Middleware: path normalisation, then metrics and the request's trace span
/// ([`crate::telemetry::request_span`]) around the rest.
pub async fn normalize_and_measure(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let normalized = match normalize_path(req.path()) {
        Cow::Borrowed(p) if p.len() == req.path().len() => None,
        p => Some(p.into_owned()),
    };
    if let Some(path) = normalized {
        let original = legacy::OriginalUri(req.uri().clone());
        req.extensions_mut().insert(original);
        let pq = match req.query_string() {
            "" => path,
            q => format!("{path}?{q}"),
        };
        if let Ok(uri) = pq.parse::<Uri>() {
            req.match_info_mut().get_mut().update(&uri);
            req.head_mut().uri = uri;
        }
    }
    let (route, dialect) = route_label(req.path());
    let span = crate::telemetry::request_span(method_label(req.method()), route, dialect);
    let metrics = req
        .app_data::<web::Data<crate::AppState>>()
        .map(|s| s.clone().into_inner());
    let (res, storage) =
        crate::state::account_storage(next.call(req).instrument(span.clone())).await;
    let res = res?;
    crate::telemetry::finish_request_span(&span, res.status().as_u16(), storage);
    if let Some(state) = metrics {
        state
            .metrics
            .observe(route, dialect, res.status().as_u16(), started.elapsed());
    }
    Ok(res)
}

/// The method as OpenTelemetry names it: a standard one, else `_OTHER`.
fn method_label(method: &actix_web::http::Method) -> &'static str {
    [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    ]
    .into_iter()
    .find(|m| *m == method.as_str())
    .unwrap_or("_OTHER")
}

/// The route template and dialect of a (normalised) path, for metrics and traces:
/// `("unmatched", "none")` for a path no route serves, never the path itself.
fn route_label(path: &str) -> (&'static str, &'static str) {
    match Endpoint::from_route(path) {
        Some(e) => (e.route(), e.dialect()),
        None => match standard::route_label(path).or_else(|| oidc::route_label(path)) {
            Some(route) => (route, "standard"),
            None => ("unmatched", "none"),
        },
    }
}

/// Registers every route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    register(cfg, true);
}

/// Registers every route but `/metrics` (served on its own listener, `--metrics-bind`).
pub fn routes_without_metrics(cfg: &mut web::ServiceConfig) {
    register(cfg, false);
}

fn register(cfg: &mut web::ServiceConfig, with_metrics: bool) {
    for endpoint in Endpoint::ALL {
        if endpoint == Endpoint::Metrics && !with_metrics {
            continue;
        }
        let method = match endpoint {
            Endpoint::Metadata | Endpoint::Health | Endpoint::Metrics => web::get(),
            _ => web::post(),
        };
        let allow = match endpoint {
            Endpoint::Metadata | Endpoint::Health | Endpoint::Metrics => "GET",
            _ => "POST",
        };
        let handler = handler(endpoint, method);
        // Web API's 405: negotiated, in the dialect's casing (the standards endpoints answer
        // the same words; they are not Web API's, so they stay JSON).
        let camel = matches!(
            endpoint,
            Endpoint::OneTimeToken | Endpoint::OneTimeAuthorize
        );
        cfg.service(
            web::resource(endpoint.route())
                .wrap(actix_web::middleware::from_fn(
                    move |req, next: Next<BoxBody>| in_dialect(endpoint, req, next),
                ))
                .route(handler)
                .default_service(web::to(move |req: HttpRequest| async move {
                    let message = format!(
                        "The requested resource does not support http method '{}'.",
                        req.method()
                    );
                    let mut res =
                        legacy::web_api_error(&req, StatusCode::METHOD_NOT_ALLOWED, message, camel);
                    res.headers_mut()
                        .insert(header::ALLOW, header::HeaderValue::from_static(allow));
                    res
                })),
        );
    }
    standard::routes(cfg);
    oidc::routes(cfg);
}

/// The actix route for `endpoint`.
fn handler(endpoint: Endpoint, method: Route) -> Route {
    match endpoint {
        Endpoint::KatanaToken => method.to(katana::token),
        Endpoint::V1Token => method.to(v1::token),
        Endpoint::MemberToken => method.to(member::token),
        Endpoint::OtcAuthCode => method.to(otc::auth_code),
        Endpoint::OtcToken => method.to(otc::token),
        Endpoint::OneTimeToken => method.to(onetime::token),
        Endpoint::OneTimeAuthorize => method.to(onetime::authorize),
        Endpoint::Introspect => method.to(shared::introspect),
        Endpoint::Revoke => method.to(shared::revoke),
        Endpoint::Metadata => method.to(shared::metadata),
        Endpoint::Health => method.to(shared::health),
        Endpoint::Metrics => method.to(shared::metrics),
    }
}

/// Middleware of every [`Endpoint`]'s route: puts the [`extract::Dialect`] (the endpoint and
/// the negotiated format) in the request's extensions, and writes a failure the handler or
/// an extractor returned ([`ApiError`]) in that dialect's words, with a fresh error id.
pub async fn in_dialect(
    endpoint: Endpoint,
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let dialect = extract::Dialect::negotiate(req.request(), endpoint);
    req.extensions_mut().insert(dialect);
    let used_basic = request::uses_basic(req.request());
    let res = next.call(req).await?;
    Ok(error::rewrite(res, |state, err| {
        error::render(endpoint, dialect.format, err, &state.error_id(), used_basic)
    }))
}

/// Web API's answer for a path no route matches: the request URI as sent, absolute.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    let message = format!(
        "No HTTP resource was found that matches the request URI '{}'.",
        legacy::display_uri(&req)
    );
    legacy::web_api_error(&req, StatusCode::NOT_FOUND, message, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalise_like_aspnet_routing() {
        assert_eq!(normalize_path("/api/Token"), "/api/token");
        assert_eq!(normalize_path("/API/TOKEN/"), "/api/token");
        assert_eq!(normalize_path("/token//"), "/token");
        assert_eq!(normalize_path("/"), "/");
        assert!(matches!(normalize_path("/token"), Cow::Borrowed(_)));
        assert_eq!(
            Endpoint::from_route(&normalize_path("/Admin/Login/Auth_Code/")),
            Some(Endpoint::OtcAuthCode)
        );
    }
}
