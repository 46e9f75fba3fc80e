//! Migrations from an empty file, pragmas.

use gatehouse_domain::store::Store;
use gatehouse_storage::{Storage, StorageOptions, Synchronous, MIGRATIONS};

use crate::support::temp_db;

#[test]
fn migrations_run_from_empty_and_only_once() {
    let (_dir, path) = temp_db();
    assert!(!path.exists());
    let storage = Storage::open(&path, StorageOptions::default()).expect("open");
    assert!(path.exists());
    let applied = storage.applied_migrations().expect("applied");
    assert_eq!(applied.len(), 1, "{applied:?}");
    assert!(applied[0].starts_with("20261123000000"), "{applied:?}");
    // Every table is there and empty.
    let (users, clients) = storage
        .read(|tx| Ok((tx.users()?.len(), tx.clients()?.len())))
        .expect("read");
    assert_eq!((users, clients), (0, 0));
    drop(storage);
    let again = Storage::open(&path, StorageOptions::default()).expect("reopen");
    assert_eq!(again.applied_migrations().expect("applied"), applied);
    // The embedded set is what was applied.
    use diesel::migration::MigrationSource;
    let embedded =
        MigrationSource::<diesel::sqlite::Sqlite>::migrations(&MIGRATIONS).expect("embedded");
    assert_eq!(embedded.len(), applied.len());
}

#[test]
fn connections_get_the_server_pragmas() {
    let (_dir, path) = temp_db();
    let storage = Storage::open(&path, StorageOptions::default()).expect("open");
    assert_eq!(storage.pragma("journal_mode").expect("pragma"), "wal");
    assert_eq!(storage.pragma("foreign_keys").expect("pragma"), "1");
    assert_eq!(storage.pragma("synchronous").expect("pragma"), "2", "FULL");
    drop(storage);
    let normal = Storage::open(
        &path,
        StorageOptions {
            synchronous: Synchronous::Normal,
            ..StorageOptions::default()
        },
    )
    .expect("open");
    assert_eq!(normal.pragma("synchronous").expect("pragma"), "1", "NORMAL");
    assert!(normal.pragma("x; DROP TABLE users").is_err());
}
