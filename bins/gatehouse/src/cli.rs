//! The subcommands: `serve`, `migrate`, `import`, `user …`, `client …`, `keys …`, `copy`,
//! `openapi`. Each reads the one [`Settings`] (database, hash cost, lifetimes, key file …).
//! Passwords come from stdin, never from argv (argv is visible to every user of the
//! machine); generated secrets are printed once on stdout.
//!
//! A subcommand's own flags are the fields of its arguments struct (clap derives them);
//! the run function takes that struct whole.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gatehouse_domain::clock::SystemClock;
use gatehouse_domain::credentials::PasswordHasher;
use gatehouse_domain::import::ImportDocument;
use gatehouse_domain::model::UserFlags;
use gatehouse_domain::rng::{Rng, SystemRng};
use gatehouse_domain::secret::Secret;
use gatehouse_domain::UserSpec;
use gatehouse_storage::{Database, Storage};

use crate::config::{DatabaseParser, Settings};
use crate::state::{self, Service};

pub mod backup;
pub mod client;
pub mod exit;
pub mod user;
pub mod view;

pub use exit::{Exit, Failure};

/// What `gatehouse` does.
#[derive(Debug, clap::Subcommand)]
#[expect(
    clippy::large_enum_variant,
    reason = "parsed once per process: the size of `client add` costs nothing worth a box"
)]
pub enum Command {
    /// Run the server (migrations run first)
    #[command(
        after_help = "Example:\n  gatehouse serve --database /var/lib/gatehouse/gatehouse.db --bind 127.0.0.1:8080"
    )]
    Serve,
    /// Create or upgrade the database schema and exit
    #[command(
        after_help = "Example:\n  gatehouse migrate --database postgres://gatehouse@db.internal/gatehouse"
    )]
    Migrate,
    /// Delete expired tokens, codes and browser sessions and idle lockout records now (what
    /// `serve` does every ten minutes), then exit; safe beside running replicas
    #[command(after_help = "Example:\n  gatehouse purge")]
    Purge,
    /// Provision clients, users, members, brokers and trading accounts from a JSON document
    /// (idempotent; format in docs/import.md)
    #[command(after_help = "Example:\n  gatehouse import provisioning.json")]
    Import {
        /// The document
        file: PathBuf,
    },
    /// Find, show, add, re-password, disable, enable, unlock or remove users and end their
    /// sessions (passwords are read from stdin)
    #[command(subcommand)]
    User(UserCommand),
    /// List, show, add, update or remove clients, or rotate a secret (a new secret is
    /// printed once)
    #[command(subcommand)]
    Client(ClientCommand),
    /// List, rotate or retire the keys that sign JWT access tokens and id_tokens
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Katana bearer tickets under --katana-machine-key
    #[command(subcommand)]
    Katana(KatanaCommand),
    /// What an operator reads before switching a legacy dialect off (docs/migration.md)
    #[command(subcommand)]
    Migration(MigrationCommand),
    /// Print the OpenAPI 3.1 document (the same as GET /openapi.json) and exit
    #[command(after_help = "Example:\n  gatehouse openapi > openapi.json")]
    Openapi,
    /// Copy users, clients, sessions, live tokens and lockout state from one database to
    /// another (SQLite file or PostgreSQL URL, either way); idempotent, verified by counts
    #[command(
        after_help = "Example:\n  gatehouse copy --from gatehouse.db --to postgres://gatehouse@db.internal/gatehouse"
    )]
    Copy {
        /// The database to read
        #[arg(long, value_name = "PATH|URL", value_parser = DatabaseParser)]
        from: Database,
        /// The database to fill (created and migrated when needed)
        #[arg(long, value_name = "PATH|URL", value_parser = DatabaseParser)]
        to: Database,
    },
    /// Write a consistent snapshot of the database (either backend) into a new SQLite file
    /// (mode 0600) while the server keeps serving; verified by counts
    Backup(backup::BackupArgs),
    /// Restore a backup into the empty database of --database (either backend); verified by
    /// counts
    Restore(backup::RestoreArgs),
}

/// `gatehouse migration …`.
#[derive(Debug, clap::Subcommand)]
pub enum MigrationCommand {
    /// Per client and dialect: requests, first and last seen, the legacy-only features used;
    /// dual-run comparisons and differences by kind
    #[command(after_help = "Example:\n  gatehouse migration report --since 30d --json")]
    Report {
        /// JSON instead of text
        #[arg(long)]
        json: bool,
        /// Only clients seen since: an RFC 3339 time, or a span back from now (`30d`, `12h`,
        /// `90m`)
        #[arg(long, value_name = "TIME|SPAN")]
        since: Option<String>,
    },
}

