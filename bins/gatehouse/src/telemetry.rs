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

use std::io::Write;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::filter::{filter_fn, FilterExt};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// Whether `filter` is a log filter (`info`, `gatehouse=debug,actix_web=warn`, …).
pub fn check_filter(filter: &str) -> Result<(), String> {
    EnvFilter::try_new(filter)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Installs the global subscriber once; later calls (tests) are no-ops.
pub fn init(filter: &str) {
    let _ = install(filter, false, std::io::stdout);
}

/// Installs the global subscriber once, writing every line to `writer` instead of stdout
/// (tests capture the log to scan it for secrets). Returns whether this call installed it.
pub fn init_with_writer<W>(filter: &str, writer: W) -> bool
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    install(filter, true, writer)
}

fn install<W>(filter: &str, with_target: bool, writer: W) -> bool
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer()
        .with_target(with_target)
        .with_ansi(false)
        .with_writer(Escaping(writer))
        .with_filter(filter.and(filter_fn(|m| !is_malformed_request_noise(m))));
    let demote = Demote.with_filter(filter_fn(is_malformed_request_noise));
    tracing_subscriber::registry()
        .with(fmt)
        .with(demote)
        .try_init()
        .is_ok()
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
    use super::escape_line;

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
