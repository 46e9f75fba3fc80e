//! Signed tokens and OpenID Connect on the standards surface: the JWK Set
//! (`/oauth2/jwks`), OpenID Provider metadata (`/.well-known/openid-configuration`) and
//! userinfo (`/oauth2/userinfo`). RP-initiated logout is `/oauth2/logout` (the standards
//! module), which ends the browser session and every token session it authorized.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_domain::store::Store as _;
use serde::Serialize;

use crate::AppState;

type Data = web::Data<AppState>;

/// `GET /oauth2/jwks`
pub const JWKS: &str = "/oauth2/jwks";
/// `GET|POST /oauth2/userinfo`
pub const USERINFO: &str = "/oauth2/userinfo";
/// `GET /.well-known/openid-configuration`
pub const OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";

/// How long a JWKS may be cached. A new key is published `gatehouse keys rotate
/// --publish-delay` (default 600 s) before it signs, longer than this.
pub const JWKS_MAX_AGE: u32 = 300;

/// The metrics label of these routes.
pub fn route_label(path: &str) -> Option<&'static str> {
    [JWKS, USERINFO, OPENID_CONFIGURATION]
        .into_iter()
        .find(|r| *r == path)
}

/// Registers the routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let resource = |path: &'static str, allow: &'static str| {
        web::resource(path).default_service(web::to(move || async move {
            HttpResponse::MethodNotAllowed()
                .insert_header((header::ALLOW, allow))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .content_type("application/json")
                .body(r#"{"error":"invalid_request","error_description":"Method not allowed."}"#)
        }))
    };
    cfg.service(resource(JWKS, "GET").route(web::get().to(jwks)))
        .service(
            resource(USERINFO, "GET, POST")
                .route(web::get().to(userinfo))
                .route(web::post().to(userinfo)),
        )
        .service(resource(OPENID_CONFIGURATION, "GET").route(web::get().to(configuration)));
}

fn json(status: StatusCode, cache: &'static str, body: Vec<u8>) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CACHE_CONTROL, cache))
        .body(body)
}

fn unavailable(what: &str, e: &dyn std::fmt::Display) -> HttpResponse {
    tracing::warn!(error = %e, "{what} could not be read");
    json(
        StatusCode::SERVICE_UNAVAILABLE,
        "no-store",
        br#"{"error":"temporarily_unavailable"}"#.to_vec(),
    )
}

/// `GET /oauth2/jwks`: every published key (pending, signing, superseded, and retired ones
/// within their window).
async fn jwks(state: Data) -> HttpResponse {
    match state.blocking(|s| s.jwks()).await {
        Ok(set) => json(
            StatusCode::OK,
            "public, max-age=300",
            serde_json::to_vec(&set).unwrap_or_default(),
        ),
        Err(e) => unavailable("signing keys", &e),
    }
}

/// `GET|POST /oauth2/userinfo` with `Authorization: Bearer` (RFC 6750 2.1).
async fn userinfo(req: HttpRequest, state: Data) -> HttpResponse {
    let Some(token) = crate::http::request::bearer(&req).map(str::to_owned) else {
        return bearer_refused("");
    };
    match state.blocking(move |s| s.userinfo(&token)).await {
        Ok(claims) => json(
            StatusCode::OK,
            "no-store",
            serde_json::to_vec(&claims).unwrap_or_default(),
        ),
        Err(crate::http::ApiError::Domain(gatehouse_domain::Error::InvalidToken)) => {
            bearer_refused("invalid_token")
        }
        Err(e) => unavailable("userinfo", &e),
    }
}

