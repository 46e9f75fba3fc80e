//! Pieces shared by the three readers: the field path, the internal error that learns its
//! path on the way up, and the member-name matching.

use std::fmt;

use serde::de;

use crate::error::DecodeError;

/// Where a value sits in the document; built on the stack while descending, formatted only
/// when an error needs it.
#[derive(Clone, Copy)]
pub(crate) enum Path<'a> {
    Root,
    Field(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
    Key(&'a Path<'a>, &'a str),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Field(Path::Root, name) => f.write_str(name),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
            Path::Key(parent, k) => write!(f, "{parent}[{k}]"),
        }
    }
}

/// Join a member name below a path (`missing_field` gives a name relative to the struct).
fn join(path: &Path<'_>, name: &str) -> String {
    match path {
        Path::Root => name.to_owned(),
        _ => format!("{path}.{name}"),
    }
}

/// The readers' error: a [`DecodeError`] that gets its field path filled in by the innermost
/// deserializer that sees it.
#[derive(Debug)]
pub(crate) struct DeErr {
    pub(crate) err: DecodeError,
    located: bool,
    /// `missing_field` / `duplicate_field`: the field name is relative to the struct.
    relative: bool,
}

impl DeErr {
    pub(crate) fn new(err: DecodeError) -> Self {
        DeErr {
            err,
            located: false,
            relative: false,
        }
    }

    /// An error whose path is already final.
    pub(crate) fn at(mut err: DecodeError, path: &Path<'_>) -> Self {
        if let Some(f) = err.field_mut() {
            *f = path.to_string();
        }
        DeErr {
            err,
            located: true,
            relative: false,
        }
    }

    /// Give the error the path of the value being deserialized, unless a deeper one did.
    pub(crate) fn locate(mut self, path: &Path<'_>) -> Self {
        if !self.located {
            if let Some(f) = self.err.field_mut() {
                *f = if self.relative {
                    join(path, f)
                } else {
                    path.to_string()
                };
            }
            self.located = true;
        }
        self
    }

    pub(crate) fn invalid_type(path: &Path<'_>, expected: &str, found: &str) -> Self {
        DeErr::at(
            DecodeError::InvalidType {
                field: String::new(),
                expected: expected.to_owned(),
                found: found.to_owned(),
            },
            path,
        )
    }

    pub(crate) fn invalid_value(path: &Path<'_>, reason: impl Into<String>) -> Self {
        DeErr::at(
            DecodeError::InvalidValue {
                field: String::new(),
                reason: reason.into(),
            },
            path,
        )
    }

    pub(crate) fn null(path: &Path<'_>, expected: &str) -> Self {
        DeErr::at(
            DecodeError::Null {
                field: String::new(),
                expected: expected.to_owned(),
            },
            path,
        )
    }

    pub(crate) fn repeated(path: &Path<'_>) -> Self {
        DeErr::at(
            DecodeError::Repeated {
                field: String::new(),
            },
            path,
        )
    }
}

impl fmt::Display for DeErr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.err.fmt(f)
    }
}

impl std::error::Error for DeErr {}

/// Describe what serde's visitors expected or got, without the value itself (a value may be
/// a password).
fn describe(unexp: de::Unexpected<'_>) -> &'static str {
    use de::Unexpected as U;
    match unexp {
        U::Bool(_) => "a boolean",
        U::Unsigned(_) | U::Signed(_) => "an integer",
        U::Float(_) => "a number",
        U::Char(_) | U::Str(_) => "a string",
        U::Bytes(_) => "bytes",
        U::Unit | U::Option => "null",
        U::NewtypeStruct | U::Other(_) => "a value",
        U::Seq => "an array",
        U::Map | U::StructVariant => "an object",
        U::Enum | U::UnitVariant | U::NewtypeVariant | U::TupleVariant => "an enum value",
    }
}

impl de::Error for DeErr {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeErr::new(DecodeError::InvalidValue {
            field: String::new(),
            reason: msg.to_string(),
        })
    }

    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        DeErr::new(DecodeError::InvalidType {
            field: String::new(),
            expected: exp.to_string(),
            found: describe(unexp).to_owned(),
        })
    }

    fn invalid_value(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        DeErr::new(DecodeError::InvalidValue {
            field: String::new(),
            reason: format!("{} out of range, expected {exp}", describe(unexp)),
        })
    }

    fn missing_field(field: &'static str) -> Self {
        DeErr {
            err: DecodeError::Missing {
                field: field.to_owned(),
            },
            located: false,
            relative: true,
        }
    }

    fn duplicate_field(field: &'static str) -> Self {
        DeErr {
            err: DecodeError::Repeated {
                field: field.to_owned(),
            },
            located: false,
            relative: true,
        }
    }

    fn unknown_variant(_variant: &str, expected: &'static [&'static str]) -> Self {
        DeErr::new(DecodeError::InvalidValue {
            field: String::new(),
            reason: format!("unknown value, expected one of: {}", expected.join(", ")),
        })
    }
}

/// Map a member name as sent onto one of the struct's serde field names: exact match first,
/// then ASCII-case-insensitive (as Json.NET and the form binders did). `None`: unknown member.
pub(crate) fn match_field_ci(name: &str, fields: &'static [&'static str]) -> Option<&'static str> {
    fields
        .iter()
        .find(|f| **f == name)
        .or_else(|| fields.iter().find(|f| f.eq_ignore_ascii_case(name)))
        .copied()
}

/// The XML name of a serde field: the JSON name with its first letter upper-cased for
/// camel-cased contracts.
pub(crate) fn xml_name(field: &str, camel: bool) -> std::borrow::Cow<'_, str> {
    if camel {
        let mut chars = field.chars();
        match chars.next() {
            Some(c) if c.is_lowercase() => {
                let mut s = String::with_capacity(field.len());
                s.extend(c.to_uppercase());
                s.push_str(chars.as_str());
                std::borrow::Cow::Owned(s)
            }
            _ => std::borrow::Cow::Borrowed(field),
        }
    } else {
        std::borrow::Cow::Borrowed(field)
    }
}

/// Parse an integer as Json.NET and the .NET binders did: surrounding whitespace allowed, a
/// leading sign allowed.
pub(crate) fn parse_i128(text: &str) -> Option<i128> {
    let t = text.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    if t.is_empty() || t.len() > 40 {
        return None;
    }
    t.parse::<i128>().ok()
}

/// Hand an integer to a visitor in the narrowest serde type that holds it; the visitor
/// reports range errors.
pub(crate) fn visit_int<'de, V: de::Visitor<'de>>(v: V, n: i128) -> Result<V::Value, DeErr> {
    if let Ok(i) = i64::try_from(n) {
        v.visit_i64(i)
    } else if let Ok(u) = u64::try_from(n) {
        v.visit_u64(u)
    } else {
        v.visit_i128(n)
    }
}

/// An `xs:boolean` as the XML readers take it: `1` and `0` (DataContractSerializer writes
/// `true`/`false` but `XmlConvert.ToBoolean` reads `1`/`0` too), or [`parse_bool_text`]. The
/// one rule of the streaming reader (`xml::de`) and the tree binder (`TextDe` in XML mode).
pub(crate) fn parse_xml_bool(text: &str) -> Option<bool> {
    match text.trim() {
        "1" => Some(true),
        "0" => Some(false),
        _ => parse_bool_text(text),
    }
}

/// Parse `true`/`false` (any case, surrounding whitespace allowed).
pub(crate) fn parse_bool_text(text: &str) -> Option<bool> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("true") {
        Some(true)
    } else if t.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}
