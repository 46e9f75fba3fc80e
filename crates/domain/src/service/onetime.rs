//! One-time codes (`/oauth2/onetime/token` and `/oauth2/onetime/authorize`): issuing with caps
//! and rate limits, redeeming into a child session.

use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::error::Error;
use crate::model::{user_name_key, GrantType, OneTimeCode};
use crate::secret::{generate_token, Secret, TokenDigest};
use crate::store::Store;

use super::client_auth::ClientAuth;
use super::codes::IssuedCode;
use super::delegate::{open_child, Parent};
use super::introspect::{live_access, live_session};
use super::redeem::redeem;
use super::scope::normalize_scope;
use super::tokens::{IssuedTokens, UserInfo};
use super::{later, Gatehouse, Result};

/// Who asks for a one-time code.
#[derive(Debug, Clone)]
pub enum OneTimeIssuer {
    /// A user, by an access token of this server (`Authorization: Bearer`).
    Bearer(Secret),
    /// A confidential client with the `onetime` grant, acting for its broker.
    Client(ClientAuth),
}

/// The fields of a one-time code request.
#[derive(Debug, Clone, Default)]
pub struct OneTimeRequest {
    /// `ClientId`: the client that will redeem the code. Required.
    pub client_id: String,
    /// `BrokerId`.
    pub broker_id: Option<Uuid>,
    /// `UserName`: must be the bearer's user; required on the client path.
    pub user_name: Option<String>,
    /// `TradingAccount`.
    pub trading_account: Option<String>,
    /// `Server`.
    pub server: Option<String>,
    /// `Payload`.
    pub payload: BTreeMap<String, String>,
}

/// What the issuer of a one-time code brings to it ([`Gatehouse::issue_onetime_code`]).
struct IssuerContext {
    /// The user the code stands for.
    user: UserInfo,
    /// The issuing client (the client path).
    issuer_client_id: Option<String>,
    /// `BrokerId`: the request's on the bearer path, the client's broker on the client path.
    broker_id: Option<Uuid>,
    /// The most the code may carry: the bearer token's scope, or the client's.
    scope: String,
    /// The bearer's session (the redemption's parent).
    source_session_id: Option<Uuid>,
    /// The bearer's access token (revoking it ends the redemption's session).
    source_token: Option<TokenDigest>,
}

/// Output of [`Gatehouse::redeem_onetime_code`].
#[derive(Debug, Clone)]
pub struct OneTimeRedemption {
    /// The user the code stood for.
    pub user: UserInfo,
    /// `BrokerId`, as recorded (the client's broker on the client path).
    pub broker_id: Option<Uuid>,
    /// `TradingAccount`.
    pub trading_account: Option<String>,
    /// `Server`.
    pub server: Option<String>,
    /// `Payload`.
    pub payload: BTreeMap<String, String>,
    /// A fresh access token for the redeeming client.
    pub tokens: IssuedTokens,
}

