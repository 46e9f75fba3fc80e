//! Liveness of tokens and sessions: Bearer validation and RFC 7662 introspection.

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::error::Error;
use crate::model::{Session, TokenRejection, User, UserRejection};
use crate::secret::TokenDigest;
use crate::store::{ReadTx, Store};

use super::client_auth::{authenticate_in, ClientAuth};
use super::tokens::UserInfo;
use super::{Gatehouse, Result};

/// Which kind of token a [`TokenInfo`] describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An access token.
    Access,
    /// A refresh token.
    Refresh,
}

impl TokenKind {
    /// RFC 7009 / 7662 `token_type_hint` names.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access_token",
            TokenKind::Refresh => "refresh_token",
        }
    }
}

/// A live token, as validation and introspection report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// Access or refresh.
    pub kind: TokenKind,
    /// The session.
    pub session_id: Uuid,
    /// The client it was issued to.
    pub client_id: Option<String>,
    /// The user.
    pub user: Option<UserInfo>,
    /// Scope, space-separated.
    pub scope: String,
    /// Issued at.
    pub issued_at: OffsetDateTime,
    /// Expires at.
    pub expires_at: OffsetDateTime,
    /// The audience a token exchange issued it for (RFC 8693); `None` otherwise.
    pub audience: Option<String>,
    /// The `act` claim of a delegation (RFC 8693 section 4.1).
    pub act: Option<serde_json::Value>,
    /// The SHA-256 JWK thumbprint its session is DPoP-bound to (RFC 9449 `cnf.jkt`).
    pub jkt: Option<String>,
}

impl<S: Store> Gatehouse<S> {
    /// Checks a bearer access token: known, not expired, not revoked, session not ended,
    /// user not disabled. A Katana ticket not seen before is adopted first
    /// ([`Gatehouse::adopt_katana_ticket`]; a write, so call this on a blocking worker).
    ///
    /// # Errors
    /// [`Error::InvalidToken`], [`Error::Storage`].
    pub fn validate_access_token(&self, token: &str) -> Result<TokenInfo> {
        self.validate_presented_token(token, None)
    }

    /// [`Self::validate_access_token`] without the DPoP rule: a bound token too (the caller
    /// checks its binding: [`Self::validate_presented_token`]).
    pub(crate) fn validate_access_token_any(&self, token: &str) -> Result<TokenInfo> {
        self.adopt_katana_ticket(token)?;
        let digest = TokenDigest::of(token);
        let now = self.now();
        let max = self.config.session_max_lifetime;
        self.store
            .read(|tx| {
                if !self.jwt_acceptable(tx, token, now)? {
                    return Ok(None);
                }
                live_access(tx, &digest, now, max)
            })?
            .ok_or(Error::InvalidToken)
    }

    /// RFC 7662 introspection by an authenticated confidential client, for access and
    /// refresh tokens. `Ok(None)` is `{"active": false}`: anything not live, codes included,
    /// and any token the client may not see. A client sees the tokens issued to it; one with
    /// `introspect_any` (a resource server) sees every token. A public client cannot
    /// introspect at all (RFC 7662 section 2.1: the endpoint requires authorization).
    ///
    /// Only reads (it runs on an HTTP worker): a failed client authentication is not counted
    /// here; the caller counts it off the worker with [`Gatehouse::count_failed_client`].
    /// A client authenticating with an assertion ([`ClientAuth::is_assertion`]) is the
    /// exception: its `jti` is recorded (a write) and a refusal counted here, so call it on a
    /// blocking worker then. A Katana ticket not seen before is inactive here: the caller adopts
    /// it off the worker ([`Gatehouse::adopt_katana_ticket`]) and asks again.
    ///
    /// # Errors
    /// `InvalidClient` (unknown, wrong secret, or public), `Storage`.
    pub fn introspect(&self, client: &ClientAuth, token: &str) -> Result<Option<TokenInfo>> {
        let digest = TokenDigest::of(token);
        let now = self.now();
        let max = self.config.session_max_lifetime;
        self.store
            .read(|tx| {
                let caller = authenticate_in(tx, client, now)?;
                if !caller.is_confidential() {
                    // Not a guess at a secret: refused without counting against the address.
                    return Ok(Err(Error::InvalidClient));
                }
                if !self.jwt_acceptable(tx, token, now)? {
                    return Ok(Ok(None));
                }
                let info = match live_access(tx, &digest, now, max)? {
                    Some(info) => Some(info),
                    None => live_refresh(tx, &digest, now, max)?,
                };
                // A token exchanged for the caller as audience is the caller's to see.
                Ok(Ok(info.filter(|info| {
                    let me = Some(caller.client_id.as_str());
                    caller.introspect_any
                        || info.client_id.as_deref() == me
                        || info.audience.as_deref() == me
                })))
            })
            .and_then(|r| r)
            // On the blocking pool already (it writes the jti): count a refused assertion here.
            .inspect_err(|e| {
                if client.is_assertion() {
                    self.client_failed(e, Some(client));
                }
            })
            .and_then(|info| self.settle_assertion(client).map(|()| info))
    }
}

