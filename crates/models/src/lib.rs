//! Wire types of the five legacy ASP.NET Web API token dialects that Gatehouse speaks, and the
//! .NET value types they need.
//!
//! Every type serializes with plain `serde_json` to the JSON that Json.NET wrote (key order,
//! names, nulls, value formats). The XML that DataContractSerializer wrote needs a little more
//! than serde's data model carries; see [`Contract`] and [`xml_hint`], which the
//! `gatehouse-codec` crate reads.
//!
//! | module | dialect | endpoints |
//! |---|---|---|
//! | [`onetime`] | broker single sign-on, `App.Auth.Models`, camelCase JSON | `POST /oauth2/onetime/token`, `/oauth2/onetime/authorize` |
//! | [`otc`] | operator back office, `SaG.OTC.API.Models.*`, Header/Body envelope | `POST /admin/login/auth_code`, `/admin/login/token` |
//! | [`member`] | `AuEAuth_WebAPI.Models`, .NET `TimeSpan`/`DateTime` | `POST /api/Token` |
//! | [`v1`] | `IO.Swagger.Models`, Keycloak-style | `POST /api/v1/auth/token` |
//! | [`katana`] | `Yindo.DAL.Types`, OWIN OAuth server | `POST /token` |
//! | [`oauth`] | RFC 6749 token request, answer and errors, RFC 7662, RFC 7009, RFC 9126, RFC 8414 and OpenID Connect discovery, userinfo (JSON only) | `/oauth2/token`, `/oauth2/introspect`, `/oauth2/revoke`, `/oauth2/par`, `/oauth2/userinfo`, `/.well-known/*` |
//! | [`http_error`] | Web API's `HttpError` | errors of onetime and member |
//! | [`routes`] | every route: methods, path, error family | all of them |
//! | [`dotnet`] | `DateTime`, `TimeSpan` (and `Guid` = [`uuid::Uuid`]) | |
//!
//! Conventions: request types have public `Option` fields (Web API bound missing members to
//! null) and deserialize with every member optional; response types write nulls, except the
//! RFC bodies of [`oauth`], which omit absent members. Fields holding passwords, secrets,
//! tokens or codes print as `"<redacted>"` in `Debug`. With the `proptest` feature,
//! the `strategies` module generates any value of every model.
//!
//! # Examples
//!
//! Each builds a response and compares it with the seed sample of its dialect, pretty-printing
//! removed.
//!
//! onetime (seed 000):
//! ```
//! use gatehouse_models::onetime::OneTimeTokenResponse;
//! let body = OneTimeTokenResponse::new("sample string 1");
//! assert_eq!(serde_json::to_string(&body).unwrap(), r#"{"code":"sample string 1"}"#);
//! ```
//!
//! otc (seed 001):
//! ```
//! use gatehouse_models::otc::{AuthCodeResponse, ResponseStatus};
//! let body = AuthCodeResponse::ok("2j4ksda234kjsafdsaf14sfsdag1==");
//! assert_eq!(
//!     serde_json::to_string(&body).unwrap(),
//!     r#"{"Header":{"Message":"","StatusCode":0,"Status":"Ok","ErrorId":null},"Body":{"AuthCode":"2j4ksda234kjsafdsaf14sfsdag1=="}}"#
//! );
//! let failed = AuthCodeResponse::error(ResponseStatus::InvalidClient, "Invalid client.", "8f2c");
//! assert_eq!(
//!     serde_json::to_string(&failed).unwrap(),
//!     r#"{"Header":{"Message":"Invalid client.","StatusCode":2,"Status":"InvalidClient","ErrorId":"8f2c"},"Body":null}"#
//! );
//! ```
//!
//! member (seed 002), with the .NET value types:
//! ```
//! use gatehouse_models::dotnet::{DateTime, TimeSpan};
//! use gatehouse_models::member::TokenModel;
//! use time::macros::{datetime, offset};
//!
//! let expiry = datetime!(2025-05-04 07:27:27.2699792 UTC);
//! let body = TokenModel {
//!     user_name: "sample string 1".into(),
//!     token: "sample string 2".into(),
//!     expire_in: TimeSpan::from_ticks(1_234_567),
//!     expire_time: DateTime::local(expiry, offset!(+10)).unwrap(),
//!     query_all: true,
//!     df_visible: true,
//!     id_member: 7,
//!     id_sub_account: 8,
//!     expire_time_utc: DateTime::utc(expiry).unwrap(),
//! };
//! assert_eq!(
//!     serde_json::to_string(&body).unwrap(),
//!     r#"{"UserName":"sample string 1","Token":"sample string 2","ExpireIn":"00:00:00.1234567","ExpireTime":"2025-05-04T17:27:27.2699792+10:00","QueryAll":true,"DFVisible":true,"id_Member":7,"id_SubAccount":8,"ExpireTimeUTC":"2025-05-04T07:27:27.2699792Z"}"#
//! );
//! // The token never shows in debug output.
//! assert!(!format!("{body:?}").contains("sample string 2"));
//! ```
//!
//! v1 (seed 003):
//! ```
//! use gatehouse_models::v1::AccessTokenResponse;
//! let body = AccessTokenResponse {
//!     redirect_url: Some("sample string 2".into()),
//!     ip: Some("sample string 3".into()),
//!     is_editor: true,
//!     refresh_expires_in: 1,
//!     refresh_token: Some("sample string 5".into()),
//!     token_type: "sample string 6".into(),
//!     not_before_policy: 1,
//!     session_state: Some("sample string 7".into()),
//!     scope: Some("sample string 8".into()),
//!     ..AccessTokenResponse::new("sample string 1", 1)
//! };
//! assert_eq!(
//!     serde_json::to_string(&body).unwrap(),
//!     r#"{"access_token":"sample string 1","expires_in":1,"redirect_url":"sample string 2","ip":"sample string 3","is_editor":true,"refresh_expires_in":1,"refresh_token":"sample string 5","token_type":"sample string 6","not_before_policy":1,"session_state":"sample string 7","scope":"sample string 8"}"#
//! );
//! ```
//!
//! katana (seed 004):
//! ```
//! use gatehouse_models::katana::OAuthToken;
//! let body = OAuthToken {
//!     token_type: "sample string 2".into(),
//!     ..OAuthToken::new(
//!         "sample string 1",
//!         3,
//!         "sample string 4",
//!         "sample string 5",
//!         "sample string 6",
//!         Some("sample string 7".into()),
//!     )
//! };
//! assert_eq!(
//!     serde_json::to_string(&body).unwrap(),
//!     r#"{"access_token":"sample string 1","token_type":"sample string 2","expires_in":3,"userName":"sample string 4","userID":"sample string 5","sessionKey":"sample string 6","clientKey":"sample string 7"}"#
//! );
//! ```
//!
//! The shared RFC bodies and Web API's error:
//! ```
//! use gatehouse_models::http_error::HttpError;
//! use gatehouse_models::oauth::{ErrorCode, ErrorResponse, IntrospectionResponse};
//! assert_eq!(
//!     serde_json::to_string(&IntrospectionResponse::inactive()).unwrap(),
//!     r#"{"active":false}"#
//! );
//! let e = ErrorResponse::new(ErrorCode::InvalidGrant, "The user name or password is incorrect.");
//! assert_eq!(
//!     serde_json::to_string(&e).unwrap(),
//!     r#"{"error":"invalid_grant","error_description":"The user name or password is incorrect."}"#
//! );
//! let e = HttpError::new("Authorization has been denied for this request.");
//! assert_eq!(
//!     serde_json::to_string(&e).unwrap(),
//!     r#"{"Message":"Authorization has been denied for this request."}"#
//! );
//! ```
#![deny(missing_docs)]

