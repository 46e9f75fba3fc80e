DROP TABLE browser_sessions;
ALTER TABLE authorization_codes DROP COLUMN browser_session_id;
ALTER TABLE authorization_codes DROP COLUMN auth_time;
ALTER TABLE authorization_codes DROP COLUMN scope;
ALTER TABLE authorization_codes DROP COLUMN code_challenge;
ALTER TABLE authorization_codes DROP COLUMN redirect_uri;
ALTER TABLE clients DROP COLUMN consent_required;
ALTER TABLE clients DROP COLUMN redirect_uris;
