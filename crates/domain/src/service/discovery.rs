//! What the discovery documents (RFC 8414, OpenID Connect Discovery 1.0) advertise that
//! depends on the registered clients: the scopes, and the capabilities some client uses.
//! The binary adds the settings' part (PAR, the published key algorithms) and writes them.

use crate::model::GrantType;
use crate::store::Store;

use super::{Gatehouse, Result};

/// The clients' part of what discovery advertises, read in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientFeatures {
    /// The union of the clients' scopes, sorted, each once; `openid` exactly when Gatehouse
    /// is an OpenID provider (whatever the clients hold).
    pub scopes: Vec<String>,
    /// Some client has registered keys (`private_key_jwt`, RFC 7523).
    pub private_key_jwt: bool,
    /// Some client has the device grant (RFC 8628).
    pub device_code: bool,
    /// Some client holds the `token_exchange` grant and has an audience on its allow-list
    /// (RFC 8693).
    pub token_exchange: bool,
}

impl<S: Store> Gatehouse<S> {
    /// The clients' part of the discovery documents. `openid`: whether Gatehouse is an
    /// OpenID provider now (it can sign id_tokens: [`Gatehouse::openid_algs`] is not empty).
    ///
    /// # Errors
    /// `Storage`.
    pub fn client_features(&self, openid: bool) -> Result<ClientFeatures> {
        self.store.read(|tx| {
            let clients = tx.clients()?;
            let mut scopes: Vec<String> = clients
                .iter()
                .flat_map(|c| c.scope.split_ascii_whitespace().map(str::to_owned))
                .filter(|scope| openid || scope != "openid")
                .collect();
            if openid {
                scopes.push("openid".to_owned());
            }
            scopes.sort();
            scopes.dedup();
            Ok(ClientFeatures {
                scopes,
                private_key_jwt: clients.iter().any(|c| c.jwks.is_some()),
                device_code: clients
                    .iter()
                    .any(|c| c.grants.contains(GrantType::DeviceCode)),
                token_exchange: tx.token_exchange_in_use()?,
            })
        })
    }
}
