//! The password-based grants: password (katana `/token`, v1 `password`), Windows
//! authentication (v1), and the member grant (`/api/Token`).

use std::fmt;
use std::net::IpAddr;

use crate::error::Error;
use crate::model::{Client, GrantType, Member, SubAccount, User};
use crate::secret::Secret;
use crate::store::{ReadTx, Store};

use super::client_auth::{require_grant, ClientAuth, WithoutClient};
use super::lockout::{LoginAttempt, LoginKeys, VerifiedLogin};
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

/// What the password and Windows grants ask of the client side, borrowed from either.
struct UserGrantRequest<'a> {
    client: Option<&'a ClientAuth>,
    client_key: Option<&'a str>,
    caller_ip: Option<IpAddr>,
    scope: Option<&'a str>,
    want_refresh: bool,
    without_client: &'a WithoutClient,
}

impl PasswordGrant {
    fn request(&self) -> UserGrantRequest<'_> {
        UserGrantRequest {
            client: self.client.as_ref(),
            client_key: self.client_key.as_deref(),
            caller_ip: self.caller_ip,
            scope: self.scope.as_deref(),
            want_refresh: self.want_refresh,
            without_client: &self.without_client,
        }
    }
}

impl WindowsGrant {
    fn request(&self) -> UserGrantRequest<'_> {
        UserGrantRequest {
            client: self.client.as_ref(),
            client_key: self.client_key.as_deref(),
            caller_ip: self.caller_ip,
            scope: self.scope.as_deref(),
            want_refresh: self.want_refresh,
            without_client: &self.without_client,
        }
    }
}

/// A user grant's client (none for a client-less grant) and the scope it gets.
struct GrantedClient {
    client: Option<Client>,
    scope: String,
}

/// Whom a user grant is for: a verified password login, or a user a trusted proxy vouched
/// for (Windows authentication).
enum GrantUser {
    Password(VerifiedLogin),
    Windows(User),
}

impl GrantUser {
    fn user(&self) -> &User {
        match self {
            Self::Password(login) => &login.user,
            Self::Windows(user) => user,
        }
    }
}

/// What the member grant reads in one transaction, before verifying the password.
struct MemberRead {
    /// The member the id names, if any.
    member: Option<Member>,
    /// The sub-account asked for (read only for a known member), whoever's it is.
    sub: Option<SubAccount>,
    /// The login: the member's user (or nobody) and the lockout records of its keys.
    attempt: LoginAttempt,
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

