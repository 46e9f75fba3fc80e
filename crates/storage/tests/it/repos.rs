//! Each repository, straight through `Store`.

use std::collections::BTreeMap;

use gatehouse_domain::model::{
    AccessToken, AuthorizationCode, Broker, Client, GrantSet, GrantType, LoginFailure, NewMember,
    OneTimeCode, RefreshToken, Session, SubAccount, TradingAccount, User, UserFlags,
};
use gatehouse_domain::rng::SeededRng;
use gatehouse_domain::secret::{hash_client_secret, Secret, TokenDigest};
use gatehouse_domain::store::Store;
use gatehouse_domain::Error;
use gatehouse_storage::{Storage, StorageOptions};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::support::{open_with, Place};

const T0: OffsetDateTime = datetime!(2026-01-01 00:00:00.123456 UTC);

fn open() -> (Place, Storage) {
    open_with(StorageOptions::default())
}

fn user(id: u128, name: &str) -> User {
    User {
        id: Uuid::from_u128(id),
        user_name: name.to_owned(),
        password_hash: format!("pbkdf2-sha256$1000$salt{id}$hash"),
        flags: UserFlags {
            operator: true,
            df_visible: true,
            ..UserFlags::default()
        },
        created_at: T0,
        profile: gatehouse_domain::model::UserProfile {
            name: Some(format!("{name} Example")),
            email: Some(format!("{}@example.com", name.to_lowercase())),
            email_verified: id % 2 == 1,
        },
    }
}

fn client(id: &str) -> Client {
    Client {
        client_id: id.to_owned(),
        secret_hash: None,
        grants: GrantSet::all(),
        scope: "a b".to_owned(),
        access_token_lifetime: None,
        refresh_token_lifetime: None,
        redirect_url: None,
        broker_id: None,
        introspect_any: false,
        redirect_uris: vec!["https://app.example/cb".to_owned()],
        consent_required: false,
        client_name: Some("App".to_owned()),
        access_token_format: Default::default(),
        signing: Default::default(),
        jwks: None,
    }
}

fn session(id: u128, user: Option<u128>, client: Option<&str>) -> Session {
    Session {
        id: Uuid::from_u128(id),
        client_id: client.map(str::to_owned),
        user_id: user.map(Uuid::from_u128),
        client_key: Some("key".to_owned()),
        caller_ip: Some("192.0.2.1".to_owned()),
        created_at: T0,
        last_used_at: T0,
        ended_at: None,
        parent_id: None,
        source_token: None,
        expires_at: None,
        grant: None,
    }
}

