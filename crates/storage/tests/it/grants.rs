//! Grant rules, driving the domain service over real SQLite with a mock clock.

use std::collections::BTreeMap;
use std::net::IpAddr;

use gatehouse_domain::import::ImportDocument;
use gatehouse_domain::model::{GrantSet, UserFlags};
use gatehouse_domain::secret::Secret;
use gatehouse_domain::store::Store;
use gatehouse_domain::{
    ClientAuth, Config, Error, GrantKind, GrantRejection, MemberGrant, OneTimeIssuer,
    OneTimeRequest, TokenKind, WindowsGrant,
};
use gatehouse_domain::{ClientSecretSpec, ClientSpec, UserSpec};
use time::Duration;
use uuid::Uuid;

use crate::support::{
    demo_client, fx, fx_with, password, public_client, v1_password, TEST_ITERATIONS,
};

const BROKER: &str = "3be9edf1-5491-4d5c-a5c6-423218dfb6cc";

fn broker() -> Uuid {
    Uuid::parse_str(BROKER).expect("broker id")
}

fn stored_hash(fx: &crate::support::Fx, name: &str) -> String {
    let name = name.to_owned();
    fx.store
        .read(move |tx| tx.user_by_name(&name))
        .expect("read")
        .expect("user")
        .password_hash
}

// ----- password grant -------------------------------------------------------------------

