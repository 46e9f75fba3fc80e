//! OAuth 2.0 Token Exchange (RFC 8693) at `/oauth2/token` with
//! `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`.
//!
//! A confidential client holding the `token_exchange` grant presents a subject token (an
//! access token of this server: opaque, JWT, or a legacy Katana ticket, adopted on first use)
//! and gets an access token for one audience on its allow-list ([`ClientTokenExchange`]),
//! with at most the subject's scope. With an `actor_token` the exchange is a delegation: the
//! new token carries `act` (RFC 8693 section 4.1), nested over the subject's own `act`.
//!
//! Rules (the one-time dialect's, from one implementation: `service::delegate`):
//! - confidential clients with the grant only (`unauthorized_client`);
//! - the subject (and actor) token must have been given to the caller: issued to it, or
//!   issued for it as audience (an earlier exchange for it, or a JWT client's configured
//!   `audience`). A token merely seen on the wire is not the caller's to exchange;
//! - the audience (`audience` or `resource`, one target) must be on the caller's allow-list
//!   (`invalid_target`);
//! - scope: the subject's, cut to the caller's, narrowed to `scope` (`invalid_scope`);
//! - the new session is a child of the subject's: ending that session or revoking the subject
//!   token ends it, and it never outlives the subject session's absolute end;
//! - no refresh token: a new exchange is the way to a new token.
//!
//! Exchanged access tokens are opaque; resource servers learn `aud` and `act` from
//! introspection (and may introspect tokens issued for them as audience).

use std::fmt;
use std::net::IpAddr;

use serde_json::{json, Value};
use uuid::Uuid;

use crate::error::Error;
use crate::model::{Client, GrantType, User};
use crate::secret::{Secret, TokenDigest};
use crate::service::introspect::{live_access, TokenInfo};
use crate::service::tokens::IssuedTokens;
use crate::service::{ClientAuth, Gatehouse};
use crate::store::{ReadTx, Store};

/// The grant type's URI (RFC 8693 section 2.1).
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// The only token type exchanged and issued (RFC 8693 section 3).
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Most audiences on one client's allow-list.
pub const MAX_AUDIENCES: usize = 32;

/// Longest audience value.
pub const MAX_AUDIENCE_LEN: usize = 200;

/// Per client: the audiences it may exchange subject tokens for, matched exactly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientTokenExchange {
    /// The client.
    pub client_id: String,
    /// The allow-list (`audience` or `resource` values).
    pub audiences: Vec<String>,
}

impl ClientTokenExchange {
    /// Checks the settings as configured (import, CLI): at most [`MAX_AUDIENCES`], each 1 to
    /// [`MAX_AUDIENCE_LEN`] printable characters without spaces, none twice.
    ///
    /// # Errors
    /// `InvalidRequest` naming the client and the value.
    pub fn check(&self) -> Result<(), Error> {
        let id = &self.client_id;
        if self.audiences.len() > MAX_AUDIENCES {
            return Err(Error::InvalidRequest(format!(
                "client {id}: at most {MAX_AUDIENCES} token exchange audiences"
            )));
        }
        for (i, aud) in self.audiences.iter().enumerate() {
            if aud.is_empty()
                || aud.len() > MAX_AUDIENCE_LEN
                || !aud.chars().all(|c| c.is_ascii_graphic())
            {
                return Err(Error::InvalidRequest(format!(
                    "client {id}: token exchange audience {aud:?} must be 1 to {MAX_AUDIENCE_LEN} \
                     printable ASCII characters without spaces"
                )));
            }
            if self.audiences[..i].contains(aud) {
                return Err(Error::InvalidRequest(format!(
                    "client {id}: token exchange audience {aud:?} is listed twice"
                )));
            }
        }
        Ok(())
    }
}

/// What a session opened by an exchange records beside it (table `session_exchange`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionExchange {
    /// The session.
    pub session_id: Uuid,
    /// The audience its tokens are for.
    pub audience: String,
    /// The `act` claim (JSON object), for a delegation.
    pub actor: Option<Value>,
}

