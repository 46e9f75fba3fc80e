//! One handler per endpoint: read and decode the body for the dialect, make one domain call,
//! write the answer in the dialect. Failures go through [`super::error::render`].

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, Route};
use gatehouse_codec::{self as codec, ResponseFormat};
use gatehouse_domain::secret::Secret;
use gatehouse_domain::service::{
    ClientAuth, IssuedTokens, MemberGrant, OneTimeIssuer, OneTimeRequest, PasswordGrant, TokenInfo,
    TokenKind, WindowsGrant, WithoutClient,
};
use gatehouse_domain::store::Store as _;
use gatehouse_models::dotnet::{DateTime, TimeSpan};
use gatehouse_models::oauth::{IntrospectionRequest, IntrospectionResponse, RevocationRequest};
use gatehouse_models::{katana, member, onetime, otc, v1, Contract};
use serde::Serialize;

use super::error::{render, ApiError};
use super::request::{self, Ctx, Leniency};
use super::Endpoint;
use crate::AppState;

type Data = web::Data<AppState>;
type Outcome = Result<HttpResponse, ApiError>;

/// The actix route for `endpoint`.
pub(super) fn route(endpoint: Endpoint, method: Route) -> Route {
    match endpoint {
        Endpoint::KatanaToken => method.to(katana_token),
        Endpoint::V1Token => method.to(v1_token),
        Endpoint::MemberToken => method.to(member_token),
        Endpoint::OtcAuthCode => method.to(otc_auth_code),
        Endpoint::OtcToken => method.to(otc_token),
        Endpoint::OneTimeToken => method.to(onetime_token),
        Endpoint::OneTimeAuthorize => method.to(onetime_authorize),
        Endpoint::Introspect => method.to(introspect),
        Endpoint::Revoke => method.to(revoke),
        Endpoint::Metadata => method.to(metadata),
        Endpoint::Health => method.to(health),
        Endpoint::Metrics => method.to(metrics),
    }
}

// ----- plumbing ----------------------------------------------------------------------

fn ctx(req: &HttpRequest, state: &AppState, endpoint: Endpoint) -> Ctx {
    Ctx::new(req, endpoint, &state.config.trusted_proxies)
}

/// Writes the outcome: the success as built, or the error in the dialect's words.
fn finish(req: &HttpRequest, state: &AppState, ctx: &Ctx, outcome: Outcome) -> HttpResponse {
    match outcome {
        Ok(res) => res,
        Err(err) => {
            let used_basic = request::uses_basic(req);
            render(
                ctx.endpoint,
                ctx.format,
                &err,
                &state.error_id(),
                used_basic,
            )
        }
    }
}

/// A token response in the negotiated format, never cached.
fn token_response<T: Serialize + Contract>(format: ResponseFormat, value: &T) -> Outcome {
    let body = codec::encode(format, value).map_err(|e| {
        tracing::error!(error = %e, "response did not encode");
        ApiError::Internal
    })?;
    Ok(no_store(HttpResponse::Ok())
        .insert_header((header::CONTENT_TYPE, format.content_type()))
        .body(body))
}

/// A JSON-only (RFC) response, never cached.
fn json_response<T: Serialize>(value: &T) -> Outcome {
    let body = codec::encode_json(value).map_err(|e| {
        tracing::error!(error = %e, "response did not encode");
        ApiError::Internal
    })?;
    Ok(no_store(HttpResponse::Ok())
        .insert_header((header::CONTENT_TYPE, ResponseFormat::Json.content_type()))
        .body(body))
}

fn no_store(mut builder: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    builder
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    builder
}

