//! The settings: one struct, [`Settings`], read by `serve` and by every other subcommand,
//! layered
//!
//! 1. defaults ([`Settings::default`]: each written once; the grant policy's come from
//!    [`gatehouse_domain::config::Config::default`], the database's from
//!    [`StorageOptions::default`], and `--help` shows them from there),
//! 2. the TOML config file (`--config FILE` or `GATEHOUSE_CONFIG`, else `./gatehouse.toml`
//!    when present; the keys are the field names, an unknown key is an error),
//! 3. the `GATEHOUSE_*` environment variables,
//! 4. the flags (`--field-name`, global: before or after the subcommand).
//!
//! clap reads 3 and 4 (a flag beats its variable) with no defaults of its own, so an absent
//! flag and variable leave the value of the file, or the default, untouched.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use clap::FromArgMatches as _;
use gatehouse_domain::par::ParMode;
use gatehouse_storage::{Database, SslMode, StorageOptions};
use serde::{Deserialize, Serialize};
use time::UtcOffset;

/// Every setting of every subcommand. Field `foo_bar` is the flag `--foo-bar`, the variable
/// `GATEHOUSE_FOO_BAR` and the config-file key `foo_bar`.
///
/// `Debug` is safe to log: the database URL's password prints as `***`, and the
/// key-encryption key is a file name here, never the key.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
#[command(
    next_help_heading = "Settings (flag, else GATEHOUSE_* variable, else config file, else default)"
)]
pub struct Settings {
    /// SQLite database file, sqlite://PATH, or postgres://user:password@host:port/database
    /// (the password is never logged)
    #[arg(
        long,
        env = "GATEHOUSE_DATABASE",
        hide_env_values = true,
        value_name = "PATH|URL",
        value_parser = DatabaseParser
    )]
    #[serde(with = "database_text")]
    pub database: Database,
    /// Database connections for reads (the pool; writes have one more)
    #[arg(long, env = "GATEHOUSE_DATABASE_POOL_SIZE", value_name = "N")]
    pub database_pool_size: u32,
    /// PostgreSQL statement_timeout (waiting for locks included), in seconds
    #[arg(
        long,
        env = "GATEHOUSE_DATABASE_STATEMENT_TIMEOUT",
        value_name = "SECONDS"
    )]
    pub database_statement_timeout: u64,
    /// PostgreSQL: libpq's sslmode (disable, allow, prefer, require, verify-ca, verify-full);
    /// an sslmode in the URL wins [default: libpq's, prefer]
    #[arg(long, env = "GATEHOUSE_DATABASE_SSLMODE", value_name = "MODE")]
    pub database_sslmode: Option<String>,
    /// Address and port to listen on
    #[arg(long, env = "GATEHOUSE_BIND", value_name = "ADDR:PORT")]
    pub bind: SocketAddr,
    /// Load the demo data (idempotent) before serving
    #[arg(long, env = "GATEHOUSE_DEMO", action = clap::ArgAction::Set, num_args = 0..=1,
          require_equals = true, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new(), value_name = "BOOL")]
    pub demo: bool,
    /// PBKDF2-HMAC-SHA256 iterations for new password hashes
    #[arg(long, env = "GATEHOUSE_HASH_ITERATIONS", value_name = "N")]
    pub hash_iterations: u32,
    /// Threads hashing passwords [default: number of cores]
    #[arg(long, env = "GATEHOUSE_HASH_THREADS", value_name = "N")]
    pub hash_threads: usize,
    /// Password checks allowed to wait for a hash thread; past it, 503
    #[arg(long, env = "GATEHOUSE_HASH_QUEUE", value_name = "N")]
    pub hash_queue: usize,
    /// Access token lifetime in seconds
    #[arg(long, env = "GATEHOUSE_ACCESS_TOKEN_LIFETIME", value_name = "SECONDS")]
    pub access_token_lifetime: i64,
    /// Refresh token lifetime in seconds
    #[arg(long, env = "GATEHOUSE_REFRESH_TOKEN_LIFETIME", value_name = "SECONDS")]
    pub refresh_token_lifetime: i64,
    /// Authorization code and one-time code lifetime in seconds
    #[arg(long, env = "GATEHOUSE_CODE_LIFETIME", value_name = "SECONDS")]
    pub code_lifetime: i64,
    /// Seconds during which a just-rotated refresh token may be presented again by a
    /// concurrent request without ending the session (0: off)
    #[arg(long, env = "GATEHOUSE_REFRESH_GRACE", value_name = "SECONDS")]
    pub refresh_grace: i64,
    /// UTC offset of the member dialect's local `ExpireTime`, e.g. +10:00
    #[arg(long, env = "GATEHOUSE_DISPLAY_OFFSET", value_name = "+HH:MM", value_parser = parse_offset)]
    #[serde(with = "offset_text")]
    pub display_offset: UtcOffset,
    /// Reverse proxies whose X-Forwarded-For (and Windows authentication header) are trusted;
    /// comma separated IP addresses
    #[arg(
        long,
        env = "GATEHOUSE_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_name = "IP,..."
    )]
    pub trusted_proxies: Vec<IpAddr>,
    /// Header in which a trusted authenticating proxy passes the Windows user name
    /// (e.g. X-Remote-User); unset disables `WindowsAuthentication`
    #[arg(long, env = "GATEHOUSE_WINDOWS_AUTH_HEADER", value_name = "HEADER")]
    pub windows_auth_header: Option<String>,
    /// Largest request body accepted, in bytes
    #[arg(long, env = "GATEHOUSE_BODY_LIMIT", value_name = "BYTES")]
    pub body_limit: usize,
    /// HTTP worker threads [default: number of cores]
    #[arg(long, env = "GATEHOUSE_WORKERS", value_name = "N")]
    pub workers: usize,
    /// Durability: `full` fsyncs every commit (SQLite synchronous=FULL, PostgreSQL
    /// synchronous_commit=on); `normal` may lose the last commits on power loss (SQLite: never
    /// on a process crash)
    #[arg(long, env = "GATEHOUSE_SYNCHRONOUS", value_name = "full|normal")]
    pub synchronous: Synchronous,
    /// Seconds a client has to send its request head, and again its body; past it the
    /// connection is answered 408 or 400 and closed (slow clients)
    #[arg(long, env = "GATEHOUSE_REQUEST_TIMEOUT", value_name = "SECONDS")]
    pub request_timeout: u64,
    /// Failed logins (per account, per address) before the first lock (0: no lockout)
    #[arg(long, env = "GATEHOUSE_LOCKOUT_FREE_FAILURES", value_name = "N")]
    pub lockout_free_failures: u32,
    /// First lock after the free failures, doubled by each further one, in seconds
    #[arg(long, env = "GATEHOUSE_LOCKOUT_INITIAL_DELAY", value_name = "SECONDS")]
    pub lockout_initial_delay: i64,
    /// Longest lock, in seconds
    #[arg(long, env = "GATEHOUSE_LOCKOUT_MAX_DELAY", value_name = "SECONDS")]
    pub lockout_max_delay: i64,
    /// Client that stands in for v1 requests that name no client (a legacy proxy that
    /// supplied its own); its grants and scope apply. Unset: such requests are refused
    #[arg(long, env = "GATEHOUSE_V1_DEFAULT_CLIENT", value_name = "CLIENT_ID")]
    pub v1_default_client: Option<String>,
    /// Space-separated scope of tokens from Katana's `/token` without a client [default: empty]
    #[arg(long, env = "GATEHOUSE_KATANA_DEFAULT_SCOPE", value_name = "SCOPE")]
    pub katana_default_scope: String,
    /// Absolute lifetime of a session from its first grant, in seconds: no refresh reaches
    /// past it
    #[arg(long, env = "GATEHOUSE_SESSION_MAX_LIFETIME", value_name = "SECONDS")]
    pub session_max_lifetime: i64,
    /// Let a token obtained with a one-time code issue further one-time codes (never past
    /// the first session's end)
    #[arg(long, env = "GATEHOUSE_ONETIME_CHAIN", action = clap::ArgAction::Set, num_args = 0..=1,
          require_equals = true, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new(), value_name = "BOOL")]
    pub onetime_chain: bool,
    /// Windows domains whose users may log in through the authenticating proxy, comma
    /// separated, NetBIOS or DNS names (CORP,corp.example); other principals are refused
    #[arg(
        long,
        env = "GATEHOUSE_WINDOWS_DOMAINS",
        value_delimiter = ',',
        value_name = "DOMAIN,..."
    )]
    pub windows_domains: Vec<String>,
    /// Serve /metrics on this separate address (exact path only) instead of the main one
    #[arg(long, env = "GATEHOUSE_METRICS_BIND", value_name = "ADDR:PORT")]
    pub metrics_bind: Option<SocketAddr>,
    /// Serve the admin API (/admin/v1/, Bearer tokens of clients holding gatehouse:admin)
    /// and the admin console (/admin/console/) on this separate address [default: off]
    #[arg(long, env = "GATEHOUSE_ADMIN_BIND", value_name = "ADDR:PORT")]
    pub admin_bind: Option<SocketAddr>,
    /// Public base URL of the admin listener when a TLS proxy fronts --admin-bind, e.g.
    /// https://admin.example.com: the console's redirect URI [default: http://<admin address>]
    #[arg(long, env = "GATEHOUSE_ADMIN_URL", value_name = "URL")]
    pub admin_url: Option<String>,
    /// Serve the help pages (/Help) and the OpenAPI document (/openapi.json)
    #[arg(long, env = "GATEHOUSE_HELP_PAGES", value_name = "on|off")]
    pub help_pages: OnOff,
    /// Issuer identifier of the standards surface (RFC 8414 metadata, cookies' Secure flag),
    /// e.g. https://login.example.com [default: http://<bound address>]
    #[arg(long, env = "GATEHOUSE_ISSUER", value_name = "URL")]
    pub issuer: Option<String>,
    /// File holding the 256-bit key-encryption key that seals the signing keys (base64 or
    /// hex). Without it no JWT access token or id_token is issued; --demo generates one
    /// beside a SQLite database (mode 0600)
    #[arg(long, env = "GATEHOUSE_KEY_ENCRYPTION_KEY_FILE", value_name = "PATH")]
    pub key_encryption_key_file: Option<PathBuf>,
    /// File holding the legacy IIS `<machineKey>` element (alone or in a web.config; mode
    /// 0600 or stricter): Katana's `/token` then issues real Katana bearer tickets, and
    /// legacy tickets are accepted wherever a bearer token is (docs/migration.md); --demo
    /// writes a demo key beside a SQLite database
    #[arg(long, env = "GATEHOUSE_KATANA_MACHINE_KEY", value_name = "PATH")]
    pub katana_machine_key: Option<PathBuf>,
    /// Claims of the Katana tickets issued, each `TYPE=VALUE` or `TYPE=VALUE|FLAG` (only for
    /// users with that flag: operator, editor, query_all, df_visible); TYPE a claim URI or
    /// name, nameidentifier, role; VALUE may hold {userName}, {userID}, {sessionKey},
    /// {clientKey} [default: name={userName},nameidentifier={userID}]
    #[arg(
        long,
        env = "GATEHOUSE_KATANA_CLAIMS",
        value_delimiter = ',',
        value_name = "TYPE=VALUE[|FLAG],..."
    )]
    pub katana_claims: Vec<String>,
    /// Which claim of a legacy Katana ticket names its user: name (the user name) or
    /// nameidentifier (the user id)
    #[arg(
        long,
        env = "GATEHOUSE_KATANA_USER_CLAIM",
        value_name = "name|nameidentifier"
    )]
    pub katana_user_claim: KatanaUserClaim,
    /// Pushed authorization requests (RFC 9126, /oauth2/par): off, on, or required of every
    /// client [default: off; on with --demo]
    #[arg(
        long,
        env = "GATEHOUSE_PUSHED_AUTHORIZATION_REQUESTS",
        value_name = "off|on|required"
    )]
    pub pushed_authorization_requests: Option<ParSetting>,
    /// DPoP (RFC 9449): check `DPoP` proofs at /oauth2/token and /oauth2/userinfo and bind
    /// tokens to the proof's key; advertised in discovery [default: off; on with --demo]
    #[arg(long, env = "GATEHOUSE_DPOP", value_name = "on|off")]
    pub dpop: Option<OnOff>,
    /// DPoP proofs must carry a server nonce (RFC 9449 section 8: `use_dpop_nonce`, then
    /// retry), so a proof cannot be made ahead of time
    #[arg(long, env = "GATEHOUSE_DPOP_NONCE", value_name = "on|off")]
    pub dpop_nonce: OnOff,
    /// Append one JSON line per security event (logins, lockouts, tokens issued and
    /// revoked, operator changes) to this file, `-` for stdout [default: off]
    #[arg(long, env = "GATEHOUSE_AUDIT_LOG", value_name = "PATH|-")]
    pub audit_log: Option<PathBuf>,
    /// Rotate the audit log when it passes this size, keeping PATH.1 … PATH.5
    #[arg(long, env = "GATEHOUSE_AUDIT_LOG_MAX_BYTES", value_name = "BYTES")]
    pub audit_log_max_bytes: u64,
    /// Log filter, e.g. `info` or `gatehouse=debug,actix_web=warn`
    #[arg(long, env = "GATEHOUSE_LOG", value_name = "FILTER")]
    pub log: String,
    /// Send a trace span per request to this OpenTelemetry collector over OTLP/HTTP
    /// (protobuf), e.g. http://127.0.0.1:4318 (`/v1/traces` is appended) [default: off]
    #[arg(long, env = "GATEHOUSE_OTLP_ENDPOINT", value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    /// Base URL of the still-running legacy service (dual-run): https, or http on a
    /// loopback address; anything else needs --legacy-upstream-insecure
    #[arg(long, env = "GATEHOUSE_LEGACY_UPSTREAM", value_name = "URL")]
    pub legacy_upstream: Option<String>,
    /// Per-dialect legacy base URLs, comma separated DIALECT=URL (katana, v1, member, otc,
    /// onetime); a dialect not listed uses --legacy-upstream
    #[arg(
        long,
        env = "GATEHOUSE_LEGACY_UPSTREAMS",
        value_delimiter = ',',
        value_name = "DIALECT=URL,..."
    )]
    pub legacy_upstreams: Vec<String>,
    /// Allow a legacy upstream over plain http on a non-loopback address (its answers, and
    /// forwarded passwords, cross the network unprotected)
    #[arg(long, env = "GATEHOUSE_LEGACY_UPSTREAM_INSECURE", action = clap::ArgAction::Set, num_args = 0..=1,
          require_equals = true, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new(), value_name = "BOOL")]
    pub legacy_upstream_insecure: bool,
    /// Seconds the legacy upstream has to answer (connect, head and body)
    #[arg(
        long,
        env = "GATEHOUSE_LEGACY_UPSTREAM_TIMEOUT",
        value_name = "SECONDS"
    )]
    pub legacy_upstream_timeout: u64,
    /// Dual-run with the legacy upstream: `off`; `observe` (the upstream answers, Gatehouse
    /// decides the same request without writing and compares); `primary` (Gatehouse answers,
    /// the upstream gets a copy afterwards)
    #[arg(long, env = "GATEHOUSE_DUAL_RUN", value_name = "off|observe|primary")]
    pub dual_run: DualRunMode,
    /// Dialects whose password-bearing requests are forwarded to the legacy upstream, comma
    /// separated (each such request carries a user's password to a second system)
    #[arg(
        long,
        env = "GATEHOUSE_DUAL_RUN_FORWARD_PASSWORDS",
        value_delimiter = ',',
        value_name = "DIALECT,..."
    )]
    pub dual_run_forward_passwords: Vec<String>,
    /// Requests compared per second, at most (beyond it: observe forwards without a dry
    /// run, primary sends no copy)
    #[arg(long, env = "GATEHOUSE_DUAL_RUN_RATE", value_name = "N")]
    pub dual_run_rate: u32,
    /// Differences stored, at most (counting goes on past it)
    #[arg(long, env = "GATEHOUSE_DUAL_RUN_MAX_DIFFERENCES", value_name = "N")]
    pub dual_run_max_differences: u64,
    /// Seconds between two additions of the legacy-dialect use counted in memory to the
    /// database (the migration report)
    #[arg(long, env = "GATEHOUSE_LEGACY_USAGE_FLUSH", value_name = "SECONDS")]
    pub legacy_usage_flush: u64,
    /// Credential capture: a password login of a user unknown here (or marked `capture` by
    /// import) is checked by the legacy upstream's Katana `/token`, and on success the user is
    /// stored with a fresh hash of that password (each such login carries a password to the
    /// upstream). Needs --legacy-upstream
    #[arg(long, env = "GATEHOUSE_CREDENTIAL_CAPTURE", action = clap::ArgAction::Set, num_args = 0..=1,
          require_equals = true, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new(), value_name = "BOOL")]
    pub credential_capture: bool,
    /// Upstream checks of credential capture per second, at most (past it a capture login is
    /// refused, and counts as a failure)
    #[arg(long, env = "GATEHOUSE_CREDENTIAL_CAPTURE_RATE", value_name = "N")]
    pub credential_capture_rate: u32,
}

