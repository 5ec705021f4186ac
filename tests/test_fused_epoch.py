"""The linear models' fused epoch (one compiled loop over an epoch's batches,
``skoptim.models._linear._FusedLinearEpoch``) against the engine's batch by
batch loop: the same steps, to rounding, for every loss it compiles, dense
and sparse data, sample and class weights, batches cut by weight (small data)
or by rows, shuffled or not; and the configurations it leaves to the loop."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

pytest.importorskip("numba")

from skoptim import SGDClassifierPlus, SGDRegressorPlus  # noqa: E402
from skoptim.models import _linear  # noqa: E402


def _data(storage, n, d, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if storage == "csr":
        X = sp.random(n, d, density=0.1, format="csr", random_state=seed, dtype=np.float64,
                      data_rvs=rng.standard_normal)
    else:
        X = rng.standard_normal((n, d))
    y = np.asarray(X @ rng.standard_normal(d)).ravel() + 0.3 * rng.standard_normal(n)
    return X.astype(dtype), y, rng.random(n) + 0.5


def _fit(make, X, y, monkeypatch, *, fused, **fit_params):
    """``(estimator, batches the fused loop ran)``, the loop on or off."""
    calls = []
    with monkeypatch.context() as m:
        if fused:
            run = _linear._FusedLinearEpoch.run
            m.setattr(_linear._FusedLinearEpoch, "run",
                      lambda self, plan, *a: calls.append(len(plan)) or run(self, plan, *a))
        else:
            m.setattr(_linear.LinearProblem, "fused_epoch", lambda *a, **k: None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = make().fit(X, y, **fit_params)
    return est, sum(calls)


CASES = [
    # (estimator factory, target kind, sample weights)
    ("squared_error", lambda: SGDRegressorPlus(random_state=0, max_iter=8, tol=None), "r",
     False),
    ("huber, weighted", lambda: SGDRegressorPlus(loss="huber", epsilon=0.3, random_state=0,
                                                 max_iter=8, tol=None), "r", True),
    ("epsilon_insensitive", lambda: SGDRegressorPlus(
        loss="epsilon_insensitive", random_state=0, max_iter=8, tol=None), "r", False),
    ("squared_epsilon_insensitive, elastic net without l1", lambda: SGDRegressorPlus(
        loss="squared_epsilon_insensitive", penalty="elasticnet", l1_ratio=0.0,
        random_state=0, max_iter=8, tol=None), "r", True),
    ("no intercept, default tol", lambda: SGDRegressorPlus(
        fit_intercept=False, random_state=0), "r", False),
    ("hinge", lambda: SGDClassifierPlus(random_state=0, max_iter=8, tol=None), "2", False),
    ("modified_huber, three classes, class weights", lambda: SGDClassifierPlus(
        loss="modified_huber", class_weight="balanced", random_state=0, max_iter=8,
        tol=None), "3", False),
    ("squared_hinge, weighted, invscaling", lambda: SGDClassifierPlus(
        loss="squared_hinge", learning_rate="invscaling", eta0=0.05, random_state=0,
        max_iter=8, tol=None), "3", True),
    ("perceptron", lambda: SGDClassifierPlus(loss="perceptron", random_state=0, max_iter=8,
                                             tol=None), "2", False),
    ("log_loss", lambda: SGDClassifierPlus(loss="log_loss", random_state=0, max_iter=8,
                                           tol=None), "2", False),
    ("log_loss, three classes, weighted, class weights", lambda: SGDClassifierPlus(
        loss="log_loss", class_weight="balanced", random_state=0, max_iter=8, tol=None),
     "3", True),
    ("average", lambda: SGDRegressorPlus(average=True, random_state=0, max_iter=8,
                                         tol=None), "r", False),
    ("average from sample 2,000, weighted", lambda: SGDRegressorPlus(
        average=2000, random_state=0, max_iter=8, tol=None), "r", True),
    ("hinge, three classes, average, default tol", lambda: SGDClassifierPlus(
        average=True, random_state=0), "3", False),
]


@pytest.mark.parametrize("storage", ["dense", "csr"])
@pytest.mark.parametrize("n", [400, 9000])  # batches cut by weight / by rows
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_fused_epoch_takes_the_batch_loops_steps(case, n, storage, monkeypatch):
    _, make, kind, weighted = case
    X, y, sw = _data(storage, n, 6 if storage == "dense" else 40, np.float64)
    target = {"r": y, "2": (y > 0).astype(int), "3": np.digitize(y, [-0.5, 0.5])}[kind]
    params = {"sample_weight": sw} if weighted else {}
    fused, steps = _fit(make, X, target, monkeypatch, fused=True, **params)
    loop, _ = _fit(make, X, target, monkeypatch, fused=False, **params)
    assert steps > 0  # the fused loop ran
    assert fused.n_iter_ == loop.n_iter_ and fused.t_ == loop.t_
    scale = np.max(np.abs(loop.coef_))
    assert_allclose(fused.coef_, loop.coef_, rtol=1e-9, atol=1e-12 * scale)
    assert_allclose(fused.intercept_, loop.intercept_, rtol=1e-9, atol=1e-12 * scale)


@pytest.mark.parametrize("storage", ["dense", "csr"])
def test_fused_epoch_in_float32_and_unshuffled(storage, monkeypatch):
    X, y, _ = _data(storage, 600, 6 if storage == "dense" else 40, np.float32, seed=1)
    for make in (lambda: SGDRegressorPlus(random_state=0, max_iter=6, tol=None),
                 lambda: SGDRegressorPlus(shuffle=False, max_iter=6, tol=None)):
        fused, steps = _fit(make, X, y.astype(np.float32), monkeypatch, fused=True)
        loop, _ = _fit(make, X, y.astype(np.float32), monkeypatch, fused=False)
        assert steps > 0 and fused.coef_.dtype == np.float32
        assert_allclose(fused.coef_, loop.coef_, rtol=2e-4, atol=1e-5)
        assert_allclose(fused.intercept_, loop.intercept_, rtol=2e-4, atol=1e-5)


@pytest.mark.parametrize("make", [
    lambda: SGDRegressorPlus(penalty="l1", max_iter=3, tol=None),  # cumulative L1
    lambda: SGDRegressorPlus(solver="momentum", max_iter=3, tol=None),
    lambda: SGDRegressorPlus(dropout=0.2, max_iter=3, tol=None),
], ids=["l1", "momentum", "dropout"])
def test_configurations_the_fused_epoch_leaves_to_the_batch_loop(make, monkeypatch):
    X, y, _ = _data("dense", 9000, 6, np.float64)
    target = (y > 0).astype(int) if isinstance(make(), SGDClassifierPlus) else y
    _, steps = _fit(make, X, target, monkeypatch, fused=True)
    assert steps == 0


@pytest.mark.parametrize("storage", ["dense", "csr"])
def test_large_batches_of_dense_data_beyond_the_cache_are_gathered(storage, monkeypatch):
    # The loop reads a batch's rows twice: beyond _FUSED_BYTES (the data no
    # longer stays in cache) batches of more than _FUSED_ROWS dense rows run
    # gathered (BLAS); smaller batches, or any batch of data within it, run
    # fused. CSR data with one output run fused at any size (its gathered
    # batches cost a copy and two compiled products, more than the loop).
    X, y, _ = _data(storage, 9000, 6 if storage == "dense" else 40, np.float64)
    large, small = 4500, _linear._FUSED_ROWS
    assert small < large

    def steps(batch_size):
        make = lambda: SGDRegressorPlus(max_iter=2, tol=None,  # noqa: E731
                                        batch_size=batch_size)
        return _fit(make, X, y, monkeypatch, fused=True)[1]

    assert steps(large) > 0
    monkeypatch.setattr(_linear, "_FUSED_BYTES", 1000)
    assert (steps(large) == 0) == (storage == "dense")
    assert steps(small) > 0


def test_several_outputs_fuse_small_batches_of_narrow_rows(monkeypatch):
    # With several outputs the loop's per-output sums lose to BLAS on long
    # rows and large batches.
    def steps(d, **params):
        X, y, _ = _data("dense", 3000, d, np.float64)
        make = lambda: SGDClassifierPlus(max_iter=2, tol=None, **params)  # noqa: E731
        return _fit(make, X, np.digitize(y, [-0.5, 0.5]), monkeypatch, fused=True)[1]

    assert 6 * 3 <= _linear._FUSED_ROW_WORK < 400 * 3
    assert steps(6) > 0
    assert steps(6, batch_size=_linear._FUSED_ROWS + 1) == 0
    assert steps(400) == 0


@pytest.mark.parametrize("average", [False, True, 1500])
def test_fused_partial_fit_continues_as_the_batch_loop_does(average, monkeypatch):
    # partial_fit carries the clock (the schedule's position), the random
    # stream and the running average from call to call; the fused loop reads
    # and advances them alike.
    X, y, sw = _data("csr", 3000, 40, np.float64, seed=2)
    results = []
    for fused in (True, False):
        with monkeypatch.context() as m:
            if not fused:
                m.setattr(_linear.LinearProblem, "fused_epoch", lambda *a, **k: None)
            est = SGDRegressorPlus(random_state=0, learning_rate="invscaling",
                                   average=average)
            for start in range(0, 3000, 1000):
                est.partial_fit(X[start:start + 1000], y[start:start + 1000],
                                sample_weight=sw[start:start + 1000])
            results.append(est)
    fused, loop = results
    assert fused.t_ == loop.t_
    assert_allclose(fused.coef_, loop.coef_, rtol=1e-9, atol=1e-12)
    assert_allclose(fused.intercept_, loop.intercept_, rtol=1e-9, atol=1e-12)


def test_fused_epoch_in_several_calls_is_the_same(monkeypatch):
    # An epoch runs in calls of about _FUSED_CALL_ROWS rows (Python, and with
    # it KeyboardInterrupt, gets a turn between them): bit for bit the same.
    X, y, sw = _data("csr", 3000, 40, np.float64, seed=3)
    make = lambda: SGDRegressorPlus(random_state=0, max_iter=4, tol=None)  # noqa: E731
    whole, steps = _fit(make, X, y, monkeypatch, fused=True, sample_weight=sw)
    calls = []
    with monkeypatch.context() as m:
        m.setattr(_linear, "_FUSED_CALL_ROWS", 1)
        from skoptim import _cpu_passes

        original = _cpu_passes.linear_epoch_csr
        m.setattr(_cpu_passes, "linear_epoch_csr",
                  lambda *a: calls.append(1) or original(*a))
        pieces, _ = _fit(make, X, y, monkeypatch, fused=True, sample_weight=sw)
    assert steps > 0 and len(calls) == steps  # one call a batch
    np.testing.assert_array_equal(pieces.coef_, whole.coef_)
    np.testing.assert_array_equal(pieces.intercept_, whole.intercept_)


def test_a_penalty_beyond_float32_overflows_as_in_the_batch_loop(monkeypatch):
    # alpha=1e300 is infinite in float32: both loops report what follows
    # (a ValueError naming alpha, or finite weights), without a warning of
    # skoptim's own (the fused loop casts under the batch loop's errstate).
    X = np.array([[0.13], [-0.13]], dtype=np.float32)
    y = np.array([0.5, -0.5], dtype=np.float32)
    outcomes = []
    for fused in (True, False):
        with monkeypatch.context() as m, warnings.catch_warnings():
            if not fused:
                m.setattr(_linear.LinearProblem, "fused_epoch", lambda *a, **k: None)
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.filterwarnings("error", category=RuntimeWarning, module="skoptim")
            est = SGDRegressorPlus(alpha=1e300, learning_rate="optimal", max_iter=3,
                                   random_state=0)
            try:
                est.fit(X, y)
                outcomes.append(("fitted", bool(np.isfinite(est.coef_).all())))
            except ValueError as exc:
                assert "alpha" in str(exc)
                outcomes.append(("ValueError", None))
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("n", [400, 9000])  # batches cut by weight / by rows
@pytest.mark.parametrize("make, weighted", [
    (lambda: SGDRegressorPlus(random_state=0, max_iter=3, tol=None), True),
    (lambda: SGDRegressorPlus(fit_intercept=False, random_state=0, max_iter=3, tol=None),
     False),
    (lambda: SGDRegressorPlus(learning_rate="constant", eta0=0.003, random_state=0,
                              max_iter=3, tol=None), True),
    (lambda: SGDRegressorPlus(learning_rate="adaptive", random_state=0, max_iter=3,
                              tol=None), False),
    (lambda: SGDClassifierPlus(random_state=0, max_iter=3, tol=None), False),  # optimal
    (lambda: SGDClassifierPlus(learning_rate="invscaling", eta0=0.5, random_state=0,
                               max_iter=3, tol=None), True),
], ids=["invscaling, weighted", "no intercept", "constant, weighted", "adaptive",
        "optimal", "classifier invscaling, weighted"])
def test_an_epochs_step_sizes_and_batches_are_those_of_the_batch_loop(make, weighted, n,
                                                                       monkeypatch):
    # The fused epoch draws its batches (BatchPlan.index_epoch) and computes
    # its step sizes (Stepper.rates) for the whole epoch at once: the batches
    # BatchPlan.epoch draws from the same random state, and the sizes
    # Stepper.rate and the rule's block scales give step by step with the
    # clock advancing, to rounding (vectorised powers).
    from dataclasses import replace

    from skoptim.engine import _data as engine_data
    from skoptim.engine import _step

    X, y, sw = _data("dense", n, 5, np.float64, seed=4)
    X *= 0.1  # features of small curvature: the intercept's steps are scaled down
    if isinstance(make(), SGDClassifierPlus):
        y = (y > 0).astype(int)
    checked = {"rates": 0, "batches": 0, "smallest tail": 1.0}
    rates, index_epoch = _step.Stepper.rates, engine_data.BatchPlan.index_epoch

    def checked_rates(self, clock, sched_state, *, rows, weights):
        sizes, heads, tails = rates(self, clock, sched_state, rows=rows, weights=weights)
        reading = replace(clock)
        for k in range(len(weights)):
            size = self.rate(reading, sched_state, rows=rows[k], weight=float(weights[k]))
            assert_allclose([sizes[k], heads[k], tails[k]],
                            [size, *self.rule.block_scales()], rtol=1e-14, atol=0)
            reading.step += 1
            reading.n_samples_seen += float(weights[k])
        checked["rates"] += len(weights)
        checked["smallest tail"] = min(checked["smallest tail"], float(tails.min()))
        return sizes, heads, tails

    def checked_index_epoch(self, rng):
        twin = type(rng)(self.backend, rng.state())
        index = index_epoch(self, rng)
        data_X, _, data_sw = (g.a for g in self.take)
        b = -1
        # Compared as they come: the batch loop gathers into a reused buffer.
        for b, (Xb, _, swb, _, size, weight) in enumerate(
                self.epoch(twin, noise_seed=0, epoch=0)):
            rows = index.rows[index.offsets[b]:index.offsets[b + 1]]
            assert_array_equal(Xb, data_X[rows])
            if swb is None:
                assert data_sw is None and index.row_weights is None
            elif index.row_weights is None:
                assert_array_equal(swb, data_sw[rows])
            else:
                assert_array_equal(swb, index.row_weights[index.offsets[b]:index.offsets[b + 1]])
            assert (index.sizes[b], index.weights[b]) == (size, weight)
        assert b + 1 == len(index) > 1
        assert rng.state() == twin.state()
        checked["batches"] += len(index)
        return index

    with monkeypatch.context() as m:
        m.setattr(_step.Stepper, "rates", checked_rates)
        m.setattr(engine_data.BatchPlan, "index_epoch", checked_index_epoch)
        _fit(make, X, y, monkeypatch, fused=True, sample_weight=sw if weighted else None)
    assert checked["rates"] == checked["batches"] > 0
    if not make().fit_intercept:
        assert checked["smallest tail"] == 1.0
    elif isinstance(make(), SGDClassifierPlus):  # steps large enough to cap the intercept's
        assert checked["smallest tail"] < 1.0


@pytest.mark.parametrize("n, batch", [(400, 12), (401, 7), (50, 50), (3, 1)])
def test_grouped_batches_of_unit_weights_are_those_of_weights_one(n, batch):
    # Without sample weights, batches cut by weight take a shortcut (each row
    # lies whole in one batch): the batches that weights of one give.
    from skoptim._backend import resolve_backend
    from skoptim.engine._data import _GroupedOrder

    X, y, _ = _data("dense", n, 3, np.float64, seed=5)
    X[1] = X[0]  # a group of two identical rows
    y[1] = y[0]
    backend = resolve_backend(X)
    unit, ones = _GroupedOrder(X, y, None, batch), _GroupedOrder(X, y, np.ones(n), batch)
    assert unit.unit and not ones.unit
    for epoch in range(3):
        got, expected = (order.arrays(backend.rng(epoch)) for order in (unit, ones))
        for a, b in zip(got, expected, strict=True):
            assert_array_equal(a, b)


@pytest.mark.parametrize("make, kind, weighted", [
    (lambda: SGDRegressorPlus(random_state=0, max_iter=6, tol=None), "r", False),
    (lambda: SGDRegressorPlus(alpha=10.0, learning_rate="constant", eta0=0.5,
                              random_state=0, max_iter=6, tol=None), "r",
     True),  # the penalty shrinks the scale below 1e-9: folded into the weights
    (lambda: SGDClassifierPlus(random_state=0, max_iter=6, tol=None), "3", False),
    (lambda: SGDClassifierPlus(loss="log_loss", class_weight="balanced", random_state=0,
                               max_iter=6, tol=None), "2", True),
    (lambda: SGDRegressorPlus(fit_intercept=False, random_state=0, max_iter=6, tol=None,
                              batch_size=16), "r", False),
], ids=["squared_error", "alpha=10, weighted", "hinge, three classes",
        "log_loss, class and sample weights", "no intercept, batches of 16"])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])  # unsigned views of each
def test_lazy_steps_on_wide_sparse_data_are_the_batch_loops(make, kind, weighted,
                                                             index_dtype, monkeypatch):
    # Fewer stored values a batch than features (text): the fused loop keeps
    # the weights as a scale times a buffer and moves only the batch's
    # features; the steps are the batch loop's, to rounding.
    rng = np.random.default_rng(7)
    X = sp.random(2000, 3000, density=0.002, format="csr", random_state=7,
                  data_rvs=lambda k: rng.random(k) * 2)
    X.indices, X.indptr = X.indices.astype(index_dtype), X.indptr.astype(index_dtype)
    y = np.asarray(X @ rng.standard_normal(3000)).ravel() + 0.1 * rng.standard_normal(2000)
    target = {"r": y, "2": (y > 0).astype(int), "3": np.digitize(y, [-0.3, 0.3])}[kind]
    params = {"sample_weight": rng.random(2000) + 0.5} if weighted else {}
    lazy = []
    run = _linear._FusedLinearEpoch.run
    with monkeypatch.context() as m:
        m.setattr(_linear._FusedLinearEpoch, "run",
                  lambda self, *a: lazy.append(self.lazy) or run(self, *a))
        fused, _ = _fit(make, X, target, monkeypatch, fused=True, **params)
    loop, _ = _fit(make, X, target, monkeypatch, fused=False, **params)
    assert lazy and all(lazy)
    assert fused.n_iter_ == loop.n_iter_ and fused.t_ == loop.t_
    scale = np.max(np.abs(loop.coef_))
    assert_allclose(fused.coef_, loop.coef_, rtol=1e-9, atol=1e-12 * scale)
    assert_allclose(fused.intercept_, loop.intercept_, rtol=1e-9, atol=1e-12 * scale)


def test_lazy_steps_in_float32_and_partial_fit(monkeypatch):
    # float32 weights held as a float32 scale times a buffer; partial_fit
    # calls each end with the scale folded in and start from those weights.
    rng = np.random.default_rng(9)
    X = sp.random(3000, 4000, density=0.002, format="csr", random_state=9,
                  data_rvs=lambda k: rng.random(k) * 2)
    y = np.asarray(X @ rng.standard_normal(4000)).ravel() + 0.1 * rng.standard_normal(3000)
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    make = lambda: SGDRegressorPlus(random_state=0, max_iter=5, tol=None)  # noqa: E731
    fused, steps = _fit(make, X32, y32, monkeypatch, fused=True)
    loop, _ = _fit(make, X32, y32, monkeypatch, fused=False)
    assert steps > 0 and fused.coef_.dtype == np.float32
    assert_allclose(fused.coef_, loop.coef_, rtol=2e-4, atol=1e-5)
    assert_allclose(fused.intercept_, loop.intercept_, rtol=2e-4, atol=1e-5)
    results, lazy = [], []
    run = _linear._FusedLinearEpoch.run
    for fused in (True, False):
        with monkeypatch.context() as m:
            if fused:
                m.setattr(_linear._FusedLinearEpoch, "run",
                          lambda self, *a: lazy.append(self.lazy) or run(self, *a))
            else:
                m.setattr(_linear.LinearProblem, "fused_epoch", lambda *a, **k: None)
            est = SGDRegressorPlus(random_state=0)
            for start in range(0, 3000, 1000):
                est.partial_fit(X[start:start + 1000], y[start:start + 1000])
            results.append(est)
    assert lazy == [True] * 3
    assert_allclose(results[0].coef_, results[1].coef_, rtol=1e-9, atol=1e-12)
    assert_allclose(results[0].intercept_, results[1].intercept_, rtol=1e-9, atol=1e-12)


def _text_like(n, d=1 << 15, tokens=30, seed=8):
    """TF-IDF-like rows (unit length) of Zipf-distributed hashed tokens and
    labels from the frequent tokens' weights."""
    rng = np.random.default_rng(seed)
    vocabulary = 20_000
    p = 1.0 / (np.arange(vocabulary) + 2.7)
    words = rng.choice(vocabulary, size=n * tokens, p=p / p.sum())
    rows = np.repeat(np.arange(n), tokens)
    X = sp.csr_matrix((np.ones(words.size), (rows, rng.integers(0, d, vocabulary)[words])),
                      shape=(n, d))
    X.sum_duplicates()
    X = sp.csr_matrix(sp.diags(1.0 / np.sqrt(X.multiply(X).sum(axis=1).A.ravel())) @ X)
    weight = rng.standard_normal(vocabulary) * (np.arange(vocabulary) < 1000)
    score = np.bincount(rows, weights=weight[words], minlength=n)
    return X, (score + 0.3 * np.std(score) * rng.standard_normal(n) > 0).astype(int)


