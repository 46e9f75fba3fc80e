//! `GET|POST /oauth2/logout`: the `end_session_endpoint` of OpenID Connect RP-Initiated
//! Logout 1.0, as ASP.NET Core's OpenID Connect handler uses it (`SignOutAsync` sends the
//! browser here with `id_token_hint`, `post_logout_redirect_uri` and `state`, and expects
//! to come back to its `SignedOutCallbackPath` with that `state`).
//!
//! - The request's rules are the domain's (`check_end_session`): a refused request is a page,
//!   never a redirect; only a registered post-logout redirect URI is ever redirected to.
//! - A request tied to this browser's session (a verified `id_token_hint` naming its `sid`
//!   and `sub`) ends it at once. Any other request, with a live session, shows a
//!   confirmation page whose form carries a token bound to the session cookie
//!   (base64url(SHA-256("gatehouse logout form" NUL cookie))); the POST of that form is
//!   refused without the token, or with an `Origin` other than the issuer's. So a page of
//!   another site cannot end the user's session: it has neither a hint nor the token.
//! - Without a live session there is nothing to end and nothing to confirm: the browser goes
//!   straight to the post-logout redirect URI (or the signed-out page).
//!
//! Ending the browser session is the domain's `end_browser_session`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_domain::logout::{EndSessionError, EndSessionParams, EndSessionRequest};
use gatehouse_models::oauth::read_parameters;

use super::authorize::{
    error_page, field, form_pairs, live_session, names, redirect, server_error, set_cookie,
};
use super::{page, parse_urlencoded, with_query};
use crate::http::request;
use crate::AppState;

type Data = web::Data<AppState>;

const LOGOUT_PURPOSE: &str = "gatehouse logout form";

fn params_from(pairs: &[(String, String)]) -> EndSessionParams {
    let mut p = EndSessionParams::default();
    p.repeated = read_parameters(&mut p, pairs.iter().cloned(), |p, name| match name {
        "id_token_hint" => Some(&mut p.id_token_hint),
        "client_id" => Some(&mut p.client_id),
        "post_logout_redirect_uri" => Some(&mut p.post_logout_redirect_uri),
        "state" => Some(&mut p.state),
        "ui_locales" => Some(&mut p.ui_locales),
        // Others (ASP.NET Core's x-client-SKU, x-client-ver; the form's csrf_token) are
        // not parameters of the request.
        _ => None,
    });
    p
}

/// `GET /oauth2/logout`: an end-session request in the query.
pub(crate) async fn end_session_get(req: HttpRequest, state: Data) -> HttpResponse {
    let Some(pairs) = parse_urlencoded(req.query_string()) else {
        return refused("The request's query string is not valid URL encoding.");
    };
    end_session(&req, &state, &pairs, false).await
}

/// `POST /oauth2/logout`: an end-session request as a form (the RP's, section 2), or the
/// confirmation form (it carries `csrf_token`).
pub(crate) async fn end_session_post(
    req: HttpRequest,
    payload: web::Payload,
    state: Data,
) -> HttpResponse {
    // A POST without a body (a bare sign-out button of an older page) has no parameters.
    let pairs = if request::header_str(&req, header::CONTENT_TYPE).is_none() {
        Vec::new()
    } else {
        match form_pairs(&req, payload, &state).await {
            Ok(pairs) => pairs,
            Err(res) => return res,
        }
    };
    let confirmed = field(&pairs, "csrf_token").is_some();
    end_session(&req, &state, &pairs, confirmed).await
}

fn refused(message: &str) -> HttpResponse {
    page::respond(
        StatusCode::BAD_REQUEST,
        page::error("This sign-out request cannot be completed", message),
        &[],
    )
}

