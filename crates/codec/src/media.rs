//! Content-Type classification and Web API's `DefaultContentNegotiator`.

use crate::error::MediaTypeError;

/// How a request body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyFormat {
    /// `application/json`, `text/json` (and `text/javascript` where the caller allows it).
    Json,
    /// `application/xml`, `text/xml`.
    Xml,
    /// `application/x-www-form-urlencoded`.
    Form,
}

/// What a response is written as. Form is never written (Web API could not either).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseFormat {
    /// Json.NET's compact JSON.
    Json,
    /// DataContractSerializer's XML.
    Xml,
}

impl ResponseFormat {
    /// The Content-Type header of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            ResponseFormat::Json => "application/json; charset=utf-8",
            ResponseFormat::Xml => "application/xml; charset=utf-8",
        }
    }
}

/// The `type/subtype` part of a media type, trimmed, parameters dropped.
fn essence(media_type: &str) -> &str {
    media_type.split(';').next().unwrap_or("").trim()
}

/// Classify a request Content-Type. Parameters (`charset`) are ignored, the comparison is
/// case-insensitive.
///
/// `application/json`, `text/json` -> [`BodyFormat::Json`]; `application/xml`, `text/xml` ->
/// [`BodyFormat::Xml`]; `application/x-www-form-urlencoded` -> [`BodyFormat::Form`];
/// `text/javascript` -> [`MediaTypeError::JavaScript`] (the caller decides: the katana
/// `/token` endpoint reads it as JSON); absent or blank -> [`MediaTypeError::Missing`];
/// anything else -> [`MediaTypeError::Unsupported`] with the media type as sent.
///
/// # Errors
/// [`MediaTypeError`]: `text/javascript`, a missing or blank type, or any other type, as
/// above.
pub fn classify(content_type: Option<&str>) -> Result<BodyFormat, MediaTypeError> {
    let Some(raw) = content_type else {
        return Err(MediaTypeError::Missing);
    };
    let mt = essence(raw);
    if mt.is_empty() {
        return Err(MediaTypeError::Missing);
    }
    let is = |s: &str| mt.eq_ignore_ascii_case(s);
    if is("application/json") || is("text/json") {
        Ok(BodyFormat::Json)
    } else if is("application/xml") || is("text/xml") {
        Ok(BodyFormat::Xml)
    } else if is("application/x-www-form-urlencoded") {
        Ok(BodyFormat::Form)
    } else if is("text/javascript") {
        Err(MediaTypeError::JavaScript)
    } else {
        Err(MediaTypeError::Unsupported(mt.to_owned()))
    }
}

/// The formatters that can write a response, in Web API's order, with their supported media
/// types. The form formatters (third and fourth in Web API's list) cannot write any type, so
/// `DefaultContentNegotiator` never considers them for a response: an Accept of
/// `application/x-www-form-urlencoded` matches nothing.
const WRITERS: [(ResponseFormat, [&str; 2]); 2] = [
    (ResponseFormat::Json, ["application/json", "text/json"]),
    (ResponseFormat::Xml, ["application/xml", "text/xml"]),
];

/// How an Accept entry matched a formatter's media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Range {
    All,
    Subtype,
    Literal,
}

/// One parsed Accept entry.
struct AcceptEntry<'a> {
    ty: &'a str,
    subtype: &'a str,
    /// Quality in thousandths (HTTP allows three decimals).
    q: u16,
}

/// Parse one `q` value (`0`, `0.5`, `1.000`); `None` when malformed (the entry is dropped,
/// as .NET's header parser dropped invalid values).
fn parse_q(v: &str) -> Option<u16> {
    let v = v.trim();
    let (int, frac) = match v.split_once('.') {
        Some((i, f)) => (i, f),
        None => (v, ""),
    };
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        let scale = [100, 10, 1][i];
        thousandths += u16::from(b - b'0') * scale;
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

fn parse_accept(header: &str) -> Vec<AcceptEntry<'_>> {
    let mut out = Vec::new();
    for item in header.split(',') {
        let mut parts = item.split(';');
        let mt = parts.next().unwrap_or("").trim();
        let Some((ty, subtype)) = mt.split_once('/') else {
            continue;
        };
        let (ty, subtype) = (ty.trim(), subtype.trim());
        if ty.is_empty() || subtype.is_empty() || (ty == "*" && subtype != "*") {
            continue;
        }
        let mut q = Some(1000);
        for p in parts {
            if let Some((k, v)) = p.split_once('=') {
                if k.trim().eq_ignore_ascii_case("q") {
                    q = parse_q(v);
                }
            }
        }
        if let Some(q) = q {
            out.push(AcceptEntry { ty, subtype, q });
        }
    }
    // Web API sorts by quality, then specific before `type/*` before `*/*`; stable.
    out.sort_by(|a, b| {
        b.q.cmp(&a.q)
            .then_with(|| specificity(b).cmp(&specificity(a)))
    });
    out
}

