"""Optimizers of skoptim.optim against hand-computed steps and scikit-learn."""

import copy
import math
import pickle

import array_api_strict
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, clone
from sklearn.neural_network._stochastic_optimizers import (
    AdamOptimizer,
    SGDOptimizer,
)

from skoptim.optim import (
    OPTIMIZERS,
    SGD,
    Adagrad,
    Adam,
    AdamW,
    Lion,
    Momentum,
    Nadam,
    Optimizer,
    RMSprop,
    resolve_optimizer,
)
from skoptim._kernels import FusedApply
from skoptim.optim._transforms import global_norm_scale

PARAMS = [np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([0.25, -0.75])]
GRADS = [
    [np.array([[0.2, -0.4], [1.5, 0.0]]), np.array([-1.0, 0.3])],
    [np.array([[0.1, 0.3], [-0.5, 2.0]]), np.array([0.6, -0.2])],
    [np.array([[-0.3, 0.2], [0.05, -1.0]]), np.array([0.1, 0.9])],
]
LRS = [0.1, 0.05, 0.02]
# Read-only, so that an optimizer writing into its inputs cannot leak between tests.
for _array in [*PARAMS, *(g for grads in GRADS for g in grads)]:
    _array.setflags(write=False)

ALL_OPTIMIZERS = [
    SGD(),
    Momentum(),
    Momentum(nesterov=True),
    Adagrad(),
    RMSprop(),
    RMSprop(momentum=0.5, centered=True),
    Adam(),
    Adam(amsgrad=True),
    AdamW(),
    Nadam(),
    Lion(),
]


def run(optimizer, n_steps, grads=GRADS, lrs=LRS, xp=np, params=PARAMS):
    """Steps of ``n_steps`` updates, each given fresh copies of the gradients."""
    state = optimizer.init([xp.asarray(p) for p in params], xp=xp)
    history = []
    for t in range(n_steps):
        grads_t = [xp.asarray(np.array(g)) for g in grads[t]]
        steps, state = optimizer.update(grads_t, state, lr=lrs[t], xp=xp)
        history.append([np.array(s, copy=True) for s in steps])
    return history


def assert_steps_equal(actual, expected, rtol=1e-12):
    assert len(actual) == len(expected)
    for steps, expected_steps in zip(actual, expected):
        for s, e in zip(steps, expected_steps):
            assert_allclose(s, e, rtol=rtol, atol=1e-15)


# Independent references: the update rules written out in plain NumPy.


def sgd_reference(n_steps):
    return [[lr * g for g in GRADS[t]] for t, lr in zip(range(n_steps), LRS)]


def momentum_reference(n_steps, mu, nesterov):
    velocity = [np.zeros_like(p) for p in PARAMS]
    history = []
    for t in range(n_steps):
        lr = LRS[t]
        velocity = [mu * v - lr * g for v, g in zip(velocity, GRADS[t])]
        if nesterov:
            history.append([-(mu * v - lr * g) for v, g in zip(velocity, GRADS[t])])
        else:
            history.append([-v for v in velocity])
    return history


def adagrad_reference(n_steps, eps, g0):
    acc = [np.full_like(p, g0) for p in PARAMS]
    history = []
    for t in range(n_steps):
        acc = [a + g**2 for a, g in zip(acc, GRADS[t])]
        history.append(
            [LRS[t] * g / (np.sqrt(a) + eps) for a, g in zip(acc, GRADS[t])]
        )
    return history


def rmsprop_reference(n_steps, rho, eps, mu, centered):
    sq = [np.zeros_like(p) for p in PARAMS]
    mean = [np.zeros_like(p) for p in PARAMS]
    buf = [np.zeros_like(p) for p in PARAMS]
    history = []
    for t in range(n_steps):
        steps = []
        for i, g in enumerate(GRADS[t]):
            sq[i] = rho * sq[i] + (1 - rho) * g**2
            mean[i] = rho * mean[i] + (1 - rho) * g
            denom = np.sqrt(sq[i] - mean[i] ** 2 if centered else sq[i]) + eps
            buf[i] = mu * buf[i] + g / denom
            steps.append(LRS[t] * (buf[i] if mu > 0 else g / denom))
        history.append(steps)
    return history


