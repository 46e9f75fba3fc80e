//! The endpoint table: one entry per endpoint; adding an endpoint to the help pages and the
//! OpenAPI document is adding one entry to [`ENDPOINTS`].

pub use gatehouse_models::routes::{Endpoint as Route, Family, Method};

use crate::docs::{self, ModelDoc, ModelKind, TypeName};
use crate::samples::{self as s, Media, Sample};

/// A group of endpoints on the index page (the legacy pages grouped by controller).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group {
    /// Anchor and OpenAPI tag: `OneTime`.
    pub id: &'static str,
    /// One line about the group.
    pub about: &'static str,
}

/// The groups, in index order.
pub const GROUPS: &[Group] = &[
    Group {
        id: "OneTime",
        about: "Broker single sign-on (App.Auth): a logged-in user or a client asks for a one-time code; another client redeems it for a token.",
    },
    Group {
        id: "Login",
        about: "Operator back office (SaG.OTC): an authorization code for operator credentials, exchanged for an access token.",
    },
    Group {
        id: "Token",
        about: "AuExpress members (AuEAuth_WebAPI): a member id and password for a token with its lifetime.",
    },
    Group {
        id: "Auth",
        about: "API v1 (IO.Swagger, Keycloak-style): password, refresh token, client credentials and authorization code grants.",
    },
    Group {
        id: "OAuth",
        about: "The OWIN/Katana token endpoint (Yindo): a user name and password for a bearer token.",
    },
    Group {
        id: "OAuth2",
        about: "The standards surface, for every dialect's tokens: the authorization code flow with PKCE (RFC 6749, RFC 7636) with its login and consent pages, the RFC 6749 token endpoint, RFC 7662 introspection, RFC 7009 revocation, RFC 9126 pushed requests, RFC 8414 metadata, and OpenID Connect (JWK Set, userinfo, discovery, RP-initiated logout).",
    },
    Group {
        id: "Operations",
        about: "For load balancers and monitoring.",
    },
];

/// How a caller authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Anyone.
    None,
    /// A user's bearer token, or a client in HTTP Basic (one of them is required).
    BearerOrClient,
    /// A user's bearer token (required).
    Bearer,
    /// A client: HTTP Basic, or `client_id`/`client_secret` in the body (required).
    Client,
    /// A client in HTTP Basic or the body when the grant needs one; optional otherwise.
    ClientOptional,
    /// The client's id and secret are members of the body (required).
    ClientInBody,
}

impl Auth {
    /// What the page says.
    pub fn describe(self) -> &'static str {
        match self {
            Auth::None => "None.",
            Auth::BearerOrClient => "Required: a user's access token (`Authorization: Bearer …`, the code is issued for that user), or a client in HTTP Basic (`Authorization: Basic base64(client_id:client_secret)`, the body's `userName` names the user).",
            Auth::Bearer => "Required: a user's access token with the `openid` scope (`Authorization: Bearer …`, RFC 6750 section 2.1).",
            Auth::Client => "Required: the client, in HTTP Basic (`Authorization: Basic base64(client_id:client_secret)`) or as `client_id` and `client_secret` in the body.",
            Auth::ClientOptional => "The client, in HTTP Basic or as `client_id` and `client_secret` in the body; required for the refresh token, client credentials and authorization code grants, optional for the password grant.",
            Auth::ClientInBody => "Required: the client's id and secret as members of the body.",
        }
    }
}

/// How an endpoint words its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorStyle {
    /// Web API's `HttpError`, in the negotiated media type; `required` names the member of the
    /// model-state sample.
    WebApi {
        /// A required member (`ClientId`).
        required: &'static str,
        /// The dialect's JSON camel-cased `HttpError` too (onetime).
        camel: bool,
    },
    /// The otc Header/Body envelope (`token`: the token exchange's).
    Otc {
        /// `/admin/login/token`.
        token: bool,
    },
    /// RFC 6749 section 5.2 JSON (`katana`: every client error is a 400).
    OAuth {
        /// Katana's `/token`.
        katana: bool,
    },
    /// No error body.
    None,
}

