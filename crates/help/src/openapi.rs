//! The OpenAPI 3.1 document: every endpoint of [`ENDPOINTS`] with every media type it reads
//! and writes, the models as schemas (members in wire order, wire names, XML names and
//! namespaces, the .NET `TimeSpan` and `DateTime` text forms as patterns), each dialect's
//! error bodies, and the security schemes.

use gatehouse_models::{http_error, katana, member, oauth, onetime, otc, v1, Contract};

use crate::docs::{self, FieldDoc, ModelDoc, ModelKind, TypeName};
use crate::endpoints::{
    documented_models, Auth, BodyDoc, Endpoint, ErrorStyle, ResponseDoc, ENDPOINTS, GROUPS,
};
use crate::json::J;
use crate::samples::{Media, Sample};

/// .NET `TimeSpan` in JSON (the `c` format).
pub const TIME_SPAN_PATTERN: &str = r"^-?(\d+\.)?\d{2}:\d{2}:\d{2}(\.\d{1,7})?$";
/// .NET `DateTime` as both serializers wrote it (`yyyy-MM-ddTHH:mm:ss.FFFFFFFK`).
pub const DATE_TIME_PATTERN: &str =
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})?$";

/// What DataContractSerializer needs of a model, from its [`Contract`].
#[derive(Debug, Clone, Copy)]
pub struct ContractInfo {
    /// Root element.
    pub root: &'static str,
    /// Default namespace.
    pub namespace: &'static str,
    /// JSON names are camelCase, XML names PascalCase.
    pub camel: bool,
    /// Members JSON has and XML has not.
    pub omit: &'static [&'static str],
    /// Members the JSON reader ignores (`[JsonIgnore]` in the CLR model).
    pub json_ignore: &'static [&'static str],
}

fn info<T: Contract>() -> Option<ContractInfo> {
    Some(ContractInfo {
        root: T::XML_ROOT,
        namespace: T::XML_NAMESPACE,
        camel: T::JSON_CAMEL_CASE,
        omit: T::XML_OMIT,
        json_ignore: T::JSON_IGNORE,
    })
}

/// The [`Contract`] of a documented model; `None` for JSON-only (RFC) types.
pub fn contract(module: &str, name: &str) -> Option<ContractInfo> {
    match (module, name) {
        ("onetime", "OneTimeTokenRequest") => info::<onetime::OneTimeTokenRequest>(),
        ("onetime", "OneTimeTokenResponse") => info::<onetime::OneTimeTokenResponse>(),
        ("onetime", "OneTimeAuthorizeRequest") => info::<onetime::OneTimeAuthorizeRequest>(),
        ("onetime", "OneTimeAuthorizeResponse") => info::<onetime::OneTimeAuthorizeResponse>(),
        ("otc", "AuthCodeRequest") => info::<otc::AuthCodeRequest>(),
        ("otc", "TokenRequest") => info::<otc::TokenRequest>(),
        ("otc", "AuthCodeResponse") => info::<otc::AuthCodeResponse>(),
        ("otc", "AuthCodeResponseBody") => info::<otc::AuthCodeResponseBody>(),
        ("otc", "TokenResponse") => info::<otc::TokenResponse>(),
        ("otc", "TokenResponseBody") => info::<otc::TokenResponseBody>(),
        ("otc", "ResponseHeader") => info::<otc::ResponseHeader>(),
        ("member", "AuthMemberModel") => info::<member::AuthMemberModel>(),
        ("member", "TokenModel") => info::<member::TokenModel>(),
        ("v1", "TokenRequest") => info::<v1::TokenRequest>(),
        ("v1", "AccessTokenResponse") => info::<v1::AccessTokenResponse>(),
        ("katana", "OAuthRequest") => info::<katana::OAuthRequest>(),
        ("katana", "OAuthToken") => info::<katana::OAuthToken>(),
        // The server writes `HttpError` with `gatehouse_codec::encode_http_error`, whose XML
        // carries `ModelState` (the generic contract encoder's XML_OMIT does not apply).
        ("http_error", "HttpError") => {
            info::<http_error::HttpError>().map(|c| ContractInfo { omit: &[], ..c })
        }
        _ => {
            let _ = std::marker::PhantomData::<oauth::ErrorResponse>;
            None
        }
    }
}

