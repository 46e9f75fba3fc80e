//! `gatehouse-client` against the real server: every dialect in every media type it reads,
//! every error shape as a typed error, a second client's credentials and another user's
//! token refused, the standards surface with the code flow, the bytes the client sends
//! (equal to the bodies the legacy oracle bound), and the resource-server helpers.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::time::Duration;

use gatehouse_client::blocking::Client;
use gatehouse_client::resource::{Algorithm, Introspector, JwtValidator, Validators};
use gatehouse_client::{ClientCredentials, Error, Grant, MediaType, Secret};
use gatehouse_models::oauth::ErrorCode;
use gatehouse_models::otc::ResponseStatus;
use gatehouse_models::{katana, member, onetime, otc, v1};
use gatehouse_tests::Request;

use crate::standard::{enc, import};
use crate::support::{Server, BROKER};

const MEDIA: [MediaType; 3] = [MediaType::Json, MediaType::Xml, MediaType::Form];

fn client(server: &Server) -> Client {
    Client::new(gatehouse_client::Client::builder(format!(
        "http://{}",
        server.addr
    )))
    .expect("client")
}

fn demo() -> ClientCredentials {
    ClientCredentials::new("demo-client", "demo-secret")
}

/// A second confidential client with the same grants as the demo client.
fn other_client(server: &Server) -> ClientCredentials {
    import(
        server,
        r#"{"clients":[{"client_id":"other","secret":"other-secret","grants":["password","refresh_token","client_credentials","authorization_code","onetime"],"scope":"openid profile"}]}"#,
    );
    ClientCredentials::new("other", "other-secret")
}

#[test]
fn every_dialect_in_every_media_type() {
    let server = Server::start();
    let gh = client(&server);
    for media in [
        MediaType::Json,
        MediaType::Xml,
        MediaType::Form,
        MediaType::JavaScript,
    ] {
        let token = gh
            .katana_token(
                &katana::OAuthRequest::password("alice", "alice-password-1"),
                media,
            )
            .unwrap_or_else(|e| panic!("katana {media:?}: {e}"));
        assert_eq!(token.user_name, "alice", "{media:?}");
        assert!(server.active(&token.access_token), "{media:?}");
    }
    for media in MEDIA {
        for creds in [demo(), demo().in_body()] {
            let token = gh
                .v1_token(
                    &v1::TokenRequest::password("alice", "alice-password-1"),
                    Some(&creds),
                    media,
                )
                .unwrap_or_else(|e| panic!("v1 {media:?} {:?}: {e}", creds.method));
            let refresh = token.refresh_token.clone().expect("a refresh token");
            let renewed = gh
                .v1_token(&v1::TokenRequest::refresh(refresh), Some(&creds), media)
                .expect("refresh");
            assert_ne!(renewed.access_token, token.access_token);
        }
        let member = gh
            .member_token(
                &member::AuthMemberModel::new("1234", "alice-password-1"),
                media,
            )
            .unwrap_or_else(|e| panic!("member {media:?}: {e}"));
        assert_eq!((member.user_name.as_str(), member.id_member), ("alice", 7));

        let code = gh
            .otc_auth_code(
                &otc::AuthCodeRequest::new(
                    "demo-client",
                    "demo-secret",
                    "alice",
                    "alice-password-1",
                ),
                media,
            )
            .unwrap_or_else(|e| panic!("otc code {media:?}: {e}"));
        let otc_token = gh
            .otc_token(
                &otc::TokenRequest::new("demo-client", "demo-secret", code.expose()),
                media,
            )
            .unwrap_or_else(|e| panic!("otc token {media:?}: {e}"));
        assert!(server.active(&otc_token.access_token));

        let bearer = Secret::new(server.alice_token());
        let mut request = onetime::OneTimeTokenRequest::new("demo-client");
        request.broker_id = Some(BROKER.parse().unwrap());
        request.trading_account = Some("TA-1001".into());
        request.server = Some("demo-live".into());
        request.payload = Some(
            [("lang".to_owned(), "en gb".to_owned())]
                .into_iter()
                .collect(),
        );
        let code = gh
            .onetime_token(&bearer, &request, media)
            .unwrap_or_else(|e| panic!("onetime {media:?}: {e}"));
        let redeemed = gh
            .onetime_authorize(&demo(), &Secret::new(code.code), media)
            .unwrap_or_else(|e| panic!("onetime authorize {media:?}: {e}"));
        assert_eq!(redeemed.user_name, "alice");
        assert_eq!(
            redeemed.payload.get("lang").map(String::as_str),
            Some("en gb")
        );
    }
}

