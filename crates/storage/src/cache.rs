//! Statements that diesel would compile again on every call, made cacheable.
//!
//! diesel keeps a prepared statement per query type (or per SQL text) and reuses it, except
//! for what it deems "unsafe to cache": every `UPDATE`, every upsert (`ON CONFLICT … DO
//! UPDATE`), `sql_query`, variable-length `IN` lists, and the `BEGIN`/`COMMIT`/`SAVEPOINT` its
//! transaction manager sends through `batch_execute`. Those are compiled again on each call:
//! on SQLite a parse, a name resolution and a plan each time (`sqlite3RunParser`,
//! `sqlite3Prepare` in the profiles in `docs/performance.md`); on PostgreSQL an unnamed
//! statement parsed and planned by the server.
//!
//! * [`Cached`] wraps one query and declares it safe to cache, keyed by its SQL text (and,
//!   on PostgreSQL, its bind types). That is exact for any shape: a changeset that skips its
//!   `None` fields yields a different text and therefore its own statement. Only the query's
//!   *shapes* must be bounded, which holds for every query written in `repo.rs`; never wrap
//!   an `eq_any` over a runtime list or a `sql_query` built with `format!`.
//! * [`fixed!`] makes a constant statement (`BEGIN IMMEDIATE`, `COMMIT`, `SAVEPOINT …`) a
//!   type with a static query id: cached once per connection, found by type id.

use diesel::backend::Backend as DieselBackend;
use diesel::pg::{Pg, PgConnection};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::result::QueryResult;
use diesel::row::NamedRow;
use diesel::sql_types::{BigInt, Untyped};
use diesel::sqlite::{Sqlite, SqliteConnection};
use diesel::{Connection, QueryableByName, RunQueryDsl};

/// A query diesel caches as a prepared statement by its SQL text (see the module).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cached<Q>(Q);

impl<Q, DB> QueryFragment<DB> for Cached<Q>
where
    DB: DieselBackend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q> QueryId for Cached<Q> {
    // Keyed by the SQL text: the type alone may stand for several texts.
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

/// A statement that returns no rows, run through diesel's row-loading path.
impl<Q> Query for Cached<Q> {
    type SqlType = Untyped;
}

impl<Q, C: Connection> RunQueryDsl<C> for Cached<Q> {}

impl<Q> Cached<Q> {
    /// Runs the statement; the number of rows it changed.
    pub(crate) fn execute<C: CachedExecute<Q>>(self, conn: &mut C) -> QueryResult<usize> {
        C::execute_cached(conn, self)
    }
}

/// How a connection runs a [`Cached`] statement.
///
/// diesel's `execute` hands the connection a *reference* to the query, and diesel's
/// `QueryFragment for &T` does not pass on [`Cached`]'s answer to "safe to cache?": the
/// question is asked of the wrapped `UPDATE`, which says no. Loading rows takes the query by
/// value, so [`Cached`] is asked: on SQLite the statement runs through `load` (it returns no
/// row) and `SELECT changes()` (a cached statement, a function call) gives the count that
/// `execute` would have. PostgreSQL keeps diesel's `execute` (the count comes with the
/// answer; one more statement would be one more round trip), i.e. an unnamed statement per
/// call as before.
pub(crate) trait CachedExecute<Q>: Connection {
    fn execute_cached(&mut self, query: Cached<Q>) -> QueryResult<usize>;
}

impl<Q> CachedExecute<Q> for SqliteConnection
where
    Q: QueryFragment<Sqlite>,
{
    fn execute_cached(&mut self, query: Cached<Q>) -> QueryResult<usize> {
        query.load::<NoRow>(self)?;
        let n: i64 = Changes.get_result(self)?;
        Ok(usize::try_from(n).unwrap_or(0))
    }
}

impl<Q> CachedExecute<Q> for PgConnection
where
    Q: QueryFragment<Pg> + QueryId,
{
    fn execute_cached(&mut self, query: Cached<Q>) -> QueryResult<usize> {
        self.execute_returning_count(&query.0)
    }
}

/// The (absent) row of a statement run through `load`.
struct NoRow;

impl<DB: DieselBackend> QueryableByName<DB> for NoRow {
    fn build<'a>(_row: &impl NamedRow<'a, DB>) -> diesel::deserialize::Result<Self> {
        Ok(NoRow)
    }
}

/// `SELECT changes()`: rows changed by the connection's last statement (SQLite).
#[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
struct Changes;

impl QueryFragment<Sqlite> for Changes {
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        pass.push_sql("SELECT changes()");
        Ok(())
    }
}

impl Query for Changes {
    type SqlType = BigInt;
}

impl RunQueryDsl<SqliteConnection> for Changes {}

/// `.cached()` on a query: see [`Cached`].
pub(crate) trait CacheDsl: Sized {
    fn cached(self) -> Cached<Self> {
        Cached(self)
    }
}

impl<Q> CacheDsl for Q {}

/// Constant statements, each a unit type with a static query id.
macro_rules! fixed {
    ($($(#[$doc:meta])* $name:ident = $sql:expr;)+) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
        pub(crate) struct $name;

        impl<DB: DieselBackend> QueryFragment<DB> for $name {
            fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
                pass.push_sql($sql);
                Ok(())
            }
        }

        impl<C: Connection> RunQueryDsl<C> for $name {}
    )+};
}

fixed! {
    /// Starts a SQLite read transaction (deferred: a WAL snapshot at its first read).
    Begin = "BEGIN";
    /// Starts a SQLite write transaction, taking the write lock at once.
    BeginImmediate = "BEGIN IMMEDIATE";
    /// Ends a transaction.
    Commit = "COMMIT";
    /// Abandons a transaction.
    Rollback = "ROLLBACK";
    /// Opens the savepoint a write job runs in.
    Savepoint = "SAVEPOINT gatehouse_job";
    /// Keeps a job's changes (and pops its savepoint).
    Release = "RELEASE SAVEPOINT gatehouse_job";
    /// Undoes a job's changes (its savepoint stays open: release it after).
    RollbackToSavepoint = "ROLLBACK TO SAVEPOINT gatehouse_job";
}
