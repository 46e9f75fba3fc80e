//! Provisioning: the import document (format in `docs/import.md`), the demo data, and the
//! one-off operations of the command line.
//!
//! Longer than 500 lines: the document's types (about 300 lines, mostly field docs that
//! `docs/import.md` mirrors) sit beside the one transaction that applies them, so a field and
//! its validation are read together.

use std::fmt;

use serde::{Deserialize, Deserializer};
use time::Duration;
use uuid::Uuid;

use crate::error::Error;
use crate::keys::Alg;
use crate::logout::ClientLogout;
use crate::model::{
    user_name_key, Broker, Client, GrantSet, NewMember, SubAccount, TokenFormat, TokenSigning,
    TradingAccount, User, UserFlags, UserProfile,
};
use crate::par::ClientPar;
use crate::secret::{generate_client_secret, hash_client_secret, ClientSecretHash, Secret};
use crate::service::Gatehouse;
use crate::store::Store;

type Result<T> = std::result::Result<T, Error>;

/// The demo data (`crates/domain/demo.json`, listed in the README) as an import document (plain passwords, hashed at import
/// with the configured cost).
pub const DEMO_DOCUMENT: &str = include_str!("../demo.json");

/// Parses [`DEMO_DOCUMENT`].
///
/// # Errors
/// `InvalidRequest` if the shipped document does not parse (a test guards against that).
pub fn demo_document() -> Result<ImportDocument> {
    ImportDocument::from_json(DEMO_DOCUMENT)
}

fn de_secret<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<Secret>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(Secret::from))
}

/// A provisioning document. Every section is optional. Applying it twice changes nothing
/// the second time.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportDocument {
    /// Brokers, by id.
    #[serde(default)]
    pub brokers: Vec<ImportBroker>,
    /// Clients, by client id.
    #[serde(default)]
    pub clients: Vec<ImportClient>,
    /// Users, by user name (case-insensitive), with their member record and trading
    /// accounts.
    #[serde(default)]
    pub users: Vec<ImportUser>,
}

impl ImportDocument {
    /// Parses a JSON document.
    ///
    /// # Errors
    /// `InvalidRequest` naming the position and the problem.
    /// The message names the field path and what was expected, never the value found (a
    /// wrongly typed `password` must not reach a terminal or a log: issue 19 item 10).
    pub fn from_json(text: &str) -> Result<Self> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let doc: Self = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            Error::InvalidRequest(format!(
                "import document: {path}: {}",
                without_values(e.inner())
            ))
        })?;
        Ok(doc)
    }
}

/// RFC 9068 section 5: a client-credentials JWT's `sub` is the client id and a user's token's
/// the user's GUID, and `aud` is the client's audience (else its id). Refused, inside the
/// write transaction: a client id that is a user's GUID, and an audience that is another
/// client's id (issue 19 item 9).
pub(crate) fn check_subjects(tx: &mut dyn crate::store::WriteTx, client: &Client) -> Result<()> {
    if let Ok(id) = Uuid::parse_str(&client.client_id) {
        if tx.user_by_id(id)?.is_some() {
            return Err(Error::Conflict(format!(
                "client {}: its id is a user's id, so JWT subjects would collide (RFC 9068 section 5)",
                client.client_id
            )));
        }
    }
    if let Some(audience) = client.signing.audience.as_deref() {
        if audience != client.client_id && tx.client(audience)?.is_some() {
            return Err(Error::Conflict(format!(
                "client {}: its audience is another client's id",
                client.client_id
            )));
        }
    }
    Ok(())
}

/// What a JSON error says, without the value it found: the expectation of a type or value
/// error, the position of a syntax error.
fn without_values(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("line {} column {}", e.line(), e.column());
    match e.classify() {
        Category::Data => {
            let text = e.to_string();
            let text = text.split(" at line ").next().unwrap_or_default();
            if let Some((_, expected)) = text.split_once(", expected ") {
                format!("wrong type or value, expected {expected} ({at})")
            } else if text.starts_with("missing field") {
                format!("{text} ({at})")
            } else {
                format!("invalid value ({at})")
            }
        }
        Category::Syntax | Category::Eof => format!("not valid JSON ({at})"),
        Category::Io => "could not be read".to_owned(),
    }
}

/// A broker.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportBroker {
    /// GUID.
    pub id: Uuid,
    /// Name.
    pub name: String,
}

