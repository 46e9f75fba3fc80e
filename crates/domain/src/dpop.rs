//! DPoP (RFC 9449): sender-constrained access and refresh tokens.

/// Per client: DPoP settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientDpop {
    /// The client.
    pub client_id: String,
    /// `dpop_bound_access_tokens`: every token request of the client must carry a DPoP proof.
    pub dpop_bound_access_tokens: bool,
}

/// What recording a proof's `jti` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofRecord {
    /// First use: recorded.
    Fresh,
    /// Seen before within its window: a replay.
    Replayed,
    /// The cache is full.
    Full,
}
