//! The entities Gatehouse keeps, and (in [`rules`], re-exported here) the validity rules each
//! one decides by itself: expired, revoked, rotated, consumed, disabled, each check returning
//! a typed rejection, with the time passed in. The grant logic lives in [`crate::service`],
//! the persistence in the storage crate behind [`crate::store`].
//!
//! Times are UTC [`OffsetDateTime`]s; identifiers are GUIDs ([`Uuid`]) where the legacy
//! services used GUIDs, strings or integers elsewhere. Tokens and codes are kept only as
//! [`TokenDigest`]s.
//!
//! Longer than 500 lines: nineteen entity types, most of it field documentation; their rules
//! are in [`rules`].

use std::collections::BTreeMap;
use std::fmt;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::secret::{ClientSecretHash, TokenDigest};

pub mod rules;

pub use rules::{CodeRejection, SessionRejection, TokenRejection, UserRejection};

/// The case-insensitive key of a user name (what uniqueness and look-ups use).
pub fn user_name_key(user_name: &str) -> String {
    user_name.trim().to_lowercase()
}

/// The flags of a user account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserFlags {
    /// May obtain authorization codes for the back office (`/admin/login/auth_code`).
    pub operator: bool,
    /// `is_editor` of the v1 dialect.
    pub editor: bool,
    /// `QueryAll` of the member dialect.
    pub query_all: bool,
    /// `DFVisible` of the member dialect.
    pub df_visible: bool,
    /// A disabled user cannot log in and its tokens stop validating.
    pub disabled: bool,
}

/// A user account.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// The user GUID (`userID`, `UserId`).
    pub id: Uuid,
    /// The user name as provisioned; unique case-insensitively ([`user_name_key`]).
    pub user_name: String,
    /// A self-describing password hash (see [`crate::credentials`]).
    pub password_hash: String,
    /// Flags.
    pub flags: UserFlags,
    /// When the account was created.
    pub created_at: OffsetDateTime,
    /// What OpenID Connect may release about the user (`profile`, `email` scopes).
    pub profile: UserProfile,
}

/// The OpenID Connect claims a user may have (all optional; provisioned by the operator).
/// Its `Debug` shows no personal data.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct UserProfile {
    /// Full name (`name`, scope `profile`).
    pub name: Option<String>,
    /// E-mail address (`email`, scope `email`).
    pub email: Option<String>,
    /// Whether the operator vouches for the address (`email_verified`); false by default.
    pub email_verified: bool,
}

impl fmt::Debug for UserProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserProfile")
            .field("has_name", &self.name.is_some())
            .field("has_email", &self.email.is_some())
            .field("email_verified", &self.email_verified)
            .finish()
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("user_name", &self.user_name)
            .field("flags", &self.flags)
            .field("created_at", &self.created_at)
            // Personal data stays out of logs: only whether it is there.
            .field("has_email", &self.profile.email.is_some())
            .finish_non_exhaustive()
    }
}

/// A member: a user known to the member dialect by a member id such as `1234`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The numeric internal id (`id_Member`).
    pub id: i64,
    /// The member id users type (`MemberId`), unique.
    pub member_id: String,
    /// The user behind the member.
    pub user_id: Uuid,
}

/// A member to create or update; `id` is assigned by storage when `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMember {
    /// The numeric internal id, or `None` for the next free one.
    pub id: Option<i64>,
    /// The member id.
    pub member_id: String,
    /// The user behind the member.
    pub user_id: Uuid,
}

/// A sub-account of a member (`id_SubAccount`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubAccount {
    /// The numeric id, unique across all members.
    pub id: i64,
    /// The internal id of the owning member ([`Member::id`]).
    pub member: i64,
}

/// A broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    /// The broker GUID (`BrokerId`).
    pub id: Uuid,
    /// Display name.
    pub name: String,
}

/// A trading account at a broker, owned by a user. Unique by (broker, account, server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradingAccount {
    /// The broker.
    pub broker_id: Uuid,
    /// The account number or name (`TradingAccount`).
    pub account: String,
    /// The trading server (`Server`).
    pub server: String,
    /// The owning user.
    pub user_id: Uuid,
}

