//! The codec's security decisions end to end (issue 9 items 8 and 10, next to issue 11's
//! leniencies): exact duplicate JSON members are refused on every JSON path, and a decode
//! error never echoes a piece of the body (a broken end tag may be a password).

use gatehouse_tests::Request;

use crate::support::Server;

const MEMBER_NS: &str = "http://schemas.datacontract.org/2004/07/AuEAuth_WebAPI.Models";

#[test]
fn exact_duplicate_json_members_are_refused_on_every_json_path() {
    let server = Server::start();
    let token = server.alice_token();
    let sessions = server.count("sessions");
    // Last-wins would log in alice although the first member names bob.
    let cases = [
        Request::post("/api/v1/auth/token")
            .basic("demo-client", "demo-secret")
            .json(r#"{"grant_type":"password","username":"bob","username":"alice","password":"alice-password-1"}"#),
        Request::post("/token")
            .json(r#"{"grant_type":"password","userName":"bob","userName":"alice","password":"alice-password-1"}"#),
        Request::post("/token").header("Content-Type", "text/javascript").body(
            br#"{"grant_type":"password","userName":"bob","userName":"alice","password":"alice-password-1"}"#,
        ),
        Request::post("/api/Token")
            .json(r#"{"MemberId":"5678","MemberId":"1234","Password":"alice-password-1"}"#),
        Request::post("/admin/login/auth_code").json(
            r#"{"ClientId":"demo-client","ClientSecret":"demo-secret","Username":"bob","Username":"alice","Password":"alice-password-1"}"#,
        ),
        Request::post("/oauth2/onetime/token")
            .bearer(&token)
            .json(r#"{"clientId":"demo-client","payload":{"k":"1","k":"2"}}"#),
        Request::post("/oauth2/introspect")
            .basic("demo-client", "demo-secret")
            .json(&format!(r#"{{"token":"x","token":"{token}"}}"#)),
        Request::post("/oauth2/revoke")
            .basic("demo-client", "demo-secret")
            .json(&format!(r#"{{"token":"x","token":"{token}"}}"#)),
    ];
    for req in cases {
        let res = server.send(req.clone());
        assert_eq!(res.status, 400, "{req:?}: {}", res.text());
        assert!(!res.text().contains("access_token"), "{}", res.text());
    }
    // The member dialect says which member, as Web API's ModelState does.
    let res = server.send(
        Request::post("/api/Token")
            .json(r#"{"MemberId":"5678","MemberId":"1234","Password":"alice-password-1"}"#),
    );
    assert_eq!(
        res.text(),
        r#"{"Message":"The request is invalid.","ModelState":{"request.MemberId":["An error has occurred."]}}"#
    );
    assert_eq!(server.count("sessions"), sessions, "nothing issued");
    assert!(server.active(&token), "the token was not revoked");
    // Case variants of one member were already refused; distinct members still bind.
    let res = server.send(
        Request::post("/api/Token")
            .json(r#"{"MemberId":"1234","memberid":"5678","Password":"alice-password-1"}"#),
    );
    assert_eq!(res.status, 400, "{}", res.text());
}

#[test]
fn decode_errors_never_echo_the_body_in_answers_or_logs() {
    let logs = crate::security::capture_logs();
    let server = Server::start();
    let secret = "Secret99pw";
    let bodies: Vec<(&str, &str, String)> = vec![
        (
            "/api/Token",
            "application/xml",
            format!("<AuthMemberModel xmlns=\"{MEMBER_NS}\"><MemberId>1234</MemberId><Password></{secret}></Password></AuthMemberModel>"),
        ),
        (
            "/api/Token",
            "application/xml",
            format!("<{secret} xmlns=\"{MEMBER_NS}\"/>"),
        ),
        (
            "/api/v1/auth/token",
            "application/xml",
            format!("<TokenRequest xmlns=\"http://schemas.datacontract.org/2004/07/IO.Swagger.Models\"><password>x</{secret}></TokenRequest>"),
        ),
        (
            "/admin/login/auth_code",
            "application/json",
            format!(r#"{{"Username":"alice","Password":"{secret}" @}}"#),
        ),
        (
            "/token",
            "application/json",
            format!(r#"{{"userName":"alice","password":{secret}}}"#),
        ),
        (
            "/api/v1/auth/token",
            "application/json",
            format!(r#"{{"grant_type":"password","password":{{"{secret}":1}}}}"#),
        ),
        (
            "/api/Token",
            "application/x-www-form-urlencoded",
            format!("MemberId=1&Password=%ZZ{secret}"),
        ),
    ];
    for (path, content_type, body) in &bodies {
        let res = server.send(
            Request::post(path)
                .header("Content-Type", content_type)
                .header("Accept", "application/xml")
                .body(body.as_bytes()),
        );
        assert!(res.status >= 400, "{path} {body}: {}", res.text());
        let text = String::from_utf8_lossy(&res.body);
        assert!(!text.contains(secret), "{path} echoed: {text}");
    }
    drop(server);
    let text = logs.contents();
    assert!(text.contains("request refused"), "no log captured");
    assert!(!text.contains(secret), "logged: {text}");
}
