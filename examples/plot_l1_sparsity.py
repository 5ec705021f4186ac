"""
==========================================================
L1, L2 and elastic-net: exact zeros from proximal steps
==========================================================

An L2 penalty shrinks every weight; an L1 penalty sets some of them exactly
to zero. skoptim applies the L1 part as a proximal (soft-thresholding) step
after each optimizer update, so ``coef_`` holds true zeros rather than tiny
values. This example fits a linear problem whose ground truth has only 5
non-zero coefficients out of 50 with ``SGDRegressorPlus`` and the L2, L1 and
elastic-net penalties, next to scikit-learn's ``Lasso`` and ``ElasticNet``
(which minimize the same objectives by coordinate descent), ``Ridge``
and ``SGDRegressor``. It then prunes the first layer of an ``MLPClassifierPlus``
on the digits with ``penalty='l1'``.
"""

# %%
# A sparse ground truth
# ---------------------
# 50 features, 5 of them informative: the true coefficient vector has 45
# zeros.
import warnings

import numpy as np
from sklearn.datasets import load_digits, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet, Lasso, Ridge, SGDRegressor
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skoptim import MLPClassifierPlus, SGDRegressorPlus
from skoptim.optim import Adam

X, y, true_coef = make_regression(n_samples=1000, n_features=50, n_informative=5,
                                  noise=5.0, coef=True, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
support = true_coef != 0
print(f"true coefficients: {support.sum()} non-zero, {np.sum(~support)} zero")

# %%
# L2 vs L1 vs elastic-net at the same strength
# --------------------------------------------
# ``SGDRegressorPlus`` minimizes ``mean(r**2) / 2 + alpha * (l1_ratio *
# ||w||_1 + (1 - l1_ratio) / 2 * ||w||_2**2)``. For the same ``alpha`` this is
# the objective of ``Lasso`` (``penalty='l1'``) and ``ElasticNet``
# (``penalty='elasticnet'``), and ``Ridge(alpha * n_samples)`` solves the L2
# one in closed form: each skoptim model is compared with its scikit-learn
# twin in the last column.
alpha = 1.0
n_train = len(y_train)
models = {
    "sklearn Ridge": Ridge(alpha=alpha * n_train),
    "sklearn Lasso": Lasso(alpha=alpha),
    "sklearn ElasticNet(0.5)": ElasticNet(alpha=alpha, l1_ratio=0.5),
    "sklearn SGDRegressor(l1)": SGDRegressor(penalty="l1", alpha=alpha, random_state=0),
    "Plus l2": SGDRegressorPlus(penalty="l2", alpha=alpha, random_state=0),
    "Plus l1": SGDRegressorPlus(penalty="l1", alpha=alpha, random_state=0),
    "Plus elasticnet(0.5)": SGDRegressorPlus(penalty="elasticnet", l1_ratio=0.5,
                                             alpha=alpha, random_state=0),
    "Plus l1, Adam": SGDRegressorPlus(penalty="l1", alpha=alpha, solver=Adam(),
                                      eta0=0.5, learning_rate="constant",
                                      random_state=0),
}
twins = {
    "sklearn SGDRegressor(l1)": "sklearn Lasso",
    "Plus l2": "sklearn Ridge",
    "Plus l1": "sklearn Lasso",
    "Plus elasticnet(0.5)": "sklearn ElasticNet(0.5)",
    "Plus l1, Adam": "sklearn Lasso",
}

print(f"\nalpha={alpha}")
print(f"{'model':<26} {'zeros':>5} {'support kept':>12} {'test R2':>8} "
      f"{'max|w - twin|':>13}  twin")
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    for model in models.values():
        model.fit(X_train, y_train)
for name, model in models.items():
    coef = model.coef_
    twin = twins.get(name)
    gap = f"{np.abs(coef - models[twin].coef_).max():13.4f}  {twin}" if twin else \
        f"{'-':>13}"
    kept = np.sum(coef[support] != 0)
    print(f"{name:<26} {np.sum(coef == 0):5d} {kept:9d}/{support.sum()} "
          f"{model.score(X_test, y_test):8.4f} {gap}")

# %%
# The L1 path
# -----------
# A stronger L1 penalty gives more exact zeros; ``SGDRegressorPlus`` counts
# the same zeros as ``Lasso`` along the path.
print(f"\n{'alpha':>6} {'Lasso zeros':>11} {'Plus l1 zeros':>13} {'Plus l1 test R2':>15}")
for a in (0.01, 0.1, 0.3, 1.0, 3.0):
    lasso = Lasso(alpha=a).fit(X_train, y_train)
    plus = SGDRegressorPlus(penalty="l1", alpha=a, random_state=0).fit(X_train, y_train)
    print(f"{a:6g} {np.sum(lasso.coef_ == 0):11d} {np.sum(plus.coef_ == 0):13d} "
          f"{plus.score(X_test, y_test):15.4f}")

# %%
# Pruning the first layer of an MLP
# ---------------------------------
# ``MLPClassifierPlus(penalty='l1')`` applies the same proximal step to every
# weight matrix. As in scikit-learn, the penalty of a mini-batch is divided by
# its number of samples. With Adam the threshold follows Adam's per-weight
# step size. Zeros in ``coefs_[0]`` are removed connections; a row of zeros
# is an input pixel the network no longer reads (the digits have a few
# constant border pixels), a column of zeros a hidden unit that receives no
# input.
Xd, yd = load_digits(return_X_y=True)
Xd_train, Xd_test, yd_train, yd_test = train_test_split(
    Xd, yd, test_size=0.25, stratify=yd, random_state=0
)
scaler = StandardScaler().fit(Xd_train)
Xd_train, Xd_test = scaler.transform(Xd_train), scaler.transform(Xd_test)

print(f"\n{'MLP (digits, hidden=(64,))':<28} {'zeros in W1':>11} {'pixels cut':>10} "
      f"{'units cut':>9} {'test acc':>8}")
mlps = {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    for penalty, a in [("l2", 1e-4), ("l1", 0.1), ("l1", 0.3), ("l1", 1.0)]:
        mlp = MLPClassifierPlus(hidden_layer_sizes=(64,), penalty=penalty, alpha=a,
                                solver="adam", batch_size=128, max_iter=100,
                                random_state=0).fit(Xd_train, yd_train)
        mlps[(penalty, a)] = mlp
        W = mlp.coefs_[0]  # shape (64 pixels, 64 hidden units)
        pixels_cut = np.sum(np.all(W == 0, axis=1))
        units_cut = np.sum(np.all(W == 0, axis=0))
        print(f"{f'penalty={penalty!r}, alpha={a:g}':<28} {np.mean(W == 0):11.1%} "
              f"{pixels_cut:7d}/64 {units_cut:6d}/64 {mlp.score(Xd_test, yd_test):8.4f}")

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
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), layout="constrained",
                             gridspec_kw={"width_ratios": [2, 1, 1]})
    idx = np.arange(X.shape[1])
    axes[0].plot(idx, true_coef, "ko", mfc="none", label="ground truth")
    for name, marker in [("Plus l2", "x"), ("Plus l1", "+"), ("sklearn Lasso", ".")]:
        axes[0].plot(idx, models[name].coef_, marker, label=name)
    axes[0].set(xlabel="feature", ylabel="coefficient",
                title=f"SGDRegressorPlus, alpha={alpha}")
    axes[0].legend(fontsize="small")
    for ax, key in zip(axes[1:], [("l2", 1e-4), ("l1", 0.3)]):
        kept = np.sum(mlps[key].coefs_[0] != 0, axis=1).reshape(8, 8)
        im = ax.imshow(kept, cmap="viridis", vmin=0, vmax=64)
        ax.set(title=f"connections kept per pixel\npenalty={key[0]!r}, alpha={key[1]:g}",
               xticks=[], yticks=[])
    fig.colorbar(im, ax=axes[1:].tolist(), shrink=0.8)
    fig.savefig("l1_sparsity.png")
    print("saved l1_sparsity.png")