/// Users, members, sub-accounts, brokers, trading accounts, clients.
fn account_repositories_round_trip() {
    let (_dir, storage) = open();
    let rng = SeededRng::new(3);
    let hash = hash_client_secret(&Secret::new("s3cret"), &rng);
    let broker_id = Uuid::from_u128(77);
    let stored_hash = hash.clone();
    storage
        .write(move |tx| {
            tx.upsert_user(&user(1, "Alice"))?;
            tx.upsert_user(&user(2, "bob"))?;
            tx.upsert_broker(&Broker {
                id: broker_id,
                name: "B".to_owned(),
            })?;
            tx.upsert_broker(&Broker {
                id: broker_id,
                name: "Broker".to_owned(),
            })?;
            let m = tx.upsert_member(&NewMember {
                id: None,
                member_id: "1234".to_owned(),
                user_id: Uuid::from_u128(1),
            })?;
            assert_eq!(m.id, 1, "first automatic id");
            let m2 = tx.upsert_member(&NewMember {
                id: Some(40),
                member_id: "5678".to_owned(),
                user_id: Uuid::from_u128(2),
            })?;
            assert_eq!(m2.id, 40);
            let m3 = tx.upsert_member(&NewMember {
                id: None,
                member_id: "9999".to_owned(),
                user_id: Uuid::from_u128(2),
            })?;
            assert_eq!(m3.id, 41, "next after the highest");
            // Same member id again: kept, user may change.
            let again = tx.upsert_member(&NewMember {
                id: None,
                member_id: "1234".to_owned(),
                user_id: Uuid::from_u128(1),
            })?;
            assert_eq!(again.id, 1);
            tx.upsert_sub_account(&SubAccount { id: 8, member: 1 })?;
            tx.upsert_sub_account(&SubAccount { id: 9, member: 1 })?;
            tx.upsert_trading_account(&TradingAccount {
                broker_id,
                account: "TA-1".to_owned(),
                server: "live".to_owned(),
                user_id: Uuid::from_u128(1),
            })?;
            let mut c = client("c1");
            c.secret_hash = Some(stored_hash);
            c.grants = [GrantType::Password, GrantType::OneTime]
                .into_iter()
                .collect();
            c.access_token_lifetime = Some(Duration::minutes(5));
            c.refresh_token_lifetime = Some(Duration::days(2));
            c.redirect_url = Some("https://x.example/cb".to_owned());
            c.broker_id = Some(broker_id);
            c.signing = gatehouse_domain::model::TokenSigning {
                audience: Some("https://api.example".to_owned()),
                access_token_alg: gatehouse_domain::keys::Alg::EdDsa,
                id_token_alg: gatehouse_domain::keys::Alg::Es256,
            };
            tx.upsert_client(&c)?;
            tx.upsert_client(&client("c0"))?;
            Ok(())
        })
        .expect("write");

    storage
        .read(|tx| {
            let alice = tx.user_by_name("ALICE")?.expect("case-insensitive");
            assert_eq!(alice, user(1, "Alice"));
            assert_eq!(
                tx.user_by_id(Uuid::from_u128(2))?.map(|u| u.user_name),
                Some("bob".to_owned())
            );
            assert!(tx.user_by_name("carol")?.is_none());
            assert_eq!(tx.users()?.len(), 2);
            let member = tx.member_by_member_id("1234")?.expect("member");
            assert_eq!(member.user_id, Uuid::from_u128(1));
            assert_eq!(tx.member_of_user(Uuid::from_u128(1))?, Some(member.clone()));
            let subs = tx.sub_accounts_of(member.id)?;
            assert_eq!(
                subs,
                vec![
                    SubAccount { id: 8, member: 1 },
                    SubAccount { id: 9, member: 1 }
                ]
            );
            assert_eq!(tx.sub_account(9)?, Some(SubAccount { id: 9, member: 1 }));
            assert_eq!(tx.sub_account(10)?, None);
            assert_eq!(
                tx.broker(broker_id)?.map(|b| b.name),
                Some("Broker".to_owned())
            );
            let accounts = tx.trading_accounts_of(Uuid::from_u128(1))?;
            assert_eq!(accounts.len(), 1);
            assert_eq!(accounts[0].server, "live");
            let c1 = tx.client("c1")?.expect("client");
            assert_eq!(c1.secret_hash.as_ref(), Some(&hash));
            assert!(c1.grants.contains(GrantType::OneTime));
            assert!(!c1.grants.contains(GrantType::RefreshToken));
            assert_eq!(c1.access_token_lifetime, Some(Duration::minutes(5)));
            assert_eq!(c1.refresh_token_lifetime, Some(Duration::days(2)));
            assert_eq!(c1.broker_id, Some(broker_id));
            assert_eq!(c1.signing.audience.as_deref(), Some("https://api.example"));
            assert_eq!(
                c1.signing.access_token_alg,
                gatehouse_domain::keys::Alg::EdDsa
            );
            assert_eq!(c1.signing.id_token_alg, gatehouse_domain::keys::Alg::Es256);
            assert_eq!(
                tx.client("c0")?.map(|c| c.signing),
                Some(Default::default())
            );
            assert!(tx.client("C1")?.is_none(), "client ids are exact");
            assert_eq!(tx.clients()?.len(), 2);
            Ok(())
        })
        .expect("read");

    // Updating a client to public clears the secret (None is written as NULL).
    storage
        .write(|tx| {
            let mut c = tx.client("c1")?.expect("client");
            c.secret_hash = None;
            c.redirect_url = None;
            c.signing.audience = None;
            tx.upsert_client(&c)?;
            // A user's e-mail address removed is NULL again too.
            let mut alice = tx.user_by_id(Uuid::from_u128(1))?.expect("alice");
            alice.profile = Default::default();
            tx.upsert_user(&alice)
        })
        .expect("update");
    let alice = storage
        .read(|tx| tx.user_by_id(Uuid::from_u128(1)))
        .expect("read")
        .expect("alice");
    assert_eq!(alice.profile, Default::default());
    let c1 = storage
        .read(|tx| tx.client("c1"))
        .expect("read")
        .expect("client");
    assert!(c1.secret_hash.is_none() && c1.redirect_url.is_none());
    assert!(c1.signing.audience.is_none());
}

