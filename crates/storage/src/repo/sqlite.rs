//! The repositories on SQLite: `impls.rs` compiled for [`SqliteConnection`].

use diesel::SqliteConnection;

type Conn = SqliteConnection;

#[path = "impls.rs"]
mod impls;
