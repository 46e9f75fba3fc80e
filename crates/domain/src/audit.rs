//! Security events: one typed enum, [`AuditEvent`], and the one way to emit one,
//! [`crate::Gatehouse::audit`] (the server writes them as JSON lines with `--audit-log` and
//! counts them in `/metrics`; `docs/operations.md` documents the schema).
//!
//! An event names who and what (user names, client ids, session GUIDs, key ids, addresses),
//! never a password, secret, token, code or digest: no field of any variant can hold one
//! (the types are plain strings of names and ids, filled only from those).
//!
//! To add an event: a variant here (its `kind` is the snake_case name, stable once shipped),
//! then `self.audit(AuditEvent::…)` where it happens, after the change committed.

use std::fmt;

use serde::Serialize;
use uuid::Uuid;

/// Why a password login failed (the class, never which part was wrong).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    /// Unknown user or wrong password (not told apart).
    BadCredentials,
    /// The account or the address was locked; nothing was verified.
    Locked,
    /// The password was right but the account is disabled.
    Disabled,
}

/// Who made an operator change, and through what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operator {
    /// The operator: the OS user running the command line, the admin client id, the
    /// console's signed-in user.
    pub operator: String,
    /// `cli`, `admin_api` or `console`.
    pub via: &'static str,
}

/// A security event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AuditEvent {
    /// A password was verified (any password endpoint or the login page).
    LoginSucceeded {
        /// The user name as typed (or the member id).
        user: String,
        /// The caller's address (an IPv6 caller as its /64), when known.
        address: Option<String>,
    },
    /// A password login was refused.
    LoginFailed {
        /// The user name as typed (or the member id).
        user: String,
        /// The caller's address, when known.
        address: Option<String>,
        /// The class of failure.
        reason: FailureReason,
    },
    /// A failure locked a key (`user:<name>`, `member:<id>`, `ip:<address>`).
    LockedOut {
        /// The lockout key.
        key: String,
        /// Failures counted.
        failures: u32,
        /// Locked until (RFC 3339).
        until: String,
    },
    /// A grant issued an access token (and maybe a refresh token).
    TokenIssued {
        /// The grant: `password`, `refresh_token`, `client_credentials`,
        /// `authorization_code`, `onetime`.
        grant: &'static str,
        /// The client, if any.
        client: Option<String>,
        /// The user's GUID, if any.
        user: Option<Uuid>,
        /// The session (token family).
        session: Uuid,
        /// Whether a refresh token came with it.
        refresh_token: bool,
    },
    /// An authorization code or a one-time code was issued.
    CodeIssued {
        /// `authorization_code` or `onetime_code`.
        kind: &'static str,
        /// The client that may redeem it.
        client: String,
        /// The user it stands for.
        user: Uuid,
    },
    /// A code was redeemed (exchanged for tokens).
    CodeRedeemed {
        /// `authorization_code` or `onetime_code`.
        kind: &'static str,
        /// The redeeming client.
        client: String,
        /// The session the redemption opened.
        session: Uuid,
    },
    /// A token was revoked (RFC 7009).
    TokenRevoked {
        /// `access_token` or `refresh_token` (a refresh token ends its session).
        kind: &'static str,
        /// The client that revoked it.
        client: String,
        /// The session it belonged to.
        session: Uuid,
    },
    /// Dual-run (`--dual-run observe|primary`): Gatehouse's answer and the legacy service's
    /// differed (one event per compared request that differed, stored or past the cap).
    DualRunDifference {
        /// `observe` or `primary`.
        mode: String,
        /// The dialect label (`katana`, `v1`, `member`, `otc`, `onetime`).
        dialect: String,
        /// The normalised route.
        endpoint: String,
        /// The client the request named, if any.
        client: Option<String>,
        /// The kinds of difference, comma separated (`status`, `members`, …).
        kinds: String,
        /// Whether it was stored (false past `--dual-run-max-differences`).
        stored: bool,
    },
    /// An operator changed something (command line, admin API, console).
    AdminAction {
        /// Who and through what.
        #[serde(flatten)]
        by: Operator,
        /// What: `user.add`, `user.passwd`, `user.disable`, `user.enable`, `user.unlock`,
        /// `user.end_sessions`, `user.remove`, `client.add`, `client.update`,
        /// `client.rotate_secret`, `client.set_jwks`, `client.remove`, `keys.rotate`,
        /// `keys.retire`, `import`, `restore`; the admin API's and console's reads:
        /// `user.list`, `user.show`, `client.list`, `client.show`, `session.list`,
        /// `keys.list`, `lockout.list`, `audit.read`; `console.sign_in`.
        action: &'static str,
        /// The user name, client id or key id it was done to.
        target: String,
    },
    /// A back-channel logout token was delivered to a client, or given up on (OpenID Connect
    /// Back-Channel Logout 1.0; [`crate::backchannel`]).
    BackchannelLogout {
        /// The client notified.
        client: String,
        /// The browser session that ended (`sid`).
        session: Uuid,
        /// `delivered`, `failed` (every attempt failed) or `dropped` (the queue was full or
        /// the token could not be signed).
        outcome: &'static str,
        /// Attempts made.
        attempts: u32,
    },
    /// An admin API or console request was refused: no or a bad token, not an admin client,
    /// a non-operator, a missing or foreign CSRF token, or the operation itself refused
    /// (unknown user, invalid input).
    AdminRefused {
        /// The caller when known (the admin client id, the console's user), else `None`.
        operator: Option<String>,
        /// `admin_api` or `console`.
        via: &'static str,
        /// The route, as `METHOD /path/{pattern}` (never the query).
        request: String,
        /// Why: `no_token`, `invalid_token`, `user_token`, `not_confidential`,
        /// `missing_scope`, `not_operator`, `csrf`, `not_found`, `method_not_allowed`,
        /// `invalid_request`, `conflict`, `unavailable`, `error`.
        reason: &'static str,
    },
}

