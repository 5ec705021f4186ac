"""MLPClassifierPlus against independent truth: finite differences, scikit-learn's
MLPClassifier and ``log_loss`` on the same data, and hand computations.

Every fit here is small. BLAS runs on one thread (``_one_blas_thread``): these
matrices are tiny, and on a shared 2-core machine BLAS threads only add
contention; the results do not depend on it.
"""

import inspect
import math
import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.callback import ScoringMonitor
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    make_classification,
    make_multilabel_classification,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss, recall_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skoptim import MLPClassifierPlus
from skoptim._backend import resolve_backend
from skoptim._random import RowNoise, device_row_keys
from skoptim._penalties import Penalty
from skoptim.optim import Adam

from _callbacks import NoOpCallback


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(autouse=True)
def _no_convergence_warnings():
    """Short fits are the point of most tests; ConvergenceWarning is noise here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _split(loader):
    X, y = loader(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


@pytest.fixture(scope="module")
def digits_split():
    return _split(load_digits)


@pytest.fixture(scope="module")
def breast_cancer_split():
    return _split(load_breast_cancer)


def _params(est):
    params = []
    for W, b in zip(est.coefs_, est.intercepts_):
        params += [W, b]
    return params


# ---------------------------------------------------------------------------
# 1. Gradients against central finite differences; loss against log_loss
# ---------------------------------------------------------------------------

N_GRAD, N_FEATURES, HIDDEN = 8, 4, (3, 2)


def _grad_data(output):
    """``(X, y)`` of a tiny problem with every class/label present."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N_GRAD, N_FEATURES))
    if output == "binary":
        y = np.array([0, 1] * (N_GRAD // 2))
    elif output == "multiclass":
        y = np.arange(N_GRAD) % 3
    else:
        y = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0], [0, 0, 1],
                      [1, 0, 0], [0, 1, 0], [1, 1, 1], [0, 0, 0]])
    return X, y


