//! The tree reader the streaming one in [`super::de`] replaced (issue 23), kept for the tests
//! only: it built the whole document, checked it, then bound it through `TextDe`, so its
//! answers are the reference the streaming reader must give for every body.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use serde::de::DeserializeOwned;

use super::de::{MAX_ATTRIBUTES_PER_ELEMENT, MAX_NAMESPACES_IN_SCOPE, MAX_NAMESPACES_PER_ELEMENT};
use super::{ARRAYS, XSI};
use crate::de_common::Path;
use crate::error::DecodeError;
use crate::text_de::{Ctx, Mode, Node, Ns, TextDe};
use crate::DecodeOptions;

fn malformed(reason: &'static str) -> DecodeError {
    DecodeError::Malformed {
        format: "XML",
        reason: reason.to_owned(),
        field: String::new(),
    }
}

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

/// The path of the element on top of the stack (root excluded), for length errors.
fn stack_path(stack: &[Node]) -> String {
    stack
        .iter()
        .skip(1)
        .map(|n| n.name.as_str())
        .collect::<Vec<_>>()
        .join(".")
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

/// Parse `body` into the tree under the root, checking the root's name and namespace.
fn parse_tree(
    body: &[u8],
    root_name: &'static str,
    namespace: &'static str,
    opts: &DecodeOptions,
) -> Result<Node, DecodeError> {
    parse_tree_counting(body, root_name, namespace, opts, &mut 0)
}

fn parse_tree_counting(
    body: &[u8],
    root_name: &'static str,
    namespace: &'static str,
    opts: &DecodeOptions,
    work: &mut usize,
) -> Result<Node, DecodeError> {
    let text = std::str::from_utf8(body).map_err(|_| DecodeError::InvalidUtf8)?;
    let text = crate::json::strip_bom(text);
    if text.trim().is_empty() {
        return Err(DecodeError::EmptyBody);
    }
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<Node> = Vec::new();
    // Namespace declarations of each open element, and their sum.
    let mut declarations: Vec<usize> = Vec::new();
    let mut in_scope = 0;
    let mut root: Option<Node> = None;
    // The root's namespace: `None` when it has none.
    let mut root_ns: Option<Vec<u8>> = None;
    let too_long = |stack: &[Node]| DecodeError::TooLong {
        field: stack_path(stack),
        max: opts.max_string_len,
    };
    loop {
        let (resolved, event) = reader.read_resolved_event().map_err(|e| opaque(&e))?;
        // Only elements need their namespace; classify it without allocating (the root's is
        // kept once to compare its members against).
        let class: Result<ElemNs, DecodeError> = match (&event, resolved) {
            (Event::Start(_) | Event::Empty(_), r) => match r {
                ResolveResult::Unbound => Ok(classify(None, stack.is_empty(), &root_ns)),
                ResolveResult::Bound(n) => Ok(classify(Some(n.0), stack.is_empty(), &root_ns)),
                ResolveResult::Unknown(_) => Err(malformed("a namespace prefix is not declared")),
            },
            _ => Ok(ElemNs::Member(Ns::Other)),
        };
        match event {
            Event::Decl(_) => {
                if !stack.is_empty() || root.is_some() {
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
            Event::Start(ref e) | Event::Empty(ref e) => {
                let class = class?;
                if root.is_some() {
                    return Err(malformed("content after the root element"));
                }
                if stack.len() >= opts.max_depth {
                    return Err(DecodeError::TooDeep {
                        max: opts.max_depth,
                    });
                }
                let local = std::str::from_utf8(e.local_name().as_ref())
                    .map_err(|_| DecodeError::InvalidUtf8)?
                    .to_owned();
                let kind = match class {
                    ElemNs::Root(ns) => {
                        if local != root_name {
                            return Err(DecodeError::WrongRoot {
                                expected: root_name,
                                found: local,
                            });
                        }
                        // DataContractSerializer refused a root in another namespace and a
                        // root without one (unless the contract has none).
                        let found = ns.as_deref().unwrap_or_default();
                        if found != namespace.as_bytes() {
                            return Err(DecodeError::WrongNamespace {
                                expected: namespace,
                                found: String::from_utf8_lossy(found).into_owned(),
                            });
                        }
                        root_ns = ns;
                        Ns::Contract
                    }
                    ElemNs::Member(kind) => kind,
                };
                let mut node = Node::new(local, kind);
                let mut declared = 0;
                for (n, attr) in e.attributes().enumerate() {
                    if n >= MAX_ATTRIBUTES_PER_ELEMENT {
                        return Err(DecodeError::Forbidden {
                            what: "an element with more than 32 attributes",
                        });
                    }
                    let attr = attr.map_err(|_| malformed("an invalid attribute"))?;
                    if attr.key.as_namespace_binding().is_some() {
                        declared += 1;
                        if declared > MAX_NAMESPACES_PER_ELEMENT {
                            return Err(DecodeError::Forbidden {
                                what: "an element with more than 8 namespace declarations",
                            });
                        }
                        if in_scope + declared > MAX_NAMESPACES_IN_SCOPE {
                            return Err(DecodeError::Forbidden {
                                what: "more than 32 namespace declarations in scope",
                            });
                        }
                        continue;
                    }
                    *work += in_scope + declared + 1;
                    let (attr_ns, attr_local) = reader.resolve_attribute(attr.key);
                    let is_xsi =
                        matches!(attr_ns, ResolveResult::Bound(n) if n.0 == XSI.as_bytes());
                    if is_xsi && attr_local.as_ref() == b"nil" {
                        let v = attr.value.as_ref();
                        let v = std::str::from_utf8(v)
                            .map_err(|_| DecodeError::InvalidUtf8)?
                            .trim();
                        node.nil = v == "true" || v == "1";
                    }
                }
                // The element's own name was resolved against the bindings in scope.
                *work += in_scope + declared + 1;
                let is_empty = matches!(event, Event::Empty(_));
                stack.push(node);
                if is_empty {
                    close(&mut stack, &mut root);
                } else {
                    declarations.push(declared);
                    in_scope += declared;
                }
            }
            Event::End(_) => {
                in_scope -= declarations.pop().unwrap_or(0);
                close(&mut stack, &mut root);
            }
            Event::Text(t) => {
                let s = t
                    .xml10_content()
                    .map_err(|_| malformed("invalid text encoding"))?;
                append(&mut stack, &s, opts, &too_long)?;
            }
            Event::CData(c) => {
                let s = c.decode().map_err(|_| malformed("invalid text encoding"))?;
                if stack.is_empty() {
                    return Err(malformed("character data outside the root element"));
                }
                append(&mut stack, &s, opts, &too_long)?;
            }
            Event::GeneralRef(r) => {
                let name = r.decode().map_err(|_| malformed("invalid text encoding"))?;
                let c = resolve_reference(&name)?;
                if stack.is_empty() {
                    return Err(malformed("a reference outside the root element"));
                }
                let mut buf = [0u8; 4];
                append(&mut stack, c.encode_utf8(&mut buf), opts, &too_long)?;
            }
            Event::Eof => break,
        }
    }
    match root {
        Some(root) if stack.is_empty() => Ok(root),
        _ => Err(malformed(
            "the document ends before its root element is closed",
        )),
    }
}

/// An element's namespace: the root's (kept), or a member's relative to the root's.
enum ElemNs {
    Root(Option<Vec<u8>>),
    Member(Ns),
}

fn classify(ns: Option<&[u8]>, is_root: bool, root_ns: &Option<Vec<u8>>) -> ElemNs {
    if is_root {
        ElemNs::Root(ns.map(<[u8]>::to_vec))
    } else if ns == root_ns.as_deref() {
        ElemNs::Member(Ns::Contract)
    } else if ns == Some(ARRAYS.as_bytes()) {
        ElemNs::Member(Ns::Arrays)
    } else {
        ElemNs::Member(Ns::Other)
    }
}

fn close(stack: &mut Vec<Node>, root: &mut Option<Node>) {
    if let Some(node) = stack.pop() {
        match stack.last_mut() {
            Some(parent) => parent.children.push(node),
            None => *root = Some(node),
        }
    }
}

fn append(
    stack: &mut [Node],
    s: &str,
    opts: &DecodeOptions,
    too_long: &dyn Fn(&[Node]) -> DecodeError,
) -> Result<(), DecodeError> {
    let Some(top) = stack.last_mut() else {
        if s.trim().is_empty() {
            return Ok(());
        }
        return Err(malformed("text outside the root element"));
    };
    if top.text.len() + s.len() > opts.max_string_len {
        return Err(too_long(stack));
    }
    top.text.push_str(s);
    Ok(())
}

/// Parse and bind an XML body to the contract `T`.
pub(crate) fn from_slice<T: DeserializeOwned + gatehouse_models::Contract>(
    body: &[u8],
    opts: &DecodeOptions,
) -> Result<T, DecodeError> {
    let root = parse_tree(body, T::XML_ROOT, T::XML_NAMESPACE, opts)?;
    let ctx = Ctx {
        mode: Mode::Xml,
        camel: T::JSON_CAMEL_CASE,
        omit: T::XML_OMIT,
        join_repeated: false,
    };
    T::deserialize(TextDe {
        node: &root,
        path: &Path::Root,
        ctx: &ctx,
        root: true,
    })
    .map_err(|e| e.locate(&Path::Root).err)
}

/// The old reader's namespace-resolution work for `body` (see `de::resolution_work`).
pub(crate) fn resolution_work<T: gatehouse_models::Contract>(
    body: &[u8],
    opts: &DecodeOptions,
) -> (usize, Result<(), DecodeError>) {
    let mut work = 0;
    let r = parse_tree_counting(body, T::XML_ROOT, T::XML_NAMESPACE, opts, &mut work);
    (work, r.map(|_| ()))
}
