"""The per-element losses of ``skoptim.heads._losses``: derivatives against
finite differences, the scalar ``dloss``, agreement with scikit-learn, numerical
stability at huge outputs, the array-API (``array_api_strict``) path and the
curvature bounds."""

import math
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import _sgd_fast
from sklearn.metrics import mean_pinball_loss
from sklearn.neural_network._base import poisson_loss

from skoptim.heads._losses import (
    MARGIN_LOSSES,
    REGRESSION_LOSSES,
    EpsilonInsensitive,
    HalfPoisson,
    Hinge,
    Huber,
    LogLoss,
    ModifiedHuber,
    Perceptron,
    Pinball,
    SquaredEpsilonInsensitive,
    SquaredError,
    SquaredHinge,
    make_loss,
)

LOSSES = [
    SquaredError(),
    Huber(),
    Huber(epsilon=1.35),
    EpsilonInsensitive(),
    EpsilonInsensitive(epsilon=0.5),
    SquaredEpsilonInsensitive(),
    SquaredEpsilonInsensitive(epsilon=0.5),
    HalfPoisson(),
    Pinball(),
    Pinball(quantile=0.1),
    Pinball(quantile=0.9),
    Hinge(),
    Hinge(threshold=0.5),
    Perceptron(),
    SquaredHinge(),
    SquaredHinge(threshold=0.5),
    LogLoss(),
    ModifiedHuber(),
]
MARGIN = tuple(MARGIN_LOSSES.values())
BOUNDED = [loss for loss in LOSSES if loss.curvature is not None]
N_POINTS = 2000


def _is_margin(loss):
    return isinstance(loss, MARGIN)


