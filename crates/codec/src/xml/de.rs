//! Reading XML: serde driven straight from quick-xml's borrowed events, with the contract's
//! checks (root name and namespace, DOCTYPE and entity refusal, depth, attribute and
//! namespace caps, text sizes, repeated members) made on the fly.
//!
//! Two layers. [`Scanner`] reads the events and applies every check on the document's
//! shape, in document order; it keeps only a frame per open element (its name, borrowed, for
//! error paths, and the bytes of text it holds). [`ElemDe`] binds one element: text straight
//! from the borrowed events for leaves, members as the events come for structs; dictionaries
//! and lists, rare and small, are collected into a [`Node`] and bound by
//! [`TextDe`](crate::text_de::TextDe), the form reader's binder, as the whole document was
//! before.
//!
//! Same answers as the tree reader this replaced (it built the whole document first, checked
//! it, then bound it): a failure of the document's shape anywhere wins over a binding
//! failure, so after a binding failure the rest of the document is still scanned and its
//! first shape failure, if any, is the answer; and a repeated member of a struct wins over
//! the failure of any of its members, so after a member fails the rest of its struct is
//! scanned for repeats. The unit test `streaming_reader_answers_as_the_tree_reader_did`
//! compares both readers over the seed bodies and thousands of mutations of them.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::PrefixDeclaration;
use quick_xml::Reader;
use serde::de::{self, DeserializeOwned, IntoDeserializer};

use super::{ARRAYS, XSI};
use crate::de_common::{parse_i128, parse_xml_bool, visit_int, DeErr, Path};
use crate::error::DecodeError;
use crate::text_de::{xml_name_eq, Ctx, Mode, Node, Ns, TextDe};
use crate::DecodeOptions;
use gatehouse_models::dotnet::TimeSpan;
use gatehouse_models::xml_hint;

fn malformed(reason: &'static str) -> DecodeError {
    DecodeError::Malformed {
        format: "XML",
        reason: reason.to_owned(),
        field: String::new(),
    }
}

/// Most attributes one element may carry. DataContractSerializer's own documents carry at
/// most three (`xmlns`, `xmlns:i`, `i:nil`); the bound keeps attribute checks and namespace
/// resolution constant per element, so decoding stays linear in the body.
pub const MAX_ATTRIBUTES_PER_ELEMENT: usize = 32;
/// Most namespace declarations (`xmlns`, `xmlns:p`) one element may carry.
pub const MAX_NAMESPACES_PER_ELEMENT: usize = 8;
/// Most namespace bindings in scope at any point (over all open elements): every element or
/// attribute name is resolved against at most this many.
pub const MAX_NAMESPACES_IN_SCOPE: usize = 32;

/// A quick-xml failure in words that never quote the document: an end tag's name, an
/// attribute or a reference may be a piece of a password (`</Secret99pw>`).
fn opaque(e: &quick_xml::Error) -> DecodeError {
    use quick_xml::errors::IllFormedError as I;
    use quick_xml::Error as E;
    malformed(match e {
        E::Syntax(_) => "invalid markup (an unclosed tag, comment or section)",
        E::IllFormed(I::MismatchedEndTag { .. }) => "an end tag does not match its start tag",
        E::IllFormed(I::UnmatchedEndTag(_)) => "an end tag without a start tag",
        E::IllFormed(I::MissingEndTag(_)) => "an element is not closed",
        E::IllFormed(_) => "ill-formed markup",
        E::InvalidAttr(_) => "an invalid attribute",
        E::Encoding(_) => "invalid text encoding",
        E::Escape(_) => "an invalid character or entity reference",
        E::Namespace(_) => "an invalid namespace declaration",
        _ => "unreadable markup",
    })
}

/// `&name;` or `&#N;` / `&#xN;`. Only the five predefined entities exist (no DTD is
/// accepted). Character references may name any Unicode scalar value, U+0000 included: .NET
/// wrote control characters as `&#x1;`, so those are accepted too.
fn resolve_reference(name: &str) -> Result<char, DecodeError> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix('x') {
            Some(hex) if !hex.is_empty() && hex.len() <= 6 => u32::from_str_radix(hex, 16).ok(),
            Some(_) => None,
            None if !num.is_empty()
                && num.len() <= 7
                && num.bytes().all(|b| b.is_ascii_digit()) =>
            {
                num.parse().ok()
            }
            None => None,
        };
        return code
            .and_then(char::from_u32)
            .ok_or_else(|| malformed("invalid character reference"));
    }
    match name {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "quot" => Ok('"'),
        "apos" => Ok('\''),
        _ => Err(DecodeError::Forbidden {
            what: "an entity reference other than the predefined ones",
        }),
    }
}

