//! DataContractSerializer's output: no declaration, one line, members sorted ordinally,
//! `i:nil`, `<X />` for empty elements, dictionaries in the Arrays namespace.

use std::borrow::Cow;
use std::io::Write as _;

use gatehouse_models::{xml_hint, Contract};
use serde::ser::{self, Impossible, Serialize};

use super::{ARRAYS, XSI};
use crate::de_common::xml_name;
use crate::error::EncodeError;
use gatehouse_models::dotnet::TimeSpan;

type Res = Result<(), EncodeError>;

fn unsupported(what: &str) -> EncodeError {
    EncodeError::Unsupported {
        format: "XML",
        what: what.to_owned(),
    }
}

/// Bytes that element text escapes (XmlUTF8NodeWriter's table): control characters except
/// tab and line feed, `&`, `<`, `>`; plus 0xEF, the lead byte of U+FFFE/U+FFFF, checked
/// further.
const fn text_escape_table() -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = i != 0x09 && i != 0x0A;
        i += 1;
    }
    t[b'&' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[0xEF] = true;
    t
}

static TEXT_ESCAPE: [bool; 256] = text_escape_table();

/// Append `s` as escaped element text: `&lt; &gt; &amp;`, other escaped characters as
/// `&#xH;` (uppercase hex, as .NET wrote them).
pub(crate) fn escape_text(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if !TEXT_ESCAPE[usize::from(c)] {
            i += 1;
            continue;
        }
        let (entity, len): (Cow<'static, [u8]>, usize) = match c {
            b'<' => (Cow::Borrowed(b"&lt;"), 1),
            b'>' => (Cow::Borrowed(b"&gt;"), 1),
            b'&' => (Cow::Borrowed(b"&amp;"), 1),
            0xEF => match (b.get(i + 1), b.get(i + 2)) {
                (Some(0xBF), Some(0xBE)) => (Cow::Borrowed(b"&#xFFFE;"), 3),
                (Some(0xBF), Some(0xBF)) => (Cow::Borrowed(b"&#xFFFF;"), 3),
                _ => {
                    i += 1;
                    continue;
                }
            },
            _ => (Cow::Owned(format!("&#x{c:X};").into_bytes()), 1),
        };
        out.extend_from_slice(&b[start..i]);
        out.extend_from_slice(&entity);
        i += len;
        start = i;
    }
    out.extend_from_slice(&b[start..]);
}

/// Attribute escaping: every control character, `"`, `&`, `<`, `>`.
fn escape_attr(out: &mut Vec<u8>, s: &str) {
    if !s
        .bytes()
        .any(|b| b < 0x20 || matches!(b, b'"' | b'&' | b'<' | b'>'))
    {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"&quot;"),
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '>' => out.extend_from_slice(b"&gt;"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "&#x{:X};", c as u32);
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

/// An element name: a serde field name, written with its first letter upper-cased for
/// camel-cased contracts, without allocating.
#[derive(Clone, Copy)]
struct Name<'a> {
    s: &'a str,
    camel: bool,
}

impl<'a> Name<'a> {
    fn plain(s: &'a str) -> Self {
        Name { s, camel: false }
    }

    /// The first byte to write when it changes (ASCII lower-case letter of a camel name).
    fn ascii_upper_first(self) -> Option<u8> {
        match self.s.as_bytes().first() {
            Some(b) if self.camel && b.is_ascii_lowercase() => Some(b.to_ascii_uppercase()),
            _ => None,
        }
    }

    fn write(self, out: &mut Vec<u8>) {
        if let Some(first) = self.ascii_upper_first() {
            out.push(first);
            out.extend_from_slice(&self.s.as_bytes()[1..]);
        } else if self.camel && !self.s.is_ascii() {
            out.extend_from_slice(xml_name(self.s, true).as_bytes());
        } else {
            out.extend_from_slice(self.s.as_bytes());
        }
    }

    /// Ordinal order of the written names.
    fn cmp(self, other: Name<'_>) -> std::cmp::Ordering {
        if !self.camel && !other.camel {
            return self.s.as_bytes().cmp(other.s.as_bytes());
        }
        if (self.camel && !self.s.is_ascii()) || (other.camel && !other.s.is_ascii()) {
            return xml_name(self.s, self.camel)
                .as_bytes()
                .cmp(xml_name(other.s, other.camel).as_bytes());
        }
        fn split<'n>(n: Name<'n>) -> (Option<u8>, &'n [u8]) {
            let b = n.s.as_bytes();
            match n.ascii_upper_first() {
                Some(f) => (Some(f), &b[1..]),
                None => (b.first().copied(), b.get(1..).unwrap_or(&[])),
            }
        }
        split(self).cmp(&split(other))
    }
}

