"""Array kernels: the fused optimizer updates (one CuPy kernel per update
rule) and the few products whose form depends on the input's storage (dense,
SciPy or CuPy sparse, any array-API namespace)."""

# SPDX-License-Identifier: BSD-3-Clause

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from skoptim._backend import _is_cupy, is_sparse


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
