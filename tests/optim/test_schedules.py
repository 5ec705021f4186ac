"""Learning-rate schedules of skoptim.optim against their formulas."""

import math
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.neural_network._stochastic_optimizers import SGDOptimizer

from skoptim.optim import (
    SCHEDULES,
    Adaptive,
    Clock,
    Constant,
    CosineDecay,
    ExponentialDecay,
    InverseTimeDecay,
    InvScaling,
    Optimal,
    ReduceOnPlateau,
    Schedule,
    StepDecay,
    optimal_t0,
    resolve_schedule,
)

BASE_LR = 0.1


@pytest.mark.parametrize(
    "schedule, clock, expected",
    [
        (Constant(), Clock(), 0.1),
        (Constant(), Clock(step=50, epoch=3, n_samples_seen=800.0), 0.1),
        # InvScaling reads n_samples_seen: base / (n + 1) ** power_t
        (InvScaling(), Clock(n_samples_seen=0), 0.1),
        (InvScaling(), Clock(n_samples_seen=3), 0.05),
        (InvScaling(), Clock(n_samples_seen=99, step=7, epoch=2), 0.01),
        (InvScaling(power_t=0.25), Clock(n_samples_seen=15), 0.05),
        (InvScaling(power_t=1.0), Clock(n_samples_seen=9), 0.01),
        (InvScaling(), Clock(n_samples_seen=2.5), 0.1 / math.sqrt(3.5)),
        # Optimal reads n_samples_seen and ignores the base: 1 / (alpha (t0 + n))
        (Optimal(alpha=1e-4, t0=1000.0), Clock(), 10.0),
        (Optimal(alpha=1e-4, t0=1000.0), Clock(n_samples_seen=1000), 5.0),
        (Optimal(alpha=1e-2, t0=50.0), Clock(n_samples_seen=50, epoch=9), 1.0),
        # InverseTimeDecay reads epochs: base / (1 + decay_rate * epoch)
        (InverseTimeDecay(decay_rate=0.5), Clock(), 0.1),
        (InverseTimeDecay(decay_rate=0.5), Clock(epoch=2), 0.05),
        (InverseTimeDecay(decay_rate=0.5), Clock(epoch=6, step=600), 0.025),
        (InverseTimeDecay(), Clock(epoch=4), 0.02),
        # ExponentialDecay reads epochs: base * gamma ** epoch
        (ExponentialDecay(gamma=0.5), Clock(), 0.1),
        (ExponentialDecay(gamma=0.5), Clock(epoch=1), 0.05),
        (ExponentialDecay(gamma=0.5), Clock(epoch=3, step=300), 0.0125),
        (ExponentialDecay(), Clock(epoch=2), 0.1 * 0.95 * 0.95),
        # StepDecay reads epochs: base * gamma ** (epoch // step_size)
        (StepDecay(step_size=10, gamma=0.5), Clock(epoch=9, step=900), 0.1),
        (StepDecay(step_size=10, gamma=0.5), Clock(epoch=10), 0.05),
        (StepDecay(step_size=10, gamma=0.5), Clock(epoch=25), 0.025),
        (StepDecay(), Clock(epoch=20), 0.1 * 0.1 * 0.1),
        (StepDecay(step_size=1, gamma=0.5), Clock(epoch=2), 0.025),
    ],
    ids=repr,
)
def test_schedule_rate_table(schedule, clock, expected):
    rate = schedule.rate(BASE_LR, clock)
    assert type(rate) is float
    assert rate == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "step, expected",
    [
        # linear warm-up over 4 steps: base * (step + 1) / 4
        (0, 0.025),
        (1, 0.05),
        (3, 0.1),
        # cosine over 8 steps from 0.1 to 0.01
        (4, 0.1),
        (6, 0.01 + 0.045 * (1 + math.cos(math.pi / 4))),
        (8, 0.055),
        (11, 0.01 + 0.045 * (1 + math.cos(7 * math.pi / 8))),
        # after the end: min_lr
        (12, 0.01),
        (1000, 0.01),
    ],
)
@pytest.mark.parametrize(
    "schedule, total_steps",
    [
        (CosineDecay(warmup_steps=4, decay_steps=8, min_lr=0.01), None),
        (CosineDecay(warmup_steps=4, min_lr=0.01), 12),
    ],
    ids=["decay_steps", "total_steps"],
)
def test_cosine_decay_warmup_and_end(schedule, total_steps, step, expected):
    clock = Clock(step=step, epoch=99, total_steps=total_steps)
    assert schedule.rate(BASE_LR, clock) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("step, expected", [(0, 0.1), (5, 0.05), (10, 0.0)])
