//! Data survives dropping the pool and reopening the database.

use gatehouse_domain::store::Store;
use gatehouse_domain::Config;

use gatehouse_storage::{Storage, StorageOptions};

use crate::support::{demo_client, fx, service_on, v1_password, Fx, TEST_ITERATIONS};

fn data_survives_drop_and_reopen() {
    let fx = fx();
    let database = fx.database().clone();
    let issued = fx
        .gh
        .password_grant(v1_password("alice", "alice-password-1"))
        .expect("login");
    let token = issued.access_token.expose().to_owned();
    let refresh = issued
        .refresh_token
        .as_ref()
        .map(|s| s.expose().to_owned())
        .expect("refresh");
    let Fx {
        place,
        clock,
        gh,
        store,
    } = fx;
    drop((gh, store)); // the pool and the writer connection close here

    let store = Storage::connect(&database, StorageOptions::default()).expect("reopen");
    let gh = service_on(store.clone(), clock, TEST_ITERATIONS, Config::default());
    let users = store.read(|tx| tx.users()).expect("users");
    let names: Vec<_> = users.iter().map(|u| u.user_name.as_str()).collect();
    assert_eq!(names, ["alice", "bob"]);
    let info = gh.validate_access_token(&token).expect("token still valid");
    assert_eq!(info.user.map(|u| u.user_name).as_deref(), Some("alice"));
    let rotated = gh
        .refresh_grant(&demo_client(), &refresh, None)
        .expect("refresh after reopen");
    assert_eq!(rotated.session_id, issued.session_id);
    drop(place);
}

both!(data_survives_drop_and_reopen,);