fn reference(m: &ModelDoc) -> J {
    J::obj().set("$ref", format!("#/components/schemas/{}", m.id()))
}

fn nullable(schema: J) -> J {
    match schema.get("type") {
        Some(J::Str(t)) if schema.get("$ref").is_none() => {
            let t = t.clone();
            schema.set("type", J::Arr(vec![J::from(t.as_str()), J::from("null")]))
        }
        _ => J::obj().set("anyOf", J::Arr(vec![schema, J::obj().set("type", "null")])),
    }
}

/// The JSON Schema of a Rust type of the models.
fn type_schema(module: &str, ty: &str) -> J {
    let t = |name: &str| J::obj().set("type", name);
    match ty {
        "String" => t("string"),
        "bool" => t("boolean"),
        "i32" => t("integer").set("format", "int32"),
        "i64" => t("integer").set("format", "int64"),
        "Uuid" => t("string").set("format", "uuid"),
        "TimeSpan" => t("string")
            .set("pattern", TIME_SPAN_PATTERN)
            .set("x-dotnet-type", "System.TimeSpan")
            .set("description", ".NET TimeSpan: in JSON the constant (\"c\") format `[-][d.]hh:mm:ss[.fffffff]` (00:20:00, 1.02:03:04.5000000); in XML an xs:duration (PT20M)."),
        "DateTime" => t("string")
            .set("pattern", DATE_TIME_PATTERN)
            .set("x-dotnet-type", "System.DateTime")
            .set("description", ".NET DateTime, `yyyy-MM-ddTHH:mm:ss.FFFFFFFK`: up to 7 fraction digits (100 ns), then `Z` for UTC, `+hh:mm`/`-hh:mm` for a local time, nothing when unspecified. The same text in JSON and XML."),
        _ => {
            if let Some(inner) = ty.strip_prefix("Option<").and_then(|x| x.strip_suffix('>')) {
                return nullable(type_schema(module, inner));
            }
            if let Some(inner) = ty.strip_prefix("Vec<").and_then(|x| x.strip_suffix('>')) {
                return t("array").set("items", type_schema(module, inner));
            }
            if let Some((_, v)) = ty
                .strip_prefix("BTreeMap<")
                .and_then(|x| x.strip_suffix('>'))
                .and_then(|kv| kv.split_once(','))
            {
                return t("object").set("additionalProperties", type_schema(module, v));
            }
            match docs::type_name(module, ty) {
                TypeName::Model(m) => reference(m),
                TypeName::Plain(_) => J::obj(),
            }
        }
    }
}

fn field_schema(m: &ModelDoc, f: &FieldDoc, c: Option<ContractInfo>) -> J {
    let mut s = type_schema(m.module, f.ty);
    let mut description = f.description();
    if c.is_some_and(|c| c.omit.contains(&f.wire)) {
        description.push_str(" JSON only: not written in XML.");
    }
    if c.is_some_and(|c| c.json_ignore.contains(&f.wire)) {
        description.push_str(" Read from XML and form bodies only: JSON readers ignore it.");
    }
    if f.skip_if_none {
        description.push_str(" Omitted when absent.");
    }
    let description = description.trim().to_owned();
    if !description.is_empty() {
        if let Some(J::Str(existing)) = s.get("description") {
            let joined = format!("{description} {existing}");
            s.put("description", joined);
        } else {
            s.put("description", description);
        }
    }
    if let Some(c) = c {
        if c.camel {
            let mut chars = f.wire.chars();
            let xml_name: String = chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect())
                .unwrap_or_default();
            s.put("xml", J::obj().set("name", xml_name));
        }
    }
    s
}

/// The JSON of `HttpError` on the onetime dialect, whose Json.NET resolver camel-cased it.
pub const CAMEL_HTTP_ERROR: &str = "HttpError.camelCase";

