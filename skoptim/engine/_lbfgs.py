"""Full-batch L-BFGS-B (SciPy) on an engine problem."""

# SPDX-License-Identifier: BSD-3-Clause

import math
import warnings
from dataclasses import replace

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skoptim._backend import to_numpy
from skoptim.engine._monitor import DivergenceError, FitResult


class _Objective:
    """The full-batch objective on a flat float64 vector, for SciPy: the
    weighted mean loss plus the smooth penalty (scaled as in the engine's
    loop), and its gradient."""

    def __init__(self, problem, data, config, shapes, backend):
        self.problem, self.config, self.backend = problem, config, backend
        self.X, self.y, self.sw, sw_host = data
        self.n_weight = float(self.X.shape[0] if sw_host is None else sw_host.sum())
        self.pscale = 1.0 / self.n_weight if problem.penalty_per_sample else 1.0
        self.shapes = shapes
        self.bounds = np.cumsum([0] + [math.prod(s) for s in shapes])

    def unpack(self, theta):
        """The parameter arrays of a flat vector, in the backend."""
        return [self.backend.asarray(theta[a:b].reshape(s))
                for a, b, s in zip(self.bounds[:-1], self.bounds[1:], self.shapes)]

    def __call__(self, theta):
        penalty, penalized = self.config.penalty, list(self.problem.penalized)
        params = self.unpack(theta)
        loss_sum, grads = self.problem.loss_grad(params, self.X, self.y, self.sw,
                                                 noise=None)
        penalty.add_grad(grads, params, penalized, self.pscale)
        loss = float(loss_sum) / self.n_weight
        if penalty.active:
            loss += self.pscale * float(penalty.value(params, penalized,
                                                      xp=self.backend.xp))
        flat = np.concatenate([np.asarray(to_numpy(g), dtype=np.float64).ravel()
                               for g in grads])
        return loss, flat


def train_lbfgs(problem, data, *, config, state, backend, max_fun, callbacks):
    """Full-batch L-BFGS-B (SciPy) on the same problem; a :class:`FitResult`.

    One callback task per L-BFGS iteration (``callbacks``, a
    :class:`~skoptim.engine._monitor.Callbacks`); a callback that asks to
    stop ends the run (``StopIteration``).
    """
    from scipy.optimize import minimize

    objective = _Objective(problem, data, config, [tuple(p.shape) for p in state.params],
                           backend)
    result = FitResult(state=None, params=None, n_iter=0)

    def callback(intermediate_result):
        result.n_iter += 1
        result.loss_curve.append(float(intermediate_result.fun))
        if config.verbose:
            print(f"Iteration {result.n_iter}, loss = {float(intermediate_result.fun):.8f}")
        params = objective.unpack(intermediate_result.x)
        if callbacks.end(lambda: problem.fitted_attributes(params)
                         | {"n_iter_": result.n_iter}):
            raise StopIteration
        callbacks.begin("lbfgs-iter")

    theta0 = np.concatenate([np.asarray(to_numpy(p), dtype=np.float64).ravel()
                             for p in state.params])
    callbacks.begin("lbfgs-iter")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        opt = minimize(
            objective, theta0, method="L-BFGS-B", jac=True,
            options={"maxfun": max_fun, "maxiter": config.max_iter, "gtol": config.tol},
            callback=callback,
        )
    # SciPy never ran the iteration begun last: end it as an empty task.
    callbacks.end_unused()
    return _finish(result, opt, objective.unpack(opt.x), state, config)


def _finish(result, opt, params, state, config):
    """Check SciPy's answer and fill ``result`` with it."""
    if not math.isfinite(opt.fun) or not np.all(np.isfinite(opt.x)):
        raise DivergenceError(
            f"L-BFGS diverged (loss is {opt.fun}). Solver produced non-finite parameter "
            "weights. The input data may contain large values and need to be "
            f"preprocessed (StandardScaler); check alpha (now {config.alpha}) and the "
            "scale of sample_weight."
        )
    result.n_iter = int(opt.nit)
    result.converged = opt.status == 0
    if opt.status == 1:
        warnings.warn(
            f"lbfgs failed to converge after {opt.nit} iterations ({opt.message}). "
            "Increase max_iter or max_fun, or scale the data.",
            ConvergenceWarning,
        )
    result.loss_curve = result.loss_curve or [float(opt.fun)]
    result.best_loss = float(opt.fun)
    result.best_validation_score = None
    result.params = params
    result.state = replace(state, params=params)
    return result