/// A grant a client may be allowed to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GrantType {
    /// `password` (katana, v1, member, and the operator login of otc).
    Password,
    /// `refresh_token` (v1).
    RefreshToken,
    /// `client_credentials` (v1).
    ClientCredentials,
    /// `authorization_code` (otc codes, exchanged at otc or v1).
    AuthorizationCode,
    /// `onetime`: issue one-time codes for the client's broker, and redeem them.
    OneTime,
    /// `urn:ietf:params:oauth:grant-type:device_code`: the device authorization grant
    /// (RFC 8628), for clients on devices without a browser or keyboard.
    DeviceCode,
    /// `token_exchange` (RFC 8693 `urn:ietf:params:oauth:grant-type:token-exchange`):
    /// exchange a subject token for one for an audience on the client's allow-list.
    TokenExchange,
}

impl GrantType {
    /// Every grant, in a fixed order.
    pub const ALL: [GrantType; 7] = [
        GrantType::Password,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::AuthorizationCode,
        GrantType::OneTime,
        GrantType::DeviceCode,
        GrantType::TokenExchange,
    ];

    /// The name used in configuration, import documents and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::Password => "password",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::OneTime => "onetime",
            GrantType::DeviceCode => crate::device::DEVICE_CODE_GRANT,
            GrantType::TokenExchange => "token_exchange",
        }
    }

    /// Parses [`GrantType::as_str`] names (exactly).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == name)
    }

    fn bit(self) -> u8 {
        match self {
            GrantType::Password => 1,
            GrantType::RefreshToken => 2,
            GrantType::ClientCredentials => 4,
            GrantType::AuthorizationCode => 8,
            GrantType::OneTime => 16,
            GrantType::DeviceCode => 32,
            // 32 is left for the device grant (issue 24 item 3, another branch).
            GrantType::TokenExchange => 64,
        }
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of [`GrantType`]s.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct GrantSet(u8);

impl GrantSet {
    /// No grant.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// Every grant.
    pub fn all() -> Self {
        GrantType::ALL.into_iter().collect()
    }

    /// Whether `grant` is in the set.
    pub fn contains(self, grant: GrantType) -> bool {
        self.0 & grant.bit() != 0
    }

    /// Adds `grant`.
    pub fn insert(&mut self, grant: GrantType) {
        self.0 |= grant.bit();
    }

    /// The grants, in [`GrantType::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = GrantType> {
        GrantType::ALL
            .into_iter()
            .filter(move |g| self.contains(*g))
    }

    /// Space-separated names (the storage form).
    pub fn to_names(self) -> String {
        self.iter()
            .map(GrantType::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Parses space-separated names.
    ///
    /// # Errors
    /// The first name that is no grant type.
    pub fn parse_names(names: &str) -> Result<Self, String> {
        let mut set = Self::empty();
        for name in names.split_ascii_whitespace() {
            set.insert(GrantType::parse(name).ok_or_else(|| name.to_owned())?);
        }
        Ok(set)
    }
}

impl FromIterator<GrantType> for GrantSet {
    fn from_iter<I: IntoIterator<Item = GrantType>>(iter: I) -> Self {
        let mut set = Self::empty();
        for grant in iter {
            set.insert(grant);
        }
        set
    }
}

impl fmt::Debug for GrantSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// A client application.
#[derive(Clone, PartialEq, Eq)]
pub struct Client {
    /// The client id.
    pub client_id: String,
    /// The hash of its secret; `None` for a public client.
    pub secret_hash: Option<ClientSecretHash>,
    /// The grants it may use.
    pub grants: GrantSet,
    /// Space-separated scope it may be granted (empty: none).
    pub scope: String,
    /// Access-token lifetime for this client, or the configured default.
    pub access_token_lifetime: Option<Duration>,
    /// Refresh-token lifetime for this client, or the configured default.
    pub refresh_token_lifetime: Option<Duration>,
    /// `redirect_url` of the v1 dialect.
    pub redirect_url: Option<String>,
    /// The broker a `onetime` client acts for.
    pub broker_id: Option<Uuid>,
    /// May introspect (and revoke) tokens issued to other clients or to no client: a
    /// resource server's right (RFC 7662 section 2.1). Without it a client sees only its own
    /// tokens.
    pub introspect_any: bool,
    /// Redirect URIs registered for `/oauth2/authorize`, matched exactly (RFC 9700 2.1).
    pub redirect_uris: Vec<String>,
    /// Whether `/oauth2/authorize` asks the user to consent (third-party clients).
    pub consent_required: bool,
    /// The name the login and consent pages show (RFC 7591 `client_name`); else the id.
    pub client_name: Option<String>,
    /// The format of its access tokens (opaque unless the client asks for JWTs).
    pub access_token_format: TokenFormat,
    /// Audience and algorithms of the tokens signed for it.
    pub signing: TokenSigning,
    /// Its public keys, a JWK Set (JSON, checked when stored by
    /// [`crate::client_assertion::parse_jwks`]): it may then authenticate with
    /// `private_key_jwt` (RFC 7523 section 2.2), and is confidential even without a secret.
    pub jwks: Option<String>,
}

/// How the tokens of a client are signed (JWT access tokens, id_tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSigning {
    /// `aud` of its JWT access tokens (the resource server that accepts them); `None`: the
    /// client id.
    pub audience: Option<String>,
    /// The algorithm of its JWT access tokens (`access_token_signed_response_alg`):
    /// the newest active key of this algorithm signs them.
    pub access_token_alg: crate::keys::Alg,
    /// The algorithm of its id_tokens (OpenID `id_token_signed_response_alg`).
    pub id_token_alg: crate::keys::Alg,
}

impl Default for TokenSigning {
    /// No audience; ES256 access tokens (fast to sign); RS256 id_tokens (OpenID's default).
    fn default() -> Self {
        Self {
            audience: None,
            access_token_alg: crate::keys::Alg::Es256,
            id_token_alg: crate::keys::Alg::Rs256,
        }
    }
}

/// The format of a client's access tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TokenFormat {
    /// 256 random bits, base64url: meaningful only to introspection (the default).
    #[default]
    Opaque,
    /// An RFC 9068 JWT signed with the current signing key.
    Jwt,
}