def adam_reference(n_steps, b1, b2, eps, amsgrad):
    m = [np.zeros_like(p) for p in PARAMS]
    v = [np.zeros_like(p) for p in PARAMS]
    v_max = [np.zeros_like(p) for p in PARAMS]
    history = []
    for t in range(1, n_steps + 1):
        steps = []
        for i, g in enumerate(GRADS[t - 1]):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g**2
            v_max[i] = np.maximum(v_max[i], v[i])
            lr_t = LRS[t - 1] * math.sqrt(1 - b2**t) / (1 - b1**t)
            steps.append(lr_t * m[i] / (np.sqrt(v_max[i] if amsgrad else v[i]) + eps))
        history.append(steps)
    return history


def nadam_reference(n_steps, b1, b2, eps):
    m = [np.zeros_like(p) for p in PARAMS]
    v = [np.zeros_like(p) for p in PARAMS]
    history = []
    for t in range(1, n_steps + 1):
        steps = []
        for i, g in enumerate(GRADS[t - 1]):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g**2
            m_hat = b1 * m[i] / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1**t)
            v_hat = v[i] / (1 - b2**t)
            steps.append(LRS[t - 1] * m_hat / (np.sqrt(v_hat) + eps))
        history.append(steps)
    return history


def lion_reference(n_steps, b1, b2):
    m = [np.zeros_like(p) for p in PARAMS]
    history = []
    for t in range(n_steps):
        steps = []
        for i, g in enumerate(GRADS[t]):
            steps.append(LRS[t] * np.sign(b1 * m[i] + (1 - b1) * g))
            m[i] = b2 * m[i] + (1 - b2) * g
        history.append(steps)
    return history


@pytest.mark.parametrize("n_steps", [1, 2])
def test_sgd_step_is_lr_times_gradient(n_steps):
    assert_steps_equal(run(SGD(), n_steps), sgd_reference(n_steps))


def test_sgd_first_step_by_hand():
    (steps,) = run(SGD(), 1)
    assert_allclose(steps[1], [-0.1, 0.03])


@pytest.mark.parametrize("n_steps", [1, 2, 3])
@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9])
def test_momentum_steps_match_formula(n_steps, nesterov, momentum):
    optimizer = Momentum(momentum=momentum, nesterov=nesterov)
    expected = momentum_reference(n_steps, momentum, nesterov)
    assert_steps_equal(run(optimizer, n_steps), expected)


@pytest.mark.parametrize(
    "nesterov, expected_steps",
    [
        # v1 = -0.1, v2 = 0.5 * -0.1 - 0.1 * 1 = -0.15; step = -v
        (False, [0.1, 0.15]),
        # step = -(0.5 * v - 0.1 * 1): 0.05 + 0.1, then 0.075 + 0.1
        (True, [0.15, 0.175]),
    ],
)
def test_momentum_two_steps_by_hand(nesterov, expected_steps):
    optimizer = Momentum(momentum=0.5, nesterov=nesterov)
    history = run(
        optimizer,
        2,
        grads=[[np.array([1.0])], [np.array([1.0])]],
        lrs=[0.1, 0.1],
        params=[[0.0]],
    )
    assert_allclose(history[0][0], [expected_steps[0]])
    assert_allclose(history[1][0], [expected_steps[1]])


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("momentum", [0.5, 0.9])
def test_momentum_matches_sklearn_sgd_optimizer(nesterov, momentum):
    lr = 0.1
    sk_params = [p.copy() for p in PARAMS]
    sk_opt = SGDOptimizer(
        [p.copy() for p in PARAMS],
        learning_rate_init=lr,
        lr_schedule="constant",
        momentum=momentum,
        nesterov=nesterov,
    )
    ours = Momentum(momentum=momentum, nesterov=nesterov)
    params = [p.copy() for p in PARAMS]
    state = ours.init(params, xp=np)
    for grads in GRADS:
        sk_opt.update_params(sk_params, [g.copy() for g in grads])
        steps, state = ours.update([g.copy() for g in grads], state, lr=lr, xp=np)
        for p, s in zip(params, steps):
            p -= s
    for p, sk_p in zip(params, sk_params):
        assert_allclose(p, sk_p, rtol=1e-14)


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("n_steps", [1, 2, 3])
def test_adam_steps_match_formula(n_steps, amsgrad):
    optimizer = Adam(beta_1=0.8, beta_2=0.5, epsilon=1e-7, amsgrad=amsgrad)
    expected = adam_reference(n_steps, 0.8, 0.5, 1e-7, amsgrad)
    assert_steps_equal(run(optimizer, n_steps), expected)


