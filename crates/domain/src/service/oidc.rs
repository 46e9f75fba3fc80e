//! Signed tokens on the service: RFC 9068 JWT access tokens, OpenID Connect id_tokens and
//! userinfo, the JWKS, and the key operations of `gatehouse keys`.
//!
//! A JWT access token is stored like an opaque one: as the SHA-256 digest of the whole
//! token string (which contains its `jti`). Introspection, revocation and Bearer validation
//! first verify the signature against the published keys (so a changed claim, `alg: none`,
//! an unknown `kid`, an expired token or one signed by a key retired past its window is
//! refused before any look-up), then look the digest up exactly as for an opaque token: a
//! revocation or an ended session is seen at once. (The `jti` alone is never accepted as a
//! token: resource servers log it.)

use serde_json::{json, Map, Value};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::error::Error;
use crate::keys::{self, Alg, KeyRing, KeyStatus, SigningKey};
use crate::model::{AuthorizationCode, Client, TokenFormat, User};
use crate::secret::{Secret, TokenDigest};
use crate::service::{later, Gatehouse};
use crate::store::{ReadTx, Store};

type Result<T> = std::result::Result<T, Error>;

/// `typ` of an RFC 9068 access token.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Whether a space-separated scope contains `item`.
pub fn has_scope(scope: &str, item: &str) -> bool {
    scope.split_ascii_whitespace().any(|s| s == item)
}

const NO_KEK: &str = "no key-encryption key is configured (--key-encryption-key-file)";

/// The active key of `alg` at `now`, or why there is none (a configuration error).
fn key_of(keys: &[SigningKey], alg: Alg, now: OffsetDateTime) -> Result<&SigningKey> {
    keys::signing_key(keys, alg, now).ok_or_else(|| {
        Error::SigningUnavailable(format!(
            "no active {alg} signing key (gatehouse keys rotate --alg {alg})"
        ))
    })
}

/// Whether `client`'s tokens can be signed with `keys` at `now`: a JWT client needs an
/// active key of its access-token algorithm; a client with the `openid` scope an active key
/// of its id_token algorithm, unless the database has no key at all (then no id_token is
/// issued: an opaque-only deployment without a key-encryption key).
///
/// # Errors
/// [`Error::SigningUnavailable`] naming the client, the algorithm and the fix.
pub fn check_client_keys(client: &Client, keys: &[SigningKey], now: OffsetDateTime) -> Result<()> {
    let named = |e: Error| match e {
        Error::SigningUnavailable(why) => {
            Error::SigningUnavailable(format!("client {}: {why}", client.client_id))
        }
        other => other,
    };
    if client.access_token_format == TokenFormat::Jwt {
        key_of(keys, client.signing.access_token_alg, now).map_err(named)?;
    }
    if has_scope(&client.scope, "openid") && !keys.is_empty() {
        key_of(keys, client.signing.id_token_alg, now).map_err(named)?;
    }
    Ok(())
}

/// The OpenID claims of a user that userinfo releases for the scope granted: `sub`; with
/// `profile`, `preferred_username` and `name` (if the user has one); with `email`, `email`
/// and `email_verified` (if the user has an address).
pub fn user_claims(user: &User, scope: &str) -> Map<String, Value> {
    let mut claims = id_token_user_claims(user, scope);
    if has_scope(scope, "email") {
        if let Some(email) = &user.profile.email {
            claims.insert("email".into(), Value::String(email.clone()));
            claims.insert(
                "email_verified".into(),
                Value::Bool(user.profile.email_verified),
            );
        }
    }
    claims
}

/// The user claims of an id_token: `sub` and the `profile` claims (as before `email` existed).
/// The `email` claims are released by userinfo only: the code flow issues an access token,
/// so OpenID Core 5.4 has the scope's claims returned from the UserInfo endpoint.
fn id_token_user_claims(user: &User, scope: &str) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert(
        "sub".into(),
        Value::String(user.id.hyphenated().to_string()),
    );
    if has_scope(scope, "profile") {
        claims.insert(
            "preferred_username".into(),
            Value::String(user.user_name.clone()),
        );
        if let Some(name) = &user.profile.name {
            claims.insert("name".into(), Value::String(name.clone()));
        }
    }
    claims
}

impl<S: Store> Gatehouse<S> {
    fn ring(&self) -> Result<&KeyRing> {
        self.key_ring()
            .ok_or_else(|| Error::SigningUnavailable(NO_KEK.to_owned()))
    }

