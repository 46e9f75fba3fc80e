//! Diesel implementation of the Gatehouse domain repositories, on SQLite (the embedded
//! default) or PostgreSQL (several replicas on one database).
//!
//! * [`Storage::open`] opens (or creates) a SQLite file, [`Storage::connect`] either backend
//!   from a [`Database`]; both run the embedded migrations of their backend (PostgreSQL under
//!   an advisory lock, so replicas starting together migrate once) and build an r2d2 pool
//!   for reads.
//! * SQLite connections get `journal_mode=WAL`, `busy_timeout`, `foreign_keys=ON` and
//!   `synchronous=FULL` (fsync on every commit; [`Synchronous::Normal`] trades the last
//!   commits before a power loss for speed). PostgreSQL connections get `statement_timeout`
//!   and `synchronous_commit=on` (`off` for [`Synchronous::Normal`]).
//! * Writes go through one dedicated writer thread and its connection per process. On SQLite
//!   its transactions are `BEGIN IMMEDIATE`; on PostgreSQL each begins by taking a
//!   transaction-level advisory lock that the writers of every replica take, so a
//!   read-then-write inside [`Store::write`] is never interleaved with another write, on this
//!   process or another: single-use codes and rotated refresh tokens are consumed exactly
//!   once.
//! * Group commit: the writer runs every write already waiting (up to
//!   [`StorageOptions::max_batch`]) in one transaction, each under its own `SAVEPOINT`, and
//!   answers the callers after the one commit (one fsync for the whole batch).
//! * Reads run on the pool in read transactions with a consistent snapshot (SQLite deferred
//!   transactions under WAL; PostgreSQL `REPEATABLE READ READ ONLY`), beside the writer.
//!
//! A write closure must not call [`Store::write`] itself (it would wait for its own batch).

mod backend;
mod backup;
mod cache;
mod compiles;
mod copy;
mod database;
mod pool;
mod repo;
mod rows;
pub mod schema;
pub mod timing;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use diesel::pg::PgConnection;
use diesel::r2d2::Pool;
use diesel::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use gatehouse_domain::store::{Pending, ReadTx, Store, WriteTx};
use gatehouse_domain::Error as DomainError;

use backend::{Backend, GrantRows, PgSettings, Pragmas};
pub use backup::{is_empty, seal_sqlite_file, snapshot_copy};
pub use copy::{copy, CopyReport, CopyTable, NOT_COPIED};
pub use database::{Database, SslMode};
use gatehouse_domain::model::{AccessToken, RefreshToken, Session};
use pool::{Customize, Manager};
pub use repo::{PgTx, SqliteTx, Tx};
use rows::{AccessTokenRow, RefreshTokenRow, SessionRow};
pub use writer::WriteStats;

/// The SQLite migrations under `crates/storage/migrations`, compiled in.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
/// The PostgreSQL migrations under `crates/storage/migrations-postgres`, compiled in: the
/// same versions as [`MIGRATIONS`] (a test holds them equal), in PostgreSQL's dialect.
pub const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations-postgres");

/// Errors of the storage layer. Above storage they travel as the opaque
/// [`gatehouse_domain::Error::Storage`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The database could not be opened.
    #[error("cannot open the database: {0}")]
    Connection(#[from] diesel::ConnectionError),
    /// The `--database` value is neither a path, a `sqlite://` nor a `postgres://` URL, or a
    /// setting is out of range. (Never holds the password.)
    #[error("invalid database setting: {0}")]
    Config(String),
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
/// Durability of commits: SQLite's `synchronous`, PostgreSQL's `synchronous_commit`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// fsync on every commit: an acknowledged token survives a power loss (default;
    /// PostgreSQL `synchronous_commit=on`).
    #[default]
    Full,
    /// SQLite: fsync at checkpoints only: durable across a process crash, not a power loss.
    /// PostgreSQL: `synchronous_commit=off` (a crash of the database server may lose the
    /// last commits).
    Normal,
}

