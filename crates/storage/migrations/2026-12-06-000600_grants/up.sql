-- Issue 24: private_key_jwt client authentication (RFC 7523 2.2). New tables only: the
-- positional joined reads of `clients` (crates/storage/src/rows.rs) stay as they are.

-- A client's public keys: a JWK Set (JSON), checked when stored. A client with keys is
-- confidential, with or without a secret (both during a migration from a secret).
CREATE TABLE client_keys (
    client_id TEXT NOT NULL PRIMARY KEY REFERENCES clients (client_id) ON DELETE CASCADE,
    jwks TEXT NOT NULL
);

-- The `jti` of every client assertion accepted, until the assertion expires (replay
-- refusal). Capped per client by the domain.
CREATE TABLE client_assertion_jtis (
    client_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX client_assertion_jtis_expiry ON client_assertion_jtis (expires_at);