#[test]
fn every_error_shape_is_a_typed_error() {
    let server = Server::start();
    let gh = client(&server);
    // Katana: RFC 6749, 400 for everything.
    let e = gh
        .katana_token(
            &katana::OAuthRequest::password("alice", "wrong"),
            MediaType::Form,
        )
        .expect_err("wrong password");
    assert_eq!(
        (e.status(), e.oauth_code()),
        (Some(400), Some(&ErrorCode::InvalidGrant))
    );
    // v1: a wrong client secret is invalid_client, 401.
    let e = gh
        .v1_token(
            &v1::TokenRequest::password("alice", "alice-password-1"),
            Some(&ClientCredentials::new("demo-client", "not-the-secret")),
            MediaType::Json,
        )
        .expect_err("wrong secret");
    assert!(e.is_invalid_client(), "{e}");
    assert_eq!(e.status(), Some(401));
    // member: Web API's HttpError, in JSON and XML.
    for media in MEDIA {
        let e = gh
            .member_token(&member::AuthMemberModel::new("1234", "wrong"), media)
            .expect_err("wrong password");
        assert!(
            matches!(&e, Error::WebApi { status: 401, error, .. } if !error.message.is_empty()),
            "{media:?}: {e:?}"
        );
    }
    let e = gh
        .member_token(&member::AuthMemberModel::default(), MediaType::Json)
        .expect_err("no member id");
    let Error::WebApi {
        status: 400, error, ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert!(error.model_state.is_some(), "{error:?}");
    // otc: the envelope's status (a fresh server: the failures above locked the address).
    let server = Server::start();
    let gh = client(&server);
    let e = gh
        .otc_auth_code(
            &otc::AuthCodeRequest::new("demo-client", "nope", "alice", "alice-password-1"),
            MediaType::Xml,
        )
        .expect_err("wrong client secret");
    assert!(
        matches!(&e, Error::Otc { header, .. } if header.status_code == ResponseStatus::InvalidClient),
        "{e:?}"
    );
    assert!(e.is_invalid_client());
    // onetime: camel-cased HttpError for a bearer token that is not one.
    let e = gh
        .onetime_token(
            &Secret::new("not-a-token"),
            &onetime::OneTimeTokenRequest::new("demo-client"),
            MediaType::Json,
        )
        .expect_err("bad bearer");
    assert!(matches!(e, Error::WebApi { status: 401, .. }), "{e:?}");
    // Secrets never print in the error.
    assert!(!format!("{e:?} {e}").contains("not-a-token"));
}

#[test]
fn a_second_client_and_another_user_are_refused() {
    let server = Server::start();
    let gh = client(&server);
    let other = other_client(&server);
    // A one-time code issued for demo-client cannot be redeemed by another client.
    let bearer = Secret::new(server.alice_token());
    let code = gh
        .onetime_token(
            &bearer,
            &onetime::OneTimeTokenRequest::new("demo-client"),
            MediaType::Json,
        )
        .expect("code");
    let e = gh
        .onetime_authorize(&other, &Secret::new(code.code.clone()), MediaType::Json)
        .expect_err("another client's code");
    assert!(e.status().is_some_and(|s| s >= 400), "{e:?}");
    // ... and after that attempt it is still not redeemable twice by anyone.
    // A user's bearer token cannot ask a one-time code for another user.
    let mut for_bob = onetime::OneTimeTokenRequest::new("demo-client");
    for_bob.user_name = Some("bob".into());
    let e = gh
        .onetime_token(&bearer, &for_bob, MediaType::Json)
        .expect_err("alice asks for bob");
    assert!(
        matches!(
            e,
            Error::WebApi {
                status: 403 | 400 | 401,
                ..
            }
        ),
        "{e:?}"
    );
    // Another client's refresh token is refused.
    let token = gh
        .token(
            &demo(),
            Grant::Password {
                username: "alice",
                password: &Secret::new("alice-password-1"),
                scope: None,
            },
        )
        .expect("password grant");
    let refresh = Secret::new(token.refresh_token.clone().expect("refresh token"));
    let e = gh
        .token(
            &other,
            Grant::RefreshToken {
                refresh_token: &refresh,
                scope: None,
            },
        )
        .expect_err("another client's refresh token");
    assert_eq!(e.oauth_code(), Some(&ErrorCode::InvalidGrant), "{e}");
    // Revoking another client's token is refused; introspecting it says nothing.
    let access = Secret::new(token.access_token.clone());
    let e = gh.revoke(&other, &access).expect_err("revoke another's");
    assert_eq!(e.oauth_code(), Some(&ErrorCode::UnauthorizedClient), "{e}");
    assert!(!gh.introspect(&other, &access).expect("introspect").active);
    assert!(gh.introspect(&demo(), &access).expect("introspect").active);
}

#[test]
fn standards_surface_and_the_code_flow_with_pkce() {
    let server = Server::start();
    let gh = client(&server);
    let metadata = gh.metadata().expect("metadata");
    assert_eq!(metadata.oauth.issuer, format!("http://{}", server.addr));
    let cc = gh
        .token(
            &demo(),
            Grant::ClientCredentials {
                scope: Some("profile"),
            },
        )
        .expect("client credentials");
    assert_eq!(cc.scope.as_deref(), Some("profile"));
    let access = Secret::new(cc.access_token.clone());
    assert!(gh.introspect(&demo(), &access).expect("introspect").active);
    gh.revoke(&demo(), &access).expect("revoke");
    assert!(!gh.introspect(&demo(), &access).expect("introspect").active);
    // Debug output of the answer hides the token.
    assert!(!format!("{cc:?}").contains(&cc.access_token));

    // The code flow: the URL the client built, signed in through the real login page.
    let redirect = "http://127.0.0.1:8765/callback";
    let request = gh.authorization_request("demo-client", redirect, "openid profile");
    let location = sign_in(&server, &request.url, "alice", "alice-password-1");
    let query = query_of(&location);
    assert!(location.starts_with(redirect), "{location}");
    assert_eq!(query["state"], request.state.expose());
    let code = Secret::new(query["code"].clone());
    let exchange = |verifier: &Secret| {
        gh.token(
            &demo(),
            Grant::AuthorizationCode {
                code: &code,
                redirect_uri: redirect,
                code_verifier: verifier,
            },
        )
    };
    let e = exchange(&Secret::new(
        "a-verifier-that-is-not-the-one-we-sent-0123456789",
    ))
    .expect_err("wrong verifier");
    assert_eq!(e.oauth_code(), Some(&ErrorCode::InvalidGrant));
    let code2 = gh.authorization_request("demo-client", redirect, "openid");
    let location = sign_in(&server, &code2.url, "alice", "alice-password-1");
    let code = Secret::new(query_of(&location)["code"].clone());
    let tokens = gh
        .token(
            &demo(),
            Grant::AuthorizationCode {
                code: &code,
                redirect_uri: redirect,
                code_verifier: &code2.code_verifier,
            },
        )
        .expect("exchange");
    assert!(tokens.id_token.is_some(), "openid gives an id_token");
    let claims = gh
        .userinfo(&Secret::new(tokens.access_token))
        .expect("userinfo");
    assert_eq!(claims["sub"], "a11ce000-0000-4000-8000-000000000001");
}

/// Follows `url` through the login page as a browser without JavaScript would: the
/// redirect's `Location`.
fn sign_in(server: &Server, url: &str, user: &str, password: &str) -> String {
    let path = url
        .split_once(&server.addr.to_string())
        .expect("our server")
        .1;
    let mut cookies: Vec<String> = Vec::new();
    let keep = |res: &gatehouse_tests::Response, cookies: &mut Vec<String>| {
        for (name, value) in &res.headers {
            if name == "set-cookie" {
                cookies.push(value.split(';').next().unwrap_or_default().to_owned());
            }
        }
    };
    let page = server.send(Request::get(path));
    assert_eq!(page.status, 200, "{}", page.text());
    keep(&page, &mut cookies);
    let mut fields = Vec::new();
    for piece in page.text().split("<input type=\"hidden\" name=\"").skip(1) {
        let (name, rest) = piece.split_once('"').expect("name");
        let value = rest
            .split_once("value=\"")
            .and_then(|(_, v)| v.split_once('"'))
            .map(|(v, _)| {
                v.replace("&amp;", "&")
                    .replace("&quot;", "\"")
                    .replace("&#39;", "'")
            })
            .unwrap_or_default();
        fields.push(format!("{}={}", enc(name), enc(&value)));
    }
    fields.push(format!("username={}", enc(user)));
    fields.push(format!("password={}", enc(password)));
    let res = server.send(
        Request::post("/oauth2/login")
            .header("Cookie", &cookies.join("; "))
            .form(&fields.join("&")),
    );
    assert_eq!(res.status, 303, "{}", res.text());
    res.header("location").expect("location").to_owned()
}

fn query_of(location: &str) -> HashMap<String, String> {
    let query = location.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| {
            let v = gatehouse_codec::form_url_decode(v).expect("a valid query");
            (k.to_owned(), v)
        })
        .collect()
}

