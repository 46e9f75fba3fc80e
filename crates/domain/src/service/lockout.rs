//! The login back-off and the one password login every password endpoint makes.
//!
//! A password login is a [`LoginAttempt`]: its lockout keys ([`LoginKeys`]: the account
//! first, then the caller's address), the user it names and the lockout records of its keys,
//! read in one transaction. [`Gatehouse::verify_login`] turns it into a [`VerifiedLogin`] or a
//! refusal: no hash while locked; a dummy verification for an unknown user (the same work as a
//! real one); every key counted on a wrong password; the disabled check only after a right
//! one. [`VerifiedLogin::apply`], inside the write transaction of what the login opens, clears
//! the account's record (never the address's: one right password must not reset the count of
//! a caller guessing other accounts) and upgrades an outdated hash. The order of the keys is a
//! security rule and is written here only.

use std::net::IpAddr;

use time::OffsetDateTime;

use crate::audit::{AuditEvent, FailureReason};
use crate::credentials::{Verification, CAPTURE_MARK};
use crate::error::Error;
use crate::model::{user_name_key, LoginFailure, User};
use crate::secret::Secret;
use crate::store::{ReadTx, Store, WriteTx};

use super::{later, Gatehouse, Result};

/// The lockout keys of one password login: `account` (`user:<name key>`, or `member:<id>`
/// for a member id nobody holds) and, when the caller's address is known, `address`
/// (`ip:<address>`, see [`address_key`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoginKeys {
    account: String,
    address: Option<String>,
    ip: Option<IpAddr>,
}

impl LoginKeys {
    /// The keys of a login by user name.
    pub(crate) fn of_user(user_name: &str, ip: Option<IpAddr>) -> Self {
        Self::new(account_key(user_name), ip)
    }

    /// The keys of a login whose account key is `account`.
    pub(crate) fn new(account: String, ip: Option<IpAddr>) -> Self {
        Self {
            account,
            address: ip.map(address_key),
            ip,
        }
    }

    /// Every key, the account first.
    fn all(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.account.as_str()).chain(self.address.as_deref())
    }

    /// Who and from where, for the audit log: the account key without its kind, the address
    /// without `ip:`.
    fn subject(&self) -> (String, Option<String>) {
        let who = self
            .account
            .split_once(':')
            .map_or(self.account.as_str(), |(_, v)| v);
        let address = self
            .address
            .as_deref()
            .map(|a| a.strip_prefix("ip:").unwrap_or(a));
        (who.to_owned(), address.map(str::to_owned))
    }
}

/// One password login as read: its keys, the user it names (if any) and the lockout record of
/// each key, in the order of [`LoginKeys::all`].
pub(crate) struct LoginAttempt {
    keys: LoginKeys,
    /// The user name typed, for a login by user name (what credential capture asks about).
    user_name: Option<String>,
    user: Option<User>,
    records: Vec<Option<LoginFailure>>,
}

impl LoginAttempt {
    /// Reads the lockout records of `keys` for a login of `user`.
    pub(crate) fn read<T: ReadTx + ?Sized>(
        tx: &mut T,
        keys: LoginKeys,
        user: Option<User>,
    ) -> Result<Self> {
        let records = keys
            .all()
            .map(|k| tx.login_failure(k))
            .collect::<Result<_>>()?;
        Ok(Self {
            keys,
            user_name: None,
            user,
            records,
        })
    }

    /// Reads the user named `user_name` and the lockout records of a login by that name.
    pub(crate) fn read_by_name<T: ReadTx + ?Sized>(
        tx: &mut T,
        user_name: &str,
        ip: Option<IpAddr>,
    ) -> Result<Self> {
        let user = tx.user_by_name(user_name)?;
        Ok(Self {
            user_name: Some(user_name.to_owned()),
            ..Self::read(tx, LoginKeys::of_user(user_name, ip), user)?
        })
    }

    /// The latest lock of any key still in force.
    fn locked_until(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        self.records
            .iter()
            .flatten()
            .filter_map(|r| r.locked_until)
            .filter(|until| *until > now)
            .max()
    }
}

/// A login whose password checked out. [`VerifiedLogin::apply`] it in the write transaction
/// of what the login opens.
pub(crate) struct VerifiedLogin {
    pub(crate) user: User,
    account: String,
    new_hash: Option<String>,
}

impl VerifiedLogin {
    /// Clears the account's lockout record (not the address's) and stores the upgraded hash,
    /// if any (only over the hash that was verified: a concurrent password change wins).
    pub(crate) fn apply(&self, tx: &mut dyn WriteTx) -> Result<()> {
        tx.clear_login_failure(&self.account)?;
        if let Some(new_hash) = &self.new_hash {
            if let Some(mut current) = tx.user_by_id(self.user.id)? {
                if current.password_hash == self.user.password_hash {
                    current.password_hash = new_hash.clone();
                    tx.upsert_user(&current)?;
                }
            }
        }
        Ok(())
    }
}

pub(crate) fn account_key(user_name: &str) -> String {
    format!("user:{}", user_name_key(user_name))
}