/// The work of namespace resolution for `body`: for every element and attribute name, the
/// bindings in scope it may be compared against. Bounded by a constant times the number of
/// names, hence linear in the body (tests measure it; nothing else needs it). The document's
/// shape only: nothing is bound.
#[doc(hidden)]
pub fn resolution_work<T: gatehouse_models::Contract>(
    body: &[u8],
    opts: &DecodeOptions,
) -> (usize, Result<(), DecodeError>) {
    let mut sc = match Scanner::new(body, T::XML_ROOT, T::XML_NAMESPACE, opts) {
        Ok(sc) => sc,
        Err(e) => return (0, Err(e)),
    };
    sc.drain();
    (sc.work, sc.fatal.take().map_or(Ok(()), Err))
}

/// An element's start, as the binder sees it.
pub(crate) struct Start<'a> {
    /// Local name, borrowed from the body.
    name: Cow<'a, str>,
    ns: Ns,
    /// `i:nil="true"`.
    nil: bool,
    /// `<x/>`: no content and no end event follow.
    empty: bool,
    /// 1 for the root, 2 for its children, ...
    level: usize,
}

/// What the scanner hands the binder.
pub(crate) enum Item<'a> {
    Start(Start<'a>),
    /// The end of the element at this level.
    End(usize),
    /// Text or CDATA directly inside the innermost open element.
    Text(Cow<'a, str>),
    /// A character or entity reference there.
    Char(char),
    /// After the root's end: nothing but comments and whitespace followed.
    Eof,
}

/// The reserved namespace of the `xml` prefix.
const XML_NAMESPACE: &[u8] = b"http://www.w3.org/XML/1998/namespace";
/// The reserved namespace of the `xmlns` prefix.
const XMLNS_NAMESPACE: &[u8] = b"http://www.w3.org/2000/xmlns/";

/// A namespace declaration in scope.
struct Binding<'a> {
    /// Empty for the default namespace (`xmlns`, and `xmlns:` as quick-xml read it).
    prefix: Cow<'a, [u8]>,
    /// Empty: undeclared (`xmlns=""`).
    value: Cow<'a, [u8]>,
    /// Level of the element that declared it.
    level: usize,
}

/// One open element.
struct Frame<'a> {
    name: Cow<'a, str>,
    /// Bytes of text directly inside it so far (bounded by `max_string_len`).
    text_len: usize,
    /// Namespace declarations it carries.
    declared: usize,
}

/// quick-xml's events checked against the contract and the limits, in document order.
pub(crate) struct Scanner<'a> {
    reader: Reader<&'a [u8]>,
    /// Namespace bindings in scope, innermost last (see [`Binding`]).
    bindings: Vec<Binding<'a>>,
    /// The body (after a byte order mark).
    src: &'a str,
    max_depth: usize,
    max_string_len: usize,
    root_name: &'static str,
    namespace: &'static str,
    stack: Vec<Frame<'a>>,
    /// Namespace declarations of all open elements.
    in_scope: usize,
    root_closed: bool,
    /// The root's namespace (the contract's, once the root is accepted): `None` when it has
    /// none.
    root_ns: Option<&'static [u8]>,
    /// See [`resolution_work`].
    work: usize,
    /// The first failure of the document's shape. Once set, every read fails, and it is the
    /// answer whatever the binder made of the events before.
    fatal: Option<DecodeError>,
}

/// What the binder sees of a shape failure (the real error waits in [`Scanner::fatal`]):
/// nothing to move, so reading an item stays cheap.
struct ShapeFailure;

impl From<ShapeFailure> for DeErr {
    fn from(_: ShapeFailure) -> DeErr {
        shape_failure()
    }
}

fn shape_failure() -> DeErr {
    DeErr::new(DecodeError::EmptyBody)
}

