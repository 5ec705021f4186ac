"""The one training loop shared by every skoptim estimator.

An estimator describes *what* is trained with a :class:`Problem` (initial
parameters, ``loss_grad`` on a mini-batch, a validation scorer, the fitted
attributes for callbacks). The engine decides *how*: epochs, mini-batches,
shuffling, penalties, the optimizer step and the schedule, averaging, early
stopping with best-weight restoring, divergence detection, verbose lines and
scikit-learn's callbacks. It works on copies of the incoming state and returns
a :class:`FitResult`; it never touches estimator attributes, so the estimator
commits the result in one place and a failed fit changes nothing.
"""

# SPDX-License-Identifier: BSD-3-Clause

import math
import time
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skoptim._backend import is_sparse, to_numpy
from skoptim._random import RowNoise, device_row_keys, row_keys
from skoptim._tree import map_arrays
from skoptim.optim import Clock
from skoptim.optim._transforms import clip_by_global_norm, decoupled_weight_decay


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


@dataclass
class FitResult:
    """What one call of :func:`train` produced."""

    state: TrainingState
    params: list  # the parameters to expose: best, averaged or last
    n_iter: int
    loss_curve: list = field(default_factory=list)
    validation_scores: list = field(default_factory=list)
    best_loss: float = math.inf
    best_validation_score: float = -math.inf
    converged: bool = False


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


class Problem:
    """What an estimator trains; the interface the engine relies on.

    Attributes
    ----------
    penalized : list of int
        Indices of the parameter arrays that the penalty applies to.
    curvature : float or None
        None: ``loss_grad`` returns gradients of the weighted *mean* loss and
        the learning rate applies as is (scikit-learn's MLP). A float ``L``:
        the learning rate is per sample, as in scikit-learn's ``SGDRegressor``,
        so for optimizers that are not scale invariant a mini-batch of weight
        ``W`` and ``b`` rows takes the step ``min(lr * W, d / L_b)`` on the
        mean gradient: the sum of the per-sample steps, or the curvature limit
        of a ``b``-row batch (see ``curvature_max``) times the schedule's
        decay ``d = lr / lr_0``. The schedule then counts weight updates
        (batches) in ``n_samples_seen``, as scikit-learn's ``t_`` counts
        updates (samples, one update each).
    curvature_max : float
        With ``curvature``: the largest one-sample curvature ``L_max``.
    penalty_per_sample : bool
        True divides the penalty by the batch's weight (scikit-learn's MLP
        convention, ``alpha / n_samples``); False applies it as is.
    uses_noise : bool
        True when ``loss_grad`` draws dropout masks from ``noise``.
    """

    penalized = ()
    curvature = None
    curvature_max = None
    penalty_per_sample = False
    uses_noise = False

    def loss_grad(self, params, X, y, sample_weight, *, noise=None, out=None):
        """Return ``(loss_sum, grads)`` on a batch: the weighted loss sum (a 0-d
        array) and the gradients of the weighted mean loss. ``noise`` is a
        :class:`~skoptim._random.RowNoise` for the batch's rows. ``out`` (a
        list shaped like ``params``, or None) are arrays the gradients may be
        written into; the engine copies any gradient that is not one of them."""
        raise NotImplementedError

    def score(self, params, X, y, sample_weight):
        """The validation score (higher is better) as a Python float."""
        raise NotImplementedError

    def fitted_attributes(self, params):
        """The estimator attributes that ``params`` stand for."""
        raise NotImplementedError


def copy_tree(obj, xp):
    """Copy the arrays inside nested lists, tuples, dicts and dataclasses."""
    return map_arrays(obj, lambda a: xp.asarray(a, copy=True))


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


def _take(a, idx, xp=None):
    """Rows ``idx`` of ``a`` (an index array, or a slice for unshuffled data);
    ``xp`` is ``a``'s namespace when the caller knows it."""
    if a is None:
        return None
    if isinstance(idx, slice) or is_sparse(a) or isinstance(a, np.ndarray):
        return a[idx]
    if xp is None:
        from array_api_compat import array_namespace

        xp = array_namespace(a)
    return xp.take(a, idx, axis=0)


