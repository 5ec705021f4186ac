"""Quality with default parameters at every data size (issue #8).

For sizes from 100 to 1,000,000 training rows, dense and sparse CSR (the
generators of ``bench_sgd.py``: a linear problem with population R^2 = 0.9),
fit with default parameters and scikit-learn's default ``max_iter``/``tol``:

- scikit-learn's ``SGDRegressor()``,
- ``SGDRegressorPlus()``,
- ``SGDRegressorPlus(average=True)`` (the averaging default batch),
- ``SGDRegressorPlus(batch_size=1)`` (the exact per-sample mode) up to
  ``--exact-max`` rows,

and print the test R^2 of each, the best linear fit (RidgeCV on the same split),
epochs, batch size and fit time (after a warm-up fit of each contender on
200 rows: imports and compiled kernels loaded). Each fit is run once, with
``random_state=0``; a second seed's R^2 for ``SGDRegressorPlus()`` shows that
``random_state`` matters on every size (the batches are shuffled).

Run ``python benchmarks/bench_sizes.py``; ``--quick`` stops at 10,000 rows.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import sys
import time
import warnings
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (  # noqa: E402
    Report,
    format_table,
    machine_description,
    add_save_argument,
    save_results,
)
from benchmarks.bench_sgd import make_dense, make_sparse  # noqa: E402


def _fit(est, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        est.fit(data.X, data.y)
        seconds = time.perf_counter() - start
    return est.score(data.X_test, data.y_test), seconds


def run(args, report):
    import numpy as np
    from sklearn.linear_model import RidgeCV, SGDRegressor

    from skoptim import SGDRegressorPlus

    sizes = [100, 1_000, 10_000] if args.quick else [100, 1_000, 10_000, 100_000,
                                                     1_000_000]
    # Warm-up fits (imports, compiled kernels loaded or compiled): the timed
    # fits below then measure the fit, not the process's first call.
    for data in (make_dense(200, args.n_features, 50, seed=1),
                 make_sparse(200, args.sparse_features, args.density, 50, seed=1)):
        for est in (SGDRegressor(), SGDRegressorPlus(), SGDRegressorPlus(average=True),
                    SGDRegressorPlus(batch_size=1)):
            _fit(est, data)
    rows = []
    for kind in ("dense", "sparse"):
        for n in sizes:
            n_test = max(1_000, min(n, 100_000))
            if kind == "dense":
                data = make_dense(n, args.n_features, n_test, seed=0)
            else:
                data = make_sparse(n, args.sparse_features, args.density, n_test, seed=0)
            # The best linear fit on this training set (tuned ridge), for scale.
            optimum = RidgeCV(alphas=np.logspace(-6, 3, 10)).fit(data.X, data.y).score(
                data.X_test, data.y_test)
            contenders = [
                ("sklearn SGDRegressor()", SGDRegressor(random_state=0)),
                ("SGDRegressorPlus()", SGDRegressorPlus(random_state=0)),
                ("SGDRegressorPlus(average=True)",
                 SGDRegressorPlus(average=True, random_state=0)),
            ]
            if n <= args.exact_max:
                contenders.append(("SGDRegressorPlus(batch_size=1)",
                                   SGDRegressorPlus(batch_size=1, random_state=0)))
            sk_r2 = None
            for name, est in contenders:
                r2, seconds = _fit(est, data)
                if sk_r2 is None:
                    sk_r2 = r2
                batch = getattr(est, "batch_size_", 1)
                rows.append([kind, f"{n:,}", name, f"{r2:.5f}", f"{optimum:.5f}",
                             f"{r2 - sk_r2:+.5f}", est.n_iter_, batch, f"{seconds:.3f}"])
                report(" | ".join(map(str, rows[-1])))
            other, _ = _fit(SGDRegressorPlus(random_state=1), data)
            rows.append([kind, f"{n:,}", "SGDRegressorPlus(random_state=1)",
                         f"{other:.5f}", f"{optimum:.5f}", f"{other - sk_r2:+.5f}",
                         "", "", ""])
            report(" | ".join(map(str, rows[-1])))
    report()
    report(format_table(
        ["data", "n train", "estimator", "test R^2", "RidgeCV", "vs sklearn", "epochs",
         "batch", "fit (s)"], rows, align="llllrrrrr"))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="sizes up to 10,000 rows")
    p.add_argument("--n-features", type=int, default=20)
    p.add_argument("--sparse-features", type=int, default=200)
    p.add_argument("--density", type=float, default=0.02)
    p.add_argument("--exact-max", type=int, default=10_000,
                   help="largest size for the (pure Python) exact mode")
    p.add_argument("--output", type=str, default=None)
    add_save_argument(p)
    args = p.parse_args(argv)
    report = Report()
    report("# Quality with default parameters at every size (issue #8)")
    report()
    report("command: python benchmarks/bench_sizes.py " + " ".join(argv or sys.argv[1:]))
    report()
    report("## Machine")
    report()
    for line in machine_description():
        report(line if line.startswith("  ") else f"- {line}")
    report()
    run(args, report)
    name = args.output or ("bench_sizes_cpu_quick.txt" if args.quick else "bench_sizes_cpu.txt")
    save_results(args, name, report.text())


if __name__ == "__main__":
    main()
