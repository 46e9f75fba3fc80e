//! Policy knobs of the grant logic.

use time::Duration;

/// Lifetimes, limits and the lockout policy. [`Config::default`] is the production default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Access-token lifetime unless the client sets its own (20 minutes).
    pub access_token_lifetime: Duration,
    /// Refresh-token lifetime unless the client sets its own (30 days).
    pub refresh_token_lifetime: Duration,
    /// Authorization-code lifetime (60 s).
    pub auth_code_lifetime: Duration,
    /// One-time-code lifetime (60 s).
    pub onetime_code_lifetime: Duration,
    /// A rotated refresh token presented again within this long after its rotation is
    /// answered with a new pair instead of ending the family. `None` (the default): no grace.
    pub refresh_grace: Option<Duration>,
    /// Failed-login back-off.
    pub lockout: LockoutPolicy,
    /// Most entries in a one-time code's payload (32).
    pub max_payload_entries: usize,
    /// Longest payload key or value, in bytes (1 KiB).
    pub max_payload_item_bytes: usize,
    /// Longest user name, member id, client key or trading-account field, in bytes (256).
    pub max_name_bytes: usize,
    /// Absolute lifetime of a session from its first grant (30 days): no refresh and no
    /// access token reaches past it (RFC 9700 section 4.14).
    pub session_max_lifetime: Duration,
    /// Whether an access token obtained by redeeming a one-time code may itself issue
    /// one-time codes (`false`). Even then every descendant ends with the first session.
    pub onetime_chain: bool,
    /// Most outstanding (unredeemed, unexpired) one-time codes per user (16).
    pub max_onetime_codes_per_user: u64,
    /// Most outstanding one-time codes issued through one session's bearer tokens (4).
    pub max_onetime_codes_per_session: u64,
    /// Most one-time codes a user may have issued per `onetime_rate_window` (30).
    pub onetime_rate: u64,
    /// The window of `onetime_rate` (60 s).
    pub onetime_rate_window: Duration,
    /// Largest one-time code payload, keys and values together, in bytes (4 KiB).
    pub max_payload_bytes: usize,
    /// Live `private_key_jwt` assertion `jti`s remembered per client
    /// ([`crate::client_assertion::MAX_LIVE_JTIS_PER_CLIENT`]); beyond, `RateLimited`.
    pub max_live_assertions_per_client: u64,
    /// DPoP (RFC 9449) proofs are checked and tokens bound; off: a `DPoP` header is ignored
    /// and a client with `dpop_bound_access_tokens` gets no tokens.
    pub dpop: bool,
    /// DPoP proofs must carry a server nonce (section 8).
    pub dpop_nonce: bool,
    /// Live DPoP proofs remembered against replay, every key together (RFC 9449).
    pub max_live_dpop_proofs: u64,
    /// Pushed authorization requests (RFC 9126): off, on, or required of every client.
    pub pushed_authorization_requests: crate::par::ParMode,
    /// Most outstanding (unredeemed, unexpired) authorization codes per user (16).
    pub max_auth_codes_per_user: u64,
    /// Most outstanding authorization codes one browser session authorized (8).
    pub max_auth_codes_per_browser_session: u64,
    /// Most authorization codes (both kinds: `/oauth2/authorize` and otc
    /// `/admin/login/auth_code`) a user may have issued per `auth_code_rate_window` (30).
    pub auth_code_rate: u64,
    /// The window of `auth_code_rate` (60 s).
    pub auth_code_rate_window: Duration,
    /// Device authorization (RFC 8628): most outstanding (unexpired, unredeemed) device
    /// codes per client (100).
    pub max_device_codes_per_client: u64,
    /// Most device codes a client may ask for per minute (30).
    pub device_code_rate: u64,
    /// Most user codes the verification page looks up per minute for one browser and for one
    /// address (10 each).
    pub device_entry_rate: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            access_token_lifetime: Duration::minutes(20),
            refresh_token_lifetime: Duration::days(30),
            auth_code_lifetime: Duration::seconds(60),
            onetime_code_lifetime: Duration::seconds(60),
            refresh_grace: None,
            lockout: LockoutPolicy::default(),
            max_payload_entries: 32,
            max_payload_item_bytes: 1024,
            max_name_bytes: 256,
            session_max_lifetime: Duration::days(30),
            onetime_chain: false,
            max_onetime_codes_per_user: 16,
            max_onetime_codes_per_session: 4,
            onetime_rate: 30,
            onetime_rate_window: Duration::seconds(60),
            max_payload_bytes: 4096,
            max_live_assertions_per_client: crate::client_assertion::MAX_LIVE_JTIS_PER_CLIENT,
            max_live_dpop_proofs: crate::dpop::MAX_LIVE_PROOFS,
            dpop: false,
            dpop_nonce: true,
            pushed_authorization_requests: crate::par::ParMode::Off,
            max_auth_codes_per_user: 16,
            max_auth_codes_per_browser_session: 8,
            auth_code_rate: 30,
            auth_code_rate_window: Duration::seconds(60),
            max_device_codes_per_client: 100,
            device_code_rate: 30,
            device_entry_rate: 10,
        }
    }
}

/// Exponential back-off after failed logins, counted separately per account and per caller
/// address and persisted.
///
/// The first `free_failures - 1` failures cost nothing; the `free_failures`-th locks for
/// `initial_delay`, each further one doubles the delay up to `max_delay`. A success clears the
/// account's count, not the address's: an address shared by an attacker and a legitimate
/// user (NAT, a proxy) must not be reset by the attacker's own successful logins in between
/// guesses. A count not increased for `forget_after` starts over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures before the first delay (5).
    pub free_failures: u32,
    /// First delay (1 s).
    pub initial_delay: Duration,
    /// Longest delay (15 min).
    pub max_delay: Duration,
    /// Quiet time after which a count is forgotten (1 h).
    pub forget_after: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            free_failures: 5,
            initial_delay: Duration::seconds(1),
            max_delay: Duration::minutes(15),
            forget_after: Duration::hours(1),
        }
    }
}

impl LockoutPolicy {
    /// The lock after the `failures`-th consecutive failure, if any.
    pub fn delay_after(&self, failures: u32) -> Option<Duration> {
        if self.free_failures == 0 || failures < self.free_failures {
            return None;
        }
        let doublings = (failures - self.free_failures).min(40);
        let factor = 1i64.checked_shl(doublings).unwrap_or(i64::MAX);
        let delay = self
            .initial_delay
            .checked_mul(i32::try_from(factor).unwrap_or(i32::MAX))
            .unwrap_or(self.max_delay);
        Some(delay.min(self.max_delay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_and_caps() {
        let policy = LockoutPolicy::default();
        assert_eq!(policy.delay_after(4), None);
        assert_eq!(policy.delay_after(5), Some(Duration::seconds(1)));
        assert_eq!(policy.delay_after(6), Some(Duration::seconds(2)));
        assert_eq!(policy.delay_after(7), Some(Duration::seconds(4)));
        assert_eq!(policy.delay_after(14), Some(Duration::seconds(512)));
        assert_eq!(policy.delay_after(15), Some(Duration::minutes(15)));
        assert_eq!(policy.delay_after(u32::MAX), Some(Duration::minutes(15)));
        let off = LockoutPolicy {
            free_failures: 0,
            ..LockoutPolicy::default()
        };
        assert_eq!(off.delay_after(100), None);
    }
}
