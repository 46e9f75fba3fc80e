//! The discovery documents: RFC 8414 authorization server metadata at
//! `/.well-known/oauth-authorization-server` and OpenID Connect Discovery 1.0 at
//! `/.well-known/openid-configuration`, both from ONE source: [`build`] turns the enabled
//! [`Features`] into a `models::oauth::AuthorizationServerMetadata`, and each document is that
//! value serialized. The two documents are identical while Gatehouse is an OpenID provider;
//! without signing keys it is not one, and the OpenID document answers 404 (nothing in it
//! could be served).
//!
//! Built from the configured issuer (never from request headers: a `Host` header must not be
//! able to move the endpoints a client trusts), listing exactly what works. A new capability
//! adds one field to [`Features`] (read in [`features`]) and sets its members in [`build`].

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use gatehouse_domain::par::ParMode;
use gatehouse_models::oauth::{AuthorizationServerMetadata, ErrorCode, GrantType};

use crate::http::error::OAuthAnswer;
use crate::http::Endpoint;
use crate::AppState;

/// What is enabled now, read for each document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features {
    /// The union of the clients' scopes (`openid` only when [`Features::id_token_algs`] is
    /// not empty).
    pub scopes: Vec<String>,
    /// The algorithms of the keys published now; empty: no key signs (no key-encryption key),
    /// so no id_token can be issued and Gatehouse is not an OpenID provider.
    pub id_token_algs: Vec<&'static str>,
    /// Pushed authorization requests (RFC 9126): off, on, or required of every client.
    pub par: gatehouse_domain::par::ParMode,
    /// Some client has registered keys: `private_key_jwt` (RFC 7523) is advertised.
    pub private_key_jwt: bool,
    /// Some client has a `backchannel_logout_uri`: back-channel logout (with `sid`) is
    /// advertised in the OpenID document.
    pub backchannel_logout: bool,
    /// Some client has the device grant (RFC 8628): its endpoint and grant type are
    /// advertised.
    pub device_code: bool,
    /// Some client holds the `token_exchange` grant and has an audience on its allow-list:
    /// the RFC 8693 grant type is advertised.
    pub token_exchange: bool,
    /// DPoP (RFC 9449) is on (`--dpop`): its proof algorithms are advertised.
    pub dpop: bool,
}

impl Features {
    /// Whether Gatehouse is an OpenID provider now (it can sign id_tokens).
    pub fn openid(&self) -> bool {
        !self.id_token_algs.is_empty()
    }
}

fn strings(items: &[&str]) -> Option<Vec<String>> {
    Some(items.iter().map(|s| (*s).to_owned()).collect())
}

/// The client authentication methods of an endpoint (`none` where a public client may call
/// it), `private_key_jwt` while some client has keys.
fn auth_methods(features: &Features, public: bool) -> Option<Vec<String>> {
    let mut methods = vec!["client_secret_basic", "client_secret_post"];
    if features.private_key_jwt {
        methods.push("private_key_jwt");
    }
    if public {
        methods.push("none");
    }
    strings(&methods)
}

/// The algorithms a client assertion may be signed with, while `private_key_jwt` is on.
fn assertion_algs(features: &Features) -> Option<Vec<String>> {
    features
        .private_key_jwt
        .then(|| strings(&["ES256", "EdDSA", "RS256"]))
        .flatten()
}

/// The one document of `issuer` (no trailing slash) with `features`.
pub fn build(issuer: &str, features: &Features) -> AuthorizationServerMetadata {
    let at = |e: Endpoint| Some(format!("{issuer}{}", e.route()));
    let mut doc = AuthorizationServerMetadata {
        issuer: issuer.to_owned(),
        authorization_endpoint: at(Endpoint::Authorize),
        token_endpoint: at(Endpoint::Token),
        jwks_uri: at(Endpoint::Jwks),
        introspection_endpoint: at(Endpoint::Introspect),
        revocation_endpoint: at(Endpoint::Revoke),
        scopes_supported: (!features.scopes.is_empty()).then(|| features.scopes.clone()),
        response_types_supported: vec!["code".to_owned()],
        response_modes_supported: strings(&["query"]),
        // Token exchange only while some client may use it.
        grant_types_supported: Some(
            crate::http::grant::STANDARD
                .iter()
                .filter(|g| **g != GrantType::TokenExchange || features.token_exchange)
                .map(|g| g.as_str().to_owned())
                .collect(),
        ),
        code_challenge_methods_supported: strings(&["S256"]),
        token_endpoint_auth_methods_supported: auth_methods(features, true),
        token_endpoint_auth_signing_alg_values_supported: assertion_algs(features),
        // A public client may revoke its own tokens with its client_id (RFC 7009 2.1).
        revocation_endpoint_auth_methods_supported: auth_methods(features, true),
        revocation_endpoint_auth_signing_alg_values_supported: assertion_algs(features),
        introspection_endpoint_auth_methods_supported: auth_methods(features, false),
        introspection_endpoint_auth_signing_alg_values_supported: assertion_algs(features),
        authorization_response_iss_parameter_supported: Some(true),
        ..AuthorizationServerMetadata::default()
    };
    if features.device_code {
        doc.device_authorization_endpoint = at(Endpoint::DeviceAuthorization);
        if let Some(grants) = doc.grant_types_supported.as_mut() {
            grants.push(gatehouse_domain::device::DEVICE_CODE_GRANT.to_owned());
        }
    }
    if features.dpop {
        doc.dpop_signing_alg_values_supported = strings(&gatehouse_domain::dpop::algorithms());
    }
    if features.par != ParMode::Off {
        doc.pushed_authorization_request_endpoint = at(Endpoint::Par);
        doc.require_pushed_authorization_requests = Some(features.par == ParMode::Required);
    }
    if features.openid() {
        openid(&mut doc, issuer, features);
    }
    doc
}

