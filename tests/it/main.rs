//! The end-to-end suite: the real server on a temporary SQLite file, over HTTP.

mod seeds;
mod support;
