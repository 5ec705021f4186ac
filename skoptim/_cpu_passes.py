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

A linear model's epoch of plain SGD on small batches is one loop here too
(:func:`linear_epoch_dense`, :func:`linear_epoch_csr`): with a few rows a
batch, the Python between two steps would be most of each step.

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
def take_rows(X, rows, out):
    """``out[i] = X[rows[i]]`` for a C-contiguous 2-D ``X`` and valid
    (unsigned) row indices: ``np.take(X, rows, axis=0, out=out)`` without
    NumPy's per-call work (a 128-row batch of 784 float32 features: about
    27 against 35 us)."""
    m = X.shape[1]
    for i in range(rows.shape[0]):
        r = rows[i]
        for j in range(m):
            out[i, j] = X[r, j]


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
def shuffle_steps(idx, u, top):
    """Steps ``top, top - 1, ...`` of a Fisher-Yates shuffle of ``idx`` in
    place, one uniform draw ``u[k]`` in [0, 1) each: step ``i`` swaps
    ``idx[i]`` with ``idx[j]``, ``j = floor(u * (i + 1))`` (at most ``i``).
    A draw of 53 random bits makes each ``j`` equally likely to within a
    relative ``(i + 1) / 2**53``."""
    for k in range(u.shape[0]):
        i = top - k
        j = min(int(u[k] * (i + 1)), i)
        t = idx[i]
        idx[i] = idx[j]
        idx[j] = t


_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


@njit(cache=True, nogil=True, inline="always")
def _mix64(z):
    """splitmix64's finaliser (:func:`skoptim._random._mix64`), on uint64."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True)
def dense_row_keys(X, col, row, bits, out):
    """:func:`skoptim._random.row_keys` of a C-contiguous 2-D ``X``: each row
    copied into the float64 buffer ``row`` (whose uint64 view is ``bits``),
    then ``out[i]`` the wrapping sum of ``mix(bits + col[j])`` over its
    nonzero entries. The same integer arithmetic as NumPy's (a 8,000 x 20
    float64 array: about 1.3 ms in NumPy's passes)."""
    for i in range(X.shape[0]):
        acc = np.uint64(0)
        for j in range(X.shape[1]):
            row[j] = X[i, j]
        for j in range(X.shape[1]):
            if row[j] != 0.0:
                acc += _mix64(bits[j] + col[j])
        out[i] = acc


@njit(cache=True, nogil=True)
def csr_row_keys(indptr, indices, bits, values, col, out):
    """:func:`dense_row_keys` of CSR rows: ``values`` the stored values as
    float64, ``bits`` their uint64 view."""
    for i in range(out.shape[0]):
        acc = np.uint64(0)
        for k in range(indptr[i], indptr[i + 1]):
            if values[k] != 0.0:
                acc += _mix64(bits[k] + col[indices[k]])
        out[i] = acc


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


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _vdot(a, b):
    """``a @ b`` for contiguous float64 vectors, summed in whatever order
    vectorizes."""
    total = 0.0
    for i in range(a.shape[0]):
        total += a[i] * b[i]
    return total


@njit(cache=True, nogil=True)
def tridiagonal_top(alpha, beta, k):
    """The largest eigenvalue of the symmetric tridiagonal matrix with
    diagonal ``alpha[:k]`` and off-diagonal ``beta[:k - 1]``: bisection of
    its Gershgorin interval on Sturm counts (the negative pivots of ``T -
    x I``), to a relative 1e-13. Infinite for non-finite entries."""
    lo, hi = np.inf, -np.inf
    for i in range(k):
        r = 0.0
        if i > 0:
            r += abs(beta[i - 1])
        if i < k - 1:
            r += abs(beta[i])
        lo = min(lo, alpha[i] - r)
        hi = max(hi, alpha[i] + r)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return np.inf
    while True:
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi or hi - lo <= 1e-13 * max(abs(lo), abs(hi)):
            return hi
        below = 0
        q = 1.0
        for i in range(k):
            q = alpha[i] - mid - (beta[i - 1] * beta[i - 1] / q if i > 0 else 0.0)
            if abs(q) < 1e-300:  # a zero pivot counts as negative
                q = -1e-300
            if q < 0.0:
                below += 1
        if below == k:
            hi = mid
        else:
            lo = mid


