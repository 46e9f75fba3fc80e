//! The endpoints every dialect shares: RFC 7662 introspection, RFC 7009 revocation, the
//! RFC 8414 metadata, the health check and the Prometheus metrics.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use gatehouse_codec::ResponseFormat;
use gatehouse_domain::service::{ClientAuth, TokenInfo, TokenKind};
use gatehouse_models::oauth::{
    Confirmation, IntrospectionRequest, IntrospectionResponse, RevocationRequest,
};

use super::error::ApiError;
use super::extract::{Body, ClientParams, Credentials, Rfc};
use super::reply::{self, required, Reply};
use crate::AppState;

type Data = web::Data<AppState>;

/// `POST /oauth2/introspect` (RFC 7662): only the token's owner learns about it.
pub(super) async fn introspect(
    creds: Credentials,
    body: Body<IntrospectionRequest, Rfc>,
    state: Data,
) -> Reply {
    let r = body.value;
    let params = ClientParams {
        client_id: r.client_id,
        client_secret: r.client_secret,
        client_assertion_type: r.client_assertion_type,
        client_assertion: r.client_assertion,
    };
    let (client, token) = owner_and_token(&creds, params, r.token)?;
    let info = introspect_counting_failures(&state, client, token).await?;
    reply::json(
        &info
            .map(introspection)
            .unwrap_or_else(IntrospectionResponse::inactive),
    )
}

/// Introspection only reads; a wrong client secret is then counted against the caller's
/// address on the blocking pool (a write, so never on the HTTP worker), before the refusal
/// is sent. A client assertion's `jti` is recorded (a write): that introspection runs on the
/// blocking pool.
async fn introspect_counting_failures(
    state: &Data,
    client: ClientAuth,
    token: String,
) -> Result<Option<gatehouse_domain::service::TokenInfo>, ApiError> {
    if client.is_assertion() {
        return state.blocking(move |s| s.introspect(&client, &token)).await;
    }
    let counted = client.clone();
    let (again, token_again) = (client.clone(), token.clone());
    match state.read(move |s| s.introspect(&client, &token)).await {
        // A legacy Katana ticket seen for the first time: adopted off the worker, then
        // asked about again.
        Ok(None) if legacy_ticket(state, &token_again) => {
            let token = token_again.clone();
            if state
                .blocking(move |s| s.adopt_katana_ticket(&token))
                .await?
            {
                state
                    .read(move |s| s.introspect(&again, &token_again))
                    .await
            } else {
                Ok(None)
            }
        }
        Err(ApiError::Domain(gatehouse_domain::Error::InvalidClient)) => {
            state
                .blocking(move |s| {
                    s.count_failed_client(&counted);
                    Ok(())
                })
                .await?;
            Err(ApiError::Domain(gatehouse_domain::Error::InvalidClient))
        }
        other => other,
    }
}

/// Whether `token` may be a Katana ticket worth adopting (a machineKey is configured and
/// the text has a ticket's shape).
fn legacy_ticket(state: &Data, token: &str) -> bool {
    state.service.katana().is_some() && gatehouse_domain::service::katana::looks_like_ticket(token)
}

/// The client asking (required: only a token's owner may ask about it) and the token. With
/// a client assertion, RFC 7523's rules ([`Credentials::exclusive_of`]); else Basic wins over
/// the body pair, as before.
fn owner_and_token(
    creds: &Credentials,
    params: ClientParams,
    token: Option<String>,
) -> Result<(ClientAuth, String), ApiError> {
    let client = if params.client_assertion.is_some() || params.client_assertion_type.is_some() {
        creds.exclusive_of(params)?
    } else {
        creds
            .client(params.client_id, params.client_secret)?
            .ok_or(ApiError::MissingClient)?
    };
    Ok((client, required(token, "token")?))
}

fn introspection(info: TokenInfo) -> IntrospectionResponse {
    let mut r = IntrospectionResponse::new_active();
    r.scope = Some(info.scope).filter(|s| !s.is_empty());
    // RFC 7662 2.2: the RFC 6749 token type. A refresh token has none: the member is left out.
    r.token_type = (info.kind == TokenKind::Access).then(|| "Bearer".to_owned());
    r.exp = Some(info.expires_at.unix_timestamp());
    r.iat = Some(info.issued_at.unix_timestamp());
    r.sub = info
        .user
        .as_ref()
        .map(|u| u.id.to_string())
        .or_else(|| info.client_id.clone());
    r.username = info.user.map(|u| u.user_name);
    r.client_id = info.client_id;
    r.sid = Some(info.session_id.to_string());
    r.aud = info.audience;
    r.act = info.act.and_then(|a| serde_json::from_value(a).ok());
    r.cnf = info.jkt.map(|jkt| Confirmation { jkt });
    // RFC 9449 section 6.2: the token type of a bound access token is DPoP.
    if r.cnf.is_some() && r.token_type.is_some() {
        r.token_type = Some("DPoP".to_owned());
    }
    r
}

/// `POST /oauth2/revoke` (RFC 7009).
pub(super) async fn revoke(
    creds: Credentials,
    body: Body<RevocationRequest, Rfc>,
    state: Data,
) -> Reply {
    let r = body.value;
    let params = ClientParams {
        client_id: r.client_id,
        client_secret: r.client_secret,
        client_assertion_type: r.client_assertion_type,
        client_assertion: r.client_assertion,
    };
    let (client, token) = owner_and_token(&creds, params, r.token)?;
    state.blocking(move |s| s.revoke(&client, &token)).await?;
    // RFC 7009 2.2 asks for no body; `{}` as JSON costs nothing and some clients need it.
    Ok(reply::json_bytes("{}"))
}

/// `GET /.well-known/oauth-authorization-server`.
pub(super) async fn metadata(state: Data) -> HttpResponse {
    super::standard::metadata_document(&state).await
}

/// `GET /healthz`: the database answers.
pub(super) async fn health(state: Data) -> HttpResponse {
    let (mut res, body) = match state.blocking(|s| s.check_database()).await {
        Ok(()) => (HttpResponse::Ok(), r#"{"status":"ok"}"#),
        Err(_) => (
            HttpResponse::ServiceUnavailable(),
            r#"{"status":"unavailable"}"#,
        ),
    };
    res.insert_header((header::CONTENT_TYPE, ResponseFormat::Json.content_type()))
        .body(body)
}

/// `GET /metrics`: Prometheus text.
pub(super) async fn metrics(state: Data) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        ))
        .body(crate::metrics::exposition(&state).await)
}
