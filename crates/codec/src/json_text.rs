//! Json.NET's `JsonTextReader`, as lenient as it was: `/* */` and `//` comments, strings
//! and names in single quotes, unquoted names, a trailing comma, hexadecimal and octal
//! integers, `NaN`/`Infinity`/`undefined`, and text after the root value (Json.NET's
//! serializer stopped reading there). One refusal is deliberate: a member name that appears
//! twice in one object (Json.NET kept the last) is an error, because two readers of the same
//! body (a proxy, a log, this server) must not disagree about who logs in.
//!
//! The parser is iterative over the input bytes (recursion depth bounded by
//! [`DecodeOptions::max_depth`](crate::DecodeOptions)), runs in time linear in the body, and
//! never echoes input: an error names the position and the member path
//! (Json.NET's `Path`, which Web API used for the ModelState key).

use std::collections::HashSet;

use crate::error::DecodeError;
use crate::DecodeOptions;

/// A parsed JSON value. Objects keep their members in document order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JValue {
    Null,
    Bool(bool),
    Number(JNumber),
    String(String),
    Array(Vec<JValue>),
    Object(Vec<(String, JValue)>),
}

/// A number: its text as .NET's `ToString()` wrote it (what Json.NET bound into a string
/// member), and its value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JNumber {
    /// The text when it is not derived from the value: the digits of an integer beyond
    /// i128 (a `BigInteger`), `NaN`, `Infinity`, `-Infinity`.
    special: Option<String>,
    /// The value when it is an integer literal (decimal, hex or octal) that fits.
    pub(crate) int: Option<i128>,
    pub(crate) float: f64,
}

impl JNumber {
    /// The text Json.NET bound into a string member (computed only when one asks).
    pub(crate) fn text(&self) -> String {
        match (&self.special, self.int) {
            (Some(t), _) => t.clone(),
            (None, Some(i)) => i.to_string(),
            (None, None) => dotnet_double(self.float),
        }
    }
}

/// Objects up to this many members look for a repeated name by scanning (cheaper than
/// hashing for the small objects every request is); larger ones switch to a hash set, so the
/// check stays linear in the body.
const LINEAR_SCAN: usize = 32;

/// One step of Json.NET's path: a member name or an array index.
enum Seg {
    Name(String),
    Index(usize),
}

struct Parser<'a> {
    /// The document; `s` is its bytes (every slice taken ends at an ASCII byte, so it is
    /// valid UTF-8 on its own).
    text: &'a str,
    s: &'a [u8],
    i: usize,
    opts: &'a DecodeOptions,
    /// Per open container: the member or element being read (`None` before the first).
    path: Vec<Option<Seg>>,
    /// A value is due (after `:`, `[` or an array's `,`) and has not been read yet.
    awaiting: bool,
    /// Keep member names in `path`. Off on the first pass (names cost an allocation each);
    /// a failure parses again with it on, and the parser being deterministic, fails at the
    /// same place with the path filled in.
    track: bool,
}

/// Parse `text` (BOM already stripped) into a value; what follows the root value is ignored.
pub(crate) fn parse(text: &str, opts: &DecodeOptions) -> Result<JValue, DecodeError> {
    parse_reporting(text, opts).map_err(|(e, _)| e)
}

/// [`parse`], also telling whether Json.NET reported the failure twice: a document that
/// breaks off inside a root member's value failed once where the member's value was read and
/// again for the object, both at the member's path (Web API's ModelState lists both).
pub(crate) fn parse_reporting(
    text: &str,
    opts: &DecodeOptions,
) -> Result<JValue, (DecodeError, bool)> {
    let run = |track: bool| {
        let mut p = Parser {
            text,
            s: text.as_bytes(),
            i: 0,
            opts,
            path: Vec::new(),
            awaiting: false,
            track,
        };
        let r = p.skip_ws().and_then(|()| {
            if p.i >= p.s.len() {
                Err(DecodeError::EmptyBody)
            } else {
                p.value()
            }
        });
        r.map_err(|e| {
            let in_member = matches!(p.path.first(), Some(Some(Seg::Name(_))));
            let twice = matches!(e, DecodeError::Malformed { .. })
                && in_member
                && (p.path.len() > 1 || p.awaiting);
            (e, twice)
        })
    };
    run(false).or_else(|_| run(true))
}

