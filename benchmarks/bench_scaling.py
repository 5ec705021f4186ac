"""Scaling (issue 12): time per epoch against the number of rows and the
hidden width, skoptim against scikit-learn in the same run.

Three sweeps, each estimator timed in this process after a warm-up fit
(imports, compiled kernels loaded), as the best of ``--repeats`` fits of
``max_iter=2`` epochs divided by 2:

1. rows: ``MLPClassifierPlus`` and ``MLPClassifier`` (784-128-10 ReLU, Adam,
   batch 128, float32) on 10,000 to 1,000,000 rows;
2. width: the same at 60,000 rows with hidden widths 64 to 2048, each also as
   a multiple of the FLOP limit (the epoch's matrix-product flops over the
   best GEMM rate measured in this run);
3. rows: ``SGDRegressorPlus`` and ``SGDRegressor`` (defaults, dense float64,
   100 features) on 10,000 to 1,000,000 rows.

Cost must grow linearly with rows: each rows table prints the time per
1,000 rows and its ratio to the smallest size's. The data are random (the
timing does not depend on what is learnt): uniform [0, 1) images with random
labels, and a linear regression target.

Usage::

    python benchmarks/bench_scaling.py            # the full sweeps (a few minutes)
    python benchmarks/bench_scaling.py --quick    # up to 30,000 rows, widths to 256
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (  # noqa: E402
    Report,
    add_save_argument,
    format_table,
    report_header,
    save_results,
)
from benchmarks.bench_mlp import epoch_flops, gemm_rate  # noqa: E402


def _epoch_seconds(make, X, y, repeats):
    """Best wall time of ``make(2).fit(X, y)``, halved (seconds per epoch)."""
    best = float("inf")
    for _ in range(repeats):
        est = make(2)
        start = time.perf_counter()
        est.fit(X, y)
        best = min(best, time.perf_counter() - start)
    return best / 2


def _mlp_makers(width):
    from sklearn.neural_network import MLPClassifier

    from skoptim import MLPClassifierPlus

    common = dict(hidden_layer_sizes=(width,), solver="adam", batch_size=128,
                  alpha=1e-4, random_state=0)
    return [("skoptim MLPClassifierPlus",
             lambda k: MLPClassifierPlus(max_iter=k, n_iter_no_change=k + 1, **common)),
            ("sklearn MLPClassifier",
             lambda k: MLPClassifier(max_iter=k, n_iter_no_change=k + 1, **common))]


def _sgd_makers():
    from sklearn.linear_model import SGDRegressor

    from skoptim import SGDRegressorPlus

    return [("skoptim SGDRegressorPlus",
             lambda k: SGDRegressorPlus(max_iter=k, tol=None, random_state=0)),
            ("sklearn SGDRegressor",
             lambda k: SGDRegressor(max_iter=k, tol=None, random_state=0))]


def rows_table(makers, data, sizes, repeats, log):
    """Seconds per epoch over row counts, with the cost per 1,000 rows."""
    X_all, y_all = data
    for _, make in makers:  # warm-up: imports, kernels
        make(1).fit(X_all[:1000], y_all[:1000])
    rows, first = [], {}
    for n in sizes:
        X, y = X_all[:n], y_all[:n]
        for name, make in makers:
            seconds = _epoch_seconds(make, X, y, repeats)
            per_k = 1000 * seconds / n
            first.setdefault(name, per_k)
            rows.append([f"{n:,}", name, f"{seconds:.4f}", f"{per_k * 1e3:.3f}",
                         f"{per_k / first[name]:.2f}"])
        log(f"    {n:,} rows done")
    return format_table(["rows", "contender", "s/epoch", "ms per 1,000 rows",
                         "per-row cost / smallest size's"], rows, "llrrr")


def width_table(widths, n, repeats, rate, log):
    """Seconds per epoch over hidden widths at ``n`` rows, and x FLOP limit."""
    rng = np.random.default_rng(1)
    X = rng.random((n, 784), dtype=np.float32)
    y = rng.integers(0, 10, n)
    rows = []
    for width in widths:
        limit = epoch_flops(n, [784, width, 10]) / rate
        makers = _mlp_makers(width)
        for _, make in makers:
            make(1).fit(X[:1000], y[:1000])
        times = {name: _epoch_seconds(make, X, y, repeats) for name, make in makers}
        ours = times["skoptim MLPClassifierPlus"]
        for name, seconds in times.items():
            rows.append([str(width), name, f"{seconds:.3f}", f"{seconds / limit:.1f}x",
                         f"{seconds / ours:.2f}x"])
        log(f"    width {width} done (FLOP limit {limit:.3f} s/epoch)")
    return format_table(["hidden width", "contender", "s/epoch", "x FLOP limit",
                         "its time / skoptim's"], rows, "llrrr")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="up to 30,000 rows and width 256, one repeat")
    p.add_argument("--repeats", type=int, default=2)
    add_save_argument(p)
    p.add_argument("--output", default=None, help="results file name under benchmarks/results/")
    args = p.parse_args(argv)
    sizes = [10_000, 30_000, 100_000, 300_000, 1_000_000]
    widths = [64, 128, 256, 512, 1024, 2048]
    width_rows = 60_000
    if args.quick:
        sizes, widths, width_rows, args.repeats = [10_000, 30_000], [64, 256], 10_000, 1
    warnings.simplefilter("ignore")
    start = time.perf_counter()
    log = Report()
    report_header(log, "# Scaling: time per epoch over rows and hidden widths",
                  "bench_scaling.py", argv)
    log(f"method: in process, after a warm-up fit; best of {args.repeats} fits of "
        "max_iter=2 (no early stopping), halved")
    log("")
    rng = np.random.default_rng(0)
    n_max = max(sizes)
    X = rng.random((n_max, 784), dtype=np.float32)
    y = rng.integers(0, 10, n_max)
    log("## MLP, rows: 784-128-10 ReLU, Adam, batch 128, float32, uniform random images")
    log("")
    log(rows_table(_mlp_makers(128), (X, y), sizes, args.repeats, log))
    log("")
    del X, y
    rate = gemm_rate(np.float32)
    log(f"## MLP, hidden width: {width_rows:,} rows, 784-width-10, float32; best GEMM "
        f"rate {rate / 1e9:.0f} Gflop/s")
    log("")
    log(width_table(widths, width_rows, args.repeats, rate, log))
    log("")
    Xr = rng.standard_normal((n_max, 100))
    yr = Xr @ rng.standard_normal(100) + rng.standard_normal(n_max)
    log("## Linear regression, rows: defaults, dense float64, 100 features")
    log("")
    log(rows_table(_sgd_makers(), (Xr, yr), sizes, args.repeats, log))
    log("")
    log(f"total: {time.perf_counter() - start:.0f} s")
    name = args.output or ("bench_scaling_quick.txt" if args.quick else "bench_scaling.txt")
    save_results(args, name, log.text())


if __name__ == "__main__":
    main()
