"""Exact mode of ``SGDRegressorPlus`` (``batch_size=1``): scikit-learn's SGD, replayed.

With ``batch_size=1`` the estimator does not run the shared engine; it runs
:func:`fit_exact`, a per-sample re-implementation of the algorithm behind
:class:`sklearn.linear_model.SGDRegressor` (issue #8). The aim is agreement to
floating-point tolerance (about ``rtol=1e-10`` on float64) with scikit-learn
fitted on the same data with the same ``random_state``: same ``coef_``,
``intercept_``, ``t_`` and ``n_iter_``. Everything that shapes those numbers is
reproduced:

* **Random draws, in scikit-learn's order.** With ``early_stopping`` the
  validation split comes first (a shuffle-split permutation drawn from
  ``random_state``, ``ceil(validation_fraction * n)`` validation rows). Then the
  shuffling seed is drawn (``randint(0, 2**31 - 1)``), then the seed of
  scikit-learn's dataset object (drawn, unused by the epoch shuffle). An int
  ``random_state`` seeds a fresh generator for each of the two groups, ``None``
  draws from NumPy's global generator and a ``RandomState`` instance is
  consumed, as scikit-learn does.
* **The epoch shuffle.** scikit-learn permutes its index array at the start of
  every epoch with a Fisher-Yates pass driven by a 32-bit xorshift generator
  restarted from the same seed each epoch, so every epoch applies the *same*
  permutation to the previous epoch's order. The permutation is computed once
  here and composed each epoch.
* **The per-sample step**, in order: prediction, learning rate ('constant',
  'optimal' with scikit-learn's initial-``t`` heuristic, 'invscaling',
  'adaptive', passive-aggressive 'pa1'/'pa2'), loss gradient clipped at
  ``1e12``, sample weight, L2 weight decay, the update of the weights and of
  the intercept (scaled by ``0.01`` for sparse input), the averaged (ASGD)
  weights once ``t >= average``, and the L1 part of the penalty as the
  cumulative truncated gradient of Tsuruoka et al. (2009) applied to the
  features of the current sample (not a proximal step).
* **The representation.** The weights are kept as ``wscale * w`` and the
  running average as ``(aw + a * w) / b`` (Bottou's sparse ASGD trick), with
  the same rescaling threshold, so that a CSR row costs O(nnz) and the
  roundings are those of scikit-learn. On float32 input the stored vectors
  are float32 and the intermediate roundings of scikit-learn's single
  precision code are mirrored (products of two float32 values rounded to
  float32, the step cast to float32 before it is added, ...).
* **Quirks kept on purpose**, because they change the numbers: the validation
  score is computed on the stored vector ``w`` *without* its pending scale
  factor and without averaging; the L1 truncation of a sample is not
  compensated in the average; the squared norm used in the objective is the
  one scikit-learn tracks (over the last updated features only, on sparse
  input); a passive-aggressive 'pa1' step skips a sample whose row is all
  zeros without counting it in ``t``; ``t_`` grows by ``n_iter * n_samples``
  (validation rows included) although the internal ``t`` counts the samples
  actually used.
* **The stopping rule.** Without early stopping an epoch counts as "no
  improvement" when its mean training objective (loss plus, except for
  'pa1'/'pa2', ``alpha * ((1 - l1_ratio) / 2 * ||w||^2 + l1_ratio * |w|_1)``
  per sample) is above ``best - tol``; with early stopping when the R² on the
  validation rows is below ``best + tol``. After ``n_iter_no_change`` such
  epochs training stops, or, with 'adaptive', the learning rate is divided by
  5 while it is above ``1e-6``. With early stopping scikit-learn keeps the
  weights of the *last* epoch, and so does this function; a caller that wants
  the best epoch's weights (``early_stopping`` with ``tol`` not None) restores
  them itself.
* **Verbose output**: the ``-- Epoch N``, ``Norm: ..., NNZs: ..., Bias: ...,
  T: ..., Avg. loss: ..., Objective: ...`` (plus ``Validation score``),
  ``Total training time: ... seconds.`` and ``Convergence after N epochs took
  ... seconds`` lines of scikit-learn.

The state of one call (the scaled weights, the running average, ``t``, the L1
bookkeeping, the counters) lives in a private ``_Replay`` object whose
methods follow scikit-learn's steps: the checks and the random draws, an
epoch, the per-sample step (prediction, step size, L2 decay, update,
intercept, average, L1 truncation), the end-of-epoch bookkeeping and the
result; :func:`fit_exact` only drives it. Multi-output targets are handled by
the caller (one call per target).

**Compiled epochs.** When numba can be imported, each epoch runs in
``_exact_kernels.run_epoch`` (numba, cached on disk), which performs the
per-sample step's floating-point operations in the same order as the Python
methods below -- without fast-math, so nothing is reassociated or fused into
an FMA -- and gives the same numbers bit for bit; the epoch shuffle's
permutation is compiled too. Everything else (checks, draws, the end of each
epoch: stopping rule, validation score, verbose lines, callbacks; the result)
stays here. Without numba, or with ``SKOPTIM_EXACT_COMPILED=0`` in the
environment (read at import) or ``_USE_COMPILED = False``, the Python loop
runs; it is 20-100 times slower. The sums over features (the prediction, the
norms of the updated features, ``||x||^2`` of the passive-aggressive steps)
are taken left to right from 0.0 in both loops, as scikit-learn's C loops
take them (:func:`_seqsum`); in the configurations compared (float64 and
float32, dense and CSR, the regression and classification losses) the
coefficients are then scikit-learn's bit for bit, except with averaging:
there scikit-learn folds the scale into the averaged weights with BLAS
``axpy``, whose kernels may use FMA instructions (depending on the CPU), and
the last bits of ``coef_`` may differ.

**Classification** (``classification=True``) runs one binary problem of
:class:`sklearn.linear_model.SGDClassifier` (its ``fit_binary``) on labels
``y`` in {-1, +1}; a multiclass fit is one call per class, made by the caller.
What differs from the regression replay:

* **Losses**, as SGDClassifier's table maps ``loss``: 'hinge' (``Hinge`` with
  threshold 1), 'perceptron' (``Hinge`` with threshold 0), 'squared_hinge'
  (threshold 1), 'modified_huber', 'log_loss' (the half binomial loss on the
  raw prediction, with scikit-learn's piecewise ``log1p(exp(p))`` and its
  gradient branches at ``p = -37``), and 'squared_error', 'huber',
  'epsilon_insensitive', 'squared_epsilon_insensitive' on the +-1 targets
  with ``params["epsilon"]`` (the table's 0.1 is replaced by the estimator's
  ``epsilon``, as in scikit-learn). 'log_loss' is trained on the labels 0/1
  (scikit-learn's label encoding for that loss). The gradient clipping and
  the 'optimal' initial-``t`` heuristic (``dloss(y=1, p=-typw)``) use the
  chosen loss. Passive-aggressive steps multiply by ``y`` for 'hinge' and
  'perceptron' (scikit-learn's ``is_hinge``) and follow the regression sign
  rule otherwise.
* **Class weights.** Each update is multiplied by ``class_weight *
  sample_weight`` with ``class_weight = weight_pos if y > 0 else weight_neg``
  (for 'log_loss': the label 0 takes ``weight_neg``), the product taken in X's
  precision (float32 on float32 input).
* **Random draws, in ``fit_binary``'s order**: ``rng =
  check_random_state(random_state)``; the dataset's seed
  ``rng.randint(1, 2**31 - 1)`` (drawn, unused by the epoch shuffle); then,
  with ``early_stopping`` and no ``validation_mask``, the split
  (:func:`classifier_validation_mask`: a ``StratifiedShuffleSplit`` on ``y``
  seeded with ``random_state`` itself, so an int seeds a fresh generator and
  an instance is consumed between the two draws); then the shuffle seed
  ``rng.randint(0, 2**31 - 1)``. Note that for an int ``random_state`` the
  shuffle seed is thus the *second* draw of the generator (the regression
  replay uses the first). ``SGDClassifier`` calls ``fit_binary`` with its own
  ``random_state`` for a binary fit; for a multiclass fit
  (``_fit_multiclass``) it first draws the split once on the multiclass
  labels (``classifier_validation_mask(y, sample_weight, validation_fraction,
  random_state)``), then ``seeds = check_random_state(random_state).randint(
  2**31 - 1, size=n_classes)``, and calls ``fit_binary`` for class ``i`` with
  ``random_state=seeds[i]`` and the precomputed mask (no split drawn there).
  Passing ``random_state=int(seeds[i])`` and ``validation_mask=mask``
  reproduces this exactly; ``seed=`` bypasses every draw.
* **Validation score**: the accuracy of the binary problem on the validation
  rows, as scikit-learn's ``_ValidationScoreCallback`` computes it with the
  estimator's ``score``: ``accuracy_score`` (weighted by the validation rows'
  sample weights, without class weights) of ``[-1, 1][X_val @ w + b > 0]``
  against the labels the loss sees, with ``w`` the stored vector without
  its pending scale (as for regression). Quirk kept on purpose: for
  'log_loss' those labels are 0/1 while the predictions are -1/+1, so only
  the positive validation rows predicted positive count as correct (the
  score is at most the weighted fraction of positives). A caller may pass
  its own ``validation_score(coef, intercept)`` instead.
* **What the caller assembles** (multiclass): each problem starts from the
  same ``t_`` and returns its own ``n_iter`` and ``t``; scikit-learn's
  ``n_iter_`` is the maximum over the problems and ``t_ = t + max(n_iter) *
  n_samples``. With averaging, the choice between averaged and plain
  coefficients is made once for all classes with that global ``t_``
  (``average <= t_ - 1``), so the caller takes ``standard["average_coef"]``
  / ``standard["average_intercept"]`` or ``standard["standard_coef"]`` /
  ``standard["standard_intercept"]`` of every problem rather than each
  problem's ``coef`` (which uses that problem's own ``t``): a class that
  stopped before its average started then exposes its (zero) average, as
  in scikit-learn. scikit-learn's ConvergenceWarning is emitted once, when
  the maximum ``n_iter`` equals ``max_iter``; pass ``incremental=True`` to
  silence the per-problem one.
"""

