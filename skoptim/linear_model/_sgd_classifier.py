"""SGDClassifierPlus: scikit-learn's SGDClassifier as a linear model with a
one-vs-rest margin head, on the shared engine."""

# SPDX-License-Identifier: BSD-3-Clause


import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.linear_model import SGDClassifier
from sklearn.utils.metaestimators import available_if

from skoptim._backend import namespace_of
from skoptim._base import atomic
from skoptim.heads import ClassifierTaskMixin, MarginHead, make_loss, sigmoid
from skoptim.linear_model._base import PLUS_CONSTRAINTS, LinearMixin
from skoptim.linear_model._ovr import InterceptViews, ovr_jobs, ovr_t, ovr_weights

_PROBA_LOSSES = ("log_loss", "modified_huber")


def _has_proba(self):
    if self.loss not in _PROBA_LOSSES:
        raise AttributeError(
            f"probability estimates are not available for loss={self.loss!r}"
        )
    return True


class SGDClassifierPlus(ClassifierTaskMixin, LinearMixin, ClassifierMixin, BaseEstimator):
    """Linear classifiers (SVM, logistic regression, ...) fitted by mini-batch
    stochastic optimization.

    A drop-in superset of :class:`sklearn.linear_model.SGDClassifier`: every
    parameter, method and fitted attribute of it keeps its name, default and
    meaning, and the estimator adds a choice of optimizer (``solver``),
    schedule objects, vectorised mini-batches (``batch_size``), input
    ``dropout``, an explicit validation set for early stopping, best-weight
    restoring, and scikit-learn's callbacks. Multiclass problems are
    one-vs-rest, as in scikit-learn, with every class trained at once.

    The objective is the weighted mean of the per-sample losses (summed over
    the one-vs-rest problems) plus ``alpha * (l1_ratio * ||w||_1 + (1 -
    l1_ratio) / 2 * ||w||_2^2)``.

    Parameters
    ----------
    loss : {'hinge', 'log_loss', 'modified_huber', 'squared_hinge', \
            'perceptron', 'squared_error', 'huber', 'epsilon_insensitive', \
            'squared_epsilon_insensitive'}, default='hinge'
        The loss of the margin ``m = y * z`` (``y`` in {-1, +1} for each
        one-vs-rest problem, ``z`` the decision value). ``'hinge'`` is a
        linear SVM (``max(0, 1 - m)``), ``'log_loss'`` logistic regression
        (``log(1 + exp(-m))``, with probability estimates),
        ``'modified_huber'`` a smooth hinge that also gives probabilities,
        ``'squared_hinge'`` the squared hinge, ``'perceptron'`` the hinge at 0;
        the regression losses fit ``z`` to ``y`` (see ``SGDRegressorPlus``).

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
        training objective, or the validation accuracy with
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

    n_jobs : int or None, default=None
        Accepted for compatibility with scikit-learn, which fits the
        one-vs-rest problems in parallel; here they are trained together in
        one vectorised pass, so it has no effect.

    random_state : int, RandomState instance or None, default=None
        Seeds shuffling, dropout masks and the validation split. An int makes
        CPU fits reproducible bit for bit.

    learning_rate : str or Schedule, default='optimal'
        The learning-rate schedule applied to ``eta0``: a name of
        :mod:`skoptim.optim` (``'constant'``, ``'optimal'``, ``'invscaling'``,
        ``'adaptive'``, ``'inverse_time'``, ``'exponential'``, ``'step'``,
        ``'cosine'``, ``'plateau'``), scikit-learn's ``'pa1'``/``'pa2'``
        passive-aggressive rules (``loss='hinge'`` and ``solver='sgd'``
        only), or a :class:`~skoptim.optim.Schedule` object. As in
        scikit-learn, ``'optimal'`` is ``1 / (alpha * (t0 + t))`` with
        Bottou's ``t0`` for the loss, and ``'invscaling'`` is ``eta0 /
        t**power_t``, ``t`` counting updates (samples seen on small shuffled
        data with the non-adaptive solvers, mini-batches otherwise, as in
        ``SGDRegressorPlus``); ``'adaptive'`` divides the
        rate by 5 each time the stopping rule stalls. A string is configured
        by ``power_t`` and ``alpha``; an object's own values are used as they
        are.

    eta0 : float, default=0.01
        The base learning rate. ``'optimal'`` does not scale it, but its
        capped mini-batch steps (Notes) shrink once its rate falls below
        ``eta0``. For the
        non-adaptive solvers (``'sgd'``, ``'momentum'``, ``'nesterov'``) it
        is a *per-sample* rate, as in scikit-learn; for the adaptive solvers
        (``'adam'``, ...) it is the step size of each mini-batch update. For
        ``'pa1'``/``'pa2'`` it is the aggressiveness ``C``.

    power_t : float, default=0.5
        The exponent of ``learning_rate='invscaling'``. Ignored when
        ``learning_rate`` is an object.

        .. deprecated:: 1.8
            Negative values are deprecated in scikit-learn 1.8 and warn here
            as there (a ``FutureWarning``); use values in ``[0, inf)``.

    early_stopping : bool, default=False
        Whether to stop on a validation accuracy that fails to improve. The
        validation set is ``X_val``/``y_val`` passed to ``fit``, or else a
        stratified ``validation_fraction`` of the training data. The weights
        of the best epoch are restored at the end (unless ``tol=None``).
        ``partial_fit`` ignores it: it trains one pass on all the rows it is
        given, and leaves the early-stopping attributes of the last ``fit``
        as they were.

    validation_fraction : float, default=0.1
        Proportion of training data held out for early stopping, in (0, 1).
        Identical rows are kept on the same side of the split. Only used when
        ``early_stopping=True`` and no ``X_val`` is given.

    n_iter_no_change : int, default=5
        Number of epochs without improvement before stopping (or before
        ``'adaptive'`` lowers the rate).

    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, ``{class_label: weight}``; ``'balanced'``
        uses ``n_samples / (n_classes * np.bincount(y))``. As in
        scikit-learn, in the one-vs-rest problem of class ``k`` the rows of
        class ``k`` weigh ``class_weight[k]`` and the others 1 (for two
        classes, each class has its own weight). ``partial_fit`` refuses
        ``'balanced'``, as scikit-learn does.

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
        Mini-batch size, chosen by ``'auto'`` as in ``SGDRegressorPlus``
        (several updates per epoch on small data, batches that average out
        the gradient noise on large data). ``1`` with ``solver='sgd'`` and
        one of scikit-learn's schedules is the exact mode: scikit-learn's
        per-sample algorithm, reproduced to floating-point tolerance.

    dropout : float, default=0.0
        Probability of zeroing each input feature of each sample during
        training (inverted dropout: kept values are scaled by
        ``1 / (1 - dropout)``). Prediction uses all features.

    device : {'auto', 'cpu', 'cuda', 'cuda:N'}, default='auto'
        Where training runs. ``'auto'`` follows the input data.

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights assigned to the features (one row per one-vs-rest problem;
        one row for two classes).

    intercept_ : ndarray of shape (1,) or (n_classes,)
        The intercepts.

    classes_ : ndarray of shape (n_classes,)
        The class labels.

    n_iter_ : int
        The number of epochs run by the last call of ``fit``/``partial_fit``.

    t_ : float
        Number of weight updates counted in samples: ``n_samples_seen + 1``.

    loss_ : float
        The objective (mean loss plus penalty) after the last epoch.

    loss_curve_ : list of float
        The objective after each epoch of the last call.

    best_loss_ : float or None
        The minimum of ``loss_curve_``.

    validation_scores_ : list of float or None
        Validation accuracy after each epoch when ``early_stopping=True``.

    best_validation_score_ : float or None
        The best validation accuracy, whose weights were restored.

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
    sklearn.linear_model.SGDClassifier : The per-sample scikit-learn original.
    sklearn.linear_model.LogisticRegression : Exact logistic regression.
    skoptim.SGDRegressorPlus : The regression sibling (same model, other head).

    Notes
    -----
    The step sizes follow ``SGDRegressorPlus``: for the non-adaptive solvers a
    batch of total sample weight :math:`W` takes the step
    :math:`\\min(\\eta_t W, 1/L)` on its mean gradient, the sum of the
    per-sample steps scikit-learn would take, capped by the curvature
    :math:`L` of the loss on the data. ``predict_proba`` follows
    scikit-learn: for ``'log_loss'`` the logistic function of the decision
    value (one-vs-rest probabilities normalised to sum to one), for
    ``'modified_huber'`` ``(clip(z, -1, 1) + 1) / 2``, normalised likewise.

    References
    ----------
    .. [1] L. Bottou, "Stochastic Gradient Descent Tricks", Neural Networks:
       Tricks of the Trade, 2012.
    .. [2] T. Zhang, "Solving large scale linear prediction problems using
       stochastic gradient descent algorithms", ICML 2004.
    .. [3] K. Crammer et al., "Online Passive-Aggressive Algorithms", JMLR 7,
       2006.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skoptim import SGDClassifierPlus
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(), SGDClassifierPlus(random_state=0))
    >>> clf.fit(X, y).score(X, y) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **SGDClassifier._parameter_constraints,
        **PLUS_CONSTRAINTS,
    }

    def __init__(
        self,
        loss="hinge",
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
        n_jobs=None,
        random_state=None,
        learning_rate="optimal",
        eta0=0.01,
        power_t=0.5,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        class_weight=None,
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
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.average = average
        self.solver = solver
        self.batch_size = batch_size
        self.dropout = dropout
        self.device = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = False
        tags.array_api_support = True
        return tags

    @atomic
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None, *,
            X_val=None, y_val=None, sample_weight_val=None):
        """Fit the linear classifier by mini-batch stochastic optimization.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Target class labels.
        coef_init : ndarray of shape (n_classes, n_features), default=None
            The initial coefficients to warm-start the optimization.
        intercept_init : ndarray of shape (n_classes,), default=None
            The initial intercept to warm-start the optimization.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights applied to individual samples (1 for unweighted). A weight
            of ``k`` means the same as ``k`` copies of the row.
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), \
                default=None
            Validation data for early stopping (needs ``early_stopping=True``);
            replaces the ``validation_fraction`` split.
        y_val : array-like of shape (n_val,), default=None
            Validation labels.
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
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run one epoch over the given samples, continuing the previous state.

        Training continues from the weights the estimator exposes (assigned
        ones included); the optimizer's state, the schedule's position and the
        random stream carry over. ``early_stopping`` does not apply here.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Subset of the training data.
        y : array-like of shape (n_samples,)
            Subset of the target labels.
        classes : array of shape (n_classes,), default=None
            All classes that can appear in ``y``; required on the first call.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights applied to individual samples.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        self._check_params(partial=True)
        self._check_partial_fit_classes(classes)
        return self._partial_fit(X, y, sample_weight, classes=classes)

    def decision_function(self, X):
        """Signed distance of each sample to the hyperplane of each class.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The decision values (one column for two classes, as a 1-D array),
            in the namespace and on the device of ``X``.
        """
        z = self._decision(X, "decision_function")
        return namespace_of(z).reshape(z, (-1,)) if z.shape[1] == 1 else z

    def predict(self, X):
        """Predict the class of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The predicted class labels.
        """
        z = self._decision(X, "predict")
        xp = namespace_of(z)
        idx = xp.astype(z[:, 0] > 0, xp.int64) if z.shape[1] == 1 else xp.argmax(z, axis=1)
        return self._labels(idx)

    @available_if(_has_proba)
    def predict_proba(self, X):
        """Probability estimates (``loss='log_loss'`` or ``'modified_huber'``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            The probability of each class, in the order of ``classes_``.
        """
        return self._proba(X, "predict_proba")

    def _proba(self, X, method):
        z = self._decision(X, method)
        xp = namespace_of(z)
        if self.loss == "log_loss":
            if z.shape[1] == 1:
                # Both columns from the logit: 1 - p would round small ones to 0.
                return sigmoid(xp.concat([-z, z], axis=1), xp)
            P = sigmoid(z, xp)
        else:
            P = (xp.clip(z, -1.0, 1.0) + 1.0) / 2.0
            if z.shape[1] == 1:
                return xp.concat([1.0 - P, P], axis=1)
        total = xp.sum(P, axis=1, keepdims=True)
        # Rows where every class is certain to be wrong: uniform, as scikit-learn.
        return xp.where(total > 0, P / xp.where(total > 0, total, 1.0),
                        1.0 / P.shape[1])

    @available_if(_has_proba)
    def predict_log_proba(self, X):
        """The log of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            The log-probability of each class.
        """
        P = self._proba(X, "predict_log_proba")
        with np.errstate(divide="ignore"):
            return namespace_of(P).log(P)

    # -- the task -----------------------------------------------------------
    _multilabel = False
    _min_classes = 2
    _coef_1d = False
    _broadcast_intercept = False  # scikit-learn wants one intercept per class
    _pa_loss = "hinge"

    _balanced_counts_sample_weight = False

    def _encode_labels(self, Y, X, backend):
        return backend.asarray(np.where(Y, 1.0, -1.0))

    # scikit-learn's SGD multiplies each update by the class's weight: the
    # weights scale the loss (sample weights, as repetitions, are normalised
    # away), and a one-vs-rest problem weighs only its own class's rows with
    # class_weight[k].
    _class_weights_in_head = True

    def _make_head(self, backend, Y):
        pos = neg = None
        if Y is not None:
            weights, _ = self._class_weights(Y, None, incremental=False)
            if weights is not None:
                pos, neg = ((weights[1:], weights[:1]) if Y.shape[1] == 1
                            else (weights, np.ones_like(weights)))
                pos, neg = backend.asarray(pos), backend.asarray(neg)
        return MarginHead(make_loss(self.loss, epsilon=self.epsilon),
                          xp=None if backend is None else backend.xp,
                          pos_weight=pos, neg_weight=neg)

    def _exact_jobs(self, X, Y, sw, params, *, incremental, standard, intercepts):
        weights, _ = self._class_weights(Y, None, incremental=incremental)
        jobs = ovr_jobs(self.classes_, np.asarray(Y), sw, weights=weights,
                        random_state=self.random_state,
                        early_stopping=params["early_stopping"],
                        validation_fraction=self.validation_fraction)
        views = InterceptViews(None if standard is None else
                               getattr(self, "_exact_intercepts", None), intercepts)
        if standard is not None and self.average:
            for job, start in zip(jobs, views.starts(standard)):
                job["standard"] = start
        return jobs, views

    def _exact_restores(self, n_problems):
        # Each one-vs-rest problem stops on its own binary score; restoring
        # each one's best epoch would mix epochs that were never a model.
        # Several classes keep their last weights, as scikit-learn does.
        return n_problems == 1

    def _exact_weights(self, results, X, t, views):
        state = {}
        if self.average:
            views.update(results, averaged=float(self.average) <= t - 1)
            state["_exact_intercepts"] = views.state()
        coef, intercept = ovr_weights(results, X, t=t, average=self.average, views=views)
        return coef, intercept, state

    def _exact_t(self, results, *, t_start, n_samples):
        return ovr_t(results, t_start=t_start, n_samples=n_samples)
