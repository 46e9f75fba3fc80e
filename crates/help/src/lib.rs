//! The help pages of the legacy services (ASP.NET Web API Help Pages: `/Help`,
//! `/Help/Api/{METHOD}-{path}`, `/Help/ResourceModel?modelName=…`) and an OpenAPI 3.1
//! document, generated from the code so they cannot drift from the wire:
//!
//! - names, order, types and descriptions of every member come from the models' sources
//!   (`crates/models/src`, read by `build.rs`): the doc comments are the one source of truth;
//! - every sample is written by the real codec from a sample value of the model type
//!   ([`samples`]);
//! - the endpoints are one table ([`endpoints::ENDPOINTS`]).
//!
//! The crate knows nothing about HTTP servers: the server maps its routes to [`index`],
//! [`api_page`], [`model_page`] and [`openapi_json`].

pub mod docs;
pub mod endpoints;
pub mod form;
pub mod html;
pub mod json;
pub mod openapi;
pub mod pretty;
pub mod samples;

/// `/Help`.
pub fn index() -> String {
    html::index()
}

/// `/Help/Api/{id}` (the id compared case-insensitively); `None` for an unknown id. `base`
/// (`http://host:port`) goes into the page's curl command; anything but a plain scheme, host
/// and port is replaced by `http://localhost:8080`.
pub fn api_page(id: &str, base: &str) -> Option<String> {
    let plain = base.split_once("://").is_some_and(|(scheme, host)| {
        matches!(scheme, "http" | "https")
            && !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
    });
    let base = if plain { base } else { "http://localhost:8080" };
    endpoints::Endpoint::find(id).map(|e| html::api(e, base))
}

/// `/Help/ResourceModel?modelName={name}`; `None` for an unknown model.
pub fn model_page(name: &str) -> Option<String> {
    endpoints::find_model(name).map(html::model)
}

/// `/openapi.json` and `gatehouse openapi`.
pub fn openapi_json() -> String {
    let mut text = openapi::document().to_pretty();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curl_command_names_only_a_plain_host() {
        let page = api_page("post-API-token", "http://gate.example:8080").expect("page");
        assert!(page.contains("curl -s -X POST &#39;http://gate.example:8080/api/Token&#39;"));
        for hostile in [
            "http://x'; rm -rf ~ #",
            "javascript:alert(1)",
            "http://",
            "ftp://x",
        ] {
            let page = api_page("POST-api-Token", hostile).expect("page");
            assert!(
                page.contains("&#39;http://localhost:8080/api/Token&#39;"),
                "{hostile}"
            );
            assert!(
                !page.contains("rm -rf") && !page.contains("alert"),
                "{hostile}"
            );
        }
        assert!(api_page("POST-nothing", "http://x").is_none());
    }
}
