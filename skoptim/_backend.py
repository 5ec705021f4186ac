"""Where the array work runs: namespace, device and dtype, resolved once per call.

This module detects the namespace of the input and moves arrays between the
host and the device. The rest of skoptim receives a :class:`Backend` and calls
array-API functions on ``backend.xp``; fused kernels live in
:mod:`skoptim._kernels`, random numbers in :mod:`skoptim._random` and helpers
over trees of arrays in :mod:`skoptim._tree`.
"""

# SPDX-License-Identifier: BSD-3-Clause

import importlib
import importlib.util
import re
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.utils._array_api import get_namespace_and_device

_CUDA_RE = re.compile(r"^cuda(:\d+)?$")
GPU_INSTALL_HINT = 'pip install "skoptim[gpu]"'


@dataclass(frozen=True)
class Backend:
    """A resolved namespace, device and floating dtype.

    Attributes
    ----------
    xp : module
        The array-API namespace the computation runs in.
    device : object
        The device of that namespace (``"cpu"`` for NumPy).
    dtype : dtype
        The floating dtype of parameters and predictions.
    is_numpy : bool
        True when ``xp`` is NumPy (or its array-API wrapper), which enables
        the in-place NumPy fast paths and SciPy sparse input.
    """

    xp: object
    device: object
    dtype: object
    is_numpy: bool

    @property
    def is_cupy(self):
        """True when ``xp`` is CuPy's namespace (the GPU fast paths)."""
        return "cupy" in self.xp.__name__

    def asarray(self, a, dtype=None):
        """Move ``a`` into this backend (no copy when already there)."""
        if sp.issparse(a):
            return a
        if not self.is_numpy and namespace_of(a) is not self.xp:
            a = to_numpy(a)
        return self.xp.asarray(a, dtype=dtype or self.dtype, device=self.device)

    def move_input(self, X):
        """Move validated input data here: dense or sparse, host or device."""
        if X is None:
            return X
        if self.is_numpy:
            return to_numpy(X)
        if self.is_cupy:
            if sp.issparse(X):
                import cupyx.scipy.sparse as cusp

                return cusp.csr_matrix(X)
            if is_sparse(X):
                return X
        return self.move(X)

    def move(self, a):
        """Move ``a`` (any namespace) here, keeping its dtype unless floating."""
        if a is None or is_sparse(a):
            return a
        if self.is_numpy:
            return to_numpy(a)
        if namespace_of(a) is not self.xp:
            a = to_numpy(a)
        return self.xp.asarray(a, device=self.device)

    def rng(self, seed_or_state):
        """Return a :class:`DeviceRNG` seeded from an int or a saved state."""
        from skoptim._random import DeviceRNG

        return DeviceRNG(self, seed_or_state)


def namespace_of(a):
    if isinstance(a, (np.ndarray, np.generic)):
        return np
    from array_api_compat import array_namespace

    try:
        return array_namespace(a)
    except TypeError:
        return None


def is_numpy_namespace(xp):
    """True for NumPy and the array-API-compat wrapper of NumPy."""
    name = xp.__name__
    return name == "numpy" or name.endswith("array_api_compat.numpy")


def namespace_name(xp):
    """A short human name of a namespace for error messages."""
    return xp.__name__.rsplit("array_api_compat.", 1)[-1]


def _import_cupy():
    try:
        return importlib.import_module("cupy")
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise ImportError(
            "device='cuda' needs CuPy, which is not installed. Install the GPU "
            f"extra: {GPU_INSTALL_HINT}"
        ) from exc


def cuda_available():
    """Whether CuPy is installed and finds a CUDA device (CuPy is imported
    only when it is installed)."""
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # CuPy without a driver or a device
        return False


def check_device(device):
    """Validate the ``device`` parameter's value."""
    if device in ("auto", "cpu") or (isinstance(device, str) and _CUDA_RE.match(device)):
        return device
    raise ValueError(
        "The 'device' parameter must be 'auto', 'cpu', 'cuda' or 'cuda:N'; "
        f"got {device!r}."
    )

def is_sparse(X):
    """True for SciPy sparse and CuPy (``cupyx.scipy.sparse``) sparse matrices."""
    return sp.issparse(X) or type(X).__module__.startswith("cupyx.scipy.sparse")


def _is_cupy(X):
    return type(X).__module__.split(".")[0] in ("cupy", "cupyx")


