"""Full-batch L-BFGS-B (SciPy) on an engine problem."""

# SPDX-License-Identifier: BSD-3-Clause

import math
import warnings
from dataclasses import replace

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skoptim._backend import to_numpy
from skoptim.engine._monitor import DivergenceError, FitResult


def train_lbfgs(problem, data, *, config, state, backend, max_fun, callbacks):
    """Full-batch L-BFGS-B (SciPy) on the same problem; a :class:`FitResult`.

    The objective is the weighted mean loss plus the smooth penalty, with the
    penalty scaled as in :func:`train`. One callback task per L-BFGS iteration;
    a callback that asks to stop ends the run (``StopIteration``).
    """
    from scipy.optimize import minimize

    xp = backend.xp
    X, y, sw, sw_host = data
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
    def callback(intermediate_result):
        result.n_iter += 1
        result.loss_curve.append(float(intermediate_result.fun))
        if config.verbose:
            print(f"Iteration {result.n_iter}, loss = {float(intermediate_result.fun):.8f}")
        params = unpack(intermediate_result.x)
        if callbacks.end(lambda: problem.fitted_attributes(params)
                         | {"n_iter_": result.n_iter}):
            raise StopIteration
        callbacks.begin("lbfgs-iter")

    callbacks.begin("lbfgs-iter")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        opt = minimize(
            fun, theta0, method="L-BFGS-B", jac=True,
            options={"maxfun": max_fun, "maxiter": config.max_iter, "gtol": config.tol},
            callback=callback,
        )
    # SciPy never ran the iteration begun last: end it as an empty task.
    callbacks.end_unused()
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
