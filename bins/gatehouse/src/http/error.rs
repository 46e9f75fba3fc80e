//! Every failure becomes a [`Problem`] (status, RFC 6749 code, otc status, a sentence safe
//! to show), which each dialect then writes in its own shape:
//! katana and v1 as RFC 6749 JSON, onetime and member as Web API's HttpError, otc as its
//! Header/Body envelope.

use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use gatehouse_codec::{self as codec, BodyFormat, DecodeError, ResponseFormat};
use gatehouse_domain::authorize::RedirectError;
use gatehouse_domain::dpop::DpopRejection;
use gatehouse_domain::Error as DomainError;
use gatehouse_models::http_error::HttpError;
use gatehouse_models::oauth::{ErrorCode, ErrorResponse};
use gatehouse_models::otc::{self, ResponseStatus};

use super::{Endpoint, Family};
use crate::AppState;

/// What went wrong with a request, before it is put in a dialect's words.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The Content-Type is not one the endpoint reads (Display is Web API's sentence).
    #[error("{0}")]
    MediaType(String),
    /// The body is over the configured limit.
    #[error("The request body is larger than the limit of {limit} bytes.")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body did not decode.
    #[error("{0}")]
    Decode(DecodeError),
    /// A legacy dialect's body did not bind (Web API: `ModelState` with the members' keys).
    #[error("{}", .errors.errors.first().map(ToString::to_string).unwrap_or_default())]
    Binding {
        /// The media type it was read as.
        format: BodyFormat,
        /// What went wrong (never quotes the body); the first failure is the message.
        errors: codec::BindingErrors,
    },
    /// A required member is missing or a value is out of range.
    #[error("{0}")]
    BadRequest(String),
    /// The grant type is missing from what the endpoint supports.
    #[error("The authorization grant type is not supported by this endpoint.")]
    UnsupportedGrantType,
    /// The grant needs an authenticated client and none was presented.
    #[error("Client authentication is required: use HTTP Basic or client_id and client_secret.")]
    MissingClient,
    /// The endpoint needs a caller (bearer token or client) and none was presented.
    #[error("Authorization has been denied for this request.")]
    Unauthenticated,
    /// A Web API model-state error: a required member is missing.
    #[error("{error}")]
    Invalid {
        /// `request.Member`.
        key: String,
        /// `The Member field is required.`
        error: String,
    },
    /// The body did not arrive within the request timeout.
    #[error("The request body did not arrive in time.")]
    Timeout,
    /// The Authorization header is malformed.
    #[error("The Authorization header is not valid Basic credentials.")]
    BadClientAuth,
    /// The password hash pool is full.
    #[error("The server is busy; try again shortly.")]
    Busy,
    /// The grant logic refused.
    #[error("{0}")]
    Domain(#[from] DomainError),
    /// Something failed on our side (the cause is logged, not shown).
    #[error("An error occurred on the server.")]
    Internal,
}

/// A failure in a dialect's terms.
#[derive(Debug)]
pub struct Problem {
    /// The HTTP status, decided once by [`ApiError::status`].
    pub status: StatusCode,
    /// RFC 6749 section 5.2 code, for the OAuth dialects.
    pub oauth: ErrorCode,
    /// The otc dialect's status.
    pub otc: ResponseStatus,
    /// A human sentence; never says whether the user name or the password was wrong.
    pub message: String,
    /// Seconds for `Retry-After`.
    pub retry_after: Option<u64>,
}

/// What a failure is in HTTP terms, before a dialect words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Something about the transport, which every dialect answers with its own status:
    /// 408, 413, 415 (but at Katana), 429.
    Transport(StatusCode),
    /// Authentication failed: of the client (`invalid_client`), or of the user or token the
    /// grant carries (`client: false`).
    Unauthorized {
        /// The client's authentication.
        client: bool,
    },
    /// Refused for this caller.
    Forbidden,
    /// Anything else the client did.
    Invalid,
    /// Ours: 500, or 503 when busy.
    Server(StatusCode),
}

impl ApiError {
    /// Whether a server-side (5xx) answer says why instead of only an error id: a busy
    /// server, or tokens that cannot be signed (the reason names no secret).
    pub fn shows_reason(&self) -> bool {
        matches!(
            self,
            ApiError::Busy | ApiError::Domain(DomainError::SigningUnavailable(_))
        )
    }

