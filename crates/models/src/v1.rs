//! The v1 dialect (`IO.Swagger.Models`): `POST /api/v1/auth/token`, a Keycloak-style token
//! endpoint with `snake_case` members.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::redact::{Redacted, RedactedOpt};
use crate::Contract;

/// XML namespace of every contract of this dialect.
pub const XML_NAMESPACE: &str = "http://schemas.datacontract.org/2004/07/IO.Swagger.Models";

/// Body of `POST /api/v1/auth/token` (seed 003), plus `code` for the `authorization_code`
/// grant.
///
/// `code` is Gatehouse's addition: it is written only when set, so a request without it is
/// byte-identical to the seed's JSON.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenRequest {
    /// Take the user from the trusted authenticating reverse proxy instead of a password.
    /// A non-nullable `bool` in legacy: absent is `None` (false), `null` is a binding error
    /// (Json.NET could not convert it), a JSON number binds (non-zero is true).
    #[serde(
        rename = "WindowsAuthentication",
        deserialize_with = "non_null_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub windows_authentication: Option<bool>,
    /// Client id (or HTTP Basic).
    #[serde(rename = "client_id")]
    pub client_id: Option<String>,
    /// Client secret (a secret).
    #[serde(rename = "client_secret")]
    pub client_secret: Option<String>,
    /// Requested scope.
    #[serde(rename = "scope")]
    pub scope: Option<String>,
    /// User name, for the `password` grant.
    #[serde(rename = "username")]
    pub username: Option<String>,
    /// Password, for the `password` grant (a secret).
    #[serde(rename = "password")]
    pub password: Option<String>,
    /// `password`, `refresh_token`, `client_credentials` or `authorization_code`.
    #[serde(rename = "grant_type")]
    pub grant_type: Option<String>,
    /// Refresh token, for the `refresh_token` grant (a secret).
    #[serde(rename = "refresh_token")]
    pub refresh_token: Option<String>,
    /// Authorization code from `/admin/login/auth_code`, for the `authorization_code` grant
    /// (a secret; Gatehouse's addition).
    #[serde(rename = "code", skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl TokenRequest {
    /// A request with only `grant_type` set.
    pub fn new(grant_type: impl Into<String>) -> Self {
        Self {
            grant_type: Some(grant_type.into()),
            ..Self::default()
        }
    }

    /// A `password` grant request for `username` and `password`.
    pub fn password(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: Some(username.into()),
            password: Some(password.into()),
            ..Self::new("password")
        }
    }

    /// A `refresh_token` grant request.
    pub fn refresh(refresh_token: impl Into<String>) -> Self {
        Self {
            refresh_token: Some(refresh_token.into()),
            ..Self::new("refresh_token")
        }
    }

    /// An `authorization_code` grant request.
    pub fn authorization_code(code: impl Into<String>) -> Self {
        Self {
            code: Some(code.into()),
            ..Self::new("authorization_code")
        }
    }
}

/// A present `bool` member that must not be null (a non-nullable `bool` in the CLR model).
fn non_null_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    bool::deserialize(d).map(Some)
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRequest")
            .field("windows_authentication", &self.windows_authentication)
            .field("client_id", &self.client_id)
            .field("client_secret", &RedactedOpt::of(&self.client_secret))
            .field("scope", &self.scope)
            .field("username", &self.username)
            .field("password", &RedactedOpt::of(&self.password))
            .field("grant_type", &self.grant_type)
            .field("refresh_token", &RedactedOpt::of(&self.refresh_token))
            .field("code", &RedactedOpt::of(&self.code))
            .finish_non_exhaustive()
    }
}

/// What v1's `authorization_code` request carries beside the v1 contract (which does not
/// name them), read from the same body: a code issued by `/oauth2/authorize` is checked at v1
/// exactly as at `/oauth2/token`. JSON or form, names as RFC 6749 writes them.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CodeExtras {
    /// The `redirect_uri` of the authorization request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// The PKCE code verifier (a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_verifier: Option<String>,
}

impl fmt::Debug for CodeExtras {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeExtras")
            .field("redirect_uri", &self.redirect_uri)
            .field("code_verifier", &RedactedOpt::of(&self.code_verifier))
            .finish()
    }
}

impl Contract for TokenRequest {
    const XML_ROOT: &'static str = "TokenRequest";
    const XML_NAMESPACE: &'static str = XML_NAMESPACE;
}

/// Response of `POST /api/v1/auth/token` (seed 003).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenResponse {
    /// The access token (a secret).
    #[serde(rename = "access_token")]
    pub access_token: String,
    /// Lifetime of the access token in whole seconds.
    #[serde(rename = "expires_in")]
    pub expires_in: i64,
    /// The client's redirect URL.
    #[serde(rename = "redirect_url")]
    pub redirect_url: Option<String>,
    /// The caller's address.
    #[serde(rename = "ip")]
    pub ip: Option<String>,
    /// The user's editor flag.
    #[serde(rename = "is_editor")]
    pub is_editor: bool,
    /// Lifetime of the refresh token in whole seconds (0 without one).
    #[serde(rename = "refresh_expires_in")]
    pub refresh_expires_in: i64,
    /// The refresh token (a secret), if one was issued.
    #[serde(rename = "refresh_token")]
    pub refresh_token: Option<String>,
    /// `Bearer`.
    #[serde(rename = "token_type")]
    pub token_type: String,
    /// Keycloak's `not-before-policy`, always 0.
    #[serde(rename = "not_before_policy")]
    pub not_before_policy: i64,
    /// The session GUID.
    #[serde(rename = "session_state")]
    pub session_state: Option<String>,
    /// The granted scope.
    #[serde(rename = "scope")]
    pub scope: Option<String>,
}

