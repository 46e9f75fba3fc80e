//! The admin API's handlers: each names its audited action and target, and makes one
//! domain call (the command line's) inside [`super::run`].

use std::net::IpAddr;

use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_domain::keys::Alg;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{method_not_allowed, parse_body, parse_query, run, AdminError};
use crate::cli::{client, view};
use crate::state::AppState;

/// The admin API's OpenAPI 3.1 document.
pub const OPENAPI: &str = include_str!("openapi.json");

/// The most audit events one call returns.
const MAX_AUDIT_EVENTS: usize = 1000;

type State = web::Data<AppState>;
type Name = web::Path<String>;

fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/admin/v1/openapi.json").route(web::get().to(openapi)))
        .service(resource("/admin/v1/users").route(web::get().to(users)))
        .service(resource("/admin/v1/users/{name}").route(web::get().to(user)))
        .service(resource("/admin/v1/users/{name}/enable").route(web::post().to(enable)))
        .service(resource("/admin/v1/users/{name}/disable").route(web::post().to(disable)))
        .service(resource("/admin/v1/users/{name}/unlock").route(web::post().to(unlock)))
        .service(
            resource("/admin/v1/users/{name}/end-sessions").route(web::post().to(end_sessions)),
        )
        .service(resource("/admin/v1/clients").route(web::get().to(clients)))
        .service(
            resource("/admin/v1/clients/{id}")
                .route(web::get().to(client_show))
                .route(web::patch().to(client_update)),
        )
        .service(
            resource("/admin/v1/clients/{id}/rotate-secret").route(web::post().to(rotate_secret)),
        )
        .service(resource("/admin/v1/sessions").route(web::get().to(sessions)))
        .service(
            resource("/admin/v1/keys")
                .route(web::get().to(keys))
                .route(web::post().to(rotate_key)),
        )
        .service(resource("/admin/v1/keys/{kid}/retire").route(web::post().to(retire_key)))
        .service(resource("/admin/v1/lockouts").route(web::get().to(lockouts)))
        .service(resource("/admin/v1/audit").route(web::get().to(audit)));
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersQuery {
    filter: Option<String>,
}

async fn users(state: State, req: HttpRequest) -> HttpResponse {
    let query = parse_query::<UsersQuery>(&req);
    let target = query
        .as_ref()
        .ok()
        .and_then(|q| q.filter.clone())
        .unwrap_or_default();
    run(state, req, "user.list", target, move |s| {
        let users = s.list_users(query?.filter.as_deref())?;
        Ok(Value::Array(users.iter().map(view::user_json).collect()))
    })
    .await
}

async fn user(state: State, req: HttpRequest, name: Name) -> HttpResponse {
    let name = name.into_inner();
    run(state, req, "user.show", name.clone(), move |s| {
        Ok(view::user_details_json(&s.user_details(&name)?))
    })
    .await
}

async fn enable(state: State, req: HttpRequest, name: Name) -> HttpResponse {
    set_disabled(state, req, name.into_inner(), false).await
}

async fn disable(state: State, req: HttpRequest, name: Name) -> HttpResponse {
    set_disabled(state, req, name.into_inner(), true).await
}

