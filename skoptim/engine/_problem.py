"""The interface between an estimator and the engine: every hook the engine
relies on, documented in one place."""

# SPDX-License-Identifier: BSD-3-Clause


class Problem:
    """What is trained: the engine calls these hooks and nothing else.

    An estimator builds one per fit (:class:`skoptim.models.ModelProblem`
    pairs a model with a head); the engine never touches estimator attributes.

    Attributes
    ----------
    penalized : tuple of int
        Indices of the parameter arrays that the penalty applies to (weights,
        never intercepts).
    penalty_per_sample : bool
        True divides the penalty by the batch's weight (scikit-learn's MLP
        convention, ``alpha / n_samples``); False applies it as is (its SGD).
    uses_noise : bool
        True when ``loss_grad`` draws dropout masks from ``noise``.
    """

    penalized = ()
    penalty_per_sample = False
    uses_noise = False

    def loss_grad(self, params, X, y, sample_weight, *, noise=None, out=None):
        """``(loss_sum, grads)`` on a batch: the weighted loss sum (a 0-d array,
        never synchronised to the host here) and the gradients of the
        weighted mean loss. ``noise`` is a :class:`~skoptim._random.RowNoise`
        for the batch's rows (or None). ``out`` (a list shaped like
        ``params``, or None) holds arrays the gradients may be written into;
        the engine copies any gradient that is not one of them."""
        raise NotImplementedError

    def score(self, params, X, y, sample_weight):
        """The validation score (higher is better) as a Python float."""
        raise NotImplementedError

    def outputs(self, params, X):
        """The model's raw outputs on the rows ``X`` (no dropout), which the
        engine checks for overflow after a call's last step; None (the
        default) skips the check."""
        return None

    def output_bound(self, params, scale):
        """An upper bound of the outputs' absolute values on every row whose
        entries are at most ``scale`` in absolute value (a Python float,
        infinite where it overflows), which the engine checks with the
        outputs; None (the default) skips that check."""
        return None

    def fitted_attributes(self, params):
        """The estimator attributes that ``params`` stand for (for callbacks'
        reconstruction and the estimator's commit)."""
        raise NotImplementedError

    def fused_epoch(self, config, stepper, flat, batches):
        """An object whose ``run(plan, lr, head_scale, tail_scale)`` takes a
        whole epoch's steps in one compiled loop (the batches of ``plan``,
        :meth:`~skoptim.engine._data.BatchPlan.index_epoch`, with the step
        sizes the engine computed for them) and returns each batch's loss
        sum; or None (the default): the engine runs the batches one by one.
        Only for configurations whose steps it reproduces (to rounding)."""
        return None

    def step_rule(self, optimizer, *, n, grouped):
        """How the schedule's rate becomes each step's size (a
        :class:`~skoptim.engine.StepRule`), for an optimizer and ``n`` rows
        (or total weight when batches are cut by weight, ``grouped``). The
        default takes the rate as it is; the linear model supplies
        scikit-learn's per-sample rates."""
        from skoptim.engine._step import StepRule

        return StepRule()