impl<S: Store> Gatehouse<S> {
    /// onetime `/oauth2/onetime/token`: issues a single-use code for the user, to be
    /// redeemed by the client named in `ClientId`.
    ///
    /// # Errors
    /// `InvalidToken` (bearer not live), `InvalidClient`, `UnauthorizedClient`,
    /// `Forbidden` (user name not the bearer's, broker not the client's, trading account not
    /// the user's), `InvalidRequest` (missing or oversized fields, unknown `ClientId` or user),
    /// `Storage`.
    pub fn issue_onetime_code(
        &self,
        issuer: &OneTimeIssuer,
        request: &OneTimeRequest,
    ) -> Result<IssuedCode> {
        let client_id = request.client_id.trim();
        if client_id.is_empty() {
            return Err(Error::InvalidRequest("ClientId is required".to_owned()));
        }
        self.check_payload(&request.payload)?;
        for (field, value) in [
            ("TradingAccount", &request.trading_account),
            ("Server", &request.server),
            ("UserName", &request.user_name),
        ] {
            if let Some(value) = value {
                self.check_name(value, field)?;
            }
        }
        let now = self.now();
        let IssuerContext {
            user,
            issuer_client_id,
            broker_id,
            scope,
            source_session_id,
            source_token,
        } = self.onetime_issuer_context(issuer, request, now)?;
        let (redeemer, accounts) = self
            .store
            .read(|tx| Ok((tx.client(client_id)?, tx.trading_accounts_of(user.id)?)))?;
        // Only a confidential client holding the onetime grant may redeem (unknown and
        // unfit clients get the same answer).
        if !redeemer.is_some_and(|c| c.is_confidential() && c.grants.contains(GrantType::OneTime)) {
            return Err(Error::InvalidRequest(
                "ClientId names no confidential client with the onetime grant".to_owned(),
            ));
        }
        let wants_account =
            request.trading_account.is_some() || request.server.is_some() || broker_id.is_some();
        if wants_account {
            let matches = accounts.iter().any(|a| {
                broker_id.is_none_or(|b| a.broker_id == b)
                    && request
                        .trading_account
                        .as_deref()
                        .is_none_or(|t| a.account == t)
                    && request.server.as_deref().is_none_or(|s| a.server == s)
            });
            if !matches {
                return Err(Error::Forbidden(
                    "no trading account of the user matches BrokerId, TradingAccount and Server",
                ));
            }
        }
        let life = self.config.onetime_code_lifetime;
        let (code, digest) = generate_token(&*self.rng);
        let (redeemer, user_id) = (client_id.to_owned(), user.id);
        let record = OneTimeCode {
            digest,
            issuer_client_id,
            issuer_user_id: matches!(issuer, OneTimeIssuer::Bearer(_)).then_some(user.id),
            user_id: user.id,
            redeeming_client_id: client_id.to_owned(),
            broker_id,
            trading_account: request.trading_account.clone(),
            server: request.server.clone(),
            payload: request.payload.clone(),
            issued_at: now,
            expires_at: later(now, life),
            consumed_at: None,
            session_id: None,
            scope: Some(scope),
            source_session_id,
            source_token,
        };
        let caps = OneTimeCaps {
            per_user: self.config.max_onetime_codes_per_user,
            per_session: self.config.max_onetime_codes_per_session,
            rate: self.config.onetime_rate,
            window: self.config.onetime_rate_window,
            life,
        };
        self.store
            .write(move |tx| -> Result<Result<()>> {
                // Expired codes go at once; consumed ones hold no payload and go at expiry.
                tx.delete_expired_onetime_codes(now)?;
                let (hits, window_ends) =
                    tx.hit_rate_window(&format!("onetime:{}", record.user_id), now, caps.window)?;
                if hits > caps.rate {
                    return Ok(Err(Error::RateLimited {
                        retry_after: window_ends - now,
                    }));
                }
                let over_user =
                    tx.outstanding_onetime_codes_of_user(record.user_id, now)? >= caps.per_user;
                let over_session = match record.source_session_id {
                    Some(session) => {
                        tx.outstanding_onetime_codes_of_session(session, now)? >= caps.per_session
                    }
                    None => false,
                };
                if over_user || over_session {
                    // The oldest outstanding code expires within one code lifetime.
                    return Ok(Err(Error::RateLimited {
                        retry_after: caps.life,
                    }));
                }
                tx.insert_onetime_code(&record)?;
                Ok(Ok(()))
            })
            .and_then(|r| r)?;
        self.audit_code_issued("onetime_code", &redeemer, user_id);
        Ok(IssuedCode {
            code,
            expires_in: life,
            expires_at: later(now, life),
        })
    }

    /// Who issues a one-time code, and with what: the bearer's user, scope and token (the
    /// redemption's parent), or a client acting for its broker.
    fn onetime_issuer_context(
        &self,
        issuer: &OneTimeIssuer,
        request: &OneTimeRequest,
        now: OffsetDateTime,
    ) -> Result<IssuerContext> {
        let max = self.config.session_max_lifetime;
        Ok(match issuer {
            OneTimeIssuer::Bearer(token) => {
                self.adopt_katana_ticket(token.expose())?;
                let digest = TokenDigest::of(token.expose());
                let (info, session) = self
                    .store
                    .read(|tx| {
                        let Some(info) = live_access(tx, &digest, now, max)? else {
                            return Ok(None);
                        };
                        let session = live_session(tx, info.session_id, now, max)?;
                        Ok(session.map(|s| (info, s)))
                    })?
                    .ok_or(Error::InvalidToken)?;
                if session.parent_id.is_some() && !self.config.onetime_chain {
                    return Err(Error::Forbidden(
                        "a token obtained with a one-time code cannot issue one-time codes",
                    ));
                }
                let user = info.user.ok_or(Error::Forbidden(
                    "the access token does not belong to a user",
                ))?;
                if let Some(name) = &request.user_name {
                    if user_name_key(name) != user_name_key(&user.user_name) {
                        return Err(Error::Forbidden("UserName is not the token's user"));
                    }
                }
                IssuerContext {
                    user,
                    issuer_client_id: None,
                    broker_id: request.broker_id,
                    scope: info.scope,
                    source_session_id: Some(session.id),
                    source_token: Some(digest),
                }
            }
            OneTimeIssuer::Client(auth) => {
                let client = self.delegate_client(auth, GrantType::OneTime)?;
                let broker = client
                    .broker_id
                    .ok_or(Error::Forbidden("the client acts for no broker"))?;
                if request.broker_id.is_some_and(|b| b != broker) {
                    return Err(Error::Forbidden("BrokerId is not the client's broker"));
                }
                let name = request.user_name.as_deref().ok_or_else(|| {
                    Error::InvalidRequest("UserName is required for a client".to_owned())
                })?;
                let user = self
                    .store
                    .read(|tx| tx.user_by_name(name))?
                    .ok_or_else(|| Error::InvalidRequest("unknown UserName".to_owned()))?;
                if user.flags.disabled {
                    return Err(Error::AccountDisabled);
                }
                IssuerContext {
                    user: UserInfo::from(&user),
                    issuer_client_id: Some(client.client_id),
                    broker_id: Some(broker),
                    scope: normalize_scope(&client.scope),
                    source_session_id: None,
                    source_token: None,
                }
            }
        })
    }

