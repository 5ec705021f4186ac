"""
==========================================================
Tuning optimizers in a Pipeline with GridSearchCV
==========================================================

``MLPClassifierPlus`` is an ordinary scikit-learn estimator: it goes into a
:class:`~sklearn.pipeline.Pipeline` after a ``StandardScaler``, and its
optimizer is a parameter object whose own hyperparameters are tunable with
the double-underscore syntax (``mlpclassifierplus__solver__beta_1``). This
example searches over the optimizer (Adam vs AdamW), Adam's ``beta_1`` and
the learning-rate schedule (constant vs cosine) with ``GridSearchCV`` on the
digits, then follows the accuracy of the chosen model epoch by epoch with
scikit-learn's :class:`~sklearn.callback.ScoringMonitor` callback.
"""

# %%
# Data and pipeline
# -----------------
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.callback import ScoringMonitor
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
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
# Per-epoch scores with scikit-learn's ScoringMonitor
# ---------------------------------------------------
# ``MLPClassifierPlus`` reports every epoch to scikit-learn's callbacks. Set
# the callback on the MLP step: it receives the step's (scaled) training data
# and a copy of the network as it was at the end of each epoch. A callable
# ``scoring`` that returns a dict may score more than the training data: here
# it also scores the test set, transformed by the pipeline's scaler (fitted
# before the MLP step starts).
best = clone(search.best_estimator_)


def train_and_test_accuracy(mlp, X_scaled, y_true):
    return {"train_acc": mlp.score(X_scaled, y_true),
            "test_acc": mlp.score(best[0].transform(X_test), y_test)}


monitor = ScoringMonitor(scoring=train_and_test_accuracy)
best[-1].set_callbacks(monitor)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    best.fit(X_train, y_train)

log = monitor.get_logs()  # the most recent run: this fit of the pipeline
epochs = [row for row in log.data if row["task_name"] == "epoch"]
print(f"\n{log.estimator_name} run, {len(epochs)} epochs logged "
      f"(n_iter_={best[-1].n_iter_})")
print(f"{'epoch':>5} {'train acc':>9} {'test acc':>8} {'loss':>8}")
for row in epochs:
    epoch = row["task_id"] + 1
    if epoch in (1, 2, 3, 5) or epoch % 10 == 0 or epoch == len(epochs):
        print(f"{epoch:5d} {row['train_acc']:9.4f} {row['test_acc']:8.4f} "
              f"{best[-1].loss_curve_[epoch - 1]:8.4f}")

# %%
# Plot (matplotlib is optional)
# -----------------------------
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # pragma: no cover
    plt = None

if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 4))
    x = [row["task_id"] + 1 for row in epochs]
    ax.plot(x, [row["train_acc"] for row in epochs], label="train")
    ax.plot(x, [row["test_acc"] for row in epochs], label="test")
    ax.set(xlabel="epoch", ylabel="accuracy", ylim=(0.85, 1.005),
           title="ScoringMonitor on the best pipeline's MLP step")
    ax.legend()
    fig.tight_layout()
    fig.savefig("pipeline_grid_search.png")
    print("saved pipeline_grid_search.png")