/// One request as the client sent it, caught by a listener that answers 503.
fn caught(send: impl FnOnce(&Client)) -> (String, Vec<u8>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let catcher = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("the client connects");
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = stream.read(&mut chunk).expect("read");
            buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().expect("length"));
                if buf.len() >= end + 4 + len || n == 0 {
                    let _ = stream.write_all(
                        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    return (head[..end].to_owned(), buf[end + 4..].to_vec());
                }
            }
        }
    });
    let gh = Client::new(gatehouse_client::Client::builder(format!("http://{addr}")).retries(0))
        .expect("client");
    send(&gh);
    catcher.join().expect("caught")
}

fn golden(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../crates/codec/tests/golden/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The client sends exactly the bodies the codec's goldens hold: the legacy service's own
/// JSON and XML for the seed values, and the form bodies the legacy oracle bound back to
/// those values (`crates/codec/tests/golden/form`).
#[test]
fn the_client_sends_the_bytes_the_legacy_stack_read() {
    use gatehouse_codec::{decode, BodyFormat, DecodeOptions};
    use gatehouse_models::Contract;
    // The seed's value in the sample of that media type (the XML samples carry members the
    // JSON ones do not), and the golden of the bytes for it.
    fn seed<T: serde::de::DeserializeOwned + Contract>(
        stem: &str,
        media: MediaType,
    ) -> (T, Vec<u8>) {
        let (sample, format, expected) = match media {
            MediaType::Xml => (
                "sample.xml",
                BodyFormat::Xml,
                format!("{stem}.expected.xml"),
            ),
            MediaType::Form => ("sample.json", BodyFormat::Json, format!("form/{stem}.form")),
            _ => (
                "sample.json",
                BodyFormat::Json,
                format!("{stem}.expected.json"),
            ),
        };
        let value = decode(
            format,
            &golden(&format!("{stem}.{sample}")),
            &DecodeOptions::default(),
        )
        .expect("the seed sample decodes");
        (value, golden(&expected))
    }
    for media in MEDIA {
        let (katana, expected) = seed::<katana::OAuthRequest>("004_request", media);
        let (head, body) = caught(|gh| {
            let _ = gh.katana_token(&katana, media);
        });
        assert!(head.starts_with("post /token http/1.1"), "{head}");
        assert!(
            head.contains(&format!("content-type: {}", media.content_type())),
            "{head}"
        );
        assert_eq!(body, expected, "katana {media:?}");
        let (member, expected) = seed::<member::AuthMemberModel>("002_request", media);
        let (_, body) = caught(|gh| {
            let _ = gh.member_token(&member, media);
        });
        assert_eq!(body, expected, "member {media:?}");
        let (v1_request, expected) = seed::<v1::TokenRequest>("003_request", media);
        let (head, body) = caught(|gh| {
            let _ = gh.v1_token(&v1_request, None, media);
        });
        assert!(!head.contains("authorization:"), "{head}");
        assert_eq!(body, expected, "v1 {media:?}");
    }
    let (v1_request, _) = seed::<v1::TokenRequest>("003_request", MediaType::Json);
    // Basic credentials as RFC 6749 section 2.3.1 writes them.
    let (head, _) = caught(|gh| {
        let _ = gh.v1_token(
            &v1_request,
            Some(&ClientCredentials::new("demo-client", "demo-secret")),
            MediaType::Json,
        );
    });
    assert!(
        head.contains("authorization: basic zgvtby1jbgllbnq6zgvtby1zzwnyzxq="),
        "{head}"
    );
}

fn import_jwt_clients(server: &Server) {
    import(
        server,
        r#"{"clients":[
 {"client_id":"rs-es","secret":"s-es","grants":["client_credentials"],"scope":"read","access_token_format":"jwt","audience":"https://api.example"},
 {"client_id":"rs-rs","secret":"s-rs","grants":["client_credentials"],"scope":"read","access_token_format":"jwt","audience":"https://api.example","access_token_signed_response_alg":"RS256"},
 {"client_id":"rs-ed","secret":"s-ed","grants":["client_credentials"],"scope":"read","access_token_format":"jwt","audience":"https://api.example","access_token_signed_response_alg":"EdDSA"},
 {"client_id":"rs-other","secret":"s-other","grants":["client_credentials"],"scope":"read","access_token_format":"jwt","audience":"https://another.example"}
]}"#,
    );
}

