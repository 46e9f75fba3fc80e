//! Migrations from an empty database on each backend (the same versions on both, each
//! matching `src/schema.rs`), connection settings, replicas that start together.

use gatehouse_domain::store::Store;
use gatehouse_storage::{Storage, StorageOptions, Synchronous, MIGRATIONS};

use crate::support::temp_db;

#[test]
fn migrations_run_from_empty_and_only_once() {
    let (_dir, path) = temp_db();
    assert!(!path.exists());
    let storage = Storage::open(&path, StorageOptions::default()).expect("open");
    assert!(path.exists());
    let applied = storage.applied_migrations().expect("applied");
    assert_eq!(applied.len(), 15, "{applied:?}");
    assert!(applied[0].starts_with("20261123000000"), "{applied:?}");
    assert!(applied[1].starts_with("20261130000000"), "{applied:?}");
    assert!(applied[2].starts_with("20261201000000"), "{applied:?}");
    assert!(applied[3].starts_with("20261201000100"), "{applied:?}");
    assert!(
        applied.iter().any(|a| a.starts_with("20261201000200")),
        "signing keys: {applied:?}"
    );
    assert!(
        applied.iter().any(|a| a.starts_with("20261201000300")),
        "OpenID claims and per-client signing: {applied:?}"
    );
    assert!(
        applied.iter().any(|a| a.starts_with("20261206000600")),
        "client keys and assertion jtis: {applied:?}"
    );
    assert!(
        applied.iter().any(|a| a.starts_with("20261206000900")),
        "token exchange and DPoP: {applied:?}"
    );
    assert!(
        applied.iter().any(|a| a.starts_with("20261206001200")),
        "DPoP-bound authorization codes: {applied:?}"
    );
    assert!(
        applied.iter().any(|a| a.starts_with("20261206001100")),
        "back-channel logout: {applied:?}"
    );
    assert!(
        applied.iter().any(|a| a.starts_with("20261206000300")),
        "dual-run and legacy usage: {applied:?}"
    );
    assert!(
        applied.iter().any(|a| a.starts_with("20261206000800")),
        "device codes: {applied:?}"
    );
    assert!(
        applied.iter().any(|a| a.starts_with("20261206000500")),
        "logout and PAR: {applied:?}"
    );
    assert!(
        applied.iter().any(|a| a.starts_with("20261206000400")),
        "the operator's index: {applied:?}"
    );
    assert!(
        applied.iter().any(|a| a.starts_with("20261206000100")),
        "issue 19's indexes of authorization codes: {applied:?}"
    );
    // Every table is there and empty.
    let (users, clients) = storage
        .read(|tx| Ok((tx.users()?.len(), tx.clients()?.len())))
        .expect("read");
    assert_eq!((users, clients), (0, 0));
    drop(storage);
    let again = Storage::open(&path, StorageOptions::default()).expect("reopen");
    assert_eq!(again.applied_migrations().expect("applied"), applied);
    // The embedded set is what was applied.
    use diesel::migration::MigrationSource;
    let embedded =
        MigrationSource::<diesel::sqlite::Sqlite>::migrations(&MIGRATIONS).expect("embedded");
    assert_eq!(embedded.len(), applied.len());
}

#[test]
fn connections_get_the_server_pragmas() {
    let (_dir, path) = temp_db();
    let storage = Storage::open(&path, StorageOptions::default()).expect("open");
    assert_eq!(storage.pragma("journal_mode").expect("pragma"), "wal");
    assert_eq!(storage.pragma("foreign_keys").expect("pragma"), "1");
    assert_eq!(storage.pragma("synchronous").expect("pragma"), "2", "FULL");
    drop(storage);
    let normal = Storage::open(
        &path,
        StorageOptions {
            synchronous: Synchronous::Normal,
            ..StorageOptions::default()
        },
    )
    .expect("open");
    assert_eq!(normal.pragma("synchronous").expect("pragma"), "1", "NORMAL");
    assert!(normal.pragma("x; DROP TABLE users").is_err());
}

