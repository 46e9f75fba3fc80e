//! [`Gatehouse`]: the grant operations, one synchronous method each.
//!
//! Password-checking operations (`password_grant`, `member_grant`, `issue_auth_code`,
//! provisioning with plain passwords) run a PBKDF2 computation: call them on the hash pool.
//! Everything else costs a transaction or two.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::authorize::CodeBinding;
use crate::clock::Clock;
use crate::config::Config;
use crate::credentials::{PasswordHasher, Verification};
use crate::error::Error;
use crate::model::{
    user_name_key, AccessToken, AuthorizationCode, Client, GrantType, LoginFailure, OneTimeCode,
    RefreshToken, Session, TokenFormat, User, UserFlags,
};
use crate::rng::Rng;
use crate::secret::{generate_token, verify_client_secret, Secret, TokenDigest};
use crate::store::{ReadTx, Store, WriteTx};

type Result<T> = std::result::Result<T, Error>;

/// The grant logic over a [`Store`], with injected clock, randomness and password hasher.
pub struct Gatehouse<S: Store> {
    store: S,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
    hasher: PasswordHasher,
    config: Config,
    keys: Option<Arc<crate::keys::KeyRing>>,
}

impl<S: Store> fmt::Debug for Gatehouse<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gatehouse")
            .field("hasher", &self.hasher)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// How a client authenticates: a client id and, for a confidential client, its secret.
///
/// Built from the request body with [`ClientAuth::new`] or from an `Authorization: Basic`
/// header with [`ClientAuth::basic`], which also tries the URL-decoded form (RFC 6749 2.3.1
/// says to URL-encode before base64; Katana, oauthlib and Authlib do not, the Rust `oauth2`
/// crate does).
#[derive(Clone)]
pub struct ClientAuth {
    client_id: String,
    secret: Option<Secret>,
    decoded: Option<(String, Option<Secret>)>,
    caller_ip: Option<IpAddr>,
}

impl ClientAuth {
    /// Credentials as given (body parameters `client_id` / `client_secret`).
    pub fn new(client_id: impl Into<String>, secret: Option<Secret>) -> Self {
        Self {
            client_id: client_id.into(),
            secret: secret.filter(|s| !s.is_empty()),
            decoded: None,
            caller_ip: None,
        }
    }

    /// Credentials from a Basic header, already base64-decoded and split at the first `:`.
    /// Tried as given, then URL-decoded when that differs.
    pub fn basic(user: &str, password: &str) -> Self {
        let secret = (!password.is_empty()).then(|| Secret::new(password));
        let decoded_user = percent_decode(user);
        let decoded_password = percent_decode(password);
        let decoded = match (decoded_user, decoded_password) {
            (Some(u), Some(p)) if u != user || p != password => {
                Some((u, (!p.is_empty()).then(|| Secret::new(p))))
            }
            _ => None,
        };
        Self {
            client_id: user.to_owned(),
            secret,
            decoded,
            caller_ip: None,
        }
    }

    /// The address the credentials came from. Failed client authentications are counted
    /// against it with the login back-off policy (`ip:<addr>`, the key password failures use
    /// too), and a locked address is refused before any secret is checked. Counting per
    /// address, not per client, keeps a stranger from locking a partner's client out.
    pub fn with_caller_ip(mut self, ip: IpAddr) -> Self {
        self.caller_ip = Some(ip);
        self
    }

    /// The client id as presented.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAuth")
            .field("client_id", &self.client_id)
            .field("has_secret", &self.secret.is_some())
            .finish_non_exhaustive()
    }
}

/// `application/x-www-form-urlencoded` decoding (`+` is a space); `None` for bad escapes or
/// bytes that are not UTF-8.
fn percent_decode(input: &str) -> Option<String> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let text = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(text, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

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

/// What a user grant without client credentials is allowed to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum WithoutClient {
    /// Refused as `InvalidClient` (RFC 6749 section 3.2.1: the client must identify itself).
    #[default]
    Refuse,
    /// This configured client stands in (a legacy proxy that supplied its own client): its
    /// grants and scope apply, no secret is asked for.
    Client(String),
    /// No client; the token gets this fixed space-separated scope (Katana's `/token`, which
    /// has no scope parameter).
    Scope(String),
}

/// Input of [`Gatehouse::password_grant`].
#[derive(Clone)]
pub struct PasswordGrant {
    /// `userName` / `username`.
    pub user_name: String,
    /// The password.
    pub password: Secret,
    /// The client, if the request named one (it must then authenticate).
    pub client: Option<ClientAuth>,
    /// katana `clientKey`, stored on the session and echoed.
    pub client_key: Option<String>,
    /// The caller's address (lockout per address; stored on the session).
    pub caller_ip: Option<IpAddr>,
    /// Requested scope, space-separated.
    pub scope: Option<String>,
    /// Whether the dialect hands out refresh tokens (v1: yes, katana: no). One is issued only
    /// if the client also has the `refresh_token` grant.
    pub want_refresh: bool,
    /// What happens when `client` is `None`.
    pub without_client: WithoutClient,
}

impl fmt::Debug for PasswordGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordGrant")
            .field("user_name", &self.user_name)
            .field("client", &self.client)
            .field("client_key", &self.client_key)
            .field("caller_ip", &self.caller_ip)
            .field("scope", &self.scope)
            .field("want_refresh", &self.want_refresh)
            .field("without_client", &self.without_client)
            .finish_non_exhaustive()
    }
}

/// Input of [`Gatehouse::windows_grant`]: a user already authenticated by a trusted proxy.
#[derive(Debug, Clone)]
pub struct WindowsGrant {
    /// The user name the proxy vouched for (a `DOMAIN\` prefix is the server's to strip).
    pub user_name: String,
    /// The client, if any.
    pub client: Option<ClientAuth>,
    /// `clientKey`.
    pub client_key: Option<String>,
    /// Caller address.
    pub caller_ip: Option<IpAddr>,
    /// Requested scope.
    pub scope: Option<String>,
    /// See [`PasswordGrant::want_refresh`].
    pub want_refresh: bool,
    /// See [`PasswordGrant::without_client`].
    pub without_client: WithoutClient,
}

/// Input of [`Gatehouse::member_grant`].
#[derive(Clone)]
pub struct MemberGrant {
    /// `MemberId`.
    pub member_id: String,
    /// `Password`.
    pub password: Secret,
    /// `SubAccount`, as sent (a number that must belong to the member).
    pub sub_account: Option<String>,
    /// Caller address.
    pub caller_ip: Option<IpAddr>,
}

impl fmt::Debug for MemberGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemberGrant")
            .field("member_id", &self.member_id)
            .field("sub_account", &self.sub_account)
            .field("caller_ip", &self.caller_ip)
            .finish_non_exhaustive()
    }
}

/// Output of [`Gatehouse::member_grant`].
#[derive(Debug, Clone)]
pub struct MemberLogin {
    /// The token (no refresh token in this dialect).
    pub tokens: IssuedTokens,
    /// `id_Member`.
    pub member_internal_id: i64,
    /// `id_SubAccount`, 0 when none was asked for.
    pub sub_account_id: i64,
}

/// A freshly issued authorization or one-time code.
#[derive(Clone)]
pub struct IssuedCode {
    /// The code (for its owner only).
    pub code: Secret,
    /// Its lifetime.
    pub expires_in: Duration,
    /// Its expiry.
    pub expires_at: OffsetDateTime,
}

