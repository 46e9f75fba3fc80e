//! v1's `POST /api/v1/auth/token`: the password, `refresh_token`, `client_credentials` and
//! `authorization_code` grants, and Windows authentication through a trusted proxy.
//!
//! Legacy quirks kept: the answer is Keycloak-shaped (`refresh_expires_in`,
//! `not-before-policy`, `session_state`) with the caller's address and the user's editor
//! flag; `windowsAuthentication: true` takes the user from the authenticating proxy's header
//! instead of a password; a missing client is refused unless a default client is configured
//! (a legacy proxy that supplied its own).

use actix_web::{web, HttpRequest};
use gatehouse_domain::service::{ClientAuth, IssuedTokens, WindowsGrant, WithoutClient};
use gatehouse_models::v1::{AccessTokenResponse, TokenRequest};

use super::error::ApiError;
use super::extract::{Body, Credentials, Dialect};
use super::grant;
use super::reply::{self, non_empty, secs, Reply};
use crate::AppState;

/// `POST /api/v1/auth/token`.
pub(super) async fn token(
    creds: Credentials,
    dialect: Dialect,
    body: Body<TokenRequest>,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Reply {
    let Body {
        value: mut r,
        bytes,
        ..
    } = body;
    let client = creds.client(r.client_id.take(), r.client_secret.take())?;
    let scope = non_empty(r.scope.take());
    // RFC 6749 section 3.2.1: the client identifies itself, unless a configured default
    // client stands in (a legacy proxy that supplied its own).
    let without_client = match &state.config.v1_default_client {
        Some(id) => WithoutClient::Client(id.clone()),
        None => WithoutClient::Refuse,
    };
    let grant = Grant {
        r,
        client,
        scope,
        without_client,
    };
    let issued = grant.issue(&state, &creds, &req, &bytes).await?;
    reply::token(dialect.format, &response(issued, &creds))
}

/// The request of a grant by `grant_type`, with what the handler took out of it.
struct Grant {
    r: TokenRequest,
    client: Option<ClientAuth>,
    scope: Option<String>,
    without_client: WithoutClient,
}

impl Grant {
    /// One domain call: Windows authentication, else the grant type's. `bytes` is the body,
    /// for the code's binding.
    async fn issue(
        self,
        state: &AppState,
        creds: &Credentials,
        req: &HttpRequest,
        bytes: &[u8],
    ) -> Result<IssuedTokens, ApiError> {
        if self.r.windows_authentication == Some(true) {
            return self.windows(state, creds, req).await;
        }
        let Grant {
            r,
            client,
            scope,
            without_client,
        } = self;
        let grant_type = grant::parse(r.grant_type.as_deref(), grant::V1)?;
        let members = grant::Members {
            code: r.code,
            refresh_token: r.refresh_token,
            username: r.username,
            password: r.password,
            exchange: None,
        };
        let grant = grant::Grant::of(grant_type, members, || {
            super::standard::v1_code_binding(req, bytes)
        })?;
        let caller = grant::Caller {
            client,
            without_client,
            scope,
            ip: creds.ip(),
        };
        grant::issue(state, grant, caller).await
    }
}

impl Grant {
    /// `windowsAuthentication: true`: the user the authenticating proxy names, no password.
    async fn windows(
        self,
        state: &AppState,
        creds: &Credentials,
        req: &HttpRequest,
    ) -> Result<IssuedTokens, ApiError> {
        let grant = WindowsGrant {
            user_name: windows_user(req, state, creds)?,
            client: self.client,
            client_key: None,
            caller_ip: Some(creds.ip()),
            scope: self.scope,
            want_refresh: true,
            without_client: self.without_client,
        };
        state.blocking(move |s| s.windows_grant(grant)).await
    }
}

fn response(issued: IssuedTokens, creds: &Credentials) -> AccessTokenResponse {
    AccessTokenResponse {
        access_token: issued.access_token.expose().to_owned(),
        expires_in: secs(issued.expires_in),
        redirect_url: issued.redirect_url,
        ip: Some(creds.ip().to_string()),
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
fn windows_user(
    req: &HttpRequest,
    state: &AppState,
    creds: &Credentials,
) -> Result<String, ApiError> {
    let Some(name) = state.config.windows_auth_header.as_deref() else {
        return Err(ApiError::BadRequest(
            "Windows authentication is not configured on this server.".into(),
        ));
    };
    if !creds.caller.from_trusted_proxy {
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