fn katana_password_grant_issues_a_session_and_a_token() {
    let fx = fx();
    let grant = gatehouse_domain::PasswordGrant {
        client_key: Some("ck-1".to_owned()),
        caller_ip: Some("192.0.2.7".parse().expect("ip")),
        ..password("ALICE", "alice-password-1")
    };
    let issued = fx.gh.password_grant(grant).expect("login");
    assert_eq!(issued.expires_in, Duration::minutes(20));
    assert!(issued.refresh_token.is_none(), "katana: no refresh token");
    assert_eq!(issued.client_key.as_deref(), Some("ck-1"));
    let user = issued.user.clone().expect("user");
    assert_eq!(user.user_name, "alice");
    assert_eq!(user.id.to_string(), "a11ce000-0000-4000-8000-000000000001");
    assert!(user.flags.editor);
    let info = fx
        .gh
        .validate_access_token(issued.access_token.expose())
        .expect("valid");
    assert_eq!(info.session_id, issued.session_id);
    assert_eq!(info.kind, TokenKind::Access);
    let session = fx
        .store
        .read(move |tx| tx.session(issued.session_id))
        .expect("read")
        .expect("session");
    assert_eq!(session.caller_ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(session.client_key.as_deref(), Some("ck-1"));
    let shown = format!(
        "{:?}",
        fx.gh.password_grant(password("alice", "alice-password-1"))
    );
    assert!(!shown.contains("alice-password-1"));
}

fn v1_password_grant_with_clients() {
    let fx = fx();
    let issued = fx
        .gh
        .password_grant(v1_password("alice", "alice-password-1"))
        .expect("login");
    assert!(issued.refresh_token.is_some());
    assert_eq!(issued.refresh_expires_in, Some(Duration::days(30)));
    assert_eq!(issued.scope, "openid profile");
    assert_eq!(
        issued.redirect_url.as_deref(),
        Some("https://app.example/callback")
    );
    // A narrower scope is fine, a wider one is not.
    let narrow = fx
        .gh
        .password_grant(gatehouse_domain::PasswordGrant {
            scope: Some("profile".to_owned()),
            ..v1_password("alice", "alice-password-1")
        })
        .expect("narrow");
    assert_eq!(narrow.scope, "profile");
    let wide = fx.gh.password_grant(gatehouse_domain::PasswordGrant {
        scope: Some("openid admin".to_owned()),
        ..v1_password("alice", "alice-password-1")
    });
    assert!(matches!(wide, Err(Error::InvalidScope)), "{wide:?}");
    // The public client needs no secret and gets a refresh token.
    let public = fx
        .gh
        .password_grant(gatehouse_domain::PasswordGrant {
            client: Some(public_client()),
            ..v1_password("bob", "bob-password-1")
        })
        .expect("public client");
    assert!(public.refresh_token.is_some());
}

fn client_authentication_rules() {
    let fx = fx();
    let wrong = fx
        .gh
        .authenticate_client(&ClientAuth::new("demo-client", Some(Secret::new("wrong"))));
    assert!(matches!(wrong, Err(Error::InvalidClient)));
    let missing = fx
        .gh
        .authenticate_client(&ClientAuth::new("demo-client", None));
    assert!(matches!(missing, Err(Error::InvalidClient)));
    let unknown = fx.gh.authenticate_client(&ClientAuth::new("nobody", None));
    assert!(matches!(unknown, Err(Error::InvalidClient)));
    let empty = fx.gh.authenticate_client(&ClientAuth::new("", None));
    assert!(matches!(empty, Err(Error::InvalidClient)));
    // Basic: the header's candidates, raw first, then URL-decoded (what the Rust oauth2
    // crate sends); the domain decodes nothing itself.
    let basic = |pairs: &[(&str, &str)]| {
        ClientAuth::basic(
            pairs
                .iter()
                .map(|(id, secret)| ((*id).to_owned(), (*secret).to_owned())),
        )
    };
    assert_eq!(
        fx.gh
            .authenticate_client(&basic(&[("demo-client", "demo-secret")]))
            .map(|c| c.client_id)
            .ok()
            .as_deref(),
        Some("demo-client")
    );
    assert_eq!(
        fx.gh
            .authenticate_client(&basic(&[
                ("demo%2Dclient", "demo%2Dsecret"),
                ("demo-client", "demo-secret"),
            ]))
            .map(|c| c.client_id)
            .ok()
            .as_deref(),
        Some("demo-client")
    );
    assert!(matches!(
        fx.gh
            .authenticate_client(&basic(&[("demo%2Dclient", "demo%2Dsecret")])),
        Err(Error::InvalidClient)
    ));
    // A client that exists but lacks the password grant.
    fx.gh
        .add_client(ClientSpec {
            client_id: "machine".to_owned(),
            secret: ClientSecretSpec::Generate,
            grants: vec!["client_credentials".to_owned()],
            ..ClientSpec::default()
        })
        .expect("client");
    let secret = fx.gh.rotate_client_secret("machine").expect("rotate");
    let denied = fx.gh.password_grant(gatehouse_domain::PasswordGrant {
        client: Some(ClientAuth::new("machine", Some(secret))),
        ..password("alice", "alice-password-1")
    });
    assert!(
        matches!(denied, Err(Error::UnauthorizedClient)),
        "{denied:?}"
    );
    // The wrong client fails before any password is hashed.
    let before = fx.gh.hasher().hash_invocations();
    let bad = fx.gh.password_grant(gatehouse_domain::PasswordGrant {
        client: Some(ClientAuth::new("demo-client", Some(Secret::new("nope")))),
        ..password("alice", "alice-password-1")
    });
    assert!(matches!(bad, Err(Error::InvalidClient)));
    assert_eq!(fx.gh.hasher().hash_invocations(), before);
}

fn wrong_password_and_unknown_user_look_the_same_and_cost_a_hash() {
    let fx = fx();
    let h = || fx.gh.hasher().hash_invocations();
    let start = h();
    let wrong = fx.gh.password_grant(password("alice", "nope"));
    assert!(matches!(wrong, Err(Error::InvalidCredentials)), "{wrong:?}");
    assert_eq!(h(), start + 1);
    let unknown = fx.gh.password_grant(password("mallory", "nope"));
    assert!(
        matches!(unknown, Err(Error::InvalidCredentials)),
        "{unknown:?}"
    );
    assert_eq!(h(), start + 2, "unknown user costs one (dummy) hash");
    assert_eq!(
        wrong.err().map(|e| e.to_string()),
        unknown.err().map(|e| e.to_string())
    );
}

fn disabled_user_is_refused_only_after_the_password_and_tokens_die() {
    let fx = fx();
    let before = fx
        .gh
        .password_grant(v1_password("bob", "bob-password-1"))
        .expect("login");
    fx.gh.set_user_disabled("bob", true).expect("disable");
    let wrong = fx.gh.password_grant(password("bob", "wrong"));
    assert!(matches!(wrong, Err(Error::InvalidCredentials)), "{wrong:?}");
    let right = fx.gh.password_grant(password("bob", "bob-password-1"));
    assert!(matches!(right, Err(Error::AccountDisabled)), "{right:?}");
    assert!(matches!(
        fx.gh.validate_access_token(before.access_token.expose()),
        Err(Error::InvalidToken)
    ));
    // Disabling ended the session: its refresh token is dead, and stays dead.
    let refresh = before.refresh_token.as_ref().expect("refresh").expose();
    assert!(matches!(
        fx.gh.refresh_grant(&demo_client(), refresh, None),
        Err(Error::InvalidGrant(GrantRejection::SessionEnded))
    ));
    let windows = fx.gh.windows_grant(WindowsGrant {
        user_name: "bob".to_owned(),
        client: None,
        client_key: None,
        caller_ip: None,
        scope: None,
        want_refresh: false,
        without_client: gatehouse_domain::WithoutClient::Scope(String::new()),
    });
    assert!(matches!(windows, Err(Error::AccountDisabled)));
    fx.gh.set_user_disabled("bob", false).expect("enable");
    assert!(fx
        .gh
        .password_grant(password("bob", "bob-password-1"))
        .is_ok());
    // Re-enabling does not revive the old session.
    assert!(matches!(
        fx.gh.validate_access_token(before.access_token.expose()),
        Err(Error::InvalidToken)
    ));
    assert!(matches!(
        fx.gh.refresh_grant(&demo_client(), refresh, None),
        Err(Error::InvalidGrant(GrantRejection::SessionEnded))
    ));
}

fn lockout_backs_off_without_hashing_and_expires() {
    let fx = fx();
    let h = || fx.gh.hasher().hash_invocations();
    for _ in 0..4 {
        assert!(matches!(
            fx.gh.password_grant(password("alice", "bad")),
            Err(Error::InvalidCredentials)
        ));
    }
    // The fifth failure locks for 1 s.
    assert!(matches!(
        fx.gh.password_grant(password("alice", "bad")),
        Err(Error::InvalidCredentials)
    ));
    let hashes = h();
    let locked = fx.gh.password_grant(password("Alice", "alice-password-1"));
    match &locked {
        Err(e @ Error::Locked { retry_after }) => {
            assert_eq!(*retry_after, Duration::seconds(1));
            assert_eq!(e.retry_after_secs(), Some(1));
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    assert_eq!(h(), hashes, "no hashing while locked");
    fx.clock.advance(Duration::seconds(1));
    // Sixth failure: 2 s.
    assert!(matches!(
        fx.gh.password_grant(password("alice", "bad")),
        Err(Error::InvalidCredentials)
    ));
    match fx.gh.password_grant(password("alice", "alice-password-1")) {
        Err(Error::Locked { retry_after }) => assert_eq!(retry_after, Duration::seconds(2)),
        other => panic!("expected Locked, got {other:?}"),
    }
    fx.clock.advance(Duration::milliseconds(1500));
    match fx.gh.password_grant(password("alice", "alice-password-1")) {
        Err(e @ Error::Locked { .. }) => assert_eq!(e.retry_after_secs(), Some(1)),
        other => panic!("expected Locked, got {other:?}"),
    }
    fx.clock.advance(Duration::milliseconds(500));
    // Expired: the right password works and clears the account's count.
    fx.gh
        .password_grant(password("alice", "alice-password-1"))
        .expect("login after the lock expired");
    let record = fx
        .store
        .read(|tx| tx.login_failure("user:alice"))
        .expect("read");
    assert!(record.is_none());
    // Member logins have their own account key; bob is unaffected throughout.
    assert!(fx
        .gh
        .password_grant(password("bob", "bob-password-1"))
        .is_ok());
}

fn lockout_per_address_and_persisted() {
    let fx = fx();
    let ip: IpAddr = "198.51.100.9".parse().expect("ip");
    for name in ["u1", "u2", "u3", "u4", "u5"] {
        let r = fx.gh.password_grant(gatehouse_domain::PasswordGrant {
            caller_ip: Some(ip),
            ..password(name, "guess")
        });
        assert!(matches!(r, Err(Error::InvalidCredentials)));
    }
    // Five different accounts from one address: the address is locked, even for alice.
    let r = fx.gh.password_grant(gatehouse_domain::PasswordGrant {
        caller_ip: Some(ip),
        ..password("alice", "alice-password-1")
    });
    assert!(matches!(r, Err(Error::Locked { .. })), "{r:?}");
    // Another address is fine.
    let other = fx.gh.password_grant(gatehouse_domain::PasswordGrant {
        caller_ip: Some("198.51.100.10".parse().expect("ip")),
        ..password("alice", "alice-password-1")
    });
    assert!(other.is_ok());
    // A restart does not reset it.
    let again = fx.reopen(TEST_ITERATIONS, Config::default());
    let r = again.password_grant(gatehouse_domain::PasswordGrant {
        caller_ip: Some(ip),
        ..password("alice", "alice-password-1")
    });
    assert!(matches!(r, Err(Error::Locked { .. })), "{r:?}");
    // Idle long enough, the count is forgotten.
    fx.clock.advance(Duration::hours(2));
    let r = again.password_grant(gatehouse_domain::PasswordGrant {
        caller_ip: Some(ip),
        ..password("nobody", "guess")
    });
    assert!(matches!(r, Err(Error::InvalidCredentials)));
    // Read beside `again`: the same database.
    let record = fx
        .store
        .read(|tx| tx.login_failure("ip:198.51.100.9"))
        .expect("read")
        .expect("record");
    assert_eq!(record.failures, 1);
    assert!(record.locked_until.is_none());
}

fn bad_secrets_at_introspection_lock_the_address() {
    let fx = fx();
    let ip: IpAddr = "203.0.113.40".parse().expect("ip");
    let alice = fx
        .gh
        .password_grant(v1_password("alice", "alice-password-1"))
        .expect("login");
    let token = alice.access_token.expose();
    let free = fx.gh.config().lockout.free_failures;
    let writes = || fx.store.write_stats().writes;
    for _ in 0..free {
        let guess = ClientAuth::new("demo-client", Some(Secret::new("guess"))).with_caller_ip(ip);
        // Introspection runs on an HTTP worker: it refuses without writing anything.
        let before = writes();
        assert!(matches!(
            fx.gh.introspect(&guess, token),
            Err(Error::InvalidClient)
        ));
        assert_eq!(writes(), before, "introspection wrote");
        // The server then counts the failure off the worker.
        fx.gh.count_failed_client(&guess);
    }
    let record = fx
        .store
        .read(|tx| tx.login_failure("ip:203.0.113.40"))
        .expect("read")
        .expect("the failures were counted");
    assert_eq!(record.failures, free);
    // The address is now throttled, even with the right secret; another address is not.
    assert!(matches!(
        fx.gh.introspect(&demo_client().with_caller_ip(ip), token),
        Err(Error::RateLimited { .. })
    ));
    let elsewhere = demo_client().with_caller_ip("203.0.113.41".parse().expect("ip"));
    assert!(fx
        .gh
        .introspect(&elsewhere, token)
        .expect("introspect")
        .is_some());
    // Credentials that authenticate count nothing (a public client refused at introspection
    // is no guess at a secret).
    let public = public_client().with_caller_ip(elsewhere_ip());
    assert!(matches!(
        fx.gh.introspect(&public, token),
        Err(Error::InvalidClient)
    ));
    fx.gh.count_failed_client(&public);
    assert!(fx
        .store
        .read(|tx| tx.login_failure("ip:203.0.113.42"))
        .expect("read")
        .is_none());
}

fn elsewhere_ip() -> IpAddr {
    "203.0.113.42".parse().expect("ip")
}

fn rehash_on_login_when_the_cost_changed() {
    let fx = fx();
    let old = stored_hash(&fx, "alice");
    assert!(
        old.starts_with(&format!("pbkdf2-sha256${TEST_ITERATIONS}$")),
        "{old}"
    );
    let stronger = fx.reopen(TEST_ITERATIONS * 2, Config::default());
    let before = stronger.hasher().hash_invocations();
    stronger
        .password_grant(password("alice", "alice-password-1"))
        .expect("login");
    assert_eq!(
        stronger.hasher().hash_invocations(),
        before + 2,
        "verify + rehash"
    );
    let new = stored_hash(&fx, "alice");
    assert!(
        new.starts_with(&format!("pbkdf2-sha256${}$", TEST_ITERATIONS * 2)),
        "{new}"
    );
    // Next login: no rehash.
    let before = stronger.hasher().hash_invocations();
    stronger
        .password_grant(password("alice", "alice-password-1"))
        .expect("login");
    assert_eq!(stronger.hasher().hash_invocations(), before + 1);
    assert_eq!(stored_hash(&fx, "alice"), new);
}

fn aspnet_identity_import_then_login_upgrades_the_hash() {
    let fx = fx();
    // Computed with Python's hashlib (see docs/import.md):
    // v3: 0x01, PRF 1 (HMAC-SHA256), 10000 iterations, salt 00..0f, password
    //     "legacy-password-3"; v2: 0x00, salt 64..73, PBKDF2-SHA1 1000, "legacy-password-2".
    let doc = ImportDocument::from_json(
        r#"{"users": [
            {"user_name": "carol", "password_hash":
             "aspnet-identity$AQAAAAEAACcQAAAAEAABAgMEBQYHCAkKCwwNDg8xR5/cuV1hbtaTAAcxEG5F1/6kwaBPcKfqya8uRZhh3A=="},
            {"user_name": "dave", "password_hash":
             "AGRlZmdoaWprbG1ub3BxcnMoJai+JkgG0Pwi5SPbhJIxx0Hmi9+jcPR4P8PU3RE/VA=="}
        ]}"#,
    )
    .expect("doc");
    let report = fx.gh.import(&doc).expect("import");
    assert_eq!((report.users, report.passwords_hashed), (2, 0));
    for (user, pw) in [
        ("carol", "legacy-password-3"),
        ("dave", "legacy-password-2"),
    ] {
        assert!(matches!(
            fx.gh.password_grant(password(user, "wrong")),
            Err(Error::InvalidCredentials)
        ));
        assert!(!stored_hash(&fx, user).starts_with("pbkdf2-sha256$"));
        fx.gh
            .password_grant(password(user, pw))
            .unwrap_or_else(|e| panic!("{user}: {e}"));
        let upgraded = stored_hash(&fx, user);
        assert!(
            upgraded.starts_with(&format!("pbkdf2-sha256${TEST_ITERATIONS}$")),
            "{user}: {upgraded}"
        );
        fx.gh
            .password_grant(password(user, pw))
            .expect("login with the new hash");
    }
}

// ----- tokens ---------------------------------------------------------------------------

fn access_tokens_expire_and_can_be_revoked() {
    let fx = fx();
    let issued = fx
        .gh
        .password_grant(v1_password("alice", "alice-password-1"))
        .expect("login");
    let token = issued.access_token.expose().to_owned();
    fx.clock.advance(Duration::minutes(19));
    assert!(fx.gh.validate_access_token(&token).is_ok());
    fx.clock.advance(Duration::minutes(1));
    assert!(matches!(
        fx.gh.validate_access_token(&token),
        Err(Error::InvalidToken)
    ));
    assert!(matches!(
        fx.gh.validate_access_token("garbage"),
        Err(Error::InvalidToken)
    ));
    let fresh = fx
        .gh
        .password_grant(v1_password("alice", "alice-password-1"))
        .expect("login");
    fx.gh
        .revoke(&demo_client(), fresh.access_token.expose())
        .expect("revoke");
    assert!(matches!(
        fx.gh.validate_access_token(fresh.access_token.expose()),
        Err(Error::InvalidToken)
    ));
    // The refresh token of that session still works (only the access token was revoked).
    let refresh = fresh.refresh_token.as_ref().expect("refresh").expose();
    assert!(fx.gh.refresh_grant(&demo_client(), refresh, None).is_ok());
}

fn refresh_rotates_and_reuse_ends_the_family() {
    let fx = fx();
    let first = fx
        .gh
        .password_grant(v1_password("alice", "alice-password-1"))
        .expect("login");
    let r1 = first
        .refresh_token
        .as_ref()
        .expect("refresh")
        .expose()
        .to_owned();
    fx.clock.advance(Duration::minutes(1));
    let second = fx
        .gh
        .refresh_grant(&demo_client(), &r1, Some("openid"))
        .expect("rotate");
    assert_eq!(second.session_id, first.session_id);
    assert_eq!(second.scope, "openid");
    assert_eq!(
        second.user.as_ref().map(|u| u.user_name.as_str()),
        Some("alice")
    );
    let r2 = second
        .refresh_token
        .as_ref()
        .expect("refresh")
        .expose()
        .to_owned();
    assert_ne!(r1, r2);
    // Scope cannot grow back beyond what the family has.
    assert!(matches!(
        fx.gh
            .refresh_grant(&demo_client(), &r2, Some("openid profile")),
        Err(Error::InvalidScope)
    ));
    // Another client cannot use it.
    fx.gh
        .add_client(ClientSpec {
            client_id: "other".to_owned(),
            secret: ClientSecretSpec::Absent,
            grants: GrantSet::all()
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            scope: "openid".to_owned(),
            ..ClientSpec::default()
        })
        .expect("client");
    assert!(matches!(
        fx.gh
            .refresh_grant(&ClientAuth::new("other", None), &r2, None),
        Err(Error::InvalidGrant(GrantRejection::WrongClient(
            GrantKind::RefreshToken
        )))
    ));
    // Replay of r1: invalid_grant, and the whole family ends.
    assert!(matches!(
        fx.gh.refresh_grant(&demo_client(), &r1, None),
        Err(Error::InvalidGrant(GrantRejection::Replayed(
            GrantKind::RefreshToken
        )))
    ));
    assert!(matches!(
        fx.gh.validate_access_token(second.access_token.expose()),
        Err(Error::InvalidToken)
    ));
    assert!(matches!(
        fx.gh.validate_access_token(first.access_token.expose()),
        Err(Error::InvalidToken)
    ));
    assert!(matches!(
        fx.gh.refresh_grant(&demo_client(), &r2, None),
        Err(Error::InvalidGrant(GrantRejection::SessionEnded))
    ));
    assert!(matches!(
        fx.gh.refresh_grant(&demo_client(), "unknown", None),
        Err(Error::InvalidGrant(GrantRejection::Unknown(
            GrantKind::RefreshToken
        )))
    ));
}

fn refresh_tokens_expire() {
    let fx = fx();
    let first = fx
        .gh
        .password_grant(v1_password("alice", "alice-password-1"))
        .expect("login");
    let r1 = first
        .refresh_token
        .as_ref()
        .expect("refresh")
        .expose()
        .to_owned();
    fx.clock.advance(Duration::days(30));
    assert!(matches!(
        fx.gh.refresh_grant(&demo_client(), &r1, None),
        Err(Error::InvalidGrant(GrantRejection::SessionEnded))
    ));
}

fn refresh_grace_window_allows_a_concurrent_replay() {
    let fx = fx_with(Config {
        refresh_grace: Some(Duration::seconds(10)),
        ..Config::default()
    });
    let first = fx
        .gh
        .password_grant(v1_password("alice", "alice-password-1"))
        .expect("login");
    let r1 = first
        .refresh_token
        .as_ref()
        .expect("refresh")
        .expose()
        .to_owned();
    let a = fx
        .gh
        .refresh_grant(&demo_client(), &r1, None)
        .expect("first");
    fx.clock.advance(Duration::seconds(5));
    let b = fx
        .gh
        .refresh_grant(&demo_client(), &r1, None)
        .expect("replay inside the grace window");
    assert_eq!(a.session_id, b.session_id);
    // Both heads stay usable.
    assert!(fx.gh.validate_access_token(a.access_token.expose()).is_ok());
    assert!(fx.gh.validate_access_token(b.access_token.expose()).is_ok());
    fx.clock.advance(Duration::seconds(6));
    assert!(matches!(
        fx.gh.refresh_grant(&demo_client(), &r1, None),
        Err(Error::InvalidGrant(GrantRejection::Replayed(
            GrantKind::RefreshToken
        )))
    ));
    assert!(matches!(
        fx.gh.validate_access_token(b.access_token.expose()),
        Err(Error::InvalidToken)
    ));
}

fn client_credentials_grant() {
    let fx = fx();
    let issued = fx
        .gh
        .client_credentials_grant(&demo_client(), None, None)
        .expect("client credentials");
    assert!(issued.user.is_none());
    assert!(issued.refresh_token.is_none());
    assert_eq!(issued.client_id.as_deref(), Some("demo-client"));
    let info = fx
        .gh
        .validate_access_token(issued.access_token.expose())
        .expect("valid");
    assert!(info.user.is_none());
    assert!(matches!(
        fx.gh.client_credentials_grant(&public_client(), None, None),
        Err(Error::UnauthorizedClient)
    ));
}

fn windows_grant() {
    let fx = fx();
    let issued = fx
        .gh
        .windows_grant(WindowsGrant {
            user_name: "Alice".to_owned(),
            client: Some(demo_client()),
            client_key: None,
            caller_ip: None,
            scope: None,
            want_refresh: true,
            without_client: gatehouse_domain::WithoutClient::Refuse,
        })
        .expect("windows");
    assert!(issued.refresh_token.is_some());
    assert_eq!(issued.user.map(|u| u.user_name).as_deref(), Some("alice"));
    let unknown = fx.gh.windows_grant(WindowsGrant {
        user_name: "mallory".to_owned(),
        client: None,
        client_key: None,
        caller_ip: None,
        scope: None,
        want_refresh: false,
        without_client: gatehouse_domain::WithoutClient::Scope(String::new()),
    });
    assert!(matches!(unknown, Err(Error::InvalidCredentials)));
}

// ----- member ---------------------------------------------------------------------------

fn member(id: &str, pw: &str, sub: Option<&str>) -> MemberGrant {
    MemberGrant {
        member_id: id.to_owned(),
        password: Secret::new(pw),
        sub_account: sub.map(str::to_owned),
        caller_ip: None,
    }
}

fn member_grant_and_sub_accounts() {
    let fx = fx();
    let plain = fx
        .gh
        .member_grant(member("1234", "alice-password-1", None))
        .expect("member");
    assert_eq!((plain.member_internal_id, plain.sub_account_id), (7, 0));
    let flags = plain.tokens.user.as_ref().map(|u| u.flags).expect("user");
    assert!(flags.query_all && flags.df_visible);
    assert!(plain.tokens.refresh_token.is_none());
    let sub = fx
        .gh
        .member_grant(member("1234", "alice-password-1", Some("9")))
        .expect("sub-account");
    assert_eq!((sub.member_internal_id, sub.sub_account_id), (7, 9));
    // Not bob's sub-account.
    let stolen = fx
        .gh
        .member_grant(member("5678", "bob-password-1", Some("8")));
    assert!(matches!(stolen, Err(Error::Forbidden(_))), "{stolen:?}");
    let missing = fx
        .gh
        .member_grant(member("1234", "alice-password-1", Some("10")));
    assert!(matches!(missing, Err(Error::Forbidden(_))));
    // Ownership is not revealed without the password.
    let guess = fx.gh.member_grant(member("5678", "wrong", Some("8")));
    assert!(matches!(guess, Err(Error::InvalidCredentials)));
    let nan = fx
        .gh
        .member_grant(member("1234", "alice-password-1", Some("eight")));
    assert!(matches!(nan, Err(Error::InvalidRequest(_))));
    let unknown = fx.gh.member_grant(member("0000", "x", None));
    assert!(matches!(unknown, Err(Error::InvalidCredentials)));
    let bob = fx
        .gh
        .member_grant(member("5678", "bob-password-1", None))
        .expect("bob");
    assert_eq!((bob.member_internal_id, bob.sub_account_id), (11, 0));
}

// ----- authorization codes --------------------------------------------------------------

fn authorization_codes_are_single_use_and_bound() {
    let fx = fx();
    let pw = Secret::new("alice-password-1");
    let code = fx
        .gh
        .issue_auth_code(&demo_client(), "alice", &pw, None)
        .expect("code");
    assert_eq!(code.expires_in, Duration::seconds(60));
    let code = code.code.expose().to_owned();
    // Bob is not an operator.
    let bob = fx
        .gh
        .issue_auth_code(&demo_client(), "bob", &Secret::new("bob-password-1"), None);
    assert!(matches!(bob, Err(Error::Forbidden(_))), "{bob:?}");
    // Public clients cannot get codes.
    let public = fx.gh.issue_auth_code(&public_client(), "alice", &pw, None);
    assert!(matches!(public, Err(Error::UnauthorizedClient)));
    let wrong_pw = fx
        .gh
        .issue_auth_code(&demo_client(), "alice", &Secret::new("x"), None);
    assert!(matches!(wrong_pw, Err(Error::InvalidCredentials)));
    // Another client cannot exchange it.
    let other = fx
        .gh
        .add_client(ClientSpec {
            client_id: "other".to_owned(),
            secret: ClientSecretSpec::Generate,
            grants: GrantSet::all()
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            ..ClientSpec::default()
        })
        .expect("client")
        .expect("secret");
    let other = ClientAuth::new("other", Some(other));
    assert!(matches!(
        fx.gh.exchange_auth_code(&other, &code, None, false),
        Err(Error::InvalidGrant(GrantRejection::WrongClient(
            GrantKind::AuthorizationCode
        )))
    ));
    let first = fx
        .gh
        .exchange_auth_code(&demo_client(), &code, None, true)
        .expect("exchange");
    assert_eq!(
        first.user.as_ref().map(|u| u.user_name.as_str()),
        Some("alice")
    );
    assert!(first.refresh_token.is_some());
    assert!(fx
        .gh
        .validate_access_token(first.access_token.expose())
        .is_ok());
    // Second exchange: fails and revokes what the first produced.
    assert!(matches!(
        fx.gh.exchange_auth_code(&demo_client(), &code, None, true),
        Err(Error::InvalidGrant(GrantRejection::Replayed(
            GrantKind::AuthorizationCode
        )))
    ));
    assert!(matches!(
        fx.gh.validate_access_token(first.access_token.expose()),
        Err(Error::InvalidToken)
    ));
    // Expiry.
    let late = fx
        .gh
        .issue_auth_code(&demo_client(), "alice", &pw, None)
        .expect("code");
    fx.clock.advance(Duration::seconds(60));
    assert!(matches!(
        fx.gh
            .exchange_auth_code(&demo_client(), late.code.expose(), None, false),
        Err(Error::InvalidGrant(GrantRejection::Expired(
            GrantKind::AuthorizationCode
        )))
    ));
}

// ----- one-time codes -------------------------------------------------------------------

fn alice_bearer(fx: &crate::support::Fx) -> OneTimeIssuer {
    let login = fx
        .gh
        .password_grant(password("alice", "alice-password-1"))
        .expect("login");
    OneTimeIssuer::Bearer(login.access_token)
}

fn one_time_codes_by_bearer() {
    let fx = fx();
    let bearer = alice_bearer(&fx);
    let mut payload = BTreeMap::new();
    payload.insert("lang".to_owned(), "en".to_owned());
    let request = OneTimeRequest {
        client_id: "demo-client".to_owned(),
        broker_id: Some(broker()),
        user_name: Some("ALICE".to_owned()),
        trading_account: Some("TA-1001".to_owned()),
        server: Some("demo-live".to_owned()),
        payload: payload.clone(),
    };
    let code = fx.gh.issue_onetime_code(&bearer, &request).expect("code");
    assert_eq!(code.expires_in, Duration::seconds(60));
    // Only a confidential client with the onetime grant may redeem.
    assert!(matches!(
        fx.gh
            .redeem_onetime_code(&public_client(), code.code.expose()),
        Err(Error::UnauthorizedClient)
    ));
    let redeemed = fx
        .gh
        .redeem_onetime_code(&demo_client(), code.code.expose())
        .expect("redeem");
    assert_eq!(redeemed.user.user_name, "alice");
    assert_eq!(redeemed.broker_id, Some(broker()));
    assert_eq!(redeemed.trading_account.as_deref(), Some("TA-1001"));
    assert_eq!(redeemed.server.as_deref(), Some("demo-live"));
    assert_eq!(redeemed.payload, payload);
    assert!(fx
        .gh
        .validate_access_token(redeemed.tokens.access_token.expose())
        .is_ok());
    // Once.
    assert!(matches!(
        fx.gh
            .redeem_onetime_code(&demo_client(), code.code.expose()),
        Err(Error::InvalidGrant(GrantRejection::Replayed(
            GrantKind::OneTimeCode
        )))
    ));
    assert!(matches!(
        fx.gh
            .validate_access_token(redeemed.tokens.access_token.expose()),
        Err(Error::InvalidToken)
    ));
    // The replay ended the issuing session too.
    let OneTimeIssuer::Bearer(old) = &bearer else {
        panic!("a bearer issuer");
    };
    assert!(matches!(
        fx.gh.validate_access_token(old.expose()),
        Err(Error::InvalidToken)
    ));
    let bearer = alice_bearer(&fx);

    // Mismatches.
    let mismatch = |r: OneTimeRequest| fx.gh.issue_onetime_code(&bearer, &r);
    let wrong_account = mismatch(OneTimeRequest {
        trading_account: Some("TA-9999".to_owned()),
        ..request.clone()
    });
    assert!(
        matches!(wrong_account, Err(Error::Forbidden(_))),
        "{wrong_account:?}"
    );
    let wrong_server = mismatch(OneTimeRequest {
        server: Some("demo-test".to_owned()),
        ..request.clone()
    });
    assert!(matches!(wrong_server, Err(Error::Forbidden(_))));
    let wrong_broker = mismatch(OneTimeRequest {
        broker_id: Some(Uuid::from_u128(1)),
        ..request.clone()
    });
    assert!(matches!(wrong_broker, Err(Error::Forbidden(_))));
    let wrong_user = mismatch(OneTimeRequest {
        user_name: Some("bob".to_owned()),
        ..request.clone()
    });
    assert!(matches!(wrong_user, Err(Error::Forbidden(_))));
    let no_client = mismatch(OneTimeRequest {
        client_id: " ".to_owned(),
        ..request.clone()
    });
    assert!(matches!(no_client, Err(Error::InvalidRequest(_))));
    let unknown_client = mismatch(OneTimeRequest {
        client_id: "nobody".to_owned(),
        ..request.clone()
    });
    assert!(matches!(unknown_client, Err(Error::InvalidRequest(_))));
    let too_many: BTreeMap<_, _> = (0..33).map(|i| (format!("k{i}"), "v".to_owned())).collect();
    let big = mismatch(OneTimeRequest {
        payload: too_many,
        ..request.clone()
    });
    assert!(matches!(big, Err(Error::InvalidRequest(_))));
    let mut long = BTreeMap::new();
    long.insert("k".to_owned(), "x".repeat(1025));
    assert!(matches!(
        mismatch(OneTimeRequest {
            payload: long,
            ..request.clone()
        }),
        Err(Error::InvalidRequest(_))
    ));
    let mut at_limit: BTreeMap<_, _> = (0..32).map(|i| (format!("k{i}"), "v".to_owned())).collect();
    at_limit.insert("k0".to_owned(), "x".repeat(1024));
    assert!(mismatch(OneTimeRequest {
        payload: at_limit,
        ..request.clone()
    })
    .is_ok());
    // A dead bearer cannot issue.
    assert!(matches!(
        fx.gh
            .issue_onetime_code(&OneTimeIssuer::Bearer(Secret::new("nope")), &request),
        Err(Error::InvalidToken)
    ));
    // Expiry.
    let code = fx.gh.issue_onetime_code(&bearer, &request).expect("code");
    fx.clock.advance(Duration::seconds(61));
    assert!(matches!(
        fx.gh
            .redeem_onetime_code(&demo_client(), code.code.expose()),
        Err(Error::InvalidGrant(GrantRejection::Expired(
            GrantKind::OneTimeCode
        )))
    ));
}

fn one_time_codes_by_a_broker_client() {
    let fx = fx();
    let issuer = OneTimeIssuer::Client(ClientAuth::basic([(
        "demo-client".to_owned(),
        "demo-secret".to_owned(),
    )]));
    let code = fx
        .gh
        .issue_onetime_code(
            &issuer,
            &OneTimeRequest {
                client_id: "demo-client".to_owned(),
                user_name: Some("alice".to_owned()),
                ..OneTimeRequest::default()
            },
        )
        .expect("code");
    let redeemed = fx
        .gh
        .redeem_onetime_code(&demo_client(), code.code.expose())
        .expect("redeem");
    assert_eq!(redeemed.broker_id, Some(broker()), "the client's broker");
    assert_eq!(redeemed.tokens.client_id.as_deref(), Some("demo-client"));
    // A public client cannot be the redeemer.
    let for_public = fx.gh.issue_onetime_code(
        &issuer,
        &OneTimeRequest {
            client_id: "demo-public".to_owned(),
            user_name: Some("alice".to_owned()),
            ..OneTimeRequest::default()
        },
    );
    assert!(
        matches!(for_public, Err(Error::InvalidRequest(_))),
        "{for_public:?}"
    );
    // Bob has no trading account at the broker.
    let bob = fx.gh.issue_onetime_code(
        &issuer,
        &OneTimeRequest {
            client_id: "demo-client".to_owned(),
            user_name: Some("bob".to_owned()),
            ..OneTimeRequest::default()
        },
    );
    assert!(matches!(bob, Err(Error::Forbidden(_))), "{bob:?}");
    let nameless = fx.gh.issue_onetime_code(
        &issuer,
        &OneTimeRequest {
            client_id: "demo-public".to_owned(),
            ..OneTimeRequest::default()
        },
    );
    assert!(matches!(nameless, Err(Error::InvalidRequest(_))));
    // A public client cannot issue.
    let public = fx.gh.issue_onetime_code(
        &OneTimeIssuer::Client(public_client()),
        &OneTimeRequest {
            client_id: "demo-public".to_owned(),
            user_name: Some("alice".to_owned()),
            ..OneTimeRequest::default()
        },
    );
    assert!(matches!(public, Err(Error::UnauthorizedClient)));
}

// ----- introspection, revocation ----------------------------------------------------------

fn introspection_and_revocation() {
    let fx = fx();
    let issued = fx
        .gh
        .password_grant(v1_password("alice", "alice-password-1"))
        .expect("login");
    let access = issued.access_token.expose().to_owned();
    let refresh = issued
        .refresh_token
        .as_ref()
        .expect("refresh")
        .expose()
        .to_owned();
    let a = fx
        .gh
        .introspect(&demo_client(), &access)
        .expect("introspect");
    assert_eq!(a.as_ref().map(|i| i.kind), Some(TokenKind::Access));
    assert_eq!(
        a.and_then(|i| i.user).map(|u| u.user_name).as_deref(),
        Some("alice")
    );
    let r = fx
        .gh
        .introspect(&demo_client(), &refresh)
        .expect("introspect");
    assert_eq!(r.map(|i| i.kind), Some(TokenKind::Refresh));
    // A public client cannot introspect at all (RFC 7662 section 2.1).
    assert!(matches!(
        fx.gh.introspect(&public_client(), &refresh),
        Err(Error::InvalidClient)
    ));
    assert_eq!(
        fx.gh.introspect(&demo_client(), "nothing").expect("ok"),
        None
    );
    assert!(matches!(
        fx.gh
            .introspect(&ClientAuth::new("demo-client", None), &access),
        Err(Error::InvalidClient)
    ));
    // Another client may not revoke demo-client's token.
    assert!(matches!(
        fx.gh.revoke(&public_client(), &refresh),
        Err(Error::NotTokenOwner)
    ));
    // Unknown token: success.
    fx.gh
        .revoke(&demo_client(), "nothing")
        .expect("unknown is fine");
    // Revoking the refresh token ends the session and its access tokens.
    fx.gh.revoke(&demo_client(), &refresh).expect("revoke");
    assert_eq!(
        fx.gh.introspect(&demo_client(), &refresh).expect("ok"),
        None
    );
    assert_eq!(fx.gh.introspect(&demo_client(), &access).expect("ok"), None);
    fx.gh
        .revoke(&demo_client(), &refresh)
        .expect("again is fine");
}

// ----- provisioning ---------------------------------------------------------------------

fn import_is_idempotent() {
    let fx = fx();
    let hash = stored_hash(&fx, "alice");
    let doc = gatehouse_domain::import::demo_document().expect("demo");
    let report = fx.gh.import(&doc).expect("again");
    assert_eq!(
        report.passwords_hashed, 0,
        "matching passwords keep their hash"
    );
    assert_eq!(report.users, 2);
    assert_eq!(stored_hash(&fx, "alice"), hash);
    let client = fx
        .store
        .read(|tx| tx.client("demo-client"))
        .expect("read")
        .expect("client");
    fx.gh.import(&doc).expect("third");
    let again = fx
        .store
        .read(|tx| tx.client("demo-client"))
        .expect("read")
        .expect("client");
    assert_eq!(client, again, "secret hash kept");
    let counts = fx
        .store
        .read(|tx| {
            let member = tx.member_by_member_id("1234")?.expect("member");
            Ok((
                tx.users()?.len(),
                tx.clients()?.len(),
                tx.sub_accounts_of(member.id)?.len(),
            ))
        })
        .expect("read");
    assert_eq!(counts, (2, 3, 2));
}

fn import_validates_and_applies_all_or_nothing() {
    let fx = fx();
    let bad_grant =
        ImportDocument::from_json(r#"{"clients":[{"client_id":"x","grants":["implicit"]}]}"#)
            .expect("parse");
    assert!(matches!(
        fx.gh.import(&bad_grant),
        Err(Error::InvalidRequest(_))
    ));
    let no_password =
        ImportDocument::from_json(r#"{"users":[{"user_name":"eve"}]}"#).expect("parse");
    assert!(matches!(
        fx.gh.import(&no_password),
        Err(Error::InvalidRequest(_))
    ));
    let other_id = ImportDocument::from_json(
        r#"{"users":[{"user_name":"alice","id":"00000000-0000-4000-8000-000000000000"}]}"#,
    )
    .expect("parse");
    assert!(matches!(fx.gh.import(&other_id), Err(Error::Conflict(_))));
    // A trading account at an unknown broker fails the whole document: frank is not created.
    let partial = ImportDocument::from_json(
        r#"{"users":[{"user_name":"frank","password":"pw",
            "trading_accounts":[{"broker_id":"00000000-0000-4000-8000-0000000000ff",
                                 "account":"A","server":"S"}]}]}"#,
    )
    .expect("parse");
    assert!(fx.gh.import(&partial).is_err());
    assert!(fx
        .store
        .read(|tx| tx.user_by_name("frank"))
        .expect("read")
        .is_none());
    let both = ImportDocument::from_json(
        r#"{"clients":[{"client_id":"x","secret":"a","secret_hash":"b"}]}"#,
    )
    .expect("parse");
    assert!(matches!(fx.gh.import(&both), Err(Error::InvalidRequest(_))));
}

