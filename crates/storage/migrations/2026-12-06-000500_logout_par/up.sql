-- OpenID Connect logout settings per client (RP-Initiated Logout 1.0: the registered
-- post_logout_redirect_uris, a JSON array matched exactly). A table beside clients rather
-- than columns on it (the joined reads of clients are positional); a client without a row
-- has none of these settings.
CREATE TABLE client_logout (
    client_id TEXT PRIMARY KEY NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]'
);
