//! Single use under concurrency: 32 threads at once.

use std::sync::{Arc, Barrier};

use gatehouse_domain::store::Store;
use gatehouse_domain::{Error, OneTimeIssuer, OneTimeRequest};

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

#[test]
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
        .all(|e| matches!(e, Error::InvalidGrant(_))));
}

#[test]
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
}

#[test]
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
        .gh
        .store()
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
