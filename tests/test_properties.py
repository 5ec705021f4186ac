"""Property-based tests of the input contract (issue #9, SPEC section 7).

For any generated input and hyperparameters, valid or invalid, every method of
``SGDRegressorPlus`` and ``MLPClassifierPlus`` (``fit``, ``partial_fit`` --
with ``classes=`` for the classifier --, ``predict``, ``score``,
``predict_proba`` and ``predict_log_proba``) either

- raises a ``ValueError`` or ``TypeError`` (scikit-learn's
  ``InvalidParameterError`` and ``NotFittedError`` are ``ValueError``
  subclasses) whose message names the offending argument, or
- returns a model whose fitted parameters (``coef_``/``intercept_``,
  ``coefs_``/``intercepts_``) and predictions are finite, of the right shape,
  and of the right dtype: float32 input gives float32 weights and
  predictions, float64 input float64, integers, booleans, objects and lists
  float64.

Any other exception (``IndexError``, ``KeyError``, ``ZeroDivisionError``,
``AttributeError``, a ``FloatingPointError`` that is not a ``ValueError``, a
``RuntimeWarning`` of skoptim turned into an error, ...) breaks the contract,
and so does accepting an input that is invalid (a NaN in ``X``, a negative
class weight, ...) without raising. A fit or ``partial_fit`` that fails leaves
an already fitted estimator exactly as it was.

How the tests know what to expect: every generated case carries the list of
its *defects*, each with the words an error about it may use (``X``,
``sample_weight``, the name of a hyperparameter, ...) and whether it must
raise (``bad``: a NaN in ``y``, ``alpha=-1``) or may either raise or succeed
(``edge``: ``X`` around ``1e300``, ``eta0=1e308``). An error must name one of
the defects of its case, or, when the case has none, at least one argument of
the method or of the estimator.

Profiles: ``SKOPTIM_HYPOTHESIS_PROFILE=ci`` (the default: a fixed seed, a
couple of minutes for the whole file on a 2-core machine) or ``thorough``
(many more random examples). They apply to this module only.
"""

import copy
import dataclasses
import math
import os
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st
from sklearn.exceptions import (
    ConvergenceWarning,
    DataConversionWarning,
    UndefinedMetricWarning,
)
from threadpoolctl import threadpool_limits

from skoptim import MLPClassifierPlus, SGDRegressorPlus
from skoptim.optim import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    Adaptive,
    Constant,
    CosineDecay,
    ExponentialDecay,
    InverseTimeDecay,
    InvScaling,
    Lion,
    Momentum,
    Nadam,
    Optimal,
    ReduceOnPlateau,
    RMSprop,
    StepDecay,
)

# -- hypothesis profiles (this module only) ---------------------------------

_SUPPRESSED = [HealthCheck.too_slow, HealthCheck.data_too_large,
               HealthCheck.filter_too_much]
# "ci": a fixed seed; one failure per test, shrunk (shrinking several distinct
# failures of one test at a time can take minutes).
settings.register_profile(
    "ci", derandomize=True, database=None, max_examples=300, deadline=None,
    suppress_health_check=_SUPPRESSED, print_blob=True, report_multiple_bugs=False,
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
)
settings.register_profile(
    "thorough", max_examples=2000, deadline=None,
    suppress_health_check=_SUPPRESSED, print_blob=True,
)
_PROFILE = settings.get_profile(os.environ.get("SKOPTIM_HYPOTHESIS_PROFILE", "ci"))


def _settings(weight=1.0, suppress=()):
    """The chosen profile, with ``weight`` times its number of examples."""
    return settings(
        _PROFILE,
        max_examples=max(1, int(round(_PROFILE.max_examples * weight))),
        suppress_health_check=[*_PROFILE.suppress_health_check, *suppress],
    )


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # Tiny matrices on a shared 2-core machine: BLAS threads only add contention.
    with threadpool_limits(limits=1, user_api="blas"):
        yield


# -- what a case expects --------------------------------------------------------

BAD, EDGE = "bad", "edge"


@dataclasses.dataclass(frozen=True)
class Defect:
    """Something wrong (``bad``: must raise) or extreme (``edge``: may raise)
    about a case, and the words an error about it may use."""

    what: str
    status: str
    names: tuple


@dataclasses.dataclass
class Data:
    """A generated ``X`` (or ``y``) as it is passed, with what it stands for."""

    value: object
    n: int
    d: int
    dtype: type  # the float dtype that fitted weights and predictions must have
    defects: list
    desc: str


X_WORDS = ("X", "input", "array")
Y_WORDS = ("y", "target", "label")
SW_WORDS = ("sample_weight",)
CW_WORDS = ("class_weight",)
# Every argument of the methods; with the estimator's parameters, what an
# error of a case without known defect must name one of.
METHOD_ARGS = ("X", "y", "sample_weight", "classes", "class_weight", "X_val", "y_val",
               "sample_weight_val", "coef_init", "intercept_init")


def _mentions(message, names):
    """Whether ``message`` names one of ``names``: ``X`` and ``y`` as words
    (case-sensitive), anything else case-insensitively, ``_`` or space."""
    low = message.lower()
    for name in names:
        if name in ("X", "y"):
            if re.search(rf"(?<![A-Za-z0-9_]){name}(?![A-Za-z0-9_])", message):
                return True
        elif name.lower() in low or name.lower().replace("_", " ") in low:
            return True
    return False


class _Expect:
    """The defects of one call, and the names an error of it must use."""

    def __init__(self, defects, fallback):
        self.defects = [d for d in defects if d is not None]
        self.must_raise = any(d.status == BAD for d in self.defects)
        names = [n for d in self.defects for n in d.names]
        self.names = tuple(dict.fromkeys(names)) if names else tuple(fallback)

    def __repr__(self):
        return f"_Expect(must_raise={self.must_raise}, defects={self.defects})"


def _fallback_names(est):
    return (*METHOD_ARGS, *est.get_params(deep=False))


class _Rules(warnings.catch_warnings):
    """Warnings that the contract allows are silenced; a RuntimeWarning issued
    by skoptim is an error (as in the project's pytest configuration). Those
    of scikit-learn's and NumPy's own code (its finiteness check of an X
    holding inf, an R² of huge predictions) are not skoptim's: silenced."""

    def __enter__(self):
        out = super().__enter__()
        for category in (ConvergenceWarning, DataConversionWarning,
                         UndefinedMetricWarning, FutureWarning, UserWarning,
                         RuntimeWarning):
            warnings.simplefilter("ignore", category)
        warnings.filterwarnings("error", category=RuntimeWarning, module=r"skoptim")
        return out


def attempt(what, fn, *args, expect, **kwargs):
    """Call ``fn``; return ``(result, None)`` on success or ``(None, exc)`` for
    an error that the contract allows. Anything else fails the test."""
    with _Rules():
        try:
            out = fn(*args, **kwargs)
        except (ValueError, TypeError) as exc:
            message = str(exc)
            event(f"{what}: {type(exc).__name__}")
            if not _mentions(message, expect.names):
                raise AssertionError(
                    f"{what} raised {type(exc).__name__} whose message names none of "
                    f"{list(expect.names)}: {message!r} ({expect})"
                ) from exc
            return None, exc
        except Exception as exc:  # RuntimeWarning-as-error included
            raise AssertionError(
                f"{what} raised {type(exc).__name__} (neither ValueError nor "
                f"TypeError): {exc!r} ({expect})"
            ) from exc
    event(f"{what}: ok")
    if expect.must_raise:
        raise AssertionError(
            f"{what} accepted invalid input without raising: {expect}"
        )
    return out, None


# -- checks of a fitted model and of its predictions ------------------------------

def _assert_array(a, *, shape, dtype, what):
    assert isinstance(a, np.ndarray), f"{what} is a {type(a).__name__}, not an ndarray"
    assert a.shape == shape, f"{what} has shape {a.shape}, expected {shape}"
    assert a.dtype == dtype, f"{what} has dtype {a.dtype}, expected {np.dtype(dtype)}"
    assert np.all(np.isfinite(a)), f"{what} is not finite: {a!r}"


def check_regressor(est, *, n_features, n_targets, dtype):
    """``coef_``/``intercept_`` finite, shaped for ``n_targets`` (None: 1-D y)."""
    assert est.n_features_in_ == n_features, f"n_features_in_ = {est.n_features_in_}"
    if n_targets is None:
        _assert_array(est.coef_, shape=(n_features,), dtype=dtype, what="coef_")
        _assert_array(est.intercept_, shape=(1,), dtype=dtype, what="intercept_")
    else:
        _assert_array(est.coef_, shape=(n_targets, n_features), dtype=dtype, what="coef_")
        _assert_array(est.intercept_, shape=(n_targets,), dtype=dtype, what="intercept_")


def check_regression_predictions(pred, *, n, n_targets, dtype):
    shape = (n,) if n_targets is None else (n, n_targets)
    _assert_array(pred, shape=shape, dtype=dtype, what="predict(X)")


def _hidden_of(est):
    sizes = est.hidden_layer_sizes
    return [int(s) for s in (sizes if hasattr(sizes, "__iter__") else [sizes])]


def check_classifier(est, *, n_features, dtype):
    """``coefs_``/``intercepts_`` finite, chained from ``n_features`` through the
    current ``hidden_layer_sizes`` to ``n_outputs_``."""
    assert est.n_features_in_ == n_features, f"n_features_in_ = {est.n_features_in_}"
    sizes = [n_features, *_hidden_of(est), est.n_outputs_]
    assert len(est.coefs_) == len(sizes) - 1, (
        f"{len(est.coefs_)} weight matrices for layer sizes {sizes}")
    assert len(est.intercepts_) == len(sizes) - 1, f"{len(est.intercepts_)} intercepts"
    for i, (W, b) in enumerate(zip(est.coefs_, est.intercepts_)):
        _assert_array(W, shape=(sizes[i], sizes[i + 1]), dtype=dtype, what=f"coefs_[{i}]")
        _assert_array(b, shape=(sizes[i + 1],), dtype=dtype, what=f"intercepts_[{i}]")