/// Why an exchange was refused (`invalid_request`, RFC 8693 section 2.2.2); the text is the
/// `error_description`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeRejection {
    /// `subject_token` missing.
    SubjectMissing,
    /// `subject_token_type` is not the access token type.
    SubjectType,
    /// `actor_token_type` missing with an actor token, not the access token type, or given
    /// without an actor token.
    ActorType,
    /// `requested_token_type` is not the access token type.
    RequestedType,
    /// The subject token is not a live access token of this server.
    SubjectInvalid,
    /// The subject token was issued to another client, not for the caller.
    SubjectNotGiven,
    /// The actor token is not a live access token of this server.
    ActorInvalid,
    /// The actor token was issued to another client.
    ActorNotGiven,
}

impl fmt::Display for ExchangeRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SubjectMissing => "subject_token is required",
            Self::SubjectType => {
                "subject_token_type must be urn:ietf:params:oauth:token-type:access_token"
            }
            Self::ActorType => {
                "actor_token and actor_token_type (urn:ietf:params:oauth:token-type:access_token) \
                 go together"
            }
            Self::RequestedType => {
                "requested_token_type must be urn:ietf:params:oauth:token-type:access_token"
            }
            Self::SubjectInvalid => "the subject token is not active",
            Self::SubjectNotGiven => "the subject token was not issued to this client",
            Self::ActorInvalid => "the actor token is not active",
            Self::ActorNotGiven => "the actor token was not issued to this client",
        })
    }
}

/// A token exchange request, as received.
#[derive(Clone, Default)]
pub struct TokenExchange {
    /// `subject_token`.
    pub subject_token: Option<Secret>,
    /// `subject_token_type`.
    pub subject_token_type: Option<String>,
    /// `actor_token`.
    pub actor_token: Option<Secret>,
    /// `actor_token_type`.
    pub actor_token_type: Option<String>,
    /// `audience`.
    pub audience: Option<String>,
    /// `resource`.
    pub resource: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// `requested_token_type`.
    pub requested_token_type: Option<String>,
    /// The caller's address.
    pub caller_ip: Option<IpAddr>,
}

impl fmt::Debug for TokenExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenExchange")
            .field("subject_token_type", &self.subject_token_type)
            .field("has_actor_token", &self.actor_token.is_some())
            .field("audience", &self.audience)
            .field("resource", &self.resource)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl TokenExchange {
    /// The token types (RFC 8693 section 2.1); `Ok` the subject token.
    fn check_types(&self) -> Result<&Secret, ExchangeRejection> {
        let subject = self
            .subject_token
            .as_ref()
            .filter(|s| !s.is_empty())
            .ok_or(ExchangeRejection::SubjectMissing)?;
        if self.subject_token_type.as_deref() != Some(ACCESS_TOKEN_TYPE) {
            return Err(ExchangeRejection::SubjectType);
        }
        let actor_type_ok = match (&self.actor_token, self.actor_token_type.as_deref()) {
            (None, None) => true,
            (Some(_), Some(t)) => t == ACCESS_TOKEN_TYPE,
            _ => false,
        };
        if !actor_type_ok {
            return Err(ExchangeRejection::ActorType);
        }
        if self
            .requested_token_type
            .as_deref()
            .is_some_and(|t| t != ACCESS_TOKEN_TYPE)
        {
            return Err(ExchangeRejection::RequestedType);
        }
        Ok(subject)
    }

    /// The one target: `audience` or `resource` (both only when equal); without either, the
    /// allow-list's only entry.
    fn target(&self, allowed: &[String]) -> Result<String, Error> {
        let target = match (self.audience.as_deref(), self.resource.as_deref()) {
            (Some(a), Some(r)) if a != r => {
                return Err(Error::InvalidTarget(
                    "give one target: audience and resource differ",
                ))
            }
            (Some(t), _) | (None, Some(t)) => t.to_owned(),
            (None, None) => match allowed {
                [only] => only.clone(),
                _ => return Err(Error::InvalidTarget("audience is required")),
            },
        };
        if allowed.contains(&target) {
            Ok(target)
        } else {
            Err(Error::InvalidTarget(
                "the client may not exchange tokens for this audience",
            ))
        }
    }
}