    /// The failure in `family`'s words.
    pub fn problem(&self, family: Family) -> Problem {
        let (_, oauth, otc, retry_after) = self.codes();
        Problem {
            status: self.status(family),
            oauth,
            otc,
            message: sentence(&self.to_string()),
            retry_after,
        }
    }

    /// The HTTP status in `family`'s dialect, decided here and nowhere else.
    ///
    /// Web API and otc answer 401 for any failed authentication and 403 for a refusal.
    /// RFC 6749 section 5.2 answers 400, but 401 for `invalid_client`; Katana's `/token`
    /// answered 400 to every OAuth failure, `invalid_client` and an unreadable media type
    /// included. Transport failures (408, 413, 415, 429) and ours (500, 503) keep their
    /// status otherwise.
    pub fn status(&self, family: Family) -> StatusCode {
        let katana = family == Family::OAuth { katana: true };
        let oauth = matches!(family, Family::OAuth { .. } | Family::Page);
        match self.codes().0 {
            Kind::Server(status) => status,
            Kind::Transport(StatusCode::UNSUPPORTED_MEDIA_TYPE) if katana => {
                StatusCode::BAD_REQUEST
            }
            Kind::Transport(status) => status,
            Kind::Unauthorized { client } if !katana && (client || !oauth) => {
                StatusCode::UNAUTHORIZED
            }
            Kind::Forbidden if !oauth => StatusCode::FORBIDDEN,
            Kind::Unauthorized { .. } | Kind::Forbidden | Kind::Invalid => StatusCode::BAD_REQUEST,
        }
    }

    /// What the failure is, its RFC 6749 and otc codes, and its `Retry-After`.
    fn codes(&self) -> (Kind, ErrorCode, ResponseStatus, Option<u64>) {
        use ErrorCode as E;
        use Kind as K;
        use ResponseStatus as R;
        match self {
            ApiError::MediaType(_) => (
                K::Transport(StatusCode::UNSUPPORTED_MEDIA_TYPE),
                E::InvalidRequest,
                R::UnsupportedMediaType,
                None,
            ),
            ApiError::TooLarge { .. } => (
                K::Transport(StatusCode::PAYLOAD_TOO_LARGE),
                E::InvalidRequest,
                R::PayloadTooLarge,
                None,
            ),
            ApiError::Timeout => (
                K::Transport(StatusCode::REQUEST_TIMEOUT),
                E::InvalidRequest,
                R::InvalidRequest,
                None,
            ),
            ApiError::UnsupportedGrantType => {
                (K::Invalid, E::UnsupportedGrantType, R::InvalidRequest, None)
            }
            ApiError::MissingClient | ApiError::Unauthenticated | ApiError::BadClientAuth => (
                K::Unauthorized { client: true },
                E::InvalidClient,
                R::InvalidClient,
                None,
            ),
            ApiError::Decode(_)
            | ApiError::Binding { .. }
            | ApiError::BadRequest(_)
            | ApiError::Invalid { .. } => (K::Invalid, E::InvalidRequest, R::InvalidRequest, None),
            ApiError::Busy => (
                K::Server(StatusCode::SERVICE_UNAVAILABLE),
                E::TemporarilyUnavailable,
                R::ServiceUnavailable,
                Some(1),
            ),
            ApiError::Internal => (
                K::Server(StatusCode::INTERNAL_SERVER_ERROR),
                E::ServerError,
                R::InternalError,
                None,
            ),
            ApiError::Domain(e) => domain_codes(e),
        }
    }
}

/// Domain messages are lower-case fragments; clients get a sentence.
fn sentence(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 1);
    let mut chars = text.chars();
    if let Some(first) = chars.next() {
        out.extend(first.to_uppercase());
        out.push_str(chars.as_str());
    }
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

