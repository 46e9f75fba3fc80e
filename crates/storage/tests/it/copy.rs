//! `gatehouse_storage::copy`: SQLite → PostgreSQL → SQLite keeps users, clients, sessions,
//! live tokens and lockout state; a second run copies nothing new; expired tokens stay
//! behind.

use std::sync::Arc;

use gatehouse_domain::authorize::AuthorizationParams;
use gatehouse_domain::clock::{Clock, MockClock};
use gatehouse_domain::dual_run::{FeatureCounts, Usage};
use gatehouse_domain::par::PushedRequest;
use gatehouse_domain::secret::TokenDigest;
use gatehouse_domain::store::Store;
use gatehouse_domain::Config;
use gatehouse_storage::{copy, CopyTable, Database, Storage, StorageOptions, NOT_COPIED};
use time::Duration;

use crate::support::{demo_client, password, service, temp_db, v1_password, TEST_ITERATIONS};

fn counts(report: &[CopyTable]) -> Vec<(&'static str, u64)> {
    report.iter().map(|t| (t.table, t.source_rows)).collect()
}

#[test]
fn sqlite_to_postgres_and_back() {
    let Some(url) = gatehouse_tests::pg::fresh_database("sqlite_to_postgres_and_back") else {
        return;
    };
    // The source (SQLite, the fixture's default): the demo data, a session with tokens, a lockout record, an expired token.
    let fx = crate::support::fx();
    let old = fx
        .gh
        .password_grant(v1_password("alice", "alice-password-1"))
        .expect("login");
    fx.clock.advance(Duration::hours(2)); // `old` access token expired (20 min)
    let live = fx
        .gh
        .password_grant(v1_password("alice", "alice-password-1"))
        .expect("login");
    assert!(fx.gh.password_grant(password("bob", "wrong")).is_err());
    let now = fx.clock.now();

    let pg = Database::parse(&url).expect("url");
    let target = Storage::connect(&pg, StorageOptions::default()).expect("open pg");
    let mut lines = 0;
    let report = copy(&fx.store, &target, now, &mut |_| lines += 1).expect("copy");
    assert!(lines >= 13, "a progress line per table at least");
    assert!(report.inserted() > 0);
    let by_table = counts(&report.tables);
    assert!(by_table.contains(&("users", 2)), "{by_table:?}");
    assert!(
        by_table.contains(&("access_tokens", 1)),
        "only the live one: {by_table:?}"
    );
    assert!(by_table.contains(&("login_failures", 1)), "{by_table:?}");
    for t in &report.tables {
        assert_eq!(t.destination_rows, t.source_rows, "{t:?}");
    }

    // The copy serves: the live tokens work there, the expired one is not there.
    let clock = Arc::new(MockClock::new(now));
    let on_pg = service(&pg, clock.clone(), TEST_ITERATIONS, Config::default());
    let info = on_pg
        .validate_access_token(live.access_token.expose())
        .expect("live token copied");
    assert_eq!(info.user.map(|u| u.user_name).as_deref(), Some("alice"));
    assert!(on_pg
        .validate_access_token(old.access_token.expose())
        .is_err());
    let refresh = live.refresh_token.as_ref().expect("refresh").expose();
    on_pg
        .refresh_grant(&demo_client(), refresh, None)
        .expect("refresh on the copy");
    let failure = target
        .read(|tx| tx.login_failure("user:bob"))
        .expect("read")
        .expect("lockout state copied");
    assert_eq!(failure.failures, 1);

    // Idempotent: again, nothing new.
    let again = copy(&fx.store, &target, now, &mut |_| {}).expect("copy again");
    assert_eq!(again.inserted(), 0, "{again:?}");

    // And back, into a new SQLite file: the rotation done on PostgreSQL comes along.
    let (_dir, path) = temp_db();
    let back = Storage::open(&path, StorageOptions::default()).expect("open sqlite");
    let report = copy(&target, &back, now, &mut |_| {}).expect("copy back");
    for t in &report.tables {
        assert_eq!(t.destination_rows, t.source_rows, "{t:?}");
        assert_eq!(t.inserted, t.source_rows, "{t:?}");
    }
    let rotated = back
        .read(|tx| tx.refresh_token(&gatehouse_domain::secret::TokenDigest::of(refresh)))
        .expect("read")
        .expect("refresh token there");
    assert!(rotated.rotated_at.is_some(), "{rotated:?}");
}

