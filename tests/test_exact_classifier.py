"""Exact mode for classification: ``fit_exact(classification=True)`` against
scikit-learn's ``SGDClassifier`` (issue #8).

No estimator class wraps the classifier replay yet, so ``_ovr_exact`` below
plays ``SGDClassifier``'s part: the binary fit (one problem on ``classes[1]``,
class weights ``cw[1]``/``cw[0]``, the estimator's ``random_state``) or the
one-vs-rest fit (the stratified validation split drawn once, then one seed per
class, then one problem per class with ``random_state=seeds[i]``), and the
assembly of ``coef_``, ``intercept_``, ``t_`` and ``n_iter_``. Every expected
number comes from ``SGDClassifier`` fitted on the same data; on float64 the
agreement is to ``rtol=1e-10``.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_class_weight

from skoptim.linear_model._exact import classifier_validation_mask, fit_exact

RTOL = 1e-10
ATOL = 1e-13  # for coefficients that one side leaves at exactly zero (L1)
RTOL32, ATOL32 = 1e-5, 1e-6
N_SAMPLES, N_FEATURES = 60, 5
MAX_INT = np.iinfo(np.int32).max

LOSSES = [
    "hinge", "perceptron", "log_loss", "modified_huber", "squared_hinge",
    "squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive",
]
KINDS = ["dense", "csr"]
N_CLASSES = [2, 3]


def _read_only(a):
    a = a.copy()
    if sp.issparse(a):
        for part in (a.data, a.indices, a.indptr):
            part.setflags(write=False)
    else:
        a.setflags(write=False)
    return a


def _make_data(kind="dense", n_classes=3, dtype=np.float64):
    """60 x 5 overlapping classes (string labels, unbalanced for n_classes=3);
    'csr' zeroes about half of the entries and three rows entirely."""
    X, y = make_classification(
        N_SAMPLES, N_FEATURES, n_informative=3, n_redundant=0, n_classes=n_classes,
        n_clusters_per_class=1, class_sep=0.8, flip_y=0.05,
        weights=[0.5, 0.3] if n_classes == 3 else [0.6], random_state=0,
    )
    labels = np.array(["ant", "bee", "cat"])[y]
    if kind == "csr":
        X = X.copy()
        X[np.abs(X) < 0.7] = 0.0
        X[[3, 17, 40]] = 0.0
        X = sp.csr_matrix(X)
    return _read_only(X.astype(dtype)), _read_only(labels)


def _weights():
    return _read_only(np.random.RandomState(42).uniform(0.0, 2.0, N_SAMPLES))


def _sklearn(kw, X, y, sample_weight=None):
    est = SGDClassifier(**kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y, sample_weight=sample_weight)
    return est


def _ovr_exact(params, X, y, sample_weight=None, class_weight="params", *,
               random_state="params", t=1.0, **fit_kw):
    """SGDClassifier.fit, replayed with fit_exact, in scikit-learn's order of draws.

    Returns (coef_, intercept_, t_, n_iter_, results).
    """
    if class_weight == "params":
        class_weight = params["class_weight"]
    if random_state == "params":
        random_state = params["random_state"]
    dtype = X.dtype
    n_samples, n_features = X.shape
    classes = np.unique(y)
    # SGDClassifier's _expanded_class_weight
    cw = compute_class_weight(class_weight, classes=classes, y=y)
    sw = (np.ones(n_samples, dtype=dtype) if sample_weight is None
          else np.asarray(sample_weight, dtype=dtype))
    common = dict(
        coef=np.zeros(n_features, dtype), intercept=np.zeros(1, dtype),
        standard=None, t=t, max_iter=params["max_iter"], incremental=True,
        classification=True, **fit_kw,
    )
    if len(classes) == 2:
        # fit_binary on classes[1]; the split, if any, is drawn inside.
        y_bin = np.where(y == classes[1], 1.0, -1.0)
        res = fit_exact(params, X, y_bin, sw, random_state=random_state,
                        weight_pos=cw[1], weight_neg=cw[0], **common)
        # scikit-learn stores a binary intercept as np.atleast_1d(float)
        # (float64) unless the averaged one (an X-dtype array) is exposed.
        averaged = 0 < params["average"] <= res.t - 1.0
        intercept = res.intercept if averaged else res.intercept_double
        return res.coef.reshape(1, -1), intercept, res.t, res.n_iter, [res]

    # _fit_multiclass: the split once, on the multiclass labels ...
    mask = None
    if params["early_stopping"]:
        mask = classifier_validation_mask(
            y, sw, params["validation_fraction"], random_state
        )
    # ... then one seed per class, then fit_binary per class with its seed.
    seeds = check_random_state(random_state).randint(MAX_INT, size=len(classes))
    results = [
        fit_exact(params, X, np.where(y == c, 1.0, -1.0), sw,
                  random_state=int(seed), validation_mask=mask,
                  weight_pos=cw[i], weight_neg=1.0, **common)
        for i, (c, seed) in enumerate(zip(classes, seeds))
    ]
    n_iter = max(r.n_iter for r in results)
    t_out = t + n_iter * n_samples
    average = params["average"]
    if average > 0 and average <= t_out - 1.0:
        coef = np.stack([r.standard["average_coef"] for r in results])
        intercept = np.array([r.standard["average_intercept"][0] for r in results])
    elif average > 0:
        coef = np.stack([r.standard["standard_coef"] for r in results])
        intercept = np.array([r.standard["standard_intercept"][0] for r in results])
    else:
        coef = np.stack([r.coef for r in results])
        intercept = np.array([r.intercept[0] for r in results])
    return coef, intercept.astype(dtype), t_out, n_iter, results


def _assert_same(mine, est, rtol=RTOL, atol=ATOL):
    coef, intercept, t, n_iter, _ = mine
    assert coef.shape == est.coef_.shape
    assert coef.dtype == est.coef_.dtype
    assert_allclose(coef, est.coef_, rtol=rtol, atol=atol)
    assert intercept.dtype == est.intercept_.dtype
    assert_allclose(intercept, est.intercept_, rtol=rtol, atol=atol)
    assert t == est.t_
    assert n_iter == est.n_iter_


def _compare(kw, kind="dense", n_classes=3, sample_weight=None, dtype=np.float64,
             rtol=None, atol=None):
    X, y = _make_data(kind, n_classes, dtype)
    kw = {"random_state": 0, "max_iter": 30, **kw}
    est = _sklearn(kw, X, y, sample_weight)
    mine = _ovr_exact(est.get_params(), X, y, sample_weight)
    single = dtype == np.float32
    _assert_same(mine, est,
                 rtol=rtol if rtol is not None else (RTOL32 if single else RTOL),
                 atol=atol if atol is not None else (ATOL32 if single else ATOL))
    return mine, est


# ---------------------------------------------------------------------------
# One hyperparameter at a time
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n_classes", N_CLASSES)
@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss(loss, n_classes, kind):
    """Each classification loss (hinge, perceptron, log_loss on 0/1 labels,
    modified_huber, squared_hinge) and each regression loss on the +-1 targets
    with the estimator's epsilon; 'optimal' schedule with its initial-t
    heuristic taken from the loss (issue #8)."""
    _compare({"loss": loss, "epsilon": 0.3, "alpha": 0.001}, kind, n_classes)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n_classes", N_CLASSES)
@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet", None])
def test_every_penalty(penalty, n_classes, kind):
    """Weight decay, cumulative L1 truncation and their mix (issue #8)."""
    mine, _ = _compare({"penalty": penalty, "alpha": 0.02, "l1_ratio": 0.5},
                       kind, n_classes)
    if penalty == "l1":
        assert np.any(mine[0] == 0.0)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n_classes", N_CLASSES)
@pytest.mark.parametrize(
    "learning_rate, extra",
    [
        ("constant", {"eta0": 0.05}),
        ("optimal", {"alpha": 0.01, "loss": "log_loss"}),
        ("optimal", {"alpha": 0.01, "loss": "modified_huber"}),
        ("invscaling", {"eta0": 0.5, "power_t": 0.4}),
        ("adaptive", {"eta0": 0.1, "loss": "log_loss"}),
        ("pa1", {"eta0": 0.5}),
        ("pa2", {"eta0": 0.5}),
    ],
)
def test_every_learning_rate(learning_rate, extra, n_classes, kind):
    """Each schedule; passive-aggressive steps signed by y for the hinge loss
    (issue #8)."""
    _compare({"learning_rate": learning_rate, "max_iter": 60, **extra},
             kind, n_classes)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n_classes", N_CLASSES)
@pytest.mark.parametrize("average", [True, 5, 150, 5000])
def test_average(average, n_classes, kind):
    """ASGD from the start, from the 5th sample, from the third epoch, and
    never (plain coefficients exposed); the averaged-or-plain choice is made
    once with the global t_ (issue #8)."""
    kw = {"average": average, "penalty": "elasticnet", "alpha": 0.01,
          "loss": "log_loss", "max_iter": 20}
    mine, _ = _compare(kw, kind, n_classes)
    if average == 5000:
        for r in mine[4]:
            assert_allclose(r.coef, r.standard["standard_coef"], rtol=0)


@pytest.mark.parametrize("kind", KINDS)
def test_average_onset_between_the_classes_stops(kind):
    """One-vs-rest problems stop at different epochs; with an averaging onset
    after the earliest stop but before the global t_, scikit-learn exposes
    every class's average, the early class's one never started (zeros), not
    its plain weights (issue #8)."""
    X, y = _make_data(kind, 3)
    kw = {"loss": "hinge", "alpha": 0.01, "random_state": 0, "max_iter": 30}
    plain = _ovr_exact(SGDClassifier(**kw).get_params(), X, y)
    n_iters = [r.n_iter for r in plain[4]]
    assert min(n_iters) < max(n_iters)  # the data gives different stops
    early = int(np.argmin(n_iters))
    kw["average"] = min(n_iters) * N_SAMPLES + N_SAMPLES // 2
    est = _sklearn(kw, X, y)
    mine = _ovr_exact(est.get_params(), X, y)
    _assert_same(mine, est)
    assert np.all(est.coef_[early] == 0.0) and est.intercept_[early] == 0.0
    assert np.any(mine[4][early].coef != 0.0)  # its own view: the plain weights


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n_classes", N_CLASSES)
@pytest.mark.parametrize("class_weight", ["dict", "balanced"])
@pytest.mark.parametrize("with_sample_weight", [False, True])
def test_class_weight(class_weight, with_sample_weight, n_classes, kind):
    """class_weight (dict or 'balanced', expanded as scikit-learn's
    compute_class_weight does) times sample_weight scales each update; the
    binary fit weighs the negative class with cw[0], one-vs-rest with 1.0
    (issue #8)."""
    if class_weight == "dict":
        class_weight = {"ant": 0.5, "bee": 3.0} if n_classes == 3 else {"bee": 2.5}
    sw = _weights() if with_sample_weight else None
    _compare({"class_weight": class_weight, "loss": "modified_huber"},
             kind, n_classes, sample_weight=sw)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n_classes", N_CLASSES)
@pytest.mark.parametrize("penalty", ["l2", "elasticnet"])
def test_sample_weight(penalty, n_classes, kind):
    """Per-sample weights scale the step (issue #8)."""
    _compare({"penalty": penalty, "alpha": 0.01}, kind, n_classes,
             sample_weight=_weights())


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n_classes", N_CLASSES)
def test_no_intercept(n_classes, kind):
    """fit_intercept=False keeps the intercepts at zero (issue #8)."""
    mine, _ = _compare({"fit_intercept": False, "loss": "squared_hinge"},
                       kind, n_classes)
    assert np.all(mine[1] == 0.0)


@pytest.mark.parametrize("n_classes", N_CLASSES)
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("random_state", [0, 7, 12345])
def test_shuffle_and_seeds(shuffle, random_state, n_classes):
    """The epoch order from the shuffle seed: fit_binary's second draw of the
    estimator's generator (binary) or of the class's own seed (OvR) (issue #8)."""
    _compare({"shuffle": shuffle, "random_state": random_state, "tol": None,
              "max_iter": 6}, "dense", n_classes)


# ---------------------------------------------------------------------------
# Early stopping
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n_classes", N_CLASSES)
@pytest.mark.parametrize(
    "extra",
    [
        {"loss": "hinge"},
        {"loss": "log_loss"},  # scored against 0/1 labels (the quirk)
        {"loss": "modified_huber", "validation_fraction": 0.3, "sample_weight": True},
        {"loss": "hinge", "class_weight": "balanced", "n_iter_no_change": 2},
        {"loss": "squared_error", "learning_rate": "adaptive", "eta0": 0.05},
        {"loss": "hinge", "tol": None, "max_iter": 8},
    ],
)
def test_early_stopping(extra, n_classes, kind):
    """A stratified validation split (drawn once for a multiclass fit, inside
    fit_binary for a binary one), accuracy of the binary problem on the
    unscaled stored weights, last weights kept (issue #8)."""
    extra = dict(extra)
    sw = _weights() if extra.pop("sample_weight", False) else None
    kw = {"early_stopping": True, "validation_fraction": 0.2, "alpha": 0.01,
          "max_iter": 60, **extra}
    mine, _ = _compare(kw, kind, n_classes, sample_weight=sw)
    for r in mine[4]:
        assert len(r.validation_scores) == r.n_iter
        assert r.best_validation_score == max(r.validation_scores)
        assert all(0.0 <= s <= 1.0 for s in r.validation_scores)


def test_log_loss_validation_scores_count_positives_only():
    """scikit-learn scores a 'log_loss' problem against its 0/1 labels with
    -1/+1 predictions: the score never exceeds the fraction of positive
    validation rows (issue #8)."""
    X, y = _make_data("dense", 2)
    params = SGDClassifier(loss="log_loss", early_stopping=True, random_state=0,
                           validation_fraction=0.3, max_iter=30).get_params()
    mine = _ovr_exact(params, X, y)
    est = _sklearn(params, X, y)
    _assert_same(mine, est)
    mask = classifier_validation_mask(y, None, 0.3, 0)
    frac_pos = np.mean(y[mask] == "bee")
    assert max(mine[4][0].validation_scores) <= frac_pos + 1e-12


def test_validation_score_callable_and_mask():
    """A caller's validation_score replaces the built-in accuracy; receiving
    the same (unscaled) weights, scikit-learn's own scorer reproduces the
    fit; the given mask replaces the drawn split (issue #8)."""
    X, y = _make_data("dense", 3)
    kw = {"early_stopping": True, "random_state": 3, "max_iter": 40, "alpha": 0.01}
    est = _sklearn(kw, X, y)
    params = est.get_params()
    classes = np.unique(y)
    mask = classifier_validation_mask(y, None, params["validation_fraction"], 3)
    seen = []

    def make_score(c):
        scorer = SGDClassifier(**params)
        scorer.classes_ = np.array([-1.0, 1.0])
        scorer.t_ = 1
        y_val = np.where(y == c, 1.0, -1.0)[mask]

        def score(coef, intercept):
            seen.append((coef.copy(), intercept))
            scorer.coef_ = coef.reshape(1, -1)
            scorer.intercept_ = np.atleast_1d(intercept)
            return scorer.score(X[mask], y_val)

        return score

    seeds = check_random_state(3).randint(MAX_INT, size=3)
    coefs = []
    for i, c in enumerate(classes):
        res = fit_exact(
            params, X, np.where(y == c, 1.0, -1.0), None,
            coef=np.zeros(N_FEATURES), intercept=np.zeros(1), standard=None,
            t=1.0, max_iter=40, incremental=True, random_state=int(seeds[i]),
            classification=True, validation_mask=mask,
            validation_score=make_score(c),
        )
        builtin = fit_exact(
            params, X, np.where(y == c, 1.0, -1.0), None,
            coef=np.zeros(N_FEATURES), intercept=np.zeros(1), standard=None,
            t=1.0, max_iter=40, incremental=True, random_state=int(seeds[i]),
            classification=True, validation_mask=mask,
        )
        assert res.validation_scores == builtin.validation_scores
        coefs.append(res.coef)
    assert len(seen) > 0
    assert all(isinstance(b, float) for _, b in seen)
    assert_allclose(np.stack(coefs), est.coef_, rtol=RTOL, atol=ATOL)


def test_seed_kwarg_bypasses_the_draws():
    """seed= is used as the shuffle seed as is, drawing nothing (issue #8)."""
    X, y = _make_data("dense", 2)
    params = SGDClassifier(random_state=11, max_iter=20).get_params()
    y_bin = np.where(y == "bee", 1.0, -1.0)
    rng = np.random.RandomState(11)
    rng.randint(1, MAX_INT)  # the dataset's seed
    seed = rng.randint(MAX_INT)
    kw = dict(coef=np.zeros(N_FEATURES), intercept=np.zeros(1), standard=None,
              t=1.0, max_iter=20, incremental=True, classification=True)
    drawn = fit_exact(params, X, y_bin, None, random_state=11, **kw)
    state = np.random.RandomState(99)
    given = fit_exact(params, X, y_bin, None, random_state=state, seed=int(seed), **kw)
    assert_allclose(given.coef, drawn.coef, rtol=0)
    assert given.t == drawn.t
    assert state.randint(MAX_INT) == np.random.RandomState(99).randint(MAX_INT)


# ---------------------------------------------------------------------------
# Random states and the split's errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n_classes", N_CLASSES)
@pytest.mark.parametrize("early_stopping", [False, True])
def test_random_state_instance_is_consumed_like_sklearn(early_stopping, n_classes):
    """A RandomState instance: the same draws in the same order (the split
    between the dataset and shuffle seeds in fit_binary; before the per-class
    seeds in OvR), the same state afterwards (issue #8)."""
    X, y = _make_data("dense", n_classes)
    kw = {"early_stopping": early_stopping, "max_iter": 20, "alpha": 0.01}
    est = _sklearn({"random_state": np.random.RandomState(4), **kw}, X, y)
    params = SGDClassifier(**kw).get_params()
    mine_rs = np.random.RandomState(4)
    mine = _ovr_exact(params, X, y, random_state=mine_rs)
    _assert_same(mine, est)
    assert mine_rs.randint(MAX_INT) == est.random_state.randint(MAX_INT)


@pytest.mark.parametrize("n_classes", N_CLASSES)
def test_random_state_none_uses_global_rng(n_classes):
    """random_state=None draws from NumPy's global generator (issue #8)."""
    X, y = _make_data("dense", n_classes)
    kw = {"early_stopping": True, "max_iter": 20, "random_state": None}
    np.random.seed(17)
    est = _sklearn(kw, X, y)
    after_sklearn = np.random.randint(MAX_INT)
    np.random.seed(17)
    mine = _ovr_exact(est.get_params(), X, y)
    assert np.random.randint(MAX_INT) == after_sklearn
    _assert_same(mine, est)


@pytest.mark.parametrize("random_state", [0, 1, 2, "instance"])
@pytest.mark.parametrize("n_classes", N_CLASSES)
def test_classifier_validation_mask_is_sklearn_split(random_state, n_classes):
    """The mask is StratifiedShuffleSplit's validation part (issue #8)."""
    _, y = _make_data("dense", n_classes)
    rs = np.random.RandomState(8) if random_state == "instance" else random_state
    mask = classifier_validation_mask(y, None, 0.25, rs)
    ref_rs = np.random.RandomState(8) if random_state == "instance" else random_state
    _, val = next(StratifiedShuffleSplit(test_size=0.25, random_state=ref_rs)
                  .split(np.zeros((N_SAMPLES, 1)), y))
    expected = np.zeros(N_SAMPLES, dtype=bool)
    expected[val] = True
    assert mask.dtype == bool
    np.testing.assert_array_equal(mask, expected)


def _raises_like_sklearn(kw, X, y, sample_weight=None):
    with pytest.raises(ValueError) as sk_err:
        _sklearn(kw, X, y, sample_weight)
    with pytest.raises(ValueError) as my_err:
        _ovr_exact(SGDClassifier(**kw).get_params(), X, y, sample_weight)
    assert str(my_err.value) == str(sk_err.value)


@pytest.mark.parametrize("n_classes", N_CLASSES)
def test_split_error_zero_weight_validation_set(n_classes):
    """Validation rows that all weigh zero: scikit-learn's error (issue #8)."""
    X, y = _make_data("dense", n_classes)
    kw = {"early_stopping": True, "random_state": 5}
    val = classifier_validation_mask(y, None, 0.1, 5)
    sw = np.ones(N_SAMPLES)
    sw[val] = 0.0
    _raises_like_sklearn(kw, X, y, sw)


def test_split_error_from_the_splitter():
    """A class with a single member, too small a validation part: the
    stratified splitter's own errors (issue #8)."""
    X, y = _make_data("dense", 3)
    y = y.copy()
    y[:] = np.where(np.arange(N_SAMPLES) < 30, "ant", "bee")
    y[7] = "cat"
    _raises_like_sklearn({"early_stopping": True, "random_state": 0}, X, y)
    y[:] = np.where(np.arange(N_SAMPLES) < 30, "ant", "bee")
    y[7:9] = "cat"
    _raises_like_sklearn({"early_stopping": True, "random_state": 0,
                          "validation_fraction": 0.03}, X, y)


def test_labels_must_be_plus_minus_one():
    X, y = _make_data("dense", 2)
    with pytest.raises(ValueError, match="binary labels -1.0 and"):
        fit_exact(SGDClassifier().get_params(), X, (y == "bee").astype(float), None,
                  coef=np.zeros(N_FEATURES), intercept=np.zeros(1), standard=None,
                  t=1.0, max_iter=2, incremental=True, random_state=0,
                  classification=True)


# ---------------------------------------------------------------------------
# float32
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n_classes", N_CLASSES)
@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"loss": "log_loss", "penalty": "elasticnet", "alpha": 0.01},
        {"loss": "modified_huber", "average": 5, "class_weight": "balanced",
         "sample_weight": True},
        {"loss": "hinge", "early_stopping": True, "learning_rate": "invscaling",
         "eta0": 0.3},
    ],
)
def test_float32(extra, n_classes, kind):
    """Single precision, the class_weight * sample_weight product rounded to
    float32 as in scikit-learn's float code (issue #8)."""
    extra = dict(extra)
    sw = _weights() if extra.pop("sample_weight", False) else None
    _compare(extra, kind, n_classes, sample_weight=sw, dtype=np.float32)


