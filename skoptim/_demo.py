"""``python -m skoptim demo``: each Plus estimator next to its scikit-learn
counterpart on data that ships with scikit-learn, then with what skoptim adds,
and a grid search over optimizers and schedules."""

# SPDX-License-Identifier: BSD-3-Clause

import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np


@dataclass
class Row:
    """One line of the demo's table."""

    data: str
    estimator: str
    settings: str
    score: float
    metric: str
    seconds: float
    epochs: object
    nonzero: str


def _datasets():
    from sklearn.datasets import (
        load_breast_cancer,
        load_diabetes,
        load_digits,
        make_friedman1,
    )
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    out = {}
    for name, (X, y), regression in [
        ("digits", load_digits(return_X_y=True), False),
        ("breast cancer", load_breast_cancer(return_X_y=True), False),
        ("diabetes", load_diabetes(return_X_y=True), True),
        ("friedman #1", make_friedman1(n_samples=2000, noise=1.0, random_state=0), True),
    ]:
        X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        if regression:  # scikit-learn's SGD needs scaled targets too
            mean, std = y_train.mean(), y_train.std()
            y_train, y_test = (y_train - mean) / std, (y_test - mean) / std
        out[name] = (X_train, X_test, y_train, y_test)
    return out


def _nonzero(est):
    coefs = getattr(est, "coefs_", None)
    coefs = coefs if coefs is not None else [est.coef_]
    total = sum(int(np.size(c)) for c in coefs)
    return f"{sum(int(np.count_nonzero(c)) for c in coefs)}/{total}"


def _cases():
    """``(data, label, estimator, settings)`` in the order they run."""
    from sklearn.linear_model import SGDClassifier, SGDRegressor
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    from skoptim import MLPClassifierPlus, MLPRegressorPlus, SGDClassifierPlus, SGDRegressorPlus

    same = "same settings as scikit-learn's"
    mlp = {"hidden_layer_sizes": (64,), "max_iter": 100, "random_state": 0}
    return [
        ("digits", "sklearn MLPClassifier", MLPClassifier(**mlp), "adam, hidden (64,)"),
        ("digits", "MLPClassifierPlus", MLPClassifierPlus(**mlp), same),
        ("digits", "MLPClassifierPlus",
         MLPClassifierPlus(hidden_layer_sizes=(128, 64), solver="adamw",
                           learning_rate="cosine", learning_rate_init=0.005,
                           dropout=(0.2, 0.1), max_iter=40, random_state=0),
         "AdamW, cosine schedule, per-layer dropout (0.2, 0.1), 40 epochs"),
        ("breast cancer", "sklearn SGDClassifier", SGDClassifier(random_state=0),
         "hinge, defaults"),
        ("breast cancer", "SGDClassifierPlus", SGDClassifierPlus(random_state=0), same),
        ("breast cancer", "SGDClassifierPlus",
         SGDClassifierPlus(loss="log_loss", penalty="l1", alpha=0.01, random_state=0),
         "log loss, L1 (alpha=0.01): sparse weights"),
        ("diabetes", "sklearn SGDRegressor", SGDRegressor(random_state=0), "defaults"),
        ("diabetes", "SGDRegressorPlus", SGDRegressorPlus(random_state=0), same),
        ("diabetes", "SGDRegressorPlus",
         SGDRegressorPlus(penalty="l1", alpha=0.05, random_state=0),
         "L1 (alpha=0.05): sparse weights"),
        ("friedman #1", "sklearn MLPRegressor",
         MLPRegressor(learning_rate_init=0.01, **mlp), "adam, hidden (64,), lr 0.01"),
        ("friedman #1", "MLPRegressorPlus",
         MLPRegressorPlus(learning_rate_init=0.01, **mlp), same),
        ("friedman #1", "MLPRegressorPlus",
         MLPRegressorPlus(hidden_layer_sizes=(64,), solver="adamw", learning_rate="cosine",
                          learning_rate_init=0.01, early_stopping=True, max_iter=100,
                          random_state=0),
         "AdamW, cosine, early stopping (best epoch restored)"),
    ]


