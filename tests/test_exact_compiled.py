"""The compiled exact mode against its Python loop (issue: batch_size=1 within
1.5x of scikit-learn's compiled loop).

``fit_exact`` runs its epochs in numba (``_exact_kernels.run_epoch``) when numba
is importable, else in the Python loop of ``_Replay``. Both must give the same
``ExactResult`` bit for bit (compared as bytes: -0.0 and NaN payloads
included) on every configuration: losses, penalties, learning rates,
averaging, dense and CSR, float32 and float64, sample and class weights, early
stopping, the rescaling of the scaled representation, continued fits; and the
same verbose output, callbacks and errors. The agreement of either path with
scikit-learn itself is tested by ``test_exact_mode.py`` and
``test_exact_classifier.py``.
"""

import dataclasses
import os
import re
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

from skoptim.linear_model import _exact
from skoptim.linear_model._exact import ExactResult, fit_exact

numba = pytest.importorskip("numba")

N_SAMPLES, N_FEATURES = 48, 6

BASE = {
    "loss": "squared_error", "penalty": "l2", "alpha": 1e-3, "l1_ratio": 0.15,
    "fit_intercept": True, "tol": None, "shuffle": True, "verbose": 0,
    "epsilon": 0.1, "learning_rate": "invscaling", "eta0": 0.01, "power_t": 0.25,
    "early_stopping": False, "validation_fraction": 0.2, "n_iter_no_change": 3,
    "average": 0,
}


def _regression_data(kind, dtype):
    X, y = make_regression(N_SAMPLES, N_FEATURES, n_informative=4, noise=5.0,
                           random_state=0)
    y = y / 50.0
    if kind == "csr":
        X = X.copy()
        X[np.abs(X) < 0.6] = 0.0
        X[[2, 11, 30]] = 0.0  # empty rows: the 'pa1' skip
        X = sp.csr_matrix(X)
    return X.astype(dtype), y.astype(dtype)


def _classification_data(kind, dtype):
    X, y = make_classification(N_SAMPLES, N_FEATURES, n_informative=3, n_redundant=0,
                               flip_y=0.05, weights=[0.6], random_state=0)
    if kind == "csr":
        X = X.copy()
        X[np.abs(X) < 0.5] = 0.0
        X[[5, 20]] = 0.0
        X = sp.csr_matrix(X)
    return X.astype(dtype), np.where(y == 1, 1.0, -1.0).astype(dtype)


