//! Comparing two answers of a legacy endpoint, and redacting them for storage.
//!
//! Compared: the status, the `Content-Type`, then the body as a tree (JSON as written, XML
//! elements in document order): member names and their order, the type of each value, and
//! the value itself unless it is volatile. Volatile values are compared by their shape only:
//! tokens, codes, GUIDs, times, numbers (ids, `expires_in`), and every member whose name
//! says it holds one (`access_token`, `userID`, `.expires`, …). Two systems never issue the
//! same token, so a token compared by value would differ every time.
//!
//! Redaction keeps the tree and replaces every scalar by its shape (`"<token>"`,
//! `"<guid>"`, …) except the values of a short list of members that never hold a secret
//! (`error`, `error_description`, `token_type`, `Message`, …). A secret therefore cannot
//! reach a stored difference whatever member it hides in.

use std::fmt::Write as _;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// One answer: what the client would get.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The `Content-Type`, when there was one.
    pub content_type: Option<String>,
    /// The body bytes.
    pub body: Vec<u8>,
}

/// A parsed body: members in the order written.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `null`, or an XML `i:nil` / empty element.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A JSON number.
    Number(String),
    /// A string, or an XML element's text.
    Text(String),
    /// A JSON array.
    Array(Vec<Node>),
    /// A JSON object or an XML element with children: (name, value) in order.
    Object(Vec<(String, Node)>),
}

/// What differed, in the kinds counted and in words (never a volatile or secret value).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The kinds, each once, in a fixed order.
    pub kinds: Vec<&'static str>,
    /// One line per difference found (at most [`MAX_NOTES`]).
    pub detail: String,
}

/// Kinds of difference, in the order reported.
pub const KINDS: [&str; 6] = [
    "status",
    "content_type",
    "body",
    "members",
    "shape",
    "value",
];

const MAX_NOTES: usize = 20;

/// Members whose values are never secret and are compared and stored as they are.
const PLAIN: [&str; 12] = [
    "error",
    "error_description",
    "error_uri",
    "token_type",
    "message",
    "messagedetail",
    "exceptionmessage",
    "exceptiontype",
    "scope",
    "grant_type",
    "status",
    "description",
];

/// Members whose values are volatile (issued per answer) whatever they look like.
const VOLATILE: [&str; 22] = [
    "access_token",
    "refresh_token",
    "id_token",
    "code",
    "auth_code",
    "authcode",
    "onetimecode",
    "onetime_code",
    "session_state",
    "sessionkey",
    "session_key",
    "userid",
    "user_id",
    "memberid",
    "member_id",
    "id",
    "jti",
    "expires_in",
    ".issued",
    ".expires",
    "expiretime",
    "client_key",
];

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Number(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
                Ok(Node::Number(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
                Ok(Node::Number(v.to_string()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Text(v.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Node::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut members = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Node>()? {
                    members.push((k, v));
                }
                Ok(Node::Object(members))
            }
        }
        d.deserialize_any(V)
    }
}

/// The body as a tree, by its `Content-Type` (JSON or XML, UTF-8); `None` when it is
/// neither or does not parse.
pub fn parse(answer: &Answer) -> Option<Node> {
    let ct = answer.content_type.as_deref()?.to_ascii_lowercase();
    if answer.body.is_empty() {
        return None;
    }
    if ct.contains("json") {
        serde_json::from_slice(&answer.body).ok()
    } else if ct.contains("xml") {
        parse_xml(&answer.body)
    } else {
        None
    }
}

fn parse_xml(body: &[u8]) -> Option<Node> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(body);
    reader.config_mut().trim_text(true);
    // Open elements: (name, children, text, nil).
    type Open = (String, Vec<(String, Node)>, String, bool);
    let mut stack: Vec<Open> = Vec::new();
    let mut root = None;
    let local = |name: &[u8]| {
        let name = String::from_utf8_lossy(name).into_owned();
        match name.rsplit_once(':') {
            Some((_, l)) => l.to_owned(),
            None => name,
        }
    };
    let nil = |e: &quick_xml::events::BytesStart<'_>| {
        e.attributes()
            .flatten()
            .any(|a| a.key.local_name().as_ref() == b"nil" && a.value.as_ref() == b"true")
    };
    let close = |name: String, children: Vec<(String, Node)>, text: String, is_nil: bool| {
        let node = if is_nil {
            Node::Null
        } else if !children.is_empty() {
            Node::Object(children)
        } else if text.is_empty() {
            Node::Null
        } else {
            Node::Text(text)
        };
        (name, node)
    };
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => {
                stack.push((local(e.name().as_ref()), Vec::new(), String::new(), nil(&e)));
            }
            Event::Empty(e) => {
                let item = close(local(e.name().as_ref()), Vec::new(), String::new(), nil(&e));
                match stack.last_mut() {
                    Some(parent) => parent.1.push(item),
                    None => root = Some(Node::Object(vec![item])),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.2.push_str(&String::from_utf8_lossy(t.as_ref()));
                }
            }
            Event::End(_) => {
                let (name, children, text, is_nil) = stack.pop()?;
                let item = close(name, children, text, is_nil);
                match stack.last_mut() {
                    Some(parent) => parent.1.push(item),
                    None => root = Some(Node::Object(vec![item])),
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if stack.is_empty() {
        root
    } else {
        None
    }
}

/// The shape of a scalar value.
fn shape_of(node: &Node) -> &'static str {
    match node {
        Node::Null => "null",
        Node::Bool(_) => "bool",
        Node::Number(_) => "number",
        Node::Array(_) => "array",
        Node::Object(_) => "object",
        Node::Text(t) => text_shape(t),
    }
}

fn text_shape(t: &str) -> &'static str {
    let b = t.as_bytes();
    let hex = |s: &[u8]| s.iter().all(u8::is_ascii_hexdigit);
    if b.len() == 36
        && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
        && t.split('-').all(|p| hex(p.as_bytes()))
    {
        return "guid";
    }
    if b.len() >= 19
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
    {
        return "datetime";
    }
    // RFC 1123, as Katana wrote `.issued` / `.expires`: "Sat, 06 Dec 2026 09:00:00 GMT".
    if b.len() == 29 && b[3] == b',' && t.ends_with(" GMT") {
        return "datetime";
    }
    if !b.is_empty() && b.iter().all(u8::is_ascii_digit) {
        return "digits";
    }
    if b.len() >= 16
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-_+/=.".contains(c))
    {
        return "token";
    }
    "text"
}

