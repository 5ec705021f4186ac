"""What the SGD estimators share: the linear model on the engine, scikit-learn's
per-sample learning rates taken a batch at a time, batch sizes, the exact
per-sample mode and the prediction preamble."""

# SPDX-License-Identifier: BSD-3-Clause

import math
import numbers
import warnings
from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skoptim._backend import resolve_backend, to_numpy
from skoptim._base import EngineEstimatorMixin, finite_or_none
from skoptim._kernels import matmul, transpose
from skoptim._penalties import Penalty
from skoptim._validation import check_same_namespace, check_sample_weight, check_X
from skoptim.engine import Callbacks
from skoptim.linear_model._exact import fit_exact
from skoptim.models import LinearModel, LinearProblem
from skoptim.optim import Constant, Optimizer, Schedule, resolve_optimizer, resolve_schedule
from skoptim.optim._schedules import Optimal, optimal_t0

_AUTO_BATCH = 256
_MIN_STEPS = 32  # updates per epoch at least, with batch_size='auto'
_MIN_STEPS_ADAPTIVE = 16  # the same for the adaptive solvers ('adam', ...)
_WIDE_SPARSE_BATCH = 16  # batch_size='auto' on wide sparse data (lazy fused steps)
# Up to this total sample weight, shuffled batches are cut by weight over
# groups of identical rows (exact sample-weight equivalence, one hash per fit).
_GROUPED_MAX_WEIGHT = 8192
PA_RATES = ("pa1", "pa2")
# scikit-learn's own schedules: with batch_size=1 and solver='sgd' they run the
# exact per-sample mode.
# What the linear Plus estimators add to their counterpart's constraints.
PLUS_CONSTRAINTS = {
    # Names are checked when resolved: the error suggests the closest one.
    "learning_rate": [str, Schedule],
    "solver": [str, Optimizer],
    "batch_size": [Interval(numbers.Integral, 1, None, closed="left"),
                   StrOptions({"auto"})],
    "dropout": [Interval(numbers.Real, 0.0, 1.0, closed="left")],
    "device": [str],
}
EXACT_RATES = ("constant", "optimal", "invscaling", "adaptive", *PA_RATES)


