//! JSON as Json.NET wrote and read it.
//!
//! Writing is `serde_json` with [`JsonNetFormatter`]. Reading parses with Json.NET's
//! leniencies ([`crate::json_text`]: comments, single quotes, trailing commas and text, depth
//! and length limits, exact duplicate names refused) and binds through [`JsonDe`], which adds
//! the binding leniencies: case-insensitive property names, numbers and booleans bound into
//! strings as their .NET text, `0`/non-zero into booleans, booleans and integers in strings.

use std::io;

use serde::de::{self, IntoDeserializer};
use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter};

use crate::de_common::{match_field_ci, parse_bool_text, parse_i128, visit_int, DeErr, Path};
use crate::error::{DecodeError, EncodeError};
use crate::json_text::{JNumber, JValue as Value};
use crate::DecodeOptions;

/// Json.NET's default string escaping on top of serde_json's compact output: serde_json
/// already escapes `"`, `\`, `\b \f \n \r \t` and other control characters as lowercase
/// `\u00xx`; Json.NET also escapes U+0085, U+2028 and U+2029.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonNetFormatter;

impl Formatter for JsonNetFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // U+0085 is C2 85, U+2028/9 are E2 80 A8/A9: only scan further when C2 or E2 occur.
        let bytes = fragment.as_bytes();
        if !bytes.iter().any(|&b| b == 0xC2 || b == 0xE2) {
            return writer.write_all(bytes);
        }
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let esc: &[u8] = match c {
                '\u{0085}' => b"\\u0085",
                '\u{2028}' => b"\\u2028",
                '\u{2029}' => b"\\u2029",
                _ => continue,
            };
            writer.write_all(&bytes[start..i])?;
            writer.write_all(esc)?;
            start = i + c.len_utf8();
        }
        writer.write_all(&bytes[start..])
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        char_escape: CharEscape,
    ) -> io::Result<()> {
        let s: &[u8] = match char_escape {
            CharEscape::Quote => b"\\\"",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"/",
            CharEscape::Backspace => b"\\b",
            CharEscape::FormFeed => b"\\f",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::AsciiControl(byte) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let buf = [
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(byte >> 4)],
                    HEX[usize::from(byte & 0xF)],
                ];
                return writer.write_all(&buf);
            }
            #[expect(
                unreachable_patterns,
                reason = "the escape table is exhaustive today; the arm keeps a new entry from panicking"
            )]
            _ => return Err(io::Error::other("unknown JSON escape")),
        };
        writer.write_all(s)
    }
}

/// Write `value` as compact Json.NET-style JSON.
pub(crate) fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, JsonNetFormatter);
    value
        .serialize(&mut ser)
        .map_err(|e| EncodeError::Custom(e.to_string()))?;
    Ok(out)
}

/// Strip a UTF-8 byte order mark (Web API's readers accepted one).
pub(crate) fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{FEFF}').unwrap_or(text)
}

/// Parse and bind a JSON body.
pub(crate) fn from_slice<T: de::DeserializeOwned>(
    body: &[u8],
    opts: &DecodeOptions,
) -> Result<T, DecodeError> {
    from_slice_ignoring(body, opts, &[])
}

/// Most member failures reported for one body (Json.NET had no limit; each retry costs a bind).
const MAX_REPORTED: usize = 16;

