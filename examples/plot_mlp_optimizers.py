"""
==========================================================
Optimizers compared on an MLP: SGD, momentum, Adam, AdamW
==========================================================

The same network (one hidden layer of 64 ReLU units, mini-batches of 128) is
trained on scikit-learn's digits with four optimizers of
:mod:`skoptim.optim`:

- plain SGD, ``w -= lr * g``;
- SGD with (heavy-ball) momentum, which accumulates a velocity
  ``v = 0.9 * v - lr * g`` and steps along it;
- Adam, which divides a running mean of the gradients by the root of a
  running mean of their squares: one step size per weight;
- AdamW, Adam with *decoupled* weight decay: the weights shrink by
  ``lr * weight_decay * w`` at every step, outside Adam's normalization.

scikit-learn's ``MLPClassifier`` runs alongside with ``solver='sgd'`` (with
and without momentum) and ``solver='adam'``, which use the same formulas.
"""

# %%
# Data and a fixed budget
# -----------------------
# Every model trains for exactly 60 epochs (``tol=0`` and
# ``n_iter_no_change=60`` switch the stopping rule off), so that only the
# optimizer differs.
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from skoptim import MLPClassifierPlus
from skoptim.optim import SGD, Adam, AdamW, Momentum
from skoptim.plotting import LossCurveDisplay

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
print(f"train: {X_train.shape}, test: {X_test.shape}, classes: {len(set(y))}")

n_epochs = 60
common = dict(hidden_layer_sizes=(64,), batch_size=128, max_iter=n_epochs, tol=0.0,
              n_iter_no_change=n_epochs, random_state=0)
warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed budget of epochs

# %%
# Optimizers as objects, and their scikit-learn twins
# ---------------------------------------------------
# The SGD family takes a rate in gradient units (0.05 here); Adam's step is
# already normalized per weight, so its rate is a step size in weight units
# (0.01 here). ``solver`` also takes the names ``'sgd'``, ``'momentum'``,
# ``'adam'`` and ``'adamw'``; with ``solver='sgd'``, ``MLPClassifierPlus``
# keeps scikit-learn's meaning (``momentum`` and ``nesterovs_momentum``).
sgd_family = {
    "SGD": MLPClassifierPlus(solver=SGD(), learning_rate_init=0.05, **common),
    "sklearn sgd, momentum=0": MLPClassifier(
        solver="sgd", momentum=0.0, learning_rate_init=0.05, **common),
    "momentum 0.9": MLPClassifierPlus(solver=Momentum(momentum=0.9),
                                      learning_rate_init=0.05, **common),
    "sklearn sgd, momentum=0.9": MLPClassifier(
        solver="sgd", momentum=0.9, nesterovs_momentum=False, learning_rate_init=0.05,
        **common),
}
adam_family = {
    "Adam": MLPClassifierPlus(solver=Adam(), learning_rate_init=0.01, **common),
    "sklearn adam": MLPClassifier(solver="adam", learning_rate_init=0.01, **common),
    "AdamW(weight_decay=0.1)": MLPClassifierPlus(solver=AdamW(weight_decay=0.1),
                                                 learning_rate_init=0.01, **common),
}

print(f"\n{'optimizer':<26} {'fit s':>6} {'loss@10':>8} {'final loss':>10} "
      f"{'train acc':>9} {'test acc':>8} {'||W||':>6}")
for name, model in {**sgd_family, **adam_family}.items():
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    weight_norm = np.sqrt(sum(np.sum(W ** 2) for W in model.coefs_))
    print(f"{name:<26} {seconds:6.3f} {model.loss_curve_[9]:8.4f} {model.loss_:10.5f} "
          f"{model.score(X_train, y_train):9.4f} {model.score(X_test, y_test):8.4f} "
          f"{weight_norm:6.2f}")

sgd, momentum = sgd_family["SGD"], sgd_family["momentum 0.9"]
adam, adamw = adam_family["Adam"], adam_family["AdamW(weight_decay=0.1)"]
print(f"\nafter 10 epochs: SGD {sgd.loss_curve_[9]:.4f}, momentum "
      f"{momentum.loss_curve_[9]:.4f}, Adam {adam.loss_curve_[9]:.4f}")
print(f"AdamW's decay leaves weights of norm "
      f"{np.sqrt(sum(np.sum(W ** 2) for W in adamw.coefs_)):.2f} against "
      f"{np.sqrt(sum(np.sum(W ** 2) for W in adam.coefs_)):.2f} with Adam")

# %%
# Loss curves (matplotlib is optional)
# ------------------------------------
# Drawn with :class:`skoptim.plotting.LossCurveDisplay`; dashed lines are
# scikit-learn's ``MLPClassifier``. The initial weights are drawn differently
# (same Glorot distribution), so twins follow close but not identical paths.
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # pragma: no cover
    plt = None

if plt is not None:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained", sharey=True)
    for ax, family, title in [(axes[0], sgd_family, "SGD and momentum (lr=0.05)"),
                              (axes[1], adam_family, "Adam and AdamW (lr=0.01)")]:
        for name, model in family.items():
            LossCurveDisplay.from_estimator(
                model, ax=ax, name=name,
                linestyle="--" if name.startswith("sklearn") else "-")
        ax.set(yscale="log", title=title)
        ax.legend(fontsize="small")
    fig.savefig("mlp_optimizers.png")
    print("saved mlp_optimizers.png")