import math
import os
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning, UndefinedMetricWarning
from sklearn.utils import check_random_state

__all__ = ["ExactResult", "classifier_validation_mask", "fit_exact"]

# Integer codes, ordered as scikit-learn orders them (the code compares them).
_NO_PENALTY, _L1, _L2, _ELASTICNET = 0, 1, 2, 3
_PENALTIES = {"none": _NO_PENALTY, "l1": _L1, "l2": _L2, "elasticnet": _ELASTICNET}
_CONSTANT, _OPTIMAL, _INVSCALING, _ADAPTIVE, _PA1, _PA2 = 1, 2, 3, 4, 5, 6
_LEARNING_RATES = {
    "constant": _CONSTANT,
    "optimal": _OPTIMAL,
    "invscaling": _INVSCALING,
    "adaptive": _ADAPTIVE,
    "pa1": _PA1,
    "pa2": _PA2,
}

_GRAD_CLIP = 1e12  # bound on |dloss/dp| before it scales the step
_SPARSE_INTERCEPT_DECAY = 0.01  # smaller intercept steps on sparse input
_SEED_BOUND = np.iinfo(np.int32).max
_INDEX32_MAX = np.iinfo(np.int32).max  # the compiled loop's 32-bit indices up to this
_U32 = 0xFFFFFFFF
# Below this scale factor the scaled representation is folded into the vector.
_RESCALE_BELOW = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 1e-6}

# The epochs run in the numba-compiled loop of ``_exact_kernels`` when numba can
# be imported, else in the Python loop of ``_Replay`` (the same operations, bit
# for bit). Set ``SKOPTIM_EXACT_COMPILED=0`` in the environment, or this switch
# to False, to force the Python loop.
_USE_COMPILED = os.environ.get("SKOPTIM_EXACT_COMPILED", "1").strip().lower() not in (
    "0", "false", "no", "off")
_KERNELS = None  # the imported kernels module; False: numba is not available


def _compiled_kernels():
    """The ``_exact_kernels`` module, or None (switched off, or no numba)."""
    global _KERNELS
    if not _USE_COMPILED:
        return None
    if _KERNELS is None:
        try:
            import numba  # noqa: F401
        except ImportError:
            _KERNELS = False
        else:
            from skoptim.linear_model import _exact_kernels

            _KERNELS = _exact_kernels
    return _KERNELS or None


def _seqsum(v):
    """The float64 sum of ``v`` taken left to right from 0.0, as a C loop
    ``acc = 0.0; for ...: acc += v[j]`` (scikit-learn's ``dot``, ``add`` and
    ``sqnorm``, and the compiled loop): ``np.add.accumulate`` is sequential
    (``np.sum`` and ``np.dot`` are not); the ``0.0 +`` turns a -0.0 into the
    +0.0 such a loop gives. float32 items are converted exactly."""
    if v.shape[0] == 0:
        return 0.0
    return 0.0 + float(np.add.accumulate(v, dtype=np.float64)[-1])


@dataclass
class ExactResult:
    """What one call of :func:`fit_exact` produced (issue #8).

    Attributes
    ----------
    coef : ndarray of shape (n_features,)
        The coefficients scikit-learn exposes as ``coef_``: the averaged ones
        once averaging has started, else the plain SGD ones. X's dtype.
    intercept : ndarray of shape (1,)
        Likewise for ``intercept_``, in X's dtype.
    standard : dict or None
        With averaging, the state for the next call: ``standard_coef``,
        ``standard_intercept``, ``average_coef``, ``average_intercept``
        (scikit-learn's ``_standard_coef`` & co.; the intercepts are float64
        arrays of shape (1,), as scikit-learn stores them). None otherwise.
    n_iter : int
        Epochs run by this call.
    t : float
        scikit-learn's ``t_`` after the call.
    loss_curve : list of float
        Mean training loss of each epoch (sum of the losses / training rows).
    validation_scores : list of float
        The validation score after each epoch (early stopping), else []: R²
        for regression, the binary problem's accuracy for classification, or
        what the caller's ``validation_score`` returned.
    best_validation_score : float or None
        The best of ``validation_scores`` (None without early stopping).
    converged : bool
        Whether the stopping rule ended the training.
    intercept_double : ndarray of shape (1,)
        ``intercept`` before its cast to X's dtype (float64). On float32
        input scikit-learn exposes this double value where it stores the
        intercept with ``np.atleast_1d(float)``: ``SGDRegressor`` always, and
        ``SGDClassifier``'s binary fit unless its averaged intercept is
        exposed; its multiclass fit and averaged binary intercept are float32.
    """

    coef: np.ndarray
    intercept: np.ndarray
    standard: dict | None
    n_iter: int
    t: float
    loss_curve: list = field(default_factory=list)
    validation_scores: list = field(default_factory=list)
    best_validation_score: float | None = None
    converged: bool = False
    intercept_double: np.ndarray | None = None


