"""Random numbers where the data lives: the device generator with a
picklable state, row hashing (identical rows get identical keys) and the
hash-based dropout noise that follows a row wherever it is batched."""

# SPDX-License-Identifier: BSD-3-Clause

import contextlib
import copy
import functools
import importlib
import math

import numpy as np
import scipy.sparse as sp

from skoptim._backend import _is_cupy, is_sparse, to_numpy


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
        if isinstance(seed_or_state, dict):
            self._np = np.random.default_rng()
            self._np.bit_generator.state = seed_or_state
        else:  # one generator, not a second one seeded from the system first
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
        shuffle_steps = _compiled_shuffle()
        if shuffle_steps is None:  # numba missing
            self._np.shuffle(idx)
            return idx
        # Fisher-Yates in one compiled loop on uniform draws of the stream, in
        # chunks (8 bytes a draw): NumPy's own shuffle of int32 indices costs
        # about 11 ns an element (10,000 rows: 115 us, a fifth of a small
        # linear model's epoch).
        top = n - 1
        while top > 0:
            u = self._np.random(min(top, _SHUFFLE_CHUNK))
            shuffle_steps(idx, u, top)
            top -= u.shape[0]
        return idx

    def seed(self):
        """A fresh 63-bit integer seed drawn from the stream."""
        return int(self._np.integers(2**63 - 1))

    def uniform(self, low, high, shape):
        """Uniform draws on [low, high) of the backend's dtype, drawn where the
        data lives (:func:`hash_uniform` of a seed from the stream)."""
        return hash_uniform(self.seed(), shape, low, high, self.backend)


_SHUFFLE_CHUNK = 1 << 20


@functools.cache
def _compiled_shuffle():
    """:func:`skoptim._cpu_passes.shuffle_steps`, or None without numba. Not
    switched off with the compiled optimizer passes (``CPU_KERNELS``): the
    permutation a seed gives stays the same."""
    try:
        from skoptim._cpu_passes import shuffle_steps
    except ImportError:  # pragma: no cover - numba is a dependency
        return None
    return shuffle_steps


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
    (CuPy keys); everything else on the host (NumPy keys), in one compiled
    pass where numba runs (C-contiguous float32/float64 rows, or CSR).
    """
    from skoptim._kernels import cpu_passes, csr_arrays

    if is_sparse(X) and not sp.issparse(X):  # pragma: no cover - GPU only
        X = X.get()  # CuPy sparse: hash on the host (values only, once)
    n, d = X.shape
    m = _host_or_cupy(X)
    col = m.asarray(_mix64(np.arange(1, d + 1, dtype=np.uint64) * _GOLDEN))
    passes = cpu_passes(X) if m is np and not sp.issparse(X) else None
    if passes is not None:
        keys = np.empty(n, dtype=np.uint64)
        row = np.empty(d)
        passes.dense_row_keys(X, col, row, row.view(np.uint64), keys)
        return keys
    with np.errstate(over="ignore"):
        if sp.issparse(X):
            X = X.tocsr()
            data = np.ascontiguousarray(X.data, dtype=np.float64)
            passes = cpu_passes(data)
            if passes is not None:
                indptr, indices, _ = csr_arrays(X)
                keys = np.empty(n, dtype=np.uint64)
                passes.csr_row_keys(indptr, indices, data.view(np.uint64), data, col, keys)
                return keys
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
