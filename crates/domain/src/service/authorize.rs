//! The authorization endpoint's rules (RFC 6749 section 4.1, RFC 7636, RFC 9700 section 2.1):
//! checking an authorization request, issuing the code bound to client, redirect URI, PKCE
//! challenge, scope, user and browser session, and what the exchange checks ([`CodeBinding`]).
//!
//! Order of the checks, as RFC 6749 section 4.1.2.1 asks: first what decides whether the
//! redirect URI can be trusted (the client exists, may use the code flow, and the
//! `redirect_uri` is one it registered, compared as exact strings): failures there are shown
//! to the user ([`AuthorizeError::Page`]) and never redirected. Everything after that is sent
//! back to the redirect URI ([`AuthorizeError::Redirect`]) with `state`.
//!
//! Longer than 500 lines because of its tests (the rules are about 450 lines).

use std::fmt;

use crate::browser_session::BrowserSessionInfo;
use crate::error::{Error, GrantRejection};
use crate::model::{AuthorizationCode, Client, GrantType};
use crate::pkce;
use crate::secret::generate_token;
use crate::service::{later, narrow_scope, CodeCaps, Gatehouse, IssuedCode};
use crate::store::Store;

type Result<T> = std::result::Result<T, Error>;

/// Longest `state` accepted (it travels through the login form and back; never stored).
pub const MAX_STATE_BYTES: usize = 1024;

/// Longest OpenID `nonce` accepted: it is stored with the code (a 2 KiB nonce made each code
/// row 4 KiB; issue 19). 255 bytes hold any random value a client needs (OpenID Connect Core
/// section 15.5.2 suggests a hash or 128 random bits).
pub const MAX_NONCE_BYTES: usize = 255;

/// Longest registered or requested redirect URI.
pub const MAX_REDIRECT_URI_BYTES: usize = 2048;

/// The query parameters of an authorization request, as received (each at most once).
/// Serialized (the request parameters only) when a pushed request is stored.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct AuthorizationParams {
    /// `response_type` (only `code`).
    pub response_type: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `redirect_uri` (required here; see [`Gatehouse::check_authorization`]).
    pub redirect_uri: Option<String>,
    /// `scope`, space-separated.
    pub scope: Option<String>,
    /// `state`, echoed.
    pub state: Option<String>,
    /// `code_challenge`.
    pub code_challenge: Option<String>,
    /// `code_challenge_method` (only `S256`).
    pub code_challenge_method: Option<String>,
    /// `prompt` (OpenID Connect): `login`, `none` or `consent`.
    pub prompt: Option<String>,
    /// `response_mode` (OAuth 2.0 Multiple Response Types): only `query`.
    pub response_mode: Option<String>,
    /// `nonce` (OpenID Connect), bound to the code and echoed in the id_token.
    pub nonce: Option<String>,
    /// `dpop_jkt` (RFC 9449 section 10): the DPoP key the code is bound to.
    #[serde(default)]
    pub dpop_jkt: Option<String>,
    /// The name of a parameter that appeared more than once (RFC 6749 section 3.1), if any.
    #[serde(skip)]
    pub repeated: Option<String>,
    /// `request_uri` (RFC 9126): the pushed request these parameters came from.
    #[serde(skip)]
    pub request_uri: Option<String>,
    /// Whether these parameters were pushed (at `/oauth2/par`, or read back by their
    /// `request_uri`): a client that must push its requests needs it.
    #[serde(skip)]
    pub pushed: bool,
}

impl fmt::Debug for AuthorizationParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationParams")
            .field("response_type", &self.response_type)
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("scope", &self.scope)
            .field("has_state", &self.state.is_some())
            .field("has_code_challenge", &self.code_challenge.is_some())
            .field("prompt", &self.prompt)
            .field("pushed", &self.pushed)
            .finish_non_exhaustive()
    }
}

/// `prompt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Prompt {
    /// Absent: use the browser session when there is one.
    #[default]
    Default,
    /// `login`: ask for the password even with a session.
    Login,
    /// `none`: never show a page; `login_required` / `consent_required` instead.
    None,
    /// `consent`: show the consent page even to a first-party client.
    Consent,
}

