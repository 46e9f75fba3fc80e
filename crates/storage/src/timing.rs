//! The time a thread spends inside [`Store::read`](gatehouse_domain::store::Store::read) and
//! [`Store::write`](gatehouse_domain::store::Store::write) (a write: queueing for the writer
//! thread, the batch and its commit), for the server's per-request traces (`--otlp-endpoint`,
//! attribute `gatehouse.storage_us`). One clock read before and after each transaction (about
//! 25 ns each), counted whether traces are on or not.

use std::cell::Cell;
use std::time::{Duration, Instant};

thread_local! {
    static SPENT: Cell<Duration> = const { Cell::new(Duration::ZERO) };
}

/// Runs `f` and returns, beside its result, the time this thread spent in storage
/// transactions during it (nested calls each see their own part, the outer one all of it).
pub fn timed<R>(f: impl FnOnce() -> R) -> (R, Duration) {
    let before = SPENT.with(Cell::get);
    let result = f();
    let spent = SPENT.with(Cell::get).saturating_sub(before);
    (result, spent)
}

/// Runs one transaction, adding its duration to this thread's account.
pub(crate) fn account<R>(f: impl FnOnce() -> R) -> R {
    let started = Instant::now();
    let result = f();
    let took = started.elapsed();
    SPENT.with(|s| s.set(s.get().saturating_add(took)));
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timed_counts_only_the_transactions_inside_it() {
        account(|| std::thread::sleep(Duration::from_millis(5)));
        let ((), spent) = timed(|| {
            std::thread::sleep(Duration::from_millis(20));
            account(|| std::thread::sleep(Duration::from_millis(10)));
        });
        assert!(spent >= Duration::from_millis(10), "{spent:?}");
        assert!(spent < Duration::from_millis(20), "{spent:?}");
        let ((), none) = timed(|| ());
        assert_eq!(none, Duration::ZERO);
    }
}
