//! Who may call the admin API (`--admin-bind`): a Bearer access token issued by the
//! client-credentials grant to a confidential client that holds the [`ADMIN_SCOPE`] scope,
//! both in the token and (still) in the client's registration. Validated exactly as
//! introspection validates a token ([`Gatehouse::validate_access_token`]: known, not expired,
//! not revoked, session live), then the rules of [`judge`].
//!
//! Also what the admin API shows beyond the operator module: every lockout record.

use time::OffsetDateTime;

use crate::error::Error;
use crate::model::Client;
use crate::store::Store;

use super::introspect::TokenInfo;
use super::operator::LockoutState;
use super::{Gatehouse, Result};

/// The scope a client must hold (in its registration and in the token) to call the admin API.
pub const ADMIN_SCOPE: &str = "gatehouse:admin";

/// At most this many lockout records are listed at once.
pub const MAX_LOCKOUTS_LISTED: u32 = 1000;

/// Why a Bearer token may not call the admin API (the `reason` of the `admin_refused` audit
/// event; the first two are RFC 6750 `invalid_token`, the others `insufficient_scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminRefusal {
    /// No `Authorization: Bearer` header.
    NoToken,
    /// Unknown, expired, revoked, or its session ended.
    InvalidToken,
    /// A user's token (any grant but client credentials): the admin API is for machines.
    UserToken,
    /// The client is public (or gone): only a confidential client may administer.
    NotConfidential,
    /// The token, or the client's registration, lacks [`ADMIN_SCOPE`].
    MissingScope,
}

impl AdminRefusal {
    /// The stable name (audit `reason`, problem `detail`).
    pub fn as_str(self) -> &'static str {
        match self {
            AdminRefusal::NoToken => "no_token",
            AdminRefusal::InvalidToken => "invalid_token",
            AdminRefusal::UserToken => "user_token",
            AdminRefusal::NotConfidential => "not_confidential",
            AdminRefusal::MissingScope => "missing_scope",
        }
    }

    /// RFC 6750: `invalid_token` (401) or `insufficient_scope` (403); `None` for no token
    /// (401 with a bare challenge, section 3.1).
    pub fn bearer_error(self) -> Option<&'static str> {
        match self {
            AdminRefusal::NoToken => None,
            AdminRefusal::InvalidToken => Some("invalid_token"),
            _ => Some("insufficient_scope"),
        }
    }
}

/// An admin API caller that passed [`judge`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminCaller {
    /// The client id (the operator named in the audit trail).
    pub client_id: String,
}

fn holds_scope(scope: &str) -> bool {
    scope.split_whitespace().any(|s| s == ADMIN_SCOPE)
}

/// The rule, given a live token and its client as registered now: a client-credentials
/// token (no user), of a confidential client, with [`ADMIN_SCOPE`] in the token and in the
/// client's current scope (withdrawing the scope from the client stops its tokens at once).
///
/// # Errors
/// The [`AdminRefusal`].
pub fn judge(
    info: &TokenInfo,
    client: Option<&Client>,
) -> std::result::Result<AdminCaller, AdminRefusal> {
    if info.user.is_some() {
        return Err(AdminRefusal::UserToken);
    }
    let client = client.ok_or(AdminRefusal::NotConfidential)?;
    if !client.is_confidential() {
        return Err(AdminRefusal::NotConfidential);
    }
    if !holds_scope(&info.scope) || !holds_scope(&client.scope) {
        return Err(AdminRefusal::MissingScope);
    }
    Ok(AdminCaller {
        client_id: client.client_id.clone(),
    })
}

impl<S: Store> Gatehouse<S> {
    /// Validates an admin API Bearer token ([`judge`]). A write may happen (a legacy Katana
    /// ticket's adoption): call on a blocking worker.
    ///
    /// # Errors
    /// `Storage` (outer); the refusal (inner).
    pub fn authorize_admin(
        &self,
        token: &str,
    ) -> Result<std::result::Result<AdminCaller, AdminRefusal>> {
        let info = match self.validate_access_token(token) {
            Ok(info) => info,
            Err(Error::InvalidToken) => return Ok(Err(AdminRefusal::InvalidToken)),
            Err(e) => return Err(e),
        };
        let client = match &info.client_id {
            Some(id) => self.store().read(|tx| tx.client(id))?,
            None => None,
        };
        Ok(judge(&info, client.as_ref()))
    }

