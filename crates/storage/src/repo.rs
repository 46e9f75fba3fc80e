//! The repositories: [`ReadTx`] and [`WriteTx`] over one connection inside a transaction.
//!
//! The queries are written once, in `repo/impls.rs`, a real module that `repo/sqlite.rs` and
//! `repo/postgres.rs` each compile for their connection type ([`SqliteConnection`] and
//! [`PgConnection`]): the column types are portable (Text, BigInt, Binary, Bool), so the same
//! diesel code is valid SQL on both, and nothing of a dialect leaks upward.

use diesel::pg::PgConnection;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::SqliteConnection;
use gatehouse_domain::model::{Client, Session, User};
use gatehouse_domain::Error as DomainError;
use uuid::Uuid;

use crate::StorageError;

pub(crate) type Result<T> = std::result::Result<T, DomainError>;

pub(crate) fn db(e: DieselError) -> DomainError {
    DomainError::storage(StorageError::Query(e))
}

pub(crate) fn conflict_or_db(
    what: impl FnOnce() -> String,
) -> impl FnOnce(DieselError) -> DomainError {
    move |e| match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            DomainError::Conflict(what())
        }
        other => db(other),
    }
}

/// A transaction on one connection; what the closures of [`gatehouse_domain::Store`] get.
pub struct Tx<'c, C> {
    conn: &'c mut C,
    /// A read transaction (one snapshot, nothing written): [`ReadTx::access_token`] reads the
    /// token's session and user in the same joined query and keeps them here for the
    /// `session` and `user_by_id` calls that follow it in every validation and
    /// introspection (one query, one round trip, instead of three).
    /// Likewise [`ReadTx::login_failure_before_client`] reads the client beside the failure
    /// record, for the `client` call of the client authentication that follows.
    /// PostgreSQL only (`backend.rs` says why not on SQLite).
    snapshot: bool,
    joined_session: Option<Session>,
    joined_user: Option<User>,
    joined_client: Option<Client>,
}

/// A transaction on a SQLite connection.
pub type SqliteTx<'c> = Tx<'c, SqliteConnection>;
/// A transaction on a PostgreSQL connection.
pub type PgTx<'c> = Tx<'c, PgConnection>;

impl<C> std::fmt::Debug for Tx<'_, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx").finish_non_exhaustive()
    }
}

impl<'c, C> Tx<'c, C> {
    /// Wraps a connection that is inside a transaction.
    pub fn new(conn: &'c mut C) -> Self {
        Self {
            conn,
            snapshot: false,
            joined_session: None,
            joined_user: None,
            joined_client: None,
        }
    }

    /// Wraps a connection that is inside a read transaction with a consistent snapshot:
    /// rows read together may be handed out again later in the transaction.
    pub(crate) fn snapshot(conn: &'c mut C) -> Self {
        Self {
            snapshot: true,
            ..Self::new(conn)
        }
    }

    fn joined_session(&mut self, id: Uuid) -> Option<Session> {
        if self.joined_session.as_ref().is_some_and(|s| s.id == id) {
            self.joined_session.take()
        } else {
            None
        }
    }

    fn joined_client(&mut self, client_id: &str) -> Option<Client> {
        if self
            .joined_client
            .as_ref()
            .is_some_and(|c| c.client_id == client_id)
        {
            self.joined_client.take()
        } else {
            None
        }
    }

    fn joined_user(&mut self, id: Uuid) -> Option<User> {
        if self.joined_user.as_ref().is_some_and(|u| u.id == id) {
            self.joined_user.take()
        } else {
            None
        }
    }
}

mod postgres;
mod sqlite;
