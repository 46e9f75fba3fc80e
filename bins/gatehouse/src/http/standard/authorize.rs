//! `GET /oauth2/authorize`, the login form (`POST /oauth2/login`) and the consent form
//! (`POST /oauth2/consent`).
//!
//! CSRF: the login form carries a token bound to a pre-login cookie (`gatehouse_login`, 32
//! random bytes the server issued, HttpOnly, SameSite=Lax): HMAC-SHA256 under the server's
//! forms key ([`gatehouse_domain::forms`]), so a cookie planted by someone else (possible
//! under an http issuer) gets them no token. A form posted from another site has neither the
//! cookie (SameSite) nor the token (it cannot read our page). The consent form's token is
//! bound to the browser-session cookie and to the client, redirect URI, scope, PKCE
//! challenge and nonce it was shown for: it approves that request and no other. A cookie
//! sent twice under one name is refused.
//! Logout (`/oauth2/logout`) is the `logout` module.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_domain::authorize::{
    AuthorizationParams, AuthorizationRequest, AuthorizeError, Prompt, RedirectError,
};
use gatehouse_domain::browser_session::{BrowserSessionInfo, BROWSER_SESSION_LIFETIME};
use gatehouse_domain::forms;
use gatehouse_domain::secret::Secret;
use gatehouse_domain::{Error as DomainError, GrantRejection};
use gatehouse_models::oauth::AuthorizationQuery;

use super::page;
use super::{cookie, parse_urlencoded, with_query};
use crate::http::error::redirect_code;
use crate::http::extract::Caller;
use crate::http::request;
use crate::http::ApiError;
use crate::AppState;

type Data = web::Data<AppState>;

pub(super) const LOGIN_PURPOSE: &str = "gatehouse login form";
const CONSENT_PURPOSE: &str = "gatehouse consent form";

/// Cookie names: with the `__Host-` prefix when the issuer is https (Secure, Path=/, no
/// Domain: the browser refuses the cookie from any other host or over http).
pub(super) fn names(state: &AppState) -> (&'static str, &'static str) {
    if state.secure_cookies() {
        ("__Host-gatehouse_session", "__Host-gatehouse_login")
    } else {
        ("gatehouse_session", "gatehouse_login")
    }
}

pub(super) fn set_cookie(
    state: &AppState,
    name: &str,
    value: &str,
    max_age: Option<i64>,
) -> String {
    let secure = if state.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    let age = max_age
        .map(|s| format!("; Max-Age={s}"))
        .unwrap_or_default();
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{age}")
}

/// The authorization request among `pairs` (a query or a form), as the models read it
/// ([`AuthorizationQuery`]), for the domain's checks.
pub(super) fn params_from(pairs: &[(String, String)]) -> AuthorizationParams {
    let q = AuthorizationQuery::from_pairs(pairs.iter().cloned());
    AuthorizationParams {
        repeated: q.repeated().map(str::to_owned),
        response_type: q.response_type,
        client_id: q.client_id,
        redirect_uri: q.redirect_uri,
        scope: q.scope,
        state: q.state,
        code_challenge: q.code_challenge,
        code_challenge_method: q.code_challenge_method,
        prompt: q.prompt,
        response_mode: q.response_mode,
        nonce: q.nonce,
        dpop_jkt: q.dpop_jkt,
        request_uri: q.request_uri,
        pushed: false,
    }
}

/// The authorization request's parameters, carried through the login and consent forms.
fn carried(r: &AuthorizationRequest) -> Vec<(&'static str, String)> {
    // A pushed request travels as its request_uri alone (RFC 9126): nothing else is read.
    if let Some(uri) = &r.request_uri {
        return vec![
            ("client_id", r.client_id.clone()),
            ("request_uri", uri.clone()),
        ];
    }
    let mut fields = vec![
        ("response_type", "code".to_owned()),
        ("client_id", r.client_id.clone()),
        ("redirect_uri", r.redirect_uri.clone()),
        ("scope", r.scope.clone()),
    ];
    if let Some(state) = &r.state {
        fields.push(("state", state.clone()));
    }
    if let Some(challenge) = &r.code_challenge {
        fields.push(("code_challenge", challenge.clone()));
        fields.push(("code_challenge_method", "S256".to_owned()));
    }
    if r.prompt == Prompt::Consent {
        fields.push(("prompt", "consent".to_owned()));
    }
    if let Some(nonce) = &r.nonce {
        fields.push(("nonce", nonce.clone()));
    }
    if let Some(jkt) = &r.dpop_jkt {
        fields.push(("dpop_jkt", jkt.clone()));
    }
    fields
}