impl Prompt {
    /// The wire value (`None` for [`Prompt::Default`]).
    pub fn as_str(self) -> Option<&'static str> {
        match self {
            Prompt::Default => None,
            Prompt::Login => Some("login"),
            Prompt::None => Some("none"),
            Prompt::Consent => Some("consent"),
        }
    }
}

/// An authorization request that passed every check.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    /// The client.
    pub client_id: String,
    /// What the pages call the client: its `client_name`, else its id.
    pub client_name: String,
    /// The exact registered redirect URI it asked for.
    pub redirect_uri: String,
    /// The scope to grant (the client's whole scope when none was asked for).
    pub scope: String,
    /// `state`, to echo.
    pub state: Option<String>,
    /// The PKCE `S256` challenge.
    pub code_challenge: Option<String>,
    /// `prompt`.
    pub prompt: Prompt,
    /// Whether the user must consent before a code is issued.
    pub consent_required: bool,
    /// OpenID `nonce`.
    pub nonce: Option<String>,
    /// RFC 9449 `dpop_jkt`: only a token request with a proof by this key redeems the code.
    pub dpop_jkt: Option<String>,
    /// The `request_uri` of the pushed request it came from (RFC 9126): the login and consent
    /// forms carry only it, and issuing the code consumes it.
    pub request_uri: Option<String>,
}

impl fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("scope", &self.scope)
            .field("prompt", &self.prompt)
            .field("consent_required", &self.consent_required)
            .finish_non_exhaustive()
    }
}

/// The error of an authorization request refused at the client's redirect URI: the codes of
/// RFC 6749 section 4.1.2.1 and OpenID Connect Core section 3.1.2.6 Gatehouse sends. The wire
/// text is the binary's (one mapping, at the edge), as for [`GrantRejection`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectError {
    /// `invalid_request`: a parameter is missing, repeated, too long or unsupported.
    InvalidRequest,
    /// `unauthorized_client`: the client may not use the code flow.
    UnauthorizedClient,
    /// `unsupported_response_type`: a `response_type` other than `code`.
    UnsupportedResponseType,
    /// `invalid_scope`: the scope exceeds the client's, or `openid` without signing keys.
    InvalidScope,
    /// `login_required` (OpenID): `prompt=none` and nobody is signed in.
    LoginRequired,
    /// `consent_required` (OpenID): `prompt=none` and the client needs the user's consent.
    ConsentRequired,
    /// `access_denied`: the user denied the request.
    AccessDenied,
}

/// Why an authorization request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// The client or redirect URI cannot be trusted: show the reason to the user, do not
    /// redirect.
    Page(String),
    /// Send `error` back to the redirect URI.
    Redirect {
        /// The validated redirect URI.
        redirect_uri: String,
        /// Which refusal (the binary writes its RFC 6749 section 4.1.2.1 code).
        error: RedirectError,
        /// `error_description`.
        description: String,
        /// `state`, echoed.
        state: Option<String>,
    },
    /// The store failed.
    Internal(String),
}

impl AuthorizeError {
    /// An error for the validated request's redirect URI.
    pub fn redirect(
        request: &AuthorizationRequest,
        error: RedirectError,
        description: impl Into<String>,
    ) -> Self {
        AuthorizeError::Redirect {
            redirect_uri: request.redirect_uri.clone(),
            error,
            description: description.into(),
            state: request.state.clone(),
        }
    }
}