class _Gather:
    """Rows of one training array per batch, into a reused buffer for NumPy."""

    def __init__(self, a, xp):
        self.a, self.xp = a, xp
        self.buf = None

    def __call__(self, idx):
        a = self.a
        if a is None or isinstance(idx, slice) or not isinstance(a, np.ndarray):
            return _take(a, idx, self.xp)
        k = idx.shape[0]
        if self.buf is None or self.buf.shape[0] < k:
            self.buf = np.empty((k,) + a.shape[1:], dtype=a.dtype)
        return np.take(a, idx, axis=0, out=self.buf[:k])


def _row_groups(X, y):
    """Groups of identical ``(X, y)`` rows, in canonical (key) order:
    ``(y as float64 columns, first row of each group, group of each row)``."""
    n = X.shape[0]
    y_np = np.asarray(to_numpy(y), dtype=np.float64).reshape(n, -1)
    keys = np.column_stack([to_numpy(row_keys(X)).view(np.int64), y_np.view(np.int64)])
    _, first, group = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    return y_np, first, group.ravel()


def validation_split(X, y, sample_weight, *, fraction, stratify, random_state, xp):
    """Hold out a validation fraction, keeping identical rows on one side.

    Rows are grouped by a hash of ``(X, y)``, so copies of a row never straddle
    train and validation, and a sample weight of ``k`` holds out exactly what
    ``k`` repeated rows would. Groups are ordered canonically (sorted keys) and
    shuffled with ``random_state``. ``ceil(fraction * n_groups)`` groups are
    held out (scikit-learn's ``ShuffleSplit`` count); a fraction that leaves no
    training or no validation group raises scikit-learn's error. With
    ``stratify`` each class gives ``round(fraction * n_class)`` groups (at most
    all but one), and at least one group is held out. Returns
    ``(train_idx, val_idx)`` (NumPy).
    """
    y_np, first, group = _row_groups(X, y)
    n_groups = first.shape[0]
    if n_groups < 2:
        raise ValueError(
            "Early stopping needs at least 2 distinct samples to hold out "
            f"validation_fraction={fraction}; got n_samples={n_groups} distinct."
        )
    n_val = math.ceil(fraction * n_groups)
    if n_val == 0 or n_val == n_groups:
        raise ValueError(
            f"Splitting {n_groups} samples into a train set and a validation set with "
            f"validation_fraction={fraction!r} led to an empty set "
            f"({n_groups - n_val} and {n_val} samples). Please either change "
            "validation_fraction, increase number of samples, or disable early_stopping."
        )
    rng = np.random.default_rng(random_state)
    if stratify:
        _, labels = np.unique(y_np[first], axis=0, return_inverse=True)
        labels = labels.ravel()
    else:
        labels = np.zeros(n_groups, dtype=np.intp)
    val_groups = []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        # Stratified: each class in proportion, never all of a class (a class
        # of one member stays in training: a graceful split where
        # scikit-learn's StratifiedShuffleSplit raises).
        k = (min(int(round(fraction * members.size)), members.size - 1) if stratify
             else n_val)
        val_groups.append(members[:k])
    val_groups = np.concatenate(val_groups)
    if val_groups.size == 0:
        # Every class is too small to give a group: hold out one group anyway.
        val_groups = rng.permutation(n_groups)[:1]
    is_val = np.zeros(n_groups, dtype=bool)
    is_val[val_groups] = True
    val_rows = is_val[group]
    return np.flatnonzero(~val_rows), np.flatnonzero(val_rows)


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
    raise DivergenceError(f"Training diverged at epoch {epoch} ({what}). "
                          + _divergence_hint(config))


