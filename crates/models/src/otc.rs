//! The operator back-office dialect (`SaG.OTC.API`): `POST /admin/login/auth_code` issues an
//! authorization code to a client for an operator, `POST /admin/login/token` (new) exchanges
//! it for an access token.
//!
//! Requests live in `SaG.OTC.API.Models.Requests`, responses in `SaG.OTC.API.Models.Responses`.
//! Every response, success or failure, is the [`ResponseHeader`] + `Body` envelope; `Body` is
//! null on failure.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::redact::{Redacted, RedactedOpt};
use crate::{Contract, Error};

/// XML namespace of the request contracts.
pub const REQUESTS_NAMESPACE: &str =
    "http://schemas.datacontract.org/2004/07/SaG.OTC.API.Models.Requests";
/// XML namespace of the response contracts.
pub const RESPONSES_NAMESPACE: &str =
    "http://schemas.datacontract.org/2004/07/SaG.OTC.API.Models.Responses";

/// Body of `POST /admin/login/auth_code` (seed 001).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthCodeRequest {
    /// API client consumer id
    /// Additional information: Required.
    #[serde(rename = "ClientId")]
    pub client_id: Option<String>,
    /// API client consumer secret (a secret)
    /// Additional information: Required.
    #[serde(rename = "ClientSecret")]
    pub client_secret: Option<String>,
    /// Operator Username
    /// Additional information: Required.
    #[serde(rename = "Username")]
    pub username: Option<String>,
    /// Operator Password (a secret)
    /// Additional information: Required.
    #[serde(rename = "Password")]
    pub password: Option<String>,
}

impl AuthCodeRequest {
    /// A request with every member set.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        Self {
            client_id: Some(client_id.into()),
            client_secret: Some(client_secret.into()),
            username: Some(username.into()),
            password: Some(password.into()),
        }
    }
}

impl fmt::Debug for AuthCodeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthCodeRequest")
            .field("client_id", &self.client_id)
            .field("client_secret", &RedactedOpt::of(&self.client_secret))
            .field("username", &self.username)
            .field("password", &RedactedOpt::of(&self.password))
            .finish_non_exhaustive()
    }
}

impl Contract for AuthCodeRequest {
    const XML_ROOT: &'static str = "AuthCodeRequest";
    const XML_NAMESPACE: &'static str = REQUESTS_NAMESPACE;
    const REQUIRED: &'static [&'static str] = &["ClientId", "ClientSecret", "Username", "Password"];
}

/// Body of `POST /admin/login/token` (new): exchange an authorization code for an access
/// token.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenRequest {
    /// API client consumer id; must be the client the code was issued to.
    /// Additional information: Required.
    #[serde(rename = "ClientId")]
    pub client_id: Option<String>,
    /// API client consumer secret (a secret).
    /// Additional information: Required.
    #[serde(rename = "ClientSecret")]
    pub client_secret: Option<String>,
    /// The authorization code from `admin/login/auth_code` (a secret).
    /// Additional information: Required.
    #[serde(rename = "AuthCode")]
    pub auth_code: Option<String>,
}

impl TokenRequest {
    /// A request with every member set.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        auth_code: impl Into<String>,
    ) -> Self {
        Self {
            client_id: Some(client_id.into()),
            client_secret: Some(client_secret.into()),
            auth_code: Some(auth_code.into()),
        }
    }
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRequest")
            .field("client_id", &self.client_id)
            .field("client_secret", &RedactedOpt::of(&self.client_secret))
            .field("auth_code", &RedactedOpt::of(&self.auth_code))
            .finish_non_exhaustive()
    }
}

impl Contract for TokenRequest {
    const XML_ROOT: &'static str = "TokenRequest";
    const XML_NAMESPACE: &'static str = REQUESTS_NAMESPACE;
}

