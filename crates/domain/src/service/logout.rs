//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) as ASP.NET Core's OpenID
//! Connect handler uses it: the end-session request's rules and the per-client logout
//! settings ([`ClientLogout`]).
//!
//! The rules, each refused with a page (never a redirect: an unverified request must not be
//! able to send the browser anywhere):
//! - `id_token_hint`, when present, is an id_token this server signed (signature, `kid`,
//!   `alg`, `typ`, `iss`; an expired one is accepted, section 2), naming the client in `aud`;
//! - `client_id`, when present with a hint, is the hint's `aud`;
//! - `post_logout_redirect_uri` needs the client (by `client_id` or the hint; without either,
//!   the one client that registered that exact URI, as ASP.NET Core sends neither unless it
//!   saves tokens) and must equal one of that client's registered post-logout redirect URIs
//!   byte for byte; `state` is echoed only to it;
//! - `ui_locales` is accepted (the pages are English only) and bounded.
//!
//! Whether the logout needs the user's confirmation is [`EndSessionRequest::tied`]: the
//! verified hint names the browser's current session (`sid`) and user (`sub`). Ending the
//! browser session is [`Gatehouse::end_browser_session`].

use std::fmt;

use uuid::Uuid;

use crate::authorize::{valid_redirect_uri, MAX_REDIRECT_URI_BYTES, MAX_STATE_BYTES};
use crate::browser_session::BrowserSessionInfo;
use crate::model::Client;
use crate::service::Gatehouse;
use crate::store::Store;

/// Longest `id_token_hint` read (an RS256 id_token with every claim is about 1 KiB).
pub const MAX_ID_TOKEN_HINT_BYTES: usize = 8 * 1024;

/// Longest `ui_locales`.
pub const MAX_UI_LOCALES_BYTES: usize = 256;

/// Most post-logout redirect URIs a client may register.
pub const MAX_POST_LOGOUT_URIS: usize = 32;

/// The OpenID Connect logout settings of a client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientLogout {
    /// The client.
    pub client_id: String,
    /// Where `/oauth2/logout` may send the browser back (`post_logout_redirect_uris`,
    /// matched exactly).
    pub post_logout_redirect_uris: Vec<String>,
}

impl ClientLogout {
    /// Checks the settings as configured (import, CLI): every URI one
    /// [`valid_redirect_uri`] accepts, none twice, at most [`MAX_POST_LOGOUT_URIS`].
    ///
    /// # Errors
    /// `InvalidRequest` naming the client and the URI.
    pub fn check(&self) -> Result<(), crate::Error> {
        let id = &self.client_id;
        let uris = &self.post_logout_redirect_uris;
        if uris.len() > MAX_POST_LOGOUT_URIS {
            return Err(crate::Error::InvalidRequest(format!(
                "client {id}: at most {MAX_POST_LOGOUT_URIS} post-logout redirect URIs"
            )));
        }
        for (i, uri) in uris.iter().enumerate() {
            if !valid_redirect_uri(uri) {
                return Err(crate::Error::InvalidRequest(format!(
                    "client {id}: post-logout redirect URI {uri:?} is not an absolute https \
                     URI, an http loopback URI or a private-use scheme URI without a fragment"
                )));
            }
            if uris[..i].contains(uri) {
                return Err(crate::Error::InvalidRequest(format!(
                    "client {id}: post-logout redirect URI {uri:?} is listed twice"
                )));
            }
        }
        Ok(())
    }
}

/// The parameters of an end-session request, as received (each at most once).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EndSessionParams {
    /// `id_token_hint`: an id_token this server issued to the client.
    pub id_token_hint: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `post_logout_redirect_uri`.
    pub post_logout_redirect_uri: Option<String>,
    /// `state`, echoed to the post-logout redirect URI.
    pub state: Option<String>,
    /// `ui_locales` (accepted; the pages are English only).
    pub ui_locales: Option<String>,
    /// The name of a parameter that appeared more than once, if any.
    pub repeated: Option<String>,
}

impl fmt::Debug for EndSessionParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndSessionParams")
            .field("has_id_token_hint", &self.id_token_hint.is_some())
            .field("client_id", &self.client_id)
            .field("post_logout_redirect_uri", &self.post_logout_redirect_uri)
            .field("has_state", &self.state.is_some())
            .field("ui_locales", &self.ui_locales)
            .finish_non_exhaustive()
    }
}

