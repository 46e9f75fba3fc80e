//! The models' doc comments, read from `crates/models/src` at build time (see `build.rs`):
//! names and order as on the wire, Rust types, descriptions. One source of truth: a field's
//! description on the help pages and in the OpenAPI document is its `///` comment.
//!
//! Conventions read from a field's comment: a line `Additional information: Required; Data
//! type: Password.` fills the "Additional information" column (items separated by `;`) and is
//! not part of the description; `(seed NNN)` notes are dropped.

/// A struct's field.
#[derive(Debug)]
pub struct FieldDoc {
    /// The JSON member name (serde `rename`, else the field name).
    pub wire: &'static str,
    /// The Rust field name.
    pub rust: &'static str,
    /// The Rust type, without whitespace (`Option<String>`).
    pub ty: &'static str,
    /// The `///` comment.
    pub doc: &'static str,
    /// `skip_serializing_if` is set: the member is written only when it has a value.
    pub skip_if_none: bool,
}

/// An enum's variant.
#[derive(Debug)]
pub struct VariantDoc {
    /// The Rust name (= the .NET member name).
    pub name: &'static str,
    /// The explicit discriminant, if any (`0`).
    pub value: &'static str,
    /// The `///` comment.
    pub doc: &'static str,
}

/// Struct or enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// A data contract with members.
    Struct,
    /// An enumeration.
    Enum,
}

/// One public struct or enum of `gatehouse-models`.
#[derive(Debug)]
pub struct ModelDoc {
    /// The module (dialect): `member`, `otc`, …
    pub module: &'static str,
    /// The type name, the CLR name (`TokenModel`).
    pub name: &'static str,
    /// The type's `///` comment.
    pub doc: &'static str,
    /// Struct or enum.
    pub kind: ModelKind,
    /// Public fields in declaration (= JSON) order.
    pub fields: &'static [FieldDoc],
    /// Variants, for enums.
    pub variants: &'static [VariantDoc],
}

include!(concat!(env!("OUT_DIR"), "/models.rs"));

/// The model `name` of `module`.
pub fn model(module: &str, name: &str) -> Option<&'static ModelDoc> {
    MODELS.iter().find(|m| m.module == module && m.name == name)
}

impl ModelDoc {
    /// The id used in `/Help/ResourceModel?modelName=…` and as the OpenAPI schema name: the
    /// type name, qualified with its module (`v1.TokenRequest`) when another documented model
    /// has the same name.
    pub fn id(&self) -> String {
        let clashes = crate::endpoints::documented_models()
            .iter()
            .filter(|m| m.name == self.name)
            .count();
        if clashes > 1 {
            format!("{}.{}", self.module, self.name)
        } else {
            self.name.to_owned()
        }
    }

    /// The first paragraph of the type's comment, seed references removed.
    pub fn summary(&self) -> String {
        let para = self.doc.split("\n\n").next().unwrap_or_default();
        clean(para)
    }
}

impl FieldDoc {
    /// The description: the comment without its "Additional information" line.
    pub fn description(&self) -> String {
        clean(
            &self
                .doc
                .lines()
                .filter(|l| !l.trim_start().starts_with(ADDITIONAL))
                .collect::<Vec<_>>()
                .join("\n"),
        )
    }

    /// The "Additional information" items; empty means "None.".
    pub fn additional(&self) -> Vec<String> {
        self.doc
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix(ADDITIONAL))
            .flat_map(|rest| rest.split(';'))
            .map(|s| s.trim().trim_end_matches('.').to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// Whether the comment marks the member `Required`.
    pub fn required(&self) -> bool {
        self.additional().iter().any(|a| a == "Required")
    }

    /// The type inside `Option<…>`, and whether it was optional.
    pub fn inner_type(&self) -> (&'static str, bool) {
        match self
            .ty
            .strip_prefix("Option<")
            .and_then(|t| t.strip_suffix('>'))
        {
            Some(inner) => (inner, true),
            None => (self.ty, false),
        }
    }
}

impl VariantDoc {
    /// The description, without a leading "`wire`: " (kept by [`VariantDoc::wire`]).
    pub fn description(&self) -> String {
        let text = clean(self.doc);
        match self.wire() {
            Some(w) => text
                .strip_prefix(&format!("`{w}`:"))
                .map(|t| t.trim().to_owned())
                .unwrap_or(text),
            None => text,
        }
    }

