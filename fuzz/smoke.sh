#!/usr/bin/env bash
# The fuzz targets on stable, as CI runs them (`just fuzz-smoke`): every libFuzzer target
# (decode_json, decode_xml, decode_form, negotiate, basic_header, verify_jwt,
# authorize_query, token_form: `fuzz/src/lib.rs` TARGETS, checked against fuzz_targets/)
# builds and links, and each target's code runs over every seed in seeds/<target>/ (the
# library test `every_target_runs_over_its_seeds`). No sanitizer and no fuzzing: that is
# `cargo +nightly fuzz run` (docs/security.md). The root target/ is shared so the
# dependencies already built for the workspace are reused (fuzz/Cargo.lock follows the
# root lock's versions).
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/../target}"
cargo build --locked --bins
cargo test --locked --lib