fn cli_operations() {
    let fx = fx();
    let user = fx
        .gh
        .add_user(
            UserSpec {
                user_name: "Erin".to_owned(),
                flags: UserFlags {
                    editor: true,
                    ..UserFlags::default()
                },
                profile: Default::default(),
            },
            &Secret::new("erin-pw"),
        )
        .expect("add");
    assert_eq!(user.user_name, "Erin");
    let dup = fx.gh.add_user(
        UserSpec {
            user_name: "erin".to_owned(),
            flags: UserFlags::default(),
            profile: Default::default(),
        },
        &Secret::new("x"),
    );
    assert!(matches!(dup, Err(Error::Conflict(_))));
    let login = fx
        .gh
        .password_grant(password("erin", "erin-pw"))
        .expect("login");
    assert!(login.user.is_some_and(|u| u.flags.editor));
    fx.gh
        .set_password("ERIN", &Secret::new("new-pw"))
        .expect("set");
    assert!(matches!(
        fx.gh.password_grant(password("erin", "erin-pw")),
        Err(Error::InvalidCredentials)
    ));
    assert!(fx.gh.password_grant(password("erin", "new-pw")).is_ok());
    assert!(matches!(
        fx.gh.set_password("nobody", &Secret::new("x")),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        fx.gh.set_user_disabled("nobody", true),
        Err(Error::NotFound(_))
    ));
    // Client secret rotation: the old secret stops working.
    let new = fx.gh.rotate_client_secret("demo-client").expect("rotate");
    assert!(matches!(
        fx.gh.authenticate_client(&demo_client()),
        Err(Error::InvalidClient)
    ));
    assert!(fx
        .gh
        .authenticate_client(&ClientAuth::new("demo-client", Some(new)))
        .is_ok());
    assert!(matches!(
        fx.gh.rotate_client_secret("nobody"),
        Err(Error::NotFound(_))
    ));
    let public = fx
        .gh
        .add_client(ClientSpec {
            client_id: "spa".to_owned(),
            secret: ClientSecretSpec::Absent,
            grants: vec!["password".to_owned()],
            ..ClientSpec::default()
        })
        .expect("add client");
    assert!(public.is_none());
    assert!(fx.gh.purge_expired().is_ok());
}

