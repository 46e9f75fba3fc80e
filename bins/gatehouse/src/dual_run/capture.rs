//! Credential capture's upstream (issue 22, `--credential-capture`): the legacy service asked
//! whether a password is right, over the dual-run forwarding client ([`super::upstream`]).
//!
//! A login by user name is asked at the legacy Katana `/token` (`grant_type=password`, form,
//! no client: the one legacy endpoint that takes a bare user name and password, so neither
//! the client's secret nor a dialect's client rules travel to the upstream); the answer's
//! `userName` and `userID` become the captured user's name and id. Calls are capped per
//! second (`--credential-capture-rate`); past the cap, or when the upstream fails, there is
//! no verdict (a refusal here). The domain calls it from a hash thread: each such thread
//! keeps one single-threaded runtime for the client.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::{header, Method};
use gatehouse_domain::service::capture::{
    CaptureLogin, CredentialUpstream, LegacyIdentity, UpstreamVerdict,
};

use super::upstream::{self, Forward};

/// The legacy service as the password checker of credential capture.
#[derive(Debug)]
pub struct HttpCapture {
    /// Katana's `/token` at the upstream.
    url: String,
    timeout: Duration,
    rate: u32,
    /// When this was made (the seconds of the rate window count from it).
    started: Instant,
    /// This second and the calls made in it.
    window: Mutex<(u64, u32)>,
    /// A moving average of the upstream's answer time, microseconds (what a local login
    /// waits while capture is on).
    latency_us: AtomicU64,
}

thread_local! {
    /// The runtime the forwarding client runs on, one per hash thread.
    static RUNTIME: Option<actix_web::rt::Runtime> = actix_web::rt::Runtime::new().ok();
}

impl HttpCapture {
    /// Capture against the upstream of the Katana dialect (`base`), `rate` calls a second.
    pub fn new(base: &str, timeout: Duration, rate: u32) -> Self {
        Self {
            url: format!("{}/token", base.trim_end_matches('/')),
            timeout,
            rate,
            started: Instant::now(),
            window: Mutex::new((0, 0)),
            // Until the first answer: a loopback round trip (measured, tests/it/capture.rs).
            latency_us: AtomicU64::new(2_000),
        }
    }

    fn admit(&self) -> bool {
        let now = self.started.elapsed().as_secs();
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        if window.0 != now {
            *window = (now, 0);
        }
        if window.1 >= self.rate {
            return false;
        }
        window.1 += 1;
        true
    }

    fn note_latency(&self, took: Duration) {
        let took = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let old = self.latency_us.load(Ordering::Relaxed);
        // An exponential moving average over about eight answers.
        let new = old - old / 8 + took / 8;
        self.latency_us.store(new, Ordering::Relaxed);
    }

    fn forward(&self, login: &CaptureLogin<'_>) -> Forward {
        let body = format!(
            "grant_type=password&userName={}&password={}",
            gatehouse_codec::form_url_encode(login.user_name),
            gatehouse_codec::form_url_encode(login.password.expose())
        );
        Forward {
            url: self.url.clone(),
            method: Method::POST,
            headers: vec![
                (
                    header::CONTENT_TYPE,
                    header::HeaderValue::from_static("application/x-www-form-urlencoded"),
                ),
                (
                    header::ACCEPT,
                    header::HeaderValue::from_static("application/json"),
                ),
            ],
            caller: login.caller_ip.unwrap_or([127, 0, 0, 1].into()),
            body: body.into(),
        }
    }

    fn ask(&self, login: &CaptureLogin<'_>) -> UpstreamVerdict {
        if tokio::runtime::Handle::try_current().is_ok() {
            // Never block an async worker: capture runs on the hash threads only.
            return UpstreamVerdict::Unavailable;
        }
        let forward = self.forward(login);
        let start = Instant::now();
        let answer = RUNTIME.with(|rt| {
            rt.as_ref()
                .map(|rt| rt.block_on(upstream::send(&forward, self.timeout)))
        });
        self.note_latency(start.elapsed());
        match answer {
            Some(Ok(theirs)) => verdict_of(theirs.answer.status, &theirs.answer.body),
            Some(Err(failure)) => {
                tracing::warn!(
                    kind = failure.kind(),
                    "credential capture: no answer from the upstream"
                );
                UpstreamVerdict::Unavailable
            }
            None => UpstreamVerdict::Unavailable,
        }
    }
}

/// A 200 with the token answer's `userName` (and `userID`, when a GUID): accepted; a 400
/// (`invalid_grant`): refused; anything else: no verdict.
fn verdict_of(status: u16, body: &[u8]) -> UpstreamVerdict {
    match status {
        200 => {
            let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
                return UpstreamVerdict::Unavailable;
            };
            let Some(user_name) = json.get("userName").and_then(|v| v.as_str()) else {
                return UpstreamVerdict::Unavailable;
            };
            UpstreamVerdict::Accepted(LegacyIdentity {
                user_name: user_name.to_owned(),
                user_id: json
                    .get("userID")
                    .and_then(|v| v.as_str())
                    .and_then(|id| uuid::Uuid::parse_str(id).ok()),
            })
        }
        400 | 401 => UpstreamVerdict::Refused,
        _ => UpstreamVerdict::Unavailable,
    }
}

impl CredentialUpstream for HttpCapture {
    fn check(&self, login: &CaptureLogin<'_>) -> UpstreamVerdict {
        if !self.admit() {
            tracing::warn!("credential capture: upstream checks over --credential-capture-rate");
            self.pad();
            return UpstreamVerdict::Unavailable;
        }
        self.ask(login)
    }

    fn pad(&self) {
        let us = self
            .latency_us
            .load(Ordering::Relaxed)
            .min(u64::try_from(self.timeout.as_micros()).unwrap_or(u64::MAX));
        std::thread::sleep(Duration::from_micros(us));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_token_answer_naming_the_user_is_a_success() {
        let ok = br#"{"access_token":"t","token_type":"bearer","expires_in":3,"userName":"carol","userID":"ca201000-0000-4000-8000-000000000003"}"#;
        assert_eq!(
            verdict_of(200, ok),
            UpstreamVerdict::Accepted(LegacyIdentity {
                user_name: "carol".to_owned(),
                user_id: uuid::Uuid::parse_str("ca201000-0000-4000-8000-000000000003").ok(),
            })
        );
        assert_eq!(
            verdict_of(400, br#"{"error":"invalid_grant"}"#),
            UpstreamVerdict::Refused
        );
        assert_eq!(verdict_of(200, b"<html>"), UpstreamVerdict::Unavailable);
        assert_eq!(verdict_of(200, b"{}"), UpstreamVerdict::Unavailable);
        assert_eq!(verdict_of(500, b""), UpstreamVerdict::Unavailable);
    }
}