#[test]
fn resource_server_helpers_validate_opaque_jwt_and_revoked_tokens() {
    let server = Server::start();
    gatehouse::cli::keys_rotate(&crate::support::settings_of(&server.db), "EdDSA", 0)
        .expect("an EdDSA key");
    import_jwt_clients(&server);
    let gh = client(&server);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // Opaque tokens by introspection, no cache: a revocation is seen at once.
    // The async client lives in the runtime that drives it.
    let rs = runtime
        .block_on(async {
            gatehouse_client::Client::builder(format!("http://{}", server.addr)).build()
        })
        .expect("async client");
    let introspector = Introspector::new(rs.clone(), demo()).max_age(Duration::ZERO);
    let token = server.alice_token();
    let principal = runtime.block_on(introspector.check(&token)).expect("valid");
    assert_eq!(principal.username.as_deref(), Some("alice"));
    gh.revoke(&demo(), &Secret::new(token.clone()))
        .expect("revoke");
    let e = runtime
        .block_on(introspector.check(&token))
        .expect_err("revoked");
    assert!(matches!(e, Error::InvalidToken(_)), "{e:?}");
    // JWTs of each algorithm against the JWKS, algorithms pinned.
    let issuer = format!("http://{}", server.addr);
    let all = JwtValidator::new(
        rs.clone(),
        "/oauth2/jwks",
        issuer.clone(),
        "https://api.example",
        &[Algorithm::Es256, Algorithm::Rs256, Algorithm::EdDsa],
    );
    let es_only = JwtValidator::new(
        rs.clone(),
        "/oauth2/jwks",
        issuer.clone(),
        "https://api.example",
        &[Algorithm::Es256],
    );
    let jwt = |id: &str, secret: &str| {
        gh.token(
            &ClientCredentials::new(id, secret),
            Grant::ClientCredentials { scope: None },
        )
        .expect("jwt")
        .access_token
    };
    for (id, secret) in [("rs-es", "s-es"), ("rs-rs", "s-rs"), ("rs-ed", "s-ed")] {
        let t = jwt(id, secret);
        let p = runtime
            .block_on(all.check(&t))
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(p.client_id.as_deref(), Some(id));
        assert!(p.has_scope("read"));
        let pinned = runtime.block_on(es_only.check(&t));
        assert_eq!(pinned.is_ok(), id == "rs-es", "{id}: {pinned:?}");
        // One changed byte in the payload breaks the signature.
        let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
        let mut payload = parts[1].clone().into_bytes();
        payload[5] = if payload[5] == b'A' { b'B' } else { b'A' };
        parts[1] = String::from_utf8(payload).unwrap();
        assert!(
            runtime.block_on(all.check(&parts.join("."))).is_err(),
            "{id} tampered"
        );
    }
    // Another audience's token, and an opaque token, are refused.
    let e = runtime
        .block_on(all.check(&jwt("rs-other", "s-other")))
        .expect_err("another audience");
    assert!(
        matches!(e, Error::InvalidToken("another audience")),
        "{e:?}"
    );
    assert!(runtime.block_on(all.check(&server.alice_token())).is_err());
    // The extractors refuse without a token and accept a valid one.
    let validators = Validators::new(Introspector::new(rs.clone(), demo()));
    let token = server.alice_token();
    runtime.block_on(async {
        use axum_core::extract::FromRequestParts;
        let ask = |auth: Option<&str>| {
            let mut builder = http::Request::builder().uri("/api");
            if let Some(auth) = auth {
                builder = builder.header("authorization", auth);
            }
            builder.body(()).unwrap().into_parts().0
        };
        let mut parts = ask(Some(&format!("Bearer {token}")));
        let ok =
            gatehouse_client::resource::AxumBearer::from_request_parts(&mut parts, &validators)
                .await;
        assert_eq!(ok.expect("valid").0.username.as_deref(), Some("alice"));
        for auth in [None, Some("Bearer nope"), Some("Basic abc")] {
            let mut parts = ask(auth);
            assert!(gatehouse_client::resource::AxumBearer::from_request_parts(
                &mut parts,
                &validators
            )
            .await
            .is_err());
        }
    });
}

