"""Compiled inner loop of the exact mode (``batch_size=1``), with numba.

:func:`run_epoch` is one epoch of :class:`skoptim.linear_model._exact._Replay`
(its ``_epoch`` and the per-sample ``_sample`` with its helpers) compiled by
numba: the same floating-point operations, in the same order, on the same
scalars and arrays, so that it returns bit for bit what the Python loop
computes (``tests/test_exact_compiled.py``). Everything else -- the checks, the
random draws, the end-of-epoch bookkeeping (stopping rule, validation score,
verbose lines, callbacks), the result -- stays in Python, in ``_exact.py``.

How the operations are kept:

* **No fast-math.** The functions are compiled without ``fastmath``: LLVM may
  neither reassociate the sums (they run left to right, from 0.0, as
  scikit-learn's C loops do) nor contract ``a * b + c`` into a fused
  multiply-add (no ``contract`` flag is set and LLVM's default fusion mode
  only fuses ``llvm.fmuladd``, which numba does not emit). Elementwise loops
  may be vectorized, which does not change any rounding.
* **Single precision.** On float32 data the arrays are float32 and numba's
  typing follows C's: the product of two float32 values is a float32
  (rounded) before it is added to a double accumulator, a double stored into
  a float32 array is rounded, and the explicit roundings of the Python code
  (``_round32``) are ``float64(float32(v))`` here (:func:`_rnd`). The rescaling
  of the vectors (:func:`_fold_scale`) is done in float32 arithmetic, as
  NumPy does it on float32 arrays.
* **Library functions.** ``math.exp``, ``math.log``, ``math.log1p``,
  ``math.pow`` and ``math.sqrt`` call the same C library functions as
  Python's ``math`` module (``sqrt`` is an exact instruction).
* **Division by zero** gives inf/nan as in NumPy (``error_model="numpy"``):
  the Python loop runs under ``np.errstate(all="ignore")`` and checks for
  overflow after the epoch.

The rows are read as scikit-learn's datasets read them: a CSR row is
``data[lo:hi]`` with feature indices ``indices[lo:hi]``; a dense row ``i`` is
``data[i * n_features:(i + 1) * n_features]`` with the indices
``0..n_features-1`` (the caller passes ``arange(n_features)`` as ``indices``).
The scalars of the state travel in a float64 array (slots below), read into
local variables at the start of the epoch and written back at its end; the
settings in an int64 and a float64 array. The loss and the learning-rate rule
are chosen by integer codes.

Speed (about scikit-learn's, see ``benchmarks/bench_exact.py``) comes from:
array indices cast to unsigned in the loops (numba then emits no
negative-index wraparound; with it the loop was 1.4x slower); the loss
functions and the per-sample helpers of :func:`run_epoch` (its prediction, step
size, decay, update, averaging, L1 truncation) inlined (a call per sample costs
numba's status-code convention and spills the loop's state), none of them
passing an array on to a call (from an inlined helper, that costs an
incref/decref pair per sample: the rescale stays in the driver); the
'invscaling' step sizes of an epoch computed
ahead of the loop from the same ``t`` values (the same ``pow`` calls, out of
the loop); 32-bit indices when they fit. One version is compiled per dtype of
``data`` (float32, float64) and of the indices (int32, int64 for more than
2**31 - 1 features or non-zeros), and written to numba's cache (next to this
file, ``__pycache__``, or numba's user cache directory when that is not
writable), which later processes load instead of compiling.
"""

# SPDX-License-Identifier: BSD-3-Clause

import math

import numpy as np
from numba import njit

_JIT = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": False}
# The per-sample helpers are inlined into the loop (numba IR inlining): called,
# they cost a call with numba's status-code convention per sample.
_INLINE = dict(_JIT, inline="always")

# Loss codes.
SQUARED_ERROR = 0
HUBER = 1
EPSILON_INSENSITIVE = 2
SQUARED_EPSILON_INSENSITIVE = 3
HINGE = 4  # parameter: the threshold (1 for 'hinge', 0 for 'perceptron')
SQUARED_HINGE = 5  # parameter: the threshold
MODIFIED_HUBER = 6
HALF_BINOMIAL = 7  # 'log_loss', y in {0, 1}

# Learning-rate codes: those of _exact (and of scikit-learn).
CONSTANT, OPTIMAL, INVSCALING, ADAPTIVE, PA1, PA2 = 1, 2, 3, 4, 5, 6

