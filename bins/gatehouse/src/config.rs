//! Server configuration: command-line flags, then `GATEHOUSE_*` environment variables (both
//! through clap), then a TOML config file, then the built-in defaults.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use time::UtcOffset;

/// Flags of `gatehouse serve` (and the shared ones of the other commands). Every one is
/// optional so that an absent flag falls through to the environment, the file, the default.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address and port to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "GATEHOUSE_BIND", value_name = "ADDR:PORT")]
    pub bind: Option<SocketAddr>,
    /// Load the demo data (idempotent) before serving
    #[arg(long, env = "GATEHOUSE_DEMO")]
    pub demo: bool,
    /// PBKDF2-HMAC-SHA256 iterations for new password hashes [default: 600000]
    #[arg(long, env = "GATEHOUSE_HASH_ITERATIONS", value_name = "N")]
    pub hash_iterations: Option<u32>,
    /// Threads hashing passwords [default: number of cores]
    #[arg(long, env = "GATEHOUSE_HASH_THREADS", value_name = "N")]
    pub hash_threads: Option<usize>,
    /// Password checks allowed to wait for a hash thread; past it, 503 [default: 64]
    #[arg(long, env = "GATEHOUSE_HASH_QUEUE", value_name = "N")]
    pub hash_queue: Option<usize>,
    /// Access token lifetime in seconds [default: 1200]
    #[arg(long, env = "GATEHOUSE_ACCESS_TOKEN_LIFETIME", value_name = "SECONDS")]
    pub access_token_lifetime: Option<i64>,
    /// Refresh token lifetime in seconds [default: 2592000]
    #[arg(long, env = "GATEHOUSE_REFRESH_TOKEN_LIFETIME", value_name = "SECONDS")]
    pub refresh_token_lifetime: Option<i64>,
    /// Authorization code and one-time code lifetime in seconds [default: 60]
    #[arg(long, env = "GATEHOUSE_CODE_LIFETIME", value_name = "SECONDS")]
    pub code_lifetime: Option<i64>,
    /// Seconds during which a just-rotated refresh token may be presented again by a
    /// concurrent request without ending the session [default: 0, off]
    #[arg(long, env = "GATEHOUSE_REFRESH_GRACE", value_name = "SECONDS")]
    pub refresh_grace: Option<i64>,
    /// UTC offset of the member dialect's local `ExpireTime`, e.g. +10:00 [default: +00:00]
    #[arg(long, env = "GATEHOUSE_DISPLAY_OFFSET", value_name = "+HH:MM", value_parser = parse_offset)]
    pub display_offset: Option<UtcOffset>,
    /// Reverse proxies whose X-Forwarded-For (and Windows authentication header) are trusted;
    /// comma separated IP addresses
    #[arg(
        long,
        env = "GATEHOUSE_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_name = "IP,..."
    )]
    pub trusted_proxies: Option<Vec<IpAddr>>,
    /// Header in which a trusted authenticating proxy passes the Windows user name
    /// (e.g. X-Remote-User); unset disables `WindowsAuthentication`
    #[arg(long, env = "GATEHOUSE_WINDOWS_AUTH_HEADER", value_name = "HEADER")]
    pub windows_auth_header: Option<String>,
    /// Largest request body accepted, in bytes [default: 65536]
    #[arg(long, env = "GATEHOUSE_BODY_LIMIT", value_name = "BYTES")]
    pub body_limit: Option<usize>,
    /// HTTP worker threads [default: number of cores]
    #[arg(long, env = "GATEHOUSE_WORKERS", value_name = "N")]
    pub workers: Option<usize>,
    /// Durability: `full` fsyncs every commit (SQLite synchronous=FULL, PostgreSQL
    /// synchronous_commit=on); `normal` may lose the last commits on power loss (SQLite: never
    /// on a process crash) [default: full]
    #[arg(long, env = "GATEHOUSE_SYNCHRONOUS", value_name = "full|normal")]
    pub synchronous: Option<Synchronous>,
    /// Seconds a client has to send its request head, and again its body; past it the
    /// connection is answered 408 or 400 and closed (slow clients) [default: 10]
    #[arg(long, env = "GATEHOUSE_REQUEST_TIMEOUT", value_name = "SECONDS")]
    pub request_timeout: Option<u64>,
    /// Database connections for reads (the pool; writes have one more) [default: 8]
    #[arg(long, env = "GATEHOUSE_DATABASE_POOL_SIZE", value_name = "N")]
    pub database_pool_size: Option<u32>,
    /// PostgreSQL: longest a statement may run, lock waits included [default: 5]
    #[arg(
        long,
        env = "GATEHOUSE_DATABASE_STATEMENT_TIMEOUT",
        value_name = "SECONDS"
    )]
    pub database_statement_timeout: Option<u64>,
    /// PostgreSQL: libpq's sslmode (disable, allow, prefer, require, verify-ca, verify-full);
    /// an sslmode in the URL wins [default: libpq's, prefer]
    #[arg(long, env = "GATEHOUSE_DATABASE_SSLMODE", value_name = "MODE")]
    pub database_sslmode: Option<String>,
    /// Failed logins (per account, per address) before the first lock [default: 5]
    #[arg(long, env = "GATEHOUSE_LOCKOUT_FREE_FAILURES", value_name = "N")]
    pub lockout_free_failures: Option<u32>,
    /// First lock after the free failures, doubled by each further one [default: 1]
    #[arg(long, env = "GATEHOUSE_LOCKOUT_INITIAL_DELAY", value_name = "SECONDS")]
    pub lockout_initial_delay: Option<i64>,
    /// Longest lock [default: 900]
    #[arg(long, env = "GATEHOUSE_LOCKOUT_MAX_DELAY", value_name = "SECONDS")]
    pub lockout_max_delay: Option<i64>,
    /// Client that stands in for v1 requests that name no client (a legacy proxy that
    /// supplied its own); its grants and scope apply. Unset: such requests are refused
    #[arg(long, env = "GATEHOUSE_V1_DEFAULT_CLIENT", value_name = "CLIENT_ID")]
    pub v1_default_client: Option<String>,
    /// Space-separated scope of tokens from Katana's `/token` without a client
    /// [default: empty]
    #[arg(long, env = "GATEHOUSE_KATANA_DEFAULT_SCOPE", value_name = "SCOPE")]
    pub katana_default_scope: Option<String>,
    /// Absolute lifetime of a session from its first grant, in seconds: no refresh reaches
    /// past it [default: 2592000, 30 days]
    #[arg(long, env = "GATEHOUSE_SESSION_MAX_LIFETIME", value_name = "SECONDS")]
    pub session_max_lifetime: Option<i64>,
    /// Let a token obtained with a one-time code issue further one-time codes (never past
    /// the first session's end) [default: off]
    #[arg(long, env = "GATEHOUSE_ONETIME_CHAIN")]
    pub onetime_chain: bool,
    /// Windows domains whose users may log in through the authenticating proxy, comma
    /// separated, NetBIOS or DNS names (CORP,corp.example); other principals are refused
    #[arg(
        long,
        env = "GATEHOUSE_WINDOWS_DOMAINS",
        value_delimiter = ',',
        value_name = "DOMAIN,..."
    )]
    pub windows_domains: Option<Vec<String>>,
    /// Serve /metrics on this separate address (exact path only) instead of the main one
    #[arg(long, env = "GATEHOUSE_METRICS_BIND", value_name = "ADDR:PORT")]
    pub metrics_bind: Option<SocketAddr>,
    /// Serve the help pages (/Help) and the OpenAPI document (/openapi.json) [default: on]
    #[arg(long, env = "GATEHOUSE_HELP_PAGES", value_name = "on|off")]
    pub help_pages: Option<OnOff>,
    /// Issuer identifier of the standards surface (RFC 8414 metadata, cookies' Secure flag),
    /// e.g. https://login.example.com [default: http://<bound address>]
    #[arg(long, env = "GATEHOUSE_ISSUER", value_name = "URL")]
    pub issuer: Option<String>,
    /// File holding the 256-bit key-encryption key that seals the signing keys (base64 or
    /// hex). Without it no JWT access token or id_token is issued; --demo generates one
    /// beside a SQLite database (mode 0600)
    #[arg(long, env = "GATEHOUSE_KEY_ENCRYPTION_KEY_FILE", value_name = "PATH")]
    pub key_encryption_key_file: Option<PathBuf>,
}

