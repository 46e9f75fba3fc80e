//! The device authorization grant (RFC 8628): a client on a device without a browser or a
//! keyboard (a TV, a CLI) asks `/oauth2/device_authorization` for a device code and a user
//! code, shows the user code and the verification URI, and polls `/oauth2/token` with
//! `grant_type=urn:ietf:params:oauth:grant-type:device_code` while the user enters the code
//! at `/oauth2/device` in any browser, signs in and approves.
//!
//! Rules:
//! - only a client with the grant (`urn:ietf:params:oauth:grant-type:device_code` in its
//!   grants) may ask; a public client may (section 3.1), authenticating with its id;
//! - the device code is 256 random bits, the user code 8 characters of
//!   [`USER_CODE_ALPHABET`] (20 consonants without look-alikes: 20^8 = 2.6e10 codes, 34.5
//!   bits, section 6.1), shown as `XXXX-XXXX`; only the SHA-256 of each is stored;
//! - both live [`DEVICE_CODE_LIFETIME`]; the device code is bound to the client that asked:
//!   another client polling it gets `invalid_grant` and changes nothing;
//! - polling faster than the code's interval answers `slow_down` and adds 5 s to that code's
//!   interval (section 3.5, up to [`MAX_INTERVAL`]); a pending code `authorization_pending`,
//!   a denied one `access_denied`, an expired one `expired_token`;
//! - an approved code is redeemed once (a conditional update); a second redemption is
//!   `invalid_grant` and ends the session the first opened (a stolen device code);
//! - an approval dies with the browser session that gave it (logout, password change,
//!   disable end it) until the device redeemed it;
//! - caps: [`crate::Config::max_device_codes_per_client`] outstanding and
//!   [`crate::Config::device_code_rate`] per minute per client (429), and
//!   [`crate::Config::device_entry_rate`] user-code look-ups per minute per browser and per
//!   address at the verification page: guessing a live user code among 100 outstanding at
//!   10 tries a minute takes 2.6e10 / 100 / 10 minutes, about 49 years per address.

use std::fmt;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::browser_session::BrowserSessionInfo;
use crate::error::{Error, GrantKind, GrantRejection};
use crate::model::{Client, GrantType, TokenFormat};
use crate::rng::Rng;
use crate::secret::{generate_token, Secret, TokenDigest};
use crate::service::{later, ClientAuth, Gatehouse, IssuedTokens};
use crate::store::{Store, WriteTx};

/// The grant type of the token request (RFC 8628 section 3.4).
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The characters of a user code: consonants only (no vowels: no words), none of the
/// look-alikes 0/O, 1/I/L... (RFC 8628 section 6.1's example alphabet).
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// Characters of a user code (shown as two groups of four).
pub const USER_CODE_LEN: usize = 8;

/// How long a device code and its user code live.
pub const DEVICE_CODE_LIFETIME: Duration = Duration::minutes(10);

/// The polling interval a client is told (section 3.2: 5 s by default).
pub const POLL_INTERVAL: Duration = Duration::seconds(5);

/// What `slow_down` adds to a code's interval (section 3.5).
pub const SLOW_DOWN_STEP: Duration = Duration::seconds(5);

/// The longest interval `slow_down` raises a code's to.
pub const MAX_INTERVAL: Duration = Duration::seconds(60);

/// Where a device code stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Waiting for the user.
    Pending,
    /// The user approved; not yet redeemed.
    Approved,
    /// The user denied.
    Denied,
    /// Redeemed: tokens were issued.
    Consumed,
}

impl DeviceStatus {
    /// The storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Pending => "pending",
            DeviceStatus::Approved => "approved",
            DeviceStatus::Denied => "denied",
            DeviceStatus::Consumed => "consumed",
        }
    }

    /// Parses [`DeviceStatus::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Denied, Self::Consumed]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// A device code as stored (table `device_codes`).
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceCode {
    /// SHA-256 of the device code.
    pub digest: TokenDigest,
    /// SHA-256 of the normalized user code (8 characters, no dash).
    pub user_code_digest: TokenDigest,
    /// The client that asked (the only one that may redeem it).
    pub client_id: String,
    /// The scope granted on approval.
    pub scope: String,
    /// When it was issued.
    pub issued_at: OffsetDateTime,
    /// When it stops being accepted.
    pub expires_at: OffsetDateTime,
    /// The polling interval in seconds (raised by `slow_down`).
    pub interval_secs: i64,
    /// The last poll.
    pub last_polled_at: Option<OffsetDateTime>,
    /// Where it stands.
    pub status: DeviceStatus,
    /// The user who approved or denied.
    pub user_id: Option<Uuid>,
    /// The browser session that approved or denied.
    pub browser_session_id: Option<Uuid>,
    /// When that user authenticated.
    pub auth_time: Option<OffsetDateTime>,
    /// The session its redemption opened.
    pub session_id: Option<Uuid>,
}

