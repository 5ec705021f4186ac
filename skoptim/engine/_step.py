"""One optimizer step: the parameter buffer, the penalty's gradient,
clipping, the step size, the update, decoupled decay and the L1 step
(cumulative, or proximal in an adaptive solver's metric), on the whole buffer
(or its penalized head), in place: everything but the L1 step in one pass
where a CPU kernel runs (:class:`~skoptim._kernels.FusedApply`)."""

# SPDX-License-Identifier: BSD-3-Clause

import functools
import inspect
import math

import numpy as np

from skoptim._kernels import FusedApply
from skoptim.optim import Clock
from skoptim.optim._transforms import global_norm_scale


class FlatParams:
    """Parameter arrays as views of one contiguous 1-D buffer.

    The optimizer then updates every parameter with one pass over one array
    (one fused kernel on a GPU) instead of one pass per array. Penalized
    arrays come first, so the penalty, weight decay and L1 proximal step also
    act on a single slice, ``head``.

    Parameters
    ----------
    arrays : list of arrays
        The parameters, copied into the new buffer.
    penalized : sequence of int
        Indices of the arrays the penalty applies to.
    xp : namespace
        The array namespace of ``arrays``.
    """

    def __init__(self, arrays, penalized, xp):
        self.xp = xp
        penalized = list(penalized)
        order = penalized + [i for i in range(len(arrays)) if i not in penalized]
        self.shapes = [tuple(a.shape) for a in arrays]
        self.slots = []  # (array index, start, stop) in buffer order
        start = 0
        for i in order:
            stop = start + math.prod(self.shapes[i])
            self.slots.append((i, start, stop))
            start = stop
        self.n_head = sum(b - a for i, a, b in self.slots[:len(penalized)])
        self.buffer = self.pack(arrays)
        self.views = self.split(self.buffer)

    def pack(self, arrays):
        """A new buffer holding ``arrays`` (same layout as ``buffer``)."""
        xp = self.xp
        return xp.concat([xp.reshape(arrays[i], (-1,)) for i, _, _ in self.slots])

    def split(self, buffer):
        """Views of ``buffer`` shaped like the parameter arrays, in their order."""
        views = [None] * len(self.shapes)
        for i, a, b in self.slots:
            views[i] = self.xp.reshape(buffer[a:b], self.shapes[i])
        return views

    def head(self, buffer):
        """The penalized part of a buffer of this layout (a view)."""
        return buffer[:self.n_head]

    def fill(self, buffer_views, arrays):
        """Copy ``arrays`` into the views of a buffer, skipping those that
        already are the views (gradients the problem wrote in place)."""
        for view, a in zip(buffer_views, arrays, strict=True):
            if a is not view:
                view[...] = a


class StepRule:
    """How the schedule's rate becomes a step size: as it is, by default.

    A model may supply another rule through ``Problem.step_rule`` (the linear
    model's per-sample rates of scikit-learn's SGD).

    Attributes
    ----------
    counts_updates : bool
        True makes schedules that count samples read the number of updates
        (batches) instead, as scikit-learn's SGD ``t_`` counts one update per
        sample.
    decays_per_update : bool
        With ``counts_updates`` False: also pass :meth:`size` the schedule's
        rate at the number of updates, ``decay_lr``.
    """

    counts_updates = False
    decays_per_update = False

    def size(self, lr, reference_lr, *, rows, weight, decay_lr):
        """The step size for the schedule's rate ``lr`` on a batch of ``rows``
        rows and total sample weight ``weight``; ``reference_lr`` is the rate
        the schedule decays from (:meth:`Schedule.reference_rate`)."""
        return lr

    def block_scales(self):
        """``(weights, intercepts)``: the last step's size for the penalized
        and the unpenalized parameters, as fractions (at most 1) of what
        :meth:`size` returned (the engine scales each block's gradient)."""
        return 1.0, 1.0

    def sizes(self, lr, reference_lr, *, rows, weights, decay_lr):
        """:meth:`size` and :meth:`block_scales` of several steps at once:
        ``(sizes, weight scales, intercept scales)``, float64 arrays, from
        arrays of the other arguments. This default calls :meth:`size` per
        step; a rule with a closed form may override it."""
        out = np.empty((3, len(lr)))
        for k, args in enumerate(zip(lr.tolist(), rows.tolist(), weights.tolist(),
                                     decay_lr.tolist())):
            out[0, k] = self.size(args[0], reference_lr, rows=args[1], weight=args[2],
                                  decay_lr=args[3])
            out[1:, k] = self.block_scales()
        return out[0], out[1], out[2]