/// A live token and what decides whether it was given to the caller.
struct Presented {
    info: TokenInfo,
    digest: TokenDigest,
    user: Option<User>,
    /// The configured `audience` of the client it was issued to (JWT clients).
    client_audience: Option<String>,
}

impl Presented {
    /// Issued to `caller`, or for `caller` as audience.
    fn given_to(&self, caller: &str) -> bool {
        self.info.client_id.as_deref() == Some(caller)
            || self.info.audience.as_deref() == Some(caller)
            || self.client_audience.as_deref() == Some(caller)
    }

    /// The `act` claim naming this token's holder (RFC 8693 section 4.1).
    fn as_actor(&self) -> Value {
        let sub = self.info.user.as_ref().map_or_else(
            || self.info.client_id.clone().unwrap_or_default(),
            |u| u.id.hyphenated().to_string(),
        );
        let mut act = json!({ "sub": sub });
        if let Some(client) = &self.info.client_id {
            act["client_id"] = json!(client);
        }
        act
    }
}

fn presented<S: Store>(
    gh: &Gatehouse<S>,
    tx: &mut dyn ReadTx,
    token: &str,
) -> crate::service::Result<Option<Presented>> {
    let now = gh.now();
    if !gh.jwt_acceptable(tx, token, now)? {
        return Ok(None);
    }
    let digest = TokenDigest::of(token);
    let Some(info) = live_access(tx, &digest, now, gh.config().session_max_lifetime)? else {
        return Ok(None);
    };
    let user = match info.user.as_ref() {
        Some(u) => match tx.user_by_id(u.id)? {
            Some(user) => Some(user),
            None => return Ok(None),
        },
        None => None,
    };
    let client_audience = match info.client_id.as_deref() {
        Some(id) => tx
            .client(id)?
            .and_then(|c: Client| c.signing.audience.clone()),
        None => None,
    };
    Ok(Some(Presented {
        info,
        digest,
        user,
        client_audience,
    }))
}