def _sample(loss, seed=0, n=N_POINTS):
    """Random ``(z, y)`` in float64 that visit every branch of ``loss``."""
    rng = np.random.default_rng(seed)
    if isinstance(loss, HalfPoisson):
        z = rng.uniform(-3.0, 3.0, n)
        y = rng.poisson(np.exp(rng.uniform(-2.0, 2.0, n))).astype(np.float64)
        y[: n // 10] = 0.0
        y[n // 10: n // 5] = rng.uniform(0.0, 5.0, n // 10)
        return z, y
    if _is_margin(loss):
        return rng.normal(0.0, 2.0, n), rng.choice([-1.0, 1.0], n)
    return rng.normal(0.0, 2.0, n), rng.normal(0.0, 1.0, n)


def _sample_with_kinks(loss):
    """``_sample`` plus points exactly on the kinks (where conventions matter)."""
    z, y = _sample(loss)
    if _is_margin(loss):
        t = getattr(loss, "threshold", 1.0)
        kz = np.array([t, -t, 1.0, -1.0, 0.0, t, -1.0])
        ky = np.array([1.0, -1.0, -1.0, 1.0, 1.0, 1.0, -1.0])
    elif isinstance(loss, HalfPoisson):
        kz, ky = np.array([0.0, -1.0]), np.array([0.0, 0.0])
    else:
        eps = getattr(loss, "epsilon", 0.0)
        kz = np.array([eps, -eps, 0.0, 1.0 + eps, 2.0])
        ky = np.array([0.0, 0.0, 0.0, 1.0, 2.0])
    return np.concatenate([z, kz]), np.concatenate([y, ky])


def _kink_distance(loss, z, y):
    """Distance in ``z`` from each point to the nearest kink of ``loss`` (inf if none)."""
    if isinstance(loss, (Huber, EpsilonInsensitive, SquaredEpsilonInsensitive)):
        return np.abs(np.abs(z - y) - loss.epsilon)
    if isinstance(loss, Pinball):
        return np.abs(z - y)
    if isinstance(loss, (Hinge, SquaredHinge)):
        return np.abs(y * z - loss.threshold)
    if isinstance(loss, ModifiedHuber):
        m = y * z
        return np.minimum(np.abs(m - 1.0), np.abs(m + 1.0))
    return np.full_like(z, np.inf)


def _away_from_kinks(loss, z, y, distance=1e-4):
    keep = _kink_distance(loss, z, y) > distance
    assert keep.sum() > 0.9 * z.size
    return z[keep], y[keep]


def _numpy(loss, z, y):
    return loss.value_and_derivative(z, y, xp=np)


# ---------------------------------------------------------------------------
# Derivatives
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("loss", LOSSES, ids=repr)
def test_derivative_matches_central_differences(loss):
    z, y = _away_from_kinks(loss, *_sample(loss))
    h = 1e-6
    value_plus, _ = _numpy(loss, z + h, y)
    value_minus, _ = _numpy(loss, z - h, y)
    _, dz = _numpy(loss, z, y)
    assert_allclose((value_plus - value_minus) / (2 * h), dz, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("loss", LOSSES, ids=repr)
def test_value_and_derivative_shapes_and_dtypes(loss):
    z, y = _sample(loss, n=12)
    z, y = z.reshape(3, 4).astype(np.float32), y.reshape(3, 4).astype(np.float32)
    value, dz = _numpy(loss, z, y)
    assert value.shape == dz.shape == z.shape
    assert value.dtype == dz.dtype == np.float32


@pytest.mark.parametrize("loss", LOSSES, ids=repr)
def test_scalar_dloss_equals_array_derivative(loss):
    z, y = _sample_with_kinks(loss)
    _, dz = _numpy(loss, z, y)
    scalar = np.array([loss.dloss(float(zi), float(yi)) for zi, yi in zip(z, y)])
    assert all(type(loss.dloss(float(zi), float(yi))) is float for zi, yi in zip(z[:5], y[:5]))
    assert_allclose(scalar, dz, rtol=1e-12, atol=1e-300)


# ---------------------------------------------------------------------------
# Agreement with scikit-learn
# ---------------------------------------------------------------------------

def _sgd_reference(loss):
    """``(loss(p, y), dloss(p, y))`` for Python floats from ``_sgd_fast``,
    or ``None`` where this scikit-learn version does not expose the class."""
    if isinstance(loss, Perceptron):  # scikit-learn's perceptron is Hinge(0.0)
        name, args = "Hinge", (0.0,)
    else:
        name, args = {
            Hinge: ("Hinge", ("threshold",)),
            SquaredHinge: ("SquaredHinge", ("threshold",)),
            ModifiedHuber: ("ModifiedHuber", ()),
            EpsilonInsensitive: ("EpsilonInsensitive", ("epsilon",)),
            SquaredEpsilonInsensitive: ("SquaredEpsilonInsensitive", ("epsilon",)),
            # Older scikit-learn versions had these in _sgd_fast too.
            SquaredError: ("SquaredLoss", ()),
            Huber: ("Huber", ("epsilon",)),
            LogLoss: ("Log", ()),
        }[type(loss)]
        args = tuple(getattr(loss, a) for a in args)
    cls = getattr(_sgd_fast, name, None)
    if cls is None:
        return None
    ref = cls(*args)
    return ref.py_loss, ref.py_dloss


def _common_loss_reference(loss, z, y):
    """Values and gradients of the ``sklearn._loss`` losses that scikit-learn's
    SGD estimators use for squared_error, huber and log_loss (y as 0/1)."""
    from sklearn._loss.loss import HalfBinomialLoss, HalfSquaredError, HuberLoss

    if isinstance(loss, SquaredError):
        ref, y_true = HalfSquaredError(), y
    elif isinstance(loss, Huber):
        ref, y_true = HuberLoss(delta=loss.epsilon), y
    else:
        ref, y_true = HalfBinomialLoss(), (y + 1.0) / 2.0
    return ref.loss(y_true, z), ref.gradient(y_true, z)


SGD_LOSSES = [loss for loss in LOSSES if not isinstance(loss, (HalfPoisson, Pinball))]


@pytest.mark.parametrize("loss", SGD_LOSSES, ids=repr)
def test_matches_scikit_learn_sgd_losses(loss):
    z, y = _sample_with_kinks(loss)
    value, dz = _numpy(loss, z, y)
    reference = _sgd_reference(loss)
    if reference is None:
        ref_value, ref_dz = _common_loss_reference(loss, z, y)
    else:
        py_loss, py_dloss = reference
        ref_value = np.array([py_loss(float(zi), float(yi)) for zi, yi in zip(z, y)])
        ref_dz = np.array([py_dloss(float(zi), float(yi)) for zi, yi in zip(z, y)])
    assert_allclose(value, ref_value, rtol=1e-12, atol=1e-15)
    assert_allclose(dz, ref_dz, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("loss", [SquaredError(), Huber(), Huber(epsilon=1.35)], ids=repr)
def test_huber_and_squared_error_match_their_formulas(loss):
    z, y = _sample_with_kinks(loss)
    r = z - y
    if isinstance(loss, Huber):
        eps = loss.epsilon
        expected = np.where(np.abs(r) <= eps, 0.5 * r**2, eps * np.abs(r) - eps**2 / 2)
        expected_dz = np.where(np.abs(r) <= eps, r, eps * np.sign(r))
    else:
        expected, expected_dz = 0.5 * r**2, r
    value, dz = _numpy(loss, z, y)
    assert_allclose(value, expected, rtol=1e-12, atol=1e-15)
    assert_array_equal(dz, expected_dz)


def test_log_loss_matches_its_formula():
    loss = LogLoss()
    z, y = _sample_with_kinks(loss)
    value, dz = _numpy(loss, z, y)
    assert_allclose(value, np.log1p(np.exp(-y * z)), rtol=1e-12)
    assert_allclose(dz, -y / (1.0 + np.exp(y * z)), rtol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_poisson_sum_matches_scikit_learn_mlp_poisson_loss(seed):
    loss = HalfPoisson()
    z, y = _sample(loss, seed=seed)
    value, _ = _numpy(loss, z, y)
    assert_allclose(value.sum(), poisson_loss(y, np.exp(z)) * z.size, rtol=1e-12)


def test_poisson_derivative_matches_scikit_learn_half_poisson_gradient():
    from sklearn._loss.loss import HalfPoissonLoss

    loss = HalfPoisson()
    z, y = _sample(loss)
    _, dz = _numpy(loss, z, y)
    assert_allclose(dz, HalfPoissonLoss().gradient(y, z), rtol=1e-12, atol=1e-15)


def test_poisson_value_is_zero_at_the_mean_and_xlogy_is_zero_at_zero():
    y = np.array([0.0, 0.5, 2.0, 7.0])
    z = np.log(np.where(y > 0, y, 1.0))
    value, dz = _numpy(HalfPoisson(), z, y)
    assert_allclose(value, [1.0, 0.0, 0.0, 0.0], atol=1e-15)
    assert_allclose(dz, [1.0, 0.0, 0.0, 0.0], atol=1e-15)


@pytest.mark.parametrize("quantile", [0.1, 0.5, 0.9])
def test_pinball_mean_matches_mean_pinball_loss(quantile):
    loss = Pinball(quantile=quantile)
    z, y = _sample(loss)
    value, _ = _numpy(loss, z, y)
    assert_allclose(value.mean(), mean_pinball_loss(y, z, alpha=quantile), rtol=1e-12)


@pytest.mark.parametrize("quantile", [0.1, 0.5, 0.9])
def test_pinball_derivative_matches_scikit_learn_away_from_the_kink(quantile):
    from sklearn._loss.loss import PinballLoss

    loss = Pinball(quantile=quantile)
    z, y = _sample(loss)
    keep = z != y
    _, dz = _numpy(loss, z[keep], y[keep])
    assert_allclose(dz, PinballLoss(quantile=quantile).gradient(y[keep], z[keep]))


@pytest.mark.parametrize("quantile", [0.1, 0.5, 0.9])
def test_pinball_subgradient_at_the_kink_is_one_minus_q(quantile):
    loss = Pinball(quantile=quantile)
    z = y = np.array([-1.0, 0.0, 2.5])
    value, dz = _numpy(loss, z, y)
    assert_array_equal(value, 0.0)
    assert_allclose(dz, 1.0 - quantile, rtol=1e-15)
    assert loss.dloss(0.0, 0.0) == 1.0 - quantile


# ---------------------------------------------------------------------------
# Stability
# ---------------------------------------------------------------------------

def _stability_targets(loss, dtype):
    if isinstance(loss, HalfPoisson):
        y = [0.0, 1.5, 3.0]
    elif _is_margin(loss):
        y = [-1.0, 1.0]
    else:
        y = [0.0, 1.5, -2.0]
    return np.array(y, dtype=dtype)


STABILITY_CASES = (
    [(loss, z, dtype) for loss in LOSSES for z in (1e4, -1e4)
     for dtype in (np.float64, np.float32)]
    + [(loss, z, np.float64) for loss in LOSSES if _is_margin(loss) for z in (1e30, -1e30)]
)


@pytest.mark.parametrize(
    "loss, z_value, dtype", STABILITY_CASES,
    ids=[f"{loss!r}-{z:g}-{np.dtype(d).name}" for loss, z, d in STABILITY_CASES])
def test_huge_outputs_give_finite_values_without_warnings(loss, z_value, dtype):
    y = _stability_targets(loss, dtype)
    z = np.full_like(y, z_value)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        value, dz = _numpy(loss, z, y)
        scalar = [loss.dloss(float(zi), float(yi)) for zi, yi in zip(z, y)]
    assert value.dtype == dz.dtype == dtype
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(dz))
    assert np.all(value >= 0)
    assert all(math.isfinite(d) for d in scalar)


@pytest.mark.parametrize("z_value, y_value, expected_dz", [
    (1e4, 1.0, 0.0), (-1e4, 1.0, -1.0), (1e4, -1.0, 1.0), (-1e4, -1.0, 0.0)])
def test_log_loss_saturates_at_huge_margins(z_value, y_value, expected_dz):
    value, dz = _numpy(LogLoss(), np.array([z_value]), np.array([y_value]))
    assert_allclose(value, [max(-y_value * z_value, 0.0)], rtol=1e-15, atol=1e-300)
    assert_allclose(dz, [expected_dz], atol=1e-300)


# ---------------------------------------------------------------------------
# array_api_strict
# ---------------------------------------------------------------------------

ARRAY_API_CASES = [(loss, dtype) for loss in LOSSES for dtype in ("float64", "float32")]


@pytest.mark.parametrize("loss, dtype", ARRAY_API_CASES,
                         ids=[f"{loss!r}-{d}" for loss, d in ARRAY_API_CASES])
def test_array_api_strict_matches_numpy(loss, dtype):
    xp = pytest.importorskip("array_api_strict")
    z, y = _sample_with_kinks(loss)
    z, y = z.astype(dtype), y.astype(dtype)
    value, dz = loss.value_and_derivative(xp.asarray(z), xp.asarray(y), xp=xp)
    assert value.dtype == dz.dtype == getattr(xp, dtype)
    np_value, np_dz = _numpy(loss, z, y)
    rtol = 1e-12 if dtype == "float64" else 1e-5
    assert_allclose(np.from_dlpack(value), np_value, rtol=rtol, atol=1e-30)
    assert_allclose(np.from_dlpack(dz), np_dz, rtol=rtol, atol=1e-30)


# ---------------------------------------------------------------------------
# Curvature
# ---------------------------------------------------------------------------

def _second_differences(loss, z, y, h=1e-4):
    plus, _ = _numpy(loss, z + h, y)
    mid, _ = _numpy(loss, z, y)
    minus, _ = _numpy(loss, z - h, y)
    return (plus - 2.0 * mid + minus) / h**2


@pytest.mark.parametrize("loss", BOUNDED, ids=repr)
def test_second_differences_never_exceed_curvature(loss):
    z, y = _away_from_kinks(loss, *_sample(loss), distance=1e-3)
    second = _second_differences(loss, z, y)
    assert np.all(second <= loss.curvature + 1e-5)
    # The bound is tight: it is (nearly) reached at some of the points.
    assert second.max() >= loss.curvature - 1e-3


def test_poisson_curvature_is_unbounded():
    loss = HalfPoisson()
    assert loss.curvature is None
    second = _second_differences(loss, np.array([10.0]), np.array([1.0]))
    assert second[0] > 1e4


@pytest.mark.parametrize("loss", LOSSES, ids=repr)
def test_curvature_is_a_float_or_none(loss):
    assert loss.curvature is None or type(loss.curvature) is float


# ---------------------------------------------------------------------------
# Registry and construction
# ---------------------------------------------------------------------------

def test_registries():
    assert REGRESSION_LOSSES == {
        "squared_error": SquaredError, "huber": Huber,
        "epsilon_insensitive": EpsilonInsensitive,
        "squared_epsilon_insensitive": SquaredEpsilonInsensitive}
    assert MARGIN_LOSSES == {
        "hinge": Hinge, "log_loss": LogLoss, "modified_huber": ModifiedHuber,
        "squared_hinge": SquaredHinge, "perceptron": Perceptron}


NAMES = [*REGRESSION_LOSSES, "poisson", "quantile", *MARGIN_LOSSES]


@pytest.mark.parametrize("name", NAMES)
def test_make_loss_builds_the_named_loss(name):
    loss = make_loss(name, epsilon=0.25, quantile=0.75)
    assert loss.name == name
    if hasattr(loss, "epsilon"):
        assert loss.epsilon == 0.25
    if isinstance(loss, Pinball):
        assert loss.quantile == 0.75
    assert make_loss(name, epsilon=0.25, quantile=0.75) == loss


def test_make_loss_defaults_and_perceptron_threshold():
    assert make_loss("huber").epsilon == 0.1
    assert make_loss("quantile").quantile == 0.5
    assert make_loss("perceptron").threshold == 0.0
    assert make_loss("hinge").threshold == 1.0


@pytest.mark.parametrize("name", ["squared_loss", "log", "", None])
def test_make_loss_rejects_unknown_names_listing_the_choices(name):
    with pytest.raises(ValueError, match="valid choices") as info:
        make_loss(name)
    for valid in NAMES:
        assert repr(valid) in str(info.value)


@pytest.mark.parametrize("build", [
    lambda: Huber(epsilon=-1.0), lambda: EpsilonInsensitive(epsilon=math.nan),
    lambda: Pinball(quantile=0.0), lambda: Pinball(quantile=1.0),
    lambda: Hinge(threshold=math.inf)])
def test_invalid_hyperparameters_raise(build):
    with pytest.raises(ValueError):
        build()
