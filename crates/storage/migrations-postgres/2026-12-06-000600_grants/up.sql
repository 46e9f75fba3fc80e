-- Issue 24: private_key_jwt client authentication (RFC 7523 2.2) and the device
-- authorization grant (RFC 8628). New tables only: the positional joined reads of
-- `clients` (crates/storage/src/rows.rs) stay as they are.

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

-- RFC 8628 device codes. Both codes are stored as SHA-256 digests. `user_id` is set when
-- a user approved (`approved_at`) or denied (`denied_at`); `consumed_at` when the device
-- redeemed it.
CREATE TABLE device_codes (
    digest BYTEA NOT NULL PRIMARY KEY,
    user_code_digest BYTEA NOT NULL UNIQUE,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    interval_secs BIGINT NOT NULL,
    last_polled_at BIGINT,
    user_id TEXT REFERENCES users (id),
    browser_session_id TEXT,
    approved_at BIGINT,
    denied_at BIGINT,
    consumed_at BIGINT
);
CREATE INDEX device_codes_client ON device_codes (client_id, created_at);
CREATE INDEX device_codes_expiry ON device_codes (expires_at);