/// (table, primary key columns, (column, diesel type) in order)
type TableSpec = (String, Vec<String>, Vec<(String, String)>);

/// The tables of `src/schema.rs` and its `joinable!` lines (child, parent, column).
fn expected_schema() -> (Vec<TableSpec>, Vec<(String, String, String)>) {
    // Parse schema.rs: `table (pk, ...) {` then `column -> Type,` lines.
    let text = include_str!("../../src/schema.rs");
    let mut expected: Vec<TableSpec> = Vec::new();
    let mut joinables: Vec<(String, String, String)> = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("diesel::joinable!(") {
            // `child -> parent (column));`
            let (child, rest) = rest.split_once(" -> ").expect("joinable");
            let (parent, column) = rest.split_once(" (").expect("joinable column");
            let column = column.trim_end_matches(");").trim_end_matches(')');
            joinables.push((child.to_owned(), parent.to_owned(), column.to_owned()));
        } else if line.starts_with("diesel::") {
            continue;
        } else if let Some((head, _)) = line.split_once(") {") {
            let (name, pk) = head.split_once(" (").expect("table header");
            let pk = pk.split(", ").map(str::to_owned).collect();
            expected.push((name.to_owned(), pk, Vec::new()));
        } else if let Some((column, ty)) = line.split_once(" -> ") {
            let ty = ty.trim_end_matches(',').to_owned();
            expected
                .last_mut()
                .expect("column inside a table")
                .2
                .push((column.to_owned(), ty));
        }
    }
    assert_eq!(expected.len(), 32);

    (expected, joinables)
}

/// `src/schema.rs` (what diesel queries are checked against) matches the tables the
/// migrations create: same tables, columns, types, nullability and primary keys, as
/// `diesel print-schema` would write them.
#[test]
fn schema_rs_matches_the_migrated_database() {
    let (expected, mut joinables) = expected_schema();
    use diesel::sql_types::{BigInt, Text};
    use diesel::{Connection, RunQueryDsl, SqliteConnection};

    #[derive(diesel::QueryableByName)]
    struct Column {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Text)]
        ty: String,
        #[diesel(sql_type = BigInt)]
        not_null: i64,
        #[diesel(sql_type = BigInt)]
        pk: i64,
    }
    #[derive(diesel::QueryableByName)]
    struct Table {
        #[diesel(sql_type = Text)]
        name: String,
    }

    let (_dir, path) = temp_db();
    drop(Storage::open(&path, StorageOptions::default()).expect("open"));
    let mut conn =
        SqliteConnection::establish(path.to_str().expect("utf-8 path")).expect("connect");
    diesel::connection::SimpleConnection::batch_execute(&mut conn, "PRAGMA busy_timeout = 5000;")
        .expect("busy timeout");
    let tables: Vec<Table> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name != '__diesel_schema_migrations' ORDER BY name",
    )
    .load(&mut conn)
    .expect("tables");
    let names: Vec<_> = tables.iter().map(|t| t.name.clone()).collect();
    let expected_names: Vec<_> = expected.iter().map(|t| t.0.clone()).collect();
    assert_eq!(names, expected_names);

    for (table, pk, columns) in &expected {
        let actual: Vec<Column> = diesel::sql_query(format!(
            "SELECT name, type AS ty, \"notnull\" AS not_null, pk FROM pragma_table_info('{table}') \
             ORDER BY cid"
        ))
        .load(&mut conn)
        .expect("columns");
        let actual_columns: Vec<(String, String)> = actual
            .iter()
            .map(|c| {
                let base = match c.ty.as_str() {
                    "TEXT" => "Text",
                    // INTEGER only for a rowid alias (`INTEGER PRIMARY KEY`: a 64-bit id).
                    "BIGINT" | "INTEGER" => "BigInt",
                    "BOOLEAN" => "Bool",
                    "BLOB" => "Binary",
                    other => panic!("{table}.{}: unexpected SQL type {other}", c.name),
                };
                let ty = if c.not_null == 0 {
                    format!("Nullable<{base}>")
                } else {
                    base.to_owned()
                };
                (c.name.clone(), ty)
            })
            .collect();
        assert_eq!(&actual_columns, columns, "columns of {table}");
        let mut actual_pk: Vec<(i64, String)> = actual
            .iter()
            .filter(|c| c.pk > 0)
            .map(|c| (c.pk, c.name.clone()))
            .collect();
        actual_pk.sort();
        let actual_pk: Vec<String> = actual_pk.into_iter().map(|(_, n)| n).collect();
        assert_eq!(&actual_pk, pk, "primary key of {table}");
    }

    // Every foreign key has its `joinable!`, and nothing else does.
    #[derive(diesel::QueryableByName)]
    struct ForeignKey {
        #[diesel(sql_type = Text)]
        parent: String,
        #[diesel(sql_type = Text)]
        column: String,
    }
    let mut actual_fks = Vec::new();
    for (table, _, _) in &expected {
        let fks: Vec<ForeignKey> = diesel::sql_query(format!(
            "SELECT \"table\" AS parent, \"from\" AS column FROM pragma_foreign_key_list('{table}')"
        ))
        .load(&mut conn)
        .expect("foreign keys");
        actual_fks.extend(
            fks.into_iter()
                .map(|fk| (table.clone(), fk.parent, fk.column)),
        );
    }
    actual_fks.sort();
    joinables.sort();
    assert_eq!(actual_fks, joinables);
}