    #[expect(
        clippy::needless_pass_by_value,
        reason = "a grant operation takes its request whole, as the handlers hand it over (moved into the hash pool's closure); a borrow would copy nothing less and change every caller"
    )]
    fn password_grant_issuing(&self, grant: PasswordGrant, katana: bool) -> Result<IssuedTokens> {
        let request = grant.request();
        let (granted, attempt) = self.user_grant_client(&request, &grant.user_name, |tx| {
            LoginAttempt::read_by_name(tx, &grant.user_name, grant.caller_ip)
        })?;
        let login = self.verify_login(attempt, &grant.password)?;
        self.issue_user_grant(&request, granted, GrantUser::Password(login), katana)
    }

    /// Windows authentication (v1 `WindowsAuthentication: true`): the user name comes from a
    /// trusted proxy, which the server has validated. The password grant without the
    /// password (and without lockout).
    ///
    /// # Errors
    /// `InvalidClient`, `UnauthorizedClient`, `InvalidScope`, `InvalidCredentials` (unknown
    /// user), `AccountDisabled`, `Storage`.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "a grant operation takes its request whole, as the handlers hand it over (moved into the hash pool's closure); a borrow would copy nothing less and change every caller"
    )]
    pub fn windows_grant(&self, grant: WindowsGrant) -> Result<IssuedTokens> {
        let request = grant.request();
        let (granted, user) = self.user_grant_client(&request, &grant.user_name, |tx| {
            tx.user_by_name(&grant.user_name)
        })?;
        let user = user.ok_or(Error::InvalidCredentials)?;
        if user.flags.disabled {
            return Err(Error::AccountDisabled);
        }
        self.issue_user_grant(&request, granted, GrantUser::Windows(user), false)
    }

    /// The client side of a user grant: the name and `clientKey` checked, the client read
    /// (with what `read_user` reads, in the same transaction), authenticated, allowed the
    /// password grant, and the scope narrowed.
    fn user_grant_client<T>(
        &self,
        request: &UserGrantRequest<'_>,
        user_name: &str,
        read_user: impl FnOnce(&mut dyn ReadTx) -> Result<T>,
    ) -> Result<(GrantedClient, T)> {
        self.check_name(user_name, "user name")?;
        self.check_client_key(request.client_key)?;
        let now = self.now();
        let (client, read) = self.store.read(|tx| {
            let client = self.grant_client(tx, request.client, request.without_client, now)?;
            Ok((client, read_user(tx)?))
        })?;
        if let Some(auth) = request.client {
            self.settle_assertion(auth)?;
        }
        if let Some(client) = &client {
            require_grant(client, GrantType::Password)?;
        }
        let scope = grant_scope(client.as_ref(), request.without_client, request.scope)?;
        Ok((GrantedClient { client, scope }, read))
    }

    /// Mints the tokens of a user grant and stores them, with the login's success (lockout
    /// cleared, hash upgraded) in the same write transaction.
    fn issue_user_grant(
        &self,
        request: &UserGrantRequest<'_>,
        granted: GrantedClient,
        user: GrantUser,
        katana: bool,
    ) -> Result<IssuedTokens> {
        let client = granted.client.as_ref();
        let mint = self.mint(MintSpec {
            grant: GrantType::Password,
            katana,
            keys: None,
            client_key: request.client_key.map(str::to_owned),
            caller_ip: request.caller_ip,
            client,
            user: Some(user.user()),
            scope: granted.scope,
            refresh: request.want_refresh
                && client.is_some_and(|c| c.grants.contains(GrantType::RefreshToken)),
            jkt: request.client.and_then(|c| c.dpop_jkt()),
        })?;
        self.store
            .write(move |tx| {
                if let GrantUser::Password(login) = &user {
                    login.apply(tx)?;
                }
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
    #[expect(
        clippy::needless_pass_by_value,
        reason = "a grant operation takes its request whole, as the handlers hand it over (moved into the hash pool's closure); a borrow would copy nothing less and change every caller"
    )]
    pub fn member_grant(&self, grant: MemberGrant) -> Result<MemberLogin> {
        self.check_name(&grant.member_id, "member id")?;
        let sub_account = match grant.sub_account.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(text.parse::<i64>().map_err(|_| {
                Error::InvalidRequest("SubAccount must be a whole number".to_owned())
            })?),
        };
        let member_id = grant.member_id.trim().to_owned();
        let MemberRead {
            member,
            sub,
            attempt,
        } = self.store.read(|tx| {
            let member = tx.member_by_member_id(&member_id)?;
            let user = match &member {
                Some(m) => tx.user_by_id(m.user_id)?,
                None => None,
            };
            // A known member's failures count against their user account, the same key the
            // other dialects use, so one person gets one allowance of free failures.
            let keys = match &user {
                Some(u) => LoginKeys::of_user(&u.user_name, grant.caller_ip),
                None => LoginKeys::new(format!("member:{member_id}"), grant.caller_ip),
            };
            let sub = match (&member, sub_account) {
                (Some(_), Some(id)) => tx.sub_account(id)?,
                _ => None,
            };
            Ok(MemberRead {
                member,
                sub,
                attempt: LoginAttempt::read(tx, keys, user)?,
            })
        })?;
        let login = self.verify_login(attempt, &grant.password)?;
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
            jkt: None,
        })?;
        let tokens = self
            .store
            .write(move |tx| {
                login.apply(tx)?;
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
