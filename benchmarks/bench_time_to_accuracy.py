"""Time-to-accuracy over data sizes (issue #12): SGDRegressorPlus and
SGDClassifierPlus with their defaults against scikit-learn's SGDRegressor and
SGDClassifier, with their defaults and best-tuned, for 10,000, 100,000 and
1,000,000 training rows, dense and sparse CSR.

What is measured
----------------
For each size (``--sizes``) and storage, on a fixed-seed synthetic problem:

* **regression** -- the data of ``bench_sgd.py``: dense 100 features
  (``make_dense``: AR(1)-correlated Gaussian, standardised) or sparse CSR
  1,000 features at density 0.01 (``make_sparse``: unit-variance columns),
  ``y = X @ w + 1 + noise`` with population R^2 0.9. The optimum is the test
  R^2 of the closed-form least-squares fit (``bench_sgd.optimum_r2``); the
  target is ``test R^2 >= optimum - 1e-3`` (``--gap``).
* **classification** -- the same designs (``make_classification_dense`` /
  ``make_classification_sparse``; the sparse features max-abs scaled with
  ``MaxAbsScaler``), labels ``1[X @ w + noise > t * sd]`` with the threshold
  ``t = 0.5`` sd of the noisy score (about 31% positives) and the noise set so
  that the Bayes accuracy (the rule ``1[X @ w > t * sd]``) is 0.9 (exactly for
  the Gaussian dense score, about 0.9 for the sparse one). The "best" score is
  the best test accuracy of a converged, practically unregularised linear
  model on the same split: the maximum over ``LogisticRegression(C=1e4,
  solver='lbfgs', tol=1e-8)`` and ``LinearSVC(C=1, dual=False, tol=1e-6)``
  (squared hinge, primal Newton solver); the target is ``test accuracy >=
  best - 0.005`` (``--acc-gap``).

Contenders (each with ``random_state=0``): scikit-learn's estimator with its
defaults; the same tuned over a grid (the fastest to the target is reported:
for ``SGDRegressor`` the ``eta0`` grid of ``bench_sgd.py``; for
``SGDClassifier``, whose default ``learning_rate='optimal'`` ignores
``eta0``, ``alpha`` in 1e-6..1e-3 with ``'optimal'`` and ``eta0`` in
1e-4..10 with ``'invscaling'`` and with ``'constant'``); and the Plus
estimator with its defaults.

Time-to-target is measured as in ``bench_sgd.py`` (its functions are used):
a fresh ``fit(max_iter=k, tol=None)`` for ``k = 1, 2, ...`` up to ``--max-k``;
the smallest ``k`` reaching the target; the wall time of that fit, the best of
``--repeats`` timings. Budgets: the Plus estimator is scanned first, and a
scikit-learn scan stops once one of its fits takes more than ``--cap-factor``
(10) times the Plus estimator's time-to-target (both ratios are then decided,
and reported as lower bounds); a grid point stops once one fit takes more than
``--prune-factor`` (1.5) times the best grid time so far, or once its ``k``
exceeds the smallest ``k`` of a grid point that reached the target (the same
estimator on the same data: more epochs cannot be faster);
``--max-scan-seconds`` bounds one scan and ``--max-grid-seconds`` one grid.
The default run is estimated at 10 to 15 minutes on a 2-core machine (not
yet measured in full: the four 100,000-row rows took 53 s, the 1,000,000-row
rows do about 10 times their work; a row whose Plus estimator never reaches
the target costs most, bounded by ``--max-scan-seconds`` per scan and
``--max-grid-seconds`` for its grid).

Targets of issue #12, per row: best-tuned sklearn time / Plus time >= 1, and
sklearn default time / Plus time >= 3 where sklearn's defaults reach the
target at all. One table per task; ``--save`` writes the report to
``benchmarks/results/bench_time_to_accuracy.txt``.

``--quick`` (10,000 and 30,000 rows, one timing, ``--max-k 15``) checks that
the script works in about a minute; its numbers are indicative only.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import gc
import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    # Run as a script: make ``benchmarks`` importable from the repository root.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (  # noqa: E402
    Report,
    add_save_argument,
    format_table,
    prepare_run,
    report_header,
    save_results,
    timed,
)
from benchmarks.bench_sgd import (  # noqa: E402
    DEFAULT_GRID,
    SKLEARN_DEFAULT_ETA0,
    Contender,
    Dataset,
    _load,
    make_dense,
    make_sparse,
    optimum_r2,
    sklearn_sgd,
    skoptim_sgd,
    time_to_target,
    warm_up,
)

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000, 30_000)
N_FEATURES = 100
SPARSE_FEATURES = 1000
DENSITY = 0.01
BAYES_ACCURACY = 0.9
CLASS_THRESHOLD = 0.5  # in standard deviations of the noisy score
ALPHA_GRID = (1e-6, 1e-5, 1e-4, 1e-3)
CLF_ETA0_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
SKLEARN_DEFAULT_ALPHA = 1e-4

TASKS = {
    "regression": {"sklearn": "SGDRegressor", "plus": "SGDRegressorPlus",
                   "score": "R^2", "optimum": "optimum R^2"},
    "classification": {"sklearn": "SGDClassifier", "plus": "SGDClassifierPlus",
                       "score": "acc", "optimum": "best acc"},
}


# --------------------------------------------------------------------------
# Classification data
# --------------------------------------------------------------------------


def _norm_cdf(x):
    return 0.5 * (1.0 + np.vectorize(math.erf)(np.asarray(x) / math.sqrt(2.0)))


def bayes_accuracy(r2, threshold):
    """Accuracy of the Bayes rule ``1[s > c]`` for labels ``1[s + e > c]``.

    The score ``s`` and the noise ``e`` are Gaussian with variances ``r2`` and
    ``1 - r2`` (the noisy score has unit variance) and ``c = threshold``:
    ``E[Phi(|s - c| / sd(e))]``, by quadrature. ``threshold=0`` gives
    ``1 - arccos(sqrt(r2)) / pi``.
    """
    z = np.linspace(-10.0, 10.0, 20_001)
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    s = math.sqrt(r2) * z
    correct = _norm_cdf(np.abs(s - threshold) / math.sqrt(1.0 - r2))
    return float(np.sum(pdf * correct) * (z[1] - z[0]))


def r2_for_bayes_accuracy(accuracy, threshold):
    """The signal share ``r2`` of the noisy score giving this Bayes accuracy."""
    lo, hi = 1e-6, 1.0 - 1e-9
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if bayes_accuracy(mid, threshold) < accuracy:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _labels(ds, threshold):
    """0/1 labels from the regression targets of ``ds`` (the noisy scores),
    cut ``threshold`` standard deviations (of the training scores) above 0."""
    cut = threshold * float(np.std(ds.y))
    return (ds.y > cut).astype(np.int64), (ds.y_test > cut).astype(np.int64)


def make_classification_dense(n_samples, n_features, n_test, *, accuracy=BAYES_ACCURACY,
                              threshold=CLASS_THRESHOLD, rho=0.5, seed=0):
    """Binary labels on ``bench_sgd.make_dense``'s design (standardised
    AR(1)-correlated Gaussian features): ``1[X @ w + noise > c]``, ``c`` =
    ``threshold`` standard deviations of the noisy score, the noise such that
    the Bayes accuracy is ``accuracy``."""
    start = time.perf_counter()
    r2 = r2_for_bayes_accuracy(accuracy, threshold)
    ds = make_dense(n_samples, n_features, n_test, rho=rho, r2=r2, intercept=0.0,
                    seed=seed)
    y, y_test = _labels(ds, threshold)
    desc = (f"dense float64 {n_samples:,} x {n_features} train, {n_test:,} test; "
            f"AR(1) feature correlation rho={rho}, StandardScaler; labels "
            f"1[X @ w + noise > {threshold:g} sd], {y.mean():.1%} positive; "
            f"Bayes accuracy {accuracy:g}; seed {seed}")
    return Dataset("dense", ds.X, y, ds.X_test, y_test, desc, time.perf_counter() - start)


def make_classification_sparse(n_samples, n_features, density, n_test, *,
                               accuracy=BAYES_ACCURACY, threshold=CLASS_THRESHOLD,
                               seed=0):
    """Binary labels on ``bench_sgd.make_sparse``'s CSR design, the features
    then max-abs scaled (``MaxAbsScaler`` fitted on the training rows), labels
    as in :func:`make_classification_dense`. The sparse score is a sum of about
    ``n_features * density`` terms, not exactly Gaussian: the Bayes accuracy is
    about ``accuracy``."""
    from sklearn.preprocessing import MaxAbsScaler

    start = time.perf_counter()
    r2 = r2_for_bayes_accuracy(accuracy, threshold)
    ds = make_sparse(n_samples, n_features, density, n_test, r2=r2, intercept=0.0,
                     seed=seed)
    y, y_test = _labels(ds, threshold)
    scaler = MaxAbsScaler().fit(ds.X)
    X = scaler.transform(ds.X).tocsr()
    X_test = scaler.transform(ds.X_test).tocsr()
    desc = (f"sparse CSR float64 {n_samples:,} x {n_features} train (density "
            f"{X.nnz / (n_samples * n_features):.4f}), {n_test:,} test; MaxAbsScaler; "
            f"labels 1[X @ w + noise > {threshold:g} sd], {y.mean():.1%} positive; "
            f"Bayes accuracy about {accuracy:g}; seed {seed}")
    return Dataset("sparse", X, y, X_test, y_test, desc, time.perf_counter() - start)


def best_accuracy(ds, svc=True):
    """Best test accuracy of a converged linear classifier on ``ds``.

    Returns ``(best, rows)``, ``rows`` = ``(model, test accuracy, seconds,
    converged)`` for ``LogisticRegression(C=1e4, lbfgs)`` and, with ``svc``,
    ``LinearSVC(C=1, dual=False)`` (both practically unregularised at these
    sizes).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    models = [("LogisticRegression(C=1e4, lbfgs, tol=1e-8)",
               LogisticRegression(C=1e4, solver="lbfgs", tol=1e-8, max_iter=10_000))]
    if svc:
        models.append(("LinearSVC(C=1, dual=False, tol=1e-6)",
                       LinearSVC(C=1.0, dual=False, tol=1e-6, max_iter=10_000)))
    rows = []
    for name, model in models:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, seconds = timed(model.fit, ds.X, ds.y)
        n_iter = int(np.max(model.n_iter_))
        rows.append((name, _accuracy(model, ds), seconds, n_iter < model.max_iter))
    return max(r[1] for r in rows), rows