@njit(cache=True, nogil=True, inline="always")
def _moment_product(kind, G, mean, indptr, indices, data, weights, tmp, ones_term, Q, V, c,
                    P, sums):
    """The shared product of :func:`_lanczos_top2`: ``P`` and ``sums`` from
    the two current vectors (rows of ``Q``, their last entry the intercept's
    ``c``); ``V`` and ``c`` scratch. Loops, not slices: they compile faster."""
    d = P.shape[0]
    if kind == 0:  # [[G, mean], [mean^T, 1]] on [v; c]
        for j in range(2):
            q = Q[j]
            for i in range(d):
                P[i, j] = _vdot(G[i], q) + mean[i] * q[d]
            sums[j] = _vdot(mean, q) + q[d]
        return
    for i in range(d):
        V[i, 0] = Q[0, i]
        V[i, 1] = Q[1, i]
    if kind == 1:  # the weighted second moment of [X, 1], X in CSR
        c[0] = Q[0, d]
        c[1] = Q[1, d]
        csr_weighted_moment(indptr, indices, data, weights, V, c, P, sums)
        return
    # The row space: R X X^T R (+ r r^T in column 0), R = diag(weights).
    ones = 0.0
    for i in range(d):
        V[i, 0] *= weights[i]
        V[i, 1] *= weights[i]
        ones += V[i, 0]
    csr_matmul_T(indptr, indices, data, V, tmp)
    csr_matmul(indptr, indices, data, tmp, P)
    if not ones_term:
        ones = 0.0
    for i in range(d):
        P[i, 0] = (P[i, 0] + ones) * weights[i]
        P[i, 1] *= weights[i]
    sums[0] = 0.0
    sums[1] = 0.0


@njit(cache=True, nogil=True)
def lanczos_gram(G, mean, indptr, indices, data, weights, tmp, ones_term, icpt, scale, rtol,
                 basis, tri, Q, w, V, P, vals):
    """:func:`_lanczos_top2` of the dense second moment (kind 0). One entry
    a kind: each compiles only its own products (compiling all three at
    once made the first dense fit on a new machine about 1 s longer)."""
    return _lanczos_top2(0, G, mean, indptr, indices, data, weights, tmp, ones_term, icpt,
                         scale, rtol, basis, tri, Q, w, V, P, vals)


@njit(cache=True, nogil=True)
def lanczos_csr(G, mean, indptr, indices, data, weights, tmp, ones_term, icpt, scale, rtol,
                basis, tri, Q, w, V, P, vals):
    """:func:`_lanczos_top2` of CSR rows (kind 1)."""
    return _lanczos_top2(1, G, mean, indptr, indices, data, weights, tmp, ones_term, icpt,
                         scale, rtol, basis, tri, Q, w, V, P, vals)


@njit(cache=True, nogil=True)
def lanczos_csr_rows(G, mean, indptr, indices, data, weights, tmp, ones_term, icpt, scale,
                     rtol, basis, tri, Q, w, V, P, vals):
    """:func:`_lanczos_top2` in the row space of CSR rows (kind 2)."""
    return _lanczos_top2(2, G, mean, indptr, indices, data, weights, tmp, ones_term, icpt,
                         scale, rtol, basis, tri, Q, w, V, P, vals)