# Slots of the state array (float64).
WSCALE = 0
AVG_A = 1
AVG_B = 2
BIAS = 3
AVG_INTERCEPT = 4
T = 5
COUNT = 6
U = 7
SQ_NORM = 8
L1_NORM = 9
ETA = 10
SUMLOSS = 11
OBJECTIVE_SUM = 12
N_STATE = 13

# Slots of the integer settings (int64).
I_LOSS = 0
I_LR = 1
I_SINGLE = 2
I_FIT_INTERCEPT = 3
I_AVERAGE = 4
I_IS_HINGE = 5
I_OBJECTIVE_PENALTY = 6
I_L1_PART = 7
I_DECAY_PART = 8
I_AVERAGING = 9
I_DENSE = 10
I_N_FEATURES = 11
N_ISETTINGS = 12

# Slots of the float settings (float64).
F_LOSS_PARAM = 0
F_ALPHA = 1
F_L1_RATIO = 2
F_ETA0 = 3
F_POWER_T = 4
F_OPTIMAL_INIT = 5
F_RESCALE_BELOW = 6
F_INTERCEPT_DECAY = 7
N_FSETTINGS = 8

_GRAD_CLIP = 1e12
_U32 = 0xFFFFFFFF


@njit(**_INLINE)
def _rnd(v, single):
    """``_round32`` on float32 data, the identity on float64 data."""
    if single:
        return np.float64(np.float32(v))
    return v


@njit(**_INLINE)
def loss_value(code, param, y, p):
    """The loss of prediction ``p`` for target ``y`` (``_exact``'s ``value``)."""
    if code == SQUARED_ERROR:
        r = p - y
        return 0.5 * r * r
    if code == HUBER:
        r = abs(y - p)
        if r <= param:
            return 0.5 * (r * r)
        return param * (r - 0.5 * param)
    if code == EPSILON_INSENSITIVE:
        r = abs(y - p) - param
        return r if r > 0 else 0.0
    if code == SQUARED_EPSILON_INSENSITIVE:
        r = abs(y - p) - param
        return r * r if r > 0 else 0.0
    if code == HINGE:
        z = p * y
        if z <= param:
            return param - z
        return 0.0
    if code == SQUARED_HINGE:
        z = param - p * y
        if z > 0:
            return z * z
        return 0.0
    if code == MODIFIED_HUBER:
        z = p * y
        if z >= 1.0:
            return 0.0
        if z >= -1.0:
            return (1.0 - z) * (1.0 - z)
        return -4.0 * z
    # HALF_BINOMIAL
    if p <= -37:
        lpe = math.exp(p)
    elif p <= -2:
        lpe = math.log1p(math.exp(p))
    elif p <= 18:
        lpe = math.log(1.0 + math.exp(p))
    elif p <= 33.3:
        lpe = p + math.exp(-p)
    else:
        lpe = p
    return lpe - y * p


@njit(**_INLINE)
def loss_grad(code, param, y, p):
    """The derivative of the loss in ``p`` (``_exact``'s ``grad``)."""
    if code == SQUARED_ERROR:
        return p - y
    if code == HUBER:
        r = p - y
        if abs(r) <= param:
            return r
        return param if r >= 0 else -param
    if code == EPSILON_INSENSITIVE:
        if y - p > param:
            return -1.0
        if p - y > param:
            return 1.0
        return 0.0
    if code == SQUARED_EPSILON_INSENSITIVE:
        r = y - p
        if r > param:
            return -2.0 * (r - param)
        if r < -param:
            return 2.0 * (-r - param)
        return 0.0
    if code == HINGE:
        z = p * y
        if z <= param:
            return -y
        return 0.0
    if code == SQUARED_HINGE:
        z = param - p * y
        if z > 0:
            return -2.0 * y * z
        return 0.0
    if code == MODIFIED_HUBER:
        z = p * y
        if z >= 1.0:
            return 0.0
        if z >= -1.0:
            return 2.0 * (1.0 - z) * -y
        return -4.0 * y
    # HALF_BINOMIAL
    if p > -37:
        e = math.exp(-p)
        return ((1 - y) - y * e) / (1 + e)
    return math.exp(p) - y


@njit(**_JIT)
def epoch_permutation(n, seed):
    """``_exact._epoch_permutation``: scikit-learn's xorshift Fisher-Yates."""
    state = np.int64(seed) & _U32
    perm = np.arange(n)
    for i in range(n - 1):
        if state == 0:
            state = 1
        state ^= (state << 13) & _U32
        state ^= state >> 17
        state ^= (state << 5) & _U32
        j = i + (state & 0x7FFFFFFF) % (n - i)
        tmp = perm[i]
        perm[i] = perm[j]
        perm[j] = tmp
    return perm