def _accuracy(est, ds):
    return float(np.mean(est.predict(ds.X_test) == ds.y_test))


# --------------------------------------------------------------------------
# Contenders
# --------------------------------------------------------------------------


def sklearn_sgdc(seed=0, **params):
    from sklearn.linear_model import SGDClassifier

    def make(k):
        return SGDClassifier(max_iter=k, tol=None, random_state=seed, **params)

    return make


def skoptim_sgdc(seed=0, **params):
    from skoptim import SGDClassifierPlus

    def make(k):
        return SGDClassifierPlus(max_iter=k, tol=None, random_state=seed, **params)

    return make


def contenders(task, args):
    """``(sklearn default, Plus default, [grid])``; ``note`` is the short setting."""
    seed = args.seed
    if task == "regression":
        default = Contender("sklearn SGDRegressor (defaults)", sklearn_sgd(seed=seed),
                            SKLEARN_DEFAULT_ETA0, "defaults")
        plus = Contender("SGDRegressorPlus (defaults)", skoptim_sgd(seed=seed), 0.01,
                         "defaults")
        grid = [Contender(f"sklearn SGDRegressor (eta0={e:g})", sklearn_sgd(e, seed=seed),
                          e, f"eta0={e:g}")
                for e in args.eta0_grid if e != SKLEARN_DEFAULT_ETA0]
        return default, plus, grid
    default = Contender("sklearn SGDClassifier (defaults)", sklearn_sgdc(seed), math.nan,
                        "defaults")
    plus = Contender("SGDClassifierPlus (defaults)", skoptim_sgdc(seed), math.nan,
                     "defaults")
    grid = [Contender(f"sklearn SGDClassifier (optimal, alpha={a:g})",
                      sklearn_sgdc(seed, alpha=a), math.nan, f"optimal alpha={a:g}")
            for a in args.alpha_grid if a != SKLEARN_DEFAULT_ALPHA]
    for rate in ("invscaling", "constant"):
        grid += [Contender(f"sklearn SGDClassifier ({rate}, eta0={e:g})",
                           sklearn_sgdc(seed, learning_rate=rate, eta0=e), e,
                           f"{rate} eta0={e:g}")
                 for e in args.clf_eta0_grid]
    return default, plus, grid


