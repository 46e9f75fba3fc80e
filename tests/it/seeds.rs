//! Each seed sample, with the demo credentials substituted, sent over HTTP in every media type
//! the seed shows: status, headers and the exact shape of the body (key order, element
//! order, namespaces, nil markers; values that are fresh per request replaced).

use gatehouse_tests::{Request, Response};

use crate::support::{compact_xml, json_keys, xml_skeleton, Server, BROKER};

fn assert_token_headers(res: &Response, content_type: &str) {
    assert_eq!(
        res.header("content-type"),
        Some(content_type),
        "{}",
        res.text()
    );
    // RFC 6749's no-store beside the legacy host's no-cache and Expires (issue 11).
    assert_eq!(res.header("cache-control"), Some("no-store, no-cache"));
    assert_eq!(res.header("pragma"), Some("no-cache"));
    assert_eq!(res.header("expires"), Some("-1"));
}

const JSON: &str = "application/json; charset=utf-8";
const XML: &str = "application/xml; charset=utf-8";

fn xml_shape_of_seed(sample: &str) -> String {
    xml_skeleton(&compact_xml(sample))
}

fn is_guid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok_and(|u| u.hyphenated().to_string() == s)
}

// ----- 004 katana /token ----------------------------------------------------------------

const KATANA_KEYS: [&str; 7] = [
    "access_token",
    "token_type",
    "expires_in",
    "userName",
    "userID",
    "sessionKey",
    "clientKey",
];

fn check_katana_json(res: &Response) {
    assert_eq!(res.status, 200, "{}", res.text());
    assert_token_headers(res, JSON);
    assert_eq!(json_keys(res.text()), KATANA_KEYS);
    let v = res.json();
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["expires_in"], 1200);
    assert_eq!(v["userName"], "alice");
    assert_eq!(v["clientKey"], "sample string 4");
    assert!(is_guid(v["userID"].as_str().unwrap_or_default()));
    assert!(is_guid(v["sessionKey"].as_str().unwrap_or_default()));
    // The demo server issues Katana tickets under the demo machineKey (issue 21).
    let token = v["access_token"].as_str().unwrap_or_default();
    let ticket = demo_ticket_format()
        .unprotect(token)
        .expect("a Katana ticket");
    assert_eq!(ticket.property("sessionKey"), v["sessionKey"].as_str());
    assert_eq!(ticket.property("clientKey"), Some("sample string 4"));
}

/// The access-token format under the demo machineKey `serve --demo` uses.
fn demo_ticket_format() -> gatehouse_katana::TicketFormat {
    let key =
        gatehouse_katana::MachineKey::parse(gatehouse::state::DEMO_MACHINE_KEY).expect("demo key");
    gatehouse_katana::TicketFormat::access_token(&key)
}

