//! What differs between the two backends, and nothing else: how a connection is opened and
//! configured, how the writer's batch transaction begins (SQLite `BEGIN IMMEDIATE`;
//! PostgreSQL `BEGIN` + a transaction-level advisory lock that every replica's writer takes),
//! how a read transaction begins, and how migrations are serialised. Every query lives once,
//! in `repo.rs`, compiled for both connection types.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::{Pg, PgConnection};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::r2d2::{CustomizeConnection, R2D2Connection};
use diesel::result::QueryResult;
use diesel::{Connection, RunQueryDsl, SqliteConnection};
use diesel_migrations::MigrationHarness;
use gatehouse_domain::store::{ReadTx, WriteTx};
use gatehouse_domain::Error as DomainError;

use crate::cache::{
    Begin, BeginImmediate, Commit, Release, Rollback, RollbackToSavepoint, Savepoint,
};
use crate::compiles::{self, CacheMisses, Counter};
use crate::repo::Tx;
use crate::rows::{AccessTokenRow, RefreshTokenRow, SessionRow};
use crate::schema::{access_tokens, refresh_tokens, sessions};
use crate::{finish, StorageError, Synchronous, TxError, MIGRATIONS, PG_MIGRATIONS};

/// Key of the advisory lock every PostgreSQL write batch of every replica holds until its
/// commit ("gatewrit"): batches of all replicas are serialised, so a read followed by a write
/// in one write closure is never interleaved with another replica's writer.
pub(crate) const PG_WRITE_LOCK: i64 = 0x6761_7465_7772_6974;
/// Key of the session-level advisory lock held while migrating ("gatemigr"): replicas that
/// start together migrate once; the others wait, then find nothing pending.
pub(crate) const PG_MIGRATE_LOCK: i64 = 0x6761_7465_6d69_6772;
/// The savepoint each job of a PostgreSQL batch runs in.
const PG_JOB: &str = "gatehouse_job";

/// One multi-row `INSERT`: the first row's statement (`INSERT INTO t (columns) VALUES (…)`),
/// then `, (…)` for each other row, every value a bind (PostgreSQL lists every column of
/// every row, `DEFAULT` for a `None`, so the rows line up).
struct Many<'q> {
    first: Box<dyn QueryFragment<Pg> + 'q>,
    rest: Vec<Box<dyn QueryFragment<Pg> + 'q>>,
}

impl QueryFragment<Pg> for Many<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.first.walk_ast(out.reborrow())?;
        for row in &self.rest {
            out.push_sql(", (");
            row.walk_ast(out.reborrow())?;
            out.push_sql(")");
        }
        Ok(())
    }
}

/// `Many` of the rows (references to `Insertable` row structs) into `table`; `None` without
/// rows.
macro_rules! many {
    ($table:expr, $rows:expr) => {
        $rows.split_first().map(|(first, rest)| Many {
            first: Box::new(diesel::insert_into($table).values(*first)),
            rest: rest
                .iter()
                .map(|row| {
                    Box::new(diesel::Insertable::values(*row).values)
                        as Box<dyn QueryFragment<Pg> + '_>
                })
                .collect(),
        })
    };
}

