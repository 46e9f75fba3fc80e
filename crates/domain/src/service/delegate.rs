//! Delegated sessions: the ONE implementation shared by the one-time dialect's redemption
//! (`/oauth2/onetime/authorize`) and RFC 8693 token exchange (`/oauth2/token` with
//! `urn:ietf:params:oauth:grant-type:token-exchange`). Both hand a confidential client a
//! token derived from another token of this server, under the same rules:
//!
//! - only an authenticated confidential client holding the grant ([`delegate_client`]);
//! - the new session is a child of the session of the token it derives from, and records that
//!   token: ending the parent (by any path) or revoking that token ends the child, and the
//!   child never outlives the parent's absolute end ([`open_child`], checked inside the write
//!   transaction, so a revocation racing the exchange is seen);
//! - scope: the parent's scope intersected with the client's, narrowed to a requested scope,
//!   never widened (`InvalidScope`).

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::error::{Error, GrantRejection};
use crate::model::{Client, GrantType, TokenRejection, User};
use crate::secret::TokenDigest;
use crate::store::{Store, WriteTx};

use super::client_auth::{require_grant, ClientAuth};
use super::introspect::live_session;
use super::scope::{intersect_scope, narrow_scope};
use super::tokens::{Lineage, Mint, TokenDraft};
use super::{Gatehouse, Result};

/// Where a delegated session derives from: the parent session and the access token whose
/// authority it carries (`None` for a one-time code a client issued for its broker).
#[derive(Debug, Clone, Default)]
pub(crate) struct Parent {
    pub(crate) session: Option<Uuid>,
    pub(crate) token: Option<TokenDigest>,
    /// The parent's scope: the most the child may get.
    pub(crate) scope: String,
}

impl<S: Store> Gatehouse<S> {
    /// The client of a delegation: authenticated, confidential, holding `grant`.
    ///
    /// # Errors
    /// `InvalidClient`, `UnauthorizedClient` (public client, or without the grant),
    /// `Storage`.
    pub(crate) fn delegate_client(&self, auth: &ClientAuth, grant: GrantType) -> Result<Client> {
        let client = self.authenticate_client(auth)?;
        if !client.is_confidential() {
            return Err(Error::UnauthorizedClient);
        }
        require_grant(&client, grant)?;
        Ok(client)
    }
}

/// Inside the write transaction: the child session of `parent` for `client` and `user`, with
/// the parent's scope cut to the client's and narrowed to `requested`.
///
/// `Ok(Err(..))`: `InvalidGrant(IssuerSessionEnded)` (the parent session has ended, or one of
/// its ancestors), `InvalidGrant(IssuerTokenRevoked)`, `InvalidScope`.
#[expect(
    clippy::too_many_arguments,
    reason = "the transaction, the draft, the parties and the clock of one rule"
)]
pub(crate) fn open_child(
    tx: &mut dyn WriteTx,
    draft: TokenDraft,
    client: &Client,
    user: Option<&User>,
    parent: &Parent,
    requested: Option<&str>,
    now: OffsetDateTime,
    max: Duration,
) -> Result<Result<Mint>> {
    let parent_end = match parent.session {
        Some(id) => match live_session(tx, id, now, max)? {
            Some(session) => Some(session.end(max)),
            None => return Ok(Err(Error::InvalidGrant(GrantRejection::IssuerSessionEnded))),
        },
        None => None,
    };
    if let Some(source) = &parent.token {
        if tx
            .access_token(source)?
            .is_some_and(|t| t.check(now) == Err(TokenRejection::Revoked))
        {
            return Ok(Err(Error::InvalidGrant(GrantRejection::IssuerTokenRevoked)));
        }
    }
    let scope = match narrow_scope(&intersect_scope(&parent.scope, &client.scope), requested) {
        Ok(scope) => scope,
        Err(e) => return Ok(Err(e)),
    };
    let lineage = Lineage {
        parent_id: parent.session,
        source_token: parent.token,
        parent_end,
    };
    Ok(Ok(draft.open(Some(client), user, scope, lineage)))
}
