//! Pushed authorization requests (RFC 9126) on both backends with a mock clock: a
//! `request_uri` expires after 60 s, is bound to its client, is consumed once, and the
//! per-client cap counts only live requests (expired ones are deleted at the next push).

use gatehouse_domain::authorize::AuthorizationParams;
use gatehouse_domain::par::{request_uri_digest, ParMode, PushError, MAX_PUSHED_PER_CLIENT};
use gatehouse_domain::store::Store;
use gatehouse_domain::{Config, Error};
use time::Duration;

use crate::support::{demo_client, fx_with};

fn params() -> AuthorizationParams {
    AuthorizationParams {
        response_type: Some("code".into()),
        client_id: Some("demo-client".into()),
        redirect_uri: Some("https://app.example/callback".into()),
        scope: Some("profile".into()),
        state: Some("s".into()),
        ..AuthorizationParams::default()
    }
}

pub fn request_uris_expire_are_bound_and_single_use() {
    let fx = fx_with(Config {
        pushed_authorization_requests: ParMode::On,
        ..Config::default()
    });
    let gh = &fx.gh;
    let pushed = gh
        .push_authorization_request(&demo_client(), params())
        .expect("pushed");
    let uri = pushed.request_uri;
    let read = gh.pushed_params(Some("demo-client"), &uri).expect("live");
    assert!(read.pushed && read.request_uri.as_deref() == Some(uri.as_str()));
    assert_eq!(read.state.as_deref(), Some("s"));
    assert!(
        gh.pushed_params(Some("demo-public"), &uri).is_err(),
        "another client"
    );
    fx.clock.advance(Duration::seconds(61));
    assert!(
        gh.pushed_params(Some("demo-client"), &uri).is_err(),
        "expired"
    );

    // Single use: of two consumptions (another client's first), exactly the owner's first wins.
    let uri = gh
        .push_authorization_request(&demo_client(), params())
        .expect("pushed")
        .request_uri;
    let digest = request_uri_digest(&uri).expect("ours");
    let now = gatehouse_domain::clock::Clock::now(&*fx.clock);
    let consume = |client: &'static str| {
        let d = digest;
        fx.store
            .write(move |tx| tx.consume_pushed_request(&d, client, now))
            .expect("write")
    };
    assert!(!consume("demo-public"));
    assert!(consume("demo-client"));
    assert!(!consume("demo-client"));

    // The cap counts live requests only: after they expire, the client may push again.
    let mut pushed = 0;
    let refused = loop {
        match gh.push_authorization_request(&demo_client(), params()) {
            Ok(_) => pushed += 1,
            Err(e) => break e,
        }
    };
    assert_eq!(pushed, MAX_PUSHED_PER_CLIENT);
    assert!(
        matches!(refused, PushError::Domain(Error::RateLimited { .. })),
        "{refused:?}"
    );
    fx.clock.advance(Duration::seconds(61));
    gh.push_authorization_request(&demo_client(), params())
        .expect("the expired ones no longer count");
    let live = fx
        .store
        .write(move |tx| tx.live_pushed_requests("demo-client", now + Duration::seconds(61)))
        .expect("count");
    assert_eq!(live, 1, "the expired ones were deleted");
}

both!(request_uris_expire_are_bound_and_single_use);