/// Client credentials from `Authorization: Basic`, else from the body; `None` when neither.
/// Failed attempts are counted against the caller's address.
fn client_auth(
    req: &HttpRequest,
    ctx: &Ctx,
    body_id: Option<String>,
    body_secret: Option<String>,
) -> Result<Option<ClientAuth>, ApiError> {
    if let Some(basic) = request::basic(req)? {
        return Ok(Some(
            ClientAuth::basic(basic.candidates().map(|p| (p.id.clone(), p.secret.clone())))
                .with_caller_ip(ctx.ip),
        ));
    }
    Ok(non_empty(body_id).map(|id| {
        ClientAuth::new(id, non_empty(body_secret).map(Secret::from)).with_caller_ip(ctx.ip)
    }))
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

fn required(value: Option<String>, what: &str) -> Result<String, ApiError> {
    non_empty(value).ok_or_else(|| ApiError::BadRequest(format!("{what} is required.")))
}

/// A Web API model-state error (`{"Message":"The request is invalid.","ModelState":...}`).
fn required_member(value: Option<String>, model: &str, member: &str) -> Result<String, ApiError> {
    non_empty(value).ok_or_else(|| ApiError::Invalid {
        key: format!("{model}.{member}"),
        error: format!("The {member} field is required."),
    })
}

fn secs(d: time::Duration) -> i64 {
    d.whole_seconds()
}

// ----- katana: POST /token -----------------------------------------------------------

async fn katana_token(req: HttpRequest, payload: web::Payload, state: Data) -> HttpResponse {
    let ctx = ctx(&req, &state, Endpoint::KatanaToken);
    let outcome = async {
        ctx.identified()?;
        let body = request::read_body(&req, payload, state.config.body_limit).await?;
        let form: katana::OAuthRequest = request::decode(&req, &body, Leniency::Katana)?;
        // Katana compared grant_type case-sensitively and knew only the password grant here.
        if form.grant_type.as_deref() != Some("password") {
            return Err(ApiError::UnsupportedGrantType);
        }
        let client = client_auth(&req, &ctx, form.client_id, form.client_secret)?;
        let grant = PasswordGrant {
            user_name: required(form.user_name, "userName")?,
            password: Secret::from(required(form.password, "password")?),
            client,
            client_key: non_empty(form.client_key),
            caller_ip: Some(ctx.ip),
            scope: None,
            want_refresh: false,
            // Katana's /token has no scope parameter: a client-less token gets the configured
            // default scope (empty unless set), nothing a caller asks for.
            without_client: WithoutClient::Scope(state.config.katana_default_scope.clone()),
        };
        let issued = state.hashing(move |s| s.password_grant(grant)).await?;
        let user = issued.user.clone().ok_or(ApiError::Internal)?;
        token_response(
            ctx.format,
            &katana::OAuthToken {
                access_token: issued.access_token.expose().to_owned(),
                token_type: "bearer".to_owned(),
                expires_in: secs(issued.expires_in),
                user_name: user.user_name,
                user_id: user.id.to_string(),
                session_key: issued.session_id.to_string(),
                client_key: issued.client_key,
            },
        )
    }
    .await;
    finish(&req, &state, &ctx, outcome)
}

// ----- v1: POST /api/v1/auth/token ---------------------------------------------------

async fn v1_token(req: HttpRequest, payload: web::Payload, state: Data) -> HttpResponse {
    let ctx = ctx(&req, &state, Endpoint::V1Token);
    let outcome = async {
        ctx.identified()?;
        let body = request::read_body(&req, payload, state.config.body_limit).await?;
        let r: v1::TokenRequest = request::decode(&req, &body, Leniency::WebApi)?;
        let client = client_auth(&req, &ctx, r.client_id, r.client_secret)?;
        let ip = ctx.ip;
        let scope = non_empty(r.scope);
        // RFC 6749 section 3.2.1: the client identifies itself, unless a configured default
        // client stands in (a legacy proxy that supplied its own).
        let without_client = match &state.config.v1_default_client {
            Some(id) => WithoutClient::Client(id.clone()),
            None => WithoutClient::Refuse,
        };
        let issued = if r.windows_authentication == Some(true) {
            let user_name = windows_user(&req, &state, &ctx)?;
            let grant = WindowsGrant {
                user_name,
                client,
                client_key: None,
                caller_ip: Some(ip),
                scope,
                want_refresh: true,
                without_client,
            };
            state.blocking(move |s| s.windows_grant(grant)).await?
        } else {
            match r.grant_type.as_deref() {
                Some("password") => {
                    let grant = PasswordGrant {
                        user_name: required(r.username, "username")?,
                        password: Secret::from(required(r.password, "password")?),
                        client,
                        client_key: None,
                        caller_ip: Some(ip),
                        scope,
                        want_refresh: true,
                        without_client,
                    };
                    state.hashing(move |s| s.password_grant(grant)).await?
                }
                Some("refresh_token") => {
                    let token = required(r.refresh_token, "refresh_token")?;
                    let client = client.ok_or(ApiError::MissingClient)?;
                    state
                        .blocking(move |s| s.refresh_grant(&client, &token, scope.as_deref()))
                        .await?
                }
                Some("client_credentials") => {
                    let client = client.ok_or(ApiError::MissingClient)?;
                    state
                        .blocking(move |s| {
                            s.client_credentials_grant(&client, scope.as_deref(), Some(ip))
                        })
                        .await?
                }
                Some("authorization_code") => {
                    let code = required(r.code, "code")?;
                    let client = client.ok_or(ApiError::MissingClient)?;
                    let binding = super::standard::v1_code_binding(&req, &body);
                    state
                        .blocking(move |s| s.exchange_code(&client, &code, binding, Some(ip), true))
                        .await?
                }
                None => {
                    return Err(ApiError::BadRequest("grant_type is required.".into()));
                }
                Some(_) => return Err(ApiError::UnsupportedGrantType),
            }
        };
        token_response(ctx.format, &v1_response(issued, &ctx))
    }
    .await;
    finish(&req, &state, &ctx, outcome)
}

fn v1_response(issued: IssuedTokens, ctx: &Ctx) -> v1::AccessTokenResponse {
    v1::AccessTokenResponse {
        access_token: issued.access_token.expose().to_owned(),
        expires_in: secs(issued.expires_in),
        redirect_url: issued.redirect_url,
        ip: Some(ctx.ip.to_string()),
        is_editor: issued.user.as_ref().is_some_and(|u| u.flags.editor),
        refresh_expires_in: issued.refresh_expires_in.map(secs).unwrap_or(0),
        refresh_token: issued.refresh_token.map(|t| t.expose().to_owned()),
        token_type: "Bearer".to_owned(),
        not_before_policy: 0,
        session_state: Some(issued.session_id.to_string()),
        scope: Some(issued.scope),
    }
}

/// The Windows user name a trusted authenticating proxy put in the configured header.
fn windows_user(req: &HttpRequest, state: &AppState, ctx: &Ctx) -> Result<String, ApiError> {
    let Some(name) = state.config.windows_auth_header.as_deref() else {
        return Err(ApiError::BadRequest(
            "Windows authentication is not configured on this server.".into(),
        ));
    };
    if !ctx.from_trusted_proxy {
        return Err(ApiError::BadRequest(
            "Windows authentication is only accepted through the authenticating proxy.".into(),
        ));
    }
    let value = req
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ApiError::BadRequest("The authenticating proxy sent no Windows user.".into())
        })?;
    windows_account(value, &state.config.windows_domains)
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::Domain(gatehouse_domain::Error::Forbidden(
                "the Windows user is not in a domain this server accepts",
            ))
        })
}

