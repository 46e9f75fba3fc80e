//! `proptest` strategies producing any value of every model, for property tests here and in
//! the codec (`features = ["proptest"]`).
//!
//! Strings come from [`text`]: any characters XML 1.0 can carry (so control characters other
//! than tab, line feed and carriage return are left out), with markup characters, whitespace
//! and non-ASCII text favoured. Every other value covers its whole range: any tick count for a
//! [`TimeSpan`], any date of years 1 to 9999 with any fraction and each kind for a
//! [`DateTime`].

use std::collections::BTreeMap;

use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use time::{Date, PrimitiveDateTime, Time, UtcOffset};
use uuid::Uuid;

use crate::dotnet::{DateTime, DateTimeKind, TimeSpan};
use crate::{http_error, katana, member, oauth, onetime, otc, v1};

/// Julian day of 0001-01-01.
const FIRST_DAY: i32 = 1_721_426;
/// Julian day of 9999-12-31.
const LAST_DAY: i32 = 5_373_484;

/// A character XML 1.0 can carry: `#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] |
/// [#x10000-#x10FFFF]`.
pub fn xml_char() -> impl Strategy<Value = char> {
    any::<char>().prop_filter("not an XML 1.0 character", |&c| {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
    })
}

/// A string XML 1.0 can carry, often with characters that need escaping in JSON or XML.
pub fn text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => vec(xml_char(), 0..24).prop_map(String::from_iter),
        2 => "[a-zA-Z0-9 <>&\"'=+/;:\\[\\]{}\\\\\t\r\n\u{85}\u{a0}\u{2028}\u{2029}é中😀]{0,16}",
        1 => Just(String::new()),
    ]
    .boxed()
}

/// An optional [`text`].
pub fn opt_text() -> BoxedStrategy<Option<String>> {
    option::of(text()).boxed()
}

/// Any GUID.
pub fn uuid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

/// A dictionary of [`text`] keys and values, possibly empty.
pub fn dictionary() -> impl Strategy<Value = BTreeMap<String, String>> {
    btree_map(text(), text(), 0..5)
}

/// Any [`TimeSpan`]: the whole tick range, with small spans favoured.
pub fn time_span() -> impl Strategy<Value = TimeSpan> {
    prop_oneof![
        any::<i64>(),
        -1_000_000_000_000i64..1_000_000_000_000,
        Just(0i64),
        Just(i64::MIN),
        Just(i64::MAX),
    ]
    .prop_map(TimeSpan::from_ticks)
}

/// Any [`DateTimeKind`]: UTC, unspecified, or local with a whole-minute offset within ±14:00.
pub fn date_time_kind() -> impl Strategy<Value = DateTimeKind> {
    prop_oneof![
        Just(DateTimeKind::Utc),
        Just(DateTimeKind::Unspecified),
        (-840i32..=840).prop_filter_map("offset", |m| UtcOffset::from_whole_seconds(m * 60)
            .ok()
            .map(DateTimeKind::Local)),
    ]
}

/// Any [`DateTime`] of years 1 to 9999, with 0 to 7 significant fraction digits.
pub fn date_time() -> impl Strategy<Value = DateTime> {
    (
        FIRST_DAY..=LAST_DAY,
        0u8..24,
        0u8..60,
        0u8..60,
        prop_oneof![Just(0u32), 0u32..10_000_000],
        date_time_kind(),
    )
        .prop_filter_map("valid DateTime", |(day, h, m, s, ticks, kind)| {
            let date = Date::from_julian_day(day).ok()?;
            let time = Time::from_hms_nano(h, m, s, ticks * 100).ok()?;
            DateTime::new(PrimitiveDateTime::new(date, time), kind).ok()
        })
}

/// Any [`otc::ResponseStatus`].
pub fn response_status() -> impl Strategy<Value = otc::ResponseStatus> {
    proptest::sample::select(otc::ResponseStatus::ALL.to_vec())
}