pub(super) fn redirect(location: &str, cookies: &[String]) -> HttpResponse {
    let mut res = HttpResponse::SeeOther();
    res.insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    for cookie in cookies {
        res.append_header((header::SET_COOKIE, cookie.as_str()));
    }
    res.finish()
}

pub(super) fn error_page(status: StatusCode, message: &str) -> HttpResponse {
    page::respond(
        status,
        page::error("This sign-in request cannot be completed", message),
        &[],
    )
}

pub(super) fn server_error(state: &AppState, what: &str) -> HttpResponse {
    let id = state.error_id();
    tracing::error!(error_id = %id, "{what}");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        &format!("An error occurred on the server (error id {id})."),
    )
}

fn refuse(state: &AppState, error: AuthorizeError) -> HttpResponse {
    match error {
        AuthorizeError::Page(message) => {
            tracing::info!(reason = %message, "authorization request refused (page)");
            error_page(StatusCode::BAD_REQUEST, &message)
        }
        AuthorizeError::Redirect {
            redirect_uri,
            error,
            description,
            state: echoed,
        } => {
            let code = redirect_code(error);
            tracing::info!(error = code.as_str(), reason = %description, "authorization request refused (redirect)");
            let mut params = vec![
                ("error", code.as_str()),
                ("error_description", description.as_str()),
            ];
            if let Some(s) = echoed.as_deref() {
                params.push(("state", s));
            }
            // RFC 9207: the issuer, so a client talking to several servers detects a mix-up.
            params.push(("iss", state.issuer()));
            redirect(&with_query(&redirect_uri, &params), &[])
        }
        AuthorizeError::Internal(e) => server_error(state, &format!("authorization check: {e}")),
    }
}

async fn check(
    state: &AppState,
    mut params: AuthorizationParams,
) -> Result<AuthorizationRequest, HttpResponse> {
    // RFC 9126 section 4: the parameters are the pushed request's, bound to this client_id.
    if let (Some(uri), None) = (params.request_uri.clone(), &params.repeated) {
        let client_id = params.client_id.clone();
        params = match state
            .blocking(move |s| Ok(s.pushed_params(client_id.as_deref(), &uri)))
            .await
        {
            Ok(Ok(pushed)) => pushed,
            Ok(Err(e)) => return Err(refuse(state, e)),
            Err(e) => return Err(server_error(state, &format!("request_uri: {e}"))),
        };
    }
    match state
        .blocking(move |s| Ok(s.check_authorization(&params)))
        .await
    {
        Ok(Ok(request)) => {
            crate::telemetry::record_client(&request.client_id);
            Ok(request)
        }
        Ok(Err(e)) => Err(refuse(state, e)),
        Err(e) => Err(server_error(state, &format!("authorization check: {e}"))),
    }
}

pub(super) async fn live_session(
    state: &AppState,
    req: &HttpRequest,
) -> Option<(BrowserSessionInfo, String)> {
    let value = cookie(req, names(state).0)?;
    let lookup = value.clone();
    match state.blocking(move |s| s.browser_session(&lookup)).await {
        Ok(Some(info)) => Some((info, value)),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "browser session look-up failed");
            None
        }
    }
}

/// The login form, with the pre-login cookie set when the browser has none.
fn login_form(
    state: &AppState,
    req: &HttpRequest,
    request: &AuthorizationRequest,
    status: StatusCode,
    user_name: &str,
    message: Option<&str>,
    mut cookies: Vec<String>,
) -> HttpResponse {
    let csrf_name = names(state).1;
    let csrf_cookie = match cookie(req, csrf_name).filter(|c| forms::is_form_cookie(c)) {
        Some(existing) => existing,
        None => {
            let value = forms::new_form_cookie(state.service.rng());
            cookies.push(set_cookie(state, csrf_name, &value, None));
            value
        }
    };
    let token = state.form_key().token(LOGIN_PURPOSE, &[&csrf_cookie]);
    page::respond(
        status,
        page::login(
            &request.client_name,
            &carried(request),
            &token,
            user_name,
            message,
        ),
        &cookies,
    )
}

