//! Dual-run with the legacy service, and the use of the legacy dialects (issue 22,
//! `docs/migration.md`).
//!
//! One middleware ([`middleware`]) sits around the routes of the five legacy dialects, inside
//! the path normalisation and metrics and outside Web API's finishing touches
//! ([`crate::http::legacy`]), so that it sees Gatehouse's answer exactly as a client would:
//!
//! * always: the request's facts ([`sniff`]: client, password, legacy-only features) are
//!   added to an in-memory book ([`UsageBook`]) that a timer adds to the database every
//!   `--legacy-usage-flush` seconds (one write for all clients, not one per request);
//! * `observe`: the request goes to the upstream unchanged and the client gets its answer
//!   byte for byte; the same request runs through Gatehouse's own handler against the
//!   rolled-back store ([`gatehouse_storage::Storage::rolled_back`]: a real decision, nothing
//!   written), and the two answers are compared ([`compare`]);
//! * `primary`: Gatehouse answers; a copy goes to the upstream after the answer is on its
//!   way (a spawned task: the client never waits for it) and the answers are compared.
//!
//! Comparisons are capped per second ([`DualRun::admit`]), differences stored are capped in
//! number (`--dual-run-max-differences`), and both answers are redacted before they are
//! stored or logged. A password-bearing request goes to the upstream only when its dialect
//! is listed in `--dual-run-forward-passwords`.

pub mod capture;
pub mod compare;
pub mod sniff;
pub mod upstream;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use actix_web::body::BoxBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage as _, HttpRequest, HttpResponse};
use gatehouse_domain::dual_run::{Difference, Usage};
use time::OffsetDateTime;

use crate::config::DualRunMode;
use crate::http::{self, ApiError, Endpoint};
use crate::AppState;
use compare::Answer;

/// Distinct (client, dialect) pairs the book keeps between flushes; further ones are
/// counted under the client `(other)` (client ids come from unauthenticated requests).
const BOOK_KEYS: usize = 1024;

/// Longest client id kept (a longer one is cut).
const CLIENT_ID_CHARS: usize = 200;

/// The body a handler read (`request::read_body` keeps it here for the usage book).
#[derive(Debug, Clone)]
pub struct RawBody(pub web::Bytes);

/// The dual-run state of a server.
#[derive(Debug)]
pub struct DualRun {
    /// This second (unix seconds) and the comparisons admitted in it.
    window: Mutex<(u64, u32)>,
    /// The usage not yet flushed.
    book: UsageBook,
}

impl Default for DualRun {
    fn default() -> Self {
        Self {
            window: Mutex::new((0, 0)),
            book: UsageBook::default(),
        }
    }
}

impl DualRun {
    /// Whether one more comparison fits in the second of `now` under `rate`.
    pub fn admit(&self, rate: u32, now: OffsetDateTime) -> bool {
        let now = u64::try_from(now.unix_timestamp()).unwrap_or(0);
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        if window.0 != now {
            *window = (now, 0);
        }
        if window.1 >= rate {
            return false;
        }
        window.1 += 1;
        true
    }

    /// The usage book.
    pub fn book(&self) -> &UsageBook {
        &self.book
    }
}

/// Legacy-dialect use since the last flush, per (client, dialect).
#[derive(Debug, Default)]
pub struct UsageBook {
    entries: Mutex<HashMap<(String, &'static str), Usage>>,
}

impl UsageBook {
    /// Notes one request seen at `now`.
    pub fn note(&self, dialect: &'static str, facts: &sniff::Facts, now: OffsetDateTime) {
        let client: String = facts
            .client_id
            .as_deref()
            .unwrap_or("")
            .chars()
            .take(CLIENT_ID_CHARS)
            .collect();
        let delta = Usage {
            client_id: client.clone(),
            dialect: dialect.to_owned(),
            requests: 1,
            first_seen: now,
            last_seen: now,
            features: facts.features,
        };
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let key = if entries.len() >= BOOK_KEYS && !entries.contains_key(&(client.clone(), dialect))
        {
            ("(other)".to_owned(), dialect)
        } else {
            (client, dialect)
        };
        match entries.get_mut(&key) {
            Some(usage) => usage.add(&delta),
            None => {
                entries.insert(
                    key.clone(),
                    Usage {
                        client_id: key.0,
                        ..delta
                    },
                );
            }
        }
    }

