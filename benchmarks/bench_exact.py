"""The exact mode (``batch_size=1``) against scikit-learn's compiled SGD loop.

The issue: "batch_size=1 runs within 1.5x of scikit-learn's own compiled loop
on dense and sparse data". For each data set, fit times (best of ``--repeat``,
after one warm-up fit of each estimator that pays numba's compilation or cache
load) of

- scikit-learn's ``SGDRegressor`` vs ``SGDRegressorPlus(batch_size=1)``,
- scikit-learn's ``SGDClassifier`` vs ``SGDClassifierPlus(batch_size=1)``
  (binary labels ``y > median(y)``; with ``--multiclass`` also three classes,
  one-vs-rest),

all with ``max_iter=5`` (``--max-iter``), ``tol=None``, ``random_state=0`` and
otherwise default parameters, and the ratio skoptim / scikit-learn (of the
wall-clock times, and of the CPU times: less sensitive to other jobs on a
shared machine; the fits of the two take turns). The data
(the generators of ``bench_sgd.py``): dense 100,000 x 50 float64 and float32,
CSR 100,000 x 1,000 at density 1% float64 and float32. The last column says
whether ``coef_`` and ``intercept_`` equal scikit-learn's bit for bit (else
the largest relative difference).

Then the costs of numba, each in a fresh Python process with an empty numba
cache directory (``NUMBA_CACHE_DIR``, so the tree's ``__pycache__`` is left
alone): ``import numba``; the first exact fit per dtype (compilation, written
to the cache) against the same fit once compiled; and, in a second process on
that cache, the import of the kernels and the first fit per dtype (a cache
load, no compilation: the cache misses are counted).

Run ``python benchmarks/bench_exact.py`` (about a minute); ``--quick`` uses
20,000 rows. The timings are wall-clock on a possibly shared CPU: rerun when
the machine is busy.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (  # noqa: E402
    REPO_ROOT,
    Report,
    add_save_argument,
    format_table,
    machine_description,
    save_results,
)
from benchmarks.bench_sgd import make_dense, make_sparse  # noqa: E402


def _best_times(fits, repeat):
    """Best wall-clock and CPU times of each fit; the fits take turns, so that
    a busy spell of a shared machine hits them alike."""
    wall = [[] for _ in fits]
    cpu = [[] for _ in fits]
    for _ in range(repeat):
        for j, fit in enumerate(fits):
            start, start_cpu = time.perf_counter(), time.process_time()
            fit()
            cpu[j].append(time.process_time() - start_cpu)
            wall[j].append(time.perf_counter() - start)
    return [min(w) for w in wall], [min(c) for c in cpu]


def _agreement(ours, theirs):
    """'bit for bit', or the largest relative difference, for coef_ and
    intercept_ (an intercept_ exposed in another dtype is compared in ours)."""
    import numpy as np

    out = []
    for name in ("coef_", "intercept_"):
        a, b = np.asarray(getattr(ours, name)), np.asarray(getattr(theirs, name))
        note = f" ({b.dtype} there)" if a.dtype != b.dtype else ""
        b = b.astype(a.dtype)
        if a.shape == b.shape and np.array_equal(a, b):
            out.append(f"{name} equal{note}")
        else:
            diff = float(np.max(np.abs(a.astype(float) - b) /
                                np.maximum(np.abs(b.astype(float)), 1e-300)))
            out.append(f"{name} rel. diff {diff:.1e}{note}")
    return ", ".join(out)


def _datasets(args):
    import numpy as np

    n = 20_000 if args.quick else args.n_samples
    dense = make_dense(n, args.n_features, 1_000, seed=0)
    sparse = make_sparse(n, args.sparse_features, args.density, 1_000, seed=0)
    out = []
    for data, kind in ((dense, "dense"), (sparse, "CSR")):
        X, y = data.X, data.y
        shape = f"{X.shape[0]:,} x {X.shape[1]:,}"
        if kind == "CSR":
            shape += f" ({X.nnz / (X.shape[0] * X.shape[1]):.1%})"
        for dtype in (np.float64, np.float32):
            out.append((f"{kind} {np.dtype(dtype).name} {shape}", X.astype(dtype),
                        y.astype(dtype)))
    return out


def run_timings(args, report):
    import numpy as np
    from sklearn.linear_model import SGDClassifier, SGDRegressor

    from skoptim import SGDClassifierPlus, SGDRegressorPlus

    common = {"max_iter": args.max_iter, "tol": None, "random_state": 0}
    tasks = [("regression", SGDRegressor, SGDRegressorPlus, None),
             ("binary", SGDClassifier, SGDClassifierPlus, 2)]
    if args.multiclass:
        tasks.append(("3 classes", SGDClassifier, SGDClassifierPlus, 3))
    rows = []
    for name, X, y in _datasets(args):
        for task, theirs_cls, ours_cls, n_classes in tasks:
            target = y
            if n_classes is not None:
                edges = np.quantile(y, np.linspace(0, 1, n_classes + 1)[1:-1])
                target = np.searchsorted(edges, y)
            theirs = theirs_cls(**common)
            ours = ours_cls(batch_size=1, **common)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                theirs.fit(X, target)  # warm-up
                ours.fit(X, target)  # warm-up: numba's compilation or cache load
                (t_theirs, t_ours), (c_theirs, c_ours) = _best_times(
                    [lambda: theirs.fit(X, target), lambda: ours.fit(X, target)],
                    args.repeat)
            rows.append([name, task, f"{t_theirs:.3f}", f"{t_ours:.3f}",
                         f"{t_ours / t_theirs:.2f}", f"{c_ours / c_theirs:.2f}",
                         _agreement(ours, theirs)])
            report(" | ".join(rows[-1]))
    report()
    report(format_table(["data", "task", "scikit-learn (s)", "skoptim exact (s)",
                         "ratio", "CPU-time ratio", "vs scikit-learn"], rows,
                        align="llrrrrl"))
    return rows


# A fresh process: times `import numba`, then two exact fits per dtype; prints JSON.
_PROBE = r"""
import json, sys, time, warnings
import numpy as np, scipy, sklearn
t0 = time.perf_counter()
import numba
t_numba = time.perf_counter() - t0
from sklearn.datasets import make_regression
t0 = time.perf_counter()
from skoptim.linear_model import _exact, _exact_kernels as k
t_import = time.perf_counter() - t0
assert _exact._compiled_kernels() is k
warnings.simplefilter("ignore")
X, y = make_regression(200, 8, random_state=0)
params = dict(loss="squared_error", penalty="l2", alpha=1e-4, l1_ratio=0.15,
              fit_intercept=True, tol=None, shuffle=True, verbose=0, epsilon=0.1,
              learning_rate="invscaling", eta0=0.01, power_t=0.25,
              early_stopping=False, validation_fraction=0.1, n_iter_no_change=5,
              average=False)
