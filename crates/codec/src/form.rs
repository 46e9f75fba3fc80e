//! `application/x-www-form-urlencoded` bodies: pairs decoded strictly (`+` is a space,
//! invalid `%` escapes and invalid UTF-8 are errors, where `serde_urlencoded` would
//! substitute U+FFFD), keys split jQuery-style into a tree, then bound case-insensitively
//! through [`TextDe`](crate::text_de::TextDe).

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;

use crate::auth::form_url_decode;
use crate::de_common::Path;
use crate::error::DecodeError;
use crate::text_de::{Ctx, Mode, Node, Ns, TextDe};
use crate::DecodeOptions;

fn malformed(reason: &str) -> DecodeError {
    DecodeError::Malformed {
        format: "form data",
        reason: reason.to_owned(),
        field: String::new(),
    }
}

/// Decode the pairs of a form body, in order.
pub(crate) fn parse_pairs(
    body: &[u8],
    opts: &DecodeOptions,
) -> Result<Vec<(String, String)>, DecodeError> {
    let text = std::str::from_utf8(body).map_err(|_| DecodeError::InvalidUtf8)?;
    let mut pairs = Vec::new();
    for part in text.split('&') {
        if part.is_empty() {
            continue;
        }
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let key = form_url_decode(k)
            .ok_or_else(|| malformed("a key has an invalid %-escape or is not UTF-8"))?;
        if key.len() > opts.max_string_len {
            return Err(DecodeError::TooLong {
                field: String::new(),
                max: opts.max_string_len,
            });
        }
        let value = form_url_decode(v).ok_or_else(|| DecodeError::InvalidValue {
            field: key.clone(),
            reason: "the value has an invalid %-escape or is not UTF-8".to_owned(),
        })?;
        if value.len() > opts.max_string_len {
            return Err(DecodeError::TooLong {
                field: key,
                max: opts.max_string_len,
            });
        }
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// Split a key jQuery-style: `a[b][0].c` -> `a`, `b`, `[0]`, `c`; `a[]` -> `a`.
fn segments(key: &str) -> Result<Vec<String>, DecodeError> {
    let bad = || DecodeError::InvalidValue {
        field: key.to_owned(),
        reason: "the key has unbalanced brackets".to_owned(),
    };
    let mut out = Vec::new();
    let first_end = key.find(['[', '.']).unwrap_or(key.len());
    out.push(key[..first_end].to_owned());
    let mut rest = &key[first_end..];
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let close = r.find(']').ok_or_else(bad)?;
            let inner = &r[..close];
            if !inner.is_empty() {
                if inner.bytes().all(|b| b.is_ascii_digit()) {
                    out.push(format!("[{inner}]"));
                } else {
                    out.push(inner.to_owned());
                }
            }
            rest = &r[close + 1..];
        } else if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['[', '.']).unwrap_or(r.len());
            out.push(r[..end].to_owned());
            rest = &r[end..];
        } else {
            return Err(bad());
        }
    }
    Ok(out)
}

/// A node under construction, with an index of its children by name.
struct Building {
    node: Node,
    index: BTreeMap<String, usize>,
    kids: Vec<Building>,
    has_value: bool,
}

impl Building {
    fn new(name: String) -> Self {
        Building {
            node: Node::new(name, Ns::Contract),
            index: BTreeMap::new(),
            kids: Vec::new(),
            has_value: false,
        }
    }

    fn finish(mut self) -> Node {
        self.node.children = self.kids.into_iter().map(Building::finish).collect();
        self.node
    }
}

/// Build the key tree of a form body.
pub(crate) fn parse_tree(body: &[u8], opts: &DecodeOptions) -> Result<Node, DecodeError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(DecodeError::EmptyBody);
    }
    let pairs = parse_pairs(body, opts)?;
    let mut root = Building::new(String::new());
    for (key, value) in pairs {
        let segs = segments(&key)?;
        if segs.len() > opts.max_depth {
            return Err(DecodeError::TooDeep {
                max: opts.max_depth,
            });
        }
        let mut at = &mut root;
        for seg in segs {
            let i = match at.index.get(&seg) {
                Some(&i) => i,
                None => {
                    at.kids.push(Building::new(seg.clone()));
                    at.index.insert(seg, at.kids.len() - 1);
                    at.kids.len() - 1
                }
            };
            at = &mut at.kids[i];
        }
        if at.has_value {
            if !opts.join_repeated_form_keys {
                return Err(DecodeError::Repeated { field: key });
            }
            at.node.text.push(',');
            if at.node.text.len() + value.len() > opts.max_string_len {
                return Err(DecodeError::TooLong {
                    field: key,
                    max: opts.max_string_len,
                });
            }
            at.node.text.push_str(&value);
        } else {
            at.node.text = value;
            at.has_value = true;
        }
    }
    Ok(root.finish())
}

/// Parse and bind a form body.
pub(crate) fn from_slice<T: DeserializeOwned>(
    body: &[u8],
    opts: &DecodeOptions,
) -> Result<T, DecodeError> {
    let root = parse_tree(body, opts)?;
    let ctx = Ctx {
        mode: Mode::Form,
        camel: false,
        omit: &[],
        join_repeated: opts.join_repeated_form_keys,
    };
    T::deserialize(TextDe {
        node: &root,
        path: &Path::Root,
        ctx: &ctx,
        root: true,
    })
    .map_err(|e| e.locate(&Path::Root).err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_segments() {
        let s = |k: &str| segments(k).unwrap_or_default();
        assert_eq!(s("a"), ["a"]);
        assert_eq!(s("a[b]"), ["a", "b"]);
        assert_eq!(s("a[]"), ["a"]);
        assert_eq!(s("a[0][Key]"), ["a", "[0]", "Key"]);
        assert_eq!(s("a[0].Key"), ["a", "[0]", "Key"]);
        assert_eq!(s("a[x.y]"), ["a", "x.y"]);
        assert_eq!(s("a.b"), ["a", "b"]);
        assert!(segments("a[b").is_err());
        assert!(segments("a[b]c").is_err());
    }
}
