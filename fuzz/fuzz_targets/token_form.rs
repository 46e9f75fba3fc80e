#![no_main]
//! The form body of `/oauth2/token`, through the strict form reader into `TokenRequest`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gatehouse_fuzz::token_form(data);
});
