//! [`Secret`]: passwords, client secrets, tokens and codes, which never print.

use std::fmt;

/// A password, client secret, token or code.
///
/// `Debug` and `Display` print `<redacted>`; the value is only reachable through
/// [`Secret::expose`], so it cannot reach a log line by accident.
///
/// ```
/// use gatehouse_client::Secret;
/// let s = Secret::new("alice-password-1");
/// assert_eq!(format!("{s:?} {s}"), "Secret(<redacted>) <redacted>");
/// assert_eq!(s.expose(), "alice-password-1");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A client's id and secret, sent as HTTP Basic (the default) or in the body.
///
/// ```
/// use gatehouse_client::ClientCredentials;
/// let c = ClientCredentials::new("demo-client", "demo-secret");
/// assert!(!format!("{c:?}").contains("demo-secret"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCredentials {
    /// The client id.
    pub id: String,
    /// The secret; `None` for a public client.
    pub secret: Option<Secret>,
    /// How the credentials travel.
    pub method: ClientAuthMethod,
}

/// How client credentials travel (RFC 6749 section 2.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ClientAuthMethod {
    /// `Authorization: Basic` with the id and secret form-URL-encoded first.
    #[default]
    Basic,
    /// `client_id` and `client_secret` members of the body.
    Body,
}

impl ClientCredentials {
    /// A confidential client, authenticated with HTTP Basic.
    pub fn new(id: impl Into<String>, secret: impl Into<Secret>) -> Self {
        ClientCredentials {
            id: id.into(),
            secret: Some(secret.into()),
            method: ClientAuthMethod::Basic,
        }
    }

    /// A public client: its id only, in the body.
    pub fn public(id: impl Into<String>) -> Self {
        ClientCredentials {
            id: id.into(),
            secret: None,
            method: ClientAuthMethod::Body,
        }
    }

    /// The same credentials sent in the body instead of a Basic header.
    #[must_use]
    pub fn in_body(mut self) -> Self {
        self.method = ClientAuthMethod::Body;
        self
    }

    /// The `Authorization` header value, for [`ClientAuthMethod::Basic`] with a secret.
    pub(crate) fn basic_header(&self) -> Option<String> {
        use base64::Engine as _;
        let secret = self.secret.as_ref()?;
        if self.method != ClientAuthMethod::Basic {
            return None;
        }
        // RFC 6749 section 2.3.1: each part form-URL-encoded before Basic encoding.
        let pair = format!(
            "{}:{}",
            gatehouse_codec::form_url_encode(&self.id),
            gatehouse_codec::form_url_encode(secret.expose())
        );
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        ))
    }

    /// The id and secret as body members, for [`ClientAuthMethod::Body`].
    pub(crate) fn body_pair(&self) -> Option<(&str, Option<&str>)> {
        (self.method == ClientAuthMethod::Body || self.secret.is_none())
            .then(|| (self.id.as_str(), self.secret.as_ref().map(Secret::expose)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_encodes_each_part_first() {
        let c = ClientCredentials::new("a:b", "p@ss word");
        let header = c.basic_header().unwrap();
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(header.trim_start_matches("Basic "))
            .unwrap();
        assert_eq!(raw, b"a%3Ab:p%40ss+word");
        assert_eq!(c.body_pair(), None);
        assert_eq!(
            c.clone().in_body().body_pair(),
            Some(("a:b", Some("p@ss word")))
        );
        assert_eq!(ClientCredentials::public("p").basic_header(), None);
    }
}
