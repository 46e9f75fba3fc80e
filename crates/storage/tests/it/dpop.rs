//! The DPoP replay cache (RFC 9449) on both backends with a mock clock: a proof's digest is
//! recorded once (a second recording is a replay), the cache never holds more than its cap
//! (a full cache refuses, it does not grow), and expired proofs are forgotten at the next
//! recording, which frees room.

use gatehouse_domain::dpop::ProofRecord;
use gatehouse_domain::secret::TokenDigest;
use gatehouse_domain::store::Store;
use gatehouse_domain::Config;
use time::Duration;

use crate::support::fx_with;

pub fn replay_cache_is_single_use_and_capped() {
    let fx = fx_with(Config::default());
    let record = |name: &str, cap: u64| {
        let digest = TokenDigest::of(name);
        let now = gatehouse_domain::clock::Clock::now(&*fx.clock);
        let expires = now + Duration::seconds(61);
        fx.store
            .write(move |tx| tx.record_dpop_proof(&digest, expires, now, cap))
            .expect("write")
    };
    assert_eq!(record("jkt.a", 2), ProofRecord::Fresh);
    assert_eq!(record("jkt.a", 2), ProofRecord::Replayed);
    assert_eq!(record("jkt.b", 2), ProofRecord::Fresh);
    assert_eq!(record("jkt.c", 2), ProofRecord::Full);
    // A replay is still a replay when the cache is full.
    assert_eq!(record("jkt.b", 2), ProofRecord::Replayed);
    fx.clock.advance(Duration::seconds(62));
    // Both left their window: forgotten, so c fits and a is new again.
    assert_eq!(record("jkt.c", 2), ProofRecord::Fresh);
    assert_eq!(record("jkt.a", 2), ProofRecord::Fresh);
    assert_eq!(record("jkt.d", 2), ProofRecord::Full);
}

both!(replay_cache_is_single_use_and_capped);
