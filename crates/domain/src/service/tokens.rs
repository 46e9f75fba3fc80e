//! The token factory, the one place that mints access and refresh tokens and links them to
//! their session: what a grant hands out ([`IssuedTokens`]), the randomness and times drawn
//! before the write transaction ([`TokenDraft`]), and the rows written inside it ([`Mint`]):
//! a new session ([`TokenDraft::open`]: every grant, code exchange and one-time redemption)
//! or a new pair in an existing one ([`TokenDraft::extend`]: the refresh grant). Every token
//! is capped by its session's absolute end.

use std::fmt;
use std::net::IpAddr;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::error::Error;
use crate::model::{
    AccessToken, Client, GrantType, RefreshToken, Session, TokenFormat, User, UserFlags,
};
use crate::secret::{generate_token, Secret, TokenDigest};
use crate::store::{Pending, Store, WriteTx};

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
    /// The DPoP key thumbprint the tokens are bound to (RFC 9449: `token_type` `DPoP`).
    pub jkt: Option<String>,
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
            .field("jkt", &self.jkt)
            .finish_non_exhaustive()
    }
}

/// The rows of one issuance, built outside the transaction (or inside, once the user is known)
/// and written by [`Mint::apply`]: the session when a new one is opened, its access token, a
/// refresh token when one is issued; `out` is what the client gets.
pub(crate) struct Mint {
    pub(crate) session: Option<Session>,
    pub(crate) access: AccessToken,
    pub(crate) refresh: Option<RefreshToken>,
    pub(crate) out: IssuedTokens,
}

impl Mint {
    pub(crate) fn apply(&self, tx: &mut dyn WriteTx) -> Result<()> {
        let bind = self.dpop_binding(tx)?;
        tx.insert_tokens(self.session.as_ref(), &self.access, self.refresh.as_ref())?;
        match bind {
            Some(jkt) => tx.insert_session_dpop(self.access.session_id, jkt),
            None => Ok(()),
        }
    }

    /// The DPoP rule of every issuance, written once (RFC 9449 section 5): a client with
    /// `dpop_bound_access_tokens` gets tokens only with a proof (at every endpoint and
    /// dialect: one without proofs cannot give it unbound tokens); a new session is bound to
    /// the proof's key; a refresh of a bound session must prove the same key (for public and
    /// confidential clients alike: a token family has one key), and a refresh of an unbound
    /// one with a proof binds it from then on. `Some(jkt)`: the session is to be bound to it.
    /// A refusal is an `Err`, so the transaction rolls back and nothing (a consumed code, a
    /// rotated refresh token) changes.
    fn dpop_binding(&self, tx: &mut dyn WriteTx) -> Result<Option<&str>> {
        use crate::dpop::DpopRejection as R;
        let presented = self.out.jkt.as_deref();
        let required = match self.out.client_id.as_deref() {
            Some(id) => tx
                .client_dpop(id)?
                .is_some_and(|c| c.dpop_bound_access_tokens),
            None => false,
        };
        let bound = match self.session {
            Some(_) => None,
            None => tx.session_extras(self.access.session_id)?.jkt,
        };
        match (bound.as_deref(), presented) {
            (Some(b), Some(p)) if b == p => Ok(None),
            (Some(_), Some(_)) => Err(Error::Dpop(R::WrongKey)),
            (Some(_), None) => Err(Error::Dpop(R::Missing)),
            (None, None) if required => Err(Error::Dpop(R::Missing)),
            (None, None) => Ok(None),
            (None, Some(p)) => Ok(Some(p)),
        }
    }

    /// [`Mint::apply`] as a write of its own ([`Store::insert_tokens_later`]): for a grant
    /// whose write is nothing but these rows. Resolves with `out` once they are durable.
    ///
    /// Only for rows no rule reads: tokens bound to a DPoP key, or of a client that must
    /// bind them (`dpop_bound_access_tokens`, one primary-key read here), go through
    /// [`Mint::apply`] in a queued write instead, so the DPoP rule is never skipped.
    pub(crate) fn store_later<S: Store>(self, store: &S) -> Pending<IssuedTokens> {
        let required = match self.out.client_id.as_deref() {
            Some(id) => match store.read(|tx| tx.client_dpop(id)) {
                Ok(c) => c.is_some_and(|c| c.dpop_bound_access_tokens),
                Err(e) => return Box::pin(std::future::ready(Err(e))),
            },
            None => false,
        };
        if self.out.jkt.is_some() || required {
            return store.write_later(move |tx| {
                self.apply(tx)?;
                Ok(self.out)
            });
        }
        let Self {
            session,
            access,
            refresh,
            out,
        } = self;
        let stored = store.insert_tokens_later(session, access, refresh);
        Box::pin(async move { stored.await.map(|()| out) })
    }
}

