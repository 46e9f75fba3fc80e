# Gatehouse tasks. `just` alone lists them.

default:
    @just --list

# Serve on 127.0.0.1:8080 with the demo data in ./gatehouse.db
run:
    cargo run --release -p gatehouse -- serve --demo

# The whole test suite
test:
    cargo test --workspace

# Formatting and lints, as CI runs them
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Format the code
fmt:
    cargo fmt --all

# CI, exactly as it runs
ci:
    bash .ci/run

# Load benchmark against its ceilings (wrk); see docs/performance.md. e.g. just bench --quick
bench *ARGS:
    python3 bench/run.py {{ARGS}}

# Codec micro-benchmarks (criterion), JSON and XML beside serde_json
bench-codec:
    cargo bench -p gatehouse-codec --bench codec

# Gatehouse beside @node-oauth/oauth2-server, oidc-provider and Authlib (wrk, interleaved rounds); see docs/performance.md
bench-peers *ARGS:
    python3 bench/peers.py {{ARGS}}

# The API docs of every crate, warnings denied (as CI checks them)
doc:
    RUSTDOCFLAGS="-D warnings -A rustdoc::bare_urls -A rustdoc::invalid_html_tags -A rustdoc::private_intra_doc_links" cargo doc --workspace --no-deps

# Fuzz smoke as CI runs it (stable): build every target (decode_json, decode_xml, decode_form, negotiate, basic_header, verify_jwt, authorize_query, token_form), run each over its seeds once
fuzz-smoke:
    bash fuzz/smoke.sh

# Fuzz one target with libFuzzer and AddressSanitizer (nightly, cargo-fuzz), e.g. just fuzz verify_jwt 600, just fuzz authorize_query, just fuzz token_form
fuzz TARGET SECONDS="600":
    cd fuzz && cargo +nightly fuzz run {{TARGET}} corpus/{{TARGET}} seeds/{{TARGET}} -- -max_total_time={{SECONDS}}

# Crash safety: SIGKILL the release binary mid-load, check nothing acknowledged is lost (docs/security.md)
crash *ARGS:
    cargo build --release -p gatehouse
    python3 scripts/crash.py {{ARGS}}

# Overload: password floods past the hash pool get a prompt 503 (docs/security.md)
overload *ARGS:
    cargo build --release -p gatehouse
    python3 scripts/overload.py {{ARGS}}

# Byte-for-byte diff against the legacy oracle on Mono (../shared/oracle; docs/wire-format.md), e.g. just oracle-diff --record tests/golden/oracle
oracle-diff *ARGS:
    #!/usr/bin/env bash
    set -euo pipefail
    cargo build --release -p gatehouse
    db=$(mktemp -d)/oracle-diff.db
    oracle_dir=../shared/oracle; [ -x "$oracle_dir/run.sh" ] || oracle_dir=../../shared/oracle
    "$oracle_dir/run.sh" 18481 & oracle=$!
    target/release/gatehouse serve --demo --database "$db" --bind 127.0.0.1:18480 --display-offset +10:00 & gh=$!
    trap 'kill $oracle $gh 2>/dev/null || true' EXIT
    for port in 18481 18480; do
        for _ in $(seq 120); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 1; done
    done
    python3 scripts/oracle_diff.py --oracle 18481 --gatehouse 18480 {{ARGS}}
