//! The operator's side with the real binary, on SQLite and PostgreSQL: the user and client
//! subcommands beside a running server (what they show, what they end, their exit statuses),
//! backup and restore.
//!
//! The PostgreSQL half is left out, loudly, without the PostgreSQL server binaries; a failure
//! under `GATEHOUSE_TEST_REQUIRE=postgres` (scripts/test).

mod admin;
mod audit;
mod backup;
mod cli;
mod harness;
mod traces;
