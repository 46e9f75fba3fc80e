//! The repository implementations, written once for both backends: `sqlite.rs` and
//! `postgres.rs` each include this file as a module (`#[path]`) beside its own `Conn`, so the
//! code is a real module that rustfmt formats and the IDE sees, compiled once per connection
//! type. The column types are portable, so the same diesel code is valid SQL on both.

use diesel::dsl::max;
use diesel::prelude::*;
use gatehouse_domain::backchannel::{BackchannelTarget, ClientBackchannel};
use gatehouse_domain::browser_session::BrowserSession;
use gatehouse_domain::device::{DeviceCode, DeviceStatus, DEVICE_CODE_LIFETIME};
use gatehouse_domain::dpop::{ClientDpop, ProofRecord};
use gatehouse_domain::dual_run::{ComparisonCount, Difference, Usage};
use gatehouse_domain::keys::SigningKey;
use gatehouse_domain::logout::ClientLogout;
use gatehouse_domain::model::{
    user_name_key, AccessToken, AuthorizationCode, Broker, Client, LoginFailure, Member, NewMember,
    OneTimeCode, RefreshToken, Session, SubAccount, TradingAccount, User,
};
use gatehouse_domain::par::{ClientPar, PushedRequest};
use gatehouse_domain::secret::TokenDigest;
use gatehouse_domain::store::{ReadTx, SessionExtras, WriteTx};
use gatehouse_domain::token_exchange::{ClientTokenExchange, SessionExchange};
use time::OffsetDateTime;
use uuid::Uuid;

use super::Conn;
use crate::backend::Backend;
use crate::cache::CacheDsl;
use crate::repo::{conflict_or_db, db, Result, Tx};
use crate::rows::*;
use crate::schema::*;
use gatehouse_domain::Error as DomainError;

