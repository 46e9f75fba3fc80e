//! Authorization codes: issuing them (otc `/admin/login/auth_code`) and exchanging them
//! (otc `/admin/login/token`, v1 and `/oauth2/token` `authorization_code`).

use std::fmt;
use std::net::IpAddr;

use time::{Duration, OffsetDateTime};

use crate::authorize::CodeBinding;
use crate::dpop::DpopRejection;
use crate::error::{Error, GrantRejection};
use crate::model::{AuthorizationCode, Client, GrantType, TokenFormat};
use crate::secret::{generate_token, Secret, TokenDigest};
use crate::store::{Store, WriteTx};

use super::client_auth::{require_grant, ClientAuth};
use super::redeem::redeem;
use super::scope::normalize_scope;
use super::tokens::{IssuedTokens, Lineage, TokenDraft};
use super::{later, Gatehouse, Result};

/// A freshly issued authorization or one-time code.
#[derive(Clone)]
pub struct IssuedCode {
    /// The code (for its owner only).
    pub code: Secret,
    /// Its lifetime.
    pub expires_in: Duration,
    /// Its expiry.
    pub expires_at: OffsetDateTime,
}

impl fmt::Debug for IssuedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCode")
            .field("expires_in", &self.expires_in)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// What bounds the authorization codes of one user and one browser session (issue 19): at
/// most `rate` issued per `window` per user (both kinds of code), `per_user` outstanding per
/// user and `per_browser_session` per browser session; expired unredeemed codes are deleted
/// at every issuance. With the defaults (30 a minute, 16 and 8 outstanding, 60 s codes, nonce
/// at most 255 bytes) one account issues at most 43,200 codes a day, about 35 MB of rows and
/// index entries if it exchanges every one (docs/security.md, issue 19 figures), where 2,000
/// codes and 8.5 MB took 4 s before.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CodeCaps {
    per_user: u64,
    per_browser_session: u64,
    rate: u64,
    window: Duration,
    life: Duration,
}

impl CodeCaps {
    pub(crate) fn of(config: &crate::Config) -> Self {
        Self {
            per_user: config.max_auth_codes_per_user,
            per_browser_session: config.max_auth_codes_per_browser_session,
            rate: config.auth_code_rate,
            window: config.auth_code_rate_window,
            life: config.auth_code_lifetime,
        }
    }

    /// Inside the write transaction: deletes expired unredeemed codes, counts the issuance
    /// against the user's rate window, checks the outstanding caps and that the browser
    /// session (if any) is still live, then stores `record`. `Ok(Err(RateLimited))` commits
    /// the counted hit and refuses; `Ok(Err(InvalidGrant(BrowserSessionEnded)))` refuses a
    /// session that a logout ended after it was read.
    pub(crate) fn admit(
        self,
        tx: &mut dyn WriteTx,
        record: &AuthorizationCode,
        now: OffsetDateTime,
    ) -> Result<Result<()>> {
        tx.delete_expired_authorization_codes(now)?;
        if let Some(id) = record.browser_session_id {
            let live = tx
                .browser_session_by_id(id)?
                .is_some_and(|s| s.ended_at.is_none() && s.expires_at > now);
            if !live {
                return Ok(Err(Error::InvalidGrant(
                    GrantRejection::BrowserSessionEnded,
                )));
            }
        }
        let key = format!("authz:{}", record.user_id);
        let (hits, window_ends) = tx.hit_rate_window(&key, now, self.window)?;
        if hits > self.rate {
            return Ok(Err(Error::RateLimited {
                retry_after: window_ends - now,
            }));
        }
        let over_user =
            tx.outstanding_authorization_codes_of_user(record.user_id, now)? >= self.per_user;
        let over_session = match record.browser_session_id {
            Some(id) => {
                tx.outstanding_authorization_codes_of_browser_session(id, now)?
                    >= self.per_browser_session
            }
            None => false,
        };
        if over_user || over_session {
            // The oldest outstanding code expires within one code lifetime.
            return Ok(Err(Error::RateLimited {
                retry_after: self.life,
            }));
        }
        tx.insert_authorization_code(record)?;
        Ok(Ok(()))
    }
}

impl<S: Store> Gatehouse<S> {
    /// otc `/admin/login/auth_code`: a confidential client with the `authorization_code`
    /// grant, and an operator's user name and password, get a single-use code bound to both.
    ///
    /// # Errors
    /// `InvalidClient`, `UnauthorizedClient`, `Locked`, `InvalidCredentials`,
    /// `AccountDisabled`, `Forbidden` (not an operator), `RateLimited` ([`CodeCaps`]),
    /// `Storage`.
    pub fn issue_auth_code(
        &self,
        client: &ClientAuth,
        user_name: &str,
        password: &Secret,
        caller_ip: Option<IpAddr>,
    ) -> Result<IssuedCode> {
        self.check_name(user_name, "user name")?;
        let client = self.authenticate_client(client)?;
        if !client.is_confidential() {
            return Err(Error::UnauthorizedClient);
        }
        require_grant(&client, GrantType::AuthorizationCode)?;
        let login = self.login_by_name(user_name, password, caller_ip)?;
        if !login.user.flags.operator {
            return Err(Error::Forbidden("the user is not an operator"));
        }
        let now = self.now();
        let life = self.config.auth_code_lifetime;
        let (code, digest) = generate_token(&*self.rng);
        let record = AuthorizationCode {
            digest,
            client_id: client.client_id.clone(),
            user_id: login.user.id,
            issued_at: now,
            expires_at: later(now, life),
            consumed_at: None,
            session_id: None,
            redirect_uri: None,
            code_challenge: None,
            scope: None,
            auth_time: None,
            browser_session_id: None,
            nonce: None,
        };
        let user_id = login.user.id;
        let caps = CodeCaps::of(&self.config);
        self.store
            .write(move |tx| {
                login.apply(tx)?;
                caps.admit(tx, &record, now)
            })
            .and_then(|r| r)?;
        self.audit_code_issued("authorization_code", &client.client_id, user_id);
        Ok(IssuedCode {
            code,
            expires_in: life,
            expires_at: later(now, life),
        })
    }

