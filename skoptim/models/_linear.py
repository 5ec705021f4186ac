"""The linear model ``z = X @ W + b``: parameters, passes, and the step-size
rules of scikit-learn's SGD (per-sample rates, passive-aggressive steps)."""

# SPDX-License-Identifier: BSD-3-Clause

import functools
import math

import numpy as np
import scipy.sparse as sp

from skoptim._backend import is_sparse, resolve_backend, to_numpy
from skoptim._kernels import cpu_passes, csr_arrays, matmul, matmul_T, sum_rows
from skoptim.engine import StepRule
from skoptim.engine._data import _Gather
from skoptim.heads._losses import _exp_bounds
from skoptim.models._problem import ModelProblem, layer_bound


class LinearModel:
    """``z = X @ W + b`` with inverted dropout on the inputs.

    The parameters are ``[W]`` or ``[W, b]`` with ``W`` of shape
    ``(n_features, n_outputs)``; only ``W`` is penalized. The fitted
    attributes are scikit-learn's ``coef_`` (``(n_outputs, n_features)``, or
    ``(n_features,)`` with ``coef_1d``) and ``intercept_`` (``(n_outputs,)``;
    ``broadcast_intercept`` lets an ``intercept_init`` of one value serve all).
    """

    penalized = (0,)
    penalty_per_sample = False
    weight_attributes = ("coef_", "intercept_")

    def __init__(self, *, n_features, n_outputs, fit_intercept, dropout, backend,
                 coef_1d=False, broadcast_intercept=True):
        self.n_features, self.n_outputs = n_features, n_outputs
        self.fit_intercept, self.dropout = fit_intercept, dropout
        self.backend, self.coef_1d = backend, coef_1d
        # Whether an intercept_init of shape (1,) serves every output.
        self.broadcast_intercept = broadcast_intercept
        self.uses_noise = dropout > 0
        self.curvature = self.curvature_max = None  # set by measure_curvature
        self.curvature_intercept = None  # set with an intercept (separate steps)
        self.noise_scale, self.row_bytes = 0.0, 8.0

    def init_params(self, rng=None, init=None):
        """Zeros, or ``init = (coef_init, intercept_init)`` (either may be None)."""
        backend, xp = self.backend, self.backend.xp
        d, k = self.n_features, self.n_outputs
        W = xp.zeros((d, k), dtype=backend.dtype, device=backend.device)
        b = xp.zeros((k,), dtype=backend.dtype, device=backend.device)
        if init is not None:
            coef_init, intercept_init = init
            for name, value in (("coef_init", coef_init), ("intercept_init", intercept_init)):
                if value is not None and not np.all(np.isfinite(
                        np.asarray(to_numpy(value), dtype=np.float64))):
                    raise ValueError(f"{name} contains NaN or infinity.")
            if coef_init is not None:
                c = np.asarray(to_numpy(coef_init), dtype=np.float64)
                c = c.reshape(1, -1) if c.ndim == 1 else c
                if c.shape != (k, d):
                    expected = f"({d},) or ({k}, {d})" if k == 1 else f"({k}, {d})"
                    raise ValueError(
                        f"Provided coef_init does not match dataset: its shape is "
                        f"{np.shape(coef_init)}; expected {expected}."
                    )
                W = backend.asarray(c.T.copy())
            if intercept_init is not None:
                i = np.asarray(to_numpy(intercept_init), dtype=np.float64).reshape(-1)
                if i.shape[0] != k and not (i.shape[0] == 1 and self.broadcast_intercept):
                    raise ValueError(
                        f"Provided intercept_init does not match dataset: its shape is "
                        f"{np.shape(intercept_init)}; expected ({k},)."
                    )
                b = backend.asarray(np.broadcast_to(i, (k,)).copy())
        return [W, b] if self.fit_intercept else [W]

    def decision(self, params, X):
        """The raw output ``X @ W + b``."""
        out = matmul(X, params[0])
        if self.fit_intercept:
            out = out + params[1]
        return out

    def forward(self, params, X, *, noise=None):
        """``(z, cache)``: the raw output on the (dropped-out) inputs, which
        the backward pass needs."""
        if self.dropout > 0 and noise is not None:
            mask = noise.keep_mask(X.shape[1], 1.0 - self.dropout)
            X = X.multiply(mask).tocsr() if is_sparse(X) else X * mask
        return self.decision(params, X), X

    def backward(self, params, X, dz, *, out=None):
        """The gradients ``[X.T @ dz, sum(dz)]`` (into ``out`` where possible)."""
        xp = self.backend.xp
        out = out or [None, None]
        grads = [matmul_T(X, dz, xp, out=out[0])]
        if self.fit_intercept:
            grads.append(sum_rows(dz, xp, out=out[1]))
        return grads

    def output_bound(self, params, scale):
        """``scale`` times the largest column sum of ``|W|``, plus the
        largest ``|b|``: a bound of ``|X @ W + b|`` for ``|X| <= scale``."""
        return layer_bound(params[0], params[1] if self.fit_intercept else None, scale,
                            self.backend.xp)

    def fitted_attributes(self, params):
        backend, xp = self.backend, self.backend.xp
        W = params[0]
        coef = W.T.copy() if backend.is_numpy else xp.permute_dims(W, (1, 0))
        if self.fit_intercept:
            intercept = params[1]
        elif backend.is_numpy:
            intercept = np.zeros(self.n_outputs, dtype=W.dtype)
        else:
            intercept = xp.zeros((self.n_outputs,), dtype=W.dtype, device=W.device)
        if self.coef_1d:
            coef = coef.ravel() if backend.is_numpy else xp.reshape(coef, (-1,))
        return {"coef_": coef, "intercept_": intercept}

    def params_from_attributes(self, attributes):
        """The parameters that ``coef_`` and ``intercept_`` stand for."""
        backend, xp = self.backend, self.backend.xp
        coef, intercept = attributes["coef_"], attributes["intercept_"]
        if sp.issparse(coef):
            coef = coef.toarray()
        coef = backend.asarray(coef)
        coef = xp.reshape(coef, (1, -1)) if coef.ndim == 1 else coef
        W = coef.T.copy() if backend.is_numpy else xp.permute_dims(coef, (1, 0))
        if not self.fit_intercept:
            return [W]
        b = xp.reshape(backend.asarray(intercept), (-1,))
        if b.shape[0] != W.shape[1]:
            b = xp.broadcast_to(b, (W.shape[1],))
        return [W, b]

    def measure_curvature(self, X, sw, *, loss_curvature, l2):
        """Bound the curvature of the mean loss (for :class:`PerSampleRate`)
        and the gradient-noise scale and row size (for the batch size);
        ``loss_curvature`` bounds the loss's second derivative in the output."""
        # The L2 part of the penalty enters the gradient, so its strength adds
        # to the curvature that bounds stable steps. Input dropout scales a
        # kept input by 1 / (1 - p): the mean second moment grows by at most
        # that factor, one row's (all its inputs kept) by its square.
        scale = loss_curvature / (1.0 - self.dropout)
        row_scale = scale / (1.0 - self.dropout)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow raises below
            top, row_max, trace, top_w, mu = _curvatures(X, sw, self.fit_intercept,
                                                         self.backend)
        self.curvature = scale * top + l2
        self.curvature_max = row_scale * row_max + l2
        self.noise_scale = trace / top
        if self.fit_intercept:
            # The weights and the intercept take steps of their own (blocks of
            # a diagonal preconditioner): the intercept's column of ones alone
            # would hold the weights' step at 1 / curvature when the features'
            # own curvature is far smaller (sparse or [0, 1]-scaled data).
            # With each block scaled to curvature 1, the coupling through the
            # mean row raises the top eigenvalue by at most mu / sqrt(L_w)
            # (and never beyond 2, as [x, 1][x, 1]^T <= 2 diag(x x^T, 1)).
            w_top = max(top_w, 1e-12 * top)
            self.coupling = min(2.0, 1.0 + mu / math.sqrt(w_top))
            self.curvature_weights = scale * w_top + l2
            self.curvature_weights_max = max(row_scale * (row_max - 1.0) + l2,
                                             self.curvature_weights)
            self.curvature_intercept = scale
        xp = self.backend.xp
        self.row_bytes = (X.nnz * 12 / max(X.shape[0], 1) if is_sparse(X)
                          else X.shape[1] * (4 if self.backend.dtype == xp.float32 else 8))
        # Stored values a row of CSR data on the host with compiled passes
        # (where a fused epoch can take lazy steps), else None.
        self.csr_row_work = (X.nnz / max(X.shape[0], 1) if sp.issparse(X)
                             and X.format == "csr" and cpu_passes(X.data) is not None
                             and X.indices.dtype == X.indptr.dtype else None)

    def step_rule(self, optimizer, *, n, grouped):
        if self.curvature is None:
            return StepRule()
        if self.curvature_intercept is None:
            return PerSampleRate(optimizer, curvature=self.curvature,
                                 curvature_max=self.curvature_max, n=n, grouped=grouped)
        return PerSampleRate(optimizer, curvature=self.curvature_weights,
                             curvature_max=self.curvature_weights_max, n=n,
                             grouped=grouped, coupling=self.coupling,
                             curvature_intercept=self.curvature_intercept)


