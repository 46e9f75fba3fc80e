//! The client-credentials grant.

use std::net::IpAddr;

use crate::error::Error;
use crate::model::GrantType;
use crate::store::Store;

use super::client_auth::{require_grant, ClientAuth, WithoutClient};
use super::scope::grant_scope;
use super::tokens::{IssuedTokens, MintSpec};
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
        let (client, keys) = self.authenticate_client_for_signing(client)?;
        if !client.is_confidential() {
            return Err(Error::UnauthorizedClient);
        }
        require_grant(&client, GrantType::ClientCredentials)?;
        let scope = grant_scope(Some(&client), &WithoutClient::Refuse, scope)?;
        let mint = self.mint(MintSpec {
            grant: GrantType::ClientCredentials,
            katana: false,
            keys: keys.as_deref(),
            client_key: None,
            caller_ip,
            client: Some(&client),
            user: None,
            scope,
            refresh: false,
        })?;
        self.store
            .write(move |tx| {
                mint.apply(tx)?;
                Ok(mint.out)
            })
            .inspect(|t| self.audit_issued(GrantType::ClientCredentials, t))
    }
}