# ---------------------------------------------------------------------------
# Losses: value and derivative in the prediction p, both in double precision.
# ---------------------------------------------------------------------------


class _SquaredError:
    code, param = 0, 0.0  # the compiled loop's loss code and parameter

    def value(self, y, p):
        r = p - y
        return 0.5 * r * r

    def grad(self, y, p):
        return p - y


class _Huber:
    code = 1

    def __init__(self, delta):
        self.delta = self.param = delta

    def value(self, y, p):
        r = abs(y - p)
        if r <= self.delta:
            return 0.5 * (r * r)
        return self.delta * (r - 0.5 * self.delta)

    def grad(self, y, p):
        r = p - y
        if abs(r) <= self.delta:
            return r
        return self.delta if r >= 0 else -self.delta


class _EpsilonInsensitive:
    code = 2

    def __init__(self, epsilon):
        self.epsilon = self.param = epsilon

    def value(self, y, p):
        r = abs(y - p) - self.epsilon
        return r if r > 0 else 0.0

    def grad(self, y, p):
        if y - p > self.epsilon:
            return -1.0
        if p - y > self.epsilon:
            return 1.0
        return 0.0


class _SquaredEpsilonInsensitive:
    code = 3

    def __init__(self, epsilon):
        self.epsilon = self.param = epsilon

    def value(self, y, p):
        r = abs(y - p) - self.epsilon
        return r * r if r > 0 else 0.0

    def grad(self, y, p):
        r = y - p
        if r > self.epsilon:
            return -2.0 * (r - self.epsilon)
        if r < -self.epsilon:
            return 2.0 * (-r - self.epsilon)
        return 0.0


class _Hinge:
    """scikit-learn's ``Hinge``: 'hinge' (threshold 1) and 'perceptron' (0)."""

    code = 4

    def __init__(self, threshold):
        self.threshold = self.param = threshold

    def value(self, y, p):
        z = p * y
        if z <= self.threshold:
            return self.threshold - z
        return 0.0

    def grad(self, y, p):
        z = p * y
        if z <= self.threshold:
            return -y
        return 0.0


class _SquaredHinge:
    code = 5

    def __init__(self, threshold):
        self.threshold = self.param = threshold

    def value(self, y, p):
        z = self.threshold - p * y
        if z > 0:
            return z * z
        return 0.0

    def grad(self, y, p):
        z = self.threshold - p * y
        if z > 0:
            return -2 * y * z
        return 0.0


class _ModifiedHuber:
    code, param = 6, 0.0

    def value(self, y, p):
        z = p * y
        if z >= 1.0:
            return 0.0
        if z >= -1.0:
            return (1.0 - z) * (1.0 - z)
        return -4.0 * z

    def grad(self, y, p):
        z = p * y
        if z >= 1.0:
            return 0.0
        if z >= -1.0:
            return 2.0 * (1.0 - z) * -y
        return -4.0 * y


class _HalfBinomial:
    """scikit-learn's ``CyHalfBinomialLoss`` (its 'log_loss'), y in {0, 1}."""

    code, param = 7, 0.0

    def value(self, y, p):
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

    def grad(self, y, p):
        if p > -37:
            e = math.exp(-p)
            return ((1 - y) - y * e) / (1 + e)
        return math.exp(p) - y


_REGRESSION_LOSSES = (
    "squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive"
)
_CLASSIFICATION_LOSSES = (
    "hinge", "perceptron", "log_loss", "modified_huber", "squared_hinge"
) + _REGRESSION_LOSSES


def _make_loss(name, epsilon, classification=False):
    epsilon = float(epsilon)
    if classification:
        if name == "hinge":
            return _Hinge(1.0)
        if name == "perceptron":
            return _Hinge(0.0)
        if name == "squared_hinge":
            return _SquaredHinge(1.0)
        if name == "modified_huber":
            return _ModifiedHuber()
        if name == "log_loss":
            return _HalfBinomial()
        if name not in _REGRESSION_LOSSES:
            raise ValueError(
                "The exact mode (batch_size=1) supports, for classification, loss "
                f"in {', '.join(repr(v) for v in _CLASSIFICATION_LOSSES)}; "
                f"got {name!r}."
            )
    if name == "squared_error":
        return _SquaredError()
    if name == "huber":
        return _Huber(epsilon)
    if name == "epsilon_insensitive":
        return _EpsilonInsensitive(epsilon)
    if name == "squared_epsilon_insensitive":
        return _SquaredEpsilonInsensitive(epsilon)
    raise ValueError(
        "The exact mode (batch_size=1) supports loss in 'squared_error', 'huber', "
        f"'epsilon_insensitive', 'squared_epsilon_insensitive'; got {name!r}."
    )


# ---------------------------------------------------------------------------
# Random draws
# ---------------------------------------------------------------------------


def _epoch_permutation(n, seed):
    """The permutation scikit-learn's epoch shuffle applies for ``seed``.

    A Fisher-Yates pass whose draws come from a 32-bit xorshift generator
    (shifts 13, 17, 5; a zero state is replaced by 1; outputs reduced modulo
    2**31). The pass only depends on positions, so applying it to an index
    array equals indexing that array with the returned permutation.
    """
    state = int(seed) & _U32
    perm = list(range(n))
    for i in range(n - 1):
        if state == 0:
            state = 1
        state ^= (state << 13) & _U32
        state ^= state >> 17
        state ^= (state << 5) & _U32
        j = i + (state & 0x7FFFFFFF) % (n - i)
        perm[i], perm[j] = perm[j], perm[i]
    return np.asarray(perm, dtype=np.intp)


def _validation_mask(n_samples, validation_fraction, random_state, sample_weight):
    """scikit-learn's early-stopping split of the rows, with its errors."""
    fraction = float(validation_fraction)
    if not 0.0 < fraction < 1.0:
        raise ValueError(
            f"test_size={validation_fraction} should be either positive and "
            f"smaller than the number of samples {n_samples} or a float in the "
            "(0, 1) range"
        )
    n_val = math.ceil(fraction * n_samples)
    n_train = n_samples - n_val
    if n_train == 0:
        raise ValueError(
            f"With n_samples={n_samples}, test_size={validation_fraction} and "
            "train_size=None, the resulting train set will be empty. Adjust any "
            "of the aforementioned parameters."
        )
    order = check_random_state(random_state).permutation(n_samples)
    val_rows = order[:n_val]
    if not np.any(sample_weight[val_rows] > 0):
        raise ValueError(
            "The sample weights for validation set are all zero, consider using "
            "a different random state."
        )
    if n_val == 0:  # cannot happen with a fraction in (0, 1); kept for parity
        raise ValueError(
            "Splitting %d samples into a train set and a validation set with "
            "validation_fraction=%r led to an empty set (%d and %d samples). "
            "Please either change validation_fraction, increase number of "
            "samples, or disable early_stopping."
            % (n_samples, validation_fraction, n_train, n_val)
        )
    mask = np.zeros(n_samples, dtype=bool)
    mask[val_rows] = True
    return mask