/// The account name of a Windows principal whose whole domain is one of `domains`
/// (case-insensitively): `DOMAIN\\user` (down-level logon name) or `user@domain` (UPN).
/// Anything else — a bare name, an unlisted domain, more than one separator, an empty part —
/// is `None`: the domain is part of the identity, and `alice` of another forest is not ours.
pub fn windows_account<'a>(principal: &'a str, domains: &[String]) -> Option<&'a str> {
    let known = |d: &str| !d.is_empty() && domains.iter().any(|k| k.eq_ignore_ascii_case(d));
    let valid_user = |u: &str| !u.is_empty() && !u.contains(['\\', '@', '/']);
    if let Some((domain, user)) = principal.split_once('\\') {
        return (known(domain) && valid_user(user)).then_some(user);
    }
    if let Some((user, domain)) = principal.rsplit_once('@') {
        return (known(domain) && valid_user(user)).then_some(user);
    }
    None
}

// ----- member: POST /api/Token -------------------------------------------------------

async fn member_token(req: HttpRequest, payload: web::Payload, state: Data) -> HttpResponse {
    let ctx = ctx(&req, &state, Endpoint::MemberToken);
    let offset = state.config.display_offset;
    let outcome = async {
        ctx.identified()?;
        let body = request::read_body(&req, payload, state.config.body_limit).await?;
        let m: member::AuthMemberModel = request::decode(&req, &body, Leniency::WebApi)?;
        let grant = MemberGrant {
            member_id: required_member(m.member_id, "request", "MemberId")?,
            password: Secret::from(required_member(m.password, "request", "Password")?),
            sub_account: non_empty(m.sub_account),
            caller_ip: Some(ctx.ip),
        };
        let login = state.hashing(move |s| s.member_grant(grant)).await?;
        let tokens = &login.tokens;
        let user = tokens.user.clone().ok_or(ApiError::Internal)?;
        let expire_in = TimeSpan::from_duration(tokens.expires_in).ok_or(ApiError::Internal)?;
        let expire_time =
            DateTime::local(tokens.expires_at, offset).map_err(|_| ApiError::Internal)?;
        let expire_time_utc = DateTime::utc(tokens.expires_at).map_err(|_| ApiError::Internal)?;
        token_response(
            ctx.format,
            &member::TokenModel {
                user_name: user.user_name,
                token: tokens.access_token.expose().to_owned(),
                expire_in,
                expire_time,
                query_all: user.flags.query_all,
                df_visible: user.flags.df_visible,
                id_member: i32::try_from(login.member_internal_id)
                    .map_err(|_| ApiError::Internal)?,
                id_sub_account: i32::try_from(login.sub_account_id)
                    .map_err(|_| ApiError::Internal)?,
                expire_time_utc,
            },
        )
    }
    .await;
    finish(&req, &state, &ctx, outcome)
}

