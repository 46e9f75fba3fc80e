//! Signing keys and JWT access tokens over real databases with a mock clock: the key life
//! (pending, signing, superseded, retired, expired), sealed private keys, and introspection
//! refusing expired tokens and tokens of a key retired past its window.

use std::sync::Arc;

use gatehouse_domain::keys::{Alg, KeyEncryptionKey, KeyRing, KeyStatus};
use gatehouse_domain::secret::Secret;
use gatehouse_domain::store::Store;
use gatehouse_domain::{ClientAuth, Config, Error, Gatehouse};
use gatehouse_storage::Storage;
use time::Duration;

use crate::support::{fx, Fx, TEST_ITERATIONS};

fn kid_of(jwt: &str) -> String {
    use base64::Engine as _;
    let header = jwt.split('.').next().unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .expect("base64url header");
    let v: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON header");
    v["kid"].as_str().unwrap_or_default().to_owned()
}

/// A service with a key ring over the fixture's database.
fn ring_service(fx: &Fx, kek: [u8; 32]) -> Gatehouse<Storage> {
    let ring = KeyRing::new(KeyEncryptionKey::from_bytes(&kek));
    ring.set_issuer("https://login.example");
    fx.reopen(TEST_ITERATIONS, Config::default())
        .with_key_ring(Arc::new(ring))
}

/// [`ring_service`] with its first keys, and a JWT client `api` (ES256 access tokens).
fn signing(fx: &Fx, kek: [u8; 32]) -> Gatehouse<Storage> {
    let gh = ring_service(fx, kek);
    gh.ensure_signing_key().expect("first keys");
    add_api(&gh).expect("client");
    gh
}

fn add_api(gh: &Gatehouse<Storage>) -> Result<(), Error> {
    let secret = gh
        .add_client(gatehouse_domain::ClientSpec {
            secret: gatehouse_domain::ClientSecretSpec::Generate,
            grants: vec!["client_credentials".to_owned()],
            scope: "read".to_owned(),
            access_token_format: Some("jwt".to_owned()),
            ..gatehouse_domain::ClientSpec::new("api")
        })?
        .expect("secret");
    API_SECRET.with(|s| *s.borrow_mut() = secret.expose().to_owned());
    Ok(())
}