/// `--katana-user-claim`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KatanaUserClaim {
    /// `ClaimTypes.Name`: the user name.
    #[default]
    Name,
    /// `ClaimTypes.NameIdentifier`: the user id.
    Nameidentifier,
}

impl Default for Settings {
    fn default() -> Self {
        let policy = gatehouse_domain::config::Config::default();
        let storage = StorageOptions::default();
        let seconds = time::Duration::whole_seconds;
        Self {
            database: Database::Sqlite(PathBuf::from("gatehouse.db")),
            database_pool_size: storage.read_pool_size,
            database_statement_timeout: storage.statement_timeout.as_secs(),
            database_sslmode: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            demo: false,
            hash_iterations: gatehouse_domain::credentials::DEFAULT_ITERATIONS,
            hash_threads: cores(),
            hash_queue: 64,
            access_token_lifetime: seconds(policy.access_token_lifetime),
            refresh_token_lifetime: seconds(policy.refresh_token_lifetime),
            code_lifetime: seconds(policy.auth_code_lifetime),
            refresh_grace: policy.refresh_grace.map_or(0, seconds),
            display_offset: UtcOffset::UTC,
            trusted_proxies: Vec::new(),
            windows_auth_header: None,
            body_limit: 64 * 1024,
            workers: cores(),
            synchronous: storage.synchronous.into(),
            request_timeout: 10,
            lockout_free_failures: policy.lockout.free_failures,
            lockout_initial_delay: seconds(policy.lockout.initial_delay),
            lockout_max_delay: seconds(policy.lockout.max_delay),
            v1_default_client: None,
            katana_default_scope: String::new(),
            session_max_lifetime: seconds(policy.session_max_lifetime),
            onetime_chain: policy.onetime_chain,
            windows_domains: Vec::new(),
            metrics_bind: None,
            admin_bind: None,
            admin_url: None,
            help_pages: OnOff::On,
            issuer: None,
            key_encryption_key_file: None,
            katana_machine_key: None,
            katana_claims: vec![
                "name={userName}".to_owned(),
                "nameidentifier={userID}".to_owned(),
            ],
            katana_user_claim: KatanaUserClaim::Name,
            pushed_authorization_requests: None,
            dpop: None,
            dpop_nonce: OnOff::On,
            audit_log: None,
            audit_log_max_bytes: 100 * 1024 * 1024,
            log: "info".to_owned(),
            otlp_endpoint: None,
            legacy_upstream: None,
            legacy_upstreams: Vec::new(),
            legacy_upstream_insecure: false,
            legacy_upstream_timeout: 5,
            dual_run: DualRunMode::Off,
            dual_run_forward_passwords: Vec::new(),
            dual_run_rate: 20,
            dual_run_max_differences: 10_000,
            legacy_usage_flush: 10,
            credential_capture: false,
            credential_capture_rate: 5,
        }
    }
}

