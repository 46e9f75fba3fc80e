//! Wire types of the five legacy ASP.NET Web API token dialects that Gatehouse speaks, and the
//! .NET value types they need.
//!
//! Every type serializes with plain `serde_json` to the JSON that Json.NET wrote (key order,
//! names, nulls, value formats). The XML that DataContractSerializer wrote needs a little more
//! than serde's data model carries; see [`Contract`] and [`xml_hint`], which the
//! `gatehouse-codec` crate reads.
#![deny(missing_docs)]

use std::fmt;

pub mod dotnet;
pub mod http_error;
pub mod katana;
pub mod member;
pub mod oauth;
pub mod onetime;
pub mod otc;
#[cfg(any(test, feature = "proptest"))]
pub mod strategies;
pub mod v1;

mod redact;

/// The error of this crate: a value whose text form is not valid.
///
/// The reason is a fixed sentence; the offending text itself is not repeated (it may be huge
/// or hostile).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A .NET `DateTime` text is malformed or out of range.
    InvalidDateTime(&'static str),
    /// A .NET `TimeSpan` text (`c` format or xs:duration) is malformed or out of range.
    InvalidTimeSpan(&'static str),
    /// An enum value is neither one of its integers nor one of its names.
    InvalidEnum {
        /// The CLR name of the enum, `ResponseStatus`.
        enum_name: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidDateTime(reason) => write!(f, "invalid DateTime: {reason}"),
            Self::InvalidTimeSpan(reason) => write!(f, "invalid TimeSpan: {reason}"),
            Self::InvalidEnum { enum_name } => {
                write!(
                    f,
                    "not a {enum_name} value: expected one of its integers or names"
                )
            }
        }
    }
}

impl std::error::Error for Error {}

/// What an XML serializer needs to know about a data contract beyond its serde shape.
///
/// Member order in XML is not the declaration order: DataContractSerializer sorts members by
/// ordinal string comparison of their names, which the encoder does from the serde field names.
pub trait Contract {
    /// Root element name, the CLR type name (`TokenModel`).
    const XML_ROOT: &'static str;
    /// Default namespace of the root, `http://schemas.datacontract.org/2004/07/` plus the CLR
    /// namespace. Empty for types written without a namespace (Web API's `<Error>`).
    const XML_NAMESPACE: &'static str;
    /// JSON-only members: get-only CLR properties, which Json.NET wrote and
    /// DataContractSerializer did not (e.g. `TokenModel.ExpireTimeUTC`). Serde field names.
    const XML_OMIT: &'static [&'static str] = &[];
    /// The JSON names are the camelCased CLR names (the dialect used Json.NET's
    /// `CamelCasePropertyNamesContractResolver`); the XML name is the JSON name with its first
    /// letter upper-cased.
    const JSON_CAMEL_CASE: bool = false;
}

/// Newtype-struct names through which a value tells an XML serializer that its XML text
/// differs from its JSON form. Serializers that do not know them (such as `serde_json`)
/// serialize the inner value, which is the JSON form.
pub mod xml_hint {
    /// `serialize_newtype_struct(TIME_SPAN, &c_format_string)`: the XML text is the
    /// xs:duration of the same `TimeSpan` (the encoder parses the `c` form back).
    pub const TIME_SPAN: &str = "$gatehouse::TimeSpan";
    /// `serialize_newtype_struct("$gatehouse::enum::<Name>", &integer)`: the XML text is
    /// `<Name>`, the JSON form is the integer. Enums build the full name as a `&'static str`
    /// per variant.
    pub const ENUM_PREFIX: &str = "$gatehouse::enum::";
}
