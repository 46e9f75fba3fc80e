//! Validation: an import document checked against the stored state and turned into what
//! the one write transaction stores ([`ImportPlan`]). Hashing and verification happen here,
//! before the transaction.

use std::collections::BTreeSet;

use crate::credentials::{check_stored_hash, Verification, CAPTURE_MARK};
use crate::error::Error;
use crate::model::{user_name_key, Broker, User};
use crate::service::provision::ValidClient;
use crate::service::{Gatehouse, Result};
use crate::store::Store;

use super::document::{ImportDocument, ImportMember, ImportTradingAccount, ImportUser};

/// A document, validated: every row the transaction writes.
#[derive(Debug)]
pub(crate) struct ImportPlan {
    pub(crate) brokers: Vec<Broker>,
    pub(crate) clients: Vec<ValidClient>,
    pub(crate) users: Vec<PlannedUser>,
    /// Plain passwords (re)hashed (the others already matched).
    pub(crate) passwords_hashed: usize,
}

/// A user of the document with its member record and trading accounts.
#[derive(Debug)]
pub(crate) struct PlannedUser {
    pub(crate) user: User,
    pub(crate) member: Option<ImportMember>,
    pub(crate) trading_accounts: Vec<ImportTradingAccount>,
}

impl<S: Store> Gatehouse<S> {
    /// Validates `doc` against the stored clients and users.
    ///
    /// # Errors
    /// As [`Gatehouse::import`].
    pub(crate) fn plan_import(&self, doc: &ImportDocument) -> Result<ImportPlan> {
        let clients = self.plan_clients(doc)?;
        check_unique_names(&doc.users, self.config().max_name_bytes)?;
        let existing = self.store().read(|tx| {
            doc.users
                .iter()
                .map(|u| tx.user_by_name(&u.user_name))
                .collect::<Result<Vec<_>>>()
        })?;
        let mut passwords_hashed = 0;
        let mut users = Vec::with_capacity(doc.users.len());
        for (item, existing) in doc.users.iter().zip(existing) {
            let (user, hashed) = self.plan_user(item, existing.as_ref())?;
            passwords_hashed += usize::from(hashed);
            users.push(PlannedUser {
                user,
                member: item.member.clone(),
                trading_accounts: item.trading_accounts.clone(),
            });
        }
        Ok(ImportPlan {
            brokers: doc
                .brokers
                .iter()
                .map(|b| Broker {
                    id: b.id,
                    name: b.name.clone(),
                })
                .collect(),
            clients,
            users,
            passwords_hashed,
        })
    }

    /// Every client through [`Gatehouse::client_of`]'s rules; plain secrets that verify
    /// against the stored hash keep it. Refused before anything is stored: a bad field, or
    /// a client whose tokens no key could sign.
    fn plan_clients(&self, doc: &ImportDocument) -> Result<Vec<ValidClient>> {
        let existing = self.store().read(|tx| {
            doc.clients
                .iter()
                .map(|c| tx.client(&c.client_id))
                .collect::<Result<Vec<_>>>()
        })?;
        let mut clients = Vec::with_capacity(doc.clients.len());
        for (item, existing) in doc.clients.iter().zip(existing) {
            let spec = item.spec()?;
            let stored = existing.and_then(|c| c.secret_hash);
            let (hash, _) =
                self.resolve_client_secret(&spec.client_id, &spec.secret, stored.as_ref())?;
            clients.push(self.client_of_unkeyed(spec, hash)?);
        }
        let rows: Vec<_> = clients.iter().map(|c| c.client.clone()).collect();
        self.check_clients_keys(&rows)?;
        Ok(clients)
    }

    /// A user of the document over the stored one of that name: its settings checked, its
    /// password hash decided (`true`: hashed now).
    fn plan_user(&self, item: &ImportUser, existing: Option<&User>) -> Result<(User, bool)> {
        if let (Some(id), Some(existing)) = (item.id, existing) {
            if id != existing.id {
                return Err(Error::Conflict(format!(
                    "user {} exists with another id",
                    item.user_name
                )));
            }
        }
        let spec = item.spec();
        let user_name = spec.check(self.config().max_name_bytes)?;
        let (password_hash, hashed) = self.import_password_hash(item, existing)?;
        for account in &item.trading_accounts {
            self.check_name(&account.account, "trading account")?;
            self.check_name(&account.server, "server")?;
        }
        if let Some(member) = &item.member {
            self.check_name(&member.member_id, "member_id")?;
        }
        let user = User {
            id: existing
                .map(|u| u.id)
                .or(item.id)
                .unwrap_or_else(|| self.rng().uuid_v4()),
            user_name,
            password_hash,
            flags: spec.flags,
            created_at: existing.map_or_else(|| self.now(), |u| u.created_at),
            profile: spec.profile,
        };
        Ok((user, hashed))
    }

    /// The stored hash of an imported user: a plain password hashed (kept when the stored
    /// hash already verifies it), a given hash checked, or the stored one.
    fn import_password_hash(
        &self,
        item: &ImportUser,
        existing: Option<&User>,
    ) -> Result<(String, bool)> {
        match (&item.password, &item.password_hash, existing) {
            (Some(_), Some(_), _) => Err(Error::InvalidRequest(format!(
                "user {}: give password or password_hash, not both",
                item.user_name
            ))),
            (Some(password), None, existing) => {
                let verifies = |u: &&User| {
                    self.hasher()
                        .verify(&u.password_hash, password.expose())
                        .is_ok_and(|v| v == Verification::Valid)
                };
                Ok(match existing.filter(verifies) {
                    Some(u) => (u.password_hash.clone(), false),
                    None => (self.hasher().hash(password.expose(), self.rng()), true),
                })
            }
            // A user whose password only the legacy service knows (credential capture).
            (None, Some(hash), _) if hash.trim() == CAPTURE_MARK => {
                Ok((CAPTURE_MARK.to_owned(), false))
            }
            (None, Some(hash), _) => {
                check_stored_hash(hash.trim()).map_err(|e| {
                    Error::InvalidRequest(format!(
                        "user {}: password_hash is not a hash this server can verify ({e})",
                        item.user_name
                    ))
                })?;
                Ok((hash.trim().to_owned(), false))
            }
            (None, None, Some(existing)) => Ok((existing.password_hash.clone(), false)),
            (None, None, None) => Err(Error::InvalidRequest(format!(
                "user {}: a new user needs password or password_hash",
                item.user_name
            ))),
        }
    }
}

/// Every user name given and at most once (case-insensitively).
fn check_unique_names(users: &[ImportUser], max_name_bytes: usize) -> Result<()> {
    let mut seen = BTreeSet::new();
    for item in users {
        crate::service::provision::check_name(&item.user_name, "user_name", max_name_bytes)?;
        if !seen.insert(user_name_key(&item.user_name)) {
            return Err(Error::Conflict(format!(
                "user {} appears twice",
                item.user_name
            )));
        }
    }
    Ok(())
}
