//! Every flow end to end over HTTP: password and refresh with rotation and reuse, client
//! credentials, authorization code and its exchange at both places, one-time codes,
//! introspection, revocation and what revocation ends.

use gatehouse_tests::Request;
use serde_json::Value;

use crate::support::{settings_of, Server, BROKER};

const ALICE_ID: &str = "a11ce000-0000-4000-8000-000000000001";

fn v1(server: &Server, form: &str) -> gatehouse_tests::Response {
    server.send(
        Request::post("/api/v1/auth/token")
            .basic("demo-client", "demo-secret")
            .form(form),
    )
}

fn s(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
        .to_owned()
}

#[test]
fn refresh_rotates_and_a_replay_ends_the_family() {
    let server = Server::start();
    let login = server.v1_login("alice", "alice-password-1");
    let (access1, refresh1) = (s(&login, "access_token"), s(&login, "refresh_token"));
    let session = s(&login, "session_state");

    let res = v1(
        &server,
        &format!("grant_type=refresh_token&refresh_token={refresh1}"),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    let second = res.json();
    let (access2, refresh2) = (s(&second, "access_token"), s(&second, "refresh_token"));
    assert_ne!(refresh1, refresh2, "refresh tokens rotate");
    assert_eq!(s(&second, "session_state"), session, "same session");
    assert!(server.active(&access1) && server.active(&access2));

    // The rotated token again: invalid_grant, and the whole session ends.
    let res = v1(
        &server,
        &format!("grant_type=refresh_token&refresh_token={refresh1}"),
    );
    assert_eq!(res.status, 400, "{}", res.text());
    assert_eq!(res.json()["error"], "invalid_grant");
    for token in [&access1, &access2, &refresh2] {
        assert!(!server.active(token), "family ended");
    }
    let res = v1(
        &server,
        &format!("grant_type=refresh_token&refresh_token={refresh2}"),
    );
    assert_eq!(res.status, 400);
}

#[test]
fn refresh_grace_window_answers_a_concurrent_retry() {
    let server = Server::start_with(|a| a.refresh_grace = 30);
    let login = server.v1_login("alice", "alice-password-1");
    let refresh1 = s(&login, "refresh_token");
    let first = v1(
        &server,
        &format!("grant_type=refresh_token&refresh_token={refresh1}"),
    );
    assert_eq!(first.status, 200);
    // Within the grace window the old token still yields a pair, and the session lives on.
    let retry = v1(
        &server,
        &format!("grant_type=refresh_token&refresh_token={refresh1}"),
    );
    assert_eq!(retry.status, 200, "{}", retry.text());
    assert!(server.active(&s(&first.json(), "access_token")));
}

#[test]
fn public_client_refreshes_without_a_secret() {
    let server = Server::start();
    let res = server
        .send(Request::post("/api/v1/auth/token").form(
            "grant_type=password&client_id=demo-public&username=bob&password=bob-password-1",
        ));
    assert_eq!(res.status, 200, "{}", res.text());
    let refresh = s(&res.json(), "refresh_token");
    assert_eq!(res.json()["redirect_url"], Value::Null);
    let res = server.send(Request::post("/api/v1/auth/token").form(&format!(
        "grant_type=refresh_token&client_id=demo-public&refresh_token={refresh}"
    )));
    assert_eq!(res.status, 200, "{}", res.text());
    // Another client may not use it.
    let refresh = s(&res.json(), "refresh_token");
    let res = v1(
        &server,
        &format!("grant_type=refresh_token&refresh_token={refresh}"),
    );
    assert_eq!(res.status, 400, "{}", res.text());
    assert_eq!(res.json()["error"], "invalid_grant");
}

#[test]
fn client_credentials() {
    let server = Server::start();
    let res = server.send(
        Request::post("/api/v1/auth/token")
            .basic("demo-client", "demo-secret")
            .json(r#"{"grant_type":"client_credentials","scope":"openid"}"#),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    let v = res.json();
    assert_eq!(v["refresh_token"], Value::Null);
    assert_eq!(v["refresh_expires_in"], 0);
    assert_eq!(v["is_editor"], false);
    assert_eq!(v["scope"], "openid");
    let info = server.introspect(&s(&v, "access_token"));
    assert_eq!(info["active"], true);
    assert_eq!(info["client_id"], "demo-client");
    // Public clients cannot.
    let res = server.send(
        Request::post("/api/v1/auth/token")
            .form("grant_type=client_credentials&client_id=demo-public"),
    );
    assert_eq!(res.status, 400, "{}", res.text());
    assert_eq!(res.json()["error"], "unauthorized_client");
}

fn auth_code(server: &Server) -> String {
    let res = server.send(Request::post("/admin/login/auth_code").form(
        "ClientId=demo-client&ClientSecret=demo-secret&Username=alice&Password=alice-password-1",
    ));
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()["Body"]["AuthCode"]
        .as_str()
        .expect("code")
        .to_owned()
}

#[test]
fn auth_code_exchanged_once_at_otc_then_replayed_at_v1() {
    let server = Server::start();
    let code = auth_code(&server);
    let res = server.send(Request::post("/admin/login/token").json(&format!(
        r#"{{"ClientId":"demo-client","ClientSecret":"demo-secret","AuthCode":"{code}"}}"#
    )));
    assert_eq!(res.status, 200, "{}", res.text());
    let v = res.json();
    assert_eq!(v["Header"]["StatusCode"], 0);
    assert_eq!(v["Body"]["TokenType"], "Bearer");
    assert_eq!(v["Body"]["ExpiresIn"], 1200);
    let access = v["Body"]["AccessToken"].as_str().expect("token").to_owned();
    let info = server.introspect(&access);
    assert_eq!(info["username"], "alice");
    assert_eq!(info["sub"], ALICE_ID);

    // The same code at v1: refused, and what the first exchange produced is revoked.
    let res = v1(
        &server,
        &format!("grant_type=authorization_code&code={code}"),
    );
    assert_eq!(res.status, 400, "{}", res.text());
    assert_eq!(res.json()["error"], "invalid_grant");
    assert!(!server.active(&access));
}

#[test]
fn auth_code_exchanged_at_v1_then_replayed_at_otc() {
    let server = Server::start();
    let code = auth_code(&server);
    let res = v1(
        &server,
        &format!("grant_type=authorization_code&code={code}"),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    let v = res.json();
    assert!(v["refresh_token"].is_string());
    let access = s(&v, "access_token");
    let res = server.send(Request::post("/admin/login/token").form(&format!(
        "ClientId=demo-client&ClientSecret=demo-secret&AuthCode={code}"
    )));
    assert_eq!(res.status, 400, "{}", res.text());
    let v = res.json();
    assert_eq!(v["Header"]["Status"], "InvalidCode");
    assert_eq!(v["Body"], Value::Null);
    assert!(!server.active(&access));
}

#[test]
fn auth_code_needs_an_operator() {
    let server = Server::start();
    let before = server.count("authorization_codes");
    let res = server.send(Request::post("/admin/login/auth_code").form(
        "ClientId=demo-client&ClientSecret=demo-secret&Username=bob&Password=bob-password-1",
    ));
    assert_eq!(res.status, 403, "{}", res.text());
    let v = res.json();
    assert_eq!(v["Header"]["StatusCode"], 4);
    assert_eq!(v["Header"]["Status"], "Forbidden");
    assert!(v["Header"]["ErrorId"].is_string());
    assert_eq!(server.count("authorization_codes"), before);
}

#[test]
fn onetime_code_issued_by_a_user_and_redeemed_once() {
    let server = Server::start();
    let token = server.alice_token();
    let res = server.send(Request::post("/oauth2/onetime/token").bearer(&token).json(&format!(
        r#"{{"clientId":"demo-client","brokerId":"{BROKER}","tradingAccount":"TA-1001","server":"demo-live","payload":{{"lang":"en","Theme":"dark & <light>"}}}}"#
    )));
    assert_eq!(res.status, 200, "{}", res.text());
    let code = s(&res.json(), "code");

    let res = server.send(
        Request::post("/oauth2/onetime/authorize")
            .basic("demo-client", "demo-secret")
            .json(&format!(r#"{{"code":"{code}"}}"#)),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    let v = res.json();
    assert_eq!(v["userId"], ALICE_ID);
    assert_eq!(v["userName"], "alice");
    assert_eq!(v["brokerId"], BROKER);
    assert_eq!(v["tradingAccount"], "TA-1001");
    assert_eq!(v["server"], "demo-live");
    assert_eq!(v["payload"]["Theme"], "dark & <light>");
    assert_eq!(v["tokenType"], "Bearer");
    let access = s(&v, "accessToken");
    assert!(server.active(&access));

    // Redeemed twice: refused, and the first redemption's token is revoked.
    let res = server.send(
        Request::post("/oauth2/onetime/authorize")
            .basic("demo-client", "demo-secret")
            .json(&format!(r#"{{"code":"{code}"}}"#)),
    );
    assert_eq!(res.status, 400, "{}", res.text());
    assert!(
        res.json()["message"].is_string(),
        "onetime errors are camelCase"
    );
    assert!(!server.active(&access));
}

#[test]
fn onetime_code_in_xml_and_by_a_client_for_its_broker() {
    let server = Server::start();
    let res = server.send(
        Request::post("/oauth2/onetime/token")
            .basic("demo-client", "demo-secret")
            .json(r#"{"clientId":"demo-client","userName":"alice","tradingAccount":"TA-1001","server":"demo-live"}"#),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    let code = s(&res.json(), "code");
    let res = server.send(
        Request::post("/oauth2/onetime/authorize").xml(&format!(
            r#"<OneTimeAuthorizeRequest xmlns="http://schemas.datacontract.org/2004/07/App.Auth.Models"><ClientId>demo-client</ClientId><ClientSecret>demo-secret</ClientSecret><Code>{code}</Code></OneTimeAuthorizeRequest>"#
        )),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    let text = res.text();
    assert!(text.starts_with(r#"<OneTimeAuthorizeResponse xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.datacontract.org/2004/07/App.Auth.Models"><AccessToken>"#), "{text}");
    assert!(
        text.contains(&format!("<BrokerId>{BROKER}</BrokerId>")),
        "{text}"
    );
    assert!(
        text.contains(
            r#"<Payload xmlns:d2p1="http://schemas.microsoft.com/2003/10/Serialization/Arrays" />"#
        ),
        "{text}"
    );
}

#[test]
fn onetime_code_checks_the_trading_account_and_user() {
    let server = Server::start();
    let token = server.alice_token();
    let before = server.count("onetime_codes");
    for body in [
        r#"{"clientId":"demo-client","tradingAccount":"TA-9999","server":"demo-live"}"#,
        r#"{"clientId":"demo-client","userName":"bob"}"#,
        r#"{"clientId":"demo-client","brokerId":"00000000-0000-4000-8000-000000000000","tradingAccount":"TA-1001"}"#,
    ] {
        let res = server.send(
            Request::post("/oauth2/onetime/token")
                .bearer(&token)
                .json(body),
        );
        assert_eq!(res.status, 403, "{body}: {}", res.text());
        assert!(
            res.json()["message"].is_string(),
            "onetime errors are camelCase"
        );
    }
    assert_eq!(server.count("onetime_codes"), before, "nothing stored");
}

#[test]
fn introspection_and_revocation() {
    let server = Server::start();
    let login = server.v1_login("alice", "alice-password-1");
    let (access, refresh) = (s(&login, "access_token"), s(&login, "refresh_token"));
    let info = server.introspect(&access);
    assert_eq!(info["active"], true);
    assert_eq!(info["username"], "alice");
    assert_eq!(info["client_id"], "demo-client");
    assert_eq!(info["token_type"], "Bearer");
    assert_eq!(info["scope"], "openid profile");
    assert!(info["exp"].as_i64() > info["iat"].as_i64());
    assert_eq!(
        server.introspect(&refresh)["token_type"],
        serde_json::Value::Null
    );
    assert_eq!(server.introspect(&refresh)["active"], true);
    assert_eq!(
        server.introspect("no-such-token").to_string(),
        r#"{"active":false}"#
    );

    // Revoking the access token leaves the refresh token alive.
    let res = server.send(
        Request::post("/oauth2/revoke")
            .basic("demo-client", "demo-secret")
            .form(&format!("token={access}&token_type_hint=access_token")),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(!server.active(&access));
    assert!(server.active(&refresh));

    // Revoking the refresh token (logout) ends the session: a refreshed access token dies too.
    let res = v1(
        &server,
        &format!("grant_type=refresh_token&refresh_token={refresh}"),
    );
    let v = res.json();
    let (access2, refresh2) = (s(&v, "access_token"), s(&v, "refresh_token"));
    let res = server.send(
        Request::post("/oauth2/revoke")
            .basic("demo-client", "demo-secret")
            .json(&format!(r#"{{"token":"{refresh2}"}}"#)),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(!server.active(&access2));
    assert!(!server.active(&refresh2));

    // Unknown tokens are a success (RFC 7009); unauthenticated callers are not.
    let res = server.send(
        Request::post("/oauth2/revoke")
            .basic("demo-client", "demo-secret")
            .form("token=unknown"),
    );
    assert_eq!(res.status, 200);
    let res = server.send(Request::post("/oauth2/introspect").form(&format!("token={access2}")));
    assert_eq!(res.status, 401, "{}", res.text());
    assert_eq!(res.json()["error"], "invalid_client");
}

#[test]
fn a_katana_token_is_a_bearer_for_onetime_and_dies_with_its_user() {
    let server = Server::start();
    let token = server.alice_token();
    assert!(server.active(&token));
    let service_db = server.db.clone();
    gatehouse::cli::user_disable(&settings_of(&service_db), "alice").expect("disable");
    assert!(
        !server.active(&token),
        "a disabled user's tokens stop working"
    );
    let res = server.send(
        Request::post("/oauth2/onetime/token")
            .bearer(&token)
            .json(r#"{"clientId":"demo-client"}"#),
    );
    assert_eq!(res.status, 401, "{}", res.text());
    assert!(res
        .header("www-authenticate")
        .is_some_and(|v| v.starts_with("Bearer")));
}

#[test]
fn member_sub_accounts() {
    let server = Server::start();
    // SubAccount is read from XML and forms; legacy JSON never bound it ([JsonIgnore]).
    let res = server.send(
        Request::post("/api/token/")
            .json(r#"{"MemberId":"1234","Password":"alice-password-1","SubAccount":"9"}"#),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["id_SubAccount"], 0);
    let res = server.send(
        Request::post("/api/token/").form("MemberId=1234&Password=alice-password-1&SubAccount=9"),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["id_SubAccount"], 9);
    assert_eq!(res.json()["id_Member"], 7);
    let res = server.send(
        Request::post("/api/Token").xml(&format!(
            r#"<AuthMemberModel xmlns="{}"><MemberId>5678</MemberId><Password>bob-password-1</Password><SubAccount>8</SubAccount></AuthMemberModel>"#,
            gatehouse_models::member::XML_NAMESPACE
        )),
    );
    assert_eq!(res.status, 403, "{}", res.text());
    let res = server.send(
        Request::post("/api/Token").json(r#"{"MemberId":"5678","Password":"bob-password-1"}"#),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["QueryAll"], false);
    assert_eq!(res.json()["id_SubAccount"], 0);
}

#[test]
fn katana_client_key_is_kept_on_the_session() {
    let server = Server::start();
    let res = server.send(
        Request::post("/TOKEN/")
            .basic("demo-client", "demo-secret")
            .form(
                "grant_type=password&userName=ALICE&password=alice-password-1&clientKey=device-7",
            ),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    let v = res.json();
    assert_eq!(v["clientKey"], "device-7");
    assert_eq!(v["userName"], "alice");
    assert_eq!(v["userID"], ALICE_ID);
    let info = server.introspect(&s(&v, "access_token"));
    assert_eq!(info["sid"], v["sessionKey"]);
}

#[test]
fn windows_authentication_through_a_trusted_proxy() {
    let server = Server::start();
    let body =
        r#"{"WindowsAuthentication":true,"client_id":"demo-client","client_secret":"demo-secret"}"#;
    let res = server.send(Request::post("/api/v1/auth/token").json(body));
    assert_eq!(res.status, 400, "{}", res.text());
    assert!(res.json()["error_description"]
        .as_str()
        .unwrap_or_default()
        .contains("not configured"));

    let server = Server::start_with(|a| {
        a.windows_auth_header = Some("X-Remote-User".into());
        a.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
        a.windows_domains = vec!["CORP".into()];
    });
    let res = server.send(
        Request::post("/api/v1/auth/token")
            .header("X-Remote-User", "CORP\\alice")
            .header("X-Forwarded-For", "10.1.2.3")
            .json(body),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    let v = res.json();
    assert_eq!(v["ip"], "10.1.2.3");
    assert_eq!(
        server.introspect(&s(&v, "access_token"))["username"],
        "alice"
    );
}

#[test]
fn x_forwarded_for_is_ignored_from_untrusted_peers() {
    let server = Server::start();
    let res = server.send(
        Request::post("/api/v1/auth/token")
            .basic("demo-client", "demo-secret")
            .header("X-Forwarded-For", "10.9.9.9")
            .form("grant_type=client_credentials"),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["ip"], "127.0.0.1");
}

#[test]
fn health_metadata_and_metrics() {
    let server = Server::start();
    let res = server.send(Request::get("/healthz"));
    assert_eq!((res.status, res.text()), (200, r#"{"status":"ok"}"#));
    let res = server.send(Request::get("/.well-known/oauth-authorization-server"));
    assert_eq!(res.status, 200);
    let v = res.json();
    assert_eq!(
        s(&v, "token_endpoint"),
        format!("http://{}/oauth2/token", server.addr)
    );
    assert!(s(&v, "introspection_endpoint").ends_with("/oauth2/introspect"));
    server.alice_token();
    let res = server.send(Request::get("/metrics"));
    assert_eq!(res.status, 200);
    let text = res.text();
    assert!(
        text.contains(
            r#"gatehouse_http_requests_total{route="/token",dialect="katana",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains("gatehouse_http_request_duration_seconds_bucket{route=\"/token\""));
    assert!(text.contains("gatehouse_hash_queue_depth 0"));
}

#[test]
fn tokens_survive_a_restart() {
    let mut server = Server::start();
    let token = server.alice_token();
    let db = server.db.clone();
    server.stop();
    let running = crate::support::restart_on(&db, |_| {});
    let res = Request::post("/oauth2/introspect")
        .basic("demo-client", "demo-secret")
        .form(&format!("token={token}"))
        .send(running.addr);
    assert_eq!(res.json()["active"], true, "{}", res.text());
    running.stop();
}