/// `gatehouse user …`.
#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Every user, or those matching --filter: name, id, flags, created
    List(user::ListArgs),
    /// One user: flags, legacy ids, lockout state, live sessions and browser sessions
    Show(user::ShowArgs),
    /// Add a user; the password is the first line of stdin
    #[command(
        after_help = "Example:\n  printf '%s\\n' \"$PASSWORD\" | gatehouse user add alice --name 'Alice Liddell' --email alice@example.org"
    )]
    Add(NewUserArgs),
    /// Set a user's password from the first line of stdin (every session of theirs ends)
    #[command(
        after_help = "Example:\n  printf '%s\\n' \"$PASSWORD\" | gatehouse user passwd alice"
    )]
    Passwd {
        /// User name
        user_name: String,
    },
    /// Disable a user (their tokens stop working at once)
    #[command(after_help = "Example:\n  gatehouse user disable alice")]
    Disable {
        /// User name
        user_name: String,
    },
    /// Enable a disabled user (sessions the disable ended stay ended)
    #[command(after_help = "Example:\n  gatehouse user enable alice")]
    Enable(user::NameArg),
    /// Forget the failed logins of a user's account (and of --address), lifting a lockout
    Unlock(user::UnlockArgs),
    /// End every session of a user: token sessions (every access and refresh token) and
    /// browser sessions
    #[command(after_help = "Example:\n  gatehouse user end-sessions alice")]
    EndSessions(user::NameArg),
    /// Remove a user and everything of theirs; refused while they have live sessions unless
    /// --yes
    Remove(user::RemoveArgs),
}

/// `gatehouse client …`.
#[derive(Debug, clap::Subcommand)]
pub enum ClientCommand {
    /// Every client: id, kind, grants, scope
    List(client::ListArgs),
    /// One client's settings (never its secret)
    Show(client::ShowArgs),
    /// Add a client; a confidential client's generated secret is printed once
    #[command(
        after_help = "Example:\n  gatehouse client add portal --grants authorization_code,refresh_token --scope \"openid api\" --redirect-uri https://portal.example/cb"
    )]
    Add(NewClientArgs),
    /// Change a client's settings: the options of `client add`, each given one replaces
    /// that setting
    Update(client::UpdateArgs),
    /// Replace a client's secret with a new generated one, printed once
    #[command(after_help = "Example:\n  gatehouse client rotate-secret portal > portal.secret")]
    RotateSecret {
        /// Client id
        client_id: String,
    },
    /// Register a client's public keys (a JWK Set file) for private_key_jwt client
    /// authentication, replacing any it had; its secret keeps working (a migration)
    #[command(
        after_help = "Example:\n  gatehouse client set-jwks demo-client demo-client-public-keys.json"
    )]
    SetJwks {
        /// Client id
        client_id: String,
        /// The JWK Set (JSON, public keys only); `-` reads standard input
        #[arg(value_name = "FILE", required_unless_present = "clear")]
        file: Option<PathBuf>,
        /// Remove the keys instead (refused for a client without a secret)
        #[arg(long, conflicts_with = "file")]
        clear: bool,
    },
    /// Remove a client: every token it was issued stops working at once
    Remove(client::RemoveArgs),
}

/// `gatehouse keys …`.
#[derive(Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// Every key: kid, algorithm, status, when it signs, until when it is published
    #[command(after_help = "Example:\n  gatehouse keys list")]
    List,
    /// Add a key (sealed with the key-encryption key of --key-encryption-key-file): published
    /// in the JWKS at once, signing after --publish-delay
    #[command(after_help = "Example:\n  gatehouse keys rotate --alg ES256 --publish-delay 600")]
    Rotate {
        /// RS256, ES256 or EdDSA
        #[arg(long, default_value = "RS256")]
        alg: String,
        /// Seconds between publishing the key and signing with it (longer than any JWKS
        /// cache: the JWKS says max-age=300)
        #[arg(long, default_value_t = 600)]
        publish_delay: i64,
    },
    /// Stop signing with a key; it stays published until every token it signed expired
    #[command(after_help = "Example:\n  gatehouse keys retire 2026-12-01-rs256")]
    Retire {
        /// The key id
        kid: String,
        /// Seconds to keep it published [default: the longest access-token lifetime]
        #[arg(long)]
        keep_published_for: Option<i64>,
    },
}

