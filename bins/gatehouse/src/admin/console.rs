//! The admin console (`/admin/console/` on `--admin-bind`): server-rendered pages, no script,
//! no external asset, the login page's CSP.
//!
//! Sign-in: the console is a public client of the server itself (`gatehouse-console`,
//! registered at start with the redirect URI `http://<admin address>/admin/console/callback`),
//! using the authorization-code flow with PKCE on the main listener's `/oauth2/authorize`.
//! Nothing is stored for a sign-in in progress: a random login cookie (`SameSite=Lax`, it
//! must come back on the redirect) from which the `state` and the PKCE verifier are derived
//! with the forms key (HMAC), so only this browser can finish it. The access token the code
//! is exchanged for *is* the console session: kept in a `__Host-` cookie (`Secure`,
//! `HttpOnly`, `SameSite=Strict`, host-only), validated on every request as introspection
//! validates (it expires with `--access-token-lifetime`, ends with the user's sessions, with a
//! disable, with revocation) and accepted only when issued to `gatehouse-console` to a user
//! with the `operator` flag. Every form carries a CSRF token: the forms key's HMAC of that
//! session token, so a token of another session (or none) is refused.
//!
//! Every action is audited (`admin_action` / `admin_refused`, `via: console`, the operator's
//! user name) and counted with the admin API's calls.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_domain::audit::{AuditEvent, Operator};
use gatehouse_domain::authorize::CodeBinding;
use gatehouse_domain::keys::Alg;
use gatehouse_domain::service::ClientAuth;
use serde_json::Value;

use super::{api, OK, REFUSED};
use crate::cli::view;
use crate::http::standard::page::{escape, respond};
use crate::http::standard::{cookie, parse_urlencoded, with_query};
use crate::state::AppState;

/// The console's client id.
pub const CLIENT_ID: &str = "gatehouse-console";
/// The session cookie (the console's access token).
const SESSION: &str = "__Host-gatehouse-console";
/// The sign-in-in-progress cookie.
const LOGIN: &str = "__Host-gatehouse-console-login";
/// The forms key's purposes.
const CSRF: &str = "admin-console-csrf";
const STATE: &str = "admin-console-state";
const VERIFIER: &str = "admin-console-pkce";
/// Largest form body (a rotate-key form is under 100 bytes).
const MAX_FORM: usize = 4096;

type State = web::Data<AppState>;

/// `--admin-url`: the admin listener's public base URL, when a TLS proxy fronts it.
#[derive(Debug, Clone)]
pub struct PublicUrl(pub Option<String>);

impl PublicUrl {
    /// The base URL browsers use for the listener bound at `addr`.
    pub fn base(&self, addr: std::net::SocketAddr) -> String {
        self.0.clone().unwrap_or_else(|| format!("http://{addr}"))
    }
}

/// The console's redirect URI under the admin listener's base URL.
pub fn redirect_uri(base: &str) -> String {
    format!("{base}/admin/console/callback")
}

/// The base URL of the listener that received `req`.
fn base_of(req: &HttpRequest) -> String {
    let public = req.app_data::<web::Data<PublicUrl>>();
    let addr = req.app_config().local_addr();
    public.map_or_else(|| format!("http://{addr}"), |p| p.base(addr))
}

/// Registers (or refreshes) the console's client: public, authorization code only, this
/// listener's redirect URI.
///
/// # Errors
/// The import failed.
pub fn register(state: &AppState, base: &str) -> Result<(), String> {
    let document = serde_json::json!({"clients": [{
        "client_id": CLIENT_ID,
        "client_name": "Gatehouse admin console",
        "grants": ["authorization_code"],
        // No scope: the console needs the user's access token only, not an id_token (which
        // a server without a signing key, PostgreSQL without a KEK, cannot issue).
        "scope": "",
        "redirect_uris": [redirect_uri(base)],
    }]});
    let document = gatehouse_domain::import::ImportDocument::from_json(&document.to_string())
        .map_err(|e| e.to_string())?;
    state
        .service
        .import(&document)
        .map(|_| ())
        .map_err(|e| format!("registering the admin console's client: {e}"))
}

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/console", web::get().to(to_index))
        .route("/admin/console/", web::get().to(index))
        .route("/admin/console/login", web::get().to(login))
        .route("/admin/console/callback", web::get().to(callback))
        .route("/admin/console/logout", web::post().to(logout))
        .route("/admin/console/users/{name}", web::get().to(user_page))
        .route(
            "/admin/console/users/{name}/{action}",
            web::post().to(user_action),
        )
        .route("/admin/console/clients", web::get().to(clients_page))
        .route(
            "/admin/console/clients/{id}/rotate-secret",
            web::post().to(rotate_secret),
        )
        .route("/admin/console/keys", web::get().to(keys_page))
        .route("/admin/console/keys", web::post().to(rotate_key))
        .route(
            "/admin/console/keys/{kid}/retire",
            web::post().to(retire_key),
        )
        .route("/admin/console/audit", web::get().to(audit_page));
}