impl ErrorStyle {
    /// The statuses an endpoint of this style answers with, and when.
    pub fn statuses(self) -> &'static [(u16, &'static str)] {
        const WEB_API: &[(u16, &str)] = &[
            (400, "The body is malformed or a required member is missing (with `ModelState`), or a code or grant is invalid."),
            (401, "No caller, a bad token, client or password (`WWW-Authenticate` tells which scheme)."),
            (403, "The user is disabled or not allowed here."),
            (408, "The body did not arrive in time."),
            (413, "The body is larger than the configured limit."),
            (415, "The Content-Type is not JSON, XML or a form."),
            (429, "Too many failed attempts: wait the `Retry-After` seconds."),
            (500, "A server failure; the message carries an error id that is in the server log."),
            (503, "The server is busy hashing passwords: retry after `Retry-After`."),
        ];
        const OAUTH: &[(u16, &str)] = &[
            (400, "`invalid_request`, `invalid_grant`, `unauthorized_client`, `unsupported_grant_type`, `invalid_scope`."),
            (401, "`invalid_client`: client authentication failed (`WWW-Authenticate: Basic` when Basic was used)."),
            (408, "The body did not arrive in time."),
            (413, "The body is larger than the configured limit."),
            (415, "The Content-Type is not one the endpoint reads."),
            (429, "Too many failed attempts: wait the `Retry-After` seconds."),
            (500, "`server_error`."),
            (503, "`temporarily_unavailable`: retry after `Retry-After`."),
        ];
        const KATANA: &[(u16, &str)] = &[
            (400, "Every OAuth failure, as Katana answered: `invalid_request`, `invalid_client`, `invalid_grant`, `unsupported_grant_type`."),
            (408, "The body did not arrive in time."),
            (413, "The body is larger than the configured limit."),
            (429, "Too many failed attempts: wait the `Retry-After` seconds."),
            (500, "`server_error`."),
            (503, "`temporarily_unavailable`: retry after `Retry-After`."),
        ];
        match self {
            ErrorStyle::WebApi { .. } | ErrorStyle::Otc { .. } => WEB_API,
            ErrorStyle::OAuth { katana: false } => OAUTH,
            ErrorStyle::OAuth { katana: true } => KATANA,
            ErrorStyle::None => &[],
        }
    }

    /// The error model (module, name).
    pub fn model(self) -> Option<(&'static str, &'static str)> {
        match self {
            ErrorStyle::WebApi { .. } => Some(("http_error", "HttpError")),
            ErrorStyle::Otc { token: false } => Some(("otc", "AuthCodeResponse")),
            ErrorStyle::Otc { token: true } => Some(("otc", "TokenResponse")),
            ErrorStyle::OAuth { .. } => Some(("oauth", "ErrorResponse")),
            ErrorStyle::None => None,
        }
    }

    /// Sample error bodies: (what it shows, sample).
    pub fn samples(self) -> Vec<(&'static str, Sample)> {
        match self {
            ErrorStyle::WebApi { required, camel } => s::web_api_errors(required)
                .into_iter()
                .flat_map(|(label, e)| s::http_error(&e, camel).map(|x| (label, x)))
                .collect(),
            ErrorStyle::Otc { token } => {
                let label = if token {
                    "400: a bad authorization code"
                } else {
                    "401: wrong user name or password"
                };
                s::otc_error_samples(token)
                    .into_iter()
                    .map(|x| (label, x))
                    .collect()
            }
            ErrorStyle::OAuth { katana } => {
                let label = if katana {
                    "400: wrong user name or password"
                } else {
                    "401: client authentication failed"
                };
                vec![(label, s::rfc_json(&s::oauth_error(katana)))]
            }
            ErrorStyle::None => Vec::new(),
        }
    }
}

/// A query or body parameter that is not a model member (the RFC endpoints' parameters).
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Its name.
    pub name: &'static str,
    /// What it is.
    pub description: &'static str,
    /// Whether it must be present.
    pub required: bool,
    /// A value for the samples (empty: left out of them).
    pub example: &'static str,
}

/// A request or response body that is a model.
#[derive(Debug, Clone, Copy)]
pub struct BodyDoc {
    /// The model's module in `gatehouse-models`.
    pub module: &'static str,
    /// The model's type name.
    pub model: &'static str,
    /// A sentence above the table (may be empty).
    pub description: &'static str,
    /// The samples, in the page's order.
    pub samples: fn() -> Vec<Sample>,
}

impl BodyDoc {
    /// The model's doc.
    pub fn doc(&self) -> &'static ModelDoc {
        docs::model(self.module, self.model)
            .unwrap_or_else(|| panic!("no model {}::{}", self.module, self.model))
    }
}

/// What a successful call answers.
#[derive(Debug, Clone, Copy)]
pub enum ResponseDoc {
    /// A model in the listed media types (200).
    Model(BodyDoc),
    /// A model in the listed media types, with 201 Created.
    Created(BodyDoc),
    /// A body that is not a model: its status, media type, a description, and its OpenAPI
    /// schema.
    Other {
        /// The status of a success (200; 201 for a pushed request).
        status: u16,
        /// Media type of the body (`text/plain`), or empty for no body.
        media: &'static str,
        /// What it is.
        description: &'static str,
        /// JSON Schema of the body, when JSON (inline, as JSON text).
        schema: &'static str,
    },
}

/// One endpoint: a method of a route of the route table.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// The route (its path is as the legacy pages wrote it, `/api/Token`; routing ignores
    /// case).
    pub route: Route,
    /// The method this page documents (a route with two has two pages).
    pub method: Method,
    /// The index group ([`Group::id`]).
    pub group: &'static str,
    /// One line for the index.
    pub summary: &'static str,
    /// More about it (paragraphs separated by blank lines).
    pub description: &'static str,
    /// Who may call it.
    pub auth: Auth,
    /// Query parameters.
    pub uri_params: &'static [Param],
    /// Body parameters of a body that is not a model (form or JSON), e.g. RFC 6749's.
    pub body_params: &'static [Param],
    /// The body, if any.
    pub request: Option<BodyDoc>,
    /// The answer.
    pub response: ResponseDoc,
    /// How errors look.
    pub errors: ErrorStyle,
}

impl Endpoint {
    /// The samples of the request body: the model's, or built from [`Endpoint::body_params`].
    pub fn request_samples(&self) -> Vec<Sample> {
        match &self.request {
            Some(b) => (b.samples)(),
            None if !self.body_params.is_empty() => s::params(self.body_params),
            None => Vec::new(),
        }
    }

    /// The path as the legacy pages wrote it (`/api/Token`).
    pub fn path(&self) -> &'static str {
        self.route.path()
    }

    /// `POST`, `GET`.
    pub fn method_name(&self) -> &'static str {
        self.method.as_str()
    }

    /// The legacy page id: `POST-api-Token` (`/Help/Api/POST-api-Token`).
    pub fn id(&self) -> String {
        format!(
            "{}-{}",
            self.method_name(),
            self.path().trim_start_matches('/').replace('/', "-")
        )
    }

    /// The legacy display form: `POST api/Token`.
    pub fn title(&self) -> String {
        format!(
            "{} {}",
            self.method_name(),
            self.path().trim_start_matches('/')
        )
    }

    /// The endpoint with this page id (case-insensitive: the server lower-cases paths).
    pub fn find(id: &str) -> Option<&'static Endpoint> {
        ENDPOINTS.iter().find(|e| e.id().eq_ignore_ascii_case(id))
    }
}

