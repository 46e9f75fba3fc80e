//! The standards surface: RFC 8414 discovery, the RFC 6749 token endpoint, RFC 7662
//! introspection, RFC 7009 revocation, OpenID Connect userinfo, and the authorization-code
//! flow with RFC 7636 PKCE.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use gatehouse_models::oauth::{AuthorizationServerMetadata, IntrospectionResponse};
use reqwest::Method;
use serde::Deserialize;

use crate::{Call, Client, ClientCredentials, Error, Secret};
use gatehouse_codec::form_url_encode;

pub use gatehouse_models::oauth::TokenResponse;

/// The RFC 8414 (or OpenID Connect discovery) document: the RFC 8414 members, and the
/// OpenID ones a resource server needs.
#[derive(Clone, Debug, Deserialize)]
pub struct ServerMetadata {
    /// The RFC 8414 members.
    #[serde(flatten)]
    pub oauth: AuthorizationServerMetadata,
    /// The JWKS of the server's signing keys.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// OpenID Connect userinfo.
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
}

/// A grant at the token endpoint.
#[derive(Debug, Clone)]
pub enum Grant<'a> {
    /// `client_credentials`, optionally narrowed to `scope`.
    ClientCredentials {
        /// Space-separated scopes.
        scope: Option<&'a str>,
    },
    /// `refresh_token`: a new pair (the old refresh token is rotated).
    RefreshToken {
        /// The refresh token.
        refresh_token: &'a Secret,
        /// Narrower scopes, if wanted.
        scope: Option<&'a str>,
    },
    /// `authorization_code` with the PKCE verifier of [`Client::authorization_request`].
    AuthorizationCode {
        /// The code from the redirect.
        code: &'a Secret,
        /// The redirect URI of the authorization request.
        redirect_uri: &'a str,
        /// The PKCE verifier.
        code_verifier: &'a Secret,
    },
    /// `password` (for clients allowed it; prefer the code flow).
    Password {
        /// The user name.
        username: &'a str,
        /// The password.
        password: &'a Secret,
        /// Space-separated scopes.
        scope: Option<&'a str>,
    },
}

impl Grant<'_> {
    fn pairs(&self) -> Vec<(&'static str, &str)> {
        match self {
            Grant::ClientCredentials { scope } => {
                let mut p = vec![("grant_type", "client_credentials")];
                p.extend(scope.map(|s| ("scope", s)));
                p
            }
            Grant::RefreshToken {
                refresh_token,
                scope,
            } => {
                let mut p = vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token.expose()),
                ];
                p.extend(scope.map(|s| ("scope", s)));
                p
            }
            Grant::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => vec![
                ("grant_type", "authorization_code"),
                ("code", code.expose()),
                ("redirect_uri", redirect_uri),
                ("code_verifier", code_verifier.expose()),
            ],
            Grant::Password {
                username,
                password,
                scope,
            } => {
                let mut p = vec![
                    ("grant_type", "password"),
                    ("username", *username),
                    ("password", password.expose()),
                ];
                p.extend(scope.map(|s| ("scope", s)));
                p
            }
        }
    }
}

/// An authorization request to open in the user's browser, and what the redirect is checked
/// against: keep it until the code comes back.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    /// The URL of `/oauth2/authorize` with every parameter.
    pub url: String,
    /// The `state` sent; the redirect must carry the same.
    pub state: Secret,
    /// The PKCE verifier for [`Grant::AuthorizationCode`].
    pub code_verifier: Secret,
    /// The `nonce` sent (`openid` requests); the id_token must carry the same.
    pub nonce: Secret,
}

/// 32 random bytes, base64url: 43 characters (RFC 7636 section 4.1's recommendation).
fn random_token() -> Secret {
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .expect("the operating system's random source works");
    Secret::new(URL_SAFE_NO_PAD.encode(bytes))
}

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", form_url_encode(k), form_url_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

