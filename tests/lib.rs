//! Test-only package: the end-to-end suite lives in `it/`.
