//! The Gatehouse server: wires the codec, the domain and the storage to actix-web.
//!
//! The binary (`main.rs`) parses the command line; [`start`] runs the server on a background
//! thread (the end-to-end tests use it), [`serve_blocking`] in the foreground until SIGTERM
//! or Ctrl-C.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::hash_pool::HashPool;
use actix_web::{web, App, HttpServer};
use gatehouse_domain::clock::SystemClock;
use gatehouse_domain::credentials::PasswordHasher;
use gatehouse_domain::rng::{Rng, SystemRng};

pub mod admin;
pub mod audit_log;
pub mod backchannel;
pub mod cli;
pub mod config;
pub mod dual_run;
pub mod hash_pool;
pub mod help;
pub mod http;
pub mod metrics;
pub mod state;
pub mod telemetry;

pub use state::AppState;

use config::Settings;

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A setting is out of range or malformed.
    #[error("{0}")]
    Settings(String),
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Database(String),
    /// The demo data could not be loaded.
    #[error("demo data: {0}")]
    Demo(String),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Anything else from the runtime.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Niceness of the password-hash threads: they use idle cores fully, and yield to the HTTP
/// workers and the database writer when the cores are busy.
const HASH_THREAD_NICE: i32 = 10;

/// Blocking-pool threads per HTTP worker (database writes waiting for their commit).
const BLOCKING_THREADS_PER_WORKER: usize = 16;

/// Opens the database, runs the migrations, loads the demo data when asked, and builds the
/// shared state.
///
/// # Errors
/// [`StartError::Database`] when the database cannot be opened or migrated, the hash cost
/// is refused, the signing keys or the forms' key cannot be read or created;
/// [`StartError::Settings`] for a Katana machineKey that is refused; [`StartError::Demo`]
/// when the demo data does not load; [`StartError::Io`] when the back-channel delivery
/// thread or the hash pool's threads do not start.
pub fn build_state(config: &Settings) -> Result<AppState, StartError> {
    let storage = gatehouse_storage::Storage::connect(&config.database, config.storage_options())
        .map_err(|e| StartError::Database(e.to_string()))?;
    let hasher = PasswordHasher::new(config.hash_iterations)
        .map_err(|e| StartError::Database(format!("hash iterations: {e}")))?;
    let rng: Arc<dyn Rng> = Arc::new(SystemRng::new());
    let service = state::build_service(
        storage.clone(),
        config,
        hasher,
        rng.clone(),
        Arc::new(SystemClock),
    );
    let service = state::with_katana(service, config).map_err(StartError::Settings)?;
    let service = state::with_capture(service, config);
    let service = match state::key_ring(config, &*rng).map_err(StartError::Database)? {
        Some(ring) => {
            let service = service.with_key_ring(Arc::new(ring));
            for key in service
                .ensure_signing_key()
                .map_err(|e| StartError::Database(format!("signing keys: {e}")))?
            {
                tracing::info!(kid = %key.kid, alg = %key.alg, "first signing key created");
            }
            service
        }
        None => service,
    };
    let delivery = backchannel::Delivery::start(service.audit_sink())?;
    let service = service.with_backchannel(delivery);
    service
        .check_signing_setup()
        .map_err(|e| StartError::Database(e.to_string()))?;
    if config.demo {
        state::load_demo(&service).map_err(|e| StartError::Demo(e.to_string()))?;
        if config.admin_bind.is_some() {
            state::load_demo_admin(&service).map_err(|e| StartError::Demo(e.to_string()))?;
        }
        tracing::info!("demo data loaded");
    }
    // Generated at the first start, then read (replicas share it).
    let form_key = service
        .form_key()
        .map_err(|e| StartError::Database(format!("forms' server key: {e}")))?;
    let pool = HashPool::try_with_nice(config.hash_threads, config.hash_queue, HASH_THREAD_NICE)?;
    Ok(AppState::new(
        service,
        storage,
        pool,
        config.clone(),
        rng,
        form_key,
    ))
}