/// Whether `uri` may be registered as a redirect URI: absolute `https`, or `http` on a
/// loopback host (RFC 8252 section 7.3), or a private-use scheme (`com.example.app:/cb`,
/// section 7.1); no fragment (RFC 6749 section 3.1.2); no whitespace.
pub fn valid_redirect_uri(uri: &str) -> bool {
    if uri.is_empty()
        || uri.len() > MAX_REDIRECT_URI_BYTES
        || uri.contains('#')
        || uri
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return false;
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        return false;
    };
    if scheme.is_empty()
        || !scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return false;
    }
    let scheme = scheme.to_ascii_lowercase();
    match scheme.as_str() {
        "https" => rest.starts_with("//") && rest.len() > 2,
        "http" => {
            let Some(authority) = rest.strip_prefix("//") else {
                return false;
            };
            let host_port = authority.split(['/', '?']).next().unwrap_or_default();
            let host = match host_port.strip_prefix('[') {
                Some(v6) => v6.split(']').next().map(|h| format!("[{h}]")),
                None => host_port.split(':').next().map(str::to_owned),
            };
            matches!(host.as_deref(), Some("127.0.0.1" | "[::1]" | "localhost"))
        }
        // Schemes a browser runs rather than navigates to.
        "javascript" | "data" | "vbscript" | "file" | "about" | "blob" => false,
        _ => scheme.contains('.'),
    }
}

fn parse_prompt(value: Option<&str>) -> std::result::Result<Prompt, &'static str> {
    let Some(value) = value else {
        return Ok(Prompt::Default);
    };
    let values: Vec<&str> = value.split_ascii_whitespace().collect();
    match values.as_slice() {
        [] => Ok(Prompt::Default),
        ["login"] => Ok(Prompt::Login),
        ["none"] => Ok(Prompt::None),
        ["consent"] => Ok(Prompt::Consent),
        v if v.contains(&"none") => Err("prompt=none cannot be combined with other values"),
        _ => Err("prompt must be one of login, none, consent"),
    }
}