use std::fmt;

pub mod dotnet;
pub mod http_error;
pub mod katana;
pub mod member;
pub mod oauth;
pub mod onetime;
pub mod otc;
pub mod routes;
#[cfg(any(test, feature = "proptest"))]
pub mod strategies;
pub mod v1;

mod redact;

/// The error of this crate: a value whose text form is not valid.
///
/// The reason is a fixed sentence; the offending text itself is not repeated (it may be huge
/// or hostile).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A .NET `DateTime` text is malformed or out of range.
    InvalidDateTime(&'static str),
    /// A .NET `TimeSpan` text (`c` format or xs:duration) is malformed or out of range.
    InvalidTimeSpan(&'static str),
    /// An enum value is neither one of its integers nor one of its names.
    InvalidEnum {
        /// The CLR name of the enum, `ResponseStatus`.
        enum_name: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidDateTime(reason) => write!(f, "invalid DateTime: {reason}"),
            Self::InvalidTimeSpan(reason) => write!(f, "invalid TimeSpan: {reason}"),
            Self::InvalidEnum { enum_name } => {
                write!(
                    f,
                    "not a {enum_name} value: expected one of its integers or names"
                )
            }
        }
    }
}

impl std::error::Error for Error {}

/// What an XML serializer needs to know about a data contract beyond its serde shape.
///
/// Member order in XML is not the declaration order: DataContractSerializer sorts members by
/// ordinal string comparison of their names, which the encoder does from the serde field names.
pub trait Contract {
    /// Root element name, the CLR type name (`TokenModel`).
    const XML_ROOT: &'static str;
    /// Default namespace of the root, `http://schemas.datacontract.org/2004/07/` plus the CLR
    /// namespace. Empty for types written without a namespace (Web API's `<Error>`).
    const XML_NAMESPACE: &'static str;
    /// JSON-only members: get-only CLR properties, which Json.NET wrote and
    /// DataContractSerializer did not (e.g. `TokenModel.ExpireTimeUTC`). Serde field names.
    const XML_OMIT: &'static [&'static str] = &[];
    /// The JSON names are the camelCased CLR names (the dialect used Json.NET's
    /// `CamelCasePropertyNamesContractResolver`); the XML name is the JSON name with its first
    /// letter upper-cased.
    const JSON_CAMEL_CASE: bool = false;
    /// Members Json.NET never read (`[JsonIgnore]` in the CLR model) although XML and forms
    /// bind them: the JSON reader skips them, whatever their case. Serde field names.
    const JSON_IGNORE: &'static [&'static str] = &[];
    /// Members the CLR model marked `[Required]` (CLR names, as Web API's `ModelState` keys
    /// show them). Web API added "The X field is required." for each one still missing after
    /// the formatter's own errors; the codec reports them beside those errors.
    const REQUIRED: &'static [&'static str] = &[];
}

