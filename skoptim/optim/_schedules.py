"""Learning-rate schedules: map the base rate and a :class:`Clock` to a rate.

Each schedule reads one counter of the clock and says which in its
docstring: optimizer steps (``clock.step``), completed epochs
(``clock.epoch``) or training samples seen (``clock.n_samples_seen``).
Metric-driven schedules (:class:`Adaptive`, :class:`ReduceOnPlateau`) keep a
small state off the object, created by ``init`` and returned by ``update`` or
``on_stall``.
"""

# SPDX-License-Identifier: BSD-3-Clause

import math
from numbers import Integral, Real

import numpy as np

from sklearn.utils._param_validation import Interval

from ._base import Schedule
from ._optimizers import _resolve

_POSITIVE_OR_NONE = [Interval(Real, 0, None, closed="neither"), None]
_NON_NEGATIVE = [Interval(Real, 0, None, closed="left")]
_DECAY_FACTOR = [Interval(Real, 0, 1, closed="right")]
_REDUCE_FACTOR = [Interval(Real, 0, 1, closed="neither")]


class _SameWithinEpoch:
    """For schedules that read neither ``clock.step`` nor
    ``clock.n_samples_seen``: one rate for a whole epoch's steps."""

    def rates(self, base_lr, clock, steps, samples, state=None):
        """:meth:`rate` once, at every step."""
        return np.full(len(steps), self.rate(base_lr, clock, state))


class Constant(_SameWithinEpoch, Schedule):
    """Constant learning rate: the base rate at every step.

    Reads no counter of the :class:`~skoptim.optim.Clock`.

    See Also
    --------
    Adaptive : Constant until training stalls, then divided by 5.

    Notes
    -----
    .. math:: \\eta_t = \\eta_0

    where :math:`\\eta_0` is the base rate (``learning_rate_init`` or ``eta0``).
    This is scikit-learn's ``learning_rate='constant'``.

    Examples
    --------
    >>> from skoptim.optim import Clock, Constant
    >>> Constant().rate(0.01, Clock(step=100, epoch=3))
    0.01
    """

    _parameter_constraints: dict = {}

    def rate(self, base_lr, clock, state=None):
        """Return ``base_lr``."""
        return float(base_lr)


class InvScaling(Schedule):
    """Inverse scaling with the number of training samples seen.

    The counter is ``clock.n_samples_seen`` (samples, or the sum of sample
    weights, seen before the current step), as in scikit-learn.

    Parameters
    ----------
    power_t : float, default=0.5
        Exponent of the decay.

    See Also
    --------
    Optimal : scikit-learn's ``'optimal'`` schedule for SGD.
    InverseTimeDecay : Inverse decay counted in epochs.

    Notes
    -----
    With :math:`n` the samples seen before the step:

    .. math:: \\eta = \\frac{\\eta_0}{(n + 1)^{p}}

    This is ``SGDRegressor``'s ``eta0 / pow(t, power_t)`` with :math:`t`
    starting at 1, and ``MLPClassifier``'s
    ``learning_rate_init / pow(t_ + 1, power_t)``.

    Examples
    --------
    >>> from skoptim.optim import Clock, InvScaling
    >>> InvScaling(power_t=0.5).rate(0.1, Clock(n_samples_seen=99))
    0.01
    """

    _parameter_constraints: dict = {
        "power_t": [Interval(Real, None, None, closed="neither")],
    }

    def __init__(self, power_t=0.5):
        self.power_t = power_t

    def rate(self, base_lr, clock, state=None):
        """Return ``base_lr / (clock.n_samples_seen + 1) ** power_t``."""
        return float(base_lr) / (float(clock.n_samples_seen) + 1.0) ** self.power_t

    def rates(self, base_lr, clock, steps, samples, state=None):
        """:meth:`rate` at each sample count ``samples``."""
        return float(base_lr) / (np.asarray(samples, dtype=np.float64) + 1.0) ** self.power_t


def optimal_t0(alpha, dloss):
    """sklearn's ``t0`` for ``'optimal'``; ``dloss(p, y)`` is the loss's derivative."""
    # Bottou's heuristic, as in sklearn/linear_model/_sgd_fast.pyx.tp: choose
    # t0 so that the first rate is typw / max(1, dloss(-typw, 1)).
    typw = math.sqrt(1.0 / math.sqrt(alpha))
    initial_eta0 = typw / max(1.0, dloss(-typw, 1.0))
    return 1.0 / (initial_eta0 * alpha)


