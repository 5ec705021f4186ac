"""The one training loop shared by every skoptim estimator.

An estimator describes *what* is trained with a
:class:`~skoptim.engine.Problem`; the engine decides *how*: epochs,
mini-batches (:mod:`._data`), optimizer steps (:mod:`._step`) and the epoch
monitor (:mod:`._monitor`: loss, divergence, best weights, callbacks,
stopping). It works on copies of the incoming state and returns a
:class:`FitResult`; it never touches estimator attributes, so the estimator
commits the result in one place and a failed fit changes nothing.
"""

# SPDX-License-Identifier: BSD-3-Clause

import warnings
from dataclasses import dataclass, replace

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skoptim._tree import copy_tree
from skoptim.engine._data import BatchPlan
from skoptim.engine._monitor import Monitor, check_finite_outputs, check_finite_params
from skoptim.engine._step import FlatParams, Stepper, update_average
from skoptim.optim import Clock


@dataclass
class TrainingState:
    """Everything that carries over to the next ``partial_fit`` or warm start."""

    params: list
    optimizer_state: object
    schedule_state: object
    clock: Clock
    rng_state: object
    average: list | None = None
    average_count: int = 0
    noise_seed: int = 0
    # The cumulative L1 penalty's (total, applied per penalized weight).
    l1_state: tuple | None = None

@dataclass
class TrainConfig:
    """How to train: the resolved hyperparameters of one call."""

    optimizer: object
    schedule: object
    base_lr: float
    lr_name: str
    penalty: object
    max_iter: int
    batch_size: int
    shuffle: bool = True
    tol: float | None = None
    n_iter_no_change: int = 5
    check_convergence: bool = True
    average_start: float = 0.0  # samples seen before averaging starts; 0: off
    verbose: int = 0
    # scikit-learn's SGD stops after n_iter_no_change bad epochs, its MLP after
    # n_iter_no_change + 1; each estimator keeps its counterpart's rule.
    extra_patience: int = 0
    # Schedules counting samples read the count at the start of the epoch
    # (scikit-learn's MLP sets its rate once per epoch, from t_), and the first
    # epoch of a fit reads 0 (a new fit's optimizer starts at the base rate,
    # also on a warm start, whose t_ goes on).
    samples_at_epoch_start: bool = False
    # Prints an epoch's verbose lines, given an EpochReport.
    report: object = None
    # Cut shuffled batches by weight over groups of identical rows, and read
    # batch_size in weight units (_GroupedOrder): for small data.
    grouped_batches: bool = False
    # The penalty's strength, named in divergence errors.
    alpha: float = 0.0
    # The ConvergenceWarning at max_iter (formatted with max_iter): each
    # estimator words it as its scikit-learn counterpart does.
    max_iter_message: str = ("Maximum number of iterations ({max_iter}) reached before "
                             "convergence. Consider increasing max_iter to improve the fit.")


def train(problem, data, *, validation, config, state, backend, callbacks,
          copy_state=True):
    """Run epochs of mini-batch training; return a :class:`FitResult`.

    ``data`` is ``(X, y, sample_weight, sample_weight_host)`` in the backend's
    namespace (``X`` may be sparse; the weights may be None; the host copy is
    NumPy). ``validation`` is ``(X_val, y_val, sample_weight_val)`` or None.
    ``state`` (a :class:`TrainingState`) is copied, never modified, unless
    ``copy_state`` is False (a fresh state nobody else holds).
    ``callbacks`` is a :class:`~skoptim.engine._monitor.Callbacks`.
    """
    run = _Run(problem, data, config, state, backend, copy_state=copy_state)
    monitor = Monitor(problem, config, validation, callbacks, backend.xp)
    sched_state = copy_tree(state.schedule_state, backend.xp)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(config.max_iter):
            monitor.begin_epoch()
            loss_sum, batch_weights = run.epoch(sched_state)
            sched_state, stop = monitor.end_epoch(
                loss_sum, batch_weights, run.exposed(), first_batch=run.first_batch,
                clock=run.clock, lr=run.stepper.last_rate, sched_state=sched_state)
            if stop:
                break
    if monitor.ran_out:
        warnings.warn(config.max_iter_message.format(max_iter=config.max_iter),
                      ConvergenceWarning)
    result = monitor.result
    result.state = run.training_state(sched_state)
    result.params = monitor.restored()
    if result.params is None:
        result.params = run.exposed()
    elif result.state.average is None:
        # What follows (partial_fit) continues from the restored weights, the
        # ones the estimator shows.
        result.state = replace(result.state, params=result.params)
    check_finite_params(result.params, backend.xp, config, run.clock.epoch)
    check_finite_outputs(problem, result.params, run.last_rows(), backend.xp, config,
                         run.clock.epoch)
    if validation is None:
        result.best_validation_score = None
    return result


