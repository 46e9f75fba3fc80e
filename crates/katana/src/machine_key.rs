//! The IIS `<machineKey>` element: parsing, the refusals, and the master keys as secrets.
//!
//! What ASP.NET 4.5's `MachineKey.Protect` supports, and nothing else
//! (`System.Web/Security/Cryptography/MachineKeyCryptoAlgorithmFactory.cs`,
//! `MachineKeyMasterKeyProvider.cs`): validation `HMACSHA256` (the default), `HMACSHA384`,
//! `HMACSHA512` or `SHA1` (HMAC-SHA1); decryption `AES` or `Auto` (which is AES) with a 128,
//! 192 or 256-bit key; both keys explicit hex. Everything else is refused with a message
//! naming the attribute: `AutoGenerate` and `IsolateApps` keys (derived from a per-machine
//! secret Gatehouse cannot have), `DES`/`3DES`, `alg:` names, a `dataProtectorType` (the
//! tickets would then not be `MachineKey.Protect`'s), keys of the wrong length, unknown
//! attributes, no element or more than one.

use std::fmt;

use quick_xml::events::Event;
use zeroize::Zeroizing;

/// The validation (MAC) algorithm, `validation="…"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validation {
    /// `SHA1`: HMAC-SHA1 (20-byte MAC).
    HmacSha1,
    /// `HMACSHA256`, the default (32-byte MAC).
    HmacSha256,
    /// `HMACSHA384` (48-byte MAC).
    HmacSha384,
    /// `HMACSHA512` (64-byte MAC).
    HmacSha512,
}

impl Validation {
    /// The attribute value ASP.NET spells.
    pub fn name(self) -> &'static str {
        match self {
            Validation::HmacSha1 => "SHA1",
            Validation::HmacSha256 => "HMACSHA256",
            Validation::HmacSha384 => "HMACSHA384",
            Validation::HmacSha512 => "HMACSHA512",
        }
    }

    pub(crate) fn ring(self) -> ring::hmac::Algorithm {
        match self {
            Validation::HmacSha1 => ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Validation::HmacSha256 => ring::hmac::HMAC_SHA256,
            Validation::HmacSha384 => ring::hmac::HMAC_SHA384,
            Validation::HmacSha512 => ring::hmac::HMAC_SHA512,
        }
    }

    /// The MAC's length in bytes.
    pub fn mac_len(self) -> usize {
        self.ring().digest_algorithm().output_len()
    }

    fn parse(value: &str) -> Result<Self, MachineKeyError> {
        Ok(match value {
            "HMACSHA256" => Validation::HmacSha256,
            "HMACSHA384" => Validation::HmacSha384,
            "HMACSHA512" => Validation::HmacSha512,
            "SHA1" => Validation::HmacSha1,
            other => {
                return Err(MachineKeyError::attribute(
                    "validation",
                    format!(
                        "{other:?} is not supported (HMACSHA256, HMACSHA384, HMACSHA512 or SHA1)"
                    ),
                ))
            }
        })
    }
}

/// Key bytes: zeroed when dropped, never printed.
#[derive(Clone)]
pub(crate) struct KeyBytes(pub(crate) Zeroizing<Vec<u8>>);

impl fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} key bits redacted>", self.0.len() * 8)
    }
}

/// A parsed `<machineKey>`: the algorithm and the two master keys. `Debug` shows the
/// algorithms and key sizes, never the keys.
#[derive(Clone)]
pub struct MachineKey {
    pub(crate) validation: Validation,
    pub(crate) validation_key: KeyBytes,
    pub(crate) decryption_key: KeyBytes,
}

impl fmt::Debug for MachineKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MachineKey")
            .field("validation", &self.validation)
            .field("validation_key_bits", &(self.validation_key.0.len() * 8))
            .field("decryption", &"AES")
            .field("decryption_key_bits", &self.aes_bits())
            .finish()
    }
}

/// Why a machineKey file was refused. The message names the attribute; it never contains a
/// key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MachineKeyError {
    /// No `<machineKey>` element in the file.
    #[error("no <machineKey> element found")]
    Missing,
    /// More than one `<machineKey>` element: which one the legacy site used is unknowable.
    #[error("more than one <machineKey> element")]
    Ambiguous,
    /// The file is not well-formed XML.
    #[error("the file is not well-formed XML: {0}")]
    Xml(String),
    /// An attribute's value is refused.
    #[error("<machineKey {attribute}=…>: {reason}")]
    Attribute {
        /// The attribute's name.
        attribute: &'static str,
        /// Why (never the value of a key).
        reason: String,
    },
}

impl MachineKeyError {
    fn attribute(attribute: &'static str, reason: impl Into<String>) -> Self {
        MachineKeyError::Attribute {
            attribute,
            reason: reason.into(),
        }
    }
}

/// The raw attributes of the one `<machineKey>` element.
#[derive(Default)]
struct Attributes {
    validation_key: Option<Zeroizing<String>>,
    decryption_key: Option<Zeroizing<String>>,
    validation: Option<String>,
    decryption: Option<String>,
}