#[test]
#[expect(
    clippy::disallowed_methods,
    reason = "the server's clock is the wall clock: the test waits for the token's exp on it"
)]
fn the_introspection_cache_never_outlives_the_token() {
    let server = Server::start_with(|s| s.access_token_lifetime = 2);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // A cache that would keep answers for an hour.
    let rs = runtime
        .block_on(async {
            gatehouse_client::Client::builder(format!("http://{}", server.addr)).build()
        })
        .expect("async client");
    let introspector = Introspector::new(rs, demo()).max_age(Duration::from_secs(3600));
    let token = server.alice_token();
    let p = runtime.block_on(introspector.check(&token)).expect("valid");
    let exp = p.expires_at.expect("exp");
    // Wait until the token's exp has passed (whole seconds), then ask the cache.
    while std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        <= u64::try_from(exp).expect("exp")
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    let e = runtime
        .block_on(introspector.check(&token))
        .expect_err("expired, whatever the cache holds");
    assert!(matches!(e, Error::InvalidToken(_)), "{e:?}");
}

/// The actix-web extractor in a real actix service: 401 with `WWW-Authenticate` without a
/// valid token, the principal with one.
#[test]
fn the_actix_extractor_guards_a_route() {
    use actix_web::{test, web, App, HttpResponse};
    use gatehouse_client::resource::Bearer;
    let server = Server::start();
    let token = server.alice_token();
    let base = format!("http://{}", server.addr);
    actix_web::rt::System::new().block_on(async move {
        let rs = gatehouse_client::Client::builder(base)
            .build()
            .expect("client");
        let validators = Validators::new(Introspector::new(rs, demo()));
        let app = test::init_service(App::new().app_data(web::Data::new(validators)).route(
            "/api/me",
            web::get().to(|who: Bearer| async move {
                HttpResponse::Ok().body(who.0.username.unwrap_or_default())
            }),
        ))
        .await;
        let ask = |auth: Option<String>| {
            let mut req = test::TestRequest::get().uri("/api/me");
            if let Some(auth) = auth {
                req = req.insert_header(("authorization", auth));
            }
            req.to_request()
        };
        let res = test::call_service(&app, ask(Some(format!("Bearer {token}")))).await;
        assert_eq!(res.status(), 200);
        assert_eq!(test::read_body(res).await, "alice");
        for auth in [None, Some("Bearer not-a-token".to_owned())] {
            let res = test::call_service(&app, ask(auth)).await;
            assert_eq!(res.status(), 401);
            assert_eq!(
                res.headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok()),
                Some(r#"Bearer error="invalid_token""#)
            );
        }
    });
}

