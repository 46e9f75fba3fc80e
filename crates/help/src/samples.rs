//! Sample bodies, written by the real codec from sample values of the model types (the
//! values are the legacy pages' where a seed document has them). Nothing here is a
//! hand-written body: JSON and XML are `gatehouse_codec::encode` output re-indented
//! ([`crate::pretty`]), `text/javascript` is the codec's compact JSON, form bodies are derived
//! from the codec's JSON ([`crate::form`]) and read back by the codec in the tests.

use std::collections::BTreeMap;

use gatehouse_codec::{self as codec, ResponseFormat};
use gatehouse_models::dotnet::{DateTime, TimeSpan};
use gatehouse_models::http_error::HttpError;
use gatehouse_models::oauth::{
    AuthorizationServerMetadata, ErrorCode, ErrorResponse, IntrospectionRequest,
    IntrospectionResponse, PushedAuthorizationResponse, RevocationRequest, TokenRequest,
    TokenResponse, UserInfo,
};
use gatehouse_models::otc::ResponseStatus;
use gatehouse_models::{katana, member, onetime, otc, v1, Contract};
use serde::Serialize;
use time::macros::{datetime, offset};
use uuid::Uuid;

use crate::json::J;

/// A media type group as the legacy pages listed them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    /// `application/json, text/json`
    Json,
    /// `text/javascript` (katana's `/token` reads it as JSON)
    JavaScript,
    /// `application/xml, text/xml`
    Xml,
    /// `application/x-www-form-urlencoded`
    Form,
}

impl Media {
    /// The heading on the page.
    pub fn label(self) -> &'static str {
        match self {
            Media::Json => "application/json, text/json",
            Media::JavaScript => "text/javascript",
            Media::Xml => "application/xml, text/xml",
            Media::Form => "application/x-www-form-urlencoded",
        }
    }

    /// The media types of the group (OpenAPI `content` keys).
    pub fn types(self) -> &'static [&'static str] {
        match self {
            Media::Json => &["application/json", "text/json"],
            Media::JavaScript => &["text/javascript"],
            Media::Xml => &["application/xml", "text/xml"],
            Media::Form => &["application/x-www-form-urlencoded"],
        }
    }

    /// A short id for anchors (`json`, `xml`, …).
    pub fn slug(self) -> &'static str {
        match self {
            Media::Json => "json",
            Media::JavaScript => "javascript",
            Media::Xml => "xml",
            Media::Form => "form",
        }
    }
}

/// One sample block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// Its media type group.
    pub media: Media,
    /// The body, or `None`: "Sample not available." (the legacy wording).
    pub body: Option<String>,
}

/// The legacy wording for a media type without a sample.
pub const NOT_AVAILABLE: &str = "Sample not available.";

fn encoded<T: Serialize + Contract>(format: ResponseFormat, v: &T) -> String {
    let bytes = codec::encode(format, v).unwrap_or_else(|e| panic!("sample encodes: {e}"));
    String::from_utf8(bytes).unwrap_or_else(|e| panic!("codec writes UTF-8: {e}"))
}

fn encoded_json<T: Serialize>(v: &T) -> String {
    let bytes = codec::encode_json(v).unwrap_or_else(|e| panic!("sample encodes: {e}"));
    String::from_utf8(bytes).unwrap_or_else(|e| panic!("codec writes UTF-8: {e}"))
}

/// `application/json, text/json`: the codec's JSON, indented.
pub fn json<T: Serialize + Contract>(v: &T) -> Sample {
    Sample {
        media: Media::Json,
        body: Some(crate::pretty::json(&encoded(ResponseFormat::Json, v))),
    }
}

/// `application/json` of a JSON-only (RFC) type.
pub fn rfc_json<T: Serialize>(v: &T) -> Sample {
    Sample {
        media: Media::Json,
        body: Some(crate::pretty::json(&encoded_json(v))),
    }
}

/// `text/javascript`: the codec's compact JSON.
pub fn javascript<T: Serialize + Contract>(v: &T) -> Sample {
    Sample {
        media: Media::JavaScript,
        body: Some(encoded(ResponseFormat::Json, v)),
    }
}

/// `application/xml, text/xml`: the codec's XML, indented.
pub fn xml<T: Serialize + Contract>(v: &T) -> Sample {
    Sample {
        media: Media::Xml,
        body: Some(crate::pretty::xml(&encoded(ResponseFormat::Xml, v))),
    }
}

