//! Shared fixtures: a temporary database on the backend under test, a mock clock, the demo
//! data at a low hash cost.
//!
//! Every test runs twice, once per backend: a test module lists its test functions in
//! `both!(…)` (in main.rs), which makes `<name>::sqlite` and `<name>::postgres`. The backend
//! under test is a thread-local that [`place`] and [`fx`] read: SQLite gets a file in a
//! temporary directory, PostgreSQL a fresh database on the throwaway cluster of this test
//! process (`gatehouse_tests::pg`), or the PostgreSQL half is left out, loudly, when the
//! server binaries are missing (and fails under `GATEHOUSE_TEST_REQUIRE=postgres`).

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::Arc;

use gatehouse_domain::clock::MockClock;
use gatehouse_domain::credentials::PasswordHasher;
use gatehouse_domain::import::demo_document;
use gatehouse_domain::rng::SeededRng;
use gatehouse_domain::secret::Secret;
use gatehouse_domain::{ClientAuth, Config, Gatehouse, PasswordGrant};
use gatehouse_storage::{Database, Storage, StorageOptions};
use tempfile::TempDir;
use time::macros::datetime;

/// A backend under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

thread_local! {
    static BACKEND: Cell<Backend> = const { Cell::new(Backend::Sqlite) };
}

/// The backend the current test runs on.
pub fn backend() -> Backend {
    BACKEND.with(Cell::get)
}

/// Runs `test` on `backend` (what `both!` expands to).
pub fn run(backend: Backend, name: &str, test: fn()) {
    if backend == Backend::Postgres && gatehouse_tests::pg::shared(name).is_none() {
        return;
    }
    BACKEND.with(|b| b.set(backend));
    test();
}

/// A new, empty database on the backend under test. (For SQLite the directory goes when
/// this is dropped; PostgreSQL databases go with the cluster.)
pub struct Place {
    _dir: Option<TempDir>,
    pub database: Database,
    /// What a raw diesel connection opens: the SQLite path or the PostgreSQL URL.
    pub url: String,
}

pub fn place() -> Place {
    match backend() {
        Backend::Sqlite => {
            let (dir, path) = temp_db();
            Place {
                _dir: Some(dir),
                url: path.to_string_lossy().into_owned(),
                database: Database::Sqlite(path),
            }
        }
        Backend::Postgres => {
            let url = gatehouse_tests::pg::fresh_database("storage suite")
                .expect("the PostgreSQL half runs only with a cluster");
            Place {
                _dir: None,
                database: Database::parse(&url).expect("postgres URL"),
                url,
            }
        }
    }
}

/// A new database, opened.
pub fn open_with(options: StorageOptions) -> (Place, Storage) {
    let place = place();
    let storage = Storage::connect(&place.database, options).expect("open");
    (place, storage)
}

/// PBKDF2 cost used in tests (production: 600,000).
pub const TEST_ITERATIONS: u32 = 1_000;

pub struct Fx {
    pub place: Place,
    pub clock: Arc<MockClock>,
    pub gh: Arc<Gatehouse<Storage>>,
    /// The handle `gh` was built over (a clone: the same pool and writer): what a test reads
    /// or writes around the operations goes here, to the storage directly (the domain keeps
    /// its store to itself).
    pub store: Storage,
}

impl Fx {
    pub fn database(&self) -> &Database {
        &self.place.database
    }

    /// Another service over the same database, with another hasher / config.
    pub fn reopen(&self, iterations: u32, config: Config) -> Gatehouse<Storage> {
        service(self.database(), self.clock.clone(), iterations, config)
    }
}

/// A service over `database`.
pub fn service(
    database: &Database,
    clock: Arc<MockClock>,
    iterations: u32,
    config: Config,
) -> Gatehouse<Storage> {
    let storage = Storage::connect(database, StorageOptions::default()).expect("open");
    service_on(storage, clock, iterations, config)
}

/// A service over `storage` (pass a clone to keep a handle for the test's own reads).
pub fn service_on(
    storage: Storage,
    clock: Arc<MockClock>,
    iterations: u32,
    config: Config,
) -> Gatehouse<Storage> {
    Gatehouse::new(
        storage,
        clock,
        Arc::new(SeededRng::new(99)),
        PasswordHasher::new(iterations).expect("hasher"),
        config,
    )
}

pub fn temp_db() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("gatehouse.db");
    (dir, path)
}

/// A fresh database with the demo data, default config.
pub fn fx() -> Fx {
    fx_with(Config::default())
}

pub fn fx_with(config: Config) -> Fx {
    let (place, storage) = open_with(StorageOptions::default());
    let clock = Arc::new(MockClock::new(datetime!(2026-01-01 00:00 UTC)));
    let gh = Gatehouse::new(
        storage.clone(),
        clock.clone(),
        Arc::new(SeededRng::new(1)),
        PasswordHasher::new(TEST_ITERATIONS).expect("hasher"),
        config,
    );
    let doc = demo_document().expect("demo");
    gh.import(&doc).expect("import demo");
    Fx {
        place,
        clock,
        gh: Arc::new(gh),
        store: storage,
    }
}

pub fn demo_client() -> ClientAuth {
    ClientAuth::new("demo-client", Some(Secret::new("demo-secret")))
}

pub fn public_client() -> ClientAuth {
    ClientAuth::new("demo-public", None)
}

pub fn password(user: &str, password: &str) -> PasswordGrant {
    PasswordGrant {
        user_name: user.to_owned(),
        password: Secret::new(password),
        client: None,
        client_key: None,
        caller_ip: None,
        scope: None,
        want_refresh: false,
        // Katana's: no client, the (empty) default scope.
        without_client: gatehouse_domain::WithoutClient::Scope(String::new()),
    }
}

pub fn v1_password(user: &str, pw: &str) -> PasswordGrant {
    PasswordGrant {
        client: Some(demo_client()),
        want_refresh: true,
        ..password(user, pw)
    }
}
