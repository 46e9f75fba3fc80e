//! Browser sessions: what the login page of `/oauth2/authorize` opens, so that a second
//! authorization in the same browser skips the form.
//!
//! Stored server-side like tokens: the cookie holds 256 random bits, the database only their
//! SHA-256 digest. Nothing is signed, so no key has to survive restarts or be shared between
//! replicas, and ending a session (logout) takes effect at once everywhere. A session is live
//! while it is not ended, not past its absolute lifetime, and its user exists and is not
//! disabled (disabling a user ends every browser session of theirs at their next use).
//!
//! Each session has a GUID (`id`, the future OpenID `sid`) and remembers when the user
//! authenticated (`authenticated_at`, the future `auth_time`).

use std::fmt;
use std::net::IpAddr;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::error::Error;
use crate::secret::{generate_token, Secret, TokenDigest};
use crate::service::{later, Gatehouse, UserInfo};
use crate::store::{Store, WriteTx};

type Result<T> = std::result::Result<T, Error>;

/// How long a browser session lasts after the login, whatever its use (12 hours).
pub const BROWSER_SESSION_LIFETIME: Duration = Duration::hours(12);

/// A browser session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSession {
    /// SHA-256 of the cookie value.
    pub digest: TokenDigest,
    /// The session GUID (OpenID `sid`).
    pub id: Uuid,
    /// The user who logged in.
    pub user_id: Uuid,
    /// When the password was checked (OpenID `auth_time`).
    pub authenticated_at: OffsetDateTime,
    /// Absolute end.
    pub expires_at: OffsetDateTime,
    /// Logged out at.
    pub ended_at: Option<OffsetDateTime>,
}

/// A live browser session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSessionInfo {
    /// The session GUID.
    pub id: Uuid,
    /// The user.
    pub user: UserInfo,
    /// When the user authenticated.
    pub authenticated_at: OffsetDateTime,
    /// When the session ends.
    pub expires_at: OffsetDateTime,
}

/// A freshly opened browser session.
#[derive(Clone)]
pub struct BrowserLogin {
    /// The cookie value (for the browser only; never log it).
    pub cookie: Secret,
    /// The session.
    pub session: BrowserSessionInfo,
}