/// A connection type the storage runs on.
pub(crate) trait Backend: Connection + R2D2Connection + Send + Sized + 'static {
    /// Name of the writer thread.
    const WRITER_THREAD: &'static str;
    /// How every connection is configured.
    type Settings: CustomizeConnection<Self, diesel::r2d2::Error> + Clone + Send + Sync + 'static;

    /// Opens a connection whose statement compilations add to `compiles` (`compiles.rs`).
    fn open(url: &str, compiles: &Counter) -> diesel::ConnectionResult<Self>;

    /// Opens and configures the writer connection (also used to reconnect it).
    fn open_writer(
        url: &str,
        settings: &Self::Settings,
        compiles: &Counter,
    ) -> Result<Self, StorageError>;

    /// Runs the pending migrations (serialised across processes where the backend needs it)
    /// and returns the versions applied.
    fn migrate(&mut self) -> Result<Vec<String>, StorageError>;

    /// Runs `f` inside one write transaction of the batch kind (serialised with every other
    /// writer, of this process or another); an `Err` from `f` rolls it back.
    fn batch(&mut self, f: impl FnOnce(&mut Self) -> QueryResult<()>) -> QueryResult<()>;

    /// Runs `f` in a read transaction with a consistent snapshot.
    fn read<R>(
        &mut self,
        f: impl FnOnce(&mut dyn ReadTx) -> Result<R, DomainError>,
    ) -> Result<R, DomainError>;

    /// Runs `f` over reads that need no common snapshot (`Store::read_each`).
    fn read_each<R>(
        &mut self,
        f: impl FnOnce(&mut dyn ReadTx) -> Result<R, DomainError>,
    ) -> Result<R, DomainError>;

    /// Runs `f` in a savepoint (nested transaction) of the current batch.
    fn savepoint<R>(
        &mut self,
        f: impl FnOnce(&mut dyn WriteTx) -> Result<R, DomainError>,
    ) -> Result<R, DomainError>;

    /// Inserts a grant's rows: the session (when new), the access token, the refresh token
    /// (when issued).
    fn insert_tokens(
        &mut self,
        session: Option<SessionRow>,
        access: AccessTokenRow,
        refresh: Option<RefreshTokenRow>,
    ) -> QueryResult<()>;

    /// Inserts the rows of several grants ([`GrantRows`]) after the jobs before them in the
    /// current batch: all of them, or (on an error) none, the transaction back where it was.
    /// `more`: other jobs follow in this batch (PostgreSQL then opens the next job's
    /// savepoint; before the `COMMIT` it need not).
    fn insert_grants(&mut self, grants: &[GrantRows], more: bool) -> QueryResult<()>;

    /// `true` when the connection no longer answers (then the writer reconnects).
    fn lost(&mut self) -> bool {
        R2D2Connection::ping(self).is_err()
    }
}

/// The rows one grant issues ([`Backend::insert_tokens`]), handed to the writer as a write
/// of its own ([`gatehouse_domain::store::Store::insert_tokens_later`]).
#[derive(Debug, Clone)]
pub(crate) struct GrantRows {
    pub(crate) session: Option<SessionRow>,
    pub(crate) access: AccessTokenRow,
    pub(crate) refresh: Option<RefreshTokenRow>,
}

fn query_error(e: diesel::result::Error) -> DomainError {
    DomainError::storage(StorageError::Query(e))
}

/// SQLite's per-connection pragmas.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pragmas {
    pub(crate) synchronous: Synchronous,
    pub(crate) busy_timeout_ms: u64,
}

impl Pragmas {
    pub(crate) fn apply(self, conn: &mut SqliteConnection) -> Result<(), diesel::result::Error> {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
             PRAGMA synchronous = {};",
            self.busy_timeout_ms,
            match self.synchronous {
                Synchronous::Full => "FULL",
                Synchronous::Normal => "NORMAL",
            }
        ))
    }

    /// The writer's own settings: every grant inserts at a random place of the digest and
    /// GUID indexes, so with millions of rows a larger page cache (16 MiB instead of SQLite's
    /// 2 MiB) keeps the inserts off the OS page cache. Memory grows only as pages are used.
    pub(crate) fn apply_writer(
        self,
        conn: &mut SqliteConnection,
    ) -> Result<(), diesel::result::Error> {
        self.apply(conn)?;
        conn.batch_execute("PRAGMA cache_size = -16384;")
    }
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        self.apply(conn).map_err(diesel::r2d2::Error::QueryError)
    }
}

impl Backend for SqliteConnection {
    const WRITER_THREAD: &'static str = "gatehouse-sqlite-writer";
    type Settings = Pragmas;

    fn open(url: &str, compiles: &Counter) -> diesel::ConnectionResult<Self> {
        compiles::establish_sqlite(url, compiles)
    }

    fn open_writer(
        url: &str,
        settings: &Pragmas,
        compiles: &Counter,
    ) -> Result<Self, StorageError> {
        let mut conn = Self::open(url, compiles)?;
        settings.apply_writer(&mut conn)?;
        Ok(conn)
    }

