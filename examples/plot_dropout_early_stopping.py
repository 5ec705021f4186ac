"""
==========================================================
Dropout and early stopping against over-fitting
==========================================================

A network with two hidden layers of 256 units learns a noisy binary problem
of 500 training samples (20% of the labels flipped): it can memorize the
training set, noise included. Two remedies of ``MLPClassifierPlus`` are
compared here:

- **dropout**: each hidden unit is zeroed with probability ``dropout`` at
  every training step (inverted dropout, so prediction uses the whole
  network unchanged);
- **early stopping** on an explicit validation set passed to ``fit``
  (``X_val``, ``y_val``): the validation accuracy is recorded after every
  epoch in ``validation_scores_``, training stops once it fails to improve
  for ``n_iter_no_change`` epochs, and the weights of the best epoch are
  restored.
"""

# %%
# A small, noisy problem and an over-parameterised network
# --------------------------------------------------------
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from skoptim import MLPClassifierPlus

X, y = make_classification(n_samples=1000, n_features=20, n_informative=5,
                           n_redundant=0, flip_y=0.2, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=0.5, stratify=y, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
print(f"train: {X_train.shape}, test: {X_test.shape}")

# About 70,000 weights for 500 samples; Adam, mini-batches of 64.
common = dict(hidden_layer_sizes=(256, 256), batch_size=64, random_state=0)

# %%
# Dropout 0 vs 0.3 vs 0.5
# -----------------------
# Every model trains for exactly 100 epochs (``tol=0`` and
# ``n_iter_no_change=100`` switch the stopping rule off), so only the dropout
# rate differs. scikit-learn's ``MLPClassifier`` has no dropout; it is the
# ``dropout=0`` baseline. The training loss of the last epoch (``loss_``) is
# measured with dropout active, hence higher for larger rates.
fixed_budget = dict(max_iter=100, tol=0.0, n_iter_no_change=100)
dropout_models = {
    "sklearn MLPClassifier": MLPClassifier(**common, **fixed_budget),
    **{f"dropout={rate}": MLPClassifierPlus(dropout=rate, **common, **fixed_budget)
       for rate in (0.0, 0.3, 0.5)},
}
print(f"\n{'model':<24} {'train acc':>9} {'test acc':>8} {'gap':>6} {'final loss':>10}")
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    for name, model in dropout_models.items():
        model.fit(X_train, y_train)
        train_acc, test_acc = model.score(X_train, y_train), model.score(X_test, y_test)
        print(f"{name:<24} {train_acc:9.3f} {test_acc:8.3f} {train_acc - test_acc:6.3f} "
              f"{model.loss_:10.4f}")

# %%
# Early stopping with an explicit validation set
# ----------------------------------------------
# Hold out a quarter of the training data and pass it to ``fit``. With
# ``early_stopping=True`` the stopping rule watches the validation accuracy
# instead of the training loss, and the best epoch's weights are restored at
# the end: ``score(X_val, y_val)`` equals ``best_validation_score_``, not the
# score of the last epoch. (scikit-learn's ``MLPClassifier`` can only carve
# its validation set out of the training data, with ``validation_fraction``.)
X_fit, X_val, y_fit, y_val = train_test_split(
    X_train, y_train, test_size=0.25, stratify=y_train, random_state=0
)
stopping = dict(max_iter=300, early_stopping=True, n_iter_no_change=20)
early = {
    rate: MLPClassifierPlus(dropout=rate, **common, **stopping).fit(
        X_fit, y_fit, X_val=X_val, y_val=y_val)
    for rate in (0.0, 0.5)
}
sk_early = MLPClassifier(validation_fraction=0.25, **common, **stopping).fit(
    X_train, y_train)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    no_stop = MLPClassifierPlus(**common, **fixed_budget).fit(X_fit, y_fit)

print(f"\n{'model':<32} {'epochs':>6} {'best':>4} {'best val':>8} {'last val':>8} "
      f"{'val acc':>7} {'test acc':>8}")
for rate, model in early.items():
    scores = np.asarray(model.validation_scores_)
    # Ties keep the later epoch (trained longer, equally good on validation).
    best_epoch = np.flatnonzero(scores == scores.max())[-1] + 1
    print(f"{f'early stopping, dropout={rate}':<32} {model.n_iter_:6d} {best_epoch:4d} "
          f"{model.best_validation_score_:8.3f} {scores[-1]:8.3f} "
          f"{model.score(X_val, y_val):7.3f} {model.score(X_test, y_test):8.3f}")
print(f"{'no early stopping (100 epochs)':<32} {no_stop.n_iter_:6d} {'-':>4} {'-':>8} "
      f"{'-':>8} {no_stop.score(X_val, y_val):7.3f} {no_stop.score(X_test, y_test):8.3f}")
print(f"{'sklearn MLPClassifier, early':<32} {sk_early.n_iter_:6d} {'-':>4} "
      f"{sk_early.best_validation_score_:8.3f} {sk_early.validation_scores_[-1]:8.3f} "
      f"{'-':>7} {sk_early.score(X_test, y_test):8.3f}")

model = early[0.0]
print("\nbest weights restored: score(X_val, y_val) == best_validation_score_ ->",
      model.score(X_val, y_val) == model.best_validation_score_)
print("validation_scores_ (first 10 epochs):", np.round(model.validation_scores_[:10], 3))

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
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    names = list(dropout_models)
    pos = np.arange(len(names))
    axes[0].bar(pos - 0.2, [dropout_models[n].score(X_train, y_train) for n in names],
                width=0.4, label="train")
    axes[0].bar(pos + 0.2, [dropout_models[n].score(X_test, y_test) for n in names],
                width=0.4, label="test")
    axes[0].set_xticks(pos, names, rotation=15)
    axes[0].set(ylim=(0.5, 1.02), ylabel="accuracy", title="Dropout, 100 epochs")
    axes[0].legend()
    for rate, model in early.items():
        scores = np.asarray(model.validation_scores_)
        epochs = np.arange(1, len(scores) + 1)
        line, = axes[1].plot(epochs, scores, label=f"dropout={rate}")
        best = np.flatnonzero(scores == scores.max())[-1]
        axes[1].plot(epochs[best], scores[best], "o", color=line.get_color())
    axes[1].set(xlabel="epoch", ylabel="validation accuracy",
                title="Early stopping (dot: restored epoch)")
    axes[1].legend()
    fig.savefig("dropout_early_stopping.png")
    print("saved dropout_early_stopping.png")
