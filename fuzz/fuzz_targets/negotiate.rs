#![no_main]
//! Content negotiation: Accept and Content-Type (split at the first NUL byte) through
//! `negotiate` and `classify`, as the server calls them with visible-ASCII header values.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gatehouse_fuzz::negotiate(data);
});
