//! The one error type of the domain crate.

use time::Duration;

use crate::credentials::CredentialError;

/// Why an operation failed. The server maps each variant to every dialect's error shape.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    /// caller's.
    #[error("invalid grant: {0}")]
    InvalidGrant(&'static str),
    /// The client may not use this grant.
    #[error("the client is not authorized to use this grant type")]
    UnauthorizedClient,
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
            _ => None,
        }
    }
}
