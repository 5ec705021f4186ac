"""A model paired with a head: the engine's :class:`~skoptim.engine.Problem`."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np

from skoptim.engine import Problem


def weighted_mean(value, dz, sample_weight, *, xp, element_weight=None):
    """``(loss_sum, dz)``: the weighted sum of the losses ``value`` (per sample,
    or per element like ``dz``) as a 0-d array, and ``dz`` turned into the
    derivative of the weighted *mean* loss: each row times its sample weight
    (and each element times ``element_weight``, the one-vs-rest class
    weights), over the total sample weight."""
    if element_weight is not None:
        value, dz = value * element_weight, dz * element_weight
    if sample_weight is None:
        return xp.sum(value), dz / dz.shape[0]
    sw = xp.reshape(sample_weight, (-1, 1))
    loss_sum = xp.sum(value * (sw if value.ndim == 2 else sample_weight))
    return loss_sum, dz * (sw / xp.sum(sample_weight))


def layer_bound(W, b, scale, xp):
    """``max_k sum_j |W[j, k]| * scale + max |b|`` as a Python float (infinite
    where it overflows): a bound of ``|a @ W + b|`` for ``|a| <= scale``."""
    with np.errstate(over="ignore", invalid="ignore"):
        total = float(xp.max(xp.sum(xp.abs(W), axis=0))) * scale if W.shape[0] else 0.0
        return total + (float(xp.max(xp.abs(b))) if b is not None and b.shape[0] else 0.0)


class ModelProblem(Problem):
    """``head(model(X))``: the model's passes, the head's loss, one weighted mean.

    Parameters
    ----------
    model : LinearModel or MLPModel
        Parameter layout, ``forward``/``backward`` and fitted attributes.
    head : Head
        ``loss(z, y)`` (per-sample values and derivatives in the raw output
        ``z``) and the validation ``score``.
    """

    def __init__(self, model, head):
        self.model, self.head = model, head
        self.xp = model.backend.xp
        self.penalized = model.penalized
        self.penalty_per_sample = model.penalty_per_sample
        self.uses_noise = model.uses_noise

    def loss_grad(self, params, X, y, sample_weight, *, noise=None, out=None):
        z, cache = self.model.forward(params, X, noise=noise)
        fused = getattr(self.head, "mean_loss", None)
        fused = fused(z, y, sample_weight) if fused is not None else None
        if fused is not None:
            loss_sum, dz = fused
        else:
            value, dz = self.head.loss(z, y)
            loss_sum, dz = weighted_mean(value, dz, sample_weight, xp=self.xp,
                                         element_weight=self.head.element_weights(y))
        return loss_sum, self.model.backward(params, cache, dz, out=out)

    def score(self, params, X, y, sample_weight):
        return self.head.score(self.model.decision(params, X), y, sample_weight)

    def outputs(self, params, X):
        return self.model.decision(params, X)

    def output_bound(self, params, scale):
        return self.model.output_bound(params, scale)

    def fitted_attributes(self, params):
        return self.model.fitted_attributes(params)

    def step_rule(self, optimizer, *, n, grouped):
        return self.model.step_rule(optimizer, n=n, grouped=grouped)