def _divergence_hint(config):
    """What to try when training blew up: the rate first, then the other causes."""
    return (f"Try a smaller {config.lr_name} (now {config.base_lr}); if that does not "
            f"help, check alpha (now {config.alpha}) and the scale of X, y and "
            "sample_weight (StandardScaler, weights near 1).")


def _check_finite_params(params, xp, config, epoch):
    """The parameters about to be exposed are finite (one host sync per array):
    the last step of a call is checked too, not only the loss before it."""
    for p in params:
        if not bool(xp.all(xp.isfinite(p))):
            raise DivergenceError(
                f"Training produced non-finite weights at epoch {epoch}. "
                + _divergence_hint(config))


class _Stepper:
    """One optimizer step on a batch's gradients: the penalty's gradient,
    clipping, the learning rate, the update, decoupled weight decay and the L1
    proximal step, each one operation on the whole parameter buffer (or its
    penalized head), in place."""

    def __init__(self, problem, config, n, xp):
        self.problem, self.config, self.xp = problem, config, xp
        self.n = n  # rows, or the total weight when batches are cut by weight
        self.optimizer = optimizer = config.optimizer
        self.weight_decay = float(getattr(optimizer, "weight_decay", 0.0) or 0.0)
        self.clip_norm = getattr(optimizer, "clip_norm", None)
        self.per_update = problem.curvature is not None
        self.linear_scaling = self.per_update and not optimizer.scale_invariant
        self.caps = {}
        self.last_rate = math.nan  # the schedule's rate, as printed by verbose
        self.epoch_samples = 0.0  # samples seen when the epoch began

    def cap(self, b):
        """The stable step of a batch of size ``b`` (rows, or weight) out of
        ``n``: between the full-data and the one-sample curvature bounds
        (expected smoothness, Gower et al. 2019)."""
        if b not in self.caps:
            n, L = self.n, self.problem.curvature
            L_max = self.problem.curvature_max or L
            size = min(max(b, 1.0), n)
            L_b = L if size >= n else (
                (n * (size - 1) * L + (n - size) * L_max) / (size * (n - 1)))
            self.caps[b] = 1.0 / (L_b * self.optimizer.step_gain())
        return self.caps[b]

    def rate(self, clock, sched_state, *, rows, weight):
        """The learning rate of this step (a Python float)."""
        config = self.config
        if config.samples_at_epoch_start:
            clock = replace(clock, n_samples_seen=self.epoch_samples)
        if self.per_update and not (config.grouped_batches and self.linear_scaling):
            # Schedules of per-sample rates count weight updates, as
            # scikit-learn's t_ does (one per sample there, one per batch
            # here). On small data (grouped batches of a few rows) the summed
            # per-sample steps count samples, as scikit-learn does.
            clock = replace(clock, n_samples_seen=float(clock.step))
        lr = self.last_rate = config.schedule.rate(config.base_lr, clock, sched_state)
        if self.linear_scaling:
            # The batch's summed per-sample steps, or the stable step shaped by
            # the schedule's decay, whichever is smaller.
            decay = min(1.0, lr / config.base_lr)
            lr = min(lr * weight, self.cap(rows) * decay)
        return lr

    def __call__(self, flat, grads, opt_state, sched_state, clock, *, rows, weight):
        """Update ``flat.buffer`` in place from the gradient buffer ``grads``
        (same layout); return the new optimizer state."""
        xp, penalty = self.xp, self.config.penalty
        params = flat.buffer
        pscale = 1.0 / weight if self.problem.penalty_per_sample else 1.0
        penalized = flat.n_head > 0
        if penalized:
            penalty.add_grad([flat.head(grads)], [flat.head(params)], [0], pscale)
        grads = clip_by_global_norm([grads], self.clip_norm, xp=xp)
        lr = self.rate(clock, sched_state, rows=rows, weight=weight)
        (step,), opt_state = self.optimizer.update(grads, opt_state, lr=lr, xp=xp)
        if self.weight_decay and penalized:
            decoupled_weight_decay([flat.head(step)], [flat.head(params)],
                                   lr * self.weight_decay, xp=xp)
        params -= step
        if penalty.l1 > 0 and penalized:
            threshold = lr * penalty.l1 * pscale
            metric = self.optimizer.prox_metric(opt_state, [0], xp=xp)
            if metric is not None:
                threshold = [threshold * flat.head(metric[0])]
            penalty.prox([flat.head(params)], [0], threshold, xp=xp)
        return opt_state


