//! The real `gatehouse` binary on a SQLite file or a fresh PostgreSQL database: the
//! command line run as a script would, and `serve` beside it.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use gatehouse_tests::{send_raw, Request, Response};
use serde_json::Value;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database (and a directory for files) of one test.
pub struct Env {
    pub backend: Backend,
    pub database: String,
    pub dir: tempfile::TempDir,
}

impl Env {
    /// `None` when PostgreSQL is left out (a failure under GATEHOUSE_TEST_REQUIRE).
    pub fn new(backend: Backend, test: &str) -> Option<Self> {
        let dir = tempfile::tempdir().expect("tempdir");
        let database = match backend {
            Backend::Sqlite => dir.path().join("gatehouse.db").display().to_string(),
            Backend::Postgres => gatehouse_tests::pg::fresh_database(test)?,
        };
        Some(Self {
            backend,
            database,
            dir,
        })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Another empty database of the same backend.
    pub fn another_database(&self, test: &str) -> String {
        match self.backend {
            Backend::Sqlite => self.path(&format!("{test}.db")).display().to_string(),
            Backend::Postgres => gatehouse_tests::pg::fresh_database(test).expect("cluster"),
        }
    }

    /// `gatehouse ARGS` on this database with `stdin`.
    pub fn run_with(&self, args: &[&str], stdin: &str, extra_env: &[(&str, &str)]) -> Run {
        use std::io::Write as _;
        let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(args)
            .env("GATEHOUSE_DATABASE", &self.database)
            .env("GATEHOUSE_HASH_ITERATIONS", "1000")
            .env("GATEHOUSE_LOG", "warn")
            .envs(extra_env.iter().copied())
            .current_dir(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gatehouse runs");
        if let Some(mut input) = child.stdin.take() {
            let _ = input.write_all(stdin.as_bytes());
        }
        Run(child.wait_with_output().expect("gatehouse finishes"))
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, "", &[])
    }

    /// `gatehouse ARGS --json`, which must succeed: its stdout parsed.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let run = self.run(&all);
        assert_eq!(run.code(), 0, "{args:?}: {}", run.stderr());
        serde_json::from_str(&run.stdout())
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", run.stdout()))
    }

    /// `gatehouse serve --demo` on this database.
    pub fn serve(&self, extra: &[&str]) -> Server {
        Server::start(&self.database, self.dir.path(), true, extra, &[])
    }

    /// `gatehouse serve --demo` on this database with more environment variables.
    pub fn serve_with_env(&self, extra: &[&str], env: &[(&str, &str)]) -> Server {
        Server::start(&self.database, self.dir.path(), true, extra, env)
    }

    /// `gatehouse serve` (without the demo data) on `database`.
    pub fn serve_database(&self, database: &str, extra: &[&str]) -> Server {
        Server::start(database, self.dir.path(), false, extra, &[])
    }
}

/// A finished command.
pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    /// Asserts exit status `code`, returning stdout.
    #[track_caller]
    pub fn expect(&self, code: i32) -> String {
        assert_eq!(
            self.code(),
            code,
            "stdout: {}\nstderr: {}",
            self.stdout(),
            self.stderr()
        );
        self.stdout()
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A `gatehouse serve --demo` process.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    log: PathBuf,
}

impl Server {
    fn start(database: &str, dir: &Path, demo: bool, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let log = dir.join(format!("serve-{port}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(["--log", "info", "serve", "--hash-iterations", "1000"])
            .args(demo.then_some("--demo"))
            .args(["--workers", "2", "--hash-threads", "1", "--bind"])
            .arg(addr.to_string())
            .args(["--lockout-initial-delay", "600"])
            .args(extra)
            .env("GATEHOUSE_DATABASE", database)
            .envs(env.iter().copied())
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .spawn()
            .expect("gatehouse starts");
        let mut server = Self { child, addr, log };
        // Readiness, not a timed assertion: poll until it answers (or has exited).
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("server exited ({status}): {}", server.log());
            }
            if send_raw(
                addr,
                &Request::get("/.well-known/oauth-authorization-server").to_bytes(),
            )
            .is_ok()
            {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "server never answered: {}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn send(&self, request: Request) -> Response {
        request.send(self.addr)
    }

    /// A v1 password grant of the demo client: the response.
    pub fn login(&self, user: &str, password: &str) -> Response {
        self.send(
            Request::post("/api/v1/auth/token")
                .basic("demo-client", "demo-secret")
                .form(&format!(
                    "grant_type=password&username={user}&password={password}"
                )),
        )
    }

    /// A v1 password grant that must succeed: its access token.
    #[track_caller]
    pub fn token(&self, user: &str, password: &str) -> String {
        let res = self.login(user, password);
        assert_eq!(res.status, 200, "{}", res.text());
        res.json()["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// Whether the demo client (which may introspect any client's tokens) sees `token` live.
    pub fn active(&self, token: &str) -> bool {
        let res = self.send(
            Request::post("/oauth2/introspect")
                .basic("demo-client", "demo-secret")
                .form(&format!("token={token}")),
        );
        assert_eq!(res.status, 200, "{}", res.text());
        res.json()["active"] == Value::Bool(true)
    }

    /// Signs `user` in on the login page of /oauth2/authorize: a browser session.
    pub fn browser_sign_in(&self, user: &str, password: &str) {
        let path = "/oauth2/authorize?response_type=code&client_id=demo-client\
                    &redirect_uri=https%3A%2F%2Fapp.example%2Fcallback&state=s&scope=profile\
                    &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
                    &code_challenge_method=S256";
        let page = self.send(Request::get(path));
        assert_eq!(page.status, 200, "{}", page.text());
        let cookie = page
            .header("set-cookie")
            .and_then(|c| c.split(';').next())
            .expect("login cookie")
            .to_owned();
        let mut body = Vec::new();
        for piece in page.text().split("<input type=\"hidden\" name=\"").skip(1) {
            let (name, rest) = piece.split_once('"').expect("name");
            let value = rest
                .split_once("value=\"")
                .and_then(|(_, v)| v.split_once('"'))
                .map(|(v, _)| v.replace("&amp;", "&"))
                .unwrap_or_default();
            body.push(format!("{name}={}", form_encode(&value)));
        }
        body.push(format!("username={user}&password={password}"));
        let res = self.send(
            Request::post("/oauth2/login")
                .header("Cookie", &cookie)
                .form(&body.join("&")),
        );
        assert_eq!(res.status, 303, "{}", res.text());
    }
}

fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `test` on SQLite and (unless left out) on PostgreSQL.
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn sqlite() {
                if let Some(env) = Env::new(Backend::Sqlite, concat!(stringify!($name), "_sqlite"))
                {
                    ($body)(env);
                }
            }
            #[test]
            fn postgres() {
                if let Some(env) =
                    Env::new(Backend::Postgres, concat!(stringify!($name), "_postgres"))
                {
                    ($body)(env);
                }
            }
        }
    };
}
pub(crate) use both;
