"""Array kernels: the fused optimizer updates (one kernel per update rule:
CUDA through CuPy on a GPU, numba on the CPU, from the same source; on the
CPU the whole step, :class:`FusedApply`), the loader of the compiled passes
around a batch's products (:func:`cpu_passes`), and the few products whose
form depends on the input's storage (dense, SciPy or CuPy sparse, any
array-API namespace)."""

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


@dataclass
class FusedApply:
    """The rest of an optimizer step around its update rule, fused into the
    same pass where a CPU kernel runs.

    Before the rule, the gradient becomes ``(g + l2 * p) * head_scale`` on
    the penalized head of the buffer (elements ``[0, n_head)``) and ``g *
    tail_scale`` on the rest (the L2 penalty's gradient; clipping's scale,
    times a step rule's scale for each block: the weights and the
    unpenalized intercepts may take steps of their own); after it
    the step gains ``decay * p`` on the head (decoupled weight decay), and the
    parameters become ``p - step``. A kernel that does all this sets ``done``;
    otherwise :meth:`prologue` and :meth:`epilogue` do it with array
    operations around the rule (GPU, generic code), in the same order.
    """

    params: object
    n_head: int
    l2: float = 0.0
    head_scale: object = 1.0
    tail_scale: object = 1.0
    decay: float = 0.0
    done: bool = False

    def prologue(self, g):
        """The gradient part, in place on ``g`` (any namespace)."""
        if self.l2:
            g[:self.n_head] += self.l2 * self.params[:self.n_head]
        for part, scale in ((g[:self.n_head], self.head_scale),
                            (g[self.n_head:], self.tail_scale)):
            if not (isinstance(scale, float) and scale == 1.0):
                part *= scale

    def epilogue(self, step):
        """Decay and the update of the parameters, from the rule's ``step``."""
        if self.decay:
            step[:self.n_head] += self.decay * self.params[:self.n_head]
        self.params -= step


def run_fused(rule, g, states, scalars, apply=None):
    """Run ``rule`` as one kernel and return the step; None where no kernel runs.

    ``states`` (arrays shaped like ``g``, in ``rule.states`` order) are
    updated in place; ``scalars`` maps ``rule.scalars`` to Python floats.
    CuPy arrays run a CUDA kernel (the step in a new array); contiguous
    float32/float64 NumPy arrays a numba kernel when numba is installed (the
    step written over ``g``, which the optimizers may overwrite). Other
    arrays get None and run the optimizer's generic code.

    With ``apply`` (a :class:`FusedApply` for this buffer), a CPU kernel also
    does the penalty, clipping scale, decoupled decay and parameter update in
    the same pass and sets ``apply.done`` (what it returns is then no step);
    where none runs, ``apply.prologue`` has been done on ``g`` on return, and
    the caller's step goes to ``apply.epilogue``.
    """
    if not _is_cupy(g):
        step = _run_cpu(rule, g, states, scalars, apply)
        if apply is not None and not apply.done:
            apply.prologue(g)
        return step
    if apply is not None:  # pragma: no cover - GPU only
        apply.prologue(g)
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
_CPU_KERNELS = {}  # (rule name, dtype name, fused apply) -> compiled function or None
_CPU_DTYPES = {np.dtype(np.float32): "float32", np.dtype(np.float64): "float64"}


def _cpu_ready(g, arrays):
    return (CPU_KERNELS and isinstance(g, np.ndarray) and g.dtype in _CPU_DTYPES
            and g.flags.c_contiguous and g.flags.writeable
            and all(isinstance(s, np.ndarray) and s.dtype == g.dtype
                    and s.shape == g.shape and s.flags.c_contiguous and s.flags.writeable
                    for s in arrays))


