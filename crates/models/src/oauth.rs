//! The RFC-style JSON bodies shared by the OAuth endpoints: RFC 6749 error responses (the
//! katana and v1 dialects), RFC 7662 introspection, RFC 7009 revocation and RFC 8414
//! authorization server metadata.
//!
//! These are JSON only (no XML contract). As the RFCs ask, optional members are omitted when
//! absent rather than written as null. Requests are usually form bodies; they deserialize from
//! any serde format with every member optional.

use std::fmt;

use serde::de::{Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::redact::{Redacted, RedactedOpt};

/// An RFC 6749 `grant_type` Gatehouse implements (section 4.1.3, 6, 4.4, 4.3). Compared
/// exactly, case-sensitively (RFC 6749 section 3.2: parameter values are case-sensitive;
/// Katana's `/token` compared them so too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantType {
    /// `authorization_code`: a code of the authorization endpoint, with PKCE.
    AuthorizationCode,
    /// `refresh_token`: a refresh token, rotated.
    RefreshToken,
    /// `client_credentials`: the client on its own behalf.
    ClientCredentials,
    /// `password`: a user name and password.
    Password,
    /// `urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693): a subject token for
    /// another audience.
    TokenExchange,
}

impl GrantType {
    /// Every grant type, in the order the metadata lists them.
    pub const ALL: [GrantType; 5] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::Password,
        GrantType::TokenExchange,
    ];

    /// The wire text, `authorization_code`.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::Password => "password",
            GrantType::TokenExchange => "urn:ietf:params:oauth:grant-type:token-exchange",
        }
    }

    /// The grant type of this wire text (exact match); `None` for any other.
    ///
    /// ```
    /// use gatehouse_models::oauth::GrantType;
    /// assert_eq!(GrantType::from_wire("password"), Some(GrantType::Password));
    /// assert_eq!(GrantType::from_wire("Password"), None);
    /// ```
    pub fn from_wire(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == text)
    }
}

/// An RFC 6749 section 5.2 error code (plus a few from related RFCs), or any other code.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `invalid_request`: a parameter is missing, repeated, unsupported or malformed.
    InvalidRequest,
    /// `invalid_client`: client authentication failed.
    InvalidClient,
    /// `invalid_grant`: the credentials, code or refresh token are invalid, expired or
    /// revoked. Also Katana's answer to a wrong user name or password.
    InvalidGrant,
    /// `unauthorized_client`: the client may not use this grant type.
    UnauthorizedClient,
    /// `unsupported_grant_type`: the grant type is unknown or not supported here.
    UnsupportedGrantType,
    /// `invalid_scope`: the requested scope is invalid or exceeds what the client may have.
    InvalidScope,
    /// `unsupported_token_type` (RFC 7009 section 2.2.1): revocation of this token type is not
    /// supported.
    UnsupportedTokenType,
    /// `access_denied` (RFC 6749 section 4.1.2.1): the user or server refused, e.g. a disabled
    /// account.
    AccessDenied,
    /// `server_error` (RFC 6749 section 4.1.2.1): an unexpected server failure.
    ServerError,
    /// `temporarily_unavailable` (RFC 6749 section 4.1.2.1): overloaded, retry later.
    TemporarilyUnavailable,
    /// Any other code, kept verbatim.
    Other(String),
}

impl ErrorCode {
    /// The wire text, `invalid_grant`.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::Other(code) => code,
        }
    }

    /// The code for this wire text: a known variant when it is one (exact, case-sensitive
    /// match, as the RFC defines them), [`ErrorCode::Other`] otherwise.
    pub fn parse(code: &str) -> Self {
        match code {
            "invalid_request" => Self::InvalidRequest,
            "invalid_client" => Self::InvalidClient,
            "invalid_grant" => Self::InvalidGrant,
            "unauthorized_client" => Self::UnauthorizedClient,
            "unsupported_grant_type" => Self::UnsupportedGrantType,
            "invalid_scope" => Self::InvalidScope,
            "unsupported_token_type" => Self::UnsupportedTokenType,
            "access_denied" => Self::AccessDenied,
            "server_error" => Self::ServerError,
            "temporarily_unavailable" => Self::TemporarilyUnavailable,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ErrorCode;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an OAuth error code string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ErrorCode, E> {
                Ok(ErrorCode::parse(v))
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// An RFC 6749 section 5.2 error body, `{"error":"invalid_grant","error_description":"..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// The error code.
    pub error: ErrorCode,
    /// A human sentence; omitted when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// A page about the error; omitted when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_uri: Option<String>,
}

impl ErrorResponse {
    /// An error with a description.
    pub fn new(error: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            error,
            error_description: Some(description.into()),
            error_uri: None,
        }
    }

    /// An error with only its code.
    pub fn bare(error: ErrorCode) -> Self {
        Self {
            error,
            error_description: None,
            error_uri: None,
        }
    }
}

/// Body of `POST /oauth2/introspect` (RFC 7662 section 2.1).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IntrospectionRequest {
    /// The token to introspect (a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// `access_token` or `refresh_token`: where to look first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type_hint: Option<String>,
    /// The calling client (or HTTP Basic).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Its secret (a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer` with `client_assertion`
    /// (`private_key_jwt`, RFC 7523 section 2.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_assertion_type: Option<String>,
    /// The client's signed JWT (a secret): `iss` and `sub` the client id, `aud` the issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_assertion: Option<String>,
}