impl fmt::Debug for DeviceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceCode")
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .field("status", &self.status)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The answer of `/oauth2/device_authorization` (RFC 8628 section 3.2).
#[derive(Clone)]
pub struct DeviceAuthorization {
    /// `device_code` (for the device only).
    pub device_code: Secret,
    /// `user_code`, as shown: `XXXX-XXXX`.
    pub user_code: String,
    /// `expires_in`.
    pub expires_in: Duration,
    /// `interval`.
    pub interval: Duration,
}

impl fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// What a poll of the token endpoint answers when no tokens are issued (section 3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevicePoll {
    /// `authorization_pending`.
    Pending,
    /// `slow_down`: polled faster than the interval (now raised).
    SlowDown,
    /// `access_denied`.
    Denied,
    /// `expired_token`.
    Expired,
}

impl DevicePoll {
    /// The RFC 8628 error code.
    pub fn code(self) -> &'static str {
        match self {
            DevicePoll::Pending => "authorization_pending",
            DevicePoll::SlowDown => "slow_down",
            DevicePoll::Denied => "access_denied",
            DevicePoll::Expired => "expired_token",
        }
    }

    /// The `error_description`.
    pub fn description(self) -> &'static str {
        match self {
            DevicePoll::Pending => "the user has not yet approved the request",
            DevicePoll::SlowDown => "polling too fast: the interval was raised by 5 seconds",
            DevicePoll::Denied => "the user denied the request",
            DevicePoll::Expired => "the device code has expired; start again",
        }
    }
}

/// A poll's outcome: tokens, or what to tell the device.
#[derive(Debug)]
pub enum DeviceGrant {
    /// Approved and redeemed now.
    Issued(Box<IssuedTokens>),
    /// Not (yet) tokens.
    Poll(DevicePoll),
}

/// A pending request, as the verification page shows it for approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRequest {
    /// The user code, normalized and shown `XXXX-XXXX`.
    pub user_code: String,
    /// The client.
    pub client_id: String,
    /// Its display name (else its id).
    pub client_name: String,
    /// The scope the device asks for.
    pub scope: String,
}

/// Why the verification page refuses a user code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserCodeRejection {
    /// Not of the user-code form.
    Malformed,
    /// Unknown, expired, or already approved or denied.
    NotPending,
    /// Too many look-ups from this browser or address; retry after this.
    RateLimited(Duration),
}

/// Draws a user code: 8 characters of [`USER_CODE_ALPHABET`], unbiased (bytes of 240 and
/// more are drawn again: 240 is 12 times 20).
pub fn new_user_code(rng: &dyn Rng) -> String {
    let mut out = String::with_capacity(USER_CODE_LEN);
    while out.len() < USER_CODE_LEN {
        let mut bytes = [0u8; 16];
        rng.fill(&mut bytes);
        for b in bytes {
            if b < 240 && out.len() < USER_CODE_LEN {
                out.push(char::from(USER_CODE_ALPHABET[usize::from(b % 20)]));
            }
        }
    }
    out
}

/// A normalized user code as shown: `XXXX-XXXX`.
pub fn display_user_code(code: &str) -> String {
    match (code.get(..4), code.get(4..)) {
        (Some(a), Some(b)) => format!("{a}-{b}"),
        _ => code.to_owned(),
    }
}

/// What the user typed, normalized: upper case, dashes and spaces dropped (section 6.1: be
/// forgiving of case and punctuation); `None` unless 8 characters of the alphabet remain.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    if typed.len() > 64 {
        return None;
    }
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)))
        .then_some(code)
}

/// The digest a user code is stored under.
pub fn user_code_digest(normalized: &str) -> TokenDigest {
    TokenDigest::of(&format!("user_code:{normalized}"))
}

