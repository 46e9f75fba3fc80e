//! The shared state of the HTTP workers and the two ways a handler calls the domain:
//! [`AppState::blocking`] on actix's blocking pool (SQLite work) and [`AppState::hashing`] on
//! the bounded password-hash pool, which answers 503 at once when its queue is full.

use std::path::Path;
use std::sync::Arc;

use crate::hash_pool::HashPool;
use actix_web::web;
use gatehouse_domain::clock::Clock;
use gatehouse_domain::credentials::PasswordHasher;
use gatehouse_domain::rng::Rng;
use gatehouse_domain::service::Gatehouse;
use gatehouse_domain::store::Pending;
use gatehouse_domain::Error as DomainError;
use gatehouse_storage::{timing, Database, Storage};

use crate::config::{DualRunMode, Settings};
use crate::http::ApiError;
use crate::metrics::{Gauges, Metrics};

/// The grant logic over SQLite.
pub type Service = Gatehouse<Storage>;

/// Assembles the service from the configuration.
pub fn build_service(
    storage: Storage,
    config: &Settings,
    hasher: PasswordHasher,
    rng: Arc<dyn Rng>,
    clock: Arc<dyn Clock>,
) -> Service {
    let open =
        |path| crate::audit_log::AuditLog::open(path, config.audit_log_max_bytes, clock.clone());
    let audit = open(config.audit_log.as_deref()).unwrap_or_else(|e| {
        // Settings::load refused an audit log it could not open; one that became
        // unwritable since is reported, and the events are still counted.
        tracing::error!(error = %e, "audit log unavailable");
        crate::audit_log::AuditLog::counting(clock.clone())
    });
    Gatehouse::new(storage, clock, rng, hasher, config.into()).with_audit(Arc::new(audit))
}

/// [`build_service`] with the Katana tickets of the settings, when configured.
///
/// # Errors
/// As [`katana_tickets`].
pub fn with_katana(service: Service, config: &Settings) -> Result<Service, String> {
    Ok(match katana_tickets(config)? {
        Some(k) => service.with_katana(Arc::new(k)),
        None => service,
    })
}

/// [`build_service`] with credential capture, when `--credential-capture` is on (the
/// settings checked that the Katana dialect has an upstream).
pub fn with_capture(service: Service, config: &Settings) -> Service {
    match config.legacy_upstream_for("katana") {
        Some(base) if config.credential_capture => {
            tracing::warn!(
                upstream = base,
                "credential capture is on: logins of users not yet captured carry their password to the legacy upstream"
            );
            service.with_credential_capture(Arc::new(crate::dual_run::capture::HttpCapture::new(
                base,
                std::time::Duration::from_secs(config.legacy_upstream_timeout),
                config.credential_capture_rate,
            )))
        }
        _ => service,
    }
}

/// Loads the demo data (`crates/domain/demo.json`) (idempotent).
///
/// # Errors
/// The import's: the document does not parse, or conflicts with stored data, or the
/// database fails.
pub fn load_demo(service: &Service) -> Result<(), DomainError> {
    let document = gatehouse_domain::import::demo_document()?;
    service.import(&document).map(|_| ())
}

/// Loads the demo's admin client (`crates/domain/demo-admin.json`): `serve --demo` with
/// `--admin-bind` (idempotent).
///
/// # Errors
/// As [`load_demo`].
pub fn load_demo_admin(service: &Service) -> Result<(), DomainError> {
    let document = gatehouse_domain::import::demo_admin_document()?;
    service.import(&document).map(|_| ())
}