/// `gatehouse katana …`.
#[derive(Debug, clap::Subcommand)]
pub enum KatanaCommand {
    /// Decode a Katana access token under --katana-machine-key: its claims, properties and
    /// expiry (never the keys). The token is read from stdin when not given (a token on the
    /// command line stays in the shell's history)
    #[command(
        after_help = "Example:\n  printf '%s\\n' \"$TICKET\" | gatehouse --katana-machine-key web.config katana inspect"
    )]
    Inspect {
        /// The token [default: the first line of stdin]
        token: Option<String>,
    },
}

/// Arguments of `user add`.
#[derive(Debug, Clone, clap::Args)]
pub struct NewUserArgs {
    /// User name (unique, case-insensitively)
    pub user_name: String,
    /// May log in at /admin/login/auth_code
    #[arg(long)]
    pub operator: bool,
    /// `is_editor` in v1 responses
    #[arg(long)]
    pub editor: bool,
    /// `QueryAll` in member responses
    #[arg(long)]
    pub query_all: bool,
    /// `DFVisible` in member responses
    #[arg(long)]
    pub df_visible: bool,
    /// Full name (OpenID `name`, released with the `profile` scope)
    #[arg(long)]
    pub name: Option<String>,
    /// E-mail address (OpenID `email`, released with the `email` scope)
    #[arg(long)]
    pub email: Option<String>,
    /// The e-mail address is verified (OpenID `email_verified`; default false)
    #[arg(long, requires = "email")]
    pub email_verified: bool,
}