/// Settings that hold for the whole document.
#[derive(Clone, Copy)]
struct Doc {
    camel: bool,
    /// `xmlns:i` is declared on the root (it is not when the contract has no namespace).
    xsi_declared: bool,
}

/// Serialize a contract as its XML document.
pub(crate) fn to_vec<T: Serialize + Contract + ?Sized>(value: &T) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(512);
    let doc = Doc {
        camel: T::JSON_CAMEL_CASE,
        xsi_declared: !T::XML_NAMESPACE.is_empty(),
    };
    value.serialize(Elem {
        out: &mut out,
        doc,
        name: Name::plain(T::XML_ROOT),
        depth: 1,
        root: Some((T::XML_NAMESPACE, T::XML_OMIT)),
    })?;
    Ok(out)
}

/// Serializes one value as the element `name`.
struct Elem<'a> {
    out: &'a mut Vec<u8>,
    doc: Doc,
    name: Name<'a>,
    /// 1 for the root, 2 for its members, ...
    depth: usize,
    /// For the root: its namespace and the members to omit.
    root: Option<(&'static str, &'static [&'static str])>,
}

impl Elem<'_> {
    fn leaf(&self) -> Res {
        if self.root.is_some() {
            Err(unsupported("a root that is not a struct"))
        } else {
            Ok(())
        }
    }

    fn open(&mut self) {
        self.out.push(b'<');
        self.name.write(self.out);
        if let Some((ns, _)) = self.root {
            if !ns.is_empty() {
                self.out.extend_from_slice(b" xmlns:i=\"");
                self.out.extend_from_slice(XSI.as_bytes());
                self.out.extend_from_slice(b"\" xmlns=\"");
                escape_attr(self.out, ns);
                self.out.push(b'"');
            }
        }
        self.out.push(b'>');
    }

    fn close(&mut self) {
        self.out.extend_from_slice(b"</");
        self.name.write(self.out);
        self.out.push(b'>');
    }

    /// `<name>raw</name>` for text that needs no escaping.
    fn raw(mut self, text: &[u8]) -> Res {
        self.leaf()?;
        self.open();
        self.out.extend_from_slice(text);
        self.close();
        Ok(())
    }

    fn text(mut self, text: &str) -> Res {
        self.leaf()?;
        self.open();
        escape_text(self.out, text);
        self.close();
        Ok(())
    }

    fn nil(self) -> Res {
        self.leaf()?;
        write_nil(self.out, None, self.name, self.doc);
        Ok(())
    }

    fn display(mut self, v: impl std::fmt::Display) -> Res {
        self.leaf()?;
        self.open();
        let _ = write!(self.out, "{v}");
        self.close();
        Ok(())
    }
}

fn write_nil(out: &mut Vec<u8>, prefix: Option<&str>, name: Name<'_>, doc: Doc) {
    out.push(b'<');
    if let Some(p) = prefix {
        out.extend_from_slice(p.as_bytes());
        out.push(b':');
    }
    name.write(out);
    out.extend_from_slice(b" i:nil=\"true\"");
    if !doc.xsi_declared {
        out.extend_from_slice(b" xmlns:i=\"");
        out.extend_from_slice(XSI.as_bytes());
        out.push(b'"');
    }
    out.extend_from_slice(b" />");
}

/// The text form of a value that must be a string (or null), through serde_json's value
/// serializer: used for dictionary keys and values and the TimeSpan hint.
fn string_or_null<T: Serialize + ?Sized>(v: &T, what: &str) -> Result<Option<String>, EncodeError> {
    match serde_json::to_value(v).map_err(|e| EncodeError::Custom(e.to_string()))? {
        serde_json::Value::String(s) => Ok(Some(s)),
        serde_json::Value::Null => Ok(None),
        _ => Err(unsupported(what)),
    }
}

fn float_text(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "INF" } else { "-INF" }.to_owned()
    } else {
        format!("{v}")
    }
}