impl<S: Store> Gatehouse<S> {
    /// Checks an authorization request. `redirect_uri` is required (RFC 6749 lets a client
    /// with one registered URI omit it; Gatehouse does not, so the exchange can always
    /// compare it) and must equal a registered one byte for byte.
    ///
    /// # Errors
    /// [`AuthorizeError`]: a page for a missing, unknown or unsuitable client and a missing,
    /// unregistered or repeated redirect URI; a redirect for the rest.
    pub fn check_authorization(
        &self,
        params: &AuthorizationParams,
    ) -> std::result::Result<AuthorizationRequest, AuthorizeError> {
        let page = |m: &str| Err(AuthorizeError::Page(m.to_owned()));
        if matches!(
            params.repeated.as_deref(),
            Some("client_id" | "redirect_uri")
        ) {
            return page("The request names its client or its redirect URI more than once.");
        }
        let Some(client_id) = params.client_id.as_deref().filter(|c| !c.is_empty()) else {
            return page("The request does not name a client (client_id is missing).");
        };
        if client_id.len() > self.config().max_name_bytes {
            return page("The client is not known.");
        }
        let (client, par_required): (Option<Client>, bool) = self
            .store()
            .read(|tx| Ok((tx.client(client_id)?, self.par_required(tx, client_id)?)))
            .map_err(|e| AuthorizeError::Internal(e.to_string()))?;
        let Some(client) = client else {
            return page("The client is not known.");
        };
        let Some(redirect_uri) = params.redirect_uri.as_deref().filter(|r| !r.is_empty()) else {
            return page("The request has no redirect_uri; it is required.");
        };
        if !client.redirect_uris.iter().any(|r| r == redirect_uri) {
            return page("The redirect_uri is not registered for this client.");
        }
        let state = params.state.clone().filter(|s| !s.is_empty());
        let fail = |error: RedirectError, description: &str| {
            Err(AuthorizeError::Redirect {
                redirect_uri: redirect_uri.to_owned(),
                error,
                description: description.to_owned(),
                state: state.clone(),
            })
        };
        if state.as_ref().is_some_and(|s| s.len() > MAX_STATE_BYTES) {
            return fail(
                RedirectError::InvalidRequest,
                &format!("state is too long (at most {MAX_STATE_BYTES} bytes)"),
            );
        }
        if params.repeated.is_some() {
            return fail(
                RedirectError::InvalidRequest,
                "a parameter appears more than once in the request",
            );
        }
        if par_required && !params.pushed {
            return fail(
                RedirectError::InvalidRequest,
                "this client must push its authorization requests first (PAR, /oauth2/par)",
            );
        }
        if !client.grants.contains(GrantType::AuthorizationCode) {
            return fail(
                RedirectError::UnauthorizedClient,
                "the client may not use the authorization code flow",
            );
        }
        match params.response_type.as_deref() {
            None | Some("") => {
                return fail(RedirectError::InvalidRequest, "response_type is required")
            }
            Some("code") => {}
            Some(_) => {
                return fail(
                    RedirectError::UnsupportedResponseType,
                    "only response_type=code is supported",
                )
            }
        }
        let challenge = match pkce::check_request(
            params.code_challenge.as_deref().filter(|c| !c.is_empty()),
            params
                .code_challenge_method
                .as_deref()
                .filter(|c| !c.is_empty()),
        ) {
            Ok(challenge) => challenge,
            Err(e) => return fail(RedirectError::InvalidRequest, e.describe()),
        };
        if challenge.is_none() && !client.is_confidential() {
            return fail(
                RedirectError::InvalidRequest,
                "a public client must send a PKCE code_challenge (S256)",
            );
        }
        if !matches!(params.response_mode.as_deref(), None | Some("" | "query")) {
            return fail(
                RedirectError::InvalidRequest,
                "only response_mode=query is supported",
            );
        }
        let prompt = match parse_prompt(params.prompt.as_deref()) {
            Ok(p) => p,
            Err(e) => return fail(RedirectError::InvalidRequest, e),
        };
        let nonce = params.nonce.clone().filter(|n| !n.is_empty());
        if nonce.as_ref().is_some_and(|n| n.len() > MAX_NONCE_BYTES) {
            return fail(
                RedirectError::InvalidRequest,
                &format!("nonce is too long (at most {MAX_NONCE_BYTES} bytes)"),
            );
        }
        let dpop_jkt = params.dpop_jkt.clone().filter(|j| !j.is_empty());
        if dpop_jkt.as_deref().is_some_and(|j| !is_thumbprint(j)) {
            return fail(
                RedirectError::InvalidRequest,
                "dpop_jkt must be a base64url SHA-256 JWK thumbprint (43 characters)",
            );
        }
        let Ok(scope) = narrow_scope(&client.scope, params.scope.as_deref()) else {
            return fail(
                RedirectError::InvalidScope,
                "the requested scope exceeds what the client may be granted",
            );
        };
        // Without signing keys no id_token can be issued: an OpenID request is refused rather
        // than answered with a code whose exchange silently lacks the id_token.
        if crate::oidc::has_scope(&scope, "openid") && self.key_ring().is_none() {
            return fail(
                RedirectError::InvalidScope,
                "openid is not available: this server has no signing key and issues no id_tokens",
            );
        }
        Ok(AuthorizationRequest {
            client_name: client
                .client_name
                .clone()
                .unwrap_or_else(|| client.client_id.clone()),
            client_id: client.client_id,
            redirect_uri: redirect_uri.to_owned(),
            scope,
            state,
            code_challenge: challenge,
            consent_required: client.consent_required || prompt == Prompt::Consent,
            prompt,
            nonce,
            dpop_jkt,
            request_uri: params.request_uri.clone().filter(|_| params.pushed),
        })
    }

