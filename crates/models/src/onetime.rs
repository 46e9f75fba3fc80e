//! The broker single-sign-on dialect (`App.Auth.Models`): `POST /oauth2/onetime/token` issues a
//! one-time code for a user, `POST /oauth2/onetime/authorize` (new) redeems it once.
//!
//! JSON names are camelCase (the service used Json.NET's camel-case resolver); XML names are
//! the PascalCase CLR names, which [`Contract::JSON_CAMEL_CASE`] tells the XML codec.
//! Dictionary keys of `payload` are written verbatim: Json.NET's camel-case resolver would
//! also have camel-cased them (`"Sample string 1"` to `"sample string 1"`), but Gatehouse does
//! not rewrite user data.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::redact::{Redacted, RedactedOpt};
use crate::Contract;

/// XML namespace of every contract of this dialect.
pub const XML_NAMESPACE: &str = "http://schemas.datacontract.org/2004/07/App.Auth.Models";

/// Body of `POST /oauth2/onetime/token` (seed 000).
///
/// Every member may be missing or null (Web API bound missing members to null); `clientId` is
/// required by the endpoint, which reports its absence.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OneTimeTokenRequest {
    /// The client that will redeem the code.
    /// Additional information: Required.
    #[serde(rename = "clientId")]
    pub client_id: Option<String>,
    /// The broker of the trading account.
    #[serde(rename = "brokerId")]
    pub broker_id: Option<Uuid>,
    /// The user the code is for; must be the caller when a user calls with a bearer token.
    #[serde(rename = "userName")]
    pub user_name: Option<String>,
    /// The trading account the code is for.
    #[serde(rename = "tradingAccount")]
    pub trading_account: Option<String>,
    /// The trading server of the account.
    #[serde(rename = "server")]
    pub server: Option<String>,
    /// Free key/value data kept with the code and returned when it is redeemed.
    #[serde(rename = "payload")]
    pub payload: Option<BTreeMap<String, String>>,
}

impl OneTimeTokenRequest {
    /// A request for `client_id` with every other member null.
    pub fn new(client_id: impl Into<String>) -> Self {
        Self {
            client_id: Some(client_id.into()),
            ..Self::default()
        }
    }
}

impl Contract for OneTimeTokenRequest {
    const XML_ROOT: &'static str = "OneTimeTokenRequest";
    const XML_NAMESPACE: &'static str = XML_NAMESPACE;
    const JSON_CAMEL_CASE: bool = true;
    const REQUIRED: &'static [&'static str] = &["ClientId"];
}

/// Response of `POST /oauth2/onetime/token`: the one-time code.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneTimeTokenResponse {
    /// The one-time code: single use, short-lived (a secret).
    #[serde(rename = "code")]
    pub code: String,
}

impl OneTimeTokenResponse {
    /// A response carrying `code`.
    pub fn new(code: impl Into<String>) -> Self {
        Self { code: code.into() }
    }
}

impl fmt::Debug for OneTimeTokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneTimeTokenResponse")
            .field("code", &Redacted)
            .finish_non_exhaustive()
    }
}

impl Contract for OneTimeTokenResponse {
    const XML_ROOT: &'static str = "OneTimeTokenResponse";
    const XML_NAMESPACE: &'static str = XML_NAMESPACE;
    const JSON_CAMEL_CASE: bool = true;
}

/// Body of `POST /oauth2/onetime/authorize` (new): the client named in the token request
/// redeems the code. The client may authenticate with HTTP Basic instead of
/// `clientId`/`clientSecret`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OneTimeAuthorizeRequest {
    /// The one-time code from `oauth2/onetime/token` (a secret).
    /// Additional information: Required.
    #[serde(rename = "code")]
    pub code: Option<String>,
    /// The redeeming client (or HTTP Basic).
    #[serde(rename = "clientId")]
    pub client_id: Option<String>,
    /// The redeeming client's secret (a secret).
    #[serde(rename = "clientSecret")]
    pub client_secret: Option<String>,
}

impl OneTimeAuthorizeRequest {
    /// A request redeeming `code` for the client `client_id` with `client_secret`.
    pub fn new(
        code: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self {
            code: Some(code.into()),
            client_id: Some(client_id.into()),
            client_secret: Some(client_secret.into()),
        }
    }
}

impl fmt::Debug for OneTimeAuthorizeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneTimeAuthorizeRequest")
            .field("code", &RedactedOpt::of(&self.code))
            .field("client_id", &self.client_id)
            .field("client_secret", &RedactedOpt::of(&self.client_secret))
            .finish_non_exhaustive()
    }
}

impl Contract for OneTimeAuthorizeRequest {
    const XML_ROOT: &'static str = "OneTimeAuthorizeRequest";
    const XML_NAMESPACE: &'static str = XML_NAMESPACE;
    const JSON_CAMEL_CASE: bool = true;
}

