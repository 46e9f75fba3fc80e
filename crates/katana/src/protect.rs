//! `MachineKey.Protect` / `Unprotect` of ASP.NET 4.5, and the SP800-108 key derivation
//! under it.
//!
//! As `System.Web/Security/Cryptography` does it (`Purpose.cs`, `SP800_108.cs`,
//! `NetFXCryptoService.cs`): the purpose is `User.MachineKey.Protect` plus the caller's
//! specific purposes; each master key is derived with SP800-108 in counter mode over
//! HMAC-SHA512, label = the primary purpose in UTF-8, context = the specific purposes as a
//! .NET `BinaryWriter` writes strings (7-bit length prefix, UTF-8), output as long as the
//! master key. Protect = a random 16-byte IV, AES-CBC with PKCS#7 padding, then the
//! validation HMAC over IV || ciphertext appended. Unprotect checks the length and the MAC
//! (constant time) before decrypting.

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use zeroize::Zeroizing;

use crate::machine_key::{KeyBytes, MachineKey, Validation};
use crate::ticket::write_string;

/// The primary purpose `MachineKey.Protect` uses.
pub const PRIMARY_PURPOSE: &str = "User.MachineKey.Protect";

/// AES's block, the IV's length.
pub const IV_LEN: usize = 16;

/// SP800-108 in counter mode with HMAC-SHA512 as PRF, as `SP800_108.DeriveKey`: returns
/// `key.len()` bytes, `K(i) = HMAC(key, [i]_32be || label || 0x00 || context || [L]_32be)`
/// with `L` the output length in bits.
pub fn sp800_108(key: &[u8], label: &[u8], context: &[u8]) -> Zeroizing<Vec<u8>> {
    let hmac = ring::hmac::Key::new(ring::hmac::HMAC_SHA512, key);
    let bits = u32::try_from(key.len() * 8).unwrap_or(u32::MAX);
    let mut out = Zeroizing::new(Vec::with_capacity(key.len()));
    let mut i: u32 = 1;
    while out.len() < key.len() {
        let mut ctx = ring::hmac::Context::with_key(&hmac);
        ctx.update(&i.to_be_bytes());
        ctx.update(label);
        ctx.update(&[0]);
        ctx.update(context);
        ctx.update(&bits.to_be_bytes());
        let block = ctx.sign();
        let take = (key.len() - out.len()).min(block.as_ref().len());
        out.extend_from_slice(&block.as_ref()[..take]);
        i += 1;
    }
    out
}

/// The KDF context of a list of specific purposes: each as `BinaryWriter.Write(string)`.
pub fn purpose_context(specific: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for purpose in specific {
        write_string(&mut out, purpose);
    }
    out
}

/// `MachineKey.Protect`/`Unprotect` for one list of specific purposes: the derived keys.
/// `Debug` shows no key.
#[derive(Clone)]
pub struct Protector {
    validation: Validation,
    encryption_key: KeyBytes,
    mac_key: ring::hmac::Key,
}

impl std::fmt::Debug for Protector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Protector")
            .field("validation", &self.validation)
            .field("aes_bits", &(self.encryption_key.0.len() * 8))
            .finish_non_exhaustive()
    }
}

/// Why protected data was refused. Deliberately coarse, like ASP.NET's homogenized
/// `CryptographicException`: no padding oracle (the MAC is checked first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnprotectError {
    /// Shorter than IV + one block + MAC.
    #[error("protected data too short")]
    Truncated,
    /// The MAC does not match (tampered, another key or another purpose).
    #[error("MAC mismatch")]
    Mac,
    /// The MAC matched but the padding did not (only with the right keys: a bug or a forgery
    /// by the key holder).
    #[error("bad padding")]
    Padding,
}

impl Protector {
    /// The protector `MachineKey.Protect(data, specific…)` uses under `key`.
    pub fn new(key: &MachineKey, specific: &[&str]) -> Self {
        Self::with_primary(key, PRIMARY_PURPOSE, specific)
    }

    /// The protector of any ASP.NET 4.5 `Purpose` (`NetFXCryptoService` under the derived
    /// keys): `MachineKey.Protect` is `User.MachineKey.Protect`; WebResource URLs, view
    /// state and forms tickets use others.
    pub fn with_primary(key: &MachineKey, primary: &str, specific: &[&str]) -> Self {
        let context = purpose_context(specific);
        let label = primary.as_bytes();
        let enc = sp800_108(&key.decryption_key.0, label, &context);
        let val = sp800_108(&key.validation_key.0, label, &context);
        Protector {
            validation: key.validation,
            encryption_key: KeyBytes(enc),
            mac_key: ring::hmac::Key::new(key.validation.ring(), &val),
        }
    }

    /// `Protect` with the given IV (draw it from a CSPRNG; tests inject one).
    pub fn protect(&self, clear: &[u8], iv: &[u8; IV_LEN]) -> Vec<u8> {
        let mut out = Vec::with_capacity(IV_LEN + clear.len() + 16 + self.validation.mac_len());
        out.extend_from_slice(iv);
        out.extend_from_slice(&self.encrypt(clear, iv));
        let mac = ring::hmac::sign(&self.mac_key, &out);
        out.extend_from_slice(mac.as_ref());
        out
    }

    /// `Unprotect`: the MAC first, then AES-CBC.
    ///
    /// # Errors
    /// [`UnprotectError`].
    pub fn unprotect(&self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>, UnprotectError> {
        let mac_len = self.validation.mac_len();
        if data.len() < IV_LEN + 16 + mac_len {
            return Err(UnprotectError::Truncated);
        }
        let (signed, mac) = data.split_at(data.len() - mac_len);
        ring::hmac::verify(&self.mac_key, signed, mac).map_err(|_| UnprotectError::Mac)?;
        let (iv, cipher) = signed.split_at(IV_LEN);
        if cipher.len() % 16 != 0 {
            return Err(UnprotectError::Padding);
        }
        self.decrypt(cipher, iv).ok_or(UnprotectError::Padding)
    }

    fn encrypt(&self, clear: &[u8], iv: &[u8; IV_LEN]) -> Vec<u8> {
        let key = &self.encryption_key.0;
        match key.len() {
            16 => cbc::Encryptor::<aes::Aes128>::new_from_slices(key, iv)
                .map(|c| c.encrypt_padded_vec_mut::<Pkcs7>(clear)),
            24 => cbc::Encryptor::<aes::Aes192>::new_from_slices(key, iv)
                .map(|c| c.encrypt_padded_vec_mut::<Pkcs7>(clear)),
            _ => cbc::Encryptor::<aes::Aes256>::new_from_slices(key, iv)
                .map(|c| c.encrypt_padded_vec_mut::<Pkcs7>(clear)),
        }
        // The key length was checked when the machineKey was parsed (16, 24 or 32 bytes).
        .unwrap_or_default()
    }

    fn decrypt(&self, cipher: &[u8], iv: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let key = &self.encryption_key.0;
        let clear = match key.len() {
            16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
                .ok()?
                .decrypt_padded_vec_mut::<Pkcs7>(cipher),
            24 => cbc::Decryptor::<aes::Aes192>::new_from_slices(key, iv)
                .ok()?
                .decrypt_padded_vec_mut::<Pkcs7>(cipher),
            _ => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
                .ok()?
                .decrypt_padded_vec_mut::<Pkcs7>(cipher),
        };
        clear.ok().map(Zeroizing::new)
    }
}
