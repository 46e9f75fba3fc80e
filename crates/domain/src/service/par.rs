//! Pushed authorization requests (RFC 9126): a client posts its authorization request to
//! `/oauth2/par` (authenticated as at the token endpoint), gets a `request_uri`, and sends the
//! browser to `/oauth2/authorize` with only `client_id` and that `request_uri`.
//!
//! Rules:
//! - the pushed request is checked exactly as an authorization request would be (client,
//!   registered redirect URI, PKCE, scope, ...); `request_uri` inside it is refused;
//! - the `request_uri` is `urn:ietf:params:oauth:request_uri:` + 256 random bits; only their
//!   SHA-256 is stored; it lives [`PUSHED_REQUEST_LIFETIME`];
//! - it is bound to the client that pushed it: `/oauth2/authorize` refuses it with another
//!   `client_id`;
//! - it is single use: the code is issued in the same write transaction that deletes it, so a
//!   second use (another browser, a replay) finds nothing; reloading the login page before
//!   that works (RFC 9126 section 4 allows it);
//! - at most [`MAX_PUSHED_PER_CLIENT`] live per client (expired ones of the client are deleted
//!   first; `purge` deletes the rest): an ordinary client cannot grow the store without bound;
//! - `require_pushed_authorization_requests`, globally ([`ParMode::Required`]) or per client
//!   ([`ClientPar`]), refuses an authorization request that was not pushed.

use std::fmt;

use time::{Duration, OffsetDateTime};

use crate::authorize::{AuthorizationParams, AuthorizeError, RedirectError};
use crate::error::Error;
use crate::secret::{generate_token, TokenDigest};
use crate::service::{later, ClientAuth, Gatehouse};
use crate::store::Store;

/// How long a `request_uri` lives (RFC 9126 section 2.2 suggests 5 to 600 seconds).
pub const PUSHED_REQUEST_LIFETIME: Duration = Duration::seconds(60);

/// Most live pushed requests per client.
pub const MAX_PUSHED_PER_CLIENT: u64 = 32;

/// The prefix of every `request_uri` (RFC 9126 section 2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// Whether PAR is served, and whether it is required of every client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ParMode {
    /// No `/oauth2/par`, no `request_uri` (the default).
    #[default]
    Off,
    /// Served; a client may push its requests (required only of the clients configured so).
    On,
    /// Served and required of every client.
    Required,
}

/// Per client: whether every authorization request must be pushed first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientPar {
    /// The client.
    pub client_id: String,
    /// `require_pushed_authorization_requests`.
    pub require_pushed_authorization_requests: bool,
}

/// A pushed request as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct PushedRequest {
    /// SHA-256 of the random part of the `request_uri`.
    pub digest: TokenDigest,
    /// The client that pushed it.
    pub client_id: String,
    /// The request's parameters.
    pub params: AuthorizationParams,
    /// When it stops being accepted.
    pub expires_at: OffsetDateTime,
}

