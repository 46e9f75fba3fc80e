//! Diesel/SQLite implementation of the Gatehouse domain repositories.
//!
//! * [`Storage::open`] opens (or creates) the database file, runs the embedded migrations
//!   and builds an r2d2 pool for reads.
//! * Every connection gets `journal_mode=WAL`, `busy_timeout`, `foreign_keys=ON` and
//!   `synchronous=FULL` (fsync on every commit; [`Synchronous::Normal`] trades the last
//!   commits before a power loss for speed).
//! * Writes go through one dedicated writer thread and its connection, in `BEGIN IMMEDIATE`
//!   transactions, so a read-then-write inside [`Store::write`] is never interleaved with
//!   another write: single-use codes and rotated refresh tokens are consumed exactly once.
//! * Group commit: the writer runs every write already waiting (up to
//!   [`StorageOptions::max_batch`]) in one transaction, each under its own `SAVEPOINT`, and
//!   answers the callers after the one commit (one fsync for the whole batch).
//! * Reads run on the pool in deferred transactions (consistent snapshots; WAL lets them run
//!   beside the writer).
//!
//! A write closure must not call [`Store::write`] itself (it would wait for its own batch).

mod repo;
mod rows;
pub mod schema;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::{Connection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use gatehouse_domain::store::{ReadTx, Store, WriteTx};
use gatehouse_domain::Error as DomainError;

pub use repo::SqliteTx;
pub use writer::WriteStats;

/// The migrations under `crates/storage/migrations`, compiled in.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Errors of the storage layer. Above storage they travel as the opaque
/// [`gatehouse_domain::Error::Storage`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The database could not be opened.
    #[error("cannot open the database: {0}")]
    Connection(#[from] diesel::ConnectionError),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// The read pool failed (no connection within its timeout).
    #[error("connection pool: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    /// A query failed.
    #[error("query failed: {0}")]
    Query(#[from] diesel::result::Error),
    /// The writer thread failed (commit error, thread gone, a panicking transaction).
    #[error("writer: {0}")]
    Writer(String),
    /// The writer thread could not be started.
    #[error("cannot start the writer thread: {0}")]
    Thread(#[from] std::io::Error),
    /// A stored value could not be read back (a bad GUID, digest or hash).
    #[error("corrupt row in {table}: {detail}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// What was wrong.
        detail: String,
    },
}

/// Creates `path` with mode 0600 when it does not exist yet (an existing file keeps its
/// mode). SQLite gives its `-wal` and `-shm` files the mode of the database file, so the
/// token digests, password hashes and lockout records are readable by the server's user
/// only, whatever the umask.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// SQLite's `synchronous` setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// fsync on every commit: an acknowledged token survives a power loss (default).
    #[default]
    Full,
    /// fsync at checkpoints only: durable across a process crash, not a power loss.
    Normal,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// How to open the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageOptions {
    /// Durability of commits.
    pub synchronous: Synchronous,
    /// How long a connection waits for a lock held by another process.
    pub busy_timeout: Duration,
    /// Read connections in the pool.
    pub read_pool_size: u32,
    /// How long a read waits for a pool connection.
    pub pool_timeout: Duration,
    /// Most writes committed together (group commit); 1 commits every write on its own.
    pub max_batch: usize,
}

impl Default for StorageOptions {
    fn default() -> Self {
        Self {
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_secs(5),
            read_pool_size: 8,
            pool_timeout: Duration::from_secs(5),
            max_batch: 64,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Pragmas {
    synchronous: Synchronous,
    busy_timeout_ms: u64,
}

impl Pragmas {
    pub(crate) fn apply(self, conn: &mut SqliteConnection) -> Result<(), diesel::result::Error> {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
             PRAGMA synchronous = {};",
            self.busy_timeout_ms,
            self.synchronous.pragma()
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

/// The SQLite store. Cheap to clone (shared pool and writer).
#[derive(Clone)]
pub struct Storage {
    pool: Pool<ConnectionManager<SqliteConnection>>,
    writer: Arc<writer::Writer>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.pool.state();
        f.debug_struct("Storage")
            .field("pool_connections", &state.connections)
            .field("pool_idle", &state.idle_connections)
            .finish_non_exhaustive()
    }
}

impl Storage {
    /// Opens or creates the database at `path`, applies the pragmas, runs pending
    /// migrations and builds the read pool.
    ///
    /// # Errors
    /// [`StorageError`] if the file cannot be opened or a migration fails.
    pub fn open(path: impl AsRef<Path>, options: StorageOptions) -> Result<Self, StorageError> {
        let url = path.as_ref().to_string_lossy().into_owned();
        let pragmas = Pragmas {
            synchronous: options.synchronous,
            busy_timeout_ms: u64::try_from(options.busy_timeout.as_millis()).unwrap_or(u64::MAX),
        };
        create_private(path.as_ref()).map_err(|e| {
            StorageError::Connection(diesel::ConnectionError::BadConnection(format!(
                "{url}: {e}"
            )))
        })?;
        let mut writer = SqliteConnection::establish(&url)?;
        pragmas.apply_writer(&mut writer)?;
        let applied = writer
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| StorageError::Migration(e.to_string()))?;
        for version in &applied {
            tracing::info!(%version, "applied migration");
        }
        let pool = Pool::builder()
            .max_size(options.read_pool_size.max(1))
            .connection_timeout(options.pool_timeout)
            // r2d2 would run `SELECT 1` (parsed anew each time) on every checkout; a local
            // SQLite file connection does not go stale the way a network connection does, and
            // a broken one fails its own query with an error the caller sees.
            .test_on_check_out(false)
            .connection_customizer(Box::new(pragmas))
            .build(ConnectionManager::<SqliteConnection>::new(url.clone()))?;
        let writer = writer::Writer::spawn(writer, url, pragmas, options.max_batch)?;
        Ok(Self {
            pool,
            writer: Arc::new(writer),
        })
    }

    /// How many write transactions (batches) and writes the writer has run: `writes /
    /// transactions` is the group-commit factor.
    pub fn write_stats(&self) -> WriteStats {
        self.writer.stats()
    }

    /// The names of the migrations applied to this database, oldest first.
    ///
    /// # Errors
    /// [`StorageError`] on a database failure.
    pub fn applied_migrations(&self) -> Result<Vec<String>, StorageError> {
        let mut conn = self.pool.get()?;
        let mut versions = conn
            .applied_migrations()
            .map_err(|e| StorageError::Migration(e.to_string()))?
            .into_iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>();
        versions.sort();
        Ok(versions)
    }

    /// The value of a pragma whose result column has its name (`journal_mode`,
    /// `foreign_keys`, `synchronous`), as seen by a read connection. For diagnostics.
    ///
    /// # Errors
    /// [`StorageError`] on a database failure.
    pub fn pragma(&self, name: &str) -> Result<String, StorageError> {
        use diesel::sql_types::Text;
        use diesel::RunQueryDsl as _;
        #[derive(diesel::QueryableByName)]
        struct Value {
            #[diesel(sql_type = Text)]
            value: String,
        }
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(StorageError::Corrupt {
                table: "pragma",
                detail: "invalid pragma name".to_owned(),
            });
        }
        let mut conn = self.pool.get()?;
        let rows: Vec<Value> = diesel::sql_query(format!(
            "SELECT CAST({name} AS TEXT) AS value FROM pragma_{name}"
        ))
        .load(&mut *conn)?;
        Ok(rows.into_iter().next().map(|v| v.value).unwrap_or_default())
    }
}

pub(crate) enum TxError {
    Domain(DomainError),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        TxError::Db(e)
    }
}

pub(crate) fn finish<R>(result: Result<R, TxError>) -> Result<R, DomainError> {
    match result {
        Ok(r) => Ok(r),
        Err(TxError::Domain(e)) => Err(e),
        Err(TxError::Db(e)) => Err(DomainError::storage(StorageError::Query(e))),
    }
}

impl Store for Storage {
    fn read<R>(
        &self,
        f: impl FnOnce(&mut dyn ReadTx) -> Result<R, DomainError>,
    ) -> Result<R, DomainError> {
        let mut conn = self
            .pool
            .get()
            .map_err(|e| DomainError::storage(StorageError::Pool(e)))?;
        finish(conn.transaction::<R, TxError, _>(|c| {
            let mut tx = SqliteTx::new(c);
            f(&mut tx).map_err(TxError::Domain)
        }))
    }

    fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn WriteTx) -> Result<R, DomainError> + Send + 'static,
    ) -> Result<R, DomainError> {
        self.writer.write(f)
    }
}