@njit(cache=True, nogil=True, inline="always")
def _lanczos_top2(kind, G, mean, indptr, indices, data, weights, tmp, ones_term, icpt, scale,
                  rtol, basis, tri, Q, w, V, P, vals):
    """Lanczos estimates of the top eigenvalues of ``scale`` times a second
    moment, as :func:`skoptim.models._linear._top_eigenvalues` computes them
    (the same start, recurrences, full reorthogonalisation and stopping
    rule) with the products compiled too: two columns, the first with the
    intercept's entry where ``icpt``, the second without, on one product a
    step. ``kind`` 0: the dense second moment ``G`` and mean row ``mean``
    of ``[X, 1]``; 1: a CSR ``X`` (its arrays) with row ``weights``; 2: the
    row space of a CSR ``X``, ``weights`` the square roots of the row
    weights, ``tmp`` a (features, 2) buffer, the intercept's column of ones
    in the first column where ``ones_term``. Unused arrays may be empty.

    Scratch, zeros (allocated by the caller: each kind of NumPy allocation
    here would add a tenth of a second to the first compilation): ``basis``
    (2, steps, n) for vectors of length ``n`` (the features, or the sampled
    rows for kind 2, and the intercept's entry), ``tri`` (4, steps), ``Q``
    and ``w`` (2, n), ``V`` and ``P`` (n - 1, 2), ``vals`` (10,). Returns
    ``(top, top without the intercept)``."""
    k_max, n = basis.shape[1], basis.shape[2]
    d = n - 1
    mask0 = 1.0 if icpt else 0.0  # the first column's intercept entry; never the second's
    # vals: [0:2] the estimates, [2:4] the columns' sizes, [4:6] done (0/1),
    # [6:8] the product's sums, [8:10] its intercept entries; tri: the
    # alphas of columns 0 and 1, then their betas.
    for j in range(2):
        norm = np.sqrt(d + (mask0 if j == 0 else 0.0))
        for i in range(d):
            Q[j, i] = 1.0 / norm
        Q[j, d] = (mask0 if j == 0 else 0.0) / norm
        for i in range(n):
            basis[j, 0, i] = Q[j, i]
    sums, c = vals[6:8], vals[8:10]
    for k in range(k_max):
        _moment_product(kind, G, mean, indptr, indices, data, weights, tmp, ones_term, Q,
                        V, c, P, sums)
        for j in range(2):
            for i in range(d):
                w[j, i] = P[i, j] * scale
            w[j, d] = sums[j] * scale * (mask0 if j == 0 else 0.0)
        for j in range(2):
            wj = w[j]
            alpha = _vdot(wj, Q[j])
            for _ in range(2):  # full reorthogonalisation (twice is enough)
                for b in range(k + 1):
                    qb = basis[j, b]
                    h = _vdot(qb, wj)
                    for i in range(n):
                        wj[i] -= h * qb[i]
            beta = np.sqrt(_vdot(wj, wj))
            if vals[4 + j] != 0.0:  # done
                continue
            size = int(vals[2 + j])
            tri[j, size] = alpha
            previous = vals[j]
            vals[j] = tridiagonal_top(tri[j], tri[2 + j], size + 1)
            # Settled, or an invariant subspace (beta ~ 0: the estimate is exact).
            done = beta <= 1e-10 * vals[j] or (k > 0 and vals[j] - previous <= rtol * vals[j])
            vals[4 + j] = 1.0 if done else 0.0
            tri[2 + j, size] = beta
            vals[2 + j] = size + 1
            if k + 1 < k_max:
                for i in range(n):
                    Q[j, i] = 0.0 if done else wj[i] / beta
                    basis[j, k + 1, i] = Q[j, i]
        if vals[0] == 0.0:
            return 0.0, 0.0
        if (vals[4] != 0.0 and vals[5] != 0.0) or not (np.isfinite(vals[0])
                                                      and np.isfinite(vals[1])):
            break
    return vals[0], vals[1]


# The losses of a linear model's epoch (:func:`linear_epoch_dense`), with the
# formulas and kinks of skoptim.heads._losses; ``cst`` holds the constants in
# the data's dtype: 0.5, 2, 4, 1, the loss's parameter (epsilon or the
# threshold) and 0 (typed: a literal would promote float32 to float64).
LOSS_SQUARED_ERROR = 0
LOSS_HUBER = 1
LOSS_EPSILON_INSENSITIVE = 2
LOSS_SQUARED_EPSILON_INSENSITIVE = 3
LOSS_HINGE = 4  # the threshold in cst[4] (0 for the perceptron)
LOSS_SQUARED_HINGE = 5
LOSS_MODIFIED_HUBER = 6
LOSS_LOG = 7  # the exponent's floor in cst[4]