@pytest.mark.parametrize(
    "amsgrad, expected_second_step",
    [
        # m2 = 0.5*1 + 0.5*0.1 = 0.55, v2 = 0.5*2 + 0.5*0.01 = 1.005,
        # lr_t = 0.1 * sqrt(0.75) / 0.75
        (False, 0.1 * math.sqrt(0.75) / 0.75 * 0.55 / math.sqrt(1.005)),
        # AMSGrad divides by sqrt(max(v1, v2)) = sqrt(2)
        (True, 0.1 * math.sqrt(0.75) / 0.75 * 0.55 / math.sqrt(2.0)),
    ],
)
def test_adam_second_step_by_hand(amsgrad, expected_second_step):
    optimizer = Adam(beta_1=0.5, beta_2=0.5, epsilon=1e-300, amsgrad=amsgrad)
    history = run(
        optimizer,
        2,
        grads=[[np.array([2.0])], [np.array([0.1])]],
        lrs=[0.1, 0.1],
        params=[[0.0]],
    )
    assert_allclose(history[0][0], [0.1])
    assert_allclose(history[1][0], [expected_second_step], rtol=1e-12)


@pytest.mark.parametrize("beta_1, beta_2", [(0.9, 0.999), (0.5, 0.9)])
def test_adam_matches_sklearn_adam_optimizer(beta_1, beta_2):
    lr = 0.01
    sk_params = [p.copy() for p in PARAMS]
    sk_opt = AdamOptimizer(
        [p.copy() for p in PARAMS],
        learning_rate_init=lr,
        beta_1=beta_1,
        beta_2=beta_2,
        epsilon=1e-8,
    )
    ours = Adam(beta_1=beta_1, beta_2=beta_2, epsilon=1e-8)
    params = [p.copy() for p in PARAMS]
    state = ours.init(params, xp=np)
    for grads in GRADS:
        sk_opt.update_params(sk_params, [g.copy() for g in grads])
        steps, state = ours.update([g.copy() for g in grads], state, lr=lr, xp=np)
        for p, s in zip(params, steps):
            p -= s
    for p, sk_p in zip(params, sk_params):
        assert_allclose(p, sk_p, rtol=1e-13)


@pytest.mark.parametrize("n_steps", [1, 2, 3])
@pytest.mark.parametrize("initial_accumulator_value", [0.0, 0.5])
def test_adagrad_steps_match_formula(n_steps, initial_accumulator_value):
    optimizer = Adagrad(
        epsilon=1e-6, initial_accumulator_value=initial_accumulator_value
    )
    expected = adagrad_reference(n_steps, 1e-6, initial_accumulator_value)
    assert_steps_equal(run(optimizer, n_steps), expected)


def test_adagrad_second_step_by_hand():
    # G = 3**2 + 4**2 = 25, step = 0.1 * 4 / 5
    history = run(
        Adagrad(epsilon=1e-300),
        2,
        grads=[[np.array([3.0])], [np.array([4.0])]],
        lrs=[0.1, 0.1],
        params=[[0.0]],
    )
    assert_allclose(history[1][0], [0.08])


@pytest.mark.parametrize("n_steps", [1, 2, 3])
@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_rmsprop_steps_match_formula(n_steps, centered, momentum):
    optimizer = RMSprop(rho=0.8, epsilon=1e-6, momentum=momentum, centered=centered)
    expected = rmsprop_reference(n_steps, 0.8, 1e-6, momentum, centered)
    assert_steps_equal(run(optimizer, n_steps), expected)


