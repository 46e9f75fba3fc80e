//! A throwaway PostgreSQL cluster for tests and benchmarks: `initdb` + `pg_ctl` from
//! Debian's `postgresql` package (found by [`crate::external::require`]) into a temporary
//! directory, listening on a free loopback port, with password authentication, torn down
//! after. No Docker, no server started by hand.
//!
//! PostgreSQL refuses to run as root; when the tests run as root (CI here) the cluster runs as
//! the `postgres` system user that Debian's package creates (created if missing), through
//! `runuser`, in a directory it owns. As a normal user it runs as that user.
//!
//! Teardown: [`Cluster`] stops the server and deletes the directory when dropped. The
//! process-wide [`shared`] cluster (one per test binary, a fresh database per test) is never
//! dropped, so a watchdog shell holds a pipe from the test process and, when the process
//! ends however it ends (even SIGKILL), stops the server and deletes the directory.

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::external::{require, Piece};

/// The superuser the clusters are created with.
pub const USER: &str = "gatehouse";

/// How the server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `fsync=off`: fast, for tests (durability of the database server itself is not what
    /// they test).
    Tests,
    /// PostgreSQL's defaults: `fsync=on`, `synchronous_commit=on` (benchmarks).
    Durable,
}

/// TLS for a cluster ([`Cluster::start_with`]): the server's certificate and key (PEM).
/// The server then accepts TLS connections only (`hostssl` in `pg_hba.conf`, plain
/// connections rejected).
#[derive(Debug, Clone)]
pub struct Tls {
    /// The server certificate.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
}

/// Certificates made for a test with the `openssl` command line tool (Debian's `openssl`,
/// which the `postgresql` package pulls in): a CA, a server certificate it signed for
/// `127.0.0.1` and `localhost`, and a second, unrelated CA.
#[derive(Debug, Clone)]
pub struct TestCertificates {
    /// The CA that signed the server certificate (a client's `sslrootcert`).
    pub ca: PathBuf,
    /// A CA that signed nothing here (a wrong `sslrootcert`).
    pub other_ca: PathBuf,
    /// The server's certificate and key.
    pub server: Tls,
}

/// Makes [`TestCertificates`] in `dir` (EC P-256 keys, valid for two days).
///
/// # Errors
/// openssl's output when a step fails (or when it is not installed).
pub fn test_certificates(dir: &Path) -> Result<TestCertificates, String> {
    let openssl = |what: &str, args: &[&str]| {
        check(
            what,
            Command::new("openssl").current_dir(dir).args(args).output(),
        )
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    for (name, cn) in [
        ("ca", "Gatehouse test CA"),
        ("other-ca", "Unrelated test CA"),
    ] {
        let key = format!("{name}.key");
        let crt = format!("{name}.crt");
        let subj = format!("/CN={cn}");
        let mut args = vec!["req", "-x509"];
        args.extend(ec);
        args.extend([
            "-keyout",
            &key,
            "-out",
            &crt,
            "-days",
            "2",
            "-subj",
            &subj,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(&format!("openssl: {name}"), &args)?;
    }
    let mut args = vec!["req"];
    args.extend(ec);
    args.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    openssl("openssl: server key", &args)?;
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName = IP:127.0.0.1, DNS:localhost\nbasicConstraints = CA:FALSE\n\
         keyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\n",
    )
    .map_err(|e| e.to_string())?;
    openssl(
        "openssl: sign the server certificate",
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.crt",
        ],
    )?;
    Ok(TestCertificates {
        ca: dir.join("ca.crt"),
        other_ca: dir.join("other-ca.crt"),
        server: Tls {
            cert: dir.join("server.crt"),
            key: dir.join("server.key"),
        },
    })
}

/// A running throwaway cluster.
#[derive(Debug)]
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    password: String,
    run_as: Option<String>,
    watchdog: Mutex<Option<Child>>,
    databases: AtomicU32,
}