/// A switch: `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OnOff {
    /// Enabled.
    On,
    /// Disabled.
    Off,
}

/// SQLite `synchronous` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// fsync on every commit.
    #[default]
    Full,
    /// fsync at checkpoints only.
    Normal,
}

fn parse_offset(s: &str) -> Result<UtcOffset, String> {
    let bad = || format!("'{s}' is not a UTC offset like +10:00 or -05:30");
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1i8, &s[1..]),
        Some(b'-') => (-1i8, &s[1..]),
        _ => return Err(bad()),
    };
    let (h, m) = rest.split_once(':').ok_or_else(bad)?;
    let h: i8 = h.parse().map_err(|_| bad())?;
    let m: i8 = m.parse().map_err(|_| bad())?;
    if !(0..=14).contains(&h) || !(0..60).contains(&m) || rest.len() != 5 {
        return Err(bad());
    }
    UtcOffset::from_hms(sign * h, sign * m, 0).map_err(|_| bad())
}

/// The config file: the same settings as the flags, in TOML, snake_case keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    bind: Option<SocketAddr>,
    database: Option<PathBuf>,
    hash_iterations: Option<u32>,
    hash_threads: Option<usize>,
    hash_queue: Option<usize>,
    access_token_lifetime: Option<i64>,
    refresh_token_lifetime: Option<i64>,
    code_lifetime: Option<i64>,
    refresh_grace: Option<i64>,
    display_offset: Option<String>,
    trusted_proxies: Option<Vec<IpAddr>>,
    windows_auth_header: Option<String>,
    body_limit: Option<usize>,
    workers: Option<usize>,
    synchronous: Option<Synchronous>,
    request_timeout: Option<u64>,
    lockout_free_failures: Option<u32>,
    lockout_initial_delay: Option<i64>,
    lockout_max_delay: Option<i64>,
    v1_default_client: Option<String>,
    katana_default_scope: Option<String>,
    session_max_lifetime: Option<i64>,
    onetime_chain: Option<bool>,
    windows_domains: Option<Vec<String>>,
    metrics_bind: Option<SocketAddr>,
    help_pages: Option<OnOff>,
    issuer: Option<String>,
    key_encryption_key_file: Option<PathBuf>,
    database_pool_size: Option<u32>,
    database_statement_timeout: Option<u64>,
    database_sslmode: Option<String>,
}

