"""Benchmark P2 (SPEC section 6): time to reach the optimal test R² in linear
regression, SGDRegressorPlus against scikit-learn's SGDRegressor.

What is measured
----------------
On one synthetic regression problem (standardised features, ``y = X @ w + b +
noise`` with a population R² of about 0.9, fixed seed) the script

1. computes the optimum: the test R² of the closed-form least-squares fit
   (Ridge with a negligible ``alpha``) on the same train/test split;
2. for each contender, fits a *fresh* estimator with ``max_iter=k, tol=None``
   (same ``random_state``) for ``k = 1, 2, ...`` up to ``--max-k`` and takes
   the smallest ``k`` whose test R² is within ``--gap`` (1e-3) of the optimum.
   The time-to-target is the wall time of that whole ``fit`` call (input
   validation included, scoring excluded), re-timed ``--repeats`` times in
   all; the best time is used (the median is shown too). The method is the same for every
   contender, as scikit-learn offers no per-epoch hook;
3. prints a table, the ratios of SPEC P2 and the machine description, and
   writes the same text to ``benchmarks/results/``.

Contenders: scikit-learn ``SGDRegressor`` with its defaults; the same with
``eta0`` tuned over a grid (the fastest to the target is reported, the whole
grid is listed); ``SGDRegressorPlus`` with its defaults; and (unless
``--no-adam``) ``SGDRegressorPlus(solver='adam', learning_rate='constant',
eta0=1e-3)``, Adam's textbook setting, chosen before looking at results.

SPEC P2 target: sklearn default time / SGDRegressorPlus default time >= 3, and
best-tuned sklearn time / SGDRegressorPlus default time >= 1.

Run ``python benchmarks/bench_sgd.py --help`` for the options; ``--quick`` is
a smoke run of a few seconds.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import cProfile
import gc
import io
import math
import os
import pstats
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

if __package__ in (None, ""):
    # Run as a script: make ``benchmarks`` importable from the repository root.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (  # noqa: E402
    Report,
    format_bytes,
    format_table,
    prepare_run,
    report_header,
    median,
    peak_memory,
    timed,
    add_save_argument,
    save_results,
)

DEFAULT_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
SKLEARN_DEFAULT_ETA0 = 0.01

# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


@dataclass
class Dataset:
    name: str
    X: object
    y: np.ndarray
    X_test: object
    y_test: np.ndarray
    description: str
    gen_seconds: float = 0.0


def _noise_scale(signal_var, r2):
    return math.sqrt(signal_var * (1.0 - r2) / r2)


def make_dense(n_samples, n_features, n_test, *, rho=0.5, r2=0.9, intercept=1.0, seed=0):
    """Gaussian features with AR(1) correlation ``rho**|i-j|``, standardised.

    The correlation gives the covariance a condition number of about
    ``(1 + rho) / (1 - rho)`` (3 for ``rho=0.5``): a mildly correlated design,
    neither the trivial identity nor an ill-posed one.
    """
    from sklearn.preprocessing import StandardScaler

    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    idx = np.arange(n_features)
    cov = rho ** np.abs(idx[:, None] - idx[None, :])
    L = np.linalg.cholesky(cov)
    w = rng.standard_normal(n_features)
    signal_var = float(w @ cov @ w)
    sd = _noise_scale(signal_var, r2)

    def draw(n):
        X = rng.standard_normal((n, n_features)) @ L.T
        y = X @ w + intercept + sd * rng.standard_normal(n)
        return X, y

    X, y = draw(n_samples)
    X_test, y_test = draw(n_test)
    scaler = StandardScaler(copy=False).fit(X)
    X = np.ascontiguousarray(scaler.transform(X))
    X_test = np.ascontiguousarray(scaler.transform(X_test))
    desc = (f"dense float64 {n_samples:,} x {n_features} train, {n_test:,} test; "
            f"AR(1) feature correlation rho={rho}, StandardScaler; "
            f"y = X @ w + {intercept} + noise, population R^2 = {r2}; seed {seed}")
    return Dataset("dense", X, y, X_test, y_test, desc, time.perf_counter() - start)


def make_sparse(n_samples, n_features, density, n_test, *, r2=0.9, intercept=1.0, seed=0):
    """CSR features: each row has Binomial(n_features, density) non-zeros in
    uniformly drawn columns with Gaussian values, scaled to unit variance per
    column (StandardScaler(with_mean=False), the usual sparse preprocessing)."""
    from sklearn.preprocessing import StandardScaler

    start = time.perf_counter()
    rng = np.random.default_rng(seed + 1)
    w = rng.standard_normal(n_features)

    def draw(n):
        counts = rng.binomial(n_features, density, size=n)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        nnz = int(indptr[-1])
        indices = rng.integers(0, n_features, size=nnz)
        data = rng.standard_normal(nnz)
        if nnz < np.iinfo(np.int32).max:
            indptr, indices = indptr.astype(np.int32), indices.astype(np.int32)
        X = sp.csr_matrix((data, indices, indptr), shape=(n, n_features))
        X.sum_duplicates()  # repeated columns in a row: add them (sorted indices)
        return X

    X = draw(n_samples)
    X_test = draw(n_test)
    scaler = StandardScaler(with_mean=False).fit(X)
    X = scaler.transform(X).tocsr()
    X_test = scaler.transform(X_test).tocsr()
    # Unit-variance, (nearly) zero-mean columns: the signal variance is ||w||^2.
    sd = _noise_scale(float(w @ w), r2)
    y = np.asarray(X @ w).ravel() + intercept + sd * rng.standard_normal(n_samples)
    y_test = np.asarray(X_test @ w).ravel() + intercept + sd * rng.standard_normal(n_test)
    desc = (f"sparse CSR float64 {n_samples:,} x {n_features} train (density "
            f"{X.nnz / (n_samples * n_features):.4f}, {X.nnz:,} non-zeros), "
            f"{n_test:,} test; StandardScaler(with_mean=False); "
            f"y = X @ w + {intercept} + noise, population R^2 = {r2}; seed {seed}")
    return Dataset("sparse", X, y, X_test, y_test, desc, time.perf_counter() - start)


def optimum_r2(ds):
    """Test R² of the closed-form least-squares fit on the training set."""
    from sklearn.linear_model import Ridge
    from sklearn.metrics import r2_score

    if sp.issparse(ds.X):
        model = Ridge(alpha=1e-8, solver="sparse_cg", tol=1e-12, max_iter=10_000)
        how = "Ridge(alpha=1e-8, solver='sparse_cg', tol=1e-12)"
    else:
        model = Ridge(alpha=1e-8, solver="cholesky")
        how = "Ridge(alpha=1e-8, solver='cholesky')"
    _, seconds = timed(model.fit, ds.X, ds.y)
    train_r2 = r2_score(ds.y, model.predict(ds.X))
    return r2_score(ds.y_test, model.predict(ds.X_test)), train_r2, how, seconds


# --------------------------------------------------------------------------
# Contenders and time-to-target
# --------------------------------------------------------------------------


@dataclass
class Contender:
    name: str
    make: object  # make(k) -> estimator with max_iter=k, tol=None
    eta0: float
    note: str = ""


def sklearn_sgd(eta0=SKLEARN_DEFAULT_ETA0, seed=0):
    from sklearn.linear_model import SGDRegressor

    def make(k):
        params = {"max_iter": k, "tol": None, "random_state": seed}
        if eta0 != SKLEARN_DEFAULT_ETA0:
            params["eta0"] = eta0
        return SGDRegressor(**params)

    return make


def sklearn_sgd_avg(seed=0):
    from sklearn.linear_model import SGDRegressor

    def make(k):
        return SGDRegressor(max_iter=k, tol=None, random_state=seed, average=True)

    return make


def skoptim_sgd(seed=0, **params):
    from skoptim import SGDRegressorPlus

    def make(k):
        return SGDRegressorPlus(max_iter=k, tol=None, random_state=seed, **params)

    return make


@dataclass
class Outcome:
    name: str
    eta0: float
    status: str = "not reached"  # 'reached', 'not reached', 'diverged', 'pruned', ...
    k: int | None = None
    seconds: float | None = None  # best (minimum) time of fit(max_iter=k)
    median_seconds: float | None = None
    all_seconds: list = field(default_factory=list)
    r2: float | None = None
    curve: list = field(default_factory=list)  # (k, seconds, r2)
    scan_seconds: float = 0.0
    error: str = ""
    peak_bytes: int | None = None

    @property
    def reached(self):
        return self.status == "reached"


def _score(est, ds):
    from sklearn.metrics import r2_score

    pred = est.predict(ds.X_test)
    if not np.all(np.isfinite(pred)):
        return -math.inf
    return float(r2_score(ds.y_test, pred))


def _fit_time(make, k, ds):
    est = make(k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, seconds = timed(est.fit, ds.X, ds.y)
    return est, seconds


def time_to_target(contender, ds, target, *, max_k, repeats, prune_seconds=None,
                   max_fit_seconds=math.inf, max_scan_seconds=math.inf, log=print,
                   score=None, score_name="R^2"):
    """Smallest ``k`` whose fresh ``fit(max_iter=k)`` reaches ``target``, and its time.

    Stops early when one fit takes longer than ``prune_seconds`` (it cannot beat
    a result already known) or ``max_fit_seconds``, or when the whole scan has
    taken longer than ``max_scan_seconds`` (budgets). ``score(est, ds)`` is the
    test score compared with ``target`` (default: test R², ``-inf`` for a
    non-finite prediction); ``score_name`` labels it in the log line. The
    ``r2`` fields of the outcome hold that score.
    """
    score = score or _score
    out = Outcome(contender.name, contender.eta0)
    scan_start = time.perf_counter()
    for k in range(1, max_k + 1):
        try:
            est, seconds = _fit_time(contender.make, k, ds)
        except (ValueError, FloatingPointError, OverflowError) as exc:
            out.status, out.error = "diverged", f"k={k}: {str(exc).splitlines()[0][:100]}"
            break
        r2 = score(est, ds)
        out.curve.append((k, seconds, r2))
        del est
        if not math.isfinite(r2) or r2 < -1e6:
            out.status, out.error = "diverged", f"k={k}: test {score_name} {r2:.3g}"
            break
        if r2 >= target:
            out.status, out.k, out.r2 = "reached", k, r2
            out.all_seconds = [seconds]
            break
        if prune_seconds is not None and seconds > prune_seconds:
            out.status = "pruned"
            out.error = f"k={k} already took {seconds:.3g} s > {prune_seconds:.3g} s"
            break
        if seconds > max_fit_seconds:
            out.status = "budget"
            out.error = f"k={k} took {seconds:.1f} s > --max-fit-seconds"
            break
        if k < max_k and time.perf_counter() - scan_start > max_scan_seconds:
            out.status = "budget"
            out.error = f"scan stopped after k={k}: > --max-scan-seconds"
            break
    out.scan_seconds = time.perf_counter() - scan_start
    if out.reached:
        retime(out, contender, ds, repeats, score=score, score_name=score_name)
    last = out.curve[-1] if out.curve else None
    msg = f"    {contender.name:<44} {out.status:<11}"
    if out.reached:
        msg += f" k={out.k:<3} {out.seconds:8.3f} s  {score_name}={out.r2:.5f}"
    elif last:
        msg += f" last k={last[0]} {score_name}={_fmt_r2(last[2])}"
    if out.error:
        msg += f"  ({out.error})"
    log(msg + f"  [scan {out.scan_seconds:.1f} s, load {_load()}]")
    return out


def retime(out, contender, ds, repeats, score=None, score_name="R^2"):
    """Re-run ``fit(max_iter=k)`` until ``repeats`` timings exist; keep the best
    (noise from other processes only ever adds time) and the median."""
    score = score or _score
    while len(out.all_seconds) < repeats:
        est, seconds = _fit_time(contender.make, out.k, ds)
        r2 = score(est, ds)
        if not math.isclose(r2, out.r2, rel_tol=0, abs_tol=1e-9):
            out.error = f"{score_name} not reproducible: {out.r2} then {r2}"
        out.all_seconds.append(seconds)
    out.seconds = min(out.all_seconds)
    out.median_seconds = median(out.all_seconds)


def warm_up(contenders, ds, n=2000):
    """One small fit per contender: imports, BLAS threads and caches are ready."""
    small = Dataset(ds.name, ds.X[:n], ds.y[:n], ds.X_test[:n], ds.y_test[:n], "")
    for c in contenders:
        try:
            _fit_time(c.make, 2, small)
        except Exception:
            pass


def _measure_memory(contender, ds, k):
    est = contender.make(k)
    return peak_memory(est.fit, ds.X, ds.y, timeout=1800)


# --------------------------------------------------------------------------
# Profiling
# --------------------------------------------------------------------------

_PHASES = (
    ("input validation (check_X_y)", "_validation.py", "check_X_y"),
    ("curvature estimate (_top_second_moment)", "_sgd.py", "_top_second_moment"),
    ("training loop (engine.train)", "_engine.py", "train"),
    ("  batch gathering (_take)", "_engine.py", "_take"),
    ("  loss_grad", "_sgd.py", "loss_grad"),
    ("    forward X @ W (_matmul)", "_sgd.py", "_matmul"),
    ("    backward X.T @ d (_matmul_T)", "_sgd.py", "_matmul_T"),
    ("    loss value/derivative", "_losses.py", "value_and_derivative"),
    ("  optimizer.update", "_optimizers.py", "update"),
    ("  penalty.add_grad", "_penalties.py", "add_grad"),
    ("  schedule.rate", "_schedules.py", "rate"),
    ("  permutation (per epoch)", "_backend.py", "permutation"),
)


def profile_fit(contender, ds, k, top=25):
    """cProfile one ``fit(max_iter=k)``; a phase summary and the top functions."""
    est = contender.make(k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        est.fit(ds.X, ds.y)  # unprofiled reference time
        plain = time.perf_counter() - start
        est = contender.make(k)
        prof = cProfile.Profile()
        prof.enable()
        est.fit(ds.X, ds.y)
        prof.disable()
    stats = pstats.Stats(prof)
    total = stats.total_tt
    rows = []
    for label, file_end, func in _PHASES:
        cum, calls = 0.0, 0
        for (fname, _line, fn), (cc, nc, _tt, ct, _callers) in stats.stats.items():
            if fn == func and fname.endswith(file_end):
                cum += ct
                calls += nc
        if calls:
            rows.append([label, f"{calls:,}", f"{cum:.3f}", f"{100 * cum / total:.1f}%"])
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(top)
    lines = [ln for ln in buf.getvalue().splitlines()
             if ln.strip() and not ln.startswith(("   Ordered", "   List reduced"))]
    return plain, total, rows, lines


# --------------------------------------------------------------------------
# Running one dataset
# --------------------------------------------------------------------------


def _load():
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "n/a"


def _fmt_r2(r2):
    return f"{r2:.5f}" if r2 > -1e3 else f"{r2:.3g}"


def _fmt_s(x):
    return "-" if x is None else f"{x:.3f}"


def _ratio(a, b):
    if a is None or b is None or b <= 0:
        return None
    return a / b


def _default_ratio(skl, plus):
    """``(ratio, is_lower_bound)`` of sklearn's default time over skoptim's.

    When sklearn never reached the target but skoptim did, the time of
    sklearn's longest fit tried (which had not reached it) over skoptim's time
    is a lower bound of the ratio.
    """
    if plus.reached and skl.reached:
        return _ratio(skl.seconds, plus.seconds), False
    if plus.reached and skl.curve and skl.status in ("not reached", "budget"):
        return _ratio(skl.curve[-1][1], plus.seconds), True
    return None, False


def run_dataset(ds, args, log):
    log(f"## {ds.name}: {ds.description}")
    log()
    log(f"data generated in {ds.gen_seconds:.1f} s; 1-min load average now {_load()} "
        f"on {os.cpu_count()} CPUs (a load above the benchmark's own 1 means other "
        "processes competed for the CPU)")
    opt, opt_train, how, opt_seconds = optimum_r2(ds)
    target = opt - args.gap
    log(f"optimum: {how} fitted in {opt_seconds:.2f} s; "
        f"test R^2 = {opt:.6f} (train {opt_train:.6f}); target test R^2 >= {target:.6f}")
    log()

    seed = args.seed
    default_skl = Contender("sklearn SGDRegressor (defaults)", sklearn_sgd(seed=seed),
                            SKLEARN_DEFAULT_ETA0)
    plus = Contender("SGDRegressorPlus (defaults)", skoptim_sgd(seed=seed), 0.01)
    contenders = [default_skl, plus]
    if not args.no_adam:
        adam = Contender("SGDRegressorPlus (adam, constant, eta0=1e-3)",
                         skoptim_sgd(seed=seed, solver="adam", learning_rate="constant",
                                     eta0=1e-3), 1e-3)
        contenders.append(adam)
    extra = []
    if args.average:
        extra = [Contender("sklearn SGDRegressor (average=True)",
                           sklearn_sgd_avg(seed=seed), SKLEARN_DEFAULT_ETA0),
                 Contender("SGDRegressorPlus (average=True)",
                           skoptim_sgd(seed=seed, average=True), 0.01)]
    grid = [Contender(f"sklearn SGDRegressor (eta0={e:g})", sklearn_sgd(e, seed=seed), e)
            for e in args.eta0_grid if e != SKLEARN_DEFAULT_ETA0]
    warm_up(contenders + extra + grid[:1], ds)

    log("time-to-target scans (fresh fit with max_iter=k, tol=None, k = 1, 2, ...):")
    outcomes = {}
    kw = {"max_k": args.max_k, "repeats": args.repeats,
          "max_fit_seconds": args.max_fit_seconds,
          "max_scan_seconds": args.max_scan_seconds, "log": log}
    for c in contenders + extra:
        outcomes[c.name] = time_to_target(c, ds, target, **kw)

    # eta0 grid for sklearn; the default eta0 is a grid point already measured.
    grid_outcomes = [outcomes[default_skl.name]]
    for c in grid:
        reached = [o.seconds for o in grid_outcomes if o.reached]
        prune = args.prune_factor * min(reached) if reached else None
        grid_outcomes.append(time_to_target(c, ds, target, prune_seconds=prune, **kw))
    grid_outcomes.sort(key=lambda o: o.eta0)
    reached = [o for o in grid_outcomes if o.reached]
    best = min(reached, key=lambda o: o.seconds) if reached else None
    log()

    headline = [outcomes[default_skl.name]]
    if best is not None:
        headline.append(Outcome(**{**best.__dict__,
                                   "name": f"sklearn SGDRegressor (best eta0={best.eta0:g})"}))
    headline += [outcomes[c.name] for c in contenders[1:]]
    informative = [outcomes[c.name] for c in extra]

    if args.memory:
        log("peak extra memory during fit(max_iter=1) (forked child, VmHWM - VmRSS):")
        mem_contenders = [default_skl] + contenders[1:]
        for c in mem_contenders:
            res = _measure_memory(c, ds, 1)
            if res.get("error"):
                log(f"    {c.name}: error {res['error'].splitlines()[-1]}")
                continue
            for o in headline:
                if o.name == c.name:
                    o.peak_bytes = res["peak_extra_bytes"]
            log(f"    {c.name:<44} {format_bytes(res['peak_extra_bytes'])}"
                + ("" if res["exact"] else " (upper bound)"))
        data_bytes = (ds.X.data.nbytes + ds.X.indices.nbytes + ds.X.indptr.nbytes
                      if sp.issparse(ds.X) else ds.X.nbytes)
        log(f"    (training X itself: {format_bytes(data_bytes)})")
        log()

    ref = outcomes[plus.name]
    header = ["contender", "eta0", "k", "time-to-target (s)", "median (s)", "s/epoch",
              "test R^2",
              "gap to opt", "sklearn default / this", "peak extra mem", "status"]
    rows = []
    for o in headline + informative:
        per_epoch = o.seconds / o.k if o.reached else None
        r2 = o.r2 if o.reached else (o.curve[-1][2] if o.curve else None)
        r2_ok = r2 is not None and r2 > -1e3
        ratio, lower = _default_ratio(outcomes[default_skl.name], o)
        rows.append([o.name, f"{o.eta0:g}", o.k if o.reached else "-", _fmt_s(o.seconds),
                     _fmt_s(o.median_seconds), _fmt_s(per_epoch), "-" if r2 is None else _fmt_r2(r2),
                     f"{opt - r2:+.1e}" if r2_ok else "-",
                     "-" if ratio is None else (">" if lower else "") + f"{ratio:.2f}x",
                     format_bytes(o.peak_bytes) if o.peak_bytes is not None else "-",
                     o.status if o.reached else
                     f"{o.status} (k<={len(o.curve)})"])
    log(f"### Results ({ds.name})")
    log()
    log(format_table(header, rows, "lrrrrrrrrrl"))
    log()
    if informative:
        log("The average=True rows are informative only (not SPEC P2 contenders): "
            "averaged SGD with otherwise default settings.")
    log(f"time-to-target = best of {args.repeats} timings of fit(max_iter=k) (input "
        "validation included, scoring excluded); ratios use it. 'median' is the median "
        "of the same timings.")
    log()

    log(f"sklearn eta0 grid ({ds.name}); pruned = stopped once one fit took longer "
        f"than {args.prune_factor:g}x the best time-to-target so far:")
    log()
    grid_rows = []
    for o in grid_outcomes:
        last = o.curve[-1] if o.curve else None
        grid_rows.append([f"{o.eta0:g}", o.k if o.reached else "-", _fmt_s(o.seconds),
                          f"{o.r2:.5f}" if o.reached else
                          (f"{_fmt_r2(last[2])} at k={last[0]}" if last else "-"),
                          o.status + (" (best)" if o is best else ""), o.error])
    log(format_table(["eta0", "k", "time (s)", "test R^2", "status", "note"], grid_rows,
                     "rrrrll"))
    log()

    log("R^2 gap to the optimum after k epochs (fresh fit each k; '.' = not run):")
    log()
    kmax = max([len(o.curve) for o in headline + informative] + [1])
    shown = [k for k in range(1, kmax + 1) if k <= 10 or k % 5 == 0 or k == kmax]
    curve_rows = []
    for o in headline + informative:
        by_k = {k: r2 for k, _, r2 in o.curve}
        curve_rows.append([o.name] + [(f"{opt - by_k[k]:.1e}" if by_k[k] > -1e3 else "div")
                                      if k in by_k else "."
                                      for k in shown])
    log(format_table(["contender"] + [f"k={k}" for k in shown], curve_rows,
                     "l" + "r" * len(shown)))
    log()

    skl_out = outcomes[default_skl.name]
    r_default, r_lower = _default_ratio(skl_out, ref)
    r_tuned = _ratio(best.seconds if best else None, ref.seconds)
    log(f"### SPEC P2 check ({ds.name})")
    log()
    if r_default is None:
        log("- sklearn default / SGDRegressorPlus default: n/a "
            f"(sklearn {skl_out.status}, SGDRegressorPlus {ref.status})")
    elif r_lower:
        log(f"- sklearn default / SGDRegressorPlus default: more than {r_default:.2f}x "
            f"(target >= 3x): {'MET' if r_default >= 3 else 'undecided'} -- sklearn's "
            f"defaults never reached the target; its fit(max_iter={skl_out.curve[-1][0]}) "
            f"took {skl_out.curve[-1][1]:.2f} s and ended at a gap of "
            f"{opt - skl_out.curve[-1][2]:.1e}")
    else:
        log(f"- sklearn default / SGDRegressorPlus default: {r_default:.2f}x "
            f"(target >= 3x): {'MET' if r_default >= 3 else 'NOT MET'}")
    if r_tuned is None:
        log("- best-tuned sklearn / SGDRegressorPlus default: n/a")
    else:
        log(f"- best-tuned sklearn (eta0={best.eta0:g}) / SGDRegressorPlus default: "
            f"{r_tuned:.2f}x (target >= 1x): {'MET' if r_tuned >= 1 else 'NOT MET'}")
    if not args.no_adam:
        a = outcomes[contenders[2].name]
        ra, ra_lower = _default_ratio(skl_out, a)
        rt = _ratio(best.seconds if best else None, a.seconds)
        ra_text = "n/a" if ra is None else (">" if ra_lower else "") + f"{ra:.2f}x"
        log(f"- (adam) sklearn default / adam: {ra_text}; "
            f"best-tuned sklearn / adam: {'n/a' if rt is None else f'{rt:.2f}x'}")
    log()

    if args.profile and ref.curve:
        k = ref.k if ref.reached else len(ref.curve)
        plain, total, rows, lines = profile_fit(plus, ds, k)
        log(f"### Profile of SGDRegressorPlus (defaults) fit(max_iter={k}) ({ds.name})")
        log()
        log(f"unprofiled {plain:.3f} s; under cProfile {total:.3f} s (cProfile adds a "
            "per-call overhead, so Python-heavy parts look larger)")
        log()
        log(format_table(["phase", "calls", "cumulative (s)", "share"], rows, "lrrr"))
        log()
        log("```")
        for ln in lines:
            log(ln)
        log("```")
        log()
    return {"optimum": opt, "outcomes": headline, "grid": grid_outcomes,
            "ratio_default": r_default, "ratio_default_lower": r_lower,
            "ratio_tuned": r_tuned}


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--dense", dest="which", action="store_const", const="dense",
                       help="dense data only")
    which.add_argument("--sparse", dest="which", action="store_const", const="sparse",
                       help="sparse CSR data only")
    which.add_argument("--both", dest="which", action="store_const", const="both",
                       help="dense and sparse (default)")
    p.set_defaults(which="both")
    p.add_argument("--n-samples", type=int, default=None,
                   help="training rows (default 1,000,000; 20,000 with --quick)")
    p.add_argument("--n-features", type=int, default=None,
                   help="dense features (default 100; 20 with --quick)")
    p.add_argument("--sparse-features", type=int, default=None,
                   help="sparse features (default 1000; 200 with --quick)")
    p.add_argument("--density", type=float, default=0.01,
                   help="sparse density (default 0.01)")
    p.add_argument("--n-test", type=int, default=None,
                   help="test rows (default min(200,000, n_samples // 5))")
    p.add_argument("--rho", type=float, default=0.5,
                   help="AR(1) correlation of the dense features (default 0.5)")
    p.add_argument("--quick", action="store_true",
                   help="small sizes for a smoke run of a few seconds")
    p.add_argument("--gap", type=float, default=1e-3,
                   help="target: test R^2 >= optimum - gap (default 1e-3)")
    p.add_argument("--max-k", type=int, default=None,
                   help="largest max_iter tried (30; 10 with --quick)")
    p.add_argument("--repeats", type=int, default=None,
                   help="timings of the final fit, median reported (3; 1 with --quick)")
    p.add_argument("--eta0-grid", type=lambda s: [float(v) for v in s.split(",")],
                   default=list(DEFAULT_GRID),
                   help="comma-separated eta0 values for tuned sklearn "
                        f"(default {','.join(f'{v:g}' for v in DEFAULT_GRID)})")
    p.add_argument("--prune-factor", type=float, default=1.5,
                   help="stop a grid point once one fit exceeds this times the best "
                        "time-to-target so far (1.5)")
    p.add_argument("--max-fit-seconds", type=float, default=300.0,
                   help="give up on a contender once one fit takes longer (300)")
    p.add_argument("--max-scan-seconds", type=float, default=900.0,
                   help="stop a contender's k scan once it has taken longer (900)")
    p.add_argument("--no-adam", action="store_true", help="skip the adam contender")
    p.add_argument("--no-average", dest="average", action="store_false",
                   help="skip the informative average=True contenders")
    p.add_argument("--no-memory", dest="memory", action="store_false",
                   help="skip the peak-memory measurement")
    p.add_argument("--profile", action="store_true",
                   help="cProfile SGDRegressorPlus's fit and report where time goes")
    p.add_argument("--blas-threads", type=int, default=None,
                   help="limit BLAS/OpenMP threads (threadpoolctl); default: library's")
    p.add_argument("--seed", type=int, default=0)
    add_save_argument(p)
    p.add_argument("--output", type=str, default=None,
                   help="results file name under benchmarks/results/ "
                        "(default bench_sgd_cpu.txt, bench_sgd_cpu_quick.txt with --quick)")
    args = p.parse_args(argv)
    if args.quick:
        args.n_samples = args.n_samples or 20_000
        args.n_features = args.n_features or 20
        args.sparse_features = args.sparse_features or 200
        args.density = args.density if args.density != 0.01 else 0.05
        args.repeats = args.repeats or 1
        args.max_k = args.max_k or 10
    args.max_k = args.max_k or 30
    args.n_samples = args.n_samples or 1_000_000
    args.n_features = args.n_features or 100
    args.sparse_features = args.sparse_features or 1000
    args.repeats = args.repeats or 3
    args.n_test = args.n_test or min(200_000, max(1, args.n_samples // 5))
    suffix = "_quick" if args.quick else ""
    if args.which != "both":
        suffix = f"_{args.which}{suffix}"
    # The file written with --save; an explicit --output also asks for it.
    args.results_name = args.output or f"bench_sgd_cpu{suffix}.txt"
    return args


def main(argv=None):
    args = parse_args(argv)
    log = Report()
    prepare_run(args.blas_threads)
    report_header(log, "# P2: SGDRegressorPlus vs scikit-learn SGDRegressor, time to "
                  "target R^2", "bench_sgd.py", argv)
    log(f"method: fresh fit(max_iter=k, tol=None, random_state={args.seed}) for "
        f"k = 1..{args.max_k}; smallest k with test R^2 >= optimum - {args.gap:g}; "
        f"time = best of {args.repeats} wall-clock timings of that fit.")
    log()
    start = time.perf_counter()
    summaries = {}
    kinds = ["dense", "sparse"] if args.which == "both" else [args.which]
    for kind in kinds:
        if kind == "dense":
            ds = make_dense(args.n_samples, args.n_features, args.n_test, rho=args.rho,
                            seed=args.seed)
        else:
            ds = make_sparse(args.n_samples, args.sparse_features, args.density,
                             args.n_test, seed=args.seed)
        summaries[kind] = run_dataset(ds, args, log)
        del ds
        gc.collect()

    log("## Summary")
    log()
    rows = []
    for kind, s in summaries.items():
        o = {x.name: x for x in s["outcomes"]}
        skl = o.get("sklearn SGDRegressor (defaults)")
        plus = o.get("SGDRegressorPlus (defaults)")
        best = next((x for x in s["outcomes"] if x.name.startswith(
            "sklearn SGDRegressor (best")), None)
        rd, rt = s["ratio_default"], s["ratio_tuned"]
        rows.append([
            kind,
            f"{_fmt_s(skl.seconds)} (k={skl.k})" if skl.reached else
            f"not reached (k<={len(skl.curve)})",
            f"{_fmt_s(best.seconds)} (eta0={best.eta0:g}, k={best.k})" if best else "-",
            f"{_fmt_s(plus.seconds)} (k={plus.k})" if plus.reached else
            f"not reached (k<={len(plus.curve)})",
            "-" if rd is None else (
                f">{rd:.2f}x " + ("MET" if rd >= 3 else "undecided")
                if s["ratio_default_lower"] else
                f"{rd:.2f}x " + ("MET" if rd >= 3 else "NOT MET")),
            "-" if rt is None else f"{rt:.2f}x " + ("MET" if rt >= 1 else "NOT MET"),
        ])
    log(format_table(["data", "sklearn default (s)", "sklearn best eta0 (s)",
                      "SGDRegressorPlus (s)", "default/Plus (>=3x)", "tuned/Plus (>=1x)"],
                     rows, "lrrrrr"))
    log()
    log(f"total benchmark wall time: {time.perf_counter() - start:.0f} s")
    save_results(args, args.results_name, log.text())
    return summaries


if __name__ == "__main__":
    main()