fn volatile(name: &str, node: &Node) -> bool {
    let name = name.to_ascii_lowercase();
    VOLATILE.contains(&name.as_str())
        || matches!(node, Node::Number(_))
        || matches!(shape_of(node), "guid" | "datetime" | "token" | "digits")
}

fn plain(name: &str) -> bool {
    PLAIN.contains(&name.to_ascii_lowercase().as_str())
}

/// Compares Gatehouse's answer (`ours`) with the legacy service's (`theirs`).
pub fn compare(ours: &Answer, theirs: &Answer) -> Outcome {
    let mut notes = Notes::default();
    if ours.status != theirs.status {
        notes.add(
            "status",
            format!("status {} vs {}", ours.status, theirs.status),
        );
    }
    let norm = |ct: &Option<String>| {
        ct.as_deref()
            .map(|c| c.to_ascii_lowercase().replace(' ', ""))
    };
    if norm(&ours.content_type) != norm(&theirs.content_type) {
        notes.add(
            "content_type",
            format!(
                "Content-Type {:?} vs {:?}",
                ours.content_type.as_deref().unwrap_or(""),
                theirs.content_type.as_deref().unwrap_or("")
            ),
        );
    }
    match (parse(ours), parse(theirs)) {
        (Some(a), Some(b)) => tree(&mut notes, "$", "", &a, &b),
        (None, None) if ours.body == theirs.body => {}
        (a, b) => notes.add(
            "body",
            format!(
                "body: {} ({} bytes) vs {} ({} bytes)",
                if a.is_some() { "parsed" } else { "unparsed" },
                ours.body.len(),
                if b.is_some() { "parsed" } else { "unparsed" },
                theirs.body.len()
            ),
        ),
    }
    notes.finish()
}

#[derive(Default)]
struct Notes {
    kinds: Vec<&'static str>,
    lines: Vec<String>,
}

impl Notes {
    fn add(&mut self, kind: &'static str, line: String) {
        if !self.kinds.contains(&kind) {
            self.kinds.push(kind);
        }
        if self.lines.len() < MAX_NOTES {
            self.lines.push(line);
        }
    }

    fn finish(mut self) -> Outcome {
        self.kinds
            .sort_by_key(|k| KINDS.iter().position(|x| x == k).unwrap_or(KINDS.len()));
        Outcome {
            kinds: self.kinds,
            detail: self.lines.join("\n"),
        }
    }
}

fn tree(notes: &mut Notes, path: &str, name: &str, a: &Node, b: &Node) {
    match (a, b) {
        (Node::Object(x), Node::Object(y)) => {
            let names = |m: &[(String, Node)]| m.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
            let (nx, ny) = (names(x), names(y));
            if nx != ny {
                notes.add(
                    "members",
                    format!(
                        "members of {path}: [{}] vs [{}]",
                        nx.join(", "),
                        ny.join(", ")
                    ),
                );
            }
            for (k, va) in x {
                if let Some((_, vb)) = y.iter().find(|(kb, _)| kb == k) {
                    tree(notes, &format!("{path}.{k}"), k, va, vb);
                }
            }
        }
        (Node::Array(x), Node::Array(y)) => {
            if x.len() != y.len() {
                notes.add("shape", format!("{path}: {} items vs {}", x.len(), y.len()));
            }
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                tree(notes, &format!("{path}[{i}]"), name, va, vb);
            }
        }
        _ => {
            let (sa, sb) = (shape_of(a), shape_of(b));
            fn scalar_kind(s: &'static str) -> &'static str {
                match s {
                    "text" | "guid" | "datetime" | "digits" | "token" => "string",
                    other => other,
                }
            }
            if scalar_kind(sa) != scalar_kind(sb) {
                notes.add("shape", format!("{path}: {sa} vs {sb}"));
            } else if volatile(name, a) || volatile(name, b) {
                if sa != sb {
                    notes.add("shape", format!("{path}: {sa} vs {sb}"));
                }
            } else if a != b {
                let line = if plain(name) {
                    format!("{path}: {} vs {}", show(a), show(b))
                } else {
                    format!("{path}: values differ ({sa})")
                };
                notes.add("value", line);
            }
        }
    }
}

