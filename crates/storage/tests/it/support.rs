//! Shared fixtures: a temporary database, a mock clock, the demo data at a low hash cost.

use std::path::PathBuf;
use std::sync::Arc;

use gatehouse_domain::clock::MockClock;
use gatehouse_domain::credentials::PasswordHasher;
use gatehouse_domain::import::demo_document;
use gatehouse_domain::rng::SeededRng;
use gatehouse_domain::secret::Secret;
use gatehouse_domain::{ClientAuth, Config, Gatehouse, PasswordGrant};
use gatehouse_storage::{Storage, StorageOptions};
use tempfile::TempDir;
use time::macros::datetime;

/// PBKDF2 cost used in tests (production: 600,000).
pub const TEST_ITERATIONS: u32 = 1_000;

pub struct Fx {
    pub dir: TempDir,
    pub clock: Arc<MockClock>,
    pub gh: Arc<Gatehouse<Storage>>,
}

impl Fx {
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("gatehouse.db")
    }

    /// Another service over the same file, with another hasher / config.
    pub fn reopen(&self, iterations: u32, config: Config) -> Gatehouse<Storage> {
        service(&self.path(), self.clock.clone(), iterations, config)
    }
}

/// A service over the database at `path`.
pub fn service(
    path: &std::path::Path,
    clock: Arc<MockClock>,
    iterations: u32,
    config: Config,
) -> Gatehouse<Storage> {
    let storage = Storage::open(path, StorageOptions::default()).expect("open");
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
    let (dir, path) = temp_db();
    let storage = Storage::open(&path, StorageOptions::default()).expect("open");
    let clock = Arc::new(MockClock::new(datetime!(2026-01-01 00:00 UTC)));
    let gh = Gatehouse::new(
        storage,
        clock.clone(),
        Arc::new(SeededRng::new(1)),
        PasswordHasher::new(TEST_ITERATIONS).expect("hasher"),
        config,
    );
    let doc = demo_document().expect("demo");
    gh.import(&doc).expect("import demo");
    Fx {
        dir,
        clock,
        gh: Arc::new(gh),
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