class Optimal(Schedule):
    """scikit-learn's ``'optimal'`` schedule for SGD (Bottou's heuristic).

    The counter is ``clock.n_samples_seen``. The base rate is ignored: the
    rate depends only on the regularization strength ``alpha`` and on the
    offset ``t0``.

    Parameters
    ----------
    alpha : float or None, default=None
        Regularization strength :math:`\\alpha`. ``SGDRegressorPlus`` sets it
        to its own ``alpha`` on its fitted copy of the schedule; it must be
        set (to a positive float) before :meth:`rate` is called.

    t0 : float or None, default=None
        Offset :math:`t_0` of the sample counter. ``SGDRegressorPlus`` sets it
        with :func:`optimal_t0` from ``alpha`` and its loss, as scikit-learn
        does; it must be set (to a positive float) before :meth:`rate` is
        called.

    See Also
    --------
    InvScaling : Inverse scaling with the samples seen.

    Notes
    -----
    With :math:`n` the samples seen before the step:

    .. math:: \\eta = \\frac{1}{\\alpha (t_0 + n)}

    scikit-learn chooses :math:`t_0 = 1 / (\\eta_{init} \\alpha)` with
    :math:`w = \\alpha^{-1/4}` and
    :math:`\\eta_{init} = w / \\max(1, \\ell'(-w, 1))`.

    References
    ----------
    .. [1] L. Bottou, "Stochastic gradient descent tricks", Neural Networks:
       Tricks of the Trade, Springer, 2012.

    Examples
    --------
    >>> from skoptim.optim import Clock, Optimal
    >>> Optimal(alpha=1e-4, t0=1000.0).rate(0.01, Clock(n_samples_seen=0))
    10.0
    """

    _parameter_constraints: dict = {
        "alpha": _POSITIVE_OR_NONE,
        "t0": _POSITIVE_OR_NONE,
    }

    def __init__(self, alpha=None, t0=None):
        self.alpha = alpha
        self.t0 = t0

    def reference_rate(self, base_lr):
        """The first rate, ``1 / (alpha * t0)`` (``base_lr`` is ignored)."""
        self._check_set()
        return 1.0 / (self.alpha * self.t0)

    def rate(self, base_lr, clock, state=None):
        """Return ``1 / (alpha * (t0 + clock.n_samples_seen))``."""
        if self.alpha is None or self.t0 is None:  # inline: this runs every step
            self._check_set()
        return 1.0 / (self.alpha * (self.t0 + float(clock.n_samples_seen)))

    def rates(self, base_lr, clock, steps, samples, state=None):
        """:meth:`rate` at each sample count ``samples``."""
        self._check_set()
        return 1.0 / (self.alpha * (self.t0 + np.asarray(samples, dtype=np.float64)))

    def _check_set(self):
        if self.alpha is None or self.t0 is None:
            raise ValueError(
                "Optimal needs both alpha and t0 to compute a rate; got "
                f"alpha={self.alpha!r}, t0={self.t0!r}. Use it through an "
                "estimator (which sets them from its alpha and loss), or set "
                "them, e.g. Optimal(alpha=1e-4, t0=optimal_t0(1e-4, dloss))."
            )


class Adaptive(_SameWithinEpoch, Schedule):
    """scikit-learn's ``'adaptive'`` schedule: divide by 5 when training stalls.

    The rate is the base rate times a multiplier kept in the state; no
    counter of the clock is read. Whenever the estimator's stopping rule
    (``tol`` and ``n_iter_no_change``, counted in epochs) finds no
    improvement, :meth:`on_stall` multiplies the rate by ``factor`` and
    training goes on; once the current rate is at or below ``min_lr``,
    ``on_stall`` declines and training stops.

    Parameters
    ----------
    factor : float, default=0.2
        Multiplier applied to the rate at each stall, in ``(0, 1)``.

    min_lr : float, default=1e-6
        Training stops at a stall when the current rate is at or below this
        value.

    See Also
    --------
    ReduceOnPlateau : Reduce the rate after ``patience`` epochs without
        improvement of a monitored metric.

    Notes
    -----
    After :math:`k` handled stalls:

    .. math:: \\eta = \\eta_0 \\, \\mathrm{factor}^k

    With the defaults this is ``MLPClassifier`` and ``SGDRegressor``'s
    ``learning_rate='adaptive'`` (stop if the rate is at most 1e-6, else
    divide it by 5 and reset the no-improvement counter).

    Examples
    --------
    >>> from skoptim.optim import Adaptive, Clock
    >>> schedule = Adaptive()
    >>> state = schedule.init()
    >>> state, handled = schedule.on_stall(state, base_lr=0.1)
    >>> handled, round(schedule.rate(0.1, Clock(), state), 12)
    (True, 0.02)
    """

    _parameter_constraints: dict = {
        "factor": _REDUCE_FACTOR,
        "min_lr": _NON_NEGATIVE,
    }

    def __init__(self, factor=0.2, min_lr=1e-6):
        self.factor = factor
        self.min_lr = min_lr

    def init(self):
        """Return ``{"multiplier": 1.0}``."""
        return {"multiplier": 1.0}

    def rate(self, base_lr, clock, state=None):
        """Return ``base_lr`` times the state's multiplier."""
        multiplier = 1.0 if state is None else state["multiplier"]
        return float(base_lr) * multiplier

    def on_stall(self, state, *, base_lr):
        """Divide the rate: ``(state, True)``; at ``min_lr``: ``(state, False)``."""
        if self.rate(base_lr, None, state) <= self.min_lr:
            return state, False
        return {"multiplier": state["multiplier"] * self.factor}, True


