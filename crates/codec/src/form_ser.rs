//! Writing `application/x-www-form-urlencoded` bodies as Web API's model binding and
//! Katana's form reader read them.
//!
//! A value is flattened into `key=value` pairs in declaration order:
//!
//! | serde shape | keys | why |
//! |---|---|---|
//! | top-level struct | the wire names (`grant_type`, `clientId`) | Web API binds members by name, case-insensitively; Katana reads the exact OAuth names |
//! | `None`, unit | no pair | a missing member binds to null, as a JSON `null` did |
//! | nested struct | `Outer.Inner` | Web API's nested-member syntax |
//! | map (a .NET `Dictionary<string,string>`) | `payload[0].Key=k&payload[0].Value=v` | the only form Web API 5.2.3 bound into a dictionary: `payload[k]=v` binds nothing (asked of the legacy oracle, `tests/golden/form.json`) |
//! | sequence | `items[0]`, `items[1]` | indexed, as for dictionaries |
//! | `bool` | `true`/`false` | |
//! | `""` | `key=` | Web API read an empty value as null (`ConvertEmptyStringToNull`), so an empty string does not survive a form body (the oracle shows it) |
//! | XML hints ([`gatehouse_models::xml_hint`]) | the JSON form (a `TimeSpan` in `c` format, an enum's integer) | Web API's type converters read both |
//!
//! Components are escaped as .NET's `FormUrlEncodedContent` did (`Uri.EscapeDataString`, then
//! `%20` as `+`): the RFC 3986 unreserved characters stay, every other byte of the UTF-8 is
//! `%XX` with upper-case hex, brackets in keys included.

use serde::ser::{self, Serialize};

use crate::auth::form_url_encode;
use crate::error::EncodeError;

