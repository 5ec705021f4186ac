"""What every skoptim estimator shares around the engine: data preparation,
state hand-over for ``partial_fit``/``warm_start``, callbacks and the atomic
commit of a finished fit."""

# SPDX-License-Identifier: BSD-3-Clause

import functools
import math
import numbers
from dataclasses import replace

import numpy as np
import scipy.sparse as sp
from sklearn.callback import CallbackSupportMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import _is_fitted

from skoptim._backend import check_device, is_sparse, resolve_backend, to_numpy
from skoptim._tree import move_tree
from skoptim.engine import (
    Callbacks,
    TrainConfig,
    TrainingState,
    take,
    train,
    train_lbfgs,
    validation_split,
)
from skoptim._penalties import Penalty
from skoptim._validation import CachedParamNames, check_sample_weight
from skoptim.optim import Clock

def atomic(method):
    """Restore the estimator's attributes if ``method`` raises (any exception,
    KeyboardInterrupt included), so a failed fit leaves a fitted model as it was.

    It wraps scikit-learn's ``_fit_context`` (whose ``finally`` block tears the
    callbacks down, and may raise there, after the fit itself returned), so a
    failure anywhere, a callback's ``teardown`` included, rolls back the
    whole call. Fitted arrays are never modified in place (the engine trains
    on copies), so restoring the attribute dictionary restores the model.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        saved = dict(self.__dict__)
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    return wrapper


def _draw_seed(random_state):
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


_int_stream_seed = functools.lru_cache(maxsize=1024)(_draw_seed)


def stream_seed(random_state):
    """The seed of a fit's random stream: ``check_random_state(random_state)
    .randint(2**31 - 1)``, remembered for an int (seeding NumPy's legacy
    generator to draw it costs about 70 us a fit)."""
    if isinstance(random_state, numbers.Integral):
        return _int_stream_seed(int(random_state))
    return _draw_seed(random_state)


class EngineEstimatorMixin(CachedParamNames, CallbackSupportMixin):
    """Runs the shared engine for an estimator that supplies its model.

    The hooks a fit calls, in the order of its stages (the linear and MLP
    mixins implement the model's, the classifier and regressor mixins of
    :mod:`skoptim.heads` the task's; the engine's own hooks are those of
    :class:`skoptim.engine.Problem`):

    prepare
        ``_check_train_data`` (validated arrays, encoded targets, labels),
        ``_adjust_sample_weight`` (class weights), ``_callback_target``,
        ``_stratify_validation`` and ``_min_validation_rows`` (the split).
    plan
        ``_resolve_optimizer`` (None: full-batch L-BFGS), ``_make_problem``,
        ``_resolve_schedule``, ``_init_params`` or ``_exposed_params`` (the
        start), ``_start_clock``, ``_batching``/``_auto_batch_size``,
        ``_train_config_extra``, ``_lr_param``, ``_max_iter_message`` and
        ``_report_epoch`` (verbose lines).
    commit
        ``_commit`` (the counterpart's fitted attributes beyond the weights,
        which this mixin writes), and ``_weight_attributes`` (the names of
        the weights, to continue from).
    """

    _lr_param = "learning_rate_init"
    _max_iter_message = TrainConfig.max_iter_message
    _min_validation_rows = 1  # distinct rows an early-stopping split holds out

    def _check_shared_params(self, *, partial):
        """The checks every estimator's ``_check_params`` starts with."""
        # scikit-learn's _fit_context has validated the parameters, except in
        # partial_fit once fitted: parameters set since then are checked here
        # (inside the context, which sets skip_parameter_validation itself).
        if partial and _is_fitted(self):
            self._validate_params()
        check_device(self.device)
        self._resolve_optimizer()

    def _fit_engine(self, X, y, sample_weight=None, *, incremental, X_val=None,
                    y_val=None, sample_weight_val=None, init=None, classes=None):
        """Fit in four stages: prepare the data, plan the starting state, train,
        commit. What carries over follows scikit-learn's rules:

        - the *weights* continue from the exposed attributes (``coef_`` ...,
          user-assigned ones included) on ``partial_fit`` and warm starts;
        - the *training state* (optimizer moments, the schedule's position, the
          random stream, the averaged iterate) carries over on ``partial_fit``
          only; a warm-start ``fit`` is a new fit from the exposed weights.
        """
        backend = resolve_backend(X, device=self.device)
        continuing = init is None and self._is_fitted() and (incremental or self.warm_start)
        optimizer = self._resolve_optimizer()
        data, validation = self._prepare(
            X, y, sample_weight, X_val, y_val, sample_weight_val, backend=backend,
            continuing=continuing, incremental=incremental, classes=classes,
            lbfgs=optimizer is None)
        problem, config, state, carried = self._plan(
            data, backend=backend, optimizer=optimizer, init=init, continuing=continuing,
            incremental=incremental)
        result, callbacks = self._train(problem, data, validation, config, state,
                                        backend=backend, sample_weight=sample_weight,
                                        copy_state=carried is not None)
        # Fitted attributes live in the namespace of the X given to fit, even
        # when training ran elsewhere (device='cuda' with NumPy input).
        output = backend if self.device == "auto" else resolve_backend(X, device="auto")
        return self._commit_fit(result, problem, config, callbacks, backend=backend,
                                output=output, continuing=continuing,
                                incremental=incremental)

    def _prepare(self, X, y, sample_weight, X_val, y_val, sample_weight_val, *, backend,
                 continuing, incremental, classes, lbfgs):
        """``((X, y, sw, sw_host), validation)``: validated training arrays,
        encoded targets and weights (rows of weight 0 left out, the validation
        rows held out), and the early-stopping set (or None)."""
        X, y = self._check_train_data(X, y, reset=not continuing, backend=backend,
                                      classes=classes, incremental=incremental)
        sw = check_sample_weight(sample_weight, X, backend.dtype)
        sw = self._adjust_sample_weight(y, sw, backend, incremental=incremental)
        X, y, sw = _drop_zero_weight(X, y, sw)
        validation, (X, y, sw) = self._validation_data(
            X, y, sw, X_val, y_val, sample_weight_val, backend=backend,
            incremental=incremental, lbfgs=lbfgs)
        sw_host = None if sw is None else np.asarray(to_numpy(sw), dtype=np.float64)
        return (X, y, sw, sw_host), validation

    def _plan(self, data, *, backend, optimizer, init, continuing, incremental):
        """``(problem, config, state, carried)``: what is trained, how, from
        where, and the training state carried over (or None)."""
        X, y, sw, sw_host = data
        problem = self._make_problem(X, y, sw, backend)
        schedule = self._resolve_schedule(problem)
        carried = getattr(self, "_training_state", None) if incremental and continuing \
            else None
        state = self._plan_state(problem, backend, optimizer, schedule, init=init,
                                 continuing=continuing, carried=carried)
        max_iter = 1 if incremental else self.max_iter
        total_weight = float(X.shape[0] if sw_host is None else sw_host.sum())
        if not math.isfinite(total_weight * max_iter):
            raise ValueError(
                f"sample_weight is too large: its sum over max_iter={max_iter} epochs "
                "overflows; divide the weights by a constant (only their ratios matter)."
            )
        batch_size, grouped = self._batching(X.shape[0], total_weight, problem, optimizer)
        config = TrainConfig(
            optimizer=optimizer,
            schedule=schedule,
            base_lr=self._base_lr(),
            lr_name=self._lr_param,
            penalty=Penalty.from_params(self.penalty, self.alpha, self.l1_ratio),
            max_iter=max_iter,
            batch_size=batch_size,
            grouped_batches=grouped,
            shuffle=self.shuffle,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            check_convergence=not incremental,
            verbose=self.verbose,
            report=self._report_epoch,
            alpha=float(self.alpha),
            max_iter_message=self._max_iter_message,
            **self._train_config_extra(),
        )
        return problem, config, state, carried

    def _train(self, problem, data, validation, config, state, *, backend, sample_weight,
               copy_state):
        """Run the engine inside the fit's callback task; ``(result, callbacks)``."""
        X, y, sw, _ = data
        lbfgs = config.optimizer is None
        ctx = self._init_callback_context(max_subtasks=config.max_iter + lbfgs)
        metadata = {"sample_weight": sample_weight} if sample_weight is not None else None
        callbacks = Callbacks(ctx, self, X, self._callback_target(y), sw,
                              fit_metadata=metadata)
        ctx.call_on_fit_task_begin(estimator=self, X=X, y=callbacks.y, metadata=metadata)
        if lbfgs:
            result = train_lbfgs(problem, data, config=config, state=state,
                                 backend=backend, max_fun=self.max_fun,
                                 callbacks=callbacks)
        else:
            result = train(problem, data, validation=validation, config=config,
                           state=state, backend=backend, callbacks=callbacks,
                           copy_state=copy_state)
        return result, callbacks

    def _commit_fit(self, result, problem, config, callbacks, *, backend, output,
                    continuing, incremental):
        """End the fit's callback task and write the estimator's attributes:
        the only place where a fit changes the estimator."""
        attributes = problem.fitted_attributes(result.params)
        training_state = result.state
        if output != backend:
            # Everything the estimator keeps lives where its fit input lives,
            # the training state included (a device='cuda' fit of NumPy data
            # pickles without CuPy arrays).
            attributes = move_tree(attributes, output)
            training_state = move_tree(training_state, output)
        callbacks.ctx.call_on_fit_task_end(
            estimator=self, X=callbacks.X, y=callbacks.y, metadata=callbacks.fit_metadata,
            reconstruction_attributes=attributes)
        self.solver_ = config.optimizer
        self.learning_rate_ = config.schedule
        self.batch_size_ = config.batch_size
        self._training_state = training_state
        self.__dict__.pop("_exact_standard", None)  # the exact mode's, now stale
        for name, value in attributes.items():
            setattr(self, name, value)
        self._commit(result, continuing=continuing, incremental=incremental)
        return self

    def _is_fitted(self):
        """Whether the estimator shows weights to continue from."""
        return all(hasattr(self, name) for name in self._weight_attributes)

    def _validation_data(self, X, y, sw, X_val, y_val, sample_weight_val, *, backend,
                         incremental, lbfgs):
        """``(validation, (X, y, sw))``: the early-stopping set (None without
        early stopping) and the rows left for training."""
        if X_val is not None or y_val is not None:
            if lbfgs:
                raise ValueError(
                    "X_val and y_val are used for early stopping, which solver='lbfgs' "
                    "does not do (it trains on all the data); use a stochastic solver."
                )
            if not self.early_stopping or incremental:
                raise ValueError(
                    "X_val and y_val are used for early stopping only; set "
                    "early_stopping=True (and call fit, not partial_fit)."
                )
            if X_val is None or y_val is None:
                raise ValueError("Pass both X_val and y_val, or neither.")
            Xv, yv = self._check_train_data(X_val, y_val, reset=False, backend=backend,
                                            classes=None, incremental=True,
                                            validation=True)
            if tuple(yv.shape[1:]) != tuple(y.shape[1:]):
                raise ValueError(
                    f"y_val has {yv.shape[1]} target columns once encoded, but y has "
                    f"{y.shape[1]}: pass y_val with the targets (or labels) of y."
                )
            swv = check_sample_weight(sample_weight_val, Xv, backend.dtype)
            return (Xv, yv, swv), (X, y, sw)
        if not self.early_stopping or incremental or lbfgs:
            # partial_fit trains one pass on all the rows it is given; L-BFGS
            # ignores early stopping, as scikit-learn documents.
            return None, (X, y, sw)
        tr, va = validation_split(
            X, y, sw, fraction=self.validation_fraction,
            stratify=self._stratify_validation, random_state=self._split_seed(),
            xp=backend.xp, min_val=self._min_validation_rows,
        )
        if not backend.is_numpy:
            tr = backend.xp.asarray(tr, device=backend.device)
            va = backend.xp.asarray(va, device=backend.device)
        return (take(X, va), take(y, va), take(sw, va)), (
            take(X, tr), take(y, tr), take(sw, tr))

    def _plan_state(self, problem, backend, optimizer, schedule, *, init, continuing,
                    carried):
        """The training state to start from (never an array the estimator holds
        that the engine could write into)."""
        if continuing:
            params = self._exposed_params(problem, backend)
        else:
            params = None
        if carried is not None:
            return self._continue_state(move_tree(carried, backend), params, optimizer,
                                        schedule)
        rng = backend.rng(stream_seed(self.random_state))
        if params is None:
            params = self._init_params(problem, backend, rng, init)
        state = TrainingState(
            params=params,
            optimizer_state=None,  # the engine creates it for its layout
            schedule_state=schedule.init(),
            clock=self._start_clock(continuing),
            rng_state=None,
            noise_seed=rng.seed(),
        )
        state.rng_state = rng.state()
        return state

    def _continue_state(self, state, params, optimizer, schedule):
        """The carried training state for the exposed ``params``: whatever no
        longer fits the current hyperparameters starts afresh, never stale."""
        same_layout = [tuple(p.shape) for p in params] == [
            tuple(p.shape) for p in state.params]
        averaging = self._train_config_extra().get("average_start", 0.0) > 0
        if state.average is not None and (
                not averaging or not same_layout or not _same_values(params, state.average)):
            # Averaging switched off, or the weights were assigned: continue
            # from the weights shown, averaging anew.
            state = replace(state, average=None, average_count=0)
        elif state.average is not None:
            params = state.params  # the plain iterate behind the average
        state = replace(state, params=params)
        if not (same_layout and _same_object(optimizer, self.solver_)):
            # Another optimizer, other options or another parameter layout
            # (fit_intercept): a fresh optimizer state, the weights kept.
            state = replace(state, optimizer_state=None)
        if not same_layout:
            state = replace(state, l1_state=None)
        if not _same_object(schedule, self.learning_rate_):
            state = replace(state, schedule_state=schedule.init())
        return state

    def _exposed_params(self, problem, backend):
        """The parameters that the exposed attributes stand for, in ``backend``."""
        attributes = {name: getattr(self, name) for name in self._weight_attributes}
        params = problem.model.params_from_attributes(attributes)
        return [backend.asarray(p if hasattr(p, "shape") else np.asarray(p))
                for p in params]

    def _start_clock(self, continuing):
        """The counters a new fit starts from (scikit-learn's SGD resets ``t_``)."""
        return Clock()

    def _report_epoch(self, report):
        """Print the verbose lines of one epoch (an :class:`EpochReport`)."""
        line = f"Epoch {report.epoch}, loss = {report.loss:.8f}"
        if report.score is not None:
            line += f", validation score = {report.score:.6f}"
        print(line)

    def _base_lr(self):
        return float(getattr(self, self._lr_param))

    def _split_seed(self):
        rs = self.random_state
        return rs if isinstance(rs, (int, np.integer)) else check_random_state(rs).randint(
            np.iinfo(np.int32).max)

    def _batching(self, n_samples, total_weight, problem, optimizer):
        """``(batch_size, grouped)``: the batch size, and whether batches are
        cut by weight over groups of identical rows (``TrainConfig``)."""
        return self._batch_size(n_samples, problem, optimizer), False

    def _batch_size(self, n_samples, problem, optimizer):
        if self.batch_size == "auto":
            return min(self._auto_batch_size(n_samples, problem, optimizer), n_samples)
        return min(int(self.batch_size), n_samples)

    def _train_config_extra(self):
        return {}

    def _callback_target(self, y):
        """The targets shown to callbacks, in the user's encoding."""
        return y

    def _adjust_sample_weight(self, y, sample_weight, backend, *, incremental):
        """Fold per-class weights into the sample weights (classifiers)."""
        return sample_weight