# ---------------------------------------------------------------------------
# Verbose output; the new keywords on the regression replay
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n_classes", N_CLASSES)
@pytest.mark.parametrize("early_stopping", [False, True])
def test_verbose_output(early_stopping, n_classes, capsys):
    """scikit-learn's epoch report lines, one block per binary problem, in
    class order (timings aside) (issue #8)."""
    import re

    X, y = _make_data("csr", n_classes)
    kw = {"random_state": 0, "max_iter": 6, "verbose": 1, "loss": "log_loss",
          "early_stopping": early_stopping}
    capsys.readouterr()
    est = _sklearn(kw, X, y)
    expected = capsys.readouterr().out
    _ovr_exact(est.get_params(), X, y)
    got = capsys.readouterr().out

    def strip(text):
        return re.sub(r"[\d.]+ seconds", "S", text)

    assert "Epoch" in got
    assert strip(got) == strip(expected)


def test_regression_with_given_mask_and_seed():
    """The regression replay accepts the same keywords: the ShuffleSplit mask
    passed in (no split drawn) and the drawn shuffle seed passed as seed=
    reproduce SGDRegressor's early-stopping fit (issue #8)."""
    from sklearn.linear_model import SGDRegressor
    from sklearn.model_selection import ShuffleSplit

    X, _ = _make_data("dense", 2)
    y = np.asarray(X @ np.arange(1.0, N_FEATURES + 1.0)) * 0.1
    kw = {"early_stopping": True, "random_state": 2, "max_iter": 30, "alpha": 0.01}
    est = SGDRegressor(**kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    _, val = next(ShuffleSplit(test_size=0.1, random_state=2).split(X))
    mask = np.zeros(N_SAMPLES, dtype=bool)
    mask[val] = True
    seed = np.random.RandomState(2).randint(0, MAX_INT)
    state = np.random.RandomState(5)
    res = fit_exact(est.get_params(), X, y, None, coef=np.zeros(N_FEATURES),
                    intercept=np.zeros(1), standard=None, t=1.0, max_iter=30,
                    incremental=True, random_state=state, validation_mask=mask,
                    seed=int(seed))
    assert_allclose(res.coef, est.coef_, rtol=RTOL, atol=ATOL)
    assert_allclose(res.intercept_double, est.intercept_, rtol=RTOL, atol=ATOL)
    assert res.t == est.t_ and res.n_iter == est.n_iter_
    assert state.randint(MAX_INT) == np.random.RandomState(5).randint(MAX_INT)
