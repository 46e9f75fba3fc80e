//! Password hashing and verification (formats and costs: docs/security.md).
//!
//! # Stored formats
//!
//! * **Current**: `pbkdf2-sha256$<iterations>$<salt>$<hash>`: PBKDF2-HMAC-SHA256, a 16-byte
//!   random salt and a 32-byte derived key, both in standard base64 *without* padding,
//!   iterations in decimal. [`PasswordHasher::hash`] writes it; a stored string whose
//!   iteration count differs from the configured one verifies as
//!   [`Verification::ValidNeedsRehash`], so the cost can be raised later and hashes follow on
//!   the next successful login.
//! * **ASP.NET Identity v2 and v3**, imported from legacy user stores, accepted in two forms:
//!   - the raw value of the `PasswordHash` column: standard base64 (with padding, as .NET's
//!     `Convert.ToBase64String` writes it) of the binary blob, recognised by its first byte
//!     (`0x00` = v2, `0x01` = v3);
//!   - the same base64 text behind the explicit prefix [`ASPNET_IDENTITY_PREFIX`]
//!     (`aspnet-identity$<base64>`), which the import document uses so the format never has to
//!     be guessed.
//!
//!   v2 blob: `0x00`, 16-byte salt, 32-byte subkey (49 bytes), PBKDF2-HMAC-SHA1 with 1,000
//!   iterations. v3 blob: `0x01`, then three big-endian `u32`s: PRF (0 = HMAC-SHA1,
//!   1 = HMAC-SHA256, 2 = HMAC-SHA512), iteration count, salt length; then the salt and the
//!   subkey (the rest of the blob). Both always verify as [`Verification::ValidNeedsRehash`]
//!   when the password is right, so the user moves to the current format on first login.
//!
//! Hostile or damaged stored strings (bad base64, zero or more than [`MAX_ITERATIONS`]
//! iterations, wrong lengths, unknown PRF) give a [`CredentialError`], never a panic. The
//! comparison of the derived key is constant time ([`ring::pbkdf2::verify`]).
//!
//! Hashing is slow on purpose (hundreds of milliseconds at the default cost): run it on
//! the server's hash pool (`gatehouse::hash_pool::HashPool`), not on an HTTP worker.
//!
//! Longer than 500 lines because of its tests (the code is about 460 lines: PBKDF2 and the
//! two ASP.NET Identity formats are read together when a stored hash is in question).

use std::fmt;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine as _;
use ring::pbkdf2;

use crate::rng::Rng;

/// The default PBKDF2-HMAC-SHA256 iteration count (OWASP 2023).
pub const DEFAULT_ITERATIONS: u32 = 600_000;

/// The largest iteration count accepted, in configuration or in a stored string; a stored
/// string above it is treated as hostile (it would let one row occupy a hashing thread for
/// seconds).
pub const MAX_ITERATIONS: u32 = 10_000_000;

/// Prefix of an imported ASP.NET Identity hash in the import document:
/// `aspnet-identity$<base64 blob>`.
pub const ASPNET_IDENTITY_PREFIX: &str = "aspnet-identity$";

const SCHEME: &str = "pbkdf2-sha256";
const SALT_BYTES: usize = 16;
const HASH_BYTES: usize = 32;
/// Longest stored string looked at; anything longer is rejected before decoding.
const MAX_STORED_LEN: usize = 1024;
const ASPNET_V2_ITERATIONS: u32 = 1_000;
const ASPNET_MIN_PART: usize = 16;
const ASPNET_MAX_PART: usize = 64;

/// Errors of credential handling: stored strings that cannot be read, bad configuration, a
/// full hash pool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// The stored password hash is in no format this server knows.
    #[error("unrecognised password hash format")]
    UnknownFormat,
    /// The stored password hash has a known format but is damaged.
    #[error("malformed password hash: {0}")]
    Malformed(&'static str),
    /// An iteration count of zero or above [`MAX_ITERATIONS`].
    #[error("iteration count {0} is outside 1..={MAX_ITERATIONS}")]
    IterationsOutOfRange(u64),
    /// An ASP.NET Identity v3 hash names a PRF other than SHA1, SHA256 or SHA512.
    #[error("unsupported ASP.NET Identity PRF {0}")]
    UnsupportedPrf(u32),
    /// A token digest that is not 32 bytes long.
    #[error("a token digest is 32 bytes, got {0}")]
    DigestLength(usize),
    /// A stored client-secret hash that is not `hmac-sha256$<salt>$<mac>`.
    #[error("malformed client secret hash")]
    MalformedClientSecretHash,
    /// The password hashing pool's queue is full; the caller should answer 503.
    #[error("password hashing is saturated, try again later")]
    Busy,
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Wrong password.
    Invalid,
    /// Right password; the stored hash is current.
    Valid,
    /// Right password; the stored hash uses another cost or a legacy format and should be
    /// replaced by [`PasswordHasher::hash`] of the same password.
    ValidNeedsRehash,
}