fn specificity(e: &AcceptEntry<'_>) -> u8 {
    match (e.ty, e.subtype) {
        ("*", _) => 0,
        (_, "*") => 1,
        _ => 2,
    }
}

/// Does `supported` (`application/json`) fall in the Accept range, and how?
fn matches(supported: &str, e: &AcceptEntry<'_>) -> Option<Range> {
    let (sty, ssub) = supported.split_once('/')?;
    if e.ty == "*" {
        Some(Range::All)
    } else if !e.ty.eq_ignore_ascii_case(sty) {
        None
    } else if e.subtype == "*" {
        Some(Range::Subtype)
    } else if e.subtype.eq_ignore_ascii_case(ssub) {
        Some(Range::Literal)
    } else {
        None
    }
}

/// Choose the response format as Web API's `DefaultContentNegotiator` did.
///
/// 1. Accept: each formatter's best entry is its first match in the sorted Accept list
///    (descending q, specific before wildcards; `q=0` never matches). Across formatters a
///    literal match is preferred to `type/*`, which is preferred to `*/*`, unless a later
///    candidate has a strictly higher q; on a tie the earlier formatter (JSON, then XML)
///    wins.
/// 2. Otherwise the request's Content-Type, if a writer supports it (a form request does
///    not match: form is never written).
/// 3. Otherwise JSON.
pub fn negotiate(accept: Option<&str>, content_type: Option<&str>) -> ResponseFormat {
    negotiate_media(accept, None, content_type).format
}

/// The character encoding of a response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Charset {
    /// UTF-8, no byte order mark (the default).
    Utf8,
    /// UTF-16 little-endian with a byte order mark, as .NET's `UnicodeEncoding` wrote it.
    Utf16,
}

/// The full outcome of Web API's content negotiation: the formatter, the media type that
/// matched (`text/json` when that is what the Accept range, `text/*` or the request
/// Content-Type named; the formatter's first type otherwise), and the charset
/// (`Accept-Charset`, then the request's charset, then UTF-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// JSON or XML.
    pub format: ResponseFormat,
    /// `application/json`, `text/json`, `application/xml` or `text/xml`.
    pub media_type: &'static str,
    /// The body's encoding.
    pub charset: Charset,
}

impl Negotiated {
    /// The negotiation's answer for a body Gatehouse wrote in `format` regardless of the
    /// Accept header (the RFC 6749 errors are JSON): the matched media type only when the
    /// formats agree.
    pub fn for_format(self, format: ResponseFormat) -> Negotiated {
        if format == self.format {
            self
        } else {
            Negotiated {
                format,
                media_type: WRITERS[format as usize].1[0],
                charset: self.charset,
            }
        }
    }

    /// The Content-Type header: `text/json; charset=utf-8`, `application/xml; charset=utf-16`.
    pub fn content_type(&self) -> String {
        let charset = match self.charset {
            Charset::Utf8 => "utf-8",
            Charset::Utf16 => "utf-16",
        };
        format!("{}; charset={charset}", self.media_type)
    }

    /// The body in the negotiated charset (`utf8` is what the encoders wrote).
    pub fn encode_body(&self, utf8: &[u8]) -> Vec<u8> {
        match (self.charset, std::str::from_utf8(utf8)) {
            (Charset::Utf16, Ok(text)) => {
                let mut out = Vec::with_capacity(2 + utf8.len() * 2);
                out.extend_from_slice(&[0xFF, 0xFE]);
                for unit in text.encode_utf16() {
                    out.extend_from_slice(&unit.to_le_bytes());
                }
                out
            }
            _ => utf8.to_vec(),
        }
    }
}

/// The `charset` parameter of a media type, if any.
fn charset_param(media_type: &str) -> Option<&str> {
    media_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"'))
    })
}

fn charset_named(name: &str) -> Option<Charset> {
    if name.eq_ignore_ascii_case("utf-8") {
        Some(Charset::Utf8)
    } else if name.eq_ignore_ascii_case("utf-16") {
        Some(Charset::Utf16)
    } else {
        None
    }
}

