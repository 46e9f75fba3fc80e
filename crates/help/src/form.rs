//! `application/x-www-form-urlencoded` samples. The codec reads form bodies but never writes
//! them (Web API could not either), so a form sample is the codec's JSON of the value turned
//! into `key=value` pairs in the same (wire) order, with jQuery-style keys for dictionaries
//! (`payload[key]=value`) and arrays (`key[]=value`); null members are left out. Tests read
//! every form sample back with the real codec (`gatehouse_codec::decode(BodyFormat::Form, ..)`)
//! and get the sample value again.
//!
//! Escaping is minimal, as a person would type it: space is `+`; `%`, `&`, `+`, `#`, controls
//! and non-ASCII are percent-encoded; `=` is encoded in keys only (a value's `=` is unambiguous,
//! so base64 stays readable, as in the legacy otc page).

use crate::json::J;

/// The form body of a JSON object; `None` for anything that is not an object of scalars,
/// string dictionaries and arrays of scalars.
pub fn from_json(value: &J) -> Option<String> {
    let J::Obj(members) = value else {
        return None;
    };
    let mut pairs: Vec<String> = Vec::new();
    for (key, v) in members {
        match v {
            J::Null => {}
            J::Obj(entries) => {
                for (k, inner) in entries {
                    let text = scalar(inner)?;
                    pairs.push(format!(
                        "{}[{}]={}",
                        escape(key, true),
                        escape(k, true),
                        escape(&text, false)
                    ));
                }
            }
            J::Arr(items) => {
                for inner in items {
                    let text = scalar(inner)?;
                    pairs.push(format!("{}[]={}", escape(key, true), escape(&text, false)));
                }
            }
            other => pairs.push(format!(
                "{}={}",
                escape(key, true),
                escape(&scalar(other)?, false)
            )),
        }
    }
    Some(pairs.join("&"))
}

fn scalar(v: &J) -> Option<String> {
    match v {
        J::Str(s) => Some(s.clone()),
        J::Bool(b) => Some(b.to_string()),
        J::Num(n) => Some(n.to_string()),
        _ => None,
    }
}

fn escape(text: &str, key: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b' ' => out.push('+'),
            b'%' | b'&' | b'+' | b'#' => out.push_str(&format!("%{b:02X}")),
            b'=' if key => out.push_str("%3D"),
            b'[' | b']' if key => out.push_str(&format!("%{b:02X}")),
            0x21..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_in_order_with_jquery_keys() {
        let j: J = serde_json::from_str(
            r#"{"b":"x y&z=1","a":null,"p":{"k 1":"v"},"l":["1","2"],"t":true,"n":3}"#,
        )
        .unwrap();
        assert_eq!(
            from_json(&j).unwrap(),
            "b=x+y%26z=1&p[k+1]=v&l[]=1&l[]=2&t=true&n=3"
        );
    }
}