fn unique_names_and_foreign_keys_are_enforced() {
    let (_dir, storage) = open();
    storage
        .write(|tx| tx.upsert_user(&user(1, "alice")))
        .expect("insert");
    let clash = storage.write(|tx| tx.upsert_user(&user(2, "ALICE")));
    assert!(matches!(clash, Err(Error::Conflict(_))), "{clash:?}");
    // A session for a user that does not exist violates a foreign key.
    let orphan = storage.write(|tx| tx.insert_session(&session(5, Some(42), None)));
    assert!(matches!(orphan, Err(Error::Storage(_))), "{orphan:?}");
    // A failed write leaves nothing behind (rolled back).
    let partial = storage.write(|tx| {
        tx.upsert_user(&user(3, "carol"))?;
        tx.insert_session(&session(6, Some(42), None))
    });
    assert!(partial.is_err());
    assert!(storage
        .read(|tx| tx.user_by_name("carol"))
        .expect("read")
        .is_none());
}

/// Sessions, access and refresh tokens, codes, login failures, purge.
fn token_repositories_round_trip() {
    let (_dir, storage) = open();
    let d = |s: &str| TokenDigest::of(s);
    storage
        .write(move |tx| {
            tx.upsert_user(&user(1, "alice"))?;
            tx.upsert_client(&client("c"))?;
            tx.insert_session(&session(10, Some(1), Some("c")))?;
            tx.insert_access_token(&AccessToken {
                digest: d("at"),
                session_id: Uuid::from_u128(10),
                client_id: Some("c".to_owned()),
                user_id: Some(Uuid::from_u128(1)),
                scope: "a".to_owned(),
                issued_at: T0,
                expires_at: T0 + Duration::minutes(20),
                revoked_at: None,
            })?;
            tx.insert_refresh_token(&RefreshToken {
                digest: d("rt"),
                session_id: Uuid::from_u128(10),
                client_id: Some("c".to_owned()),
                scope: "a".to_owned(),
                issued_at: T0,
                expires_at: T0 + Duration::days(30),
                rotated_at: None,
                successor: None,
                revoked_at: None,
                replayed_at: None,
            })?;
            tx.insert_authorization_code(&AuthorizationCode {
                digest: d("ac"),
                client_id: "c".to_owned(),
                user_id: Uuid::from_u128(1),
                issued_at: T0,
                expires_at: T0 + Duration::seconds(60),
                consumed_at: None,
                session_id: None,
                redirect_uri: Some("https://app.example/cb".to_owned()),
                code_challenge: None,
                scope: Some("a".to_owned()),
                auth_time: Some(T0),
                browser_session_id: None,
                nonce: None,
            })?;
            let mut payload = BTreeMap::new();
            payload.insert("k".to_owned(), "v \u{e9}".to_owned());
            tx.insert_onetime_code(&OneTimeCode {
                digest: d("otc"),
                issuer_client_id: None,
                issuer_user_id: Some(Uuid::from_u128(1)),
                user_id: Uuid::from_u128(1),
                redeeming_client_id: "c".to_owned(),
                broker_id: None,
                trading_account: Some("TA".to_owned()),
                server: None,
                payload,
                issued_at: T0,
                expires_at: T0 + Duration::seconds(60),
                consumed_at: None,
                session_id: None,
                scope: None,
                source_session_id: None,
                source_token: None,
            })?;
            Ok(())
        })
        .expect("write");

    let t1 = T0 + Duration::seconds(5);
    let (rot1, rot2, ac1, ac2, ot1, ot2, rev1, rev2, end1, end2) = storage
        .write(move |tx| {
            tx.insert_session(&session(11, Some(1), Some("c")))?;
            tx.touch_session(Uuid::from_u128(10), t1)?;
            Ok((
                tx.rotate_refresh_token(&d("rt"), &d("rt2"), t1)?,
                tx.rotate_refresh_token(&d("rt"), &d("rt3"), t1)?,
                tx.consume_authorization_code(&d("ac"), t1, Uuid::from_u128(11))?,
                tx.consume_authorization_code(&d("ac"), t1, Uuid::from_u128(11))?,
                tx.consume_onetime_code(&d("otc"), t1, Uuid::from_u128(11))?,
                tx.consume_onetime_code(&d("otc"), t1, Uuid::from_u128(11))?,
                tx.revoke_access_token(&d("at"), t1)?,
                tx.revoke_access_token(&d("at"), t1)?,
                tx.end_session(Uuid::from_u128(11), t1)?,
                tx.end_session(Uuid::from_u128(11), t1)?,
            ))
        })
        .expect("consume");
    assert_eq!(
        (rot1, rot2, ac1, ac2, ot1, ot2, rev1, rev2, end1, end2),
        (true, false, true, false, true, false, true, false, true, false),
        "each single-use transition happens once"
    );
    assert!(!storage
        .write(move |tx| tx.rotate_refresh_token(&d("missing"), &d("x"), t1))
        .expect("write"));

    storage
        .read(|tx| {
            let s = tx.session(Uuid::from_u128(10))?.expect("session");
            assert_eq!(s.last_used_at, t1);
            assert_eq!(s.created_at, T0, "microsecond precision kept");
            assert_eq!(s.client_key.as_deref(), Some("key"));
            assert!(tx
                .session(Uuid::from_u128(11))?
                .and_then(|s| s.ended_at)
                .is_some());
            let at = tx.access_token(&d("at"))?.expect("at");
            assert_eq!(at.revoked_at, Some(t1));
            let rt = tx.refresh_token(&d("rt"))?.expect("rt");
            assert_eq!((rt.rotated_at, rt.successor), (Some(t1), Some(d("rt2"))));
            let ac = tx.authorization_code(&d("ac"))?.expect("ac");
            assert_eq!(ac.session_id, Some(Uuid::from_u128(11)));
            let ot = tx.onetime_code(&d("otc"))?.expect("otc");
            assert_eq!(ot.consumed_at, Some(t1));
            // Consumption forgets the payload and account fields (only what replay detection
            // needs stays until the code expires).
            assert!(ot.payload.is_empty(), "{:?}", ot.payload);
            assert_eq!(ot.trading_account, None);
            assert!(tx.access_token(&d("nope"))?.is_none());
            Ok(())
        })
        .expect("read");

    // Login failures.
    let failure = LoginFailure {
        key: "user:alice".to_owned(),
        failures: 3,
        last_failure_at: T0,
        locked_until: Some(T0 + Duration::seconds(2)),
    };
    let stored = failure.clone();
    storage
        .write(move |tx| tx.put_login_failure(&stored))
        .expect("put");
    assert_eq!(
        storage
            .read(|tx| tx.login_failure("user:alice"))
            .expect("get"),
        Some(failure.clone())
    );
    let cleared = LoginFailure {
        failures: 4,
        locked_until: None,
        ..failure
    };
    let stored = cleared.clone();
    storage
        .write(move |tx| tx.put_login_failure(&stored))
        .expect("put");
    assert_eq!(
        storage
            .read(|tx| tx.login_failure("user:alice"))
            .expect("get"),
        Some(cleared)
    );
    storage
        .write(|tx| tx.clear_login_failure("user:alice"))
        .expect("clear");
    assert_eq!(
        storage
            .read(|tx| tx.login_failure("user:alice"))
            .expect("get"),
        None
    );

    // Purge: everything above expired by T0 + 31 days; sessions stay.
    let purged = storage
        .write(|tx| {
            tx.put_login_failure(&LoginFailure {
                key: "ip:192.0.2.1".to_owned(),
                failures: 1,
                last_failure_at: T0,
                locked_until: None,
            })?;
            tx.purge_expired(T0 + Duration::days(31), T0 + Duration::hours(2))
        })
        .expect("purge");
    assert_eq!(purged, 5);
    assert!(storage
        .read(|tx| tx.session(Uuid::from_u128(10)))
        .expect("read")
        .is_some());
}

