//! The client-credentials grant.

use std::net::IpAddr;

use crate::error::Error;
use crate::keys::SigningKey;
use crate::model::{Client, GrantType};
use crate::store::{Pending, Store};

use super::client_auth::{require_grant, ClientAuth, WithoutClient};
use super::scope::grant_scope;
use super::tokens::{IssuedTokens, Mint, MintSpec};
use super::{Gatehouse, Result};

impl<S: Store> Gatehouse<S> {
    /// The client-credentials grant: a confidential client with the grant gets an access
    /// token (no refresh token, no user) in a session of its own.
    ///
    /// # Errors
    /// `InvalidClient`, `UnauthorizedClient` (public client or grant not allowed),
    /// `InvalidScope`, `Storage`.
    pub fn client_credentials_grant(
        &self,
        client: &ClientAuth,
        scope: Option<&str>,
        caller_ip: Option<IpAddr>,
    ) -> Result<IssuedTokens> {
        let mint = self.client_credentials_mint(client, scope, caller_ip)?;
        self.store
            .write(move |tx| {
                mint.apply(tx)?;
                Ok(mint.out)
            })
            .inspect(|t| self.audit_issued(GrantType::ClientCredentials, t))
    }

    /// [`Self::client_credentials_grant`] that waits for no write (for a client with a
    /// secret), so an HTTP worker may run it: the client is authenticated and the token
    /// minted now, and the [`Pending`] resolves with the tokens once they are durable; a
    /// failed client authentication resolves with `InvalidClient` once its count against the
    /// caller's address is durable. A client assertion's `jti` is still recorded by a
    /// write waited for ([`ClientAuth::is_assertion`]: run those on a blocking worker).
    ///
    /// # Errors
    /// As [`Self::client_credentials_grant`]; `Storage` and `InvalidClient` also through the
    /// [`Pending`].
    pub fn client_credentials_grant_later(
        &self,
        auth: &ClientAuth,
        scope: Option<&str>,
        caller_ip: Option<IpAddr>,
    ) -> Result<Pending<IssuedTokens>> {
        let jkt = auth.dpop_jkt();
        let (client, keys) = match self.read_client_for_signing(auth) {
            Ok(found) => found,
            Err(e) => return Ok(self.refused_later(e, auth)),
        };
        self.settle_assertion(auth)?;
        let mint =
            self.client_credentials_mint_for(&client, keys.as_deref(), jkt, scope, caller_ip)?;
        // Nothing but inserts: the store may batch them with other grants' (issue 23).
        let pending = mint.store_later(&self.store);
        Ok(self.audited_later(GrantType::ClientCredentials, pending))
    }

    /// Authenticates the client and mints its token (nothing written yet).
    fn client_credentials_mint(
        &self,
        client: &ClientAuth,
        scope: Option<&str>,
        caller_ip: Option<IpAddr>,
    ) -> Result<Mint> {
        let jkt = client.dpop_jkt();
        let (client, keys) = self.authenticate_client_for_signing(client)?;
        self.client_credentials_mint_for(&client, keys.as_deref(), jkt, scope, caller_ip)
    }

    /// Mints the token of an authenticated client, bound to the DPoP key `jkt` when its proof
    /// was accepted (nothing written yet).
    fn client_credentials_mint_for(
        &self,
        client: &Client,
        keys: Option<&[SigningKey]>,
        jkt: Option<String>,
        scope: Option<&str>,
        caller_ip: Option<IpAddr>,
    ) -> Result<Mint> {
        if !client.is_confidential() {
            return Err(Error::UnauthorizedClient);
        }
        require_grant(client, GrantType::ClientCredentials)?;
        let scope = grant_scope(Some(client), &WithoutClient::Refuse, scope)?;
        self.mint(MintSpec {
            grant: GrantType::ClientCredentials,
            katana: false,
            keys,
            client_key: None,
            caller_ip,
            client: Some(client),
            user: None,
            scope,
            refresh: false,
            jkt,
        })
    }
}