/// Response of `POST /oauth2/onetime/authorize` (new): who the code was for, its payload, and
/// a fresh access token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneTimeAuthorizeResponse {
    /// The user's GUID.
    #[serde(rename = "userId")]
    pub user_id: Uuid,
    /// The user's name.
    #[serde(rename = "userName")]
    pub user_name: String,
    /// The broker, when the code named a trading account.
    #[serde(rename = "brokerId")]
    pub broker_id: Option<Uuid>,
    /// The trading account, when the code named one.
    #[serde(rename = "tradingAccount")]
    pub trading_account: Option<String>,
    /// The trading server, when the code named one.
    #[serde(rename = "server")]
    pub server: Option<String>,
    /// The payload given when the code was issued (empty when none was).
    #[serde(rename = "payload")]
    pub payload: BTreeMap<String, String>,
    /// A new access token for the user (a secret).
    #[serde(rename = "accessToken")]
    pub access_token: String,
    /// `Bearer`.
    #[serde(rename = "tokenType")]
    pub token_type: String,
    /// Lifetime of the access token in whole seconds.
    #[serde(rename = "expiresIn")]
    pub expires_in: i64,
}

impl OneTimeAuthorizeResponse {
    /// A response for the user `user_id`/`user_name` with a `Bearer` token; no broker,
    /// trading account, server or payload (set the public fields to add them).
    pub fn new(
        user_id: Uuid,
        user_name: impl Into<String>,
        access_token: impl Into<String>,
        expires_in: i64,
    ) -> Self {
        Self {
            user_id,
            user_name: user_name.into(),
            broker_id: None,
            trading_account: None,
            server: None,
            payload: BTreeMap::new(),
            access_token: access_token.into(),
            token_type: "Bearer".to_owned(),
            expires_in,
        }
    }
}

impl fmt::Debug for OneTimeAuthorizeResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneTimeAuthorizeResponse")
            .field("user_id", &self.user_id)
            .field("user_name", &self.user_name)
            .field("broker_id", &self.broker_id)
            .field("trading_account", &self.trading_account)
            .field("server", &self.server)
            .field("payload", &self.payload)
            .field("access_token", &Redacted)
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

impl Contract for OneTimeAuthorizeResponse {
    const XML_ROOT: &'static str = "OneTimeAuthorizeResponse";
    const XML_NAMESPACE: &'static str = XML_NAMESPACE;
    const JSON_CAMEL_CASE: bool = true;
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN_REQUEST: &str = r#"{"clientId":"sample string 1","brokerId":"3be9edf1-5491-4d5c-a5c6-423218dfb6cc","userName":"sample string 3","tradingAccount":"sample string 4","server":"sample string 5","payload":{"sample string 1":"sample string 2","sample string 3":"sample string 4"}}"#;
    const TOKEN_RESPONSE: &str = r#"{"code":"sample string 1"}"#;

    #[test]
    fn seed_samples_round_trip() {
        let req: OneTimeTokenRequest = serde_json::from_str(TOKEN_REQUEST).unwrap();
        assert_eq!(req.client_id.as_deref(), Some("sample string 1"));
        assert_eq!(
            req.broker_id,
            Some(Uuid::from_u128(0x3be9edf1_5491_4d5c_a5c6_423218dfb6cc))
        );
        assert_eq!(req.payload.as_ref().map(BTreeMap::len), Some(2));
        assert_eq!(serde_json::to_string(&req).unwrap(), TOKEN_REQUEST);

        let resp: OneTimeTokenResponse = serde_json::from_str(TOKEN_RESPONSE).unwrap();
        assert_eq!(resp, OneTimeTokenResponse::new("sample string 1"));
        assert_eq!(serde_json::to_string(&resp).unwrap(), TOKEN_RESPONSE);
    }

    #[test]
    fn missing_members_are_null() {
        let req: OneTimeTokenRequest = serde_json::from_str(r#"{"clientId":"c"}"#).unwrap();
        assert_eq!(req, OneTimeTokenRequest::new("c"));
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"clientId":"c","brokerId":null,"userName":null,"tradingAccount":null,"server":null,"payload":null}"#
        );
    }

    #[test]
    fn authorize_shapes() {
        let resp = OneTimeAuthorizeResponse::new(Uuid::nil(), "alice", "tok", 1200);
        assert_eq!(
            serde_json::to_string(&resp).unwrap(),
            r#"{"userId":"00000000-0000-0000-0000-000000000000","userName":"alice","brokerId":null,"tradingAccount":null,"server":null,"payload":{},"accessToken":"tok","tokenType":"Bearer","expiresIn":1200}"#
        );
        let req: OneTimeAuthorizeRequest = serde_json::from_str(
            r#"{"code":"c0de","clientId":"demo-client","clientSecret":"s3cret"}"#,
        )
        .unwrap();
        assert_eq!(
            req,
            OneTimeAuthorizeRequest::new("c0de", "demo-client", "s3cret")
        );
    }

    #[test]
    fn debug_hides_secrets() {
        let req = OneTimeAuthorizeRequest::new("c0de", "demo-client", "s3cret");
        let resp = OneTimeAuthorizeResponse::new(Uuid::nil(), "alice", "t0ken", 1);
        let code = OneTimeTokenResponse::new("c0de");
        for text in [format!("{req:?}"), format!("{resp:?}"), format!("{code:?}")] {
            assert!(!text.contains("c0de") && !text.contains("s3cret") && !text.contains("t0ken"));
            assert!(
                text.contains("<redacted>") && text.ends_with(".. }"),
                "{text}"
            );
        }
        assert!(format!("{:?}", OneTimeAuthorizeRequest::default()).contains("code: None"));
    }
}
