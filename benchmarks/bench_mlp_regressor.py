"""MLPRegressorPlus on its own workload: against scikit-learn's MLPRegressor
and a plain PyTorch loop, on the CPU, in one run.

The images of ``bench_mlp.py`` (60,000 MNIST-style 28 x 28 digits), a
continuous target per image (the digit's value plus its ink fraction, in
standard units: a smooth, learnable function of the pixels), a 784-128-1
ReLU network trained with Adam (learning rate 1e-3, L2 alpha 1e-4), batch
128, 10 epochs, squared error, in float64 and float32. Every contender runs
in a forked child after a warm-up fit there; printed: seconds per epoch, the
time as a multiple of the FLOP limit (the epoch's matrix-product flops over
the best GEMM rate measured in the same run), test R², peak extra RSS, and
each time over skoptim's.

Usage::

    python benchmarks/bench_mlp_regressor.py            # the full workload
    python benchmarks/bench_mlp_regressor.py --quick    # 6,000 images, 2 epochs
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._common import (  # noqa: E402
    Report,
    add_save_argument,
    format_bytes,
    format_table,
    report_header,
    peak_memory,
    save_results,
)
from benchmarks.bench_mlp import (  # noqa: E402
    epoch_flops,
    gemm_rate,
    make_mnist_like,
    torch_available,
)


def targets(X, digits):
    """The digit's value plus 5 times its ink fraction (mean pixel)."""
    return digits + 5.0 * X.mean(axis=1)


def _r2(pred, y):
    return 1.0 - float(np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2))


def fit_skoptim(X, y, X_test, y_test, epochs, batch_size):
    from skoptim import MLPRegressorPlus

    est = MLPRegressorPlus(hidden_layer_sizes=(128,), solver="adam", alpha=1e-4,
                           batch_size=batch_size, learning_rate_init=1e-3, max_iter=epochs,
                           n_iter_no_change=epochs + 1, random_state=0)
    t = time.perf_counter()
    est.fit(X, y)
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "epochs": est.n_iter_, "r2": _r2(est.predict(X_test), y_test)}


def fit_sklearn(X, y, X_test, y_test, epochs, batch_size):
    from sklearn.neural_network import MLPRegressor

    est = MLPRegressor(hidden_layer_sizes=(128,), solver="adam", alpha=1e-4,
                       batch_size=batch_size, learning_rate_init=1e-3, max_iter=epochs,
                       n_iter_no_change=epochs + 1, random_state=0)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "epochs": est.n_iter_, "r2": _r2(est.predict(X_test), y_test)}


def fit_torch(X, y, X_test, y_test, epochs, batch_size):
    """Shuffle, forward, mean squared error, backward, Adam; the L2 term as in
    bench_mlp (Adam's coupled weight_decay = alpha / batch on the weights)."""
    import torch

    torch.manual_seed(0)
    dtype = torch.float32 if X.dtype == np.float32 else torch.float64
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(X.dtype)).reshape(-1, 1)
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 1)).to(dtype)
    weights = [m.weight for m in model if isinstance(m, torch.nn.Linear)]
    biases = [m.bias for m in model if isinstance(m, torch.nn.Linear)]
    opt = torch.optim.Adam([{"params": weights, "weight_decay": 1e-4 / batch_size},
                            {"params": biases, "weight_decay": 0.0}], lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    t = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(Xt.shape[0], generator=gen)
        for start in range(0, Xt.shape[0], batch_size):
            idx = perm[start:start + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = 0.5 * torch.mean((model(Xt[idx]) - yt[idx]) ** 2)
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - t
    with torch.no_grad():
        pred = model(torch.from_numpy(X_test)).numpy().ravel()
    return {"seconds": seconds, "epochs": epochs, "r2": _r2(pred, y_test)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="6,000 images, 2 epochs")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-torch", action="store_true")
    add_save_argument(p)
    p.add_argument("--output", default=None, help="results file name under benchmarks/results/")
    args = p.parse_args(argv)
    n_train, n_test, epochs, batch = 60_000, 10_000, 10, 128
    if args.quick:
        n_train, n_test, epochs, args.repeats = 6_000, 2_000, 2, 1
    log = Report()
    report_header(log, "# MLPRegressorPlus vs MLPRegressor and PyTorch (CPU)",
                  "bench_mlp_regressor.py", argv, extra_modules=("torch",))
    X, digits, X_test, digits_test = make_mnist_like(n_train, n_test)
    y_raw, y_test_raw = targets(X, digits), targets(X_test, digits_test)
    mean, scale = y_raw.mean(), y_raw.std()
    y, y_test = (y_raw - mean) / scale, (y_test_raw - mean) / scale
    flops = epoch_flops(n_train, [784, 128, 1])
    log(f"data: {n_train:,} x 784 train, {n_test:,} test images (bench_mlp.py's); target "
        f"digit + 5 x ink fraction, standardised; 784-128-1 relu, Adam lr=1e-3, "
        f"alpha=1e-4, batch {batch}, {epochs} epochs; each fit in a forked child after a "
        f"warm-up fit there (512 rows, 1 epoch), best of {args.repeats}")
    contenders = [("skoptim MLPRegressorPlus", fit_skoptim),
                  ("sklearn MLPRegressor", fit_sklearn)]
    if torch_available() and not args.no_torch:
        contenders.append(("PyTorch loop (CPU)", fit_torch))
    for dtype_name in ("float64", "float32"):
        dtype = np.dtype(dtype_name)
        rate = peak_memory(gemm_rate, dtype)["result"]
        Xd, Xtd = X.astype(dtype), X_test.astype(dtype)
        yd = y.astype(dtype)
        results = {}
        for name, func in contenders:
            def warm_up(f=func):
                f(Xd[:512], yd[:512], Xtd[:100], y_test[:100], 1, batch)

            runs = [peak_memory(lambda f=func: f(Xd, yd, Xtd, y_test, epochs, batch),
                                setup=warm_up) for _ in range(args.repeats)]
            failed = [r["error"] for r in runs if r.get("error")]
            if failed:
                log(f"{name} ({dtype_name}) failed: {failed[0]}")
                continue
            best = min(runs, key=lambda r: r["result"]["seconds"])
            results[name] = {**best["result"], "peak": runs[0]["peak_extra_bytes"]}
        ours = results["skoptim MLPRegressorPlus"]
        ours_e = ours["seconds"] / ours["epochs"]
        rows = []
        for name, r in results.items():
            per_epoch = r["seconds"] / r["epochs"]
            rows.append([name, f"{per_epoch:.3f}", f"{per_epoch / (flops / rate):.1f}x",
                         f"{r['r2']:.4f}", format_bytes(r["peak"]),
                         f"{per_epoch / ours_e:.2f}x"])
        log("")
        log(f"### {dtype_name} (FLOP limit {flops / rate:.3f} s/epoch at "
            f"{rate / 1e9:.0f} Gflop/s)")
        log("")
        log(format_table(["contender", "s/epoch", "x FLOP limit", "test R2",
                          "peak extra RSS", "its time / skoptim's"], rows))
    name = args.output or ("bench_mlp_regressor_quick.txt" if args.quick
                           else "bench_mlp_regressor.txt")
    save_results(args, name, log.text())


if __name__ == "__main__":
    main()
