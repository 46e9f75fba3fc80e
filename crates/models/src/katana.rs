//! The Katana dialect (`Yindo.DAL.Types`): `POST /token`, an OWIN
//! `OAuthAuthorizationServer` password grant with extra response members.
//!
//! Katana read the request as a form whatever its Content-Type; its errors are the RFC 6749
//! body of [`crate::oauth::ErrorResponse`], always with HTTP 400.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::redact::{Redacted, RedactedOpt};
use crate::Contract;

/// XML namespace of every contract of this dialect.
pub const XML_NAMESPACE: &str = "http://schemas.datacontract.org/2004/07/Yindo.DAL.Types";

/// Body of `POST /token` (seed 004).
///
/// `client_id` and `client_secret` are the RFC 6749 form fields Katana read from the body
/// (besides HTTP Basic); they are not in the seed's contract, so they come last and are
/// written only when set, keeping a request without them byte-identical to the seed's JSON.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OAuthRequest {
    /// The grant type; only `password` is supported.
    #[serde(rename = "grant_type")]
    pub grant_type: Option<String>,
    /// The user name of this login.
    #[serde(rename = "userName")]
    pub user_name: Option<String>,
    /// The user's password (a secret).
    #[serde(rename = "password")]
    pub password: Option<String>,
    /// A key linking the new session to a device; echoed in the response.
    #[serde(rename = "clientKey")]
    pub client_key: Option<String>,
    /// OAuth client id (or HTTP Basic).
    #[serde(rename = "client_id", skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// OAuth client secret (a secret).
    #[serde(rename = "client_secret", skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl OAuthRequest {
    /// A `password` grant request for `user_name` and `password`.
    pub fn password(user_name: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            grant_type: Some("password".to_owned()),
            user_name: Some(user_name.into()),
            password: Some(password.into()),
            ..Self::default()
        }
    }
}

impl fmt::Debug for OAuthRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthRequest")
            .field("grant_type", &self.grant_type)
            .field("user_name", &self.user_name)
            .field("password", &RedactedOpt::of(&self.password))
            .field("client_key", &self.client_key)
            .field("client_id", &self.client_id)
            .field("client_secret", &RedactedOpt::of(&self.client_secret))
            .finish_non_exhaustive()
    }
}

impl Contract for OAuthRequest {
    const XML_ROOT: &'static str = "OAuthRequest";
    const XML_NAMESPACE: &'static str = XML_NAMESPACE;
    const REQUIRED: &'static [&'static str] = &["grant_type", "userName", "password"];
}

/// Response of `POST /token` (seed 004).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthToken {
    /// The access token, sent as `Authorization: Bearer` afterwards (a secret).
    #[serde(rename = "access_token")]
    pub access_token: String,
    /// `bearer`.
    #[serde(rename = "token_type")]
    pub token_type: String,
    /// Lifetime of the token in whole seconds.
    #[serde(rename = "expires_in")]
    pub expires_in: i64,
    /// The user the token was issued for.
    #[serde(rename = "userName")]
    pub user_name: String,
    /// The user's id (a GUID in Gatehouse).
    #[serde(rename = "userID")]
    pub user_id: String,
    /// The key of the new session (a GUID in Gatehouse).
    #[serde(rename = "sessionKey")]
    pub session_key: String,
    /// The client-supplied key of the session, null when none was given.
    #[serde(rename = "clientKey")]
    pub client_key: Option<String>,
}

impl OAuthToken {
    /// A `bearer` token response.
    pub fn new(
        access_token: impl Into<String>,
        expires_in: i64,
        user_name: impl Into<String>,
        user_id: impl Into<String>,
        session_key: impl Into<String>,
        client_key: Option<String>,
    ) -> Self {
        Self {
            access_token: access_token.into(),
            token_type: "bearer".to_owned(),
            expires_in,
            user_name: user_name.into(),
            user_id: user_id.into(),
            session_key: session_key.into(),
            client_key,
        }
    }
}

impl fmt::Debug for OAuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthToken")
            .field("access_token", &Redacted)
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("user_name", &self.user_name)
            .field("user_id", &self.user_id)
            .field("session_key", &self.session_key)
            .field("client_key", &self.client_key)
            .finish_non_exhaustive()
    }
}

impl Contract for OAuthToken {
    const XML_ROOT: &'static str = "OAuthToken";
    const XML_NAMESPACE: &'static str = XML_NAMESPACE;
}

#[cfg(test)]
mod tests {
    use super::*;

    const OAUTH_REQUEST: &str = r#"{"grant_type":"sample string 1","userName":"sample string 2","password":"sample string 3","clientKey":"sample string 4"}"#;
    const OAUTH_TOKEN: &str = r#"{"access_token":"sample string 1","token_type":"sample string 2","expires_in":3,"userName":"sample string 4","userID":"sample string 5","sessionKey":"sample string 6","clientKey":"sample string 7"}"#;

    #[test]
    fn seed_samples_round_trip() {
        let req: OAuthRequest = serde_json::from_str(OAUTH_REQUEST).unwrap();
        assert_eq!(req.client_key.as_deref(), Some("sample string 4"));
        assert_eq!(serde_json::to_string(&req).unwrap(), OAUTH_REQUEST);
        let resp: OAuthToken = serde_json::from_str(OAUTH_TOKEN).unwrap();
        assert_eq!(
            resp,
            OAuthToken {
                token_type: "sample string 2".into(),
                ..OAuthToken::new(
                    "sample string 1",
                    3,
                    "sample string 4",
                    "sample string 5",
                    "sample string 6",
                    Some("sample string 7".into())
                )
            }
        );
        assert_eq!(serde_json::to_string(&resp).unwrap(), OAUTH_TOKEN);
    }

    #[test]
    fn client_fields_follow_the_seed_fields() {
        let req = OAuthRequest {
            client_id: Some("demo-client".into()),
            client_secret: Some("s".into()),
            ..OAuthRequest::password("alice", "p")
        };
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"grant_type":"password","userName":"alice","password":"p","clientKey":null,"client_id":"demo-client","client_secret":"s"}"#
        );
        let tok = OAuthToken::new("a", 1200, "alice", "u", "s", None);
        assert!(serde_json::to_string(&tok)
            .unwrap()
            .ends_with(r#""clientKey":null}"#));
    }

    #[test]
    fn debug_hides_secrets() {
        let req = OAuthRequest {
            client_secret: Some("s3cret".into()),
            ..OAuthRequest::password("alice", "passw0rd")
        };
        let resp = OAuthToken::new("t0ken", 1, "alice", "u", "s", None);
        for text in [format!("{req:?}"), format!("{resp:?}")] {
            assert!(
                !text.contains("s3cret") && !text.contains("passw0rd") && !text.contains("t0ken"),
                "{text}"
            );
            assert!(text.contains("<redacted>"), "{text}");
        }
    }
}
