#!/usr/bin/env python3
"""Execute tchlab notebooks headless with the project kernel and check them.

A notebook fails when a cell errors, when any output contains a Rust panic or an
`Error:` line, when a cell wrote to stderr (evcxr's report of an `Err` returned by a cell),
when it produced no figure (image/png or image/svg+xml output), when an output shows a
value that has an inline display (a figure, table, history, report) as Rust `Debug` text
instead (`Figure("", 1040×460)`: the kernel fell back to Debug, the reader sees no
picture), when a cell's value is a bare `()`, when an output shows an absolute path of
this machine (the repository's folder, the folder it lies in, or the home folder), or
when a `RESULT name=value` line it printed is outside the tolerance given in
notebooks/targets.json (or a target listed there was never printed). A target may also
relate two results: `"a - b": {"min": 5}` checks a difference, `"a / b": {"max": 0.01}` a
ratio, so that the lecture's comparisons themselves are what is checked.

Output that evcxr delivers after its cell went idle (it forwards stdout and stderr
from another thread) is kept and checked with that cell; see LateOutputClient.

Executed notebooks and their HTML renderings go to --out (target/notebooks), with
summary.json: per notebook its seconds, split into compile_seconds (evcxr analysing and
building cells) and run_seconds (the cells' code running), per cell the same split, its
figures, RESULT values and problems.
Exit status: 0 when every notebook passed, 1 otherwise.
"""
import argparse
import asyncio
import copy
import json
import os
import re
import sys
import time
from pathlib import Path
from queue import Empty

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async
from nbconvert import HTMLExporter

PANIC = re.compile(r"panicked at|thread '.*' panicked")
ERROR = re.compile(r"^(Error:|error(\[E\d+\])?:)", re.MULTILINE)
RESULT = re.compile(r"^RESULT (\S+)=(\S+)\s*$", re.MULTILINE)
# tchlab::display::results: a cell's results, invisible to the reader (a JSON object of
# name -> value as text at full precision); RESULT lines on stdout are read as well.
RESULTS_MIME = "application/vnd.tchlab.results+json"
# The kinds of output a reader sees; a front-end shows one of them per output.
SHOWN_MIMES = ("text/html", "image/png", "image/svg+xml", "image/jpeg")
FIGURE_MIMES = ("image/png", "image/svg+xml")
# tchlab's types with an inline display (`evcxr_display`), and how their Debug text begins;
# tests/notebooks.rs checks that every such type of src/ is listed here.
DISPLAYABLE = ("Figure", "Table", "History", "Report")
DEBUG_OF_DISPLAYABLE = re.compile(r"\b(" + "|".join(DISPLAYABLE) + r")(\(\"| \{ )")
ROOT = Path(__file__).resolve().parent.parent


def machine_paths():
    """Absolute paths of this machine that no output should show: the repository, the
    folder it lies in (data beside it), the home folder."""
    paths = {str(ROOT)}
    if ROOT.parent.parent != ROOT.parent:
        paths.add(str(ROOT.parent))
    home = os.path.expanduser("~")
    if home not in ("", "/"):
        paths.add(home)
    return sorted(paths, key=len, reverse=True)


MACHINE_PATH = re.compile("(" + "|".join(re.escape(p) for p in machine_paths()) + r")(/|\b)")


LATE_KINDS = ("stream", "error", "display_data", "execute_result")


class LateOutputClient(NotebookClient):
    """A NotebookClient that keeps output which arrives after its cell went idle.

    evcxr forwards a cell's stdout and stderr (a panic message, the `Err` a cell
    returned) from a separate thread, so a line can reach IOPub after the kernel
    reported the cell idle; plain nbclient drops it. Here such a message is added to
    the cell it belongs to, and after the last cell the runner waits `grace` seconds
    and collects what is still in flight.
    """

    def __init__(self, nb, grace=1.0, **kw):
        super().__init__(nb, **kw)
        self.grace = grace
        self.cell_of_message = {}
        self.late_messages = 0
        self.cell_times = []  # (cell index, start, end) in Unix seconds

    def keep_late(self, msg):
        target = self.cell_of_message.get(msg["parent_header"].get("msg_id"))
        if target is None or msg["msg_type"] not in LATE_KINDS:
            return
        self.late_messages += 1
        try:
            self.process_message(msg, *target)
        except CellExecutionComplete:
            pass

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        self.cell_of_message[parent_msg_id] = (cell, cell_index)
        while True:
            msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=None))
            if msg["parent_header"].get("msg_id") != parent_msg_id:
                self.keep_late(msg)
                continue
            try:
                self.process_message(msg, cell, cell_index)
            except CellExecutionComplete:
                return

    async def async_execute_cell(self, cell, cell_index, *args, **kw):
        start = time.time()
        result = await super().async_execute_cell(cell, cell_index, *args, **kw)
        if cell.cell_type == "code":
            self.cell_times.append((cell_index, start, time.time()))
        last = max((i for i, c in enumerate(self.nb.cells) if c.cell_type == "code"), default=-1)
        if cell_index == last:
            await asyncio.sleep(self.grace)
            while True:
                try:
                    msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=0.2))
                except Empty:
                    break
                self.keep_late(msg)
        return result


