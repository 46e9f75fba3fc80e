-- Issue 25 (the operator's side): `client remove` deletes the sessions a client opened;
-- without this index that is a scan of every session.
CREATE INDEX sessions_client ON sessions (client_id);
