//! Client authentication: [`ClientAuth`] (body or Basic credentials), the check of a client's
//! secret, the client of a user grant, and counting failed client authentications per address.

use std::fmt;
use std::net::IpAddr;

use time::OffsetDateTime;

use crate::error::Error;
use crate::model::{Client, GrantType};
use crate::secret::{verify_client_secret, Secret};
use crate::store::{ReadTx, Store};

use super::lockout::{address_key, record_failure};
use super::{Gatehouse, Result};

/// How a client authenticates: a client id and, for a confidential client, its secret.
///
/// Built from the request body with [`ClientAuth::new`] or from an `Authorization: Basic`
/// header with [`ClientAuth::basic`], which also tries the URL-decoded form (RFC 6749 2.3.1
/// says to URL-encode before base64; Katana, oauthlib and Authlib do not, the Rust `oauth2`
/// crate does).
#[derive(Clone)]
pub struct ClientAuth {
    client_id: String,
    secret: Option<Secret>,
    decoded: Option<(String, Option<Secret>)>,
    caller_ip: Option<IpAddr>,
}

impl ClientAuth {
    /// Credentials as given (body parameters `client_id` / `client_secret`).
    pub fn new(client_id: impl Into<String>, secret: Option<Secret>) -> Self {
        Self {
            client_id: client_id.into(),
            secret: secret.filter(|s| !s.is_empty()),
            decoded: None,
            caller_ip: None,
        }
    }

    /// Credentials from a Basic header, already base64-decoded and split at the first `:`.
    /// Tried as given, then URL-decoded when that differs.
    pub fn basic(user: &str, password: &str) -> Self {
        let secret = (!password.is_empty()).then(|| Secret::new(password));
        let decoded_user = percent_decode(user);
        let decoded_password = percent_decode(password);
        let decoded = match (decoded_user, decoded_password) {
            (Some(u), Some(p)) if u != user || p != password => {
                Some((u, (!p.is_empty()).then(|| Secret::new(p))))
            }
            _ => None,
        };
        Self {
            client_id: user.to_owned(),
            secret,
            decoded,
            caller_ip: None,
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

    /// The client id as presented.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAuth")
            .field("client_id", &self.client_id)
            .field("has_secret", &self.secret.is_some())
            .finish_non_exhaustive()
    }
}

/// `application/x-www-form-urlencoded` decoding (`+` is a space); `None` for bad escapes or
/// bytes that are not UTF-8.
pub(crate) fn percent_decode(input: &str) -> Option<String> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let text = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(text, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
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
        self.store
            .read(|tx| authenticate_in(tx, auth, now))
            .inspect_err(|e| self.client_failed(e, Some(auth)))
    }

    /// Counts a failed client authentication against the caller's address.
    pub(crate) fn client_failed(&self, error: &Error, auth: Option<&ClientAuth>) {
        let (Error::InvalidClient, Some(ip)) = (error, auth.and_then(|a| a.caller_ip)) else {
            return;
        };
        let key = address_key(ip);
        let now = self.now();
        let policy = self.config.lockout.clone();
        if let Err(e) = self
            .store
            .write(move |tx| record_failure(tx, &key, now, &policy))
        {
            tracing::warn!(error = %e, "could not record a failed client authentication");
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
            .login_failure(&address_key(ip))?
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
    if let Some(client) = check_pair(tx, &auth.client_id, auth.secret.as_ref())? {
        return Ok(client);
    }
    if let Some((id, secret)) = &auth.decoded {
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
        (Some(_), None) => false,
        (None, _) => true,
    };
    Ok(ok.then_some(client))
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
    pub(crate) fn basic_credentials_keep_raw_and_decoded_forms() {
        let auth = ClientAuth::basic("my%20client", "s%3Acret+x");
        assert_eq!(auth.client_id(), "my%20client");
        let (id, secret) = auth.decoded.clone().unwrap_or_default();
        assert_eq!(id, "my client");
        assert_eq!(secret.as_ref().map(Secret::expose), Some("s:cret x"));
        // Nothing to decode: no alternative.
        assert!(ClientAuth::basic("demo-client", "demo-secret")
            .decoded
            .is_none());
        // A bad escape leaves only the raw form.
        assert!(ClientAuth::basic("a%zz", "b").decoded.is_none());
        let shown = format!("{auth:?}");
        assert!(!shown.contains("s%3Acret"), "{shown}");
    }

    #[test]
    pub(crate) fn percent_decoding() {
        assert_eq!(percent_decode("a%2Bb+c").as_deref(), Some("a+b c"));
        assert_eq!(percent_decode("%C3%A9").as_deref(), Some("é"));
        assert_eq!(percent_decode("%"), None);
        assert_eq!(percent_decode("%4"), None);
        assert_eq!(percent_decode("%FF"), None);
        assert_eq!(percent_decode("%é"), None);
    }
}