def classifier_validation_mask(y, sample_weight, validation_fraction, random_state):
    """scikit-learn's early-stopping split for a classifier, with its errors.

    Reproduces ``BaseSGD._make_validation_split`` of ``SGDClassifier``: one
    draw of ``StratifiedShuffleSplit(test_size=validation_fraction,
    random_state=random_state)`` stratified on ``y`` (the original labels for
    a multiclass fit; the binary labels, equivalently, in ``fit_binary``),
    then the all-zero-weight and empty-set checks.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Class labels used for the stratification.
    sample_weight : ndarray of shape (n_samples,) or None
        Sample weights (None means ones); rows with a weight ``> 0`` count as
        usable validation rows.
    validation_fraction : float
        The estimator's ``validation_fraction``.
    random_state : None, int or RandomState
        Passed to the splitter unchanged: an int seeds a fresh generator, an
        instance is consumed (one ``permutation`` per stratified draw, then
        the per-class draws of the splitter), None uses NumPy's global
        generator -- exactly as scikit-learn's split consumes it.

    Returns
    -------
    ndarray of bool, shape (n_samples,)
        True on the validation rows.

    Raises
    ------
    ValueError
        The splitter's own errors (a class with a single member, a test or
        train size smaller than the number of classes, ...), "The sample
        weights for validation set are all zero, ..." and the empty-set
        error, with scikit-learn's messages.
    """
    from sklearn.model_selection import StratifiedShuffleSplit

    y = np.asarray(y).reshape(-1)
    n_samples = y.shape[0]
    if sample_weight is None:
        sample_mask = np.ones(n_samples, dtype=bool)
    else:
        sample_mask = np.asarray(sample_weight).reshape(-1) > 0
    cv = StratifiedShuffleSplit(
        test_size=validation_fraction, random_state=random_state
    )
    idx_train, idx_val = next(cv.split(np.zeros(shape=(n_samples, 1)), y))
    if not np.any(sample_mask[idx_val]):
        raise ValueError(
            "The sample weights for validation set are all zero, consider using a"
            " different random state."
        )
    if idx_train.shape[0] == 0 or idx_val.shape[0] == 0:
        raise ValueError(
            "Splitting %d samples into a train set and a validation set "
            "with validation_fraction=%r led to an empty set (%d and %d "
            "samples). Please either change validation_fraction, increase "
            "number of samples, or disable early_stopping."
            % (n_samples, validation_fraction, idx_train.shape[0],
               idx_val.shape[0])
        )
    mask = np.zeros(n_samples, dtype=bool)
    mask[idx_val] = True
    return mask


def _accuracy(X_val, y_val, sw_val, w, intercept, classes):
    """``SGDClassifier.score`` of the binary problem on the validation rows.

    As scikit-learn's ``_ValidationScoreCallback`` does: the decision function
    ``X_val @ w.T + intercept`` (the same products), the labels
    ``classes[(decision > 0)]`` with ``classes = [-1, 1]`` and
    ``accuracy_score`` against ``y_val`` -- which holds the labels the loss
    sees (0/1 for 'log_loss', hence the quirk described in the module notes).
    """
    from sklearn.metrics import accuracy_score
    from sklearn.utils.extmath import safe_sparse_dot

    scores = safe_sparse_dot(X_val, w.reshape(1, -1).T, dense_output=True)
    scores = np.asarray(scores + np.atleast_1d(intercept)).reshape(-1)
    pred = classes[(scores > 0).astype(np.intp)]
    return float(accuracy_score(y_val, pred, sample_weight=sw_val))


def _r2(X_val, y_val, sw_val, w, intercept):
    """Weighted R² of ``X_val @ w + intercept`` (scikit-learn's conventions)."""
    if X_val.shape[0] < 2:
        warnings.warn(
            "R^2 score is not well-defined with less than two samples.",
            UndefinedMetricWarning,
        )
        return float("nan")
    pred = np.asarray(X_val @ w).ravel() + np.float64(intercept)
    y = y_val.astype(np.float64)
    sw = sw_val.astype(np.float64)
    num = float(np.sum(sw * (y - pred) ** 2))
    den = float(np.sum(sw * (y - np.average(y, weights=sw)) ** 2))
    if num == 0.0:
        return 1.0
    if den == 0.0:
        return 0.0
    return 1.0 - num / den


# ---------------------------------------------------------------------------
# The replay: the state of one call and the steps of _plain_sgd
# ---------------------------------------------------------------------------


def _read_only(a):
    """A read-only view of ``a`` (no copy): the compiled loop then sees one
    array type whatever the caller's flags, and compiles one version."""
    a = a.view()
    a.flags.writeable = False
    return a


def _round32(v):
    """Round a double to single precision (and back to a Python float)."""
    return float(np.float32(v))


def _round64(v):
    """Double precision: nothing to round."""
    return v