def check_classifier_methods(est, X, n, *, dtype, expect, y=None):
    """predict, predict_proba, predict_log_proba and score on ``X``."""
    classes = est.classes_
    multilabel = est._label_binarizer.y_type_ == "multilabel-indicator"
    pred, exc = attempt("predict", est.predict, X, expect=expect)
    if exc is None:
        if multilabel:
            assert pred.shape == (n, len(classes)), f"predict(X) has shape {pred.shape}"
            assert np.isin(pred, [0, 1]).all(), f"predict(X) is not an indicator: {pred}"
        else:
            assert pred.shape == (n,), f"predict(X) has shape {pred.shape}"
            assert np.isin(pred, classes).all(), f"predict(X) = {pred} not in {classes}"
    for method in ("predict_proba", "predict_log_proba"):
        out, exc = attempt(method, getattr(est, method), X, expect=expect)
        if exc is not None:
            continue
        _assert_array(out, shape=(n, len(classes)), dtype=out.dtype, what=f"{method}(X)")
        assert out.dtype in (dtype, est.coefs_[0].dtype), f"{method} dtype {out.dtype}"
        proba = out if method == "predict_proba" else np.exp(out)
        assert np.all((proba >= 0) & (proba <= 1)), f"{method} outside [0, 1]: {out}"
        if not multilabel and n:
            np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-3,
                                       err_msg=f"{method} rows do not sum to 1")
    if y is not None:
        score, exc = attempt("score", est.score, X, y, expect=expect)
        if exc is None:
            assert 0.0 <= score <= 1.0, f"score = {score}"


def check_fitted_model(kind, est, X_new, n_new, *, n_features, n_targets, dtype, y=None):
    """A fitted model's parameters, then its predictions on ``X_new``, honour
    the contract (a prediction may still fail with a named error)."""
    after = _Expect([], _fallback_names(est))
    if kind == "sgd":
        check_regressor(est, n_features=n_features, n_targets=n_targets, dtype=dtype)
        pred, exc = attempt("predict", est.predict, X_new, expect=after)
        if exc is None:
            check_regression_predictions(pred, n=n_new, n_targets=n_targets, dtype=dtype)
    else:
        check_classifier(est, n_features=n_features, dtype=dtype)
        check_classifier_methods(est, X_new, n_new, dtype=dtype, expect=after, y=y)


# -- generated inputs ---------------------------------------------------------------

KINDS = ("float64", "float64", "float32", "float32", "int", "bool", "object", "complex")
DENSE = ("ndarray", "ndarray", "list", "dataframe", "dataframe_mixed")
SPARSE = {
    "csr": sp.csr_matrix, "csc": sp.csc_matrix, "coo": sp.coo_matrix,
    "csr_array": sp.csr_array, "csc_array": sp.csc_array, "coo_array": sp.coo_array,
}
CONTAINERS = (*DENSE, *SPARSE)


# A fit that diverges names the learning rate: acceptable for extreme data.
LR_NAMES = ("eta0", "learning_rate_init", "diverge")


def _all_finite(arr):
    if arr.dtype == object:
        return all(v is not None and np.isfinite(v) for v in arr.ravel())
    return arr.dtype.kind not in "fc" or bool(np.all(np.isfinite(arr)))


def _one_in(draw, k):
    """True about once in ``k`` draws. (Hypothesis favours the ends of a range,
    so the middle value is the one that stands for the rare branch.)"""
    return draw(st.integers(0, k - 1)) == k // 2


def _columns(d):
    return [f"f{j}" for j in range(d)]


X_PROBLEMS = ("magnitude", "magnitude", "nonfinite", "nonfinite", "empty", "complex",
              "several")
EXTREMES = (1e-300, 1e-30, 1e20, 1e150, 1e300)


@st.composite
def features(draw, n=None, d=None, *, defects=True, kinds=KINDS,
             containers=CONTAINERS, columns=None, problem=None):
    """``X`` of any kind: dense, list, DataFrame (string column names, maybe
    of mixed dtypes) or any sparse format, float64/float32/int/bool/object.
    With ``defects``, one problem (or several): extreme magnitudes (1e-300 to
    1e300, ints up to 1e18), NaN/inf/None anywhere, no rows or no columns,
    complex values. ``problem="magnitude"`` gives finite extreme values only
    (float32 up to 1e20)."""
    finite = problem is not None
    if problem is None:
        problem = draw(st.sampled_from(X_PROBLEMS)) if defects else None
    several = problem == "several"
    if n is None:
        n = draw(st.integers(2, 40))
        if problem == "empty" and draw(st.booleans()) or several and _one_in(draw, 10):
            n = 0
    if d is None:
        d = draw(st.integers(1, 6))
        if problem == "empty" and n and draw(st.booleans()) or several and _one_in(draw, 10):
            d = 0
    container = draw(st.sampled_from(containers))
    sparse = container in SPARSE
    if problem == "complex":
        kind = "complex"
    else:
        kind = draw(st.sampled_from([k for k in kinds if not (sparse and k == "object")
                                     and (several or k != "complex")]))
    if container == "dataframe_mixed":
        kind = "float32"
    magnitude = 1.0
    if problem == "magnitude" or several and draw(st.booleans()):
        magnitude = draw(st.sampled_from(
            [m for m in EXTREMES if not (finite and kind == "float32" and m > 3e38)]))
    nonfinite = None
    if (problem == "nonfinite" or several and draw(st.booleans())) and n and d:
        nonfinite = draw(st.sampled_from(("nan", "inf", "-inf", "none")))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    base = np.round(rng.standard_normal((n, d)), 2)
    if sparse or draw(st.booleans()):
        base[rng.random((n, d)) < 0.5] = 0.0
    found = []
    with np.errstate(over="ignore"):
        if kind == "float64":
            arr = base * magnitude
        elif kind == "float32":
            arr = (base * magnitude).astype(np.float32)
        elif kind == "int":
            scale = 10 ** 18 if magnitude >= 1e20 else 10 ** 9 if magnitude > 1 else 1
            arr = rng.integers(-3, 4, (n, d)) * scale
            magnitude = float(scale)
        elif kind == "bool":
            arr = rng.random((n, d)) < 0.5
            magnitude = 1.0
        elif kind == "object":
            arr = (base * magnitude).astype(object)
            if n and d:
                arr[0, 0] = int(rng.integers(-3, 4))  # Python ints among floats
        else:  # complex
            arr = (base * magnitude).astype(np.complex128)
            if draw(st.booleans()):
                arr = arr + 1j * np.round(rng.standard_normal((n, d)), 2)
    mixed = container == "dataframe_mixed"
    if nonfinite is not None and kind in ("float64", "float32", "object", "complex"):
        i = draw(st.integers(0, n - 1))
        j = 0 if mixed else draw(st.integers(0, d - 1))
        value = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf, "none": np.nan}[nonfinite]
        arr[i, j] = None if (nonfinite == "none" and kind == "object") else value
    dtype = np.float32 if kind == "float32" and container != "list" else np.float64
    if mixed and d:
        frame = pd.DataFrame(arr, columns=columns or _columns(d))
        for j in range(1, d):
            other = draw(st.sampled_from(("float32", "int8", "bool", "float64")))
            column = np.round(rng.standard_normal(n))
            frame[frame.columns[j]] = column > 0 if other == "bool" else column.astype(other)
        result = np.result_type(*frame.dtypes)
        dtype = np.float32 if result == np.float32 else np.float64
        value = frame
    elif container in ("dataframe", "dataframe_mixed"):
        value = pd.DataFrame(arr, columns=columns or _columns(d))
    elif container == "list":
        value = arr.tolist()
    elif sparse:
        value = SPARSE[container](arr)
    else:
        value = arr
    if not _all_finite(arr[:, :1] if mixed else arr):
        found.append(Defect(f"X holds {nonfinite or 'inf (overflow)'}", BAD,
                            (*X_WORDS, "nan", "infinity")))
    if n == 0:
        found.append(Defect("X has no rows", BAD, (*X_WORDS, "sample")))
    if d == 0:
        found.append(Defect("X has no columns", BAD, (*X_WORDS, "feature")))
    if kind == "complex":
        found.append(Defect("complex X", BAD, (*X_WORDS, "complex")))
    if magnitude >= 1e18 or 0 < magnitude <= 1e-30:
        found.append(Defect(f"X of magnitude {magnitude:g}", EDGE,
                            (*X_WORDS, "overflow", "large", "scale", *LR_NAMES)))
    desc = f"X: {container} {kind} {n}x{d} magnitude={magnitude:g} nonfinite={nonfinite}"
    return Data(value, n, d, dtype, found, desc)


Y_PROBLEMS = ("length", "nonfinite", "nonfinite", "magnitude", "magnitude", "strings",
              "several")


