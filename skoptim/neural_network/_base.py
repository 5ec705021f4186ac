"""What the MLP estimators share: the multilayer perceptron on the engine,
scikit-learn's MLP conventions (batch size, counters, stopping patience,
verbose lines) and the prediction preamble."""

# SPDX-License-Identifier: BSD-3-Clause

import numbers
import warnings

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skoptim._backend import is_sparse, resolve_backend
from skoptim._base import EngineEstimatorMixin, finite_or_none
from skoptim._validation import check_same_namespace, check_X
from skoptim.models import ModelProblem, MLPModel
from skoptim.optim import (Clock, Momentum, Optimizer, Schedule, resolve_optimizer,
                           resolve_schedule)
from skoptim.optim._optimizers import unknown_name_error
from skoptim.optim._schedules import SCHEDULES

# 'optimal' needs a linear model's alpha and t0.
_SCHEDULES = tuple(name for name in SCHEDULES if name != "optimal")


# What the MLP Plus estimators add to their counterpart's constraints.
PLUS_CONSTRAINTS = {
    "solver": [str, Optimizer],
    # Names are checked when resolved: the error suggests the closest one.
    "learning_rate": [str, Schedule],
    "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
    "l1_ratio": [Interval(numbers.Real, 0, 1, closed="both")],
    "dropout": [Interval(numbers.Real, 0.0, 1.0, closed="left"), tuple, list],
    "device": [str],
}


def is_lbfgs(solver):
    return isinstance(solver, str) and solver == "lbfgs"


def check_stochastic(self):
    """``available_if`` condition of ``partial_fit``."""
    if is_lbfgs(self.solver):
        raise AttributeError(
            "partial_fit is only available for stochastic optimizers; "
            f"solver={self.solver!r} is not stochastic."
        )
    return True