impl FileConfig {
    /// Reads `path`; a missing default file is an empty config, a missing named file an error.
    pub fn load(path: Option<&Path>) -> Result<Self, String> {
        let (path, required) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from("gatehouse.toml"), false),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                toml::from_str(&text).map_err(|e| format!("config file {}: {e}", path.display()))
            }
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(format!("config file {}: {e}", path.display())),
        }
    }

    /// The database path from the file, when set.
    pub fn database(&self) -> Option<&Path> {
        self.database.as_deref()
    }
}

/// The resolved configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address.
    pub bind: SocketAddr,
    /// The database: a SQLite file or a PostgreSQL URL (whose password never prints).
    pub database: gatehouse_storage::Database,
    /// Read connections in the pool.
    pub database_pool_size: u32,
    /// PostgreSQL statement timeout, seconds.
    pub database_statement_timeout: u64,
    /// Load the demo data at start.
    pub demo: bool,
    /// PBKDF2 iterations.
    pub hash_iterations: u32,
    /// Hash pool threads.
    pub hash_threads: usize,
    /// Hash pool queue limit.
    pub hash_queue: usize,
    /// Access token lifetime, seconds.
    pub access_token_lifetime: i64,
    /// Refresh token lifetime, seconds.
    pub refresh_token_lifetime: i64,
    /// Code lifetime, seconds.
    pub code_lifetime: i64,
    /// Refresh grace window, seconds (0 = off).
    pub refresh_grace: i64,
    /// Offset of the member dialect's local time.
    pub display_offset: UtcOffset,
    /// Trusted reverse proxies.
    pub trusted_proxies: Vec<IpAddr>,
    /// Header carrying the Windows user name, from a trusted proxy.
    pub windows_auth_header: Option<String>,
    /// Request body limit in bytes.
    pub body_limit: usize,
    /// HTTP workers.
    pub workers: usize,
    /// SQLite durability.
    pub synchronous: Synchronous,
    /// Seconds allowed for the request head, and again for the body.
    pub request_timeout: u64,
    /// Failed logins before the first lock (0 disables the lockout).
    pub lockout_free_failures: u32,
    /// First lock, seconds.
    pub lockout_initial_delay: i64,
    /// Longest lock, seconds.
    pub lockout_max_delay: i64,
    /// Client standing in for v1 requests without one.
    pub v1_default_client: Option<String>,
    /// Scope of client-less Katana tokens.
    pub katana_default_scope: String,
    /// Absolute session lifetime, seconds.
    pub session_max_lifetime: i64,
    /// Tokens from one-time codes may issue one-time codes.
    pub onetime_chain: bool,
    /// Windows domains accepted from the authenticating proxy.
    pub windows_domains: Vec<String>,
    /// Separate listener for /metrics.
    pub metrics_bind: Option<SocketAddr>,
    /// Serve `/Help` and `/openapi.json`.
    pub help_pages: bool,
    /// Issuer identifier (no trailing slash); `None`: derived from the bound address.
    pub issuer: Option<String>,
    /// The key-encryption key file, if configured.
    pub key_encryption_key_file: Option<PathBuf>,
}