/// `application/x-www-form-urlencoded`, from the codec's JSON.
pub fn form<T: Serialize>(v: &T) -> Sample {
    let j: J = serde_json::from_str(&encoded_json(v)).unwrap_or_else(|e| panic!("{e}"));
    Sample {
        media: Media::Form,
        body: Some(crate::form::from_json(&j).unwrap_or_else(|| panic!("flat model"))),
    }
}

/// "Sample not available." for `media`.
pub fn none(media: Media) -> Sample {
    Sample { media, body: None }
}

// ----- the sample values --------------------------------------------------------------

/// The GUID of the legacy onetime sample.
pub const BROKER: Uuid = Uuid::from_u128(0x3be9edf1_5491_4d5c_a5c6_423218dfb6cc);
/// A user GUID for samples.
pub const USER: Uuid = Uuid::from_u128(0x9f2b6c1e_0d4a_4c55_8a73_2e51c0b7d4a8);

fn payload() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("sample string 1".to_owned(), "sample string 2".to_owned()),
        ("sample string 3".to_owned(), "sample string 4".to_owned()),
    ])
}

/// Seed 000.
pub fn onetime_token_request() -> onetime::OneTimeTokenRequest {
    onetime::OneTimeTokenRequest {
        client_id: Some("sample string 1".into()),
        broker_id: Some(BROKER),
        user_name: Some("sample string 3".into()),
        trading_account: Some("sample string 4".into()),
        server: Some("sample string 5".into()),
        payload: Some(payload()),
    }
}

/// Seed 000.
pub fn onetime_token_response() -> onetime::OneTimeTokenResponse {
    onetime::OneTimeTokenResponse::new("sample string 1")
}

/// `POST /oauth2/onetime/authorize`.
pub fn onetime_authorize_request() -> onetime::OneTimeAuthorizeRequest {
    onetime::OneTimeAuthorizeRequest::new("sample string 1", "sample string 2", "sample string 3")
}

/// `POST /oauth2/onetime/authorize`.
pub fn onetime_authorize_response() -> onetime::OneTimeAuthorizeResponse {
    onetime::OneTimeAuthorizeResponse {
        broker_id: Some(BROKER),
        trading_account: Some("sample string 4".into()),
        server: Some("sample string 5".into()),
        payload: payload(),
        ..onetime::OneTimeAuthorizeResponse::new(USER, "sample string 2", "sample string 7", 1200)
    }
}

const OTC_CLIENT: &str = "o7p7zumt2qa5xfybvhepeyexg26ijdua";
const OTC_SECRET: &str = "aWw2ZnJ4ZGR3YWN1MDdobzZyc2llbng2d3Ayc29nZTc=";
const OTC_CODE: &str = "2j4ksda234kjsafdsaf14sfsdag1==";

/// Seed 001 (JSON and XML).
pub fn otc_auth_code_request() -> otc::AuthCodeRequest {
    otc::AuthCodeRequest::new(OTC_CLIENT, OTC_SECRET, "user", "password")
}

/// Seed 001's form sample used other user name and password values.
pub fn otc_auth_code_form() -> otc::AuthCodeRequest {
    otc::AuthCodeRequest::new(OTC_CLIENT, OTC_SECRET, "your-user-name", "your-password")
}

/// Seed 001.
pub fn otc_auth_code_response() -> otc::AuthCodeResponse {
    otc::AuthCodeResponse::ok(OTC_CODE)
}

/// `POST /admin/login/token`.
pub fn otc_token_request() -> otc::TokenRequest {
    otc::TokenRequest::new(OTC_CLIENT, OTC_SECRET, OTC_CODE)
}

/// `POST /admin/login/token`.
pub fn otc_token_response() -> otc::TokenResponse {
    otc::TokenResponse::ok("sample string 1", 1200)
}

/// Seed 002 (JSON): the legacy JSON contract had no `SubAccount`.
pub fn member_request() -> member::AuthMemberModel {
    member::AuthMemberModel::new("sample string 1", "sample string 2")
}

/// Seed 002 (XML): the legacy XML sample carried `SubAccount`.
pub fn member_request_xml() -> member::AuthMemberModel {
    member::AuthMemberModel {
        sub_account: Some("sample string 3".into()),
        ..member_request()
    }
}

/// Seed 002.
pub fn member_response() -> member::TokenModel {
    let expiry = datetime!(2025-05-04 07:27:27.2699792 UTC);
    member::TokenModel {
        user_name: "sample string 1".into(),
        token: "sample string 2".into(),
        expire_in: TimeSpan::from_ticks(1_234_567),
        expire_time: DateTime::local(expiry, offset!(+10)).unwrap_or_else(|e| panic!("{e}")),
        query_all: true,
        df_visible: true,
        id_member: 7,
        id_sub_account: 8,
        expire_time_utc: DateTime::utc(expiry).unwrap_or_else(|e| panic!("{e}")),
    }
}

