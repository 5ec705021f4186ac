"""scikit-learn's documented meaning for the parameters the Plus classes share
with their counterparts (issue #8): labels and target shapes, validation
splits, L-BFGS, schedules, deprecations and error messages. Shared behaviour is
one test parametrized over the estimators."""

import re
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits, load_iris, make_regression
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils._param_validation import InvalidParameterError

from skoptim import MLPClassifierPlus, MLPRegressorPlus, SGDClassifierPlus, SGDRegressorPlus


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return MinMaxScaler().fit_transform(X), y


def _regression():
    return make_regression(60, 3, noise=1.0, random_state=0)


def _classification():
    X, y = load_iris(return_X_y=True)
    return X, y


DATA = {"SGDRegressorPlus": _regression, "MLPClassifierPlus": _classification,
        "SGDClassifierPlus": _classification, "MLPRegressorPlus": _regression}
ESTIMATORS = [SGDRegressorPlus(max_iter=5, tol=None, random_state=0),
              MLPClassifierPlus(hidden_layer_sizes=(4,), max_iter=5, random_state=0),
              SGDClassifierPlus(max_iter=5, tol=None, random_state=0),
              MLPRegressorPlus(hidden_layer_sizes=(4,), max_iter=5, random_state=0)]
IDS = [type(e).__name__ for e in ESTIMATORS]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("est", ESTIMATORS, ids=IDS)
def test_column_vector_y_is_raveled_with_a_warning(est):
    """y of shape (n, 1) warns as scikit-learn does and predictions are 1-D."""
    X, y = DATA[type(est).__name__]()
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        est.fit(X, y.reshape(-1, 1))
    assert est.predict(X).shape == (X.shape[0],)


@pytest.mark.parametrize("est, fraction", [
    (ESTIMATORS[0], 0.99), (ESTIMATORS[1], 0.99), (ESTIMATORS[1], 0.0)],
    ids=["SGDRegressorPlus-0.99", "MLPClassifierPlus-0.99", "MLPClassifierPlus-0.0"])
def test_validation_fraction_leaving_an_empty_set_raises(est, fraction):
    """scikit-learn's error, instead of training on what is left (issue #8)."""
    X, y = DATA[type(est).__name__]()
    X, y = X[:8], (y[:8] if type(est) is SGDRegressorPlus else np.arange(8) % 2)
    est = est.set_params(early_stopping=True, validation_fraction=fraction)
    with pytest.raises(ValueError, match="led to an empty set"):
        est.fit(X, y)


def test_negative_power_t_warns_as_deprecated():
    X, y = _regression()
    with pytest.warns(FutureWarning, match="Negative values for `power_t` are deprecated"):
        SGDRegressorPlus(power_t=-1.0, max_iter=5, tol=None).fit(X, y)


