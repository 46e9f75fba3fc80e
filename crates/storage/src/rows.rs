//! Per-table row structs and their conversions to and from the domain entities.
//!
//! Times are unix microseconds, GUIDs hyphenated lower-case text, digests 32-byte blobs.

use std::collections::BTreeMap;

use diesel::prelude::*;
use gatehouse_domain::backchannel::{BackchannelTarget, ClientBackchannel};
use gatehouse_domain::browser_session::BrowserSession;
use gatehouse_domain::device::{DeviceCode, DeviceStatus};
use gatehouse_domain::dpop::ClientDpop;
use gatehouse_domain::keys::{Alg, SigningKey};
use gatehouse_domain::logout::ClientLogout;
use gatehouse_domain::model::{
    user_name_key, AccessToken, AuthorizationCode, Broker, Client, GrantSet, GrantType,
    LoginFailure, Member, OneTimeCode, RefreshToken, Session, SubAccount, TokenFormat,
    TokenSigning, TradingAccount, User, UserFlags, UserProfile,
};
use gatehouse_domain::par::{ClientPar, PushedRequest};
use gatehouse_domain::secret::{ClientSecretHash, TokenDigest};
use gatehouse_domain::token_exchange::{ClientTokenExchange, SessionExchange};
use gatehouse_domain::Error as DomainError;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::schema::*;
use crate::StorageError;

type Result<T> = std::result::Result<T, DomainError>;

fn corrupt(table: &'static str, detail: impl Into<String>) -> DomainError {
    DomainError::storage(StorageError::Corrupt {
        table,
        detail: detail.into(),
    })
}

pub(crate) fn micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

pub(crate) fn time(table: &'static str, micros: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .map_err(|e| corrupt(table, format!("timestamp {micros}: {e}")))
}

fn opt_time(table: &'static str, micros: Option<i64>) -> Result<Option<OffsetDateTime>> {
    micros.map(|m| time(table, m)).transpose()
}

pub(crate) fn guid(id: Uuid) -> String {
    id.hyphenated().to_string()
}

/// A back-channel target from `(client_id, uri, browser_session_id, user_id)`.
pub(crate) fn backchannel_target(
    (client_id, uri, sid, user): (String, String, String, String),
) -> Result<BackchannelTarget> {
    Ok(BackchannelTarget {
        browser_session_id: parse_guid("authorization_codes", &sid)?,
        user_id: parse_guid("authorization_codes", &user)?,
        client_id,
        uri,
    })
}

fn parse_guid(table: &'static str, text: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|e| corrupt(table, format!("GUID {text:?}: {e}")))
}

fn opt_guid(table: &'static str, text: Option<&str>) -> Result<Option<Uuid>> {
    text.map(|t| parse_guid(table, t)).transpose()
}

pub(crate) fn digest_bytes(d: &TokenDigest) -> Vec<u8> {
    d.as_bytes().to_vec()
}

fn parse_digest(table: &'static str, bytes: &[u8]) -> Result<TokenDigest> {
    TokenDigest::from_slice(bytes).map_err(|e| corrupt(table, e.to_string()))
}

fn parse_alg(column: &'static str, name: &str) -> Result<Alg> {
    Alg::parse(name).ok_or_else(|| corrupt("clients", format!("{column} {name:?}")))
}

fn secs(d: Option<Duration>) -> Option<i64> {
    d.map(|d| d.whole_seconds())
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = users, treat_none_as_null = true)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct UserRow {
    pub id: String,
    pub user_name: String,
    pub user_name_key: String,
    pub password_hash: String,
    pub operator: bool,
    pub editor: bool,
    pub query_all: bool,
    pub df_visible: bool,
    pub disabled: bool,
    pub created_at: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
}

impl UserRow {
    pub fn from_domain(u: &User) -> Self {
        Self {
            id: guid(u.id),
            user_name: u.user_name.clone(),
            user_name_key: user_name_key(&u.user_name),
            password_hash: u.password_hash.clone(),
            operator: u.flags.operator,
            editor: u.flags.editor,
            query_all: u.flags.query_all,
            df_visible: u.flags.df_visible,
            disabled: u.flags.disabled,
            created_at: micros(u.created_at),
            name: u.profile.name.clone(),
            email: u.profile.email.clone(),
            email_verified: u.profile.email_verified,
        }
    }

