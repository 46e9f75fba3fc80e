//! Bulk data for the scale runs: N users and N live access tokens (each on its own session),
//! written through the server's own storage crate ([`gatehouse_storage::Storage`] and the
//! domain's [`Store`] interface) in large write transactions, so the rows are exactly what
//! the server itself would store. A sample of the tokens is written to a file for the
//! introspection load.

use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use gatehouse_domain::clock::{Clock, SystemClock};
use gatehouse_domain::model::{AccessToken, Session, User, UserFlags};
use gatehouse_domain::secret::TokenDigest;
use gatehouse_domain::Store;
use gatehouse_storage::{Storage, StorageOptions, Synchronous};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::error::Error;

/// Users and tokens per write transaction.
pub const BATCH: u64 = 20_000;
/// Largest count accepted (keeps a typo from filling the disk).
pub const MAX_ROWS: u64 = 10_000_000;
/// Iterations of the seeded users' password hash (nobody logs in as them).
const SEED_ITERATIONS: u32 = 1_000;

/// What to seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedPlan {
    /// Users `scale-user-<i>`.
    pub users: u64,
    /// Live access tokens, one session each, owned by users round-robin.
    pub tokens: u64,
    /// The client the tokens are issued to (must exist).
    pub client_id: String,
    /// Token lifetime from now, in seconds.
    pub lifetime_secs: i64,
    /// Tokens to write to the sample file (spread evenly over all tokens).
    pub sample: u64,
}

impl SeedPlan {
    fn check(&self) -> Result<(), Error> {
        if self.users == 0 && self.tokens > 0 {
            return Err(Error::InvalidArgument(
                "tokens need at least one user".into(),
            ));
        }
        if self.users > MAX_ROWS || self.tokens > MAX_ROWS {
            return Err(Error::InvalidArgument(format!(
                "at most {MAX_ROWS} users and tokens"
            )));
        }
        if self.lifetime_secs <= 0 {
            return Err(Error::InvalidArgument("lifetime must be positive".into()));
        }
        if self.client_id.is_empty() {
            return Err(Error::InvalidArgument("client id is empty".into()));
        }
        Ok(())
    }
}

/// What was seeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedReport {
    /// Users written.
    pub users: u64,
    /// Tokens (and sessions) written.
    pub tokens: u64,
    /// Tokens written to the sample file.
    pub sampled: u64,
}

impl SeedReport {
    /// As JSON (what `gatehouse-bench seed` prints).
    pub fn to_json(&self) -> Value {
        json!({ "users": self.users, "tokens": self.tokens, "sampled": self.sampled })
    }
}

/// The token string of seeded token `i`: 32 bytes (SHA-256 of a fixed label and `i`) as
/// base64url without padding, the shape of the server's own tokens.
pub fn token(i: u64) -> String {
    let mut input = b"gatehouse-bench-scale-token".to_vec();
    input.extend_from_slice(&i.to_le_bytes());
    URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, &input))
}

fn user_id(i: u64) -> Uuid {
    Uuid::from_u128(0x5ca1_e000_0000_4000_8000_0000_0000_0000 | u128::from(i))
}

fn session_id(i: u64) -> Uuid {
    Uuid::from_u128(0x5e55_0000_0000_4000_9000_0000_0000_0000 | u128::from(i))
}

fn password_hash() -> Result<String, Error> {
    let salt = *b"scale-user-salt!";
    let hash = crate::pbkdf2::derive(SEED_ITERATIONS, &salt, b"scale-user-password")?;
    Ok(format!(
        "pbkdf2-sha256${SEED_ITERATIONS}${}${}",
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(hash)
    ))
}

fn storage_error(e: impl std::fmt::Display) -> Error {
    Error::Sqlite(e.to_string())
}

