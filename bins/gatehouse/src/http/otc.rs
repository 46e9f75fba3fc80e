//! The otc admin login: `POST /admin/login/auth_code` (a client and a user's password give
//! a short-lived code) and `POST /admin/login/token` (the code and the client give a token).
//!
//! Legacy quirks kept: the client's pair is in the body, both members required (no Basic);
//! every answer, success or failure, is the `Header`/`Body` envelope, a failure carrying
//! its otc status and an error id ([`super::error::render`]).

use actix_web::web;
use gatehouse_domain::secret::Secret;
use gatehouse_models::otc::{AuthCodeRequest, AuthCodeResponse, TokenRequest, TokenResponse};

use super::extract::{Body, Credentials, Dialect};
use super::reply::{self, required, secs, Reply};
use crate::AppState;

/// `POST /admin/login/auth_code`.
pub(super) async fn auth_code(
    creds: Credentials,
    dialect: Dialect,
    body: Body<AuthCodeRequest>,
    state: web::Data<AppState>,
) -> Reply {
    let r = body.value;
    let client_id = required(r.client_id, "ClientId")?;
    let secret = required(r.client_secret, "ClientSecret")?;
    let user_name = required(r.username, "Username")?;
    let password = Secret::from(required(r.password, "Password")?);
    let client = creds.pair(client_id, secret);
    let ip = creds.ip();
    let code = state
        .hashing(move |s| s.issue_auth_code(&client, &user_name, &password, Some(ip)))
        .await?;
    reply::token(dialect.format, &AuthCodeResponse::ok(code.code.expose()))
}

/// `POST /admin/login/token`.
pub(super) async fn token(
    creds: Credentials,
    dialect: Dialect,
    body: Body<TokenRequest>,
    state: web::Data<AppState>,
) -> Reply {
    let r = body.value;
    let client_id = required(r.client_id, "ClientId")?;
    let secret = required(r.client_secret, "ClientSecret")?;
    let code = required(r.auth_code, "AuthCode")?;
    let client = creds.pair(client_id, secret);
    let ip = creds.ip();
    let issued = state
        .blocking(move |s| s.exchange_auth_code(&client, &code, Some(ip), false))
        .await?;
    let answer = TokenResponse::ok(issued.access_token.expose(), secs(issued.expires_in));
    reply::token(dialect.format, &answer)
}