/// Any [`onetime::OneTimeTokenRequest`].
pub fn one_time_token_request() -> impl Strategy<Value = onetime::OneTimeTokenRequest> {
    (
        opt_text(),
        option::of(uuid()),
        opt_text(),
        opt_text(),
        opt_text(),
        option::of(dictionary()),
    )
        .prop_map(
            |(client_id, broker_id, user_name, trading_account, server, payload)| {
                onetime::OneTimeTokenRequest {
                    client_id,
                    broker_id,
                    user_name,
                    trading_account,
                    server,
                    payload,
                }
            },
        )
}

/// Any [`onetime::OneTimeTokenResponse`].
pub fn one_time_token_response() -> impl Strategy<Value = onetime::OneTimeTokenResponse> {
    text().prop_map(|code| onetime::OneTimeTokenResponse { code })
}

/// Any [`onetime::OneTimeAuthorizeRequest`].
pub fn one_time_authorize_request() -> impl Strategy<Value = onetime::OneTimeAuthorizeRequest> {
    (opt_text(), opt_text(), opt_text()).prop_map(|(code, client_id, client_secret)| {
        onetime::OneTimeAuthorizeRequest {
            code,
            client_id,
            client_secret,
        }
    })
}

/// Any [`onetime::OneTimeAuthorizeResponse`].
pub fn one_time_authorize_response() -> impl Strategy<Value = onetime::OneTimeAuthorizeResponse> {
    (
        (uuid(), text(), option::of(uuid()), opt_text(), opt_text()),
        (dictionary(), text(), text(), any::<i64>()),
    )
        .prop_map(
            |(
                (user_id, user_name, broker_id, trading_account, server),
                (payload, access_token, token_type, expires_in),
            )| onetime::OneTimeAuthorizeResponse {
                user_id,
                user_name,
                broker_id,
                trading_account,
                server,
                payload,
                access_token,
                token_type,
                expires_in,
            },
        )
}

/// Any [`otc::AuthCodeRequest`].
pub fn auth_code_request() -> impl Strategy<Value = otc::AuthCodeRequest> {
    (opt_text(), opt_text(), opt_text(), opt_text()).prop_map(
        |(client_id, client_secret, username, password)| otc::AuthCodeRequest {
            client_id,
            client_secret,
            username,
            password,
        },
    )
}

/// Any [`otc::TokenRequest`].
pub fn otc_token_request() -> impl Strategy<Value = otc::TokenRequest> {
    (opt_text(), opt_text(), opt_text()).prop_map(|(client_id, client_secret, auth_code)| {
        otc::TokenRequest {
            client_id,
            client_secret,
            auth_code,
        }
    })
}

/// Any [`otc::ResponseHeader`] (its `Status` text is not tied to its `StatusCode`).
pub fn response_header() -> impl Strategy<Value = otc::ResponseHeader> {
    (text(), response_status(), text(), opt_text()).prop_map(
        |(message, status_code, status, error_id)| otc::ResponseHeader {
            message,
            status_code,
            status,
            error_id,
        },
    )
}

/// Any [`otc::AuthCodeResponse`].
pub fn auth_code_response() -> impl Strategy<Value = otc::AuthCodeResponse> {
    (
        response_header(),
        option::of(text().prop_map(|auth_code| otc::AuthCodeResponseBody { auth_code })),
    )
        .prop_map(|(header, body)| otc::AuthCodeResponse { header, body })
}

/// Any [`otc::TokenResponse`].
pub fn otc_token_response() -> impl Strategy<Value = otc::TokenResponse> {
    let body = (text(), text(), any::<i64>()).prop_map(|(access_token, token_type, expires_in)| {
        otc::TokenResponseBody {
            access_token,
            token_type,
            expires_in,
        }
    });
    (response_header(), option::of(body))
        .prop_map(|(header, body)| otc::TokenResponse { header, body })
}

