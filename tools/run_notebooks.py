#!/usr/bin/env python3
"""Execute tchlab notebooks headless with the project kernel and check them.

A notebook fails when a cell errors, when any output contains a Rust panic or an
`Error:` line, when a cell wrote to stderr (evcxr's report of an `Err` returned by a cell),
when it produced no figure (image/png or image/svg+xml output), or
when a `RESULT name=value` line it printed is outside the tolerance given in
notebooks/targets.json (or a target listed there was never printed).

Executed notebooks and their HTML renderings go to --out (target/notebooks).
Exit status: 0 when every notebook passed, 1 otherwise.
"""
import argparse
import json
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbconvert import HTMLExporter

PANIC = re.compile(r"panicked at|thread '.*' panicked")
ERROR = re.compile(r"^(Error:|error(\[E\d+\])?:)", re.MULTILINE)
RESULT = re.compile(r"^RESULT (\S+)=(\S+)\s*$", re.MULTILINE)
FIGURE_MIMES = ("image/png", "image/svg+xml")


def output_texts(out):
    if out.get("output_type") == "stream":
        yield out.get("text", "")
    elif out.get("output_type") == "error":
        yield "\n".join(out.get("traceback", [])) or out.get("evalue", "")
    else:
        data = out.get("data", {})
        if "text/plain" in data:
            yield data["text/plain"]


def check(nb, targets):
    problems, figures, results, stderr_cells = [], 0, {}, set()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                problems.append(f"cell {index}: error output: {out.get('ename', '')} {out.get('evalue', '')[:300]}")
            if any(m in out.get("data", {}) for m in FIGURE_MIMES):
                figures += 1
            # evcxr reports an `Err` returned by a cell (`?`) as bare text on stderr;
            # tchlab and the notebooks write nothing else there.
            if out.get("output_type") == "stream" and out.get("name") == "stderr" and index not in stderr_cells:
                stderr_cells.add(index)
                first = next((l for l in out.get("text", "").splitlines() if l.strip()), "")
                problems.append(f"cell {index}: error (stderr): {first[:300]}")
            for text in output_texts(out):
                if PANIC.search(text):
                    line = next((l for l in text.splitlines() if "panicked" in l), "")
                    problems.append(f"cell {index}: panic: {line[:300]}")
                m = ERROR.search(text)
                if m:
                    line = text[m.start():].splitlines()[0]
                    problems.append(f"cell {index}: error: {line[:300]}")
                for name, value in RESULT.findall(text):
                    try:
                        results[name] = float(value)
                    except ValueError:
                        problems.append(f"cell {index}: RESULT {name}={value} is not a number")
    if figures == 0:
        problems.append("the notebook produced no figure")
    for name, spec in targets.items():
        if name not in results:
            problems.append(f"RESULT {name} was not printed")
            continue
        v = results[name]
        lo, hi = spec.get("min", float("-inf")), spec.get("max", float("inf"))
        if "target" in spec:
            lo, hi = spec["target"] - spec["tol"], spec["target"] + spec["tol"]
        if not lo <= v <= hi:
            problems.append(f"RESULT {name}={v} is outside [{lo}, {hi}] ({spec.get('note', 'lecture target')})")
    return problems, figures, results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, default=Path("target/notebooks"))
    ap.add_argument("--kernel", default="tchlab")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    ap.add_argument("--targets", type=Path, default=Path(__file__).resolve().parent.parent / "notebooks" / "targets.json")
    args = ap.parse_args()
    all_targets = json.loads(args.targets.read_text()) if args.targets.exists() else {}
    args.out.mkdir(parents=True, exist_ok=True)
    summary, failed = {}, []
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(
            nb,
            kernel_name=args.kernel,
            timeout=args.timeout,
            allow_errors=True,
            resources={"metadata": {"path": str(path.resolve().parent)}},
        )
        start = time.time()
        crash = None
        try:
            client.execute()
        except (CellExecutionError, CellTimeoutError, DeadKernelError, RuntimeError) as e:
            crash = f"execution stopped: {type(e).__name__}: {str(e)[:500]}"
        seconds = time.time() - start
        problems, figures, results = check(nb, all_targets.get(path.stem, {}))
        if crash:
            problems.insert(0, crash)
        nbformat.write(nb, args.out / path.name)
        html, _ = HTMLExporter().from_notebook_node(nb)
        (args.out / path.with_suffix(".html").name).write_text(html, encoding="utf-8")
        status = "ok" if not problems else "FAILED"
        print(f"{status:6} {path.name}  {seconds:7.1f}s  {figures} figure(s)  {len(results)} result(s)", flush=True)
        for p in problems:
            print(f"       - {p}", flush=True)
        summary[path.stem] = {"ok": not problems, "seconds": round(seconds, 1), "figures": figures, "results": results, "problems": problems}
        if problems:
            failed.append(path.name)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"notebooks: {len(summary) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
