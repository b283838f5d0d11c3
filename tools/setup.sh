#!/usr/bin/env bash
# make setup: builds the whole environment from nothing, idempotently and quietly.
#   .venv/                  Python venv: torch==2.13.0 (libtorch for tch), Jupyter
#   .venv/bin/evcxr_jupyter 0.22.0, patched (tools/evcxr/)   the Rust Jupyter kernel
#   .cargo/config.toml      LIBTORCH for tch's build (absolute path, generated)
#   .venv/share/jupyter/kernels/tchlab  the "Rust (tchlab)" kernelspec
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}
phase() { printf '[setup] %-28s %s\n' "$1" "$2"; }
now() { date +%s; }

# 1. Python venv with torch and Jupyter.
t0=$(now)
stamp=.venv/.tchlab-requirements
if [ ! -x .venv/bin/python ] || ! cmp -s tools/requirements.txt "$stamp"; then
    phase venv "installing tools/requirements.txt into .venv (first time: ~5 GB, a few minutes)"
    [ -x .venv/bin/python ] || "$PY" -m venv .venv
    .venv/bin/python -m pip install -q --disable-pip-version-check -r tools/requirements.txt
    cp tools/requirements.txt "$stamp"
    phase venv "done in $(( $(now) - t0 ))s"
fi

# 2. libtorch location for tch: an existing LIBTORCH wins, else the venv's torch.
if [ -n "${LIBTORCH:-}" ]; then
    TORCH_DIR=$LIBTORCH
else
    # find_spec locates the package without importing it (importing torch takes seconds).
    TORCH_DIR=$(.venv/bin/python -c 'import importlib.util as u; print(u.find_spec("torch").submodule_search_locations[0])')
fi
[ -f "$TORCH_DIR/lib/libtorch_cpu.so" ] || { echo "[setup] error: $TORCH_DIR/lib/libtorch_cpu.so not found; set LIBTORCH to a libtorch 2.13.0 folder or remove it to use the venv's torch" >&2; exit 1; }
mkdir -p .cargo
config=$(cat <<EOT
# Written by \`make setup\` (tools/setup.sh); not committed. Points tch at libtorch.
[env]
LIBTORCH = "$TORCH_DIR"
LIBTORCH_BYPASS_VERSION_CHECK = "0"
EOT
)
if [ ! -f .cargo/config.toml ] || [ "$(cat .cargo/config.toml)" != "$config" ]; then
    printf '%s\n' "$config" > .cargo/config.toml
    phase cargo-config "LIBTORCH=$TORCH_DIR"
fi

# What a crate of one's own needs to build and run on tchlab: `source tchlab.env`. LIBTORCH
# for tch's build; LD_LIBRARY_PATH so that its binaries find libtorch (cargo passes no link
# arguments to dependents, so tchlab's rpath does not reach them; templates/my-experiment's
# build.rs adds one of its own).
envfile=$(cat <<EOT
# Written by \`make setup\` (tools/setup.sh); not committed. \`source\` it before building or
# running a crate of your own that depends on tchlab (see the README, "A crate of your own").
export LIBTORCH="$TORCH_DIR"
export LD_LIBRARY_PATH="$TORCH_DIR/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
export PATH="$ROOT/.venv/bin:\$PATH"
EOT
)
if [ ! -f tchlab.env ] || [ "$(cat tchlab.env)" != "$envfile" ]; then
    printf '%s\n' "$envfile" > tchlab.env
    phase tchlab.env "LIBTORCH for crates of your own"
fi

# \`tchlab\` on the venv's PATH: builds the release binary when it is missing or older
# than the sources, then runs it.
wrapper=$(cat <<EOT
#!/usr/bin/env bash
# Written by \`make setup\` (tools/setup.sh): the tchlab command line of $ROOT.
bin="$ROOT/target/release/tchlab"
if [ ! -x "\$bin" ] || [ -n "\$(find "$ROOT/src" "$ROOT/Cargo.toml" "$ROOT/Cargo.lock" -newer "\$bin" -print -quit)" ]; then
    echo "tchlab: building the release binary (the first time takes a few minutes)" >&2
    CARGO_TARGET_DIR="$ROOT/target" cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" --bin tchlab >&2 || exit 1
fi
exec "\$bin" "\$@"
EOT
)
if [ ! -f .venv/bin/tchlab ] || [ "$(cat .venv/bin/tchlab)" != "$wrapper" ]; then
    printf '%s\n' "$wrapper" > .venv/bin/tchlab
    chmod +x .venv/bin/tchlab
    phase tchlab "the command line: .venv/bin/tchlab"
fi

# 3. The assembler for libjpeg-turbo's SIMD code, when the system can install it
#    (optional: without nasm, JPEGs decode without SIMD, about a fifth slower).
for tool in nasm; do
    if ! command -v $tool >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        t0=$(now)
        (apt-get install -y -q $tool >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $tool >/dev/null 2>&1; }) \
            && phase $tool "installed in $(( $(now) - t0 ))s" || phase $tool "not installed (optional)"
    fi
done

# 3b. Fashion-MNIST for notebook 06 (Debian's dataset-fashion-mnist, the mirror CI and
#     TCHLAB_FASHION_MNIST_MIRROR point at), when the system can install it.
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    t0=$(now)
    (apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1; }) \
        && phase fashion-mnist "installed in $(( $(now) - t0 ))s" || phase fashion-mnist "not installed (notebook 06 then downloads it)"
fi

# 4. evcxr_jupyter, the kernel: built from its published source with tools/evcxr/*.patch
#    (tools/build-evcxr.sh; why: environment.md, "Notebook latency"), into .venv/bin.
bash tools/build-evcxr.sh

# 5. The project's own kernelspec, inside the venv.
spec_dir=.venv/share/jupyter/kernels/tchlab
spec=$(cat <<EOT
{
  "argv": ["$ROOT/tools/tchlab-kernel", "--control_file", "{connection_file}"],
  "display_name": "Rust (tchlab)",
  "language": "rust",
  "interrupt_mode": "message",
  "env": {
    "LIBTORCH": "$TORCH_DIR",
    "LD_LIBRARY_PATH": "$TORCH_DIR/lib",
    "TCHLAB_VENV": "$ROOT/.venv",
    "TCHLAB_EVCXR_ROOT": "$ROOT/target/evcxr"
  }
}
EOT
)
if [ ! -f "$spec_dir/kernel.json" ] || [ "$(cat "$spec_dir/kernel.json")" != "$spec" ]; then
    mkdir -p "$spec_dir"
    printf '%s\n' "$spec" > "$spec_dir/kernel.json"
    phase kernelspec "Rust (tchlab) -> $spec_dir"
fi

# 6. Compile tchlab in the kernel's build folder once, so the first notebook starts warm.
if [ -z "${TCHLAB_SKIP_PREWARM:-}" ]; then
    .venv/bin/python tools/prewarm_kernel.py
fi