impl Verification {
    /// Whether the password was right.
    pub fn is_valid(self) -> bool {
        !matches!(self, Self::Invalid)
    }

    /// Whether the caller should store a fresh hash.
    pub fn needs_rehash(self) -> bool {
        matches!(self, Self::ValidNeedsRehash)
    }
}

/// Hashes and verifies passwords at a configured PBKDF2-HMAC-SHA256 cost.
///
/// Cheap to clone; clones share the [`hash_invocations`](Self::hash_invocations) counter.
#[derive(Clone)]
pub struct PasswordHasher {
    iterations: NonZeroU32,
    invocations: Arc<AtomicU64>,
    /// PBKDF2 iterations run, padding included (the work measure of tests and metrics).
    iterations_run: Arc<AtomicU64>,
    /// A current-format hash of a fixed password, checked by [`Self::dummy_verify`].
    dummy: Arc<([u8; SALT_BYTES], [u8; HASH_BYTES])>,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("iterations", &self.iterations)
            .field("hash_invocations", &self.hash_invocations())
            .finish_non_exhaustive()
    }
}

impl Default for PasswordHasher {
    /// [`DEFAULT_ITERATIONS`].
    fn default() -> Self {
        Self::with_iterations(NonZeroU32::MIN.saturating_add(DEFAULT_ITERATIONS - 1))
    }
}

impl PasswordHasher {
    /// A hasher that writes hashes with `iterations` PBKDF2 rounds.
    ///
    /// # Errors
    /// [`CredentialError::IterationsOutOfRange`] for 0 or more than [`MAX_ITERATIONS`].
    pub fn new(iterations: u32) -> Result<Self, CredentialError> {
        let iterations = checked_iterations(u64::from(iterations))?;
        Ok(Self::with_iterations(iterations))
    }

    fn with_iterations(iterations: NonZeroU32) -> Self {
        // The dummy hash's salt and key are fixed and public: its only job is to cost the same
        // as a real verification. Its key is not derived here (that would cost a full hash at
        // start-up); a wrong key costs exactly as much to check as a right one.
        let mut salt = [0u8; SALT_BYTES];
        salt.copy_from_slice(b"gatehouse-dummy!");
        Self {
            iterations,
            invocations: Arc::new(AtomicU64::new(0)),
            iterations_run: Arc::new(AtomicU64::new(0)),
            dummy: Arc::new((salt, [0u8; HASH_BYTES])),
        }
    }

    /// The configured iteration count.
    pub fn iterations(&self) -> u32 {
        self.iterations.get()
    }

    /// How many PBKDF2 computations this hasher (and its clones) has run: one per `hash`,
    /// `verify` that reached the key derivation, and `dummy_verify`. Tests count hashes with it
    /// instead of timing them.
    pub fn hash_invocations(&self) -> u64 {
        self.invocations.load(Ordering::Relaxed)
    }

    /// PBKDF2 iterations run by this hasher and its clones, padding included: every failed
    /// verification adds at least [`Self::iterations`] (tests measure work with it, not
    /// time).
    pub fn iterations_run(&self) -> u64 {
        self.iterations_run.load(Ordering::Relaxed)
    }

    fn count(&self) {
        self.invocations.fetch_add(1, Ordering::Relaxed);
    }

    fn count_iterations(&self, n: NonZeroU32) {
        self.iterations_run
            .fetch_add(u64::from(n.get()), Ordering::Relaxed);
    }

    /// Runs `n` PBKDF2-HMAC-SHA256 iterations on the dummy salt and discards them: the
    /// padding that brings a failed check of a cheaper stored hash up to the configured cost.
    fn pad(&self, n: NonZeroU32, password: &str) {
        self.count_iterations(n);
        let (salt, hash) = &*self.dummy;
        let outcome = pbkdf2::verify(
            pbkdf2::PBKDF2_HMAC_SHA256,
            n,
            salt,
            password.as_bytes(),
            hash,
        );
        std::hint::black_box(outcome.is_ok());
    }