    /// Issues the code of a checked authorization request for the user of a live browser
    /// session, within the caps of [`crate::service::CodeCaps`].
    ///
    /// # Errors
    /// `RateLimited` (too many codes: answer 429 with `Retry-After`), `InvalidGrant`
    /// ([`GrantRejection::BrowserSessionEnded`]: a logout ended the session meanwhile),
    /// `Storage`.
    pub fn issue_authorization_code(
        &self,
        request: &AuthorizationRequest,
        session: &BrowserSessionInfo,
    ) -> Result<IssuedCode> {
        let now = self.now();
        let life = self.config().auth_code_lifetime;
        let (code, digest) = generate_token(self.rng());
        let record = AuthorizationCode {
            digest,
            client_id: request.client_id.clone(),
            user_id: session.user.id,
            issued_at: now,
            expires_at: later(now, life),
            consumed_at: None,
            session_id: None,
            redirect_uri: Some(request.redirect_uri.clone()),
            code_challenge: request.code_challenge.clone(),
            scope: Some(request.scope.clone()),
            auth_time: Some(session.authenticated_at),
            browser_session_id: Some(session.id),
            nonce: request.nonce.clone(),
        };
        let pushed = request
            .request_uri
            .as_deref()
            .map(|uri| crate::par::request_uri_digest(uri).ok_or_else(pushed_used))
            .transpose()?;
        let client_id = request.client_id.clone();
        let dpop_jkt = request.dpop_jkt.clone();
        let caps = CodeCaps::of(self.config());
        self.store()
            .write(move |tx| {
                // RFC 9126: single use; the code and the consumption commit together.
                if let Some(digest) = &pushed {
                    if !tx.consume_pushed_request(digest, &client_id, now)? {
                        return Err(pushed_used());
                    }
                }
                let admitted = caps.admit(tx, &record, now)?;
                if let (Ok(_), Some(jkt)) = (&admitted, &dpop_jkt) {
                    tx.insert_code_dpop(&record.digest, jkt, record.expires_at)?;
                }
                Ok(admitted)
            })
            .and_then(|r| r)?;
        self.audit_code_issued("authorization_code", &request.client_id, session.user.id);
        Ok(IssuedCode {
            code,
            expires_in: life,
            expires_at: later(now, life),
        })
    }
}

/// Whether `text` has the form of a SHA-256 JWK thumbprint: 32 bytes, base64url unpadded.
fn is_thumbprint(text: &str) -> bool {
    use base64::Engine as _;
    text.len() == 43
        && base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .is_ok_and(|b| b.len() == 32)
}

/// A pushed request gone between the check and the code (used by another browser, expired).
fn pushed_used() -> Error {
    Error::InvalidRequest(
        "The request_uri is not valid: unknown, expired, already used, or not this client's."
            .into(),
    )
}

/// What a token request says about the code beyond the code itself: the redirect URI and the
/// PKCE verifier. Checked against the code's record inside the exchange's transaction.
#[derive(Clone, Default)]
pub struct CodeBinding {
    /// `redirect_uri` of the token request.
    pub redirect_uri: Option<String>,
    /// `code_verifier` of the token request.
    pub code_verifier: Option<String>,
}

impl fmt::Debug for CodeBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeBinding")
            .field("redirect_uri", &self.redirect_uri)
            .field("has_code_verifier", &self.code_verifier.is_some())
            .finish()
    }
}