impl<'a> Scanner<'a> {
    fn new(
        body: &'a [u8],
        root_name: &'static str,
        namespace: &'static str,
        opts: &DecodeOptions,
    ) -> Result<Self, DecodeError> {
        let text = std::str::from_utf8(body).map_err(|_| DecodeError::InvalidUtf8)?;
        let text = crate::json::strip_bom(text);
        if text.trim().is_empty() {
            return Err(DecodeError::EmptyBody);
        }
        Ok(Scanner {
            reader: Reader::from_str(text),
            bindings: Vec::new(),
            src: text,
            max_depth: opts.max_depth,
            max_string_len: opts.max_string_len,
            root_name,
            namespace,
            stack: Vec::with_capacity(8),
            in_scope: 0,
            root_closed: false,
            root_ns: None,
            work: 0,
            fatal: None,
        })
    }

    /// The next item; a shape failure is kept in `fatal` and every later call fails too.
    fn next(&mut self) -> Result<Item<'a>, ShapeFailure> {
        if self.fatal.is_some() {
            return Err(ShapeFailure);
        }
        self.step().map_err(|e| {
            self.fatal = Some(e);
            ShapeFailure
        })
    }

    /// Read (and check) the rest of the document.
    fn drain(&mut self) {
        while let Ok(item) = self.next() {
            if matches!(item, Item::Eof) {
                break;
            }
        }
    }

    /// The path of the innermost open element (root excluded), for length errors.
    fn stack_path(&self) -> String {
        self.stack
            .iter()
            .skip(1)
            .map(|f| f.name.as_ref())
            .collect::<Vec<_>>()
            .join(".")
    }

    /// Count `len` bytes of text into the innermost open element.
    fn add_text(&mut self, len: usize) -> Result<(), DecodeError> {
        let max = self.max_string_len;
        let Some(top) = self.stack.last_mut() else {
            return Ok(());
        };
        if top.text_len + len > max {
            return Err(DecodeError::TooLong {
                field: self.stack_path(),
                max,
            });
        }
        top.text_len += len;
        Ok(())
    }

    fn step(&mut self) -> Result<Item<'a>, DecodeError> {
        loop {
            let event = self.reader.read_event().map_err(|e| opaque(&e))?;
            match event {
                Event::Start(ref e) | Event::Empty(ref e) => {
                    let level = self.stack.len() + 1;
                    self.declare(e, level)?;
                    let ns = self.classify(e);
                    let empty = matches!(event, Event::Empty(_));
                    let item = self.open(ns, e, empty);
                    if empty {
                        self.undeclare(level);
                    }
                    return item;
                }
                Event::End(_) => {
                    let level = self.stack.len();
                    self.undeclare(level);
                    if let Some(frame) = self.stack.pop() {
                        self.in_scope -= frame.declared;
                        if self.stack.is_empty() {
                            self.root_closed = true;
                        }
                    }
                    return Ok(Item::End(level));
                }
                Event::Decl(_) => {
                    if !self.stack.is_empty() || self.root_closed {
                        return Err(malformed(
                            "an XML declaration after the start of the document",
                        ));
                    }
                }
                Event::DocType(_) => {
                    return Err(DecodeError::Forbidden {
                        what: "a DOCTYPE declaration",
                    })
                }
                Event::PI(_) => {
                    return Err(DecodeError::Forbidden {
                        what: "a processing instruction",
                    })
                }
                Event::Comment(_) => {}
                Event::Text(t) => {
                    // The body is already UTF-8: text without a `\r` to normalise is a slice
                    // of it (quick-xml would validate it again).
                    let s = match self.borrow(&t) {
                        Some(s) if !s.as_bytes().contains(&b'\r') => Cow::Borrowed(s),
                        _ => t
                            .xml10_content()
                            .map_err(|_| malformed("invalid text encoding"))?,
                    };
                    if self.stack.is_empty() {
                        if s.trim().is_empty() {
                            continue;
                        }
                        return Err(malformed("text outside the root element"));
                    }
                    self.add_text(s.len())?;
                    return Ok(Item::Text(s));
                }
                Event::CData(c) => {
                    let s = c.decode().map_err(|_| malformed("invalid text encoding"))?;
                    if self.stack.is_empty() {
                        return Err(malformed("character data outside the root element"));
                    }
                    self.add_text(s.len())?;
                    return Ok(Item::Text(s));
                }
                Event::GeneralRef(r) => {
                    let name = r.decode().map_err(|_| malformed("invalid text encoding"))?;
                    let c = resolve_reference(&name)?;
                    if self.stack.is_empty() {
                        return Err(malformed("a reference outside the root element"));
                    }
                    self.add_text(c.len_utf8())?;
                    return Ok(Item::Char(c));
                }
                Event::Eof => {
                    if self.root_closed && self.stack.is_empty() {
                        return Ok(Item::Eof);
                    }
                    return Err(malformed(
                        "the document ends before its root element is closed",
                    ));
                }
            }
        }
    }

    /// The namespace declarations of a start tag, in scope from now until its end, refused
    /// as quick-xml's `NsReader` refused them (the reader this replaced used it; the rules
    /// and their order are its `NamespaceResolver::push`): `xml` bound elsewhere than its
    /// namespace, `xmlns` bound at all, another prefix bound to either reserved namespace.
    /// Attributes are read up to the first that does not parse (the attribute checks of
    /// [`Scanner::attributes`] report that one). Bindings borrow the body, where the
    /// resolver copied each into a buffer.
    fn declare(&mut self, e: &BytesStart<'_>, level: usize) -> Result<(), DecodeError> {
        // No `xmlns`, no declaration: the common case of a member element (or `i:nil`).
        if !e.attributes_raw().windows(5).any(|w| w == b"xmlns") {
            return Ok(());
        }
        let refused = || malformed("an invalid namespace declaration");
        for attr in e.attributes().with_checks(false) {
            let Ok(attr) = attr else { break };
            let Some(declaration) = attr.key.as_namespace_binding() else {
                continue;
            };
            let value = self.borrow_bytes(&attr.value);
            let prefix: Cow<'a, [u8]> = match declaration {
                PrefixDeclaration::Default => Cow::Borrowed(b""),
                PrefixDeclaration::Named(b"xml") => {
                    if *value != *XML_NAMESPACE {
                        return Err(refused());
                    }
                    continue;
                }
                PrefixDeclaration::Named(b"xmlns") => return Err(refused()),
                PrefixDeclaration::Named(prefix) => {
                    if *value == *XML_NAMESPACE || *value == *XMLNS_NAMESPACE {
                        return Err(refused());
                    }
                    self.borrow_bytes(prefix)
                }
            };
            self.bindings.push(Binding {
                prefix,
                value,
                level,
            });
        }
        Ok(())
    }

    /// Leave the scope of the element at `level`.
    fn undeclare(&mut self, level: usize) {
        while self.bindings.last().is_some_and(|b| b.level >= level) {
            self.bindings.pop();
        }
    }

    /// The namespace `prefix` names (`Ok(None)`: none), as `NsReader` resolved it: an
    /// element without a prefix is in the innermost default namespace (none if `xmlns=""`),
    /// an attribute without one in none; a prefix is bound by its innermost declaration,
    /// unless that is `xmlns:p=""`; `xml` and `xmlns` are bound to their reserved names.
    fn resolve(&self, prefix: Option<&[u8]>, element: bool) -> Result<Option<&[u8]>, ()> {
        let found = match prefix {
            None if !element => return Ok(None),
            None => self.bindings.iter().rev().find(|b| b.prefix.is_empty()),
            Some(p) => self
                .bindings
                .iter()
                .rev()
                .find(|b| !b.prefix.is_empty() && *b.prefix == *p),
        };
        match (found, prefix) {
            (Some(b), _) if !b.value.is_empty() => Ok(Some(&b.value)),
            (_, None) => Ok(None),
            (None, Some(b"xml")) => Ok(Some(XML_NAMESPACE)),
            (None, Some(b"xmlns")) => Ok(Some(XMLNS_NAMESPACE)),
            (_, Some(_)) => Err(()),
        }
    }

    /// Classify an element's namespace (an undeclared prefix fails).
    fn classify(&self, e: &BytesStart<'_>) -> Result<ElemNs, DecodeError> {
        let name = e.name();
        let ns = self
            .resolve(name.prefix().map(|p| p.into_inner()), true)
            .map_err(|()| malformed("a namespace prefix is not declared"))?;
        let (namespace, root_ns) = (self.namespace, self.root_ns);
        Ok(if self.stack.is_empty() {
            let found = ns.unwrap_or_default();
            ElemNs::Root {
                bound: ns.is_some(),
                wrong: (found != namespace.as_bytes())
                    .then(|| String::from_utf8_lossy(found).into_owned()),
            }
        } else if ns == root_ns {
            ElemNs::Member(Ns::Contract)
        } else if ns == Some(ARRAYS.as_bytes()) {
            ElemNs::Member(Ns::Arrays)
        } else {
            ElemNs::Member(Ns::Other)
        })
    }

    /// A start tag: the root's name and namespace, the depth, the attributes and
    /// namespace declarations, `i:nil`.
    fn open(
        &mut self,
        ns: Result<ElemNs, DecodeError>,
        e: &BytesStart<'_>,
        empty: bool,
    ) -> Result<Item<'a>, DecodeError> {
        let ns = ns?;
        if self.root_closed {
            return Err(malformed("content after the root element"));
        }
        if self.stack.len() >= self.max_depth {
            return Err(DecodeError::TooDeep {
                max: self.max_depth,
            });
        }
        let is_root = self.stack.is_empty();
        let local = e.local_name().into_inner();
        let name = match self.borrow(local) {
            Some(name) => Cow::Borrowed(name),
            None => Cow::Owned(
                std::str::from_utf8(local)
                    .map_err(|_| DecodeError::InvalidUtf8)?
                    .to_owned(),
            ),
        };
        if is_root && name != self.root_name {
            return Err(DecodeError::WrongRoot {
                expected: self.root_name,
                found: name.into_owned(),
            });
        }
        let kind = match ns {
            ElemNs::Root { bound, wrong } => {
                // DataContractSerializer refused a root in another namespace and a root
                // without one (unless the contract has none).
                if let Some(found) = wrong {
                    return Err(DecodeError::WrongNamespace {
                        expected: self.namespace,
                        found,
                    });
                }
                self.root_ns = bound.then_some(self.namespace.as_bytes());
                Ns::Contract
            }
            ElemNs::Member(kind) => kind,
        };
        let (nil, declared) = self.attributes(e)?;
        let level = self.stack.len() + 1;
        if empty {
            if is_root {
                self.root_closed = true;
            }
        } else {
            self.stack.push(Frame {
                name: name.clone(),
                text_len: 0,
                declared,
            });
            self.in_scope += declared;
        }
        Ok(Item::Start(Start {
            name,
            ns: kind,
            nil,
            empty,
            level,
        }))
    }

    /// `bytes` as a slice of the body they were read from (quick-xml's events borrow the
    /// body, but a name's lifetime is the event's), without validating them again; `None`
    /// if they are not one.
    /// `bytes` borrowed from the body, or a copy.
    fn borrow_bytes(&self, bytes: &[u8]) -> Cow<'a, [u8]> {
        match self.borrow(bytes) {
            Some(s) => Cow::Borrowed(s.as_bytes()),
            None => Cow::Owned(bytes.to_vec()),
        }
    }

    fn borrow(&self, bytes: &[u8]) -> Option<&'a str> {
        let offset = (bytes.as_ptr() as usize).wrapping_sub(self.src.as_ptr() as usize);
        let s = self.src.get(offset..offset.checked_add(bytes.len())?)?;
        (s.as_ptr() == bytes.as_ptr()).then_some(s)
    }

    /// The caps on attributes and namespace declarations, and `i:nil`: (nil, declarations).
    fn attributes(&mut self, e: &BytesStart<'_>) -> Result<(bool, usize), DecodeError> {
        let mut nil = false;
        let mut declared = 0;
        // No attribute at all (only XML whitespace after the name): the common member element.
        if e.attributes_raw()
            .iter()
            .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        {
            self.work += self.in_scope + 1;
            return Ok((false, 0));
        }
        // quick-xml's own duplicate check allocates; this one is on the stack. A repeated
        // name fails at the same attribute with the same error as quick-xml's did.
        let mut keys: [&[u8]; MAX_ATTRIBUTES_PER_ELEMENT] = [&[]; MAX_ATTRIBUTES_PER_ELEMENT];
        for (n, attr) in e.attributes().with_checks(false).enumerate() {
            if n >= MAX_ATTRIBUTES_PER_ELEMENT {
                return Err(DecodeError::Forbidden {
                    what: "an element with more than 32 attributes",
                });
            }
            let attr = attr.map_err(|_| malformed("an invalid attribute"))?;
            if keys[..n].contains(&attr.key.as_ref()) {
                return Err(malformed("an invalid attribute"));
            }
            keys[n] = attr.key.into_inner();
            if attr.key.as_namespace_binding().is_some() {
                declared += 1;
                if declared > MAX_NAMESPACES_PER_ELEMENT {
                    return Err(DecodeError::Forbidden {
                        what: "an element with more than 8 namespace declarations",
                    });
                }
                if self.in_scope + declared > MAX_NAMESPACES_IN_SCOPE {
                    return Err(DecodeError::Forbidden {
                        what: "more than 32 namespace declarations in scope",
                    });
                }
                continue;
            }
            self.work += self.in_scope + declared + 1;
            let (attr_local, attr_prefix) = attr.key.decompose();
            let is_xsi = matches!(
                self.resolve(attr_prefix.map(|p| p.into_inner()), false),
                Ok(Some(ns)) if ns == XSI.as_bytes()
            );
            if is_xsi && attr_local.as_ref() == b"nil" {
                let v = attr.value.as_ref();
                let v = std::str::from_utf8(v)
                    .map_err(|_| DecodeError::InvalidUtf8)?
                    .trim();
                nil = v == "true" || v == "1";
            }
        }
        // The element's own name was resolved against the bindings in scope.
        self.work += self.in_scope + declared + 1;
        Ok((nil, declared))
    }
}