/// `--database` (a path, `sqlite://PATH` or `postgres://…`) with `--database-sslmode`.
/// Errors never hold the URL's password.
pub fn database_setting(
    value: PathBuf,
    sslmode: Option<String>,
) -> Result<gatehouse_storage::Database, String> {
    let database = match value.to_str() {
        Some(text) => gatehouse_storage::Database::parse(text).map_err(|e| e.to_string())?,
        None => gatehouse_storage::Database::Sqlite(value),
    };
    let sslmode = sslmode
        .map(|m| m.parse::<gatehouse_storage::SslMode>())
        .transpose()
        .map_err(|e| format!("database-sslmode: {e}"))?;
    Ok(database.with_sslmode(sslmode))
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

impl Config {
    /// Flags and environment first (clap already merged those two), then the file, then
    /// the defaults.
    pub fn resolve(
        args: ServeArgs,
        database: Option<PathBuf>,
        file: FileConfig,
    ) -> Result<Self, String> {
        let display_offset = match (args.display_offset, file.display_offset) {
            (Some(o), _) => o,
            (None, Some(s)) => parse_offset(&s)?,
            (None, None) => UtcOffset::UTC,
        };
        let config = Self {
            bind: args
                .bind
                .or(file.bind)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            database: database_setting(
                database
                    .or(file.database)
                    .unwrap_or_else(|| PathBuf::from("gatehouse.db")),
                args.database_sslmode.or(file.database_sslmode),
            )?,
            database_pool_size: args
                .database_pool_size
                .or(file.database_pool_size)
                .unwrap_or(8),
            database_statement_timeout: args
                .database_statement_timeout
                .or(file.database_statement_timeout)
                .unwrap_or(5),
            demo: args.demo,
            hash_iterations: args
                .hash_iterations
                .or(file.hash_iterations)
                .unwrap_or(600_000),
            hash_threads: args
                .hash_threads
                .or(file.hash_threads)
                .unwrap_or_else(cores),
            hash_queue: args.hash_queue.or(file.hash_queue).unwrap_or(64),
            access_token_lifetime: args
                .access_token_lifetime
                .or(file.access_token_lifetime)
                .unwrap_or(20 * 60),
            refresh_token_lifetime: args
                .refresh_token_lifetime
                .or(file.refresh_token_lifetime)
                .unwrap_or(30 * 24 * 3600),
            code_lifetime: args.code_lifetime.or(file.code_lifetime).unwrap_or(60),
            refresh_grace: args.refresh_grace.or(file.refresh_grace).unwrap_or(0),
            display_offset,
            trusted_proxies: args
                .trusted_proxies
                .or(file.trusted_proxies)
                .unwrap_or_default(),
            windows_auth_header: args.windows_auth_header.or(file.windows_auth_header),
            body_limit: args.body_limit.or(file.body_limit).unwrap_or(64 * 1024),
            workers: args.workers.or(file.workers).unwrap_or_else(cores),
            synchronous: args.synchronous.or(file.synchronous).unwrap_or_default(),
            request_timeout: args.request_timeout.or(file.request_timeout).unwrap_or(10),
            lockout_free_failures: args
                .lockout_free_failures
                .or(file.lockout_free_failures)
                .unwrap_or(5),
            lockout_initial_delay: args
                .lockout_initial_delay
                .or(file.lockout_initial_delay)
                .unwrap_or(1),
            lockout_max_delay: args
                .lockout_max_delay
                .or(file.lockout_max_delay)
                .unwrap_or(15 * 60),
            v1_default_client: args
                .v1_default_client
                .or(file.v1_default_client)
                .filter(|c| !c.trim().is_empty()),
            katana_default_scope: args
                .katana_default_scope
                .or(file.katana_default_scope)
                .unwrap_or_default(),
            session_max_lifetime: args
                .session_max_lifetime
                .or(file.session_max_lifetime)
                .unwrap_or(30 * 24 * 3600),
            onetime_chain: args.onetime_chain || file.onetime_chain.unwrap_or(false),
            windows_domains: args
                .windows_domains
                .or(file.windows_domains)
                .unwrap_or_default()
                .into_iter()
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty())
                .collect(),
            metrics_bind: args.metrics_bind.or(file.metrics_bind),
            help_pages: args.help_pages.or(file.help_pages).unwrap_or(OnOff::On) == OnOff::On,
            issuer: args
                .issuer
                .or(file.issuer)
                .map(|i| i.trim_end_matches('/').to_owned()),
            key_encryption_key_file: args
                .key_encryption_key_file
                .or(file.key_encryption_key_file),
        };
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        let positive = [
            ("access-token-lifetime", self.access_token_lifetime),
            ("refresh-token-lifetime", self.refresh_token_lifetime),
            ("code-lifetime", self.code_lifetime),
            ("lockout-initial-delay", self.lockout_initial_delay),
            ("lockout-max-delay", self.lockout_max_delay),
            ("session-max-lifetime", self.session_max_lifetime),
        ];
        for (name, v) in positive {
            if v <= 0 {
                return Err(format!("{name} must be a positive number of seconds"));
            }
        }
        if self.refresh_grace < 0 {
            return Err("refresh-grace must not be negative".into());
        }
        if self.hash_iterations == 0 {
            return Err("hash-iterations must be at least 1".into());
        }
        if self.hash_threads == 0 || self.workers == 0 {
            return Err("hash-threads and workers must be at least 1".into());
        }
        if self.request_timeout == 0 {
            return Err("request-timeout must be at least 1 second".into());
        }
        if self.database_pool_size == 0 || self.database_statement_timeout == 0 {
            return Err(
                "database-pool-size and database-statement-timeout must be at least 1".into(),
            );
        }
        if self.body_limit < 1024 {
            return Err("body-limit must be at least 1024 bytes".into());
        }
        if let Some(issuer) = &self.issuer {
            check_issuer(issuer)?;
        }
        Ok(())
    }

    /// The issuer: `--issuer`, else `http://` and the bound address (an unspecified address
    /// becomes loopback).
    pub fn issuer_for(&self, bound: SocketAddr) -> String {
        if let Some(issuer) = &self.issuer {
            return issuer.clone();
        }
        let ip = match bound.ip() {
            IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::from([127, 0, 0, 1]),
            IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, bound.port()))
    }
}

