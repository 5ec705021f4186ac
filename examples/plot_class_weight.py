"""
==========================================================
Imbalanced classes: class_weight
==========================================================

When one class makes up 5% of the data, a classifier can reach 95% accuracy
by hardly ever predicting it. ``class_weight`` multiplies each sample's
weight in the loss by the weight of its class, so that the errors on the rare
class count for more; ``class_weight='balanced'`` uses
``n_samples / (n_classes * np.bincount(y))``, which gives both classes the
same total weight. This example trains ``SGDClassifierPlus`` and
``MLPClassifierPlus`` with and without it (next to scikit-learn's
``SGDClassifier``, which has the same parameter, and ``MLPClassifier``,
which has none), and reports the balanced accuracy and the recall and
precision of the minority class, then sweeps the minority class's weight.
"""

# %%
# An imbalanced problem
# ---------------------
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import balanced_accuracy_score, precision_score, recall_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from skoptim import MLPClassifierPlus, SGDClassifierPlus

X, y = make_classification(n_samples=5000, n_features=20, n_informative=5,
                           n_redundant=2, weights=[0.95], class_sep=0.8, flip_y=0.01,
                           random_state=0)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
counts = np.bincount(y_train)
print(f"training samples per class: {counts.tolist()} "
      f"(minority: {counts[1] / counts.sum():.1%})")
warnings.simplefilter("ignore", ConvergenceWarning)

# %%
# With and without ``class_weight='balanced'``
# --------------------------------------------
# Logistic regression by SGD (``loss='log_loss'``) and a network with one
# hidden layer of 64 units.
models = {}
for cw in (None, "balanced"):
    models[f"sklearn SGDClassifier, {cw}"] = SGDClassifier(
        loss="log_loss", class_weight=cw, random_state=0)
for cw in (None, "balanced"):
    models[f"SGDClassifierPlus, {cw}"] = SGDClassifierPlus(
        loss="log_loss", class_weight=cw, random_state=0)
for cw in (None, "balanced"):
    models[f"MLPClassifierPlus, {cw}"] = MLPClassifierPlus(
        hidden_layer_sizes=(64,), class_weight=cw, max_iter=100, random_state=0)
models["sklearn MLPClassifier (none)"] = MLPClassifier(
    hidden_layer_sizes=(64,), max_iter=100, random_state=0)

scores = {}
print(f"\n{'model, class_weight':<36} {'accuracy':>8} {'balanced acc':>12} "
      f"{'minority recall':>15} {'minority precision':>18}")
for name, model in models.items():
    predicted = model.fit(X_train, y_train).predict(X_test)
    scores[name] = dict(
        accuracy=float(np.mean(predicted == y_test)),
        balanced=balanced_accuracy_score(y_test, predicted),
        recall=recall_score(y_test, predicted),
        precision=precision_score(y_test, predicted, zero_division=0.0),
    )
    s = scores[name]
    print(f"{name:<36} {s['accuracy']:8.3f} {s['balanced']:12.3f} {s['recall']:15.3f} "
          f"{s['precision']:18.3f}")

for family in ("SGDClassifierPlus", "MLPClassifierPlus"):
    before, after = scores[f"{family}, None"], scores[f"{family}, balanced"]
    print(f"{family}: 'balanced' moves the minority recall from {before['recall']:.3f} "
          f"to {after['recall']:.3f} and the balanced accuracy from "
          f"{before['balanced']:.3f} to {after['balanced']:.3f}")

# %%
# Sweeping the minority class's weight
# ------------------------------------
# A dictionary sets the weights by hand. A larger weight for class 1 buys
# recall with precision: the model predicts the minority class more often.
# 'balanced' corresponds to a ratio of about ``counts[0] / counts[1]``.
weights = [1.0, 2.0, 5.0, 10.0, float(counts[0] / counts[1]), 40.0]
sweep = []
print(f"\n{'weight of class 1':>17} {'balanced acc':>12} {'recall':>7} {'precision':>9}")
for w in weights:
    predicted = SGDClassifierPlus(loss="log_loss", class_weight={0: 1.0, 1: w},
                                  random_state=0).fit(X_train, y_train).predict(X_test)
    row = (balanced_accuracy_score(y_test, predicted), recall_score(y_test, predicted),
           precision_score(y_test, predicted, zero_division=0.0))
    sweep.append(row)
    note = "  (the ratio of 'balanced')" if w == weights[4] else ""
    print(f"{w:17.1f} {row[0]:12.3f} {row[1]:7.3f} {row[2]:9.3f}{note}")

# %%
# Plots (matplotlib is optional)
# ------------------------------
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # pragma: no cover
    plt = None

if plt is not None:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    names = list(scores)
    pos = np.arange(len(names))
    for offset, key, label in [(-0.2, "balanced", "balanced accuracy"),
                               (0.2, "recall", "minority recall")]:
        axes[0].barh(pos + offset, [scores[n][key] for n in names], height=0.4,
                     label=label)
    axes[0].set_yticks(pos, names, fontsize="small")
    axes[0].invert_yaxis()
    axes[0].set(xlim=(0, 1), title="With and without class_weight='balanced'")
    axes[0].legend(loc="lower right", fontsize="small")
    sweep = np.array(sweep)
    for column, label in enumerate(["balanced accuracy", "minority recall",
                                    "minority precision"]):
        axes[1].plot(weights, sweep[:, column], "o-", label=label)
    axes[1].set(xscale="log", xlabel="weight of the minority class", ylim=(0, 1),
                title="SGDClassifierPlus, class_weight={0: 1, 1: w}")
    axes[1].legend(fontsize="small")
    fig.savefig("class_weight.png")
    print("saved class_weight.png")