async fn set_disabled(state: State, req: HttpRequest, name: String, off: bool) -> HttpResponse {
    let action = if off { "user.disable" } else { "user.enable" };
    run(state, req, action, name.clone(), move |s| {
        s.set_user_disabled(&name, off)?;
        Ok(json!({"user_name": name, "disabled": off}))
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnlockBody {
    #[serde(default)]
    addresses: Vec<IpAddr>,
}

async fn unlock(state: State, req: HttpRequest, name: Name, body: web::Bytes) -> HttpResponse {
    let name = name.into_inner();
    run(state, req, "user.unlock", name.clone(), move |s| {
        let body: UnlockBody = parse_body(&body)?;
        let cleared = s.unlock_user(&name, &body.addresses)?;
        Ok(json!({"user_name": name, "cleared": cleared}))
    })
    .await
}

async fn end_sessions(state: State, req: HttpRequest, name: Name) -> HttpResponse {
    let name = name.into_inner();
    run(state, req, "user.end_sessions", name.clone(), move |s| {
        let ended = s.end_sessions_of_user(&name)?;
        Ok(json!({"user_name": name, "ended": ended.ended}))
    })
    .await
}

async fn clients(state: State, req: HttpRequest) -> HttpResponse {
    run(state, req, "client.list", String::new(), move |s| {
        let clients = s.list_clients()?;
        Ok(Value::Array(
            clients.iter().map(view::client_json).collect(),
        ))
    })
    .await
}

async fn client_show(state: State, req: HttpRequest, id: Name) -> HttpResponse {
    let id = id.into_inner();
    run(state, req, "client.show", id.clone(), move |s| {
        Ok(view::client_json(&s.client_details(&id)?))
    })
    .await
}

async fn client_update(state: State, req: HttpRequest, id: Name, body: web::Bytes) -> HttpResponse {
    let id = id.into_inner();
    run(state, req, "client.update", id.clone(), move |s| {
        let changes: client::UpdateArgs = serde_json::from_slice(&body)
            .map_err(|e| AdminError::BadInput(format!("request body: {e}")))?;
        if !changes.client_id.is_empty() && changes.client_id != id {
            return Err(AdminError::BadInput(
                "client_id: the client is named by the path".to_owned(),
            ));
        }
        let spec = client::update_spec(
            s,
            client::UpdateArgs {
                client_id: id,
                ..changes
            },
        )?;
        Ok(view::client_json(&s.update_client(spec)?))
    })
    .await
}

async fn rotate_secret(state: State, req: HttpRequest, id: Name) -> HttpResponse {
    let id = id.into_inner();
    run(state, req, "client.rotate_secret", id.clone(), move |s| {
        let secret = s.rotate_client_secret(&id)?;
        Ok(json!({"client_id": id, "client_secret": secret.expose()}))
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionsQuery {
    user: String,
}

async fn sessions(state: State, req: HttpRequest) -> HttpResponse {
    let query = parse_query::<SessionsQuery>(&req);
    let target = query.as_ref().map(|q| q.user.clone()).unwrap_or_default();
    run(state, req, "session.list", target, move |s| {
        let details = view::user_details_json(&s.user_details(&query?.user)?);
        Ok(json!({
            "user_name": details["user"]["user_name"],
            "sessions": details["sessions"],
            "browser_sessions": details["browser_sessions"],
            "truncated": details["truncated"],
        }))
    })
    .await
}

async fn keys(state: State, req: HttpRequest) -> HttpResponse {
    run(state, req, "keys.list", String::new(), move |s| {
        let keys = s.list_keys()?;
        Ok(Value::Array(
            keys.iter().map(|(k, st)| view::key_json(k, *st)).collect(),
        ))
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RotateBody {
    alg: String,
    publish_delay: i64,
}

impl Default for RotateBody {
    /// The command line's defaults.
    fn default() -> Self {
        Self {
            alg: "RS256".to_owned(),
            publish_delay: 600,
        }
    }
}

async fn rotate_key(state: State, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let body = parse_body::<RotateBody>(&body);
    let target = body.as_ref().map(|b| b.alg.clone()).unwrap_or_default();
    run(state, req, "keys.rotate", target, move |s| {
        let body = body?;
        let alg = Alg::parse(&body.alg)
            .ok_or_else(|| AdminError::BadInput("alg must be RS256, ES256 or EdDSA".to_owned()))?;
        if !(0..=366 * 86_400).contains(&body.publish_delay) {
            return Err(AdminError::BadInput(
                "publish_delay must be 0 to 31622400 seconds".to_owned(),
            ));
        }
        if s.key_ring().is_none() {
            return Err(AdminError::Unavailable(
                "signing keys are off: the server has no --key-encryption-key-file".to_owned(),
            ));
        }
        let key = s.rotate_key(alg, time::Duration::seconds(body.publish_delay))?;
        let status = gatehouse_domain::keys::KeyStatus::Pending;
        Ok(view::key_json(&key, status))
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RetireBody {
    keep_published_for: Option<i64>,
}

async fn retire_key(state: State, req: HttpRequest, kid: Name, body: web::Bytes) -> HttpResponse {
    let kid = kid.into_inner();
    run(state, req, "keys.retire", kid.clone(), move |s| {
        let body: RetireBody = parse_body(&body)?;
        if body
            .keep_published_for
            .is_some_and(|k| !(0..=366 * 86_400).contains(&k))
        {
            return Err(AdminError::BadInput(
                "keep_published_for must be 0 to 31622400 seconds".to_owned(),
            ));
        }
        let until = s.retire_key(&kid, body.keep_published_for.map(time::Duration::seconds))?;
        Ok(json!({"kid": kid, "published_until": view::when(until)}))
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LockoutsQuery {
    prefix: Option<String>,
}

async fn lockouts(state: State, req: HttpRequest) -> HttpResponse {
    let query = parse_query::<LockoutsQuery>(&req);
    let target = query
        .as_ref()
        .ok()
        .and_then(|q| q.prefix.clone())
        .unwrap_or_default();
    run(state, req, "lockout.list", target, move |s| {
        let records = s.list_lockouts(query?.prefix.as_deref())?;
        Ok(Value::Array(
            records.iter().map(view::lockout_json).collect(),
        ))
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    limit: Option<usize>,
}

async fn audit(state: State, req: HttpRequest) -> HttpResponse {
    let query = parse_query::<AuditQuery>(&req);
    let path = state.config.audit_log.clone();
    run(state, req, "audit.read", String::new(), move |_| {
        let limit = query?.limit.unwrap_or(100);
        if limit == 0 || limit > MAX_AUDIT_EVENTS {
            return Err(AdminError::BadInput(format!(
                "limit must be 1 to {MAX_AUDIT_EVENTS}"
            )));
        }
        recent_events(path.as_deref(), limit).map(Value::Array)
    })
    .await
}

/// The newest `limit` events of the `--audit-log` file (newest first).
///
/// # Errors
/// [`AdminError::Unavailable`] without a file.
pub(crate) fn recent_events(
    path: Option<&std::path::Path>,
    limit: usize,
) -> Result<Vec<Value>, AdminError> {
    let path = path.filter(|p| p.as_os_str() != "-").ok_or_else(|| {
        AdminError::Unavailable(
            "the audit trail is read from the --audit-log file, and none is configured".to_owned(),
        )
    })?;
    crate::audit_log::tail(path, limit)
        .map_err(|e| AdminError::Unavailable(format!("the audit log cannot be read: {}", e.kind())))
}