/// What every worker shares.
pub struct AppState {
    /// The grant logic.
    pub service: Arc<Service>,
    /// The password-hash pool.
    pub pool: Arc<HashPool>,
    /// The settings.
    pub config: Settings,
    /// Request metrics.
    pub metrics: Metrics,
    rng: Arc<dyn Rng>,
    /// The key of the login and consent forms' anti-forgery tokens (`server_keys`).
    form_key: gatehouse_domain::forms::FormKey,
    /// The issuer identifier (`--issuer`, else derived from the bound address at start).
    issuer: std::sync::OnceLock<String>,
    /// Dual-run's rate window and the legacy-usage book.
    pub dual_run: crate::dual_run::DualRun,
    /// `--dual-run observe`: the same state over the rolled-back store (the dry run).
    dry: Option<web::Data<AppState>>,
    /// The handle the service was built over (a clone: one pool, one writer), for what is
    /// not a domain operation: the backend, the SQL counter, the dry run's rolled-back twin.
    /// Transactions go through the service's operations.
    storage: Storage,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Assembles the state.
    pub fn new(
        service: Service,
        storage: Storage,
        pool: HashPool,
        config: Settings,
        rng: Arc<dyn Rng>,
        form_key: gatehouse_domain::forms::FormKey,
    ) -> Self {
        let pool = Arc::new(pool);
        let dry = (config.dual_run == DualRunMode::Observe).then(|| {
            let dry_service = service.with_store(storage.rolled_back());
            web::Data::new(Self {
                service: Arc::new(dry_service),
                pool: pool.clone(),
                config: config.clone(),
                metrics: Metrics::default(),
                rng: rng.clone(),
                issuer: std::sync::OnceLock::new(),
                dual_run: crate::dual_run::DualRun::default(),
                dry: None,
                form_key: form_key.clone(),
                storage: storage.rolled_back(),
            })
        });
        Self {
            service: Arc::new(service),
            pool,
            config,
            metrics: Metrics::default(),
            rng,
            form_key,
            issuer: std::sync::OnceLock::new(),
            dual_run: crate::dual_run::DualRun::default(),
            dry,
            storage,
        }
    }

    /// The dry run's state (`--dual-run observe`): the same service over a store whose
    /// writes are rolled back.
    pub fn dry_twin(&self) -> Option<web::Data<AppState>> {
        self.dry.clone()
    }

    /// The server's randomness.
    pub fn rng(&self) -> &dyn Rng {
        &*self.rng
    }

    /// The key of the forms' anti-forgery tokens.
    pub fn form_key(&self) -> &gatehouse_domain::forms::FormKey {
        &self.form_key
    }

    /// Sets the issuer once (later calls are ignored).
    pub fn set_issuer(&self, issuer: String) {
        if let Some(ring) = self.service.key_ring() {
            ring.set_issuer(issuer.clone());
        }
        if let Some(dry) = &self.dry {
            let _ = dry.issuer.set(issuer.clone());
        }
        let _ = self.issuer.set(issuer);
    }

    /// The issuer identifier, without a trailing slash.
    pub fn issuer(&self) -> &str {
        self.issuer.get().map_or("http://127.0.0.1", String::as_str)
    }

    /// Whether cookies get `Secure` (and the `__Host-` prefix): the issuer is https.
    pub fn secure_cookies(&self) -> bool {
        self.issuer().starts_with("https://")
    }