/// Seed 003.
pub fn v1_request() -> v1::TokenRequest {
    v1::TokenRequest {
        windows_authentication: Some(true),
        client_id: Some("sample string 2".into()),
        client_secret: Some("sample string 3".into()),
        scope: Some("sample string 4".into()),
        username: Some("sample string 5".into()),
        password: Some("sample string 6".into()),
        grant_type: Some("sample string 7".into()),
        refresh_token: Some("sample string 8".into()),
        code: None,
    }
}

/// Seed 003.
pub fn v1_response() -> v1::AccessTokenResponse {
    v1::AccessTokenResponse {
        redirect_url: Some("sample string 2".into()),
        ip: Some("sample string 3".into()),
        is_editor: true,
        refresh_expires_in: 1,
        refresh_token: Some("sample string 5".into()),
        token_type: "sample string 6".into(),
        not_before_policy: 1,
        session_state: Some("sample string 7".into()),
        scope: Some("sample string 8".into()),
        ..v1::AccessTokenResponse::new("sample string 1", 1)
    }
}

/// Seed 004.
pub fn katana_request() -> katana::OAuthRequest {
    katana::OAuthRequest {
        grant_type: Some("sample string 1".into()),
        user_name: Some("sample string 2".into()),
        password: Some("sample string 3".into()),
        client_key: Some("sample string 4".into()),
        client_id: None,
        client_secret: None,
    }
}

/// Seed 004's form sample: every member `value`.
pub fn katana_form() -> katana::OAuthRequest {
    katana::OAuthRequest {
        grant_type: Some("value".into()),
        user_name: Some("value".into()),
        password: Some("value".into()),
        client_key: Some("value".into()),
        client_id: None,
        client_secret: None,
    }
}

/// Seed 004.
pub fn katana_response() -> katana::OAuthToken {
    katana::OAuthToken {
        token_type: "sample string 2".into(),
        ..katana::OAuthToken::new(
            "sample string 1",
            3,
            "sample string 4",
            "sample string 5",
            "sample string 6",
            Some("sample string 7".into()),
        )
    }
}

/// `POST /oauth2/introspect` (client credentials in HTTP Basic).
pub fn introspection_request() -> IntrospectionRequest {
    IntrospectionRequest {
        token_type_hint: Some("access_token".into()),
        ..IntrospectionRequest::new("sample string 1")
    }
}

/// `POST /oauth2/introspect`: an active access token.
pub fn introspection_response() -> IntrospectionResponse {
    let mut r = IntrospectionResponse::new_active();
    r.scope = Some("api".into());
    r.client_id = Some("demo-client".into());
    r.username = Some("alice".into());
    r.token_type = Some("Bearer".into());
    r.exp = Some(1_746_343_647);
    r.iat = Some(1_746_342_447);
    r.sub = Some(USER.to_string());
    r.sid = Some(BROKER.to_string());
    r
}

/// `POST /oauth2/revoke`.
pub fn revocation_request() -> RevocationRequest {
    RevocationRequest {
        token_type_hint: Some("refresh_token".into()),
        ..RevocationRequest::new("sample string 1")
    }
}

// ----- error bodies -------------------------------------------------------------------

/// Web API's `HttpError` (onetime, member): a refusal and a model-state error.
pub fn web_api_errors(required: &str) -> Vec<(&'static str, HttpError)> {
    vec![
        (
            "401: no or a bad caller",
            HttpError::new("Authorization has been denied for this request."),
        ),
        (
            "400: a required member is missing",
            HttpError::invalid_model(
                format!("request.{required}"),
                format!("The {required} field is required."),
            ),
        ),
    ]
}

/// Web API's `HttpError` as the server writes it (`gatehouse_codec::encode_http_error`: the
/// onetime dialect camel-cases its JSON, XML carries `ModelState`), in JSON and XML.
pub fn http_error(e: &HttpError, camel: bool) -> [Sample; 2] {
    let write = |format| {
        let bytes = codec::encode_http_error(format, e, camel)
            .unwrap_or_else(|err| panic!("sample encodes: {err}"));
        String::from_utf8(bytes).unwrap_or_else(|err| panic!("codec writes UTF-8: {err}"))
    };
    [
        Sample {
            media: Media::Json,
            body: Some(crate::pretty::json(&write(ResponseFormat::Json))),
        },
        Sample {
            media: Media::Xml,
            body: Some(crate::pretty::xml(&write(ResponseFormat::Xml))),
        },
    ]
}

