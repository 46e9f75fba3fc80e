//! `POST /oauth2/token`: the RFC 6749 token endpoint for every grant a client has
//! (`authorization_code` with PKCE, `refresh_token`, `client_credentials`, `password`, RFC 8693
//! token exchange).
//!
//! With DPoP on (RFC 9449 section 5), a request's `DPoP` proof binds the tokens to its key
//! (`token_type` `DPoP`); a refused proof is `invalid_dpop_proof`, a missing nonce
//! `use_dpop_nonce` with a `DPoP-Nonce` header, and every success carries a fresh nonce.
//!
//! JSON only, section 5.1 exactly: `access_token`, `token_type` (`Bearer` or `DPoP`), `expires_in`,
//! `refresh_token` and `scope` only when there is one (absent, never null); section 5.2
//! errors with status 400, or 401 and `WWW-Authenticate: Basic` for `invalid_client`;
//! `Cache-Control: no-store` and `Pragma: no-cache` on every answer.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_domain::authorize::CodeBinding;
use gatehouse_domain::device::{DeviceGrant, DevicePoll, DEVICE_CODE_GRANT};
use gatehouse_domain::secret::Secret;
use gatehouse_domain::service::WithoutClient;
use gatehouse_domain::token_exchange::{self, TokenExchange};
use gatehouse_models::oauth::{TokenRequest, TokenResponse};

use gatehouse_domain::dpop::DpopRejection;
use gatehouse_domain::Error as DomainError;

use crate::http::extract::{Body, ClientParams, Credentials, RfcForm};
use crate::http::{dpop, grant, ApiError, Endpoint};
use crate::AppState;

/// `POST /oauth2/token`. The caller is identified after the body is read.
pub(crate) async fn token(
    body: Body<TokenRequest, RfcForm>,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    match issue(body, &req, &state).await {
        Ok(Outcome::Tokens(issued, exchanged)) => {
            respond(*issued, exchanged, dpop::fresh_nonce(&state))
        }
        Ok(Outcome::Poll(poll)) => Ok(device_poll(poll)),
        Err(ApiError::Domain(DomainError::Dpop(DpopRejection::Nonce))) => {
            Ok(dpop::use_nonce(&state))
        }
        Err(e) => Err(e),
    }
}

/// What a token request yields.
enum Outcome {
    /// Tokens; whether by a token exchange.
    Tokens(Box<gatehouse_domain::service::IssuedTokens>, bool),
    /// RFC 8628: a device poll without tokens.
    Poll(DevicePoll),
}

/// RFC 8628 section 3.5: a poll that yields no tokens (400, the error code says why).
fn device_poll(poll: DevicePoll) -> HttpResponse {
    crate::http::error::OAuthAnswer::new(
        actix_web::http::StatusCode::BAD_REQUEST,
        gatehouse_models::oauth::ErrorCode::parse(poll.code()),
        poll.description(),
    )
    .respond()
}

/// The grant of the request, its tokens bound to the request's DPoP key if it has a proof.
async fn issue(
    body: Body<TokenRequest, RfcForm>,
    req: &HttpRequest,
    state: &web::Data<AppState>,
) -> Result<Outcome, ApiError> {
    let mut form = body.value;
    let creds = Credentials::of(req)?;
    let proof = dpop::accept(state, req, Endpoint::Token, None).await?;
    let client = creds.exclusive_of(ClientParams {
        client_id: form.client_id.take(),
        client_secret: form.client_secret.take(),
        client_assertion_type: form.client_assertion_type.take(),
        client_assertion: form.client_assertion.take(),
    })?;
    let client = match &proof {
        Some(p) => client.with_dpop(p),
        None => client,
    };
    // RFC 8628: a poll may answer without tokens (`authorization_pending`, ...), so the
    // device grant is answered here rather than by the dispatcher, which issues tokens.
    if form.grant_type.as_deref() == Some(DEVICE_CODE_GRANT) {
        let code = crate::http::reply::required(form.device_code, "device_code")?;
        let ip = creds.ip();
        match state
            .blocking(move |s| s.device_code_grant(&client, &code, Some(ip)))
            .await?
        {
            DeviceGrant::Issued(issued) => Ok(Outcome::Tokens(issued, false)),
            DeviceGrant::Poll(poll) => Ok(Outcome::Poll(poll)),
        }
    } else {
        let (issued, exchanged) = standard_grant(state, form, client, creds.ip()).await?;
        Ok(Outcome::Tokens(Box::new(issued), exchanged))
    }
}

