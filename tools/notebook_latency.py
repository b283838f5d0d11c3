#!/usr/bin/env python3
"""Measures a notebook's latency with the project kernel: the kernel start, every code
cell of a first Run All (what Restart & Run All costs), then every cell of a second Run
All in the same, already open kernel.

    .venv/bin/python tools/notebook_latency.py notebooks/00-setup-check.ipynb

With --probe it instead runs, in a fresh kernel each time, the notebook's `:dep` cell,
`use tchlab::prelude::*;`, a first cell that keeps a variable
(`let t = Tensor::from_slice(...)`) and five trivial cells (`let u = 3;`): the rows of
environment.md's latency table, as min-median-max over --repeat kernels. --pause S waits
S seconds after the kernel starts and after the `:dep` cell (a student reading) before the
next cell; without it the cells run back to back, as in Run All.

Prints one line per phase; exits 1 if a cell raised an error.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebook", type=Path)
    ap.add_argument("--kernel", default="tchlab")
    ap.add_argument("--runs", type=int, default=2, help="Run All passes in the same kernel")
    ap.add_argument("--probe", action="store_true", help="time the latency table's cells instead")
    ap.add_argument("--repeat", type=int, default=3, help="kernels to start with --probe")
    ap.add_argument("--pause", type=float, default=0.0, help="with --probe: seconds to wait after the kernel starts and after the :dep cell")
    args = ap.parse_args()
    nb = nbformat.read(args.notebook, as_version=4)
    if args.probe:
        return probe(nb, args)
    client = NotebookClient(
        nb, kernel_name=args.kernel, timeout=1800, resources={"metadata": {"path": str(args.notebook.parent)}}
    )
    cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    start = time.perf_counter()
    try:
        with client.setup_kernel():
            print(f"kernel start: {time.perf_counter() - start:.1f} s", flush=True)
            for run in range(1, args.runs + 1):
                times = []
                for index, cell in cells:
                    t = time.perf_counter()
                    client.execute_cell(cell, index)
                    times.append(time.perf_counter() - t)
                label = "first Run All (as after a restart)" if run == 1 else "Run All again, same kernel"
                cells_text = ", ".join(f"{t:.1f}" for t in times)
                print(f"run {run}, {label}: {sum(times):.1f} s (cells: {cells_text})", flush=True)
    except CellExecutionError as e:
        print(f"a cell failed: {str(e)[-1500:]}", file=sys.stderr)
        return 1
    return 0


def spread(values):
    values = sorted(values)
    return f"{values[0]:.1f}\u2013{statistics.median(values):.1f}\u2013{values[-1]:.1f} s"


def probe(nb, args):
    dep = next(c.source for c in nb.cells if c.cell_type == "code" and c.source.lstrip().startswith(":dep"))
    sources = [
        ("kernel start", None),
        (":dep cell", dep),
        ("use", "use tchlab::prelude::*;"),
        ("first cell that keeps a variable", "let t = Tensor::from_slice(&[1.0f32, 2.0, 3.0]);"),
    ] + [("trivial cell", "let u = 3;")] * 5
    probe_nb = nbformat.v4.new_notebook()
    probe_nb.cells = [nbformat.v4.new_code_cell(src) for _, src in sources[1:]]
    seen = {}
    for _ in range(args.repeat):
        client = NotebookClient(
            probe_nb, kernel_name=args.kernel, timeout=1800, resources={"metadata": {"path": str(args.notebook.parent)}}
        )
        start = time.perf_counter()
        try:
            with client.setup_kernel():
                times = [time.perf_counter() - start]
                for index, cell in enumerate(probe_nb.cells):
                    if index in (0, 1):
                        time.sleep(args.pause)
                    t = time.perf_counter()
                    client.execute_cell(cell, index)
                    times.append(time.perf_counter() - t)
        except CellExecutionError as e:
            print(f"a cell failed: {str(e)[-1500:]}", file=sys.stderr)
            return 1
        print("kernel: " + ", ".join(f"{t:.2f}" for t in times), flush=True)
        for (label, _), t in zip(sources, times):
            seen.setdefault(label, []).append(t)
    for label, values in seen.items():
        print(f"{label}: {spread(values)} ({len(values)} values)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
