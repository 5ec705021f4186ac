"""The shared training engine, exercised through SGDRegressorPlus: stopping
rules, the adaptive schedule, divergence, the atomic commit, averaging,
gradient clipping and the recorded curves."""

import importlib.util
import math
import re
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDRegressor

from skoptim import MLPClassifierPlus, SGDRegressorPlus
from skoptim.engine import FlatParams
from skoptim.optim import SGD, Adam, Adaptive

from _callbacks import NoOpCallback

HUGE_TOL = 1e10


def _stop_epoch(curve, tol, n_iter_no_change):
    """scikit-learn's rule on a metric to minimize: the 1-based epoch at which
    ``n_iter_no_change`` consecutive epochs failed to beat the best by ``tol``."""
    best, count = math.inf, 0
    for epoch, metric in enumerate(curve, start=1):
        count = count + 1 if metric > best - tol else 0
        best = min(best, metric)
        if count >= n_iter_no_change:
            return epoch
    return None


# ---------------------------------------------------------------------------
# Stopping rule
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("early_stopping", [False, True], ids=["loss", "validation"])
@pytest.mark.parametrize("n_iter_no_change", [1, 3, 5])
def test_huge_tol_stops_after_n_iter_no_change_plus_one_epochs(
        regression_data, n_iter_no_change, early_stopping):
    """The first epoch sets the best value; no later epoch beats it by tol."""
    X, y = regression_data
    est = SGDRegressorPlus(tol=HUGE_TOL, n_iter_no_change=n_iter_no_change,
                           early_stopping=early_stopping, random_state=0).fit(X, y)
    assert est.n_iter_ == n_iter_no_change + 1


@pytest.mark.parametrize("early_stopping", [False, True], ids=["loss", "validation"])
@pytest.mark.parametrize("n_iter_no_change", [1, 3, 5])
def test_huge_tol_epoch_count_matches_sgdregressor(regression_data, n_iter_no_change,
                                                   early_stopping):
    X, y = regression_data
    params = dict(tol=HUGE_TOL, n_iter_no_change=n_iter_no_change,
                  early_stopping=early_stopping, random_state=0)
    est = SGDRegressorPlus(**params).fit(X, y)
    ref = SGDRegressor(**params).fit(X, y)
    assert est.n_iter_ == ref.n_iter_


@pytest.mark.parametrize("n_iter_no_change", [2, 5])
def test_training_loss_stop_follows_the_rule_on_loss_curve(regression_data,
                                                           n_iter_no_change):
    X, y = regression_data
    est = SGDRegressorPlus(tol=1e-3, n_iter_no_change=n_iter_no_change,
                           random_state=0).fit(X, y)
    assert _stop_epoch(est.loss_curve_, 1e-3, n_iter_no_change) == est.n_iter_


@pytest.mark.parametrize("n_iter_no_change", [2, 5])
def test_validation_stop_follows_the_rule_on_validation_scores(regression_data,
                                                               n_iter_no_change):
    X, y = regression_data
    est = SGDRegressorPlus(tol=1e-4, n_iter_no_change=n_iter_no_change,
                           early_stopping=True, random_state=0).fit(X, y)
    negated = [-score for score in est.validation_scores_]
    assert _stop_epoch(negated, 1e-4, n_iter_no_change) == est.n_iter_


@pytest.mark.parametrize("early_stopping", [False, True], ids=["loss", "validation"])
def test_tol_none_runs_exactly_max_iter_epochs(regression_data, early_stopping):
    X, y = regression_data
    est = SGDRegressorPlus(tol=None, max_iter=12, early_stopping=early_stopping,
                           random_state=0).fit(X, y)
    assert est.n_iter_ == 12


# ---------------------------------------------------------------------------
# 'adaptive' lowers the rate on a stall instead of stopping
# ---------------------------------------------------------------------------


def _printed_rates(out):
    return [float(m.group(1)) for m in re.finditer(r"lr = ([0-9.e+-]+)", out)]