/// A client. At most one of `secret` and `secret_hash`; neither makes a public client.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportClient {
    /// Client id.
    pub client_id: String,
    /// Plain secret, hashed at import.
    #[serde(default, deserialize_with = "de_secret")]
    pub secret: Option<Secret>,
    /// Stored form `hmac-sha256$<salt>$<mac>`.
    #[serde(default)]
    pub secret_hash: Option<String>,
    /// Grant names: `password`, `refresh_token`, `client_credentials`,
    /// `authorization_code`, `onetime`.
    #[serde(default)]
    pub grants: Vec<String>,
    /// Space-separated scope.
    #[serde(default)]
    pub scope: String,
    /// `redirect_url`.
    #[serde(default)]
    pub redirect_url: Option<String>,
    /// The broker a `onetime` client acts for.
    #[serde(default)]
    pub broker_id: Option<Uuid>,
    /// Access-token lifetime in seconds (default: the server's).
    #[serde(default)]
    pub access_token_lifetime_secs: Option<u32>,
    /// Refresh-token lifetime in seconds (default: the server's).
    #[serde(default)]
    pub refresh_token_lifetime_secs: Option<u32>,
    /// May introspect and revoke every client's tokens (a resource server); default: only
    /// its own.
    #[serde(default)]
    pub introspect_any: bool,
    /// Redirect URIs for `/oauth2/authorize`, matched exactly.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Whether `/oauth2/authorize` shows a consent page for this client.
    #[serde(default)]
    pub consent_required: bool,
    /// The name the login and consent pages show.
    #[serde(default)]
    pub client_name: Option<String>,
    /// `opaque` (default) or `jwt` (RFC 9068 access tokens).
    #[serde(default)]
    pub access_token_format: Option<String>,
    /// `aud` of its JWT access tokens (default: the client id).
    #[serde(default)]
    pub audience: Option<String>,
    /// `RS256`, `ES256` (default) or `EdDSA`: the algorithm of its JWT access tokens.
    #[serde(default)]
    pub access_token_signed_response_alg: Option<String>,
    /// `RS256` (default), `ES256` or `EdDSA`: the algorithm of its id_tokens.
    #[serde(default)]
    pub id_token_signed_response_alg: Option<String>,
    /// Its public keys (a JWK Set object, RFC 7517 section 5) for `private_key_jwt` client
    /// authentication; with or without a secret.
    #[serde(default)]
    pub jwks: Option<serde_json::Value>,
    /// Where `/oauth2/logout` may send the browser back after an RP-initiated logout (OpenID
    /// Connect RP-Initiated Logout 1.0 `post_logout_redirect_uris`), matched exactly.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Every authorization request of this client must be pushed first (RFC 9126
    /// `require_pushed_authorization_requests`).
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// The audiences this client may exchange subject tokens for (RFC 8693; with the
    /// `token_exchange` grant), matched exactly.
    #[serde(default)]
    pub token_exchange_audiences: Vec<String>,
    /// Every token request of this client must carry a DPoP proof, and its tokens are bound
    /// to the proof's key (RFC 9449 `dpop_bound_access_tokens`).
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
}

impl fmt::Debug for ImportClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportClient")
            .field("client_id", &self.client_id)
            .field("has_secret", &self.secret.is_some())
            .field("has_secret_hash", &self.secret_hash.is_some())
            .field("grants", &self.grants)
            .field("scope", &self.scope)
            .field("introspect_any", &self.introspect_any)
            .field("redirect_uris", &self.redirect_uris)
            .field("consent_required", &self.consent_required)
            .field("access_token_format", &self.access_token_format)
            .field("audience", &self.audience)
            .field(
                "access_token_signed_response_alg",
                &self.access_token_signed_response_alg,
            )
            .field(
                "id_token_signed_response_alg",
                &self.id_token_signed_response_alg,
            )
            .field("has_jwks", &self.jwks.is_some())
            .field("post_logout_redirect_uris", &self.post_logout_redirect_uris)
            .field(
                "require_pushed_authorization_requests",
                &self.require_pushed_authorization_requests,
            )
            .field("token_exchange_audiences", &self.token_exchange_audiences)
            .field("dpop_bound_access_tokens", &self.dpop_bound_access_tokens)
            .finish_non_exhaustive()
    }
}

/// A user. A new user needs `password` or `password_hash`; for an existing user, neither
/// keeps the stored hash.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportUser {
    /// GUID; generated for a new user when absent. Must match an existing user's.
    #[serde(default)]
    pub id: Option<Uuid>,
    /// User name.
    pub user_name: String,
    /// Plain password, hashed at import with the configured cost (an existing hash that
    /// already verifies it is kept).
    #[serde(default, deserialize_with = "de_secret")]
    pub password: Option<Secret>,
    /// A stored hash: `pbkdf2-sha256$...`, or an ASP.NET Identity v2/v3 hash as
    /// `aspnet-identity$<base64>` (or the bare base64), upgraded on first login.
    #[serde(default)]
    pub password_hash: Option<String>,
    /// Flag.
    #[serde(default)]
    pub operator: bool,
    /// Flag.
    #[serde(default)]
    pub editor: bool,
    /// Flag.
    #[serde(default)]
    pub query_all: bool,
    /// Flag.
    #[serde(default)]
    pub df_visible: bool,
    /// Flag.
    #[serde(default)]
    pub disabled: bool,
    /// Full name (OpenID `name`, released with the `profile` scope).
    #[serde(default)]
    pub name: Option<String>,
    /// E-mail address (OpenID `email`, released with the `email` scope).
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the address is verified (OpenID `email_verified`); default false.
    #[serde(default)]
    pub email_verified: bool,
    /// Member record.
    #[serde(default)]
    pub member: Option<ImportMember>,
    /// Trading accounts owned by the user.
    #[serde(default)]
    pub trading_accounts: Vec<ImportTradingAccount>,
}