/// Web API's `SelectResponseCharacterEncoding`: the Accept-Charset entries by descending q
/// (stable), the first one the formatters support (`*` is UTF-8, q=0 never matches); then
/// the request's own charset; then UTF-8.
fn select_charset(accept_charset: Option<&str>, content_type: Option<&str>) -> Charset {
    if let Some(header) = accept_charset {
        let mut entries: Vec<(&str, u16)> = header
            .split(',')
            .filter_map(|item| {
                let mut parts = item.split(';');
                let name = parts.next()?.trim();
                let mut q = Some(1000);
                for p in parts {
                    if let Some((k, v)) = p.split_once('=') {
                        if k.trim().eq_ignore_ascii_case("q") {
                            q = parse_q(v);
                        }
                    }
                }
                Some((name, q?))
            })
            .filter(|(name, q)| !name.is_empty() && *q > 0)
            .collect();
        entries.sort_by_key(|e| std::cmp::Reverse(e.1));
        for (name, _) in entries {
            if name == "*" {
                return Charset::Utf8;
            }
            if let Some(c) = charset_named(name) {
                return c;
            }
        }
    }
    content_type
        .and_then(charset_param)
        .and_then(charset_named)
        .unwrap_or(Charset::Utf8)
}

/// Web API's whole negotiation: formatter and media type ([`negotiate`]) and charset.
pub fn negotiate_media(
    accept: Option<&str>,
    accept_charset: Option<&str>,
    content_type: Option<&str>,
) -> Negotiated {
    let charset = select_charset(accept_charset, content_type);
    let done = |format: ResponseFormat, media_type: &'static str| Negotiated {
        format,
        media_type,
        charset,
    };
    if let Some(accept) = accept {
        let entries = parse_accept(accept);
        // Best (q, format, media type) per ranking bucket, replaced only by a strictly
        // higher q.
        let mut buckets: [Option<(u16, ResponseFormat, &'static str)>; 3] = [None; 3];
        for (format, supported) in WRITERS {
            let found = entries.iter().filter(|e| e.q > 0).find_map(|e| {
                supported
                    .iter()
                    .find_map(|s| matches(s, e).map(|range| (range, e.q, *s)))
            });
            if let Some((range, q, media)) = found {
                let slot = &mut buckets[range as usize];
                match slot {
                    Some((best, ..)) if *best >= q => {}
                    _ => *slot = Some((q, format, media)),
                }
            }
        }
        let mut best: Option<(u16, ResponseFormat, &'static str)> = None;
        for candidate in [buckets[2], buckets[1], buckets[0]].into_iter().flatten() {
            match best {
                Some((q, ..)) if q >= candidate.0 => {}
                _ => best = Some(candidate),
            }
        }
        if let Some((_, format, media)) = best {
            return done(format, media);
        }
    }
    if let Some(ct) = content_type {
        let mt = essence(ct);
        for (format, supported) in WRITERS {
            if let Some(s) = supported.iter().find(|s| s.eq_ignore_ascii_case(mt)) {
                return done(format, s);
            }
        }
    }
    done(ResponseFormat::Json, "application/json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_and_charsets_as_web_api_chose_them() {
        let n = |a: Option<&str>, ac: Option<&str>, ct: Option<&str>| {
            let n = negotiate_media(a, ac, ct);
            (n.content_type(), n.format)
        };
        use ResponseFormat::{Json, Xml};
        assert_eq!(
            n(None, None, None),
            ("application/json; charset=utf-8".into(), Json)
        );
        assert_eq!(
            n(Some("text/xml"), None, None),
            ("text/xml; charset=utf-8".into(), Xml)
        );
        assert_eq!(
            n(Some("text/*"), None, None),
            ("text/json; charset=utf-8".into(), Json)
        );
        assert_eq!(
            n(Some("*/*"), None, Some("text/xml")),
            ("application/json; charset=utf-8".into(), Json)
        );
        assert_eq!(
            n(None, None, Some("text/json")),
            ("text/json; charset=utf-8".into(), Json)
        );
        assert_eq!(
            n(None, Some("utf-16"), None),
            ("application/json; charset=utf-16".into(), Json)
        );
        assert_eq!(
            n(Some("text/html"), Some("utf-8;q=0.5, utf-16"), None).0,
            "application/json; charset=utf-16"
        );
        assert_eq!(
            n(
                None,
                Some("iso-8859-1"),
                Some("application/xml; charset=utf-16")
            )
            .0,
            "application/xml; charset=utf-16"
        );
        assert_eq!(
            n(None, Some("utf-16;q=0"), None).0,
            "application/json; charset=utf-8"
        );
        let u = negotiate_media(None, Some("utf-16"), None).encode_body(b"{}");
        assert_eq!(u, [0xFF, 0xFE, b'{', 0, b'}', 0]);
    }

    #[test]
    fn q_values() {
        assert_eq!(parse_q("0"), Some(0));
        assert_eq!(parse_q("0.8"), Some(800));
        assert_eq!(parse_q("0.123"), Some(123));
        assert_eq!(parse_q("1.000"), Some(1000));
        assert_eq!(parse_q("1.5"), None);
        assert_eq!(parse_q("0.1234"), None);
        assert_eq!(parse_q("abc"), None);
        assert_eq!(parse_q(""), None);
    }
}