/// Newtype-struct names through which a value tells an XML serializer that its XML text
/// differs from its JSON form. Serializers that do not know them (such as `serde_json`)
/// serialize the inner value, which is the JSON form.
pub mod xml_hint {
    /// `serialize_newtype_struct(TIME_SPAN, &c_format_string)`: the XML text is the
    /// xs:duration of the same `TimeSpan` (the encoder parses the `c` form back).
    pub const TIME_SPAN: &str = "$gatehouse::TimeSpan";
    /// `serialize_newtype_struct("$gatehouse::enum::<Name>", &integer)`: the XML text is
    /// `<Name>`, the JSON form is the integer. Enums build the full name as a `&'static str`
    /// per variant.
    pub const ENUM_PREFIX: &str = "$gatehouse::enum::";
}

#[cfg(test)]
mod tests {
    use super::*;

    const DC: &str = "http://schemas.datacontract.org/2004/07/";

    fn root<T: Contract>() -> (&'static str, &'static str) {
        (T::XML_ROOT, T::XML_NAMESPACE)
    }

    /// Root names and namespaces are those of the seed XML samples (and of the product's
    /// error rules, `tests/it/errors.rs`, for the new endpoints).
    #[test]
    fn contracts_name_their_roots() {
        let ns = |clr: &str| format!("{DC}{clr}");
        let cases: Vec<((&str, &str), &str, String)> = vec![
            (
                root::<onetime::OneTimeTokenRequest>(),
                "OneTimeTokenRequest",
                ns("App.Auth.Models"),
            ),
            (
                root::<onetime::OneTimeTokenResponse>(),
                "OneTimeTokenResponse",
                ns("App.Auth.Models"),
            ),
            (
                root::<onetime::OneTimeAuthorizeRequest>(),
                "OneTimeAuthorizeRequest",
                ns("App.Auth.Models"),
            ),
            (
                root::<onetime::OneTimeAuthorizeResponse>(),
                "OneTimeAuthorizeResponse",
                ns("App.Auth.Models"),
            ),
            (
                root::<otc::AuthCodeRequest>(),
                "AuthCodeRequest",
                ns("SaG.OTC.API.Models.Requests"),
            ),
            (
                root::<otc::TokenRequest>(),
                "TokenRequest",
                ns("SaG.OTC.API.Models.Requests"),
            ),
            (
                root::<otc::AuthCodeResponse>(),
                "AuthCodeResponse",
                ns("SaG.OTC.API.Models.Responses"),
            ),
            (
                root::<otc::TokenResponse>(),
                "TokenResponse",
                ns("SaG.OTC.API.Models.Responses"),
            ),
            (
                root::<member::AuthMemberModel>(),
                "AuthMemberModel",
                ns("AuEAuth_WebAPI.Models"),
            ),
            (
                root::<member::TokenModel>(),
                "TokenModel",
                ns("AuEAuth_WebAPI.Models"),
            ),
            (
                root::<v1::TokenRequest>(),
                "TokenRequest",
                ns("IO.Swagger.Models"),
            ),
            (
                root::<v1::AccessTokenResponse>(),
                "AccessTokenResponse",
                ns("IO.Swagger.Models"),
            ),
            (
                root::<katana::OAuthRequest>(),
                "OAuthRequest",
                ns("Yindo.DAL.Types"),
            ),
            (
                root::<katana::OAuthToken>(),
                "OAuthToken",
                ns("Yindo.DAL.Types"),
            ),
            (root::<http_error::HttpError>(), "Error", String::new()),
        ];
        for ((got_root, got_ns), want_root, want_ns) in cases {
            assert_eq!((got_root, got_ns), (want_root, want_ns.as_str()));
        }
        let camel = [
            onetime::OneTimeTokenRequest::JSON_CAMEL_CASE,
            onetime::OneTimeTokenResponse::JSON_CAMEL_CASE,
            onetime::OneTimeAuthorizeRequest::JSON_CAMEL_CASE,
            onetime::OneTimeAuthorizeResponse::JSON_CAMEL_CASE,
            member::TokenModel::JSON_CAMEL_CASE,
            otc::AuthCodeResponse::JSON_CAMEL_CASE,
        ];
        assert_eq!(camel, [true, true, true, true, false, false]);
    }

