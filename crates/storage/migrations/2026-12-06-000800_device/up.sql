-- Issue 24 item 3: the device authorization grant (RFC 8628). A new table; the grant itself
-- is a name in clients.grants. Only SHA-256 digests of the device code and of the user code
-- are stored. Bounded per client by the domain (100 outstanding, 30 a minute); rows expired
-- for a day are purged.
CREATE TABLE device_codes (
    digest BLOB PRIMARY KEY NOT NULL,
    user_code_digest BLOB NOT NULL UNIQUE,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    interval_secs BIGINT NOT NULL,
    last_polled_at BIGINT,
    status TEXT NOT NULL,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    browser_session_id TEXT,
    auth_time BIGINT,
    session_id TEXT
);
CREATE INDEX device_codes_client ON device_codes (client_id, expires_at);
