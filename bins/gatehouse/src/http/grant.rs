//! The one grant dispatcher of the token endpoints (`/oauth2/token` and v1's
//! `/api/v1/auth/token`): the `grant_type` is parsed once into a [`GrantType`] against the
//! dialect's accepted subset, the grant's members are checked into a [`Grant`], and
//! [`issue`] makes the grant type's one domain call.

use std::net::IpAddr;

use gatehouse_domain::authorize::CodeBinding;
use gatehouse_domain::secret::Secret;
use gatehouse_domain::service::{ClientAuth, IssuedTokens, PasswordGrant, WithoutClient};
use gatehouse_domain::token_exchange::TokenExchange;
pub use gatehouse_models::oauth::GrantType;

use super::error::ApiError;
use super::reply::required;
use crate::AppState;

/// The grant types of `/oauth2/token` (the metadata's `grant_types_supported`).
pub const STANDARD: &[GrantType] = &GrantType::ALL;
/// The grant types of v1's `/api/v1/auth/token` (and `windowsAuthentication`, which is not a
/// grant type): the legacy service's four.
pub const V1: &[GrantType] = &[
    GrantType::AuthorizationCode,
    GrantType::RefreshToken,
    GrantType::ClientCredentials,
    GrantType::Password,
];

/// `grant_type` parsed against the grant types an endpoint `accepts`: absent is
/// `invalid_request`, anything else not accepted is `unsupported_grant_type`.
///
/// # Errors
/// `BadRequest` when absent, `UnsupportedGrantType` otherwise.
pub fn parse(text: Option<&str>, accepts: &[GrantType]) -> Result<GrantType, ApiError> {
    let text = text.ok_or_else(|| ApiError::BadRequest("grant_type is required.".into()))?;
    GrantType::from_wire(text)
        .filter(|g| accepts.contains(g))
        .ok_or(ApiError::UnsupportedGrantType)
}

/// The members a grant may carry, as the dialect read them.
#[derive(Default)]
pub struct Members {
    /// `code`.
    pub code: Option<String>,
    /// `refresh_token`.
    pub refresh_token: Option<String>,
    /// `username`.
    pub username: Option<String>,
    /// `password`.
    pub password: Option<String>,
    /// The token exchange parameters (RFC 8693 section 2.1), `/oauth2/token` only.
    pub exchange: Option<Box<TokenExchange>>,
}

/// A grant with its required members present.
pub enum Grant {
    /// `authorization_code`.
    AuthorizationCode {
        /// The code.
        code: String,
        /// Its `redirect_uri` and `code_verifier`.
        binding: CodeBinding,
    },
    /// `refresh_token`.
    RefreshToken(String),
    /// `client_credentials`.
    ClientCredentials,
    /// `password`.
    Password {
        /// The user name.
        user_name: String,
        /// The password.
        password: Secret,
    },
    /// RFC 8693 token exchange.
    TokenExchange(Box<TokenExchange>),
}

impl Grant {
    /// The grant of `grant_type` from `members`; `binding` is read only for a code.
    ///
    /// # Errors
    /// `BadRequest` naming a missing member.
    pub fn of(
        grant_type: GrantType,
        members: Members,
        binding: impl FnOnce() -> CodeBinding,
    ) -> Result<Self, ApiError> {
        Ok(match grant_type {
            GrantType::AuthorizationCode => Grant::AuthorizationCode {
                code: required(members.code, "code")?,
                binding: binding(),
            },
            GrantType::RefreshToken => {
                Grant::RefreshToken(required(members.refresh_token, "refresh_token")?)
            }
            GrantType::ClientCredentials => Grant::ClientCredentials,
            GrantType::Password => Grant::Password {
                user_name: required(members.username, "username")?,
                password: Secret::from(required(members.password, "password")?),
            },
            GrantType::TokenExchange => Grant::TokenExchange(
                members
                    .exchange
                    .ok_or_else(|| ApiError::BadRequest("subject_token is required.".into()))?,
            ),
        })
    }
}

/// Who asks and for what, beside the grant.
pub struct Caller {
    /// The authenticated client, if one was presented.
    pub client: Option<ClientAuth>,
    /// What stands in for a missing client (password grant only; every other grant needs a
    /// client).
    pub without_client: WithoutClient,
    /// The requested scope.
    pub scope: Option<String>,
    /// The caller's address.
    pub ip: IpAddr,
}

/// One domain call for `grant`.
///
/// # Errors
/// `MissingClient` when a grant other than `password` has no client; the domain's refusal.
pub async fn issue(
    state: &AppState,
    grant: Grant,
    caller: Caller,
) -> Result<IssuedTokens, ApiError> {
    let Caller {
        client,
        without_client,
        scope,
        ip,
    } = caller;
    match grant {
        Grant::Password {
            user_name,
            password,
        } => {
            let grant = PasswordGrant {
                user_name,
                password,
                client,
                client_key: None,
                caller_ip: Some(ip),
                scope,
                want_refresh: true,
                without_client,
            };
            state.hashing(move |s| s.password_grant(grant)).await
        }
        Grant::AuthorizationCode { code, binding } => {
            let client = client.ok_or(ApiError::MissingClient)?;
            state
                .blocking(move |s| s.exchange_code(&client, &code, binding, Some(ip), true))
                .await
        }
        Grant::RefreshToken(token) => {
            let client = client.ok_or(ApiError::MissingClient)?;
            state
                .grant_now(!client.is_assertion(), move |s| {
                    s.refresh_grant_later(&client, &token, scope.as_deref())
                })
                .await
        }
        Grant::ClientCredentials => {
            let client = client.ok_or(ApiError::MissingClient)?;
            state
                .grant_now(!client.is_assertion(), move |s| {
                    s.client_credentials_grant_later(&client, scope.as_deref(), Some(ip))
                })
                .await
        }
        Grant::TokenExchange(mut request) => {
            let client = client.ok_or(ApiError::MissingClient)?;
            request.scope = scope;
            request.caller_ip = Some(ip);
            state
                .blocking(move |s| s.exchange_token(&client, &request))
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_types_parse_once_against_the_accepted_subset() {
        assert_eq!(
            parse(Some("refresh_token"), STANDARD).ok(),
            Some(GrantType::RefreshToken)
        );
        assert!(matches!(parse(None, V1), Err(ApiError::BadRequest(_))));
        for refused in ["implicit", "Password", "", " password"] {
            assert!(
                matches!(
                    parse(Some(refused), V1),
                    Err(ApiError::UnsupportedGrantType)
                ),
                "{refused}"
            );
        }
        assert!(matches!(
            parse(Some("client_credentials"), &[GrantType::Password]),
            Err(ApiError::UnsupportedGrantType)
        ));
    }
}
