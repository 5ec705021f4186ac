"""Base classes of optimizers and learning-rate schedules.

Optimizers and schedules are small parameter objects: hyperparameters live on
the object (so ``get_params``/``set_params``/``clone`` and nested
``GridSearchCV`` parameters such as ``solver__beta_1`` work), while the state
they evolve (moments, step counts, plateau counters) is created by ``init`` and
returned by ``update``; the training engine keeps it.
"""

# SPDX-License-Identifier: BSD-3-Clause

from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import validate_parameter_constraints

from skoptim._validation import CachedParamNames


class _ParamsObject(CachedParamNames, BaseEstimator):
    """``get_params``/``set_params``/``clone``/``repr`` plus constraint checks."""

    _parameter_constraints: dict = {}

    def _validate(self):
        """Check the hyperparameters against the class's constraint table."""
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=self.__class__.__name__,
        )
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


class Optimizer(_ParamsObject):
    """Base class of the first-order optimizers of :mod:`skoptim.optim`.

    Subclasses implement :meth:`init` and :meth:`update`. ``update`` receives
    the gradients of a list of parameter arrays and returns the steps that the
    engine *subtracts* from the parameters (``param -= step``), together with
    the new state. An optimizer never stores arrays on itself.

    Attributes
    ----------
    scale_invariant : bool
        True when multiplying every gradient by a constant leaves the steps
        unchanged (Adam, RMSprop, Adagrad, Lion, ...). Estimators whose
        per-sample learning rate follows scikit-learn's ``SGDRegressor`` scale
        the rate with the batch size only for optimizers where this is False.
    """

    scale_invariant = False

    def step_gain(self):
        """How much a constant gradient's step is amplified at steady state
        (1 without momentum); step-size caps are divided by it."""
        return 1.0

    def prox_metric(self, state, indices, *, xp):
        """Per-coordinate step scaling of the last update, for proximal steps.

        Returns None (identity) or one array per parameter index in
        ``indices``: the factor ``D`` with ``step = lr * D * direction``, so
        that an L1 proximal step in the optimizer's metric uses the threshold
        ``lr * l1 * D`` (adaptive optimizers would otherwise make the L1
        strength depend on the gradients' scale).
        """
        return None

    def init(self, params, *, xp):
        """Create the optimizer state for ``params`` (a list of arrays)."""
        raise NotImplementedError

    def update(self, grads, state, *, lr, xp):
        """Return ``(steps, new_state)`` for the gradients ``grads``.

        Parameters
        ----------
        grads : list of arrays
            One gradient per parameter array. The optimizer may overwrite them.
        state : object
            What :meth:`init` or the previous ``update`` returned. It may be
            updated in place; the engine works on its own copy.
        lr : float
            The learning rate for this step (a Python float).
        xp : namespace
            The array namespace of ``grads``.
        apply : FusedApply, optional
            The engine passes it only to an ``update`` that declares it (the
            built-in optimizers): the rest of the step (penalty, clipping
            scale, decoupled decay, parameter update), handed on to
            :func:`skoptim._kernels.run_fused`, which does it in the rule's
            own pass or applies its gradient part first. Other optimizers get
            gradients with the penalty already added and return steps.
        """
        raise NotImplementedError


@dataclass
class Clock:
    """Counters a schedule may read; each schedule documents which one it uses.

    Attributes
    ----------
    step : int
        Optimizer steps (mini-batches) taken before the current one.
    epoch : int
        Completed passes over the training data.
    n_samples_seen : float
        Training samples seen before the current step (sum of sample weights).
    total_steps : int or None
        Steps planned for the whole fit (``max_iter`` times the batches per
        epoch), when known.
    """

    step: int = 0
    epoch: int = 0
    n_samples_seen: float = 0.0
    total_steps: int | None = None


class Schedule(_ParamsObject):
    """Base class of learning-rate schedules.

    A schedule maps the base rate (``learning_rate_init`` or ``eta0``) and a
    :class:`Clock` to the learning rate of the next step. Metric-driven
    schedules also keep a state: :meth:`init` creates it, :meth:`update` is
    called once per epoch with the monitored metric (lower is better), and
    :meth:`on_stall` (given ``base_lr``) is called when the estimator's ``tol``/``n_iter_no_change``
    rule finds no improvement; it returns ``(state, handled)`` where
    ``handled=False`` lets training stop.
    """

    def init(self):
        """Create the schedule's state (``None`` for pure schedules)."""
        return None

    def rate(self, base_lr, clock, state=None):
        """Return the learning rate (a Python float) for the next step."""
        raise NotImplementedError

    def rates(self, base_lr, clock, steps, samples, state=None):
        """The rates of several steps of one epoch at once (a float64 array).

        Step ``k`` reads ``clock`` with ``step=steps[k]`` and
        ``n_samples_seen=samples[k]`` (NumPy arrays); its other counters are
        ``clock``'s. The training engine asks for a whole epoch's rates where
        a compiled loop takes its steps. This default calls :meth:`rate` at
        each reading; a schedule with a closed form may override it with a
        vectorised one (equal to :meth:`rate` up to rounding).
        """
        reading = Clock(epoch=clock.epoch, total_steps=clock.total_steps)
        out = np.empty(len(steps))
        for k, (step, seen) in enumerate(zip(steps.tolist(), samples.tolist())):
            reading.step, reading.n_samples_seen = int(step), seen
            out[k] = self.rate(base_lr, reading, state)
        return out

    def update(self, state, metric):
        """Update the state with this epoch's metric (lower is better)."""
        return state

    def reference_rate(self, base_lr):
        """The rate this schedule decays from: ``base_lr``, which it shapes.

        The linear models cap their steps by the loss's curvature and let the
        cap decay as the schedule does, by ``rate / reference_rate``; a
        schedule whose rate does not scale ``base_lr`` (``Optimal``) returns
        its own first rate.
        """
        return base_lr

    def on_stall(self, state, *, base_lr):
        """React to a stall of the stopping rule; ``(state, handled)``.

        ``base_lr`` is the base rate the schedule shapes, for rules that stop
        once the current rate falls below a floor.
        """
        return state, False