/// Parameters of [`Gatehouse::mint`]: a new session whose user is known before the
/// transaction.
pub(crate) struct MintSpec<'a> {
    pub(crate) keys: Option<&'a [crate::keys::SigningKey]>,
    pub(crate) client_key: Option<String>,
    pub(crate) caller_ip: Option<IpAddr>,
    pub(crate) client: Option<&'a Client>,
    pub(crate) user: Option<&'a User>,
    pub(crate) scope: String,
    pub(crate) refresh: bool,
    pub(crate) grant: GrantType,
    /// Issue a Katana ticket as the access token, when a machineKey is configured.
    pub(crate) katana: bool,
    /// The DPoP key to bind the tokens to.
    pub(crate) jkt: Option<String>,
}

/// Where a new session derives from: nothing, or (one-time redemption) the session and the
/// access token that issued the code.
#[derive(Clone, Copy, Default)]
pub(crate) struct Lineage {
    pub(crate) parent_id: Option<Uuid>,
    pub(crate) source_token: Option<TokenDigest>,
    /// The parent's absolute end: the child never outlives it.
    pub(crate) parent_end: Option<OffsetDateTime>,
}

/// The randomness and times of one issuance, drawn before the write transaction: the new
/// session's id, the access token (opaque, or a JWT signed once its claims are known), the
/// refresh token if one is issued, the lifetimes of the client, and what the session records.
pub(crate) struct TokenDraft {
    pub(crate) now: OffsetDateTime,
    pub(crate) session_id: Uuid,
    pub(crate) access: (Secret, TokenDigest),
    pub(crate) refresh: Option<(Secret, TokenDigest)>,
    pub(crate) access_life: Duration,
    pub(crate) refresh_life: Duration,
    /// The absolute end of a session opened now.
    pub(crate) session_end: OffsetDateTime,
    pub(crate) caller_ip: Option<String>,
    pub(crate) client_key: Option<String>,
    pub(crate) grant: GrantType,
    pub(crate) id_token: Option<Secret>,
    /// The DPoP key the tokens are bound to (RFC 9449), from the request's proof.
    pub(crate) jkt: Option<String>,
}

/// `d` in whole seconds (`expires_in`).
pub(crate) fn lifetime_secs(d: Duration) -> Duration {
    Duration::seconds(d.whole_seconds())
}

impl<S: Store> Gatehouse<S> {
    /// Draws a session id and the token values, with `client`'s lifetimes (the configured
    /// ones without a client or where it sets none). `refresh`: whether a refresh token is
    /// issued.
    pub(crate) fn draft(
        &self,
        client: Option<&Client>,
        refresh: bool,
        grant: GrantType,
    ) -> TokenDraft {
        let now = self.now();
        let session_id = self.rng.uuid_v4();
        let access = generate_token(&*self.rng);
        let refresh = refresh.then(|| generate_token(&*self.rng));
        TokenDraft {
            now,
            session_id,
            access,
            refresh,
            access_life: client
                .and_then(|c| c.access_token_lifetime)
                .unwrap_or(self.config.access_token_lifetime),
            refresh_life: client
                .and_then(|c| c.refresh_token_lifetime)
                .unwrap_or(self.config.refresh_token_lifetime),
            session_end: later(now, self.config.session_max_lifetime),
            caller_ip: None,
            client_key: None,
            grant,
            id_token: None,
            jkt: None,
        }
    }

