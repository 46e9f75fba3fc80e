//! Accounts, clients, credentials, sessions, tokens, codes and the grant logic of Gatehouse.
//!
//! Independent of wire format and of the database engine: storage implements the repository
//! traits, the server adapts HTTP to the operations. Time ([`clock::Clock`]) and randomness
//! ([`rng::Rng`]) are passed in.

pub mod clock;
pub mod rng;
pub mod credentials;
pub mod hash_pool;
pub mod secret;
