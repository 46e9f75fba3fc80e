//! The settings layers on the real binary: defaults < config file < `GATEHOUSE_*`
//! environment < flags, read by the subcommands as by `serve`, and no layer prints the
//! database password.

use std::path::Path;
use std::process::{Command, Output};

/// `gatehouse ARGS` in `dir` with only `env` for environment (nothing inherited).
fn gatehouse(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .expect("gatehouse runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn file_then_environment_then_flag() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("custom.toml"),
        "database = \"from-file.db\"\ncode_lifetime = 0\n",
    )
    .expect("config file");
    let config = ["--config", "custom.toml"];
    // The file's code_lifetime = 0 is refused: the file is read.
    let out = gatehouse(dir.path(), &[], &[&config[..], &["migrate"]].concat());
    assert!(!out.status.success());
    assert!(
        text(&out).contains("code-lifetime must be a positive"),
        "{}",
        text(&out)
    );
    // The environment overrides the file; the database comes from the file.
    let env = [("GATEHOUSE_CODE_LIFETIME", "30")];
    let out = gatehouse(dir.path(), &env, &[&config[..], &["migrate"]].concat());
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("from-file.db: schema up to date"),
        "{}",
        text(&out)
    );
    assert!(dir.path().join("from-file.db").exists());
    // A flag overrides the environment, before or after the subcommand.
    let out = gatehouse(
        dir.path(),
        &env,
        &[&config[..], &["migrate", "--code-lifetime", "0"]].concat(),
    );
    assert!(
        text(&out).contains("code-lifetime must be a positive"),
        "{}",
        text(&out)
    );
    let env = [
        ("GATEHOUSE_CODE_LIFETIME", "30"),
        ("GATEHOUSE_DATABASE", "from-env.db"),
        ("GATEHOUSE_CONFIG", "custom.toml"),
    ];
    let out = gatehouse(dir.path(), &env, &["migrate"]);
    assert!(
        text(&out).contains("from-env.db: schema up to date"),
        "{}",
        text(&out)
    );
    let out = gatehouse(dir.path(), &env, &["--database", "from-flag.db", "migrate"]);
    assert!(
        text(&out).contains("from-flag.db: schema up to date"),
        "{}",
        text(&out)
    );
    let out = gatehouse(dir.path(), &env, &["migrate", "--database", "after.db"]);
    assert!(
        text(&out).contains("after.db: schema up to date"),
        "{}",
        text(&out)
    );
}

