//! The authorization endpoint's rules over real databases (both backends) with a mock clock: lifetimes of codes
//! and browser sessions, and what a browser session is worth once its user is disabled.

use gatehouse_domain::authorize::{AuthorizationParams, CodeBinding};
use gatehouse_domain::clock::Clock;
use gatehouse_domain::pkce::s256;
use gatehouse_domain::secret::Secret;
use gatehouse_domain::store::Store;
use gatehouse_domain::{Error, GrantKind, GrantRejection};
use time::Duration;

use crate::support::{demo_client, fx};

const CB: &str = "https://app.example/callback";
const VERIFIER: &str = "0123456789012345678901234567890123456789-._~";

fn params() -> AuthorizationParams {
    AuthorizationParams {
        response_type: Some("code".into()),
        client_id: Some("demo-client".into()),
        redirect_uri: Some(CB.into()),
        scope: Some("profile".into()),
        state: Some("s".into()),
        code_challenge: Some(s256(VERIFIER)),
        code_challenge_method: Some("S256".into()),
        ..AuthorizationParams::default()
    }
}

fn binding(verifier: &str) -> CodeBinding {
    CodeBinding {
        redirect_uri: Some(CB.into()),
        code_verifier: Some(verifier.into()),
    }
}

fn codes_expire_and_carry_scope_user_and_login_time() {
    let fx = fx();
    // This service has no signing keys: `openid` is refused (issue 19 item 13), not silently
    // served without an id_token.
    let openid = AuthorizationParams {
        scope: Some("openid".into()),
        ..params()
    };
    assert!(matches!(
        fx.gh.check_authorization(&openid),
        Err(gatehouse_domain::authorize::AuthorizeError::Redirect {
            error: gatehouse_domain::authorize::RedirectError::InvalidScope,
            ..
        })
    ));
    let request = fx.gh.check_authorization(&params()).expect("valid request");
    assert_eq!(request.scope, "profile");
    let login = fx
        .gh
        .browser_login("alice", &Secret::new("alice-password-1"), None)
        .expect("login");
    let code = fx
        .gh
        .issue_authorization_code(&request, &login.session)
        .expect("code");
    let digest = gatehouse_domain::secret::TokenDigest::of(code.code.expose());
    let record = fx
        .store
        .read(move |tx| tx.authorization_code(&digest))
        .expect("read")
        .expect("stored");
    assert_eq!(record.auth_time, Some(login.session.authenticated_at));
    assert_eq!(record.browser_session_id, Some(login.session.id));
    assert_eq!(record.scope.as_deref(), Some("profile"));
    // Within its lifetime: the granted scope, not the client's whole scope.
    let issued = fx
        .gh
        .exchange_code(
            &demo_client(),
            code.code.expose(),
            binding(VERIFIER),
            None,
            true,
        )
        .expect("exchange");
    assert_eq!(issued.scope, "profile");
    // A second code, presented after its 60 seconds: expired, even with the right verifier.
    let late = fx
        .gh
        .issue_authorization_code(&request, &login.session)
        .expect("code");
    fx.clock.advance(Duration::seconds(60));
    assert!(matches!(
        fx.gh.exchange_code(
            &demo_client(),
            late.code.expose(),
            binding(VERIFIER),
            None,
            true
        ),
        Err(Error::InvalidGrant(GrantRejection::Expired(
            GrantKind::AuthorizationCode
        )))
    ));
}