class _Replay:
    """The state of one :func:`fit_exact` call, as scikit-learn's ``_plain_sgd``.

    Built in the order of the original checks and draws: :meth:`__init__`
    validates the data and the hyperparameters, :meth:`draw` makes the random
    draws (split, seeds) and :meth:`init_state` sets the weights; :meth:`run`
    then replays the epochs and :meth:`result` builds the
    :class:`ExactResult`. Every floating-point operation of the per-sample
    step (:meth:`_sample` and the helpers it calls) is the one, in the order,
    of the module notes. An epoch runs in ``_exact_kernels.run_epoch``
    (:meth:`_epoch_compiled`) when ``kernels`` is set (numba available and
    ``_USE_COMPILED``), else in :meth:`_sample`; any change to one of the
    two must be made to the other (``tests/test_exact_compiled.py``).
    """

    def __init__(self, params, X, y, sample_weight, max_iter, classification,
                 weight_pos, weight_neg):
        self._set_data(X, y, sample_weight, classification)
        self._set_loss(params, weight_pos, weight_neg)
        self._set_hyperparameters(params, max_iter)

    # ---- setup ------------------------------------------------------------

    def _set_data(self, X, y, sample_weight, classification):
        """X (canonical CSR or C-contiguous), y and the sample weights."""
        dtype = np.dtype(X.dtype)
        if dtype not in _RESCALE_BELOW:
            raise TypeError(f"X must be float64 or float32, got {dtype}.")
        self.dtype = dtype
        self.single = dtype == np.float32
        self.cast = dtype.type  # rounds a double to X's precision
        self.rnd = _round32 if self.single else _round64
        self.sparse = sp.issparse(X)
        if self.sparse:
            X = sp.csr_matrix(X)
            if not X.has_canonical_format:
                X = X.copy()
                X.sum_duplicates()
            self.indices = X.indices
            self.xdata = X.data
        else:
            X = np.ascontiguousarray(X)
        self.X = X
        self.kernels = _compiled_kernels()
        self.n_samples, self.n_features = X.shape
        y = np.ascontiguousarray(y, dtype=dtype).reshape(-1)
        if sample_weight is None:
            self.sw = np.ones(self.n_samples, dtype=dtype)
        else:
            self.sw = np.ascontiguousarray(sample_weight, dtype=dtype).reshape(-1)
        self.classification = bool(classification)
        if self.classification and not np.all((y == 1.0) | (y == -1.0)):
            raise ValueError(
                "With classification=True, y must hold the binary labels -1.0 and "
                f"+1.0; got {np.unique(y)[:10]!r}."
            )
        self.y = y

    def _set_loss(self, params, weight_pos, weight_neg):
        """The loss, the label encoding and the factor of every update."""
        loss = _make_loss(params["loss"], params["epsilon"], self.classification)
        self.loss_value, self.loss_grad = loss.value, loss.grad
        self.loss_code, self.loss_param = loss.code, float(loss.param)
        self.is_hinge = isinstance(loss, _Hinge)
        if self.classification and params["loss"] == "log_loss":
            self.y = (self.y > 0).astype(self.dtype)  # scikit-learn's encoding
        # The factor of every update: class_weight * sample_weight, a product of
        # two values of X's precision taken in that precision (a double product
        # of two such values, rounded to X's precision), as float64.
        rnd = self.rnd
        cw_pos, cw_neg = rnd(float(weight_pos)), rnd(float(weight_neg))
        factor = np.where(self.y > 0.0, cw_pos, cw_neg) * self.sw.astype(np.float64)
        self.factor = factor.astype(self.dtype).astype(np.float64)

    def _set_hyperparameters(self, params, max_iter):
        """Penalty, learning rate and the other settings, checked and cast."""
        penalty = _PENALTIES.get(str(params["penalty"]).lower())
        if penalty is None:
            raise ValueError(
                "The exact mode (batch_size=1) supports penalty in 'l2', 'l1', "
                f"'elasticnet' or None; got {params['penalty']!r}."
            )
        lr = _LEARNING_RATES.get(params["learning_rate"]) if isinstance(
            params["learning_rate"], str) else None
        if lr is None:
            raise ValueError(
                "The exact mode (batch_size=1) supports learning_rate in "
                f"{sorted(_LEARNING_RATES)}; got {params['learning_rate']!r}."
            )
        self.params = params
        self.penalty, self.lr = penalty, lr
        self.alpha = float(params["alpha"])
        l1_ratio = 0.0 if params["l1_ratio"] is None else float(params["l1_ratio"])
        if penalty == _L2:
            l1_ratio = 0.0
        elif penalty == _L1:
            l1_ratio = 1.0
        self.l1_ratio = l1_ratio
        self.fit_intercept = bool(params["fit_intercept"])
        self.tol_given = params["tol"] is not None
        self.tol = -math.inf if params["tol"] is None else float(params["tol"])
        self.shuffle = bool(params["shuffle"])
        self.verbose = int(params["verbose"])
        self.eta0_param = params["eta0"]
        self.eta0 = float(params["eta0"])
        self.power_t = float(params["power_t"])
        self.early_stopping = bool(params["early_stopping"])
        self.n_iter_no_change = int(params["n_iter_no_change"])
        self.average = int(params["average"])
        self.max_iter = int(max_iter)
        self.pa = lr >= _PA1
        # The objective carries the penalty except for passive-aggressive steps.
        self.objective_penalty = not self.pa and penalty != _NO_PENALTY
        self.l1_part = penalty in (_L1, _ELASTICNET)
        self.decay_part = penalty >= _L2
        self.rescale_below = _RESCALE_BELOW[self.dtype]
        self.intercept_decay = _SPARSE_INTERCEPT_DECAY if self.sparse else 1.0

    def _draw_split(self, validation_mask, random_state):
        """The validation rows: the given mask, a drawn split, or None."""
        if validation_mask is not None:
            return validation_mask
        if not self.early_stopping:
            return None
        if self.classification:
            return classifier_validation_mask(
                self.y, self.sw, self.params["validation_fraction"], random_state
            )
        return _validation_mask(
            self.n_samples, self.params["validation_fraction"], random_state, self.sw
        )

    def draw(self, validation_mask, random_state, seed):
        """The random draws, in scikit-learn's order, and the split's effects."""
        if validation_mask is not None:
            validation_mask = np.asarray(validation_mask, dtype=bool).reshape(-1)
            if validation_mask.shape[0] != self.n_samples:
                raise ValueError(
                    f"validation_mask has {validation_mask.shape[0]} entries, X "
                    f"has {self.n_samples} rows."
                )
        if self.classification:
            # fit_binary: the dataset's seed, the split, then the shuffle seed.
            rng = check_random_state(random_state) if seed is None else None
            if rng is not None:
                rng.randint(1, _SEED_BOUND)  # the dataset's own seed: unused here
            val_mask = self._draw_split(validation_mask, random_state)
            if rng is not None:
                seed = int(rng.randint(0, _SEED_BOUND))
        else:
            # _fit_regressor: the split, the shuffle seed, then the dataset's.
            val_mask = self._draw_split(validation_mask, random_state)
            if seed is None:
                rng = check_random_state(random_state)
                seed = int(rng.randint(0, _SEED_BOUND))
                rng.randint(1, _SEED_BOUND)  # the dataset's own seed: unused here
        self._set_split(val_mask, int(seed))

    def _set_split(self, val_mask, seed):
        """The rows skipped, the validation data and the epoch permutation."""
        if val_mask is not None and not val_mask.any():
            val_mask = None  # nothing held out (scikit-learn's all-False mask)
        self.skip_mask = val_mask
        if self.early_stopping:
            vm = val_mask if val_mask is not None else np.zeros(
                self.n_samples, dtype=bool)
            self.X_val, self.y_val, self.sw_val = self.X[vm], self.y[vm], self.sw[vm]
            self.classes = np.array([-1, 1], dtype=self.y.dtype)
        if not self.shuffle:
            self.perm = None
        elif self.kernels is not None:
            self.perm = self.kernels.epoch_permutation(self.n_samples, seed)
        else:
            self.perm = _epoch_permutation(self.n_samples, seed)
        self.order = np.arange(self.n_samples, dtype=np.intp)
        self.n_train = self.n_samples - (
            int(val_mask.sum()) if val_mask is not None else 0)

    def init_state(self, coef, intercept, standard, t):
        """Weights, intercept, running average, counters and step size."""
        dtype, n_features = self.dtype, self.n_features
        self.averaging = self.average > 0
        if self.averaging and standard is not None:
            w = np.array(standard["standard_coef"], dtype=dtype).reshape(-1)
            b0 = float(np.asarray(standard["standard_intercept"]).reshape(-1)[0])
            self.aw = np.array(standard["average_coef"], dtype=dtype).reshape(-1)
            self.avg_intercept = float(
                np.asarray(standard["average_intercept"]).reshape(-1)[0])
        else:
            w = np.array(coef, dtype=dtype).reshape(-1)
            b0 = float(np.asarray(intercept).reshape(-1)[0])
            self.aw = np.zeros(n_features, dtype=dtype) if self.averaging else None
            self.avg_intercept = 0.0
        if w.shape[0] != n_features:
            raise ValueError(
                f"coef has {w.shape[0]} entries, X has {n_features} features."
            )
        self.w, self.bias = w, b0
        self.t = self.t_in = float(t)
        # True weights are wscale * w; the running average is (aw + a * w) / b.
        self.wscale, self.avg_a, self.avg_b = 1.0, 0.0, 1.0
        # L1 applied so far (q) and L1 a weight could have received so far (u).
        self.q = np.zeros(n_features, dtype=dtype) if self.l1_part else None
        self.u = 0.0
        self.sq_norm = float(np.dot(w, w))
        self.l1_norm = float(np.sum(np.abs(w)))
        self.eta = self.eta0
        self.optimal_init = 0.0
        if self.lr == _OPTIMAL:
            # Start t so that the first step is about 1 / sqrt(alpha) in size.
            typw = math.sqrt(1.0 / math.sqrt(self.alpha))
            initial_eta0 = typw / max(1.0, self.loss_grad(1.0, -typw))
            self.optimal_init = 1.0 / (initial_eta0 * self.alpha)
        if self.kernels is not None:
            self._prepare_compiled()
        else:
            self._prepare_python()

    def _prepare_python(self):
        """The per-row data of the Python loop: lists and float64 copies."""
        self.y_list = self.y.tolist()
        self.step_factor = self.factor.tolist()
        self.skip = None if self.skip_mask is None else self.skip_mask.tolist()
        if self.sparse:
            self.indptr = self.X.indptr.tolist()
            self.xdata64 = self.xdata.astype(np.float64, copy=False)
        else:
            self.X64 = self.X.astype(np.float64, copy=False)

    def _prepare_compiled(self):
        """The arguments of ``_exact_kernels.run_epoch`` that do not change
        between epochs (the module notes there say how rows are read)."""
        k = self.kernels
        # 32-bit indices whenever they fit (scipy's usual CSR; half the memory
        # traffic of 64-bit ones), else 64-bit: another compiled version.
        small = max(self.n_features, self.X.nnz if self.sparse else 0) <= _INDEX32_MAX
        index_dtype = np.int32 if small else np.int64
        if self.sparse:
            data = self.xdata
            indices = self.indices.astype(index_dtype, copy=False)
            indptr = self.X.indptr.astype(index_dtype, copy=False)
        else:
            data = self.X.reshape(-1)
            indices = np.arange(self.n_features, dtype=index_dtype)
            indptr = np.zeros(0, dtype=index_dtype)
        data, indices, indptr = (_read_only(np.ascontiguousarray(a))
                                 for a in (data, indices, indptr))
        isettings = np.zeros(k.N_ISETTINGS, dtype=np.int64)
        isettings[k.I_LOSS] = self.loss_code
        isettings[k.I_LR] = self.lr
        isettings[k.I_SINGLE] = self.single
        isettings[k.I_FIT_INTERCEPT] = self.fit_intercept
        isettings[k.I_AVERAGE] = self.average
        isettings[k.I_IS_HINGE] = self.is_hinge
        isettings[k.I_OBJECTIVE_PENALTY] = self.objective_penalty
        isettings[k.I_L1_PART] = self.l1_part
        isettings[k.I_DECAY_PART] = self.decay_part
        isettings[k.I_AVERAGING] = self.averaging
        isettings[k.I_DENSE] = not self.sparse
        isettings[k.I_N_FEATURES] = self.n_features
        fsettings = np.zeros(k.N_FSETTINGS, dtype=np.float64)
        fsettings[k.F_LOSS_PARAM] = self.loss_param
        fsettings[k.F_ALPHA] = self.alpha
        fsettings[k.F_L1_RATIO] = self.l1_ratio
        fsettings[k.F_ETA0] = self.eta0
        fsettings[k.F_POWER_T] = self.power_t
        fsettings[k.F_OPTIMAL_INIT] = self.optimal_init
        fsettings[k.F_RESCALE_BELOW] = self.rescale_below
        fsettings[k.F_INTERCEPT_DECAY] = self.intercept_decay
        empty = np.zeros(0, dtype=self.dtype)
        self.kernel_args = {
            "data": data, "indices": indices, "indptr": indptr,
            "y": self.y.astype(np.float64),
            "factor": self.factor,
            "skip": (np.zeros(0, dtype=np.bool_) if self.skip_mask is None
                     else np.array(self.skip_mask, dtype=np.bool_)),
            "isettings": isettings, "fsettings": fsettings, "empty": empty,
        }

    # ---- the scaled representation ------------------------------------------

    def fold_scale(self):
        """Fold wscale (and the average's a, b) into the stored vectors."""
        w, aw, cast = self.w, self.aw, self.cast
        if aw is not None:
            np.add(aw, cast(self.avg_a) * w, out=aw)
            np.multiply(aw, cast(1.0 / self.avg_b), out=aw)
            self.avg_a = 0.0
            self.avg_b = 1.0
        np.multiply(w, cast(self.wscale), out=w)
        self.wscale = 1.0

    def exposed(self, n_epochs):
        """Copies of what scikit-learn would expose after n_epochs epochs."""
        w, dtype = self.w, self.dtype
        if (self.averaging
                and self.average <= self.t_in + n_epochs * self.n_samples - 1.0):
            avg = (self.aw.astype(np.float64)
                   + self.avg_a * w.astype(np.float64)) / self.avg_b
            return avg.astype(dtype), np.array([self.avg_intercept], dtype=dtype)
        plain = (w.astype(np.float64) * self.wscale).astype(dtype)
        return plain, np.array([self.bias], dtype=dtype)

    # ---- the epochs ---------------------------------------------------------

    def run(self, on_epoch_end, validation_score):
        """Replay up to ``max_iter`` epochs; sets ``epoch`` (the last index)."""
        self.no_improvement = 0
        self.best_objective = math.inf
        self.best_score = -math.inf
        self.loss_curve, self.scores = [], []
        self.converged = False
        self.overflow = False
        self.count = 0
        epoch = 0
        self.t_start = time.time()
        with np.errstate(all="ignore"):
            for epoch in range(self.max_iter):
                if self.verbose > 0:
                    print("-- Epoch %d" % (epoch + 1))
                self._epoch()
                self.loss_curve.append(self.sumloss / self.n_train)
                # scikit-learn checks the weights; the loss is checked too, so
                # that predictions that overflowed (finite weights, huge X)
                # raise as well.
                if (not math.isfinite(self.bias) or not np.all(np.isfinite(self.w))
                        or not math.isfinite(self.sumloss)):
                    self.overflow = True
                    break
                if self._end_epoch(epoch, on_epoch_end, validation_score):
                    break
        self.epoch = epoch

    def _epoch(self):
        """One pass over the (shuffled) training rows: compiled or in Python."""
        self.sumloss = 0.0
        self.objective_sum = 0.0
        if self.shuffle:
            self.order = self.order[self.perm]
        if self.kernels is not None:
            self._epoch_compiled()
            return
        skip = self.skip
        sample = self._sample
        for i in self.order.tolist():
            if skip is not None and skip[i]:
                continue  # validation row
            sample(i)

    _STATE = ("wscale", "avg_a", "avg_b", "bias", "avg_intercept", "t", "count", "u",
              "sq_norm", "l1_norm", "eta", "sumloss", "objective_sum")

    def _epoch_compiled(self):
        """The epoch in ``_exact_kernels.run_epoch``; the scalars of the state
        travel in a float64 array (Python floats are doubles: no rounding)."""
        k, a = self.kernels, self.kernel_args
        state = np.zeros(k.N_STATE, dtype=np.float64)
        for name in self._STATE:
            state[getattr(k, name.upper())] = getattr(self, name)
        k.run_epoch(a["data"], a["indices"], a["indptr"], a["y"], a["factor"],
                    self.order, a["skip"], self.w,
                    self.aw if self.aw is not None else a["empty"],
                    self.q if self.q is not None else a["empty"],
                    state, a["isettings"], a["fsettings"])
        for name in self._STATE:
            setattr(self, name, float(state[getattr(k, name.upper())]))
        self.count = int(self.count)

    # ---- one sample ---------------------------------------------------------

    def _sample(self, i):
        """One step of the inner loop on row ``i``, in _plain_sgd's order."""
        if self.sparse:
            indptr = self.indptr
            lo, hi = indptr[i], indptr[i + 1]
            ind = self.indices[lo:hi]
            x = self.xdata[lo:hi]
            x64 = self.xdata64[lo:hi]
        else:
            ind = slice(None)
            x = self.X[i]
            x64 = self.X64[i]
        yi = self.y_list[i]
        rnd = self.rnd

        # prediction, summed left to right; in single precision each product
        # is rounded (a float32 times a float32)
        raw = _seqsum(self.w[ind] * x)
        p = rnd(raw * self.wscale) + self.bias

        lr = self.lr
        if lr == _OPTIMAL:
            self.eta = 1.0 / (self.alpha * (self.optimal_init + self.t - 1))
        elif lr == _INVSCALING:
            self.eta = self.eta0 / math.pow(self.t, self.power_t)

        cur = self.loss_value(yi, p)
        self.sumloss += cur
        self.objective_sum += cur
        if self.objective_penalty:
            nrm = rnd(math.sqrt(self.sq_norm))
            l1_ratio = self.l1_ratio
            self.objective_sum += self.alpha * (
                (1 - l1_ratio) * 0.5 * (nrm * nrm) + l1_ratio * rnd(self.l1_norm)
            )

        step = self._step(yi, p, x64)
        if step is None:
            return  # 'pa1' on an all-zero row: not counted in t
        step *= self.step_factor[i]

        if self.decay_part:
            self._decay()
        if step != 0.0:
            self._update(ind, x64, step)
        if self.fit_intercept and step != 0:
            self.bias += step * self.intercept_decay
        if 0 < self.average <= self.t:
            self._average(ind, x64, step)
        if self.l1_part:
            self._truncate_l1(ind)
        self.t += 1
        self.count += 1

    def _step(self, yi, p, x64):
        """The step before the sample's weight (None: skip the sample)."""
        lr = self.lr
        if lr == _PA1:
            sqx = _seqsum(x64 * x64)
            if sqx == 0:
                return None
            step = min(self.eta0, self.loss_value(yi, p) / sqx)
        elif lr == _PA2:
            sqx = _seqsum(x64 * x64)
            step = self.loss_value(yi, p) / (sqx + 0.5 / self.eta0)
        else:
            dloss = self.loss_grad(yi, p)
            if dloss < -_GRAD_CLIP:
                dloss = -_GRAD_CLIP
            elif dloss > _GRAD_CLIP:
                dloss = _GRAD_CLIP
            step = -self.eta * dloss
        if self.pa:
            if self.is_hinge:
                step *= yi  # classification
            elif yi - p < 0:
                step = -step  # regression
        return step

    def _decay(self):
        """The L2 part of the penalty: a factor on wscale (and on the norms)."""
        rnd = self.rnd
        c = rnd(max(0.0, 1.0 - ((1.0 - self.l1_ratio) * self.eta * self.alpha)))
        self.wscale *= c
        self.sq_norm *= rnd(c * c)
        self.l1_norm *= abs(c)
        if self.wscale < self.rescale_below:
            self.fold_scale()

    def _update(self, ind, x64, step):
        """Add the step to the sample's features; track the norms."""
        rnd, w = self.rnd, self.w
        c = rnd(step)
        ws = rnd(self.wscale)
        w[ind] = w[ind] + x64 * rnd(c / ws)
        wv = w[ind]
        acc2 = _seqsum(wv * wv)  # float32 products on float32 data
        acc1 = _seqsum(np.abs(wv))
        self.sq_norm = acc2 * rnd(ws * ws)
        self.l1_norm = acc1 * ws

    def _average(self, ind, x64, step):
        """The ASGD update of (aw + a * w) / b and of the averaged intercept."""
        t, average = self.t, self.average
        n_avg = self.rnd(t - average + 1)
        mu = 1.0 / n_avg
        aw = self.aw
        aw[ind] = aw[ind] + (x64 * self.avg_a) * (-self.rnd(step) / self.wscale)
        if n_avg > 1:
            self.avg_b /= 1.0 - mu
        self.avg_a += mu * self.avg_b * self.wscale
        self.avg_intercept += (self.bias - self.avg_intercept) / (t - average + 1)

    def _truncate_l1(self, ind):
        """The cumulative truncated L1 gradient on the sample's features."""
        w, q, wscale = self.w, self.q, self.wscale
        self.u += self.l1_ratio * self.eta * self.alpha
        u = self.u
        z = w[ind].astype(np.float64)
        qz = q[ind].astype(np.float64)
        sz = wscale * z
        new = z.copy()
        pos = sz > 0.0
        neg = sz < 0.0
        new[pos] = np.maximum(0.0, z[pos] - (u + qz[pos]) / wscale)
        new[neg] = np.minimum(0.0, z[neg] + (u - qz[neg]) / wscale)
        w[ind] = new
        q[ind] = qz + wscale * (w[ind].astype(np.float64) - z)

    # ---- end of an epoch ----------------------------------------------------

    def _end_epoch(self, epoch, on_epoch_end, validation_score):
        """Score, report, stopping rule and callback; True stops training."""
        objective = self.objective_sum / self.n_train
        score = None
        if self.early_stopping:
            score = self._validation_score(validation_score)
            self.scores.append(score)
        if self.verbose > 0:
            self._report(objective, score)
        self._count_no_improvement(objective, score)
        stop = False
        if self.no_improvement >= self.n_iter_no_change:
            if self.lr == _ADAPTIVE and self.eta > 1e-6:
                self.eta = self.eta / 5
                self.no_improvement = 0
            else:
                if self.verbose:
                    print("Convergence after %d epochs took %.2f seconds"
                          % (epoch + 1, time.time() - self.t_start))
                self.converged = stop = True
        if on_epoch_end is not None:
            cb_coef, cb_intercept = self.exposed(epoch + 1)
            if on_epoch_end(epoch, cb_coef, cb_intercept, score):
                stop = True
        return stop

    def _validation_score(self, validation_score):
        """The score on the validation rows of the stored (unscaled) ``w``."""
        if validation_score is not None:
            return float(validation_score(self.w.copy(), float(self.bias)))
        if self.classification:
            return _accuracy(self.X_val, self.y_val, self.sw_val, self.w,
                             self.bias, self.classes)
        return _r2(self.X_val, self.y_val, self.sw_val, self.w, self.bias)

    def _report(self, objective, score):
        """scikit-learn's verbose lines after an epoch."""
        report = (
            "Norm: %.2f, NNZs: %d, Bias: %.6f, T: %d, Avg. loss: %f, "
            "Objective: %f" % (self.rnd(math.sqrt(self.sq_norm)),
                               np.count_nonzero(self.w), self.bias, self.count,
                               self.sumloss / self.n_train, objective)
        )
        if self.early_stopping:
            report += ", Validation score: %f" % score
        print(report)
        print("Total training time: %.2f seconds." % (time.time() - self.t_start))

    def _count_no_improvement(self, objective, score):
        """Update the count of epochs without improvement, and the best."""
        tol = self.tol
        if self.early_stopping:
            if tol > -math.inf and score < self.best_score + tol:
                self.no_improvement += 1
            else:
                self.no_improvement = 0
            if score > self.best_score:
                self.best_score = score
        else:
            if tol > -math.inf and objective > self.best_objective - tol:
                self.no_improvement += 1
            else:
                self.no_improvement = 0
            if objective < self.best_objective:
                self.best_objective = objective

    # ---- the result ---------------------------------------------------------

    def result(self, incremental):
        """The :class:`ExactResult` of the call (or the overflow error)."""
        if self.overflow:
            raise ValueError(
                "Floating-point under-/overflow occurred at epoch #%d. Scaling "
                "input data with StandardScaler or MinMaxScaler might help. "
                "(skoptim: or try a smaller eta0, now %r.)"
                % (self.epoch + 1, self.eta0_param)
            )
        with np.errstate(all="ignore"):
            self.fold_scale()
        n_iter = self.epoch + 1
        t_out = self.t_in + n_iter * self.n_samples
        w, bias, aw, avg_intercept = self.w, self.bias, self.aw, self.avg_intercept
        if self.averaging:
            standard_out = {
                "standard_coef": w,
                "standard_intercept": np.array([bias], dtype=np.float64),
                "average_coef": aw,
                "average_intercept": np.array([avg_intercept], dtype=np.float64),
            }
            if self.average <= t_out - 1.0:
                out_coef, out_intercept = aw.copy(), avg_intercept
            else:
                out_coef, out_intercept = w.copy(), bias
        else:
            standard_out = None
            out_coef, out_intercept = w, bias
        if not incremental and self.tol_given and n_iter == self.max_iter:
            warnings.warn(
                "Maximum number of iteration reached before convergence. Consider "
                "increasing max_iter to improve the fit.",
                ConvergenceWarning,
            )
        return ExactResult(
            coef=out_coef,
            intercept=np.array([out_intercept], dtype=self.dtype),
            standard=standard_out,
            n_iter=n_iter,
            t=float(t_out),
            loss_curve=[float(v) for v in self.loss_curve],
            validation_scores=[float(s) for s in self.scores],
            best_validation_score=(float(self.best_score) if self.early_stopping
                                   else None),
            converged=self.converged,
            intercept_double=np.array([out_intercept], dtype=np.float64),
        )


