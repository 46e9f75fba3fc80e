//! `gatehouse client list|show|update|remove`, and the one translation of the client
//! options (`client add` and `client update` take the same ones) into a
//! [`ClientSpec`], which the domain validates once for both (and for import).

use gatehouse_domain::model::Client;
use gatehouse_domain::{ClientSecretSpec, ClientSpec};

use super::exit::{Exit, Failure};
use super::view;
use super::NewClientArgs;
use crate::config::Settings;

/// `client list`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Example:\n  gatehouse client list --json")]
pub struct ListArgs {
    /// A JSON array on stdout (the schema is in docs/operations.md)
    #[arg(long)]
    pub json: bool,
}

/// `client show`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Example:\n  gatehouse client show demo-client --json")]
pub struct ShowArgs {
    /// Client id
    pub client_id: String,
    /// A JSON object on stdout
    #[arg(long)]
    pub json: bool,
}

/// `client remove`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Example:\n  gatehouse client remove old-app")]
pub struct RemoveArgs {
    /// Client id
    pub client_id: String,
}

/// `client update`: the options of `client add`; each one given replaces that setting, the
/// others stay. A flag takes `=false` to turn it off (`--introspect-any=false`). The admin
/// API's `PATCH /admin/v1/clients/{id}` takes the same fields as a JSON object (the client
/// id from the path), through the same [`update_spec`].
#[derive(Debug, Clone, clap::Args, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[command(
    after_help = "Examples:\n  gatehouse client update portal --scope \"api openid\" --redirect-uri https://portal.example/cb\n  gatehouse client update portal --introspect-any=false --name \"Customer portal\""
)]
pub struct UpdateArgs {
    /// Client id
    #[serde(default)]
    pub client_id: String,
    /// Allowed grants, comma separated: password, refresh_token, client_credentials,
    /// authorization_code, onetime, urn:ietf:params:oauth:grant-type:device_code (RFC 8628)
    #[arg(long, value_delimiter = ',')]
    pub grants: Option<Vec<String>>,
    /// Space-separated scope the client may be granted
    #[arg(long)]
    pub scope: Option<String>,
    /// Redirect URL returned as `redirect_url` by v1 (empty: none)
    #[arg(long)]
    pub redirect_url: Option<String>,
    /// Broker a onetime client acts for (empty: none)
    #[arg(long, value_name = "GUID")]
    pub broker: Option<String>,
    /// May introspect (and revoke) every client's tokens
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub introspect_any: Option<bool>,
    /// A redirect URI for /oauth2/authorize (repeat for several; replaces the list)
    #[arg(long = "redirect-uri", value_name = "URI")]
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Remove every redirect URI
    #[arg(long, conflicts_with = "redirect_uris")]
    #[serde(default)]
    pub no_redirect_uris: bool,
    /// Show a consent page before /oauth2/authorize issues a code
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub consent_required: Option<bool>,
    /// Name shown on the login and consent pages (empty: the client id)
    #[arg(long = "name", value_name = "NAME")]
    pub client_name: Option<String>,
    /// Where logout tokens are POSTed (OpenID Connect Back-Channel Logout 1.0; empty: none;
    /// given, it replaces the back-channel settings)
    #[arg(long, value_name = "URI")]
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    /// The client requires `sid` in logout tokens (with --backchannel-logout-uri)
    #[arg(long, requires = "backchannel_logout_uri")]
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
    /// Access-token format: opaque or jwt
    #[arg(long, value_name = "opaque|jwt")]
    pub access_token_format: Option<String>,
    /// `aud` of its JWT access tokens (empty: the client id)
    #[arg(long)]
    pub audience: Option<String>,
    /// Algorithm of its JWT access tokens
    #[arg(long, value_name = "RS256|ES256|EdDSA")]
    pub access_token_alg: Option<String>,
    /// Algorithm of its id_tokens
    #[arg(long, value_name = "RS256|ES256|EdDSA")]
    pub id_token_alg: Option<String>,
    /// Every token request must carry a DPoP proof; its tokens are bound to the proof's key
    /// (RFC 9449 dpop_bound_access_tokens; needs --dpop on) [default: unchanged]
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    #[serde(default)]
    pub dpop_bound_access_tokens: Option<bool>,
}

