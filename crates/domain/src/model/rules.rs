//! The validity rules of the entities: pure functions of an entity and the time, each
//! returning a typed rejection. The service reads the rows, asks them, and maps a rejection
//! to its error (`GrantRejection`, `InvalidToken`, an inactive introspection).

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{AccessToken, AuthorizationCode, OneTimeCode, RefreshToken, Session, User};

/// Why a user cannot hold or obtain tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserRejection {
    /// The account is disabled.
    Disabled,
    /// The account no longer exists.
    Unknown,
}

impl User {
    /// Whether the account may hold live tokens.
    ///
    /// # Errors
    /// [`UserRejection::Disabled`].
    pub fn check(&self) -> Result<(), UserRejection> {
        if self.flags.disabled {
            Err(UserRejection::Disabled)
        } else {
            Ok(())
        }
    }
}

/// Why a session is not live by itself (its ancestors and the token that issued its code
/// are the service's to follow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionRejection {
    /// Ended (revocation, reuse, logout, password change, disable).
    Ended,
    /// Past its absolute end.
    Expired,
}

impl Session {
    /// The absolute end (sessions stored before it was recorded: `max` from their start).
    pub fn end(&self, max: Duration) -> OffsetDateTime {
        self.expires_at.unwrap_or_else(|| {
            self.created_at
                .checked_add(max)
                .unwrap_or_else(|| time::PrimitiveDateTime::MAX.assume_utc())
        })
    }

    /// Whether the session itself is live at `now`.
    ///
    /// # Errors
    /// [`SessionRejection::Ended`], then [`SessionRejection::Expired`].
    pub fn check(&self, now: OffsetDateTime, max: Duration) -> Result<(), SessionRejection> {
        if self.ended_at.is_some() {
            Err(SessionRejection::Ended)
        } else if self.end(max) <= now {
            Err(SessionRejection::Expired)
        } else {
            Ok(())
        }
    }
}

/// Why an access or refresh token is not usable by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRejection {
    /// Revoked.
    Revoked,
    /// Past its expiry.
    Expired,
    /// A refresh token already exchanged for a successor, at this instant.
    Rotated(OffsetDateTime),
}

impl AccessToken {
    /// Whether the token itself is live at `now`.
    ///
    /// # Errors
    /// [`TokenRejection::Revoked`], then [`TokenRejection::Expired`].
    pub fn check(&self, now: OffsetDateTime) -> Result<(), TokenRejection> {
        if self.revoked_at.is_some() {
            Err(TokenRejection::Revoked)
        } else if self.expires_at <= now {
            Err(TokenRejection::Expired)
        } else {
            Ok(())
        }
    }
}

impl RefreshToken {
    /// Whether `client_id` is the client it was issued to.
    pub fn issued_to(&self, client_id: &str) -> bool {
        self.client_id.as_deref() == Some(client_id)
    }

    /// Whether the token itself may be exchanged at `now`.
    ///
    /// # Errors
    /// [`TokenRejection::Revoked`], then [`TokenRejection::Expired`], then
    /// [`TokenRejection::Rotated`] (the refresh grant decides whether a rotated token gets
    /// its grace retry).
    pub fn check(&self, now: OffsetDateTime) -> Result<(), TokenRejection> {
        if self.revoked_at.is_some() {
            Err(TokenRejection::Revoked)
        } else if self.expires_at <= now {
            Err(TokenRejection::Expired)
        } else if let Some(at) = self.rotated_at {
            Err(TokenRejection::Rotated(at))
        } else {
            Ok(())
        }
    }
}

/// Why a code (authorization or one-time) cannot be redeemed by a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRejection {
    /// Issued to (or for) another client.
    WrongClient,
    /// Already redeemed: a replay.
    Consumed,
    /// Withdrawn before any redemption: the browser session that issued it ended, or its
    /// user changed password or was disabled (consumed without opening a session).
    Withdrawn,
    /// Past its expiry.
    Expired,
}

/// The one rule of both kinds of code, in this order: the client, single use, expiry.
fn check_code(
    redeemer: &str,
    consumed_at: Option<OffsetDateTime>,
    redeemed_into: Option<Uuid>,
    expires_at: OffsetDateTime,
    client_id: &str,
    now: OffsetDateTime,
) -> Result<(), CodeRejection> {
    if redeemer != client_id {
        Err(CodeRejection::WrongClient)
    } else if consumed_at.is_some() && redeemed_into.is_none() {
        Err(CodeRejection::Withdrawn)
    } else if consumed_at.is_some() {
        Err(CodeRejection::Consumed)
    } else if expires_at <= now {
        Err(CodeRejection::Expired)
    } else {
        Ok(())
    }
}

impl AuthorizationCode {
    /// Whether `client_id` may redeem the code at `now`.
    ///
    /// # Errors
    /// [`CodeRejection::WrongClient`], then [`CodeRejection::Consumed`], then
    /// [`CodeRejection::Expired`].
    pub fn check(&self, client_id: &str, now: OffsetDateTime) -> Result<(), CodeRejection> {
        check_code(
            &self.client_id,
            self.consumed_at,
            self.session_id,
            self.expires_at,
            client_id,
            now,
        )
    }
}

