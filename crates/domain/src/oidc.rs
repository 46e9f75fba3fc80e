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
use crate::model::{AuthorizationCode, Client, User};
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

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct KeyUnavailable(&'static str);

fn unavailable(what: &'static str) -> Error {
    Error::storage(KeyUnavailable(what))
}

/// The OpenID claims of a user, for the scope granted.
pub fn user_claims(user: &User, scope: &str) -> Map<String, Value> {
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
    }
    claims
}

impl<S: Store> Gatehouse<S> {
    fn ring(&self) -> Result<&KeyRing> {
        self.key_ring().ok_or_else(|| {
            unavailable("signed tokens need a key-encryption key (--key-encryption-key-file)")
        })
    }

    /// The signing key at `now`, from `keys` when the caller read them in its own
    /// transaction, else from a read of its own.
    fn current_key(&self, now: OffsetDateTime, keys: Option<&[SigningKey]>) -> Result<SigningKey> {
        self.pick_key(now, keys, keys::signing_key)
    }

    fn pick_key(
        &self,
        now: OffsetDateTime,
        keys: Option<&[SigningKey]>,
        pick: for<'k> fn(&'k [SigningKey], OffsetDateTime) -> Option<&'k SigningKey>,
    ) -> Result<SigningKey> {
        let read;
        let keys = match keys {
            Some(k) => k,
            None => {
                read = self.store().read(|tx| tx.signing_keys())?;
                &read
            }
        };
        pick(keys, now)
            .cloned()
            .ok_or_else(|| unavailable("no signing key is active (gatehouse keys rotate)"))
    }

    /// An RFC 9068 access token for `client`, and the digest it is stored under.
    // Every argument is a claim or its key; a struct for one caller each would add nothing.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn jwt_access_token(
        &self,
        client: &Client,
        user_id: Option<Uuid>,
        session_id: Uuid,
        scope: &str,
        issued_at: OffsetDateTime,
        expires_at: OffsetDateTime,
        keys: Option<&[SigningKey]>,
    ) -> Result<(Secret, TokenDigest)> {
        let ring = self.ring()?;
        let key = self.current_key(issued_at, keys)?;
        let sub = user_id.map_or_else(|| client.client_id.clone(), |u| u.hyphenated().to_string());
        let claims = json!({
            "iss": ring.issuer(),
            "sub": sub,
            "aud": client.client_id,
            "exp": expires_at.unix_timestamp(),
            "iat": issued_at.unix_timestamp(),
            "jti": self.rng().uuid_v4().hyphenated().to_string(),
            "client_id": client.client_id,
            "scope": scope,
            "sid": session_id.hyphenated().to_string(),
        });
        let token = ring.sign(&key, ACCESS_TOKEN_TYP, &claims)?;
        let digest = TokenDigest::of(&token);
        Ok((Secret::new(token), digest))
    }

    /// The id_token of a code exchange with the `openid` scope.
    #[allow(clippy::too_many_arguments)]
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
        let key = self.pick_key(now, keys, keys::id_token_key)?;
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
            for (k, v) in user_claims(user, scope) {
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
        let now = self.now();
        let signing = self.key_ring().is_some();
        self.store()
            .read(|tx| {
                let client = crate::service::authenticate_in(tx, auth, now)?;
                let keys = (signing
                    && client.access_token_format == crate::model::TokenFormat::Jwt)
                    .then(|| tx.signing_keys())
                    .transpose()?;
                Ok((client, keys))
            })
            .inspect_err(|e| self.client_failed(e, Some(auth)))
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
    /// # Errors
    /// `Storage`, `Credential`, or no KEK.
    pub fn rotate_key(&self, alg: Alg, publish_delay: Duration) -> Result<SigningKey> {
        let ring = self.ring()?;
        let now = self.now();
        let key = keys::generate_key(alg, ring.kek(), self.rng(), now, later(now, publish_delay))?;
        let stored = key.clone();
        self.store()
            .write(move |tx| tx.insert_signing_key(&stored))?;
        Ok(key)
    }

    /// At start: checks that every key opens under the KEK and, when no key signs or will
    /// sign, creates an RS256 key that signs at once (nothing was published before it).
    ///
    /// # Errors
    /// `Storage`, `Credential` (a key does not open: wrong KEK).
    pub fn ensure_signing_key(&self) -> Result<Option<SigningKey>> {
        let ring = self.ring()?;
        let now = self.now();
        let keys = self.store().read(|tx| tx.signing_keys())?;
        for key in keys.iter().filter(|k| k.published(now)) {
            ring.check(key)?;
        }
        if keys.iter().any(|k| k.retired_at.is_none()) {
            return Ok(None);
        }
        self.rotate_key(Alg::Rs256, Duration::ZERO).map(Some)
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
    pub fn userinfo(&self, token: &str) -> Result<Value> {
        let info = self.validate_access_token(token)?;
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
