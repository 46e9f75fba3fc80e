//! The end-to-end suite: the real server on a temporary SQLite file, over HTTP.

mod authz;
mod compiles;
mod errors;
mod flows;
mod help;
mod hostile;
mod oauth2_client;
mod oidc;
mod oracle;
mod security;
mod seeds;
mod standard;
mod support;
mod wire;
