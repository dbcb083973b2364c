#!/usr/bin/python3
"""PyTorch side of the neural-network benchmark (bench/bench_nn_torch.sh runs both sides).

    /usr/bin/python3 bench/nn_torch.py --make FILE [--rows N] [--columns D] [--seed S]
    /usr/bin/python3 bench/nn_torch.py --data FILE --batch B --epochs E --threads T
                                       [--seed S] [--save-init OUT] [--foreach]

--make writes the shared dataset: the magic line "PROMONN1\\n", a JSON header padded with
spaces to 256 bytes in all (n, d, n_train, seed, positive share), then float32 X [n x d]
row-major, then float32 y [n], little-endian. The first n_train rows train, the rest (the
last 20%) test. Rows are synthetic promotion responses: 40 standardized features, some of
them correlated, and a logistic ground truth with interactions and thresholds, so test AUC
sits well below 1 and measures what was learned.

Training is the reference MLP (Linear d-128, ReLU, Linear 128-64, ReLU, Linear 64-1) with
PyTorch's default initialization, BCEWithLogitsLoss and Adam (lr 1e-3, eps 1e-7 as Keras
and promo). Each epoch gathers the training rows in a fresh random order once (timed) and
slices contiguous batches from it, which avoids DataLoader's per-batch overhead. The
script prints one JSON line per epoch and a final line with the test AUC (sklearn).
--save-init writes the initial weights for bench_nn --init-weights, and --foreach turns on
Adam's multi-tensor update (off by default in PyTorch 1.13).
"""
import argparse
import json
import sys
import time

import numpy as np

HEADER_BYTES = 256
MAGIC = b"PROMONN1\n"


def make(path, n, d, seed):
    rng = np.random.default_rng(seed)
    # Correlated raw features: independent normals mixed by a random lower-triangular map,
    # a few of them skewed (spend-like) before standardizing.
    raw = rng.standard_normal((n, d)).astype(np.float64)
    mix = np.tril(rng.normal(0.0, 0.3, (d, d)))
    np.fill_diagonal(mix, 1.0)
    x = raw @ mix.T
    x[:, 5:10] = np.exp(0.6 * x[:, 5:10])
    x = (x - x.mean(axis=0)) / x.std(axis=0)

    z = (0.9 * x[:, 0] - 0.7 * x[:, 1] + 0.6 * x[:, 2] * x[:, 3]
         + 0.8 * np.sin(2.0 * x[:, 4]) + 0.7 * np.maximum(x[:, 5] - 0.5, 0.0)
         - 0.4 * x[:, 6] ** 2 + 0.5 * (x[:, 7] > 1.0) * x[:, 8]
         + 0.3 * np.tanh(x[:, 9] * x[:, 10]) + x[:, 11:21] @ rng.normal(0.0, 0.15, 10))

    # Intercept so that about 15% of rows respond.
    lo, hi = -10.0, 10.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if np.mean(0.5 + 0.5 * np.tanh(0.5 * (z + mid))) < 0.15:
            lo = mid
        else:
            hi = mid
    p = 0.5 + 0.5 * np.tanh(0.5 * (z + lo))  # sigmoid without overflow
    y = (rng.random(n) < p).astype(np.float32)

    n_train = n - n // 5
    header = json.dumps({"n": n, "d": d, "n_train": n_train, "seed": seed,
                         "positive_share": round(float(y.mean()), 6)}).encode()
    if len(MAGIC) + len(header) + 1 > HEADER_BYTES:
        sys.exit("header too long")
    with open(path, "wb") as f:
        f.write(MAGIC + header + b" " * (HEADER_BYTES - len(MAGIC) - len(header) - 1) + b"\n")
        f.write(x.astype("<f4").tobytes())
        f.write(y.astype("<f4").tobytes())
    print(json.dumps({"wrote": path, "n": n, "d": d, "n_train": n_train,
                      "positive_share": float(y.mean())}))


def load(path):
    with open(path, "rb") as f:
        head = f.read(HEADER_BYTES)
        if not head.startswith(MAGIC):
            sys.exit(f"{path}: not a PROMONN1 file")
        meta = json.loads(head[len(MAGIC):].decode().strip())
        n, d = meta["n"], meta["d"]
        x = np.fromfile(f, dtype="<f4", count=n * d)
        y = np.fromfile(f, dtype="<f4", count=n)
    if x.size != n * d or y.size != n:
        sys.exit(f"{path}: truncated")
    x = x.reshape(n, d)
    return meta, x, y


def train(path, batch, epochs, threads, seed, foreach, save_init):
    import torch
    from sklearn.metrics import roc_auc_score

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    meta, x, y = load(path)
    n_train, d = meta["n_train"], meta["d"]
    xt = torch.from_numpy(np.ascontiguousarray(x[:n_train]))
    yt = torch.from_numpy(np.ascontiguousarray(y[:n_train])).reshape(-1, 1)
    xv = torch.from_numpy(np.ascontiguousarray(x[n_train:]))
    yv = y[n_train:]
    model = torch.nn.Sequential(torch.nn.Linear(d, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 64), torch.nn.ReLU(),
                                torch.nn.Linear(64, 1))
    if save_init:
        # Raw float32 in promo's tensor order (dense<l>.weight [out x in], dense<l>.bias),
        # which is also nn.Linear's layout, for bench_nn --init-weights.
        with open(save_init, "wb") as f:
            for layer in (model[0], model[2], model[4]):
                f.write(layer.weight.detach().numpy().astype("<f4").tobytes())
                f.write(layer.bias.detach().numpy().astype("<f4").tobytes())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7, foreach=foreach)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    rates = []
    for epoch in range(epochs):
        model.train()
        start = time.perf_counter()
        perm = torch.randperm(n_train)
        xs, ys = xt[perm], yt[perm]
        total = 0.0
        for i in range(0, n_train, batch):
            xb, yb = xs[i:i + batch], ys[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * xb.shape[0]
        seconds = time.perf_counter() - start
        rates.append(n_train / seconds)
        print(json.dumps({"epoch": epoch + 1, "train_loss": total / n_train,
                          "rows_per_s": rates[-1]}), flush=True)
    model.eval()
    with torch.no_grad():
        scores = model(xv).reshape(-1).numpy().astype(np.float64)
    auc = roc_auc_score(yv, scores)
    print(json.dumps({"side": "torch", "init": "torch", "torch": torch.__version__,
                      "threads": threads,
                      "batch": batch, "epochs": epochs, "foreach": bool(foreach),
                      "mean_rows_per_s": sum(rates) / len(rates),
                      "best_rows_per_s": max(rates), "test_auc": auc}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--make", metavar="FILE")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--columns", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--data", metavar="FILE")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--save-init", metavar="FILE",
                    help="write the initial weights for bench_nn --init-weights")
    ap.add_argument("--foreach", action="store_true",
                    help="Adam's multi-tensor update (off by default in PyTorch 1.13)")
    a = ap.parse_args()
    if a.make and a.columns < 21:
        ap.error(f"--columns must be 21 or more (the ground truth uses 21), got {a.columns}")
    if a.make:
        make(a.make, a.rows, a.columns, a.seed)
    elif a.data:
        train(a.data, a.batch, a.epochs, a.threads, a.seed, a.foreach or None, a.save_init)
    else:
        ap.error("give --make FILE or --data FILE")


if __name__ == "__main__":
    main()
