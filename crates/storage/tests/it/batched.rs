//! Grants that only insert (`Store::insert_tokens_later`, client credentials) are written
//! together, one statement per group commit on PostgreSQL (issue 23): each is answered only
//! after the commit, one bad row fails only its own grant, and a closure queued between
//! them sees the rows queued before it.

use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Wake, Waker};

use gatehouse_domain::model::{AccessToken, RefreshToken, Session};
use gatehouse_domain::secret::TokenDigest;
use gatehouse_domain::store::{Pending, Store};
use gatehouse_domain::Error;
use gatehouse_storage::{Storage, StorageOptions};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::support::open_with;

const T0: OffsetDateTime = datetime!(2026-01-01 00:00:00 UTC);

/// Polls `f` to completion on this thread.
fn block_on<T>(f: Pending<T>) -> Result<T, Error> {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = f;
    loop {
        if let Poll::Ready(out) = f.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

fn session(id: u128, caller_ip: Option<&str>) -> Session {
    Session {
        id: Uuid::from_u128(id),
        // (No client row: `sessions.client_id` references `clients`.)
        client_id: None,
        user_id: None,
        client_key: None,
        caller_ip: caller_ip.map(str::to_owned),
        created_at: T0,
        last_used_at: T0,
        ended_at: None,
        parent_id: None,
        source_token: None,
        expires_at: Some(T0 + Duration::hours(8)),
        grant: None,
    }
}

fn access(digest: &str, session: u128) -> AccessToken {
    AccessToken {
        digest: TokenDigest::of(digest),
        session_id: Uuid::from_u128(session),
        client_id: Some("svc".to_owned()),
        user_id: None,
        scope: "api".to_owned(),
        issued_at: T0,
        expires_at: T0 + Duration::minutes(20),
        revoked_at: None,
    }
}

fn refresh(digest: &str, session: u128) -> RefreshToken {
    RefreshToken {
        digest: TokenDigest::of(digest),
        session_id: Uuid::from_u128(session),
        client_id: Some("svc".to_owned()),
        scope: "api".to_owned(),
        issued_at: T0,
        expires_at: T0 + Duration::days(1),
        rotated_at: None,
        successor: None,
        revoked_at: None,
        replayed_at: None,
    }
}

/// Holds the writer inside a job until the returned sender is dropped; returns once the job
/// runs, so that everything queued afterwards lands in the next batch together.
fn hold_writer(store: &Storage) -> (mpsc::Sender<()>, Pending<()>) {
    let (release, held) = mpsc::channel::<()>();
    let (started, running) = mpsc::channel::<()>();
    let pending = store.write_later(move |_tx| {
        let _ = started.send(());
        let _ = held.recv();
        Ok(())
    });
    running.recv().expect("the holding job runs");
    (release, pending)
}

fn grants_written_together_fail_alone() {
    let (_place, store) = open_with(StorageOptions::default());
    // Session 1 exists already: a grant reusing its id fails (primary key).
    block_on(store.insert_tokens_later(Some(session(1, None)), access("a1", 1), None))
        .expect("first grant");

    let before = store.write_stats();
    let (release, held) = hold_writer(&store);
    let first =
        store.insert_tokens_later(Some(session(2, Some("192.0.2.2"))), access("a2", 2), None);
    let second = store.insert_tokens_later(
        Some(session(3, None)),
        access("a3", 3),
        Some(refresh("r3", 3)),
    );
    // A closure between the inserts sees the rows queued before it, not those after.
    let seen = store.write_later(|tx| {
        Ok((
            tx.session(Uuid::from_u128(3))?.is_some(),
            tx.access_token(&TokenDigest::of("a5"))?.is_some(),
        ))
    });
    let duplicate = store.insert_tokens_later(Some(session(1, None)), access("a4", 1), None);
    let last = store.insert_tokens_later(Some(session(5, None)), access("a5", 5), None);
    // An access token for an existing session, without a new one.
    let extra = store.insert_tokens_later(None, access("a6", 2), None);
    drop(release);
    block_on(held).expect("holding job");

    block_on(first).expect("first");
    block_on(second).expect("second");
    assert_eq!(block_on(seen).expect("closure"), (true, false));
    assert!(
        matches!(block_on(duplicate), Err(Error::Storage(_))),
        "a duplicate session id fails its grant"
    );
    block_on(last).expect("last");
    block_on(extra).expect("extra");

    let after = store.write_stats();
    assert_eq!(after.writes - before.writes, 7, "{before:?} -> {after:?}");
    assert_eq!(
        after.transactions - before.transactions,
        2,
        "the holding job, then every queued write in one transaction"
    );
    let stored = store
        .read(|tx| {
            let mut found = Vec::new();
            for d in ["a1", "a2", "a3", "a4", "a5", "a6"] {
                found.push(tx.access_token(&TokenDigest::of(d))?.map(|t| t.session_id));
            }
            Ok((
                found,
                tx.refresh_token(&TokenDigest::of("r3"))?.is_some(),
                tx.session(Uuid::from_u128(2))?.and_then(|s| s.caller_ip),
            ))
        })
        .expect("read");
    let sessions: Vec<Option<Uuid>> = [Some(1), Some(2), Some(3), None, Some(5), Some(2)]
        .into_iter()
        .map(|s| s.map(Uuid::from_u128))
        .collect();
    assert_eq!(stored.0, sessions, "every grant but the duplicate stored");
    assert!(stored.1, "the refresh token of the second grant");
    assert_eq!(stored.2.as_deref(), Some("192.0.2.2"));
}

/// A rolled-back handle (the dual run's dry run) inserts nothing.
fn rolled_back_grants_leave_nothing() {
    let (_place, store) = open_with(StorageOptions::default());
    let dry = store.rolled_back();
    let _ = block_on(dry.insert_tokens_later(Some(session(7, None)), access("a7", 7), None));
    let stored = store
        .read(|tx| tx.access_token(&TokenDigest::of("a7")))
        .expect("read");
    assert!(stored.is_none());
}

both!(
    grants_written_together_fail_alone,
    rolled_back_grants_leave_nothing
);