class InverseTimeDecay(_SameWithinEpoch, Schedule):
    """Inverse time decay, counted in epochs.

    The counter is ``clock.epoch`` (completed epochs), so the rate is
    constant within an epoch.

    Parameters
    ----------
    decay_rate : float, default=1.0
        Rate :math:`d` of the decay; 0 gives a constant rate.

    See Also
    --------
    InvScaling : Inverse power decay with the samples seen.
    ExponentialDecay : Exponential decay counted in epochs.

    Notes
    -----
    .. math:: \\eta = \\frac{\\eta_0}{1 + d \\, e}

    with :math:`e` the completed epochs.

    Examples
    --------
    >>> from skoptim.optim import Clock, InverseTimeDecay
    >>> InverseTimeDecay(decay_rate=0.5).rate(0.1, Clock(epoch=2))
    0.05
    """

    _parameter_constraints: dict = {"decay_rate": _NON_NEGATIVE}

    def __init__(self, decay_rate=1.0):
        self.decay_rate = decay_rate

    def rate(self, base_lr, clock, state=None):
        """Return ``base_lr / (1 + decay_rate * clock.epoch)``."""
        return float(base_lr) / (1.0 + self.decay_rate * clock.epoch)


class ExponentialDecay(_SameWithinEpoch, Schedule):
    """Exponential decay, counted in epochs.

    The counter is ``clock.epoch`` (completed epochs).

    Parameters
    ----------
    gamma : float, default=0.95
        Multiplier :math:`\\gamma` in ``(0, 1]`` applied once per epoch.

    See Also
    --------
    StepDecay : Multiply by ``gamma`` every ``step_size`` epochs.

    Notes
    -----
    .. math:: \\eta = \\eta_0 \\gamma^{e}

    with :math:`e` the completed epochs (PyTorch's ``ExponentialLR``).

    Examples
    --------
    >>> from skoptim.optim import Clock, ExponentialDecay
    >>> ExponentialDecay(gamma=0.5).rate(0.1, Clock(epoch=3))
    0.0125
    """

    _parameter_constraints: dict = {"gamma": _DECAY_FACTOR}

    def __init__(self, gamma=0.95):
        self.gamma = gamma

    def rate(self, base_lr, clock, state=None):
        """Return ``base_lr * gamma ** clock.epoch``."""
        return float(base_lr) * self.gamma**clock.epoch


