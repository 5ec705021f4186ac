"""Exact mode (``batch_size=1``): ``fit_exact`` against scikit-learn (issue #8).

Every expected number comes from scikit-learn's public ``SGDRegressor`` fitted
on the same data with the same ``random_state``; ``fit_exact`` is called
directly, as ``SGDRegressorPlus`` calls it. On float64 the agreement is to
``rtol=1e-10`` (in practice bit for bit), together with ``t_`` and ``n_iter_``.
"""

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from sklearn.datasets import make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDRegressor
from sklearn.model_selection import ShuffleSplit

from skoptim.linear_model._exact import ExactResult, fit_exact

RTOL = 1e-10
ATOL = 1e-13  # for coefficients that one side leaves at exactly zero (L1)
N_SAMPLES, N_FEATURES = 60, 5


def _read_only(a):
    a = a.copy()
    if sp.issparse(a):
        for part in (a.data, a.indices, a.indptr):
            part.setflags(write=False)
    else:
        a.setflags(write=False)
    return a


def _make_data(kind="dense", dtype=np.float64):
    """Standardized-scale regression data; 'csr' zeroes ~half the entries,
    three rows entirely (they exercise the 'pa1' skip)."""
    X, y = make_regression(N_SAMPLES, N_FEATURES, n_informative=3, noise=5.0,
                           random_state=0)
    y = y / 50.0
    if kind == "csr":
        X = X.copy()
        X[np.abs(X) < 0.7] = 0.0
        X[[3, 17, 40]] = 0.0
        X = sp.csr_matrix(X)
    X = X.astype(dtype)
    return _read_only(X), _read_only(y.astype(dtype))


def _weights():
    return _read_only(np.random.RandomState(42).uniform(0.0, 2.0, N_SAMPLES))


def _sklearn(kw, X, y, sample_weight=None, **fit_kw):
    est = SGDRegressor(**kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y, sample_weight=sample_weight, **fit_kw)
    return est


def _exact(params, X, y, sample_weight=None, *, coef=None, intercept=None,
           standard=None, t=1.0, max_iter=None, incremental=False,
           random_state="params", on_epoch_end=None):
    dtype = X.dtype
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit_exact(
            params, X, y, sample_weight,
            coef=np.zeros(X.shape[1], dtype) if coef is None else coef,
            intercept=np.zeros(1, dtype) if intercept is None else intercept,
            standard=standard, t=t,
            max_iter=params["max_iter"] if max_iter is None else max_iter,
            incremental=incremental,
            random_state=(params["random_state"] if random_state == "params"
                          else random_state),
            on_epoch_end=on_epoch_end,
        )


def _assert_same(res, est, rtol=RTOL, atol=ATOL):
    assert_allclose(res.coef, est.coef_, rtol=rtol, atol=atol)
    assert_allclose(res.intercept, est.intercept_, rtol=rtol, atol=atol)
    assert_allclose(res.t, est.t_, rtol=0)
    assert res.n_iter == est.n_iter_


def _compare(kw, kind="dense", sample_weight=None, dtype=np.float64):
    X, y = _make_data(kind, dtype)
    kw = {"random_state": 0, "max_iter": 60, **kw}
    est = _sklearn(kw, X, y, sample_weight)
    res = _exact(est.get_params(), X, y, sample_weight)
    _assert_same(res, est)
    return res, est


KINDS = ["dense", "csr"]


# ---------------------------------------------------------------------------
# One hyperparameter at a time
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "loss",
    ["squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive"],
)
def test_every_loss(loss, kind):
    """Each regression loss, with the default invscaling schedule (issue #8)."""
    _compare({"loss": loss, "epsilon": 0.05}, kind)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet", None])
