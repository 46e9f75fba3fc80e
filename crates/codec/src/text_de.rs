//! The reader shared by XML and form bodies: both arrive as a tree of named nodes whose
//! leaves are text, so binding a number or a boolean means parsing text.

use std::collections::BTreeSet;

use gatehouse_models::xml_hint;
use serde::de::{self, IntoDeserializer};

use crate::de_common::{
    match_field_ci, parse_bool_text, parse_i128, parse_xml_bool, visit_int, DeErr, Path,
};
use gatehouse_models::dotnet::TimeSpan;

/// Namespace of an XML element relative to the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ns {
    /// The root's namespace (or no namespace when the root has none). Form nodes too.
    Contract,
    /// `http://schemas.microsoft.com/2003/10/Serialization/Arrays`.
    Arrays,
    /// Anything else: matches no member.
    Other,
}

/// One element (XML) or one key segment (form).
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) name: String,
    pub(crate) ns: Ns,
    /// `i:nil="true"`.
    pub(crate) nil: bool,
    pub(crate) text: String,
    pub(crate) children: Vec<Node>,
}

impl Node {
    pub(crate) fn new(name: String, ns: Ns) -> Self {
        Node {
            name,
            ns,
            nil: false,
            text: String::new(),
            children: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Member names exact (DataContractSerializer), dictionaries as `KeyValueOfstringstring`.
    Xml,
    /// Member names case-insensitive, dictionaries as `x[k]` or `x[0][Key]`.
    Form,
}

pub(crate) struct Ctx {
    pub(crate) mode: Mode,
    pub(crate) camel: bool,
    pub(crate) omit: &'static [&'static str],
    pub(crate) join_repeated: bool,
}

pub(crate) struct TextDe<'a> {
    pub(crate) node: &'a Node,
    pub(crate) path: &'a Path<'a>,
    pub(crate) ctx: &'a Ctx,
    pub(crate) root: bool,
}

/// Does the XML name `name` belong to the serde field `field`?
pub(crate) fn xml_name_eq(field: &str, camel: bool, name: &str) -> bool {
    if !camel {
        return field == name;
    }
    if let ([a, f @ ..], [b, n @ ..]) = (field.as_bytes(), name.as_bytes()) {
        if a.is_ascii() && b.is_ascii() {
            // The first letter upper-cased (ASCII keeps its length): no char iteration.
            return a.to_ascii_uppercase() == *b && f == n;
        }
    }
    let (mut f, mut n) = (field.chars(), name.chars());
    match (f.next(), n.next()) {
        (Some(a), Some(b)) => {
            let first = if a.is_lowercase() {
                a.to_uppercase().eq(std::iter::once(b))
            } else {
                a == b
            };
            first && f.as_str() == n.as_str()
        }
        (None, None) => true,
        _ => false,
    }
}

fn is_index(name: &str) -> bool {
    name.len() > 2
        && name.starts_with('[')
        && name.ends_with(']')
        && name[1..name.len() - 1].bytes().all(|b| b.is_ascii_digit())
}

impl<'a> TextDe<'a> {
    fn fin<T>(&self, r: Result<T, DeErr>) -> Result<T, DeErr> {
        r.map_err(|e| e.locate(self.path))
    }