#[test]
fn katana_form_json_javascript_and_xml() {
    let server = Server::start();
    // application/x-www-form-urlencoded, the seed's own sample.
    let res = server.send(Request::post("/token").form(
        "grant_type=password&userName=alice&password=alice-password-1&clientKey=sample+string+4",
    ));
    check_katana_json(&res);

    // application/json
    let res = server.send(Request::post("/token").json(
        r#"{"grant_type": "password", "userName": "alice", "password": "alice-password-1", "clientKey": "sample string 4"}"#,
    ));
    check_katana_json(&res);

    // text/javascript, as seed 004 lists it.
    let res = server.send(
        Request::post("/token")
            .header("Content-Type", "text/javascript")
            .body(br#"{"grant_type":"password","userName":"alice","password":"alice-password-1","clientKey":"sample string 4"}"#),
    );
    check_katana_json(&res);

    // application/xml in, XML out (no Accept: the request's type wins).
    let res = server.send(Request::post("/token").xml(
        r#"<OAuthRequest xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.datacontract.org/2004/07/Yindo.DAL.Types"> <clientKey>sample string 4</clientKey> <grant_type>password</grant_type> <password>alice-password-1</password> <userName>alice</userName> </OAuthRequest>"#,
    ));
    assert_eq!(res.status, 200, "{}", res.text());
    assert_token_headers(&res, XML);
    assert_eq!(
        xml_skeleton(res.text()),
        xml_shape_of_seed(
            r#"<OAuthToken xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.datacontract.org/2004/07/Yindo.DAL.Types"> <access_token>sample string 1</access_token> <clientKey>sample string 7</clientKey> <expires_in>3</expires_in> <sessionKey>sample string 6</sessionKey> <token_type>sample string 2</token_type> <userID>sample string 5</userID> <userName>sample string 4</userName> </OAuthToken>"#
        )
    );
    assert!(res.text().contains("<token_type>bearer</token_type>"));
    assert!(res.text().contains("<userName>alice</userName>"));
}

#[test]
fn katana_reads_a_form_sent_with_a_wrong_content_type() {
    let server = Server::start();
    let res = server.send(
        Request::post("/token")
            .header("Content-Type", "text/plain")
            .body(b"grant_type=password&userName=alice&password=alice-password-1&clientKey=sample%20string%204"),
    );
    check_katana_json(&res);
}

// ----- 003 v1 /api/v1/auth/token -----------------------------------------------------

const V1_KEYS: [&str; 11] = [
    "access_token",
    "expires_in",
    "redirect_url",
    "ip",
    "is_editor",
    "refresh_expires_in",
    "refresh_token",
    "token_type",
    "not_before_policy",
    "session_state",
    "scope",
];

#[test]
fn v1_json_xml_and_form() {
    let server = Server::start();
    let res = server.send(Request::post("/api/v1/auth/token").json(
        r#"{
"WindowsAuthentication": false,
"client_id": "demo-client",
"client_secret": "demo-secret",
"scope": "openid",
"username": "alice",
"password": "alice-password-1",
"grant_type": "password",
"refresh_token": "sample string 8"
}"#,
    ));
    assert_eq!(res.status, 200, "{}", res.text());
    assert_token_headers(&res, JSON);
    assert_eq!(json_keys(res.text()), V1_KEYS);
    let v = res.json();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["redirect_url"], "https://app.example/callback");
    assert_eq!(v["ip"], "127.0.0.1");
    assert_eq!(v["is_editor"], true);
    assert_eq!(v["not_before_policy"], 0);
    assert_eq!(v["scope"], "openid");
    assert_eq!(v["expires_in"], 1200);
    assert!(v["refresh_expires_in"].as_i64().unwrap_or_default() > 0);
    assert!(is_guid(v["session_state"].as_str().unwrap_or_default()));
    assert_ne!(v["refresh_token"], "sample string 8");

    let res = server.send(Request::post("/api/v1/auth/token").xml(
        r#"<TokenRequest xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.datacontract.org/2004/07/IO.Swagger.Models"> <WindowsAuthentication>false</WindowsAuthentication> <client_id>demo-client</client_id> <client_secret>demo-secret</client_secret> <grant_type>password</grant_type> <password>alice-password-1</password> <refresh_token>sample string 8</refresh_token> <scope>openid</scope> <username>alice</username> </TokenRequest>"#,
    ));
    assert_eq!(res.status, 200, "{}", res.text());
    assert_token_headers(&res, XML);
    assert_eq!(
        xml_skeleton(res.text()),
        xml_shape_of_seed(
            r#"<AccessTokenResponse xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.datacontract.org/2004/07/IO.Swagger.Models"> <access_token>sample string 1</access_token> <expires_in>1</expires_in> <ip>sample string 3</ip> <is_editor>true</is_editor> <not_before_policy>1</not_before_policy> <redirect_url>sample string 2</redirect_url> <refresh_expires_in>1</refresh_expires_in> <refresh_token>sample string 5</refresh_token> <scope>sample string 8</scope> <session_state>sample string 7</session_state> <token_type>sample string 6</token_type> </AccessTokenResponse>"#
        )
    );

    let res = server.send(Request::post("/api/v1/auth/token").form(
        "client_id=demo-client&client_secret=demo-secret&username=bob&password=bob-password-1&grant_type=password",
    ));
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(json_keys(res.text()), V1_KEYS);
    assert_eq!(res.json()["is_editor"], false);
    assert_eq!(res.json()["scope"], "openid profile");
}