fn browser_sessions_round_trip_end_once_and_are_purged() {
    use gatehouse_domain::browser_session::BrowserSession;
    let (_dir, storage) = open();
    let record = BrowserSession {
        digest: TokenDigest::of("cookie"),
        id: Uuid::from_u128(77),
        user_id: Uuid::from_u128(1),
        authenticated_at: T0,
        expires_at: T0 + Duration::hours(12),
        ended_at: None,
    };
    let stored = record.clone();
    storage
        .write(move |tx| {
            tx.upsert_user(&user(1, "alice"))?;
            tx.insert_browser_session(&stored)
        })
        .expect("insert");
    let read = storage
        .read(|tx| tx.browser_session(&TokenDigest::of("cookie")))
        .expect("read");
    assert_eq!(read, Some(record.clone()));
    assert_eq!(
        storage
            .read(|tx| tx.browser_session(&TokenDigest::of("other")))
            .expect("read"),
        None
    );
    let ended = storage
        .write(|tx| {
            Ok((
                tx.end_browser_session(&TokenDigest::of("cookie"), T0 + Duration::hours(1))?,
                tx.end_browser_session(&TokenDigest::of("cookie"), T0 + Duration::hours(2))?,
                tx.end_browser_session(&TokenDigest::of("other"), T0)?,
            ))
        })
        .expect("end");
    assert_eq!(ended, (true, false, false));
    let read = storage
        .read(|tx| tx.browser_session(&TokenDigest::of("cookie")))
        .expect("read")
        .and_then(|s| s.ended_at);
    assert_eq!(read, Some(T0 + Duration::hours(1)), "the first end counts");
    // A user with a browser session is still a user; its session goes with the purge.
    let purged = storage
        .write(|tx| tx.purge_expired(T0 + Duration::hours(13), T0))
        .expect("purge");
    assert_eq!(purged, 1);
    assert_eq!(
        storage
            .read(|tx| tx.browser_session(&TokenDigest::of("cookie")))
            .expect("read"),
        None
    );
}

