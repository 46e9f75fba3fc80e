//! The one error type of the domain crate.

use time::Duration;

use crate::credentials::CredentialError;
use crate::model::{CodeRejection, UserRejection};

/// Why an operation failed. The server maps each variant to every dialect's error shape.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Client authentication failed: unknown client, wrong or missing secret.
    #[error("client authentication failed")]
    InvalidClient,
    /// Wrong user name, member id or password. Never says which.
    #[error("the user name or password is incorrect")]
    InvalidCredentials,
    /// The credentials were right but the account is disabled.
    #[error("the account is disabled")]
    AccountDisabled,
    /// Too many failed logins for this account or address; nothing was verified.
    #[error("too many failed login attempts; retry later")]
    Locked {
        /// How long until the next attempt is considered.
        retry_after: Duration,
    },
    /// The caller is throttled, not refused: its address is locked after failed client
    /// authentications, or it exceeded a rate or a cap (one-time codes). Not the grant's
    /// fault; retry after the delay.
    #[error("too many requests; retry later")]
    RateLimited {
        /// How long until the next attempt is considered.
        retry_after: Duration,
    },
    /// The grant (refresh token, code) is unknown, expired, used, revoked or not the
    /// caller's: which of these, [`GrantRejection`] says.
    #[error("invalid grant: {0}")]
    InvalidGrant(GrantRejection),
    /// The client may not use this grant.
    #[error("the client is not authorized to use this grant type")]
    UnauthorizedClient,
    /// Revocation (RFC 7009 2.1): the token was issued to another client. Answered as
    /// `unauthorized_client`, in words about revocation rather than grant types.
    #[error("the token was issued to another client; only that client may revoke it")]
    NotTokenOwner,
    /// The requested scope exceeds what the client (or the original grant) has.
    #[error("the requested scope is invalid")]
    InvalidScope,
    /// The caller is authenticated but not allowed to do this.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// A malformed or missing input.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A bearer access token that is not live (unknown, expired, revoked, session ended,
    /// user disabled).
    #[error("the access token is invalid")]
    InvalidToken,
    /// A token exchange (RFC 8693) was refused: which rule, [`crate::token_exchange::ExchangeRejection`]
    /// says (`invalid_request`, RFC 8693 section 2.2.2).
    #[error("token exchange refused: {0}")]
    Exchange(crate::token_exchange::ExchangeRejection),
    /// A DPoP proof (RFC 9449) was refused, missing where required, or by another key than
    /// the token's: which rule, [`crate::dpop::DpopRejection`] says.
    #[error("DPoP: {0}")]
    Dpop(crate::dpop::DpopRejection),
    /// RFC 8693 `invalid_target`: no audience, or one the client may not exchange for.
    #[error("invalid target: {0}")]
    InvalidTarget(&'static str),
    /// A provisioning target does not exist (CLI operations).
    #[error("not found: {0}")]
    NotFound(String),
    /// A provisioning change collides with existing data.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Signed tokens cannot be issued: no key-encryption key is configured, or no key of the
    /// algorithm a client is configured for is active. The operator's to fix, not the
    /// caller's (answered 503 with the reason, never 500).
    #[error("signed tokens are unavailable: {0}")]
    SigningUnavailable(String),
    /// A stored credential could not be read.
    #[error("credential error: {0}")]
    Credential(#[from] CredentialError),
    /// The store failed. Opaque on purpose: callers answer 500/503 and log it.
    #[error("storage error: {0}")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl Error {
    /// Wraps a storage-layer error.
    pub fn storage(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Storage(Box::new(error))
    }

    /// For [`Error::Locked`]: whole seconds to wait, rounded up, at least 1 (for
    /// `Retry-After`).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Error::Locked { retry_after } | Error::RateLimited { retry_after } => {
                let micros = retry_after.whole_microseconds().max(0);
                let secs = ((micros + 999_999) / 1_000_000).max(1);
                Some(u64::try_from(secs).unwrap_or(u64::MAX))
            }
            Error::InvalidClient
            | Error::InvalidCredentials
            | Error::AccountDisabled
            | Error::InvalidGrant(_)
            | Error::UnauthorizedClient
            | Error::NotTokenOwner
            | Error::InvalidScope
            | Error::Forbidden(_)
            | Error::InvalidRequest(_)
            | Error::InvalidToken
            | Error::Exchange(_)
            | Error::Dpop(_)
            | Error::InvalidTarget(_)
            | Error::NotFound(_)
            | Error::Conflict(_)
            | Error::Credential(_)
            | Error::SigningUnavailable(_)
            | Error::Storage(_) => None,
        }
    }
}