    /// The text of a leaf, or the reason it is not one.
    fn text(&self, expected: &str) -> Result<&'a str, DeErr> {
        if self.node.nil {
            return Err(DeErr::null(self.path, expected));
        }
        let has_elements = match self.ctx.mode {
            Mode::Xml => !self.node.children.is_empty(),
            Mode::Form => !self.node.children.is_empty() && self.node.text.is_empty(),
        };
        if has_elements {
            let found = match self.ctx.mode {
                Mode::Xml => "child elements",
                Mode::Form => "nested keys",
            };
            return Err(DeErr::invalid_type(self.path, expected, found));
        }
        Ok(&self.node.text)
    }

    fn nested(&self, node: &'a Node, path: &'a Path<'a>) -> TextDe<'a> {
        TextDe {
            node,
            path,
            ctx: self.ctx,
            root: false,
        }
    }

    /// Members of a struct, mapped onto serde's field names.
    fn struct_entries(
        &self,
        fields: &'static [&'static str],
        joined: &'a mut Vec<Node>,
    ) -> Result<Vec<(&'static str, usize, bool)>, DeErr> {
        // (field, index into node.children or joined, is_joined)
        let mut out: Vec<(&'static str, usize, bool)> = Vec::new();
        match self.ctx.mode {
            Mode::Xml => {
                for (i, child) in self.node.children.iter().enumerate() {
                    if child.ns != Ns::Contract {
                        continue;
                    }
                    let field = fields.iter().copied().find(|f| {
                        !(self.root && self.ctx.omit.contains(f))
                            && xml_name_eq(f, self.ctx.camel, &child.name)
                    });
                    if let Some(f) = field {
                        if out.iter().any(|(g, _, _)| *g == f) {
                            return Err(DeErr::repeated(&Path::Field(self.path, &child.name)));
                        }
                        out.push((f, i, false));
                    }
                }
            }
            Mode::Form => {
                let mut groups: Vec<(&'static str, Vec<usize>)> = Vec::new();
                for (i, child) in self.node.children.iter().enumerate() {
                    let Some(f) = match_field_ci(&child.name, fields) else {
                        continue;
                    };
                    match groups.iter_mut().find(|(g, _)| *g == f) {
                        Some((_, v)) => v.push(i),
                        None => groups.push((f, vec![i])),
                    }
                }
                for (f, idx) in groups {
                    if idx.len() == 1 {
                        out.push((f, idx[0], false));
                        continue;
                    }
                    let nodes: Vec<&Node> = idx.iter().map(|&i| &self.node.children[i]).collect();
                    if !self.ctx.join_repeated || nodes.iter().any(|n| !n.children.is_empty()) {
                        return Err(DeErr::repeated(&Path::Field(self.path, f)));
                    }
                    let mut n = Node::new(f.to_owned(), Ns::Contract);
                    n.text = nodes
                        .iter()
                        .map(|n| n.text.as_str())
                        .collect::<Vec<_>>()
                        .join(",");
                    joined.push(n);
                    out.push((f, joined.len() - 1, true));
                }
            }
        }
        Ok(out)
    }

    /// Entries of a dictionary: (key, value node).
    fn map_entries(&self) -> Result<Vec<(&'a str, &'a Node)>, DeErr> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for (i, child) in self.node.children.iter().enumerate() {
            let (key, value): (&str, &Node) = match self.ctx.mode {
                Mode::Xml => {
                    if child.ns != Ns::Arrays || !child.name.starts_with("KeyValueOf") {
                        continue;
                    }
                    let find = |n: &str| {
                        child
                            .children
                            .iter()
                            .find(|c| c.ns == Ns::Arrays && c.name == n)
                    };
                    let item = Path::Index(self.path, i);
                    let key = find("Key").ok_or_else(|| {
                        DeErr::at(
                            crate::DecodeError::Missing {
                                field: String::new(),
                            },
                            &Path::Field(&item, "Key"),
                        )
                    })?;
                    if key.nil {
                        return Err(DeErr::null(&Path::Field(&item, "Key"), "a string"));
                    }
                    let value = find("Value").ok_or_else(|| {
                        DeErr::at(
                            crate::DecodeError::Missing {
                                field: String::new(),
                            },
                            &Path::Field(&item, "Value"),
                        )
                    })?;
                    (&key.text, value)
                }
                Mode::Form => {
                    if is_index(&child.name) {
                        let find = |n: &str| {
                            child
                                .children
                                .iter()
                                .find(|c| c.name.eq_ignore_ascii_case(n))
                        };
                        let item = Path::Key(self.path, &child.name[1..child.name.len() - 1]);
                        let missing = |n| {
                            DeErr::at(
                                crate::DecodeError::Missing {
                                    field: String::new(),
                                },
                                &Path::Field(&item, n),
                            )
                        };
                        let key = find("Key").ok_or_else(|| missing("Key"))?;
                        let value = find("Value").ok_or_else(|| missing("Value"))?;
                        (&key.text, value)
                    } else {
                        (&child.name, child)
                    }
                }
            };
            if !seen.insert(key) {
                return Err(DeErr::repeated(&Path::Key(self.path, key)));
            }
            out.push((key, value));
        }
        Ok(out)
    }
}