@njit(cache=True, nogil=True, inline="always")
def _loss(loss, z, y, cst):
    """``(value, derivative)`` of one element; NaN propagates as NumPy's
    ``maximum`` and ``clip`` propagate it (a diverged fit stays detectable)."""
    half, two, four, one, p, zero = cst[0], cst[1], cst[2], cst[3], cst[4], cst[5]
    if loss == LOSS_SQUARED_ERROR:
        r = z - y
        return half * (r * r), r
    if loss == LOSS_HUBER:
        r = z - y
        rc = r
        if rc < -p:
            rc = -p
        if rc > p:
            rc = p
        return rc * (r - half * rc), rc
    if loss == LOSS_EPSILON_INSENSITIVE or loss == LOSS_SQUARED_EPSILON_INSENSITIVE:
        r = z - y
        excess = abs(r) - p
        if excess < zero:
            excess = zero
        if loss == LOSS_EPSILON_INSENSITIVE:
            return excess, (np.sign(r) if excess > zero else zero)
        return excess * excess, two * np.sign(r) * excess
    m = y * z
    if loss == LOSS_HINGE:
        if m <= p:
            return p - m, -y
        return zero, zero
    if loss == LOSS_SQUARED_HINGE:
        gap = p - m
        if gap < zero:
            gap = zero
        return gap * gap, -two * y * gap
    if loss == LOSS_LOG:
        # LogLoss's stable forms: exp(-|m|) floored at a normal number.
        t = -abs(m)
        if t < p:
            t = p
        e = np.exp(t)
        value = -m
        if value < zero:
            value = zero
        value = value + np.log1p(e)
        sig = e / (one + e) if m >= zero else one / (one + e)
        return value, -y * sig
    # LOSS_MODIFIED_HUBER
    gap = one - m
    if gap < zero:
        gap = zero
    if gap > two:
        gap = two
    if m < -one:
        return -four * m, -four * y
    return gap * gap, -two * y * gap


@njit(cache=True, nogil=True, inline="always")
def _batch_weight(wts, start, stop, weighted, zero):
    """The total weight of a batch's rows (unused unweighted)."""
    total = zero
    if weighted:
        for q in range(start, stop):
            total += wts[q]
    return total


@njit(cache=True, nogil=True, inline="always")
def _linear_batch_loss(z, y, ew, class_weighted, w, weighted, total, n_rows, loss, cst):
    """``(value, derivative)`` of a batch row's loss at output ``z`` (the
    intercept added) against ``y``, weighted by its class weight ``ew``
    and its sample weight ``w`` of the batch's ``total``, the derivative in
    the mean loss: as ``skoptim.models._problem.weighted_mean`` forms them.
    Scalars only: arrays passed to it, even inlined, cost reference counts
    at every row (several times the row's arithmetic on sparse data)."""
    value, d = _loss(loss, z, y, cst)
    if class_weighted:
        value = value * ew
        d = d * ew
    if weighted:
        value = value * w
        d = d * (w / total)
    else:
        d = d / n_rows  # n_rows in the dtype (an integer would promote float32)
    return value, d


@njit(cache=True, nogil=True, inline="always")
def _linear_step(W, b, icpt, gW, gb, l2, lr, head_scale, tail_scale):
    """The plain SGD step of :class:`skoptim._kernels.FusedApply` on the
    weights (penalized) and the intercept, in its order of operations."""
    d, k = W.shape
    for j in range(d):
        for c in range(k):
            w = W[j, c]
            g = (gW[j, c] + l2 * w) * head_scale
            W[j, c] = w - lr * g
    if icpt:
        for c in range(k):
            b[c] = b[c] - lr * (gb[c] * tail_scale)


@njit(cache=True, nogil=True)
def _scale_all(A, factor):
    """``A *= factor`` for a C-contiguous ``A``, as an element loop (an array
    expression compiles NumPy's broadcasting machinery: slow first fits)."""
    flat = A.reshape(A.size)
    for j in range(flat.shape[0]):
        flat[j] = flat[j] * factor


@njit(cache=True, nogil=True)
def _csr_gradient(indptr, indices, data, rows, start, stop, dz, gW, gb, zero):
    """The gradient of a batch's mean loss from its rows' derivatives ``dz``
    (``gW``, ``gb`` overwritten; rows of zero derivative skipped)."""
    gW[...] = zero
    gb[...] = zero
    for q in range(stop - start):
        r = rows[start + q]
        for c in range(gW.shape[1]):
            g = dz[q, c]
            if g != zero:
                for p in range(indptr[r], indptr[r + 1]):
                    gW[indices[p], c] += data[p] * g
            gb[c] += g


