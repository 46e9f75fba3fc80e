//! The repository interface storage implements.
//!
//! Everything happens inside a transaction handed to a closure: [`Store::read`] gives a
//! consistent snapshot ([`ReadTx`]), [`Store::write`] a serialized write transaction
//! ([`WriteTx`], `BEGIN IMMEDIATE` on SQLite) in which a read followed by a write cannot be
//! interleaved with another writer. That is what makes single-use things single-use: a code
//! or a refresh token is checked and consumed in the same write transaction, so of two
//! concurrent redemptions exactly one sees it unconsumed.
//!
//! The closure of a write is `Send + 'static` and returns a `Send + 'static` value, so an
//! implementation may run it on a dedicated writer thread and batch several callers' closures
//! into one commit (group commit).
//!
//! If the closure returns `Err`, the transaction is rolled back. To commit and still report a
//! failure (a replayed refresh token ends its family, a failed login is recorded), the
//! service returns `Ok(Err(..))` from the closure.

use std::future::Future;
use std::pin::Pin;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::backchannel::{BackchannelTarget, ClientBackchannel};
use crate::browser_session::BrowserSession;
use crate::device::{DeviceCode, DeviceStatus};
use crate::dual_run::{ComparisonCount, Difference, Usage};
use crate::error::Error;
use crate::keys::SigningKey;
use crate::logout::ClientLogout;
use crate::model::{
    AccessToken, AuthorizationCode, Broker, Client, LoginFailure, Member, NewMember, OneTimeCode,
    RefreshToken, Session, SubAccount, TradingAccount, User,
};
use crate::par::{ClientPar, PushedRequest};
use crate::secret::TokenDigest;

/// What a session records beside its row (tables `session_exchange`, `session_dpop`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionExtras {
    /// The token exchange that opened it.
    pub exchange: Option<crate::token_exchange::SessionExchange>,
    /// The DPoP key thumbprint its tokens are bound to.
    pub jkt: Option<String>,
}

/// Result of a repository call.
pub type Result<T> = std::result::Result<T, Error>;

/// A write handed to the store ([`Store::write_later`]) and not waited for yet: it resolves
/// once the write is committed durably (or failed), like [`Store::write`] returning.
/// Awaiting it holds no thread: an HTTP worker serves other requests while the group
/// commit's fsync runs (issue 23: the blocking-pool hop and its wake-ups were a quarter of
/// a grant's profile).
pub type Pending<T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'static>>;

/// A transactional store.
pub trait Store: Send + Sync + 'static {
    /// Runs `f` in a read transaction (a consistent snapshot).
    ///
    /// # Errors
    /// What `f` returns, or [`Error::Storage`].
    fn read<R>(&self, f: impl FnOnce(&mut dyn ReadTx) -> Result<R>) -> Result<R>;

    /// Runs `f` over reads that need no common snapshot: each sees what was committed when
    /// it began, so a store may run them without a transaction around them (PostgreSQL: no
    /// `BEGIN` and `COMMIT`, two round trips fewer, issue 23; a read of one statement is
    /// consistent on its own). For client authentication: the client with its lockout
    /// record in one statement, then, for a signing client, the signing keys, whose answers
    /// need not agree. `f` may run again when the connection under it was lost (it only
    /// reads). The default runs [`Store::read`].
    ///
    /// # Errors
    /// What `f` returns, or [`Error::Storage`].
    fn read_each<R>(&self, f: impl Fn(&mut dyn ReadTx) -> Result<R>) -> Result<R> {
        self.read(f)
    }

    /// Runs `f` in a write transaction that is serialized with every other write and
    /// committed durably before this returns `Ok`. An `Err` from `f` rolls it back.
    ///
    /// # Errors
    /// What `f` returns, or [`Error::Storage`].
    fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn WriteTx) -> Result<R> + Send + 'static,
    ) -> Result<R>;

    /// [`Store::write`] without waiting: `f` is queued for the writer and the returned
    /// [`Pending`] resolves with its result once the transaction is committed durably (the
    /// same guarantee, observed later). The default runs [`Store::write`] at once.
    ///
    /// # Errors
    /// The [`Pending`] resolves to what `f` returns, or [`Error::Storage`].
    fn write_later<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn WriteTx) -> Result<R> + Send + 'static,
    ) -> Pending<R> {
        Box::pin(std::future::ready(self.write(f)))
    }

    /// A write that only stores what a grant issues ([`WriteTx::insert_tokens`]), queued like
    /// [`Store::write_later`] with the same guarantee (resolved once committed durably; a
    /// failure fails this write only). Because it reads nothing and nothing decides on it, a
    /// store may put the rows of many such writes into one statement (PostgreSQL: one
    /// multi-row `INSERT` per group commit instead of two round trips per grant, issue 23).
    /// The default queues the closure.
    fn insert_tokens_later(
        &self,
        session: Option<Session>,
        access: AccessToken,
        refresh: Option<RefreshToken>,
    ) -> Pending<()> {
        self.write_later(move |tx| tx.insert_tokens(session.as_ref(), &access, refresh.as_ref()))
    }
}

