//! `POST /oauth2/token`: the RFC 6749 token endpoint for every grant a client has
//! (`authorization_code` with PKCE, `refresh_token`, `client_credentials`, `password`).
//!
//! JSON only, section 5.1 exactly: `access_token`, `token_type` (`Bearer`), `expires_in`,
//! `refresh_token` and `scope` only when there is one (absent, never null); section 5.2
//! errors with status 400, or 401 and `WWW-Authenticate: Basic` for `invalid_client`;
//! `Cache-Control: no-store` and `Pragma: no-cache` on every answer.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_domain::authorize::CodeBinding;
use gatehouse_domain::service::WithoutClient;
use gatehouse_models::oauth::{TokenRequest, TokenResponse};

use crate::http::extract::{Body, ClientParams, Credentials, RfcForm};
use crate::http::{grant, ApiError};
use crate::AppState;

/// `POST /oauth2/token`. The caller is identified after the body is read.
pub(crate) async fn token(
    body: Body<TokenRequest, RfcForm>,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let form = body.value;
    let creds = Credentials::of(&req)?;
    let client = creds.exclusive_of(ClientParams {
        client_id: form.client_id,
        client_secret: form.client_secret,
        client_assertion_type: form.client_assertion_type,
        client_assertion: form.client_assertion,
    })?;
    let grant_type = grant::parse(
        form.grant_type.as_deref().filter(|g| !g.is_empty()),
        grant::STANDARD,
    )?;
    let members = grant::Members {
        code: form.code,
        refresh_token: form.refresh_token,
        username: form.username,
        password: form.password,
    };
    let binding = || CodeBinding {
        redirect_uri: form.redirect_uri.filter(|v| !v.is_empty()),
        code_verifier: form.code_verifier.filter(|v| !v.is_empty()),
    };
    let grant = grant::Grant::of(grant_type, members, binding)?;
    let caller = grant::Caller {
        client: Some(client),
        // The client authenticated above (RFC 6749 section 3.2.1).
        without_client: WithoutClient::Refuse,
        scope: form.scope.filter(|v| !v.is_empty()),
        ip: creds.ip(),
    };
    let issued = grant::issue(&state, grant, caller).await?;
    let body = TokenResponse {
        access_token: issued.access_token.expose().to_owned(),
        token_type: "Bearer".to_owned(),
        expires_in: Some(issued.expires_in.whole_seconds()),
        refresh_token: issued.refresh_token.as_ref().map(|t| t.expose().to_owned()),
        scope: Some(issued.scope).filter(|s| !s.is_empty()),
        id_token: issued.id_token.as_ref().map(|t| t.expose().to_owned()),
    };
    let bytes = serde_json::to_vec(&body).map_err(|_| ApiError::Internal)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .body(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_members_are_omitted() {
        let body = TokenResponse {
            access_token: "t".into(),
            token_type: "Bearer".into(),
            expires_in: Some(60),
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