impl fmt::Debug for ImportUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportUser")
            .field("id", &self.id)
            .field("user_name", &self.user_name)
            .field("has_password", &self.password.is_some())
            .field("has_password_hash", &self.password_hash.is_some())
            .field("member", &self.member)
            .field("trading_accounts", &self.trading_accounts)
            .finish_non_exhaustive()
    }
}

/// A member record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportMember {
    /// `MemberId` such as `1234`.
    pub member_id: String,
    /// `id_Member`; the next free number when absent (kept on re-import).
    #[serde(default)]
    pub id: Option<i64>,
    /// Sub-account ids (`id_SubAccount`).
    #[serde(default)]
    pub sub_accounts: Vec<i64>,
}

/// A trading account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportTradingAccount {
    /// Broker GUID (the broker must be in the document or already stored).
    pub broker_id: Uuid,
    /// Account.
    pub account: String,
    /// Server.
    pub server: String,
}

/// What an import applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Brokers written.
    pub brokers: usize,
    /// Clients written.
    pub clients: usize,
    /// Users written.
    pub users: usize,
    /// Members written.
    pub members: usize,
    /// Sub-accounts written.
    pub sub_accounts: usize,
    /// Trading accounts written.
    pub trading_accounts: usize,
    /// Plain passwords that were (re)hashed (the others already matched).
    pub passwords_hashed: usize,
}

/// Input of [`Gatehouse::add_user`].
#[derive(Debug, Clone)]
pub struct NewUserSpec {
    /// User name.
    pub user_name: String,
    /// Flags.
    pub flags: UserFlags,
    /// OpenID claims (name, e-mail).
    pub profile: UserProfile,
}

/// Input of [`Gatehouse::add_client`].
#[derive(Debug, Clone)]
pub struct NewClientSpec {
    /// Client id.
    pub client_id: String,
    /// Whether to generate a secret (returned once).
    pub confidential: bool,
    /// Grants.
    pub grants: GrantSet,
    /// Scope.
    pub scope: String,
    /// Redirect URL.
    pub redirect_url: Option<String>,
    /// Broker of a `onetime` client.
    pub broker_id: Option<Uuid>,
    /// May introspect and revoke every client's tokens.
    pub introspect_any: bool,
    /// Redirect URIs for `/oauth2/authorize`.
    pub redirect_uris: Vec<String>,
    /// Whether `/oauth2/authorize` shows a consent page.
    pub consent_required: bool,
    /// Display name for the login and consent pages.
    pub client_name: Option<String>,
    /// The format of its access tokens.
    pub access_token_format: TokenFormat,
    /// Audience and algorithms of its signed tokens.
    pub signing: TokenSigning,
    /// Its public keys (a JWK Set, JSON) for `private_key_jwt`.
    pub jwks: Option<String>,
}

/// A client's JWK Set as given (import, CLI), checked and made compact.
///
/// # Errors
/// `InvalidRequest` naming the client and what is wrong.
pub fn check_jwks(client_id: &str, jwks: Option<&str>) -> Result<Option<String>> {
    jwks.map(|j| {
        crate::client_assertion::parse_jwks(j)
            .map_err(|e| Error::InvalidRequest(format!("client {client_id}: jwks: {e}")))
    })
    .transpose()
}

/// Parses an algorithm name of the import document or the command line (`None`: `default`).
///
/// # Errors
/// `InvalidRequest` naming the client, the field and the accepted names.
pub fn parse_alg(client_id: &str, field: &str, name: Option<&str>, default: Alg) -> Result<Alg> {
    let Some(name) = name else {
        return Ok(default);
    };
    Alg::parse(name).ok_or_else(|| {
        Error::InvalidRequest(format!(
            "client {client_id}: {field} must be RS256, ES256 or EdDSA"
        ))
    })
}

/// An audience: 1 to 255 characters, no whitespace or control characters.
fn check_signing(client_id: &str, signing: &TokenSigning) -> Result<()> {
    match signing.audience.as_deref() {
        Some(a) if a.is_empty() || a.chars().count() > 255 || a.chars().any(|c| c.is_whitespace() || c.is_control()) => {
            Err(Error::InvalidRequest(format!(
                "client {client_id}: audience must be 1 to 255 characters without spaces or control characters"
            )))
        }
        _ => Ok(()),
    }
}

