//! The crate's error types: what went wrong reading a body, writing one, or classifying a
//! media type. Every message is safe to show to the client that sent the body: it names the
//! field and the reason, never the value of a field.
//!
//! Three enums, not one, on purpose (issue 10 asked for the reason to be written down): they
//! arise at three different moments, are owed by different parties and end in different
//! answers, and each function's signature says which of them it can produce.
//! * [`MediaTypeError`] is decided from a header before any byte of the body is read; it is
//!   the client's, ends in 415, and its `Display` is Web API's exact sentence.
//! * [`DecodeError`] is the client's body; it ends in 400 (Web API's `ModelState` in the
//!   legacy dialects) and is safe to show (it never quotes the body).
//! * [`EncodeError`] is the server's own failure to write a value it built; it ends in 500 and
//!   is logged, never shown.
//!
//! One enum would let `encode` return a body error and `classify` a serializer error, and
//! force every caller to map variants that cannot occur where it stands.

use std::fmt;

/// A request body could not be bound to the expected type.
///
/// The `Display` text is a sentence a client can act on, such as
/// `field 'MemberId': expected a string, found a number`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The body is empty (or only whitespace).
    #[error("the request body is empty")]
    EmptyBody,
    /// The body is not valid UTF-8.
    #[error("the request body is not valid UTF-8")]
    InvalidUtf8,
    /// The body is not well-formed in its media type (includes truncated documents). The
    /// reason names a position and what was expected, never the input itself (an end tag or
    /// a token may be a piece of a password).
    #[error("the request body is not well-formed {format}: {reason}")]
    Malformed {
        /// `JSON`, `XML` or `form data`.
        format: &'static str,
        /// What the parser found.
        reason: String,
        /// JSON: Json.NET's path of the member being read when the document broke off
        /// (empty at the root, and for XML and forms).
        field: String,
    },
    /// The document nests deeper than [`DecodeOptions::max_depth`](crate::DecodeOptions).
    #[error("the request body nests deeper than {max} levels")]
    TooDeep {
        /// The configured limit.
        max: usize,
    },
    /// A string is longer than [`DecodeOptions::max_string_len`](crate::DecodeOptions).
    #[error("{}: the value is longer than {max} bytes", Loc(.field))]
    TooLong {
        /// Path of the value (empty for a name or text outside any field).
        field: String,
        /// The configured limit.
        max: usize,
    },
    /// XML root element with the wrong name (the name sent is kept for the caller, never
    /// shown).
    #[error("the root element is not '{expected}'")]
    WrongRoot {
        /// The contract's root name.
        expected: &'static str,
        /// The local name that was sent.
        found: String,
    },
    /// XML root element in the wrong namespace, or in none (DataContractSerializer refused
    /// both).
    #[error("the root element is not in namespace '{expected}'")]
    WrongNamespace {
        /// The contract's namespace.
        expected: &'static str,
        /// The namespace that was sent.
        found: String,
    },
    /// DOCTYPE, entity declarations, processing instructions or unknown entities.
    #[error("{what} is not accepted in a request body")]
    Forbidden {
        /// What was found (`a DOCTYPE declaration`, ...).
        what: &'static str,
    },
    /// A member (or a form key, or a dictionary key) appears more than once.
    #[error("{}: appears more than once", Loc(.field))]
    Repeated {
        /// Path of the member.
        field: String,
    },
    /// A required member is absent.
    #[error("{}: is required", Loc(.field))]
    Missing {
        /// Path of the member.
        field: String,
    },
    /// A member is null (JSON `null`, XML `i:nil="true"`) where a value is required.
    #[error("{}: must not be null, expected {expected}", Loc(.field))]
    Null {
        /// Path of the member.
        field: String,
        /// What the member needs.
        expected: String,
    },
    /// A member has the wrong JSON type (or XML shape).
    #[error("{}: expected {expected}, found {found}", Loc(.field))]
    InvalidType {
        /// Path of the member.
        field: String,
        /// What the member needs (`a string`).
        expected: String,
        /// What was sent (`a number`), never the value itself.
        found: String,
    },
    /// A member has the right type but an unacceptable value.
    #[error("{}: {reason}", Loc(.field))]
    InvalidValue {
        /// Path of the member.
        field: String,
        /// Why it was rejected.
        reason: String,
    },
    /// An `Authorization` header that cannot be used.
    #[error("the Authorization header is invalid: {reason}")]
    Authorization {
        /// What is wrong with it (never its content).
        reason: &'static str,
    },
}

impl DecodeError {
    /// The path of the member the error is about (`MemberId`, `Header.StatusCode`,
    /// `Payload[k]`), if it is about one.
    pub fn field(&self) -> Option<&str> {
        let f = match self {
            DecodeError::TooLong { field, .. }
            | DecodeError::Malformed { field, .. }
            | DecodeError::Repeated { field }
            | DecodeError::Missing { field }
            | DecodeError::Null { field, .. }
            | DecodeError::InvalidType { field, .. }
            | DecodeError::InvalidValue { field, .. } => field.as_str(),
            _ => return None,
        };
        (!f.is_empty()).then_some(f)
    }

    pub(crate) fn field_mut(&mut self) -> Option<&mut String> {
        match self {
            DecodeError::TooLong { field, .. }
            | DecodeError::Repeated { field }
            | DecodeError::Missing { field }
            | DecodeError::Null { field, .. }
            | DecodeError::InvalidType { field, .. }
            | DecodeError::InvalidValue { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// `field 'X'`, or `the request body` for the root.
struct Loc<'a>(&'a String);

impl fmt::Display for Loc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("the request body")
        } else {
            write!(f, "field '{}'", self.0)
        }
    }
}

/// A value could not be written in the requested media type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The value has a shape the media type cannot express (XML root that is not a struct,
    /// dictionary with non-string entries, ...).
    #[error("cannot write {what} as {format}")]
    Unsupported {
        /// `JSON`, `XML` or `form data`.
        format: &'static str,
        /// What could not be written.
        what: String,
    },
    /// A `TimeSpan` hint carried a value that is not a `c`-format time span.
    #[error("invalid TimeSpan '{0}'")]
    InvalidTimeSpan(String),
    /// The value's `Serialize` implementation failed.
    #[error("serialization failed: {0}")]
    Custom(String),
}

impl serde::ser::Error for EncodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        EncodeError::Custom(msg.to_string())
    }
}

/// A request Content-Type that no reader accepts. The `Display` texts are the 415 messages
/// of ASP.NET Web API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MediaTypeError {
    /// No Content-Type header (Web API inferred `application/octet-stream`).
    #[error("The request contains an entity body but no Content-Type header. The inferred media type 'application/octet-stream' is not supported for this resource.")]
    Missing,
    /// `text/javascript`: only the katana `/token` endpoint reads it (as JSON).
    #[error(
        "The request entity's media type 'text/javascript' is not supported for this resource."
    )]
    JavaScript,
    /// Any other media type (as sent, without parameters).
    #[error("The request entity's media type '{0}' is not supported for this resource.")]
    Unsupported(String),
}