impl Parser<'_> {
    /// Json.NET's `Path` of the current position (`Payload.k`, `items[0]`, empty at the root).
    fn json_path(&self) -> String {
        let mut out = String::new();
        for seg in self.path.iter().flatten() {
            match seg {
                Seg::Name(n) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(n);
                }
                Seg::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
            }
        }
        out
    }

    fn err(&self, what: &str) -> DecodeError {
        let before = &self.s[..self.i.min(self.s.len())];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let col = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
        DecodeError::Malformed {
            format: "JSON",
            reason: format!("{what} at line {line}, position {col}"),
            field: self.json_path(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_ws(&mut self) -> Result<(), DecodeError> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n' | 0x0B | 0x0C) => self.i += 1,
                Some(b'/') => match self.s.get(self.i + 1) {
                    Some(b'*') => {
                        let rest = &self.s[self.i + 2..];
                        match rest.windows(2).position(|w| w == b"*/") {
                            Some(end) => self.i += 2 + end + 2,
                            None => {
                                self.i = self.s.len();
                                return Err(self.err("an unterminated comment"));
                            }
                        }
                    }
                    Some(b'/') => {
                        while let Some(b) = self.peek() {
                            if b == b'\n' || b == b'\r' {
                                break;
                            }
                            self.i += 1;
                        }
                    }
                    _ => return Err(self.err("an unexpected character")),
                },
                Some(0xC2) if self.s.get(self.i + 1) == Some(&0xA0) => self.i += 2,
                _ => return Ok(()),
            }
        }
    }

    fn enter(&mut self) -> Result<(), DecodeError> {
        if self.path.len() >= self.opts.max_depth {
            return Err(DecodeError::TooDeep {
                max: self.opts.max_depth,
            });
        }
        self.path.push(None);
        Ok(())
    }

    fn value(&mut self) -> Result<JValue, DecodeError> {
        // An explicit stack of open containers keeps the Rust stack flat whatever the depth.
        enum Open {
            Arr(Vec<JValue>),
            Obj(Vec<(String, JValue)>, Option<HashSet<String>>, String),
        }
        let mut stack: Vec<Open> = Vec::new();
        loop {
            self.skip_ws()?;
            // Read one value (or open a container).
            let mut v = match self.peek() {
                None => return Err(self.err("the end of the document")),
                Some(b'{') => {
                    self.i += 1;
                    self.enter()?;
                    match self.object_key()? {
                        None => JValue::Object(Vec::new()),
                        Some(k) => {
                            stack.push(Open::Obj(Vec::new(), None, k));
                            continue;
                        }
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    self.enter()?;
                    self.skip_ws()?;
                    if self.peek() == Some(b']') {
                        self.i += 1;
                        self.path.pop();
                        JValue::Array(Vec::new())
                    } else {
                        if let Some(top) = self.path.last_mut() {
                            *top = Some(Seg::Index(0));
                        }
                        self.awaiting = true;
                        stack.push(Open::Arr(Vec::new()));
                        continue;
                    }
                }
                Some(q @ (b'"' | b'\'')) => JValue::String(self.string(q)?),
                Some(_) => self.scalar()?,
            };
            self.awaiting = false;
            // Attach it to the innermost container, closing those that end here.
            loop {
                match stack.last_mut() {
                    None => return Ok(v),
                    Some(Open::Arr(items)) => {
                        items.push(v);
                        self.skip_ws()?;
                        match self.peek() {
                            Some(b',') => {
                                self.i += 1;
                                self.skip_ws()?;
                                if self.peek() == Some(b']') {
                                    self.i += 1;
                                } else {
                                    if let Some(top) = self.path.last_mut() {
                                        *top = Some(Seg::Index(items.len()));
                                    }
                                    self.awaiting = true;
                                    break;
                                }
                            }
                            Some(b']') => self.i += 1,
                            None => return Err(self.err("the end of the document")),
                            Some(_) => return Err(self.err("an unexpected character")),
                        }
                        let Some(Open::Arr(items)) = stack.pop() else {
                            unreachable!("top is an array")
                        };
                        self.path.pop();
                        v = JValue::Array(items);
                    }
                    Some(Open::Obj(members, seen, key)) => {
                        // Exact duplicates are refused (see the module comment).
                        let dup = match seen {
                            Some(set) => !set.insert(key.clone()),
                            None => {
                                let dup = members.iter().any(|(k, _)| k == key);
                                if !dup && members.len() >= LINEAR_SCAN {
                                    let mut set: HashSet<String> =
                                        members.iter().map(|(k, _)| k.clone()).collect();
                                    set.insert(key.clone());
                                    *seen = Some(set);
                                }
                                dup
                            }
                        };
                        if dup {
                            return Err(DecodeError::Repeated {
                                field: self.json_path(),
                            });
                        }
                        members.push((std::mem::take(key), v));
                        self.skip_ws()?;
                        match self.peek() {
                            Some(b',') => {
                                self.i += 1;
                                if let Some(k) = self.object_key()? {
                                    *key = k;
                                    break;
                                }
                            }
                            Some(b'}') => {
                                self.i += 1;
                                self.path.pop();
                            }
                            None => return Err(self.err("the end of the document")),
                            Some(_) => return Err(self.err("an unexpected character")),
                        }
                        let Some(Open::Obj(members, ..)) = stack.pop() else {
                            unreachable!("top is an object")
                        };
                        v = JValue::Object(members);
                    }
                }
            }
        }
    }

    /// After `{` or `,`: the next member name and its `:`, or `None` when the object closes
    /// here (`{}`, or a trailing comma as Json.NET allowed).
    fn object_key(&mut self) -> Result<Option<String>, DecodeError> {
        self.skip_ws()?;
        let name = match self.peek() {
            Some(b'}') => {
                self.i += 1;
                self.path.pop();
                return Ok(None);
            }
            Some(q @ (b'"' | b'\'')) => self.string(q)?,
            Some(b) if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80 => {
                let start = self.i;
                while let Some(b) = self.peek() {
                    if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80 {
                        self.i += 1;
                    } else {
                        break;
                    }
                }
                let name = std::str::from_utf8(&self.s[start..self.i])
                    .map_err(|_| DecodeError::InvalidUtf8)?
                    .to_owned();
                if name.len() > self.opts.max_string_len {
                    return Err(DecodeError::TooLong {
                        field: self.json_path(),
                        max: self.opts.max_string_len,
                    });
                }
                name
            }
            None => return Err(self.err("the end of the document")),
            Some(_) => return Err(self.err("an invalid member name")),
        };
        if self.track {
            if let Some(top) = self.path.last_mut() {
                *top = Some(Seg::Name(name.clone()));
            }
        }
        self.skip_ws()?;
        if self.peek() != Some(b':') {
            return Err(self.err("a member name not followed by ':'"));
        }
        self.i += 1;
        self.awaiting = true;
        Ok(Some(name))
    }

    fn string(&mut self, quote: u8) -> Result<String, DecodeError> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let start = self.i;
            while let Some(b) = self.peek() {
                if b == quote || b == b'\\' {
                    break;
                }
                self.i += 1;
            }
            out.push_str(
                self.text
                    .get(start..self.i)
                    .ok_or(DecodeError::InvalidUtf8)?,
            );
            if out.len() > self.opts.max_string_len {
                return Err(DecodeError::TooLong {
                    field: self.json_path(),
                    max: self.opts.max_string_len,
                });
            }
            match self.peek() {
                None => return Err(self.err("an unterminated string")),
                Some(b) if b == quote => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(_) => {
                    self.i += 1;
                    let c = match self.peek() {
                        Some(b'"') => '"',
                        Some(b'\'') => '\'',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.i += 1;
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi)
                                && self.s.get(self.i) == Some(&b'\\')
                                && self.s.get(self.i + 1) == Some(&b'u')
                            {
                                self.i += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err("an unpaired surrogate escape"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            let c = char::from_u32(code)
                                .ok_or_else(|| self.err("an unpaired surrogate escape"))?;
                            out.push(c);
                            continue;
                        }
                        _ => return Err(self.err("an invalid escape")),
                    };
                    self.i += 1;
                    out.push(c);
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, DecodeError> {
        let digits = self
            .s
            .get(self.i..self.i + 4)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .ok_or_else(|| self.err("an invalid \\u escape"))?;
        self.i += 4;
        Ok(digits)
    }

    /// `true`, `false`, `null`, `undefined`, `NaN`, `Infinity`, or a number.
    fn scalar(&mut self) -> Result<JValue, DecodeError> {
        let start = self.i;
        while let Some(b) = self.peek() {
            if b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.') {
                self.i += 1;
            } else {
                break;
            }
        }
        let word = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
        let float = |f: f64, text: &str| {
            JValue::Number(JNumber {
                special: Some(text.to_owned()),
                int: None,
                float: f,
            })
        };
        match word {
            "true" => return Ok(JValue::Bool(true)),
            "false" => return Ok(JValue::Bool(false)),
            "null" | "undefined" => return Ok(JValue::Null),
            "NaN" => return Ok(float(f64::NAN, "NaN")),
            "Infinity" => return Ok(float(f64::INFINITY, "Infinity")),
            "-Infinity" => return Ok(float(f64::NEG_INFINITY, "-Infinity")),
            _ => {}
        }
        number(word).ok_or_else(|| {
            self.i = start;
            self.err("an unexpected character")
        })
    }
}

/// A number literal as Json.NET read it: decimal integers (any size: `BigInteger`), `0x`
/// hexadecimal and `0`-prefixed octal integers, and floating point (a `double`).
fn number(word: &str) -> Option<JValue> {
    let (neg, digits) = match word.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, word),
    };
    let first = digits.bytes().next()?;
    if !first.is_ascii_digit() && first != b'.' {
        return None;
    }
    let int = |v: i128| {
        let v = if neg { -v } else { v };
        Some(JValue::Number(JNumber {
            special: None,
            int: Some(v),
            // Precision loss is intended: this is the value as a double.
            float: v as f64,
        }))
    };
    if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        return i128::from_str_radix(hex, 16).ok().and_then(int);
    }
    if digits.bytes().all(|b| b.is_ascii_digit()) {
        if digits.len() > 1 && digits.starts_with('0') {
            return i128::from_str_radix(&digits[1..], 8).ok().and_then(int);
        }
        if let Ok(v) = digits.parse::<i128>() {
            return int(v);
        }
        // Beyond i128: a BigInteger in Json.NET, bound into a string as its digits.
        let trimmed = digits.trim_start_matches('0');
        let text = if neg {
            format!("-{trimmed}")
        } else {
            trimmed.to_owned()
        };
        return Some(JValue::Number(JNumber {
            float: word.parse().ok()?,
            special: Some(text),
            int: None,
        }));
    }
    let f: f64 = word.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    Some(JValue::Number(JNumber {
        special: None,
        int: None,
        float: f,
    }))
}