@njit(**_JIT)
def _fold_scale(w, aw, averaging, wscale, avg_a, avg_b, single):
    """``_Replay.fold_scale``, elementwise in X's precision; returns the new
    ``(avg_a, avg_b)`` (``wscale`` becomes 1)."""
    n = w.shape[0]
    if averaging:
        if single:
            a32 = np.float32(avg_a)
            for j in range(n):
                aw[j] = aw[j] + a32 * w[j]
            s32 = np.float32(1.0 / avg_b)
            for j in range(n):
                aw[j] = aw[j] * s32
        else:
            for j in range(n):
                aw[j] = aw[j] + avg_a * w[j]
            s = 1.0 / avg_b
            for j in range(n):
                aw[j] = aw[j] * s
        avg_a = 0.0
        avg_b = 1.0
    if single:
        ws32 = np.float32(wscale)
        for j in range(n):
            w[j] = w[j] * ws32
    else:
        for j in range(n):
            w[j] = w[j] * wscale
    return avg_a, avg_b


# The per-sample concerns of run_epoch, each a function inlined into its loop
# (_INLINE): the same operations, in the same order, as the loop body they
# replace; scalars of the state go in as arguments and come back as results.


@njit(**_INLINE)
def _int_settings(isettings):
    """The integer settings: the codes and flags of ``run_epoch``."""
    return (isettings[I_LOSS], isettings[I_LR], isettings[I_SINGLE] != 0,
            isettings[I_FIT_INTERCEPT] != 0, isettings[I_AVERAGE],
            isettings[I_IS_HINGE] != 0, isettings[I_OBJECTIVE_PENALTY] != 0,
            isettings[I_L1_PART] != 0, isettings[I_DECAY_PART] != 0,
            isettings[I_AVERAGING] != 0, isettings[I_DENSE] != 0,
            isettings[I_N_FEATURES])


@njit(**_INLINE)
def _float_settings(fsettings):
    """The float settings of ``run_epoch``."""
    return (fsettings[F_LOSS_PARAM], fsettings[F_ALPHA], fsettings[F_L1_RATIO],
            fsettings[F_ETA0], fsettings[F_POWER_T], fsettings[F_OPTIMAL_INIT],
            fsettings[F_RESCALE_BELOW], fsettings[F_INTERCEPT_DECAY])


@njit(**_INLINE)
def _load_state(state):
    """The scalars of the state, in the order of the slots."""
    return (state[WSCALE], state[AVG_A], state[AVG_B], state[BIAS],
            state[AVG_INTERCEPT], state[T], state[COUNT], state[U],
            state[SQ_NORM], state[L1_NORM], state[ETA], state[SUMLOSS],
            state[OBJECTIVE_SUM])


@njit(**_INLINE)
def _store_state(state, wscale, avg_a, avg_b, bias, avg_intercept, t, count, u,
                 sq_norm, l1_norm, eta, sumloss, objective_sum):
    """Writes the scalars back into their slots."""
    state[WSCALE] = wscale
    state[AVG_A] = avg_a
    state[AVG_B] = avg_b
    state[BIAS] = bias
    state[AVG_INTERCEPT] = avg_intercept
    state[T] = t
    state[COUNT] = count
    state[U] = u
    state[SQ_NORM] = sq_norm
    state[L1_NORM] = l1_norm
    state[ETA] = eta
    state[SUMLOSS] = sumloss
    state[OBJECTIVE_SUM] = objective_sum


@njit(**_INLINE)
def _invscaling_etas(lr, n_rows, t, eta0, power_t):
    """'invscaling': the step sizes of the epoch, computed ahead from the same
    t values (t grows by 1 per trained row); empty for the other rules. A call
    to pow in the loop costs more than the call: the loop's state is spilled
    around it."""
    etas = np.empty(n_rows if lr == INVSCALING else 0)
    if lr == INVSCALING:
        tt = t
        for m in range(n_rows):
            etas[np.uint64(m)] = eta0 / math.pow(tt, power_t)
            tt += 1
    return etas


@njit(**_INLINE)
def _row_span(dense, n_features, indptr, i):
    """Row ``i``: ``(lo, ilo, nnz)``, its values ``data[lo:lo + nnz]`` and
    their feature indices ``indices[ilo:ilo + nnz]``."""
    if dense:
        return i * n_features, np.int64(0), n_features
    lo = np.int64(indptr[np.uint64(i)])
    return lo, lo, np.int64(indptr[np.uint64(i + 1)]) - lo


