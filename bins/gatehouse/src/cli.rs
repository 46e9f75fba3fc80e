//! The one-off commands: `migrate`, `import`, `user …`, `client …`. Passwords come from
//! stdin, never from argv (argv is visible to every user of the machine); generated secrets
//! are printed once on stdout.

use std::io::BufRead as _;
use std::path::Path;
use std::sync::Arc;

use gatehouse_domain::clock::SystemClock;
use gatehouse_domain::credentials::{PasswordHasher, DEFAULT_ITERATIONS};
use gatehouse_domain::import::{parse_alg, ImportDocument, NewClientSpec, NewUserSpec};
use gatehouse_domain::keys::Alg;
use gatehouse_domain::model::{GrantSet, UserFlags};
use gatehouse_domain::rng::{Rng, SystemRng};
use gatehouse_domain::secret::Secret;

use crate::config::{Config, FileConfig, ServeArgs, Synchronous};
use crate::state::{self, Service};

/// User flags of `user add`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    /// Operator.
    pub operator: bool,
    /// Editor.
    pub editor: bool,
    /// QueryAll.
    pub query_all: bool,
    /// DFVisible.
    pub df_visible: bool,
}

/// Arguments of `client add`.
#[derive(Debug, Clone)]
pub struct NewClientArgs {
    /// Client id.
    pub client_id: String,
    /// Grant names.
    pub grants: Vec<String>,
    /// Scope.
    pub scope: String,
    /// Redirect URL.
    pub redirect_url: Option<String>,
    /// Broker.
    pub broker: Option<uuid::Uuid>,
    /// No secret.
    pub public: bool,
    /// May introspect and revoke every client's tokens (a resource server).
    pub introspect_any: bool,
    /// Redirect URIs of `/oauth2/authorize`.
    pub redirect_uris: Vec<String>,
    /// Consent page at `/oauth2/authorize`.
    pub consent_required: bool,
    /// Display name on the login and consent pages.
    pub client_name: Option<String>,
    /// `opaque` or `jwt`.
    pub access_token_format: String,
    /// `aud` of its JWT access tokens (default: the client id).
    pub audience: Option<String>,
    /// Algorithm of its JWT access tokens (default ES256).
    pub access_token_alg: Option<String>,
    /// Algorithm of its id_tokens (default RS256).
    pub id_token_alg: Option<String>,
}

fn service(database: &Path, hash_iterations: Option<u32>) -> Result<Service, String> {
    let storage = state::open_storage(database, Synchronous::Full)
        .map_err(|e| format!("database {}: {e}", state::database_label(database)))?;
    let hasher = PasswordHasher::new(hash_iterations.unwrap_or(DEFAULT_ITERATIONS))
        .map_err(|e| format!("hash iterations: {e}"))?;
    let rng: Arc<dyn Rng> = Arc::new(SystemRng::new());
    let config = Config::resolve(ServeArgs::default(), None, FileConfig::default())?;
    Ok(state::build_service(
        storage,
        &config,
        hasher,
        rng,
        Arc::new(SystemClock),
    ))
}

/// `gatehouse migrate`.
pub fn migrate(database: &Path) -> Result<(), String> {
    state::open_storage(database, Synchronous::Full)
        .map_err(|e| format!("database {}: {e}", state::database_label(database)))?;
    println!("{}: schema up to date", state::database_label(database));
    Ok(())
}

/// `gatehouse import FILE`.
pub fn import(database: &Path, file: &Path, hash_iterations: Option<u32>) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let doc = ImportDocument::from_json(&text).map_err(|e| e.to_string())?;
    let report = service(database, hash_iterations)?
        .import(&doc)
        .map_err(|e| e.to_string())?;
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

/// `gatehouse user add NAME`.
pub fn user_add(
    database: &Path,
    user_name: &str,
    flags: Flags,
    profile: gatehouse_domain::model::UserProfile,
    hash_iterations: Option<u32>,
) -> Result<(), String> {
    let password = read_secret_line("password")?;
    let spec = NewUserSpec {
        user_name: user_name.to_owned(),
        flags: UserFlags {
            operator: flags.operator,
            editor: flags.editor,
            query_all: flags.query_all,
            df_visible: flags.df_visible,
            disabled: false,
        },
        profile,
    };
    let user = service(database, hash_iterations)?
        .add_user(spec, &password)
        .map_err(|e| e.to_string())?;
    println!("user {} added with id {}", user.user_name, user.id);
    Ok(())
}

/// `gatehouse user passwd NAME`.
pub fn user_passwd(
    database: &Path,
    user_name: &str,
    hash_iterations: Option<u32>,
) -> Result<(), String> {
    let password = read_secret_line("password")?;
    service(database, hash_iterations)?
        .set_password(user_name, &password)
        .map_err(|e| e.to_string())?;
    println!("password of {user_name} changed; every session of theirs has ended");
    Ok(())
}