fn access(digest: &str, session: u128, user: Option<u128>) -> AccessToken {
    AccessToken {
        digest: TokenDigest::of(digest),
        session_id: Uuid::from_u128(session),
        client_id: Some("c".to_owned()),
        user_id: user.map(Uuid::from_u128),
        scope: "a".to_owned(),
        issued_at: T0,
        expires_at: T0 + Duration::minutes(20),
        revoked_at: None,
    }
}

fn refresh(digest: &str, session: u128) -> RefreshToken {
    RefreshToken {
        digest: TokenDigest::of(digest),
        session_id: Uuid::from_u128(session),
        client_id: Some("c".to_owned()),
        scope: "a".to_owned(),
        issued_at: T0,
        expires_at: T0 + Duration::days(30),
        rotated_at: None,
        successor: None,
        revoked_at: None,
        replayed_at: None,
    }
}

/// `insert_tokens` (one statement on PostgreSQL) stores session, access and refresh token
/// together, or nothing of them; the joined read of an access token hands out its own
/// session and user, and nothing else's.
fn grant_rows_are_written_together_and_read_joined() {
    let (_dir, storage) = open();
    storage
        .write(|tx| {
            tx.upsert_user(&user(1, "alice"))?;
            tx.upsert_user(&user(2, "bob"))?;
            tx.upsert_client(&client("c"))?;
            tx.insert_tokens(
                Some(&session(10, Some(1), Some("c"))),
                &access("at1", 10, Some(1)),
                Some(&refresh("rt1", 10)),
            )?;
            // A rotation: tokens into the existing session.
            tx.insert_tokens(None, &access("at2", 10, Some(1)), Some(&refresh("rt2", 10)))?;
            // A client-credentials grant: no user, no refresh token.
            tx.insert_tokens(
                Some(&session(11, None, Some("c"))),
                &access("cc", 11, None),
                None,
            )?;
            tx.insert_session(&session(12, Some(2), Some("c")))
        })
        .expect("grants");
    // Everything is there, read back as written.
    let (at1, s10, alice, rt2, bob) = storage
        .read(|tx| {
            let at1 = tx.access_token(&TokenDigest::of("at1"))?;
            let s10 = tx.session(Uuid::from_u128(10))?;
            // Not the user read with the token: bob is looked up, not alice handed out.
            let bob = tx.user_by_id(Uuid::from_u128(2))?;
            let alice = tx.user_by_id(Uuid::from_u128(1))?;
            Ok((
                at1,
                s10,
                alice,
                tx.refresh_token(&TokenDigest::of("rt2"))?,
                bob,
            ))
        })
        .expect("read");
    assert_eq!(at1, Some(access("at1", 10, Some(1))));
    assert_eq!(s10, Some(session(10, Some(1), Some("c"))));
    assert_eq!(alice.map(|u| u.user_name), Some("alice".to_owned()));
    assert_eq!(bob.map(|u| u.user_name), Some("bob".to_owned()));
    assert_eq!(rt2, Some(refresh("rt2", 10)));
    let (cc, other, s11, again) = storage
        .read(|tx| {
            let cc = tx.access_token(&TokenDigest::of("cc"))?;
            // Another session than the token's is looked up, not the joined one.
            let other = tx.session(Uuid::from_u128(12))?;
            let s11 = tx.session(Uuid::from_u128(11))?;
            // Asked twice: the second answer comes from the database, the same.
            Ok((cc, other, s11, tx.session(Uuid::from_u128(11))?))
        })
        .expect("read");
    assert_eq!(cc, Some(access("cc", 11, None)));
    assert_eq!(other, Some(session(12, Some(2), Some("c"))));
    assert_eq!(s11, Some(session(11, None, Some("c"))));
    assert_eq!(again, s11);
    assert_eq!(
        storage
            .read(|tx| tx.access_token(&TokenDigest::of("unknown")))
            .expect("read"),
        None
    );

    // The joined reads map every column as the plain reads of a write transaction do (a
    // client with every field set, a failure record with a lock).
    let rng = SeededRng::new(7);
    let full = Client {
        client_id: "full".to_owned(),
        secret_hash: Some(hash_client_secret(&Secret::new("s3cret"), &rng)),
        access_token_lifetime: Some(Duration::seconds(300)),
        refresh_token_lifetime: Some(Duration::seconds(9000)),
        redirect_url: Some("https://app.example/home".to_owned()),
        introspect_any: true,
        consent_required: true,
        client_name: Some("Full".to_owned()),
        ..client("c")
    };
    let record = LoginFailure {
        key: "ip:192.0.2.7".to_owned(),
        failures: 6,
        last_failure_at: T0,
        locked_until: Some(T0 + Duration::seconds(2)),
    };
    let (full2, record2) = (full.clone(), record.clone());
    storage
        .write(move |tx| {
            tx.upsert_client(&full2)?;
            tx.put_login_failure(&record2)
        })
        .expect("write");
    type Read = (
        Option<LoginFailure>,
        Option<Client>,
        Option<AccessToken>,
        Option<Session>,
        Option<User>,
    );
    fn reads<T: gatehouse_domain::store::ReadTx + ?Sized>(tx: &mut T) -> Result<Read, Error> {
        Ok((
            tx.login_failure_before_client("ip:192.0.2.7", "full")?,
            tx.client("full")?,
            tx.access_token(&TokenDigest::of("at1"))?,
            tx.session(Uuid::from_u128(10))?,
            tx.user_by_id(Uuid::from_u128(1))?,
        ))
    }
    let plain = storage.write(|tx| reads(tx)).expect("plain reads");
    let joined = storage.read(|tx| reads(tx)).expect("joined reads");
    assert!(plain == joined, "joined reads differ from plain ones");
    assert_eq!(joined.0, Some(record.clone()));
    assert!(joined.1 == Some(full));
    // An unknown client: the record all the same; no record: the client all the same.
    let (r, c, none, c2) = storage
        .read(|tx| {
            Ok((
                tx.login_failure_before_client("ip:192.0.2.7", "nobody")?,
                tx.client("nobody")?,
                tx.login_failure_before_client("ip:192.0.2.8", "c")?,
                tx.client("c")?,
            ))
        })
        .expect("read");
    assert_eq!(r, Some(record));
    assert!(c.is_none() && none.is_none());
    assert!(c2 == Some(client("c")));

    // A duplicate access token: the statement fails, and the new session is not stored
    // either (nothing half-written).
    let dup = storage.write(|tx| {
        tx.insert_tokens(
            Some(&session(13, Some(1), Some("c"))),
            &access("at1", 13, Some(1)),
            None,
        )
    });
    assert!(matches!(dup, Err(Error::Storage(_))), "{dup:?}");
    // A refresh token for a session that does not exist: a foreign key, nothing stored.
    let orphan = storage.write(|tx| {
        tx.insert_tokens(
            Some(&session(14, Some(1), Some("c"))),
            &access("at14", 14, Some(1)),
            Some(&refresh("rt14", 99)),
        )
    });
    assert!(matches!(orphan, Err(Error::Storage(_))), "{orphan:?}");
    let left = storage
        .read(|tx| {
            Ok((
                tx.session(Uuid::from_u128(13))?,
                tx.session(Uuid::from_u128(14))?,
                tx.access_token(&TokenDigest::of("at14"))?,
            ))
        })
        .expect("read");
    assert_eq!(left, (None, None, None));
    // A write sees what it wrote: the joined read is for snapshots only.
    let ended = storage
        .write(|tx| {
            tx.access_token(&TokenDigest::of("at1"))?;
            tx.end_session(Uuid::from_u128(10), T0)?;
            tx.session(Uuid::from_u128(10))
        })
        .expect("write");
    assert_eq!(ended.and_then(|s| s.ended_at), Some(T0));
}