    /// Everything noted since the last call.
    pub fn take(&self) -> Vec<Usage> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *entries).into_values().collect()
    }

    /// Puts deltas back (a flush that failed).
    pub fn put_back(&self, deltas: Vec<Usage>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        for delta in deltas {
            let Some(dialect) = crate::config::LEGACY_DIALECTS
                .into_iter()
                .find(|d| *d == delta.dialect)
            else {
                continue;
            };
            match entries.get_mut(&(delta.client_id.clone(), dialect)) {
                Some(usage) => usage.add(&delta),
                None => {
                    entries.insert((delta.client_id.clone(), dialect), delta);
                }
            }
        }
    }
}

/// The legacy endpoint a request is for (its path is normalised already), when it is a
/// POST to one.
fn legacy_endpoint(req: &ServiceRequest) -> Option<Endpoint> {
    let endpoint = Endpoint::from_route(req.path())?;
    (endpoint.is_legacy() && req.method() == actix_web::http::Method::POST).then_some(endpoint)
}

/// The middleware (see the module's documentation).
///
/// # Errors
/// What the inner service returns, and a failure to read the request body; a refusal of
/// the body (too large, too slow) is an answer, not an error.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let (Some(endpoint), Some(state)) = (
        legacy_endpoint(&req),
        req.app_data::<web::Data<AppState>>().cloned(),
    ) else {
        return next.call(req).await;
    };
    if state.config.dual_run == DualRunMode::Off {
        let res = next.call(req).await?;
        let body = res
            .request()
            .extensions()
            .get::<RawBody>()
            .map(|b| b.0.clone())
            .unwrap_or_default();
        let facts = sniff::facts(res.request(), endpoint, &body);
        state
            .dual_run
            .book()
            .note(endpoint.dialect(), &facts, state.service.clock().now());
        return Ok(res);
    }
    dual_run(state, endpoint, req, next).await
}

async fn dual_run(
    state: web::Data<AppState>,
    endpoint: Endpoint,
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let (http_req, mut payload) = req.into_parts();
    let payload =
        <web::Payload as actix_web::FromRequest>::from_request(&http_req, &mut payload).await?;
    let body = match http::request::read_body(&http_req, payload, state.config.body_limit).await {
        Ok(body) => body,
        Err(e) => return Ok(refusal(&state, endpoint, http_req, &e)),
    };
    let facts = sniff::facts(&http_req, endpoint, &body);
    let dialect = endpoint.dialect();
    let now = state.service.clock().now();
    state.dual_run.book().note(dialect, &facts, now);
    let config = &state.config;
    let passwords_ok = !facts.password
        || config
            .dual_run_forward_passwords
            .iter()
            .any(|d| d == dialect);
    let forward = match (passwords_ok, config.legacy_upstream_for(dialect)) {
        (true, Some(base)) => Some(forward_of(&http_req, base, body.clone())),
        _ => None,
    };
    let req = ServiceRequest::from_parts(http_req, Payload::from(body));
    let Some(forward) = forward else {
        // Not forwarded (a password the upstream is not trusted with): Gatehouse answers.
        state.metrics.dual_run(dialect, "skipped_password");
        return next.call(req).await;
    };
    let admitted = state.dual_run.admit(config.dual_run_rate, now);
    if !admitted {
        state.metrics.dual_run(dialect, "skipped_rate");
    }
    let run = Run {
        state: state.clone(),
        endpoint,
        client_id: facts.client_id,
    };
    match config.dual_run {
        DualRunMode::Observe => observe(run, req, next, forward, admitted).await,
        _ => primary(run, req, next, forward, admitted).await,
    }
}

/// One request's comparison context.
struct Run {
    state: web::Data<AppState>,
    endpoint: Endpoint,
    client_id: Option<String>,
}

fn timeout(state: &AppState) -> Duration {
    Duration::from_secs(state.config.legacy_upstream_timeout)
}

