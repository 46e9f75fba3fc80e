//! Katana bearer tickets (`--katana-machine-key`): issuing them at Katana's `/token`, and
//! adopting the ones the legacy service issued.
//!
//! Issuing: a password grant asked for by the Katana dialect gets, instead of an opaque
//! token, a ticket the legacy APIs' `OAuthBearerAuthenticationMiddleware` accepts
//! ([`KatanaTickets::ticket`]: the claims of the [`ClaimTemplate`]s, properties `userName`,
//! `userID`, `sessionKey`, `clientKey` when given, `.issued`, `.expires`). Its digest is
//! stored like every token's, so introspection, revocation, logout, password change and
//! disable work on it here (not at the legacy APIs: they never ask).
//!
//! Adoption ([`Gatehouse::adopt_katana_ticket`]): a ticket Gatehouse has never seen, under
//! the configured key, unexpired (`.expires` required: Katana would accept a ticket without
//! one forever; Gatehouse refuses it), naming a live user (by the name or the
//! name-identifier claim, [`UserClaim`]) becomes a session of its own bounded by `.expires`,
//! with the access token's digest recorded. From then on it is a token like any other:
//! revoked, it stays refused (the digest is known, so it is never adopted again).

use std::fmt;

use gatehouse_katana::{
    format_rfc1123, Claim, Ticket, TicketFormat, IV_LEN, NAME_CLAIM, NAME_IDENTIFIER_CLAIM,
    ROLE_CLAIM,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::model::{AccessToken, GrantType, Session, User, UserFlags};
use crate::rng::Rng;
use crate::secret::{Secret, TokenDigest};
use crate::store::Store;

use super::introspect::user_of;
use super::{Gatehouse, Result};

/// Which claim names the user of a legacy ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserClaim {
    /// `ClaimTypes.Name`: the user name (the default).
    #[default]
    Name,
    /// `ClaimTypes.NameIdentifier`: the user id (a GUID).
    NameIdentifier,
}

/// A user flag a claim may depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagCondition {
    /// `operator`.
    Operator,
    /// `editor`.
    Editor,
    /// `query_all`.
    QueryAll,
    /// `df_visible`.
    DfVisible,
}

impl FlagCondition {
    /// Parses the flag's name as the import document spells it.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "operator" => FlagCondition::Operator,
            "editor" => FlagCondition::Editor,
            "query_all" => FlagCondition::QueryAll,
            "df_visible" => FlagCondition::DfVisible,
            _ => return None,
        })
    }

    fn holds(self, flags: UserFlags) -> bool {
        match self {
            FlagCondition::Operator => flags.operator,
            FlagCondition::Editor => flags.editor,
            FlagCondition::QueryAll => flags.query_all,
            FlagCondition::DfVisible => flags.df_visible,
        }
    }
}

/// One claim of the issued tickets. `value` may contain `{userName}`, `{userID}`,
/// `{sessionKey}`, `{clientKey}`; `when` adds the claim only for users with that flag (the
/// way to give role claims: Gatehouse users have flags, not roles).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimTemplate {
    /// The claim type (a URI; `name`, `nameidentifier` and `role` are short for
    /// `ClaimTypes.Name`, `.NameIdentifier` and `.Role`).
    pub claim_type: String,
    /// The value, with placeholders.
    pub value: String,
    /// Only for users with this flag.
    pub when: Option<FlagCondition>,
}

impl ClaimTemplate {
    /// A claim with the short type names expanded.
    pub fn new(claim_type: &str, value: &str, when: Option<FlagCondition>) -> Self {
        let claim_type = match claim_type {
            "name" => NAME_CLAIM,
            "nameidentifier" => NAME_IDENTIFIER_CLAIM,
            "role" => ROLE_CLAIM,
            other => other,
        };
        ClaimTemplate {
            claim_type: claim_type.to_owned(),
            value: value.to_owned(),
            when,
        }
    }

    /// The default set: `ClaimTypes.Name` = the user name, `ClaimTypes.NameIdentifier` =
    /// the user id.
    pub fn defaults() -> Vec<Self> {
        vec![
            Self::new("name", "{userName}", None),
            Self::new("nameidentifier", "{userID}", None),
        ]
    }
}

/// What a ticket says about its user and session, for [`KatanaTickets::ticket`].
#[derive(Debug, Clone)]
pub struct TicketSubject<'a> {
    /// The user.
    pub user: &'a User,
    /// The session (`sessionKey`).
    pub session_id: Uuid,
    /// `clientKey`, when the caller sent one.
    pub client_key: Option<&'a str>,
    /// `.issued` (whole seconds).
    pub issued: OffsetDateTime,
    /// `.expires` (whole seconds).
    pub expires: OffsetDateTime,
}