class MLPMixin(EngineEstimatorMixin):
    """A multilayer perceptron trained on the engine.

    Subclasses give ``_out_activation(y)`` (the output link's name) and
    ``_make_head(backend)`` (the task).
    """

    _lr_param = "learning_rate_init"
    _max_iter_message = ("Stochastic Optimizer: Maximum iterations ({max_iter}) reached "
                         "and the optimization hasn't converged yet.")
    # scikit-learn's MLP refuses a validation set of one row (its R² is
    # undefined); two are held out on small data instead.
    _min_validation_rows = 2
    _weight_attributes = ("coefs_", "intercepts_")

    @staticmethod
    def _auto_batch_size(n_samples, problem, optimizer):
        return 200

    def _batch_size(self, n_samples, problem, optimizer):
        if self.batch_size != "auto" and self.batch_size > n_samples:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It "
                          "is going to be clipped")
        return super()._batch_size(n_samples, problem, optimizer)

    # -- parameter checks -------------------------------------------------
    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if not hasattr(sizes, "__iter__") else list(sizes)
        for s in sizes:
            if isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Integral):
                raise TypeError(
                    "hidden_layer_sizes must hold integers (the width of each hidden "
                    f"layer), got {self.hidden_layer_sizes!r}."
                )
        if any(s <= 0 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be > 0, got {self.hidden_layer_sizes}."
            )
        return [int(s) for s in sizes]

    def _dropout_rates(self, n_hidden):
        rates = self.dropout
        if isinstance(rates, numbers.Real):
            return (float(rates),) * n_hidden
        if any(isinstance(r, (bool, np.bool_)) or not isinstance(r, numbers.Real)
               for r in rates):
            raise TypeError(
                f"dropout must be a float or a tuple of floats; got {self.dropout!r}."
            )
        rates = tuple(float(r) for r in rates)
        if len(rates) != n_hidden or any(not 0.0 <= r < 1.0 for r in rates):
            raise ValueError(
                f"dropout must be a float in [0, 1) or one such rate per hidden layer "
                f"({n_hidden}); got {self.dropout!r}."
            )
        return rates

    def _check_params(self, *, partial=False):
        self._check_shared_params(partial=partial)
        if isinstance(self.learning_rate, str) and self.learning_rate not in _SCHEDULES:
            raise unknown_name_error(self.learning_rate, _SCHEDULES, "learning_rate")
        resolve_schedule(self.learning_rate)
        if is_lbfgs(self.solver):
            if self.penalty in ("l1", "elasticnet"):
                raise ValueError(
                    f"penalty={self.penalty!r} needs a stochastic solver (exact zeros "
                    "come from proximal steps); solver='lbfgs' supports 'l2' or None."
                )
            # A positive rate refused whatever the layers (a float rate with
            # no hidden layer would otherwise pass unnoticed).
            rates = self._dropout_rates(len(self._hidden_sizes()))
            if any(r > 0 for r in rates) or (isinstance(self.dropout, numbers.Real)
                                             and self.dropout > 0):
                raise ValueError("dropout needs a stochastic solver, not 'lbfgs'.")

    def _fit(self, X, y, sample_weight, X_val, y_val, sample_weight_val):
        self._check_params()
        return self._fit_engine(X, y, sample_weight, incremental=False, X_val=X_val,
                                y_val=y_val, sample_weight_val=sample_weight_val)

    # -- what the engine trains -------------------------------------------
    def _make_problem(self, X, Y, sw, backend):
        n_outputs = Y.shape[1]
        continuing = hasattr(self, "coefs_") and self.coefs_[-1].shape[1] == n_outputs
        if not hasattr(self, "out_activation_") or not continuing:
            self.out_activation_ = self._out_activation(Y)
            self.n_outputs_ = n_outputs
        hidden = self._hidden_sizes()
        self.n_layers_ = len(hidden) + 2
        model = MLPModel([self.n_features_in_, *hidden, self.n_outputs_],
                         activation=self.activation,
                         dropout=self._dropout_rates(len(hidden)), backend=backend)
        return ModelProblem(model, self._make_head(backend))

    def _init_params(self, problem, backend, rng, init):
        return problem.model.init_params(rng)

    def _resolve_optimizer(self):
        solver = self.solver
        if is_lbfgs(solver):
            return None
        if isinstance(solver, str) and solver == "sgd":
            return resolve_optimizer(
                Momentum(momentum=self.momentum, nesterov=self.nesterovs_momentum))
        flat = {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
        if isinstance(solver, str) and solver in ("momentum", "nesterov"):
            flat = {"momentum": self.momentum}
        return resolve_optimizer(solver, also_valid=("lbfgs",), **flat)

    def _train_config_extra(self):
        return {"extra_patience": 1, "samples_at_epoch_start": True}

    def _resolve_schedule(self, problem):
        return resolve_schedule(self.learning_rate, power_t=self.power_t)

    def _exposed_params(self, problem, backend):
        expected = [self.n_features_in_, *self._hidden_sizes(), self.n_outputs_]
        shapes = [tuple(np.shape(c)) for c in self.coefs_]
        if shapes != list(zip(expected[:-1], expected[1:])):
            raise ValueError(
                f"hidden_layer_sizes={self.hidden_layer_sizes!r} does not match the "
                f"fitted layers {shapes}; partial_fit and warm starts keep the "
                "architecture: refit with warm_start=False to change it."
            )
        return super()._exposed_params(problem, backend)

    def _n_fitted_outputs(self):
        return self.n_outputs_ if hasattr(self, "coefs_") else None

    def _start_clock(self, continuing):
        # scikit-learn's MLP counts t_ across warm starts.
        seen = float(getattr(self, "t_", 0)) if continuing else 0.0
        return Clock(n_samples_seen=seen)

    def _commit(self, result, *, continuing, incremental):
        keep = continuing and hasattr(self, "loss_curve_")
        self.n_iter_ = result.n_iter  # this call's epochs, as in scikit-learn
        self.t_ = int(round(result.state.clock.n_samples_seen))
        self.loss_curve_ = (list(self.loss_curve_) if keep else []) + result.loss_curve
        self.loss_ = self.loss_curve_[-1]
        if incremental and getattr(self, "validation_scores_", None) is not None:
            # partial_fit holds nothing out: the last fit's early-stopping
            # record stays as it was.
            return
        if result.validation_scores:
            # One score per epoch, like loss_curve_: a warm start extends it.
            previous = self.validation_scores_ if keep and self.validation_scores_ else []
            self.validation_scores_ = previous + result.validation_scores
            self.best_validation_score_ = finite_or_none(result.best_validation_score)
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = min(self.loss_curve_)

    def _report_epoch(self, report):
        # scikit-learn's lines; more detail at verbose >= 2.
        print(f"Iteration {report.iteration}, loss = {report.loss:.8f}")
        if report.score is not None:
            print(f"Validation score: {report.score:f}")
        if report.verbose >= 2:
            print(f"lr = {report.lr:.3g}, time = {report.elapsed:.2f}s")

    # -- prediction -------------------------------------------------------
    def _forward(self, X, method):
        """``(z, head)``: the raw output of the fitted network (whatever
        ``hidden_layer_sizes`` says now) on ``X``, in its namespace, and the
        head that reads it."""
        check_is_fitted(self)
        check_same_namespace(X, self.intercepts_[-1], self, method)
        backend = resolve_backend(X, device="auto")
        X = check_X(self, X, backend=backend)
        params = [p for pair in zip(self.coefs_, self.intercepts_) for p in pair]
        dtype = self.coefs_[0].dtype
        xp = backend.xp
        if not is_sparse(X) and X.dtype != dtype:
            # The wider of the two: float64 X is not rounded to a float32 model.
            if X.dtype == xp.float64:
                dtype = X.dtype
                params = [xp.astype(p, dtype) for p in params]
            else:
                X = xp.astype(X, dtype)
        backend = resolve_backend(X, device="auto", dtype=dtype)
        sizes = [self.coefs_[0].shape[0]] + [c.shape[1] for c in self.coefs_]
        model = MLPModel(sizes, activation=self.activation,
                         dropout=(0.0,) * (len(sizes) - 2), backend=backend)
        return model.decision(params, X), self._make_head(backend)
