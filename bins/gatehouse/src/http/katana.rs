//! Katana's `POST /token` (the OWIN OAuth server): the password grant only.
//!
//! Legacy quirks kept: `grant_type` is compared case-sensitively; `text/javascript` is read
//! as JSON and any other body as a form, whose repeated keys are joined ([`Katana`]); every
//! OAuth failure is 400, `invalid_client` included ([`super::ApiError::status`]); the answer
//! carries `userName`, `userId`, `sessionKey` and the `client_key` asked for beside the
//! RFC 6749 members.
//!
//! With `--katana-machine-key` the access token is a real Katana ticket, which the legacy
//! APIs' `OAuthBearerAuthenticationMiddleware` accepts (`gatehouse_domain::service::katana`).

use actix_web::web;
use gatehouse_domain::secret::Secret;
use gatehouse_domain::service::{PasswordGrant, WithoutClient};
use gatehouse_models::katana::{OAuthRequest, OAuthToken};
use gatehouse_models::oauth::GrantType;

use super::error::ApiError;
use super::extract::{Body, Credentials, Dialect, Katana};
use super::reply::{self, non_empty, required, secs, Reply};
use crate::AppState;

/// `POST /token`.
pub(super) async fn token(
    creds: Credentials,
    dialect: Dialect,
    body: Body<OAuthRequest, Katana>,
    state: web::Data<AppState>,
) -> Reply {
    let form = body.value;
    // Katana's subset: the password grant only; even an absent grant_type is unsupported.
    if form.grant_type.as_deref().and_then(GrantType::from_wire) != Some(GrantType::Password) {
        return Err(ApiError::UnsupportedGrantType);
    }
    let grant = PasswordGrant {
        client: creds.client(form.client_id, form.client_secret)?,
        user_name: required(form.user_name, "userName")?,
        password: Secret::from(required(form.password, "password")?),
        client_key: non_empty(form.client_key),
        caller_ip: Some(creds.ip()),
        scope: None,
        want_refresh: false,
        // Katana's /token has no scope parameter: a client-less token gets the configured
        // default scope (empty unless set), nothing a caller asks for.
        without_client: WithoutClient::Scope(state.config.katana_default_scope.clone()),
    };
    let issued = state
        .hashing(move |s| s.katana_password_grant(grant))
        .await?;
    let user = issued.user.ok_or(ApiError::Internal)?;
    let token = OAuthToken {
        access_token: issued.access_token.expose().to_owned(),
        token_type: "bearer".to_owned(),
        expires_in: secs(issued.expires_in),
        user_name: user.user_name,
        user_id: user.id.to_string(),
        session_key: issued.session_id.to_string(),
        client_key: issued.client_key,
    };
    reply::token(dialect.format, &token)
}