impl<S: Store> Gatehouse<S> {
    /// `POST /oauth2/device_authorization`: authenticates the client (a public client by its
    /// id), checks its grant and scope, and stores a new device code.
    ///
    /// # Errors
    /// `InvalidClient`, `UnauthorizedClient` (no device grant), `InvalidScope`,
    /// `RateLimited` (per-client caps), `Storage`.
    pub fn device_authorization(
        &self,
        client: &ClientAuth,
        scope: Option<&str>,
    ) -> Result<DeviceAuthorization, Error> {
        let client = self.authenticate_client(client)?;
        crate::service::client_auth::require_grant(&client, GrantType::DeviceCode)?;
        let scope = crate::service::narrow_scope(&client.scope, scope)?;
        let now = self.now();
        let (device_code, digest) = generate_token(self.rng());
        // A few user codes drawn before the transaction: the first one not in use is taken.
        let candidates: Vec<String> = (0..4).map(|_| new_user_code(self.rng())).collect();
        let cfg = self.config();
        let (cap, rate) = (cfg.max_device_codes_per_client, cfg.device_code_rate);
        let record = DeviceCode {
            digest,
            user_code_digest: user_code_digest(&candidates[0]),
            client_id: client.client_id.clone(),
            scope,
            issued_at: now,
            expires_at: later(now, DEVICE_CODE_LIFETIME),
            interval_secs: POLL_INTERVAL.whole_seconds(),
            last_polled_at: None,
            status: DeviceStatus::Pending,
            user_id: None,
            browser_session_id: None,
            auth_time: None,
            session_id: None,
        };
        let user_code = self
            .store()
            .write(move |tx| admit_device_code(tx, record, &candidates, now, cap, rate))
            .and_then(|r| r)?;
        tracing::info!(client = %client.client_id, "device code issued");
        Ok(DeviceAuthorization {
            device_code,
            user_code: display_user_code(&user_code),
            expires_in: DEVICE_CODE_LIFETIME,
            interval: POLL_INTERVAL,
        })
    }

    /// The verification page's look-up of a user code: counts one try against each of
    /// `limits` (the browser's and the address's keys) and answers the pending request.
    ///
    /// # Errors
    /// `Ok(Err(_))`: the code is refused ([`UserCodeRejection`]); `Err`: `Storage`.
    pub fn device_request(
        &self,
        typed: &str,
        limits: Vec<String>,
    ) -> Result<Result<DeviceRequest, UserCodeRejection>, Error> {
        let now = self.now();
        let rate = self.config().device_entry_rate;
        let normalized = normalize_user_code(typed);
        let found = self.store().write(move |tx| {
            for key in &limits {
                let (hits, ends) = tx.hit_rate_window(key, now, Duration::minutes(1))?;
                if hits > rate {
                    return Ok(Err(UserCodeRejection::RateLimited(ends - now)));
                }
            }
            let Some(code) = normalized else {
                return Ok(Err(UserCodeRejection::Malformed));
            };
            let record = tx.device_code_by_user_code(&user_code_digest(&code))?;
            let Some(record) = record.filter(|r| pending(r, now)) else {
                return Ok(Err(UserCodeRejection::NotPending));
            };
            let client = tx.client(&record.client_id)?;
            Ok(Ok((code, record, client)))
        })?;
        Ok(found.and_then(|(code, record, client)| {
            let Some(client) = client else {
                return Err(UserCodeRejection::NotPending);
            };
            Ok(DeviceRequest {
                user_code: display_user_code(&code),
                client_name: client
                    .client_name
                    .clone()
                    .unwrap_or_else(|| client.client_id.clone()),
                client_id: client.client_id,
                scope: record.scope,
            })
        }))
    }

    /// The user's decision on the verification page, by the browser session shown the
    /// request: approves or denies the pending code of `typed` once.
    ///
    /// # Errors
    /// `InvalidGrant(Expired(DeviceCode))` when the code is no longer pending (expired,
    /// decided meanwhile), `Storage`.
    pub fn decide_device_request(
        &self,
        typed: &str,
        session: &BrowserSessionInfo,
        approve: bool,
    ) -> Result<(), Error> {
        let now = self.now();
        let gone = || Error::InvalidGrant(GrantRejection::Expired(GrantKind::DeviceCode));
        let code = normalize_user_code(typed).ok_or_else(gone)?;
        let (user_id, browser_session_id, auth_time) =
            (session.user.id, session.id, session.authenticated_at);
        self.store()
            .write(move |tx| {
                let Some(mut record) = tx.device_code_by_user_code(&user_code_digest(&code))?
                else {
                    return Ok(Err(gone()));
                };
                if !pending(&record, now) {
                    return Ok(Err(gone()));
                }
                record.status = if approve {
                    DeviceStatus::Approved
                } else {
                    DeviceStatus::Denied
                };
                record.user_id = Some(user_id);
                record.browser_session_id = Some(browser_session_id);
                record.auth_time = Some(auth_time);
                if !tx.update_device_code(&record, DeviceStatus::Pending)? {
                    return Ok(Err(gone()));
                }
                Ok(Ok(()))
            })
            .and_then(|r| r)?;
        tracing::info!(approved = approve, "device request decided");
        Ok(())
    }

