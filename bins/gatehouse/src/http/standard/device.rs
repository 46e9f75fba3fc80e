//! The device authorization grant (RFC 8628): `POST /oauth2/device_authorization` (the
//! client asks for a device code; authenticated as at the token endpoint, a public client by
//! its `client_id`) and the verification page `/oauth2/device` (the user enters the user code,
//! signs in, and approves or denies). Polling is `/oauth2/token` (`token` module). The rules
//! are the domain's (`gatehouse_domain::device`).
//!
//! The page is the login page's: server-rendered, no script, the same CSP. Each form carries
//! a CSRF token under the server's forms key: the code form's and the login form's bound to
//! the pre-login cookie, the consent form's to the browser-session cookie and the exact
//! request shown (user code, client, scope). Every look-up of a user code counts against the
//! browser's and the address's rate windows (`Config::device_entry_rate` a minute each).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_domain::browser_session::{BrowserSessionInfo, BROWSER_SESSION_LIFETIME};
use gatehouse_domain::device::{DeviceRequest, UserCodeRejection};
use gatehouse_domain::forms;
use gatehouse_domain::secret::TokenDigest;
use gatehouse_models::routes::Endpoint;
use serde::{Deserialize, Serialize};

use super::authorize::{
    error_page, field, form_pairs, live_session, login_input, login_refused, names, server_error,
    set_cookie, LOGIN_PURPOSE,
};
use super::{cookie, page, percent_encode};
use crate::http::extract::{Body, Caller, ClientParams, Credentials, RfcForm};
use crate::http::ApiError;
use crate::AppState;

type Data = web::Data<AppState>;

const CODE_PURPOSE: &str = "gatehouse device code form";
const CONSENT_PURPOSE: &str = "gatehouse device consent form";

/// The device authorization request (RFC 8628 section 3.1), a form.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct DeviceForm {
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
    scope: Option<String>,
}

/// RFC 8628 section 3.2.
#[derive(Serialize)]
struct DeviceResponse<'a> {
    device_code: &'a str,
    user_code: &'a str,
    verification_uri: String,
    verification_uri_complete: String,
    expires_in: i64,
    interval: i64,
}

/// `POST /oauth2/device_authorization`. Errors as the token endpoint's (its middleware).
pub(crate) async fn authorization(
    body: Body<DeviceForm, RfcForm>,
    req: HttpRequest,
    state: Data,
) -> Result<HttpResponse, ApiError> {
    let form = body.value;
    let client = Credentials::of(&req)?.exclusive_of(ClientParams {
        client_id: form.client_id,
        client_secret: form.client_secret,
        client_assertion_type: form.client_assertion_type,
        client_assertion: form.client_assertion,
    })?;
    let scope = form.scope.filter(|s| !s.is_empty());
    let issued = state
        .blocking(move |s| s.device_authorization(&client, scope.as_deref()))
        .await?;
    let verification_uri = format!("{}{}", state.issuer(), Endpoint::Device.route());
    let body = DeviceResponse {
        device_code: issued.device_code.expose(),
        user_code: &issued.user_code,
        verification_uri_complete: format!(
            "{verification_uri}?user_code={}",
            percent_encode(&issued.user_code)
        ),
        verification_uri,
        expires_in: issued.expires_in.whole_seconds(),
        interval: issued.interval.whole_seconds(),
    };
    let bytes = serde_json::to_vec(&body).map_err(|_| ApiError::Internal)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .body(bytes))
}

/// The pre-login cookie of this browser, a new one (with its `Set-Cookie`) if it has none.
fn form_cookie(state: &AppState, req: &HttpRequest, cookies: &mut Vec<String>) -> String {
    let name = names(state).1;
    match cookie(req, name).filter(|c| forms::is_form_cookie(c)) {
        Some(existing) => existing,
        None => {
            let value = forms::new_form_cookie(state.service.rng());
            cookies.push(set_cookie(state, name, &value, None));
            value
        }
    }
}

/// The code form, with `message` above it.
fn entry(
    state: &AppState,
    req: &HttpRequest,
    status: StatusCode,
    user_code: &str,
    message: Option<&str>,
) -> HttpResponse {
    let mut cookies = Vec::new();
    let form_cookie = form_cookie(state, req, &mut cookies);
    let token = state.form_key().token(CODE_PURPOSE, &[&form_cookie]);
    page::respond(
        status,
        page::device_entry(&token, user_code, message),
        &cookies,
    )
}