// ----- otc: POST /admin/login/auth_code and /admin/login/token -----------------------

async fn otc_auth_code(req: HttpRequest, payload: web::Payload, state: Data) -> HttpResponse {
    let ctx = ctx(&req, &state, Endpoint::OtcAuthCode);
    let outcome = async {
        ctx.identified()?;
        let body = request::read_body(&req, payload, state.config.body_limit).await?;
        let r: otc::AuthCodeRequest = request::decode(&req, &body, Leniency::WebApi)?;
        let client_id = required(r.client_id, "ClientId")?;
        let secret = required(r.client_secret, "ClientSecret")?;
        let user_name = required(r.username, "Username")?;
        let password = Secret::from(required(r.password, "Password")?);
        let client = ClientAuth::new(client_id, Some(Secret::from(secret))).with_caller_ip(ctx.ip);
        let ip = ctx.ip;
        let code = state
            .hashing(move |s| s.issue_auth_code(&client, &user_name, &password, Some(ip)))
            .await?;
        token_response(ctx.format, &otc::AuthCodeResponse::ok(code.code.expose()))
    }
    .await;
    finish(&req, &state, &ctx, outcome)
}

async fn otc_token(req: HttpRequest, payload: web::Payload, state: Data) -> HttpResponse {
    let ctx = ctx(&req, &state, Endpoint::OtcToken);
    let outcome = async {
        ctx.identified()?;
        let body = request::read_body(&req, payload, state.config.body_limit).await?;
        let r: otc::TokenRequest = request::decode(&req, &body, Leniency::WebApi)?;
        let client_id = required(r.client_id, "ClientId")?;
        let secret = required(r.client_secret, "ClientSecret")?;
        let code = required(r.auth_code, "AuthCode")?;
        let client = ClientAuth::new(client_id, Some(Secret::from(secret))).with_caller_ip(ctx.ip);
        let ip = ctx.ip;
        let issued = state
            .blocking(move |s| s.exchange_auth_code(&client, &code, Some(ip), false))
            .await?;
        token_response(
            ctx.format,
            &otc::TokenResponse::ok(issued.access_token.expose(), secs(issued.expires_in)),
        )
    }
    .await;
    finish(&req, &state, &ctx, outcome)
}

