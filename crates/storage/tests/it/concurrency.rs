//! Single use under concurrency: 32 threads at once.

use std::sync::{Arc, Barrier};

use gatehouse_domain::store::Store;
use gatehouse_domain::{Error, GrantKind, GrantRejection, OneTimeIssuer, OneTimeRequest};

use crate::support::{demo_client, fx, v1_password};

const THREADS: usize = 32;

fn race<T: Send + 'static>(f: impl Fn() -> T + Send + Sync + 'static) -> Vec<T> {
    let f = Arc::new(f);
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let f = f.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                f()
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("thread panicked"))
        .collect()
}

fn one_time_code_redeemed_by_32_threads_exactly_one_wins() {
    let fx = fx();
    let login = fx
        .gh
        .password_grant(v1_password("alice", "alice-password-1"))
        .expect("login");
    let code = fx
        .gh
        .issue_onetime_code(
            &OneTimeIssuer::Bearer(login.access_token.clone()),
            &OneTimeRequest {
                client_id: "demo-client".to_owned(),
                ..OneTimeRequest::default()
            },
        )
        .expect("code")
        .code
        .expose()
        .to_owned();
    let gh = fx.gh.clone();
    let results = race(move || gh.redeem_onetime_code(&demo_client(), &code));
    let wins = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "{results:?}");
    assert!(results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(|e| matches!(
            e,
            Error::InvalidGrant(GrantRejection::Replayed(GrantKind::OneTimeCode))
        )));
}

fn authorization_code_exchanged_by_32_threads_exactly_one_wins() {
    let fx = fx();
    let code = fx
        .gh
        .issue_auth_code(
            &demo_client(),
            "alice",
            &gatehouse_domain::secret::Secret::new("alice-password-1"),
            None,
        )
        .expect("code")
        .code
        .expose()
        .to_owned();
    let gh = fx.gh.clone();
    let results = race(move || gh.exchange_auth_code(&demo_client(), &code, None, true));
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(|e| matches!(
            e,
            Error::InvalidGrant(GrantRejection::Replayed(GrantKind::AuthorizationCode))
        )));
}

fn refresh_token_used_by_32_threads_at_most_one_wins() {
    let fx = fx();
    let login = fx
        .gh
        .password_grant(v1_password("alice", "alice-password-1"))
        .expect("login");
    let refresh = login
        .refresh_token
        .as_ref()
        .map(|s| s.expose().to_owned())
        .expect("refresh token");
    let gh = fx.gh.clone();
    let results = race(move || gh.refresh_grant(&demo_client(), &refresh, None));
    let wins: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert!(wins.len() <= 1, "{results:?}");
    assert_eq!(wins.len(), 1, "the first one in line wins: {results:?}");
    // The losers presented a rotated token: the family is over, the winner's pair too.
    let session = login.session_id;
    let ended = fx
        .store
        .read(move |tx| tx.session(session))
        .expect("read")
        .and_then(|s| s.ended_at);
    assert!(ended.is_some());
    let winner = wins[0].access_token.expose().to_owned();
    assert!(matches!(
        fx.gh.validate_access_token(&winner),
        Err(Error::InvalidToken)
    ));
}

