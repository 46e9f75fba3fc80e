//! Credential capture (issue 22, `--credential-capture`): a password login for a user
//! Gatehouse does not know, or whose stored hash is [`CAPTURE_MARK`], is checked by the
//! legacy service ([`CredentialUpstream`], implemented by the server over the dual-run
//! forwarding client); on success the user is created or completed with a fresh hash of
//! that password and the legacy ids the upstream's answer carries, and the login goes on
//! as a local one. Once a user has a real hash the upstream is never asked about them again.
//!
//! Timing: while capture is on, a login answered locally waits as long as an upstream check
//! takes ([`CredentialUpstream::pad`]), and a login checked upstream computes exactly one
//! PBKDF2 (the new hash on success, a dummy verification on refusal) where a local one
//! computes its verification: one hash and one upstream round trip each way
//! (docs/security.md row 101, measured in `tests/it/capture.rs`).

use std::fmt;
use std::net::IpAddr;

use uuid::Uuid;

use crate::credentials::CAPTURE_MARK;
use crate::model::{user_name_key, User, UserFlags, UserProfile};
use crate::secret::Secret;
use crate::store::Store;

use super::{Gatehouse, Result};

/// One login the legacy service is asked about. Its `Debug` hides the password.
pub struct CaptureLogin<'a> {
    /// The user name as typed.
    pub user_name: &'a str,
    /// The password as typed.
    pub password: &'a Secret,
    /// The caller's address (forwarded as `X-Forwarded-For`).
    pub caller_ip: Option<IpAddr>,
}

impl fmt::Debug for CaptureLogin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureLogin")
            .field("user_name", &self.user_name)
            .field("caller_ip", &self.caller_ip)
            .finish_non_exhaustive()
    }
}

/// Who the legacy service said the user is (from its answer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LegacyIdentity {
    /// The user name as the legacy service spells it (`userName`).
    pub user_name: String,
    /// The legacy user id, when the answer carries one that is a GUID (`userID`).
    pub user_id: Option<Uuid>,
}

/// The legacy service's verdict on a login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamVerdict {
    /// Right password: who the user is.
    Accepted(LegacyIdentity),
    /// Wrong password or unknown user.
    Refused,
    /// No verdict: the upstream failed, timed out, or the per-second cap was reached.
    Unavailable,
}

/// The legacy service as a password checker (the server implements it over HTTP).
pub trait CredentialUpstream: Send + Sync + fmt::Debug {
    /// Asks the legacy service about `login` (bounded in time and in calls per second).
    fn check(&self, login: &CaptureLogin<'_>) -> UpstreamVerdict;
    /// Waits about as long as a [`CredentialUpstream::check`] takes, so that a login answered
    /// locally is not told apart from one checked upstream by its timing.
    fn pad(&self);
}

impl<S: Store> Gatehouse<S> {
    /// Adds credential capture ([`crate::service::capture`]).
    #[must_use]
    pub fn with_credential_capture(
        mut self,
        upstream: std::sync::Arc<dyn CredentialUpstream>,
    ) -> Self {
        self.capture = Some(upstream);
        self
    }

    /// Whether a login of `user` is checked by the legacy service.
    pub(crate) fn captures(&self, user: Option<&User>) -> bool {
        self.capture.is_some() && user.is_none_or(|u| u.password_hash == CAPTURE_MARK)
    }

    /// Pads a login answered locally while capture is on.
    pub(crate) fn pad_local_login(&self) {
        if let Some(upstream) = &self.capture {
            upstream.pad();
        }
    }

    /// Asks the legacy service about the login; on success stores the user (created, or the
    /// marked one completed) with a fresh hash of `password`, and returns them. `None`: not
    /// captured (refused, unavailable, or the answer named someone else); exactly one PBKDF2
    /// computation either way.
    pub(crate) fn capture(
        &self,
        user_name: &str,
        user: Option<User>,
        password: &Secret,
        caller_ip: Option<IpAddr>,
    ) -> Result<Option<User>> {
        let Some(upstream) = &self.capture else {
            return Ok(None);
        };
        let verdict = upstream.check(&CaptureLogin {
            user_name,
            password,
            caller_ip,
        });
        let identity = match verdict {
            UpstreamVerdict::Accepted(identity)
                if names_match(user_name, user.as_ref(), &identity) =>
            {
                identity
            }
            UpstreamVerdict::Accepted(_) => {
                tracing::warn!(
                    "credential capture: the upstream's answer names another user; not captured"
                );
                self.hasher.dummy_verify(password.expose());
                return Ok(None);
            }
            UpstreamVerdict::Refused | UpstreamVerdict::Unavailable => {
                self.hasher.dummy_verify(password.expose());
                return Ok(None);
            }
        };
        let hash = self.hasher.hash(password.expose(), &*self.rng);
        let fresh_id = self.rng.uuid_v4();
        let now = self.now();
        let captured = self.store.write(move |tx| {
            let current = match &user {
                Some(u) => tx.user_by_id(u.id)?,
                None => tx.user_by_name(&identity.user_name)?,
            };
            let user = match current {
                // Marked by import: keep its id, name and flags.
                Some(u) if u.password_hash == CAPTURE_MARK => User {
                    password_hash: hash,
                    ..u
                },
                // Captured (or provisioned) meanwhile: the stored hash decides, not this.
                Some(_) => return Ok(None),
                None => {
                    let id = match identity.user_id {
                        Some(id) if tx.user_by_id(id)?.is_none() => id,
                        _ => fresh_id,
                    };
                    User {
                        id,
                        user_name: identity.user_name.trim().to_owned(),
                        password_hash: hash,
                        flags: UserFlags::default(),
                        created_at: now,
                        profile: UserProfile::default(),
                    }
                }
            };
            tx.upsert_user(&user)?;
            let (dialect, endpoint, kind) = super::dual_run::CAPTURE_COUNTER;
            tx.count_comparison(dialect, endpoint, &[kind])?;
            Ok(Some(user))
        })?;
        if let Some(user) = &captured {
            tracing::info!(user = %user.id, "credential capture: user captured from the legacy service");
        }
        Ok(captured)
    }
}

/// The upstream's answer must be about the user who logged in: the same user name, case
/// insensitively (a legacy service answering for another user captures nobody).
fn names_match(typed: &str, user: Option<&User>, identity: &LegacyIdentity) -> bool {
    let answered = user_name_key(&identity.user_name);
    !answered.is_empty()
        && user_name_key(typed) == answered
        && user.is_none_or(|u| user_name_key(&u.user_name) == answered)
}