/// The two migration sets have the same versions, in the same order: a migration added for
/// one backend only fails here.
#[test]
fn both_backends_have_the_same_migrations() {
    use diesel::migration::MigrationSource;
    use gatehouse_storage::PG_MIGRATIONS;
    let sqlite: Vec<String> = MigrationSource::<diesel::sqlite::Sqlite>::migrations(&MIGRATIONS)
        .expect("sqlite set")
        .iter()
        .map(|m| m.name().version().to_string())
        .collect();
    let pg: Vec<String> = MigrationSource::<diesel::pg::Pg>::migrations(&PG_MIGRATIONS)
        .expect("postgres set")
        .iter()
        .map(|m| m.name().version().to_string())
        .collect();
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, pg);
}

fn pg_url(test: &str) -> Option<String> {
    gatehouse_tests::pg::fresh_database(test)
}

#[test]
fn postgres_migrations_run_once_even_when_replicas_start_together() {
    let Some(url) = pg_url("postgres_migrations_run_once_even_when_replicas_start_together") else {
        return;
    };
    let database = gatehouse_storage::Database::parse(&url).expect("url");
    // Four "replicas" start at the same moment on an empty database.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let database = database.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                Storage::connect(&database, StorageOptions::default())
            })
        })
        .collect();
    let stores: Vec<Storage> = handles
        .into_iter()
        .map(|h| h.join().expect("thread").expect("every replica starts"))
        .collect();
    let applied = stores[0].applied_migrations().expect("applied");
    use diesel::migration::MigrationSource;
    let embedded = MigrationSource::<diesel::pg::Pg>::migrations(&gatehouse_storage::PG_MIGRATIONS)
        .expect("embedded");
    assert_eq!(applied.len(), embedded.len(), "{applied:?}");
    for s in &stores {
        assert_eq!(s.applied_migrations().expect("applied"), applied);
        assert_eq!(s.backend(), "postgres");
        let (users, clients) = s
            .read(|tx| Ok((tx.users()?.len(), tx.clients()?.len())))
            .expect("read");
        assert_eq!((users, clients), (0, 0));
    }
}

