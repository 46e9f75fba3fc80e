//! Logs through `tracing`. Nothing secret is ever passed to a log macro: handlers log
//! endpoint, status, error id and a reason sentence, never a body or an Authorization header.
//!
//! Two guards sit between every event and the output:
//!
//! * **Escaping (CWE-117).** Every line is written through [`Escaping`]: each control
//!   character (C0 including CR, LF, TAB and ESC, DEL, C1) and the Unicode line and paragraph
//!   separators inside a line are written as `\u{..}` escapes, whatever field they came from
//!   (a form key, a payload key, an XML name echoed in a reason). Only the newline that ends
//!   the line stays, so a caller can neither forge a line nor send terminal escapes.
//! * **Malformed-request noise.** actix-http reports every malformed request it drops (a bad
//!   request line, a broken chunk) as an ERROR event of `actix_http::h1`: anyone could flood
//!   the log at ERROR. Those events are re-emitted at DEBUG under the target
//!   `gatehouse::malformed_request` (shown with `--log debug`) and never at ERROR.
//!
//! With `--otlp-endpoint`, one span per request ([`request_span`], target
//! [`REQUEST_TARGET`]) goes to an OpenTelemetry collector over OTLP/HTTP (protobuf), batched
//! on the SDK's own thread. Only those spans are exported (no log event becomes a span
//! event), and the log never shows them. Their attributes are the route *template* (never
//! the path or query as sent), the dialect, the client id as presented, the status and the
//! storage time: nothing a caller sends but a client id reaches a collector.

use std::io::Write;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::filter::{filter_fn, FilterExt};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// Whether `filter` is a log filter (`info`, `gatehouse=debug,actix_web=warn`, …).
///
/// # Errors
/// Why it is not (the filter parser's message).
pub fn check_filter(filter: &str) -> Result<(), String> {
    EnvFilter::try_new(filter)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// The target of the per-request spans: exported with `--otlp-endpoint`, never logged.
pub const REQUEST_TARGET: &str = "gatehouse::request";

/// Installs the global subscriber once; later calls (tests) are no-ops. With `otlp`, the
/// request spans are exported there until the returned guard is dropped (which sends what
/// is still buffered).
///
/// # Errors
/// The exporter could not be built (an endpoint that is no URL).
pub fn init(filter: &str, otlp: Option<&str>) -> Result<Traces, String> {
    let traces = match otlp {
        Some(endpoint) => Traces::export_to(endpoint)?,
        None => Traces(None),
    };
    let _ = install(filter, false, std::io::stdout, traces.layer());
    Ok(traces)
}

/// Installs the global subscriber once, writing every line to `writer` instead of stdout
/// (tests capture the log to scan it for secrets). Returns whether this call installed it.
pub fn init_with_writer<W>(filter: &str, writer: W) -> bool
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    install(filter, true, writer, None)
}

type OtelLayer = tracing_opentelemetry::OpenTelemetryLayer<
    tracing_subscriber::Registry,
    opentelemetry_sdk::trace::Tracer,
>;

fn install<W>(filter: &str, with_target: bool, writer: W, otel: Option<OtelLayer>) -> bool
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let otel = otel.map(|layer| layer.with_filter(filter_fn(is_request_span)));
    let fmt = tracing_subscriber::fmt::layer()
        .with_target(with_target)
        .with_ansi(false)
        .with_writer(Escaping(writer))
        .with_filter(filter.and(filter_fn(|m| {
            !is_malformed_request_noise(m) && !is_request_span(m)
        })));
    let demote = Demote.with_filter(filter_fn(is_malformed_request_noise));
    tracing_subscriber::registry()
        .with(otel)
        .with(fmt)
        .with(demote)
        .try_init()
        .is_ok()
}

fn is_request_span(m: &Metadata<'_>) -> bool {
    m.is_span() && m.target() == REQUEST_TARGET
}

/// The span of one request: `"{METHOD} {route}"`, the route template, the dialect, and
/// fields recorded as the request goes ([`record_client`], [`finish_request_span`]).
/// Disabled (free) unless traces are exported.
pub fn request_span(method: &str, route: &str, dialect: &str) -> tracing::Span {
    tracing::info_span!(
        target: REQUEST_TARGET,
        "request",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.request.method = method,
        http.route = route,
        gatehouse.dialect = dialect,
        gatehouse.client_id = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        gatehouse.storage_us = tracing::field::Empty,
    )
}

/// Puts the client id a caller presented on the current request span.
pub fn record_client(client_id: &str) {
    tracing::Span::current().record("gatehouse.client_id", client_id);
}

