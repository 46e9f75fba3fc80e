//! The HTML of the login, consent, error and logout pages: one inline stylesheet, no script,
//! no external asset (they work offline), every value escaped.

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;

use crate::http::Endpoint;

/// The product's name, shown on every page.
pub const PRODUCT: &str = "Gatehouse";

/// `default-src 'none'` with only the inline stylesheet allowed; never framed. No
/// `form-action`: the login form's answer redirects to the client's redirect URI, which a
/// `form-action 'self'` would block.
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'; frame-ancestors 'none'";

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;\
background:#eef1f5;color:#1d2430;font:16px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}\
main{width:100%;max-width:380px;margin:24px;background:#fff;border-radius:10px;\
box-shadow:0 2px 12px rgba(20,30,50,.12);padding:32px 28px}\
.brand{font-weight:700;letter-spacing:.02em;color:#24508f;font-size:14px;text-transform:uppercase;margin:0 0 18px}\
h1{font-size:22px;margin:0 0 6px}\
p.sub{margin:0 0 22px;color:#566173}\
label{display:block;font-size:14px;font-weight:600;margin:14px 0 6px}\
input[type=text],input[type=password]{width:100%;padding:10px 12px;border:1px solid #b9c2cf;\
border-radius:6px;font-size:16px}\
input:focus{outline:2px solid #24508f;outline-offset:1px}\
button{margin-top:22px;width:100%;padding:11px;border:0;border-radius:6px;background:#24508f;\
color:#fff;font-size:16px;font-weight:600;cursor:pointer}\
button.secondary{background:#e3e7ee;color:#1d2430;margin-top:10px}\
.error{background:#fdecec;border:1px solid #f3b4b4;color:#8a1c1c;border-radius:6px;padding:10px 12px;margin:0 0 8px}\
ul.scope{padding-left:20px;margin:8px 0 0}\
code{background:#f1f3f6;padding:1px 4px;border-radius:4px}\
footer{margin-top:22px;font-size:12px;color:#7a8496;text-align:center}";

/// The one HTML escaper (content and double-quoted attribute values), shared with the
/// help pages.
pub use gatehouse_help::html::escape;

fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta name=\"referrer\" content=\"no-referrer\">\
<title>{title} · {PRODUCT}</title><style>{STYLE}</style></head>\
<body><main><p class=\"brand\">{PRODUCT}</p>{body}\
<footer>{PRODUCT} sign-in</footer></main></body></html>\n",
        title = escape(title),
    )
}

/// A page response with the headers every page carries.
pub fn respond(status: StatusCode, html: String, cookies: &[String]) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    for cookie in cookies {
        res.append_header((header::SET_COOKIE, cookie.as_str()));
    }
    res.body(html)
}

fn hidden(fields: &[(&str, String)]) -> String {
    fields
        .iter()
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(name),
                escape(value)
            )
        })
        .collect()
}

/// The login form.
pub fn login(
    client_id: &str,
    fields: &[(&str, String)],
    csrf: &str,
    user_name: &str,
    message: Option<&str>,
) -> String {
    login_at(
        Endpoint::Login.route(),
        client_id,
        fields,
        csrf,
        user_name,
        message,
    )
}

fn error_line(message: Option<&str>) -> String {
    message
        .map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(m)))
        .unwrap_or_default()
}

/// The login form, posted to `action` (the authorization flow's, or the device page's).
pub fn login_at(
    action: &str,
    client_id: &str,
    fields: &[(&str, String)],
    csrf: &str,
    user_name: &str,
    message: Option<&str>,
) -> String {
    let error = message
        .map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(m)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Sign in</h1><p class=\"sub\">to continue to <strong>{client}</strong></p>{error}\
<form method=\"post\" action=\"{action}\" autocomplete=\"on\">{hidden}\
<input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
<label for=\"username\">User name</label>\
<input type=\"text\" id=\"username\" name=\"username\" value=\"{user}\" autocomplete=\"username\" \
autocapitalize=\"none\" spellcheck=\"false\" required autofocus>\
<label for=\"password\">Password</label>\
<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
<button type=\"submit\" id=\"submit\">Sign in</button></form>",
        client = escape(client_id),
        action = escape(action),
        hidden = hidden(fields),
        csrf = escape(csrf),
        user = escape(user_name),
    );
    document("Sign in", &body)
}

/// The consent page, listing the scope.
pub fn consent(
    client_id: &str,
    user_name: &str,
    scope: &str,
    fields: &[(&str, String)],
    csrf: &str,
) -> String {
    let items: String = if scope.is_empty() {
        "<li>Your identity only (no other scope)</li>".to_owned()
    } else {
        scope
            .split_ascii_whitespace()
            .map(|s| format!("<li><code>{}</code></li>", escape(s)))
            .collect()
    };
    let body = format!(
        "<h1>Allow access?</h1><p class=\"sub\"><strong>{client}</strong> asks to act for \
<strong>{user}</strong> with this scope:</p><ul class=\"scope\">{items}</ul>\
<form method=\"post\" action=\"{action}\">{hidden}\
<input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
<button type=\"submit\" name=\"decision\" value=\"allow\" id=\"allow\">Allow</button>\
<button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\" class=\"secondary\">Deny</button>\
</form>",
        client = escape(client_id),
        user = escape(user_name),
        action = Endpoint::Consent.route(),
        hidden = hidden(fields),
        csrf = escape(csrf),
    );
    document("Allow access", &body)
}