macro_rules! int_methods {
    ($($m:ident),*) => {$(
        fn $m<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeErr> {
            let text = self.text("an integer")?;
            let n = parse_i128(text)
                .ok_or_else(|| DeErr::invalid_value(self.path, "expected an integer"))?;
            let r = visit_int(visitor, n);
            self.fin(r)
        }
    )*};
}

impl<'de, 'a> de::Deserializer<'de> for TextDe<'a> {
    type Error = DeErr;

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeErr> {
        let r = if self.node.nil {
            visitor.visit_unit()
        } else if !self.node.children.is_empty() {
            let entries: Vec<(&str, &Node)> = self
                .node
                .children
                .iter()
                .map(|c| (c.name.as_str(), c))
                .collect();
            visitor.visit_map(TextMap {
                entries: entries.into_iter(),
                pending: None,
                de: &self,
                fields: true,
            })
        } else {
            visitor.visit_str(&self.node.text)
        };
        self.fin(r)
    }

    fn deserialize_bool<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeErr> {
        let text = self.text("a boolean")?;
        let b = match self.ctx.mode {
            Mode::Xml => parse_xml_bool(text),
            _ => parse_bool_text(text),
        };
        let b =
            b.ok_or_else(|| DeErr::invalid_value(self.path, "expected a boolean (true or false)"))?;
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
        let text = self.text("a number")?;
        let f = match text.trim() {
            "INF" => Some(f64::INFINITY),
            "-INF" => Some(f64::NEG_INFINITY),
            t => t.parse::<f64>().ok(),
        };
        let f = f.ok_or_else(|| DeErr::invalid_value(self.path, "expected a number"))?;
        let r = visitor.visit_f64(f);
        self.fin(r)
    }

    fn deserialize_char<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeErr> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeErr> {
        let text = self.text("a string")?;
        let r = visitor.visit_str(text);
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
        let absent = match self.ctx.mode {
            Mode::Xml => self.node.nil,
            // Web API's form binding turned an empty value into null.
            Mode::Form => self.node.text.is_empty() && self.node.children.is_empty(),
        };
        let r = if absent {
            visitor.visit_none()
        } else {
            visitor.visit_some(self.nested(self.node, self.path))
        };
        self.fin(r)
    }