def _fit(params, X, y, *, compiled, monkeypatch, sample_weight=None, max_iter=6,
         classification=False, **kw):
    monkeypatch.setattr(_exact, "_USE_COMPILED", compiled)
    dtype = X.dtype
    kw.setdefault("coef", np.zeros(X.shape[1], dtype))
    kw.setdefault("intercept", np.zeros(1, dtype))
    kw.setdefault("standard", None)
    kw.setdefault("t", 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit_exact(dict(BASE, **params), X, y, sample_weight, max_iter=max_iter,
                         incremental=False, random_state=0,
                         classification=classification, **kw)


def _same_bits(a, b, what):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, what
    assert a.tobytes() == b.tobytes(), f"{what}: {a!r} != {b!r}"


def _assert_identical(res_c, res_p):
    """Every field of two ExactResults, bit for bit."""
    for f in dataclasses.fields(ExactResult):
        a, b = getattr(res_c, f.name), getattr(res_p, f.name)
        if a is None or b is None:
            assert a is None and b is None, f.name
        elif f.name == "standard":
            assert a.keys() == b.keys()
            for key in a:
                _same_bits(a[key], b[key], f"standard[{key!r}]")
        else:
            assert type(a) is type(b), f.name
            _same_bits(a, b, f.name)


def _replay(params, X, y, *, compiled, monkeypatch, sample_weight=None, max_iter=6,
            classification=False, weight_pos=1.0, weight_neg=1.0):
    """``fit_exact``'s steps, keeping the replay's final state (the scalars
    and vectors before the result folds them) next to the result."""
    monkeypatch.setattr(_exact, "_USE_COMPILED", compiled)
    dtype = X.dtype
    replay = _exact._Replay(dict(BASE, **params), X, y, sample_weight, max_iter,
                            classification, weight_pos, weight_neg)
    assert (replay.kernels is not None) == compiled
    replay.draw(None, 0, None)
    replay.init_state(np.zeros(X.shape[1], dtype), np.zeros(1, dtype), None, 1.0)
    replay.run(None, None)
    state = {name: getattr(replay, name) for name in _exact._Replay._STATE}
    for name in ("w", "aw", "q", "order"):
        value = getattr(replay, name)
        state[name] = None if value is None else value.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return state, replay.result(incremental=False)


def _both(params, X, y, monkeypatch, **kw):
    """Both paths: the final state (every scalar and vector: norms, objective,
    L1 bookkeeping, ...) and every field of the result, bit for bit."""
    state_c, res_c = _replay(params, X, y, compiled=True, monkeypatch=monkeypatch, **kw)
    state_p, res_p = _replay(params, X, y, compiled=False, monkeypatch=monkeypatch,
                             **kw)
    assert state_c.keys() == state_p.keys()
    for name in state_c:
        if state_c[name] is None or state_p[name] is None:
            assert state_c[name] is None and state_p[name] is None, name
        else:
            assert type(state_c[name]) is type(state_p[name]), name
            _same_bits(state_c[name], state_p[name], name)
    _assert_identical(res_c, res_p)
    return res_c


def test_compiled_is_the_default():
    assert _exact._USE_COMPILED
    assert _exact._compiled_kernels() is not None


REGRESSION = [
    {},
    {"loss": "huber", "penalty": "elasticnet", "learning_rate": "optimal"},
    {"loss": "epsilon_insensitive", "penalty": "l1", "learning_rate": "constant"},
    {"loss": "squared_epsilon_insensitive", "penalty": None, "average": 10},
    {"loss": "epsilon_insensitive", "learning_rate": "pa1", "eta0": 0.5},
    {"loss": "squared_epsilon_insensitive", "learning_rate": "pa2", "eta0": 0.01},
    {"penalty": "elasticnet", "l1_ratio": 0.4, "average": 1, "fit_intercept": False},
    {"learning_rate": "adaptive", "tol": 1e-1, "n_iter_no_change": 1, "eta0": 0.05},
    {"tol": 1e-3, "n_iter_no_change": 2, "shuffle": False},
    {"early_stopping": True, "tol": 1e-4, "learning_rate": "optimal"},
    {"early_stopping": True, "average": 20, "penalty": "l1"},
    # L2 decay of 0.75 per sample: the scale folds into w (and the average)
    {"learning_rate": "constant", "eta0": 0.5, "alpha": 1.0, "average": 5},
    {"learning_rate": "constant", "eta0": 0.5, "alpha": 1.0, "penalty": "elasticnet"},
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["dense", "csr"])
@pytest.mark.parametrize("params", REGRESSION, ids=lambda p: ",".join(
    f"{k}={v}" for k, v in p.items()) or "defaults")
def test_regression_identical(params, kind, dtype, monkeypatch):
    X, y = _regression_data(kind, dtype)
    _both(params, X, y, monkeypatch)


@pytest.mark.parametrize("kind", ["dense", "csr"])
def test_64_bit_indices_identical(kind, monkeypatch):
    """The compiled loop's 64-bit index version (for more than 2**31 - 1
    features or non-zeros, forced here) and int64 CSR input."""
    X, y = _regression_data(kind, np.float64)
    if kind == "csr":
        X = X.copy()
        X.indices, X.indptr = X.indices.astype(np.int64), X.indptr.astype(np.int64)
    params = {"average": 5, "penalty": "elasticnet", "learning_rate": "optimal"}
    res_32 = _both(params, X, y, monkeypatch)
    monkeypatch.setattr(_exact, "_INDEX32_MAX", 0)
    res_64 = _both(params, X, y, monkeypatch)
    _assert_identical(res_32, res_64)
    from skoptim.linear_model import _exact_kernels

    index_types = {str(sig[1].dtype) for sig in _exact_kernels.run_epoch.signatures}
    assert {"int32", "int64"} <= index_types


@pytest.mark.parametrize("kind", ["dense", "csr"])
def test_sample_weight_identical(kind, monkeypatch):
    X, y = _regression_data(kind, np.float32)
    sw = np.random.RandomState(1).uniform(0.0, 2.0, N_SAMPLES).astype(np.float32)
    _both({"average": 7, "penalty": "elasticnet"}, X, y, monkeypatch,
          sample_weight=sw)


CLASSIFICATION = [
    {"loss": "hinge", "learning_rate": "optimal"},
    {"loss": "perceptron", "penalty": "elasticnet", "learning_rate": "optimal"},
    {"loss": "log_loss", "learning_rate": "optimal", "average": 10},
    {"loss": "modified_huber", "learning_rate": "invscaling", "penalty": "l1"},
    {"loss": "squared_hinge", "learning_rate": "constant", "eta0": 0.05},
    {"loss": "huber", "learning_rate": "optimal"},
    {"loss": "hinge", "learning_rate": "pa1", "eta0": 0.5},
    {"loss": "hinge", "learning_rate": "pa2", "eta0": 0.5},
    {"loss": "log_loss", "early_stopping": True, "tol": 1e-3},
    {"loss": "hinge", "early_stopping": True, "learning_rate": "adaptive",
     "tol": 1e-1, "n_iter_no_change": 1, "eta0": 0.1},
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["dense", "csr"])
@pytest.mark.parametrize("params", CLASSIFICATION, ids=lambda p: ",".join(
    f"{k}={v}" for k, v in p.items()))
def test_classification_identical(params, kind, dtype, monkeypatch):
    X, y = _classification_data(kind, dtype)
    _both(params, X, y, monkeypatch, classification=True, weight_pos=1.7,
          weight_neg=0.6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_continued_fit_identical(dtype, monkeypatch):
    """A second call from the first one's state (partial_fit's path)."""
    X, y = _regression_data("dense", dtype)
    params = {"average": 30, "penalty": "elasticnet"}
    results = []
    for compiled in (True, False):
        first = _fit(params, X, y, compiled=compiled, monkeypatch=monkeypatch,
                     max_iter=1)
        second = _fit(params, X, y, compiled=compiled, monkeypatch=monkeypatch,
                      max_iter=1, standard=first.standard, t=first.t,
                      coef=first.coef, intercept=first.intercept)
        results.append(second)
    _assert_identical(*results)


def test_verbose_and_callback_identical(monkeypatch, capsys):
    X, y = _regression_data("csr", np.float64)
    params = {"verbose": 1, "early_stopping": True, "tol": 1e-3, "average": 10}
    outputs, calls = [], []
    for compiled in (True, False):
        seen = []

        def on_epoch_end(epoch, coef, intercept, score, seen=seen):
            seen.append((epoch, coef, intercept, score))
            return epoch == 3

        res = _fit(params, X, y, compiled=compiled, monkeypatch=monkeypatch,
                   on_epoch_end=on_epoch_end)
        out = capsys.readouterr().out
        outputs.append(re.sub(r"\d+\.\d+ seconds", "_ seconds", out))
        calls.append(seen)
        assert res.n_iter == 4
    assert outputs[0] == outputs[1]
    assert "-- Epoch 4" in outputs[0] and "Norm:" in outputs[0]
    assert len(calls[0]) == len(calls[1]) == 4
    for a, b in zip(*calls):
        assert a[0] == b[0] and a[3] == b[3]
        _same_bits(a[1], b[1], "callback coef")
        _same_bits(a[2], b[2], "callback intercept")


def test_overflow_raises_on_both_paths(monkeypatch):
    X, y = _regression_data("dense", np.float64)
    params = {"learning_rate": "constant", "eta0": 10.0, "penalty": None}
    messages = []
    for compiled in (True, False):
        with pytest.raises(ValueError, match="under-/overflow") as info:
            _fit(params, X * 1e160, y, compiled=compiled, monkeypatch=monkeypatch)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_python_loop_without_numba(monkeypatch):
    """If numba cannot be imported, the Python loop runs (same numbers)."""
    X, y = _regression_data("csr", np.float32)
    params = {"average": 5, "penalty": "elasticnet", "learning_rate": "optimal"}
    compiled = _fit(params, X, y, compiled=True, monkeypatch=monkeypatch)
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba -> ImportError
    monkeypatch.setattr(_exact, "_KERNELS", None)
    assert _exact._compiled_kernels() is None
    replay = _exact._Replay(dict(BASE, **params), X, y, None, 2, False, 1.0, 1.0)
    assert replay.kernels is None
    fallback = _fit(params, X, y, compiled=True, monkeypatch=monkeypatch)
    _assert_identical(compiled, fallback)


def test_environment_switch():
    """``SKOPTIM_EXACT_COMPILED=0`` selects the Python loop at import."""
    code = ("from skoptim.linear_model import _exact; "
            "print(_exact._USE_COMPILED, _exact._compiled_kernels())")
    env = dict(os.environ, SKOPTIM_EXACT_COMPILED="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout
    assert out.split() == ["False", "None"]


def test_no_fused_multiply_add(tmp_path):
    """The compiled functions carry no fast-math flag and no FMA instruction
    (a fresh compilation in a subprocess, so that the assembly is there)."""
    code = textwrap.dedent("""
        import re, warnings
        import numpy as np
        from numba.core.registry import CPUDispatcher
        from skoptim.linear_model import _exact, _exact_kernels as k
        warnings.simplefilter("ignore")
        rng = np.random.RandomState(0)
        params = dict(loss="log_loss", penalty="elasticnet", alpha=1e-3,
                      l1_ratio=0.3, fit_intercept=True, tol=None, shuffle=True,
                      verbose=0, epsilon=0.1, learning_rate="invscaling", eta0=0.5,
                      power_t=0.25, early_stopping=False, validation_fraction=0.1,
                      n_iter_no_change=5, average=3)
        for dtype in (np.float64, np.float32):
            X = rng.randn(30, 4).astype(dtype)
            y = np.where(rng.rand(30) > 0.5, 1.0, -1.0).astype(dtype)
            _exact.fit_exact(params, X, y, None, coef=np.zeros(4, dtype),
                             intercept=np.zeros(1, dtype), standard=None, t=1.0,
                             max_iter=2, incremental=False, random_state=0,
                             classification=True)
        n = 0
        for name in dir(k):
            f = getattr(k, name)
            if not isinstance(f, CPUDispatcher):
                continue
            for sig in f.signatures:
                asm = f.inspect_asm(sig)
                ir = f.inspect_llvm(sig)
                assert not re.search(r"vfn?m(add|sub)", asm), name
                assert not re.search(r"= f(add|sub|mul|div) (fast|contract|reassoc)",
                                     ir), name
                assert "fmuladd" not in ir, name
                n += 1
        print(n)
    """)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[-1]) >= 4
