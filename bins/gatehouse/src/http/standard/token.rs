//! `POST /oauth2/token`: the RFC 6749 token endpoint for every grant a client has
//! (`authorization_code` with PKCE, `refresh_token`, `client_credentials`, `password`).
//!
//! JSON only, section 5.1 exactly: `access_token`, `token_type` (`Bearer`), `expires_in`,
//! `refresh_token` and `scope` only when there is one (absent, never null); section 5.2
//! errors with status 400, or 401 and `WWW-Authenticate: Basic` for `invalid_client`;
//! `Cache-Control: no-store` and `Pragma: no-cache` on every answer.

use std::net::IpAddr;

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_domain::authorize::CodeBinding;
use gatehouse_domain::secret::Secret;
use gatehouse_domain::service::{ClientAuth, IssuedTokens, PasswordGrant, WithoutClient};
use gatehouse_models::oauth::ErrorResponse;
use serde::{Deserialize, Serialize};

use crate::http::extract::{Body, ClientParams, Credentials, RfcForm};
use crate::http::{ApiError, Family};
use crate::AppState;

/// The token request's parameters (a form body, names exact: RFC 6749 appendix B).
#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    username: Option<String>,
    password: Option<String>,
    scope: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
}

/// RFC 6749 section 5.1.
#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    /// OpenID Connect Core 3.1.3.3.
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<&'a str>,
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|v| !v.is_empty())
}

fn required(v: Option<String>, name: &str) -> Result<String, ApiError> {
    non_empty(v).ok_or_else(|| ApiError::BadRequest(format!("{name} is required.")))
}

/// `POST /oauth2/token`. The caller is identified after the body is read.
pub(super) async fn token(
    body: Body<TokenForm, RfcForm>,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut form = body.value;
    let grant_type = form.grant_type.take();
    let creds = Credentials::of(&req)?;
    let client = creds.exclusive_of(ClientParams {
        client_id: form.client_id.take(),
        client_secret: form.client_secret.take(),
        client_assertion_type: form.client_assertion_type.take(),
        client_assertion: form.client_assertion.take(),
    })?;
    let issued = grant(&state, grant_type.as_deref(), form, client, creds.ip()).await?;
    let body = TokenResponse {
        access_token: issued.access_token.expose(),
        token_type: "Bearer",
        expires_in: issued.expires_in.whole_seconds(),
        refresh_token: issued.refresh_token.as_ref().map(Secret::expose),
        scope: Some(issued.scope.as_str()).filter(|s| !s.is_empty()),
        id_token: issued.id_token.as_ref().map(Secret::expose),
    };
    let bytes = serde_json::to_vec(&body).map_err(|_| ApiError::Internal)?;
    Ok(json(StatusCode::OK, bytes))
}

/// One domain call for the grant type.
async fn grant(
    state: &AppState,
    grant_type: Option<&str>,
    mut form: TokenForm,
    client: ClientAuth,
    ip: IpAddr,
) -> Result<IssuedTokens, ApiError> {
    let scope = non_empty(form.scope.take());
    match grant_type {
        None | Some("") => Err(ApiError::BadRequest("grant_type is required.".into())),
        Some("authorization_code") => {
            let code = required(form.code, "code")?;
            let binding = CodeBinding {
                redirect_uri: non_empty(form.redirect_uri),
                code_verifier: non_empty(form.code_verifier),
            };
            state
                .blocking(move |s| s.exchange_code(&client, &code, binding, Some(ip), true))
                .await
        }
        Some("refresh_token") => {
            let token = required(form.refresh_token, "refresh_token")?;
            state
                .write_later(move |s| s.refresh_grant_later(&client, &token, scope.as_deref()))
                .await
        }
        Some("client_credentials") => {
            state
                .write_later(move |s| {
                    s.client_credentials_grant_later(&client, scope.as_deref(), Some(ip))
                })
                .await
        }
        Some("password") => {
            let grant = PasswordGrant {
                user_name: required(form.username, "username")?,
                password: Secret::from(required(form.password, "password")?),
                client: Some(client),
                client_key: None,
                caller_ip: Some(ip),
                scope,
                want_refresh: true,
                // The client authenticated above (RFC 6749 section 3.2.1).
                without_client: WithoutClient::Refuse,
            };
            state.hashing(move |s| s.password_grant(grant)).await
        }
        Some(_) => Err(ApiError::UnsupportedGrantType),
    }
}

/// Middleware of the route: a failure of the handler or of an extractor ([`ApiError`]) as
/// section 5.2 says.
pub(super) async fn answer_errors(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    Ok(crate::http::error::rewrite(next.call(req).await?, error))
}

fn json(status: StatusCode, body: Vec<u8>) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .body(body)
}

/// RFC 6749 section 5.2: `error_description` may hold only printable ASCII without `"` and
/// `\`.
fn description(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            c if (' '..='~').contains(&c) => c,
            _ => '?',
        })
        .collect()
}

fn error(state: &AppState, e: &ApiError) -> HttpResponse {
    let p = e.problem(Family::OAuth { katana: false });
    let status = p.status;
    let message = if status.is_server_error() && !e.shows_reason() {
        let id = state.error_id();
        tracing::warn!(endpoint = super::TOKEN, error_id = %id, reason = %p.message, "request failed");
        format!("An error occurred on the server (error id {id}).")
    } else {
        tracing::info!(endpoint = super::TOKEN, status = status.as_u16(), reason = %p.message, "request refused");
        p.message.clone()
    };
    let body = serde_json::to_vec(&ErrorResponse::new(p.oauth.clone(), description(&message)))
        .unwrap_or_else(|_| br#"{"error":"server_error"}"#.to_vec());
    let mut res = json(status, body);
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"gatehouse\""),
        );
    }
    if let Some(secs) = p.retry_after {
        res.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_stay_within_rfc_6749_characters() {
        assert_eq!(description("a \"b\" \\ é"), "a 'b' / ?");
    }

    #[test]
    fn absent_members_are_omitted() {
        let body = TokenResponse {
            access_token: "t",
            token_type: "Bearer",
            expires_in: 60,
            refresh_token: None,
            scope: None,
            id_token: None,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap_or_default(),
            r#"{"access_token":"t","token_type":"Bearer","expires_in":60}"#
        );
    }
}