/// Json.NET's `ToCamelCase` for the names `HttpError` has (`Message`, `ModelState`).
fn camel(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

fn camel_case_schema(mut s: J) -> J {
    if let Some(J::Obj(props)) = s.get_mut("properties") {
        for (k, _) in props.iter_mut() {
            *k = camel(k);
        }
    }
    if let Some(J::Arr(required)) = s.get_mut("required") {
        for r in required.iter_mut() {
            if let J::Str(name) = r {
                *name = camel(name);
            }
        }
    }
    s.put("description", "Web API's `HttpError` as the onetime dialect wrote it: member names camel-cased by its Json.NET contract resolver (the model-state keys too).");
    s
}

/// The schema of one model.
pub fn model_schema(m: &ModelDoc) -> J {
    let mut s = J::obj();
    let summary = m.summary();
    match m.kind {
        ModelKind::Enum => {
            let wires: Vec<&str> = m.variants.iter().filter_map(|v| v.wire()).collect();
            let list: Vec<String> = m
                .variants
                .iter()
                .map(|v| match v.wire() {
                    Some(w) => format!("`{w}`: {}", v.description()),
                    None => format!("{} = {}: {}", v.value, v.name, v.description()),
                })
                .collect();
            let description = format!("{summary}\n\n{}", list.join("\n"));
            if wires.is_empty() {
                let values: Vec<J> = m
                    .variants
                    .iter()
                    .filter_map(|v| v.value.parse::<i64>().ok().map(J::from))
                    .collect();
                s = s.set("type", "integer").set("enum", J::Arr(values)).set(
                    "description",
                    format!("{description}\n\nIn JSON the integer; in XML the member name."),
                );
            } else {
                s = s
                    .set("type", "string")
                    .set(
                        "description",
                        format!("{description}\n\nOther codes are passed through verbatim."),
                    )
                    .set("examples", J::Arr(wires.into_iter().map(J::from).collect()));
            }
        }
        ModelKind::Struct => {
            let c = contract(m.module, m.name);
            s = s.set("type", "object");
            if !summary.is_empty() {
                s.put("description", summary);
            }
            let mut props = J::obj();
            let mut required = Vec::new();
            for f in m.fields {
                props.put(f.wire, field_schema(m, f, c));
                let (_, optional) = f.inner_type();
                if f.required() || (!optional && !f.skip_if_none) {
                    required.push(J::from(f.wire));
                }
            }
            s.put("properties", props);
            if !required.is_empty() {
                s.put("required", J::Arr(required));
            }
            if let Some(c) = c {
                let mut xml = J::obj().set("name", c.root);
                if !c.namespace.is_empty() {
                    xml.put("namespace", c.namespace);
                }
                s.put("xml", xml);
            }
        }
    }
    s
}

fn content(samples: &[Sample], schema: &J, include_examples: bool) -> J {
    let mut c = J::obj();
    for sample in samples {
        for mt in sample.media.types() {
            let mut entry = J::obj().set("schema", schema.clone());
            if include_examples {
                if let Some(body) = &sample.body {
                    let example = match sample.media {
                        Media::Json | Media::JavaScript => serde_json::from_str::<J>(body)
                            .unwrap_or_else(|_| J::from(body.as_str())),
                        Media::Xml | Media::Form => J::from(body.as_str()),
                    };
                    entry.put("example", example);
                }
            }
            c.put(mt, entry);
        }
    }
    c
}

fn body_content(b: &BodyDoc) -> J {
    content(&(b.samples)(), &reference(b.doc()), true)
}

fn security(auth: Auth) -> J {
    let basic = || J::obj().set("clientBasic", J::Arr(vec![]));
    let bearer = || J::obj().set("userBearer", J::Arr(vec![]));
    J::Arr(match auth {
        Auth::None | Auth::ClientInBody => vec![],
        Auth::BearerOrClient => vec![bearer(), basic()],
        Auth::Bearer => vec![bearer()],
        // `{}`: the alternative of credentials in the body (or none, where optional).
        Auth::Client | Auth::ClientOptional => vec![basic(), J::obj()],
    })
}

fn error_responses(style: ErrorStyle, responses: &mut J) {
    let Some((module, name)) = style.model() else {
        return;
    };
    let Some(m) = docs::model(module, name) else {
        return;
    };
    let samples = style.samples();
    let json_only = matches!(style, ErrorStyle::OAuth { .. });
    let camel = matches!(style, ErrorStyle::WebApi { camel: true, .. });
    for (status, when) in style.statuses() {
        let mut c = J::obj();
        for (_, sample) in &samples {
            for mt in sample.media.types() {
                let schema = if camel && sample.media == Media::Json {
                    J::obj().set("$ref", format!("#/components/schemas/{CAMEL_HTTP_ERROR}"))
                } else {
                    reference(m)
                };
                c.put(mt, J::obj().set("schema", schema));
            }
        }
        if json_only {
            c = J::obj().set("application/json", J::obj().set("schema", reference(m)));
        }
        let mut r = J::obj().set("description", *when).set("content", c);
        let mut headers = J::obj();
        if matches!(status, 429 | 503) {
            headers.put(
                "Retry-After",
                J::obj()
                    .set("description", "Seconds to wait before retrying.")
                    .set("schema", J::obj().set("type", "integer")),
            );
        }
        if *status == 401 {
            headers.put(
                "WWW-Authenticate",
                J::obj()
                    .set(
                        "description",
                        "The scheme to authenticate with (`Basic` or `Bearer`), when one applies.",
                    )
                    .set("schema", J::obj().set("type", "string")),
            );
        }
        if headers != J::obj() {
            r.put("headers", headers);
        }
        responses.put(&status.to_string(), r);
    }
}

fn operation(e: &Endpoint) -> J {
    let mut op = J::obj()
        .set("operationId", e.id())
        .set("tags", J::Arr(vec![J::from(e.group)]))
        .set("summary", e.summary)
        .set(
            "description",
            format!("{}\n\nAuthentication: {}", e.description, e.auth.describe()),
        )
        .set("security", security(e.auth));
    if !e.uri_params.is_empty() {
        let params: Vec<J> = e
            .uri_params
            .iter()
            .map(|p| {
                J::obj()
                    .set("name", p.name)
                    .set("in", "query")
                    .set("description", p.description)
                    .set("required", p.required)
                    .set("schema", J::obj().set("type", "string"))
            })
            .collect();
        op.put("parameters", J::Arr(params));
    }
    if e.request.is_none() && !e.body_params.is_empty() {
        let mut props = J::obj();
        let mut required = Vec::new();
        for p in e.body_params {
            props.put(
                p.name,
                J::obj()
                    .set("type", "string")
                    .set("description", p.description),
            );
            if p.required {
                required.push(J::from(p.name));
            }
        }
        let schema = J::obj()
            .set("type", "object")
            .set("properties", props)
            .set("required", J::Arr(required));
        op.put(
            "requestBody",
            J::obj()
                .set("required", true)
                .set("content", content(&e.request_samples(), &schema, true)),
        );
    }
    if let Some(b) = &e.request {
        op.put(
            "requestBody",
            J::obj()
                .set("required", true)
                .set("description", b.doc().summary())
                .set("content", body_content(b)),
        );
    }
    let mut responses = J::obj();
    match &e.response {
        ResponseDoc::Model(b) | ResponseDoc::Created(b) => {
            let status = match e.response {
                ResponseDoc::Created(_) => "201",
                _ => "200",
            };
            let description = if b.description.is_empty() {
                b.doc().summary()
            } else {
                b.description.to_owned()
            };
            responses.put(
                status,
                J::obj()
                    .set("description", description)
                    .set("content", body_content(b)),
            );
        }
        ResponseDoc::Other {
            status,
            media,
            description,
            schema,
        } => {
            let mut r = J::obj().set("description", *description);
            if !media.is_empty() {
                let schema: J = serde_json::from_str(schema).unwrap_or_else(|_| J::obj());
                r.put(
                    "content",
                    J::obj().set(media, J::obj().set("schema", schema)),
                );
            }
            responses.put(&status.to_string(), r.clone());
            if e.route == crate::endpoints::Route::Health {
                responses.put("503", r.set("description", "The database does not answer."));
            }
        }
    }
    error_responses(e.errors, &mut responses);
    op.put("responses", responses);
    op
}

/// The whole document.
pub fn document() -> J {
    let mut paths = J::obj();
    for e in ENDPOINTS {
        let key = e.path();
        let method = e.method_name().to_ascii_lowercase();
        match paths.get_mut(key) {
            Some(item) => item.put(&method, operation(e)),
            None => paths.put(key, J::obj().set(&method, operation(e))),
        }
    }
    let mut schemas = J::obj();
    for m in documented_models() {
        schemas.put(&m.id(), model_schema(m));
    }
    if let Some(m) = docs::model("http_error", "HttpError") {
        schemas.put(CAMEL_HTTP_ERROR, camel_case_schema(model_schema(m)));
    }
    let tags: Vec<J> = GROUPS
        .iter()
        .map(|g| J::obj().set("name", g.id).set("description", g.about))
        .collect();
    J::obj()
        .set("openapi", "3.1.0")
        .set(
            "info",
            J::obj()
                .set("title", "Gatehouse")
                .set("version", env!("CARGO_PKG_VERSION"))
                .set("description", "One token server speaking five legacy ASP.NET Web API token dialects byte for byte, plus RFC 7662 introspection, RFC 7009 revocation and RFC 8414 metadata. Paths are matched case-insensitively and a trailing slash is ignored, as ASP.NET routing did. The same information, with samples, is served as HTML at /Help."),
        )
        .set("tags", J::Arr(tags))
        .set("paths", paths)
        .set(
            "components",
            J::obj().set("schemas", schemas).set(
                "securitySchemes",
                J::obj()
                    .set(
                        "clientBasic",
                        J::obj()
                            .set("type", "http")
                            .set("scheme", "basic")
                            .set("description", "The client: `Authorization: Basic base64(client_id:client_secret)`. Where allowed, the client may instead send `client_id` and `client_secret` in the body."),
                    )
                    .set(
                        "userBearer",
                        J::obj()
                            .set("type", "http")
                            .set("scheme", "bearer")
                            .set("description", "A user's access token from any dialect's token endpoint."),
                    ),
            ),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs<'a>(j: &'a J, out: &mut Vec<&'a str>) {
        match j {
            J::Obj(members) => {
                for (k, v) in members {
                    match (k.as_str(), v) {
                        ("$ref", J::Str(r)) => out.push(r),
                        _ => refs(v, out),
                    }
                }
            }
            J::Arr(items) => items.iter().for_each(|i| refs(i, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_resolves_and_operation_ids_are_unique() {
        let doc = document();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(found.len() > 20);
        let schemas = doc
            .get("components")
            .and_then(|c| c.get("schemas"))
            .expect("schemas");
        for r in found {
            let name = r.strip_prefix("#/components/schemas/").expect(r);
            assert!(schemas.get(name).is_some(), "{r}");
        }
        let mut ids: Vec<String> = ENDPOINTS.iter().map(Endpoint::id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), ENDPOINTS.len());
    }

    #[test]
    fn wire_names_order_and_dotnet_formats() {
        let doc = document();
        let schemas = doc
            .get("components")
            .and_then(|c| c.get("schemas"))
            .expect("schemas");
        let Some(J::Obj(props)) = schemas.get("TokenModel").and_then(|m| m.get("properties"))
        else {
            panic!("TokenModel");
        };
        let names: Vec<&str> = props.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names[..3], ["UserName", "Token", "ExpireIn"]);
        let expire_in = schemas
            .get("TokenModel")
            .and_then(|m| m.get("properties"))
            .and_then(|p| p.get("ExpireIn"))
            .expect("ExpireIn");
        assert_eq!(expire_in.get("pattern"), Some(&J::from(TIME_SPAN_PATTERN)));
        // camelCase JSON, PascalCase XML (onetime).
        let client_id = schemas
            .get("OneTimeTokenRequest")
            .and_then(|m| m.get("properties"))
            .and_then(|p| p.get("clientId"))
            .expect("clientId");
        assert_eq!(
            client_id.get("xml").and_then(|x| x.get("name")),
            Some(&J::from("ClientId"))
        );
    }
}
