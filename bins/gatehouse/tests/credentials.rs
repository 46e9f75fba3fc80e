//! The credential API as the rest of Gatehouse uses it: a login through the hash pool, the
//! upgrade of legacy and stale hashes, an unknown user, a client secret, a token.

use std::time::{Duration, Instant};

use futures_channel::oneshot;
use gatehouse::hash_pool::{HashPool, PoolBusy};
use gatehouse_domain::credentials::{
    CredentialError, PasswordHasher, Verification, ASPNET_IDENTITY_PREFIX,
};
use gatehouse_domain::rng::SeededRng;
use gatehouse_domain::secret::{
    generate_client_secret, generate_token, hash_client_secret, verify_client_secret,
    ClientSecretHash, Secret, TokenDigest,
};

fn wait<R>(mut receiver: oneshot::Receiver<R>) -> Option<R> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        match receiver.try_recv() {
            Ok(Some(value)) => return Some(value),
            Ok(None) => std::thread::sleep(Duration::from_millis(1)),
            Err(_) => return None,
        }
    }
    None
}

fn new_hasher(iterations: u32) -> PasswordHasher {
    match PasswordHasher::new(iterations) {
        Ok(h) => h,
        Err(e) => panic!("{e}"),
    }
}

/// What the login grant does: verify on the pool; on success with a stale hash, store a new one.
fn login(
    pool: &HashPool,
    hasher: &PasswordHasher,
    stored: Option<String>,
    password: Secret,
) -> Result<(bool, Option<String>), CredentialError> {
    let hasher = hasher.clone();
    let job = pool.try_spawn(move || match stored {
        None => {
            hasher.dummy_verify(password.expose());
            Ok((false, None))
        }
        Some(stored) => match hasher.verify(&stored, password.expose())? {
            Verification::Invalid => Ok((false, None)),
            Verification::Valid => Ok((true, None)),
            Verification::ValidNeedsRehash => Ok((
                true,
                Some(hasher.hash(password.expose(), &SeededRng::new(42))),
            )),
        },
    })?;
    wait(job).unwrap_or(Err(CredentialError::Busy))
}

#[test]
fn legacy_user_is_upgraded_on_first_login() {
    let pool = HashPool::new(2, 8);
    let hasher = new_hasher(2_000);
    // ASP.NET Identity v3 (SHA512, 100,000 iterations), as the import document carries it;
    // see the known-answer test in credentials.rs for the Python command.
    let imported = format!(
        "{ASPNET_IDENTITY_PREFIX}AQAAAAIAAYagAAAAECAhIiMkJSYnKCkqKywtLi/8HWhUUnOM6fdxOX2ep/vEGPSVVooAyeO6gA8xtBuLsA=="
    );
    let wrong = login(&pool, &hasher, Some(imported.clone()), "hunter2".into());
    assert_eq!(wrong, Ok((false, None)));

    let first = login(&pool, &hasher, Some(imported), "hunter2-été".into());
    let Ok((true, Some(upgraded))) = first else {
        panic!("legacy login did not ask for a rehash: {first:?}");
    };
    assert!(upgraded.starts_with("pbkdf2-sha256$2000$"));

    let second = login(&pool, &hasher, Some(upgraded.clone()), "hunter2-été".into());
    assert_eq!(second, Ok((true, None)), "current hash needs no rehash");

    // The operator raises the cost: the next login upgrades again.
    let stronger = new_hasher(3_000);
    let third = login(&pool, &stronger, Some(upgraded), "hunter2-été".into());
    assert!(matches!(third, Ok((true, Some(ref s))) if s.starts_with("pbkdf2-sha256$3000$")));
}

#[test]
fn unknown_user_costs_one_derivation_like_a_known_one() {
    let pool = HashPool::new(1, 4);
    let hasher = new_hasher(1_000);
    let stored = hasher.hash("pw", &SeededRng::new(1));
    let before = hasher.hash_invocations();
    assert_eq!(
        login(&pool, &hasher, Some(stored), "nope".into()),
        Ok((false, None))
    );
    let known = hasher.hash_invocations() - before;
    assert_eq!(
        login(&pool, &hasher, None, "nope".into()),
        Ok((false, None))
    );
    let unknown = hasher.hash_invocations() - before - known;
    assert_eq!((known, unknown), (1, 1));
}

#[test]
fn damaged_stored_hash_is_a_typed_error() {
    let pool = HashPool::new(1, 4);
    let hasher = new_hasher(1_000);
    assert_eq!(
        login(
            &pool,
            &hasher,
            Some("pbkdf2-sha256$0$AA$AA".into()),
            "pw".into()
        ),
        Err(CredentialError::IterationsOutOfRange(0))
    );
}

#[test]
fn pool_busy_becomes_the_crate_error() {
    let pool = HashPool::new(1, 0);
    let (release, hold) = std::sync::mpsc::channel::<()>();
    let blocker = pool.try_spawn(move || hold.recv().is_ok());
    assert!(blocker.is_ok());
    let deadline = Instant::now() + Duration::from_secs(20);
    while pool.running() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    let hasher = new_hasher(1_000);
    assert_eq!(
        login(&pool, &hasher, None, "pw".into()),
        Err(CredentialError::Busy)
    );
    assert_eq!(CredentialError::from(PoolBusy), CredentialError::Busy);
    assert!(release.send(()).is_ok());
    assert_eq!(blocker.ok().and_then(wait), Some(true));
}

#[test]
fn client_secret_and_token_lifecycle() {
    let rng = SeededRng::new(5);
    // The CLI: generate, show once, store the hash.
    let secret = generate_client_secret(&rng);
    let column = hash_client_secret(&secret, &rng).as_str().to_owned();
    // A request: read the column back, check the presented secret.
    let stored = ClientSecretHash::parse(&column);
    assert!(stored
        .as_ref()
        .is_ok_and(|s| verify_client_secret(s, secret.expose())));
    assert!(stored.is_ok_and(|s| !verify_client_secret(&s, "demo-secret")));

    // A token: the client gets the text, storage the digest, lookup by the digest.
    let (token, digest) = generate_token(&rng);
    let column: Vec<u8> = digest.as_bytes().to_vec();
    assert_eq!(
        TokenDigest::from_slice(&column),
        Ok(TokenDigest::of(token.expose()))
    );
    assert!(!format!("{token:?}").contains(token.expose()));
}