def test_cosine_decay_without_warmup(step, expected):
    rate = CosineDecay(decay_steps=10).rate(BASE_LR, Clock(step=step))
    assert rate == pytest.approx(expected, abs=1e-15)


def test_cosine_decay_needs_decay_steps_or_total_steps():
    with pytest.raises(ValueError, match="Set decay_steps"):
        CosineDecay().rate(BASE_LR, Clock(step=3))


def test_optimal_needs_alpha_and_t0():
    with pytest.raises(ValueError, match=r"Optimal needs both alpha and t0"):
        Optimal(alpha=1e-4).rate(BASE_LR, Clock())


def _squared_dloss(p, y):
    return p - y


def test_optimal_t0_squared_loss_by_hand():
    # typw = sqrt(1 / sqrt(1e-4)) = 10; dloss(-10, 1) = -11, so eta0 = 10
    assert optimal_t0(1e-4, _squared_dloss) == pytest.approx(1000.0, rel=1e-12)


@pytest.mark.parametrize("loss", ["hinge", "squared_hinge", "modified_huber"])
@pytest.mark.parametrize("alpha", [1e-4, 1e-2])
def test_optimal_t0_with_sklearn_loss_derivatives(loss, alpha):
    loss_class, *args = SGDClassifier.loss_functions[loss]
    typw = alpha**-0.25
    initial_eta0 = typw / max(1.0, loss_class(*args).py_dloss(-typw, 1.0))
    assert optimal_t0(alpha, loss_class(*args).py_dloss) == pytest.approx(
        1.0 / (initial_eta0 * alpha), rel=1e-12
    )


def test_optimal_matches_sklearn_sgd_regressor():
    """Per-sample SGD with Optimal's rates reproduces SGDRegressor's weights."""
    X = np.array([[1.0], [1.0], [0.5]])
    y = np.array([1.0, 1.0, 2.0])
    alpha = 1e-4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = SGDRegressor(
            learning_rate="optimal",
            alpha=alpha,
            penalty=None,
            fit_intercept=False,
            max_iter=1,
            tol=None,
            shuffle=False,
        ).fit(X, y)
    schedule = Optimal(alpha=alpha, t0=optimal_t0(alpha, _squared_dloss))
    w = 0.0
    for n, (x, target) in enumerate(zip(X[:, 0], y)):
        eta = schedule.rate(BASE_LR, Clock(n_samples_seen=n))
        w -= eta * _squared_dloss(w * x, target) * x
    assert w == pytest.approx(reference.coef_[0], rel=1e-12)


def test_adaptive_rate_follows_multiplier():
    schedule = Adaptive()
    state = schedule.init()
    assert schedule.rate(BASE_LR, Clock(), state) == BASE_LR
    assert schedule.rate(BASE_LR, Clock(), None) == BASE_LR


def test_adaptive_divides_by_five_then_refuses():
    # 0.1 / 5**k stays above 1e-6 up to k = 7, so eight stalls are handled
    schedule = Adaptive()
    state = schedule.init()
    rates = []
    while True:
        state, handled = schedule.on_stall(state, base_lr=BASE_LR)
        if not handled:
            break
        rates.append(schedule.rate(BASE_LR, Clock(), state))
    expected = [0.1 / 5**k for k in range(1, 9)]
    assert rates == pytest.approx(expected, rel=1e-12)


def test_adaptive_state_pickles():
    schedule = Adaptive()
    state, _ = schedule.on_stall(schedule.init(), base_lr=BASE_LR)
    assert pickle.loads(pickle.dumps(state)) == state


def test_adaptive_refusal_keeps_state():
    schedule = Adaptive()
    state = schedule.init()
    new_state, handled = schedule.on_stall(state, base_lr=1e-6)
    assert handled is False
    assert new_state == state


@pytest.mark.parametrize("learning_rate_init", [0.1, 1e-3, 1e-6, 2e-6])
def test_adaptive_matches_sklearn_mlp_trigger_stopping(learning_rate_init):
    sk_opt = SGDOptimizer(
        [np.zeros(1)], learning_rate_init=learning_rate_init, lr_schedule="adaptive"
    )
    sk_rates = []
    while not sk_opt.trigger_stopping("", verbose=False):
        sk_rates.append(sk_opt.learning_rate)
    schedule = Adaptive()
    state, rates = schedule.init(), []
    while True:
        state, handled = schedule.on_stall(state, base_lr=learning_rate_init)
        if not handled:
            break
        rates.append(schedule.rate(learning_rate_init, Clock(), state))
    assert rates == pytest.approx(sk_rates, rel=1e-12)