def test_adaptive_divides_rate_by_5_at_each_stall(regression_data, capsys):
    """With a huge tol and n_iter_no_change=2, the first stall ends epoch 3 and
    each later one two epochs on; training stops at the stall after the rate
    reached 0.01 / 5**6 = 6.4e-7 <= 1e-6 (sklearn's floor)."""
    X, y = regression_data
    SGDRegressorPlus(learning_rate="adaptive", eta0=0.01, tol=HUGE_TOL,
                     n_iter_no_change=2, verbose=2, random_state=0).fit(X, y)
    expected = [0.01] * 3 + [0.01 / 5**k for k in range(1, 7) for _ in range(2)]
    assert_allclose(_printed_rates(capsys.readouterr().out), expected, rtol=1e-2)


@pytest.mark.parametrize("n_iter_no_change", [1, 2, 5])
def test_adaptive_epoch_count_matches_sgdregressor(regression_data, n_iter_no_change):
    X, y = regression_data
    params = dict(learning_rate="adaptive", tol=HUGE_TOL,
                  n_iter_no_change=n_iter_no_change, random_state=0)
    est = SGDRegressorPlus(**params).fit(X, y)
    ref = SGDRegressor(**params).fit(X, y)
    assert est.n_iter_ == ref.n_iter_ == 1 + 7 * n_iter_no_change


def test_adaptive_floor_stops_training(regression_data):
    """Rates 0.01, 0.002, 0.0004: the third stall finds 0.0004 <= min_lr=1e-3."""
    X, y = regression_data
    est = SGDRegressorPlus(learning_rate=Adaptive(min_lr=1e-3), eta0=0.01,
                           tol=HUGE_TOL, n_iter_no_change=1, random_state=0).fit(X, y)
    assert est.n_iter_ == 4


# ---------------------------------------------------------------------------
# Divergence
# ---------------------------------------------------------------------------


def test_divergence_message_names_epoch_loss_and_eta0(regression_data):
    X, y = regression_data
    est = SGDRegressorPlus(solver="adam", eta0=1e6, learning_rate="constant",
                           random_state=0)
    message = (r"^Training diverged at epoch \d+ \(loss grew to \S+ from \S+\)\. "
               r"Try a smaller eta0 \(now 1000000\.0\); if that does not help, check "
               r"alpha \(now 0\.0001\) and the scale of X, y and sample_weight")
    with pytest.raises(ValueError, match=message):
        est.fit(X, y)


def test_non_finite_loss_is_reported_as_divergence(regression_data):
    X, y = regression_data
    est = SGDRegressorPlus(solver="adam", eta0=1e300, learning_rate="constant",
                           random_state=0)
    # scikit-learn's sentence for non-finite weights, then the hint.
    with pytest.raises(ValueError, match=r"\(loss is (inf|nan)\)\. Solver produced "
                       r"non-finite parameter weights\. .* Try a smaller eta0"):
        est.fit(X, y)


def test_plain_sgd_with_a_huge_rate_stays_stable(regression_data):
    """The step cap at the batch's curvature limit keeps mini-batch SGD stable
    for any eta0, where scikit-learn's SGDRegressor overflows (issue #2).
    (batch_size=1 is the exact mode, which overflows as scikit-learn does.)"""
    X, y = regression_data
    est = SGDRegressorPlus(batch_size=2, eta0=1e6, learning_rate="constant",
                           random_state=0, max_iter=20, tol=None).fit(X, y)
    assert est.score(X, y) > 0.5


def test_divergence_is_a_floating_point_error(regression_data):
    X, y = regression_data
    est = SGDRegressorPlus(solver="adam", eta0=1e6, learning_rate="constant",
                           random_state=0)
    with pytest.raises(FloatingPointError, match="smaller eta0"):
        est.fit(X, y)


# ---------------------------------------------------------------------------
# Atomic commit: an interrupted fit leaves the earlier fitted state intact
# ---------------------------------------------------------------------------


