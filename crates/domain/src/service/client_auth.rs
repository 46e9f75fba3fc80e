//! Client authentication: [`ClientAuth`] (body or Basic credentials, or a `private_key_jwt`
//! assertion), the check of a client's secret or assertion, the client of a user grant, and
//! counting failed client authentications per address.
//!
//! An assertion is verified inside the operation's read (signature, claims:
//! [`crate::client_assertion`]) and its `jti` recorded in a write of its own right after
//! (`Gatehouse::settle_assertion`): of two requests with one assertion, exactly one
//! records it (the insert is conditional), the other is `invalid_client`.

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use time::OffsetDateTime;

use crate::client_assertion::{self, AssertionRejection, VerifiedAssertion};
use crate::error::Error;
use crate::model::{Client, GrantType};
use crate::secret::{verify_client_secret, Secret};
use crate::store::{Pending, ReadTx, Store, WriteTx};

use super::lockout::{address_key, record_failure};
use super::{Gatehouse, Result};

/// How a client authenticates: a client id and, for a confidential client, its secret.
///
/// Built from the request body with [`ClientAuth::new`] or from an `Authorization: Basic`
/// header with [`ClientAuth::basic`], which takes the header's candidate pairs: as sent, then
/// URL-decoded when that differs (RFC 6749 2.3.1 says to URL-encode before base64; Katana,
/// oauthlib and Authlib do not, the Rust `oauth2` crate does). The HTTP edge decodes; the
/// domain tries each pair in order.
#[derive(Clone)]
pub struct ClientAuth {
    /// The (client id, secret) pairs to try, the one as presented first.
    candidates: Vec<(String, Option<Secret>)>,
    caller_ip: Option<IpAddr>,
    assertion: Option<Arc<Assertion>>,
    /// The key of the request's verified DPoP proof (RFC 9449), its SHA-256 thumbprint.
    dpop_jkt: Option<String>,
}

/// A `private_key_jwt` assertion, the audience it must name, and once verified what the
/// service records (set by the read that verified it; a clone shares it).
struct Assertion {
    jwt: Secret,
    audience: String,
    verified: OnceLock<VerifiedAssertion>,
}

impl ClientAuth {
    /// Credentials as given (body parameters `client_id` / `client_secret`).
    pub fn new(client_id: impl Into<String>, secret: Option<Secret>) -> Self {
        Self {
            candidates: vec![(client_id.into(), secret.filter(|s| !s.is_empty()))],
            caller_ip: None,
            assertion: None,
            dpop_jkt: None,
        }
    }

    /// A `private_key_jwt` client assertion (RFC 7523 section 2.2), with the body's
    /// `client_id` when sent (it must then be the assertion's subject), and the audience the
    /// assertion must name: the issuer identifier.
    pub fn assertion(client_id: Option<String>, jwt: Secret, audience: impl Into<String>) -> Self {
        let id = client_id
            .filter(|id| !id.is_empty())
            .or_else(|| client_assertion::claimed_client(jwt.expose()))
            .unwrap_or_default();
        Self {
            candidates: vec![(id, None)],
            caller_ip: None,
            assertion: Some(Arc::new(Assertion {
                jwt,
                audience: audience.into(),
                verified: OnceLock::new(),
            })),
            dpop_jkt: None,
        }
    }

    /// Whether the client authenticates with an assertion (its check writes: the `jti`).
    pub fn is_assertion(&self) -> bool {
        self.assertion.is_some()
    }