/// The user of a grant, if it is live: it exists and is not disabled.
pub(crate) fn user_of<T: ReadTx + ?Sized>(
    tx: &mut T,
    id: Uuid,
) -> Result<std::result::Result<User, UserRejection>> {
    Ok(match tx.user_by_id(id)? {
        Some(user) => user.check().map(|()| user),
        None => Err(UserRejection::Unknown),
    })
}

/// The user side of a token, if the token may live: `Ok(None)` for a token without a user
/// (client credentials).
fn token_user<T: ReadTx + ?Sized>(
    tx: &mut T,
    id: Option<Uuid>,
) -> Result<std::result::Result<Option<User>, UserRejection>> {
    match id {
        None => Ok(Ok(None)),
        Some(id) => Ok(user_of(tx, id)?.map(Some)),
    }
}

/// How many ancestors a session may have before it is treated as dead (a chain longer than
/// this cannot be built with the one-time code caps in force; the bound keeps a corrupt
/// parent loop from spinning).
pub(crate) const MAX_LINEAGE: usize = 16;

/// Whether a session is live: not ended, before its absolute end ([`Session::check`]), and,
/// for a child, its parent live too and the access token that issued its code not revoked.
/// Checked on every validation, introspection and refresh, so ending a parent by any path
/// (revocation, refresh reuse, code replay, password change, disable) ends its children at
/// once.
pub(crate) fn live_session<T: ReadTx + ?Sized>(
    tx: &mut T,
    id: Uuid,
    now: OffsetDateTime,
    max: Duration,
) -> Result<Option<Session>> {
    let Some(first) = tx.session(id)? else {
        return Ok(None);
    };
    live_session_from(tx, first, now, max)
}

/// [`live_session`] of a session already read in this transaction (`first`): no second read
/// of its row (a refresh reads it before, to tell an unknown session from an ended one).
pub(crate) fn live_session_from<T: ReadTx + ?Sized>(
    tx: &mut T,
    first: Session,
    now: OffsetDateTime,
    max: Duration,
) -> Result<Option<Session>> {
    let Some(mut parent) = lineage_step(tx, &first, now, max)? else {
        return Ok(None);
    };
    for _ in 1..MAX_LINEAGE {
        let Some(id) = parent else {
            return Ok(Some(first));
        };
        let Some(session) = tx.session(id)? else {
            return Ok(None);
        };
        let Some(next) = lineage_step(tx, &session, now, max)? else {
            return Ok(None);
        };
        parent = next;
    }
    Ok(parent.is_none().then_some(first))
}

/// One session of a lineage: `None` when it is dead (ended, past its absolute end, or the
/// access token that issued its code revoked), else its parent's id, if any.
fn lineage_step<T: ReadTx + ?Sized>(
    tx: &mut T,
    session: &Session,
    now: OffsetDateTime,
    max: Duration,
) -> Result<Option<Option<Uuid>>> {
    if session.check(now, max).is_err() {
        return Ok(None);
    }
    if let Some(source) = &session.source_token {
        if tx
            .access_token(source)?
            .is_some_and(|t| t.check(now) == Err(TokenRejection::Revoked))
        {
            return Ok(None);
        }
    }
    Ok(Some(session.parent_id))
}

pub(crate) fn live_access<T: ReadTx + ?Sized>(
    tx: &mut T,
    digest: &TokenDigest,
    now: OffsetDateTime,
    max: Duration,
) -> Result<Option<TokenInfo>> {
    let Some(token) = tx.access_token(digest)? else {
        return Ok(None);
    };
    if token.check(now).is_err() || live_session(tx, token.session_id, now, max)?.is_none() {
        return Ok(None);
    }
    let Ok(user) = token_user(tx, token.user_id)? else {
        return Ok(None);
    };
    let extras = tx.session_extras(token.session_id)?;
    Ok(Some(TokenInfo {
        kind: TokenKind::Access,
        session_id: token.session_id,
        client_id: token.client_id,
        user: user.as_ref().map(UserInfo::from),
        scope: token.scope,
        issued_at: token.issued_at,
        expires_at: token.expires_at,
        audience: extras.exchange.as_ref().map(|e| e.audience.clone()),
        act: extras.exchange.and_then(|e| e.actor),
        jkt: extras.jkt,
    }))
}

pub(crate) fn live_refresh<T: ReadTx + ?Sized>(
    tx: &mut T,
    digest: &TokenDigest,
    now: OffsetDateTime,
    max: Duration,
) -> Result<Option<TokenInfo>> {
    let Some(token) = tx.refresh_token(digest)? else {
        return Ok(None);
    };
    if token.check(now).is_err() {
        return Ok(None);
    }
    let Some(session) = live_session(tx, token.session_id, now, max)? else {
        return Ok(None);
    };
    let Ok(user) = token_user(tx, session.user_id)? else {
        return Ok(None);
    };
    let extras = tx.session_extras(token.session_id)?;
    Ok(Some(TokenInfo {
        kind: TokenKind::Refresh,
        session_id: token.session_id,
        client_id: token.client_id,
        user: user.as_ref().map(UserInfo::from),
        scope: token.scope,
        issued_at: token.issued_at,
        expires_at: token.expires_at,
        audience: extras.exchange.as_ref().map(|e| e.audience.clone()),
        act: extras.exchange.and_then(|e| e.actor),
        jkt: extras.jkt,
    }))
}