def train(problem, data, *, validation, config, state, backend, callback_ctx=None,
          estimator=None, callback_y=None, copy_state=True):
    """Run epochs of mini-batch training; return a :class:`FitResult`.

    Parameters
    ----------
    problem : Problem
        The model to train.
    data : tuple
        ``(X, y, sample_weight, sample_weight_host)``: training arrays in the
        backend's namespace (``X`` may be SciPy sparse), ``sample_weight`` may
        be None, and ``sample_weight_host`` is a NumPy copy (or None).
    validation : tuple or None
        ``(X_val, y_val, sample_weight_val)`` for early stopping, or None.
    config : TrainConfig
        The resolved hyperparameters.
    state : TrainingState
        Where to start; copied, never modified.
    backend : Backend
        The namespace, device and dtype.
    callback_ctx : sklearn.callback.CallbackContext or None
        The estimator's root callback context; one subtask per epoch.
    estimator : estimator instance or None
        The estimator reported to callbacks.
    callback_y : array-like or None
        The targets shown to callbacks (the user's labels, not the model's
        encoding); defaults to ``y``.
    copy_state : bool
        Train on a copy of ``state`` (True, for a state that a fitted
        estimator holds); False lets a freshly made state be trained in place.
    """
    X, y, sw, _ = data
    y_cb = y if callback_y is None else callback_y
    metadata = None if sw is None else {"sample_weight": sw}
    run = _Batches(problem, data, config, state, backend, copy_state=copy_state)
    schedule, penalty = config.schedule, config.penalty
    sched_state = copy_tree(state.schedule_state, backend.xp)
    stall = _Stall(config.tol, config.n_iter_no_change + config.extra_patience)
    result = FitResult(state=None, params=None, n_iter=0)
    best_params = reference_loss = None
    t_start = time.perf_counter()

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(config.max_iter):
            epoch_ctx = None
            if callback_ctx is not None:
                epoch_ctx = callback_ctx.subcontext(task_name="epoch")
                epoch_ctx.call_on_fit_task_begin(estimator=estimator, X=X, y=y_cb,
                                                 metadata=metadata)
            loss_sum, batch_weights = run.epoch(sched_state)
            # One host synchronisation per epoch: the loss and the checks.
            exposed = run.exposed()
            data_loss, loss = _epoch_loss(problem, penalty, loss_sum, batch_weights,
                                          exposed, xp=backend.xp)
            if reference_loss is None:  # the mean loss at the starting weights
                first_loss, first_weight = run.first_batch
                reference_loss = max(float(first_loss) / first_weight, 1.0)
            result.n_iter += 1
            _check_divergence(loss, reference_loss, run.clock.epoch, config)
            result.loss_curve.append(loss)
            result.best_loss = min(result.best_loss, loss)
            stall_metric, score = loss, None
            if validation is not None:
                score = problem.score(exposed, *validation)
                result.validation_scores.append(score)
                stall_metric = -score
                # Ties keep the later epoch: equally good on validation, and
                # trained longer.
                if score >= result.best_validation_score:
                    result.best_validation_score = score
                    best_params = copy_tree(exposed, backend.xp)
            sched_state = schedule.update(sched_state, stall_metric)
            if config.verbose:
                report = config.report or _print_epoch
                report(EpochReport(
                    epoch=run.clock.epoch, iteration=result.n_iter, loss=loss,
                    data_loss=data_loss, score=score,
                    lr=run.stepper.last_rate, elapsed=time.perf_counter() - t_start,
                    params=exposed, n_samples_seen=run.clock.n_samples_seen,
                    verbose=int(config.verbose)))
            stop = False
            if epoch_ctx is not None:
                stop = epoch_ctx.call_on_fit_task_end(
                    estimator=estimator, X=X, y=y_cb, metadata=metadata,
                    reconstruction_attributes=lambda: problem.fitted_attributes(
                        copy_tree(exposed, backend.xp)
                    ) | {"n_iter_": result.n_iter},
                )
            if config.check_convergence:
                sched_state, result.converged = stall.step(
                    stall_metric, schedule, sched_state, config, run.clock.epoch)
            if stop or result.converged:
                break

    if (
        config.check_convergence
        and not result.converged
        and result.n_iter == config.max_iter
        and config.tol is not None
    ):
        warnings.warn(
            f"Maximum number of iterations ({config.max_iter}) reached before "
            "convergence. Consider increasing max_iter to improve the fit.",
            ConvergenceWarning,
        )
    result.state = run.training_state(sched_state)
    if validation is not None and best_params is not None and config.tol is not None:
        # With tol=None nothing stops training early: the last weights stay.
        result.params = best_params
        if result.state.average is None:
            # What follows (partial_fit) continues from the restored weights,
            # the ones the estimator shows.
            result.state = replace(result.state, params=best_params)
    else:
        result.params = run.exposed()
    _check_finite_params(result.params, backend.xp, config, run.clock.epoch)
    if validation is None:
        result.best_validation_score = None
    return result


