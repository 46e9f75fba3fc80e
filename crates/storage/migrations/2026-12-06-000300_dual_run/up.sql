-- Issue 22: dual-run with the legacy service, and the migration report. New tables only.

-- Every comparison of a legacy answer with Gatehouse's, counted per kind: `compared`,
-- `same`, and each kind of difference (`status`, `content_type`, `members`, `shape`,
-- `value`), plus `upstream_failed` and `skipped_*`. Bounded by the endpoints and kinds.
CREATE TABLE dual_run_counts (
    dialect TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    kind TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (dialect, endpoint, kind)
);

-- The differences themselves, both answers with every secret, token, code and id redacted.
-- At most --dual-run-max-differences rows (the insert is skipped past it).
CREATE TABLE dual_run_differences (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    recorded_at BIGINT NOT NULL,
    mode TEXT NOT NULL,
    dialect TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    client_id TEXT,
    kinds TEXT NOT NULL,
    detail TEXT NOT NULL,
    gatehouse_answer TEXT NOT NULL,
    upstream_answer TEXT NOT NULL
);

-- Legacy-dialect use per client ('' for a request naming none) and dialect, aggregated in
-- memory and added here periodically (not a write per request).
CREATE TABLE legacy_usage (
    client_id TEXT NOT NULL,
    dialect TEXT NOT NULL,
    requests BIGINT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    password_grant BIGINT NOT NULL,
    form_body BIGINT NOT NULL,
    xml_body BIGINT NOT NULL,
    windows_auth BIGINT NOT NULL,
    onetime_code BIGINT NOT NULL,
    katana_ticket BIGINT NOT NULL,
    PRIMARY KEY (client_id, dialect)
);
