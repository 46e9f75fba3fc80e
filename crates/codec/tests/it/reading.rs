//! The readers' leniencies and strictnesses: JSON as Json.NET bound it, XML in any member
//! order with duplicates rejected, form keys case-insensitive with jQuery dictionaries.

use std::collections::BTreeMap;

use gatehouse_codec::{decode, decode_form, decode_json, BodyFormat, DecodeError, DecodeOptions};
use gatehouse_models::{katana, member, onetime, otc, v1};

use crate::opts;

fn json<T: serde::de::DeserializeOwned + gatehouse_models::Contract>(
    s: &str,
) -> Result<T, DecodeError> {
    decode(BodyFormat::Json, s.as_bytes(), &opts())
}

fn xml<T: serde::de::DeserializeOwned + gatehouse_models::Contract>(
    s: &str,
) -> Result<T, DecodeError> {
    decode(BodyFormat::Xml, s.as_bytes(), &opts())
}

fn form<T: serde::de::DeserializeOwned + gatehouse_models::Contract>(
    s: &str,
) -> Result<T, DecodeError> {
    decode(BodyFormat::Form, s.as_bytes(), &opts())
}

const V1_NS: &str = "http://schemas.datacontract.org/2004/07/IO.Swagger.Models";
const OTC_REQ_NS: &str = "http://schemas.datacontract.org/2004/07/SaG.OTC.API.Models.Requests";

// ---------------------------------------------------------------------------------- JSON