impl fmt::Debug for BrowserLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrowserLogin")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl<S: Store> Gatehouse<S> {
    /// The login form: the password check every password endpoint makes (the same lockout
    /// keys `user:<name>` and `ip:<address>`, a dummy verification for unknown users, the
    /// disabled check only after a right password), then a new browser session. Runs a
    /// PBKDF2 computation: call it on the hash pool.
    ///
    /// # Errors
    /// `InvalidRequest` (empty or oversized name), `Locked`, `InvalidCredentials`,
    /// `AccountDisabled`, `Storage`.
    pub fn browser_login(
        &self,
        user_name: &str,
        password: &Secret,
        caller_ip: Option<IpAddr>,
    ) -> Result<BrowserLogin> {
        self.check_name(user_name, "user name")?;
        let login = self.login_by_name(user_name, password, caller_ip)?;
        let now = self.now();
        let (cookie, digest) = generate_token(self.rng());
        let record = BrowserSession {
            digest,
            id: self.rng().uuid_v4(),
            user_id: login.user.id,
            authenticated_at: now,
            expires_at: later(now, BROWSER_SESSION_LIFETIME),
            ended_at: None,
        };
        let session = BrowserSessionInfo {
            id: record.id,
            user: UserInfo::from(&login.user),
            authenticated_at: now,
            expires_at: record.expires_at,
        };
        self.store().write(move |tx| {
            login.apply(tx)?;
            tx.insert_browser_session(&record)
        })?;
        Ok(BrowserLogin { cookie, session })
    }

    /// The live browser session a cookie stands for, if any.
    ///
    /// # Errors
    /// `Storage`.
    pub fn browser_session(&self, cookie: &str) -> Result<Option<BrowserSessionInfo>> {
        if cookie.is_empty() || cookie.len() > 128 {
            return Ok(None);
        }
        let digest = TokenDigest::of(cookie);
        let now = self.now();
        self.store().read(|tx| {
            let Some(session) = tx.browser_session(&digest)? else {
                return Ok(None);
            };
            if session.ended_at.is_some() || session.expires_at <= now {
                return Ok(None);
            }
            let Some(user) = tx.user_by_id(session.user_id)? else {
                return Ok(None);
            };
            if user.flags.disabled {
                return Ok(None);
            }
            Ok(Some(BrowserSessionInfo {
                id: session.id,
                user: UserInfo::from(&user),
                authenticated_at: session.authenticated_at,
                expires_at: session.expires_at,
            }))
        })
    }

    /// Logout (RP-initiated, `POST /oauth2/logout`): ends the browser session of the cookie,
    /// every token session its codes opened, and withdraws its unredeemed codes (nothing
    /// happens for an unknown or already ended one). See [`end_browser_session_in`].
    ///
    /// # Errors
    /// `Storage`.
    pub fn end_browser_session(&self, cookie: &str) -> Result<bool> {
        self.finish_browser_session(cookie, Ending::Logout)
    }

    /// A sign-in that replaces the browser's session (`prompt=login`, another user): the old
    /// browser session ends and its unredeemed codes are withdrawn, but the token sessions
    /// clients already got through it live on: re-authenticating is not logging out, and a
    /// client asking for `prompt=login` must not end another client's tokens
    /// (docs/security.md, decision of issue 19 item 4).
    ///
    /// # Errors
    /// `Storage`.
    pub fn replace_browser_session(&self, cookie: &str) -> Result<bool> {
        self.finish_browser_session(cookie, Ending::Replaced)
    }

    fn finish_browser_session(&self, cookie: &str, ending: Ending) -> Result<bool> {
        if cookie.is_empty() || cookie.len() > 128 {
            return Ok(false);
        }
        let digest = TokenDigest::of(cookie);
        let now = self.now();
        let (ended, targets) = self.store().write(move |tx| {
            let targets = match (ending, tx.browser_session(&digest)?) {
                (Ending::Logout, Some(s)) if s.ended_at.is_none() => {
                    tx.backchannel_targets(Some(s.id), s.user_id)?
                }
                _ => Vec::new(),
            };
            Ok((end_browser_session_in(tx, &digest, now, ending)?, targets))
        })?;
        self.notify_backchannel(targets);
        Ok(ended)
    }
}

/// How a browser session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Logout: the token sessions its codes opened end too (OpenID RP-initiated logout).
    Logout,
    /// Replaced by a new sign-in in the same browser: its tokens live on.
    Replaced,
}

/// Ends the browser session whose cookie has `digest`, inside a write transaction: its
/// unredeemed codes are withdrawn, and on [`Ending::Logout`] the token sessions its codes
/// opened end. An unknown or already ended session costs one primary-key read and nothing
/// more. Every statement reads by index (`authorization_codes_browser_session`; the
/// storage suite's `logout_reads_by_index` checks the plans), so its cost does not grow
/// with the table: 250k code rows, 0.45 s per logout before the index (docs/security.md).
/// Returns whether a live session ended.
///
/// # Errors
/// `Storage`.
pub fn end_browser_session_in(
    tx: &mut dyn WriteTx,
    digest: &TokenDigest,
    now: OffsetDateTime,
    ending: Ending,
) -> Result<bool> {
    let Some(session) = tx.browser_session(digest)? else {
        return Ok(false);
    };
    if session.ended_at.is_some() {
        return Ok(false);
    }
    if ending == Ending::Logout {
        tx.end_sessions_of_browser_session(session.id, now)?;
    }
    tx.withdraw_codes_of_browser_session(session.id, now)?;
    tx.end_browser_session(digest, now)
}
