//! The refresh grant with rotation, grace window and reuse detection.

use crate::error::Error;
use crate::model::{AccessToken, GrantType, RefreshToken, TokenFormat};
use crate::secret::{generate_token, TokenDigest};
use crate::store::Store;

use super::client_auth::{require_grant, ClientAuth};
use super::introspect::live_session;
use super::scope::{intersect_scope, narrow_scope};
use super::tokens::{lifetime_secs, session_end, IssuedTokens, UserInfo};
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
        let client = self.authenticate_client(client)?;
        require_grant(&client, GrantType::RefreshToken)?;
        let digest = TokenDigest::of(refresh_token);
        let now = self.now();
        let grace = self.config.refresh_grace;
        let max = self.config.session_max_lifetime;
        // What the new pair will be, prepared outside the transaction.
        let (access_secret, access_digest) = generate_token(&*self.rng);
        let (refresh_secret, refresh_digest) = generate_token(&*self.rng);
        let access_life = client
            .access_token_lifetime
            .unwrap_or(self.config.access_token_lifetime);
        let refresh_life = client
            .refresh_token_lifetime
            .unwrap_or(self.config.refresh_token_lifetime);
        let requested = scope.map(str::to_owned);
        // A JWT client's new access token is signed before the transaction, from what the
        // refresh token's row says (its session and scope never change); the transaction
        // then checks that it still says so.
        let (access_secret, access_digest, signed_for) = if client.access_token_format
            == TokenFormat::Jwt
        {
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
            match pre.filter(|(old, _)| old.client_id.as_deref() == Some(client.client_id.as_str()))
            {
                Some((old, user_id)) => match narrow_scope(&old.scope, requested.as_deref()) {
                    Ok(scope) => {
                        let (s, d) = self.jwt_access_token(
                            &client,
                            user_id,
                            old.session_id,
                            &scope,
                            now,
                            later(now, access_life),
                            Some(&keys),
                        )?;
                        (s, d, Some((old.session_id, scope)))
                    }
                    Err(_) => (access_secret, access_digest, None),
                },
                None => (access_secret, access_digest, None),
            }
        } else {
            (access_secret, access_digest, None)
        };
        self.store
            .write(move |tx| -> Result<Result<IssuedTokens>> {
                let Some(old) = tx.refresh_token(&digest)? else {
                    return Ok(Err(Error::InvalidGrant("unknown refresh token")));
                };
                if old.client_id.as_deref() != Some(client.client_id.as_str()) {
                    return Ok(Err(Error::InvalidGrant(
                        "the refresh token was issued to another client",
                    )));
                }
                let Some(session) = tx.session(old.session_id)? else {
                    return Ok(Err(Error::InvalidGrant("unknown session")));
                };
                if live_session(tx, session.id, now, max)?.is_none() {
                    return Ok(Err(Error::InvalidGrant("the session has ended")));
                }
                if old.revoked_at.is_some() {
                    return Ok(Err(Error::InvalidGrant("the refresh token was revoked")));
                }
                if old.expires_at <= now {
                    return Ok(Err(Error::InvalidGrant("the refresh token has expired")));
                }
                if let Some(rotated_at) = old.rotated_at {
                    let in_grace = grace.is_some_and(|g| now - rotated_at <= g);
                    if !in_grace || !tx.mark_refresh_replayed(&digest, now)? {
                        tx.end_session(session.id, now)?;
                        tracing::warn!(session = %session.id, "refresh token reused; session ended");
                        return Ok(Err(Error::InvalidGrant(
                            "the refresh token was already used; the session has ended",
                        )));
                    }
                }
                let user = match session.user_id {
                    Some(id) => match tx.user_by_id(id)? {
                        Some(user) if user.flags.disabled => {
                            return Ok(Err(Error::AccountDisabled))
                        }
                        Some(user) => Some(user),
                        None => return Ok(Err(Error::InvalidGrant("unknown user"))),
                    },
                    None => None,
                };
                // The client must still hold the grant that opened the session.
                if let Some(grant) = session.grant {
                    if let Err(e) = require_grant(&client, grant) {
                        return Ok(Err(e));
                    }
                }
                // The client's scope today bounds what the session may still carry.
                let allowed = intersect_scope(&old.scope, &client.scope);
                let scope = match narrow_scope(&allowed, requested.as_deref()) {
                    Ok(scope) => scope,
                    Err(e) => return Ok(Err(e)),
                };
                if let Some((signed_session, signed_scope)) = &signed_for {
                    if *signed_session != session.id || *signed_scope != scope {
                        return Ok(Err(Error::InvalidGrant("the refresh token changed")));
                    }
                } else if client.access_token_format == TokenFormat::Jwt {
                    return Ok(Err(Error::InvalidGrant("unknown refresh token")));
                }
                if old.rotated_at.is_none()
                    && !tx.rotate_refresh_token(&digest, &refresh_digest, now)?
                {
                    // Cannot happen inside a serialized write transaction; fail closed.
                    return Ok(Err(Error::InvalidGrant("the refresh token was already used")));
                }
                let end = session_end(&session, max);
                let access = AccessToken {
                    digest: access_digest,
                    session_id: session.id,
                    client_id: Some(client.client_id.clone()),
                    user_id: session.user_id,
                    scope: scope.clone(),
                    issued_at: now,
                    expires_at: later(now, access_life).min(end),
                    revoked_at: None,
                };
                let refresh = RefreshToken {
                    digest: refresh_digest,
                    session_id: session.id,
                    client_id: Some(client.client_id.clone()),
                    scope: scope.clone(),
                    issued_at: now,
                    expires_at: later(now, refresh_life).min(end),
                    rotated_at: None,
                    successor: None,
                    revoked_at: None,
                    replayed_at: None,
                };
                tx.insert_access_token(&access)?;
                tx.insert_refresh_token(&refresh)?;
                tx.touch_session(session.id, now)?;
                Ok(Ok(IssuedTokens {
                    access_token: access_secret,
                    expires_in: lifetime_secs(access.expires_at - now),
                    expires_at: access.expires_at,
                    refresh_token: Some(refresh_secret),
                    refresh_expires_in: Some(lifetime_secs(refresh.expires_at - now)),
                    scope,
                    session_id: session.id,
                    client_key: session.client_key,
                    user: user.as_ref().map(UserInfo::from),
                    client_id: Some(client.client_id.clone()),
                    redirect_url: client.redirect_url.clone(),
                    id_token: None,
                }))
            })
            .and_then(|r| r)
    }
}
