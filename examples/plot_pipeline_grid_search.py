"""
============================================================
Tuning optimizers in a Pipeline: grid and randomized search
============================================================

``MLPClassifierPlus`` is an ordinary scikit-learn estimator: it goes into a
:class:`~sklearn.pipeline.Pipeline` after a ``StandardScaler``, and its
optimizer is a parameter object whose own hyperparameters are tunable with
the double-underscore syntax (``mlpclassifierplus__solver__beta_1``). This
example searches over the optimizer (Adam vs AdamW), Adam's ``beta_1`` and
the learning-rate schedule (constant vs cosine) with ``GridSearchCV`` on the
digits, then draws the optimizer, ``beta_1``, the base rate and the schedule
from distributions with ``RandomizedSearchCV``.
"""

# %%
# Data and pipeline
# -----------------
import warnings

import numpy as np
from scipy.stats import loguniform, uniform
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skoptim import MLPClassifierPlus
from skoptim.optim import Adam, AdamW

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

# The scaler is refitted on each training fold: no leakage from the held-out
# fold. A deliberately large rate (0.05) for 30 epochs leaves room for the
# optimizer settings and the schedule to matter.
pipe = make_pipeline(
    StandardScaler(),
    MLPClassifierPlus(hidden_layer_sizes=(64,), batch_size=128, max_iter=30,
                      learning_rate_init=0.05, random_state=0),
)

# %%
# Grid search over optimizer objects and their nested parameters
# ---------------------------------------------------------------
# Each candidate sets ``solver`` to (a clone of) ``Adam()`` or ``AdamW()`` and
# then ``solver__beta_1`` on that object; ``learning_rate`` takes schedule
# names (objects such as ``CosineDecay(warmup_steps=20)`` work too).
param_grid = {
    "mlpclassifierplus__solver": [Adam(), AdamW()],
    "mlpclassifierplus__solver__beta_1": [0.8, 0.9],
    "mlpclassifierplus__learning_rate": ["constant", "cosine"],
}
search = GridSearchCV(pipe, param_grid, cv=3, n_jobs=1)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X_train, y_train)

results = search.cv_results_
print(f"{'rank':>4} {'solver':<8} {'beta_1':>6} {'learning_rate':<13} "
      f"{'mean CV acc':>11} {'std':>6}")
for i in np.argsort(results["rank_test_score"], kind="stable"):
    params = results["params"][i]
    print(f"{results['rank_test_score'][i]:4d} "
          f"{type(params['mlpclassifierplus__solver']).__name__:<8} "
          f"{params['mlpclassifierplus__solver__beta_1']:6.1f} "
          f"{params['mlpclassifierplus__learning_rate']:<13} "
          f"{results['mean_test_score'][i]:11.4f} {results['std_test_score'][i]:6.4f}")

# best_params_ holds the grid's own (unmodified) optimizer object next to the
# nested value that was set on a clone of it; solver_ shows the combination.
print("\nbest_params_:", search.best_params_)
print(f"best CV accuracy: {search.best_score_:.4f}")
print(f"test accuracy of the refitted best pipeline: {search.score(X_test, y_test):.4f}")
print("fitted optimizer of the best model:", search.best_estimator_[-1].solver_)

# %%
# Randomized search: distributions, nested parameters and schedule names
# ----------------------------------------------------------------------
# ``RandomizedSearchCV`` draws a fixed number of candidates from lists and
# SciPy distributions. Here ``solver__beta_1`` is drawn uniformly from
# [0.7, 0.99] (again set on a copy of whichever optimizer was drawn), the
# base rate log-uniformly between 0.001 and 0.1, and the schedule among five
# names of :mod:`skoptim.optim`.
param_distributions = {
    "mlpclassifierplus__solver": [Adam(), AdamW()],
    "mlpclassifierplus__solver__beta_1": uniform(0.7, 0.29),
    "mlpclassifierplus__learning_rate_init": loguniform(1e-3, 1e-1),
    "mlpclassifierplus__learning_rate": ["constant", "cosine", "exponential", "step",
                                         "inverse_time"],
}
random_search = RandomizedSearchCV(pipe, param_distributions, n_iter=12, cv=3,
                                   random_state=0, n_jobs=1)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    random_search.fit(X_train, y_train)

results = random_search.cv_results_
print(f"\n{'rank':>4} {'solver':<8} {'beta_1':>6} {'lr_init':>8} {'learning_rate':<13} "
      f"{'mean CV acc':>11} {'std':>6}")
for i in np.argsort(results["rank_test_score"], kind="stable"):
    params = results["params"][i]
    print(f"{results['rank_test_score'][i]:4d} "
          f"{type(params['mlpclassifierplus__solver']).__name__:<8} "
          f"{params['mlpclassifierplus__solver__beta_1']:6.3f} "
          f"{params['mlpclassifierplus__learning_rate_init']:8.4f} "
          f"{params['mlpclassifierplus__learning_rate']:<13} "
          f"{results['mean_test_score'][i]:11.4f} {results['std_test_score'][i]:6.4f}")
print(f"\nbest CV accuracy: grid {search.best_score_:.4f} "
      f"({len(search.cv_results_['params'])} candidates), randomized "
      f"{random_search.best_score_:.4f} ({len(results['params'])} candidates)")
print(f"test accuracy of the refitted best pipelines: grid "
      f"{search.score(X_test, y_test):.4f}, randomized "
      f"{random_search.score(X_test, y_test):.4f}")
best_mlp = random_search.best_estimator_[-1]
print(f"randomized search's best model: {type(best_mlp.solver_).__name__}"
      f"(beta_1={float(best_mlp.solver_.beta_1):.3f}), learning_rate_init="
      f"{float(best_mlp.learning_rate_init):.4f}, schedule {best_mlp.learning_rate_!r}")

# %%
# Plot (matplotlib is optional)
# -----------------------------
# Left, the grid's mean CV accuracy per candidate; right, the randomized
# candidates against their base rate, one colour per schedule.
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # pragma: no cover
    plt = None

if plt is not None:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    grid = search.cv_results_
    labels = [f"{type(p['mlpclassifierplus__solver']).__name__}, "
              f"b1={p['mlpclassifierplus__solver__beta_1']}, "
              f"{p['mlpclassifierplus__learning_rate']}" for p in grid["params"]]
    pos = np.arange(len(labels))
    axes[0].barh(pos, grid["mean_test_score"], xerr=grid["std_test_score"])
    axes[0].set_yticks(pos, labels, fontsize="small")
    low = np.min(grid["mean_test_score"] - grid["std_test_score"])
    axes[0].set(xlim=(low - 0.02, 1.0), xlabel="mean CV accuracy", title="GridSearchCV")
    schedules = param_distributions["mlpclassifierplus__learning_rate"]
    for schedule in schedules:
        picked = [i for i, p in enumerate(results["params"])
                  if p["mlpclassifierplus__learning_rate"] == schedule]
        axes[1].scatter([results["params"][i]["mlpclassifierplus__learning_rate_init"]
                         for i in picked],
                        [results["mean_test_score"][i] for i in picked], label=schedule)
    axes[1].set(xscale="log", xlabel="learning_rate_init", ylabel="mean CV accuracy",
                title="RandomizedSearchCV (12 candidates)")
    axes[1].legend(title="learning_rate", fontsize="small")
    fig.savefig("pipeline_grid_search.png")
    print("saved pipeline_grid_search.png")
