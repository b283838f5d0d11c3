#!/usr/bin/env bash
# Side-by-side benchmarks, tchlab vs PyTorch 2.13.0 (the same libtorch), same machine,
# same thread count, same files. Prints the tables for the README.
#   make bench            (THREADS=2, ROUNDS=3, LOADED_ROUNDS=2 by default)
# The two sides run alternately ROUNDS times and the tables take each side's best
# round: on a shared machine the noise between runs is larger than the differences.
# Then LOADED_ROUNDS more rounds of plain SGD beside one competing busy process
# (`yes > /dev/null`), to show how each side slows under load: tchlab with its default
# thread policy (`auto`: one thread per free core), PyTorch with THREADS.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
LOADED_ROUNDS=${LOADED_ROUNDS:-2}
OUT=target/bench
mkdir -p "$OUT"
export TCHLAB_MNIST_MIRROR=${TCHLAB_MNIST_MIRROR:-$PWD/data/mnist}
cargo build --release --quiet --example bench_train --example bench_data
rm -f "$OUT"/*.jsonl
for round in $(seq "$ROUNDS"); do
    for kind in train data; do
        target/release/examples/bench_$kind "$THREADS" "$OUT" | tee -a "$OUT/$kind-tchlab.jsonl"
        .venv/bin/python bench/$kind.py "$THREADS" "$OUT" | tee -a "$OUT/$kind-pytorch.jsonl"
    done
done
if [ "$LOADED_ROUNDS" -gt 0 ]; then
    yes > /dev/null &
    load=$!
    trap 'kill $load 2>/dev/null' EXIT
    for round in $(seq "$LOADED_ROUNDS"); do
        target/release/examples/bench_train auto loaded | tee -a "$OUT/train-tchlab.jsonl"
        .venv/bin/python bench/train.py "$THREADS" "$OUT" loaded | tee -a "$OUT/train-pytorch.jsonl"
    done
    kill $load
fi
.venv/bin/python bench/table.py "$OUT"
