# tchlab: `make setup` builds the environment, `make test` checks everything,
# `make notebooks` runs every lecture notebook and leaves rendered results;
# `make lint` (fmt, clippy -D warnings) is part of `make test`.
SHELL := bash
PY := .venv/bin/python
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))

.PHONY: setup build test notebooks lab bench lint clean-evcxr

setup:
	@bash tools/setup.sh

build: setup
	cargo build --all-targets

test:
	@LECTURE=$(LECTURE) bash tools/test.sh

notebooks: setup
	$(PY) tools/run_notebooks.py --out target/notebooks $(NOTEBOOKS)

lab: setup
	.venv/bin/jupyter lab --notebook-dir=notebooks

lint: setup
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --lib --no-default-features --features download -- -D warnings

bench: setup
	bash bench/run.sh

clean-evcxr:
	rm -rf target/evcxr