/// A name of 1 to 200 characters without control characters; an e-mail address of at most
/// 254 characters, `local@domain`, without spaces or control characters.
fn check_profile(user_name: &str, profile: &UserProfile) -> Result<()> {
    if let Some(name) = &profile.name {
        if name.trim().is_empty()
            || name.chars().count() > 200
            || name.chars().any(char::is_control)
        {
            return Err(Error::InvalidRequest(format!(
                "user {user_name}: name must be 1 to 200 characters without control characters"
            )));
        }
    }
    if let Some(email) = &profile.email {
        let well_formed = email.len() <= 254
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && !domain.is_empty() && !domain.contains('@')
            });
        if !well_formed {
            return Err(Error::InvalidRequest(format!(
                "user {user_name}: email must be an address local@domain of at most 254 characters"
            )));
        }
    } else if profile.email_verified {
        return Err(Error::InvalidRequest(format!(
            "user {user_name}: email_verified needs an email"
        )));
    }
    Ok(())
}

/// Every redirect URI must be one [`crate::authorize::valid_redirect_uri`] accepts, once.
fn check_redirect_uris(client_id: &str, uris: &[String]) -> Result<()> {
    for (i, uri) in uris.iter().enumerate() {
        if !crate::authorize::valid_redirect_uri(uri) {
            return Err(Error::InvalidRequest(format!(
                "client {client_id}: redirect URI {uri:?} is not an absolute https URI, an http \
                 loopback URI or a private-use scheme URI without a fragment"
            )));
        }
        if uris[..i].contains(uri) {
            return Err(Error::InvalidRequest(format!(
                "client {client_id}: redirect URI {uri:?} is listed twice"
            )));
        }
    }
    Ok(())
}

/// A display name: 1 to 100 characters, no control characters.
fn check_client_name(client_id: &str, name: Option<&str>) -> Result<()> {
    match name {
        Some(n) if n.trim().is_empty() || n.chars().count() > 100 || n.chars().any(char::is_control) => {
            Err(Error::InvalidRequest(format!(
                "client {client_id}: client_name must be 1 to 100 characters without control characters"
            )))
        }
        _ => Ok(()),
    }
}

/// A client's token exchange allow-list and DPoP requirement (tables beside `clients`):
/// what `client add` and import set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientBindings {
    /// RFC 8693: the audiences it may exchange subject tokens for.
    pub token_exchange_audiences: Vec<String>,
    /// RFC 9449 `dpop_bound_access_tokens`.
    pub dpop_bound_access_tokens: bool,
}

impl ClientBindings {
    /// # Errors
    /// `InvalidRequest` for an allow-list [`crate::token_exchange::ClientTokenExchange::check`]
    /// refuses.
    pub fn check(&self, client_id: &str) -> Result<()> {
        self.exchange(client_id).check()
    }

    fn exchange(&self, client_id: &str) -> crate::token_exchange::ClientTokenExchange {
        crate::token_exchange::ClientTokenExchange {
            client_id: client_id.to_owned(),
            audiences: self.token_exchange_audiences.clone(),
        }
    }

    /// Stores both (the document is authoritative: empty settings replace earlier ones).
    fn store(&self, tx: &mut dyn crate::store::WriteTx, client_id: &str) -> Result<()> {
        tx.put_client_token_exchange(&self.exchange(client_id))?;
        tx.put_client_dpop(&crate::dpop::ClientDpop {
            client_id: client_id.to_owned(),
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
        })
    }
}

fn lifetime(secs: Option<u32>) -> Option<Duration> {
    secs.map(|s| Duration::seconds(i64::from(s)))
}