def _run_cpu(rule, g, states, scalars, apply=None):
    p = () if apply is None else (apply.params,)
    if not (_cpu_ready(g, (*states, *p)) and (apply is None or all(
            isinstance(v, (int, float)) for v in (apply.head_scale, apply.tail_scale)))):
        return None
    kernel = cpu_kernel(rule, g.dtype, fused_apply=apply is not None)
    if kernel is None:
        return None
    dt = g.dtype.type
    arrays = [g.reshape(-1), *(s.reshape(-1) for s in states)]
    extra = ()
    if apply is not None:
        arrays.append(apply.params.reshape(-1))
        extra = (apply.n_head, dt(apply.l2), dt(apply.head_scale), dt(apply.tail_scale),
                 dt(apply.decay))
        apply.done = True
    kernel(*arrays, *extra, *(dt(scalars[name]) for name in rule.scalars))
    return g


def cpu_source(rule, dtype, fused_apply=False):
    """The Python source of ``rule``'s numba kernel for ``dtype``: one loop
    over the elements, the body's statements on scalars. Integer literals are
    typed as ``dtype`` (as the CUDA kernel's ``T``), so float32 stays float32.

    With ``fused_apply`` the kernel also takes the parameters and the
    :class:`FusedApply` scalars and does the whole step (two loops: the
    penalized head, then the rest); the operations are those of
    ``FusedApply.prologue``/``epilogue`` around the rule, in the same order.
    """
    name = _CPU_DTYPES[np.dtype(dtype)]
    body = re.sub(r"(?<![\w.])(\d+)(?![\w.])", rf"np.{name}(\1)", rule.body)
    body = (body.replace("skoptim_sign(", "np.sign(").replace("sqrt(", "np.sqrt(")
            .replace("fmax(", "max("))
    statements = [part.strip() for part in body.split(";") if part.strip()]
    arrays = ("g", *rule.states)
    loads = [f"{a} = {a}_[i]" for a in rule.states]
    # A state that decays geometrically where its gradients are zero (Adam's
    # moments of a weight from an always-zero pixel) reaches subnormal
    # numbers, on which the CPU's arithmetic is many times slower: flushed
    # to zero (what a step from it would move a weight by is below 1e-30).
    tiny = f"np.{name}({float(np.finfo(dtype).tiny)!r})"
    stores = [line for a in rule.states for line in (
        f"if abs({a}) < {tiny}:", f"    {a} = {a} * np.{name}(0)", f"{a}_[i] = {a}")]
    head = ["@njit(cache=True, nogil=True, error_model=\"numpy\")"]
    if not fused_apply:
        signature = [*arrays, *rule.scalars]
        loops = [("range(g_.shape[0])", ["g = g_[i]"], ["g_[i] = step"])]
    else:
        signature = [*arrays, "p", "n_head", "l2", "head_scale", "tail_scale", "decay",
                     *rule.scalars]
        loops = [("range(n_head)", ["w = p_[i]", "g = (g_[i] + l2 * w) * head_scale"],
                  ["step = step + decay * w", "p_[i] = w - step"]),
                 ("range(n_head, g_.shape[0])", ["g = g_[i] * tail_scale"],
                  ["p_[i] = p_[i] - step"])]
    args = [f"{a}_" if a in arrays or a == "p" else a for a in signature]
    lines = ["import numpy as np", "from numba import njit", "", "", *head,
             f"def kernel({', '.join(args)}):"]
    for bounds, before, after in loops:
        lines.append(f"    for i in {bounds}:")
        lines += [f"        {line}" for line in (*before, *loads, *statements, *stores, *after)]
    return "\n".join(lines) + "\n"


