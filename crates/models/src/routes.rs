//! Every route Gatehouse serves, as one typed table ([`Endpoint`]): its methods, its path, the
//! dialect its answers and errors are worded in ([`Family`]), and whether the help pages
//! document it.
//!
//! The server registers its routes from this table (an exhaustive `match` maps each variant to
//! its handler, so a new variant does not compile until it is routed), the discovery documents
//! build their URLs from it, and the help pages and the OpenAPI document key their entries by
//! it (a test there checks that every documented variant has a page). It lives in the models
//! crate, beside the wire types, because it is wire fact too: a client of these types needs
//! the paths they travel on (matrix-authentication-service's `crates/router` plays the same
//! part for its router and its discovery document).
//!
//! ```
//! use gatehouse_models::routes::{Endpoint, Method};
//!
//! assert_eq!(Endpoint::Token.path(), "/oauth2/token");
//! assert_eq!(Endpoint::Logout.methods(), &[Method::Get, Method::Post]);
//! // ASP.NET routing ignored case: the server routes on the normalised path.
//! assert_eq!(Endpoint::from_route("/api/token"), Some(Endpoint::MemberToken));
//! ```

/// An HTTP method a route answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
}

impl Method {
    /// `GET`, `POST`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// How a route words its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// RFC 6749 section 5.2 JSON errors; Katana's `/token` answered 400 to every one of them.
    OAuth {
        /// Katana's `/token`.
        katana: bool,
    },
    /// Web API's `HttpError`, negotiated (JSON, XML).
    WebApi {
        /// The dialect's JSON formatter camel-cased `HttpError` too (onetime).
        camel: bool,
    },
    /// The otc dialect's Header/Body envelope.
    Otc {
        /// The token exchange (else the auth code endpoint).
        token: bool,
    },
    /// A page for a browser: errors are HTML pages or redirects, never an API error body.
    Page,
}

/// Every route Gatehouse serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /oauth2/onetime/token`
    OneTimeToken,
    /// `POST /oauth2/onetime/authorize`
    OneTimeAuthorize,
    /// `POST /admin/login/auth_code`
    OtcAuthCode,
    /// `POST /admin/login/token`
    OtcToken,
    /// `POST /api/Token`
    MemberToken,
    /// `POST /api/v1/auth/token`
    V1Token,
    /// `POST /token`
    KatanaToken,
    /// `POST /oauth2/introspect` (RFC 7662)
    Introspect,
    /// `POST /oauth2/revoke` (RFC 7009)
    Revoke,
    /// `GET /.well-known/oauth-authorization-server` (RFC 8414)
    Metadata,
    /// `GET /healthz`
    Health,
    /// `GET /metrics`
    Metrics,
    /// `GET /oauth2/authorize` (RFC 6749 section 4.1)
    Authorize,
    /// `POST /oauth2/login` (the login form's target)
    Login,
    /// `POST /oauth2/consent` (the consent form's target)
    Consent,
    /// `GET|POST /oauth2/logout` (OpenID Connect RP-Initiated Logout 1.0)
    Logout,
    /// `POST /oauth2/token` (RFC 6749 section 3.2)
    Token,
    /// `POST /oauth2/par` (RFC 9126)
    Par,
    /// `POST /oauth2/device_authorization` (RFC 8628 section 3.1)
    DeviceAuthorization,
    /// `GET|POST /oauth2/device`: the device verification page (RFC 8628 section 3.3)
    Device,
    /// `GET /oauth2/jwks` (RFC 7517)
    Jwks,
    /// `GET|POST /oauth2/userinfo` (OpenID Connect Core 5.3)
    UserInfo,
    /// `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0)
    OpenIdConfiguration,
    /// `GET /Help`
    HelpIndex,
    /// `GET /Help/Api/{id}`
    HelpApi,
    /// `GET /Help/ResourceModel?modelName=…`
    HelpModel,
    /// `GET /openapi.json`
    OpenApi,
}