// ---- pages -------------------------------------------------------------------------------

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;background:#eef1f5;color:#1d2430;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}\
header{background:#24508f;color:#fff;padding:10px 16px;display:flex;flex-wrap:wrap;gap:6px 18px;align-items:center}\
header a{color:#fff;text-decoration:none;font-weight:600}\
header .who{margin-left:auto;font-size:13px;display:flex;gap:8px;align-items:center}\
header form{margin:0}\
header button{background:#e3e7ee;color:#1d2430;padding:4px 10px;font-size:13px;margin:0}\
main{max-width:1100px;margin:16px auto;padding:0 12px}\
section{background:#fff;border-radius:8px;box-shadow:0 1px 6px rgba(20,30,50,.1);padding:16px;margin:0 0 16px;overflow-x:auto}\
h1{font-size:20px;margin:0 0 10px}h2{font-size:16px;margin:0 0 8px}\
table{border-collapse:collapse;width:100%;font-size:14px}\
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e3e7ee;vertical-align:top;word-break:break-word}\
th{font-size:12px;text-transform:uppercase;color:#566173}\
form.inline{display:inline-block;margin:4px 6px 4px 0}\
input[type=text],input[type=search],select{padding:8px 10px;border:1px solid #b9c2cf;border-radius:6px;font-size:15px;max-width:100%}\
button{padding:8px 14px;border:0;border-radius:6px;background:#24508f;color:#fff;font-size:14px;font-weight:600;cursor:pointer}\
button.danger{background:#a3262a}\
.note{background:#e9f3ea;border:1px solid #a9d3ae;border-radius:6px;padding:8px 12px;margin:0 0 12px}\
.error{background:#fdecec;border:1px solid #f3b4b4;color:#8a1c1c;border-radius:6px;padding:8px 12px;margin:0 0 12px}\
code{background:#f1f3f6;padding:1px 4px;border-radius:4px;word-break:break-all}\
.locked{color:#a3262a;font-weight:700}";

/// A signed-in operator.
struct Session {
    /// The operator's user name.
    user_name: String,
    /// The CSRF token of this session's forms.
    csrf: String,
}

fn document(title: &str, session: Option<&Session>, body: &str) -> String {
    let nav = match session {
        Some(s) => format!(
            "<a href=\"/admin/console/\">Users</a><a href=\"/admin/console/clients\">Clients</a>\
<a href=\"/admin/console/keys\">Keys</a><a href=\"/admin/console/audit\">Audit</a>\
<span class=\"who\">{}<form method=\"post\" action=\"/admin/console/logout\">{}<button type=\"submit\">Sign out</button></form></span>",
            escape(&s.user_name),
            csrf_field(&s.csrf)
        ),
        None => String::new(),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta name=\"referrer\" content=\"no-referrer\">\
<title>{} · Gatehouse admin</title><style>{STYLE}</style></head>\
<body><header><strong>Gatehouse admin</strong>{nav}</header><main>{body}</main></body></html>\n",
        escape(title)
    )
}

fn page(status: StatusCode, title: &str, session: Option<&Session>, body: &str) -> HttpResponse {
    respond(status, document(title, session, body), &[])
}

fn csrf_field(csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(csrf)
    )
}

/// A one-button form posting to `action`.
fn button(session: &Session, action: &str, label: &str, class: &str, extra: &str) -> String {
    format!(
        "<form class=\"inline\" method=\"post\" action=\"{}\">{}{extra}<button type=\"submit\" class=\"{class}\">{}</button></form>",
        escape(action),
        csrf_field(&session.csrf),
        escape(label)
    )
}

fn seg(text: &str) -> String {
    crate::http::standard::percent_encode(text)
}

fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    if rows.is_empty() {
        return "<p>None.</p>".to_owned();
    }
    let mut out = String::from("<table><thead><tr>");
    for h in headers {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => escape(s),
        other => escape(&other.to_string()),
    }
}

/// The flags set in a user's JSON (as `user list` shows them).
fn flags_of(user: &Value) -> String {
    let on: Vec<&str> = ["operator", "editor", "query_all", "df_visible", "disabled"]
        .into_iter()
        .filter(|f| user[*f] == Value::Bool(true))
        .collect();
    if on.is_empty() {
        "-".to_owned()
    } else {
        on.join(", ")
    }
}

// ---- sessions ----------------------------------------------------------------------------

/// Why a request may not use the console.
enum Refusal {
    /// No (live) console session: sign in.
    SignIn,
    /// Signed in, but not an operator.
    NotOperator(String),
}

/// The console session of the request, validated now.
async fn session(state: &State, req: &HttpRequest) -> Result<Session, Refusal> {
    let token = cookie(req, SESSION).ok_or(Refusal::SignIn)?;
    let service = state.service.clone();
    let probe = token.clone();
    let info = web::block(move || service.validate_access_token(&probe))
        .await
        .map_err(|_| Refusal::SignIn)?
        .map_err(|_| Refusal::SignIn)?;
    if info.client_id.as_deref() != Some(CLIENT_ID) {
        return Err(Refusal::SignIn);
    }
    let user = info.user.ok_or(Refusal::SignIn)?;
    if !user.flags.operator {
        return Err(Refusal::NotOperator(user.user_name));
    }
    Ok(Session {
        csrf: state.form_key().token(CSRF, &[&token]),
        user_name: user.user_name,
    })
}

fn refused_event(
    state: &AppState,
    req: &HttpRequest,
    operator: Option<String>,
    reason: &'static str,
) {
    state.service.audit(AuditEvent::AdminRefused {
        operator,
        via: "console",
        request: super::request_name(req),
        reason,
    });
    REFUSED.fetch_add(1, Ordering::Relaxed);
}

fn audited(state: &AppState, session: &Session, action: &'static str, target: &str) {
    state.service.audit(AuditEvent::AdminAction {
        by: Operator {
            operator: session.user_name.clone(),
            via: "console",
        },
        action,
        target: target.to_owned(),
    });
    OK.fetch_add(1, Ordering::Relaxed);
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// The answer to a refused page request: the sign-in redirect, or a 403 page.
fn refusal_page(state: &AppState, req: &HttpRequest, refusal: Refusal) -> HttpResponse {
    match refusal {
        Refusal::SignIn => see_other("/admin/console/login"),
        Refusal::NotOperator(user) => {
            refused_event(state, req, Some(user.clone()), "not_operator");
            page(
                StatusCode::FORBIDDEN,
                "Not an operator",
                None,
                &format!(
                    "<section><h1>Not an operator</h1><p class=\"error\">{} may not use the admin console: it needs the <code>operator</code> flag (<code>gatehouse user add --operator</code>, or <code>\"operator\": true</code> in an import).</p></section>",
                    escape(&user)
                ),
            )
        }
    }
}

/// A POST's session and form, the CSRF token checked; the refusal answered otherwise.
async fn form_of(
    state: &State,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(Session, Vec<(String, String)>), HttpResponse> {
    let session = match session(state, req).await {
        Ok(s) => s,
        Err(Refusal::SignIn) => {
            refused_event(state, req, None, "invalid_token");
            return Err(page(
                StatusCode::UNAUTHORIZED,
                "Signed out",
                None,
                "<section><h1>Signed out</h1><p class=\"error\">Your console session has ended; nothing was changed.</p><p><a href=\"/admin/console/login\">Sign in</a></p></section>",
            ));
        }
        Err(r) => return Err(refusal_page(state, req, r)),
    };
    let fields = std::str::from_utf8(body)
        .ok()
        .filter(|_| body.len() <= MAX_FORM)
        .and_then(parse_urlencoded)
        .unwrap_or_default();
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str());
    let token = cookie(req, SESSION).unwrap_or_default();
    if !csrf.is_some_and(|c| state.form_key().verify(CSRF, &[&token], c)) {
        refused_event(state, req, Some(session.user_name.clone()), "csrf");
        return Err(page(
            StatusCode::FORBIDDEN,
            "Refused",
            Some(&session),
            "<section><h1>Refused</h1><p class=\"error\">The form's anti-forgery token is missing or not this session's; nothing was changed. Reload the page and try again.</p></section>",
        ));
    }
    Ok((session, fields))
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Runs a domain call on the blocking pool.
async fn blocking<R: Send + 'static>(
    state: &State,
    f: impl FnOnce(&crate::state::Service) -> Result<R, super::AdminError> + Send + 'static,
) -> Result<R, super::AdminError> {
    let service = state.service.clone();
    web::block(move || f(&service))
        .await
        .unwrap_or_else(|_| Err(super::AdminError::Unavailable("shutting down".to_owned())))
}

/// The result of an action: back to `location` with a note, or the error page (audited).
fn finish(
    state: &AppState,
    req: &HttpRequest,
    session: &Session,
    action: &'static str,
    target: &str,
    result: Result<String, super::AdminError>,
    location: &str,
) -> HttpResponse {
    match result {
        Ok(note) => {
            audited(state, session, action, target);
            see_other(&with_query(location, &[("done", &note)]))
        }
        Err(e) => {
            let (status, reason) = e.status_and_reason();
            refused_event(state, req, Some(session.user_name.clone()), reason);
            page(
                status,
                "Refused",
                Some(session),
                &format!(
                    "<section><h1>Refused</h1><p class=\"error\">{}</p><p><a href=\"{}\">Back</a></p></section>",
                    escape(&e.detail(&state.error_id())),
                    escape(location)
                ),
            )
        }
    }
}

fn done_note(req: &HttpRequest) -> String {
    parse_urlencoded(req.query_string())
        .and_then(|q| q.into_iter().find(|(k, _)| k == "done").map(|(_, v)| v))
        .map(|note| format!("<p class=\"note\">{}</p>", escape(&note)))
        .unwrap_or_default()
}

// ---- sign-in -----------------------------------------------------------------------------

async fn to_index() -> HttpResponse {
    see_other("/admin/console/")
}

fn secure_cookie(name: &str, value: &str, same_site: &str, max_age: i64) -> String {
    format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite={same_site}; Max-Age={max_age}")
}

async fn login(state: State, req: HttpRequest) -> HttpResponse {
    let nonce = gatehouse_domain::forms::new_form_cookie(state.rng());
    let key = state.form_key();
    let verifier = key.token(VERIFIER, &[&nonce]);
    let admin = base_of(&req);
    let location = with_query(
        &format!("{}/oauth2/authorize", state.issuer()),
        &[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", &redirect_uri(&admin)),
            ("state", &key.token(STATE, &[&nonce])),
            ("code_challenge", &gatehouse_domain::pkce::s256(&verifier)),
            ("code_challenge_method", "S256"),
        ],
    );
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::SET_COOKIE, secure_cookie(LOGIN, &nonce, "Lax", 600)))
        .finish()
}

async fn callback(state: State, req: HttpRequest) -> HttpResponse {
    let query = parse_urlencoded(req.query_string()).unwrap_or_default();
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let nonce = cookie(&req, LOGIN).filter(|n| gatehouse_domain::forms::is_form_cookie(n));
    let key = state.form_key().clone();
    let (Some(nonce), Some(code), Some(st)) = (nonce, get("code"), get("state")) else {
        refused_event(&state, &req, None, "invalid_request");
        return sign_in_failed("The sign-in was not started here, or was cancelled.");
    };
    if !key.verify(STATE, &[&nonce], &st) {
        refused_event(&state, &req, None, "csrf");
        return sign_in_failed("The sign-in's state does not match this browser's.");
    }
    let verifier = key.token(VERIFIER, &[&nonce]);
    let admin = base_of(&req);
    let caller = req.peer_addr().map(|a| a.ip());
    let exchanged = blocking(&state, move |s| {
        s.exchange_code(
            &ClientAuth::new(CLIENT_ID, None),
            &code,
            CodeBinding {
                redirect_uri: Some(redirect_uri(&admin)),
                code_verifier: Some(verifier),
            },
            caller,
            false,
        )
        .map_err(super::AdminError::from)
    })
    .await;
    let Ok(tokens) = exchanged else {
        refused_event(&state, &req, None, "invalid_token");
        return sign_in_failed("The authorization code was refused.");
    };
    let user = tokens.user.clone();
    let Some(user) = user.filter(|u| u.flags.operator) else {
        let name = tokens.user.map(|u| u.user_name);
        // The token is of no use to anyone: its session ends at once.
        let token = tokens.access_token.expose().to_owned();
        let _ = blocking(&state, move |s| {
            s.end_session_of_token(&token)
                .map_err(super::AdminError::from)
        })
        .await;
        return refusal_page(&state, &req, Refusal::NotOperator(name.unwrap_or_default()));
    };
    let session = Session {
        user_name: user.user_name,
        csrf: String::new(),
    };
    audited(&state, &session, "console.sign_in", &session.user_name);
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/admin/console/"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .append_header((
            header::SET_COOKIE,
            secure_cookie(
                SESSION,
                tokens.access_token.expose(),
                "Strict",
                tokens.expires_in.whole_seconds(),
            ),
        ))
        .append_header((header::SET_COOKIE, secure_cookie(LOGIN, "", "Lax", 0)))
        .finish()
}

fn sign_in_failed(why: &str) -> HttpResponse {
    page(
        StatusCode::BAD_REQUEST,
        "Sign-in failed",
        None,
        &format!(
            "<section><h1>Sign-in failed</h1><p class=\"error\">{}</p><p><a href=\"/admin/console/login\">Sign in again</a></p></section>",
            escape(why)
        ),
    )
}

async fn logout(state: State, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let (session, _) = match form_of(&state, &req, &body).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let token = cookie(&req, SESSION).unwrap_or_default();
    let _ = blocking(&state, move |s| {
        s.end_session_of_token(&token)
            .map_err(super::AdminError::from)
    })
    .await;
    audited(&state, &session, "console.sign_out", &session.user_name);
    respond(
        StatusCode::OK,
        document(
            "Signed out",
            None,
            "<section><h1>Signed out</h1><p><a href=\"/admin/console/login\">Sign in</a></p></section>",
        ),
        &[secure_cookie(SESSION, "", "Strict", 0)],
    )
}

// ---- users -------------------------------------------------------------------------------

async fn index(state: State, req: HttpRequest) -> HttpResponse {
    let session = match session(&state, &req).await {
        Ok(s) => s,
        Err(r) => return refusal_page(&state, &req, r),
    };
    let query = parse_urlencoded(req.query_string()).unwrap_or_default();
    let filter = query
        .into_iter()
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty());
    let f = filter.clone();
    let users = match blocking(&state, move |s| Ok(s.list_users(f.as_deref())?)).await {
        Ok(u) => u,
        Err(e) => {
            return finish(
                &state,
                &req,
                &session,
                "user.list",
                "",
                Err(e),
                "/admin/console/",
            )
        }
    };
    audited(
        &state,
        &session,
        "user.list",
        filter.as_deref().unwrap_or(""),
    );
    let rows: Vec<Vec<String>> = users
        .iter()
        .take(200)
        .map(|u| {
            vec![
                format!(
                    "<a href=\"/admin/console/users/{}\">{}</a>",
                    seg(&u.user_name),
                    escape(&u.user_name)
                ),
                escape(u.profile.name.as_deref().unwrap_or("-")),
                escape(u.profile.email.as_deref().unwrap_or("-")),
                escape(&view::flags(u)),
            ]
        })
        .collect();
    let body = format!(
        "<section><h1>Users</h1><form method=\"get\" action=\"/admin/console/\">\
<label for=\"q\">Search by name, full name or e-mail</label><br>\
<input type=\"search\" id=\"q\" name=\"q\" value=\"{}\"> <button type=\"submit\">Search</button></form></section>\
<section><h2>{} user(s){}</h2>{}</section>",
        escape(filter.as_deref().unwrap_or("")),
        users.len(),
        if users.len() > 200 { ", the first 200 shown" } else { "" },
        table(&["user", "name", "e-mail", "flags"], &rows)
    );
    page(StatusCode::OK, "Users", Some(&session), &body)
}

async fn user_page(state: State, req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    let session = match session(&state, &req).await {
        Ok(s) => s,
        Err(r) => return refusal_page(&state, &req, r),
    };
    let name = name.into_inner();
    let n = name.clone();
    let details = match blocking(&state, move |s| Ok(s.user_details(&n)?)).await {
        Ok(d) => view::user_details_json(&d),
        Err(e) => {
            return finish(
                &state,
                &req,
                &session,
                "user.show",
                &name,
                Err(e),
                "/admin/console/",
            )
        }
    };
    audited(&state, &session, "user.show", &name);
    let base = format!("/admin/console/users/{}", seg(&name));
    let user = &details["user"];
    let disabled = user["disabled"] == Value::Bool(true);
    let lockouts: Vec<Vec<String>> = details["lockouts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            vec![
                text(&l["key"]),
                text(&l["failures"]),
                text(&l["last_failure_at"]),
                if l["locked"] == Value::Bool(true) {
                    format!(
                        "<span class=\"locked\">locked until {}</span>",
                        text(&l["locked_until"])
                    )
                } else {
                    "not locked".to_owned()
                },
            ]
        })
        .collect();
    let sessions: Vec<Vec<String>> = details["sessions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            vec![
                format!("<code>{}</code>", text(&s["id"])),
                text(&s["client_id"]),
                text(&s["grant"]),
                text(&s["caller_ip"]),
                text(&s["created_at"]),
                text(&s["last_used_at"]),
            ]
        })
        .collect();
    let browsers: Vec<Vec<String>> = details["browser_sessions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| {
            vec![
                format!("<code>{}</code>", text(&b["id"])),
                text(&b["authenticated_at"]),
                text(&b["expires_at"]),
            ]
        })
        .collect();
    let address = "<label>address <input type=\"text\" name=\"address\" placeholder=\"optional: 203.0.113.7\"></label> ";
    let body = format!(
        "{note}<section><h1>{name}</h1><p>flags: {flags} · created {created}{email}</p>\
{toggle}{end}</section>\
<section><h2>Lockout</h2>{lockouts}{unlock}</section>\
<section><h2>Live sessions ({n})</h2>{sessions}</section>\
<section><h2>Browser sessions ({m})</h2>{browsers}</section>",
        note = done_note(&req),
        name = escape(&name),
        flags = escape(&flags_of(user)),
        created = text(&user["created_at"]),
        email = user["email"]
            .as_str()
            .map(|e| format!(" · {}", escape(e)))
            .unwrap_or_default(),
        toggle = if disabled {
            button(&session, &format!("{base}/enable"), "Enable", "", "")
        } else {
            button(
                &session,
                &format!("{base}/disable"),
                "Disable",
                "danger",
                "",
            )
        },
        end = button(
            &session,
            &format!("{base}/end-sessions"),
            "End all sessions",
            "danger",
            ""
        ),
        lockouts = table(&["key", "failures", "last failure", "state"], &lockouts),
        unlock = button(&session, &format!("{base}/unlock"), "Unlock", "", address),
        n = sessions.len(),
        sessions = table(
            &[
                "session",
                "client",
                "grant",
                "address",
                "created",
                "last used"
            ],
            &sessions
        ),
        m = browsers.len(),
        browsers = table(&["session", "signed in", "ends"], &browsers),
    );
    page(StatusCode::OK, &name, Some(&session), &body)
}