/// The upstream answers; Gatehouse decides the same request on the rolled-back store.
async fn observe(
    run: Run,
    mut req: ServiceRequest,
    next: Next<BoxBody>,
    forward: upstream::Forward,
    admitted: bool,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let limit = timeout(&run.state);
    let dry = run.state.dry_twin().filter(|_| admitted);
    let Some(dry) = dry else {
        let (http_req, _) = req.into_parts();
        return Ok(match upstream::send(&forward, limit).await {
            Ok(theirs) => ServiceResponse::new(http_req, relay(&theirs)),
            Err(failure) => {
                run.state
                    .metrics
                    .dual_run(run.endpoint.dialect(), failure.kind());
                unavailable(&run.state, run.endpoint, http_req)
            }
        });
    };
    // The dry run: the handler finds the twin's state (its store rolls every write back)
    // before the server's own.
    let mut container = actix_web::dev::Extensions::new();
    container.insert(dry);
    req.add_data_container(std::rc::Rc::new(container));
    // (No clone of the request may live while it is routed: actix needs it unshared.)
    let (ours, theirs) = tokio::join!(
        async { next.call(req).await },
        upstream::send(&forward, limit)
    );
    let (ours, dry_res) = match answer_of(ours).await {
        Ok(answered) => answered,
        Err(e) => return Err(e),
    };
    let http_req = dry_res.request().clone();
    match theirs {
        Ok(theirs) => {
            let res = relay(&theirs);
            spawn_record(run, "observe", ours, Ok(theirs.answer));
            Ok(ServiceResponse::new(http_req, res))
        }
        Err(failure) => {
            let state = run.state.clone();
            spawn_record(run, "observe", ours, Err(failure));
            Ok(unavailable(
                &state,
                run_endpoint(dry_res.request()),
                http_req,
            ))
        }
    }
}

/// The endpoint of a routed legacy request (its dialect is in the extensions).
fn run_endpoint(req: &HttpRequest) -> Endpoint {
    req.extensions()
        .get::<http::extract::Dialect>()
        .map_or(Endpoint::KatanaToken, |d| d.endpoint)
}

/// Gatehouse answers; the upstream gets a copy afterwards.
async fn primary(
    run: Run,
    req: ServiceRequest,
    next: Next<BoxBody>,
    forward: upstream::Forward,
    admitted: bool,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?;
    if !admitted {
        return Ok(res);
    }
    let (ours, res) = answer_of(Ok(res)).await?;
    let limit = timeout(&run.state);
    actix_web::rt::spawn(async move {
        let theirs = upstream::send(&forward, limit).await.map(|u| u.answer);
        record(run, "primary", ours, theirs).await;
    });
    Ok(res)
}

/// Reads a response's body into an [`Answer`] and gives back the response with the same
/// bytes.
async fn answer_of(
    res: Result<ServiceResponse<BoxBody>, actix_web::Error>,
) -> Result<(Answer, ServiceResponse<BoxBody>), actix_web::Error> {
    let (req, res) = res?.into_parts();
    let (head, body) = res.into_parts();
    let bytes = actix_web::body::to_bytes(body)
        .await
        .map_err(|_| actix_web::error::ErrorInternalServerError("response body"))?;
    let answer = Answer {
        status: head.status().as_u16(),
        content_type: head
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: bytes.to_vec(),
    };
    let res = head.set_body(BoxBody::new(bytes));
    Ok((answer, ServiceResponse::new(req, res)))
}

/// The upstream's answer as the client gets it: status, end-to-end headers, body bytes.
fn relay(theirs: &upstream::Upstream) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(theirs.answer.status)
        .unwrap_or(actix_web::http::StatusCode::BAD_GATEWAY);
    let mut res = HttpResponse::build(status).body(theirs.answer.body.clone());
    let headers = res.headers_mut();
    for (name, value) in &theirs.headers {
        headers.append(name.clone(), value.clone());
    }
    res
}

/// The request as forwarded: the path and query as the client wrote them.
fn forward_of(req: &HttpRequest, base: &str, body: web::Bytes) -> upstream::Forward {
    let original = req
        .extensions()
        .get::<http::legacy::OriginalUri>()
        .map(|u| u.0.clone())
        .unwrap_or_else(|| req.uri().clone());
    let path = original
        .path_and_query()
        .map_or_else(|| req.path().to_owned(), |pq| pq.as_str().to_owned());
    let headers = upstream::FORWARDED
        .iter()
        .filter_map(|name| req.headers().get(name).map(|v| (name.clone(), v.clone())))
        .collect();
    let caller = http::extract::Caller::of(req).map_or_else(
        |_| req.peer_addr().map_or([127, 0, 0, 1].into(), |a| a.ip()),
        |c| c.ip,
    );
    upstream::Forward {
        url: format!("{base}{path}"),
        method: req.method().clone(),
        headers,
        caller,
        body,
    }
}