def test_wide_sparse_data_take_small_batches(monkeypatch):
    # Where the fused loop's lazy steps run (plain SGD, CSR data with fewer
    # stored values a batch than features), batch_size='auto' takes small
    # batches; elsewhere the usual rule.
    from skoptim import _kernels
    from skoptim.linear_model import _base

    X, y = _text_like(3000)
    small = _base._WIDE_SPARSE_BATCH

    def batch(est, X=X):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return est.set_params(max_iter=2, tol=None).fit(X, y).batch_size_

    assert batch(SGDClassifierPlus()) == small
    assert batch(SGDRegressorPlus(loss="huber")) == small
    assert batch(SGDClassifierPlus(penalty="elasticnet")) > small  # L1: not fused
    assert batch(SGDClassifierPlus(solver="adam")) > small
    narrow = sp.random(3000, 20, density=0.5, format="csr", random_state=0)
    assert batch(SGDClassifierPlus(), narrow) > small
    assert batch(SGDClassifierPlus(), X[:, :2000].toarray()) > small  # dense
    mixed = X.copy()  # index arrays of two types: the compiled loop does not run
    mixed.indices, mixed.indptr = mixed.indices.astype(np.int32), mixed.indptr.astype(np.int64)
    assert batch(SGDClassifierPlus(), mixed) > small
    with monkeypatch.context() as m:  # no compiled passes: steps batch by batch
        m.setattr(_kernels, "CPU_KERNELS", False)
        assert batch(SGDClassifierPlus()) > small