fn browser_sessions_end_by_age_logout_and_disabling() {
    let fx = fx();
    let wrong = fx
        .gh
        .browser_login("alice", &Secret::new("nope"), None)
        .map(|_| ());
    assert!(matches!(wrong, Err(Error::InvalidCredentials)));
    let unknown = fx
        .gh
        .browser_login("nobody", &Secret::new("nope"), None)
        .map(|_| ());
    assert!(matches!(unknown, Err(Error::InvalidCredentials)));
    let login = fx
        .gh
        .browser_login("ALICE", &Secret::new("alice-password-1"), None)
        .expect("login");
    let cookie = login.cookie.expose().to_owned();
    assert!(fx.gh.browser_session(&cookie).expect("read").is_some());
    assert!(fx.gh.browser_session("other").expect("read").is_none());
    fx.clock.advance(Duration::hours(12) - Duration::seconds(1));
    assert!(fx.gh.browser_session(&cookie).expect("read").is_some());
    fx.clock.advance(Duration::seconds(1));
    assert!(
        fx.gh.browser_session(&cookie).expect("read").is_none(),
        "12 hours absolute"
    );

    let bob = fx
        .gh
        .browser_login("bob", &Secret::new("bob-password-1"), None)
        .expect("login");
    let bob_cookie = bob.cookie.expose().to_owned();
    assert!(fx.gh.end_browser_session(&bob_cookie).expect("logout"));
    assert!(!fx
        .gh
        .end_browser_session(&bob_cookie)
        .expect("logout twice"));
    assert!(fx.gh.browser_session(&bob_cookie).expect("read").is_none());

    let again = fx
        .gh
        .browser_login("bob", &Secret::new("bob-password-1"), None)
        .expect("login");
    let again_cookie = again.cookie.expose().to_owned();
    fx.gh.set_user_disabled("bob", true).expect("disable");
    assert!(fx
        .gh
        .browser_session(&again_cookie)
        .expect("read")
        .is_none());
    fx.gh.set_user_disabled("bob", false).expect("enable");
    assert!(
        fx.gh
            .browser_session(&again_cookie)
            .expect("read")
            .is_none(),
        "ended for good: re-enabling does not revive it"
    );
    assert!(
        !format!("{again:?}").contains(&again_cookie),
        "Debug hides the cookie"
    );
}

fn login(fx: &crate::support::Fx, user: &str) -> gatehouse_domain::browser_session::BrowserLogin {
    fx.gh
        .browser_login(user, &Secret::new(format!("{user}-password-1")), None)
        .expect("login")
}

fn exchange(fx: &crate::support::Fx, code: &str) -> Result<gatehouse_domain::IssuedTokens, Error> {
    fx.gh
        .exchange_code(&demo_client(), code, binding(VERIFIER), None, true)
}

fn withdrawn(r: &Result<gatehouse_domain::IssuedTokens, Error>) -> bool {
    matches!(
        r,
        Err(Error::InvalidGrant(GrantRejection::Withdrawn(
            GrantKind::AuthorizationCode
        )))
    )
}

/// Issue 19 item 1: logout withdraws the unredeemed codes of the browser session it ends
/// and ends the token sessions its codes opened; a second browser session of the same user
/// keeps its code; a replacing sign-in withdraws codes but leaves tokens alive (item 4).
fn logout_withdraws_the_codes_of_its_browser_session_only() {
    let fx = fx();
    let request = fx.gh.check_authorization(&params()).expect("valid request");
    let first = login(&fx, "alice");
    let second = login(&fx, "alice");
    let stolen = fx
        .gh
        .issue_authorization_code(&request, &first.session)
        .expect("code");
    let used = fx
        .gh
        .issue_authorization_code(&request, &first.session)
        .expect("code");
    let other = fx
        .gh
        .issue_authorization_code(&request, &second.session)
        .expect("code");
    let tokens = exchange(&fx, used.code.expose()).expect("exchange");
    assert!(fx
        .gh
        .end_browser_session(first.cookie.expose())
        .expect("logout"));
    assert!(
        withdrawn(&exchange(&fx, stolen.code.expose())),
        "withdrawn at logout"
    );
    assert!(
        fx.gh
            .validate_access_token(tokens.access_token.expose())
            .is_err(),
        "logout ends what its codes opened"
    );
    exchange(&fx, other.code.expose()).expect("the other browser session's code lives");

    // A sign-in that replaces the browser session: codes withdrawn, tokens live on.
    let third = login(&fx, "alice");
    let pending = fx
        .gh
        .issue_authorization_code(&request, &third.session)
        .expect("code");
    let done = fx
        .gh
        .issue_authorization_code(&request, &third.session)
        .expect("code");
    let kept = exchange(&fx, done.code.expose()).expect("exchange");
    assert!(fx
        .gh
        .replace_browser_session(third.cookie.expose())
        .expect("replace"));
    assert!(withdrawn(&exchange(&fx, pending.code.expose())));
    fx.gh
        .validate_access_token(kept.access_token.expose())
        .expect("a replacing sign-in is not a logout");
    assert!(
        !fx.gh
            .end_browser_session(third.cookie.expose())
            .expect("already ended"),
        "an ended session is not ended twice"
    );
}