async fn user_action(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let (session, fields) = match form_of(&state, &req, &body).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (name, action) = path.into_inner();
    let location = format!("/admin/console/users/{}", seg(&name));
    let n = name.clone();
    let (audit_action, result): (&'static str, _) = match action.as_str() {
        "disable" | "enable" => {
            let off = action == "disable";
            let r = blocking(&state, move |s| {
                s.set_user_disabled(&n, off)?;
                Ok(format!("{n} {}", if off { "disabled" } else { "enabled" }))
            })
            .await;
            (if off { "user.disable" } else { "user.enable" }, r)
        }
        "unlock" => {
            let address = field(&fields, "address").unwrap_or("").trim().to_owned();
            let r = blocking(&state, move |s| {
                let addresses = match address.as_str() {
                    "" => Vec::new(),
                    a => vec![a.parse().map_err(|_| {
                        super::AdminError::BadInput(format!("not an IP address: {a}"))
                    })?],
                };
                let cleared = s.unlock_user(&n, &addresses)?;
                Ok(if cleared.is_empty() {
                    format!("{n}: no failed logins were recorded")
                } else {
                    format!("failed logins forgotten: {}", cleared.join(", "))
                })
            })
            .await;
            ("user.unlock", r)
        }
        "end-sessions" => {
            let r = blocking(&state, move |s| {
                let ended = s.end_sessions_of_user(&n)?;
                Ok(format!("{} sessions of {n} ended", ended.ended))
            })
            .await;
            ("user.end_sessions", r)
        }
        _ => {
            return super::not_found(state, req).await;
        }
    };
    finish(
        &state,
        &req,
        &session,
        audit_action,
        &name,
        result,
        &location,
    )
}