    /// onetime `/oauth2/onetime/authorize`: the confidential client named in the code, which
    /// must hold the `onetime` grant, redeems it exactly once and gets the identity, the
    /// recorded fields and a fresh access token. A second redemption fails and ends the
    /// session the first one opened and the session that issued the code.
    ///
    /// The token's scope is the code's (the issuing token's) narrowed to the redeeming
    /// client's (RFC 8693 section 2.1: never more than the subject token). Its session is a
    /// child of the issuing token's session: it ends when that session ends or that access
    /// token is revoked, and never outlives the parent's absolute end.
    ///
    /// # Errors
    /// `InvalidClient`, `UnauthorizedClient` (public client, or no `onetime` grant),
    /// `InvalidGrant` (unknown, expired, used, another client's, issuing session ended),
    /// `AccountDisabled`, `Storage`.
    pub fn redeem_onetime_code(
        &self,
        client: &ClientAuth,
        code: &str,
    ) -> Result<OneTimeRedemption> {
        let client = self.delegate_client(client, GrantType::OneTime)?;
        let digest = TokenDigest::of(code);
        let now = self.now();
        let max = self.config.session_max_lifetime;
        let draft = self.draft(Some(&client), false, GrantType::OneTime);
        self.store
            .write(move |tx| -> Result<Result<OneTimeRedemption>> {
                let redeemed = redeem::<OneTimeCode>(
                    tx,
                    &digest,
                    &client.client_id,
                    now,
                    |_| Ok(()),
                    |tx, record, user| {
                        let parent = Parent {
                            session: record.source_session_id,
                            token: record.source_token,
                            scope: record.scope.clone().unwrap_or_default(),
                        };
                        open_child(tx, draft, &client, Some(user), &parent, None, now, max)
                    },
                )?;
                Ok(redeemed.map(|r| OneTimeRedemption {
                    user: UserInfo::from(&r.user),
                    broker_id: r.code.broker_id,
                    trading_account: r.code.trading_account,
                    server: r.code.server,
                    payload: r.code.payload,
                    tokens: r.tokens,
                }))
            })
            .and_then(|r| r)
            .inspect(|r| self.audit_redeemed("onetime_code", &r.tokens))
    }

    pub(crate) fn check_payload(&self, payload: &BTreeMap<String, String>) -> Result<()> {
        let total: usize = payload.iter().map(|(k, v)| k.len() + v.len()).sum();
        if total > self.config.max_payload_bytes {
            return Err(Error::InvalidRequest(format!(
                "Payload is larger than {} bytes",
                self.config.max_payload_bytes
            )));
        }
        if payload.len() > self.config.max_payload_entries {
            return Err(Error::InvalidRequest(format!(
                "Payload has more than {} entries",
                self.config.max_payload_entries
            )));
        }
        let limit = self.config.max_payload_item_bytes;
        if payload
            .iter()
            .any(|(k, v)| k.len() > limit || v.len() > limit)
        {
            return Err(Error::InvalidRequest(format!(
                "a Payload key or value is longer than {limit} bytes"
            )));
        }
        Ok(())
    }
}

/// The limits a one-time code issuance checks inside its transaction.
pub(crate) struct OneTimeCaps {
    pub(crate) per_user: u64,
    pub(crate) per_session: u64,
    pub(crate) rate: u64,
    pub(crate) window: Duration,
    pub(crate) life: Duration,
}
