"""The epoch monitor: the epoch's loss, divergence, best weights, the
metric-driven schedules, verbose lines, callbacks and the stopping rule."""

# SPDX-License-Identifier: BSD-3-Clause

import math
import time
from dataclasses import dataclass, field

import numpy as np

from skoptim._backend import is_sparse
from skoptim._tree import copy_tree


class DivergenceError(FloatingPointError, ValueError):
    """Training diverged: the loss or the weights became non-finite or exploded.

    Raised by ``fit`` and ``partial_fit`` instead of returning such weights;
    the estimator is left as it was before the call. The message names the
    learning rate, ``alpha`` and the scale of the data and the sample weights,
    the usual causes. A ``ValueError`` (and a ``FloatingPointError``).
    """


# A mean loss this many times above its value at the starting weights (or
# above 1, whichever is larger) means the iterates blew up.
_DIVERGENCE_GROWTH = 1e6

@dataclass
class FitResult:
    """What one call of :func:`train` produced."""

    state: object  # the TrainingState to continue from
    params: list  # the parameters to expose: best, averaged or last
    n_iter: int
    loss_curve: list = field(default_factory=list)
    validation_scores: list = field(default_factory=list)
    best_loss: float = math.inf
    best_validation_score: float = -math.inf
    converged: bool = False

@dataclass
class EpochReport:
    """What a verbose estimator may print after an epoch."""

    epoch: int  # epochs completed, over all calls
    iteration: int  # epochs completed in this call
    loss: float  # the objective: mean loss plus penalty
    data_loss: float  # the mean loss alone
    score: float | None
    lr: float
    elapsed: float
    params: list  # the exposed parameters
    n_samples_seen: float
    verbose: int

class _Stall:
    """scikit-learn's ``tol``/``n_iter_no_change`` rule on a metric to minimize."""

    def __init__(self, tol, patience):
        self.tol = -math.inf if tol is None else tol
        self.patience = patience
        self.best = math.inf
        self.count = 0

    def observe(self, metric):
        if metric > self.best - self.tol:
            self.count += 1
        else:
            self.count = 0
        improved = metric < self.best
        if improved:
            self.best = metric
        return improved

    @property
    def stalled(self):
        return self.count >= self.patience

    def step(self, metric, schedule, sched_state, config, epoch):
        """Observe an epoch; on a stall let the schedule react (``'adaptive'``
        lowers the rate) or report convergence. ``(sched_state, converged)``."""
        self.observe(metric)
        if not self.stalled:
            return sched_state, False
        sched_state, handled = schedule.on_stall(sched_state, base_lr=config.base_lr)
        if handled:
            self.count = 0
            return sched_state, False
        if config.verbose:
            print(f"Convergence after {epoch} epochs: no improvement of more than "
                  f"tol={config.tol} for {config.n_iter_no_change} epochs.")
        return sched_state, True


def _epoch_loss(problem, penalty, loss_sum, batch_weights, params, *, xp):
    """The epoch's mean weighted loss and objective (the loss plus the
    penalty), with one host synchronisation."""
    n_weight = float(sum(batch_weights))
    loss = objective = float(loss_sum) / n_weight
    if penalty.active:
        # scikit-learn's MLP divides the penalty by the batch size.
        scale = len(batch_weights) / n_weight if problem.penalty_per_sample else 1.0
        objective += scale * float(penalty.value(params, list(problem.penalized), xp=xp))
    return loss, objective


def _check_divergence(loss, reference_loss, epoch, config):
    """Raise when the loss is not finite or exploded past its starting value."""
    if math.isfinite(loss) and loss <= _DIVERGENCE_GROWTH * reference_loss:
        return
    what = f"loss is {loss}" if not math.isfinite(loss) else (
        f"loss grew to {loss:.3g} from {reference_loss:.3g}")
    # scikit-learn's words for non-finite results, then the hint.
    nonfinite = ("Solver produced non-finite parameter weights. The input data may "
                 "contain large values and need to be preprocessed. ")
    raise DivergenceError(f"Training diverged at epoch {epoch} ({what}). "
                          + (nonfinite if not math.isfinite(loss) else "")
                          + _divergence_hint(config))


def _divergence_hint(config):
    """What to try when training blew up: the rate first, then the other causes."""
    return (f"Try a smaller {config.lr_name} (now {config.base_lr}); if that does not "
            f"help, check alpha (now {config.alpha}) and the scale of X, y and "
            "sample_weight (StandardScaler, weights near 1).")


def check_finite_params(params, xp, config, epoch):
    """The parameters about to be exposed are finite (one host sync per array):
    the last step of a call is checked too, not only the loss before it."""
    for p in params:
        if not bool(xp.all(xp.isfinite(p))):
            raise DivergenceError(
                f"Training produced non-finite weights at epoch {epoch}. "
                + _divergence_hint(config))


def check_finite_outputs(problem, params, X, xp, config, epoch):
    """The outputs of the parameters about to be exposed are finite on ``X``,
    the rows of the call's last step: no loss is computed after that step,
    and finite weights can still be large enough that their outputs overflow."""
    if X is None:
        return
    with np.errstate(over="ignore", invalid="ignore"):
        z = problem.outputs(params, X)
    if z is not None and not bool(xp.all(xp.isfinite(z))):
        raise DivergenceError(
            f"Training diverged at epoch {epoch} (the last step's weights give "
            "non-finite outputs on its batch). " + _divergence_hint(config))
    # Other rows of the same scale may add up otherwise (other hidden units
    # active), and a softmax subtracts outputs: the weights must leave room,
    # for every row whose entries are within _OUTPUT_ROOM times the batch's
    # largest, below half the dtype's largest value.
    values = X.data if is_sparse(X) else X
    scale = float(xp.max(xp.abs(values))) if values.shape[0] else 0.0
    bound = problem.output_bound(params, _OUTPUT_ROOM * scale)
    limit = float(xp.finfo(params[0].dtype).max) / 2
    if bound is not None and not bound <= limit:
        raise DivergenceError(
            f"Training diverged at epoch {epoch} (the last step's weights are large "
            "enough for the outputs of rows like its batch's to overflow). "
            + _divergence_hint(config))