def test_every_penalty(penalty, kind):
    """L2 weight decay (scaled representation), cumulative L1 truncation and
    their mix; with a strong alpha so that some weights are cut (issue #8)."""
    res, _ = _compare({"penalty": penalty, "alpha": 0.05, "l1_ratio": 0.4}, kind)
    if penalty == "l1":
        assert np.any(res.coef == 0.0)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "learning_rate, extra",
    [
        ("constant", {"eta0": 0.02}),
        ("optimal", {"alpha": 0.01}),
        ("invscaling", {"power_t": 0.4}),
        ("adaptive", {"eta0": 0.05}),
        ("pa1", {"loss": "epsilon_insensitive", "eta0": 0.5}),
        ("pa2", {"loss": "epsilon_insensitive", "eta0": 0.5}),
    ],
)
def test_every_learning_rate(learning_rate, extra, kind):
    """Each schedule, 'optimal' with its initial-t heuristic, 'adaptive'
    dividing eta by 5, passive-aggressive steps (issue #8)."""
    _compare({"learning_rate": learning_rate, "max_iter": 200, **extra}, kind)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("average", [True, 1, 150, 5000])
def test_average(average, kind):
    """ASGD from the start, with a late onset inside the fit (150 < 60 * epochs)
    and one that never starts (plain coefficients exposed) (issue #8)."""
    kw = {"average": average, "penalty": "elasticnet", "alpha": 0.01, "max_iter": 20}
    res, _ = _compare(kw, kind)
    assert set(res.standard) == {
        "standard_coef", "standard_intercept", "average_coef", "average_intercept"
    }
    if average == 5000:  # not started: the plain weights are exposed
        assert_allclose(res.coef, res.standard["standard_coef"], rtol=0)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("penalty", ["l2", "elasticnet"])
def test_sample_weight(penalty, kind):
    """Per-sample weights scale the step (issue #8)."""
    _compare({"penalty": penalty, "alpha": 0.01}, kind, sample_weight=_weights())


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("random_state", [0, 7, 12345])
def test_shuffle(shuffle, random_state):
    """The epoch order: fixed, or scikit-learn's xorshift Fisher-Yates
    permutation composed epoch after epoch (issue #8)."""
    kw = {"shuffle": shuffle, "random_state": random_state, "tol": None, "max_iter": 8}
    _compare(kw)


def test_no_intercept_and_invscaling_defaults_on_csr():
    """fit_intercept=False keeps the intercept at its start value; CSR input
    uses the 0.01 intercept decay (the default fit differs from dense) (issue #8)."""
    _compare({"fit_intercept": False}, "csr")
    res_csr, _ = _compare({}, "csr")
    res_dense, _ = _compare({}, "dense")
    assert not np.allclose(res_csr.intercept, res_dense.intercept)


def test_csr_array_input():
    """scipy's csr_array is accepted like csr_matrix (issue #8)."""
    X, y = _make_data("csr")
    est = _sklearn({"random_state": 0, "max_iter": 10}, X, y)
    res = _exact(est.get_params(), sp.csr_array(X), y)
    _assert_same(res, est)


# ---------------------------------------------------------------------------
# Random states
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("early_stopping", [False, True])
def test_random_state_instance_is_consumed_like_sklearn(early_stopping):
    """A RandomState instance: same draws, same state afterwards (issue #8)."""
    X, y = _make_data()
    rs_sk, rs_ex = np.random.RandomState(3), np.random.RandomState(3)
    kw = {"random_state": rs_sk, "early_stopping": early_stopping, "max_iter": 30}
    est = _sklearn(kw, X, y)
    res = _exact(est.get_params(), X, y, random_state=rs_ex)
    _assert_same(res, est)
    assert rs_sk.randint(2**31 - 1) == rs_ex.randint(2**31 - 1)


def test_random_state_none_uses_global_rng():
    """random_state=None draws from NumPy's global generator (issue #8)."""
    X, y = _make_data()
    np.random.seed(11)
    est = _sklearn({"random_state": None, "early_stopping": True, "max_iter": 30}, X, y)
    after_sk = np.random.randint(2**31 - 1)
    np.random.seed(11)
    res = _exact(est.get_params(), X, y)
    assert np.random.randint(2**31 - 1) == after_sk
    _assert_same(res, est)