impl<S: Store> Gatehouse<S> {
    /// Applies an import document in one write transaction. Password hashing and
    /// verification happen before the transaction. Idempotent: plain secrets and passwords
    /// that already match the stored hashes keep them.
    ///
    /// # Errors
    /// `InvalidRequest` (bad field: unknown grant, both secret forms, new user without a
    /// password, malformed secret hash), `Conflict` (user id differs from the stored one for
    /// that name, or two users share a name), `Storage` (e.g. a trading account of an
    /// unknown broker). Nothing is applied on error.
    pub fn import(&self, doc: &ImportDocument) -> Result<ImportReport> {
        let mut report = ImportReport::default();
        let now = self.now();

        // Clients: validate and hash outside the transaction.
        let existing_clients = self.store().read(|tx| {
            doc.clients
                .iter()
                .map(|c| tx.client(&c.client_id))
                .collect::<Result<Vec<_>>>()
        })?;
        let mut clients = Vec::with_capacity(doc.clients.len());
        let mut logouts = Vec::with_capacity(doc.clients.len());
        for (item, existing) in doc.clients.iter().zip(existing_clients) {
            self.check_name(&item.client_id, "client_id")?;
            let logout = ClientLogout {
                client_id: item.client_id.clone(),
                post_logout_redirect_uris: item.post_logout_redirect_uris.clone(),
            };
            logout.check()?;
            let bindings = ClientBindings {
                token_exchange_audiences: item.token_exchange_audiences.clone(),
                dpop_bound_access_tokens: item.dpop_bound_access_tokens,
            };
            bindings.check(&item.client_id)?;
            logouts.push((
                logout,
                ClientPar {
                    client_id: item.client_id.clone(),
                    require_pushed_authorization_requests: item
                        .require_pushed_authorization_requests,
                },
                bindings,
            ));
            let mut grants = GrantSet::empty();
            for name in &item.grants {
                grants.insert(crate::model::GrantType::parse(name).ok_or_else(|| {
                    Error::InvalidRequest(format!(
                        "client {}: unknown grant {name:?}",
                        item.client_id
                    ))
                })?);
            }
            let secret_hash = match (&item.secret, &item.secret_hash) {
                (Some(_), Some(_)) => {
                    return Err(Error::InvalidRequest(format!(
                        "client {}: give secret or secret_hash, not both",
                        item.client_id
                    )))
                }
                (Some(secret), None) => {
                    let kept = existing
                        .as_ref()
                        .and_then(|c| c.secret_hash.clone())
                        .filter(|h| crate::secret::verify_client_secret(h, secret.expose()));
                    Some(kept.unwrap_or_else(|| hash_client_secret(secret, self.rng())))
                }
                (None, Some(stored)) => Some(ClientSecretHash::parse(stored).map_err(|e| {
                    Error::InvalidRequest(format!("client {}: {e}", item.client_id))
                })?),
                (None, None) => None,
            };
            let signing = TokenSigning {
                audience: item.audience.clone(),
                access_token_alg: parse_alg(
                    &item.client_id,
                    "access_token_signed_response_alg",
                    item.access_token_signed_response_alg.as_deref(),
                    Alg::Es256,
                )?,
                id_token_alg: parse_alg(
                    &item.client_id,
                    "id_token_signed_response_alg",
                    item.id_token_signed_response_alg.as_deref(),
                    Alg::Rs256,
                )?,
            };
            let jwks = item.jwks.as_ref().map(serde_json::Value::to_string);
            let jwks = check_jwks(&item.client_id, jwks.as_deref())?;
            clients.push(Client {
                jwks,
                client_id: item.client_id.clone(),
                secret_hash,
                grants,
                scope: item
                    .scope
                    .split_ascii_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
                access_token_lifetime: lifetime(item.access_token_lifetime_secs),
                refresh_token_lifetime: lifetime(item.refresh_token_lifetime_secs),
                redirect_url: item.redirect_url.clone(),
                broker_id: item.broker_id,
                introspect_any: item.introspect_any,
                redirect_uris: item.redirect_uris.clone(),
                consent_required: item.consent_required,
                client_name: item.client_name.clone(),
                access_token_format: match item.access_token_format.as_deref() {
                    None => TokenFormat::Opaque,
                    Some(f) => TokenFormat::parse(f).ok_or_else(|| {
                        Error::InvalidRequest(format!(
                            "client {}: access_token_format must be opaque or jwt",
                            item.client_id
                        ))
                    })?,
                },
                signing,
            });
        }
        // Refused before anything is stored: a bad field, or a client whose tokens no key
        // could sign.
        self.validate_clients(&clients)?;

        // Users: decide each password hash outside the transaction.
        let mut seen = std::collections::BTreeSet::new();
        for item in &doc.users {
            self.check_name(&item.user_name, "user_name")?;
            if !seen.insert(user_name_key(&item.user_name)) {
                return Err(Error::Conflict(format!(
                    "user {} appears twice",
                    item.user_name
                )));
            }
        }
        let existing_users = self.store().read(|tx| {
            doc.users
                .iter()
                .map(|u| tx.user_by_name(&u.user_name))
                .collect::<Result<Vec<_>>>()
        })?;
        let mut users = Vec::with_capacity(doc.users.len());
        for (item, existing) in doc.users.iter().zip(existing_users) {
            if let (Some(id), Some(existing)) = (item.id, &existing) {
                if id != existing.id {
                    return Err(Error::Conflict(format!(
                        "user {} exists with another id",
                        item.user_name
                    )));
                }
            }
            let password_hash = match (&item.password, &item.password_hash, &existing) {
                (Some(_), Some(_), _) => {
                    return Err(Error::InvalidRequest(format!(
                        "user {}: give password or password_hash, not both",
                        item.user_name
                    )))
                }
                (Some(password), None, existing) => {
                    let keep = existing.as_ref().filter(|u| {
                        self.hasher()
                            .verify(&u.password_hash, password.expose())
                            .is_ok_and(|v| v == crate::credentials::Verification::Valid)
                    });
                    match keep {
                        Some(u) => u.password_hash.clone(),
                        None => {
                            report.passwords_hashed += 1;
                            self.hasher().hash(password.expose(), self.rng())
                        }
                    }
                }
                (None, Some(hash), _) => {
                    crate::credentials::check_stored_hash(hash.trim()).map_err(|e| {
                        Error::InvalidRequest(format!(
                            "user {}: password_hash is not a hash this server can verify ({e})",
                            item.user_name
                        ))
                    })?;
                    hash.trim().to_owned()
                }
                (None, None, Some(existing)) => existing.password_hash.clone(),
                (None, None, None) => {
                    return Err(Error::InvalidRequest(format!(
                        "user {}: a new user needs password or password_hash",
                        item.user_name
                    )))
                }
            };
            for account in &item.trading_accounts {
                self.check_name(&account.account, "trading account")?;
                self.check_name(&account.server, "server")?;
            }
            if let Some(member) = &item.member {
                self.check_name(&member.member_id, "member_id")?;
            }
            let profile = UserProfile {
                name: item.name.clone(),
                email: item.email.clone(),
                email_verified: item.email_verified,
            };
            check_profile(&item.user_name, &profile)?;
            users.push((
                User {
                    id: existing
                        .as_ref()
                        .map(|u| u.id)
                        .or(item.id)
                        .unwrap_or_else(|| self.rng().uuid_v4()),
                    user_name: item.user_name.trim().to_owned(),
                    password_hash,
                    flags: UserFlags {
                        operator: item.operator,
                        editor: item.editor,
                        query_all: item.query_all,
                        df_visible: item.df_visible,
                        disabled: item.disabled,
                    },
                    created_at: existing.as_ref().map_or(now, |u| u.created_at),
                    profile,
                },
                item.member.clone(),
                item.trading_accounts.clone(),
            ));
        }

        let brokers: Vec<Broker> = doc
            .brokers
            .iter()
            .map(|b| Broker {
                id: b.id,
                name: b.name.clone(),
            })
            .collect();

        self.store().write(move |tx| {
            for broker in &brokers {
                tx.upsert_broker(broker)?;
                report.brokers += 1;
            }
            for client in &clients {
                tx.upsert_client(client)?;
                report.clients += 1;
            }
            // The document is authoritative: a client listed without logout settings has none.
            for (logout, par, bindings) in &logouts {
                tx.put_client_logout(logout)?;
                tx.put_client_par(par)?;
                bindings.store(tx, &logout.client_id)?;
            }
            for client in &clients {
                check_subjects(tx, client)?;
            }
            for (user, member, accounts) in &users {
                // Re-check inside the transaction: another writer may have taken the name.
                let stored = tx.user_by_name(&user.user_name)?;
                if let Some(other) = &stored {
                    if other.id != user.id {
                        return Err(Error::Conflict(format!(
                            "user {} exists with another id",
                            user.user_name
                        )));
                    }
                    // A new password or a disable ends every session of the user; a later
                    // re-enable does not bring them back.
                    let disabled_now = user.flags.disabled && !other.flags.disabled;
                    if disabled_now || other.password_hash != user.password_hash {
                        tx.end_user_sessions(user.id, now)?;
                    }
                }
                if tx.client(&user.id.hyphenated().to_string())?.is_some() {
                    return Err(Error::Conflict(format!(
                        "user {}: its id is a client's id, so JWT subjects would collide (RFC 9068 section 5)",
                        user.user_name
                    )));
                }
                tx.upsert_user(user)?;
                report.users += 1;
                if let Some(member) = member {
                    let stored = tx.upsert_member(&NewMember {
                        id: member.id,
                        member_id: member.member_id.trim().to_owned(),
                        user_id: user.id,
                    })?;
                    report.members += 1;
                    for id in &member.sub_accounts {
                        tx.upsert_sub_account(&SubAccount {
                            id: *id,
                            member: stored.id,
                        })?;
                        report.sub_accounts += 1;
                    }
                }
                for account in accounts {
                    tx.upsert_trading_account(&TradingAccount {
                        broker_id: account.broker_id,
                        account: account.account.clone(),
                        server: account.server.clone(),
                        user_id: user.id,
                    })?;
                    report.trading_accounts += 1;
                }
            }
            Ok(report)
        })
    }

