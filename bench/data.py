"""Data benchmark (PyTorch twin of bench/data.rs): torchvision-style datasets written out
(torchvision's MNIST reader is gzip + frombuffer; its ImageFolder/ToTensor are PIL +
asarray), with torch.utils.data.DataLoader at 0 and N workers. One JSON line per case."""
import csv, gzip, io, json, os, sys, time
import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, TensorDataset

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
bench_dir = sys.argv[2] if len(sys.argv) > 2 else "target/bench"
torch.set_num_threads(threads)
mirror = os.environ.get("TCHLAB_MNIST_MIRROR", "data/mnist").split(",")[0]
cats = os.environ.get("TCHLAB_CATS_DOGS_DIR", "../shared/data/cats-dogs")

def line(case, workers, seconds, items):
    print(json.dumps({"impl": "pytorch", "case": case, "workers": workers, "seconds": round(seconds, 4), "items_per_second": round(items / seconds)}), flush=True)

def best_of(runs, f):
    best, n = float("inf"), 0
    for _ in range(runs):
        t = time.perf_counter()
        n = f()
        best = min(best, time.perf_counter() - t)
    return best, n

def idx(name):
    with gzip.open(os.path.join(mirror, name)) as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return torch.from_numpy(np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims).copy())

def load():
    a = idx("train-images-idx3-ubyte.gz").float() / 255.0
    idx("train-labels-idx1-ubyte.gz")
    b = idx("t10k-images-idx3-ubyte.gz").float() / 255.0
    idx("t10k-labels-idx1-ubyte.gz")
    return a.shape[0] + b.shape[0]

def epoch(loader):
    n = 0
    for x, y in loader:
        n += len(y)
    return n

class CsvImages(Dataset):
    def __init__(self, csv_path, img_dir):
        with open(csv_path) as f:
            rows = list(csv.DictReader(f))
        self.files = [os.path.join(img_dir, r["File Name"]) for r in rows]
        self.y = [int(r["Class Label"]) for r in rows]
    def __len__(self):
        return len(self.y)
    def __getitem__(self, i):
        img = np.asarray(Image.open(self.files[i]), dtype=np.float32) / 255.0
        return torch.from_numpy(img).unsqueeze(0), self.y[i]

class Folder(Dataset):
    def __init__(self, root):
        self.classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
        self.items = [(os.path.join(root, c, f), k) for k, c in enumerate(self.classes) for f in sorted(os.listdir(os.path.join(root, c)))]
    def __len__(self):
        return len(self.items)
    def __getitem__(self, i):
        path, label = self.items[i]
        img = Image.open(path).convert("RGB").resize((64, 64), Image.BILINEAR)
        return torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1), label

if __name__ == "__main__":
    s, n = best_of(3, load)
    line("mnist_gz_to_float", 1, s, n)
    x = idx("train-images-idx3-ubyte.gz").float() / 255.0
    y = idx("train-labels-idx1-ubyte.gz").long()
    loader = DataLoader(TensorDataset(x, y), batch_size=100, shuffle=True)
    s, n = best_of(5, lambda: epoch(loader))
    line("mnist_epoch_batch100", 0, s, n)
    for workers in [0, threads]:
        ds = CsvImages(os.path.join(bench_dir, "mnist_png10k.csv"), os.path.join(bench_dir, "mnist_png10k"))
        loader = DataLoader(ds, batch_size=100, shuffle=True, num_workers=workers, persistent_workers=False)
        s, n = best_of(2, lambda: epoch(loader))
        line("png_10k_csv", workers, s, n)
    if os.path.isdir(os.path.join(cats, "train")):
        for workers in [0, threads]:
            loader = DataLoader(Folder(os.path.join(cats, "train")), batch_size=100, shuffle=True, num_workers=workers)
            s, n = best_of(2, lambda: epoch(loader))
            line("jpeg_cats_dogs_64", workers, s, n)
        # Decoding alone, from bytes in memory, one thread: libjpeg-turbo's scaled decoding
        # (PIL's `draft`, the same rule as tchlab: the smallest scale that covers 64×64).
        blobs = [open(p, "rb").read() for p, _ in Folder(os.path.join(cats, "train")).items]
        def decode():
            for b in blobs:
                im = Image.open(io.BytesIO(b))
                im.draft("RGB", (64, 64))
                im.load()
            return len(blobs)
        s, n = best_of(3, decode)
        line("jpeg_scaled_decode_only", 1, s, n)
