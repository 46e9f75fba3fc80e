//! Delivery of back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0,
//! [`gatehouse_domain::backchannel`]) off the request path.
//!
//! The domain hands each signed token to [`Delivery::submit`], which only tries to put it in
//! a bounded queue ([`QUEUE`] notices): a full queue drops the notice (counted, audited),
//! never waits. One thread runs an actix runtime that takes notices from the queue and POSTs
//! each (`application/x-www-form-urlencoded`, `logout_token=…`) with at most [`IN_FLIGHT`]
//! at once, a timeout of [`TIMEOUT`] per attempt and at most [`ATTEMPTS`] attempts with a
//! doubling pause (0.5 s, 1 s) after a timeout, a connection failure or a 5xx; a 4xx is the
//! client refusing the token and is not retried. Each outcome is audited
//! (`backchannel_logout`) and counted in `/metrics`
//! (`gatehouse_backchannel_logout_total{outcome}`). Nothing here can delay or fail the
//! logout that ended the session.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gatehouse_domain::audit::{AuditEvent, AuditSink};
use gatehouse_domain::backchannel::{BackchannelSink, LogoutNotice};
use tokio::sync::{mpsc, Semaphore};

/// Notices waiting for delivery; more are dropped.
pub const QUEUE: usize = 1024;
/// Deliveries running at once (a hanging receiver holds one for at most
/// `ATTEMPTS * TIMEOUT` plus the pauses, 16.5 s).
pub const IN_FLIGHT: usize = 32;
/// Time for one POST, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per notice.
pub const ATTEMPTS: u32 = 3;
/// The pause after the first failed attempt (doubled after each next one).
const BACKOFF: Duration = Duration::from_millis(500);

static DELIVERED: AtomicU64 = AtomicU64::new(0);
static FAILED: AtomicU64 = AtomicU64::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Logout tokens by outcome since start (`delivered`, `failed`, `dropped`), for `/metrics`.
pub fn counts() -> [(&'static str, u64); 3] {
    [
        ("delivered", DELIVERED.load(Ordering::Relaxed)),
        ("failed", FAILED.load(Ordering::Relaxed)),
        ("dropped", DROPPED.load(Ordering::Relaxed)),
    ]
}

/// The server's [`BackchannelSink`]: the sending end of the queue.
pub struct Delivery {
    queue: mpsc::Sender<LogoutNotice>,
    audit: Option<Arc<dyn AuditSink>>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery").finish_non_exhaustive()
    }
}

impl Delivery {
    /// Starts the delivery thread; it ends when the last [`Delivery`] is dropped and the
    /// queue is empty.
    ///
    /// # Errors
    /// The thread could not be started.
    pub fn start(audit: Option<Arc<dyn AuditSink>>) -> std::io::Result<Arc<Self>> {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let worker_audit = audit.clone();
        std::thread::Builder::new()
            .name("gatehouse-backchannel".into())
            .spawn(move || {
                actix_web::rt::System::new().block_on(run(receiver, worker_audit));
            })?;
        Ok(Arc::new(Self { queue, audit }))
    }
}

impl BackchannelSink for Delivery {
    fn submit(&self, notice: LogoutNotice) {
        if let Err(e) = self.queue.try_send(notice) {
            let notice = match e {
                mpsc::error::TrySendError::Full(n) | mpsc::error::TrySendError::Closed(n) => n,
            };
            tracing::warn!(client = %notice.client_id, "back-channel logout queue full: dropped");
            outcome(self.audit.as_deref(), &notice, "dropped", 0);
        }
    }

    fn unsigned(&self, client_id: &str) {
        tracing::warn!(client = %client_id, "back-channel logout token could not be signed: dropped");
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts, audits and logs one notice's outcome.
fn outcome(
    audit: Option<&dyn AuditSink>,
    notice: &LogoutNotice,
    what: &'static str,
    attempts: u32,
) {
    match what {
        "delivered" => &DELIVERED,
        "failed" => &FAILED,
        _ => &DROPPED,
    }
    .fetch_add(1, Ordering::Relaxed);
    if let Some(audit) = audit {
        audit.record(&AuditEvent::BackchannelLogout {
            client: notice.client_id.clone(),
            session: notice.browser_session_id,
            outcome: what,
            attempts,
        });
    }
}

async fn run(mut receiver: mpsc::Receiver<LogoutNotice>, audit: Option<Arc<dyn AuditSink>>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut connector = awc::Connector::new().timeout(TIMEOUT);
    if let Some(tls) = crate::dual_run::upstream::tls() {
        connector = connector.openssl(tls);
    }
    let client = awc::Client::builder()
        .connector(connector)
        .timeout(TIMEOUT)
        .disable_redirects()
        .finish();
    while let Some(notice) = receiver.recv().await {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let client = client.clone();
        let audit = audit.clone();
        actix_web::rt::spawn(async move {
            let attempts = deliver(&client, &notice).await;
            let what = if attempts.1 { "delivered" } else { "failed" };
            outcome(audit.as_deref(), &notice, what, attempts.0);
            drop(slot);
        });
    }
}

/// What one POST came to.
enum Attempt {
    Delivered,
    /// A 4xx: the client refused the token; retrying would not change that.
    Refused,
    /// A timeout, a connection failure or a 5xx.
    Retry,
}

/// Up to [`ATTEMPTS`] POSTs; (attempts made, delivered).
async fn deliver(client: &awc::Client, notice: &LogoutNotice) -> (u32, bool) {
    let mut pause = BACKOFF;
    for attempt in 1..=ATTEMPTS {
        match post(client, notice).await {
            Attempt::Delivered => return (attempt, true),
            Attempt::Refused => return (attempt, false),
            Attempt::Retry if attempt < ATTEMPTS => {
                actix_web::rt::time::sleep(pause).await;
                pause *= 2;
            }
            Attempt::Retry => {}
        }
    }
    (ATTEMPTS, false)
}

async fn post(client: &awc::Client, notice: &LogoutNotice) -> Attempt {
    let body = format!("logout_token={}", form_encode(notice.logout_token.expose()));
    let sent = client
        .post(notice.uri.as_str())
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .send_body(body)
        .await;
    match sent {
        Ok(response) if response.status().is_success() => Attempt::Delivered,
        Ok(response) if response.status().is_client_error() => {
            tracing::warn!(client = %notice.client_id, status = response.status().as_u16(), "back-channel logout refused");
            Attempt::Refused
        }
        Ok(response) => {
            tracing::warn!(client = %notice.client_id, status = response.status().as_u16(), "back-channel logout failed");
            Attempt::Retry
        }
        Err(e) => {
            tracing::warn!(client = %notice.client_id, error = %e, "back-channel logout failed");
            Attempt::Retry
        }
    }
}

/// A JWT is base64url and dots: nothing to escape but, defensively, anything else.
fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