/// Many writers at once: every successful write is committed, a failing one rolls back only
/// its own changes, and batches never mix up results.
fn group_commit_keeps_writes_apart() {
    use gatehouse_domain::model::{LoginFailure, User, UserFlags};
    use gatehouse_storage::StorageOptions;
    use time::macros::datetime;

    let (_place, storage) = crate::support::open_with(StorageOptions::default());
    let storage = Arc::new(storage);
    let before = storage.write_stats();
    let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let s = storage.clone();
    let results = race(move || {
        let i = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        s.write(move |tx| {
            let at = datetime!(2026-01-01 00:00 UTC);
            tx.put_login_failure(&LoginFailure {
                key: format!("k{i}"),
                failures: 1,
                last_failure_at: at,
                locked_until: None,
            })?;
            if i % 4 == 0 {
                // Written, then a failure: this job's writes must vanish, nobody else's.
                tx.upsert_user(&User {
                    id: uuid::Uuid::from_u128(i as u128 + 1),
                    user_name: format!("user{i}"),
                    password_hash: "x".to_owned(),
                    flags: UserFlags::default(),
                    created_at: at,
                    profile: Default::default(),
                })?;
                return Err(Error::Conflict(format!("job {i} fails")));
            }
            Ok(i)
        })
    });
    let ok: Vec<usize> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    assert_eq!(ok.len(), THREADS - THREADS / 4);
    for r in &results {
        if let Err(e) = r {
            assert!(matches!(e, Error::Conflict(_)), "{e:?}");
        }
    }
    let stored = storage
        .read(|tx| {
            let mut keys = Vec::new();
            for i in 0..THREADS {
                keys.push(tx.login_failure(&format!("k{i}"))?.is_some());
            }
            Ok((keys, tx.users()?.len()))
        })
        .expect("read");
    for (i, present) in stored.0.iter().enumerate() {
        assert_eq!(*present, i % 4 != 0, "k{i}");
    }
    assert_eq!(stored.1, 0, "failed jobs rolled back");
    let after = storage.write_stats();
    eprintln!(
        "group commit: {} writes in {} transactions",
        after.writes - before.writes,
        after.transactions - before.transactions
    );
    assert_eq!(after.writes - before.writes, THREADS as u64);
    assert!(after.transactions - before.transactions <= THREADS as u64);
    assert!(after.transactions > before.transactions);
}

fn without_batching_every_write_is_its_own_transaction() {
    use gatehouse_storage::StorageOptions;
    let (_place, storage) = crate::support::open_with(StorageOptions {
        max_batch: 1,
        ..StorageOptions::default()
    });
    let storage = Arc::new(storage);
    let s = storage.clone();
    let results = race(move || s.write(|tx| tx.clear_login_failure("x")));
    assert!(results.iter().all(Result::is_ok));
    let stats = storage.write_stats();
    assert_eq!(stats.transactions, stats.writes);
    assert_eq!(stats.writes, THREADS as u64);
}

/// Two stores on one database (two replicas' worth of pools and writers): a refresh token
/// presented 32 times at once, spread over both, rotates exactly once; the replays end the
/// family, which both then see.
fn two_stores_one_refresh_token_exactly_one_rotation() {
    use gatehouse_domain::Config;
    let fx = fx();
    let other = Arc::new(fx.reopen(crate::support::TEST_ITERATIONS, Config::default()));
    let login = fx
        .gh
        .password_grant(v1_password("alice", "alice-password-1"))
        .expect("login");
    let refresh = login.refresh_token.expect("refresh").expose().to_owned();
    let (a, b) = (fx.gh.clone(), other.clone());
    let turn = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let results = race(move || {
        if turn.fetch_add(1, std::sync::atomic::Ordering::SeqCst) % 2 == 0 {
            a.refresh_grant(&demo_client(), &refresh, None)
        } else {
            b.refresh_grant(&demo_client(), &refresh, None)
        }
    });
    let wins: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(wins.len(), 1, "{results:?}");
    assert!(results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(|e| matches!(
            e,
            // The first replay ends the family; later ones find it ended.
            Error::InvalidGrant(
                GrantRejection::Replayed(GrantKind::RefreshToken) | GrantRejection::SessionEnded
            )
        )));
    // The replays ended the family: the winner's new token is dead on both stores.
    let winner = wins[0].access_token.expose().to_owned();
    for gh in [&fx.gh, &other] {
        assert!(matches!(
            gh.validate_access_token(&winner),
            Err(Error::InvalidToken)
        ));
    }
}