impl IntrospectionRequest {
    /// A request for `token` with no hint and no client credentials.
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: Some(token.into()),
            ..Self::default()
        }
    }
}

impl fmt::Debug for IntrospectionRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionRequest")
            .field("token", &RedactedOpt::of(&self.token))
            .field("token_type_hint", &self.token_type_hint)
            .field("client_id", &self.client_id)
            .field("client_secret", &RedactedOpt::of(&self.client_secret))
            .finish_non_exhaustive()
    }
}

/// Response of `POST /oauth2/introspect` (RFC 7662 section 2.2). Absent members are omitted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntrospectionResponse {
    /// Whether the token is live. The only member of an inactive answer.
    pub active: bool,
    /// Space-separated scopes of the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The client the token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The user's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `access_token` or `refresh_token` (Gatehouse's convention for this member).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// Expiry, seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Issue time, seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Not-before time, seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Subject: the user's GUID (or the client id for a client-credentials token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Token identifier (not the token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Session GUID (an extension member).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The actor of a delegation (RFC 8693 section 4.1): a token exchange with an actor token;
    /// `sub` and `client_id` of the actor, nested `act` for earlier actors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Actor>,
    /// The key the token is bound to (RFC 9449 section 6.2): a DPoP-bound token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// The `act` claim (RFC 8693 section 4.1): who acts for the subject.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The actor: a user's GUID, or a client id for a client's own token.
    pub sub: String,
    /// The client the actor's token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The actor before this one, in a chain of delegations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Box<Actor>>,
}

/// A confirmation claim (RFC 7800): the key a token is bound to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The base64url SHA-256 JWK thumbprint (RFC 7638) of the DPoP key (RFC 9449).
    pub jkt: String,
}

impl IntrospectionResponse {
    /// The answer for anything not live: exactly `{"active":false}`.
    pub fn inactive() -> Self {
        Self::default()
    }

    /// An active answer with no other member set (set the public fields).
    pub fn new_active() -> Self {
        Self {
            active: true,
            ..Self::default()
        }
    }
}

/// Body of `POST /oauth2/revoke` (RFC 7009 section 2.1). The response is an empty 200.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RevocationRequest {
    /// The token to revoke (a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// `access_token` or `refresh_token`: where to look first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type_hint: Option<String>,
    /// The calling client (or HTTP Basic).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Its secret (a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer` with `client_assertion`
    /// (`private_key_jwt`, RFC 7523 section 2.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_assertion_type: Option<String>,
    /// The client's signed JWT (a secret): `iss` and `sub` the client id, `aud` the issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_assertion: Option<String>,
}

impl RevocationRequest {
    /// A request for `token` with no hint and no client credentials.
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: Some(token.into()),
            ..Self::default()
        }
    }
}

impl fmt::Debug for RevocationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationRequest")
            .field("token", &RedactedOpt::of(&self.token))
            .field("token_type_hint", &self.token_type_hint)
            .field("client_id", &self.client_id)
            .field("client_secret", &RedactedOpt::of(&self.client_secret))
            .finish_non_exhaustive()
    }
}