/// `gatehouse user passwd` (set_password) ends every session of the user.
fn a_new_password_ends_every_session() {
    let fx = fx();
    let v1 = fx
        .gh
        .password_grant(v1_password("alice", "alice-password-1"))
        .expect("login");
    let katana = fx
        .gh
        .password_grant(password("alice", "alice-password-1"))
        .expect("login");
    let bob = fx
        .gh
        .password_grant(v1_password("bob", "bob-password-1"))
        .expect("login");
    fx.gh
        .set_password("alice", &Secret::new("alice-password-2"))
        .expect("passwd");
    for token in [&v1.access_token, &katana.access_token] {
        assert!(matches!(
            fx.gh.validate_access_token(token.expose()),
            Err(Error::InvalidToken)
        ));
    }
    let refresh = v1.refresh_token.as_ref().expect("refresh").expose();
    assert!(matches!(
        fx.gh.refresh_grant(&demo_client(), refresh, None),
        Err(Error::InvalidGrant(GrantRejection::SessionEnded))
    ));
    // Another user's session is untouched.
    assert!(fx
        .gh
        .validate_access_token(bob.access_token.expose())
        .is_ok());
}

/// A client added with `introspect_any` sees every token; without it, only its own.
fn introspect_any_is_a_client_setting() {
    let fx = fx();
    let alice = fx
        .gh
        .password_grant(v1_password("alice", "alice-password-1"))
        .expect("login");
    for (id, any) in [("narrow", false), ("wide", true)] {
        fx.gh
            .add_client(ClientSpec {
                client_id: id.to_owned(),
                secret: ClientSecretSpec::Generate,
                grants: Vec::new(),
                introspect_any: any,
                ..ClientSpec::default()
            })
            .expect("client");
        let secret = fx.gh.rotate_client_secret(id).expect("secret");
        let seen = fx
            .gh
            .introspect(
                &ClientAuth::new(id, Some(secret)),
                alice.access_token.expose(),
            )
            .expect("introspect");
        assert_eq!(seen.is_some(), any, "{id}");
    }
}
// ----- private_key_jwt ------------------------------------------------------------------

