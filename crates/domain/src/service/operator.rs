//! The operator's side: find users, see their sessions and lockouts, end sessions, unlock,
//! remove; list, change and remove clients. What `gatehouse user …`, `gatehouse client …`
//! (and later the admin API) call.
//!
//! Every change here is one write transaction that re-reads what it changes, so an operator
//! racing a login never half-applies. [`Gatehouse::end_sessions_of_user`] is the one place a
//! user's sessions (token sessions and browser sessions) are ended on an operator's request.

use std::net::IpAddr;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::browser_session::BrowserSession;
use crate::error::Error;
use crate::model::{Client, GrantType, LoginFailure, Member, Session, TradingAccount, User};
use crate::service::provision::{check_subjects, end_user_sessions, ClientSpec};
use crate::store::{ReadTx, Store};

use super::introspect::live_session;
use super::lockout::{account_key, address_key};
use super::{Gatehouse, Result};

/// At most this many sessions (and browser sessions) are shown per user: a user with more
/// is shown the newest (`truncated` says so). 500 sessions render in a few milliseconds.
pub const MAX_SESSIONS_SHOWN: u32 = 500;

/// A live token session as the operator sees it (no token, no digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    /// The session GUID (`session_state`, `sessionKey`).
    pub id: Uuid,
    /// The client that opened it.
    pub client_id: Option<String>,
    /// The grant that opened it: `password` is a login on a legacy dialect (katana, v1,
    /// member, otc) or the login page; `authorization_code`, `onetime`, `client_credentials`.
    pub grant: Option<GrantType>,
    /// The caller's address when it was opened.
    pub caller_ip: Option<String>,
    /// Opened at.
    pub created_at: OffsetDateTime,
    /// Last grant on it (opening, refresh).
    pub last_used_at: OffsetDateTime,
    /// Its absolute end.
    pub expires_at: Option<OffsetDateTime>,
    /// The session it derives from (one-time code redemption).
    pub parent_id: Option<Uuid>,
}

impl From<&Session> for SessionSummary {
    fn from(s: &Session) -> Self {
        Self {
            id: s.id,
            client_id: s.client_id.clone(),
            grant: s.grant,
            caller_ip: s.caller_ip.clone(),
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            expires_at: s.expires_at,
            parent_id: s.parent_id,
        }
    }
}

/// A live browser session (the login page's sign-in), without its cookie digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSessionSummary {
    /// The session GUID (OpenID `sid`).
    pub id: Uuid,
    /// When the user signed in.
    pub authenticated_at: OffsetDateTime,
    /// Its absolute end.
    pub expires_at: OffsetDateTime,
}

impl From<&BrowserSession> for BrowserSessionSummary {
    fn from(s: &BrowserSession) -> Self {
        Self {
            id: s.id,
            authenticated_at: s.authenticated_at,
            expires_at: s.expires_at,
        }
    }
}

/// A lockout record with what it means now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockoutState {
    /// The key: `user:<name>` (the account) or `ip:<address>`.
    pub key: String,
    /// Failures counted.
    pub failures: u32,
    /// The last failure.
    pub last_failure_at: OffsetDateTime,
    /// Locked until this instant (when in the future).
    pub locked_until: Option<OffsetDateTime>,
    /// Whether a login on this key is refused right now.
    pub locked: bool,
}

impl LockoutState {
    /// The record as of `now`.
    pub fn of(record: LoginFailure, now: OffsetDateTime) -> Self {
        Self {
            locked: record.locked_until.is_some_and(|u| u > now),
            key: record.key,
            failures: record.failures,
            last_failure_at: record.last_failure_at,
            locked_until: record.locked_until,
        }
    }
}

/// Everything an operator sees of one user (never the password hash: [`User`]'s `Debug`
/// hides it, and the CLI and API print only the fields below).
#[derive(Debug, Clone)]
pub struct UserDetails {
    /// The user.
    pub user: User,
    /// The legacy member record (`MemberId`, `id_Member`).
    pub member: Option<Member>,
    /// Its sub-account ids.
    pub sub_accounts: Vec<i64>,
    /// Trading accounts owned.
    pub trading_accounts: Vec<TradingAccount>,
    /// The account's lockout record, then those of the addresses their live sessions came
    /// from (an address is locked for every account it tried).
    pub lockouts: Vec<LockoutState>,
    /// Live token sessions, newest first.
    pub sessions: Vec<SessionSummary>,
    /// Live browser sessions, newest first.
    pub browser_sessions: Vec<BrowserSessionSummary>,
    /// More than [`MAX_SESSIONS_SHOWN`] open sessions of either kind: the oldest are not
    /// listed.
    pub truncated: bool,
}

/// What [`Gatehouse::end_sessions_of_user`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EndedSessions {
    /// Token sessions and browser sessions that were open.
    pub ended: u64,
}

/// Whether a user matches a `--filter`: a case-insensitive substring of the name, the full
/// name or the e-mail address.
fn matches(user: &User, filter: &str) -> bool {
    let needle = filter.to_lowercase();
    [
        Some(user.user_name.as_str()),
        user.profile.name.as_deref(),
        user.profile.email.as_deref(),
    ]
    .into_iter()
    .flatten()
    .any(|field| field.to_lowercase().contains(&needle))
}

