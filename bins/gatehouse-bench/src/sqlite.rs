//! The durable-insert ceiling: how many single-row write transactions per second SQLite
//! commits in WAL mode with the server's pragmas, one row per `BEGIN IMMEDIATE … COMMIT`,
//! on a fresh file.

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Binary, Text};
use diesel::{Connection, RunQueryDsl, SqliteConnection};
use serde_json::{json, Value};

use crate::error::Error;
use crate::stats::median;

/// `PRAGMA synchronous`, the two settings the server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// fsync at every commit: an acknowledged commit survives power loss.
    Full,
    /// WAL fsync'd at checkpoints only: survives a process crash, not power loss.
    Normal,
}

impl Synchronous {
    /// The pragma value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
        }
    }
}

impl FromStr for Synchronous {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "full" => Ok(Self::Full),
            "normal" => Ok(Self::Normal),
            other => Err(Error::InvalidArgument(format!(
                "synchronous must be full or normal, not {other:?}"
            ))),
        }
    }
}

/// The pragmas every connection gets, as the server's storage sets them (WAL, the given
/// `synchronous`, foreign keys on, a busy timeout).
pub fn pragmas(sync: Synchronous) -> String {
    format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; PRAGMA foreign_keys = ON; \
         PRAGMA busy_timeout = 5000;",
        sync.as_str()
    )
}

/// A table shaped like the server's token rows: a 32-byte digest as primary key, a
/// session, a client, a scope and two timestamps.
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS bench_tokens (
    digest BLOB PRIMARY KEY NOT NULL,
    session_id BLOB NOT NULL,
    client_id TEXT,
    scope TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);";

/// The measured rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InsertRate {
    /// The `synchronous` setting.
    pub synchronous: Synchronous,
    /// Transactions committed.
    pub commits: u64,
    /// Wall time they took.
    pub seconds: f64,
    /// `commits / seconds`.
    pub commits_per_second: f64,
    /// Median time of one commit.
    pub p50_seconds: f64,
    /// 99th percentile time of one commit.
    pub p99_seconds: f64,
}

impl InsertRate {
    /// As a JSON object (what `gatehouse-bench sqlite-inserts` prints).
    pub fn to_json(&self) -> Value {
        json!({
            "synchronous": self.synchronous.as_str().to_ascii_lowercase(),
            "commits": self.commits,
            "seconds": self.seconds,
            "commits_per_second": self.commits_per_second,
            "p50_seconds": self.p50_seconds,
            "p99_seconds": self.p99_seconds,
        })
    }
}

/// Opens (creating) the database at `path` with the server's pragmas and the bench table.
///
/// # Errors
/// `Sqlite` if the file cannot be opened or a pragma fails.
pub fn open(path: &Path, sync: Synchronous) -> Result<SqliteConnection, Error> {
    let url = path
        .to_str()
        .ok_or_else(|| Error::InvalidArgument(format!("path is not UTF-8: {}", path.display())))?;
    let mut conn = SqliteConnection::establish(url)?;
    conn.batch_execute(&pragmas(sync))?;
    conn.batch_execute(SCHEMA)?;
    Ok(conn)
}

/// Inserts one row per write transaction into `conn` for `duration`, and returns the rate.
///
/// # Errors
/// `Sqlite` if a commit fails.
pub fn measure_on(
    conn: &mut SqliteConnection,
    sync: Synchronous,
    duration: Duration,
) -> Result<InsertRate, Error> {
    let mut latencies: Vec<Duration> = Vec::new();
    let start = Instant::now();
    let mut n: u64 = 0;
    while start.elapsed() < duration {
        let digest = ring::digest::digest(&ring::digest::SHA256, &n.to_le_bytes());
        let session = ring::digest::digest(&ring::digest::SHA256, &(n / 4).to_be_bytes());
        let issued = i64::try_from(n).unwrap_or(i64::MAX);
        let t0 = Instant::now();
        conn.immediate_transaction::<_, Error, _>(|c| {
            diesel::sql_query(
                "INSERT INTO bench_tokens (digest, session_id, client_id, scope, issued_at, \
                 expires_at) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind::<Binary, _>(digest.as_ref())
            .bind::<Binary, _>(session.as_ref().get(..16).unwrap_or_default())
            .bind::<Text, _>("bench-client")
            .bind::<Text, _>("openid profile")
            .bind::<BigInt, _>(issued)
            .bind::<BigInt, _>(issued.saturating_add(3600))
            .execute(c)?;
            Ok(())
        })?;
        latencies.push(t0.elapsed());
        n += 1;
    }
    let seconds = start.elapsed().as_secs_f64().max(f64::MIN_POSITIVE);
    latencies.sort_unstable();
    let p99 = latencies
        .len()
        .checked_sub(1)
        .and_then(|last| latencies.get(last * 99 / 100))
        .copied()
        .unwrap_or_default();
    #[expect(
        clippy::cast_precision_loss,
        reason = "a count of commits, far below 2^52"
    )]
    let commits_per_second = n as f64 / seconds;
    Ok(InsertRate {
        synchronous: sync,
        commits: n,
        seconds,
        commits_per_second,
        p50_seconds: median(&latencies).unwrap_or_default().as_secs_f64(),
        p99_seconds: p99.as_secs_f64(),
    })
}