/// Issue 19 item 1: a code whose browser session ended without passing through the logout
/// (a race with the logout; a session deleted by purge) is refused at the exchange.
fn a_code_of_an_ended_browser_session_is_refused() {
    let fx = fx();
    let request = fx.gh.check_authorization(&params()).expect("valid request");
    let session = login(&fx, "alice");
    let code = fx
        .gh
        .issue_authorization_code(&request, &session.session)
        .expect("code");
    let info = session.session.clone();
    let now = fx.clock.now();
    fx.store
        .write(move |tx| {
            // Ends it as a logout racing the issuance would: the code stays unconsumed.
            let digest = gatehouse_domain::secret::TokenDigest::of(session.cookie.expose());
            tx.end_browser_session(&digest, now).map(|_| ())
        })
        .expect("end");
    assert!(matches!(
        exchange(&fx, code.code.expose()),
        Err(Error::InvalidGrant(GrantRejection::BrowserSessionEnded))
    ));
    // And no new code is issued for it (the page read it live just before the logout).
    assert!(matches!(
        fx.gh.issue_authorization_code(&request, &info).map(|_| ()),
        Err(Error::InvalidGrant(GrantRejection::BrowserSessionEnded))
    ));
}

/// Issue 19 item 1: a password change or a disable withdraws every unredeemed code of the
/// user, otc `/admin/login/auth_code` codes included; bob's codes are untouched.
fn password_change_and_disable_withdraw_the_users_codes() {
    let fx = fx();
    let request = fx.gh.check_authorization(&params()).expect("valid request");
    let otc = fx
        .gh
        .issue_auth_code(
            &demo_client(),
            "alice",
            &Secret::new("alice-password-1"),
            None,
        )
        .expect("otc code");
    let browser = login(&fx, "alice");
    let code = fx
        .gh
        .issue_authorization_code(&request, &browser.session)
        .expect("code");
    let bob = login(&fx, "bob");
    let bobs = fx
        .gh
        .issue_authorization_code(&request, &bob.session)
        .expect("code");
    fx.gh
        .set_password("alice", &Secret::new("alice-password-2"))
        .expect("passwd");
    assert!(matches!(
        fx.gh
            .exchange_auth_code(&demo_client(), otc.code.expose(), None, true)
            .map(|_| ()),
        Err(Error::InvalidGrant(GrantRejection::Withdrawn(
            GrantKind::AuthorizationCode
        )))
    ));
    assert!(withdrawn(&exchange(&fx, code.code.expose())));
    exchange(&fx, bobs.code.expose()).expect("bob's code is bob's");

    let otc = fx
        .gh
        .issue_auth_code(
            &demo_client(),
            "alice",
            &Secret::new("alice-password-2"),
            None,
        )
        .expect("otc code");
    fx.gh.set_user_disabled("alice", true).expect("disable");
    fx.gh.set_user_disabled("alice", false).expect("enable");
    assert!(matches!(
        fx.gh
            .exchange_auth_code(&demo_client(), otc.code.expose(), None, true)
            .map(|_| ()),
        Err(Error::InvalidGrant(GrantRejection::Withdrawn(_)))
    ));
}