/// Seeds `plan` into the database at `db` (migrated and opened by the storage crate), and
/// writes the sample of token strings, one a line, to `sample_out`.
///
/// # Errors
/// `InvalidArgument` for an impossible plan, `Sqlite` if storage refuses a batch (for
/// example an unknown client, or users that already exist under other ids), `Io` for the
/// sample file.
pub fn seed(db: &Path, plan: &SeedPlan, sample_out: Option<&Path>) -> Result<SeedReport, Error> {
    plan.check()?;
    // A SQLite path, or a postgres:// URL (the scale rows on PostgreSQL).
    let database = match db.to_str() {
        Some(text) => gatehouse_storage::Database::parse(text).map_err(storage_error)?,
        None => gatehouse_storage::Database::Sqlite(db.to_owned()),
    };
    let store = Storage::connect(
        &database,
        StorageOptions {
            synchronous: Synchronous::Normal,
            ..StorageOptions::default()
        },
    )
    .map_err(storage_error)?;
    let now = SystemClock.now();
    let expires = now + time::Duration::seconds(plan.lifetime_secs);
    let hash = password_hash()?;

    let mut start = 0;
    while start < plan.users {
        let end = (start + BATCH).min(plan.users);
        let users: Vec<User> = (start..end)
            .map(|i| User {
                id: user_id(i),
                user_name: format!("scale-user-{i}"),
                password_hash: hash.clone(),
                flags: UserFlags::default(),
                created_at: now,
                profile: Default::default(),
            })
            .collect();
        store
            .write(move |tx| {
                for u in &users {
                    tx.upsert_user(u)?;
                }
                Ok(())
            })
            .map_err(storage_error)?;
        start = end;
    }

    let stride = match plan.sample {
        0 => u64::MAX,
        s => (plan.tokens / s).max(1),
    };
    let mut sample = Vec::new();
    let mut start = 0;
    while start < plan.tokens {
        let end = (start + BATCH).min(plan.tokens);
        let mut rows = Vec::with_capacity(usize::try_from(end - start).unwrap_or(0));
        for i in start..end {
            let t = token(i);
            let user = Some(user_id(i % plan.users));
            let session = Session {
                id: session_id(i),
                client_id: Some(plan.client_id.clone()),
                user_id: user,
                client_key: None,
                caller_ip: Some("127.0.0.1".to_owned()),
                created_at: now,
                last_used_at: now,
                ended_at: None,
                parent_id: None,
                source_token: None,
                expires_at: None,
                grant: None,
            };
            let access = AccessToken {
                digest: TokenDigest::of(&t),
                session_id: session.id,
                client_id: Some(plan.client_id.clone()),
                user_id: user,
                scope: "openid profile".to_owned(),
                issued_at: now,
                expires_at: expires,
                revoked_at: None,
            };
            if i % stride == 0 && (sample.len() as u64) < plan.sample {
                sample.push(t);
            }
            rows.push((session, access));
        }
        store
            .write(move |tx| {
                for (s, a) in &rows {
                    tx.insert_session(s)?;
                    tx.insert_access_token(a)?;
                }
                Ok(())
            })
            .map_err(storage_error)?;
        start = end;
    }

    if let Some(path) = sample_out {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        for t in &sample {
            writeln!(f, "{t}")?;
        }
        f.flush()?;
    }
    Ok(SeedReport {
        users: plan.users,
        tokens: plan.tokens,
        sampled: sample.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_domain::model::{Client, GrantSet};
    use gatehouse_domain::ReadTx;

    fn plan(users: u64, tokens: u64, sample: u64) -> SeedPlan {
        SeedPlan {
            users,
            tokens,
            client_id: "bench-client".into(),
            lifetime_secs: 3600,
            sample,
        }
    }

    #[test]
    fn token_has_the_shape_of_a_server_token_and_is_deterministic() {
        assert_eq!(token(7).len(), 43);
        assert_eq!(token(7), token(7));
        assert_ne!(token(7), token(8));
        assert!(token(1)
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    #[test]
    fn impossible_plans_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("x.db");
        assert!(matches!(
            seed(&db, &plan(0, 5, 0), None),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            seed(&db, &plan(MAX_ROWS + 1, 0, 0), None),
            Err(Error::InvalidArgument(_))
        ));
        let mut p = plan(1, 1, 0);
        p.lifetime_secs = 0;
        assert!(matches!(
            seed(&db, &p, None),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn unknown_client_is_a_storage_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("x.db");
        assert!(matches!(
            seed(&db, &plan(2, 3, 0), None),
            Err(Error::Sqlite(_))
        ));
    }

    #[test]
    fn seeded_rows_are_readable_through_the_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("s.db");
        {
            let store = Storage::open(&db, StorageOptions::default()).expect("opens");
            let client = Client {
                client_id: "bench-client".into(),
                secret_hash: None,
                grants: GrantSet::parse_names("client_credentials").expect("grants"),
                scope: "openid profile".into(),
                redirect_url: None,
                broker_id: None,
                access_token_lifetime: None,
                refresh_token_lifetime: None,
                introspect_any: false,
                redirect_uris: Vec::new(),
                consent_required: false,
                client_name: None,
                access_token_format: Default::default(),
                signing: Default::default(),
                jwks: None,
            };
            store
                .write(move |tx| tx.upsert_client(&client))
                .expect("client");
        }
        let out = dir.path().join("sample.txt");
        let report = seed(&db, &plan(3, 2 * BATCH + 5, 4), Some(&out)).expect("seeds");
        assert_eq!(report.tokens, 2 * BATCH + 5);
        assert_eq!(report.sampled, 4);
        let sample = std::fs::read_to_string(&out).expect("sample");
        let lines: Vec<&str> = sample.lines().collect();
        assert_eq!(lines.len(), 4);
        let store = Storage::open(&db, StorageOptions::default()).expect("reopens");
        let last = token(2 * BATCH + 4);
        let found = store
            .read(move |tx: &mut dyn ReadTx| {
                let a = tx.access_token(&TokenDigest::of(&last))?;
                let u = tx.user_by_name("scale-user-2")?;
                let s = tx.access_token(&TokenDigest::of(lines_first()))?;
                Ok((a, u, s))
            })
            .expect("reads");
        let (a, u, s) = found;
        let a = a.expect("last token stored");
        assert_eq!(a.client_id.as_deref(), Some("bench-client"));
        assert!(u.is_some(), "users stored");
        assert!(s.is_some(), "first sampled token stored");
        assert_eq!(lines.first().copied(), Some(lines_first()));
    }

    fn lines_first() -> &'static str {
        static FIRST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        FIRST.get_or_init(|| token(0))
    }
}