    /// Credentials from a Basic header: the candidate (client id, secret) pairs, as sent
    /// first (`gatehouse_codec::auth::BasicCredentials::candidates`). An empty secret is no
    /// secret.
    pub fn basic(candidates: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            candidates: candidates
                .into_iter()
                .map(|(id, secret)| (id, (!secret.is_empty()).then(|| Secret::new(secret))))
                .collect(),
            caller_ip: None,
            assertion: None,
            dpop_jkt: None,
        }
    }

    /// The address the credentials came from. Failed client authentications are counted
    /// against it with the login back-off policy (`ip:<addr>`, the key password failures use
    /// too), and a locked address is refused before any secret is checked. Counting per
    /// address, not per client, keeps a stranger from locking a partner's client out.
    pub fn with_caller_ip(mut self, ip: IpAddr) -> Self {
        self.caller_ip = Some(ip);
        self
    }

    /// The request carried a DPoP proof by this key (verified and recorded with
    /// [`Gatehouse::accept_dpop_proof`]): the tokens issued are bound to it.
    pub fn with_dpop(mut self, proof: &crate::dpop::VerifiedProof) -> Self {
        self.dpop_jkt = Some(proof.jkt.clone());
        self
    }

    /// The thumbprint of the request's DPoP key, if it carried a proof.
    pub fn dpop_jkt(&self) -> Option<String> {
        self.dpop_jkt.clone()
    }

    /// The client id as presented.
    pub fn client_id(&self) -> &str {
        self.candidates.first().map_or("", |(id, _)| id.as_str())
    }
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAuth")
            .field("client_id", &self.client_id())
            .field(
                "has_secret",
                &self.candidates.first().is_some_and(|(_, s)| s.is_some()),
            )
            .field("assertion", &self.assertion.is_some())
            .field("dpop_jkt", &self.dpop_jkt)
            .finish_non_exhaustive()
    }
}

/// What a user grant without client credentials is allowed to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum WithoutClient {
    /// Refused as `InvalidClient` (RFC 6749 section 3.2.1: the client must identify itself).
    #[default]
    Refuse,
    /// This configured client stands in (a legacy proxy that supplied its own client): its
    /// grants and scope apply, no secret is asked for.
    Client(String),
    /// No client; the token gets this fixed space-separated scope (Katana's `/token`, which
    /// has no scope parameter).
    Scope(String),
}

impl<S: Store> Gatehouse<S> {
    /// Authenticates a client: it must exist, and a confidential client must present its
    /// secret. A public client needs none (a secret it presents anyway is ignored).
    ///
    /// # Errors
    /// [`Error::InvalidClient`], [`Error::Storage`].
    pub fn authenticate_client(&self, auth: &ClientAuth) -> Result<Client> {
        let now = self.now();
        let client = self
            .store
            .read_each(|tx| authenticate_in(tx, auth, now))
            .inspect_err(|e| self.client_failed(e, Some(auth)))?;
        self.settle_assertion(auth)?;
        Ok(client)
    }

    /// After a read that authenticated `auth`: records the `jti` of its assertion (a write;
    /// nothing for a secret), refusing a replay and a client past
    /// `Config::max_live_assertions_per_client` live `jti`s. Every operation that authenticates a
    /// client inside its own read calls it before it acts.
    ///
    /// # Errors
    /// `InvalidClient` (replayed; counted against the address), `RateLimited`, `Storage`.
    pub(crate) fn settle_assertion(&self, auth: &ClientAuth) -> Result<()> {
        let Some(assertion) = &auth.assertion else {
            return Ok(());
        };
        let Some(v) = assertion.verified.get().cloned() else {
            // Not verified by a read: never accepted.
            return Err(Error::InvalidClient);
        };
        let now = self.now();
        let cap = self.config.max_live_assertions_per_client;
        let recorded = self.store.write(move |tx| {
            tx.delete_expired_assertion_jtis(Some(&v.client_id), now)?;
            if tx.live_assertion_jtis(&v.client_id)? >= cap {
                return Ok(Err(Error::RateLimited {
                    retry_after: time::Duration::seconds(60),
                }));
            }
            if tx.insert_assertion_jti(&v.client_id, &v.jti, v.expires_at)? {
                Ok(Ok(()))
            } else {
                tracing::info!(client_id = %v.client_id, reason = %AssertionRejection::Replayed, "client assertion refused");
                Ok(Err(Error::InvalidClient))
            }
        })?;
        recorded.inspect_err(|e| self.client_failed(e, Some(auth)))
    }

    /// Counts a failed client authentication against the caller's address (waits for the
    /// commit: call it on a blocking worker).
    pub(crate) fn client_failed(&self, error: &Error, auth: Option<&ClientAuth>) {
        if let Some(count) = self.failure_count(error, auth) {
            if let Err(e) = self.store.write(count) {
                tracing::warn!(error = %e, "could not record a failed client authentication");
            }
        }
    }

