//! Katana's `AuthenticationTicket` and its `TicketSerializer` (format version 3) with the
//! `PropertiesSerializer` (version 1) inside, gzip'd as `DataSerializers.Ticket` does
//! (`Microsoft.Owin.Security/DataHandler/Serializer/`).
//!
//! Layout, in .NET `BinaryWriter` terms (int32 little-endian; strings as a 7-bit encoded
//! UTF-8 byte count then the bytes): `3`, authentication type, name claim type, role claim
//! type (both `"\0"` when the defaults), claim count, per claim: type (`"\0"` = the name
//! claim type), value, value type (`"\0"` = xs:string), issuer (`"\0"` = `LOCAL
//! AUTHORITY`), original issuer (`"\0"` = the issuer); the bootstrap context (int32 0, or
//! its length then the string); then `1`, the property count and key/value pairs.
//!
//! Reading is bounded: at most [`MAX_TICKET_BYTES`] once decompressed, [`MAX_CLAIMS`]
//! claims and [`MAX_PROPERTIES`] properties; anything malformed is an error, never a panic.

use std::io::Read as _;

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// `ClaimTypes.Name`.
pub const NAME_CLAIM: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name";
/// `ClaimTypes.NameIdentifier`.
pub const NAME_IDENTIFIER_CLAIM: &str =
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier";
/// `ClaimTypes.Role`.
pub const ROLE_CLAIM: &str = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role";
/// `ClaimValueTypes.String`.
pub const STRING_VALUE_TYPE: &str = "http://www.w3.org/2001/XMLSchema#string";
/// `ClaimsIdentity.DefaultIssuer`.
pub const LOCAL_AUTHORITY: &str = "LOCAL AUTHORITY";
/// `AuthenticationProperties` key of the issue instant.
pub const ISSUED: &str = ".issued";
/// `AuthenticationProperties` key of the expiry instant.
pub const EXPIRES: &str = ".expires";

/// The largest decompressed ticket read (a legacy ticket with a few dozen claims is under
/// 2 KiB; this bounds a gzip bomb).
pub const MAX_TICKET_BYTES: u64 = 64 * 1024;
/// The most claims read.
pub const MAX_CLAIMS: usize = 256;
/// The most properties read.
pub const MAX_PROPERTIES: usize = 256;

const FORMAT_VERSION: i32 = 3;
const PROPERTIES_VERSION: i32 = 1;
const DEFAULT: &str = "\0";

/// .NET's `"r"` (RFC 1123) format: `Sun, 06 Dec 2026 09:10:00 GMT`.
const RFC1123: &[FormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// One `System.Security.Claims.Claim`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// `Type`.
    pub claim_type: String,
    /// `Value`.
    pub value: String,
    /// `ValueType` (xs:string unless set).
    pub value_type: String,
    /// `Issuer` (`LOCAL AUTHORITY` unless set).
    pub issuer: String,
    /// `OriginalIssuer` (the issuer unless set).
    pub original_issuer: String,
}

impl Claim {
    /// A string claim issued by `LOCAL AUTHORITY`, as `new Claim(type, value)` makes it.
    pub fn new(claim_type: impl Into<String>, value: impl Into<String>) -> Self {
        Claim {
            claim_type: claim_type.into(),
            value: value.into(),
            value_type: STRING_VALUE_TYPE.to_owned(),
            issuer: LOCAL_AUTHORITY.to_owned(),
            original_issuer: LOCAL_AUTHORITY.to_owned(),
        }
    }
}

/// An `AuthenticationTicket`: a `ClaimsIdentity` and its `AuthenticationProperties` (in
/// dictionary order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// `AuthenticationType` (`Bearer` for OAuth access tokens).
    pub authentication_type: String,
    /// `NameClaimType`.
    pub name_claim_type: String,
    /// `RoleClaimType`.
    pub role_claim_type: String,
    /// The claims, in order.
    pub claims: Vec<Claim>,
    /// `BootstrapContext` when it was a non-blank string.
    pub bootstrap_context: Option<String>,
    /// The properties, in order.
    pub properties: Vec<(String, String)>,
}