def resolve_backend(X, *, device="auto", dtype=None):
    """Resolve namespace, device and dtype for ``X`` once per call.

    Parameters
    ----------
    X : array-like or sparse matrix
        The input; its namespace is followed when ``device='auto'``.
    device : {'auto', 'cpu', 'cuda', 'cuda:N'}
        Where the computation runs.
    dtype : dtype, default=None
        The floating dtype; None takes ``X``'s if floating, else float64.
    """
    check_device(device)
    if _is_cupy(X):
        # CuPy input trains on its GPU whether or not scikit-learn's
        # array-API dispatch is enabled.
        cupy = _import_cupy()
        from array_api_compat import array_namespace

        xp, dev = array_namespace(cupy.empty(0)), X.device
    elif sp.issparse(X) or isinstance(X, (list, tuple)) or not hasattr(X, "shape"):
        xp, dev = np, "cpu"
    else:
        xp, _, dev = get_namespace_and_device(X)
        if is_numpy_namespace(xp):
            xp, dev = np, "cpu"
    if device == "cpu":
        # CuPy input moves to NumPy on the host, PyTorch input to torch's CPU
        # device; other namespaces keep theirs (array_api_strict's are all
        # host memory).
        if "cupy" in xp.__name__:
            xp, dev = np, "cpu"
        elif "torch" in xp.__name__:
            dev = _torch_device("cpu")
    elif device.startswith("cuda") and "torch" in xp.__name__:
        dev = _torch_device(device)  # PyTorch input trains on torch's GPU
    elif device.startswith("cuda") and "cupy" not in xp.__name__:
        cupy = _import_cupy()
        from array_api_compat import array_namespace

        xp = array_namespace(cupy.empty(0))
        dev = cupy.cuda.Device(int(device.split(":")[1]) if ":" in device else 0)
    if dtype is None:
        dtype = getattr(X, "dtype", None)
        if dtype is None and hasattr(X, "dtypes"):
            # A DataFrame: float32 when all its columns are (as validate_data keeps).
            # scikit-learn's validation keeps the columns' common type.
            try:
                dtype = np.result_type(*X.dtypes)
            except TypeError:  # pandas extension dtypes: validation decides
                dtype = None
    dtype = _floating_dtype(xp, dtype)
    return Backend(xp=xp, device=dev, dtype=dtype, is_numpy=is_numpy_namespace(xp))


def _torch_device(name):
    """``torch.device(name)``; torch is imported already (its tensor was given)."""
    import torch

    return torch.device(name)


def _floating_dtype(xp, dtype):
    """float32 stays float32; everything else computes in float64."""
    if dtype is not None:
        if dtype == xp.float32 or str(dtype) in ("float32", "torch.float32"):
            return xp.float32
    return xp.float64


def to_numpy(a):
    """Return a NumPy array (or SciPy sparse matrix) holding ``a`` on the host."""
    if a is None or isinstance(a, (np.ndarray, np.generic)) or sp.issparse(a):
        return a
    mod = type(a).__module__
    if mod.startswith("cupyx.scipy.sparse"):  # pragma: no cover - GPU only
        return a.get()
    if mod.startswith("cupy"):  # pragma: no cover - GPU only
        return a.get()
    if mod.startswith("torch"):
        return a.detach().cpu().numpy()
    try:
        return np.asarray(a)
    except (RuntimeError, TypeError, ValueError):
        # A namespace refusing implicit conversion (array_api_strict on a
        # non-CPU device): go through its own device transfer.
        from sklearn.utils._array_api import move_to as _move

        return _move(a, xp=np, device="cpu")

def move_to(estimator, target="numpy"):
    """Move a fitted skoptim estimator's arrays to another namespace or device.

    Use it to predict on data of another namespace, or to pickle a
    GPU-trained model for a machine without a GPU.

    Parameters
    ----------
    estimator : skoptim estimator
        A fitted estimator; it is modified in place and returned.
    target : {'numpy', 'cpu', 'cuda', 'cuda:N'} or array namespace
        ``'numpy'``/``'cpu'`` move to NumPy on the host, ``'cuda'`` to CuPy
        on the GPU, and a namespace module (``array_api_strict``, an
        ``array_api_compat`` namespace) to that namespace's default device.

    Returns
    -------
    estimator : skoptim estimator
        The same estimator.

    Examples
    --------
    >>> import numpy as np
    >>> from skoptim import SGDRegressorPlus, move_to
    >>> reg = SGDRegressorPlus(max_iter=5, tol=None).fit(np.eye(3), [1.0, 2.0, 3.0])
    >>> type(move_to(reg, "numpy").coef_).__name__
    'ndarray'
    """
    from skoptim._tree import move_tree

    if isinstance(target, str):
        if target in ("numpy", "cpu"):
            backend = Backend(xp=np, device="cpu", dtype=np.float64, is_numpy=True)
        else:
            backend = resolve_backend(np.zeros(1), device=target)
    else:
        from array_api_compat import array_namespace

        xp = array_namespace(target.asarray(0.0))
        backend = Backend(xp=xp, device=None, dtype=xp.float64,
                          is_numpy=is_numpy_namespace(xp))

    for name, value in list(vars(estimator).items()):
        if name.endswith("_") and not name.startswith("__") or name == "_training_state":
            setattr(estimator, name, move_tree(value, backend))
    return estimator