/// With a live browser session: the consent page, or the code.
async fn conclude(
    state: &AppState,
    request: AuthorizationRequest,
    session: BrowserSessionInfo,
    session_cookie: &str,
    cookies: Vec<String>,
) -> HttpResponse {
    if request.consent_required {
        if request.prompt == Prompt::None {
            return refuse(
                state,
                AuthorizeError::redirect(
                    &request,
                    RedirectError::ConsentRequired,
                    "the client needs the user's consent, and prompt=none forbids asking",
                ),
            );
        }
        let token = state
            .form_key()
            .token(CONSENT_PURPOSE, &consent_parts(session_cookie, &request));
        return page::respond(
            StatusCode::OK,
            page::consent(
                &request.client_name,
                &session.user.user_name,
                &request.scope,
                &carried(&request),
                &token,
            ),
            &cookies,
        );
    }
    issue(state, request, session, cookies).await
}

async fn issue(
    state: &AppState,
    request: AuthorizationRequest,
    session: BrowserSessionInfo,
    cookies: Vec<String>,
) -> HttpResponse {
    let redirect_uri = request.redirect_uri.clone();
    let echoed = request.state.clone();
    let client = request.client_id.clone();
    match state
        .blocking(move |s| s.issue_authorization_code(&request, &session))
        .await
    {
        Ok(code) => {
            tracing::info!(client = %client, "authorization code issued");
            let mut params = vec![("code", code.code.expose())];
            if let Some(s) = echoed.as_deref() {
                params.push(("state", s));
            }
            params.push(("iss", state.issuer()));
            redirect(&with_query(&redirect_uri, &params), &cookies)
        }
        Err(e) => not_issued(state, &e),
    }
}

/// Why no code was issued: too many codes (429 with `Retry-After`: the caps of issue 19), a
/// logout that ended the browser session meanwhile (400, sign in again), else a server error.
fn not_issued(state: &AppState, e: &ApiError) -> HttpResponse {
    match e {
        ApiError::Domain(d @ DomainError::RateLimited { .. }) => {
            let secs = d.retry_after_secs().unwrap_or(1);
            tracing::info!(
                retry_after = secs,
                "authorization code refused: too many codes"
            );
            let mut res = error_page(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Too many sign-in requests. Try again in {secs} seconds."),
            );
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
            res
        }
        ApiError::Domain(DomainError::InvalidGrant(GrantRejection::BrowserSessionEnded)) => {
            error_page(
                StatusCode::BAD_REQUEST,
                "Your sign-in session has ended. Please start again from the application.",
            )
        }
        ApiError::Domain(DomainError::InvalidRequest(why)) => {
            tracing::info!(reason = %why, "code not issued: its pushed request is gone");
            error_page(StatusCode::BAD_REQUEST, why)
        }
        other => server_error(state, &format!("issuing a code: {other}")),
    }
}

/// `GET /oauth2/authorize`.
pub(crate) async fn authorize(req: HttpRequest, state: Data) -> HttpResponse {
    let Some(pairs) = parse_urlencoded(req.query_string()) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The request's query string is not valid URL encoding.",
        );
    };
    let request = match check(&state, params_from(&pairs)).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    let session = if request.prompt == Prompt::Login {
        None
    } else {
        live_session(&state, &req).await
    };
    match session {
        Some((info, cookie)) => conclude(&state, request, info, &cookie, Vec::new()).await,
        None if request.prompt == Prompt::None => refuse(
            &state,
            AuthorizeError::redirect(
                &request,
                RedirectError::LoginRequired,
                "the user is not signed in, and prompt=none forbids asking",
            ),
        ),
        None => login_form(&state, &req, &request, StatusCode::OK, "", None, Vec::new()),
    }
}

