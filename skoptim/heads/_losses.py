"""Per-element losses of a model's raw output ``z`` and a target ``y``.

Every loss is a small class: its hyperparameters are set in ``__init__``
and it holds no array state. It offers

``value_and_derivative(z, y, *, xp)``
    ``(value, dz)``: elementwise arrays shaped like ``z``, the loss and its
    derivative with respect to ``z``. Only array-API functions of ``xp`` are
    used, so the same code runs on NumPy, ``array_api_strict``, PyTorch and
    CuPy. ``y`` must be a floating array broadcastable with ``z``.
``dloss(z, y)``
    the same derivative for Python floats, used by scikit-learn's
    ``'optimal'`` learning-rate heuristic and by exact scalar replays.
``curvature``
    an upper bound of the second derivative in ``z``: ``0.0`` for
    piecewise-linear losses, ``None`` when unbounded (Poisson).
``name``
    scikit-learn's string for the loss.

Conventions
-----------
* Regression losses (``squared_error``, ``huber``, ``epsilon_insensitive``,
  ``squared_epsilon_insensitive``) are functions of the residual
  ``r = z - y`` and match scikit-learn's ``SGDRegressor`` losses, values and
  derivatives, including the choice made at the kinks.
* ``HalfPoisson`` reads ``z`` as the log of the mean (log link) and includes
  the constant ``xlogy(y, y) - y`` so that its value is the per-element term of
  scikit-learn's ``MLPRegressor`` Poisson loss, ``xlogy(y, y/mu) - y + mu``.
* ``Pinball`` is the quantile loss of ``r = y - z``.
* Margin losses (``hinge``, ``perceptron``, ``squared_hinge``, ``log_loss``,
  ``modified_huber``) take ``y`` in ``{-1.0, +1.0}`` and are functions of the
  margin ``m = y * z``, as in scikit-learn's ``SGDClassifier``.

Numerical safety: no loss overflows or produces NaN for finite ``z`` whose
value is representable (squares of huge residuals are not). Branches that
``xp.where`` discards are evaluated too, so they are kept finite as well, and
the exponentials are taken of clipped arguments so that they neither
overflow nor underflow (the code runs cleanly under
``numpy.errstate(all='raise')``).
"""

# SPDX-License-Identifier: BSD-3-Clause

import math
import sys

__all__ = [
    "MARGIN_LOSSES",
    "REGRESSION_LOSSES",
    "EpsilonInsensitive",
    "HalfPoisson",
    "Hinge",
    "Huber",
    "LogLoss",
    "ModifiedHuber",
    "Perceptron",
    "Pinball",
    "SquaredEpsilonInsensitive",
    "SquaredError",
    "SquaredHinge",
    "make_loss",
]


def _exp_bounds(xp, dtype):
    """``(lo, hi)`` such that ``exp(t)`` is a finite normal number of ``dtype``
    for every ``t`` in ``[lo, hi]``; ``hi`` leaves a factor ``e**2`` of room
    below the largest finite number for the terms added to it."""
    fi = xp.finfo(dtype)
    return math.log(float(fi.smallest_normal)) + 1.0, math.log(float(fi.max)) - 2.0


# The same bounds for Python floats (float64), used by the scalar ``dloss``.
_EXP_LO_F64 = math.log(sys.float_info.min) + 1.0
_EXP_HI_F64 = math.log(sys.float_info.max) - 2.0


def _sign(x):
    """``sign`` of a Python float, ``0.0`` at zero."""
    return 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)


def _check_nonnegative(name, value):
    value = float(value)
    if not (math.isfinite(value) and value >= 0.0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}.")
    return value


class _Loss:
    """Shared ``repr`` of the loss classes: the name and hyperparameters."""

    name = None
    curvature = None
    _params = ()

    def __repr__(self):
        args = ", ".join(f"{p}={getattr(self, p)!r}" for p in self._params)
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(self) is type(other) and all(
            getattr(self, p) == getattr(other, p) for p in self._params)

    def __hash__(self):
        return hash((type(self),) + tuple(getattr(self, p) for p in self._params))


# ---------------------------------------------------------------------------
# Regression, r = z - y
# ---------------------------------------------------------------------------

class SquaredError(_Loss):
    """``0.5 * r**2`` with ``r = z - y``; derivative ``r``."""

    name = "squared_error"
    curvature = 1.0

    def value_and_derivative(self, z, y, *, xp):
        r = z - y
        return 0.5 * (r * r), r

    def dloss(self, z, y):
        return float(z) - float(y)