class RaiseAtEpochEnd(NoOpCallback):
    """Raises ``exception`` at the end of epoch number ``at_epoch`` (1-based)."""

    def __init__(self, exception, at_epoch):
        self.exception = exception
        self.at_epoch = at_epoch
        self.epochs = 0

    def on_fit_task_end(self, estimator, context):
        if context.task_name == "epoch":
            self.epochs += 1
            if self.epochs == self.at_epoch:
                raise self.exception


# A refit of fit() gets other data shapes (3 features, 2 targets), so the input
# validation has already reset n_features_in_ when the interruption comes.
REFITS = {
    "fit": ({}, "fit", 3, True),
    "warm-start-fit": ({"warm_start": True}, "fit", 3, False),
    "partial_fit": ({}, "partial_fit", 1, False),
    "adam-fit": ({"solver": "adam"}, "fit", 3, True),
}


@pytest.mark.parametrize("exception", [KeyboardInterrupt, RuntimeError("boom")],
                         ids=["KeyboardInterrupt", "RuntimeError"])
@pytest.mark.parametrize("params, method, at_epoch, reshape", REFITS.values(),
                         ids=REFITS)
def test_interrupted_refit_leaves_fitted_state_intact(regression_data, snapshot,
                                                      params, method, at_epoch,
                                                      reshape, exception):
    X, y = regression_data
    est = SGDRegressorPlus(max_iter=10, tol=None, random_state=0, **params).fit(X, y)
    predictions = est.predict(X)
    est.set_callbacks(RaiseAtEpochEnd(exception, at_epoch))
    before = snapshot(est)
    X_new, y_new = (X[:, :3], np.c_[y, -y]) if reshape else (2.0 * X, y)
    expected = exception if isinstance(exception, type) else type(exception)
    with pytest.raises(expected):
        getattr(est, method)(X_new, y_new)
    before.assert_unchanged(est)
    assert_array_equal(est.predict(X), predictions)


def test_interrupted_refit_keeps_feature_names(regression_data, snapshot):
    pd = pytest.importorskip("pandas")
    X, y = regression_data
    df = pd.DataFrame(X, columns=["a", "b", "c", "d", "e"])
    est = SGDRegressorPlus(max_iter=10, tol=None, random_state=0).fit(df, y)
    est.set_callbacks(RaiseAtEpochEnd(KeyboardInterrupt, 2))
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)  # an ndarray: validation drops feature_names_in_
    assert_array_equal(est.feature_names_in_, ["a", "b", "c", "d", "e"])


def test_interrupted_first_fit_leaves_estimator_unfitted(regression_data):
    X, y = regression_data
    est = SGDRegressorPlus(random_state=0)
    est.set_callbacks(RaiseAtEpochEnd(KeyboardInterrupt, 2))
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    assert not hasattr(est, "coef_")


def test_refit_after_interrupt_equals_uninterrupted_fit(regression_data):
    X, y = regression_data
    est = SGDRegressorPlus(max_iter=10, tol=None, random_state=0)
    est.set_callbacks(RaiseAtEpochEnd(KeyboardInterrupt, 2))
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    est.fit(X, y)  # the callback raises only once
    plain = SGDRegressorPlus(max_iter=10, tol=None, random_state=0).fit(X, y)
    assert_array_equal(est.coef_, plain.coef_)


# ---------------------------------------------------------------------------
# Gradient clipping
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("clip_norm", [None, 1.0, 1e6])
def test_sgd_clip_norm_rescales_the_first_full_batch_step(regression_data, clip_norm):
    """One full-batch step from zero: the gradient of mean(r**2 / 2) is
    ``(-X.T @ y / n, -mean(y))`` and the rate is ``eta0 * n`` (constant, under
    the curvature cap); clipping rescales it to norm at most ``clip_norm``."""
    X, y = regression_data
    n = X.shape[0]
    est = SGDRegressorPlus(solver=SGD(clip_norm=clip_norm), penalty=None, eta0=1e-4,
                           learning_rate="constant", batch_size=n, shuffle=False,
                           random_state=0).partial_fit(X, y)
    grad = np.r_[-X.T @ y / n, -y.mean()]
    scale = 1.0 if clip_norm is None else min(1.0, clip_norm / np.linalg.norm(grad))
    step = 1e-4 * n * scale * grad
    assert_allclose(np.r_[est.coef_, est.intercept_], -step, rtol=1e-10)


