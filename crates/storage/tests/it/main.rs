//! Storage and grant-rule tests on real SQLite files. One binary, one module per area.

mod authorize;
mod concurrency;
mod grants;
mod migrations;
mod persistence;
mod repos;
mod support;