/// Authorization server metadata: the one source of both discovery documents, RFC 8414's
/// `/.well-known/oauth-authorization-server` and OpenID Connect Discovery 1.0's
/// `/.well-known/openid-configuration` (RFC 8414 section 2 registers the OpenID members for
/// both). A member is written only when the capability it announces is enabled: absent
/// members are omitted, never written as null.
///
/// A new capability adds its members here (with its RFC's name) and sets them in the one
/// function that builds the document from the enabled features.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationServerMetadata {
    /// The issuer identifier (an https URL without query or fragment).
    pub issuer: String,
    /// The authorization endpoint, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// The token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// OpenID Connect: the UserInfo endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    /// The JWK Set of the keys that sign tokens (RFC 7517).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// The RFC 7662 introspection endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    /// The RFC 7009 revocation endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// OpenID Connect RP-Initiated Logout 1.0: where a client sends the browser to sign out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
    /// RFC 9126: the pushed authorization request endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushed_authorization_request_endpoint: Option<String>,
    /// RFC 8628 section 4: the device authorization endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<String>,
    /// RFC 9126: whether every authorization request must be pushed first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_pushed_authorization_requests: Option<bool>,
    /// Scopes this server supports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    /// `response_type` values of the authorization endpoint (REQUIRED by the RFC, so always
    /// written, possibly empty).
    #[serde(default)]
    pub response_types_supported: Vec<String>,
    /// `response_mode` values of the authorization endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_modes_supported: Option<Vec<String>>,
    /// Grant types of the token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types_supported: Option<Vec<String>>,
    /// OpenID Connect: subject identifier types (`public`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_types_supported: Option<Vec<String>>,
    /// OpenID Connect: the algorithms id_tokens are signed with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_signing_alg_values_supported: Option<Vec<String>>,
    /// PKCE methods (RFC 7636).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// Client authentication methods of the token endpoint (`client_secret_basic`,
    /// `client_secret_post`, `none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// Client authentication methods of the revocation endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// Client authentication methods of the introspection endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// The algorithms a `private_key_jwt` client assertion may be signed with, at the token
    /// endpoint (only while some client authenticates that way).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_signing_alg_values_supported: Option<Vec<String>>,
    /// The same at the revocation endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint_auth_signing_alg_values_supported: Option<Vec<String>>,
    /// The same at the introspection endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint_auth_signing_alg_values_supported: Option<Vec<String>>,
    /// RFC 9449 section 5.1: the JWS algorithms of DPoP proofs (only while DPoP is on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
    /// OpenID Connect: the claims that may be released.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims_supported: Option<Vec<String>>,
    /// OpenID Connect: the `prompt` values understood.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_values_supported: Option<Vec<String>>,
    /// OpenID Connect: whether the `claims` request parameter is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims_parameter_supported: Option<bool>,
    /// OpenID Connect: whether the `request` parameter (a request object) is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_parameter_supported: Option<bool>,
    /// OpenID Connect: whether a `request_uri` the server fetches is supported (RFC 9126's
    /// own `request_uri`s are announced by its endpoint, not by this member).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_uri_parameter_supported: Option<bool>,
    /// RFC 9207: the authorization response carries `iss`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_response_iss_parameter_supported: Option<bool>,
    /// OpenID Connect Back-Channel Logout 1.0: logout tokens are sent to clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_supported: Option<bool>,
    /// OpenID Connect Back-Channel Logout 1.0: logout tokens carry `sid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_session_supported: Option<bool>,
    /// A page for developers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_documentation: Option<String>,
}

impl AuthorizationServerMetadata {
    /// Metadata naming only the issuer and its token endpoint; `response_types_supported`
    /// empty.
    pub fn new(issuer: impl Into<String>, token_endpoint: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            token_endpoint: Some(token_endpoint.into()),
            ..Self::default()
        }
    }
}