    /// Ends the session of a live access token (and every token of it): the admin console's
    /// sign-out, and its refusal of a non-operator's sign-in (the console is a public client,
    /// which RFC 7009 revocation does not serve). `false` when the token was not live.
    ///
    /// # Errors
    /// `Storage`.
    pub fn end_session_of_token(&self, token: &str) -> Result<bool> {
        let session = match self.validate_access_token(token) {
            Ok(info) => info.session_id,
            Err(Error::InvalidToken) => return Ok(false),
            Err(e) => return Err(e),
        };
        let now = self.now();
        self.store().write(move |tx| tx.end_session(session, now))
    }

    /// Lockout records (accounts `user:`, member ids `member:`, addresses `ip:`), by key,
    /// those starting with `prefix` when given, at most [`MAX_LOCKOUTS_LISTED`].
    ///
    /// # Errors
    /// `Storage`.
    pub fn list_lockouts(&self, prefix: Option<&str>) -> Result<Vec<LockoutState>> {
        let now: OffsetDateTime = self.now();
        let records = self
            .store()
            .read(|tx| tx.login_failures(prefix, MAX_LOCKOUTS_LISTED))?;
        Ok(records
            .into_iter()
            .map(|r| LockoutState::of(r, now))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::{TokenKind, UserInfo};
    use uuid::Uuid;

    fn info(scope: &str, user: bool) -> TokenInfo {
        TokenInfo {
            kind: TokenKind::Access,
            session_id: Uuid::nil(),
            client_id: Some("ops".to_owned()),
            user: user.then(|| UserInfo {
                id: Uuid::nil(),
                user_name: "alice".to_owned(),
                flags: crate::model::UserFlags::default(),
            }),
            scope: scope.to_owned(),
            issued_at: OffsetDateTime::UNIX_EPOCH,
            expires_at: OffsetDateTime::UNIX_EPOCH,
            audience: None,
            act: None,
            jkt: None,
        }
    }

    fn client(scope: &str, confidential: bool) -> Client {
        Client {
            client_id: "ops".into(),
            secret_hash: confidential.then(|| {
                crate::secret::hash_client_secret(
                    &crate::secret::Secret::new("s"),
                    &crate::rng::SeededRng::new(1),
                )
            }),
            grants: crate::model::GrantSet::all(),
            scope: scope.to_owned(),
            access_token_lifetime: None,
            refresh_token_lifetime: None,
            redirect_url: None,
            broker_id: None,
            redirect_uris: Vec::new(),
            consent_required: false,
            client_name: None,
            introspect_any: false,
            access_token_format: Default::default(),
            signing: Default::default(),
            jwks: None,
        }
    }

    #[test]
    fn only_a_confidential_client_credentials_token_with_the_scope_passes() {
        let admin = client("api gatehouse:admin", true);
        assert_eq!(
            judge(&info("gatehouse:admin", false), Some(&admin)),
            Ok(AdminCaller {
                client_id: "ops".to_owned()
            })
        );
        assert_eq!(
            judge(&info("gatehouse:admin", true), Some(&admin)),
            Err(AdminRefusal::UserToken)
        );
        assert_eq!(
            judge(&info("api", false), Some(&admin)),
            Err(AdminRefusal::MissingScope)
        );
        assert_eq!(
            judge(&info("gatehouse:administrator", false), Some(&admin)),
            Err(AdminRefusal::MissingScope)
        );
        // The scope withdrawn from the client: its old tokens stop.
        assert_eq!(
            judge(&info("gatehouse:admin", false), Some(&client("api", true))),
            Err(AdminRefusal::MissingScope)
        );
        assert_eq!(
            judge(
                &info("gatehouse:admin", false),
                Some(&client("gatehouse:admin", false))
            ),
            Err(AdminRefusal::NotConfidential)
        );
        assert_eq!(
            judge(&info("gatehouse:admin", false), None),
            Err(AdminRefusal::NotConfidential)
        );
    }
}
