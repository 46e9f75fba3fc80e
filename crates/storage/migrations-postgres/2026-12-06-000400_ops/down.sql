DROP INDEX sessions_client;