// ---- clients -----------------------------------------------------------------------------

async fn clients_page(state: State, req: HttpRequest) -> HttpResponse {
    let session = match session(&state, &req).await {
        Ok(s) => s,
        Err(r) => return refusal_page(&state, &req, r),
    };
    let clients = match blocking(&state, |s| Ok(s.list_clients()?)).await {
        Ok(c) => c,
        Err(e) => {
            return finish(
                &state,
                &req,
                &session,
                "client.list",
                "",
                Err(e),
                "/admin/console/",
            )
        }
    };
    audited(&state, &session, "client.list", "");
    let rows: Vec<Vec<String>> = clients
        .iter()
        .map(|c| {
            vec![
                escape(&c.client_id),
                escape(c.client_name.as_deref().unwrap_or("-")),
                escape(&c.grants.to_names()),
                escape(&c.scope),
                if c.secret_hash.is_some() {
                    button(
                        &session,
                        &format!("/admin/console/clients/{}/rotate-secret", seg(&c.client_id)),
                        "Rotate secret",
                        "danger",
                        "",
                    )
                } else {
                    "public".to_owned()
                },
            ]
        })
        .collect();
    let body = format!(
        "{}<section><h1>Clients</h1>{}</section>",
        done_note(&req),
        table(&["client", "name", "grants", "scope", "secret"], &rows)
    );
    page(StatusCode::OK, "Clients", Some(&session), &body)
}