static SHARED: OnceLock<Option<Cluster>> = OnceLock::new();

/// The cluster of this test process (started at first use), or `None` after
/// [`require`] said loudly that `test` is left out.
///
/// # Panics
/// When PostgreSQL is present but the cluster cannot start.
pub fn shared(test: &str) -> Option<&'static Cluster> {
    let bin = require(Piece::Postgres, test)?;
    SHARED
        .get_or_init(|| Some(Cluster::start(&bin, Durability::Tests).expect("start PostgreSQL")))
        .as_ref()
}

/// A fresh, empty database on the shared cluster: its URL (with the password).
pub fn fresh_database(test: &str) -> Option<String> {
    let cluster = shared(test)?;
    Some(cluster.create_database().expect("create database"))
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// uid and gid of a system user, from /etc/passwd.
fn user_ids(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&name) && fields.len() > 3)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
            .flatten()
    })
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn check(what: &str, output: std::io::Result<std::process::Output>) -> Result<(), String> {
    let output = output.map_err(|e| format!("{what}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

impl Cluster {
    /// initdb + pg_ctl start from the binaries in `bin`, into a new temporary directory.
    ///
    /// # Errors
    /// A message with the failing step's output.
    pub fn start(bin: &Path, durability: Durability) -> Result<Self, String> {
        Self::start_with(bin, durability, None)
    }

    /// As [`Cluster::start`]; with `tls`, `ssl=on` with that certificate and only TLS
    /// connections accepted over TCP.
    ///
    /// # Errors
    /// A message with the failing step's output.
    pub fn start_with(
        bin: &Path,
        durability: Durability,
        tls: Option<&Tls>,
    ) -> Result<Self, String> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let run_as = running_as_root().then(|| "postgres".to_owned());
        let dir = std::env::temp_dir().join(format!(
            "gatehouse-pg-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        // A password nobody guesses (std's per-process random hash keys).
        let password = {
            use std::hash::{BuildHasher as _, Hasher as _};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u32(std::process::id());
            format!("pw{:016x}", h.finish())
        };
        std::fs::write(dir.join("pwfile"), format!("{password}\n")).map_err(|e| e.to_string())?;
        if let Some(user) = &run_as {
            if user_ids(user).is_none() {
                check(
                    "useradd postgres",
                    Command::new("useradd")
                        .args(["--system", "--user-group", "--no-create-home", user])
                        .output(),
                )?;
            }
            let (uid, gid) = user_ids(user).ok_or("no postgres user")?;
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(|e| e.to_string())?;
            std::os::unix::fs::chown(dir.join("pwfile"), Some(uid), Some(gid))
                .map_err(|e| e.to_string())?;
        }
        let mut cluster = Self {
            bin: bin.to_owned(),
            dir,
            port: 0,
            password,
            run_as,
            watchdog: Mutex::new(None),
            databases: AtomicU32::new(0),
        };
        let data = cluster.dir.join("data");
        check(
            "initdb",
            cluster
                .tool("initdb")
                .arg("-D")
                .arg(&data)
                .args([
                    "-U",
                    USER,
                    "-A",
                    "scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ])
                .arg("--no-sync")
                .arg(format!("--pwfile={}", cluster.dir.join("pwfile").display()))
                .output(),
        )?;
        let fsync = match durability {
            Durability::Tests => "-c fsync=off -c synchronous_commit=on -c full_page_writes=off",
            Durability::Durable => "-c fsync=on -c synchronous_commit=on",
        };
        let ssl = match tls {
            Some(tls) => {
                cluster.install_tls(&data, tls)?;
                " -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key"
            }
            None => "",
        };
        let mut last = String::new();
        for _ in 0..5 {
            cluster.port = free_port().map_err(|e| e.to_string())?;
            let options = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300 {fsync}{ssl}",
                cluster.port,
                cluster.dir.display()
            );
            let started = check(
                "pg_ctl start",
                cluster
                    .tool("pg_ctl")
                    .arg("-D")
                    .arg(&data)
                    .arg("-l")
                    .arg(cluster.dir.join("log"))
                    .args(["-w", "-t", "60", "-o", &options, "start"])
                    .output(),
            );
            match started {
                Ok(()) => {
                    cluster.arm_watchdog()?;
                    return Ok(cluster);
                }
                Err(e) => last = e, // most likely the port was taken meanwhile
            }
        }
        Err(last)
    }

    /// The server's certificate and key into the data directory (owned by the server's user,
    /// the key private to it), and a `pg_hba.conf` that takes TCP connections over TLS only.
    fn install_tls(&self, data: &Path, tls: &Tls) -> Result<(), String> {
        use std::os::unix::fs::PermissionsExt as _;
        for (from, to) in [(&tls.cert, "server.crt"), (&tls.key, "server.key")] {
            let to = data.join(to);
            std::fs::copy(from, &to).map_err(|e| format!("{}: {e}", from.display()))?;
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| e.to_string())?;
            if let Some(user) = &self.run_as {
                let (uid, gid) = user_ids(user).ok_or("no postgres user")?;
                std::os::unix::fs::chown(&to, Some(uid), Some(gid)).map_err(|e| e.to_string())?;
            }
        }
        // initdb wrote the file as the server's user; rewriting it keeps the owner.
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all scram-sha-256\n\
             hostssl all all 127.0.0.1/32 scram-sha-256\n\
             hostnossl all all 127.0.0.1/32 reject\n",
        )
        .map_err(|e| format!("pg_hba.conf: {e}"))
    }

    /// A command for one of the server tools, as the user the cluster runs as.
    fn tool(&self, name: &str) -> Command {
        let path = self.bin.join(name);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    /// A shell that waits for this process's end (its stdin closes), then stops the server
    /// and deletes the directory.
    fn arm_watchdog(&self) -> Result<(), String> {
        let pg_ctl = format!(
            "{}{} -D '{}' stop -m immediate",
            self.run_as
                .as_ref()
                .map(|u| format!("runuser -u {u} -- "))
                .unwrap_or_default(),
            self.bin.join("pg_ctl").display(),
            self.dir.join("data").display()
        );
        let script = format!(
            "cat > /dev/null; {pg_ctl} > /dev/null 2>&1; rm -rf '{}'",
            self.dir.display()
        );
        let child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("watchdog: {e}"))?;
        *self.watchdog.lock().unwrap_or_else(|e| e.into_inner()) = Some(child);
        Ok(())
    }

    /// The loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's password (to check that it never shows up in logs).
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The URL of database `name`, with user and password.
    pub fn url(&self, name: &str) -> String {
        format!(
            "postgres://{USER}:{}@127.0.0.1:{}/{name}",
            self.password, self.port
        )
    }

    /// Runs SQL as the superuser on database `db` with `psql`.
    ///
    /// # Errors
    /// psql's output when it fails.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let output = Command::new(self.bin.join("psql"))
            .args([
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
            ])
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                USER,
                "-d",
                db,
                "-c",
                sql,
            ])
            .env("PGPASSWORD", &self.password)
            .output()
            .map_err(|e| format!("psql: {e}"))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
        } else {
            Err(format!(
                "psql {sql}: {}",
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    /// Creates a new empty database and returns its URL.
    ///
    /// # Errors
    /// psql's output when it fails.
    pub fn create_database(&self) -> Result<String, String> {
        let name = format!("gh_{}", self.databases.fetch_add(1, Ordering::Relaxed));
        self.psql("postgres", &format!("CREATE DATABASE {name}"))?;
        Ok(self.url(&name))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let mut watchdog = self.watchdog.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mut child) = watchdog.take() {
            // Closing its stdin makes it stop the server and delete the directory.
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.flush();
            }
            let _ = child.wait();
        }
    }
}