/// A server running on its own thread.
#[derive(Debug)]
pub struct Running {
    /// The bound address (port 0 in the config picks a free one).
    pub addr: SocketAddr,
    /// The metrics listener's address, when `--metrics-bind` is set.
    pub metrics_addr: Option<SocketAddr>,
    /// The admin listener's address, when `--admin-bind` is set.
    pub admin_addr: Option<SocketAddr>,
    handle: actix_web::dev::ServerHandle,
    side_handles: Vec<actix_web::dev::ServerHandle>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Running {
    /// Stops the server gracefully and waits for its thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(thread) = self.thread.take() {
            let handle = self.handle.clone();
            let sides = std::mem::take(&mut self.side_handles);
            let _ = std::thread::spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    for side in sides {
                        side.stop(true).await;
                    }
                    handle.stop(true).await;
                });
            })
            .join();
            let _ = thread.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A listener beside the main one (already running).
type Side = Option<(actix_web::dev::ServerHandle, SocketAddr)>;

/// The main server, and the metrics and admin listeners when configured.
type Servers = (actix_web::dev::Server, SocketAddr, Side, Side);

fn side(server: (actix_web::dev::Server, SocketAddr)) -> Side {
    let handle = server.0.handle();
    actix_web::rt::spawn(server.0);
    Some((handle, server.1))
}

fn http_server(state: AppState, config: &Settings) -> Result<Servers, StartError> {
    let data = web::Data::new(state);
    spawn_purge(data.clone());
    dual_run::spawn_flush(data.clone());
    log_dual_run(config);
    let metrics = match config.metrics_bind {
        Some(bind) => side(metrics_server(data.clone(), bind)?),
        None => None,
    };
    let admin = match config.admin_bind {
        Some(bind) => side(admin::server(data.clone(), bind, config.admin_url.clone())?),
        None => None,
    };
    let separate_metrics = config.metrics_bind.is_some();
    let help_pages = config.help_pages();
    let issued = data.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap(actix_web::middleware::from_fn(http::legacy::legacy_answers))
            .wrap(actix_web::middleware::from_fn(dual_run::middleware))
            .wrap(actix_web::middleware::from_fn(http::normalize_and_measure))
            .configure(http::routes(http::Served {
                metrics: !separate_metrics,
                help: help_pages,
            }))
            .default_service(web::to(http::not_found))
    })
    .workers(config.workers)
    // Writes wait on the group commit in the blocking pool: a few dozen waiters fill a batch;
    // hundreds of threads only add context switches and per-thread allocator memory.
    .worker_max_blocking_threads(BLOCKING_THREADS_PER_WORKER)
    .backlog(1024)
    .client_request_timeout(std::time::Duration::from_secs(config.request_timeout))
    .client_disconnect_timeout(std::time::Duration::from_secs(2))
    .shutdown_timeout(10)
    .disable_signals()
    .bind(config.bind)
    .map_err(|source| StartError::Bind {
        addr: config.bind,
        source,
    })?;
    let addr = server.addrs().first().copied().unwrap_or(config.bind);
    issued.set_issuer(config.issuer_for(addr));
    Ok((server.run(), addr, metrics, admin))
}

/// The `--metrics-bind` listener: `GET /metrics`, exactly, and nothing else.
fn metrics_server(
    data: web::Data<AppState>,
    bind: SocketAddr,
) -> Result<(actix_web::dev::Server, SocketAddr), StartError> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(metrics::exact_metrics))
    })
    .workers(1)
    .disable_signals()
    .bind(bind)
    .map_err(|source| StartError::Bind { addr: bind, source })?;
    let addr = server.addrs().first().copied().unwrap_or(bind);
    Ok((server.run(), addr))
}