/// An element's namespace, classified without copying it.
enum ElemNs {
    /// The root's: whether it has one, and the one found when it is not the contract's.
    Root { bound: bool, wrong: Option<String> },
    /// A member's, relative to the root's.
    Member(Ns),
}

/// Parse and bind an XML body to the contract `T`.
pub(crate) fn from_slice<T: DeserializeOwned + gatehouse_models::Contract>(
    body: &[u8],
    opts: &DecodeOptions,
) -> Result<T, DecodeError> {
    let mut sc = Scanner::new(body, T::XML_ROOT, T::XML_NAMESPACE, opts)?;
    let ctx = Ctx {
        mode: Mode::Xml,
        camel: T::JSON_CAMEL_CASE,
        omit: T::XML_OMIT,
        join_repeated: false,
    };
    // Before the root the scanner yields only the root's start or a failure.
    let r = match sc.next() {
        Ok(Item::Start(start)) => T::deserialize(ElemDe {
            sc: &mut sc,
            start,
            path: &Path::Root,
            ctx: &ctx,
            root: true,
        })
        .map_err(|e| e.locate(&Path::Root)),
        Ok(_) | Err(_) => Err(shape_failure()),
    };
    // A shape failure anywhere in the document is the answer, even after a binding failure.
    sc.drain();
    if let Some(e) = sc.fatal.take() {
        return Err(e);
    }
    r.map_err(|e| e.err)
}