fn invalid(e: &dyn std::fmt::Display) -> Failure {
    Failure::new(Exit::Invalid, e.to_string())
}

/// The options of `client add` (and, merged over the stored client, `client update`) as the
/// domain's spec: every name parsed and every rule checked by the domain.
///
/// # Errors
/// [`Exit::Invalid`] for a JWK Set file that cannot be read.
pub fn spec_of(args: NewClientArgs) -> Result<ClientSpec, Failure> {
    let jwks = args
        .jwks
        .as_deref()
        .map(super::read_jwks)
        .transpose()
        .map_err(|e| invalid(&e))?;
    Ok(ClientSpec {
        secret: if args.public || args.keys_only {
            ClientSecretSpec::Absent
        } else {
            ClientSecretSpec::Generate
        },
        client_id: args.client_id,
        jwks,
        // `--grants a,b` and `--grants "a b"` alike.
        grants: args
            .grants
            .iter()
            .flat_map(|g| g.split_ascii_whitespace())
            .map(str::to_owned)
            .collect(),
        scope: args.scope,
        redirect_url: args.redirect_url,
        broker_id: args.broker,
        introspect_any: args.introspect_any,
        redirect_uris: args.redirect_uris,
        consent_required: args.consent_required,
        client_name: args.client_name,
        access_token_format: Some(args.access_token_format),
        audience: args.audience,
        access_token_alg: args.access_token_alg,
        id_token_alg: args.id_token_alg,
        post_logout_redirect_uris: args.post_logout_redirect_uris,
        require_pushed_authorization_requests: args.require_pushed_authorization_requests,
        backchannel_logout_uri: args.backchannel_logout_uri,
        backchannel_logout_session_required: args.backchannel_logout_session_required,
        token_exchange_audiences: args.token_exchange_audiences,
        dpop_bound_access_tokens: args.dpop_bound_access_tokens,
        ..ClientSpec::default()
    })
}

/// `Some("")` clears an optional setting.
fn optional(value: Option<String>, current: Option<String>) -> Option<String> {
    match value {
        Some(v) if v.is_empty() => None,
        Some(v) => Some(v),
        None => current,
    }
}

/// The stored client with the given options applied, as `client add` arguments.
fn merged(current: Client, u: UpdateArgs) -> Result<NewClientArgs, Failure> {
    let public = !current.is_confidential();
    // A client with keys and no secret (private_key_jwt only) stays so.
    let keys_only = current.secret_hash.is_none() && current.jwks.is_some();
    let broker = match u.broker.as_deref() {
        None => current.broker_id,
        Some("") => None,
        Some(text) => {
            Some(uuid::Uuid::parse_str(text).map_err(|e| invalid(&format!("--broker: {e}")))?)
        }
    };
    let redirect_uris = if u.no_redirect_uris {
        Vec::new()
    } else if u.redirect_uris.is_empty() {
        current.redirect_uris
    } else {
        u.redirect_uris
    };
    Ok(NewClientArgs {
        grants: u.grants.unwrap_or_else(|| {
            current
                .grants
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect()
        }),
        scope: u.scope.unwrap_or(current.scope),
        redirect_url: optional(u.redirect_url, current.redirect_url),
        broker,
        public,
        introspect_any: u.introspect_any.unwrap_or(current.introspect_any),
        redirect_uris,
        consent_required: u.consent_required.unwrap_or(current.consent_required),
        client_name: optional(u.client_name, current.client_name),
        access_token_format: u
            .access_token_format
            .unwrap_or_else(|| current.access_token_format.as_str().to_owned()),
        audience: optional(u.audience, current.signing.audience),
        access_token_alg: Some(
            u.access_token_alg
                .unwrap_or_else(|| current.signing.access_token_alg.as_str().to_owned()),
        ),
        id_token_alg: Some(
            u.id_token_alg
                .unwrap_or_else(|| current.signing.id_token_alg.as_str().to_owned()),
        ),
        client_id: u.client_id,
        jwks: None,
        keys_only,
        post_logout_redirect_uris: Vec::new(),
        require_pushed_authorization_requests: false,
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
        // Settings beside the client row; `client update` leaves them as they are.
        token_exchange_audiences: Vec::new(),
        dpop_bound_access_tokens: false,
    })
}

