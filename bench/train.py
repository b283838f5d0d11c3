"""Training-loop benchmark (PyTorch twin of bench/train.rs): the same models, data in
memory, batch 100, SGD 0.1 (plain and with momentum 0.9) and Adam 0.001 (torch.optim's
default implementation), one `loss.item()` per step. Prints one JSON line per model and
optimiser. `train.py THREADS [BENCH_DIR] [loaded]`: `loaded` times plain SGD only."""
import json, os, resource, sys, time
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import idx  # the IDX reader of the data benchmark (sets the thread count too)

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
loaded = "loaded" in sys.argv[2:]
optimisers = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.1),
    "momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    "adam": lambda p: torch.optim.Adam(p, lr=0.001),
}
if loaded:
    optimisers = {"sgd": optimisers["sgd"]}

x = idx("train-images-idx3-ubyte.gz").reshape(60000, 784).float() / 255.0
y = idx("train-labels-idx1-ubyte.gz").long()

cases = [(m, o) for m in [("784-100-10 sigmoid", [100], torch.nn.Sigmoid), ("784-256-256-10 relu", [256, 256], torch.nn.ReLU)] for o in optimisers]
for (name, hidden, act), optimiser in cases:
    torch.manual_seed(1)
    layers, prev = [], 784
    for h in hidden:
        layers += [torch.nn.Linear(prev, h), act()]
        prev = h
    model = torch.nn.Sequential(*layers, torch.nn.Linear(prev, 10))
    opt = optimisers[optimiser](model.parameters())
    times = []
    for epoch in range(4):
        t = time.perf_counter()
        perm = torch.randperm(60000)
        total = 0.0
        for b in range(600):
            i = perm[b * 100:(b + 1) * 100]
            logits = model(x[i])
            loss = F.cross_entropy(logits, y[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        times.append(time.perf_counter() - t)
    # The fastest of epochs 2-4 (the first one warms up), as bench/train.rs.
    print(json.dumps({"impl": "pytorch", "model": name, "optimiser": optimiser, "loaded": loaded, "threads": threads, "seconds_per_epoch": round(min(times[1:]), 4),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), "last_epoch_loss": round(total / 600, 4)}))
