#![no_main]
//! The query of `/oauth2/authorize` (and the form of `/oauth2/par`): pairs, parameters, the
//! domain's pure checks.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gatehouse_fuzz::authorize_query(data);
});