    fn deserialize_unit<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeErr> {
        if self.node.nil || (self.node.text.trim().is_empty() && self.node.children.is_empty()) {
            visitor.visit_unit()
        } else {
            Err(DeErr::invalid_type(self.path, "nothing", "a value"))
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
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeErr> {
        if name == xml_hint::TIME_SPAN && self.ctx.mode == Mode::Xml {
            // The XML text is an xs:duration; the type reads its JSON (`c`) form.
            let text = self.text("a duration")?;
            let span = TimeSpan::parse_xml_duration(text).map_err(|_| {
                DeErr::invalid_value(self.path, "expected an xs:duration such as PT1H30M")
            })?;
            let c = span.to_c_format();
            let r = visitor.visit_newtype_struct(de::value::StringDeserializer::<DeErr>::new(c));
            return self.fin(r);
        }
        let path = self.path;
        visitor
            .visit_newtype_struct(self)
            .map_err(|e| e.locate(path))
    }

    fn deserialize_seq<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeErr> {
        if self.node.nil {
            return Err(DeErr::null(self.path, "a list"));
        }
        let items: Vec<&Node> = match self.ctx.mode {
            Mode::Xml => self
                .node
                .children
                .iter()
                .filter(|c| c.ns == Ns::Arrays)
                .collect(),
            Mode::Form if self.node.children.is_empty() => vec![self.node],
            Mode::Form => self.node.children.iter().collect(),
        };
        let r = visitor.visit_seq(TextSeq {
            items: items.into_iter().enumerate(),
            de: &self,
        });
        self.fin(r)
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
        if self.node.nil {
            return Err(DeErr::null(self.path, "a dictionary"));
        }
        let entries = self.map_entries()?;
        let r = visitor.visit_map(TextMap {
            entries: entries.into_iter(),
            pending: None,
            de: &self,
            fields: false,
        });
        self.fin(r)
    }

    fn deserialize_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeErr> {
        if self.node.nil {
            return Err(DeErr::null(self.path, "an object"));
        }
        let mut joined = Vec::new();
        let entries = {
            let joined_ref = &mut joined;
            self.struct_entries(fields, joined_ref)?
        };
        let entries: Vec<(&str, &Node)> = entries
            .into_iter()
            .map(|(f, i, is_joined)| {
                let node = if is_joined {
                    &joined[i]
                } else {
                    &self.node.children[i]
                };
                (f, node)
            })
            .collect();
        let r = visitor.visit_map(TextMap {
            entries: entries.into_iter(),
            pending: None,
            de: &self,
            fields: true,
        });
        self.fin(r)
    }

    fn deserialize_enum<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeErr> {
        let text = self.text("a name")?;
        let r = visitor.visit_enum(text.trim().into_deserializer());
        self.fin(r)
    }

    fn deserialize_identifier<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeErr> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeErr> {
        visitor.visit_unit()
    }
}

struct TextSeq<'s, 'a, I> {
    items: I,
    de: &'s TextDe<'a>,
}

impl<'de, 'a, I: Iterator<Item = (usize, &'a Node)> + ExactSizeIterator> de::SeqAccess<'de>
    for TextSeq<'_, 'a, I>
{
    type Error = DeErr;

    fn next_element_seed<S: de::DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, DeErr> {
        match self.items.next() {
            None => Ok(None),
            Some((i, node)) => {
                let path = Path::Index(self.de.path, i);
                seed.deserialize(TextDe {
                    node,
                    path: &path,
                    ctx: self.de.ctx,
                    root: false,
                })
                .map(Some)
                .map_err(|e| e.locate(&path))
            }
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct TextMap<'s, 'a, 'n, I> {
    entries: I,
    pending: Option<(&'n str, &'n Node)>,
    de: &'s TextDe<'a>,
    /// Struct members (paths `a.b`) rather than dictionary entries (paths `a[k]`).
    fields: bool,
}

impl<'de, 'n, I: Iterator<Item = (&'n str, &'n Node)> + ExactSizeIterator> de::MapAccess<'de>
    for TextMap<'_, '_, 'n, I>
{
    type Error = DeErr;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeErr> {
        let Some((key, node)) = self.entries.next() else {
            return Ok(None);
        };
        self.pending = Some((key, node));
        seed.deserialize(de::value::StrDeserializer::<DeErr>::new(key))
            .map(Some)
            .map_err(|e| e.locate(self.de.path))
    }

    fn next_value_seed<S: de::DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, DeErr> {
        let Some((key, node)) = self.pending.take() else {
            return Err(DeErr::invalid_value(
                self.de.path,
                "internal: value requested before key",
            ));
        };
        let path = if self.fields {
            Path::Field(self.de.path, key)
        } else {
            Path::Key(self.de.path, key)
        };
        seed.deserialize(TextDe {
            node,
            path: &path,
            ctx: self.de.ctx,
            root: false,
        })
        .map_err(|e| e.locate(&path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}