impl TokenFormat {
    /// The name used in configuration, import documents and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenFormat::Opaque => "opaque",
            TokenFormat::Jwt => "jwt",
        }
    }

    /// Parses [`TokenFormat::as_str`] names (exactly).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "opaque" => Some(TokenFormat::Opaque),
            "jwt" => Some(TokenFormat::Jwt),
            _ => None,
        }
    }
}

impl Client {
    /// Whether the client can authenticate (is confidential): it has a secret or keys.
    pub fn is_confidential(&self) -> bool {
        self.secret_hash.is_some() || self.jwks.is_some()
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.client_id)
            .field("confidential", &self.is_confidential())
            .field("has_keys", &self.jwks.is_some())
            .field("grants", &self.grants)
            .field("scope", &self.scope)
            .field("access_token_lifetime", &self.access_token_lifetime)
            .field("refresh_token_lifetime", &self.refresh_token_lifetime)
            .field("redirect_url", &self.redirect_url)
            .field("broker_id", &self.broker_id)
            .field("introspect_any", &self.introspect_any)
            .field("redirect_uris", &self.redirect_uris)
            .field("consent_required", &self.consent_required)
            .field("client_name", &self.client_name)
            .field("access_token_format", &self.access_token_format)
            .field("signing", &self.signing)
            .finish_non_exhaustive()
    }
}

/// A login session: the family of every token minted from one grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The session GUID (`sessionKey`, `session_state`).
    pub id: Uuid,
    /// The client it was opened by, if any.
    pub client_id: Option<String>,
    /// The user, if any (none for `client_credentials`).
    pub user_id: Option<Uuid>,
    /// The caller's `clientKey` (katana), echoed back.
    pub client_key: Option<String>,
    /// The caller's address when the session was opened.
    pub caller_ip: Option<String>,
    /// Opened at.
    pub created_at: OffsetDateTime,
    /// Last grant on this session (opening, refresh).
    pub last_used_at: OffsetDateTime,
    /// Ended at: every token of an ended session is dead.
    pub ended_at: Option<OffsetDateTime>,
    /// The session this one derives from (a one-time code redeemed with a token of the
    /// parent). A child lives only while its parent lives.
    pub parent_id: Option<Uuid>,
    /// The access token of the parent that issued the one-time code: revoking it ends the
    /// child too.
    pub source_token: Option<TokenDigest>,
    /// The absolute end of the session: no token of it, refreshed or not, outlives it.
    /// `None` for sessions stored before it was recorded (then `created_at` plus the
    /// configured maximum applies).
    pub expires_at: Option<OffsetDateTime>,
    /// The grant that opened the session: a refresh needs the client to still hold it.
    /// `None` for sessions stored before it was recorded.
    pub grant: Option<GrantType>,
}