    /// Runs `f` on the blocking pool (database work that hashes no password).
    ///
    /// # Errors
    /// What `f` returns, as an [`ApiError`]; [`ApiError::Internal`] when the pool dropped
    /// the work.
    pub async fn blocking<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&Service) -> Result<R, DomainError> + Send + 'static,
    {
        let service = self.service.clone();
        match web::block(move || timing::timed(|| f(&service))).await {
            Ok((result, spent)) => {
                add_storage_time(spent);
                result.map_err(ApiError::from)
            }
            Err(_) => Err(ApiError::Internal),
        }
    }

    /// Runs `f` right here on the HTTP worker: only for reads that never wait (a WAL reader
    /// is never blocked by the writer) and take tens of microseconds, where the hop to the
    /// blocking pool and the thread wake-ups cost more than the work (introspection).
    ///
    /// # Errors
    /// What `f` returns, as an [`ApiError`].
    pub fn read_now<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        F: FnOnce(&Service) -> Result<R, DomainError>,
    {
        let (result, spent) = timing::timed(|| f(&self.service));
        add_storage_time(spent);
        result.map_err(ApiError::from)
    }

    /// A read: on SQLite right here on the HTTP worker ([`Self::read_now`]); on PostgreSQL,
    /// where every query is a network round trip, on the blocking pool, so that an HTTP
    /// worker never sits waiting for the database (with two workers, inline reads capped
    /// introspection at two requests in flight: 1,873/s against 9,345/s on SQLite).
    ///
    /// # Errors
    /// As [`Self::blocking`].
    pub async fn read<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&Service) -> Result<R, DomainError> + Send + 'static,
    {
        if self.storage.backend() == "postgres" {
            self.blocking(f).await
        } else {
            self.read_now(f)
        }
    }

    /// A grant whose write is queued, not waited for (`f` returns a [`Pending`]): `f` runs on
    /// the blocking pool (its reads, the minting, and the writes a failed client
    /// authentication waits for), then the HTTP worker awaits the commit without holding a
    /// thread. Before, the blocking thread slept on the writer's answer until the group
    /// commit's fsync: one more wake-up per grant, and at most 16 grants in flight per
    /// worker (the blocking pool's size), which kept the batches small (issue 23,
    /// `docs/performance.md`).
    ///
    /// # Errors
    /// What `f` returns, or the commit's failure, as an [`ApiError`];
    /// [`ApiError::Internal`] when the pool dropped the work.
    pub async fn write_later<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&Service) -> Result<Pending<R>, DomainError> + Send + 'static,
    {
        let pending = self.blocking(f).await?;
        pending.await.map_err(ApiError::from)
    }

    /// Runs `f` on the password-hash pool; a full queue is [`ApiError::Busy`] at once.
    ///
    /// # Errors
    /// [`ApiError::Busy`] when the queue is full, what `f` returns as an [`ApiError`], and
    /// [`ApiError::Internal`] when the pool dropped the work.
    pub async fn hashing<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&Service) -> Result<R, DomainError> + Send + 'static,
    {
        let service = self.service.clone();
        let Ok(receiver) = self.pool.try_spawn(move || timing::timed(|| f(&service))) else {
            self.metrics.hash_rejected();
            return Err(ApiError::Busy);
        };
        match receiver.await {
            Ok((result, spent)) => {
                add_storage_time(spent);
                result.map_err(ApiError::from)
            }
            Err(_) => Err(ApiError::Internal),
        }
    }

    /// A fresh id for an error, shown to the client and logged with the failure.
    pub fn error_id(&self) -> String {
        self.rng.uuid_v4().simple().to_string()
    }

    /// The gauges of `/metrics`.
    pub fn gauges(&self) -> Gauges {
        Gauges {
            hash_queued: self.pool.queued(),
            hash_running: self.pool.running(),
            hash_threads: self.pool.threads(),
            password_hashes: self.service.hasher().hash_invocations(),
            hash_iterations: self.service.hasher().iterations_run(),
            sql_compiles: self.storage.sql_compiles(),
        }
    }
}

/// The key ring from `--key-encryption-key-file`; with `--demo` and a SQLite database and no
/// file configured, `<database>.kek` (created with mode 0600 when missing). `None`: signed
/// tokens are off.
///
/// # Errors
/// The file cannot be read or created, or does not hold a 256-bit key.
pub fn key_ring(
    config: &Settings,
    rng: &dyn Rng,
) -> Result<Option<gatehouse_domain::keys::KeyRing>, String> {
    let path = match (&config.key_encryption_key_file, &config.database) {
        (Some(path), _) => path.clone(),
        (None, Database::Sqlite(db)) if config.demo => {
            let mut name = db.as_os_str().to_owned();
            name.push(".kek");
            let path = std::path::PathBuf::from(name);
            if !path.exists() {
                write_new_secret_file(
                    &path,
                    &gatehouse_domain::keys::KeyEncryptionKey::generate_text(rng),
                )
                .map_err(|e| format!("key-encryption key {}: {e}", path.display()))?;
                tracing::info!(path = %path.display(), "demo key-encryption key generated");
            }
            path
        }
        _ => return Ok(None),
    };
    load_key_ring(&path).map(Some)
}

/// Reads a KEK file into a key ring (the error never contains the file's text). A file that
/// its group or others may read is refused, as SSH refuses such a private key (issue 19 item
/// 12): whoever reads it can open every signing key in the database.
///
/// # Errors
/// Unreadable, readable by group or others, or malformed.
pub fn load_key_ring(path: &Path) -> Result<gatehouse_domain::keys::KeyRing, String> {
    check_private(path)
        .map_err(|e| format!("key-encryption key {}: {e}; refused", path.display()))?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("key-encryption key {}: {e}", path.display()))?;
    let kek = gatehouse_domain::keys::KeyEncryptionKey::parse(&text)
        .map_err(|e| format!("key-encryption key {}: {e}", path.display()))?;
    Ok(gatehouse_domain::keys::KeyRing::new(kek))
}

/// The legacy machineKey shipped for `serve --demo` (DEMO ONLY: public, never for real use).
pub const DEMO_MACHINE_KEY: &str = include_str!("../../../docs/demo/machinekey.demo.config");

