//! `Debug` helpers that keep secrets out of debug output.

use std::fmt;

/// Prints `"<redacted>"` in place of a secret.
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

/// Prints `None` for an absent secret and `"<redacted>"` for a present one.
pub(crate) struct RedactedOpt(pub(crate) bool);

impl RedactedOpt {
    pub(crate) fn of<T>(value: &Option<T>) -> Self {
        Self(value.is_some())
    }
}

impl fmt::Debug for RedactedOpt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 {
            f.write_str("\"<redacted>\"")
        } else {
            f.write_str("None")
        }
    }
}
