//! `gatehouse copy --from … --to …`: moves the data between two databases of either backend
//! (the way to outgrow SQLite, and back).
//!
//! Table by table in foreign-key order, in chunks read in primary-key order (keyset paging,
//! so millions of tokens never sit in memory at once); each chunk is inserted in one write
//! transaction of the destination (on PostgreSQL under the writers' advisory lock) with
//! `ON CONFLICT DO NOTHING`, so a copy that was interrupted, or is run again, completes
//! without duplicating anything. Tokens, codes and browser sessions already expired are not
//! copied. At the end
//! the rows the source has are counted on both sides: the destination must hold at least as
//! many (more if it had rows of its own).

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::SqliteConnection;
use time::OffsetDateTime;

use crate::backend::Backend;
use crate::rows::*;
use crate::schema::*;
use crate::{Inner, Storage, StorageError};

/// The tables of `schema.rs` that [`copy`] leaves behind, each with the reason; every other
/// table is copied (a test fails when a table is in neither list). A new table: add a
/// `copy_table!` line below (and a row struct in `rows.rs`), or an entry here.
pub const NOT_COPIED: &[(&str, &str)] = &[(
    "dual_run_differences",
    "a capped diagnostic log of one deployment's dual run (redacted answers), read with \
     `gatehouse dual-run` where it was recorded; its ids are a PostgreSQL BIGSERIAL, which \
     copied ids would leave behind (the next insert would collide), and copied without ids a \
     second run would duplicate every row",
)];

/// Rows per chunk.
const CHUNK: i64 = 2_000;

/// The outcome for one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyTable {
    /// The table.
    pub table: &'static str,
    /// Rows the source holds (live ones only, for tokens and codes).
    pub source_rows: u64,
    /// Rows inserted into the destination.
    pub inserted: u64,
    /// Rows the destination already had (same primary key).
    pub already_present: u64,
    /// Rows the destination holds afterwards (with the same filter).
    pub destination_rows: u64,
}

/// What [`copy`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// One entry per table, in the order copied.
    pub tables: Vec<CopyTable>,
}

impl CopyReport {
    /// Rows inserted, all tables.
    pub fn inserted(&self) -> u64 {
        self.tables.iter().map(|t| t.inserted).sum()
    }
}