/// An access token (stored as its digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// SHA-256 of the token.
    pub digest: TokenDigest,
    /// The session it belongs to.
    pub session_id: Uuid,
    /// The client it was issued to, if any.
    pub client_id: Option<String>,
    /// The user it was issued for, if any.
    pub user_id: Option<Uuid>,
    /// Space-separated scope.
    pub scope: String,
    /// Issued at.
    pub issued_at: OffsetDateTime,
    /// Expires at.
    pub expires_at: OffsetDateTime,
    /// Revoked at (RFC 7009).
    pub revoked_at: Option<OffsetDateTime>,
}

/// A refresh token (stored as its digest). Its family is its session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// SHA-256 of the token.
    pub digest: TokenDigest,
    /// The session (family).
    pub session_id: Uuid,
    /// The client it was issued to, if any.
    pub client_id: Option<String>,
    /// Space-separated scope.
    pub scope: String,
    /// Issued at.
    pub issued_at: OffsetDateTime,
    /// Expires at.
    pub expires_at: OffsetDateTime,
    /// When it was exchanged for a new pair.
    pub rotated_at: Option<OffsetDateTime>,
    /// The token it was rotated into.
    pub successor: Option<TokenDigest>,
    /// Revoked at.
    pub revoked_at: Option<OffsetDateTime>,
    /// When, after its rotation, it was presented again inside the grace window and got its
    /// one retry.
    pub replayed_at: Option<OffsetDateTime>,
}

/// An authorization code: of the otc dialect (`/admin/login/auth_code`, bound to client and
/// user only) or of `/oauth2/authorize` (also bound to the redirect URI, the PKCE challenge,
/// the scope and the browser session that authenticated the user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCode {
    /// SHA-256 of the code.
    pub digest: TokenDigest,
    /// The client it is bound to.
    pub client_id: String,
    /// The operator user it is bound to.
    pub user_id: Uuid,
    /// Issued at.
    pub issued_at: OffsetDateTime,
    /// Expires at.
    pub expires_at: OffsetDateTime,
    /// Exchanged at.
    pub consumed_at: Option<OffsetDateTime>,
    /// The session the exchange opened (ended if the code is presented again).
    pub session_id: Option<Uuid>,
    /// The `redirect_uri` of the authorization request; the exchange must repeat it exactly.
    pub redirect_uri: Option<String>,
    /// The PKCE `S256` challenge; the exchange must present its verifier.
    pub code_challenge: Option<String>,
    /// The scope granted by the authorization (`None`: the client's whole scope, otc codes).
    pub scope: Option<String>,
    /// When the user authenticated (the browser session's login; OpenID `auth_time`).
    pub auth_time: Option<OffsetDateTime>,
    /// The browser session that authorized it (OpenID `sid`).
    pub browser_session_id: Option<Uuid>,
    /// The OpenID `nonce` of the authorization request, echoed in the id_token.
    pub nonce: Option<String>,
}

/// A one-time code of the onetime dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTimeCode {
    /// SHA-256 of the code.
    pub digest: TokenDigest,
    /// The client that issued it (confidential-client path).
    pub issuer_client_id: Option<String>,
    /// The user whose bearer token issued it (bearer path).
    pub issuer_user_id: Option<Uuid>,
    /// The user the code stands for.
    pub user_id: Uuid,
    /// The client that may redeem it (`ClientId`).
    pub redeeming_client_id: String,
    /// `BrokerId`.
    pub broker_id: Option<Uuid>,
    /// `TradingAccount`.
    pub trading_account: Option<String>,
    /// `Server`.
    pub server: Option<String>,
    /// `Payload`.
    pub payload: BTreeMap<String, String>,
    /// Issued at.
    pub issued_at: OffsetDateTime,
    /// Expires at.
    pub expires_at: OffsetDateTime,
    /// Redeemed at.
    pub consumed_at: Option<OffsetDateTime>,
    /// The session the redemption opened.
    pub session_id: Option<Uuid>,
    /// The most scope the redemption may grant (the issuing token's or client's); the
    /// redeeming client's scope narrows it further.
    pub scope: Option<String>,
    /// The session of the bearer token that issued it (the redemption's parent).
    pub source_session_id: Option<Uuid>,
    /// The bearer access token that issued it.
    pub source_token: Option<TokenDigest>,
}

/// Failed logins counted against one key: `user:<name key>` (on every dialect, the member
/// dialect included), `member:<member id>` (member ids that name nobody) or `ip:<address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginFailure {
    /// The key.
    pub key: String,
    /// Consecutive failures.
    pub failures: u32,
    /// The last failure.
    pub last_failure_at: OffsetDateTime,
    /// No attempt is verified before this instant.
    pub locked_until: Option<OffsetDateTime>,
}