/// `GET /oauth2/device[?user_code=...]`: the code form (filled in from
/// `verification_uri_complete`; the user still confirms it).
pub(crate) async fn page(req: HttpRequest, state: Data) -> HttpResponse {
    let typed = super::parse_urlencoded(req.query_string())
        .and_then(|pairs| {
            pairs
                .into_iter()
                .find(|(k, _)| k == "user_code")
                .map(|(_, v)| v)
        })
        .unwrap_or_default();
    let shown: String = typed.chars().take(32).collect();
    entry(&state, &req, StatusCode::OK, &shown, None)
}

/// `POST /oauth2/device`: one of the three forms (`step`: `code`, `login`, `decide`).
pub(crate) async fn submit(req: HttpRequest, payload: web::Payload, state: Data) -> HttpResponse {
    let pairs = match form_pairs(&req, payload, &state).await {
        Ok(p) => p,
        Err(res) => return res,
    };
    let typed = field(&pairs, "user_code").unwrap_or_default().to_owned();
    match field(&pairs, "step") {
        Some("code") => code_step(&state, &req, &pairs, &typed).await,
        Some("login") => login_step(&state, &req, &pairs, &typed).await,
        Some("decide") => decide_step(&state, &req, &pairs, &typed).await,
        _ => entry(
            &state,
            &req,
            StatusCode::BAD_REQUEST,
            "",
            Some("Enter the code shown on your device."),
        ),
    }
}

/// The rate keys of this browser and address (the browser's by a digest of its pre-login
/// cookie: the cookie itself is never stored); `None` when the address is unknown.
fn rate_keys(state: &AppState, req: &HttpRequest) -> Option<Vec<String>> {
    let Ok(Caller { ip, .. }) = Caller::of(req) else {
        return None;
    };
    let mut keys = vec![format!("device_entry:ip:{ip}")];
    if let Some(c) = cookie(req, names(state).1).filter(|c| forms::is_form_cookie(c)) {
        let digest = TokenDigest::of(&c);
        let short: String = digest
            .as_bytes()
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect();
        keys.push(format!("device_entry:browser:{short}"));
    }
    Some(keys)
}

/// Looks the user code up (one try against the rate windows); the code form again on a
/// refusal.
async fn look_up(
    state: &AppState,
    req: &HttpRequest,
    typed: &str,
) -> Result<DeviceRequest, HttpResponse> {
    let keys = rate_keys(state, req).ok_or_else(|| {
        error_page(
            StatusCode::BAD_REQUEST,
            "Your address could not be determined.",
        )
    })?;
    let code = typed.to_owned();
    let found = state
        .blocking(move |s| s.device_request(&code, keys))
        .await
        .map_err(|e| server_error(state, &format!("device code look-up: {e}")))?;
    found.map_err(|why| {
        let shown: String = typed.chars().take(32).collect();
        match why {
            UserCodeRejection::RateLimited(wait) => {
                let secs = wait.whole_seconds().max(1);
                tracing::info!(retry_after = secs, "device code entry throttled");
                let mut res = entry(
                    state,
                    req,
                    StatusCode::TOO_MANY_REQUESTS,
                    &shown,
                    Some(&format!("Too many attempts. Try again in {secs} seconds.")),
                );
                res.headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
                res
            }
            UserCodeRejection::Malformed | UserCodeRejection::NotPending => {
                tracing::info!(reason = ?why, "device code refused");
                entry(
                    state,
                    req,
                    StatusCode::BAD_REQUEST,
                    &shown,
                    Some("That code is not valid or has expired. Check the code on your device."),
                )
            }
        }
    })
}

/// Whether the form's CSRF token is this browser's (`purpose` over its pre-login cookie).
fn from_this_browser(
    state: &AppState,
    req: &HttpRequest,
    pairs: &[(String, String)],
    purpose: &str,
) -> bool {
    let form_cookie = cookie(req, names(state).1).filter(|c| forms::is_form_cookie(c));
    match (form_cookie.as_deref(), field(pairs, "csrf_token")) {
        (Some(c), Some(token)) => state.form_key().verify(purpose, &[c], token),
        _ => false,
    }
}

fn forged(state: &AppState, req: &HttpRequest, typed: &str) -> HttpResponse {
    tracing::info!("device form refused: CSRF token missing or not this browser's");
    entry(
        state,
        req,
        StatusCode::FORBIDDEN,
        typed,
        Some("This form expired or did not come from this site. Please enter the code again."),
    )
}