/// An end-session request that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndSessionRequest {
    /// The client that asked (by `client_id` or the hint's `aud`), if any.
    pub client_id: Option<String>,
    /// What the confirmation page calls the client.
    pub client_name: Option<String>,
    /// The registered post-logout redirect URI to send the browser to, if one was asked for.
    pub redirect_uri: Option<String>,
    /// `state`, echoed to [`EndSessionRequest::redirect_uri`].
    pub state: Option<String>,
    /// Whether the request is tied to the browser's session: a verified `id_token_hint`
    /// whose `sid` and `sub` are the current browser session's. Only then is the session
    /// ended without asking the user.
    pub tied: bool,
}

/// Why an end-session request is refused (shown on a page, never redirected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EndSessionRejection {
    /// A parameter appears more than once.
    #[error("a parameter appears more than once in the request")]
    Repeated,
    /// A parameter is longer than accepted.
    #[error("a parameter of the request is too long")]
    TooLong,
    /// The hint is not an id_token this server signed.
    #[error("the id_token_hint is not an ID token issued by this server")]
    BadHint,
    /// `client_id` differs from the hint's audience.
    #[error("client_id is not the client the id_token_hint was issued to")]
    ClientMismatch,
    /// No such client.
    #[error("the client is not known")]
    UnknownClient,
    /// A post-logout redirect URI without a client to check it against (no `client_id`, no
    /// hint, and not exactly one client registered it).
    #[error("post_logout_redirect_uri needs client_id or id_token_hint (no single client registered it)")]
    UriWithoutClient,
    /// The URI is not one the client registered.
    #[error("the post_logout_redirect_uri is not registered for this client")]
    UnregisteredUri,
}

/// Why an end-session request could not be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndSessionError {
    /// The request is refused: show the reason, do not redirect.
    Refused(EndSessionRejection),
    /// The store failed.
    Internal(String),
}

impl From<EndSessionRejection> for EndSessionError {
    fn from(r: EndSessionRejection) -> Self {
        EndSessionError::Refused(r)
    }
}

fn too_long(value: Option<&str>, max: usize) -> bool {
    value.is_some_and(|v| v.len() > max)
}

/// What a verified hint says: its audience (the client), subject and browser session.
struct Hint {
    aud: String,
    sub: Option<Uuid>,
    sid: Option<Uuid>,
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

impl<S: Store> Gatehouse<S> {
    /// Checks an end-session request against the browser's current session (`current`).
    ///
    /// # Errors
    /// [`EndSessionError::Refused`] with the rule that refused it; `Internal` when the store
    /// failed.
    pub fn check_end_session(
        &self,
        params: &EndSessionParams,
        current: Option<&BrowserSessionInfo>,
    ) -> Result<EndSessionRequest, EndSessionError> {
        if params.repeated.is_some() {
            return Err(EndSessionRejection::Repeated.into());
        }
        let hint_text = non_empty(&params.id_token_hint);
        let asked_client = non_empty(&params.client_id);
        let uri = non_empty(&params.post_logout_redirect_uri);
        let state = non_empty(&params.state);
        if too_long(hint_text, MAX_ID_TOKEN_HINT_BYTES)
            || too_long(asked_client, self.config().max_name_bytes)
            || too_long(uri, MAX_REDIRECT_URI_BYTES)
            || too_long(state, MAX_STATE_BYTES)
            || too_long(params.ui_locales.as_deref(), MAX_UI_LOCALES_BYTES)
        {
            return Err(EndSessionRejection::TooLong.into());
        }
        let hint = hint_text.map(|h| self.verify_hint(h)).transpose()?;
        let client_id = match (asked_client, &hint) {
            (Some(asked), Some(h)) if asked != h.aud => {
                return Err(EndSessionRejection::ClientMismatch.into())
            }
            (Some(asked), _) => Some(asked.to_owned()),
            (None, Some(h)) => Some(h.aud.clone()),
            // Neither (ASP.NET Core without SaveTokens sends only the URI and state): the
            // client that registered this exact URI, when exactly one did (section 3: the
            // registration is the other means of confirming the target).
            (None, None) => match uri {
                Some(uri) => Some(self.sole_registrant(uri)?),
                None => None,
            },
        };
        let (client, logout) = match &client_id {
            Some(id) => self.client_and_logout(id)?,
            None => (None, None),
        };
        if client_id.is_some() && client.is_none() {
            return Err(EndSessionRejection::UnknownClient.into());
        }
        let redirect_uri = match uri {
            None => None,
            Some(_) if client.is_none() => return Err(EndSessionRejection::UriWithoutClient.into()),
            Some(uri) => {
                let registered = logout
                    .as_ref()
                    .is_some_and(|l| l.post_logout_redirect_uris.iter().any(|r| r == uri));
                if !registered {
                    return Err(EndSessionRejection::UnregisteredUri.into());
                }
                Some(uri.to_owned())
            }
        };
        let tied = match (&hint, current) {
            (Some(h), Some(session)) => h.sid == Some(session.id) && h.sub == Some(session.user.id),
            _ => false,
        };
        Ok(EndSessionRequest {
            client_name: client.map(|c| c.client_name.unwrap_or(c.client_id)),
            client_id,
            state: redirect_uri.as_ref().and(state.map(str::to_owned)),
            redirect_uri,
            tied,
        })
    }