    /// The write that counts `error` against the caller's address: only an `InvalidClient`
    /// of credentials whose address is known counts.
    fn failure_count(
        &self,
        error: &Error,
        auth: Option<&ClientAuth>,
    ) -> Option<impl FnOnce(&mut dyn WriteTx) -> Result<()> + Send + 'static> {
        let (Error::InvalidClient, Some(ip)) = (error, auth.and_then(|a| a.caller_ip)) else {
            return None;
        };
        let key = address_key(ip);
        let now = self.now();
        let policy = self.config.lockout.clone();
        Some(move |tx: &mut dyn WriteTx| record_failure(tx, &key, now, &policy).map(drop))
    }

    /// The refusal `error` of `auth`, answered once what it counts is durable, without
    /// waiting for it here: an `InvalidClient` queues the count [`Self::client_failed`]
    /// writes, and the [`Pending`] resolves with the refusal after that commit. So a grant can
    /// authenticate its client on an HTTP worker: a caller spraying wrong secrets parks no
    /// thread on the fsync, and its next attempt still sees the count (issue 23).
    pub(crate) fn refused_later<T: Send + 'static>(
        &self,
        error: Error,
        auth: &ClientAuth,
    ) -> Pending<T> {
        let Some(count) = self.failure_count(&error, Some(auth)) else {
            return Box::pin(std::future::ready(Err(error)));
        };
        let counted = self.store.write_later(count);
        Box::pin(async move {
            if let Err(e) = counted.await {
                tracing::warn!(error = %e, "could not record a failed client authentication");
            }
            Err(error)
        })
    }

    /// [`Self::authenticate_client`] that waits for no write when the client presents a
    /// secret: a refusal comes back as the [`Pending`] to answer with
    /// ([`Self::refused_later`]). An assertion's `jti` is still recorded by a write waited for
    /// ([`Self::settle_assertion`]): run those on a blocking worker
    /// ([`ClientAuth::is_assertion`]).
    ///
    /// # Errors
    /// `Storage`, and the refusals of [`Self::settle_assertion`].
    pub(crate) fn authenticate_client_queued<T: Send + 'static>(
        &self,
        auth: &ClientAuth,
    ) -> Result<std::result::Result<Client, Pending<T>>> {
        let now = self.now();
        match self.store.read_each(|tx| authenticate_in(tx, auth, now)) {
            Ok(client) => {
                self.settle_assertion(auth)?;
                Ok(Ok(client))
            }
            Err(e) => Ok(Err(self.refused_later(e, auth))),
        }
    }

    /// For an operation that only reads and so cannot count a failed client authentication
    /// itself ([`Gatehouse::introspect`], on an HTTP worker): if `auth` does not authenticate
    /// (unknown client, wrong or missing secret), counts the failure against the caller's
    /// address, as every other operation does. Writes: call it on a blocking worker, before
    /// answering, so that the next attempt sees the count. Credentials that do authenticate
    /// (a public client refused at introspection is no guess at a secret) count nothing.
    pub fn count_failed_client(&self, auth: &ClientAuth) {
        let now = self.now();
        match self.store.read_each(|tx| authenticate_in(tx, auth, now)) {
            Ok(_) => {}
            Err(e) => self.client_failed(&e, Some(auth)),
        }
    }

    /// The client of a user grant: the authenticated one, the configured stand-in, or none
    /// (only when a fixed scope is configured for client-less grants).
    pub(crate) fn grant_client<T: ReadTx + ?Sized>(
        &self,
        tx: &mut T,
        auth: Option<&ClientAuth>,
        without: &WithoutClient,
        now: OffsetDateTime,
    ) -> Result<Option<Client>> {
        match (auth, without) {
            (Some(auth), _) => Ok(Some(
                authenticate_in(tx, auth, now)
                    .inspect_err(|e| self.client_failed(e, Some(auth)))?,
            )),
            (None, WithoutClient::Client(id)) => tx.client(id)?.map(Some).ok_or_else(|| {
                tracing::warn!("the configured default client does not exist");
                Error::InvalidClient
            }),
            (None, WithoutClient::Scope(_)) => Ok(None),
            (None, WithoutClient::Refuse) => Err(Error::InvalidClient),
        }
    }
}