def test_adam_with_clip_norm_reaches_sgdregressor_quality(diabetes_split):
    X_train, X_test, y_train, y_test = diabetes_split
    est = SGDRegressorPlus(solver=Adam(clip_norm=1.0), eta0=1.0,
                           learning_rate="constant", random_state=0)
    est.fit(X_train, y_train)
    ref = SGDRegressor(random_state=0).fit(X_train, y_train)
    assert est.score(X_test, y_test) >= ref.score(X_test, y_test) - 0.01


# ---------------------------------------------------------------------------
# Averaging and the recorded curves
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("average, first", [(True, 1), (400, 2)],
                         ids=["from-start", "from-400-samples"])
def test_average_is_the_mean_of_the_iterates(regression_data, average, first):
    """Full-batch steps on 200 rows: averaging from 400 samples seen starts
    with the second iterate."""
    X, y = regression_data
    common = dict(batch_size=len(y), shuffle=False, tol=None, random_state=0)
    iterates = [SGDRegressorPlus(max_iter=k, **common).fit(X, y).coef_
                for k in range(first, 7)]
    averaged = SGDRegressorPlus(max_iter=6, average=average, **common).fit(X, y)
    assert_allclose(averaged.coef_, np.mean(iterates, axis=0), rtol=1e-12)


def test_first_epoch_loss_is_the_objective_at_zero_weights(regression_data):
    X, y = regression_data
    est = SGDRegressorPlus(penalty=None, batch_size=len(y), max_iter=3, tol=None,
                           random_state=0).fit(X, y)
    assert est.loss_curve_[0] == pytest.approx(np.mean(y**2) / 2, rel=1e-12)


def test_loss_curve_has_one_entry_per_epoch(regression_data):
    X, y = regression_data
    est = SGDRegressorPlus(max_iter=9, tol=None, random_state=0).fit(X, y)
    assert len(est.loss_curve_) == est.n_iter_ == 9


def test_best_loss_is_min_of_loss_curve(regression_data):
    X, y = regression_data
    est = SGDRegressorPlus(max_iter=9, tol=None, random_state=0).fit(X, y)
    assert est.best_loss_ == min(est.loss_curve_)


def test_loss_is_last_of_loss_curve(regression_data):
    X, y = regression_data
    est = SGDRegressorPlus(max_iter=9, tol=None, random_state=0).fit(X, y)
    assert est.loss_ == est.loss_curve_[-1]


# ---------------------------------------------------------------------------
# One parameter buffer: every optimizer step is one update of one array
# ---------------------------------------------------------------------------


class _RecordingAdam(Adam):
    """Adam that records the shapes of the gradient arrays of each update."""

    shapes = []

    def update(self, grads, state, *, lr, xp):
        type(self).shapes.append([tuple(g.shape) for g in grads])
        return super().update(grads, state, lr=lr, xp=xp)


@pytest.mark.parametrize("make", [
    lambda: (SGDRegressorPlus(solver=_RecordingAdam(), max_iter=2, tol=None),
             5 * 2 + 2),
    lambda: (MLPClassifierPlus(hidden_layer_sizes=(7, 3), solver=_RecordingAdam(),
                               max_iter=2, batch_size=16),
             5 * 7 + 7 + 7 * 3 + 3 + 3 * 3 + 3),
], ids=["sgd-2-targets", "mlp-7-3"])
def test_optimizer_updates_every_parameter_as_one_array(make):
    """The optimizer sees a single gradient array holding all the parameters
    (one fused kernel per step on a GPU), never one array per layer."""
    est, n_params = make()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 5))
    y = X[:, :2] @ np.array([[1.0, 2.0], [3.0, -1.0]]) if isinstance(
        est, SGDRegressorPlus) else rng.integers(0, 3, 64)
    _RecordingAdam.shapes = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert _RecordingAdam.shapes
    assert all(shapes == [(n_params,)] for shapes in _RecordingAdam.shapes)


