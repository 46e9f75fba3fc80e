//! No SQL compiled per request (issue 23): after a warm-up, a few hundred requests of every
//! hot path (each grant type, in the katana, v1, otc, onetime, member and standard dialects,
//! introspection, revocation, refresh, code exchange, failed and successful logins) compile
//! no statement. The count is SQLite's own (its authorizer runs only while SQL compiles),
//! read from `/metrics` as `gatehouse_sql_compiles_total`.

use gatehouse_tests::{Request, Response};
use serde_json::Value;

use crate::support::Server;

fn compiles(server: &Server) -> u64 {
    let res = server.send(Request::get("/metrics"));
    let text = res.text();
    text.lines()
        .find_map(|l| l.strip_prefix("gatehouse_sql_compiles_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no gatehouse_sql_compiles_total in {text}"))
}

fn ok(res: &Response) -> Value {
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()
}

fn field(v: &Value, path: &[&str]) -> String {
    let mut at = v;
    for key in path {
        at = &at[*key];
    }
    at.as_str()
        .unwrap_or_else(|| panic!("{path:?} missing in {v}"))
        .to_owned()
}

fn v1(server: &Server, form: &str) -> Value {
    ok(&server.send(
        Request::post("/api/v1/auth/token")
            .basic("demo-client", "demo-secret")
            .form(form),
    ))
}

fn standard(server: &Server, form: &str) -> Value {
    ok(&server.send(
        Request::post("/oauth2/token")
            .basic("demo-client", "demo-secret")
            .form(form),
    ))
}

fn introspect(server: &Server, token: &str) {
    let v = ok(&server.send(
        Request::post("/oauth2/introspect")
            .basic("demo-client", "demo-secret")
            .form(&format!("token={token}")),
    ));
    assert_eq!(v["active"], true, "{v}");
}

fn revoke(server: &Server, token: &str) {
    let res = server.send(
        Request::post("/oauth2/revoke")
            .basic("demo-client", "demo-secret")
            .form(&format!("token={token}")),
    );
    assert_eq!(res.status, 200, "{}", res.text());
}

fn auth_code(server: &Server) -> String {
    let v = ok(&server.send(Request::post("/admin/login/auth_code").form(
        "ClientId=demo-client&ClientSecret=demo-secret&Username=alice&Password=alice-password-1",
    )));
    field(&v, &["Body", "AuthCode"])
}

/// One request of every hot path (about 25 requests).
fn round(server: &Server) {
    // katana password grant, then its refresh; introspection of the access token.
    let katana = ok(&server.send(
        Request::post("/token")
            .form("grant_type=password&userName=alice&password=alice-password-1"),
    ));
    introspect(server, &field(&katana, &["access_token"]));
    if let Some(refresh) = katana["refresh_token"].as_str() {
        ok(&server.send(
            Request::post("/token")
                .form(&format!("grant_type=refresh_token&refresh_token={refresh}")),
        ));
    }

    // v1: password, refresh (rotation), client credentials, authorization code.
    let login = v1(
        server,
        "grant_type=password&username=alice&password=alice-password-1",
    );
    let refreshed = v1(
        server,
        &format!(
            "grant_type=refresh_token&refresh_token={}",
            field(&login, &["refresh_token"])
        ),
    );
    introspect(server, &field(&refreshed, &["access_token"]));
    let cc = v1(server, "grant_type=client_credentials");
    introspect(server, &field(&cc, &["access_token"]));
    revoke(server, &field(&cc, &["access_token"]));
    let code = auth_code(server);
    let exchanged = v1(
        server,
        &format!("grant_type=authorization_code&code={code}"),
    );
    revoke(server, &field(&exchanged, &["refresh_token"]));

    // otc: the code exchange.
    let code = auth_code(server);
    let otc = ok(
        &server.send(Request::post("/admin/login/token").json(&format!(
            r#"{{"ClientId":"demo-client","ClientSecret":"demo-secret","AuthCode":"{code}"}}"#
        ))),
    );
    introspect(server, &field(&otc, &["Body", "AccessToken"]));

    // onetime: issued by a client for a user, redeemed.
    let issued = ok(&server.send(
        Request::post("/oauth2/onetime/token")
            .basic("demo-client", "demo-secret")
            .json(r#"{"clientId":"demo-client","userName":"alice","tradingAccount":"TA-1001","server":"demo-live"}"#),
    ));
    ok(&server.send(
        Request::post("/oauth2/onetime/authorize")
            .basic("demo-client", "demo-secret")
            .json(&format!(r#"{{"code":"{}"}}"#, field(&issued, &["code"]))),
    ));

    // member dialect.
    ok(&server.send(
        Request::post("/api/token/").json(r#"{"MemberId":"1234","Password":"alice-password-1"}"#),
    ));

    // the standard endpoint: client credentials, password, refresh.
    let cc = standard(server, "grant_type=client_credentials");
    introspect(server, &field(&cc, &["access_token"]));
    let pw = standard(
        server,
        "grant_type=password&username=bob&password=bob-password-1",
    );
    if let Some(refresh) = pw["refresh_token"].as_str() {
        standard(
            server,
            &format!("grant_type=refresh_token&refresh_token={refresh}"),
        );
    }

    // A failed login (the lockout count goes up), then a good one (it is cleared).
    let res = v1_raw(server, "grant_type=password&username=bob&password=wrong");
    assert_eq!(res.status, 400, "{}", res.text());
    v1(
        server,
        "grant_type=password&username=bob&password=bob-password-1",
    );
}

fn v1_raw(server: &Server, form: &str) -> Response {
    server.send(
        Request::post("/api/v1/auth/token")
            .basic("demo-client", "demo-secret")
            .form(form),
    )
}

#[test]
fn hot_paths_compile_no_sql_after_warm_up() {
    // Failures are counted (and cleared) every round; none reaches a lock.
    let server = Server::start_with(|s| s.lockout_free_failures = 1_000);
    let start = compiles(&server);
    round(&server);
    round(&server);
    let warm = compiles(&server);
    assert!(
        warm > start,
        "the warm-up compiled its statements: {start} -> {warm}"
    );
    for _ in 0..12 {
        round(&server);
    }
    assert_eq!(
        compiles(&server),
        warm,
        "a request compiled SQL after the warm-up (find it with \
         GATEHOUSE_LOG=gatehouse_sql_compile=debug)"
    );
}
