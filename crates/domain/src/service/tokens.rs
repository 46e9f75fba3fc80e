//! The token factory: what a grant hands out ([`IssuedTokens`]) and how a new session and its
//! access and refresh tokens are built outside the write transaction and written inside it.

use std::fmt;
use std::net::IpAddr;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::model::{
    AccessToken, Client, GrantType, RefreshToken, Session, TokenFormat, User, UserFlags,
};
use crate::secret::{generate_token, Secret, TokenDigest};
use crate::store::{Store, WriteTx};

use super::scope::normalize_scope;
use super::{later, Gatehouse, Result};

/// The user side of an issued token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// User GUID.
    pub id: Uuid,
    /// User name as provisioned.
    pub user_name: String,
    /// Flags (`is_editor`, `QueryAll`, ...).
    pub flags: UserFlags,
}

impl From<&User> for UserInfo {
    fn from(user: &User) -> Self {
        Self {
            id: user.id,
            user_name: user.user_name.clone(),
            flags: user.flags,
        }
    }
}

/// What a token grant produced: everything any dialect's response needs.
#[derive(Clone)]
pub struct IssuedTokens {
    /// The access token (show it to its owner once; never log it).
    pub access_token: Secret,
    /// Its lifetime (`expires_in`, `ExpireIn`).
    pub expires_in: Duration,
    /// Its expiry instant (`ExpireTimeUTC`).
    pub expires_at: OffsetDateTime,
    /// A refresh token, when the grant and client allow one.
    pub refresh_token: Option<Secret>,
    /// The refresh token's lifetime.
    pub refresh_expires_in: Option<Duration>,
    /// The granted scope, space-separated.
    pub scope: String,
    /// The session (`sessionKey`, `session_state`).
    pub session_id: Uuid,
    /// The `clientKey` stored on the session.
    pub client_key: Option<String>,
    /// The user, unless `client_credentials`.
    pub user: Option<UserInfo>,
    /// The client, if any.
    pub client_id: Option<String>,
    /// The client's redirect URL (`redirect_url`).
    pub redirect_url: Option<String>,
    /// The OpenID Connect id_token (code flow with the `openid` scope).
    pub id_token: Option<Secret>,
}

impl fmt::Debug for IssuedTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedTokens")
            .field("expires_in", &self.expires_in)
            .field("expires_at", &self.expires_at)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("scope", &self.scope)
            .field("session_id", &self.session_id)
            .field("client_key", &self.client_key)
            .field("user", &self.user)
            .field("client_id", &self.client_id)
            .field("has_id_token", &self.id_token.is_some())
            .finish_non_exhaustive()
    }
}

/// Everything needed to write a new session and its tokens; built outside the transaction
/// (randomness, clock), applied inside.
pub(crate) struct Mint {
    pub(crate) session: Session,
    pub(crate) access: AccessToken,
    pub(crate) refresh: Option<RefreshToken>,
    pub(crate) out: IssuedTokens,
}

impl Mint {
    pub(crate) fn apply(&self, tx: &mut dyn WriteTx) -> Result<()> {
        tx.insert_session(&self.session)?;
        tx.insert_access_token(&self.access)?;
        if let Some(refresh) = &self.refresh {
            tx.insert_refresh_token(refresh)?;
        }
        Ok(())
    }
}

/// Parameters of [`Gatehouse::mint`].
pub(crate) struct MintSpec<'a> {
    pub(crate) keys: Option<&'a [crate::keys::SigningKey]>,
    pub(crate) client_key: Option<String>,
    pub(crate) caller_ip: Option<IpAddr>,
    pub(crate) client: Option<&'a Client>,
    pub(crate) user: Option<&'a User>,
    pub(crate) scope: String,
    pub(crate) refresh: bool,
    pub(crate) grant: GrantType,
}

pub(crate) fn lifetime_secs(d: Duration) -> Duration {
    Duration::seconds(d.whole_seconds())
}

