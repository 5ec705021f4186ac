"""The whole optimizer step fused into one CPU pass (FusedApply): the L2
penalty's gradient, the clipping scale, the update rule, decoupled decay and
the parameter update give the same fits as the separate array operations."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import skoptim._kernels as kernels_module
from skoptim import MLPRegressorPlus, SGDClassifierPlus
from skoptim.optim import SGD, Adagrad, Adam, AdamW, Lion, Momentum, Nadam, RMSprop

pytest.importorskip("numba")

OPTIMIZERS = [
    SGD(), SGD(clip_norm=0.5), Momentum(momentum=0.8), Momentum(nesterov=True, clip_norm=1.0),
    Adagrad(), RMSprop(), RMSprop(momentum=0.5), RMSprop(centered=True),
    Adam(), Adam(amsgrad=True, clip_norm=0.3), AdamW(weight_decay=0.05),
    AdamW(weight_decay=0.05, clip_norm=0.5), Nadam(), Lion(weight_decay=0.1),
]


def _data(dtype):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 6)).astype(dtype)
    y = (X @ rng.normal(size=6) + 0.1 * rng.normal(size=120)).astype(dtype)
    return X, y


def _fit(est, X, y, monkeypatch, kernels):
    monkeypatch.setattr(kernels_module, "CPU_KERNELS", kernels)
    est.fit(X, y)
    monkeypatch.undo()
    return est


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", OPTIMIZERS, ids=repr)
def test_fused_step_gives_the_generic_fit(solver, dtype, monkeypatch):
    X, y = _data(dtype)
    make = lambda: MLPRegressorPlus(hidden_layer_sizes=(5,), solver=solver, alpha=0.3,
                                    batch_size=16, max_iter=4, learning_rate_init=0.01,
                                    random_state=0)
    generic = _fit(make(), X, y, monkeypatch, kernels=False)
    kernels_module._CPU_KERNELS.clear()
    fused = _fit(make(), X, y, monkeypatch, kernels=True)
    if not isinstance(solver, RMSprop) or not solver.centered:
        assert any(key[2] for key in kernels_module._CPU_KERNELS), "no fused step ran"
    # float32: the kernel rounds (1 - b1) etc. in float32, NumPy in float64
    rtol = 1e-12 if dtype == np.float64 else 1e-4
    for a, b in zip(fused.coefs_ + fused.intercepts_, generic.coefs_ + generic.intercepts_):
        assert a.dtype == dtype
        assert_allclose(a, b, rtol=rtol, atol=1e-5 if dtype == np.float32 else 1e-14)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_fused_step_with_l1_and_elastic_net(solver, monkeypatch):
    """The L1 step still follows the fused pass (cumulative or proximal)."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 8))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    make = lambda: SGDClassifierPlus(penalty="elasticnet", l1_ratio=0.5, alpha=0.01,
                                     solver=solver, max_iter=5, tol=None, random_state=0)
    generic = _fit(make(), X, y, monkeypatch, kernels=False)
    fused = _fit(make(), X, y, monkeypatch, kernels=True)
    assert_allclose(fused.coef_, generic.coef_, rtol=1e-12, atol=1e-14)
    assert_allclose(fused.intercept_, generic.intercept_, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("activation", ["relu", "identity", "tanh", "logistic"])
def test_compiled_layer_passes_give_the_numpy_fit(activation, monkeypatch):
    """Bias plus activation and the ReLU mask as compiled passes (and layer
    outputs in reused buffers) give NumPy's fit, bit for bit."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(150, 7))
    y = rng.integers(0, 3, 150)
    from skoptim import MLPClassifierPlus

    make = lambda: MLPClassifierPlus(hidden_layer_sizes=(9, 4), activation=activation,
                                     solver="adam", batch_size=32, max_iter=3,
                                     random_state=0)
    generic = _fit(make(), X, y, monkeypatch, kernels=False)
    from skoptim import _cpu_passes

    calls = []
    for name in ("bias_relu", "bias_add", "relu_backward", "softmax_cross_entropy"):
        def spy(*args, _f=getattr(_cpu_passes, name), _name=name):
            calls.append(_name)
            return _f(*args)

        monkeypatch.setattr(_cpu_passes, name, spy)
    fused = _fit(make(), X, y, monkeypatch, kernels=True)
    expected = {"softmax_cross_entropy", "bias_add"}
    expected |= {"relu": {"bias_relu", "relu_backward"}, "identity": set()}.get(activation,
                                                                                set())
    assert set(calls) == expected
    for a, b in zip(fused.coefs_ + fused.intercepts_, generic.coefs_ + generic.intercepts_):
        assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert_allclose(fused.predict_proba(X), generic.predict_proba(X), rtol=1e-12)


class _PlainAdam(Adam):
    """A user's subclass overriding update with the documented signature."""

    def update(self, grads, state, *, lr, xp):
        return super().update(grads, state, lr=lr, xp=xp)


def test_optimizer_without_apply_gets_the_penalized_gradient(monkeypatch):
    X, y = _data(np.float64)
    make = lambda solver: MLPRegressorPlus(hidden_layer_sizes=(5,), solver=solver,
                                           alpha=0.3, batch_size=16, max_iter=3,
                                           random_state=0)
    plain = _fit(make(_PlainAdam()), X, y, monkeypatch, kernels=True)
    fused = _fit(make(Adam()), X, y, monkeypatch, kernels=True)
    for a, b in zip(plain.coefs_, fused.coefs_):
        assert_allclose(a, b, rtol=1e-12, atol=1e-14)
