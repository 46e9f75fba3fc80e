//! The refresh grant with rotation, grace window and reuse detection.

use crate::error::Error;
use crate::error::GrantKind::RefreshToken;
use crate::error::GrantRejection::{
    AlreadyUsed, Changed, Expired, Replayed, Revoked, SessionEnded, Unknown, UnknownSession,
    WrongClient,
};
use crate::model::{Client, GrantType, TokenFormat, TokenRejection};
use crate::secret::TokenDigest;
use crate::store::{Pending, Store, WriteTx};

use super::client_auth::{require_grant, ClientAuth};
use super::introspect::{live_session_from, user_of};
use super::scope::{intersect_scope, narrow_scope};
use super::tokens::IssuedTokens;
use super::{later, Gatehouse, Result};

impl<S: Store> Gatehouse<S> {
    /// The refresh grant with rotation. The presented token is consumed atomically and a new
    /// pair issued in the same session. A token that was already rotated ends the whole
    /// session (every token of the family, and every session derived from it) and fails,
    /// unless it is presented within the configured grace window after its rotation: then it
    /// gets one retry, a new pair in the same session (the earlier successor stays valid);
    /// a second replay ends the session like any reuse. So a family has at most two live
    /// heads, never one per replay.
    ///
    /// The client's current grants and scope apply: the client must still hold the grant
    /// that opened the session (else `UnauthorizedClient`), and a scope removed from the
    /// client since the session began is dropped from the new pair (asking for it is
    /// `InvalidScope`). No
    /// token outlives the session's absolute end (`session_max_lifetime` from the first
    /// grant); past it the refresh fails.
    ///
    /// # Errors
    /// `InvalidClient`, `UnauthorizedClient`, `InvalidGrant` (unknown, expired, revoked,
    /// reused, another client's, session ended), `InvalidScope`, `AccountDisabled`, `Storage`.
    pub fn refresh_grant(
        &self,
        client: &ClientAuth,
        refresh_token: &str,
        scope: Option<&str>,
    ) -> Result<IssuedTokens> {
        let jkt = client.dpop_jkt();
        let client = self.authenticate_client(client)?;
        let job = self.refresh_job(client, jkt, refresh_token, scope)?;
        self.store
            .write(job)
            .and_then(|r| r)
            .inspect(|t| self.audit_issued(GrantType::RefreshToken, t))
    }

    /// [`Self::refresh_grant`] that waits for no write (for a client with a secret), so an
    /// HTTP worker may run it: the [`Pending`] resolves once the rotation and the new pair
    /// are durable (or with the refusal, after the commit of what a refusal keeps: a replay
    /// still ends the session; a failed client authentication is counted against the
    /// caller's address first). A client assertion's `jti` is recorded by a write waited for
    /// ([`ClientAuth::is_assertion`]: run those on a blocking worker).
    ///
    /// # Errors
    /// As [`Self::refresh_grant`]; the grant's own refusals through the [`Pending`].
    pub fn refresh_grant_later(
        &self,
        client: &ClientAuth,
        refresh_token: &str,
        scope: Option<&str>,
    ) -> Result<Pending<IssuedTokens>> {
        let jkt = client.dpop_jkt();
        let client = match self.authenticate_client_queued(client)? {
            Ok(client) => client,
            Err(refused) => return Ok(refused),
        };
        let pending =
            self.store
                .write_later(self.refresh_job(client, jkt, refresh_token, scope)?);
        Ok(self.audited_later(
            GrantType::RefreshToken,
            Box::pin(async move { pending.await? }),
        ))
    }