impl fmt::Debug for PushedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushedRequest")
            .field("client_id", &self.client_id)
            .field("params", &self.params)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The answer of `/oauth2/par` (RFC 9126 section 2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedUri {
    /// `request_uri`.
    pub request_uri: String,
    /// `expires_in`, seconds.
    pub expires_in: i64,
}

/// Why a push is refused (RFC 9126 section 2.3: the token endpoint's error codes).
#[derive(Debug)]
pub enum PushError {
    /// Client authentication failed, or another error of the grant logic (`Locked`,
    /// `RateLimited`, `Storage`).
    Domain(Error),
    /// The request is not a valid authorization request: `error` and its description.
    Invalid {
        /// `invalid_request`, `unauthorized_client`, `invalid_scope`, ... (an authorization
        /// request's refusal, written by the binary as at the redirect URI).
        error: RedirectError,
        /// `error_description`.
        description: String,
    },
}

impl From<Error> for PushError {
    fn from(e: Error) -> Self {
        PushError::Domain(e)
    }
}

fn invalid(description: impl Into<String>) -> PushError {
    PushError::Invalid {
        error: RedirectError::InvalidRequest,
        description: description.into(),
    }
}

impl<S: Store> Gatehouse<S> {
    /// `POST /oauth2/par`: authenticates the client, checks its authorization request and
    /// stores it.
    ///
    /// # Errors
    /// [`PushError::Domain`] (`InvalidClient`, `RateLimited` at the cap, `Storage`),
    /// [`PushError::Invalid`].
    pub fn push_authorization_request(
        &self,
        client: &ClientAuth,
        mut params: AuthorizationParams,
    ) -> Result<PushedUri, PushError> {
        let client = self.authenticate_client(client)?;
        if params.request_uri.is_some() {
            return Err(invalid("request_uri must not be pushed"));
        }
        match params.client_id.as_deref() {
            Some(id) if !id.is_empty() && id != client.client_id => {
                return Err(invalid("client_id is not the authenticated client"))
            }
            _ => params.client_id = Some(client.client_id.clone()),
        }
        params.pushed = true;
        self.check_authorization(&params).map_err(|e| match e {
            AuthorizeError::Page(description) => invalid(description),
            AuthorizeError::Redirect {
                error, description, ..
            } => PushError::Invalid { error, description },
            AuthorizeError::Internal(e) => PushError::Domain(Error::InvalidRequest(e)),
        })?;
        let now = self.now();
        let (secret, digest) = generate_token(self.rng());
        let record = PushedRequest {
            digest,
            client_id: client.client_id,
            params,
            expires_at: later(now, PUSHED_REQUEST_LIFETIME),
        };
        self.store().write(move |tx| {
            if tx.live_pushed_requests(&record.client_id, now)? >= MAX_PUSHED_PER_CLIENT {
                return Err(Error::RateLimited {
                    retry_after: PUSHED_REQUEST_LIFETIME,
                });
            }
            tx.insert_pushed_request(&record)
        })?;
        Ok(PushedUri {
            request_uri: format!("{REQUEST_URI_PREFIX}{}", secret.expose()),
            expires_in: PUSHED_REQUEST_LIFETIME.whole_seconds(),
        })
    }

    /// The parameters of the pushed request `request_uri`, for `client_id` (the authorization
    /// request's), marked pushed; not consumed (the code's issue consumes it).
    ///
    /// # Errors
    /// [`AuthorizeError::Page`]: PAR is off, or the `request_uri` is unknown, expired, used,
    /// or another client's (never redirected: nothing of it can be trusted).
    pub fn pushed_params(
        &self,
        client_id: Option<&str>,
        request_uri: &str,
    ) -> Result<AuthorizationParams, AuthorizeError> {
        let refused = || {
            AuthorizeError::Page(
                "The request_uri is not valid: unknown, expired, already used, or not this client's."
                    .to_owned(),
            )
        };
        if self.config().pushed_authorization_requests == ParMode::Off {
            return Err(AuthorizeError::Page(
                "request_uri is not supported here.".to_owned(),
            ));
        }
        let Some(random) = request_uri.strip_prefix(REQUEST_URI_PREFIX) else {
            return Err(refused());
        };
        if random.is_empty() || random.len() > 128 {
            return Err(refused());
        }
        let digest = TokenDigest::of(random);
        let now = self.now();
        let found = self
            .store()
            .read(|tx| tx.pushed_request(&digest))
            .map_err(|e| AuthorizeError::Internal(e.to_string()))?;
        let Some(pushed) = found else {
            return Err(refused());
        };
        if pushed.expires_at <= now || client_id != Some(pushed.client_id.as_str()) {
            tracing::info!(client = ?client_id, "a request_uri was refused");
            return Err(refused());
        }
        let mut params = pushed.params;
        params.request_uri = Some(request_uri.to_owned());
        params.pushed = true;
        Ok(params)
    }

    /// Whether `client_id` must push its authorization requests (globally or per client).
    ///
    /// # Errors
    /// `Storage`.
    pub(crate) fn par_required<T: crate::store::ReadTx + ?Sized>(
        &self,
        tx: &mut T,
        client_id: &str,
    ) -> Result<bool, Error> {
        Ok(match self.config().pushed_authorization_requests {
            ParMode::Off => false,
            ParMode::Required => true,
            ParMode::On => tx
                .client_par(client_id)?
                .is_some_and(|p| p.require_pushed_authorization_requests),
        })
    }

    /// The PAR settings of a client (`None`: it has none).
    ///
    /// # Errors
    /// `Storage`.
    pub fn client_par(&self, client_id: &str) -> Result<Option<ClientPar>, Error> {
        self.store().read(|tx| tx.client_par(client_id))
    }
}

/// The digest a `request_uri` is stored under (`None`: not one of ours).
pub fn request_uri_digest(request_uri: &str) -> Option<TokenDigest> {
    request_uri
        .strip_prefix(REQUEST_URI_PREFIX)
        .filter(|r| !r.is_empty() && r.len() <= 128)
        .map(TokenDigest::of)
}
