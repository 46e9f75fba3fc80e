-- Issue 24 item 2: OpenID Connect Back-Channel Logout 1.0. A new table beside `clients`
-- (the positional joined reads of `clients` in crates/storage/src/rows.rs stay as they are).
-- A row only for a client with a `backchannel_logout_uri`.
CREATE TABLE client_backchannel (
    client_id TEXT NOT NULL PRIMARY KEY REFERENCES clients (client_id) ON DELETE CASCADE,
    backchannel_logout_uri TEXT NOT NULL,
    backchannel_logout_session_required BOOLEAN NOT NULL DEFAULT FALSE
);