@st.composite
def regression_targets(draw, n, *, defects=True):
    """``y`` for the regressor: 1-D, a column, or 2-D multi-output, float64,
    float32, int or a list. With ``defects``, one problem (or several): NaN or
    inf, magnitudes 1e20/1e300, strings, a wrong length."""
    problem = draw(st.sampled_from(Y_PROBLEMS)) if defects else None
    several = problem == "several"
    shape = draw(st.sampled_from(("1d", "1d", "column", "2d")))
    k = draw(st.integers(2, 3)) if shape == "2d" else 1
    rows = n
    found = []
    if problem == "length" or several and _one_in(draw, 4):
        rows = max(0, n + draw(st.sampled_from((-1, 1))))
        if rows != n:
            found.append(Defect("y of another length", BAD,
                                (*Y_WORDS, "X", "inconsistent", "sample")))
    kinds = ("float64", "float32", "int", "list")
    kind = "str" if problem == "strings" else draw(st.sampled_from(kinds))
    magnitude = 1.0
    if problem == "magnitude" or several and draw(st.booleans()):
        magnitude = draw(st.sampled_from((1e20, 1e300)))
        if kind == "int":
            kind = "float64"
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    y = np.round(rng.standard_normal((rows, k)), 2) * magnitude
    nonfinite = None
    if (problem == "nonfinite" or several and draw(st.booleans())) and rows:
        nonfinite = draw(st.sampled_from(("nan", "inf", "-inf")))
        if kind == "int":
            kind = "float64"
        y[draw(st.integers(0, rows - 1)), draw(st.integers(0, k - 1))] = float(nonfinite)
        found.append(Defect(f"y holds {nonfinite}", BAD, (*Y_WORDS, "nan", "infinity")))
    if magnitude > 1:
        found.append(Defect(f"y of magnitude {magnitude:g}", EDGE,
                            (*Y_WORDS, "overflow", "large", "infinity", *LR_NAMES)))
    if kind == "float32":
        with np.errstate(over="ignore"):
            y = y.astype(np.float32)
        if nonfinite is None and not np.all(np.isfinite(y)):
            found.append(Defect("y overflows float32", BAD, (*Y_WORDS, "nan", "infinity")))
    elif kind == "int":
        y = np.round(y).astype(np.int64)
    elif kind == "str":
        y = np.array([[f"v{v:.1f}" for v in row] for row in y], dtype=str).reshape(rows, k)
        found.append(Defect("y of strings", BAD, Y_WORDS))
    if shape == "1d":
        y = y[:, 0]
    if kind == "list":
        y = y.tolist()
    n_targets = None if shape != "2d" else k
    return Data(y, rows, k, None, found, f"y: {shape} {kind} rows={rows} k={k} "
                f"magnitude={magnitude:g} nonfinite={nonfinite}"), n_targets


LABELS = {
    "int": [0, 1, 2, 3],
    "int_other": [-1, 5, 7, 100],
    "str": ["a", "b", "c", "d"],
    "float": [0.0, 1.0, 2.0, 3.0],
}


