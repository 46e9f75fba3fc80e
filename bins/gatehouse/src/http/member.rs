//! The member service's `POST /api/Token`: a member (and optionally one of its sub-accounts)
//! signs in with its password.
//!
//! Legacy quirks kept: Web API's HttpError with `ModelState` for a missing member
//! (`request.MemberId`); the answer is PascalCase `TokenModel` with `ExpireIn` as a .NET
//! `TimeSpan`, `ExpireTime` in the configured display offset (`--display-offset`) beside
//! `ExpireTimeUtc`, and the member's internal ids as 32-bit integers.

use actix_web::web;
use gatehouse_domain::secret::Secret;
use gatehouse_domain::service::MemberGrant;
use gatehouse_models::dotnet::{DateTime, TimeSpan};
use gatehouse_models::member::{AuthMemberModel, TokenModel};

use super::error::ApiError;
use super::extract::{Body, Caller, Dialect};
use super::reply::{self, non_empty, required_member, Reply};
use crate::AppState;

/// `POST /api/Token`.
pub(super) async fn token(
    caller: Caller,
    dialect: Dialect,
    body: Body<AuthMemberModel>,
    state: web::Data<AppState>,
) -> Reply {
    let m = body.value;
    let grant = MemberGrant {
        member_id: required_member(m.member_id, "MemberId")?,
        password: Secret::from(required_member(m.password, "Password")?),
        sub_account: non_empty(m.sub_account),
        caller_ip: Some(caller.ip),
    };
    let login = state.hashing(move |s| s.member_grant(grant)).await?;
    let tokens = &login.tokens;
    let user = tokens.user.clone().ok_or(ApiError::Internal)?;
    let offset = state.config.display_offset;
    let internal = |id: i64| i32::try_from(id).map_err(|_| ApiError::Internal);
    let model = TokenModel {
        user_name: user.user_name,
        token: tokens.access_token.expose().to_owned(),
        expire_in: TimeSpan::from_duration(tokens.expires_in).ok_or(ApiError::Internal)?,
        expire_time: DateTime::local(tokens.expires_at, offset).map_err(|_| ApiError::Internal)?,
        query_all: user.flags.query_all,
        df_visible: user.flags.df_visible,
        id_member: internal(login.member_internal_id)?,
        id_sub_account: internal(login.sub_account_id)?,
        expire_time_utc: DateTime::utc(tokens.expires_at).map_err(|_| ApiError::Internal)?,
    };
    reply::token(dialect.format, &model)
}