def compile_and_run_seconds(cell_times, build_log):
    """Splits each cell's time at the moment its library was built (the last line the
    kernel's rustc wrapper, tools/cell-build-timer, logged while the cell ran): before it
    evcxr analysed and compiled the cell, after it the cell ran. A cell that built
    nothing (a command such as `:timing`) counts as compiling. Returns per-cell rows and
    the notebook's totals."""
    built = []
    if build_log.exists():
        for line in build_log.read_text().splitlines():
            fields = line.split()
            if fields:
                built.append(float(fields[0]))
    rows, compile_total, run_total = [], 0.0, 0.0
    for index, start, end in cell_times:
        inside = [t for t in built if start <= t <= end]
        split = max(inside) if inside else end
        compile_s, run_s = split - start, end - split
        rows.append({"cell": index, "compile_s": round(compile_s, 2), "run_s": round(run_s, 2)})
        compile_total += compile_s
        run_total += run_s
    return rows, round(compile_total, 1), round(run_total, 1)


def output_texts(out):
    if out.get("output_type") == "stream":
        yield out.get("text", "")
    elif out.get("output_type") == "error":
        yield "\n".join(out.get("traceback", [])) or out.get("evalue", "")
    else:
        data = out.get("data", {})
        if "text/plain" in data:
            yield data["text/plain"]


RELATION = re.compile(r"^(\S+) ([-/]) (\S+)$")


def target_value(name, results):
    """The value a target checks: a printed RESULT, or a relation of two of them written
    as its name: `a - b` (a difference, e.g. CE minus MSE test accuracy) or `a / b` (a
    ratio). Returns (value, None), or (None, the problem) when an operand is missing or
    a ratio divides by zero."""
    m = RELATION.match(name)
    if not m:
        if name not in results:
            return None, f"RESULT {name} was not printed"
        return results[name], None
    a, op, b = m.groups()
    for operand in (a, b):
        if operand not in results:
            return None, f"RESULT {operand} (in the target `{name}`) was not printed"
    if op == "-":
        return results[a] - results[b], None
    if results[b] == 0:
        return None, f"target `{name}`: {b} is 0, the ratio is undefined"
    return results[a] / results[b], None


def current_setting():
    """The settings the notebooks run with: `ci` under TCHLAB_CI (not 0), else `lecture`."""
    return "ci" if os.environ.get("TCHLAB_CI", "0") not in ("", "0") else "lecture"


def setting_spec(spec, setting=None):
    """A target's bounds at `setting` (default: the current one): a target may give its
    bounds per setting, `"by_setting": {"ci": {"min": 92}, "lecture": {"target": 97.54,
    "tol": 0.5}}`, so that the lecture's run is held to the lecture's number and the short
    CI run to a floor of its own; the target's other bounds apply to both."""
    merged = {k: v for k, v in spec.items() if k != "by_setting"}
    merged.update(spec.get("by_setting", {}).get(setting or current_setting(), {}))
    return merged