impl fmt::Debug for IssuedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCode")
            .field("expires_in", &self.expires_in)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Who asks for a one-time code.
#[derive(Debug, Clone)]
pub enum OneTimeIssuer {
    /// A user, by an access token of this server (`Authorization: Bearer`).
    Bearer(Secret),
    /// A confidential client with the `onetime` grant, acting for its broker.
    Client(ClientAuth),
}

/// The fields of a one-time code request.
#[derive(Debug, Clone, Default)]
pub struct OneTimeRequest {
    /// `ClientId`: the client that will redeem the code. Required.
    pub client_id: String,
    /// `BrokerId`.
    pub broker_id: Option<Uuid>,
    /// `UserName`: must be the bearer's user; required on the client path.
    pub user_name: Option<String>,
    /// `TradingAccount`.
    pub trading_account: Option<String>,
    /// `Server`.
    pub server: Option<String>,
    /// `Payload`.
    pub payload: BTreeMap<String, String>,
}

/// Output of [`Gatehouse::redeem_onetime_code`].
#[derive(Debug, Clone)]
pub struct OneTimeRedemption {
    /// The user the code stood for.
    pub user: UserInfo,
    /// `BrokerId`, as recorded (the client's broker on the client path).
    pub broker_id: Option<Uuid>,
    /// `TradingAccount`.
    pub trading_account: Option<String>,
    /// `Server`.
    pub server: Option<String>,
    /// `Payload`.
    pub payload: BTreeMap<String, String>,
    /// A fresh access token for the redeeming client.
    pub tokens: IssuedTokens,
}

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
}

/// A login whose password checked out.
pub(crate) struct VerifiedLogin {
    pub(crate) user: User,
    new_hash: Option<String>,
}

/// Everything needed to write a new session and its tokens; built outside the transaction
/// (randomness, clock), applied inside.
struct Mint {
    session: Session,
    access: AccessToken,
    refresh: Option<RefreshToken>,
    out: IssuedTokens,
}

impl Mint {
    fn apply(&self, tx: &mut dyn WriteTx) -> Result<()> {
        tx.insert_tokens(Some(&self.session), &self.access, self.refresh.as_ref())
    }
}

/// Parameters of [`Gatehouse::mint`].
struct MintSpec<'a> {
    keys: Option<&'a [crate::keys::SigningKey]>,
    client_key: Option<String>,
    caller_ip: Option<IpAddr>,
    client: Option<&'a Client>,
    user: Option<&'a User>,
    scope: String,
    refresh: bool,
    grant: GrantType,
}

/// `now + d`, saturating at the largest representable instant instead of panicking on an
/// absurd configured lifetime.
pub(crate) fn later(now: OffsetDateTime, d: Duration) -> OffsetDateTime {
    now.checked_add(d)
        .unwrap_or_else(|| time::PrimitiveDateTime::MAX.assume_utc())
}

fn lifetime_secs(d: Duration) -> Duration {
    Duration::seconds(d.whole_seconds())
}

pub(crate) fn account_key(user_name: &str) -> String {
    format!("user:{}", user_name_key(user_name))
}

/// The lockout key of an address. An IPv6 caller is keyed by its /64: one subscriber
/// usually holds a whole /64 and could otherwise rotate through it at will. IPv4-mapped
/// IPv6 addresses count as the IPv4 address.
fn address_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("ip:{net}/64")
        }
    }
}

impl<S: Store> Gatehouse<S> {
    /// Assembles the service.
    pub fn new(
        store: S,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
        hasher: PasswordHasher,
        config: Config,
    ) -> Self {
        Self {
            store,
            clock,
            rng,
            hasher,
            config,
            keys: None,
        }
    }

    /// Adds the signing keys (JWT access tokens, id_tokens, the JWKS).
    #[must_use]
    pub fn with_key_ring(mut self, keys: Arc<crate::keys::KeyRing>) -> Self {
        self.keys = Some(keys);
        self
    }

