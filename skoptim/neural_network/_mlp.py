"""MLPClassifierPlus: scikit-learn's MLPClassifier as a multilayer perceptron
with a softmax (or logistic) head, on the shared engine."""

# SPDX-License-Identifier: BSD-3-Clause


import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.neural_network import MLPClassifier
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if

from skoptim._backend import namespace_of, to_numpy
from skoptim._base import atomic
from skoptim.heads import ClassifierTaskMixin, SoftmaxHead
from skoptim.neural_network._base import PLUS_CONSTRAINTS, MLPMixin, check_stochastic


class MLPClassifierPlus(ClassifierTaskMixin, MLPMixin, ClassifierMixin, BaseEstimator):
    """Multi-layer perceptron classifier trained on skoptim's shared engine.

    A drop-in superset of :class:`sklearn.neural_network.MLPClassifier`:
    every parameter, method and fitted attribute of it keeps its name, default
    and meaning. It adds every optimizer and schedule of :mod:`skoptim.optim`
    (names or objects with tunable nested parameters), L1/elastic-net
    penalties with exact zeros, inverted dropout on hidden activations,
    ``class_weight``, an explicit validation set for early stopping,
    ``warm_start``/``partial_fit`` that keep the optimizer's state, and
    scikit-learn's callbacks.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of neurons in the ith hidden layer.

    activation : {'identity', 'logistic', 'tanh', 'relu'}, default='relu'
        Activation of the hidden layers: ``f(x) = x``, ``1 / (1 + exp(-x))``,
        ``tanh(x)`` or ``max(0, x)``.

    solver : str or Optimizer, default='adam'
        The optimizer. scikit-learn's names keep their meaning: ``'sgd'`` is
        stochastic gradient descent with ``momentum`` and
        ``nesterovs_momentum``, ``'adam'`` uses ``beta_1``, ``beta_2`` and
        ``epsilon``, and ``'lbfgs'`` is full-batch L-BFGS (SciPy) limited by
        ``max_iter`` and ``max_fun``. Also accepted: ``'momentum'``,
        ``'nesterov'``, ``'adagrad'``, ``'rmsprop'``, ``'adamw'``,
        ``'nadam'``, ``'lion'`` (configured by ``beta_1``, ``beta_2``,
        ``epsilon`` where they apply), or an object of :mod:`skoptim.optim`,
        whose own values are used and whose nested parameters can be tuned
        (``solver__beta_1``).

    alpha : float, default=0.0001
        Strength of the penalty. As in scikit-learn, the penalty of a
        mini-batch is divided by its number of samples (sum of weights).

    batch_size : int or 'auto', default='auto'
        Size of the mini-batches; ``'auto'`` is ``min(200, n_samples)``.
        Ignored by ``'lbfgs'``.

    learning_rate : str or Schedule, default='constant'
        The schedule applied to ``learning_rate_init``: scikit-learn's
        ``'constant'``, ``'invscaling'`` (``learning_rate_init / (t_ + 1) **
        power_t``, set at the end of each epoch from ``t_``, the samples seen;
        a fit's first epoch runs at ``learning_rate_init``) and
        ``'adaptive'`` (divide by 5 when ``n_iter_no_change`` epochs fail to
        improve by ``tol``), or
        ``'inverse_time'``, ``'exponential'``, ``'step'``, ``'cosine'``,
        ``'plateau'``, or a :class:`~skoptim.optim.Schedule` object. Unlike
        scikit-learn, the schedule applies to every stochastic solver, Adam
        included. Ignored by ``'lbfgs'``.

    learning_rate_init : float, default=0.001
        The base learning rate. Ignored by ``'lbfgs'``.

    power_t : float, default=0.5
        Exponent of ``learning_rate='invscaling'``. Ignored when
        ``learning_rate`` is an object.

    max_iter : int, default=200
        Maximum number of epochs (stochastic solvers) or iterations
        (``'lbfgs'``).

    shuffle : bool, default=True
        Whether to shuffle samples in each epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout masks and the
        validation split. An int makes CPU fits reproducible bit for bit.

    tol : float, default=1e-4
        Tolerance of the stopping rule: training stops when the loss (or the
        validation score with ``early_stopping=True``) fails to improve by
        ``tol`` for ``n_iter_no_change`` consecutive epochs.

    verbose : bool or int, default=False
        Whether to print scikit-learn's progress lines (``Iteration N, loss
        = ...``, and ``Validation score: ...`` with early stopping); 2 or more
        adds the learning rate and the time.

    warm_start : bool, default=False
        When True, ``fit`` reuses the weights the estimator exposes (fitted,
        restored by early stopping, or assigned by the user) as its starting
        point; otherwise it starts over. As in scikit-learn, a warm-start
        ``fit`` is otherwise a new fit: ``n_iter_`` counts its epochs and the
        optimizer and the schedule start afresh. ``partial_fit`` is what
        carries the optimizer's state and the schedule's position over.

    momentum : float, default=0.9
        Momentum of ``solver='sgd'``, in [0, 1]. Ignored otherwise.

    nesterovs_momentum : bool, default=True
        Whether ``solver='sgd'`` uses Nesterov's momentum.

    early_stopping : bool, default=False
        Whether to stop when the validation accuracy stops improving. The
        validation set is ``X_val``/``y_val`` passed to ``fit``, or else a
        stratified ``validation_fraction`` of the training data (a class
        with one member stays in training). The best weights are restored at
        the end. Only for stochastic solvers: ``'lbfgs'`` ignores it and
        trains on all the data. ``partial_fit`` ignores it too: it trains one
        pass on all the rows it is given and leaves the early-stopping
        attributes of the last ``fit`` as they were.

    validation_fraction : float, default=0.1
        Proportion of training data held out for early stopping:
        ``ceil(validation_fraction * n)`` rows (identical rows count once;
        a stratified split of a classifier holds out ``round(validation_fraction
        * n_k)`` rows of each class ``k``), at least 2; a fraction that leaves
        no training or no validation row raises scikit-learn's error.

    beta_1 : float, default=0.9
        Decay of the first-moment estimates of Adam-type solvers, in [0, 1).

    beta_2 : float, default=0.999
        Decay of the second-moment estimates of Adam-type solvers, in [0, 1).

    epsilon : float, default=1e-8
        Numerical-stability term of Adam-type solvers.

    n_iter_no_change : int, default=10
        Number of epochs without ``tol`` improvement before stopping.

    max_fun : int, default=15000
        Maximum number of loss evaluations of ``'lbfgs'``.

    penalty : {'l2', 'l1', 'elasticnet', None}, default='l2'
        The regularization of the weights (not the intercepts). ``'l1'`` and
        ``'elasticnet'`` give exact zeros (L1 steps after each update); they need a
        stochastic solver.

    l1_ratio : float, default=0.15
        Elastic-net mixing, ``0 <= l1_ratio <= 1``. Only used when
        ``penalty='elasticnet'``.

    dropout : float or tuple of float, default=0.0
        Probability of zeroing each hidden unit during training (inverted
        dropout), one rate for all hidden layers or one per hidden layer.
        Prediction uses the whole network. Not with ``'lbfgs'``.

    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplied into the sample weights.
        ``'balanced'`` uses ``n_samples / (n_classes * np.bincount(y))``
        (sample weights counted). ``partial_fit`` refuses ``'balanced'``, as
        scikit-learn's ``SGDClassifier`` does (one call's labels do not tell
        the class frequencies; pass the weights of
        :func:`~sklearn.utils.class_weight.compute_class_weight` instead).
        Values must be finite and non-negative, not all zero. Not for
        multilabel targets.

    device : {'auto', 'cpu', 'cuda', 'cuda:N'}, default='auto'
        Where training runs. ``'auto'`` follows the input data.

    Attributes
    ----------
    classes_ : ndarray or list of ndarray of shape (n_classes,)
        Class labels.

    loss_ : float
        The loss (mean log-loss plus penalty) after the last epoch.

    best_loss_ : float or None
        The minimum loss reached; None with early stopping.

    loss_curve_ : list of float
        The loss after each epoch (iteration for ``'lbfgs'``).

    validation_scores_ : list of float or None
        Validation accuracy after each epoch with early stopping.

    best_validation_score_ : float or None
        The best validation accuracy, whose weights were restored.

    t_ : int
        Number of training samples seen (sum of sample weights), counted on
        over warm starts and ``partial_fit`` calls, as in scikit-learn.

    coefs_ : list of ndarray of shape (n_fan_in, n_fan_out)
        The weight matrices; ``coefs_[i]`` connects layer ``i`` to ``i + 1``.

    intercepts_ : list of ndarray of shape (n_fan_out,)
        The bias vectors.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of features seen during fit, when ``X`` has string column names.

    n_iter_ : int
        Number of epochs (iterations for ``'lbfgs'``) run by the last call of
        ``fit`` or ``partial_fit``.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        ``'logistic'`` (binary, multilabel) or ``'softmax'`` (multiclass).

    solver_ : Optimizer or None
        The fitted copy of the optimizer (None for ``'lbfgs'``).

    learning_rate_ : Schedule
        The fitted copy of the schedule.

    batch_size_ : int
        The mini-batch size used.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : The scikit-learn original.
    skoptim.SGDRegressorPlus : The linear sibling on the same engine.

    Notes
    -----
    The loss is the weighted mean cross-entropy; the gradient is computed by
    back-propagation. Weights are initialised as in scikit-learn (Glorot
    uniform). Dropout multiplies each hidden activation by
    :math:`m / (1 - p)` with :math:`m \\sim \\mathrm{Bernoulli}(1 - p)`.

    References
    ----------
    .. [1] X. Glorot and Y. Bengio, "Understanding the difficulty of training
       deep feedforward neural networks", AISTATS 2010.
    .. [2] N. Srivastava et al., "Dropout: A Simple Way to Prevent Neural
       Networks from Overfitting", JMLR 15, 2014.
    .. [3] D. P. Kingma and J. Ba, "Adam: A Method for Stochastic
       Optimization", ICLR 2015.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skoptim import MLPClassifierPlus
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(), MLPClassifierPlus(
    ...     hidden_layer_sizes=(16,), solver="adamw", learning_rate_init=0.01,
    ...     max_iter=300, random_state=0))
    >>> clf.fit(X, y).score(X, y) > 0.95
    True
    """

    _parameter_constraints: dict = {
        **MLPClassifier._parameter_constraints,
        **PLUS_CONSTRAINTS,
        "class_weight": [StrOptions({"balanced"}), dict, None],
    }


    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        penalty="l2",
        l1_ratio=0.15,
        dropout=0.0,
        class_weight=None,
        device="auto",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.dropout = dropout
        self.class_weight = class_weight
        self.device = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        tags.array_api_support = True
        return tags

    # -- parameter checks -------------------------------------------------
    @atomic
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None,
            sample_weight_val=None):
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target class labels, or a label-indicator matrix (multilabel).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights; a weight of ``k`` means ``k`` copies of the row.
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), \
                default=None
            Validation data for early stopping (needs ``early_stopping=True``).
        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            Validation targets.
        sample_weight_val : array-like of shape (n_val,), default=None
            Validation sample weights.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        return self._fit(X, y, sample_weight, X_val, y_val, sample_weight_val)

    @available_if(check_stochastic)
    @atomic
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Run one epoch over the given samples, continuing the previous state.

        Training continues from the weights the estimator exposes (assigned
        ones included); the optimizer's state, the schedule's position and the
        random stream carry over. ``early_stopping`` does not apply: nothing is
        held out and the early-stopping attributes of the last ``fit`` stay.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        classes : array of shape (n_classes,), default=None
            All classes that can appear in ``y``; required on the first call.

        Returns
        -------
        self : object
            Trained estimator.
        """
        self._check_params(partial=True)
        self._check_partial_fit_classes(classes)
        return self._fit_engine(X, y, sample_weight, incremental=True, classes=classes)

    def predict(self, X):
        """Predict using the multi-layer perceptron classifier.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The predicted classes.
        """
        z, head = self._forward(X, "predict")
        xp = namespace_of(z)
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            return to_numpy(z > 0).astype(int) if xp is np else xp.astype(z > 0, xp.int64)
        if len(self.classes_) == 1:
            idx = xp.zeros(z.shape[0], dtype=xp.int64, device=z.device) \
                if xp is not np else np.zeros(z.shape[0], dtype=np.intp)
        elif z.shape[1] == 1:
            idx = xp.astype(z[:, 0] > 0, xp.int64)
        else:
            idx = xp.argmax(z, axis=1)
        return self._labels(idx)

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            The probability of each class, in the order of ``classes_``.
        """
        return self._proba(X, "predict_proba")

    def _proba(self, X, method):
        z, head = self._forward(X, method)
        binary = (len(self.classes_) == 2
                  and self._label_binarizer.y_type_ != "multilabel-indicator")
        proba = head.proba(z, both_classes=binary)
        if len(self.classes_) == 1:
            # One class seen in fit: it has probability 1.
            return namespace_of(proba).ones_like(proba)
        return proba

    def predict_log_proba(self, X):
        """Return the log of probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            The predicted log-probability of each class.
        """
        proba = self._proba(X, "predict_log_proba")
        # log(predict_proba), as scikit-learn's checks require: a probability
        # that rounds to 0 has the log -inf, without a warning.
        with np.errstate(divide="ignore"):
            return namespace_of(proba).log(proba)


    # -- the task -----------------------------------------------------------
    def _encode_labels(self, Y, X, backend):
        if backend.is_numpy:
            # NumPy promotes booleans in ``P - Y``: a bool indicator matrix is
            # 8 times smaller than a float one (scikit-learn keeps bools too).
            return Y
        return backend.asarray(Y.astype(np.float64))

    def _out_activation(self, Y):
        multilabel = self._label_binarizer.y_type_ == "multilabel-indicator"
        return "logistic" if multilabel or Y.shape[1] == 1 else "softmax"

    def _make_head(self, backend):
        return SoftmaxHead(self.out_activation_, xp=backend.xp)