/// Arguments of `client add`.
#[derive(Debug, Clone, clap::Args)]
pub struct NewClientArgs {
    /// Client id
    pub client_id: String,
    /// Allowed grants, comma separated: password, refresh_token, client_credentials,
    /// authorization_code, onetime, urn:ietf:params:oauth:grant-type:device_code (RFC 8628),
    /// token_exchange
    #[arg(long, value_delimiter = ',', default_value = "password,refresh_token")]
    pub grants: Vec<String>,
    /// Space-separated scope the client may be granted
    #[arg(long, default_value = "")]
    pub scope: String,
    /// Redirect URL returned as `redirect_url` by v1
    #[arg(long)]
    pub redirect_url: Option<String>,
    /// Broker a onetime client acts for
    #[arg(long)]
    pub broker: Option<uuid::Uuid>,
    /// A public client: no secret
    #[arg(long)]
    pub public: bool,
    /// May introspect (and revoke) every client's tokens, not only its own: for resource
    /// servers
    #[arg(long)]
    pub introspect_any: bool,
    /// A redirect URI for /oauth2/authorize, matched exactly (repeat for several)
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// Show a consent page listing the scope before /oauth2/authorize issues a code
    #[arg(long)]
    pub consent_required: bool,
    /// Name shown on the login and consent pages (default: the client id)
    #[arg(long = "name", value_name = "NAME")]
    pub client_name: Option<String>,
    /// Access-token format: opaque (default) or jwt (RFC 9068, signed)
    #[arg(long, default_value = "opaque", value_name = "opaque|jwt")]
    pub access_token_format: String,
    /// `aud` of its JWT access tokens: the resource server that accepts them [default:
    /// the client id]
    #[arg(long)]
    pub audience: Option<String>,
    /// Algorithm of its JWT access tokens (access_token_signed_response_alg)
    /// [default: ES256]
    #[arg(long, value_name = "RS256|ES256|EdDSA")]
    pub access_token_alg: Option<String>,
    /// Algorithm of its id_tokens (id_token_signed_response_alg) [default: RS256]
    #[arg(long, value_name = "RS256|ES256|EdDSA")]
    pub id_token_alg: Option<String>,
    /// Its public keys (a JWK Set file) for private_key_jwt client authentication
    #[arg(long, value_name = "FILE")]
    pub jwks: Option<PathBuf>,
    /// With --jwks: no secret; the client authenticates with private_key_jwt only
    #[arg(long, requires = "jwks", conflicts_with = "public")]
    pub keys_only: bool,
    /// Where /oauth2/logout may send the browser back after an RP-initiated logout
    /// (post_logout_redirect_uris), matched exactly (repeat for several)
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Every authorization request must be pushed first (RFC 9126
    /// require_pushed_authorization_requests; needs --pushed-authorization-requests on)
    #[arg(long)]
    pub require_pushed_authorization_requests: bool,
    /// Where logout tokens are POSTed when a browser session through which the client got
    /// tokens ends (OpenID Connect Back-Channel Logout 1.0; https, or http on loopback)
    #[arg(long, value_name = "URI")]
    pub backchannel_logout_uri: Option<String>,
    /// The client requires `sid` in logout tokens (backchannel_logout_session_required;
    /// Gatehouse always sends it)
    #[arg(long, requires = "backchannel_logout_uri")]
    pub backchannel_logout_session_required: bool,
    /// An audience this client may exchange subject tokens for (RFC 8693 token exchange;
    /// needs the token_exchange grant), matched exactly (repeat for several)
    #[arg(long = "token-exchange-audience", value_name = "AUDIENCE")]
    pub token_exchange_audiences: Vec<String>,
    /// Every token request must carry a DPoP proof; its tokens are bound to the proof's key
    /// (RFC 9449 dpop_bound_access_tokens)
    #[arg(long)]
    pub dpop_bound_access_tokens: bool,
}

impl Command {
    /// Runs the subcommand with `settings`.
    ///
    /// # Errors
    /// A [`Failure`]: the message and the exit status (docs/operations.md).
    pub fn run(self, settings: Settings) -> Result<(), Failure> {
        match self {
            Command::Serve => crate::serve_blocking(settings).map_err(|e| e.to_string().into()),
            Command::Migrate => Ok(migrate(&settings)?),
            Command::Purge => Ok(purge(&settings)?),
            Command::Import { file } => Ok(import(&settings, &file)?),
            Command::User(command) => command.run(&settings),
            Command::Client(command) => command.run(&settings),
            Command::Keys(KeysCommand::List) => Ok(keys_list(&settings)?),
            Command::Keys(KeysCommand::Rotate { alg, publish_delay }) => {
                Ok(keys_rotate(&settings, &alg, publish_delay)?)
            }
            Command::Keys(KeysCommand::Retire {
                kid,
                keep_published_for,
            }) => Ok(keys_retire(&settings, &kid, keep_published_for)?),
            Command::Katana(KatanaCommand::Inspect { token }) => {
                let token = match token {
                    Some(t) => t,
                    None => read_secret_line("token")?.expose().to_owned(),
                };
                println!("{}", katana_inspect(&settings, &token)?);
                Ok(())
            }
            Command::Openapi => {
                use std::io::Write as _;
                // A closed pipe (`gatehouse openapi | head`) is not a failure worth a panic.
                let _ = std::io::stdout().write_all(gatehouse_help::openapi_json().as_bytes());
                Ok(())
            }
            Command::Copy { from, to } => Ok(copy(&settings, &from, &to)?),
            Command::Migration(MigrationCommand::Report { json, since }) => {
                let now = gatehouse_domain::clock::Clock::now(&SystemClock);
                let since = since.as_deref().map(|s| parse_since(s, now)).transpose()?;
                let text = migration_report(&settings, since, json)?;
                print!("{text}");
                Ok(())
            }
            Command::Backup(args) => backup::backup(&settings, &args),
            Command::Restore(args) => backup::restore(&settings, &args),
        }
    }
}

impl UserCommand {
    fn run(self, settings: &Settings) -> Result<(), Failure> {
        match self {
            UserCommand::List(args) => user::list(settings, &args),
            UserCommand::Show(args) => user::show(settings, &args),
            UserCommand::Add(args) => user_add_run(settings, args),
            UserCommand::Passwd { user_name } => user_passwd_run(settings, &user_name),
            UserCommand::Disable { user_name } => user_disable_run(settings, &user_name),
            UserCommand::Enable(args) => user::enable(settings, &args.user_name),
            UserCommand::Unlock(args) => user::unlock(settings, &args),
            UserCommand::EndSessions(args) => user::end_sessions(settings, &args.user_name),
            UserCommand::Remove(args) => user::remove(settings, &args),
        }
    }
}

impl ClientCommand {
    fn run(self, settings: &Settings) -> Result<(), Failure> {
        match self {
            ClientCommand::List(args) => client::list(settings, &args),
            ClientCommand::Show(args) => client::show(settings, &args),
            ClientCommand::Add(args) => client_add_run(settings, args),
            ClientCommand::Update(args) => client::update(settings, args),
            ClientCommand::RotateSecret { client_id } => {
                client_rotate_secret_run(settings, &client_id)
            }
            ClientCommand::Remove(args) => client::remove(settings, &args),
            ClientCommand::SetJwks {
                client_id,
                file,
                clear: _,
            } => Ok(client_set_jwks(settings, &client_id, file.as_deref())?),
        }
    }
}

/// Opens (creating and migrating) `database` with the settings' pool, timeouts and
/// durability.
pub(crate) fn open(database: &Database, settings: &Settings) -> Result<Storage, String> {
    Storage::connect(database, settings.storage_options())
        .map_err(|e| format!("database {database}: {e}"))
}

/// Records an operator change made on the command line (`admin_action`, by the OS user).
pub(crate) fn audited(service: &Service, action: &'static str, target: &str) {
    let operator = ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned());
    service.audit(gatehouse_domain::audit::AuditEvent::AdminAction {
        by: gatehouse_domain::audit::Operator {
            operator,
            via: "cli",
        },
        action,
        target: target.to_owned(),
    });
}

