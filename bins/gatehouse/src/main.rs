//! The `gatehouse` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gatehouse::config::ServeArgs;

/// mimalloc for Rust and (through its `override` feature) for the bundled SQLite: glibc's
/// malloc and free were a quarter of the CPU profile of introspection under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Gatehouse: the five legacy ASP.NET Web API token dialects on one server.
///
/// Settings come from flags, then GATEHOUSE_* environment variables, then the config file
/// (--config, default ./gatehouse.toml when present), then the defaults.
#[derive(Debug, Parser)]
#[command(name = "gatehouse", version, about, long_about)]
struct Cli {
    /// SQLite database file, sqlite://PATH, or postgres://user:password@host:port/database
    /// (the password is never logged) [default: ./gatehouse.db]
    #[arg(
        long,
        global = true,
        env = "GATEHOUSE_DATABASE",
        value_name = "PATH|URL"
    )]
    database: Option<PathBuf>,
    /// TOML config file with the same settings as the flags
    #[arg(long, global = true, env = "GATEHOUSE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log filter, e.g. `info` or `gatehouse=debug` [default: info]
    #[arg(long, global = true, env = "GATEHOUSE_LOG", value_name = "FILTER")]
    log: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
// Parsed once per run: the size of `serve`'s flags does not matter.
#[allow(clippy::large_enum_variant)]
enum Command {
    /// Run the server (migrations run first)
    Serve(Box<ServeArgs>),
    /// Create or upgrade the database schema and exit
    Migrate,
    /// Provision clients, users, members, brokers and trading accounts from a JSON document
    /// (idempotent; format in docs/import.md)
    Import {
        /// The document
        file: PathBuf,
        /// PBKDF2 iterations for plain passwords in the document [default: 600000]
        #[arg(long, env = "GATEHOUSE_HASH_ITERATIONS")]
        hash_iterations: Option<u32>,
    },
    /// Add, re-password or disable a user (passwords are read from stdin)
    #[command(subcommand)]
    User(UserCommand),
    /// Add a client or rotate its secret (the new secret is printed once)
    #[command(subcommand)]
    Client(ClientCommand),
    /// List, rotate or retire the keys that sign JWT access tokens and id_tokens
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print the OpenAPI 3.1 document (the same as GET /openapi.json) and exit
    Openapi,
    /// Copy users, clients, sessions, live tokens and lockout state from one database to
    /// another (SQLite file or PostgreSQL URL, either way); idempotent, verified by counts
    Copy {
        /// The database to read
        #[arg(long, value_name = "PATH|URL")]
        from: PathBuf,
        /// The database to fill (created and migrated when needed)
        #[arg(long, value_name = "PATH|URL")]
        to: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user; the password is the first line of stdin
    Add {
        /// User name (unique, case-insensitively)
        user_name: String,
        /// May log in at /admin/login/auth_code
        #[arg(long)]
        operator: bool,
        /// `is_editor` in v1 responses
        #[arg(long)]
        editor: bool,
        /// `QueryAll` in member responses
        #[arg(long)]
        query_all: bool,
        /// `DFVisible` in member responses
        #[arg(long)]
        df_visible: bool,
        /// Full name (OpenID `name`, released with the `profile` scope)
        #[arg(long)]
        name: Option<String>,
        /// E-mail address (OpenID `email`, released with the `email` scope)
        #[arg(long)]
        email: Option<String>,
        /// The e-mail address is verified (OpenID `email_verified`; default false)
        #[arg(long, requires = "email")]
        email_verified: bool,
        /// PBKDF2 iterations [default: 600000]
        #[arg(long, env = "GATEHOUSE_HASH_ITERATIONS")]
        hash_iterations: Option<u32>,
    },
    /// Set a user's password from the first line of stdin
    Passwd {
        /// User name
        user_name: String,
        /// PBKDF2 iterations [default: 600000]
        #[arg(long, env = "GATEHOUSE_HASH_ITERATIONS")]
        hash_iterations: Option<u32>,
    },
    /// Disable a user (their tokens stop working at once)
    Disable {
        /// User name
        user_name: String,
    },
}

// Parsed once per process: the size of `Add` costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum ClientCommand {
    /// Add a client; a confidential client's generated secret is printed once
    Add {
        /// Client id
        client_id: String,
        /// Allowed grants, comma separated: password, refresh_token, client_credentials,
        /// authorization_code, onetime
        #[arg(long, value_delimiter = ',', default_value = "password,refresh_token")]
        grants: Vec<String>,
        /// Space-separated scope the client may be granted
        #[arg(long, default_value = "")]
        scope: String,
        /// Redirect URL returned as `redirect_url` by v1
        #[arg(long)]
        redirect_url: Option<String>,
        /// Broker a onetime client acts for
        #[arg(long)]
        broker: Option<uuid::Uuid>,
        /// A public client: no secret
        #[arg(long)]
        public: bool,
        /// May introspect (and revoke) every client's tokens, not only its own: for resource
        /// servers
        #[arg(long)]
        introspect_any: bool,
        /// A redirect URI for /oauth2/authorize, matched exactly (repeat for several)
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// Show a consent page listing the scope before /oauth2/authorize issues a code
        #[arg(long)]
        consent_required: bool,
        /// Name shown on the login and consent pages (default: the client id)
        #[arg(long = "name", value_name = "NAME")]
        client_name: Option<String>,
        /// Access-token format: opaque (default) or jwt (RFC 9068, signed)
        #[arg(long, default_value = "opaque", value_name = "opaque|jwt")]
        access_token_format: String,
        /// `aud` of its JWT access tokens: the resource server that accepts them [default:
        /// the client id]
        #[arg(long)]
        audience: Option<String>,
        /// Algorithm of its JWT access tokens (access_token_signed_response_alg)
        /// [default: ES256]
        #[arg(long, value_name = "RS256|ES256|EdDSA")]
        access_token_alg: Option<String>,
        /// Algorithm of its id_tokens (id_token_signed_response_alg) [default: RS256]
        #[arg(long, value_name = "RS256|ES256|EdDSA")]
        id_token_alg: Option<String>,
    },
    /// Replace a client's secret with a new generated one, printed once
    RotateSecret {
        /// Client id
        client_id: String,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Every key: kid, algorithm, status, when it signs, until when it is published
    List,
    /// Add a key: published in the JWKS at once, signing after --publish-delay
    Rotate {
        /// RS256, ES256 or EdDSA
        #[arg(long, default_value = "RS256")]
        alg: String,
        /// Seconds between publishing the key and signing with it (longer than any JWKS
        /// cache: the JWKS says max-age=300)
        #[arg(long, default_value_t = 600)]
        publish_delay: i64,
        /// The key-encryption key file
        #[arg(long, env = "GATEHOUSE_KEY_ENCRYPTION_KEY_FILE", value_name = "PATH")]
        key_encryption_key_file: PathBuf,
    },
    /// Stop signing with a key; it stays published until every token it signed expired
    Retire {
        /// The key id
        kid: String,
        /// Seconds to keep it published [default: the longest access-token lifetime]
        #[arg(long)]
        keep_published_for: Option<i64>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Openapi) {
        use std::io::Write as _;
        // A closed pipe (`gatehouse openapi | head`) is not a failure worth a panic.
        let _ = std::io::stdout().write_all(gatehouse_help::openapi_json().as_bytes());
        return ExitCode::SUCCESS;
    }
    gatehouse::telemetry::init(cli.log.as_deref().unwrap_or("info"));
    let file = match gatehouse::config::FileConfig::load(cli.config.as_deref()) {
        Ok(f) => f,
        Err(e) => return fail(&e),
    };
    let database = cli
        .database
        .clone()
        .or_else(|| file.database().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("gatehouse.db"));
    let result = match cli.command {
        Command::Serve(args) => {
            match gatehouse::config::Config::resolve(*args, Some(database), file) {
                Ok(config) => gatehouse::serve_blocking(config).map_err(|e| e.to_string()),
                Err(e) => Err(e),
            }
        }
        Command::Migrate => gatehouse::cli::migrate(&database),
        Command::Import {
            file: doc,
            hash_iterations,
        } => gatehouse::cli::import(&database, &doc, hash_iterations),
        Command::User(UserCommand::Add {
            user_name,
            operator,
            editor,
            query_all,
            df_visible,
            name,
            email,
            email_verified,
            hash_iterations,
        }) => gatehouse::cli::user_add(
            &database,
            &user_name,
            gatehouse::cli::Flags {
                operator,
                editor,
                query_all,
                df_visible,
            },
            gatehouse_domain::model::UserProfile {
                name,
                email,
                email_verified,
            },
            hash_iterations,
        ),
        Command::User(UserCommand::Passwd {
            user_name,
            hash_iterations,
        }) => gatehouse::cli::user_passwd(&database, &user_name, hash_iterations),
        Command::User(UserCommand::Disable { user_name }) => {
            gatehouse::cli::user_disable(&database, &user_name)
        }
        Command::Client(ClientCommand::Add {
            client_id,
            grants,
            scope,
            redirect_url,
            broker,
            public,
            introspect_any,
            redirect_uris,
            consent_required,
            client_name,
            access_token_format,
            audience,
            access_token_alg,
            id_token_alg,
        }) => gatehouse::cli::client_add(
            &database,
            gatehouse::cli::NewClientArgs {
                client_id,
                grants,
                scope,
                redirect_url,
                broker,
                public,
                introspect_any,
                redirect_uris,
                consent_required,
                client_name,
                access_token_format,
                audience,
                access_token_alg,
                id_token_alg,
            },
        ),
        Command::Keys(KeysCommand::List) => gatehouse::cli::keys_list(&database),
        Command::Keys(KeysCommand::Rotate {
            alg,
            publish_delay,
            key_encryption_key_file,
        }) => gatehouse::cli::keys_rotate(&database, &alg, publish_delay, &key_encryption_key_file),
        Command::Keys(KeysCommand::Retire {
            kid,
            keep_published_for,
        }) => gatehouse::cli::keys_retire(&database, &kid, keep_published_for),
        Command::Client(ClientCommand::RotateSecret { client_id }) => {
            gatehouse::cli::client_rotate_secret(&database, &client_id)
        }
        Command::Openapi => Ok(()),
        Command::Copy { from, to } => gatehouse::cli::copy(&from, &to),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("gatehouse: {message}");
    ExitCode::FAILURE
}
