"""Where the array work runs: namespace, device and dtype, resolved once per call.

Everything namespace-specific lives here: detecting the namespace of the
input, moving arrays between host and device, and drawing random numbers on
the device. The rest of skoptim receives a :class:`Backend` and calls
array-API functions on ``backend.xp``.
"""

# SPDX-License-Identifier: BSD-3-Clause

import contextlib
import copy
import importlib
import importlib.util
import math
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


@dataclass(frozen=True)
class FusedRule:
    """An optimizer's elementwise update, written once for a fused GPU kernel.

    ``body`` is a few statements ``name = expression;`` that read the
    gradient ``g``, the ``scalars`` and the ``states``, update the states and
    assign the ``step`` (subtracted from the parameters). They use only
    ``+ - * /``, parentheses, integer literals, ``sqrt``, ``fmax`` and
    ``skoptim_sign``, so the same text is valid CUDA C and valid Python; the
    tests run it with NumPy against the optimizer's generic array code.
    """

    name: str
    scalars: tuple
    states: tuple
    body: str


_SIGN_PREAMBLE = """
template <typename T> __device__ T skoptim_sign(T x) {
    return (T)((x > (T)0) - (x < (T)0));
}
"""
_KERNELS = {}


def run_fused(rule, g, states, scalars):
    """Run ``rule`` as one CuPy kernel and return the step; None for other arrays.

    ``states`` (arrays shaped like ``g``, in ``rule.states`` order) are
    updated in place; ``scalars`` maps ``rule.scalars`` to Python floats.
    Other namespaces get None and run the optimizer's generic code.
    """
    if not _is_cupy(g):
        return None
    import cupy  # pragma: no cover - GPU only

    kernel = _KERNELS.get(rule.name)  # pragma: no cover - GPU only
    if kernel is None:  # pragma: no cover - GPU only
        kernel = _KERNELS[rule.name] = cupy.ElementwiseKernel(
            ", ".join(f"T {name}" for name in ("g",) + rule.scalars),
            ", ".join(f"T {name}" for name in rule.states + ("step",)),
            rule.body, f"skoptim_{rule.name}", preamble=_SIGN_PREAMBLE)
    step = cupy.empty_like(g)  # pragma: no cover - GPU only
    # Scalars as NumPy scalars of the arrays' dtype: they bind ``T`` exactly
    # as the arrays do (no reliance on how Python floats are typed).
    typed = (g.dtype.type(scalars[name]) for name in rule.scalars)  # pragma: no cover
    kernel(g, *typed, *states, step)  # pragma: no cover - GPU only
    return step  # pragma: no cover - GPU only


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


def matmul(X, W):
    """``X @ W`` for dense, SciPy/CuPy sparse and array-API ``X`` (dense out)."""
    return np.asarray(X @ W) if sp.issparse(X) else X @ W


def transpose(a, xp):
    """The transpose of a 2-D array (a view for NumPy)."""
    return a.T if isinstance(a, np.ndarray) or is_sparse(a) else xp.permute_dims(a, (1, 0))


def matmul_T(X, d, xp, out=None):
    """``X.T @ d`` for dense, SciPy/CuPy sparse and array-API ``X`` (dense out).

    ``out`` (or None) is an array the product may be written into: NumPy
    writes dense products there instead of allocating; other inputs ignore it.
    """
    if out is not None and isinstance(X, np.ndarray) and isinstance(out, np.ndarray):
        return np.matmul(X.T, d, out=out)
    return matmul(transpose(X, xp), d)


def sum_rows(a, xp, out=None):
    """The column sums of a 2-D array, into ``out`` for NumPy (see matmul_T)."""
    if out is not None and isinstance(a, np.ndarray) and isinstance(out, np.ndarray):
        return np.sum(a, axis=0, out=out)
    return xp.sum(a, axis=0)