thread_local! {
    static API_SECRET: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

fn api() -> ClientAuth {
    ClientAuth::new(
        "api",
        Some(Secret::new(API_SECRET.with(|s| s.borrow().clone()))),
    )
}

fn grant(gh: &Gatehouse<Storage>) -> String {
    gh.client_credentials_grant(&api(), None, None)
        .expect("grant")
        .access_token
        .expose()
        .to_owned()
}

fn active(gh: &Gatehouse<Storage>, token: &str) -> bool {
    gh.introspect(&api(), token).expect("introspect").is_some()
}

pub fn key_life_and_windows() {
    let fx = fx();
    let gh = ring_service(&fx, [7; 32]);
    // No key: a JWT client is refused where it is configured, not silently opaque.
    assert!(matches!(add_api(&gh), Err(Error::SigningUnavailable(_))));
    // A new database gets an RS256 key (id_tokens) and an ES256 key (access tokens).
    let created = gh.ensure_signing_key().expect("ensure");
    let algs: Vec<Alg> = created.iter().map(|k| k.alg).collect();
    assert_eq!(algs, [Alg::Rs256, Alg::Es256]);
    assert!(gh.ensure_signing_key().expect("ensure").is_empty(), "once");
    let (rsa, first) = (created[0].clone(), created[1].clone());
    add_api(&gh).expect("client");
    let t1 = grant(&gh);
    assert_eq!(kid_of(&t1), first.kid);
    assert!(active(&gh, &t1));

    // Rotation publishes first: the pending key is in the JWKS, the old one still signs.
    let second = gh
        .rotate_key(Alg::Es256, Duration::minutes(10))
        .expect("rotate");
    let jwks = gh.jwks().expect("jwks");
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    let mut want = vec![rsa.kid.as_str(), first.kid.as_str(), second.kid.as_str()];
    let mut kids = kids;
    want.sort_unstable();
    kids.sort_unstable();
    assert_eq!(kids, want);
    for key in jwks["keys"].as_array().expect("keys") {
        assert_eq!(key["use"], "sig");
        assert!(
            key.get("d").is_none() && key.get("p").is_none(),
            "public only"
        );
    }
    assert_eq!(kid_of(&grant(&gh)), first.kid);
    let status = |kid: &str| {
        gh.list_keys()
            .expect("list")
            .iter()
            .find(|k| k.0.kid == kid)
            .map(|k| k.1)
    };
    // One signing key per algorithm.
    assert_eq!(status(&rsa.kid), Some(KeyStatus::Signing));
    assert_eq!(status(&first.kid), Some(KeyStatus::Signing));
    assert_eq!(status(&second.kid), Some(KeyStatus::Pending));
    fx.clock.advance(Duration::minutes(10));
    let t2 = grant(&gh);
    assert_eq!(kid_of(&t2), second.kid, "signs once the delay is over");
    assert!(active(&gh, &t1), "the superseded key still verifies");

    // Retired with the default window (the longest access-token lifetime, 20 min): still
    // published and accepted within it; its tokens have expired when it goes.
    let until = gh.retire_key(&first.kid, None).expect("retire");
    assert_eq!(
        until,
        gatehouse_domain::clock::Clock::now(&*fx.clock) + Duration::minutes(20)
    );
    assert!(matches!(
        gh.retire_key(&first.kid, None),
        Err(Error::NotFound(_))
    ));
    assert!(active(&gh, &t1));
    // Expiry: t1 was issued 10 minutes ago with a 20-minute lifetime.
    fx.clock.advance(Duration::minutes(10));
    assert!(!active(&gh, &t1), "expired");
    assert!(active(&gh, &t2));

    // A key retired with a short window: its unexpired tokens are refused after it.
    let t3 = grant(&gh);
    gh.retire_key(&second.kid, Some(Duration::minutes(1)))
        .expect("retire");
    assert!(active(&gh, &t3), "within the window");
    fx.clock.advance(Duration::minutes(2));
    assert!(!active(&gh, &t3), "retired past its window");
    let jwks = gh.jwks().expect("jwks");
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    let mut kids = kids;
    kids.sort_unstable();
    let mut want = vec![rsa.kid.as_str(), first.kid.as_str()];
    want.sort_unstable();
    assert_eq!(kids, want, "the first is within its window still");
    // No ES256 key signs now: the client's grant fails with the reason, and the RS256 key
    // does not stand in for the algorithm the client was configured for.
    let refused = gh.client_credentials_grant(&api(), None, None);
    assert!(
        matches!(&refused, Err(Error::SigningUnavailable(why)) if why.contains("ES256")),
        "{refused:?}"
    );
    assert!(matches!(
        gh.check_signing_setup(),
        Err(Error::SigningUnavailable(_))
    ));
}

pub fn a_wrong_kek_does_not_open_the_keys() {
    let fx = fx();
    let gh = signing(&fx, [7; 32]);
    gh.ensure_signing_key().expect("ensure");
    let other = KeyRing::new(KeyEncryptionKey::from_bytes(&[8; 32]));
    let wrong = fx
        .reopen(TEST_ITERATIONS, Config::default())
        .with_key_ring(Arc::new(other));
    assert!(matches!(
        wrong.ensure_signing_key(),
        Err(Error::SigningUnavailable(_))
    ));
    // Nor rotate (issue 19 item 5): the KEK must open the stored keys first.
    let before = fx.store.read(|tx| tx.signing_keys()).expect("read").len();
    let refused = wrong.rotate_key(Alg::Es256, time::Duration::ZERO);
    assert!(
        matches!(&refused, Err(Error::SigningUnavailable(why)) if why.contains("does not open")),
        "{refused:?}"
    );
    assert_eq!(
        fx.store.read(|tx| tx.signing_keys()).expect("read").len(),
        before
    );
    // The stored private key is not the PKCS#8 in clear.
    let keys = fx.store.read(|tx| tx.signing_keys()).expect("read");
    let rsa = keys
        .iter()
        .find(|k| k.alg == Alg::Rs256)
        .expect("RS256 key");
    assert!(!rsa
        .private_key
        .windows(9)
        .any(|w| w == [0x30, 0x82, 0x04, 0xbd, 0x02, 0x01, 0x00, 0x30, 0x0d]));
}

/// `gatehouse copy` takes the keys along: a JWT signed on the source verifies on the copy.
pub fn keys_survive_a_copy() {
    let fx = fx();
    let gh = signing(&fx, [7; 32]);
    gh.ensure_signing_key().expect("ensure");
    let t = grant(&gh);
    let (_dir, path) = crate::support::temp_db();
    let target =
        gatehouse_storage::Storage::open(&path, gatehouse_storage::StorageOptions::default())
            .expect("open");
    let now = gatehouse_domain::clock::Clock::now(&*fx.clock);
    // `gh` runs over the fixture's database: copy that.
    let report = gatehouse_storage::copy(&fx.store, &target, now, &mut |_| {}).expect("copy");
    assert!(report
        .tables
        .iter()
        .any(|t| t.table == "signing_keys" && t.destination_rows == 2));
    let ring = KeyRing::new(KeyEncryptionKey::from_bytes(&[7; 32]));
    ring.set_issuer("https://login.example");
    let copied = crate::support::service(
        &gatehouse_storage::Database::Sqlite(path),
        fx.clock.clone(),
        TEST_ITERATIONS,
        Config::default(),
    )
    .with_key_ring(Arc::new(ring));
    assert!(
        copied.ensure_signing_key().expect("opens").is_empty(),
        "no new key"
    );
    assert!(active(&copied, &t));
}

both!(
    key_life_and_windows,
    a_wrong_kek_does_not_open_the_keys,
    keys_survive_a_copy
);
