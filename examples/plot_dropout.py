"""
==========================================================
Dropout against over-fitting
==========================================================

A network with two hidden layers of 256 units learns a noisy binary problem
of 500 training samples (20% of the labels flipped): with about 70,000
weights it can memorize the training set, noise included: the training loss
keeps falling while the validation loss turns up. ``MLPClassifierPlus(dropout=p)``
zeroes each hidden unit with probability ``p`` at every training step
(inverted dropout: the kept units are scaled by ``1 / (1 - p)``, so
prediction uses the whole network unchanged). This example follows the
training and validation curves epoch by epoch, with and without dropout, with
scikit-learn's :class:`~sklearn.callback.ScoringMonitor` callback.
"""

# %%
# A small, noisy problem and an over-parameterised network
# --------------------------------------------------------
import warnings

import numpy as np
from sklearn.callback import ScoringMonitor
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from skoptim import MLPClassifierPlus

X, y = make_classification(n_samples=1000, n_features=20, n_informative=5,
                           n_redundant=0, flip_y=0.2, random_state=0)
X_train, X_val, y_train, y_val = train_test_split(
    X, y, train_size=0.5, stratify=y, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_val = scaler.transform(X_train), scaler.transform(X_val)
print(f"train: {X_train.shape}, validation: {X_val.shape}")

# Adam, mini-batches of 64, exactly 60 epochs (tol=0 and n_iter_no_change=60
# switch the stopping rule off), so that only the dropout rate differs.
n_epochs = 60
common = dict(hidden_layer_sizes=(256, 256), batch_size=64, max_iter=n_epochs,
              tol=0.0, n_iter_no_change=n_epochs, random_state=0)
warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed budget of epochs

# %%
# Curves epoch by epoch
# ---------------------
# ``ScoringMonitor`` calls ``scoring`` after every epoch with a copy of the
# network as it is at the end of that epoch (dropout off, as in ``predict``)
# and the training data; the callable below also scores the validation set.


def train_and_validation(model, X_fit, y_fit):
    scores = {}
    for part, X_part, y_part in [("train", X_fit, y_fit), ("val", X_val, y_val)]:
        proba = model.predict_proba(X_part)
        scores[f"{part}_loss"] = log_loss(y_part, proba)
        scores[f"{part}_acc"] = float(np.mean(model.classes_[proba.argmax(axis=1)] == y_part))
    return scores


rates = (0.0, 0.3, 0.5)
curves = {}
models = {}
for rate in rates:
    monitor = ScoringMonitor(scoring=train_and_validation)
    model = MLPClassifierPlus(dropout=rate, **common)
    model.set_callbacks(monitor)
    models[rate] = model.fit(X_train, y_train)
    rows = [row for row in monitor.get_logs().data if row["task_name"] == "epoch"]
    curves[rate] = {key: np.array([row[key] for row in rows])
                    for key in ("train_loss", "val_loss", "train_acc", "val_acc")}

# scikit-learn's MLPClassifier has no dropout: it is the dropout=0 baseline.
sk_model = MLPClassifier(**common).fit(X_train, y_train)

print(f"\n{'model':<24} {'train acc':>9} {'val acc':>7} {'gap':>6} {'val loss':>8} "
      f"{'best val loss':>13} {'at epoch':>8}")
for rate, curve in curves.items():
    best = int(np.argmin(curve["val_loss"]))
    train_acc, val_acc = curve["train_acc"][-1], curve["val_acc"][-1]
    print(f"{f'dropout={rate}':<24} {train_acc:9.3f} {val_acc:7.3f} "
          f"{train_acc - val_acc:6.3f} {curve['val_loss'][-1]:8.3f} "
          f"{curve['val_loss'][best]:13.3f} {best + 1:8d}")
sk_train, sk_val = sk_model.score(X_train, y_train), sk_model.score(X_val, y_val)
print(f"{'sklearn MLPClassifier':<24} {sk_train:9.3f} {sk_val:7.3f} "
      f"{sk_train - sk_val:6.3f} {log_loss(y_val, sk_model.predict_proba(X_val)):8.3f} "
      f"{'-':>13} {'-':>8}")


def gap(curve):
    return curve["train_acc"][-1] - curve["val_acc"][-1]


no_drop, drop = curves[0.0], curves[0.5]
print(f"\nafter {n_epochs} epochs the validation loss is {no_drop['val_loss'][-1]:.3f} "
      f"without dropout and {drop['val_loss'][-1]:.3f} with dropout=0.5; the gap "
      f"between training and validation accuracy is {gap(no_drop):.3f} and "
      f"{gap(drop):.3f}")

# %%
# Plots (matplotlib is optional)
# ------------------------------
# Solid lines are the training set, dashed lines the validation set.
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # pragma: no cover
    plt = None

if plt is not None:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    epochs = np.arange(1, n_epochs + 1)
    for rate, curve in curves.items():
        for ax, metric in zip(axes, ("loss", "acc")):
            line, = ax.plot(epochs, curve[f"train_{metric}"],
                            label=f"dropout={rate}, train")
            ax.plot(epochs, curve[f"val_{metric}"], "--", color=line.get_color(),
                    label=f"dropout={rate}, validation")
    axes[0].set(xlabel="epoch", ylabel="log-loss", yscale="log",
                title="Log-loss (solid: training, dashed: validation)")
    axes[1].set(xlabel="epoch", ylabel="accuracy",
                title="Accuracy (solid: training, dashed: validation)")
    axes[0].legend(fontsize="small")
    fig.savefig("dropout.png")
    print("saved dropout.png")