pub(crate) fn authenticate_in<T: ReadTx + ?Sized>(
    tx: &mut T,
    auth: &ClientAuth,
    now: OffsetDateTime,
) -> Result<Client> {
    if let Some(ip) = auth.caller_ip {
        if let Some(until) = tx
            .login_failure_before_client(&address_key(ip), auth.client_id())?
            .and_then(|r| r.locked_until)
            .filter(|until| *until > now)
        {
            // The caller is throttled; no grant was looked at, so not `Locked` (whose
            // dialect code is invalid_grant) but `RateLimited`.
            return Err(Error::RateLimited {
                retry_after: until - now,
            });
        }
    }
    if let Some(assertion) = &auth.assertion {
        return check_assertion(tx, auth.client_id(), assertion, now);
    }
    for (id, secret) in &auth.candidates {
        if let Some(client) = check_pair(tx, id, secret.as_ref())? {
            return Ok(client);
        }
    }
    Err(Error::InvalidClient)
}

pub(crate) fn check_pair<T: ReadTx + ?Sized>(
    tx: &mut T,
    client_id: &str,
    secret: Option<&Secret>,
) -> Result<Option<Client>> {
    if client_id.is_empty() {
        return Ok(None);
    }
    let Some(client) = tx.client(client_id)? else {
        return Ok(None);
    };
    let ok = match (&client.secret_hash, secret) {
        (Some(hash), Some(secret)) => verify_client_secret(hash, secret.expose()),
        // A public client needs nothing (a secret it sends is ignored); a client with keys
        // and no secret must sign an assertion.
        _ => !client.is_confidential(),
    };
    Ok(ok.then_some(client))
}

fn check_assertion<T: ReadTx + ?Sized>(
    tx: &mut T,
    client_id: &str,
    assertion: &Assertion,
    now: OffsetDateTime,
) -> Result<Client> {
    if client_id.is_empty() {
        return Err(Error::InvalidClient);
    }
    let Some(client) = tx.client(client_id)? else {
        return Err(Error::InvalidClient);
    };
    let refused = |reason: AssertionRejection| {
        tracing::info!(client_id, %reason, "client assertion refused");
        Error::InvalidClient
    };
    let verified = client_assertion::verify(
        assertion.jwt.expose(),
        &client.client_id,
        client.jwks.as_deref(),
        &assertion.audience,
        now,
    )
    .map_err(refused)?;
    match assertion.verified.get() {
        // Checked again later in the same operation (its jti may be recorded by now).
        Some(first) if *first == verified => {}
        Some(_) => return Err(Error::InvalidClient),
        None => {
            // A replay is refused here already, before the operation costs anything; the
            // conditional insert of `settle_assertion` decides a race.
            if tx.assertion_jti_seen(&client.client_id, &verified.jti, now)? {
                return Err(refused(AssertionRejection::Replayed));
            }
            let _ = assertion.verified.set(verified);
        }
    }
    Ok(client)
}

pub(crate) fn require_grant(client: &Client, grant: GrantType) -> Result<()> {
    if client.grants.contains(grant) {
        Ok(())
    } else {
        Err(Error::UnauthorizedClient)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_keep_every_candidate_in_order() {
        let auth = ClientAuth::basic([
            ("my%20client".to_owned(), "s%3Acret+x".to_owned()),
            ("my client".to_owned(), "s:cret x".to_owned()),
        ]);
        assert_eq!(auth.client_id(), "my%20client");
        let ids: Vec<&str> = auth.candidates.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["my%20client", "my client"]);
        assert_eq!(
            auth.candidates[1].1.as_ref().map(Secret::expose),
            Some("s:cret x")
        );
        // An empty secret is no secret.
        let public = ClientAuth::basic([("public".to_owned(), String::new())]);
        assert!(public.candidates[0].1.is_none());
        let shown = format!("{auth:?}");
        assert!(!shown.contains("s%3Acret"), "{shown}");
        assert!(!shown.contains("s:cret"), "{shown}");
    }
}