    /// Creates a user with a password (hashed here: run on the hash pool).
    ///
    /// # Errors
    /// `InvalidRequest`, `Conflict` (name taken), `Storage`.
    pub fn add_user(&self, spec: NewUserSpec, password: &Secret) -> Result<User> {
        self.check_name(&spec.user_name, "user name")?;
        check_profile(&spec.user_name, &spec.profile)?;
        if password.is_empty() {
            return Err(Error::InvalidRequest("the password is empty".to_owned()));
        }
        let user = User {
            id: self.rng().uuid_v4(),
            user_name: spec.user_name.trim().to_owned(),
            password_hash: self.hasher().hash(password.expose(), self.rng()),
            flags: spec.flags,
            created_at: self.now(),
            profile: spec.profile,
        };
        let stored = user.clone();
        self.store().write(move |tx| {
            if tx.user_by_name(&stored.user_name)?.is_some() {
                return Err(Error::Conflict(format!(
                    "user {} already exists",
                    stored.user_name
                )));
            }
            tx.upsert_user(&stored)
        })?;
        Ok(user)
    }

    /// Sets a user's password (hashed here).
    ///
    /// # Errors
    /// `InvalidRequest`, `NotFound`, `Storage`.
    pub fn set_password(&self, user_name: &str, password: &Secret) -> Result<()> {
        if password.is_empty() {
            return Err(Error::InvalidRequest("the password is empty".to_owned()));
        }
        let hash = self.hasher().hash(password.expose(), self.rng());
        let name = user_name.to_owned();
        let now = self.now();
        self.store().write(move |tx| {
            let mut user = tx
                .user_by_name(&name)?
                .ok_or_else(|| Error::NotFound(format!("user {name}")))?;
            user.password_hash = hash;
            tx.upsert_user(&user)?;
            // Every session of the old password ends (RFC 9700 section 4.14).
            tx.end_user_sessions(user.id, now)?;
            // A new password lifts the account's lockout.
            tx.clear_login_failure(&format!("user:{}", user_name_key(&name)))
        })
    }