    fn migrate(&mut self) -> Result<Vec<String>, StorageError> {
        // The writer holds the file's write lock while migrating (SQLite serialises writers).
        Ok(self
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| StorageError::Migration(e.to_string()))?
            .into_iter()
            .map(|v| v.to_string())
            .collect())
    }

    /// `BEGIN IMMEDIATE`, the jobs, `COMMIT`: cached statements (diesel's transaction
    /// manager would compile each of them again per batch through `batch_execute`).
    fn batch(&mut self, f: impl FnOnce(&mut Self) -> QueryResult<()>) -> QueryResult<()> {
        BeginImmediate.execute(self)?;
        let result = f(self).and_then(|()| Commit.execute(self).map(drop));
        if result.is_err() {
            // Whatever state the transaction is in, end it (an error if there is none).
            let _ = Rollback.execute(self);
        }
        result
    }

    fn read<R>(
        &mut self,
        f: impl FnOnce(&mut dyn ReadTx) -> Result<R, DomainError>,
    ) -> Result<R, DomainError> {
        // Not `Tx::snapshot`: the joined reads save round trips to a PostgreSQL server, but on
        // SQLite each lookup is an in-process B-tree probe on a cached statement, and the
        // joined statements were prepared again on every call (diesel does not cache them):
        // introspection ran 16-24% slower with them (perf: sqlite3RunParser and the planner).
        // `BEGIN` and `COMMIT` are cached statements, not diesel's transaction manager (which
        // compiles both again on every read through `batch_execute`). A `BEGIN` that fails
        // returns before `f` ran (the pool then retries on another connection).
        Begin.execute(self).map_err(query_error)?;
        let result = match catch_unwind(AssertUnwindSafe(|| f(&mut Tx::new(self)))) {
            Ok(result) => result,
            Err(panic) => {
                let _ = Rollback.execute(self);
                resume_unwind(panic)
            }
        };
        let end = match &result {
            Ok(_) => Commit.execute(self),
            Err(_) => Rollback.execute(self),
        };
        match end {
            Ok(_) => result,
            Err(e) => {
                let _ = Rollback.execute(self);
                Err(query_error(e))
            }
        }
    }

    /// A read transaction as [`Backend::read`]: on SQLite it costs no round trip.
    fn read_each<R>(
        &mut self,
        f: impl FnOnce(&mut dyn ReadTx) -> Result<R, DomainError>,
    ) -> Result<R, DomainError> {
        Backend::read(self, f)
    }

    /// The job runs in the savepoint the batch (or the job before it) opened; then one round
    /// trip either releases it and opens the next job's (success) or rolls back to it
    /// (failure; the savepoint stays for the next job). A job that left the transaction
    /// aborted while returning `Ok` (a swallowed database error) fails the release: it is
    /// rolled back and reported as failed. A panicking job is rolled back before the panic
    /// goes on to the writer.
    fn savepoint<R>(
        &mut self,
        f: impl FnOnce(&mut dyn WriteTx) -> Result<R, DomainError>,
    ) -> Result<R, DomainError> {
        // Cached `SAVEPOINT` / `RELEASE` / `ROLLBACK TO` statements (see `batch`).
        let undo = |c: &mut Self| {
            RollbackToSavepoint
                .execute(c)
                .and_then(|_| Release.execute(c))
        };
        Savepoint.execute(self).map_err(query_error)?;
        let result = match catch_unwind(AssertUnwindSafe(|| f(&mut Tx::new(self)))) {
            Ok(result) => result,
            Err(panic) => {
                let _ = undo(self);
                resume_unwind(panic)
            }
        };
        let end = match &result {
            Ok(_) => Release.execute(self),
            Err(_) => undo(self),
        };
        match end {
            Ok(_) => result,
            Err(e) => {
                let _ = undo(self);
                Err(query_error(e))
            }
        }
    }

    /// One statement per row: a SQLite statement is a function call, not a round trip.
    fn insert_tokens(
        &mut self,
        session: Option<SessionRow>,
        access: AccessTokenRow,
        refresh: Option<RefreshTokenRow>,
    ) -> QueryResult<()> {
        if let Some(session) = session {
            diesel::insert_into(sessions::table)
                .values(session)
                .execute(self)?;
        }
        diesel::insert_into(access_tokens::table)
            .values(access)
            .execute(self)?;
        if let Some(refresh) = refresh {
            diesel::insert_into(refresh_tokens::table)
                .values(refresh)
                .execute(self)?;
        }
        Ok(())
    }

    /// The grants one after the other (the same cached statements as one grant's), in one
    /// savepoint instead of one each.
    fn insert_grants(&mut self, grants: &[GrantRows], _more: bool) -> QueryResult<()> {
        Savepoint.execute(self)?;
        let result = grants.iter().try_for_each(|g| {
            self.insert_tokens(g.session.clone(), g.access.clone(), g.refresh.clone())
        });
        let end = result.and_then(|()| Release.execute(self).map(drop));
        if end.is_err() {
            let _ = RollbackToSavepoint
                .execute(self)
                .and_then(|_| Release.execute(self));
        }
        end
    }
}

/// PostgreSQL per-connection settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PgSettings {
    pub(crate) synchronous: Synchronous,
    pub(crate) statement_timeout: Duration,
}