    /// Prepares the new pair for an authenticated client (bound to the DPoP key `jkt` when
    /// its proof was accepted); the write transaction that checks, rotates and stores it (an
    /// outer `Err` rolls back, an inner one is a refusal committed with what it keeps).
    fn refresh_job(
        &self,
        client: Client,
        jkt: Option<String>,
        refresh_token: &str,
        scope: Option<&str>,
    ) -> Result<impl FnOnce(&mut dyn WriteTx) -> Result<Result<IssuedTokens>> + Send + 'static>
    {
        require_grant(&client, GrantType::RefreshToken)?;
        let digest = TokenDigest::of(refresh_token);
        let now = self.now();
        let grace = self.config.refresh_grace;
        let max = self.config.session_max_lifetime;
        // What the new pair will be, prepared outside the transaction.
        let mut draft = self.draft(Some(&client), true, GrantType::RefreshToken);
        draft.jkt = jkt;
        let requested = scope.map(str::to_owned);
        // A JWT client's new access token is signed before the transaction, from what the
        // refresh token's row says (its session and scope never change); the transaction
        // then checks that it still says so.
        let signed_for = if client.access_token_format == TokenFormat::Jwt {
            let (pre, keys) = self.store.read(|tx| {
                let keys = tx.signing_keys()?;
                let Some(old) = tx.refresh_token(&digest)? else {
                    return Ok((None, keys));
                };
                let user = tx.session(old.session_id)?.and_then(|s| s.user_id);
                Ok((Some((old, user)), keys))
            })?;
            // Another client's or an unknown token, or a widened scope: the transaction
            // refuses it with the right error.
            // The scope as the transaction computes it: cut to the client's scope today (an
            // administrator may have narrowed it since; issue 19 item 14).
            match pre.filter(|(old, _)| old.issued_to(&client.client_id)) {
                Some((old, user_id)) => match narrow_scope(
                    &intersect_scope(&old.scope, &client.scope),
                    requested.as_deref(),
                ) {
                    Ok(scope) => {
                        draft.access = self.jwt_access_token(
                            &client,
                            user_id,
                            old.session_id,
                            &scope,
                            now,
                            later(now, draft.access_life),
                            Some(&keys),
                            draft.jkt.as_deref(),
                        )?;
                        Some((old.session_id, scope))
                    }
                    Err(_) => None,
                },
                None => None,
            }
        } else {
            None
        };
        Ok(
            move |tx: &mut dyn WriteTx| -> Result<Result<IssuedTokens>> {
                let Some(old) = tx.refresh_token(&digest)? else {
                    return Err(Error::InvalidGrant(Unknown(RefreshToken)));
                };
                if !old.issued_to(&client.client_id) {
                    return Err(Error::InvalidGrant(WrongClient(RefreshToken)));
                }
                let Some(session) = tx.session(old.session_id)? else {
                    return Err(Error::InvalidGrant(UnknownSession));
                };
                let Some(session) = live_session_from(tx, session, now, max)? else {
                    return Err(Error::InvalidGrant(SessionEnded));
                };
                // What this transaction keeps even when it refuses: a replay ends the session
                // (commit, then fail); a retry within the grace window is marked used, so a
                // refusal after it still spends the one retry. Every other refusal changes
                // nothing.
                let mut marked = false;
                match old.check(now) {
                    Ok(()) => {}
                    Err(TokenRejection::Revoked) => return Err(Error::InvalidGrant(Revoked)),
                    Err(TokenRejection::Expired) => {
                        return Err(Error::InvalidGrant(Expired(RefreshToken)))
                    }
                    Err(TokenRejection::Rotated(rotated_at)) => {
                        let in_grace = grace.is_some_and(|g| now - rotated_at <= g);
                        marked = in_grace && tx.mark_refresh_replayed(&digest, now)?;
                        if !marked {
                            tx.end_session(session.id, now)?;
                            tracing::warn!(session = %session.id, "refresh token reused; session ended");
                            return Ok(Err(Error::InvalidGrant(Replayed(RefreshToken))));
                        }
                    }
                }
                let refuse = |e: Error| if marked { Ok(Err(e)) } else { Err(e) };
                let user = match session.user_id {
                    Some(id) => match user_of(tx, id)? {
                        Ok(user) => Some(user),
                        Err(rejection) => return refuse(rejection.into()),
                    },
                    None => None,
                };
                // The client must still hold the grant that opened the session.
                if let Some(grant) = session.grant {
                    if let Err(e) = require_grant(&client, grant) {
                        return refuse(e);
                    }
                }
                // The client's scope today bounds what the session may still carry.
                let allowed = intersect_scope(&old.scope, &client.scope);
                let scope = match narrow_scope(&allowed, requested.as_deref()) {
                    Ok(scope) => scope,
                    Err(e) => return refuse(e),
                };
                if let Some((signed_session, signed_scope)) = &signed_for {
                    if *signed_session != session.id || *signed_scope != scope {
                        return refuse(Error::InvalidGrant(Changed));
                    }
                } else if client.access_token_format == TokenFormat::Jwt {
                    return refuse(Error::InvalidGrant(Unknown(RefreshToken)));
                }
                if old.rotated_at.is_none() {
                    let rotated = match &draft.refresh {
                        Some((_, successor)) => tx.rotate_refresh_token(&digest, successor, now)?,
                        None => false,
                    };
                    if !rotated {
                        // Cannot happen inside a serialized write transaction; fail closed.
                        return refuse(Error::InvalidGrant(AlreadyUsed(RefreshToken)));
                    }
                }
                let mint = draft.extend(&session, max, &client, user.as_ref(), scope);
                mint.apply(tx)?;
                tx.touch_session(session.id, now)?;
                Ok(Ok(mint.out))
            },
        )
    }
}