pub(super) async fn form_pairs(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<Vec<(String, String)>, HttpResponse> {
    let body = match request::read_body(req, payload, state.config.body_limit).await {
        Ok(body) => body,
        Err(ApiError::TooLarge { .. }) => {
            return Err(error_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "The form is too large.",
            ))
        }
        Err(_) => {
            return Err(error_page(
                StatusCode::BAD_REQUEST,
                "The form could not be read.",
            ))
        }
    };
    let is_form = request::header_str(req, header::CONTENT_TYPE).is_some_and(|v| {
        v.split(';').next().is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
    });
    if !is_form {
        return Err(error_page(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "The form must be sent as application/x-www-form-urlencoded.",
        ));
    }
    std::str::from_utf8(&body)
        .ok()
        .and_then(parse_urlencoded)
        .ok_or_else(|| {
            error_page(
                StatusCode::BAD_REQUEST,
                "The form is not valid URL encoding.",
            )
        })
}

pub(super) fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// What a consent token is bound to: the browser session and the exact request shown.
fn consent_parts<'a>(session_cookie: &'a str, request: &'a AuthorizationRequest) -> [&'a str; 7] {
    [
        session_cookie,
        &request.client_id,
        &request.redirect_uri,
        &request.scope,
        request.code_challenge.as_deref().unwrap_or(""),
        request.nonce.as_deref().unwrap_or(""),
        request.dpop_jkt.as_deref().unwrap_or(""),
    ]
}

/// The form's pairs and the authorization request they carry, checked again.
async fn form_request(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<(Vec<(String, String)>, AuthorizationRequest), HttpResponse> {
    let pairs = form_pairs(req, payload, state).await?;
    let request = check(state, params_from(&pairs)).await?;
    Ok((pairs, request))
}

/// `POST /oauth2/login`: the login form.
pub(crate) async fn login(req: HttpRequest, payload: web::Payload, state: Data) -> HttpResponse {
    let (pairs, request) = match form_request(&req, payload, &state).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    let user_name = field(&pairs, "username").unwrap_or_default().to_owned();
    let again = |status, message: &str| {
        login_form(
            &state,
            &req,
            &request,
            status,
            &user_name,
            Some(message),
            Vec::new(),
        )
    };
    let (password, ip) = match login_input(&req, &state, &pairs, &user_name) {
        Ok(input) => input,
        Err((status, message)) => return again(status, message),
    };
    let name = user_name.clone();
    match state
        .hashing(move |s| s.browser_login(&name, &password, Some(ip)))
        .await
    {
        Ok(login) => signed_in(&state, &req, request, login).await,
        Err(e) => login_refused(&state, &e, again),
    }
}

/// The password and the caller's address of a login form that came from this browser and
/// is filled in; else the status and the sentence to show above the form again.
pub(super) fn login_input(
    req: &HttpRequest,
    state: &AppState,
    pairs: &[(String, String)],
    user_name: &str,
) -> Result<(Secret, std::net::IpAddr), (StatusCode, &'static str)> {
    let csrf_cookie = cookie(req, names(state).1).filter(|c| forms::is_form_cookie(c));
    let valid = match (csrf_cookie.as_deref(), field(pairs, "csrf_token")) {
        (Some(c), Some(token)) => state.form_key().verify(LOGIN_PURPOSE, &[c], token),
        _ => false,
    };
    if !valid {
        tracing::info!("login form refused: CSRF token missing or not this browser's");
        return Err((
            StatusCode::FORBIDDEN,
            "This sign-in form expired or did not come from this site. Please sign in again.",
        ));
    }
    let password = field(pairs, "password").unwrap_or_default();
    if user_name.trim().is_empty() || password.is_empty() {
        return Err((
            StatusCode::BAD_REQUEST,
            "Enter your user name and password.",
        ));
    }
    let Ok(Caller { ip, .. }) = Caller::of(req) else {
        return Err((
            StatusCode::BAD_REQUEST,
            "Your address could not be determined; sign-in is refused.",
        ));
    };
    Ok((Secret::from(password), ip))
}

/// The login form again, saying why the sign-in was refused (`again` writes it).
pub(super) fn login_refused(
    state: &AppState,
    e: &ApiError,
    again: impl FnOnce(StatusCode, &str) -> HttpResponse,
) -> HttpResponse {
    let (status, message, retry) = match e {
        ApiError::Domain(DomainError::InvalidCredentials) => (
            StatusCode::BAD_REQUEST,
            "The user name or password is incorrect.".to_owned(),
            None,
        ),
        ApiError::Domain(d @ DomainError::Locked { .. }) => {
            let secs = d.retry_after_secs().unwrap_or(1);
            let plural = if secs == 1 { "" } else { "s" };
            let message =
                format!("Too many failed sign-in attempts. Try again in {secs} second{plural}.");
            (StatusCode::TOO_MANY_REQUESTS, message, Some(secs))
        }
        ApiError::Domain(DomainError::AccountDisabled) => (
            StatusCode::FORBIDDEN,
            "This account is disabled.".to_owned(),
            None,
        ),
        ApiError::Domain(DomainError::InvalidRequest(_)) => (
            StatusCode::BAD_REQUEST,
            "Enter your user name and password.".to_owned(),
            None,
        ),
        ApiError::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is busy. Please try again in a moment.".to_owned(),
            Some(1),
        ),
        other => return server_error(state, &format!("login: {other}")),
    };
    tracing::info!(status = status.as_u16(), "login refused");
    let mut res = again(status, &message);
    if let Some(secs) = retry {
        res.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    }
    res
}