const ISSUER: &str = "https://id.example";

/// The demo client (a secret and keys) signs with its key; the clock is the fixture's.
fn demo_assertion(fx: &crate::support::Fx, jti: &str) -> ClientAuth {
    use gatehouse_domain::clock::Clock as _;
    let key = gatehouse_tests::jwt::TestKey::demo_client();
    let now = fx.clock.now().unix_timestamp();
    let mut claims = gatehouse_tests::jwt::TestKey::claims_at("demo-client", ISSUER, now);
    claims["jti"] = jti.into();
    ClientAuth::assertion(None, Secret::new(key.assertion_of(&claims)), ISSUER)
}

/// An assertion's `jti` is used once, even by 16 concurrent requests; a client may hold
/// only `max_live_assertions_per_client` live ones; expired ones are forgotten.
fn client_assertions_are_single_use_capped_and_raced() {
    let fx = fx_with(Config {
        max_live_assertions_per_client: 3,
        ..Config::default()
    });
    let first = demo_assertion(&fx, "j-1");
    assert_eq!(
        fx.gh
            .authenticate_client(&first)
            .map(|c| c.client_id)
            .ok()
            .as_deref(),
        Some("demo-client")
    );
    // The same assertion again (a new request carrying it): refused.
    let again = demo_assertion(&fx, "j-1");
    assert!(matches!(
        fx.gh.authenticate_client(&again),
        Err(Error::InvalidClient)
    ));
    // 16 requests with one new assertion at once: exactly one passes.
    let raced = demo_assertion(&fx, "j-2");
    let wins = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let gh = fx.gh.clone();
                let auth = raced.clone();
                s.spawn(move || gh.authenticate_client(&auth).is_ok())
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(false))
            .filter(|won| *won)
            .count()
    });
    assert_eq!(wins, 1, "one use of one jti");
    assert!(fx
        .gh
        .authenticate_client(&demo_assertion(&fx, "j-3"))
        .is_ok());
    // Three live: the cap.
    let capped = fx.gh.authenticate_client(&demo_assertion(&fx, "j-4"));
    assert!(
        matches!(capped, Err(Error::RateLimited { .. })),
        "{capped:?}"
    );
    // Once they expire they are forgotten, and the client authenticates again.
    fx.clock.advance(Duration::seconds(61));
    assert!(fx
        .gh
        .authenticate_client(&demo_assertion(&fx, "j-5"))
        .is_ok());
    assert_eq!(
        fx.store
            .read(|tx| tx.live_assertion_jtis("demo-client"))
            .expect("read"),
        1
    );
    // The secret keeps working beside the keys.
    assert!(fx
        .gh
        .authenticate_client(&ClientAuth::new(
            "demo-client",
            Some(Secret::new("demo-secret"))
        ))
        .is_ok());
}

both!(
    client_assertions_are_single_use_capped_and_raced,
    katana_password_grant_issues_a_session_and_a_token,
    v1_password_grant_with_clients,
    client_authentication_rules,
    wrong_password_and_unknown_user_look_the_same_and_cost_a_hash,
    disabled_user_is_refused_only_after_the_password_and_tokens_die,
    lockout_backs_off_without_hashing_and_expires,
    lockout_per_address_and_persisted,
    bad_secrets_at_introspection_lock_the_address,
    rehash_on_login_when_the_cost_changed,
    aspnet_identity_import_then_login_upgrades_the_hash,
    access_tokens_expire_and_can_be_revoked,
    refresh_rotates_and_reuse_ends_the_family,
    refresh_tokens_expire,
    refresh_grace_window_allows_a_concurrent_replay,
    client_credentials_grant,
    windows_grant,
    member_grant_and_sub_accounts,
    authorization_codes_are_single_use_and_bound,
    one_time_codes_by_bearer,
    one_time_codes_by_a_broker_client,
    introspection_and_revocation,
    import_is_idempotent,
    import_validates_and_applies_all_or_nothing,
    cli_operations,
    a_new_password_ends_every_session,
    introspect_any_is_a_client_setting,
);