/// How to open the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageOptions {
    /// Durability of commits.
    pub synchronous: Synchronous,
    /// How long a connection waits for a lock held by another process (SQLite).
    pub busy_timeout: Duration,
    /// Longest a statement may run, waiting for locks included (PostgreSQL
    /// `statement_timeout`).
    pub statement_timeout: Duration,
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
            statement_timeout: Duration::from_secs(5),
            read_pool_size: 8,
            pool_timeout: Duration::from_secs(5),
            max_batch: 64,
        }
    }
}

/// One backend's pool and writer.
struct Engine<C: Backend> {
    pool: Pool<Manager<C>>,
    writer: Arc<writer::Writer<C>>,
    compiles: compiles::Counter,
}

impl<C: Backend> Clone for Engine<C> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            writer: self.writer.clone(),
            compiles: self.compiles.clone(),
        }
    }
}

impl<C: Backend> Engine<C> {
    /// Migrates, then starts the writer and the read pool. `url` may hold a password: it
    /// goes to the driver only, never into a log or an error.
    fn start(
        url: String,
        settings: C::Settings,
        options: &StorageOptions,
    ) -> Result<Self, StorageError> {
        let compiles = compiles::Counter::default();
        let mut migrator = C::open_writer(&url, &settings, &compiles)?;
        for version in migrator.migrate()? {
            tracing::info!(%version, "applied migration");
        }
        drop(migrator);
        let writer = C::open_writer(&url, &settings, &compiles)?;
        let pool = Pool::builder()
            .max_size(options.read_pool_size.max(1))
            .connection_timeout(options.pool_timeout)
            // No `SELECT 1` on every checkout (a round trip on PostgreSQL): a read whose
            // transaction cannot begin discards the connection and starts over on another
            // (`read`), so a server restart still costs no failed request.
            .test_on_check_out(false)
            .connection_customizer(Box::new(Customize(settings.clone())))
            .build(Manager::<C>::new(url.clone(), compiles.clone()))?;
        let writer =
            writer::Writer::spawn(writer, url, settings, compiles.clone(), options.max_batch)?;
        Ok(Self {
            pool,
            writer: Arc::new(writer),
            compiles,
        })
    }

    /// Runs `f` in a read transaction on a pooled connection. When the transaction cannot
    /// even begin (`f` has not run), the connection is discarded and the read starts over on
    /// another, up to once per pooled connection and once more on a fresh one.
    fn read<R>(
        &self,
        f: impl FnOnce(&mut dyn ReadTx) -> Result<R, DomainError>,
    ) -> Result<R, DomainError> {
        let mut f = Some(f);
        let mut attempts = self.pool.max_size() + 1;
        loop {
            let mut conn = self
                .pool
                .get()
                .map_err(|e| DomainError::storage(StorageError::Pool(e)))?;
            let result = C::read(&mut conn, |tx| match f.take() {
                Some(f) => f(tx),
                None => Err(DomainError::storage(StorageError::Writer(
                    "a read ran twice".to_owned(),
                ))),
            });
            attempts -= 1;
            if result.is_ok() || f.is_none() || attempts == 0 {
                return result;
            }
            // BEGIN failed: this connection is gone (or going); never hand it out again.
            conn.discard();
            tracing::debug!("a pooled connection failed to begin a read; retrying on another");
        }
    }
}

impl<C: Backend> Engine<C> {
    /// Runs `f` over reads that need no common snapshot on a pooled connection. When it
    /// fails on a connection that no longer answers (a server restart: no transaction was
    /// begun first to find out), the connection is discarded and `f` runs again on another,
    /// up to once per pooled connection and once more on a fresh one.
    fn read_each<R>(
        &self,
        f: impl Fn(&mut dyn ReadTx) -> Result<R, DomainError>,
    ) -> Result<R, DomainError> {
        let mut attempts = self.pool.max_size() + 1;
        loop {
            let mut conn = self
                .pool
                .get()
                .map_err(|e| DomainError::storage(StorageError::Pool(e)))?;
            let result = C::read_each(&mut conn, &f);
            attempts -= 1;
            // Only a failure pays the look at the connection (a round trip).
            if result.is_ok() || attempts == 0 || !conn.lost() {
                return result;
            }
            conn.discard();
            tracing::debug!("a pooled connection failed under a read; retrying on another");
        }
    }
}