// ----- 002 member /api/Token ---------------------------------------------------------

#[test]
fn member_json_and_xml() {
    let server = Server::start_with(|a| {
        a.display_offset = time::UtcOffset::from_hms(10, 0, 0).expect("offset")
    });
    let res = server.send(Request::post("/api/Token").json(
        r#"{
  "MemberId": "1234",
  "Password": "alice-password-1"
}"#,
    ));
    assert_eq!(res.status, 200, "{}", res.text());
    assert_token_headers(&res, JSON);
    assert_eq!(
        json_keys(res.text()),
        [
            "UserName",
            "Token",
            "ExpireIn",
            "ExpireTime",
            "QueryAll",
            "DFVisible",
            "id_Member",
            "id_SubAccount",
            "ExpireTimeUTC"
        ]
    );
    let v = res.json();
    assert_eq!(v["UserName"], "alice");
    assert_eq!(v["ExpireIn"], "00:20:00");
    assert_eq!(v["QueryAll"], true);
    assert_eq!(v["DFVisible"], true);
    assert_eq!(v["id_SubAccount"], 0);
    let local = v["ExpireTime"].as_str().unwrap_or_default();
    let utc = v["ExpireTimeUTC"].as_str().unwrap_or_default();
    assert!(local.ends_with("+10:00"), "{local}");
    assert!(utc.ends_with('Z'), "{utc}");
    let parse = |s: &str| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .expect("an RFC 3339 instant")
    };
    assert_eq!(parse(local), parse(utc), "the same instant in two kinds");

    let res = server.send(Request::post("/api/Token").xml(
        r#"<AuthMemberModel xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.datacontract.org/2004/07/AuEAuth_WebAPI.Models">
  <MemberId>1234</MemberId>
  <Password>alice-password-1</Password>
  <SubAccount>8</SubAccount>
</AuthMemberModel>"#,
    ));
    assert_eq!(res.status, 200, "{}", res.text());
    assert_token_headers(&res, XML);
    assert_eq!(
        xml_skeleton(res.text()),
        xml_shape_of_seed(
            r#"<TokenModel xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.datacontract.org/2004/07/AuEAuth_WebAPI.Models">
  <DFVisible>true</DFVisible>
  <ExpireIn>PT0.1234567S</ExpireIn>
  <ExpireTime>2025-05-04T17:27:27.2699792+10:00</ExpireTime>
  <QueryAll>true</QueryAll>
  <Token>sample string 2</Token>
  <UserName>sample string 1</UserName>
  <id_Member>7</id_Member>
  <id_SubAccount>8</id_SubAccount>
</TokenModel>"#
        )
    );
    assert!(
        res.text().contains("<ExpireIn>PT20M</ExpireIn>"),
        "{}",
        res.text()
    );
    assert!(res.text().contains("<id_SubAccount>8</id_SubAccount>"));
    assert!(!res.text().contains("ExpireTimeUTC"));
}

// ----- 001 otc /admin/login/auth_code ------------------------------------------------

fn otc_code_of_json(res: &Response) -> String {
    let v = res.json();
    v["Body"]["AuthCode"].as_str().expect("AuthCode").to_owned()
}

