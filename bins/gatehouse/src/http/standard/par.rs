//! `POST /oauth2/par`: pushed authorization requests (RFC 9126). The client authenticates as
//! at the token endpoint (HTTP Basic, or `client_id` and `client_secret` in the form; a public
//! client sends only its `client_id`), the form holds the authorization request's parameters.
//! 201 with `{"request_uri": "...", "expires_in": 60}`; errors as the token endpoint's (RFC 6749
//! section 5.2: 400, 401 with `WWW-Authenticate: Basic` for `invalid_client`, 429 with
//! `Retry-After` past the per-client cap). The rules are the domain's (`gatehouse_domain::par`).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_domain::par::{ParMode, PushError};
use gatehouse_domain::Error as DomainError;
use gatehouse_models::oauth::{ErrorCode, PushedAuthorizationResponse};

use super::authorize::params_from;
use super::parse_urlencoded;
use crate::http::error::{redirect_code, Challenge, OAuthAnswer};
use crate::http::extract::{ClientParams, Credentials};
use crate::http::{request, ApiError};
use crate::AppState;

fn json(status: StatusCode, body: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .body(serde_json::to_vec(body).unwrap_or_default())
}

fn error(status: StatusCode, code: ErrorCode, description: impl Into<String>) -> HttpResponse {
    OAuthAnswer::new(status, code, description).respond()
}

/// `POST /oauth2/par`.
pub(crate) async fn push(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    if state.service.config().pushed_authorization_requests == ParMode::Off {
        return error(
            StatusCode::NOT_FOUND,
            ErrorCode::InvalidRequest,
            "Pushed authorization requests are not enabled.",
        );
    }
    match push_inner(&req, payload, &state).await {
        Ok(res) | Err(res) => res,
    }
}

async fn push_inner(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<HttpResponse, HttpResponse> {
    let bad = |m: &str| error(StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, m);
    let is_form = request::header_str(req, header::CONTENT_TYPE).is_some_and(|v| {
        v.split(';').next().is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
    });
    if !is_form {
        return Err(bad(
            "The request must be application/x-www-form-urlencoded.",
        ));
    }
    let body = request::read_body(req, payload, state.config.body_limit)
        .await
        .map_err(|e| match e {
            ApiError::TooLarge { .. } => error(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::InvalidRequest,
                "The request is too large.",
            ),
            _ => bad("The request could not be read."),
        })?;
    let pairs = std::str::from_utf8(&body)
        .ok()
        .and_then(parse_urlencoded)
        .ok_or_else(|| bad("The form is not valid URL encoding."))?;
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    if pairs.iter().filter(|(k, _)| k == "client_secret").count() > 1 {
        return Err(bad("client_secret appears more than once."));
    }
    let params = params_from(&pairs);
    let creds = Credentials::of(req).map_err(|e| refused_client(&e))?;
    // The client authenticates as at the token endpoint, private_key_jwt included.
    let client = creds
        .exclusive_of(ClientParams {
            client_id: params.client_id.clone(),
            client_secret: value("client_secret"),
            client_assertion_type: value("client_assertion_type"),
            client_assertion: value("client_assertion"),
        })
        .map_err(|e| refused_client(&e))?;
    match state
        .blocking(move |s| Ok(s.push_authorization_request(&client, params)))
        .await
    {
        Ok(Ok(pushed)) => Ok(json(
            StatusCode::CREATED,
            &PushedAuthorizationResponse {
                request_uri: pushed.request_uri,
                expires_in: pushed.expires_in,
            },
        )),
        Ok(Err(PushError::Invalid {
            error: code,
            description,
        })) => {
            let code = redirect_code(code);
            tracing::info!(error = code.as_str(), reason = %description, "pushed authorization request refused");
            Err(error(StatusCode::BAD_REQUEST, code, description))
        }
        Ok(Err(PushError::Domain(e))) => Err(refused_client(&ApiError::Domain(e))),
        Err(e) => Err(refused_client(&e)),
    }
}

/// The answer for a failed client authentication or another error of the grant logic.
fn refused_client(e: &ApiError) -> HttpResponse {
    match e {
        ApiError::Domain(DomainError::InvalidClient) | ApiError::MissingClient => OAuthAnswer::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidClient,
            "Client authentication failed.",
        )
        .challenge(Challenge::Basic)
        .respond(),
        ApiError::Domain(d @ (DomainError::RateLimited { .. } | DomainError::Locked { .. })) => {
            let secs = d.retry_after_secs().unwrap_or(1);
            OAuthAnswer::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::TemporarilyUnavailable,
                "Too many pushed requests; try again later.",
            )
            .retry_after(secs)
            .respond()
        }
        ApiError::BadRequest(m) => error(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            m.clone(),
        ),
        other => {
            tracing::warn!(error = %other, "pushed authorization request failed");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TemporarilyUnavailable,
                "The request could not be stored; try again.",
            )
        }
    }
}