async fn rotate_secret(
    state: State,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let (session, _) = match form_of(&state, &req, &body).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let id = id.into_inner();
    let c = id.clone();
    match blocking(&state, move |s| Ok(s.rotate_client_secret(&c)?)).await {
        Ok(secret) => {
            audited(&state, &session, "client.rotate_secret", &id);
            let body = format!(
                "<section><h1>New secret of {id}</h1><p class=\"note\">Shown once: the old secret no longer works. Deploy this one to the client now.</p>\
<p><code id=\"secret\">{secret}</code></p><p><a href=\"/admin/console/clients\">Back to the clients</a></p></section>",
                id = escape(&id),
                secret = escape(secret.expose())
            );
            page(StatusCode::OK, "New secret", Some(&session), &body)
        }
        Err(e) => finish(
            &state,
            &req,
            &session,
            "client.rotate_secret",
            &id,
            Err(e),
            "/admin/console/clients",
        ),
    }
}

// ---- keys --------------------------------------------------------------------------------

async fn keys_page(state: State, req: HttpRequest) -> HttpResponse {
    let session = match session(&state, &req).await {
        Ok(s) => s,
        Err(r) => return refusal_page(&state, &req, r),
    };
    let keys = match blocking(&state, |s| Ok(s.list_keys()?)).await {
        Ok(k) => k,
        Err(e) => {
            return finish(
                &state,
                &req,
                &session,
                "keys.list",
                "",
                Err(e),
                "/admin/console/",
            )
        }
    };
    audited(&state, &session, "keys.list", "");
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|(k, status)| {
            let j = view::key_json(k, *status);
            vec![
                format!("<code>{}</code>", escape(&k.kid)),
                escape(k.alg.as_str()),
                escape(status.as_str()),
                text(&j["activates_at"]),
                text(&j["published_until"]),
                if k.retired_at.is_none() {
                    button(
                        &session,
                        &format!("/admin/console/keys/{}/retire", seg(&k.kid)),
                        "Retire",
                        "danger",
                        "",
                    )
                } else {
                    "-".to_owned()
                },
            ]
        })
        .collect();
    let algs: String = Alg::ALL
        .iter()
        .map(|a| format!("<option>{}</option>", a.as_str()))
        .collect();
    let rotate = button(
        &session,
        "/admin/console/keys",
        "Add a key",
        "",
        &format!("<label>algorithm <select name=\"alg\">{algs}</select></label> "),
    );
    let body = format!(
        "{}<section><h1>Signing keys</h1>{}</section><section><h2>Rotate</h2><p>A new key is published at once and signs after 10 minutes (longer than any JWKS cache).</p>{rotate}</section>",
        done_note(&req),
        table(&["kid", "alg", "status", "signs from", "published until", ""], &rows),
    );
    page(StatusCode::OK, "Keys", Some(&session), &body)
}

