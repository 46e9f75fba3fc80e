//! Accounts, clients, credentials, sessions, tokens, codes and the grant logic of Gatehouse.
//!
//! Independent of wire format and of the database engine: storage implements the repository
//! traits of [`store`], the server adapts HTTP to the operations of [`service::Gatehouse`].
//! Time ([`clock::Clock`]) and randomness ([`rng::Rng`]) are passed in.
//!
//! # Service API (what the server calls)
//!
//! Build once: `Gatehouse::new(store, Arc<dyn Clock>, Arc<dyn Rng>, PasswordHasher, Config)`.
//! Every method is synchronous; call the ones marked (hash) on the hash pool, the others on a
//! blocking worker (they run one or two SQLite transactions). All return
//! `Result<_, Error>`.
//!
//! | operation | signature | dialect |
//! |---|---|---|
//! | client auth | `authenticate_client(&ClientAuth) -> Client` | all (introspect, revoke) |
//! | password (hash) | `password_grant(PasswordGrant) -> IssuedTokens` | v1 `password` (katana: below) |
//! | windows | `windows_grant(WindowsGrant) -> IssuedTokens` | v1 `WindowsAuthentication` |
//! | member (hash) | `member_grant(MemberGrant) -> MemberLogin` | member `/api/Token` |
//! | refresh | `refresh_grant(&ClientAuth, token: &str, scope: Option<&str>) -> IssuedTokens` | v1 `refresh_token` |
//! | client credentials | `client_credentials_grant(&ClientAuth, scope, caller_ip) -> IssuedTokens` | v1 |
//! | auth code (hash) | `issue_auth_code(&ClientAuth, user_name, &Secret, caller_ip) -> IssuedCode` | otc `/admin/login/auth_code` |
//! | exchange | `exchange_auth_code(&ClientAuth, code, caller_ip, want_refresh) -> IssuedTokens` | otc `/admin/login/token`, v1 `authorization_code` |
//! | one-time issue | `issue_onetime_code(&OneTimeIssuer, &OneTimeRequest) -> IssuedCode` | onetime `/oauth2/onetime/token` |
//! | one-time redeem | `redeem_onetime_code(&ClientAuth, code) -> OneTimeRedemption` | onetime `/oauth2/onetime/authorize` |
//! | bearer | `validate_access_token(token) -> TokenInfo` (`Error::InvalidToken`) | onetime Bearer |
//! | introspect | `introspect(&ClientAuth, token) -> Option<TokenInfo>` (`None` = inactive or not the caller's; confidential clients only; reads only), then on `InvalidClient` `count_failed_client(&ClientAuth)` on a blocking worker | `/oauth2/introspect` |
//! | revoke | `revoke(&ClientAuth, token) -> ()` | `/oauth2/revoke` |
//! | katana (hash) | `katana_password_grant(PasswordGrant) -> IssuedTokens` (a Katana ticket with `with_katana(Arc<KatanaTickets>)`), `adopt_katana_ticket(token) -> bool` (a legacy ticket's first use; called by bearer validation, revocation and one-time issue, and by the introspection handler off the worker) | katana `/token`, every bearer token ([`service::katana`]) |
//! | import (hash) | `import(&ImportDocument) -> ImportReport`; `import::demo_document()` | `import`, `serve --demo` |
//! | CLI (hash) | `add_user(UserSpec, &Secret) -> User`, `set_password(name, &Secret)`, `set_user_disabled(name, bool)`, `add_client(ClientSpec) -> Option<Secret>`, `update_client(ClientSpec) -> Client`, `rotate_client_secret(id) -> Secret` | `gatehouse user/client` |
//! | authorize | `check_authorization(&AuthorizationParams) -> AuthorizationRequest` (`AuthorizeError`: page or redirect), `issue_authorization_code(&request, &BrowserSessionInfo) -> IssuedCode` | `/oauth2/authorize` |
//! | end session | `check_end_session(&EndSessionParams, Option<&BrowserSessionInfo>) -> EndSessionRequest` (`EndSessionError`: a page, never a redirect), then `end_browser_session(cookie)` | `/oauth2/logout` (RP-initiated logout) |
//! | back-channel logout | no call of its own: `end_browser_session`, `end_sessions_of_user` and a password change or disable sign a `logout+jwt` for each client with a `backchannel_logout_uri` that got tokens through the ending browser session and hand it to the `BackchannelSink` of `with_backchannel` ([`backchannel`]); `backchannel_in_use()` for discovery | the server's delivery queue (`bins/gatehouse/src/backchannel.rs`) |
//! | PAR | `push_authorization_request(&ClientAuth, AuthorizationParams) -> PushedUri` (`PushError`), `pushed_params(client_id, request_uri) -> AuthorizationParams` (then `check_authorization`; the code's issue consumes it) | `/oauth2/par`, `/oauth2/authorize?request_uri=` |
//! | device (RFC 8628) | `device_authorization(&ClientAuth, scope) -> DeviceAuthorization`, `device_request(user_code, rate keys)` (the verification page), `decide_device_request(user_code, &BrowserSessionInfo, approve)`, `device_code_grant(&ClientAuth, device_code, ip) -> DeviceGrant` ([`device`]) | `/oauth2/device_authorization`, `/oauth2/device`, `/oauth2/token` |
//! | browser login (hash) | `browser_login(name, &Secret, ip) -> BrowserLogin`, `browser_session(cookie)`, `end_browser_session(cookie)` | login page, `/oauth2/logout` |
//! | bound exchange | `exchange_code(&ClientAuth, code, CodeBinding { redirect_uri, code_verifier }, ip, want_refresh)` | `/oauth2/token`, v1 `authorization_code` |
//! | dual-run (issue 22) | `record_comparison(dialect, endpoint, &[kind], Option<Difference>, cap) -> bool`, `add_legacy_usage(Vec<Usage>)`, `migration_report(since) -> MigrationReport` ([`dual_run`]) | legacy dialects, `gatehouse migration report` |
//! | admin API | `authorize_admin(token) -> Result<AdminCaller, AdminRefusal>` ([`service::admin`]), `list_lockouts(prefix)`, `end_session_of_token(token)` (the console's sign-out) | `--admin-bind` |
//! | DPoP (RFC 9449) | `accept_dpop_proof(&ProofRequest) -> VerifiedProof` (checks a proof, records its `jti`), then `ClientAuth::with_dpop(&proof)` binds the grant's tokens (the rule is `Mint::dpop_binding`, in the one issuance path); `validate_presented_token(token, Option<&VerifiedProof>)`, `userinfo(token, proof)`; `client_dpop_bound(id)` ([`dpop`]) | `/oauth2/token`, `/oauth2/userinfo` |
//! | housekeeping | `purge_expired() -> u64`, `check_database()` | timer, `/healthz` |
//! | discovery | `client_features(openid) -> ClientFeatures` (scopes, `private_key_jwt`, device and token-exchange grants in use), with `openid_algs()` and `backchannel_in_use()` | `/.well-known/*` |
//! | signed tokens | `with_key_ring(Arc<KeyRing>)`, `ensure_signing_key()`, `rotate_key(alg, delay)`, `retire_key(kid, window)`, `list_keys()`, `jwks()`, `userinfo(token, dpop_proof)`; JWT access tokens for clients with `access_token_format = jwt`, id_tokens on code exchanges with `openid` ([`oidc`], [`keys`]) | `/oauth2/jwks`, `/oauth2/userinfo`, `gatehouse keys` |
//!
//! `ClientAuth::new(id, Option<Secret>)` for body credentials, `ClientAuth::basic(candidates)`
//! for a Basic header's (id, secret) pairs as the codec yields them (raw, then URL-decoded;
//! the domain decodes nothing), `ClientAuth::assertion(id, jwt, issuer)` for `private_key_jwt`
//! ([`client_assertion`]: verified in the operation's read against the client's JWK Set, its
//! `jti` recorded in a write right after; introspection with one runs on a blocking worker). Errors map to dialects:
//! `InvalidClient` (401 / `invalid_client`), `InvalidCredentials` and `AccountDisabled`
//! (`invalid_grant`), `Locked { retry_after }` (429, `Error::retry_after_secs`),
//! `RateLimited { retry_after }` (429 `temporarily_unavailable`: a throttled client address,
//! a one-time code cap),
//! `InvalidGrant(GrantRejection)` (which rule refused: `WrongClient(GrantKind)`,
//! `Replayed(..)`, `Expired(..)`, `SessionEnded`, …), `UnauthorizedClient`, `InvalidScope`, `Forbidden(reason)` (403),
//! `InvalidRequest(reason)` (400), `InvalidToken` (401 for Bearer), `NotFound`/`Conflict`
//! (CLI), `Credential`, `Storage` (500).

#![forbid(unsafe_code)]

pub mod audit;
pub mod client_assertion;
pub mod clock;
pub mod config;
pub mod credentials;
pub mod device;
pub mod dpop;
pub mod dual_run;
pub mod error;
pub mod keys;
pub mod model;
pub mod pkce;
pub mod rng;
pub mod secret;
pub mod service;
pub mod store;
pub mod token_exchange;

pub use config::{Config, LockoutPolicy};
pub use error::{Error, GrantKind, GrantRejection};
// Their paths before they moved under `service/` (issue 20 item 4), kept for other crates.
pub use service::{authorize, backchannel, browser_session, forms, import, logout, oidc, par};
pub use service::{
    ClientAuth, ClientSecretSpec, ClientSpec, Gatehouse, IssuedCode, IssuedTokens, MemberGrant,
    MemberLogin, OneTimeIssuer, OneTimeRedemption, OneTimeRequest, PasswordGrant, TokenInfo,
    TokenKind, UserInfo, UserSpec, WindowsGrant, WithoutClient,
};
pub use store::{Pending, ReadTx, Store, WriteTx};
