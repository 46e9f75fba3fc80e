//! RFC 7009 revocation.

use crate::error::Error;
use crate::secret::TokenDigest;
use crate::store::Store;

use super::client_auth::ClientAuth;
use super::{Gatehouse, Result};

impl<S: Store> Gatehouse<S> {
    /// RFC 7009 revocation by an authenticated client. Revoking a refresh token ends its
    /// session and with it every access token of the session (and every session derived
    /// from it); revoking an access token revokes that token (and ends the sessions of the
    /// one-time codes it issued). Unknown tokens are a success. A client revokes the tokens
    /// issued to it; tokens of another client or of no client (katana, member, Windows) only
    /// a confidential client with `introspect_any` may revoke (RFC 7009 section 5).
    ///
    /// # Errors
    /// `InvalidClient`, `NotTokenOwner` (a token the client may not revoke), `Storage`.
    pub fn revoke(&self, client: &ClientAuth, token: &str) -> Result<()> {
        let client = self.authenticate_client(client)?;
        // A legacy Katana ticket never seen is adopted, so that its revocation is recorded
        // and holds (adopted tickets have no client: only an `introspect_any` client may).
        self.adopt_katana_ticket(token)?;
        let digest = TokenDigest::of(token);
        let now = self.now();
        // A JWT that does not verify is no token of ours: nothing to revoke (RFC 7009 2.2).
        if !self.store.read(|tx| self.jwt_acceptable(tx, token, now))? {
            return Ok(());
        }
        let any = client.introspect_any && client.is_confidential();
        let revoker = client.client_id.clone();
        let revoked = self.store.write(move |tx| {
            let owner_ok =
                |owner: &Option<String>| any || owner.as_deref() == Some(client.client_id.as_str());
            if let Some(refresh) = tx.refresh_token(&digest)? {
                if !owner_ok(&refresh.client_id) {
                    return Err(Error::NotTokenOwner);
                }
                let ended = tx.end_session(refresh.session_id, now)?;
                return Ok(ended.then_some(("refresh_token", refresh.session_id)));
            }
            if let Some(access) = tx.access_token(&digest)? {
                if !owner_ok(&access.client_id) {
                    return Err(Error::NotTokenOwner);
                }
                if tx.revoke_access_token(&digest, now)? {
                    return Ok(Some(("access_token", access.session_id)));
                }
            }
            Ok(None)
        })?;
        if let Some((kind, session)) = revoked {
            self.audit(crate::audit::AuditEvent::TokenRevoked {
                kind,
                client: revoker,
                session,
            });
        }
        Ok(())
    }
}