    /// The key of `alg` that signs at `now`, from `keys` when the caller read them in its
    /// own transaction, else from a read of its own. When that key does not open under the
    /// KEK (a rotation under another KEK, a damaged row), the previous key of the algorithm
    /// that opens and is still published signs instead (verifiers have it); with none, the
    /// error is `SigningUnavailable` (503 `temporarily_unavailable`, never 500).
    /// The key of `alg` that signs at `now` (see `pick_key`), read in its own transaction.
    pub(crate) fn pick_signing_key(&self, now: OffsetDateTime, alg: Alg) -> Result<SigningKey> {
        self.pick_key(now, None, alg)
    }

    fn pick_key(
        &self,
        now: OffsetDateTime,
        keys: Option<&[SigningKey]>,
        alg: Alg,
    ) -> Result<SigningKey> {
        let read;
        let keys = match keys {
            Some(k) => k,
            None => {
                read = self.store().read(|tx| tx.signing_keys())?;
                &read
            }
        };
        let current = key_of(keys, alg, now)?;
        let ring = self.ring()?;
        let Err(refused) = ring.check(current) else {
            return Ok(current.clone());
        };
        let mut previous: Vec<&SigningKey> = keys
            .iter()
            .filter(|k| {
                k.alg == alg
                    && k.kid != current.kid
                    && k.retired_at.is_none()
                    && k.activates_at <= now
                    && k.published(now)
            })
            .collect();
        previous.sort_by_key(|k| std::cmp::Reverse((k.activates_at, k.created_at)));
        previous
            .into_iter()
            .find(|k| ring.check(k).is_ok())
            .cloned()
            .ok_or(refused)
    }

    /// Checks, before `clients` are stored, that their tokens can be signed with the keys
    /// in the database (the configuration-time half of [`check_client_keys`]).
    ///
    /// # Errors
    /// [`Error::SigningUnavailable`], `Storage`.
    pub(crate) fn check_clients_keys(&self, clients: &[Client]) -> Result<()> {
        let now = self.now();
        let needs_keys = clients
            .iter()
            .any(|c| c.access_token_format == TokenFormat::Jwt || has_scope(&c.scope, "openid"));
        if !needs_keys {
            return Ok(());
        }
        let keys = self.store().read(|tx| tx.signing_keys())?;
        clients
            .iter()
            .try_for_each(|c| check_client_keys(c, &keys, now))
    }

    /// At start: every stored client's tokens can be signed (a JWT client needs a
    /// key-encryption key and an active key of its algorithm). A server that would answer
    /// every grant of such a client with an error refuses to start instead.
    ///
    /// # Errors
    /// [`Error::SigningUnavailable`] naming the client and the fix, `Storage`.
    pub fn check_signing_setup(&self) -> Result<()> {
        let now = self.now();
        let (clients, keys) = self
            .store()
            .read(|tx| Ok((tx.clients()?, tx.signing_keys()?)))?;
        for client in &clients {
            if self.key_ring().is_none() {
                if client.access_token_format == TokenFormat::Jwt {
                    return Err(Error::SigningUnavailable(format!(
                        "client {} issues JWT access tokens, but {NO_KEK}",
                        client.client_id
                    )));
                }
                continue;
            }
            check_client_keys(client, &keys, now)?;
        }
        Ok(())
    }