fn seed000_request() -> Vec<Sample> {
    let v = s::onetime_token_request();
    vec![s::json(&v), s::xml(&v), s::none(Media::Form)]
}
fn seed000_response() -> Vec<Sample> {
    let v = s::onetime_token_response();
    vec![s::json(&v), s::xml(&v)]
}
fn onetime_authorize_request() -> Vec<Sample> {
    let v = s::onetime_authorize_request();
    vec![s::json(&v), s::xml(&v), s::form(&v)]
}
fn onetime_authorize_response() -> Vec<Sample> {
    let v = s::onetime_authorize_response();
    vec![s::json(&v), s::xml(&v)]
}
fn seed001_request() -> Vec<Sample> {
    let v = s::otc_auth_code_request();
    vec![s::json(&v), s::xml(&v), s::form(&s::otc_auth_code_form())]
}
fn seed001_response() -> Vec<Sample> {
    let v = s::otc_auth_code_response();
    vec![s::json(&v), s::xml(&v)]
}
fn otc_token_request() -> Vec<Sample> {
    let v = s::otc_token_request();
    vec![s::json(&v), s::xml(&v), s::form(&v)]
}
fn otc_token_response() -> Vec<Sample> {
    let v = s::otc_token_response();
    vec![s::json(&v), s::xml(&v)]
}
fn seed002_request() -> Vec<Sample> {
    vec![
        s::json(&s::member_request()),
        s::xml(&s::member_request_xml()),
        s::none(Media::Form),
    ]
}
fn seed002_response() -> Vec<Sample> {
    let v = s::member_response();
    vec![s::json(&v), s::xml(&v)]
}
fn seed003_request() -> Vec<Sample> {
    let v = s::v1_request();
    vec![s::json(&v), s::xml(&v), s::none(Media::Form)]
}
fn seed003_response() -> Vec<Sample> {
    let v = s::v1_response();
    vec![s::json(&v), s::xml(&v)]
}
fn seed004_request() -> Vec<Sample> {
    let v = s::katana_request();
    vec![
        s::json(&v),
        s::javascript(&v),
        s::xml(&v),
        s::form(&s::katana_form()),
    ]
}
fn seed004_response() -> Vec<Sample> {
    let v = s::katana_response();
    // The seed lists text/javascript among the response formats too: Katana's `/token`
    // answers it (the negotiated JSON, `Content-Type: text/javascript`).
    vec![s::json(&v), s::javascript(&v), s::xml(&v)]
}
fn introspection_request() -> Vec<Sample> {
    let v = s::introspection_request();
    vec![s::form(&v), s::rfc_json(&v)]
}
fn introspection_response() -> Vec<Sample> {
    vec![s::rfc_json(&s::introspection_response())]
}
fn revocation_request() -> Vec<Sample> {
    let v = s::revocation_request();
    vec![s::form(&v), s::rfc_json(&v)]
}

/// The JSON Schema of a JWK Set (RFC 7517 section 5).
const JWKS_SCHEMA: &str = r#"{"type":"object","properties":{"keys":{"type":"array","items":{"type":"object","properties":{"kty":{"type":"string","description":"`RSA`, `EC` or `OKP`."},"kid":{"type":"string","description":"The key id an id_token's header names."},"use":{"type":"string","description":"`sig`."},"alg":{"type":"string","description":"`RS256`, `ES256` or `EdDSA`."}},"required":["kty","kid"]},"description":"Every published key: pending, signing, superseded, and retired ones within their window."}},"required":["keys"]}"#;

const PAR_PARAMS: &[Param] = &[
    Param {
        name: "response_type",
        description: "`code`.",
        required: true,
        example: "code",
    },
    Param {
        name: "client_id",
        description: "The client (with HTTP Basic, the same one).",
        required: true,
        example: "CLIENT_ID",
    },
    Param {
        name: "redirect_uri",
        description: "One of the client's registered redirect URIs.",
        required: true,
        example: "https://app.example/callback",
    },
    Param {
        name: "scope",
        description: "Space-separated scopes within the client's scope.",
        required: false,
        example: "openid",
    },
    Param {
        name: "state",
        description: "Opaque value echoed to the redirect URI.",
        required: false,
        example: "af0ifjsldkj",
    },
    Param {
        name: "code_challenge",
        description: "PKCE (RFC 7636): base64url of the SHA-256 of the code verifier.",
        required: false,
        example: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    },
    Param {
        name: "code_challenge_method",
        description: "`S256`.",
        required: false,
        example: "S256",
    },
    Param {
        name: "nonce",
        description: "OpenID Connect: echoed in the id_token.",
        required: false,
        example: "",
    },
];

fn token_request() -> Vec<Sample> {
    vec![s::form(&s::token_request())]
}
fn token_response() -> Vec<Sample> {
    vec![s::rfc_json(&s::token_response())]
}
fn userinfo_response() -> Vec<Sample> {
    vec![s::rfc_json(&s::userinfo())]
}
fn par_response() -> Vec<Sample> {
    vec![s::rfc_json(&s::par_response())]
}
fn metadata_response() -> Vec<Sample> {
    vec![s::rfc_json(&s::metadata())]
}