/// Any [`member::AuthMemberModel`].
pub fn auth_member_model() -> impl Strategy<Value = member::AuthMemberModel> {
    (opt_text(), opt_text(), opt_text()).prop_map(|(member_id, password, sub_account)| {
        member::AuthMemberModel {
            member_id,
            password,
            sub_account,
        }
    })
}

/// Any [`member::TokenModel`].
pub fn token_model() -> impl Strategy<Value = member::TokenModel> {
    (
        (text(), text(), time_span(), date_time()),
        (
            any::<bool>(),
            any::<bool>(),
            any::<i32>(),
            any::<i32>(),
            date_time(),
        ),
    )
        .prop_map(
            |(
                (user_name, token, expire_in, expire_time),
                (query_all, df_visible, id_member, id_sub_account, expire_time_utc),
            )| member::TokenModel {
                user_name,
                token,
                expire_in,
                expire_time,
                query_all,
                df_visible,
                id_member,
                id_sub_account,
                expire_time_utc,
            },
        )
}

/// Any [`v1::TokenRequest`].
pub fn v1_token_request() -> impl Strategy<Value = v1::TokenRequest> {
    (
        (
            option::of(any::<bool>()),
            opt_text(),
            opt_text(),
            opt_text(),
        ),
        (opt_text(), opt_text(), opt_text(), opt_text(), opt_text()),
    )
        .prop_map(
            |(
                (windows_authentication, client_id, client_secret, scope),
                (username, password, grant_type, refresh_token, code),
            )| v1::TokenRequest {
                windows_authentication,
                client_id,
                client_secret,
                scope,
                username,
                password,
                grant_type,
                refresh_token,
                code,
            },
        )
}

/// Any [`v1::AccessTokenResponse`].
pub fn access_token_response() -> impl Strategy<Value = v1::AccessTokenResponse> {
    (
        (text(), any::<i64>(), opt_text(), opt_text(), any::<bool>()),
        (
            any::<i64>(),
            opt_text(),
            text(),
            any::<i64>(),
            opt_text(),
            opt_text(),
        ),
    )
        .prop_map(
            |(
                (access_token, expires_in, redirect_url, ip, is_editor),
                (
                    refresh_expires_in,
                    refresh_token,
                    token_type,
                    not_before_policy,
                    session_state,
                    scope,
                ),
            )| v1::AccessTokenResponse {
                access_token,
                expires_in,
                redirect_url,
                ip,
                is_editor,
                refresh_expires_in,
                refresh_token,
                token_type,
                not_before_policy,
                session_state,
                scope,
            },
        )
}

/// Any [`katana::OAuthRequest`].
pub fn oauth_request() -> impl Strategy<Value = katana::OAuthRequest> {
    (
        opt_text(),
        opt_text(),
        opt_text(),
        opt_text(),
        opt_text(),
        opt_text(),
    )
        .prop_map(
            |(grant_type, user_name, password, client_key, client_id, client_secret)| {
                katana::OAuthRequest {
                    grant_type,
                    user_name,
                    password,
                    client_key,
                    client_id,
                    client_secret,
                }
            },
        )
}

/// Any [`katana::OAuthToken`].
pub fn oauth_token() -> impl Strategy<Value = katana::OAuthToken> {
    (
        text(),
        text(),
        any::<i64>(),
        text(),
        text(),
        text(),
        opt_text(),
    )
        .prop_map(
            |(
                access_token,
                token_type,
                expires_in,
                user_name,
                user_id,
                session_key,
                client_key,
            )| {
                katana::OAuthToken {
                    access_token,
                    token_type,
                    expires_in,
                    user_name,
                    user_id,
                    session_key,
                    client_key,
                }
            },
        )
}

/// Any [`oauth::ErrorCode`]: a known code, or another text that is not one.
pub fn error_code() -> impl Strategy<Value = oauth::ErrorCode> {
    use oauth::ErrorCode as C;
    prop_oneof![
        proptest::sample::select(vec![
            C::InvalidRequest,
            C::InvalidClient,
            C::InvalidGrant,
            C::UnauthorizedClient,
            C::UnsupportedGrantType,
            C::InvalidScope,
            C::UnsupportedTokenType,
            C::AccessDenied,
            C::ServerError,
            C::TemporarilyUnavailable,
        ]),
        text().prop_map(|s| C::parse(&s)),
    ]
}

