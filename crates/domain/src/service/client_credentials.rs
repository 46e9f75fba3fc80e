//! The client-credentials grant.

use std::net::IpAddr;

use crate::error::Error;
use crate::model::GrantType;
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

    /// [`Self::client_credentials_grant`] with the write queued, not waited for: the
    /// client is authenticated and the token minted now, and the [`Pending`] resolves with
    /// the tokens once they are durable (the HTTP layer awaits it without holding a thread).
    ///
    /// # Errors
    /// As [`Self::client_credentials_grant`]; `Storage` also through the [`Pending`].
    pub fn client_credentials_grant_later(
        &self,
        client: &ClientAuth,
        scope: Option<&str>,
        caller_ip: Option<IpAddr>,
    ) -> Result<Pending<IssuedTokens>> {
        let mint = self.client_credentials_mint(client, scope, caller_ip)?;
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
        if !client.is_confidential() {
            return Err(Error::UnauthorizedClient);
        }
        require_grant(&client, GrantType::ClientCredentials)?;
        let scope = grant_scope(Some(&client), &WithoutClient::Refuse, scope)?;
        self.mint(MintSpec {
            grant: GrantType::ClientCredentials,
            katana: false,
            keys: keys.as_deref(),
            client_key: None,
            caller_ip,
            client: Some(&client),
            user: None,
            scope,
            refresh: false,
            jkt,
        })
    }
}