/// RFC 6750 section 3: 401 with the `Bearer` challenge, and `error` when there is one (none:
/// no token was presented).
fn bearer_refused(error: &'static str) -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header((
            header::WWW_AUTHENTICATE,
            if error.is_empty() {
                "Bearer".to_owned()
            } else {
                format!("Bearer error=\"{error}\"")
            },
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("application/json")
        .body(if error.is_empty() {
            r#"{"error":"invalid_request","error_description":"A Bearer access token is required."}"#.to_owned()
        } else {
            format!(r#"{{"error":"{error}"}}"#)
        })
}

use super::standard::metadata::Enabled;

/// OpenID Connect Discovery 1.0 section 3.
#[derive(Debug, Serialize)]
struct Configuration {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    userinfo_endpoint: String,
    jwks_uri: String,
    end_session_endpoint: String,
    introspection_endpoint: String,
    revocation_endpoint: String,
    scopes_supported: Vec<String>,
    response_types_supported: [&'static str; 1],
    response_modes_supported: [&'static str; 1],
    grant_types_supported: [&'static str; 4],
    subject_types_supported: [&'static str; 1],
    id_token_signing_alg_values_supported: Vec<&'static str>,
    token_endpoint_auth_methods_supported: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_endpoint_auth_signing_alg_values_supported: Option<[&'static str; 3]>,
    code_challenge_methods_supported: [&'static str; 1],
    claims_supported: [&'static str; 14],
    prompt_values_supported: [&'static str; 3],
    claims_parameter_supported: bool,
    request_parameter_supported: bool,
    request_uri_parameter_supported: bool,
}

/// `GET /.well-known/openid-configuration`.
async fn configuration(state: Data) -> HttpResponse {
    let read = state
        .blocking(|s| {
            let algs = s.published_algs()?;
            let (scopes, enabled) = s.store().read(|tx| {
                let clients = tx.clients()?;
                let mut scopes: Vec<String> = clients
                    .iter()
                    .flat_map(|c| c.scope.split_ascii_whitespace().map(str::to_owned))
                    .collect();
                scopes.push("openid".to_owned());
                scopes.sort();
                scopes.dedup();
                Ok((scopes, Enabled::of(&clients)))
            })?;
            Ok((algs, scopes, enabled))
        })
        .await;
    match read {
        Ok((algs, scopes, enabled)) => {
            let algs = algs.iter().map(|a| a.as_str()).collect();
            let doc = Configuration::new(state.issuer(), scopes, algs, enabled);
            let body = serde_json::to_vec(&doc).unwrap_or_default();
            json(StatusCode::OK, "public, max-age=300", body)
        }
        Err(e) => unavailable("openid configuration", &e),
    }
}

impl Configuration {
    /// The document of `issuer`, whose clients have `scopes` and whose keys sign with `algs`.
    fn new(issuer: &str, scopes: Vec<String>, algs: Vec<&'static str>, enabled: Enabled) -> Self {
        let at = |path: &str| format!("{issuer}{path}");
        Configuration {
            issuer: issuer.to_owned(),
            authorization_endpoint: at("/oauth2/authorize"),
            token_endpoint: at("/oauth2/token"),
            userinfo_endpoint: at(USERINFO),
            jwks_uri: at(JWKS),
            end_session_endpoint: at("/oauth2/logout"),
            introspection_endpoint: at("/oauth2/introspect"),
            revocation_endpoint: at("/oauth2/revoke"),
            scopes_supported: scopes,
            response_types_supported: ["code"],
            response_modes_supported: ["query"],
            grant_types_supported: [
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "password",
            ],
            subject_types_supported: ["public"],
            id_token_signing_alg_values_supported: algs,
            token_endpoint_auth_methods_supported: enabled.auth_methods(true),
            token_endpoint_auth_signing_alg_values_supported: enabled.assertion_algs(),
            code_challenge_methods_supported: ["S256"],
            claims_supported: [
                "iss",
                "sub",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "at_hash",
                "sid",
                "azp",
                "preferred_username",
                "name",
                "email",
                "email_verified",
            ],
            prompt_values_supported: ["none", "login", "consent"],
            claims_parameter_supported: false,
            request_parameter_supported: false,
            request_uri_parameter_supported: false,
        }
    }
}