/// Any [`oauth::ErrorResponse`].
pub fn error_response() -> impl Strategy<Value = oauth::ErrorResponse> {
    (error_code(), opt_text(), opt_text()).prop_map(|(error, error_description, error_uri)| {
        oauth::ErrorResponse {
            error,
            error_description,
            error_uri,
        }
    })
}

/// Any [`oauth::IntrospectionRequest`].
pub fn introspection_request() -> impl Strategy<Value = oauth::IntrospectionRequest> {
    (
        (opt_text(), opt_text(), opt_text(), opt_text()),
        (opt_text(), opt_text()),
    )
        .prop_map(
            |((token, token_type_hint, client_id, client_secret), (assertion_type, assertion))| {
                oauth::IntrospectionRequest {
                    token,
                    token_type_hint,
                    client_id,
                    client_secret,
                    client_assertion_type: assertion_type,
                    client_assertion: assertion,
                }
            },
        )
}

/// Any [`oauth::IntrospectionResponse`].
pub fn introspection_response() -> impl Strategy<Value = oauth::IntrospectionResponse> {
    let int = || option::of(any::<i64>());
    (
        (
            any::<bool>(),
            opt_text(),
            opt_text(),
            opt_text(),
            opt_text(),
        ),
        (int(), int(), int()),
        (opt_text(), opt_text(), opt_text(), opt_text(), opt_text()),
    )
        .prop_map(
            |(
                (active, scope, client_id, username, token_type),
                (exp, iat, nbf),
                (sub, aud, iss, jti, sid),
            )| oauth::IntrospectionResponse {
                active,
                scope,
                client_id,
                username,
                token_type,
                exp,
                iat,
                nbf,
                sub,
                aud,
                iss,
                jti,
                sid,
                act: None,
                cnf: None,
            },
        )
}

/// Any [`oauth::RevocationRequest`].
pub fn revocation_request() -> impl Strategy<Value = oauth::RevocationRequest> {
    (
        (opt_text(), opt_text(), opt_text(), opt_text()),
        (opt_text(), opt_text()),
    )
        .prop_map(
            |((token, token_type_hint, client_id, client_secret), (assertion_type, assertion))| {
                oauth::RevocationRequest {
                    token,
                    token_type_hint,
                    client_id,
                    client_secret,
                    client_assertion_type: assertion_type,
                    client_assertion: assertion,
                }
            },
        )
}

/// Any [`oauth::AuthorizationServerMetadata`].
pub fn authorization_server_metadata() -> impl Strategy<Value = oauth::AuthorizationServerMetadata>
{
    let list = || option::of(vec(text(), 0..4));
    (
        (text(), opt_text(), opt_text(), opt_text(), opt_text()),
        (list(), vec(text(), 0..4), list(), list(), list(), list()),
        opt_text(),
    )
        .prop_map(
            |(
                (
                    issuer,
                    authorization_endpoint,
                    token_endpoint,
                    introspection_endpoint,
                    revocation_endpoint,
                ),
                (
                    scopes_supported,
                    response_types_supported,
                    grant_types_supported,
                    token_endpoint_auth_methods_supported,
                    revocation_endpoint_auth_methods_supported,
                    introspection_endpoint_auth_methods_supported,
                ),
                service_documentation,
            )| oauth::AuthorizationServerMetadata {
                issuer,
                authorization_endpoint,
                token_endpoint,
                introspection_endpoint,
                revocation_endpoint,
                scopes_supported,
                response_types_supported,
                grant_types_supported,
                token_endpoint_auth_methods_supported,
                revocation_endpoint_auth_methods_supported,
                introspection_endpoint_auth_methods_supported,
                service_documentation,
                ..oauth::AuthorizationServerMetadata::default()
            },
        )
}