/// The tables `schema.rs` declares (`diesel::table! { name (key) { … } }`).
fn schema_tables() -> Vec<&'static str> {
    let schema = include_str!("../../src/schema.rs");
    let tables: Vec<&str> = schema
        .split("diesel::table! {")
        .skip(1)
        .filter_map(|block| block.split_whitespace().next())
        .collect();
    assert!(tables.len() >= 20, "schema.rs parsed: {tables:?}");
    tables
}

/// `gatehouse copy` covers every table of `schema.rs`: each is copied or listed in
/// `NOT_COPIED` with its reason, never both; a new table in neither list fails here. The
/// tables copied since this test came (server keys, assertion `jti`s, pushed requests, rate
/// windows, usage and dual-run counters) arrive with their rows.
pub fn copy_covers_every_table() {
    let fx = crate::support::fx();
    let now = fx.clock.now();
    let later = now + Duration::minutes(5);
    fx.store
        .write(move |tx| {
            tx.insert_server_key_if_absent("copy-test", &[7; 32], now)?;
            tx.insert_assertion_jti("demo-client", "jti-1", later)?;
            tx.hit_rate_window("copy-test", now, Duration::minutes(1))?;
            tx.count_comparison("v1", "/token", &["compared", "same"])?;
            tx.add_legacy_usage(&[Usage {
                client_id: "demo-client".to_owned(),
                dialect: "v1".to_owned(),
                requests: 3,
                first_seen: now,
                last_seen: now,
                features: FeatureCounts::default(),
            }])?;
            tx.insert_pushed_request(&PushedRequest {
                digest: TokenDigest::of("copy-test-request"),
                client_id: "demo-client".to_owned(),
                params: AuthorizationParams::default(),
                expires_at: later,
            })
        })
        .expect("seed");

    let (_dir, path) = temp_db();
    let target = Storage::open(&path, StorageOptions::default()).expect("open sqlite");
    let report = copy(&fx.store, &target, now, &mut |_| {}).expect("copy");

    let copied: Vec<&str> = report.tables.iter().map(|t| t.table).collect();
    let skipped: Vec<&str> = NOT_COPIED.iter().map(|(t, _)| *t).collect();
    for table in schema_tables() {
        assert!(
            copied.contains(&table) != skipped.contains(&table),
            "{table}: copy it (a copy_table! line in copy.rs) or list it in NOT_COPIED with \
             the reason, not both nor neither"
        );
    }
    for (table, reason) in NOT_COPIED {
        assert!(
            schema_tables().contains(table),
            "{table} is not in schema.rs"
        );
        assert!(reason.len() > 20, "{table}: say why");
    }
    for table in [
        "server_keys",
        "client_assertion_jtis",
        "pushed_requests",
        "rate_windows",
        "dual_run_counts",
        "legacy_usage",
    ] {
        let t = report
            .tables
            .iter()
            .find(|t| t.table == table)
            .unwrap_or_else(|| panic!("{table} copied"));
        assert!(t.source_rows >= 1, "{t:?}");
        assert_eq!(t.destination_rows, t.source_rows, "{t:?}");
    }
    // The copy serves them: the jti stays spent, the usage and counters read the same.
    let jti_spent = target
        .read(move |tx| tx.assertion_jti_seen("demo-client", "jti-1", now))
        .expect("read");
    assert!(jti_spent, "a replayed assertion stays refused after a move");
    let key = target.read(|tx| tx.server_key("copy-test")).expect("read");
    assert_eq!(key, Some(vec![7; 32]));
    let usage = target.read(|tx| tx.legacy_usage(None)).expect("read");
    assert_eq!(
        usage.iter().map(|u| u.requests).sum::<u64>(),
        3,
        "{usage:?}"
    );
}

both!(copy_covers_every_table);