    /// The signing keys, when configured.
    pub fn key_ring(&self) -> Option<&crate::keys::KeyRing> {
        self.keys.as_deref()
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The password hasher (its `hash_invocations` counts PBKDF2 runs).
    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    /// The randomness source.
    pub fn rng(&self) -> &dyn Rng {
        &*self.rng
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    // ----- clients -------------------------------------------------------------------

    /// Authenticates a client: it must exist, and a confidential client must present its
    /// secret. A public client needs none (a secret it presents anyway is ignored).
    ///
    /// # Errors
    /// [`Error::InvalidClient`], [`Error::Storage`].
    pub fn authenticate_client(&self, auth: &ClientAuth) -> Result<Client> {
        let now = self.now();
        self.store
            .read(|tx| authenticate_in(tx, auth, now))
            .inspect_err(|e| self.client_failed(e, Some(auth)))
    }

    /// Counts a failed client authentication against the caller's address.
    pub(crate) fn client_failed(&self, error: &Error, auth: Option<&ClientAuth>) {
        let (Error::InvalidClient, Some(ip)) = (error, auth.and_then(|a| a.caller_ip)) else {
            return;
        };
        let key = address_key(ip);
        let now = self.now();
        let policy = self.config.lockout.clone();
        if let Err(e) = self
            .store
            .write(move |tx| record_failure(tx, &key, now, &policy))
        {
            tracing::warn!(error = %e, "could not record a failed client authentication");
        }
    }

    /// The client of a user grant: the authenticated one, the configured stand-in, or none
    /// (only when a fixed scope is configured for client-less grants).
    fn grant_client<T: ReadTx + ?Sized>(
        &self,
        tx: &mut T,
        auth: Option<&ClientAuth>,
        without: &WithoutClient,
        now: OffsetDateTime,
    ) -> Result<Option<Client>> {
        match (auth, without) {
            (Some(auth), _) => Ok(Some(
                authenticate_in(tx, auth, now)
                    .inspect_err(|e| self.client_failed(e, Some(auth)))?,
            )),
            (None, WithoutClient::Client(id)) => tx.client(id)?.map(Some).ok_or_else(|| {
                tracing::warn!("the configured default client does not exist");
                Error::InvalidClient
            }),
            (None, WithoutClient::Scope(_)) => Ok(None),
            (None, WithoutClient::Refuse) => Err(Error::InvalidClient),
        }
    }

    // ----- password-based grants -----------------------------------------------------

    /// The password grant (katana `/token`, v1 `grant_type=password`).
    ///
    /// Order: client authentication and grant/scope checks; lockout (no hash when locked);
    /// user look-up (unknown: a dummy verification, then `InvalidCredentials`); password
    /// verification (failure recorded per account and per address); disabled check (only
    /// after the password was right); rehash if the stored hash is outdated; new session.
    ///
    /// # Errors
    /// `InvalidClient`, `UnauthorizedClient`, `InvalidScope`, `Locked`, `InvalidCredentials`,
    /// `AccountDisabled`, `InvalidRequest`, `Storage`.
    pub fn password_grant(&self, grant: PasswordGrant) -> Result<IssuedTokens> {
        self.check_name(&grant.user_name, "user name")?;
        self.check_client_key(grant.client_key.as_deref())?;
        let keys = login_keys(account_key(&grant.user_name), grant.caller_ip);
        let now = self.now();
        let (client, user, records) = self.store.read(|tx| {
            let client =
                self.grant_client(tx, grant.client.as_ref(), &grant.without_client, now)?;
            let user = tx.user_by_name(&grant.user_name)?;
            Ok((client, user, lockout_records(tx, &keys)?))
        })?;
        if let Some(client) = &client {
            require_grant(client, GrantType::Password)?;
        }
        let scope = grant_scope(
            client.as_ref(),
            &grant.without_client,
            grant.scope.as_deref(),
        )?;
        let login = self.verify_password(&keys, &records, user, &grant.password)?;
        let mint = self.mint(MintSpec {
            grant: GrantType::Password,
            keys: None,
            client_key: grant.client_key.clone(),
            caller_ip: grant.caller_ip,
            client: client.as_ref(),
            user: Some(&login.user),
            scope,
            refresh: grant.want_refresh
                && client
                    .as_ref()
                    .is_some_and(|c| c.grants.contains(GrantType::RefreshToken)),
        })?;
        let account = keys[0].clone();
        self.store.write(move |tx| {
            apply_login_success(tx, &account, &login)?;
            mint.apply(tx)?;
            Ok(mint.out)
        })
    }

    /// Windows authentication (v1 `WindowsAuthentication: true`): the user name comes from a
    /// trusted proxy, which the server has validated. Like the password grant without the
    /// password (and without lockout).
    ///
    /// # Errors
    /// `InvalidClient`, `UnauthorizedClient`, `InvalidScope`, `InvalidCredentials` (unknown
    /// user), `AccountDisabled`, `Storage`.
    pub fn windows_grant(&self, grant: WindowsGrant) -> Result<IssuedTokens> {
        self.check_name(&grant.user_name, "user name")?;
        self.check_client_key(grant.client_key.as_deref())?;
        let now = self.now();
        let (client, user) = self.store.read(|tx| {
            let client =
                self.grant_client(tx, grant.client.as_ref(), &grant.without_client, now)?;
            Ok((client, tx.user_by_name(&grant.user_name)?))
        })?;
        if let Some(client) = &client {
            require_grant(client, GrantType::Password)?;
        }
        let scope = grant_scope(
            client.as_ref(),
            &grant.without_client,
            grant.scope.as_deref(),
        )?;
        let user = user.ok_or(Error::InvalidCredentials)?;
        if user.flags.disabled {
            return Err(Error::AccountDisabled);
        }
        let mint = self.mint(MintSpec {
            grant: GrantType::Password,
            keys: None,
            client_key: grant.client_key.clone(),
            caller_ip: grant.caller_ip,
            client: client.as_ref(),
            user: Some(&user),
            scope,
            refresh: grant.want_refresh
                && client
                    .as_ref()
                    .is_some_and(|c| c.grants.contains(GrantType::RefreshToken)),
        })?;
        self.store.write(move |tx| {
            mint.apply(tx)?;
            Ok(mint.out)
        })
    }

    /// The member grant (`/api/Token`): member id and password, optional sub-account that
    /// must belong to the member (checked after the password, so nothing is revealed to a
    /// caller who does not know it).
    ///
    /// # Errors
    /// `Locked`, `InvalidCredentials`, `AccountDisabled`, `Forbidden` (sub-account not the
    /// member's), `InvalidRequest` (sub-account not a number), `Storage`.
    pub fn member_grant(&self, grant: MemberGrant) -> Result<MemberLogin> {
        self.check_name(&grant.member_id, "member id")?;
        let sub_account = match grant.sub_account.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(text.parse::<i64>().map_err(|_| {
                Error::InvalidRequest("SubAccount must be a whole number".to_owned())
            })?),
        };
        let member_id = grant.member_id.trim().to_owned();
        let (member, user, sub, keys, records) = self.store.read(|tx| {
            let member = tx.member_by_member_id(&member_id)?;
            let user = match &member {
                Some(m) => tx.user_by_id(m.user_id)?,
                None => None,
            };
            // A known member's failures count against their user account, the same key the
            // other dialects use, so one person gets one allowance of free failures.
            let account = match &user {
                Some(u) => account_key(&u.user_name),
                None => format!("member:{member_id}"),
            };
            let keys = login_keys(account, grant.caller_ip);
            let records = lockout_records(tx, &keys)?;
            let sub = match (&member, sub_account) {
                (Some(_), Some(id)) => tx.sub_account(id)?,
                _ => None,
            };
            Ok((member, user, sub, keys, records))
        })?;
        let login = self.verify_password(&keys, &records, user, &grant.password)?;
        let Some(member) = member else {
            return Err(Error::InvalidCredentials);
        };
        let sub_account_id = match sub_account {
            None => 0,
            Some(_) => match sub {
                Some(sub) if sub.member == member.id => sub.id,
                _ => {
                    return Err(Error::Forbidden(
                        "the sub-account does not belong to the member",
                    ))
                }
            },
        };
        let mint = self.mint(MintSpec {
            grant: GrantType::Password,
            keys: None,
            client_key: None,
            caller_ip: grant.caller_ip,
            client: None,
            user: Some(&login.user),
            scope: String::new(),
            refresh: false,
        })?;
        let account = keys[0].clone();
        let tokens = self.store.write(move |tx| {
            apply_login_success(tx, &account, &login)?;
            mint.apply(tx)?;
            Ok(mint.out)
        })?;
        Ok(MemberLogin {
            tokens,
            member_internal_id: member.id,
            sub_account_id,
        })
    }

    // ----- refresh, client credentials -----------------------------------------------

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
                tx.insert_tokens(None, &access, Some(&refresh))?;
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

    /// The client-credentials grant: a confidential client with the grant gets an access
    /// token (no refresh token, no user) in a session of its own.
    ///
    /// # Errors
    /// `InvalidClient`, `UnauthorizedClient` (public client or grant not allowed),
    /// `InvalidScope`, `Storage`.
    pub fn client_credentials_grant(
        &self,
        client: &ClientAuth,
        scope: Option<&str>,
        caller_ip: Option<IpAddr>,
    ) -> Result<IssuedTokens> {
        let (client, keys) = self.authenticate_client_for_signing(client)?;
        if !client.is_confidential() {
            return Err(Error::UnauthorizedClient);
        }
        require_grant(&client, GrantType::ClientCredentials)?;
        let scope = grant_scope(Some(&client), &WithoutClient::Refuse, scope)?;
        let mint = self.mint(MintSpec {
            grant: GrantType::ClientCredentials,
            keys: keys.as_deref(),
            client_key: None,
            caller_ip,
            client: Some(&client),
            user: None,
            scope,
            refresh: false,
        })?;
        self.store.write(move |tx| {
            mint.apply(tx)?;
            Ok(mint.out)
        })
    }

    // ----- authorization codes -------------------------------------------------------

    /// otc `/admin/login/auth_code`: a confidential client with the `authorization_code`
    /// grant, and an operator's user name and password, get a single-use code bound to both.
    ///
    /// # Errors
    /// `InvalidClient`, `UnauthorizedClient`, `Locked`, `InvalidCredentials`,
    /// `AccountDisabled`, `Forbidden` (not an operator), `Storage`.
    pub fn issue_auth_code(
        &self,
        client: &ClientAuth,
        user_name: &str,
        password: &Secret,
        caller_ip: Option<IpAddr>,
    ) -> Result<IssuedCode> {
        self.check_name(user_name, "user name")?;
        let client = self.authenticate_client(client)?;
        if !client.is_confidential() {
            return Err(Error::UnauthorizedClient);
        }
        require_grant(&client, GrantType::AuthorizationCode)?;
        let keys = login_keys(account_key(user_name), caller_ip);
        let (user, records) = self
            .store
            .read(|tx| Ok((tx.user_by_name(user_name)?, lockout_records(tx, &keys)?)))?;
        let login = self.verify_password(&keys, &records, user, password)?;
        if !login.user.flags.operator {
            return Err(Error::Forbidden("the user is not an operator"));
        }
        let now = self.now();
        let life = self.config.auth_code_lifetime;
        let (code, digest) = generate_token(&*self.rng);
        let record = AuthorizationCode {
            digest,
            client_id: client.client_id.clone(),
            user_id: login.user.id,
            issued_at: now,
            expires_at: later(now, life),
            consumed_at: None,
            session_id: None,
            redirect_uri: None,
            code_challenge: None,
            scope: None,
            auth_time: None,
            browser_session_id: None,
            nonce: None,
        };
        let account = keys[0].clone();
        self.store.write(move |tx| {
            apply_login_success(tx, &account, &login)?;
            tx.insert_authorization_code(&record)
        })?;
        Ok(IssuedCode {
            code,
            expires_in: life,
            expires_at: later(now, life),
        })
    }

    /// Exchanges an authorization code (otc `/admin/login/token`, v1
    /// `grant_type=authorization_code`) once. A second exchange fails and ends the session
    /// the first one opened.
    ///
    /// # Errors
    /// `InvalidClient`, `UnauthorizedClient`, `InvalidGrant` (unknown, expired, used, another
    /// client's), `AccountDisabled`, `Storage`.
    pub fn exchange_auth_code(
        &self,
        client: &ClientAuth,
        code: &str,
        caller_ip: Option<IpAddr>,
        want_refresh: bool,
    ) -> Result<IssuedTokens> {
        self.exchange_code(
            client,
            code,
            CodeBinding::default(),
            caller_ip,
            want_refresh,
        )
    }

    /// [`Gatehouse::exchange_auth_code`] with the redirect URI and PKCE verifier of the token
    /// request, checked against what the code is bound to ([`CodeBinding::check`]).
    ///
    /// # Errors
    /// As [`Gatehouse::exchange_auth_code`]; `InvalidGrant` also for a redirect URI or a
    /// verifier that does not match.
    pub fn exchange_code(
        &self,
        client: &ClientAuth,
        code: &str,
        binding: CodeBinding,
        caller_ip: Option<IpAddr>,
        want_refresh: bool,
    ) -> Result<IssuedTokens> {
        let client = self.authenticate_client(client)?;
        require_grant(&client, GrantType::AuthorizationCode)?;
        let digest = TokenDigest::of(code);
        let now = self.now();
        let mut template = self.mint_template(
            &client,
            want_refresh,
            caller_ip,
            GrantType::AuthorizationCode,
        );
        self.sign_for_code(&client, &digest, &mut template)?;
        self.store
            .write(move |tx| -> Result<Result<IssuedTokens>> {
                let Some(record) = tx.authorization_code(&digest)? else {
                    return Ok(Err(Error::InvalidGrant("unknown authorization code")));
                };
                if record.client_id != client.client_id {
                    return Ok(Err(Error::InvalidGrant(
                        "the code was issued to another client",
                    )));
                }
                if record.consumed_at.is_some() {
                    if let Some(session) = record.session_id {
                        tx.end_session(session, now)?;
                    }
                    tracing::warn!(client = %client.client_id, "authorization code reused; its session ended");
                    return Ok(Err(Error::InvalidGrant("the code was already used")));
                }
                if record.expires_at <= now {
                    return Ok(Err(Error::InvalidGrant("the code has expired")));
                }
                if let Err(e) = binding.check(&record, &client) {
                    return Ok(Err(e));
                }
                let user = match tx.user_by_id(record.user_id)? {
                    Some(user) if user.flags.disabled => return Ok(Err(Error::AccountDisabled)),
                    Some(user) => user,
                    None => return Ok(Err(Error::InvalidGrant("unknown user"))),
                };
                let mint = template.finish(&client, &user, record.scope.as_deref());
                mint.apply(tx)?;
                if !tx.consume_authorization_code(&digest, now, mint.out.session_id)? {
                    return Err(Error::InvalidGrant("the code was already used"));
                }
                Ok(Ok(mint.out))
            })
            .and_then(|r| r)
    }

    // ----- one-time codes ------------------------------------------------------------

    /// onetime `/oauth2/onetime/token`: issues a single-use code for the user, to be
    /// redeemed by the client named in `ClientId`.
    ///
    /// # Errors
    /// `InvalidToken` (bearer not live), `InvalidClient`, `UnauthorizedClient`,
    /// `Forbidden` (user name not the bearer's, broker not the client's, trading account not
    /// the user's), `InvalidRequest` (missing or oversized fields, unknown `ClientId` or user),
    /// `Storage`.
    pub fn issue_onetime_code(
        &self,
        issuer: &OneTimeIssuer,
        request: &OneTimeRequest,
    ) -> Result<IssuedCode> {
        let client_id = request.client_id.trim();
        if client_id.is_empty() {
            return Err(Error::InvalidRequest("ClientId is required".to_owned()));
        }
        self.check_payload(&request.payload)?;
        for (field, value) in [
            ("TradingAccount", &request.trading_account),
            ("Server", &request.server),
            ("UserName", &request.user_name),
        ] {
            if let Some(value) = value {
                self.check_name(value, field)?;
            }
        }
        let now = self.now();
        let max = self.config.session_max_lifetime;
        // The scope the code may carry at most, and the bearer's session and token (the
        // redemption's parent).
        let (user, issuer_client_id, broker_id, scope, source) = match issuer {
            OneTimeIssuer::Bearer(token) => {
                let digest = TokenDigest::of(token.expose());
                let (info, session) = self
                    .store
                    .read(|tx| {
                        let Some(info) = live_access(tx, &digest, now, max)? else {
                            return Ok(None);
                        };
                        let session = live_session(tx, info.session_id, now, max)?;
                        Ok(session.map(|s| (info, s)))
                    })?
                    .ok_or(Error::InvalidToken)?;
                if session.parent_id.is_some() && !self.config.onetime_chain {
                    return Err(Error::Forbidden(
                        "a token obtained with a one-time code cannot issue one-time codes",
                    ));
                }
                let user = info.user.ok_or(Error::Forbidden(
                    "the access token does not belong to a user",
                ))?;
                if let Some(name) = &request.user_name {
                    if user_name_key(name) != user_name_key(&user.user_name) {
                        return Err(Error::Forbidden("UserName is not the token's user"));
                    }
                }
                (
                    user,
                    None,
                    request.broker_id,
                    info.scope,
                    Some((session.id, digest)),
                )
            }
            OneTimeIssuer::Client(auth) => {
                let client = self.authenticate_client(auth)?;
                if !client.is_confidential() {
                    return Err(Error::UnauthorizedClient);
                }
                require_grant(&client, GrantType::OneTime)?;
                let broker = client
                    .broker_id
                    .ok_or(Error::Forbidden("the client acts for no broker"))?;
                if request.broker_id.is_some_and(|b| b != broker) {
                    return Err(Error::Forbidden("BrokerId is not the client's broker"));
                }
                let name = request.user_name.as_deref().ok_or_else(|| {
                    Error::InvalidRequest("UserName is required for a client".to_owned())
                })?;
                let user = self
                    .store
                    .read(|tx| tx.user_by_name(name))?
                    .ok_or_else(|| Error::InvalidRequest("unknown UserName".to_owned()))?;
                if user.flags.disabled {
                    return Err(Error::AccountDisabled);
                }
                (
                    UserInfo::from(&user),
                    Some(client.client_id),
                    Some(broker),
                    normalize_scope(&client.scope),
                    None,
                )
            }
        };
        let (redeemer, accounts) = self
            .store
            .read(|tx| Ok((tx.client(client_id)?, tx.trading_accounts_of(user.id)?)))?;
        // Only a confidential client holding the onetime grant may redeem (unknown and
        // unfit clients get the same answer).
        if !redeemer.is_some_and(|c| c.is_confidential() && c.grants.contains(GrantType::OneTime)) {
            return Err(Error::InvalidRequest(
                "ClientId names no confidential client with the onetime grant".to_owned(),
            ));
        }
        let wants_account =
            request.trading_account.is_some() || request.server.is_some() || broker_id.is_some();
        if wants_account {
            let matches = accounts.iter().any(|a| {
                broker_id.is_none_or(|b| a.broker_id == b)
                    && request
                        .trading_account
                        .as_deref()
                        .is_none_or(|t| a.account == t)
                    && request.server.as_deref().is_none_or(|s| a.server == s)
            });
            if !matches {
                return Err(Error::Forbidden(
                    "no trading account of the user matches BrokerId, TradingAccount and Server",
                ));
            }
        }
        let life = self.config.onetime_code_lifetime;
        let (code, digest) = generate_token(&*self.rng);
        let record = OneTimeCode {
            digest,
            issuer_client_id,
            issuer_user_id: matches!(issuer, OneTimeIssuer::Bearer(_)).then_some(user.id),
            user_id: user.id,
            redeeming_client_id: client_id.to_owned(),
            broker_id,
            trading_account: request.trading_account.clone(),
            server: request.server.clone(),
            payload: request.payload.clone(),
            issued_at: now,
            expires_at: later(now, life),
            consumed_at: None,
            session_id: None,
            scope: Some(scope),
            source_session_id: source.as_ref().map(|(s, _)| *s),
            source_token: source.map(|(_, d)| d),
        };
        let caps = OneTimeCaps {
            per_user: self.config.max_onetime_codes_per_user,
            per_session: self.config.max_onetime_codes_per_session,
            rate: self.config.onetime_rate,
            window: self.config.onetime_rate_window,
            life,
        };
        self.store
            .write(move |tx| -> Result<Result<()>> {
                // Expired codes go at once; consumed ones hold no payload and go at expiry.
                tx.delete_expired_onetime_codes(now)?;
                let (hits, window_ends) =
                    tx.hit_rate_window(&format!("onetime:{}", record.user_id), now, caps.window)?;
                if hits > caps.rate {
                    return Ok(Err(Error::RateLimited {
                        retry_after: window_ends - now,
                    }));
                }
                let over_user =
                    tx.outstanding_onetime_codes_of_user(record.user_id, now)? >= caps.per_user;
                let over_session = match record.source_session_id {
                    Some(session) => {
                        tx.outstanding_onetime_codes_of_session(session, now)? >= caps.per_session
                    }
                    None => false,
                };
                if over_user || over_session {
                    // The oldest outstanding code expires within one code lifetime.
                    return Ok(Err(Error::RateLimited {
                        retry_after: caps.life,
                    }));
                }
                tx.insert_onetime_code(&record)?;
                Ok(Ok(()))
            })
            .and_then(|r| r)?;
        Ok(IssuedCode {
            code,
            expires_in: life,
            expires_at: later(now, life),
        })
    }

    /// onetime `/oauth2/onetime/authorize`: the confidential client named in the code, which
    /// must hold the `onetime` grant, redeems it exactly once and gets the identity, the
    /// recorded fields and a fresh access token. A second redemption fails and ends the
    /// session the first one opened and the session that issued the code.
    ///
    /// The token's scope is the code's (the issuing token's) narrowed to the redeeming
    /// client's (RFC 8693 section 2.1: never more than the subject token). Its session is a
    /// child of the issuing token's session: it ends when that session ends or that access
    /// token is revoked, and never outlives the parent's absolute end.
    ///
    /// # Errors
    /// `InvalidClient`, `UnauthorizedClient` (public client, or no `onetime` grant),
    /// `InvalidGrant` (unknown, expired, used, another client's, issuing session ended),
    /// `AccountDisabled`, `Storage`.
    pub fn redeem_onetime_code(
        &self,
        client: &ClientAuth,
        code: &str,
    ) -> Result<OneTimeRedemption> {
        let client = self.authenticate_client(client)?;
        if !client.is_confidential() {
            return Err(Error::UnauthorizedClient);
        }
        require_grant(&client, GrantType::OneTime)?;
        let digest = TokenDigest::of(code);
        let now = self.now();
        let max = self.config.session_max_lifetime;
        let template = self.mint_template(&client, false, None, GrantType::OneTime);
        self.store
            .write(move |tx| -> Result<Result<OneTimeRedemption>> {
                let Some(record) = tx.onetime_code(&digest)? else {
                    return Ok(Err(Error::InvalidGrant("unknown code")));
                };
                if record.redeeming_client_id != client.client_id {
                    return Ok(Err(Error::InvalidGrant(
                        "the code was issued for another client",
                    )));
                }
                if record.consumed_at.is_some() {
                    // A replayed code was stolen somewhere between issuer and redeemer: end
                    // what it opened and the session that issued it (the whole lineage).
                    for session in [record.session_id, record.source_session_id]
                        .into_iter()
                        .flatten()
                    {
                        tx.end_session(session, now)?;
                    }
                    tracing::warn!(client = %client.client_id, "one-time code reused; its session and the issuing session ended");
                    return Ok(Err(Error::InvalidGrant("the code was already used")));
                }
                if record.expires_at <= now {
                    return Ok(Err(Error::InvalidGrant("the code has expired")));
                }
                let user = match tx.user_by_id(record.user_id)? {
                    Some(user) if user.flags.disabled => return Ok(Err(Error::AccountDisabled)),
                    Some(user) => user,
                    None => return Ok(Err(Error::InvalidGrant("unknown user"))),
                };
                let parent_end = match record.source_session_id {
                    Some(parent) => match live_session(tx, parent, now, max)? {
                        Some(parent) => Some(session_end(&parent, max)),
                        None => {
                            return Ok(Err(Error::InvalidGrant(
                                "the session that issued the code has ended",
                            )))
                        }
                    },
                    None => None,
                };
                if let Some(source) = &record.source_token {
                    if tx
                        .access_token(source)?
                        .is_some_and(|t| t.revoked_at.is_some())
                    {
                        return Ok(Err(Error::InvalidGrant(
                            "the token that issued the code was revoked",
                        )));
                    }
                }
                let lineage = Lineage {
                    scope: intersect_scope(record.scope.as_deref().unwrap_or(""), &client.scope),
                    parent_id: record.source_session_id,
                    source_token: record.source_token,
                    parent_end,
                };
                let mint = template.finish_with(&client, &user, lineage);
                mint.apply(tx)?;
                if !tx.consume_onetime_code(&digest, now, mint.out.session_id)? {
                    return Err(Error::InvalidGrant("the code was already used"));
                }
                Ok(Ok(OneTimeRedemption {
                    user: UserInfo::from(&user),
                    broker_id: record.broker_id,
                    trading_account: record.trading_account,
                    server: record.server,
                    payload: record.payload,
                    tokens: mint.out,
                }))
            })
            .and_then(|r| r)
    }

    // ----- validation, introspection, revocation -------------------------------------

    /// Checks a bearer access token: known, not expired, not revoked, session not ended,
    /// user not disabled.
    ///
    /// # Errors
    /// [`Error::InvalidToken`], [`Error::Storage`].
    pub fn validate_access_token(&self, token: &str) -> Result<TokenInfo> {
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
                Ok(Ok(info.filter(|info| {
                    caller.introspect_any
                        || info.client_id.as_deref() == Some(caller.client_id.as_str())
                })))
            })
            .inspect_err(|e| self.client_failed(e, Some(client)))
            .and_then(|r| r)
    }

    /// RFC 7009 revocation by an authenticated client. Revoking a refresh token ends its
    /// session and with it every access token of the session (and every session derived
    /// from it); revoking an access token revokes that token (and ends the sessions of the
    /// one-time codes it issued). Unknown tokens are a success. A client revokes the tokens
    /// issued to it; tokens of another client or of no client (katana, member, Windows) only
    /// a confidential client with `introspect_any` may revoke (RFC 7009 section 5).
    ///
    /// # Errors
    /// `InvalidClient`, `UnauthorizedClient` (a token the client may not revoke), `Storage`.
    pub fn revoke(&self, client: &ClientAuth, token: &str) -> Result<()> {
        let client = self.authenticate_client(client)?;
        let digest = TokenDigest::of(token);
        let now = self.now();
        // A JWT that does not verify is no token of ours: nothing to revoke (RFC 7009 2.2).
        if !self.store.read(|tx| self.jwt_acceptable(tx, token, now))? {
            return Ok(());
        }
        let any = client.introspect_any && client.is_confidential();
        self.store.write(move |tx| {
            let owner_ok =
                |owner: &Option<String>| any || owner.as_deref() == Some(client.client_id.as_str());
            if let Some(refresh) = tx.refresh_token(&digest)? {
                if !owner_ok(&refresh.client_id) {
                    return Err(Error::UnauthorizedClient);
                }
                tx.end_session(refresh.session_id, now)?;
                return Ok(());
            }
            if let Some(access) = tx.access_token(&digest)? {
                if !owner_ok(&access.client_id) {
                    return Err(Error::UnauthorizedClient);
                }
                tx.revoke_access_token(&digest, now)?;
            }
            Ok(())
        })
    }

    /// Deletes tokens and codes expired for more than a day, and lockout records idle for
    /// longer than the policy remembers them.
    ///
    /// # Errors
    /// `Storage`.
    pub fn purge_expired(&self) -> Result<u64> {
        let now = self.now();
        let before = now - Duration::days(1);
        let forgotten = now - self.config.lockout.forget_after;
        self.store.write(move |tx| {
            // One-time codes go as soon as they expire (their payloads are the bulky part).
            let codes = tx.delete_expired_onetime_codes(now)?;
            Ok(tx.purge_expired(before, forgotten)?.saturating_add(codes))
        })
    }

    // ----- helpers -------------------------------------------------------------------

    pub(crate) fn check_name(&self, value: &str, what: &str) -> Result<()> {
        if value.trim().is_empty() {
            return Err(Error::InvalidRequest(format!("{what} is required")));
        }
        if value.len() > self.config.max_name_bytes {
            return Err(Error::InvalidRequest(format!("{what} is too long")));
        }
        Ok(())
    }

    fn check_client_key(&self, key: Option<&str>) -> Result<()> {
        match key {
            Some(key) if key.len() > self.config.max_name_bytes => {
                Err(Error::InvalidRequest("clientKey is too long".to_owned()))
            }
            _ => Ok(()),
        }
    }

    fn check_payload(&self, payload: &BTreeMap<String, String>) -> Result<()> {
        let total: usize = payload.iter().map(|(k, v)| k.len() + v.len()).sum();
        if total > self.config.max_payload_bytes {
            return Err(Error::InvalidRequest(format!(
                "Payload is larger than {} bytes",
                self.config.max_payload_bytes
            )));
        }
        if payload.len() > self.config.max_payload_entries {
            return Err(Error::InvalidRequest(format!(
                "Payload has more than {} entries",
                self.config.max_payload_entries
            )));
        }
        let limit = self.config.max_payload_item_bytes;
        if payload
            .iter()
            .any(|(k, v)| k.len() > limit || v.len() > limit)
        {
            return Err(Error::InvalidRequest(format!(
                "a Payload key or value is longer than {limit} bytes"
            )));
        }
        Ok(())
    }

    /// Lockout check, password verification, failure recording. Returns the user whose
    /// password was right, with a new hash if the stored one should be upgraded.
    pub(crate) fn verify_password(
        &self,
        keys: &[String],
        records: &[Option<LoginFailure>],
        user: Option<User>,
        password: &Secret,
    ) -> Result<VerifiedLogin> {
        let now = self.now();
        let locked_until = records
            .iter()
            .flatten()
            .filter_map(|r| r.locked_until)
            .filter(|until| *until > now)
            .max();
        if let Some(until) = locked_until {
            return Err(Error::Locked {
                retry_after: until - now,
            });
        }
        let verdict = match &user {
            None => {
                self.hasher.dummy_verify(password.expose());
                Verification::Invalid
            }
            Some(user) => match self.hasher.verify(&user.password_hash, password.expose()) {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(user = %user.id, error = %e, "stored password hash unreadable");
                    self.hasher.dummy_verify(password.expose());
                    Verification::Invalid
                }
            },
        };
        let user = match (verdict, user) {
            (Verification::Valid | Verification::ValidNeedsRehash, Some(user)) => user,
            _ => {
                let keys = keys.to_vec();
                let policy = self.config.lockout.clone();
                self.store.write(move |tx| {
                    for key in &keys {
                        record_failure(tx, key, now, &policy)?;
                    }
                    Ok(())
                })?;
                return Err(Error::InvalidCredentials);
            }
        };
        if user.flags.disabled {
            return Err(Error::AccountDisabled);
        }
        let new_hash = verdict
            .needs_rehash()
            .then(|| self.hasher.hash(password.expose(), &*self.rng));
        Ok(VerifiedLogin { user, new_hash })
    }

    fn mint(&self, spec: MintSpec<'_>) -> Result<Mint> {
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
    fn mint_template(
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

impl<S: Store> Gatehouse<S> {
    /// For a code exchange by a JWT client or with the `openid` scope: reads the code (its
    /// user, scope, nonce and browser session never change once written) and signs the
    /// access token and id_token outside the write transaction. The write still checks
    /// everything; an unknown or foreign code leaves the template as it was.
    fn sign_for_code(
        &self,
        client: &Client,
        digest: &TokenDigest,
        template: &mut MintTemplate,
    ) -> Result<()> {
        let jwt = client.access_token_format == TokenFormat::Jwt;
        // Without keys there is no id_token (the exchange still succeeds); a JWT client
        // without keys fails below, as configured.
        let oidc = self.key_ring().is_some() && crate::oidc::has_scope(&client.scope, "openid");
        if !jwt && !oidc {
            return Ok(());
        }
        let pre = self.store.read(|tx| {
            let Some(code) = tx.authorization_code(digest)? else {
                return Ok(None);
            };
            let user = tx.user_by_id(code.user_id)?;
            let keys = tx.signing_keys()?;
            Ok(user.map(|u| (code, u, keys)))
        })?;
        let Some((code, user, keys)) = pre else {
            return Ok(());
        };
        if code.client_id != client.client_id || code.consumed_at.is_some() {
            return Ok(());
        }
        let scope = normalize_scope(code.scope.as_deref().unwrap_or(&client.scope));
        if jwt {
            template.access = self.jwt_access_token(
                client,
                Some(user.id),
                template.session_id,
                &scope,
                template.now,
                later(template.now, template.access_life),
                Some(&keys),
            )?;
        }
        if oidc && code.redirect_uri.is_some() && crate::oidc::has_scope(&scope, "openid") {
            template.id_token = Some(self.id_token(
                client,
                &user,
                &code,
                template.access.0.expose(),
                template.now,
                template.access_life,
                Some(&keys),
            )?);
        }
        Ok(())
    }
}

/// Where a session opened inside a transaction derives from, and what it may carry.
struct Lineage {
    scope: String,
    parent_id: Option<Uuid>,
    source_token: Option<TokenDigest>,
    /// The parent's absolute end: the child never outlives it.
    parent_end: Option<OffsetDateTime>,
}

/// The limits a one-time code issuance checks inside its transaction.
struct OneTimeCaps {
    per_user: u64,
    per_session: u64,
    rate: u64,
    window: Duration,
    life: Duration,
}

struct MintTemplate {
    now: OffsetDateTime,
    session_id: Uuid,
    access: (Secret, TokenDigest),
    refresh: Option<(Secret, TokenDigest)>,
    access_life: Duration,
    refresh_life: Duration,
    caller_ip: Option<String>,
    id_token: Option<Secret>,
    session_end: OffsetDateTime,
    grant: GrantType,
}

impl MintTemplate {
    /// A session of its own; `scope` as granted (`None`: the client's whole scope).
    fn finish(self, client: &Client, user: &User, scope: Option<&str>) -> Mint {
        let lineage = Lineage {
            scope: normalize_scope(scope.unwrap_or(&client.scope)),
            parent_id: None,
            source_token: None,
            parent_end: None,
        };
        self.finish_with(client, user, lineage)
    }

    fn finish_with(self, client: &Client, user: &User, lineage: Lineage) -> Mint {
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

pub(crate) fn lockout_records<T: ReadTx + ?Sized>(
    tx: &mut T,
    keys: &[String],
) -> Result<Vec<Option<LoginFailure>>> {
    keys.iter().map(|k| tx.login_failure(k)).collect()
}

pub(crate) fn login_keys(account: String, ip: Option<IpAddr>) -> Vec<String> {
    let mut keys = vec![account];
    if let Some(ip) = ip {
        keys.push(address_key(ip));
    }
    keys
}

fn record_failure(
    tx: &mut dyn WriteTx,
    key: &str,
    now: OffsetDateTime,
    policy: &crate::config::LockoutPolicy,
) -> Result<()> {
    let previous = tx
        .login_failure(key)?
        .filter(|r| now - r.last_failure_at < policy.forget_after)
        .map_or(0, |r| r.failures);
    let failures = previous.saturating_add(1);
    tx.put_login_failure(&LoginFailure {
        key: key.to_owned(),
        failures,
        last_failure_at: now,
        locked_until: policy.delay_after(failures).map(|d| later(now, d)),
    })
}

pub(crate) fn apply_login_success(
    tx: &mut dyn WriteTx,
    account_key: &str,
    login: &VerifiedLogin,
) -> Result<()> {
    tx.clear_login_failure(account_key)?;
    if let Some(new_hash) = &login.new_hash {
        // Only upgrade the hash that was verified; a concurrent password change wins.
        if let Some(mut current) = tx.user_by_id(login.user.id)? {
            if current.password_hash == login.user.password_hash {
                current.password_hash = new_hash.clone();
                tx.upsert_user(&current)?;
            }
        }
    }
    Ok(())
}

pub(crate) fn authenticate_in<T: ReadTx + ?Sized>(
    tx: &mut T,
    auth: &ClientAuth,
    now: OffsetDateTime,
) -> Result<Client> {
    if let Some(ip) = auth.caller_ip {
        if let Some(until) = tx
            .login_failure_before_client(&address_key(ip), &auth.client_id)?
            .and_then(|r| r.locked_until)
            .filter(|until| *until > now)
        {
            // The caller is throttled; no grant was looked at, so not `Locked` (whose
            // dialect code is invalid_grant) but `RateLimited`.
            return Err(Error::RateLimited {
                retry_after: until - now,
            });
        }
    }
    if let Some(client) = check_pair(tx, &auth.client_id, auth.secret.as_ref())? {
        return Ok(client);
    }
    if let Some((id, secret)) = &auth.decoded {
        if let Some(client) = check_pair(tx, id, secret.as_ref())? {
            return Ok(client);
        }
    }
    Err(Error::InvalidClient)
}

fn check_pair<T: ReadTx + ?Sized>(
    tx: &mut T,
    client_id: &str,
    secret: Option<&Secret>,
) -> Result<Option<Client>> {
    if client_id.is_empty() {
        return Ok(None);
    }
    let Some(client) = tx.client(client_id)? else {
        return Ok(None);
    };
    let ok = match (&client.secret_hash, secret) {
        (Some(hash), Some(secret)) => verify_client_secret(hash, secret.expose()),
        (Some(_), None) => false,
        (None, _) => true,
    };
    Ok(ok.then_some(client))
}

pub(crate) fn require_grant(client: &Client, grant: GrantType) -> Result<()> {
    if client.grants.contains(grant) {
        Ok(())
    } else {
        Err(Error::UnauthorizedClient)
    }
}

/// Space-separated, duplicates removed, order kept.
fn normalize_scope(scope: &str) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for item in scope.split_ascii_whitespace() {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen.join(" ")
}

/// The scope to grant: the client's whole scope when none is requested, else the requested
/// one, which must be within the client's (`InvalidScope`, RFC 6749 section 3.3). Without a
/// client only [`WithoutClient::Scope`] grants anything, and only within that fixed scope.
fn grant_scope(
    client: Option<&Client>,
    without: &WithoutClient,
    requested: Option<&str>,
) -> Result<String> {
    match (client, without) {
        (Some(client), _) => narrow_scope(&client.scope, requested),
        (None, WithoutClient::Scope(fixed)) => narrow_scope(fixed, requested),
        (None, _) => Err(Error::InvalidClient),
    }
}

/// The items of `a` that are also in `b`, in `a`'s order.
fn intersect_scope(a: &str, b: &str) -> String {
    let b: Vec<&str> = b.split_ascii_whitespace().collect();
    normalize_scope(
        &a.split_ascii_whitespace()
            .filter(|item| b.contains(item))
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// `requested` (if any) must be within `allowed`.
pub(crate) fn narrow_scope(allowed: &str, requested: Option<&str>) -> Result<String> {
    let Some(requested) = requested.map(normalize_scope).filter(|s| !s.is_empty()) else {
        return Ok(normalize_scope(allowed));
    };
    let allowed: Vec<&str> = allowed.split_ascii_whitespace().collect();
    if requested
        .split_ascii_whitespace()
        .all(|item| allowed.contains(&item))
    {
        Ok(requested)
    } else {
        Err(Error::InvalidScope)
    }
}

fn live_user<T: ReadTx + ?Sized>(
    tx: &mut T,
    user_id: Option<Uuid>,
) -> Result<Option<Option<User>>> {
    match user_id {
        None => Ok(Some(None)),
        Some(id) => Ok(tx.user_by_id(id)?.filter(|u| !u.flags.disabled).map(Some)),
    }
}

/// The absolute end of a session (sessions stored before it was recorded: from their start).
fn session_end(session: &Session, max: Duration) -> OffsetDateTime {
    session
        .expires_at
        .unwrap_or_else(|| later(session.created_at, max))
}

/// How many ancestors a session may have before it is treated as dead (a chain longer than
/// this cannot be built with the one-time code caps in force; the bound keeps a corrupt
/// parent loop from spinning).
const MAX_LINEAGE: usize = 16;

/// Whether a session is live: not ended, before its absolute end, and, for a child, its
/// parent live too and the access token that issued its code not revoked. Checked on every
/// validation, introspection and refresh, so ending a parent by any path (revocation,
/// refresh reuse, code replay, password change, disable) ends its children at once.
fn live_session<T: ReadTx + ?Sized>(
    tx: &mut T,
    id: Uuid,
    now: OffsetDateTime,
    max: Duration,
) -> Result<Option<Session>> {
    let Some(first) = tx.session(id)? else {
        return Ok(None);
    };
    let mut current = first.clone();
    for _ in 0..MAX_LINEAGE {
        if current.ended_at.is_some() || session_end(&current, max) <= now {
            return Ok(None);
        }
        if let Some(source) = &current.source_token {
            if tx
                .access_token(source)?
                .is_some_and(|t| t.revoked_at.is_some())
            {
                return Ok(None);
            }
        }
        let Some(parent) = current.parent_id else {
            return Ok(Some(first));
        };
        let Some(parent) = tx.session(parent)? else {
            return Ok(None);
        };
        current = parent;
    }
    Ok(None)
}

fn live_access<T: ReadTx + ?Sized>(
    tx: &mut T,
    digest: &TokenDigest,
    now: OffsetDateTime,
    max: Duration,
) -> Result<Option<TokenInfo>> {
    let Some(token) = tx.access_token(digest)? else {
        return Ok(None);
    };
    if token.revoked_at.is_some()
        || token.expires_at <= now
        || live_session(tx, token.session_id, now, max)?.is_none()
    {
        return Ok(None);
    }
    let Some(user) = live_user(tx, token.user_id)? else {
        return Ok(None);
    };
    Ok(Some(TokenInfo {
        kind: TokenKind::Access,
        session_id: token.session_id,
        client_id: token.client_id,
        user: user.as_ref().map(UserInfo::from),
        scope: token.scope,
        issued_at: token.issued_at,
        expires_at: token.expires_at,
    }))
}

fn live_refresh<T: ReadTx + ?Sized>(
    tx: &mut T,
    digest: &TokenDigest,
    now: OffsetDateTime,
    max: Duration,
) -> Result<Option<TokenInfo>> {
    let Some(token) = tx.refresh_token(digest)? else {
        return Ok(None);
    };
    if token.revoked_at.is_some() || token.rotated_at.is_some() || token.expires_at <= now {
        return Ok(None);
    }
    let Some(session) = live_session(tx, token.session_id, now, max)? else {
        return Ok(None);
    };
    let user_id = session.user_id;
    let Some(user) = live_user(tx, user_id)? else {
        return Ok(None);
    };
    Ok(Some(TokenInfo {
        kind: TokenKind::Refresh,
        session_id: token.session_id,
        client_id: token.client_id,
        user: user.as_ref().map(UserInfo::from),
        scope: token.scope,
        issued_at: token.issued_at,
        expires_at: token.expires_at,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_keep_raw_and_decoded_forms() {
        let auth = ClientAuth::basic("my%20client", "s%3Acret+x");
        assert_eq!(auth.client_id(), "my%20client");
        let (id, secret) = auth.decoded.clone().unwrap_or_default();
        assert_eq!(id, "my client");
        assert_eq!(secret.as_ref().map(Secret::expose), Some("s:cret x"));
        // Nothing to decode: no alternative.
        assert!(ClientAuth::basic("demo-client", "demo-secret")
            .decoded
            .is_none());
        // A bad escape leaves only the raw form.
        assert!(ClientAuth::basic("a%zz", "b").decoded.is_none());
        let shown = format!("{auth:?}");
        assert!(!shown.contains("s%3Acret"), "{shown}");
    }

    #[test]
    fn absurd_lifetimes_saturate_instead_of_panicking() {
        let now = time::macros::datetime!(2026-01-01 00:00 UTC);
        assert_eq!(
            later(now, Duration::MAX),
            time::PrimitiveDateTime::MAX.assume_utc()
        );
        assert_eq!(
            later(now, Duration::minutes(20)),
            now + Duration::minutes(20)
        );
    }

    #[test]
    fn ipv6_callers_are_keyed_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1"
            .parse()
            .unwrap_or(IpAddr::from([0; 4]));
        let b: IpAddr = "2001:db8:1:2:ffff:1:2:3"
            .parse()
            .unwrap_or(IpAddr::from([0; 4]));
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap_or(IpAddr::from([0; 4]));
        assert_eq!(address_key(a), "ip:2001:db8:1:2::/64");
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:203.0.113.5".parse().unwrap_or(IpAddr::from([0; 4]));
        assert_eq!(address_key(mapped), "ip:203.0.113.5");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Bb+c").as_deref(), Some("a+b c"));
        assert_eq!(percent_decode("%C3%A9").as_deref(), Some("é"));
        assert_eq!(percent_decode("%"), None);
        assert_eq!(percent_decode("%4"), None);
        assert_eq!(percent_decode("%FF"), None);
        assert_eq!(percent_decode("%é"), None);
    }

    #[test]
    fn scope_rules() {
        assert_eq!(normalize_scope(" a  b a "), "a b");
        assert_eq!(
            narrow_scope("openid profile", None).ok().as_deref(),
            Some("openid profile")
        );
        assert_eq!(
            narrow_scope("openid profile", Some("profile"))
                .ok()
                .as_deref(),
            Some("profile")
        );
        assert!(matches!(
            narrow_scope("openid profile", Some("admin")),
            Err(Error::InvalidScope)
        ));
        // No client: refused, unless a fixed scope is configured; then only within it.
        assert!(matches!(
            grant_scope(None, &WithoutClient::Refuse, Some("admin")),
            Err(Error::InvalidClient)
        ));
        let katana = WithoutClient::Scope("openid".to_owned());
        assert_eq!(
            grant_scope(None, &katana, None).ok().as_deref(),
            Some("openid")
        );
        assert!(matches!(
            grant_scope(None, &katana, Some("admin root")),
            Err(Error::InvalidScope)
        ));
        assert_eq!(
            grant_scope(None, &WithoutClient::Scope(String::new()), None)
                .ok()
                .as_deref(),
            Some("")
        );
        assert_eq!(
            intersect_scope("openid profile admin", "admin openid"),
            "openid admin"
        );
        assert_eq!(intersect_scope("a", ""), "");
    }
}
