#!/usr/bin/env bash
# make test: setup, the crate's tests (all targets and doctests), then the notebooks
# (through cargo, so that the run ends with cargo's test summary). Prints each phase's time.
set -euo pipefail
cd "$(dirname "$0")/.."
# The notebooks run at their short CI settings unless LECTURE=1 (`make test LECTURE=1`);
# `make notebooks` runs them at the lecture's settings.
if [ "${LECTURE:-0}" = 1 ]; then export TCHLAB_CI=0; else export TCHLAB_CI=${TCHLAB_CI:-1}; fi
echo "[make test] notebooks at $([ "$TCHLAB_CI" = 0 ] && echo "the lecture's" || echo "the short CI") settings"
t() { date +%s; }
phase() { printf '[make test] %-22s %4ss\n' "$1" "$2"; }
t0=$(t); bash tools/setup.sh; phase setup $(( $(t) - t0 ))
t0=$(t); cargo build --all-targets --quiet; phase "cargo build" $(( $(t) - t0 ))
# Lint also the feature set the notebooks build (no polars, no CLI: dylib/).
t0=$(t); cargo fmt --check && cargo clippy --all-targets --quiet -- -D warnings \
    && cargo clippy --lib --quiet --no-default-features --features download -- -D warnings
phase "lint (fmt, clippy)" $(( $(t) - t0 ))
t0=$(t); cargo test --all-targets --quiet 2>&1 | tail -n 400; phase "cargo test" $(( $(t) - t0 ))
t0=$(t); cargo test --doc --quiet 2>&1 | tail -n 100; phase "doctests" $(( $(t) - t0 ))
# Notebooks last: the runner's self-test, then every lecture notebook.
cargo test --test notebooks -- --ignored --test-threads=1 --nocapture