impl AccessTokenResponse {
    /// A `Bearer` response for `access_token` valid `expires_in` seconds; every optional member
    /// null, `is_editor` false, `refresh_expires_in` and `not_before_policy` 0.
    pub fn new(access_token: impl Into<String>, expires_in: i64) -> Self {
        Self {
            access_token: access_token.into(),
            expires_in,
            redirect_url: None,
            ip: None,
            is_editor: false,
            refresh_expires_in: 0,
            refresh_token: None,
            token_type: "Bearer".to_owned(),
            not_before_policy: 0,
            session_state: None,
            scope: None,
        }
    }
}

impl fmt::Debug for AccessTokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessTokenResponse")
            .field("access_token", &Redacted)
            .field("expires_in", &self.expires_in)
            .field("redirect_url", &self.redirect_url)
            .field("ip", &self.ip)
            .field("is_editor", &self.is_editor)
            .field("refresh_expires_in", &self.refresh_expires_in)
            .field("refresh_token", &RedactedOpt::of(&self.refresh_token))
            .field("token_type", &self.token_type)
            .field("not_before_policy", &self.not_before_policy)
            .field("session_state", &self.session_state)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Contract for AccessTokenResponse {
    const XML_ROOT: &'static str = "AccessTokenResponse";
    const XML_NAMESPACE: &'static str = XML_NAMESPACE;
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN_REQUEST: &str = r#"{"WindowsAuthentication":true,"client_id":"sample string 2","client_secret":"sample string 3","scope":"sample string 4","username":"sample string 5","password":"sample string 6","grant_type":"sample string 7","refresh_token":"sample string 8"}"#;
    const ACCESS_TOKEN_RESPONSE: &str = r#"{"access_token":"sample string 1","expires_in":1,"redirect_url":"sample string 2","ip":"sample string 3","is_editor":true,"refresh_expires_in":1,"refresh_token":"sample string 5","token_type":"sample string 6","not_before_policy":1,"session_state":"sample string 7","scope":"sample string 8"}"#;

    #[test]
    fn seed_samples_round_trip() {
        let req: TokenRequest = serde_json::from_str(TOKEN_REQUEST).unwrap();
        assert_eq!(req.windows_authentication, Some(true));
        assert_eq!(req.code, None);
        assert_eq!(serde_json::to_string(&req).unwrap(), TOKEN_REQUEST);

        let resp: AccessTokenResponse = serde_json::from_str(ACCESS_TOKEN_RESPONSE).unwrap();
        assert_eq!(resp.session_state.as_deref(), Some("sample string 7"));
        assert_eq!(serde_json::to_string(&resp).unwrap(), ACCESS_TOKEN_RESPONSE);
    }

    #[test]
    fn constructors() {
        let req = TokenRequest::authorization_code("c");
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            // No `"WindowsAuthentication":null`: legacy refused null in its non-nullable bool.
            r#"{"client_id":null,"client_secret":null,"scope":null,"username":null,"password":null,"grant_type":"authorization_code","refresh_token":null,"code":"c"}"#
        );
        assert_eq!(
            TokenRequest::password("u", "p").grant_type.as_deref(),
            Some("password")
        );
        assert_eq!(
            TokenRequest::refresh("r").refresh_token.as_deref(),
            Some("r")
        );
        assert_eq!(
            serde_json::to_string(&AccessTokenResponse::new("a", 300)).unwrap(),
            r#"{"access_token":"a","expires_in":300,"redirect_url":null,"ip":null,"is_editor":false,"refresh_expires_in":0,"refresh_token":null,"token_type":"Bearer","not_before_policy":0,"session_state":null,"scope":null}"#
        );
    }

    #[test]
    fn debug_hides_secrets() {
        let req: TokenRequest = serde_json::from_str(TOKEN_REQUEST).unwrap();
        let req = TokenRequest {
            code: Some("c0de".into()),
            ..req
        };
        let resp: AccessTokenResponse = serde_json::from_str(ACCESS_TOKEN_RESPONSE).unwrap();
        let (rt, rs) = (format!("{req:?}"), format!("{resp:?}"));
        for secret in [
            "sample string 3",
            "sample string 6",
            "sample string 8",
            "c0de",
        ] {
            assert!(!rt.contains(secret), "{rt}");
        }
        assert!(
            !rs.contains("sample string 1") && !rs.contains("sample string 5"),
            "{rs}"
        );
        assert!(rt.contains("<redacted>") && rs.contains("<redacted>"));
    }
}
