//! Integration tests of the codec over the real models and over local test types.

mod auth;
mod edges;
mod form_golden;
mod golden;
mod hostile;
mod negotiation;
mod props;
mod reading;

use gatehouse_codec::DecodeOptions;

/// Default options.
pub fn opts() -> DecodeOptions {
    DecodeOptions::default()
}

/// Lossless text of an encoded body for assertions.
pub fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("encoders write UTF-8")
}
