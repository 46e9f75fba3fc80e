//! The operator's repositories: open sessions of a user, lockout records by prefix (LIKE
//! wildcards in the prefix match themselves), deleting a user or a client with everything
//! that hangs on them, and nothing of anyone else.

use gatehouse_domain::browser_session::BrowserSession;
use gatehouse_domain::model::{
    AccessToken, Client, GrantSet, LoginFailure, NewMember, Session, SubAccount, User, UserFlags,
};
use gatehouse_domain::secret::TokenDigest;
use gatehouse_domain::store::Store;
use gatehouse_storage::StorageOptions;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::support::open_with;

const T0: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

fn user(id: u128, name: &str) -> User {
    User {
        id: Uuid::from_u128(id),
        user_name: name.to_owned(),
        password_hash: "pbkdf2-sha256$1000$s$h".to_owned(),
        flags: UserFlags::default(),
        created_at: T0,
        profile: Default::default(),
    }
}

fn client(id: &str) -> Client {
    Client {
        client_id: id.to_owned(),
        secret_hash: None,
        grants: GrantSet::all(),
        scope: String::new(),
        access_token_lifetime: None,
        refresh_token_lifetime: None,
        redirect_url: None,
        broker_id: None,
        introspect_any: false,
        redirect_uris: Vec::new(),
        consent_required: false,
        client_name: None,
        access_token_format: Default::default(),
        signing: Default::default(),
        jwks: None,
    }
}

fn session(id: u128, user: Option<u128>, client: &str, minute: i64) -> Session {
    Session {
        id: Uuid::from_u128(id),
        client_id: Some(client.to_owned()),
        user_id: user.map(Uuid::from_u128),
        client_key: None,
        caller_ip: Some("192.0.2.1".to_owned()),
        created_at: T0 + Duration::minutes(minute),
        last_used_at: T0 + Duration::minutes(minute),
        ended_at: None,
        parent_id: None,
        source_token: None,
        expires_at: None,
        grant: None,
    }
}

fn token(name: &str, session: u128, client: &str) -> AccessToken {
    AccessToken {
        digest: TokenDigest::of(name),
        session_id: Uuid::from_u128(session),
        client_id: Some(client.to_owned()),
        user_id: None,
        scope: String::new(),
        issued_at: T0,
        expires_at: T0 + Duration::hours(1),
        revoked_at: None,
    }
}

fn failure(key: &str) -> LoginFailure {
    LoginFailure {
        key: key.to_owned(),
        failures: 1,
        last_failure_at: T0,
        locked_until: None,
    }
}