    /// Hashes `password` with a fresh 16-byte salt into
    /// `pbkdf2-sha256$<iterations>$<salt>$<hash>`.
    pub fn hash(&self, password: &str, rng: &dyn Rng) -> String {
        let mut salt = [0u8; SALT_BYTES];
        rng.fill(&mut salt);
        let mut hash = [0u8; HASH_BYTES];
        self.count();
        self.count_iterations(self.iterations);
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            self.iterations,
            &salt,
            password.as_bytes(),
            &mut hash,
        );
        format!(
            "{SCHEME}${}${}${}",
            self.iterations,
            STANDARD_NO_PAD.encode(salt),
            STANDARD_NO_PAD.encode(hash)
        )
    }

    /// Checks `password` against a stored hash in any supported format.
    ///
    /// # Errors
    /// A [`CredentialError`] when `stored` cannot be read; nothing is derived in that case.
    pub fn verify(&self, stored: &str, password: &str) -> Result<Verification, CredentialError> {
        let parsed = StoredHash::parse(stored)?;
        let current = parsed.is_current(self.iterations);
        self.count();
        self.count_iterations(parsed.iterations);
        let ok = pbkdf2::verify(
            parsed.algorithm,
            parsed.iterations,
            &parsed.salt,
            password.as_bytes(),
            &parsed.hash,
        )
        .is_ok();
        if !ok {
            // A wrong password must cost what an unknown user costs (a configured-cost
            // verification), whatever the stored hash: pad a cheaper legacy check, so its
            // answer time does not tell that the account exists with an old hash.
            if let Some(rest) = self
                .iterations
                .get()
                .checked_sub(parsed.iterations.get())
                .and_then(NonZeroU32::new)
            {
                self.pad(rest, password);
            }
        }
        Ok(match (ok, current) {
            (false, _) => Verification::Invalid,
            (true, true) => Verification::Valid,
            (true, false) => Verification::ValidNeedsRehash,
        })
    }

    /// Runs a verification at the configured cost and discards the result, so that a login
    /// for an unknown user takes as long as one for a known user.
    pub fn dummy_verify(&self, password: &str) {
        self.count();
        self.count_iterations(self.iterations);
        let (salt, hash) = &*self.dummy;
        let outcome = pbkdf2::verify(
            pbkdf2::PBKDF2_HMAC_SHA256,
            self.iterations,
            salt,
            password.as_bytes(),
            hash,
        );
        std::hint::black_box(outcome.is_ok());
    }
}

/// The stored "hash" of a user whose password is still only known to the legacy service
/// (`password_hash: "capture"` in an import document): no password verifies against it;
/// with `--credential-capture` the first right password, checked by the legacy upstream,
/// replaces it ([`crate::service::capture`]).
pub const CAPTURE_MARK: &str = "capture";

/// Checks that `stored` is a password hash this server can verify (the current format or
/// ASP.NET Identity v2/v3), without deriving anything: what `gatehouse import` checks before
/// it stores a `password_hash` (issue 19 item 16).
///
/// # Errors
/// The [`CredentialError`] that verification would meet.
pub fn check_stored_hash(stored: &str) -> Result<(), CredentialError> {
    StoredHash::parse(stored).map(|_| ())
}

fn checked_iterations(value: u64) -> Result<NonZeroU32, CredentialError> {
    u32::try_from(value)
        .ok()
        .filter(|n| *n <= MAX_ITERATIONS)
        .and_then(NonZeroU32::new)
        .ok_or(CredentialError::IterationsOutOfRange(value))
}

/// Which format a stored hash came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Current,
    AspNetV2,
    AspNetV3,
}

