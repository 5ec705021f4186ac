"""The four estimators as one family (issue #10): each is its scikit-learn
counterpart's drop-in superset, and the two new ones (SGDClassifierPlus,
MLPRegressorPlus) agree with scikit-learn where scikit-learn defines the
numbers: the exact per-sample mode, probabilities, losses and gradients."""

import inspect
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.neural_network._base import poisson_loss, squared_loss
from sklearn.preprocessing import StandardScaler

from skoptim import MLPClassifierPlus, MLPRegressorPlus, SGDClassifierPlus, SGDRegressorPlus
from skoptim._backend import resolve_backend

PAIRS = [(SGDRegressorPlus, SGDRegressor), (SGDClassifierPlus, SGDClassifier),
         (MLPClassifierPlus, MLPClassifier), (MLPRegressorPlus, MLPRegressor)]
PAIR_IDS = [ours.__name__ for ours, _ in PAIRS]


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=PAIR_IDS)
def test_every_counterpart_parameter_keeps_its_default(ours, theirs):
    """Same names, same defaults, same positional order for scikit-learn's part."""
    mine = inspect.signature(ours).parameters
    for name, param in inspect.signature(theirs).parameters.items():
        assert name in mine, name
        assert mine[name].default == param.default, name
        assert mine[name].kind == param.kind, name


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=PAIR_IDS)
def test_every_public_counterpart_method_exists(ours, theirs):
    public = [n for n in dir(theirs) if not n.startswith("_") and callable(
        getattr(theirs, n, None))]
    for name in public:
        assert hasattr(ours, name), name


# --- SGDClassifierPlus -----------------------------------------------------
def _classes(n_classes, sparse=False, dtype=np.float64):
    X, y = make_classification(n_samples=90, n_features=6, n_informative=4,
                               n_classes=n_classes, n_clusters_per_class=1,
                               random_state=0)
    X = StandardScaler().fit_transform(X).astype(dtype)
    return (sp.csr_matrix(X) if sparse else X), y


def _assert_same_linear_fit(ours, theirs):
    rtol = 1e-10 if ours.coef_.dtype == np.float64 else 1e-5
    assert ours.coef_.shape == theirs.coef_.shape
    assert_allclose(ours.coef_, theirs.coef_, rtol=rtol, atol=1e-12)
    assert_allclose(ours.intercept_, theirs.intercept_, rtol=rtol, atol=1e-12)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.t_ == theirs.t_


EXACT_CASES = {
    "hinge": {},
    "log_loss": {"loss": "log_loss"},
    "modified_huber-average": {"loss": "modified_huber", "average": True},
    "late-average": {"average": 50},
    "squared_hinge-l1": {"loss": "squared_hinge", "penalty": "l1", "alpha": 1e-3},
    "perceptron-constant": {"loss": "perceptron", "learning_rate": "constant", "eta0": 0.1},
    "huber-invscaling": {"loss": "huber", "learning_rate": "invscaling", "eta0": 0.01},
    "class_weight": {"class_weight": {0: 2.0, 1: 0.5}},
    "balanced": {"class_weight": "balanced"},
    "early_stopping": {"early_stopping": True, "validation_fraction": 0.2},
    "pa1": {"learning_rate": "pa1", "eta0": 0.5},
}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("case", EXACT_CASES)
def test_exact_mode_is_sgdclassifier(case, sparse, n_classes):
    """batch_size=1 replays SGDClassifier: one-vs-rest problems with their seeds,
    class weights, averaging and the stratified early-stopping split."""
    X, y = _classes(n_classes, sparse)
    params = {"max_iter": 20, "random_state": 3, **EXACT_CASES[case]}
    if case == "early_stopping":
        # The stopping epoch is scikit-learn's; the weights are the best
        # epoch's here (restored) and the last one's there, so compare the
        # weights of a run that never stops.
        stopped = SGDClassifierPlus(batch_size=1, **params).fit(X, y)
        reference = SGDClassifier(**params).fit(X, y)
        assert (stopped.n_iter_, stopped.t_) == (reference.n_iter_, reference.t_)
        params["tol"] = None
    ours = SGDClassifierPlus(batch_size=1, **params).fit(X, y)
    theirs = SGDClassifier(**params).fit(X, y)
    _assert_same_linear_fit(ours, theirs)
    assert_array_equal(ours.predict(X), theirs.predict(X))


