"""SGDRegressorPlus: scikit-learn's SGDRegressor as a linear model with a
regression head, on the shared engine."""

# SPDX-License-Identifier: BSD-3-Clause


from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.linear_model import SGDRegressor

from skoptim._base import atomic
from skoptim.heads import RegressionHead, RegressorTaskMixin, make_loss
from skoptim.linear_model._base import PLUS_CONSTRAINTS, LinearMixin


class SGDRegressorPlus(RegressorTaskMixin, LinearMixin, RegressorMixin, BaseEstimator):
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
        zeros in ``coef_``: the L1 part is applied after each step, cumulatively
        (Tsuruoka et al. 2009, as scikit-learn does per sample) or, for the
        adaptive solvers, as a proximal step in their metric.

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
        object. As in scikit-learn, ``'invscaling'`` is ``eta0 / t**power_t``
        and ``'optimal'`` ``1 / (alpha * (t0 + t))``, where ``t`` counts
        updates: samples seen on small shuffled data with the non-adaptive
        solvers (a total sample weight up to 8192, cut into batches by
        weight), mini-batch updates otherwise (see Notes); ``'adaptive'``
        divides the rate by 5 each time the stopping rule stalls. A string is configured by ``power_t`` and ``alpha``; an
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
        least 256 rows); on wide sparse data (CSR, a batch of that size
        holding fewer stored values than the data has features: text), where
        plain SGD takes steps on the batch's features only, 16. With
        ``average``, which removes gradient noise by
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
    per-sample rate of the schedule (counting updates, as scikit-learn's
    ``t_`` does one per sample: batches here, or samples on small data) and
    :math:`L` an upper bound of the loss's
    curvature, estimated once per fit by Lanczos iteration on the data's second
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
        **PLUS_CONSTRAINTS,
    }

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
        return self._fit(X, y, coef_init, intercept_init, sample_weight, X_val, y_val,
                         sample_weight_val)

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
        self._check_params(partial=True)
        return self._partial_fit(X, y, sample_weight)

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
        return self._decision(X, "predict")

    # -- the task -----------------------------------------------------------
    _pa_loss = "epsilon_insensitive"

    @property
    def _coef_1d(self):
        return self._single_output

    def _make_head(self, backend, y):
        return RegressionHead(make_loss(self.loss, epsilon=self.epsilon),
                              xp=None if backend is None else backend.xp)

    def _exact_jobs(self, X, Y, sw, params, *, incremental, standard, intercepts):
        return [{"y": Y[:, j], "random_state": self.random_state}
                for j in range(Y.shape[1])], None
