//! Prometheus metrics in the text exposition format, kept by hand: a handful of counters and
//! one histogram do not need a metrics framework.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Request counters and latencies by route, dialect and status.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, &'static str, u16), u64>>,
    latency: Mutex<BTreeMap<&'static str, Histogram>>,
    hash_rejected: AtomicU64,
    /// Dual-run outcomes by dialect and kind (`compared`, `same`, `different`, each kind of
    /// difference, upstream failures, skips).
    dual_run: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// Gauges read at scrape time.
#[derive(Debug, Clone, Copy)]
pub struct Gauges {
    /// Password checks waiting for a hash thread.
    pub hash_queued: usize,
    /// Password checks running.
    pub hash_running: usize,
    /// Hash threads.
    pub hash_threads: usize,
    /// PBKDF2 computations run so far (hashes, verifications and dummy verifications).
    pub password_hashes: u64,
    /// PBKDF2 iterations run so far, the padding of failed legacy-hash checks included.
    pub hash_iterations: u64,
    /// SQL compilations by the storage's connections so far
    /// (`gatehouse_storage::Storage::sql_compiles`).
    pub sql_compiles: u64,
}

impl Metrics {
    /// Records one finished request.
    pub fn observe(&self, route: &'static str, dialect: &'static str, status: u16, took: Duration) {
        {
            let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
            *requests.entry((route, dialect, status)).or_default() += 1;
        }
        let secs = took.as_secs_f64();
        let mut latency = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        let h = latency.entry(route).or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.buckets[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// Counts one dual-run outcome.
    pub fn dual_run(&self, dialect: &'static str, kind: &'static str) {
        let mut counts = self.dual_run.lock().unwrap_or_else(|e| e.into_inner());
        *counts.entry((dialect, kind)).or_default() += 1;
    }

    /// Counts a password check turned away because the hash queue was full.
    pub fn hash_rejected(&self) {
        self.hash_rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition text.
    pub fn render(&self, gauges: Gauges) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str(
            "# HELP gatehouse_http_requests_total HTTP requests by route, dialect and status.\n",
        );
        out.push_str("# TYPE gatehouse_http_requests_total counter\n");
        {
            let requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
            for ((route, dialect, status), n) in requests.iter() {
                let _ = writeln!(
                    out,
                    "gatehouse_http_requests_total{{route=\"{route}\",dialect=\"{dialect}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP gatehouse_http_request_duration_seconds Time to answer a request.\n");
        out.push_str("# TYPE gatehouse_http_request_duration_seconds histogram\n");
        {
            let latency = self.latency.lock().unwrap_or_else(|e| e.into_inner());
            for (route, h) in latency.iter() {
                for (bound, n) in BUCKETS.iter().zip(h.buckets.iter()) {
                    let _ = writeln!(
                        out,
                        "gatehouse_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}"
                    );
                }
                let _ = writeln!(
                    out,
                    "gatehouse_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    out,
                    "gatehouse_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "gatehouse_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    h.count
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP gatehouse_hash_queue_depth Password checks waiting for a hash thread.\n# TYPE gatehouse_hash_queue_depth gauge\ngatehouse_hash_queue_depth {}",
            gauges.hash_queued
        );
        let _ = writeln!(
            out,
            "# HELP gatehouse_hash_running Password checks running.\n# TYPE gatehouse_hash_running gauge\ngatehouse_hash_running {}",
            gauges.hash_running
        );
        let _ = writeln!(
            out,
            "# HELP gatehouse_hash_threads Threads of the password hash pool.\n# TYPE gatehouse_hash_threads gauge\ngatehouse_hash_threads {}",
            gauges.hash_threads
        );
        let _ = writeln!(
            out,
            "# HELP gatehouse_hash_rejected_total Password checks answered 503 because the hash queue was full.\n# TYPE gatehouse_hash_rejected_total counter\ngatehouse_hash_rejected_total {}",
            self.hash_rejected.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP gatehouse_password_hashes_total PBKDF2 computations (hashes, verifications, dummy verifications for unknown users).\n# TYPE gatehouse_password_hashes_total counter\ngatehouse_password_hashes_total {}",
            gauges.password_hashes
        );
        let _ = writeln!(
            out,
            "# HELP gatehouse_password_hash_iterations_total PBKDF2 iterations run (every failed check costs at least the configured count).\n# TYPE gatehouse_password_hash_iterations_total counter\ngatehouse_password_hash_iterations_total {}",
            gauges.hash_iterations
        );
        out.push_str("# HELP gatehouse_dual_run_outcomes_total Dual-run outcomes since start by dialect and kind (compared, same, different, each kind of difference, upstream failures, skipped).\n# TYPE gatehouse_dual_run_outcomes_total counter\n");
        {
            let counts = self.dual_run.lock().unwrap_or_else(|e| e.into_inner());
            for ((dialect, kind), n) in counts.iter() {
                let _ = writeln!(
                    out,
                    "gatehouse_dual_run_outcomes_total{{dialect=\"{dialect}\",kind=\"{kind}\"}} {n}"
                );
            }
        }
        out.push_str(
            "# HELP gatehouse_audit_events_total Security events by kind (docs/operations.md, audit log).\n\
             # TYPE gatehouse_audit_events_total counter\n",
        );
        for (kind, n) in crate::audit_log::counts() {
            out.push_str(&format!(
                "gatehouse_audit_events_total{{kind=\"{kind}\"}} {n}\n"
            ));
        }
        out.push_str(
            "# HELP gatehouse_backchannel_logout_total Back-channel logout tokens by outcome (delivered, failed after every retry, dropped: queue full or unsigned).\n\
             # TYPE gatehouse_backchannel_logout_total counter\n",
        );
        for (outcome, n) in crate::backchannel::counts() {
            let _ = writeln!(
                out,
                "gatehouse_backchannel_logout_total{{outcome=\"{outcome}\"}} {n}"
            );
        }
        let (ok, refused) = crate::admin::counts();
        let _ = writeln!(
            out,
            "# HELP gatehouse_admin_requests_total Admin API and console calls by outcome (each also audited).\n# TYPE gatehouse_admin_requests_total counter\ngatehouse_admin_requests_total{{outcome=\"ok\"}} {ok}\ngatehouse_admin_requests_total{{outcome=\"refused\"}} {refused}"
        );
        let _ = writeln!(
            out,
            "# HELP gatehouse_sql_compiles_total SQL compilation steps of the storage's connections (SQLite: authorizer checks while compiling; PostgreSQL: statements prepared for the cache). Flat under steady load: every statement comes from a cache.\n# TYPE gatehouse_sql_compiles_total counter\ngatehouse_sql_compiles_total {}",
            gauges.sql_compiles
        );
        out
    }
}

/// A Prometheus label value: backslash, quote and newline escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The migration report's figures (`gatehouse migration report`), as stored: legacy use per
/// client and dialect, the features used, the dual-run counters and differences stored.
pub fn render_migration(report: &gatehouse_domain::dual_run::MigrationReport) -> String {
    let mut out = String::with_capacity(1024);
    out.push_str("# HELP gatehouse_legacy_requests_total Requests to a legacy dialect by client (as stored: flushed every 10 s).\n# TYPE gatehouse_legacy_requests_total counter\n");
    for u in &report.usage {
        let _ = writeln!(
            out,
            "gatehouse_legacy_requests_total{{client=\"{}\",dialect=\"{}\"}} {}",
            label(&u.client_id),
            u.dialect,
            u.requests
        );
    }
    out.push_str("# HELP gatehouse_legacy_last_seen_timestamp_seconds Last request of a client in a legacy dialect.\n# TYPE gatehouse_legacy_last_seen_timestamp_seconds gauge\n");
    for u in &report.usage {
        let _ = writeln!(
            out,
            "gatehouse_legacy_last_seen_timestamp_seconds{{client=\"{}\",dialect=\"{}\"}} {}",
            label(&u.client_id),
            u.dialect,
            u.last_seen.unix_timestamp()
        );
    }
    out.push_str("# HELP gatehouse_legacy_feature_requests_total Requests using a legacy-only feature, by client and dialect.\n# TYPE gatehouse_legacy_feature_requests_total counter\n");
    for u in &report.usage {
        for (feature, n) in u.features.named() {
            let _ = writeln!(
                out,
                "gatehouse_legacy_feature_requests_total{{client=\"{}\",dialect=\"{}\",feature=\"{feature}\"}} {n}",
                label(&u.client_id),
                u.dialect
            );
        }
    }
    out.push_str("# HELP gatehouse_dual_run_comparisons_total Dual-run comparisons as stored, by dialect, endpoint and kind.\n# TYPE gatehouse_dual_run_comparisons_total counter\n");
    for c in &report.comparisons {
        let _ = writeln!(
            out,
            "gatehouse_dual_run_comparisons_total{{dialect=\"{}\",endpoint=\"{}\",kind=\"{}\"}} {}",
            label(&c.dialect),
            label(&c.endpoint),
            label(&c.kind),
            c.count
        );
    }
    let _ = writeln!(
        out,
        "# HELP gatehouse_dual_run_differences_stored Dual-run differences stored (at most --dual-run-max-differences).\n# TYPE gatehouse_dual_run_differences_stored gauge\ngatehouse_dual_run_differences_stored {}",
        report.differences_stored
    );
    let _ = writeln!(
        out,
        "# HELP gatehouse_capture_users_captured Users created or completed by credential capture.\n# TYPE gatehouse_capture_users_captured gauge\ngatehouse_capture_users_captured {}\n# HELP gatehouse_capture_users_to_capture Users marked `capture` by import who have not logged in since.\n# TYPE gatehouse_capture_users_to_capture gauge\ngatehouse_capture_users_to_capture {}",
        report.users_captured, report.users_to_capture
    );
    out
}

/// The whole exposition: the process's counters and the stored migration figures.
pub async fn exposition(state: &crate::AppState) -> String {
    let mut out = state.metrics.render(state.gauges());
    match state.read(|s| s.migration_report(None)).await {
        Ok(report) => out.push_str(&render_migration(&report)),
        Err(e) => tracing::warn!(error = %e, "metrics: the migration figures could not be read"),
    }
    out
}

/// The separate metrics listener (`--metrics-bind`): `GET /metrics` exactly as written (no
/// case folding, no percent-decoding, no trailing slash), everything else 404, so a proxy
/// rule on the path cannot be bypassed by a variant of it.
pub async fn exact_metrics(
    req: actix_web::HttpRequest,
    state: actix_web::web::Data<crate::AppState>,
) -> actix_web::HttpResponse {
    if req.method() != actix_web::http::Method::GET || req.uri().path() != "/metrics" {
        return actix_web::HttpResponse::NotFound().finish();
    }
    actix_web::HttpResponse::Ok()
        .insert_header((
            actix_web::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        ))
        .body(exposition(&state).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histogram() {
        let m = Metrics::default();
        m.observe("/token", "katana", 200, Duration::from_millis(3));
        m.observe("/token", "katana", 200, Duration::from_millis(30));
        m.hash_rejected();
        let text = m.render(Gauges {
            hash_queued: 2,
            hash_running: 1,
            hash_threads: 2,
            password_hashes: 7,
            hash_iterations: 7_000,
            sql_compiles: 12,
        });
        assert!(text.contains(
            "gatehouse_http_requests_total{route=\"/token\",dialect=\"katana\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "gatehouse_http_request_duration_seconds_bucket{route=\"/token\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "gatehouse_http_request_duration_seconds_bucket{route=\"/token\",le=\"+Inf\"} 2"
        ));
        assert!(text.contains("gatehouse_hash_queue_depth 2"));
        assert!(text.contains("gatehouse_hash_rejected_total 1"));
        assert!(text.contains("gatehouse_password_hashes_total 7"));
        assert!(text.contains("gatehouse_sql_compiles_total 12"));
    }
}
