//! The one code redeemer: single-use redemption of authorization codes and one-time codes,
//! inside the write transaction. The rules are written once here: the code's own checks
//! ([`AuthorizationCode::check`], [`OneTimeCode::check`]: client, single use, expiry), what a
//! replay ends, the user's liveness, opening the session and consuming the code
//! conditionally (a lost race rolls everything back).

use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{Error, GrantKind, GrantRejection};
use crate::model::{AuthorizationCode, CodeRejection, OneTimeCode, User};
use crate::secret::TokenDigest;
use crate::store::WriteTx;

use super::introspect::user_of;
use super::tokens::{IssuedTokens, Mint};
use super::Result;

/// A code that can be redeemed once.
pub(crate) trait SingleUseCode: Sized {
    /// Which grant it is (for the rejection's text).
    const KIND: GrantKind;
    /// Logged when a replay ends what the code opened.
    const REPLAY_LOG: &'static str;
    /// The stored code, by digest.
    fn find(tx: &mut dyn WriteTx, digest: &TokenDigest) -> Result<Option<Self>>;
    /// The code's own rule (client, single use, expiry).
    fn check(&self, client_id: &str, now: OffsetDateTime)
        -> std::result::Result<(), CodeRejection>;
    /// The user the code stands for.
    fn user_id(&self) -> Uuid;
    /// Whether the sign-in that issued the code has ended since (its browser session ended,
    /// expired or is gone): an authorization code of `/oauth2/authorize` dies with it.
    fn origin_ended(&self, tx: &mut dyn WriteTx, now: OffsetDateTime) -> Result<bool> {
        let _ = (tx, now);
        Ok(false)
    }
    /// The sessions a replay ends: what the first redemption opened, and for a one-time code
    /// the session that issued it (the whole lineage).
    fn replay_ends(&self) -> Vec<Uuid>;
    /// Consumes it, remembering the session its redemption opened; `false` if it was
    /// consumed meanwhile.
    fn consume(
        tx: &mut dyn WriteTx,
        digest: &TokenDigest,
        now: OffsetDateTime,
        session_id: Uuid,
    ) -> Result<bool>;
}

impl SingleUseCode for AuthorizationCode {
    const KIND: GrantKind = GrantKind::AuthorizationCode;
    const REPLAY_LOG: &'static str = "authorization code reused; its session ended";

    fn find(tx: &mut dyn WriteTx, digest: &TokenDigest) -> Result<Option<Self>> {
        tx.authorization_code(digest)
    }

    fn check(
        &self,
        client_id: &str,
        now: OffsetDateTime,
    ) -> std::result::Result<(), CodeRejection> {
        AuthorizationCode::check(self, client_id, now)
    }

    fn user_id(&self) -> Uuid {
        self.user_id
    }

    fn origin_ended(&self, tx: &mut dyn WriteTx, now: OffsetDateTime) -> Result<bool> {
        let Some(id) = self.browser_session_id else {
            return Ok(false);
        };
        Ok(tx
            .browser_session_by_id(id)?
            .is_none_or(|s| s.ended_at.is_some() || s.expires_at <= now))
    }

    fn replay_ends(&self) -> Vec<Uuid> {
        self.session_id.into_iter().collect()
    }

    fn consume(
        tx: &mut dyn WriteTx,
        digest: &TokenDigest,
        now: OffsetDateTime,
        session_id: Uuid,
    ) -> Result<bool> {
        tx.consume_authorization_code(digest, now, session_id)
    }
}

impl SingleUseCode for OneTimeCode {
    const KIND: GrantKind = GrantKind::OneTimeCode;
    const REPLAY_LOG: &'static str =
        "one-time code reused; its session and the issuing session ended";

    fn find(tx: &mut dyn WriteTx, digest: &TokenDigest) -> Result<Option<Self>> {
        tx.onetime_code(digest)
    }

    fn check(
        &self,
        client_id: &str,
        now: OffsetDateTime,
    ) -> std::result::Result<(), CodeRejection> {
        OneTimeCode::check(self, client_id, now)
    }

    fn user_id(&self) -> Uuid {
        self.user_id
    }

    fn replay_ends(&self) -> Vec<Uuid> {
        // A replayed code was stolen somewhere between issuer and redeemer.
        [self.session_id, self.source_session_id]
            .into_iter()
            .flatten()
            .collect()
    }

    fn consume(
        tx: &mut dyn WriteTx,
        digest: &TokenDigest,
        now: OffsetDateTime,
        session_id: Uuid,
    ) -> Result<bool> {
        tx.consume_onetime_code(digest, now, session_id)
    }
}

/// A redeemed code, its user and the tokens of the session it opened.
pub(crate) struct Redeemed<C> {
    pub(crate) code: C,
    pub(crate) user: User,
    pub(crate) tokens: IssuedTokens,
}

/// Redeems the code `digest` for `client_id`, inside a write transaction. In order: the
/// code exists; its own rule (another client's; a replay, which ends
/// [`SingleUseCode::replay_ends`] and is committed; expired; withdrawn); `bound` (what the
/// token request must match, checked before the user); the sign-in that issued it is still
/// live ([`SingleUseCode::origin_ended`]); the user exists and is not disabled; `mint`
/// builds the new session (it may refuse too). Then the session is written and the code
/// consumed. `Ok(Err(_))` is a refusal to commit as is (a replay's ended sessions).
///
/// # Errors
/// Storage errors, and [`GrantRejection::AlreadyUsed`] if the conditional consumption
/// fails (rolled back).
pub(crate) fn redeem<C: SingleUseCode>(
    tx: &mut dyn WriteTx,
    digest: &TokenDigest,
    client_id: &str,
    now: OffsetDateTime,
    bound: impl FnOnce(&C) -> Result<()>,
    mint: impl FnOnce(&mut dyn WriteTx, &C, &User) -> Result<Result<Mint>>,
) -> Result<Result<Redeemed<C>>> {
    let Some(code) = C::find(tx, digest)? else {
        return Ok(Err(Error::InvalidGrant(GrantRejection::Unknown(C::KIND))));
    };
    if let Err(rejection) = code.check(client_id, now) {
        if rejection == CodeRejection::Consumed {
            for session in code.replay_ends() {
                tx.end_session(session, now)?;
            }
            tracing::warn!(client = %client_id, "{}", C::REPLAY_LOG);
        }
        return Ok(Err(Error::InvalidGrant(GrantRejection::of_code(
            C::KIND,
            rejection,
        ))));
    }
    if let Err(e) = bound(&code) {
        return Ok(Err(e));
    }
    if code.origin_ended(tx, now)? {
        return Ok(Err(Error::InvalidGrant(
            GrantRejection::BrowserSessionEnded,
        )));
    }
    let user = match user_of(tx, code.user_id())? {
        Ok(user) => user,
        Err(rejection) => return Ok(Err(rejection.into())),
    };
    let mint = match mint(tx, &code, &user)? {
        Ok(mint) => mint,
        Err(e) => return Ok(Err(e)),
    };
    mint.apply(tx)?;
    if !C::consume(tx, digest, now, mint.out.session_id)? {
        return Err(Error::InvalidGrant(GrantRejection::AlreadyUsed(C::KIND)));
    }
    Ok(Ok(Redeemed {
        code,
        user,
        tokens: mint.out,
    }))
}