    /// `XML_OMIT` names real JSON members.
    #[test]
    fn xml_omit_names_serde_fields() {
        let model: member::TokenModel = serde_json::from_str(
            r#"{"UserName":"u","Token":"t","ExpireIn":"00:00:01","ExpireTime":"2025-05-04T17:27:27+10:00","QueryAll":true,"DFVisible":false,"id_Member":7,"id_SubAccount":0,"ExpireTimeUTC":"2025-05-04T07:27:27Z"}"#,
        )
        .unwrap();
        let json = serde_json::to_value(&model).unwrap();
        for name in member::TokenModel::XML_OMIT {
            assert!(json.get(name).is_some(), "{name}");
        }
        let error = http_error::HttpError::invalid_model("k", "v");
        let json = serde_json::to_value(&error).unwrap();
        for name in http_error::HttpError::XML_OMIT {
            assert!(json.get(name).is_some(), "{name}");
        }
    }

    #[test]
    fn error_messages_name_the_problem() {
        assert_eq!(
            Error::InvalidTimeSpan("hours out of range (0..=23)").to_string(),
            "invalid TimeSpan: hours out of range (0..=23)"
        );
        assert_eq!(
            Error::InvalidEnum {
                enum_name: "ResponseStatus"
            }
            .to_string(),
            "not a ResponseStatus value: expected one of its integers or names"
        );
    }
}

/// The README's examples, compiled and run as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
