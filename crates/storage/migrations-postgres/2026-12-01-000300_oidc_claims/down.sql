ALTER TABLE users DROP COLUMN email_verified;
ALTER TABLE users DROP COLUMN email;
ALTER TABLE users DROP COLUMN name;
ALTER TABLE clients DROP COLUMN id_token_alg;
ALTER TABLE clients DROP COLUMN access_token_alg;
ALTER TABLE clients DROP COLUMN audience;