fn domain_codes(e: &DomainError) -> (Kind, ErrorCode, ResponseStatus, Option<u64>) {
    use ErrorCode as E;
    use Kind as K;
    use ResponseStatus as R;
    let too_many = K::Transport(StatusCode::TOO_MANY_REQUESTS);
    match e {
        DomainError::InvalidClient => (
            K::Unauthorized { client: true },
            E::InvalidClient,
            R::InvalidClient,
            None,
        ),
        // A wrong password or token: 401 where the dialect has it, but the grant is what is
        // invalid (invalid_grant), not the client.
        DomainError::InvalidCredentials | DomainError::InvalidToken => (
            K::Unauthorized { client: false },
            E::InvalidGrant,
            R::InvalidCredentials,
            None,
        ),
        DomainError::AccountDisabled | DomainError::Forbidden(_) => {
            (K::Forbidden, E::InvalidGrant, R::Forbidden, None)
        }
        DomainError::Locked { .. } => (
            too_many,
            E::InvalidGrant,
            R::TooManyRequests,
            e.retry_after_secs(),
        ),
        // A throttled caller (an address locked after failed client authentications, a
        // one-time code rate or cap): nothing is wrong with its grant or its credentials, so
        // neither invalid_grant nor invalid_client (clients drop tokens or secrets on those);
        // temporarily_unavailable is RFC 6749's retryable code, with 429 and Retry-After.
        DomainError::RateLimited { .. } => (
            too_many,
            E::TemporarilyUnavailable,
            R::TooManyRequests,
            e.retry_after_secs(),
        ),
        DomainError::InvalidGrant(_) => (K::Invalid, E::InvalidGrant, R::InvalidCode, None),
        DomainError::UnauthorizedClient | DomainError::NotTokenOwner => {
            (K::Invalid, E::UnauthorizedClient, R::Forbidden, None)
        }
        DomainError::InvalidScope => (K::Invalid, E::InvalidScope, R::InvalidRequest, None),
        DomainError::InvalidRequest(_) | DomainError::Exchange(_) => {
            (K::Invalid, E::InvalidRequest, R::InvalidRequest, None)
        }
        // RFC 9449 sections 5 and 8: a nonce to use, a full replay cache (temporary), any
        // other refusal of a proof.
        DomainError::Dpop(DpopRejection::Nonce) => (
            K::Invalid,
            E::Other("use_dpop_nonce".to_owned()),
            R::InvalidRequest,
            None,
        ),
        DomainError::Dpop(DpopRejection::Full) => (
            too_many,
            E::TemporarilyUnavailable,
            R::TooManyRequests,
            Some(1),
        ),
        DomainError::Dpop(_) => (
            K::Invalid,
            E::Other("invalid_dpop_proof".to_owned()),
            R::InvalidRequest,
            None,
        ),
        // RFC 8693 section 2.2.2.
        DomainError::InvalidTarget(_) => (
            K::Invalid,
            E::Other("invalid_target".to_owned()),
            R::InvalidRequest,
            None,
        ),
        // The server cannot sign this client's tokens (no key-encryption key, no active key
        // of its algorithm): the operator's to fix, said plainly; not a crash.
        DomainError::SigningUnavailable(_) => (
            K::Server(StatusCode::SERVICE_UNAVAILABLE),
            E::TemporarilyUnavailable,
            R::ServiceUnavailable,
            None,
        ),
        DomainError::NotFound(_)
        | DomainError::Conflict(_)
        | DomainError::Credential(_)
        | DomainError::Storage(_) => (
            K::Server(StatusCode::INTERNAL_SERVER_ERROR),
            E::ServerError,
            R::InternalError,
            None,
        ),
    }
}

/// The code of an authorization request refused at the redirect URI (RFC 6749 section
/// 4.1.2.1, OpenID Connect Core section 3.1.2.6): the one mapping, for the redirect and for a
/// pushed request's error body (RFC 9126 section 2.3).
pub fn redirect_code(e: RedirectError) -> ErrorCode {
    let other = |code: &str| ErrorCode::Other(code.to_owned());
    match e {
        RedirectError::InvalidRequest => ErrorCode::InvalidRequest,
        RedirectError::UnauthorizedClient => ErrorCode::UnauthorizedClient,
        RedirectError::UnsupportedResponseType => other("unsupported_response_type"),
        RedirectError::InvalidScope => ErrorCode::InvalidScope,
        RedirectError::LoginRequired => other("login_required"),
        RedirectError::ConsentRequired => other("consent_required"),
        RedirectError::AccessDenied => ErrorCode::AccessDenied,
    }
}