fn user_named<T: ReadTx + ?Sized>(tx: &mut T, name: &str) -> Result<User> {
    tx.user_by_name(name)?
        .ok_or_else(|| Error::NotFound(format!("user {name}")))
}

fn client_with_id<T: ReadTx + ?Sized>(tx: &mut T, id: &str) -> Result<Client> {
    tx.client(id)?
        .ok_or_else(|| Error::NotFound(format!("client {id}")))
}

/// The live ones among a user's open sessions and browser sessions.
fn live_sessions_of<T: ReadTx + ?Sized>(
    tx: &mut T,
    user: &User,
    now: OffsetDateTime,
    max: time::Duration,
) -> Result<(Vec<Session>, Vec<BrowserSession>, bool)> {
    let open = tx.open_sessions_of_user(user.id, MAX_SESSIONS_SHOWN + 1)?;
    let browsers = tx.open_browser_sessions_of_user(user.id, MAX_SESSIONS_SHOWN + 1)?;
    let limit = MAX_SESSIONS_SHOWN as usize;
    let truncated = open.len() > limit || browsers.len() > limit;
    let mut live = Vec::new();
    for session in open.into_iter().take(limit) {
        if live_session(tx, session.id, now, max)?.is_some() {
            live.push(session);
        }
    }
    let browsers = browsers
        .into_iter()
        .take(limit)
        .filter(|b| b.ended_at.is_none() && b.expires_at > now)
        .collect();
    Ok((live, browsers, truncated))
}

impl<S: Store> Gatehouse<S> {
    /// Every user (by name), or those matching `filter` (a case-insensitive substring of the
    /// user name, full name or e-mail address).
    ///
    /// # Errors
    /// `Storage`.
    pub fn list_users(&self, filter: Option<&str>) -> Result<Vec<User>> {
        let users = self.store().read(|tx| tx.users())?;
        Ok(match filter {
            Some(f) => users.into_iter().filter(|u| matches(u, f)).collect(),
            None => users,
        })
    }

    /// One user with their legacy ids, lockout records and live sessions.
    ///
    /// # Errors
    /// `NotFound`, `Storage`.
    pub fn user_details(&self, user_name: &str) -> Result<UserDetails> {
        let now = self.now();
        let max = self.config().session_max_lifetime;
        self.store().read(|tx| {
            let user = user_named(tx, user_name)?;
            let member = tx.member_of_user(user.id)?;
            let sub_accounts = match &member {
                Some(m) => tx
                    .sub_accounts_of(m.id)?
                    .into_iter()
                    .map(|s| s.id)
                    .collect(),
                None => Vec::new(),
            };
            let trading_accounts = tx.trading_accounts_of(user.id)?;
            let (sessions, browsers, truncated) = live_sessions_of(tx, &user, now, max)?;
            let mut keys = vec![account_key(&user.user_name)];
            for ip in sessions.iter().filter_map(|s| s.caller_ip.as_deref()) {
                if let Ok(ip) = ip.parse::<IpAddr>() {
                    let key = address_key(ip);
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                }
            }
            let mut lockouts = Vec::new();
            for key in &keys {
                if let Some(record) = tx.login_failure(key)? {
                    lockouts.push(LockoutState::of(record, now));
                }
            }
            Ok(UserDetails {
                member,
                sub_accounts,
                trading_accounts,
                lockouts,
                sessions: sessions.iter().map(SessionSummary::from).collect(),
                browser_sessions: browsers.iter().map(BrowserSessionSummary::from).collect(),
                truncated,
                user,
            })
        })
    }

    /// Ends every session of a user: token sessions (and with them every access and refresh
    /// token, and every session derived from them) and browser sessions. The one operator
    /// path that does; the user can log in again.
    ///
    /// # Errors
    /// `NotFound`, `Storage`.
    pub fn end_sessions_of_user(&self, user_name: &str) -> Result<EndedSessions> {
        let name = user_name.to_owned();
        let now = self.now();
        let (ended, targets) = self.store().write(move |tx| {
            let user = user_named(tx, &name)?;
            let targets = tx.backchannel_targets(None, user.id)?;
            Ok((
                EndedSessions {
                    ended: end_user_sessions(tx, user.id, now)?,
                },
                targets,
            ))
        })?;
        self.notify_backchannel(targets);
        Ok(ended)
    }

    /// Forgets the lockout record of the account and of each of `addresses` (their next login
    /// is judged afresh). Returns the keys that had a record.
    ///
    /// # Errors
    /// `NotFound`, `Storage`.
    pub fn unlock_user(&self, user_name: &str, addresses: &[IpAddr]) -> Result<Vec<String>> {
        let name = user_name.to_owned();
        let mut keys = vec![account_key(user_name)];
        keys.extend(addresses.iter().map(|ip| address_key(*ip)));
        self.store().write(move |tx| {
            user_named(tx, &name)?;
            let mut cleared = Vec::new();
            for key in keys {
                if tx.login_failure(&key)?.is_some() {
                    tx.clear_login_failure(&key)?;
                    cleared.push(key);
                }
            }
            Ok(cleared)
        })
    }