/// Issue 19 item 2: outstanding codes per browser session (8) and per user (16), and 30
/// issued a minute per user; expired unredeemed codes are deleted at the next issuance.
fn code_issuance_is_capped_per_browser_session_user_and_minute() {
    let fx = fx();
    let request = fx.gh.check_authorization(&params()).expect("valid request");
    let issue = |s: &gatehouse_domain::browser_session::BrowserLogin| {
        fx.gh.issue_authorization_code(&request, &s.session)
    };
    let retry = |r: Result<gatehouse_domain::IssuedCode, Error>| match r {
        Err(e @ Error::RateLimited { .. }) => e.retry_after_secs(),
        other => panic!("expected RateLimited, got {:?}", other.map(|_| ())),
    };
    let sessions: Vec<_> = (0..3).map(|_| login(&fx, "alice")).collect();
    for _ in 0..8 {
        issue(&sessions[0]).expect("within the browser session's cap");
    }
    assert_eq!(retry(issue(&sessions[0])), Some(60));
    for _ in 0..8 {
        issue(&sessions[1]).expect("another browser session");
    }
    assert_eq!(retry(issue(&sessions[2])), Some(60), "16 per user");
    // Bob is not alice's neighbour in any cap.
    let bob = login(&fx, "bob");
    issue(&bob).expect("bob's own caps");
    // After a minute the codes expired: deleted at the next issuance.
    fx.clock.advance(Duration::seconds(61));
    for _ in 0..8 {
        issue(&sessions[2]).expect("expired codes no longer count");
    }
    let now = fx.clock.now();
    let alive: u64 = fx
        .store
        .read(move |tx| {
            tx.outstanding_authorization_codes_of_user(
                uuid::Uuid::parse_str("a11ce000-0000-4000-8000-000000000001").expect("id"),
                now,
            )
        })
        .expect("count");
    assert_eq!(alive, 8);
    // The rate: 30 a minute, whatever the outstanding count (exchanging frees the caps).
    let mut issued = 8; // this window (it began at the first issuance after the minute).
    let verifier = binding(VERIFIER);
    loop {
        match issue(&sessions[0]) {
            Ok(code) => {
                issued += 1;
                fx.gh
                    .exchange_code(
                        &demo_client(),
                        code.code.expose(),
                        verifier.clone(),
                        None,
                        false,
                    )
                    .expect("exchange");
            }
            Err(e @ Error::RateLimited { .. }) => {
                assert!(e.retry_after_secs().is_some_and(|s| s <= 60));
                break;
            }
            Err(e) => panic!("{e}"),
        }
        assert!(issued <= 30, "the rate holds");
    }
    assert_eq!(issued, 30, "the 31st of the window is refused");
}