class Huber(_Loss):
    """``0.5 * r**2`` if ``|r| <= epsilon`` else ``epsilon * |r| - epsilon**2 / 2``."""

    name = "huber"
    curvature = 1.0
    _params = ("epsilon",)

    def __init__(self, epsilon=0.1):
        self.epsilon = _check_nonnegative("epsilon", epsilon)

    def value_and_derivative(self, z, y, *, xp):
        eps = self.epsilon
        r = z - y
        rc = xp.clip(r, min=-eps, max=eps)          # the derivative
        # rc * (r - rc/2) is r**2/2 inside the band and eps*|r| - eps**2/2
        # outside; no square of a large residual is ever formed.
        return rc * (r - 0.5 * rc), rc

    def dloss(self, z, y):
        r = float(z) - float(y)
        return r if abs(r) <= self.epsilon else self.epsilon * _sign(r)


class EpsilonInsensitive(_Loss):
    """``max(0, |r| - epsilon)``; derivative ``sign(r)`` outside the band, 0 inside."""

    name = "epsilon_insensitive"
    curvature = 0.0
    _params = ("epsilon",)

    def __init__(self, epsilon=0.1):
        self.epsilon = _check_nonnegative("epsilon", epsilon)

    def value_and_derivative(self, z, y, *, xp):
        r = z - y
        excess = xp.maximum(xp.abs(r) - self.epsilon, xp.zeros_like(r))
        deriv = xp.where(excess > 0, xp.sign(r), xp.zeros_like(r))
        return excess, deriv

    def dloss(self, z, y):
        r = float(z) - float(y)
        return _sign(r) if abs(r) > self.epsilon else 0.0


class SquaredEpsilonInsensitive(_Loss):
    """``max(0, |r| - epsilon)**2``; derivative ``2 * sign(r) * max(0, |r| - epsilon)``."""

    name = "squared_epsilon_insensitive"
    curvature = 2.0
    _params = ("epsilon",)

    def __init__(self, epsilon=0.1):
        self.epsilon = _check_nonnegative("epsilon", epsilon)

    def value_and_derivative(self, z, y, *, xp):
        r = z - y
        excess = xp.maximum(xp.abs(r) - self.epsilon, xp.zeros_like(r))
        return excess * excess, 2.0 * xp.sign(r) * excess

    def dloss(self, z, y):
        r = float(z) - float(y)
        excess = abs(r) - self.epsilon
        return 2.0 * _sign(r) * excess if excess > 0 else 0.0


class HalfPoisson(_Loss):
    """``exp(z) - y*z + xlogy(y, y) - y`` = ``xlogy(y, y/mu) - y + mu``, ``mu = exp(z)``.

    ``z`` is the log of the mean and ``y >= 0``; the derivative is
    ``exp(z) - y``. The exponential is taken of ``z`` clipped to the range in
    which it is a finite normal number of the dtype (about ``[-707.4, 707.8]`` in
    float64, ``[-86.3, 86.7]`` in float32): beyond the upper end the value and
    derivative use the clipped mean, so they stay finite instead of becoming
    ``inf``; the lower clip changes ``mu`` by less than the smallest normal
    number and only avoids an underflow.
    """

    name = "poisson"
    curvature = None

    def value_and_derivative(self, z, y, *, xp):
        lo, hi = _exp_bounds(xp, z.dtype)
        mu = xp.exp(xp.clip(z, min=lo, max=hi))
        positive = y > 0
        y_safe = xp.where(positive, y, xp.ones_like(y))
        # y * (log(y) - z) = xlogy(y, y) - y*z, formed without cancellation;
        # 0 where y == 0.
        ylog = xp.where(positive, y * (xp.log(y_safe) - z), xp.zeros_like(z))
        return mu - y + ylog, mu - y

    def dloss(self, z, y):
        return math.exp(min(max(float(z), _EXP_LO_F64), _EXP_HI_F64)) - float(y)


class Pinball(_Loss):
    """``max(q*r, (q-1)*r)``, ``r = y - z``; derivative ``-q`` if ``y > z`` else ``1 - q``.

    At ``y == z`` the loss has a kink; the subgradient ``1 - q`` (the
    right derivative in ``z``) is used there.
    """

    name = "quantile"
    curvature = 0.0
    _params = ("quantile",)

    def __init__(self, quantile=0.5):
        quantile = float(quantile)
        if not 0.0 < quantile < 1.0:
            raise ValueError(f"quantile must be strictly between 0 and 1, got {quantile!r}.")
        self.quantile = quantile

    def value_and_derivative(self, z, y, *, xp):
        q = self.quantile
        r = y - z
        value = xp.maximum(q * r, (q - 1.0) * r)
        deriv = xp.where(y > z, xp.full_like(z, -q), xp.full_like(z, 1.0 - q))
        return value, deriv

    def dloss(self, z, y):
        return -self.quantile if float(y) > float(z) else 1.0 - self.quantile


# ---------------------------------------------------------------------------
# Binary classification, y in {-1, +1}, margin m = y * z
# ---------------------------------------------------------------------------