    /// Deletes a user and everything of theirs (sessions, tokens, codes, browser sessions,
    /// member record, trading accounts, the account's lockout record). Refused with
    /// `Conflict` while they have live sessions, unless `force`.
    ///
    /// # Errors
    /// `NotFound`, `Conflict`, `Storage`.
    pub fn remove_user(&self, user_name: &str, force: bool) -> Result<User> {
        let name = user_name.to_owned();
        let now = self.now();
        let max = self.config().session_max_lifetime;
        self.store().write(move |tx| {
            let user = user_named(tx, &name)?;
            let (sessions, browsers, truncated) = live_sessions_of(tx, &user, now, max)?;
            let live = sessions.len() + browsers.len();
            if !force && (live > 0 || truncated) {
                return Err(Error::Conflict(format!(
                    "user {} has {live}{} live sessions; confirm to end them",
                    user.user_name,
                    if truncated { "+" } else { "" }
                )));
            }
            tx.delete_user(user.id)?;
            tx.clear_login_failure(&account_key(&user.user_name))?;
            Ok(user)
        })
    }

    /// Every client, by id.
    ///
    /// # Errors
    /// `Storage`.
    pub fn list_clients(&self) -> Result<Vec<Client>> {
        self.store().read(|tx| tx.clients())
    }

    /// One client.
    ///
    /// # Errors
    /// `NotFound`, `Storage`.
    pub fn client_details(&self, client_id: &str) -> Result<Client> {
        self.store().read(|tx| client_with_id(tx, client_id))
    }

    /// Replaces a client's settings with `spec` (validated exactly as
    /// [`Gatehouse::add_client`] validates). Its secret, token lifetimes, logout and PAR
    /// settings and live tokens stay; whether `spec` gives a secret must match the client (a
    /// secret is added or dropped by other means).
    ///
    /// # Errors
    /// `InvalidRequest`, `NotFound`, `SigningUnavailable`, `Storage`.
    pub fn update_client(&self, spec: ClientSpec) -> Result<Client> {
        let current = self.client_details(&spec.client_id)?;
        if spec.secret.is_given() != current.secret_hash.is_some() {
            return Err(Error::InvalidRequest(format!(
                "client {}: a client cannot change between public and confidential",
                spec.client_id
            )));
        }
        // A given `backchannel_logout_uri` replaces the back-channel settings ("" clears
        // them); without one they stay.
        let backchannel_given = spec.backchannel_logout_uri.is_some();
        let valid = self.client_of(spec, current.secret_hash.clone())?;
        let backchannel = backchannel_given.then_some(valid.backchannel);
        let dpop = valid.dpop;
        let mut client = valid.client;
        client.access_token_lifetime = current.access_token_lifetime;
        client.refresh_token_lifetime = current.refresh_token_lifetime;
        let stored = client.clone();
        self.store().write(move |tx| {
            client_with_id(tx, &stored.client_id)?;
            // The same JWT-subject rule as `client add` and import (issue 19 item 9).
            check_subjects(tx, &stored)?;
            tx.upsert_client(&stored)?;
            tx.put_client_dpop(&dpop)?;
            match &backchannel {
                Some(b) => tx.put_client_backchannel(b),
                None => Ok(()),
            }
        })?;
        Ok(client)
    }

    /// Deletes a client and every session it opened: its tokens (and every session derived
    /// from them) stop working at once, its codes are gone.
    ///
    /// # Errors
    /// `NotFound`, `Storage`.
    pub fn remove_client(&self, client_id: &str) -> Result<()> {
        let id = client_id.to_owned();
        self.store().write(move |tx| {
            if tx.delete_client(&id)? {
                Ok(())
            } else {
                Err(Error::NotFound(format!("client {id}")))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{UserFlags, UserProfile};

    fn user(name: &str, full: Option<&str>, email: Option<&str>) -> User {
        User {
            id: Uuid::nil(),
            user_name: name.to_owned(),
            password_hash: String::new(),
            flags: UserFlags::default(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            profile: UserProfile {
                name: full.map(str::to_owned),
                email: email.map(str::to_owned),
                email_verified: false,
            },
        }
    }

    #[test]
    fn the_filter_matches_name_full_name_and_email_case_insensitively() {
        let u = user("Alice", Some("Alice Liddell"), Some("al@Example.org"));
        assert!(matches(&u, "ali"));
        assert!(matches(&u, "LIDD"));
        assert!(matches(&u, "example.ORG"));
        assert!(!matches(&u, "bob"));
        assert!(!matches(&user("bob", None, None), "example"));
    }

    #[test]
    fn a_lockout_record_is_locked_only_before_its_end() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::hours(1);
        let record = |until| LoginFailure {
            key: "user:alice".to_owned(),
            failures: 6,
            last_failure_at: now,
            locked_until: until,
        };
        assert!(LockoutState::of(record(Some(now + time::Duration::SECOND)), now).locked);
        assert!(!LockoutState::of(record(Some(now)), now).locked);
        assert!(!LockoutState::of(record(None), now).locked);
    }
}