def _namespaces():
    yield "numpy", np
    try:
        import array_api_strict
    except ImportError:  # pragma: no cover - a test dependency
        pass
    else:
        yield "array_api_strict", array_api_strict
    if importlib.util.find_spec("torch") is not None:
        from array_api_compat import torch as torch_xp

        yield "torch", torch_xp


@pytest.mark.parametrize("name, xp", list(_namespaces()), ids=lambda v: v if
                         isinstance(v, str) else "")
def test_flat_params_views_share_one_buffer(name, xp):
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=s) for s in [(3, 4), (4,), (4, 2), (2,)]]
    flat = FlatParams([xp.asarray(a) for a in arrays], penalized=(0, 2), xp=xp)
    # The buffer is a copy, penalized arrays first, and the views hold the values.
    expected = np.concatenate([arrays[i].ravel() for i in (0, 2, 1, 3)])
    assert_array_equal(np.asarray(flat.buffer), expected)
    assert flat.n_head == 12 + 8
    assert_array_equal(np.asarray(flat.head(flat.buffer)), expected[:20])
    for view, a in zip(flat.views, arrays):
        assert_array_equal(np.asarray(view), a)
    # In-place updates of the buffer show through the views, and back.
    flat.buffer -= 1.0
    for view, a in zip(flat.views, arrays):
        assert_array_equal(np.asarray(view), a - 1.0)
    flat.views[1][...] = 0.0
    assert_array_equal(np.asarray(flat.buffer)[20:24], 0.0)
    # fill copies arrays into views of another buffer of the same layout.
    other = xp.zeros_like(flat.buffer)
    views = flat.split(other)
    flat.fill(views, [xp.asarray(a) for a in arrays])
    assert_array_equal(np.asarray(other), expected)


@pytest.mark.parametrize("name, xp", list(_namespaces()), ids=lambda v: v if
                         isinstance(v, str) else "")
def test_batch_weights_of_a_device_permutation(name, xp):
    """The GPU path sums each batch's sample weights on the device (one
    transfer per epoch); it must equal the host's per-batch sums."""
    from skoptim.engine._data import _device_batch_weights

    rng = np.random.default_rng(0)
    n, B = 103, 10
    sw = rng.uniform(0.1, 3.0, n)
    perm = rng.permutation(n)
    starts = list(range(0, n, B))
    expected = np.add.reduceat(sw[perm], starts)
    got = _device_batch_weights(xp.asarray(sw), xp.asarray(perm), starts, n, xp)
    assert_allclose(got, expected, rtol=1e-12)


# ---------------------------------------------------------------------------
# Batches cut by weight over groups of identical rows (small data, issue #8)
# ---------------------------------------------------------------------------


def _grouped_batches(X, y, sw, batch_weight, seed=0):
    from skoptim._backend import resolve_backend
    from skoptim.engine._data import _GroupedOrder

    backend = resolve_backend(X)
    order = _GroupedOrder(X, y, sw, batch_weight)
    batches = list(order.epoch(backend.rng(seed), backend))
    return order, batches


@pytest.mark.parametrize("weights", ["ones", "integers", "fractions"])
def test_weighted_batches_give_every_row_its_weight(weights):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(37, 3))
    y = rng.normal(size=37)
    sw = {"ones": None, "integers": rng.integers(1, 5, 37).astype(float),
          "fractions": rng.uniform(0.1, 3.0, 37)}[weights]
    order, batches = _grouped_batches(X, y, sw, batch_weight=4)
    got = np.zeros(37)
    for rows, w, size, bw in batches:
        assert w.sum() == pytest.approx(bw)
        np.add.at(got, rows, w)
    assert_allclose(got, np.ones(37) if sw is None else sw)
    assert sum(bw for *_, bw in batches) == pytest.approx(order.total)