/// The device verification page (RFC 8628 section 3.3): the user code entry form, filled
/// in when the device sent the user to `verification_uri_complete`.
pub fn device_entry(csrf: &str, user_code: &str, message: Option<&str>) -> String {
    let body = format!(
        "<h1>Connect a device</h1><p class=\"sub\">Enter the code shown on your device.</p>{error}\
<form method=\"post\" action=\"{action}\" autocomplete=\"off\">\
<input type=\"hidden\" name=\"step\" value=\"code\">\
<input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
<label for=\"user_code\">Code</label>\
<input type=\"text\" id=\"user_code\" name=\"user_code\" value=\"{code}\" placeholder=\"XXXX-XXXX\" \
autocapitalize=\"characters\" spellcheck=\"false\" maxlength=\"32\" required autofocus>\
<button type=\"submit\" id=\"continue\">Continue</button></form>",
        error = error_line(message),
        action = Endpoint::Device.route(),
        csrf = escape(csrf),
        code = escape(user_code),
    );
    document("Connect a device", &body)
}

/// The device consent page: the client, the scope, and the user code to compare with the
/// one on the device (section 5.4: the user confirms it is their device).
pub fn device_consent(
    client: &str,
    user_name: &str,
    scope: &str,
    user_code: &str,
    csrf: &str,
) -> String {
    let items: String = if scope.is_empty() {
        "<li>Your identity only (no other scope)</li>".to_owned()
    } else {
        scope
            .split_ascii_whitespace()
            .map(|s| format!("<li><code>{}</code></li>", escape(s)))
            .collect()
    };
    let body = format!(
        "<h1>Allow this device?</h1><p class=\"sub\"><strong>{client}</strong> on a device asks to \
act for <strong>{user}</strong> with this scope:</p><ul class=\"scope\">{items}</ul>\
<p class=\"sub\">Allow only if your device shows the code <strong id=\"shown_code\">{code}</strong>.</p>\
<form method=\"post\" action=\"{action}\">\
<input type=\"hidden\" name=\"step\" value=\"decide\">\
<input type=\"hidden\" name=\"user_code\" value=\"{code}\">\
<input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
<button type=\"submit\" name=\"decision\" value=\"allow\" id=\"allow\">Allow</button>\
<button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\" class=\"secondary\">Deny</button>\
</form>",
        client = escape(client),
        user = escape(user_name),
        code = escape(user_code),
        action = Endpoint::Device.route(),
        csrf = escape(csrf),
    );
    document("Allow this device", &body)
}

/// After the decision.
pub fn device_done(approved: bool) -> String {
    if approved {
        document(
            "Device connected",
            "<h1 id=\"connected\">Device connected</h1><p class=\"sub\">You can return to your device.</p>",
        )
    } else {
        document(
            "Request denied",
            "<h1 id=\"denied\">Request denied</h1><p class=\"sub\">The device was not connected.</p>",
        )
    }
}

/// A page for a request that cannot be sent back to a client.
pub fn error(title: &str, message: &str) -> String {
    let body = format!(
        "<h1>{}</h1><p class=\"error\" role=\"alert\">{}</p>\
<p class=\"sub\">Return to the application and start again.</p>",
        escape(title),
        escape(message)
    );
    document(title, &body)
}

/// The page after a logout that has no post-logout redirect URI.
pub fn signed_out() -> String {
    document(
        "Signed out",
        "<h1>Signed out</h1><p class=\"sub\">Your sign-in session in this browser has ended.</p>",
    )
}

/// The logout confirmation: shown when the request cannot be tied to this browser's session
/// (no `id_token_hint`, or one of another session). `client` asked for it, if known.
pub fn logout_confirm(client: Option<&str>, fields: &[(&str, String)], csrf: &str) -> String {
    let asked = client
        .map(|c| {
            format!(
                "<p class=\"sub\"><strong>{}</strong> asks to sign you out.</p>",
                escape(c)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<h1>Sign out</h1>{asked}<p class=\"sub\">End your sign-in session in this browser?</p>\
<form method=\"post\" action=\"{action}\">{hidden}\
<input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
<button type=\"submit\" id=\"logout\">Sign out</button></form>",
        action = Endpoint::Logout.route(),
        hidden = hidden(fields),
        csrf = escape(csrf),
    );
    document("Sign out", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        let html = login(
            "<script>x</script>",
            &[("state", "\"><img src=x>".to_owned())],
            "t",
            "a'b",
            Some("<b>"),
        );
        assert!(!html.contains("<script>x"), "{html}");
        assert!(!html.contains("\"><img"), "{html}");
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("a&#39;b"));
        assert!(!html.contains("<b>"));
        assert!(!html.contains("<script"));
    }
}