@njit(cache=True, nogil=True)
def _lazy_step(indptr, indices, data, rows, start, stop, dz, W, b, icpt, gW, gb, l2,
               lr, head_scale, tail_scale, scale, one, zero):
    """The backward pass and :func:`_linear_step` of a batch on ``W = scale *
    V`` (``V`` in ``W``'s buffer): each row's gradient goes straight into the
    weights of its features (no gradient buffer: two random reads of a
    weight a stored value, not four); returns the new scale (see
    :func:`linear_epoch_csr`)."""
    k = W.shape[1]
    gb[...] = zero
    shrink = one - lr * (l2 * head_scale)
    if shrink > zero and scale * shrink >= 1e-9:
        scale = scale * shrink
        factor = lr * head_scale / scale
        for q in range(stop - start):
            r = rows[start + q]
            for c in range(k):
                g = dz[q, c]
                gb[c] += g
                if g != zero:
                    coef = factor * g
                    for p in range(indptr[r], indptr[r + 1]):
                        W[indices[p], c] -= coef * data[p]
        if icpt:
            for c in range(k):
                b[c] = b[c] - lr * (gb[c] * tail_scale)
        return scale
    # Fold the scale in, then the step on every weight.
    _scale_all(W, scale)
    _csr_gradient(indptr, indices, data, rows, start, stop, dz, gW, gb, zero)
    _linear_step(W, b, icpt, gW, gb, l2, lr, head_scale, tail_scale)
    return one


@njit(cache=True, nogil=True)
def _average_step(params, avg, divisor):
    """The running mean of the iterates after a step, as
    :func:`skoptim.engine._step.update_average` takes it: ``divisor`` the
    number of iterates averaged so far (1: the first, copied)."""
    # Element loops: a slice assignment compiles NumPy's broadcasting
    # machinery (seconds of the first fit on a new machine).
    if divisor == 1:
        for j in range(params.shape[0]):
            avg[j] = params[j]
    else:
        for j in range(params.shape[0]):
            avg[j] = avg[j] + (params[j] - avg[j]) / divisor


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _dot(x, w, zero):
    """``x @ w`` for contiguous vectors, summed in whatever order vectorizes
    (BLAS sums in its own order too; NaN and infinity propagate)."""
    total = zero
    for j in range(x.shape[0]):
        total += x[j] * w[j]
    return total


@njit(cache=True, nogil=True)
def linear_epoch_dense(X, Y, rows, offsets, counts, wts, weighted, pos_w, neg_w,
                       class_weighted, loss, cst, W, b, icpt, l2, lr, head_scale,
                       tail_scale, dz, gW, gb, losses, params, avg, avg_div):
    """The mini-batches of one epoch of a linear model with plain SGD, in one
    compiled loop: for batch ``i`` (rows ``rows[offsets[i]:offsets[i + 1]]``,
    ``counts[i]`` of them as a number of the data's dtype, their weights
    ``wts`` there when ``weighted``) the outputs ``X @ W + b``, the loss
    (``losses[i]``: the weighted sum) and its mean's gradient, the L2 penalty
    and the step of size ``lr[i]`` (block scales ``head_scale[i]``,
    ``tail_scale[i]``). ``dz``, ``gW`` and ``gb`` are
    scratch buffers (the largest batch's rows by the outputs, ``W``'s shape,
    ``b``'s shape). Where ``avg_div[i]`` is positive (an empty ``avg_div``:
    nowhere) the step is followed by the running mean ``avg`` of the
    parameter buffer ``params`` (which ``W`` and ``b`` view) over
    ``avg_div[i]`` iterates. The generic engine takes the same steps a
    batch at a time (sums in another order: equal to rounding)."""
    d, k = W.shape
    zero = cst[5]
    W1, g1 = W.reshape(d * k), gW.reshape(d * k)  # views made once, not per row
    for i in range(offsets.shape[0] - 1):
        start, stop = offsets[i], offsets[i + 1]
        n_rows = counts[i]
        total = _batch_weight(wts, start, stop, weighted, zero)
        loss_sum = zero
        for q in range(stop - start):
            r = rows[start + q]
            for c in range(k):
                if k == 1:
                    z = _dot(X[r], W1, zero)
                else:
                    z = zero
                    for j in range(d):
                        z += X[r, j] * W[j, c]
                y = Y[r, c]
                value, dz[q, c] = _linear_batch_loss(
                    z + b[c] if icpt else z, y,
                    (pos_w[c] if y > 0 else neg_w[c]) if class_weighted else zero,
                    class_weighted, wts[start + q] if weighted else zero, weighted, total,
                    n_rows, loss, cst)
                loss_sum += value
        gW[...] = zero
        gb[...] = zero
        for q in range(stop - start):
            r = rows[start + q]
            for c in range(k):
                g = dz[q, c]
                if k == 1:  # contiguous: a vector loop
                    for j in range(d):
                        g1[j] += X[r, j] * g
                else:
                    for j in range(d):
                        gW[j, c] += X[r, j] * g
                gb[c] += g
        _linear_step(W, b, icpt, gW, gb, l2, lr[i], head_scale[i], tail_scale[i])
        if avg_div.shape[0] and avg_div[i] > 0:
            _average_step(params, avg, avg_div[i])
        losses[i] = loss_sum


