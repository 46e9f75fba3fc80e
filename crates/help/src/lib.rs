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

/// `/Help/Api/{id}` (the id compared case-insensitively); `None` for an unknown id.
pub fn api_page(id: &str) -> Option<String> {
    endpoints::Endpoint::find(id).map(html::api)
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
