//! Signed tokens and OpenID Connect on the standards surface: the JWK Set
//! (`/oauth2/jwks`), OpenID Provider metadata (`/.well-known/openid-configuration`) and
//! userinfo (`/oauth2/userinfo`). RP-initiated logout is `/oauth2/logout` (the standards
//! module), which ends the browser session and every token session it authorized.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use gatehouse_models::oauth::{ErrorCode, UserInfo};

use crate::http::error::{Challenge, OAuthAnswer};
use crate::AppState;

type Data = web::Data<AppState>;

/// How long a JWKS may be cached. A new key is published `gatehouse keys rotate
/// --publish-delay` (default 600 s) before it signs, longer than this.
pub const JWKS_MAX_AGE: u32 = 300;

fn json(status: StatusCode, cache: &'static str, body: Vec<u8>) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CACHE_CONTROL, cache))
        .body(body)
}

fn unavailable(what: &str, e: &dyn std::fmt::Display) -> HttpResponse {
    tracing::warn!(error = %e, "{what} could not be read");
    OAuthAnswer::bare(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::TemporarilyUnavailable,
    )
    .respond()
}

/// `GET /oauth2/jwks`: every published key (pending, signing, superseded, and retired ones
/// within their window).
pub(crate) async fn jwks(state: Data) -> HttpResponse {
    match state.blocking(|s| s.jwks()).await {
        Ok(set) => json(
            StatusCode::OK,
            // Kept in step with JWKS_MAX_AGE.
            "public, max-age=300",
            serde_json::to_vec(&set).unwrap_or_default(),
        ),
        Err(e) => unavailable("signing keys", &e),
    }
}

/// `GET|POST /oauth2/userinfo` with `Authorization: Bearer` (RFC 6750 2.1).
pub(crate) async fn userinfo(req: HttpRequest, state: Data) -> HttpResponse {
    let Some(token) = crate::http::request::bearer(&req).map(str::to_owned) else {
        return bearer_refused(None);
    };
    match state.blocking(move |s| s.userinfo(&token)).await {
        // The wire type is the one description of the claims: a claim it does not name is
        // refused loudly rather than dropped.
        Ok(claims) => match serde_json::from_value::<UserInfo>(claims.clone()) {
            Ok(info) if serde_json::to_value(&info).is_ok_and(|v| v == claims) => json(
                StatusCode::OK,
                "no-store",
                serde_json::to_vec(&info).unwrap_or_default(),
            ),
            Ok(_) => unavailable("userinfo claims", &"a claim models::oauth::UserInfo lacks"),
            Err(e) => unavailable("userinfo claims", &e),
        },
        Err(crate::http::ApiError::Domain(gatehouse_domain::Error::InvalidToken)) => {
            bearer_refused(Some("invalid_token"))
        }
        Err(e) => unavailable("userinfo", &e),
    }
}

/// RFC 6750 section 3: 401 with the `Bearer` challenge, and `error` when there is one (none:
/// no token was presented, section 3.1: then no error code is said).
fn bearer_refused(error: Option<&'static str>) -> HttpResponse {
    let answer = match error {
        None => OAuthAnswer::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidRequest,
            "A Bearer access token is required.",
        ),
        Some(code) => OAuthAnswer::bare(StatusCode::UNAUTHORIZED, ErrorCode::parse(code)),
    };
    answer.challenge(Challenge::Bearer(error)).respond()
}

/// `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 section 3): the
/// same document as RFC 8414's, from the same source (`standard::metadata`).
pub(crate) async fn configuration(state: Data) -> HttpResponse {
    crate::http::standard::metadata::respond(
        &state,
        crate::http::standard::metadata::Document::OpenId,
    )
    .await
}