/// Bind as Json.NET did under Web API's error handler: a root member whose value does not
/// convert is reported and skipped, and binding goes on with the others (at most
/// [`MAX_REPORTED`] failures). `Ok` only when nothing failed; otherwise every failure in
/// document order, and the `required` members (CLR names) that are then missing, null or
/// blank.
pub(crate) fn from_slice_reporting<T: de::DeserializeOwned>(
    body: &[u8],
    opts: &DecodeOptions,
    ignore: &[&str],
    required: &[&'static str],
) -> Result<T, (Vec<DecodeError>, Vec<&'static str>)> {
    let text = std::str::from_utf8(body).map_err(|_| (vec![DecodeError::InvalidUtf8], vec![]))?;
    let mut value =
        crate::json_text::parse_reporting(strip_bom(text), opts).map_err(|(e, twice)| {
            let errors = if twice { vec![e.clone(), e] } else { vec![e] };
            (errors, vec![])
        })?;
    if let Value::Object(members) = &mut value {
        if !ignore.is_empty() {
            members.retain(|(k, _)| !ignore.iter().any(|i| i.eq_ignore_ascii_case(k)));
        }
    }
    let mut errors = Vec::new();
    loop {
        let err = match T::deserialize(JsonDe {
            value: &value,
            path: &Path::Root,
        }) {
            Ok(v) if errors.is_empty() => return Ok(v),
            Ok(_) => break,
            Err(e) => e.locate(&Path::Root).err,
        };
        // The root member the failure is under, as sent.
        let member = err
            .field()
            .map(|f| f.split(['.', '[']).next().unwrap_or(f).to_owned());
        errors.push(err);
        let Value::Object(members) = &mut value else {
            return Err((errors, vec![]));
        };
        let Some(at) = member.and_then(|m| members.iter().position(|(k, _)| *k == m)) else {
            return Err((errors, vec![]));
        };
        members.remove(at);
        if errors.len() >= MAX_REPORTED {
            return Err((errors, vec![]));
        }
    }
    let Value::Object(members) = &value else {
        return Err((errors, vec![]));
    };
    let missing = required
        .iter()
        .filter(|r| {
            !members.iter().any(|(k, v)| {
                k.eq_ignore_ascii_case(r)
                    && match v {
                        Value::Null => false,
                        Value::String(s) => !s.trim().is_empty(),
                        _ => true,
                    }
            })
        })
        .copied()
        .collect();
    Err((errors, missing))
}

/// Parse and bind a JSON body, skipping the root members named in `ignore` (any case), as
/// Json.NET skipped `[JsonIgnore]` properties.
pub(crate) fn from_slice_ignoring<T: de::DeserializeOwned>(
    body: &[u8],
    opts: &DecodeOptions,
    ignore: &[&str],
) -> Result<T, DecodeError> {
    let text = std::str::from_utf8(body).map_err(|_| DecodeError::InvalidUtf8)?;
    let text = strip_bom(text);
    let mut value = crate::json_text::parse(text, opts)?;
    if let Value::Object(members) = &mut value {
        if !ignore.is_empty() {
            members.retain(|(k, _)| !ignore.iter().any(|i| i.eq_ignore_ascii_case(k)));
        }
    }
    T::deserialize(JsonDe {
        value: &value,
        path: &Path::Root,
    })
    .map_err(|e| e.locate(&Path::Root).err)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A deserializer over a parsed JSON value that knows where it is.
pub(crate) struct JsonDe<'a> {
    pub(crate) value: &'a Value,
    pub(crate) path: &'a Path<'a>,
}

impl<'a> JsonDe<'a> {
    fn wrong(&self, expected: &str) -> DeErr {
        if matches!(self.value, Value::Null) {
            DeErr::null(self.path, expected)
        } else {
            DeErr::invalid_type(self.path, expected, kind(self.value))
        }
    }

    /// Integers as Json.NET bound them: a JSON integer, a number with no fraction, or a
    /// string holding an integer.
    fn integer(&self) -> Result<i128, DeErr> {
        match self.value {
            Value::Number(n) => number_to_int(n).ok_or_else(|| {
                DeErr::invalid_value(self.path, "expected an integer, found a fractional number")
            }),
            Value::String(s) => parse_i128(s).ok_or_else(|| {
                DeErr::invalid_value(
                    self.path,
                    "expected an integer, found a string that is not one",
                )
            }),
            _ => Err(self.wrong("an integer")),
        }
    }

    fn fin<T>(&self, r: Result<T, DeErr>) -> Result<T, DeErr> {
        r.map_err(|e| e.locate(self.path))
    }
}

fn number_to_int(n: &JNumber) -> Option<i128> {
    if n.int.is_some() {
        return n.int;
    }
    let f = n.float;
    // Exactly integral and within i64: Json.NET converted such floats.
    if f.fract() == 0.0 && f.abs() < 9.2e18 {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "integral and below 2^63, checked just above"
        )]
        Some(f as i64 as i128)
    } else {
        None
    }
}

