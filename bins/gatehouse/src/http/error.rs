//! Every failure becomes a [`Problem`] (status, RFC 6749 code, otc status, a sentence safe
//! to show), which each dialect then writes in its own shape:
//! katana and v1 as RFC 6749 JSON, onetime and member as Web API's HttpError, otc as its
//! Header/Body envelope.

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use gatehouse_codec::{self as codec, BodyFormat, DecodeError, ResponseFormat};
use gatehouse_domain::Error as DomainError;
use gatehouse_models::http_error::HttpError;
use gatehouse_models::oauth::{ErrorCode, ErrorResponse};
use gatehouse_models::otc::{self, ResponseStatus};

use super::{Endpoint, Family};

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

/// A failure in dialect-neutral terms.
#[derive(Debug)]
pub struct Problem {
    /// HTTP status before dialect adjustments.
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

impl ApiError {
    /// Whether a server-side (5xx) answer says why instead of only an error id: a busy
    /// server, or tokens that cannot be signed (the reason names no secret).
    pub fn shows_reason(&self) -> bool {
        matches!(
            self,
            ApiError::Busy | ApiError::Domain(DomainError::SigningUnavailable(_))
        )
    }

    /// The dialect-neutral form.
    pub fn problem(&self) -> Problem {
        use ErrorCode as E;
        use ResponseStatus as R;
        let (status, oauth, otc, retry_after) = match self {
            ApiError::MediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                E::InvalidRequest,
                R::UnsupportedMediaType,
                None,
            ),
            ApiError::TooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                E::InvalidRequest,
                R::PayloadTooLarge,
                None,
            ),
            ApiError::UnsupportedGrantType => (
                StatusCode::BAD_REQUEST,
                E::UnsupportedGrantType,
                R::InvalidRequest,
                None,
            ),
            ApiError::MissingClient => (
                StatusCode::UNAUTHORIZED,
                E::InvalidClient,
                R::InvalidClient,
                None,
            ),
            ApiError::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                E::InvalidClient,
                R::InvalidClient,
                None,
            ),
            ApiError::Decode(_)
            | ApiError::Binding { .. }
            | ApiError::BadRequest(_)
            | ApiError::Invalid { .. } => (
                StatusCode::BAD_REQUEST,
                E::InvalidRequest,
                R::InvalidRequest,
                None,
            ),
            ApiError::BadClientAuth => (
                StatusCode::UNAUTHORIZED,
                E::InvalidClient,
                R::InvalidClient,
                None,
            ),
            ApiError::Timeout => (
                StatusCode::REQUEST_TIMEOUT,
                E::InvalidRequest,
                R::InvalidRequest,
                None,
            ),
            ApiError::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                E::TemporarilyUnavailable,
                R::ServiceUnavailable,
                Some(1),
            ),
            ApiError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                E::ServerError,
                R::InternalError,
                None,
            ),
            ApiError::Domain(e) => domain_problem(e),
        };
        Problem {
            status,
            oauth,
            otc,
            message: sentence(&self.to_string()),
            retry_after,
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

fn domain_problem(e: &DomainError) -> (StatusCode, ErrorCode, ResponseStatus, Option<u64>) {
    use ErrorCode as E;
    use ResponseStatus as R;
    match e {
        DomainError::InvalidClient => (
            StatusCode::UNAUTHORIZED,
            E::InvalidClient,
            R::InvalidClient,
            None,
        ),
        DomainError::InvalidCredentials => (
            StatusCode::UNAUTHORIZED,
            E::InvalidGrant,
            R::InvalidCredentials,
            None,
        ),
        DomainError::AccountDisabled => {
            (StatusCode::FORBIDDEN, E::InvalidGrant, R::Forbidden, None)
        }
        DomainError::InvalidToken => (
            StatusCode::UNAUTHORIZED,
            E::InvalidGrant,
            R::InvalidCredentials,
            None,
        ),
        DomainError::Locked { .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            E::InvalidGrant,
            R::TooManyRequests,
            e.retry_after_secs(),
        ),
        // A throttled caller (an address locked after failed client authentications, a
        // one-time code rate or cap): nothing is wrong with its grant or its credentials, so
        // neither invalid_grant nor invalid_client (clients drop tokens or secrets on those);
        // temporarily_unavailable is RFC 6749's retryable code, with 429 and Retry-After.
        DomainError::RateLimited { .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            E::TemporarilyUnavailable,
            R::TooManyRequests,
            e.retry_after_secs(),
        ),
        DomainError::InvalidGrant(_) => (
            StatusCode::BAD_REQUEST,
            E::InvalidGrant,
            R::InvalidCode,
            None,
        ),
        DomainError::UnauthorizedClient => (
            StatusCode::BAD_REQUEST,
            E::UnauthorizedClient,
            R::Forbidden,
            None,
        ),
        DomainError::InvalidScope => (
            StatusCode::BAD_REQUEST,
            E::InvalidScope,
            R::InvalidRequest,
            None,
        ),
        DomainError::Forbidden(_) => (StatusCode::FORBIDDEN, E::InvalidGrant, R::Forbidden, None),
        DomainError::InvalidRequest(_) => (
            StatusCode::BAD_REQUEST,
            E::InvalidRequest,
            R::InvalidRequest,
            None,
        ),
        // The server cannot sign this client's tokens (no key-encryption key, no active key
        // of its algorithm): the operator's to fix, said plainly; not a crash.
        DomainError::SigningUnavailable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            E::TemporarilyUnavailable,
            R::ServiceUnavailable,
            None,
        ),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            E::ServerError,
            R::InternalError,
            None,
        ),
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

/// One of the five legacy dialects (whose answers `legacy::legacy_answers` finishes).
fn is_legacy(endpoint: Endpoint) -> bool {
    endpoint.dialect() != "shared"
}

/// Writes `err` in the words of `endpoint`'s dialect.
pub fn render(
    endpoint: Endpoint,
    format: ResponseFormat,
    err: &ApiError,
    error_id: &str,
    used_basic: bool,
) -> HttpResponse {
    let p = err.problem();
    let is_client_error = p.status.is_client_error();
    if is_client_error {
        tracing::info!(endpoint = endpoint.route(), status = p.status.as_u16(), error_id, reason = %p.message, "request refused");
    } else {
        tracing::warn!(endpoint = endpoint.route(), status = p.status.as_u16(), error_id, reason = %p.message, "request failed");
    }
    let message = if p.status.is_server_error() && !err.shows_reason() {
        format!("An error occurred on the server (error id {error_id}).")
    } else {
        p.message.clone()
    };
    let mut status = p.status;
    let (body, content_type) = match endpoint.family() {
        Family::OAuth { katana } => {
            if katana && is_client_error && !matches!(status.as_u16(), 408 | 413 | 429) {
                // Katana answered every OAuth failure with 400, invalid_client included.
                status = StatusCode::BAD_REQUEST;
            } else if !katana
                && is_client_error
                && !matches!(status.as_u16(), 408 | 413 | 415 | 429)
                && p.oauth != ErrorCode::InvalidClient
            {
                status = StatusCode::BAD_REQUEST;
            }
            let body = ErrorResponse::new(p.oauth, message);
            (
                codec::encode_json(&body),
                ResponseFormat::Json.content_type(),
            )
        }
        Family::WebApi => {
            // The onetime service's JSON formatter camel-cased HttpError too.
            let camel = matches!(
                endpoint,
                Endpoint::OneTimeToken | Endpoint::OneTimeAuthorize
            );
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
    // `Expires: -1` from `legacy::legacy_answers` (the standards endpoints theirs below).
    res.insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::PRAGMA, "no-cache"));
    if !is_legacy(endpoint) {
        res.insert_header((header::CACHE_CONTROL, "no-store"));
    }
    if let Some(secs) = p.retry_after {
        res.insert_header((header::RETRY_AFTER, secs.to_string()));
    }
    if status == StatusCode::UNAUTHORIZED {
        if used_basic {
            res.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"gatehouse\""));
        } else if matches!(
            err,
            ApiError::Unauthenticated | ApiError::Domain(DomainError::InvalidToken)
        ) {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"gatehouse\""));
        }
    }
    res.body(body)
}
