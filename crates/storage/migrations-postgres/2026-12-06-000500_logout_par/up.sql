-- OpenID Connect logout settings per client (RP-Initiated Logout 1.0: the registered
-- post_logout_redirect_uris, a JSON array matched exactly). A table beside clients rather
-- than columns on it (the joined reads of clients are positional); a client without a row
-- has none of these settings.
CREATE TABLE client_logout (
    client_id TEXT PRIMARY KEY NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]'
);

-- Pushed authorization requests (RFC 9126): the request a client pushed, kept under the
-- SHA-256 of the random part of its request_uri until it expires (60 s) or a code is issued
-- for it (single use); at most 32 live per client.
CREATE TABLE pushed_requests (
    digest BYTEA PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    parameters TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX pushed_requests_client ON pushed_requests (client_id, expires_at);

-- Per client: every authorization request must be pushed first (RFC 9126
-- require_pushed_authorization_requests).
CREATE TABLE client_par (
    client_id TEXT PRIMARY KEY NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    require_pushed_authorization_requests BOOLEAN NOT NULL DEFAULT FALSE
);