/// The grant policy the settings choose; everything they do not name keeps the domain's
/// default.
impl From<&Settings> for gatehouse_domain::config::Config {
    fn from(s: &Settings) -> Self {
        let seconds = time::Duration::seconds;
        let defaults = Self::default();
        Self {
            access_token_lifetime: seconds(s.access_token_lifetime),
            refresh_token_lifetime: seconds(s.refresh_token_lifetime),
            auth_code_lifetime: seconds(s.code_lifetime),
            onetime_code_lifetime: seconds(s.code_lifetime),
            refresh_grace: (s.refresh_grace > 0).then(|| seconds(s.refresh_grace)),
            lockout: gatehouse_domain::config::LockoutPolicy {
                free_failures: s.lockout_free_failures,
                initial_delay: seconds(s.lockout_initial_delay),
                max_delay: seconds(s.lockout_max_delay),
                ..defaults.lockout
            },
            session_max_lifetime: seconds(s.session_max_lifetime),
            onetime_chain: s.onetime_chain,
            pushed_authorization_requests: match (s.pushed_authorization_requests, s.demo) {
                (Some(ParSetting::Required), _) => ParMode::Required,
                (Some(ParSetting::On), _) | (None, true) => ParMode::On,
                (Some(ParSetting::Off), _) | (None, false) => ParMode::Off,
            },
            dpop: s.dpop.map_or(s.demo, |d| d == OnOff::On),
            dpop_nonce: s.dpop_nonce == OnOff::On,
            ..defaults
        }
    }
}

