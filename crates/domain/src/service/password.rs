//! The password-based grants: password (katana `/token`, v1 `password`), Windows
//! authentication (v1), and the member grant (`/api/Token`).

use std::fmt;
use std::net::IpAddr;

use crate::error::Error;
use crate::model::GrantType;
use crate::secret::Secret;
use crate::store::Store;

use super::client_auth::{require_grant, ClientAuth, WithoutClient};
use super::lockout::{account_key, apply_login_success, lockout_records, login_keys};
use super::scope::grant_scope;
use super::tokens::{IssuedTokens, MintSpec};
use super::{Gatehouse, Result};

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

impl<S: Store> Gatehouse<S> {
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
        self.password_grant_issuing(grant, false)
    }

    /// The password grant of Katana's `/token`: the access token is a Katana ticket when a
    /// machineKey is configured ([`super::katana`]), else as [`Gatehouse::password_grant`].
    ///
    /// # Errors
    /// As [`Gatehouse::password_grant`].
    pub fn katana_password_grant(&self, grant: PasswordGrant) -> Result<IssuedTokens> {
        self.password_grant_issuing(grant, true)
    }

    fn password_grant_issuing(&self, grant: PasswordGrant, katana: bool) -> Result<IssuedTokens> {
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
        if let Some(auth) = &grant.client {
            self.settle_assertion(auth)?;
        }
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
            katana,
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
        self.store
            .write(move |tx| {
                apply_login_success(tx, &account, &login)?;
                mint.apply(tx)?;
                Ok(mint.out)
            })
            .inspect(|t| self.audit_issued(GrantType::Password, t))
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
        if let Some(auth) = &grant.client {
            self.settle_assertion(auth)?;
        }
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
            katana: false,
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
        self.store
            .write(move |tx| {
                mint.apply(tx)?;
                Ok(mint.out)
            })
            .inspect(|t| self.audit_issued(GrantType::Password, t))
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
            katana: false,
            keys: None,
            client_key: None,
            caller_ip: grant.caller_ip,
            client: None,
            user: Some(&login.user),
            scope: String::new(),
            refresh: false,
        })?;
        let account = keys[0].clone();
        let tokens = self
            .store
            .write(move |tx| {
                apply_login_success(tx, &account, &login)?;
                mint.apply(tx)?;
                Ok(mint.out)
            })
            .inspect(|t| self.audit_issued(GrantType::Password, t))?;
        Ok(MemberLogin {
            tokens,
            member_internal_id: member.id,
            sub_account_id,
        })
    }
}