def _drop_zero_weight(X, y, sw):
    """Remove rows of zero weight: they change nothing but the batching."""
    if sw is None:
        return X, y, sw
    sw_host = to_numpy(sw)
    if np.all(sw_host > 0):
        return X, y, sw
    keep = np.flatnonzero(sw_host > 0)
    if keep.size == 0:
        raise ValueError(
            "No sample has a positive weight: sample_weight and class_weight give "
            "every row of this call a weight of 0."
        )
    if not (sp.issparse(X) or isinstance(X, np.ndarray)):
        from array_api_compat import array_namespace, device

        ref = X if not is_sparse(X) else X.data  # CuPy sparse: index with CuPy
        keep = array_namespace(ref).asarray(keep, device=device(ref))
    return take(X, keep), take(y, keep), take(sw, keep)


def _same_object(a, b):
    """Same class and hyperparameters (optimizers, schedules; None for L-BFGS)."""
    if a is None or b is None or isinstance(a, str) or isinstance(b, str):
        return a is b or a == b
    return type(a) is type(b) and a.get_params(deep=False) == b.get_params(deep=False)


def _same_values(a, b):
    """Whether two parameter lists hold equal values (one host sync each)."""
    from array_api_compat import array_namespace

    for u, v in zip(a, b, strict=True):
        if tuple(u.shape) != tuple(v.shape):
            return False
        xp = array_namespace(u)
        if not bool(xp.all(u == v)):
            return False
    return True


def finite_or_none(value):
    return None if value is None or not math.isfinite(value) else value
