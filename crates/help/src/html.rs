//! Server-rendered pages in the layout of ASP.NET Web API Help Pages: `/Help` (the index),
//! `/Help/Api/{id}` (one endpoint) and `/Help/ResourceModel?modelName=…` (one model). Plain
//! HTML with an inline stylesheet: no JavaScript, no external assets.

use std::fmt::Write as _;

use crate::docs::{self, ModelDoc, ModelKind, TypeName};
use crate::endpoints::{self, Auth, BodyDoc, Endpoint, ResponseDoc, ENDPOINTS, GROUPS};
use crate::samples::{Media, Sample, NOT_AVAILABLE};

const STYLE: &str = r#"
:root{--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--code:#f6f8fa;--accent:#0b5cad}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#24292f;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:1rem;align-items:baseline}
header a{color:#fff;text-decoration:none;font-weight:600}
header a.secondary{font-weight:400;opacity:.85}
main{max-width:72rem;margin:0 auto;padding:1rem;overflow-wrap:anywhere}
h1{font-size:1.6rem;margin:.8rem 0;word-break:break-word}
h2{font-size:1.3rem;margin-top:2rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}
h3{font-size:1.1rem;margin-top:1.4rem}
h4{font-size:1rem;margin:1rem 0 .3rem}
a{color:var(--accent)}
code{background:var(--code);padding:0 .25em;border-radius:3px;font-size:.92em}
p.lead{color:var(--muted)}
nav.toc{display:flex;flex-wrap:wrap;gap:.4rem 1rem;font-size:.95rem;margin:.5rem 0 1rem}
.table-wrap{overflow-x:auto;-webkit-overflow-scrolling:touch}
table.help-page-table{border-collapse:collapse;width:100%;margin:.5rem 0}
table.help-page-table th,table.help-page-table td{border:1px solid var(--line);padding:.35rem .6rem;text-align:left;vertical-align:top}
table.help-page-table th{background:var(--code)}
table.help-page-table td p{margin:0}
td.api-name,td.parameter-name{white-space:nowrap;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92rem}
.sample-content{margin:.2rem 0 1rem}
pre.wrapped{background:var(--code);border:1px solid var(--line);border-radius:6px;padding:.7rem;margin:.3rem 0;white-space:pre-wrap;word-break:break-all;font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.sample-unavailable{color:var(--muted);font-style:italic}
footer{color:var(--muted);font-size:.85rem;margin:3rem 0 1rem}
@media (max-width:40rem){
 main{padding:.6rem}
 h1{font-size:1.3rem}
 td.api-name,td.parameter-name{white-space:normal;word-break:break-all}
 table.help-page-table th,table.help-page-table td{padding:.3rem .4rem}
}
"#;

/// HTML-escapes text for content and double-quoted (or single-quoted) attribute values: the
/// one escaper of the workspace (the login, consent and logout pages use it too).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escaped text with `` `code` `` spans.
fn inline(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", escape(part));
        } else {
            out.push_str(&escape(part));
        }
    }
    out
}

/// Paragraphs: blank lines separate them, single newlines become `<br>`.
fn paragraphs(text: &str) -> String {
    text.split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let lines: Vec<String> = p.lines().map(inline).collect();
            format!("<p>{}</p>", lines.join("<br>\n"))
        })
        .collect()
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{} - Gatehouse API Help</title>\n<link rel=\"icon\" href=\"data:,\">\n<style>{STYLE}</style>\n</head>\n<body>\n<header><a href=\"/Help\">Gatehouse API Help</a><a class=\"secondary\" href=\"/openapi.json\">OpenAPI 3.1 document</a></header>\n<main>\n{body}\n<footer>Generated from the Gatehouse models; samples written by the server's own codec.</footer>\n</main>\n</body>\n</html>\n",
        escape(title)
    )
}

/// The href of an endpoint's page.
pub fn api_href(e: &Endpoint) -> String {
    format!("/Help/Api/{}", e.id())
}

/// The href of a model's page.
pub fn model_href(m: &ModelDoc) -> String {
    format!("/Help/ResourceModel?modelName={}", m.id())
}