impl AuditEvent {
    /// The event's kind: its `event` field, and the `kind` label of
    /// `gatehouse_audit_events_total`.
    pub fn kind(&self) -> &'static str {
        match self {
            AuditEvent::LoginSucceeded { .. } => "login_succeeded",
            AuditEvent::LoginFailed { .. } => "login_failed",
            AuditEvent::LockedOut { .. } => "locked_out",
            AuditEvent::TokenIssued { .. } => "token_issued",
            AuditEvent::TokenRevoked { .. } => "token_revoked",
            AuditEvent::CodeIssued { .. } => "code_issued",
            AuditEvent::CodeRedeemed { .. } => "code_redeemed",
            AuditEvent::DualRunDifference { .. } => "dual_run_difference",
            AuditEvent::AdminAction { .. } => "admin_action",
            AuditEvent::AdminRefused { .. } => "admin_refused",
            AuditEvent::BackchannelLogout { .. } => "backchannel_logout",
        }
    }

    /// Every kind, for metrics that show zeros.
    pub const KINDS: [&'static str; 11] = [
        "login_succeeded",
        "login_failed",
        "locked_out",
        "token_issued",
        "token_revoked",
        "code_issued",
        "code_redeemed",
        "dual_run_difference",
        "admin_action",
        "admin_refused",
        "backchannel_logout",
    ];
}

/// Where events go (the server's JSON-lines file and counters).
pub trait AuditSink: Send + Sync + fmt::Debug {
    /// Records one event. Must not fail the operation: a sink that cannot write reports it
    /// its own way (log line, metric).
    fn record(&self, event: &AuditEvent);
}

/// RFC 3339 UTC.
pub(crate) fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialize_with_their_kind_and_no_more() {
        let e = AuditEvent::AdminAction {
            by: Operator {
                operator: "root".to_owned(),
                via: "cli",
            },
            action: "user.disable",
            target: "bob".to_owned(),
        };
        let json = serde_json::to_value(&e).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"event": "admin_action", "operator": "root", "via": "cli",
                               "action": "user.disable", "target": "bob"})
        );
        assert_eq!(json["event"], e.kind());
    }
}
