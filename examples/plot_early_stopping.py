"""
==========================================================
Early stopping with best-weight restoring
==========================================================

Early stopping scores a validation set after every epoch and stops training
once the score has failed to improve for ``n_iter_no_change`` epochs; the
weights of the best epoch are then restored, so the model is the one that
scored best on validation, not the one of the last epoch. With
``early_stopping=True``, ``MLPClassifierPlus`` (like scikit-learn's
``MLPClassifier``) holds out a stratified ``validation_fraction`` of the
training data, or uses a validation set passed to ``fit`` as ``X_val`` and
``y_val``. The scores are kept in ``validation_scores_`` and the best one in
``best_validation_score_``.
"""

# %%
# A noisy problem that over-fits
# ------------------------------
# 20% of the labels are flipped and the network is large, so the validation
# accuracy can peak early and then drift as the network memorizes the noise.
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from skoptim import MLPClassifierPlus
from skoptim.plotting import LossCurveDisplay

X, y = make_classification(n_samples=2000, n_features=20, n_informative=5,
                           n_redundant=0, flip_y=0.2, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=0.5, stratify=y, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
# An explicit validation set: a quarter of the training data.
X_fit, X_val, y_fit, y_val = train_test_split(
    X_train, y_train, test_size=0.25, stratify=y_train, random_state=0
)
print(f"fit: {X_fit.shape}, validation: {X_val.shape}, test: {X_test.shape}")

n_epochs = 60
common = dict(hidden_layer_sizes=(256, 256), batch_size=64, max_iter=n_epochs,
              random_state=0)
warnings.simplefilter("ignore", ConvergenceWarning)

# %%
# Early stopping on ``X_val``/``y_val``, and the full curve for reference
# -----------------------------------------------------------------------
# ``stopped`` stops after 10 epochs without improvement. ``full`` never stops
# (its patience is the whole budget) but still scores every epoch and
# restores its best one at the end: its curve shows what early stopping cut.
stopped = MLPClassifierPlus(early_stopping=True, n_iter_no_change=10, **common)
stopped.fit(X_fit, y_fit, X_val=X_val, y_val=y_val)
full = MLPClassifierPlus(early_stopping=True, n_iter_no_change=n_epochs, **common)
full.fit(X_fit, y_fit, X_val=X_val, y_val=y_val)
# No early stopping at all: the weights of the last epoch.
last = MLPClassifierPlus(tol=0.0, n_iter_no_change=n_epochs, **common).fit(X_fit, y_fit)

# %%
# The validation set carved out of the training data, as in scikit-learn
# -------------------------------------------------------------------------
# Without ``X_val``, a stratified ``validation_fraction`` of the rows passed
# to ``fit`` is held out; scikit-learn's ``MLPClassifier`` does the same (and
# also restores its best weights).
carved = MLPClassifierPlus(early_stopping=True, validation_fraction=0.25,
                           n_iter_no_change=10, **common).fit(X_train, y_train)
sk_carved = MLPClassifier(early_stopping=True, validation_fraction=0.25,
                          n_iter_no_change=10, **common).fit(X_train, y_train)


def best_epoch(model):
    """The epoch whose weights were restored (the first with the best score)."""
    return int(np.argmax(model.validation_scores_)) + 1


print(f"\n{'model':<36} {'epochs':>6} {'best epoch':>10} {'best val':>8} "
      f"{'last val':>8} {'test acc':>8} {'test log-loss':>13}")
rows = {
    "X_val, n_iter_no_change=10": stopped,
    f"X_val, n_iter_no_change={n_epochs} (never)": full,
    "validation_fraction=0.25": carved,
    "sklearn, validation_fraction=0.25": sk_carved,
}
for name, model in rows.items():
    print(f"{name:<36} {model.n_iter_:6d} {best_epoch(model):10d} "
          f"{model.best_validation_score_:8.3f} {model.validation_scores_[-1]:8.3f} "
          f"{model.score(X_test, y_test):8.3f} "
          f"{log_loss(y_test, model.predict_proba(X_test)):13.3f}")
print(f"{'no early stopping':<36} {last.n_iter_:6d} {'-':>10} {'-':>8} "
      f"{last.score(X_val, y_val):8.3f} {last.score(X_test, y_test):8.3f} "
      f"{log_loss(y_test, last.predict_proba(X_test)):13.3f}")

print(f"\nstopped at epoch {stopped.n_iter_}, restored epoch {best_epoch(stopped)}: "
      f"score(X_val, y_val) = {stopped.score(X_val, y_val):.3f} equals "
      f"best_validation_score_ = {stopped.best_validation_score_:.3f}: "
      f"{stopped.score(X_val, y_val) == stopped.best_validation_score_}")
print(f"epochs saved against the full budget: {n_epochs - stopped.n_iter_} of {n_epochs}")

# %%
# Plots (matplotlib is optional)
# ------------------------------
# Left, :class:`~skoptim.plotting.LossCurveDisplay` of the early-stopped model:
# the training loss and, on the right axis, the validation accuracy, with the
# restored epoch marked. Right, the validation accuracy of the run that never
# stops, with the epochs where early stopping stopped and which it restored.
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # pragma: no cover
    plt = None

if plt is not None:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    display = LossCurveDisplay.from_estimator(stopped, ax=axes[0],
                                              name="n_iter_no_change=10")
    display.score_ax_.plot(best_epoch(stopped), stopped.best_validation_score_, "o",
                           color="tab:red")
    axes[0].set(title=f"Early stopping on X_val (dot: restored epoch "
                      f"{best_epoch(stopped)})")
    epochs = np.arange(1, full.n_iter_ + 1)
    axes[1].plot(epochs, full.validation_scores_, color="tab:orange",
                 label=f"validation accuracy, {n_epochs} epochs")
    axes[1].axvline(best_epoch(stopped), color="tab:red", linestyle=":",
                    label="restored epoch")
    axes[1].axvline(stopped.n_iter_, color="k", linestyle="--",
                    label="stopped (patience 10)")
    axes[1].set(xlabel="epoch", ylabel="validation accuracy",
                title="What early stopping cut")
    axes[1].legend(fontsize="small")
    fig.savefig("early_stopping.png")
    print("saved early_stopping.png")
