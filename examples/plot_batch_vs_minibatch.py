"""
==========================================================
Full-batch versus mini-batch gradient descent
==========================================================

Plain (full-batch) gradient descent computes the gradient on the whole
training set and takes one step per epoch. Mini-batch gradient descent cuts
the epoch into batches of ``batch_size`` samples and takes one (noisier, but
much cheaper) step per batch. This example trains the same network on the
same data with the same learning rate and no momentum, changing only
``batch_size``, and plots the training loss per epoch and per second of
training. scikit-learn's ``MLPClassifier`` with the same settings is timed
alongside.
"""

# %%
# Data and a fixed training budget
# --------------------------------
# The digits (1,797 images of 8x8 pixels), standardized with the statistics of
# the training split. Every model runs exactly 50 epochs (``tol=0`` and
# ``n_iter_no_change=50`` switch the stopping rule off), so the curves only
# differ by the batch size.
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from skoptim import MLPClassifierPlus

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
n_train = len(y_train)
print(f"train: {X_train.shape}, test: {X_test.shape}")

# solver='sgd' with momentum=0 is plain gradient descent: w -= lr * gradient.
n_epochs = 50
common = dict(hidden_layer_sizes=(64,), solver="sgd", momentum=0.0,
              learning_rate_init=0.1, max_iter=n_epochs, tol=0.0,
              n_iter_no_change=n_epochs, random_state=0)

# %%
# One batch per epoch versus many
# -------------------------------
# ``batch_size=n_train`` is full-batch gradient descent: one step per epoch.
# With 64 samples per batch the same epoch holds ``ceil(1347 / 64) = 22``
# steps, each computed on a twentieth of the data.
batch_sizes = {"full batch": n_train, "batch_size=256": 256,
               "batch_size=64": 64, "batch_size=16": 16}
models = {}
for name, batch_size in batch_sizes.items():
    models[name] = MLPClassifierPlus(batch_size=batch_size, **common)
for name, batch_size in [("full batch", n_train), ("batch_size=64", 64)]:
    models[f"sklearn, {name}"] = MLPClassifier(batch_size=batch_size, **common)

# A fixed budget of epochs never "converges": silence that warning.
warnings.simplefilter("ignore", ConvergenceWarning)
# One short untimed fit first, so that no timed fit pays for the first-call
# costs (imports, memory allocation).
MLPClassifierPlus(**{**common, "max_iter": 2}).fit(X_train, y_train)

target = 0.5  # a training-loss level to reach
seconds = {}
print(f"\n{'model':<28} {'steps/epoch':>11} {'fit s':>6} {'ms/epoch':>8} "
      f"{'final loss':>10} {'test acc':>8} {f'epochs to {target}':>15} "
      f"{f's to {target}':>10}")
for name, model in models.items():
    # The best of three timings (the fits are identical: same random_state).
    times = []
    for _ in range(3):
        start = time.perf_counter()
        model.fit(X_train, y_train)
        times.append(time.perf_counter() - start)
    seconds[name] = min(times)
    per_epoch = seconds[name] / model.n_iter_
    reached = np.flatnonzero(np.asarray(model.loss_curve_) <= target)
    epochs_to = f"{reached[0] + 1:d}" if reached.size else "never"
    secs_to = f"{(reached[0] + 1) * per_epoch:.3f}" if reached.size else "-"
    steps = -(-n_train // min(model.batch_size, n_train))
    print(f"{name:<28} {steps:11d} {seconds[name]:6.3f} {1000 * per_epoch:8.2f} "
          f"{model.loss_:10.4f} {model.score(X_test, y_test):8.4f} "
          f"{epochs_to:>15} {secs_to:>10}")

full, mini = models["full batch"], models["batch_size=64"]
print(f"\nafter {n_epochs} epochs the training loss is {full.loss_:.4f} with full "
      f"batches and {mini.loss_:.4f} with batches of 64; an epoch costs "
      f"{seconds['batch_size=64'] / seconds['full batch']:.1f}x as much time with "
      f"batches of 64 on this machine.")

# %%
# A larger rate for full-batch descent?
# -------------------------------------
# The exact gradient tolerates a larger step than a noisy one, so full-batch
# descent is usually given a larger rate. Even five times the rate, it is
# still one step per epoch:
big_step = MLPClassifierPlus(batch_size=n_train, **{**common, "learning_rate_init": 0.5})
big_step.fit(X_train, y_train)
print(f"full batch, learning_rate_init=0.5: final loss {big_step.loss_:.4f}, "
      f"test accuracy {big_step.score(X_test, y_test):.4f}")

# %%
# Loss per epoch and per second (matplotlib is optional)
# ------------------------------------------------------
# Every epoch of a fit costs about the same, so the time axis spreads each
# fit's measured wall time (the best of three runs) evenly over its epochs.
# On data this small the fixed cost of each step weighs heavily; the timings
# depend on the machine and its load.
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # pragma: no cover
    plt = None

if plt is not None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    for name, model in models.items():
        epochs = np.arange(1, model.n_iter_ + 1)
        style = "--" if name.startswith("sklearn") else "-"
        axes[0].plot(epochs, model.loss_curve_, style, label=name)
        axes[1].plot(epochs * seconds[name] / model.n_iter_, model.loss_curve_, style,
                     label=name)
    axes[0].set(xlabel="epoch", ylabel="training loss", yscale="log",
                title="Same data, same rate: loss per epoch")
    axes[1].set(xlabel="seconds of training", ylabel="training loss", yscale="log",
                title="Loss per second")
    axes[0].legend(fontsize="small")
    fig.savefig("batch_vs_minibatch.png")
    print("saved batch_vs_minibatch.png")