@st.composite
def classification_targets(draw, n, *, defects=True):
    """``y`` for the classifier: 1, 2, 3+ classes of any label type, a column,
    a multilabel indicator matrix; invalid ones (continuous, NaN, mixed types,
    multiclass-multioutput, a wrong length). Returns ``(Data, classes)`` where
    ``classes`` are the sorted labels (None for multilabel and invalid y)."""
    valid = ("binary", "binary", "multiclass", "multiclass", "one", "multilabel",
             "column", "bool")
    invalid = ("continuous", "nan", "mixed", "multioutput", "length")
    target = draw(st.sampled_from(invalid if defects else valid))
    rows = n
    found = []
    if target == "length":
        target = draw(st.sampled_from(valid))
        rows = max(0, n + draw(st.sampled_from((-1, 1))))
        if rows != n:
            found.append(Defect("y of another length", BAD,
                                (*Y_WORDS, "X", "inconsistent", "sample")))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    labels = LABELS[draw(st.sampled_from(sorted(LABELS)))]
    classes = None
    if target in ("binary", "column", "multiclass", "one"):
        k = {"binary": 2, "column": 2, "one": 1}.get(target) or draw(st.integers(3, 4))
        pool = np.array(labels[:k])
        y = pool[rng.integers(0, k, rows)]
        if rows >= k:  # every class present
            y[:k] = pool
        classes = np.unique(y) if rows else pool
        if target == "column":
            y = y.reshape(-1, 1)
    elif target == "bool":
        y = rng.random(rows) < 0.5
        classes = np.unique(y) if rows else np.array([False, True])
    elif target == "multilabel":
        k = draw(st.integers(2, 4))
        y = (rng.random((rows, k)) < 0.5).astype(int)
    elif target == "continuous":
        y = rng.standard_normal(rows) + 0.5
        found.append(Defect("continuous y", BAD, (*Y_WORDS, "continuous", "class")))
    elif target == "nan":
        y = rng.integers(0, 2, rows).astype(float)
        if rows:
            y[draw(st.integers(0, rows - 1))] = np.nan
        found.append(Defect("y holds NaN", BAD, (*Y_WORDS, "nan")))
    elif target == "mixed":
        y = np.array([0, "a"] * (rows // 2) + [0] * (rows % 2), dtype=object)
        found.append(Defect("y mixes strings and numbers", BAD, (*Y_WORDS, "mix")))
    else:  # multiclass-multioutput
        y = rng.integers(0, 3, (rows, 3))
        if rows:
            y[0] = [0, 1, 2]  # three values: not a multilabel indicator
        found.append(Defect("multiclass-multioutput y", BAD,
                            (*Y_WORDS, "multioutput", "multiclass")))
    if draw(st.booleans()) and target not in ("mixed",):
        y = y.tolist()
    return Data(y, rows, None, None, found, f"y: {target} rows={rows} labels={labels}"), \
        classes


@st.composite
def sample_weights(draw, n, *, defects=True, kinds=None):
    """None, positive/integer/list/scalar weights with some zeros, or (with
    ``defects``) all zeros, negative, NaN, inf, huge, tiny, wrong length, 2-D,
    strings; or one of ``kinds``."""
    valid = ("none", "none", "positive", "integer", "some_zeros", "list", "scalar")
    invalid = ("all_zeros", "negative", "nan", "inf", "huge", "tiny", "wrong_length",
               "two_d", "string")
    kind = draw(st.sampled_from(kinds or (invalid if defects else valid)))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    sw = np.round(rng.uniform(0.5, 2.0, n), 2)
    found = []
    if kind == "none":
        return None, []
    if kind == "positive":
        pass
    elif kind == "integer":
        sw = rng.integers(1, 4, n)
    elif kind == "some_zeros":
        sw[rng.random(n) < 0.3] = 0.0
        if n and not np.any(sw > 0):
            found.append(Defect("sample_weight all zero", BAD, SW_WORDS))
    elif kind == "list":
        sw = sw.tolist()
    elif kind == "scalar":
        sw = 2.0
    elif kind == "all_zeros":
        sw = np.zeros(n)
        found.append(Defect("sample_weight all zero", BAD, SW_WORDS))
    elif kind in ("negative", "nan", "inf"):
        if n:
            sw[draw(st.integers(0, n - 1))] = {"negative": -1.0, "nan": np.nan,
                                               "inf": np.inf}[kind]
            found.append(Defect(f"sample_weight {kind}", BAD, SW_WORDS))
    elif kind == "huge":
        sw = sw * draw(st.sampled_from((1e300, 1e307)))
        found.append(Defect("sample_weight huge", EDGE,
                            (*SW_WORDS, "overflow", "large", *LR_NAMES)))
    elif kind == "tiny":
        sw = sw * draw(st.sampled_from((1e-300, 5e-324, 1e-30)))
        found.append(Defect("sample_weight tiny", EDGE, (*SW_WORDS, "small", *LR_NAMES)))
    elif kind == "wrong_length":
        sw = np.ones(n + 1)
        found.append(Defect("sample_weight of another length", BAD, SW_WORDS))
    elif kind == "two_d":
        sw = np.ones((n, 2))
        found.append(Defect("2-D sample_weight", BAD, SW_WORDS))
    else:
        sw = np.array(["a"] * n)
        found.append(Defect("sample_weight of strings", BAD, SW_WORDS))
    return sw, found


@st.composite
def class_weights(draw, classes, y_labels, sample_weight, *, defects=True):
    """None, 'balanced', dicts with valid values (zeros included) or (with
    ``defects``) negative, NaN, inf and string values, unknown keys, other
    types. ``y_labels`` are the training labels (to tell whether every row
    ends with weight zero)."""
    valid = ("none", "none", "balanced", "dict", "dict", "partial_dict", "zero")
    invalid = ("negative", "nan", "inf", "string", "all_zero", "unknown_key", "type")
    kind = draw(st.sampled_from(invalid if defects else valid))
    if kind == "none":
        return None, []
    if kind == "balanced":
        return "balanced", []
    if kind == "type":
        return draw(st.sampled_from(("auto", [1.0, 2.0], 3.0))), [
            Defect("class_weight of another type", BAD, CW_WORDS)]
    keys = [c.item() if hasattr(c, "item") else c for c in classes]
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    cw = {c: float(np.round(rng.uniform(0.1, 3.0), 2)) for c in keys}
    found = []
    if kind == "partial_dict" and keys:
        cw.pop(keys[-1])
    elif kind in ("zero", "negative", "nan", "inf", "string") and keys:
        bad_key = keys[draw(st.integers(0, len(keys) - 1))]
        cw[bad_key] = {"zero": 0.0, "negative": -1.0, "nan": np.nan, "inf": np.inf,
                       "string": "a"}[kind]
        if kind != "zero":
            found.append(Defect(f"class_weight {kind}", BAD, CW_WORDS))
    elif kind == "all_zero":
        cw = {c: 0.0 for c in keys}
        found.append(Defect("class_weight all zero", BAD, (*CW_WORDS, *SW_WORDS)))
    elif kind == "unknown_key":
        cw["zz" if not keys or isinstance(keys[0], str) else 999] = 1.0
        if len(cw) > 1:
            cw.pop(keys[0])
        found.append(Defect("class_weight with an unknown class", EDGE, CW_WORDS))
    if kind == "zero" and y_labels is not None:
        # Every row with weight zero: no data left.
        per_row = np.array([cw.get(v.item() if hasattr(v, "item") else v, 1.0)
                            for v in np.asarray(y_labels, dtype=object).ravel()])
        try:
            sw = 1.0 if sample_weight is None else np.asarray(sample_weight, dtype=float)
            if np.ndim(sw) and np.shape(sw) != per_row.shape:
                sw = 1.0  # invalid weights: a defect of their own
        except (TypeError, ValueError):
            sw = 1.0
        if per_row.size and not np.any(per_row * sw > 0):
            found.append(Defect("every row weighs zero", BAD, (*CW_WORDS, *SW_WORDS)))
    return cw, found


# -- hyperparameters ---------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class P:
    value: object
    status: str = "ok"


def ok(*values):
    return [P(v) for v in values]


def edge(*values):
    return [P(v, EDGE) for v in values]


def bad(*values):
    return [P(v, BAD) for v in values]


PER_LAYER = "<one dropout rate per hidden layer>"
_BAD_OBJECTS = [Adam(beta_1=1.5), Momentum(momentum=-0.5), Adagrad(epsilon=-1.0),
                RMSprop(rho=1.5), Lion(beta_1=2.0), SGD(clip_norm=-1.0)]
_SOLVER_OBJECTS = [SGD(), SGD(clip_norm=1.0), Momentum(), Momentum(nesterov=True),
                   Adagrad(), RMSprop(), RMSprop(centered=True, momentum=0.5), Adam(),
                   Adam(amsgrad=True), AdamW(), Nadam(), Lion()]
_SCHEDULE_OBJECTS = [Constant(), InvScaling(power_t=0.5), Adaptive(),
                     InverseTimeDecay(), ExponentialDecay(gamma=0.5),
                     StepDecay(step_size=1), CosineDecay(warmup_steps=2, decay_steps=10),
                     CosineDecay(), ReduceOnPlateau(patience=1)]
_BAD_SCHEDULES = [ExponentialDecay(gamma=-1.0), StepDecay(step_size=0),
                  CosineDecay(warmup_steps=-1), Adaptive(factor=2.0)]
_COMMON_SCHEDULES = ("constant", "invscaling", "adaptive", "inverse_time", "exponential",
                     "step", "cosine", "plateau")
_COMMON_SOLVERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw",
                   "nadam", "lion")
_NAN, _INF = float("nan"), float("inf")

SGD_POOLS = {
    "loss": ok("squared_error", "huber", "epsilon_insensitive",
               "squared_epsilon_insensitive") + bad("hinge", "log_loss", None),
    "penalty": ok("l2", "l1", "elasticnet", None) + bad("l3", "L2"),
    "alpha": ok(0.0, 1e-4, 0.1, 10.0) + edge(1e10, 1e300, 5e-324)
    + bad(-1.0, _NAN, _INF, "0.1"),
    "l1_ratio": ok(0.0, 0.15, 1.0) + bad(-0.5, 1.5, _NAN),
    "fit_intercept": ok(True, False) + bad("yes", None),
    "max_iter": ok(1, 2, 3, 5) + bad(0, -1, 2.5, "3"),
    "tol": ok(None, 1e-3, 0.0, 10.0) + edge(_INF) + bad(-1.0, _NAN),
    "shuffle": ok(True, False) + bad("no"),
    "epsilon": ok(0.0, 0.1, 10.0) + edge(1e300) + bad(-0.1, _NAN),
    "random_state": ok(0, 1, 42) + bad("seed"),
    "learning_rate": ok("optimal", "pa1", "pa2", *_COMMON_SCHEDULES, *_SCHEDULE_OBJECTS,
                        Optimal())
    + bad("Constant", "foo", 3, Constant, *_BAD_SCHEDULES),
    "eta0": ok(1e-4, 0.01, 0.1, 1.0) + edge(1e-300, 5e-324, 1e10, 1e308)
    + bad(0.0, -0.01, _NAN, _INF, "0.1"),
    "power_t": ok(0.0, 0.25, 0.5, 2.0) + edge(-0.5) + bad(_NAN),
    "early_stopping": ok(True, False) + bad("yes"),
    "validation_fraction": ok(0.1, 0.3, 0.5, 0.9) + bad(0.0, 1.0, 1.5),
    "n_iter_no_change": ok(1, 2, 5) + bad(0, -1),
    "warm_start": ok(True, False),
    "average": ok(False, True, 1, 10) + bad(-1, 0.5, "a"),
    "solver": ok(*_COMMON_SOLVERS, *_SOLVER_OBJECTS)
    + bad("lbfgs", "Adam", "foo", Adam, 1, *_BAD_OBJECTS),
    "batch_size": ok(1, 2, 5, 16, "auto", 1000) + bad(0, -1, "big", 2.5, None),
    "dropout": ok(0.0, 0.2, 0.9) + bad(1.0, -0.1, "a", (0.2,)),
    "device": ok("auto", "cpu") + bad("gpu", "tpu", "", None, "cuda:x"),
}

MLP_POOLS = {
    "hidden_layer_sizes": ok((3,), (4, 2), 5, [3], (2, 2, 2)) + edge(())
    + bad(("a",), (5.5,), (True,), (0,), (-1,), 0, "5", (3, None)),
    "activation": ok("identity", "logistic", "tanh", "relu") + bad("softmax", "ReLU", None),
    "solver": ok("lbfgs", *_COMMON_SOLVERS, *_SOLVER_OBJECTS)
    + bad("Adam", "foo", Adam, 1, *_BAD_OBJECTS),
    "alpha": ok(0.0, 1e-4, 0.1, 10.0) + edge(1e10, 1e300) + bad(-1.0, _NAN, _INF),
    "batch_size": ok(1, 2, 5, "auto", 1000) + bad(0, -1, "big", 2.5),
    "learning_rate": ok(*_COMMON_SCHEDULES, *_SCHEDULE_OBJECTS)
    + bad("optimal", "pa1", "Constant", "foo", 3, Constant, *_BAD_SCHEDULES),
    "learning_rate_init": ok(1e-4, 1e-3, 0.01, 0.1) + edge(1e-300, 5e-324, 1e10, 1e308)
    + bad(0.0, -0.01, _NAN, _INF),
    "power_t": ok(0.0, 0.5, 2.0) + bad(-0.5, _NAN),
    "max_iter": ok(1, 2, 3, 5) + bad(0, -1, 2.5),
    "shuffle": ok(True, False),
    "random_state": ok(0, 1, 42),
    "tol": ok(0.0, 1e-4, 1.0) + bad(-1.0, _NAN),
    "warm_start": ok(True, False),
    "momentum": ok(0.0, 0.9) + edge(1.0) + bad(1.5, -0.1),
    "nesterovs_momentum": ok(True, False),
    "early_stopping": ok(True, False),
    "validation_fraction": ok(0.1, 0.3, 0.5) + edge(0.0) + bad(1.0, -0.1),
    "beta_1": ok(0.0, 0.5, 0.9) + bad(1.0, -0.1),
    "beta_2": ok(0.9, 0.999) + edge(0.0) + bad(1.0),
    "epsilon": ok(1e-8, 1.0) + bad(0.0, -1.0),
    "n_iter_no_change": ok(1, 10, _INF) + bad(0),
    "max_fun": ok(1, 5, 50) + bad(0),
    "penalty": ok("l2", "l1", "elasticnet", None) + bad("l3"),
    "l1_ratio": ok(0.0, 0.15, 1.0) + bad(-0.5, 1.5, None),
    "dropout": ok(0.0, 0.3, PER_LAYER) + bad(1.0, -0.1, "0.5", ("a",), (0.5,) * 5,
                                              (1.0,)),
    "device": ok("auto", "cpu") + bad("gpu", "", None),
}

# What the tests change between calls (valid values, moderate rates).
SGD_CHANGES = {
    name: [p for p in SGD_POOLS[name] if p.status == "ok"]
    for name in ("learning_rate", "fit_intercept", "average", "penalty", "alpha",
                 "solver", "batch_size", "dropout", "l1_ratio", "loss", "shuffle", "tol",
                 "eta0", "warm_start")
}
SGD_CHANGES["solver"] += ok(Adam(amsgrad=True), Adam(amsgrad=False), "adam", "sgd")
SGD_CHANGES["eta0"] = ok(1e-3, 0.01)
MLP_CHANGES = {
    name: [p for p in MLP_POOLS[name] if p.status == "ok"]
    for name in ("learning_rate", "hidden_layer_sizes", "solver", "activation", "alpha",
                 "batch_size", "dropout", "penalty", "beta_1", "momentum",
                 "learning_rate_init", "warm_start", "nesterovs_momentum")
}
MLP_CHANGES["solver"] += ok(Adam(amsgrad=True), Adam(amsgrad=False), "adam")
MLP_CHANGES["learning_rate_init"] = ok(1e-3, 0.01)

_BASE = {
    "sgd": {"max_iter": 3, "random_state": 0},
    "mlp": {"hidden_layer_sizes": (3,), "max_iter": 3, "max_fun": 20, "random_state": 0},
}
_POOLS = {"sgd": SGD_POOLS, "mlp": MLP_POOLS}
_ESTIMATORS = {"sgd": SGDRegressorPlus, "mlp": MLPClassifierPlus}


@st.composite
def hyperparameters(draw, kind, *, statuses=("ok",), min_size=0, max_size=4,
                    pools=None, always=(), base=True):
    """A few hyperparameters from the pools (their values of ``statuses``);
    returns ``(params, defects)`` with the defects of single values and of
    combinations."""
    pools = pools or _POOLS[kind]
    names = [n for n in sorted(pools) if any(p.status in statuses for p in pools[n])]
    chosen = draw(st.lists(st.sampled_from(names), min_size=min_size,
                           max_size=max_size, unique=True))
    params = dict(_BASE[kind]) if base else {}
    found = []
    for name in [*always, *chosen]:
        choice = draw(st.sampled_from([p for p in pools[name] if p.status in statuses]))
        params[name] = copy.deepcopy(choice.value)
        if choice.status == BAD:
            found.append(Defect(f"{name}={choice.value!r}", BAD,
                                _param_names(name, choice.value)))
        elif choice.status == EDGE:
            # An extreme value may make the fit diverge: that error names the rate.
            found.append(Defect(f"{name}={choice.value!r}", EDGE,
                                (*_param_names(name, choice.value), *LR_NAMES)))
    return params, found


def _param_names(name, value):
    names = [name]
    if hasattr(value, "get_params") and not isinstance(value, type):
        # A nested parameter of an optimizer/schedule object is named as such.
        names += [type(value).__name__, *value.get_params()]
    return tuple(names)


def combination_defects(kind, params):
    """Defects that come from combinations of valid values."""
    found = []
    lr = params.get("learning_rate")
    if kind == "sgd":
        alpha = params.get("alpha", 1e-4)
        if lr == "optimal" and isinstance(alpha, float) and alpha == 0:
            found.append(Defect("learning_rate='optimal' with alpha=0", BAD,
                                ("alpha", "learning_rate")))
        if isinstance(lr, Optimal) and isinstance(alpha, float) and alpha == 0:
            found.append(Defect("Optimal() with alpha=0", EDGE, ("alpha", "learning_rate")))
        if params.get("penalty") == "elasticnet" and params.get("l1_ratio", 0.15) is None:
            found.append(Defect("elasticnet without l1_ratio", BAD, ("l1_ratio",)))
        if isinstance(lr, str) and lr in ("pa1", "pa2"):
            if params.get("loss", "squared_error") != "epsilon_insensitive":
                found.append(Defect(f"{lr} with another loss", BAD,
                                    ("learning_rate", "loss")))
            if params.get("solver", "sgd") != "sgd":
                found.append(Defect(f"{lr} with another solver", BAD,
                                    ("learning_rate", "solver")))
        if lr == "optimal" or isinstance(lr, Optimal):
            # The rate is 1 / (alpha (t0 + t)): with a tiny alpha it is huge.
            if isinstance(alpha, float) and 0 < alpha < 1e-3:
                found.append(Defect("'optimal' with a tiny alpha", EDGE,
                                    ("alpha", "learning_rate", "eta0")))
    else:
        solver = params.get("solver", "adam")
        if isinstance(solver, str) and solver == "lbfgs":
            if params.get("penalty") in ("l1", "elasticnet"):
                found.append(Defect("lbfgs with an L1 penalty", BAD, ("penalty", "lbfgs")))
            dropout = params.get("dropout", 0.0)
            rates = dropout if isinstance(dropout, (tuple, list)) else (dropout,)
            if dropout == PER_LAYER or any(isinstance(r, (int, float)) and r > 0
                                           for r in rates):
                found.append(Defect("lbfgs with dropout", BAD, ("dropout", "lbfgs")))
    if params.get("early_stopping") is True:
        # Too few (distinct) rows to hold any out: scikit-learn's error.
        found.append(Defect("early stopping on little data", EDGE,
                            ("validation_fraction", "early_stopping", "validation")))
    lr_name = "eta0" if kind == "sgd" else "learning_rate_init"
    if any(d.status == EDGE for d in found) or params.get(lr_name, 0) in (1.0, 0.1):
        # A large rate may diverge: the divergence error names the rate.
        found.append(Defect("a large rate", EDGE, (lr_name, "learning_rate", "diverge")))
    return found


def resolve_per_layer(params):
    """Replace the PER_LAYER marker by one rate per hidden layer."""
    if params.get("dropout") == PER_LAYER:
        sizes = params.get("hidden_layer_sizes", (100,))
        try:
            n_hidden = len(list(sizes)) if hasattr(sizes, "__iter__") else 1
        except TypeError:
            n_hidden = 1
        params["dropout"] = tuple(round(0.1 * (i + 1), 2) for i in range(n_hidden))
    return params


def _divergence_defect(kind):
    lr_name = "eta0" if kind == "sgd" else "learning_rate_init"
    return Defect("divergence", EDGE, (lr_name, "learning_rate", "diverge"))


# -- the tests ------------------------------------------------------------------

def _plan(data, sources):
    """The sources of input (X, y, sample_weight, hyperparameters, ...) that
    are defective in one example: none (a valid case, about one in four),
    one of them (most cases: its defects alone, so that a check done late is
    reached), or all of them."""
    choice = data.draw(st.sampled_from(("none", "none", *sources, "all")))
    return set(sources) if choice == "all" else {choice} - {"none"}


def _statuses(plan):
    return ("ok", EDGE) if "params" in plan else ("ok",)


@given(data=st.data())
@_settings(weight=3.0)
def test_fit_on_generated_regression_inputs(data):
    """SGDRegressorPlus.fit on X of every kind and defect (dense, lists,
    DataFrames, every sparse format; float64/float32/int/bool/object/complex;
    NaN/inf anywhere; 0 rows or columns; magnitudes 1e-300 to 1e300), y 1-D,
    column or multi-output (NaN, huge, strings, wrong length), sample weights
    of every kind, an optional explicit validation set, and a few
    hyperparameters (mostly valid); then predict and score."""
    plan = _plan(data, ("X", "y", "sample_weight", "params", "X_val"))
    X = data.draw(features(defects="X" in plan))
    y, n_targets = data.draw(regression_targets(X.n, defects="y" in plan))
    sw, sw_defects = data.draw(sample_weights(X.n, defects="sample_weight" in plan))
    params, p_defects = data.draw(hyperparameters("sgd", statuses=_statuses(plan),
                                                  max_size=4))
    kwargs = {} if sw is None else {"sample_weight": sw}
    defects = []
    if "X_val" in plan:
        # An explicit validation set; with another number of targets (or
        # without early_stopping) it is invalid.
        params["early_stopping"] = not _one_in(data.draw, 4)
        X_val = data.draw(features(n=data.draw(st.integers(1, 10)), d=X.d, defects=False))
        y_val, val_targets = data.draw(regression_targets(X_val.n, defects=False))
        kwargs.update(X_val=X_val.value, y_val=y_val.value)
        if not params.get("early_stopping"):
            defects.append(Defect("X_val without early_stopping", BAD,
                                  ("X_val", "early_stopping")))
        if val_targets != n_targets and not (
                {val_targets, n_targets} <= {None, 1}):
            defects.append(Defect("y_val of another shape", BAD,
                                  ("y_val", "target", "y")))
    defects += [*X.defects, *y.defects, *sw_defects, *p_defects,
                *combination_defects("sgd", params)]
    est = SGDRegressorPlus(**params)
    note(f"{X.desc}\n{y.desc}\nsample_weight={sw!r}\nparams={params}")
    expect = _Expect(defects, _fallback_names(est))
    _, exc = attempt("fit", est.fit, X.value, y.value, expect=expect, **kwargs)
    if exc is not None:
        return
    check_regressor(est, n_features=X.d, n_targets=n_targets, dtype=X.dtype)
    after = _Expect([], _fallback_names(est))
    pred, exc = attempt("predict", est.predict, X.value, expect=after)
    if exc is None:
        check_regression_predictions(pred, n=X.n, n_targets=n_targets, dtype=X.dtype)
    score, exc = attempt("score", est.score, X.value, y.value, expect=after)
    if exc is None and X.n >= 2 and not defects:
        # (R² of targets around 1e300 overflows in scikit-learn's metric.)
        assert math.isfinite(score), f"score = {score}"


@given(data=st.data())
@_settings(weight=3.0)
def test_fit_on_generated_classification_inputs(data):
    """MLPClassifierPlus.fit on X of every kind and defect, y with 1, 2, 3+
    classes (int, string, float, bool labels), columns, multilabel indicator
    matrices and invalid targets, sample weights and class weights of every
    kind (negative, NaN, inf, zero, strings), an optional explicit validation
    set, and a few hyperparameters (mostly valid); then predict,
    predict_proba, predict_log_proba and score."""
    plan = _plan(data, ("X", "y", "sample_weight", "params", "class_weight", "X_val"))
    X = data.draw(features(defects="X" in plan))
    y, classes = data.draw(classification_targets(X.n, defects="y" in plan))
    sw, sw_defects = data.draw(sample_weights(X.n, defects="sample_weight" in plan))
    params, p_defects = data.draw(hyperparameters("mlp", statuses=_statuses(plan),
                                                  max_size=4))
    resolve_per_layer(params)
    if "X_val" in plan:
        params["early_stopping"] = not _one_in(data.draw, 4)
    defects = [*X.defects, *y.defects, *sw_defects, *p_defects,
               *combination_defects("mlp", params)]
    if classes is not None and data.draw(st.booleans()) or "class_weight" in plan:
        cw, cw_defects = data.draw(class_weights(
            classes if classes is not None else [0, 1], y.value, sw,
            defects="class_weight" in plan))
        params["class_weight"] = cw
        defects += cw_defects
        if cw is not None and classes is None and not y.defects:
            defects.append(Defect("class_weight with multilabel y", BAD,
                                  (*CW_WORDS, "multilabel")))
    kwargs = {} if sw is None else {"sample_weight": sw}
    if "X_val" in plan and X.d:
        X_val = data.draw(features(n=data.draw(st.integers(1, 10)), d=X.d, defects=False))
        if classes is not None and data.draw(st.booleans()):
            y_val = Data(_same_classes(data, y.value, X_val.n, classes), X_val.n, None, None,
                         [], "")
            val_classes = np.unique(y_val.value)
        else:
            y_val, val_classes = data.draw(classification_targets(X_val.n, defects=False))
        kwargs.update(X_val=X_val.value, y_val=y_val.value)
        if not params.get("early_stopping") or params.get("solver") == "lbfgs":
            defects.append(Defect("X_val without early_stopping", BAD,
                                  ("X_val", "early_stopping", "lbfgs")))
        if not y.defects:
            multilabel = classes is None
            fits = (val_classes is None and np.ndim(y_val.value) == 2
                    and np.shape(y_val.value)[1] == np.shape(y.value)[1]) if multilabel \
                else val_classes is not None and _labels(val_classes) <= _labels(classes)
            if not fits:
                defects.append(Defect("y_val with other classes or shape", BAD,
                                      ("y_val", "class", "label", "y", "output")))
    est = MLPClassifierPlus(**params)
    note(f"{X.desc}\n{y.desc}\nsample_weight={sw!r}\nparams={params}")
    expect = _Expect(defects, _fallback_names(est))
    _, exc = attempt("fit", est.fit, X.value, y.value, expect=expect, **kwargs)
    if exc is not None:
        return
    check_classifier(est, n_features=X.d, dtype=X.dtype)
    after = _Expect([], _fallback_names(est))
    check_classifier_methods(est, X.value, X.n, dtype=X.dtype, expect=after, y=y.value)


@st.composite
def partial_fit_classes(draw, classes, *, defects=True):
    """``classes=`` for the first partial_fit: the labels or a superset, or
    (with ``defects``) none, [], or a set that misses a label of y."""
    if classes is None:  # multilabel or invalid y
        if not defects:
            return "auto", []
        return None, [Defect("no classes on the first partial_fit", BAD, ("classes",))]
    keys = list(classes)
    kind = draw(st.sampled_from(("missing", "empty", "none") if defects
                                else ("exact", "superset")))
    if kind == "exact":
        return np.array(keys), []
    if kind == "superset":
        extra = "zz" if isinstance(keys[0], str) else 99
        return np.array(keys + [extra], dtype=object if isinstance(keys[0], str)
                        else None), []
    if kind == "missing":
        return np.array(keys[:-1]), [Defect("classes miss a label of y", BAD,
                                            ("classes", "y", "label"))]
    if kind == "empty":
        return np.array([]), [Defect("classes=[]", BAD, ("classes",))]
    return None, [Defect("no classes on the first partial_fit", BAD, ("classes",))]


def _labels(values):
    return {v.item() if hasattr(v, "item") else v
            for v in np.asarray(values, dtype=object).ravel()}


def _same_target_kind(est, y, classes):
    """Whether ``y`` (with sorted labels ``classes``; None for multilabel) fits
    the classes the classifier was fitted with."""
    if est._label_binarizer.y_type_ == "multilabel-indicator":
        return classes is None and np.ndim(y) == 2 and np.shape(y)[1] == len(est.classes_)
    return classes is not None and _labels(classes) <= _labels(est.classes_)


@pytest.mark.parametrize("kind", ["sgd", "mlp"])
@given(data=st.data())
@_settings(weight=2.0)
def test_partial_fit_on_generated_inputs(kind, data):
    """partial_fit twice on generated inputs (every defect of the fit tests),
    with ``classes=`` for the classifier (exact, a superset, or invalid: [],
    missing, none), the second call on new data of possibly another width;
    then predict."""
    plan = _plan(data, ("X", "y", "sample_weight", "params", "classes", "class_weight"))
    X = data.draw(features(defects="X" in plan))
    params, p_defects = data.draw(hyperparameters(kind, statuses=_statuses(plan),
                                                  max_size=3))
    resolve_per_layer(params)
    if kind == "mlp" and params.get("solver") == "lbfgs":
        params["solver"] = "adam"  # partial_fit is unavailable with L-BFGS
    defects = [*X.defects, *p_defects, *combination_defects(kind, params)]
    est = _ESTIMATORS[kind](**params)
    kwargs = {}
    if kind == "sgd":
        y, n_targets = data.draw(regression_targets(X.n, defects="y" in plan))
    else:
        y, classes = data.draw(classification_targets(X.n, defects="y" in plan))
        pf_classes, c_defects = data.draw(partial_fit_classes(
            classes, defects="classes" in plan))
        if isinstance(pf_classes, str):  # multilabel: classes are the columns
            pf_classes = np.arange(np.shape(y.value)[1]) if np.ndim(y.value) == 2 else None
            if pf_classes is None:
                c_defects = [Defect("no classes", BAD, ("classes",))]
        kwargs["classes"] = pf_classes
        defects += c_defects
        if classes is not None and (data.draw(st.booleans()) or "class_weight" in plan):
            cw, cw_defects = data.draw(class_weights(classes, y.value, None,
                                                     defects="class_weight" in plan))
            est.set_params(class_weight=cw)
            defects += cw_defects
            if cw == "balanced":
                defects.append(Defect("class_weight='balanced' in partial_fit", BAD,
                                      CW_WORDS))
    sw, sw_defects = data.draw(sample_weights(X.n, defects="sample_weight" in plan))
    if sw is not None:
        kwargs["sample_weight"] = sw
    note(f"{X.desc}\n{y.desc}\nkwargs={kwargs}\nparams={est.get_params(deep=False)}")
    expect = _Expect([*defects, *y.defects, *sw_defects], _fallback_names(est))
    _, exc = attempt("partial_fit", est.partial_fit, X.value, y.value, expect=expect,
                     **kwargs)
    if exc is not None:
        return
    check = (lambda est, X: check_regressor(est, n_features=X.d, n_targets=n_targets,
                                            dtype=X.dtype)) if kind == "sgd" else (
        lambda est, X: check_classifier(est, n_features=X.d, dtype=X.dtype))
    check(est, X)
    # A second call on new data: mostly valid, of the same width and classes.
    d2 = X.d if not _one_in(data.draw, 5) else data.draw(st.integers(1, 6))
    X2 = data.draw(features(d=d2, kinds=("float64", "float32", "int"),
                            defects=_one_in(data.draw, 4)))
    defects2 = list(X2.defects)
    if d2 != X.d:
        defects2.append(Defect("X of another width", BAD, (*X_WORDS, "feature")))
    if X2.dtype != X.dtype:
        # float32 then float64 (or back): the model keeps one dtype.
        defects2.append(Defect("another dtype", EDGE, (*X_WORDS, "dtype")))
    if kind == "sgd":
        y2, n_targets2 = data.draw(regression_targets(
            X2.n, defects=_one_in(data.draw, 4)))
        if n_targets2 != n_targets and not ({n_targets, n_targets2} <= {None, 1}):
            defects2.append(Defect("y with another number of targets", BAD, Y_WORDS))
        kwargs2 = {}
    else:
        if _one_in(data.draw, 4):
            y2, classes2 = data.draw(classification_targets(X2.n))
        else:
            y2 = Data(_same_classes(data, y.value, X2.n), X2.n, None, None, [], "y2: same")
            classes2 = None if np.ndim(y2.value) == 2 else np.unique(y2.value)
        kwargs2 = {}
        if not y2.defects and not _same_target_kind(est, y2.value, classes2):
            defects2.append(Defect("y with other classes", BAD,
                                   (*Y_WORDS, "class", "output")))
        if est.class_weight == "balanced":
            defects2.append(Defect("class_weight='balanced' in partial_fit", BAD,
                                   CW_WORDS))
        if isinstance(est.class_weight, dict) and classes2 is not None:
            per_row_zero = all(est.class_weight.get(c, 1.0) == 0 for c in
                               np.unique(np.asarray(y2.value, dtype=object)))
            if per_row_zero:
                defects2.append(Defect("every row weighs zero", BAD,
                                       (*CW_WORDS, *SW_WORDS)))
    note(f"second call: {X2.desc}\n{y2.desc}")
    expect2 = _Expect([*defects2, *y2.defects, *p_defects,
                       *combination_defects(kind, params), _divergence_defect(kind)],
                      _fallback_names(est))
    before = est.coef_.dtype if kind == "sgd" else est.coefs_[0].dtype
    _, exc = attempt("second partial_fit", est.partial_fit, X2.value, y2.value,
                     expect=expect2, **kwargs2)
    if exc is not None:
        return
    if kind == "sgd":
        check_regressor(est, n_features=X2.d, n_targets=n_targets2, dtype=X2.dtype
                        if X2.dtype == before else est.coef_.dtype)
        assert est.coef_.dtype in (before, X2.dtype), f"coef_ dtype {est.coef_.dtype}"
        pred, exc = attempt("predict", est.predict, X2.value,
                            expect=_Expect([], _fallback_names(est)))
        if exc is None:
            check_regression_predictions(pred, n=X2.n, n_targets=n_targets2,
                                         dtype=pred.dtype)
            assert pred.dtype in (est.coef_.dtype, X2.dtype), f"predict dtype {pred.dtype}"
    else:
        dtype = est.coefs_[0].dtype
        assert dtype in (before, X2.dtype), f"coefs_ dtype {dtype}"
        check_classifier(est, n_features=X2.d, dtype=dtype)
        check_classifier_methods(est, X2.value, X2.n, dtype=X2.dtype,
                                 expect=_Expect([], _fallback_names(est)))


def _fit_valid(kind, data, *, incremental=False, params=None, dtype_kinds=None):
    """A model fitted on valid, moderate data: ``(est, X, y, extra)`` where
    ``extra`` holds ``n_targets`` (regressor) or ``classes`` (classifier)."""
    X = data.draw(features(defects=False, kinds=dtype_kinds or ("float64", "float32"),
                           containers=("ndarray", "dataframe", "csr", "list")))
    params = params or data.draw(hyperparameters(kind, max_size=2))[0]
    params = resolve_per_layer(dict(params))
    params.pop("early_stopping", None)
    if kind == "mlp" and incremental and params.get("solver") == "lbfgs":
        params["solver"] = "adam"
    est = _ESTIMATORS[kind](**params)
    if kind == "sgd":
        y, extra = data.draw(regression_targets(X.n, defects=False))
        kwargs = {}
    else:
        y, extra = data.draw(classification_targets(X.n, defects=False))
        kwargs = {"classes": extra if extra is not None else
                  np.arange(np.shape(y.value)[1])} if incremental else {}
    note(f"first call: {X.desc}\n{y.desc}\nparams={params}")
    method = est.partial_fit if incremental else est.fit
    expect = _Expect([*combination_defects(kind, params), _divergence_defect(kind)],
                     _fallback_names(est))
    _, exc = attempt("first call", method, X.value, y.value, expect=expect, **kwargs)
    return (None if exc is not None else est), X, y, extra


@pytest.mark.parametrize("kind", ["sgd", "mlp"])
@given(data=st.data())
@_settings(weight=4.0)
def test_invalid_hyperparameters_raise_named_errors(kind, data):
    """Valid data with one to three invalid hyperparameters (out of range,
    wrong types, unknown names, optimizer/schedule classes or objects with
    invalid values, hidden_layer_sizes like ('a',), (5.5,), (True,), (0,),
    dropout like ('a',), invalid combinations): fit and partial_fit raise an
    error that names one of them."""
    pools = _POOLS[kind]
    bad_names = sorted(n for n in pools if any(p.status == BAD for p in pools[n]))
    params, _ = data.draw(hyperparameters(kind, max_size=2))
    # Mostly one invalid value (the others would often be reported first).
    chosen = data.draw(st.lists(st.sampled_from(bad_names), min_size=1,
                                max_size=3 if _one_in(data.draw, 4) else 1, unique=True))
    defects = []
    for name in chosen:
        choice = data.draw(st.sampled_from([p for p in pools[name] if p.status == BAD]))
        params[name] = copy.deepcopy(choice.value)
        defects.append(Defect(f"{name}={choice.value!r}", BAD,
                              _param_names(name, choice.value)))
    resolve_per_layer(params)
    defects += combination_defects(kind, params)
    X = data.draw(features(defects=False, kinds=("float64", "float32")))
    if kind == "sgd":
        y, _ = data.draw(regression_targets(X.n, defects=False))
        pf_kwargs = {}
    else:
        y, classes = data.draw(classification_targets(X.n, defects=False))
        pf_kwargs = {"classes": classes if classes is not None
                     else np.arange(np.shape(y.value)[1])}
    note(f"params={params}\n{X.desc}\n{y.desc}")
    est = _ESTIMATORS[kind](**params)
    expect = _Expect(defects, ())
    attempt("fit", est.fit, X.value, y.value, expect=expect)
    est = _ESTIMATORS[kind](**params)
    if hasattr(est, "partial_fit"):
        attempt("partial_fit", est.partial_fit, X.value, y.value, expect=expect,
                **pf_kwargs)


@pytest.mark.parametrize("kind", ["sgd", "mlp"])
@given(data=st.data())
@_settings(weight=2.0)
def test_extreme_hyperparameters_give_finite_models_or_named_errors(kind, data):
    """Valid data with extreme values (eta0 / learning_rate_init 5e-324 to
    1e308, alpha 0 to 1e300, epsilon 1e300, tol=inf, momentum=1, beta_2=0,
    hidden_layer_sizes=()) with any solver and schedule (Optimal() with
    alpha=0 included): fit and partial_fit either raise an error
    naming one of them (or the learning rate, for a divergence) or give finite
    weights and predictions of the input's dtype."""
    pools = _POOLS[kind]
    edge_names = sorted(n for n in pools if any(p.status == EDGE for p in pools[n]))
    params, found = data.draw(hyperparameters(
        kind, statuses=("ok",), max_size=2, always=("solver", "learning_rate", "alpha")))
    extreme = data.draw(st.lists(st.sampled_from(edge_names), min_size=1, max_size=2,
                                 unique=True))
    for name in extreme:
        choice = data.draw(st.sampled_from([p for p in pools[name] if p.status == EDGE]))
        params[name] = copy.deepcopy(choice.value)
        found.append(Defect(f"{name}={choice.value!r}", EDGE,
                            _param_names(name, choice.value)))
    if kind == "sgd" and _one_in(data.draw, 4):
        # 'optimal' computes its rate from alpha, 1 / (alpha (t0 + t)): its extremes.
        params["learning_rate"] = copy.deepcopy(data.draw(st.sampled_from(
            ("optimal", Optimal(), Optimal(t0=1.0)))))
        params["alpha"] = data.draw(st.sampled_from((0.0, 5e-324, 1e-10, 1e300)))
        found.append(Defect("'optimal' with an extreme alpha", EDGE,
                            ("alpha", "learning_rate", "Optimal", *LR_NAMES)))
    resolve_per_layer(params)
    params["early_stopping"] = False
    found += [*combination_defects(kind, params), _divergence_defect(kind)]
    X = data.draw(features(defects=False, kinds=("float64", "float32"),
                           containers=("ndarray", "csr", "dataframe")))
    if kind == "sgd":
        y, n_targets = data.draw(regression_targets(X.n, defects=False))
    else:
        y, classes = data.draw(classification_targets(X.n, defects=False))
        n_targets = None
    incremental = data.draw(st.booleans()) and not (
        kind == "mlp" and params.get("solver") == "lbfgs")
    est = _ESTIMATORS[kind](**params)
    kwargs = {}
    if incremental and kind == "mlp":
        kwargs["classes"] = (classes if classes is not None
                             else np.arange(np.shape(y.value)[1]))
    note(f"params={params}\nincremental={incremental}\n{X.desc}\n{y.desc}")
    method = est.partial_fit if incremental else est.fit
    expect = _Expect(found, ())
    _, exc = attempt("partial_fit" if incremental else "fit", method, X.value, y.value,
                     expect=expect, **kwargs)
    if exc is not None:
        return
    check_fitted_model(kind, est, X.value, X.n, n_features=X.d, n_targets=n_targets,
                       dtype=X.dtype, y=y.value)


@pytest.mark.parametrize("kind", ["sgd", "mlp"])
@given(data=st.data())
@_settings(weight=2.0)
def test_extreme_data_give_finite_models_or_named_errors(kind, data):
    """Valid hyperparameters on data of extreme magnitude: X (float64,
    float32, int, object; dense, DataFrame or sparse) scaled by 1e-300 to
    1e300, y up to 1e300, sample weights huge or tiny: fit or partial_fit
    either raises an error naming the data (or the learning rate, for a
    divergence) or gives finite weights and predictions of the input's dtype."""
    X = data.draw(features(problem="magnitude",
                           kinds=("float64", "float64", "float32", "int", "object")))
    plan = _plan(data, ("y", "sample_weight"))
    if kind == "sgd":
        y, n_targets = data.draw(regression_targets(X.n, defects=False))
        if "y" in plan:
            magnitude = data.draw(st.sampled_from((1e20, 1e150, 1e300)))
            y = Data(np.asarray(y.value, dtype=np.float64) * magnitude, y.n, y.d, None,
                     [Defect(f"y of magnitude {magnitude:g}", EDGE,
                             (*Y_WORDS, "overflow", "large", "infinity", *LR_NAMES))],
                     f"{y.desc} times {magnitude:g}")
    else:
        y, classes = data.draw(classification_targets(X.n, defects=False))
    sw, sw_defects = None, []
    if "sample_weight" in plan:
        sw, sw_defects = data.draw(sample_weights(X.n, kinds=("huge", "tiny")))
    params, found = data.draw(hyperparameters(kind, max_size=2))
    resolve_per_layer(params)
    params["early_stopping"] = False
    incremental = data.draw(st.booleans()) and not (
        kind == "mlp" and params.get("solver") == "lbfgs")
    kwargs = {} if sw is None else {"sample_weight": sw}
    if incremental and kind == "mlp":
        kwargs["classes"] = (classes if classes is not None
                             else np.arange(np.shape(y.value)[1]))
    est = _ESTIMATORS[kind](**params)
    note(f"{X.desc}\n{y.desc}\nsample_weight={sw!r}\nparams={params}\n"
         f"incremental={incremental}")
    expect = _Expect([*X.defects, *y.defects, *sw_defects, *found,
                      *combination_defects(kind, params)], ())
    method = est.partial_fit if incremental else est.fit
    _, exc = attempt("partial_fit" if incremental else "fit", method, X.value, y.value,
                     expect=expect, **kwargs)
    if exc is not None:
        return
    # Predictions on the training data: finite (or an error naming X).
    on_X = _Expect(X.defects, ())
    if kind == "sgd":
        check_regressor(est, n_features=X.d, n_targets=n_targets, dtype=X.dtype)
        pred, exc = attempt("predict", est.predict, X.value, expect=on_X)
        if exc is None:
            check_regression_predictions(pred, n=X.n, n_targets=n_targets, dtype=X.dtype)
    else:
        check_classifier(est, n_features=X.d, dtype=X.dtype)
        check_classifier_methods(est, X.value, X.n, dtype=X.dtype, expect=on_X)


@pytest.mark.parametrize("kind", ["sgd", "mlp"])
@given(data=st.data())
@_settings(weight=3.0)
def test_changes_between_partial_fit_calls(kind, data):
    """fit or partial_fit on valid data, then ``set_params`` of a few
    hyperparameters (schedule, fit_intercept, average, penalty, solver and its
    options such as Adam(amsgrad=True), batch_size, dropout,
    hidden_layer_sizes, activation, class_weight...), predict with the model
    as fitted, then partial_fit or a warm-start fit on new data, and predict
    again: every step raises an error naming a changed parameter or gives a
    finite model consistent with the current hyperparameters."""
    incremental = data.draw(st.booleans())
    est, X, y, extra = _fit_valid(kind, data, incremental=incremental)
    if est is None:
        return
    pools = SGD_CHANGES if kind == "sgd" else MLP_CHANGES
    changes, _ = data.draw(hyperparameters(kind, pools=pools, min_size=1, max_size=3,
                                           base=False))
    if kind == "mlp" and "hidden_layer_sizes" in changes and "dropout" not in changes \
            and isinstance(est.dropout, tuple):
        changes["dropout"] = PER_LAYER
    if "dropout" in changes and changes["dropout"] == PER_LAYER:
        changes["hidden_layer_sizes"] = changes.get("hidden_layer_sizes",
                                                    est.hidden_layer_sizes)
    resolve_per_layer(changes)
    if kind == "mlp" and _one_in(data.draw, 4) and extra is not None:
        changes["class_weight"] = data.draw(class_weights(extra, None, None,
                                                          defects=False))[0]
    note(f"changes={changes}")
    est.set_params(**changes)
    params = est.get_params(deep=False)
    names = [n for k, v in changes.items() for n in _param_names(k, v)]
    changed = [Defect("changed hyperparameters", EDGE, (*names, "warm_start", "partial_fit")),
               *combination_defects(kind, params), _divergence_defect(kind)]
    # The model as fitted still predicts (or names what changed): prediction
    # does not validate hyperparameters, so nothing must raise here.
    names_only = _Expect(changed, ())
    names_only.must_raise = False
    if kind == "sgd":
        pred, exc = attempt("predict after set_params", est.predict, X.value,
                            expect=names_only)
        if exc is None:
            check_regression_predictions(pred, n=X.n, n_targets=extra, dtype=X.dtype)
    else:
        check_classifier_methods(est, X.value, X.n, dtype=X.dtype, expect=names_only)
    # Continue on new data of the same width and kind of target.
    X2 = data.draw(features(d=X.d, defects=False, kinds=(
        "float32",) if X.dtype == np.float32 else ("float64", "int"),
        containers=("ndarray", "dataframe", "csr", "list") if X.dtype == np.float64
        else ("ndarray", "dataframe", "csr")))
    if kind == "sgd":
        # Targets of the same shape: the model keeps its number of outputs.
        y2 = Data(_same_targets(data, y.value, X2.n), X2.n, None, None, [], "y2")
        kwargs = {}
    else:
        y2 = Data(_same_classes(data, y.value, X2.n), X2.n, None, None, [], "y2")
        kwargs = {}
    use_partial_fit = (hasattr(est, "partial_fit") and
                       (incremental or data.draw(st.booleans())))
    if not use_partial_fit:
        est.set_params(warm_start=True)
    note(f"continue with {'partial_fit' if use_partial_fit else 'warm-start fit'} on "
         f"{X2.desc}")
    method = est.partial_fit if use_partial_fit else est.fit
    if kind == "mlp" and est.class_weight == "balanced" and use_partial_fit:
        changed = [*changed, Defect("class_weight='balanced' in partial_fit", BAD,
                                    CW_WORDS)]
    _, exc = attempt("partial_fit" if use_partial_fit else "warm-start fit", method,
                     X2.value, y2.value, expect=_Expect(changed, ()), **kwargs)
    if exc is not None:
        return
    check_fitted_model(kind, est, X2.value, X2.n, n_features=X.d, n_targets=extra,
                       dtype=X.dtype)


def _same_targets(data, y, n):
    """``n`` regression targets shaped like ``y`` (1-D, a column or 2-D)."""
    shape = (n, *np.shape(y)[1:])
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    return np.round(rng.standard_normal(shape), 2)


def _same_classes(data, y, n, classes=None):
    """``n`` labels of the classes of ``y`` (rows of it, for multilabel); of
    ``classes``, the labels ``y`` was drawn from, where ``y`` has no rows."""
    y = np.asarray(y)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    if y.ndim == 2 and y.shape[1] > 1:
        return (rng.random((n, y.shape[1])) < 0.5).astype(y.dtype)
    labels = np.unique(y.ravel())
    if labels.size == 0:
        labels = np.asarray(classes)
    return labels[rng.integers(0, labels.size, n)]


@pytest.mark.parametrize("kind", ["sgd", "mlp"])
@given(data=st.data())
@_settings(weight=2.0, suppress=(HealthCheck.function_scoped_fixture,))
def test_failed_fit_leaves_fitted_estimator_unchanged(kind, data, snapshot):
    """A fitted estimator, maybe ``set_params`` of a few (valid, extreme or
    invalid) hyperparameters, then fit, warm-start fit or partial_fit on
    generated inputs (every defect, class weights, other classes, widths and
    dtypes): when the call fails, ``vars(est)`` is exactly as before it."""
    incremental = data.draw(st.booleans())
    est, X, y, extra = _fit_valid(kind, data, incremental=incremental)
    if est is None:
        return
    changes, defects = data.draw(hyperparameters(
        kind, statuses=("ok", EDGE, BAD), max_size=2, base=False))
    resolve_per_layer(changes)
    if kind == "mlp" and extra is not None and data.draw(st.booleans()):
        cw, cw_defects = data.draw(class_weights(extra, None, None))
        changes["class_weight"] = cw
        defects += cw_defects
    if data.draw(st.booleans()):
        changes["warm_start"] = True
    with _Rules():
        est.set_params(**changes)
    note(f"changes={changes}")
    d = X.d if not _one_in(data.draw, 5) else data.draw(st.integers(0, 6))
    X2 = data.draw(features(d=d))
    if kind == "sgd":
        y2, _ = data.draw(regression_targets(X2.n))
        kwargs = {}
    else:
        if data.draw(st.booleans()):
            y2, _ = data.draw(classification_targets(X2.n))
        else:
            y2 = Data(_same_classes(data, y.value, X2.n), X2.n, None, None, [], "y2")
        kwargs = {}
    sw, sw_defects = data.draw(sample_weights(X2.n))
    if sw is not None:
        kwargs["sample_weight"] = sw
    methods = ["fit"] + (["partial_fit"] if hasattr(est, "partial_fit") else [])
    method = data.draw(st.sampled_from(methods))
    note(f"then {method} on {X2.desc}\n{y2.desc}\nsample_weight={sw!r}")
    note(f"defects: {[*defects, *X2.defects, *y2.defects, *sw_defects]}")
    state = snapshot(est)
    # Here any failure is checked for the state it leaves (its type too; the
    # other tests check the messages).
    with _Rules():
        try:
            getattr(est, method)(X2.value, y2.value, **kwargs)
        except Exception as exc:  # a RuntimeWarning turned into an error included
            failure = exc
        else:
            failure = None
    event(f"{method}: {'ok' if failure is None else type(failure).__name__}")
    if failure is None:
        return
    note(f"{method} failed with {type(failure).__name__}: {failure}")
    state.assert_unchanged(est)
    assert isinstance(failure, (ValueError, TypeError)), (
        f"{method} raised {type(failure).__name__}: {failure!r}")


@pytest.mark.parametrize("kind", ["sgd", "mlp"])
@given(data=st.data())
@_settings(weight=2.0)
def test_predict_on_generated_inputs(kind, data):
    """A model fitted on valid float64 or float32 data (maybe a DataFrame),
    then predict, score, predict_proba and predict_log_proba on X of every
    kind and defect: another width, renamed DataFrame columns, NaN/inf, no
    rows, complex, sparse, huge magnitudes, another dtype."""
    est, X, y, extra = _fit_valid(kind, data)
    if est is None:
        return
    d = X.d if not _one_in(data.draw, 4) else data.draw(st.integers(0, 6))
    renamed = _one_in(data.draw, 6)
    X2 = data.draw(features(d=d, columns=[f"g{j}" for j in range(d)] if renamed
                            else None))
    defects = list(X2.defects)
    if d != X.d:
        defects.append(Defect("X of another width", BAD, (*X_WORDS, "feature")))
    if renamed and d and isinstance(X.value, pd.DataFrame) and isinstance(
            X2.value, pd.DataFrame):
        defects.append(Defect("renamed columns", BAD, (*X_WORDS, "feature")))
    note(f"predict on {X2.desc}")
    expect = _Expect(defects, _fallback_names(est))
    model_dtype = est.coef_.dtype if kind == "sgd" else est.coefs_[0].dtype
    if kind == "sgd":
        pred, exc = attempt("predict", est.predict, X2.value, expect=expect)
        if exc is None:
            check_regression_predictions(pred, n=X2.n, n_targets=extra, dtype=pred.dtype)
            assert pred.dtype in (model_dtype, X2.dtype), f"predict dtype {pred.dtype}"
        if X2.n:
            rng = np.random.default_rng(0)
            y2 = rng.standard_normal((X2.n,) if extra is None else (X2.n, extra))
            score, exc = attempt("score", est.score, X2.value, y2, expect=expect)
            if exc is None and X2.n >= 2 and not defects:
                assert math.isfinite(score), f"score = {score}"
    else:
        y2 = _same_classes(data, y.value, X2.n) if X2.n else None
        check_classifier_methods(est, X2.value, X2.n, dtype=X2.dtype, expect=expect,
                                 y=y2)


@pytest.mark.parametrize("kind", ["sgd", "mlp"])
@given(data=st.data())
@_settings(weight=2.0)
def test_well_posed_problems_fit(kind, data):
    """Valid inputs of every kind (dense, lists, DataFrames, sparse; float64,
    float32, int, bool, object; 2-D y, 1 to 4 classes, string labels,
    multilabel; positive sample weights, valid class weights) with valid
    hyperparameters at moderate rates: fit succeeds, with finite weights and
    predictions of the right shape and dtype."""
    X = data.draw(features(defects=False, kinds=("float64", "float32", "int", "bool",
                                                 "object")))
    pools = {name: [p for p in pool if p.status == "ok"]
             for name, pool in _POOLS[kind].items()
             if name not in ("early_stopping", "eta0", "learning_rate_init")}
    params, _ = data.draw(hyperparameters(kind, pools=pools, max_size=4))
    resolve_per_layer(params)
    if combination_defects(kind, params):
        params.pop("learning_rate", None)
        params.pop("penalty", None)
        params.pop("dropout", None)
    lr = params.get("learning_rate")
    if kind == "sgd" and (lr == "optimal" or isinstance(lr, Optimal)):
        params["alpha"] = 0.1  # a small alpha makes 'optimal' steps huge
    sw, _ = data.draw(sample_weights(X.n, defects=False))
    if sw is not None and not np.any(np.asarray(sw) > 0):
        sw = None
    kwargs = {} if sw is None else {"sample_weight": sw}
    if kind == "sgd":
        y, n_targets = data.draw(regression_targets(X.n, defects=False))
    else:
        y, classes = data.draw(classification_targets(X.n, defects=False))
        if classes is not None and data.draw(st.booleans()):
            labels = np.asarray(y.value).ravel()
            cw = data.draw(class_weights(classes, labels, sw, defects=False))[0]
            weights = np.broadcast_to(1.0 if sw is None else np.asarray(sw, dtype=float),
                                      labels.shape)
            if isinstance(cw, dict) and not any(
                    cw.get(c.item() if hasattr(c, "item") else c, 1.0) * w > 0
                    for c, w in zip(labels, weights)):
                cw = None
            params["class_weight"] = cw
    est = _ESTIMATORS[kind](**params)
    note(f"{X.desc}\n{y.desc}\nsample_weight={sw!r}\nparams={params}")
    with _Rules():
        try:
            est.fit(X.value, y.value, **kwargs)
        except Exception as exc:
            raise AssertionError(
                f"fit on valid input raised {type(exc).__name__}: {exc}") from exc
    after = _Expect([], _fallback_names(est))
    if kind == "sgd":
        check_regressor(est, n_features=X.d, n_targets=n_targets, dtype=X.dtype)
        pred, exc = attempt("predict", est.predict, X.value, expect=after)
        assert exc is None, exc
        check_regression_predictions(pred, n=X.n, n_targets=n_targets, dtype=X.dtype)
    else:
        check_classifier(est, n_features=X.d, dtype=X.dtype)
        check_classifier_methods(est, X.value, X.n, dtype=X.dtype, expect=after, y=y.value)
