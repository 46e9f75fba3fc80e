//! `gatehouse user list|show|enable|remove|unlock|end-sessions`: the operator's view of
//! users. Each is one call into the domain ([`gatehouse_domain::service::operator`]);
//! failures carry their exit status ([`super::exit`]).

use std::net::IpAddr;

use super::exit::{Exit, Failure};
use super::view;
use crate::config::Settings;

/// `user list`.
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  gatehouse user list\n  gatehouse user list --filter smith --json"
)]
pub struct ListArgs {
    /// Only users whose name, full name or e-mail address contains TEXT (case-insensitive)
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// A JSON array on stdout (the schema is in docs/operations.md)
    #[arg(long)]
    pub json: bool,
}

/// `user show`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Example:\n  gatehouse user show alice --json")]
pub struct ShowArgs {
    /// User name
    pub user_name: String,
    /// A JSON object on stdout (the schema is in docs/operations.md)
    #[arg(long)]
    pub json: bool,
}

/// `user enable`, `user end-sessions`.
#[derive(Debug, Clone, clap::Args)]
pub struct NameArg {
    /// User name
    pub user_name: String,
}

/// `user remove`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Example:\n  gatehouse user remove alice --yes")]
pub struct RemoveArgs {
    /// User name
    pub user_name: String,
    /// Remove the user even while they have live sessions (they all end)
    #[arg(long)]
    pub yes: bool,
}

/// `user unlock`.
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  gatehouse user unlock alice\n  gatehouse user unlock alice --address 203.0.113.7"
)]
pub struct UnlockArgs {
    /// User name
    pub user_name: String,
    /// Also forget the failed logins counted against this address (repeat for several)
    #[arg(long = "address", value_name = "IP")]
    pub addresses: Vec<IpAddr>,
}

fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// `gatehouse user list`.
///
/// # Errors
/// [`Exit::Failed`]: the database cannot be opened or read.
pub fn list(settings: &Settings, args: &ListArgs) -> Result<(), Failure> {
    let users = super::service(settings)?.list_users(args.filter.as_deref())?;
    if args.json {
        print_json(&serde_json::Value::Array(
            users.iter().map(view::user_json).collect(),
        ));
        return Ok(());
    }
    println!("{:<24} {:<36} {:<20} created", "user", "id", "flags");
    for u in &users {
        println!(
            "{:<24} {:<36} {:<20} {}",
            u.user_name,
            u.id,
            view::flags(u),
            view::when(u.created_at)
        );
    }
    Ok(())
}

/// `gatehouse user show NAME`.
///
/// # Errors
/// [`Exit::NotFound`] for an unknown user; [`Exit::Failed`] when the database fails.
pub fn show(settings: &Settings, args: &ShowArgs) -> Result<(), Failure> {
    let details = super::service(settings)?.user_details(&args.user_name)?;
    if args.json {
        print_json(&view::user_details_json(&details));
    } else {
        print!("{}", view::user_details_text(&details));
    }
    Ok(())
}

/// `gatehouse user enable NAME`.
///
/// # Errors
/// [`Exit::NotFound`] for an unknown user; [`Exit::Failed`] when the database fails.
pub fn enable(settings: &Settings, user_name: &str) -> Result<(), Failure> {
    let service = super::service(settings)?;
    service.set_user_disabled(user_name, false)?;
    super::audited(&service, "user.enable", user_name);
    println!("user {user_name} enabled (sessions ended by the disable stay ended)");
    Ok(())
}

/// `gatehouse user end-sessions NAME`.
///
/// # Errors
/// [`Exit::NotFound`] for an unknown user; [`Exit::Failed`] when the database fails.
pub fn end_sessions(settings: &Settings, user_name: &str) -> Result<(), Failure> {
    let service = super::service(settings)?;
    let ended = service.end_sessions_of_user(user_name)?;
    super::audited(&service, "user.end_sessions", user_name);
    println!(
        "{} sessions of {user_name} ended (token and browser sessions)",
        ended.ended
    );
    Ok(())
}

/// `gatehouse user unlock NAME`.
///
/// # Errors
/// [`Exit::NotFound`] for an unknown user; [`Exit::Failed`] when the database fails.
pub fn unlock(settings: &Settings, args: &UnlockArgs) -> Result<(), Failure> {
    let service = super::service(settings)?;
    let cleared = service.unlock_user(&args.user_name, &args.addresses)?;
    super::audited(&service, "user.unlock", &args.user_name);
    if cleared.is_empty() {
        println!("{}: no failed logins were recorded", args.user_name);
    } else {
        println!(
            "{}: failed logins forgotten for {}",
            args.user_name,
            cleared.join(", ")
        );
    }
    Ok(())
}

/// `gatehouse user remove NAME [--yes]`.
///
/// # Errors
/// [`Exit::Refused`] without `--yes` for a user who still has live sessions,
/// [`Exit::NotFound`] for an unknown user, [`Exit::Failed`] when the database fails.
pub fn remove(settings: &Settings, args: &RemoveArgs) -> Result<(), Failure> {
    let service = super::service(settings)?;
    match service.remove_user(&args.user_name, args.yes) {
        Ok(user) => {
            super::audited(&service, "user.remove", &user.user_name);
            println!(
                "user {} ({}) removed with every session, token and code of theirs",
                user.user_name, user.id
            );
            Ok(())
        }
        Err(gatehouse_domain::Error::Conflict(why)) => Err(Failure::new(
            Exit::Refused,
            format!("{why}: run again with --yes"),
        )),
        Err(e) => Err(e.into()),
    }
}
