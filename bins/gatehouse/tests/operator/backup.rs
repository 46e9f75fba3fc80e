//! `gatehouse backup` while the server writes, and the restore drill: what was issued before
//! the backup lives after the restore, what was issued after it does not.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use gatehouse_tests::Request;
use serde_json::Value;

use crate::harness::{both, Backend, Env};

both!(restore_drill_with_the_server_writing, |env: Env| {
    let server = env.serve(&[]);
    let first = server.login("alice", "alice-password-1");
    assert_eq!(first.status, 200, "{}", first.text());
    let before = first.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let refresh = first.json()["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let backup = env.path("backup.db");
    let backup_arg = backup.display().to_string();

    // The backup runs while another thread keeps issuing tokens (writes) on the server.
    let stop = AtomicBool::new(false);
    let written = AtomicUsize::new(0);
    let during_backup = std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                assert_eq!(server.login("bob", "bob-password-1").status, 200);
                written.fetch_add(1, Ordering::Relaxed);
            }
        });
        while written.load(Ordering::Relaxed) < 3 {
            std::thread::yield_now();
        }
        let start = written.load(Ordering::Relaxed);
        let out = env.run(&["backup", &backup_arg]).expect(0);
        let during = written.load(Ordering::Relaxed) - start;
        stop.store(true, Ordering::Relaxed);
        assert!(out.contains("verified"), "{out}");
        during
    });
    eprintln!("{during_backup} tokens issued while the backup ran");
    let after = server.token("alice", "alice-password-1");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&backup)
            .expect("backup")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    for suffix in ["-wal", "-shm"] {
        assert!(
            !env.path(&format!("backup.db{suffix}")).exists(),
            "one file"
        );
    }
    // A second backup to the same path is refused (4), the first untouched.
    env.run(&["backup", &backup_arg]).expect(4);

    let target = env.another_database("restored");
    let out = env
        .run(&["restore", &backup_arg, "--database", &target])
        .expect(0);
    assert!(out.contains("verified"), "{out}");
    env.run(&["restore", &backup_arg, "--database", &target])
        .expect(4);
    drop(server);

    // The key-encryption key is not in the backup (docs/operations.md: it is kept apart):
    // the restored server needs the one that sealed the signing keys (--demo made it beside
    // the SQLite database; on PostgreSQL --demo makes none, and so no signing key).
    let kek = format!("{}.kek", env.database);
    let extra: Vec<&str> = match env.backend {
        Backend::Sqlite => vec!["--key-encryption-key-file", &kek],
        Backend::Postgres => vec![],
    };
    let restored = env.serve_database(&target, &extra);
    assert!(restored.active(&before), "issued before the backup");
    assert!(!restored.active(&after), "issued after the backup");
    let refreshed = restored.send(
        Request::post("/api/v1/auth/token")
            .basic("demo-client", "demo-secret")
            .form(&format!("grant_type=refresh_token&refresh_token={refresh}")),
    );
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    assert_eq!(restored.login("alice", "alice-password-1").status, 200);
    let users = env
        .run(&["user", "list", "--json", "--database", &target])
        .expect(0);
    let users: Value = serde_json::from_str(&users).expect("json");
    assert_eq!(users.as_array().map(Vec::len), Some(2));
});

#[test]
fn backup_and_restore_refuse_what_they_should() {
    let Some(env) = Env::new(Backend::Sqlite, "backup_refusals") else {
        return;
    };
    env.run(&["migrate"]).expect(0);
    let missing = env.path("missing.db").display().to_string();
    let target = env.path("t.db").display().to_string();
    env.run(&["restore", &missing, "--database", &target])
        .expect(3);
    assert!(!env.path("missing.db").exists());
    let db = env.database.clone();
    env.run(&["backup", &db]).expect(4);
    let into_dir = env.path("no/such/dir/b.db").display().to_string();
    env.run(&["backup", &into_dir]).expect(1);
    assert!(!env.path("no/such/dir/b.db").exists());
}