class LinearProblem(ModelProblem):
    """A linear model with a head, the curvature-capped per-sample rates and,
    for ``learning_rate='pa1'``/``'pa2'``, passive-aggressive steps."""

    def __init__(self, model, head, *, pa=None, pa_C=1.0):
        super().__init__(model, head)
        self.pa, self.pa_C = pa, pa_C

    def loss_grad(self, params, X, y, sample_weight, *, noise=None, out=None):
        if self.pa is None:
            return super().loss_grad(params, X, y, sample_weight, noise=noise, out=out)
        xp = self.xp
        z, X = self.model.forward(params, X, noise=noise)
        value, dz = self.head.loss(z, y)
        step = self._pa_step(X, value)
        # The per-sample steps are summed (scikit-learn's sequential updates
        # taken at once), but like the linear scaling rule their total rate is
        # capped at 1 / curvature: uncapped, a batch overshoots and diverges.
        # The engine's rate is eta0 (= C), hence the division.
        weights = self.head.element_weights(y)
        if sample_weight is not None:
            sw = xp.reshape(sample_weight, (-1, 1))
            weights = sw if weights is None else weights * sw
        if weights is not None:
            step = step * weights
        loss_sum = xp.sum(value if weights is None else value * weights)
        total = xp.sum(step, axis=0)
        scale = self.pa_C * xp.maximum(self.model.curvature * total, xp.ones_like(total))
        return loss_sum, self.model.backward(params, X, dz * step / scale, out=out)

    def step_rule(self, optimizer, *, n, grouped):
        if self.pa is not None:
            return StepRule()  # passive-aggressive steps carry their own size
        return super().step_rule(optimizer, n=n, grouped=grouped)

    def _fuses(self, optimizer, *, l1):
        """Whether a fused epoch can take these steps (the data aside): plain
        SGD (no momentum, clipping, decay, L1, dropout or passive-aggressive
        steps) on a loss it compiles."""
        from skoptim.optim import SGD

        model, head = self.model, self.head
        loss = getattr(head, "loss_fn", None)
        return not (self.pa is not None or model.uses_noise or type(optimizer) is not SGD
                    or getattr(optimizer, "clip_norm", None) is not None
                    or getattr(optimizer, "weight_decay", 0.0) or l1 > 0
                    or self.penalty_per_sample
                    or _FUSED_LOSSES.get(getattr(loss, "name", None)) is None
                    or getattr(head, "output_mean", False) and model.n_outputs > 1)

    def lazy_steps(self, optimizer, *, l1, rows):
        """Whether a fused epoch takes lazy steps (each touching only its
        batch's features) with batches of ``rows`` rows, averaging aside:
        CSR data on the host whose batches would hold fewer stored values
        than the data has features."""
        work = getattr(self.model, "csr_row_work", None)
        return (work is not None and rows * work < self.model.n_features
                and self._fuses(optimizer, l1=l1))

    def fused_epoch(self, config, stepper, flat, batches):
        """:class:`_FusedLinearEpoch` where :meth:`_fuses` (and the data's
        storage and dtypes allow it); else None."""
        model, head = self.model, self.head
        passes = cpu_passes(flat.buffer)
        if (passes is None or not self._fuses(config.optimizer, l1=config.penalty.l1)
                or len(flat.views) != 1 + model.fit_intercept):
            return None
        loss = head.loss_fn
        loss_id = _FUSED_LOSSES[loss.name]
        dtype = flat.buffer.dtype
        pos_w = getattr(head, "pos_weight", None)
        if pos_w is not None and not (isinstance(pos_w, np.ndarray) and pos_w.dtype == dtype
                                      and head.neg_weight.dtype == dtype):
            return None
        X, y, sw = (g.a for g in batches.take)
        if not (isinstance(y, np.ndarray) and y.ndim == 2 and y.dtype == dtype
                and (sw is None or (isinstance(sw, np.ndarray) and sw.dtype == dtype))):
            return None
        rows = min(config.batch_size, X.shape[0])
        if sp.issparse(X):
            if X.format != "csr" or X.dtype != dtype or X.indices.dtype != X.indptr.dtype:
                return None
            row_work, nbytes = X.nnz / max(X.shape[0], 1), X.data.nbytes + X.indices.nbytes
        elif isinstance(X, np.ndarray) and X.dtype == dtype and X.flags.c_contiguous:
            row_work, nbytes = X.shape[1], X.nbytes
        else:
            return None
        # The loop reads a batch's rows twice (forward, then backward): gathered
        # batches and BLAS win on large batches of dense data beyond the
        # cache, and on several outputs the loop's per-output sums (measured,
        # below); a gathered CSR batch (a copy, two compiled products) loses.
        # On CSR data with fewer stored values a batch than features, steps
        # touch the batch's features only (lazy): a step of the batch loop
        # costs every weight, so the loop wins at any size.
        # The batch rule asked the same question of the data (lazy_steps).
        lazy = sp.issparse(X) and self.lazy_steps(config.optimizer, l1=config.penalty.l1,
                                                  rows=rows)
        if not lazy and model.n_outputs == 1:
            if not (sp.issparse(X) or rows <= _FUSED_ROWS or nbytes <= _FUSED_BYTES):
                return None
        elif not lazy and not (rows <= _FUSED_ROWS
                               and row_work * model.n_outputs <= _FUSED_ROW_WORK):
            return None
        return _FusedLinearEpoch(passes, getattr(passes, loss_id), loss, X, y, sw,
                                 flat, config.penalty.l2, pos_w, head.neg_weight
                                 if pos_w is not None else None, lazy=lazy)

    def _pa_step(self, X, value):
        """Per-sample passive-aggressive step sizes (Crammer et al. 2006)."""
        xp = self.xp
        if sp.issparse(X):
            sq = np.asarray(X.multiply(X).sum(axis=1)).reshape(-1, 1)
        elif is_sparse(X):  # pragma: no cover - GPU only
            sq = xp.reshape(xp.asarray(X.multiply(X).sum(axis=1)), (-1, 1))
        else:
            sq = xp.reshape(xp.sum(X * X, axis=1), (-1, 1))
        C = self.pa_C
        if self.pa == "pa1":
            safe = xp.where(sq > 0, sq, xp.ones_like(sq))
            step = xp.where(sq > 0, value / safe, xp.zeros_like(value))
            return xp.minimum(step, xp.full_like(step, C))
        return value / (sq + 0.5 / C)


