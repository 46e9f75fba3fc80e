//! Randomness is passed in. Production uses ring's `SystemRandom`.

use ring::rand::SecureRandom;

/// A source of cryptographically secure random bytes.
pub trait Rng: Send + Sync {
    /// Fills `dest` with random bytes.
    fn fill(&self, dest: &mut [u8]);

    /// A random version-4 UUID built from this source.
    fn uuid_v4(&self) -> uuid::Uuid {
        let mut bytes = [0u8; 16];
        self.fill(&mut bytes);
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}

/// The operating system's CSPRNG, through ring.
#[derive(Debug)]
pub struct SystemRng(ring::rand::SystemRandom);

impl SystemRng {
    /// Creates the generator.
    pub fn new() -> Self {
        Self(ring::rand::SystemRandom::new())
    }
}

impl Default for SystemRng {
    fn default() -> Self {
        Self::new()
    }
}

impl Rng for SystemRng {
    fn fill(&self, dest: &mut [u8]) {
        // SystemRandom only fails when the OS has no entropy source at all; that is not a
        // condition a token server can continue under.
        self.0
            .fill(dest)
            .expect("the operating system's random number generator failed");
    }
}

/// A deterministic generator for tests: a counter run through SHA-256. Never use it to mint
/// real secrets.
#[derive(Debug, Default)]
pub struct SeededRng {
    state: std::sync::Mutex<(u64, u64)>,
}

impl SeededRng {
    /// A generator whose output is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            state: std::sync::Mutex::new((seed, 0)),
        }
    }
}

impl Rng for SeededRng {
    fn fill(&self, dest: &mut [u8]) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for chunk in dest.chunks_mut(32) {
            let mut input = [0u8; 16];
            input[..8].copy_from_slice(&state.0.to_le_bytes());
            input[8..].copy_from_slice(&state.1.to_le_bytes());
            state.1 += 1;
            let digest = ring::digest::digest(&ring::digest::SHA256, &input);
            chunk.copy_from_slice(&digest.as_ref()[..chunk.len()]);
        }
    }
}