/// `/Help`.
pub fn index() -> String {
    let mut b = String::new();
    b.push_str("<h1 id=\"top\">Gatehouse API Help</h1>\n<p class=\"lead\">Every endpoint of this server, grouped as the legacy services' help pages grouped them. Each page lists the request and response members and a sample for every media type, written by the server's own serializers. The same information as an <a href=\"/openapi.json\">OpenAPI 3.1 document</a>.</p>\n<nav class=\"toc\" aria-label=\"Groups\">");
    for g in GROUPS {
        if ENDPOINTS.iter().any(|e| e.group == g.id) {
            let _ = write!(b, "<a href=\"#{0}\">{0}</a>", g.id);
        }
    }
    b.push_str("</nav>\n");
    for g in GROUPS {
        let members: Vec<&Endpoint> = ENDPOINTS.iter().filter(|e| e.group == g.id).collect();
        if members.is_empty() {
            continue;
        }
        let _ = write!(
            b,
            "<section id=\"{0}\">\n<h2>{0}</h2>\n<p>{1}</p>\n<div class=\"table-wrap\"><table class=\"help-page-table\">\n<thead><tr><th>API</th><th>Description</th></tr></thead>\n<tbody>\n",
            g.id,
            inline(g.about)
        );
        for e in members {
            let _ = writeln!(
                b,
                "<tr><td class=\"api-name\"><a href=\"{}\">{}</a></td><td class=\"api-documentation\"><p>{}</p></td></tr>",
                api_href(e),
                escape(&e.title()),
                inline(e.summary)
            );
        }
        b.push_str("</tbody>\n</table></div>\n</section>\n");
    }
    page("Help", &b)
}

fn type_cell(module: &str, ty: &str) -> String {
    match docs::type_name(module, ty) {
        TypeName::Plain(s) => escape(&s),
        TypeName::Model(m) => format!("<a href=\"{}\">{}</a>", model_href(m), escape(m.name)),
    }
}

/// The Name / Description / Type / Additional information table of a struct.
fn member_table(m: &ModelDoc) -> String {
    let mut t = String::from("<div class=\"table-wrap\"><table class=\"help-page-table\">\n<thead><tr><th>Name</th><th>Description</th><th>Type</th><th>Additional information</th></tr></thead>\n<tbody>\n");
    let contract = crate::openapi::contract(m.module, m.name);
    let omitted = contract.map_or(&[][..], |c| c.omit);
    let ignored = contract.map_or(&[][..], |c| c.json_ignore);
    for f in m.fields {
        let mut extra = f.additional();
        if omitted.contains(&f.wire) {
            extra.push("JSON only: not written in XML".to_owned());
        }
        if ignored.contains(&f.wire) {
            extra.push("XML and form only: JSON readers ignore it".to_owned());
        }
        let extra = if extra.is_empty() {
            "<p>None.</p>".to_owned()
        } else {
            extra
                .iter()
                .map(|a| format!("<p>{}</p>", inline(a)))
                .collect()
        };
        let _ = writeln!(
            t,
            "<tr><td class=\"parameter-name\">{}</td><td class=\"parameter-documentation\"><p>{}</p></td><td class=\"parameter-type\">{}</td><td class=\"parameter-annotations\">{}</td></tr>",
            escape(f.wire),
            inline(&f.description()),
            type_cell(m.module, f.ty),
            extra
        );
    }
    t.push_str("</tbody>\n</table></div>\n");
    t
}

/// The Name / Description / Type / Additional information table of parameters.
fn param_table(params: &[crate::endpoints::Param]) -> String {
    let mut t = String::from("<div class=\"table-wrap\"><table class=\"help-page-table\">\n<thead><tr><th>Name</th><th>Description</th><th>Type</th><th>Additional information</th></tr></thead>\n<tbody>\n");
    for p in params {
        let _ = writeln!(
            t,
            "<tr><td class=\"parameter-name\">{}</td><td class=\"parameter-documentation\"><p>{}</p></td><td class=\"parameter-type\">string</td><td class=\"parameter-annotations\"><p>{}</p></td></tr>",
            escape(p.name),
            inline(p.description),
            if p.required { "Required" } else { "None." }
        );
    }
    t.push_str("</tbody>\n</table></div>\n");
    t
}

