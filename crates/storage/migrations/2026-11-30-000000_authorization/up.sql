-- Authorization that holds (issue 9): child sessions and absolute session lifetimes,
-- introspection rights, one retry in the refresh grace window, bounded one-time codes.

-- A resource server that may introspect every token (RFC 7662 section 2.1); by default a
-- client sees only tokens issued to it.
ALTER TABLE clients ADD COLUMN introspect_any BOOLEAN NOT NULL DEFAULT FALSE;

-- A session opened by redeeming a one-time code is a child of the session whose access token
-- issued the code: it lives only while its parent lives and that access token is not revoked.
-- expires_at is the absolute end of the session (no refresh reaches past it); NULL in rows
-- written before this migration (the server then counts from created_at).
ALTER TABLE sessions ADD COLUMN parent_id TEXT;
ALTER TABLE sessions ADD COLUMN source_token BLOB;
ALTER TABLE sessions ADD COLUMN expires_at BIGINT;
-- The grant that opened the session; a refresh needs the client to still hold it.
ALTER TABLE sessions ADD COLUMN grant_type TEXT;
CREATE INDEX sessions_user ON sessions (user_id);

-- A rotated refresh token presented again inside the grace window gets one retry; this is
-- when it was used.
ALTER TABLE refresh_tokens ADD COLUMN replayed_at BIGINT;

-- The scope a one-time code may carry at most, and where it came from.
ALTER TABLE onetime_codes ADD COLUMN scope TEXT;
ALTER TABLE onetime_codes ADD COLUMN source_session_id TEXT;
ALTER TABLE onetime_codes ADD COLUMN source_token BLOB;
CREATE INDEX onetime_codes_user ON onetime_codes (user_id);
CREATE INDEX onetime_codes_source_session ON onetime_codes (source_session_id);

-- Fixed-window rate counters (one-time code issuance per user).
CREATE TABLE rate_windows (
    rate_key TEXT NOT NULL PRIMARY KEY,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL
);