#[test]
fn postgres_connections_get_the_settings() {
    let Some(url) = pg_url("postgres_connections_get_the_settings") else {
        return;
    };
    let database = gatehouse_storage::Database::parse(&url).expect("url");
    let storage = Storage::connect(
        &database,
        StorageOptions {
            statement_timeout: std::time::Duration::from_millis(1500),
            ..StorageOptions::default()
        },
    )
    .expect("open");
    assert_eq!(
        storage.pragma("statement_timeout").expect("setting"),
        "1500ms"
    );
    assert_eq!(storage.pragma("synchronous_commit").expect("setting"), "on");
    assert_eq!(storage.pragma("TimeZone").expect("setting"), "UTC");
    assert!(storage.pragma("x; DROP TABLE users").is_err());
    drop(storage);
    let normal = Storage::connect(
        &database,
        StorageOptions {
            synchronous: Synchronous::Normal,
            ..StorageOptions::default()
        },
    )
    .expect("open");
    assert_eq!(normal.pragma("synchronous_commit").expect("setting"), "off");
}

/// A wrong password is refused with an error that does not contain it; `sslmode=require`
/// against a server without TLS is refused (the setting reaches libpq).
#[test]
fn postgres_errors_never_show_the_password() {
    let Some(cluster) = gatehouse_tests::pg::shared("postgres_errors_never_show_the_password")
    else {
        return;
    };
    let wrong = format!(
        "postgres://{}:Wr0ngSecret@127.0.0.1:{}/postgres",
        gatehouse_tests::pg::USER,
        cluster.port()
    );
    let database = gatehouse_storage::Database::parse(&wrong).expect("url");
    let e = Storage::connect(&database, StorageOptions::default()).expect_err("refused");
    let text = format!("{e} {e:?} {database} {database:?}");
    assert!(!text.contains("Wr0ngSecret"), "{text}");
    assert!(text.contains("password authentication failed"), "{text}");

    let tls = gatehouse_storage::Database::parse(&cluster.url("postgres"))
        .expect("url")
        .with_sslmode(Some(gatehouse_storage::SslMode::Require));
    let e = Storage::connect(&tls, StorageOptions::default()).expect_err("no TLS here");
    let text = format!("{e} {e:?}");
    assert!(text.contains("SSL"), "{text}");
    assert!(!text.contains(cluster.password()), "{text}");
}

/// `src/schema.rs` matches the tables the PostgreSQL migrations create, like the SQLite
/// check above.
#[test]
fn schema_rs_matches_the_migrated_postgres_database() {
    use diesel::pg::PgConnection;
    use diesel::sql_types::{BigInt, Text};
    use diesel::{Connection, RunQueryDsl};

    let Some(url) = pg_url("schema_rs_matches_the_migrated_postgres_database") else {
        return;
    };
    let (expected, mut joinables) = expected_schema();
    drop(
        Storage::connect(
            &gatehouse_storage::Database::parse(&url).expect("url"),
            StorageOptions::default(),
        )
        .expect("open"),
    );
    let mut conn = PgConnection::establish(&url).expect("connect");

    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
    }
    #[derive(diesel::QueryableByName)]
    struct Column {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Text)]
        ty: String,
        #[diesel(sql_type = BigInt)]
        not_null: i64,
    }
    #[derive(diesel::QueryableByName)]
    struct ForeignKey {
        #[diesel(sql_type = Text)]
        parent: String,
        #[diesel(sql_type = Text)]
        column: String,
    }
    let tables: Vec<Name> = diesel::sql_query(
        "SELECT table_name::text AS name FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations' \
         ORDER BY table_name::text COLLATE \"C\"",
    )
    .load(&mut conn)
    .expect("tables");
    let names: Vec<_> = tables.into_iter().map(|t| t.name).collect();
    let expected_names: Vec<_> = expected.iter().map(|t| t.0.clone()).collect();
    assert_eq!(names, expected_names);
    let mut actual_fks = Vec::new();
    for (table, pk, columns) in &expected {
        let actual: Vec<Column> = diesel::sql_query(
            "SELECT column_name::text AS name, data_type::text AS ty, \
             (CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END)::bigint AS not_null \
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 \
             ORDER BY ordinal_position",
        )
        .bind::<Text, _>(table)
        .load(&mut conn)
        .expect("columns");
        let actual_columns: Vec<(String, String)> = actual
            .iter()
            .map(|c| {
                let base = match c.ty.as_str() {
                    "text" => "Text",
                    "bigint" => "BigInt",
                    "boolean" => "Bool",
                    "bytea" => "Binary",
                    other => panic!("{table}.{}: unexpected SQL type {other}", c.name),
                };
                let ty = if c.not_null == 0 {
                    format!("Nullable<{base}>")
                } else {
                    base.to_owned()
                };
                (c.name.clone(), ty)
            })
            .collect();
        assert_eq!(&actual_columns, columns, "columns of {table}");
        let actual_pk: Vec<Name> = diesel::sql_query(
            "SELECT a.attname::text AS name FROM pg_index i \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
             WHERE i.indrelid = $1::regclass AND i.indisprimary \
             ORDER BY array_position(i.indkey::int2[], a.attnum)",
        )
        .bind::<Text, _>(table)
        .load(&mut conn)
        .expect("primary key");
        let actual_pk: Vec<String> = actual_pk.into_iter().map(|n| n.name).collect();
        assert_eq!(&actual_pk, pk, "primary key of {table}");
        let fks: Vec<ForeignKey> = diesel::sql_query(
            "SELECT p.relname::text AS parent, a.attname::text AS column FROM pg_constraint c \
             JOIN pg_class p ON p.oid = c.confrelid \
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
             WHERE c.contype = 'f' AND c.conrelid = $1::regclass",
        )
        .bind::<Text, _>(table)
        .load(&mut conn)
        .expect("foreign keys");
        actual_fks.extend(
            fks.into_iter()
                .map(|fk| (table.clone(), fk.parent, fk.column)),
        );
    }
    actual_fks.sort();

    joinables.sort();
    assert_eq!(actual_fks, joinables);
}

