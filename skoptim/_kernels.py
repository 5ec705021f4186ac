"""Array kernels: the fused optimizer updates (one kernel per update rule:
CUDA through CuPy on a GPU, numba on the CPU, from the same source) and the
few products whose form depends on the input's storage (dense, SciPy or CuPy
sparse, any array-API namespace)."""

# SPDX-License-Identifier: BSD-3-Clause

import hashlib
import importlib.util
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from skoptim._backend import _is_cupy, is_sparse


@dataclass(frozen=True)
class FusedRule:
    """An optimizer's elementwise update, written once for fused kernels.

    ``body`` is a few statements ``name = expression;`` that read the
    gradient ``g``, the ``scalars`` and the ``states``, update the states and
    assign the ``step`` (subtracted from the parameters). They use only
    ``+ - * /``, parentheses, integer literals, ``sqrt``, ``fmax`` and
    ``skoptim_sign``, so the same text is valid CUDA C (a CuPy kernel on a
    GPU) and valid Python (a numba kernel on the CPU, :func:`cpu_kernel`);
    the tests run it with NumPy against the optimizer's generic array code.
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
    """Run ``rule`` as one kernel and return the step; None where no kernel runs.

    ``states`` (arrays shaped like ``g``, in ``rule.states`` order) are
    updated in place; ``scalars`` maps ``rule.scalars`` to Python floats.
    CuPy arrays run a CUDA kernel (the step in a new array); contiguous
    float32/float64 NumPy arrays a numba kernel when numba is installed (the
    step written over ``g``, which the optimizers may overwrite). Other
    arrays get None and run the optimizer's generic code.
    """
    if not _is_cupy(g):
        return _run_cpu(rule, g, states, scalars)
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


# The CPU kernels: ``SKOPTIM_CPU_KERNELS=0`` turns them off (the optimizers'
# generic NumPy code runs instead); tests switch ``CPU_KERNELS``.
CPU_KERNELS = os.environ.get("SKOPTIM_CPU_KERNELS", "1") != "0"
_CPU_KERNELS = {}  # (rule name, dtype name) -> compiled function or None
_CPU_DTYPES = {np.dtype(np.float32): "float32", np.dtype(np.float64): "float64"}


def _run_cpu(rule, g, states, scalars):
    if not (CPU_KERNELS and isinstance(g, np.ndarray) and g.dtype in _CPU_DTYPES
            and g.flags.c_contiguous and g.flags.writeable
            and all(isinstance(s, np.ndarray) and s.dtype == g.dtype
                    and s.shape == g.shape and s.flags.c_contiguous for s in states)):
        return None
    kernel = cpu_kernel(rule, g.dtype)
    if kernel is None:
        return None
    dt = g.dtype.type
    kernel(g.reshape(-1), *(s.reshape(-1) for s in states),
           *(dt(scalars[name]) for name in rule.scalars))
    return g


def cpu_source(rule, dtype):
    """The Python source of ``rule``'s numba kernel for ``dtype``: one loop
    over the elements, the body's statements on scalars. Integer literals are
    typed as ``dtype`` (as the CUDA kernel's ``T``), so float32 stays float32."""
    name = _CPU_DTYPES[np.dtype(dtype)]
    body = re.sub(r"(?<![\w.])(\d+)(?![\w.])", rf"np.{name}(\1)", rule.body)
    body = (body.replace("skoptim_sign(", "np.sign(").replace("sqrt(", "np.sqrt(")
            .replace("fmax(", "max("))
    statements = [part.strip() for part in body.split(";") if part.strip()]
    arrays = ("g", *rule.states)
    lines = [
        "import numpy as np",
        "from numba import njit",
        "",
        "",
        "@njit(cache=True, nogil=True, error_model=\"numpy\")",
        f"def kernel({', '.join(f'{a}_' for a in arrays)}, {', '.join(rule.scalars)}):",
        "    for i in range(g_.shape[0]):",
        *(f"        {a} = {a}_[i]" for a in arrays),
        *(f"        {statement}" for statement in statements),
        *(f"        {a}_[i] = {a}" for a in rule.states),
        "        g_[i] = step",
    ]
    return "\n".join(lines) + "\n"


def _kernel_dir():
    """Where generated kernel modules (and numba's cache of their machine code)
    live: ``$SKOPTIM_CACHE_DIR``, else the user's cache directory."""
    root = os.environ.get("SKOPTIM_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "skoptim")
    return Path(root) / "kernels"


def cpu_kernel(rule, dtype):
    """``rule`` compiled by numba for NumPy arrays of ``dtype`` (None without
    numba). The generated module is written to :func:`_kernel_dir`, named by
    a hash of its source, so numba caches its machine code there and a second
    process loads it instead of compiling."""
    key = (rule.name, _CPU_DTYPES[np.dtype(dtype)])
    if key in _CPU_KERNELS:
        return _CPU_KERNELS[key]
    if importlib.util.find_spec("numba") is None:
        _CPU_KERNELS[key] = None
        return None
    source = cpu_source(rule, dtype)
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    module_name = f"skoptim_kernel_{key[0]}_{key[1]}_{digest}"
    try:
        directory = _kernel_dir()
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only home: a private temporary directory
        directory = Path(tempfile.mkdtemp(prefix="skoptim-kernels-"))
    path = directory / f"{module_name}.py"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(source)
        os.replace(tmp, path)  # atomic: concurrent processes see a whole file
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    # numba's cache finds a function's module by name when it loads it.
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    _CPU_KERNELS[key] = module.kernel
    return module.kernel


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