def test_mlp_fits_a_single_class(iris):
    """As scikit-learn's MLPClassifier: a fit on one class predicts it."""
    X, _ = iris
    est = MLPClassifierPlus(hidden_layer_sizes=(3,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, np.full(len(X), "only"))
    assert_array_equal(est.classes_, ["only"])
    assert_array_equal(est.predict(X[:3]), ["only"] * 3)
    assert_array_equal(est.predict_proba(X[:3]), np.ones((3, 1)))


def test_mlp_warm_start_with_other_classes_raises(iris):
    X, y = iris
    est = MLPClassifierPlus(hidden_layer_sizes=(3,), max_iter=5, warm_start=True,
                            random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
        with pytest.raises(ValueError, match="warm_start can only be used where `y` has "
                                             "the same classes"):
            est.fit(X[y < 2], y[y < 2])


def test_lbfgs_ignores_early_stopping(iris):
    """L-BFGS trains on all the data whatever early_stopping says."""
    X, y = iris
    params = {"hidden_layer_sizes": (5,), "solver": "lbfgs", "max_iter": 30,
              "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = MLPClassifierPlus(**params).fit(X, y)
        early = MLPClassifierPlus(early_stopping=True, **params).fit(X, y)
    for u, v in zip(plain.coefs_, early.coefs_):
        assert_array_equal(u, v)
    assert early.validation_scores_ is None and early.best_loss_ is not None


def test_lbfgs_with_explicit_validation_set_raises(iris):
    X, y = iris
    est = MLPClassifierPlus(solver="lbfgs", early_stopping=True)
    with pytest.raises(ValueError, match="solver='lbfgs' does not do"):
        est.fit(X, y, X_val=X, y_val=y)


def test_mlp_invscaling_sets_the_rate_at_epoch_ends_from_t(iris):
    """With the same starting weights, MLPClassifier and MLPClassifierPlus take
    the same invscaling steps: the base rate in a fit's first epoch, then
    ``learning_rate_init / (t_ + 1) ** power_t`` from the ``t_`` at the end
    of each epoch, ``t_`` counting on over warm starts (issue #8)."""
    X, y = iris
    params = {"hidden_layer_sizes": (6,), "solver": "sgd", "momentum": 0.0,
              "learning_rate": "invscaling", "learning_rate_init": 0.5, "power_t": 0.5,
              "batch_size": 50, "shuffle": False, "n_iter_no_change": 50,
              "warm_start": True, "random_state": 0}
    rng = np.random.RandomState(0)
    coefs = [rng.uniform(-0.5, 0.5, (4, 6)), rng.uniform(-0.5, 0.5, (6, 3))]
    intercepts = [rng.uniform(-0.5, 0.5, 6), rng.uniform(-0.5, 0.5, 3)]
    ours, ref = MLPClassifierPlus(max_iter=1, **params), MLPClassifier(max_iter=1, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for est in (ours, ref):
            est.fit(X, y)
            est.coefs_ = [c.copy() for c in coefs]
            est.intercepts_ = [b.copy() for b in intercepts]
            est.set_params(max_iter=4).fit(X, y)
    for u, v in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_):
        assert_allclose(u, v, rtol=1e-10, atol=1e-12)
    assert ours.t_ == ref.t_ == 5 * len(X)


@pytest.mark.parametrize("learning_rate", ["invscaling", "adaptive"])
def test_mlp_sgd_schedules_reach_mlpclassifiers_accuracy(learning_rate):
    """On scikit-learn's digits, solver='sgd' with its schedules scores as
    MLPClassifier does with the same settings."""
    X, y = load_digits(return_X_y=True)
    X = MinMaxScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = X[:1200], X[1200:], y[:1200], y[1200:]
    params = {"hidden_layer_sizes": (32,), "solver": "sgd", "learning_rate": learning_rate,
              "learning_rate_init": 0.2 if learning_rate == "invscaling" else 0.05,
              "max_iter": 60, "tol": 1e-3, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPClassifierPlus(**params).fit(X_train, y_train)
        ref = MLPClassifier(**params).fit(X_train, y_train)
    assert ours.score(X_test, y_test) >= ref.score(X_test, y_test) - 0.02


def test_binary_probabilities_keep_their_precision_in_float32(iris):
    """Both columns of a binary predict_proba come from the logit: a small
    probability is not lost to ``1 - p`` rounding in float32."""
    X, y = iris
    X32, y2 = X.astype(np.float32), (y > 0).astype(int)
    est = MLPClassifierPlus(hidden_layer_sizes=(8,), learning_rate_init=0.05, max_iter=300,
                            random_state=0).fit(X32, y2)
    proba = est.predict_proba(X32)
    assert proba.dtype == np.float32
    h = np.maximum(X32.astype(np.float64) @ est.coefs_[0] + est.intercepts_[0], 0)
    z = (h @ est.coefs_[1] + est.intercepts_[1]).ravel()
    expected = np.column_stack([1 / (1 + np.exp(z)), 1 / (1 + np.exp(-z))])
    eps = np.finfo(np.float32).eps
    expected = np.clip(expected, eps, 1 - eps)
    assert np.mean(expected < 1e-5) > 0.1  # the case that 1 - p gets wrong
    assert_allclose(proba, expected, rtol=1e-4)


@pytest.mark.parametrize("est, param, value, suggestion", [
    (MLPClassifierPlus(), "solver", "AdamW", "adamw"),
    (MLPClassifierPlus(), "solver", "lbfg", "lbfgs"),
    (MLPClassifierPlus(), "learning_rate", "Cosine", "cosine"),
    (SGDRegressorPlus(), "solver", "RMSProp", "rmsprop"),
    (SGDRegressorPlus(), "learning_rate", "pa3", "pa2"),
], ids=["mlp-AdamW", "mlp-lbfg", "mlp-Cosine", "sgd-RMSProp", "sgd-pa3"])
def test_misspelt_names_suggest_the_closest_valid_one(est, param, value, suggestion):
    """One exception type for misspelt solver and schedule names (scikit-learn's
    InvalidParameterError), naming the closest valid name case-insensitively."""
    X, y = DATA[type(est).__name__]()
    with pytest.raises(InvalidParameterError,
                       match=f"Unknown {param} '{value}'.*Did you mean '{suggestion}'"):
        est.set_params(**{param: value}).fit(X, y)


def test_mlp_valid_solver_names_include_lbfgs(iris):
    X, y = iris
    with pytest.raises(InvalidParameterError, match=re.escape("'lbfgs'")):
        MLPClassifierPlus(solver="bfgs-ish").fit(X, y)


def test_mlp_batch_size_above_n_samples_warns_and_is_clipped(iris):
    X, y = iris
    with pytest.warns(UserWarning, match="batch_size` less than 1 or larger than sample "
                                         "size. It is going to be clipped"):
        est = MLPClassifierPlus(hidden_layer_sizes=(3,), batch_size=1000, max_iter=2,
                                random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
    assert est.batch_size_ == len(X)


def _huber_example():
    """scikit-learn's own Huber example (test_sgd.py::test_sgd_huber_fit)."""
    X = np.linspace(-5, 5, 100).reshape(-1, 1)
    return X, 0.5 * X.ravel()


@pytest.mark.parametrize("solver", ["sgd", "momentum", "adam", "adamw", "rmsprop",
                                    "nadam", "lion"])
def test_small_data_reaches_sgdregressors_quality_with_default_batches(solver):
    """100 rows: the default batches give many updates per epoch, so twenty
    epochs reach the R² > 0.99 that scikit-learn's test asks of SGDRegressor
    (one batch per epoch stayed at 0.88; issue #8)."""
    X, y = _huber_example()
    est = SGDRegressorPlus(loss="huber", epsilon=0.1, alpha=0.1, max_iter=20,
                           fit_intercept=False, solver=solver, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert est.score(X, y) > 0.99
    assert est.batch_size_ <= len(X) // 16


def test_random_state_matters_on_small_data():
    """With shuffle=True the batches of a small data set are shuffled, so the
    seed changes the fit (one full batch made it irrelevant; issue #8)."""
    X, y = make_regression(200, 5, noise=10.0, random_state=0)
    fits = [SGDRegressorPlus(max_iter=3, tol=None, random_state=seed).fit(X, y).coef_
            for seed in (0, 0, 1)]
    assert_array_equal(fits[0], fits[1])
    assert not np.array_equal(fits[0], fits[2])


@pytest.mark.parametrize("est", [SGDClassifierPlus, MLPClassifierPlus])
@pytest.mark.parametrize("y", [
    np.array([3, 1, 3, 3, 1, 1] * 5),  # binary ints
    np.array([2.0, 0.0, 1.0, 2.0, 1.0, 0.0] * 5),  # integral floats, 3 classes
    np.array([True, False, True, False, True, True] * 5),
    np.array([7, 7, 7, 7, 7, 7] * 5, dtype=np.uint8),  # one class
    np.array([[4], [2], [4], [2], [9], [9]] * 5),  # a column (warns, raveled)
    np.array(["b", "a", "b", "c", "a", "c"] * 5),  # strings: the general path
])
def test_numeric_labels_take_scikit_learns_classes(est, y):
    # Numeric labels in one column are checked and binarized from their
    # distinct values (not every label): the classes, target type and
    # encoding of scikit-learn's LabelBinarizer fitted on all of y.
    from sklearn.preprocessing import LabelBinarizer

    X = np.random.default_rng(0).standard_normal((len(y), 3))
    model = est(max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DataConversionWarning)
        if len(np.unique(y)) < 2 and est is SGDClassifierPlus:
            with pytest.raises(ValueError, match="has to be greater than one"):
                model.fit(X, y)
            return
        model.fit(X, y)
    flat = np.ravel(y)
    expected = LabelBinarizer().fit(flat)
    assert_array_equal(model.classes_, expected.classes_)
    assert model.classes_.dtype == expected.classes_.dtype
    assert model._label_binarizer.y_type_ == expected.y_type_
    assert set(model.predict(X)) <= set(flat)


@pytest.mark.parametrize("est", [SGDClassifierPlus, MLPClassifierPlus])
def test_continuous_numeric_labels_are_refused_as_by_scikit_learn(est):
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match="Unknown label type: continuous. Maybe you"):
        est().fit(X, np.array([0.5, 1.0, 2.0, 0.5]))


@pytest.mark.parametrize("random_state", [0, 7, np.int64(7), 2**31 - 1])
def test_stream_seed_of_an_int_is_scikit_learns_draw(random_state):
    # Remembered for ints, the seed is still check_random_state's first draw;
    # a RandomState instance is drawn from (and advanced) at every fit.
    from sklearn.utils import check_random_state

    from skoptim._base import stream_seed

    expected = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    assert stream_seed(random_state) == expected
    assert stream_seed(random_state) == expected
    rs = np.random.RandomState(random_state)
    first, second = stream_seed(rs), stream_seed(rs)
    reference = np.random.RandomState(random_state)
    assert [first, second] == list(reference.randint(np.iinfo(np.int32).max, size=2))


@pytest.mark.parametrize("cls", [SGDClassifierPlus, SGDRegressorPlus, MLPClassifierPlus,
                                 MLPRegressorPlus])
def test_parameter_names_are_read_once_a_class(cls):
    from sklearn.base import BaseEstimator

    from skoptim.optim import SGD, Adam, InverseTimeDecay

    for c in (cls, Adam, SGD, InverseTimeDecay):
        assert c._get_param_names() == BaseEstimator._get_param_names.__func__(c)
    est = cls(alpha=0.5)
    assert est.get_params()["alpha"] == 0.5
    assert est.set_params(alpha=0.25).get_params()["alpha"] == 0.25