/// Body of `POST /oauth2/token` (RFC 6749 section 4.1.3, 6, 4.4, 4.3; a form, names exact as
/// appendix B has them). Which members a grant needs follows `grant_type`; the client
/// authenticates in HTTP Basic or with `client_id` and `client_secret` here (never both), or
/// with a `client_assertion` (RFC 7523). An empty value counts as absent.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenRequest {
    /// `authorization_code`, `refresh_token`, `client_credentials` or `password` ([`GrantType`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_type: Option<String>,
    /// The authorization code (`authorization_code`; a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The `redirect_uri` of the authorization request (`authorization_code`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// The PKCE code verifier (`authorization_code`, when the request had a `code_challenge`;
    /// a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_verifier: Option<String>,
    /// The refresh token (`refresh_token`; a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The user name (`password`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The password (`password`; a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Space-separated scopes; a refresh may narrow, not widen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The client, when not in HTTP Basic (a public client sends only this).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The client's secret, when not in HTTP Basic (a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer` with `client_assertion`
    /// (`private_key_jwt`, RFC 7523 section 2.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_assertion_type: Option<String>,
    /// The client's signed JWT (a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_assertion: Option<String>,
    /// The device code of `urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 section
    /// 3.4; a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_code: Option<String>,
    /// RFC 8693: the token exchanged (a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_token: Option<String>,
    /// RFC 8693: `urn:ietf:params:oauth:token-type:access_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_token_type: Option<String>,
    /// RFC 8693: the acting party's token, for a delegation (a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_token: Option<String>,
    /// RFC 8693: `urn:ietf:params:oauth:token-type:access_token` with `actor_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_token_type: Option<String>,
    /// RFC 8693: the audience of the token asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// RFC 8693 / RFC 8707: the resource of the token asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// RFC 8693: `urn:ietf:params:oauth:token-type:access_token` (the only type issued).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_token_type: Option<String>,
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRequest")
            .field("grant_type", &self.grant_type)
            .field("code", &RedactedOpt::of(&self.code))
            .field("redirect_uri", &self.redirect_uri)
            .field("code_verifier", &RedactedOpt::of(&self.code_verifier))
            .field("refresh_token", &RedactedOpt::of(&self.refresh_token))
            .field("username", &self.username)
            .field("password", &RedactedOpt::of(&self.password))
            .field("scope", &self.scope)
            .field("client_id", &self.client_id)
            .field("client_secret", &RedactedOpt::of(&self.client_secret))
            .field("client_assertion_type", &self.client_assertion_type)
            .field("client_assertion", &RedactedOpt::of(&self.client_assertion))
            .field("device_code", &RedactedOpt::of(&self.device_code))
            .field("subject_token", &RedactedOpt::of(&self.subject_token))
            .field("subject_token_type", &self.subject_token_type)
            .field("actor_token", &RedactedOpt::of(&self.actor_token))
            .field("actor_token_type", &self.actor_token_type)
            .field("audience", &self.audience)
            .field("resource", &self.resource)
            .field("requested_token_type", &self.requested_token_type)
            .finish()
    }
}

/// Reads request parameters as RFC 6749 section 3.1 asks of every endpoint: `slot` names the
/// field of a parameter (`None`: not one of the request's, ignored); a parameter's first
/// value is kept. Returns the first name seen more than once (such a request is refused).
///
/// ```
/// use gatehouse_models::oauth::read_parameters;
/// let mut state: Option<String> = None;
/// let repeated = read_parameters(
///     &mut state,
///     [("state".to_owned(), "a".to_owned()), ("state".to_owned(), "b".to_owned())],
///     |s, name| (name == "state").then_some(s),
/// );
/// assert_eq!((state.as_deref(), repeated.as_deref()), (Some("a"), Some("state")));
/// ```
pub fn read_parameters<Q>(
    request: &mut Q,
    pairs: impl IntoIterator<Item = (String, String)>,
    slot: for<'q> fn(&'q mut Q, &str) -> Option<&'q mut Option<String>>,
) -> Option<String> {
    let mut repeated = None;
    for (name, value) in pairs {
        match slot(request, &name) {
            Some(field @ None) => *field = Some(value),
            Some(Some(_)) => {
                repeated.get_or_insert(name);
            }
            None => {}
        }
    }
    repeated
}