/// Outcome of an otc call, `Header.StatusCode`: the integer in JSON, the member name in XML.
///
/// Only `Ok = 0` comes from the legacy service; the other members are Gatehouse's, one per
/// distinct failure a caller can act on. `Header.Status` carries [`ResponseStatus::name`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(i32)]
pub enum ResponseStatus {
    /// Success (HTTP 200).
    Ok = 0,
    /// The body is malformed or a required member is missing (HTTP 400).
    InvalidRequest = 1,
    /// Unknown client, wrong client secret, or a client not allowed this grant (HTTP 401).
    InvalidClient = 2,
    /// Wrong user name or password; the message never says which (HTTP 401).
    InvalidCredentials = 3,
    /// The user is authenticated but not allowed here, e.g. not an operator, or disabled
    /// (HTTP 403).
    Forbidden = 4,
    /// The authorization code is unknown, expired, already used, or issued to another client
    /// (HTTP 400).
    InvalidCode = 5,
    /// The Content-Type is not one Gatehouse reads (HTTP 415).
    UnsupportedMediaType = 6,
    /// The body is larger than the limit (HTTP 413).
    PayloadTooLarge = 7,
    /// Too many failed attempts or requests; retry after the `Retry-After` delay (HTTP 429).
    TooManyRequests = 8,
    /// The server is overloaded (password hashing queue full); retry later (HTTP 503).
    ServiceUnavailable = 9,
    /// An unexpected server failure; `ErrorId` identifies it in the server log (HTTP 500).
    InternalError = 10,
}

impl ResponseStatus {
    /// Every member, in integer order.
    pub const ALL: [Self; 11] = [
        Self::Ok,
        Self::InvalidRequest,
        Self::InvalidClient,
        Self::InvalidCredentials,
        Self::Forbidden,
        Self::InvalidCode,
        Self::UnsupportedMediaType,
        Self::PayloadTooLarge,
        Self::TooManyRequests,
        Self::ServiceUnavailable,
        Self::InternalError,
    ];

    /// The member name, as written in XML and in `Header.Status`: `"Ok"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ok => "Ok",
            Self::InvalidRequest => "InvalidRequest",
            Self::InvalidClient => "InvalidClient",
            Self::InvalidCredentials => "InvalidCredentials",
            Self::Forbidden => "Forbidden",
            Self::InvalidCode => "InvalidCode",
            Self::UnsupportedMediaType => "UnsupportedMediaType",
            Self::PayloadTooLarge => "PayloadTooLarge",
            Self::TooManyRequests => "TooManyRequests",
            Self::ServiceUnavailable => "ServiceUnavailable",
            Self::InternalError => "InternalError",
        }
    }

    /// The integer, as written in JSON.
    pub const fn value(self) -> i32 {
        self as i32
    }

    /// The HTTP status Gatehouse answers with for this outcome.
    pub const fn http_status(self) -> u16 {
        match self {
            Self::Ok => 200,
            Self::InvalidRequest | Self::InvalidCode => 400,
            Self::InvalidClient | Self::InvalidCredentials => 401,
            Self::Forbidden => 403,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::TooManyRequests => 429,
            Self::InternalError => 500,
            Self::ServiceUnavailable => 503,
        }
    }

    /// The member with this integer.
    pub fn from_value(value: i64) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| i64::from(s.value()) == value)
    }

    /// The member with this name, compared case-insensitively (as Json.NET did).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }

    /// The `xml_hint` newtype name, `$gatehouse::enum::<Name>`.
    const fn hint(self) -> &'static str {
        match self {
            Self::Ok => "$gatehouse::enum::Ok",
            Self::InvalidRequest => "$gatehouse::enum::InvalidRequest",
            Self::InvalidClient => "$gatehouse::enum::InvalidClient",
            Self::InvalidCredentials => "$gatehouse::enum::InvalidCredentials",
            Self::Forbidden => "$gatehouse::enum::Forbidden",
            Self::InvalidCode => "$gatehouse::enum::InvalidCode",
            Self::UnsupportedMediaType => "$gatehouse::enum::UnsupportedMediaType",
            Self::PayloadTooLarge => "$gatehouse::enum::PayloadTooLarge",
            Self::TooManyRequests => "$gatehouse::enum::TooManyRequests",
            Self::ServiceUnavailable => "$gatehouse::enum::ServiceUnavailable",
            Self::InternalError => "$gatehouse::enum::InternalError",
        }
    }
}