impl ReadTx for Tx<'_, Conn> {
    fn user_by_id(&mut self, id: Uuid) -> Result<Option<User>> {
        if let Some(user) = self.joined_user(id) {
            return Ok(Some(user));
        }
        users::table
            .find(guid(id))
            .select(UserRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(db)?
            .map(UserRow::into_domain)
            .transpose()
    }

    fn user_by_name(&mut self, user_name: &str) -> Result<Option<User>> {
        users::table
            .filter(users::user_name_key.eq(user_name_key(user_name)))
            .select(UserRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(db)?
            .map(UserRow::into_domain)
            .transpose()
    }

    fn users(&mut self) -> Result<Vec<User>> {
        users::table
            .order(users::user_name_key)
            .select(UserRow::as_select())
            .load(self.conn)
            .map_err(db)?
            .into_iter()
            .map(UserRow::into_domain)
            .collect()
    }

    fn member_by_member_id(&mut self, member_id: &str) -> Result<Option<Member>> {
        members::table
            .filter(members::member_id.eq(member_id))
            .select(MemberRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(db)?
            .map(MemberRow::into_domain)
            .transpose()
    }

    fn member_of_user(&mut self, user_id: Uuid) -> Result<Option<Member>> {
        members::table
            .filter(members::user_id.eq(guid(user_id)))
            .order(members::id)
            .select(MemberRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(db)?
            .map(MemberRow::into_domain)
            .transpose()
    }

    fn sub_account(&mut self, id: i64) -> Result<Option<SubAccount>> {
        Ok(sub_accounts::table
            .find(id)
            .select(SubAccountRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(db)?
            .map(SubAccount::from))
    }

    fn sub_accounts_of(&mut self, member: i64) -> Result<Vec<SubAccount>> {
        Ok(sub_accounts::table
            .filter(sub_accounts::member.eq(member))
            .order(sub_accounts::id)
            .select(SubAccountRow::as_select())
            .load(self.conn)
            .map_err(db)?
            .into_iter()
            .map(SubAccount::from)
            .collect())
    }

    fn broker(&mut self, id: Uuid) -> Result<Option<Broker>> {
        brokers::table
            .find(guid(id))
            .select(BrokerRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(db)?
            .map(BrokerRow::into_domain)
            .transpose()
    }

    fn trading_accounts_of(&mut self, user_id: Uuid) -> Result<Vec<TradingAccount>> {
        trading_accounts::table
            .filter(trading_accounts::user_id.eq(guid(user_id)))
            .order((
                trading_accounts::broker_id,
                trading_accounts::account,
                trading_accounts::server,
            ))
            .select(TradingAccountRow::as_select())
            .load(self.conn)
            .map_err(db)?
            .into_iter()
            .map(TradingAccountRow::into_domain)
            .collect()
    }

    fn client(&mut self, client_id: &str) -> Result<Option<Client>> {
        if let Some(client) = self.joined_client(client_id) {
            return Ok(Some(client));
        }
        clients::table
            .left_join(client_keys::table)
            .filter(clients::client_id.eq(client_id))
            .select((ClientRow::as_select(), client_keys::jwks.nullable()))
            .first::<(ClientRow, Option<String>)>(self.conn)
            .optional()
            .map_err(db)?
            .map(|(row, jwks)| row.into_domain(jwks))
            .transpose()
    }

    fn clients(&mut self) -> Result<Vec<Client>> {
        clients::table
            .left_join(client_keys::table)
            .order(clients::client_id)
            .select((ClientRow::as_select(), client_keys::jwks.nullable()))
            .load::<(ClientRow, Option<String>)>(self.conn)
            .map_err(db)?
            .into_iter()
            .map(|(row, jwks)| row.into_domain(jwks))
            .collect()
    }

    fn session(&mut self, id: Uuid) -> Result<Option<Session>> {
        if let Some(session) = self.joined_session(id) {
            return Ok(Some(session));
        }
        sessions::table
            .find(guid(id))
            .select(SessionRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(db)?
            .map(SessionRow::into_domain)
            .transpose()
    }

    fn access_token(&mut self, digest: &TokenDigest) -> Result<Option<AccessToken>> {
        if self.snapshot {
            let found = access_tokens::table
                .left_join(sessions::table)
                .left_join(users::table.on(access_tokens::user_id.eq(users::id.nullable())))
                .filter(access_tokens::digest.eq(digest_bytes(digest)))
                // Columns by name (`as_select`), so a new column cannot shift them.
                .select(<(AccessTokenRow, Option<SessionRow>, Option<UserRow>)>::as_select())
                .first(self.conn)
                .optional()
                .map_err(db)?;
            let Some((token, session, user)) = found else {
                return Ok(None);
            };
            self.joined_session = session.map(SessionRow::into_domain).transpose()?;
            self.joined_user = user.map(UserRow::into_domain).transpose()?;
            return token.into_domain().map(Some);
        }
        access_tokens::table
            .find(digest_bytes(digest))
            .select(AccessTokenRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(db)?
            .map(AccessTokenRow::into_domain)
            .transpose()
    }

    fn refresh_token(&mut self, digest: &TokenDigest) -> Result<Option<RefreshToken>> {
        refresh_tokens::table
            .find(digest_bytes(digest))
            .select(RefreshTokenRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(db)?
            .map(RefreshTokenRow::into_domain)
            .transpose()
    }

    fn authorization_code(&mut self, digest: &TokenDigest) -> Result<Option<AuthorizationCode>> {
        authorization_codes::table
            .find(digest_bytes(digest))
            .select(AuthorizationCodeRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(db)?
            .map(AuthorizationCodeRow::into_domain)
            .transpose()
    }

    fn onetime_code(&mut self, digest: &TokenDigest) -> Result<Option<OneTimeCode>> {
        onetime_codes::table
            .find(digest_bytes(digest))
            .select(OneTimeCodeRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(db)?
            .map(OneTimeCodeRow::into_domain)
            .transpose()
    }

    fn browser_session(&mut self, digest: &TokenDigest) -> Result<Option<BrowserSession>> {
        browser_sessions::table
            .find(digest_bytes(digest))
            .select(BrowserSessionRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(db)?
            .map(BrowserSessionRow::into_domain)
            .transpose()
    }

    fn browser_session_by_id(&mut self, id: Uuid) -> Result<Option<BrowserSession>> {
        browser_sessions::table
            .filter(browser_sessions::id.eq(guid(id)))
            .select(BrowserSessionRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(db)?
            .map(BrowserSessionRow::into_domain)
            .transpose()
    }

    fn outstanding_authorization_codes_of_user(
        &mut self,
        user_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<u64> {
        let n: i64 = authorization_codes::table
            .filter(authorization_codes::user_id.eq(guid(user_id)))
            .filter(authorization_codes::consumed_at.is_null())
            .filter(authorization_codes::expires_at.gt(micros(now)))
            .count()
            .get_result(self.conn)
            .map_err(db)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn outstanding_authorization_codes_of_browser_session(
        &mut self,
        browser_session_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<u64> {
        let n: i64 = authorization_codes::table
            .filter(authorization_codes::browser_session_id.eq(guid(browser_session_id)))
            .filter(authorization_codes::consumed_at.is_null())
            .filter(authorization_codes::expires_at.gt(micros(now)))
            .count()
            .get_result(self.conn)
            .map_err(db)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn server_key(&mut self, name: &str) -> Result<Option<Vec<u8>>> {
        server_keys::table
            .find(name)
            .select(server_keys::secret)
            .first(self.conn)
            .optional()
            .map_err(db)
    }

    fn signing_keys(&mut self) -> Result<Vec<SigningKey>> {
        signing_keys::table
            .order(signing_keys::created_at.asc())
            .select(SigningKeyRow::as_select())
            .load(self.conn)
            .map_err(db)?
            .into_iter()
            .map(SigningKeyRow::into_domain)
            .collect()
    }

    fn client_logout(&mut self, client_id: &str) -> Result<Option<ClientLogout>> {
        client_logout::table
            .find(client_id)
            .select(ClientLogoutRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(db)?
            .map(ClientLogoutRow::into_domain)
            .transpose()
    }

    fn client_logouts(&mut self) -> Result<Vec<ClientLogout>> {
        client_logout::table
            .order(client_logout::client_id)
            .select(ClientLogoutRow::as_select())
            .load(self.conn)
            .map_err(db)?
            .into_iter()
            .map(ClientLogoutRow::into_domain)
            .collect()
    }

    fn client_backchannel(&mut self, client_id: &str) -> Result<Option<ClientBackchannel>> {
        Ok(client_backchannel::table
            .find(client_id)
            .select(ClientBackchannelRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(db)?
            .map(ClientBackchannelRow::into_domain))
    }

    fn any_backchannel(&mut self) -> Result<bool> {
        Ok(client_backchannel::table
            .select(client_backchannel::client_id)
            .first::<String>(self.conn)
            .optional()
            .map_err(db)?
            .is_some())
    }

    fn backchannel_targets(
        &mut self,
        browser_session_id: Option<Uuid>,
        user_id: Uuid,
    ) -> Result<Vec<BackchannelTarget>> {
        let sessions: Vec<String> = match browser_session_id {
            Some(id) => vec![guid(id)],
            None => browser_sessions::table
                .filter(browser_sessions::user_id.eq(guid(user_id)))
                .filter(browser_sessions::ended_at.is_null())
                .select(browser_sessions::id)
                .load(self.conn)
                .map_err(db)?,
        };
        if sessions.is_empty() {
            return Ok(Vec::new());
        }
        // Codes of the sessions that were redeemed (`session_id` set): those clients got
        // tokens through them. Read by `authorization_codes_browser_session`.
        authorization_codes::table
            .inner_join(
                client_backchannel::table
                    .on(client_backchannel::client_id.eq(authorization_codes::client_id)),
            )
            .filter(
                authorization_codes::browser_session_id
                    .assume_not_null()
                    .eq_any(&sessions),
            )
            .filter(authorization_codes::session_id.is_not_null())
            .filter(authorization_codes::user_id.eq(guid(user_id)))
            .select((
                authorization_codes::client_id,
                client_backchannel::backchannel_logout_uri,
                authorization_codes::browser_session_id.assume_not_null(),
                authorization_codes::user_id,
            ))
            .distinct()
            .order((
                authorization_codes::browser_session_id,
                authorization_codes::client_id,
            ))
            .load::<(String, String, String, String)>(self.conn)
            .map_err(db)?
            .into_iter()
            .map(backchannel_target)
            .collect()
    }

    fn client_token_exchange(&mut self, client_id: &str) -> Result<Option<ClientTokenExchange>> {
        client_token_exchange::table
            .find(client_id)
            .select(ClientTokenExchangeRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(db)?
            .map(ClientTokenExchangeRow::into_domain)
            .transpose()
    }

    fn token_exchange_in_use(&mut self) -> Result<bool> {
        let rows: Vec<(ClientTokenExchangeRow, String)> = client_token_exchange::table
            .inner_join(clients::table)
            .select((ClientTokenExchangeRow::as_select(), clients::grants))
            .load(self.conn)
            .map_err(db)?;
        Ok(rows.into_iter().any(|(row, grants)| {
            row.audiences != "[]"
                && grants
                    .split_ascii_whitespace()
                    .any(|g| g == gatehouse_domain::model::GrantType::TokenExchange.as_str())
        }))
    }

    fn client_dpop(&mut self, client_id: &str) -> Result<Option<ClientDpop>> {
        Ok(client_dpop::table
            .find(client_id)
            .select(ClientDpopRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(db)?
            .map(ClientDpopRow::into_domain))
    }

    fn code_dpop(&mut self, digest: &TokenDigest) -> Result<Option<String>> {
        authorization_code_dpop::table
            .find(digest_bytes(digest))
            .select(authorization_code_dpop::jkt)
            .first::<String>(self.conn)
            .optional()
            .map_err(db)
    }

    fn session_extras(&mut self, session_id: Uuid) -> Result<SessionExtras> {
        let id = guid(session_id);
        let exchange = session_exchange::table
            .find(&id)
            .select(SessionExchangeRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(db)?
            .map(SessionExchangeRow::into_domain)
            .transpose()?;
        let jkt = session_dpop::table
            .find(&id)
            .select(session_dpop::jkt)
            .first::<String>(self.conn)
            .optional()
            .map_err(db)?;
        Ok(SessionExtras { exchange, jkt })
    }

    fn client_par(&mut self, client_id: &str) -> Result<Option<ClientPar>> {
        Ok(client_par::table
            .find(client_id)
            .select(ClientParRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(db)?
            .map(ClientParRow::into_domain))
    }

    fn device_code(&mut self, digest: &TokenDigest) -> Result<Option<DeviceCode>> {
        device_codes::table
            .find(digest_bytes(digest))
            .select(DeviceCodeRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(db)?
            .map(DeviceCodeRow::into_domain)
            .transpose()
    }

    fn device_code_by_user_code(&mut self, digest: &TokenDigest) -> Result<Option<DeviceCode>> {
        device_codes::table
            .filter(device_codes::user_code_digest.eq(digest_bytes(digest)))
            .select(DeviceCodeRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(db)?
            .map(DeviceCodeRow::into_domain)
            .transpose()
    }

    fn pushed_request(&mut self, digest: &TokenDigest) -> Result<Option<PushedRequest>> {
        pushed_requests::table
            .find(digest_bytes(digest))
            .select(PushedRequestRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(db)?
            .map(PushedRequestRow::into_domain)
            .transpose()
    }

    fn login_failure(&mut self, key: &str) -> Result<Option<LoginFailure>> {
        login_failures::table
            .find(key)
            .select(LoginFailureRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(db)?
            .map(LoginFailureRow::into_domain)
            .transpose()
    }

    fn login_failure_before_client(
        &mut self,
        key: &str,
        client_id: &str,
    ) -> Result<Option<LoginFailure>> {
        if !self.snapshot {
            return self.login_failure(key);
        }
        let found = clients::table
            .left_join(login_failures::table.on(login_failures::lock_key.eq(key.to_owned())))
            .left_join(client_keys::table)
            .filter(clients::client_id.eq(client_id))
            // Rows by name (`as_select`), so a new column cannot shift them.
            .select((
                ClientRow::as_select(),
                Option::<LoginFailureRow>::as_select(),
                client_keys::jwks.nullable(),
            ))
            .first::<(ClientRow, Option<LoginFailureRow>, Option<String>)>(self.conn)
            .optional()
            .map_err(db)?;
        // No such client (a wrong id, an attack): the record alone.
        let Some((client, failure, jwks)) = found else {
            return self.login_failure(key);
        };
        self.joined_client = Some(client.into_domain(jwks)?);
        failure.map(LoginFailureRow::into_domain).transpose()
    }

    fn outstanding_onetime_codes_of_user(
        &mut self,
        user_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<u64> {
        let n: i64 = onetime_codes::table
            .filter(onetime_codes::user_id.eq(guid(user_id)))
            .filter(onetime_codes::consumed_at.is_null())
            .filter(onetime_codes::expires_at.gt(micros(now)))
            .count()
            .get_result(self.conn)
            .map_err(db)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn assertion_jti_seen(
        &mut self,
        client_id: &str,
        jti: &str,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let n: i64 = client_assertion_jtis::table
            .filter(client_assertion_jtis::client_id.eq(client_id))
            .filter(client_assertion_jtis::jti.eq(jti))
            .filter(client_assertion_jtis::expires_at.gt(micros(now)))
            .count()
            .get_result(self.conn)
            .map_err(db)?;
        Ok(n > 0)
    }

    fn live_assertion_jtis(&mut self, client_id: &str) -> Result<u64> {
        let n: i64 = client_assertion_jtis::table
            .filter(client_assertion_jtis::client_id.eq(client_id))
            .count()
            .get_result(self.conn)
            .map_err(db)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn outstanding_onetime_codes_of_session(
        &mut self,
        session_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<u64> {
        let n: i64 = onetime_codes::table
            .filter(onetime_codes::source_session_id.eq(guid(session_id)))
            .filter(onetime_codes::consumed_at.is_null())
            .filter(onetime_codes::expires_at.gt(micros(now)))
            .count()
            .get_result(self.conn)
            .map_err(db)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn legacy_usage(&mut self, since: Option<OffsetDateTime>) -> Result<Vec<Usage>> {
        legacy_usage::table
            .filter(legacy_usage::last_seen.ge(since.map_or(i64::MIN, micros)))
            .order((legacy_usage::dialect.asc(), legacy_usage::client_id.asc()))
            .select(LegacyUsageRow::as_select())
            .load(self.conn)
            .map_err(db)?
            .into_iter()
            .map(LegacyUsageRow::into_domain)
            .collect()
    }

    fn comparison_counts(&mut self) -> Result<Vec<ComparisonCount>> {
        let rows: Vec<(String, String, String, i64)> = dual_run_counts::table
            .order((
                dual_run_counts::dialect.asc(),
                dual_run_counts::endpoint.asc(),
                dual_run_counts::kind.asc(),
            ))
            .load(self.conn)
            .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|(dialect, endpoint, kind, count)| ComparisonCount {
                dialect,
                endpoint,
                kind,
                count: u64::try_from(count).unwrap_or(0),
            })
            .collect())
    }

    fn users_with_hash(&mut self, hash: &str) -> Result<u64> {
        let n: i64 = users::table
            .filter(users::password_hash.eq(hash))
            .count()
            .get_result(self.conn)
            .map_err(db)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn differences_stored(&mut self) -> Result<u64> {
        let n: i64 = dual_run_differences::table
            .count()
            .get_result(self.conn)
            .map_err(db)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn open_sessions_of_user(&mut self, user_id: Uuid, limit: u32) -> Result<Vec<Session>> {
        sessions::table
            .filter(sessions::user_id.eq(guid(user_id)))
            .filter(sessions::ended_at.is_null())
            .order((sessions::created_at.desc(), sessions::id))
            .limit(i64::from(limit))
            .select(SessionRow::as_select())
            .load(self.conn)
            .map_err(db)?
            .into_iter()
            .map(SessionRow::into_domain)
            .collect()
    }

    fn open_browser_sessions_of_user(
        &mut self,
        user_id: Uuid,
        limit: u32,
    ) -> Result<Vec<BrowserSession>> {
        browser_sessions::table
            .filter(browser_sessions::user_id.eq(guid(user_id)))
            .filter(browser_sessions::ended_at.is_null())
            .order((
                browser_sessions::authenticated_at.desc(),
                browser_sessions::id,
            ))
            .limit(i64::from(limit))
            .select(BrowserSessionRow::as_select())
            .load(self.conn)
            .map_err(db)?
            .into_iter()
            .map(BrowserSessionRow::into_domain)
            .collect()
    }

    fn login_failures(&mut self, prefix: Option<&str>, limit: u32) -> Result<Vec<LoginFailure>> {
        let mut query = login_failures::table
            .order(login_failures::lock_key)
            .limit(i64::from(limit))
            .select(LoginFailureRow::as_select())
            .into_boxed();
        if let Some(prefix) = prefix {
            let escaped: String = prefix
                .chars()
                .flat_map(|c| match c {
                    '\\' | '%' | '_' => vec!['\\', c],
                    c => vec![c],
                })
                .collect();
            query = query.filter(
                login_failures::lock_key
                    .like(format!("{escaped}%"))
                    .escape('\\'),
            );
        }
        query
            .load(self.conn)
            .map_err(db)?
            .into_iter()
            .map(LoginFailureRow::into_domain)
            .collect()
    }
}

impl Tx<'_, Conn> {
    /// Withdraws a user's unredeemed authorization and one-time codes (password change,
    /// disable): consumed without a session, one-time payloads forgotten.
    fn withdraw_codes_of_user(&mut self, user_id: Uuid, at: OffsetDateTime) -> Result<()> {
        diesel::update(
            authorization_codes::table
                .filter(authorization_codes::user_id.eq(guid(user_id)))
                .filter(authorization_codes::consumed_at.is_null()),
        )
        .set(authorization_codes::consumed_at.eq(micros(at)))
        .execute(self.conn)
        .map_err(db)?;
        diesel::update(
            onetime_codes::table
                .filter(onetime_codes::user_id.eq(guid(user_id)))
                .filter(onetime_codes::consumed_at.is_null()),
        )
        .set((
            onetime_codes::consumed_at.eq(micros(at)),
            onetime_codes::payload.eq("{}"),
            onetime_codes::trading_account.eq(None::<String>),
            onetime_codes::server.eq(None::<String>),
        ))
        .execute(self.conn)
        .map_err(db)?;
        Ok(())
    }
}

impl WriteTx for Tx<'_, Conn> {
    fn upsert_user(&mut self, user: &User) -> Result<()> {
        let row = UserRow::from_domain(user);
        diesel::insert_into(users::table)
            .values(&row)
            .on_conflict(users::id)
            .do_update()
            .set(&row)
            .cached()
            .execute(self.conn)
            .map_err(conflict_or_db(|| {
                format!("user name {} is taken", user.user_name)
            }))?;
        Ok(())
    }

    fn upsert_member(&mut self, member: &NewMember) -> Result<Member> {
        let existing = self.member_by_member_id(&member.member_id)?;
        let user_id = guid(member.user_id);
        if let Some(existing) = existing {
            if member.id.is_some_and(|id| id != existing.id) {
                return Err(DomainError::Conflict(format!(
                    "member {} exists with internal id {}",
                    member.member_id, existing.id
                )));
            }
            diesel::update(members::table.find(existing.id))
                .set(members::user_id.eq(&user_id))
                .cached()
                .execute(self.conn)
                .map_err(db)?;
            return Ok(Member {
                user_id: member.user_id,
                ..existing
            });
        }
        let id = match member.id {
            Some(id) => id,
            None => {
                let highest: Option<i64> = members::table
                    .select(max(members::id))
                    .first(self.conn)
                    .map_err(db)?;
                highest.unwrap_or(0).saturating_add(1)
            }
        };
        let row = MemberRow {
            id,
            member_id: member.member_id.clone(),
            user_id,
        };
        diesel::insert_into(members::table)
            .values(&row)
            .execute(self.conn)
            .map_err(conflict_or_db(|| {
                format!("member internal id {id} is taken")
            }))?;
        row.into_domain()
    }

    fn upsert_sub_account(&mut self, sub_account: &SubAccount) -> Result<()> {
        let row = SubAccountRow {
            id: sub_account.id,
            member: sub_account.member,
        };
        diesel::insert_into(sub_accounts::table)
            .values(&row)
            .on_conflict(sub_accounts::id)
            .do_update()
            .set(sub_accounts::member.eq(row.member))
            .cached()
            .execute(self.conn)
            .map_err(db)?;
        Ok(())
    }

    fn upsert_broker(&mut self, broker: &Broker) -> Result<()> {
        let row = BrokerRow {
            id: guid(broker.id),
            name: broker.name.clone(),
        };
        diesel::insert_into(brokers::table)
            .values(&row)
            .on_conflict(brokers::id)
            .do_update()
            .set(&row)
            .cached()
            .execute(self.conn)
            .map_err(db)?;
        Ok(())
    }

    fn upsert_trading_account(&mut self, account: &TradingAccount) -> Result<()> {
        let row = TradingAccountRow::from_domain(account);
        diesel::insert_into(trading_accounts::table)
            .values(&row)
            .on_conflict((
                trading_accounts::broker_id,
                trading_accounts::account,
                trading_accounts::server,
            ))
            .do_update()
            .set(trading_accounts::user_id.eq(&row.user_id))
            .cached()
            .execute(self.conn)
            .map_err(db)?;
        Ok(())
    }

    fn upsert_client(&mut self, client: &Client) -> Result<()> {
        let row = ClientRow::from_domain(client);
        diesel::insert_into(clients::table)
            .values(&row)
            .on_conflict(clients::client_id)
            .do_update()
            .set(&row)
            .cached()
            .execute(self.conn)
            .map_err(db)?;
        match &client.jwks {
            Some(jwks) => diesel::insert_into(client_keys::table)
                .values((
                    client_keys::client_id.eq(&client.client_id),
                    client_keys::jwks.eq(jwks),
                ))
                .on_conflict(client_keys::client_id)
                .do_update()
                .set(client_keys::jwks.eq(jwks))
                .execute(self.conn),
            None => diesel::delete(client_keys::table.find(&client.client_id)).execute(self.conn),
        }
        .map_err(db)?;
        Ok(())
    }

    fn insert_assertion_jti(
        &mut self,
        client_id: &str,
        jti: &str,
        expires_at: OffsetDateTime,
    ) -> Result<bool> {
        let n = diesel::insert_into(client_assertion_jtis::table)
            .values((
                client_assertion_jtis::client_id.eq(client_id),
                client_assertion_jtis::jti.eq(jti),
                client_assertion_jtis::expires_at.eq(micros(expires_at)),
            ))
            .on_conflict_do_nothing()
            .execute(self.conn)
            .map_err(db)?;
        Ok(n == 1)
    }

    fn delete_expired_assertion_jtis(
        &mut self,
        client_id: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<u64> {
        let expired = client_assertion_jtis::expires_at.le(micros(now));
        let n = match client_id {
            Some(id) => diesel::delete(
                client_assertion_jtis::table
                    .filter(client_assertion_jtis::client_id.eq(id))
                    .filter(expired),
            )
            .execute(self.conn),
            None => diesel::delete(client_assertion_jtis::table.filter(expired)).execute(self.conn),
        }
        .map_err(db)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn put_client_logout(&mut self, settings: &ClientLogout) -> Result<()> {
        let row = ClientLogoutRow::from_domain(settings);
        diesel::insert_into(client_logout::table)
            .values(&row)
            .on_conflict(client_logout::client_id)
            .do_update()
            .set(&row)
            .execute(self.conn)
            .map_err(db)?;
        Ok(())
    }

    fn put_client_backchannel(&mut self, settings: &ClientBackchannel) -> Result<()> {
        match ClientBackchannelRow::from_domain(settings) {
            Some(row) => diesel::insert_into(client_backchannel::table)
                .values(&row)
                .on_conflict(client_backchannel::client_id)
                .do_update()
                .set(&row)
                .execute(self.conn),
            None => diesel::delete(client_backchannel::table.find(&settings.client_id))
                .execute(self.conn),
        }
        .map_err(db)?;
        Ok(())
    }

    fn put_client_token_exchange(&mut self, settings: &ClientTokenExchange) -> Result<()> {
        let row = ClientTokenExchangeRow::from_domain(settings);
        diesel::insert_into(client_token_exchange::table)
            .values(&row)
            .on_conflict(client_token_exchange::client_id)
            .do_update()
            .set(&row)
            .execute(self.conn)
            .map_err(db)?;
        Ok(())
    }

    fn put_client_dpop(&mut self, settings: &ClientDpop) -> Result<()> {
        let row = ClientDpopRow::from_domain(settings);
        diesel::insert_into(client_dpop::table)
            .values(&row)
            .on_conflict(client_dpop::client_id)
            .do_update()
            .set(&row)
            .execute(self.conn)
            .map_err(db)?;
        Ok(())
    }

    fn insert_session_exchange(&mut self, exchange: &SessionExchange) -> Result<()> {
        diesel::insert_into(session_exchange::table)
            .values(SessionExchangeRow::from_domain(exchange))
            .execute(self.conn)
            .map_err(db)?;
        Ok(())
    }

    fn insert_session_dpop(&mut self, session_id: Uuid, jkt: &str) -> Result<()> {
        diesel::insert_into(session_dpop::table)
            .values(SessionDpopRow {
                session_id: guid(session_id),
                jkt: jkt.to_owned(),
            })
            .execute(self.conn)
            .map_err(db)?;
        Ok(())
    }

    fn insert_code_dpop(
        &mut self,
        digest: &TokenDigest,
        jkt: &str,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        diesel::insert_into(authorization_code_dpop::table)
            .values(CodeDpopRow {
                digest: digest_bytes(digest),
                jkt: jkt.to_owned(),
                expires_at: micros(expires_at),
            })
            .execute(self.conn)
            .map_err(db)?;
        Ok(())
    }

    fn record_dpop_proof(
        &mut self,
        digest: &TokenDigest,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
        cap: u64,
    ) -> Result<ProofRecord> {
        diesel::delete(dpop_proofs::table.filter(dpop_proofs::expires_at.le(micros(now))))
            .execute(self.conn)
            .map_err(db)?;
        let seen: i64 = dpop_proofs::table
            .filter(dpop_proofs::digest.eq(digest_bytes(digest)))
            .count()
            .get_result(self.conn)
            .map_err(db)?;
        if seen > 0 {
            return Ok(ProofRecord::Replayed);
        }
        let live: i64 = dpop_proofs::table
            .count()
            .get_result(self.conn)
            .map_err(db)?;
        if u64::try_from(live).unwrap_or(u64::MAX) >= cap {
            return Ok(ProofRecord::Full);
        }
        diesel::insert_into(dpop_proofs::table)
            .values(DpopProofRow {
                digest: digest_bytes(digest),
                expires_at: micros(expires_at),
            })
            .execute(self.conn)
            .map_err(db)?;
        Ok(ProofRecord::Fresh)
    }

    fn put_client_par(&mut self, settings: &ClientPar) -> Result<()> {
        let row = ClientParRow::from_domain(settings);
        diesel::insert_into(client_par::table)
            .values(&row)
            .on_conflict(client_par::client_id)
            .do_update()
            .set(&row)
            .execute(self.conn)
            .map_err(db)?;
        Ok(())
    }

    fn live_pushed_requests(&mut self, client_id: &str, now: OffsetDateTime) -> Result<u64> {
        let of_client = pushed_requests::client_id.eq(client_id);
        diesel::delete(
            pushed_requests::table
                .filter(of_client.and(pushed_requests::expires_at.le(micros(now)))),
        )
        .execute(self.conn)
        .map_err(db)?;
        let n: i64 = pushed_requests::table
            .filter(pushed_requests::client_id.eq(client_id))
            .count()
            .get_result(self.conn)
            .map_err(db)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn live_device_codes(&mut self, client_id: &str, now: OffsetDateTime) -> Result<u64> {
        let long_gone = micros(now - DEVICE_CODE_LIFETIME);
        diesel::delete(
            device_codes::table.filter(
                device_codes::client_id
                    .eq(client_id)
                    .and(device_codes::expires_at.le(long_gone)),
            ),
        )
        .execute(self.conn)
        .map_err(db)?;
        let n: i64 = device_codes::table
            .filter(
                device_codes::client_id
                    .eq(client_id)
                    .and(device_codes::expires_at.gt(micros(now)))
                    .and(device_codes::status.ne(DeviceStatus::Consumed.as_str())),
            )
            .count()
            .get_result(self.conn)
            .map_err(db)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn insert_device_code(&mut self, code: &DeviceCode) -> Result<()> {
        diesel::insert_into(device_codes::table)
            .values(DeviceCodeRow::from_domain(code))
            .execute(self.conn)
            .map_err(conflict_or_db(|| "the user code is in use".to_owned()))?;
        Ok(())
    }

    fn update_device_code(&mut self, code: &DeviceCode, expected: DeviceStatus) -> Result<bool> {
        let row = DeviceCodeRow::from_domain(code);
        let n = diesel::update(
            device_codes::table.filter(
                device_codes::digest
                    .eq(&row.digest)
                    .and(device_codes::status.eq(expected.as_str())),
            ),
        )
        .set((
            device_codes::last_polled_at.eq(row.last_polled_at),
            device_codes::interval_secs.eq(row.interval_secs),
            device_codes::status.eq(&row.status),
            device_codes::user_id.eq(&row.user_id),
            device_codes::browser_session_id.eq(&row.browser_session_id),
            device_codes::auth_time.eq(row.auth_time),
            device_codes::session_id.eq(&row.session_id),
        ))
        .execute(self.conn)
        .map_err(db)?;
        Ok(n == 1)
    }

    fn insert_pushed_request(&mut self, request: &PushedRequest) -> Result<()> {
        diesel::insert_into(pushed_requests::table)
            .values(PushedRequestRow::from_domain(request))
            .execute(self.conn)
            .map_err(db)?;
        Ok(())
    }

    fn consume_pushed_request(
        &mut self,
        digest: &TokenDigest,
        client_id: &str,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let n = diesel::delete(
            pushed_requests::table.filter(
                pushed_requests::digest
                    .eq(digest_bytes(digest))
                    .and(pushed_requests::client_id.eq(client_id))
                    .and(pushed_requests::expires_at.gt(micros(now))),
            ),
        )
        .execute(self.conn)
        .map_err(db)?;
        Ok(n == 1)
    }

    fn insert_session(&mut self, session: &Session) -> Result<()> {
        diesel::insert_into(sessions::table)
            .values(SessionRow::from_domain(session))
            .execute(self.conn)
            .map_err(db)?;
        Ok(())
    }

    fn insert_tokens(
        &mut self,
        session: Option<&Session>,
        access: &AccessToken,
        refresh: Option<&RefreshToken>,
    ) -> Result<()> {
        Backend::insert_tokens(
            self.conn,
            session.map(SessionRow::from_domain),
            AccessTokenRow::from_domain(access),
            refresh.map(RefreshTokenRow::from_domain),
        )
        .map_err(db)
    }

    fn touch_session(&mut self, id: Uuid, at: OffsetDateTime) -> Result<()> {
        diesel::update(sessions::table.find(guid(id)))
            .set(sessions::last_used_at.eq(micros(at)))
            .cached()
            .execute(self.conn)
            .map_err(db)?;
        Ok(())
    }

    fn end_session(&mut self, id: Uuid, at: OffsetDateTime) -> Result<bool> {
        let n = diesel::update(
            sessions::table
                .find(guid(id))
                .filter(sessions::ended_at.is_null()),
        )
        .set(sessions::ended_at.eq(micros(at)))
        .cached()
        .execute(self.conn)
        .map_err(db)?;
        Ok(n == 1)
    }

    fn end_user_sessions(&mut self, user_id: Uuid, at: OffsetDateTime) -> Result<u64> {
        let n = diesel::update(
            sessions::table
                .filter(sessions::user_id.eq(guid(user_id)))
                .filter(sessions::ended_at.is_null()),
        )
        .set(sessions::ended_at.eq(micros(at)))
        .cached()
        .execute(self.conn)
        .map_err(db)?;
        // The sign-in of the login page too: a new password must sign in again.
        let browsers = diesel::update(
            browser_sessions::table
                .filter(browser_sessions::user_id.eq(guid(user_id)))
                .filter(browser_sessions::ended_at.is_null()),
        )
        .set(browser_sessions::ended_at.eq(micros(at)))
        .cached()
        .execute(self.conn)
        .map_err(db)?;
        // Codes issued before the change: an exchange now is refused as withdrawn.
        self.withdraw_codes_of_user(user_id, at)?;
        Ok(u64::try_from(n.saturating_add(browsers)).unwrap_or(u64::MAX))
    }

    fn insert_access_token(&mut self, token: &AccessToken) -> Result<()> {
        diesel::insert_into(access_tokens::table)
            .values(AccessTokenRow::from_domain(token))
            .execute(self.conn)
            .map_err(db)?;
        Ok(())
    }

    fn revoke_access_token(&mut self, digest: &TokenDigest, at: OffsetDateTime) -> Result<bool> {
        let n = diesel::update(
            access_tokens::table
                .find(digest_bytes(digest))
                .filter(access_tokens::revoked_at.is_null()),
        )
        .set(access_tokens::revoked_at.eq(micros(at)))
        .cached()
        .execute(self.conn)
        .map_err(db)?;
        Ok(n == 1)
    }

    fn insert_refresh_token(&mut self, token: &RefreshToken) -> Result<()> {
        diesel::insert_into(refresh_tokens::table)
            .values(RefreshTokenRow::from_domain(token))
            .execute(self.conn)
            .map_err(db)?;
        Ok(())
    }

    fn rotate_refresh_token(
        &mut self,
        digest: &TokenDigest,
        successor: &TokenDigest,
        at: OffsetDateTime,
    ) -> Result<bool> {
        let n = diesel::update(
            refresh_tokens::table
                .find(digest_bytes(digest))
                .filter(refresh_tokens::rotated_at.is_null())
                .filter(refresh_tokens::revoked_at.is_null()),
        )
        .set((
            refresh_tokens::rotated_at.eq(micros(at)),
            refresh_tokens::successor.eq(digest_bytes(successor)),
        ))
        .cached()
        .execute(self.conn)
        .map_err(db)?;
        Ok(n == 1)
    }

    fn mark_refresh_replayed(&mut self, digest: &TokenDigest, at: OffsetDateTime) -> Result<bool> {
        let n = diesel::update(
            refresh_tokens::table
                .find(digest_bytes(digest))
                .filter(refresh_tokens::replayed_at.is_null()),
        )
        .set(refresh_tokens::replayed_at.eq(micros(at)))
        .cached()
        .execute(self.conn)
        .map_err(db)?;
        Ok(n == 1)
    }

    fn insert_authorization_code(&mut self, code: &AuthorizationCode) -> Result<()> {
        diesel::insert_into(authorization_codes::table)
            .values(AuthorizationCodeRow::from_domain(code))
            .execute(self.conn)
            .map_err(db)?;
        Ok(())
    }

    fn consume_authorization_code(
        &mut self,
        digest: &TokenDigest,
        at: OffsetDateTime,
        session_id: Uuid,
    ) -> Result<bool> {
        let n = diesel::update(
            authorization_codes::table
                .find(digest_bytes(digest))
                .filter(authorization_codes::consumed_at.is_null()),
        )
        .set((
            authorization_codes::consumed_at.eq(micros(at)),
            authorization_codes::session_id.eq(guid(session_id)),
        ))
        .cached()
        .execute(self.conn)
        .map_err(db)?;
        Ok(n == 1)
    }

    fn withdraw_codes_of_browser_session(
        &mut self,
        browser_session_id: Uuid,
        at: OffsetDateTime,
    ) -> Result<u64> {
        // Index authorization_codes_browser_session: reads this session's codes only.
        let n = diesel::update(
            authorization_codes::table
                .filter(authorization_codes::browser_session_id.eq(guid(browser_session_id)))
                .filter(authorization_codes::consumed_at.is_null()),
        )
        .set(authorization_codes::consumed_at.eq(micros(at)))
        .execute(self.conn)
        .map_err(db)?;
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    fn delete_expired_authorization_codes(&mut self, now: OffsetDateTime) -> Result<u64> {
        // Partial index authorization_codes_unredeemed_expiry: reads the expired rows only.
        let n = diesel::delete(
            authorization_codes::table
                .filter(authorization_codes::expires_at.le(micros(now)))
                .filter(authorization_codes::consumed_at.is_null()),
        )
        .execute(self.conn)
        .map_err(db)?;
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    fn insert_onetime_code(&mut self, code: &OneTimeCode) -> Result<()> {
        diesel::insert_into(onetime_codes::table)
            .values(OneTimeCodeRow::from_domain(code)?)
            .execute(self.conn)
            .map_err(db)?;
        Ok(())
    }

    fn consume_onetime_code(
        &mut self,
        digest: &TokenDigest,
        at: OffsetDateTime,
        session_id: Uuid,
    ) -> Result<bool> {
        let n = diesel::update(
            onetime_codes::table
                .find(digest_bytes(digest))
                .filter(onetime_codes::consumed_at.is_null()),
        )
        .set((
            onetime_codes::consumed_at.eq(micros(at)),
            onetime_codes::session_id.eq(guid(session_id)),
            onetime_codes::payload.eq("{}"),
            onetime_codes::trading_account.eq(None::<String>),
            onetime_codes::server.eq(None::<String>),
        ))
        .cached()
        .execute(self.conn)
        .map_err(db)?;
        Ok(n == 1)
    }

    fn delete_expired_onetime_codes(&mut self, now: OffsetDateTime) -> Result<u64> {
        let n =
            diesel::delete(onetime_codes::table.filter(onetime_codes::expires_at.le(micros(now))))
                .execute(self.conn)
                .map_err(db)?;
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    fn hit_rate_window(
        &mut self,
        key: &str,
        now: OffsetDateTime,
        window: time::Duration,
    ) -> Result<(u64, OffsetDateTime)> {
        let current: Option<(i64, i64)> = rate_windows::table
            .find(key)
            .select((rate_windows::window_start, rate_windows::hits))
            .first(self.conn)
            .optional()
            .map_err(db)?;
        let now_us = micros(now);
        let window_us = i64::try_from(window.whole_microseconds()).unwrap_or(i64::MAX);
        let (start, hits) = match current {
            Some((start, hits)) if now_us.saturating_sub(start) < window_us => {
                (start, hits.saturating_add(1))
            }
            _ => (now_us, 1),
        };
        diesel::insert_into(rate_windows::table)
            .values((
                rate_windows::rate_key.eq(key),
                rate_windows::window_start.eq(start),
                rate_windows::hits.eq(hits),
            ))
            .on_conflict(rate_windows::rate_key)
            .do_update()
            .set((
                rate_windows::window_start.eq(start),
                rate_windows::hits.eq(hits),
            ))
            .cached()
            .execute(self.conn)
            .map_err(db)?;
        let ends = time("rate_windows", start.saturating_add(window_us))?;
        Ok((u64::try_from(hits).unwrap_or(0), ends))
    }

    fn put_login_failure(&mut self, failure: &LoginFailure) -> Result<()> {
        let row = LoginFailureRow::from_domain(failure);
        diesel::insert_into(login_failures::table)
            .values(&row)
            .on_conflict(login_failures::lock_key)
            .do_update()
            .set(&row)
            .cached()
            .execute(self.conn)
            .map_err(db)?;
        Ok(())
    }

    fn clear_login_failure(&mut self, key: &str) -> Result<()> {
        diesel::delete(login_failures::table.find(key))
            .execute(self.conn)
            .map_err(db)?;
        Ok(())
    }

    fn insert_browser_session(&mut self, session: &BrowserSession) -> Result<()> {
        diesel::insert_into(browser_sessions::table)
            .values(BrowserSessionRow::from_domain(session))
            .execute(self.conn)
            .map_err(db)?;
        Ok(())
    }

    fn end_browser_session(&mut self, digest: &TokenDigest, at: OffsetDateTime) -> Result<bool> {
        let n = diesel::update(
            browser_sessions::table
                .find(digest_bytes(digest))
                .filter(browser_sessions::ended_at.is_null()),
        )
        .set(browser_sessions::ended_at.eq(micros(at)))
        .cached()
        .execute(self.conn)
        .map_err(db)?;
        Ok(n == 1)
    }

    fn insert_server_key_if_absent(
        &mut self,
        name: &str,
        secret: &[u8],
        at: OffsetDateTime,
    ) -> Result<()> {
        diesel::insert_into(server_keys::table)
            .values((
                server_keys::name.eq(name),
                server_keys::secret.eq(secret),
                server_keys::created_at.eq(micros(at)),
            ))
            .on_conflict(server_keys::name)
            .do_nothing()
            .execute(self.conn)
            .map_err(db)?;
        Ok(())
    }

    fn insert_signing_key(&mut self, key: &SigningKey) -> Result<()> {
        diesel::insert_into(signing_keys::table)
            .values(SigningKeyRow::from_domain(key))
            .execute(self.conn)
            .map_err(conflict_or_db(|| format!("key {} exists", key.kid)))?;
        Ok(())
    }

    fn retire_signing_key(
        &mut self,
        kid: &str,
        at: OffsetDateTime,
        published_until: OffsetDateTime,
    ) -> Result<bool> {
        let n = diesel::update(
            signing_keys::table
                .find(kid)
                .filter(signing_keys::retired_at.is_null()),
        )
        .set((
            signing_keys::retired_at.eq(micros(at)),
            signing_keys::published_until.eq(micros(published_until)),
        ))
        .cached()
        .execute(self.conn)
        .map_err(db)?;
        Ok(n == 1)
    }

    fn end_sessions_of_browser_session(
        &mut self,
        browser_session_id: Uuid,
        at: OffsetDateTime,
    ) -> Result<u64> {
        let opened = authorization_codes::table
            .filter(authorization_codes::browser_session_id.eq(guid(browser_session_id)))
            .filter(authorization_codes::session_id.is_not_null())
            .select(authorization_codes::session_id.assume_not_null());
        let n = diesel::update(
            sessions::table
                .filter(sessions::id.eq_any(opened))
                .filter(sessions::ended_at.is_null()),
        )
        .set(sessions::ended_at.eq(micros(at)))
        .cached()
        .execute(self.conn)
        .map_err(db)?;
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    fn count_comparison(&mut self, dialect: &str, endpoint: &str, kinds: &[&str]) -> Result<()> {
        for kind in kinds {
            diesel::insert_into(dual_run_counts::table)
                .values((
                    dual_run_counts::dialect.eq(dialect),
                    dual_run_counts::endpoint.eq(endpoint),
                    dual_run_counts::kind.eq(kind),
                    dual_run_counts::count.eq(1i64),
                ))
                .on_conflict((
                    dual_run_counts::dialect,
                    dual_run_counts::endpoint,
                    dual_run_counts::kind,
                ))
                .do_update()
                .set(dual_run_counts::count.eq(dual_run_counts::count + 1i64))
                .execute(self.conn)
                .map_err(db)?;
        }
        Ok(())
    }

    fn insert_difference(&mut self, difference: &Difference, cap: u64) -> Result<bool> {
        let stored: i64 = dual_run_differences::table
            .count()
            .get_result(self.conn)
            .map_err(db)?;
        if u64::try_from(stored).unwrap_or(u64::MAX) >= cap {
            return Ok(false);
        }
        diesel::insert_into(dual_run_differences::table)
            .values(DifferenceRow::from_domain(difference))
            .execute(self.conn)
            .map_err(db)?;
        Ok(true)
    }

    fn add_legacy_usage(&mut self, deltas: &[Usage]) -> Result<()> {
        for delta in deltas {
            let stored = legacy_usage::table
                .find((&delta.client_id, &delta.dialect))
                .select(LegacyUsageRow::as_select())
                .first(self.conn)
                .optional()
                .map_err(db)?
                .map(LegacyUsageRow::into_domain)
                .transpose()?;
            let total = match stored {
                Some(mut total) => {
                    total.add(delta);
                    total
                }
                None => delta.clone(),
            };
            let row = LegacyUsageRow::from_domain(&total);
            diesel::insert_into(legacy_usage::table)
                .values(&row)
                .on_conflict((legacy_usage::client_id, legacy_usage::dialect))
                .do_update()
                .set(&row)
                .execute(self.conn)
                .map_err(db)?;
        }
        Ok(())
    }

    fn delete_user(&mut self, user_id: Uuid) -> Result<bool> {
        let id = guid(user_id);
        let theirs = sessions::table
            .filter(sessions::user_id.eq(id.clone()))
            .select(sessions::id);
        diesel::delete(
            onetime_codes::table.filter(
                onetime_codes::user_id
                    .eq(id.clone())
                    .or(onetime_codes::session_id.eq_any(theirs.clone().nullable()))
                    .or(onetime_codes::source_session_id.eq_any(theirs.clone().nullable())),
            ),
        )
        .execute(self.conn)
        .map_err(db)?;
        diesel::delete(
            authorization_codes::table.filter(
                authorization_codes::user_id
                    .eq(id.clone())
                    .or(authorization_codes::session_id.eq_any(theirs.clone().nullable())),
            ),
        )
        .execute(self.conn)
        .map_err(db)?;
        diesel::delete(
            access_tokens::table.filter(access_tokens::session_id.eq_any(theirs.clone())),
        )
        .execute(self.conn)
        .map_err(db)?;
        diesel::delete(refresh_tokens::table.filter(refresh_tokens::session_id.eq_any(theirs)))
            .execute(self.conn)
            .map_err(db)?;
        diesel::delete(sessions::table.filter(sessions::user_id.eq(id.clone())))
            .execute(self.conn)
            .map_err(db)?;
        diesel::delete(browser_sessions::table.filter(browser_sessions::user_id.eq(id.clone())))
            .execute(self.conn)
            .map_err(db)?;
        diesel::delete(trading_accounts::table.filter(trading_accounts::user_id.eq(id.clone())))
            .execute(self.conn)
            .map_err(db)?;
        let members_of = members::table
            .filter(members::user_id.eq(id.clone()))
            .select(members::id);
        diesel::delete(sub_accounts::table.filter(sub_accounts::member.eq_any(members_of)))
            .execute(self.conn)
            .map_err(db)?;
        diesel::delete(members::table.filter(members::user_id.eq(id.clone())))
            .execute(self.conn)
            .map_err(db)?;
        let n = diesel::delete(users::table.find(id))
            .execute(self.conn)
            .map_err(db)?;
        Ok(n == 1)
    }

    fn delete_client(&mut self, client_id: &str) -> Result<bool> {
        let opened = sessions::table
            .filter(sessions::client_id.eq(client_id))
            .select(sessions::id);
        diesel::delete(
            onetime_codes::table.filter(
                onetime_codes::redeeming_client_id
                    .eq(client_id)
                    .or(onetime_codes::issuer_client_id.eq(client_id))
                    .or(onetime_codes::session_id.eq_any(opened.nullable()))
                    .or(onetime_codes::source_session_id.eq_any(opened.nullable())),
            ),
        )
        .execute(self.conn)
        .map_err(db)?;
        diesel::delete(
            authorization_codes::table.filter(
                authorization_codes::client_id
                    .eq(client_id)
                    .or(authorization_codes::session_id.eq_any(opened.nullable())),
            ),
        )
        .execute(self.conn)
        .map_err(db)?;
        diesel::delete(access_tokens::table.filter(access_tokens::session_id.eq_any(opened)))
            .execute(self.conn)
            .map_err(db)?;
        diesel::delete(refresh_tokens::table.filter(refresh_tokens::session_id.eq_any(opened)))
            .execute(self.conn)
            .map_err(db)?;
        diesel::delete(sessions::table.filter(sessions::client_id.eq(client_id)))
            .execute(self.conn)
            .map_err(db)?;
        let n = diesel::delete(clients::table.find(client_id))
            .execute(self.conn)
            .map_err(db)?;
        Ok(n == 1)
    }

    fn purge_expired(
        &mut self,
        before: OffsetDateTime,
        forgotten_before: OffsetDateTime,
    ) -> Result<u64> {
        let before = micros(before);
        let mut n = 0usize;
        n += diesel::delete(access_tokens::table.filter(access_tokens::expires_at.lt(before)))
            .execute(self.conn)
            .map_err(db)?;
        n += diesel::delete(refresh_tokens::table.filter(refresh_tokens::expires_at.lt(before)))
            .execute(self.conn)
            .map_err(db)?;
        n += diesel::delete(
            authorization_codes::table.filter(authorization_codes::expires_at.lt(before)),
        )
        .execute(self.conn)
        .map_err(db)?;
        n += diesel::delete(onetime_codes::table.filter(onetime_codes::expires_at.lt(before)))
            .execute(self.conn)
            .map_err(db)?;
        n += diesel::delete(pushed_requests::table.filter(pushed_requests::expires_at.lt(before)))
            .execute(self.conn)
            .map_err(db)?;
        n += diesel::delete(device_codes::table.filter(device_codes::expires_at.lt(before)))
            .execute(self.conn)
            .map_err(db)?;
        n +=
            diesel::delete(browser_sessions::table.filter(browser_sessions::expires_at.lt(before)))
                .execute(self.conn)
                .map_err(db)?;
        n += diesel::delete(
            rate_windows::table.filter(rate_windows::window_start.lt(micros(forgotten_before))),
        )
        .execute(self.conn)
        .map_err(db)?;
        n += diesel::delete(
            login_failures::table.filter(
                login_failures::last_failure_at
                    .lt(micros(forgotten_before))
                    .and(
                        login_failures::locked_until
                            .is_null()
                            .or(login_failures::locked_until.lt(micros(forgotten_before))),
                    ),
            ),
        )
        .execute(self.conn)
        .map_err(db)?;
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }
}
