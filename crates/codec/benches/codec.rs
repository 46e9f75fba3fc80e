//! Encode and decode of each dialect's response in JSON and XML, beside plain serde_json on
//! the same struct. Goal: XML within 2x of serde_json.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use gatehouse_codec::{decode, encode, BodyFormat, DecodeOptions, ResponseFormat};
use gatehouse_models::{katana, member, onetime, otc, v1, Contract};
use serde::de::DeserializeOwned;
use serde::Serialize;

fn bench_type<T: Serialize + DeserializeOwned + Contract>(
    c: &mut Criterion,
    name: &str,
    sample_json: &[u8],
    xml_readable: bool,
) {
    let opts = DecodeOptions::default();
    let value: T = decode(BodyFormat::Json, sample_json, &opts).expect("golden sample decodes");
    let json = encode(ResponseFormat::Json, &value).expect("json");
    let xml = encode(ResponseFormat::Xml, &value).expect("xml");
    let mut g = c.benchmark_group(name);
    g.bench_function("encode/serde_json", |b| {
        b.iter(|| serde_json::to_vec(black_box(&value)))
    });
    g.bench_function("encode/json", |b| {
        b.iter(|| encode(ResponseFormat::Json, black_box(&value)))
    });
    g.bench_function("encode/xml", |b| {
        b.iter(|| encode(ResponseFormat::Xml, black_box(&value)))
    });
    g.bench_function("decode/serde_json", |b| {
        b.iter(|| serde_json::from_slice::<T>(black_box(&json)))
    });
    g.bench_function("decode/json", |b| {
        b.iter(|| decode::<T>(BodyFormat::Json, black_box(&json), &opts))
    });
    if xml_readable {
        g.bench_function("decode/xml", |b| {
            b.iter(|| decode::<T>(BodyFormat::Xml, black_box(&xml), &opts))
        });
    }
    g.finish();
}

fn dialects(c: &mut Criterion) {
    bench_type::<onetime::OneTimeTokenResponse>(
        c,
        "onetime",
        include_bytes!("../tests/golden/000_response.expected.json"),
        true,
    );
    bench_type::<otc::AuthCodeResponse>(
        c,
        "otc",
        include_bytes!("../tests/golden/001_response.expected.json"),
        true,
    );
    // models::TokenModel cannot be read from XML yet (ExpireTimeUTC is required and JSON-only).
    bench_type::<member::TokenModel>(
        c,
        "member",
        include_bytes!("../tests/golden/002_response.expected.json"),
        false,
    );
    bench_type::<v1::AccessTokenResponse>(
        c,
        "v1",
        include_bytes!("../tests/golden/003_response.expected.json"),
        true,
    );
    bench_type::<katana::OAuthToken>(
        c,
        "katana",
        include_bytes!("../tests/golden/004_response.expected.json"),
        true,
    );
}

criterion_group!(benches, dialects);
criterion_main!(benches);
