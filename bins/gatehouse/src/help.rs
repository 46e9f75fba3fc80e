//! The help pages and the OpenAPI document over HTTP (`--help-pages on|off`, default on):
//! `GET /Help`, `/Help/Api/{METHOD}-{path}`, `/Help/ResourceModel?modelName=…` and
//! `/openapi.json`. The content is `gatehouse-help`'s; this module only answers (the routes are
//! `crate::http::routes`', registered from the route table when the pages are on). Paths arrive
//! lower-cased (see [`crate::http::normalize_path`]); ids are compared case-insensitively.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

/// Pages allow only their inline stylesheet: no scripts, no external assets.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn html(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, CACHE))
        .body(body)
}

/// The pages change only with the binary and `--issuer`: shared caches may keep them briefly.
const CACHE: &str = "public, max-age=300";

pub(crate) async fn index() -> HttpResponse {
    static PAGE: OnceLock<String> = OnceLock::new();
    html(
        actix_web::http::StatusCode::OK,
        PAGE.get_or_init(gatehouse_help::index).clone(),
    )
}

/// The curl examples' base is the issuer (`--issuer`, else the bound address), never a
/// request header: `Host`, `X-Forwarded-Host` and `Forwarded` are anyone's to send, and a
/// cached page would hand a forged host to the next reader (issue 19 item 8).
pub(crate) async fn api(state: web::Data<crate::AppState>, id: web::Path<String>) -> HttpResponse {
    match gatehouse_help::api_page(&id, state.issuer()) {
        Some(page) => html(actix_web::http::StatusCode::OK, page),
        None => html(
            actix_web::http::StatusCode::NOT_FOUND,
            gatehouse_help::html::not_found("this API"),
        ),
    }
}

pub(crate) async fn model(req: HttpRequest) -> HttpResponse {
    let query = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default();
    let name = query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("modelName"))
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    match gatehouse_help::model_page(name) {
        Some(page) => html(actix_web::http::StatusCode::OK, page),
        None => html(
            actix_web::http::StatusCode::NOT_FOUND,
            gatehouse_help::html::not_found("this model"),
        ),
    }
}

pub(crate) async fn openapi() -> HttpResponse {
    static DOC: OnceLock<String> = OnceLock::new();
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json; charset=utf-8"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, CACHE))
        .body(DOC.get_or_init(gatehouse_help::openapi_json).clone())
}
