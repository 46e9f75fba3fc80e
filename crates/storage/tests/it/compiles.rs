//! Statements come from the per-connection caches after their first use (issue 23): the
//! store's compile counter (`Storage::sql_compiles`) stays flat over repeated reads and
//! writes of the hot repositories.

use gatehouse_domain::model::LoginFailure;
use gatehouse_domain::store::Store;
use gatehouse_storage::StorageOptions;
use time::macros::datetime;
use time::OffsetDateTime;

use crate::support::open_with;

const T0: OffsetDateTime = datetime!(2026-01-01 00:00:00 UTC);

pub fn compiles_flat() {
    // One read connection: its cache is warm after the first round.
    let (_place, store) = open_with(StorageOptions {
        read_pool_size: 1,
        ..StorageOptions::default()
    });
    let round = |i: i64| {
        store
            .read(|tx| {
                tx.client("nobody")?;
                tx.login_failure("nobody@127.0.0.1")?;
                tx.user_by_name("nobody")?;
                Ok(())
            })
            .expect("read");
        store
            .write(move |tx| {
                tx.put_login_failure(&LoginFailure {
                    key: "nobody@127.0.0.1".to_owned(),
                    failures: u32::try_from(i).unwrap_or(0),
                    last_failure_at: T0,
                    locked_until: None,
                })?;
                tx.login_failure("nobody@127.0.0.1")?;
                tx.clear_login_failure("nobody@127.0.0.1")
            })
            .expect("write");
    };
    let start = store.sql_compiles();
    round(0);
    round(1);
    let warm = store.sql_compiles();
    assert!(warm > start, "the first rounds compiled: {start} -> {warm}");
    for i in 2..50 {
        round(i);
    }
    assert_eq!(store.sql_compiles(), warm, "statements compiled again");
}

both!(compiles_flat);
