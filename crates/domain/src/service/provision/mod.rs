//! Provisioning one at a time (the command line, later the admin surface): users and
//! clients from a [`UserSpec`] or [`ClientSpec`] ([`spec`], the one validation import
//! shares), passwords, disabling, secrets, keys; and the one rule for what a change of
//! credentials or a disable ends ([`store_user`]).

mod spec;

pub(crate) use spec::check_name;
pub use spec::{check_jwks, ClientSecretSpec, ClientSpec, UserSpec, ValidClient};

use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Error;
use crate::model::{Client, User};
use crate::secret::{generate_client_secret, hash_client_secret, Secret};
use crate::service::lockout::account_key;
use crate::service::{Gatehouse, Result};
use crate::store::{Store, WriteTx};

/// Whether going from `before` to `after` ends every session of the user: a new password
/// (RFC 9700 section 4.14) or a disable. A re-enable does not revive them.
pub(crate) fn ends_sessions(before: &User, after: &User) -> bool {
    before.password_hash != after.password_hash || (after.flags.disabled && !before.flags.disabled)
}

/// Ends every session of a user: token sessions (with their access and refresh tokens and
/// every session derived from them), browser sessions, and codes not yet redeemed. The one
/// call that does (import, `user passwd`, `user disable`, `user logout`).
///
/// # Errors
/// `Storage`.
pub(crate) fn end_user_sessions(
    tx: &mut dyn WriteTx,
    user: Uuid,
    now: OffsetDateTime,
) -> Result<u64> {
    tx.end_user_sessions(user, now)
}

/// Stores `after` over the stored `before` (`None`: a new user), ending the user's sessions
/// when [`ends_sessions`] says so.
///
/// # Errors
/// `Storage`.
pub(crate) fn store_user(
    tx: &mut dyn WriteTx,
    before: Option<&User>,
    after: &User,
    now: OffsetDateTime,
) -> Result<()> {
    if before.is_some_and(|b| ends_sessions(b, after)) {
        end_user_sessions(tx, after.id, now)?;
    }
    tx.upsert_user(after)
}

/// RFC 9068 section 5: a client-credentials JWT's `sub` is the client id and a user's token's
/// the user's GUID, and `aud` is the client's audience (else its id). Refused, inside the
/// write transaction: a client id that is a user's GUID, and an audience that is another
/// client's id (issue 19 item 9).
///
/// # Errors
/// `Conflict`, `Storage`.
pub(crate) fn check_subjects(tx: &mut dyn WriteTx, client: &Client) -> Result<()> {
    if let Ok(id) = Uuid::parse_str(&client.client_id) {
        if tx.user_by_id(id)?.is_some() {
            return Err(Error::Conflict(format!(
                "client {}: its id is a user's id, so JWT subjects would collide (RFC 9068 section 5)",
                client.client_id
            )));
        }
    }
    if let Some(audience) = client.signing.audience.as_deref() {
        if audience != client.client_id && tx.client(audience)?.is_some() {
            return Err(Error::Conflict(format!(
                "client {}: its audience is another client's id",
                client.client_id
            )));
        }
    }
    Ok(())
}

impl<S: Store> Gatehouse<S> {
    /// Creates a user with a password (hashed here: run on the hash pool).
    ///
    /// # Errors
    /// `InvalidRequest`, `Conflict` (name taken), `Storage`.
    pub fn add_user(&self, spec: UserSpec, password: &Secret) -> Result<User> {
        let user_name = spec.check(self.config().max_name_bytes)?;
        if password.is_empty() {
            return Err(Error::InvalidRequest("the password is empty".to_owned()));
        }
        let user = User {
            id: self.rng().uuid_v4(),
            user_name,
            password_hash: self.hasher().hash(password.expose(), self.rng()),
            flags: spec.flags,
            created_at: self.now(),
            profile: spec.profile,
        };
        let stored = user.clone();
        self.store().write(move |tx| {
            if tx.user_by_name(&stored.user_name)?.is_some() {
                return Err(Error::Conflict(format!(
                    "user {} already exists",
                    stored.user_name
                )));
            }
            tx.upsert_user(&stored)
        })?;
        Ok(user)
    }

    /// Sets a user's password (hashed here); every session of the old password ends, and
    /// the account's lockout is lifted.
    ///
    /// # Errors
    /// `InvalidRequest`, `NotFound`, `Storage`.
    pub fn set_password(&self, user_name: &str, password: &Secret) -> Result<()> {
        if password.is_empty() {
            return Err(Error::InvalidRequest("the password is empty".to_owned()));
        }
        let hash = self.hasher().hash(password.expose(), self.rng());
        let key = account_key(user_name);
        self.change_user(
            user_name,
            move |user| user.password_hash = hash,
            move |tx| tx.clear_login_failure(&key),
        )
    }

    /// Disables or re-enables a user. Disabling ends every session of the user at once;
    /// re-enabling does not revive them.
    ///
    /// # Errors
    /// `NotFound`, `Storage`.
    pub fn set_user_disabled(&self, user_name: &str, disabled: bool) -> Result<()> {
        self.change_user(
            user_name,
            move |user| user.flags.disabled = disabled,
            |_| Ok(()),
        )
    }