# ---------------------------------------------------------------------------
# The fit
# ---------------------------------------------------------------------------


def fit_exact(params, X, y, sample_weight, *, coef, intercept, standard, t, max_iter,
              incremental, random_state, on_epoch_end=None, classification=False,
              weight_pos=1.0, weight_neg=1.0, validation_mask=None,
              validation_score=None, seed=None):
    """Run scikit-learn's per-sample SGD for one call (issue #8).

    ``SGDRegressor``'s fit by default; with ``classification=True`` one binary
    problem of ``SGDClassifier`` (its ``fit_binary``).

    Parameters
    ----------
    params : dict
        The estimator's hyperparameters (``get_params()`` of
        SGDRegressorPlus): ``loss``, ``penalty``, ``alpha``, ``l1_ratio``,
        ``fit_intercept``, ``tol``, ``shuffle``, ``verbose``, ``epsilon``,
        ``learning_rate``, ``eta0``, ``power_t``, ``early_stopping``,
        ``validation_fraction``, ``n_iter_no_change``, ``average``. Other keys
        (``class_weight``, ``n_jobs``, ...) are ignored.
    X : ndarray or scipy CSR matrix/array of shape (n_samples, n_features)
        Validated float64 or float32 data.
    y : ndarray of shape (n_samples,)
        Targets (cast to X's dtype); with ``classification`` the binary labels
        in {-1.0, +1.0} (+1 for the positive class).
    sample_weight : ndarray of shape (n_samples,) or None
        Sample weights (cast to X's dtype); None means ones.
    coef : ndarray of shape (n_features,)
        Starting coefficients: zeros for a new fit, else the warm-start,
        ``partial_fit`` or ``coef_init`` values. Not modified.
    intercept : ndarray of shape (1,)
        Starting intercept, likewise.
    standard : dict or None
        With averaging, the ``standard`` of the previous call
        (``standard_coef``, ``standard_intercept``, ``average_coef``,
        ``average_intercept``); training then continues from its plain SGD
        weights and running average, and ``coef``/``intercept`` are not used.
        None starts the average afresh from ``coef``/``intercept`` (a new fit,
        or ``coef_init``/``intercept_init``). Ignored without averaging. Note
        that scikit-learn's ``warm_start`` re-fit of an averaged model ignores
        ``coef_init`` and continues from the carried state with ``t_`` reset
        to 1: to reproduce it pass the previous ``standard`` and ``t=1.0``.
    t : float
        scikit-learn's ``t_`` to start from: 1.0 for ``fit``, the previous
        ``t_`` for ``partial_fit``.
    max_iter : int
        Maximum number of epochs of this call (1 for ``partial_fit``).
    incremental : bool
        True for ``partial_fit``: no ConvergenceWarning. The validation split
        still follows ``params["early_stopping"]``, as in scikit-learn (which
        only lets ``partial_fit`` run with ``early_stopping`` after a ``fit``);
        pass ``early_stopping=False`` to train on every row.
    random_state : None, int or RandomState
        The estimator's ``random_state``; an instance is consumed exactly as
        scikit-learn consumes it.
    on_epoch_end : callable or None
        ``on_epoch_end(epoch_index, coef, intercept, score) -> bool`` after
        every epoch (``epoch_index`` counts from 0 within this call; ``coef``
        and ``intercept`` are copies of what would be exposed if training
        ended there; ``score`` is the epoch's validation R², None without
        early stopping). Returning True stops the training.
    classification : bool, default=False
        Run one binary problem of ``SGDClassifier`` instead of
        ``SGDRegressor``: the losses are scikit-learn's classification table
        ('hinge', 'perceptron' = hinge with threshold 0, 'log_loss',
        'modified_huber', 'squared_hinge', and the four regression losses
        applied to the +-1 targets with ``params["epsilon"]``); 'log_loss'
        trains on the labels 0/1 as scikit-learn does; the random draws follow
        ``fit_binary`` (see the module notes); the early-stopping split is a
        stratified one (:func:`classifier_validation_mask`) and the validation
        score the accuracy of the binary problem.
    weight_pos, weight_neg : float, default=1.0
        Class weights: every update of a sample with ``y > 0`` is multiplied
        by ``weight_pos``, of the others by ``weight_neg`` (scikit-learn's
        ``class_weight * sample_weight``, the product taken in X's
        precision). ``SGDClassifier`` passes ``cw[1], cw[0]`` for a binary fit
        and ``cw[i], 1.0`` for class ``i`` of a one-vs-rest fit, where ``cw``
        is its ``_expanded_class_weight``.
    validation_mask : ndarray of bool of shape (n_samples,) or None, default=None
        A precomputed split (True on the validation rows), as
        ``SGDClassifier._fit_multiclass`` computes once for all its binary
        problems. When given, its rows are never trained on, it replaces the
        split this function would draw (no random numbers are consumed for
        it) and, with ``early_stopping``, the scores are computed on its rows.
        None: the split is drawn here when ``params["early_stopping"]``.
    validation_score : callable or None, default=None
        ``validation_score(coef, intercept) -> float`` replacing the built-in
        score (R² for regression, the binary problem's accuracy for
        classification) with ``early_stopping``. It receives a copy of the
        stored weight vector *without* its pending scale factor and without
        averaging (what scikit-learn's callback receives) and the intercept
        as a float. The validation rows are those of the split.
    seed : int or None, default=None
        The epoch-shuffle seed to use as is. None draws it from
        ``random_state`` in scikit-learn's order (see the module notes); when
        given no seed is drawn at all (neither the shuffle seed nor the unused
        dataset seed), only the validation split still uses ``random_state``
        when it is drawn here.

    Returns
    -------
    ExactResult
        ``coef``, ``intercept`` (exposed values, X's dtype), ``standard``,
        ``n_iter``, ``t``, ``loss_curve``, ``validation_scores``,
        ``best_validation_score``, ``converged``.

    Raises
    ------
    ValueError
        scikit-learn's errors: an empty training set or validation rows that
        all have zero weight with ``early_stopping`` (and, for classification,
        the stratified splitter's own errors), and a floating-point overflow
        during training. Also: with ``classification``, labels other than
        -1/+1; a ``validation_mask`` of the wrong length.

    Notes
    -----
    With ``early_stopping`` the returned weights are those of the last epoch,
    as in scikit-learn; with ``tol`` not None the caller may restore the best
    epoch's weights itself. The ConvergenceWarning is emitted when a ``fit``
    (``incremental=False``) with ``tol`` not None runs ``max_iter`` epochs,
    even if the stopping rule fired in the last one (as scikit-learn does).
    """
    replay = _Replay(params, X, y, sample_weight, max_iter, classification,
                     weight_pos, weight_neg)
    replay.draw(validation_mask, random_state, seed)
    replay.init_state(coef, intercept, standard, t)
    replay.run(on_epoch_end, validation_score)
    return replay.result(incremental)
