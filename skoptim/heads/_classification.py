"""Classification heads, and what a classifier does with its labels."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import (
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import column_or_1d

from skoptim._backend import namespace_of, resolve_backend, to_numpy
from skoptim._kernels import cpu_passes
from skoptim._validation import check_class_weight, check_X_y


def sigmoid(z, xp):
    """The logistic function without overflow (``exp`` of ``-|z|`` only) and
    with full relative precision for small outputs."""
    e = xp.exp(-xp.abs(z))
    return xp.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _finfo(a, xp):
    return np.finfo(np.float32 if a.dtype == xp.float32 else np.float64)


class SoftmaxHead:
    """Cross-entropy on a softmax (multiclass) or logistic (binary, multilabel)
    output, scikit-learn's ``MLPClassifier`` head. ``Y`` is the indicator
    matrix; the derivative in the logits is ``P - Y``."""

    def __init__(self, out_activation, *, xp):
        self.out_activation, self.xp = out_activation, xp
        self._row_scale = {}  # (rows, dtype) -> the 1 / rows weights of mean_loss

    def _output(self, z):
        """Probabilities and, for softmax, log-probabilities."""
        xp = self.xp
        if self.out_activation == "softmax":
            z = z - xp.max(z, axis=1, keepdims=True)
            ez = xp.exp(z)
            s = xp.sum(ez, axis=1, keepdims=True)
            return ez / s, z - xp.log(s)
        return sigmoid(z, xp), None

    def loss(self, z, Y):
        xp = self.xp
        P, logp = self._output(z)
        if logp is not None:
            value = -xp.sum(Y * logp, axis=1)
        else:
            # log(1 + e^z) - y z, written to avoid overflow.
            softplus = xp.clip(z, min=0.0) + xp.log(1.0 + xp.exp(-xp.abs(z)))
            value = xp.sum(softplus - Y * z, axis=1)
        return value, P - Y

    def element_weights(self, Y):
        return None

    def mean_loss(self, z, Y, sample_weight):
        """``(loss_sum, dz)`` as ``weighted_mean(*self.loss(z, Y), ...)``
        gives them, in one compiled pass over ``z`` (overwritten by ``dz``)
        for a softmax on NumPy arrays; None where that pass does not run."""
        if self.out_activation != "softmax":
            return None
        sw = sample_weight
        if isinstance(Y, np.ndarray) and Y.dtype != z.dtype:
            Y = Y.astype(z.dtype)  # the indicator matrix is boolean
        passes = cpu_passes(z, Y) if sw is None else cpu_passes(z, Y, sw)
        if passes is None:
            return None
        n = z.shape[0]
        if sw is None:
            # The same batch size every batch but the last: kept.
            row_scale = self._row_scale.get((n, z.dtype))
            if row_scale is None:
                row_scale = self._row_scale[n, z.dtype] = np.full(n, 1.0 / n, dtype=z.dtype)
        else:
            row_scale = sw / np.sum(sw)
        value = np.empty(n, dtype=z.dtype)
        passes.softmax_cross_entropy(z, Y, row_scale, value)
        return (value.sum() if sw is None else np.dot(value, sw)), z

    def proba(self, z, both_classes=False):
        """Output probabilities; logistic ones are kept inside (0, 1).
        ``both_classes`` gives a binary problem's two columns, each computed
        from the logit (``1 - p`` would lose the small ones to rounding)."""
        xp = self.xp
        if both_classes:
            z = xp.concat([-z, z], axis=1)
        P = self._output(z)[0]
        if self.out_activation == "softmax":
            # Never exactly 0, so that predict_log_proba = log(predict_proba)
            # stays finite.
            return xp.clip(P, min=float(_finfo(P, xp).tiny))
        eps = float(_finfo(P, xp).eps)
        return xp.clip(P, eps, 1.0 - eps)

    def score(self, z, Y, sample_weight):
        xp = self.xp
        if self.out_activation == "softmax":
            correct = xp.argmax(z, axis=1) == xp.argmax(Y, axis=1)
        else:
            correct = xp.all((z > 0) == (Y > 0.5), axis=1)
        return _accuracy(xp.astype(correct, z.dtype), sample_weight, xp)


class MarginHead:
    """One-vs-rest margin losses of scikit-learn's ``SGDClassifier``: one
    output per class (one for two classes), targets ``Y`` in ``{-1, +1}``, all
    classes at once. Class weights weigh each element: ``pos_weight[k]`` where
    ``Y[:, k] = +1``, ``neg_weight[k]`` elsewhere."""

    def __init__(self, loss, *, xp, pos_weight=None, neg_weight=None):
        self.loss_fn, self.xp = loss, xp
        self.pos_weight, self.neg_weight = pos_weight, neg_weight
        # Class weights scale the loss, and with it its curvature.
        self.weight_max = 1.0 if pos_weight is None else float(
            max(xp.max(pos_weight), xp.max(neg_weight)))
        self.curvature = loss.curvature
        self.dloss = loss.dloss

    def loss(self, z, Y):
        return self.loss_fn.value_and_derivative(z, Y, xp=self.xp)

    def element_weights(self, Y):
        if self.pos_weight is None:
            return None
        return self.xp.where(Y > 0, self.pos_weight, self.neg_weight)

    def score(self, z, Y, sample_weight):
        """The accuracy, each row weighted by its class's weight (as in the
        training objective) and its sample weight."""
        xp = self.xp
        if z.shape[1] == 1:
            correct = (z[:, 0] > 0) == (Y[:, 0] > 0)
        else:
            correct = xp.argmax(z, axis=1) == xp.argmax(Y, axis=1)
        if self.pos_weight is not None:
            weights = self.element_weights(Y)
            row = (weights[:, 0] if z.shape[1] == 1
                   else xp.sum(xp.where(Y > 0, weights, 0.0), axis=1))
            sample_weight = row if sample_weight is None else row * sample_weight
        return _accuracy(xp.astype(correct, z.dtype), sample_weight, xp)


def _accuracy(correct, sample_weight, xp):
    if sample_weight is None:
        return float(xp.mean(correct))
    return float(xp.sum(correct * sample_weight) / xp.sum(sample_weight))


def one_hot(lb, y):
    """The label indicator matrix of ``y`` as booleans, without int64 copies."""
    if lb.y_type_ == "multilabel-indicator":
        return np.asarray(y.toarray() if sp.issparse(y) else y) > 0
    classes = lb.classes_
    if len(classes) == 2:
        return (y == classes[1]).reshape(-1, 1)
    Y = np.zeros((y.shape[0], len(classes)), dtype=bool)
    Y[np.arange(y.shape[0]), np.searchsorted(classes, y)] = True
    return Y


class ClassifierTaskMixin:
    """What every skoptim classifier does with its labels: ``classes_``, the
    label encoding of its head (``_encode_labels``), the checks of
    ``partial_fit`` and warm starts, ``class_weight`` and the labels shown to
    callbacks.

    ``_multilabel`` says whether label-indicator targets are accepted and
    ``_min_classes`` how many classes a fit needs.
    """

    _multilabel = True
    _min_classes = 1

    def _check_train_data(self, X, y, *, reset, backend, classes, incremental,
                          validation=False):
        X, y = check_X_y(self, X, y, reset=reset, backend=backend, multi_output=True,
                         y_numeric=False)
        y_host = to_numpy(y)
        # Numeric labels in one column: their target type and classes follow
        # from the distinct values (one sort), which scikit-learn's checks
        # then read instead of every label (three passes over y; these
        # checks on 10,000 labels 0.87 -> 0.64 ms).
        distinct = (np.unique(y_host) if y_host.dtype.kind in "biuf"
                    and (y_host.ndim == 1 or y_host.shape[1] == 1) else None)
        check_classification_targets(y_host if distinct is None else distinct)
        # Several label columns (the only kinds refused below) need a 2-D y:
        # a 1-D one is not read again here.
        kind = (type_of_target(y_host) if y_host.ndim == 2 and y_host.shape[1] > 1
                else None)
        if kind == "multiclass-multioutput" or (
                kind == "multilabel-indicator" and not self._multilabel):
            supported = ("a 1-D y of labels or a binary label-indicator matrix"
                         if self._multilabel else "a 1-D y of labels")
            raise ValueError(
                f"y is {kind} (several label columns), which {type(self).__name__} "
                f"does not support; pass {supported}."
            )
        if y_host.ndim == 2 and y_host.shape[1] == 1:
            y_host = column_or_1d(y_host, warn=True)
        if validation:
            self._check_validation_labels(y_host)
        elif reset or not hasattr(self, "_label_binarizer"):
            self._label_binarizer = self._fit_labels(y_host, classes, distinct=distinct)
            self.classes_ = self._label_binarizer.classes_
            if len(self.classes_) < self._min_classes:
                raise ValueError(
                    "The number of classes has to be greater than one; got "
                    f"{len(self.classes_)} class"
                )
        else:
            self._check_known_labels(y_host, incremental=incremental)
        return X, self._encode_labels(one_hot(self._label_binarizer, y_host), X, backend)

    def _check_partial_fit_classes(self, classes):
        """``classes`` is required on the first ``partial_fit`` and may not
        change later (scikit-learn's rule and messages)."""
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

    def _fit_labels(self, y, classes, distinct=None):
        """The label binarizer of ``y`` (``classes`` its classes where
        given); ``distinct`` the sorted distinct values of numeric labels in
        one column, which give the same binarizer."""
        lb = LabelBinarizer()
        if classes is None and distinct is not None:
            return lb.fit(distinct)
        if classes is not None and type_of_target(y) != "multilabel-indicator":
            lb.fit(np.asarray(classes))
            if not np.all(np.isin(np.unique(y), lb.classes_)):
                raise ValueError(
                    f"`y` has classes not in `classes`: "
                    f"{np.setdiff1d(np.unique(y), lb.classes_)}."
                )
        else:
            lb.fit(y)
        return lb

    def _check_known_labels(self, y, *, incremental):
        lb = self._label_binarizer
        if lb.y_type_ == "multilabel-indicator":
            if y.ndim != 2 or y.shape[1] != len(lb.classes_):
                raise ValueError(
                    f"y has {y.shape} labels; the model was fitted with "
                    f"{len(lb.classes_)} outputs."
                )
        elif self.warm_start and not incremental:
            labels = unique_labels(y)
            if set(labels) != set(lb.classes_):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes as "
                    f"in the previous call to fit. Previously got {lb.classes_}, "
                    f"`y` has {labels}"
                )
        else:
            unknown = np.setdiff1d(np.unique(y), lb.classes_)
            if unknown.size:
                raise ValueError(
                    "`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{lb.classes_}. 'y' has {np.unique(y)}."
                )

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

    # Whether 'balanced' counts sample weights (scikit-learn's MLP way) or rows
    # (its SGD way).
    _balanced_counts_sample_weight = True

    # Whether the head applies the classes' weights itself (one-vs-rest
    # weights per element) instead of the sample weights carrying them.
    _class_weights_in_head = False

    def _adjust_sample_weight(self, Y, sample_weight, backend, *, incremental):
        """Fold the classes' weights into the sample weights."""
        weights, idx = self._class_weights(Y, sample_weight, incremental=incremental)
        if weights is None or self._class_weights_in_head:
            return sample_weight
        per_sample = weights[idx]
        if sample_weight is not None:
            # 'balanced' gives a class whose rows all weigh 0 an infinite
            # weight; those rows stay at 0.
            sw_host = np.asarray(to_numpy(sample_weight))
            with np.errstate(invalid="ignore"):
                per_sample = np.where(sw_host > 0, per_sample * sw_host, 0.0)
        return backend.asarray(per_sample)

    def _class_weights(self, Y, sample_weight, *, incremental):
        """``(classes' weights, each row's class index)`` for ``class_weight``
        (None when unset)."""
        cw = check_class_weight(self.class_weight, incremental=incremental)
        if cw is None:
            return None, None
        lb = self._label_binarizer
        if lb.y_type_ == "multilabel-indicator":
            raise ValueError("class_weight is not supported for multilabel targets.")
        Y = np.asarray(to_numpy(Y))
        if len(lb.classes_) == 1:
            idx = np.zeros(Y.shape[0], dtype=np.intp)
        else:
            idx = Y.argmax(axis=1) if Y.shape[1] > 1 else (Y[:, 0] > 0).astype(int)
        sw_host = None if sample_weight is None else np.asarray(to_numpy(sample_weight))
        weights = compute_class_weight(
            cw, classes=lb.classes_, y=lb.classes_[idx],
            sample_weight=sw_host if self._balanced_counts_sample_weight else None)
        return weights, idx

    def _callback_target(self, Y):
        backend = resolve_backend(Y)
        Y = np.asarray(to_numpy(Y))
        labels = self._label_binarizer.inverse_transform(Y > 0 if Y.dtype != bool else Y)
        return labels if backend.is_numpy or labels.dtype.kind not in "biuf" else \
            backend.move(labels)

    @property
    def _stratify_validation(self):
        return self._label_binarizer.y_type_ != "multilabel-indicator"

    def _labels(self, idx):
        """``classes_[idx]`` for class indices on any namespace (labels that
        are not numbers come back as NumPy)."""
        xp = namespace_of(idx)
        classes = self.classes_
        if xp is np:
            return classes[idx]
        if classes.dtype.kind in "biuf":
            return xp.take(xp.asarray(classes, device=idx.device), idx, axis=0)
        return classes[to_numpy(idx)]
