//! `--admin-bind`: the admin API (`/admin/v1/`, JSON, documented by its own OpenAPI document
//! at `/admin/v1/openapi.json`) on its own listener, never on the main one.
//!
//! Every call but the OpenAPI document needs `Authorization: Bearer` with an access token of
//! a confidential client holding `gatehouse:admin`, obtained by the client-credentials grant
//! (the rule: [`gatehouse_domain::service::admin`]). Every call is audited (`admin_action`
//! with the client id as operator, or `admin_refused` with the reason) and counted
//! (`gatehouse_admin_requests_total{outcome}`). Refusals are RFC 6750 challenges with an
//! RFC 9457 problem body; bad input is a 400 problem, never a 500.
//!
//! The operations are the command line's ([`crate::cli`]): the same domain calls and the
//! same JSON shapes ([`crate::cli::view`]).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::http::{header, StatusCode};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use gatehouse_domain::audit::{AuditEvent, Operator};
use gatehouse_domain::service::admin::{AdminCaller, AdminRefusal, ADMIN_SCOPE};
use gatehouse_domain::Error as DomainError;
use serde_json::{json, Value};

use crate::cli::exit::{Exit, Failure};
use crate::state::{AppState, Service};
use crate::StartError;

mod api;
pub mod console;

/// The realm of the admin API's Bearer challenges.
const REALM: &str = "gatehouse-admin";

/// The largest request body accepted (a client update is well under 4 KiB).
const MAX_BODY: usize = 64 * 1024;

static OK: AtomicU64 = AtomicU64::new(0);
static REFUSED: AtomicU64 = AtomicU64::new(0);

/// Admin API calls answered by this process: `(succeeded, refused)` (for `/metrics`).
pub fn counts() -> (u64, u64) {
    (OK.load(Ordering::Relaxed), REFUSED.load(Ordering::Relaxed))
}

/// Why an admin call failed: a refused caller, or the operation's own refusal.
#[derive(Debug)]
pub enum AdminError {
    /// The Bearer token may not call the admin API.
    Caller(AdminRefusal),
    /// A malformed query or body.
    BadInput(String),
    /// The domain refused or failed.
    Domain(DomainError),
    /// A command-line rule refused (shared with the CLI).
    Cli(Failure),
    /// Not available in this configuration (no audit file, no key-encryption key).
    Unavailable(String),
    /// A known path with another method.
    MethodNotAllowed,
}

impl From<DomainError> for AdminError {
    fn from(e: DomainError) -> Self {
        AdminError::Domain(e)
    }
}

impl From<Failure> for AdminError {
    fn from(f: Failure) -> Self {
        AdminError::Cli(f)
    }
}

impl AdminError {
    /// The status, and the `reason` of the `admin_refused` event.
    fn status_and_reason(&self) -> (StatusCode, &'static str) {
        match self {
            AdminError::Caller(r) if r.bearer_error() == Some("insufficient_scope") => {
                (StatusCode::FORBIDDEN, r.as_str())
            }
            AdminError::Caller(r) => (StatusCode::UNAUTHORIZED, r.as_str()),
            AdminError::BadInput(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            AdminError::Unavailable(_) => (StatusCode::CONFLICT, "unavailable"),
            AdminError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            AdminError::Domain(e) => match e {
                DomainError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
                DomainError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
                DomainError::InvalidRequest(_) | DomainError::InvalidScope => {
                    (StatusCode::BAD_REQUEST, "invalid_request")
                }
                DomainError::SigningUnavailable(_) => (StatusCode::CONFLICT, "unavailable"),
                _ => (StatusCode::INTERNAL_SERVER_ERROR, "error"),
            },
            AdminError::Cli(f) => match f.exit {
                Exit::NotFound => (StatusCode::NOT_FOUND, "not_found"),
                Exit::Refused => (StatusCode::CONFLICT, "conflict"),
                Exit::Invalid => (StatusCode::BAD_REQUEST, "invalid_request"),
                Exit::Failed => (StatusCode::INTERNAL_SERVER_ERROR, "error"),
            },
        }
    }

    /// What the problem body's `detail` says (never a secret: domain messages name users,
    /// clients and keys only; internal failures say nothing but their id).
    fn detail(&self, error_id: &str) -> String {
        match self {
            AdminError::Caller(AdminRefusal::NoToken) => {
                format!("a Bearer access token of a client holding {ADMIN_SCOPE} is required")
            }
            AdminError::Caller(AdminRefusal::InvalidToken) => {
                "the access token is unknown, expired or revoked".to_owned()
            }
            AdminError::Caller(r) => format!(
                "this token may not call the admin API ({}): it needs a client-credentials token of a confidential client holding {ADMIN_SCOPE}",
                r.as_str()
            ),
            AdminError::BadInput(why) | AdminError::Unavailable(why) => why.clone(),
            AdminError::MethodNotAllowed => {
                "this method is not defined for this path (see /admin/v1/openapi.json)".to_owned()
            }
            AdminError::Cli(f) if f.exit != Exit::Failed => f.message.clone(),
            AdminError::Domain(
                e @ (DomainError::NotFound(_)
                | DomainError::Conflict(_)
                | DomainError::InvalidRequest(_)
                | DomainError::InvalidScope
                | DomainError::SigningUnavailable(_)),
            ) => e.to_string(),
            _ => format!("internal error {error_id}"),
        }
    }
}

/// An RFC 9457 problem (`application/problem+json`), with the RFC 6750 challenge when the
/// caller was refused.
fn problem(state: &AppState, error: &AdminError) -> HttpResponse {
    let (status, _) = error.status_and_reason();
    let error_id = state.error_id();
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(error_id, error = ?error, "admin API call failed");
    }
    let mut response = HttpResponse::build(status);
    if let AdminError::Caller(refusal) = error {
        let challenge = match refusal.bearer_error() {
            None => format!("Bearer realm=\"{REALM}\""),
            Some(code @ "insufficient_scope") => {
                format!("Bearer realm=\"{REALM}\", error=\"{code}\", scope=\"{ADMIN_SCOPE}\"")
            }
            Some(code) => format!("Bearer realm=\"{REALM}\", error=\"{code}\""),
        };
        response.insert_header((header::WWW_AUTHENTICATE, challenge));
    }
    response.content_type("application/problem+json").body(
        json!({
            "type": "about:blank",
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": error.detail(&error_id),
        })
        .to_string(),
    )
}