/// Says at start what dual-run sends where, and whose passwords leave for the upstream.
fn log_dual_run(config: &Settings) {
    if config.dual_run == config::DualRunMode::Off {
        return;
    }
    for dialect in config::LEGACY_DIALECTS {
        let Some(upstream) = config.legacy_upstream_for(dialect) else {
            continue;
        };
        let passwords = config
            .dual_run_forward_passwords
            .iter()
            .any(|d| d == dialect);
        if passwords {
            tracing::warn!(
                dialect,
                upstream,
                mode = ?config.dual_run,
                "dual-run: password logins of this dialect are FORWARDED to the legacy upstream (users' passwords reach a second system)"
            );
        } else {
            tracing::info!(
                dialect,
                upstream,
                mode = ?config.dual_run,
                "dual-run: requests forwarded to the legacy upstream, password logins not (Gatehouse answers them)"
            );
        }
    }
}

/// Deletes expired tokens, codes and stale lockout records every ten minutes, on the
/// blocking pool (the first run ten minutes after start, so start-up stays quick).
fn spawn_purge(state: web::Data<AppState>) {
    actix_web::rt::spawn(async move {
        let period = std::time::Duration::from_secs(600);
        let mut tick =
            actix_web::rt::time::interval_at(actix_web::rt::time::Instant::now() + period, period);
        loop {
            tick.tick().await;
            match state.blocking(|s| s.purge_expired()).await {
                Ok(0) => {}
                Ok(rows) => tracing::info!(rows, "purged expired tokens and codes"),
                Err(e) => tracing::warn!(error = %e, "purging expired rows failed"),
            }
        }
    });
}

/// Starts the server on a background thread and returns once it listens.
///
/// # Errors
/// [`StartError::Settings`] for settings [`Settings::finish`] refuses, what
/// [`build_state`] refuses, and [`StartError::Bind`] when an address cannot be bound.
pub fn start(config: Settings) -> Result<Running, StartError> {
    let config = config.finish().map_err(StartError::Settings)?;
    let state = build_state(&config)?;
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            match http_server(state, &config) {
                Ok((server, addr, metrics, admin)) => {
                    let _ = tx.send(Ok((server.handle(), addr, metrics, admin)));
                    server.await
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                    Ok(())
                }
            }
        })
    });
    let (handle, addr, metrics, admin) = rx
        .recv()
        .map_err(|_| StartError::Io(std::io::Error::other("server thread died")))??;
    Ok(Running {
        addr,
        metrics_addr: metrics.as_ref().map(|(_, a)| *a),
        admin_addr: admin.as_ref().map(|(_, a)| *a),
        handle,
        side_handles: metrics.into_iter().chain(admin).map(|(h, _)| h).collect(),
        thread: Some(thread),
    })
}

/// Runs the server in the foreground until SIGTERM or Ctrl-C, then drains connections.
///
/// # Errors
/// As [`start`], and [`StartError::Io`] from the runtime while serving.
pub fn serve_blocking(config: Settings) -> Result<(), StartError> {
    let started = std::time::Instant::now();
    let config = config.finish().map_err(StartError::Settings)?;
    let state = build_state(&config)?;
    actix_web::rt::System::new().block_on(async move {
        let (server, addr, metrics, admin) = http_server(state, &config)?;
        tracing::info!(%addr, database = %config.database, ready_ms = started.elapsed().as_millis() as u64, "gatehouse listening");
        if let Some((_, metrics_addr)) = &metrics {
            tracing::info!(%metrics_addr, "metrics listening");
        }
        if let Some((_, admin_addr)) = &admin {
            tracing::info!(%admin_addr, "admin API and console listening");
        }
        let handle = server.handle();
        actix_web::rt::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutting down: draining connections");
            for (side, _) in metrics.into_iter().chain(admin) {
                side.stop(true).await;
            }
            handle.stop(true).await;
        });
        server.await?;
        tracing::info!("stopped");
        Ok(())
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