fn show(node: &Node) -> String {
    match node {
        Node::Text(t) => format!("{t:?}"),
        Node::Bool(v) => v.to_string(),
        other => format!("<{}>", shape_of(other)),
    }
}

/// The answer as stored: status, Content-Type and the body's tree with every value that is
/// not a [`PLAIN`] member's (or a boolean or null) replaced by its shape; a body that does not
/// parse is only its length.
pub fn redact(answer: &Answer) -> String {
    let body = match parse(answer) {
        Some(node) => redacted_node("", &node),
        None => serde_json::Value::String(format!("<unparsed body: {} bytes>", answer.body.len())),
    };
    serde_json::json!({
        "status": answer.status,
        "content_type": answer.content_type,
        "body": body,
    })
    .to_string()
}

fn redacted_node(name: &str, node: &Node) -> serde_json::Value {
    use serde_json::Value;
    match node {
        Node::Null => Value::Null,
        Node::Bool(v) => Value::Bool(*v),
        Node::Text(t) if plain(name) && text_shape(t) == "text" => Value::String(t.clone()),
        Node::Number(_) | Node::Text(_) => Value::String(format!("<{}>", shape_of(node))),
        Node::Array(items) => Value::Array(items.iter().map(|i| redacted_node(name, i)).collect()),
        Node::Object(members) => {
            // An array of pairs keeps the order (and repeated XML names).
            Value::Array(
                members
                    .iter()
                    .map(|(k, v)| serde_json::json!([k, redacted_node(k, v)]))
                    .collect(),
            )
        }
    }
}

/// A one-line summary for logs: the kinds only.
pub fn summary(outcome: &Outcome) -> String {
    let mut out = String::new();
    for (i, k) in outcome.kinds.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{k}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(status: u16, body: &str) -> Answer {
        Answer {
            status,
            content_type: Some("application/json; charset=utf-8".to_owned()),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn tokens_ids_and_times_compare_by_shape() {
        let a = json(
            200,
            r#"{"access_token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","token_type":"bearer","expires_in":1199,"userId":"3be9edf1-5491-4d5c-a5c6-423218dfb6cc",".expires":"Sat, 06 Dec 2026 09:00:00 GMT"}"#,
        );
        let b = json(
            200,
            r#"{"access_token":"ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ","token_type":"bearer","expires_in":1200,"userId":"00000000-5491-4d5c-a5c6-423218dfb6cc",".expires":"Sun, 07 Dec 2026 10:00:00 GMT"}"#,
        );
        assert_eq!(compare(&a, &b), Outcome::default());
    }

    #[test]
    fn status_members_order_shape_and_plain_values_differ() {
        let a = json(
            200,
            r#"{"access_token":"AAAAAAAAAAAAAAAAAAAAAAA","token_type":"bearer"}"#,
        );
        let b = json(400, r#"{"token_type":"Bearer","access_token":17}"#);
        let outcome = compare(&a, &b);
        assert_eq!(outcome.kinds, ["status", "members", "shape", "value"]);
        assert!(
            outcome
                .detail
                .contains("members of $: [access_token, token_type] vs [token_type, access_token]"),
            "{}",
            outcome.detail
        );
        assert!(
            outcome
                .detail
                .contains(r#"$.token_type: "bearer" vs "Bearer""#),
            "{}",
            outcome.detail
        );
        // The token's value is never in the detail.
        assert!(!outcome.detail.contains("AAAAAAAA"), "{}", outcome.detail);
    }

    #[test]
    fn xml_elements_in_order() {
        let xml = |body: &str| Answer {
            status: 200,
            content_type: Some("application/xml; charset=utf-8".to_owned()),
            body: body.as_bytes().to_vec(),
        };
        let a = xml(
            r#"<T xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><A>x</A><B i:nil="true"/></T>"#,
        );
        let b = xml(r#"<T><B/><A>x</A></T>"#);
        assert_eq!(compare(&a, &b).kinds, ["members"]);
        assert_eq!(compare(&a, &a).kinds, Vec::<&str>::new());
    }

    #[test]
    fn redaction_keeps_only_plain_members() {
        let a = json(
            400,
            r#"{"error":"invalid_grant","error_description":"The user name or password is incorrect.","password":"hunter2","code":"abc","userName":"alice","nested":{"refresh_token":"r-secret-value"}}"#,
        );
        let stored = redact(&a);
        for secret in ["hunter2", "abc", "alice", "r-secret-value"] {
            assert!(!stored.contains(secret), "{secret} in {stored}");
        }
        assert!(stored.contains("invalid_grant"), "{stored}");
        assert!(
            stored.contains("The user name or password is incorrect."),
            "{stored}"
        );
    }
}