class _Run:
    """The mutable side of one :func:`train` call, on copies of ``state``: the
    parameter and gradient buffers, the optimizer state, the running average,
    the clock and the random stream."""

    def __init__(self, problem, data, config, state, backend, *, copy_state):
        xp = self.xp = backend.xp
        self.problem, self.config, self.state = problem, config, state
        X, y, sw, sw_host = data
        self.batches = BatchPlan(X, y, sw, sw_host, batch_size=config.batch_size,
                                 shuffle=config.shuffle, grouped=config.grouped_batches,
                                 noise=problem.uses_noise, backend=backend)
        # Every parameter lives in one buffer (a copy: the state is never
        # modified); gradients are gathered into a second one.
        self.flat = flat = FlatParams(state.params, problem.penalized, xp)
        if not copy_state:
            state.params = flat.views  # a fresh state: let its separate arrays go
        self.grads = xp.empty_like(flat.buffer)
        self.grad_views = flat.split(self.grads)
        if state.optimizer_state is None:
            self.opt_state = config.optimizer.init([flat.buffer], xp=xp)
        else:
            self.opt_state = (copy_tree(state.optimizer_state, xp) if copy_state
                              else state.optimizer_state)
        self.average = None if state.average is None else flat.pack(state.average)
        self.average_count = state.average_count
        self.clock = replace(state.clock)
        self.clock.total_steps = self.clock.step + config.max_iter * self.batches.n_batches
        self.rng = backend.rng(state.rng_state)
        rule = problem.step_rule(config.optimizer, n=self.batches.total,
                                 grouped=self.batches.grouped is not None)
        l1 = state.l1_state
        if l1 is not None and copy_state:
            l1 = (l1[0], copy_tree(l1[1], xp))
        self.stepper = Stepper(problem, config, rule, xp, l1_state=l1)
        # A compiled loop over a whole epoch's batches, where the problem has one.
        self.fused = (None if self.batches.keys is not None else
                      problem.fused_epoch(config, self.stepper, self.flat, self.batches))
        self.first_batch = None  # (loss, weight) of the call's first batch
        self.last_batch = None  # the rows of X of the call's last step, or their indices
        self.epochs_run = 0

    def epoch(self, sched_state):
        """One pass over the data; ``(loss_sum, batch_weights)``, the loss sum
        a device array (no host synchronisation here)."""
        flat, clock, config = self.flat, self.clock, self.config
        # check_convergence is set for fit, not partial_fit.
        new_fit = config.check_convergence and self.epochs_run == 0
        self.stepper.epoch_samples = 0.0 if new_fit else clock.n_samples_seen
        if self.fused is not None:
            return self._fused_epoch(sched_state)
        loss_sum, weights = 0.0, []
        for X, y, sw, noise, rows, weight in self.batches.epoch(
                self.rng, noise_seed=self.state.noise_seed, epoch=clock.epoch):
            weights.append(weight)
            batch_loss, grads = self.problem.loss_grad(flat.views, X, y, sw, noise=noise,
                                                       out=self.grad_views)
            flat.fill(self.grad_views, grads)
            self.last_batch = X
            loss_sum = loss_sum + batch_loss
            if self.first_batch is None:
                self.first_batch = (batch_loss, weight)
            self.opt_state = self.stepper(flat, self.grads, self.opt_state, sched_state,
                                          clock, rows=rows, weight=weight)
            clock.step += 1
            clock.n_samples_seen += weight
            if config.average_start and clock.n_samples_seen >= config.average_start:
                self.average, self.average_count = update_average(
                    self.average, self.average_count, flat.buffer, self.xp)
        clock.epoch += 1
        self.epochs_run += 1
        return loss_sum, weights

    def _fused_epoch(self, sched_state):
        """:meth:`epoch` in one compiled loop: the step sizes first (the
        schedule reads the clock as it stands at each step), then the steps."""
        clock = self.clock
        index = self.batches.index_epoch(self.rng)
        lrs, heads, tails = self.stepper.rates(clock, sched_state, rows=index.sizes,
                                               weights=index.weights)
        # The samples seen after each step, summed in the batch loop's order.
        seen = np.cumsum(np.concatenate(([float(clock.n_samples_seen)], index.weights)))[1:]
        average = divisors = None
        if self.config.average_start:
            # The running mean follows the steps after which averaging is on.
            on = seen >= self.config.average_start
            counts = self.average_count + np.cumsum(on)
            if on.any():
                divisors = np.where(on, counts, 0)
                self.average_count = int(counts[-1])
                if self.average is None:
                    self.average = np.empty_like(self.flat.buffer)
                average = self.average
        losses = self.fused.run(index, lrs, heads, tails, average, divisors)
        n = len(index)
        if n:
            self.last_batch = index.rows[index.offsets[-2]:index.offsets[-1]]
        clock.step += n
        if n:
            clock.n_samples_seen = float(seen[-1])
        loss_sum = losses.cumsum()[-1] if n else 0.0
        if self.first_batch is None and n:
            self.first_batch = (losses[0], float(index.weights[0]))
        clock.epoch += 1
        self.epochs_run += 1
        return loss_sum, index.weights.tolist()

    def last_rows(self):
        """The rows of X the call's last step trained on (None before any)."""
        batch = self.last_batch
        if isinstance(batch, np.ndarray) and batch.ndim == 1:  # the fused epoch's indices
            return self.batches.take[0](batch)
        return batch

    def exposed(self):
        """The parameters a fitted model shows: averaged, or the current ones."""
        return self.flat.split(self.average) if self.average is not None else self.flat.views

    def training_state(self, sched_state):
        """What the next ``partial_fit`` or warm start continues from."""
        return TrainingState(
            params=self.flat.views,
            optimizer_state=self.opt_state,
            schedule_state=sched_state,
            clock=replace(self.clock, total_steps=None),
            rng_state=self.rng.state(),
            average=None if self.average is None else self.flat.split(self.average),
            average_count=self.average_count,
            noise_seed=self.state.noise_seed,
            l1_state=self.stepper.l1_state(),
        )