async fn rotate_key(state: State, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let (session, fields) = match form_of(&state, &req, &body).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let alg = field(&fields, "alg").unwrap_or("").to_owned();
    let target = alg.clone();
    let result = blocking(&state, move |s| {
        let alg = Alg::parse(&alg).ok_or_else(|| {
            super::AdminError::BadInput("alg must be RS256, ES256 or EdDSA".to_owned())
        })?;
        if s.key_ring().is_none() {
            return Err(super::AdminError::Unavailable(
                "signing keys are off: the server has no --key-encryption-key-file".to_owned(),
            ));
        }
        let key = s.rotate_key(alg, time::Duration::seconds(600))?;
        Ok(format!(
            "key {} ({}) added; it signs from {}",
            key.kid,
            key.alg,
            view::when(key.activates_at)
        ))
    })
    .await;
    finish(
        &state,
        &req,
        &session,
        "keys.rotate",
        &target,
        result,
        "/admin/console/keys",
    )
}

async fn retire_key(
    state: State,
    req: HttpRequest,
    kid: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let (session, _) = match form_of(&state, &req, &body).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let kid = kid.into_inner();
    let k = kid.clone();
    let result = blocking(&state, move |s| {
        let until = s.retire_key(&k, None)?;
        Ok(format!(
            "key {k} retired; published until {}",
            view::when(until)
        ))
    })
    .await;
    finish(
        &state,
        &req,
        &session,
        "keys.retire",
        &kid,
        result,
        "/admin/console/keys",
    )
}

// ---- audit -------------------------------------------------------------------------------

async fn audit_page(state: State, req: HttpRequest) -> HttpResponse {
    let session = match session(&state, &req).await {
        Ok(s) => s,
        Err(r) => return refusal_page(&state, &req, r),
    };
    let path = state.config.audit_log.clone();
    let events = match blocking(&state, move |_| api::recent_events(path.as_deref(), 200)).await {
        Ok(e) => e,
        Err(e) => {
            return finish(
                &state,
                &req,
                &session,
                "audit.read",
                "",
                Err(e),
                "/admin/console/",
            )
        }
    };
    audited(&state, &session, "audit.read", "");
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            let details: Vec<String> = e
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, _)| !matches!(k.as_str(), "ts" | "event" | "pid"))
                .map(|(k, v)| format!("{}={}", escape(k), text(v)))
                .collect();
            vec![text(&e["ts"]), text(&e["event"]), details.join(" ")]
        })
        .collect();
    let body = format!(
        "<section><h1>Audit trail</h1><p>The newest {} events of the audit log, newest first.</p>{}</section>",
        rows.len(),
        table(&["time", "event", "details"], &rows)
    );
    page(StatusCode::OK, "Audit", Some(&session), &body)
}