/// One element to bind; its start has been read.
struct ElemDe<'s, 'a> {
    sc: &'s mut Scanner<'a>,
    start: Start<'a>,
    path: &'s Path<'s>,
    ctx: &'s Ctx,
    root: bool,
}

/// An element's content up to its end, or up to its first child element.
enum Content<'a> {
    Text(Cow<'a, str>),
    /// The text before the child, and the child's start.
    Child(Cow<'a, str>, Start<'a>),
}

fn push_text<'a>(acc: &mut Cow<'a, str>, t: Cow<'a, str>) {
    if acc.is_empty() {
        *acc = t;
    } else {
        acc.to_mut().push_str(&t);
    }
}

/// The rest of an element whose start is `node` into `node` (up to its end).
fn fill_node(sc: &mut Scanner<'_>, node: &mut Node) -> Result<(), DeErr> {
    loop {
        match sc.next()? {
            Item::Text(t) => node.text.push_str(&t),
            Item::Char(c) => node.text.push(c),
            Item::Start(s) => node.children.push(build_node(sc, s)?),
            Item::End(_) | Item::Eof => return Ok(()),
        }
    }
}

fn build_node(sc: &mut Scanner<'_>, s: Start<'_>) -> Result<Node, DeErr> {
    let mut node = Node::new(s.name.into_owned(), s.ns);
    node.nil = s.nil;
    if !s.empty {
        fill_node(sc, &mut node)?;
    }
    Ok(node)
}