/// A value flattened so far.
enum Node {
    /// `None` or unit: no pair.
    Absent,
    /// A scalar's text.
    Text(String),
    /// A struct's members in order.
    Struct(Vec<(&'static str, Node)>),
    /// A map's entries: the key's text and the value.
    Map(Vec<(String, Node)>),
    /// A sequence's items.
    Seq(Vec<Node>),
}

/// Write `value` (a struct) as a form body.
pub(crate) fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, EncodeError> {
    let Node::Struct(members) = value.serialize(NodeSer)? else {
        return Err(unsupported("a value that is not a struct"));
    };
    let mut pairs = Vec::new();
    for (name, node) in members {
        flatten(name.to_owned(), node, &mut pairs);
    }
    let mut out = Vec::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        out.extend_from_slice(form_url_encode(key).as_bytes());
        out.push(b'=');
        out.extend_from_slice(form_url_encode(value).as_bytes());
    }
    Ok(out)
}

fn flatten(key: String, node: Node, pairs: &mut Vec<(String, String)>) {
    match node {
        Node::Absent => {}
        Node::Text(text) => pairs.push((key, text)),
        Node::Struct(members) => {
            for (name, node) in members {
                flatten(format!("{key}.{name}"), node, pairs);
            }
        }
        Node::Map(entries) => {
            for (i, (k, v)) in entries.into_iter().enumerate() {
                pairs.push((format!("{key}[{i}].Key"), k));
                flatten(format!("{key}[{i}].Value"), v, pairs);
            }
        }
        Node::Seq(items) => {
            for (i, item) in items.into_iter().enumerate() {
                flatten(format!("{key}[{i}]"), item, pairs);
            }
        }
    }
}

fn unsupported(what: &str) -> EncodeError {
    EncodeError::Unsupported {
        format: "form data",
        what: what.to_owned(),
    }
}

/// Serializes any value into a [`Node`].
struct NodeSer;

/// Builds a struct's members.
struct StructNode(Vec<(&'static str, Node)>);

/// Builds a map's entries.
struct MapNode {
    entries: Vec<(String, Node)>,
    key: Option<String>,
}

/// Builds a sequence's items.
struct SeqNode(Vec<Node>);

fn text(value: &(impl ToString + ?Sized)) -> Result<Node, EncodeError> {
    Ok(Node::Text(value.to_string()))
}

impl ser::Serializer for NodeSer {
    type Ok = Node;
    type Error = EncodeError;
    type SerializeSeq = SeqNode;
    type SerializeTuple = SeqNode;
    type SerializeTupleStruct = SeqNode;
    type SerializeTupleVariant = ser::Impossible<Node, EncodeError>;
    type SerializeMap = MapNode;
    type SerializeStruct = StructNode;
    type SerializeStructVariant = ser::Impossible<Node, EncodeError>;

    fn serialize_bool(self, v: bool) -> Result<Node, EncodeError> {
        text(&v)
    }
    fn serialize_i8(self, v: i8) -> Result<Node, EncodeError> {
        text(&v)
    }
    fn serialize_i16(self, v: i16) -> Result<Node, EncodeError> {
        text(&v)
    }
    fn serialize_i32(self, v: i32) -> Result<Node, EncodeError> {
        text(&v)
    }
    fn serialize_i64(self, v: i64) -> Result<Node, EncodeError> {
        text(&v)
    }
    fn serialize_u8(self, v: u8) -> Result<Node, EncodeError> {
        text(&v)
    }
    fn serialize_u16(self, v: u16) -> Result<Node, EncodeError> {
        text(&v)
    }
    fn serialize_u32(self, v: u32) -> Result<Node, EncodeError> {
        text(&v)
    }
    fn serialize_u64(self, v: u64) -> Result<Node, EncodeError> {
        text(&v)
    }
    fn serialize_f32(self, v: f32) -> Result<Node, EncodeError> {
        text(&v)
    }
    fn serialize_f64(self, v: f64) -> Result<Node, EncodeError> {
        text(&v)
    }
    fn serialize_char(self, v: char) -> Result<Node, EncodeError> {
        text(&v)
    }
    fn serialize_str(self, v: &str) -> Result<Node, EncodeError> {
        text(&v)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Node, EncodeError> {
        Err(unsupported("bytes"))
    }
    fn serialize_none(self) -> Result<Node, EncodeError> {
        Ok(Node::Absent)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Node, EncodeError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Node, EncodeError> {
        Ok(Node::Absent)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Node, EncodeError> {
        Ok(Node::Absent)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Node, EncodeError> {
        text(variant)
    }
    /// The XML hints (`TimeSpan`, enums) and plain newtypes: the inner value, which is the
    /// JSON form.
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Node, EncodeError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Node, EncodeError> {
        Err(unsupported("an enum variant with data"))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqNode, EncodeError> {
        Ok(SeqNode(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqNode, EncodeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<SeqNode, EncodeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, EncodeError> {
        Err(unsupported("an enum variant with data"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<MapNode, EncodeError> {
        Ok(MapNode {
            entries: Vec::new(),
            key: None,
        })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<StructNode, EncodeError> {
        Ok(StructNode(Vec::with_capacity(len)))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, EncodeError> {
        Err(unsupported("an enum variant with data"))
    }
}

impl ser::SerializeSeq for SeqNode {
    type Ok = Node;
    type Error = EncodeError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        self.0.push(value.serialize(NodeSer)?);
        Ok(())
    }
    fn end(self) -> Result<Node, EncodeError> {
        Ok(Node::Seq(self.0))
    }
}

impl ser::SerializeTuple for SeqNode {
    type Ok = Node;
    type Error = EncodeError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Node, EncodeError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SeqNode {
    type Ok = Node;
    type Error = EncodeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Node, EncodeError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeMap for MapNode {
    type Ok = Node;
    type Error = EncodeError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), EncodeError> {
        match key.serialize(NodeSer)? {
            Node::Text(k) => {
                self.key = Some(k);
                Ok(())
            }
            _ => Err(unsupported("a dictionary key that is not a string")),
        }
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| unsupported("a dictionary value without its key"))?;
        self.entries.push((key, value.serialize(NodeSer)?));
        Ok(())
    }
    fn end(self) -> Result<Node, EncodeError> {
        Ok(Node::Map(self.entries))
    }
}

impl ser::SerializeStruct for StructNode {
    type Ok = Node;
    type Error = EncodeError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), EncodeError> {
        self.0.push((key, value.serialize(NodeSer)?));
        Ok(())
    }
    fn skip_field(&mut self, _: &'static str) -> Result<(), EncodeError> {
        Ok(())
    }
    fn end(self) -> Result<Node, EncodeError> {
        Ok(Node::Struct(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(serde::Serialize)]
    struct Inner {
        #[serde(rename = "Message")]
        message: &'static str,
    }

    #[derive(serde::Serialize)]
    struct Outer {
        #[serde(rename = "clientId")]
        client_id: Option<&'static str>,
        #[serde(rename = "userName")]
        user_name: Option<&'static str>,
        payload: BTreeMap<&'static str, &'static str>,
        #[serde(rename = "Header")]
        header: Inner,
        flags: Vec<bool>,
    }

    #[test]
    fn shapes_flatten_as_web_api_binds_them() {
        let v = Outer {
            client_id: Some("a b&c=d/é"),
            user_name: None,
            payload: [("k 1", "v"), ("x", "y")].into_iter().collect(),
            header: Inner { message: "m" },
            flags: vec![true, false],
        };
        let body = String::from_utf8(to_vec(&v).unwrap()).unwrap();
        assert_eq!(
            body,
            "clientId=a+b%26c%3Dd%2F%C3%A9\
             &payload%5B0%5D.Key=k+1&payload%5B0%5D.Value=v\
             &payload%5B1%5D.Key=x&payload%5B1%5D.Value=y\
             &Header.Message=m&flags%5B0%5D=true&flags%5B1%5D=false"
        );
    }

    #[test]
    fn only_structs_make_a_body() {
        assert!(matches!(
            to_vec(&"text"),
            Err(EncodeError::Unsupported { .. })
        ));
        assert!(matches!(
            to_vec(&BTreeMap::from([(1, 2)])),
            Err(EncodeError::Unsupported { .. })
        ));
    }
}