impl PgSettings {
    fn apply(self, conn: &mut PgConnection) -> Result<(), diesel::result::Error> {
        let timeout_ms = u64::try_from(self.statement_timeout.as_millis()).unwrap_or(u64::MAX);
        conn.batch_execute(&format!(
            "SET statement_timeout = {timeout_ms}; SET synchronous_commit = {}; \
             SET application_name = 'gatehouse'; SET TIME ZONE 'UTC';",
            match self.synchronous {
                Synchronous::Full => "on",
                Synchronous::Normal => "off",
            }
        ))
    }
}

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for PgSettings {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        self.apply(conn).map_err(diesel::r2d2::Error::QueryError)
    }
}

impl Backend for PgConnection {
    const WRITER_THREAD: &'static str = "gatehouse-pg-writer";
    type Settings = PgSettings;

    fn open(url: &str, compiles: &Counter) -> diesel::ConnectionResult<Self> {
        let mut conn = PgConnection::establish(url)?;
        conn.set_instrumentation(CacheMisses(compiles.clone()));
        Ok(conn)
    }

    fn open_writer(
        url: &str,
        settings: &PgSettings,
        compiles: &Counter,
    ) -> Result<Self, StorageError> {
        let mut conn = Self::open(url, compiles)?;
        settings.apply(&mut conn)?;
        Ok(conn)
    }

    fn migrate(&mut self) -> Result<Vec<String>, StorageError> {
        // A session-level advisory lock: a second replica starting at the same moment waits
        // here until the first has migrated, then finds nothing pending. Migrations may take
        // longer than a statement is allowed to.
        self.batch_execute(&format!(
            "SET statement_timeout = 0; SELECT pg_advisory_lock({PG_MIGRATE_LOCK})"
        ))?;
        let applied = self
            .run_pending_migrations(PG_MIGRATIONS)
            .map(|v| v.into_iter().map(|v| v.to_string()).collect::<Vec<_>>())
            .map_err(|e| StorageError::Migration(e.to_string()));
        let unlocked = self.batch_execute(&format!("SELECT pg_advisory_unlock({PG_MIGRATE_LOCK})"));
        let applied = applied?;
        unlocked?;
        Ok(applied)
    }

    /// One round trip to begin: `BEGIN`, the writers' advisory lock, and the first job's
    /// savepoint, sent together; one to commit. (Diesel's nested transactions would cost two
    /// more round trips per job, on the path every replica's writes take one after another.)
    fn batch(&mut self, f: impl FnOnce(&mut Self) -> QueryResult<()>) -> QueryResult<()> {
        let result = self
            .batch_execute(&format!(
                "BEGIN; SELECT pg_advisory_xact_lock({PG_WRITE_LOCK}); SAVEPOINT {PG_JOB}"
            ))
            .and_then(|()| f(self))
            .and_then(|()| self.batch_execute("COMMIT"));
        if result.is_err() {
            // Whatever state the transaction is in, end it (an error if there is none).
            let _ = self.batch_execute("ROLLBACK");
        }
        result
    }

    fn read<R>(
        &mut self,
        f: impl FnOnce(&mut dyn ReadTx) -> Result<R, DomainError>,
    ) -> Result<R, DomainError> {
        finish(
            self.build_transaction()
                .repeatable_read()
                .read_only()
                .run::<R, TxError, _>(|c| f(&mut Tx::snapshot(c)).map_err(TxError::Domain)),
        )
    }

    /// Each statement on its own (autocommit): no `BEGIN` and `COMMIT` round trips. The
    /// joined reads stay (a row read with another is the row as of that statement).
    fn read_each<R>(
        &mut self,
        f: impl FnOnce(&mut dyn ReadTx) -> Result<R, DomainError>,
    ) -> Result<R, DomainError> {
        f(&mut Tx::snapshot(self))
    }

    /// One statement, one round trip: `WITH s AS (INSERT INTO sessions …), a AS (INSERT INTO
    /// access_tokens …) INSERT INTO refresh_tokens …` (a prepared statement, cached per
    /// shape like every other). The rows of one statement see each other's foreign keys:
    /// they are checked at its end.
    fn insert_tokens(
        &mut self,
        session: Option<SessionRow>,
        access: AccessTokenRow,
        refresh: Option<RefreshTokenRow>,
    ) -> QueryResult<()> {
        let session = session.map(|row| diesel::insert_into(sessions::table).values(row));
        let access = diesel::insert_into(access_tokens::table).values(access);
        let refresh = refresh.map(|row| diesel::insert_into(refresh_tokens::table).values(row));
        let mut parts: Vec<&dyn QueryFragment<Pg>> = Vec::with_capacity(3);
        if let Some(session) = &session {
            parts.push(session);
        }
        parts.push(&access);
        if let Some(refresh) = &refresh {
            parts.push(refresh);
        }
        Together(&parts).execute(self)?;
        Ok(())
    }