impl CodeBinding {
    /// The exchange's checks beyond client, expiry and single use:
    /// - a code bound to a redirect URI needs the identical `redirect_uri` (RFC 6749 4.1.3);
    /// - a code bound to a PKCE challenge needs the verifier that hashes to it (RFC 7636
    ///   4.6), compared in constant time;
    /// - a verifier for a code issued without a challenge is refused (RFC 9700 2.1.1: PKCE
    ///   downgrade);
    /// - a public client always needs PKCE.
    ///
    /// # Errors
    /// `InvalidGrant`.
    pub fn check(&self, record: &AuthorizationCode, client: &Client) -> Result<()> {
        let verifier = self.code_verifier.as_deref().filter(|v| !v.is_empty());
        if let Some(bound) = &record.redirect_uri {
            match self.redirect_uri.as_deref() {
                Some(given) if given == bound => {}
                Some(_) => return Err(Error::InvalidGrant(GrantRejection::RedirectUriMismatch)),
                None => return Err(Error::InvalidGrant(GrantRejection::RedirectUriMissing)),
            }
        }
        match (&record.code_challenge, verifier) {
            (Some(challenge), Some(verifier)) => {
                if !pkce::verify(verifier, challenge) {
                    return Err(Error::InvalidGrant(GrantRejection::VerifierMismatch));
                }
            }
            (Some(_), None) => return Err(Error::InvalidGrant(GrantRejection::VerifierMissing)),
            (None, Some(_)) => {
                return Err(Error::InvalidGrant(
                    GrantRejection::VerifierWithoutChallenge,
                ))
            }
            (None, None) => {
                if !client.is_confidential() {
                    return Err(Error::InvalidGrant(GrantRejection::PkceRequired));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris() {
        for ok in [
            "https://app.example/callback",
            "https://app.example/cb?x=1",
            "http://127.0.0.1:8765/cb",
            "http://localhost/cb",
            "http://[::1]:9/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert!(valid_redirect_uri(ok), "{ok}");
        }
        for bad in [
            "",
            "/relative",
            "https://app.example/cb#frag",
            "http://app.example/cb",
            "http://127.0.0.1.evil.example/cb",
            "javascript:alert(1)",
            "data:text/html,x",
            "https://app.example/a b",
            "noscheme",
            "https:",
            "myapp:/cb",
        ] {
            assert!(!valid_redirect_uri(bad), "{bad}");
        }
    }

    fn record(redirect: Option<&str>, challenge: Option<&str>) -> AuthorizationCode {
        let t = time::macros::datetime!(2026-01-01 00:00 UTC);
        AuthorizationCode {
            digest: crate::secret::TokenDigest::of("c"),
            client_id: "c".into(),
            user_id: uuid::Uuid::from_u128(1),
            issued_at: t,
            expires_at: t,
            consumed_at: None,
            session_id: None,
            redirect_uri: redirect.map(str::to_owned),
            code_challenge: challenge.map(str::to_owned),
            scope: None,
            auth_time: None,
            browser_session_id: None,
            nonce: None,
        }
    }

    fn client(confidential: bool) -> Client {
        Client {
            client_id: "c".into(),
            secret_hash: confidential.then(|| {
                crate::secret::hash_client_secret(
                    &crate::secret::Secret::new("s"),
                    &crate::rng::SeededRng::new(1),
                )
            }),
            grants: crate::model::GrantSet::all(),
            scope: String::new(),
            access_token_lifetime: None,
            refresh_token_lifetime: None,
            redirect_url: None,
            broker_id: None,
            redirect_uris: Vec::new(),
            consent_required: false,
            client_name: None,
            introspect_any: false,
            access_token_format: Default::default(),
            signing: Default::default(),
            jwks: None,
        }
    }

    #[test]
    fn exchange_bindings() {
        let v = "a".repeat(43);
        let ch = pkce::s256(&v);
        let bind = |r: Option<&str>, v: Option<&str>| CodeBinding {
            redirect_uri: r.map(str::to_owned),
            code_verifier: v.map(str::to_owned),
        };
        let cb = Some("https://a.example/cb");
        let ok = |b: CodeBinding, rec: &AuthorizationCode, c: &Client| b.check(rec, c).is_ok();
        let bound = record(cb, Some(&ch));
        let (conf, public) = (client(true), client(false));
        assert!(ok(bind(cb, Some(&v)), &bound, &public));
        assert!(!ok(bind(None, Some(&v)), &bound, &public));
        assert!(!ok(
            bind(Some("https://a.example/cb/"), Some(&v)),
            &bound,
            &public
        ));
        assert!(!ok(bind(cb, None), &bound, &conf));
        assert!(!ok(bind(cb, Some(&"b".repeat(43))), &bound, &conf));
        // Downgrade: a verifier for a code without a challenge.
        let unbound = record(cb, None);
        assert!(!ok(bind(cb, Some(&v)), &unbound, &conf));
        assert!(ok(bind(cb, None), &unbound, &conf));
        assert!(!ok(bind(cb, None), &unbound, &public));
        // otc codes: no redirect URI bound, none needed.
        assert!(ok(bind(None, None), &record(None, None), &conf));
    }

    #[test]
    fn prompts() {
        assert_eq!(parse_prompt(None), Ok(Prompt::Default));
        assert_eq!(parse_prompt(Some("login")), Ok(Prompt::Login));
        assert_eq!(parse_prompt(Some("none")), Ok(Prompt::None));
        assert!(parse_prompt(Some("none login")).is_err());
        assert!(parse_prompt(Some("select_account")).is_err());
    }
}
