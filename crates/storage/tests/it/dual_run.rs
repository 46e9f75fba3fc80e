//! Issue 22 over real databases: the dry run's rolled-back writes (a real grant decided, not
//! a row left behind), the dual-run counters and the cap on stored differences, and the
//! legacy-usage totals the periodic flush adds to.

use gatehouse_domain::dual_run::{Difference, FeatureCounts, Usage};
use gatehouse_domain::store::Store;
use gatehouse_domain::Error;
use time::Duration;

use crate::support::{fx, v1_password};

/// Rows of every table that a grant, a failed login or a dual-run record can touch.
fn rows(store: &gatehouse_storage::Storage) -> Vec<usize> {
    store
        .read(|tx| {
            let report = tx.legacy_usage(None)?;
            Ok(vec![
                tx.users()?.len(),
                tx.clients()?.len(),
                tx.comparison_counts()?.len(),
                usize::try_from(tx.differences_stored()?).unwrap_or(0),
                report.len(),
            ])
        })
        .expect("read")
}

fn dry_run_decides_and_writes_nothing() {
    let fx = fx();
    let dry = fx.gh.with_store(fx.store.rolled_back());
    // A real decision: the grant succeeds, with tokens, and none of them is stored.
    let issued = dry
        .password_grant(v1_password("alice", "alice-password-1"))
        .expect("the dry run decides the grant");
    assert!(fx
        .gh
        .validate_access_token(issued.access_token.expose())
        .is_err());
    // A wrong password is refused the same way, and counts no failure: six in a row would
    // lock the account if they were written.
    for _ in 0..6 {
        let err = dry
            .password_grant(v1_password("alice", "wrong"))
            .expect_err("refused");
        assert!(matches!(err, Error::InvalidCredentials), "{err:?}");
    }
    fx.gh
        .password_grant(v1_password("alice", "alice-password-1"))
        .expect("not locked: the dry failures were not counted");
    // The real store still writes.
    let before = rows(&fx.store);
    fx.gh
        .record_comparison("v1", "/api/v1/auth/token", &["compared"], None, 10)
        .expect("count");
    assert_ne!(rows(&fx.store), before);
    // The dry store does not, even for the dual-run's own writes.
    let before = rows(&fx.store);
    dry.record_comparison("v1", "/api/v1/auth/token", &["compared", "same"], None, 10)
        .expect("count");
    assert_eq!(rows(&fx.store), before);
}

fn difference(n: usize) -> Difference {
    Difference {
        recorded_at: time::macros::datetime!(2026-01-01 00:00 UTC),
        mode: "observe".to_owned(),
        dialect: "katana".to_owned(),
        endpoint: "/token".to_owned(),
        client_id: Some(format!("c{n}")),
        kinds: "status".to_owned(),
        detail: "status 200 != 400".to_owned(),
        gatehouse_answer: "{}".to_owned(),
        upstream_answer: "{}".to_owned(),
    }
}

fn differences_stop_at_the_cap_and_counts_go_on() {
    let fx = fx();
    let mut stored = 0;
    for n in 0..7 {
        if fx
            .gh
            .record_comparison(
                "katana",
                "/token",
                &["compared", "status"],
                Some(difference(n)),
                5,
            )
            .expect("record")
        {
            stored += 1;
        }
    }
    assert_eq!(stored, 5);
    let report = fx.gh.migration_report(None).expect("report");
    assert_eq!(report.differences_stored, 5);
    let counts: Vec<_> = report
        .comparisons
        .iter()
        .map(|c| (c.kind.as_str(), c.count))
        .collect();
    assert_eq!(counts, [("compared", 7), ("status", 7)]);
}

fn usage_deltas_add_up() {
    let fx = fx();
    let t0 = time::macros::datetime!(2026-01-01 00:00 UTC);
    let delta = |requests, at, password| Usage {
        client_id: "demo-client".to_owned(),
        dialect: "v1".to_owned(),
        requests,
        first_seen: at,
        last_seen: at,
        features: FeatureCounts {
            password_grant: password,
            form_body: requests,
            ..FeatureCounts::default()
        },
    };
    fx.gh
        .add_legacy_usage(vec![delta(3, t0, 2)])
        .expect("first flush");
    fx.gh
        .add_legacy_usage(vec![delta(4, t0 + Duration::hours(1), 1)])
        .expect("second flush");
    let usage = fx.gh.migration_report(None).expect("report").usage;
    assert_eq!(usage.len(), 1);
    assert_eq!(usage[0].requests, 7);
    assert_eq!(usage[0].features.password_grant, 3);
    assert_eq!(usage[0].features.form_body, 7);
    assert_eq!(usage[0].first_seen, t0);
    assert_eq!(usage[0].last_seen, t0 + Duration::hours(1));
    // --since: only clients seen since then.
    let later = fx
        .gh
        .migration_report(Some(t0 + Duration::hours(2)))
        .expect("report");
    assert!(later.usage.is_empty());
}

/// The capture figures of the report: users still marked `capture` counted by the store,
/// users captured kept apart from the dual-run comparisons.
fn capture_figures_count_marked_and_captured_users() {
    let fx = fx();
    fx.store
        .write(|tx| {
            let template = tx.users()?.remove(0);
            for (i, name) in ["marked-1", "marked-2"].into_iter().enumerate() {
                tx.upsert_user(&gatehouse_domain::model::User {
                    id: uuid::Uuid::from_u128(0xca97_0000 + i as u128),
                    user_name: name.to_owned(),
                    password_hash: gatehouse_domain::credentials::CAPTURE_MARK.to_owned(),
                    ..template.clone()
                })?;
            }
            tx.count_comparison("capture", "(capture)", &["captured"])?;
            tx.count_comparison("katana", "/token", &["compared"])
        })
        .expect("write");
    let report = fx.gh.migration_report(None).expect("report");
    assert_eq!(report.users_to_capture, 2);
    assert_eq!(report.users_captured, 1);
    assert_eq!(report.comparisons.len(), 1, "{:?}", report.comparisons);
    assert_eq!(report.comparisons[0].dialect, "katana");
}

both!(
    dry_run_decides_and_writes_nothing,
    differences_stop_at_the_cap_and_counts_go_on,
    usage_deltas_add_up,
    capture_figures_count_marked_and_captured_users
);
