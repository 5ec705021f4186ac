"""scikit-learn's one-vs-rest ``SGDClassifier`` as the exact mode replays it.

scikit-learn fits one binary problem per class (one for two classes), each a
per-sample SGD run of :func:`~skoptim.linear_model._exact.fit_exact`. What
couples them is replayed here: the order of the random draws (the validation
split once, then one seed per class), the class weights of each problem, the
counters of the whole fit, and the bookkeeping of the two intercept arrays of
averaged SGD across ``partial_fit`` calls.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from sklearn.utils import check_random_state

from skoptim.linear_model._exact import classifier_validation_mask

_MAX_INT = np.iinfo(np.int32).max


def ovr_jobs(classes, Y, sw, *, weights, random_state, early_stopping,
             validation_fraction):
    """The keyword arguments of ``fit_exact`` for each problem (``y`` included).

    ``Y`` holds the ±1 targets, one column per problem; ``weights`` the
    classes' weights (None: all 1). A binary problem weighs each class with
    its own weight; problem ``k`` of several weighs class ``k`` against 1.
    """
    weights = np.ones(len(classes)) if weights is None else weights
    common = {"classification": True}
    if Y.shape[1] == 1:
        return [{"y": Y[:, 0], "random_state": random_state,
                 "weight_pos": float(weights[1]), "weight_neg": float(weights[0]),
                 **common}]
    mask = None
    if early_stopping:
        mask = classifier_validation_mask(classes[Y.argmax(axis=1)], sw,
                                          validation_fraction, random_state)
    seeds = check_random_state(random_state).randint(_MAX_INT, size=Y.shape[1])
    return [{"y": Y[:, i], "random_state": int(seed), "validation_mask": mask,
             "weight_pos": float(weights[i]), "weight_neg": 1.0, **common}
            for i, seed in enumerate(seeds)]


def ovr_t(results, *, t_start, n_samples):
    """scikit-learn's ``t_`` after the call: a binary problem's own, or the
    longest problem's epochs counted over all rows."""
    if len(results) == 1:
        return results[0].t
    return t_start + max(r.n_iter for r in results) * n_samples


def _scalar(value):
    return float(np.asarray(value).reshape(-1)[0])


class InterceptViews:
    """scikit-learn's two intercept arrays of averaged SGD.

    ``SGDClassifier`` keeps a standard (``S``) and an averaged (``A``)
    intercept array; ``intercept_`` *is* one of them, and a multiclass fit
    writes each problem's standard intercept into whichever that is, which
    can make the two one array. The next ``partial_fit`` starts from ``S``,
    which is stale after a call that showed the averaged weights. Replaying
    this keeps the exact mode's continuation equal to scikit-learn's.

    Parameters
    ----------
    previous : dict or None
        :meth:`state` of the last call (None: a new fit).
    intercepts : ndarray of shape (n_problems,)
        The starting intercepts of a new fit.
    """

    def __init__(self, previous, intercepts):
        if previous is not None:
            self.S, self.A = previous["S"].copy(), previous["A"].copy()
            self.shown, self.same = previous["shown"], previous["same"]
        else:
            self.S = np.array(intercepts, dtype=np.float64)
            self.A = np.zeros(len(intercepts))
            self.shown, self.same = "S", False

    def starts(self, standard):
        """Each problem's averaged state with the intercepts scikit-learn reads."""
        return [dict(s, standard_intercept=self.S[j:j + 1].copy(),
                     average_intercept=self.A[j:j + 1].copy())
                for j, s in enumerate(standard)]

    def update(self, results, *, averaged):
        """Record a call whose results show the averaged weights or not."""
        for j, r in enumerate(results):  # each problem stores its average
            self.A[j] = _scalar(r.standard["average_intercept"])
            if self.same:
                self.S[j] = self.A[j]
        standard = [_scalar(r.standard["standard_intercept"]) for r in results]
        if len(results) == 1:
            if averaged:
                self.shown = "A"
            else:
                self.S, self.shown, self.same = np.array(standard), "S", False
            return
        # The standard intercepts go into whichever array intercept_ is, which
        # then becomes the standard one unless the averaged weights are shown.
        target = self.S if self.shown == "S" else self.A
        target[:] = standard
        if self.same:
            self.S[:] = self.A[:] = target
        if averaged:
            self.shown = "A"
        elif self.shown == "A":
            self.S, self.same, self.shown = self.A, True, "S"

    def state(self):
        return {"S": self.S, "A": self.A, "shown": self.shown, "same": self.same}


def ovr_weights(results, X, *, t, average, views):
    """``(coef, intercept)`` as ``SGDClassifier`` exposes them."""
    if len(results) == 1:
        r = results[0]
        averaged = 0 < float(average) <= r.t - 1
        # scikit-learn keeps a binary fit's plain intercept in float64.
        intercept = r.intercept if averaged else r.intercept_double
        return r.coef[None, :], np.asarray(intercept).reshape(1)
    if average and results[0].standard is not None:
        # One side for every class, chosen by the whole fit's t_.
        side = "average" if float(average) <= t - 1 else "standard"
        coef = np.stack([r.standard[f"{side}_coef"] for r in results])
        intercept = views.A if side == "average" else views.S
        return coef.astype(X.dtype, copy=False), intercept.astype(X.dtype)
    coef = np.stack([r.coef for r in results]).astype(X.dtype, copy=False)
    intercept = np.concatenate([np.asarray(r.intercept).reshape(1) for r in results])
    return coef, intercept.astype(X.dtype, copy=False)