    fn client_and_logout(
        &self,
        client_id: &str,
    ) -> Result<(Option<Client>, Option<ClientLogout>), EndSessionError> {
        self.store()
            .read(|tx| Ok((tx.client(client_id)?, tx.client_logout(client_id)?)))
            .map_err(|e| EndSessionError::Internal(e.to_string()))
    }

    /// The one client that registered `uri` as a post-logout redirect URI.
    fn sole_registrant(&self, uri: &str) -> Result<String, EndSessionError> {
        let all = self
            .store()
            .read(|tx| tx.client_logouts())
            .map_err(|e| EndSessionError::Internal(e.to_string()))?;
        let mut owners = all
            .into_iter()
            .filter(|l| l.post_logout_redirect_uris.iter().any(|r| r == uri));
        match (owners.next(), owners.next()) {
            (Some(only), None) => Ok(only.client_id),
            _ => Err(EndSessionRejection::UriWithoutClient.into()),
        }
    }

    /// An id_token of this server, signature and issuer checked, expiry not.
    fn verify_hint(&self, token: &str) -> Result<Hint, EndSessionError> {
        let Some(ring) = self.key_ring() else {
            return Err(EndSessionRejection::BadHint.into());
        };
        let keys = self
            .store()
            .read(|tx| tx.signing_keys())
            .map_err(|e| EndSessionError::Internal(e.to_string()))?;
        let claims =
            crate::keys::verify_jwt_expiry(token, &keys, ring.issuer(), "JWT", self.now(), false)
                .map_err(|e| {
                tracing::info!(reason = %e, "an id_token_hint was refused");
                EndSessionRejection::BadHint
            })?;
        let uuid = |name: &str| {
            claims
                .get(name)
                .and_then(serde_json::Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok())
        };
        // An id_token of this server has one audience, the client id (a string).
        let aud = claims
            .get("aud")
            .and_then(serde_json::Value::as_str)
            .ok_or(EndSessionRejection::BadHint)?
            .to_owned();
        Ok(Hint {
            aud,
            sub: uuid("sub"),
            sid: uuid("sid"),
        })
    }

    /// The logout settings of a client (`None`: it has none).
    ///
    /// # Errors
    /// `Storage`.
    pub fn client_logout(&self, client_id: &str) -> Result<Option<ClientLogout>, crate::Error> {
        self.store().read(|tx| tx.client_logout(client_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        let ok = ClientLogout {
            client_id: "c".into(),
            post_logout_redirect_uris: vec!["https://app.example/signout-callback-oidc".into()],
        };
        assert!(ok.check().is_ok());
        for bad in [
            vec!["http://app.example/out".to_owned()],
            vec!["https://a.example/x#f".to_owned()],
            vec![
                "https://a.example/".to_owned(),
                "https://a.example/".to_owned(),
            ],
            vec!["https://a.example/".to_owned(); MAX_POST_LOGOUT_URIS + 1],
        ] {
            let s = ClientLogout {
                post_logout_redirect_uris: bad,
                ..ok.clone()
            };
            assert!(s.check().is_err(), "{s:?}");
        }
    }

    #[test]
    fn debug_hides_the_hint_and_state() {
        let p = EndSessionParams {
            id_token_hint: Some("eyJ.secret.sig".into()),
            state: Some("st4te".into()),
            ..EndSessionParams::default()
        };
        let text = format!("{p:?}");
        assert!(
            !text.contains("secret") && !text.contains("st4te"),
            "{text}"
        );
    }
}