async fn end_session(
    req: &HttpRequest,
    state: &AppState,
    pairs: &[(String, String)],
    confirmation: bool,
) -> HttpResponse {
    let session = live_session(state, req).await;
    let params = params_from(pairs);
    let current = session.as_ref().map(|(info, _)| info.clone());
    let checked = state
        .blocking(move |s| Ok(s.check_end_session(&params, current.as_ref())))
        .await;
    let request = match checked {
        Ok(Ok(request)) => request,
        Ok(Err(EndSessionError::Refused(why))) => {
            tracing::info!(reason = %why, "end-session request refused");
            return refused(&format!("The sign-out request was refused: {why}."));
        }
        Ok(Err(EndSessionError::Internal(e))) => {
            return server_error(state, &format!("logout: {e}"))
        }
        Err(e) => return server_error(state, &format!("logout: {e}")),
    };
    let Some((_, cookie_value)) = session else {
        // Nothing to end in this browser, so nothing to confirm.
        return finish(state, &request);
    };
    if confirmation {
        if !same_origin(req, state)
            || !field(pairs, "csrf_token").is_some_and(|presented| {
                state
                    .form_key()
                    .verify(LOGOUT_PURPOSE, &[&cookie_value], presented)
            })
        {
            tracing::info!(
                "logout form refused: token missing or not this session's, or a foreign Origin"
            );
            return error_page(
                StatusCode::FORBIDDEN,
                "This sign-out form expired or did not come from this site.",
            );
        }
    } else if !request.tied {
        return confirm(state, &request, &cookie_value);
    }
    if let Err(e) = state
        .blocking(move |s| s.end_browser_session(&cookie_value))
        .await
    {
        return server_error(state, &format!("logout: {e}"));
    }
    tracing::info!(client = ?request.client_id, "browser session ended (logout)");
    finish(state, &request)
}

/// The confirmation page, carrying the checked request (checked again when it comes back).
fn confirm(state: &AppState, request: &EndSessionRequest, session_cookie: &str) -> HttpResponse {
    let mut fields = Vec::new();
    if let Some(client) = &request.client_id {
        fields.push(("client_id", client.clone()));
    }
    if let Some(uri) = &request.redirect_uri {
        fields.push(("post_logout_redirect_uri", uri.clone()));
    }
    if let Some(s) = &request.state {
        fields.push(("state", s.clone()));
    }
    page::respond(
        StatusCode::OK,
        page::logout_confirm(
            request.client_name.as_deref(),
            &fields,
            &state.form_key().token(LOGOUT_PURPOSE, &[session_cookie]),
        ),
        &[],
    )
}

/// Back to the registered post-logout redirect URI with `state`, or the signed-out page; the
/// session cookie is cleared either way.
fn finish(state: &AppState, request: &EndSessionRequest) -> HttpResponse {
    let clear = [set_cookie(state, names(state).0, "", Some(0))];
    match &request.redirect_uri {
        Some(uri) => {
            let params: Vec<(&str, &str)> = request
                .state
                .as_deref()
                .map(|s| ("state", s))
                .into_iter()
                .collect();
            redirect(&with_query(uri, &params), &clear)
        }
        None => page::respond(StatusCode::OK, page::signed_out(), &clear),
    }
}

/// No `Origin`, or the issuer's (scheme, host and port).
fn same_origin(req: &HttpRequest, state: &AppState) -> bool {
    let Some(origin) = request::header_str(req, header::ORIGIN) else {
        return true;
    };
    let issuer = state.issuer();
    let authority_end = issuer
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| issuer[start..].find('/').map(|e| start + e))
        .unwrap_or(issuer.len());
    origin.eq_ignore_ascii_case(&issuer[..authority_end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_and_repeats() {
        let pairs = vec![
            ("id_token_hint".to_owned(), "h".to_owned()),
            ("state".to_owned(), "s".to_owned()),
            ("x-client-SKU".to_owned(), "ID_NET8_0".to_owned()),
            ("state".to_owned(), "t".to_owned()),
        ];
        let p = params_from(&pairs);
        assert_eq!(p.id_token_hint.as_deref(), Some("h"));
        assert_eq!(p.state.as_deref(), Some("s"));
        assert_eq!(p.repeated.as_deref(), Some("state"));
    }
}