@njit(**_INLINE)
def _predict(w, indices, data, lo, ilo, nnz, wscale, bias, single):
    """The prediction on a row; on float32 each product is a float32.
    (Indices are cast to unsigned in the loops over features: numba then
    skips its negative-index wraparound, which made the loop ~1.4x slower.)"""
    raw = 0.0
    for j in range(nnz):
        raw += w[np.uint64(indices[np.uint64(ilo + j)])] * data[np.uint64(lo + j)]
    return _rnd(raw * wscale, single) + bias


@njit(**_INLINE)
def _eta(lr, eta, alpha, optimal_init, t, etas, n_trained):
    """The learning rate of the sample ('optimal', 'invscaling'; else kept)."""
    if lr == OPTIMAL:
        return 1.0 / (alpha * (optimal_init + t - 1))
    if lr == INVSCALING:
        return etas[np.uint64(n_trained)]  # eta0 / math.pow(t, power_t)
    return eta


@njit(**_INLINE)
def _penalty(sq_norm, l1_norm, alpha, l1_ratio, single):
    """The penalty term of the objective, before the sample's update."""
    nrm = _rnd(math.sqrt(sq_norm), single)
    return alpha * (
        (1 - l1_ratio) * 0.5 * (nrm * nrm) + l1_ratio * _rnd(l1_norm, single)
    )


@njit(**_INLINE)
def _sq_row(data, lo, nnz):
    """The squared norm of a row (the PA rules), in float64."""
    sqx = 0.0
    for j in range(nnz):
        xv = np.float64(data[np.uint64(lo + j)])
        sqx += xv * xv
    return sqx


@njit(**_INLINE)
def _step(lr, data, lo, nnz, cur, eta, eta0, loss_code, loss_param, yi, p,
          is_hinge):
    """``_Replay._step`` before the weight factor: ``(step, trained)``;
    ``trained`` is False for 'pa1' on an all-zero row (not counted in t)."""
    if lr == PA1:
        sqx = _sq_row(data, lo, nnz)
        if sqx == 0:
            return 0.0, False
        v = cur / sqx  # cur: the loss, as _step computes it again
        step = v if v < eta0 else eta0
    elif lr == PA2:
        step = cur / (_sq_row(data, lo, nnz) + 0.5 / eta0)
    else:
        dloss = loss_grad(loss_code, loss_param, yi, p)
        if dloss < -_GRAD_CLIP:
            dloss = -_GRAD_CLIP
        elif dloss > _GRAD_CLIP:
            dloss = _GRAD_CLIP
        return -eta * dloss, True
    if is_hinge:
        step *= yi
    elif yi - p < 0:
        step = -step
    return step, True


@njit(**_INLINE)
def _decay(wscale, sq_norm, l1_norm, eta, alpha, l1_ratio, single):
    """L2 weight decay (``_Replay._decay``) before the rescale: the new
    ``(wscale, sq_norm, l1_norm)``. (No array goes through here: an array
    passed on to a call (``_fold_scale``) from an inlined helper costs an
    incref/decref pair per sample.)"""
    v = 1.0 - ((1.0 - l1_ratio) * eta * alpha)
    c = _rnd(v if v > 0.0 else 0.0, single)
    return wscale * c, sq_norm * _rnd(c * c, single), l1_norm * abs(c)


@njit(**_INLINE)
def _update(w, indices, data, lo, ilo, nnz, step, wscale, single):
    """The update of the weights on a row (``_Replay._update``) with the new
    norms: ``(sq_norm, l1_norm)``."""
    c = _rnd(step, single)
    ws = _rnd(wscale, single)
    f = _rnd(c / ws, single)
    acc2 = 0.0
    acc1 = 0.0
    for j in range(nnz):
        idx = np.uint64(indices[np.uint64(ilo + j)])
        w[idx] = w[idx] + np.float64(data[np.uint64(lo + j)]) * f
        wv = w[idx]
        acc2 += wv * wv
        acc1 += abs(wv)
    return acc2 * _rnd(ws * ws, single), acc1 * ws


@njit(**_INLINE)
def _average(aw, indices, data, lo, ilo, nnz, step, wscale, t, average, bias,
             avg_a, avg_b, avg_intercept, single):
    """The running average (``_Replay._average``): the new
    ``(avg_a, avg_b, avg_intercept)``."""
    n_avg = _rnd(t - average + 1, single)
    mu = 1.0 / n_avg
    g = -_rnd(step, single) / wscale
    a = avg_a
    for j in range(nnz):
        idx = np.uint64(indices[np.uint64(ilo + j)])
        aw[idx] = aw[idx] + (np.float64(data[np.uint64(lo + j)]) * a) * g
    if n_avg > 1:
        avg_b /= 1.0 - mu
    avg_a += mu * avg_b * wscale
    avg_intercept += (bias - avg_intercept) / (t - average + 1)
    return avg_a, avg_b, avg_intercept


