//! The onetime service: `POST /oauth2/onetime/token` (a client or a bearer of an access
//! token asks a one-time code for a user) and `POST /oauth2/onetime/authorize` (a client
//! redeems the code for the user's token).
//!
//! Legacy quirks kept: the issuer is identified before the body is read (a bearer token,
//! else Basic; neither is 401 `Authorization has been denied for this request.`); Web API's
//! answers, 404 and 405 included, are camel-cased by the service's JSON formatter
//! (`message`, `modelState`); `Payload` is an opaque string handed back as given.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use gatehouse_domain::secret::Secret;
use gatehouse_domain::service::{OneTimeIssuer, OneTimeRequest};
use gatehouse_models::onetime::{
    OneTimeAuthorizeRequest, OneTimeAuthorizeResponse, OneTimeTokenRequest, OneTimeTokenResponse,
};

use super::error::ApiError;
use super::extract::{Body, Credentials, Dialect};
use super::reply::{self, non_empty, required_member, secs, Reply};
use crate::AppState;

/// Who asks for a one-time code: `Authorization: Bearer`, else Basic (refused before the
/// body is read).
pub(super) struct Issuer(OneTimeIssuer);

impl FromRequest for Issuer {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let issuer = |creds: Credentials| match creds.bearer() {
            Some(token) => Ok(OneTimeIssuer::Bearer(Secret::from(token))),
            None => creds
                .basic()?
                .map(OneTimeIssuer::Client)
                .ok_or(ApiError::Unauthenticated),
        };
        ready(
            Credentials::from_request(req, payload)
                .into_inner()
                .and_then(issuer)
                .map(Issuer),
        )
    }
}

/// `POST /oauth2/onetime/token`.
pub(super) async fn token(
    issuer: Issuer,
    dialect: Dialect,
    body: Body<OneTimeTokenRequest>,
    state: web::Data<AppState>,
) -> Reply {
    let r = body.value;
    let request = OneTimeRequest {
        client_id: required_member(r.client_id, "ClientId")?,
        broker_id: r.broker_id,
        user_name: non_empty(r.user_name),
        trading_account: non_empty(r.trading_account),
        server: non_empty(r.server),
        payload: r.payload.unwrap_or_default(),
    };
    let issuer = issuer.0;
    let code = state
        .blocking(move |s| s.issue_onetime_code(&issuer, &request))
        .await?;
    reply::token(
        dialect.format,
        &OneTimeTokenResponse::new(code.code.expose()),
    )
}

/// `POST /oauth2/onetime/authorize`.
pub(super) async fn authorize(
    creds: Credentials,
    dialect: Dialect,
    body: Body<OneTimeAuthorizeRequest>,
    state: web::Data<AppState>,
) -> Reply {
    let r = body.value;
    let code = required_member(r.code, "Code")?;
    let client = creds
        .client(r.client_id, r.client_secret)?
        .ok_or(ApiError::Unauthenticated)?;
    let redeemed = state
        .blocking(move |s| s.redeem_onetime_code(&client, &code))
        .await?;
    let answer = OneTimeAuthorizeResponse {
        user_id: redeemed.user.id,
        user_name: redeemed.user.user_name,
        broker_id: redeemed.broker_id,
        trading_account: redeemed.trading_account,
        server: redeemed.server,
        payload: redeemed.payload,
        access_token: redeemed.tokens.access_token.expose().to_owned(),
        token_type: "Bearer".to_owned(),
        expires_in: secs(redeemed.tokens.expires_in),
    };
    reply::token(dialect.format, &answer)
}
