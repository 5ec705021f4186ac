"""SGDRegressorPlus: scikit-learn's SGDRegressor on the shared engine."""

# SPDX-License-Identifier: BSD-3-Clause

import math
import numbers
import warnings
from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.exceptions import DataConversionWarning
from sklearn.linear_model import SGDRegressor
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skoptim._backend import check_device, is_sparse, resolve_backend, to_numpy
from skoptim._kernels import matmul, matmul_T, sum_rows, transpose
from skoptim._base import EngineEstimatorMixin, atomic, finite_or_none
from skoptim.engine import Problem, StepRule
from skoptim._losses import REGRESSION_LOSSES
from skoptim._penalties import Penalty
from skoptim._validation import (
    check_sample_weight,
    check_same_namespace,
    check_X,
    check_X_y,
)
from skoptim.linear_model._exact import fit_exact
from skoptim.optim import Constant, Optimizer, Schedule, resolve_optimizer, resolve_schedule
from skoptim.optim._schedules import Optimal, optimal_t0

_AUTO_BATCH = 256
_MIN_STEPS = 32  # updates per epoch at least, with batch_size='auto'
_MIN_STEPS_ADAPTIVE = 16  # the same for the adaptive solvers ('adam', ...)
# Up to this total sample weight, shuffled batches are cut by weight over
# groups of identical rows (exact sample-weight equivalence, one hash per fit).
_GROUPED_MAX_WEIGHT = 8192
_PA_RATES = ("pa1", "pa2")
# scikit-learn's own schedules: with batch_size=1 and solver='sgd' they run the
# exact per-sample mode.
_EXACT_RATES = ("constant", "optimal", "invscaling", "adaptive", *_PA_RATES)


class _Shape:
    """The one thing ``_init_params`` reads of a problem: the number of targets."""

    def __init__(self, n_targets):
        self.n_targets = n_targets