macro_rules! int_methods {
    ($($m:ident),*) => {$(
        fn $m<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeErr> {
            let n = self.integer()?;
            let r = visit_int(visitor, n);
            self.fin(r)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for JsonDe<'_> {
    type Error = DeErr;

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeErr> {
        let r = match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => match n.int {
                Some(i) => visit_int(visitor, i),
                None => visitor.visit_f64(n.float),
            },
            Value::String(s) => visitor.visit_str(s),
            Value::Array(items) => visitor.visit_seq(JsonSeq {
                items: items.iter().enumerate(),
                path: self.path,
            }),
            Value::Object(map) => visitor.visit_map(JsonMap {
                iter: map.iter(),
                fields: None,
                value: None,
                path: self.path,
            }),
        };
        self.fin(r)
    }

    fn deserialize_bool<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeErr> {
        let b = match self.value {
            Value::Bool(b) => *b,
            // Json.NET converted numbers: zero is false, anything else true.
            Value::Number(n) => n.float != 0.0,
            Value::String(s) => parse_bool_text(s).ok_or_else(|| {
                DeErr::invalid_value(
                    self.path,
                    "expected a boolean, found a string that is not one",
                )
            })?,
            _ => return Err(self.wrong("a boolean")),
        };
        let r = visitor.visit_bool(b);
        self.fin(r)
    }

    int_methods!(
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128
    );

    fn deserialize_f32<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeErr> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeErr> {
        let f = match self.value {
            Value::Number(n) => Some(n.float),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => return Err(self.wrong("a number")),
        };
        let f = f.ok_or_else(|| DeErr::invalid_value(self.path, "expected a number"))?;
        let r = visitor.visit_f64(f);
        self.fin(r)
    }

    fn deserialize_char<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeErr> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeErr> {
        // Json.NET bound a number or a boolean into a string member as its .NET text
        // (`1234`, `1.5`, `True`): JavaScript clients send member ids as numbers.
        let r = match self.value {
            Value::String(s) => visitor.visit_str(s),
            Value::Number(n) => visitor.visit_str(&n.text()),
            Value::Bool(true) => visitor.visit_str("True"),
            Value::Bool(false) => visitor.visit_str("False"),
            _ => return Err(self.wrong("a string")),
        };
        self.fin(r)
    }

    fn deserialize_string<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeErr> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeErr> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeErr> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeErr> {
        let r = match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(JsonDe {
                value: self.value,
                path: self.path,
            }),
        };
        self.fin(r)
    }

    fn deserialize_unit<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeErr> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            _ => Err(self.wrong("null")),
        }
    }

    fn deserialize_unit_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeErr> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeErr> {
        // The XML hints (TimeSpan, enums) mean nothing in JSON: the inner value is the JSON form.
        let path = self.path;
        visitor
            .visit_newtype_struct(self)
            .map_err(|e| e.locate(path))
    }

    fn deserialize_seq<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeErr> {
        match self.value {
            Value::Array(items) => {
                let r = visitor.visit_seq(JsonSeq {
                    items: items.iter().enumerate(),
                    path: self.path,
                });
                self.fin(r)
            }
            _ => Err(self.wrong("an array")),
        }
    }

    fn deserialize_tuple<V: de::Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeErr> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeErr> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeErr> {
        match self.value {
            Value::Object(map) => {
                let r = visitor.visit_map(JsonMap {
                    iter: map.iter(),
                    fields: None,
                    value: None,
                    path: self.path,
                });
                self.fin(r)
            }
            _ => Err(self.wrong("an object")),
        }
    }

    fn deserialize_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeErr> {
        match self.value {
            Value::Object(map) => {
                let r = visitor.visit_map(JsonMap {
                    iter: map.iter(),
                    fields: Some(fields),
                    value: None,
                    path: self.path,
                });
                self.fin(r)
            }
            _ => Err(self.wrong("an object")),
        }
    }

    fn deserialize_enum<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeErr> {
        match self.value {
            Value::String(s) => {
                let r = visitor.visit_enum(s.as_str().into_deserializer());
                self.fin(r)
            }
            _ => Err(self.wrong("a string")),
        }
    }

    fn deserialize_identifier<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeErr> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeErr> {
        visitor.visit_unit()
    }
}

struct JsonSeq<'a> {
    items: std::iter::Enumerate<std::slice::Iter<'a, Value>>,
    path: &'a Path<'a>,
}

impl<'de> de::SeqAccess<'de> for JsonSeq<'_> {
    type Error = DeErr;

    fn next_element_seed<S: de::DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, DeErr> {
        match self.items.next() {
            None => Ok(None),
            Some((i, value)) => {
                let path = Path::Index(self.path, i);
                seed.deserialize(JsonDe { value, path: &path })
                    .map(Some)
                    .map_err(|e| e.locate(&path))
            }
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// Object entries; for a struct (`fields` given) the keys are mapped onto the serde field
/// names, exactly first, then case-insensitively; unknown keys pass through unchanged (the
/// struct's visitor ignores them).
struct JsonMap<'a> {
    iter: std::slice::Iter<'a, (String, Value)>,
    fields: Option<&'static [&'static str]>,
    /// The serde name, the name as sent (Json.NET's path uses it), the value.
    value: Option<(&'a str, &'a str, &'a Value)>,
    path: &'a Path<'a>,
}

impl<'de> de::MapAccess<'de> for JsonMap<'_> {
    type Error = DeErr;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeErr> {
        let Some((k, v)) = self.iter.next() else {
            return Ok(None);
        };
        let name: &str = match self.fields {
            Some(fields) => match_field_ci(k, fields).unwrap_or(k.as_str()),
            None => k.as_str(),
        };
        self.value = Some((name, k.as_str(), v));
        seed.deserialize(de::value::StrDeserializer::<DeErr>::new(name))
            .map(Some)
            .map_err(|e| e.locate(self.path))
    }

    fn next_value_seed<S: de::DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, DeErr> {
        let Some((_, sent, value)) = self.value.take() else {
            return Err(DeErr::invalid_value(
                self.path,
                "internal: value requested before key",
            ));
        };
        let path = if self.fields.is_some() {
            Path::Field(self.path, sent)
        } else {
            Path::Key(self.path, sent)
        };
        seed.deserialize(JsonDe { value, path: &path })
            .map_err(|e| e.locate(&path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}