/// Issue 19 item 3: what one logout reads. SQLite: `EXPLAIN QUERY PLAN` of every statement
/// the logout runs on `authorization_codes` shows an index search, never `SCAN`.
/// PostgreSQL: with sequential scans priced out, the transaction's own statistics
/// (`pg_stat_xact_user_tables`) show no sequential scan of `authorization_codes` and no row
/// read by one. Without the index of issue 19 both fail (a logout scanned every code row).
fn logout_reads_by_index() {
    use diesel::connection::{Instrumentation, InstrumentationEvent};
    use diesel::prelude::*;
    use gatehouse_domain::browser_session::{end_browser_session_in, Ending};
    use gatehouse_domain::secret::TokenDigest;
    use gatehouse_storage::Tx;
    use std::sync::{Arc, Mutex};

    let fx = crate::support::fx_with(gatehouse_domain::Config {
        max_auth_codes_per_user: 1000,
        auth_code_rate: 1000,
        ..gatehouse_domain::Config::default()
    });
    let request = fx.gh.check_authorization(&params()).expect("valid request");
    // Other browser sessions' codes, so a scan would have rows to read.
    for _ in 0..20 {
        let s = login(&fx, "bob");
        for _ in 0..4 {
            let code = fx
                .gh
                .issue_authorization_code(&request, &s.session)
                .expect("code");
            if code.code.expose().starts_with(['a', 'b', 'c', 'd']) {
                exchange(&fx, code.code.expose()).expect("exchange");
            }
        }
    }
    let mine = login(&fx, "alice");
    let code = fx
        .gh
        .issue_authorization_code(&request, &mine.session)
        .expect("code");
    exchange(&fx, code.code.expose()).expect("exchange");
    fx.gh
        .issue_authorization_code(&request, &mine.session)
        .expect("code");
    let digest = TokenDigest::of(mine.cookie.expose());
    let now = fx.clock.now();

    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let record = {
        let seen = seen.clone();
        move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::StartQuery { query, .. } = event {
                let text = query.to_string();
                let sql = text
                    .split(" -- binds:")
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                seen.lock().expect("lock").push(sql);
            }
        }
    };
    let url = fx.place.url.clone();
    match crate::support::backend() {
        crate::support::Backend::Sqlite => {
            let mut conn = SqliteConnection::establish(&url).expect("connect");
            conn.set_instrumentation(Box::new(record) as Box<dyn Instrumentation>);
            conn.transaction::<_, diesel::result::Error, _>(|conn| {
                let mut tx = Tx::new(conn);
                assert!(
                    end_browser_session_in(&mut tx, &digest, now, Ending::Logout).expect("logout")
                );
                Ok(())
            })
            .expect("transaction");
            conn.set_instrumentation(None::<Box<dyn Instrumentation>>);
            #[derive(QueryableByName)]
            struct Plan {
                #[diesel(sql_type = diesel::sql_types::Text)]
                detail: String,
            }
            let statements: Vec<String> = seen.lock().expect("lock").clone();
            let on_codes: Vec<&String> = statements
                .iter()
                .filter(|s| s.contains("authorization_codes"))
                .collect();
            assert!(on_codes.len() >= 2, "{statements:?}");
            for sql in on_codes {
                let plan: Vec<Plan> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                    .load(&mut conn)
                    .expect("plan");
                let details: Vec<&str> = plan.iter().map(|p| p.detail.as_str()).collect();
                assert!(
                    !details
                        .iter()
                        .any(|d| d.starts_with("SCAN authorization_codes")),
                    "{sql}: {details:?}"
                );
                assert!(
                    details
                        .iter()
                        .any(|d| d.contains("authorization_codes_browser_session")),
                    "{sql}: {details:?}"
                );
            }
        }
        crate::support::Backend::Postgres => {
            let mut conn = PgConnection::establish(&url).expect("connect");
            diesel::sql_query("ANALYZE authorization_codes")
                .execute(&mut conn)
                .expect("analyze");
            #[derive(QueryableByName)]
            struct Stat {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                seq_scan: i64,
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                seq_tup_read: i64,
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                idx_scan: i64,
            }
            let stat = conn
                .transaction::<_, diesel::result::Error, _>(|conn| {
                    diesel::sql_query("SET LOCAL enable_seqscan = off").execute(conn)?;
                    let mut tx = Tx::new(conn);
                    assert!(
                        end_browser_session_in(&mut tx, &digest, now, Ending::Logout)
                            .expect("logout")
                    );
                    diesel::sql_query(
                        "SELECT seq_scan, seq_tup_read, COALESCE(idx_scan, 0) AS idx_scan \
                         FROM pg_stat_xact_user_tables WHERE relname = 'authorization_codes'",
                    )
                    .get_result::<Stat>(conn)
                })
                .expect("transaction");
            assert_eq!(
                (stat.seq_scan, stat.seq_tup_read),
                (0, 0),
                "no scan of the codes"
            );
            assert!(stat.idx_scan >= 2, "by index: {}", stat.idx_scan);
        }
    }
    // The logout did its work: the unredeemed code withdrawn, the session ended.
    assert!(fx
        .gh
        .browser_session(mine.cookie.expose())
        .expect("read")
        .is_none());
}

