//! OpenID Connect Back-Channel Logout 1.0: a client may register `backchannel_logout_uri`
//! (and `backchannel_logout_session_required`); when a browser session ends (logout at the
//! end-session endpoint, a password change, a disable, an operator's end-sessions) each client
//! with such a URI that got tokens through that browser session (a code of the session was
//! redeemed) receives a logout token: a JWT of `typ` `logout+jwt` signed with the server's
//! current key of the client's id_token algorithm, with `iss`, `aud`, `iat`, `exp`, `jti`,
//! `events`, `sub` and `sid`, never `nonce` (section 2.4).
//!
//! The domain only builds the notices, after the ending committed, and hands them to a
//! [`BackchannelSink`]; the server's sink delivers them off the request path (a bounded
//! queue, a timeout per POST, bounded retries). Nothing here can fail the logout: a notice
//! that cannot be signed is dropped and counted by the sink.

use std::fmt;

use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::error::Error;
use crate::secret::Secret;
use crate::service::{later, Gatehouse};
use crate::store::Store;

/// The event member of a logout token (section 2.4).
pub const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// The `typ` header of a logout token (section 2.4: `logout+jwt`).
pub const LOGOUT_TOKEN_TYP: &str = "logout+jwt";
/// How long a logout token is accepted: 2 minutes (the spec recommends at most a few
/// minutes; the server's retries end well within it).
pub const LOGOUT_TOKEN_LIFETIME: Duration = Duration::minutes(2);

/// A client's back-channel logout settings (`client_backchannel`, beside `clients`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientBackchannel {
    /// The client.
    pub client_id: String,
    /// `backchannel_logout_uri` (`None`: the client gets no logout tokens).
    pub backchannel_logout_uri: Option<String>,
    /// `backchannel_logout_session_required`: the token must carry `sid` (it always does).
    pub backchannel_logout_session_required: bool,
}

impl ClientBackchannel {
    /// An http(s) URI without a fragment; https unless the host is a loopback address
    /// (the rule of redirect URIs).
    ///
    /// # Errors
    /// `InvalidRequest` naming the client.
    pub fn check(&self) -> Result<(), Error> {
        let Some(uri) = self.backchannel_logout_uri.as_deref() else {
            return Ok(());
        };
        let scheme_ok = uri.split_once(':').is_some_and(|(s, _)| {
            s.eq_ignore_ascii_case("https") || s.eq_ignore_ascii_case("http")
        });
        if !scheme_ok || !crate::authorize::valid_redirect_uri(uri) {
            return Err(Error::InvalidRequest(format!(
                "client {}: backchannel_logout_uri {uri:?} is not an absolute https URI or an \
                 http loopback URI without a fragment",
                self.client_id
            )));
        }
        Ok(())
    }
}

/// A client to notify: what the store finds for an ending browser session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackchannelTarget {
    /// The client.
    pub client_id: String,
    /// Its `backchannel_logout_uri`.
    pub uri: String,
    /// The browser session (`sid`).
    pub browser_session_id: Uuid,
    /// The user (`sub`).
    pub user_id: Uuid,
}

/// A signed logout token on its way to a client.
#[derive(Clone)]
pub struct LogoutNotice {
    /// The client.
    pub client_id: String,
    /// Where to POST it.
    pub uri: String,
    /// The browser session that ended.
    pub browser_session_id: Uuid,
    /// The logout token (never log it).
    pub logout_token: Secret,
}

impl fmt::Debug for LogoutNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogoutNotice")
            .field("client_id", &self.client_id)
            .field("uri", &self.uri)
            .field("browser_session_id", &self.browser_session_id)
            .finish_non_exhaustive()
    }
}

/// Takes logout notices for delivery; must not block (the server's sink queues them).
pub trait BackchannelSink: Send + Sync {
    /// One notice to deliver.
    fn submit(&self, notice: LogoutNotice);
    /// A notice that could not be built (no signing key): counted, never retried.
    fn unsigned(&self, client_id: &str);
}