impl<S: Store> Gatehouse<S> {
    pub(crate) fn mint(&self, spec: MintSpec<'_>) -> Result<Mint> {
        let now = self.now();
        let access_life = spec
            .client
            .and_then(|c| c.access_token_lifetime)
            .unwrap_or(self.config.access_token_lifetime);
        let refresh_life = spec
            .client
            .and_then(|c| c.refresh_token_lifetime)
            .unwrap_or(self.config.refresh_token_lifetime);
        let client_id = spec.client.map(|c| c.client_id.clone());
        let user_id = spec.user.map(|u| u.id);
        let session_id = self.rng.uuid_v4();
        let client_key = spec.client_key;
        let session_end = later(now, self.config.session_max_lifetime);
        let session = Session {
            id: session_id,
            client_id: client_id.clone(),
            user_id,
            client_key: client_key.clone(),
            caller_ip: spec.caller_ip.map(|ip| ip.to_string()),
            created_at: now,
            last_used_at: now,
            ended_at: None,
            parent_id: None,
            source_token: None,
            expires_at: Some(session_end),
            grant: Some(spec.grant),
        };
        let (access_secret, access_digest) = match spec.client {
            Some(c) if c.access_token_format == TokenFormat::Jwt => self.jwt_access_token(
                c,
                user_id,
                session_id,
                &spec.scope,
                now,
                later(now, access_life),
                spec.keys,
            )?,
            _ => generate_token(&*self.rng),
        };
        let access = AccessToken {
            digest: access_digest,
            session_id,
            client_id: client_id.clone(),
            user_id,
            scope: spec.scope.clone(),
            issued_at: now,
            expires_at: later(now, access_life).min(session_end),
            revoked_at: None,
        };
        let (refresh, refresh_secret) = if spec.refresh {
            let (secret, digest) = generate_token(&*self.rng);
            let token = RefreshToken {
                digest,
                session_id,
                client_id: client_id.clone(),
                scope: spec.scope.clone(),
                issued_at: now,
                expires_at: later(now, refresh_life).min(session_end),
                rotated_at: None,
                successor: None,
                revoked_at: None,
                replayed_at: None,
            };
            (Some(token), Some(secret))
        } else {
            (None, None)
        };
        let refresh_expires_in = refresh.as_ref().map(|r| lifetime_secs(r.expires_at - now));
        let out = IssuedTokens {
            access_token: access_secret,
            expires_in: lifetime_secs(access.expires_at - now),
            expires_at: access.expires_at,
            refresh_expires_in: refresh_secret.as_ref().and(refresh_expires_in),
            refresh_token: refresh_secret,
            scope: spec.scope,
            session_id,
            client_key,
            user: spec.user.map(UserInfo::from),
            client_id,
            redirect_url: spec.client.and_then(|c| c.redirect_url.clone()),
            id_token: None,
        };
        Ok(Mint {
            session,
            access,
            refresh,
            out,
        })
    }

    /// Randomness and times for a session opened inside a transaction whose user is only
    /// known there (code exchanges).
    pub(crate) fn mint_template(
        &self,
        client: &Client,
        want_refresh: bool,
        caller_ip: Option<IpAddr>,
        grant: GrantType,
    ) -> MintTemplate {
        let now = self.now();
        let (access, access_digest) = generate_token(&*self.rng);
        let refresh = (want_refresh && client.grants.contains(GrantType::RefreshToken))
            .then(|| generate_token(&*self.rng));
        MintTemplate {
            now,
            session_id: self.rng.uuid_v4(),
            access: (access, access_digest),
            refresh,
            access_life: client
                .access_token_lifetime
                .unwrap_or(self.config.access_token_lifetime),
            refresh_life: client
                .refresh_token_lifetime
                .unwrap_or(self.config.refresh_token_lifetime),
            caller_ip: caller_ip.map(|ip| ip.to_string()),
            id_token: None,
            session_end: later(now, self.config.session_max_lifetime),
            grant,
        }
    }
}

