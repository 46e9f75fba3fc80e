//! Applying: the one write transaction that stores a validated [`ImportPlan`]. Conflicts
//! another writer could have caused since the validation are checked again here.

use time::OffsetDateTime;

use crate::error::Error;
use crate::model::{NewMember, SubAccount, TradingAccount};
use crate::service::provision::{check_subjects, store_user};
use crate::service::Result;
use crate::store::WriteTx;

use super::document::ImportReport;
use super::validate::{ImportPlan, PlannedUser};

/// Stores `plan` (inside the write transaction).
///
/// # Errors
/// `Conflict` (a user name taken with another id since the validation, JWT subjects that
/// would collide), `Storage`.
pub(crate) fn apply(
    tx: &mut dyn WriteTx,
    plan: &ImportPlan,
    now: OffsetDateTime,
) -> Result<ImportReport> {
    let mut report = ImportReport {
        passwords_hashed: plan.passwords_hashed,
        ..ImportReport::default()
    };
    for broker in &plan.brokers {
        tx.upsert_broker(broker)?;
        report.brokers += 1;
    }
    for valid in &plan.clients {
        tx.upsert_client(&valid.client)?;
        report.clients += 1;
    }
    // The document is authoritative: a client listed without logout settings has none.
    for valid in &plan.clients {
        valid.put_settings(tx)?;
    }
    for valid in &plan.clients {
        check_subjects(tx, &valid.client)?;
    }
    for planned in &plan.users {
        apply_user(tx, planned, now, &mut report)?;
    }
    Ok(report)
}

/// One user with its member record, sub-accounts and trading accounts.
fn apply_user(
    tx: &mut dyn WriteTx,
    planned: &PlannedUser,
    now: OffsetDateTime,
    report: &mut ImportReport,
) -> Result<()> {
    let user = &planned.user;
    // Re-check inside the transaction: another writer may have taken the name.
    let stored = tx.user_by_name(&user.user_name)?;
    if stored.as_ref().is_some_and(|other| other.id != user.id) {
        return Err(Error::Conflict(format!(
            "user {} exists with another id",
            user.user_name
        )));
    }
    if tx.client(&user.id.hyphenated().to_string())?.is_some() {
        return Err(Error::Conflict(format!(
            "user {}: its id is a client's id, so JWT subjects would collide (RFC 9068 section 5)",
            user.user_name
        )));
    }
    store_user(tx, stored.as_ref(), user, now)?;
    report.users += 1;
    if let Some(member) = &planned.member {
        let stored = tx.upsert_member(&NewMember {
            id: member.id,
            member_id: member.member_id.trim().to_owned(),
            user_id: user.id,
        })?;
        report.members += 1;
        for id in &member.sub_accounts {
            tx.upsert_sub_account(&SubAccount {
                id: *id,
                member: stored.id,
            })?;
            report.sub_accounts += 1;
        }
    }
    for account in &planned.trading_accounts {
        tx.upsert_trading_account(&TradingAccount {
            broker_id: account.broker_id,
            account: account.account.clone(),
            server: account.server.clone(),
            user_id: user.id,
        })?;
        report.trading_accounts += 1;
    }
    Ok(())
}