/// `gatehouse user disable NAME`.
pub fn user_disable(database: &Path, user_name: &str) -> Result<(), String> {
    service(database, None)?
        .set_user_disabled(user_name, true)
        .map_err(|e| e.to_string())?;
    println!("user {user_name} disabled; every session of theirs has ended");
    Ok(())
}

/// `gatehouse client add ID`.
pub fn client_add(database: &Path, args: NewClientArgs) -> Result<(), String> {
    let grants = GrantSet::parse_names(&args.grants.join(" "))?;
    let spec = NewClientSpec {
        client_id: args.client_id.clone(),
        confidential: !args.public,
        grants,
        scope: args.scope,
        redirect_url: args.redirect_url,
        broker_id: args.broker,
        introspect_any: args.introspect_any,
        redirect_uris: args.redirect_uris,
        consent_required: args.consent_required,
        client_name: args.client_name,
        access_token_format: gatehouse_domain::model::TokenFormat::parse(&args.access_token_format)
            .ok_or_else(|| "--access-token-format must be opaque or jwt".to_owned())?,
        signing: gatehouse_domain::model::TokenSigning {
            audience: args.audience,
            access_token_alg: parse_alg(
                &args.client_id,
                "--access-token-alg",
                args.access_token_alg.as_deref(),
                Alg::Es256,
            )
            .map_err(|e| e.to_string())?,
            id_token_alg: parse_alg(
                &args.client_id,
                "--id-token-alg",
                args.id_token_alg.as_deref(),
                Alg::Rs256,
            )
            .map_err(|e| e.to_string())?,
        },
    };
    let secret = service(database, None)?
        .add_client(spec)
        .map_err(|e| e.to_string())?;
    match secret {
        Some(secret) => {
            eprintln!("client {} added; its secret (shown once):", args.client_id);
            println!("{}", secret.expose());
        }
        None => println!("public client {} added", args.client_id),
    }
    Ok(())
}

/// `gatehouse client rotate-secret ID`.
pub fn client_rotate_secret(database: &Path, client_id: &str) -> Result<(), String> {
    let secret = service(database, None)?
        .rotate_client_secret(client_id)
        .map_err(|e| e.to_string())?;
    eprintln!("new secret of {client_id} (shown once; the old one no longer works):");
    println!("{}", secret.expose());
    Ok(())
}

/// `copy --from … --to …`: users, clients, sessions, live tokens and codes, and lockout state
/// from one database into another (either backend; both migrated first). Idempotent; a
/// progress line per chunk on stderr; verified by counts at the end.
pub fn copy(from: &Path, to: &Path) -> Result<(), String> {
    use gatehouse_domain::clock::Clock as _;
    use std::io::Write as _;
    let (from_label, to_label) = (state::database_label(from), state::database_label(to));
    if from_label == to_label {
        return Err("copy: --from and --to name the same database".to_owned());
    }
    let source = state::open_storage(from, Synchronous::Full)
        .map_err(|e| format!("database {from_label}: {e}"))?;
    let target = state::open_storage(to, Synchronous::Full)
        .map_err(|e| format!("database {to_label}: {e}"))?;
    eprintln!("copying {from_label} -> {to_label}");
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
pub fn keys_list(database: &Path) -> Result<(), String> {
    let keys = service(database, None)?
        .list_keys()
        .map_err(|e| e.to_string())?;
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
pub fn keys_rotate(
    database: &Path,
    alg: &str,
    publish_delay: i64,
    kek_file: &Path,
) -> Result<(), String> {
    let alg = gatehouse_domain::keys::Alg::parse(alg)
        .ok_or_else(|| "--alg must be RS256, ES256 or EdDSA".to_owned())?;
    if publish_delay < 0 {
        return Err("--publish-delay must not be negative".to_owned());
    }
    let ring = state::load_key_ring(kek_file)?;
    let service = service(database, None)?.with_key_ring(Arc::new(ring));
    let key = service
        .rotate_key(alg, time::Duration::seconds(publish_delay))
        .map_err(|e| e.to_string())?;
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
pub fn keys_retire(database: &Path, kid: &str, keep: Option<i64>) -> Result<(), String> {
    if keep.is_some_and(|k| k < 0) {
        return Err("--keep-published-for must not be negative".to_owned());
    }
    let until = service(database, None)?
        .retire_key(kid, keep.map(time::Duration::seconds))
        .map_err(|e| e.to_string())?;
    println!(
        "key {kid} retired; published until {}",
        until
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    );
    Ok(())
}