pub(crate) fn service(settings: &Settings) -> Result<Service, String> {
    let storage = open(&settings.database, settings)?;
    let hasher = PasswordHasher::new(settings.hash_iterations)
        .map_err(|e| format!("hash iterations: {e}"))?;
    let rng: Arc<dyn Rng> = Arc::new(SystemRng::new());
    Ok(state::build_service(
        storage,
        settings,
        hasher,
        rng,
        Arc::new(SystemClock),
    ))
}

/// `gatehouse migrate`.
///
/// # Errors
/// The database cannot be opened, or a migration fails (the message names it).
pub fn migrate(settings: &Settings) -> Result<(), String> {
    open(&settings.database, settings)?;
    println!("{}: schema up to date", settings.database);
    Ok(())
}

/// `gatehouse purge`.
///
/// # Errors
/// The database cannot be opened or the purge's transaction fails.
pub fn purge(settings: &Settings) -> Result<(), String> {
    let rows = service(settings)?
        .purge_expired()
        .map_err(|e| e.to_string())?;
    println!("{}: {rows} expired rows purged", settings.database);
    Ok(())
}

/// `gatehouse import FILE`.
///
/// # Errors
/// The file cannot be read or is not a valid document (`docs/import.md`), the database
/// cannot be opened, or the import is refused (a conflict with stored data, a bad hash);
/// nothing is written then.
pub fn import(settings: &Settings, file: &std::path::Path) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let doc = ImportDocument::from_json(&text).map_err(|e| e.to_string())?;
    let service = service(settings)?;
    let report = service.import(&doc).map_err(|e| e.to_string())?;
    audited(&service, "import", &file.display().to_string());
    println!(
        "imported {} brokers, {} clients, {} users, {} members, {} sub-accounts, {} trading accounts ({} passwords hashed)",
        report.brokers,
        report.clients,
        report.users,
        report.members,
        report.sub_accounts,
        report.trading_accounts,
        report.passwords_hashed
    );
    Ok(())
}

fn read_secret_line(what: &str) -> Result<Secret, String> {
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprintln!("{what} (then Enter):");
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("reading the {what} from stdin: {e}"))?;
    let value = line.trim_end_matches(['\r', '\n']);
    if value.is_empty() {
        return Err(format!("the {what} read from stdin is empty"));
    }
    Ok(Secret::from(value.to_owned()))
}

/// `gatehouse user add NAME` (the message of its [`Failure`]).
///
/// # Errors
/// What went wrong, as the command line prints it.
pub fn user_add(settings: &Settings, args: NewUserArgs) -> Result<(), String> {
    user_add_run(settings, args).map_err(|f| f.message)
}

/// `gatehouse user add NAME`.
fn user_add_run(settings: &Settings, args: NewUserArgs) -> Result<(), Failure> {
    let password = read_secret_line("password")?;
    let spec = UserSpec {
        user_name: args.user_name,
        flags: UserFlags {
            operator: args.operator,
            editor: args.editor,
            query_all: args.query_all,
            df_visible: args.df_visible,
            disabled: false,
        },
        profile: gatehouse_domain::model::UserProfile {
            name: args.name,
            email: args.email,
            email_verified: args.email_verified,
        },
    };
    let service = service(settings)?;
    let user = service.add_user(spec, &password)?;
    audited(&service, "user.add", &user.user_name);
    println!("user {} added with id {}", user.user_name, user.id);
    Ok(())
}

/// `gatehouse user passwd NAME` (the message of its [`Failure`]).
///
/// # Errors
/// What went wrong, as the command line prints it.
pub fn user_passwd(settings: &Settings, user_name: &str) -> Result<(), String> {
    user_passwd_run(settings, user_name).map_err(|f| f.message)
}

/// `gatehouse user passwd NAME`.
fn user_passwd_run(settings: &Settings, user_name: &str) -> Result<(), Failure> {
    let password = read_secret_line("password")?;
    let service = service(settings)?;
    service.set_password(user_name, &password)?;
    audited(&service, "user.passwd", user_name);
    println!("password of {user_name} changed; every session of theirs has ended");
    Ok(())
}