class DeviceRNG:
    """Random numbers drawn where the data lives, with a picklable state.

    The stream is a host :class:`numpy.random.Generator` (PCG64): its state
    is what ``partial_fit`` and pickling carry over. Permutations are drawn by
    NumPy on the host, or for CuPy by CuPy's generator on the GPU from a seed
    of the stream; uniform draws are a counter-based hash of a seed of the
    stream, computed on the GPU for CuPy. Other namespaces (``array_api_strict``,
    torch) draw on the host and move the result; they are not the fast path.
    """

    def __init__(self, backend, seed_or_state):
        self.backend = backend
        self._np = np.random.default_rng()
        if isinstance(seed_or_state, dict):
            self._np.bit_generator.state = seed_or_state
        else:
            self._np = np.random.default_rng(seed_or_state)

    def state(self):
        """The generator's state, to resume the same stream later."""
        return self._np.bit_generator.state

    def permutation(self, n):
        """A random permutation of ``range(n)``: drawn on the GPU for CuPy
        (from a seed of the host stream, so the stream and its saved state
        stay the reproducible source), else a host index array, int32 where
        it fits (half the memory of NumPy's default int64)."""
        if self.backend.is_cupy:  # pragma: no cover - GPU only
            import cupy

            with self.backend.device:
                return cupy.random.RandomState(self.seed()).permutation(n)
        idx = np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)
        self._np.shuffle(idx)
        return idx

    def seed(self):
        """A fresh 63-bit integer seed drawn from the stream."""
        return int(self._np.integers(2**63 - 1))

    def uniform(self, low, high, shape):
        """Uniform draws on [low, high) of the backend's dtype, drawn where the
        data lives (:func:`hash_uniform` of a seed from the stream)."""
        return hash_uniform(self.seed(), shape, low, high, self.backend)


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix64(z):
    """splitmix64's finaliser: a bijective avalanche of uint64 values (the
    multiplications wrap around by design)."""
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _host_or_cupy(a):
    """The module holding ``a``: CuPy for CuPy arrays (hashing runs on the
    GPU with the same code), NumPy otherwise."""
    return importlib.import_module("cupy") if _is_cupy(a) else np


def row_keys(X, chunk_rows=8192):
    """A uint64 key per row of ``X``: equal rows get equal keys.

    The key is ``sum_j mix(bits(x_ij) + mix(j))`` over the nonzero entries,
    with wrap-around, so it is exact (no rounding) and identical for dense and
    sparse storage of the same values. Dense CuPy input is hashed on its GPU
    (CuPy keys); everything else on the host (NumPy keys).
    """
    if is_sparse(X) and not sp.issparse(X):  # pragma: no cover - GPU only
        X = X.get()  # CuPy sparse: hash on the host (values only, once)
    n, d = X.shape
    m = _host_or_cupy(X)
    col = m.asarray(_mix64(np.arange(1, d + 1, dtype=np.uint64) * _GOLDEN))
    with np.errstate(over="ignore"):
        if sp.issparse(X):
            X = X.tocsr()
            data = np.ascontiguousarray(X.data, dtype=np.float64)
            terms = _mix64(data.view(np.uint64) + col[X.indices])
            terms[data == 0] = 0
            keys = np.zeros(n, dtype=np.uint64)
            row = np.repeat(np.arange(n), np.diff(X.indptr))
            np.add.at(keys, row, terms)
            return keys
        keys = m.empty(n, dtype=m.uint64)
        for start in range(0, n, chunk_rows):
            block = X[start:min(start + chunk_rows, n), ...]
            block = m.ascontiguousarray(block if m is not np else to_numpy(block),
                                        dtype=m.float64)
            terms = _mix64(block.view(m.uint64) + col)
            terms[block == 0] = 0
            keys[start:start + block.shape[0]] = terms.sum(axis=1, dtype=m.uint64)
        return keys


def hash_uniform(seed, shape, low, high, backend, chunk=1 << 16):
    """Uniform draws on ``[low, high)``: a hash of (seed, position).

    Counter-based, so CuPy computes them on its GPU with the same integer
    arithmetic as NumPy on the host: a seed gives the same numbers on every
    device (up to the last bit of the final scaling). NumPy works in chunks
    of ``chunk`` values (no full-size temporaries); other namespaces get the
    NumPy draws moved to their device.
    """
    m = importlib.import_module("cupy") if backend.is_cupy else np
    size = math.prod(shape)
    if backend.is_cupy:  # pragma: no cover - GPU only
        where, dtype = backend.device, backend.dtype
        chunk = max(size, 1)  # one pass: the GPU has no use for chunks
    else:
        where = contextlib.nullcontext()
        dtype = np.float32 if backend.dtype == backend.xp.float32 else np.float64
    base = _mix64(np.uint64(seed) ^ _GOLDEN)
    with where:
        out = m.empty(size, dtype=dtype)
        for start in range(0, size, chunk):
            counter = m.arange(start, min(start + chunk, size), dtype=m.uint64)
            z = _mix64(counter * _GOLDEN + base)
            unit = (z >> np.uint64(11)).astype(m.float64) * (1.0 / (1 << 53))
            out[start:start + unit.shape[0]] = low + (high - low) * unit
    out = out.reshape(shape)
    return out if backend.is_cupy else backend.asarray(out)


