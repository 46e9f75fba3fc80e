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
//! | [`standard`] | `/oauth2/authorize`, login, consent, logout, `/oauth2/token`, `/oauth2/par` |
//! | [`oidc`] | JWKS, userinfo, OpenID Provider metadata |
//! | `crate::help` | `/Help`, `/openapi.json` |
//!
//! The routes are one table, [`Endpoint`] (`gatehouse_models::routes`); [`routes`] registers
//! them from it.
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

pub mod dpop;
pub mod error;
pub mod extract;
pub mod grant;
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

/// The route table (`gatehouse_models::routes`): every route Gatehouse serves, registered
/// from it by [`routes`].
pub use gatehouse_models::routes::{Endpoint, Family, Method};

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
///
/// # Errors
/// What the inner service returns (a handler's failure is already a response).
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
    // The route template (never the path as sent) and the dialect, for metrics and traces.
    let (route, dialect) = Endpoint::from_route(req.path())
        .map_or(("unmatched", "none"), |e| (e.route(), e.dialect()));
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

/// Which routes a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Served {
    /// `/metrics` (off when it has its own listener, `--metrics-bind`).
    pub metrics: bool,
    /// `/Help` and `/openapi.json` (`--help-pages`).
    pub help: bool,
}

/// Registers every [`Endpoint`] `served` names, each with its methods' handlers, its
/// dialect's middleware ([`in_dialect`]) and the one 405 answer ([`method_not_allowed`]).
pub fn routes(served: Served) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        for endpoint in Endpoint::ALL {
            let skip = match endpoint {
                Endpoint::Metrics => !served.metrics,
                e if e.dialect() == "help" => !served.help,
                _ => false,
            };
            if skip {
                continue;
            }
            let mut resource = web::resource(endpoint.route())
                .wrap(actix_web::middleware::from_fn(
                    move |req, next: Next<BoxBody>| in_dialect(endpoint, req, next),
                ))
                .default_service(web::to(move |req: HttpRequest| async move {
                    method_not_allowed(endpoint, &req)
                }));
            for method in endpoint.methods() {
                resource = resource.route(handler(endpoint, *method));
            }
            cfg.service(resource);
        }
    }
}

/// The one 405: Web API's (negotiated, in the dialect's casing) on the legacy host, RFC 6749
/// section 5.2's `invalid_request` on the standards surface; `Allow` lists the methods.
fn method_not_allowed(endpoint: Endpoint, req: &HttpRequest) -> HttpResponse {
    let mut res = if endpoint.on_legacy_host() {
        let message = format!(
            "The requested resource does not support http method '{}'.",
            req.method()
        );
        let camel = endpoint.family() == (Family::WebApi { camel: true });
        legacy::web_api_error(req, StatusCode::METHOD_NOT_ALLOWED, message, camel)
    } else {
        error::OAuthAnswer::new(
            StatusCode::METHOD_NOT_ALLOWED,
            gatehouse_models::oauth::ErrorCode::InvalidRequest,
            "Method not allowed.",
        )
        .respond()
    };
    res.headers_mut().insert(
        header::ALLOW,
        header::HeaderValue::from_static(endpoint.allow()),
    );
    res
}

/// The actix route of `endpoint`'s `method`.
fn handler(endpoint: Endpoint, method: Method) -> Route {
    use standard::{authorize, device, logout, par, token};
    let route = match method {
        Method::Get => web::get(),
        Method::Post => web::post(),
    };
    match (endpoint, method) {
        (Endpoint::KatanaToken, _) => route.to(katana::token),
        (Endpoint::V1Token, _) => route.to(v1::token),
        (Endpoint::MemberToken, _) => route.to(member::token),
        (Endpoint::OtcAuthCode, _) => route.to(otc::auth_code),
        (Endpoint::OtcToken, _) => route.to(otc::token),
        (Endpoint::OneTimeToken, _) => route.to(onetime::token),
        (Endpoint::OneTimeAuthorize, _) => route.to(onetime::authorize),
        (Endpoint::Introspect, _) => route.to(shared::introspect),
        (Endpoint::Revoke, _) => route.to(shared::revoke),
        (Endpoint::Metadata, _) => route.to(shared::metadata),
        (Endpoint::Health, _) => route.to(shared::health),
        (Endpoint::Metrics, _) => route.to(shared::metrics),
        (Endpoint::Authorize, _) => route.to(authorize::authorize),
        (Endpoint::Login, _) => route.to(authorize::login),
        (Endpoint::Consent, _) => route.to(authorize::consent),
        (Endpoint::Logout, Method::Get) => route.to(logout::end_session_get),
        (Endpoint::Logout, Method::Post) => route.to(logout::end_session_post),
        (Endpoint::Token, _) => route.to(token::token),
        (Endpoint::Par, _) => route.to(par::push),
        (Endpoint::DeviceAuthorization, _) => route.to(device::authorization),
        (Endpoint::Device, Method::Get) => route.to(device::page),
        (Endpoint::Device, Method::Post) => route.to(device::submit),
        (Endpoint::Jwks, _) => route.to(oidc::jwks),
        (Endpoint::UserInfo, _) => route.to(oidc::userinfo),
        (Endpoint::OpenIdConfiguration, _) => route.to(oidc::configuration),
        (Endpoint::HelpIndex, _) => route.to(crate::help::index),
        (Endpoint::HelpApi, _) => route.to(crate::help::api),
        (Endpoint::HelpModel, _) => route.to(crate::help::model),
        (Endpoint::OpenApi, _) => route.to(crate::help::openapi),
    }
}

/// Middleware of every [`Endpoint`]'s route: puts the [`extract::Dialect`] (the endpoint and
/// the negotiated format) in the request's extensions, and writes a failure the handler or
/// an extractor returned ([`ApiError`]) in that dialect's words, with a fresh error id.
///
/// # Errors
/// What the inner service returns (a handler's failure is already a response).
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