#[derive(Clone)]
enum Inner {
    Sqlite(Engine<SqliteConnection>),
    Postgres(Engine<PgConnection>),
}

/// The store: SQLite or PostgreSQL. Cheap to clone (shared pool and writer).
#[derive(Clone)]
pub struct Storage {
    inner: Inner,
    /// Every write transaction is rolled back ([`Storage::rolled_back`]).
    dry: bool,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (backend, state) = match &self.inner {
            Inner::Sqlite(e) => ("sqlite", e.pool.state()),
            Inner::Postgres(e) => ("postgres", e.pool.state()),
        };
        f.debug_struct("Storage")
            .field("backend", &backend)
            .field("pool_connections", &state.connections)
            .field("pool_idle", &state.idle_connections)
            .field("dry", &self.dry)
            .finish_non_exhaustive()
    }
}

impl Storage {
    /// Opens or creates the SQLite database at `path`, applies the pragmas, runs pending
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
        Ok(Self {
            inner: Inner::Sqlite(Engine::start(url, pragmas, &options)?),
            dry: false,
        })
    }

    /// Opens either backend: a SQLite file (created when missing) or a PostgreSQL database
    /// (which must exist); runs the pending migrations of that backend and builds the pool.
    ///
    /// # Errors
    /// [`StorageError`] if the database cannot be reached or a migration fails. The error
    /// never holds the password of a URL.
    pub fn connect(database: &Database, options: StorageOptions) -> Result<Self, StorageError> {
        match database {
            Database::Sqlite(path) => Self::open(path, options),
            Database::Postgres(url) => {
                let settings = PgSettings {
                    synchronous: options.synchronous,
                    statement_timeout: options.statement_timeout,
                };
                let engine = Engine::start(url.expose().to_owned(), settings, &options)
                    .map_err(|e| url.scrub(e))?;
                Ok(Self {
                    inner: Inner::Postgres(engine),
                    dry: false,
                })
            }
        }
    }

    /// The same database, whose write transactions are always rolled back: each write runs
    /// for real (in its savepoint of the writer's transaction, seeing and taking the same
    /// locks), its closure's answer is returned, and nothing of it stays. The dual-run's dry
    /// run decides a request exactly as the server would, and writes nothing.
    pub fn rolled_back(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            dry: true,
        }
    }

    /// Whether this handle rolls every write back.
    pub fn is_rolled_back(&self) -> bool {
        self.dry
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match &self.inner {
            Inner::Sqlite(_) => "sqlite",
            Inner::Postgres(_) => "postgres",
        }
    }

    /// How many write transactions (batches) and writes the writer has run: `writes /
    /// transactions` is the group-commit factor.
    pub fn write_stats(&self) -> WriteStats {
        match &self.inner {
            Inner::Sqlite(e) => e.writer.stats(),
            Inner::Postgres(e) => e.writer.stats(),
        }
    }

    /// SQL compilations so far, by every connection of this store: on SQLite the checks
    /// SQLite's authorizer made while compiling statements (one or more per statement; a
    /// statement that runs again from a cache makes none); on PostgreSQL the statements
    /// diesel prepared for its cache. Flat under steady load when no request compiles SQL
    /// (`compiles.rs`).
    pub fn sql_compiles(&self) -> u64 {
        match &self.inner {
            Inner::Sqlite(e) => e.compiles.load(std::sync::atomic::Ordering::Relaxed),
            Inner::Postgres(e) => e.compiles.load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// The names of the migrations applied to this database, oldest first.
    ///
    /// # Errors
    /// [`StorageError`] on a database failure.
    pub fn applied_migrations(&self) -> Result<Vec<String>, StorageError> {
        let versions = match &self.inner {
            Inner::Sqlite(e) => (**e.pool.get()?).applied_migrations(),
            Inner::Postgres(e) => (**e.pool.get()?).applied_migrations(),
        };
        let mut versions = versions
            .map_err(|e| StorageError::Migration(e.to_string()))?
            .into_iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>();
        versions.sort();
        Ok(versions)
    }

    /// A setting as a read connection sees it, for diagnostics: on SQLite a pragma whose
    /// result column has its name (`journal_mode`, `foreign_keys`, `synchronous`), on
    /// PostgreSQL `current_setting(name)` (`statement_timeout`, `synchronous_commit`,
    /// `transaction_isolation`).
    ///
    /// # Errors
    /// [`StorageError`] on a database failure or a name that is not a plain identifier.
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
        let rows: Vec<Value> = match &self.inner {
            Inner::Sqlite(e) => diesel::sql_query(format!(
                "SELECT CAST({name} AS TEXT) AS value FROM pragma_{name}"
            ))
            .load(&mut **e.pool.get()?)?,
            Inner::Postgres(e) => diesel::sql_query("SELECT current_setting($1) AS value")
                .bind::<Text, _>(name)
                .load(&mut **e.pool.get()?)?,
        };
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
        timing::account(|| match &self.inner {
            Inner::Sqlite(e) => e.read(f),
            Inner::Postgres(e) => e.read(f),
        })
    }

    fn read_each<R>(
        &self,
        f: impl Fn(&mut dyn ReadTx) -> Result<R, DomainError>,
    ) -> Result<R, DomainError> {
        timing::account(|| match &self.inner {
            Inner::Sqlite(e) => e.read(f),
            Inner::Postgres(e) => e.read_each(f),
        })
    }

    fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn WriteTx) -> Result<R, DomainError> + Send + 'static,
    ) -> Result<R, DomainError> {
        timing::account(|| {
            if self.dry {
                return match &self.inner {
                    Inner::Sqlite(e) => e.writer.write_rolled_back(f),
                    Inner::Postgres(e) => e.writer.write_rolled_back(f),
                };
            }
            match &self.inner {
                Inner::Sqlite(e) => e.writer.write(f),
                Inner::Postgres(e) => e.writer.write(f),
            }
        })
    }

    fn write_later<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn WriteTx) -> Result<R, DomainError> + Send + 'static,
    ) -> Pending<R> {
        match (&self.inner, self.dry) {
            (Inner::Sqlite(e), false) => e.writer.write_later(f),
            (Inner::Postgres(e), false) => e.writer.write_later(f),
            (Inner::Sqlite(e), true) => e.writer.write_rolled_back_later(f),
            (Inner::Postgres(e), true) => e.writer.write_rolled_back_later(f),
        }
    }

    /// The rows go to the writer as rows, inserted with the other grants' rows of the same
    /// batch (`writer.rs`); a rolled-back handle runs them as a closure (rolled back).
    fn insert_tokens_later(
        &self,
        session: Option<Session>,
        access: AccessToken,
        refresh: Option<RefreshToken>,
    ) -> Pending<()> {
        if self.dry {
            return self.write_later(move |tx| {
                tx.insert_tokens(session.as_ref(), &access, refresh.as_ref())
            });
        }
        let rows = GrantRows {
            session: session.as_ref().map(SessionRow::from_domain),
            access: AccessTokenRow::from_domain(&access),
            refresh: refresh.as_ref().map(RefreshTokenRow::from_domain),
        };
        match &self.inner {
            Inner::Sqlite(e) => e.writer.insert_later(rows),
            Inner::Postgres(e) => e.writer.insert_later(rows),
        }
    }
}
