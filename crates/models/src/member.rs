//! The member dialect (`AuEAuth_WebAPI.Models`): `POST /api/Token` trades a member id and
//! password for a token with its lifetime and expiry times.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::dotnet::{DateTime, TimeSpan};
use crate::redact::{Redacted, RedactedOpt};
use crate::Contract;

/// XML namespace of every contract of this dialect.
pub const XML_NAMESPACE: &str = "http://schemas.datacontract.org/2004/07/AuEAuth_WebAPI.Models";

/// Body of `POST /api/Token` (seed 002).
///
/// `SubAccount` is in the legacy XML sample but not in its JSON sample nor in the help table:
/// the CLR property was `[JsonIgnore]`, so Json.NET never bound it while DataContractSerializer
/// and the form binders did. Gatehouse does the same ([`Contract::JSON_IGNORE`]): a JSON
/// client that sends it logs into the member's default sub-account, as it always did. When
/// serializing, it is written only when set, so a request without it is byte-identical to the
/// seed's JSON.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthMemberModel {
    /// Member Id (usually 4~5 numbers).
    /// Additional information: Required.
    #[serde(rename = "MemberId")]
    pub member_id: Option<String>,
    /// Member Login Password (a secret).
    /// Additional information: Required.
    #[serde(rename = "Password")]
    pub password: Option<String>,
    /// Optional sub-account of the member, which selects `id_SubAccount`.
    #[serde(rename = "SubAccount", skip_serializing_if = "Option::is_none")]
    pub sub_account: Option<String>,
}

impl AuthMemberModel {
    /// A request for `member_id` with `password` and no sub-account.
    pub fn new(member_id: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            member_id: Some(member_id.into()),
            password: Some(password.into()),
            sub_account: None,
        }
    }
}

impl fmt::Debug for AuthMemberModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthMemberModel")
            .field("member_id", &self.member_id)
            .field("password", &RedactedOpt::of(&self.password))
            .field("sub_account", &self.sub_account)
            .finish_non_exhaustive()
    }
}

impl Contract for AuthMemberModel {
    const XML_ROOT: &'static str = "AuthMemberModel";
    const XML_NAMESPACE: &'static str = XML_NAMESPACE;
    const JSON_IGNORE: &'static [&'static str] = &["SubAccount"];
}

/// Response of `POST /api/Token`: a token and its expiry (seed 002).
///
/// `ExpireTimeUTC` was a get-only property: Json.NET wrote it, DataContractSerializer did not,
/// hence [`Contract::XML_OMIT`]. Reading a `TokenModel` without it (from XML) computes it from
/// `ExpireTime`, as the .NET getter did.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "TokenModelIn")]
pub struct TokenModel {
    /// User name used to obtain this token.
    #[serde(rename = "UserName")]
    pub user_name: String,
    /// API or User login Token (a secret).
    #[serde(rename = "Token")]
    pub token: String,
    /// Token Valid time span.
    #[serde(rename = "ExpireIn")]
    pub expire_in: TimeSpan,
    /// Token Expire Time, as local time in the service's display offset (`+10:00`).
    #[serde(rename = "ExpireTime")]
    pub expire_time: DateTime,
    /// Query all order track permitted.
    #[serde(rename = "QueryAll")]
    pub query_all: bool,
    /// DF Visible.
    #[serde(rename = "DFVisible")]
    pub df_visible: bool,
    /// Internal numeric id of the member.
    #[serde(rename = "id_Member")]
    pub id_member: i32,
    /// Internal numeric id of the selected sub-account; 0 when there is none (a legacy `int`:
    /// null would break strongly typed clients).
    #[serde(rename = "id_SubAccount")]
    pub id_sub_account: i32,
    /// Token Expire Time Universal: the expiry in UTC.
    #[serde(rename = "ExpireTimeUTC")]
    pub expire_time_utc: DateTime,
}