def _relu_margin(params, X):
    """The smallest |pre-activation| of the hidden layers (distance to a kink)."""
    a, margin = X, np.inf
    for layer in range(len(params) // 2 - 1):
        z = a @ params[2 * layer] + params[2 * layer + 1]
        margin = min(margin, np.abs(z).min())
        a = np.maximum(z, 0)
    return margin


def _fitted_problem(activation, output, penalty, alpha):
    X, y = _grad_data(output)
    est = MLPClassifierPlus(hidden_layer_sizes=HIDDEN, activation=activation,
                            penalty=penalty, alpha=alpha, max_iter=1,
                            random_state=0).fit(X, y)
    backend = resolve_backend(X)
    Y = np.asarray(est._label_binarizer.transform(y), dtype=np.float64)
    return est, est._make_problem(X, Y, None, backend), X, y, Y


def _objective(problem, params, X, Y, sw, alpha):
    """What the engine minimises on a batch: (loss sum + alpha/2 ||W||^2) / weight."""
    loss_sum, _ = problem.loss_grad([p.copy() for p in params], X, Y, sw)
    weight = X.shape[0] if sw is None else sw.sum()
    l2 = sum(np.sum(params[i] ** 2) for i in range(0, len(params), 2))
    return (float(loss_sum) + 0.5 * alpha * l2) / weight


def _central_differences(f, params, h=1e-6):
    """Central finite differences of the scalar ``f`` at each parameter entry."""
    out = []
    for k, p in enumerate(params):
        numeric = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            plus = [q.copy() for q in params]
            minus = [q.copy() for q in params]
            plus[k][idx] += h
            minus[k][idx] -= h
            numeric[idx] = (f(plus) - f(minus)) / (2 * h)
        out.append(numeric)
    return out


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
@pytest.mark.parametrize("penalty, alpha", [("l2", 0.5), (None, 0.0)], ids=["l2", "none"])
@pytest.mark.parametrize("output", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_gradient_matches_central_finite_differences(activation, output, penalty, alpha,
                                                      weighted):
    """The engine's step direction (loss gradient + penalty gradient) is the
    gradient of the weighted mean loss plus ``alpha / 2 ||W||^2 / weight``."""
    est, problem, X, _, Y = _fitted_problem(activation, output, penalty, alpha)
    rng = np.random.default_rng(1)
    params = [rng.normal(scale=0.8, size=p.shape) for p in _params(est)]
    sw = rng.uniform(0.2, 3.0, size=N_GRAD) if weighted else None
    if activation == "relu":
        assert _relu_margin(params, X) > 1e-3  # no kink within the FD step
    _, grads = problem.loss_grad([p.copy() for p in params], X, Y, sw)
    weight = N_GRAD if sw is None else sw.sum()
    Penalty.from_params(penalty, alpha, 0.15).add_grad(
        grads, params, problem.penalized, 1.0 / weight)
    numeric = _central_differences(
        lambda ps: _objective(problem, ps, X, Y, sw, alpha), params)
    for k, (analytic, expected) in enumerate(zip(grads, numeric)):
        assert_allclose(analytic, expected, rtol=1e-5, atol=1e-8, err_msg=f"param {k}")


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
@pytest.mark.parametrize("output", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_loss_sum_equals_log_loss_of_predict_proba(activation, output, weighted):
    """``loss_grad``'s loss is the weighted sum of sklearn's log-loss of the
    model's own ``predict_proba`` (summed over labels for multilabel)."""
    est, problem, X, y, Y = _fitted_problem(activation, output, "l2", 1e-4)
    sw = np.random.default_rng(2).uniform(0.2, 3.0, size=N_GRAD) if weighted else None
    loss_sum, _ = problem.loss_grad([p.copy() for p in _params(est)], X, Y, sw)
    weight = N_GRAD if sw is None else sw.sum()
    proba = est.predict_proba(X)
    if output == "multilabel":
        expected = sum(log_loss(Y[:, j], proba[:, j], sample_weight=sw, labels=[0, 1])
                       for j in range(Y.shape[1]))
    else:
        expected = log_loss(y, proba, sample_weight=sw)
    assert_allclose(float(loss_sum) / weight, expected, rtol=1e-10)


@pytest.mark.parametrize("output", ["binary", "multiclass", "multilabel"])
def test_dropout_gradient_matches_finite_differences_of_masked_network(output):
    """With a fixed dropout mask the gradient is that of the masked network's
    loss, and the mask changes the loss (dropout is applied)."""
    X, y = _grad_data(output)
    est = MLPClassifierPlus(hidden_layer_sizes=HIDDEN, activation="tanh", dropout=0.5,
                            max_iter=1, random_state=0).fit(X, y)
    backend = resolve_backend(X)
    Y = np.asarray(est._label_binarizer.transform(y), dtype=np.float64)
    problem = est._make_problem(X, Y, None, backend)
    noise = RowNoise(backend, device_row_keys(X, backend), 123, 0)
    params = [p.copy() for p in _params(est)]

    def loss_grad(ps):
        return problem.loss_grad([p.copy() for p in ps], X, Y, None, noise=noise)

    def loss(ps):
        return float(loss_grad(ps)[0]) / N_GRAD

    clean = float(problem.loss_grad([p.copy() for p in params], X, Y, None)[0]) / N_GRAD
    assert loss(params) != pytest.approx(clean)
    _, grads = loss_grad(params)
    numeric = _central_differences(loss, params)
    for k, (analytic, expected) in enumerate(zip(grads, numeric)):
        assert_allclose(analytic, expected, rtol=1e-5, atol=1e-8, err_msg=f"param {k}")


@pytest.mark.parametrize("alpha", [1e-4, 0.5])
def test_lbfgs_loss_is_log_loss_plus_scaled_l2_penalty(iris, alpha):
    """``loss_`` after L-BFGS is sklearn's objective at the fitted weights:
    ``log_loss + alpha / 2 * sum ||W||^2 / n_samples``."""
    X, y = iris
    est = MLPClassifierPlus(hidden_layer_sizes=(8,), solver="lbfgs", alpha=alpha,
                            max_iter=50, random_state=0).fit(X, y)
    l2 = sum(np.sum(W ** 2) for W in est.coefs_)
    expected = log_loss(y, est.predict_proba(X)) + 0.5 * alpha * l2 / X.shape[0]
    assert est.loss_ == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("output", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_forward_pass_matches_sklearn_with_the_same_weights(activation, output):
    """Given sklearn's fitted weights, predictions are sklearn's."""
    X, y = _targets(output)
    common = {"hidden_layer_sizes": (7, 5), "activation": activation, "max_iter": 10,
              "random_state": 0}
    reference = MLPClassifier(**common).fit(X, y)
    est = MLPClassifierPlus(**common).fit(X, y)
    est.coefs_ = [W.copy() for W in reference.coefs_]
    est.intercepts_ = [b.copy() for b in reference.intercepts_]
    assert_allclose(est.predict_proba(X), reference.predict_proba(X), rtol=1e-12)
    assert_allclose(est.predict_log_proba(X), reference.predict_log_proba(X), rtol=1e-10)
    pred, expected = est.predict(X), reference.predict(X)
    assert_array_equal(pred, expected)
    assert pred.dtype == expected.dtype


@pytest.mark.parametrize("activation", ["logistic", "relu"])
def test_initial_weights_are_glorot_uniform_like_sklearn(iris, activation):
    """One Adam step of 1e-12 leaves the initial weights: uniform on
    +-sqrt(f / (fan_in + fan_out)), f = 2 for logistic, 6 otherwise."""
    X, y = iris
    est = MLPClassifierPlus(hidden_layer_sizes=(50, 50), activation=activation,
                            learning_rate_init=1e-12, max_iter=1, random_state=0).fit(X, y)
    factor = 2.0 if activation == "logistic" else 6.0
    for W, b in zip(est.coefs_, est.intercepts_):
        bound = math.sqrt(factor / sum(W.shape))
        assert np.abs(W).max() <= bound * (1 + 1e-9)
        assert np.abs(W).max() > 0.9 * bound
        assert np.abs(b).max() <= bound * (1 + 1e-9)
        assert abs(W.mean()) < 0.1 * bound


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_integer_sample_weight_equals_repeated_rows(iris, solver):
    """Full-batch training (no shuffling effect): weight 2 is a repeated row."""
    X, y = iris
    weights = np.where(np.arange(len(y)) % 3 == 0, 2, 1)
    common = {"hidden_layer_sizes": (8,), "solver": solver, "batch_size": 1000,
              "learning_rate_init": 0.01, "max_iter": 30, "random_state": 0}
    weighted = MLPClassifierPlus(**common).fit(X, y, sample_weight=weights)
    repeated = MLPClassifierPlus(**common).fit(np.repeat(X, weights, axis=0),
                                              np.repeat(y, weights))
    for u, v in zip(weighted.coefs_ + weighted.intercepts_,
                    repeated.coefs_ + repeated.intercepts_):
        assert_allclose(u, v, rtol=1e-8, atol=1e-10)


# ---------------------------------------------------------------------------
# 2. Test accuracy against scikit-learn's MLPClassifier (5 seeds)
# ---------------------------------------------------------------------------

# The same hyperparameters for both. 'sgd' runs at learning_rate_init=0.01: at
# the default 0.001 it is far from converged after 200 epochs and the mean over
# 5 seeds is dominated by seed noise (breast cancer, seeds 0-4: 0.947 vs 0.936,
# but 0.942 vs 0.945 over 40 seeds for each, standard error 0.0017).
QUALITY_SOLVERS = {
    "sgd": {"solver": "sgd", "learning_rate_init": 0.01},
    "adam": {"solver": "adam"},
    "lbfgs": {"solver": "lbfgs"},
}


def _mean_test_accuracy(cls, params, split):
    X_train, X_test, y_train, y_test = split
    scores = [
        cls(hidden_layer_sizes=(64,), max_iter=200, random_state=seed, **params)
        .fit(X_train, y_train).score(X_test, y_test)
        for seed in range(5)
    ]
    return np.mean(scores)


@pytest.mark.parametrize("solver", list(QUALITY_SOLVERS))
@pytest.mark.parametrize("dataset", ["digits_split", "breast_cancer_split"])
def test_mean_test_accuracy_within_001_of_sklearn(dataset, solver, request):
    split = request.getfixturevalue(dataset)
    params = QUALITY_SOLVERS[solver]
    ours = _mean_test_accuracy(MLPClassifierPlus, params, split)
    reference = _mean_test_accuracy(MLPClassifier, params, split)
    assert abs(ours - reference) <= 0.01


# ---------------------------------------------------------------------------
# 3. Dropout and class weights
# ---------------------------------------------------------------------------


def _train_test_gap(dropout):
    X, y = make_classification(n_samples=1100, n_features=20, n_informative=5,
                               flip_y=0.3, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, train_size=100, stratify=y, random_state=0)
    gaps = []
    for seed in range(3):
        est = MLPClassifierPlus(hidden_layer_sizes=(256, 256), dropout=dropout,
                                max_iter=200, n_iter_no_change=200,
                                random_state=seed).fit(X_train, y_train)
        gaps.append(est.score(X_train, y_train) - est.score(X_test, y_test))
    return np.mean(gaps)


def test_dropout_narrows_train_test_gap_on_noisy_overparameterised_problem():
    """100 samples with 30% flipped labels: without dropout the (256, 256)
    network memorises the noise (gap ~0.30); dropout=0.8 keeps it at ~0.19."""
    assert _train_test_gap(0.8) < _train_test_gap(0.0) - 0.05


def _fit_dropout(dropout, X, y):
    return MLPClassifierPlus(hidden_layer_sizes=(16, 16), dropout=dropout,
                             learning_rate_init=0.01, max_iter=60,
                             random_state=0).fit(X, y)


def test_dropout_tuple_of_equal_rates_equals_float_rate(iris):
    X, y = iris
    a, b = _fit_dropout(0.3, X, y), _fit_dropout((0.3, 0.3), X, y)
    for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert_array_equal(u, v)


@pytest.mark.parametrize("other", [0.0, 0.5], ids=["vs-no-dropout", "vs-both-layers"])
def test_dropout_tuple_applies_per_layer(iris, other):
    """``(0.5, 0.0)`` drops in the first hidden layer only: a fit of its own."""
    X, y = iris
    per_layer = _fit_dropout((0.5, 0.0), X, y)
    assert per_layer.score(X, y) > 0.85
    reference = _fit_dropout(other, X, y)
    assert not np.allclose(per_layer.coefs_[0], reference.coefs_[0])


@pytest.mark.parametrize("dropout", [(0.5,), (0.5, 0.5, 0.5)])
def test_dropout_tuple_of_wrong_length_raises(iris, dropout):
    X, y = iris
    est = MLPClassifierPlus(hidden_layer_sizes=(4, 4), dropout=dropout, max_iter=2)
    with pytest.raises(ValueError, match=r"one such rate per hidden layer \(2\)"):
        est.fit(X, y)


def test_balanced_class_weight_raises_minority_recall():
    # 2,000 rows: the test set's ~60 minority samples make the recall stable
    # (every seed: about 0.83 balanced, 0.74 unweighted).
    X, y = make_classification(n_samples=2000, n_features=10, weights=[0.9], flip_y=0.05,
                               class_sep=0.5, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

    def recall(class_weight):
        return np.mean([
            recall_score(y_test, MLPClassifierPlus(
                hidden_layer_sizes=(16,), class_weight=class_weight,
                learning_rate_init=0.01, max_iter=30, random_state=seed,
            ).fit(X_train, y_train).predict(X_test))
            for seed in range(3)
        ])

    assert recall("balanced") > recall(None) + 0.05


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_dict_class_weight_equals_sample_weight_scaling(iris, solver):
    X, y = iris
    class_weight = {0: 1.0, 1: 4.0, 2: 0.5}
    a = MLPClassifierPlus(hidden_layer_sizes=(8,), solver=solver, class_weight=class_weight,
                          max_iter=20, random_state=0).fit(X, y)
    sample_weight = np.array([class_weight[c] for c in y])
    b = MLPClassifierPlus(hidden_layer_sizes=(8,), solver=solver, max_iter=20,
                          random_state=0).fit(X, y, sample_weight=sample_weight)
    for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert_allclose(u, v, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------
# 4. A failed fit keeps the fitted state
# ---------------------------------------------------------------------------


def _fitted_iris(iris):
    X, y = iris
    return MLPClassifierPlus(hidden_layer_sizes=(10,), solver="sgd", learning_rate_init=0.01,
                             max_iter=5, random_state=0).fit(X, y)


@pytest.mark.parametrize("bad, error, match", [
    ("nan_X", ValueError, "Input X contains NaN"),
    ("unknown_label", ValueError, "`y` has classes not in `self.classes_`"),
])
def test_failed_partial_fit_leaves_fitted_state_unchanged(iris, snapshot, bad, error, match):
    X, y = iris
    est = _fitted_iris(iris)
    before, proba = snapshot(est), est.predict_proba(X)
    X_bad, y_bad = X.copy(), y.copy()
    if bad == "nan_X":
        X_bad[3, 1] = np.nan
    else:
        y_bad[0] = 7
    with pytest.raises(error, match=match):
        est.partial_fit(X_bad, y_bad)
    before.assert_unchanged(est)
    assert_array_equal(est.predict_proba(X), proba)


@pytest.mark.parametrize("warm_start", [False, True])
@pytest.mark.parametrize("momentum", [0.9, 0.0])
def test_diverging_refit_leaves_fitted_state_unchanged(iris, snapshot, warm_start, momentum):
    """``learning_rate_init=1e6`` overflows the loss to inf/NaN within ~30 epochs
    (``n_iter_no_change`` high so the stall rule does not stop it first)."""
    X, y = iris
    est = _fitted_iris(iris).set_params(learning_rate_init=1e6, momentum=momentum,
                                        max_iter=200, n_iter_no_change=200,
                                        warm_start=warm_start)
    before, proba = snapshot(est), est.predict_proba(X)
    with pytest.raises(FloatingPointError,
                       match=r"diverged .*Try a smaller learning_rate_init \(now 1000000.0\)"):
        est.fit(X, y)
    before.assert_unchanged(est)
    assert_array_equal(est.predict_proba(X), proba)


def test_diverging_partial_fit_leaves_fitted_state_unchanged(iris, snapshot):
    X, y = iris
    est = _fitted_iris(iris).set_params(learning_rate_init=1e300)
    before, proba = snapshot(est), est.predict_proba(X)
    with pytest.raises(FloatingPointError, match="smaller learning_rate_init"):
        est.partial_fit(X, y)
    before.assert_unchanged(est)
    assert_array_equal(est.predict_proba(X), proba)


def test_last_step_that_overflows_the_outputs_is_a_divergence(snapshot):
    """A call whose last step leaves finite weights (about 1e307) whose outputs
    overflow: no later loss sees it, so the call checks the outputs of its last
    batch with the weights it is about to expose (found by the thorough
    property run: predict raised an overflow warning)."""
    X, y = np.array([[0.13], [-0.13]]), np.array([0.0, 1.0])
    est = MLPClassifierPlus(hidden_layer_sizes=(3,), solver="sgd", learning_rate="constant",
                            alpha=0.0, activation="identity", learning_rate_init=1e308,
                            random_state=0)
    with pytest.raises(FloatingPointError, match="smaller learning_rate_init"):
        est.partial_fit(X, y, classes=[0.0, 1.0])
    assert not hasattr(est, "coefs_")
    est.set_params(learning_rate_init=1e-3).partial_fit(X, y, classes=[0.0, 1.0])
    est.set_params(learning_rate_init=1e308)
    before, proba = snapshot(est), est.predict_proba(X)
    with pytest.raises(FloatingPointError, match="smaller learning_rate_init"):
        est.partial_fit(X, y)
    before.assert_unchanged(est)
    assert_array_equal(est.predict_proba(X), proba)


@pytest.mark.parametrize("activation", ["logistic", "relu"])
def test_exposed_weights_give_finite_outputs_on_rows_like_the_training_rows(activation):
    """Weights of about 1e308 can give finite outputs on the last batch and
    overflow on other rows of the same scale (a different set of active
    hidden units adds up), or leave outputs whose softmax shift overflows
    (found by the thorough property run: predict and predict_proba raised
    overflow warnings on new rows). The call refuses weights whose outputs
    are not finite, with room, for every row whose entries are within 2^10
    times the largest of the last step's rows."""
    X = sp.csr_matrix(np.array([[0.0, 0.45899312], [0.08724998, 0.87014485], [0.0, 0.0]]))
    y = np.array([0.0, 1.0, 2.0])
    est = MLPClassifierPlus(hidden_layer_sizes=(3,), max_iter=1, random_state=0,
                            solver="adagrad", learning_rate="constant", alpha=0.0,
                            activation=activation, learning_rate_init=1e308)
    with pytest.raises(FloatingPointError, match="smaller learning_rate_init"):
        est.fit(X, y)


# ---------------------------------------------------------------------------
# 5. Drop-in parity with MLPClassifier
# ---------------------------------------------------------------------------


def test_every_sklearn_parameter_exists_with_the_same_default():
    ours = inspect.signature(MLPClassifierPlus).parameters
    for name, param in inspect.signature(MLPClassifier).parameters.items():
        assert name in ours, name
        assert ours[name].default == param.default, name
        assert ours[name].kind == param.kind, name


@pytest.mark.parametrize("method", sorted(
    name for name in dir(MLPClassifier) if not name.startswith("_")))
def test_every_sklearn_public_method_exists_with_its_arguments(method):
    assert hasattr(MLPClassifierPlus(), method)
    theirs = getattr(MLPClassifier(), method)
    if not callable(theirs):
        return
    ours = inspect.signature(getattr(MLPClassifierPlus(), method)).parameters
    for name in inspect.signature(theirs).parameters:
        assert name in ours, name


FITTED_ATTRIBUTES = ["coefs_", "intercepts_", "loss_", "best_loss_", "loss_curve_",
                     "validation_scores_", "best_validation_score_", "n_iter_", "t_",
                     "n_layers_", "n_outputs_", "out_activation_", "classes_",
                     "n_features_in_"]


def _attribute_kind(value):
    """What a fitted attribute is, down to shapes and dtypes of arrays."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        return ("ndarray", value.shape, value.dtype.kind)
    if isinstance(value, list):
        return ("list", [_attribute_kind(v) for v in value]) if value and isinstance(
            value[0], np.ndarray) else ("list", len(value) > 0)
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, np.integer)):
        return "int"
    if isinstance(value, (float, np.floating)):
        return "float"
    return type(value).__name__


def _targets(output):
    if output == "multilabel":
        X, y = make_multilabel_classification(n_samples=120, n_features=6, n_classes=3,
                                              random_state=0)
        return X, y
    X, y = make_classification(n_samples=120, n_features=6, n_informative=4,
                               n_classes=2 if output == "binary" else 3, random_state=0)
    return X, np.array(["a", "b", "c"])[y]


@pytest.mark.parametrize("output", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("params", [
    {"solver": "adam"},
    {"solver": "sgd", "early_stopping": True},
    {"solver": "lbfgs"},
], ids=["adam", "sgd-early-stopping", "lbfgs"])
def test_fitted_attributes_match_sklearn_kinds_and_shapes(output, params):
    X, y = _targets(output)
    common = {"hidden_layer_sizes": (7, 5), "max_iter": 15, "random_state": 0, **params}
    reference = MLPClassifier(**common).fit(X, y)
    est = MLPClassifierPlus(**common).fit(X, y)
    for name in FITTED_ATTRIBUTES:
        assert hasattr(est, name), name
        if hasattr(reference, name):  # sklearn's lbfgs sets no loss_curve_/best_loss_
            assert _attribute_kind(getattr(est, name)) == _attribute_kind(
                getattr(reference, name)), name
    assert est.out_activation_ == reference.out_activation_
    assert est.n_layers_ == reference.n_layers_ and est.n_outputs_ == reference.n_outputs_
    assert_array_equal(est.classes_, reference.classes_)
    assert not hasattr(est, "feature_names_in_")


def test_feature_names_in_from_pandas_like_sklearn(iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    df = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"])
    reference = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(df, y)
    est = MLPClassifierPlus(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(df, y)
    assert_array_equal(est.feature_names_in_, reference.feature_names_in_)
    assert est.feature_names_in_.dtype == reference.feature_names_in_.dtype


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_t_counts_samples_seen_like_sklearn(iris, solver):
    X, y = iris
    est = MLPClassifierPlus(hidden_layer_sizes=(4,), solver=solver, max_iter=7,
                            n_iter_no_change=20, random_state=0).fit(X, y)
    reference = MLPClassifier(hidden_layer_sizes=(4,), solver=solver, max_iter=7,
                              n_iter_no_change=20, random_state=0).fit(X, y)
    assert est.t_ == reference.t_ == 7 * X.shape[0]


# ---------------------------------------------------------------------------
# 6. Predictions, input types, reproducibility
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("output", ["binary", "multiclass", "multilabel"])
def test_prediction_shapes_and_consistency(output):
    X, y = _targets(output)
    est = MLPClassifierPlus(hidden_layer_sizes=(8,), learning_rate_init=0.01, max_iter=30,
                            random_state=0).fit(X, y)
    proba, log_proba, pred = est.predict_proba(X), est.predict_log_proba(X), est.predict(X)
    n_columns = {"binary": 2, "multiclass": 3, "multilabel": 3}[output]
    assert proba.shape == log_proba.shape == (X.shape[0], n_columns)
    assert pred.shape == y.shape
    assert_allclose(log_proba, np.log(proba), rtol=1e-12)
    assert np.all((proba > 0) & (proba < 1))
    if output == "multilabel":
        assert_array_equal(pred, (proba > 0.5).astype(int))
    else:
        assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
        assert_array_equal(pred, est.classes_[proba.argmax(axis=1)])


@pytest.mark.parametrize("params", [
    {"solver": "adam"},
    {"solver": "lbfgs"},
    {"solver": "sgd", "dropout": 0.3},
], ids=["adam", "lbfgs", "sgd-dropout"])
def test_sparse_input_fits_like_dense(iris, params):
    X, y = iris
    X = np.where(np.abs(X) < 0.5, 0.0, X)  # some real zeros
    dense = MLPClassifierPlus(hidden_layer_sizes=(8,), max_iter=20, random_state=0,
                              **params).fit(X, y)
    sparse = MLPClassifierPlus(hidden_layer_sizes=(8,), max_iter=20, random_state=0,
                               **params).fit(sp.csr_matrix(X), y)
    for u, v in zip(dense.coefs_ + dense.intercepts_, sparse.coefs_ + sparse.intercepts_):
        assert_allclose(u, v, rtol=1e-9, atol=1e-12)
    assert_allclose(dense.predict_proba(X), sparse.predict_proba(sp.csr_matrix(X)),
                    rtol=1e-9)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_float32_input_gives_float32_coefs_and_proba(iris, solver):
    X, y = iris
    est = MLPClassifierPlus(hidden_layer_sizes=(8,), solver=solver, max_iter=10,
                            random_state=0).fit(X.astype(np.float32), y)
    assert {a.dtype for a in est.coefs_ + est.intercepts_} == {np.dtype(np.float32)}
    assert est.predict_proba(X.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("params", [
    {"solver": "adam"},
    {"solver": "sgd", "dropout": 0.3},
    {"solver": "lbfgs"},
    {"solver": "adam", "early_stopping": True},
], ids=["adam", "sgd-dropout", "lbfgs", "early-stopping"])
def test_same_random_state_is_bit_identical(iris, params):
    X, y = iris
    fits = [MLPClassifierPlus(hidden_layer_sizes=(8,), max_iter=15, random_state=3,
                              **params).fit(X, y) for _ in range(2)]
    for u, v in zip(fits[0].coefs_ + fits[0].intercepts_,
                    fits[1].coefs_ + fits[1].intercepts_):
        assert_array_equal(u, v)
    assert fits[0].loss_curve_ == fits[1].loss_curve_


# ---------------------------------------------------------------------------
# 7. partial_fit, warm_start, early stopping
# ---------------------------------------------------------------------------


def test_first_partial_fit_needs_classes(iris):
    X, y = iris
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        MLPClassifierPlus().partial_fit(X, y)


def test_partial_fit_rejects_labels_outside_classes(iris):
    X, y = iris
    with pytest.raises(ValueError, match=r"`y` has classes not in `classes`: \[2\]"):
        MLPClassifierPlus().partial_fit(X, y, classes=[0, 1])


def test_later_partial_fit_rejects_unknown_label(iris):
    X, y = iris
    est = MLPClassifierPlus(hidden_layer_sizes=(4,)).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="`y` has classes not in `self.classes_`"):
        est.partial_fit(X, np.where(y == 2, 5, y))


def test_later_partial_fit_rejects_other_classes_like_sklearn(iris):
    X, y = iris
    est = MLPClassifierPlus(hidden_layer_sizes=(4,)).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"`classes=\[0, 1, 2, 3\]` is not the same as on "
                                         r"last call to partial_fit"):
        est.partial_fit(X, y, classes=[0, 1, 2, 3])
    est.partial_fit(X, y, classes=[2, 1, 0])  # the same set is fine


def test_partial_fit_with_classes_absent_from_first_batch(iris):
    X, y = iris
    est = MLPClassifierPlus(hidden_layer_sizes=(4,), random_state=0)
    est.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert_array_equal(est.classes_, [0, 1, 2])
    assert est.predict_proba(X).shape == (X.shape[0], 3)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_ten_partial_fits_equal_fit_with_max_iter_10(iris, solver):
    """Same seed, same shuffles, optimizer state carried between calls.
    ``n_iter_no_change=10`` means a patience of 11 epochs: fit cannot stop early."""
    X, y = iris
    common = {"hidden_layer_sizes": (10,), "solver": solver, "learning_rate_init": 0.01,
              "batch_size": 32, "random_state": 0}
    full = MLPClassifierPlus(max_iter=10, n_iter_no_change=10, **common).fit(X, y)
    parts = MLPClassifierPlus(**common)
    for _ in range(10):
        parts.partial_fit(X, y, classes=[0, 1, 2])
    for u, v in zip(full.coefs_ + full.intercepts_, parts.coefs_ + parts.intercepts_):
        assert_array_equal(u, v)
    assert parts.loss_curve_ == full.loss_curve_
    assert parts.t_ == full.t_ == 1500
    # n_iter_ counts the epochs of the last call, as in scikit-learn.
    assert (parts.n_iter_, full.n_iter_) == (1, 10)


# Full-batch plain SGD with a constant rate: one deterministic step per epoch,
# the same arithmetic as scikit-learn's MLPClassifier.
PLAIN_SGD = {"hidden_layer_sizes": (6,), "solver": "sgd", "momentum": 0.0,
             "learning_rate_init": 0.1, "batch_size": 150, "shuffle": False,
             "n_iter_no_change": 50, "random_state": 0}


def _assign(est, coefs, intercepts):
    est.coefs_ = [np.array(c, copy=True) for c in coefs]
    est.intercepts_ = [np.array(b, copy=True) for b in intercepts]


@pytest.mark.parametrize("method", ["partial_fit", "warm_start"])
def test_continues_from_assigned_coefs_like_mlpclassifier(iris, method):
    """partial_fit and warm starts continue from user-assigned ``coefs_`` and
    ``intercepts_``; scikit-learn's MLPClassifier, given the same weights, takes
    the same steps (issue #8)."""
    X, y = iris
    rng = np.random.RandomState(1)
    coefs = [rng.uniform(-0.5, 0.5, (4, 6)), rng.uniform(-0.5, 0.5, (6, 3))]
    intercepts = [rng.uniform(-0.5, 0.5, 6), rng.uniform(-0.5, 0.5, 3)]
    ours = MLPClassifierPlus(max_iter=3, warm_start=method == "warm_start", **PLAIN_SGD)
    ref = MLPClassifier(max_iter=3, warm_start=method == "warm_start", **PLAIN_SGD)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for est in (ours, ref):
            est.fit(X, y)
            _assign(est, coefs, intercepts)
            getattr(est, "fit" if method == "warm_start" else method)(X, y)
    for u, v in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_):
        assert_allclose(u, v, rtol=1e-10, atol=1e-12)
    assert (ours.n_iter_, ours.t_) == (ref.n_iter_, ref.t_)
    # The last call's epochs (the first fits started from other weights). The
    # penalty term is read at the epoch's end here, at each step's start there.
    k = ref.n_iter_
    assert ours.loss_curve_[-k:] == pytest.approx(ref.loss_curve_[-k:], rel=1e-6)


def test_partial_fit_after_early_stopping_continues_from_best_weights(iris):
    """After early stopping restored the best epoch, partial_fit continues from
    the restored weights, and the early-stopping record stays (issue #8)."""
    X, y = iris
    est = MLPClassifierPlus(max_iter=40, early_stopping=True, **PLAIN_SGD).fit(X, y)
    assert est.validation_scores_[-1] < est.best_validation_score_ or \
        est.n_iter_ < 40  # the restored weights are not simply the last ones
    scores = list(est.validation_scores_)
    ref = MLPClassifier(max_iter=1, **PLAIN_SGD)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref.fit(X, y)
    _assign(ref, est.coefs_, est.intercepts_)
    est.partial_fit(X, y)
    ref.partial_fit(X, y)
    for u, v in zip(est.coefs_ + est.intercepts_, ref.coefs_ + ref.intercepts_):
        assert_allclose(u, v, rtol=1e-10, atol=1e-12)
    assert est.validation_scores_ == scores


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_warm_start_counters_follow_mlpclassifier(iris, solver):
    """A warm-start fit runs up to max_iter epochs of its own: ``n_iter_`` counts
    them, ``t_`` and ``loss_curve_`` go on (issue #8)."""
    X, y = iris
    params = {"hidden_layer_sizes": (5,), "solver": solver, "max_iter": 4,
              "warm_start": True, "n_iter_no_change": 50, "random_state": 0}
    ours, ref = MLPClassifierPlus(**params), MLPClassifier(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for est in (ours, ref):
            est.fit(X, y).fit(X, y)
    assert (ours.n_iter_, ours.t_) == (ref.n_iter_, ref.t_)
    if solver != "lbfgs":
        assert len(ours.loss_curve_) == len(ref.loss_curve_)


def test_refit_without_warm_start_starts_over(iris):
    X, y = iris
    est = MLPClassifierPlus(hidden_layer_sizes=(10,), max_iter=5, random_state=0).fit(X, y)
    first = [c.copy() for c in est.coefs_]
    est.fit(X, y)
    assert est.n_iter_ == 5 and len(est.loss_curve_) == 5
    for u, v in zip(first, est.coefs_):
        assert_array_equal(u, v)


def test_early_stopping_restores_best_weights_on_explicit_validation_set():
    X, y = make_classification(n_samples=400, n_features=20, n_informative=4, flip_y=0.2,
                               random_state=0)
    X_train, X_val, y_train, y_val = train_test_split(X, y, random_state=0)
    est = MLPClassifierPlus(hidden_layer_sizes=(64,), early_stopping=True,
                            learning_rate_init=0.01, max_iter=200, random_state=0)
    est.fit(X_train, y_train, X_val=X_val, y_val=y_val)
    assert est.best_validation_score_ == max(est.validation_scores_)
    assert est.validation_scores_[-1] < est.best_validation_score_  # restoring matters
    assert est.score(X_val, y_val) == est.best_validation_score_
    assert est.best_loss_ is None


def test_warm_start_extends_validation_scores_like_loss_curve(iris):
    """``validation_scores_`` has one entry per epoch (``n_iter_``), as in sklearn."""
    X, y = iris
    est = MLPClassifierPlus(hidden_layer_sizes=(8,), early_stopping=True, max_iter=5,
                            n_iter_no_change=20, random_state=0).fit(X, y)
    first = list(est.validation_scores_)
    est.set_params(warm_start=True).fit(X, y)
    assert len(est.loss_curve_) == len(est.validation_scores_) == 10
    assert est.n_iter_ == 5
    assert est.validation_scores_[:5] == first
    assert est.best_validation_score_ == max(est.validation_scores_[5:])


def test_early_stopping_with_internal_split_reports_best_score(iris):
    X, y = iris
    est = MLPClassifierPlus(hidden_layer_sizes=(8,), early_stopping=True,
                            learning_rate_init=0.01, max_iter=50, random_state=0).fit(X, y)
    assert est.best_validation_score_ == max(est.validation_scores_)
    assert len(est.validation_scores_) == est.n_iter_ == len(est.loss_curve_)


def test_X_val_without_early_stopping_raises(iris):
    X, y = iris
    est = MLPClassifierPlus(hidden_layer_sizes=(4,), max_iter=2)
    with pytest.raises(ValueError, match="X_val and y_val are used for early stopping only"):
        est.fit(X, y, X_val=X, y_val=y)


@pytest.mark.parametrize("given", ["X_val", "y_val"])
def test_X_val_and_y_val_come_together(iris, given):
    X, y = iris
    est = MLPClassifierPlus(hidden_layer_sizes=(4,), early_stopping=True, max_iter=2)
    with pytest.raises(ValueError, match="Pass both X_val and y_val, or neither"):
        est.fit(X, y, **{given: X if given == "X_val" else y})


# ---------------------------------------------------------------------------
# 8. Optimizers, schedules, penalties, solver restrictions
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("solver, learning_rate_init", [
    ("sgd", 0.1), ("momentum", 0.1), ("nesterov", 0.1), ("adagrad", 0.1),
    ("rmsprop", 0.01), ("adam", 0.01), ("adamw", 0.01), ("nadam", 0.01), ("lion", 0.01),
])
def test_every_solver_fits_iris(iris, solver, learning_rate_init):
    X, y = iris
    est = MLPClassifierPlus(hidden_layer_sizes=(10,), solver=solver,
                            learning_rate_init=learning_rate_init, max_iter=100,
                            random_state=0).fit(X, y)
    assert est.score(X, y) > 0.85


@pytest.mark.parametrize("learning_rate, learning_rate_init", [
    ("constant", 0.1), ("invscaling", 3.0), ("adaptive", 0.1), ("inverse_time", 0.3),
    ("exponential", 0.1), ("step", 0.3), ("cosine", 0.1), ("plateau", 0.1),
])
def test_every_schedule_fits_iris(iris, learning_rate, learning_rate_init):
    X, y = iris
    est = MLPClassifierPlus(hidden_layer_sizes=(10,), solver="sgd",
                            learning_rate=learning_rate,
                            learning_rate_init=learning_rate_init, max_iter=100,
                            random_state=0).fit(X, y)
    assert est.score(X, y) > 0.85


def test_undocumented_optimal_schedule_is_rejected(iris):
    """'optimal' needs a linear model's alpha and t0; the MLP does not list it."""
    X, y = iris
    with pytest.raises(ValueError, match="Unknown learning_rate 'optimal'"):
        MLPClassifierPlus(learning_rate="optimal", solver="sgd").fit(X, y)


def _zeros(alpha, solver, learning_rate_init, X, y):
    est = MLPClassifierPlus(hidden_layer_sizes=(20,), solver=solver, penalty="l1",
                            alpha=alpha, learning_rate_init=learning_rate_init,
                            max_iter=100, random_state=0).fit(X, y)
    assert est.score(X, y) > 0.85
    return sum(int(np.sum(W == 0)) for W in est.coefs_)


@pytest.mark.parametrize("solver, learning_rate_init", [("sgd", 0.1), ("adam", 0.01)])
def test_l1_gives_exact_zeros_and_more_with_larger_alpha(iris, solver, learning_rate_init):
    """alpha=1 and 3 cost no accuracy on iris but zero a share of the 140 weights.

    The L1 part is a proximal step; with an adaptive optimizer its threshold
    must follow the optimizer's per-coordinate step size (``lr / sqrt(v)`` for
    Adam), otherwise Adam's normalised steps (~lr) dwarf ``lr * alpha / n``
    and no weight ever lands on zero.
    """
    X, y = iris
    zeros_1 = _zeros(1.0, solver, learning_rate_init, X, y)
    zeros_3 = _zeros(3.0, solver, learning_rate_init, X, y)
    assert zeros_1 >= 10
    assert zeros_3 > zeros_1


def test_l2_penalty_has_no_exact_zeros(iris):
    X, y = iris
    est = MLPClassifierPlus(hidden_layer_sizes=(20,), solver="sgd", alpha=3.0,
                            learning_rate_init=0.1, max_iter=100, random_state=0).fit(X, y)
    assert all(np.all(W != 0) for W in est.coefs_)


@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
def test_l1_penalties_with_lbfgs_raise(iris, penalty):
    X, y = iris
    with pytest.raises(ValueError, match=f"penalty='{penalty}' needs a stochastic solver"):
        MLPClassifierPlus(solver="lbfgs", penalty=penalty).fit(X, y)


@pytest.mark.parametrize("hidden, dropout", [((4, 4), 0.2), ((4, 4), (0.0, 0.3)),
                                             # A positive rate asked for with
                                             # lbfgs, whatever the layers.
                                             ((), 0.3)])
def test_dropout_with_lbfgs_raises(iris, hidden, dropout):
    X, y = iris
    with pytest.raises(ValueError, match="dropout needs a stochastic solver, not 'lbfgs'"):
        MLPClassifierPlus(hidden_layer_sizes=hidden, solver="lbfgs",
                          dropout=dropout).fit(X, y)
    # No rate: accepted.
    MLPClassifierPlus(hidden_layer_sizes=hidden, solver="lbfgs", max_iter=5,
                      dropout=(0.0,) * len(hidden)).fit(X, y)


def test_partial_fit_unavailable_for_lbfgs():
    assert not hasattr(MLPClassifierPlus(solver="lbfgs"), "partial_fit")
    assert hasattr(MLPClassifierPlus(solver="adam"), "partial_fit")
    assert hasattr(MLPClassifierPlus(solver=Adam()), "partial_fit")


# ---------------------------------------------------------------------------
# 9. Model selection, pickling, verbose, callbacks
# ---------------------------------------------------------------------------


def test_grid_search_over_nested_adam_beta_1(iris):
    X, y = iris
    search = GridSearchCV(
        MLPClassifierPlus(hidden_layer_sizes=(8,), solver=Adam(), learning_rate_init=0.01,
                          max_iter=20, random_state=0),
        {"solver__beta_1": [0.0, 0.9]}, cv=3,
    ).fit(X, y)
    assert [p["solver__beta_1"] for p in search.cv_results_["params"]] == [0.0, 0.9]
    scores = search.cv_results_["mean_test_score"]
    assert scores[0] != scores[1]  # the nested parameter reaches the optimizer
    best = search.best_params_["solver__beta_1"]
    assert search.best_estimator_.solver_.beta_1 == best
    assert search.best_estimator_.solver.beta_1 == best


def test_grid_search_over_schedule_names(iris):
    X, y = iris
    grid = ["constant", "cosine", "exponential"]
    search = GridSearchCV(
        MLPClassifierPlus(hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=0.1,
                          max_iter=20, random_state=0),
        {"learning_rate": grid}, cv=3,
    ).fit(X, y)
    assert [p["learning_rate"] for p in search.cv_results_["params"]] == grid
    assert len(set(search.cv_results_["mean_test_score"])) > 1
    assert search.best_estimator_.learning_rate == search.best_params_["learning_rate"]


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_pickle_round_trip_predicts_identically(iris, solver):
    X, y = iris
    est = MLPClassifierPlus(hidden_layer_sizes=(8,), solver=solver, max_iter=10,
                            random_state=0).fit(X, y)
    restored = pickle.loads(pickle.dumps(est))
    assert_array_equal(restored.predict_proba(X), est.predict_proba(X))
    assert_array_equal(restored.predict(X), est.predict(X))


def test_pickled_model_continues_partial_fit_identically(iris):
    X, y = iris
    est = MLPClassifierPlus(hidden_layer_sizes=(8,), random_state=0)
    est.partial_fit(X, y, classes=[0, 1, 2])
    restored = pickle.loads(pickle.dumps(est))
    est.partial_fit(X, y)
    restored.partial_fit(X, y)
    assert_array_equal(restored.coefs_[0], est.coefs_[0])


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_verbose_prints_mlpclassifiers_lines(iris, solver, capsys):
    """``verbose=True`` prints scikit-learn's ``Iteration N, loss = ...`` lines (issue #8)."""
    X, y = iris
    params = {"hidden_layer_sizes": (8,), "solver": solver, "max_iter": 6,
              "verbose": True, "random_state": 0}
    with pytest.warns(ConvergenceWarning):
        MLPClassifier(**params).fit(X, y)
    expected = [re.sub(r"[\d.]+", "#", line) for line in capsys.readouterr().out.splitlines()]
    with pytest.warns(ConvergenceWarning):
        est = MLPClassifierPlus(**params).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert [re.sub(r"[\d.]+", "#", line) for line in lines] == expected
    assert [int(re.match(r"Iteration (\d+), loss = ", line)[1]) for line in lines] == \
        list(range(1, est.n_iter_ + 1))


def test_verbose_lbfgs_prints_one_line_per_iteration(iris, capsys):
    X, y = iris
    est = MLPClassifierPlus(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=6,
                            verbose=True, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert [int(re.match(r"Iteration (\d+), loss = ", line)[1]) for line in lines] == \
        list(range(1, est.n_iter_ + 1))


def test_not_verbose_prints_nothing(iris, capsys):
    X, y = iris
    MLPClassifierPlus(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""


class TaskRecorder(NoOpCallback):
    """A FitCallback that records the tasks it sees and their fitted estimators."""

    def __init__(self):
        self.begun, self.ended = [], []

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None):
        self.begun.append(context.task_name)

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self.ended.append((context.task_name, fitted_estimator))


SUBTASK = {"adam": "epoch", "sgd": "epoch", "lbfgs": "lbfgs-iter"}


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_callbacks_see_one_task_per_epoch_or_iteration(iris, solver):
    X, y = iris
    recorder = TaskRecorder()
    est = MLPClassifierPlus(hidden_layer_sizes=(8,), solver=solver, max_iter=6,
                            n_iter_no_change=10, random_state=0)
    est.set_callbacks(recorder).fit(X, y)
    assert recorder.begun[0] == "fit" and recorder.ended[-1][0] == "fit"
    assert sorted(recorder.begun) == sorted(name for name, _ in recorder.ended)
    with_model = [m for name, m in recorder.ended if name == SUBTASK[solver]
                  and m is not None]
    assert len(with_model) == est.n_iter_ == 6
    # The last epoch's model is the final model.
    assert_array_equal(with_model[-1].predict_proba(X), est.predict_proba(X))


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_scoring_monitor_logs_one_score_per_epoch_or_iteration(iris, solver):
    """The monitor scores each epoch's model on the training data as the user
    passed it (labels, not the internal label-indicator matrix)."""
    X, y = iris
    monitor = ScoringMonitor(scoring="accuracy")
    est = MLPClassifierPlus(hidden_layer_sizes=(8,), solver=solver, max_iter=6,
                            n_iter_no_change=10, random_state=0)
    est.set_callbacks(monitor).fit(X, y)
    rows = [row for row in monitor.get_logs().data if row["task_name"] == SUBTASK[solver]]
    assert len(rows) == est.n_iter_ == 6
    assert rows[-1]["accuracy"] == est.score(X, y)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_progress_bar_runs(iris, solver):
    pytest.importorskip("rich")
    from sklearn.callback import ProgressBar

    X, y = iris
    est = MLPClassifierPlus(hidden_layer_sizes=(8,), solver=solver, max_iter=6,
                            random_state=0)
    est.set_callbacks(ProgressBar()).fit(X, y)
    assert est.n_iter_ == 6
    assert math.isfinite(est.loss_)


@pytest.mark.parametrize("sparse", [False, True])
def test_decision_on_many_rows_runs_in_chunks_with_the_same_result(sparse):
    # Prediction on n rows holds the hidden activations of a chunk of rows,
    # not all n (scikit-learn's holds all): the traced peak stays near the
    # output's size, and the values are the whole-batch pass's.
    import tracemalloc

    import scipy.sparse as sp

    from skoptim.models import _mlp as mlp_module

    rng = np.random.default_rng(0)
    X = rng.random((20000, 30)).astype(np.float32)
    X[X < 0.5] = 0
    y = rng.integers(0, 3, 20000)
    est = MLPClassifierPlus(hidden_layer_sizes=(256, 64), max_iter=1,
                            random_state=0).fit(X[:500], y[:500])
    Xp = sp.csr_matrix(X) if sparse else X
    est.predict_proba(Xp[:10])  # imports and compiled passes loaded
    tracemalloc.start()
    proba = est.predict_proba(Xp)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    hidden_all = 20000 * 256 * 4  # the first hidden layer's activations, all rows
    assert peak < hidden_all / 2
    whole = MLPClassifierPlus.predict_proba
    original = mlp_module._CHUNK_BYTES
    try:
        mlp_module._CHUNK_BYTES = 1 << 40
        assert_allclose(whole(est, Xp), proba, rtol=1e-6, atol=1e-7)
    finally:
        mlp_module._CHUNK_BYTES = original
