#!/usr/bin/env python3
"""Measures a notebook's latency with the project kernel: the kernel start, every code
cell of a first Run All (what Restart & Run All costs), then every cell of a second Run
All in the same, already open kernel.

    .venv/bin/python tools/notebook_latency.py notebooks/00-setup-check.ipynb

Prints one line per phase; exits 1 if a cell raised an error.
"""
import argparse
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
    args = ap.parse_args()
    nb = nbformat.read(args.notebook, as_version=4)
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


if __name__ == "__main__":
    sys.exit(main())