/// A body that could not be read, refused in the dialect's words (what the handler would
/// have answered).
fn refusal(
    state: &AppState,
    endpoint: Endpoint,
    req: HttpRequest,
    err: &ApiError,
) -> ServiceResponse<BoxBody> {
    let dialect = http::extract::Dialect::negotiate(&req, endpoint);
    let res = http::error::render(
        endpoint,
        dialect.format,
        err,
        &state.error_id(),
        http::request::uses_basic(&req),
    );
    ServiceResponse::new(req, res.map_into_boxed_body())
}

/// Observe mode without an upstream answer: the legacy service is the one answering, and
/// Gatehouse's dry-run answer issued nothing a client could use, so the client is told to
/// try again (503 in the dialect's words).
fn unavailable(state: &AppState, endpoint: Endpoint, req: HttpRequest) -> ServiceResponse<BoxBody> {
    refusal(state, endpoint, req, &ApiError::Busy)
}

fn spawn_record(
    run: Run,
    mode: &'static str,
    ours: Answer,
    theirs: Result<Answer, upstream::Failure>,
) {
    actix_web::rt::spawn(record(run, mode, ours, theirs));
}

/// Compares, counts (metrics and database) and stores a difference, redacted.
async fn record(
    run: Run,
    mode: &'static str,
    ours: Answer,
    theirs: Result<Answer, upstream::Failure>,
) {
    let dialect = run.endpoint.dialect();
    let route = run.endpoint.route();
    let state = run.state;
    let (kinds, difference) = match theirs {
        Err(failure) => (vec![failure.kind()], None),
        // The dry run met a full hash queue (or no signing key): no decision to compare.
        Ok(_) if mode == "observe" && ours.status == 503 => (vec!["skipped_busy"], None),
        Ok(theirs) => {
            let outcome = compare::compare(&ours, &theirs);
            if outcome.kinds.is_empty() {
                (vec!["compared", "same"], None)
            } else {
                tracing::info!(
                    dialect,
                    endpoint = route,
                    mode,
                    kinds = %compare::summary(&outcome),
                    "dual-run: the answers differ"
                );
                let mut kinds = vec!["compared", "different"];
                kinds.extend(outcome.kinds.iter().copied());
                let difference = Difference {
                    recorded_at: state.service.clock().now(),
                    mode: mode.to_owned(),
                    dialect: dialect.to_owned(),
                    endpoint: route.to_owned(),
                    client_id: run.client_id,
                    kinds: outcome.kinds.join(","),
                    detail: outcome.detail,
                    gatehouse_answer: compare::redact(&ours),
                    upstream_answer: compare::redact(&theirs),
                };
                (kinds, Some(difference))
            }
        }
    };
    for kind in &kinds {
        state.metrics.dual_run(dialect, kind);
    }
    let cap = state.config.dual_run_max_differences;
    let result = state
        .blocking(move |s| s.record_comparison(dialect, route, &kinds, difference, cap))
        .await;
    match result {
        Ok(true) | Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, dialect, "dual-run: recording a comparison failed"),
    }
}

/// Adds the usage book to the database every `--legacy-usage-flush` seconds, on the
/// blocking pool.
pub fn spawn_flush(state: web::Data<AppState>) {
    let every = Duration::from_secs(state.config.legacy_usage_flush);
    actix_web::rt::spawn(async move {
        let mut tick =
            actix_web::rt::time::interval_at(actix_web::rt::time::Instant::now() + every, every);
        loop {
            tick.tick().await;
            flush(&state).await;
        }
    });
}

/// Adds what the usage book holds to the database (kept for the next flush on failure).
pub async fn flush(state: &web::Data<AppState>) {
    let deltas = state.dual_run.book().take();
    if deltas.is_empty() {
        return;
    }
    let kept = deltas.clone();
    if let Err(e) = state.blocking(move |s| s.add_legacy_usage(deltas)).await {
        tracing::warn!(error = %e, "adding legacy usage failed; kept for the next flush");
        state.dual_run.book().put_back(kept);
    }
}
