//! RFC 8693 token exchange at `/oauth2/token` end to end: the exchange for an allowed audience
//! (scope narrowed, `issued_token_type`, no refresh token, `aud` and `act` in introspection,
//! the audience's own introspection and its onward exchange), and every rule crossed by a
//! second client: a token it was not given, an audience not on its allow-list, a public
//! client, a client without the grant, a revoked or ended parent, a wider scope.

use gatehouse_tests::{Request, Response};
use serde_json::Value;

use crate::standard::import;
use crate::support::Server;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const AT: &str = "urn:ietf:params:oauth:token-type:access_token";

fn server() -> Server {
    let server = Server::start();
    import(
        &server,
        r#"{"clients":[
 {"client_id":"gateway","secret":"gateway-secret","grants":["password","client_credentials","token_exchange"],"scope":"openid profile orders","token_exchange_audiences":["orders-api"]},
 {"client_id":"orders-api","secret":"orders-secret","grants":["token_exchange"],"scope":"orders","token_exchange_audiences":["billing-api"]},
 {"client_id":"intruder","secret":"intruder-secret","grants":["password","token_exchange"],"scope":"openid profile orders","token_exchange_audiences":["orders-api"]},
 {"client_id":"spa","grants":["password","token_exchange"],"scope":"orders","token_exchange_audiences":["orders-api"]},
 {"client_id":"nogrant","secret":"nogrant-secret","grants":["password"],"scope":"orders","token_exchange_audiences":["orders-api"]}
]}"#,
    );
    server
}