/// Which grant a [`GrantRejection`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantKind {
    /// A refresh token.
    RefreshToken,
    /// An authorization code (otc, v1 and `/oauth2/token` code exchanges).
    AuthorizationCode,
    /// A one-time code (`/oauth2/onetime/authorize`).
    OneTimeCode,
    /// A device code (RFC 8628, `/oauth2/token` polling).
    DeviceCode,
}

/// Why a grant was refused: the reason of [`Error::InvalidGrant`]. Its text is what the
/// client is told (`error_description`), so it names no secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantRejection {
    /// No such refresh token or code (or, for a JWT client's refresh, none that could be
    /// read before the transaction).
    Unknown(GrantKind),
    /// Issued to (or for) another client.
    WrongClient(GrantKind),
    /// Past its expiry.
    Expired(GrantKind),
    /// The refresh token was revoked.
    Revoked,
    /// Presented again after its one use (a rotated refresh token outside its grace retry,
    /// a consumed code): what it opened has been ended.
    Replayed(GrantKind),
    /// A code withdrawn before any redemption: the browser session that issued it ended
    /// (logout, a sign-in that replaced it), or its user changed password or was disabled.
    Withdrawn(GrantKind),
    /// The browser session that authorized the code has ended (or is gone).
    BrowserSessionEnded,
    /// Lost the race for its one use inside the transaction (fails closed; nothing is
    /// committed).
    AlreadyUsed(GrantKind),
    /// The refresh token's session does not exist.
    UnknownSession,
    /// The refresh token's session (or one of its ancestors) has ended or passed its
    /// absolute end.
    SessionEnded,
    /// The user of the grant no longer exists.
    UnknownUser,
    /// The session whose access token issued the one-time code has ended.
    IssuerSessionEnded,
    /// The access token that issued the one-time code was revoked.
    IssuerTokenRevoked,
    /// The refresh token's row changed between signing the JWT and the transaction.
    Changed,
    /// The token request's `redirect_uri` is not the authorization request's.
    RedirectUriMismatch,
    /// The code is bound to a redirect URI and the token request has none.
    RedirectUriMissing,
    /// The `code_verifier` does not hash to the code's `code_challenge`.
    VerifierMismatch,
    /// The code has a `code_challenge` and the token request no `code_verifier`.
    VerifierMissing,
    /// A `code_verifier` for a code issued without a challenge (PKCE downgrade).
    VerifierWithoutChallenge,
    /// A public client exchanged a code without PKCE.
    PkceRequired,
}

impl GrantRejection {
    /// The grant-level reason for a code's own rejection.
    pub fn of_code(kind: GrantKind, rejection: CodeRejection) -> Self {
        match rejection {
            CodeRejection::WrongClient => Self::WrongClient(kind),
            CodeRejection::Consumed => Self::Replayed(kind),
            CodeRejection::Withdrawn => Self::Withdrawn(kind),
            CodeRejection::Expired => Self::Expired(kind),
        }
    }
}

