//! The five legacy dialects: one method per endpoint, the request a `gatehouse-models` wire
//! type written in the caller's [`MediaType`].

use gatehouse_models::otc::ResponseStatus;
use gatehouse_models::{katana, member, onetime, otc, v1, Contract};
use reqwest::Method;
use serde::Serialize;

use crate::{Call, Client, ClientCredentials, Error, MediaType, Secret, Shape};

impl Client {
    async fn legacy<T: Serialize + Contract>(
        &self,
        path: &str,
        request: &T,
        media: MediaType,
        authorization: Option<String>,
    ) -> Result<crate::Answer, Error> {
        let call = Call {
            method: Method::POST,
            path,
            content_type: Some(media.content_type()),
            accept: media.accept(),
            authorization,
            body: media.encode(request)?,
        };
        self.send(&call).await
    }

    /// Katana's `POST /token` (seed 004): a password grant; the access token, with the
    /// `userName`, `userID`, `sessionKey` and `clientKey` the legacy service answered. With
    /// `--katana-machine-key` the token is a Katana ticket legacy APIs read.
    ///
    /// # Errors
    /// [`Error::OAuth`] (`invalid_grant` for a wrong password, 429 when locked, with
    /// [`Error::retry_after`]); [`Error::Transport`].
    pub async fn katana_token(
        &self,
        request: &katana::OAuthRequest,
        media: MediaType,
    ) -> Result<katana::OAuthToken, Error> {
        self.legacy("/token", request, media, None)
            .await?
            .into_model(Shape::OAuth)
    }

    /// v1's `POST /api/v1/auth/token` (seed 003): `password`, `refresh_token`,
    /// `client_credentials` or `authorization_code`; the client by HTTP Basic or in the body
    /// ([`ClientCredentials::method`]), or none where the server stands one in.
    ///
    /// # Errors
    /// [`Error::OAuth`]; [`Error::Transport`].
    pub async fn v1_token(
        &self,
        request: &v1::TokenRequest,
        client: Option<&ClientCredentials>,
        media: MediaType,
    ) -> Result<v1::AccessTokenResponse, Error> {
        let mut request = request.clone();
        if let Some((id, secret)) = client.and_then(ClientCredentials::body_pair) {
            request.client_id = Some(id.to_owned());
            request.client_secret = secret.map(str::to_owned);
        }
        let basic = client.and_then(ClientCredentials::basic_header);
        self.legacy("/api/v1/auth/token", &request, media, basic)
            .await?
            .into_model(Shape::OAuth)
    }

    /// The member dialect's `POST /api/Token` (seed 002): a member id and password; the
    /// token with its .NET `TimeSpan` and `DateTime` values.
    ///
    /// # Errors
    /// [`Error::WebApi`] (its `ModelState` for a body that did not bind); [`Error::Transport`].
    pub async fn member_token(
        &self,
        request: &member::AuthMemberModel,
        media: MediaType,
    ) -> Result<member::TokenModel, Error> {
        self.legacy("/api/Token", request, media, None)
            .await?
            .into_model(Shape::WebApi)
    }

    /// otc's `POST /admin/login/auth_code` (seed 001): an operator's code for
    /// [`Client::otc_token`].
    ///
    /// # Errors
    /// [`Error::Otc`] with the envelope's status (`InvalidClient`, `InvalidCredentials`, ...);
    /// [`Error::Transport`].
    pub async fn otc_auth_code(
        &self,
        request: &otc::AuthCodeRequest,
        media: MediaType,
    ) -> Result<Secret, Error> {
        let answer = self
            .legacy("/admin/login/auth_code", request, media, None)
            .await?;
        let status = answer.status;
        let envelope: otc::AuthCodeResponse = answer.into_envelope()?;
        match envelope.body {
            Some(body) if envelope.header.status_code == ResponseStatus::Ok => {
                Ok(Secret::new(body.auth_code))
            }
            _ => Err(Error::Otc {
                status,
                header: envelope.header,
            }),
        }
    }

    /// otc's `POST /admin/login/token`: the code exchanged once for an access token.
    ///
    /// # Errors
    /// [`Error::Otc`]; [`Error::Transport`].
    pub async fn otc_token(
        &self,
        request: &otc::TokenRequest,
        media: MediaType,
    ) -> Result<otc::TokenResponseBody, Error> {
        let answer = self
            .legacy("/admin/login/token", request, media, None)
            .await?;
        let status = answer.status;
        let envelope: otc::TokenResponse = answer.into_envelope()?;
        match envelope.body {
            Some(body) if envelope.header.status_code == ResponseStatus::Ok => Ok(body),
            _ => Err(Error::Otc {
                status,
                header: envelope.header,
            }),
        }
    }

    /// onetime's `POST /oauth2/onetime/token` (seed 000): a one-time code for the user whose
    /// access token is `bearer`.
    ///
    /// # Errors
    /// [`Error::WebApi`] (camel-cased: 401 for a bad token, 429 over the cap);
    /// [`Error::Transport`].
    pub async fn onetime_token(
        &self,
        bearer: &Secret,
        request: &onetime::OneTimeTokenRequest,
        media: MediaType,
    ) -> Result<onetime::OneTimeTokenResponse, Error> {
        let authorization = Some(format!("Bearer {}", bearer.expose()));
        self.legacy("/oauth2/onetime/token", request, media, authorization)
            .await?
            .into_model(Shape::WebApi)
    }

    /// onetime's `POST /oauth2/onetime/authorize`: the code redeemed once by the client it
    /// was issued for.
    ///
    /// # Errors
    /// [`Error::WebApi`]; [`Error::Transport`].
    pub async fn onetime_authorize(
        &self,
        client: &ClientCredentials,
        code: &Secret,
        media: MediaType,
    ) -> Result<onetime::OneTimeAuthorizeResponse, Error> {
        let mut request = onetime::OneTimeAuthorizeRequest {
            code: Some(code.expose().to_owned()),
            ..onetime::OneTimeAuthorizeRequest::default()
        };
        if let Some((id, secret)) = client.body_pair() {
            request.client_id = Some(id.to_owned());
            request.client_secret = secret.map(str::to_owned);
        }
        self.legacy(
            "/oauth2/onetime/authorize",
            &request,
            media,
            client.basic_header(),
        )
        .await?
        .into_model(Shape::WebApi)
    }
}

impl crate::Answer {
    /// The otc envelope, whatever the status (the dialect answers its errors in it).
    fn into_envelope<T: serde::de::DeserializeOwned + Contract>(self) -> Result<T, Error> {
        let Some(format) = self.format() else {
            return Err(self.unexpected());
        };
        gatehouse_codec::decode(
            format,
            &self.body,
            &gatehouse_codec::DecodeOptions::default(),
        )
        .map_err(|_| self.unexpected())
    }
}