impl Client {
    async fn rfc_post(
        &self,
        path: &str,
        client: &ClientCredentials,
        mut pairs: Vec<(&'static str, &str)>,
    ) -> Result<crate::Answer, Error> {
        if let Some((id, secret)) = client.body_pair() {
            pairs.push(("client_id", id));
            if let Some(secret) = secret {
                pairs.push(("client_secret", secret));
            }
        }
        let call = Call {
            method: Method::POST,
            path,
            content_type: Some("application/x-www-form-urlencoded"),
            accept: "application/json",
            authorization: client.basic_header(),
            body: form(&pairs),
        };
        self.send(&call).await
    }

    pub(crate) async fn get(
        &self,
        path: &str,
        authorization: Option<String>,
    ) -> Result<crate::Answer, Error> {
        let call = Call {
            method: Method::GET,
            path,
            content_type: None,
            accept: "application/json",
            authorization,
            body: Vec::new(),
        };
        self.send(&call).await
    }

    /// RFC 8414 metadata (`/.well-known/oauth-authorization-server`).
    ///
    /// # Errors
    /// [`Error::Transport`], [`Error::Unexpected`], [`Error::Decode`].
    pub async fn metadata(&self) -> Result<ServerMetadata, Error> {
        self.get("/.well-known/oauth-authorization-server", None)
            .await?
            .into_json()
    }

    /// OpenID Connect discovery (`/.well-known/openid-configuration`), with `jwks_uri`.
    ///
    /// # Errors
    /// [`Error::Transport`], [`Error::Unexpected`], [`Error::Decode`].
    pub async fn openid_configuration(&self) -> Result<ServerMetadata, Error> {
        self.get("/.well-known/openid-configuration", None)
            .await?
            .into_json()
    }

    /// A grant at `/oauth2/token`.
    ///
    /// # Errors
    /// [`Error::OAuth`] (`invalid_grant` for a used, expired or foreign code or refresh
    /// token; `invalid_client`; `invalid_scope`); [`Error::Transport`].
    pub async fn token(
        &self,
        client: &ClientCredentials,
        grant: Grant<'_>,
    ) -> Result<TokenResponse, Error> {
        self.rfc_post("/oauth2/token", client, grant.pairs())
            .await?
            .into_json()
    }

    /// RFC 7662 introspection of `token` (any dialect's) by a confidential client: inactive
    /// for a revoked, expired, unknown or another client's token.
    ///
    /// # Errors
    /// [`Error::OAuth`] (`invalid_client`); [`Error::Transport`].
    pub async fn introspect(
        &self,
        client: &ClientCredentials,
        token: &Secret,
    ) -> Result<IntrospectionResponse, Error> {
        self.rfc_post(
            "/oauth2/introspect",
            client,
            vec![("token", token.expose())],
        )
        .await?
        .into_json()
    }

    /// RFC 7009 revocation of `token` (an access token ends its session; a refresh token its
    /// family).
    ///
    /// # Errors
    /// [`Error::OAuth`] (`invalid_client`, or `unauthorized_client` for another client's
    /// token); [`Error::Transport`].
    pub async fn revoke(&self, client: &ClientCredentials, token: &Secret) -> Result<(), Error> {
        let answer = self
            .rfc_post("/oauth2/revoke", client, vec![("token", token.expose())])
            .await?;
        if (200..300).contains(&answer.status) {
            Ok(())
        } else {
            Err(answer.refusal(crate::Shape::OAuth))
        }
    }

    /// OpenID Connect userinfo: the claims the access token's scope releases.
    ///
    /// # Errors
    /// [`Error::Unexpected`] with 401 for a refused token; [`Error::Transport`].
    pub async fn userinfo(&self, access_token: &Secret) -> Result<serde_json::Value, Error> {
        let answer = self
            .get(
                "/oauth2/userinfo",
                Some(format!("Bearer {}", access_token.expose())),
            )
            .await?;
        if !(200..300).contains(&answer.status) {
            return Err(answer.unexpected());
        }
        answer.into_json()
    }

    /// An authorization-code request with PKCE `S256`, a fresh `state` and `nonce`: open
    /// [`AuthorizationRequest::url`] in the user's browser, then exchange the code with
    /// [`Grant::AuthorizationCode`] and the request's `code_verifier`.
    ///
    /// ```
    /// let gatehouse = gatehouse_client::Client::builder("http://127.0.0.1:8080").build().unwrap();
    /// let request = gatehouse.authorization_request(
    ///     "demo-client",
    ///     "http://127.0.0.1:8765/callback",
    ///     "openid profile",
    /// );
    /// assert!(request.url.starts_with("http://127.0.0.1:8080/oauth2/authorize?response_type=code&client_id=demo-client"));
    /// assert!(request.url.contains("&code_challenge_method=S256"));
    /// assert_eq!(request.code_verifier.expose().len(), 43);
    /// ```
    pub fn authorization_request(
        &self,
        client_id: &str,
        redirect_uri: &str,
        scope: &str,
    ) -> AuthorizationRequest {
        let state = random_token();
        let nonce = random_token();
        let code_verifier = random_token();
        let challenge = URL_SAFE_NO_PAD.encode(ring::digest::digest(
            &ring::digest::SHA256,
            code_verifier.expose().as_bytes(),
        ));
        let query = form(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("scope", scope),
            ("state", state.expose()),
            ("nonce", nonce.expose()),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]);
        AuthorizationRequest {
            url: format!(
                "{}/oauth2/authorize?{}",
                self.base,
                String::from_utf8_lossy(&query)
            ),
            state,
            code_verifier,
            nonce,
        }
    }
}