/// Migration 6 gives a client stored before it the algorithm that signed its tokens until
/// then (the newest unretired key's), and the defaults to the rest: RS256 id_tokens, no
/// audience, users without name or address.
#[test]
fn clients_keep_the_algorithm_that_signed_their_tokens() {
    use diesel::{Connection, RunQueryDsl, SqliteConnection};
    use diesel_migrations::MigrationHarness;
    use gatehouse_domain::keys::Alg;
    let (_dir, path) = temp_db();
    let mut conn =
        SqliteConnection::establish(path.to_str().expect("utf-8 path")).expect("connect");
    for _ in 0..5 {
        conn.run_next_migration(MIGRATIONS).expect("migration");
    }
    for sql in [
        // An RS256 key, a newer EdDSA key (the one that signed last), a newer ES256 key retired.
        "INSERT INTO signing_keys (kid, alg, public_jwk, private_key, created_at, activates_at) \
         VALUES ('old', 'RS256', '{}', x'00', 1, 1), ('new', 'EdDSA', '{}', x'00', 2, 2), \
         ('gone', 'ES256', '{}', x'00', 3, 3)",
        "UPDATE signing_keys SET retired_at = 4, published_until = 5 WHERE kid = 'gone'",
        "INSERT INTO clients (client_id, grants, scope, introspect_any, redirect_uris, \
         consent_required, access_token_format) VALUES ('jwt-before', '', '', FALSE, '[]', FALSE, 'jwt')",
        "INSERT INTO users (id, user_name, user_name_key, password_hash, operator, editor, \
         query_all, df_visible, disabled, created_at) VALUES \
         ('a11ce000-0000-4000-8000-000000000001', 'alice', 'alice', 'x', FALSE, FALSE, FALSE, \
         FALSE, FALSE, 0)",
    ] {
        diesel::sql_query(sql).execute(&mut conn).expect(sql);
    }
    drop(conn);
    let storage = Storage::open(&path, StorageOptions::default()).expect("migrate to 6");
    let (client, users) = storage
        .read(|tx| Ok((tx.client("jwt-before")?, tx.users()?)))
        .expect("read");
    let client = client.expect("client");
    assert_eq!(client.signing.access_token_alg, Alg::EdDsa);
    assert_eq!(client.signing.id_token_alg, Alg::Rs256);
    assert!(client.signing.audience.is_none());
    assert_eq!(users[0].profile, Default::default());
}
