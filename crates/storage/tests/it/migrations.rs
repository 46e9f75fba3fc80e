//! Migrations from an empty file, pragmas.

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
    assert_eq!(applied.len(), 2, "{applied:?}");
    assert!(applied[0].starts_with("20261123000000"), "{applied:?}");
    assert!(applied[1].starts_with("20261130000000"), "{applied:?}");
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

/// `src/schema.rs` (what diesel queries are checked against) matches the tables the
/// migrations create: same tables, columns, types, nullability and primary keys, as
/// `diesel print-schema` would write them.
#[test]
fn schema_rs_matches_the_migrated_database() {
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

    // Parse schema.rs: `table (pk, ...) {` then `column -> Type,` lines.
    let text = include_str!("../../src/schema.rs");
    /// (table, primary key columns, (column, diesel type) in order)
    type TableSpec = (String, Vec<String>, Vec<(String, String)>);
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
    assert_eq!(expected.len(), 13);

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
                    "BIGINT" => "BigInt",
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
