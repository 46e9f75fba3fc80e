//! The login back-off: lockout keys (per account, per address), password verification with
//! failure counting, and what a successful login clears or upgrades.

use std::net::IpAddr;

use time::OffsetDateTime;

use crate::audit::{AuditEvent, FailureReason};
use crate::credentials::Verification;
use crate::error::Error;
use crate::model::{user_name_key, LoginFailure, User};
use crate::secret::Secret;
use crate::store::{ReadTx, Store, WriteTx};

use super::{later, Gatehouse, Result};

/// A login whose password checked out.
pub(crate) struct VerifiedLogin {
    pub(crate) user: User,
    new_hash: Option<String>,
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
    /// Lockout check, password verification, failure recording. Returns the user whose
    /// password was right, with a new hash if the stored one should be upgraded.
    pub(crate) fn verify_password(
        &self,
        keys: &[String],
        records: &[Option<LoginFailure>],
        user: Option<User>,
        password: &Secret,
    ) -> Result<VerifiedLogin> {
        let now = self.now();
        let locked_until = records
            .iter()
            .flatten()
            .filter_map(|r| r.locked_until)
            .filter(|until| *until > now)
            .max();
        let (who, address) = crate::audit::login_subject(keys);
        let failed = |reason| AuditEvent::LoginFailed {
            user: who.clone(),
            address: address.clone(),
            reason,
        };
        if let Some(until) = locked_until {
            self.audit(failed(FailureReason::Locked));
            return Err(Error::Locked {
                retry_after: until - now,
            });
        }
        let verdict = match &user {
            None => {
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
        };
        let user = match (verdict, user) {
            (Verification::Valid | Verification::ValidNeedsRehash, Some(user)) => user,
            _ => {
                let keys = keys.to_vec();
                let policy = self.config.lockout.clone();
                let written = self.store.write(move |tx| {
                    keys.iter()
                        .map(|key| record_failure(tx, key, now, &policy))
                        .collect::<Result<Vec<_>>>()
                })?;
                self.audit(failed(FailureReason::BadCredentials));
                for record in written {
                    if let Some(until) = record.locked_until.filter(|u| *u > now) {
                        self.audit(AuditEvent::LockedOut {
                            key: record.key,
                            failures: record.failures,
                            until: crate::audit::rfc3339(until),
                        });
                    }
                }
                return Err(Error::InvalidCredentials);
            }
        };
        if user.flags.disabled {
            self.audit(failed(FailureReason::Disabled));
            return Err(Error::AccountDisabled);
        }
        self.audit(AuditEvent::LoginSucceeded { user: who, address });
        let new_hash = verdict
            .needs_rehash()
            .then(|| self.hasher.hash(password.expose(), &*self.rng));
        Ok(VerifiedLogin { user, new_hash })
    }
}

pub(crate) fn lockout_records<T: ReadTx + ?Sized>(
    tx: &mut T,
    keys: &[String],
) -> Result<Vec<Option<LoginFailure>>> {
    keys.iter().map(|k| tx.login_failure(k)).collect()
}

pub(crate) fn login_keys(account: String, ip: Option<IpAddr>) -> Vec<String> {
    let mut keys = vec![account];
    if let Some(ip) = ip {
        keys.push(address_key(ip));
    }
    keys
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

pub(crate) fn apply_login_success(
    tx: &mut dyn WriteTx,
    account_key: &str,
    login: &VerifiedLogin,
) -> Result<()> {
    tx.clear_login_failure(account_key)?;
    if let Some(new_hash) = &login.new_hash {
        // Only upgrade the hash that was verified; a concurrent password change wins.
        if let Some(mut current) = tx.user_by_id(login.user.id)? {
            if current.password_hash == login.user.password_hash {
                current.password_hash = new_hash.clone();
                tx.upsert_user(&current)?;
            }
        }
    }
    Ok(())
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
}