/// The members table of an inline JSON Schema (`properties` with `description`s).
fn schema_table(schema: &str) -> String {
    let Ok(j) = serde_json::from_str::<crate::json::J>(schema) else {
        return String::new();
    };
    let Some(crate::json::J::Obj(props)) = j.get("properties") else {
        return String::new();
    };
    let required: Vec<&str> = match j.get("required") {
        Some(crate::json::J::Arr(r)) => r
            .iter()
            .filter_map(|x| match x {
                crate::json::J::Str(s) => Some(s.as_str()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let text = |v: Option<&crate::json::J>| match v {
        Some(crate::json::J::Str(s)) => s.clone(),
        Some(crate::json::J::Arr(a)) => a
            .iter()
            .filter_map(|x| match x {
                crate::json::J::Str(s) if s != "null" => Some(s.clone()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    };
    let mut t = String::from("<div class=\"table-wrap\"><table class=\"help-page-table\">\n<thead><tr><th>Name</th><th>Description</th><th>Type</th><th>Additional information</th></tr></thead>\n<tbody>\n");
    for (name, p) in props {
        let ty = match text(p.get("type")).as_str() {
            "array" => format!(
                "Collection of {}",
                text(p.get("items").and_then(|i| i.get("type")))
            ),
            other => other.to_owned(),
        };
        let _ = writeln!(
            t,
            "<tr><td class=\"parameter-name\">{}</td><td class=\"parameter-documentation\"><p>{}</p></td><td class=\"parameter-type\">{}</td><td class=\"parameter-annotations\"><p>{}</p></td></tr>",
            escape(name),
            inline(&text(p.get("description"))),
            escape(&ty),
            if required.contains(&name.as_str()) { "Always present" } else { "Omitted when absent" }
        );
    }
    t.push_str("</tbody>\n</table></div>\n");
    t
}

/// The Name / Value / Description table of an enum.
fn enum_table(m: &ModelDoc) -> String {
    let mut t = String::from("<div class=\"table-wrap\"><table class=\"help-page-table\">\n<thead><tr><th>Name</th><th>Value</th><th>Description</th></tr></thead>\n<tbody>\n");
    for v in m.variants {
        let (name, value) = match v.wire() {
            Some(w) => (w, ""),
            None => (v.name, v.value),
        };
        let _ = writeln!(
            t,
            "<tr><td class=\"enum-name\"><b>{}</b></td><td class=\"enum-value\"><p>{}</p></td><td class=\"enum-description\"><p>{}</p></td></tr>",
            escape(name),
            escape(value),
            inline(&v.description())
        );
    }
    t.push_str("</tbody>\n</table></div>\n");
    t
}

fn samples_html(prefix: &str, samples: &[Sample]) -> String {
    let mut out = String::new();
    for (i, s) in samples.iter().enumerate() {
        let id = format!("{prefix}-{}-{i}", s.media.slug());
        let content = match &s.body {
            Some(text) => format!(
                "<span><b>Sample:</b></span>\n<pre class=\"wrapped\" data-media=\"{}\">{}</pre>",
                s.media.slug(),
                escape(text)
            ),
            None => format!(
                "<span><b>Sample:</b></span>\n<p class=\"sample-unavailable\" data-media=\"{}\">{NOT_AVAILABLE}</p>",
                s.media.slug()
            ),
        };
        let _ = write!(
            out,
            "<div class=\"sample\" id=\"{id}\"><h4 class=\"sample-header\">{}</h4>\n<div class=\"sample-content\">{content}</div></div>\n",
            escape(s.media.label())
        );
    }
    out
}

fn body_section(body: &BodyDoc) -> String {
    let m = body.doc();
    let mut out = String::new();
    if !body.description.is_empty() {
        let _ = writeln!(out, "<p>{}</p>", inline(body.description));
    }
    let _ = writeln!(
        out,
        "<p><a href=\"{}\">{}</a></p>",
        model_href(m),
        escape(m.name)
    );
    out.push_str(&member_table(m));
    out
}

/// Single-quotes `text` for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A curl command calling `e` at `base` with its first JSON or form sample and placeholders
/// for the credentials.
pub fn curl(e: &Endpoint, base: &str) -> String {
    let mut query = crate::json::J::obj();
    for p in e.uri_params.iter().filter(|p| !p.example.is_empty()) {
        query.put(p.name, p.example);
    }
    let url = match crate::form::from_json(&query).filter(|q| !q.is_empty()) {
        Some(q) => format!("{base}{}?{q}", e.path()),
        None => format!("{base}{}", e.path()),
    };
    let mut cmd = format!("curl -s -X {} {}", e.method_name(), shell_quote(&url));
    match e.auth {
        Auth::BearerOrClient | Auth::Bearer => {
            cmd.push_str(" -H 'Authorization: Bearer ACCESS_TOKEN'");
        }
        Auth::Client | Auth::ClientOptional => cmd.push_str(" -u 'CLIENT_ID:CLIENT_SECRET'"),
        Auth::None | Auth::ClientInBody => {}
    }
    {
        let samples = e.request_samples();
        let first = samples
            .iter()
            .find(|s| matches!(s.media, Media::Json | Media::Form) && s.body.is_some());
        if let Some(Sample {
            media,
            body: Some(text),
        }) = first
        {
            let content_type = media.types()[0];
            cmd.push_str(&format!(" -H 'Content-Type: {content_type}'"));
            cmd.push_str(&format!(" --data-binary {}", shell_quote(text)));
        }
    }
    if let ResponseDoc::Model(_) | ResponseDoc::Created(_) = e.response {
        cmd.push_str(" -H 'Accept: application/json'");
    }
    cmd
}

/// `/Help/Api/{id}`; `base` is the scheme and host the page was asked at (for the curl
/// command).
pub fn api(e: &Endpoint, base: &str) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "<h1 id=\"top\">{}</h1>", escape(&e.title()));
    b.push_str(&paragraphs(e.description));
    b.push_str("<nav class=\"toc\" aria-label=\"Sections\"><a href=\"#request\">Request Information</a><a href=\"#try-it\">Try it</a><a href=\"#response\">Response Information</a>");
    if !e.errors.statuses().is_empty() {
        b.push_str("<a href=\"#errors\">Error Information</a>");
    }
    b.push_str("<a href=\"/Help\">All endpoints</a></nav>\n");

    b.push_str("<h2 id=\"request\">Request Information</h2>\n<h3 id=\"uri-parameters\">URI Parameters</h3>\n");
    if e.uri_params.is_empty() {
        b.push_str("<p>None.</p>\n");
    } else {
        b.push_str(&param_table(e.uri_params));
    }
    b.push_str("<h3 id=\"authentication\">Authentication</h3>\n");
    let _ = writeln!(b, "<p>{}</p>", inline(e.auth.describe()));
    b.push_str("<h3 id=\"body-parameters\">Body Parameters</h3>\n");
    match &e.request {
        Some(body) => {
            b.push_str(&body_section(body));
            b.push_str("<h3 id=\"request-formats\">Request Formats</h3>\n");
            b.push_str(&samples_html("request", &(body.samples)()));
        }
        None if !e.body_params.is_empty() => {
            b.push_str("<p>A form (<code>application/x-www-form-urlencoded</code>) or a JSON object with these members.</p>\n");
            b.push_str(&param_table(e.body_params));
            b.push_str("<h3 id=\"request-formats\">Request Formats</h3>\n");
            b.push_str(&samples_html("request", &e.request_samples()));
        }
        None => b.push_str("<p>None.</p>\n"),
    }

    b.push_str("<h3 id=\"try-it\">Try it</h3>\n<p>The request with the first sample body; put real values in place of the samples and the credential placeholders.</p>\n");
    let _ = writeln!(
        b,
        "<pre class=\"wrapped\" data-media=\"curl\">{}</pre>",
        escape(&curl(e, base))
    );

    b.push_str("<h2 id=\"response\">Response Information</h2>\n<h3 id=\"resource-description\">Resource Description</h3>\n");
    match &e.response {
        ResponseDoc::Model(body) | ResponseDoc::Created(body) => {
            b.push_str(&body_section(body));
            b.push_str("<h3 id=\"response-formats\">Response Formats</h3>\n");
            b.push_str(&samples_html("response", &(body.samples)()));
        }
        ResponseDoc::Other {
            media,
            description,
            schema,
            ..
        } => {
            b.push_str(&paragraphs(description));
            if !media.is_empty() {
                let _ = writeln!(b, "<p>Media type: <code>{}</code></p>", escape(media));
            }
            b.push_str(&schema_table(schema));
        }
    }

    let statuses = e.errors.statuses();
    if !statuses.is_empty() {
        b.push_str("<h2 id=\"errors\">Error Information</h2>\n");
        if let Some(m) = e
            .errors
            .model()
            .and_then(|(module, name)| docs::model(module, name))
        {
            let _ = writeln!(
                b,
                "<p>Failures are answered with <a href=\"{}\">{}</a>.</p>",
                model_href(m),
                escape(m.name)
            );
        }
        b.push_str("<div class=\"table-wrap\"><table class=\"help-page-table\">\n<thead><tr><th>Status</th><th>When</th></tr></thead>\n<tbody>\n");
        for (status, when) in statuses {
            let _ = writeln!(
                b,
                "<tr><td class=\"parameter-name\">{status}</td><td><p>{}</p></td></tr>",
                inline(when)
            );
        }
        b.push_str("</tbody>\n</table></div>\n<h3 id=\"error-formats\">Error Formats</h3>\n");
        let samples = e.errors.samples();
        let mut last = "";
        for (i, (label, sample)) in samples.iter().enumerate() {
            if *label != last {
                let _ = writeln!(b, "<p><b>{}</b></p>", escape(label));
                last = label;
            }
            b.push_str(&samples_html(
                &format!("error{i}"),
                std::slice::from_ref(sample),
            ));
        }
    }
    page(&e.title(), &b)
}

/// `/Help/ResourceModel?modelName=…`.
pub fn model(m: &ModelDoc) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "<h1 id=\"top\">{}</h1>", escape(m.name));
    let summary = m.summary();
    if !summary.is_empty() {
        let _ = writeln!(b, "<p>{}</p>", inline(&summary));
    }
    b.push_str("<h2 id=\"members\">Members</h2>\n");
    match m.kind {
        ModelKind::Struct => b.push_str(&member_table(m)),
        ModelKind::Enum => b.push_str(&enum_table(m)),
    }
    let users: Vec<&Endpoint> = ENDPOINTS.iter().filter(|e| uses(e, m)).collect();
    if !users.is_empty() {
        b.push_str("<h2 id=\"used-by\">Used by</h2>\n<ul>\n");
        for e in users {
            let _ = writeln!(
                b,
                "<li><a href=\"{}\">{}</a></li>",
                api_href(e),
                escape(&e.title())
            );
        }
        b.push_str("</ul>\n");
    }
    page(m.name, &b)
}

/// Whether an endpoint's bodies or error body name `m`, directly or nested.
fn uses(e: &Endpoint, m: &ModelDoc) -> bool {
    let mut roots: Vec<&'static ModelDoc> = [e.request, endpoints::response_body(e)]
        .into_iter()
        .flatten()
        .map(|b| b.doc())
        .collect();
    if let Some(x) = e.errors.model().and_then(|(a, n)| docs::model(a, n)) {
        roots.push(x);
    }
    let mut i = 0;
    while i < roots.len() {
        let r = roots[i];
        if std::ptr::eq(r, m) {
            return true;
        }
        for f in r.fields {
            if let TypeName::Model(inner) = docs::type_name(r.module, f.ty) {
                if !roots.iter().any(|x| std::ptr::eq(*x, inner)) {
                    roots.push(inner);
                }
            }
        }
        i += 1;
    }
    false
}

/// A 404 page for an unknown endpoint or model.
pub fn not_found(what: &str) -> String {
    page(
        "Not found",
        &format!(
            "<h1 id=\"top\">Not found</h1>\n<p>There is no help page for {}.</p>\n<p><a href=\"/Help\">All endpoints</a></p>",
            escape(what)
        ),
    )
}