def grid_description(task, args):
    if task == "regression":
        return ("SGDRegressor(eta0=e), e in "
                + ", ".join(f"{e:g}" for e in args.eta0_grid)
                + " (the default eta0=0.01 is the defaults' row)")
    eta = ", ".join(f"{e:g}" for e in args.clf_eta0_grid)
    return ("SGDClassifier(alpha=a) with learning_rate='optimal' (which ignores eta0), "
            "a in " + ", ".join(f"{a:g}" for a in args.alpha_grid)
            + " (1e-4 is the defaults' row); SGDClassifier(learning_rate='invscaling', "
            f"eta0=e) and SGDClassifier(learning_rate='constant', eta0=e), e in {eta}")


# --------------------------------------------------------------------------
# One row: a task at one size and storage
# --------------------------------------------------------------------------


@dataclass
class Row:
    task: str
    size: int
    storage: str
    optimum: float
    target: float
    default: object = None
    plus: object = None
    best: object = None  # the fastest grid outcome reaching the target, or None
    grid: list = field(default_factory=list)
    seconds: float = 0.0


def make_data(task, storage, size, args):
    n_test = args.n_test or min(200_000, max(10_000, size // 5))
    if task == "regression":
        if storage == "dense":
            return make_dense(size, N_FEATURES, n_test, seed=args.seed)
        return make_sparse(size, SPARSE_FEATURES, DENSITY, n_test, seed=args.seed)
    if storage == "dense":
        return make_classification_dense(size, N_FEATURES, n_test, seed=args.seed)
    return make_classification_sparse(size, SPARSE_FEATURES, DENSITY, n_test,
                                      seed=args.seed)


def run_row(task, storage, size, args, log):
    start = time.perf_counter()
    ds = make_data(task, storage, size, args)
    log(f"### {task}, {size:,} rows, {storage}")
    log()
    log(f"{ds.description} (generated in {ds.gen_seconds:.1f} s; load {_load()})")
    if task == "regression":
        opt, opt_train, how, opt_seconds = optimum_r2(ds)
        target = opt - args.gap
        score, score_name = None, "R^2"
        log(f"optimum: {how} in {opt_seconds:.2f} s: test R^2 {opt:.5f} (train "
            f"{opt_train:.5f}); target test R^2 >= {target:.5f}")
    else:
        opt, models = best_accuracy(ds, svc=not args.no_svc)
        target = opt - args.acc_gap
        score, score_name = _accuracy, "acc"
        for name, acc, seconds, converged in models:
            log(f"best-model candidate: {name}: test accuracy {acc:.5f} in {seconds:.2f} s"
                + ("" if converged else " (NOT converged)"))
        log(f"best test accuracy {opt:.5f}; target test accuracy >= {target:.5f}")
    default, plus, grid = contenders(task, args)
    warm_up([plus, default] + grid[:1], ds)
    # timed() runs gc.collect() before each fit; with scikit-learn, SciPy and
    # numba loaded that walk costs ~60 ms, more than a 10,000-row fit. Objects
    # alive now go to the permanent generation (still freed by reference
    # counting), so the collection costs microseconds. The fits are unchanged.
    gc.freeze()

    def scan(c, prune_seconds=None, k_limit=None):
        """bench_sgd's time_to_target, at most ``k_limit`` epochs (a grid point
        needing more epochs than one already found cannot be faster: the same
        estimator on the same data)."""
        limit = args.max_k if k_limit is None else min(args.max_k, k_limit)
        out = time_to_target(c, ds, target, max_k=limit, repeats=args.repeats,
                             prune_seconds=prune_seconds,
                             max_fit_seconds=args.max_fit_seconds,
                             max_scan_seconds=args.max_scan_seconds, log=lambda *a: None,
                             score=score, score_name=score_name)
        if out.status == "not reached" and limit < args.max_k:
            out.status = "pruned"
            out.error = f"k>{limit}: slower than a grid point reaching it at k={limit}"
        out.note = c.note
        msg = f"    {c.name:<48} {out.status:<11}"
        if out.reached:
            msg += f" k={out.k:<3} {out.seconds:8.4f} s  {score_name}={out.r2:.5f}"
        elif out.curve:
            msg += f" last k={out.curve[-1][0]} {score_name}={out.curve[-1][2]:.5g}"
        if out.error:
            msg += f"  ({out.error})"
        log(msg + f"  [scan {out.scan_seconds:.1f} s, load {_load()}]")
        return out

    log("time-to-target scans (the Plus estimator first: its time caps the others):")
    row = Row(task, size, storage, opt, target)
    row.plus = scan(plus)
    cap = args.cap_factor * row.plus.seconds if row.plus.reached else None
    row.default = scan(default, prune_seconds=cap)
    row.grid = [row.default]
    grid_start = time.perf_counter()
    for c in grid:
        if time.perf_counter() - grid_start > args.max_grid_seconds:
            log(f"    {c.name:<48} skipped (grid past --max-grid-seconds)")
            continue
        reached = [o for o in row.grid if o.reached]
        prunes = [p for p in (cap, args.prune_factor * min(o.seconds for o in reached)
                              if reached else None) if p is not None]
        row.grid.append(scan(c, prune_seconds=min(prunes) if prunes else None,
                             k_limit=min(o.k for o in reached) if reached else None))
    reached = [o for o in row.grid if o.reached]
    row.best = min(reached, key=lambda o: o.seconds) if reached else None
    row.seconds = time.perf_counter() - start
    log(f"row done in {row.seconds:.1f} s")
    log()
    return row


# --------------------------------------------------------------------------
# Verdicts and tables
# --------------------------------------------------------------------------


def _t(seconds):
    return f"{seconds:.3g}"


def _cell(o):
    if o is None:
        return "-"
    if o.reached:
        return f"k={o.k} {_t(o.seconds)}s"
    last = o.curve[-1] if o.curve else None
    if o.status == "pruned":
        return f"pruned k>{last[0]}, >{_t(last[1])}s"
    if o.status == "diverged":
        return "diverged"
    return f"{o.status} k<={last[0] if last else 0}"


def _lower_bound(skl, plus):
    """sklearn's longest fit tried (not reaching the target) / Plus's time."""
    if skl.curve and plus.reached:
        return skl.curve[-1][1] / plus.seconds
    return None


def verdicts(row, args):
    """``(tuned text, default text, verdict, reasons)`` of a row."""
    plus, skl, best = row.plus, row.default, row.best
    reasons = []
    if not plus.reached:
        last = plus.curve[-1] if plus.curve else None
        got = f", {last[2]:.5f} at k={last[0]}" if last else ""
        reasons.append(f"{TASKS[row.task]['plus']} did not reach the target within "
                       f"k<={args.max_k} ({plus.status}{got})")
        return "-", "-", "NOT MET", reasons

    def ratio(name, other, target, what):
        """``(text, ok)`` of ``other``'s time over Plus's against ``target``."""
        r = other.seconds / plus.seconds
        if r < target:
            reasons.append(f"{name}/Plus {r:.2f}x < {target:g} (sklearn {what}k={other.k} "
                           f"{_t(other.seconds)} s vs Plus k={plus.k} {_t(plus.seconds)} s)")
        return f"{r:.2f}x", r >= target

    # best-tuned sklearn / Plus >= 1
    if best is not None:
        tuned, ok_tuned = ratio("tuned", best, 1, f"{best.note} ")
    else:
        tuned, ok_tuned = "n/r (MET)", True  # no sklearn setting reached the target
    # sklearn default / Plus >= 3, where the default reaches the target
    ok_default = True
    undecided = False
    if skl.reached:
        default, ok_default = ratio("default", skl, 3, "")
    else:
        lb = _lower_bound(skl, plus)
        lb_text = f">{lb:.1f}x" if lb is not None else "n/a"
        if skl.status in ("not reached", "diverged"):
            default = f"{lb_text} (n/r: n/a)"
        elif lb is not None and lb >= 3:
            default = lb_text
        else:
            default, undecided = f"{lb_text} (undecided)", True
            reasons.append(f"default/Plus undecided: sklearn scan stopped ({skl.status}: "
                           f"{skl.error})")
    if ok_tuned and ok_default:
        verdict = "undecided" if undecided else "MET"
    else:
        verdict = "NOT MET"
    return tuned, default, verdict, reasons


def table(rows, task, args):
    names = TASKS[task]
    header = ["size", "data", names["optimum"], f"sklearn {names['sklearn']} default",
              "sklearn best-tuned", f"{names['plus']} default", "tuned/Plus (>=1)",
              "default/Plus (>=3)", "verdict"]
    out, failures = [], []
    for row in rows:
        tuned, default, verdict, reasons = verdicts(row, args)
        best = row.best
        out.append([f"{row.size:,}", row.storage, f"{row.optimum:.4f}", _cell(row.default),
                    f"{best.note}: {_cell(best)}" if best else "none reached",
                    _cell(row.plus), tuned, default, verdict])
        if verdict != "MET":
            failures.append((row, verdict, reasons))
    return format_table(header, out, "rlrllllrl"), failures


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def _floats(text):
    return [float(v) for v in text.split(",") if v]


def _ints(text):
    return [int(float(v)) for v in text.split(",") if v]


def _names(choices):
    def parse(text):
        names = [v.strip() for v in text.split(",") if v.strip()]
        bad = [n for n in names if n not in choices]
        if bad or not names:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(choices)}")
        return names
    return parse


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=_ints, default=None,
                   help="training rows, comma-separated (default 10000,100000,1000000; "
                        "10000,30000 with --quick)")
    p.add_argument("--tasks", type=_names(("regression", "classification")),
                   default=["regression", "classification"],
                   help="regression,classification (default both)")
    p.add_argument("--storage", type=_names(("dense", "sparse")), default=["dense", "sparse"],
                   help="dense,sparse (default both)")
    p.add_argument("--n-test", type=int, default=None,
                   help="test rows (default min(200,000, max(10,000, size // 5)))")
    p.add_argument("--quick", action="store_true",
                   help="sizes 10000,30000, one timing, --max-k 15: a smoke run")
    p.add_argument("--gap", type=float, default=1e-3,
                   help="regression target: test R^2 >= optimum - gap (1e-3)")
    p.add_argument("--acc-gap", type=float, default=0.005,
                   help="classification target: test accuracy >= best - gap (0.005)")
    p.add_argument("--max-k", type=int, default=None,
                   help="largest max_iter tried (30; 15 with --quick)")
    p.add_argument("--repeats", type=int, default=None,
                   help="timings of the final fit, best reported (3; 1 with --quick)")
    p.add_argument("--eta0-grid", type=_floats, default=list(DEFAULT_GRID),
                   help="SGDRegressor eta0 grid (default "
                        f"{','.join(f'{v:g}' for v in DEFAULT_GRID)})")
    p.add_argument("--alpha-grid", type=_floats, default=list(ALPHA_GRID),
                   help="SGDClassifier alpha grid with learning_rate='optimal' (default "
                        f"{','.join(f'{v:g}' for v in ALPHA_GRID)})")
    p.add_argument("--clf-eta0-grid", type=_floats, default=list(CLF_ETA0_GRID),
                   help="SGDClassifier eta0 grid for learning_rate='invscaling' and "
                        f"'constant' (default {','.join(f'{v:g}' for v in CLF_ETA0_GRID)})")
    p.add_argument("--prune-factor", type=float, default=1.5,
                   help="stop a grid point once one fit exceeds this times the best "
                        "grid time-to-target so far (1.5)")
    p.add_argument("--cap-factor", type=float, default=10.0,
                   help="stop a scikit-learn scan once one fit exceeds this times the "
                        "Plus estimator's time-to-target (10)")
    p.add_argument("--max-fit-seconds", type=float, default=120.0,
                   help="give up on a contender once one fit takes longer (120)")
    p.add_argument("--max-scan-seconds", type=float, default=240.0,
                   help="stop a contender's k scan once it has taken longer (240)")
    p.add_argument("--max-grid-seconds", type=float, default=300.0,
                   help="skip the rest of a row's tuning grid after this long (300)")
    p.add_argument("--no-svc", action="store_true",
                   help="best accuracy from LogisticRegression only (skip LinearSVC)")
    p.add_argument("--blas-threads", type=int, default=None,
                   help="limit BLAS/OpenMP threads (threadpoolctl); default: library's")
    p.add_argument("--seed", type=int, default=0)
    add_save_argument(p)
    p.add_argument("--output", type=str, default=None,
                   help="results file name under benchmarks/results/; implies --save "
                        "(default bench_time_to_accuracy.txt, "
                        "bench_time_to_accuracy_quick.txt with --quick)")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes = args.sizes or list(QUICK_SIZES)
        args.repeats = args.repeats or 1
        args.max_k = args.max_k or 15
    args.sizes = args.sizes or list(DEFAULT_SIZES)
    args.repeats = args.repeats or 3
    args.max_k = args.max_k or 30
    # save_results writes when --output is given: keep the default name apart.
    args.results_name = args.output or ("bench_time_to_accuracy_quick.txt" if args.quick
                                         else "bench_time_to_accuracy.txt")
    return args


