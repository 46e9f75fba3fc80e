//! The end-to-end suite: the real server on a temporary SQLite file, over HTTP.

mod admin;
mod authz;
mod client;
mod client_jwt;
mod compiles;
mod dual_run;
mod errors;
mod flows;
mod hardening;
mod help;
mod hostile;
mod katana;
mod logout;
mod oauth2_client;
mod oidc;
mod oracle;
mod par;
mod security;
mod seeds;
mod signin;
mod standard;
mod support;
mod wire;