# ---------------------------------------------------------------------------
# Early stopping and its split
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"tol": None, "max_iter": 12},
        {"validation_fraction": 0.3, "n_iter_no_change": 2},
        {"average": 100, "penalty": "elasticnet", "alpha": 0.01},
        {"sample_weight": True},
    ],
    ids=["default", "tol-none", "fraction-0.3", "average", "weights"],
)
def test_early_stopping(extra, kind):
    """Validation rows drawn as scikit-learn's ShuffleSplit draws them, R²
    computed on the stored (unscaled) weights, last weights kept (issue #8)."""
    extra = dict(extra)
    sw = _weights() if extra.pop("sample_weight", False) else None
    kw = {"early_stopping": True, "alpha": 0.01, "max_iter": 80, **extra}
    res, est = _compare(kw, kind, sample_weight=sw)
    assert len(res.validation_scores) == res.n_iter
    assert res.best_validation_score == max(res.validation_scores)


def test_early_stopping_empty_train_set():
    """Too few rows for the split: scikit-learn's error (issue #8)."""
    X, y = _make_data()
    X, y = X[:3], y[:3]
    kw = {"early_stopping": True, "validation_fraction": 0.9, "random_state": 0}
    match = "resulting train set will be empty"
    with pytest.raises(ValueError, match=match):
        SGDRegressor(**kw).fit(X, y)
    with pytest.raises(ValueError, match=match):
        _exact(SGDRegressor(**kw).get_params(), X, y)


def test_early_stopping_zero_weight_validation_set():
    """Validation rows that all weigh zero: scikit-learn's error (issue #8)."""
    X, y = _make_data()
    _, val = next(ShuffleSplit(test_size=0.1, random_state=5).split(X))
    sw = np.ones(N_SAMPLES)
    sw[val] = 0.0
    kw = {"early_stopping": True, "random_state": 5}
    match = "The sample weights for validation set are all zero"
    with pytest.raises(ValueError, match=match):
        SGDRegressor(**kw).fit(X, y, sample_weight=sw)
    with pytest.raises(ValueError, match=match):
        _exact(SGDRegressor(**kw).get_params(), X, y, sw)


def test_overflow_error():
    """Diverging steps: scikit-learn's floating-point overflow error (issue #8)."""
    X, y = _make_data()
    X = X * 1e160  # products overflow to +-inf, their sum to nan
    kw = {"learning_rate": "constant", "eta0": 10.0, "penalty": None, "random_state": 0}
    match = r"Floating-point under-/overflow occurred at epoch #\d+"
    with pytest.raises(ValueError, match=match):
        SGDRegressor(**kw).fit(X, y)
    with pytest.raises(ValueError, match=match):
        _exact(SGDRegressor(**kw).get_params(), X, y)


# ---------------------------------------------------------------------------
# Continuing: partial_fit, coef_init / intercept_init, warm start
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("random_state", [0, "instance"])
@pytest.mark.parametrize("average", [False, True, 45])
def test_partial_fit_sequence(average, random_state, kind):
    """Four partial_fit calls on chunks: coef, intercept, t_ and the averaging
    state carried from call to call (late onset within the sequence) (issue #8)."""
    X, y = _make_data(kind)

    def rs():
        return np.random.RandomState(9) if random_state == "instance" else random_state

    kw = {"average": average, "penalty": "elasticnet", "alpha": 0.01}
    est = SGDRegressor(random_state=rs(), **kw)
    params = SGDRegressor(**kw).get_params()
    mine = rs()
    coef, intercept, standard, t = np.zeros(N_FEATURES), np.zeros(1), None, 1.0
    for k in range(4):
        rows = slice(15 * k, 15 * (k + 1))
        est.partial_fit(X[rows], y[rows])
        res = _exact(params, X[rows], y[rows], coef=coef, intercept=intercept,
                     standard=standard, t=t, max_iter=1, incremental=True,
                     random_state=mine)
        _assert_same(res, est)
        coef, intercept, standard, t = res.coef, res.intercept, res.standard, res.t


def test_partial_fit_after_early_stopping_fit():
    """scikit-learn splits off validation rows in a partial_fit that follows
    an early-stopping fit; so does fit_exact (issue #8)."""
    X, y = _make_data()
    kw = {"early_stopping": True, "random_state": 0, "max_iter": 7, "tol": None}
    est = _sklearn(kw, X, y)
    params = est.get_params()
    res = _exact(params, X, y)
    est.partial_fit(X, y)
    res = _exact(params, X, y, coef=res.coef, intercept=res.intercept, t=res.t,
                 max_iter=1, incremental=True)
    _assert_same(res, est)


