//! Dual-run counters and differences, legacy-dialect use, and the migration report
//! (issue 22). The server compares and redacts; this module only stores and reads, within
//! the caps it is given.

use time::OffsetDateTime;

use super::{Gatehouse, Result};
use crate::dual_run::{Difference, MigrationReport, Usage};
use crate::store::Store;

impl<S: Store> Gatehouse<S> {
    /// Counts one comparison under each of `kinds`, and stores `difference` unless `cap`
    /// differences are stored already. Returns whether the difference was stored.
    ///
    /// # Errors
    /// [`crate::Error::Storage`].
    pub fn record_comparison(
        &self,
        dialect: &str,
        endpoint: &str,
        kinds: &[&'static str],
        difference: Option<Difference>,
        cap: u64,
    ) -> Result<bool> {
        let (dialect, endpoint, kinds) = (dialect.to_owned(), endpoint.to_owned(), kinds.to_vec());
        self.store.write(move |tx| {
            tx.count_comparison(&dialect, &endpoint, &kinds)?;
            match &difference {
                Some(d) => tx.insert_difference(d, cap),
                None => Ok(false),
            }
        })
    }

    /// Adds deltas of legacy-dialect use to the stored totals (one write for all).
    ///
    /// # Errors
    /// [`crate::Error::Storage`].
    pub fn add_legacy_usage(&self, deltas: Vec<Usage>) -> Result<()> {
        if deltas.is_empty() {
            return Ok(());
        }
        self.store.write(move |tx| tx.add_legacy_usage(&deltas))
    }

    /// The figures an operator reads before switching a legacy dialect off: use per client
    /// and dialect (of clients seen at or after `since`), the dual-run counters, the number
    /// of differences stored.
    ///
    /// # Errors
    /// [`crate::Error::Storage`].
    pub fn migration_report(&self, since: Option<OffsetDateTime>) -> Result<MigrationReport> {
        self.store.read(|tx| {
            Ok(MigrationReport {
                usage: tx.legacy_usage(since)?,
                comparisons: tx.comparison_counts()?,
                differences_stored: tx.differences_stored()?,
            })
        })
    }
}