def test_wide_sparse_classification_learns_as_scikit_learns_defaults():
    # On text-like data scikit-learn's per-sample steps move each rare
    # feature's weight at every occurrence; batches of hundreds of rows at
    # the curvature's cap move them far less per epoch. After 5 epochs the
    # defaults' test accuracy is within 2 points of scikit-learn's (here
    # 0.8235 against 0.836); with the former batches of 125 rows, 0.7485.
    from sklearn.linear_model import SGDClassifier

    X, y = _text_like(6000)
    train, test = slice(0, 4000), slice(4000, None)
    scores = []
    for est in (SGDClassifier(random_state=0, max_iter=5, tol=None),
                SGDClassifierPlus(random_state=0, max_iter=5, tol=None),
                SGDClassifierPlus(random_state=0, max_iter=5, tol=None, batch_size=125)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            scores.append(est.fit(X[train], y[train]).score(X[test], y[test]))
    sklearn, plus, large_batches = scores
    assert plus >= sklearn - 0.02, scores
    assert large_batches < sklearn - 0.05, scores  # what the small batches mend


@pytest.mark.parametrize("storage", ["dense", "csr"])
def test_fused_fit_checks_the_outputs_of_its_last_batch(storage, monkeypatch):
    # The engine checks the outputs of the weights it exposes on the last
    # step's rows; the fused loop hands it that batch's row numbers.
    X, y, _ = _data(storage, 500, 6, np.float64)
    seen = []
    outputs = _linear.LinearProblem.outputs

    def spy(self, params, rows):
        seen.append(rows.shape[0])
        z = outputs(self, params, rows)
        return np.full_like(z, np.inf) if len(seen) > 1 else z

    monkeypatch.setattr(_linear.LinearProblem, "outputs", spy)
    est, steps = _fit(lambda: SGDRegressorPlus(max_iter=2, tol=None, batch_size=64), X, y,
                      monkeypatch, fused=True)
    assert steps > 0 and len(seen) == 1 and 0 < seen[0] <= 64  # one batch's rows
    from skoptim import DivergenceError

    with pytest.raises(DivergenceError, match="non-finite outputs"):
        _fit(lambda: SGDRegressorPlus(max_iter=2, tol=None, batch_size=64), X, y,
             monkeypatch, fused=True)