/// Samples of the otc error envelope in JSON and XML.
pub fn otc_error_samples(token: bool) -> Vec<Sample> {
    let id = "0f8fad5bd9cb469fa16570867728950e";
    if token {
        let v = otc::TokenResponse::error(
            ResponseStatus::InvalidCode,
            "The authorization code is invalid or expired.",
            id,
        );
        vec![json(&v), xml(&v)]
    } else {
        let v = otc::AuthCodeResponse::error(
            ResponseStatus::InvalidCredentials,
            "The user name or password is incorrect.",
            id,
        );
        vec![json(&v), xml(&v)]
    }
}

/// RFC 6749 section 5.2 error bodies.
pub fn oauth_error(katana: bool) -> ErrorResponse {
    if katana {
        ErrorResponse::new(
            ErrorCode::InvalidGrant,
            "The user name or password is incorrect.",
        )
    } else {
        ErrorResponse::new(ErrorCode::InvalidClient, "Client authentication failed.")
    }
}

/// Form and JSON samples of a parameter list (the examples of [`crate::endpoints::Param`]):
/// the JSON is the codec's, the form derived from it like every other form sample.
pub fn params(params: &[crate::endpoints::Param]) -> Vec<Sample> {
    let mut j = J::obj();
    for p in params.iter().filter(|p| !p.example.is_empty()) {
        j.put(p.name, p.example);
    }
    vec![form(&j), rfc_json(&j)]
}

/// `POST /oauth2/token`: a code exchange with PKCE.
pub fn token_request() -> TokenRequest {
    TokenRequest {
        grant_type: Some("authorization_code".into()),
        code: Some("SplxlOBeZQQYbYS6WxSbIA".into()),
        redirect_uri: Some("https://app.example/callback".into()),
        code_verifier: Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into()),
        ..TokenRequest::default()
    }
}

/// `POST /oauth2/token`: the answer of a code exchange with `openid`.
pub fn token_response() -> TokenResponse {
    TokenResponse {
        access_token: "sample access token".into(),
        token_type: "Bearer".into(),
        expires_in: Some(1200),
        refresh_token: Some("sample refresh token".into()),
        scope: Some("openid profile".into()),
        id_token: Some("eyJhbGciOiJSUzI1NiIsImtpZCI6InNhbXBsZSJ9.e30.c2FtcGxl".into()),
        issued_token_type: None,
    }
}

/// `GET /oauth2/userinfo`: the claims of `openid profile email`.
pub fn userinfo() -> UserInfo {
    UserInfo {
        sub: USER.to_string(),
        preferred_username: Some("alice".into()),
        name: Some("Alice Example".into()),
        email: Some("alice@example.com".into()),
        email_verified: Some(true),
    }
}

/// The discovery documents of an OpenID provider at `https://id.example`.
pub fn metadata() -> AuthorizationServerMetadata {
    let at = |path: &str| Some(format!("https://id.example{path}"));
    let list = |items: &[&str]| Some(items.iter().map(|s| (*s).to_owned()).collect());
    AuthorizationServerMetadata {
        issuer: "https://id.example".into(),
        authorization_endpoint: at("/oauth2/authorize"),
        token_endpoint: at("/oauth2/token"),
        userinfo_endpoint: at("/oauth2/userinfo"),
        jwks_uri: at("/oauth2/jwks"),
        introspection_endpoint: at("/oauth2/introspect"),
        revocation_endpoint: at("/oauth2/revoke"),
        end_session_endpoint: at("/oauth2/logout"),
        scopes_supported: list(&["openid", "profile"]),
        response_types_supported: vec!["code".into()],
        response_modes_supported: list(&["query"]),
        grant_types_supported: list(&[
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "password",
        ]),
        subject_types_supported: list(&["public"]),
        id_token_signing_alg_values_supported: list(&["RS256"]),
        code_challenge_methods_supported: list(&["S256"]),
        token_endpoint_auth_methods_supported: list(&[
            "client_secret_basic",
            "client_secret_post",
            "none",
        ]),
        authorization_response_iss_parameter_supported: Some(true),
        ..AuthorizationServerMetadata::default()
    }
}

/// `POST /oauth2/par`: a pushed request's reference.
pub fn par_response() -> PushedAuthorizationResponse {
    PushedAuthorizationResponse {
        request_uri: "urn:ietf:params:oauth:request_uri:bwc4JK-ESC0w8acc191e-Y1LTC2".into(),
        expires_in: 60,
    }
}
