"""MLPClassifierPlus: scikit-learn's MLPClassifier on the shared engine."""

# SPDX-License-Identifier: BSD-3-Clause

import math
import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import column_or_1d

from skoptim._backend import (
    check_device,
    is_sparse,
    namespace_of,
    resolve_backend,
    to_numpy,
)
from skoptim._kernels import matmul, matmul_T, sum_rows, transpose
from skoptim._base import EngineEstimatorMixin, atomic, finite_or_none
from skoptim.engine import Problem
from skoptim._validation import (
    check_class_weight,
    check_same_namespace,
    check_X,
    check_X_y,
)
from skoptim.optim import (
    Clock,
    Momentum,
    Optimizer,
    Schedule,
    resolve_optimizer,
    resolve_schedule,
)
from skoptim.optim._optimizers import unknown_name_error
from skoptim.optim._schedules import SCHEDULES

_ACTIVATIONS = ("identity", "logistic", "tanh", "relu")
_SCHEDULES = tuple(name for name in SCHEDULES if name != "optimal")


def _is_lbfgs(solver):
    return isinstance(solver, str) and solver == "lbfgs"


def _check_stochastic(self):
    if _is_lbfgs(self.solver):
        raise AttributeError(
            "partial_fit is only available for stochastic optimizers; "
            f"solver={self.solver!r} is not stochastic."
        )
    return True