class StepDecay(_SameWithinEpoch, Schedule):
    """Step decay: multiply the rate by ``gamma`` every ``step_size`` epochs.

    The counter is ``clock.epoch`` (completed epochs).

    Parameters
    ----------
    step_size : int, default=10
        Number of epochs between two reductions.

    gamma : float, default=0.1
        Multiplier :math:`\\gamma` in ``(0, 1]`` of each reduction.

    See Also
    --------
    ExponentialDecay : Multiply by ``gamma`` every epoch.

    Notes
    -----
    .. math:: \\eta = \\eta_0 \\gamma^{\\lfloor e / s \\rfloor}

    with :math:`e` the completed epochs and :math:`s` the ``step_size``
    (PyTorch's ``StepLR``).

    Examples
    --------
    >>> from skoptim.optim import Clock, StepDecay
    >>> StepDecay(step_size=10, gamma=0.5).rate(0.1, Clock(epoch=25))
    0.025
    """

    _parameter_constraints: dict = {
        "step_size": [Interval(Integral, 1, None, closed="left")],
        "gamma": _DECAY_FACTOR,
    }

    def __init__(self, step_size=10, gamma=0.1):
        self.step_size = step_size
        self.gamma = gamma

    def rate(self, base_lr, clock, state=None):
        """Return ``base_lr * gamma ** (clock.epoch // step_size)``."""
        return float(base_lr) * self.gamma ** (clock.epoch // self.step_size)


class CosineDecay(Schedule):
    """Cosine decay to ``min_lr``, after an optional linear warm-up.

    The counter is ``clock.step`` (optimizer steps, i.e. mini-batches, taken
    before the current one), so the rate changes within an epoch.

    Parameters
    ----------
    warmup_steps : int, default=0
        Number of steps of linear warm-up from 0 to the base rate.

    decay_steps : int or None, default=None
        Number of steps of the cosine decay after the warm-up. ``None`` decays
        over the rest of the fit: ``clock.total_steps - warmup_steps``
        (``max_iter`` epochs); the clock must then know ``total_steps``.

    min_lr : float, default=0.0
        Rate reached at the end of the decay and kept afterwards.

    See Also
    --------
    StepDecay : Piecewise constant decay in epochs.
    ReduceOnPlateau : Decay driven by a monitored metric.

    Notes
    -----
    With :math:`s` the step, :math:`W` the warm-up steps and :math:`D` the
    decay steps:

    .. math::

        \\eta = \\begin{cases}
            \\eta_0 (s + 1) / W & s < W \\\\
            \\eta_{min} + \\frac{\\eta_0 - \\eta_{min}}{2}
                \\left(1 + \\cos\\frac{\\pi (s - W)}{D}\\right) & W \\le s < W + D \\\\
            \\eta_{min} & s \\ge W + D
        \\end{cases}

    The warm-up ends at the base rate on step :math:`W - 1` and the cosine
    starts from it on step :math:`W`; no step has a zero rate.

    References
    ----------
    .. [1] I. Loshchilov and F. Hutter, "SGDR: Stochastic gradient descent
       with warm restarts", ICLR 2017, arXiv:1608.03983.
    .. [2] P. Goyal et al., "Accurate, large minibatch SGD: training ImageNet
       in 1 hour", arXiv:1706.02677, 2017 (linear warm-up).

    Examples
    --------
    >>> from skoptim.optim import Clock, CosineDecay
    >>> schedule = CosineDecay(warmup_steps=10, decay_steps=100)
    >>> schedule.rate(0.1, Clock(step=4))
    0.05
    >>> round(schedule.rate(0.1, Clock(step=60)), 12)
    0.05
    >>> schedule.rate(0.1, Clock(step=500))
    0.0
    """

    _parameter_constraints: dict = {
        "warmup_steps": [Interval(Integral, 0, None, closed="left")],
        "decay_steps": [Interval(Integral, 1, None, closed="left"), None],
        "min_lr": _NON_NEGATIVE,
    }

    def __init__(self, warmup_steps=0, decay_steps=None, min_lr=0.0):
        self.warmup_steps = warmup_steps
        self.decay_steps = decay_steps
        self.min_lr = min_lr

    def rate(self, base_lr, clock, state=None):
        """Return the warm-up or cosine rate at ``clock.step``."""
        base_lr = float(base_lr)
        step, warmup = clock.step, self.warmup_steps
        if step < warmup:
            return base_lr * (step + 1) / warmup
        decay_steps = self.decay_steps
        if decay_steps is None:
            if clock.total_steps is None:
                raise ValueError(
                    "CosineDecay with decay_steps=None decays over the whole fit, "
                    "but the total number of steps is unknown here (for example "
                    "in partial_fit). Set decay_steps to a number of steps."
                )
            decay_steps = clock.total_steps - warmup
        progress = step - warmup
        if progress >= decay_steps:
            return float(self.min_lr)
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress / decay_steps))
        return self.min_lr + (base_lr - self.min_lr) * cosine