#[test]
fn the_default_config_file_serves_every_subcommand() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Without a config file: the default database.
    let out = gatehouse(dir.path(), &[], &["migrate"]);
    assert!(
        text(&out).contains("gatehouse.db: schema up to date"),
        "{}",
        text(&out)
    );
    std::fs::write(dir.path().join("kek"), "11".repeat(32)).expect("kek");
    std::fs::write(
        dir.path().join("gatehouse.toml"),
        "database = \"admin.db\"\nkey_encryption_key_file = \"kek\"\nhash_iterations = 1000\n",
    )
    .expect("config file");
    let out = gatehouse(
        dir.path(),
        &[],
        &["client", "add", "app", "--grants", "client_credentials"],
    );
    assert!(out.status.success(), "{}", text(&out));
    // A KEK file its group or others may read is refused, as SSH refuses such a key (issue
    // 19 item 12); once it is the owner's alone, it is used.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let kek = dir.path().join("kek");
        std::fs::set_permissions(&kek, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let out = gatehouse(dir.path(), &[], &["keys", "rotate", "--alg", "ES256"]);
        assert!(!out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("chmod 600"), "{}", text(&out));
        std::fs::set_permissions(&kek, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let out = gatehouse(dir.path(), &[], &["keys", "rotate", "--alg", "ES256"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = gatehouse(dir.path(), &[], &["keys", "list"]);
    assert!(text(&out).contains("ES256"), "{}", text(&out));
    // All of it went to the file's database.
    let out = gatehouse(
        dir.path(),
        &[],
        &["--database", "gatehouse.db", "keys", "list"],
    );
    assert!(
        out.status.success() && !text(&out).contains("ES256"),
        "{}",
        text(&out)
    );
    let out = gatehouse(
        dir.path(),
        &[],
        &[
            "--database",
            "gatehouse.db",
            "client",
            "rotate-secret",
            "app",
        ],
    );
    assert!(!out.status.success(), "{}", text(&out));
    let out = gatehouse(dir.path(), &[], &["client", "rotate-secret", "app"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn no_layer_prints_the_database_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = "postgres://gh:Sup3rSecret@127.0.0.1:1/gatehouse";
    for (env, args) in [
        (vec![("GATEHOUSE_DATABASE", url)], vec!["migrate"]),
        (vec![], vec!["--database", url, "migrate"]),
        (vec![("GATEHOUSE_DATABASE", url)], vec!["serve", "--help"]),
        (
            vec![],
            vec!["--database", "mysql://gh:Sup3rSecret@db/x", "migrate"],
        ),
        (
            vec![("GATEHOUSE_LOG", "trace")],
            vec!["--database", url, "serve"],
        ),
    ] {
        let out = gatehouse(dir.path(), &env, &args);
        let shown = text(&out);
        assert!(!shown.contains("Sup3rSecret"), "{args:?}: {shown}");
        if !args.contains(&"--help") {
            assert!(!out.status.success(), "{args:?}: {shown}");
        }
    }
}

/// Every flag, variable and file key of the settings tables in docs/operations.md and
/// docs/deploy.md is one setting of [`Settings`]: same name in all three, known to clap
/// and to the file.
#[test]
fn the_documented_settings_are_the_settings() {
    use gatehouse::config::Settings;
    let cmd = Settings::augment(clap::Command::new("gatehouse"));
    let keys = toml::Value::try_from(Settings {
        database_sslmode: Some("prefer".into()),
        windows_auth_header: Some("X".into()),
        v1_default_client: Some("c".into()),
        metrics_bind: Some("127.0.0.1:1".parse().expect("addr")),
        admin_bind: Some("127.0.0.1:2".parse().expect("addr")),
        admin_url: Some("https://admin.example".into()),
        issuer: Some("https://x".into()),
        key_encryption_key_file: Some("k".into()),
        katana_machine_key: Some("m".into()),
        legacy_upstream: Some("https://legacy.example".into()),
        pushed_authorization_requests: Some(gatehouse::config::ParSetting::On),
        dpop: Some(gatehouse::config::OnOff::On),
        audit_log: Some("a".into()),
        otlp_endpoint: Some("http://127.0.0.1:4318".into()),
        ..Settings::default()
    })
    .expect("serializes");
    let mut seen = 0;
    for doc in ["operations.md", "deploy.md"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs")
            .join(doc);
        let text = std::fs::read_to_string(&path).expect("doc");
        for row in text.lines().filter(|l| l.starts_with("| `--")) {
            let cells: Vec<&str> = row.split(" | ").collect();
            let flag = cells[0]
                .trim_start_matches("| `--")
                .split([' ', '`'])
                .next();
            let flag = flag.expect("flag");
            let env = cells[1].trim_matches('`');
            let key = cells[2].trim_matches('`');
            if env.ends_with('…') {
                continue; // a row summing up rows of another table
            }
            let arg = cmd
                .get_arguments()
                .find(|a| a.get_long() == Some(flag))
                .unwrap_or_else(|| panic!("--{flag} of {doc} is no setting"));
            assert_eq!(arg.get_env().and_then(|e| e.to_str()), Some(env), "{row}");
            assert_eq!(key, arg.get_id().as_str(), "{row}");
            assert!(keys.get(key).is_some(), "{key} is no file key");
            seen += 1;
        }
    }
    assert!(seen >= 30, "{seen} documented settings");
}