out = {"import_numba": t_numba, "import_kernels": t_import}
for dtype in (np.float64, np.float32):
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        _exact.fit_exact(params, X.astype(dtype), y.astype(dtype), None,
                         coef=np.zeros(8, dtype), intercept=np.zeros(1, dtype),
                         standard=None, t=1.0, max_iter=2, incremental=False,
                         random_state=0)
        times.append(time.perf_counter() - t0)
    out[np.dtype(dtype).name] = times
out["cache_misses"] = sum(sum(f.stats.cache_misses.values()) for f in
                          (k.run_epoch, k.epoch_permutation))
out["cache_hits"] = sum(sum(f.stats.cache_hits.values()) for f in
                        (k.run_epoch, k.epoch_permutation))
print(json.dumps(out))
"""


def _probe(cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    proc = subprocess.run([sys.executable, "-c", _PROBE], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_compile_costs(report):
    with tempfile.TemporaryDirectory(prefix="skoptim-numba-cache-") as cache_dir:
        first = _probe(cache_dir)
        second = _probe(cache_dir)
    rows = [["import numba (after numpy, scipy, scikit-learn)",
             f"{first['import_numba']:.3f}", f"{second['import_numba']:.3f}"],
            ["import skoptim.linear_model._exact_kernels",
             f"{first['import_kernels']:.3f}", f"{second['import_kernels']:.3f}"]]
    for dtype in ("float64", "float32"):
        for label, run in (("first fit_exact", 0), ("second fit_exact", 1)):
            rows.append([f"{label}, {dtype} (200 x 8, 2 epochs)",
                         f"{first[dtype][run]:.3f}", f"{second[dtype][run]:.3f}"])
    rows.append(["numba cache misses / hits (run_epoch, epoch_permutation)",
                 f"{first['cache_misses']} / {first['cache_hits']}",
                 f"{second['cache_misses']} / {second['cache_hits']}"])
    report(format_table(["fresh process", "1st: empty cache (s)",
                         "2nd: same cache (s)"], rows, align="lrr"))
    report()
    for dtype in ("float64", "float32"):
        compile_s = first[dtype][0] - first[dtype][1]
        load_s = second[dtype][0] - second[dtype][1]
        report(f"- {dtype}: compilation {compile_s:.2f} s (first process), "
               f"cache load {load_s:.3f} s (second process)")
    report("- compilation happens once per machine and numba version; the cache "
           "(by default next to the module, in skoptim/linear_model/__pycache__/) "
           "is reused by every later process")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="20,000 rows")
    p.add_argument("--n-samples", type=int, default=100_000)
    p.add_argument("--n-features", type=int, default=50)
    p.add_argument("--sparse-features", type=int, default=1_000)
    p.add_argument("--density", type=float, default=0.01)
    p.add_argument("--max-iter", type=int, default=5)
    p.add_argument("--repeat", type=int, default=7,
                   help="timed fits, in turns (the best counts: busy spells of a "
                        "shared machine double a fit's time for seconds)")
    p.add_argument("--multiclass", action="store_true",
                   help="also three classes (one-vs-rest)")
    p.add_argument("--no-compile-costs", action="store_true",
                   help="skip the fresh-process measurements of numba's costs")
    p.add_argument("--output", type=str, default=None)
    add_save_argument(p)
    args = p.parse_args(argv)
    report = Report()
    report("# Exact mode (batch_size=1) vs scikit-learn's compiled loop")
    report()
    report("command: python benchmarks/bench_exact.py " + " ".join(
        argv if argv is not None else sys.argv[1:]))
    report()
    report("## Machine")
    report()
    for line in machine_description(extra_modules=("numba",)):
        report(line if line.startswith("  ") else f"- {line}")
    report()
    report(f"## Fit times (best of {args.repeat} after a warm-up fit; max_iter="
           f"{args.max_iter}, tol=None)")
    report()
    run_timings(args, report)
    if not args.no_compile_costs:
        report()
        report("## numba: import, compilation, cache")
        report()
        run_compile_costs(report)
    name = args.output or ("bench_exact_quick.txt" if args.quick else "bench_exact.txt")
    save_results(args, name, report.text())


if __name__ == "__main__":
    main()