impl<'a> ElemDe<'_, 'a> {
    fn fin<T>(&self, r: Result<T, DeErr>) -> Result<T, DeErr> {
        r.map_err(|e| e.locate(self.path))
    }

    /// Everything up to the element's end, or up to its first child element.
    fn content(&mut self) -> Result<Content<'a>, DeErr> {
        let mut acc: Cow<'a, str> = Cow::Borrowed("");
        if self.start.empty {
            return Ok(Content::Text(acc));
        }
        loop {
            match self.sc.next()? {
                Item::Text(t) => push_text(&mut acc, t),
                Item::Char(c) => acc.to_mut().push(c),
                Item::Start(s) => return Ok(Content::Child(acc, s)),
                Item::End(_) | Item::Eof => return Ok(Content::Text(acc)),
            }
        }
    }

    /// The text of a leaf, or the reason it is not one.
    fn text(&mut self, expected: &str) -> Result<Cow<'a, str>, DeErr> {
        if self.start.nil {
            return Err(DeErr::null(self.path, expected));
        }
        match self.content()? {
            Content::Text(t) => Ok(t),
            Content::Child(..) => Err(DeErr::invalid_type(self.path, expected, "child elements")),
        }
    }

    /// Read past the element's end.
    fn skip(&mut self) -> Result<(), DeErr> {
        if self.start.empty {
            return Ok(());
        }
        loop {
            match self.sc.next()? {
                Item::End(l) if l == self.start.level => return Ok(()),
                Item::Eof => return Ok(()),
                _ => {}
            }
        }
    }

    /// The whole element as a tree, for [`TextDe`].
    fn into_node(mut self) -> Result<(Node, Self), DeErr> {
        let name = std::mem::take(&mut self.start.name).into_owned();
        let mut node = Node::new(name, self.start.ns);
        node.nil = self.start.nil;
        if !self.start.empty {
            fill_node(self.sc, &mut node)?;
        }
        Ok((node, self))
    }

    fn tree<'n>(&'n self, node: &'n Node) -> TextDe<'n> {
        TextDe {
            node,
            path: self.path,
            ctx: self.ctx,
            root: false,
        }
    }
}