    /// Exchanges an authorization code (otc `/admin/login/token`, v1
    /// `grant_type=authorization_code`) once. A second exchange fails and ends the session
    /// the first one opened.
    ///
    /// # Errors
    /// `InvalidClient`, `UnauthorizedClient`, `InvalidGrant` (unknown, expired, used, another
    /// client's), `AccountDisabled`, `Storage`.
    pub fn exchange_auth_code(
        &self,
        client: &ClientAuth,
        code: &str,
        caller_ip: Option<IpAddr>,
        want_refresh: bool,
    ) -> Result<IssuedTokens> {
        self.exchange_code(
            client,
            code,
            CodeBinding::default(),
            caller_ip,
            want_refresh,
        )
    }

    /// [`Gatehouse::exchange_auth_code`] with the redirect URI and PKCE verifier of the token
    /// request, checked against what the code is bound to ([`CodeBinding::check`]).
    ///
    /// # Errors
    /// As [`Gatehouse::exchange_auth_code`]; `InvalidGrant` also for a redirect URI or a
    /// verifier that does not match.
    pub fn exchange_code(
        &self,
        client: &ClientAuth,
        code: &str,
        binding: CodeBinding,
        caller_ip: Option<IpAddr>,
        want_refresh: bool,
    ) -> Result<IssuedTokens> {
        let jkt = client.dpop_jkt();
        let client = self.authenticate_client(client)?;
        require_grant(&client, GrantType::AuthorizationCode)?;
        let digest = TokenDigest::of(code);
        let now = self.now();
        let refresh = want_refresh && client.grants.contains(GrantType::RefreshToken);
        let mut draft = self.draft(Some(&client), refresh, GrantType::AuthorizationCode);
        draft.jkt = jkt;
        draft.caller_ip = caller_ip.map(|ip| ip.to_string());
        self.sign_for_code(&client, &digest, &mut draft)?;
        let presented = draft.jkt.clone();
        self.store
            .write(move |tx| -> Result<Result<IssuedTokens>> {
                // RFC 9449 section 10: a code bound by `dpop_jkt` is redeemed only with a
                // proof by that key; refused before anything is consumed (a thief of the code
                // cannot spend it).
                if let Some(bound) = tx.code_dpop(&digest)? {
                    match presented.as_deref() {
                        Some(key) if key == bound => {}
                        Some(_) => return Err(Error::Dpop(DpopRejection::WrongKey)),
                        None => return Err(Error::Dpop(DpopRejection::Missing)),
                    }
                }
                let redeemed = redeem::<AuthorizationCode>(
                    tx,
                    &digest,
                    &client.client_id,
                    now,
                    |record| binding.check(record, &client),
                    |_, record, user| {
                        let scope =
                            normalize_scope(record.scope.as_deref().unwrap_or(&client.scope));
                        Ok(Ok(draft.open(
                            Some(&client),
                            Some(user),
                            scope,
                            Lineage::default(),
                        )))
                    },
                )?;
                Ok(redeemed.map(|r| r.tokens))
            })
            .and_then(|r| r)
            .inspect(|t| self.audit_redeemed("authorization_code", t))
    }

    /// For a code exchange by a JWT client or with the `openid` scope: reads the code (its
    /// user, scope, nonce and browser session never change once written) and signs the
    /// access token and id_token outside the write transaction. The write still checks
    /// everything; an unknown or foreign code leaves the draft as it was.
    pub(crate) fn sign_for_code(
        &self,
        client: &Client,
        digest: &TokenDigest,
        template: &mut TokenDraft,
    ) -> Result<()> {
        let jwt = client.access_token_format == TokenFormat::Jwt;
        // Without keys there is no id_token (the exchange still succeeds); a JWT client
        // without keys fails below, as configured.
        let oidc = self.key_ring().is_some() && crate::oidc::has_scope(&client.scope, "openid");
        if !jwt && !oidc {
            return Ok(());
        }
        let pre = self.store.read(|tx| {
            let Some(code) = tx.authorization_code(digest)? else {
                return Ok(None);
            };
            let user = tx.user_by_id(code.user_id)?;
            let keys = tx.signing_keys()?;
            Ok(user.map(|u| (code, u, keys)))
        })?;
        let Some((code, user, keys)) = pre else {
            return Ok(());
        };
        if code.client_id != client.client_id || code.consumed_at.is_some() {
            return Ok(());
        }
        let scope = normalize_scope(code.scope.as_deref().unwrap_or(&client.scope));
        if jwt {
            template.access = self.jwt_access_token(
                client,
                Some(user.id),
                template.session_id,
                &scope,
                template.now,
                later(template.now, template.access_life),
                Some(&keys),
                template.jkt.as_deref(),
            )?;
        }
        if oidc && code.redirect_uri.is_some() && crate::oidc::has_scope(&scope, "openid") {
            template.id_token = Some(self.id_token(
                client,
                &user,
                &code,
                template.access.0.expose(),
                template.now,
                template.access_life,
                Some(&keys),
            )?);
        }
        Ok(())
    }
}