/// Web API's `ModelState` entry for a body that did not bind, as the legacy formatters
/// reported it to a remote client (exception texts hidden: "An error has occurred."):
/// XML failures are the whole document's (`request`); JSON ones sit at Json.NET's path of the
/// member being read (`request.brokerId`, `request` at the root); form ones name the member by
/// its CLR name. Legacy's form message quoted the value (`The value 'x' is not valid for
/// BrokerId.`); this one does not (a value may be a password).
fn model_state_entry(format: BodyFormat, e: &DecodeError, camel: bool) -> (String, String) {
    const HIDDEN: &str = "An error has occurred.";
    let key = |member: &str| format!("request.{member}");
    match (format, e.field()) {
        (BodyFormat::Xml, _) | (_, None) => ("request".to_owned(), HIDDEN.to_owned()),
        (BodyFormat::Json, Some(path)) => (key(path), HIDDEN.to_owned()),
        (BodyFormat::Form, Some(path)) => {
            let mut member = path.to_owned();
            if camel {
                if let Some(first) = member.get(..1) {
                    member = format!("{}{}", first.to_ascii_uppercase(), &member[1..]);
                }
            }
            let message = match e {
                DecodeError::InvalidValue { .. } | DecodeError::InvalidType { .. } => {
                    format!("The value is not valid for {member}.")
                }
                _ => HIDDEN.to_owned(),
            };
            (key(&member), message)
        }
    }
}