class Stepper:
    """Takes the optimizer steps of one training call on its parameter buffer."""

    def __init__(self, problem, config, rule, xp, *, l1_state=None):
        self.problem, self.config, self.rule, self.xp = problem, config, rule, xp
        # Cumulative L1 penalty: (the total each weight could have received,
        # what each did receive); see _cumulative_l1.
        self.l1_total, self.l1_applied = l1_state or (0.0, None)
        self.optimizer = optimizer = config.optimizer
        self.weight_decay = float(getattr(optimizer, "weight_decay", 0.0) or 0.0)
        self.clip_norm = getattr(optimizer, "clip_norm", None)
        # Built-in optimizers take the rest of the step (FusedApply); a
        # subclass overriding update with the plain signature does not.
        self.fuses_steps = _takes_apply(type(optimizer).update)
        self._views = (Clock(), Clock())  # see _clock_reading
        # What the rule's decay is measured against. Where the rule counts
        # updates, its capped step carries the schedule's decay, measured from
        # the schedule's own first rate ('optimal' ignores the base rate).
        # Where it sums per-sample steps (small data), the sums decay as
        # scikit-learn's do and the cap stays a stability bound, measured
        # from the base rate.
        self.reference_lr = (config.schedule.reference_rate(config.base_lr)
                             if rule.counts_updates else config.base_lr)
        self.last_rate = math.nan  # the schedule's rate, as printed by verbose
        self.epoch_samples = 0.0  # samples seen when the epoch began

    def rate(self, clock, sched_state, *, rows, weight):
        """The step size of this step (a Python float)."""
        config, rule = self.config, self.rule
        if config.samples_at_epoch_start:
            clock = self._clock_reading(0, clock, self.epoch_samples)
        by_update = (self._clock_reading(1, clock, float(clock.step))
                     if rule.counts_updates or rule.decays_per_update else None)
        lr = self.last_rate = config.schedule.rate(
            config.base_lr, by_update if rule.counts_updates else clock, sched_state)
        decay_lr = lr
        if rule.decays_per_update and not rule.counts_updates:
            decay_lr = config.schedule.rate(config.base_lr, by_update, sched_state)
        return rule.size(lr, self.reference_lr, rows=rows, weight=weight, decay_lr=decay_lr)

    def rates(self, clock, sched_state, *, rows, weights):
        """:meth:`rate` and the rule's block scales for the next
        ``len(weights)`` steps, from ``clock`` as it stands before the first:
        ``(sizes, weight scales, intercept scales)`` (float64 arrays). Step
        ``k`` takes ``rows[k]`` rows of weight ``weights[k]``; the clock is
        not advanced."""
        config, rule = self.config, self.rule
        n = len(weights)
        steps = float(clock.step) + np.arange(n, dtype=np.float64)
        # The samples seen before each step, summed in the batch loop's order.
        seen = np.cumsum(np.concatenate(([float(clock.n_samples_seen)], weights)))[:n]
        if config.samples_at_epoch_start:
            seen = np.full(n, self.epoch_samples)
        schedule, base_lr = config.schedule, config.base_lr
        lr = schedule.rates(base_lr, clock, steps, steps if rule.counts_updates else seen,
                            sched_state)
        decay_lr = lr
        if rule.decays_per_update and not rule.counts_updates:
            decay_lr = schedule.rates(base_lr, clock, steps, steps, sched_state)
        if n:
            self.last_rate = float(lr[-1])
        return rule.sizes(lr, self.reference_lr, rows=np.asarray(rows, dtype=np.float64),
                          weights=np.asarray(weights, dtype=np.float64), decay_lr=decay_lr)

    def _clock_reading(self, slot, clock, n_samples_seen):
        """``clock`` with another sample count, in one of two Clock objects
        kept for the purpose (a schedule reads them during the call only;
        ``dataclasses.replace`` every step cost more than the step's rule)."""
        view = self._views[slot]
        view.__dict__.update(clock.__dict__)
        view.n_samples_seen = n_samples_seen
        return view

    def __call__(self, flat, grads, opt_state, sched_state, clock, *, rows, weight):
        """Update ``flat.buffer`` in place from the gradient buffer ``grads``
        (same layout); return the new optimizer state.

        The L2 penalty's gradient, the clipping scale, the update rule, the
        decoupled decay and the update of the parameters are one
        :class:`~skoptim._kernels.FusedApply` around the optimizer's rule (one
        pass over the buffer where a CPU kernel runs)."""
        xp, penalty = self.xp, self.config.penalty
        params = flat.buffer
        pscale = 1.0 / weight if self.problem.penalty_per_sample else 1.0
        penalized = flat.n_head > 0
        l2 = penalty.l2 * pscale if penalized else 0.0
        gscale = 1.0
        if self.clip_norm is not None:
            # The norm is the penalized gradient's: add the penalty first.
            if l2:
                penalty.add_grad([flat.head(grads)], [flat.head(params)], [0], pscale)
                l2 = 0.0
            gscale = global_norm_scale([grads], self.clip_norm, xp=xp)
            if isinstance(gscale, (np.ndarray, np.generic)):
                gscale = float(gscale)
        lr = self.rate(clock, sched_state, rows=rows, weight=weight)
        head, tail = self.rule.block_scales()
        decay = lr * self.weight_decay if penalized else 0.0
        apply = FusedApply(params, flat.n_head, l2=l2, head_scale=gscale * head,
                           tail_scale=gscale * tail, decay=decay)
        if self.fuses_steps:
            (step,), opt_state = self.optimizer.update([grads], opt_state, lr=lr, xp=xp,
                                                       apply=apply)
        else:
            apply.prologue(grads)
            (step,), opt_state = self.optimizer.update([grads], opt_state, lr=lr, xp=xp)
        if not apply.done:
            apply.epilogue(step)
        if penalty.l1 > 0 and penalized:
            threshold = lr * head * penalty.l1 * pscale
            metric = self.optimizer.prox_metric(opt_state, [0], xp=xp)
            if metric is not None:
                penalty.prox([flat.head(params)], [0], [threshold * flat.head(metric[0])],
                             xp=xp)
            else:
                self._cumulative_l1(flat.head(params), threshold)
        return opt_state

    def _cumulative_l1(self, w, threshold):
        """The L1 step of Tsuruoka, Tsujii & Ananiadou (ACL 2009), in place:
        each weight moves towards zero (never across it) by the total penalty
        it could have received so far less what it did receive. A weight
        that noisy mini-batch gradients push off zero is pulled back at the
        next step, so Lasso's zeros stay exact zeros (a plain proximal step
        forgets the penalty a clipped weight did not use)."""
        xp = self.xp
        if self.l1_applied is None:
            self.l1_applied = xp.zeros_like(w)
        self.l1_total += threshold
        u, q = self.l1_total, self.l1_applied
        before = xp.asarray(w, copy=True)
        w[...] = xp.where(before > 0, xp.clip(before - (u + q), min=0.0),
                          xp.where(before < 0, xp.clip(before + (u - q), max=0.0), before))
        q += w - before

    def l1_state(self):
        """What the next call continues the cumulative L1 penalty from."""
        return None if self.l1_applied is None else (self.l1_total, self.l1_applied)


@functools.lru_cache(maxsize=None)
def _takes_apply(update):
    """Whether an optimizer class's ``update`` takes ``apply`` (read once)."""
    return "apply" in inspect.signature(update).parameters


def update_average(average, count, params, xp):
    """Polyak-Ruppert running mean of the iterates (averaged SGD), on the
    parameter buffer."""
    if average is None:
        return xp.asarray(params, copy=True), 1
    count += 1
    average += (params - average) / count
    return average, count