impl fmt::Display for ResponseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ResponseStatus {
    type Err = Error;

    /// A name (case-insensitive) or an integer.
    fn from_str(s: &str) -> Result<Self, Error> {
        let t = s.trim();
        t.parse::<i64>()
            .ok()
            .and_then(Self::from_value)
            .or_else(|| Self::from_name(t))
            .ok_or(Error::InvalidEnum {
                enum_name: "ResponseStatus",
            })
    }
}

impl Serialize for ResponseStatus {
    /// `serialize_newtype_struct("$gatehouse::enum::<Name>", &integer)`: the integer for
    /// JSON, the name for the XML encoder (see [`crate::xml_hint::ENUM_PREFIX`]).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(self.hint(), &self.value())
    }
}

impl<'de> Deserialize<'de> for ResponseStatus {
    /// From an integer, or from a string holding an integer or a name (case-insensitive).
    /// Integers that are not members are errors.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ResponseStatus;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a ResponseStatus integer (0..=10) or name")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ResponseStatus, E> {
                ResponseStatus::from_value(v).ok_or_else(|| {
                    E::custom(Error::InvalidEnum {
                        enum_name: "ResponseStatus",
                    })
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ResponseStatus, E> {
                let v = i64::try_from(v).unwrap_or(i64::MAX);
                self.visit_i64(v)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ResponseStatus, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(
                self,
                deserializer: D,
            ) -> Result<ResponseStatus, D::Error> {
                deserializer.deserialize_any(self)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// `Header` of every otc response.
///
/// JSON order is `Message`, `StatusCode`, `Status`, `ErrorId` (the seed's); XML sorts them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseHeader {
    /// Message: a human sentence; empty on success.
    #[serde(rename = "Message")]
    pub message: String,
    /// Status code: the outcome, an integer in JSON and its name in XML.
    #[serde(rename = "StatusCode")]
    pub status_code: ResponseStatus,
    /// Status: the name of the outcome (`Ok`, `InvalidCredentials`, ...).
    #[serde(rename = "Status")]
    pub status: String,
    /// Error id: on failure, a fresh id that also appears in the server's log line; null on success.
    #[serde(rename = "ErrorId")]
    pub error_id: Option<String>,
}

impl ResponseHeader {
    /// The success header: `Message` `""`, `StatusCode` `Ok`, `Status` `"Ok"`, `ErrorId` null.
    pub fn ok() -> Self {
        Self {
            message: String::new(),
            status_code: ResponseStatus::Ok,
            status: ResponseStatus::Ok.name().to_owned(),
            error_id: None,
        }
    }

    /// A failure header; `Status` is the name of `status`.
    pub fn error(
        status: ResponseStatus,
        message: impl Into<String>,
        error_id: impl Into<String>,
    ) -> Self {
        Self {
            message: message.into(),
            status_code: status,
            status: status.name().to_owned(),
            error_id: Some(error_id.into()),
        }
    }
}

impl Contract for ResponseHeader {
    const XML_ROOT: &'static str = "ResponseHeader";
    const XML_NAMESPACE: &'static str = RESPONSES_NAMESPACE;
}

/// `Body` of a successful [`AuthCodeResponse`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthCodeResponseBody {
    /// Authorization Code, exchange this for an access token (a secret).
    #[serde(rename = "AuthCode")]
    pub auth_code: String,
}

impl fmt::Debug for AuthCodeResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthCodeResponseBody")
            .field("auth_code", &Redacted)
            .finish_non_exhaustive()
    }
}

impl Contract for AuthCodeResponseBody {
    const XML_ROOT: &'static str = "AuthCodeResponseBody";
    const XML_NAMESPACE: &'static str = RESPONSES_NAMESPACE;
}

/// Response of `POST /admin/login/auth_code` (seed 001).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthCodeResponse {
    /// The outcome.
    #[serde(rename = "Header")]
    pub header: ResponseHeader,
    /// The code on success; null on failure.
    #[serde(rename = "Body")]
    pub body: Option<AuthCodeResponseBody>,
}