    /// Disables or re-enables a user. Disabling ends every session of the user at once;
    /// re-enabling does not revive them.
    ///
    /// # Errors
    /// `NotFound`, `Storage`.
    pub fn set_user_disabled(&self, user_name: &str, disabled: bool) -> Result<()> {
        let name = user_name.to_owned();
        let now = self.now();
        self.store().write(move |tx| {
            let mut user = tx
                .user_by_name(&name)?
                .ok_or_else(|| Error::NotFound(format!("user {name}")))?;
            if disabled && !user.flags.disabled {
                tx.end_user_sessions(user.id, now)?;
            }
            user.flags.disabled = disabled;
            tx.upsert_user(&user)?;
            if disabled {
                // Their browser sessions end for good (re-enabling does not revive them).
                tx.end_browser_sessions_of(user.id, now)?;
            }
            Ok(())
        })
    }

    /// Creates a client; a confidential one gets a generated secret, returned once.
    ///
    /// # Errors
    /// `InvalidRequest`, `Conflict` (id taken), `Storage`.
    pub fn add_client(&self, spec: NewClientSpec) -> Result<Option<Secret>> {
        self.add_client_then(spec, |_| Ok(()))
    }

    /// [`Gatehouse::add_client`], running `also` in the same write transaction after the
    /// client is stored (its per-feature settings).
    fn add_client_then(
        &self,
        spec: NewClientSpec,
        also: impl FnOnce(&mut dyn crate::store::WriteTx) -> Result<()> + Send + 'static,
    ) -> Result<Option<Secret>> {
        let secret = spec
            .confidential
            .then(|| generate_client_secret(self.rng()));
        let hash = secret.as_ref().map(|s| hash_client_secret(s, self.rng()));
        let client = self.client_from_spec(spec, hash, None, None)?;
        self.store().write(move |tx| {
            if tx.client(&client.client_id)?.is_some() {
                return Err(Error::Conflict(format!(
                    "client {} already exists",
                    client.client_id
                )));
            }
            check_subjects(tx, &client)?;
            tx.upsert_client(&client)?;
            also(tx)
        })?;
        Ok(secret)
    }

    /// [`Gatehouse::add_client`] with the client's RP-initiated logout and PAR settings, stored
    /// in the same transaction (`gatehouse client add --post-logout-redirect-uri
    /// --require-pushed-authorization-requests`).
    ///
    /// # Errors
    /// As [`Gatehouse::add_client`]; `InvalidRequest` for a URI [`ClientLogout::check`]
    /// refuses.
    pub fn add_client_with_features(
        &self,
        spec: NewClientSpec,
        post_logout_redirect_uris: Vec<String>,
        require_pushed_authorization_requests: bool,
        bindings: ClientBindings,
    ) -> Result<Option<Secret>> {
        let logout = ClientLogout {
            client_id: spec.client_id.trim().to_owned(),
            post_logout_redirect_uris,
        };
        logout.check()?;
        bindings.check(&logout.client_id)?;
        let par = ClientPar {
            client_id: logout.client_id.clone(),
            require_pushed_authorization_requests,
        };
        self.add_client_then(spec, move |tx| {
            tx.put_client_logout(&logout)?;
            tx.put_client_par(&par)?;
            bindings.store(tx, &logout.client_id)
        })
    }

    /// The client `spec` describes, with the given secret hash and lifetimes, validated by
    /// [`Gatehouse::validate_clients`]: what `client add` and `client update` store.
    ///
    /// # Errors
    /// `InvalidRequest`, `SigningUnavailable`, `Storage`.
    pub(crate) fn client_from_spec(
        &self,
        spec: NewClientSpec,
        secret_hash: Option<ClientSecretHash>,
        access_token_lifetime: Option<Duration>,
        refresh_token_lifetime: Option<Duration>,
    ) -> Result<Client> {
        let jwks = check_jwks(&spec.client_id, spec.jwks.as_deref())?;
        let client = Client {
            client_id: spec.client_id.trim().to_owned(),
            secret_hash,
            grants: spec.grants,
            scope: spec
                .scope
                .split_ascii_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            access_token_lifetime,
            refresh_token_lifetime,
            redirect_url: spec.redirect_url,
            broker_id: spec.broker_id,
            introspect_any: spec.introspect_any,
            redirect_uris: spec.redirect_uris,
            consent_required: spec.consent_required,
            client_name: spec.client_name,
            access_token_format: spec.access_token_format,
            signing: spec.signing,
            jwks,
        };
        self.validate_clients(std::slice::from_ref(&client))?;
        Ok(client)
    }

