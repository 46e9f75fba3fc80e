//! A resource server's check of a bearer token, by introspection with a bounded cache.
//!
//! ```sh
//! cargo run -p gatehouse-client --example resource_server
//! ```

use std::time::Duration;

use gatehouse_client::resource::Introspector;
use gatehouse_client::{Client, ClientCredentials, Error, MediaType};
use gatehouse_models::katana::OAuthRequest;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let url = std::env::var("GATEHOUSE_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let gh = Client::builder(url).build()?;
    let token = gh
        .katana_token(
            &OAuthRequest::password("alice", "alice-password-1"),
            MediaType::Form,
        )
        .await?
        .access_token;
    let introspector = Introspector::new(gh, ClientCredentials::new("demo-client", "demo-secret"))
        .max_age(Duration::from_secs(10))
        .capacity(1000);
    let who = introspector.check(&token).await?;
    println!("{:?} with scopes {:?}", who.username, who.scopes);
    match introspector.check("not-a-token").await {
        Err(Error::InvalidToken(why)) => println!("refused: {why}"),
        other => println!("unexpected: {other:?}"),
    }
    Ok(())
}
