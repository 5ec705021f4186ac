"""Per-sample losses and their derivatives with respect to the prediction.

Each loss maps residuals ``r = prediction - y`` (regression) or raw scores
(classification) to per-sample values and derivatives, computed with the
array namespace ``xp`` only.
"""

# SPDX-License-Identifier: BSD-3-Clause


class RegressionLoss:
    """A regression loss of the residual ``r = p - y``.

    Attributes
    ----------
    curvature : float
        An upper bound of the loss's second derivative (0 for piecewise-linear
        losses), used to bound stable step sizes.
    """

    curvature = 1.0

    def __init__(self, epsilon=0.1):
        self.epsilon = epsilon

    def value_and_derivative(self, r, *, xp):
        """Return ``(loss, dloss/dp)`` elementwise for residuals ``r``."""
        raise NotImplementedError

    def dloss(self, p, y):
        """Scalar derivative at prediction ``p`` and target ``y`` (Python floats)."""
        raise NotImplementedError


class SquaredError(RegressionLoss):
    """``r**2 / 2``, scikit-learn's ``'squared_error'``."""

    def value_and_derivative(self, r, *, xp):
        return 0.5 * (r * r), r

    def dloss(self, p, y):
        return p - y


class Huber(RegressionLoss):
    """Quadratic for ``|r| <= epsilon``, linear beyond (scikit-learn's ``'huber'``)."""

    def value_and_derivative(self, r, *, xp):
        eps = self.epsilon
        a = xp.abs(r)
        small = a <= eps
        value = xp.where(small, 0.5 * (r * r), eps * a - 0.5 * eps * eps)
        deriv = xp.where(small, r, eps * xp.sign(r))
        return value, deriv

    def dloss(self, p, y):
        r = p - y
        return r if abs(r) <= self.epsilon else self.epsilon * (1 if r > 0 else -1)


class EpsilonInsensitive(RegressionLoss):
    """``max(0, |r| - epsilon)``, scikit-learn's ``'epsilon_insensitive'``."""

    curvature = 0.0

    def value_and_derivative(self, r, *, xp):
        excess = xp.abs(r) - self.epsilon
        value = xp.where(excess > 0, excess, xp.zeros_like(r))
        deriv = xp.where(excess > 0, xp.sign(r), xp.zeros_like(r))
        return value, deriv

    def dloss(self, p, y):
        r = p - y
        return (1 if r > 0 else -1) if abs(r) > self.epsilon else 0.0


class SquaredEpsilonInsensitive(RegressionLoss):
    """``max(0, |r| - epsilon)**2``, scikit-learn's ``'squared_epsilon_insensitive'``."""

    curvature = 2.0

    def value_and_derivative(self, r, *, xp):
        excess = xp.abs(r) - self.epsilon
        pos = excess > 0
        value = xp.where(pos, excess * excess, xp.zeros_like(r))
        deriv = xp.where(pos, 2.0 * xp.sign(r) * excess, xp.zeros_like(r))
        return value, deriv

    def dloss(self, p, y):
        r = p - y
        z = abs(r) - self.epsilon
        return 2.0 * (1 if r > 0 else -1) * z if z > 0 else 0.0


REGRESSION_LOSSES = {
    "squared_error": SquaredError,
    "huber": Huber,
    "epsilon_insensitive": EpsilonInsensitive,
    "squared_epsilon_insensitive": SquaredEpsilonInsensitive,
}
