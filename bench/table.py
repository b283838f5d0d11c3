"""Turns the benchmark JSON lines (several rounds per side) into the README's Markdown
tables, taking each side's best round."""
import json, sys
from pathlib import Path

out = Path(sys.argv[1] if len(sys.argv) > 1 else "target/bench")
read = lambda name: [json.loads(l) for l in (out / name).read_text().splitlines() if l.strip()]


def best(rows, key, field, better=min):
    """The best row per key (rounds and workers collapsed)."""
    groups = {}
    for r in rows:
        groups.setdefault(key(r), []).append(r)
    return {k: better(v, key=lambda r: r[field]) for k, v in groups.items()}


def rounds_of(rows):
    """The rows of each round, in order (a round is one run of the benchmark program)."""
    out, seen = [], set()
    for r in rows:
        key = (r["model"], r.get("optimiser", "sgd"))
        if key in seen or not out:
            out.append({})
            seen = set()
        seen.add(key)
        out[-1][key] = r
    return out


key = lambda r: (r["model"], r.get("optimiser", "sgd"))
quiet = lambda rows: [r for r in rows if not r.get("loaded")]
mine_all, theirs_all = read("train-tchlab.jsonl"), read("train-pytorch.jsonl")
mine_q, theirs_q = quiet(mine_all), quiet(theirs_all)
rt = best(mine_q, key, "seconds_per_epoch")
pt = best(theirs_q, key, "seconds_per_epoch")
mine_rounds, their_rounds = rounds_of(mine_q), rounds_of(theirs_q)
peak = max(r["matmul_peak_gflops"] for r in mine_q)
names = {"sgd": "SGD", "momentum": "SGD, momentum 0.9", "adam": "Adam"}
print(f"Training, best of {len(mine_rounds)} alternating rounds (each: the fastest of epochs 2-4):\n")
print("| model (1 epoch = 600 steps of 100) | optimiser | tchlab s/epoch (step) | tchlab on autograd s/epoch | PyTorch s/epoch | PyTorch / tchlab, best vs best (per round) | PyTorch / tchlab on autograd | matmul-bound s/epoch | tchlab / bound | same-shape GEMMs alone, s/epoch | tchlab / GEMMs | last-epoch loss tchlab / autograd / PyTorch |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for k, r in rt.items():
    model, optimiser = k
    p = pt[k]
    mine = [x for x in mine_q if key(x) == k]
    auto = min(mine, key=lambda x: x["autograd_seconds_per_epoch"])
    s, a, ps = r["seconds_per_epoch"], auto["autograd_seconds_per_epoch"], p["seconds_per_epoch"]
    per_round = [t[k]["seconds_per_epoch"] / m[k]["seconds_per_epoch"] for m, t in zip(mine_rounds, their_rounds) if k in m and k in t]
    spread = f"{min(per_round):.2f}–{max(per_round):.2f}" if per_round else "–"
    if optimiser == "sgd":
        bound = r["gflop_per_epoch"] / peak
        gemm = min(x["gemm_only_seconds"] for x in mine)
        limits = f"{bound:.3f} | {s / bound:.1f}× | {gemm:.3f} | {s / gemm:.2f}×"
    else:
        limits = "| | |"
    print(f"| {model} | {names.get(optimiser, optimiser)} | {s:.3f} ({r.get('step', 'fused')}) | {a:.3f} | {ps:.3f} | **{ps / s:.2f}×** ({spread}) | {ps / a:.2f}× "
          f"| {limits} | {r['last_epoch_loss']:.3f} / {auto['autograd_last_epoch_loss']:.3f} / {p['last_epoch_loss']:.3f} |")
print(f"\nmatmul peak: {peak:.1f} GFLOP/s ({next(iter(rt.values()))['threads']} threads, best 2048² sgemm of all rounds)")
rss = lambda rows: max(r["peak_rss_mb"] for r in rows)
print(f"\nPeak memory (resident set of the whole benchmark process, every row above, data included): tchlab {rss(mine_q):.0f} MB, PyTorch {rss(theirs_q):.0f} MB.\n")
mine_l, theirs_l = [r for r in mine_all if r.get("loaded")], [r for r in theirs_all if r.get("loaded")]
if mine_l and theirs_l:
    lt, lp = best(mine_l, key, "seconds_per_epoch"), best(theirs_l, key, "seconds_per_epoch")
    print(f"Beside one competing busy process (`yes > /dev/null`), plain SGD, best of {len(rounds_of(mine_l))} rounds:\n")
    print("| model | tchlab quiet / loaded s/epoch | tchlab loaded / quiet | PyTorch quiet / loaded s/epoch | PyTorch loaded / quiet | PyTorch / tchlab, loaded |")
    print("|---|---|---|---|---|---|")
    for k in lt:
        if k not in lp or k not in rt:
            continue
        tq, tl, pq, pl = rt[k]["seconds_per_epoch"], lt[k]["seconds_per_epoch"], pt[k]["seconds_per_epoch"], lp[k]["seconds_per_epoch"]
        print(f"| {k[0]} | {tq:.3f} / {tl:.3f} | {tl / tq:.2f}× | {pq:.3f} / {pl:.3f} | {pl / pq:.2f}× | {pl / tl:.2f}× |")
    print()
rd = read("data-tchlab.jsonl")
pd = read("data-pytorch.jsonl")
print("Data, items per second, best round per setting:\n")
print("| case | tchlab (workers: items/s) | PyTorch (workers: items/s) | tchlab / PyTorch, best vs best |")
print("|---|---|---|---|")
for case in dict.fromkeys(r["case"] for r in rd):
    mine = best([x for x in rd if x["case"] == case], lambda x: x["workers"], "items_per_second", max)
    theirs = best([x for x in pd if x["case"] == case], lambda x: x["workers"], "items_per_second", max)
    if not theirs:
        continue
    fmt = lambda d: ", ".join(f"{w}: {r['items_per_second']}" for w, r in sorted(d.items()))
    ratio = max(r["items_per_second"] for r in mine.values()) / max(r["items_per_second"] for r in theirs.values())
    print(f"| {case} | {fmt(mine)} | {fmt(theirs)} | {ratio:.2f}× |")
