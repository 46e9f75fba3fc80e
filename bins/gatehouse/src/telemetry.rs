//! Logs through `tracing`. Nothing secret is ever passed to a log macro: handlers log
//! endpoint, status, error id and a reason sentence, never a body or an Authorization header.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls (tests) are no-ops.
pub fn init(filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

/// Installs the global subscriber once, writing every line to `writer` instead of stdout
/// (tests capture the log to scan it for secrets). Returns whether this call installed it.
pub fn init_with_writer<W>(filter: &str, writer: W) -> bool
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true)
        .with_ansi(false)
        .with_writer(writer)
        .try_init()
        .is_ok()
}
