ALTER TABLE authorization_codes DROP COLUMN nonce;
ALTER TABLE clients DROP COLUMN access_token_format;
DROP TABLE signing_keys;
