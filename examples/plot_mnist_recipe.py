"""
==========================================================
The MNIST recipe: a 784-128-10 network with Adam
==========================================================

The classic first network for handwritten digits: 28x28 = 784 pixels scaled
to [0, 1], one hidden layer of 128 ReLU units, a softmax over the 10 digits,
Adam with its default rate and mini-batches of 128 images.
``MLPClassifierPlus(hidden_layer_sizes=(128,), solver='adam', batch_size=128)``
is that network; scikit-learn's ``MLPClassifier`` with the same parameters
trains alongside, and both are timed.

The MNIST images themselves (``fetch_openml('mnist_784')``) are used only if
they are already in scikit-learn's download cache: this example never
downloads anything. Otherwise it falls back to scikit-learn's own 8x8 digits,
upscaled to the MNIST layout (each digit resized to 20x20 and centred in a
28x28 frame), which gives the same 784-feature problem on 1,797 images.
"""

# %%
# MNIST if cached, else the digits at MNIST's size
# ------------------------------------------------
# ``fetch_openml`` has no ``download_if_missing`` option, so the network is
# switched off for the call: any file missing from the cache raises, and every
# error (no cache, no pandas, an incomplete cache) leads to the fallback.
import time
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
from scipy.ndimage import zoom
from sklearn.datasets import fetch_openml, get_data_home, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from skoptim import MLPClassifierPlus
from skoptim.plotting import LossCurveDisplay


def offline(*args, **kwargs):
    raise OSError("a file is missing from the cache (no download here)")


def load_cached_mnist():
    """MNIST from scikit-learn's cache as (X in [0, 1], y), or None."""
    # Where fetch_openml keeps what it has looked up by name.
    cache = (Path(get_data_home()) / "openml" / "openml.org" / "api" / "v1" / "json"
             / "data" / "list" / "data_name" / "mnist_784")
    try:
        if not cache.is_dir():
            raise FileNotFoundError(f"nothing cached in {cache}")
        with warnings.catch_warnings(), \
                mock.patch("sklearn.datasets._openml.urlopen", offline):
            warnings.simplefilter("ignore")  # e.g. "Invalid cache, redownloading"
            X, y = fetch_openml("mnist_784", version=1, as_frame=False,
                                return_X_y=True, n_retries=1, delay=0.1)
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        print(f"MNIST is not available offline ({type(exc).__name__}: {exc}); "
              "falling back to scikit-learn's digits, upscaled to 28x28.")
        return None
    return np.asarray(X, dtype=np.float64) / 255.0, np.asarray(y).astype(int)


def digits_as_mnist():
    """The 8x8 digits resized to 20x20 and centred in 28x28, in [0, 1]."""
    digits = load_digits()
    images = zoom(digits.images / 16.0, (1, 2.5, 2.5), order=1)  # (n, 20, 20)
    images = np.pad(np.clip(images, 0.0, 1.0), ((0, 0), (4, 4), (4, 4)))
    return images.reshape(len(images), -1), digits.target, digits.images


mnist = load_cached_mnist()
if mnist is not None:
    X, y = mnist
    source = "MNIST (from the cache)"
    # MNIST's own split (the first 60,000 images train), subsampled so that
    # the example stays fast.
    X_train, y_train = X[:5_000], y[:5_000]
    X_test, y_test = X[60_000:62_000], y[60_000:62_000]
    small = None
    n_epochs = 10
else:
    X, y, small = digits_as_mnist()
    source = "digits upscaled to 28x28"
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    n_epochs = 50
print(f"data: {source}; train {X_train.shape}, test {X_test.shape}, "
      f"pixels in [{X_train.min():.1f}, {X_train.max():.1f}]")

# %%
# The same network in skoptim and in scikit-learn
# -----------------------------------------------
# At most ``n_epochs`` epochs, with the default stopping rule. float32
# halves the memory traffic; both libraries keep float32 data in float32.
recipe = dict(hidden_layer_sizes=(128,), solver="adam", learning_rate_init=0.001,
              batch_size=128, max_iter=n_epochs, random_state=0)
runs = {
    "MLPClassifierPlus, float64": (MLPClassifierPlus(**recipe), np.float64),
    "sklearn MLPClassifier, float64": (MLPClassifier(**recipe), np.float64),
    "MLPClassifierPlus, float32": (MLPClassifierPlus(**recipe), np.float32),
    "sklearn MLPClassifier, float32": (MLPClassifier(**recipe), np.float32),
}
print(f"\n{'model':<32} {'epochs':>6} {'fit s':>6} {'ms/epoch':>8} {'train acc':>9} "
      f"{'test acc':>8}")
seconds = {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    for name, (model, dtype) in runs.items():
        Xtr, Xte = X_train.astype(dtype), X_test.astype(dtype)
        start = time.perf_counter()
        model.fit(Xtr, y_train)
        seconds[name] = time.perf_counter() - start
        print(f"{name:<32} {model.n_iter_:6d} {seconds[name]:6.2f} "
              f"{1000 * seconds[name] / model.n_iter_:8.1f} "
              f"{model.score(Xtr, y_train):9.4f} {model.score(Xte, y_test):8.4f}")

plus, sk = runs["MLPClassifierPlus, float64"][0], runs["sklearn MLPClassifier, float64"][0]
print(f"\nfloat64 time per epoch: MLPClassifierPlus "
      f"{1000 * seconds['MLPClassifierPlus, float64'] / plus.n_iter_:.1f} ms, "
      f"MLPClassifier "
      f"{1000 * seconds['sklearn MLPClassifier, float64'] / sk.n_iter_:.1f} ms "
      f"(on this machine, in this run); parameters: "
      f"{sum(W.size + b.size for W, b in zip(plus.coefs_, plus.intercepts_))}")

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
    fig = plt.figure(figsize=(12, 4.5), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[1, 1.3])
    tiles = left.subplots(2, 4)
    for k, ax in enumerate(tiles.flat):
        if small is not None and k < 4:
            ax.imshow(small[k], cmap="gray_r")
            ax.set_title(f"8x8: {y[k]}", fontsize="small")
        else:
            i = k - 4 if small is not None else k
            ax.imshow(X[i].reshape(28, 28), cmap="gray_r")
            ax.set_title(f"28x28: {y[i]}", fontsize="small")
        ax.set(xticks=[], yticks=[])
    left.suptitle(source)
    ax = right.subplots()
    for name in ("MLPClassifierPlus, float64", "sklearn MLPClassifier, float64"):
        LossCurveDisplay.from_estimator(runs[name][0], ax=ax, name=name.split(",")[0])
    ax.set(yscale="log", title="784-128-10, Adam, batch_size=128")
    ax.legend()
    fig.savefig("mnist_recipe.png")
    print("saved mnist_recipe.png")