// ----- onetime: POST /oauth2/onetime/token and /oauth2/onetime/authorize -------------

async fn onetime_token(req: HttpRequest, payload: web::Payload, state: Data) -> HttpResponse {
    let ctx = ctx(&req, &state, Endpoint::OneTimeToken);
    let outcome = async {
        ctx.identified()?;
        let issuer = if let Some(token) = request::bearer(&req) {
            OneTimeIssuer::Bearer(Secret::from(token))
        } else if let Some(basic) = request::basic(&req)? {
            OneTimeIssuer::Client(
                ClientAuth::basic(basic.candidates().map(|p| (p.id.clone(), p.secret.clone())))
                    .with_caller_ip(ctx.ip),
            )
        } else {
            return Err(ApiError::Unauthenticated);
        };
        let body = request::read_body(&req, payload, state.config.body_limit).await?;
        let r: onetime::OneTimeTokenRequest = request::decode(&req, &body, Leniency::WebApi)?;
        let request = OneTimeRequest {
            client_id: required_member(r.client_id, "request", "ClientId")?,
            broker_id: r.broker_id,
            user_name: non_empty(r.user_name),
            trading_account: non_empty(r.trading_account),
            server: non_empty(r.server),
            payload: r.payload.unwrap_or_default(),
        };
        let code = state
            .blocking(move |s| s.issue_onetime_code(&issuer, &request))
            .await?;
        token_response(
            ctx.format,
            &onetime::OneTimeTokenResponse::new(code.code.expose()),
        )
    }
    .await;
    finish(&req, &state, &ctx, outcome)
}

async fn onetime_authorize(req: HttpRequest, payload: web::Payload, state: Data) -> HttpResponse {
    let ctx = ctx(&req, &state, Endpoint::OneTimeAuthorize);
    let outcome = async {
        ctx.identified()?;
        let body = request::read_body(&req, payload, state.config.body_limit).await?;
        let r: onetime::OneTimeAuthorizeRequest = request::decode(&req, &body, Leniency::WebApi)?;
        let code = required_member(r.code, "request", "Code")?;
        let client = client_auth(&req, &ctx, r.client_id, r.client_secret)?
            .ok_or(ApiError::Unauthenticated)?;
        let redeemed = state
            .blocking(move |s| s.redeem_onetime_code(&client, &code))
            .await?;
        token_response(
            ctx.format,
            &onetime::OneTimeAuthorizeResponse {
                user_id: redeemed.user.id,
                user_name: redeemed.user.user_name,
                broker_id: redeemed.broker_id,
                trading_account: redeemed.trading_account,
                server: redeemed.server,
                payload: redeemed.payload,
                access_token: redeemed.tokens.access_token.expose().to_owned(),
                token_type: "Bearer".to_owned(),
                expires_in: secs(redeemed.tokens.expires_in),
            },
        )
    }
    .await;
    finish(&req, &state, &ctx, outcome)
}

// ----- shared: introspection, revocation, metadata, health, metrics ------------------

