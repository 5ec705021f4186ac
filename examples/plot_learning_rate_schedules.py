"""
==========================================================
Learning-rate schedules and their effect on a fit
==========================================================

With a fixed learning rate, stochastic gradient descent does not settle at
the minimum: every mini-batch gradient is noisy, so the weights keep
bouncing around it, the farther the larger the rate. A schedule lowers the
rate as training goes on. This example draws five schedules of
:mod:`skoptim.optim` with :class:`skoptim.plotting.ScheduleDisplay` (fixed,
exponential, step, inverse-time and cosine decay after a linear warm-up),
then fits ``SGDRegressorPlus`` with each on the diabetes data and measures
how far each fit ends from the exact minimum of its objective (computed in
closed form by ``Ridge``).
"""

# %%
# Data and the exact minimum
# --------------------------
# ``SGDRegressorPlus`` with ``penalty='l2'`` minimizes
# ``mean(r**2) / 2 + alpha / 2 * ||w||**2``, the objective that
# ``Ridge(alpha=alpha * n_samples)`` solves exactly.
import warnings

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge, SGDRegressor
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skoptim import SGDRegressorPlus
from skoptim.optim import (Constant, CosineDecay, ExponentialDecay,
                           InverseTimeDecay, StepDecay)
from skoptim.plotting import LossCurveDisplay, ScheduleDisplay

X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
n_train, alpha = len(y_train), 1e-4


def objective(model):
    """The training objective of a fitted linear model."""
    residual = y_train - model.predict(X_train)
    return float(np.mean(residual ** 2) / 2 + alpha / 2 * np.sum(model.coef_ ** 2))


best = objective(Ridge(alpha=alpha * n_train).fit(X_train, y_train))
print(f"train: {X_train.shape}; minimum of the objective (Ridge): {best:.3f}")

# %%
# Five schedules
# --------------
# Mini-batches of 8 give ``ceil(331 / 8) = 42`` steps per epoch, over 60
# epochs. The epoch-based schedules change the rate once per epoch; the
# cosine decay changes it at every step, after a linear warm-up of 5 epochs
# from 0 to the base rate (which protects the first steps, taken from random
# weights, from a rate that is too large). Each schedule is also available
# by name (``learning_rate='exponential'``, ``'step'``, ``'inverse_time'``,
# ``'cosine'``) with its default settings.
batch_size, n_epochs, eta0 = 8, 60, 0.01
steps_per_epoch = -(-n_train // batch_size)
schedules = {
    "fixed": Constant(),
    "exponential (gamma=0.9)": ExponentialDecay(gamma=0.9),
    "step (x0.3 every 15 epochs)": StepDecay(step_size=15, gamma=0.3),
    "inverse time (decay_rate=0.5)": InverseTimeDecay(decay_rate=0.5),
    "cosine, 5 warm-up epochs": CosineDecay(warmup_steps=5 * steps_per_epoch),
}
curves = {
    name: ScheduleDisplay.from_schedule(schedule, base_lr=eta0, n_epochs=n_epochs,
                                        steps_per_epoch=steps_per_epoch,
                                        batch_size=batch_size, plot=False)
    for name, schedule in schedules.items()
}
shown = [0, 1, 5, 15, 30, 59]
print(f"\nlearning rate at the first step of epoch ... (eta0={eta0})")
print(f"{'schedule':<30}" + "".join(f"{e:>10d}" for e in shown))
for name, display in curves.items():
    print(f"{name:<30}"
          + "".join(f"{display.rates[e * steps_per_epoch]:10.2e}" for e in shown))

# %%
# Their effect on a fit
# ---------------------
# Everything but the schedule is fixed: plain SGD, the same base rate, the
# same batches, 60 epochs (``tol=None`` never stops early). scikit-learn's
# ``SGDRegressor`` (one sample per step) with a constant and with its default
# ``'invscaling'`` rate shows the same effect.
warnings.simplefilter("ignore", ConvergenceWarning)
fits = {
    name: SGDRegressorPlus(solver="sgd", learning_rate=schedule, eta0=eta0,
                           batch_size=batch_size, alpha=alpha, max_iter=n_epochs,
                           tol=None, random_state=0).fit(X_train, y_train)
    for name, schedule in schedules.items()
}
sklearn_fits = {
    f"sklearn SGDRegressor, {rate}": SGDRegressor(
        learning_rate=rate, eta0=eta0, alpha=alpha, max_iter=n_epochs, tol=None,
        random_state=0).fit(X_train, y_train)
    for rate in ("constant", "invscaling")
}
print(f"\n{'model':<36} {'objective':>9} {'above minimum':>13} {'test R2':>7}")
for name, model in {**fits, **sklearn_fits}.items():
    value = objective(model)
    print(f"{name:<36} {value:9.3f} {value - best:13.4f} "
          f"{model.score(X_test, y_test):7.4f}")
gaps = {name: objective(model) - best for name, model in fits.items()}
closest = min(gaps, key=gaps.get)
print(f"\nclosest to the minimum: {closest} ({gaps[closest]:.4f} above it, against "
      f"{gaps['fixed']:.4f} with the fixed rate)")

# %%
# Rates and training curves (matplotlib is optional)
# --------------------------------------------------
# Left, the rate of every step; right, ``loss_curve_`` (the mean loss over
# each epoch's mini-batches) drawn by :class:`~skoptim.plotting.LossCurveDisplay`,
# with the exact minimum as a dotted line.
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # pragma: no cover
    plt = None

if plt is not None:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    for name, display in curves.items():
        display.plot(ax=axes[0], x="epoch", name=name)
    axes[0].set(title=f"Schedules (eta0={eta0}, {steps_per_epoch} steps per epoch)")
    for name, model in fits.items():
        LossCurveDisplay.from_estimator(model, ax=axes[1], name=name)
    axes[1].axhline(best, color="k", linestyle=":", label="minimum (Ridge)")
    axes[1].set(ylim=(best * 0.995, best * 1.15), ylabel="training objective",
                title="SGDRegressorPlus on diabetes, batch_size=8")
    axes[1].legend(fontsize="small")
    fig.savefig("learning_rate_schedules.png")
    print("saved learning_rate_schedules.png")