/// A ticket that could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TicketFormatError {
    /// Not gzip, or bigger than [`MAX_TICKET_BYTES`] once decompressed.
    #[error("not a gzip'd ticket within the size limit")]
    Compression,
    /// Not `TicketSerializer` version 3 / `PropertiesSerializer` version 1.
    #[error("unknown ticket format version")]
    Version,
    /// Truncated, a bad length, invalid UTF-8, too many claims or properties, a duplicate
    /// property, or bytes after the end.
    #[error("malformed ticket")]
    Malformed,
}

impl Ticket {
    /// A `Bearer` ticket with the default name and role claim types.
    pub fn bearer(claims: Vec<Claim>, properties: Vec<(String, String)>) -> Self {
        Ticket {
            authentication_type: "Bearer".to_owned(),
            name_claim_type: NAME_CLAIM.to_owned(),
            role_claim_type: ROLE_CLAIM.to_owned(),
            claims,
            bootstrap_context: None,
            properties,
        }
    }

    /// The value of a property.
    pub fn property(&self, key: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The first claim of a type.
    pub fn claim(&self, claim_type: &str) -> Option<&str> {
        self.claims
            .iter()
            .find(|c| c.claim_type == claim_type)
            .map(|c| c.value.as_str())
    }

    /// `.issued`, when present and in RFC 1123 form.
    pub fn issued(&self) -> Option<OffsetDateTime> {
        self.property(ISSUED).and_then(parse_rfc1123)
    }

    /// `.expires`, when present and in RFC 1123 form.
    pub fn expires(&self) -> Option<OffsetDateTime> {
        self.property(EXPIRES).and_then(parse_rfc1123)
    }

    /// The uncompressed `TicketSerializer.Write` bytes.
    pub fn to_binary(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        write_i32(&mut out, FORMAT_VERSION);
        write_string(&mut out, &self.authentication_type);
        write_default(&mut out, &self.name_claim_type, NAME_CLAIM);
        write_default(&mut out, &self.role_claim_type, ROLE_CLAIM);
        write_i32(&mut out, len_i32(self.claims.len()));
        for c in &self.claims {
            write_default(&mut out, &c.claim_type, &self.name_claim_type);
            write_string(&mut out, &c.value);
            write_default(&mut out, &c.value_type, STRING_VALUE_TYPE);
            write_default(&mut out, &c.issuer, LOCAL_AUTHORITY);
            write_default(&mut out, &c.original_issuer, &c.issuer);
        }
        match self
            .bootstrap_context
            .as_deref()
            .filter(|b| !b.trim().is_empty())
        {
            None => write_i32(&mut out, 0),
            Some(b) => {
                // Katana writes the string's length in UTF-16 units, then the string.
                write_i32(&mut out, len_i32(b.encode_utf16().count()));
                write_string(&mut out, b);
            }
        }
        write_i32(&mut out, PROPERTIES_VERSION);
        write_i32(&mut out, len_i32(self.properties.len()));
        for (k, v) in &self.properties {
            write_string(&mut out, k);
            write_string(&mut out, v);
        }
        out
    }

    /// `DataSerializers.Ticket.Serialize`: the binary form, gzip'd.
    pub fn serialize(&self) -> Vec<u8> {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing to a Vec cannot fail.
        let _ = gz.write_all(&self.to_binary());
        gz.finish().unwrap_or_default()
    }

    /// `DataSerializers.Ticket.Deserialize`, bounded.
    ///
    /// # Errors
    /// [`TicketFormatError`].
    pub fn deserialize(gzipped: &[u8]) -> Result<Self, TicketFormatError> {
        let mut clear = Vec::new();
        flate2::read::GzDecoder::new(gzipped)
            .take(MAX_TICKET_BYTES + 1)
            .read_to_end(&mut clear)
            .map_err(|_| TicketFormatError::Compression)?;
        if clear.len() as u64 > MAX_TICKET_BYTES {
            return Err(TicketFormatError::Compression);
        }
        Self::from_binary(&clear)
    }

    /// `TicketSerializer.Read` of uncompressed bytes; trailing bytes are refused.
    ///
    /// # Errors
    /// [`TicketFormatError`].
    pub fn from_binary(bytes: &[u8]) -> Result<Self, TicketFormatError> {
        let mut r = Reader { rest: bytes };
        if r.i32()? != FORMAT_VERSION {
            return Err(TicketFormatError::Version);
        }
        let authentication_type = r.string()?;
        let name_claim_type = r.with_default(NAME_CLAIM)?;
        let role_claim_type = r.with_default(ROLE_CLAIM)?;
        let count = r.count(MAX_CLAIMS)?;
        let mut claims = Vec::with_capacity(count);
        for _ in 0..count {
            let claim_type = r.with_default(&name_claim_type)?;
            let value = r.string()?;
            let value_type = r.with_default(STRING_VALUE_TYPE)?;
            let issuer = r.with_default(LOCAL_AUTHORITY)?;
            let original_issuer = r.with_default(&issuer)?;
            claims.push(Claim {
                claim_type,
                value,
                value_type,
                issuer,
                original_issuer,
            });
        }
        let bootstrap_context = match r.i32()? {
            n if n > 0 => Some(r.string()?),
            _ => None,
        };
        if r.i32()? != PROPERTIES_VERSION {
            return Err(TicketFormatError::Version);
        }
        let count = r.count(MAX_PROPERTIES)?;
        let mut properties: Vec<(String, String)> = Vec::with_capacity(count);
        for _ in 0..count {
            let key = r.string()?;
            let value = r.string()?;
            // Katana's Dictionary.Add throws on a duplicate key.
            if properties.iter().any(|(k, _)| *k == key) {
                return Err(TicketFormatError::Malformed);
            }
            properties.push((key, value));
        }
        if !r.rest.is_empty() {
            return Err(TicketFormatError::Malformed);
        }
        Ok(Ticket {
            authentication_type,
            name_claim_type,
            role_claim_type,
            claims,
            bootstrap_context,
            properties,
        })
    }
}

/// `t` in .NET's `"r"` format (whole seconds, UTC).
pub fn format_rfc1123(t: OffsetDateTime) -> String {
    let utc = t.to_offset(time::UtcOffset::UTC);
    utc.format(RFC1123).unwrap_or_default()
}

/// Parses .NET's `"r"` format.
pub fn parse_rfc1123(text: &str) -> Option<OffsetDateTime> {
    PrimitiveDateTime::parse(text, RFC1123)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

fn len_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn write_i32(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// `BinaryWriter.Write(string)`: 7-bit encoded UTF-8 length, then the bytes.
pub(crate) fn write_string(out: &mut Vec<u8>, s: &str) {
    let mut n = s.len();
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out.extend_from_slice(s.as_bytes());
}

fn write_default(out: &mut Vec<u8>, value: &str, default: &str) {
    write_string(out, if value == default { DEFAULT } else { value });
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], TicketFormatError> {
        if self.rest.len() < n {
            return Err(TicketFormatError::Malformed);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn i32(&mut self) -> Result<i32, TicketFormatError> {
        let b = self.take(4)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn count(&mut self, max: usize) -> Result<usize, TicketFormatError> {
        usize::try_from(self.i32()?)
            .ok()
            .filter(|n| *n <= max)
            .ok_or(TicketFormatError::Malformed)
    }

    /// `BinaryReader.ReadString`: at most five 7-bit groups.
    fn string(&mut self) -> Result<String, TicketFormatError> {
        let mut len: u32 = 0;
        for shift in (0..35).step_by(7) {
            let b = self.take(1)?[0];
            len |= u32::from(b & 0x7f)
                .checked_shl(shift)
                .ok_or(TicketFormatError::Malformed)?;
            if b & 0x80 == 0 {
                let bytes = self.take(len as usize)?;
                return String::from_utf8(bytes.to_vec()).map_err(|_| TicketFormatError::Malformed);
            }
        }
        Err(TicketFormatError::Malformed)
    }

    fn with_default(&mut self, default: &str) -> Result<String, TicketFormatError> {
        let s = self.string()?;
        Ok(if s == DEFAULT { default.to_owned() } else { s })
    }
}
