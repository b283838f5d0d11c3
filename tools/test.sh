#!/usr/bin/env bash
# make test: setup, the crate's tests (all targets and doctests), then the notebooks
# (through cargo, so that the run ends with cargo's test summary). Prints each phase's time.
set -euo pipefail
cd "$(dirname "$0")/.."
t() { date +%s; }
phase() { printf '[make test] %-22s %4ss\n' "$1" "$2"; }
t0=$(t); bash tools/setup.sh; phase setup $(( $(t) - t0 ))
t0=$(t); cargo build --all-targets --quiet; phase "cargo build" $(( $(t) - t0 ))
t0=$(t); cargo test --all-targets --quiet 2>&1 | tail -n 400; phase "cargo test" $(( $(t) - t0 ))
t0=$(t); cargo test --doc --quiet 2>&1 | tail -n 100; phase "doctests" $(( $(t) - t0 ))
# Notebooks last: the runner's self-test, then every lecture notebook.
cargo test --test notebooks -- --ignored --test-threads=1 --nocapture