/// The parameters of an authorization request (RFC 6749 section 4.1.1, RFC 7636 section
/// 4.3, OpenID Connect Core section 3.1.2.1): the query of `GET /oauth2/authorize`, the form
/// of `POST /oauth2/par`, and what the login and consent forms carry. Each parameter at most
/// once ([`AuthorizationQuery::repeated`] names the first that is not); unknown parameters
/// are ignored (section 3.1); an empty value is sent as it came (the checks treat it as
/// absent).
///
/// ```
/// use gatehouse_models::oauth::AuthorizationQuery;
/// let q = AuthorizationQuery::from_pairs([
///     ("response_type".to_owned(), "code".to_owned()),
///     ("client_id".to_owned(), "app".to_owned()),
///     ("client_id".to_owned(), "other".to_owned()),
///     ("utm_source".to_owned(), "ignored".to_owned()),
/// ]);
/// assert_eq!(q.client_id.as_deref(), Some("app"));
/// assert_eq!(q.repeated(), Some("client_id"));
/// ```
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthorizationQuery {
    /// `code` (the only response type).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_type: Option<String>,
    /// The client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// One of the client's registered redirect URIs, compared as exact strings (required by
    /// Gatehouse).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// Space-separated scopes within the client's; the client's whole scope when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Opaque value echoed to the redirect URI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// PKCE (RFC 7636): base64url of the SHA-256 of the code verifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_challenge: Option<String>,
    /// `S256` (the only method).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_challenge_method: Option<String>,
    /// OpenID Connect: `login`, `none` or `consent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// OAuth 2.0 Multiple Response Types: only `query`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_mode: Option<String>,
    /// OpenID Connect: bound to the code and echoed in the id_token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// RFC 9449 section 10: the SHA-256 thumbprint of the DPoP key the code is bound to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
    /// RFC 9126: the pushed request to use instead of the other parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_uri: Option<String>,
    #[serde(skip)]
    repeated: Option<String>,
}

impl AuthorizationQuery {
    /// The parameters among `pairs` (decoded names and values, in order: a query string or a
    /// form body). A parameter's first value is kept; the first name seen twice is
    /// [`AuthorizationQuery::repeated`].
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut q = Self::default();
        q.repeated = read_parameters(&mut q, pairs, |q, name| match name {
            "response_type" => Some(&mut q.response_type),
            "client_id" => Some(&mut q.client_id),
            "redirect_uri" => Some(&mut q.redirect_uri),
            "scope" => Some(&mut q.scope),
            "state" => Some(&mut q.state),
            "code_challenge" => Some(&mut q.code_challenge),
            "code_challenge_method" => Some(&mut q.code_challenge_method),
            "prompt" => Some(&mut q.prompt),
            "response_mode" => Some(&mut q.response_mode),
            "nonce" => Some(&mut q.nonce),
            "dpop_jkt" => Some(&mut q.dpop_jkt),
            "request_uri" => Some(&mut q.request_uri),
            _ => None,
        });
        q
    }

    /// The first parameter that appeared more than once (RFC 6749 section 3.1 forbids it).
    pub fn repeated(&self) -> Option<&str> {
        self.repeated.as_deref()
    }
}

impl fmt::Debug for AuthorizationQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationQuery")
            .field("response_type", &self.response_type)
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("scope", &self.scope)
            .field("state", &RedactedOpt::of(&self.state))
            .field("code_challenge", &RedactedOpt::of(&self.code_challenge))
            .field("code_challenge_method", &self.code_challenge_method)
            .field("prompt", &self.prompt)
            .field("response_mode", &self.response_mode)
            .field("nonce", &RedactedOpt::of(&self.nonce))
            .field("request_uri", &RedactedOpt::of(&self.request_uri))
            .field("repeated", &self.repeated)
            .finish()
    }
}

/// The answer of `POST /oauth2/par` (RFC 9126 section 2.2), with status 201.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedAuthorizationResponse {
    /// `urn:ietf:params:oauth:request_uri:…`: the browser takes it to `/oauth2/authorize`
    /// with the `client_id`; single use.
    pub request_uri: String,
    /// Seconds it stays usable.
    pub expires_in: i64,
}

/// The answer of `/oauth2/userinfo` (OpenID Connect Core 5.3.2): the claims of the token's
/// user that its scopes release; absent members are omitted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// The user's stable id (a UUID).
    pub sub: String,
    /// The user name (scope `profile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// The display name, when set (scope `profile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The address, when set (scope `email`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the address is verified (scope `email`, with `email`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

/// The OpenID Connect Discovery 1.0 document (`/.well-known/openid-configuration`): the same
/// document as RFC 8414's, from one source; its OpenID members are set only for an OpenID
/// provider.
pub type OpenIdProviderMetadata = AuthorizationServerMetadata;