impl AuthCodeResponse {
    /// A success carrying `auth_code`.
    pub fn ok(auth_code: impl Into<String>) -> Self {
        Self {
            header: ResponseHeader::ok(),
            body: Some(AuthCodeResponseBody {
                auth_code: auth_code.into(),
            }),
        }
    }

    /// A failure: the header of [`ResponseHeader::error`], `Body` null.
    pub fn error(
        status: ResponseStatus,
        message: impl Into<String>,
        error_id: impl Into<String>,
    ) -> Self {
        Self {
            header: ResponseHeader::error(status, message, error_id),
            body: None,
        }
    }
}

impl Contract for AuthCodeResponse {
    const XML_ROOT: &'static str = "AuthCodeResponse";
    const XML_NAMESPACE: &'static str = RESPONSES_NAMESPACE;
}

/// `Body` of a successful [`TokenResponse`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponseBody {
    /// The access token (a secret).
    #[serde(rename = "AccessToken")]
    pub access_token: String,
    /// `Bearer`.
    #[serde(rename = "TokenType")]
    pub token_type: String,
    /// Lifetime of the access token in whole seconds.
    #[serde(rename = "ExpiresIn")]
    pub expires_in: i64,
}

impl fmt::Debug for TokenResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponseBody")
            .field("access_token", &Redacted)
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

impl Contract for TokenResponseBody {
    const XML_ROOT: &'static str = "TokenResponseBody";
    const XML_NAMESPACE: &'static str = RESPONSES_NAMESPACE;
}

/// Response of `POST /admin/login/token` (new), in the same envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The outcome.
    #[serde(rename = "Header")]
    pub header: ResponseHeader,
    /// The token on success; null on failure.
    #[serde(rename = "Body")]
    pub body: Option<TokenResponseBody>,
}

impl TokenResponse {
    /// A success carrying a `Bearer` `access_token` valid `expires_in` seconds.
    pub fn ok(access_token: impl Into<String>, expires_in: i64) -> Self {
        Self {
            header: ResponseHeader::ok(),
            body: Some(TokenResponseBody {
                access_token: access_token.into(),
                token_type: "Bearer".to_owned(),
                expires_in,
            }),
        }
    }

    /// A failure: the header of [`ResponseHeader::error`], `Body` null.
    pub fn error(
        status: ResponseStatus,
        message: impl Into<String>,
        error_id: impl Into<String>,
    ) -> Self {
        Self {
            header: ResponseHeader::error(status, message, error_id),
            body: None,
        }
    }
}

impl Contract for TokenResponse {
    const XML_ROOT: &'static str = "TokenResponse";
    const XML_NAMESPACE: &'static str = RESPONSES_NAMESPACE;
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTH_CODE_REQUEST: &str = r#"{"ClientId":"o7p7zumt2qa5xfybvhepeyexg26ijdua","ClientSecret":"aWw2ZnJ4ZGR3YWN1MDdobzZyc2llbng2d3Ayc29nZTc=","Username":"user","Password":"password"}"#;
    const AUTH_CODE_RESPONSE: &str = r#"{"Header":{"Message":"","StatusCode":0,"Status":"Ok","ErrorId":null},"Body":{"AuthCode":"2j4ksda234kjsafdsaf14sfsdag1=="}}"#;

