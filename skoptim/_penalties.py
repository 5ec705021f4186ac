"""L2, L1 and elastic-net penalties on the weight arrays of a model.

The objective is ``loss + alpha * (l1_ratio * ||w||_1 + (1 - l1_ratio) / 2 *
||w||_2^2)`` (scikit-learn's SGD convention; ``penalty='l2'`` is
``l1_ratio=0`` and ``'l1'`` is ``l1_ratio=1``). The smooth L2 part enters the
gradient. The L1 part is applied after each optimizer step, which sets weights
to exact zeros: cumulatively for plain, momentum and sign-based steps (each
weight moves towards zero by the penalty it could have received less what it
did receive, Tsuruoka et al. 2009, so gradient noise does not keep Lasso's
zeros off zero), and as a proximal soft-thresholding step in the optimizer's
own metric for the adaptive solvers (Duchi & Singer 2009).
Only weights are penalized, never intercepts.
"""

# SPDX-License-Identifier: BSD-3-Clause

from dataclasses import dataclass


@dataclass(frozen=True)
class Penalty:
    """Resolved penalty strengths.

    Attributes
    ----------
    l2 : float
        Strength of the ``l2 / 2 * ||w||^2`` term.
    l1 : float
        Strength of the ``l1 * ||w||_1`` term.
    """

    l2: float = 0.0
    l1: float = 0.0

    @classmethod
    def from_params(cls, penalty, alpha, l1_ratio):
        """Build from scikit-learn's ``penalty``, ``alpha`` and ``l1_ratio``."""
        if penalty is None or alpha == 0:
            return cls()
        ratio = {"l2": 0.0, "l1": 1.0}.get(penalty, l1_ratio)
        return cls(l2=alpha * (1.0 - ratio), l1=alpha * ratio)

    @property
    def active(self):
        return self.l1 > 0 or self.l2 > 0

    def add_grad(self, grads, params, penalized, scale):
        """Add the L2 gradient ``scale * l2 * w`` to the weight gradients."""
        if self.l2 > 0:
            c = self.l2 * scale
            for i in penalized:
                grads[i] += c * params[i]

    def value(self, params, penalized, *, xp):
        """The penalty's value (a 0-d array) at ``params``, unscaled."""
        total = 0.0
        for i in penalized:
            w = params[i]
            if self.l2 > 0:
                total = total + 0.5 * self.l2 * xp.sum(w * w)
            if self.l1 > 0:
                total = total + self.l1 * xp.sum(xp.abs(w))
        return total

    def prox(self, params, penalized, threshold, *, xp):
        """Soft-threshold the weights in place: ``sign(w) * max(|w| - threshold, 0)``.

        ``threshold`` is ``lr * l1 * scale`` for plain steps, or that rate
        times the optimizer's per-coordinate metric (an array per weight).
        """
        for k, i in enumerate(penalized):
            w = params[i]
            t = threshold[k] if isinstance(threshold, list) else threshold
            # In place: the arrays may be views of the engine's one buffer.
            w[...] = xp.sign(w) * xp.clip(xp.abs(w) - t, min=0.0)