/// The crate's examples, run against a real demo server: what `docs/clients.md` shows works.
#[test]
fn the_examples_run_against_the_demo_server() {
    use gatehouse_tests::external::{require, Piece};
    let Some(dir) = require(
        Piece::Examples,
        "client::the_examples_run_against_the_demo_server",
    ) else {
        return;
    };
    let server = Server::start();
    for (example, says) in [
        ("legacy_dialects", "onetime: redeemed for alice"),
        ("standards", "after revocation: false"),
        ("resource_server", "refused: the token is not active"),
    ] {
        let out = std::process::Command::new(dir.join(example))
            .env("GATEHOUSE_URL", format!("http://{}", server.addr))
            .output()
            .unwrap_or_else(|e| panic!("{example}: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{example}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains(says), "{example}: {stdout}");
        assert!(
            !stdout.contains("alice-password-1"),
            "{example} printed a password"
        );
    }
}

/// `KatanaValidator` reads the tickets a Gatehouse with `--katana-machine-key` issues at
/// `/token` (the bytes the real Katana bearer middleware accepted: `tests/golden/katana`),
/// and refuses a changed ticket, another machineKey's and an opaque token.
#[test]
fn the_katana_validator_reads_tickets_under_the_machine_key() {
    use gatehouse_client::resource::KatanaValidator;
    use gatehouse_katana::MachineKey;
    let golden = |name: &str| {
        std::fs::read_to_string(format!(
            "{}/golden/katana/keys/{name}.config",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("key file")
    };
    let dir = tempfile::tempdir().expect("dir");
    let key_file = dir.path().join("machine.config");
    std::fs::write(&key_file, golden("hmacsha256-aes256")).expect("write");
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let server = Server::start_with(move |s| s.katana_machine_key = Some(key_file));
    let gh = client(&server);
    let ticket = gh
        .katana_token(
            &katana::OAuthRequest::password("alice", "alice-password-1"),
            MediaType::Form,
        )
        .expect("a ticket")
        .access_token;
    let validator =
        KatanaValidator::new(&MachineKey::parse(&golden("hmacsha256-aes256")).expect("key"));
    let who = validator.check(&ticket).expect("valid");
    assert_eq!(who.username.as_deref(), Some("alice"));
    assert_eq!(
        who.subject.as_deref(),
        Some("a11ce000-0000-4000-8000-000000000001")
    );
    let mut changed = ticket.clone().into_bytes();
    let i = changed.len() / 2;
    changed[i] = if changed[i] == b'A' { b'B' } else { b'A' };
    assert!(validator
        .check(std::str::from_utf8(&changed).unwrap())
        .is_err());
    let other =
        KatanaValidator::new(&MachineKey::parse(&golden("hmacsha512-aes256")).expect("key"));
    assert!(matches!(other.check(&ticket), Err(Error::InvalidToken(_))));
    assert!(validator.check("not-a-ticket").is_err());
}
