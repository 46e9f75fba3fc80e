-- Issue 13, second part: per-client audience and signing algorithms, and the OpenID claims
-- a user may have.

-- `aud` of the client's JWT access tokens; NULL: the client id.
ALTER TABLE clients ADD COLUMN audience TEXT;
-- The algorithm of the client's JWT access tokens (access_token_signed_response_alg).
-- New clients default to ES256; a client stored before this migration keeps the algorithm
-- that signed its tokens until now (the newest unretired key's), RS256 without keys.
ALTER TABLE clients ADD COLUMN access_token_alg TEXT NOT NULL DEFAULT 'ES256';
UPDATE clients SET access_token_alg = COALESCE(
    (SELECT alg FROM signing_keys WHERE retired_at IS NULL
     ORDER BY activates_at DESC, created_at DESC LIMIT 1),
    'RS256');
-- The algorithm of the client's id_tokens (id_token_signed_response_alg).
ALTER TABLE clients ADD COLUMN id_token_alg TEXT NOT NULL DEFAULT 'RS256';

-- OpenID Connect claims: `name` (scope profile), `email` and `email_verified` (scope email).
ALTER TABLE users ADD COLUMN name TEXT;
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;
