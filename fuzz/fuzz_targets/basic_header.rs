#![no_main]
//! `Authorization` header parsing: Basic (base64, `id:secret`, form-decoding of both halves)
//! and Bearer.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gatehouse_fuzz::basic_header(data);
});
