#!/usr/bin/env python3
"""Compiles tchlab and its dependencies in the project kernel's build folder, so that the
first notebook a student opens starts warm (its `:dep` cell then takes seconds, not minutes).

Runs the `:dep` line of notebooks/00-setup-check.ipynb and one cell that uses the crate,
through the same kernel and build slot as the notebooks. Skipped when
target/evcxr/.prewarmed records the same Cargo.toml, Cargo.lock, `:dep` line and rustc.
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
first = json.loads((root / "notebooks/00-setup-check.ipynb").read_text())["cells"]
dep = next("".join(c["source"]) for c in first if c["cell_type"] == "code" and "".join(c["source"]).startswith(":dep"))
rustc = subprocess.run(["rustc", "-V"], capture_output=True, text=True).stdout
key = hashlib.sha256("\n".join([(root / "Cargo.toml").read_text(), (root / "Cargo.lock").read_text(), dep, rustc]).encode()).hexdigest()
if stamp.exists() and stamp.read_text().strip() == key:
    sys.exit(0)
import nbformat  # noqa: E402 (only when there is work to do: these imports take seconds)
from nbclient import NotebookClient  # noqa: E402

print(f"[setup] kernel build           compiling tchlab for the notebooks (first time: ~5 min)", flush=True)
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
    print(f"[setup] kernel build failed:\n{text}\n{errors}", file=sys.stderr)
    sys.exit(1)
stamp.parent.mkdir(parents=True, exist_ok=True)
stamp.write_text(key + "\n")
print(f"[setup] kernel build           done: :dep cell {times[0]:.0f}s, first cell using the crate {times[1]:.0f}s", flush=True)
