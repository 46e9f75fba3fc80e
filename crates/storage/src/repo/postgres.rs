//! The repositories on PostgreSQL: `impls.rs` compiled for [`PgConnection`].

use diesel::pg::PgConnection;

type Conn = PgConnection;

#[path = "impls.rs"]
#[expect(
    clippy::duplicate_mod,
    reason = "the queries are written once and compiled for each backend: `sqlite.rs` loads it too"
)]
mod impls;