# A fused epoch of one output runs on CSR data, and on dense data with
# batches of at most _FUSED_ROWS rows or of at most _FUSED_BYTES (it stays in
# cache between the loop's two reads of a batch's rows); with several
# outputs, batches of at most _FUSED_ROWS rows of at most _FUSED_ROW_WORK
# multiply-adds each. Since the CSR passes index with unsigned integers, one
# output on CSR data (epochs of 3 fits): 300,000 x 1,000 (density 0.01,
# batches of 8,811) 44 against 74 ms, 1,000,000 x 1,000 175 against 232,
# 1,000,000 x 200 (0.02) 131 against 158; 10 classes on CSR 100,000 x 1,000
# (3,125) 40 against 38. Before (signed indices):
# Epoch medians on 2 cores (3 fits each), fused against batch by batch, one
# output: CSR 10,000 x 1,000 (density 0.01, batches of 312) 0.47 ms against
# 2.04; 100,000 x 200 (0.02; 3,125) 7.0 against 10.2, in batches of 128 5.7
# against 40.9; 100,000 x 1,000 (0.01; 3,125; 11 MiB) 14.4 against 18.6;
# 300,000 x 200 in batches of 64 37 against 210, of 512 36 against 60;
# 300,000 x 1,000 (8,811; 34 MiB) 68 against 62; 1,000,000 x 200 (9,016)
# 176 against 143, in batches of 512 134 against 214; 1,000,000 x 1,000
# (8,811) 311 against 222. Dense 1,000 x 100 (31) 0.06 against 0.81;
# 10,000 x 100 (312) 0.58 against 1.16; 10,000 x 2,000 (256) 13.3 against
# 17.7; 100,000 x 20 (461) 6.1 against 8.2; 100,000 x 100 (1,310; 76 MiB)
# 13.1 against 13.1, in batches of 128 12.8 against 25.7; 300,000 x 100
# (1,310) 38.7 against 39.1; 1,000,000 x 20 (3,906) 81 against 60;
# 1,000,000 x 100 (1,310) 163 against 140, in batches of 128 138 against
# 271. Several outputs (classes): dense 10,000 x 100, 3 classes (312) 2.5
# against 2.8; 1,000 x 100, 10 classes (31) 0.7 against 1.3; CSR 10,000 x
# 1,000, 10 classes (312) 2.4 against 3.3; dense 20,000 x 784, 10 classes
# (256) 149 against 25; 100,000 x 100, 10 classes (1,310) 111 against 26;
# CSR 100,000 x 1,000, 10 classes (3,125) 46 against 30.
_FUSED_ROWS = 1024
_FUSED_BYTES = 16 << 20
_FUSED_ROW_WORK = 1024
_FUSED_CALL_ROWS = 1 << 18