/// A `WWW-Authenticate` challenge (RFC 7235 section 4.1), written once: every 401 carries one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    /// `Basic realm="gatehouse"`: client authentication (RFC 6749 section 5.2).
    Basic,
    /// `Bearer realm="gatehouse"`, with RFC 6750 section 3's `error` when a token was presented.
    Bearer(Option<&'static str>),
    /// `DPoP realm="gatehouse", algs="..."` (RFC 9449 section 7.1), with an `error`
    /// (`invalid_token`, `invalid_dpop_proof`, `use_dpop_nonce`) when a DPoP request failed.
    Dpop(Option<&'static str>),
}

impl Challenge {
    /// The header value.
    pub fn header(self) -> String {
        match self {
            Challenge::Basic => "Basic realm=\"gatehouse\"".to_owned(),
            Challenge::Bearer(None) => "Bearer realm=\"gatehouse\"".to_owned(),
            Challenge::Bearer(Some(error)) => {
                format!("Bearer realm=\"gatehouse\", error=\"{error}\"")
            }
            Challenge::Dpop(error) => {
                let algs = gatehouse_domain::dpop::algorithms().join(" ");
                let mut out = format!("DPoP realm=\"gatehouse\", algs=\"{algs}\"");
                if let Some(error) = error {
                    out.push_str(&format!(", error=\"{error}\""));
                }
                out
            }
        }
    }
}

/// An RFC 6749 section 5.2 / RFC 6750 section 3 error answer: the ONE writer of OAuth error
/// bodies, for the standards surface and for the two legacy OAuth dialects (v1, Katana).
///
/// The standards surface answers `application/json` with `Cache-Control: no-store` and
/// `Pragma: no-cache`; the legacy dialects keep their bytes: `application/json;
/// charset=utf-8`, and the legacy host's caching headers (`legacy::legacy_answers`). Every
/// `error_description` keeps to section 5.2's characters (printable ASCII without `"` and
/// `\\`).
#[derive(Debug, Clone)]
pub struct OAuthAnswer {
    status: StatusCode,
    body: ErrorResponse,
    retry_after: Option<u64>,
    challenges: Vec<Challenge>,
    legacy: bool,
    /// RFC 9449 section 8: a fresh `DPoP-Nonce`.
    dpop_nonce: Option<String>,
}

impl OAuthAnswer {
    /// `code` with a description.
    pub fn new(status: StatusCode, code: ErrorCode, description: impl Into<String>) -> Self {
        let body = ErrorResponse::new(code, section_5_2_text(&description.into()));
        Self::of_body(status, body)
    }

    /// `code` alone (`{"error":"invalid_token"}`).
    pub fn bare(status: StatusCode, code: ErrorCode) -> Self {
        Self::of_body(status, ErrorResponse::bare(code))
    }

    fn of_body(status: StatusCode, body: ErrorResponse) -> Self {
        Self {
            status,
            body,
            retry_after: None,
            challenges: Vec::new(),
            legacy: false,
            dpop_nonce: None,
        }
    }

    /// `err` on the standards surface or at a legacy OAuth dialect (`endpoint`), `message`
    /// being what may be shown. A standards 401 always challenges: `Basic` for the client;
    /// the legacy dialects only when the request used Basic (`used_basic`), as they did.
    fn of_error(
        endpoint: Endpoint,
        err: &ApiError,
        p: &Problem,
        message: String,
        used_basic: bool,
    ) -> Self {
        let mut answer = Self::new(p.status, p.oauth.clone(), message);
        answer.retry_after = p.retry_after;
        answer.legacy = endpoint.is_legacy();
        if p.status == StatusCode::UNAUTHORIZED {
            answer.challenges = if answer.legacy {
                legacy_challenge(err, used_basic).into_iter().collect()
            } else {
                vec![Challenge::Basic]
            };
        }
        answer
    }

    /// With `Retry-After: secs`.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// With a `WWW-Authenticate` challenge (one header each, in the order given).
    pub fn challenge(mut self, challenge: Challenge) -> Self {
        self.challenges.push(challenge);
        self
    }

    /// With a `DPoP-Nonce` header (RFC 9449 section 8).
    pub fn dpop_nonce(mut self, nonce: String) -> Self {
        self.dpop_nonce = Some(nonce);
        self
    }

    /// The response.
    pub fn respond(&self) -> HttpResponse {
        let Ok(body) = codec::encode_json(&self.body) else {
            tracing::error!("error body did not encode");
            return HttpResponse::InternalServerError().finish();
        };
        let mut res = HttpResponse::build(self.status);
        if self.legacy {
            // No Cache-Control: the legacy host's `no-cache`, `Pragma` and `Expires: -1` come
            // from `legacy::legacy_answers`.
            res.insert_header((header::CONTENT_TYPE, ResponseFormat::Json.content_type()));
        } else {
            res.insert_header((header::CONTENT_TYPE, "application/json"))
                .insert_header((header::CACHE_CONTROL, "no-store"));
        }
        res.insert_header((header::PRAGMA, "no-cache"));
        if let Some(secs) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        for challenge in &self.challenges {
            res.append_header((header::WWW_AUTHENTICATE, challenge.header()));
        }
        if let Some(nonce) = &self.dpop_nonce {
            res.insert_header((super::dpop::NONCE_HEADER, nonce.as_str()));
        }
        res.body(body)
    }
}

/// RFC 6749 section 5.2: `error_description` may hold only printable ASCII without `"` and
/// `\\`.
fn section_5_2_text(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            c if (' '..='~').contains(&c) => c,
            _ => '?',
        })
        .collect()
}

/// The legacy dialects' challenge on a 401: `Basic` when the request used Basic, `Bearer`
/// when a bearer token was wanted or refused, none otherwise.
fn legacy_challenge(err: &ApiError, used_basic: bool) -> Option<Challenge> {
    if used_basic {
        Some(Challenge::Basic)
    } else if matches!(
        err,
        ApiError::Unauthenticated | ApiError::Domain(DomainError::InvalidToken)
    ) {
        Some(Challenge::Bearer(None))
    } else {
        None
    }
}

/// What a 5xx shows: the reason when [`ApiError::shows_reason`], else only an error id (the
/// cause is in the log under it).
fn shown(err: &ApiError, p: &Problem, error_id: Option<&str>) -> String {
    match error_id {
        _ if !p.status.is_server_error() || err.shows_reason() => p.message.clone(),
        Some(id) => format!("An error occurred on the server (error id {id})."),
        None => "An error occurred on the server.".to_owned(),
    }
}