    /// The wire text when the comment starts with it in backticks (`ErrorCode`).
    pub fn wire(&self) -> Option<&'static str> {
        let rest = self.doc.strip_prefix('`')?;
        let end = rest.find('`')?;
        rest[end + 1..].starts_with(':').then(|| &rest[..end])
    }
}

const ADDITIONAL: &str = "Additional information:";

/// One line of text: lines joined with spaces, `(seed NNN)` and `(new)` notes dropped.
fn clean(text: &str) -> String {
    let mut joined = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    for note in [" (new)", "(new)"] {
        joined = joined.replace(note, "");
    }
    while let Some(start) = joined.find(" (seed ") {
        match joined[start..].find(')') {
            Some(end) => joined.replace_range(start..start + end + 1, ""),
            None => break,
        }
    }
    joined
}

/// How a Rust type of the models is called on the help pages (the legacy wording) and
/// whether it is another documented model (linked to its page).
#[derive(Debug, Clone)]
pub enum TypeName {
    /// A plain type: `string`, `integer`, `globally unique identifier`, …
    Plain(String),
    /// Another model, by Rust name (a link).
    Model(&'static ModelDoc),
}

/// The legacy help page's name for a Rust type of the models.
pub fn type_name(module: &str, ty: &str) -> TypeName {
    let plain = |s: &str| TypeName::Plain(s.to_owned());
    match ty {
        "String" => plain("string"),
        "bool" => plain("boolean"),
        "i32" | "i64" | "u32" | "u64" => plain("integer"),
        "Uuid" => plain("globally unique identifier"),
        "TimeSpan" => plain("time interval"),
        "DateTime" => plain("date"),
        _ => {
            if let Some(inner) = ty.strip_prefix("Vec<").and_then(|t| t.strip_suffix('>')) {
                return TypeName::Plain(format!("Collection of {}", plain_name(module, inner)));
            }
            if let Some(kv) = ty
                .strip_prefix("BTreeMap<")
                .and_then(|t| t.strip_suffix('>'))
            {
                if let Some((k, v)) = kv.split_once(',') {
                    return TypeName::Plain(format!(
                        "Dictionary of {} [key] and {} [value]",
                        plain_name(module, k),
                        plain_name(module, v)
                    ));
                }
            }
            if let Some(inner) = ty.strip_prefix("Option<").and_then(|t| t.strip_suffix('>')) {
                return type_name(module, inner);
            }
            match model(module, ty) {
                Some(m) => TypeName::Model(m),
                None => plain(ty),
            }
        }
    }
}

fn plain_name(module: &str, ty: &str) -> String {
    match type_name(module, ty) {
        TypeName::Plain(s) => s,
        TypeName::Model(m) => m.name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_order_and_docs_from_the_sources() {
        let m = model("member", "TokenModel").expect("TokenModel");
        let wire: Vec<_> = m.fields.iter().map(|f| f.wire).collect();
        assert_eq!(
            wire,
            [
                "UserName",
                "Token",
                "ExpireIn",
                "ExpireTime",
                "QueryAll",
                "DFVisible",
                "id_Member",
                "id_SubAccount",
                "ExpireTimeUTC"
            ]
        );
        assert_eq!(m.fields[2].ty, "TimeSpan");
        assert!(!m.fields[0].description().is_empty());
        let s = model("otc", "ResponseStatus").expect("ResponseStatus");
        assert_eq!(s.kind, ModelKind::Enum);
        assert_eq!((s.variants[0].name, s.variants[0].value), ("Ok", "0"));
        let e = model("oauth", "ErrorCode").expect("ErrorCode");
        assert_eq!(e.variants[0].wire(), Some("invalid_request"));
    }

    #[test]
    fn legacy_type_names() {
        let n = |t: &str| match type_name("onetime", t) {
            TypeName::Plain(s) => s,
            TypeName::Model(m) => format!("model {}", m.name),
        };
        assert_eq!(n("Option<String>"), "string");
        assert_eq!(n("Option<Uuid>"), "globally unique identifier");
        assert_eq!(
            n("Option<BTreeMap<String,String>>"),
            "Dictionary of string [key] and string [value]"
        );
        assert_eq!(
            match type_name("otc", "Option<AuthCodeResponseBody>") {
                TypeName::Model(m) => m.name,
                TypeName::Plain(_) => "",
            },
            "AuthCodeResponseBody"
        );
    }
}