impl MachineKey {
    /// Parses a file holding a `<machineKey …/>` element, alone or anywhere in a `web.config`.
    ///
    /// # Errors
    /// [`MachineKeyError`], naming the attribute refused.
    pub fn parse(text: &str) -> Result<Self, MachineKeyError> {
        let attrs = find_element(text)?;
        let validation = Validation::parse(attrs.validation.as_deref().unwrap_or("HMACSHA256"))?;
        match attrs.decryption.as_deref().unwrap_or("Auto") {
            "AES" | "Auto" => {}
            other => {
                return Err(MachineKeyError::attribute(
                    "decryption",
                    format!("{other:?} is not supported (AES or Auto)"),
                ))
            }
        }
        let validation_key = hex_key(
            "validationKey",
            attrs.validation_key.as_deref().map(String::as_str),
        )?;
        if !(20..=256).contains(&validation_key.0.len()) {
            return Err(MachineKeyError::attribute(
                "validationKey",
                format!(
                    "{} bits: ASP.NET requires at least 160 bits (40 hex digits); at most 2048 are accepted",
                    validation_key.0.len() * 8
                ),
            ));
        }
        let decryption_key = hex_key(
            "decryptionKey",
            attrs.decryption_key.as_deref().map(String::as_str),
        )?;
        if ![16, 24, 32].contains(&decryption_key.0.len()) {
            return Err(MachineKeyError::attribute(
                "decryptionKey",
                format!(
                    "{} bits: AES needs 128, 192 or 256 bits (32, 48 or 64 hex digits)",
                    decryption_key.0.len() * 8
                ),
            ));
        }
        Ok(MachineKey {
            validation,
            validation_key,
            decryption_key,
        })
    }

    /// The validation algorithm.
    pub fn validation(&self) -> Validation {
        self.validation
    }

    /// The AES key size in bits (128, 192 or 256).
    pub fn aes_bits(&self) -> usize {
        self.decryption_key.0.len() * 8
    }

    /// The validation key size in bits.
    pub fn validation_key_bits(&self) -> usize {
        self.validation_key.0.len() * 8
    }
}

fn hex_key(attribute: &'static str, value: Option<&str>) -> Result<KeyBytes, MachineKeyError> {
    let Some(value) = value else {
        return Err(MachineKeyError::attribute(
            attribute,
            "missing: an explicit hex key is required",
        ));
    };
    if value.split(',').any(|flag| {
        matches!(
            flag.trim(),
            "AutoGenerate" | "IsolateApps" | "IsolateByAppId"
        )
    }) {
        return Err(MachineKeyError::attribute(
            attribute,
            "AutoGenerate/IsolateApps keys are derived from a secret of the legacy machine; copy an explicit hex key",
        ));
    }
    if value.len() % 2 != 0 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(MachineKeyError::attribute(
            attribute,
            "not an even number of hex digits",
        ));
    }
    let bytes = value
        .as_bytes()
        .chunks(2)
        .map(|pair| (hex_digit(pair[0]) << 4) | hex_digit(pair[1]))
        .collect();
    Ok(KeyBytes(Zeroizing::new(bytes)))
}

/// One hex digit's value (the caller checked it is one).
fn hex_digit(b: u8) -> u8 {
    char::from(b).to_digit(16).map_or(0, |d| d as u8)
}

/// The attributes of the single `<machineKey>` element of `text`.
fn find_element(text: &str) -> Result<Attributes, MachineKeyError> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut found: Option<Attributes> = None;
    loop {
        match reader.read_event() {
            Err(e) => return Err(MachineKeyError::Xml(e.to_string())),
            Ok(Event::Eof) => break,
            Ok(Event::Start(e) | Event::Empty(e)) if e.name().as_ref() == b"machineKey" => {
                if found.is_some() {
                    return Err(MachineKeyError::Ambiguous);
                }
                found = Some(read_attributes(&e)?);
            }
            Ok(Event::DocType(_)) => {
                return Err(MachineKeyError::Xml("a DTD is not accepted".to_owned()))
            }
            Ok(_) => {}
        }
    }
    found.ok_or(MachineKeyError::Missing)
}

fn read_attributes(e: &quick_xml::events::BytesStart<'_>) -> Result<Attributes, MachineKeyError> {
    let mut attrs = Attributes::default();
    for attr in e.attributes() {
        let attr = attr.map_err(|e| MachineKeyError::Xml(e.to_string()))?;
        let value = attr
            .unescape_value()
            .map_err(|e| MachineKeyError::Xml(e.to_string()))?
            // MachineKeySection's WhiteSpaceTrimStringConverter.
            .trim()
            .to_owned();
        match attr.key.as_ref() {
            b"validationKey" => attrs.validation_key = Some(Zeroizing::new(value)),
            b"decryptionKey" => attrs.decryption_key = Some(Zeroizing::new(value)),
            b"validation" => attrs.validation = Some(value),
            b"decryption" => attrs.decryption = Some(value),
            // Affects only the pre-4.5 APIs (Encode/Decode, forms tickets), not Protect.
            b"compatibilityMode" | b"applicationName" => {}
            b"dataProtectorType" if value.is_empty() => {}
            b"dataProtectorType" => return Err(MachineKeyError::attribute(
                "dataProtectorType",
                "a custom data protector replaces MachineKey.Protect's algorithm; not supported",
            )),
            other => {
                return Err(MachineKeyError::Attribute {
                    attribute: "(unknown)",
                    reason: format!(
                        "unrecognized attribute {:?}",
                        String::from_utf8_lossy(other)
                    ),
                })
            }
        }
    }
    Ok(attrs)
}