fn token(server: &Server, client: &str, secret: &str) -> String {
    let res = server.send(
        Request::post("/oauth2/token")
            .basic(client, secret)
            .form("grant_type=password&username=alice&password=alice-password-1"),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned()
}

fn exchange(server: &Server, client: (&str, Option<&str>), extra: &str) -> Response {
    let mut req = Request::post("/oauth2/token");
    let mut form = format!("grant_type={GRANT}&{extra}");
    match client.1 {
        Some(secret) => req = req.basic(client.0, secret),
        None => form.push_str(&format!("&client_id={}", client.0)),
    }
    server.send(req.form(&form))
}

fn subject(token: &str) -> String {
    format!("subject_token={token}&subject_token_type={AT}")
}

fn refused(res: &Response, error: &str, words: &str) {
    assert_eq!(res.status, 400, "{}", res.text());
    let v = res.json();
    assert_eq!(v["error"], error, "{v}");
    let text = v["error_description"].as_str().unwrap_or_default();
    assert!(text.contains(words), "{text}");
}

fn introspect_as(server: &Server, client: &str, secret: &str, token: &str) -> Value {
    let res = server.send(
        Request::post("/oauth2/introspect")
            .basic(client, secret)
            .form(&format!("token={token}")),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()
}

#[test]
fn a_token_is_exchanged_for_an_allowed_audience_with_a_narrower_scope() {
    let server = server();
    let user_token = token(&server, "gateway", "gateway-secret");
    let res = exchange(
        &server,
        ("gateway", Some("gateway-secret")),
        &format!("{}&audience=orders-api&scope=orders", subject(&user_token)),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let v = res.json();
    assert_eq!(v["issued_token_type"], AT, "{v}");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["scope"], "orders");
    assert!(v.get("refresh_token").is_none(), "{v}");
    let exchanged = v["access_token"].as_str().expect("token").to_owned();
    assert_ne!(exchanged, user_token);

    // The audience sees the token issued for it, and whose it is.
    let seen = introspect_as(&server, "orders-api", "orders-secret", &exchanged);
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["aud"], "orders-api");
    assert_eq!(seen["client_id"], "gateway");
    assert_eq!(seen["scope"], "orders");
    assert_eq!(seen["username"], "alice");
    assert!(seen.get("act").is_none(), "impersonation: no act: {seen}");
    // A third client sees nothing.
    let other = introspect_as(&server, "intruder", "intruder-secret", &exchanged);
    assert_eq!(other, serde_json::json!({"active": false}));

    // The audience may exchange the token given to it, onward to its own allow-list, never
    // wider than what it got.
    let onward = exchange(
        &server,
        ("orders-api", Some("orders-secret")),
        &subject(&exchanged),
    );
    assert_eq!(onward.status, 200, "{}", onward.text());
    assert_eq!(onward.json()["scope"], "orders");
    let wider = exchange(
        &server,
        ("orders-api", Some("orders-secret")),
        &format!("{}&scope=openid", subject(&exchanged)),
    );
    refused(&wider, "invalid_scope", "");
}

#[test]
fn a_second_client_cannot_exchange_a_token_it_was_not_given() {
    let server = server();
    let user_token = token(&server, "gateway", "gateway-secret");
    let res = exchange(
        &server,
        ("intruder", Some("intruder-secret")),
        &format!("{}&audience=orders-api", subject(&user_token)),
    );
    refused(&res, "invalid_request", "not issued to this client");
    // Nor with the token as actor.
    let own = token(&server, "intruder", "intruder-secret");
    let res = exchange(
        &server,
        ("intruder", Some("intruder-secret")),
        &format!(
            "{}&actor_token={user_token}&actor_token_type={AT}",
            subject(&own)
        ),
    );
    refused(&res, "invalid_request", "actor token was not issued");
    assert_eq!(server.count("session_exchange"), 0);
}

#[test]
fn an_audience_off_the_allow_list_is_an_invalid_target() {
    let server = server();
    let user_token = token(&server, "gateway", "gateway-secret");
    for target in [
        "audience=billing-api",
        "resource=https%3A%2F%2Fevil.example",
    ] {
        let res = exchange(
            &server,
            ("gateway", Some("gateway-secret")),
            &format!("{}&{target}", subject(&user_token)),
        );
        refused(&res, "invalid_target", "may not exchange");
    }
    let res = exchange(
        &server,
        ("gateway", Some("gateway-secret")),
        &format!(
            "{}&audience=orders-api&resource=billing-api",
            subject(&user_token)
        ),
    );
    refused(&res, "invalid_target", "differ");
    assert_eq!(server.count("session_exchange"), 0);
}

#[test]
fn public_clients_and_clients_without_the_grant_are_refused() {
    let server = server();
    let spa_token = {
        let res = server
            .send(Request::post("/oauth2/token").form(
                "grant_type=password&username=alice&password=alice-password-1&client_id=spa",
            ));
        assert_eq!(res.status, 200, "{}", res.text());
        res.json()["access_token"].as_str().expect("t").to_owned()
    };
    let res = exchange(&server, ("spa", None), &subject(&spa_token));
    refused(&res, "unauthorized_client", "");
    let own = token(&server, "nogrant", "nogrant-secret");
    let res = exchange(&server, ("nogrant", Some("nogrant-secret")), &subject(&own));
    refused(&res, "unauthorized_client", "");
    let res = exchange(&server, ("gateway", Some("wrong")), &subject(&own));
    assert_eq!(res.status, 401, "{}", res.text());
}

#[test]
fn the_exchanged_token_dies_with_its_parent() {
    let server = server();
    let user_token = token(&server, "gateway", "gateway-secret");
    let exchanged = exchange(
        &server,
        ("gateway", Some("gateway-secret")),
        &subject(&user_token),
    )
    .json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert!(server.active(&exchanged));
    let res = server.send(
        Request::post("/oauth2/revoke")
            .basic("gateway", "gateway-secret")
            .form(&format!("token={user_token}")),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(
        !server.active(&exchanged),
        "revoking the subject ends the child"
    );
    let res = exchange(
        &server,
        ("gateway", Some("gateway-secret")),
        &subject(&user_token),
    );
    refused(&res, "invalid_request", "not active");
    let res = exchange(
        &server,
        ("gateway", Some("gateway-secret")),
        &subject("not-a-token"),
    );
    refused(&res, "invalid_request", "not active");
}

#[test]
fn an_actor_token_makes_a_delegation_with_act() {
    let server = server();
    let user_token = token(&server, "gateway", "gateway-secret");
    let res = server.send(
        Request::post("/oauth2/token")
            .basic("gateway", "gateway-secret")
            .form("grant_type=client_credentials&scope=orders"),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    let actor = res.json()["access_token"].as_str().expect("t").to_owned();
    let res = exchange(
        &server,
        ("gateway", Some("gateway-secret")),
        &format!(
            "{}&actor_token={actor}&actor_token_type={AT}&requested_token_type={AT}",
            subject(&user_token)
        ),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    let exchanged = res.json()["access_token"].as_str().expect("t").to_owned();
    let seen = introspect_as(&server, "orders-api", "orders-secret", &exchanged);
    assert_eq!(
        seen["act"],
        serde_json::json!({"sub": "gateway", "client_id": "gateway"}),
        "{seen}"
    );
    // The token types are checked.
    for bad in [
        format!("subject_token={user_token}&subject_token_type=urn:ietf:params:oauth:token-type:id_token"),
        format!("{}&actor_token={actor}", subject(&user_token)),
        format!("{}&requested_token_type=urn:ietf:params:oauth:token-type:refresh_token", subject(&user_token)),
        format!("subject_token_type={AT}"),
    ] {
        let res = exchange(&server, ("gateway", Some("gateway-secret")), &bad);
        refused(&res, "invalid_request", "");
    }
}