def _grid_search(data, progress):
    """A small grid over optimizers, a nested optimizer parameter and schedules."""
    from sklearn.model_selection import GridSearchCV

    from skoptim import SGDRegressorPlus
    from skoptim.optim import Adam, AdamW

    X_train, X_test, y_train, y_test = data
    grid = {"solver": [Adam(), AdamW(weight_decay=0.01)], "solver__beta_1": [0.8, 0.9],
            "learning_rate": ["constant", "cosine"]}
    search = GridSearchCV(SGDRegressorPlus(eta0=0.05, random_state=0), grid, cv=3)
    progress("grid search: 2 optimizers x 2 values of solver__beta_1 x 2 schedules, "
             "3-fold")
    start = time.perf_counter()
    search.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    best = {k: (type(v).__name__ if hasattr(v, "get_params") else v)
            for k, v in search.best_params_.items()}
    return Row("diabetes", "GridSearchCV(SGDRegressorPlus)", f"best: {best}",
               search.score(X_test, y_test), "R2", seconds, "-", "-")


def _format(rows):
    head = ["data", "estimator", "settings", "test score", "fit s", "epochs",
            "non-zero weights"]
    body = [[r.data, r.estimator, r.settings, f"{r.score:.3f} {r.metric}",
             f"{r.seconds:.2f}", str(r.epochs), r.nonzero] for r in rows]
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    line = "  ".join("-" * w for w in widths)
    fmt = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([fmt(head), line, *(fmt(b) for b in body)])


def _figure(fitted, path):
    """Loss curves of the fitted estimators, one panel per data set; the
    file written, or a message when matplotlib is absent."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return ('matplotlib is not installed: no figure (pip install "skoptim[plot]" '
                "to get one)")
    from skoptim.plotting import LossCurveDisplay

    names = list(dict.fromkeys(data for data, _, _ in fitted))
    fig, axes = plt.subplots(2, (len(names) + 1) // 2, figsize=(13, 8))
    for ax, name in zip(np.ravel(axes), names):
        for data, label, est in fitted:
            if data == name and hasattr(est, "loss_curve_"):
                LossCurveDisplay(list(est.loss_curve_), None, label).plot(ax=ax)
        ax.set_title(f"{name}: training loss per epoch")
        ax.set_yscale("log")
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return f"loss curves written to {path}"


def run_demo(figure="skoptim_demo.png", stream=sys.stdout):
    """Run the demo; print progress and the table to ``stream``. Returns the rows."""
    from sklearn.exceptions import ConvergenceWarning

    def progress(message):
        print(message, file=stream, flush=True)

    data = _datasets()
    cases = _cases()
    rows, fitted = [], []
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for i, (name, label, est, settings) in enumerate(cases, 1):
            progress(f"[{i}/{len(cases) + 1}] {name}: {label} ({settings})")
            X_train, X_test, y_train, y_test = data[name]
            t0 = time.perf_counter()
            est.fit(X_train, y_train)
            seconds = time.perf_counter() - t0
            metric = "R2" if name in ("diabetes", "friedman #1") else "accuracy"
            rows.append(Row(name, label, settings, est.score(X_test, y_test), metric,
                            seconds, getattr(est, "n_iter_", "-"), _nonzero(est)))
            short = settings if len(settings) <= 30 else settings[:29] + "…"
            fitted.append((name, f"{label} ({short})", est))
        progress(f"[{len(cases) + 1}/{len(cases) + 1}] diabetes: grid search")
        rows.append(_grid_search(data["diabetes"], progress))
    progress("")
    progress(_format(rows))
    progress("")
    if figure:
        progress(_figure(fitted, figure))
    progress(f"total time: {time.perf_counter() - start:.1f} s")
    return rows