    /// The one validation of a client's settings, whoever writes them (import, `client add`,
    /// `client update`): id, redirect URIs, display name, audience, and a key for its signed
    /// tokens.
    ///
    /// # Errors
    /// `InvalidRequest` naming the client and the field, `SigningUnavailable`, `Storage`.
    pub(crate) fn validate_clients(&self, clients: &[Client]) -> Result<()> {
        for client in clients {
            self.check_name(&client.client_id, "client id")?;
            check_redirect_uris(&client.client_id, &client.redirect_uris)?;
            check_client_name(&client.client_id, client.client_name.as_deref())?;
            check_signing(&client.client_id, &client.signing)?;
        }
        self.check_clients_keys(clients)
    }

    /// Gives a client a new generated secret (returned once); the old one stops working.
    ///
    /// # Errors
    /// `NotFound`, `Storage`.
    pub fn rotate_client_secret(&self, client_id: &str) -> Result<Secret> {
        let secret = generate_client_secret(self.rng());
        let hash = hash_client_secret(&secret, self.rng());
        let id = client_id.to_owned();
        self.store().write(move |tx| {
            let mut client = tx
                .client(&id)?
                .ok_or_else(|| Error::NotFound(format!("client {id}")))?;
            client.secret_hash = Some(hash);
            tx.upsert_client(&client)
        })?;
        Ok(secret)
    }

    /// Registers (or with `None` removes) a client's public keys for `private_key_jwt`; its
    /// secret, if any, keeps working (a migration holds both). Removing the keys of a client
    /// without a secret is refused: it would become public.
    ///
    /// # Errors
    /// `InvalidRequest`, `NotFound`, `Storage`.
    pub fn set_client_jwks(&self, client_id: &str, jwks: Option<&str>) -> Result<()> {
        let jwks = check_jwks(client_id, jwks)?;
        let id = client_id.to_owned();
        self.store().write(move |tx| {
            let mut client = tx
                .client(&id)?
                .ok_or_else(|| Error::NotFound(format!("client {id}")))?;
            if jwks.is_none() && client.secret_hash.is_none() {
                return Err(Error::InvalidRequest(format!(
                    "client {id} has no secret: removing its keys would make it public"
                )));
            }
            client.jwks = jwks;
            tx.upsert_client(&client)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_document_parses_and_matches_the_spec() {
        let doc = demo_document();
        let Ok(doc) = doc else {
            panic!("demo document: {doc:?}");
        };
        assert_eq!(doc.brokers.len(), 1);
        assert_eq!(
            doc.brokers[0].id.to_string(),
            "3be9edf1-5491-4d5c-a5c6-423218dfb6cc"
        );
        let ids: Vec<_> = doc.clients.iter().map(|c| c.client_id.as_str()).collect();
        assert_eq!(ids, ["demo-client", "demo-public", "demo-api", "demo-dpop"]);
        assert!(doc.clients[0]
            .secret
            .as_ref()
            .is_some_and(|s| s.ct_eq("demo-secret")));
        assert_eq!(doc.clients[0].grants.len(), 6);
        assert_eq!(doc.clients[0].token_exchange_audiences, ["demo-api"]);
        assert!(doc.clients[3].dpop_bound_access_tokens);
        assert!(doc.clients[1].secret.is_none());
        let alice = &doc.users[0];
        assert_eq!(alice.user_name, "alice");
        assert!(alice.operator && alice.editor && alice.query_all && alice.df_visible);
        assert_eq!(
            alice.member.as_ref().map(|m| m.sub_accounts.clone()),
            Some(vec![8, 9])
        );
        let bob = &doc.users[1];
        assert!(!bob.operator && !bob.editor && !bob.query_all && !bob.df_visible);
        assert_eq!(
            bob.member.as_ref().map(|m| m.member_id.as_str()),
            Some("5678")
        );
    }

    #[test]
    fn unknown_fields_are_rejected_and_secrets_not_shown() {
        let bad = ImportDocument::from_json(r#"{"users":[{"user_name":"x","pasword":"p"}]}"#);
        assert!(matches!(bad, Err(Error::InvalidRequest(_))));
        let doc = ImportDocument::from_json(
            r#"{"clients":[{"client_id":"c","secret":"very-secret-value"}],
                "users":[{"user_name":"u","password":"very-secret-password"}]}"#,
        );
        let shown = format!("{doc:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
    }
}