/// Every endpoint, in index order.
pub static ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        route: Route::OneTimeToken,
        method: Method::Post,
        group: "OneTime",
        summary: "Issue a one-time code for a user, to hand over a login to another application.",
        description: "Issues a short-lived, single-use code for a user. The caller is either the user (a bearer access token) or a client in HTTP Basic naming the user in `userName`. The payload, broker, trading account and server travel with the code and come back when it is redeemed at `oauth2/onetime/authorize`.",
        auth: Auth::BearerOrClient,
        uri_params: &[],
        body_params: &[],
        request: Some(BodyDoc {
            module: "onetime",
            model: "OneTimeTokenRequest",
            description: "",
            samples: seed000_request,
        }),
        response: ResponseDoc::Model(BodyDoc {
            module: "onetime",
            model: "OneTimeTokenResponse",
            description: "",
            samples: seed000_response,
        }),
        errors: ErrorStyle::WebApi { required: "ClientId", camel: true },
    },
    Endpoint {
        route: Route::OneTimeAuthorize,
        method: Method::Post,
        group: "OneTime",
        summary: "Redeem a one-time code for the user's identity, its payload and an access token.",
        description: "Redeems a one-time code (once: a second redemption fails and ends the session it opened). The client authenticates in HTTP Basic or with `clientId` and `clientSecret` in the body.",
        auth: Auth::Client,
        uri_params: &[],
        body_params: &[],
        request: Some(BodyDoc {
            module: "onetime",
            model: "OneTimeAuthorizeRequest",
            description: "",
            samples: onetime_authorize_request,
        }),
        response: ResponseDoc::Model(BodyDoc {
            module: "onetime",
            model: "OneTimeAuthorizeResponse",
            description: "",
            samples: onetime_authorize_response,
        }),
        errors: ErrorStyle::WebApi { required: "Code", camel: true },
    },
    Endpoint {
        route: Route::OtcAuthCode,
        method: Method::Post,
        group: "Login",
        summary: "Authorization code request endpoint. Returns an authorization code that can be exchanged with an access token.",
        description: "Authorization code request endpoint. Returns an authorization code that can be exchanged with an access token.",
        auth: Auth::ClientInBody,
        uri_params: &[],
        body_params: &[],
        request: Some(BodyDoc {
            module: "otc",
            model: "AuthCodeRequest",
            description: "",
            samples: seed001_request,
        }),
        response: ResponseDoc::Model(BodyDoc {
            module: "otc",
            model: "AuthCodeResponse",
            description: "",
            samples: seed001_response,
        }),
        errors: ErrorStyle::Otc { token: false },
    },
    Endpoint {
        route: Route::OtcToken,
        method: Method::Post,
        group: "Login",
        summary: "Exchange an authorization code for an access token.",
        description: "Exchanges the code from `admin/login/auth_code` for an access token. The code is single use and belongs to the client it was issued to.",
        auth: Auth::ClientInBody,
        uri_params: &[],
        body_params: &[],
        request: Some(BodyDoc {
            module: "otc",
            model: "TokenRequest",
            description: "",
            samples: otc_token_request,
        }),
        response: ResponseDoc::Model(BodyDoc {
            module: "otc",
            model: "TokenResponse",
            description: "",
            samples: otc_token_response,
        }),
        errors: ErrorStyle::Otc { token: true },
    },
    Endpoint {
        route: Route::MemberToken,
        method: Method::Post,
        group: "Token",
        summary: "Create an OAuth token to access AuExpress Web Applications",
        description: "Create an OAuth token to access AuExpress Web Applications",
        auth: Auth::None,
        uri_params: &[],
        body_params: &[],
        request: Some(BodyDoc {
            module: "member",
            model: "AuthMemberModel",
            description: "a JSON or XML object contains MemberId and Password",
            samples: seed002_request,
        }),
        response: ResponseDoc::Model(BodyDoc {
            module: "member",
            model: "TokenModel",
            description: "A token and its expire time.",
            samples: seed002_response,
        }),
        errors: ErrorStyle::WebApi { required: "MemberId", camel: false },
    },
    Endpoint {
        route: Route::V1Token,
        method: Method::Post,
        group: "Auth",
        summary: "Obtain or refresh an access token (password, refresh_token, client_credentials, authorization_code).",
        description: "The token endpoint of API v1. `grant_type` selects the grant: `password` (`username`, `password`), `refresh_token` (`refresh_token`; the old refresh token is rotated), `client_credentials`, or `authorization_code` (`code` from `admin/login/auth_code`). With `WindowsAuthentication` set to true the user is taken from the trusted authenticating proxy instead of a password.",
        auth: Auth::ClientOptional,
        uri_params: &[],
        body_params: &[],
        request: Some(BodyDoc {
            module: "v1",
            model: "TokenRequest",
            description: "",
            samples: seed003_request,
        }),
        response: ResponseDoc::Model(BodyDoc {
            module: "v1",
            model: "AccessTokenResponse",
            description: "",
            samples: seed003_response,
        }),
        errors: ErrorStyle::OAuth { katana: false },
    },
    Endpoint {
        route: Route::KatanaToken,
        method: Method::Post,
        group: "OAuth",
        summary: "V2 - The /token endpoint is used to log a user into the system.",
        description: "V2 - The /token endpoint is used to log a user into the system.\nContrary to most methods in this API, this method does not expect JSON in the request body.\nInstead it expects the parameters in application/x-www-form-urlencoded format:\ngrant_type=password&username=theuser&password=thepass",
        auth: Auth::ClientOptional,
        uri_params: &[],
        body_params: &[],
        request: Some(BodyDoc {
            module: "katana",
            model: "OAuthRequest",
            description: "",
            samples: seed004_request,
        }),
        response: ResponseDoc::Model(BodyDoc {
            module: "katana",
            model: "OAuthToken",
            description: "",
            samples: seed004_response,
        }),
        errors: ErrorStyle::OAuth { katana: true },
    },
    Endpoint {
        route: Route::Introspect,
        method: Method::Post,
        group: "OAuth2",
        summary: "RFC 7662 token introspection: is this token live, and whose is it?",
        description: "Answers `{\"active\":false}` for anything that is not a live token of the calling client's realm, and the token's details otherwise. Works for the tokens of every dialect.",
        auth: Auth::Client,
        uri_params: &[],
        body_params: &[],
        request: Some(BodyDoc {
            module: "oauth",
            model: "IntrospectionRequest",
            description: "",
            samples: introspection_request,
        }),
        response: ResponseDoc::Model(BodyDoc {
            module: "oauth",
            model: "IntrospectionResponse",
            description: "",
            samples: introspection_response,
        }),
        errors: ErrorStyle::OAuth { katana: false },
    },
    Endpoint {
        route: Route::Revoke,
        method: Method::Post,
        group: "OAuth2",
        summary: "RFC 7009 token revocation: end a token (a refresh token ends its whole session).",
        description: "Revokes an access or refresh token of the calling client. Revoking a refresh token ends its session, with every token issued in it. The answer is `{}` with 200 whether or not the token existed.",
        auth: Auth::Client,
        uri_params: &[],
        body_params: &[],
        request: Some(BodyDoc {
            module: "oauth",
            model: "RevocationRequest",
            description: "",
            samples: revocation_request,
        }),
        response: ResponseDoc::Other {
            status: 200,
            media: "application/json",
            description: "`{}` with 200, whether or not the token existed (RFC 7009 section 2.2).",
            schema: r#"{"type":"object","additionalProperties":false,"properties":{}}"#,
        },
        errors: ErrorStyle::OAuth { katana: false },
    },
    Endpoint {
        route: Route::Authorize,
        method: Method::Get,
        group: "OAuth2",
        summary: "RFC 6749 authorization endpoint (code flow, PKCE): signs the user in and sends a code back to the client.",
        description: "Starts the authorization code flow in the user's browser. Without a live sign-in session it shows the login page, then the consent page where consent is needed; with one it redirects (303) to `redirect_uri` with `code` and `state`. The code is single use and bound to the client, the redirect URI, the PKCE challenge and the scope; the client exchanges it at `oauth2/token` (or `api/v1/auth/token`).\n\nAn unknown client, or a redirect URI the client did not register, is shown to the user as an error page (400) and never redirected; every later error goes to the redirect URI as `error`, `error_description` and `state` (RFC 6749 section 4.1.2.1).",
        auth: Auth::None,
        uri_params: &[
            Param { name: "response_type", description: "`code` (the only response type).", required: true, example: "code" },
            Param { name: "client_id", description: "The client.", required: true, example: "CLIENT_ID" },
            Param { name: "redirect_uri", description: "One of the client's registered redirect URIs, compared as exact strings.", required: true, example: "https://app.example/callback" },
            Param { name: "scope", description: "Space-separated scopes within the client's scope; the client's whole scope when absent.", required: false, example: "openid" },
            Param { name: "state", description: "Opaque value echoed to the redirect URI (at most 2048 bytes); use it against cross-site request forgery.", required: false, example: "af0ifjsldkj" },
            Param { name: "code_challenge", description: "PKCE (RFC 7636): base64url of the SHA-256 of the code verifier.", required: false, example: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" },
            Param { name: "code_challenge_method", description: "`S256` (the only method).", required: false, example: "S256" },
            Param { name: "prompt", description: "`login` (sign in again), `none` (no page: an error when the user must sign in or consent) or `consent` (ask again).", required: false, example: "" },
        ],
        body_params: &[],
        request: None,
        response: ResponseDoc::Other {
            status: 200,
            media: "text/html",
            description: "The login page or the consent page (200), or a 303 redirect to `redirect_uri` carrying `code`, `state` and `iss` (or `error`, `error_description`, `state` and `iss`; RFC 9207).",
            schema: "",
        },
        errors: ErrorStyle::None,
    },
    Endpoint {
        route: Route::Login,
        method: Method::Post,
        group: "OAuth2",
        summary: "The login page's form: signs the user in and continues the authorization request.",
        description: "The target of the login page of `oauth2/authorize`, not an API for clients: it needs the page's `csrf_token` and the pre-login cookie set with it. The authorization request's parameters travel with the form. A right password opens a browser session and continues to the consent page or the redirect; a wrong one shows the page again with a message that never says which of the two was wrong; failures count towards the lockout like every other login.",
        auth: Auth::None,
        uri_params: &[],
        body_params: &[
            Param { name: "username", description: "The user name.", required: true, example: "alice" },
            Param { name: "password", description: "The password.", required: true, example: "PASSWORD" },
            Param { name: "csrf_token", description: "The login page's form token, bound to its pre-login cookie.", required: true, example: "CSRF_TOKEN" },
            Param { name: "response_type", description: "Carried from the authorization request.", required: true, example: "code" },
            Param { name: "client_id", description: "Carried from the authorization request.", required: true, example: "CLIENT_ID" },
            Param { name: "redirect_uri", description: "Carried from the authorization request.", required: true, example: "https://app.example/callback" },
            Param { name: "scope", description: "Carried from the authorization request.", required: false, example: "openid" },
            Param { name: "state", description: "Carried from the authorization request.", required: false, example: "af0ifjsldkj" },
            Param { name: "code_challenge", description: "Carried from the authorization request.", required: false, example: "" },
            Param { name: "code_challenge_method", description: "Carried from the authorization request.", required: false, example: "" },
            Param { name: "prompt", description: "Carried from the authorization request.", required: false, example: "" },
        ],
        request: None,
        response: ResponseDoc::Other {
            status: 200,
            media: "text/html",
            description: "A 303 redirect (to the consent page's request or to `redirect_uri` with the code), or the login page again: 400 for a wrong user name or password, 403 for a missing or stale form token, 429 while locked out.",
            schema: "",
        },
        errors: ErrorStyle::None,
    },
    Endpoint {
        route: Route::Consent,
        method: Method::Post,
        group: "OAuth2",
        summary: "The consent page's form: allow or deny the client's request.",
        description: "The target of the consent page of `oauth2/authorize`, not an API for clients: it needs a live browser session and the page's `csrf_token`. `allow` redirects to `redirect_uri` with the code; `deny` redirects with `error=access_denied`.",
        auth: Auth::None,
        uri_params: &[],
        body_params: &[
            Param { name: "decision", description: "`allow` or `deny`.", required: true, example: "allow" },
            Param { name: "csrf_token", description: "The consent page's form token, bound to the browser session.", required: true, example: "CSRF_TOKEN" },
            Param { name: "response_type", description: "Carried from the authorization request.", required: true, example: "code" },
            Param { name: "client_id", description: "Carried from the authorization request.", required: true, example: "CLIENT_ID" },
            Param { name: "redirect_uri", description: "Carried from the authorization request.", required: true, example: "https://app.example/callback" },
            Param { name: "scope", description: "Carried from the authorization request.", required: false, example: "openid" },
            Param { name: "state", description: "Carried from the authorization request.", required: false, example: "af0ifjsldkj" },
        ],
        request: None,
        response: ResponseDoc::Other {
            status: 200,
            media: "text/html",
            description: "A 303 redirect to `redirect_uri`; the login page when the session has ended; 403 for a missing or stale form token.",
            schema: "",
        },
        errors: ErrorStyle::None,
    },
    Endpoint {
        route: Route::Logout,
        method: Method::Get,
        group: "OAuth2",
        summary: "RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the end_session_endpoint.",
        description: "Takes `id_token_hint`, `client_id`, `post_logout_redirect_uri` (one of the client's registered ones, exactly), `state` and `ui_locales` in the query. With a hint naming this browser's session, ends it and redirects (303) to the post-logout redirect URI with `state`; without a session, redirects at once; otherwise shows a confirmation page whose form posts here. A refused request is a 400 page, never a redirect.",
        auth: Auth::None,
        uri_params: &[],
        body_params: &[],
        request: None,
        response: ResponseDoc::Other {
            status: 200,
            media: "text/html",
            description: "The sign-out page.",
            schema: "",
        },
        errors: ErrorStyle::None,
    },
    Endpoint {
        route: Route::Logout,
        method: Method::Post,
        group: "OAuth2",
        summary: "RP-initiated logout as a form, or the confirmation form: ends the browser session and the token sessions it authorized.",
        description: "The same parameters as the GET, as a form. The confirmation form also carries `csrf_token` (bound to the session cookie); without it, or with a foreign `Origin`, nothing is ended.",
        auth: Auth::None,
        uri_params: &[],
        body_params: &[],
        request: None,
        response: ResponseDoc::Other {
            status: 200,
            media: "text/html",
            description: "A page saying the user is signed out.",
            schema: "",
        },
        errors: ErrorStyle::None,
    },
    Endpoint {
        route: Route::Token,
        method: Method::Post,
        group: "OAuth2",
        summary: "RFC 6749 token endpoint: authorization_code (with PKCE), refresh_token, client_credentials, password.",
        description: "The standards token endpoint for every grant the client has. `authorization_code` redeems a code of `oauth2/authorize` with the same `redirect_uri` and the PKCE `code_verifier`; `refresh_token` rotates the refresh token; `client_credentials` and `password` as in RFC 6749. The answer is section 5.1 exactly: absent members are omitted, never null.",
        auth: Auth::Client,
        uri_params: &[],
        body_params: &[],
        request: Some(BodyDoc {
            module: "oauth",
            model: "TokenRequest",
            description: "A form (`application/x-www-form-urlencoded`).",
            samples: token_request,
        }),
        response: ResponseDoc::Model(BodyDoc {
            module: "oauth",
            model: "TokenResponse",
            description: "RFC 6749 section 5.1.",
            samples: token_response,
        }),
        errors: ErrorStyle::OAuth { katana: false },
    },
    Endpoint {
        route: Route::Par,
        method: Method::Post,
        group: "OAuth2",
        summary: "RFC 9126 pushed authorization request: the client posts the authorization request and gets a request_uri for oauth2/authorize.",
        description: "With `--pushed-authorization-requests on` or `required` (404 when off). The client authenticates as at `oauth2/token`; the form holds the authorization request's parameters, checked as `oauth2/authorize` checks them. The answer (201) is a `request_uri` that the browser then takes to `oauth2/authorize` with the `client_id`; it is single use and expires after `expires_in` seconds. Each client may hold a limited number of live requests (429 with `Retry-After` past it).",
        auth: Auth::Client,
        uri_params: &[],
        body_params: PAR_PARAMS,
        request: None,
        response: ResponseDoc::Created(BodyDoc {
            module: "oauth",
            model: "PushedAuthorizationResponse",
            description: "RFC 9126 section 2.2, with 201.",
            samples: par_response,
        }),
        errors: ErrorStyle::OAuth { katana: false },
    },
    Endpoint {
        route: Route::DeviceAuthorization,
        method: Method::Post,
        group: "OAuth2",
        summary: "RFC 8628 device authorization endpoint: a device code and a user code for a client with the device grant.",
        description: "The client authenticates as at `oauth2/token` (a public client sends only `client_id`) and must have the grant `urn:ietf:params:oauth:grant-type:device_code`. The device shows `user_code` and `verification_uri` (or `verification_uri_complete` as a QR code) and polls `oauth2/token` every `interval` seconds while the user enters the code at `oauth2/device`, signs in and approves. Codes live 10 minutes; a client may hold 100 outstanding and ask for 30 a minute (429 with `Retry-After` beyond).",
        auth: Auth::Client,
        uri_params: &[],
        body_params: &[
            Param { name: "client_id", description: "The client, when not in HTTP Basic.", required: false, example: "CLIENT_ID" },
            Param { name: "client_secret", description: "The client's secret, when not in HTTP Basic (a public client has none).", required: false, example: "" },
            Param { name: "scope", description: "Space-separated scopes within the client's; the client's whole scope when absent.", required: false, example: "" },
        ],
        request: None,
        response: ResponseDoc::Other {
            status: 200,
            media: "application/json",
            description: "RFC 8628 section 3.2.",
            schema: r#"{"type":"object","additionalProperties":false,"properties":{"device_code":{"type":"string","description":"The device code (for the device only; 256 random bits)."},"user_code":{"type":"string","description":"The code the user enters: 8 letters of BCDFGHJKLMNPQRSTVWXZ as XXXX-XXXX."},"verification_uri":{"type":"string","description":"`oauth2/device` of the issuer."},"verification_uri_complete":{"type":"string","description":"`oauth2/device?user_code=...`: the page with the code filled in."},"expires_in":{"type":"integer","description":"Seconds the codes live (600)."},"interval":{"type":"integer","description":"Seconds between polls (5)."}},"required":["device_code","user_code","verification_uri","verification_uri_complete","expires_in","interval"]}"#,
        },
        errors: ErrorStyle::OAuth { katana: false },
    },
    Endpoint {
        route: Route::Device,
        method: Method::Get,
        group: "OAuth2",
        summary: "The device verification page (RFC 8628 section 3.3): the user enters the code their device shows.",
        description: "A page for people, not an API: the code form, filled in from `user_code` (the `verification_uri_complete` of `oauth2/device_authorization`); the user still presses Continue. Its form posts here.",
        auth: Auth::None,
        uri_params: &[
            Param { name: "user_code", description: "The user code, to fill the form in.", required: false, example: "WDJB-MJHT" },
        ],
        body_params: &[],
        request: None,
        response: ResponseDoc::Other {
            status: 200,
            media: "text/html",
            description: "The code form.",
            schema: "",
        },
        errors: ErrorStyle::None,
    },
    Endpoint {
        route: Route::Device,
        method: Method::Post,
        group: "OAuth2",
        summary: "The device verification page's forms: the code, the sign-in, and the decision.",
        description: "Not an API for clients: `step=code` looks the code up (10 look-ups a minute per browser and per address, then 429), then the login form (`step=login`) or, when signed in, the consent page showing the code to compare with the device's; `step=decide` with `decision=allow|deny` decides once. Every form carries its `csrf_token` (bound to the pre-login cookie, or for the decision to the browser session and the request shown).",
        auth: Auth::None,
        uri_params: &[],
        body_params: &[
            Param { name: "step", description: "`code`, `login` or `decide`.", required: true, example: "code" },
            Param { name: "user_code", description: "The user code (any case, with or without the dash).", required: true, example: "WDJB-MJHT" },
            Param { name: "csrf_token", description: "The page's form token.", required: true, example: "CSRF_TOKEN" },
            Param { name: "username", description: "The user name (`login`).", required: false, example: "alice" },
            Param { name: "password", description: "The password (`login`).", required: false, example: "PASSWORD" },
            Param { name: "decision", description: "`allow` or `deny` (`decide`).", required: false, example: "allow" },
        ],
        request: None,
        response: ResponseDoc::Other {
            status: 200,
            media: "text/html",
            description: "The next page: the login form, the consent page, or \"Device connected\"; the code form again with 400 for an unknown or expired code, 403 for a stale form, 429 when throttled.",
            schema: "",
        },
        errors: ErrorStyle::None,
    },
    Endpoint {
        route: Route::Jwks,
        method: Method::Get,
        group: "OAuth2",
        summary: "The JWK Set (RFC 7517): the public keys that sign id_tokens and JWT access tokens.",
        description: "Every published key: a new key is published `--publish-delay` before it signs, and a retired one stays while tokens it signed may live. Cacheable for 300 seconds, shorter than the publish delay.",
        auth: Auth::None,
        uri_params: &[],
        body_params: &[],
        request: None,
        response: ResponseDoc::Other {
            status: 200,
            media: "application/json",
            description: "A JWK Set (RFC 7517 section 5).",
            schema: JWKS_SCHEMA,
        },
        errors: ErrorStyle::None,
    },
    Endpoint {
        route: Route::UserInfo,
        method: Method::Get,
        group: "OAuth2",
        summary: "OpenID Connect userinfo: the claims of the user an access token with the openid scope was issued for.",
        description: "The access token in `Authorization: Bearer` (RFC 6750 section 2.1). The claims follow the token's scopes: `sub` always, `preferred_username` and `name` with `profile`, `email` and `email_verified` with `email`. Without a token: 401 with `WWW-Authenticate: Bearer`; with a token that is not live, or lacks the `openid` scope or a user: 401 with `error=\"invalid_token\"` (RFC 6750 section 3).",
        auth: Auth::Bearer,
        uri_params: &[],
        body_params: &[],
        request: None,
        response: ResponseDoc::Model(BodyDoc {
            module: "oauth",
            model: "UserInfo",
            description: "OpenID Connect Core 5.3.2.",
            samples: userinfo_response,
        }),
        errors: ErrorStyle::None,
    },
    Endpoint {
        route: Route::UserInfo,
        method: Method::Post,
        group: "OAuth2",
        summary: "OpenID Connect userinfo, as a POST (OpenID Connect Core 5.3.1).",
        description: "The same as the GET: the access token in `Authorization: Bearer`, the body ignored.",
        auth: Auth::Bearer,
        uri_params: &[],
        body_params: &[],
        request: None,
        response: ResponseDoc::Model(BodyDoc {
            module: "oauth",
            model: "UserInfo",
            description: "OpenID Connect Core 5.3.2.",
            samples: userinfo_response,
        }),
        errors: ErrorStyle::None,
    },
    Endpoint {
        route: Route::Metadata,
        method: Method::Get,
        group: "OAuth2",
        summary: "RFC 8414 authorization server metadata.",
        description: "The server's endpoints, grant types, PKCE method and client authentication methods, built from the configured issuer (never from the request's Host header); with signing keys also the OpenID provider members (the same document as `/.well-known/openid-configuration`, from one source).",
        auth: Auth::None,
        uri_params: &[],
        body_params: &[],
        request: None,
        response: ResponseDoc::Model(BodyDoc {
            module: "oauth",
            model: "AuthorizationServerMetadata",
            description: "RFC 8414 section 2.",
            samples: metadata_response,
        }),
        errors: ErrorStyle::None,
    },
    Endpoint {
        route: Route::OpenIdConfiguration,
        method: Method::Get,
        group: "OAuth2",
        summary: "OpenID Connect Discovery 1.0 provider metadata.",
        description: "The same document as `/.well-known/oauth-authorization-server`, from one source; 404 when no key can sign id_tokens (no `--key-encryption-key-file`): then Gatehouse is not an OpenID provider.",
        auth: Auth::None,
        uri_params: &[],
        body_params: &[],
        request: None,
        response: ResponseDoc::Model(BodyDoc {
            module: "oauth",
            model: "AuthorizationServerMetadata",
            description: "OpenID Connect Discovery 1.0 section 3.",
            samples: metadata_response,
        }),
        errors: ErrorStyle::None,
    },
    Endpoint {
        route: Route::Health,
        method: Method::Get,
        group: "Operations",
        summary: "Liveness and readiness: 200 when the database answers, 503 otherwise.",
        description: "Reads the database once. `{\"status\":\"ok\"}` with 200 when it answers, `{\"status\":\"unavailable\"}` with 503 when it does not.",
        auth: Auth::None,
        uri_params: &[],
        body_params: &[],
        request: None,
        response: ResponseDoc::Other {
            status: 200,
            media: "application/json",
            description: "`{\"status\":\"ok\"}` (200) or `{\"status\":\"unavailable\"}` (503).",
            schema: r#"{"type":"object","properties":{"status":{"type":"string","enum":["ok","unavailable"]}},"required":["status"]}"#,
        },
        errors: ErrorStyle::None,
    },
    Endpoint {
        route: Route::Metrics,
        method: Method::Get,
        group: "Operations",
        summary: "Prometheus metrics: requests per route, dialect and status, latencies, pools.",
        description: "The Prometheus text exposition format (version 0.0.4).",
        auth: Auth::None,
        uri_params: &[],
        body_params: &[],
        request: None,
        response: ResponseDoc::Other {
            status: 200,
            media: "text/plain",
            description: "Prometheus text format, version 0.0.4.",
            schema: r#"{"type":"string"}"#,
        },
        errors: ErrorStyle::None,
    },
];