/// `--pushed-authorization-requests`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ParSetting {
    /// No /oauth2/par.
    Off,
    /// Served; required only of the clients configured so.
    On,
    /// Served and required of every client.
    Required,
}

/// A switch: `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OnOff {
    /// Enabled.
    On,
    /// Disabled.
    Off,
}

/// How the legacy upstream takes part (issue 22, `docs/migration.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DualRunMode {
    /// No dual-run.
    Off,
    /// The upstream answers the client; Gatehouse decides without writing and compares.
    Observe,
    /// Gatehouse answers; the upstream gets a copy afterwards and the answers are compared.
    Primary,
}

/// The dialects a legacy upstream can stand for.
pub const LEGACY_DIALECTS: [&str; 5] = ["katana", "v1", "member", "otc", "onetime"];

/// Durability of commits (see [`gatehouse_storage::Synchronous`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// fsync on every commit.
    Full,
    /// fsync at checkpoints only.
    Normal,
}

impl From<gatehouse_storage::Synchronous> for Synchronous {
    fn from(s: gatehouse_storage::Synchronous) -> Self {
        match s {
            gatehouse_storage::Synchronous::Full => Self::Full,
            gatehouse_storage::Synchronous::Normal => Self::Normal,
        }
    }
}

impl From<Synchronous> for gatehouse_storage::Synchronous {
    fn from(s: Synchronous) -> Self {
        match s {
            Synchronous::Full => Self::Full,
            Synchronous::Normal => Self::Normal,
        }
    }
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
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

/// `display_offset` in the config file: `"+10:00"`.
mod offset_text {
    use serde::{Deserialize as _, Deserializer, Serializer};
    use time::UtcOffset;