/// Writes `err` in the words of `endpoint`'s dialect.
pub fn render(
    endpoint: Endpoint,
    format: ResponseFormat,
    err: &ApiError,
    error_id: &str,
    used_basic: bool,
) -> HttpResponse {
    let p = err.problem(endpoint.family());
    if p.status.is_client_error() {
        tracing::info!(endpoint = endpoint.route(), status = p.status.as_u16(), error_id, reason = %p.message, "request refused");
    } else {
        tracing::warn!(endpoint = endpoint.route(), status = p.status.as_u16(), error_id, reason = %p.message, "request failed");
    }
    let message = shown(err, &p, Some(error_id));
    let status = p.status;
    let (body, content_type) = match endpoint.family() {
        Family::OAuth { .. } | Family::Page => {
            return OAuthAnswer::of_error(endpoint, err, &p, message, used_basic).respond();
        }
        Family::WebApi { camel } => {
            let body = match err {
                ApiError::Invalid { key, error } => HttpError::invalid_model(key, error),
                ApiError::Binding { format, errors } => {
                    let mut e = HttpError::new("The request is invalid.");
                    for error in &errors.errors {
                        let (key, message) = model_state_entry(*format, error, camel);
                        e.add_model_error(key, message);
                    }
                    for member in &errors.missing {
                        e.add_model_error(
                            format!("request.{member}"),
                            format!("The {member} field is required."),
                        );
                    }
                    e
                }
                _ => HttpError::new(message),
            };
            (
                codec::encode_http_error(format, &body, camel),
                format.content_type(),
            )
        }
        Family::Otc { token } => {
            let id = error_id.to_owned();
            let bytes = if token {
                codec::encode(format, &otc::TokenResponse::error(p.otc, message, id))
            } else {
                codec::encode(format, &otc::AuthCodeResponse::error(p.otc, message, id))
            };
            (bytes, format.content_type())
        }
    };
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "error body did not encode");
            return HttpResponse::InternalServerError().finish();
        }
    };
    let mut res = HttpResponse::build(status);
    // No Cache-Control here: error answers get the legacy host's `no-cache`, `Pragma` and
    // `Expires: -1` from `legacy::legacy_answers`.
    res.insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::PRAGMA, "no-cache"));
    if let Some(secs) = p.retry_after {
        res.insert_header((header::RETRY_AFTER, secs.to_string()));
    }
    if status == StatusCode::UNAUTHORIZED {
        if let Some(challenge) = legacy_challenge(err, used_basic) {
            res.insert_header((header::WWW_AUTHENTICATE, challenge.header()));
        }
    }
    res.body(body)
}

/// The response of a route's middleware: when the handler or an extractor failed with an
/// [`ApiError`], the answer `write` makes of it (`write` gets the shared state, for the error
/// id); else the response as it is.
pub fn rewrite(
    res: ServiceResponse<BoxBody>,
    write: impl FnOnce(&AppState, &ApiError) -> HttpResponse,
) -> ServiceResponse<BoxBody> {
    let error = res
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>());
    let state = res.request().app_data::<web::Data<AppState>>();
    let answer = match (error, state) {
        (Some(err), Some(state)) => write(state, err),
        _ => return res,
    };
    res.into_response(answer)
}

