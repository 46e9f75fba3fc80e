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