fn operator_repositories_list_delete_and_match_prefixes() {
    let (_dir, storage) = open_with(StorageOptions::default());
    storage
        .write(|tx| {
            tx.upsert_user(&user(1, "alice"))?;
            tx.upsert_user(&user(2, "bob"))?;
            tx.upsert_client(&client("c1"))?;
            tx.upsert_client(&client("c2"))?;
            let member = tx.upsert_member(&NewMember {
                id: None,
                member_id: "1234".to_owned(),
                user_id: Uuid::from_u128(1),
            })?;
            tx.upsert_sub_account(&SubAccount {
                id: 8,
                member: member.id,
            })?;
            tx.insert_session(&session(10, Some(1), "c1", 1))?;
            tx.insert_session(&session(11, Some(1), "c2", 2))?;
            tx.insert_session(&session(14, Some(1), "c2", 3))?;
            tx.end_session(Uuid::from_u128(11), T0)?;
            tx.insert_session(&session(12, Some(2), "c1", 1))?;
            tx.insert_session(&session(13, None, "c2", 1))?;
            tx.insert_access_token(&token("t10", 10, "c1"))?;
            tx.insert_access_token(&token("t12", 12, "c1"))?;
            tx.insert_access_token(&token("t13", 13, "c2"))?;
            tx.insert_browser_session(&BrowserSession {
                digest: TokenDigest::of("cookie"),
                id: Uuid::from_u128(99),
                user_id: Uuid::from_u128(1),
                authenticated_at: T0,
                expires_at: T0 + Duration::hours(12),
                ended_at: None,
            })?;
            for key in [
                "user:alice",
                "user:alax",
                "user:al_x",
                "user:al%y",
                "ip:192.0.2.1",
            ] {
                tx.put_login_failure(&failure(key))?;
            }
            Ok(())
        })
        .expect("seed");

    storage
        .read(|tx| {
            let open: Vec<Uuid> = tx
                .open_sessions_of_user(Uuid::from_u128(1), 10)?
                .into_iter()
                .map(|s| s.id)
                .collect();
            assert_eq!(
                open,
                [Uuid::from_u128(14), Uuid::from_u128(10)],
                "newest first"
            );
            assert_eq!(tx.open_sessions_of_user(Uuid::from_u128(1), 1)?.len(), 1);
            assert_eq!(
                tx.open_browser_sessions_of_user(Uuid::from_u128(1), 10)?
                    .len(),
                1
            );
            assert!(tx
                .open_browser_sessions_of_user(Uuid::from_u128(2), 10)?
                .is_empty());
            let keys = |prefix: Option<&str>, tx: &mut dyn gatehouse_domain::store::ReadTx| {
                Ok::<_, gatehouse_domain::Error>(
                    tx.login_failures(prefix, 10)?
                        .into_iter()
                        .map(|f| f.key)
                        .collect::<Vec<_>>(),
                )
            };
            assert_eq!(
                keys(Some("user:al_"), tx)?,
                ["user:al_x"],
                "_ is no wildcard"
            );
            assert_eq!(
                keys(Some("user:al%"), tx)?,
                ["user:al%y"],
                "% is no wildcard"
            );
            assert_eq!(keys(Some("ip:"), tx)?, ["ip:192.0.2.1"]);
            assert_eq!(keys(None, tx)?.len(), 5);
            assert_eq!(tx.login_failures(None, 2)?.len(), 2, "capped");
            Ok(())
        })
        .expect("reads");

    // Deleting alice takes her sessions, tokens, browser sessions, member record and
    // sub-accounts, and nothing of bob's.
    let deleted = storage
        .write(|tx| {
            Ok((
                tx.delete_user(Uuid::from_u128(1))?,
                tx.delete_user(Uuid::from_u128(1))?,
            ))
        })
        .expect("delete user");
    assert_eq!(deleted, (true, false));
    storage
        .read(|tx| {
            assert!(tx.user_by_name("alice")?.is_none());
            assert!(tx.session(Uuid::from_u128(10))?.is_none());
            assert!(tx.session(Uuid::from_u128(11))?.is_none());
            assert!(tx.access_token(&TokenDigest::of("t10"))?.is_none());
            assert!(tx.browser_session(&TokenDigest::of("cookie"))?.is_none());
            assert!(tx.member_by_member_id("1234")?.is_none());
            assert!(tx.sub_account(8)?.is_none());
            assert!(tx.user_by_name("bob")?.is_some());
            assert!(tx.access_token(&TokenDigest::of("t12"))?.is_some());
            Ok(())
        })
        .expect("after user");

    // Deleting c1 takes the sessions it opened (bob's) and their tokens; c2's stay.
    let deleted = storage
        .write(|tx| Ok((tx.delete_client("c1")?, tx.delete_client("c1")?)))
        .expect("delete client");
    assert_eq!(deleted, (true, false));
    storage
        .read(|tx| {
            assert!(tx.client("c1")?.is_none());
            assert!(tx.session(Uuid::from_u128(12))?.is_none());
            assert!(tx.access_token(&TokenDigest::of("t12"))?.is_none());
            assert!(tx.user_by_name("bob")?.is_some(), "the user stays");
            assert!(tx.session(Uuid::from_u128(13))?.is_some());
            assert!(tx.access_token(&TokenDigest::of("t13"))?.is_some());
            Ok(())
        })
        .expect("after client");
}

both!(operator_repositories_list_delete_and_match_prefixes);