class _Batches:
    """The mini-batch passes of one :func:`train` call: batch order and
    weights, gathering, dropout noise, gradients into the parameter buffer,
    optimizer steps and the running average, on copies of ``state``."""

    def __init__(self, problem, data, config, state, backend, *, copy_state):
        xp = self.xp = backend.xp
        self.problem, self.config, self.backend, self.state = problem, config, backend, state
        X, y, self.sw, self.sw_host = data
        n = self.n = X.shape[0]
        # Small data with shuffling: batches cut by weight over shuffled
        # groups of identical rows (a weight of k is k repeated rows, exactly).
        self.grouped = (_GroupedOrder(X, y, self.sw_host, config.batch_size)
                        if config.grouped_batches and config.shuffle else None)
        B = max(1, min(config.batch_size, n))
        self.starts = list(range(0, n, B))
        # (start, stop) of each batch; stops stay in bounds (the array API
        # leaves out-of-bounds slices unspecified).
        self.bounds = [(s, min(s + B, n)) for s in self.starts]
        self.fixed_weights = [float(b - a) for a, b in self.bounds]
        n_batches = len(self.starts) if self.grouped is None else self.grouped.n_batches
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
            own = copy_tree if copy_state else (lambda tree, xp: tree)
            self.opt_state = own(state.optimizer_state, xp)
        self.average = None if state.average is None else flat.pack(state.average)
        self.average_count = state.average_count
        self.clock = replace(state.clock)
        self.clock.total_steps = self.clock.step + config.max_iter * n_batches
        self.rng = backend.rng(state.rng_state)
        # Dropout masks are hashed from the rows' keys where the data lives.
        self.keys = device_row_keys(X, backend) if problem.uses_noise else None
        self.take = [_Gather(a, xp) for a in (X, y, self.sw)]
        self.stepper = _Stepper(problem, config,
                                n if self.grouped is None else self.grouped.total, xp)
        self.first_batch = None  # (loss, weight) of the call's first batch
        self.epochs_run = 0

    def _order(self):
        """This epoch's permutation (None: data order), its copy on the device,
        and the batches' weights (Python floats)."""
        backend, xp, sw_host = self.backend, self.xp, self.sw_host
        perm = self.rng.permutation(self.n) if self.config.shuffle else None
        dev_perm = perm
        if isinstance(perm, np.ndarray) and not backend.is_numpy:
            dev_perm = xp.asarray(perm, device=backend.device)
        if sw_host is None:
            weights = self.fixed_weights
        elif perm is None or isinstance(perm, np.ndarray):
            w_sorted = sw_host[perm] if perm is not None else sw_host
            weights = np.add.reduceat(w_sorted, self.starts).tolist()
        else:  # pragma: no cover - GPU only: a permutation drawn on the device
            weights = _device_batch_weights(self.sw, perm, self.starts, self.n, xp)
        return perm, dev_perm, weights

    def _row_batches(self):
        """``(rows, None, n_rows, weight)`` of each batch of this epoch: slices of
        a permutation of the rows (the weights are the rows' own)."""
        perm, dev_perm, weights = self._order()
        for (s, e), bw in zip(self.bounds, weights):
            yield (dev_perm[s:e] if perm is not None else slice(s, e)), None, e - s, bw

    def epoch(self, sched_state):
        """One pass over the data; ``(loss_sum, batch_weights)``, the loss sum
        a device array (no host synchronisation here)."""
        xp, flat, clock, config = self.xp, self.flat, self.clock, self.config
        take_X, take_y, take_sw = self.take
        if self.grouped is not None:
            batches = self.grouped.epoch(self.rng, self.backend)
        else:
            batches = self._row_batches()
        # check_convergence is set for fit, not partial_fit.
        new_fit = config.check_convergence and self.epochs_run == 0
        self.stepper.epoch_samples = 0.0 if new_fit else clock.n_samples_seen
        noise = epoch_noise = None
        if self.keys is not None:
            epoch_noise = RowNoise(self.backend, None, self.state.noise_seed, clock.epoch)
        loss_sum = 0.0
        weights = []
        for idx, sw, size, bw in batches:
            weights.append(bw)
            if epoch_noise is not None:
                noise = epoch_noise.for_rows(_take(self.keys, idx, xp))
            batch_loss, grads = self.problem.loss_grad(
                flat.views, take_X(idx), take_y(idx), take_sw(idx) if sw is None else sw,
                noise=noise, out=self.grad_views,
            )
            flat.fill(self.grad_views, grads)
            loss_sum = loss_sum + batch_loss
            if self.first_batch is None:
                self.first_batch = (batch_loss, bw)
            self.opt_state = self.stepper(flat, self.grads, self.opt_state, sched_state,
                                          clock, rows=size, weight=bw)
            clock.step += 1
            clock.n_samples_seen += bw
            if config.average_start and clock.n_samples_seen >= config.average_start:
                self.average, self.average_count = _update_average(
                    self.average, self.average_count, flat.buffer, xp)
        clock.epoch += 1
        self.epochs_run += 1
        return loss_sum, weights

    def exposed(self):
        """The parameters a fitted model shows: averaged, or the current ones."""
        return self.flat.split(self.average) if self.average is not None else self.flat.views

    def training_state(self, sched_state):
        """What the next ``partial_fit`` or warm start continues from."""
        clock = replace(self.clock, total_steps=None)
        return TrainingState(
            params=self.flat.views,
            optimizer_state=self.opt_state,
            schedule_state=sched_state,
            clock=clock,
            rng_state=self.rng.state(),
            average=None if self.average is None else self.flat.split(self.average),
            average_count=self.average_count,
            noise_seed=self.state.noise_seed,
        )