/// `gatehouse client list`.
///
/// # Errors
/// [`Exit::Failed`]: the database cannot be opened or read.
pub fn list(settings: &Settings, args: &ListArgs) -> Result<(), Failure> {
    let clients = super::service(settings)?.list_clients()?;
    if args.json {
        let all: Vec<_> = clients.iter().map(view::client_json).collect();
        println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default());
        return Ok(());
    }
    println!("{:<24} {:<12} {:<48} scope", "client", "kind", "grants");
    for c in &clients {
        println!(
            "{:<24} {:<12} {:<48} {}",
            c.client_id,
            if c.is_confidential() {
                "confidential"
            } else {
                "public"
            },
            c.grants.to_names(),
            c.scope
        );
    }
    Ok(())
}

/// `gatehouse client show ID`.
///
/// # Errors
/// [`Exit::NotFound`] for an unknown client; [`Exit::Failed`] when the database fails.
pub fn show(settings: &Settings, args: &ShowArgs) -> Result<(), Failure> {
    let client = super::service(settings)?.client_details(&args.client_id)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&view::client_json(&client)).unwrap_or_default()
        );
    } else {
        print!("{}", view::client_text(&client));
    }
    Ok(())
}

/// The stored client with `args` applied, as the spec [`Gatehouse::update_client`]
/// validates: what `client update` and the admin API's `PATCH` run.
///
/// [`Gatehouse::update_client`]: gatehouse_domain::Gatehouse::update_client
///
/// # Errors
/// [`Exit::NotFound`], [`Exit::Invalid`].
pub fn update_spec(
    service: &crate::state::Service,
    args: UpdateArgs,
) -> Result<ClientSpec, Failure> {
    if args.no_redirect_uris && !args.redirect_uris.is_empty() {
        return Err(invalid(
            &"redirect_uris and no_redirect_uris exclude each other",
        ));
    }
    let current = service.client_details(&args.client_id)?;
    let dpop = match args.dpop_bound_access_tokens {
        Some(given) => given,
        None => service.client_dpop_bound(&args.client_id)?,
    };
    // The keys stay (`client set-jwks` changes them), and so do the logout and PAR settings;
    // the back-channel settings stay unless a URI is given ("" removes them).
    let keys = current.jwks.clone();
    let backchannel = (
        args.backchannel_logout_uri.clone(),
        args.backchannel_logout_session_required,
    );
    let mut spec = spec_of(merged(current, args)?)?;
    spec.jwks = keys;
    (
        spec.backchannel_logout_uri,
        spec.backchannel_logout_session_required,
    ) = backchannel;
    spec.dpop_bound_access_tokens = dpop;
    Ok(spec)
}

/// `gatehouse client update ID …`.
///
/// # Errors
/// [`Exit::NotFound`] for an unknown client, [`Exit::Invalid`] for options the domain
/// refuses (a redirect URI, a scope, a grant), [`Exit::Failed`] when the database fails.
pub fn update(settings: &Settings, args: UpdateArgs) -> Result<(), Failure> {
    let service = super::service(settings)?;
    let spec = update_spec(&service, args)?;
    let client = service.update_client(spec)?;
    super::audited(&service, "client.update", &client.client_id);
    println!("client {} updated", client.client_id);
    print!("{}", view::client_text(&client));
    Ok(())
}

/// `gatehouse client remove ID`.
///
/// # Errors
/// [`Exit::NotFound`] for an unknown client; [`Exit::Failed`] when the database fails.
pub fn remove(settings: &Settings, args: &RemoveArgs) -> Result<(), Failure> {
    let service = super::service(settings)?;
    service.remove_client(&args.client_id)?;
    super::audited(&service, "client.remove", &args.client_id);
    println!(
        "client {} removed; every token it was issued has stopped working",
        args.client_id
    );
    Ok(())
}