async fn introspect(req: HttpRequest, payload: web::Payload, state: Data) -> HttpResponse {
    let ctx = ctx(&req, &state, Endpoint::Introspect);
    let outcome = async {
        ctx.identified()?;
        let body = request::read_body(&req, payload, state.config.body_limit).await?;
        let r: IntrospectionRequest = request::decode_rfc(&req, &body)?;
        let client = client_auth(&req, &ctx, r.client_id, r.client_secret)?
            .ok_or(ApiError::MissingClient)?;
        let token = required(r.token, "token")?;
        let counted = client.clone();
        let info = match state.read(move |s| s.introspect(&client, &token)).await {
            // A wrong secret is counted against the address on the blocking pool (introspection
            // only reads), before the refusal is sent.
            Err(ApiError::Domain(gatehouse_domain::Error::InvalidClient)) => {
                state
                    .blocking(move |s| {
                        s.count_failed_client(&counted);
                        Ok(())
                    })
                    .await?;
                return Err(ApiError::Domain(gatehouse_domain::Error::InvalidClient));
            }
            other => other?,
        };
        json_response(
            &info
                .map(introspection)
                .unwrap_or_else(IntrospectionResponse::inactive),
        )
    }
    .await;
    finish(&req, &state, &ctx, outcome)
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
    r
}

async fn revoke(req: HttpRequest, payload: web::Payload, state: Data) -> HttpResponse {
    let ctx = ctx(&req, &state, Endpoint::Revoke);
    let outcome = async {
        ctx.identified()?;
        let body = request::read_body(&req, payload, state.config.body_limit).await?;
        let r: RevocationRequest = request::decode_rfc(&req, &body)?;
        let client = client_auth(&req, &ctx, r.client_id, r.client_secret)?
            .ok_or(ApiError::MissingClient)?;
        let token = required(r.token, "token")?;
        state.blocking(move |s| s.revoke(&client, &token)).await?;
        // RFC 7009 2.2 asks for no body; `{}` as JSON costs nothing and some clients need it.
        Ok(no_store(HttpResponse::Ok())
            .insert_header((header::CONTENT_TYPE, ResponseFormat::Json.content_type()))
            .body("{}"))
    }
    .await;
    finish(&req, &state, &ctx, outcome)
}

async fn metadata(state: Data) -> HttpResponse {
    super::standard::metadata_document(&state).await
}

async fn health(state: Data) -> HttpResponse {
    match state
        .blocking(|s| s.store().read(|tx| tx.client("").map(|_| ())))
        .await
    {
        Ok(()) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, ResponseFormat::Json.content_type()))
            .body(r#"{"status":"ok"}"#),
        Err(_) => HttpResponse::ServiceUnavailable()
            .insert_header((header::CONTENT_TYPE, ResponseFormat::Json.content_type()))
            .body(r#"{"status":"unavailable"}"#),
    }
}

async fn metrics(state: Data) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        ))
        .body(state.metrics.render(state.gauges()))
}

#[cfg(test)]
mod tests {
    use super::windows_account;

    #[test]
    fn windows_principals_match_whole_domains() {
        let domains = vec!["CORP".to_owned(), "corp.example".to_owned()];
        assert_eq!(windows_account("CORP\\alice", &domains), Some("alice"));
        assert_eq!(windows_account("corp\\alice", &domains), Some("alice"));
        assert_eq!(
            windows_account("alice@corp.example", &domains),
            Some("alice")
        );
        assert_eq!(
            windows_account("alice@CORP.EXAMPLE", &domains),
            Some("alice")
        );
        for refused in [
            "UNTRUSTED-FOREST\\alice",
            "alice@evil.example",
            "evil\\x\\alice",
            "CORP\\x\\alice",
            "alice",
            "CORP\\",
            "\\alice",
            "alice@",
            "alice@corp.example.evil",
            "x@alice@corp.example",
            "CORP\\alice@corp.example",
        ] {
            assert_eq!(windows_account(refused, &domains), None, "{refused}");
        }
        assert_eq!(windows_account("CORP\\alice", &[]), None);
    }
}