impl std::fmt::Display for GrantRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use GrantKind::{AuthorizationCode, DeviceCode, OneTimeCode, RefreshToken};
        f.write_str(match self {
            Self::Unknown(RefreshToken) => "unknown refresh token",
            Self::Unknown(AuthorizationCode) => "unknown authorization code",
            Self::Unknown(OneTimeCode) => "unknown code",
            Self::Unknown(DeviceCode) => "unknown device code",
            Self::WrongClient(DeviceCode) => "the device code was issued to another client",
            Self::WrongClient(RefreshToken) => "the refresh token was issued to another client",
            Self::WrongClient(AuthorizationCode) => "the code was issued to another client",
            Self::WrongClient(OneTimeCode) => "the code was issued for another client",
            Self::Expired(RefreshToken) => "the refresh token has expired",
            Self::Expired(AuthorizationCode | OneTimeCode | DeviceCode) => "the code has expired",
            Self::Revoked => "the refresh token was revoked",
            Self::Replayed(RefreshToken) => {
                "the refresh token was already used; the session has ended"
            }
            Self::AlreadyUsed(RefreshToken) => "the refresh token was already used",
            Self::Replayed(AuthorizationCode | OneTimeCode | DeviceCode)
            | Self::AlreadyUsed(AuthorizationCode | OneTimeCode | DeviceCode) => {
                "the code was already used"
            }
            Self::Withdrawn(_) => "the code was withdrawn: the sign-in that issued it has ended",
            Self::BrowserSessionEnded => "the sign-in that issued the code has ended",
            Self::UnknownSession => "unknown session",
            Self::SessionEnded => "the session has ended",
            Self::UnknownUser => "unknown user",
            Self::IssuerSessionEnded => "the session that issued the code has ended",
            Self::IssuerTokenRevoked => "the token that issued the code was revoked",
            Self::Changed => "the refresh token changed",
            Self::RedirectUriMismatch => "redirect_uri is not the one of the authorization request",
            Self::RedirectUriMissing => {
                "redirect_uri is required: the authorization request had one"
            }
            Self::VerifierMismatch => "code_verifier does not match the code_challenge",
            Self::VerifierMissing => {
                "code_verifier is required: the code was issued with a code_challenge"
            }
            Self::VerifierWithoutChallenge => {
                "code_verifier given, but the code was issued without a code_challenge"
            }
            Self::PkceRequired => "a public client must use PKCE",
        })
    }
}

impl From<UserRejection> for Error {
    /// A grant's user: disabled is [`Error::AccountDisabled`], gone is
    /// [`GrantRejection::UnknownUser`].
    fn from(rejection: UserRejection) -> Self {
        match rejection {
            UserRejection::Disabled => Error::AccountDisabled,
            UserRejection::Unknown => Error::InvalidGrant(GrantRejection::UnknownUser),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_reads_as_before_and_a_code_rejection_maps_to_its_grant() {
        use GrantKind::{AuthorizationCode, OneTimeCode, RefreshToken};
        let said = |r: GrantRejection| Error::InvalidGrant(r).to_string();
        assert_eq!(
            said(GrantRejection::WrongClient(RefreshToken)),
            "invalid grant: the refresh token was issued to another client"
        );
        assert_eq!(
            said(GrantRejection::WrongClient(OneTimeCode)),
            "invalid grant: the code was issued for another client"
        );
        assert_eq!(
            said(GrantRejection::Replayed(RefreshToken)),
            "invalid grant: the refresh token was already used; the session has ended"
        );
        assert_eq!(
            said(GrantRejection::Replayed(AuthorizationCode)),
            "invalid grant: the code was already used"
        );
        assert_eq!(
            GrantRejection::of_code(OneTimeCode, CodeRejection::Consumed),
            GrantRejection::Replayed(OneTimeCode)
        );
        assert_eq!(
            GrantRejection::of_code(AuthorizationCode, CodeRejection::Expired),
            GrantRejection::Expired(AuthorizationCode)
        );
        assert!(matches!(
            Error::from(UserRejection::Unknown),
            Error::InvalidGrant(GrantRejection::UnknownUser)
        ));
        assert!(matches!(
            Error::from(UserRejection::Disabled),
            Error::AccountDisabled
        ));
    }
}