/// .NET's `Double.ToString()` (format `G`, 15 significant digits): `1`, `1.5`, `1000`,
/// `1.23456789012346`, `1E+20`, `1E-05`.
pub(crate) fn dotnet_double(f: f64) -> String {
    if f == 0.0 {
        return "0".to_owned();
    }
    // 15 significant digits in scientific form, then placed as .NET's G format does.
    let sci = format!("{:.14e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let sign = if f < 0.0 { "-" } else { "" };
    if (-4..15).contains(&exp) {
        if exp >= 0 {
            let int_len = usize::try_from(exp + 1).unwrap_or(1);
            if digits.len() <= int_len {
                format!("{sign}{digits}{}", "0".repeat(int_len - digits.len()))
            } else {
                format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
            }
        } else {
            let zeros = usize::try_from(-exp - 1).unwrap_or(0);
            format!("{sign}0.{}{digits}", "0".repeat(zeros))
        }
    } else {
        let (head, tail) = digits.split_at(1);
        let dot = if tail.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{head}{dot}{tail}E{esign}{:02}", exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<JValue, DecodeError> {
        parse(s, &DecodeOptions::default())
    }

    #[test]
    fn json_net_leniencies() {
        let v = p("/* c */ {clientId:'a', // x\n \"b\":[1,2,],} trailing").unwrap();
        let JValue::Object(m) = v else { panic!() };
        assert_eq!(m[0], ("clientId".into(), JValue::String("a".into())));
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn duplicates_refused_with_their_path() {
        let e = p(r#"{"a":{"u":"bob","u":"alice"}}"#).unwrap_err();
        assert_eq!(
            e,
            DecodeError::Repeated {
                field: "a.u".into()
            }
        );
        let many: String = (0..40).map(|i| format!("\"k{i}\":1,")).collect();
        let e = p(&format!("{{{many}\"k3\":2}}")).unwrap_err();
        assert!(matches!(e, DecodeError::Repeated { .. }));
        // Case variants are different names here (the binder refuses them per struct).
        assert!(p(r#"{"u":1,"U":2}"#).is_ok());
    }

    #[test]
    fn errors_name_json_net_paths_and_never_the_input() {
        let e = p(r#"{"MemberId":"1""#).unwrap_err();
        assert_eq!(e.field(), Some("MemberId"));
        let e = p(r#"{"Password":"Secret99pw" @}"#).unwrap_err();
        assert!(!e.to_string().contains("Secret99pw"), "{e}");
        assert_eq!(e.field(), Some("Password"));
        assert_eq!(p("garbage").unwrap_err().field(), None);
        assert_eq!(p("[1, @").unwrap_err().field(), Some("[1]"));
    }

    #[test]
    fn failures_inside_a_member_value_count_twice_as_in_json_net() {
        let twice = |s: &str| parse_reporting(s, &DecodeOptions::default()).unwrap_err().1;
        assert!(twice(r#"{"MemberId":"#));
        assert!(twice(r#"{"MemberId":tru}"#));
        assert!(twice(r#"{"MemberId":{"#));
        assert!(!twice(r#"{"MemberId":"1","#));
        assert!(!twice(r#"{"MemberId":"1" "Password":"2"}"#));
        assert!(!twice("garbage"));
        assert!(!twice(r#"{"a":1,"a":2}"#));
    }

    #[test]
    fn numbers_as_dotnet_wrote_them() {
        for (lit, text) in [
            ("1.0", "1"),
            ("1.50", "1.5"),
            ("1e3", "1000"),
            (
                "12345678901234567890123456789012345678901",
                "12345678901234567890123456789012345678901",
            ),
            ("-0", "0"),
            ("0x1F", "31"),
            ("010", "8"),
            ("1.23456789012345678", "1.23456789012346"),
            ("1e20", "1E+20"),
            ("0.00001", "1E-05"),
            ("0.0001", "0.0001"),
            ("-2.5", "-2.5"),
        ] {
            let JValue::Number(n) = p(lit).unwrap() else {
                panic!("{lit}")
            };
            assert_eq!(n.text(), text, "{lit}");
        }
    }

    #[test]
    fn depth_is_bounded_without_recursion() {
        let deep = "[".repeat(100_000);
        assert!(matches!(p(&deep), Err(DecodeError::TooDeep { .. })));
    }
}
