//! [`Gatehouse`]: the grant operations, one synchronous method each.
//!
//! Password-checking operations (`password_grant`, `member_grant`, `issue_auth_code`,
//! provisioning with plain passwords) run a PBKDF2 computation: call them on the hash pool.
//! Everything else costs a transaction or two.
//!
//! One module per operation or rule, each with its inputs and outputs beside it:
//! [`client_auth`] (who the client is), [`lockout`] (password checks and back-off),
//! [`scope`], [`tokens`] (the token factory: the one place access and refresh tokens and
//! their session links are built), `redeem` (the code redeemer: single use of authorization
//! and one-time codes), [`password`], [`refresh`], [`client_credentials`], [`codes`]
//! (authorization codes), [`onetime`], [`introspect`] (validation and introspection),
//! [`revoke`], [`dual_run`] (dual-run counters and the migration report), [`capture`]
//! (credential capture from the legacy service), [`provision`]
//! (`ClientSpec`, `UserSpec`, the command line's operations), [`import`] (the provisioning
//! document), [`operator`]; the standards surface's [`authorize`], [`browser_session`],
//! [`logout`], [`par`], [`forms`], [`oidc`] (signed tokens, keys, userinfo) and
//! [`discovery`] (what the metadata documents advertise). What an entity decides alone
//! (expired, revoked, rotated, consumed, disabled)
//! lives on it, in [`crate::model::rules`].

use std::fmt;
use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use crate::clock::Clock;
use crate::config::Config;
use crate::credentials::PasswordHasher;
use crate::error::Error;
use crate::rng::Rng;
use crate::store::Store;

pub mod admin;
pub mod authorize;
pub mod backchannel;
pub mod browser_session;
pub mod capture;
pub mod client_auth;
pub mod client_credentials;
pub mod codes;
pub(crate) mod delegate;
pub mod discovery;
pub mod dual_run;
pub mod forms;
pub mod import;
pub mod introspect;
pub mod katana;
pub mod lockout;
pub mod logout;
pub mod oidc;
pub mod onetime;
pub mod operator;
pub mod par;
pub mod password;
pub mod provision;
mod redeem;
pub mod refresh;
pub mod revoke;
pub mod scope;
pub mod tokens;

pub use client_auth::{ClientAuth, WithoutClient};
pub use codes::IssuedCode;
pub use introspect::{TokenInfo, TokenKind};
pub use onetime::{OneTimeIssuer, OneTimeRedemption, OneTimeRequest};
pub use password::{MemberGrant, MemberLogin, PasswordGrant, WindowsGrant};
pub use provision::{ClientSecretSpec, ClientSpec, UserSpec, ValidClient};
pub use tokens::{IssuedTokens, UserInfo};

pub(crate) use client_auth::authenticate_in;
pub(crate) use codes::CodeCaps;
pub(crate) use scope::narrow_scope;

pub(crate) type Result<T> = std::result::Result<T, Error>;

/// The grant logic over a [`Store`], with injected clock, randomness and password hasher.
pub struct Gatehouse<S: Store> {
    store: S,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
    hasher: PasswordHasher,
    config: Config,
    keys: Option<Arc<crate::keys::KeyRing>>,
    katana: Option<Arc<katana::KatanaTickets>>,
    audit: Option<Arc<dyn crate::audit::AuditSink>>,
    backchannel: Option<Arc<dyn crate::backchannel::BackchannelSink>>,
    capture: Option<Arc<dyn capture::CredentialUpstream>>,
}

impl<S: Store> fmt::Debug for Gatehouse<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gatehouse")
            .field("hasher", &self.hasher)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// `now + d`, saturating at the largest representable instant instead of panicking on an
/// absurd configured lifetime.
/// The [`crate::audit::AuditEvent::TokenIssued`] of tokens a grant issued.
fn issued_event(grant: crate::model::GrantType, tokens: &IssuedTokens) -> crate::audit::AuditEvent {
    crate::audit::AuditEvent::TokenIssued {
        grant: grant.as_str(),
        client: tokens.client_id.clone(),
        user: tokens.user.as_ref().map(|u| u.id),
        session: tokens.session_id,
        refresh_token: tokens.refresh_token.is_some(),
    }
}