/// `METHOD /route/{pattern}` of a request (never its query: nothing a caller typed beyond
/// the path's names).
fn request_name(req: &HttpRequest) -> String {
    format!(
        "{} {}",
        req.method(),
        req.match_pattern()
            .unwrap_or_else(|| "(unmatched)".to_owned())
    )
}

/// Records a refused call: audited and counted.
fn refused(
    state: &AppState,
    req: &HttpRequest,
    operator: Option<String>,
    error: &AdminError,
) -> HttpResponse {
    let (_, reason) = error.status_and_reason();
    state.service.audit(AuditEvent::AdminRefused {
        operator,
        via: "admin_api",
        request: request_name(req),
        reason,
    });
    REFUSED.fetch_add(1, Ordering::Relaxed);
    problem(state, error)
}

/// The caller, or why not (the token validated like introspection does).
async fn authenticate(state: &AppState, req: &HttpRequest) -> Result<AdminCaller, AdminError> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(gatehouse_codec::parse_bearer)
        .map(str::to_owned)
        .ok_or(AdminError::Caller(AdminRefusal::NoToken))?;
    let service = state.service.clone();
    web::block(move || service.authorize_admin(&token))
        .await
        .map_err(|_| AdminError::Unavailable("the server is shutting down".to_owned()))?
        .map_err(AdminError::Domain)?
        .map_err(AdminError::Caller)
}

/// One admin call: authenticates, runs `op` on the blocking pool, audits (`admin_action`
/// with `action` and `target`, or `admin_refused`), counts, and answers `op`'s JSON.
async fn run<F>(
    state: web::Data<AppState>,
    req: HttpRequest,
    action: &'static str,
    target: String,
    op: F,
) -> HttpResponse
where
    F: FnOnce(&Service) -> Result<Value, AdminError> + Send + 'static,
{
    let caller = match authenticate(&state, &req).await {
        Ok(caller) => caller,
        Err(e) => return refused(&state, &req, None, &e),
    };
    let service = state.service.clone();
    let result = match web::block(move || op(&service)).await {
        Ok(result) => result,
        Err(_) => Err(AdminError::Unavailable(
            "the server is shutting down".to_owned(),
        )),
    };
    match result {
        Ok(body) => {
            state.service.audit(AuditEvent::AdminAction {
                by: Operator {
                    operator: caller.client_id,
                    via: "admin_api",
                },
                action,
                target,
            });
            OK.fetch_add(1, Ordering::Relaxed);
            HttpResponse::Ok()
                .content_type("application/json")
                .body(body.to_string())
        }
        Err(e) => refused(&state, &req, Some(caller.client_id), &e),
    }
}

/// A JSON body (an empty body is `T::default()`), or a 400.
fn parse_body<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, AdminError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| AdminError::BadInput(format!("request body: {e}")))
}

/// A query string, or a 400.
fn parse_query<T: serde::de::DeserializeOwned>(req: &HttpRequest) -> Result<T, AdminError> {
    web::Query::<T>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| AdminError::BadInput(format!("query: {e}")))
}

/// Unknown paths: a 404 problem (audited and counted as a refusal: a scan shows up).
async fn not_found(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let error = AdminError::Domain(DomainError::NotFound(format!(
        "no such path: {} (see /admin/v1/openapi.json)",
        req.path()
    )));
    refused(&state, &req, None, &error)
}

/// A known path with another method: a 405 problem (audited and counted).
async fn method_not_allowed(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    refused(&state, &req, None, &AdminError::MethodNotAllowed)
}

/// The admin listener's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    api::routes(cfg);
    console::routes(cfg);
}

/// The `--admin-bind` listener.
///
/// # Errors
/// The address cannot be bound.
pub fn server(
    data: web::Data<AppState>,
    bind: SocketAddr,
    public_url: Option<String>,
) -> Result<(actix_web::dev::Server, SocketAddr), StartError> {
    let registered = data.clone();
    let public = web::Data::new(console::PublicUrl(public_url));
    let registered_public = public.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(public.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .wrap(
                actix_web::middleware::DefaultHeaders::new()
                    .add((header::CACHE_CONTROL, "no-store"))
                    .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                    .add((header::REFERRER_POLICY, "no-referrer")),
            )
            .configure(routes)
            .default_service(web::to(not_found))
    })
    .workers(1)
    .disable_signals()
    .bind(bind)
    .map_err(|source| StartError::Bind { addr: bind, source })?;
    let addr = server.addrs().first().copied().unwrap_or(bind);
    console::register(&registered, &registered_public.base(addr)).map_err(StartError::Settings)?;
    Ok((server.run(), addr))
}