    /// A new session and its tokens for a user known before the transaction (or none); a
    /// JWT client's access token is signed here.
    pub(crate) fn mint(&self, spec: MintSpec<'_>) -> Result<Mint> {
        let mut draft = self.draft(spec.client, spec.refresh, spec.grant);
        draft.caller_ip = spec.caller_ip.map(|ip| ip.to_string());
        draft.client_key = spec.client_key;
        draft.jkt = spec.jkt;
        if let Some(client) = spec
            .client
            .filter(|c| c.access_token_format == TokenFormat::Jwt)
        {
            draft.access = self.jwt_access_token(
                client,
                spec.user.map(|u| u.id),
                draft.session_id,
                &spec.scope,
                draft.now,
                later(draft.now, draft.access_life),
                spec.keys,
                draft.jkt.as_deref(),
            )?;
        }
        if let (true, Some(katana), Some(user)) = (spec.katana, self.katana.as_deref(), spec.user) {
            draft.now = super::katana::whole_seconds(draft.now);
            let expires = super::katana::whole_seconds(
                later(draft.now, draft.access_life).min(draft.session_end),
            );
            let subject = super::katana::TicketSubject {
                user,
                session_id: draft.session_id,
                client_key: draft.client_key.as_deref(),
                issued: draft.now,
                expires,
            };
            draft.access = katana.issue(&subject, &*self.rng);
        }
        Ok(draft.open(spec.client, spec.user, spec.scope, Lineage::default()))
    }
}

impl TokenDraft {
    /// Opens a new session (a child of `lineage`'s parent, if any) with these tokens.
    pub(crate) fn open(
        self,
        client: Option<&Client>,
        user: Option<&User>,
        scope: String,
        lineage: Lineage,
    ) -> Mint {
        let now = self.now;
        let end = match lineage.parent_end {
            Some(parent_end) => self.session_end.min(parent_end),
            None => self.session_end,
        };
        let session = Session {
            id: self.session_id,
            client_id: client.map(|c| c.client_id.clone()),
            user_id: user.map(|u| u.id),
            client_key: self.client_key.clone(),
            caller_ip: self.caller_ip.clone(),
            created_at: now,
            last_used_at: now,
            ended_at: None,
            parent_id: lineage.parent_id,
            source_token: lineage.source_token,
            expires_at: Some(end),
            grant: Some(self.grant),
        };
        let session_id = session.id;
        let client_key = self.client_key.clone();
        let mut mint = self.tokens(session_id, end, client, user, scope, client_key);
        mint.session = Some(session);
        mint
    }

    /// A new pair in an existing session (a refresh), capped by its absolute end.
    pub(crate) fn extend(
        self,
        session: &Session,
        max: Duration,
        client: &Client,
        user: Option<&User>,
        scope: String,
    ) -> Mint {
        let end = session.end(max);
        self.tokens(
            session.id,
            end,
            Some(client),
            user,
            scope,
            session.client_key.clone(),
        )
    }

    /// The access token, the refresh token if drawn, and the answer, for the session
    /// `session_id` that ends at `end`.
    fn tokens(
        self,
        session_id: Uuid,
        end: OffsetDateTime,
        client: Option<&Client>,
        user: Option<&User>,
        scope: String,
        client_key: Option<String>,
    ) -> Mint {
        let now = self.now;
        let client_id = client.map(|c| c.client_id.clone());
        let access = AccessToken {
            digest: self.access.1,
            session_id,
            client_id: client_id.clone(),
            user_id: user.map(|u| u.id),
            scope: scope.clone(),
            issued_at: now,
            expires_at: later(now, self.access_life).min(end),
            revoked_at: None,
        };
        let (refresh, refresh_secret) = match self.refresh {
            Some((secret, digest)) => (
                Some(RefreshToken {
                    digest,
                    session_id,
                    client_id: client_id.clone(),
                    scope: scope.clone(),
                    issued_at: now,
                    expires_at: later(now, self.refresh_life).min(end),
                    rotated_at: None,
                    successor: None,
                    revoked_at: None,
                    replayed_at: None,
                }),
                Some(secret),
            ),
            None => (None, None),
        };
        let out = IssuedTokens {
            access_token: self.access.0,
            expires_in: lifetime_secs(access.expires_at - now),
            expires_at: access.expires_at,
            refresh_expires_in: refresh.as_ref().map(|r| lifetime_secs(r.expires_at - now)),
            refresh_token: refresh_secret,
            scope,
            session_id,
            client_key,
            user: user.map(UserInfo::from),
            client_id,
            redirect_url: client.and_then(|c| c.redirect_url.clone()),
            id_token: self.id_token,
            jkt: self.jkt,
        };
        Mint {
            session: None,
            access,
            refresh,
            out,
        }
    }
}