/// A stored hash, decoded.
struct StoredHash {
    format: Format,
    algorithm: pbkdf2::Algorithm,
    iterations: NonZeroU32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl StoredHash {
    fn is_current(&self, configured: NonZeroU32) -> bool {
        self.format == Format::Current && self.iterations == configured
    }

    fn parse(stored: &str) -> Result<Self, CredentialError> {
        if stored.len() > MAX_STORED_LEN {
            return Err(CredentialError::Malformed("stored hash too long"));
        }
        if let Some(rest) = stored
            .strip_prefix(SCHEME)
            .and_then(|r| r.strip_prefix('$'))
        {
            return Self::parse_current(rest);
        }
        if let Some(blob) = stored.strip_prefix(ASPNET_IDENTITY_PREFIX) {
            return Self::parse_aspnet(blob);
        }
        // A bare ASP.NET Identity column value: base64 alphabet only, no scheme separator.
        if !stored.is_empty() && !stored.contains('$') {
            return match Self::parse_aspnet(stored) {
                Err(CredentialError::Malformed("not base64")) => {
                    Err(CredentialError::UnknownFormat)
                }
                other => other,
            };
        }
        Err(CredentialError::UnknownFormat)
    }

    fn parse_current(rest: &str) -> Result<Self, CredentialError> {
        let mut parts = rest.split('$');
        let (Some(iterations), Some(salt), Some(hash), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(CredentialError::Malformed("expected iterations$salt$hash"));
        };
        if iterations.is_empty()
            || iterations.len() > 20
            || !iterations.bytes().all(|c| c.is_ascii_digit())
            || (iterations.len() > 1 && iterations.starts_with('0'))
        {
            return Err(CredentialError::Malformed("iterations is not a number"));
        }
        let iterations = iterations
            .parse::<u64>()
            .map_err(|_| CredentialError::Malformed("iterations is not a number"))?;
        let iterations = checked_iterations(iterations)?;
        let salt = STANDARD_NO_PAD
            .decode(salt)
            .map_err(|_| CredentialError::Malformed("salt is not base64"))?;
        if !(SALT_BYTES..=ASPNET_MAX_PART).contains(&salt.len()) {
            return Err(CredentialError::Malformed("salt length"));
        }
        let hash = STANDARD_NO_PAD
            .decode(hash)
            .map_err(|_| CredentialError::Malformed("hash is not base64"))?;
        if hash.len() != HASH_BYTES {
            return Err(CredentialError::Malformed("hash length"));
        }
        Ok(Self {
            format: Format::Current,
            algorithm: pbkdf2::PBKDF2_HMAC_SHA256,
            iterations,
            salt,
            hash,
        })
    }

    fn parse_aspnet(text: &str) -> Result<Self, CredentialError> {
        let blob = STANDARD
            .decode(text)
            .map_err(|_| CredentialError::Malformed("not base64"))?;
        match blob.split_first() {
            Some((0x00, rest)) => Self::parse_aspnet_v2(rest),
            Some((0x01, rest)) => Self::parse_aspnet_v3(rest),
            Some(_) => Err(CredentialError::UnknownFormat),
            None => Err(CredentialError::Malformed("empty")),
        }
    }

    fn parse_aspnet_v2(rest: &[u8]) -> Result<Self, CredentialError> {
        if rest.len() != 16 + 32 {
            return Err(CredentialError::Malformed(
                "ASP.NET Identity v2 blob length",
            ));
        }
        let (salt, hash) = rest.split_at(16);
        Ok(Self {
            format: Format::AspNetV2,
            algorithm: pbkdf2::PBKDF2_HMAC_SHA1,
            iterations: NonZeroU32::MIN.saturating_add(ASPNET_V2_ITERATIONS - 1),
            salt: salt.to_vec(),
            hash: hash.to_vec(),
        })
    }

    fn parse_aspnet_v3(rest: &[u8]) -> Result<Self, CredentialError> {
        let header_error = CredentialError::Malformed("ASP.NET Identity v3 header");
        let (prf, rest) = read_u32_be(rest).ok_or(header_error.clone())?;
        let (iterations, rest) = read_u32_be(rest).ok_or(header_error.clone())?;
        let (salt_len, rest) = read_u32_be(rest).ok_or(header_error)?;
        let algorithm = match prf {
            0 => pbkdf2::PBKDF2_HMAC_SHA1,
            1 => pbkdf2::PBKDF2_HMAC_SHA256,
            2 => pbkdf2::PBKDF2_HMAC_SHA512,
            other => return Err(CredentialError::UnsupportedPrf(other)),
        };
        let iterations = checked_iterations(u64::from(iterations))?;
        let salt_len = usize::try_from(salt_len)
            .ok()
            .filter(|n| (ASPNET_MIN_PART..=ASPNET_MAX_PART).contains(n))
            .ok_or(CredentialError::Malformed(
                "ASP.NET Identity v3 salt length",
            ))?;
        if rest.len() < salt_len {
            return Err(CredentialError::Malformed(
                "ASP.NET Identity v3 salt length",
            ));
        }
        let (salt, hash) = rest.split_at(salt_len);
        if !(ASPNET_MIN_PART..=ASPNET_MAX_PART).contains(&hash.len()) {
            return Err(CredentialError::Malformed(
                "ASP.NET Identity v3 subkey length",
            ));
        }
        Ok(Self {
            format: Format::AspNetV3,
            algorithm,
            iterations,
            salt: salt.to_vec(),
            hash: hash.to_vec(),
        })
    }
}

fn read_u32_be(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let (head, rest) = bytes.split_first_chunk::<4>()?;
    Some((u32::from_be_bytes(*head), rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeededRng;

    fn hasher(iterations: u32) -> PasswordHasher {
        match PasswordHasher::new(iterations) {
            Ok(h) => h,
            Err(e) => panic!("{e}"),
        }
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn pbkdf2_sha256_rfc7914_vectors() {
        // RFC 7914 section 11, PBKDF2-HMAC-SHA256, dkLen 64. Cross-checked with
        // python3 -c "import hashlib; print(hashlib.pbkdf2_hmac('sha256',b'passwd',b'salt',1,64).hex());
        //   print(hashlib.pbkdf2_hmac('sha256',b'Password',b'NaCl',80000,64).hex())"
        let cases: [(&str, &[u8], u32, &str); 2] = [
            (
                "passwd",
                b"salt",
                1,
                "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
                 49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783",
            ),
            (
                "Password",
                b"NaCl",
                80_000,
                "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56\
                 a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d",
            ),
        ];
        for (password, salt, iterations, expected) in cases {
            let Some(n) = NonZeroU32::new(iterations) else {
                panic!("zero iterations in a vector");
            };
            let mut out = [0u8; 64];
            pbkdf2::derive(
                pbkdf2::PBKDF2_HMAC_SHA256,
                n,
                salt,
                password.as_bytes(),
                &mut out,
            );
            assert_eq!(hex(&out), expected);
            // The stored form keeps the first 32 bytes; a 4-byte salt is below the 16 this
            // server requires, so check the derivation through `StoredHash` directly.
            let stored = StoredHash {
                format: Format::Current,
                algorithm: pbkdf2::PBKDF2_HMAC_SHA256,
                iterations: n,
                salt: salt.to_vec(),
                hash: out[..32].to_vec(),
            };
            assert!(pbkdf2::verify(
                stored.algorithm,
                stored.iterations,
                &stored.salt,
                password.as_bytes(),
                &stored.hash
            )
            .is_ok());
        }
    }

    #[test]
    fn current_format_known_answer() {
        // python3 -c "import hashlib,base64; s=bytes(range(48,64));
        //   k=hashlib.pbkdf2_hmac('sha256',b'alice-password-1',s,1000,32);
        //   print('pbkdf2-sha256\$1000\$'+base64.b64encode(s).decode().rstrip('=')+'\$'
        //         +base64.b64encode(k).decode().rstrip('='))"
        // pbkdf2-sha256$1000$MDEyMzQ1Njc4OTo7PD0+Pw$UpqLx+D0b3WxDcj7bB13/IBOE0+DimsckAr6F4pbLww
        let stored =
            "pbkdf2-sha256$1000$MDEyMzQ1Njc4OTo7PD0+Pw$UpqLx+D0b3WxDcj7bB13/IBOE0+DimsckAr6F4pbLww";
        assert_eq!(
            hasher(1000).verify(stored, "alice-password-1"),
            Ok(Verification::Valid)
        );
        assert_eq!(
            hasher(1000).verify(stored, "alice-password-2"),
            Ok(Verification::Invalid)
        );
        assert_eq!(
            hasher(2000).verify(stored, "alice-password-1"),
            Ok(Verification::ValidNeedsRehash)
        );
        // And `hash` writes exactly this string for this salt.
        struct FixedSalt;
        impl Rng for FixedSalt {
            fn fill(&self, dest: &mut [u8]) {
                for (i, b) in dest.iter_mut().enumerate() {
                    *b = 48 + i as u8;
                }
            }
        }
        assert_eq!(hasher(1000).hash("alice-password-1", &FixedSalt), stored);
    }

    #[test]
    fn aspnet_identity_v2_known_answer() {
        // python3 -c "import hashlib,base64,struct; s=bytes(range(16));
        //   k=hashlib.pbkdf2_hmac('sha1',b'Passw0rd!',s,1000,32);
        //   print(base64.b64encode(b'\x00'+s+k).decode())"
        // AAABAgMEBQYHCAkKCwwNDg8mGGxJ6RXbpV3Eeve8lImVPiBvo46mNFMTIr+N+UuQ6w==
        let blob = "AAABAgMEBQYHCAkKCwwNDg8mGGxJ6RXbpV3Eeve8lImVPiBvo46mNFMTIr+N+UuQ6w==";
        let h = hasher(1000);
        assert_eq!(
            h.verify(blob, "Passw0rd!"),
            Ok(Verification::ValidNeedsRehash)
        );
        assert_eq!(
            h.verify(&format!("{ASPNET_IDENTITY_PREFIX}{blob}"), "Passw0rd!"),
            Ok(Verification::ValidNeedsRehash)
        );
        assert_eq!(h.verify(blob, "passw0rd!"), Ok(Verification::Invalid));
        assert_eq!(h.verify(blob, ""), Ok(Verification::Invalid));
    }

    #[test]
    fn aspnet_identity_v3_sha256_known_answer() {
        // python3 -c "import hashlib,base64,struct; s=bytes(range(16,32));
        //   k=hashlib.pbkdf2_hmac('sha256',b'Correct Horse 1',s,10000,32);
        //   print(base64.b64encode(b'\x01'+struct.pack('>III',1,10000,16)+s+k).decode())"
        // AQAAAAEAACcQAAAAEBAREhMUFRYXGBkaGxwdHh+heesHbXDVLsI+aXZOfQOZb87nMFxbx/YwS0OOj5K/nw==
        let blob =
            "AQAAAAEAACcQAAAAEBAREhMUFRYXGBkaGxwdHh+heesHbXDVLsI+aXZOfQOZb87nMFxbx/YwS0OOj5K/nw==";
        // Even with the configured count equal to the blob's, a legacy format needs rehash.
        let h = hasher(10_000);
        assert_eq!(
            h.verify(blob, "Correct Horse 1"),
            Ok(Verification::ValidNeedsRehash)
        );
        assert_eq!(
            h.verify(
                &format!("{ASPNET_IDENTITY_PREFIX}{blob}"),
                "Correct Horse 1"
            ),
            Ok(Verification::ValidNeedsRehash)
        );
        assert_eq!(h.verify(blob, "Correct Horse 2"), Ok(Verification::Invalid));
    }

    #[test]
    fn aspnet_identity_v3_sha512_known_answer() {
        // python3 -c "import hashlib,base64,struct; s=bytes(range(32,48));
        //   k=hashlib.pbkdf2_hmac('sha512',b'hunter2-\xc3\xa9t\xc3\xa9',s,100000,32);
        //   print(base64.b64encode(b'\x01'+struct.pack('>III',2,100000,16)+s+k).decode())"
        // AQAAAAIAAYagAAAAECAhIiMkJSYnKCkqKywtLi/8HWhUUnOM6fdxOX2ep/vEGPSVVooAyeO6gA8xtBuLsA==
        // (the .NET 7+ default: HMAC-SHA512, 100,000 iterations; password is UTF-8 "hunter2-été")
        let blob =
            "AQAAAAIAAYagAAAAECAhIiMkJSYnKCkqKywtLi/8HWhUUnOM6fdxOX2ep/vEGPSVVooAyeO6gA8xtBuLsA==";
        let h = hasher(1000);
        assert_eq!(
            h.verify(blob, "hunter2-été"),
            Ok(Verification::ValidNeedsRehash)
        );
        assert_eq!(h.verify(blob, "hunter2-ete"), Ok(Verification::Invalid));
    }

    #[test]
    fn aspnet_identity_v3_sha1_known_answer() {
        // python3 -c "import hashlib,base64,struct; s=bytes(range(80,96));
        //   k=hashlib.pbkdf2_hmac('sha1',b'legacy-sha1',s,5000,20);
        //   print(base64.b64encode(b'\x01'+struct.pack('>III',0,5000,16)+s+k).decode())"
        // AQAAAAAAABOIAAAAEFBRUlNUVVZXWFlaW1xdXl/1YTtzSuDEY4QP8cWMEgYSsDaiPg==
        let blob = "AQAAAAAAABOIAAAAEFBRUlNUVVZXWFlaW1xdXl/1YTtzSuDEY4QP8cWMEgYSsDaiPg==";
        let h = hasher(1000);
        assert_eq!(
            h.verify(blob, "legacy-sha1"),
            Ok(Verification::ValidNeedsRehash)
        );
        assert_eq!(h.verify(blob, "legacy-sha2"), Ok(Verification::Invalid));
    }

    #[test]
    fn hash_round_trip_and_rehash_flag() {
        let rng = SeededRng::new(3);
        let h = hasher(1000);
        let stored = h.hash("correct horse", &rng);
        assert!(stored.starts_with("pbkdf2-sha256$1000$"), "{stored}");
        let parts: Vec<&str> = stored.split('$').collect();
        assert_eq!(parts.len(), 4);
        assert_eq!(STANDARD_NO_PAD.decode(parts[2]).map(|s| s.len()), Ok(16));
        assert_eq!(STANDARD_NO_PAD.decode(parts[3]).map(|s| s.len()), Ok(32));
        assert_eq!(h.verify(&stored, "correct horse"), Ok(Verification::Valid));
        assert_eq!(
            h.verify(&stored, "correct horsE"),
            Ok(Verification::Invalid)
        );
        assert_eq!(h.verify(&stored, ""), Ok(Verification::Invalid));

        // The configured cost went up: still valid, but upgrade it.
        let stronger = hasher(1500);
        let outcome = stronger.verify(&stored, "correct horse");
        assert_eq!(outcome, Ok(Verification::ValidNeedsRehash));
        assert!(outcome.is_ok_and(|v| v.is_valid() && v.needs_rehash()));
        // Went down: also rehash (the stored cost follows the configuration).
        assert_eq!(
            hasher(500).verify(&stored, "correct horse"),
            Ok(Verification::ValidNeedsRehash)
        );
        // After rehashing with the new hasher, it is current.
        let upgraded = stronger.hash("correct horse", &rng);
        assert_eq!(
            stronger.verify(&upgraded, "correct horse"),
            Ok(Verification::Valid)
        );
        // Wrong password on a stale hash is still just invalid.
        assert_eq!(stronger.verify(&stored, "nope"), Ok(Verification::Invalid));

        // Same password, fresh salt, different string.
        assert_ne!(h.hash("correct horse", &rng), stored);
    }

    #[test]
    fn configuration_is_checked() {
        assert_eq!(
            PasswordHasher::new(0).map(|h| h.iterations()),
            Err(CredentialError::IterationsOutOfRange(0))
        );
        assert_eq!(
            PasswordHasher::new(MAX_ITERATIONS + 1).map(|h| h.iterations()),
            Err(CredentialError::IterationsOutOfRange(
                u64::from(MAX_ITERATIONS) + 1
            ))
        );
        assert_eq!(PasswordHasher::default().iterations(), DEFAULT_ITERATIONS);
        assert_eq!(hasher(MAX_ITERATIONS).iterations(), MAX_ITERATIONS);
    }

    #[test]
    fn counter_counts_every_derivation_and_dummy_costs_the_same() {
        let rng = SeededRng::new(9);
        let h = hasher(1000);
        assert_eq!(h.hash_invocations(), 0);
        let stored = h.hash("pw", &rng);
        assert_eq!(h.hash_invocations(), 1);
        let _ = h.verify(&stored, "pw");
        assert_eq!(h.hash_invocations(), 2);
        let _ = h.verify(&stored, "wrong");
        assert_eq!(h.hash_invocations(), 3);
        h.dummy_verify("pw");
        assert_eq!(h.hash_invocations(), 4);
        // Clones share the counter (the pool runs a clone).
        let clone = h.clone();
        clone.dummy_verify("whatever");
        assert_eq!(h.hash_invocations(), 5);
        // A stored string that cannot be read derives nothing.
        assert!(h.verify("garbage$", "pw").is_err());
        assert_eq!(h.hash_invocations(), 5);
        // Debug shows no secret material, only the configuration.
        let shown = format!("{h:?}");
        assert!(shown.starts_with("PasswordHasher {"), "{shown}");
        assert!(shown.ends_with(".. }"), "{shown}");
    }

    #[test]
    fn hostile_stored_strings_are_errors() {
        let h = hasher(1000);
        let salt = STANDARD_NO_PAD.encode([7u8; 16]);
        let hash = STANDARD_NO_PAD.encode([9u8; 32]);
        let v3 = |prf: u32, iterations: u32, salt_len: u32, tail: usize| {
            let mut blob = vec![1u8];
            blob.extend_from_slice(&prf.to_be_bytes());
            blob.extend_from_slice(&iterations.to_be_bytes());
            blob.extend_from_slice(&salt_len.to_be_bytes());
            blob.extend(std::iter::repeat_n(5u8, tail));
            STANDARD.encode(blob)
        };
        let cases: Vec<(String, CredentialError)> = vec![
            (String::new(), CredentialError::UnknownFormat),
            ("plaintext password".into(), CredentialError::UnknownFormat),
            ("bcrypt$2b$10$abc".into(), CredentialError::UnknownFormat),
            (
                "$2b$10$abcdefghijklmnopqrstuv".into(),
                CredentialError::UnknownFormat,
            ),
            ("pbkdf2-sha256".into(), CredentialError::UnknownFormat),
            (
                format!("pbkdf2-sha256$0${salt}${hash}"),
                CredentialError::IterationsOutOfRange(0),
            ),
            (
                format!("pbkdf2-sha256$10000001${salt}${hash}"),
                CredentialError::IterationsOutOfRange(10_000_001),
            ),
            (
                format!("pbkdf2-sha256$99999999999999999999${salt}${hash}"),
                CredentialError::Malformed("iterations is not a number"),
            ),
            (
                format!("pbkdf2-sha256$-1${salt}${hash}"),
                CredentialError::Malformed("iterations is not a number"),
            ),
            (
                format!("pbkdf2-sha256$+5${salt}${hash}"),
                CredentialError::Malformed("iterations is not a number"),
            ),
            (
                format!("pbkdf2-sha256$0100${salt}${hash}"),
                CredentialError::Malformed("iterations is not a number"),
            ),
            (
                format!("pbkdf2-sha256$${salt}${hash}"),
                CredentialError::Malformed("iterations is not a number"),
            ),
            (
                format!("pbkdf2-sha256$1000$!!!${hash}"),
                CredentialError::Malformed("salt is not base64"),
            ),
            (
                format!("pbkdf2-sha256$1000${salt}==${hash}"),
                CredentialError::Malformed("salt is not base64"),
            ),
            (
                format!("pbkdf2-sha256$1000$c2FsdA${hash}"),
                CredentialError::Malformed("salt length"),
            ),
            (
                format!("pbkdf2-sha256$1000${salt}$c2FsdA"),
                CredentialError::Malformed("hash length"),
            ),
            (
                format!("pbkdf2-sha256$1000${salt}${hash}AAAA"),
                CredentialError::Malformed("hash length"),
            ),
            (
                format!("pbkdf2-sha256$1000${salt}"),
                CredentialError::Malformed("expected iterations$salt$hash"),
            ),
            (
                format!("pbkdf2-sha256$1000${salt}${hash}$x"),
                CredentialError::Malformed("expected iterations$salt$hash"),
            ),
            (
                "A".repeat(5000),
                CredentialError::Malformed("stored hash too long"),
            ),
            // ASP.NET Identity, prefixed and bare.
            (
                format!("{ASPNET_IDENTITY_PREFIX}not base64!"),
                CredentialError::Malformed("not base64"),
            ),
            (
                ASPNET_IDENTITY_PREFIX.into(),
                CredentialError::Malformed("empty"),
            ),
            (
                format!("{ASPNET_IDENTITY_PREFIX}{}", STANDARD.encode([2u8; 49])),
                CredentialError::UnknownFormat,
            ),
            (
                STANDARD.encode([0u8; 48]),
                CredentialError::Malformed("ASP.NET Identity v2 blob length"),
            ),
            (
                STANDARD.encode([0u8; 50]),
                CredentialError::Malformed("ASP.NET Identity v2 blob length"),
            ),
            (
                STANDARD.encode([1u8, 0, 0]),
                CredentialError::Malformed("ASP.NET Identity v3 header"),
            ),
            (v3(3, 1000, 16, 48), CredentialError::UnsupportedPrf(3)),
            (v3(1, 0, 16, 48), CredentialError::IterationsOutOfRange(0)),
            (
                v3(2, u32::MAX, 16, 48),
                CredentialError::IterationsOutOfRange(u64::from(u32::MAX)),
            ),
            (
                v3(1, 1000, 8, 48),
                CredentialError::Malformed("ASP.NET Identity v3 salt length"),
            ),
            (
                v3(1, 1000, u32::MAX, 48),
                CredentialError::Malformed("ASP.NET Identity v3 salt length"),
            ),
            (
                v3(1, 1000, 40, 20),
                CredentialError::Malformed("ASP.NET Identity v3 salt length"),
            ),
            (
                v3(1, 1000, 16, 16 + 8),
                CredentialError::Malformed("ASP.NET Identity v3 subkey length"),
            ),
            (
                v3(1, 1000, 16, 16 + 200),
                CredentialError::Malformed("ASP.NET Identity v3 subkey length"),
            ),
        ];
        for (stored, expected) in cases {
            let shown = stored.chars().take(60).collect::<String>();
            assert_eq!(h.verify(&stored, "pw"), Err(expected), "{shown}");
        }
        assert_eq!(
            h.hash_invocations(),
            0,
            "no derivation for unreadable hashes"
        );
    }

    proptest::proptest! {
        /// Parsing never panics, whatever the stored text (verification would then only
        /// derive at a bounded cost, so parsing is what hostile input reaches).
        #[test]
        fn parsing_arbitrary_text_never_panics(text in "\\PC{0,200}") {
            let _ = StoredHash::parse(&text);
            let _ = StoredHash::parse(&format!("pbkdf2-sha256${text}"));
        }

        /// Nor does any binary blob behind the ASP.NET Identity prefix or bare.
        #[test]
        fn parsing_arbitrary_blobs_never_panics(
            blob in proptest::collection::vec(proptest::num::u8::ANY, 0..120),
        ) {
            let text = STANDARD.encode(&blob);
            if let Ok(parsed) = StoredHash::parse(&text) {
                proptest::prop_assert!(parsed.iterations.get() <= MAX_ITERATIONS);
                proptest::prop_assert!(!parsed.salt.is_empty() && !parsed.hash.is_empty());
            }
            let _ = StoredHash::parse(&format!("{ASPNET_IDENTITY_PREFIX}{text}"));
        }
    }
}