/// Records the answer's status and the request's storage time on its span (a 5xx marks it
/// an error).
pub fn finish_request_span(span: &tracing::Span, status: u16, storage: std::time::Duration) {
    // As i64: tracing-opentelemetry exports a u64 field as a string.
    span.record("http.response.status_code", i64::from(status));
    span.record(
        "gatehouse.storage_us",
        i64::try_from(storage.as_micros()).unwrap_or(i64::MAX),
    );
    if status >= 500 {
        span.record("otel.status_code", "ERROR");
    }
}

/// The trace exporter, when `--otlp-endpoint` is set; dropping it flushes and stops it.
#[derive(Debug)]
pub struct Traces(Option<opentelemetry_sdk::trace::SdkTracerProvider>);

impl Traces {
    /// An OTLP/HTTP exporter to `endpoint` (`/v1/traces` appended unless the URL ends so).
    fn export_to(endpoint: &str) -> Result<Self, String> {
        use opentelemetry_otlp::WithExportConfig as _;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(traces_url(endpoint))
            .with_timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| format!("otlp-endpoint: {e}"))?;
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name("gatehouse")
            .with_attribute(opentelemetry::KeyValue::new(
                "service.version",
                env!("CARGO_PKG_VERSION"),
            ))
            .build();
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build();
        Ok(Traces(Some(provider)))
    }

    fn layer(&self) -> Option<OtelLayer> {
        use opentelemetry::trace::TracerProvider as _;
        let provider = self.0.as_ref()?;
        Some(
            tracing_opentelemetry::layer()
                .with_tracer(provider.tracer("gatehouse"))
                .with_location(false)
                .with_threads(false)
                .with_target(false)
                .with_level(false)
                .with_tracked_inactivity(false),
        )
    }
}

impl Drop for Traces {
    fn drop(&mut self) {
        if let Some(provider) = self.0.take() {
            if let Err(e) = provider.shutdown() {
                eprintln!("gatehouse: traces not all sent: {e}");
            }
        }
    }
}

/// The OTLP/HTTP traces URL of a collector's base URL.
pub fn traces_url(endpoint: &str) -> String {
    let base = endpoint.trim_end_matches('/');
    if base.ends_with("/v1/traces") {
        base.to_owned()
    } else {
        format!("{base}/v1/traces")
    }
}

/// actix-http's ERROR events about requests it could not parse or finish.
fn is_malformed_request_noise(m: &Metadata<'_>) -> bool {
    *m.level() == Level::ERROR && m.target().starts_with("actix_http::h1")
}

/// Re-emits actix-http's malformed-request errors at DEBUG.
struct Demote;

impl<S: Subscriber> Layer<S> for Demote {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut message = Message(String::new());
        event.record(&mut message);
        tracing::debug!(
            target: "gatehouse::malformed_request",
            origin = event.metadata().target(),
            "{}",
            message.0
        );
    }
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write as _;
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

/// A [`MakeWriter`] whose writers escape control characters inside each line.
#[derive(Debug, Clone)]
pub struct Escaping<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Escaping<M> {
    type Writer = EscapingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        EscapingWriter(self.0.make_writer())
    }
}

/// See [`Escaping`]. The fmt layer writes each event as one buffer, so each `write` is one
/// line.
#[derive(Debug)]
pub struct EscapingWriter<W>(W);

impl<W: Write> Write for EscapingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write_all(escape_line(buf).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// `buf` with every control character (and U+2028, U+2029) written as a `\u{..}` escape,
/// except one final newline. Invalid UTF-8 becomes U+FFFD.
pub fn escape_line(buf: &[u8]) -> String {
    let (body, newline) = match buf.strip_suffix(b"\n") {
        Some(body) => (body, true),
        None => (buf, false),
    };
    let text = String::from_utf8_lossy(body);
    let mut out = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    if newline {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{escape_line, traces_url};

    #[test]
    fn the_traces_url_is_the_collector_base_and_the_signal_path() {
        assert_eq!(traces_url("http://c:4318"), "http://c:4318/v1/traces");
        assert_eq!(traces_url("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(
            traces_url("https://c/otlp/v1/traces"),
            "https://c/otlp/v1/traces"
        );
    }

    #[test]
    fn control_characters_are_escaped_and_the_line_end_kept() {
        assert_eq!(escape_line(b"plain line\n"), "plain line\n");
        assert_eq!(
            escape_line(b"a\r\n2026-01-01T00:00:00Z  INFO forged\n"),
            "a\\u{d}\\u{a}2026-01-01T00:00:00Z  INFO forged\n"
        );
        assert_eq!(
            escape_line(b"\x1b[31mred\t\x7f"),
            "\\u{1b}[31mred\\u{9}\\u{7f}"
        );
        assert_eq!(
            escape_line("x\u{2028}y\u{85}z\n".as_bytes()),
            "x\\u{2028}y\\u{85}z\n"
        );
        assert_eq!(escape_line(b"\xff\n"), "\u{fffd}\n");
    }
}
