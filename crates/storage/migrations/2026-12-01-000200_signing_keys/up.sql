-- Signed tokens and OpenID Connect: the signing keys (private half sealed with AES-256-GCM
-- under the configured key-encryption key), the access-token format of each client, and the
-- OpenID `nonce` bound to an authorization code.

CREATE TABLE signing_keys (
    kid TEXT NOT NULL PRIMARY KEY,
    alg TEXT NOT NULL,
    -- The public JWK members, JSON.
    public_jwk TEXT NOT NULL,
    -- nonce || AES-256-GCM(PKCS#8 DER), the kid as associated data.
    private_key BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    activates_at BIGINT NOT NULL,
    retired_at BIGINT,
    published_until BIGINT
);

-- 'opaque' (the default, and what every legacy dialect returned) or 'jwt' (RFC 9068).
ALTER TABLE clients ADD COLUMN access_token_format TEXT NOT NULL DEFAULT 'opaque';

ALTER TABLE authorization_codes ADD COLUMN nonce TEXT;
