-- A display name for the login and consent pages (RFC 7591 client_name); NULL shows the id.
ALTER TABLE clients ADD COLUMN client_name TEXT;
