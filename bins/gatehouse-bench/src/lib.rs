//! Ceilings for the Gatehouse benchmark (`bench/run.py`, `just bench`).
//!
//! Each figure the benchmark reports for the server is set beside a ceiling measured in the
//! same run on the same machine:
//!
//! * [`baseline`]: a trivial actix-web JSON endpoint with the server's actix-web version and
//!   worker count, the ceiling of the HTTP stack;
//! * [`pbkdf2`]: the time of one PBKDF2-HMAC-SHA256 hash with ring, and `cores / t`, the
//!   ceiling of password grants;
//! * [`sqlite`]: the raw rate of durable single-row commits of SQLite in WAL mode with the
//!   server's pragmas, the ceiling of grants that must write before they answer.
//!
//! [`seed`] stores N users and N tokens through the server's storage crate for the scale
//! runs.

pub mod baseline;
pub mod error;
pub mod pbkdf2;
pub mod seed;
pub mod sqlite;
pub mod stats;

pub use error::Error;