class Hinge(_Loss):
    """``max(0, threshold - m)``; derivative ``-y`` where ``m <= threshold`` else 0."""

    name = "hinge"
    curvature = 0.0
    _params = ("threshold",)

    def __init__(self, threshold=1.0):
        threshold = float(threshold)
        if not math.isfinite(threshold):
            raise ValueError(f"threshold must be finite, got {threshold!r}.")
        self.threshold = threshold

    def value_and_derivative(self, z, y, *, xp):
        t = self.threshold
        m = y * z
        active = m <= t
        value = xp.where(active, t - m, xp.zeros_like(m))
        deriv = xp.where(active, -y * xp.ones_like(z), xp.zeros_like(m))
        return value, deriv

    def dloss(self, z, y):
        y = float(y)
        return -y if y * float(z) <= self.threshold else 0.0


class Perceptron(Hinge):
    """``max(0, -m)``: the hinge with threshold 0; derivative ``-y`` where ``m <= 0``."""

    name = "perceptron"
    _params = ()

    def __init__(self):
        super().__init__(threshold=0.0)


class SquaredHinge(_Loss):
    """``max(0, t - m)**2`` with ``t = threshold``; derivative ``-2*y*(t - m)`` where ``m < t``."""

    name = "squared_hinge"
    curvature = 2.0
    _params = ("threshold",)

    def __init__(self, threshold=1.0):
        threshold = float(threshold)
        if not math.isfinite(threshold):
            raise ValueError(f"threshold must be finite, got {threshold!r}.")
        self.threshold = threshold

    def value_and_derivative(self, z, y, *, xp):
        m = y * z
        gap = xp.maximum(self.threshold - m, xp.zeros_like(m))
        return gap * gap, -2.0 * y * gap

    def dloss(self, z, y):
        y = float(y)
        gap = self.threshold - y * float(z)
        return -2.0 * y * gap if gap > 0 else 0.0


class LogLoss(_Loss):
    """``log(1 + exp(-m))``; derivative ``-y / (1 + exp(m))`` (both in stable forms)."""

    name = "log_loss"
    curvature = 0.25

    def value_and_derivative(self, z, y, *, xp):
        lo, _ = _exp_bounds(xp, z.dtype)
        m = y * z
        # e = exp(-|m|) in (0, 1], floored at a normal number to avoid underflow.
        e = xp.exp(xp.maximum(-xp.abs(m), xp.full_like(m, lo)))
        value = xp.maximum(-m, xp.zeros_like(m)) + xp.log1p(e)
        # 1 / (1 + exp(m)) = sigmoid(-m), without ever forming exp(|m|).
        sig = xp.where(m >= 0, e / (1.0 + e), 1.0 / (1.0 + e))
        return value, -y * sig

    def dloss(self, z, y):
        y = float(y)
        m = y * float(z)
        if m >= 0:
            e = math.exp(-m)
            return -y * e / (1.0 + e)
        return -y / (1.0 + math.exp(m))


class ModifiedHuber(_Loss):
    """``0`` if ``m >= 1``, ``(1 - m)**2`` if ``-1 <= m < 1``, ``-4 * m`` if ``m < -1``."""

    name = "modified_huber"
    curvature = 2.0

    def value_and_derivative(self, z, y, *, xp):
        m = y * z
        # 1 - m clipped to [0, 2] is exact wherever the quadratic is selected
        # and keeps the discarded branch from overflowing elsewhere.
        gap = xp.clip(1.0 - m, min=0.0, max=2.0)
        linear = m < -1.0
        value = xp.where(linear, -4.0 * m, gap * gap)
        deriv = xp.where(linear, -4.0 * y * xp.ones_like(z), -2.0 * y * gap)
        return value, deriv

    def dloss(self, z, y):
        y = float(y)
        m = y * float(z)
        if m >= 1.0:
            return 0.0
        if m >= -1.0:
            return -2.0 * y * (1.0 - m)
        return -4.0 * y


REGRESSION_LOSSES = {
    "squared_error": SquaredError,
    "huber": Huber,
    "epsilon_insensitive": EpsilonInsensitive,
    "squared_epsilon_insensitive": SquaredEpsilonInsensitive,
}

MARGIN_LOSSES = {
    "hinge": Hinge,
    "log_loss": LogLoss,
    "modified_huber": ModifiedHuber,
    "squared_hinge": SquaredHinge,
    "perceptron": Perceptron,
}

_ALL_LOSSES = {
    **REGRESSION_LOSSES,
    "poisson": HalfPoisson,
    "quantile": Pinball,
    **MARGIN_LOSSES,
}


def make_loss(name, *, epsilon=0.1, quantile=0.5):
    """Build the loss called ``name`` (scikit-learn's string).

    ``epsilon`` is passed to the epsilon-based regression losses and
    ``quantile`` to ``'quantile'``; the other losses ignore them.
    """
    try:
        cls = _ALL_LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown loss {name!r}; valid choices are {sorted(_ALL_LOSSES)}.") from None
    if cls in (Huber, EpsilonInsensitive, SquaredEpsilonInsensitive):
        return cls(epsilon=epsilon)
    if cls is Pinball:
        return cls(quantile=quantile)
    return cls()