/// The lockout key of an address. An IPv6 caller is keyed by its /64: one subscriber
/// usually holds a whole /64 and could otherwise rotate through it at will. IPv4-mapped
/// IPv6 addresses count as the IPv4 address.
pub(crate) fn address_key(ip: IpAddr) -> String {
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
    /// A password login by user name: [`LoginAttempt::read_by_name`] in its own read
    /// transaction, then [`Gatehouse::verify_login`].
    pub(crate) fn login_by_name(
        &self,
        user_name: &str,
        password: &Secret,
        ip: Option<IpAddr>,
    ) -> Result<VerifiedLogin> {
        let attempt = self
            .store
            .read(|tx| LoginAttempt::read_by_name(tx, user_name, ip))?;
        self.verify_login(attempt, password)
    }

    /// Lockout check, password verification, failure recording: the user whose password was
    /// right, with a new hash if the stored one should be upgraded.
    ///
    /// # Errors
    /// `Locked` (no hash computed), `InvalidCredentials` (every key counted),
    /// `AccountDisabled` (only after a right password), `Storage`.
    pub(crate) fn verify_login(
        &self,
        attempt: LoginAttempt,
        password: &Secret,
    ) -> Result<VerifiedLogin> {
        let now = self.now();
        let (who, address) = attempt.keys.subject();
        let failed = |reason| AuditEvent::LoginFailed {
            user: who.clone(),
            address: address.clone(),
            reason,
        };
        if let Some(until) = attempt.locked_until(now) {
            self.audit(failed(FailureReason::Locked));
            return Err(Error::Locked {
                retry_after: until - now,
            });
        }
        let (verdict, user) = self.check_password(&attempt, password)?;
        let (Verification::Valid | Verification::ValidNeedsRehash, Some(user)) = (verdict, user)
        else {
            self.record_login_failure(&attempt.keys, now)?;
            self.audit(failed(FailureReason::BadCredentials));
            return Err(Error::InvalidCredentials);
        };
        if user.flags.disabled {
            self.audit(failed(FailureReason::Disabled));
            return Err(Error::AccountDisabled);
        }
        self.audit(AuditEvent::LoginSucceeded { user: who, address });
        let new_hash = verdict
            .needs_rehash()
            .then(|| self.hasher.hash(password.expose(), &*self.rng));
        Ok(VerifiedLogin {
            user,
            account: attempt.keys.account,
            new_hash,
        })
    }

    /// The password checked by the legacy service (credential capture, for a user unknown
    /// here or marked by import) or against the stored hash (then padded to the upstream's
    /// time while capture is on). One PBKDF2 computation either way.
    fn check_password(
        &self,
        attempt: &LoginAttempt,
        password: &Secret,
    ) -> Result<(Verification, Option<User>)> {
        // A login by another key (the member dialect's `MemberId`) of a user import marked
        // `capture` is asked about by that user's name; one of a user unknown here names
        // nobody the legacy service could be asked about.
        let name = attempt.user_name.as_deref().or_else(|| {
            attempt
                .user
                .as_ref()
                .filter(|u| u.password_hash == crate::credentials::CAPTURE_MARK)
                .map(|u| u.user_name.as_str())
        });
        match name {
            Some(name) if self.captures(attempt.user.as_ref()) => Ok(
                match self.capture(name, attempt.user.clone(), password, attempt.keys.ip)? {
                    Some(user) => (Verification::Valid, Some(user)),
                    None => (Verification::Invalid, None),
                },
            ),
            _ => {
                let verdict = self.check_hash(attempt.user.as_ref(), password);
                self.pad_local_login();
                Ok((verdict, attempt.user.clone()))
            }
        }
    }

    /// The password against the user's stored hash; for no user (or an unreadable hash) a
    /// dummy verification of the same cost, so the answer's timing does not tell.
    fn check_hash(&self, user: Option<&User>, password: &Secret) -> Verification {
        match user {
            None => {
                self.hasher.dummy_verify(password.expose());
                Verification::Invalid
            }
            Some(user) if user.password_hash == CAPTURE_MARK => {
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
        }
    }

    /// Counts a wrong password against every key of the login, and audits each lock it sets.
    fn record_login_failure(&self, keys: &LoginKeys, now: OffsetDateTime) -> Result<()> {
        let keys: Vec<String> = keys.all().map(str::to_owned).collect();
        let policy = self.config.lockout.clone();
        let written = self.store.write(move |tx| {
            keys.iter()
                .map(|key| record_failure(tx, key, now, &policy))
                .collect::<Result<Vec<_>>>()
        })?;
        for record in written {
            if let Some(until) = record.locked_until.filter(|u| *u > now) {
                self.audit(AuditEvent::LockedOut {
                    key: record.key,
                    failures: record.failures,
                    until: crate::audit::rfc3339(until),
                });
            }
        }
        Ok(())
    }
}

pub(crate) fn record_failure(
    tx: &mut dyn WriteTx,
    key: &str,
    now: OffsetDateTime,
    policy: &crate::config::LockoutPolicy,
) -> Result<LoginFailure> {
    let previous = tx
        .login_failure(key)?
        .filter(|r| now - r.last_failure_at < policy.forget_after)
        .map_or(0, |r| r.failures);
    let failures = previous.saturating_add(1);
    let record = LoginFailure {
        key: key.to_owned(),
        failures,
        last_failure_at: now,
        locked_until: policy.delay_after(failures).map(|d| later(now, d)),
    };
    tx.put_login_failure(&record)?;
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_account_key_comes_first_and_the_audit_names_no_kind() {
        let keys = LoginKeys::of_user("alice", Some(IpAddr::from([10, 0, 0, 1])));
        assert_eq!(
            keys.all().collect::<Vec<_>>(),
            ["user:alice", "ip:10.0.0.1"]
        );
        assert_eq!(
            keys.subject(),
            ("alice".to_owned(), Some("10.0.0.1".to_owned()))
        );
        let member = LoginKeys::new("member:M-7".to_owned(), None);
        assert_eq!(member.all().collect::<Vec<_>>(), ["member:M-7"]);
        assert_eq!(member.subject(), ("M-7".to_owned(), None));
    }
}