/// Outside a dialect's route (no [`super::extract::Dialect`] to word it in, see
/// [`super::in_dialect`], which rewrites the answer in the dialect's words), an error is an
/// RFC 6749 section 5.2 answer.
impl actix_web::ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status(Family::OAuth { katana: false })
    }

    fn error_response(&self) -> HttpResponse {
        let p = self.problem(Family::OAuth { katana: false });
        let message = shown(self, &p, None);
        OAuthAnswer::of_error(Endpoint::Token, self, &p, message, false).respond()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The status of each failure in each family, as the legacy services and RFC 6749 answered.
    #[test]
    fn each_dialect_answers_its_own_status() {
        let katana = Family::OAuth { katana: true };
        let oauth = Family::OAuth { katana: false };
        let web_api = Family::WebApi { camel: false };
        let otc = Family::Otc { token: true };
        let locked = DomainError::Locked {
            retry_after: time::Duration::seconds(3),
        };
        let cases: [(ApiError, [u16; 4]); 12] = [
            // [katana, RFC 6749, Web API, otc]
            (DomainError::InvalidCredentials.into(), [400, 400, 401, 401]),
            (DomainError::InvalidClient.into(), [400, 401, 401, 401]),
            (ApiError::MissingClient, [400, 401, 401, 401]),
            (DomainError::AccountDisabled.into(), [400, 400, 403, 403]),
            (DomainError::Forbidden("no").into(), [400, 400, 403, 403]),
            (DomainError::InvalidScope.into(), [400, 400, 400, 400]),
            (ApiError::MediaType("x".into()), [400, 415, 415, 415]),
            (ApiError::TooLarge { limit: 1 }, [413, 413, 413, 413]),
            (ApiError::Timeout, [408, 408, 408, 408]),
            (locked.into(), [429, 429, 429, 429]),
            (ApiError::Busy, [503, 503, 503, 503]),
            (ApiError::Internal, [500, 500, 500, 500]),
        ];
        for (err, expected) in cases {
            let got = [katana, oauth, web_api, otc].map(|f| err.status(f).as_u16());
            assert_eq!(got, expected, "{err:?}");
        }
    }

    /// One writer: the section 5.2 characters everywhere; a standards 401 always challenges
    /// with Basic, a legacy one only when Basic was used; the media type and caching of each.
    #[test]
    fn one_oauth_writer_for_every_surface() {
        assert_eq!(section_5_2_text("a \"b\" \\ é\n"), "a 'b' / ??");
        let err = ApiError::Domain(DomainError::InvalidClient);
        let p = err.problem(Family::OAuth { katana: false });
        let header = |res: &HttpResponse, name: header::HeaderName| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        for standard in [
            Endpoint::Introspect,
            Endpoint::Revoke,
            Endpoint::Token,
            Endpoint::Par,
        ] {
            let res = OAuthAnswer::of_error(standard, &err, &p, "x".into(), false).respond();
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
            let challenge = header(&res, header::WWW_AUTHENTICATE);
            assert_eq!(challenge.as_deref(), Some("Basic realm=\"gatehouse\""));
            let media = header(&res, header::CONTENT_TYPE);
            assert_eq!(media.as_deref(), Some("application/json"));
            let cache = header(&res, header::CACHE_CONTROL);
            assert_eq!(cache.as_deref(), Some("no-store"));
        }
        let res = OAuthAnswer::of_error(Endpoint::V1Token, &err, &p, "x".into(), false).respond();
        assert_eq!(header(&res, header::WWW_AUTHENTICATE), None);
        assert_eq!(header(&res, header::CACHE_CONTROL), None);
        let media = header(&res, header::CONTENT_TYPE);
        assert_eq!(media.as_deref(), Some("application/json; charset=utf-8"));
        let res = OAuthAnswer::of_error(Endpoint::V1Token, &err, &p, "x".into(), true).respond();
        let challenge = header(&res, header::WWW_AUTHENTICATE);
        assert_eq!(challenge.as_deref(), Some("Basic realm=\"gatehouse\""));
    }

    #[test]
    fn server_failures_show_an_error_id_unless_the_reason_is_safe() {
        let internal = ApiError::Internal;
        let p = internal.problem(Family::OAuth { katana: false });
        assert_eq!(
            shown(&internal, &p, Some("abc")),
            "An error occurred on the server (error id abc)."
        );
        assert_eq!(
            shown(&internal, &p, None),
            "An error occurred on the server."
        );
        let busy = ApiError::Busy;
        let p = busy.problem(Family::OAuth { katana: false });
        assert_eq!(
            shown(&busy, &p, Some("abc")),
            "The server is busy; try again shortly."
        );
    }

    #[test]
    fn the_problem_carries_the_status_and_the_codes() {
        let p = ApiError::from(DomainError::InvalidCredentials)
            .problem(Family::WebApi { camel: false });
        assert_eq!(p.status, StatusCode::UNAUTHORIZED);
        assert_eq!(p.oauth, ErrorCode::InvalidGrant);
        assert_eq!(p.otc, ResponseStatus::InvalidCredentials);
        let p = ApiError::Busy.problem(Family::OAuth { katana: true });
        assert_eq!(p.retry_after, Some(1));
        assert_eq!(p.oauth, ErrorCode::TemporarilyUnavailable);
    }
}