@pytest.mark.parametrize(
    "extra",
    [{}, {"average": True}, {"average": 30, "fit_intercept": False}, {"penalty": "l1"}],
    ids=["plain", "average", "late-average-no-intercept", "l1"],
)
def test_coef_init_intercept_init(extra):
    """Starting weights given to fit (issue #8)."""
    X, y = _make_data()
    coef_init = np.linspace(-0.5, 0.5, N_FEATURES)
    kw = {"random_state": 0, "max_iter": 25, "alpha": 0.01, **extra}
    # scikit-learn writes into a float64 coef_init: give it its own copy
    est = _sklearn(kw, X, y, coef_init=coef_init.copy(), intercept_init=[0.3])
    res = _exact(est.get_params(), X, y, coef=coef_init, intercept=np.array([0.3]))
    _assert_same(res, est)
    # fit_exact leaves its starting weights alone
    assert_allclose(coef_init, np.linspace(-0.5, 0.5, N_FEATURES), rtol=0)


@pytest.mark.parametrize("average", [False, True, 200])
def test_warm_start_refit(average):
    """A warm-started second fit: t_ restarts at 1, the carried state (the
    standard weights and the running average when averaging) continues (issue #8)."""
    X, y = _make_data()
    kw = {"random_state": 0, "max_iter": 6, "tol": None, "warm_start": True,
          "average": average}
    est = _sklearn(kw, X, y)
    params = est.get_params()
    first = _exact(params, X, y)
    _assert_same(first, est)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    second = _exact(params, X, y, coef=first.coef, intercept=first.intercept,
                    standard=first.standard, t=1.0)
    _assert_same(second, est)


# ---------------------------------------------------------------------------
# float32
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "extra",
    [{}, {"penalty": "l1", "alpha": 0.01}, {"average": 40, "penalty": "elasticnet"},
     {"early_stopping": True}],
    ids=["default", "l1", "average", "early-stopping"],
)
def test_float32(extra, kind):
    """float32 input: float32 storage and scikit-learn's single-precision
    roundings mirrored; the results come out in float32. scikit-learn exposes
    a float64 intercept, hence a float32-level tolerance (issue #8)."""
    X, y = _make_data(kind, np.float32)
    kw = {"random_state": 0, "max_iter": 40, **extra}
    est = _sklearn(kw, X, y)
    res = _exact(est.get_params(), X, y)
    assert res.coef.dtype == np.float32 and res.intercept.dtype == np.float32
    _assert_same(res, est, rtol=1e-6, atol=1e-7)


def test_float32_partial_fit_with_average():
    """float32 partial_fit sequence with averaging (issue #8)."""
    X, y = _make_data("dense", np.float32)
    est = SGDRegressor(random_state=0, average=20)
    params = est.get_params()
    coef, intercept = np.zeros(N_FEATURES, np.float32), np.zeros(1, np.float32)
    standard, t = None, 1.0
    for k in range(3):
        rows = slice(20 * k, 20 * (k + 1))
        est.partial_fit(X[rows], y[rows])
        res = _exact(params, X[rows], y[rows], coef=coef, intercept=intercept,
                     standard=standard, t=t, max_iter=1, incremental=True)
        _assert_same(res, est, rtol=1e-6, atol=1e-7)
        coef, intercept, standard, t = res.coef, res.intercept, res.standard, res.t


# ---------------------------------------------------------------------------
# Reporting: verbose lines, loss curve, warnings, the epoch hook
# ---------------------------------------------------------------------------