def _kernel_dir():
    """Where generated kernel modules (and numba's cache of their machine code)
    live: ``$SKOPTIM_CACHE_DIR``, else the user's cache directory."""
    root = os.environ.get("SKOPTIM_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "skoptim")
    return Path(root) / "kernels"


def cpu_kernel(rule, dtype, fused_apply=False):
    """``rule`` compiled by numba for NumPy arrays of ``dtype`` (None without
    numba), with the whole step around it for ``fused_apply``. The generated
    module is written to :func:`_kernel_dir`, named by a hash of its source,
    so numba caches its machine code there and a second process loads it
    instead of compiling."""
    key = (rule.name, _CPU_DTYPES[np.dtype(dtype)], bool(fused_apply))
    if key in _CPU_KERNELS:
        return _CPU_KERNELS[key]
    if importlib.util.find_spec("numba") is None:
        _CPU_KERNELS[key] = None
        return None
    source = cpu_source(rule, dtype, fused_apply)
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    module_name = f"skoptim_kernel_{key[0]}{'_step' if fused_apply else ''}_{key[1]}_{digest}"
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


_FLOATS = tuple(_CPU_DTYPES)
_PASSES = None  # the _cpu_passes module; False: numba is not installed


def cpu_passes(*arrays):
    """The compiled passes of :mod:`skoptim._cpu_passes` for these arrays, or
    None: kernels off (``CPU_KERNELS``), numba not installed, or arrays they
    do not take (not C-contiguous float32/float64 NumPy arrays of one dtype).
    """
    global _PASSES
    if not CPU_KERNELS:
        return None
    dtype = getattr(arrays[0], "dtype", None)
    if dtype not in _FLOATS:
        return None
    for a in arrays:  # a loop, not all(...): this runs several times a batch
        if type(a) is not np.ndarray or a.dtype != dtype or not a.flags.c_contiguous:
            return None
    if _PASSES is None:
        try:
            from skoptim import _cpu_passes
        except ImportError:
            _PASSES = False
        else:
            _PASSES = _cpu_passes
    return _PASSES or None


def csr_arrays(X):
    """``(indptr, indices, data)`` of a SciPy CSR matrix as the compiled
    passes take them: the index arrays viewed as unsigned integers of their
    size (no copy). numba lets a negative index count from the end, a check
    at every access with a signed index that the compiler cannot prove
    non-negative, as a position from ``indptr`` or a column from
    ``indices``; unsigned indices have none (an epoch of the fused linear
    loop on 100,000 rows of text, 2^20 features: 65 -> 31 ms)."""
    return (X.indptr.view(f"u{X.indptr.dtype.itemsize}"),
            X.indices.view(f"u{X.indices.dtype.itemsize}"), X.data)


def _csr_passes(X, D, out=None):
    """The compiled passes for a product of the SciPy CSR matrix ``X`` with
    the dense ``D`` (into ``out``), or None where they do not apply."""
    if not (sp.issparse(X) and X.format == "csr" and isinstance(D, np.ndarray)
            and D.ndim == 2 and X.dtype == D.dtype):
        return None
    return cpu_passes(X.data, D) if out is None else cpu_passes(X.data, D, out)


def matmul(X, W):
    """``X @ W`` for dense, SciPy/CuPy sparse and array-API ``X`` (dense out).

    A SciPy CSR ``X`` times a 2-D NumPy ``W`` of its dtype runs a compiled
    loop where numba is installed (scipy's product, without the call's
    overhead on small batches)."""
    if not sp.issparse(X):
        return X @ W
    passes = _csr_passes(X, W)
    if passes is None:
        return np.asarray(X @ W)
    out = np.empty((X.shape[0], W.shape[1]), dtype=W.dtype)
    passes.csr_matmul(*csr_arrays(X), W, out)
    return out


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
    if isinstance(out, np.ndarray) and out.shape == (X.shape[1],) + d.shape[1:]:
        passes = _csr_passes(X, d, out)
        if passes is not None:
            passes.csr_matmul_T(*csr_arrays(X), d, out)
            return out
    return matmul(transpose(X, xp), d)


def sum_rows(a, xp, out=None):
    """The column sums of a 2-D array, into ``out`` for NumPy (see matmul_T)."""
    if out is not None and isinstance(a, np.ndarray) and isinstance(out, np.ndarray):
        return np.sum(a, axis=0, out=out)
    return xp.sum(a, axis=0)