pub(crate) fn later(now: OffsetDateTime, d: Duration) -> OffsetDateTime {
    now.checked_add(d)
        .unwrap_or_else(|| time::PrimitiveDateTime::MAX.assume_utc())
}

impl<S: Store> Gatehouse<S> {
    /// Assembles the service.
    pub fn new(
        store: S,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
        hasher: PasswordHasher,
        config: Config,
    ) -> Self {
        Self {
            store,
            clock,
            rng,
            hasher,
            config,
            keys: None,
            katana: None,
            audit: None,
            backchannel: None,
            capture: None,
        }
    }

    /// Adds the sink of security events ([`crate::audit`]).
    #[must_use]
    pub fn with_audit(mut self, sink: Arc<dyn crate::audit::AuditSink>) -> Self {
        self.audit = Some(sink);
        self
    }

    /// The sink of security events, when configured.
    pub fn audit_sink(&self) -> Option<Arc<dyn crate::audit::AuditSink>> {
        self.audit.clone()
    }

    /// Adds the sink of back-channel logout notices ([`crate::backchannel`]).
    #[must_use]
    pub fn with_backchannel(mut self, sink: Arc<dyn crate::backchannel::BackchannelSink>) -> Self {
        self.backchannel = Some(sink);
        self
    }

    /// The back-channel logout sink, when the server delivers logout tokens.
    pub(crate) fn backchannel_sink(&self) -> Option<&dyn crate::backchannel::BackchannelSink> {
        self.backchannel.as_deref()
    }

    /// Emits [`crate::audit::AuditEvent::TokenIssued`] for tokens a grant issued.
    pub(crate) fn audit_issued(&self, grant: crate::model::GrantType, tokens: &IssuedTokens) {
        self.audit(issued_event(grant, tokens));
    }

    /// `pending`, emitting [`crate::audit::AuditEvent::TokenIssued`] once it committed.
    pub(crate) fn audited_later(
        &self,
        grant: crate::model::GrantType,
        pending: crate::store::Pending<IssuedTokens>,
    ) -> crate::store::Pending<IssuedTokens> {
        let audit = self.audit.clone();
        Box::pin(async move {
            let tokens = pending.await?;
            if let Some(sink) = audit {
                sink.record(&issued_event(grant, &tokens));
            }
            Ok(tokens)
        })
    }

    /// Emits [`crate::audit::AuditEvent::CodeIssued`].
    pub(crate) fn audit_code_issued(&self, kind: &'static str, client: &str, user: uuid::Uuid) {
        self.audit(crate::audit::AuditEvent::CodeIssued {
            kind,
            client: client.to_owned(),
            user,
        });
    }

    /// Emits [`crate::audit::AuditEvent::CodeRedeemed`] and the tokens' `TokenIssued`.
    pub(crate) fn audit_redeemed(&self, kind: &'static str, tokens: &IssuedTokens) {
        self.audit(crate::audit::AuditEvent::CodeRedeemed {
            kind,
            client: tokens.client_id.clone().unwrap_or_default(),
            session: tokens.session_id,
        });
        let grant = match kind {
            "onetime_code" => crate::model::GrantType::OneTime,
            "device_code" => crate::model::GrantType::DeviceCode,
            _ => crate::model::GrantType::AuthorizationCode,
        };
        self.audit_issued(grant, tokens);
    }

