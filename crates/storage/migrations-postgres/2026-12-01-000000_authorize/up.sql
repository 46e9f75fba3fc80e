-- The standards surface (/oauth2/authorize, the login page): redirect URIs and consent per
-- client, the bindings of an authorization code, and server-side browser sessions.

-- A JSON array of exact redirect URIs, '[]' for none.
ALTER TABLE clients ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN consent_required BOOLEAN NOT NULL DEFAULT FALSE;

-- NULL on the codes of the otc dialect, which are bound to client and user only.
ALTER TABLE authorization_codes ADD COLUMN redirect_uri TEXT;
ALTER TABLE authorization_codes ADD COLUMN code_challenge TEXT;
ALTER TABLE authorization_codes ADD COLUMN scope TEXT;
ALTER TABLE authorization_codes ADD COLUMN auth_time BIGINT;
ALTER TABLE authorization_codes ADD COLUMN browser_session_id TEXT;

-- The digest is SHA-256 of the cookie value; id is the session's GUID (OpenID sid).
CREATE TABLE browser_sessions (
    digest BYTEA NOT NULL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users (id),
    authenticated_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX browser_sessions_user ON browser_sessions (user_id);
CREATE INDEX browser_sessions_expiry ON browser_sessions (expires_at);
