//! Re-indenting the codec's compact output the way the legacy help pages showed samples:
//! JSON as Json.NET's `Formatting.Indented` wrote it (two spaces, `"name": value`), XML as
//! `XmlWriter` with `Indent = true` (two spaces, one element per line, `<x />` for empty
//! elements). Only whitespace between tokens changes; every character of the codec's output is
//! kept in order (tested).

/// Indents compact JSON. Strings are copied verbatim (escapes included).
pub fn json(compact: &str) -> String {
    let bytes = compact.as_bytes();
    let mut out = String::with_capacity(compact.len() * 2);
    let mut depth = 0usize;
    let mut i = 0;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'"' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                out.push_str(&compact[start..=i.min(bytes.len() - 1)]);
            }
            b'{' | b'[' => {
                let close = if c == b'{' { b'}' } else { b']' };
                if bytes.get(i + 1) == Some(&close) {
                    out.push(c as char);
                    out.push(close as char);
                    i += 1;
                } else {
                    out.push(c as char);
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c as char);
            }
            b',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            b':' => out.push_str(": "),
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ => {
                // numbers, true, false, null: copy the run of bytes up to the next token
                let start = i;
                while i + 1 < bytes.len() && !b",:{}[]\" \t\r\n".contains(&bytes[i + 1]) {
                    i += 1;
                }
                out.push_str(&compact[start..=i]);
            }
        }
        i += 1;
    }
    out
}

/// Indents the codec's one-line XML. Text content stays on its element's line.
pub fn xml(compact: &str) -> String {
    let mut out = String::with_capacity(compact.len() * 2);
    let mut depth = 0usize;
    // Whether the element just opened has had child elements (then its end tag gets a line).
    let mut had_children: Vec<bool> = Vec::new();
    let mut rest = compact;
    let indent = |out: &mut String, depth: usize| {
        if !out.is_empty() {
            out.push('\n');
        }
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('<') {
            let end = tag_end(after).map_or(rest.len(), |e| e + 2);
            let tag = &rest[..end];
            rest = &rest[end..];
            if tag.starts_with("</") {
                depth = depth.saturating_sub(1);
                if had_children.pop().unwrap_or(false) {
                    indent(&mut out, depth);
                }
                out.push_str(tag);
            } else if let Some(body) = tag.strip_suffix("/>") {
                if let Some(parent) = had_children.last_mut() {
                    *parent = true;
                }
                indent(&mut out, depth);
                out.push_str(body.trim_end());
                out.push_str(" />");
            } else if tag.starts_with("<?") || tag.starts_with("<!") {
                indent(&mut out, depth);
                out.push_str(tag);
            } else {
                if let Some(parent) = had_children.last_mut() {
                    *parent = true;
                }
                indent(&mut out, depth);
                out.push_str(tag);
                had_children.push(false);
                depth += 1;
            }
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            out.push_str(&rest[..end]);
            rest = &rest[end..];
        }
    }
    out
}

/// Index of the `>` closing a tag that starts after its `<`, skipping quoted attribute values.
fn tag_end(after_lt: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in after_lt.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn squeeze(s: &str) -> String {
        // What the re-indenting may change: whitespace outside strings, and " />".
        let mut out = String::new();
        let mut in_str = false;
        let mut prev = '\0';
        for c in s.chars() {
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            }
            if in_str || !c.is_whitespace() {
                out.push(c);
            }
            prev = c;
        }
        out
    }

    #[test]
    fn json_like_json_net() {
        let compact = r#"{"a":"x, {y}: \"z\"","b":{"c":[1,true,null],"d":{}},"e":[],"f":-1.5e3}"#;
        let pretty = json(compact);
        assert_eq!(
            pretty,
            "{\n  \"a\": \"x, {y}: \\\"z\\\"\",\n  \"b\": {\n    \"c\": [\n      1,\n      true,\n      null\n    ],\n    \"d\": {}\n  },\n  \"e\": [],\n  \"f\": -1.5e3\n}"
        );
        assert_eq!(squeeze(&pretty), squeeze(compact));
    }

    #[test]
    fn xml_like_xml_writer() {
        let compact = r#"<R xmlns:i="http://www.w3.org/2001/XMLSchema-instance" a="x>y"><B><C>t &amp; u</C><D i:nil="true"/></B><E></E></R>"#;
        let pretty = xml(compact);
        assert_eq!(
            pretty,
            "<R xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\" a=\"x>y\">\n  <B>\n    <C>t &amp; u</C>\n    <D i:nil=\"true\" />\n  </B>\n  <E></E>\n</R>"
        );
    }
}
