//! `POST /oauth2/token`: the RFC 6749 token endpoint for every grant a client has
//! (`authorization_code` with PKCE, `refresh_token`, `client_credentials`, `password`).
//!
//! JSON only, section 5.1 exactly: `access_token`, `token_type` (`Bearer`), `expires_in`,
//! `refresh_token` and `scope` only when there is one (absent, never null); section 5.2
//! errors with status 400, or 401 and `WWW-Authenticate: Basic` for `invalid_client`;
//! `Cache-Control: no-store` and `Pragma: no-cache` on every answer.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_domain::authorize::CodeBinding;
use gatehouse_domain::secret::Secret;
use gatehouse_domain::service::{ClientAuth, IssuedTokens, PasswordGrant, WithoutClient};
use gatehouse_models::oauth::{ErrorCode, ErrorResponse};
use serde::{Deserialize, Serialize};

use crate::http::request;
use crate::http::ApiError;
use crate::AppState;

type Data = web::Data<AppState>;

/// The token request's parameters (form or JSON body).
#[derive(Default, Deserialize)]
#[serde(default)]
struct TokenForm {
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

/// Basic (raw and URL-decoded), or `client_id`/`client_secret` in the body, or a public
/// client's bare `client_id`; two methods at once are refused (RFC 6749 section 2.3).
fn client_auth(
    req: &HttpRequest,
    ip: std::net::IpAddr,
    form: &mut TokenForm,
) -> Result<ClientAuth, ApiError> {
    let body_id = non_empty(form.client_id.take());
    let body_secret = non_empty(form.client_secret.take());
    if let Some(basic) = request::basic(req)? {
        if body_secret.is_some() {
            return Err(ApiError::BadRequest(
                "Use one client authentication method: HTTP Basic or client_secret in the body, not both.".into(),
            ));
        }
        if body_id.as_deref().is_some_and(|id| id != basic.raw.id) {
            return Err(ApiError::BadRequest(
                "client_id in the body is not the client of the Authorization header.".into(),
            ));
        }
        return Ok(ClientAuth::basic(&basic.raw.id, &basic.raw.secret).with_caller_ip(ip));
    }
    let id = body_id.ok_or(ApiError::MissingClient)?;
    Ok(ClientAuth::new(id, body_secret.map(Secret::from)).with_caller_ip(ip))
}

async fn grant(
    req: &HttpRequest,
    state: &AppState,
    payload: web::Payload,
) -> Result<IssuedTokens, ApiError> {
    let body = request::read_body(req, payload, state.config.body_limit).await?;
    let mut form: TokenForm = request::decode_rfc(req, &body)?;
    let grant_type = form.grant_type.take();
    let ip = request::caller_ip(req, &state.config.trusted_proxies)?;
    let client = client_auth(req, ip, &mut form)?;
    let scope = non_empty(form.scope.take());
    match grant_type.as_deref() {
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
                .blocking(move |s| s.refresh_grant(&client, &token, scope.as_deref()))
                .await
        }
        Some("client_credentials") => {
            state
                .blocking(move |s| s.client_credentials_grant(&client, scope.as_deref(), Some(ip)))
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

/// `POST /oauth2/token`.
pub(super) async fn token(req: HttpRequest, payload: web::Payload, state: Data) -> HttpResponse {
    match grant(&req, &state, payload).await {
        Ok(issued) => {
            let body = TokenResponse {
                access_token: issued.access_token.expose(),
                token_type: "Bearer",
                expires_in: issued.expires_in.whole_seconds(),
                refresh_token: issued.refresh_token.as_ref().map(Secret::expose),
                scope: Some(issued.scope.as_str()).filter(|s| !s.is_empty()),
                id_token: issued.id_token.as_ref().map(Secret::expose),
            };
            match serde_json::to_vec(&body) {
                Ok(bytes) => json(StatusCode::OK, bytes),
                Err(_) => error(&state, &ApiError::Internal),
            }
        }
        Err(e) => error(&state, &e),
    }
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
    let p = e.problem();
    let status = match p.status.as_u16() {
        _ if p.oauth == ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
        408 | 413 | 415 | 429 | 503 => p.status,
        s if s >= 500 => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
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
