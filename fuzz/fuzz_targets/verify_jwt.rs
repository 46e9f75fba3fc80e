#![no_main]
//! JWT verification: a compact JWS as sent, or claims signed then verified (first byte).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gatehouse_fuzz::jwt::verify(data);
});