    /// `POST /oauth2/token` with the device-code grant: one poll.
    ///
    /// # Errors
    /// `InvalidClient`, `UnauthorizedClient`, `InvalidGrant` (unknown, another client's,
    /// already redeemed, the approving sign-in ended), `AccountDisabled`, `SigningUnavailable`,
    /// `Storage`.
    pub fn device_code_grant(
        &self,
        client: &ClientAuth,
        device_code: &str,
        caller_ip: Option<std::net::IpAddr>,
    ) -> Result<DeviceGrant, Error> {
        let jkt = client.dpop_jkt();
        let (client, keys) = self.authenticate_client_for_signing(client)?;
        crate::service::client_auth::require_grant(&client, GrantType::DeviceCode)?;
        let digest = TokenDigest::of(device_code);
        let refresh = client.grants.contains(GrantType::RefreshToken);
        let mut draft = self.draft(Some(&client), refresh, GrantType::DeviceCode);
        draft.jkt = jkt;
        draft.caller_ip = caller_ip.map(|ip| ip.to_string());
        if client.access_token_format == TokenFormat::Jwt {
            // The user and scope are known once approved: read them, sign, and let the write
            // check everything again.
            let approved = self.store().read(|tx| tx.device_code(&digest))?;
            if let Some(code) = approved
                .filter(|c| c.status == DeviceStatus::Approved && c.client_id == client.client_id)
            {
                draft.access = self.jwt_access_token(
                    &client,
                    code.user_id,
                    draft.session_id,
                    &code.scope,
                    draft.now,
                    later(draft.now, draft.access_life),
                    keys.as_deref(),
                    draft.jkt.as_deref(),
                )?;
            }
        }
        let now = draft.now;
        self.store()
            .write(move |tx| poll(tx, &digest, &client, now, draft))
            .and_then(|r| r)
            .inspect(|g| {
                if let DeviceGrant::Issued(tokens) = g {
                    self.audit_redeemed("device_code", tokens);
                }
            })
    }
}

fn pending(record: &DeviceCode, now: OffsetDateTime) -> bool {
    record.status == DeviceStatus::Pending && record.expires_at > now
}

/// Inside the write: the per-client caps, then the first free user code.
fn admit_device_code(
    tx: &mut dyn WriteTx,
    mut record: DeviceCode,
    candidates: &[String],
    now: OffsetDateTime,
    cap: u64,
    rate: u64,
) -> Result<Result<String, Error>, Error> {
    let key = format!("device:{}", record.client_id);
    let (hits, ends) = tx.hit_rate_window(&key, now, Duration::minutes(1))?;
    if hits > rate {
        return Ok(Err(Error::RateLimited {
            retry_after: ends - now,
        }));
    }
    if tx.live_device_codes(&record.client_id, now)? >= cap {
        return Ok(Err(Error::RateLimited {
            retry_after: POLL_INTERVAL * 6,
        }));
    }
    for candidate in candidates {
        let digest = user_code_digest(candidate);
        if tx.device_code_by_user_code(&digest)?.is_none() {
            record.user_code_digest = digest;
            tx.insert_device_code(&record)?;
            return Ok(Ok(candidate.clone()));
        }
    }
    // Four collisions in a space of 2.6e10: only under a flood the caps did not stop.
    Ok(Err(Error::RateLimited {
        retry_after: POLL_INTERVAL,
    }))
}

