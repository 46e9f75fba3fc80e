#![no_main]
//! Every request type, decoded from xml (the first byte selects the type).

use gatehouse_codec::BodyFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gatehouse_fuzz::dispatch(BodyFormat::Xml, data);
});