    /// One statement for every grant of the batch, in the savepoint the jobs before them
    /// left open: `WITH gatehouse_0 AS (INSERT INTO sessions … VALUES (…), (…)), gatehouse_1
    /// AS (…) INSERT INTO refresh_tokens …` (issue 23: 1 round trip for the grants of a group
    /// commit instead of 2 per grant). Cached by its text like every statement: one shape per
    /// number of rows, so the writer's connection prepares at most `max_batch` of them per
    /// kind of grant. On an error, back to the savepoint.
    fn insert_grants(&mut self, grants: &[GrantRows], more: bool) -> QueryResult<()> {
        let sessions: Vec<&SessionRow> = grants.iter().filter_map(|g| g.session.as_ref()).collect();
        let access: Vec<&AccessTokenRow> = grants.iter().map(|g| &g.access).collect();
        let refresh: Vec<&RefreshTokenRow> =
            grants.iter().filter_map(|g| g.refresh.as_ref()).collect();
        let parts = [
            many!(sessions::table, &sessions),
            many!(access_tokens::table, &access),
            many!(refresh_tokens::table, &refresh),
        ];
        let parts: Vec<&dyn QueryFragment<Pg>> = parts
            .iter()
            .flatten()
            .map(|p| p as &dyn QueryFragment<Pg>)
            .collect();
        let result = Together(&parts).execute(self).map(drop).and_then(|()| {
            if more {
                self.batch_execute(&format!("RELEASE SAVEPOINT {PG_JOB}; SAVEPOINT {PG_JOB}"))
            } else {
                Ok(())
            }
        });
        if result.is_err() {
            let _ = self.batch_execute(&format!("ROLLBACK TO SAVEPOINT {PG_JOB}"));
        }
        result
    }

    /// The job runs in the savepoint the batch (or the job before it) opened; then one round
    /// trip either releases it and opens the next job's (success) or rolls back to it
    /// (failure; the savepoint stays for the next job). A job that left the transaction
    /// aborted while returning `Ok` (a swallowed database error) fails the release: it is
    /// rolled back and reported as failed. A panicking job is rolled back before the panic
    /// goes on to the writer.
    fn savepoint<R>(
        &mut self,
        f: impl FnOnce(&mut dyn WriteTx) -> Result<R, DomainError>,
    ) -> Result<R, DomainError> {
        let rollback = format!("ROLLBACK TO SAVEPOINT {PG_JOB}");
        let result = match catch_unwind(AssertUnwindSafe(|| f(&mut Tx::new(self)))) {
            Ok(result) => result,
            Err(panic) => {
                let _ = self.batch_execute(&rollback);
                resume_unwind(panic)
            }
        };
        let step = match &result {
            Ok(_) => format!("RELEASE SAVEPOINT {PG_JOB}; SAVEPOINT {PG_JOB}"),
            Err(_) => rollback.clone(),
        };
        match self.batch_execute(&step) {
            Ok(()) => result,
            Err(e) => {
                let _ = self.batch_execute(&rollback);
                Err(DomainError::storage(StorageError::Query(e)))
            }
        }
    }
}

/// Data-modifying statements run as one: `WITH gatehouse_0 AS (first), gatehouse_1 AS
/// (second) last` (PostgreSQL). Each part keeps its own binds; the whole is cached as a
/// prepared statement by its SQL text, like any query diesel builds.
struct Together<'q>(&'q [&'q dyn QueryFragment<Pg>]);

impl QueryFragment<Pg> for Together<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let Some((last, before)) = self.0.split_last() else {
            return Ok(());
        };
        for (i, part) in before.iter().enumerate() {
            out.push_sql(if i == 0 { "WITH " } else { ", " });
            out.push_sql(&format!("gatehouse_{i} AS ("));
            part.walk_ast(out.reborrow())?;
            out.push_sql(")");
        }
        if !before.is_empty() {
            out.push_sql(" ");
        }
        last.walk_ast(out.reborrow())
    }
}

impl QueryId for Together<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl RunQueryDsl<PgConnection> for Together<'_> {}
