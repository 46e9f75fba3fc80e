//! Every JSON and XML sample of the five seeds decodes into its models type and encodes back
//! to exactly the bytes the legacy service sent (`tests/golden/*.expected.*`).

use std::fmt::Debug;
use std::path::PathBuf;

use gatehouse_codec::{decode, decode_form, encode, BodyFormat, DecodeOptions, ResponseFormat};
use gatehouse_models::{katana, member, onetime, otc, v1, Contract};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{opts, text};

fn golden(name: &str) -> Vec<u8> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "golden", name]
        .iter()
        .collect();
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn check_json<T: Serialize + DeserializeOwned + Contract + Debug>(stem: &str) -> T {
    let value: T = decode(
        BodyFormat::Json,
        &golden(&format!("{stem}.sample.json")),
        &opts(),
    )
    .unwrap_or_else(|e| panic!("{stem}.sample.json: {e}"));
    let out = encode(ResponseFormat::Json, &value).expect("encode JSON");
    assert_eq!(
        text(&out),
        text(&golden(&format!("{stem}.expected.json"))),
        "{stem} JSON"
    );
    value
}

fn check_xml<T: Serialize + DeserializeOwned + Contract + Debug>(stem: &str) -> T {
    let value: T = decode(
        BodyFormat::Xml,
        &golden(&format!("{stem}.sample.xml")),
        &opts(),
    )
    .unwrap_or_else(|e| panic!("{stem}.sample.xml: {e}"));
    let out = encode(ResponseFormat::Xml, &value).expect("encode XML");
    assert_eq!(
        text(&out),
        text(&golden(&format!("{stem}.expected.xml"))),
        "{stem} XML"
    );
    // The compact form reads back to the same value.
    let again: T = decode(BodyFormat::Xml, &out, &opts()).expect("re-read XML");
    assert_eq!(format!("{again:?}"), format!("{value:?}"));
    value
}

fn check_both<T: Serialize + DeserializeOwned + Contract + Debug + PartialEq>(
    stem: &str,
    same_value: bool,
) {
    let j: T = check_json(stem);
    let x: T = check_xml(stem);
    if same_value {
        assert_eq!(j, x, "{stem}: the JSON and XML samples hold the same value");
    }
}

#[test]
fn seed_000_onetime() {
    check_both::<onetime::OneTimeTokenRequest>("000_request", true);
    check_both::<onetime::OneTimeTokenResponse>("000_response", true);
}

#[test]
fn seed_001_otc() {
    check_both::<otc::AuthCodeRequest>("001_request", true);
    check_both::<otc::AuthCodeResponse>("001_response", true);
}

#[test]
fn seed_002_member() {
    // The request samples differ: only the XML one shows SubAccount.
    check_both::<member::AuthMemberModel>("002_request", false);
    let j: member::TokenModel = check_json("002_response");
    // ExpireTimeUTC is JSON-only: it is not in the XML.
    let xml = encode(ResponseFormat::Xml, &j).expect("encode XML");
    assert_eq!(text(&xml), text(&golden("002_response.expected.xml")));
}

/// `ExpireTimeUTC` is a required serde field of `models::TokenModel` that the XML never holds
/// (XML_OMIT), so the XML sample cannot bind until the models crate derives it from
/// `ExpireTime` when absent (as the .NET get-only property did). Open item for models.
#[test]
fn seed_002_member_token_model_reads_from_xml() {
    let x: member::TokenModel = check_xml("002_response");
    let j: member::TokenModel = check_json("002_response");
    assert_eq!(x, j);
}

#[test]
fn seed_003_v1() {
    check_both::<v1::TokenRequest>("003_request", true);
    check_both::<v1::AccessTokenResponse>("003_response", true);
}

#[test]
fn seed_004_katana() {
    check_both::<katana::OAuthRequest>("004_request", true);
    check_both::<katana::OAuthToken>("004_response", true);
    // The text/javascript samples are the compact JSON itself.
    for stem in ["004_request", "004_response"] {
        assert_eq!(
            golden(&format!("{stem}.sample.js")),
            golden(&format!("{stem}.expected.json"))
        );
    }
    let js: katana::OAuthRequest =
        decode(BodyFormat::Json, &golden("004_request.sample.js"), &opts())
            .expect("text/javascript");
    let json: katana::OAuthRequest = decode(
        BodyFormat::Json,
        &golden("004_request.sample.json"),
        &opts(),
    )
    .expect("json");
    assert_eq!(js, json);
}

/// The JSON twin of a form sample: the JSON sample's member names with the form's values.
fn json_twin(json_sample: &[u8], form: &str) -> Vec<u8> {
    let mut v: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(json_sample).expect("sample is JSON");
    for pair in form.split('&') {
        let (k, val) = pair.split_once('=').expect("k=v");
        let key = v
            .keys()
            .find(|name| name.eq_ignore_ascii_case(k))
            .cloned()
            .unwrap_or_else(|| panic!("form key {k} is a JSON member"));
        v.insert(key, serde_json::Value::String(val.to_owned()));
    }
    serde_json::to_vec(&v).expect("to JSON")
}

#[test]
fn form_samples_decode_like_their_json_twins() {
    let form = golden("001_request.sample.form");
    let twin = json_twin(&golden("001_request.sample.json"), text(&form));
    let f: otc::AuthCodeRequest = decode(BodyFormat::Form, &form, &opts()).expect("form 001");
    let j: otc::AuthCodeRequest = decode(BodyFormat::Json, &twin, &opts()).expect("json 001");
    assert_eq!(f, j);
    assert_eq!(
        f.client_secret.as_deref(),
        Some("aWw2ZnJ4ZGR3YWN1MDdobzZyc2llbng2d3Ayc29nZTc=")
    );
    assert_eq!(f.username.as_deref(), Some("your-user-name"));

    let form = golden("004_request.sample.form");
    let twin = json_twin(&golden("004_request.sample.json"), text(&form));
    let katana_opts = DecodeOptions {
        join_repeated_form_keys: true,
        ..DecodeOptions::default()
    };
    let f: katana::OAuthRequest = decode_form(&form, &katana_opts).expect("form 004");
    let j: katana::OAuthRequest = decode(BodyFormat::Json, &twin, &opts()).expect("json 004");
    assert_eq!(f, j);
    assert_eq!(f.grant_type.as_deref(), Some("value"));
    assert_eq!(f.client_key.as_deref(), Some("value"));
}