#[test]
fn json_names_match_exactly_then_case_insensitively() {
    let m: member::AuthMemberModel =
        json(r#"{"memberid":"1234","PASSWORD":"pw","subAccount":"8"}"#).expect("ci");
    assert_eq!(m.member_id.as_deref(), Some("1234"));
    assert_eq!(m.password.as_deref(), Some("pw"));
    // SubAccount was [JsonIgnore] in legacy (seed 002): JSON never binds it, XML and forms do.
    assert_eq!(m.sub_account, None);
    let m: member::AuthMemberModel = form("MemberId=1&SubAccount=8").expect("form");
    assert_eq!(m.sub_account.as_deref(), Some("8"));

    #[derive(serde::Deserialize, Debug)]
    struct Two {
        #[serde(rename = "Value", default)]
        upper: i32,
        #[serde(rename = "value", default)]
        lower: i32,
    }
    let t: Two = decode_json(br#"{"value":1,"Value":2}"#, &opts()).expect("exact");
    assert_eq!((t.upper, t.lower), (2, 1));
    let t: Two = decode_json(br#"{"VALUE":3}"#, &opts()).expect("first case-insensitive match");
    assert_eq!((t.upper, t.lower), (3, 0));
}

#[test]
fn json_unknown_members_are_ignored() {
    let r: otc::AuthCodeRequest =
        json(r#"{"ClientId":"c","Extra":{"deep":[1,2,{"x":null}]},"ClientSecret":"s"}"#)
            .expect("unknown ignored");
    assert_eq!(r.client_id.as_deref(), Some("c"));
    assert_eq!(r.client_secret.as_deref(), Some("s"));
}

#[test]
fn json_booleans_and_integers_in_strings() {
    for (sent, b) in [
        ("true", true),
        (r#""true""#, true),
        (r#""True""#, true),
        (r#""FALSE""#, false),
        (r#"" false ""#, false),
    ] {
        let r: v1::TokenRequest =
            json(&format!(r#"{{"WindowsAuthentication":{sent}}}"#)).expect(sent);
        assert_eq!(r.windows_authentication, Some(b), "{sent}");
    }
    let e = json::<v1::TokenRequest>(r#"{"WindowsAuthentication":"yes"}"#).expect_err("not a bool");
    assert_eq!(e.field(), Some("WindowsAuthentication"));

    let base = r#""access_token":"a","redirect_url":null,"ip":null,"is_editor":false,"refresh_expires_in":0,"refresh_token":null,"token_type":"Bearer","not_before_policy":0,"session_state":null,"scope":null"#;
    for (sent, n) in [
        ("3600", 3600),
        (r#""3600""#, 3600),
        (r#"" 42 ""#, 42),
        (r#""-1""#, -1),
        ("7.0", 7),
    ] {
        let r: v1::AccessTokenResponse =
            json(&format!(r#"{{"expires_in":{sent},{base}}}"#)).expect(sent);
        assert_eq!(r.expires_in, n, "{sent}");
    }
    for bad in [
        "4.5",
        r#""4.5""#,
        r#""""#,
        r#""x""#,
        "true",
        "99999999999999999999999",
    ] {
        let e = json::<v1::AccessTokenResponse>(&format!(r#"{{"expires_in":{bad},{base}}}"#))
            .expect_err(bad);
        assert_eq!(e.field(), Some("expires_in"), "{bad}: {e}");
    }
}

#[test]
fn json_type_errors_name_the_field() {
    // Json.NET bound a number or a boolean into a string as its .NET text (issue 11).
    let m = json::<member::AuthMemberModel>(r#"{"MemberId":1234,"Password":true}"#)
        .expect("number as text");
    assert_eq!(m.member_id.as_deref(), Some("1234"));
    assert_eq!(m.password.as_deref(), Some("True"));
    let e =
        json::<member::AuthMemberModel>(r#"{"MemberId":{},"Password":"x"}"#).expect_err("object");
    assert_eq!(
        e.to_string(),
        "field 'MemberId': expected a string, found an object"
    );
    assert_eq!(e.field(), Some("MemberId"));

    let e = json::<otc::AuthCodeResponse>(
        r#"{"Header":{"Message":"","StatusCode":"Bogus","Status":"Ok","ErrorId":null},"Body":null}"#,
    )
    .expect_err("bad enum");
    assert_eq!(e.field(), Some("Header.StatusCode"), "{e}");

    let e = json::<otc::AuthCodeResponse>(r#"{"Header":[],"Body":null}"#).expect_err("array");
    assert_eq!(
        e.to_string(),
        "field 'Header': expected an object, found an array"
    );

    let e = json::<member::AuthMemberModel>("[1]").expect_err("array root");
    assert_eq!(
        e.to_string(),
        "the request body: expected an object, found an array"
    );

    let e = json::<onetime::OneTimeTokenRequest>(r#"{"clientId":"c","payload":{"k":[1]}}"#)
        .expect_err("dict value");
    assert_eq!(e.field(), Some("payload[k]"), "{e}");
}

#[test]
fn json_null_into_a_value_is_an_error_naming_the_path() {
    let e = json::<katana::OAuthToken>(
        r#"{"access_token":null,"token_type":"bearer","expires_in":1,"userName":"u","userID":"i","sessionKey":"s","clientKey":null}"#,
    )
    .expect_err("null");
    assert!(matches!(e, DecodeError::Null { .. }), "{e:?}");
    assert_eq!(e.field(), Some("access_token"));
    assert_eq!(
        e.to_string(),
        "field 'access_token': must not be null, expected a string"
    );

    let e = json::<katana::OAuthToken>(r#"{"access_token":"a"}"#).expect_err("missing");
    assert!(matches!(e, DecodeError::Missing { .. }), "{e:?}");
    assert_eq!(e.field(), Some("token_type"));

    let e = json::<otc::AuthCodeResponse>(r#"{"Header":{"Message":""},"Body":null}"#)
        .expect_err("nested missing");
    assert_eq!(e.field(), Some("Header.StatusCode"), "{e}");
}

#[test]
fn json_repeated_member_by_case_is_an_error() {
    let e = json::<member::AuthMemberModel>(r#"{"MemberId":"1","memberId":"2"}"#)
        .expect_err("repeated");
    assert!(matches!(e, DecodeError::Repeated { .. }), "{e:?}");
    assert_eq!(e.field(), Some("MemberId"));
}

// ----------------------------------------------------------------------------------- XML

fn v1_request(members: &str) -> String {
    format!(
        r#"<TokenRequest xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="{V1_NS}">{members}</TokenRequest>"#
    )
}

#[test]
fn xml_members_in_any_order() {
    let ordered = v1_request("<WindowsAuthentication>true</WindowsAuthentication><client_id>c</client_id><grant_type>password</grant_type><username>u</username>");
    let shuffled = v1_request("<username>u</username><grant_type>password</grant_type><client_id>c</client_id><WindowsAuthentication>true</WindowsAuthentication>");
    let a: v1::TokenRequest = xml(&ordered).expect("ordered");
    let b: v1::TokenRequest = xml(&shuffled).expect("shuffled");
    assert_eq!(a, b);
    assert_eq!(b.username.as_deref(), Some("u"));
    assert_eq!(b.windows_authentication, Some(true));
}

#[test]
fn xml_repeated_member_is_an_error() {
    let e = xml::<v1::TokenRequest>(&v1_request("<username>a</username><username>b</username>"))
        .expect_err("repeated");
    assert!(matches!(e, DecodeError::Repeated { .. }), "{e:?}");
    assert_eq!(e.field(), Some("username"));
}

#[test]
fn xml_unknown_and_foreign_members_are_skipped() {
    let r: v1::TokenRequest = xml(&v1_request(
        r#"<Unknown><a><b>deep</b></a></Unknown><x:username xmlns:x="urn:other">ignored</x:username><scope>s</scope>"#,
    ))
    .expect("skip");
    assert_eq!(r.username, None);
    assert_eq!(r.scope.as_deref(), Some("s"));
}

#[test]
fn xml_root_and_namespace() {
    // No namespace at all is refused, as DataContractSerializer did (issue 11).
    let e = xml::<v1::TokenRequest>("<TokenRequest><scope>s</scope></TokenRequest>")
        .expect_err("no namespace");
    assert!(matches!(e, DecodeError::WrongNamespace { .. }), "{e:?}");
    // A prefixed root in the right namespace is fine.
    let r: v1::TokenRequest =
        xml(&format!(r#"<p:TokenRequest xmlns:p="{V1_NS}"><p:scope>s</p:scope><scope>unqualified</scope></p:TokenRequest>"#))
            .expect("prefixed");
    assert_eq!(r.scope.as_deref(), Some("s"));

    let e = xml::<v1::TokenRequest>("<TokenRequests><scope>s</scope></TokenRequests>")
        .expect_err("root");
    assert_eq!(
        e,
        DecodeError::WrongRoot {
            expected: "TokenRequest",
            found: "TokenRequests".into()
        }
    );
    let e = xml::<v1::TokenRequest>(
        r#"<TokenRequest xmlns="urn:wrong"><scope>s</scope></TokenRequest>"#,
    )
    .expect_err("ns");
    assert!(matches!(e, DecodeError::WrongNamespace { .. }), "{e:?}");
    let e = xml::<otc::AuthCodeRequest>(&format!(r#"<AuthCodeRequest xmlns="{V1_NS}"/>"#))
        .expect_err("other dialect's ns");
    assert!(matches!(e, DecodeError::WrongNamespace { .. }), "{e:?}");
}

#[test]
fn xml_nil_and_booleans() {
    let r: v1::TokenRequest = xml(&v1_request(
        r#"<scope i:nil="true" /><WindowsAuthentication>1</WindowsAuthentication>"#,
    ))
    .expect("nil");
    assert_eq!(r.scope, None);
    assert_eq!(r.windows_authentication, Some(true));
    let r: v1::TokenRequest = xml(&v1_request(
        "<WindowsAuthentication> false </WindowsAuthentication>",
    ))
    .expect("false");
    assert_eq!(r.windows_authentication, Some(false));
    let e = xml::<v1::TokenRequest>(&v1_request(
        "<WindowsAuthentication>yes</WindowsAuthentication>",
    ))
    .expect_err("bool");
    assert_eq!(e.field(), Some("WindowsAuthentication"));

    let ns = "http://schemas.datacontract.org/2004/07/Yindo.DAL.Types";
    let e = xml::<katana::OAuthToken>(&format!(
        r#"<OAuthToken xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="{ns}"><access_token i:nil="true"/><clientKey/><expires_in>3</expires_in><sessionKey>s</sessionKey><token_type>t</token_type><userID>u</userID><userName>n</userName></OAuthToken>"#
    ))
    .expect_err("nil into a string");
    assert!(matches!(e, DecodeError::Null { .. }), "{e:?}");
    assert_eq!(e.field(), Some("access_token"));

    let e = xml::<katana::OAuthToken>(&format!(
        r#"<OAuthToken xmlns="{ns}"><access_token>a</access_token><expires_in>three</expires_in></OAuthToken>"#
    ))
    .expect_err("not an integer");
    assert_eq!(e.field(), Some("expires_in"));
}

#[test]
fn xml_declaration_comments_cdata_and_references() {
    let r: otc::AuthCodeRequest = xml(&format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<!-- a comment -->
<AuthCodeRequest xmlns="{OTC_REQ_NS}">
  <ClientId><![CDATA[a<b]]></ClientId>
  <Username>&lt;&#65;&#x42;&amp;&quot;&apos;&gt;</Username>
  <Password>p&#x0;w</Password>
</AuthCodeRequest>
"#
    ))
    .expect("decl and friends");
    assert_eq!(r.client_id.as_deref(), Some("a<b"));
    assert_eq!(r.username.as_deref(), Some("<AB&\"'>"));
    assert_eq!(r.password.as_deref(), Some("p\0w"));
}

#[test]
fn xml_dictionaries_with_any_prefix_and_duplicate_keys_rejected() {
    let ns = "http://schemas.datacontract.org/2004/07/App.Auth.Models";
    let arrays = "http://schemas.microsoft.com/2003/10/Serialization/Arrays";
    let r: onetime::OneTimeTokenRequest = xml(&format!(
        r#"<OneTimeTokenRequest xmlns="{ns}"><Payload xmlns:a="{arrays}"><a:KeyValueOfstringstring><a:Value>v</a:Value><a:Key>k</a:Key></a:KeyValueOfstringstring></Payload><ClientId>c</ClientId></OneTimeTokenRequest>"#
    ))
    .expect("prefix a");
    assert_eq!(
        r.payload,
        Some(BTreeMap::from([("k".to_owned(), "v".to_owned())]))
    );
    assert_eq!(r.client_id.as_deref(), Some("c"));

    // camelCase JSON contract: the XML names are PascalCase; `clientId` is not a member.
    let r: onetime::OneTimeTokenRequest = xml(&format!(
        r#"<OneTimeTokenRequest xmlns="{ns}"><clientId>c</clientId></OneTimeTokenRequest>"#
    ))
    .expect("camel");
    assert_eq!(r.client_id, None);

    let e = xml::<onetime::OneTimeTokenRequest>(&format!(
        r#"<OneTimeTokenRequest xmlns="{ns}"><Payload xmlns:d2p1="{arrays}"><d2p1:KeyValueOfstringstring><d2p1:Key>k</d2p1:Key><d2p1:Value>1</d2p1:Value></d2p1:KeyValueOfstringstring><d2p1:KeyValueOfstringstring><d2p1:Key>k</d2p1:Key><d2p1:Value>2</d2p1:Value></d2p1:KeyValueOfstringstring></Payload></OneTimeTokenRequest>"#
    ))
    .expect_err("duplicate key");
    assert!(matches!(e, DecodeError::Repeated { .. }), "{e:?}");
    assert_eq!(e.field(), Some("payload[k]"));

    let e = xml::<onetime::OneTimeTokenRequest>(&format!(
        r#"<OneTimeTokenRequest xmlns="{ns}"><Payload xmlns:d2p1="{arrays}"><d2p1:KeyValueOfstringstring><d2p1:Value>2</d2p1:Value></d2p1:KeyValueOfstringstring></Payload></OneTimeTokenRequest>"#
    ))
    .expect_err("no key");
    assert!(matches!(e, DecodeError::Missing { .. }), "{e:?}");
}

// ---------------------------------------------------------------------------------- form

#[test]
fn form_keys_are_case_insensitive_and_plus_is_space() {
    let r: otc::AuthCodeRequest =
        form("CLIENTID=a+b&clientsecret=x%2By%3D&username=%C3%A9&Password=").expect("form");
    assert_eq!(r.client_id.as_deref(), Some("a b"));
    assert_eq!(r.client_secret.as_deref(), Some("x+y="));
    assert_eq!(r.username.as_deref(), Some("é"));
    assert_eq!(
        r.password, None,
        "an empty value binds to null, as in Web API"
    );
}

#[test]
fn form_booleans() {
    for (sent, b) in [("true", true), ("True", true), ("FALSE", false)] {
        let r: v1::TokenRequest = form(&format!("WindowsAuthentication={sent}")).expect(sent);
        assert_eq!(r.windows_authentication, Some(b));
    }
    let e = form::<v1::TokenRequest>("windowsauthentication=on").expect_err("on");
    assert_eq!(e.field(), Some("WindowsAuthentication"));
}

#[test]
fn form_dictionaries_in_three_spellings() {
    let want = Some(BTreeMap::from([
        ("k1".to_owned(), "v 1".to_owned()),
        ("k.2".to_owned(), "v2".to_owned()),
    ]));
    for body in [
        "clientId=c&payload[k1]=v+1&payload[k.2]=v2",
        "ClientId=c&Payload%5Bk1%5D=v+1&Payload%5Bk.2%5D=v2",
        "clientId=c&Payload[0][Key]=k1&Payload[0][Value]=v+1&Payload[1][Key]=k.2&Payload[1][Value]=v2",
        "clientId=c&payload[0].key=k1&payload[0].value=v+1&payload[1].Key=k.2&payload[1].Value=v2",
    ] {
        let r: onetime::OneTimeTokenRequest = form(body).expect(body);
        assert_eq!(r.payload, want, "{body}");
        assert_eq!(r.client_id.as_deref(), Some("c"));
    }
    let e = form::<onetime::OneTimeTokenRequest>(
        "payload[0][Key]=k&payload[1][Key]=k&payload[0][Value]=1&payload[1][Value]=2",
    )
    .expect_err("duplicate key");
    assert!(matches!(e, DecodeError::Repeated { .. }), "{e:?}");
    let e = form::<onetime::OneTimeTokenRequest>("payload[0][Key]=k").expect_err("no value");
    assert!(matches!(e, DecodeError::Missing { .. }), "{e:?}");
}

#[test]
fn form_repeated_keys_error_or_join() {
    let e = form::<katana::OAuthRequest>("grant_type=password&grant_type=x").expect_err("repeated");
    assert_eq!(
        e,
        DecodeError::Repeated {
            field: "grant_type".into()
        }
    );
    let e = form::<katana::OAuthRequest>("userName=a&username=b").expect_err("repeated by case");
    assert_eq!(e.field(), Some("userName"));

    let katana_opts = DecodeOptions {
        join_repeated_form_keys: true,
        ..DecodeOptions::default()
    };
    let r: katana::OAuthRequest = decode_form(
        b"grant_type=password&grant_type=x&userName=a&username=b",
        &katana_opts,
    )
    .expect("joined");
    assert_eq!(r.grant_type.as_deref(), Some("password,x"));
    assert_eq!(r.user_name.as_deref(), Some("a,b"));
}

#[test]
fn form_encoding_errors_are_typed() {
    for bad in ["a=%ZZ", "a=%F", "a=%FF", "%FF=1", "payload[k=v"] {
        let e = form::<onetime::OneTimeTokenRequest>(bad).expect_err(bad);
        assert!(
            matches!(
                e,
                DecodeError::Malformed { .. } | DecodeError::InvalidValue { .. }
            ),
            "{bad}: {e:?}"
        );
    }
}