    pub fn serialize<S: Serializer>(offset: &UtcOffset, s: S) -> Result<S::Ok, S::Error> {
        let (h, m, _) = offset.as_hms();
        let sign = if offset.is_negative() { '-' } else { '+' };
        s.collect_str(&format_args!("{sign}{:02}:{:02}", h.abs(), m.abs()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<UtcOffset, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_offset(&text).map_err(serde::de::Error::custom)
    }
}

/// `database` in the config file: a path or URL. Written out (the `--help` defaults) with the
/// password as `***`; errors never hold the password.
mod database_text {
    use gatehouse_storage::Database;
    use serde::{Deserialize as _, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(database: &Database, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(database)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Database, D::Error> {
        let text = String::deserialize(d)?;
        Database::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// `--database` and `GATEHOUSE_DATABASE`: clap's own error for a bad value would repeat the
/// value, password and all; this one says only what [`Database::parse`] says.
#[derive(Debug, Clone, Copy)]
pub struct DatabaseParser;

impl clap::builder::TypedValueParser for DatabaseParser {
    type Value = Database;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Database, clap::Error> {
        let name = arg.map_or_else(|| "database".to_owned(), |a| a.to_string());
        let fail = |message: String| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("{name}: {message}\n"),
            )
            .with_cmd(cmd)
        };
        let text = value
            .to_str()
            .ok_or_else(|| fail("is not valid UTF-8".to_owned()))?;
        Database::parse(text).map_err(|e| fail(e.to_string()))
    }
}

impl Settings {
    /// `cmd` with every setting as a global flag (before or after the subcommand), each
    /// flag's help ending in the default of [`Settings::default`].
    pub fn augment(cmd: clap::Command) -> clap::Command {
        use clap::Args as _;
        let defaults = toml::Value::try_from(Self::default())
            .ok()
            .and_then(|v| v.as_table().cloned())
            .unwrap_or_default();
        let ids: Vec<String> = Self::augment_args(clap::Command::new("settings"))
            .get_arguments()
            .map(|a| a.get_id().to_string())
            .collect();
        // The derive would also give `cmd` this struct's doc comment as its about text.
        let (about, long_about) = (cmd.get_about().cloned(), cmd.get_long_about().cloned());
        let mut cmd = Self::augment_args(cmd)
            .about(None::<&str>)
            .long_about(None::<&str>);
        if let Some(about) = about {
            cmd = cmd.about(about);
        }
        if let Some(long_about) = long_about {
            cmd = cmd.long_about(long_about);
        }
        ids.iter().fold(cmd, |cmd, id| {
            cmd.mut_arg(id, |arg| {
                let arg = arg.global(true).required(false);
                let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
                match defaults.get(id).and_then(shown) {
                    Some(default) if !help.contains("[default:") => {
                        arg.help(format!("{help} [default: {default}]"))
                    }
                    _ => arg,
                }
            })
        })
    }

    /// The layers: the defaults, the config file (`file`, else `./gatehouse.toml` when
    /// present), then what clap found in the environment and the flags of `matches` (from a
    /// command [`Settings::augment`]ed); normalised and checked.
    ///
    /// # Errors
    /// As [`Settings::from_file`], a flag or variable clap cannot convert, and
    /// [`Settings::finish`]'s checks; the message names the setting, never its value.
    pub fn load(file: Option<&Path>, matches: &clap::ArgMatches) -> Result<Self, String> {
        let mut settings = Self::from_file(file)?;
        settings
            .update_from_arg_matches(matches)
            .map_err(|e| e.to_string())?;
        settings.finish()
    }

    /// The defaults overlaid with the config file: `path`, else `./gatehouse.toml`; a missing
    /// default file is no file, a missing named one an error.
    ///
    /// # Errors
    /// A named file that cannot be read, or a file that is not valid TOML for these settings
    /// (the message names the line, never its text).
    pub fn from_file(path: Option<&Path>) -> Result<Self, String> {
        let (path, required) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from("gatehouse.toml"), false),
        };
        match std::fs::read_to_string(&path) {
            // The error names the line, without quoting it: it may hold the database password.
            Ok(text) => toml::from_str(&text).map_err(|e| {
                let line = e.span().and_then(|span| text.get(..span.start));
                let line = line.map(|before| before.matches('\n').count() + 1);
                let at = line.map(|l| format!(", line {l}")).unwrap_or_default();
                format!("config file {}{at}: {}", path.display(), e.message())
            }),
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(format!("config file {}: {e}", path.display())),
        }
    }

    /// Normalised (the sslmode joined to the database URL, the issuer without a trailing
    /// slash, blank names dropped) and checked. Idempotent.
    ///
    /// # Errors
    /// A setting out of its range (a lifetime that is not positive, a body limit under
    /// 1,024 bytes, no hash thread, ...), settings that contradict each other (`admin-url`
    /// without `admin-bind`, dual-run without an upstream, ...), or an audit log that cannot
    /// be opened; the message names the setting.
    pub fn finish(mut self) -> Result<Self, String> {
        let sslmode = self
            .database_sslmode
            .as_deref()
            .map(str::parse::<SslMode>)
            .transpose()
            .map_err(|e| format!("database-sslmode: {e}"))?;
        self.database = self.database.with_sslmode(sslmode);
        self.v1_default_client = self.v1_default_client.filter(|c| !c.trim().is_empty());
        self.windows_domains = self
            .windows_domains
            .into_iter()
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty())
            .collect();
        self.issuer = self.issuer.map(|i| i.trim_end_matches('/').to_owned());
        self.admin_url = self.admin_url.map(|u| u.trim_end_matches('/').to_owned());
        if let (true, None, Database::Sqlite(path)) = (self.demo, &self.audit_log, &self.database) {
            // The demo shows the audit trail too: beside its SQLite database.
            let mut name = path.as_os_str().to_owned();
            name.push(".audit.jsonl");
            self.audit_log = Some(PathBuf::from(name));
        }
        self.validate()?;
        Ok(self)
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
        if self.audit_log_max_bytes < 4096 {
            return Err("audit-log-max-bytes must be at least 4096".into());
        }
        crate::audit_log::AuditLog::open(
            self.audit_log.as_deref(),
            self.audit_log_max_bytes,
            std::sync::Arc::new(gatehouse_domain::clock::SystemClock),
        )?;
        crate::telemetry::check_filter(&self.log).map_err(|e| format!("log: {e}"))?;
        if let Some(url) = &self.otlp_endpoint {
            check_otlp_endpoint(url).map_err(|e| format!("otlp-endpoint: {e}"))?;
        }
        if let Some(issuer) = &self.issuer {
            check_base_url("issuer", issuer)?;
        }
        if let Some(url) = &self.admin_url {
            if self.admin_bind.is_none() {
                return Err("admin-url needs admin-bind (the listener it names)".to_owned());
            }
            check_base_url("admin-url", url)?;
        }
        self.check_dual_run()
    }

    /// The legacy upstreams are https or loopback (unless insecure is said), every dialect
    /// named is one, and dual-run has somewhere to send requests.
    fn check_dual_run(&self) -> Result<(), String> {
        if let Some(url) = &self.legacy_upstream {
            check_upstream(url, self.legacy_upstream_insecure)
                .map_err(|e| format!("legacy-upstream: {e}"))?;
        }
        for entry in &self.legacy_upstreams {
            let (dialect, url) = entry
                .split_once('=')
                .ok_or_else(|| format!("legacy-upstreams: {entry:?} is not DIALECT=URL"))?;
            if !LEGACY_DIALECTS.contains(&dialect) {
                return Err(format!("legacy-upstreams: unknown dialect {dialect:?}"));
            }
            check_upstream(url, self.legacy_upstream_insecure)
                .map_err(|e| format!("legacy-upstreams {dialect}: {e}"))?;
        }
        for dialect in &self.dual_run_forward_passwords {
            if !LEGACY_DIALECTS.contains(&dialect.as_str()) {
                return Err(format!(
                    "dual-run-forward-passwords: unknown dialect {dialect:?} (one of {})",
                    LEGACY_DIALECTS.join(", ")
                ));
            }
        }
        if self.dual_run != DualRunMode::Off
            && self.legacy_upstream.is_none()
            && self.legacy_upstreams.is_empty()
        {
            return Err("dual-run needs --legacy-upstream (or legacy-upstreams)".into());
        }
        if self.credential_capture && self.legacy_upstream_for("katana").is_none() {
            return Err(
                "credential-capture needs --legacy-upstream (or a katana entry of legacy-upstreams)"
                    .into(),
            );
        }
        if self.legacy_upstream_timeout == 0
            || self.credential_capture_rate == 0
            || self.dual_run_rate == 0
            || self.legacy_usage_flush == 0
        {
            return Err(
                "legacy-upstream-timeout, dual-run-rate, credential-capture-rate and legacy-usage-flush must be at least 1"
                    .into(),
            );
        }
        Ok(())
    }

    /// The legacy base URL of `dialect` (its own, else `legacy_upstream`), without a
    /// trailing slash.
    pub fn legacy_upstream_for(&self, dialect: &str) -> Option<&str> {
        self.legacy_upstreams
            .iter()
            .filter_map(|e| e.split_once('='))
            .find(|(d, _)| *d == dialect)
            .map(|(_, url)| url)
            .or(self.legacy_upstream.as_deref())
            .map(|url| url.trim_end_matches('/'))
    }

    /// How the database is opened: pool size, statement timeout and durability from here,
    /// the rest [`StorageOptions::default`].
    pub fn storage_options(&self) -> StorageOptions {
        StorageOptions {
            synchronous: self.synchronous.into(),
            read_pool_size: self.database_pool_size,
            statement_timeout: std::time::Duration::from_secs(self.database_statement_timeout),
            ..StorageOptions::default()
        }
    }

    /// Whether `/Help` and `/openapi.json` are served.
    pub fn help_pages(&self) -> bool {
        self.help_pages == OnOff::On
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

/// A default as `--help` shows it; none for an empty one.
fn shown(value: &toml::Value) -> Option<String> {
    let text = match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Array(items) => items.iter().filter_map(shown).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    };
    (!text.is_empty()).then_some(text)
}

/// A legacy upstream: `https://host…`, or `http://` to a loopback address (`127.0.0.0/8`,
/// `[::1]`, `localhost`) unless `insecure`; no query, fragment or credentials.
/// A collector's base URL: http or https (spans carry no secret, so a plain-http collector
/// on the network is allowed), a host, no credentials, query or fragment.
fn check_otlp_endpoint(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("{url:?} must start with http:// or https://"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return Err(format!("{url:?} has no host (or carries credentials)"));
    }
    if url.contains(['?', '#']) || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{url:?} must not have a query, a fragment or spaces"
        ));
    }
    Ok(())
}

