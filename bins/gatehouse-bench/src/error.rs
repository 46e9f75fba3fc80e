//! The crate's error type.

/// Everything that can go wrong while measuring a ceiling.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A command-line value out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// SQLite refused something.
    #[error("sqlite: {0}")]
    Sqlite(String),
    /// A file or socket operation failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// Writing the JSON result failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        Self::Sqlite(e.to_string())
    }
}

impl From<diesel::ConnectionError> for Error {
    fn from(e: diesel::ConnectionError) -> Self {
        Self::Sqlite(e.to_string())
    }
}
