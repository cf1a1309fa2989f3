#!/usr/bin/env bash
# Every check CI runs, in order: formatting, lints, rustdoc, the workspace tests, and the
# compatibility tests against a third-party RocketMQ client (compat/, its own workspace because
# that client takes minutes to build). Set FERROMQ_SKIP_COMPAT=1 to skip that step locally, and
# FERROMQ_QUICKSTART=1 to also run scripts/quickstart (a release build of the binaries, a few
# extra minutes on a cold cache, so CI leaves it out).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

step() { printf '\n== %s\n' "$*"; }

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: install Rust (https://rustup.rs) first" >&2
    exit 1
fi
for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
        rustup component add "$component"
    fi
done

step "cargo fmt --check"
cargo fmt --all -- --check
if [ -d compat ]; then cargo fmt --manifest-path compat/Cargo.toml -- --check; fi

step "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

step "fuzz targets compile (protocol/fuzz, run them with cargo +nightly fuzz)"
cargo check --manifest-path protocol/fuzz/Cargo.toml --quiet

step "cargo test --workspace"
cargo test --workspace

step "client examples against a NameServer + broker started by scripts/"
./scripts/run-examples.sh

step "scripts/cluster: the 2m-2s-async cluster (2 masters, 2 slaves), send and read back, stop"
./scripts/cluster-check.sh

if [ -d compat ] && [ "${FERROMQ_SKIP_COMPAT:-0}" != 1 ]; then
    step "compatibility tests (rocketmq-client-rust)"
    cargo test --manifest-path compat/Cargo.toml --release
fi
if [ "${FERROMQ_QUICKSTART:-0}" = 1 ]; then
    step "scripts/quickstart (release build, local cluster, 1000 messages end to end)"
    scripts/quickstart 1000
fi
step "all checks passed"