fn check_upstream(url: &str, insecure: bool) -> Result<(), String> {
    let (rest, https) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => (rest, true),
        (None, Some(rest)) => (rest, false),
        _ => {
            return Err(format!(
                "{url:?} must start with https:// (or http:// to loopback)"
            ))
        }
    };
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return Err(format!("{url:?} has no host (or carries credentials)"));
    }
    if url.contains(['?', '#']) || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{url:?} must not have a query, a fragment or spaces"
        ));
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !https && !loopback && !insecure {
        return Err(format!(
            "{url:?}: plain http only to a loopback address (else https, or --legacy-upstream-insecure)"
        ));
    }
    Ok(())
}

/// RFC 8414 section 2 (the issuer), and the admin listener's public URL: an http(s) URL with
/// a host, no query, no fragment.
fn check_base_url(what: &str, issuer: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("{what} {issuer:?} {why}"));
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

    fn command() -> clap::Command {
        Settings::augment(clap::Command::new("gatehouse").subcommand(clap::Command::new("serve")))
    }

    /// `file` (TOML) under `args` (no environment: clap reads it the same way; the
    /// environment layer is tested on the binary, in tests/settings.rs).
    fn layered(file: &str, args: &[&str]) -> Result<Settings, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path().join("gatehouse.toml");
        std::fs::write(&path, file).map_err(|e| e.to_string())?;
        let matches = command()
            .try_get_matches_from(std::iter::once("gatehouse").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        Settings::load(Some(&path), &matches)
    }

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
        let s = layered("display_offset = \"-05:30\"", &[]).expect("valid");
        assert_eq!(
            s.display_offset,
            UtcOffset::from_hms(-5, -30, 0).expect("offset")
        );
        let table = toml::Value::try_from(&s).expect("serializes");
        assert_eq!(
            table.get("display_offset").and_then(toml::Value::as_str),
            Some("-05:30")
        );
    }

    #[test]
    fn flags_over_file_over_defaults() {
        let s = layered(
            "bind = \"0.0.0.0:9000\"\nhash_iterations = 5\ncode_lifetime = 30\nonetime_chain = true\n\
             trusted_proxies = [\"10.0.0.5\"]\nhelp_pages = \"off\"",
            &["serve", "--hash-iterations", "7", "--help-pages", "on"],
        )
        .expect("valid");
        assert_eq!(s.hash_iterations, 7, "flag over file");
        assert!(s.help_pages(), "flag over file");
        assert_eq!(s.bind.to_string(), "0.0.0.0:9000", "file over default");
        assert_eq!(s.code_lifetime, 30);
        assert!(
            s.onetime_chain,
            "a switch in the file stays on without its flag"
        );
        assert_eq!(s.trusted_proxies, vec![IpAddr::from([10, 0, 0, 5])]);
        assert_eq!(s.access_token_lifetime, 1200, "the domain's default");
        assert_eq!(s.database, Database::Sqlite(PathBuf::from("gatehouse.db")));
        assert_eq!((s.database_pool_size, s.database_statement_timeout), (8, 5));
        // Flags go before or after the subcommand; a switch may be turned off again.
        let s = layered(
            "onetime_chain = true\ndemo = true",
            &[
                "--bind",
                "127.0.0.1:1",
                "serve",
                "--onetime-chain=false",
                "--trusted-proxies",
                "10.0.0.1,10.0.0.2",
            ],
        )
        .expect("valid");
        assert_eq!(s.bind.to_string(), "127.0.0.1:1");
        assert!(!s.onetime_chain && s.demo);
        assert_eq!(s.trusted_proxies.len(), 2);
        assert!(layered("", &["serve", "--demo"]).expect("valid").demo);
    }

    #[test]
    fn the_domain_policy_is_the_settings() {
        let domain = gatehouse_domain::config::Config::from(&Settings::default());
        assert_eq!(domain, gatehouse_domain::config::Config::default());
        let s = layered(
            "refresh_grace = 30\nlockout_free_failures = 0",
            &["--code-lifetime", "90"],
        )
        .expect("valid");
        let domain = gatehouse_domain::config::Config::from(&s);
        assert_eq!(domain.refresh_grace, Some(time::Duration::seconds(30)));
        assert_eq!(domain.lockout.free_failures, 0);
        assert_eq!(domain.onetime_code_lifetime, time::Duration::seconds(90));
        assert_eq!(domain.auth_code_lifetime, time::Duration::seconds(90));
    }

    #[test]
    fn help_shows_each_default_from_the_one_place() {
        let help = command().render_long_help().to_string();
        for expected in [
            "[default: 127.0.0.1:8080]",
            "[default: 600000]",
            "[default: gatehouse.db]",
            "[default: 1200]",
            "[default: 2592000]",
            "[default: on]",
            "[default: full]",
            "[default: +00:00]",
            "[default: number of cores]",
            "[env: GATEHOUSE_BIND=]",
        ] {
            assert!(help.contains(expected), "{expected} in {help}");
        }
        assert!(!help.contains("[default: info] [default:"), "{help}");
    }

    #[test]
    fn database_urls_and_their_passwords() {
        let s = layered(
            "database = \"postgres://gh:Sup3rSecret@db:5432/gatehouse\"\ndatabase_sslmode = \"require\"",
            &["--database-pool-size", "3"],
        )
        .expect("valid");
        assert_eq!(s.database.backend(), "postgres");
        assert_eq!(s.database_pool_size, 3);
        let shown = format!("{} {:?} {s:?}", s.database, s.database);
        assert!(!shown.contains("Sup3rSecret"), "{shown}");
        assert!(
            shown.contains("postgres://gh:***@db:5432/gatehouse?sslmode=require"),
            "{shown}"
        );
        let table = toml::Value::try_from(&s).expect("serializes").to_string();
        assert!(!table.contains("Sup3rSecret"), "{table}");
        let sqlite = layered("", &["--database", "sqlite:///var/lib/gh.db"]).expect("valid");
        assert_eq!(
            sqlite.database,
            Database::Sqlite(PathBuf::from("/var/lib/gh.db"))
        );
        for bad in [
            layered("", &["--database", "mysql://root:Sup3rSecret@db/x"]),
            layered("database = \"mysql://root:Sup3rSecret@db/x\"", &[]),
        ] {
            let bad = bad.expect_err("unknown scheme");
            assert!(
                bad.contains("mysql://") && !bad.contains("Sup3rSecret"),
                "{bad}"
            );
        }
        let bad = layered(
            "bind = \"127.0.0.1:1\"\n\ndatabase = \"mysql://root:Sup3rSecret@db/x\"",
            &[],
        );
        assert!(bad.expect_err("unknown scheme").contains("line 3"));
        let bad_mode = layered("", &["--database-sslmode", "yes"]).expect_err("bad sslmode");
        assert!(bad_mode.contains("sslmode"), "{bad_mode}");
    }

    #[test]
    fn unknown_file_keys_and_bad_values_are_errors() {
        for (file, args) in [
            ("bnid = 1", &[][..]),
            ("help_pages = \"maybe\"", &[]),
            ("code_lifetime = \"soon\"", &[]),
            ("", &["--code-lifetime", "0"]),
            ("code_lifetime = 0", &[]),
            ("", &["--issuer", "login.example"]),
            ("", &["--admin-url", "https://admin.example"]),
            (
                "",
                &[
                    "--admin-bind",
                    "127.0.0.1:0",
                    "--admin-url",
                    "admin.example",
                ],
            ),
            (
                "",
                &[
                    "--admin-bind",
                    "127.0.0.1:0",
                    "--admin-url",
                    "https://a.example/?x",
                ],
            ),
            ("log = \"gatehouse=loud\"", &[]),
            ("", &["--demo=perhaps"]),
        ] {
            assert!(layered(file, args).is_err(), "{file} {args:?}");
        }
        let missing = Settings::from_file(Some(Path::new("/nonexistent/gatehouse.toml")));
        assert!(missing
            .expect_err("named file")
            .contains("/nonexistent/gatehouse.toml"));
    }

    #[test]
    fn normalised() {
        let s = layered(
            "issuer = \"https://login.example/\"\nv1_default_client = \" \"",
            &["--windows-domains", "CORP, ,corp.example "],
        )
        .expect("valid");
        assert_eq!(s.issuer.as_deref(), Some("https://login.example"));
        let admin = layered(
            "",
            &[
                "--admin-bind",
                "127.0.0.1:0",
                "--admin-url",
                "https://a.example/",
            ],
        )
        .expect("valid");
        assert_eq!(admin.admin_url.as_deref(), Some("https://a.example"));
        assert_eq!(s.v1_default_client, None);
        assert_eq!(s.windows_domains, vec!["CORP", "corp.example"]);
        assert_eq!(s.clone().finish(), Ok(s));
    }

    #[test]
    fn the_command_line_is_consistent() {
        command().debug_assert();
    }
}
