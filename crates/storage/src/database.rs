//! Which database: `--database` as a SQLite path, a `sqlite://` URL or a `postgres://` URL.
//! A PostgreSQL URL may carry a password (`postgres://user:pass@host/db` or
//! `?password=`): it reaches libpq and nothing else. `Display` and `Debug` print the URL
//! with the password replaced by `***`, and errors are scrubbed of it.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::StorageError;

/// A database to open.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file (created when missing).
    Sqlite(PathBuf),
    /// A PostgreSQL database (which must exist).
    Postgres(PgUrl),
}

/// A PostgreSQL connection URL whose password never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct PgUrl {
    url: String,
}

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS if the server insists.
    Allow,
    /// TLS if the server offers it (libpq's default).
    Prefer,
    /// TLS or no connection (the server's certificate is not checked).
    Require,
    /// TLS with a server certificate signed by a trusted CA.
    VerifyCa,
    /// As `VerifyCa`, and the host name must match the certificate.
    VerifyFull,
}

impl SslMode {
    /// libpq's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

impl FromStr for SslMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "sslmode '{other}' is not one of disable, allow, prefer, require, \
                     verify-ca, verify-full"
                ))
            }
        })
    }
}

impl Database {
    /// Parses a `--database` value: `postgres://…` or `postgresql://…` is PostgreSQL,
    /// `sqlite://PATH` or a plain path SQLite.
    ///
    /// # Errors
    /// [`StorageError::Config`] for another URL scheme or an empty value (the message never
    /// holds the value's password).
    pub fn parse(value: &str) -> Result<Self, StorageError> {
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            let url = PgUrl {
                url: value.to_owned(),
            };
            if url.authority().is_empty() && !value.contains("host=") {
                return Err(StorageError::Config(format!(
                    "{url}: a PostgreSQL URL needs a host: postgres://user:password@host:port/database"
                )));
            }
            return Ok(Database::Postgres(url));
        }
        if let Some(path) = value.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(StorageError::Config(
                    "sqlite:// needs a file path, e.g. sqlite:///var/lib/gatehouse.db".to_owned(),
                ));
            }
            return Ok(Database::Sqlite(PathBuf::from(path)));
        }
        if let Some((scheme, _)) = value.split_once("://") {
            if !scheme.is_empty()
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+')
            {
                return Err(StorageError::Config(format!(
                    "unknown database scheme '{scheme}://': use a SQLite file path, sqlite://PATH \
                     or postgres://user:password@host:port/database"
                )));
            }
        }
        if value.is_empty() {
            return Err(StorageError::Config("the database is empty".to_owned()));
        }
        Ok(Database::Sqlite(PathBuf::from(value)))
    }

    /// The same database with libpq's `sslmode` set (PostgreSQL; an `sslmode` already in the
    /// URL is kept). SQLite ignores it.
    #[must_use]
    pub fn with_sslmode(self, mode: Option<SslMode>) -> Self {
        match (self, mode) {
            (Database::Postgres(url), Some(mode)) if !url.has_param("sslmode") => {
                let sep = if url.url.contains('?') { '&' } else { '?' };
                Database::Postgres(PgUrl {
                    url: format!("{}{sep}sslmode={}", url.url, mode.as_str()),
                })
            }
            (other, _) => other,
        }
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self {
            Database::Sqlite(_) => "sqlite",
            Database::Postgres(_) => "postgres",
        }
    }
}

impl PgUrl {
    /// The URL with its password, for the driver only.
    pub(crate) fn expose(&self) -> &str {
        &self.url
    }

    fn rest(&self) -> &str {
        self.url.split_once("://").map_or("", |(_, rest)| rest)
    }

    /// `user:pass@host:port` (up to the first `/` or `?`).
    fn authority(&self) -> &str {
        let rest = self.rest();
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        &rest[..end]
    }

    fn has_param(&self, name: &str) -> bool {
        self.url.split_once('?').is_some_and(|(_, q)| {
            q.split('&')
                .any(|kv| kv.split_once('=').map_or(kv, |(k, _)| k) == name)
        })
    }

    /// The passwords in the URL (as written and percent-decoded), to scrub from messages.
    fn passwords(&self) -> Vec<String> {
        let mut found = Vec::new();
        let authority = self.authority();
        if let Some((userinfo, _)) = authority.rsplit_once('@') {
            if let Some((_, pw)) = userinfo.split_once(':') {
                found.push(pw.to_owned());
            }
        }
        if let Some((_, query)) = self.url.split_once('?') {
            for kv in query.split('&') {
                if let Some(("password", pw)) = kv.split_once('=') {
                    found.push(pw.to_owned());
                }
            }
        }
        let decoded: Vec<String> = found.iter().map(|p| percent_decode(p)).collect();
        found.extend(decoded);
        found.retain(|p| !p.is_empty());
        found.sort_by_key(|p| std::cmp::Reverse(p.len()));
        found.dedup();
        found
    }