# See check_finite_outputs: the outputs stay finite on rows whose entries are
# up to this many times the largest entry of the last step's rows.
_OUTPUT_ROOM = 2.0 ** 10


def _print_epoch(report):
    line = f"Epoch {report.epoch}, loss = {report.loss:.8f}"
    if report.score is not None:
        line += f", validation score = {report.score:.6f}"
    print(line)


class Callbacks:
    """scikit-learn's callbacks for one fit: one subtask per epoch (or
    L-BFGS iteration), ended with the fitted attributes of that point."""

    def __init__(self, ctx, estimator, X, y, sample_weight, fit_metadata=None):
        self.ctx, self.estimator, self.X, self.y = ctx, estimator, X, y
        self.metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        self.fit_metadata = fit_metadata  # the fit task's, as the user passed it
        self.task = None

    def begin(self, name="epoch"):
        if self.ctx is not None:
            self.task = self.ctx.subcontext(task_name=name)
            self.task.call_on_fit_task_begin(estimator=self.estimator, X=self.X,
                                             y=self.y, metadata=self.metadata)

    def end(self, attributes):
        """End the open subtask with ``attributes()`` for reconstruction;
        True when a callback asks to stop."""
        if self.task is None:
            return False
        task, self.task = self.task, None
        return bool(task.call_on_fit_task_end(
            estimator=self.estimator, X=self.X, y=self.y, metadata=self.metadata,
            reconstruction_attributes=attributes))

    def end_unused(self):
        """End a subtask that never ran (L-BFGS stopped before it)."""
        if self.task is not None:
            self.task.call_on_fit_task_end(estimator=self.estimator)
            self.task = None


class Monitor:
    """Watches the epochs of one training call and fills its :class:`FitResult`.

    After each epoch :meth:`end_epoch` computes the objective (one host
    synchronisation), raises :class:`DivergenceError` on a blow-up, scores the
    validation set and keeps the best weights, lets metric-driven schedules
    react, prints the verbose lines, reports to the callbacks and applies the
    stopping rule.
    """

    def __init__(self, problem, config, validation, callbacks, xp):
        self.problem, self.config, self.validation = problem, config, validation
        self.callbacks, self.xp = callbacks, xp
        self.stall = _Stall(config.tol, config.n_iter_no_change + config.extra_patience)
        self.result = FitResult(state=None, params=None, n_iter=0)
        self.best_params = None
        self.reference_loss = None
        self.t_start = time.perf_counter()

    def begin_epoch(self):
        self.callbacks.begin()

    def end_epoch(self, loss_sum, batch_weights, exposed, *, first_batch, clock, lr,
                  sched_state):
        """Close an epoch; ``(sched_state, stop)``."""
        config, result, xp = self.config, self.result, self.xp
        data_loss, loss = _epoch_loss(self.problem, config.penalty, loss_sum,
                                      batch_weights, exposed, xp=xp)
        if self.reference_loss is None:  # the mean loss at the starting weights
            first_loss, first_weight = first_batch
            self.reference_loss = max(float(first_loss) / first_weight, 1.0)
        result.n_iter += 1
        _check_divergence(loss, self.reference_loss, clock.epoch, config)
        result.loss_curve.append(loss)
        result.best_loss = min(result.best_loss, loss)
        metric, score = loss, None
        if self.validation is not None:
            score = self.problem.score(exposed, *self.validation)
            result.validation_scores.append(score)
            metric = -score
            # Ties keep the later epoch: equally good on validation, and
            # trained longer.
            if score >= result.best_validation_score:
                result.best_validation_score = score
                self.best_params = copy_tree(exposed, xp)
        sched_state = config.schedule.update(sched_state, metric)
        if config.verbose:
            (config.report or _print_epoch)(EpochReport(
                epoch=clock.epoch, iteration=result.n_iter, loss=loss,
                data_loss=data_loss, score=score, lr=lr,
                elapsed=time.perf_counter() - self.t_start, params=exposed,
                n_samples_seen=clock.n_samples_seen, verbose=int(config.verbose)))
        stop = self.callbacks.end(
            lambda: self.problem.fitted_attributes(copy_tree(exposed, xp))
            | {"n_iter_": result.n_iter})
        if config.check_convergence:
            sched_state, result.converged = self.stall.step(
                metric, config.schedule, sched_state, config, clock.epoch)
        return sched_state, stop or result.converged

    @property
    def ran_out(self):
        """Whether ``fit`` used all of ``max_iter`` without converging."""
        config, result = self.config, self.result
        return (config.check_convergence and not result.converged
                and result.n_iter == config.max_iter and config.tol is not None)

    def restored(self):
        """The best epoch's weights when early stopping restores them, else None
        (with ``tol=None`` nothing stops training early: the last weights stay)."""
        if self.validation is not None and self.config.tol is not None:
            return self.best_params
        return None
