//! Katana (OWIN) bearer tickets under a legacy ASP.NET `<machineKey>`, byte-compatible with
//! `OAuthAuthorizationServerMiddleware` (which issues them) and
//! `OAuthBearerAuthenticationMiddleware` (which accepts them) hosted on System.Web.
//!
//! An access token is `Base64Url(MachineKey.Protect(gzip(TicketSerializer v3 ticket),
//! "Microsoft.Owin.Security.OAuth", "Access_Token", "v1"))`. The API, smallest first:
//!
//! - [`MachineKey::parse`]: the `<machineKey>` element (alone or in a `web.config`), with
//!   the refusals of [`MachineKeyError`]; keys are never printed.
//! - [`TicketFormat::access_token`]: the access-token format under that key;
//!   [`TicketFormat::protect`] (with an injected IV) and [`TicketFormat::unprotect`]
//!   ([`TicketError`] says which layer refused).
//! - [`Ticket`], [`Claim`]: the ticket; `.issued`/`.expires` via [`Ticket::issued`] /
//!   [`Ticket::expires`] (RFC 1123, as Katana writes them: [`format_rfc1123`]).
//! - Lower layers for tests and tools: [`Protector`] (`MachineKey.Protect` for any purposes),
//!   [`sp800_108`], [`base64url_encode`] / [`base64url_decode`].
//!
//! Checking a ticket's expiry and its user is the caller's business (Katana's bearer
//! middleware checks only `.expires`).

mod machine_key;
mod protect;
mod ticket;

use base64::Engine as _;

pub use machine_key::{MachineKey, MachineKeyError, Validation};
pub use protect::{purpose_context, sp800_108, Protector, UnprotectError, IV_LEN, PRIMARY_PURPOSE};
pub use ticket::{
    format_rfc1123, parse_rfc1123, Claim, Ticket, TicketFormatError, EXPIRES, ISSUED,
    LOCAL_AUTHORITY, MAX_CLAIMS, MAX_PROPERTIES, MAX_TICKET_BYTES, NAME_CLAIM,
    NAME_IDENTIFIER_CLAIM, ROLE_CLAIM, STRING_VALUE_TYPE,
};

/// The specific purposes of OAuth access tokens: `typeof(OAuthAuthorizationServerMiddleware)
/// .Namespace`, `"Access_Token"`, `"v1"` (the bearer middleware uses the same).
pub const ACCESS_TOKEN_PURPOSES: [&str; 3] =
    ["Microsoft.Owin.Security.OAuth", "Access_Token", "v1"];

/// The longest token text looked at (a ticket with the default claims is about 400
/// characters; this bounds the work an attacker can ask for).
pub const MAX_TOKEN_CHARS: usize = 16 * 1024;

/// Why a token is not a valid ticket under the configured key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    /// Not canonical unpadded Base64Url, or longer than [`MAX_TOKEN_CHARS`].
    #[error("not a Base64Url token")]
    Encoding,
    /// `MachineKey.Unprotect` refused it.
    #[error("unprotect: {0}")]
    Unprotect(#[from] UnprotectError),
    /// The protected payload is not a ticket.
    #[error("ticket: {0}")]
    Format(#[from] TicketFormatError),
}

/// Katana's `TicketDataFormat` over a `MachineKeyDataProtector`: ticket ⇄ token text.
#[derive(Debug, Clone)]
pub struct TicketFormat {
    protector: Protector,
}

impl TicketFormat {
    /// The format of OAuth access tokens under `key`.
    pub fn access_token(key: &MachineKey) -> Self {
        Self::with_purposes(key, &ACCESS_TOKEN_PURPOSES)
    }

    /// The format under any specific purposes (refresh tokens, cookies, …).
    pub fn with_purposes(key: &MachineKey, purposes: &[&str]) -> Self {
        TicketFormat {
            protector: Protector::new(key, purposes),
        }
    }

    /// The token text of `ticket`, with the IV given (draw it from a CSPRNG).
    pub fn protect(&self, ticket: &Ticket, iv: &[u8; IV_LEN]) -> String {
        base64url_encode(&self.protector.protect(&ticket.serialize(), iv))
    }

    /// The ticket in `token`. Stricter than Katana on the text only: it must be canonical
    /// unpadded Base64Url, so one ticket has exactly one spelling (Gatehouse keys tokens by
    /// the digest of their text).
    ///
    /// # Errors
    /// [`TicketError`].
    pub fn unprotect(&self, token: &str) -> Result<Ticket, TicketError> {
        if token.len() > MAX_TOKEN_CHARS {
            return Err(TicketError::Encoding);
        }
        let data = base64url_decode(token).ok_or(TicketError::Encoding)?;
        let clear = self.protector.unprotect(&data)?;
        Ok(Ticket::deserialize(&clear)?)
    }
}

/// Katana's `Base64UrlTextEncoder.Encode`: Base64 with `-` and `_`, no padding.
pub fn base64url_encode(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// Canonical unpadded Base64Url only (no `=`, no whitespace, zero trailing bits).
pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()
}

/// The README's examples, compiled and run as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
