-- Issue 24 items 6 and 7: token exchange (RFC 8693) and DPoP (RFC 9449). New tables only:
-- the positional joined reads of clients and sessions (crates/storage/src/rows.rs) stay as
-- they are; a client or session without a row has none of these settings.

-- Per client: the audiences (RFC 8693 audience or resource values) it may exchange a
-- subject token for, a JSON array matched exactly.
CREATE TABLE client_token_exchange (
    client_id TEXT PRIMARY KEY NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    audiences TEXT NOT NULL DEFAULT '[]'
);

-- Per client: its access tokens must be DPoP-bound (RFC 9449 dpop_bound_access_tokens).
CREATE TABLE client_dpop (
    client_id TEXT PRIMARY KEY NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    dpop_bound_access_tokens BOOLEAN NOT NULL DEFAULT FALSE
);

-- A session opened by a token exchange: the audience its tokens are for, and the actor
-- (the act claim, JSON) when the exchange was a delegation.
CREATE TABLE session_exchange (
    session_id TEXT PRIMARY KEY NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    audience TEXT NOT NULL,
    actor TEXT
);

-- DPoP: the JWK SHA-256 thumbprint (RFC 7638) every token of a session is bound to.
CREATE TABLE session_dpop (
    session_id TEXT PRIMARY KEY NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    jkt TEXT NOT NULL
);

-- DPoP replay cache: SHA-256 of (jkt, jti) of every accepted proof, until the proof leaves
-- the iat window. Capped by the domain.
CREATE TABLE dpop_proofs (
    digest BYTEA PRIMARY KEY NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX dpop_proofs_expiry ON dpop_proofs (expires_at);
