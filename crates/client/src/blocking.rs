//! [`Client`]: the async client's methods without async, for programs without a runtime.
//!
//! Each call runs the async client on a private single-threaded runtime; do not call it from
//! inside an async runtime (use [`crate::Client`] there).
//!
//! ```no_run
//! use gatehouse_client::blocking::Client;
//! use gatehouse_client::MediaType;
//! use gatehouse_models::member::AuthMemberModel;
//!
//! let gatehouse = Client::new(gatehouse_client::Client::builder("http://127.0.0.1:8080")).unwrap();
//! let token = gatehouse
//!     .member_token(&AuthMemberModel::new("1234", "alice-password-1"), MediaType::Xml)
//!     .unwrap();
//! println!("member {} until {:?}", token.id_member, token.expire_time_utc);
//! ```

use gatehouse_models::oauth::IntrospectionResponse;
use gatehouse_models::{katana, member, onetime, otc, v1};

use crate::{
    ClientBuilder, ClientCredentials, Error, Grant, MediaType, Secret, ServerMetadata,
    TokenResponse,
};

/// The blocking client.
#[derive(Debug)]
pub struct Client {
    inner: crate::Client,
    runtime: tokio::runtime::Runtime,
}

macro_rules! blocking {
    ($(#[$doc:meta] fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $out:ty;)*) => {
        $(
            #[$doc]
            ///
            /// # Errors
            /// As the async method's.
            pub fn $name(&self $(, $arg: $ty)*) -> Result<$out, Error> {
                self.runtime.block_on(self.inner.$name($($arg),*))
            }
        )*
    };
}

impl Client {
    /// A blocking client built from `builder`.
    ///
    /// # Errors
    /// As [`ClientBuilder::build`]; [`Error::Url`] if the runtime cannot start.
    pub fn new(builder: ClientBuilder) -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Url(format!("the runtime did not start: {e}")))?;
        let inner = runtime.block_on(async { builder.build() })?;
        Ok(Client { inner, runtime })
    }

    /// [`crate::Client::authorization_request`].
    pub fn authorization_request(
        &self,
        client_id: &str,
        redirect_uri: &str,
        scope: &str,
    ) -> crate::AuthorizationRequest {
        self.inner
            .authorization_request(client_id, redirect_uri, scope)
    }

    blocking! {
        /// [`crate::Client::katana_token`].
        fn katana_token(&self, request: &katana::OAuthRequest, media: MediaType) -> katana::OAuthToken;
        /// [`crate::Client::v1_token`].
        fn v1_token(&self, request: &v1::TokenRequest, client: Option<&ClientCredentials>, media: MediaType) -> v1::AccessTokenResponse;
        /// [`crate::Client::member_token`].
        fn member_token(&self, request: &member::AuthMemberModel, media: MediaType) -> member::TokenModel;
        /// [`crate::Client::otc_auth_code`].
        fn otc_auth_code(&self, request: &otc::AuthCodeRequest, media: MediaType) -> Secret;
        /// [`crate::Client::otc_token`].
        fn otc_token(&self, request: &otc::TokenRequest, media: MediaType) -> otc::TokenResponseBody;
        /// [`crate::Client::onetime_token`].
        fn onetime_token(&self, bearer: &Secret, request: &onetime::OneTimeTokenRequest, media: MediaType) -> onetime::OneTimeTokenResponse;
        /// [`crate::Client::onetime_authorize`].
        fn onetime_authorize(&self, client: &ClientCredentials, code: &Secret, media: MediaType) -> onetime::OneTimeAuthorizeResponse;
        /// [`crate::Client::metadata`].
        fn metadata(&self) -> ServerMetadata;
        /// [`crate::Client::token`].
        fn token(&self, client: &ClientCredentials, grant: Grant<'_>) -> TokenResponse;
        /// [`crate::Client::introspect`].
        fn introspect(&self, client: &ClientCredentials, token: &Secret) -> IntrospectionResponse;
        /// [`crate::Client::revoke`].
        fn revoke(&self, client: &ClientCredentials, token: &Secret) -> ();
        /// [`crate::Client::userinfo`].
        fn userinfo(&self, access_token: &Secret) -> serde_json::Value;
    }
}