class _GroupedOrder:
    """Batches cut by sample weight over a shuffled order of groups of
    identical ``(X, y)`` rows.

    The groups (rows hashed as in :func:`validation_split`, in canonical key
    order) are permuted each epoch and laid end to end, each row taking an
    interval as long as its weight; batch ``b`` holds the rows that overlap
    ``[cuts[b], cuts[b + 1])``, each with the overlapping weight. A row of
    weight ``k`` and ``k`` copies of it then fall into the same batches with the
    same total weight, so sample weights mean repeated rows exactly (what
    scikit-learn's ``check_sample_weight_equivalence`` checks), while every
    epoch still takes many shuffled steps. One hash and sort per fit: meant for
    small data (see ``TrainConfig.grouped_batches``).
    """

    def __init__(self, X, y, sw_host, batch_weight):
        n = X.shape[0]
        _, first, self.group = _row_groups(X, y)
        self.n_groups = first.shape[0]
        # Rows grouped, groups in key order (the same for any row order).
        self.by_group = np.argsort(self.group, kind="stable")
        self.w = np.ones(n) if sw_host is None else np.asarray(sw_host, dtype=np.float64)
        self.total = float(self.w.sum())
        self.n_batches = max(1, math.ceil(self.total / max(batch_weight, 1)))
        cuts = np.round(np.arange(self.n_batches + 1) * (self.total / self.n_batches))
        cuts[-1] = self.total
        self.cuts = np.minimum(cuts, self.total)

    def epoch(self, rng, backend):
        """``(rows, weights, n_rows, batch_weight)`` of each batch of an epoch;
        rows and weights are sent to the device once per epoch."""
        perm = np.asarray(to_numpy(rng.permutation(self.n_groups)))
        rank = np.empty(self.n_groups, dtype=np.intp)
        rank[perm] = np.arange(self.n_groups)
        order = self.by_group[np.argsort(rank[self.group[self.by_group]], kind="stable")]
        w = self.w[order]
        end = np.cumsum(w)
        start = end - w
        cuts = self.cuts.copy()
        cuts[-1] = max(cuts[-1], end[-1])  # the running sum may round above the total
        top = self.n_batches - 1
        first = np.minimum(np.searchsorted(cuts, start, side="right") - 1, top)
        last = np.clip(np.searchsorted(cuts, end, side="left") - 1, first, top)
        counts = last - first + 1
        # A row spanning several batches appears in each of them.
        batch = np.repeat(first, counts) + (
            np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
        overlap = (np.minimum(np.repeat(end, counts), cuts[batch + 1])
                   - np.maximum(np.repeat(start, counts), cuts[batch]))
        keep = overlap > 0
        rows, batch, overlap = np.repeat(order, counts)[keep], batch[keep], overlap[keep]
        offsets = np.searchsorted(batch, np.arange(self.n_batches + 1))
        dev_w = backend.asarray(overlap)
        dev_rows = rows if backend.is_numpy else backend.xp.asarray(rows,
                                                                   device=backend.device)
        sizes = np.diff(cuts)
        for b in range(self.n_batches):
            a, e = int(offsets[b]), int(offsets[b + 1])
            if e > a:
                yield dev_rows[a:e], dev_w[a:e], float(sizes[b]), float(sizes[b])


def _device_batch_weights(sw, perm, starts, n, xp):
    """Per-batch weight sums for a device permutation: one transfer per epoch."""
    cumulative = xp.cumulative_sum(xp.take(sw, perm))
    ends = xp.asarray([min(s, n) - 1 for s in starts[1:]] + [n - 1], device=perm.device)
    totals = to_numpy(xp.take(cumulative, ends)).astype(np.float64)
    return np.diff(np.concatenate(([0.0], totals))).tolist()


def _update_average(average, count, params, xp):
    """Polyak-Ruppert running mean of the iterates (averaged SGD), on the
    parameter buffer."""
    if average is None:
        return xp.asarray(params, copy=True), 1
    count += 1
    average += (params - average) / count
    return average, count


def _print_epoch(report):
    line = f"Epoch {report.epoch}, loss = {report.loss:.8f}"
    if report.score is not None:
        line += f", validation score = {report.score:.6f}"
    print(line)


def train_lbfgs(problem, data, *, config, state, backend, max_fun, callback_ctx=None,
                estimator=None, callback_y=None):
    """Full-batch L-BFGS-B (SciPy) on the same problem; a :class:`FitResult`.

    The objective is the weighted mean loss plus the smooth penalty, with the
    penalty scaled as in :func:`train`. One callback task per L-BFGS iteration;
    a callback that asks to stop ends the run (``StopIteration``).
    """
    from scipy.optimize import minimize

    xp = backend.xp
    X, y, sw, sw_host = data
    y_cb = y if callback_y is None else callback_y
    metadata = None if sw is None else {"sample_weight": sw}
    n_weight = float(X.shape[0] if sw_host is None else sw_host.sum())
    penalty, penalized = config.penalty, list(problem.penalized)
    pscale = 1.0 / n_weight if problem.penalty_per_sample else 1.0
    shapes = [tuple(p.shape) for p in state.params]
    sizes = [math.prod(s) for s in shapes]
    bounds = np.cumsum([0] + sizes)

    def unpack(theta):
        return [backend.asarray(theta[a:b].reshape(s))
                for a, b, s in zip(bounds[:-1], bounds[1:], shapes)]

    def fun(theta):
        params = unpack(theta)
        loss_sum, grads = problem.loss_grad(params, X, y, sw, noise=None)
        penalty.add_grad(grads, params, penalized, pscale)
        loss = float(loss_sum) / n_weight
        if penalty.active:
            loss += pscale * float(penalty.value(params, penalized, xp=xp))
        flat = np.concatenate([np.asarray(to_numpy(g), dtype=np.float64).ravel()
                               for g in grads])
        return loss, flat

    result = FitResult(state=None, params=None, n_iter=0)
    theta0 = np.concatenate([np.asarray(to_numpy(p), dtype=np.float64).ravel()
                             for p in state.params])
    ctx_holder = {}

    def begin_iteration():
        if callback_ctx is not None:
            ctx_holder["ctx"] = callback_ctx.subcontext(task_name="lbfgs-iter")
            ctx_holder["ctx"].call_on_fit_task_begin(estimator=estimator, X=X, y=y_cb,
                                                     metadata=metadata)
            ctx_holder["open"] = True

    def callback(intermediate_result):
        result.n_iter += 1
        result.loss_curve.append(float(intermediate_result.fun))
        if config.verbose:
            print(f"Iteration {result.n_iter}, loss = {float(intermediate_result.fun):.8f}")
        if callback_ctx is not None:
            params = unpack(intermediate_result.x)
            stop = ctx_holder["ctx"].call_on_fit_task_end(
                estimator=estimator, X=X, y=y_cb, metadata=metadata,
                reconstruction_attributes=lambda: problem.fitted_attributes(params)
                | {"n_iter_": result.n_iter},
            )
            ctx_holder["open"] = False
            if stop:
                raise StopIteration
            begin_iteration()

    begin_iteration()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        opt = minimize(
            fun, theta0, method="L-BFGS-B", jac=True,
            options={"maxfun": max_fun, "maxiter": config.max_iter, "gtol": config.tol},
            callback=callback,
        )
    if ctx_holder.get("open"):
        # SciPy never ran the iteration begun last: end it as an empty task.
        ctx_holder["ctx"].call_on_fit_task_end(estimator=estimator)
    if not math.isfinite(opt.fun) or not np.all(np.isfinite(opt.x)):
        raise DivergenceError(
            f"L-BFGS diverged (loss is {opt.fun}). Scale the data (StandardScaler), "
            f"check alpha (now {config.alpha}) and the scale of sample_weight."
        )
    result.n_iter = int(opt.nit)
    result.converged = opt.status == 0
    if opt.status == 1:
        warnings.warn(
            f"lbfgs failed to converge after {opt.nit} iterations ({opt.message}). "
            "Increase max_iter or max_fun, or scale the data.",
            ConvergenceWarning,
        )
    params = unpack(opt.x)
    result.loss_curve = result.loss_curve or [float(opt.fun)]
    result.best_loss = float(opt.fun)
    result.best_validation_score = None
    result.params = params
    result.state = replace(state, params=params)
    return result