/// Any [`http_error::HttpError`].
pub fn http_error() -> impl Strategy<Value = http_error::HttpError> {
    (
        text(),
        option::of(btree_map(text(), vec(text(), 0..3), 0..4)),
    )
        .prop_map(|(message, model_state)| http_error::HttpError {
            message,
            model_state: model_state.map(|m| {
                http_error::ModelState(m.into_iter().filter(|(_, v)| !v.is_empty()).collect())
            }),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::DeserializeOwned;
    use serde::Serialize;

    fn json_round_trip<T>(value: &T) -> Result<(), TestCaseError>
    where
        T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let json = serde_json::to_string(value).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back: T =
            serde_json::from_str(&json).map_err(|e| TestCaseError::fail(format!("{e}: {json}")))?;
        prop_assert_eq!(&back, value, "{}", json);
        // Serialization is deterministic: the same value gives the same bytes.
        prop_assert_eq!(serde_json::to_string(&back).ok(), Some(json));
        Ok(())
    }

    proptest! {
        #[test]
        fn date_time_text_round_trips(t in date_time()) {
            let text = t.to_string();
            prop_assert_eq!(text.parse::<DateTime>().ok(), Some(t), "{}", text);
            if let Some(odt) = t.to_offset_date_time() {
                let utc = DateTime::utc(odt);
                prop_assert!(utc.is_ok());
            }
        }

        #[test]
        fn time_span_text_round_trips(t in time_span()) {
            prop_assert_eq!(TimeSpan::parse_c_format(&t.to_c_format()).ok(), Some(t));
            prop_assert_eq!(TimeSpan::parse_xml_duration(&t.to_xml_duration()).ok(), Some(t));
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,40}") {
            let _ = s.parse::<DateTime>();
            let _ = TimeSpan::parse_any(&s);
            let _ = s.parse::<otc::ResponseStatus>();
        }

        #[test]
        fn parsers_never_panic_on_near_misses(
            s in "-?P?[0-9]{0,25}[.:DTHMSYZ+-]?[0-9]{0,25}[.:DTHMSZ+-]?[0-9]{0,12}[.:HMS]?[0-9]{0,12}"
        ) {
            let _ = s.parse::<DateTime>();
            let _ = TimeSpan::parse_any(&s);
        }

        #[test]
        fn onetime_json(a in one_time_token_request(), b in one_time_token_response(),
                        c in one_time_authorize_request(), d in one_time_authorize_response()) {
            json_round_trip(&a)?;
            json_round_trip(&b)?;
            json_round_trip(&c)?;
            json_round_trip(&d)?;
        }

        #[test]
        fn otc_json(a in auth_code_request(), b in auth_code_response(),
                    c in otc_token_request(), d in otc_token_response()) {
            json_round_trip(&a)?;
            json_round_trip(&b)?;
            json_round_trip(&c)?;
            json_round_trip(&d)?;
        }

        #[test]
        fn member_json(a in auth_member_model(), b in token_model()) {
            json_round_trip(&a)?;
            json_round_trip(&b)?;
        }

        #[test]
        fn v1_json(a in v1_token_request(), b in access_token_response()) {
            json_round_trip(&a)?;
            json_round_trip(&b)?;
        }

        #[test]
        fn katana_json(a in oauth_request(), b in oauth_token()) {
            json_round_trip(&a)?;
            json_round_trip(&b)?;
        }

        #[test]
        fn oauth_json(a in error_response(), b in introspection_request(),
                      c in introspection_response(), d in revocation_request(),
                      e in authorization_server_metadata()) {
            json_round_trip(&a)?;
            json_round_trip(&b)?;
            json_round_trip(&c)?;
            json_round_trip(&d)?;
            json_round_trip(&e)?;
        }

        #[test]
        fn http_error_json(a in http_error()) {
            json_round_trip(&a)?;
        }
    }
}
