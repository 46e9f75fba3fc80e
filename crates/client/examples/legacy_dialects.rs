//! The five legacy dialects against `gatehouse serve --demo`, one call each (and the otc and
//! onetime second steps), each in another media type.
//!
//! ```sh
//! cargo run --release -p gatehouse -- serve --demo &
//! cargo run -p gatehouse-client --example legacy_dialects --features blocking
//! ```
//! `GATEHOUSE_URL` overrides the server (default `http://127.0.0.1:8080`).

use gatehouse_client::blocking::Client;
use gatehouse_client::{ClientCredentials, Error, MediaType, Secret};
use gatehouse_models::{katana, member, onetime, otc, v1};

fn main() -> Result<(), Error> {
    let url = std::env::var("GATEHOUSE_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let gh = Client::new(gatehouse_client::Client::builder(url))?;

    // Katana `/token`, a form body as Katana's clients sent it.
    let katana = gh.katana_token(
        &katana::OAuthRequest::password("alice", "alice-password-1"),
        MediaType::Form,
    )?;
    println!("katana: {} is user {}", katana.user_name, katana.user_id);

    // v1, JSON, the client by HTTP Basic; then a refresh.
    let client = ClientCredentials::new("demo-client", "demo-secret");
    let v1 = gh.v1_token(
        &v1::TokenRequest::password("alice", "alice-password-1"),
        Some(&client),
        MediaType::Json,
    )?;
    let refreshed = gh.v1_token(
        &v1::TokenRequest::refresh(v1.refresh_token.clone().unwrap_or_default()),
        Some(&client),
        MediaType::Json,
    )?;
    println!(
        "v1: scope {:?}, refreshed for {} s",
        v1.scope, refreshed.expires_in
    );

    // member, XML in and out.
    let member = gh.member_token(
        &member::AuthMemberModel::new("1234", "alice-password-1"),
        MediaType::Xml,
    )?;
    println!(
        "member: {} (member {}) for {:?}",
        member.user_name, member.id_member, member.expire_in
    );

    // otc: a code, exchanged once.
    let code = gh.otc_auth_code(
        &otc::AuthCodeRequest::new("demo-client", "demo-secret", "alice", "alice-password-1"),
        MediaType::Json,
    )?;
    let token = gh.otc_token(
        &otc::TokenRequest::new("demo-client", "demo-secret", code.expose()),
        MediaType::Json,
    )?;
    println!(
        "otc: a {} token for {} s",
        token.token_type, token.expires_in
    );

    // onetime: a code for the signed-in user, redeemed by the client.
    let bearer = Secret::new(katana.access_token);
    let mut request = onetime::OneTimeTokenRequest::new("demo-client");
    request.trading_account = Some("TA-1001".into());
    let issued = gh.onetime_token(&bearer, &request, MediaType::Json)?;
    let redeemed = gh.onetime_authorize(&client, &Secret::new(issued.code), MediaType::Json)?;
    println!("onetime: redeemed for {}", redeemed.user_name);

    // A refusal is a typed error in its dialect's shape.
    match gh.member_token(
        &member::AuthMemberModel::new("1234", "wrong"),
        MediaType::Json,
    ) {
        Err(Error::WebApi { status, error, .. }) => {
            println!("member refused: {status} {}", error.message)
        }
        other => println!("unexpected: {other:?}"),
    }
    Ok(())
}
