//! The Rust `oauth2` crate (version 5) as a real client: it sends Basic credentials
//! URL-encoded (RFC 6749 2.3.1), insists on a 200, a JSON content type, `access_token`,
//! `token_type` and a numeric `expires_in`. Its transport here is the suite's plain HTTP/1.1
//! client; everything above the socket is the crate's.

use oauth2::basic::BasicClient;
use oauth2::{
    ClientId, ClientSecret, HttpRequest, HttpResponse, RefreshToken, ResourceOwnerPassword,
    ResourceOwnerUsername, TokenResponse as _, TokenUrl,
};

use crate::support::{settings_of, Server};

/// A secret with every character that Basic encoding trips over.
const SECRET: &str = "s3:cr%t+ with space";

#[expect(
    clippy::needless_pass_by_value,
    reason = "the oauth2 crate's synchronous HTTP client hands the request over by value"
)]
fn transport(request: HttpRequest) -> Result<HttpResponse, std::io::Error> {
    let uri = request.uri().clone();
    let authority = uri
        .authority()
        .ok_or_else(|| std::io::Error::other("no authority"))?;
    let addr = authority
        .as_str()
        .parse()
        .map_err(|_| std::io::Error::other("not host:port"))?;
    let mut raw = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\n",
        request.method(),
        uri.path(),
        authority
    );
    for (name, value) in request.headers() {
        raw.push_str(&format!(
            "{}: {}\r\n",
            name,
            value.to_str().map_err(std::io::Error::other)?
        ));
    }
    raw.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        request.body().len()
    ));
    let mut bytes = raw.into_bytes();
    bytes.extend_from_slice(request.body());
    let res = gatehouse_tests::send_raw(addr, &bytes)?;
    let mut builder = oauth2::http::Response::builder().status(res.status);
    for (k, v) in &res.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    builder.body(res.body).map_err(std::io::Error::other)
}

fn server_with_client() -> Server {
    let server = Server::start();
    let doc = format!(
        r#"{{"clients":[{{"client_id":"rust-oauth2","secret":{},"grants":["password","refresh_token"],"scope":"openid"}}]}}"#,
        serde_json::to_string(SECRET).expect("json")
    );
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), doc).expect("write");
    gatehouse::cli::import(&settings_of(&server.db), file.path()).expect("import");
    server
}

#[test]
fn password_and_refresh_grants_at_v1() {
    let server = server_with_client();
    let client = BasicClient::new(ClientId::new("rust-oauth2".into()))
        .set_client_secret(ClientSecret::new(SECRET.into()))
        .set_token_uri(
            TokenUrl::new(format!("http://{}/api/v1/auth/token", server.addr)).expect("url"),
        );
    let token = client
        .exchange_password(
            &ResourceOwnerUsername::new("alice".into()),
            &ResourceOwnerPassword::new("alice-password-1".into()),
        )
        .request(&transport)
        .expect("password grant");
    assert_eq!(token.access_token().secret().len(), 43);
    assert!(token.expires_in().is_some());
    let refresh = token.refresh_token().expect("refresh token").clone();

    let refreshed = client
        .exchange_refresh_token(&refresh)
        .request(&transport)
        .expect("refresh grant");
    assert_ne!(
        refreshed.access_token().secret(),
        token.access_token().secret()
    );
    assert!(server.active(refreshed.access_token().secret()));

    // The rotated refresh token is refused through the crate too.
    let replay = client
        .exchange_refresh_token(&RefreshToken::new(refresh.secret().clone()))
        .request(&transport);
    match replay {
        Err(oauth2::RequestTokenError::ServerResponse(e)) => {
            assert_eq!(
                *e.error(),
                oauth2::basic::BasicErrorResponseType::InvalidGrant
            );
            assert_eq!(
                e.error_description().map(String::as_str),
                Some("Invalid grant: the refresh token was already used; the session has ended.")
            );
        }
        other => panic!("the replay was not refused with invalid_grant: {other:?}"),
    }
}

#[test]
fn password_grant_at_katana_token() {
    let server = server_with_client();
    let client = BasicClient::new(ClientId::new("rust-oauth2".into()))
        .set_client_secret(ClientSecret::new(SECRET.into()))
        .set_token_uri(TokenUrl::new(format!("http://{}/token", server.addr)).expect("url"));
    let token = client
        .exchange_password(
            &ResourceOwnerUsername::new("bob".into()),
            &ResourceOwnerPassword::new("bob-password-1".into()),
        )
        .request(&transport)
        .expect("password grant at /token");
    assert!(server.active(token.access_token().secret()));
    assert_eq!(
        token.expires_in().map(|d| d.as_secs()),
        Some(1200),
        "expires_in is numeric seconds"
    );
}
