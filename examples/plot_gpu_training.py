"""
==========================================================
Training on a GPU, and bringing the model back
==========================================================

``device='cuda'`` trains an estimator with CuPy on the GPU: the training set
is copied there once, every batch and every optimizer step runs there, and
the host reads the loss once per epoch. The fitted model stays what
scikit-learn code expects: with NumPy input, ``coefs_`` are NumPy arrays and
``predict`` takes NumPy data. CuPy input keeps everything on the GPU, and
:func:`skoptim.move_to` moves a GPU model to NumPy, e.g. before pickling it
for a machine without a GPU.

This script runs anywhere: without CuPy or a CUDA device it trains on the CPU
and says so. Initial weights and dropout masks are drawn from the same
counter-based hash on every device, so with ``shuffle=False`` a CPU fit and a
GPU fit follow the same trajectory up to rounding.
"""

# %%
# Is there a GPU?
# ---------------
import pickle
import time
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skoptim import MLPClassifierPlus, move_to

try:
    import cupy

    HAS_GPU = cupy.cuda.runtime.getDeviceCount() > 0
    why_not = "CuPy sees no CUDA device"
except ImportError:
    HAS_GPU, why_not = False, "CuPy is not installed (pip install \"skoptim[gpu]\")"
except Exception as exc:  # no driver, no device, a broken CUDA install
    HAS_GPU, why_not = False, f"CuPy cannot reach a GPU ({type(exc).__name__}: {exc})"
DEVICE = "cuda" if HAS_GPU else "cpu"
if HAS_GPU:
    print(f"GPU available: training with device={DEVICE!r}")
else:
    print(f"No GPU: {why_not}. Falling back to the CPU (device='cpu'); the GPU-only "
          "steps below are skipped.")
warnings.simplefilter("ignore", ConvergenceWarning)

# %%
# float32 data: the fast path on a GPU
# ------------------------------------
X, y = make_classification(n_samples=20_000, n_features=200, n_informative=40,
                           n_classes=5, random_state=0)
X = X.astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
params = dict(hidden_layer_sizes=(256,), solver="adamw", dropout=0.1,
              batch_size=256, max_iter=10, shuffle=False, random_state=0)

# %%
# The same fit on the CPU and on the chosen device
# ------------------------------------------------
fits = {}
for device in dict.fromkeys(["cpu", DEVICE]):
    clf = MLPClassifierPlus(device=device, **params)
    start = time.perf_counter()
    clf.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    fits[device] = clf
    print(f"device={device!r}: {seconds / clf.n_iter_:.3f} s/epoch, "
          f"test accuracy {clf.score(X_test, y_test):.4f}, "
          f"coefs_ are {type(clf.coefs_[0]).__module__}.{type(clf.coefs_[0]).__name__} "
          f"of {clf.coefs_[0].dtype}")
if HAS_GPU:
    gap = max(np.max(np.abs(a - b)) for a, b in zip(fits["cpu"].coefs_,
                                                    fits["cuda"].coefs_))
    print(f"largest weight difference between the CPU and GPU fits: {gap:.2e}")

# %%
# CuPy in, CuPy out; then back to NumPy for pickling
# --------------------------------------------------
if HAS_GPU:
    gpu_clf = MLPClassifierPlus(**params).fit(cupy.asarray(X_train), cupy.asarray(y_train))
    proba = gpu_clf.predict_proba(cupy.asarray(X_test))
    print(f"CuPy input: predict_proba returns {type(proba).__module__}.ndarray")
    expected = cupy.asnumpy(proba)
    portable = move_to(gpu_clf, "numpy")
else:
    portable = fits["cpu"]
    expected = portable.predict_proba(X_test)
restored = pickle.loads(pickle.dumps(portable))
print("pickled and restored model predicts the same probabilities:",
      np.allclose(restored.predict_proba(X_test), expected, rtol=1e-5))

# %%
# Loss curves (matplotlib is optional)
# ------------------------------------
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # pragma: no cover
    plt = None

if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    for (device, clf), style in zip(fits.items(), ["-", "--"]):
        ax.plot(np.arange(1, clf.n_iter_ + 1), clf.loss_curve_, style, label=device)
    ax.set(xlabel="epoch", ylabel="training loss", title="Same seed, CPU vs GPU")
    ax.legend()
    fig.savefig("gpu_training.png")
    print("saved gpu_training.png")