    /// `error` with every occurrence of the password replaced by `***`.
    pub(crate) fn scrub(&self, error: StorageError) -> StorageError {
        let text = error.to_string();
        let passwords = self.passwords();
        if passwords.iter().any(|p| text.contains(p.as_str())) {
            let mut clean = text;
            for p in &passwords {
                clean = clean.replace(p.as_str(), "***");
            }
            StorageError::Config(clean)
        } else {
            error
        }
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|b| (*b as char).to_digit(16)),
                bytes.get(i + 2).and_then(|b| (*b as char).to_digit(16)),
            ) {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl fmt::Display for PgUrl {
    /// The URL with the password (in the user info or a `password=` parameter) as `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (scheme, rest) = self.url.split_once("://").unwrap_or(("postgres", ""));
        let authority = self.authority();
        let after = &rest[authority.len()..];
        write!(f, "{scheme}://")?;
        match authority.rsplit_once('@') {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, _)) => write!(f, "{user}:***@{host}")?,
                None => write!(f, "{userinfo}@{host}")?,
            },
            None => f.write_str(authority)?,
        }
        match after.split_once('?') {
            Some((path, query)) => {
                write!(f, "{path}?")?;
                for (i, kv) in query.split('&').enumerate() {
                    if i > 0 {
                        f.write_str("&")?;
                    }
                    match kv.split_once('=') {
                        Some(("password", _)) => f.write_str("password=***")?,
                        _ => f.write_str(kv)?,
                    }
                }
                Ok(())
            }
            None => f.write_str(after),
        }
    }
}

impl fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgUrl({self})")
    }
}

impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{}", path.display()),
            Database::Postgres(url) => write!(f, "{url}"),
        }
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Database::Postgres(url) => f.debug_tuple("Postgres").field(url).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_urls() {
        assert_eq!(
            Database::parse("gatehouse.db").unwrap(),
            Database::Sqlite(PathBuf::from("gatehouse.db"))
        );
        assert_eq!(
            Database::parse("sqlite:///var/lib/g.db").unwrap(),
            Database::Sqlite(PathBuf::from("/var/lib/g.db"))
        );
        assert_eq!(
            Database::parse("postgres://u:p@h:5/db").unwrap().backend(),
            "postgres"
        );
        assert_eq!(
            Database::parse("postgresql://h/db").unwrap().backend(),
            "postgres"
        );
        let e = Database::parse("mysql://root:hunter2@h/db")
            .unwrap_err()
            .to_string();
        assert!(e.contains("mysql://") && !e.contains("hunter2"), "{e}");
        assert!(Database::parse("").is_err());
        assert!(Database::parse("sqlite://").is_err());
        assert!(Database::parse("postgres:///db").is_err());
    }

    #[test]
    fn passwords_never_print() {
        let db = Database::parse(
            "postgres://gate:s3cr%2Ft@db.example:5432/gh?password=other&sslmode=disable",
        )
        .unwrap();
        for text in [db.to_string(), format!("{db:?}"), format!("{db:#?}")] {
            assert!(!text.contains("s3cr"), "{text}");
            assert!(!text.contains("other"), "{text}");
            assert!(text.contains("gate:***@db.example:5432/gh"), "{text}");
            assert!(text.contains("password=***&sslmode=disable"), "{text}");
        }
        let Database::Postgres(url) = &db else {
            panic!("postgres")
        };
        let scrubbed = url
            .scrub(StorageError::Writer(
                "failed for s3cr/t and s3cr%2Ft".to_owned(),
            ))
            .to_string();
        assert!(!scrubbed.contains("s3cr"), "{scrubbed}");
    }

    #[test]
    fn sslmode_is_added_once() {
        let db = Database::parse("postgres://u@h/db")
            .unwrap()
            .with_sslmode(Some(SslMode::Require));
        assert_eq!(db.to_string(), "postgres://u@h/db?sslmode=require");
        let kept = Database::parse("postgres://u@h/db?sslmode=disable")
            .unwrap()
            .with_sslmode(Some(SslMode::Require));
        assert_eq!(kept.to_string(), "postgres://u@h/db?sslmode=disable");
        assert_eq!("verify-full".parse::<SslMode>(), Ok(SslMode::VerifyFull));
        assert!("sure".parse::<SslMode>().is_err());
    }
}
