//! The `gatehouse` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _, Parser};
use gatehouse::cli::{Command, Failure};
use gatehouse::config::Settings;

/// mimalloc for Rust and (through its `override` feature) for the bundled SQLite: glibc's
/// malloc and free were a quarter of the CPU profile of introspection under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Gatehouse: the five legacy ASP.NET Web API token dialects on one server.
///
/// Every subcommand reads the same settings: the flags, else the GATEHOUSE_* environment
/// variables, else the config file (--config, default ./gatehouse.toml when present), else
/// the defaults.
#[derive(Debug, Parser)]
#[command(name = "gatehouse", version, about, long_about)]
struct Cli {
    /// TOML config file with the same settings as the flags (keys: the flags' names in
    /// snake_case) [default: ./gatehouse.toml when present]
    #[arg(long, global = true, env = "GATEHOUSE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    let matches = Settings::augment(Cli::command()).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if matches!(cli.command, Command::Openapi) {
        // Needs neither settings nor a database.
        return finish(cli.command.run(Settings::default()));
    }
    let settings = match Settings::load(cli.config.as_deref(), &matches) {
        Ok(settings) => settings,
        Err(e) => return finish(Err(e.into())),
    };
    // Held until the command ends: dropping it sends the spans still buffered.
    let _traces = match gatehouse::telemetry::init(&settings.log, settings.otlp_endpoint.as_deref())
    {
        Ok(traces) => traces,
        Err(e) => return finish(Err(e.into())),
    };
    finish(cli.command.run(settings))
}

/// Exit statuses: 0 done, 1 failed, 2 usage (clap), 3 not found, 4 refused, 5 invalid
/// value (`gatehouse::cli::Exit`, docs/operations.md).
fn finish(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("gatehouse: {failure}");
            ExitCode::from(failure.code())
        }
    }
}
