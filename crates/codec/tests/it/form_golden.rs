//! Form bodies the codec writes, as the real Web API 5.2.3 read them back.
//!
//! For every request and response model of the five seeds (the seed's JSON sample, plus a
//! hostile value per dialect), `encode_form` must write exactly `golden/form/<stem>.form`,
//! the codec must read that body back to the same value, and the legacy oracle's answer to
//! `POST /reserialize/<Model>?as=json` with that body (`golden/form/<stem>.oracle.json`:
//! what Web API's form formatter bound, written by Json.NET) must equal the JSON the codec
//! writes for the value: the oracle read the same values from our bytes.
//!
//! The oracle files were recorded from `../shared/oracle` (Mono) by running this test with
//! `GATEHOUSE_ORACLE_URL=http://127.0.0.1:18481`: it then sends each body to the oracle and
//! rewrites both files. Without the variable nothing needs Mono.

use std::fmt::Debug;
use std::io::{Read as _, Write as _};
use std::path::PathBuf;

use gatehouse_codec::{decode, decode_form, encode, encode_form, BodyFormat, ResponseFormat};
use gatehouse_models::{katana, member, onetime, otc, v1, Contract};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{opts, text};

fn path(name: &str) -> PathBuf {
    [env!("CARGO_MANIFEST_DIR"), "tests", "golden", name]
        .iter()
        .collect()
}

fn read(name: &str) -> String {
    std::fs::read_to_string(path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `POST /reserialize/<model>?as=json` with a form body, over a plain socket.
fn ask_oracle(base: &str, model: &str, body: &[u8]) -> String {
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(host).expect("the oracle listens");
    let head = format!(
        "POST /reserialize/{model}?as=json HTTP/1.1\r\nHost: {host}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{model}: {head}");
    body.to_owned()
}

/// Web API's model binding read an empty form value as null (`ConvertEmptyStringToNull`):
/// the JSON Web API writes back for a value with empty strings has nulls there.
fn empty_strings_as_null(json: &str) -> String {
    json.replace(":\"\"", ":null")
}

fn check<T>(stem: &str, model: &str, value: &T)
where
    T: Serialize + DeserializeOwned + Contract + Debug + PartialEq,
{
    let body = encode_form(value).expect("encode form");
    let ours_json = empty_strings_as_null(text(
        &encode(ResponseFormat::Json, value).expect("encode JSON"),
    ));
    if let Ok(base) = std::env::var("GATEHOUSE_ORACLE_URL") {
        std::fs::write(path(&format!("form/{stem}.form")), &body).unwrap();
        let oracle = ask_oracle(&base, model, &body);
        std::fs::write(path(&format!("form/{stem}.oracle.json")), oracle).unwrap();
    }
    assert_eq!(
        text(&body),
        read(&format!("form/{stem}.form")),
        "{stem}: bytes"
    );
    let back: T = decode_form(&body, &opts()).unwrap_or_else(|e| panic!("{stem}: {e}"));
    assert_eq!(&back, value, "{stem}: the codec reads its own form back");
    assert_eq!(
        read(&format!("form/{stem}.oracle.json")),
        ours_json,
        "{stem}: Web API bound other values than the codec wrote"
    );
}

fn seed<T: DeserializeOwned + Contract>(stem: &str) -> T {
    decode(
        BodyFormat::Json,
        read(&format!("{stem}.sample.json")).as_bytes(),
        &opts(),
    )
    .unwrap_or_else(|e| panic!("{stem}: {e}"))
}

/// Characters a form body must escape, and ones that look like its syntax.
const HOSTILE: &str = "a b+c&d=e%f/g?h#i[j]k.l\"m'n<o>p\u{e9}\u{4e2d}\u{1f600}~_-";

#[test]
fn seed_models_bind_in_web_api_as_the_codec_wrote_them() {
    check::<onetime::OneTimeTokenRequest>(
        "000_request",
        "OneTimeTokenRequest",
        &seed("000_request"),
    );
    check::<onetime::OneTimeTokenResponse>(
        "000_response",
        "OneTimeTokenResponse",
        &seed("000_response"),
    );
    check::<otc::AuthCodeRequest>("001_request", "AuthCodeRequest", &seed("001_request"));
    check::<otc::AuthCodeResponse>("001_response", "AuthCodeResponse", &seed("001_response"));
    check::<member::AuthMemberModel>("002_request", "AuthMemberModel", &seed("002_request"));
    check::<member::TokenModel>("002_response", "TokenModel", &seed("002_response"));
    check::<v1::TokenRequest>("003_request", "TokenRequest", &seed("003_request"));
    check::<v1::AccessTokenResponse>("003_response", "AccessTokenResponse", &seed("003_response"));
    check::<katana::OAuthRequest>("004_request", "OAuthRequest", &seed("004_request"));
    check::<katana::OAuthToken>("004_response", "OAuthToken", &seed("004_response"));
}

#[test]
fn hostile_text_survives_web_api_binding() {
    let mut onetime: onetime::OneTimeTokenRequest = seed("000_request");
    onetime.client_id = Some(HOSTILE.to_owned());
    onetime.payload = Some(
        [
            (HOSTILE.to_owned(), HOSTILE.to_owned()),
            ("k[0].Key".to_owned(), "v=1&w=2".to_owned()),
        ]
        .into_iter()
        .collect(),
    );
    check("000_request_hostile", "OneTimeTokenRequest", &onetime);
    let otc = otc::AuthCodeRequest::new(HOSTILE, HOSTILE, HOSTILE, HOSTILE);
    check("001_request_hostile", "AuthCodeRequest", &otc);
    // `SubAccount` is Gatehouse's addition, which the legacy model did not have.
    let member = member::AuthMemberModel::new(HOSTILE, HOSTILE);
    check("002_request_hostile", "AuthMemberModel", &member);
    let mut v1 = v1::TokenRequest::password(HOSTILE, HOSTILE);
    v1.client_id = Some(HOSTILE.to_owned());
    v1.scope = Some("openid profile".to_owned());
    // A non-nullable `bool` in the legacy model: absent reads as false.
    v1.windows_authentication = Some(false);
    check("003_request_hostile", "TokenRequest", &v1);
    let mut katana = katana::OAuthRequest::password(HOSTILE, HOSTILE);
    katana.client_key = Some(HOSTILE.to_owned());
    check("004_request_hostile", "OAuthRequest", &katana);
}
