//! Signed tokens and OpenID Connect on the standards surface: the JWK Set
//! (`/oauth2/jwks`), OpenID Provider metadata (`/.well-known/openid-configuration`) and
//! userinfo (`/oauth2/userinfo`). RP-initiated logout is `/oauth2/logout` (the standards
//! module), which ends the browser session and every token session it authorized.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use gatehouse_models::oauth::{ErrorCode, UserInfo};

use gatehouse_domain::dpop::DpopRejection;
use gatehouse_domain::Error as DomainError;

use crate::http::error::{Challenge, OAuthAnswer};
use crate::http::{dpop, ApiError, Endpoint};
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

/// `GET|POST /oauth2/userinfo` with `Authorization: Bearer` (RFC 6750 2.1), or with DPoP on
/// `Authorization: DPoP` and a `DPoP` proof carrying `ath` (RFC 9449 section 7.1). A
/// DPoP-bound token presented as Bearer is refused.
pub(crate) async fn userinfo(req: HttpRequest, state: Data) -> HttpResponse {
    let dpop_on = dpop::enabled(&state);
    let Some((token, scheme)) = presented_token(&req, dpop_on) else {
        return refused(&state, Scheme::Bearer, None);
    };
    let proof = match scheme {
        Scheme::Bearer => None,
        Scheme::Dpop => match dpop::accept(&state, &req, Endpoint::UserInfo, Some(&token)).await {
            Ok(Some(proof)) => Some(proof),
            Ok(None) => return refused(&state, scheme, Some("invalid_dpop_proof")),
            Err(ApiError::Domain(DomainError::Dpop(r))) => {
                return refused(&state, scheme, Some(dpop_error(r)))
            }
            Err(e) => return unavailable("userinfo", &e),
        },
    };
    match state
        .blocking(move |s| s.userinfo(&token, proof.as_ref()))
        .await
    {
        // The wire type is the one description of the claims: a claim it does not name is
        // refused loudly rather than dropped.
        Ok(claims) => match serde_json::from_value::<UserInfo>(claims.clone()) {
            Ok(info) if serde_json::to_value(&info).is_ok_and(|v| v == claims) => {
                let mut res = json(
                    StatusCode::OK,
                    "no-store",
                    serde_json::to_vec(&info).unwrap_or_default(),
                );
                if let (Scheme::Dpop, Some(nonce)) = (scheme, dpop::fresh_nonce(&state)) {
                    if let Ok(value) = header::HeaderValue::from_str(&nonce) {
                        res.headers_mut()
                            .insert(header::HeaderName::from_static("dpop-nonce"), value);
                    }
                }
                res
            }
            Ok(_) => unavailable("userinfo claims", &"a claim models::oauth::UserInfo lacks"),
            Err(e) => unavailable("userinfo claims", &e),
        },
        Err(ApiError::Domain(DomainError::InvalidToken)) => {
            refused(&state, scheme, Some("invalid_token"))
        }
        Err(ApiError::Domain(DomainError::Dpop(r))) => refused(&state, scheme, Some(dpop_error(r))),
        Err(e) => unavailable("userinfo", &e),
    }
}

/// How a token was presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Bearer,
    Dpop,
}

/// The access token of `Authorization: Bearer`, or (DPoP on) of `Authorization: DPoP`.
fn presented_token(req: &HttpRequest, dpop_on: bool) -> Option<(String, Scheme)> {
    if let Some(token) = crate::http::request::bearer(req) {
        return Some((token.to_owned(), Scheme::Bearer));
    }
    if !dpop_on {
        return None;
    }
    let value = crate::http::request::header_str(req, header::AUTHORIZATION)?;
    let token = value
        .split_once(' ')
        .filter(|(s, _)| s.eq_ignore_ascii_case(gatehouse_domain::dpop::HEADER))?
        .1
        .trim();
    // RFC 6750's b64token characters.
    let ok = !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b));
    ok.then(|| (token.to_owned(), Scheme::Dpop))
}

/// The RFC 9449 error code of a refused proof at a resource.
fn dpop_error(r: DpopRejection) -> &'static str {
    match r {
        DpopRejection::Nonce => "use_dpop_nonce",
        DpopRejection::WrongKey => "invalid_token",
        _ => "invalid_dpop_proof",
    }
}

/// 401 with the challenges of the schemes the resource accepts: `Bearer`, and `DPoP` with
/// its `algs` when DPoP is on; the `error` goes on the scheme the request used (RFC 6750
/// section 3, RFC 9449 section 7.1; none: no token was presented, section 3.1). A
/// `use_dpop_nonce` answer carries a fresh `DPoP-Nonce`.
fn refused(state: &AppState, scheme: Scheme, error: Option<&'static str>) -> HttpResponse {
    let mut answer = match error {
        None => OAuthAnswer::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidRequest,
            "A Bearer access token is required.",
        ),
        Some(code) => OAuthAnswer::bare(StatusCode::UNAUTHORIZED, ErrorCode::parse(code)),
    };
    let (bearer_error, dpop_error) = match scheme {
        Scheme::Bearer => (error, None),
        Scheme::Dpop => (None, error),
    };
    answer = answer.challenge(Challenge::Bearer(bearer_error));
    if dpop::enabled(state) {
        answer = answer.challenge(Challenge::Dpop(dpop_error));
        if error == Some("use_dpop_nonce") {
            if let Some(nonce) = dpop::fresh_nonce(state) {
                answer = answer.dpop_nonce(nonce);
            }
        }
    }
    answer.respond()
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
