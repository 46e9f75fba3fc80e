//! The per-client logout settings (`client_logout`, beside `clients`) on both backends: the
//! demo's, replaced, refused for an unknown client, and carried by `gatehouse copy`.

use gatehouse_domain::logout::ClientLogout;
use gatehouse_domain::store::Store;
use gatehouse_domain::Config;

use crate::support::{fx, TEST_ITERATIONS};

pub fn client_logout_settings_round_trip_and_copy() {
    let fx = fx();
    let demo = fx.gh.client_logout("demo-client").expect("read");
    assert_eq!(
        demo.map(|l| l.post_logout_redirect_uris),
        Some(vec![
            "https://app.example/signed-out".to_owned(),
            "http://127.0.0.1:8765/signed-out".to_owned()
        ])
    );
    assert_eq!(
        fx.gh.client_logout("demo-public").expect("read"),
        Some(ClientLogout {
            client_id: "demo-public".into(),
            post_logout_redirect_uris: Vec::new(),
        })
    );
    assert_eq!(fx.gh.client_logout("nobody").expect("read"), None);
    let replaced = ClientLogout {
        client_id: "demo-client".into(),
        post_logout_redirect_uris: vec!["https://x.example/out".into()],
    };
    let stored = replaced.clone();
    fx.store
        .write(move |tx| tx.put_client_logout(&stored))
        .expect("put");
    assert_eq!(
        fx.gh.client_logout("demo-client").expect("read"),
        Some(replaced.clone())
    );
    // Settings of a client that does not exist are refused (foreign key).
    let orphan = ClientLogout {
        client_id: "nobody".into(),
        post_logout_redirect_uris: Vec::new(),
    };
    assert!(fx
        .store
        .write(move |tx| tx.put_client_logout(&orphan))
        .is_err());

    let (_dir, path) = crate::support::temp_db();
    let target =
        gatehouse_storage::Storage::open(&path, gatehouse_storage::StorageOptions::default())
            .expect("open");
    let now = gatehouse_domain::clock::Clock::now(&*fx.clock);
    gatehouse_storage::copy(&fx.store, &target, now, &mut |_| {}).expect("copy");
    let copied = crate::support::service(
        &gatehouse_storage::Database::Sqlite(path),
        fx.clock.clone(),
        TEST_ITERATIONS,
        Config::default(),
    );
    assert_eq!(
        copied.client_logout("demo-client").expect("read"),
        Some(replaced)
    );
}

both!(client_logout_settings_round_trip_and_copy);