@pytest.mark.parametrize(
    "centered, expected_first_step",
    [
        # s = 0.25 * 4 = 1, step = 0.1 * 2 / 1
        (False, 0.2),
        # mean = 0.25 * 2 = 0.5, s - mean**2 = 0.75
        (True, 0.2 / math.sqrt(0.75)),
    ],
)
def test_rmsprop_first_step_by_hand(centered, expected_first_step):
    optimizer = RMSprop(rho=0.75, epsilon=1e-300, centered=centered)
    (steps,) = run(optimizer, 1, grads=[[np.array([2.0])]], params=[[0.0]])
    assert_allclose(steps[0], [expected_first_step])


def test_rmsprop_centered_constant_gradient_stays_finite():
    """Rounding must not make the centered variance negative (NaN steps)."""
    optimizer = RMSprop(rho=0.5, centered=True)
    state = optimizer.init([np.zeros(3)], xp=np)
    for _ in range(200):
        steps, state = optimizer.update([np.full(3, 0.3)], state, lr=0.1, xp=np)
    assert np.all(np.isfinite(steps[0]))


@pytest.mark.parametrize("n_steps", [1, 2, 3])
def test_nadam_steps_match_formula(n_steps):
    optimizer = Nadam(beta_1=0.8, beta_2=0.9, epsilon=1e-7)
    expected = nadam_reference(n_steps, 0.8, 0.9, 1e-7)
    assert_steps_equal(run(optimizer, n_steps), expected)


def test_nadam_first_step_by_hand():
    # m_hat = 0.9 * 0.1 g / (1 - 0.81) + 0.1 g / 0.1, v_hat = g**2
    optimizer = Nadam(epsilon=1e-300)
    (steps,) = run(optimizer, 1, grads=[[np.array([-0.5])]], params=[[0.0]])
    assert_allclose(steps[0], [-0.1 * (0.09 / 0.19 + 1.0)])


@pytest.mark.parametrize("n_steps", [1, 2, 3])
def test_lion_steps_match_formula(n_steps):
    expected = lion_reference(n_steps, 0.9, 0.99)
    assert_steps_equal(run(Lion(), n_steps), expected)


@pytest.mark.parametrize(
    "second_gradient, expected_second_step",
    [
        # c = 0.9 * 0.01 + 0.1 * (-0.05) = 0.004 > 0: the momentum wins
        (-0.05, 0.1),
        # c = 0.009 - 0.1 < 0: the gradient wins
        (-1.0, -0.1),
        # c = 0.9 * 0.01 = 0.009 > 0: a zero gradient follows the momentum
        (0.0, 0.1),
    ],
)
def test_lion_steps_are_signs(second_gradient, expected_second_step):
    history = run(
        Lion(),
        2,
        grads=[[np.array([1.0])], [np.array([second_gradient])]],
        lrs=[0.1, 0.1],
        params=[[0.0]],
    )
    assert_array_equal(history[0][0], [0.1])
    assert_array_equal(history[1][0], [expected_second_step])


def test_lion_zero_direction_gives_zero_step():
    (steps,) = run(Lion(), 1, grads=[[np.array([0.0, 2.0])]], params=[[0.0, 0.0]])
    assert_array_equal(steps[0], [0.0, 0.1])


@pytest.mark.parametrize("n_steps", [1, 2])
def test_adamw_steps_are_adams(n_steps):
    """Weight decay is applied by the engine, not inside update."""
    adamw = AdamW(beta_1=0.8, beta_2=0.5, weight_decay=0.3)
    adam = Adam(beta_1=0.8, beta_2=0.5)
    assert_steps_equal(run(adamw, n_steps), run(adam, n_steps), rtol=0)


def test_fused_apply_epilogue_adds_decay_on_the_head_and_updates_params():
    params = np.array([2.0, 4.0, -1.0])
    step = np.array([0.1, -0.2, 1.0])
    FusedApply(params, 2, decay=0.01).epilogue(step)
    assert_allclose(step, [0.12, -0.16, 1.0])  # the intercept is not decayed
    assert_allclose(params, [2.0 - 0.12, 4.0 + 0.16, -2.0])


