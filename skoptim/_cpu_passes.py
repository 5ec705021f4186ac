"""Compiled element-wise passes of a training step on the CPU (numba).

What surrounds the matrix products of a batch would otherwise be several
NumPy passes and reductions over small arrays, each paying NumPy's call
overhead: add the bias and apply the activation; on the way back zero the
derivative where a ReLU was off and sum the columns for the bias gradient;
the softmax, its cross-entropy and the derivative of the mean loss (in one
pass instead of ten). Each is
one loop here, in place, compiled by numba (``cache=True``: a later process
loads the machine code). Loaded through :func:`skoptim._kernels.cpu_passes`
only where numba is installed.

Arithmetic: ``z + b`` then ``max(., 0)``, the mask and the column sums (row
by row, from the first row, as NumPy sums the rows of a C-ordered array) are
NumPy's, bit for bit; the softmax's ``exp`` and ``log`` are the C library's,
which may differ from NumPy's own in the last bit.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def bias_relu(z, b):
    """``z = max(z + b, 0)`` in place (``b`` added to each row)."""
    n, m = z.shape
    for i in range(n):
        for j in range(m):
            v = z[i, j] + b[j]
            z[i, j] = v if v > 0 else 0


@njit(cache=True, nogil=True)
def bias_add(z, b):
    """``z = z + b`` in place (``b`` added to each row)."""
    n, m = z.shape
    for i in range(n):
        for j in range(m):
            z[i, j] = z[i, j] + b[j]


@njit(cache=True, nogil=True)
def relu_backward(delta, a, colsum):
    """``delta = 0`` where the ReLU's output ``a`` is 0, in place, and the
    column sums of the result into ``colsum``."""
    n, m = delta.shape
    for j in range(m):
        colsum[j] = 0
    for i in range(n):
        for j in range(m):
            if a[i, j] <= 0:
                delta[i, j] = 0
            colsum[j] += delta[i, j]


@njit(cache=True, nogil=True, error_model="numpy")
def softmax_cross_entropy(z, Y, row_scale, value):
    """Per row: ``value = -sum(Y * log softmax(z))`` and, in place of ``z``,
    ``(softmax(z) - Y) * row_scale``; one ``exp`` per element (the loss is
    ``sum(Y) * log(sum(exp(z - max))) - sum(Y * (z - max))``)."""
    n, k = z.shape
    for i in range(n):
        top = z[i, 0]
        for j in range(1, k):
            if z[i, j] > top:
                top = z[i, j]
        total = z[i, 0] * 0
        y_dot = z[i, 0] * 0
        y_sum = z[i, 0] * 0
        for j in range(k):
            shifted = z[i, j] - top
            y_dot += Y[i, j] * shifted
            y_sum += Y[i, j]
            e = np.exp(shifted)
            z[i, j] = e
            total += e
        value[i] = y_sum * np.log(total) - y_dot
        for j in range(k):
            z[i, j] = (z[i, j] / total - Y[i, j]) * row_scale[i]


@njit(cache=True, nogil=True)
def csr_rows(indptr, indices, data, rows):
    """The CSR arrays ``(data, indices, indptr)`` of the rows ``rows`` of a
    CSR matrix, in that order (what ``X[rows]`` holds)."""
    n = rows.shape[0]
    out_ptr = np.empty(n + 1, dtype=indptr.dtype)
    out_ptr[0] = 0
    for r in range(n):
        i = rows[r]
        out_ptr[r + 1] = out_ptr[r] + (indptr[i + 1] - indptr[i])
    nnz = out_ptr[n]
    out_idx = np.empty(nnz, dtype=indices.dtype)
    out_data = np.empty(nnz, dtype=data.dtype)
    for r in range(n):
        i = rows[r]
        start, stop, at = indptr[i], indptr[i + 1], out_ptr[r]
        for p in range(stop - start):
            out_idx[at + p] = indices[start + p]
            out_data[at + p] = data[start + p]
    return out_data, out_idx, out_ptr


# Up to this many columns the CSR products run a column at a time with the
# sum in a register; wider ones run row by row over contiguous rows of W.
_NARROW = 4


@njit(cache=True, nogil=True)
def csr_matmul(indptr, indices, data, W, out):
    """``out = X @ W`` for a CSR ``X`` and a dense ``W``, each sum in the
    order of scipy's sparse-dense product (the same values). A narrow ``W``
    (a linear model's) runs a column at a time with the sum in a register:
    summed in ``out`` the chain of additions waits on memory at every value."""
    n, k = out.shape
    if k <= _NARROW:
        for i in range(n):
            start, stop = indptr[i], indptr[i + 1]
            for j in range(k):
                out[i, j] = 0
                total = out[i, j]  # zero of out's dtype (a literal 0 would promote)
                for p in range(start, stop):
                    total += data[p] * W[indices[p], j]
                out[i, j] = total
        return
    for i in range(n):
        for j in range(k):
            out[i, j] = 0
        for p in range(indptr[i], indptr[i + 1]):
            col, v = indices[p], data[p]
            for j in range(k):
                out[i, j] += v * W[col, j]


@njit(cache=True, nogil=True)
def csr_matmul_T(indptr, indices, data, D, out):
    """``out = X.T @ D`` for a CSR ``X`` and a dense ``D``: each row's
    values scattered into the rows of ``out`` named by its columns. A narrow
    ``D`` runs a column at a time and skips its zeros (a hinge or
    epsilon-insensitive loss's gradient is mostly zero)."""
    d, k = out.shape
    for c in range(d):
        for j in range(k):
            out[c, j] = 0
    if k <= _NARROW:
        for i in range(D.shape[0]):
            start, stop = indptr[i], indptr[i + 1]
            for j in range(k):
                g = D[i, j]
                if g != 0:
                    for p in range(start, stop):
                        out[indices[p], j] += data[p] * g
        return
    for i in range(D.shape[0]):
        for p in range(indptr[i], indptr[i + 1]):
            col, v = indices[p], data[p]
            for j in range(k):
                out[col, j] += v * D[i, j]


@njit(cache=True, nogil=True)
def csr_weighted_moment(indptr, indices, data, weights, V, c, out, sums):
    """``out = X.T @ (w * (X @ V + c))`` and ``sums = w @ (X @ V + c)`` for
    a CSR ``X``, row weights ``w`` and a dense ``V`` of two columns: the
    weighted second moment of ``[X, 1]`` times ``[V; c]``, each row read
    once for both products (while it is in cache) and both columns at once."""
    d = out.shape[0]
    for col in range(d):
        out[col, 0] = 0
        out[col, 1] = 0
    sums[0] = 0
    sums[1] = 0
    for i in range(indptr.shape[0] - 1):
        start, stop = indptr[i], indptr[i + 1]
        u0, u1 = c[0], c[1]
        for p in range(start, stop):
            col = indices[p]
            u0 += data[p] * V[col, 0]
            u1 += data[p] * V[col, 1]
        u0 *= weights[i]
        u1 *= weights[i]
        sums[0] += u0
        sums[1] += u1
        for p in range(start, stop):
            col = indices[p]
            out[col, 0] += data[p] * u0
            out[col, 1] += data[p] * u1


@njit(cache=True, nogil=True)
def csr_max_row_sq_norm(indptr, data):
    """The largest squared row norm of a CSR matrix from its stored values,
    summed in float64 (the squares of float32 values beyond 1e19 overflow
    float32)."""
    best = 0.0
    for i in range(indptr.shape[0] - 1):
        total = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            v = np.float64(data[p])
            total += v * v
        if total > best:
            best = total
    return best