impl Endpoint {
    /// All of them, in the order of the help index.
    pub const ALL: [Endpoint; 27] = [
        Endpoint::OneTimeToken,
        Endpoint::OneTimeAuthorize,
        Endpoint::OtcAuthCode,
        Endpoint::OtcToken,
        Endpoint::MemberToken,
        Endpoint::V1Token,
        Endpoint::KatanaToken,
        Endpoint::Introspect,
        Endpoint::Revoke,
        Endpoint::Authorize,
        Endpoint::Login,
        Endpoint::Consent,
        Endpoint::Logout,
        Endpoint::Token,
        Endpoint::Par,
        Endpoint::DeviceAuthorization,
        Endpoint::Device,
        Endpoint::Jwks,
        Endpoint::UserInfo,
        Endpoint::Metadata,
        Endpoint::OpenIdConfiguration,
        Endpoint::Health,
        Endpoint::Metrics,
        Endpoint::HelpIndex,
        Endpoint::HelpApi,
        Endpoint::HelpModel,
        Endpoint::OpenApi,
    ];

    /// The path as documented (`/api/Token`, as the legacy help pages wrote it).
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::MemberToken => "/api/Token",
            Endpoint::HelpIndex => "/Help",
            Endpoint::HelpApi => "/Help/Api/{id}",
            Endpoint::HelpModel => "/Help/ResourceModel",
            other => other.route(),
        }
    }

    /// The normalised path the server routes on: lower case, no trailing slash (ASP.NET
    /// routing ignored case and a trailing slash). `{id}` is a path segment.
    pub fn route(self) -> &'static str {
        match self {
            Endpoint::OneTimeToken => "/oauth2/onetime/token",
            Endpoint::OneTimeAuthorize => "/oauth2/onetime/authorize",
            Endpoint::OtcAuthCode => "/admin/login/auth_code",
            Endpoint::OtcToken => "/admin/login/token",
            Endpoint::MemberToken => "/api/token",
            Endpoint::V1Token => "/api/v1/auth/token",
            Endpoint::KatanaToken => "/token",
            Endpoint::Introspect => "/oauth2/introspect",
            Endpoint::Revoke => "/oauth2/revoke",
            Endpoint::Metadata => "/.well-known/oauth-authorization-server",
            Endpoint::Health => "/healthz",
            Endpoint::Metrics => "/metrics",
            Endpoint::Authorize => "/oauth2/authorize",
            Endpoint::Login => "/oauth2/login",
            Endpoint::Consent => "/oauth2/consent",
            Endpoint::Logout => "/oauth2/logout",
            Endpoint::Token => "/oauth2/token",
            Endpoint::Par => "/oauth2/par",
            Endpoint::DeviceAuthorization => "/oauth2/device_authorization",
            Endpoint::Device => "/oauth2/device",
            Endpoint::Jwks => "/oauth2/jwks",
            Endpoint::UserInfo => "/oauth2/userinfo",
            Endpoint::OpenIdConfiguration => "/.well-known/openid-configuration",
            Endpoint::HelpIndex => "/help",
            Endpoint::HelpApi => "/help/api/{id}",
            Endpoint::HelpModel => "/help/resourcemodel",
            Endpoint::OpenApi => "/openapi.json",
        }
    }

    /// The methods it answers (any other gets 405 with `Allow`).
    pub fn methods(self) -> &'static [Method] {
        const GET: &[Method] = &[Method::Get];
        const POST: &[Method] = &[Method::Post];
        const BOTH: &[Method] = &[Method::Get, Method::Post];
        match self {
            Endpoint::Logout | Endpoint::UserInfo | Endpoint::Device => BOTH,
            Endpoint::Metadata
            | Endpoint::Health
            | Endpoint::Metrics
            | Endpoint::Authorize
            | Endpoint::Jwks
            | Endpoint::OpenIdConfiguration
            | Endpoint::HelpIndex
            | Endpoint::HelpApi
            | Endpoint::HelpModel
            | Endpoint::OpenApi => GET,
            _ => POST,
        }
    }

    /// The `Allow` header of a 405: `GET, POST`.
    pub fn allow(self) -> &'static str {
        match self.methods() {
            [Method::Get] => "GET",
            [Method::Post] => "POST",
            _ => "GET, POST",
        }
    }

    /// The dialect label of metrics and logs: `onetime`, `otc`, `member`, `v1`, `katana`
    /// (the five legacy dialects), `shared` (served beside them on the legacy host),
    /// `standard` (the standards surface) and `help`.
    pub fn dialect(self) -> &'static str {
        match self {
            Endpoint::OneTimeToken | Endpoint::OneTimeAuthorize => "onetime",
            Endpoint::OtcAuthCode | Endpoint::OtcToken => "otc",
            Endpoint::MemberToken => "member",
            Endpoint::V1Token => "v1",
            Endpoint::KatanaToken => "katana",
            Endpoint::Introspect
            | Endpoint::Revoke
            | Endpoint::Metadata
            | Endpoint::Health
            | Endpoint::Metrics => "shared",
            Endpoint::HelpIndex | Endpoint::HelpApi | Endpoint::HelpModel | Endpoint::OpenApi => {
                "help"
            }
            _ => "standard",
        }
    }

    /// One of the five legacy dialects' routes (whose answers keep the legacy bytes).
    pub fn is_legacy(self) -> bool {
        matches!(
            self.dialect(),
            "onetime" | "otc" | "member" | "v1" | "katana"
        )
    }

    /// Served as the legacy ASP.NET host served it: the legacy dialects and the routes beside
    /// them (`shared`), whose 405 is Web API's.
    pub fn on_legacy_host(self) -> bool {
        self.is_legacy() || self.dialect() == "shared"
    }

    /// How its errors are worded.
    pub fn family(self) -> Family {
        match self {
            Endpoint::OneTimeToken | Endpoint::OneTimeAuthorize => Family::WebApi { camel: true },
            Endpoint::MemberToken => Family::WebApi { camel: false },
            Endpoint::OtcAuthCode => Family::Otc { token: false },
            Endpoint::OtcToken => Family::Otc { token: true },
            Endpoint::KatanaToken => Family::OAuth { katana: true },
            Endpoint::Authorize
            | Endpoint::Login
            | Endpoint::Consent
            | Endpoint::Logout
            | Endpoint::Device
            | Endpoint::HelpIndex
            | Endpoint::HelpApi
            | Endpoint::HelpModel => Family::Page,
            _ => Family::OAuth { katana: false },
        }
    }

    /// Whether the help pages and the OpenAPI document describe it (every route but the
    /// documentation itself).
    pub fn documented(self) -> bool {
        self.dialect() != "help"
    }

    /// The endpoint of a normalised path (`/help/api/{id}` matches any one segment).
    pub fn from_route(path: &str) -> Option<Endpoint> {
        if let Some(id) = path.strip_prefix("/help/api/") {
            return (!id.is_empty() && !id.contains('/')).then_some(Endpoint::HelpApi);
        }
        Endpoint::ALL
            .into_iter()
            .find(|e| *e != Endpoint::HelpApi && e.route() == path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_unique_normalised_and_match_their_paths() {
        for (i, e) in Endpoint::ALL.into_iter().enumerate() {
            assert_eq!(e.route(), e.path().to_ascii_lowercase(), "{e:?}");
            assert!(!e.route().ends_with('/'), "{e:?}");
            assert!(!e.methods().is_empty(), "{e:?}");
            for other in &Endpoint::ALL[i + 1..] {
                assert_ne!(e.route(), other.route(), "{e:?} {other:?}");
            }
            if e != Endpoint::HelpApi {
                assert_eq!(Endpoint::from_route(e.route()), Some(e));
            }
        }
        assert_eq!(
            Endpoint::from_route("/help/api/post-api-token"),
            Some(Endpoint::HelpApi)
        );
        assert_eq!(Endpoint::from_route("/help/api/"), None);
        assert_eq!(Endpoint::from_route("/oauth2/tokens"), None);
    }

    #[test]
    fn families_and_hosts() {
        assert_eq!(
            Endpoint::ALL.into_iter().filter(|e| e.is_legacy()).count(),
            7
        );
        assert!(Endpoint::Introspect.on_legacy_host() && !Endpoint::Introspect.is_legacy());
        assert!(!Endpoint::Token.on_legacy_host());
        assert_eq!(Endpoint::Logout.allow(), "GET, POST");
        assert_eq!(Endpoint::Token.family(), Family::OAuth { katana: false });
    }
}
