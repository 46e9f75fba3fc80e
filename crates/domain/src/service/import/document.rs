//! Parsing: the import document's types (format in `docs/import.md`, whose fields mirror the
//! doc comments here), the demo data, and errors that never show a value.

use std::fmt;

use serde::{Deserialize, Deserializer};
use uuid::Uuid;

use crate::error::Error;
use crate::model::{UserFlags, UserProfile};
use crate::secret::Secret;
use crate::service::provision::{ClientSecretSpec, ClientSpec, UserSpec};
use crate::service::Result;

/// The demo data (`crates/domain/demo.json`, listed in the README) as an import document
/// (plain passwords, hashed at import with the configured cost).
pub const DEMO_DOCUMENT: &str = include_str!("../../../demo.json");

/// Parses [`DEMO_DOCUMENT`].
///
/// # Errors
/// `InvalidRequest` if the shipped document does not parse (a test guards against that).
pub fn demo_document() -> Result<ImportDocument> {
    ImportDocument::from_json(DEMO_DOCUMENT)
}

/// The demo's admin client (`demo-admin`, secret `demo-admin-secret`, scope
/// `gatehouse:admin`): loaded by `serve --demo` only when the admin listener is on.
///
/// # Errors
/// `InvalidRequest` if the shipped document does not parse (the admin tests load it).
pub fn demo_admin_document() -> Result<ImportDocument> {
    ImportDocument::from_json(include_str!("../../../demo-admin.json"))
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
    /// Where logout tokens are POSTed when a browser session through which this client got
    /// tokens ends (OpenID Connect Back-Channel Logout 1.0); https, or http on loopback.
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    /// `backchannel_logout_session_required` (logout tokens always carry `sid`).
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
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
            .field("backchannel_logout_uri", &self.backchannel_logout_uri)
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

impl ImportClient {
    /// The client's settings as every provisioning path gives them.
    ///
    /// # Errors
    /// `InvalidRequest` when both `secret` and `secret_hash` are given.
    pub fn spec(&self) -> Result<ClientSpec> {
        Ok(ClientSpec {
            secret: ClientSecretSpec::of_fields(
                &self.client_id,
                self.secret.clone(),
                self.secret_hash.clone(),
            )?,
            client_id: self.client_id.clone(),
            grants: self.grants.clone(),
            scope: self.scope.clone(),
            redirect_url: self.redirect_url.clone(),
            broker_id: self.broker_id,
            access_token_lifetime_secs: self.access_token_lifetime_secs,
            refresh_token_lifetime_secs: self.refresh_token_lifetime_secs,
            introspect_any: self.introspect_any,
            redirect_uris: self.redirect_uris.clone(),
            consent_required: self.consent_required,
            client_name: self.client_name.clone(),
            access_token_format: self.access_token_format.clone(),
            audience: self.audience.clone(),
            access_token_alg: self.access_token_signed_response_alg.clone(),
            id_token_alg: self.id_token_signed_response_alg.clone(),
            jwks: self.jwks.as_ref().map(serde_json::Value::to_string),
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone(),
            require_pushed_authorization_requests: self.require_pushed_authorization_requests,
            backchannel_logout_uri: self.backchannel_logout_uri.clone(),
            backchannel_logout_session_required: self.backchannel_logout_session_required,
            token_exchange_audiences: self.token_exchange_audiences.clone(),
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
        })
    }
}

impl ImportUser {
    /// The user's settings as every provisioning path gives them (the password, member
    /// record and trading accounts are the import's own).
    pub fn spec(&self) -> UserSpec {
        UserSpec {
            user_name: self.user_name.clone(),
            flags: UserFlags {
                operator: self.operator,
                editor: self.editor,
                query_all: self.query_all,
                df_visible: self.df_visible,
                disabled: self.disabled,
            },
            profile: UserProfile {
                name: self.name.clone(),
                email: self.email.clone(),
                email_verified: self.email_verified,
            },
        }
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
        assert_eq!(ids, ["demo-client", "demo-public", "demo-api"]);
        assert!(doc.clients[0]
            .secret
            .as_ref()
            .is_some_and(|s| s.ct_eq("demo-secret")));
        assert_eq!(doc.clients[0].grants.len(), 6);
        assert_eq!(doc.clients[0].token_exchange_audiences, ["demo-api"]);
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