/// A client's keys live in `client_keys`: every client read (plain, all, and the one joined
/// with the lockout record) brings them, an update without keys removes them, and assertion
/// `jti`s are remembered once per client until they expire.
fn client_keys_and_assertion_jtis_round_trip() {
    let (_dir, storage) = open();
    let jwks = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]}"#;
    let keyed = Client {
        jwks: Some(jwks.to_owned()),
        ..client("keyed")
    };
    let stored = keyed.clone();
    storage
        .write(move |tx| {
            tx.upsert_client(&stored)?;
            tx.upsert_client(&client("plain"))
        })
        .expect("write");
    let (one, joined, all) = storage
        .read(|tx| {
            let _ = tx.login_failure_before_client("ip:192.0.2.9", "keyed")?;
            let joined = tx.client("keyed")?;
            Ok((joined.clone(), joined, tx.clients()?))
        })
        .expect("read");
    assert!(one == Some(keyed.clone()) && joined == Some(keyed.clone()));
    assert_eq!(
        all.iter().map(|c| c.jwks.is_some()).collect::<Vec<_>>(),
        [true, false]
    );
    assert!(keyed.is_confidential(), "keys make a client confidential");
    storage
        .write(|tx| tx.upsert_client(&client("keyed")))
        .expect("remove keys");
    let read = storage.read(|tx| tx.client("keyed")).expect("read");
    assert!(read.is_some_and(|c| c.jwks.is_none()));

    let exp = T0 + Duration::seconds(60);
    let (first, again, other, seen, live) = storage
        .write(move |tx| {
            Ok((
                tx.insert_assertion_jti("keyed", "j1", exp)?,
                tx.insert_assertion_jti("keyed", "j1", exp)?,
                tx.insert_assertion_jti("plain", "j1", exp)?,
                tx.assertion_jti_seen("keyed", "j1", T0)?,
                tx.live_assertion_jtis("keyed")?,
            ))
        })
        .expect("jtis");
    assert_eq!(
        (first, again, other, seen, live),
        (true, false, true, true, 1)
    );
    let (gone, seen_after) = storage
        .write(move |tx| {
            Ok((
                tx.delete_expired_assertion_jtis(Some("keyed"), exp)?,
                tx.assertion_jti_seen("plain", "j1", exp)?,
            ))
        })
        .expect("purge");
    assert_eq!((gone, seen_after), (1, false));
    let left = storage
        .write(move |tx| tx.delete_expired_assertion_jtis(None, exp))
        .expect("purge all");
    assert_eq!(left, 1);
}