/// RFC 8414 section 2: an http(s) URL with a host, no query, no fragment.
fn check_issuer(issuer: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("issuer {issuer:?} {why}"));
    let Some(rest) = issuer
        .strip_prefix("https://")
        .or_else(|| issuer.strip_prefix("http://"))
    else {
        return bad("must start with https:// (or http:// for local testing)");
    };
    if rest.is_empty() || rest.starts_with('/') {
        return bad("has no host");
    }
    if issuer.contains(['?', '#']) || issuer.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("must not have a query, a fragment or spaces");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets() {
        assert_eq!(
            parse_offset("+10:00").ok(),
            UtcOffset::from_hms(10, 0, 0).ok()
        );
        assert_eq!(
            parse_offset("-05:30").ok(),
            UtcOffset::from_hms(-5, -30, 0).ok()
        );
        for bad in ["10:00", "+25:00", "+1", "", "+aa:bb", "-", "+10:99"] {
            assert!(parse_offset(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn precedence_flags_then_file_then_default() {
        let file: FileConfig =
            toml::from_str("bind = \"0.0.0.0:9000\"\nhash_iterations = 5\ncode_lifetime = 30")
                .expect("valid toml");
        let args = ServeArgs {
            hash_iterations: Some(7),
            ..Default::default()
        };
        let c = Config::resolve(args, None, file).expect("valid");
        assert_eq!(c.bind.to_string(), "0.0.0.0:9000");
        assert_eq!(c.hash_iterations, 7);
        assert_eq!(c.code_lifetime, 30);
        assert_eq!(c.access_token_lifetime, 1200);
        assert_eq!(
            c.database,
            gatehouse_storage::Database::Sqlite(PathBuf::from("gatehouse.db"))
        );
        assert_eq!((c.database_pool_size, c.database_statement_timeout), (8, 5));
    }

    #[test]
    fn database_urls_and_their_passwords() {
        let args = ServeArgs {
            database_sslmode: Some("require".to_owned()),
            database_pool_size: Some(3),
            ..Default::default()
        };
        let c = Config::resolve(
            args,
            Some(PathBuf::from("postgres://gh:Sup3rSecret@db:5432/gatehouse")),
            FileConfig::default(),
        )
        .expect("valid");
        assert_eq!(c.database.backend(), "postgres");
        assert_eq!(c.database_pool_size, 3);
        let shown = format!("{} {:?} {c:?}", c.database, c.database);
        assert!(!shown.contains("Sup3rSecret"), "{shown}");
        assert!(
            shown.contains("postgres://gh:***@db:5432/gatehouse?sslmode=require"),
            "{shown}"
        );
        let sqlite = Config::resolve(
            ServeArgs::default(),
            Some(PathBuf::from("sqlite:///var/lib/gh.db")),
            FileConfig::default(),
        )
        .expect("valid");
        assert_eq!(
            sqlite.database,
            gatehouse_storage::Database::Sqlite(PathBuf::from("/var/lib/gh.db"))
        );
        let bad = Config::resolve(
            ServeArgs::default(),
            Some(PathBuf::from("mysql://root:Sup3rSecret@db/x")),
            FileConfig::default(),
        )
        .expect_err("unknown scheme");
        assert!(
            bad.contains("mysql://") && !bad.contains("Sup3rSecret"),
            "{bad}"
        );
        let bad_mode = Config::resolve(
            ServeArgs {
                database_sslmode: Some("yes".to_owned()),
                ..Default::default()
            },
            None,
            FileConfig::default(),
        )
        .expect_err("bad sslmode");
        assert!(bad_mode.contains("sslmode"), "{bad_mode}");
    }

    #[test]
    fn unknown_file_keys_and_bad_values_are_errors() {
        assert!(toml::from_str::<FileConfig>("bnid = 1").is_err());
        let args = ServeArgs {
            code_lifetime: Some(0),
            ..Default::default()
        };
        assert!(Config::resolve(args, None, FileConfig::default()).is_err());
    }

    #[test]
    fn help_pages_default_on_and_switch_off_by_flag_or_file() {
        let on = Config::resolve(ServeArgs::default(), None, FileConfig::default());
        assert!(on.expect("valid").help_pages);
        let file: FileConfig = toml::from_str("help_pages = \"off\"").expect("valid toml");
        assert!(
            !Config::resolve(ServeArgs::default(), None, file)
                .expect("valid")
                .help_pages
        );
        let args = ServeArgs {
            help_pages: Some(OnOff::On),
            ..Default::default()
        };
        let file: FileConfig = toml::from_str("help_pages = \"off\"").expect("valid toml");
        assert!(Config::resolve(args, None, file).expect("valid").help_pages);
        assert!(toml::from_str::<FileConfig>("help_pages = \"maybe\"").is_err());
    }
}
