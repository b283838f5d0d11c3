"""Turns the benchmark JSON lines into the README's Markdown tables."""
import json, sys
from pathlib import Path

out = Path(sys.argv[1] if len(sys.argv) > 1 else "target/bench")
read = lambda name: [json.loads(l) for l in (out / name).read_text().splitlines() if l.strip()]
rt, pt = read("train-tchlab.jsonl"), read("train-pytorch.jsonl")
print("| model (1 epoch = 600 steps of 100) | tchlab s/epoch | PyTorch s/epoch | PyTorch / tchlab | matmul-bound s/epoch | tchlab / bound | peak RSS tchlab / PyTorch (MB) |")
print("|---|---|---|---|---|---|---|")
for r in rt:
    p = next(p for p in pt if p["model"] == r["model"])
    bound = r["gflop_per_epoch"] / r["matmul_peak_gflops"]
    print(f"| {r['model']} | {r['seconds_per_epoch']:.3f} | {p['seconds_per_epoch']:.3f} | {p['seconds_per_epoch'] / r['seconds_per_epoch']:.2f}× | {bound:.3f} | {r['seconds_per_epoch'] / bound:.1f}× | {r['peak_rss_mb']:.0f} / {p['peak_rss_mb']:.0f} |")
print(f"\nmatmul peak: {rt[0]['matmul_peak_gflops']:.1f} GFLOP/s ({rt[0]['threads']} threads, 2048² sgemm)\n")
rd, pd = read("data-tchlab.jsonl"), read("data-pytorch.jsonl")
print("| case | tchlab items/s (workers) | PyTorch items/s (workers) | tchlab / PyTorch |")
print("|---|---|---|---|")
for case in dict.fromkeys(r["case"] for r in rd):
    r = max((x for x in rd if x["case"] == case), key=lambda x: x["items_per_second"])
    ps = [x for x in pd if x["case"] == case]
    if not ps:
        continue
    p = max(ps, key=lambda x: x["items_per_second"])
    others = ", ".join(f"{x['items_per_second']} ({x['workers']})" for x in ps)
    mine = ", ".join(f"{x['items_per_second']} ({x['workers']})" for x in rd if x["case"] == case)
    print(f"| {case} | {mine} | {others} | {r['items_per_second'] / p['items_per_second']:.2f}× |")