/// `gatehouse user disable NAME` (the message of its [`Failure`]).
///
/// # Errors
/// What went wrong, as the command line prints it.
pub fn user_disable(settings: &Settings, user_name: &str) -> Result<(), String> {
    user_disable_run(settings, user_name).map_err(|f| f.message)
}

/// `gatehouse user disable NAME`.
fn user_disable_run(settings: &Settings, user_name: &str) -> Result<(), Failure> {
    let service = service(settings)?;
    service.set_user_disabled(user_name, true)?;
    audited(&service, "user.disable", user_name);
    println!("user {user_name} disabled; every session of theirs has ended");
    Ok(())
}

/// `gatehouse client add ID` (the message of its [`Failure`]).
///
/// # Errors
/// What went wrong, as the command line prints it.
pub fn client_add(settings: &Settings, args: NewClientArgs) -> Result<(), String> {
    client_add_run(settings, args).map_err(|f| f.message)
}

/// `gatehouse client add ID`.
fn client_add_run(settings: &Settings, args: NewClientArgs) -> Result<(), Failure> {
    let client_id = args.client_id.clone();
    let keys_only = args.keys_only;
    let spec = client::spec_of(args)?;
    let service = service(settings)?;
    let secret = service.add_client(spec)?;
    audited(&service, "client.add", &client_id);
    match secret {
        Some(secret) => {
            eprintln!("client {client_id} added; its secret (shown once):");
            println!("{}", secret.expose());
        }
        None if keys_only => {
            println!("client {client_id} added (private_key_jwt only, no secret)");
        }
        None => println!("public client {client_id} added"),
    }
    Ok(())
}

/// A JWK Set file (`-`: standard input), at most 16 KiB read.
fn read_jwks(path: &Path) -> Result<String, String> {
    use std::io::Read as _;
    let limit = gatehouse_domain::client_assertion::MAX_JWKS_BYTES as u64 + 1;
    let mut text = String::new();
    let read = if path == Path::new("-") {
        std::io::stdin().take(limit).read_to_string(&mut text)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(limit).read_to_string(&mut text))
    };
    read.map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text)
}

/// `gatehouse client set-jwks ID FILE` (or `--clear`).
///
/// # Errors
/// The file cannot be read, the client is unknown, the JWK Set is refused (no usable
/// public key, a private key in it), or the database fails.
pub fn client_set_jwks(
    settings: &Settings,
    client_id: &str,
    file: Option<&Path>,
) -> Result<(), String> {
    let jwks = file.map(read_jwks).transpose()?;
    let service = service(settings)?;
    service
        .set_client_jwks(client_id, jwks.as_deref())
        .map_err(|e| e.to_string())?;
    audited(&service, "client.set_jwks", client_id);
    match file {
        Some(_) => println!("keys of {client_id} registered (private_key_jwt)"),
        None => println!("keys of {client_id} removed"),
    }
    Ok(())
}

/// `gatehouse client rotate-secret ID` (the message of its [`Failure`]).
///
/// # Errors
/// What went wrong, as the command line prints it.
pub fn client_rotate_secret(settings: &Settings, client_id: &str) -> Result<(), String> {
    client_rotate_secret_run(settings, client_id).map_err(|f| f.message)
}

/// `gatehouse client rotate-secret ID`.
fn client_rotate_secret_run(settings: &Settings, client_id: &str) -> Result<(), Failure> {
    let service = service(settings)?;
    let secret = service.rotate_client_secret(client_id)?;
    audited(&service, "client.rotate_secret", client_id);
    eprintln!("new secret of {client_id} (shown once; the old one no longer works):");
    println!("{}", secret.expose());
    Ok(())
}

