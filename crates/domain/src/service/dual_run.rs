//! Dual-run counters and differences, legacy-dialect use, and the migration report
//! (issue 22). The server compares and redacts; this module only stores and reads, within
//! the caps it is given.

use time::OffsetDateTime;

use super::{Gatehouse, Result};
use crate::audit::AuditEvent;
use crate::dual_run::{Difference, MigrationReport, Usage};
use crate::store::Store;

/// Where credential capture counts the users it captured: a row of the dual-run counters
/// (dialect, endpoint, kind), kept apart from the comparisons by the report.
pub(crate) const CAPTURE_COUNTER: (&str, &str, &str) = ("capture", "(capture)", "captured");

/// The client id legacy use is counted under when the request named no known client.
pub const UNKNOWN_CLIENT: &str = "(unknown)";

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
        // The event's fields (a difference is rare: the copy costs nothing that matters).
        let seen = difference.as_ref().map(|d| {
            (
                d.mode.clone(),
                d.dialect.clone(),
                d.endpoint.clone(),
                d.client_id.clone(),
                d.kinds.clone(),
            )
        });
        let stored = self.store.write(move |tx| {
            tx.count_comparison(&dialect, &endpoint, &kinds)?;
            match &difference {
                Some(d) => tx.insert_difference(d, cap),
                None => Ok(false),
            }
        })?;
        if let Some((mode, dialect, endpoint, client, kinds)) = seen {
            self.audit(AuditEvent::DualRunDifference {
                mode,
                dialect,
                endpoint,
                client,
                kinds,
                stored,
            });
        }
        Ok(stored)
    }

    /// Adds deltas of legacy-dialect use to the stored totals (one write for all). A client
    /// id that names no client is counted as [`UNKNOWN_CLIENT`]: the ids come from
    /// unauthenticated requests, and the table stays as small as the client list.
    ///
    /// # Errors
    /// [`crate::Error::Storage`].
    pub fn add_legacy_usage(&self, deltas: Vec<Usage>) -> Result<()> {
        if deltas.is_empty() {
            return Ok(());
        }
        self.store.write(move |tx| {
            let mut merged: Vec<Usage> = Vec::with_capacity(deltas.len());
            for mut delta in deltas {
                if !delta.client_id.is_empty() && tx.client(&delta.client_id)?.is_none() {
                    delta.client_id = UNKNOWN_CLIENT.to_owned();
                }
                match merged
                    .iter_mut()
                    .find(|m| m.client_id == delta.client_id && m.dialect == delta.dialect)
                {
                    Some(m) => m.add(&delta),
                    None => merged.push(delta),
                }
            }
            tx.add_legacy_usage(&merged)
        })
    }

    /// The figures an operator reads before switching a legacy dialect off: use per client
    /// and dialect (of clients seen at or after `since`), the dual-run counters, the number
    /// of differences stored.
    ///
    /// # Errors
    /// [`crate::Error::Storage`].
    pub fn migration_report(&self, since: Option<OffsetDateTime>) -> Result<MigrationReport> {
        self.store.read(|tx| {
            let (captured, comparisons): (Vec<_>, Vec<_>) = tx
                .comparison_counts()?
                .into_iter()
                .partition(|c| c.endpoint == CAPTURE_COUNTER.1);
            Ok(MigrationReport {
                usage: tx.legacy_usage(since)?,
                comparisons,
                differences_stored: tx.differences_stored()?,
                users_captured: captured
                    .iter()
                    .filter(|c| c.kind == CAPTURE_COUNTER.2)
                    .map(|c| c.count)
                    .sum(),
                users_to_capture: tx.users_with_hash(crate::credentials::CAPTURE_MARK)?,
            })
        })
    }
}