impl OneTimeCode {
    /// Whether `client_id` may redeem the code at `now`.
    ///
    /// # Errors
    /// As [`AuthorizationCode::check`].
    pub fn check(&self, client_id: &str, now: OffsetDateTime) -> Result<(), CodeRejection> {
        check_code(
            &self.redeeming_client_id,
            self.consumed_at,
            self.session_id,
            self.expires_at,
            client_id,
            now,
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use time::macros::datetime;
    use uuid::Uuid;

    use super::*;
    use crate::secret::TokenDigest;

    const NOW: OffsetDateTime = datetime!(2026-01-01 12:00 UTC);

    fn session() -> Session {
        Session {
            id: Uuid::nil(),
            client_id: Some("c".to_owned()),
            user_id: None,
            client_key: None,
            caller_ip: None,
            created_at: NOW - Duration::hours(1),
            last_used_at: NOW,
            ended_at: None,
            parent_id: None,
            source_token: None,
            expires_at: Some(NOW + Duration::hours(1)),
            grant: None,
        }
    }

    fn refresh() -> RefreshToken {
        RefreshToken {
            digest: TokenDigest::of("r"),
            session_id: Uuid::nil(),
            client_id: Some("c".to_owned()),
            scope: String::new(),
            issued_at: NOW - Duration::minutes(1),
            expires_at: NOW + Duration::minutes(1),
            rotated_at: None,
            successor: None,
            revoked_at: None,
            replayed_at: None,
        }
    }

    fn code() -> AuthorizationCode {
        AuthorizationCode {
            digest: TokenDigest::of("code"),
            client_id: "c".to_owned(),
            user_id: Uuid::nil(),
            issued_at: NOW - Duration::seconds(10),
            expires_at: NOW + Duration::seconds(50),
            consumed_at: None,
            session_id: None,
            redirect_uri: None,
            code_challenge: None,
            scope: None,
            auth_time: None,
            browser_session_id: None,
            nonce: None,
        }
    }

    #[test]
    fn sessions_end_when_ended_or_past_their_absolute_end() {
        let live = session();
        assert_eq!(live.check(NOW, Duration::days(30)), Ok(()));
        let ended = Session {
            ended_at: Some(NOW),
            ..session()
        };
        assert_eq!(
            ended.check(NOW, Duration::days(30)),
            Err(SessionRejection::Ended)
        );
        assert_eq!(
            live.check(NOW + Duration::hours(1), Duration::days(30)),
            Err(SessionRejection::Expired)
        );
        // Stored before the end was recorded: `max` from its start.
        let old = Session {
            expires_at: None,
            ..session()
        };
        assert_eq!(old.end(Duration::hours(2)), NOW + Duration::hours(1));
        assert_eq!(
            old.check(NOW, Duration::minutes(30)),
            Err(SessionRejection::Expired)
        );
        assert_eq!(
            old.end(Duration::MAX),
            time::PrimitiveDateTime::MAX.assume_utc()
        );
    }

    #[test]
    fn refresh_tokens_report_revoked_then_expired_then_rotated() {
        assert_eq!(refresh().check(NOW), Ok(()));
        assert!(refresh().issued_to("c"));
        assert!(!refresh().issued_to("d"));
        let rotated = RefreshToken {
            rotated_at: Some(NOW - Duration::seconds(5)),
            ..refresh()
        };
        assert_eq!(
            rotated.check(NOW),
            Err(TokenRejection::Rotated(NOW - Duration::seconds(5)))
        );
        assert_eq!(
            rotated.check(NOW + Duration::minutes(1)),
            Err(TokenRejection::Expired)
        );
        let revoked = RefreshToken {
            revoked_at: Some(NOW),
            ..rotated
        };
        assert_eq!(
            revoked.check(NOW + Duration::minutes(1)),
            Err(TokenRejection::Revoked)
        );
    }

    #[test]
    fn access_tokens_report_revoked_then_expired() {
        let token = AccessToken {
            digest: TokenDigest::of("a"),
            session_id: Uuid::nil(),
            client_id: None,
            user_id: None,
            scope: String::new(),
            issued_at: NOW,
            expires_at: NOW + Duration::minutes(20),
            revoked_at: None,
        };
        assert_eq!(token.check(NOW), Ok(()));
        assert_eq!(
            token.check(NOW + Duration::minutes(20)),
            Err(TokenRejection::Expired)
        );
        let revoked = AccessToken {
            revoked_at: Some(NOW),
            ..token
        };
        assert_eq!(
            revoked.check(NOW + Duration::minutes(20)),
            Err(TokenRejection::Revoked)
        );
    }

    #[test]
    fn codes_check_client_then_single_use_then_expiry() {
        assert_eq!(code().check("c", NOW), Ok(()));
        assert_eq!(
            code().check("c", NOW + Duration::seconds(50)),
            Err(CodeRejection::Expired)
        );
        let used = AuthorizationCode {
            consumed_at: Some(NOW),
            session_id: Some(Uuid::from_u128(7)),
            ..code()
        };
        let withdrawn = AuthorizationCode {
            consumed_at: Some(NOW),
            ..code()
        };
        assert_eq!(withdrawn.check("c", NOW), Err(CodeRejection::Withdrawn));
        assert_eq!(
            used.check("c", NOW + Duration::hours(1)),
            Err(CodeRejection::Consumed)
        );
        assert_eq!(
            used.check("d", NOW + Duration::hours(1)),
            Err(CodeRejection::WrongClient)
        );
        let onetime = OneTimeCode {
            digest: TokenDigest::of("otc"),
            issuer_client_id: None,
            issuer_user_id: None,
            user_id: Uuid::nil(),
            redeeming_client_id: "c".to_owned(),
            broker_id: None,
            trading_account: None,
            server: None,
            payload: BTreeMap::new(),
            issued_at: NOW,
            expires_at: NOW + Duration::seconds(60),
            consumed_at: None,
            session_id: None,
            scope: None,
            source_session_id: None,
            source_token: None,
        };
        assert_eq!(onetime.check("c", NOW), Ok(()));
        assert_eq!(onetime.check("d", NOW), Err(CodeRejection::WrongClient));
        assert_eq!(
            onetime.check("c", NOW + Duration::seconds(60)),
            Err(CodeRejection::Expired)
        );
    }
}