/// Reads, available in both kinds of transaction.
///
/// # Errors
///
/// One contract for every method, written once here rather than on each: a method fails
/// with [`Error::Storage`] when the database does (a lost connection, a statement timeout,
/// a constraint of the schema the method does not name), and the enclosing transaction is
/// rolled back. A method that refuses something itself says so in its own line
/// ([`Error::Conflict`] for a name or id already taken). An absent row is an answer
/// (`None`, `false`, zero, an empty list), never an error.
#[expect(
    clippy::missing_errors_doc,
    reason = "every method fails the same way: the contract is the trait's `# Errors`"
)]
pub trait ReadTx {
    /// A user by GUID.
    fn user_by_id(&mut self, id: Uuid) -> Result<Option<User>>;
    /// A user by name, case-insensitively.
    fn user_by_name(&mut self, user_name: &str) -> Result<Option<User>>;
    /// Every user, by name key.
    fn users(&mut self) -> Result<Vec<User>>;
    /// A member by member id (`1234`).
    fn member_by_member_id(&mut self, member_id: &str) -> Result<Option<Member>>;
    /// The member record of a user.
    fn member_of_user(&mut self, user_id: Uuid) -> Result<Option<Member>>;
    /// A sub-account by id.
    fn sub_account(&mut self, id: i64) -> Result<Option<SubAccount>>;
    /// The sub-accounts of a member (by internal id), by id.
    fn sub_accounts_of(&mut self, member: i64) -> Result<Vec<SubAccount>>;
    /// A broker.
    fn broker(&mut self, id: Uuid) -> Result<Option<Broker>>;
    /// The trading accounts of a user.
    fn trading_accounts_of(&mut self, user_id: Uuid) -> Result<Vec<TradingAccount>>;
    /// A client by client id (exact).
    fn client(&mut self, client_id: &str) -> Result<Option<Client>>;
    /// Every client, by id.
    fn clients(&mut self) -> Result<Vec<Client>>;
    /// A session.
    fn session(&mut self, id: Uuid) -> Result<Option<Session>>;
    /// An access token by digest.
    fn access_token(&mut self, digest: &TokenDigest) -> Result<Option<AccessToken>>;
    /// A refresh token by digest.
    fn refresh_token(&mut self, digest: &TokenDigest) -> Result<Option<RefreshToken>>;
    /// An authorization code by digest.
    fn authorization_code(&mut self, digest: &TokenDigest) -> Result<Option<AuthorizationCode>>;
    /// A one-time code by digest.
    fn onetime_code(&mut self, digest: &TokenDigest) -> Result<Option<OneTimeCode>>;
    /// The failure record of a lockout key.
    fn login_failure(&mut self, key: &str) -> Result<Option<LoginFailure>>;
    /// The failure record of a lockout key, read where the look-up of client `client_id`
    /// follows (client authentication): a store may read both in one query and answer that
    /// [`ReadTx::client`] call from it. The default reads the record alone.
    fn login_failure_before_client(
        &mut self,
        key: &str,
        client_id: &str,
    ) -> Result<Option<LoginFailure>> {
        let _ = client_id;
        self.login_failure(key)
    }
    /// How many one-time codes for `user_id` are outstanding (unconsumed, expiring after
    /// `now`).
    fn outstanding_onetime_codes_of_user(
        &mut self,
        user_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<u64>;
    /// How many one-time codes issued by a bearer token of `session_id` are outstanding.
    fn outstanding_onetime_codes_of_session(
        &mut self,
        session_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<u64>;
    /// A browser session by the digest of its cookie.
    fn browser_session(&mut self, digest: &TokenDigest) -> Result<Option<BrowserSession>>;
    /// A browser session by its GUID (what an authorization code records).
    fn browser_session_by_id(&mut self, id: Uuid) -> Result<Option<BrowserSession>>;
    /// How many authorization codes of `user_id` are outstanding (unconsumed, expiring after
    /// `now`).
    fn outstanding_authorization_codes_of_user(
        &mut self,
        user_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<u64>;
    /// How many authorization codes the browser session `browser_session_id` authorized are
    /// outstanding.
    fn outstanding_authorization_codes_of_browser_session(
        &mut self,
        browser_session_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<u64>;
    /// Every signing key, oldest first.
    fn signing_keys(&mut self) -> Result<Vec<SigningKey>>;
    /// Whether client `client_id` used assertion `jti` and that assertion lives at `now`.
    fn assertion_jti_seen(
        &mut self,
        client_id: &str,
        jti: &str,
        now: OffsetDateTime,
    ) -> Result<bool>;
    /// How many assertion `jti`s of the client are remembered.
    fn live_assertion_jtis(&mut self, client_id: &str) -> Result<u64>;
    /// Legacy-dialect use per client and dialect, of those seen at or after `since` (all
    /// without it), by dialect then client.
    fn legacy_usage(&mut self, since: Option<OffsetDateTime>) -> Result<Vec<Usage>>;
    /// The dual-run counters, by dialect, endpoint and kind.
    fn comparison_counts(&mut self) -> Result<Vec<ComparisonCount>>;
    /// How many dual-run differences are stored.
    fn differences_stored(&mut self) -> Result<u64>;
    /// How many users have the password hash `hash` (credential capture counts the users
    /// still marked [`crate::credentials::CAPTURE_MARK`]).
    fn users_with_hash(&mut self, hash: &str) -> Result<u64>;
    /// The logout settings of a client (`None`: it has none).
    fn client_logout(&mut self, client_id: &str) -> Result<Option<ClientLogout>>;
    /// The back-channel logout settings of a client (`None`: it has none).
    fn client_backchannel(&mut self, client_id: &str) -> Result<Option<ClientBackchannel>>;
    /// Whether some client has a `backchannel_logout_uri` (discovery advertises it then).
    fn any_backchannel(&mut self) -> Result<bool>;
    /// The clients with a back-channel URI that redeemed a code of a browser session: of the
    /// session `browser_session_id` when given, else of every live browser session of
    /// `user_id`.
    fn backchannel_targets(
        &mut self,
        browser_session_id: Option<Uuid>,
        user_id: Uuid,
    ) -> Result<Vec<BackchannelTarget>>;
    /// The logout settings of every client that has some, by client id.
    fn client_logouts(&mut self) -> Result<Vec<ClientLogout>>;
    /// The token exchange allow-list of a client (`None`: it has none).
    fn client_token_exchange(
        &mut self,
        client_id: &str,
    ) -> Result<Option<crate::token_exchange::ClientTokenExchange>>;
    /// Whether some client may use token exchange: it holds the grant and has an audience.
    fn token_exchange_in_use(&mut self) -> Result<bool>;
    /// The DPoP settings of a client (`None`: it has none).
    fn client_dpop(&mut self, client_id: &str) -> Result<Option<crate::dpop::ClientDpop>>;
    /// The DPoP key thumbprint an authorization code is bound to (RFC 9449 `dpop_jkt`).
    fn code_dpop(&mut self, digest: &TokenDigest) -> Result<Option<String>>;
    /// What a session records beside it: its token exchange and its DPoP binding.
    fn session_extras(&mut self, session_id: Uuid) -> Result<SessionExtras>;
    /// The PAR settings of a client (`None`: it has none).
    fn client_par(&mut self, client_id: &str) -> Result<Option<ClientPar>>;
    /// A pushed authorization request by the digest of its `request_uri`.
    fn pushed_request(&mut self, digest: &TokenDigest) -> Result<Option<PushedRequest>>;
    /// The token sessions of a user that are not ended (some may be past their absolute
    /// end), newest first, at most `limit`.
    fn open_sessions_of_user(&mut self, user_id: Uuid, limit: u32) -> Result<Vec<Session>>;
    /// The browser sessions of a user that are not ended, newest first, at most `limit`.
    fn open_browser_sessions_of_user(
        &mut self,
        user_id: Uuid,
        limit: u32,
    ) -> Result<Vec<BrowserSession>>;
    /// Lockout records, by key, at most `limit`; only keys starting with `prefix` when given.
    fn login_failures(&mut self, prefix: Option<&str>, limit: u32) -> Result<Vec<LoginFailure>>;
    /// The server key `name` (table `server_keys`), if generated.
    fn server_key(&mut self, name: &str) -> Result<Option<Vec<u8>>>;
    /// A device code (RFC 8628) by the digest of the device code.
    fn device_code(&mut self, digest: &TokenDigest) -> Result<Option<DeviceCode>>;
    /// A device code by the digest of its user code.
    fn device_code_by_user_code(&mut self, digest: &TokenDigest) -> Result<Option<DeviceCode>>;
}

/// Writes, only inside [`Store::write`].
///
/// # Errors
///
/// As [`ReadTx`]'s, one contract for every method: a method fails
/// with [`Error::Storage`] when the database does (a lost connection, a statement timeout,
/// a constraint of the schema the method does not name), and the enclosing transaction is
/// rolled back. A method that refuses something itself says so in its own line
/// ([`Error::Conflict`] for a name or id already taken). An absent row is an answer
/// (`None`, `false`, zero, an empty list), never an error.
#[expect(
    clippy::missing_errors_doc,
    reason = "every method fails the same way: the contract is the trait's `# Errors`"
)]
pub trait WriteTx: ReadTx {
    /// Inserts a user, or updates the one with the same id. A user name already used by
    /// another id is [`Error::Conflict`].
    fn upsert_user(&mut self, user: &User) -> Result<()>;
    /// Inserts a member, or updates the one with the same member id (its user may change;
    /// its internal id is kept unless `id` is given). Returns the stored member.
    fn upsert_member(&mut self, member: &NewMember) -> Result<Member>;
    /// Inserts or updates a sub-account (by id).
    fn upsert_sub_account(&mut self, sub_account: &SubAccount) -> Result<()>;
    /// Inserts or updates a broker (by id).
    fn upsert_broker(&mut self, broker: &Broker) -> Result<()>;
    /// Inserts or updates a trading account (by broker, account and server).
    fn upsert_trading_account(&mut self, account: &TradingAccount) -> Result<()>;
    /// Inserts or updates a client (by client id).
    fn upsert_client(&mut self, client: &Client) -> Result<()>;

    /// Inserts or replaces the back-channel settings of a (stored) client; without a URI the
    /// row goes.
    fn put_client_backchannel(&mut self, settings: &ClientBackchannel) -> Result<()>;
    /// Inserts or replaces the logout settings of a (stored) client.
    fn put_client_logout(&mut self, settings: &ClientLogout) -> Result<()>;
    /// Inserts or replaces the token exchange allow-list of a (stored) client.
    fn put_client_token_exchange(
        &mut self,
        settings: &crate::token_exchange::ClientTokenExchange,
    ) -> Result<()>;
    /// Inserts or replaces the DPoP settings of a (stored) client.
    fn put_client_dpop(&mut self, settings: &crate::dpop::ClientDpop) -> Result<()>;
    /// Records the exchange that opened a (stored) session.
    fn insert_session_exchange(
        &mut self,
        exchange: &crate::token_exchange::SessionExchange,
    ) -> Result<()>;
    /// Binds a (stored) authorization code to a DPoP key thumbprint until it expires.
    fn insert_code_dpop(
        &mut self,
        digest: &TokenDigest,
        jkt: &str,
        expires_at: OffsetDateTime,
    ) -> Result<()>;
    /// Binds a (stored) session's tokens to a DPoP key thumbprint.
    fn insert_session_dpop(&mut self, session_id: Uuid, jkt: &str) -> Result<()>;
    /// Records a DPoP proof (`digest` of its key and `jti`) until `expires_at`, after deleting
    /// the expired ones: `Fresh`, `Replayed` (already recorded, nothing changed), or `Full`
    /// (`cap` live proofs already, nothing changed).
    fn record_dpop_proof(
        &mut self,
        digest: &TokenDigest,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
        cap: u64,
    ) -> Result<crate::dpop::ProofRecord>;
    /// Inserts or replaces the PAR settings of a (stored) client.
    fn put_client_par(&mut self, settings: &ClientPar) -> Result<()>;
    /// Deletes the expired pushed requests of `client_id` and counts its live ones.
    fn live_pushed_requests(&mut self, client_id: &str, now: OffsetDateTime) -> Result<u64>;
    /// Stores a pushed authorization request.
    fn insert_pushed_request(&mut self, request: &PushedRequest) -> Result<()>;
    /// Deletes the live pushed request `digest` of `client_id` (single use); `false` (and no
    /// change) if unknown, expired, already used or another client's.
    fn consume_pushed_request(
        &mut self,
        digest: &TokenDigest,
        client_id: &str,
        now: OffsetDateTime,
    ) -> Result<bool>;

    /// Deletes the device codes of `client_id` expired for longer than a code lives, and
    /// counts its outstanding ones (unexpired, not redeemed).
    fn live_device_codes(&mut self, client_id: &str, now: OffsetDateTime) -> Result<u64>;
    /// Stores a new device code (a user code in use is [`Error::Conflict`]).
    fn insert_device_code(&mut self, code: &DeviceCode) -> Result<()>;
    /// Replaces the mutable part of a device code (poll time, interval, status, decision,
    /// session) if its status is still `expected`; `false` (and no change) otherwise.
    fn update_device_code(&mut self, code: &DeviceCode, expected: DeviceStatus) -> Result<bool>;

    /// Opens a session.
    fn insert_session(&mut self, session: &Session) -> Result<()>;
    /// Records a use of a session.
    fn touch_session(&mut self, id: Uuid, at: OffsetDateTime) -> Result<()>;
    /// Ends a session (and with it every token of it); `false` if it was already ended or
    /// does not exist.
    fn end_session(&mut self, id: Uuid, at: OffsetDateTime) -> Result<bool>;
    /// Ends every live session of a user, token sessions and browser sessions (password
    /// change, disable), and withdraws the user's unredeemed authorization and one-time codes
    /// (consumed without a session: [`crate::model::CodeRejection::Withdrawn`]); returns how
    /// many sessions ended.
    fn end_user_sessions(&mut self, user_id: Uuid, at: OffsetDateTime) -> Result<u64>;
    /// Stores an access token.
    fn insert_access_token(&mut self, token: &AccessToken) -> Result<()>;
    /// Revokes one access token; `false` if unknown or already revoked.
    fn revoke_access_token(&mut self, digest: &TokenDigest, at: OffsetDateTime) -> Result<bool>;
    /// Stores a refresh token.
    fn insert_refresh_token(&mut self, token: &RefreshToken) -> Result<()>;
    /// Stores what a grant issues: a new session (when given), its access token and its
    /// refresh token (when given). The default does [`WriteTx::insert_session`],
    /// [`WriteTx::insert_access_token`] and [`WriteTx::insert_refresh_token`] in turn; a store
    /// may do the same in one statement (PostgreSQL: one round trip instead of three).
    fn insert_tokens(
        &mut self,
        session: Option<&Session>,
        access: &AccessToken,
        refresh: Option<&RefreshToken>,
    ) -> Result<()> {
        if let Some(session) = session {
            self.insert_session(session)?;
        }
        self.insert_access_token(access)?;
        if let Some(refresh) = refresh {
            self.insert_refresh_token(refresh)?;
        }
        Ok(())
    }
    /// Marks a live refresh token rotated into `successor`; `false` (and no change) if it is
    /// unknown, already rotated or revoked.
    fn rotate_refresh_token(
        &mut self,
        digest: &TokenDigest,
        successor: &TokenDigest,
        at: OffsetDateTime,
    ) -> Result<bool>;
    /// Records the one retry of a rotated refresh token inside the grace window; `false` (and
    /// no change) if it is unknown or already had its retry.
    fn mark_refresh_replayed(&mut self, digest: &TokenDigest, at: OffsetDateTime) -> Result<bool>;
    /// Stores an authorization code.
    fn insert_authorization_code(&mut self, code: &AuthorizationCode) -> Result<()>;
    /// Consumes an unconsumed code, remembering the session its exchange opened; `false`
    /// (and no change) if unknown or already consumed.
    fn consume_authorization_code(
        &mut self,
        digest: &TokenDigest,
        at: OffsetDateTime,
        session_id: Uuid,
    ) -> Result<bool>;
    /// Withdraws the unredeemed authorization codes the browser session `browser_session_id`
    /// authorized (logout, a replacing sign-in): consumed without a session, so an exchange
    /// is refused as [`crate::model::CodeRejection::Withdrawn`]. Returns how many.
    fn withdraw_codes_of_browser_session(
        &mut self,
        browser_session_id: Uuid,
        at: OffsetDateTime,
    ) -> Result<u64>;
    /// Deletes authorization codes that expired unredeemed at or before `now` (redeemed ones
    /// stay until [`WriteTx::purge_expired`]: logout finds the sessions they opened, and a
    /// replay ends that session). Returns how many.
    fn delete_expired_authorization_codes(&mut self, now: OffsetDateTime) -> Result<u64>;
    /// Stores a one-time code.
    fn insert_onetime_code(&mut self, code: &OneTimeCode) -> Result<()>;
    /// Consumes an unconsumed one-time code and forgets its payload (only the digest, the
    /// times and the session stay, for replay detection until it expires); `false` (and no
    /// change) if unknown or consumed.
    fn consume_onetime_code(
        &mut self,
        digest: &TokenDigest,
        at: OffsetDateTime,
        session_id: Uuid,
    ) -> Result<bool>;
    /// Deletes one-time codes that expired at or before `now`, consumed or not; returns how
    /// many.
    fn delete_expired_onetime_codes(&mut self, now: OffsetDateTime) -> Result<u64>;
    /// Counts one hit against a fixed-window rate counter: a window older than `window`
    /// starts over at `now`. Returns the hits in the current window (this one included) and
    /// when the window ends.
    fn hit_rate_window(
        &mut self,
        key: &str,
        now: OffsetDateTime,
        window: time::Duration,
    ) -> Result<(u64, OffsetDateTime)>;
    /// Inserts or replaces a lockout record.
    fn put_login_failure(&mut self, failure: &LoginFailure) -> Result<()>;
    /// Forgets a lockout record.
    fn clear_login_failure(&mut self, key: &str) -> Result<()>;
    /// Stores a browser session.
    fn insert_browser_session(&mut self, session: &BrowserSession) -> Result<()>;
    /// Ends a browser session (logout); `false` if unknown or already ended.
    fn end_browser_session(&mut self, digest: &TokenDigest, at: OffsetDateTime) -> Result<bool>;
    /// Stores the server key `name` unless one is stored (the first writer wins).
    fn insert_server_key_if_absent(
        &mut self,
        name: &str,
        secret: &[u8],
        at: OffsetDateTime,
    ) -> Result<()>;
    /// Stores a new signing key (a kid already used is [`Error::Conflict`]).
    fn insert_signing_key(&mut self, key: &SigningKey) -> Result<()>;
    /// Retires a signing key, keeping it published until `published_until`; `false` if
    /// unknown or already retired.
    fn retire_signing_key(
        &mut self,
        kid: &str,
        at: OffsetDateTime,
        published_until: OffsetDateTime,
    ) -> Result<bool>;
    /// Ends every token session opened by exchanging a code that the browser session
    /// `browser_session_id` authorized (RP-initiated logout). Returns how many were live.
    fn end_sessions_of_browser_session(
        &mut self,
        browser_session_id: Uuid,
        at: OffsetDateTime,
    ) -> Result<u64>;
    /// Adds one to each dual-run counter `kinds` of `dialect` and `endpoint`.
    fn count_comparison(&mut self, dialect: &str, endpoint: &str, kinds: &[&str]) -> Result<()>;
    /// Stores a dual-run difference unless `cap` are stored already; whether it was.
    fn insert_difference(&mut self, difference: &Difference, cap: u64) -> Result<bool>;
    /// Adds deltas of legacy-dialect use (one per client and dialect) to the totals.
    fn add_legacy_usage(&mut self, deltas: &[Usage]) -> Result<()>;
    /// Deletes a user and everything of theirs: sessions (and their tokens and codes),
    /// browser sessions, codes, member record, sub-accounts, trading accounts. `false` if
    /// there was no such user.
    fn delete_user(&mut self, user_id: Uuid) -> Result<bool>;
    /// Deletes a client and every session it opened (with their tokens), its codes. `false`
    /// if there was no such client.
    fn delete_client(&mut self, client_id: &str) -> Result<bool>;
    /// Deletes tokens, codes and browser sessions that expired before `before`, and lockout
    /// records last touched before `forgotten_before`. Returns how many rows went.
    fn purge_expired(
        &mut self,
        before: OffsetDateTime,
        forgotten_before: OffsetDateTime,
    ) -> Result<u64>;
    /// Remembers assertion `jti` of the client until `expires_at`; `false` (nothing
    /// written) when it is already remembered.
    fn insert_assertion_jti(
        &mut self,
        client_id: &str,
        jti: &str,
        expires_at: OffsetDateTime,
    ) -> Result<bool>;
    /// Forgets the assertion `jti`s expired at `now` (of one client, or of all).
    fn delete_expired_assertion_jtis(
        &mut self,
        client_id: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<u64>;
}