impl<'a> ser::Serializer for Elem<'a> {
    type Ok = ();
    type Error = EncodeError;
    type SerializeSeq = Items<'a>;
    type SerializeTuple = Impossible<(), EncodeError>;
    type SerializeTupleStruct = Impossible<(), EncodeError>;
    type SerializeTupleVariant = Impossible<(), EncodeError>;
    type SerializeMap = Items<'a>;
    type SerializeStruct = Members<'a>;
    type SerializeStructVariant = Impossible<(), EncodeError>;

    fn serialize_bool(self, v: bool) -> Res {
        self.raw(if v { b"true" } else { b"false" })
    }
    fn serialize_i8(self, v: i8) -> Res {
        self.display(v)
    }
    fn serialize_i16(self, v: i16) -> Res {
        self.display(v)
    }
    fn serialize_i32(self, v: i32) -> Res {
        self.display(v)
    }
    fn serialize_i64(self, v: i64) -> Res {
        self.display(v)
    }
    fn serialize_i128(self, v: i128) -> Res {
        self.display(v)
    }
    fn serialize_u8(self, v: u8) -> Res {
        self.display(v)
    }
    fn serialize_u16(self, v: u16) -> Res {
        self.display(v)
    }
    fn serialize_u32(self, v: u32) -> Res {
        self.display(v)
    }
    fn serialize_u64(self, v: u64) -> Res {
        self.display(v)
    }
    fn serialize_u128(self, v: u128) -> Res {
        self.display(v)
    }
    fn serialize_f32(self, v: f32) -> Res {
        self.raw(float_text(f64::from(v)).as_bytes())
    }
    fn serialize_f64(self, v: f64) -> Res {
        self.raw(float_text(v).as_bytes())
    }
    fn serialize_char(self, v: char) -> Res {
        let mut buf = [0u8; 4];
        self.text(v.encode_utf8(&mut buf))
    }
    fn serialize_str(self, v: &str) -> Res {
        self.text(v)
    }
    fn serialize_bytes(self, _v: &[u8]) -> Res {
        Err(unsupported("bytes"))
    }
    fn serialize_none(self) -> Res {
        self.nil()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Res {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Res {
        self.nil()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Res {
        self.nil()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Res {
        self.text(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, name: &'static str, value: &T) -> Res {
        if name == xml_hint::TIME_SPAN {
            let c = string_or_null(value, "a TimeSpan that is not a string")?
                .ok_or_else(|| unsupported("a null TimeSpan"))?;
            let span = TimeSpan::parse_c_format(&c).map_err(|_| EncodeError::InvalidTimeSpan(c))?;
            self.raw(span.to_xml_duration().as_bytes())
        } else if let Some(variant) = name.strip_prefix(xml_hint::ENUM_PREFIX) {
            self.text(variant)
        } else {
            value.serialize(self)
        }
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Res {
        Err(unsupported("an enum variant with data"))
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Items<'a>, EncodeError> {
        self.leaf()?;
        Ok(Items::start(self, false))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, EncodeError> {
        Err(unsupported("a tuple"))
    }
    fn serialize_tuple_struct(
        self,
        _n: &'static str,
        _l: usize,
    ) -> Result<Self::SerializeTupleStruct, EncodeError> {
        Err(unsupported("a tuple struct"))
    }
    fn serialize_tuple_variant(
        self,
        _n: &'static str,
        _i: u32,
        _v: &'static str,
        _l: usize,
    ) -> Result<Self::SerializeTupleVariant, EncodeError> {
        Err(unsupported("a tuple variant"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Items<'a>, EncodeError> {
        self.leaf()?;
        Ok(Items::start(self, true))
    }
    fn serialize_struct(
        mut self,
        _name: &'static str,
        len: usize,
    ) -> Result<Members<'a>, EncodeError> {
        self.open();
        let body_start = self.out.len();
        let omit = self.root.map_or(&[][..], |(_, omit)| omit);
        let _ = len;
        Ok(Members {
            out: self.out,
            doc: self.doc,
            name: self.name,
            depth: self.depth,
            omit,
            body_start,
            inline: [("", 0, 0); INLINE_MEMBERS],
            count: 0,
            spill: Vec::new(),
        })
    }
    fn serialize_struct_variant(
        self,
        _n: &'static str,
        _i: u32,
        _v: &'static str,
        _l: usize,
    ) -> Result<Self::SerializeStructVariant, EncodeError> {
        Err(unsupported("a struct variant"))
    }
}

/// The ordinal order of a sequence of members depends only on their names, and serde hands
/// the same `&'static str`s for every value of a type: remember each sequence's order
/// (keyed by the names' addresses) instead of sorting again.
struct OrderCache {
    entries: Vec<OrderEntry>,
}

/// (camel flag then the members' name addresses, the sorted positions).
type OrderEntry = (Box<[usize]>, Box<[u8]>);

const ORDER_CACHE_MAX: usize = 256;

fn sort_members(members: &mut [(&'static str, usize, usize)], camel: bool) {
    let name = |k: &'static str| Name { s: k, camel };
    if members.len() > usize::from(u8::MAX) {
        members.sort_unstable_by(|a, b| name(a.0).cmp(name(b.0)));
        return;
    }
    let addr = |m: &(&'static str, usize, usize)| m.0.as_ptr() as usize;
    // The camel flag changes the order, so it is part of the key.
    ORDERS.with(|cache| {
        let mut cache = cache.borrow_mut();
        let matches = |keys: &[usize]| {
            keys.len() == members.len() + 1
                && keys[0] == usize::from(camel)
                && keys[1..]
                    .iter()
                    .zip(members.iter())
                    .all(|(k, m)| *k == addr(m))
        };
        let found = cache.entries.iter().position(|(keys, _)| matches(keys));
        let at = match found {
            Some(at) => at,
            None => {
                let keys: Box<[usize]> = std::iter::once(usize::from(camel))
                    .chain(members.iter().map(addr))
                    .collect();
                let mut idx: Vec<u8> = (0..members.len())
                    .filter_map(|i| u8::try_from(i).ok())
                    .collect();
                idx.sort_by(|&a, &b| {
                    name(members[usize::from(a)].0).cmp(name(members[usize::from(b)].0))
                });
                if cache.entries.len() >= ORDER_CACHE_MAX {
                    cache.entries.clear();
                }
                cache.entries.push((keys, idx.into_boxed_slice()));
                cache.entries.len() - 1
            }
        };
        let order = &cache.entries[at].1;
        let mut sorted = [("", 0usize, 0usize); INLINE_MEMBERS];
        if members.len() <= INLINE_MEMBERS {
            for (slot, &i) in sorted.iter_mut().zip(order.iter()) {
                *slot = members[usize::from(i)];
            }
            members.copy_from_slice(&sorted[..members.len()]);
        } else {
            let v: Vec<_> = order.iter().map(|&i| members[usize::from(i)]).collect();
            members.copy_from_slice(&v);
        }
    });
}

thread_local! {
    static ORDERS: std::cell::RefCell<OrderCache> = const {
        std::cell::RefCell::new(OrderCache { entries: Vec::new() })
    };
    /// Where a struct's members are copied while they are put in order.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Members kept on the stack before spilling to the heap.
const INLINE_MEMBERS: usize = 16;

/// The members of a struct element, written in declaration order, then put in ordinal order.
pub(crate) struct Members<'a> {
    out: &'a mut Vec<u8>,
    doc: Doc,
    name: Name<'a>,
    depth: usize,
    omit: &'static [&'static str],
    body_start: usize,
    /// (serde name, start, end) of each member written, in declaration order.
    inline: [(&'static str, usize, usize); INLINE_MEMBERS],
    count: usize,
    spill: Vec<(&'static str, usize, usize)>,
}

impl ser::SerializeStruct for Members<'_> {
    type Ok = ();
    type Error = EncodeError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Res {
        if self.omit.contains(&key) {
            return Ok(());
        }
        let start = self.out.len();
        value.serialize(Elem {
            out: self.out,
            doc: self.doc,
            name: Name {
                s: key,
                camel: self.doc.camel,
            },
            depth: self.depth + 1,
            root: None,
        })?;
        let end = self.out.len();
        if self.count < INLINE_MEMBERS {
            self.inline[self.count] = (key, start, end);
        } else {
            self.spill.push((key, start, end));
        }
        self.count += 1;
        Ok(())
    }

    fn end(mut self) -> Res {
        if self.count == 0 {
            // `<Name>` becomes `<Name />`.
            self.out.truncate(self.body_start - 1);
            self.out.extend_from_slice(b" />");
            return Ok(());
        }
        let camel = self.doc.camel;
        let name = |k: &'static str| Name { s: k, camel };
        let members: &mut [(&'static str, usize, usize)] = if self.count <= INLINE_MEMBERS {
            &mut self.inline[..self.count]
        } else {
            self.spill.splice(0..0, self.inline.iter().copied());
            &mut self.spill
        };
        let sorted = members
            .windows(2)
            .all(|w| name(w[0].0).cmp(name(w[1].0)).is_le());
        if !sorted {
            sort_members(members, camel);
            // Copy the body aside once (a per-thread buffer, so no allocation after the
            // first document) and write it back in order.
            SCRATCH.with(|scratch| {
                let mut scratch = scratch.borrow_mut();
                scratch.clear();
                scratch.extend_from_slice(&self.out[self.body_start..]);
                self.out.truncate(self.body_start);
                for &(_, start, end) in members.iter() {
                    let (s, e) = (start - self.body_start, end - self.body_start);
                    self.out.extend_from_slice(&scratch[s..e]);
                }
                // Do not keep a huge buffer alive after a huge document.
                if scratch.capacity() > 64 * 1024 {
                    *scratch = Vec::new();
                }
            });
        }
        self.out.extend_from_slice(b"</");
        self.name.write(self.out);
        self.out.push(b'>');
        Ok(())
    }
}

/// A dictionary (`KeyValueOfstringstring`) or a list (`string`) in the Arrays namespace,
/// with the generated prefix `d{depth}p1` declared on the member element.
pub(crate) struct Items<'a> {
    out: &'a mut Vec<u8>,
    doc: Doc,
    name: Name<'a>,
    prefix: String,
    body_start: usize,
    pending_key: Option<String>,
    count: usize,
}

impl<'a> Items<'a> {
    #[expect(
        clippy::needless_pass_by_value,
        reason = "the element's buffer (a `&'a mut`) moves into the items; clippy takes the move for a reborrow"
    )]
    fn start(e: Elem<'a>, _map: bool) -> Self {
        let prefix = format!("d{}p1", e.depth);
        e.out.push(b'<');
        e.name.write(e.out);
        e.out.extend_from_slice(b" xmlns:");
        e.out.extend_from_slice(prefix.as_bytes());
        e.out.extend_from_slice(b"=\"");
        e.out.extend_from_slice(ARRAYS.as_bytes());
        e.out.extend_from_slice(b"\">");
        let body_start = e.out.len();
        Items {
            out: e.out,
            doc: e.doc,
            name: e.name,
            prefix,
            body_start,
            pending_key: None,
            count: 0,
        }
    }

    fn open(&mut self, local: &str) {
        self.out.push(b'<');
        self.out.extend_from_slice(self.prefix.as_bytes());
        self.out.push(b':');
        self.out.extend_from_slice(local.as_bytes());
        self.out.push(b'>');
    }

    fn close(&mut self, local: &str) {
        self.out.extend_from_slice(b"</");
        self.out.extend_from_slice(self.prefix.as_bytes());
        self.out.push(b':');
        self.out.extend_from_slice(local.as_bytes());
        self.out.push(b'>');
    }

    fn item(&mut self, local: &str, text: Option<&str>) {
        match text {
            Some(t) => {
                self.open(local);
                escape_text(self.out, t);
                self.close(local);
            }
            None => write_nil(self.out, Some(&self.prefix), Name::plain(local), self.doc),
        }
    }

    fn finish(self) -> Res {
        if self.count == 0 {
            self.out.truncate(self.body_start - 1);
            self.out.extend_from_slice(b" />");
        } else {
            self.out.extend_from_slice(b"</");
            self.name.write(self.out);
            self.out.push(b'>');
        }
        Ok(())
    }
}

impl ser::SerializeMap for Items<'_> {
    type Ok = ();
    type Error = EncodeError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Res {
        let key = string_or_null(key, "a dictionary key that is not a string")?
            .ok_or_else(|| unsupported("a null dictionary key"))?;
        self.pending_key = Some(key);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
        let key = self
            .pending_key
            .take()
            .ok_or_else(|| EncodeError::Custom("dictionary value without a key".to_owned()))?;
        let value = string_or_null(value, "a dictionary value that is not a string")?;
        self.open("KeyValueOfstringstring");
        self.item("Key", Some(&key));
        self.item("Value", value.as_deref());
        self.close("KeyValueOfstringstring");
        self.count += 1;
        Ok(())
    }

    fn end(self) -> Res {
        self.finish()
    }
}

impl ser::SerializeSeq for Items<'_> {
    type Ok = ();
    type Error = EncodeError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
        let value = string_or_null(value, "a list item that is not a string")?;
        self.item("string", value.as_deref());
        self.count += 1;
        Ok(())
    }

    fn end(self) -> Res {
        self.finish()
    }
}