/// `copy --from … --to …`: users, clients, sessions, live tokens and codes, and lockout state
/// from one database into another (either backend; both migrated first). Idempotent; a
/// progress line per chunk on stderr; verified by counts at the end.
///
/// # Errors
/// `--from` and `--to` name the same database, either cannot be opened or migrated, or a
/// chunk or the final count check fails (the message says which table).
pub fn copy(settings: &Settings, from: &Database, to: &Database) -> Result<(), String> {
    use gatehouse_domain::clock::Clock as _;
    use std::io::Write as _;
    // Compared as shown (passwords as `***`): one database named with two passwords is one.
    if from.to_string() == to.to_string() {
        return Err("copy: --from and --to name the same database".to_owned());
    }
    let source = open(from, settings)?;
    let target = open(to, settings)?;
    eprintln!("copying {from} -> {to}");
    let mut stderr = std::io::stderr();
    let report = gatehouse_storage::copy(&source, &target, SystemClock.now(), &mut |t| {
        let _ = write!(
            stderr,
            "\r{:<20} {:>10} of {:>10} copied, {:>10} already there",
            t.table, t.inserted, t.source_rows, t.already_present
        );
        if t.destination_rows > 0 || t.source_rows == 0 {
            let _ = writeln!(stderr);
        }
    })
    .map_err(|e| format!("copy: {e}"))?;
    for t in &report.tables {
        println!(
            "{}: {} in the source, {} in the destination ({} copied now)",
            t.table, t.source_rows, t.destination_rows, t.inserted
        );
    }
    println!("copy verified: every table holds at least the source's rows");
    Ok(())
}

/// `gatehouse keys list`.
///
/// # Errors
/// The database cannot be opened or read.
pub fn keys_list(settings: &Settings) -> Result<(), String> {
    let keys = service(settings)?.list_keys().map_err(|e| e.to_string())?;
    let show = |t: Option<time::OffsetDateTime>| {
        t.and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "-".to_owned())
    };
    println!(
        "{:<18} {:<6} {:<11} {:<21} published until",
        "kid", "alg", "status", "signs from"
    );
    for (key, status) in keys {
        println!(
            "{:<18} {:<6} {:<11} {:<21} {}",
            key.kid,
            key.alg,
            status.as_str(),
            show(Some(key.activates_at)),
            show(key.published_until)
        );
    }
    Ok(())
}

/// `gatehouse keys rotate`.
///
/// # Errors
/// An unknown `--alg`, a negative `--publish-delay`, no key-encryption key configured (or
/// one that does not open the stored keys), or the database fails.
pub fn keys_rotate(settings: &Settings, alg: &str, publish_delay: i64) -> Result<(), String> {
    let alg = gatehouse_domain::keys::Alg::parse(alg)
        .ok_or_else(|| "--alg must be RS256, ES256 or EdDSA".to_owned())?;
    if publish_delay < 0 {
        return Err("--publish-delay must not be negative".to_owned());
    }
    let ring = state::key_ring(settings, &SystemRng::new())?.ok_or_else(|| {
        "keys rotate needs the key-encryption key: --key-encryption-key-file, \
         GATEHOUSE_KEY_ENCRYPTION_KEY_FILE or key_encryption_key_file in the config file"
            .to_owned()
    })?;
    let service = service(settings)?.with_key_ring(Arc::new(ring));
    let key = service
        .rotate_key(alg, time::Duration::seconds(publish_delay))
        .map_err(|e| e.to_string())?;
    audited(&service, "keys.rotate", &key.kid);
    println!(
        "key {} ({}) published; it signs from {}",
        key.kid,
        key.alg,
        key.activates_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    );
    Ok(())
}

/// `gatehouse keys retire KID`.
///
/// # Errors
/// A negative `--keep-published-for`, an unknown kid, or the database fails.
pub fn keys_retire(settings: &Settings, kid: &str, keep: Option<i64>) -> Result<(), String> {
    if keep.is_some_and(|k| k < 0) {
        return Err("--keep-published-for must not be negative".to_owned());
    }
    let service = service(settings)?;
    let until = service
        .retire_key(kid, keep.map(time::Duration::seconds))
        .map_err(|e| e.to_string())?;
    audited(&service, "keys.retire", kid);
    println!(
        "key {kid} retired; published until {}",
        until
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    );
    Ok(())
}

/// `gatehouse katana inspect`: what a Katana access token holds, as JSON (claims in order,
/// properties, issue and expiry, whether it is expired now), or why it is refused under the
/// configured machineKey. Never the keys.
///
/// # Errors
/// No machineKey configured, or one refused; the token is not a ticket under it.
pub fn katana_inspect(settings: &Settings, token: &str) -> Result<String, String> {
    let katana = state::katana_tickets(settings)?.ok_or("no --katana-machine-key configured")?;
    let ticket = katana
        .format()
        .unprotect(token.trim())
        .map_err(|e| format!("not a Katana access token under this machineKey: {e}"))?;
    let now = gatehouse_domain::clock::Clock::now(&SystemClock);
    let claims: Vec<serde_json::Value> = ticket
        .claims
        .iter()
        .map(|c| {
            serde_json::json!({
                "type": c.claim_type, "value": c.value, "valueType": c.value_type,
                "issuer": c.issuer, "originalIssuer": c.original_issuer,
            })
        })
        .collect();
    let properties: serde_json::Map<String, serde_json::Value> = ticket
        .properties
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str())))
        .collect();
    let rfc3339 = |t: Option<time::OffsetDateTime>| {
        t.and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
    };
    let out = serde_json::json!({
        "authenticationType": ticket.authentication_type,
        "nameClaimType": ticket.name_claim_type,
        "roleClaimType": ticket.role_claim_type,
        "claims": claims,
        "properties": properties,
        "issued": rfc3339(ticket.issued()),
        "expires": rfc3339(ticket.expires()),
        "expired": ticket.expires().is_none_or(|e| e <= now),
    });
    serde_json::to_string_pretty(&out).map_err(|e| e.to_string())
}

