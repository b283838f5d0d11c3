#!/usr/bin/env bash
# Builds the notebooks' kernel: evcxr_jupyter $EVCXR_VERSION from its published sources
# (fetched by cargo, so checked against crates.io's checksums) with the patches in
# tools/evcxr/ applied to its `evcxr` library, installed as .venv/bin/evcxr_jupyter.
# Idempotent: does nothing when the installed build matches the version and patches.
# Why the patches exist: environment.md, "Notebook latency".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
EVCXR_VERSION=${EVCXR_VERSION:-0.22.0}
BUILD=$ROOT/target/evcxr-build
stamp=.venv/.tchlab-evcxr
phase() { printf '[setup] %-28s %s\n' evcxr "$1"; }
want="evcxr_jupyter $EVCXR_VERSION $(cat tools/evcxr/*.patch | sha256sum | cut -d' ' -f1)"
if [ -x .venv/bin/evcxr_jupyter ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    exit 0
fi
# A build of the same version and patches by another checkout on this machine is reused:
# the binary is self-contained (it finds rustc and cargo on the PATH when it runs).
cache=${XDG_CACHE_HOME:-$HOME/.cache}/tchlab/evcxr_jupyter-$EVCXR_VERSION-$(printf '%s' "$want" | sha256sum | cut -c1-16)
if [ -x "$cache" ]; then
    mkdir -p .venv/bin
    cp "$cache" .venv/bin/evcxr_jupyter.new && mv .venv/bin/evcxr_jupyter.new .venv/bin/evcxr_jupyter
    printf '%s\n' "$want" > "$stamp"
    phase "evcxr_jupyter $EVCXR_VERSION with tools/evcxr/*.patch from $cache"
    exit 0
fi
t0=$(date +%s)
phase "building evcxr_jupyter $EVCXR_VERSION with tools/evcxr/*.patch (first time: ~7 min)"

# 1. The published sources: a throwaway package depending on exactly this version.
mkdir -p "$BUILD/fetch/src"
cat > "$BUILD/fetch/Cargo.toml" <<EOT
[package]
name = "tchlab-evcxr-sources"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
evcxr_jupyter = "=$EVCXR_VERSION"
evcxr = "=$EVCXR_VERSION"

[workspace]
EOT
: > "$BUILD/fetch/src/lib.rs"
cargo fetch --quiet --manifest-path "$BUILD/fetch/Cargo.toml"
source_dir() {
    cargo metadata --format-version 1 --manifest-path "$BUILD/fetch/Cargo.toml" 2>/dev/null |
        python3 -c "import json, os, sys; m = json.load(sys.stdin); print(next(os.path.dirname(p['manifest_path']) for p in m['packages'] if p['name'] == sys.argv[1] and p['version'] == sys.argv[2]))" "$1" "$EVCXR_VERSION"
}
jupyter_src=$(source_dir evcxr_jupyter)
evcxr_src=$(source_dir evcxr)

# 2. Fresh copies, the patches applied to evcxr, and evcxr_jupyter pointed at the copy.
work=$BUILD/src
mkdir -p "$work"
rm -rf "$work/evcxr" "$work/evcxr_jupyter.new"
cp -r "$evcxr_src" "$work/evcxr"
chmod -R u+w "$work/evcxr"
for patch in "$ROOT"/tools/evcxr/*.patch; do
    (cd "$work/evcxr" && git apply -p1 "$patch")
done
# evcxr_jupyter keeps its own target/ between builds (a changed patch rebuilds one crate).
mkdir -p "$work/evcxr_jupyter.new"
(cd "$jupyter_src" && tar cf - --exclude=target .) | (cd "$work/evcxr_jupyter.new" && tar xf -)
chmod -R u+w "$work/evcxr_jupyter.new"
printf '\n[patch.crates-io]\nevcxr = { path = "../evcxr" }\n' >> "$work/evcxr_jupyter.new/Cargo.toml"
# The published lock file, with evcxr now a path package (no source, no checksum): the
# build is --locked to exactly the dependency versions evcxr_jupyter was released with.
python3 - "$work/evcxr_jupyter.new/Cargo.lock" "$EVCXR_VERSION" <<'EOF'
import re, sys
path, version = sys.argv[1], sys.argv[2]
text = open(path).read()
entry = f'name = "evcxr"\nversion = "{version}"\n'
start = text.index("[[package]]\n" + entry)
end = text.find("\n[[package]]", start + 1)
block = text[start:end]
block = re.sub(r'\nsource = "[^"]*"', "", block)
block = re.sub(r'\nchecksum = "[^"]*"', "", block)
text = text[:start] + block + text[end:]
# Dependents name it with its source ("evcxr 0.22.0 (registry+...)") only when two
# versions exist; keep the plain form valid for a path package.
text = text.replace(f'"evcxr {version} (registry+https://github.com/rust-lang/crates.io-index)"', f'"evcxr {version}"')
open(path, "w").write(text)
EOF
if [ -d "$work/evcxr_jupyter/target" ]; then
    mv "$work/evcxr_jupyter/target" "$work/evcxr_jupyter.new/target"
fi
rm -rf "$work/evcxr_jupyter"
mv "$work/evcxr_jupyter.new" "$work/evcxr_jupyter"

# 3. Build and install into the venv (its own target dir, not the project's).
CARGO_TARGET_DIR="$work/evcxr_jupyter/target" cargo install --quiet --locked --force \
    --path "$work/evcxr_jupyter" --root "$ROOT/.venv"
printf '%s\n' "$want" > "$stamp"
mkdir -p "$(dirname "$cache")"
cp .venv/bin/evcxr_jupyter "$cache.new" && mv "$cache.new" "$cache"
phase "done in $(( $(date +%s) - t0 ))s"