both!(
    codes_expire_and_carry_scope_user_and_login_time,
    browser_sessions_end_by_age_logout_and_disabling,
    logout_withdraws_the_codes_of_its_browser_session_only,
    a_code_of_an_ended_browser_session_is_refused,
    password_change_and_disable_withdraw_the_users_codes,
    code_issuance_is_capped_per_browser_session_user_and_minute,
    logout_reads_by_index,
);

/// Issue 19 item 3's figures (docs/security.md row 45), not an assertion: the cost of one
/// logout with 250,000 other code rows, with the indexes of migration
/// `2026-12-06-000100_authz` and with them dropped (the state before). Run by hand:
/// `cargo test --release -p gatehouse-storage --test it logout_cost -- --ignored --nocapture`
/// (PostgreSQL too with `GATEHOUSE_TEST_PG_BIN`).
#[test]
#[ignore = "a measurement for docs/security.md, not a test"]
fn logout_cost_at_250k_codes() {
    for backend in [
        crate::support::Backend::Sqlite,
        crate::support::Backend::Postgres,
    ] {
        crate::support::run(backend, "logout_cost_at_250k_codes", measure_logout_cost);
    }
}

fn measure_logout_cost() {
    use diesel::prelude::*;
    use std::time::Instant;

    let fx = crate::support::fx_with(gatehouse_domain::Config {
        max_auth_codes_per_user: 1_000_000,
        max_auth_codes_per_browser_session: 1_000_000,
        auth_code_rate: 1_000_000,
        ..gatehouse_domain::Config::default()
    });
    let request = fx.gh.check_authorization(&params()).expect("valid request");
    let far = 4_102_444_800_000_000_i64; // 2100-01-01 in microseconds
    let fill = |conn_sql: &dyn Fn(&str)| {
        let series = match crate::support::backend() {
            crate::support::Backend::Sqlite => {
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 250000) \
                 SELECT randomblob(32), 'demo-client', 'b0b00000-0000-4000-8000-000000000002', 0, \
                 FAR, NULL, NULL, lower(hex(randomblob(16))) FROM c"
            }
            crate::support::Backend::Postgres => {
                "SELECT decode(md5(x::text) || md5((x + 1)::text), 'hex'), 'demo-client', \
                 'b0b00000-0000-4000-8000-000000000002', 0, FAR, NULL, NULL, md5(x::text) \
                 FROM generate_series(1, 250000) AS x"
            }
        };
        conn_sql(&format!(
            "INSERT INTO authorization_codes (digest, client_id, user_id, issued_at, expires_at, \
             consumed_at, session_id, browser_session_id) {}",
            series.replace("FAR", &far.to_string())
        ));
    };
    let url = fx.place.url.clone();
    let sql = |text: &str| match crate::support::backend() {
        crate::support::Backend::Sqlite => {
            let mut conn = SqliteConnection::establish(&url).expect("connect");
            diesel::sql_query(text).execute(&mut conn).expect(text);
        }
        crate::support::Backend::Postgres => {
            let mut conn = PgConnection::establish(&url).expect("connect");
            diesel::sql_query(text).execute(&mut conn).expect(text);
        }
    };
    fill(&sql);
    sql("ANALYZE");
    let logouts = |label: &str| {
        let mut times = Vec::new();
        for _ in 0..7 {
            let s = login(&fx, "alice");
            let code = fx
                .gh
                .issue_authorization_code(&request, &s.session)
                .expect("code");
            exchange(&fx, code.code.expose()).expect("exchange");
            fx.gh
                .issue_authorization_code(&request, &s.session)
                .expect("code");
            let t = Instant::now();
            assert!(fx
                .gh
                .end_browser_session(s.cookie.expose())
                .expect("logout"));
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "{:?} {label}: logout with 250k code rows, median {:?} (min {:?}, max {:?})",
            crate::support::backend(),
            times[3],
            times[0],
            times[6]
        );
    };
    logouts("with the indexes");
    sql("DROP INDEX authorization_codes_browser_session");
    sql("DROP INDEX authorization_codes_user");
    logouts("without them (before issue 19)");
}
