//! `gatehouse-bench`: the ceilings the Gatehouse benchmark compares the server against.
//! Each measuring subcommand prints one JSON object on stdout.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use gatehouse_bench::seed::SeedPlan;
use gatehouse_bench::sqlite::Synchronous;
use gatehouse_bench::{baseline, pbkdf2, seed, sqlite, Error};

#[derive(Debug, Parser)]
#[command(
    name = "gatehouse-bench",
    about = "Ceilings for the Gatehouse benchmark"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve a trivial actix-web endpoint, `POST /echo`, until SIGINT/SIGTERM.
    BaselineServer {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8090")]
        bind: String,
        /// actix-web workers (use the server's count).
        #[arg(long, default_value_t = 2)]
        workers: usize,
    },
    /// Time one PBKDF2-HMAC-SHA256 hash with ring; print it and `cores / t`.
    Pbkdf2 {
        /// Iterations per hash.
        #[arg(long, default_value_t = 600_000)]
        iterations: u32,
        /// Hashes timed (the median is reported).
        #[arg(long, default_value_t = 5)]
        samples: usize,
    },
    /// Durable single-row commits per second of SQLite in WAL mode, on a temporary file.
    SqliteInserts {
        /// `PRAGMA synchronous`: full or normal.
        #[arg(long, default_value = "full")]
        synchronous: Synchronous,
        /// How long to insert.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        /// Directory for the temporary database (default: the system temp dir).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Store N users and N live access tokens (one session each) through the server's
    /// storage crate, in large transactions, for the scale runs.
    Seed {
        /// The server's database: a SQLite path or a postgres:// URL (created and migrated if
        /// missing; the client must exist).
        #[arg(long)]
        database: PathBuf,
        /// Users `scale-user-<i>`.
        #[arg(long, default_value_t = 1000)]
        users: u64,
        /// Access tokens.
        #[arg(long, default_value_t = 1000)]
        tokens: u64,
        /// The client the tokens belong to.
        #[arg(long, default_value = "bench-client")]
        client: String,
        /// Token lifetime in seconds.
        #[arg(long, default_value_t = 86_400)]
        lifetime: i64,
        /// How many token strings to write to --sample-out.
        #[arg(long, default_value_t = 10_000)]
        sample: u64,
        /// File for the sampled token strings, one a line.
        #[arg(long)]
        sample_out: Option<PathBuf>,
    },
}

fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::BaselineServer { bind, workers } => {
            let system = actix_web::rt::System::new();
            system.block_on(baseline::serve(&bind, workers))
        }
        Command::Pbkdf2 {
            iterations,
            samples,
        } => {
            let c = pbkdf2::measure(iterations, samples)?;
            println!("{}", serde_json::to_string(&c.to_json())?);
            Ok(())
        }
        Command::SqliteInserts {
            synchronous,
            seconds,
            dir,
        } => {
            if !(seconds.is_finite() && seconds > 0.0 && seconds <= 3600.0) {
                return Err(Error::InvalidArgument(
                    "seconds must be in (0, 3600]".to_owned(),
                ));
            }
            let rate = sqlite::measure(
                synchronous,
                Duration::from_secs_f64(seconds),
                dir.as_deref(),
            )?;
            println!("{}", serde_json::to_string(&rate.to_json())?);
            Ok(())
        }
        Command::Seed {
            database,
            users,
            tokens,
            client,
            lifetime,
            sample,
            sample_out,
        } => {
            let plan = SeedPlan {
                users,
                tokens,
                client_id: client,
                lifetime_secs: lifetime,
                sample,
            };
            let report = seed::seed(&database, &plan, sample_out.as_deref())?;
            println!("{}", serde_json::to_string(&report.to_json())?);
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gatehouse-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
