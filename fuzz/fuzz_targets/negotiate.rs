#![no_main]
//! Content negotiation: Accept and Content-Type (split at the first NUL byte) through
//! `negotiate` and `classify`, as the server calls them with visible-ASCII header values.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (accept, content_type) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let accept = std::str::from_utf8(accept).ok();
    let content_type = std::str::from_utf8(content_type).ok();
    let format = gatehouse_codec::negotiate(accept, content_type);
    let _ = format.content_type();
    let _ = gatehouse_codec::classify(content_type);
    let _ = gatehouse_codec::classify(accept);
});
