"""
==========================================================
Optimizers and learning-rate schedules for an MLP
==========================================================

The classic MNIST recipe (standardize the pixels, one hidden ReLU layer, a
softmax output, mini-batches of 128, Adam) run on scikit-learn's 8x8
``load_digits`` so that it takes seconds. ``MLPClassifierPlus`` trains the
same network with SGD + momentum, Nesterov momentum, RMSprop, Adam, AdamW and
Nadam, next to scikit-learn's ``MLPClassifier(solver='adam')``. A second
table compares learning-rate schedules (constant, inverse scaling, cosine
decay with a linear warm-up, reduce-on-plateau) for Adam started with a
deliberately large rate, and a third one the batch size.
"""

# %%
# Data: the MNIST recipe on the digits
# ------------------------------------
# Scale the features with statistics of the training split only, and keep a
# stratified test split aside.
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from skoptim import MLPClassifierPlus
from skoptim.optim import Adam, Constant, CosineDecay, InvScaling, ReduceOnPlateau

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
print(f"train: {X_train.shape}, test: {X_test.shape}, classes: {len(set(y))}")

# One hidden layer of 64 ReLU units, mini-batches of 128, at most 100 epochs.
common = dict(hidden_layer_sizes=(64,), batch_size=128, max_iter=100, random_state=0)


def report(models, title):
    """Fit every model and print one line per model."""
    print(f"\n{title}")
    print(f"{'model':<28} {'train acc':>9} {'test acc':>8} {'epochs':>6} "
          f"{'final loss':>10}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, model in models.items():
            model.fit(X_train, y_train)
            print(f"{name:<28} {model.score(X_train, y_train):9.4f} "
                  f"{model.score(X_test, y_test):8.4f} {model.n_iter_:6d} "
                  f"{model.loss_:10.5f}")


# %%
# Optimizers
# ----------
# The momentum methods take a larger rate than the adaptive ones, whose step
# is already normalized per parameter. ``solver='sgd'`` keeps scikit-learn's
# meaning (momentum and ``nesterovs_momentum``); the other names pick the
# optimizers of :mod:`skoptim.optim` with their default hyperparameters
# (AdamW decays the weights by ``weight_decay=0.01`` times the rate).
optimizers = {
    "sklearn MLPClassifier(adam)": MLPClassifier(solver="adam", **common),
    "sgd + momentum 0.9": MLPClassifierPlus(
        solver="sgd", momentum=0.9, nesterovs_momentum=False,
        learning_rate_init=0.05, **common),
    "nesterov": MLPClassifierPlus(solver="nesterov", learning_rate_init=0.05, **common),
    "rmsprop": MLPClassifierPlus(solver="rmsprop", learning_rate_init=0.001, **common),
    "adam": MLPClassifierPlus(solver="adam", learning_rate_init=0.001, **common),
    "adamw": MLPClassifierPlus(solver="adamw", learning_rate_init=0.001, **common),
    "nadam": MLPClassifierPlus(solver="nadam", learning_rate_init=0.001, **common),
}
report(optimizers, "Optimizers (hidden=(64,), batch_size=128)")

# %%
# Learning-rate schedules
# -----------------------
# Adam with ``learning_rate_init=0.05`` is too fast for this network: with a
# constant rate the loss bounces and the stopping rule ends training early.
# Unlike scikit-learn, ``MLPClassifierPlus`` applies ``learning_rate`` to
# every stochastic solver, Adam included, so a decaying schedule can rescue
# the large rate:
#
# - ``InvScaling(power_t=0.25)``: ``lr / (samples_seen + 1) ** 0.25``;
# - ``CosineDecay(warmup_steps=55)``: a linear warm-up over the first 55
#   mini-batches (5 epochs of 11 batches), then a cosine to 0 at ``max_iter``;
# - ``ReduceOnPlateau(factor=0.2, patience=3)``: divide the rate by 5 after
#   3 epochs without improvement of the training loss.
schedules = {
    "constant": Constant(),
    "InvScaling(power_t=0.25)": InvScaling(power_t=0.25),
    "CosineDecay(warmup=55)": CosineDecay(warmup_steps=55),
    "ReduceOnPlateau(0.2, 3)": ReduceOnPlateau(factor=0.2, patience=3),
}
scheduled = {
    name: MLPClassifierPlus(solver=Adam(), learning_rate_init=0.05,
                            learning_rate=schedule, **common)
    for name, schedule in schedules.items()
}
report(scheduled, "Schedules (Adam, learning_rate_init=0.05)")

# %%
# Batch size
# ----------
# The batch size trades the number of updates per epoch against the noise of
# each gradient; with Adam at a fixed rate, smaller batches take more (and
# noisier) steps per epoch.
batches = {
    f"adam, batch_size={b}": MLPClassifierPlus(
        solver="adam", learning_rate_init=0.001,
        **{**common, "batch_size": b})
    for b in (32, 128, 512)
}
report(batches, "Batch size (Adam, learning_rate_init=0.001)")

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
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, model in optimizers.items():
        axes[0].plot(model.loss_curve_, label=name)
    axes[0].set(xlabel="epoch", ylabel="training loss", yscale="log",
                title="Optimizers (digits, hidden=(64,))")
    for name, model in scheduled.items():
        axes[1].plot(model.loss_curve_, label=name)
    axes[1].set(xlabel="epoch", ylabel="training loss", yscale="log",
                title="Schedules (Adam, learning_rate_init=0.05)")
    for ax in axes:
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig("mlp_optimizers.png")
    print("saved mlp_optimizers.png")