# The losses a fused epoch compiles (their ids in skoptim._cpu_passes).
_FUSED_LOSSES = {
    "squared_error": "LOSS_SQUARED_ERROR",
    "huber": "LOSS_HUBER",
    "epsilon_insensitive": "LOSS_EPSILON_INSENSITIVE",
    "squared_epsilon_insensitive": "LOSS_SQUARED_EPSILON_INSENSITIVE",
    "hinge": "LOSS_HINGE",
    "perceptron": "LOSS_HINGE",
    "squared_hinge": "LOSS_SQUARED_HINGE",
    "modified_huber": "LOSS_MODIFIED_HUBER",
    "log_loss": "LOSS_LOG",
}


class _FusedLinearEpoch:
    """A linear model's epoch of plain SGD steps in one compiled loop
    (:func:`skoptim._cpu_passes.linear_epoch_dense`, ``linear_epoch_csr``):
    the rows of each batch are read where they are (no batch gathered), and
    no Python runs between two steps. The engine computes the step sizes;
    the loop takes the steps the batch-by-batch engine takes (its losses,
    weighted means, L2 penalty and block scales, in their order)."""

    def __init__(self, passes, loss_id, loss, X, y, sw, flat, l2, pos_w, neg_w, *,
                 lazy=False):
        dtype = flat.buffer.dtype
        self.lazy = lazy
        self.loss_id, self.y, self.sw = loss_id, y, sw
        self.sparse = sp.issparse(X)
        self.params, self.W = flat.buffer, flat.views[0]
        self.b = flat.views[1] if len(flat.views) > 1 else np.zeros(0, dtype=dtype)
        self.icpt = len(flat.views) > 1
        self.dtype = dtype
        param = getattr(loss, "epsilon", getattr(loss, "threshold", 0.0))
        if loss_id == passes.LOSS_LOG:
            param = _exp_bounds(np, dtype)[0]  # LogLoss's floor of the exponent
        # Cast as the batch loop's kernels cast them: float32 may overflow to
        # infinity (alpha=1e300), which the training then reports.
        with np.errstate(over="ignore"):
            self.cst = np.array([0.5, 2.0, 4.0, 1.0, param, 0.0], dtype=dtype)
            self.l2 = dtype.type(l2)
        self.class_weighted = pos_w is not None
        self.pos_w = pos_w if pos_w is not None else np.zeros(0, dtype=dtype)
        self.neg_w = neg_w if neg_w is not None else np.zeros(0, dtype=dtype)
        self.gW, self.gb = np.empty_like(self.W), np.empty(self.W.shape[1], dtype=dtype)
        self.dz = np.empty((0, self.W.shape[1]), dtype=dtype)
        # What every epoch passes alike: the kernel with its data, and empty
        # arrays for what is off.
        if self.sparse:
            self.kernel = functools.partial(passes.linear_epoch_csr, *csr_arrays(X))
        else:
            self.kernel = functools.partial(passes.linear_epoch_dense, X)
        self.no_weights = np.zeros(0, dtype=dtype)
        self.no_average = (self.params[:0], np.zeros(0, dtype=dtype))
        self._batches_of = self._batches = None  # the last offsets and what they give

    def run(self, index, lr, head_scale, tail_scale, average=None, divisors=None):
        """Take the steps of the batches ``index`` (an
        :class:`~skoptim.engine._data.EpochIndex`) with these step sizes;
        return each batch's loss sum. With ``average`` (a buffer of the
        parameters' layout) the iterates' running mean follows each step
        whose ``divisors`` entry (the iterates averaged, 0 for none) is
        positive."""
        dtype, n_batches = self.dtype, len(index)
        rows, offsets = index.rows, index.offsets
        if offsets is not self._batches_of:  # most plans reuse one offsets array
            counts = np.diff(offsets)
            largest = int(counts.max()) if n_batches else 0
            self._batches_of, self._batches = offsets, (counts.astype(dtype), largest)
        counts, largest = self._batches
        if index.row_weights is not None:  # batches cut by weight: their weights
            wts, weighted = index.row_weights.astype(dtype), True
        elif self.sw is not None:
            wts, weighted = self.sw[rows], True
        else:
            wts, weighted = self.no_weights, False
        if self.dz.shape[0] < largest:
            self.dz = np.empty((largest, self.W.shape[1]), dtype=dtype)
        losses = np.empty(n_batches, dtype=dtype)
        lr, head_scale, tail_scale = (np.asarray(v, dtype=dtype)
                                      for v in (lr, head_scale, tail_scale))
        if average is None:
            average, divisors = self.no_average
        else:
            divisors = np.asarray(divisors).astype(dtype)
        kernel = self.kernel
        if self.sparse:
            # The running average reads every weight: lazy steps without it.
            extra = (self.lazy and not divisors.shape[0],)
        else:
            extra = ()
            # Unsigned row numbers: numba checks a signed one for a negative
            # index at each read (an epoch of 100,000 x 20: 6.7 -> 2.8 ms; x 100: 12.8
            # -> 11.3).
            rows = rows.view(f"u{rows.dtype.itemsize}")
        # In calls of about _FUSED_CALL_ROWS rows: Python (an interrupt, a
        # signal handler) runs between them, as between the batch loop's steps.
        step = max(1, _FUSED_CALL_ROWS // max(largest, 1))
        for i in range(0, n_batches, step):
            j = min(i + step, n_batches)
            kernel(self.y, rows, offsets[i:j + 1], counts[i:j], wts, weighted, self.pos_w,
                   self.neg_w, self.class_weighted, self.loss_id, self.cst, self.W, self.b,
                   self.icpt, self.l2, lr[i:j], head_scale[i:j], tail_scale[i:j], self.dz,
                   self.gW, self.gb, losses[i:j], self.params, average,
                   divisors[i:j] if divisors.shape[0] else divisors, *extra)
        return losses


class PerSampleRate(StepRule):
    """scikit-learn's per-sample learning rate, taken a mini-batch at a time.

    For optimizers that are not scale invariant a batch of weight ``W`` and
    ``b`` rows takes the step ``min(lr * W, max(d / L_b, min(1 / L_b, lr)))``
    on the mean gradient: the sum of the ``W`` per-sample steps that
    scikit-learn would take (the linear scaling rule), or the curvature limit
    of a ``b``-row batch (:meth:`cap`) times the schedule's decay
    ``d = lr / lr_0`` (``lr_0``: the rate the schedule decays from, ``eta0``,
    or ``1 / (alpha t0)`` for ``'optimal'`` where rates count updates), but
    not below one sample's step ``lr`` while that is under the cap. Schedules then
    count weight updates (batches), as scikit-learn's ``t_`` counts updates
    (one per sample there), except on small data cut by weight, where the
    summed per-sample steps count samples as scikit-learn does; the decay of
    the cap still counts updates there (counted in samples, it would shrink
    the capped steps below scikit-learn's sums ``sqrt(batch)`` times faster
    under ``'invscaling'``).

    With ``curvature_intercept`` the curvatures are the weights' alone, and
    the intercept takes a step of its own, at most the weights' and at most
    ``d / L_icpt`` (:meth:`block_scales`), both caps divided by ``coupling``:
    the diagonal preconditioner's bound on how much the two blocks add up to.
    Where the features' curvature is far below the intercept's (sparse or
    [0, 1]-scaled data) the weights then take the larger steps their own
    curvature allows, as scikit-learn damps the intercept's steps on sparse
    data (its ``intercept_decay``).
    """

    decays_per_update = True

    def __init__(self, optimizer, *, curvature, curvature_max, n, grouped, coupling=1.0,
                 curvature_intercept=None):
        self.optimizer, self.n = optimizer, n
        self.curvature, self.curvature_max = curvature, curvature_max or curvature
        self.coupling, self.curvature_intercept = coupling, curvature_intercept
        self.linear_scaling = not optimizer.scale_invariant
        self.counts_updates = not (grouped and self.linear_scaling)
        self.caps = {}
        self._caps_of = self._caps_last = None  # sizes() of the last batch sizes
        self.scales = (1.0, 1.0)

    def cap(self, b):
        """The stable step of a batch of size ``b`` (rows, or weight) out of
        ``n``: between the full-data and the one-sample curvature bounds
        (expected smoothness, Gower et al. 2019)."""
        if b not in self.caps:
            self.caps[b] = float(self._caps(np.float64(b)))
        return self.caps[b]

    def _caps(self, b):
        """:meth:`cap` of each batch size in the array ``b``."""
        n, L, L_max = self.n, self.curvature, self.curvature_max
        size = np.minimum(np.maximum(b, 1.0), n)
        if n <= 1:  # one sample: the full-data bound (no division by n - 1)
            L_b = np.full_like(size, L)
        else:
            L_b = np.where(size >= n, L,
                           (n * (size - 1) * L + (n - size) * L_max) / (size * (n - 1)))
        return 1.0 / (L_b * self.coupling * self.optimizer.step_gain())

    def size(self, lr, reference_lr, *, rows, weight, decay_lr):
        self.scales = (1.0, 1.0)
        if not self.linear_scaling:
            return lr
        decay = min(1.0, decay_lr / reference_lr)
        # The cap decays with the schedule, but the weights' capped step never
        # falls below the schedule's own rate (one sample's step) under the cap.
        cap = self.cap(rows)
        step = min(lr * weight, max(cap * decay, min(cap, lr)))
        if self.curvature_intercept is None:
            return step
        # Every sample has the intercept's curvature: no batch dependence.
        # The intercept never steps further than the weights (scikit-learn's
        # share one rate, damped on sparse data).
        cap = 1.0 / (self.curvature_intercept * self.coupling * self.optimizer.step_gain())
        step_b = min(step, cap * decay)
        if step > 0:
            self.scales = (1.0, step_b / step)
        return step

    def block_scales(self):
        return self.scales

    def sizes(self, lr, reference_lr, *, rows, weights, decay_lr):
        """:meth:`size` and :meth:`block_scales` of many steps, vectorised."""
        ones = np.ones(len(lr))
        if not len(lr) or not self.linear_scaling:
            self.scales = (1.0, 1.0)
            return np.asarray(lr, dtype=np.float64), ones, ones
        decay = np.minimum(1.0, decay_lr / reference_lr)
        if rows is not self._caps_of:  # most epochs pass the same (read-only) sizes
            self._caps_of, self._caps_last = rows, self._caps(rows)
        cap = self._caps_last
        step = np.minimum(lr * weights, np.maximum(cap * decay, np.minimum(cap, lr)))
        tails = ones
        if self.curvature_intercept is not None:
            cap_b = 1.0 / (self.curvature_intercept * self.coupling
                           * self.optimizer.step_gain())
            step_b = np.minimum(step, cap_b * decay)
            tails = np.divide(step_b, step, out=np.ones(len(lr)), where=step > 0)
        self.scales = (1.0, float(tails[-1]))
        return step, ones, tails


def _max_row_norm(X, backend, chunk=16384):
    """The largest squared row norm of ``X``, in float64 (float32 data of
    magnitude 1e20 has squares beyond float32), ``chunk`` rows at a time: a
    few MiB of temporaries at most, and no copy of a sparse matrix."""
    n = X.shape[0]
    if sp.issparse(X):
        passes = cpu_passes(X.data)
        if passes is not None:  # one compiled pass
            return float(passes.csr_max_row_sq_norm(csr_arrays(X)[0], X.data))
        # Row norms from the stored values.
        row_max = 0.0
        for start in range(0, n, chunk):
            ptr = X.indptr[start:min(start + chunk, n) + 1]
            values = X.data[ptr[0]:ptr[-1]].astype(np.float64, copy=False)
            csum = np.concatenate(([0.0], np.cumsum(np.square(values))))
            row_max = max(row_max, float(np.max(csum[ptr[1:] - ptr[0]]
                                                - csum[ptr[:-1] - ptr[0]])))
        return row_max
    if backend.is_numpy:
        return float(max(np.einsum("ij,ij->i", X[s:s + chunk], X[s:s + chunk],
                                   dtype=np.float64).max()
                         for s in range(0, n, chunk)))
    xp = backend.xp
    X64 = xp.astype(X, xp.float64) if X.dtype != xp.float64 else X
    return float(xp.max(xp.sum(X64 * X64, axis=1)))


def _curvatures(X, sw, fit_intercept, backend, n_iter=30):
    """Curvature bounds of the mean squared loss on ``[X, 1]``.

    Returns ``(L, L_max, trace, L_w, mu)``: the largest eigenvalue of the
    weighted second moment (Lanczos iteration from a deterministic start,
    compiled where numba runs, on every ``k``-th row: about 4 MiB, at most
    10,000 rows, see :func:`_subsample`), the largest squared row norm (all
    rows), which bounds a single sample's curvature, the trace (weighted
    mean squared row norm, on the subsample), and for the weights alone
    (without the intercept's column of ones) the largest eigenvalue ``L_w``
    and the norm ``mu`` of the weighted mean row.
    Dense data of at most ``_GRAM_MAX_FEATURES`` columns forms the second
    moment once (one BLAS-3 product) and iterates on it.
    """
    if is_sparse(X) and not sp.issparse(X):  # pragma: no cover - GPU only
        # CuPy sparse: estimate on the host (one copy of the values, once).
        X, sw = X.get(), None if sw is None else to_numpy(sw)
        backend = resolve_backend(X)
    if sp.issparse(X) and not X.has_canonical_format:
        # Squares and row norms read the stored values: duplicates summed first.
        X = X.copy()
        X.sum_duplicates()
    n, d = X.shape
    icpt = 1.0 if fit_intercept else 0.0
    row_max = _max_row_norm(X, backend) + icpt
    Xs, ws = _subsample(X, sw, backend)
    # Dense data of a few features: the second moment once (one BLAS-3
    # product), its diagonal the weighted mean squared row norms.
    gram = not sp.issparse(X) and d <= _GRAM_MAX_FEATURES
    G = _second_moment(Xs, ws) if gram else None
    # The weighted mean squared row norm (a sparse row's from its stored values).
    trace = icpt + (float(np.trace(G)) if gram else
                    float(np.square(Xs.data) @ np.repeat(ws, np.diff(Xs.indptr)))
                    if sp.issparse(Xs) else float(ws @ np.einsum("ij,ij->i", Xs, Xs)))
    if not (math.isfinite(row_max) and math.isfinite(trace)):
        raise ValueError(
            "Floating-point under-/overflow occurred at epoch #0, before training: the "
            "squared norms of the rows of X overflow, its values "
            "are too large for SGD. Scaling input data with StandardScaler or "
            "MinMaxScaler might help."
        )
    mean = matmul_T(Xs, ws[:, None], np, out=np.empty((d, 1))).ravel()
    # More features than sampled rows (text): iterate in the row space, where
    # W^1/2 [X, 1] [X, 1]^T W^1/2 has the same top eigenvalue; the
    # recurrences' vectors are as long as the sample, not the features.
    rows = sp.issparse(Xs) and Xs.shape[0] < d
    # On the moment over its trace (eigenvalues in [0, 1]): squared norms of
    # the iterates stay finite however large X is.
    lam = lam_w = 0.0  # X = 0 without an intercept: the zero matrix
    compiled = cpu_passes(G) if gram else cpu_passes(Xs.data, ws) if sp.issparse(Xs) else None
    if trace > 0.0 and compiled is not None:
        # The recurrences with their products in one compiled call: the
        # Python between products cost more than the products on small data
        # (10,000 x 100 dense: both eigenvalues 0.06 ms, against 0.57 ms in
        # Python and 0.54 ms for LAPACK's exact ones).
        lam, lam_w = _compiled_top_eigenvalues(compiled, Xs, ws, G, mean, d, fit_intercept,
                                               rows, trace, n_iter)
    elif trace > 0.0:
        lam, lam_w = _top_eigenvalues(_moment(Xs, ws, G, mean, fit_intercept, rows, trace),
                                      Xs.shape[0] if rows else d, 0.0 if rows else icpt,
                                      n_iter)
    lam, lam_w = lam * trace, lam_w * trace
    if not fit_intercept:
        lam_w = lam
    if lam == 0.0:
        return 1.0, max(row_max, 1.0), max(trace, 1.0), 1.0, 0.0
    return (lam, max(row_max, lam), max(trace, lam), lam_w,
            float(np.sqrt(mean @ mean)))


def _moment(Xs, ws, G, mean, fit_intercept, rows, trace):
    """The product of :func:`_top_eigenvalues` (the recurrences in Python,
    without numba): the second moment of ``[X, 1]`` over ``trace`` times the
    two columns ``[V; c]``, the first with the intercept's column, the second
    without; from ``G`` and ``mean`` (dense data), else two products with
    the rows ``Xs`` (weights ``ws``), in their row space where ``rows``."""
    if G is not None:
        return lambda V, c: ((G @ V + np.outer(mean, c)) / trace, (mean @ V + c) / trace)
    d = Xs.shape[1]
    product = np.empty((d, 2))
    if rows:
        root = np.sqrt(ws)

        def rows_moment(U, c):
            P = matmul(Xs, matmul_T(Xs, U * root[:, None], np, out=product))
            P *= root[:, None]
            if fit_intercept:
                P[:, 0] += root * (root @ U[:, 0])
            return P / trace, np.zeros(2)

        return rows_moment
    equal = bool(np.all(ws == ws[0]))

    def moment(V, c):
        U = matmul(Xs, V)
        U += c
        U *= ws[0] if equal else ws[:, None]
        return matmul_T(Xs, U, np, out=product) / trace, U.sum(axis=0) / trace

    return moment


def _compiled_top_eigenvalues(passes, Xs, ws, G, mean, d, fit_intercept, rows, trace, n_iter,
                              rtol=1e-3):
    """:func:`_top_eigenvalues` of the second moment over ``trace`` in one
    compiled call (:func:`skoptim._cpu_passes._lanczos_top2`): of ``G`` and
    ``mean`` (dense data), else of the CSR rows ``Xs`` weighted by ``ws``,
    in their row space where ``rows``."""
    f64, no_index = np.zeros(0), np.zeros(0, dtype=np.uint32)
    n = (Xs.shape[0] if rows else d) + 1
    steps = min(n_iter, n)
    scratch = (np.zeros((2, steps, n)), np.zeros((4, steps)), np.zeros((2, n)),
               np.zeros((2, n)), np.zeros((n - 1, 2)), np.zeros((n - 1, 2)), np.zeros(10))
    if G is not None:
        return passes.lanczos_gram(G, mean, no_index, no_index, f64, f64, np.zeros((0, 2)),
                                   False, fit_intercept, 1.0 / trace, rtol, *scratch)
    indptr, indices, data = csr_arrays(Xs)
    if rows:
        return passes.lanczos_csr_rows(np.zeros((0, 0)), f64, indptr, indices, data,
                                       np.sqrt(ws), np.empty((d, 2)), fit_intercept, False,
                                       1.0 / trace, rtol, *scratch)
    return passes.lanczos_csr(np.zeros((0, 0)), f64, indptr, indices, data, ws,
                              np.zeros((0, 2)), False, fit_intercept, 1.0 / trace, rtol,
                              *scratch)


# Dense data with at most this many features forms its second moment for the
# Lanczos iteration (m d^2 flops in BLAS-3 against 2 n_iter m d in BLAS-2).
_GRAM_MAX_FEATURES = 512


def _second_moment(Xs, ws):
    """``Xs.T @ diag(ws) @ Xs`` for dense float64 rows; equal weights (no
    sample weights) scale one symmetric product, not a copy of the rows."""
    if ws.shape[0] and np.all(ws == ws[0]):
        return (Xs.T @ Xs) * ws[0]
    return Xs.T @ (Xs * ws[:, None])


def _subsample(X, sw, backend):
    """The rows the curvature is estimated on: ``(rows, weights)``, float64,
    the weights summing to 1. Every ``k``-th row, ``k`` the smallest step
    that keeps them within about 4 MiB and 10,000 rows (all rows of small
    data): spread over the whole data, the same rows for every storage. A
    view of a float64 NumPy array (BLAS reads its rows where they are, one
    product for all), gathered at once from SciPy CSR (small data: the
    matrix itself)."""
    n, d = X.shape
    row_bytes = X.nnz * 12 / max(n, 1) if sp.issparse(X) else d * 8
    m = int(min(n, 10_000, max(256, (4 << 20) // max(row_bytes, 1))))
    step = -(-n // max(m, 1))
    if sp.issparse(X):
        Xs = X if step == 1 else _Gather(X, np)(np.arange(0, n, step))
    elif backend.is_numpy:
        Xs = X[::step]
    else:
        Xs = to_numpy(X[::step, ...])
    ws = (np.ones(Xs.shape[0]) if sw is None
          else np.asarray(to_numpy(sw)[::step], dtype=np.float64))
    return Xs.astype(np.float64, copy=False), ws / float(ws.sum())


def _top_eigenvalues(moment, d, icpt, n_iter, rtol=1e-3):
    """Lanczos estimates of the top eigenvalues of the second moment of ``[X,
    1]`` (the intercept's column counted when ``icpt`` is 1) and of ``X``
    alone, from the same deterministic start; ``moment(V, c)`` multiplies
    the full matrix by the two columns ``[V; c]``.

    Each column runs its own Lanczos recurrence (with full
    reorthogonalisation) on the shared products; the estimate is the largest
    eigenvalue of its tridiagonal matrix, which rises towards the top
    eigenvalue much faster than power iteration where the top eigenvalues lie
    close together (a flat spectrum: power iteration stalls a few per cent
    below it). Stops after ``n_iter`` products, or once both estimates change
    by less than ``rtol`` (relative): a cap 1e-3 too large is as stable."""
    mask = np.array([1.0 if icpt else 0.0, 0.0])  # which columns have c
    n_iter = min(n_iter, d + 1)  # the Krylov spaces have at most d + 1 dimensions
    # basis[j, k]: the k-th Lanczos vector of column j, [V; c] as one row.
    basis = np.zeros((2, n_iter, d + 1))
    q = basis[:, 0]
    q[:, :d], q[:, d] = 1.0, mask
    q /= np.linalg.norm(q, axis=1)[:, None]
    alphas, betas = ([], []), ([], [])
    lam, done = np.zeros(2), [False, False]
    for k in range(n_iter):
        V_new, c_new = moment(np.ascontiguousarray(q[:, :d].T), q[:, d])
        w = np.empty((2, d + 1))
        w[:, :d], w[:, d] = V_new.T, np.asarray(c_new) * mask
        alpha = np.sum(w * q, axis=1)
        for j in (0, 1):  # full reorthogonalisation (twice is enough)
            B = basis[j, :k + 1]
            for _ in range(2):
                w[j] -= (B @ w[j]) @ B
        beta = np.linalg.norm(w, axis=1)
        previous = lam.copy()
        for j in (0, 1):
            if done[j]:
                continue
            alphas[j].append(alpha[j])
            lam[j] = _tridiagonal_top(np.array(alphas[j]), np.array(betas[j]))
            # Settled, or an invariant subspace (beta ~ 0: the estimate is exact).
            done[j] = bool(beta[j] <= 1e-10 * lam[j]
                           or (k > 0 and lam[j] - previous[j] <= rtol * lam[j]))
            betas[j].append(beta[j])
        if lam[0] == 0.0:
            return 0.0, 0.0
        if all(done) or not np.all(np.isfinite(lam)) or k + 1 == n_iter:
            break
        q = basis[:, k + 1]
        for j in (0, 1):
            if not done[j]:
                q[j] = w[j] / beta[j]
    return float(lam[0]), float(lam[1])


def _tridiagonal_top(alpha, beta):
    """The largest eigenvalue of the symmetric tridiagonal matrix with
    diagonal ``alpha`` and off-diagonal ``beta`` (at most ``n_iter`` rows:
    a dense solve costs less than a banded solver's call overhead)."""
    T = np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)
    scale = float(np.max(np.abs(T)))  # entries near the float64 limit stay finite
    if not scale > 0.0 or not math.isfinite(scale):
        return math.inf if scale != 0.0 else 0.0
    return max(scale * float(np.linalg.eigvalsh(T / scale)[-1]), 0.0)