class LinearMixin(EngineEstimatorMixin):
    """A linear model ``X @ coef_.T + intercept_`` trained on the engine.

    Subclasses give ``_make_head(backend, y)`` (the task; with None for both
    it only needs to know its loss), ``_coef_1d`` (whether ``coef_`` is 1-D),
    ``_pa_loss`` (the loss that ``'pa1'``/``'pa2'`` need) and, for the exact
    mode, ``_exact_jobs`` (the keyword arguments of each per-sample problem,
    and a context for ``_exact_weights``).
    """

    _lr_param = "eta0"
    _max_iter_message = ("Maximum number of iteration reached before convergence. "
                         "Consider increasing max_iter to improve the fit (now "
                         "max_iter={max_iter}).")
    _weight_attributes = ("coef_", "intercept_")
    _broadcast_intercept = True  # one intercept_init value for every output

    # -- parameter checks -------------------------------------------------
    def _check_params(self, *, partial=False):
        self._check_shared_params(partial=partial)
        lr = self.learning_rate
        pa = isinstance(lr, str) and lr in PA_RATES
        if not pa:
            resolve_schedule(lr, also_valid=PA_RATES)
        optimal_alpha = None
        if isinstance(lr, str) and lr == "optimal":
            optimal_alpha = self.alpha
        elif isinstance(lr, Optimal):
            optimal_alpha = self.alpha if lr.alpha is None else lr.alpha
        if optimal_alpha == 0:
            raise ValueError(
                "alpha must be > 0 since learning_rate is 'optimal'. alpha is used "
                "to compute the optimal learning rate."
            )
        if self.penalty == "elasticnet" and self.l1_ratio is None:
            raise ValueError("l1_ratio must be set when penalty is 'elasticnet'")
        if self.power_t < 0:
            warnings.warn(
                "Negative values for `power_t` are deprecated in version 1.8 "
                "and will raise an error in 1.10. "
                "Use values in the range [0.0, inf) instead.",
                FutureWarning,
            )
        if pa:
            if self.loss != self._pa_loss:
                raise ValueError(
                    f"Learning rate '{lr}' only works with loss '{self._pa_loss}'."
                )
            if self.solver != "sgd":
                raise ValueError(
                    f"Learning rate '{lr}' is a per-sample step rule of plain SGD; it "
                    f"needs solver='sgd', got solver={self.solver!r}."
                )

    def _exact_mode(self, X):
        """Whether this fit replays scikit-learn's per-sample algorithm."""
        return (self.batch_size == 1 and isinstance(self.solver, str)
                and self.solver == "sgd" and isinstance(self.learning_rate, str)
                and self.learning_rate in EXACT_RATES and self.dropout == 0
                and self.device in ("auto", "cpu")
                and (sp.issparse(X) or resolve_backend(X, device="auto").is_numpy))

    def _fit(self, X, y, coef_init, intercept_init, sample_weight, X_val, y_val,
             sample_weight_val):
        self._check_params()
        init = None
        if coef_init is not None or intercept_init is not None:
            init = (coef_init, intercept_init)
            self.__dict__.pop("_training_state", None)
        if self._exact_mode(X) and X_val is None:
            return self._fit_exact(X, y, sample_weight, incremental=False, init=init)
        return self._fit_engine(X, y, sample_weight, incremental=False, X_val=X_val,
                                y_val=y_val, sample_weight_val=sample_weight_val,
                                init=init)

    def _partial_fit(self, X, y, sample_weight, classes=None):
        # The caller has run _check_params(partial=True).
        if self._exact_mode(X):
            return self._fit_exact(X, y, sample_weight, incremental=True,
                                   classes=classes)
        return self._fit_engine(X, y, sample_weight, incremental=True, classes=classes)

    def _fit_exact(self, X, y, sample_weight, *, incremental, init=None, classes=None):
        """Fit with :func:`~skoptim.linear_model._exact.fit_exact`, one binary
        problem or target at a time (``_exact_jobs``), reporting each epoch to
        the callbacks; commit once."""
        backend = resolve_backend(X, device="cpu")
        continuing = init is None and self._is_fitted() and (incremental or self.warm_start)
        X, Y = self._check_train_data(X, y, reset=not continuing, backend=backend,
                                      classes=classes, incremental=incremental)
        # scikit-learn's early-stopping split names all-zero weights itself.
        sw = check_sample_weight(sample_weight, X, backend.dtype,
                                 allow_all_zero=self.early_stopping and not incremental)
        coefs, intercepts = self._exact_start(X, Y, backend, init=init,
                                              continuing=continuing)
        # A warm-start fit starts averaging anew from the exposed weights;
        # partial_fit continues the averaged state, as scikit-learn does.
        standard = (getattr(self, "_exact_standard", None) if continuing and incremental
                    else None)
        t = float(self.t_) if incremental and continuing else 1.0
        params = self.get_params()
        if incremental:
            params["early_stopping"] = False  # partial_fit holds nothing out
        jobs, context = self._exact_jobs(X, Y, sw, params, incremental=incremental,
                                         standard=standard, intercepts=intercepts)
        max_iter = 1 if incremental else self.max_iter
        callbacks = Callbacks(self._init_callback_context(
            max_subtasks=(max_iter + 1) * len(jobs)), self, X, self._callback_target(Y), sw)
        callbacks.ctx.call_on_fit_task_begin(estimator=self, X=X, y=callbacks.y,
                                             metadata=callbacks.metadata)
        results, restored = [], False
        for j, job in enumerate(jobs):
            job.setdefault("standard", None if standard is None else standard[j])
            result, best = self._run_exact(params, X, sw, job, callbacks, coef=coefs[j],
                                           intercept=intercepts[j:j + 1], t=t,
                                           max_iter=max_iter, incremental=incremental)
            if (params["early_stopping"] and self.tol is not None and best is not None
                    and self._exact_restores(len(jobs))):
                result.coef, result.intercept = best
                restored = True
            results.append(result)
        t_end = self._exact_t(results, t_start=t, n_samples=X.shape[0])
        coef, intercept, state = self._exact_weights(results, X, t_end, context)
        if not self.fit_intercept:
            intercept = np.zeros_like(intercept)
        attributes = {"coef_": coef.ravel() if self._coef_1d else coef,
                      "intercept_": intercept}
        callbacks.ctx.call_on_fit_task_end(estimator=self, X=X, y=callbacks.y,
                                           metadata=callbacks.metadata,
                                           reconstruction_attributes=attributes)
        self._commit_exact(results, attributes, t_end, state, restored=restored,
                           incremental=incremental,
                           early_stopping=params["early_stopping"])
        return self

    def _exact_start(self, X, Y, backend, *, init, continuing):
        """``(coefs, intercepts)`` of shapes ``(k, d)`` and ``(k,)`` to start from:
        the exposed weights when continuing, else zeros or ``init``."""
        k, d = Y.shape[1], X.shape[1]
        model = LinearModel(n_features=d, n_outputs=k, fit_intercept=self.fit_intercept,
                            dropout=0.0, backend=backend,
                            broadcast_intercept=self._broadcast_intercept)
        if continuing:
            attributes = {name: getattr(self, name) for name in self._weight_attributes}
            start = model.params_from_attributes(attributes)
        else:
            start = model.init_params(None, init)
        coefs = np.asarray(start[0]).T.reshape(k, d)
        intercepts = np.asarray(start[1]).reshape(k) if self.fit_intercept else np.zeros(k)
        return coefs, intercepts

    def _run_exact(self, params, X, sw, job, callbacks, **kwargs):
        """One problem's :func:`fit_exact`, an epoch per callback task;
        ``(result, best)``, ``best`` the best validation epoch's weights."""
        best = {"score": -math.inf, "weights": None}

        def on_epoch_end(epoch, coef, intercept, score):
            if score is not None and score >= best["score"]:
                best["score"], best["weights"] = score, (coef, intercept)
            stop = callbacks.end(lambda: {"coef_": coef, "intercept_": intercept,
                                          "n_iter_": epoch + 1})
            callbacks.begin()
            return stop

        callbacks.begin()
        job = dict(job)
        result = fit_exact(params, X, job.pop("y"), sw, on_epoch_end=on_epoch_end,
                           **job, **kwargs)
        callbacks.end_unused()  # the epoch begun after the last one
        return result, best["weights"]

    def _exact_restores(self, n_problems):
        """Whether early stopping restores each problem's best epoch (targets
        are independent; one-vs-rest classes are not: see the classifier)."""
        return True

    def _exact_weights(self, results, X, t, context):
        """``(coef, intercept, state)``: the exposed weights, of shapes ``(k, d)``
        and ``(k,)`` in X's dtype, from the problems' results (``t`` is the
        ``t_`` after the call; ``context`` what ``_exact_jobs`` returned), and
        private attributes the next call reads."""
        coef = np.stack([r.coef for r in results]).astype(X.dtype, copy=False)
        intercept = np.concatenate([np.asarray(r.intercept).reshape(1) for r in results])
        return coef, intercept.astype(X.dtype, copy=False), {}

    def _commit_exact(self, results, attributes, t, state, *, restored, incremental,
                      early_stopping):
        """The only place where an exact-mode fit changes the estimator."""
        for name, value in {**attributes, **state}.items():
            setattr(self, name, value)
        self.__dict__.pop("_training_state", None)  # the engine's, now stale
        if not state:
            self.__dict__.pop("_exact_intercepts", None)
        self._exact_standard = (None if restored or results[0].standard is None
                                else [r.standard for r in results])
        self.solver_ = resolve_optimizer("sgd")
        self.learning_rate_ = self._resolve_schedule(
            SimpleNamespace(head=self._make_head(None, None)))
        self.batch_size_ = 1
        self.n_iter_ = max(r.n_iter for r in results)
        self.t_ = t
        self.loss_curve_ = _mean_curve([r.loss_curve for r in results], self.n_iter_)
        self.loss_ = self.loss_curve_[-1]
        if incremental and hasattr(self, "validation_scores_"):
            return
        if early_stopping:
            self.validation_scores_ = _mean_curve(
                [r.validation_scores for r in results], self.n_iter_)
            self.best_validation_score_ = finite_or_none(max(self.validation_scores_))
            self.best_loss_ = None
        else:
            self.validation_scores_ = self.best_validation_score_ = None
            self.best_loss_ = min(self.loss_curve_)

    def _exact_t(self, results, *, t_start, n_samples):
        """scikit-learn's ``t_`` after the call."""
        return results[0].t

    # -- what the engine trains -------------------------------------------
    @property
    def _pa(self):
        lr = self.learning_rate
        return lr if isinstance(lr, str) and lr in PA_RATES else None

    def _make_problem(self, X, y, sw, backend):
        head = self._make_head(backend, y)
        model = LinearModel(n_features=self.n_features_in_, n_outputs=y.shape[1],
                            fit_intercept=self.fit_intercept, dropout=self.dropout,
                            backend=backend, coef_1d=self._coef_1d,
                            broadcast_intercept=self._broadcast_intercept)
        l2 = Penalty.from_params(self.penalty, self.alpha, self.l1_ratio).l2
        # Piecewise-linear losses (curvature 0) take the squared loss's bound.
        curvature = (head.curvature or 1.0) * getattr(head, "weight_max", 1.0)
        model.measure_curvature(X, sw, l2=l2, loss_curvature=curvature)
        return LinearProblem(model, head, pa=self._pa, pa_C=self.eta0)

    def _init_params(self, problem, backend, rng, init):
        return problem.model.init_params(rng, init)

    def _n_fitted_outputs(self):
        if not hasattr(self, "coef_"):
            return None
        return 1 if self.coef_.ndim == 1 else self.coef_.shape[0]

    def _resolve_optimizer(self):
        return resolve_optimizer(self.solver)

    def _resolve_schedule(self, problem):
        if self._pa is not None:
            return Constant()
        schedule = resolve_schedule(self.learning_rate, power_t=self.power_t)
        if isinstance(schedule, Optimal):
            alpha = schedule.alpha if schedule.alpha is not None else self.alpha
            t0 = schedule.t0 if schedule.t0 is not None else optimal_t0(
                alpha, problem.head.dloss)
            schedule.set_params(alpha=alpha, t0=t0)
        return schedule

    def _train_config_extra(self):
        avg = self.average
        start = 0.0 if avg is False or avg == 0 else (1.0 if avg is True else float(avg))
        return {"average_start": start}

    def _batching(self, n_samples, total_weight, problem, optimizer):
        # Small data, shuffled: batches in weight units over groups of identical
        # rows, so that a weight of k means k repeated rows exactly.
        if self.shuffle and total_weight <= _GROUPED_MAX_WEIGHT:
            size = max(1, int(round(total_weight)))
            return self._batch_size(size, problem, optimizer), True
        return self._batch_size(n_samples, problem, optimizer), False

    def _auto_batch_size(self, n_samples, problem, optimizer):
        # Whatever the rule below, several updates per epoch: small data gets
        # small batches (scikit-learn's defaults assume one update per sample,
        # and one batch per epoch under-fits). The adaptive solvers' steps do
        # not shrink with the batch, so their gradient noise grows as batches
        # get tiny: they take fewer, larger batches.
        min_steps = _MIN_STEPS_ADAPTIVE if optimizer.scale_invariant else _MIN_STEPS
        return max(1, min(n_samples // min_steps,
                          self._auto_batch_rule(n_samples, problem, optimizer)))

    def _auto_batch_rule(self, n_samples, problem, optimizer):
        if optimizer.scale_invariant:
            # Adaptive solvers take steps of eta0 whatever the batch: they
            # need many steps per epoch, not large batches.
            return _AUTO_BATCH
        if self.average:
            # Averaging removes the gradient noise itself; it needs many
            # iterates: about 256 per epoch, in batches of 16 to 4096 rows.
            return min(4096, max(16, n_samples // 256))
        # About 256 steps per epoch, and a batch large enough to average out
        # the gradient noise at the capped step (64 times the noise scale
        # tr(H) / L, McCandlish et al. 2018), within [256, 65536] rows and
        # about 1 MiB of gathered data (the peak memory of a fit stays near
        # scikit-learn's: P4).
        model = problem.model
        noise = math.ceil(64 * model.noise_scale)
        by_memory = (1 << 20) // max(1, int(model.row_bytes))
        size = max(_AUTO_BATCH, min(65536, by_memory, max(n_samples // 256, noise)))
        l1 = Penalty.from_params(self.penalty, self.alpha, self.l1_ratio).l1
        if problem.lazy_steps(optimizer, l1=l1, rows=size):
            # Wide sparse data (text): a feature occurs in few rows of a batch,
            # and the mean gradient of a large batch, at the curvature's cap,
            # moves its weight far less per epoch than scikit-learn's
            # per-sample steps do; small batches take those steps (their sum,
            # under the cap), and the fused loop's lazy steps cost the batch's
            # stored values only, so they cost no more per epoch (measured:
            # bench_text.py; batches of 8 to 32 rows alike).
            return _WIDE_SPARSE_BATCH
        return size

    def _commit(self, result, *, continuing, incremental):
        state = result.state
        self.n_iter_ = result.n_iter
        self.t_ = float(state.clock.n_samples_seen) + 1.0
        self.loss_curve_ = result.loss_curve
        self.loss_ = result.loss_curve[-1]
        if incremental and hasattr(self, "validation_scores_"):
            # partial_fit holds nothing out: the last fit's early-stopping
            # record stays as it was.
            return
        self.best_loss_ = result.best_loss if result.validation_scores == [] else None
        self.validation_scores_ = result.validation_scores or None
        self.best_validation_score_ = finite_or_none(result.best_validation_score)

    def _report_epoch(self, report):
        # scikit-learn's lines; more detail at verbose >= 2.
        coef = np.asarray(to_numpy(report.params[0]), dtype=np.float64)
        bias = (float(np.asarray(to_numpy(report.params[1])).ravel()[0])
                if self.fit_intercept else 0.0)
        print(f"-- Epoch {report.epoch}")
        line = (f"Norm: {np.linalg.norm(coef):.2f}, NNZs: {np.count_nonzero(coef)}, "
                f"Bias: {bias:.6f}, T: {int(report.n_samples_seen)}, "
                f"Avg. loss: {report.data_loss:f}, Objective: {report.loss:f}")
        if report.score is not None:
            line += f", Validation score: {report.score:f}"
        print(line)
        if report.verbose >= 2:
            print(f"lr = {report.lr:.3g}")
        print(f"Total training time: {report.elapsed:.2f} seconds.")

    # -- prediction -------------------------------------------------------
    def _decision(self, X, method):
        """``X @ coef_.T + intercept_`` in the namespace of ``X``; 1-D for a
        1-D ``coef_``."""
        check_is_fitted(self)
        check_same_namespace(X, self.intercept_, self, method)
        backend = resolve_backend(X, device="auto")
        X = check_X(self, X, backend=backend)
        coef = self.coef_
        if sp.issparse(coef):
            coef = coef.toarray()
            coef = coef.ravel() if coef.shape[0] == 1 and self._coef_1d else coef
        xp = backend.xp
        intercept = self.intercept_
        if X.dtype != coef.dtype and not sp.issparse(X):
            # The wider of the two: float64 X is not rounded to a float32 model.
            if X.dtype == xp.float64:
                coef, intercept = xp.astype(coef, X.dtype), xp.astype(intercept, X.dtype)
            else:
                X = xp.astype(X, coef.dtype)
        if coef.ndim == 1:
            return matmul(X, coef) + intercept[0]
        return matmul(X, transpose(coef, xp)) + intercept

    def densify(self):
        """Convert a sparse ``coef_`` back to a dense array; returns self."""
        if sp.issparse(self.coef_):
            self.coef_ = self.coef_.toarray()
            if self.coef_.shape[0] == 1 and self._coef_1d:
                self.coef_ = self.coef_.ravel()
        return self

    def sparsify(self):
        """Convert ``coef_`` to a SciPy sparse matrix (worth it with L1); returns self."""
        if not sp.issparse(self.coef_):
            self.coef_ = sp.csr_matrix(np.atleast_2d(to_numpy(self.coef_)))
        return self


def _mean_curve(curves, length):
    """Per-epoch means over the problems' curves (a shorter one repeats its end)."""
    return [float(np.mean([c[min(i, len(c) - 1)] for c in curves])) for i in range(length)]