fn db(e: diesel::result::Error) -> StorageError {
    StorageError::Query(e)
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Copies one table. `$key` is the primary key column (single column), `$start` a value
/// below every key, `$last` how to take the key of a row, `$live` the filter of the rows to
/// copy.
macro_rules! copy_table {
    ($src:expr, $dst:expr, $progress:expr, $table:ident, $key:expr, $start:expr,
     $row:ty, $last:expr, $live:expr) => {
        copy_table!($src, $dst, $progress, $table, $key, $start, $row, $last, $live, CHUNK)
    };
    ($src:expr, $dst:expr, $progress:expr, $table:ident, $key:expr, $start:expr,
     $row:ty, $last:expr, $live:expr, $chunk:expr) => {{
        let source_rows = count(
            $table::table
                .filter($live)
                .count()
                .get_result::<i64>(&mut *$src)
                .map_err(db)?,
        );
        let mut status = CopyTable {
            table: stringify!($table),
            source_rows,
            inserted: 0,
            already_present: 0,
            destination_rows: 0,
        };
        let mut last = $start;
        loop {
            let rows: Vec<$row> = $table::table
                .filter($live)
                .filter($key.gt(&last))
                .order($key)
                .limit($chunk)
                .select(<$row>::as_select())
                .load(&mut *$src)
                .map_err(db)?;
            let Some(tail) = rows.last() else { break };
            last = ($last)(tail);
            let mut inserted = 0usize;
            Backend::batch(&mut *$dst, |c| {
                inserted = 0;
                // Row by row (diesel's SQLite backend has no multi-row insert with ON
                // CONFLICT); one transaction per chunk keeps it fast.
                for row in &rows {
                    inserted += diesel::insert_into($table::table)
                        .values(row)
                        .on_conflict_do_nothing()
                        .execute(c)?;
                }
                Ok(())
            })
            .map_err(db)?;
            let inserted = u64::try_from(inserted).unwrap_or(0);
            let read = u64::try_from(rows.len()).unwrap_or(0);
            status.inserted += inserted;
            status.already_present += read.saturating_sub(inserted);
            ($progress)(&status);
        }
        status.destination_rows = count(
            $table::table
                .filter($live)
                .count()
                .get_result::<i64>(&mut *$dst)
                .map_err(db)?,
        );
        ($progress)(&status);
        status
    }};
}

macro_rules! copy_between {
    ($name:ident, $src:ty, $dst:ty) => {
        pub(crate) fn $name(
            src: &mut $src,
            dst: &mut $dst,
            now: i64,
            progress: &mut dyn FnMut(&CopyTable),
        ) -> Result<Vec<CopyTable>, StorageError> {
            Ok(vec![
                copy_table!(
                    src,
                    dst,
                    progress,
                    users,
                    users::id,
                    String::new(),
                    UserRow,
                    |r: &UserRow| r.id.clone(),
                    users::id.is_not_null()
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    brokers,
                    brokers::id,
                    String::new(),
                    BrokerRow,
                    |r: &BrokerRow| r.id.clone(),
                    brokers::id.is_not_null()
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    clients,
                    clients::client_id,
                    String::new(),
                    ClientRow,
                    |r: &ClientRow| r.client_id.clone(),
                    clients::client_id.is_not_null()
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    client_keys,
                    client_keys::client_id,
                    String::new(),
                    ClientKeyRow,
                    |r: &ClientKeyRow| r.client_id.clone(),
                    client_keys::client_id.is_not_null()
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    members,
                    members::id,
                    i64::MIN,
                    MemberRow,
                    |r: &MemberRow| r.id,
                    members::id.is_not_null()
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    sub_accounts,
                    sub_accounts::id,
                    i64::MIN,
                    SubAccountRow,
                    |r: &SubAccountRow| r.id,
                    sub_accounts::id.is_not_null()
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    trading_accounts,
                    trading_accounts::broker_id,
                    String::new(),
                    TradingAccountRow,
                    // (broker, account, server) is the key: keyset paging over part of it
                    // could split a broker; trading accounts are few, so one pass.
                    |_: &TradingAccountRow| "\u{10FFFF}".to_owned(),
                    trading_accounts::broker_id.is_not_null(),
                    i64::MAX
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    client_logout,
                    client_logout::client_id,
                    String::new(),
                    ClientLogoutRow,
                    |r: &ClientLogoutRow| r.client_id.clone(),
                    client_logout::client_id.is_not_null()
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    client_par,
                    client_par::client_id,
                    String::new(),
                    ClientParRow,
                    |r: &ClientParRow| r.client_id.clone(),
                    client_par::client_id.is_not_null()
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    client_backchannel,
                    client_backchannel::client_id,
                    String::new(),
                    ClientBackchannelRow,
                    |r: &ClientBackchannelRow| r.client_id.clone(),
                    client_backchannel::client_id.is_not_null()
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    client_token_exchange,
                    client_token_exchange::client_id,
                    String::new(),
                    ClientTokenExchangeRow,
                    |r: &ClientTokenExchangeRow| r.client_id.clone(),
                    client_token_exchange::client_id.is_not_null()
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    client_dpop,
                    client_dpop::client_id,
                    String::new(),
                    ClientDpopRow,
                    |r: &ClientDpopRow| r.client_id.clone(),
                    client_dpop::client_id.is_not_null()
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    sessions,
                    sessions::id,
                    String::new(),
                    SessionRow,
                    |r: &SessionRow| r.id.clone(),
                    sessions::id.is_not_null()
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    session_exchange,
                    session_exchange::session_id,
                    String::new(),
                    SessionExchangeRow,
                    |r: &SessionExchangeRow| r.session_id.clone(),
                    session_exchange::session_id.is_not_null()
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    session_dpop,
                    session_dpop::session_id,
                    String::new(),
                    SessionDpopRow,
                    |r: &SessionDpopRow| r.session_id.clone(),
                    session_dpop::session_id.is_not_null()
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    access_tokens,
                    access_tokens::digest,
                    Vec::<u8>::new(),
                    AccessTokenRow,
                    |r: &AccessTokenRow| r.digest.clone(),
                    access_tokens::expires_at.ge(now)
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    refresh_tokens,
                    refresh_tokens::digest,
                    Vec::<u8>::new(),
                    RefreshTokenRow,
                    |r: &RefreshTokenRow| r.digest.clone(),
                    refresh_tokens::expires_at.ge(now)
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    authorization_codes,
                    authorization_codes::digest,
                    Vec::<u8>::new(),
                    AuthorizationCodeRow,
                    |r: &AuthorizationCodeRow| r.digest.clone(),
                    authorization_codes::expires_at.ge(now)
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    authorization_code_dpop,
                    authorization_code_dpop::digest,
                    Vec::<u8>::new(),
                    CodeDpopRow,
                    |r: &CodeDpopRow| r.digest.clone(),
                    authorization_code_dpop::expires_at.ge(now)
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    onetime_codes,
                    onetime_codes::digest,
                    Vec::<u8>::new(),
                    OneTimeCodeRow,
                    |r: &OneTimeCodeRow| r.digest.clone(),
                    onetime_codes::expires_at.ge(now)
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    browser_sessions,
                    browser_sessions::digest,
                    Vec::<u8>::new(),
                    BrowserSessionRow,
                    |r: &BrowserSessionRow| r.digest.clone(),
                    browser_sessions::expires_at.ge(now)
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    signing_keys,
                    signing_keys::kid,
                    String::new(),
                    SigningKeyRow,
                    |r: &SigningKeyRow| r.kid.clone(),
                    signing_keys::kid.is_not_null()
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    login_failures,
                    login_failures::lock_key,
                    String::new(),
                    LoginFailureRow,
                    |r: &LoginFailureRow| r.lock_key.clone(),
                    login_failures::lock_key.is_not_null()
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    pushed_requests,
                    pushed_requests::digest,
                    Vec::<u8>::new(),
                    PushedRequestRow,
                    |r: &PushedRequestRow| r.digest.clone(),
                    pushed_requests::expires_at.ge(now)
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    device_codes,
                    device_codes::digest,
                    Vec::<u8>::new(),
                    DeviceCodeRow,
                    |r: &DeviceCodeRow| r.digest.clone(),
                    device_codes::expires_at.ge(now)
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    server_keys,
                    server_keys::name,
                    String::new(),
                    ServerKeyRow,
                    |r: &ServerKeyRow| r.name.clone(),
                    server_keys::name.is_not_null()
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    client_assertion_jtis,
                    client_assertion_jtis::client_id,
                    String::new(),
                    AssertionJtiRow,
                    // (client, jti) is the key: one pass, like trading accounts; they live
                    // minutes and are capped per client.
                    |_: &AssertionJtiRow| "\u{10FFFF}".to_owned(),
                    client_assertion_jtis::expires_at.ge(now),
                    i64::MAX
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    dpop_proofs,
                    dpop_proofs::digest,
                    Vec::<u8>::new(),
                    DpopProofRow,
                    |r: &DpopProofRow| r.digest.clone(),
                    dpop_proofs::expires_at.ge(now)
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    rate_windows,
                    rate_windows::rate_key,
                    String::new(),
                    RateWindowRow,
                    |r: &RateWindowRow| r.rate_key.clone(),
                    rate_windows::rate_key.is_not_null()
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    legacy_usage,
                    legacy_usage::client_id,
                    String::new(),
                    LegacyUsageRow,
                    // (client, dialect) is the key: one pass (a row per client and dialect).
                    |_: &LegacyUsageRow| "\u{10FFFF}".to_owned(),
                    legacy_usage::client_id.is_not_null(),
                    i64::MAX
                ),
                copy_table!(
                    src,
                    dst,
                    progress,
                    dual_run_counts,
                    dual_run_counts::dialect,
                    String::new(),
                    ComparisonCountRow,
                    // (dialect, endpoint, kind) is the key: one pass (bounded by them).
                    |_: &ComparisonCountRow| "\u{10FFFF}".to_owned(),
                    dual_run_counts::dialect.is_not_null(),
                    i64::MAX
                ),
            ])
        }
    };
}

copy_between!(sqlite_to_sqlite, SqliteConnection, SqliteConnection);
copy_between!(sqlite_to_pg, SqliteConnection, PgConnection);
copy_between!(pg_to_sqlite, PgConnection, SqliteConnection);
copy_between!(pg_to_pg, PgConnection, PgConnection);

/// Copies users, members, sub-accounts, brokers, trading accounts, clients (and their keys,
/// logout and PAR settings), sessions, live tokens, codes, pushed requests and assertion
/// `jti`s, lockout state, rate windows, signing and server keys, and the legacy-use and
/// dual-run counters from `from` into `to` (every table but [`NOT_COPIED`]; both already migrated, as
/// [`Storage::connect`] leaves them). `progress` is called after every chunk and once per
/// table at the end. Idempotent: rows whose key the destination has are left alone.
///
/// # Errors
/// [`StorageError`] on a database failure, or when the counts at the end show the
/// destination holding fewer rows than the source ([`StorageError::Writer`]).
pub fn copy(
    from: &Storage,
    to: &Storage,
    now: OffsetDateTime,
    progress: &mut dyn FnMut(&CopyTable),
) -> Result<CopyReport, StorageError> {
    let now = micros(now);
    let tables = match (&from.inner, &to.inner) {
        (Inner::Sqlite(s), Inner::Sqlite(d)) => {
            sqlite_to_sqlite(&mut **s.pool.get()?, &mut **d.pool.get()?, now, progress)?
        }
        (Inner::Sqlite(s), Inner::Postgres(d)) => {
            sqlite_to_pg(&mut **s.pool.get()?, &mut **d.pool.get()?, now, progress)?
        }
        (Inner::Postgres(s), Inner::Sqlite(d)) => {
            pg_to_sqlite(&mut **s.pool.get()?, &mut **d.pool.get()?, now, progress)?
        }
        (Inner::Postgres(s), Inner::Postgres(d)) => {
            pg_to_pg(&mut **s.pool.get()?, &mut **d.pool.get()?, now, progress)?
        }
    };
    if let Some(short) = tables.iter().find(|t| t.destination_rows < t.source_rows) {
        return Err(StorageError::Writer(format!(
            "copy verification failed: {} has {} rows in the source but {} in the destination",
            short.table, short.source_rows, short.destination_rows
        )));
    }
    Ok(CopyReport { tables })
}
