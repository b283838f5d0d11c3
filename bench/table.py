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


rt = best(read("train-tchlab.jsonl"), lambda r: r["model"], "seconds_per_epoch")
pt = best(read("train-pytorch.jsonl"), lambda r: r["model"], "seconds_per_epoch")
rounds = len(read("train-tchlab.jsonl")) // max(len(rt), 1)
peak = max(r["matmul_peak_gflops"] for r in read("train-tchlab.jsonl"))
print(f"Training, best of {rounds} alternating rounds (each: the fastest of epochs 2-4):\n")
print("| model (1 epoch = 600 steps of 100) | tchlab s/epoch | tchlab on autograd s/epoch | PyTorch s/epoch | PyTorch / tchlab | PyTorch / tchlab on autograd | matmul-bound s/epoch | tchlab / bound | same-shape GEMMs alone, s/epoch | tchlab / GEMMs | peak RSS tchlab / PyTorch (MB) | last-epoch loss tchlab / autograd / PyTorch |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for model, r in rt.items():
    p = pt[model]
    mine = [x for x in read("train-tchlab.jsonl") if x["model"] == model]
    bound = r["gflop_per_epoch"] / peak
    gemm = min(x["gemm_only_seconds"] for x in mine)
    auto = min(mine, key=lambda x: x["autograd_seconds_per_epoch"])
    s, a, ps = r["seconds_per_epoch"], auto["autograd_seconds_per_epoch"], p["seconds_per_epoch"]
    print(f"| {model} | {s:.3f} | {a:.3f} | {ps:.3f} | {ps / s:.2f}× | {ps / a:.2f}× "
          f"| {bound:.3f} | {s / bound:.1f}× | {gemm:.3f} | {s / gemm:.1f}× | {r['peak_rss_mb']:.0f} / {p['peak_rss_mb']:.0f} "
          f"| {r['last_epoch_loss']:.3f} / {auto['autograd_last_epoch_loss']:.3f} / {p['last_epoch_loss']:.3f} |")
print(f"\nmatmul peak: {peak:.1f} GFLOP/s ({next(iter(rt.values()))['threads']} threads, best 2048² sgemm of all rounds)\n")
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
