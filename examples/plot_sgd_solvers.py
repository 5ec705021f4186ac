"""
=========================================================
Optimizers compared on a linear regression problem
=========================================================

``SGDRegressorPlus`` accepts every optimizer of :mod:`skoptim.optim`. This
example fits the diabetes data with plain SGD (scikit-learn's defaults),
momentum, Adam and AdamW, next to scikit-learn's ``SGDRegressor`` and the
closed-form ``Ridge`` solution, and plots the training loss per epoch.
"""

# %%
# Data and models
# ---------------
import warnings

from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge, SGDRegressor
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skoptim import SGDRegressorPlus
from skoptim.optim import Adam, AdamW, Momentum

X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

# Adaptive optimizers take eta0 as a step size in parameter units: the target
# is in the hundreds, so they get a larger rate than per-sample SGD.
models = {
    "sklearn SGDRegressor": SGDRegressor(random_state=0),
    "sgd (defaults)": SGDRegressorPlus(random_state=0),
    "momentum": SGDRegressorPlus(solver=Momentum(momentum=0.5), random_state=0),
    "adam": SGDRegressorPlus(solver=Adam(), eta0=1.0, learning_rate="constant",
                             random_state=0),
    "adamw": SGDRegressorPlus(solver=AdamW(weight_decay=1e-3), eta0=1.0,
                              learning_rate="constant", random_state=0),
    "Ridge (closed form)": Ridge(alpha=1e-4 * len(y_train)),
}

# %%
# Fit and compare
# ---------------
print(f"{'model':<22} {'test R2':>8} {'epochs':>7}")
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    for name, model in models.items():
        model.fit(X_train, y_train)
        epochs = getattr(model, "n_iter_", "-")
        print(f"{name:<22} {model.score(X_test, y_test):8.4f} {epochs!s:>7}")

# %%
# Training curves (matplotlib is optional)
# ----------------------------------------
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # pragma: no cover
    plt = None

if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, model in models.items():
        if hasattr(model, "loss_curve_"):
            ax.plot(model.loss_curve_, label=name)
    ax.set(xlabel="epoch", ylabel="objective", yscale="log",
           title="SGDRegressorPlus: optimizers on diabetes")
    ax.legend()
    fig.tight_layout()
    fig.savefig("sgd_solvers.png")
    print("saved sgd_solvers.png")