@pytest.mark.parametrize(
    "metrics, expected_rate",
    [
        ([1.0], 0.1),
        # 0.95 is not below 1.0 * (1 - 0.1): bad epochs 1, 0 (0.85), 1, 2
        ([1.0, 0.95, 0.85, 0.8, 0.8], 0.1),
        # third bad epoch in a row > patience=2: halve
        ([1.0, 0.95, 0.85, 0.8, 0.8, 0.8], 0.05),
        # the first metric sets best; bad epochs 1, 2, then 3 > patience
        ([1.0] * 3, 0.1),
        ([1.0] * 4, 0.05),
        # the counter resets after a reduction: bad epochs 1, 2, then 3 again
        ([1.0] * 6, 0.05),
        ([1.0] * 7, 0.025),
        # negative metrics: -1.05 is not below -1.0 - 0.1
        ([-1.0, -1.05, -1.05, -1.05], 0.05),
        ([-1.0, -1.2, -1.05, -1.05], 0.1),
    ],
)
def test_reduce_on_plateau(metrics, expected_rate):
    schedule = ReduceOnPlateau(factor=0.5, patience=2, threshold=0.1)
    state = schedule.init()
    for metric in metrics:
        state = schedule.update(state, metric)
    assert schedule.rate(BASE_LR, Clock(), state) == pytest.approx(expected_rate)


@pytest.mark.parametrize(
    "n_epochs, expected_rate",
    [(1, 0.1), (2, 0.01), (3, 0.003), (10, 0.003)],
)
def test_reduce_on_plateau_min_lr_floor(n_epochs, expected_rate):
    schedule = ReduceOnPlateau(factor=0.1, patience=0, min_lr=0.003)
    state = schedule.init()
    for _ in range(n_epochs):
        state = schedule.update(state, 1.0)
    assert schedule.rate(BASE_LR, Clock(), state) == pytest.approx(expected_rate)


def test_reduce_on_plateau_min_lr_above_base_keeps_base():
    schedule = ReduceOnPlateau(min_lr=1.0)
    assert schedule.rate(BASE_LR, Clock(), schedule.init()) == BASE_LR


@pytest.mark.parametrize(
    "schedule", [ReduceOnPlateau(), ReduceOnPlateau(patience=0)], ids=repr
)
def test_plateau_state_pickles(schedule):
    state = schedule.update(schedule.init(), 0.5)
    assert pickle.loads(pickle.dumps(state)) == state


@pytest.mark.parametrize(
    "schedule", [Constant(), InvScaling(), StepDecay(), CosineDecay()], ids=repr
)
def test_pure_schedules_have_no_state(schedule):
    assert schedule.init() is None
    assert schedule.on_stall(None, base_lr=BASE_LR) == (None, False)


def test_schedules_table():
    assert set(SCHEDULES) == {
        "constant",
        "invscaling",
        "optimal",
        "adaptive",
        "inverse_time",
        "exponential",
        "step",
        "cosine",
        "plateau",
    }
    assert all(issubclass(cls, Schedule) for cls in SCHEDULES.values())


@pytest.mark.parametrize(
    "name, flat, expected",
    [
        ("constant", {"power_t": 0.3}, Constant()),
        ("invscaling", {"power_t": 0.25, "alpha": 1e-4}, InvScaling(power_t=0.25)),
        ("optimal", {"alpha": 1e-4, "t0": 1000.0, "power_t": 0.5},
         Optimal(alpha=1e-4, t0=1000.0)),
        ("adaptive", {}, Adaptive()),
        ("inverse_time", {}, InverseTimeDecay()),
        ("exponential", {"gamma": 0.5}, ExponentialDecay(gamma=0.5)),
        ("step", {}, StepDecay()),
        ("cosine", {"warmup_steps": 5}, CosineDecay(warmup_steps=5)),
        ("plateau", {"power_t": 0.5}, ReduceOnPlateau()),
    ],
    ids=repr,
)  # fmt: skip
def test_resolve_schedule_from_name(name, flat, expected):
    schedule = resolve_schedule(name, **flat)
    assert type(schedule) is type(expected)
    assert schedule.get_params() == expected.get_params()


def test_resolve_schedule_object_values_win_and_clone():
    learning_rate = InvScaling(power_t=0.1)
    resolved = resolve_schedule(learning_rate, power_t=0.25)
    assert resolved is not learning_rate
    assert resolved.power_t == 0.1
    resolved.set_params(power_t=0.9)
    assert learning_rate.power_t == 0.1