def check(nb, targets, setting=None):
    problems, figures, results = [], 0, {}
    seen = set()  # (cell, kind) of the per-cell problems already reported

    def once(index, kind, problem):
        if (index, kind) not in seen:
            seen.add((index, kind))
            problems.append(problem)

    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        # evcxr reports an `Err` returned by a cell (`?`) as bare text on stderr;
        # tchlab and the notebooks write nothing else there.
        stderr = "".join(
            out.get("text", "") for out in cell.get("outputs", []) if out.get("output_type") == "stream" and out.get("name") == "stderr"
        )
        if stderr:
            first = next((l for l in stderr.splitlines() if l.strip()), "(blank lines)")
            problems.append(f"cell {index}: error (stderr): {first[:300]}")
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                problems.append(f"cell {index}: error output: {out.get('ename', '')} {out.get('evalue', '')[:300]}")
            if any(m in out.get("data", {}) for m in FIGURE_MIMES):
                figures += 1
            for text in output_texts(out):
                if out.get("output_type") == "execute_result" and text.strip() == "()":
                    once(index, "unit", f"cell {index}: shows a bare `()`: end the cell with `;` (or a value worth showing)")
                debug = DEBUG_OF_DISPLAYABLE.search(text)
                if debug:
                    line = text[debug.start():].splitlines()[0]
                    once(index, "debug", f"cell {index}: shows a {debug.group(1)} as Debug text ({line[:80]}) instead of its display")
                leak = MACHINE_PATH.search(text)
                if leak:
                    line = next(l for l in text.splitlines() if leak.group(1) in l)
                    once(index, "path", f"cell {index}: shows an absolute path of this machine: {line.strip()[:200]}")
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
            data = out.get("data", {})
            bundle = data.get(RESULTS_MIME, {})
            if isinstance(bundle, str):
                bundle = json.loads(bundle)
            for name, value in bundle.items():
                try:
                    results[name] = float(value)
                except (TypeError, ValueError):
                    problems.append(f"cell {index}: result {name}={value!r} is not a number")
            shown = [m for m in SHOWN_MIMES if m in data]
            if len(shown) > 1:
                problems.append(
                    f"cell {index}: one output holds {' and '.join(shown)}, and a reader sees only one of them: "
                    "show one figure or table per cell (or compose figures with Figure::row/grid)"
                )
    if figures == 0:
        problems.append("the notebook produced no figure")
    for name, spec in targets.items():
        spec = setting_spec(spec, setting)
        value, missing = target_value(name, results)
        if missing:
            problems.append(missing)
            continue
        lo, hi = spec.get("min", float("-inf")), spec.get("max", float("inf"))
        if "target" in spec:
            lo, hi = spec["target"] - spec["tol"], spec["target"] + spec["tol"]
        if not lo <= value <= hi:
            problems.append(f"RESULT {name}={value} is outside [{lo}, {hi}] ({spec.get('note', 'lecture target')})")
    return problems, figures, results


def without_results(nb):
    """A copy of `nb` without the results outputs (nothing in them is for a reader)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            for out in cell.get("outputs", []):
                out.get("data", {}).pop(RESULTS_MIME, None)
            cell.outputs = [o for o in cell.get("outputs", []) if "data" not in o or o["data"]]
    return nb


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
        client = LateOutputClient(
            nb,
            kernel_name=args.kernel,
            timeout=args.timeout,
            allow_errors=True,
            resources={"metadata": {"path": str(path.resolve().parent)}},
        )
        build_log = args.out / f"{path.stem}.builds.log"
        build_log.unlink(missing_ok=True)
        os.environ["TCHLAB_CELL_BUILD_LOG"] = str(build_log.resolve())
        start = time.time()
        crash = None
        try:
            client.execute()
        except (CellExecutionError, CellTimeoutError, DeadKernelError, RuntimeError) as e:
            crash = f"execution stopped: {type(e).__name__}: {str(e)[:500]}"
        seconds = time.time() - start
        cells, compile_s, run_s = compile_and_run_seconds(client.cell_times, build_log)
        problems, figures, results = check(nb, all_targets.get(path.stem, {}))
        if crash:
            problems.insert(0, crash)
        nbformat.write(nb, args.out / path.name)
        html, _ = HTMLExporter().from_notebook_node(without_results(nb))
        (args.out / path.with_suffix(".html").name).write_text(html, encoding="utf-8")
        status = "ok" if not problems else "FAILED"
        late = f"  {client.late_messages} late output(s) kept" if client.late_messages else ""
        print(
            f"{status:6} {path.name}  {seconds:7.1f}s (compiling {compile_s:.1f}s, running {run_s:.1f}s)  "
            f"{figures} figure(s)  {len(results)} result(s){late}",
            flush=True,
        )
        for p in problems:
            print(f"       - {p}", flush=True)
        summary[path.stem] = {
            "ok": not problems,
            "settings": current_setting(),
            "seconds": round(seconds, 1),
            "compile_seconds": compile_s,
            "run_seconds": run_s,
            "kernel_start_seconds": round(seconds - compile_s - run_s, 1),
            "cells": cells,
            "figures": figures,
            "results": results,
            "problems": problems,
        }
        if problems:
            failed.append(path.name)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"notebooks: {len(summary) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