    #[test]
    fn seed_samples_round_trip() {
        let req: AuthCodeRequest = serde_json::from_str(AUTH_CODE_REQUEST).unwrap();
        assert_eq!(
            req,
            AuthCodeRequest::new(
                "o7p7zumt2qa5xfybvhepeyexg26ijdua",
                "aWw2ZnJ4ZGR3YWN1MDdobzZyc2llbng2d3Ayc29nZTc=",
                "user",
                "password"
            )
        );
        assert_eq!(serde_json::to_string(&req).unwrap(), AUTH_CODE_REQUEST);

        let resp: AuthCodeResponse = serde_json::from_str(AUTH_CODE_RESPONSE).unwrap();
        assert_eq!(resp, AuthCodeResponse::ok("2j4ksda234kjsafdsaf14sfsdag1=="));
        assert_eq!(serde_json::to_string(&resp).unwrap(), AUTH_CODE_RESPONSE);
    }

    #[test]
    fn error_envelope() {
        let resp = AuthCodeResponse::error(
            ResponseStatus::InvalidCredentials,
            "The user name or password is incorrect.",
            "e-1",
        );
        assert_eq!(
            serde_json::to_string(&resp).unwrap(),
            r#"{"Header":{"Message":"The user name or password is incorrect.","StatusCode":3,"Status":"InvalidCredentials","ErrorId":"e-1"},"Body":null}"#
        );
        let tok = TokenResponse::ok("t", 1200);
        assert_eq!(
            serde_json::to_string(&tok).unwrap(),
            r#"{"Header":{"Message":"","StatusCode":0,"Status":"Ok","ErrorId":null},"Body":{"AccessToken":"t","TokenType":"Bearer","ExpiresIn":1200}}"#
        );
        let err = TokenResponse::error(ResponseStatus::InvalidCode, "m", "e");
        assert_eq!(err.body, None);
        assert_eq!(err.header.status, "InvalidCode");
    }

    #[test]
    fn status_reads_integers_and_names() {
        for s in ResponseStatus::ALL {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, s.value().to_string());
            assert_eq!(serde_json::from_str::<ResponseStatus>(&json).unwrap(), s);
            let name = format!("\"{}\"", s.name().to_ascii_lowercase());
            assert_eq!(serde_json::from_str::<ResponseStatus>(&name).unwrap(), s);
            assert_eq!(s.name().parse::<ResponseStatus>().unwrap(), s);
            assert_eq!(s.value().to_string().parse::<ResponseStatus>().unwrap(), s);
        }
        assert_eq!(
            serde_json::from_str::<ResponseStatus>("\"OK\"").unwrap(),
            ResponseStatus::Ok
        );
        assert_eq!(
            serde_json::from_str::<ResponseStatus>("\"3\"").unwrap(),
            ResponseStatus::InvalidCredentials
        );
        for bad in [
            "11",
            "-1",
            "18446744073709551615",
            "\"Nope\"",
            "1.5",
            "null",
            "true",
        ] {
            assert!(
                serde_json::from_str::<ResponseStatus>(bad).is_err(),
                "{bad}"
            );
        }
        assert_eq!(
            "Nope".parse::<ResponseStatus>(),
            Err(Error::InvalidEnum {
                enum_name: "ResponseStatus"
            })
        );
        assert_eq!(ResponseStatus::TooManyRequests.http_status(), 429);
    }

    #[test]
    fn debug_hides_secrets() {
        let texts = [
            format!(
                "{:?}",
                AuthCodeRequest::new("id", "s3cret", "user", "passw0rd")
            ),
            format!("{:?}", TokenRequest::new("id", "s3cret", "c0de")),
            format!("{:?}", AuthCodeResponse::ok("c0de")),
            format!("{:?}", TokenResponse::ok("t0ken", 5)),
        ];
        for text in texts {
            assert!(
                !["s3cret", "passw0rd", "c0de", "t0ken"]
                    .iter()
                    .any(|s| text.contains(s)),
                "{text}"
            );
            assert!(text.contains("<redacted>"), "{text}");
        }
    }
}