def _normalize_timings(text):
    text = re.sub(r"Total training time: [0-9.]+ seconds", "Total training time: T", text)
    return re.sub(r"took [0-9.]+ seconds", "took T seconds", text)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_verbose_output(early_stopping, capsys):
    """The same '-- Epoch', 'Norm: ...', 'Total training time' and convergence
    lines as scikit-learn, timings aside (issue #8)."""
    X, y = _make_data()
    kw = {"random_state": 0, "verbose": 1, "early_stopping": early_stopping,
          "max_iter": 100}
    est = _sklearn(kw, X, y)
    expected = capsys.readouterr().out
    _exact(est.get_params(), X, y)
    got = capsys.readouterr().out
    assert "Convergence after" in expected
    assert _normalize_timings(got) == _normalize_timings(expected)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_loss_curve_and_scores_match_verbose_report(early_stopping, capsys):
    """loss_curve is scikit-learn's 'Avg. loss' of each epoch, and
    validation_scores its 'Validation score' (issue #8)."""
    X, y = _make_data("csr")
    kw = {"random_state": 1, "verbose": 1, "early_stopping": early_stopping,
          "max_iter": 15, "tol": None}
    est = _sklearn(kw, X, y)
    out = capsys.readouterr().out
    res = _exact(est.get_params() | {"verbose": 0}, X, y)
    losses = [float(v) for v in re.findall(r"Avg\. loss: ([-0-9.]+)", out)]
    assert len(res.loss_curve) == len(losses) == res.n_iter
    assert_allclose(res.loss_curve, losses, atol=1e-6)
    if early_stopping:
        scores = [float(v) for v in re.findall(r"Validation score: ([-0-9.]+)", out)]
        assert_allclose(res.validation_scores, scores, atol=1e-6)
    else:
        assert res.validation_scores == [] and res.best_validation_score is None


def test_convergence_warning():
    """Warned when fit reaches max_iter with tol set, as scikit-learn does;
    not for partial_fit, nor with tol=None (issue #8)."""
    X, y = _make_data()
    kw = {"random_state": 0, "max_iter": 3}
    match = "Maximum number of iteration reached before convergence"
    with pytest.warns(ConvergenceWarning, match=match):
        SGDRegressor(**kw).fit(X, y)
    params = SGDRegressor(**kw).get_params()
    common = dict(coef=np.zeros(N_FEATURES), intercept=np.zeros(1), standard=None,
                  t=1.0, random_state=0)
    with pytest.warns(ConvergenceWarning, match=match):
        res = fit_exact(params, X, y, None, max_iter=3, incremental=False, **common)
    assert not res.converged
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        fit_exact(params, X, y, None, max_iter=1, incremental=True, **common)
        fit_exact(params | {"tol": None}, X, y, None, max_iter=3, incremental=False,
                  **common)


def test_converged_flag():
    """converged is True when the stopping rule ends training (issue #8)."""
    res, est = _compare({"max_iter": 500})
    assert res.converged and res.n_iter < 500


def test_on_epoch_end_stops():
    """Returning True from the epoch hook stops after that epoch: the result is
    scikit-learn's with max_iter equal to the epochs run (issue #8)."""
    X, y = _make_data()
    seen = []

    def hook(epoch, coef, intercept, score):
        assert score is None  # no early stopping
        seen.append((epoch, coef.copy(), intercept.copy()))
        return epoch == 2

    kw = {"random_state": 0, "tol": None, "average": 100}
    res = _exact(SGDRegressor(**kw, max_iter=50).get_params(), X, y, on_epoch_end=hook)
    est = _sklearn(kw | {"max_iter": 3}, X, y)
    _assert_same(res, est)
    assert [e for e, _, _ in seen] == [0, 1, 2]
    assert_allclose(seen[-1][1], est.coef_, rtol=1e-12)
    assert_allclose(seen[-1][2], est.intercept_, rtol=1e-12)


def test_result_type():
    """fit_exact returns an ExactResult; no averaging, no carried state (issue #8)."""
    res, _ = _compare({"max_iter": 5, "tol": None})
    assert isinstance(res, ExactResult)
    assert res.standard is None
    assert res.coef.shape == (N_FEATURES,) and res.intercept.shape == (1,)
    assert isinstance(res.t, float) and isinstance(res.n_iter, int)
    assert all(isinstance(v, float) for v in res.loss_curve)


@pytest.mark.parametrize(
    "name, value, match",
    [
        ("loss", "hinge", "supports loss in"),
        ("penalty", "l3", "supports penalty in"),
        ("learning_rate", "cosine", "supports learning_rate in"),
    ],
)
def test_unsupported_hyperparameters(name, value, match):
    """Values scikit-learn's SGDRegressor has no per-sample algorithm for are
    refused with a clear error (issue #8)."""
    X, y = _make_data()
    params = SGDRegressor(random_state=0, max_iter=2).get_params() | {name: value}
    with pytest.raises(ValueError, match=match):
        _exact(params, X, y)