/// The grants of the dispatcher ([`grant`]); whether it was a token exchange.
async fn standard_grant(
    state: &AppState,
    mut form: TokenRequest,
    client: gatehouse_domain::service::ClientAuth,
    ip: std::net::IpAddr,
) -> Result<(gatehouse_domain::service::IssuedTokens, bool), ApiError> {
    let exchange = exchange_of(&mut form);
    let grant_type = grant::parse(
        form.grant_type.as_deref().filter(|g| !g.is_empty()),
        grant::STANDARD,
    )?;
    let members = grant::Members {
        code: form.code,
        refresh_token: form.refresh_token,
        username: form.username,
        password: form.password,
        exchange,
    };
    let binding = || CodeBinding {
        redirect_uri: form.redirect_uri.filter(|v| !v.is_empty()),
        code_verifier: form.code_verifier.filter(|v| !v.is_empty()),
    };
    let exchanged = grant_type == grant::GrantType::TokenExchange;
    let grant = grant::Grant::of(grant_type, members, binding)?;
    let caller = grant::Caller {
        client: Some(client),
        // The client authenticated above (RFC 6749 section 3.2.1).
        without_client: WithoutClient::Refuse,
        scope: form.scope.filter(|v| !v.is_empty()),
        ip,
    };
    Ok((grant::issue(state, grant, caller).await?, exchanged))
}

/// RFC 6749 section 5.1.
fn respond(
    issued: gatehouse_domain::service::IssuedTokens,
    exchanged: bool,
    nonce: Option<String>,
) -> Result<HttpResponse, ApiError> {
    // RFC 9449 section 5: a bound access token's type is DPoP.
    let token_type = if issued.jkt.is_some() {
        "DPoP"
    } else {
        "Bearer"
    };
    let body = TokenResponse {
        access_token: issued.access_token.expose().to_owned(),
        token_type: token_type.to_owned(),
        expires_in: Some(issued.expires_in.whole_seconds()),
        refresh_token: issued.refresh_token.as_ref().map(|t| t.expose().to_owned()),
        scope: Some(issued.scope).filter(|s| !s.is_empty()),
        id_token: issued.id_token.as_ref().map(|t| t.expose().to_owned()),
        issued_token_type: exchanged.then(|| token_exchange::ACCESS_TOKEN_TYPE.to_owned()),
    };
    let bytes = serde_json::to_vec(&body).map_err(|_| ApiError::Internal)?;
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    if let Some(nonce) = nonce {
        res.insert_header((dpop::NONCE_HEADER, nonce));
    }
    Ok(res.body(bytes))
}

/// The RFC 8693 section 2.1 parameters (empty values are absent).
fn exchange_of(form: &mut TokenRequest) -> Option<Box<TokenExchange>> {
    let take = |v: &mut Option<String>| v.take().filter(|v| !v.is_empty());
    Some(Box::new(TokenExchange {
        subject_token: take(&mut form.subject_token).map(Secret::from),
        subject_token_type: take(&mut form.subject_token_type),
        actor_token: take(&mut form.actor_token).map(Secret::from),
        actor_token_type: take(&mut form.actor_token_type),
        audience: take(&mut form.audience),
        resource: take(&mut form.resource),
        requested_token_type: take(&mut form.requested_token_type),
        ..TokenExchange::default()
    }))
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
            issued_token_type: None,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap_or_default(),
            r#"{"access_token":"t","token_type":"Bearer","expires_in":60}"#
        );
    }
}