/// What a reader of `TokenModel` accepts: `ExpireTimeUTC` may be absent.
#[derive(Deserialize)]
struct TokenModelIn {
    #[serde(rename = "UserName")]
    user_name: String,
    #[serde(rename = "Token")]
    token: String,
    #[serde(rename = "ExpireIn")]
    expire_in: TimeSpan,
    #[serde(rename = "ExpireTime")]
    expire_time: DateTime,
    #[serde(rename = "QueryAll")]
    query_all: bool,
    #[serde(rename = "DFVisible")]
    df_visible: bool,
    #[serde(rename = "id_Member")]
    id_member: i32,
    #[serde(rename = "id_SubAccount")]
    id_sub_account: i32,
    #[serde(rename = "ExpireTimeUTC", default)]
    expire_time_utc: Option<DateTime>,
}

impl TryFrom<TokenModelIn> for TokenModel {
    type Error = crate::Error;

    fn try_from(m: TokenModelIn) -> Result<Self, Self::Error> {
        let expire_time_utc = match m.expire_time_utc {
            Some(utc) => utc,
            None => m
                .expire_time
                .to_offset_date_time()
                .ok_or(crate::Error::InvalidDateTime(
                    "ExpireTimeUTC is absent and ExpireTime has no offset to derive it from",
                ))
                .and_then(DateTime::utc)?,
        };
        Ok(Self {
            user_name: m.user_name,
            token: m.token,
            expire_in: m.expire_in,
            expire_time: m.expire_time,
            query_all: m.query_all,
            df_visible: m.df_visible,
            id_member: m.id_member,
            id_sub_account: m.id_sub_account,
            expire_time_utc,
        })
    }
}

impl fmt::Debug for TokenModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenModel")
            .field("user_name", &self.user_name)
            .field("token", &Redacted)
            .field("expire_in", &self.expire_in)
            .field("expire_time", &self.expire_time)
            .field("query_all", &self.query_all)
            .field("df_visible", &self.df_visible)
            .field("id_member", &self.id_member)
            .field("id_sub_account", &self.id_sub_account)
            .field("expire_time_utc", &self.expire_time_utc)
            .finish_non_exhaustive()
    }
}

impl Contract for TokenModel {
    const XML_ROOT: &'static str = "TokenModel";
    const XML_NAMESPACE: &'static str = XML_NAMESPACE;
    const XML_OMIT: &'static [&'static str] = &["ExpireTimeUTC"];
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTH_MEMBER: &str = r#"{"MemberId":"sample string 1","Password":"sample string 2"}"#;
    const TOKEN_MODEL: &str = r#"{"UserName":"sample string 1","Token":"sample string 2","ExpireIn":"00:00:00.1234567","ExpireTime":"2025-05-04T17:27:27.2699792+10:00","QueryAll":true,"DFVisible":true,"id_Member":7,"id_SubAccount":8,"ExpireTimeUTC":"2025-05-04T07:27:27.2699792Z"}"#;

    #[test]
    fn seed_samples_round_trip() {
        let req: AuthMemberModel = serde_json::from_str(AUTH_MEMBER).unwrap();
        assert_eq!(
            req,
            AuthMemberModel::new("sample string 1", "sample string 2")
        );
        assert_eq!(serde_json::to_string(&req).unwrap(), AUTH_MEMBER);

        let resp: TokenModel = serde_json::from_str(TOKEN_MODEL).unwrap();
        assert_eq!(resp.expire_in, TimeSpan::from_ticks(1_234_567));
        assert_eq!(
            resp.expire_time.to_offset_date_time(),
            resp.expire_time_utc.to_offset_date_time()
        );
        assert_eq!(serde_json::to_string(&resp).unwrap(), TOKEN_MODEL);
    }

    #[test]
    fn sub_account_is_read_and_written_when_set() {
        let req: AuthMemberModel =
            serde_json::from_str(r#"{"MemberId":"1234","Password":"p","SubAccount":"8"}"#).unwrap();
        assert_eq!(req.sub_account.as_deref(), Some("8"));
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"MemberId":"1234","Password":"p","SubAccount":"8"}"#
        );
    }

    #[test]
    fn debug_hides_secrets() {
        let resp: TokenModel = serde_json::from_str(TOKEN_MODEL).unwrap();
        let req = AuthMemberModel::new("1234", "passw0rd");
        for text in [format!("{resp:?}"), format!("{req:?}")] {
            assert!(
                !text.contains("sample string 2") && !text.contains("passw0rd"),
                "{text}"
            );
            assert!(text.contains("<redacted>"), "{text}");
        }
    }
}