    pub fn into_domain(self) -> Result<User> {
        Ok(User {
            id: parse_guid("users", &self.id)?,
            user_name: self.user_name,
            password_hash: self.password_hash,
            flags: UserFlags {
                operator: self.operator,
                editor: self.editor,
                query_all: self.query_all,
                df_visible: self.df_visible,
                disabled: self.disabled,
            },
            created_at: time("users", self.created_at)?,
            profile: UserProfile {
                name: self.name,
                email: self.email,
                email_verified: self.email_verified,
            },
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = members, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct MemberRow {
    pub id: i64,
    pub member_id: String,
    pub user_id: String,
}

impl MemberRow {
    pub fn into_domain(self) -> Result<Member> {
        Ok(Member {
            id: self.id,
            member_id: self.member_id,
            user_id: parse_guid("members", &self.user_id)?,
        })
    }
}

#[derive(Debug, Clone, Copy, Queryable, Selectable, Insertable)]
#[diesel(table_name = sub_accounts, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct SubAccountRow {
    pub id: i64,
    pub member: i64,
}

impl From<SubAccountRow> for SubAccount {
    fn from(r: SubAccountRow) -> Self {
        SubAccount {
            id: r.id,
            member: r.member,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = brokers, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct BrokerRow {
    pub id: String,
    pub name: String,
}

impl BrokerRow {
    pub fn into_domain(self) -> Result<Broker> {
        Ok(Broker {
            id: parse_guid("brokers", &self.id)?,
            name: self.name,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = trading_accounts, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct TradingAccountRow {
    pub broker_id: String,
    pub account: String,
    pub server: String,
    pub user_id: String,
}

impl TradingAccountRow {
    pub fn from_domain(a: &TradingAccount) -> Self {
        Self {
            broker_id: guid(a.broker_id),
            account: a.account.clone(),
            server: a.server.clone(),
            user_id: guid(a.user_id),
        }
    }

    pub fn into_domain(self) -> Result<TradingAccount> {
        Ok(TradingAccount {
            broker_id: parse_guid("trading_accounts", &self.broker_id)?,
            account: self.account,
            server: self.server,
            user_id: parse_guid("trading_accounts", &self.user_id)?,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = clients, primary_key(client_id), treat_none_as_null = true)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct ClientRow {
    pub client_id: String,
    pub secret_hash: Option<String>,
    pub grants: String,
    pub scope: String,
    pub access_token_lifetime_secs: Option<i64>,
    pub refresh_token_lifetime_secs: Option<i64>,
    pub redirect_url: Option<String>,
    pub broker_id: Option<String>,
    pub introspect_any: bool,
    pub redirect_uris: String,
    pub consent_required: bool,
    pub client_name: Option<String>,
    pub access_token_format: String,
    pub audience: Option<String>,
    pub access_token_alg: String,
    pub id_token_alg: String,
}

impl ClientRow {
    pub fn from_domain(c: &Client) -> Self {
        Self {
            client_id: c.client_id.clone(),
            secret_hash: c.secret_hash.as_ref().map(|h| h.as_str().to_owned()),
            grants: c.grants.to_names(),
            scope: c.scope.clone(),
            access_token_lifetime_secs: secs(c.access_token_lifetime),
            refresh_token_lifetime_secs: secs(c.refresh_token_lifetime),
            redirect_url: c.redirect_url.clone(),
            broker_id: c.broker_id.map(guid),
            introspect_any: c.introspect_any,
            redirect_uris: serde_json::to_string(&c.redirect_uris)
                .unwrap_or_else(|_| "[]".to_owned()),
            consent_required: c.consent_required,
            client_name: c.client_name.clone(),
            access_token_format: c.access_token_format.as_str().to_owned(),
            audience: c.signing.audience.clone(),
            access_token_alg: c.signing.access_token_alg.as_str().to_owned(),
            id_token_alg: c.signing.id_token_alg.as_str().to_owned(),
        }
    }

    /// The client, with its JWK Set from `client_keys` (a left join; `None`: no keys).
    pub fn into_domain(self, jwks: Option<String>) -> Result<Client> {
        Ok(Client {
            jwks,
            secret_hash: self
                .secret_hash
                .as_deref()
                .map(ClientSecretHash::parse)
                .transpose()
                .map_err(|e| corrupt("clients", e.to_string()))?,
            grants: GrantSet::parse_names(&self.grants)
                .map_err(|g| corrupt("clients", format!("unknown grant {g:?}")))?,
            scope: self.scope,
            access_token_lifetime: self.access_token_lifetime_secs.map(Duration::seconds),
            refresh_token_lifetime: self.refresh_token_lifetime_secs.map(Duration::seconds),
            redirect_url: self.redirect_url,
            broker_id: opt_guid("clients", self.broker_id.as_deref())?,
            introspect_any: self.introspect_any,
            redirect_uris: serde_json::from_str(&self.redirect_uris)
                .map_err(|e| corrupt("clients", format!("redirect_uris: {e}")))?,
            consent_required: self.consent_required,
            client_name: self.client_name,
            access_token_format: TokenFormat::parse(&self.access_token_format).ok_or_else(
                || {
                    corrupt(
                        "clients",
                        format!("access_token_format {:?}", self.access_token_format),
                    )
                },
            )?,
            signing: TokenSigning {
                audience: self.audience,
                access_token_alg: parse_alg("access_token_alg", &self.access_token_alg)?,
                id_token_alg: parse_alg("id_token_alg", &self.id_token_alg)?,
            },
            client_id: self.client_id,
        })
    }
}

/// The logout settings of a client (`client_logout`, beside `clients`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = client_logout, primary_key(client_id), treat_none_as_null = true)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct ClientLogoutRow {
    pub client_id: String,
    pub post_logout_redirect_uris: String,
}

impl ClientLogoutRow {
    pub fn from_domain(c: &ClientLogout) -> Self {
        Self {
            client_id: c.client_id.clone(),
            post_logout_redirect_uris: serde_json::to_string(&c.post_logout_redirect_uris)
                .unwrap_or_else(|_| "[]".to_owned()),
        }
    }

    pub fn into_domain(self) -> Result<ClientLogout> {
        Ok(ClientLogout {
            post_logout_redirect_uris: serde_json::from_str(&self.post_logout_redirect_uris)
                .map_err(|e| corrupt("client_logout", format!("post_logout_redirect_uris: {e}")))?,
            client_id: self.client_id,
        })
    }
}

/// The back-channel logout settings of a client (`client_backchannel`, beside `clients`;
/// a row only with a URI).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = client_backchannel, primary_key(client_id))]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct ClientBackchannelRow {
    pub client_id: String,
    pub backchannel_logout_uri: String,
    pub backchannel_logout_session_required: bool,
}

impl ClientBackchannelRow {
    /// `None` for settings without a URI (no row).
    pub fn from_domain(c: &ClientBackchannel) -> Option<Self> {
        Some(Self {
            client_id: c.client_id.clone(),
            backchannel_logout_uri: c.backchannel_logout_uri.clone()?,
            backchannel_logout_session_required: c.backchannel_logout_session_required,
        })
    }

    pub fn into_domain(self) -> ClientBackchannel {
        ClientBackchannel {
            client_id: self.client_id,
            backchannel_logout_uri: Some(self.backchannel_logout_uri),
            backchannel_logout_session_required: self.backchannel_logout_session_required,
        }
    }
}

/// The PAR settings of a client (`client_par`, beside `clients`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = client_par, primary_key(client_id))]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct ClientParRow {
    pub client_id: String,
    pub require_pushed_authorization_requests: bool,
}

impl ClientParRow {
    pub fn from_domain(c: &ClientPar) -> Self {
        Self {
            client_id: c.client_id.clone(),
            require_pushed_authorization_requests: c.require_pushed_authorization_requests,
        }
    }

    pub fn into_domain(self) -> ClientPar {
        ClientPar {
            client_id: self.client_id,
            require_pushed_authorization_requests: self.require_pushed_authorization_requests,
        }
    }
}

/// A pushed authorization request (RFC 9126); its parameters as JSON.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = pushed_requests)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct PushedRequestRow {
    pub digest: Vec<u8>,
    pub client_id: String,
    pub parameters: String,
    pub expires_at: i64,
}

impl PushedRequestRow {
    pub fn from_domain(r: &PushedRequest) -> Self {
        Self {
            digest: digest_bytes(&r.digest),
            client_id: r.client_id.clone(),
            parameters: serde_json::to_string(&r.params).unwrap_or_else(|_| "{}".to_owned()),
            expires_at: micros(r.expires_at),
        }
    }

    pub fn into_domain(self) -> Result<PushedRequest> {
        Ok(PushedRequest {
            digest: parse_digest("pushed_requests", &self.digest)?,
            params: serde_json::from_str(&self.parameters)
                .map_err(|e| corrupt("pushed_requests", format!("parameters: {e}")))?,
            expires_at: time("pushed_requests", self.expires_at)?,
            client_id: self.client_id,
        })
    }
}

/// A device code (RFC 8628); digests only.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = device_codes, primary_key(digest), treat_none_as_null = true)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct DeviceCodeRow {
    pub digest: Vec<u8>,
    pub user_code_digest: Vec<u8>,
    pub client_id: String,
    pub scope: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub interval_secs: i64,
    pub last_polled_at: Option<i64>,
    pub status: String,
    pub user_id: Option<String>,
    pub browser_session_id: Option<String>,
    pub auth_time: Option<i64>,
    pub session_id: Option<String>,
}

impl DeviceCodeRow {
    pub fn from_domain(c: &DeviceCode) -> Self {
        Self {
            digest: digest_bytes(&c.digest),
            user_code_digest: digest_bytes(&c.user_code_digest),
            client_id: c.client_id.clone(),
            scope: c.scope.clone(),
            issued_at: micros(c.issued_at),
            expires_at: micros(c.expires_at),
            interval_secs: c.interval_secs,
            last_polled_at: c.last_polled_at.map(micros),
            status: c.status.as_str().to_owned(),
            user_id: c.user_id.map(guid),
            browser_session_id: c.browser_session_id.map(guid),
            auth_time: c.auth_time.map(micros),
            session_id: c.session_id.map(guid),
        }
    }

    pub fn into_domain(self) -> Result<DeviceCode> {
        const T: &str = "device_codes";
        Ok(DeviceCode {
            digest: parse_digest(T, &self.digest)?,
            user_code_digest: parse_digest(T, &self.user_code_digest)?,
            issued_at: time(T, self.issued_at)?,
            expires_at: time(T, self.expires_at)?,
            interval_secs: self.interval_secs,
            last_polled_at: opt_time(T, self.last_polled_at)?,
            status: DeviceStatus::parse(&self.status)
                .ok_or_else(|| corrupt(T, format!("status {:?}", self.status)))?,
            user_id: opt_guid(T, self.user_id.as_deref())?,
            browser_session_id: opt_guid(T, self.browser_session_id.as_deref())?,
            auth_time: opt_time(T, self.auth_time)?,
            session_id: opt_guid(T, self.session_id.as_deref())?,
            client_id: self.client_id,
            scope: self.scope,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct SessionRow {
    pub id: String,
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub client_key: Option<String>,
    pub caller_ip: Option<String>,
    pub created_at: i64,
    pub last_used_at: i64,
    pub ended_at: Option<i64>,
    pub parent_id: Option<String>,
    pub source_token: Option<Vec<u8>>,
    pub expires_at: Option<i64>,
    pub grant_type: Option<String>,
}

impl SessionRow {
    pub fn from_domain(s: &Session) -> Self {
        Self {
            id: guid(s.id),
            client_id: s.client_id.clone(),
            user_id: s.user_id.map(guid),
            client_key: s.client_key.clone(),
            caller_ip: s.caller_ip.clone(),
            created_at: micros(s.created_at),
            last_used_at: micros(s.last_used_at),
            ended_at: s.ended_at.map(micros),
            parent_id: s.parent_id.map(guid),
            source_token: s.source_token.as_ref().map(digest_bytes),
            expires_at: s.expires_at.map(micros),
            grant_type: s.grant.map(|g| g.as_str().to_owned()),
        }
    }

    pub fn into_domain(self) -> Result<Session> {
        const T: &str = "sessions";
        Ok(Session {
            id: parse_guid(T, &self.id)?,
            client_id: self.client_id,
            user_id: opt_guid(T, self.user_id.as_deref())?,
            client_key: self.client_key,
            caller_ip: self.caller_ip,
            created_at: time(T, self.created_at)?,
            last_used_at: time(T, self.last_used_at)?,
            ended_at: opt_time(T, self.ended_at)?,
            parent_id: opt_guid(T, self.parent_id.as_deref())?,
            source_token: self
                .source_token
                .as_deref()
                .map(|b| parse_digest(T, b))
                .transpose()?,
            expires_at: opt_time(T, self.expires_at)?,
            grant: self
                .grant_type
                .as_deref()
                .map(|g| {
                    GrantType::parse(g).ok_or_else(|| corrupt(T, format!("unknown grant {g:?}")))
                })
                .transpose()?,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = access_tokens, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct AccessTokenRow {
    pub digest: Vec<u8>,
    pub session_id: String,
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub scope: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

impl AccessTokenRow {
    pub fn from_domain(t: &AccessToken) -> Self {
        Self {
            digest: digest_bytes(&t.digest),
            session_id: guid(t.session_id),
            client_id: t.client_id.clone(),
            user_id: t.user_id.map(guid),
            scope: t.scope.clone(),
            issued_at: micros(t.issued_at),
            expires_at: micros(t.expires_at),
            revoked_at: t.revoked_at.map(micros),
        }
    }

    pub fn into_domain(self) -> Result<AccessToken> {
        const T: &str = "access_tokens";
        Ok(AccessToken {
            digest: parse_digest(T, &self.digest)?,
            session_id: parse_guid(T, &self.session_id)?,
            client_id: self.client_id,
            user_id: opt_guid(T, self.user_id.as_deref())?,
            scope: self.scope,
            issued_at: time(T, self.issued_at)?,
            expires_at: time(T, self.expires_at)?,
            revoked_at: opt_time(T, self.revoked_at)?,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct RefreshTokenRow {
    pub digest: Vec<u8>,
    pub session_id: String,
    pub client_id: Option<String>,
    pub scope: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub rotated_at: Option<i64>,
    pub successor: Option<Vec<u8>>,
    pub revoked_at: Option<i64>,
    pub replayed_at: Option<i64>,
}

impl RefreshTokenRow {
    pub fn from_domain(t: &RefreshToken) -> Self {
        Self {
            digest: digest_bytes(&t.digest),
            session_id: guid(t.session_id),
            client_id: t.client_id.clone(),
            scope: t.scope.clone(),
            issued_at: micros(t.issued_at),
            expires_at: micros(t.expires_at),
            rotated_at: t.rotated_at.map(micros),
            successor: t.successor.as_ref().map(digest_bytes),
            revoked_at: t.revoked_at.map(micros),
            replayed_at: t.replayed_at.map(micros),
        }
    }

    pub fn into_domain(self) -> Result<RefreshToken> {
        const T: &str = "refresh_tokens";
        Ok(RefreshToken {
            digest: parse_digest(T, &self.digest)?,
            session_id: parse_guid(T, &self.session_id)?,
            client_id: self.client_id,
            scope: self.scope,
            issued_at: time(T, self.issued_at)?,
            expires_at: time(T, self.expires_at)?,
            rotated_at: opt_time(T, self.rotated_at)?,
            successor: self
                .successor
                .as_deref()
                .map(|b| parse_digest(T, b))
                .transpose()?,
            revoked_at: opt_time(T, self.revoked_at)?,
            replayed_at: opt_time(T, self.replayed_at)?,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = authorization_codes, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct AuthorizationCodeRow {
    pub digest: Vec<u8>,
    pub client_id: String,
    pub user_id: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
    pub session_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_challenge: Option<String>,
    pub scope: Option<String>,
    pub auth_time: Option<i64>,
    pub browser_session_id: Option<String>,
    pub nonce: Option<String>,
}

impl AuthorizationCodeRow {
    pub fn from_domain(c: &AuthorizationCode) -> Self {
        Self {
            digest: digest_bytes(&c.digest),
            client_id: c.client_id.clone(),
            user_id: guid(c.user_id),
            issued_at: micros(c.issued_at),
            expires_at: micros(c.expires_at),
            consumed_at: c.consumed_at.map(micros),
            session_id: c.session_id.map(guid),
            redirect_uri: c.redirect_uri.clone(),
            code_challenge: c.code_challenge.clone(),
            scope: c.scope.clone(),
            auth_time: c.auth_time.map(micros),
            browser_session_id: c.browser_session_id.map(guid),
            nonce: c.nonce.clone(),
        }
    }

    pub fn into_domain(self) -> Result<AuthorizationCode> {
        const T: &str = "authorization_codes";
        Ok(AuthorizationCode {
            digest: parse_digest(T, &self.digest)?,
            client_id: self.client_id,
            user_id: parse_guid(T, &self.user_id)?,
            issued_at: time(T, self.issued_at)?,
            expires_at: time(T, self.expires_at)?,
            consumed_at: opt_time(T, self.consumed_at)?,
            session_id: opt_guid(T, self.session_id.as_deref())?,
            redirect_uri: self.redirect_uri,
            code_challenge: self.code_challenge,
            scope: self.scope,
            auth_time: opt_time(T, self.auth_time)?,
            browser_session_id: opt_guid(T, self.browser_session_id.as_deref())?,
            nonce: self.nonce,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = browser_sessions, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct BrowserSessionRow {
    pub digest: Vec<u8>,
    pub id: String,
    pub user_id: String,
    pub authenticated_at: i64,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
}

impl BrowserSessionRow {
    pub fn from_domain(s: &BrowserSession) -> Self {
        Self {
            digest: digest_bytes(&s.digest),
            id: guid(s.id),
            user_id: guid(s.user_id),
            authenticated_at: micros(s.authenticated_at),
            expires_at: micros(s.expires_at),
            ended_at: s.ended_at.map(micros),
        }
    }

    pub fn into_domain(self) -> Result<BrowserSession> {
        const T: &str = "browser_sessions";
        Ok(BrowserSession {
            digest: parse_digest(T, &self.digest)?,
            id: parse_guid(T, &self.id)?,
            user_id: parse_guid(T, &self.user_id)?,
            authenticated_at: time(T, self.authenticated_at)?,
            expires_at: time(T, self.expires_at)?,
            ended_at: opt_time(T, self.ended_at)?,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = onetime_codes, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct OneTimeCodeRow {
    pub digest: Vec<u8>,
    pub issuer_client_id: Option<String>,
    pub issuer_user_id: Option<String>,
    pub user_id: String,
    pub redeeming_client_id: String,
    pub broker_id: Option<String>,
    pub trading_account: Option<String>,
    pub server: Option<String>,
    pub payload: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
    pub session_id: Option<String>,
    pub scope: Option<String>,
    pub source_session_id: Option<String>,
    pub source_token: Option<Vec<u8>>,
}

impl OneTimeCodeRow {
    pub fn from_domain(c: &OneTimeCode) -> Result<Self> {
        Ok(Self {
            digest: digest_bytes(&c.digest),
            issuer_client_id: c.issuer_client_id.clone(),
            issuer_user_id: c.issuer_user_id.map(guid),
            user_id: guid(c.user_id),
            redeeming_client_id: c.redeeming_client_id.clone(),
            broker_id: c.broker_id.map(guid),
            trading_account: c.trading_account.clone(),
            server: c.server.clone(),
            payload: serde_json::to_string(&c.payload)
                .map_err(|e| corrupt("onetime_codes", e.to_string()))?,
            issued_at: micros(c.issued_at),
            expires_at: micros(c.expires_at),
            consumed_at: c.consumed_at.map(micros),
            session_id: c.session_id.map(guid),
            scope: c.scope.clone(),
            source_session_id: c.source_session_id.map(guid),
            source_token: c.source_token.as_ref().map(digest_bytes),
        })
    }

    pub fn into_domain(self) -> Result<OneTimeCode> {
        const T: &str = "onetime_codes";
        let payload: BTreeMap<String, String> =
            serde_json::from_str(&self.payload).map_err(|e| corrupt(T, format!("payload: {e}")))?;
        Ok(OneTimeCode {
            digest: parse_digest(T, &self.digest)?,
            issuer_client_id: self.issuer_client_id,
            issuer_user_id: opt_guid(T, self.issuer_user_id.as_deref())?,
            user_id: parse_guid(T, &self.user_id)?,
            redeeming_client_id: self.redeeming_client_id,
            broker_id: opt_guid(T, self.broker_id.as_deref())?,
            trading_account: self.trading_account,
            server: self.server,
            payload,
            issued_at: time(T, self.issued_at)?,
            expires_at: time(T, self.expires_at)?,
            consumed_at: opt_time(T, self.consumed_at)?,
            session_id: opt_guid(T, self.session_id.as_deref())?,
            scope: self.scope,
            source_session_id: opt_guid(T, self.source_session_id.as_deref())?,
            source_token: self
                .source_token
                .as_deref()
                .map(|b| parse_digest(T, b))
                .transpose()?,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = login_failures, primary_key(lock_key), treat_none_as_null = true)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct LoginFailureRow {
    pub lock_key: String,
    pub failures: i64,
    pub last_failure_at: i64,
    pub locked_until: Option<i64>,
}

impl LoginFailureRow {
    pub fn from_domain(f: &LoginFailure) -> Self {
        Self {
            lock_key: f.key.clone(),
            failures: i64::from(f.failures),
            last_failure_at: micros(f.last_failure_at),
            locked_until: f.locked_until.map(micros),
        }
    }

    pub fn into_domain(self) -> Result<LoginFailure> {
        const T: &str = "login_failures";
        Ok(LoginFailure {
            failures: u32::try_from(self.failures)
                .map_err(|_| corrupt(T, format!("failure count {}", self.failures)))?,
            last_failure_at: time(T, self.last_failure_at)?,
            locked_until: opt_time(T, self.locked_until)?,
            key: self.lock_key,
        })
    }
}

/// A client's registered JWK Set (public keys; `private_key_jwt`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = client_keys, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct ClientKeyRow {
    pub client_id: String,
    pub jwks: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct SigningKeyRow {
    pub kid: String,
    pub alg: String,
    pub public_jwk: String,
    pub private_key: Vec<u8>,
    pub created_at: i64,
    pub activates_at: i64,
    pub retired_at: Option<i64>,
    pub published_until: Option<i64>,
}

impl SigningKeyRow {
    pub fn from_domain(k: &SigningKey) -> Self {
        Self {
            kid: k.kid.clone(),
            alg: k.alg.as_str().to_owned(),
            public_jwk: k.public_jwk.clone(),
            private_key: k.private_key.clone(),
            created_at: micros(k.created_at),
            activates_at: micros(k.activates_at),
            retired_at: k.retired_at.map(micros),
            published_until: k.published_until.map(micros),
        }
    }

    pub fn into_domain(self) -> Result<SigningKey> {
        const T: &str = "signing_keys";
        Ok(SigningKey {
            alg: Alg::parse(&self.alg).ok_or_else(|| corrupt(T, format!("alg {:?}", self.alg)))?,
            kid: self.kid,
            public_jwk: self.public_jwk,
            private_key: self.private_key,
            created_at: time(T, self.created_at)?,
            activates_at: time(T, self.activates_at)?,
            retired_at: opt_time(T, self.retired_at)?,
            published_until: opt_time(T, self.published_until)?,
        })
    }
}

/// `legacy_usage`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = legacy_usage)]
pub(crate) struct LegacyUsageRow {
    pub client_id: String,
    pub dialect: String,
    pub requests: i64,
    pub first_seen: i64,
    pub last_seen: i64,
    pub password_grant: i64,
    pub form_body: i64,
    pub xml_body: i64,
    pub windows_auth: i64,
    pub onetime_code: i64,
    pub katana_ticket: i64,
}

fn count_col(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn count_of(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl LegacyUsageRow {
    pub(crate) fn from_domain(u: &gatehouse_domain::dual_run::Usage) -> Self {
        let f = &u.features;
        Self {
            client_id: u.client_id.clone(),
            dialect: u.dialect.clone(),
            requests: count_col(u.requests),
            first_seen: micros(u.first_seen),
            last_seen: micros(u.last_seen),
            password_grant: count_col(f.password_grant),
            form_body: count_col(f.form_body),
            xml_body: count_col(f.xml_body),
            windows_auth: count_col(f.windows_auth),
            onetime_code: count_col(f.onetime_code),
            katana_ticket: count_col(f.katana_ticket),
        }
    }

    pub(crate) fn into_domain(self) -> Result<gatehouse_domain::dual_run::Usage> {
        Ok(gatehouse_domain::dual_run::Usage {
            first_seen: time("legacy_usage", self.first_seen)?,
            last_seen: time("legacy_usage", self.last_seen)?,
            client_id: self.client_id,
            dialect: self.dialect,
            requests: count_of(self.requests),
            features: gatehouse_domain::dual_run::FeatureCounts {
                password_grant: count_of(self.password_grant),
                form_body: count_of(self.form_body),
                xml_body: count_of(self.xml_body),
                windows_auth: count_of(self.windows_auth),
                onetime_code: count_of(self.onetime_code),
                katana_ticket: count_of(self.katana_ticket),
            },
        })
    }
}

/// `dual_run_differences` (without its id).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = dual_run_differences)]
pub(crate) struct DifferenceRow {
    pub recorded_at: i64,
    pub mode: String,
    pub dialect: String,
    pub endpoint: String,
    pub client_id: Option<String>,
    pub kinds: String,
    pub detail: String,
    pub gatehouse_answer: String,
    pub upstream_answer: String,
}

impl DifferenceRow {
    pub(crate) fn from_domain(d: &gatehouse_domain::dual_run::Difference) -> Self {
        Self {
            recorded_at: micros(d.recorded_at),
            mode: d.mode.clone(),
            dialect: d.dialect.clone(),
            endpoint: d.endpoint.clone(),
            client_id: d.client_id.clone(),
            kinds: d.kinds.clone(),
            detail: d.detail.clone(),
            gatehouse_answer: d.gatehouse_answer.clone(),
            upstream_answer: d.upstream_answer.clone(),
        }
    }
}

/// The token exchange allow-list of a client (`client_token_exchange`, beside `clients`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = client_token_exchange, primary_key(client_id))]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct ClientTokenExchangeRow {
    pub client_id: String,
    pub audiences: String,
}

impl ClientTokenExchangeRow {
    pub fn from_domain(c: &ClientTokenExchange) -> Self {
        Self {
            client_id: c.client_id.clone(),
            audiences: serde_json::to_string(&c.audiences).unwrap_or_else(|_| "[]".to_owned()),
        }
    }

    pub fn into_domain(self) -> Result<ClientTokenExchange> {
        Ok(ClientTokenExchange {
            audiences: serde_json::from_str(&self.audiences)
                .map_err(|e| corrupt("client_token_exchange", format!("audiences: {e}")))?,
            client_id: self.client_id,
        })
    }
}

/// The DPoP settings of a client (`client_dpop`, beside `clients`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = client_dpop, primary_key(client_id))]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct ClientDpopRow {
    pub client_id: String,
    pub dpop_bound_access_tokens: bool,
}

impl ClientDpopRow {
    pub fn from_domain(c: &ClientDpop) -> Self {
        Self {
            client_id: c.client_id.clone(),
            dpop_bound_access_tokens: c.dpop_bound_access_tokens,
        }
    }

    pub fn into_domain(self) -> ClientDpop {
        ClientDpop {
            client_id: self.client_id,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
        }
    }
}

/// The exchange that opened a session (`session_exchange`, beside `sessions`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = session_exchange, primary_key(session_id))]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct SessionExchangeRow {
    pub session_id: String,
    pub audience: String,
    pub actor: Option<String>,
}

impl SessionExchangeRow {
    pub fn from_domain(e: &SessionExchange) -> Self {
        Self {
            session_id: guid(e.session_id),
            audience: e.audience.clone(),
            actor: e.actor.as_ref().map(ToString::to_string),
        }
    }

    pub fn into_domain(self) -> Result<SessionExchange> {
        const T: &str = "session_exchange";
        Ok(SessionExchange {
            session_id: parse_guid(T, &self.session_id)?,
            audience: self.audience,
            actor: self
                .actor
                .map(|a| serde_json::from_str(&a).map_err(|e| corrupt(T, format!("actor: {e}"))))
                .transpose()?,
        })
    }
}

/// The DPoP binding of a session (`session_dpop`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = session_dpop, primary_key(session_id))]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct SessionDpopRow {
    pub session_id: String,
    pub jkt: String,
}

/// A recorded DPoP proof (`dpop_proofs`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = dpop_proofs, primary_key(digest))]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct DpopProofRow {
    pub digest: Vec<u8>,
    pub expires_at: i64,
}

/// The DPoP key an authorization code is bound to (`authorization_code_dpop`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = authorization_code_dpop, primary_key(digest))]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct CodeDpopRow {
    pub digest: Vec<u8>,
    pub jkt: String,
    pub expires_at: i64,
}

/// `server_keys` (the forms' key, shared by the replicas).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = server_keys, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct ServerKeyRow {
    pub name: String,
    pub secret: Vec<u8>,
    pub created_at: i64,
}

/// `client_assertion_jtis` (the `private_key_jwt` assertions already used).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = client_assertion_jtis)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct AssertionJtiRow {
    pub client_id: String,
    pub jti: String,
    pub expires_at: i64,
}

/// `rate_windows` (fixed-window rate counters).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = rate_windows, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct RateWindowRow {
    pub rate_key: String,
    pub window_start: i64,
    pub hits: i64,
}

/// `dual_run_counts` (the dual-run counters).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = dual_run_counts, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct ComparisonCountRow {
    pub dialect: String,
    pub endpoint: String,
    pub kind: String,
    pub count: i64,
}