/// One poll inside the write transaction (RFC 8628 section 3.5), in this order: the code
/// exists and is the client's (else nothing changes); redeemed already (a replay: what it
/// opened ends); expired; polled too fast (`slow_down`, the interval raised); then by status.
fn poll(
    tx: &mut dyn WriteTx,
    digest: &TokenDigest,
    client: &Client,
    now: OffsetDateTime,
    draft: crate::service::tokens::TokenDraft,
) -> Result<Result<DeviceGrant, Error>, Error> {
    let kind = GrantKind::DeviceCode;
    let Some(mut code) = tx.device_code(digest)? else {
        return Ok(Err(Error::InvalidGrant(GrantRejection::Unknown(kind))));
    };
    if code.client_id != client.client_id {
        tracing::warn!(client = %client.client_id, "a device code of another client was presented");
        return Ok(Err(Error::InvalidGrant(GrantRejection::WrongClient(kind))));
    }
    if code.status == DeviceStatus::Consumed {
        if let Some(session) = code.session_id {
            tx.end_session(session, now)?;
        }
        tracing::warn!(client = %client.client_id, "device code reused; its session ended");
        return Ok(Err(Error::InvalidGrant(GrantRejection::Replayed(kind))));
    }
    if code.expires_at <= now {
        return Ok(Ok(DeviceGrant::Poll(DevicePoll::Expired)));
    }
    let before = code.status;
    let too_fast = code
        .last_polled_at
        .is_some_and(|last| now - last < Duration::seconds(code.interval_secs));
    code.last_polled_at = Some(now);
    if too_fast {
        code.interval_secs =
            (code.interval_secs + SLOW_DOWN_STEP.whole_seconds()).min(MAX_INTERVAL.whole_seconds());
        tx.update_device_code(&code, before)?;
        return Ok(Ok(DeviceGrant::Poll(DevicePoll::SlowDown)));
    }
    match code.status {
        DeviceStatus::Pending | DeviceStatus::Denied => {
            tx.update_device_code(&code, before)?;
            let answer = if before == DeviceStatus::Pending {
                DevicePoll::Pending
            } else {
                DevicePoll::Denied
            };
            Ok(Ok(DeviceGrant::Poll(answer)))
        }
        DeviceStatus::Approved => redeem(tx, code, client, now, draft),
        DeviceStatus::Consumed => Ok(Err(Error::InvalidGrant(GrantRejection::Replayed(kind)))),
    }
}

/// An approved code: its sign-in must still be live and its user enabled; then the session
/// opens and the code is consumed conditionally (a lost race rolls everything back).
fn redeem(
    tx: &mut dyn WriteTx,
    mut code: DeviceCode,
    client: &Client,
    now: OffsetDateTime,
    draft: crate::service::tokens::TokenDraft,
) -> Result<Result<DeviceGrant, Error>, Error> {
    let live = match code.browser_session_id {
        Some(id) => tx
            .browser_session_by_id(id)?
            .is_some_and(|s| s.ended_at.is_none() && s.expires_at > now),
        None => false,
    };
    if !live {
        return Ok(Err(Error::InvalidGrant(
            GrantRejection::BrowserSessionEnded,
        )));
    }
    let Some(user_id) = code.user_id else {
        return Ok(Err(Error::InvalidGrant(GrantRejection::UnknownUser)));
    };
    let user = match crate::service::introspect::user_of(tx, user_id)? {
        Ok(user) => user,
        Err(rejection) => return Ok(Err(rejection.into())),
    };
    let mint = draft.open(
        Some(client),
        Some(&user),
        code.scope.clone(),
        crate::service::tokens::Lineage::default(),
    );
    mint.apply(tx)?;
    code.status = DeviceStatus::Consumed;
    code.session_id = Some(mint.out.session_id);
    if !tx.update_device_code(&code, DeviceStatus::Approved)? {
        return Err(Error::InvalidGrant(GrantRejection::AlreadyUsed(
            GrantKind::DeviceCode,
        )));
    }
    Ok(Ok(DeviceGrant::Issued(Box::new(mint.out))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_use_the_alphabet_and_normalize() {
        let rng = crate::rng::SeededRng::new(9);
        for _ in 0..200 {
            let code = new_user_code(&rng);
            assert_eq!(code.len(), USER_CODE_LEN);
            assert!(
                code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)),
                "{code}"
            );
            let shown = display_user_code(&code);
            assert_eq!(shown.len(), 9);
            assert_eq!(normalize_user_code(&shown).as_deref(), Some(code.as_str()));
            assert_eq!(
                normalize_user_code(&shown.to_lowercase()).as_deref(),
                Some(code.as_str())
            );
        }
        for bad in [
            "",
            "BCDF-GHJ",
            "BCDF-GHJKL",
            "ABCD-EFGH",
            "0000-0000",
            "BCDF GHJ1",
        ] {
            assert_eq!(normalize_user_code(bad), None, "{bad}");
        }
        assert_eq!(normalize_user_code(&"B".repeat(100)), None);
        // No vowels, no digits, no look-alikes.
        for c in b"AEIOUY01" {
            assert!(!USER_CODE_ALPHABET.contains(c));
        }
    }

    #[test]
    fn poll_answers_have_rfc_8628_codes() {
        assert_eq!(DevicePoll::Pending.code(), "authorization_pending");
        assert_eq!(DevicePoll::SlowDown.code(), "slow_down");
        assert_eq!(DevicePoll::Denied.code(), "access_denied");
        assert_eq!(DevicePoll::Expired.code(), "expired_token");
        for s in ["pending", "approved", "denied", "consumed"] {
            assert_eq!(DeviceStatus::parse(s).map(DeviceStatus::as_str), Some(s));
        }
    }
}
