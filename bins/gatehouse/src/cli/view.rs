//! How users, sessions, lockouts and clients are shown to an operator: one JSON shape (the
//! `--json` output, documented in docs/operations.md, stable for scripts) and the readable
//! lines. Never a password hash, secret hash, token or digest: only the fields below.

use gatehouse_domain::model::{Client, User};
use gatehouse_domain::service::operator::{LockoutState, SessionSummary, UserDetails};
use serde_json::{json, Value};
use time::OffsetDateTime;

/// RFC 3339 UTC.
pub fn when(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn opt_when(t: Option<OffsetDateTime>) -> Value {
    t.map_or(Value::Null, |t| Value::String(when(t)))
}

/// The flags set on a user, comma separated (`-` for none).
pub fn flags(user: &User) -> String {
    let f = &user.flags;
    let names: Vec<&str> = [
        (f.operator, "operator"),
        (f.editor, "editor"),
        (f.query_all, "query_all"),
        (f.df_visible, "df_visible"),
        (f.disabled, "disabled"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    if names.is_empty() {
        "-".to_owned()
    } else {
        names.join(",")
    }
}

/// A user (no password hash).
pub fn user_json(user: &User) -> Value {
    json!({
        "id": user.id.to_string(),
        "user_name": user.user_name,
        "name": user.profile.name,
        "email": user.profile.email,
        "email_verified": user.profile.email_verified,
        "operator": user.flags.operator,
        "editor": user.flags.editor,
        "query_all": user.flags.query_all,
        "df_visible": user.flags.df_visible,
        "disabled": user.flags.disabled,
        "created_at": when(user.created_at),
    })
}

/// A session (no token).
pub fn session_json(s: &SessionSummary) -> Value {
    json!({
        "id": s.id.to_string(),
        "client_id": s.client_id,
        "grant": s.grant.map(|g| g.as_str()),
        "caller_ip": s.caller_ip,
        "created_at": when(s.created_at),
        "last_used_at": when(s.last_used_at),
        "expires_at": opt_when(s.expires_at),
        "parent_id": s.parent_id.map(|p| p.to_string()),
    })
}

/// A lockout record.
pub fn lockout_json(l: &LockoutState) -> Value {
    json!({
        "key": l.key,
        "failures": l.failures,
        "last_failure_at": when(l.last_failure_at),
        "locked_until": opt_when(l.locked_until),
        "locked": l.locked,
    })
}

/// `user show --json`.
pub fn user_details_json(d: &UserDetails) -> Value {
    json!({
        "user": user_json(&d.user),
        "member": d.member.as_ref().map(|m| json!({
            "member_id": m.member_id,
            "id_member": m.id,
            "sub_accounts": d.sub_accounts,
        })),
        "trading_accounts": d.trading_accounts.iter().map(|a| json!({
            "broker_id": a.broker_id.to_string(),
            "account": a.account,
            "server": a.server,
        })).collect::<Vec<_>>(),
        "lockouts": d.lockouts.iter().map(lockout_json).collect::<Vec<_>>(),
        "sessions": d.sessions.iter().map(session_json).collect::<Vec<_>>(),
        "browser_sessions": d.browser_sessions.iter().map(|b| json!({
            "id": b.id.to_string(),
            "authenticated_at": when(b.authenticated_at),
            "expires_at": when(b.expires_at),
        })).collect::<Vec<_>>(),
        "truncated": d.truncated,
    })
}

/// `user show` as text.
pub fn user_details_text(d: &UserDetails) -> String {
    let u = &d.user;
    let mut out = format!(
        "user        {}\nid          {}\nflags       {}\ncreated     {}\n",
        u.user_name,
        u.id,
        flags(u),
        when(u.created_at)
    );
    if let Some(name) = &u.profile.name {
        out.push_str(&format!("name        {name}\n"));
    }
    if let Some(email) = &u.profile.email {
        let verified = if u.profile.email_verified {
            " (verified)"
        } else {
            ""
        };
        out.push_str(&format!("email       {email}{verified}\n"));
    }
    if let Some(m) = &d.member {
        let subs: Vec<String> = d.sub_accounts.iter().map(i64::to_string).collect();
        out.push_str(&format!(
            "member      {} (id_Member {}), sub-accounts: {}\n",
            m.member_id,
            m.id,
            if subs.is_empty() {
                "-".to_owned()
            } else {
                subs.join(", ")
            }
        ));
    }
    for a in &d.trading_accounts {
        out.push_str(&format!(
            "trading     {} on {} (broker {})\n",
            a.account, a.server, a.broker_id
        ));
    }
    out.push_str("\nlockout\n");
    if d.lockouts.is_empty() {
        out.push_str("  no failed logins recorded\n");
    }
    for l in &d.lockouts {
        let state = match (l.locked, l.locked_until) {
            (true, Some(until)) => format!("LOCKED until {}", when(until)),
            _ => "not locked".to_owned(),
        };
        out.push_str(&format!(
            "  {:<28} {} failures, last {}, {state}\n",
            l.key,
            l.failures,
            when(l.last_failure_at)
        ));
    }
    out.push_str(&format!("\nlive sessions ({})\n", d.sessions.len()));
    if !d.sessions.is_empty() {
        out.push_str(&format!(
            "  {:<36} {:<20} {:<18} {:<20} {:<20} {}\n",
            "session", "client", "grant", "created", "last used", "address"
        ));
    }
    for s in &d.sessions {
        out.push_str(&format!(
            "  {:<36} {:<20} {:<18} {:<20} {:<20} {}\n",
            s.id,
            s.client_id.as_deref().unwrap_or("-"),
            s.grant.map_or("-", |g| g.as_str()),
            when(s.created_at),
            when(s.last_used_at),
            s.caller_ip.as_deref().unwrap_or("-")
        ));
    }
    out.push_str(&format!(
        "\nbrowser sessions ({})\n",
        d.browser_sessions.len()
    ));
    for b in &d.browser_sessions {
        out.push_str(&format!(
            "  {:<36} signed in {}, ends {}\n",
            b.id,
            when(b.authenticated_at),
            when(b.expires_at)
        ));
    }
    if d.truncated {
        out.push_str("(only the newest sessions are listed)\n");
    }
    out
}

/// A client (no secret hash: only whether it has one).
pub fn client_json(c: &Client) -> Value {
    json!({
        "client_id": c.client_id,
        "name": c.client_name,
        "confidential": c.is_confidential(),
        "grants": c.grants.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "scope": c.scope,
        "redirect_url": c.redirect_url,
        "redirect_uris": c.redirect_uris,
        "broker_id": c.broker_id.map(|b| b.to_string()),
        "introspect_any": c.introspect_any,
        "consent_required": c.consent_required,
        "access_token_format": c.access_token_format.as_str(),
        "audience": c.signing.audience,
        "access_token_alg": c.signing.access_token_alg.as_str(),
        "id_token_alg": c.signing.id_token_alg.as_str(),
        "access_token_lifetime_secs": c.access_token_lifetime.map(|d| d.whole_seconds()),
        "refresh_token_lifetime_secs": c.refresh_token_lifetime.map(|d| d.whole_seconds()),
    })
}

/// `client show` as text: one `field  value` line per field of [`client_json`].
pub fn client_text(c: &Client) -> String {
    let Value::Object(fields) = client_json(c) else {
        return String::new();
    };
    fields
        .iter()
        .map(|(k, v)| {
            let shown = match v {
                Value::Null => "-".to_owned(),
                Value::String(s) if s.is_empty() => "-".to_owned(),
                Value::String(s) => s.clone(),
                Value::Array(items) if items.is_empty() => "-".to_owned(),
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(" "),
                other => other.to_string(),
            };
            format!("{k:<28} {shown}\n")
        })
        .collect()
}

/// A signing key (its public half's id and dates; never the sealed private key).
pub fn key_json(
    key: &gatehouse_domain::keys::SigningKey,
    status: gatehouse_domain::keys::KeyStatus,
) -> Value {
    json!({
        "kid": key.kid,
        "alg": key.alg.as_str(),
        "status": status.as_str(),
        "created_at": when(key.created_at),
        "activates_at": when(key.activates_at),
        "retired_at": opt_when(key.retired_at),
        "published_until": opt_when(key.published_until),
    })
}