/// The purge run from two stores at once: every expired row goes exactly once, nothing
/// fails, live tokens stay.
fn purge_from_two_stores_at_once() {
    use gatehouse_domain::Config;
    use time::Duration;
    let fx = fx();
    let other = Arc::new(fx.reopen(crate::support::TEST_ITERATIONS, Config::default()));
    let client = gatehouse_domain::ClientAuth::new(
        "demo-client",
        Some(gatehouse_domain::secret::Secret::new("demo-secret")),
    );
    for _ in 0..40 {
        fx.gh
            .client_credentials_grant(&client, None, None)
            .expect("grant");
    }
    fx.clock.advance(Duration::days(3));
    let live = fx
        .gh
        .client_credentials_grant(&client, None, None)
        .expect("grant");
    let (a, b) = (fx.gh.clone(), other.clone());
    let turn = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let results = race(move || {
        if turn.fetch_add(1, std::sync::atomic::Ordering::SeqCst) % 2 == 0 {
            a.purge_expired()
        } else {
            b.purge_expired()
        }
    });
    let purged: u64 = results
        .into_iter()
        .map(|r| r.expect("purge never fails"))
        .sum();
    assert_eq!(purged, 40, "each expired access token deleted once");
    assert_eq!(fx.gh.purge_expired().expect("purge"), 0);
    fx.gh
        .validate_access_token(live.access_token.expose())
        .expect("the live token stays");
}

/// A write that panics halfway, and one that swallows a database error and returns `Ok`:
/// neither leaves anything behind, both callers get an error, and writes of the same batch
/// and after it are unaffected.
fn broken_writes_leave_nothing_behind() {
    use gatehouse_domain::model::LoginFailure;
    use gatehouse_storage::StorageOptions;
    use time::macros::datetime;
    let (_place, storage) = crate::support::open_with(StorageOptions::default());
    let storage = Arc::new(storage);
    let failure = |key: &str| LoginFailure {
        key: key.to_owned(),
        failures: 1,
        last_failure_at: datetime!(2026-01-01 00:00 UTC),
        locked_until: None,
    };
    let s = storage.clone();
    let panicked = std::thread::spawn(move || {
        s.write(move |tx| {
            tx.put_login_failure(&failure("half"))?;
            panic!("a bug halfway through a write");
            #[expect(
                unreachable_code,
                reason = "the closure must type-check as a write that would succeed"
            )]
            Ok(())
        })
    })
    .join()
    .expect("the caller gets an error, not the panic");
    assert!(matches!(panicked, Err(Error::Storage(_))), "{panicked:?}");
    let swallowed = storage.write(move |tx| {
        tx.put_login_failure(&failure("swallowed"))?;
        // A foreign key violation, ignored by the closure.
        let _ = tx.insert_session(&gatehouse_domain::model::Session {
            id: uuid::Uuid::from_u128(7),
            client_id: Some("no-such-client".to_owned()),
            user_id: None,
            client_key: None,
            caller_ip: None,
            created_at: datetime!(2026-01-01 00:00 UTC),
            last_used_at: datetime!(2026-01-01 00:00 UTC),
            ended_at: None,
            parent_id: None,
            source_token: None,
            expires_at: None,
            grant: None,
        });
        Ok(())
    });
    storage
        .write(move |tx| tx.put_login_failure(&failure("after")))
        .expect("the writer goes on");
    let (half, swallowed_row, after) = storage
        .read(|tx| {
            Ok((
                tx.login_failure("half")?.is_some(),
                tx.login_failure("swallowed")?.is_some(),
                tx.login_failure("after")?.is_some(),
            ))
        })
        .expect("read");
    assert!(!half, "the panicking write was rolled back");
    assert!(after);
    // SQLite keeps going after a failed statement; PostgreSQL aborts the transaction, so
    // there the whole write is refused rather than committed half-done.
    if crate::support::backend() == crate::support::Backend::Postgres {
        assert!(swallowed.is_err(), "{swallowed:?}");
        assert!(!swallowed_row);
    } else {
        assert!(swallowed.is_ok() && swallowed_row);
    }
}

both!(
    one_time_code_redeemed_by_32_threads_exactly_one_wins,
    authorization_code_exchanged_by_32_threads_exactly_one_wins,
    refresh_token_used_by_32_threads_at_most_one_wins,
    group_commit_keeps_writes_apart,
    without_batching_every_write_is_its_own_transaction,
    two_stores_one_refresh_token_exactly_one_rotation,
    purge_from_two_stores_at_once,
    broken_writes_leave_nothing_behind,
);
