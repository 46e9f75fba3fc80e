#![no_main]
//! `Authorization` header parsing: Basic (base64, `id:secret`, form-decoding of both halves)
//! and Bearer.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(creds) = gatehouse_codec::parse_basic(header) {
        // Debug must not panic (and redacts the secret).
        let _ = format!("{creds:?}");
        let _ = creds.candidates().count();
    }
    let _ = gatehouse_codec::parse_bearer(header);
});