    /// Emits a security event (after the change it reports committed); nothing without a
    /// sink.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "emitting an event hands it over (callers build it in place); the sinks only read it"
    )]
    pub fn audit(&self, event: crate::audit::AuditEvent) {
        if let Some(sink) = &self.audit {
            sink.record(&event);
        }
    }

    /// Adds the signing keys (JWT access tokens, id_tokens, the JWKS).
    #[must_use]
    pub fn with_key_ring(mut self, keys: Arc<crate::keys::KeyRing>) -> Self {
        self.keys = Some(keys);
        self
    }

    /// Adds Katana tickets under a legacy machineKey (`--katana-machine-key`): issued at
    /// Katana's `/token`, adopted wherever a bearer token is accepted ([`katana`]).
    #[must_use]
    pub fn with_katana(mut self, katana: Arc<katana::KatanaTickets>) -> Self {
        self.katana = Some(katana);
        self
    }

    /// The Katana ticket settings, when configured.
    pub fn katana(&self) -> Option<&katana::KatanaTickets> {
        self.katana.as_deref()
    }

    /// The same service over another store (the dual-run's dry run: a store whose writes are
    /// rolled back); clock, randomness, hasher, policy and keys are shared.
    pub fn with_store<T: Store>(&self, store: T) -> Gatehouse<T> {
        Gatehouse {
            store,
            clock: self.clock.clone(),
            rng: self.rng.clone(),
            hasher: self.hasher.clone(),
            config: self.config.clone(),
            keys: self.keys.clone(),
            katana: self.katana.clone(),
            audit: None,
            backchannel: None,
            // The dry run asks nobody and stores nobody.
            capture: None,
        }
    }

    /// The signing keys, when configured.
    pub fn key_ring(&self) -> Option<&crate::keys::KeyRing> {
        self.keys.as_deref()
    }

    /// The store: the domain's own. The binary and the tests hold the storage handle they
    /// built the service over (a clone) for what is not a domain operation (the backend's
    /// name, counters, the dry run's rolled-back twin, rows a test inspects); every
    /// transaction outside tests is one of the operations here.
    pub(crate) fn store(&self) -> &S {
        &self.store
    }

    /// Whether the database answers: one read (the health probe, `/healthz`).
    ///
    /// # Errors
    /// `Storage` when it does not.
    pub fn check_database(&self) -> Result<()> {
        self.store.read(|tx| tx.client("").map(|_| ()))
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The password hasher (its `hash_invocations` counts PBKDF2 runs).
    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    /// The randomness source.
    pub fn rng(&self) -> &dyn Rng {
        &*self.rng
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Deletes tokens and codes expired for more than a day, and lockout records idle for
    /// longer than the policy remembers them.
    ///
    /// # Errors
    /// `Storage`.
    pub fn purge_expired(&self) -> Result<u64> {
        let now = self.now();
        let before = now - Duration::days(1);
        let forgotten = now - self.config.lockout.forget_after;
        self.store.write(move |tx| {
            // One-time codes go as soon as they expire (their payloads are the bulky part), and
            // so do unredeemed authorization codes (redeemed ones stay a day: logout finds
            // the sessions they opened); so do client assertions' jtis.
            let codes = tx
                .delete_expired_onetime_codes(now)?
                .saturating_add(tx.delete_expired_authorization_codes(now)?);
            let jtis = tx.delete_expired_assertion_jtis(None, now)?;
            Ok(tx
                .purge_expired(before, forgotten)?
                .saturating_add(codes)
                .saturating_add(jtis))
        })
    }

    pub(crate) fn check_name(&self, value: &str, what: &str) -> Result<()> {
        provision::check_name(value, what, self.config.max_name_bytes)
    }

    fn check_client_key(&self, key: Option<&str>) -> Result<()> {
        match key {
            Some(key) if key.len() > self.config.max_name_bytes => {
                Err(Error::InvalidRequest("clientKey is too long".to_owned()))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_lifetimes_saturate_instead_of_panicking() {
        let now = time::macros::datetime!(2026-01-01 00:00 UTC);
        assert_eq!(
            later(now, Duration::MAX),
            time::PrimitiveDateTime::MAX.assume_utc()
        );
        assert_eq!(
            later(now, Duration::minutes(20)),
            now + Duration::minutes(20)
        );
    }
}