/// Measures on a fresh file in a temporary directory (in `dir` when given, so the figure
/// is for the same file system as the server's database).
///
/// # Errors
/// `InvalidArgument` for a zero duration, `Io` or `Sqlite` otherwise.
pub fn measure(
    sync: Synchronous,
    duration: Duration,
    dir: Option<&Path>,
) -> Result<InsertRate, Error> {
    if duration.is_zero() {
        return Err(Error::InvalidArgument("seconds must be positive".into()));
    }
    let tmp = match dir {
        Some(d) => tempfile::Builder::new()
            .prefix("gatehouse-bench")
            .tempdir_in(d)?,
        None => tempfile::Builder::new()
            .prefix("gatehouse-bench")
            .tempdir()?,
    };
    let path = tmp.path().join("inserts.db");
    let mut conn = open(&path, sync)?;
    let rate = measure_on(&mut conn, sync, duration)?;
    drop(conn);
    tmp.close()?;
    Ok(rate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::sql_types::Integer;

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    #[derive(diesel::QueryableByName)]
    struct Mode {
        #[diesel(sql_type = Text)]
        journal_mode: String,
    }

    #[derive(diesel::QueryableByName)]
    struct Sync {
        #[diesel(sql_type = Integer)]
        synchronous: i32,
    }

    #[test]
    fn synchronous_parses_both_settings_and_rejects_others() {
        assert_eq!("full".parse::<Synchronous>().ok(), Some(Synchronous::Full));
        assert_eq!(
            "NORMAL".parse::<Synchronous>().ok(),
            Some(Synchronous::Normal)
        );
        assert!(matches!(
            "off".parse::<Synchronous>(),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn every_counted_commit_is_a_row_in_a_wal_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.db");
        let mut conn = open(&path, Synchronous::Normal).expect("opens");
        let mode: Mode = diesel::sql_query("PRAGMA journal_mode")
            .get_result(&mut conn)
            .expect("pragma");
        assert_eq!(mode.journal_mode, "wal");
        let sync: Sync = diesel::sql_query("PRAGMA synchronous")
            .get_result(&mut conn)
            .expect("pragma");
        assert_eq!(sync.synchronous, 1, "NORMAL is 1");
        let rate = measure_on(&mut conn, Synchronous::Normal, Duration::from_millis(200))
            .expect("measures");
        assert!(rate.commits > 0);
        let count: Count = diesel::sql_query("SELECT count(*) AS n FROM bench_tokens")
            .get_result(&mut conn)
            .expect("count");
        assert_eq!(u64::try_from(count.n).ok(), Some(rate.commits));
        assert!(rate.p99_seconds >= rate.p50_seconds);
    }

    #[test]
    fn full_sets_synchronous_full() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = open(&dir.path().join("f.db"), Synchronous::Full).expect("opens");
        let sync: Sync = diesel::sql_query("PRAGMA synchronous")
            .get_result(&mut conn)
            .expect("pragma");
        assert_eq!(sync.synchronous, 2, "FULL is 2");
    }

    #[test]
    fn zero_duration_is_an_error() {
        assert!(matches!(
            measure(Synchronous::Full, Duration::ZERO, None),
            Err(Error::InvalidArgument(_))
        ));
    }
}