/// The RFC 6749 section 5.1 answer of a token endpoint (`/oauth2/token`): `refresh_token`,
/// `scope` and the OpenID Connect `id_token` only when there is one (absent, never null).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The access token (a secret).
    pub access_token: String,
    /// `Bearer`, or `DPoP` for a token bound to the request's DPoP proof key (RFC 9449).
    pub token_type: String,
    /// Seconds until the access token expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
    /// The refresh token, when the grant issues one (a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The granted scope, when it is not empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The OpenID Connect id_token of a code exchange with `openid` (a signed JWT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// RFC 8693 section 2.2.1: the type of the token issued, token exchange only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<String>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &Redacted)
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &RedactedOpt::of(&self.refresh_token))
            .field("scope", &self.scope)
            .field("id_token", &RedactedOpt::of(&self.id_token))
            .field("issued_token_type", &self.issued_token_type)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes() {
        let all = [
            (ErrorCode::InvalidRequest, "invalid_request"),
            (ErrorCode::InvalidClient, "invalid_client"),
            (ErrorCode::InvalidGrant, "invalid_grant"),
            (ErrorCode::UnauthorizedClient, "unauthorized_client"),
            (ErrorCode::UnsupportedGrantType, "unsupported_grant_type"),
            (ErrorCode::InvalidScope, "invalid_scope"),
            (ErrorCode::UnsupportedTokenType, "unsupported_token_type"),
            (ErrorCode::AccessDenied, "access_denied"),
            (ErrorCode::ServerError, "server_error"),
            (ErrorCode::TemporarilyUnavailable, "temporarily_unavailable"),
            (ErrorCode::Other("slow_down".into()), "slow_down"),
        ];
        for (code, text) in all {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
        }
        assert_eq!(
            ErrorCode::parse("Invalid_Grant"),
            ErrorCode::Other("Invalid_Grant".into())
        );
    }

    #[test]
    fn error_response_shapes() {
        let e = ErrorResponse::new(
            ErrorCode::InvalidGrant,
            "The user name or password is incorrect.",
        );
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"error":"invalid_grant","error_description":"The user name or password is incorrect."}"#
        );
        assert_eq!(
            serde_json::to_string(&ErrorResponse::bare(ErrorCode::UnsupportedGrantType)).unwrap(),
            r#"{"error":"unsupported_grant_type"}"#
        );
        let back: ErrorResponse =
            serde_json::from_str(r#"{"error":"invalid_client","error_description":null}"#).unwrap();
        assert_eq!(back, ErrorResponse::bare(ErrorCode::InvalidClient));
    }

    #[test]
    fn introspection_shapes() {
        assert_eq!(
            serde_json::to_string(&IntrospectionResponse::inactive()).unwrap(),
            r#"{"active":false}"#
        );
        let live = IntrospectionResponse {
            scope: Some("openid profile".into()),
            client_id: Some("demo-client".into()),
            exp: Some(1_700_000_000),
            ..IntrospectionResponse::new_active()
        };
        let json = serde_json::to_string(&live).unwrap();
        assert_eq!(
            json,
            r#"{"active":true,"scope":"openid profile","client_id":"demo-client","exp":1700000000}"#
        );
        assert_eq!(
            serde_json::from_str::<IntrospectionResponse>(&json).unwrap(),
            live
        );

        let req: IntrospectionRequest =
            serde_json::from_str(r#"{"token":"t0ken","token_type_hint":"refresh_token"}"#).unwrap();
        assert_eq!(req.token_type_hint.as_deref(), Some("refresh_token"));
        assert_eq!(
            serde_json::to_string(&IntrospectionRequest::new("t")).unwrap(),
            r#"{"token":"t"}"#
        );
        let text = format!("{req:?}");
        assert!(
            !text.contains("t0ken") && text.contains("<redacted>"),
            "{text}"
        );
    }

    #[test]
    fn revocation_shapes() {
        let req = RevocationRequest {
            client_secret: Some("s3cret".into()),
            ..RevocationRequest::new("t0ken")
        };
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"token":"t0ken","client_secret":"s3cret"}"#
        );
        let text = format!("{req:?}");
        assert!(
            !text.contains("t0ken") && !text.contains("s3cret"),
            "{text}"
        );
        assert!(text.ends_with(".. }"));
    }

    #[test]
    fn metadata_shape() {
        let m = AuthorizationServerMetadata {
            introspection_endpoint: Some("https://a.example/oauth2/introspect".into()),
            grant_types_supported: Some(vec!["password".into()]),
            ..AuthorizationServerMetadata::new("https://a.example", "https://a.example/token")
        };
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"issuer":"https://a.example","token_endpoint":"https://a.example/token","introspection_endpoint":"https://a.example/oauth2/introspect","response_types_supported":[],"grant_types_supported":["password"]}"#
        );
    }
}