impl<S: Store> Gatehouse<S> {
    /// Signs and submits a logout token for each target (after the ending committed).
    /// Without a sink nothing happens; a target that cannot be signed is reported to the
    /// sink and skipped.
    pub(crate) fn notify_backchannel(&self, targets: Vec<BackchannelTarget>) {
        let Some(sink) = self.backchannel_sink() else {
            return;
        };
        for target in targets {
            match self.logout_token(&target) {
                Ok(token) => sink.submit(LogoutNotice {
                    client_id: target.client_id,
                    uri: target.uri,
                    browser_session_id: target.browser_session_id,
                    logout_token: token,
                }),
                Err(_) => sink.unsigned(&target.client_id),
            }
        }
    }

    /// The logout token for one target (section 2.4).
    fn logout_token(&self, target: &BackchannelTarget) -> Result<Secret, Error> {
        let now = self.now();
        let client = self
            .store()
            .read(|tx| tx.client(&target.client_id))?
            .ok_or_else(|| Error::NotFound(format!("client {}", target.client_id)))?;
        let key = self.pick_signing_key(now, client.signing.id_token_alg)?;
        let claims = logout_claims(self, target, now);
        self.key_ring()
            .ok_or_else(|| Error::SigningUnavailable("no signing keys".into()))?
            .sign(&key, LOGOUT_TOKEN_TYP, &claims)
            .map(Secret::new)
    }
}

fn logout_claims<S: Store>(
    service: &Gatehouse<S>,
    target: &BackchannelTarget,
    now: OffsetDateTime,
) -> Value {
    let issuer = service
        .key_ring()
        .map(|r| r.issuer().to_owned())
        .unwrap_or_default();
    json!({
        "iss": issuer,
        "aud": target.client_id,
        "iat": now.unix_timestamp(),
        "exp": later(now, LOGOUT_TOKEN_LIFETIME).unix_timestamp(),
        "jti": service.rng().uuid_v4().hyphenated().to_string(),
        "events": { LOGOUT_EVENT: {} },
        "sub": target.user_id.hyphenated().to_string(),
        "sid": target.browser_session_id.hyphenated().to_string(),
    })
}

impl<S: Store> Gatehouse<S> {
    /// A client's back-channel logout settings (`None`: it has none).
    ///
    /// # Errors
    /// `Storage`.
    pub fn client_backchannel(&self, client_id: &str) -> Result<Option<ClientBackchannel>, Error> {
        self.store().read(|tx| tx.client_backchannel(client_id))
    }

    /// Whether some client has a `backchannel_logout_uri` (discovery advertises support
    /// only then).
    ///
    /// # Errors
    /// `Storage`.
    pub fn backchannel_in_use(&self) -> Result<bool, Error> {
        self.store().read(|tx| tx.any_backchannel())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(uri: &str) -> ClientBackchannel {
        ClientBackchannel {
            client_id: "rp".into(),
            backchannel_logout_uri: Some(uri.into()),
            backchannel_logout_session_required: true,
        }
    }

    #[test]
    fn backchannel_uris_are_checked() {
        for good in [
            "https://rp.example/bc",
            "http://127.0.0.1:9000/bc",
            "http://[::1]/bc",
            "http://localhost:8080/bc",
        ] {
            assert!(settings(good).check().is_ok(), "{good}");
        }
        for bad in [
            "http://rp.example/bc",
            "ftp://rp.example/bc",
            "com.example.app:/bc",
            "https://rp.example/bc#frag",
            "https://rp.example/b c",
            "/relative",
            "",
        ] {
            assert!(
                matches!(settings(bad).check(), Err(Error::InvalidRequest(_))),
                "{bad}"
            );
        }
        assert!(ClientBackchannel::default().check().is_ok(), "no URI");
    }

    #[test]
    fn a_notice_never_shows_its_token() {
        let notice = LogoutNotice {
            client_id: "rp".into(),
            uri: "https://rp.example/bc".into(),
            browser_session_id: Uuid::nil(),
            logout_token: Secret::new("eyJ.secret.token".to_owned()),
        };
        assert!(!format!("{notice:?}").contains("secret"));
    }
}