/// Every model the pages document: the bodies, the error bodies, and every model they name,
/// transitively, in first-seen order.
pub fn documented_models() -> Vec<&'static ModelDoc> {
    let mut out: Vec<&'static ModelDoc> = Vec::new();
    let push = |m: &'static ModelDoc, out: &mut Vec<&'static ModelDoc>| {
        if !out.iter().any(|x| std::ptr::eq(*x, m)) {
            out.push(m);
        }
    };
    for e in ENDPOINTS {
        for b in [e.request, response_body(e)].into_iter().flatten() {
            push(b.doc(), &mut out);
        }
        if let Some((module, name)) = e.errors.model() {
            if let Some(m) = docs::model(module, name) {
                push(m, &mut out);
            }
        }
    }
    let mut i = 0;
    while i < out.len() {
        let m = out[i];
        if m.kind == ModelKind::Struct {
            for f in m.fields {
                if let TypeName::Model(inner) = docs::type_name(m.module, f.ty) {
                    push(inner, &mut out);
                }
            }
        }
        i += 1;
    }
    out
}

/// The response body model of an endpoint, if it has one.
pub fn response_body(e: &Endpoint) -> Option<BodyDoc> {
    match e.response {
        ResponseDoc::Model(b) | ResponseDoc::Created(b) => Some(b),
        ResponseDoc::Other { .. } => None,
    }
}

