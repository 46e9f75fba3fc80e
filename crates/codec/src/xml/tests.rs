//! The streaming reader (`de`) against the tree reader it replaced (`tree_ref`): the same
//! value or the same error for the seed bodies and thousands of mutations of them.

use std::fmt::Debug;

use gatehouse_models::{http_error, katana, member, onetime, otc, v1, Contract};
use serde::de::DeserializeOwned;

use super::{de, tree_ref};
use crate::DecodeOptions;

/// xorshift64*: deterministic, so a failure names its seed and round.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const ARRAYS_ITEM: &str = "<KeyValueOfstringstring xmlns=\"http://schemas.microsoft.com/2003/10/Serialization/Arrays\"><Key>k</Key><Value>v</Value></KeyValueOfstringstring>";

/// Pieces a mutation inserts: markup the reader refuses, members it binds or skips, values
/// that do and do not convert.
fn fragments(body: &str) -> Vec<String> {
    let mut out: Vec<String> = [
        "<![CDATA[c]]>",
        "<!--c-->",
        "<?p x?>",
        "<!DOCTYPE x>",
        "<?xml version=\"1.0\"?>",
        " xmlns:a=\"urn:a\"",
        " xmlns=\"urn:other\"",
        " i:nil=\"true\"",
        " i:nil=\"1\"",
        " a:x=\"1\"",
        " b:x=\"1\"",
        "<a:X xmlns:a=\"urn:a\">1</a:X>",
        "<Unknown><Deep>t</Deep></Unknown>",
        "<Unknown/>",
        "&amp;",
        "&#x41;",
        "&#0;",
        "&bogus;",
        "&#xD800;",
        "notanumber",
        "12",
        "-1",
        "99999999999999999999999",
        "true",
        "PT1H",
        "Ok",
        "Bogus",
        " ",
        "\r\n",
        "<",
        ">",
        "</",
        "/>",
        "\"",
        "<X>",
        "</X>",
        ARRAYS_ITEM,
        "<Key>k</Key>",
        "<Value>v</Value>",
        "<Value i:nil=\"true\"/>",
        "<Key i:nil=\"true\"/>",
        "é",
        " xmlns:xml=\"urn:x\"",
        " xmlns:xml=\"http://www.w3.org/XML/1998/namespace\"",
        " xmlns:xmlns=\"urn:x\"",
        " xmlns:p=\"http://www.w3.org/2000/xmlns/\"",
        " xmlns:p=\"http://www.w3.org/XML/1998/namespace\"",
        " xmlns:p=\"\"",
        " xmlns:p=\"urn:p\"",
        " xmlns=\"\"",
        " xmlns:=\"urn:e\"",
        " xmlns:i=\"urn:other\"",
        " xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\"",
        "<p:X>1</p:X>",
        "<xml:X>1</xml:X>",
        "<xmlns:X>1</xmlns:X>",
        "<:X>1</:X>",
        " xml:lang=\"en\"",
        " p:nil=\"true\"",
        " i:nil=\"true\" i:nil=\"false\"",
        " a=\"1\" a=\"2\"",
        " a=1",
        " a",
        " =\"x\"",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    // The contract's namespace under a prefix, on members of it.
    if let Some(ns) = body
        .split("xmlns=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
    {
        out.push(format!(" xmlns:d=\"{ns}\""));
        out.push(format!(" xmlns=\"{ns}\""));
    }
    // The contract's own members, empty, with text, nil, and whole (to repeat them).
    let bytes = body.as_bytes();
    let mut i = 0;
    while let Some(p) = body[i..].find('<') {
        let s = i + p + 1;
        let e = s + bytes[s..]
            .iter()
            .position(|b| matches!(b, b' ' | b'>' | b'/'))
            .unwrap_or(0);
        let name = &body[s..e];
        if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            out.push(format!("<{name}>"));
            out.push(format!("</{name}>"));
            out.push(format!("<{name}/>"));
            out.push(format!("<{name}>x</{name}>"));
            out.push(format!("<{name} i:nil=\"true\"/>"));
            out.push(format!("<d:{name}>y</d:{name}>"));
            out.push(format!("<p:{name} xmlns:p=\"urn:p\">y</p:{name}>"));
            let close = format!("</{name}>");
            if let Some(c) = body[e..].find(&close) {
                out.push(body[s - 1..e + c + close.len()].to_owned());
            }
        }
        i = s;
    }
    out
}

/// One mutation of `body`: inserts, deletions, duplications.
fn mutate(body: &[u8], frags: &[String], rng: &mut Rng) -> Vec<u8> {
    let mut b = body.to_vec();
    for _ in 0..=rng.below(3) {
        let at = rng.below(b.len() + 1);
        match rng.below(4) {
            0 | 1 => {
                let f = &frags[rng.below(frags.len())];
                b.splice(at..at, f.bytes());
            }
            2 => {
                let end = (at + 1 + rng.below(12)).min(b.len());
                b.drain(at..end);
            }
            _ => {
                let end = (at + 1 + rng.below(40)).min(b.len());
                let piece = b[at..end].to_vec();
                b.splice(end..end, piece);
            }
        }
    }
    b
}

fn options() -> [DecodeOptions; 3] {
    [
        DecodeOptions::default(),
        DecodeOptions {
            max_depth: 3,
            max_string_len: 8,
            ..DecodeOptions::default()
        },
        DecodeOptions {
            max_depth: 2,
            max_string_len: 40,
            ..DecodeOptions::default()
        },
    ]
}

fn same_answers<T: DeserializeOwned + Contract + PartialEq + Debug>(body: &str, seed: u64) {
    let frags = fragments(body);
    let mut rng = Rng(seed);
    let mut bodies = vec![body.as_bytes().to_vec()];
    for n in 0..=body.len() {
        bodies.push(body.as_bytes()[..n].to_vec());
    }
    for _ in 0..1000 {
        bodies.push(mutate(body.as_bytes(), &frags, &mut rng));
    }
    for (round, b) in bodies.iter().enumerate() {
        for opts in &options() {
            let new = de::from_slice::<T>(b, opts);
            let old = tree_ref::from_slice::<T>(b, opts);
            assert_eq!(
                new,
                old,
                "{} round {round} ({opts:?}): {}",
                T::XML_ROOT,
                String::from_utf8_lossy(b)
            );
            let (work_new, r_new) = de::resolution_work::<T>(b, opts);
            let (work_old, r_old) = tree_ref::resolution_work::<T>(b, opts);
            assert_eq!(
                (work_new, r_new),
                (work_old, r_old),
                "{} round {round}: {}",
                T::XML_ROOT,
                String::from_utf8_lossy(b)
            );
        }
    }
}

macro_rules! golden {
    ($name:literal) => {
        include_str!(concat!("../../tests/golden/", $name))
    };
}

#[test]
fn streaming_reader_answers_as_the_tree_reader_did() {
    for (i, body) in [
        golden!("000_request.expected.xml"),
        golden!("000_request.sample.xml"),
    ]
    .iter()
    .enumerate()
    {
        same_answers::<onetime::OneTimeTokenRequest>(body, 1 + i as u64);
    }
    for body in [
        golden!("000_response.expected.xml"),
        golden!("000_response.sample.xml"),
    ] {
        same_answers::<onetime::OneTimeTokenResponse>(body, 3);
    }
    for body in [
        golden!("001_request.expected.xml"),
        golden!("001_request.sample.xml"),
    ] {
        same_answers::<otc::AuthCodeRequest>(body, 4);
    }
    for body in [
        golden!("001_response.expected.xml"),
        golden!("001_response.sample.xml"),
    ] {
        same_answers::<otc::AuthCodeResponse>(body, 5);
    }
    for body in [
        golden!("002_request.expected.xml"),
        golden!("002_request.sample.xml"),
    ] {
        same_answers::<member::AuthMemberModel>(body, 6);
    }
    for body in [
        golden!("002_response.expected.xml"),
        golden!("002_response.sample.xml"),
    ] {
        same_answers::<member::TokenModel>(body, 7);
    }
    for body in [
        golden!("003_request.expected.xml"),
        golden!("003_request.sample.xml"),
    ] {
        same_answers::<v1::TokenRequest>(body, 8);
    }
    for body in [
        golden!("003_response.expected.xml"),
        golden!("003_response.sample.xml"),
    ] {
        same_answers::<v1::AccessTokenResponse>(body, 9);
    }
    for body in [
        golden!("004_request.expected.xml"),
        golden!("004_request.sample.xml"),
    ] {
        same_answers::<katana::OAuthRequest>(body, 10);
    }
    for body in [
        golden!("004_response.expected.xml"),
        golden!("004_response.sample.xml"),
    ] {
        same_answers::<katana::OAuthToken>(body, 11);
    }
    let error = crate::encode(
        crate::ResponseFormat::Xml,
        &http_error::HttpError::new("The request is invalid."),
    )
    .expect("encodes");
    same_answers::<http_error::HttpError>(std::str::from_utf8(&error).expect("utf-8"), 12);
}