def test_weighted_batches_of_a_weighted_row_and_its_copies_agree():
    """A row of weight k and k copies of it land in the same batches with the
    same weight: sample weights mean repeated rows exactly."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(12, 2))
    y = rng.normal(size=12)
    sw = rng.integers(1, 4, 12).astype(float)
    Xr, yr = np.repeat(X, sw.astype(int), axis=0), np.repeat(y, sw.astype(int))
    shuffle = rng.permutation(len(Xr))
    Xr, yr = Xr[shuffle], yr[shuffle]
    _, weighted = _grouped_batches(X, y, sw, batch_weight=3)
    _, repeated = _grouped_batches(Xr, yr, None, batch_weight=3)
    assert len(weighted) == len(repeated)

    def content(X, y, rows, w):
        return sorted(zip(map(tuple, X[rows]), y[rows], w))

    for (r1, w1, *_), (r2, w2, *_) in zip(weighted, repeated):
        # The same rows with the same total weight per distinct row.
        merged = {}
        for key, _, w in content(Xr, yr, r2, w2):
            merged[key] = merged.get(key, 0.0) + w
        assert {k: pytest.approx(v) for k, v in merged.items()} == {
            key: w for key, _, w in content(X, y, r1, w1)}


def _reference_row_groups(X, y):
    """The groups as first written: ``np.unique`` of the rows' keys and the
    bits of ``y`` as signed int64 columns (lexicographic order)."""
    from skoptim._random import row_keys

    n = X.shape[0]
    y_np = np.asarray(y, dtype=np.float64).reshape(n, -1)
    keys = np.column_stack([row_keys(X).view(np.int64), y_np.view(np.int64)])
    _, first, group = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    return first, group.ravel()


@pytest.mark.parametrize("duplicates", [False, True])
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_row_groups_are_those_of_unique_rows_in_key_order(duplicates, n_outputs):
    from skoptim.engine._data import row_groups

    rng = np.random.default_rng(4)
    n = 300
    X = rng.normal(size=(n, 5))
    X[rng.random(X.shape) < 0.3] = 0.0
    y = rng.normal(size=(n, n_outputs)).squeeze()
    if duplicates:
        copies = rng.integers(0, n, 120)
        X[copies] = X[copies[::-1]]
        y[copies] = y[copies[::-1]]
        # Equal rows of X with different targets: separate groups, ordered by y.
        X[7] = X[8] = X[9] = X[0]
        y[8] = y[0]
    first, group = _reference_row_groups(X, y)
    y_np, got_first, got_group, by_group = row_groups(X, y)
    assert_array_equal(got_first, first)
    assert_array_equal(got_group, group)
    assert_array_equal(y_np, np.asarray(y, dtype=np.float64).reshape(n, -1))
    # Rows grouped, groups in key order, rows of a group in their order.
    assert_array_equal(by_group, np.argsort(group, kind="stable"))


@pytest.mark.parametrize("duplicates", [False, True])
def test_grouped_order_lays_permuted_groups_end_to_end(duplicates):
    from skoptim.engine._data import _GroupedOrder

    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 3))
    y = rng.normal(size=200)
    if duplicates:
        X[100:160], y[100:160] = X[:60:2].repeat(2, axis=0), y[:60:2].repeat(2)
    order = _GroupedOrder(X, y, None, 16)

    class Draws:  # the permutation the epoch's stream would give, recorded
        def permutation(self, k):
            self.perm = rng.permutation(k)
            return self.perm

    draws = Draws()
    for _ in range(3):
        rows = order.arrays(draws)[0]
        # The reference: rows sorted (stably) by the rank of their group.
        rank = np.empty(order.n_groups, dtype=np.intp)
        rank[draws.perm] = np.arange(order.n_groups)
        expected = order.by_group[np.argsort(rank[order.group[order.by_group]],
                                             kind="stable")]
        assert_array_equal(rows, expected)