class ReduceOnPlateau(_SameWithinEpoch, Schedule):
    """Reduce the rate when a monitored metric stops improving.

    The counter is epochs: :meth:`update` is called once per epoch with the
    monitored metric (validation loss, or the negated validation score;
    lower is better). No counter of the clock is read.

    Parameters
    ----------
    factor : float, default=0.1
        Multiplier applied to the rate at each reduction, in ``(0, 1)``.

    patience : int, default=10
        Number of epochs without improvement tolerated; the rate is reduced
        on the next one.

    threshold : float, default=1e-4
        Relative improvement needed to count as better: the metric must go
        below ``best - threshold * abs(best)``.

    min_lr : float, default=0.0
        Floor of the reduced rate.

    See Also
    --------
    Adaptive : scikit-learn's divide-by-5 on its own stopping rule.

    Notes
    -----
    After :math:`k` reductions:

    .. math:: \\eta = \\max(\\eta_0 \\, \\mathrm{factor}^k, \\min(\\eta_{min}, \\eta_0))

    This is PyTorch's ``ReduceLROnPlateau(mode='min', threshold_mode='rel',
    cooldown=0)``, except that the relative threshold uses
    :math:`|\\mathrm{best}|` so that it also works for negative metrics.

    Examples
    --------
    >>> from skoptim.optim import Clock, ReduceOnPlateau
    >>> schedule = ReduceOnPlateau(factor=0.5, patience=1)
    >>> state = schedule.init()
    >>> for metric in [1.0, 1.0, 1.0]:
    ...     state = schedule.update(state, metric)
    >>> schedule.rate(0.1, Clock(), state)
    0.05
    """

    _parameter_constraints: dict = {
        "factor": _REDUCE_FACTOR,
        "patience": [Interval(Integral, 0, None, closed="left")],
        "threshold": _NON_NEGATIVE,
        "min_lr": _NON_NEGATIVE,
    }

    def __init__(self, factor=0.1, patience=10, threshold=1e-4, min_lr=0.0):
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.min_lr = min_lr

    def init(self):
        """Return the multiplier, the best metric so far and the bad-epoch count."""
        return {"multiplier": 1.0, "best": math.inf, "bad_epochs": 0}

    def update(self, state, metric):
        """Record this epoch's metric; reduce after ``patience`` bad epochs."""
        metric = float(metric)
        best = state["best"]
        if math.isinf(best) or metric < best - self.threshold * abs(best):
            return {**state, "best": metric, "bad_epochs": 0}
        bad_epochs = state["bad_epochs"] + 1
        multiplier = state["multiplier"]
        if bad_epochs > self.patience:
            multiplier *= self.factor
            bad_epochs = 0
        return {**state, "multiplier": multiplier, "bad_epochs": bad_epochs}

    def rate(self, base_lr, clock, state=None):
        """Return the reduced rate, floored at ``min_lr``."""
        base_lr = float(base_lr)
        multiplier = 1.0 if state is None else state["multiplier"]
        return max(base_lr * multiplier, min(float(self.min_lr), base_lr))


SCHEDULES = {
    "constant": Constant,
    "invscaling": InvScaling,
    "optimal": Optimal,
    "adaptive": Adaptive,
    "inverse_time": InverseTimeDecay,
    "exponential": ExponentialDecay,
    "step": StepDecay,
    "cosine": CosineDecay,
    "plateau": ReduceOnPlateau,
}


def resolve_schedule(learning_rate, *, also_valid=(), **flat):
    """Return a fresh, validated schedule for ``learning_rate``.

    Parameters
    ----------
    learning_rate : str or Schedule
        A name from :data:`SCHEDULES` or a schedule object. An object is
        cloned (the caller's object is never modified) and its own
        hyperparameters are kept: ``flat`` is ignored.

    **flat : dict
        scikit-learn's flat hyperparameters (``power_t``, ``alpha``, ``t0``,
        ...). Only used when ``learning_rate`` is a str: the ones the
        schedule's constructor accepts configure it, the others are ignored.

    also_valid : tuple of str, default=()
        Names the caller handles itself (``'pa1'``), listed among the valid
        ones when ``learning_rate`` is unknown.

    Returns
    -------
    schedule : Schedule
        A new schedule whose hyperparameters passed their constraint checks.

    Raises
    ------
    ValueError
        For an unknown name (an ``InvalidParameterError``, as scikit-learn
        raises for an unknown option) or an invalid hyperparameter value.
    TypeError
        When ``learning_rate`` is neither a str nor a :class:`Schedule`.

    Examples
    --------
    >>> from skoptim.optim import InvScaling, resolve_schedule
    >>> resolve_schedule("invscaling", power_t=0.25, alpha=1e-4)
    InvScaling(power_t=0.25)
    >>> resolve_schedule(InvScaling(power_t=0.1), power_t=0.25)
    InvScaling(power_t=0.1)
    """
    return _resolve(
        learning_rate, param="learning_rate", table=SCHEDULES, base=Schedule, flat=flat,
        also_valid=also_valid,
    )