def test_resolve_schedule_unknown_name():
    msg = (
        r"Unknown learning_rate 'cosin'\. Valid names: 'adaptive', 'constant', "
        r"'cosine', .* Did you mean 'cosine'\?"
    )
    with pytest.raises(ValueError, match=msg):
        resolve_schedule("cosin")


@pytest.mark.parametrize(
    "learning_rate, flat, message",
    [
        (StepDecay(step_size=0), {},
         r"The 'step_size' parameter of StepDecay must be an int in the range "
         r"\[1, inf\)\. Got 0 instead\."),
        ("exponential", {"gamma": 1.5},
         r"The 'gamma' parameter of ExponentialDecay must be a float in the "
         r"range \(0\.0, 1\.0\]\. Got 1\.5 instead\."),
        ("optimal", {"alpha": 0.0}, r"The 'alpha' parameter of Optimal must be"),
        (Adaptive(factor=1.0), {}, r"The 'factor' parameter of Adaptive must be"),
        (CosineDecay(decay_steps=0), {},
         r"The 'decay_steps' parameter of CosineDecay must be"),
        (ReduceOnPlateau(patience=-1), {},
         r"The 'patience' parameter of ReduceOnPlateau must be"),
        (InverseTimeDecay(decay_rate=-1.0), {},
         r"The 'decay_rate' parameter of InverseTimeDecay must be"),
    ],
    ids=repr,
)  # fmt: skip
def test_resolve_schedule_bad_hyperparameter(learning_rate, flat, message):
    with pytest.raises(ValueError, match=message):
        resolve_schedule(learning_rate, **flat)


@pytest.mark.parametrize("learning_rate", [0.1, None])
def test_resolve_schedule_wrong_type(learning_rate):
    with pytest.raises(TypeError, match=r"'learning_rate' parameter must be a str"):
        resolve_schedule(learning_rate)


def test_nested_schedule_params_clone():
    schedule = clone(CosineDecay(warmup_steps=3)).set_params(min_lr=0.01)
    assert schedule.get_params() == {
        "warmup_steps": 3,
        "decay_steps": None,
        "min_lr": 0.01,
    }


class _Halving(Schedule):
    """A user's schedule with only ``rate``: the base class's ``rates``."""

    def rate(self, base_lr, clock, state=None):
        return base_lr * 0.5 ** clock.step + clock.n_samples_seen + clock.epoch


_ADAPTIVE_STATE = Adaptive().on_stall(Adaptive().init(), base_lr=BASE_LR)[0]
_PLATEAU_STATE = {**ReduceOnPlateau().init(), "multiplier": 0.25}


@pytest.mark.parametrize("schedule, state", [
    (Constant(), None),
    (InvScaling(), None),
    (InvScaling(power_t=0.25), None),
    (Optimal(alpha=1e-4, t0=1000.0), None),
    (Adaptive(), _ADAPTIVE_STATE),
    (InverseTimeDecay(decay_rate=0.5), None),
    (ExponentialDecay(gamma=0.5), None),
    (StepDecay(step_size=2, gamma=0.5), None),
    (CosineDecay(warmup_steps=3), None),
    (ReduceOnPlateau(min_lr=0.02), _PLATEAU_STATE),
    (_Halving(), None),
], ids=repr)
def test_rates_of_an_epoch_are_its_rates_step_by_step(schedule, state):
    # What the engine asks of a schedule for a compiled epoch: each step's
    # rate at its own clock reading (steps and sample counts varying, the
    # epoch and the planned total fixed).
    clock = Clock(step=7, epoch=5, n_samples_seen=123.5, total_steps=40)
    steps = 7.0 + np.arange(12.0)
    samples = 123.5 + np.cumsum(np.r_[0.0, np.linspace(0.5, 30.0, 11)])
    rates = schedule.rates(BASE_LR, clock, steps, samples, state)
    expected = [schedule.rate(BASE_LR, Clock(step=int(s), epoch=5, n_samples_seen=n,
                                             total_steps=40), state)
                for s, n in zip(steps, samples)]
    assert rates.dtype == np.float64 and rates.shape == (12,)
    # Vectorised powers may differ from the C library's in the last bit.
    np.testing.assert_allclose(rates, expected, rtol=1e-15, atol=0)
    if isinstance(schedule, (_Halving, CosineDecay, Constant, Optimal)):
        np.testing.assert_array_equal(rates, expected)
    assert schedule.rates(BASE_LR, clock, steps[:0], samples[:0], state).shape == (0,)


def test_rates_of_optimal_need_alpha_and_t0():
    with pytest.raises(ValueError, match="Optimal needs both alpha and t0"):
        Optimal(alpha=1e-4).rates(BASE_LR, Clock(), np.zeros(2), np.zeros(2))