#[test]
fn otc_json_xml_and_form() {
    let server = Server::start();
    let res = server.send(Request::post("/admin/login/auth_code").json(
        r#"{
"ClientId": "demo-client",
"ClientSecret": "demo-secret",
"Username": "alice",
"Password": "alice-password-1"
}"#,
    ));
    assert_eq!(res.status, 200, "{}", res.text());
    assert_token_headers(&res, JSON);
    let code = otc_code_of_json(&res);
    assert_eq!(
        res.text(),
        format!(
            r#"{{"Header":{{"Message":"","StatusCode":0,"Status":"Ok","ErrorId":null}},"Body":{{"AuthCode":"{code}"}}}}"#
        )
    );

    let res = server.send(Request::post("/admin/login/auth_code").xml(
        r#"<AuthCodeRequest xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.datacontract.org/2004/07/SaG.OTC.API.Models.Requests"> <ClientId>demo-client</ClientId> <ClientSecret>demo-secret</ClientSecret> <Password>alice-password-1</Password> <Username>alice</Username> </AuthCodeRequest>"#,
    ));
    assert_eq!(res.status, 200, "{}", res.text());
    assert_token_headers(&res, XML);
    let text = res.text();
    let start = text.find("<AuthCode>").expect("AuthCode") + "<AuthCode>".len();
    let end = text.find("</AuthCode>").expect("AuthCode end");
    let code = &text[start..end];
    assert_eq!(
        text,
        format!(
            r#"<AuthCodeResponse xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.datacontract.org/2004/07/SaG.OTC.API.Models.Responses"><Body><AuthCode>{code}</AuthCode></Body><Header><ErrorId i:nil="true" /><Message></Message><Status>Ok</Status><StatusCode>Ok</StatusCode></Header></AuthCodeResponse>"#
        )
    );

    let res = server.send(Request::post("/admin/login/auth_code").form(
        "ClientId=demo-client&ClientSecret=demo-secret&Username=alice&Password=alice-password-1",
    ));
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(otc_code_of_json(&res).len(), 43);
}

// ----- 000 onetime /oauth2/onetime/token ---------------------------------------------

#[test]
fn onetime_json_and_xml() {
    let server = Server::start();
    let token = server.alice_token();
    let res = server.send(
        Request::post("/oauth2/onetime/token")
            .bearer(&token)
            .json(&format!(
                r#"{{
  "clientId": "demo-client",
  "brokerId": "{BROKER}",
  "userName": "alice",
  "tradingAccount": "TA-1001",
  "server": "demo-live",
  "payload": {{
    "sample string 1": "sample string 2",
    "sample string 3": "sample string 4"
  }}
}}"#
            )),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    assert_token_headers(&res, JSON);
    assert_eq!(json_keys(res.text()), ["code"]);

    let res = server.send(Request::post("/oauth2/onetime/token").bearer(&token).xml(&format!(
        r#"<OneTimeTokenRequest xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.datacontract.org/2004/07/App.Auth.Models">
  <BrokerId>{BROKER}</BrokerId>
  <ClientId>demo-client</ClientId>
  <Payload xmlns:d2p1="http://schemas.microsoft.com/2003/10/Serialization/Arrays">
    <d2p1:KeyValueOfstringstring>
      <d2p1:Key>sample string 1</d2p1:Key>
      <d2p1:Value>sample string 2</d2p1:Value>
    </d2p1:KeyValueOfstringstring>
    <d2p1:KeyValueOfstringstring>
      <d2p1:Key>sample string 3</d2p1:Key>
      <d2p1:Value>sample string 4</d2p1:Value>
    </d2p1:KeyValueOfstringstring>
  </Payload>
  <Server>demo-live</Server>
  <TradingAccount>TA-1001</TradingAccount>
  <UserName>alice</UserName>
</OneTimeTokenRequest>"#
    )));
    assert_eq!(res.status, 200, "{}", res.text());
    assert_token_headers(&res, XML);
    assert_eq!(
        xml_skeleton(res.text()),
        xml_shape_of_seed(
            r#"<OneTimeTokenResponse xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.datacontract.org/2004/07/App.Auth.Models">
  <Code>sample string 1</Code>
</OneTimeTokenResponse>"#
        )
    );
}

#[test]
fn accept_header_overrides_the_request_type() {
    let server = Server::start();
    let res = server.send(
        Request::post("/token")
            .header(
                "Accept",
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            )
            .form("grant_type=password&userName=alice&password=alice-password-1"),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    assert_token_headers(&res, XML);
    assert!(res.text().starts_with("<OAuthToken xmlns:i="));
    // clientKey absent: written as nil, like DataContractSerializer did.
    assert!(
        res.text().contains(r#"<clientKey i:nil="true" />"#),
        "{}",
        res.text()
    );
}
