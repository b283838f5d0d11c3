# tchlab: `make setup` builds the environment, `make test` checks everything,
# `make notebooks` runs every lecture notebook at the lecture's settings and leaves rendered
# results in target/notebooks-lecture, `make publish` commits their outputs into notebooks/;
# `make lint` (fmt, clippy -D warnings) is part of `make test`.
SHELL := bash
PY := .venv/bin/python
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))

.PHONY: setup build test notebooks publish lab bench lint clean-evcxr

setup:
	@bash tools/setup.sh

build: setup
	cargo build --all-targets

test:
	@LECTURE=$(LECTURE) bash tools/test.sh

notebooks: setup
	TCHLAB_CI=0 $(PY) tools/run_notebooks.py --out target/notebooks-lecture $(NOTEBOOKS)

# Runs every notebook at the lecture's settings (`make notebooks`), copies the outputs into
# the committed notebooks and regenerates README.md's table of the lecture's numbers and ours.
publish: notebooks
	$(PY) tools/publish_notebooks.py target/notebooks-lecture $(NOTEBOOKS)

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