def test_fused_apply_prologue_adds_l2_on_the_head_then_scales():
    params = np.array([2.0, 4.0, -1.0])
    g = np.array([1.0, 1.0, 1.0])
    FusedApply(params, 2, l2=0.5, head_scale=0.5, tail_scale=0.25).prologue(g)
    assert_allclose(g, [(1.0 + 1.0) * 0.5, (1.0 + 2.0) * 0.5, 0.25])


@pytest.mark.parametrize(
    "optimizer, expected", [(AdamW(), 0.01), (Lion(), 0.0), (Adam(), None)]
)
def test_decoupled_weight_decay_hyperparameter(optimizer, expected):
    assert getattr(optimizer, "weight_decay", None) == expected


def _global_norm(arrays):
    return math.sqrt(sum(float(np.sum(np.asarray(a) ** 2)) for a in arrays))


def clip_by_global_norm(grads, clip_norm, xp=np):
    """What the engine does with the scale (FusedApply.gscale)."""
    if clip_norm is None:
        return grads
    scale = global_norm_scale(grads, clip_norm, xp=xp)
    return [g * scale for g in grads]


def test_clip_by_global_norm_reduces_norm_to_clip_norm():
    # global norm = sqrt(9 + 16 + 144) = 13
    grads = [np.array([3.0, 4.0]), np.array([12.0])]
    clipped = clip_by_global_norm(grads, 6.5)
    assert_allclose(clipped[0], [1.5, 2.0])
    assert_allclose(clipped[1], [6.0])
    assert _global_norm(clipped) == pytest.approx(6.5)


@pytest.mark.parametrize("clip_norm", [13.0, 100.0])
def test_clip_by_global_norm_keeps_small_gradients(clip_norm):
    grads = [np.array([3.0, 4.0]), np.array([12.0])]
    clipped = clip_by_global_norm(grads, clip_norm)
    assert_array_equal(clipped[0], [3.0, 4.0])
    assert_array_equal(clipped[1], [12.0])


def test_clip_by_global_norm_zero_gradients_stay_zero():
    clipped = clip_by_global_norm([np.zeros(3), np.zeros((2, 2))], 1.0, xp=np)
    assert_array_equal(clipped[0], np.zeros(3))
    assert_array_equal(clipped[1], np.zeros((2, 2)))


def test_clip_by_global_norm_none_is_identity():
    grads = [np.array([3.0, 4.0])]
    assert clip_by_global_norm(grads, None, xp=np) is grads


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_clip_by_global_norm_array_api_strict(dtype):
    xp = array_api_strict
    grads = [xp.asarray([3.0, 4.0], dtype=getattr(xp, dtype))]
    clipped = clip_by_global_norm(grads, 1.0, xp=xp)
    assert clipped[0].dtype == getattr(xp, dtype)
    assert_allclose(np.asarray(clipped[0]), [0.6, 0.8], rtol=1e-6)


