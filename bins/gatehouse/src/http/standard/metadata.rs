//! RFC 8414 authorization server metadata at `/.well-known/oauth-authorization-server`,
//! built from the configured issuer (never from request headers: a `Host` header must not
//! be able to move the endpoints a client trusts), listing exactly what works.

use actix_web::http::header;
use actix_web::HttpResponse;
use gatehouse_domain::store::Store as _;
use serde::Serialize;

use crate::AppState;

/// The document. Every member but `issuer` and `response_types_supported` is optional in
/// the RFC; those listed here are the ones Gatehouse serves.
#[derive(Debug, Serialize)]
pub struct Metadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    introspection_endpoint: String,
    revocation_endpoint: String,
    jwks_uri: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scopes_supported: Vec<String>,
    response_types_supported: [&'static str; 1],
    response_modes_supported: [&'static str; 1],
    grant_types_supported: [&'static str; 4],
    code_challenge_methods_supported: [&'static str; 1],
    token_endpoint_auth_methods_supported: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_endpoint_auth_signing_alg_values_supported: Option<[&'static str; 3]>,
    revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revocation_endpoint_auth_signing_alg_values_supported: Option<[&'static str; 3]>,
    introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    introspection_endpoint_auth_signing_alg_values_supported: Option<[&'static str; 3]>,
    authorization_response_iss_parameter_supported: bool,
}

/// What the clients configured enable, read with the scopes: each capability is
/// advertised only when some client can use it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Enabled {
    /// Some client has registered keys: `private_key_jwt`.
    pub private_key_jwt: bool,
}

impl Enabled {
    /// From the clients.
    pub fn of(clients: &[gatehouse_domain::model::Client]) -> Self {
        Self {
            private_key_jwt: clients.iter().any(|c| c.jwks.is_some()),
        }
    }

    /// The client authentication methods of an endpoint (`none` where a public client may
    /// call it).
    pub fn auth_methods(self, public: bool) -> Vec<&'static str> {
        let mut methods = vec!["client_secret_basic", "client_secret_post"];
        if self.private_key_jwt {
            methods.push("private_key_jwt");
        }
        if public {
            methods.push("none");
        }
        methods
    }

    /// The algorithms a client assertion may be signed with, when `private_key_jwt` is on.
    pub fn assertion_algs(self) -> Option<[&'static str; 3]> {
        self.private_key_jwt.then_some(["ES256", "EdDSA", "RS256"])
    }
}

impl Metadata {
    /// The document for `issuer` (no trailing slash), the union of the clients' scopes and
    /// what they enable.
    pub fn new(issuer: &str, scopes: Vec<String>, enabled: Enabled) -> Self {
        let at = |path: &str| format!("{issuer}{path}");
        Self {
            issuer: issuer.to_owned(),
            authorization_endpoint: at(super::AUTHORIZE),
            token_endpoint: at(super::TOKEN),
            introspection_endpoint: at("/oauth2/introspect"),
            revocation_endpoint: at("/oauth2/revoke"),
            jwks_uri: at(crate::http::oidc::JWKS),
            scopes_supported: scopes,
            response_types_supported: ["code"],
            response_modes_supported: ["query"],
            grant_types_supported: [
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "password",
            ],
            code_challenge_methods_supported: ["S256"],
            token_endpoint_auth_methods_supported: enabled.auth_methods(true),
            token_endpoint_auth_signing_alg_values_supported: enabled.assertion_algs(),
            // A public client may revoke its own tokens with its client_id (RFC 7009 2.1).
            revocation_endpoint_auth_methods_supported: enabled.auth_methods(true),
            revocation_endpoint_auth_signing_alg_values_supported: enabled.assertion_algs(),
            introspection_endpoint_auth_methods_supported: enabled.auth_methods(false),
            introspection_endpoint_auth_signing_alg_values_supported: enabled.assertion_algs(),
            authorization_response_iss_parameter_supported: true,
        }
    }
}

/// `GET /.well-known/oauth-authorization-server`.
pub async fn document(state: &AppState) -> HttpResponse {
    let scopes = state
        .blocking(|s| {
            s.store().read(|tx| {
                let clients = tx.clients()?;
                let mut scopes: Vec<String> = clients
                    .iter()
                    .flat_map(|c| c.scope.split_ascii_whitespace().map(str::to_owned))
                    .collect();
                scopes.sort();
                scopes.dedup();
                Ok((scopes, Enabled::of(&clients)))
            })
        })
        .await;
    let (scopes, enabled) = match scopes {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "metadata: clients could not be read");
            return HttpResponse::ServiceUnavailable()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish();
        }
    };
    match serde_json::to_vec(&Metadata::new(state.issuer(), scopes, enabled)) {
        Ok(body) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
            .body(body),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}
