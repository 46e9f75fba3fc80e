//! `gatehouse backup` and `gatehouse restore`: the copy machinery ([`crate::copy`]) reading
//! the whole source inside ONE read transaction, so the copy is a consistent snapshot while
//! the server keeps writing (SQLite: a deferred transaction under WAL, whose snapshot the
//! writer never disturbs; PostgreSQL: `REPEATABLE READ READ ONLY`), into an empty
//! destination. Because source counts and rows come from the same snapshot and the
//! destination was empty, verification is exact: every table of the destination holds
//! exactly the rows the snapshot held (tokens, codes and browser sessions already expired
//! are left out, as by `copy`).

use diesel::connection::Connection as _;
use diesel::pg::PgConnection;
use diesel::SqliteConnection;
use time::OffsetDateTime;

use crate::copy::{pg_to_pg, pg_to_sqlite, sqlite_to_pg, sqlite_to_sqlite};
use crate::rows::micros;
use crate::{CopyReport, CopyTable, Inner, Storage, StorageError};

/// The source side of a snapshot copy: `f` runs inside one read transaction of `conn`.
trait Snapshot: Sized {
    fn snapshot<R>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<R, StorageError>,
    ) -> Result<R, StorageError>;
}

impl Snapshot for SqliteConnection {
    fn snapshot<R>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<R, StorageError>,
    ) -> Result<R, StorageError> {
        // BEGIN DEFERRED: the first SELECT fixes the snapshot; WAL keeps it while the writer
        // commits beside it.
        self.transaction(f)
    }
}

impl Snapshot for PgConnection {
    fn snapshot<R>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<R, StorageError>,
    ) -> Result<R, StorageError> {
        self.build_transaction()
            .repeatable_read()
            .read_only()
            .run(f)
    }
}

/// Copies a consistent snapshot of `from` into `to`, which must be empty (a new SQLite file,
/// a new PostgreSQL database; both already migrated, as [`Storage::connect`] leaves them).
///
/// # Errors
/// [`StorageError`] on a database failure, and [`StorageError::Writer`] when `to` held rows
/// already or a table of `to` does not hold exactly the snapshot's rows afterwards.
pub fn snapshot_copy(
    from: &Storage,
    to: &Storage,
    now: OffsetDateTime,
    progress: &mut dyn FnMut(&CopyTable),
) -> Result<CopyReport, StorageError> {
    let now = micros(now);
    let tables = match (&from.inner, &to.inner) {
        (Inner::Sqlite(s), Inner::Sqlite(d)) => {
            let dst = &mut **d.pool.get()?;
            (**s.pool.get()?).snapshot(|src| sqlite_to_sqlite(src, dst, now, progress))?
        }
        (Inner::Sqlite(s), Inner::Postgres(d)) => {
            let dst = &mut **d.pool.get()?;
            (**s.pool.get()?).snapshot(|src| sqlite_to_pg(src, dst, now, progress))?
        }
        (Inner::Postgres(s), Inner::Sqlite(d)) => {
            let dst = &mut **d.pool.get()?;
            (**s.pool.get()?).snapshot(|src| pg_to_sqlite(src, dst, now, progress))?
        }
        (Inner::Postgres(s), Inner::Postgres(d)) => {
            let dst = &mut **d.pool.get()?;
            (**s.pool.get()?).snapshot(|src| pg_to_pg(src, dst, now, progress))?
        }
    };
    if let Some(t) = tables
        .iter()
        .find(|t| t.already_present > 0 || t.destination_rows != t.source_rows)
    {
        return Err(StorageError::Writer(format!(
            "verification failed: {} has {} rows in the snapshot but {} in the copy ({} were \
             there before)",
            t.table, t.source_rows, t.destination_rows, t.already_present
        )));
    }
    Ok(CopyReport { tables })
}

/// Whether a database holds nothing a restore could collide with: no user, client, session,
/// signing key or lockout record.
///
/// # Errors
/// [`StorageError`] on a database failure.
pub fn is_empty(storage: &Storage) -> Result<bool, StorageError> {
    use crate::schema::*;
    use diesel::prelude::*;
    macro_rules! none_in {
        ($conn:expr) => {{
            let c = $conn;
            let n: i64 = users::table.count().get_result::<i64>(c)?
                + clients::table.count().get_result::<i64>(c)?
                + sessions::table.count().get_result::<i64>(c)?
                + signing_keys::table.count().get_result::<i64>(c)?
                + login_failures::table.count().get_result::<i64>(c)?
                + brokers::table.count().get_result::<i64>(c)?;
            n == 0
        }};
    }
    Ok(match &storage.inner {
        Inner::Sqlite(e) => none_in!(&mut **e.pool.get()?),
        Inner::Postgres(e) => none_in!(&mut **e.pool.get()?),
    })
}

/// Makes a SQLite backup one self-contained file: folds its write-ahead log in
/// (`journal_mode=DELETE`) and checks it (`PRAGMA integrity_check`). Call it after the
/// [`Storage`] that wrote the file is dropped.
///
/// # Errors
/// [`StorageError`] when the file cannot be opened or is not intact.
pub fn seal_sqlite_file(path: &std::path::Path) -> Result<(), StorageError> {
    use diesel::connection::SimpleConnection as _;
    use diesel::RunQueryDsl as _;
    #[derive(diesel::QueryableByName)]
    struct Check {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
    conn.batch_execute("PRAGMA journal_mode = DELETE;")?;
    let rows: Vec<Check> = diesel::sql_query("PRAGMA integrity_check").load(&mut conn)?;
    match rows.first() {
        Some(c) if c.integrity_check == "ok" && rows.len() == 1 => Ok(()),
        _ => Err(StorageError::Writer(format!(
            "{}: integrity check failed",
            path.display()
        ))),
    }
}