    /// An RFC 9068 access token for `client`, and the digest it is stored under.
    // Every argument is a claim or its key; a struct for one caller each would add nothing.
    #[expect(
        clippy::too_many_arguments,
        reason = "every argument is a claim or its key"
    )]
    pub(crate) fn jwt_access_token(
        &self,
        client: &Client,
        user_id: Option<Uuid>,
        session_id: Uuid,
        scope: &str,
        issued_at: OffsetDateTime,
        expires_at: OffsetDateTime,
        keys: Option<&[SigningKey]>,
        jkt: Option<&str>,
    ) -> Result<(Secret, TokenDigest)> {
        let ring = self.ring()?;
        let key = self.pick_key(issued_at, keys, client.signing.access_token_alg)?;
        let sub = user_id.map_or_else(|| client.client_id.clone(), |u| u.hyphenated().to_string());
        let aud = client
            .signing
            .audience
            .as_deref()
            .unwrap_or(&client.client_id);
        let claims = json!({
            "iss": ring.issuer(),
            "sub": sub,
            "aud": aud,
            "exp": expires_at.unix_timestamp(),
            "iat": issued_at.unix_timestamp(),
            "jti": self.rng().uuid_v4().hyphenated().to_string(),
            "client_id": client.client_id,
            "scope": scope,
            "sid": session_id.hyphenated().to_string(),
        });
        let mut claims = claims;
        if let (Some(jkt), Some(map)) = (jkt, claims.as_object_mut()) {
            // RFC 9449 section 6.1: the key the token is bound to.
            map.insert("cnf".to_owned(), json!({ "jkt": jkt }));
        }
        let token = ring.sign(&key, ACCESS_TOKEN_TYP, &claims)?;
        let digest = TokenDigest::of(&token);
        Ok((Secret::new(token), digest))
    }

    /// The id_token of a code exchange with the `openid` scope.
    #[expect(
        clippy::too_many_arguments,
        reason = "every argument is a claim or its key"
    )]
    pub(crate) fn id_token(
        &self,
        client: &Client,
        user: &User,
        code: &AuthorizationCode,
        access_token: &str,
        now: OffsetDateTime,
        lifetime: Duration,
        keys: Option<&[SigningKey]>,
    ) -> Result<Secret> {
        let ring = self.ring()?;
        let key = self.pick_key(now, keys, client.signing.id_token_alg)?;
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(ring.issuer()));
        claims.insert("sub".into(), json!(user.id.hyphenated().to_string()));
        claims.insert("aud".into(), json!(client.client_id));
        claims.insert("azp".into(), json!(client.client_id));
        claims.insert("exp".into(), json!(later(now, lifetime).unix_timestamp()));
        claims.insert("iat".into(), json!(now.unix_timestamp()));
        if let Some(auth_time) = code.auth_time {
            claims.insert("auth_time".into(), json!(auth_time.unix_timestamp()));
        }
        if let Some(nonce) = &code.nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        claims.insert(
            "at_hash".into(),
            json!(keys::half_hash(key.alg, access_token)),
        );
        if let Some(sid) = code.browser_session_id {
            claims.insert("sid".into(), json!(sid.hyphenated().to_string()));
        }
        if let Some(scope) = &code.scope {
            for (k, v) in id_token_user_claims(user, scope) {
                claims.entry(k).or_insert(v);
            }
        }
        ring.sign(&key, "JWT", &Value::Object(claims))
            .map(Secret::new)
    }

    /// Whether `token` passes as far as its form goes: an opaque token always does (its
    /// look-up decides); a JWT must verify against the keys published at `now`.
    pub(crate) fn jwt_acceptable<T: ReadTx + ?Sized>(
        &self,
        tx: &mut T,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<bool> {
        if !keys::looks_like_jwt(token) {
            return Ok(true);
        }
        let Some(ring) = self.key_ring() else {
            return Ok(false);
        };
        let keys = tx.signing_keys()?;
        match ring.verify(token, &keys, ACCESS_TOKEN_TYP, now) {
            Ok(_) => Ok(true),
            Err(e) => {
                tracing::info!(reason = %e, "a JWT access token was refused");
                Ok(false)
            }
        }
    }

    /// [`Gatehouse::authenticate_client`], and for a JWT client (with keys configured) the
    /// signing keys read in the same transaction (one read instead of two per grant).
    pub(crate) fn authenticate_client_for_signing(
        &self,
        auth: &crate::service::ClientAuth,
    ) -> Result<(Client, Option<Vec<SigningKey>>)> {
        self.read_client_for_signing(auth)
            .inspect_err(|e| self.client_failed(e, Some(auth)))
            .and_then(|found| self.settle_assertion(auth).map(|()| found))
    }

    /// The read of [`Self::authenticate_client_for_signing`] alone: it writes nothing (no
    /// failure counted, no assertion `jti` recorded).
    pub(crate) fn read_client_for_signing(
        &self,
        auth: &crate::service::ClientAuth,
    ) -> Result<(Client, Option<Vec<SigningKey>>)> {
        let now = self.now();
        let signing = self.key_ring().is_some();
        self.store().read_each(|tx| {
            let client = crate::service::authenticate_in(tx, auth, now)?;
            let keys = (signing && client.access_token_format == crate::model::TokenFormat::Jwt)
                .then(|| tx.signing_keys())
                .transpose()?;
            Ok((client, keys))
        })
    }

    /// The JWK Set published now.
    ///
    /// # Errors
    /// `Storage`.
    pub fn jwks(&self) -> Result<Value> {
        let now = self.now();
        let keys = self.store().read(|tx| tx.signing_keys())?;
        Ok(keys::jwks(&keys, now))
    }

    /// The algorithms of the keys published now (for the discovery documents).
    ///
    /// # Errors
    /// `Storage`.
    pub fn published_algs(&self) -> Result<Vec<Alg>> {
        let now = self.now();
        let keys = self.store().read(|tx| tx.signing_keys())?;
        let mut algs: Vec<Alg> = keys
            .iter()
            .filter(|k| k.published(now))
            .map(|k| k.alg)
            .collect();
        // id_tokens are RS256 while an RS256 key signs; list that first.
        algs.sort_by_key(|a| Alg::ALL.iter().position(|b| b == a));
        algs.dedup();
        Ok(algs)
    }

    /// The algorithms id_tokens can be signed with now: those of the published keys, none
    /// without a key-encryption key (then Gatehouse is not an OpenID provider: discovery does
    /// not say it is, and an authorization request for `openid` is refused).
    ///
    /// # Errors
    /// `Storage`.
    pub fn openid_algs(&self) -> Result<Vec<Alg>> {
        if self.key_ring().is_none() {
            return Ok(Vec::new());
        }
        self.published_algs()
    }

    /// Every key with its status (`gatehouse keys list`).
    ///
    /// # Errors
    /// `Storage`.
    pub fn list_keys(&self) -> Result<Vec<(SigningKey, KeyStatus)>> {
        let now = self.now();
        let keys = self.store().read(|tx| tx.signing_keys())?;
        Ok(keys
            .iter()
            .map(|k| (k.clone(), keys::status(&keys, k, now)))
            .collect())
    }

    /// `gatehouse keys rotate`: a new key of `alg`, published now and signing after
    /// `publish_delay` (so every cache of the JWKS has seen it before a token carries it).
    ///
    /// The key-encryption key must first prove that it opens every published key (a new
    /// key sealed under a wrong KEK would sign, and the next start would refuse: issue 19
    /// item 5).
    ///
    /// # Errors
    /// `Storage`, `SigningUnavailable` (no KEK, or it does not open a stored key).
    pub fn rotate_key(&self, alg: Alg, publish_delay: Duration) -> Result<SigningKey> {
        let ring = self.ring()?;
        let now = self.now();
        let stored = self.store().read(|tx| tx.signing_keys())?;
        for key in stored.iter().filter(|k| k.published(now)) {
            ring.check(key).map_err(|_| {
                Error::SigningUnavailable(format!(
                    "the key-encryption key does not open the stored key {}: it is not the \
                     one the keys were sealed under; nothing was changed",
                    key.kid
                ))
            })?;
        }
        let key = keys::generate_key(alg, ring.kek(), self.rng(), now, later(now, publish_delay))?;
        let stored = key.clone();
        self.store()
            .write(move |tx| tx.insert_signing_key(&stored))?;
        Ok(key)
    }

    /// At start: checks that every key opens under the KEK and, when no key signs or will
    /// sign (a new database), creates the two keys the defaults need, signing at once
    /// (nothing was published before them): RS256 for id_tokens (OpenID's default) and ES256
    /// for JWT access tokens. Returns the keys created.
    ///
    /// # Errors
    /// `Storage`, `SigningUnavailable` (a key does not open: wrong KEK).
    pub fn ensure_signing_key(&self) -> Result<Vec<SigningKey>> {
        let ring = self.ring()?;
        let now = self.now();
        let keys = self.store().read(|tx| tx.signing_keys())?;
        for key in keys.iter().filter(|k| k.published(now)) {
            ring.check(key)?;
        }
        if keys.iter().any(|k| k.retired_at.is_none()) {
            return Ok(Vec::new());
        }
        [Alg::Rs256, Alg::Es256]
            .into_iter()
            .map(|alg| self.rotate_key(alg, Duration::ZERO))
            .collect()
    }

    /// `gatehouse keys retire KID`: the key signs nothing more and stays published (and
    /// accepted) for `keep_published_for`, by default the longest access-token lifetime of
    /// any client or the default (every token it signed has expired by then). Returns the
    /// end of that window.
    ///
    /// # Errors
    /// `NotFound` (unknown or already retired kid), `Storage`.
    pub fn retire_key(
        &self,
        kid: &str,
        keep_published_for: Option<Duration>,
    ) -> Result<OffsetDateTime> {
        let now = self.now();
        let default_life = self.config().access_token_lifetime;
        let window = match keep_published_for {
            Some(w) => w,
            None => self.store().read(|tx| {
                Ok(tx
                    .clients()?
                    .iter()
                    .filter_map(|c| c.access_token_lifetime)
                    .fold(default_life, Duration::max))
            })?,
        };
        let until = later(now, window);
        let kid_owned = kid.to_owned();
        if self
            .store()
            .write(move |tx| tx.retire_signing_key(&kid_owned, now, until))?
        {
            Ok(until)
        } else {
            Err(Error::NotFound(format!("no unretired key {kid}")))
        }
    }

    /// OpenID Connect userinfo for a Bearer access token granted the `openid` scope.
    ///
    /// # Errors
    /// `InvalidToken` (not live, or without `openid`), `Storage`.
    pub fn userinfo(
        &self,
        token: &str,
        proof: Option<&crate::dpop::VerifiedProof>,
    ) -> Result<Value> {
        let info = self.validate_presented_token(token, proof)?;
        if !has_scope(&info.scope, "openid") {
            return Err(Error::InvalidToken);
        }
        let Some(user) = info.user else {
            return Err(Error::InvalidToken);
        };
        let user = self
            .store()
            .read(|tx| tx.user_by_id(user.id))?
            .ok_or(Error::InvalidToken)?;
        Ok(Value::Object(user_claims(&user, &info.scope)))
    }
}