/// The Katana ticket settings: the access-token format under the machineKey, the claims
/// issued, and how a legacy ticket names its user. `Debug` shows no key.
#[derive(Clone)]
pub struct KatanaTickets {
    format: TicketFormat,
    claims: Vec<ClaimTemplate>,
    user_claim: UserClaim,
    scope: String,
}

impl fmt::Debug for KatanaTickets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KatanaTickets")
            .field("format", &self.format)
            .field("claims", &self.claims)
            .field("user_claim", &self.user_claim)
            .field("scope", &self.scope)
            .finish()
    }
}

/// Whether `token` could be a Katana ticket at all (cheap, before any cryptography): long,
/// and Base64Url only (an opaque Gatehouse token is 43 characters, a JWT has dots).
pub fn looks_like_ticket(token: &str) -> bool {
    (100..=gatehouse_katana::MAX_TOKEN_CHARS).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl KatanaTickets {
    /// The settings; `scope`: the scope an adopted legacy ticket gets (Katana's `/token`
    /// without a client grants `--katana-default-scope`; a legacy ticket has no client).
    pub fn new(
        format: TicketFormat,
        claims: Vec<ClaimTemplate>,
        user_claim: UserClaim,
        scope: String,
    ) -> Self {
        Self {
            format,
            claims,
            user_claim,
            scope,
        }
    }

    /// The access-token format (to inspect tickets).
    pub fn format(&self) -> &TicketFormat {
        &self.format
    }

    /// The ticket issued for `subject`.
    pub fn ticket(&self, subject: &TicketSubject<'_>) -> Ticket {
        let user = subject.user;
        let user_id = user.id.to_string();
        let session_key = subject.session_id.to_string();
        let fill = |template: &str| {
            template
                .replace("{userName}", &user.user_name)
                .replace("{userID}", &user_id)
                .replace("{sessionKey}", &session_key)
                .replace("{clientKey}", subject.client_key.unwrap_or(""))
        };
        let claims = self
            .claims
            .iter()
            .filter(|c| c.when.is_none_or(|flag| flag.holds(user.flags)))
            .map(|c| Claim::new(c.claim_type.clone(), fill(&c.value)))
            .collect();
        let mut properties = vec![
            ("userName".to_owned(), user.user_name.clone()),
            ("userID".to_owned(), user_id.clone()),
            ("sessionKey".to_owned(), session_key.clone()),
        ];
        if let Some(key) = subject.client_key {
            properties.push(("clientKey".to_owned(), key.to_owned()));
        }
        properties.push((
            gatehouse_katana::ISSUED.to_owned(),
            format_rfc1123(subject.issued),
        ));
        properties.push((
            gatehouse_katana::EXPIRES.to_owned(),
            format_rfc1123(subject.expires),
        ));
        Ticket::bearer(claims, properties)
    }

    /// The token of `subject`'s ticket with a fresh IV, and its digest.
    pub(crate) fn issue(
        &self,
        subject: &TicketSubject<'_>,
        rng: &dyn Rng,
    ) -> (Secret, TokenDigest) {
        let mut iv = [0u8; IV_LEN];
        rng.fill(&mut iv);
        let token = self.format.protect(&self.ticket(subject), &iv);
        let digest = TokenDigest::of(&token);
        (Secret::from(token), digest)
    }

    /// The user a legacy ticket names, as a look-up key.
    fn user_ref(&self, ticket: &Ticket) -> Option<UserRef> {
        match self.user_claim {
            UserClaim::Name => ticket
                .claim(&ticket.name_claim_type)
                .map(|n| UserRef::Name(n.to_owned())),
            UserClaim::NameIdentifier => ticket
                .claim(NAME_IDENTIFIER_CLAIM)
                .and_then(|id| Uuid::parse_str(id).ok())
                .map(UserRef::Id),
        }
    }
}

enum UserRef {
    Name(String),
    Id(Uuid),
}

/// Whole seconds (Katana's `.issued` drops the milliseconds; RFC 1123 has none).
pub(crate) fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

impl<S: Store> Gatehouse<S> {
    /// Adopts a Katana ticket Gatehouse has not seen: valid under the configured machineKey,
    /// `.expires` present and in the future, its user existing and not disabled. Creates a
    /// session ending at `.expires` and records the token's digest. `Ok(true)`: adopted now;
    /// `Ok(false)`: nothing to do (no machineKey configured, not such a ticket, refused, or
    /// already known: a revoked ticket is known and stays refused). Call it before
    /// validating a bearer token; validation then decides as for any token.
    ///
    /// # Errors
    /// `Storage`.
    pub fn adopt_katana_ticket(&self, token: &str) -> Result<bool> {
        let Some(katana) = self.katana.as_deref() else {
            return Ok(false);
        };
        if !looks_like_ticket(token) {
            return Ok(false);
        }
        let Ok(ticket) = katana.format.unprotect(token) else {
            return Ok(false);
        };
        // Katana's bearer middleware refuses an identity without an authentication type
        // (`IsAuthenticated` false).
        if ticket.authentication_type.is_empty() {
            return Ok(false);
        }
        let now = self.now();
        let Some(expires) = ticket.expires().filter(|e| *e > now) else {
            return Ok(false);
        };
        let Some(user_ref) = katana.user_ref(&ticket) else {
            return Ok(false);
        };
        let digest = TokenDigest::of(token);
        let known = self.store.read(|tx| {
            if tx.access_token(&digest)?.is_some() {
                return Ok(None);
            }
            let user = match &user_ref {
                UserRef::Name(name) => tx.user_by_name(name)?,
                UserRef::Id(id) => tx.user_by_id(*id)?,
            };
            match user {
                Some(user) => Ok(user_of(tx, user.id)?.ok()),
                None => Ok(None),
            }
        })?;
        let Some(user) = known else {
            return Ok(false);
        };
        let issued = ticket.issued().filter(|i| *i <= now).unwrap_or(now);
        let session = Session {
            id: self.rng.uuid_v4(),
            client_id: None,
            user_id: Some(user.id),
            client_key: ticket
                .property("clientKey")
                .filter(|k| !k.is_empty() && k.len() <= self.config.max_name_bytes)
                .map(str::to_owned),
            caller_ip: None,
            created_at: now,
            last_used_at: now,
            ended_at: None,
            parent_id: None,
            source_token: None,
            // Never past Gatehouse's own cap on sessions either.
            expires_at: Some(expires.min(super::later(now, self.config.session_max_lifetime))),
            grant: Some(GrantType::Password),
        };
        let access = AccessToken {
            digest,
            session_id: session.id,
            client_id: None,
            user_id: Some(user.id),
            scope: katana.scope.clone(),
            issued_at: issued,
            expires_at: expires,
            revoked_at: None,
        };
        self.store.write(move |tx| {
            // Two first uses at once: the second finds the first's row and adopts nothing.
            if tx.access_token(&access.digest)?.is_some() {
                return Ok(false);
            }
            tx.insert_tokens(Some(&session), &access, None)?;
            Ok(true)
        })
    }
}

#[cfg(test)]
mod tests {
    //! Gatehouse → Katana: the tickets this module issues, with a fixed IV and time, for
    //! every key file of `tests/golden/katana/keys`, are `gatehouse-issued.json`; the Katana
    //! harness presented each to the real `OAuthBearerAuthenticationMiddleware` and recorded
    //! what it decoded in `gatehouse-accepted.json`. `GATEHOUSE_BLESS_KATANA=1` rewrites the
    //! first (then run the harness's `gatehouse-check.sh file` again).

    use super::*;
    use serde_json::{json, Value};
    use time::macros::datetime;

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/golden/katana");

    fn alice() -> User {
        User {
            id: Uuid::parse_str("a11ce000-0000-4000-8000-000000000001").expect("uuid"),
            user_name: "alice".to_owned(),
            password_hash: String::new(),
            flags: UserFlags {
                operator: true,
                ..UserFlags::default()
            },
            created_at: datetime!(2026-01-01 00:00 UTC),
            profile: crate::model::UserProfile::default(),
        }
    }

    fn key_names() -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(format!("{DIR}/keys"))
            .expect("keys")
            .filter_map(|e| {
                e.ok()?
                    .file_name()
                    .to_str()?
                    .strip_suffix(".config")
                    .map(str::to_owned)
            })
            .collect();
        names.sort();
        names
    }

    /// The two claim sets issued: the default, and a template with a role by flag and a
    /// custom claim with placeholders.
    fn templates() -> Vec<(&'static str, Vec<ClaimTemplate>, Option<&'static str>)> {
        let mut custom = ClaimTemplate::defaults();
        custom.push(ClaimTemplate::new(
            "role",
            "Operator",
            Some(FlagCondition::Operator),
        ));
        custom.push(ClaimTemplate::new(
            "role",
            "Editor",
            Some(FlagCondition::Editor),
        ));
        custom.push(ClaimTemplate::new(
            "urn:example:session",
            "{sessionKey}/{clientKey}",
            None,
        ));
        vec![
            ("default", ClaimTemplate::defaults(), Some("laptop-1")),
            ("template", custom, None),
        ]
    }

    fn issued() -> Vec<Value> {
        let user = alice();
        let mut out = Vec::new();
        for (i, name) in key_names().iter().enumerate() {
            let text = std::fs::read_to_string(format!("{DIR}/keys/{name}.config")).expect("key");
            let key = gatehouse_katana::MachineKey::parse(&text).expect("machineKey");
            for (variant, claims, client_key) in templates() {
                let tickets = KatanaTickets::new(
                    TicketFormat::access_token(&key),
                    claims,
                    UserClaim::Name,
                    String::new(),
                );
                let subject = TicketSubject {
                    user: &user,
                    session_id: Uuid::parse_str("5e551011-0000-4000-8000-00000000000a")
                        .expect("uuid"),
                    client_key,
                    issued: datetime!(2026-12-06 09:00 UTC),
                    expires: datetime!(2099-12-31 23:59:59 UTC),
                };
                let iv: [u8; IV_LEN] = std::array::from_fn(|b| (i * 16 + b) as u8);
                let ticket = tickets.ticket(&subject);
                out.push(json!({
                    "key": name,
                    "variant": variant,
                    "iv": iv.iter().map(|b| format!("{b:02X}")).collect::<String>(),
                    "token": tickets.format().protect(&ticket, &iv),
                }));
            }
        }
        out
    }

    fn read(name: &str) -> Option<Value> {
        let text = std::fs::read_to_string(format!("{DIR}/{name}")).ok()?;
        serde_json::from_str(&text).ok()
    }

    #[test]
    fn issued_tickets_are_the_bytes_the_real_bearer_middleware_accepted() {
        let ours = issued();
        assert_eq!(ours.len(), 2 * key_names().len());
        if std::env::var_os("GATEHOUSE_BLESS_KATANA").is_some() {
            let text = serde_json::to_string_pretty(&ours).expect("json") + "\n";
            std::fs::write(format!("{DIR}/gatehouse-issued.json"), text).expect("write");
        }
        let golden = read("gatehouse-issued.json").expect("gatehouse-issued.json");
        assert_eq!(
            Value::Array(ours.clone()),
            golden,
            "the encoder's bytes changed"
        );
        let accepted = read("gatehouse-accepted.json").expect("gatehouse-accepted.json");
        let accepted = accepted.as_array().expect("array");
        assert_eq!(accepted.len(), ours.len());
        for (entry, mine) in accepted.iter().zip(&ours) {
            assert_eq!(entry["token"], mine["token"], "same token");
            assert_eq!(entry["accepted"], true, "{entry}");
            assert_eq!(entry["status"], 200);
            // What Katana decoded is what we meant.
            let t = &entry["ticket"];
            assert_eq!(t["authenticationType"], "Bearer");
            assert_eq!(t["name"], "alice");
            assert_eq!(t["properties"]["userName"], "alice");
            assert_eq!(
                t["properties"]["userID"],
                "a11ce000-0000-4000-8000-000000000001"
            );
            assert_eq!(
                t["properties"]["sessionKey"],
                "5e551011-0000-4000-8000-00000000000a"
            );
            assert_eq!(t["expiresUtc"], "2099-12-31T23:59:59.0000000+00:00");
            assert_eq!(t["issuedUtc"], "2026-12-06T09:00:00.0000000+00:00");
            let claims: Vec<(String, String)> = t["claims"]
                .as_array()
                .expect("claims")
                .iter()
                .map(|c| {
                    assert_eq!(c["issuer"], "LOCAL AUTHORITY");
                    (
                        c["type"]
                            .as_str()
                            .expect("type")
                            .rsplit('/')
                            .next()
                            .unwrap_or("")
                            .to_owned(),
                        c["value"].as_str().expect("value").to_owned(),
                    )
                })
                .collect();
            let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
            let mut expected = vec![
                pair("name", "alice"),
                pair("nameidentifier", "a11ce000-0000-4000-8000-000000000001"),
            ];
            if mine["variant"] == "template" {
                // The Operator role (alice is an operator), no Editor role.
                expected.push(pair("role", "Operator"));
                expected.push(pair(
                    "urn:example:session",
                    "5e551011-0000-4000-8000-00000000000a/",
                ));
                assert_eq!(t["properties"].get("clientKey"), None);
            } else {
                assert_eq!(t["properties"]["clientKey"], "laptop-1");
            }
            assert_eq!(claims, expected, "{}", mine["key"]);
        }
    }
}