/// The Katana ticket settings from `--katana-machine-key` (the file must not be readable by
/// group or others), `--katana-claims` and `--katana-user-claim`; with `--demo` and a
/// SQLite database and no file configured, `<database>.machinekey` (the demo key, written
/// with mode 0600 when missing). `None`: Katana's `/token` issues opaque tokens.
///
/// # Errors
/// The file is unreadable, too open, or its `<machineKey>` is refused (the message names the
/// attribute, never a key); a claim is malformed.
pub fn katana_tickets(
    config: &Settings,
) -> Result<Option<gatehouse_domain::service::katana::KatanaTickets>, String> {
    use gatehouse_domain::service::katana::{KatanaTickets, UserClaim};
    let path = match (&config.katana_machine_key, &config.database) {
        (Some(path), _) => path.clone(),
        (None, Database::Sqlite(db)) if config.demo => {
            let mut name = db.as_os_str().to_owned();
            name.push(".machinekey");
            let path = std::path::PathBuf::from(name);
            if !path.exists() {
                write_new_secret_file(&path, DEMO_MACHINE_KEY)
                    .map_err(|e| format!("katana machine key {}: {e}", path.display()))?;
                tracing::info!(path = %path.display(), "demo machineKey written (demo only)");
            }
            path
        }
        _ => return Ok(None),
    };
    let fail = |e: &dyn std::fmt::Display| format!("katana machine key {}: {e}", path.display());
    check_private(&path).map_err(|e| fail(&e))?;
    let text = std::fs::read_to_string(&path).map_err(|e| fail(&e))?;
    let key = gatehouse_katana::MachineKey::parse(&text).map_err(|e| fail(&e))?;
    let claims = config
        .katana_claims
        .iter()
        .map(|c| parse_claim(c))
        .collect::<Result<Vec<_>, _>>()?;
    let user_claim = match config.katana_user_claim {
        crate::config::KatanaUserClaim::Name => UserClaim::Name,
        crate::config::KatanaUserClaim::Nameidentifier => UserClaim::NameIdentifier,
    };
    tracing::info!(
        validation = key.validation().name(),
        aes_bits = key.aes_bits(),
        "katana tickets on"
    );
    Ok(Some(KatanaTickets::new(
        gatehouse_katana::TicketFormat::access_token(&key),
        claims,
        user_claim,
        config.katana_default_scope.clone(),
    )))
}

/// `TYPE=VALUE` or `TYPE=VALUE|FLAG`.
fn parse_claim(text: &str) -> Result<gatehouse_domain::service::katana::ClaimTemplate, String> {
    use gatehouse_domain::service::katana::{ClaimTemplate, FlagCondition};
    let bad = || format!("katana claim {text:?}: expected TYPE=VALUE or TYPE=VALUE|FLAG");
    let (claim_type, rest) = text.split_once('=').ok_or_else(bad)?;
    let (value, when) = match rest.rsplit_once('|') {
        Some((value, flag)) => (
            value,
            Some(FlagCondition::parse(flag.trim()).ok_or_else(|| {
                format!(
                    "katana claim {text:?}: unknown flag {flag:?} (operator, editor, query_all, df_visible)"
                )
            })?),
        ),
        None => (rest, None),
    };
    if claim_type.trim().is_empty() {
        return Err(bad());
    }
    Ok(ClaimTemplate::new(claim_type.trim(), value, when))
}

/// Refuses a secret file group or others may read or write (like `ssh` with its keys).
fn check_private(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)
            .map_err(|e| e.to_string())?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "mode {:o} lets group or others read it: chmod 600",
                mode & 0o777
            ));
        }
    }
    Ok(())
}

fn write_new_secret_file(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

tokio::task_local! {
    /// The storage time of the request this task serves ([`account_storage`]).
    static REQUEST_STORAGE: std::cell::Cell<std::time::Duration>;
}

/// Runs a request's future and returns, beside its output, the time its calls through
/// [`AppState::blocking`], [`AppState::read_now`] and [`AppState::hashing`] spent in storage
/// transactions (on whichever thread ran them): the `gatehouse.storage_us` of its span.
pub async fn account_storage<T>(
    request: impl std::future::Future<Output = T>,
) -> (T, std::time::Duration) {
    REQUEST_STORAGE
        .scope(std::cell::Cell::new(std::time::Duration::ZERO), async {
            let out = request.await;
            (out, REQUEST_STORAGE.with(std::cell::Cell::get))
        })
        .await
}

fn add_storage_time(spent: std::time::Duration) {
    let _ = REQUEST_STORAGE.try_with(|c| c.set(c.get().saturating_add(spent)));
}
