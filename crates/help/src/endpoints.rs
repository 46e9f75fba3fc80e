//! The endpoint table: one entry per endpoint; adding an endpoint to the help pages and the
//! OpenAPI document is adding one entry to [`ENDPOINTS`].

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
        about: "Standards endpoints for every dialect's tokens: RFC 7662 introspection, RFC 7009 revocation, RFC 8414 metadata.",
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
            ErrorStyle::WebApi { required } => s::web_api_errors(required)
                .into_iter()
                .flat_map(|(label, e)| [(label, s::json(&e)), (label, s::xml(&e))])
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
    /// A model in the listed media types.
    Model(BodyDoc),
    /// A body that is not a model: its media type, a description, and its OpenAPI schema.
    Other {
        /// Media type of the body (`text/plain`), or empty for no body.
        media: &'static str,
        /// What it is.
        description: &'static str,
        /// JSON Schema of the body, when JSON (inline, as JSON text).
        schema: &'static str,
    },
}

/// One endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// `POST`, `GET`.
    pub method: &'static str,
    /// The path as the legacy pages wrote it (`/api/Token`; routing ignores case).
    pub path: &'static str,
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

    /// The legacy page id: `POST-api-Token` (`/Help/Api/POST-api-Token`).
    pub fn id(&self) -> String {
        format!(
            "{}-{}",
            self.method,
            self.path.trim_start_matches('/').replace('/', "-")
        )
    }

    /// The legacy display form: `POST api/Token`.
    pub fn title(&self) -> String {
        format!("{} {}", self.method, self.path.trim_start_matches('/'))
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
    vec![s::json(&v), s::xml(&v)]
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
fn metadata_response() -> Vec<Sample> {
    vec![s::rfc_json(&s::metadata())]
}

/// Every endpoint, in index order.
pub static ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: "POST",
        path: "/oauth2/onetime/token",
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
        errors: ErrorStyle::WebApi { required: "ClientId" },
    },
    Endpoint {
        method: "POST",
        path: "/oauth2/onetime/authorize",
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
        errors: ErrorStyle::WebApi { required: "Code" },
    },
    Endpoint {
        method: "POST",
        path: "/admin/login/auth_code",
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
        method: "POST",
        path: "/admin/login/token",
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
        method: "POST",
        path: "/api/Token",
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
        errors: ErrorStyle::WebApi { required: "MemberId" },
    },
    Endpoint {
        method: "POST",
        path: "/api/v1/auth/token",
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
        method: "POST",
        path: "/token",
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
        method: "POST",
        path: "/oauth2/introspect",
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
        method: "POST",
        path: "/oauth2/revoke",
        group: "OAuth2",
        summary: "RFC 7009 token revocation: end a token (a refresh token ends its whole session).",
        description: "Revokes an access or refresh token of the calling client. Revoking a refresh token ends its session, with every token issued in it. The answer is an empty 200 whether or not the token existed.",
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
            media: "",
            description: "An empty 200.",
            schema: "",
        },
        errors: ErrorStyle::OAuth { katana: false },
    },
    Endpoint {
        method: "GET",
        path: "/.well-known/oauth-authorization-server",
        group: "OAuth2",
        summary: "RFC 8414 authorization server metadata.",
        description: "The server's endpoints, grant types and client authentication methods. The issuer is the scheme and host the request came to.",
        auth: Auth::None,
        uri_params: &[],
        body_params: &[],
        request: None,
        response: ResponseDoc::Model(BodyDoc {
            module: "oauth",
            model: "AuthorizationServerMetadata",
            description: "",
            samples: metadata_response,
        }),
        errors: ErrorStyle::None,
    },
    Endpoint {
        method: "GET",
        path: "/healthz",
        group: "Operations",
        summary: "Liveness and readiness: 200 when the database answers, 503 otherwise.",
        description: "Reads the database once. `{\"status\":\"ok\"}` with 200 when it answers, `{\"status\":\"unavailable\"}` with 503 when it does not.",
        auth: Auth::None,
        uri_params: &[],
        body_params: &[],
        request: None,
        response: ResponseDoc::Other {
            media: "application/json",
            description: "`{\"status\":\"ok\"}` (200) or `{\"status\":\"unavailable\"}` (503).",
            schema: r#"{"type":"object","properties":{"status":{"type":"string","enum":["ok","unavailable"]}},"required":["status"]}"#,
        },
        errors: ErrorStyle::None,
    },
    Endpoint {
        method: "GET",
        path: "/metrics",
        group: "Operations",
        summary: "Prometheus metrics: requests per route, dialect and status, latencies, pools.",
        description: "The Prometheus text exposition format (version 0.0.4).",
        auth: Auth::None,
        uri_params: &[],
        body_params: &[],
        request: None,
        response: ResponseDoc::Other {
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
        ResponseDoc::Model(b) => Some(b),
        ResponseDoc::Other { .. } => None,
    }
}

/// The model with this page id (case-insensitive).
pub fn find_model(id: &str) -> Option<&'static ModelDoc> {
    documented_models()
        .into_iter()
        .find(|m| m.id().eq_ignore_ascii_case(id))
}