/// The OpenID Connect Discovery members (only for an OpenID provider).
fn openid(doc: &mut AuthorizationServerMetadata, issuer: &str, features: &Features) {
    let at = |e: Endpoint| Some(format!("{issuer}{}", e.route()));
    doc.userinfo_endpoint = at(Endpoint::UserInfo);
    doc.end_session_endpoint = at(Endpoint::Logout);
    doc.subject_types_supported = strings(&["public"]);
    doc.id_token_signing_alg_values_supported = strings(&features.id_token_algs);
    doc.claims_supported = strings(&[
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
    ]);
    doc.prompt_values_supported = strings(&["none", "login", "consent"]);
    if features.backchannel_logout {
        doc.backchannel_logout_supported = Some(true);
        doc.backchannel_logout_session_supported = Some(true);
    }
    doc.claims_parameter_supported = Some(false);
    doc.request_parameter_supported = Some(false);
    doc.request_uri_parameter_supported = Some(false);
}

/// Reads what is enabled now: the clients' scopes and the published key algorithms.
///
/// # Errors
/// `Storage`.
pub fn features(s: &crate::state::Service) -> Result<Features, gatehouse_domain::Error> {
    let id_token_algs: Vec<&'static str> = s
        .openid_algs()?
        .into_iter()
        .map(gatehouse_domain::keys::Alg::as_str)
        .collect();
    let openid = !id_token_algs.is_empty();
    let clients = s.client_features(openid)?;
    Ok(Features {
        scopes: clients.scopes,
        id_token_algs,
        par: s.config().pushed_authorization_requests,
        private_key_jwt: clients.private_key_jwt,
        backchannel_logout: s.backchannel_in_use()?,
        device_code: clients.device_code,
        token_exchange: clients.token_exchange,
        dpop: s.config().dpop,
    })
}

/// Which of the two documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// RFC 8414 `/.well-known/oauth-authorization-server`.
    OAuth,
    /// OpenID Connect Discovery `/.well-known/openid-configuration`: 404 when Gatehouse is not
    /// an OpenID provider.
    OpenId,
}

/// `GET` of either document.
pub async fn respond(state: &AppState, which: Document) -> HttpResponse {
    let features = match state.blocking(features).await {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(error = %e, "metadata: clients or keys could not be read");
            return OAuthAnswer::bare(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TemporarilyUnavailable,
            )
            .respond();
        }
    };
    if which == Document::OpenId && !features.openid() {
        return OAuthAnswer::new(
            StatusCode::NOT_FOUND,
            ErrorCode::Other("not_found".to_owned()),
            "This server issues no id_tokens: no signing key is configured (--key-encryption-key-file).",
        )
        .respond();
    }
    match serde_json::to_vec(&build(state.issuer(), &features)) {
        Ok(body) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
            .body(body),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

/// `GET /.well-known/oauth-authorization-server`.
pub async fn document(state: &AppState) -> HttpResponse {
    respond(state, Document::OAuth).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openid_members_only_for_an_openid_provider() {
        let plain = build("https://a.example", &Features::default());
        let text = serde_json::to_string(&plain).unwrap_or_default();
        for member in [
            "userinfo_endpoint",
            "end_session_endpoint",
            "id_token_signing_alg_values_supported",
            "subject_types_supported",
        ] {
            assert!(!text.contains(member), "{member}: {text}");
        }
        assert!(text.contains(r#""authorization_response_iss_parameter_supported":true"#));
        let oidc = build(
            "https://a.example",
            &Features {
                scopes: vec!["openid".into()],
                id_token_algs: vec!["RS256"],
                par: ParMode::Required,
                private_key_jwt: true,
                backchannel_logout: false,
                device_code: true,
                token_exchange: true,
                dpop: true,
            },
        );
        assert_eq!(
            oidc.id_token_signing_alg_values_supported,
            Some(vec!["RS256".to_owned()])
        );
        assert_eq!(
            oidc.end_session_endpoint.as_deref(),
            Some("https://a.example/oauth2/logout")
        );
        assert_eq!(oidc.require_pushed_authorization_requests, Some(true));
        assert_eq!(
            oidc.device_authorization_endpoint.as_deref(),
            Some("https://a.example/oauth2/device_authorization")
        );
        assert!(oidc.grant_types_supported.as_ref().is_some_and(|g| g
            .iter()
            .any(|g| g == "urn:ietf:params:oauth:grant-type:device_code")));
        assert!(!text.contains("device"), "{text}");
        assert!(!text.contains("pushed_authorization_request_endpoint"));
        assert!(!text.contains("private_key_jwt"), "{text}");
        assert!(!text.contains("token-exchange"), "{text}");
        assert!(!text.contains("dpop"), "{text}");
        assert_eq!(
            oidc.dpop_signing_alg_values_supported,
            Some(vec!["RS256".into(), "ES256".into(), "EdDSA".into()])
        );
        assert!(oidc.grant_types_supported.is_some_and(|g| g
            .iter()
            .any(|g| g == "urn:ietf:params:oauth:grant-type:token-exchange")));
        assert!(oidc
            .token_endpoint_auth_methods_supported
            .is_some_and(|m| m.iter().any(|m| m == "private_key_jwt")));
    }
}
