//! Provisioning from a document (format in `docs/import.md`): [`document`] parses it (and
//! holds the demo data), [`validate`] checks it against the stored state and hashes
//! outside the transaction, [`apply`] stores it in one write transaction. Clients and users
//! go through the same rules as the command line ([`crate::service::provision`]).

mod apply;
mod document;
mod validate;

pub use document::{
    demo_admin_document, demo_document, ImportBroker, ImportClient, ImportDocument, ImportMember,
    ImportReport, ImportTradingAccount, ImportUser, DEMO_DOCUMENT,
};

use crate::service::{Gatehouse, Result};
use crate::store::Store;

impl<S: Store> Gatehouse<S> {
    /// Applies an import document in one write transaction. Password hashing and
    /// verification happen before the transaction. Idempotent: plain secrets and passwords
    /// that already match the stored hashes keep them.
    ///
    /// # Errors
    /// `InvalidRequest` (bad field: unknown grant, both secret forms, new user without a
    /// password, malformed secret hash), `Conflict` (user id differs from the stored one for
    /// that name, or two users share a name), `Storage` (e.g. a trading account of an
    /// unknown broker). Nothing is applied on error.
    pub fn import(&self, doc: &ImportDocument) -> Result<ImportReport> {
        let plan = self.plan_import(doc)?;
        let now = self.now();
        self.store().write(move |tx| apply::apply(tx, &plan, now))
    }
}
