//! Signed tokens and OpenID Connect on the standards surface: the JWK Set
//! (`/oauth2/jwks`), OpenID Provider metadata (`/.well-known/openid-configuration`) and
//! userinfo (`/oauth2/userinfo`). RP-initiated logout is `/oauth2/logout` (the standards
//! module), which ends the browser session and every token session it authorized.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::AppState;

type Data = web::Data<AppState>;

/// `GET /oauth2/jwks`
pub const JWKS: &str = "/oauth2/jwks";
/// `GET|POST /oauth2/userinfo`
pub const USERINFO: &str = "/oauth2/userinfo";
/// `GET /.well-known/openid-configuration`
pub const OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";

/// How long a JWKS may be cached. A new key is published `gatehouse keys rotate
/// --publish-delay` (default 600 s) before it signs, longer than this.
pub const JWKS_MAX_AGE: u32 = 300;

/// The metrics label of these routes.
pub fn route_label(path: &str) -> Option<&'static str> {
    [JWKS, USERINFO, OPENID_CONFIGURATION]
        .into_iter()
        .find(|r| *r == path)
}

/// Registers the routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let resource = |path: &'static str, allow: &'static str| {
        web::resource(path).default_service(web::to(move || async move {
            HttpResponse::MethodNotAllowed()
                .insert_header((header::ALLOW, allow))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .content_type("application/json")
                .body(r#"{"error":"invalid_request","error_description":"Method not allowed."}"#)
        }))
    };
    cfg.service(resource(JWKS, "GET").route(web::get().to(jwks)))
        .service(
            resource(USERINFO, "GET, POST")
                .route(web::get().to(userinfo))
                .route(web::post().to(userinfo)),
        )
        .service(resource(OPENID_CONFIGURATION, "GET").route(web::get().to(configuration)));
}

fn json(status: StatusCode, cache: &'static str, body: Vec<u8>) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CACHE_CONTROL, cache))
        .body(body)
}

fn unavailable(what: &str, e: &dyn std::fmt::Display) -> HttpResponse {
    tracing::warn!(error = %e, "{what} could not be read");
    json(
        StatusCode::SERVICE_UNAVAILABLE,
        "no-store",
        br#"{"error":"temporarily_unavailable"}"#.to_vec(),
    )
}

/// `GET /oauth2/jwks`: every published key (pending, signing, superseded, and retired ones
/// within their window).
async fn jwks(state: Data) -> HttpResponse {
    match state.blocking(|s| s.jwks()).await {
        Ok(set) => json(
            StatusCode::OK,
            "public, max-age=300",
            serde_json::to_vec(&set).unwrap_or_default(),
        ),
        Err(e) => unavailable("signing keys", &e),
    }
}

/// `GET|POST /oauth2/userinfo` with `Authorization: Bearer` (RFC 6750 2.1).
async fn userinfo(req: HttpRequest, state: Data) -> HttpResponse {
    let Some(token) = crate::http::request::bearer(&req).map(str::to_owned) else {
        return bearer_refused("");
    };
    match state.blocking(move |s| s.userinfo(&token)).await {
        Ok(claims) => json(
            StatusCode::OK,
            "no-store",
            serde_json::to_vec(&claims).unwrap_or_default(),
        ),
        Err(crate::http::ApiError::Domain(gatehouse_domain::Error::InvalidToken)) => {
            bearer_refused("invalid_token")
        }
        Err(e) => unavailable("userinfo", &e),
    }
}

/// RFC 6750 section 3: 401 with the `Bearer` challenge, and `error` when there is one (none:
/// no token was presented).
fn bearer_refused(error: &'static str) -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header((
            header::WWW_AUTHENTICATE,
            if error.is_empty() {
                "Bearer".to_owned()
            } else {
                format!("Bearer error=\"{error}\"")
            },
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("application/json")
        .body(if error.is_empty() {
            r#"{"error":"invalid_request","error_description":"A Bearer access token is required."}"#.to_owned()
        } else {
            format!(r#"{{"error":"{error}"}}"#)
        })
}

/// `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 section 3): the
/// same document as RFC 8414's, from the same source (`standard::metadata`).
async fn configuration(state: Data) -> HttpResponse {
    crate::http::standard::metadata::respond(
        &state,
        crate::http::standard::metadata::Document::OpenId,
    )
    .await
}