# splitmix64 on int64 arrays, for namespaces without (complete) uint64
# arithmetic: the same bits as _mix64 on uint64 (two's complement addition,
# multiplication and xor agree; right shifts are made logical by a mask).
_M1 = 0xBF58476D1CE4E5B9 - (1 << 64)
_M2 = 0x94D049BB133111EB - (1 << 64)
_GOLDEN_I64 = int(_GOLDEN) - (1 << 64)


def _shr(z, k):
    """Logical right shift of int64 values."""
    return (z >> k) & ((1 << (64 - k)) - 1)


def _mix64_i64(z):
    z = (z ^ _shr(z, 30)) * _M1
    z = (z ^ _shr(z, 27)) * _M2
    return z ^ _shr(z, 31)


def _as_int64(value):
    """A uint64 value as the int64 with the same bits (a Python int)."""
    value = int(value)
    return value - (1 << 64) if value >= 1 << 63 else value


def device_row_keys(X, backend):
    """:func:`row_keys` as int64 (same bits) in the backend's namespace and
    device, where :class:`RowNoise` hashes them (once per fit)."""
    keys = row_keys(X)
    if _is_cupy(keys):  # pragma: no cover - GPU only: hashed there already
        return keys.view("int64")
    keys = keys.view(np.int64)
    return keys if backend.is_numpy else backend.xp.asarray(keys, device=backend.device)


class RowNoise:
    """Dropout masks that are a hash of (row, epoch, seed, stream, column).

    Masks are independent across rows, columns, epochs and layers, and
    reproducible; a row with sample weight ``k`` gets the mask each of its
    ``k`` copies would get, so weights stay equivalent to repetitions. The
    hash runs in the backend's namespace on its device, from the rows' keys
    (:func:`device_row_keys`), so every device draws the same masks.
    """

    def __init__(self, backend, keys, seed, epoch):
        """``keys`` are the batch rows' :func:`device_row_keys`."""
        self.backend = backend
        self.keys = keys
        with np.errstate(over="ignore"):
            self.base = _mix64(np.uint64(seed) ^ (np.uint64(epoch + 1) * _GOLDEN))

    def for_rows(self, keys):
        """The same epoch's noise for other rows (no re-hashing of the seed)."""
        noise = copy.copy(self)
        noise.keys = keys
        return noise

    def keep_mask(self, n_cols, keep_prob, stream=0):
        """A ``(n_rows, n_cols)`` mask of ``0`` or ``1 / keep_prob``."""
        b = self.backend
        xp = b.xp
        with np.errstate(over="ignore"):
            salt = _as_int64(_mix64(self.base + np.uint64(stream)))
        cols = xp.arange(1, n_cols + 1, dtype=xp.int64, device=b.device)
        cols = (cols * _GOLDEN_I64) ^ salt
        z = _mix64_i64(xp.reshape(self.keys, (-1, 1)) + xp.reshape(cols, (1, -1)))
        keep = _shr(z, 40) < int(keep_prob * (1 << 24))
        if b.is_numpy:
            mask = keep.astype(b.dtype)
            mask *= 1.0 / keep_prob
            return mask
        return xp.astype(keep, b.dtype) * (1.0 / keep_prob)


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


def map_arrays(value, func):
    """``value`` with ``func`` applied to every array inside it, through
    lists, tuples, dicts and dataclasses (such as the training state)."""
    if isinstance(value, list):
        return [map_arrays(v, func) for v in value]
    if isinstance(value, tuple):
        return tuple(map_arrays(v, func) for v in value)
    if isinstance(value, dict):
        return {k: map_arrays(v, func) for k, v in value.items()}
    if hasattr(value, "__dataclass_fields__") and not isinstance(value, type):
        from dataclasses import fields, replace

        return replace(value, **{f.name: map_arrays(getattr(value, f.name), func)
                                 for f in fields(value) if f.init})
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return func(value)
    return value


def move_tree(value, backend):
    """``value`` with the floating arrays inside it moved to ``backend``;
    sparse matrices and integer NumPy arrays (labels, indices) stay as they are."""
    def move(a):
        if sp.issparse(a) or (isinstance(a, np.ndarray) and a.dtype.kind not in "fc"):
            return a
        return backend.move(a)

    return map_arrays(value, move)