@njit(cache=True, nogil=True)
def linear_epoch_csr(indptr, indices, data, Y, rows, offsets, counts, wts, weighted,
                     pos_w, neg_w, class_weighted, loss, cst, W, b, icpt, l2, lr,
                     head_scale, tail_scale, dz, gW, gb, losses, params, avg, avg_div,
                     lazy):
    """:func:`linear_epoch_dense` for a CSR ``X`` (its arrays): each batch
    row's stored values read in place, no batch gathered.

    With ``lazy`` (no averaging) a step costs the batch's stored values,
    not the weights: ``W`` is held as ``s * V`` (``V`` in ``W``'s buffer),
    the L2 penalty's shrinking ``1 - lr * l2 * head_scale`` multiplies the
    scalar ``s``, and only the weights of the batch's features move (by
    each row's gradient over the new ``s``), as scikit-learn's ``wscale``
    does; ``W`` is ``s * V`` again when the call returns. Where ``s`` would
    fall below 1e-9 (or the shrinking is not positive) it is folded into
    ``V`` first and the step taken on every weight (:func:`_lazy_step`)."""
    k = W.shape[1]
    zero, one = cst[5], cst[3]
    scale = one  # lazy: W = scale * V
    for i in range(offsets.shape[0] - 1):
        start, stop = offsets[i], offsets[i + 1]
        n_rows = counts[i]
        total = _batch_weight(wts, start, stop, weighted, zero)
        loss_sum = zero
        for q in range(stop - start):
            r = rows[start + q]
            for c in range(k):
                z = zero
                for p in range(indptr[r], indptr[r + 1]):
                    z += data[p] * W[indices[p], c]
                if lazy:
                    z = z * scale
                y = Y[r, c]
                value, dz[q, c] = _linear_batch_loss(
                    z + b[c] if icpt else z, y,
                    (pos_w[c] if y > 0 else neg_w[c]) if class_weighted else zero,
                    class_weighted, wts[start + q] if weighted else zero, weighted, total,
                    n_rows, loss, cst)
                loss_sum += value
        if lazy:
            scale = _lazy_step(indptr, indices, data, rows, start, stop, dz, W, b, icpt,
                               gW, gb, l2, lr[i], head_scale[i], tail_scale[i], scale, one,
                               zero)
        else:
            _csr_gradient(indptr, indices, data, rows, start, stop, dz, gW, gb, zero)
            _linear_step(W, b, icpt, gW, gb, l2, lr[i], head_scale[i], tail_scale[i])
        if avg_div.shape[0] and avg_div[i] > 0:
            _average_step(params, avg, avg_div[i])
        losses[i] = loss_sum
    if lazy and scale != one:
        _scale_all(W, scale)
