//! Pieces of the suite that need something beyond the Rust toolchain: a PostgreSQL server
//! binary, a headless Chromium with its driver, a Python with the pinned clients.
//!
//! `scripts/test` (the README's test command) installs each piece when it is missing and
//! sets `GATEHOUSE_TEST_REQUIRE=postgres,browser,python`: then a missing piece **fails** the
//! test that needs it. Under plain `cargo test --workspace` such a test is left out and says
//! so on stderr, once per piece and test binary, in capitals.

use std::path::PathBuf;
use std::sync::Mutex;

/// A piece a test can need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// The PostgreSQL server binaries (`initdb`, `pg_ctl`, `postgres`): their directory.
    Postgres,
    /// Chromium and chromedriver: the path of `chromedriver` (Chromium from
    /// `GATEHOUSE_TEST_CHROMIUM`, default `/usr/bin/chromium`).
    Browser,
    /// The Python interpreter of the virtualenv with `scripts/test-requirements.txt`.
    Python,
    /// The directory where `npm ci` installed `tests/clients/package.json` (its
    /// `node_modules` holds the pinned openid-client); `node` from the PATH runs scripts there.
    Node,
    /// The examples of `gatehouse-client`, which `cargo test --workspace` builds (their
    /// directory, `target/debug/examples`).
    Examples,
    /// Mono and the legacy oracle (`../shared/oracle`: the real ASP.NET Web API stack): the
    /// path of the oracle's `run.sh` (`GATEHOUSE_TEST_ORACLE`, else `../shared/oracle` beside
    /// the repository or beside its worktree directory).
    Mono,
}

impl Piece {
    fn name(self) -> &'static str {
        match self {
            Piece::Postgres => "postgres",
            Piece::Browser => "browser",
            Piece::Python => "python",
            Piece::Node => "node",
            Piece::Examples => "examples",
            Piece::Mono => "mono",
        }
    }

    fn env(self) -> &'static str {
        match self {
            Piece::Postgres => "GATEHOUSE_TEST_PG_BIN",
            Piece::Browser => "GATEHOUSE_TEST_CHROMEDRIVER",
            Piece::Python => "GATEHOUSE_TEST_PYTHON",
            Piece::Node => "GATEHOUSE_TEST_NODE_DIR",
            Piece::Examples => "GATEHOUSE_TEST_EXAMPLES",
            Piece::Mono => "GATEHOUSE_TEST_ORACLE",
        }
    }

    fn install_hint(self) -> &'static str {
        match self {
            Piece::Postgres => "Debian package `postgresql`",
            Piece::Browser => "Debian packages `chromium` and `chromium-driver`",
            Piece::Python => "a virtualenv with scripts/test-requirements.txt",
            Piece::Node => {
                "Debian's `nodejs` and `npm`, and `npm ci` of tests/clients/package.json"
            }
            Piece::Examples => "`cargo test --workspace`, which builds gatehouse-client's examples",
            Piece::Mono => {
                "Debian's `mono-complete` and `libnewtonsoft-json-cil-dev`, and the oracle in ../shared/oracle"
            }
        }
    }

    fn detect(self) -> Option<PathBuf> {
        if let Some(path) = std::env::var_os(self.env()).map(PathBuf::from) {
            return path.exists().then_some(path);
        }
        match self {
            Piece::Postgres => {
                let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
                    .ok()?
                    .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                    .filter(|bin| bin.join("initdb").exists())
                    .collect();
                dirs.sort();
                dirs.pop()
            }
            Piece::Browser => {
                let driver = PathBuf::from("/usr/bin/chromedriver");
                (driver.exists() && chromium().exists()).then_some(driver)
            }
            Piece::Examples => {
                // target/debug/deps/<test binary> -> target/debug/examples
                let exe = std::env::current_exe().ok()?;
                let dir = exe.parent()?.parent()?.join("examples");
                dir.join("legacy_dialects").exists().then_some(dir)
            }
            Piece::Mono => {
                let mono = ["/usr/bin/mono", "/usr/local/bin/mono"]
                    .iter()
                    .any(|p| std::path::Path::new(p).exists());
                let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
                let run = [
                    root.join("../shared/oracle"),
                    root.join("../../shared/oracle"),
                ]
                .into_iter()
                .map(|d| d.join("run.sh"))
                .find(|p| p.exists());
                run.filter(|_| mono)
            }
            Piece::Python | Piece::Node => None,
        }
    }
}

/// Chromium's path (`GATEHOUSE_TEST_CHROMIUM`, default `/usr/bin/chromium`).
pub fn chromium() -> PathBuf {
    std::env::var_os("GATEHOUSE_TEST_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

fn required(piece: Piece) -> bool {
    std::env::var("GATEHOUSE_TEST_REQUIRE")
        .map(|v| v.split(',').any(|p| p.trim() == piece.name()))
        .unwrap_or(false)
}

static TOLD: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

/// The piece's path, or `None` after saying loudly that the calling test is left out.
///
/// # Panics
/// When the piece is missing and `GATEHOUSE_TEST_REQUIRE` names it (the README's test
/// command): a missing piece is a failure there, never a skip.
pub fn require(piece: Piece, test: &str) -> Option<PathBuf> {
    if let Some(path) = piece.detect() {
        return Some(path);
    }
    assert!(
        !required(piece),
        "{test}: needs {} ({}), which is missing, and GATEHOUSE_TEST_REQUIRE requires it",
        piece.name(),
        piece.install_hint()
    );
    let mut told = TOLD.lock().unwrap_or_else(|e| e.into_inner());
    if !told.contains(&piece.name()) {
        told.push(piece.name());
        eprintln!(
            "\n*** LEFT OUT: tests that need {} ({}). Run scripts/test to install it and run them. ***\n",
            piece.name(),
            piece.install_hint()
        );
    }
    eprintln!("*** LEFT OUT: {test} (needs {}) ***", piece.name());
    None
}