/// A browser session opened: it replaces the browser's previous one, and the authorization
/// goes on (consent, or the code).
async fn signed_in(
    state: &AppState,
    req: &HttpRequest,
    request: AuthorizationRequest,
    login: gatehouse_domain::browser_session::BrowserLogin,
) -> HttpResponse {
    tracing::info!(user = %login.session.user.id, "browser session opened");
    // A login replaces the browser's previous session (prompt=login, another user): end it
    // and withdraw its codes; the tokens clients got through it live on (docs/security.md).
    if let Some(previous) = cookie(req, names(state).0) {
        if let Err(e) = state
            .blocking(move |s| s.replace_browser_session(&previous))
            .await
        {
            tracing::warn!(error = %e, "could not end the replaced browser session");
        }
    }
    let cookies = vec![set_cookie(
        state,
        names(state).0,
        login.cookie.expose(),
        Some(BROWSER_SESSION_LIFETIME.whole_seconds()),
    )];
    let cookie_value = login.cookie.expose().to_owned();
    conclude(state, request, login.session, &cookie_value, cookies).await
}

/// `POST /oauth2/consent`: the consent form.
pub(crate) async fn consent(req: HttpRequest, payload: web::Payload, state: Data) -> HttpResponse {
    let (pairs, request) = match form_request(&req, payload, &state).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    let Some((session, session_cookie)) = live_session(&state, &req).await else {
        return session_ended(&state, &req, &request);
    };
    let bound = consent_parts(&session_cookie, &request);
    let presented = field(&pairs, "csrf_token").unwrap_or_default();
    if !state.form_key().verify(CONSENT_PURPOSE, &bound, presented) {
        tracing::info!(
            "consent form refused: token missing, not this session's, or shown for another request"
        );
        return error_page(
            StatusCode::FORBIDDEN,
            "This consent form expired or did not come from this site.",
        );
    }
    match field(&pairs, "decision") {
        Some("allow") => issue(&state, request, session, Vec::new()).await,
        Some("deny") => refuse(
            &state,
            AuthorizeError::redirect(
                &request,
                RedirectError::AccessDenied,
                "the user denied the request",
            ),
        ),
        _ => error_page(StatusCode::BAD_REQUEST, "Choose Allow or Deny."),
    }
}

/// The login form again: the browser session the consent form belonged to has ended.
fn session_ended(
    state: &AppState,
    req: &HttpRequest,
    request: &AuthorizationRequest,
) -> HttpResponse {
    let message = "Your sign-in session has ended. Please sign in again.";
    login_form(
        state,
        req,
        request,
        StatusCode::OK,
        "",
        Some(message),
        Vec::new(),
    )
}
