//! The end-to-end suite: the real server on a temporary SQLite file, over HTTP.

mod authz;
mod errors;
mod flows;
mod hostile;
mod oauth2_client;
mod security;
mod seeds;
mod support;
