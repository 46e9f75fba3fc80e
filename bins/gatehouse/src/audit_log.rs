//! `--audit-log PATH|-`: the security events of [`gatehouse_domain::audit`] as JSON lines,
//! and their counts for `/metrics` (`gatehouse_audit_events_total{kind}`, counted with or
//! without a file).
//!
//! Each line is `{"ts": RFC 3339, "pid": …, "event": kind, …the event's fields}` (schema in
//! docs/operations.md), written with one `write` on a file opened `O_APPEND` (so the server
//! and a command line appending at once never interleave inside a line) and `fdatasync`ed
//! before the operation returns: an acknowledged event survives a crash. When the file passes
//! `--audit-log-max-bytes` it is renamed `PATH.1` (older ones shift up to `PATH.5`, the
//! oldest dropped) and a new one is started.

use std::fs::File;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use std::sync::Arc;

use gatehouse_domain::audit::{AuditEvent, AuditSink};
use gatehouse_domain::clock::Clock;

/// Rotated files kept.
const KEEP: usize = 5;

static COUNTS: [AtomicU64; AuditEvent::KINDS.len()] =
    [const { AtomicU64::new(0) }; AuditEvent::KINDS.len()];

/// Events recorded by this process, by kind (for `/metrics`), in [`AuditEvent::KINDS`] order.
pub fn counts() -> Vec<(&'static str, u64)> {
    AuditEvent::KINDS
        .iter()
        .zip(&COUNTS)
        .map(|(k, c)| (*k, c.load(Ordering::Relaxed)))
        .collect()
}

fn count(kind: &str) {
    if let Some(i) = AuditEvent::KINDS.iter().position(|k| *k == kind) {
        COUNTS[i].fetch_add(1, Ordering::Relaxed);
    }
}

enum Target {
    None,
    Stdout,
    File { path: PathBuf, file: File, max: u64 },
}

/// The sink: counts every event, writes it when a target is configured.
pub struct AuditLog {
    target: Mutex<Target>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog").finish_non_exhaustive()
    }
}

fn open_append(path: &std::path::Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

fn numbered(path: &std::path::Path, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

impl AuditLog {
    /// `path`: `None` counts only, `-` writes to stdout, else appends to the file (created
    /// with mode 0600).
    ///
    /// # Errors
    /// The file cannot be opened.
    pub fn open(
        path: Option<&std::path::Path>,
        max_bytes: u64,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, String> {
        let target = match path {
            None => Target::None,
            Some(p) if p.as_os_str() == "-" => Target::Stdout,
            Some(p) => Target::File {
                file: open_append(p).map_err(|e| format!("audit log {}: {e}", p.display()))?,
                path: p.to_owned(),
                max: max_bytes,
            },
        };
        Ok(Self {
            target: Mutex::new(target),
            clock,
        })
    }

    /// A sink that only counts.
    pub fn counting(clock: Arc<dyn Clock>) -> Self {
        Self {
            target: Mutex::new(Target::None),
            clock,
        }
    }

    fn line(&self, event: &AuditEvent) -> String {
        let mut value = serde_json::to_value(event).unwrap_or_default();
        if let serde_json::Value::Object(fields) = &mut value {
            let ts = self
                .clock
                .now()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            fields.insert("ts".to_owned(), ts.into());
            fields.insert("pid".to_owned(), std::process::id().into());
        }
        let mut line = value.to_string();
        line.push('\n');
        line
    }

    fn write(target: &mut Target, line: &str) -> std::io::Result<()> {
        match target {
            Target::None => Ok(()),
            Target::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(line.as_bytes())?;
                out.flush()
            }
            Target::File { path, file, max } => {
                if file.metadata()?.len() >= *max {
                    for n in (1..KEEP).rev() {
                        let _ = std::fs::rename(numbered(path, n), numbered(path, n + 1));
                    }
                    std::fs::rename(&*path, numbered(path, 1))?;
                    *file = open_append(path)?;
                }
                file.write_all(line.as_bytes())?;
                file.sync_data()
            }
        }
    }
}

impl AuditSink for AuditLog {
    fn record(&self, event: &AuditEvent) {
        count(event.kind());
        let line = self.line(event);
        let mut target = self.target.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = Self::write(&mut target, &line) {
            tracing::error!(error = %e, kind = event.kind(), "could not write the audit log");
        }
    }
}

/// At most this many bytes of the end of the audit file are read for the admin API's
/// `/admin/v1/audit` and the console (about 4,000 events of ~250 bytes).
pub const TAIL_BYTES: u64 = 1024 * 1024;

/// The newest `limit` events of the audit file at `path` (newest first), read from its last
/// [`TAIL_BYTES`]: the recent trail for the admin API and console. A partial first line
/// (cut by the window) and lines that are not JSON objects are skipped.
///
/// # Errors
/// The file cannot be read.
pub fn tail(path: &std::path::Path, limit: usize) -> std::io::Result<Vec<serde_json::Value>> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let start = len.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::with_capacity((len - start) as usize);
    file.take(TAIL_BYTES).read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.lines().collect();
    if start > 0 && !lines.is_empty() {
        lines.remove(0);
    }
    Ok(lines
        .iter()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(serde_json::Value::is_object)
        .take(limit)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_is_newest_first_and_skips_a_cut_line() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("audit.jsonl");
        let mut text = String::new();
        for i in 0..3 {
            text.push_str(&format!("{{\"event\":\"admin_action\",\"n\":{i}}}\n"));
        }
        text.push_str("not json\n");
        std::fs::write(&path, &text).expect("write");
        let events = tail(&path, 2).expect("tail");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0]["n"], 2);
        assert_eq!(events[1]["n"], 1);
        // A file longer than the window: the cut first line is dropped, not misread.
        let long = "x".repeat(TAIL_BYTES as usize) + "\n{\"n\":9}\n";
        std::fs::write(&path, long).expect("write");
        let events = tail(&path, 10).expect("tail");
        assert_eq!(events, vec![serde_json::json!({"n": 9})]);
    }
}