class SGDRegressorPlus(EngineEstimatorMixin, RegressorMixin, BaseEstimator):
    """Linear regression fitted by mini-batch stochastic optimization.

    A drop-in superset of :class:`sklearn.linear_model.SGDRegressor`: every
    parameter, method and fitted attribute of it keeps its name, default and
    meaning, and the estimator adds a choice of optimizer (``solver``),
    schedule objects, vectorised mini-batches (``batch_size``), input
    ``dropout``, multi-output ``y``, an explicit validation set for early
    stopping, best-weight restoring, and scikit-learn's callbacks.

    The objective is the weighted mean of the per-sample losses plus
    ``alpha * (l1_ratio * ||w||_1 + (1 - l1_ratio) / 2 * ||w||_2^2)``.

    Parameters
    ----------
    loss : {'squared_error', 'huber', 'epsilon_insensitive', \
            'squared_epsilon_insensitive'}, default='squared_error'
        The loss function. ``'squared_error'`` is ordinary least squares
        (``r**2 / 2`` for the residual ``r``), ``'huber'`` is quadratic up to
        ``epsilon`` and linear beyond, ``'epsilon_insensitive'`` ignores
        errors smaller than ``epsilon`` (linear SVR), and
        ``'squared_epsilon_insensitive'`` is its squared version.

    penalty : {'l2', 'l1', 'elasticnet', None}, default='l2'
        The regularization term. ``'l1'`` and ``'elasticnet'`` produce exact
        zeros in ``coef_`` (proximal soft-thresholding after each step).

    alpha : float, default=0.0001
        Regularization strength; also used by ``learning_rate='optimal'``.

    l1_ratio : float, default=0.15
        The elastic-net mixing parameter, ``0 <= l1_ratio <= 1``; ``0`` is L2
        and ``1`` is L1. Only used when ``penalty='elasticnet'``.

    fit_intercept : bool, default=True
        Whether to fit an intercept.

    max_iter : int, default=1000
        Maximum number of epochs (passes over the training data) in ``fit``.
        ``partial_fit`` always runs one epoch.

    tol : float or None, default=1e-3
        Stopping criterion. Training stops when the monitored value (the
        training objective, or the validation score with
        ``early_stopping=True``) fails to improve by at least ``tol`` for
        ``n_iter_no_change`` consecutive epochs. None disables it (and with
        it the restoring of the best epoch by ``early_stopping``).

    shuffle : bool, default=True
        Whether to reshuffle the training data before each epoch.

    verbose : int, default=0
        0 is silent; 1 or more prints scikit-learn's lines for each epoch
        (``-- Epoch N``, ``Norm: ..., NNZs: ..., Bias: ..., T: ..., Avg.
        loss: ..., Objective: ...``); 2 or more adds the learning rate.

    epsilon : float, default=0.1
        The margin of the ``'huber'``, ``'epsilon_insensitive'`` and
        ``'squared_epsilon_insensitive'`` losses.

    random_state : int, RandomState instance or None, default=None
        Seeds shuffling, dropout masks and the validation split. An int makes
        CPU fits reproducible bit for bit.

    learning_rate : str or Schedule, default='invscaling'
        The learning-rate schedule applied to ``eta0``: a name of
        :mod:`skoptim.optim` (``'constant'``, ``'optimal'``, ``'invscaling'``,
        ``'adaptive'``, ``'inverse_time'``, ``'exponential'``, ``'step'``,
        ``'cosine'``, ``'plateau'``), scikit-learn's ``'pa1'``/``'pa2'``
        passive-aggressive rules (``loss='epsilon_insensitive'`` and
        ``solver='sgd'`` only), or a :class:`~skoptim.optim.Schedule`
        object. As in scikit-learn, ``'invscaling'`` and ``'optimal'`` count
        samples seen (``eta0 / t**power_t``, ``1 / (alpha * (t0 + t))``), and
        ``'adaptive'`` divides the rate by 5 each time the stopping rule
        stalls. A string is configured by ``power_t`` and ``alpha``; an
        object's own values are used as they are.

    eta0 : float, default=0.01
        The base learning rate. For the non-adaptive solvers (``'sgd'``,
        ``'momentum'``, ``'nesterov'``) it is a *per-sample* rate, as in
        scikit-learn; see Notes for mini-batches. For the adaptive solvers
        (``'adam'``, ``'rmsprop'``, ...) it is the step size of each
        mini-batch update.

    power_t : float, default=0.25
        The exponent of ``learning_rate='invscaling'``. Ignored when
        ``learning_rate`` is an object.

        .. deprecated:: 1.8
            Negative values are deprecated in scikit-learn 1.8 and warn here
            as there (a ``FutureWarning``); use values in ``[0, inf)``.

    early_stopping : bool, default=False
        Whether to stop on a validation score (R²) that fails to improve.
        The validation set is ``X_val``/``y_val`` passed to ``fit``, or else
        a ``validation_fraction`` of the training data. The weights of the
        best epoch are restored at the end (unless ``tol=None``, which never
        stops training). ``partial_fit`` ignores it: it trains one pass on
        all the rows it is given, and leaves the early-stopping attributes of
        the last ``fit`` as they were.

    validation_fraction : float, default=0.1
        Proportion of training data held out for early stopping, in (0, 1):
        ``ceil(validation_fraction * n)`` rows, as scikit-learn's
        ``ShuffleSplit``; a fraction that leaves no training or no
        validation row raises scikit-learn's error. Identical rows are kept
        on the same side of the split. Only used when ``early_stopping=True``
        and no ``X_val`` is given.

    n_iter_no_change : int, default=5
        Number of epochs without improvement before stopping (or before
        ``'adaptive'`` lowers the rate).

    warm_start : bool, default=False
        When True, ``fit`` reuses the weights the estimator exposes (fitted,
        restored by early stopping, or assigned by the user) as its starting
        point; otherwise it starts over. As in scikit-learn, a warm-start
        ``fit`` is otherwise a new fit: ``n_iter_`` counts its epochs and the
        optimizer and the schedule start afresh. ``partial_fit`` is what
        carries the optimizer's state and the schedule's position over.

    average : bool or int, default=False
        When True, ``coef_`` and ``intercept_`` are the running average of
        the iterates (averaged SGD). An int starts averaging once that many
        samples have been seen.

    solver : str or Optimizer, default='sgd'
        The optimizer: a name (``'sgd'``, ``'momentum'``, ``'nesterov'``,
        ``'adagrad'``, ``'rmsprop'``, ``'adam'``, ``'adamw'``, ``'nadam'``,
        ``'lion'``) or an object of :mod:`skoptim.optim`, whose nested
        parameters can be tuned (``solver__beta_1``). Strings use the
        optimizers' default hyperparameters.

    batch_size : int or 'auto', default='auto'
        Mini-batch size. ``'auto'`` is the largest of 256, ``n_samples //
        256`` (about 256 steps per epoch) and 64 times the gradient-noise
        scale ``tr(H) / L`` of the data (see Notes), at most 65536 and at most
        ``n_samples``, and at most about 1 MiB of gathered rows (but at
        least 256 rows). With ``average``, which removes gradient noise by
        itself and needs many iterates, it is ``n_samples // 256`` within
        [16, 4096]; for the adaptive solvers (``'adam'``, ...), whose steps do
        not grow with the batch, it is 256. In every case it is at most
        ``n_samples // 32`` (``// 16`` for the adaptive solvers), so that an
        epoch takes several updates (small data would under-fit with one
        batch per epoch). Up to a total sample weight of 8192, shuffled
        batches are cut by sample weight over groups of identical rows, so
        that a weight of ``k`` means exactly ``k`` repeated rows. ``1`` with
        ``solver='sgd'`` and one of scikit-learn's schedules is the exact
        mode: scikit-learn's per-sample algorithm, reproduced to
        floating-point tolerance (see Notes). See Notes.

    dropout : float, default=0.0
        Probability of zeroing each input feature of each sample during
        training (inverted dropout: kept values are scaled by
        ``1 / (1 - dropout)``). Prediction uses all features.

    device : {'auto', 'cpu', 'cuda', 'cuda:N'}, default='auto'
        Where training runs. ``'auto'`` follows the input data.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Weights assigned to the features.

    intercept_ : ndarray of shape (1,) or (n_targets,)
        The intercept term.

    n_iter_ : int
        The number of epochs run by the last call of ``fit``/``partial_fit``.

    t_ : float
        Number of weight updates counted in samples: ``n_samples_seen + 1``
        (sample weights summed). A ``fit``, warm starts included, starts it
        over; ``partial_fit`` adds to it.

    loss_ : float
        The objective (mean loss plus penalty) after the last epoch.

    loss_curve_ : list of float
        The objective after each epoch of the last call.

    best_loss_ : float or None
        The minimum of ``loss_curve_``.

    validation_scores_ : list of float or None
        Validation R² after each epoch when ``early_stopping=True``.

    best_validation_score_ : float or None
        The best validation score, whose weights were restored.

    solver_ : Optimizer
        The fitted copy of the optimizer.

    learning_rate_ : Schedule
        The fitted copy of the schedule.

    batch_size_ : int
        The mini-batch size used.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    sklearn.linear_model.SGDRegressor : The per-sample scikit-learn original.
    sklearn.linear_model.Ridge : Closed-form L2-regularized least squares.
    skoptim.MLPClassifierPlus : The neural-network sibling on the same engine.

    Notes
    -----
    scikit-learn's defaults (``eta0=0.01``, ``'invscaling'``) were tuned for
    one update per sample. Here each update uses a mini-batch, and for the
    non-adaptive solvers a batch of total sample weight :math:`W` takes the
    step

    .. math:: w \\leftarrow w - \\min(\\eta_t W, 1/L)\\, \\bar g

    where :math:`\\bar g` is the batch's mean gradient, :math:`\\eta_t` the
    per-sample rate of the schedule (counting samples seen, like
    scikit-learn's ``t_``) and :math:`L` an upper bound of the loss's
    curvature, estimated once per fit by power iteration on the data's second
    moment. :math:`\\eta_t W` is the sum of the :math:`W` per-sample steps
    that scikit-learn would take (the linear scaling rule); the cap keeps
    large batches stable. So an unchanged script reaches scikit-learn's
    quality, and ``batch_size='auto'`` runs vectorised NumPy/BLAS work
    instead of one Python-level update per sample; on large data its bigger
    batches also average out gradient noise, so one epoch gets closer to the
    optimum than scikit-learn's per-sample steps.

    Sample weights act as repetitions: a weight of 2 means the same as a
    repeated row, also for the validation split and the schedules.

    **Exact mode.** With ``batch_size=1``, ``solver='sgd'``, one of
    scikit-learn's schedules (``'constant'``, ``'optimal'``,
    ``'invscaling'``, ``'adaptive'``, ``'pa1'``, ``'pa2'``), no dropout and
    data on the CPU, the estimator replays scikit-learn's per-sample
    algorithm: its shuffle, update order, ``t_``, rates, L2 and cumulative
    L1 penalties, averaging (late onset included), the smaller intercept
    step on sparse input and its validation split, so ``coef_``,
    ``intercept_``, ``t_`` and ``n_iter_`` agree with ``SGDRegressor``'s to
    floating-point tolerance for the same ``random_state``. Multi-output
    ``y`` is fitted one target at a time. The best epoch is still restored
    under ``early_stopping`` (with ``tol`` not None). The loop runs in
    Python: use it for scikit-learn's numbers, not for speed.

    References
    ----------
    .. [1] L. Bottou, "Stochastic Gradient Descent Tricks", Neural Networks:
       Tricks of the Trade, 2012.
    .. [2] P. Goyal et al., "Accurate, Large Minibatch SGD: Training ImageNet
       in 1 Hour", arXiv:1706.02677, 2017.
    .. [3] R. M. Gower et al., "SGD: General Analysis and Improved Rates",
       ICML 2019.
    .. [4] S. McCandlish et al., "An Empirical Model of Large-Batch Training",
       arXiv:1812.06162, 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skoptim import SGDRegressorPlus
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 3)
    >>> y = X @ [1.0, -2.0, 0.5] + 0.1 * rng.randn(200)
    >>> reg = make_pipeline(StandardScaler(), SGDRegressorPlus(random_state=0))
    >>> reg.fit(X, y).score(X, y) > 0.99
    True
    """

    _parameter_constraints: dict = {
        **SGDRegressor._parameter_constraints,
        # Names are checked when resolved: the error suggests the closest one.
        "learning_rate": [str, Schedule],
        "solver": [str, Optimizer],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left"),
                       StrOptions({"auto"})],
        "dropout": [Interval(numbers.Real, 0.0, 1.0, closed="left")],
        "device": [str],
    }
    _lr_param = "eta0"
    _weight_attributes = ("coef_", "intercept_")

    def _batching(self, n_samples, total_weight, problem, optimizer):
        # Small data, shuffled: batches in weight units over groups of identical
        # rows, so that a weight of k means k repeated rows exactly.
        if self.shuffle and total_weight <= _GROUPED_MAX_WEIGHT:
            size = max(1, int(round(total_weight)))
            return self._batch_size(size, problem, optimizer), True
        return self._batch_size(n_samples, problem, optimizer), False

    def _auto_batch_size(self, n_samples, problem, optimizer):
        # Whatever the rule below, several updates per epoch: small data gets
        # small batches (scikit-learn's defaults assume one update per sample,
        # and one batch per epoch under-fits). The adaptive solvers' steps do
        # not shrink with the batch, so their gradient noise grows as batches
        # get tiny: they take fewer, larger batches.
        min_steps = _MIN_STEPS_ADAPTIVE if optimizer.scale_invariant else _MIN_STEPS
        return max(1, min(n_samples // min_steps,
                          self._auto_batch_rule(n_samples, problem, optimizer)))

    def _auto_batch_rule(self, n_samples, problem, optimizer):
        if optimizer.scale_invariant:
            # Adaptive solvers take steps of eta0 whatever the batch: they
            # need many steps per epoch, not large batches.
            return _AUTO_BATCH
        if self.average:
            # Averaging removes the gradient noise itself; it needs many
            # iterates: about 256 per epoch, in batches of 16 to 4096 rows.
            return min(4096, max(16, n_samples // 256))
        # About 256 steps per epoch, and a batch large enough to average out
        # the gradient noise at the capped step (64 times the noise scale
        # tr(H) / L, McCandlish et al. 2018), within [256, 65536] rows and
        # about 1 MiB of gathered data (the peak memory of a fit stays near
        # scikit-learn's: P4).
        noise = math.ceil(64 * getattr(problem, "noise_scale", 0.0))
        by_memory = (1 << 20) // max(1, int(problem.row_bytes))
        return max(_AUTO_BATCH, min(65536, by_memory,
                                    max(n_samples // 256, noise)))

    _stratify_validation = False

    def __init__(
        self,
        loss="squared_error",
        *,
        penalty="l2",
        alpha=0.0001,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        shuffle=True,
        verbose=0,
        epsilon=0.1,
        random_state=None,
        learning_rate="invscaling",
        eta0=0.01,
        power_t=0.25,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        warm_start=False,
        average=False,
        solver="sgd",
        batch_size="auto",
        dropout=0.0,
        device="auto",
    ):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.epsilon = epsilon
        self.random_state = random_state
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.average = average
        self.solver = solver
        self.batch_size = batch_size
        self.dropout = dropout
        self.device = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        tags.regressor_tags.poor_score = False
        tags.array_api_support = True
        return tags

    # -- parameter checks -------------------------------------------------
    def _check_params(self):
        # scikit-learn skips this in partial_fit once fitted; parameters set
        # since then must be checked all the same.
        self._validate_params()
        check_device(self.device)
        self._resolve_optimizer()
        if not (isinstance(self.learning_rate, str) and self.learning_rate in _PA_RATES):
            resolve_schedule(self.learning_rate, also_valid=_PA_RATES)
        lr = self.learning_rate
        optimal_alpha = None
        if isinstance(lr, str) and lr == "optimal":
            optimal_alpha = self.alpha
        elif isinstance(lr, Optimal):
            optimal_alpha = self.alpha if lr.alpha is None else lr.alpha
        if optimal_alpha == 0:
            raise ValueError(
                "alpha must be > 0 since learning_rate is 'optimal'. alpha is used "
                "to compute the optimal learning rate."
            )
        if self.penalty == "elasticnet" and self.l1_ratio is None:
            raise ValueError("l1_ratio must be set when penalty is 'elasticnet'")
        if self.power_t < 0:
            warnings.warn(
                "Negative values for `power_t` are deprecated in version 1.8 "
                "and will raise an error in 1.10. "
                "Use values in the range [0.0, inf) instead.",
                FutureWarning,
            )
        if isinstance(self.learning_rate, str) and self.learning_rate in _PA_RATES:
            if self.loss != "epsilon_insensitive":
                raise ValueError(
                    f"Learning rate '{self.learning_rate}' only works with loss "
                    "'epsilon_insensitive'."
                )
            if self.solver != "sgd":
                raise ValueError(
                    f"Learning rate '{self.learning_rate}' is a per-sample step rule of "
                    f"plain SGD; it needs solver='sgd', got solver={self.solver!r}."
                )

    # -- public API -------------------------------------------------------
    @atomic
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None, *,
            X_val=None, y_val=None, sample_weight_val=None):
        """Fit the linear model by mini-batch stochastic optimization.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values.
        coef_init : ndarray of shape (n_features,) or (n_targets, n_features), \
                default=None
            The initial coefficients to warm-start the optimization.
        intercept_init : ndarray of shape (1,) or (n_targets,), default=None
            The initial intercept to warm-start the optimization.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights applied to individual samples (1 for unweighted). A weight
            of ``k`` means the same as ``k`` copies of the row.
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), \
                default=None
            Validation data for early stopping (needs ``early_stopping=True``);
            replaces the ``validation_fraction`` split.
        y_val : array-like of shape (n_val,) or (n_val, n_targets), default=None
            Validation targets.
        sample_weight_val : array-like of shape (n_val,), default=None
            Validation sample weights.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        self._check_params()
        init = None
        if coef_init is not None or intercept_init is not None:
            init = (coef_init, intercept_init)
            self.__dict__.pop("_training_state", None)
        if self._exact_mode(X) and X_val is None:
            return self._fit_exact(X, y, sample_weight, incremental=False, init=init)
        return self._fit_engine(X, y, sample_weight, incremental=False, X_val=X_val,
                                y_val=y_val, sample_weight_val=sample_weight_val,
                                init=init)

    @atomic
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Run one epoch over the given samples, continuing the previous state.

        Training continues from the weights the estimator exposes (assigned
        ones included); the optimizer's state, the schedule's position and the
        random stream carry over, so ten calls equal one ten-epoch ``fit`` on
        the same data with the same seed (without a convergence stop).
        ``early_stopping`` does not apply here: nothing is held out and the
        early-stopping attributes of the last ``fit`` stay as they were
        (scikit-learn's ``SGDRegressor`` raises instead).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Subset of training data.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Subset of target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights applied to individual samples.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        self._check_params()
        if self._exact_mode(X):
            return self._fit_exact(X, y, sample_weight, incremental=True)
        return self._fit_engine(X, y, sample_weight, incremental=True)

    # -- the exact mode (batch_size=1) --------------------------------------
    def _exact_mode(self, X):
        """Whether this fit replays scikit-learn's per-sample algorithm."""
        return (self.batch_size == 1 and isinstance(self.solver, str)
                and self.solver == "sgd" and isinstance(self.learning_rate, str)
                and self.learning_rate in _EXACT_RATES and self.dropout == 0
                and self.device in ("auto", "cpu")
                and (sp.issparse(X) or resolve_backend(X, device="auto").is_numpy))

    def _fit_exact(self, X, y, sample_weight, *, incremental, init=None):
        """Fit with :func:`~skoptim.linear_model._exact.fit_exact`, one target at
        a time, reporting each epoch to the callbacks; commit once."""
        backend = resolve_backend(X, device="cpu")
        continuing = init is None and self._is_fitted() and (incremental or self.warm_start)
        X, Y = self._check_train_data(X, y, reset=not continuing, backend=backend,
                                      classes=None, incremental=incremental)
        sw = check_sample_weight(sample_weight, X, backend.dtype)
        k, d = Y.shape[1], X.shape[1]
        start = (self._exposed_params(self._make_exact_problem(k, backend), backend)
                 if continuing else self._init_params(_Shape(k), backend, None, init))
        coefs = np.asarray(start[0]).T.reshape(k, d)
        intercepts = np.asarray(start[1]).reshape(k) if self.fit_intercept else np.zeros(k)
        standard = getattr(self, "_exact_standard", None) if continuing else None
        t = float(self.t_) if incremental and continuing else 1.0
        params = self.get_params()
        if incremental:
            params["early_stopping"] = False  # partial_fit holds nothing out
        max_iter = 1 if incremental else self.max_iter
        metadata = {"sample_weight": sample_weight} if sample_weight is not None else None
        # One task per epoch, and one begun after the last that never runs.
        ctx = self._init_callback_context(max_subtasks=(max_iter + 1) * k)
        y_cb = self._callback_target(Y)
        ctx.call_on_fit_task_begin(estimator=self, X=X, y=y_cb, metadata=metadata)
        results, restored = [], []
        for j in range(k):
            best = {"score": -math.inf, "weights": None}
            epoch_ctx = [None]

            def begin():
                epoch_ctx[0] = ctx.subcontext(task_name="epoch")
                epoch_ctx[0].call_on_fit_task_begin(estimator=self, X=X, y=y_cb,
                                                    metadata=metadata)

            def on_epoch_end(epoch, coef, intercept, score, j=j, best=best):
                if score is not None and score >= best["score"]:
                    best["score"], best["weights"] = score, (coef, intercept)
                stop = epoch_ctx[0].call_on_fit_task_end(
                    estimator=self, X=X, y=y_cb, metadata=metadata,
                    reconstruction_attributes=lambda: {"coef_": coef,
                                                       "intercept_": intercept,
                                                       "n_iter_": epoch + 1})
                begin()
                return stop

            begin()
            result = fit_exact(
                params, X, Y[:, j], sw, coef=coefs[j], intercept=intercepts[j:j + 1],
                standard=None if standard is None else standard[j], t=t,
                max_iter=max_iter, incremental=incremental,
                random_state=self.random_state, on_epoch_end=on_epoch_end)
            epoch_ctx[0].call_on_fit_task_end(estimator=self)  # the one never run
            keep_best = (params["early_stopping"] and self.tol is not None
                         and best["weights"] is not None)
            restored.append(keep_best)
            if keep_best:
                result.coef, result.intercept = best["weights"]
            results.append(result)
        coef = np.stack([r.coef for r in results]).astype(X.dtype, copy=False)
        intercept = np.concatenate([np.asarray(r.intercept).reshape(1) for r in results])
        intercept = intercept.astype(X.dtype, copy=False)
        if not self.fit_intercept:
            intercept = np.zeros_like(intercept)
        attributes = {"coef_": coef.ravel() if self._single_output else coef,
                      "intercept_": intercept}
        ctx.call_on_fit_task_end(estimator=self, X=X, y=y_cb, metadata=metadata,
                                 reconstruction_attributes=attributes)
        self._commit_exact(results, attributes, restored=any(restored),
                           incremental=incremental,
                           early_stopping=params["early_stopping"])
        return self

    def _commit_exact(self, results, attributes, *, restored, incremental,
                      early_stopping):
        """The only place where an exact-mode fit changes the estimator."""
        for name, value in attributes.items():
            setattr(self, name, value)
        self.__dict__.pop("_training_state", None)  # the engine's, now stale
        self._exact_standard = (None if restored or results[0].standard is None
                                else [r.standard for r in results])
        self.solver_ = resolve_optimizer("sgd")
        self.learning_rate_ = self._resolve_schedule(
            SimpleNamespace(loss=REGRESSION_LOSSES[self.loss](epsilon=self.epsilon)))
        self.batch_size_ = 1
        self.n_iter_ = max(r.n_iter for r in results)
        self.t_ = results[0].t
        self.loss_curve_ = _mean_curve([r.loss_curve for r in results], self.n_iter_)
        self.loss_ = self.loss_curve_[-1]
        if incremental and hasattr(self, "validation_scores_"):
            return
        if early_stopping:
            self.validation_scores_ = _mean_curve(
                [r.validation_scores for r in results], self.n_iter_)
            self.best_validation_score_ = finite_or_none(max(self.validation_scores_))
            self.best_loss_ = None
        else:
            self.validation_scores_ = self.best_validation_score_ = None
            self.best_loss_ = min(self.loss_curve_)

    def _make_exact_problem(self, n_targets, backend):
        return _LinearProblem(loss=None, n_targets=n_targets,
                              fit_intercept=self.fit_intercept, dropout=0.0,
                              curvature=None, backend=backend,
                              single_output=self._single_output)

    def predict(self, X):
        """Predict using the linear model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predicted values, in the namespace and on the device of ``X``.
        """
        check_is_fitted(self)
        check_same_namespace(X, self.intercept_, self, "predict")
        backend = resolve_backend(X, device="auto")
        X = check_X(self, X, backend=backend)
        coef = self.coef_
        if sp.issparse(coef):
            coef = coef.toarray()
            coef = coef.ravel() if coef.shape[0] == 1 and self._single_output else coef
        xp = backend.xp
        intercept = self.intercept_
        if X.dtype != coef.dtype and not sp.issparse(X):
            # The wider of the two: float64 X is not rounded to a float32 model.
            if X.dtype == xp.float64:
                coef, intercept = xp.astype(coef, X.dtype), xp.astype(intercept, X.dtype)
            else:
                X = xp.astype(X, coef.dtype)
        if coef.ndim == 1:
            return matmul(X, coef) + intercept[0]
        return matmul(X, transpose(coef, xp)) + intercept

    def densify(self):
        """Convert a sparse ``coef_`` back to a dense array; returns self."""
        if sp.issparse(self.coef_):
            self.coef_ = self.coef_.toarray()
            if self.coef_.shape[0] == 1 and self._single_output:
                self.coef_ = self.coef_.ravel()
        return self

    def sparsify(self):
        """Convert ``coef_`` to a SciPy sparse matrix (worth it with L1); returns self."""
        if not sp.issparse(self.coef_):
            self.coef_ = sp.csr_matrix(np.atleast_2d(to_numpy(self.coef_)))
        return self

    # -- what the engine trains -------------------------------------------
    def _check_train_data(self, X, y, *, reset, backend, classes, incremental,
                          validation=False):
        X, y = check_X_y(self, X, y, reset=reset, backend=backend, multi_output=True,
                         y_numeric=True)
        xp = backend.xp
        if backend.is_numpy:
            with np.errstate(over="ignore"):
                y = np.asarray(y, dtype=X.dtype)
            if not np.all(np.isfinite(y)):
                raise ValueError(
                    "Input y contains NaN or infinity"
                    + (" once cast to X's float32 (scale y, or pass float64 X)."
                       if X.dtype == np.float32 else "."))
        else:
            y = xp.astype(y, backend.dtype)
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please "
                "change the shape of y to (n_samples, ), for example using ravel().",
                DataConversionWarning, stacklevel=4,
            )
            y = xp.reshape(y, (-1,))
        if not validation and (reset or not hasattr(self, "_single_output")):
            self._single_output = y.ndim == 1
        if y.ndim == 1:
            y = xp.reshape(y, (-1, 1))
        n_targets = None
        # A validation set is compared with this fit's y by the caller.
        if not reset and not validation and hasattr(self, "coef_"):
            n_targets = 1 if self.coef_.ndim == 1 else self.coef_.shape[0]
        if n_targets is not None and y.shape[1] != n_targets:
            raise ValueError(
                f"y has {y.shape[1]} targets but this estimator was fitted with "
                f"{n_targets}."
            )
        return X, y

    def _callback_target(self, y):
        return y[:, 0] if self._single_output else y

    def _make_problem(self, X, y, sw, backend):
        loss = REGRESSION_LOSSES[self.loss](epsilon=self.epsilon)
        pa = self.learning_rate if (isinstance(self.learning_rate, str)
                                    and self.learning_rate in _PA_RATES) else None
        # The L2 part of the penalty enters the gradient, so its strength adds
        # to the curvature that bounds stable steps.
        l2 = Penalty.from_params(self.penalty, self.alpha, self.l1_ratio).l2
        scale = max(loss.curvature, 1.0) / (1.0 - self.dropout)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow raises below
            top, row_max, trace = _curvatures(X, sw, self.fit_intercept, backend)
        curvature = scale * top + l2
        problem = _LinearProblem(
            loss=loss, n_targets=y.shape[1], fit_intercept=self.fit_intercept,
            dropout=self.dropout, curvature=None if pa else curvature, backend=backend,
            single_output=self._single_output, pa=pa, pa_C=self.eta0,
            pa_curvature=curvature,
        )
        problem.curvature_max = scale * row_max + l2
        # Gradient-noise scale of the problem: trace over top curvature.
        problem.noise_scale = trace / top
        problem.row_bytes = (X.nnz * 12 / max(X.shape[0], 1) if is_sparse(X)
                             else X.shape[1] * (4 if backend.dtype == backend.xp.float32
                                                else 8))
        return problem

    def _init_params(self, problem, backend, rng, init):
        xp = backend.xp
        n_features, k = self.n_features_in_, problem.n_targets
        W = xp.zeros((n_features, k), dtype=backend.dtype, device=backend.device)
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
                if c.shape != (k, n_features):
                    raise ValueError(
                        f"coef_init has shape {np.shape(coef_init)}; expected "
                        f"({n_features},) or ({k}, {n_features})."
                    )
                W = backend.asarray(c.T.copy())
            if intercept_init is not None:
                i = np.asarray(to_numpy(intercept_init), dtype=np.float64).reshape(-1)
                if i.shape[0] not in (1, k):
                    raise ValueError(
                        f"intercept_init has shape {np.shape(intercept_init)}; expected "
                        f"(1,) or ({k},)."
                    )
                b = backend.asarray(np.broadcast_to(i, (k,)).copy())
        return [W, b] if self.fit_intercept else [W]

    def _resolve_optimizer(self):
        return resolve_optimizer(self.solver)

    def _resolve_schedule(self, problem):
        lr = self.learning_rate
        if isinstance(lr, str) and lr in _PA_RATES:
            return Constant()
        schedule = resolve_schedule(lr, power_t=self.power_t)
        if isinstance(schedule, Optimal):
            alpha = schedule.alpha if schedule.alpha is not None else self.alpha
            t0 = schedule.t0 if schedule.t0 is not None else optimal_t0(
                alpha, problem.loss.dloss)
            schedule.set_params(alpha=alpha, t0=t0)
        return schedule

    def _train_config_extra(self):
        avg = self.average
        start = 0.0 if avg is False or avg == 0 else (1.0 if avg is True else float(avg))
        return {"average_start": start}

    def _base_lr(self):
        # Also for 'pa1'/'pa2': their steps carry their own size, and eta0 is the
        # rate of the penalty, as in scikit-learn.
        return float(self.eta0)

    def _commit(self, result, *, continuing, incremental):
        state = result.state
        self.n_iter_ = result.n_iter
        self.t_ = float(state.clock.n_samples_seen) + 1.0
        self.loss_curve_ = result.loss_curve
        self.loss_ = result.loss_curve[-1]
        if incremental and hasattr(self, "validation_scores_"):
            # partial_fit holds nothing out: the last fit's early-stopping
            # record stays as it was.
            return
        self.best_loss_ = result.best_loss if result.validation_scores == [] else None
        self.validation_scores_ = result.validation_scores or None
        self.best_validation_score_ = finite_or_none(result.best_validation_score)

    def _report_epoch(self, report):
        # scikit-learn's lines; more detail at verbose >= 2.
        coef = np.asarray(to_numpy(report.params[0]), dtype=np.float64)
        bias = (float(np.asarray(to_numpy(report.params[1])).ravel()[0])
                if self.fit_intercept else 0.0)
        print(f"-- Epoch {report.epoch}")
        line = (f"Norm: {np.linalg.norm(coef):.2f}, NNZs: {np.count_nonzero(coef)}, "
                f"Bias: {bias:.6f}, T: {int(report.n_samples_seen)}, "
                f"Avg. loss: {report.data_loss:f}, Objective: {report.loss:f}")
        if report.score is not None:
            line += f", Validation score: {report.score:f}"
        print(line)
        if report.verbose >= 2:
            print(f"lr = {report.lr:.3g}")
        print(f"Total training time: {report.elapsed:.2f} seconds.")


def _mean_curve(curves, length):
    """Per-epoch means over the targets' curves (a shorter one repeats its end)."""
    return [float(np.mean([c[min(i, len(c) - 1)] for c in curves])) for i in range(length)]


class _LinearProblem(Problem):
    """``y = X @ W + b`` with a regression loss, for the engine."""

    penalized = (0,)
    penalty_per_sample = False

    def __init__(self, *, loss, n_targets, fit_intercept, dropout, curvature, backend,
                 single_output, pa=None, pa_C=1.0, pa_curvature=1.0):
        self.loss = loss
        self.n_targets = n_targets
        self.fit_intercept = fit_intercept
        self.dropout = dropout
        self.curvature = curvature
        self.backend = backend
        self.single_output = single_output
        self.pa = pa
        self.pa_C = pa_C
        self.pa_curvature = pa_curvature
        self.uses_noise = dropout > 0

    def step_rule(self, optimizer, *, n, grouped):
        if self.curvature is None:
            return StepRule()
        return PerSampleRate(optimizer, curvature=self.curvature,
                             curvature_max=self.curvature_max, n=n, grouped=grouped)

    def _predict(self, params, X):
        out = matmul(X, params[0])
        if self.fit_intercept:
            out = out + params[1]
        return out

    def loss_grad(self, params, X, y, sample_weight, *, noise=None, out=None):
        xp = self.backend.xp
        if self.dropout > 0:
            mask = noise.keep_mask(X.shape[1], 1.0 - self.dropout)
            X = X.multiply(mask).tocsr() if is_sparse(X) else X * mask
        r = self._predict(params, X) - y
        value, d = self.loss.value_and_derivative(r, xp=xp)
        if self.pa is not None:
            pa_step = self._pa_step(X, value)
            d = d * pa_step
        if sample_weight is not None:
            sw = xp.reshape(sample_weight, (-1, 1)) if not self.backend.is_numpy \
                else sample_weight[:, None]
            value = value * sw
            d = d * sw
            weight = xp.sum(sample_weight)
        else:
            weight = X.shape[0]
        if self.pa is not None:
            # The per-sample steps are summed (scikit-learn's sequential updates
            # taken at once), but like the linear scaling rule their total rate
            # is capped at 1 / curvature: uncapped, a batch overshoots and
            # diverges. The engine's rate is eta0 (= C), hence the division.
            if sample_weight is not None:
                pa_step = pa_step * sw
            total = xp.sum(pa_step, axis=0)
            weight = self.pa_C * xp.maximum(self.pa_curvature * total, xp.ones_like(total))
        out = out or [None, None]
        grads = [matmul_T(X, d, xp, out=out[0])]
        if self.fit_intercept:
            grads.append(sum_rows(d, xp, out=out[1]))
        for g in grads:
            g /= weight
        return xp.sum(value), grads

    def _pa_step(self, X, value):
        """Per-sample passive-aggressive step sizes (Crammer et al. 2006)."""
        xp = self.backend.xp
        if sp.issparse(X):
            sq = np.asarray(X.multiply(X).sum(axis=1)).reshape(-1, 1)
        elif is_sparse(X):  # pragma: no cover - GPU only
            sq = xp.reshape(xp.asarray(X.multiply(X).sum(axis=1)), (-1, 1))
        else:
            sq = xp.sum(X * X, axis=1)
            sq = xp.reshape(sq, (-1, 1))
        C = self.pa_C
        if self.pa == "pa1":
            safe = xp.where(sq > 0, sq, xp.ones_like(sq))
            step = xp.where(sq > 0, value / safe, xp.zeros_like(value))
            return xp.minimum(step, xp.full_like(step, C))
        return value / (sq + 0.5 / C)

    def score(self, params, X, y, sample_weight):
        xp = self.backend.xp
        pred = self._predict(params, X)
        return r2(y, pred, sample_weight, xp=xp)

    def params_from_attributes(self, attributes):
        coef, intercept = attributes["coef_"], attributes["intercept_"]
        if sp.issparse(coef):
            coef = coef.toarray()
        xp = self.backend.xp
        coef = self.backend.asarray(coef)
        coef = xp.reshape(coef, (1, -1)) if coef.ndim == 1 else coef
        W = xp.permute_dims(coef, (1, 0)) if not self.backend.is_numpy else coef.T.copy()
        if not self.fit_intercept:
            return [W]
        b = xp.reshape(self.backend.asarray(intercept), (-1,))
        if b.shape[0] != W.shape[1]:
            b = xp.broadcast_to(b, (W.shape[1],))
        return [W, b]

    def fitted_attributes(self, params):
        xp = self.backend.xp
        W = params[0]
        coef = xp.permute_dims(W, (1, 0)) if not self.backend.is_numpy else W.T.copy()
        if self.fit_intercept:
            intercept = params[1]
        else:
            intercept = xp.zeros((self.n_targets,), dtype=W.dtype,
                                 device=getattr(W, "device", None)) \
                if not self.backend.is_numpy else np.zeros(self.n_targets, dtype=W.dtype)
        if self.single_output:
            coef = xp.reshape(coef, (-1,)) if not self.backend.is_numpy else coef.ravel()
        return {"coef_": coef, "intercept_": intercept}


class PerSampleRate(StepRule):
    """scikit-learn's per-sample learning rate, taken a mini-batch at a time.

    For optimizers that are not scale invariant a batch of weight ``W`` and
    ``b`` rows takes the step ``min(lr * W, d / L_b)`` on the mean gradient:
    the sum of the ``W`` per-sample steps that scikit-learn would take (the
    linear scaling rule), or the curvature limit of a ``b``-row batch
    (:meth:`cap`) times the schedule's decay ``d = lr / lr_0``. Schedules then
    count weight updates (batches), as scikit-learn's ``t_`` counts updates
    (one per sample there), except on small data cut by weight, where the
    summed per-sample steps count samples as scikit-learn does.
    """

    def __init__(self, optimizer, *, curvature, curvature_max, n, grouped):
        self.optimizer, self.n = optimizer, n
        self.curvature, self.curvature_max = curvature, curvature_max or curvature
        self.linear_scaling = not optimizer.scale_invariant
        self.counts_updates = not (grouped and self.linear_scaling)
        self.caps = {}

    def cap(self, b):
        """The stable step of a batch of size ``b`` (rows, or weight) out of
        ``n``: between the full-data and the one-sample curvature bounds
        (expected smoothness, Gower et al. 2019)."""
        if b not in self.caps:
            n, L, L_max = self.n, self.curvature, self.curvature_max
            size = min(max(b, 1.0), n)
            L_b = L if size >= n else (
                (n * (size - 1) * L + (n - size) * L_max) / (size * (n - 1)))
            self.caps[b] = 1.0 / (L_b * self.optimizer.step_gain())
        return self.caps[b]

    def size(self, lr, base_lr, *, rows, weight):
        if not self.linear_scaling:
            return lr
        decay = min(1.0, lr / base_lr)
        return min(lr * weight, self.cap(rows) * decay)


def r2(y, pred, sample_weight, *, xp):
    """Weighted R² averaged uniformly over outputs, as a Python float."""
    if sample_weight is None:
        w = None
        total = y.shape[0]
        mean = xp.sum(y, axis=0) / total
        ss_res = xp.sum((y - pred) ** 2, axis=0)
        ss_tot = xp.sum((y - mean) ** 2, axis=0)
    else:
        w = xp.reshape(sample_weight, (-1, 1))
        total = xp.sum(sample_weight)
        mean = xp.sum(w * y, axis=0) / total
        ss_res = xp.sum(w * (y - pred) ** 2, axis=0)
        ss_tot = xp.sum(w * (y - mean) ** 2, axis=0)
    ss_res = to_numpy(ss_res).astype(np.float64)
    ss_tot = to_numpy(ss_tot).astype(np.float64)
    scores = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0),
                      np.where(ss_res > 0, 0.0, 1.0))
    return float(np.mean(scores))


def _curvatures(X, sw, fit_intercept, backend, n_iter=30):
    """Curvature bounds of the mean squared loss on ``[X, 1]``.

    Returns ``(L, L_max, trace)``: the largest eigenvalue of the weighted
    second moment (power iteration from a deterministic start on a
    subsample of about 4 MiB, at most 10,000 rows: 16 contiguous blocks,
    views, for dense NumPy input, else evenly strided rows),
    the largest squared row norm (all rows), which bounds a single sample's
    curvature, and the trace (weighted mean squared row norm, on the
    subsample).
    """
    if is_sparse(X) and not sp.issparse(X):  # pragma: no cover - GPU only
        # CuPy sparse: estimate on the host (one copy of the values, once).
        X, sw = X.get(), None if sw is None else to_numpy(sw)
        backend = resolve_backend(X)
    n, d = X.shape
    icpt = 1.0 if fit_intercept else 0.0
    chunk = 16384  # rows per pass: a few MiB of temporaries at most
    if sp.issparse(X):
        # Row norms from the stored values, a chunk of rows at a time: no
        # copy of the matrix.
        row_max = 0.0
        for start in range(0, n, chunk):
            ptr = X.indptr[start:min(start + chunk, n) + 1]
            values = X.data[ptr[0]:ptr[-1]].astype(np.float64, copy=False)
            csum = np.concatenate(([0.0], np.cumsum(np.square(values))))
            row_max = max(row_max, float(np.max(csum[ptr[1:] - ptr[0]]
                                                - csum[ptr[:-1] - ptr[0]])))
    elif backend.is_numpy:
        # In float64: float32 data of magnitude 1e20 has squares beyond float32.
        row_max = float(max(np.einsum("ij,ij->i", X[s:s + chunk], X[s:s + chunk],
                                      dtype=np.float64).max()
                            for s in range(0, n, chunk)))
    else:
        xp = backend.xp
        X64 = xp.astype(X, xp.float64) if X.dtype != xp.float64 else X
        row_max = float(xp.max(xp.sum(X64 * X64, axis=1)))
    row_max += icpt
    row_bytes = X.nnz * 12 / max(n, 1) if sp.issparse(X) else d * 8
    m = int(min(n, 10_000, max(256, (4 << 20) // max(row_bytes, 1))))
    # 16 contiguous blocks spread over the data, the same rows for every
    # storage: views for dense NumPy, which BLAS reads without the copy that a
    # strided subsample would need.
    size = n if n <= m else max(1, m // 16)  # small data: all of it
    starts = np.unique(np.linspace(0, n - size, num=min(16, max(1, n // size)), dtype=int))
    blocks = []
    for o in starts:
        Xb = X[o:o + size] if sp.issparse(X) or backend.is_numpy else to_numpy(
            X[int(o):int(o) + size, ...])
        wb = None if sw is None else to_numpy(sw[int(o):int(o) + size])
        blocks.append((Xb, wb))
    blocks = [(Xb.astype(np.float64, copy=False),
               np.ones(Xb.shape[0]) if wb is None else np.asarray(wb, dtype=np.float64))
              for Xb, wb in blocks]
    total = sum(float(wb.sum()) for _, wb in blocks)
    blocks = [(Xb, wb / total) for Xb, wb in blocks]
    trace = icpt + sum(
        float(wb @ (np.asarray(Xb.multiply(Xb).sum(axis=1)).ravel() if sp.issparse(Xb)
                    else np.einsum("ij,ij->i", Xb, Xb))) for Xb, wb in blocks)
    if not (math.isfinite(row_max) and math.isfinite(trace)):
        raise ValueError(
            "Floating-point overflow in the squared norms of the rows of X: its values "
            "are too large for SGD. Scaling input data with StandardScaler or "
            "MinMaxScaler might help."
        )
    v = np.ones(d) / math.sqrt(d + 1)
    c = icpt / math.sqrt(d + 1)
    lam = 0.0
    for _ in range(n_iter):
        v_new, c_new = np.zeros(d), 0.0
        for Xb, wb in blocks:
            u = wb * (np.asarray(Xb @ v).ravel() + c)
            v_new += np.asarray(Xb.T @ u).ravel()
            c_new += u.sum() if fit_intercept else 0.0
        lam = math.sqrt(float(v_new @ v_new) + c_new * c_new)
        if lam == 0.0:
            return 1.0, max(row_max, 1.0), max(trace, 1.0)
        v, c = v_new / lam, c_new / lam
    return lam, max(row_max, lam), max(trace, lam)
