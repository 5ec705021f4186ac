"""Compiled element-wise passes of the multilayer perceptron on the CPU.

The layer's matrix product runs in BLAS; what follows it on a batch would be
two or three NumPy passes over the layer's output (add the bias, apply the
activation; on the way back, zero the derivative where a ReLU was off). Here
each is one loop, in place, compiled by numba (``cache=True``: a later process
loads the machine code). The arithmetic is NumPy's: ``z + b`` rounded to the
array's dtype, then ``max(z, 0)``; the mask is exact.
"""

# SPDX-License-Identifier: BSD-3-Clause

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
def relu_backward(delta, a):
    """``delta = 0`` where the ReLU's output ``a`` is 0, in place."""
    n, m = delta.shape
    for i in range(n):
        for j in range(m):
            if a[i, j] <= 0:
                delta[i, j] = 0
