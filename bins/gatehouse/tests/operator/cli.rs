//! `gatehouse user …` and `gatehouse client …`.

use serde_json::Value;

use crate::harness::{both, Backend, Env};

fn session_clients(user: &Value) -> Vec<String> {
    user["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .map(|s| s["client_id"].as_str().unwrap_or("-").to_owned())
        .collect()
}

both!(user_show_lockout_unlock_end_sessions_remove, |env: Env| {
    let server = env.serve(&[]);
    let alice = server.token("alice", "alice-password-1");
    server.browser_sign_in("alice", "alice-password-1");
    for _ in 0..5 {
        assert_eq!(server.login("bob", "wrong").status, 400);
    }
    assert_eq!(
        server.login("bob", "bob-password-1").status,
        429,
        "bob locked"
    );

    // What an operator sees: legacy ids, the live session (client, grant, times), the
    // browser session; bob's account locked.
    let shown = env.json(&["user", "show", "alice"]);
    assert_eq!(shown["user"]["user_name"], "alice");
    assert_eq!(shown["user"]["operator"], true);
    assert_eq!(shown["member"]["member_id"], "1234");
    assert_eq!(shown["member"]["sub_accounts"], serde_json::json!([8, 9]));
    assert_eq!(shown["trading_accounts"][0]["account"], "TA-1001");
    assert_eq!(session_clients(&shown), ["demo-client"]);
    let session = &shown["sessions"][0];
    assert_eq!(session["grant"], "password");
    assert_eq!(session["caller_ip"], "127.0.0.1");
    assert!(session["created_at"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    assert!(session["last_used_at"].is_string());
    assert_eq!(shown["browser_sessions"].as_array().map(Vec::len), Some(1));
    let text = serde_json::to_string(&shown).expect("json");
    assert!(
        !text.contains("pbkdf2") && !text.contains("password_hash"),
        "{text}"
    );
    let bob = env.json(&["user", "show", "bob"]);
    let lock = &bob["lockouts"][0];
    assert_eq!(lock["key"], "user:bob");
    assert_eq!(lock["locked"], true);
    assert_eq!(lock["failures"], 5);
    let readable = env.run(&["user", "show", "bob"]).expect(0);
    assert!(
        readable.contains("user:bob") && readable.contains("LOCKED until"),
        "{readable}"
    );

    // Unlock: the account, and the address the failures came from (locked for every
    // account); bob logs in again at once.
    let out = env.run(&["user", "unlock", "bob"]).expect(0);
    assert!(out.contains("user:bob"), "{out}");
    assert_eq!(
        server.login("bob", "bob-password-1").status,
        429,
        "the address is locked"
    );
    let out = env
        .run(&["user", "unlock", "bob", "--address", "127.0.0.1"])
        .expect(0);
    assert_eq!(out.trim(), "bob: failed logins forgotten for ip:127.0.0.1");
    assert_eq!(server.login("bob", "bob-password-1").status, 200);
    assert_eq!(
        env.json(&["user", "show", "bob"])["lockouts"],
        serde_json::json!([])
    );

    // end-sessions: alice's token and browser session end; bob's token lives.
    let bob_token = server.token("bob", "bob-password-1");
    let out = env.run(&["user", "end-sessions", "alice"]).expect(0);
    assert!(out.starts_with("2 sessions of alice ended"), "{out}");
    assert!(!server.active(&alice));
    assert!(server.active(&bob_token));
    let shown = env.json(&["user", "show", "alice"]);
    assert_eq!(shown["sessions"], serde_json::json!([]));
    assert_eq!(shown["browser_sessions"], serde_json::json!([]));

    // remove: refused (4) while bob has a live session, nothing changed; --yes removes.
    let refused = env.run(&["user", "remove", "bob"]);
    refused.expect(4);
    assert!(refused.stderr().contains("--yes"), "{}", refused.stderr());
    assert!(server.active(&bob_token));
    env.run(&["user", "remove", "bob", "--yes"]).expect(0);
    assert!(!server.active(&bob_token));
    assert_eq!(server.login("bob", "bob-password-1").status, 400);
    env.run(&["user", "show", "bob"]).expect(3);
    // A user without live sessions goes without --yes.
    env.run(&["user", "remove", "alice"]).expect(0);
    let listed = env.json(&["user", "list"]);
    assert_eq!(listed, serde_json::json!([]));
});

both!(
    user_list_filter_disable_enable_and_exit_statuses,
    |env: Env| {
        env.run(&["import", "/dev/null"]).expect(1);
        let server = env.serve(&[]);
        env.run_with(
            &[
                "user",
                "add",
                "carol",
                "--name",
                "Carol Smith",
                "--email",
                "cs@example.org",
            ],
            "carol-password-1\n",
            &[],
        )
        .expect(0);
        let all = env.json(&["user", "list"]);
        let names: Vec<&str> = all
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|u| u["user_name"].as_str())
            .collect();
        assert_eq!(names, ["alice", "bob", "carol"]);
        for filter in ["SMITH", "example.org", "aro"] {
            let some = env.json(&["user", "list", "--filter", filter]);
            assert_eq!(some.as_array().map(Vec::len), Some(1), "{filter}: {some}");
            assert_eq!(some[0]["user_name"], "carol");
        }
        let table = env.run(&["user", "list"]).expect(0);
        assert!(
            table.lines().count() == 4 && table.contains("operator,editor"),
            "{table}"
        );

        let token = server.token("carol", "carol-password-1");
        env.run(&["user", "disable", "carol"]).expect(0);
        assert!(!server.active(&token));
        assert_eq!(
            env.json(&["user", "show", "carol"])["user"]["disabled"],
            true
        );
        env.run(&["user", "enable", "carol"]).expect(0);
        assert!(!server.active(&token), "enabling revives nothing");
        assert_eq!(server.login("carol", "carol-password-1").status, 200);

        // Statuses a script relies on.
        for args in [
            &["user", "show", "nobody"][..],
            &["user", "enable", "nobody"],
            &["user", "unlock", "nobody"],
            &["user", "end-sessions", "nobody"],
            &["user", "remove", "nobody", "--yes"],
            &["client", "show", "nobody"],
            &["client", "remove", "nobody"],
            &["client", "update", "nobody", "--scope", "x"],
        ] {
            let run = env.run(args);
            assert_eq!(run.code(), 3, "{args:?}: {}", run.stderr());
            assert!(
                run.stderr().starts_with("gatehouse: not found: "),
                "{}",
                run.stderr()
            );
        }
        env.run_with(&["user", "add", "CAROL"], "x\n", &[])
            .expect(4);
        env.run(&["user", "show"]).expect(2);
        env.run(&["user", "unlock", "carol", "--address", "not-an-ip"])
            .expect(2);
    }
);

both!(client_list_show_update_remove, |env: Env| {
    let server = env.serve(&[]);
    let added = env.run(&[
        "client",
        "add",
        "reports",
        "--grants",
        "client_credentials",
        "--scope",
        "api",
    ]);
    let secret = added.expect(0).trim().to_owned();
    let token_of = |scope: &str| {
        let res = server.send(
            gatehouse_tests::Request::post("/api/v1/auth/token")
                .basic("reports", &secret)
                .form(&format!("grant_type=client_credentials&scope={scope}")),
        );
        (res.status, res.json())
    };
    let (status, body) = token_of("api");
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().expect("token").to_owned();
    assert!(server.active(&token));
    let (status, _) = token_of("reports");
    assert_eq!(status, 400, "scope not yet granted");

    let listed = env.json(&["client", "list"]);
    let ids: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|c| c["client_id"].as_str())
        .collect();
    assert_eq!(ids, ["demo-api", "demo-client", "demo-public", "reports"]);
    let text = serde_json::to_string(&listed).expect("json");
    assert!(
        !text.contains("hmac-sha256") && !text.contains(&secret),
        "{text}"
    );

    // update: the options of add; each given one replaces, the rest stay.
    env.run(&[
        "client",
        "update",
        "reports",
        "--scope",
        "api reports",
        "--name",
        "Reports",
        "--introspect-any",
    ])
    .expect(0);
    let shown = env.json(&["client", "show", "reports"]);
    assert_eq!(shown["scope"], "api reports");
    assert_eq!(shown["name"], "Reports");
    assert_eq!(shown["introspect_any"], true);
    assert_eq!(shown["grants"], serde_json::json!(["client_credentials"]));
    assert_eq!(shown["confidential"], true);
    assert_eq!(
        token_of("reports").0,
        200,
        "the new scope is granted, same secret"
    );
    assert!(server.active(&token), "an update keeps live tokens");
    env.run(&["client", "update", "reports", "--introspect-any=false"])
        .expect(0);
    assert_eq!(
        env.json(&["client", "show", "reports"])["introspect_any"],
        false
    );

    // The validation of add, once: a bad value changes nothing (5).
    for bad in [
        &[
            "client",
            "update",
            "reports",
            "--redirect-uri",
            "http://evil.example/cb",
        ][..],
        &["client", "update", "reports", "--grants", "password,magic"],
        &[
            "client",
            "update",
            "reports",
            "--access-token-format",
            "xml",
        ],
        &["client", "update", "reports", "--audience", "two words"],
        &[
            "client",
            "add",
            "other",
            "--redirect-uri",
            "http://evil.example/cb",
        ],
    ] {
        env.run(bad).expect(5);
    }
    assert_eq!(env.json(&["client", "show", "reports"]), {
        let mut expected = shown.clone();
        expected["introspect_any"] = false.into();
        expected
    });
    env.run(&["client", "show", "other"]).expect(3);
    env.run(&["client", "add", "reports"]).expect(4);

    // remove: its tokens end at once; other clients' live on.
    let alice = server.token("alice", "alice-password-1");
    env.run(&["client", "remove", "reports"]).expect(0);
    assert!(!server.active(&token));
    assert!(server.active(&alice));
    assert_eq!(token_of("api").0, 401);
    env.run(&["client", "show", "reports"]).expect(3);

    // Removing the client of a user's sessions ends them too.
    let public = server
        .send(gatehouse_tests::Request::post("/api/v1/auth/token").form(
            "grant_type=password&username=bob&password=bob-password-1&client_id=demo-public",
        ));
    assert_eq!(public.status, 200, "{}", public.text());
    let bob = public.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert!(server.active(&bob));
    env.run(&["client", "remove", "demo-public"]).expect(0);
    assert!(!server.active(&bob));
    assert!(server.active(&alice));
    assert_eq!(
        env.json(&["user", "show", "bob"])["sessions"],
        serde_json::json!([])
    );
});

#[test]
fn every_subcommand_help_shows_an_example() {
    let help = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(args)
            .arg("--help")
            .output()
            .expect("help");
        assert!(out.status.success(), "{args:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let commands = |text: &str| -> Vec<String> {
        text.split("Commands:\n")
            .nth(1)
            .unwrap_or_default()
            .lines()
            .take_while(|l| l.starts_with("  "))
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .filter(|c| c != "help")
            .collect()
    };
    let top = help(&[]);
    let mut checked = 0;
    for command in commands(&top) {
        let text = help(&[&command]);
        let subs = commands(&text);
        if subs.is_empty() {
            assert!(
                text.contains("Example"),
                "gatehouse {command} --help: {text}"
            );
            checked += 1;
        }
        for sub in subs {
            let text = help(&[&command, &sub]);
            assert!(text.contains("Example"), "gatehouse {command} {sub} --help");
            assert!(
                text.contains(&format!("gatehouse {command} {sub}")),
                "{command} {sub}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked} subcommands");
}

// A private_key_jwt-only client (keys, no secret) can be updated, stays keys-only and keeps its
// keys; an update that would give a client a user's id as its JWT subject is refused.
both!(
    client_update_keeps_a_keys_only_client_and_its_keys,
    |env: Env| {
        let _server = env.serve(&[]);
        let private: Value = serde_json::from_str(include_str!(
            "../../../../docs/demo/demo-client-private-key.json"
        ))
        .expect("the demo key");
        let mut public = private.clone();
        public.as_object_mut().expect("a JWK").remove("d");
        let jwks = env.path("keys.json");
        std::fs::write(&jwks, serde_json::json!({ "keys": [public] }).to_string()).expect("write");
        let jwks = jwks.to_str().expect("utf-8");
        env.run(&[
            "client",
            "add",
            "keyed",
            "--grants",
            "client_credentials",
            "--scope",
            "api",
            "--jwks",
            jwks,
            "--keys-only",
        ])
        .expect(0);
        env.run(&["client", "update", "keyed", "--scope", "api reports"])
            .expect(0);
        let shown = env.json(&["client", "show", "keyed"]);
        assert_eq!(shown["scope"], "api reports", "{shown}");
        let text = shown.to_string();
        assert!(!text.contains("hmac-sha256"), "still no secret: {text}");
        // Still keys-only: its keys cannot be cleared (that would make it a public client).
        let cleared = env.run(&["client", "set-jwks", "keyed", "--clear"]);
        assert_ne!(cleared.code(), 0, "a keys-only client kept its keys");
    }
);