    /// Applies `change` to the stored user of that name through [`store_user`], then `also`,
    /// in one write transaction.
    fn change_user(
        &self,
        user_name: &str,
        change: impl FnOnce(&mut User) + Send + 'static,
        also: impl FnOnce(&mut dyn WriteTx) -> Result<()> + Send + 'static,
    ) -> Result<()> {
        let name = user_name.to_owned();
        let now = self.now();
        let targets = self.store().write(move |tx| {
            let before = tx
                .user_by_name(&name)?
                .ok_or_else(|| Error::NotFound(format!("user {name}")))?;
            let mut after = before.clone();
            change(&mut after);
            let targets = if ends_sessions(&before, &after) {
                tx.backchannel_targets(None, before.id)?
            } else {
                Vec::new()
            };
            store_user(tx, Some(&before), &after, now)?;
            also(tx)?;
            Ok(targets)
        })?;
        self.notify_backchannel(targets);
        Ok(())
    }

    /// Creates a client with its logout and PAR settings; a [`ClientSecretSpec::Generate`]
    /// one gets a generated secret, returned once.
    ///
    /// # Errors
    /// `InvalidRequest`, `Conflict` (id taken, JWT subjects that would collide),
    /// `SigningUnavailable`, `Storage`.
    pub fn add_client(&self, spec: ClientSpec) -> Result<Option<Secret>> {
        let (hash, secret) = self.resolve_client_secret(&spec.client_id, &spec.secret, None)?;
        let valid = self.client_of(spec, hash)?;
        self.store().write(move |tx| {
            if tx.client(&valid.client.client_id)?.is_some() {
                return Err(Error::Conflict(format!(
                    "client {} already exists",
                    valid.client.client_id
                )));
            }
            check_subjects(tx, &valid.client)?;
            tx.upsert_client(&valid.client)?;
            valid.put_settings(tx)
        })?;
        Ok(secret)
    }

    /// Gives a client a new generated secret (returned once); the old one stops working.
    ///
    /// # Errors
    /// `NotFound`, `Storage`.
    pub fn rotate_client_secret(&self, client_id: &str) -> Result<Secret> {
        let secret = generate_client_secret(self.rng());
        let hash = hash_client_secret(&secret, self.rng());
        let id = client_id.to_owned();
        self.store().write(move |tx| {
            let mut client = tx
                .client(&id)?
                .ok_or_else(|| Error::NotFound(format!("client {id}")))?;
            client.secret_hash = Some(hash);
            tx.upsert_client(&client)
        })?;
        Ok(secret)
    }

    /// Registers (or with `None` removes) a client's public keys for `private_key_jwt`; its
    /// secret, if any, keeps working (a migration holds both). Removing the keys of a client
    /// without a secret is refused: it would become public.
    ///
    /// # Errors
    /// `InvalidRequest`, `NotFound`, `Storage`.
    pub fn set_client_jwks(&self, client_id: &str, jwks: Option<&str>) -> Result<()> {
        let jwks = check_jwks(client_id, jwks)?;
        let id = client_id.to_owned();
        self.store().write(move |tx| {
            let mut client = tx
                .client(&id)?
                .ok_or_else(|| Error::NotFound(format!("client {id}")))?;
            if jwks.is_none() && client.secret_hash.is_none() {
                return Err(Error::InvalidRequest(format!(
                    "client {id} has no secret: removing its keys would make it public"
                )));
            }
            client.jwks = jwks;
            tx.upsert_client(&client)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> User {
        User {
            id: Uuid::nil(),
            user_name: "alice".to_owned(),
            password_hash: "pbkdf2-sha256$1000$c2FsdA$aGFzaA".to_owned(),
            flags: crate::model::UserFlags::default(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            profile: crate::model::UserProfile::default(),
        }
    }

    #[test]
    fn a_new_password_or_a_disable_ends_sessions_a_re_enable_or_a_flag_does_not() {
        let before = alice();
        let mut new_password = before.clone();
        new_password.password_hash.push('x');
        assert!(ends_sessions(&before, &new_password));
        let mut disabled = before.clone();
        disabled.flags.disabled = true;
        assert!(ends_sessions(&before, &disabled));
        assert!(!ends_sessions(&disabled, &disabled), "already disabled");
        assert!(
            !ends_sessions(&disabled, &before),
            "a re-enable revives nothing"
        );
        let mut editor = before.clone();
        editor.flags.editor = true;
        editor.profile.name = Some("Alice".to_owned());
        assert!(!ends_sessions(&before, &editor));
    }

    #[test]
    fn a_spec_never_shows_its_secret() {
        let spec = ClientSpec {
            secret: ClientSecretSpec::Plain(Secret::new("very-secret-value")),
            jwks: Some("{\"keys\":[]}".to_owned()),
            ..ClientSpec::new("c")
        };
        let shown = format!("{spec:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        let hash = ClientSecretSpec::Hash("hmac-sha256$salt$mac".to_owned());
        assert_eq!(format!("{hash:?}"), "Hash(..)");
    }
}
