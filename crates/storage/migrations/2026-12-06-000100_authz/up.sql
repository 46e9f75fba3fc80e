-- Issue 19: what logout, a password change and the code caps read, by index instead of a
-- full scan of authorization_codes (0.45 s per logout at 250k codes before: docs/security.md).

-- Logout: the codes (and through them the token sessions) of one browser session; the
-- outstanding codes of a browser session (cap).
CREATE INDEX authorization_codes_browser_session ON authorization_codes (browser_session_id);
-- Password change and disable: the user's unredeemed codes; the outstanding codes of a user.
CREATE INDEX authorization_codes_user ON authorization_codes (user_id);
-- Expired unredeemed codes are deleted at every issuance: only they are read.
CREATE INDEX authorization_codes_unredeemed_expiry ON authorization_codes (expires_at)
    WHERE consumed_at IS NULL;

-- Server keys generated at the first start and shared by every replica of the database: the
-- HMAC key of the login and consent forms' anti-forgery tokens ('forms'). 32 random bytes.
CREATE TABLE server_keys (
    name TEXT NOT NULL PRIMARY KEY,
    secret BLOB NOT NULL,
    created_at BIGINT NOT NULL
);