impl<S: Store> Gatehouse<S> {
    /// RFC 8693 token exchange: an access token for one allowed audience, derived from the
    /// subject token (module docs for the rules).
    ///
    /// # Errors
    /// `InvalidClient`, `UnauthorizedClient`, `Exchange(..)` (`invalid_request`),
    /// `InvalidTarget`, `InvalidScope`, `InvalidGrant` (the subject session ended or its token
    /// was revoked while exchanging), `Storage`.
    pub fn exchange_token(
        &self,
        client: &ClientAuth,
        request: &TokenExchange,
    ) -> crate::service::Result<IssuedTokens> {
        let subject = request.check_types().map_err(Error::Exchange)?;
        let jkt = client.dpop_jkt();
        let client = self.delegate_client(client, GrantType::TokenExchange)?;
        let allowed = self
            .store()
            .read(|tx| tx.client_token_exchange(&client.client_id))?
            .map(|c| c.audiences)
            .unwrap_or_default();
        let audience = request.target(&allowed)?;
        self.adopt_katana_ticket(subject.expose())?;
        if let Some(actor) = &request.actor_token {
            self.adopt_katana_ticket(actor.expose())?;
        }
        let (subject, actor) = self.store().read(|tx| {
            let subject = presented(self, tx, subject.expose())?;
            let actor = match &request.actor_token {
                Some(token) => Some(presented(self, tx, token.expose())?),
                None => None,
            };
            Ok((subject, actor))
        })?;
        let caller = client.client_id.as_str();
        let subject = subject.ok_or(Error::Exchange(ExchangeRejection::SubjectInvalid))?;
        if !subject.given_to(caller) {
            return Err(Error::Exchange(ExchangeRejection::SubjectNotGiven));
        }
        let act = match actor {
            None => subject.info.act.clone(),
            Some(None) => return Err(Error::Exchange(ExchangeRejection::ActorInvalid)),
            Some(Some(actor)) if !actor.given_to(caller) => {
                return Err(Error::Exchange(ExchangeRejection::ActorNotGiven))
            }
            Some(Some(actor)) => {
                let mut act = actor.as_actor();
                if let Some(prior) = subject.info.act.clone() {
                    act["act"] = prior;
                }
                Some(act)
            }
        };
        let parent = crate::service::delegate::Parent {
            session: Some(subject.info.session_id),
            token: Some(subject.digest),
            scope: subject.info.scope.clone(),
        };
        let user = subject.user;
        let now = self.now();
        let max = self.config().session_max_lifetime;
        let mut draft = self.draft(Some(&client), false, GrantType::TokenExchange);
        draft.jkt = jkt;
        draft.caller_ip = request.caller_ip.map(|ip| ip.to_string());
        let scope = request.scope.clone();
        let issued = self
            .store()
            .write(
                move |tx| -> crate::service::Result<crate::service::Result<IssuedTokens>> {
                    let mint = match crate::service::delegate::open_child(
                        tx,
                        draft,
                        &client,
                        user.as_ref(),
                        &parent,
                        scope.as_deref(),
                        now,
                        max,
                    )? {
                        Ok(mint) => mint,
                        Err(e) => return Ok(Err(e)),
                    };
                    mint.apply(tx)?;
                    tx.insert_session_exchange(&SessionExchange {
                        session_id: mint.out.session_id,
                        audience,
                        actor: act,
                    })?;
                    Ok(Ok(mint.out))
                },
            )
            .and_then(|r| r)?;
        self.audit_issued(GrantType::TokenExchange, &issued);
        Ok(issued)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> TokenExchange {
        TokenExchange {
            subject_token: Some(Secret::from("t".to_owned())),
            subject_token_type: Some(ACCESS_TOKEN_TYPE.to_owned()),
            ..TokenExchange::default()
        }
    }

    #[test]
    fn token_types_are_checked() {
        assert!(request().check_types().is_ok());
        let mut r = request();
        r.subject_token_type = Some("urn:ietf:params:oauth:token-type:id_token".into());
        assert_eq!(r.check_types().err(), Some(ExchangeRejection::SubjectType));
        let mut r = request();
        r.actor_token = Some(Secret::from("a".to_owned()));
        assert_eq!(r.check_types().err(), Some(ExchangeRejection::ActorType));
        let mut r = request();
        r.actor_token_type = Some(ACCESS_TOKEN_TYPE.into());
        assert_eq!(r.check_types().err(), Some(ExchangeRejection::ActorType));
        let mut r = request();
        r.requested_token_type = Some("urn:ietf:params:oauth:token-type:refresh_token".into());
        assert_eq!(
            r.check_types().err(),
            Some(ExchangeRejection::RequestedType)
        );
        let mut r = request();
        r.subject_token = None;
        assert_eq!(
            r.check_types().err(),
            Some(ExchangeRejection::SubjectMissing)
        );
    }

    #[test]
    fn one_allowed_target() {
        let allowed = vec!["api".to_owned(), "https://b.example".to_owned()];
        let mut r = request();
        assert!(matches!(r.target(&allowed), Err(Error::InvalidTarget(_))));
        assert_eq!(r.target(&allowed[..1]).ok().as_deref(), Some("api"));
        r.resource = Some("https://b.example".into());
        assert_eq!(
            r.target(&allowed).ok().as_deref(),
            Some("https://b.example")
        );
        r.audience = Some("api".into());
        assert!(matches!(r.target(&allowed), Err(Error::InvalidTarget(_))));
        r.resource = None;
        r.audience = Some("other".into());
        assert!(matches!(r.target(&allowed), Err(Error::InvalidTarget(_))));
    }

    #[test]
    fn allow_lists_are_checked() {
        let ok = ClientTokenExchange {
            client_id: "c".into(),
            audiences: vec!["api".into()],
        };
        assert!(ok.check().is_ok());
        for bad in [
            vec![String::new()],
            vec!["a b".into()],
            vec!["x".into(), "x".into()],
        ] {
            let c = ClientTokenExchange {
                client_id: "c".into(),
                audiences: bad,
            };
            assert!(c.check().is_err());
        }
    }
}