def test_exact_mode_float32_keeps_scikit_learns_dtypes():
    X, y = _classes(2, dtype=np.float32)
    ours = SGDClassifierPlus(batch_size=1, max_iter=5, random_state=0).fit(X, y)
    theirs = SGDClassifier(max_iter=5, random_state=0).fit(X, y)
    _assert_same_linear_fit(ours, theirs)
    assert ours.coef_.dtype == theirs.coef_.dtype
    assert ours.intercept_.dtype == theirs.intercept_.dtype


@pytest.mark.parametrize("n_classes", [2, 3])
def test_exact_partial_fit_calls_are_sgdclassifiers(n_classes):
    X, y = _classes(n_classes)
    ours = SGDClassifierPlus(batch_size=1, random_state=0, average=True)
    theirs = SGDClassifier(random_state=0, average=True)
    for part in (slice(0, 45), slice(45, 90), slice(0, 90)):
        ours.partial_fit(X[part], y[part], classes=np.unique(y))
        theirs.partial_fit(X[part], y[part], classes=np.unique(y))
        _assert_same_linear_fit(ours, theirs)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("loss", ["log_loss", "modified_huber"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_probabilities_are_sgdclassifiers(loss, n_classes):
    """The same weights give scikit-learn's probabilities (its formulas)."""
    X, y = _classes(n_classes)
    ours = SGDClassifierPlus(loss=loss, batch_size=1, max_iter=10, random_state=0).fit(X, y)
    theirs = SGDClassifier(loss=loss, max_iter=10, random_state=0).fit(X, y)
    assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-9, atol=1e-12)
    with np.errstate(divide="ignore"):
        log_ours, log_theirs = ours.predict_log_proba(X), theirs.predict_log_proba(X)
    if loss == "modified_huber":  # probabilities of exactly 0 are part of it
        assert_allclose(log_ours, log_theirs, rtol=1e-9, atol=1e-12)
        return
    # scikit-learn's 1 - p rounds tiny logistic probabilities to 0 (log -inf);
    # both columns come from the logit here, finite.
    finite = np.isfinite(log_theirs)
    assert np.all(np.isfinite(log_ours)) and np.all(log_ours[~finite] < -30)
    assert_allclose(log_ours[finite], log_theirs[finite], rtol=1e-9, atol=1e-12)
    assert_allclose(ours.decision_function(X), theirs.decision_function(X), rtol=1e-10)


@pytest.mark.parametrize("loss", ["hinge", "perceptron", "squared_hinge"])
def test_no_probabilities_where_scikit_learn_has_none(loss):
    est = SGDClassifierPlus(loss=loss)
    assert not hasattr(est, "predict_proba")
    assert not hasattr(est, "predict_log_proba")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("n_classes, shape", [(2, (1, 6)), (3, (3, 6))])
def test_coef_has_one_row_per_one_vs_rest_problem(n_classes, shape):
    X, y = _classes(n_classes)
    est = SGDClassifierPlus(max_iter=5, random_state=0).fit(X, y)
    assert est.coef_.shape == shape and est.intercept_.shape == (shape[0],)
    scores = est.decision_function(X)
    assert scores.shape == ((90,) if n_classes == 2 else (90, 3))
    assert_allclose(scores, X @ est.coef_.T.squeeze() + (
        est.intercept_[0] if n_classes == 2 else est.intercept_))


def test_single_class_raises_scikit_learns_error():
    X, _ = _classes(2)
    with pytest.raises(ValueError, match="number of classes has to be greater than one"):
        SGDClassifierPlus().fit(X, np.zeros(90))


def test_multilabel_targets_are_refused():
    X, _ = _classes(2)
    Y = np.random.RandomState(0).randint(0, 2, (90, 3))
    with pytest.raises(ValueError, match="multilabel-indicator"):
        SGDClassifierPlus().fit(X, Y)


# --- MLPRegressorPlus ------------------------------------------------------
def _regression(n_outputs=1, positive=False):
    rng = np.random.RandomState(0)
    X = rng.randn(40, 5)
    y = X[:, :n_outputs] * 0.5 + 0.1 * rng.randn(40, n_outputs)
    if positive:
        y = np.exp(y)
    return X, (y.ravel() if n_outputs == 1 else y)


def _problem(est, X, y):
    backend = resolve_backend(X)
    Y = y.reshape(X.shape[0], -1)
    return est._make_problem(X, Y, None, backend), Y


def _params(est):
    return [p.copy() for pair in zip(est.coefs_, est.intercepts_) for p in pair]


LOSSES = {"squared_error": {}, "poisson": {}, "huber": {"huber_delta": 0.3},
          "quantile": {"quantile": 0.8}}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("n_outputs", [1, 2])
@pytest.mark.parametrize("loss", LOSSES)
def test_regressor_gradient_matches_finite_differences(loss, n_outputs):
    X, y = _regression(n_outputs, positive=loss == "poisson")
    est = MLPRegressorPlus(loss=loss, hidden_layer_sizes=(4,), activation="tanh",
                           max_iter=2, random_state=0, **LOSSES[loss]).fit(X, y)
    problem, Y = _problem(est, X, y)
    params = _params(est)
    sw = np.random.RandomState(1).uniform(0.5, 2.0, X.shape[0])
    _, grads = problem.loss_grad([p.copy() for p in params], X, Y, sw)

    def mean_loss(ps):
        return float(problem.loss_grad([p.copy() for p in ps], X, Y, sw)[0]) / sw.sum()

    scale = n_outputs if loss == "squared_error" else 1  # scikit-learn's reported mean
    h = 1e-6
    for i, p in enumerate(params):
        for idx in list(np.ndindex(p.shape))[:6]:
            up = [q.copy() for q in params]
            down = [q.copy() for q in params]
            up[i][idx] += h
            down[i][idx] -= h
            numeric = (mean_loss(up) - mean_loss(down)) / (2 * h) * scale
            assert_allclose(grads[i][idx], numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("loss, n_outputs", [("squared_error", 1), ("squared_error", 3),
                                             ("poisson", 1)])
def test_regressor_loss_is_mlpregressors(loss, n_outputs):
    """The reported loss is scikit-learn's (its squared error averages the
    outputs, its Poisson loss sums them)."""
    X, y = _regression(n_outputs, positive=loss == "poisson")
    est = MLPRegressorPlus(loss=loss, hidden_layer_sizes=(4,), max_iter=2,
                           random_state=0).fit(X, y)
    problem, Y = _problem(est, X, y)
    loss_sum, _ = problem.loss_grad(_params(est), X, Y, None)
    pred = est.predict(X).reshape(Y.shape)
    expected = (squared_loss if loss == "squared_error" else poisson_loss)(Y, pred)
    assert_allclose(float(loss_sum) / X.shape[0], expected, rtol=1e-10)


@pytest.mark.parametrize("quantile", [0.1, 0.5, 0.9])
def test_quantile_predictions_cover_the_requested_fraction(quantile):
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, (4000, 2))
    y = X[:, 0] + (0.5 + np.abs(X[:, 1])) * rng.randn(4000)  # noise grows with |x1|
    est = MLPRegressorPlus(loss="quantile", quantile=quantile, hidden_layer_sizes=(16,),
                           learning_rate_init=0.01, max_iter=60, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X[:3000], y[:3000])
    covered = np.mean(y[3000:] <= est.predict(X[3000:]))
    assert abs(covered - quantile) < 0.04


def test_poisson_refuses_negative_targets_and_predicts_positive_means():
    X, y = _regression(positive=True)
    with pytest.raises(ValueError, match="non-negative"):
        MLPRegressorPlus(loss="poisson").fit(X, y - 2.0)
    est = MLPRegressorPlus(loss="poisson", hidden_layer_sizes=(4,), max_iter=5,
                           random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert est.out_activation_ == "exp"
    assert np.all(est.predict(X) > 0)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_regressor_prediction_shapes_follow_y(n_outputs):
    X, y = _regression(n_outputs)
    est = MLPRegressorPlus(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y)
    assert est.predict(X).shape == y.shape
    assert est.n_outputs_ == n_outputs and est.out_activation_ == "identity"