both!(
    client_keys_and_assertion_jtis_round_trip,
    grant_rows_are_written_together_and_read_joined,
    account_repositories_round_trip,
    unique_names_and_foreign_keys_are_enforced,
    token_repositories_round_trip,
    browser_sessions_round_trip_end_once_and_are_purged,
);

/// PostgreSQL: the server cuts every connection of a store (a restart, a failover, an idle
/// timeout in a firewall). The reads and the write that follow all succeed: a read whose
/// transaction cannot begin starts over on another connection (no `SELECT 1` before every
/// read), and the writer reconnects before running a batch that could not begin.
#[test]
fn postgres_connections_cut_by_the_server_cost_no_failed_request() {
    crate::support::run(
        crate::support::Backend::Postgres,
        "repos::postgres_connections_cut_by_the_server_cost_no_failed_request",
        connections_cut_by_the_server,
    );
}

fn connections_cut_by_the_server() {
    let cluster = gatehouse_tests::pg::shared("storage suite").expect("cluster");
    {
        let (place, storage) = open_with(StorageOptions {
            read_pool_size: 3,
            ..StorageOptions::default()
        });
        storage
            .write(|tx| tx.upsert_user(&user(1, "alice")))
            .expect("write");
        let label = place.database.to_string();
        let db = label.rsplit('/').next().expect("database name");
        let ours = format!(
            "FROM pg_stat_activity WHERE datname = '{db}' AND application_name = 'gatehouse'"
        );
        let cut_all = || {
            let cut: u32 = cluster
                .psql(
                    "postgres",
                    &format!("SELECT count(pg_terminate_backend(pid)) {ours}"),
                )
                .expect("terminate")
                .parse()
                .expect("a count");
            // Termination is asynchronous: wait until the server has closed them all
            // (readiness, polled; the bound only keeps a broken server from hanging the suite).
            let mut polls = 0;
            while cluster
                .psql("postgres", &format!("SELECT count(*) {ours}"))
                .expect("count")
                != "0"
            {
                polls += 1;
                assert!(polls < 3000, "the server never closed the connections");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            cut
        };
        let cut = cut_all();
        assert!(cut >= 4, "the pool's 3 connections and the writer's: {cut}");
        for _ in 0..6 {
            let alice = storage
                .read(|tx| tx.user_by_name("alice"))
                .expect("a read after the cut");
            assert!(alice.is_some());
        }
        storage
            .write(|tx| tx.upsert_user(&user(2, "bob")))
            .expect("a write after the cut");
        assert!(storage
            .read(|tx| tx.user_by_name("bob"))
            .expect("read")
            .is_some());
        // Reads without a transaction (`read_each`, client authentication): nothing begins
        // first to find a dead connection out, so the failed read itself runs again.
        let cut = cut_all();
        assert!(cut >= 1, "the pool's connections: {cut}");
        for _ in 0..6 {
            let alice = storage
                .read_each(|tx| tx.user_by_name("alice"))
                .expect("a read_each after the cut");
            assert!(alice.is_some());
        }
    }
}
