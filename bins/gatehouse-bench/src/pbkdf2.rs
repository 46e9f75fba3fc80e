//! The PBKDF2 ceiling: the time of one PBKDF2-HMAC-SHA256 hash with ring at a given cost,
//! and the rate all cores together could sustain.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::error::Error;
use crate::stats::{cores, median};

/// Hash length, as the server stores it.
pub const HASH_BYTES: usize = 32;

/// One PBKDF2-HMAC-SHA256 derivation.
///
/// # Errors
/// `InvalidArgument` for zero iterations.
pub fn derive(iterations: u32, salt: &[u8], password: &[u8]) -> Result<[u8; HASH_BYTES], Error> {
    let iterations = NonZeroU32::new(iterations)
        .ok_or_else(|| Error::InvalidArgument("iterations must be at least 1".into()))?;
    let mut out = [0u8; HASH_BYTES];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        salt,
        password,
        &mut out,
    );
    Ok(out)
}

/// The measured ceiling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pbkdf2Ceiling {
    /// Iterations per hash.
    pub iterations: u32,
    /// Median time of one hash on one core.
    pub seconds_per_hash: f64,
    /// CPUs available.
    pub cores: usize,
    /// `cores / seconds_per_hash`.
    pub hashes_per_second: f64,
    /// Samples taken.
    pub samples: usize,
}

impl Pbkdf2Ceiling {
    /// As a JSON object (what `gatehouse-bench pbkdf2` prints).
    pub fn to_json(&self) -> Value {
        json!({
            "iterations": self.iterations,
            "seconds_per_hash": self.seconds_per_hash,
            "cores": self.cores,
            "hashes_per_second": self.hashes_per_second,
            "samples": self.samples,
        })
    }
}

/// Times `samples` hashes at `iterations` (after one warm-up) and takes the median.
///
/// # Errors
/// `InvalidArgument` for zero iterations or zero samples.
pub fn measure(iterations: u32, samples: usize) -> Result<Pbkdf2Ceiling, Error> {
    if samples == 0 {
        return Err(Error::InvalidArgument("samples must be at least 1".into()));
    }
    let salt = *b"gatehouse-bench!";
    derive(iterations, &salt, b"warm-up")?;
    let mut times: Vec<Duration> = Vec::with_capacity(samples);
    for i in 0..samples {
        let password = format!("password-{i}");
        let start = Instant::now();
        let out = derive(iterations, &salt, password.as_bytes())?;
        times.push(start.elapsed());
        std::hint::black_box(out);
    }
    let t = median(&times)
        .ok_or_else(|| Error::InvalidArgument("no samples".into()))?
        .as_secs_f64()
        .max(f64::MIN_POSITIVE);
    let cores = cores();
    #[expect(
        clippy::cast_precision_loss,
        reason = "counts and iterations far below 2^52"
    )]
    let hashes_per_second = cores as f64 / t;
    Ok(Pbkdf2Ceiling {
        iterations,
        seconds_per_hash: t,
        cores,
        hashes_per_second,
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn derive_matches_the_published_vector() {
        // PBKDF2-HMAC-SHA256, P = "password", S = "salt", c = 4096, dkLen = 32
        // (the widely published extension of RFC 6070 to SHA-256).
        let out = derive(4096, b"salt", b"password").expect("valid iterations");
        assert_eq!(
            hex(&out),
            "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"
        );
    }

    #[test]
    fn zero_iterations_is_an_error() {
        assert!(matches!(
            derive(0, b"s", b"p"),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(measure(0, 3), Err(Error::InvalidArgument(_))));
    }

    #[test]
    fn zero_samples_is_an_error() {
        assert!(matches!(measure(1000, 0), Err(Error::InvalidArgument(_))));
    }

    #[test]
    fn ceiling_is_cores_over_time() {
        let c = measure(20_000, 3).expect("measures");
        assert!(c.seconds_per_hash > 0.0);
        #[expect(
            clippy::cast_precision_loss,
            reason = "counts and iterations far below 2^52"
        )]
        let expected = c.cores as f64 / c.seconds_per_hash;
        assert!((c.hashes_per_second - expected).abs() < 1e-6 * expected);
        // More work takes longer: 10x the iterations must not be faster than 2x the time.
        let slow = measure(200_000, 3).expect("measures");
        assert!(
            slow.seconds_per_hash > 2.0 * c.seconds_per_hash,
            "{c:?} {slow:?}"
        );
    }
}
