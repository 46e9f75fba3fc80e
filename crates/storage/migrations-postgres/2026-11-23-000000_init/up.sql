-- Gatehouse schema, PostgreSQL dialect (the same tables as migrations/ for SQLite). Times are
-- unix microseconds (UTC), GUIDs lower-case hyphenated text, digests 32-byte SHA-256 BYTEA.

CREATE TABLE users (
    id TEXT NOT NULL PRIMARY KEY,
    user_name TEXT NOT NULL,
    user_name_key TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    operator BOOLEAN NOT NULL DEFAULT FALSE,
    editor BOOLEAN NOT NULL DEFAULT FALSE,
    query_all BOOLEAN NOT NULL DEFAULT FALSE,
    df_visible BOOLEAN NOT NULL DEFAULT FALSE,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);

CREATE TABLE members (
    id BIGINT NOT NULL PRIMARY KEY,
    member_id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users (id)
);
CREATE INDEX members_user ON members (user_id);

CREATE TABLE sub_accounts (
    id BIGINT NOT NULL PRIMARY KEY,
    member BIGINT NOT NULL REFERENCES members (id)
);
CREATE INDEX sub_accounts_member ON sub_accounts (member);

CREATE TABLE brokers (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE trading_accounts (
    broker_id TEXT NOT NULL REFERENCES brokers (id),
    account TEXT NOT NULL,
    server TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (broker_id, account, server)
);
CREATE INDEX trading_accounts_user ON trading_accounts (user_id);

CREATE TABLE clients (
    client_id TEXT NOT NULL PRIMARY KEY,
    secret_hash TEXT,
    grants TEXT NOT NULL,
    scope TEXT NOT NULL,
    access_token_lifetime_secs BIGINT,
    refresh_token_lifetime_secs BIGINT,
    redirect_url TEXT,
    broker_id TEXT REFERENCES brokers (id)
);

CREATE TABLE sessions (
    id TEXT NOT NULL PRIMARY KEY,
    client_id TEXT REFERENCES clients (client_id),
    user_id TEXT REFERENCES users (id),
    client_key TEXT,
    caller_ip TEXT,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    ended_at BIGINT
);

CREATE TABLE access_tokens (
    digest BYTEA NOT NULL PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    client_id TEXT,
    user_id TEXT,
    scope TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX access_tokens_session ON access_tokens (session_id);
CREATE INDEX access_tokens_expiry ON access_tokens (expires_at);

CREATE TABLE refresh_tokens (
    digest BYTEA NOT NULL PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    client_id TEXT,
    scope TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    rotated_at BIGINT,
    successor BYTEA,
    revoked_at BIGINT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);

CREATE TABLE authorization_codes (
    digest BYTEA NOT NULL PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients (client_id),
    user_id TEXT NOT NULL REFERENCES users (id),
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    consumed_at BIGINT,
    session_id TEXT REFERENCES sessions (id)
);
CREATE INDEX authorization_codes_expiry ON authorization_codes (expires_at);

CREATE TABLE onetime_codes (
    digest BYTEA NOT NULL PRIMARY KEY,
    issuer_client_id TEXT,
    issuer_user_id TEXT,
    user_id TEXT NOT NULL REFERENCES users (id),
    redeeming_client_id TEXT NOT NULL REFERENCES clients (client_id),
    broker_id TEXT,
    trading_account TEXT,
    server TEXT,
    payload TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    consumed_at BIGINT,
    session_id TEXT REFERENCES sessions (id)
);
CREATE INDEX onetime_codes_expiry ON onetime_codes (expires_at);

CREATE TABLE login_failures (
    lock_key TEXT NOT NULL PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    locked_until BIGINT
);
