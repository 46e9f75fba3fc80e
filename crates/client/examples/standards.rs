//! The standards surface against `gatehouse serve --demo`: discovery, client credentials,
//! introspection, revocation, and the authorization URL of the code flow with PKCE.
//!
//! ```sh
//! cargo run -p gatehouse-client --example standards
//! ```

use gatehouse_client::{Client, ClientCredentials, Error, Grant, Secret};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let url = std::env::var("GATEHOUSE_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let gh = Client::builder(url).build()?;
    let metadata = gh.metadata().await?;
    println!("issuer {}", metadata.oauth.issuer);

    let client = ClientCredentials::new("demo-client", "demo-secret");
    let issued = gh
        .token(&client, Grant::ClientCredentials { scope: None })
        .await?;
    let token = Secret::new(issued.access_token);
    println!("active: {}", gh.introspect(&client, &token).await?.active);
    gh.revoke(&client, &token).await?;
    println!(
        "after revocation: {}",
        gh.introspect(&client, &token).await?.active
    );

    let request =
        gh.authorization_request("demo-client", "http://127.0.0.1:8765/callback", "openid");
    println!("open {}", request.url);
    println!(
        "then exchange the code with Grant::AuthorizationCode and the request's code_verifier"
    );
    Ok(())
}