/// `--since`: an RFC 3339 time, or `N` followed by `d`, `h` or `m` back from `now`.
///
/// # Errors
/// Neither.
pub fn parse_since(text: &str, now: time::OffsetDateTime) -> Result<time::OffsetDateTime, String> {
    let bad = || format!("--since {text:?}: an RFC 3339 time or a span like 30d, 12h, 90m");
    if let Ok(t) = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
    {
        return Ok(t);
    }
    let (n, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = n.parse().map_err(|_| bad())?;
    let span = match unit {
        "d" => time::Duration::days(n),
        "h" => time::Duration::hours(n),
        "m" => time::Duration::minutes(n),
        _ => return Err(bad()),
    };
    if n < 0 {
        return Err(bad());
    }
    now.checked_sub(span).ok_or_else(bad)
}

/// `gatehouse migration report`: the text (or JSON) printed.
///
/// # Errors
/// The database cannot be opened or read.
pub fn migration_report(
    settings: &Settings,
    since: Option<time::OffsetDateTime>,
    json: bool,
) -> Result<String, String> {
    let report = service(settings)?
        .migration_report(since)
        .map_err(|e| e.to_string())?;
    Ok(if json {
        report_json(&report).to_string() + "\n"
    } else {
        report_text(&report)
    })
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn report_json(report: &gatehouse_domain::dual_run::MigrationReport) -> serde_json::Value {
    use serde_json::json;
    let usage: Vec<_> = report
        .usage
        .iter()
        .map(|u| {
            let features: serde_json::Map<String, serde_json::Value> = u
                .features
                .named()
                .iter()
                .map(|(k, v)| ((*k).to_owned(), json!(v)))
                .collect();
            json!({
                "client_id": u.client_id,
                "dialect": u.dialect,
                "requests": u.requests,
                "first_seen": rfc3339(u.first_seen),
                "last_seen": rfc3339(u.last_seen),
                "features": features,
            })
        })
        .collect();
    let comparisons: Vec<_> = report
        .comparisons
        .iter()
        .map(|c| json!({"dialect": c.dialect, "endpoint": c.endpoint, "kind": c.kind, "count": c.count}))
        .collect();
    json!({
        "usage": usage,
        "dual_run": {
            "comparisons": comparisons,
            "differences_stored": report.differences_stored,
        },
        "capture": {
            "users_captured": report.users_captured,
            "users_to_capture": report.users_to_capture,
        },
    })
}

fn report_text(report: &gatehouse_domain::dual_run::MigrationReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "Legacy dialects in use (per client):");
    if report.usage.is_empty() {
        let _ = writeln!(out, "  none recorded");
    }
    for u in &report.usage {
        let client = if u.client_id.is_empty() {
            "(no client)"
        } else {
            &u.client_id
        };
        let features: Vec<String> = u
            .features
            .named()
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let _ = writeln!(
            out,
            "  {:<8} {:<24} requests {:>8}  last seen {}  features: {}",
            u.dialect,
            client,
            u.requests,
            rfc3339(u.last_seen),
            if features.is_empty() {
                "none".to_owned()
            } else {
                features.join(", ")
            }
        );
    }
    let _ = writeln!(out, "Dual-run comparisons:");
    if report.comparisons.is_empty() {
        let _ = writeln!(out, "  none recorded");
    }
    for c in &report.comparisons {
        let _ = writeln!(
            out,
            "  {:<8} {:<28} {:<20} {:>8}",
            c.dialect, c.endpoint, c.kind, c.count
        );
    }
    let _ = writeln!(out, "Differences stored: {}", report.differences_stored);
    let _ = writeln!(out, "Credential capture:");
    let _ = writeln!(out, "  users captured        {:>8}", report.users_captured);
    let _ = writeln!(
        out,
        "  users still to capture {:>7}",
        report.users_to_capture
    );
    out
}
