//! Encode and decode of each dialect's response in JSON and XML, beside plain serde_json on
//! the same struct. Goal: XML within 2x of serde_json.
//!
//! Times are the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), not wall time: on
//! the shared two-core machine the wall time of a 1 µs decode varied 2x from run to run with
//! the load of other processes, its CPU time much less. `GATEHOUSE_BENCH_WALL=1` measures
//! wall time instead.

use std::hint::black_box;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{criterion_group, criterion_main, Criterion};
use gatehouse_codec::{decode, encode, BodyFormat, DecodeOptions, ResponseFormat};
use gatehouse_models::{katana, member, onetime, otc, v1, Contract};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Nanoseconds of CPU time this thread has run (`CLOCK_THREAD_CPUTIME_ID`), or of wall
/// time when asked.
#[expect(
    unsafe_code,
    reason = "std has no thread CPU clock; libc's clock_gettime is the call"
)]
fn now_ns() -> u64 {
    static WALL: std::sync::OnceLock<Option<std::time::Instant>> = std::sync::OnceLock::new();
    let wall = WALL.get_or_init(|| {
        std::env::var_os("GATEHOUSE_BENCH_WALL")
            .is_some()
            .then(std::time::Instant::now)
    });
    if let Some(t0) = wall {
        return u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX);
    }
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant the kernel knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(ts.tv_nsec).unwrap_or(0)
}

/// The thread's CPU time as a criterion measurement (formatted as durations).
struct CpuTime;

static DURATIONS: WallTime = WallTime;

impl Measurement for CpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        now_ns()
    }
    fn end(&self, start: u64) -> u64 {
        now_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        DURATIONS.formatter()
    }
}

fn bench_type<T: Serialize + DeserializeOwned + Contract>(
    c: &mut Criterion<CpuTime>,
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

fn dialects(c: &mut Criterion<CpuTime>) {
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

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(CpuTime);
    targets = dialects
}
criterion_main!(benches);