macro_rules! int_methods {
    ($($m:ident),*) => {$(
        fn $m<V: de::Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, DeErr> {
            let text = self.text("an integer")?;
            let n = parse_i128(&text)
                .ok_or_else(|| DeErr::invalid_value(self.path, "expected an integer"))?;
            let r = visit_int(visitor, n);
            self.fin(r)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ElemDe<'_, '_> {
    type Error = DeErr;

    fn deserialize_any<V: de::Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, DeErr> {
        if self.start.nil {
            self.skip()?;
            let r = visitor.visit_unit();
            return self.fin(r);
        }
        match self.content()? {
            Content::Text(t) => {
                let r = visitor.visit_str(&t);
                self.fin(r)
            }
            Content::Child(text, first) => {
                let mut node = Node::new(self.start.name.to_string(), self.start.ns);
                node.text = text.into_owned();
                node.children.push(build_node(self.sc, first)?);
                fill_node(self.sc, &mut node)?;
                self.tree(&node).deserialize_any(visitor)
            }
        }
    }

    fn deserialize_bool<V: de::Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, DeErr> {
        let text = self.text("a boolean")?;
        let b = parse_xml_bool(&text)
            .ok_or_else(|| DeErr::invalid_value(self.path, "expected a boolean (true or false)"))?;
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

    fn deserialize_f64<V: de::Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, DeErr> {
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

    fn deserialize_str<V: de::Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, DeErr> {
        let text = self.text("a string")?;
        let r = visitor.visit_str(&text);
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

    fn deserialize_option<V: de::Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, DeErr> {
        if self.start.nil {
            self.skip()?;
            let r = visitor.visit_none();
            return self.fin(r);
        }
        let path = self.path;
        visitor
            .visit_some(ElemDe {
                root: false,
                ..self
            })
            .map_err(|e| e.locate(path))
    }

    fn deserialize_unit<V: de::Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, DeErr> {
        if self.start.nil {
            self.skip()?;
            return visitor.visit_unit();
        }
        match self.content()? {
            Content::Text(t) if t.trim().is_empty() => visitor.visit_unit(),
            _ => Err(DeErr::invalid_type(self.path, "nothing", "a value")),
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
        mut self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeErr> {
        if name == xml_hint::TIME_SPAN {
            // The XML text is an xs:duration; the type reads its JSON (`c`) form.
            let text = self.text("a duration")?;
            let span = TimeSpan::parse_xml_duration(&text).map_err(|_| {
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
        if self.start.nil {
            return Err(DeErr::null(self.path, "a list"));
        }
        let (node, this) = self.into_node()?;
        this.tree(&node).deserialize_seq(visitor)
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
        if self.start.nil {
            return Err(DeErr::null(self.path, "a dictionary"));
        }
        let (node, this) = self.into_node()?;
        this.tree(&node).deserialize_map(visitor)
    }

    fn deserialize_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeErr> {
        if self.start.nil {
            return Err(DeErr::null(self.path, "an object"));
        }
        let mut members = Members {
            sc: &mut *self.sc,
            ctx: self.ctx,
            path: self.path,
            root: self.root,
            level: self.start.level,
            fields,
            seen: Seen::default(),
            pending: None,
            done: self.start.empty,
            repeated: false,
        };
        let r = visitor.visit_map(&mut members);
        // The tree reader checked a struct's members for repeats before binding any of them:
        // after a member failed, the first repeat among those left is the answer.
        if r.is_err() && !members.repeated {
            while members.next_member()?.is_some() {}
        }
        self.fin(r)
    }

    fn deserialize_enum<V: de::Visitor<'de>>(
        mut self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeErr> {
        let text = self.text("a name")?;
        let r: Result<V::Value, DeErr> = visitor.visit_enum(text.trim().into_deserializer());
        self.fin(r)
    }

    fn deserialize_identifier<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeErr> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: de::Visitor<'de>>(
        mut self,
        visitor: V,
    ) -> Result<V::Value, DeErr> {
        self.skip()?;
        visitor.visit_unit()
    }
}

/// Serde field indices already bound in one struct.
#[derive(Default)]
struct Seen {
    low: u64,
    high: Vec<usize>,
}

impl Seen {
    /// `false` when `i` was already there.
    fn insert(&mut self, i: usize) -> bool {
        if i < 64 {
            let bit = 1u64 << i;
            let new = self.low & bit == 0;
            self.low |= bit;
            new
        } else if self.high.contains(&i) {
            false
        } else {
            self.high.push(i);
            true
        }
    }
}

/// The members of a struct element, as they come.
struct Members<'s, 'a> {
    sc: &'s mut Scanner<'a>,
    ctx: &'s Ctx,
    path: &'s Path<'s>,
    root: bool,
    /// The struct element's level.
    level: usize,
    fields: &'static [&'static str],
    seen: Seen,
    pending: Option<(&'static str, Start<'a>)>,
    /// The struct element's end was read.
    done: bool,
    /// A repeated member was reported.
    repeated: bool,
}

impl<'a> Members<'_, 'a> {
    /// The serde field a child element binds to: members are in the root's namespace and
    /// named exactly (first letter upper-cased for camel-cased contracts); the root does not
    /// read the contract's JSON-only members.
    fn field(&self, s: &Start<'_>) -> Option<usize> {
        if s.ns != Ns::Contract {
            return None;
        }
        self.fields.iter().position(|f| {
            !(self.root && self.ctx.omit.contains(f)) && xml_name_eq(f, self.ctx.camel, &s.name)
        })
    }

    /// The next child that binds to a member; `None` at the struct's end. Anything else
    /// (unknown elements, other namespaces, text between members, the content of a member
    /// that failed) is read past.
    fn next_member(&mut self) -> Result<Option<(&'static str, Start<'a>)>, DeErr> {
        while !self.done {
            match self.sc.next()? {
                Item::Start(s) if s.level == self.level + 1 => {
                    let Some(i) = self.field(&s) else { continue };
                    if !self.seen.insert(i) {
                        self.repeated = true;
                        return Err(DeErr::repeated(&Path::Field(self.path, &s.name)));
                    }
                    return Ok(Some((self.fields[i], s)));
                }
                Item::End(l) if l == self.level => self.done = true,
                Item::Eof => self.done = true,
                _ => {}
            }
        }
        Ok(None)
    }
}

impl<'de> de::MapAccess<'de> for Members<'_, '_> {
    type Error = DeErr;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeErr> {
        let Some((field, start)) = self.next_member()? else {
            return Ok(None);
        };
        self.pending = Some((field, start));
        seed.deserialize(de::value::StrDeserializer::<DeErr>::new(field))
            .map(Some)
            .map_err(|e| e.locate(self.path))
    }

    fn next_value_seed<S: de::DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, DeErr> {
        let Some((field, start)) = self.pending.take() else {
            return Err(DeErr::invalid_value(
                self.path,
                "internal: value requested before key",
            ));
        };
        let path = Path::Field(self.path, field);
        seed.deserialize(ElemDe {
            sc: &mut *self.sc,
            start,
            path: &path,
            ctx: self.ctx,
            root: false,
        })
        .map_err(|e| e.locate(&path))
    }
}