@njit(**_INLINE)
def _truncate_l1(w, q, indices, ilo, nnz, u, wscale):
    """The cumulative truncated L1 gradient (``_Replay._truncate_l1``) on the
    row's features, ``u`` already increased."""
    for j in range(nnz):
        idx = np.uint64(indices[np.uint64(ilo + j)])
        z = np.float64(w[idx])
        qz = np.float64(q[idx])
        if wscale * z > 0.0:
            v = z - (u + qz) / wscale
            w[idx] = 0.0 if 0.0 >= v else v  # np.maximum(0.0, v)
        elif wscale * z < 0.0:
            v = z + (u - qz) / wscale
            w[idx] = 0.0 if 0.0 <= v else v  # np.minimum(0.0, v)
        q[idx] = qz + wscale * (np.float64(w[idx]) - z)


@njit(**_JIT)
def run_epoch(data, indices, indptr, y, factor, order, skip, w, aw, q, state,
              isettings, fsettings):
    """One epoch of ``_Replay._epoch`` over the rows ``order`` (already
    shuffled); updates ``w``, ``aw``, ``q`` and ``state`` in place.

    ``data``/``indices``/``indptr``: the rows (see the module notes; ``indptr``
    is unused for dense data); ``y``: the targets as float64; ``factor``: the
    per-row ``class_weight * sample_weight`` (``_Replay.step_factor``);
    ``skip``: True on the validation rows, or empty; ``aw`` and ``q``: empty
    when unused.
    """
    (loss_code, lr, single, fit_intercept, average, is_hinge, objective_penalty,
     l1_part, decay_part, averaging, dense, n_features) = _int_settings(isettings)
    (loss_param, alpha, l1_ratio, eta0, power_t, optimal_init, rescale_below,
     intercept_decay) = _float_settings(fsettings)
    (wscale, avg_a, avg_b, bias, avg_intercept, t, count, u, sq_norm, l1_norm,
     eta, sumloss, objective_sum) = _load_state(state)
    has_skip = skip.shape[0] > 0
    n_rows = order.shape[0]
    etas = _invscaling_etas(lr, n_rows, t, eta0, power_t)
    n_trained = np.int64(0)

    for k in range(n_rows):
        i = np.int64(order[np.uint64(k)])
        ui = np.uint64(i)
        if has_skip and skip[ui]:
            continue  # validation row
        lo, ilo, nnz = _row_span(dense, n_features, indptr, i)
        yi = y[ui]
        p = _predict(w, indices, data, lo, ilo, nnz, wscale, bias, single)
        eta = _eta(lr, eta, alpha, optimal_init, t, etas, n_trained)
        cur = loss_value(loss_code, loss_param, yi, p)
        sumloss += cur
        objective_sum += cur
        if objective_penalty:
            objective_sum += _penalty(sq_norm, l1_norm, alpha, l1_ratio, single)
        step, trained = _step(lr, data, lo, nnz, cur, eta, eta0, loss_code,
                              loss_param, yi, p, is_hinge)
        if not trained:
            continue
        step *= factor[ui]
        if decay_part:
            wscale, sq_norm, l1_norm = _decay(wscale, sq_norm, l1_norm, eta,
                                              alpha, l1_ratio, single)
            if wscale < rescale_below:
                avg_a, avg_b = _fold_scale(w, aw, averaging, wscale, avg_a,
                                           avg_b, single)
                wscale = 1.0
        if step != 0.0:
            sq_norm, l1_norm = _update(w, indices, data, lo, ilo, nnz, step,
                                       wscale, single)
        if fit_intercept and step != 0:
            bias += step * intercept_decay
        if 0 < average and average <= t:
            avg_a, avg_b, avg_intercept = _average(
                aw, indices, data, lo, ilo, nnz, step, wscale, t, average, bias,
                avg_a, avg_b, avg_intercept, single)
        if l1_part:
            u += l1_ratio * eta * alpha
            _truncate_l1(w, q, indices, ilo, nnz, u, wscale)
        t += 1
        count += 1
        n_trained += 1

    _store_state(state, wscale, avg_a, avg_b, bias, avg_intercept, t, count, u,
                 sq_norm, l1_norm, eta, sumloss, objective_sum)
