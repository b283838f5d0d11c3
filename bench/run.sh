#!/usr/bin/env bash
# Side-by-side benchmarks, tchlab vs PyTorch 2.13.0 (the same libtorch), same machine,
# same thread count, same files. Prints the tables for the README.
#   make bench            (THREADS=2 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
OUT=target/bench
mkdir -p "$OUT"
export TCHLAB_MNIST_MIRROR=${TCHLAB_MNIST_MIRROR:-$PWD/data/mnist}
cargo build --release --quiet --example bench_train --example bench_data
for kind in train data; do
    target/release/examples/bench_$kind "$THREADS" "$OUT" | tee "$OUT/$kind-tchlab.jsonl"
    .venv/bin/python bench/$kind.py "$THREADS" "$OUT" | tee "$OUT/$kind-pytorch.jsonl"
done
.venv/bin/python bench/table.py "$OUT"