/// Where a session opened inside a transaction derives from, and what it may carry.
pub(crate) struct Lineage {
    pub(crate) scope: String,
    pub(crate) parent_id: Option<Uuid>,
    pub(crate) source_token: Option<TokenDigest>,
    /// The parent's absolute end: the child never outlives it.
    pub(crate) parent_end: Option<OffsetDateTime>,
}

pub(crate) struct MintTemplate {
    pub(crate) now: OffsetDateTime,
    pub(crate) session_id: Uuid,
    pub(crate) access: (Secret, TokenDigest),
    pub(crate) refresh: Option<(Secret, TokenDigest)>,
    pub(crate) access_life: Duration,
    pub(crate) refresh_life: Duration,
    pub(crate) caller_ip: Option<String>,
    pub(crate) id_token: Option<Secret>,
    pub(crate) session_end: OffsetDateTime,
    pub(crate) grant: GrantType,
}

impl MintTemplate {
    /// A session of its own; `scope` as granted (`None`: the client's whole scope).
    pub(crate) fn finish(self, client: &Client, user: &User, scope: Option<&str>) -> Mint {
        let lineage = Lineage {
            scope: normalize_scope(scope.unwrap_or(&client.scope)),
            parent_id: None,
            source_token: None,
            parent_end: None,
        };
        self.finish_with(client, user, lineage)
    }

    pub(crate) fn finish_with(self, client: &Client, user: &User, lineage: Lineage) -> Mint {
        let now = self.now;
        let scope = lineage.scope;
        let session_end = match lineage.parent_end {
            Some(parent_end) => self.session_end.min(parent_end),
            None => self.session_end,
        };
        let session = Session {
            id: self.session_id,
            client_id: Some(client.client_id.clone()),
            user_id: Some(user.id),
            client_key: None,
            caller_ip: self.caller_ip,
            created_at: now,
            last_used_at: now,
            ended_at: None,
            parent_id: lineage.parent_id,
            source_token: lineage.source_token,
            expires_at: Some(session_end),
            grant: Some(self.grant),
        };
        let access = AccessToken {
            digest: self.access.1,
            session_id: self.session_id,
            client_id: Some(client.client_id.clone()),
            user_id: Some(user.id),
            scope: scope.clone(),
            issued_at: now,
            expires_at: later(now, self.access_life).min(session_end),
            revoked_at: None,
        };
        let (refresh, refresh_secret) = match self.refresh {
            Some((secret, digest)) => (
                Some(RefreshToken {
                    digest,
                    session_id: self.session_id,
                    client_id: Some(client.client_id.clone()),
                    scope: scope.clone(),
                    issued_at: now,
                    expires_at: later(now, self.refresh_life).min(session_end),
                    rotated_at: None,
                    successor: None,
                    revoked_at: None,
                    replayed_at: None,
                }),
                Some(secret),
            ),
            None => (None, None),
        };
        let refresh_expires_in = refresh.as_ref().map(|r| lifetime_secs(r.expires_at - now));
        let out = IssuedTokens {
            access_token: self.access.0,
            expires_in: lifetime_secs(access.expires_at - now),
            expires_at: access.expires_at,
            refresh_expires_in: refresh_secret.as_ref().and(refresh_expires_in),
            refresh_token: refresh_secret,
            scope,
            session_id: self.session_id,
            client_key: None,
            user: Some(UserInfo::from(user)),
            client_id: Some(client.client_id.clone()),
            redirect_url: client.redirect_url.clone(),
            id_token: self.id_token,
        };
        Mint {
            session,
            access,
            refresh,
            out,
        }
    }
}

/// The absolute end of a session (sessions stored before it was recorded: from their start).
pub(crate) fn session_end(session: &Session, max: Duration) -> OffsetDateTime {
    session
        .expires_at
        .unwrap_or_else(|| later(session.created_at, max))
}