/// The code form: a pending code goes on to the consent page (signed in) or the login form.
async fn code_step(
    state: &AppState,
    req: &HttpRequest,
    pairs: &[(String, String)],
    typed: &str,
) -> HttpResponse {
    if !from_this_browser(state, req, pairs, CODE_PURPOSE) {
        return forged(state, req, typed);
    }
    let request = match look_up(state, req, typed).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    match live_session(state, req).await {
        Some((session, session_cookie)) => consent(state, &request, &session, &session_cookie, &[]),
        None => login_form(state, req, &request, StatusCode::OK, "", None),
    }
}

fn login_form(
    state: &AppState,
    req: &HttpRequest,
    request: &DeviceRequest,
    status: StatusCode,
    user_name: &str,
    message: Option<&str>,
) -> HttpResponse {
    let mut cookies = Vec::new();
    let form_cookie = form_cookie(state, req, &mut cookies);
    let token = state.form_key().token(LOGIN_PURPOSE, &[&form_cookie]);
    let fields = [
        ("step", "login".to_owned()),
        ("user_code", request.user_code.clone()),
    ];
    page::respond(
        status,
        page::login_at(
            Endpoint::Device.route(),
            &request.client_name,
            &fields,
            &token,
            user_name,
            message,
        ),
        &cookies,
    )
}

/// What a consent token is bound to: the browser session and the exact request shown.
fn consent_parts<'a>(session_cookie: &'a str, request: &'a DeviceRequest) -> [&'a str; 4] {
    [
        session_cookie,
        &request.user_code,
        &request.client_id,
        &request.scope,
    ]
}

fn consent(
    state: &AppState,
    request: &DeviceRequest,
    session: &BrowserSessionInfo,
    session_cookie: &str,
    cookies: &[String],
) -> HttpResponse {
    let token = state
        .form_key()
        .token(CONSENT_PURPOSE, &consent_parts(session_cookie, request));
    page::respond(
        StatusCode::OK,
        page::device_consent(
            &request.client_name,
            &session.user.user_name,
            &request.scope,
            &request.user_code,
            &token,
        ),
        cookies,
    )
}

/// The login form: a browser session opens (replacing this browser's previous one), then the
/// consent page.
async fn login_step(
    state: &AppState,
    req: &HttpRequest,
    pairs: &[(String, String)],
    typed: &str,
) -> HttpResponse {
    let request = match look_up(state, req, typed).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    let user_name = field(pairs, "username").unwrap_or_default().to_owned();
    let again =
        |status, message: &str| login_form(state, req, &request, status, &user_name, Some(message));
    let (password, ip) = match login_input(req, state, pairs, &user_name) {
        Ok(input) => input,
        Err((status, message)) => return again(status, message),
    };
    let name = user_name.clone();
    let login = match state
        .hashing(move |s| s.browser_login(&name, &password, Some(ip)))
        .await
    {
        Ok(login) => login,
        Err(e) => return login_refused(state, &e, again),
    };
    tracing::info!(user = %login.session.user.id, "browser session opened (device page)");
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
    consent(
        state,
        &request,
        &login.session,
        login.cookie.expose(),
        &cookies,
    )
}

/// The consent form: approves or denies the request it was shown for, once.
async fn decide_step(
    state: &AppState,
    req: &HttpRequest,
    pairs: &[(String, String)],
    typed: &str,
) -> HttpResponse {
    let Some((session, session_cookie)) = live_session(state, req).await else {
        return entry(
            state,
            req,
            StatusCode::OK,
            typed,
            Some("Your sign-in session has ended. Please enter the code again."),
        );
    };
    let request = match look_up(state, req, typed).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    let presented = field(pairs, "csrf_token").unwrap_or_default();
    let bound = consent_parts(&session_cookie, &request);
    if !state.form_key().verify(CONSENT_PURPOSE, &bound, presented) {
        tracing::info!(
            "device consent refused: token missing, not this session's, or another request's"
        );
        return error_page(
            StatusCode::FORBIDDEN,
            "This consent form expired or did not come from this site.",
        );
    }
    let approve = match field(pairs, "decision") {
        Some("allow") => true,
        Some("deny") => false,
        _ => return error_page(StatusCode::BAD_REQUEST, "Choose Allow or Deny."),
    };
    let code = request.user_code.clone();
    match state
        .blocking(move |s| s.decide_device_request(&code, &session, approve))
        .await
    {
        Ok(()) => page::respond(StatusCode::OK, page::device_done(approve), &[]),
        Err(ApiError::Domain(gatehouse_domain::Error::InvalidGrant(_))) => entry(
            state,
            req,
            StatusCode::BAD_REQUEST,
            "",
            Some("That code is not valid or has expired. Check the code on your device."),
        ),
        Err(e) => server_error(state, &format!("device decision: {e}")),
    }
}
