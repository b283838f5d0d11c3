#!/usr/bin/env python3
"""Compiles tchlab and its dependencies in the project kernel's build folder, so that the
first notebook a student opens starts warm (its `:dep` cell then takes seconds, not minutes).

Runs each distinct `:dep` line of the notebooks and one cell that uses the crate, through
the same kernel and build slot as the notebooks. Skipped when target/evcxr/.prewarmed
records the same Cargo.toml, Cargo.lock, dylib crate, `:dep` lines and rustc.
Prints the time of each cell: the cold `:dep` time of this machine.
"""
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

root = Path(__file__).resolve().parent.parent
stamp = root / "target/evcxr/.prewarmed"


def dep_lines():
    """The distinct `:dep` cells of the notebooks (tchlab-dylib and tchlab-dylib-polars),
    the one most notebooks use last. Both libraries stay built side by side in the slot."""
    uses = {}
    for path in sorted((root / "notebooks").glob("[0-9]*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] == "code" and source.startswith(":dep"):
                uses[source] = uses.get(source, 0) + 1
    return sorted(uses, key=lambda line: uses[line])


deps = dep_lines()
rustc = subprocess.run(["rustc", "-V"], capture_output=True, text=True).stdout
inputs = [root / "Cargo.toml", root / "Cargo.lock", root / "dylib/Cargo.toml", root / "dylib/polars/Cargo.toml", root / "dylib/build.rs"]
key = hashlib.sha256("\n".join([p.read_text() for p in inputs] + deps + [rustc]).encode()).hexdigest()
if stamp.exists() and stamp.read_text().strip() == key:
    sys.exit(0)
import nbformat  # noqa: E402 (only when there is work to do: these imports take seconds)
from nbclient import NotebookClient  # noqa: E402

print("[setup] kernel build           compiling tchlab for the notebooks (first time: ~5 min)", flush=True)
report = []
for dep in deps:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(dep),
        nbformat.v4.new_code_cell("use tchlab::prelude::*;\nlet warm = Tensor::from_slice(&[1.0f32, 2.0]).sum(Kind::Float).double_value(&[]);\nprintln!(\"{warm}\");"),
    ]
    client = NotebookClient(nb, kernel_name="tchlab", timeout=1800, allow_errors=True, resources={"metadata": {"path": str(root / "notebooks")}})
    times = []
    with client.setup_kernel():
        for i, cell in enumerate(nb.cells):
            t = time.time()
            client.execute_cell(cell, i)
            times.append(time.time() - t)
    text = "".join(o.get("text", "") for c in nb.cells for o in c.outputs if o.get("output_type") == "stream")
    errors = [o for c in nb.cells for o in c.outputs if o.get("output_type") == "error"]
    if errors or "3" not in text.split():
        print(f"[setup] kernel build failed for {dep}:\n{text}\n{errors}", file=sys.stderr)
        sys.exit(1)
    report.append(f":dep cell {times[0]:.0f}s, first cell using the crate {times[1]:.0f}s")
stamp.parent.mkdir(parents=True, exist_ok=True)
stamp.write_text(key + "\n")
print(f"[setup] kernel build           done: {'; '.join(report)}", flush=True)