@pytest.mark.parametrize("optimizer", ALL_OPTIMIZERS, ids=repr)
def test_steps_do_not_alias_state(optimizer):
    """The engine adds decoupled decay to the steps in place."""
    optimizer = clone(optimizer)
    state = optimizer.init([p.copy() for p in PARAMS], xp=np)
    steps, state = optimizer.update(
        [g.copy() for g in GRADS[0]], state, lr=LRS[0], xp=np
    )
    for s in steps:
        s += 1000.0
    steps, _ = optimizer.update([g.copy() for g in GRADS[1]], state, lr=LRS[1], xp=np)
    expected = run(optimizer, 2)[1]
    for s, e in zip(steps, expected):
        assert_allclose(s, e, rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("optimizer", ALL_OPTIMIZERS, ids=repr)
def test_array_api_strict_preserves_dtype(optimizer, dtype):
    xp = array_api_strict
    xp_dtype = getattr(xp, dtype)
    # copy=True: array_api_strict may share memory with the NumPy inputs
    params = [xp.asarray(p, dtype=xp_dtype, copy=True) for p in PARAMS]
    state = optimizer.init(params, xp=xp)
    for t in range(2):
        grads = [xp.asarray(g, dtype=xp_dtype, copy=True) for g in GRADS[t]]
        steps, state = optimizer.update(grads, state, lr=LRS[t], xp=xp)
    assert all(s.dtype == xp_dtype for s in steps)
    expected = run(optimizer, 2)[1]
    rtol = 1e-5 if dtype == "float32" else 1e-12
    for s, e in zip(steps, expected):
        assert_allclose(np.asarray(s), e, rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("optimizer", ALL_OPTIMIZERS, ids=repr)
def test_state_pickles_and_deep_copies(optimizer):
    state = optimizer.init([p.copy() for p in PARAMS], xp=np)
    _, state = optimizer.update([g.copy() for g in GRADS[0]], state, lr=0.1, xp=np)
    for restored in (pickle.loads(pickle.dumps(state)), copy.deepcopy(state)):
        steps, _ = optimizer.update(
            [g.copy() for g in GRADS[1]], restored, lr=LRS[1], xp=np
        )
        for s, e in zip(steps, run(optimizer, 2)[1]):
            assert_allclose(s, e, rtol=1e-12)


@pytest.mark.parametrize(
    "optimizer, expected",
    [
        (SGD(), False),
        (Momentum(), False),
        (Adagrad(), True),
        (RMSprop(), True),
        (Adam(), True),
        (AdamW(), True),
        (Nadam(), True),
        (Lion(), True),
    ],
    ids=repr,
)
def test_scale_invariant_flag(optimizer, expected):
    assert optimizer.scale_invariant is expected


@pytest.mark.parametrize("optimizer", ALL_OPTIMIZERS, ids=repr)
def test_clone_keeps_params(optimizer):
    cloned = clone(optimizer)
    assert cloned is not optimizer
    assert cloned.get_params() == optimizer.get_params()


@pytest.mark.parametrize(
    "optimizer, name, value",
    [
        (Adam(), "beta_1", 0.5),
        (AdamW(), "weight_decay", 0.1),
        (Momentum(), "nesterov", True),
        (RMSprop(), "rho", 0.5),
        (Lion(), "clip_norm", 1.0),
    ],
    ids=repr,
)
def test_set_params(optimizer, name, value):
    optimizer = clone(optimizer).set_params(**{name: value})
    assert optimizer.get_params()[name] == value


class _Holder(BaseEstimator):
    def __init__(self, solver=None):
        self.solver = solver


def test_nested_set_params():
    holder = _Holder(solver=Adam()).set_params(solver__beta_1=0.8)
    assert holder.solver.beta_1 == 0.8
    assert holder.get_params()["solver__beta_1"] == 0.8


def test_init_stores_without_validating():
    optimizer = Adam(beta_1=2.0)
    assert optimizer.beta_1 == 2.0


def test_adamw_get_params_lists_weight_decay():
    assert AdamW(weight_decay=0.2).get_params() == {
        "beta_1": 0.9,
        "beta_2": 0.999,
        "epsilon": 1e-8,
        "amsgrad": False,
        "weight_decay": 0.2,
        "clip_norm": None,
    }


def test_optimizers_table():
    assert set(OPTIMIZERS) == {
        "sgd",
        "momentum",
        "nesterov",
        "adagrad",
        "rmsprop",
        "adam",
        "adamw",
        "nadam",
        "lion",
    }
    optimizer = OPTIMIZERS["nesterov"]()
    assert isinstance(optimizer, Momentum) and optimizer.nesterov is True


@pytest.mark.parametrize(
    "name, flat, expected_class, expected_params",
    [
        ("sgd", {"momentum": 0.5, "beta_1": 0.8}, SGD, {"clip_norm": None}),
        ("momentum", {"momentum": 0.5}, Momentum, {"momentum": 0.5, "nesterov": False}),
        ("nesterov", {"momentum": 0.7}, Momentum, {"momentum": 0.7, "nesterov": True}),
        ("nesterov", {"nesterov": False}, Momentum, {"nesterov": True}),
        ("adam", {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6}, Adam,
         {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6}),
        ("adamw", {"beta_1": 0.8, "power_t": 0.5}, AdamW,
         {"beta_1": 0.8, "weight_decay": 0.01}),
        ("nadam", {"epsilon": 1e-7}, Nadam, {"epsilon": 1e-7}),
        ("lion", {"beta_2": 0.9, "clip_norm": 2.0}, Lion,
         {"beta_2": 0.9, "clip_norm": 2.0}),
        ("adagrad", {"epsilon": 1e-6}, Adagrad, {"epsilon": 1e-6}),
        ("rmsprop", {"epsilon": 1e-6}, RMSprop, {"epsilon": 1e-6, "rho": 0.9}),
    ],
)  # fmt: skip
def test_resolve_optimizer_from_name(name, flat, expected_class, expected_params):
    optimizer = resolve_optimizer(name, **flat)
    assert type(optimizer) is expected_class
    params = optimizer.get_params()
    assert {k: params[k] for k in expected_params} == expected_params


def test_resolve_optimizer_object_values_win_over_flat():
    solver = Adam(beta_1=0.5)
    resolved = resolve_optimizer(solver, beta_1=0.8, beta_2=0.9)
    assert resolved.beta_1 == 0.5
    assert resolved.beta_2 == 0.999


def test_resolve_optimizer_returns_a_clone():
    solver = Adam(beta_1=0.5)
    resolved = resolve_optimizer(solver)
    assert resolved is not solver
    resolved.set_params(beta_1=0.1)
    assert solver.beta_1 == 0.5


def test_resolve_optimizer_unknown_name():
    msg = (
        r"Unknown solver 'adamw2'\. Valid names: 'adagrad', 'adam', 'adamw', .*"
        r"Did you mean 'adamw'\?"
    )
    with pytest.raises(ValueError, match=msg):
        resolve_optimizer("adamw2")


def test_resolve_optimizer_unknown_name_without_close_match():
    msg = r"Unknown solver 'xyz'\. Valid names: .*'sgd'\.$"
    with pytest.raises(ValueError, match=msg):
        resolve_optimizer("xyz")


@pytest.mark.parametrize(
    "solver, flat",
    [("adam", {"beta_1": 1.0}), (Adam(beta_1=1.0), {})],
    ids=["name", "object"],
)
def test_resolve_optimizer_bad_hyperparameter(solver, flat):
    msg = (
        r"The 'beta_1' parameter of Adam must be a float in the range "
        r"\[0\.0, 1\.0\)\. Got 1\.0 instead\."
    )
    with pytest.raises(ValueError, match=msg):
        resolve_optimizer(solver, **flat)


@pytest.mark.parametrize(
    "optimizer, param",
    [
        (SGD(clip_norm=0.0), "clip_norm"),
        (Momentum(momentum=1.5), "momentum"),
        (Momentum(nesterov="yes"), "nesterov"),
        (Adagrad(epsilon=0.0), "epsilon"),
        (Adagrad(initial_accumulator_value=-1.0), "initial_accumulator_value"),
        (RMSprop(rho=1.0), "rho"),
        (RMSprop(momentum=1.0), "momentum"),
        (Adam(amsgrad=1.5), "amsgrad"),
        (AdamW(weight_decay=-0.1), "weight_decay"),
        (Nadam(beta_2=-0.1), "beta_2"),
        (Lion(beta_1=1.0), "beta_1"),
    ],
    ids=repr,
)
def test_constraint_tables(optimizer, param):
    name = type(optimizer).__name__
    with pytest.raises(ValueError, match=f"The '{param}' parameter of {name} must be"):
        resolve_optimizer(optimizer)


@pytest.mark.parametrize("solver", [3, None, ["adam"]])
def test_resolve_optimizer_wrong_type(solver):
    msg = r"'solver' parameter must be a str .*Optimizer"
    with pytest.raises(TypeError, match=msg):
        resolve_optimizer(solver)


def test_resolve_optimizer_class_instead_of_instance():
    with pytest.raises(TypeError, match=r"Pass Adam\(\) instead"):
        resolve_optimizer(Adam)


def test_all_optimizers_subclass_optimizer():
    for factory in OPTIMIZERS.values():
        assert isinstance(factory(), Optimizer)
