//! A real server per test, on its own temporary SQLite file, with the demo data and a cheap
//! password hash (the cost is configuration; production uses 600,000 iterations).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use gatehouse::config::Settings;
use gatehouse_tests::{Request, Response, TempDb};

pub const BROKER: &str = "3be9edf1-5491-4d5c-a5c6-423218dfb6cc";

pub struct Server {
    pub addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    admin_addr: Option<SocketAddr>,
    pub db: PathBuf,
    running: Option<gatehouse::Running>,
    _dir: TempDb,
}

impl Server {
    /// The demo server with test-friendly settings.
    pub fn start() -> Self {
        Self::start_with(|_| {})
    }

    /// The demo server, with `tweak` applied to the test settings first.
    pub fn start_with(tweak: impl FnOnce(&mut Settings)) -> Self {
        let dir = TempDb::new();
        let mut settings = settings_of(&dir.path);
        tweak(&mut settings);
        let running = gatehouse::start(settings).expect("server starts");
        Self {
            addr: running.addr,
            metrics_addr: running.metrics_addr,
            admin_addr: running.admin_addr,
            db: dir.path.clone(),
            running: Some(running),
            _dir: dir,
        }
    }

    /// The `--admin-bind` listener, when configured.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// The `--metrics-bind` listener, when configured.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    pub fn send(&self, request: Request) -> Response {
        request.send(self.addr)
    }

    /// Stops the server (graceful) and keeps the database file.
    pub fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop();
        }
    }

    /// A katana password login of alice: her access token.
    pub fn alice_token(&self) -> String {
        let res = self.send(
            Request::post("/token")
                .form("grant_type=password&userName=alice&password=alice-password-1"),
        );
        assert_eq!(res.status, 200, "{}", res.text());
        res.json()["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// A v1 password login through demo-client: the whole response.
    pub fn v1_login(&self, user: &str, password: &str) -> serde_json::Value {
        let res = self.send(
            Request::post("/api/v1/auth/token")
                .basic("demo-client", "demo-secret")
                .form(&format!(
                    "grant_type=password&username={user}&password={password}"
                )),
        );
        assert_eq!(res.status, 200, "{}", res.text());
        res.json()
    }

    /// Introspects `token` as demo-client.
    pub fn introspect(&self, token: &str) -> serde_json::Value {
        let res = self.send(
            Request::post("/oauth2/introspect")
                .basic("demo-client", "demo-secret")
                .form(&format!("token={token}")),
        );
        assert_eq!(res.status, 200, "{}", res.text());
        res.json()
    }

    pub fn active(&self, token: &str) -> bool {
        self.introspect(token)["active"] == serde_json::Value::Bool(true)
    }

    /// Counts rows of a table straight from the SQLite file.
    pub fn count(&self, table: &str) -> i64 {
        count_rows(&self.db, table)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The settings of a demo server on `db`, for the admin commands (`gatehouse::cli::…`) too:
/// its key-encryption key is `<db>.kek`.
pub fn settings_of(db: &Path) -> Settings {
    Settings {
        demo: true,
        ..test_settings(db)
    }
}

/// Test-friendly settings on the SQLite file `db`: a free port, cheap hashes, two workers
/// and two hash threads (whatever the machine's cores).
fn test_settings(db: &Path) -> Settings {
    Settings {
        database: gatehouse_storage::Database::Sqlite(db.to_path_buf()),
        bind: "127.0.0.1:0".parse().expect("address"),
        hash_iterations: 1_000,
        hash_threads: 2,
        workers: 2,
        ..Settings::default()
    }
}

/// A restart: a second server on an existing database file (no demo data loaded again),
/// with `tweak` applied to the test settings.
pub fn restart_on(db: &Path, tweak: impl FnOnce(&mut Settings)) -> gatehouse::Running {
    let mut settings = test_settings(db);
    tweak(&mut settings);
    gatehouse::start(settings).expect("server restarts")
}

/// `SELECT count(*) FROM table`, read straight from the SQLite file.
pub fn count_rows(db: &std::path::Path, table: &str) -> i64 {
    use diesel::{Connection as _, RunQueryDsl as _};
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn =
        diesel::SqliteConnection::establish(&db.to_string_lossy()).expect("database opens");
    diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
        .get_result::<Count>(&mut conn)
        .expect("count")
        .n
}

/// The JSON object keys of `body`, in the order written (nested objects flattened in order).
pub fn json_keys(body: &str) -> Vec<String> {
    let bytes = body.as_bytes();
    let mut keys = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'"' {
            let start = i + 1;
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                if bytes[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            let s = &body[start..i.min(body.len())];
            let mut j = i + 1;
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            if j < bytes.len() && bytes[j] == b':' {
                keys.push(s.to_owned());
            }
        }
        i += 1;
    }
    keys
}

/// XML with every text node replaced by `…` (and whitespace between tags removed): the
/// element order, names, namespaces and nil markers, without the values.
pub fn xml_skeleton(xml: &str) -> String {
    let mut out = String::new();
    let mut rest = xml.trim();
    while let Some(lt) = rest.find('<') {
        let text = rest[..lt].trim();
        if !text.is_empty() {
            out.push('…');
        }
        let gt = rest[lt..]
            .find('>')
            .map(|g| lt + g + 1)
            .unwrap_or(rest.len());
        let tag = &rest[lt..gt];
        // An empty pair <X></X> keeps its shape; text gets the placeholder.
        out.push_str(tag);
        rest = &rest[gt..];
    }
    out
}

/// A seed XML sample with its pretty-printing removed.
pub fn compact_xml(xml: &str) -> String {
    let mut out = String::new();
    for piece in xml.split('<').filter(|p| !p.is_empty()) {
        out.push('<');
        let (tag, text) = piece.split_once('>').unwrap_or((piece, ""));
        out.push_str(tag);
        out.push('>');
        out.push_str(text.trim());
    }
    out
}
