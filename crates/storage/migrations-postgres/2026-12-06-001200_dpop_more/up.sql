-- Issue 24 item 7, RFC 9449 section 10: the DPoP key an authorization code is bound to by the
-- authorization request's dpop_jkt parameter. A new table, so the positional reads of the
-- code rows stay as they are; its expiry is the code's (gatehouse copy filters both alike).
CREATE TABLE authorization_code_dpop (
    digest BYTEA PRIMARY KEY NOT NULL REFERENCES authorization_codes (digest) ON DELETE CASCADE,
    jkt TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