/// The model with this page id (case-insensitive).
pub fn find_model(id: &str) -> Option<&'static ModelDoc> {
    documented_models()
        .into_iter()
        .find(|m| m.id().eq_ignore_ascii_case(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every method of every route of the route table has its page, and each page's error
    /// style is its route's family.
    #[test]
    fn every_route_of_the_table_is_documented_in_its_own_family() {
        for route in Route::ALL.into_iter().filter(|r| r.documented()) {
            for method in route.methods() {
                let pages = ENDPOINTS
                    .iter()
                    .filter(|e| e.route == route && e.method == *method)
                    .count();
                assert_eq!(pages, 1, "{route:?} {method:?}");
            }
        }
        for e in ENDPOINTS {
            assert!(e.route.documented(), "{}", e.id());
            assert!(e.route.methods().contains(&e.method), "{}", e.id());
            let agrees = match (e.errors, e.route.family()) {
                (ErrorStyle::None, _) => true,
                (ErrorStyle::WebApi { camel, .. }, Family::WebApi { camel: c }) => camel == c,
                (ErrorStyle::Otc { token }, Family::Otc { token: t }) => token == t,
                (ErrorStyle::OAuth { katana }, Family::OAuth { katana: k }) => katana == k,
                _ => false,
            };
            assert!(agrees, "{}: {:?} {:?}", e.id(), e.errors, e.route.family());
        }
    }
}