class MLPClassifierPlus(EngineEstimatorMixin, ClassifierMixin, BaseEstimator):
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
        ``ceil(validation_fraction * n)`` rows; a fraction that leaves no
        training or no validation row raises scikit-learn's error.

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
        ``'elasticnet'`` give exact zeros (proximal steps); they need a
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
        "solver": [str, Optimizer],
        # Names are checked when resolved: the error suggests the closest one.
        "learning_rate": [str, Schedule],
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "l1_ratio": [Interval(numbers.Real, 0, 1, closed="both")],
        "dropout": [Interval(numbers.Real, 0.0, 1.0, closed="left"), tuple, list],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "device": [str],
    }
    _lr_param = "learning_rate_init"
    _weight_attributes = ("coefs_", "intercepts_")

    @staticmethod
    def _auto_batch_size(n_samples, problem, optimizer):
        return 200

    def _batch_size(self, n_samples, problem, optimizer):
        if self.batch_size != "auto" and self.batch_size > n_samples:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It "
                          "is going to be clipped")
        return super()._batch_size(n_samples, problem, optimizer)

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
    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if not hasattr(sizes, "__iter__") else list(sizes)
        for s in sizes:
            if isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Integral):
                raise TypeError(
                    "hidden_layer_sizes must hold integers (the width of each hidden "
                    f"layer), got {self.hidden_layer_sizes!r}."
                )
        if any(s <= 0 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be > 0, got {self.hidden_layer_sizes}."
            )
        return [int(s) for s in sizes]

    def _dropout_rates(self, n_hidden):
        rates = self.dropout
        if isinstance(rates, numbers.Real):
            return (float(rates),) * n_hidden
        if any(isinstance(r, (bool, np.bool_)) or not isinstance(r, numbers.Real)
               for r in rates):
            raise TypeError(
                f"dropout must be a float or a tuple of floats; got {self.dropout!r}."
            )
        rates = tuple(float(r) for r in rates)
        if len(rates) != n_hidden or any(not 0.0 <= r < 1.0 for r in rates):
            raise ValueError(
                f"dropout must be a float in [0, 1) or one such rate per hidden layer "
                f"({n_hidden}); got {self.dropout!r}."
            )
        return rates

    def _check_params(self):
        # scikit-learn skips this in partial_fit once fitted; parameters set
        # since then must be checked all the same.
        self._validate_params()
        check_device(self.device)
        self._resolve_optimizer()
        if isinstance(self.learning_rate, str) and self.learning_rate not in _SCHEDULES:
            # 'optimal' needs a linear model's alpha and t0.
            raise unknown_name_error(self.learning_rate, _SCHEDULES, "learning_rate")
        resolve_schedule(self.learning_rate)
        if _is_lbfgs(self.solver):
            if self.penalty in ("l1", "elasticnet"):
                raise ValueError(
                    f"penalty={self.penalty!r} needs a stochastic solver (exact zeros "
                    "come from proximal steps); solver='lbfgs' supports 'l2' or None."
                )
            if any(r > 0 for r in self._dropout_rates(len(self._hidden_sizes()))):
                raise ValueError("dropout needs a stochastic solver, not 'lbfgs'.")

    # -- public API -------------------------------------------------------
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
        self._check_params()
        return self._fit_engine(X, y, sample_weight, incremental=False, X_val=X_val,
                                y_val=y_val, sample_weight_val=sample_weight_val)

    @available_if(_check_stochastic)
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
        self._check_params()
        if classes is not None and len(classes) == 0:
            raise ValueError("classes must not be empty: pass every class y can hold.")
        if not hasattr(self, "classes_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if (classes is not None and hasattr(self, "classes_")
                and not np.array_equal(self.classes_, unique_labels(classes))):
            raise ValueError(
                f"`classes={classes!r}` is not the same as on last call to partial_fit, "
                f"was: {self.classes_!r}"
            )
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
        proba = self._forward_proba(X, "predict")
        xp = namespace_of(proba)
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            return to_numpy(proba > 0.5).astype(int) if xp is np else xp.astype(
                proba > 0.5, xp.int64)
        if len(self.classes_) == 1:
            idx = xp.zeros(proba.shape[0], dtype=xp.int64, device=proba.device) \
                if xp is not np else np.zeros(proba.shape[0], dtype=np.intp)
        elif proba.shape[1] == 1:
            idx = xp.astype(proba[:, 0] > 0.5, xp.int64)
        else:
            idx = xp.argmax(proba, axis=1)
        classes = self.classes_
        if xp is np:
            return classes[idx]
        if classes.dtype.kind in "biuf":
            return xp.take(xp.asarray(classes, device=idx.device), idx, axis=0)
        return classes[to_numpy(idx)]

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
        check_is_fitted(self)
        binary = (len(self.classes_) == 2
                  and self._label_binarizer.y_type_ != "multilabel-indicator")
        proba = self._forward_proba(X, method, both_classes=binary)
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

    # -- helpers ----------------------------------------------------------
    def _forward_proba(self, X, method, both_classes=False):
        check_is_fitted(self)
        check_same_namespace(X, self.intercepts_[-1], self, method)
        backend = resolve_backend(X, device="auto")
        X = check_X(self, X, backend=backend)
        params = []
        for W, b in zip(self.coefs_, self.intercepts_):
            params += [W, b]
        dtype = self.coefs_[0].dtype
        xp = resolve_backend(X, device="auto").xp
        if not is_sparse(X) and X.dtype != dtype:
            # The wider of the two: float64 X is not rounded to a float32 model.
            if X.dtype == xp.float64:
                dtype = X.dtype
                params = [xp.astype(p, dtype) for p in params]
            else:
                X = xp.astype(X, dtype)
        backend = resolve_backend(X, device="auto", dtype=dtype)
        # The fitted architecture, whatever hidden_layer_sizes says now.
        problem = _MLPProblem(activation=self.activation, out_activation=self.out_activation_,
                              n_layers=len(self.coefs_),
                              dropout=(0.0,) * (len(self.coefs_) - 1), backend=backend)
        return problem.forward_proba(params, X, both_classes=both_classes)

    def _problem_for(self, backend):
        hidden = self._hidden_sizes()
        return _MLPProblem(
            activation=self.activation,
            out_activation=self.out_activation_,
            n_layers=len(hidden) + 1,
            dropout=self._dropout_rates(len(hidden)),
            backend=backend,
        )

    # -- what the engine trains -------------------------------------------
    def _check_train_data(self, X, y, *, reset, backend, classes, incremental,
                          validation=False):
        X, y = check_X_y(self, X, y, reset=reset, backend=backend, multi_output=True,
                         y_numeric=False)
        y_host = to_numpy(y)
        check_classification_targets(y_host)
        if type_of_target(y_host) == "multiclass-multioutput":
            raise ValueError(
                "y is multiclass-multioutput (several columns of more than two "
                "labels), which MLPClassifierPlus does not support; pass a 1-D y of "
                "labels or a binary label-indicator matrix."
            )
        if y_host.ndim == 2 and y_host.shape[1] == 1:
            y_host = column_or_1d(y_host, warn=True)
        if validation:
            self._check_validation_labels(y_host)
            lb = self._label_binarizer
        elif reset or not hasattr(self, "_label_binarizer"):
            lb = LabelBinarizer()
            if classes is not None and type_of_target(y_host) != "multilabel-indicator":
                lb.fit(np.asarray(classes))
                if not np.all(np.isin(np.unique(y_host), lb.classes_)):
                    raise ValueError(
                        "`y` has classes not in `classes`: "
                        f"{np.setdiff1d(np.unique(y_host), lb.classes_)}."
                    )
            else:
                lb.fit(y_host)
            self._label_binarizer = lb
            self.classes_ = lb.classes_
        else:
            lb = self._label_binarizer
            if lb.y_type_ == "multilabel-indicator":
                if y_host.ndim != 2 or y_host.shape[1] != len(lb.classes_):
                    raise ValueError(
                        f"y has {y_host.shape} labels; the model was fitted with "
                        f"{len(lb.classes_)} outputs."
                    )
            elif self.warm_start and not incremental:
                labels = unique_labels(y_host)
                if set(labels) != set(lb.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as "
                        f"in the previous call to fit. Previously got {lb.classes_}, "
                        f"`y` has {labels}"
                    )
            else:
                unknown = np.setdiff1d(np.unique(y_host), lb.classes_)
                if unknown.size:
                    raise ValueError(
                        "`y` has classes not in `self.classes_`. `self.classes_` has "
                        f"{lb.classes_}. 'y' has {np.unique(y_host)}."
                    )
        Y = _one_hot(lb, y_host)
        if backend.is_numpy:
            # NumPy promotes booleans in ``P - Y``: a bool indicator matrix is
            # 8 times smaller than a float one (scikit-learn keeps bools too).
            return X, Y
        return X, backend.asarray(Y.astype(np.float64))

    def _check_validation_labels(self, y_val):
        """y_val must have the layout and the classes of this fit's y."""
        lb = self._label_binarizer
        multilabel = type_of_target(y_val) == "multilabel-indicator"
        if multilabel != (lb.y_type_ == "multilabel-indicator"):
            raise ValueError(
                f"y_val is {type_of_target(y_val)!r} but y is {lb.y_type_!r}: pass "
                "y_val in the layout of y."
            )
        if not multilabel:
            unknown = np.setdiff1d(np.unique(y_val), lb.classes_)
            if unknown.size:
                raise ValueError(
                    f"y_val has classes not in y: {unknown}; the classes of y are "
                    f"{lb.classes_}."
                )

    def _adjust_sample_weight(self, y, sample_weight, backend, *, incremental):
        cw = check_class_weight(self.class_weight, incremental=incremental)
        if cw is None:
            return sample_weight
        lb = self._label_binarizer
        if lb.y_type_ == "multilabel-indicator":
            raise ValueError("class_weight is not supported for multilabel targets.")
        Y = np.asarray(to_numpy(y))
        if len(lb.classes_) == 1:
            idx = np.zeros(Y.shape[0], dtype=np.intp)
        else:
            idx = Y.argmax(axis=1) if Y.shape[1] > 1 else Y[:, 0].astype(int)
        labels = lb.classes_[idx]
        sw_host = None if sample_weight is None else np.asarray(to_numpy(sample_weight))
        weights = compute_class_weight(cw, classes=lb.classes_, y=labels,
                                       sample_weight=sw_host)
        per_sample = weights[idx]
        if sw_host is not None:
            # 'balanced' gives a class whose rows all weigh 0 an infinite
            # weight; those rows stay at 0.
            with np.errstate(invalid="ignore"):
                per_sample = np.where(sw_host > 0, per_sample * sw_host, 0.0)
        return backend.asarray(per_sample)

    def _callback_target(self, Y):
        backend = resolve_backend(Y)
        labels = self._label_binarizer.inverse_transform(np.asarray(to_numpy(Y)))
        return labels if backend.is_numpy or labels.dtype.kind not in "biuf" else \
            backend.move(labels)

    @property
    def _stratify_validation(self):
        return self._label_binarizer.y_type_ != "multilabel-indicator"

    def _make_problem(self, X, Y, sw, backend):
        lb = self._label_binarizer
        n_outputs = Y.shape[1]
        if lb.y_type_ == "multilabel-indicator" or n_outputs == 1:
            out = "logistic"
        else:
            out = "softmax"
        if not hasattr(self, "out_activation_") or not self._continuing_shapes(n_outputs):
            self.out_activation_ = out
            self.n_outputs_ = n_outputs
        hidden = self._hidden_sizes()
        self.n_layers_ = len(hidden) + 2
        return self._problem_for(backend)

    def _continuing_shapes(self, n_outputs):
        return hasattr(self, "coefs_") and self.coefs_[-1].shape[1] == n_outputs

    def _init_params(self, problem, backend, rng, init):
        sizes = [self.n_features_in_, *self._hidden_sizes(), self.n_outputs_]
        factor = 2.0 if self.activation == "logistic" else 6.0
        params = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = math.sqrt(factor / (fan_in + fan_out))
            params.append(rng.uniform(-bound, bound, (fan_in, fan_out)))
            params.append(rng.uniform(-bound, bound, (fan_out,)))
        return params

    def _resolve_optimizer(self):
        solver = self.solver
        if _is_lbfgs(solver):
            return None
        if isinstance(solver, str) and solver == "sgd":
            return resolve_optimizer(
                Momentum(momentum=self.momentum, nesterov=self.nesterovs_momentum))
        flat = {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
        if isinstance(solver, str) and solver in ("momentum", "nesterov"):
            flat = {"momentum": self.momentum}
        return resolve_optimizer(solver, also_valid=("lbfgs",), **flat)

    def _train_config_extra(self):
        return {"extra_patience": 1, "samples_at_epoch_start": True}

    def _resolve_schedule(self, problem):
        return resolve_schedule(self.learning_rate, power_t=self.power_t)

    def _exposed_params(self, problem, backend):
        expected = [self.n_features_in_, *self._hidden_sizes(), self.n_outputs_]
        shapes = [tuple(np.shape(c)) for c in self.coefs_]
        if shapes != list(zip(expected[:-1], expected[1:])):
            raise ValueError(
                f"hidden_layer_sizes={self.hidden_layer_sizes!r} does not match the "
                f"fitted layers {shapes}; partial_fit and warm starts keep the "
                "architecture: refit with warm_start=False to change it."
            )
        return super()._exposed_params(problem, backend)

    def _start_clock(self, continuing):
        # scikit-learn's MLP counts t_ across warm starts.
        seen = float(getattr(self, "t_", 0)) if continuing else 0.0
        return Clock(n_samples_seen=seen)

    def _commit(self, result, *, continuing, incremental):
        keep = continuing and hasattr(self, "loss_curve_")
        self.n_iter_ = result.n_iter  # this call's epochs, as in scikit-learn
        self.t_ = int(round(result.state.clock.n_samples_seen))
        self.loss_curve_ = (list(self.loss_curve_) if keep else []) + result.loss_curve
        self.loss_ = self.loss_curve_[-1]
        if incremental and getattr(self, "validation_scores_", None) is not None:
            # partial_fit holds nothing out: the last fit's early-stopping
            # record stays as it was.
            return
        if result.validation_scores:
            # One score per epoch, like loss_curve_: a warm start extends it.
            previous = self.validation_scores_ if keep and self.validation_scores_ else []
            self.validation_scores_ = previous + result.validation_scores
            self.best_validation_score_ = finite_or_none(result.best_validation_score)
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = min(self.loss_curve_)

    def _report_epoch(self, report):
        # scikit-learn's lines; more detail at verbose >= 2.
        print(f"Iteration {report.iteration}, loss = {report.loss:.8f}")
        if report.score is not None:
            print(f"Validation score: {report.score:f}")
        if report.verbose >= 2:
            print(f"lr = {report.lr:.3g}, time = {report.elapsed:.2f}s")


class _MLPProblem(Problem):
    """A fully connected network with a logistic or softmax output."""

    penalty_per_sample = True

    def __init__(self, *, activation, out_activation, n_layers, dropout, backend):
        self.activation = activation
        self.out_activation = out_activation
        self.n_layers = n_layers
        self.dropout = dropout
        self.backend = backend
        self.penalized = tuple(range(0, 2 * n_layers, 2))
        self.uses_noise = any(r > 0 for r in dropout)

    # forward ---------------------------------------------------------------
    def _hidden(self, z):
        """Apply the hidden activation in place where the namespace allows."""
        xp, act = self.backend.xp, self.activation
        if act == "relu":
            if self.backend.is_numpy:
                return np.maximum(z, 0, out=z)
            return xp.clip(z, min=0.0)
        if act == "tanh":
            return xp.tanh(z)
        if act == "logistic":
            return _sigmoid(z, xp)
        return z

    def _hidden_derivative(self, delta, a):
        """``delta * f'(z)`` written with the activation ``a = f(z)``."""
        xp, act = self.backend.xp, self.activation
        if act == "relu":
            if self.backend.is_numpy:
                delta[a <= 0] = 0
                return delta
            return xp.where(a > 0, delta, xp.zeros_like(delta))
        if act == "tanh":
            return delta * (1.0 - a * a)
        if act == "logistic":
            return delta * (a * (1.0 - a))
        return delta

    def _forward(self, params, X, noise=None):
        """Activations (after dropout), pre-dropout activations, dropout masks
        and logits."""
        acts, pre, masks = [X], [], []
        a = X
        for layer in range(self.n_layers):
            W, b = params[2 * layer], params[2 * layer + 1]
            z = matmul(a, W)
            z += b
            if layer == self.n_layers - 1:
                return acts, pre, masks, z
            a = self._hidden(z)
            pre.append(a)
            rate = self.dropout[layer]
            mask = None
            if noise is not None and rate > 0:
                mask = noise.keep_mask(a.shape[1], 1.0 - rate, stream=layer)
                a = a * mask
            masks.append(mask)
            acts.append(a)
        raise AssertionError("unreachable")

    def _output(self, z):
        """Probabilities and log-probabilities of the output layer."""
        xp = self.backend.xp
        if self.out_activation == "softmax":
            z = z - xp.max(z, axis=1, keepdims=True)
            ez = xp.exp(z)
            s = xp.sum(ez, axis=1, keepdims=True)
            return ez / s, z - xp.log(s)
        return _sigmoid(z, xp), None

    def forward_proba(self, params, X, both_classes=False):
        """Output probabilities; logistic ones are kept inside (0, 1).
        ``both_classes`` gives a binary problem's two columns, each computed
        from the logit (``1 - p`` would lose the small ones to rounding)."""
        xp = self.backend.xp
        z = self._forward(params, X)[-1]
        if both_classes:
            z = xp.concat([-z, z], axis=1)
        P = self._output(z)[0]
        if self.out_activation == "softmax":
            # Never exactly 0, so that predict_log_proba = log(predict_proba)
            # stays finite.
            tiny = float(np.finfo(np.float32 if P.dtype == self.backend.xp.float32
                                  else np.float64).tiny)
            P = self.backend.xp.clip(P, min=tiny)
        if self.out_activation == "logistic":
            eps = float(np.finfo(np.float32 if P.dtype == self.backend.xp.float32
                                 else np.float64).eps)
            P = self.backend.xp.clip(P, eps, 1.0 - eps)
        return P

    # loss and gradient -------------------------------------------------------
    def loss_grad(self, params, X, Y, sample_weight, *, noise=None, out=None):
        xp = self.backend.xp
        acts, pre, masks, z = self._forward(params, X, noise)
        P, logp = self._output(z)
        if logp is not None:
            per_sample = -xp.sum(Y * logp, axis=1)
        else:
            # log(1 + e^z) - y z, written to avoid overflow.
            softplus = xp.clip(z, min=0.0) + xp.log(1.0 + xp.exp(-xp.abs(z)))
            per_sample = xp.sum(softplus - Y * z, axis=1)
        delta = P - Y
        if sample_weight is None:
            weight = X.shape[0]
            loss_sum = xp.sum(per_sample)
        else:
            weight = xp.sum(sample_weight)
            loss_sum = xp.sum(per_sample * sample_weight)
            delta = delta * xp.reshape(sample_weight, (-1, 1))
        delta = delta / weight
        grads = [None] * (2 * self.n_layers)
        out = out or grads
        for layer in range(self.n_layers - 1, -1, -1):
            a_in = acts[layer]
            grads[2 * layer] = matmul_T(a_in, delta, xp, out=out[2 * layer])
            grads[2 * layer + 1] = sum_rows(delta, xp, out=out[2 * layer + 1])
            if layer == 0:
                break
            delta = delta @ transpose(params[2 * layer], xp)
            if masks[layer - 1] is not None:
                delta = delta * masks[layer - 1]
            delta = self._hidden_derivative(delta, pre[layer - 1])
        return loss_sum, grads

    def score(self, params, X, Y, sample_weight):
        xp = self.backend.xp
        P = self.forward_proba(params, X)
        if self.out_activation == "softmax":
            correct = xp.astype(xp.argmax(P, axis=1) == xp.argmax(Y, axis=1), P.dtype)
        else:
            correct = xp.astype(xp.all((P > 0.5) == (Y > 0.5), axis=1), P.dtype)
        if sample_weight is None:
            return float(xp.mean(correct))
        return float(xp.sum(correct * sample_weight) / xp.sum(sample_weight))

    def fitted_attributes(self, params):
        return {"coefs_": list(params[0::2]), "intercepts_": list(params[1::2])}

    def params_from_attributes(self, attributes):
        coefs, intercepts = attributes["coefs_"], attributes["intercepts_"]
        if len(coefs) != self.n_layers or len(intercepts) != self.n_layers:
            raise ValueError(
                f"coefs_ and intercepts_ hold {len(coefs)} and {len(intercepts)} layers, "
                f"but hidden_layer_sizes asks for {self.n_layers}; refit without "
                "warm_start (or partial_fit) to change the architecture."
            )
        return [p for pair in zip(coefs, intercepts) for p in pair]


def _sigmoid(z, xp):
    """The logistic function without overflow (``exp`` of ``-|z|`` only) and
    with full relative precision for small outputs."""
    e = xp.exp(-xp.abs(z))
    return xp.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _one_hot(lb, y):
    """The label indicator matrix of ``y`` as booleans, without int64 copies."""
    if lb.y_type_ == "multilabel-indicator":
        return np.asarray(y.toarray() if sp.issparse(y) else y) > 0
    classes = lb.classes_
    if len(classes) == 2:
        return (y == classes[1]).reshape(-1, 1)
    Y = np.zeros((y.shape[0], len(classes)), dtype=bool)
    Y[np.arange(y.shape[0]), np.searchsorted(classes, y)] = True
    return Y