def main(argv=None):
    args = parse_args(argv)
    log = Report()
    prepare_run(args.blas_threads)
    report_header(log, "# Time to accuracy over sizes: the Plus estimators' defaults vs "
                  "scikit-learn", "bench_time_to_accuracy.py", argv)
    log(f"method: fresh fit(max_iter=k, tol=None, random_state={args.seed}) for "
        f"k = 1..{args.max_k}; the smallest k reaching the target; time = best of "
        f"{args.repeats} wall-clock timings of that fit (input validation included, "
        "scoring excluded). Regression target: test R^2 >= optimum - "
        f"{args.gap:g} (closed-form least squares). Classification target: test "
        f"accuracy >= best - {args.acc_gap:g} (best of LogisticRegression(C=1e4, "
        "lbfgs)" + ("" if args.no_svc else " and LinearSVC(C=1, dual=False)")
        + ", converged, on the same split).")
    for task in args.tasks:
        log(f"{task} tuning grid: {grid_description(task, args)}.")
    log(f"budgets: a sklearn scan stops once one fit takes > {args.cap_factor:g}x the "
        f"Plus time-to-target; a grid point once one fit takes > {args.prune_factor:g}x "
        "the best grid time so far, or once its k passes the smallest k of a grid point "
        f"that reached the target; one scan <= {args.max_scan_seconds:g} s, one grid "
        f"<= {args.max_grid_seconds:g} s.")
    log()

    start = time.perf_counter()
    rows = {task: [] for task in args.tasks}
    size_seconds = []
    try:
        for size in args.sizes:
            size_start = time.perf_counter()
            log(f"## {size:,} training rows")
            log()
            for task in args.tasks:
                for storage in args.storage:
                    rows[task].append(run_row(task, storage, size, args, log))
            size_seconds.append((size, time.perf_counter() - size_start))
            log(f"{size:,} rows done in {size_seconds[-1][1]:.0f} s")
            log()
    finally:
        gc.unfreeze()  # run_row froze the heap for cheap collections

    log("## Results")
    log()
    log("cells: k = smallest max_iter reaching the target, then its time (s, best of "
        f"{args.repeats}); 'pruned k>K, >T s' = scan stopped by a budget after a fit of "
        "T s that had not reached it; 'not reached k<=K' = never within --max-k. "
        "Ratios: time / Plus time; '>' = lower bound from a stopped scan; "
        "'n/r' = sklearn never reached the target (the >=3x target then does not apply).")
    log()
    all_failures = []
    for task in args.tasks:
        text, failures = table(rows[task], task, args)
        log(f"### {task}: {TASKS[task]['plus']}() vs {TASKS[task]['sklearn']}")
        log()
        log(text)
        log()
        all_failures += failures

    log("## Summary")
    log()
    n_rows = sum(len(r) for r in rows.values())
    if not all_failures:
        log(f"all {n_rows} rows MET.")
    else:
        log(f"{len(all_failures)} of {n_rows} rows not MET:")
        for row, verdict, reasons in all_failures:
            log(f"- {row.task}, {row.size:,} rows, {row.storage}: {verdict}: "
                + "; ".join(reasons))
    log()
    log("time per size: " + ", ".join(f"{size:,} rows {s:.0f} s" for size, s in size_seconds)
        + f"; total {time.perf_counter() - start:.0f} s")
    save_results(args, args.results_name, log.text())
    return rows


if __name__ == "__main__":
    main()
