"""Quality next to scikit-learn: each Plus estimator against its counterpart
with the same hyperparameters, on scikit-learn's data sets (scaled), mean test
score over 5 seeds.

Run from the repository root::

    python benchmarks/bench_quality.py            # the table
    python benchmarks/bench_quality.py --save     # also write benchmarks/results/

Scores are accuracy (classifiers) and R² (regressors) on a held-out quarter;
the seed sets ``random_state`` of the split and of both estimators. The
tolerance of issue #10 is 1 point of accuracy and 0.01 of R²; rows marked
``*`` are the ones tests/test_quality.py holds to it.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, make_friedman1
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

from skoptim import MLPClassifierPlus, MLPRegressorPlus, SGDClassifierPlus, SGDRegressorPlus

SEEDS = range(5)
TOLERANCE = {"accuracy": 0.01, "R2": 0.01}


def _friedman():
    return make_friedman1(n_samples=2000, noise=1.0, random_state=0)


DATASETS = {
    "digits": (lambda: load_digits(return_X_y=True), "accuracy"),
    "breast_cancer": (lambda: load_breast_cancer(return_X_y=True), "accuracy"),
    "diabetes": (lambda: load_diabetes(return_X_y=True), "R2"),
    "friedman1": (_friedman, "R2"),
}

# (ours, theirs, data sets, configurations, more configurations): the
# configurations are scikit-learn parameters, given to both. The first list
# (three or four solvers or losses per estimator) is what issue #10 asks to be within
# tolerance, and tests/test_quality.py checks it on the first data set; the
# second list is measured and reported too.
CASES = [
    (SGDClassifierPlus, SGDClassifier, ["digits", "breast_cancer"],
     [{}, {"loss": "log_loss"}, {"loss": "modified_huber"},
      # Small data counts samples; the capped step's decay counts updates
      # (counted in samples it under-fit by 3.7 points here).
      {"learning_rate": "invscaling", "eta0": 0.01}], []),
    (SGDRegressorPlus, SGDRegressor, ["friedman1", "diabetes"],
     [{}, {"loss": "huber"}, {"learning_rate": "constant", "eta0": 0.001}],
     [{"penalty": "l1", "alpha": 0.01}]),
    (MLPClassifierPlus, MLPClassifier, ["digits", "breast_cancer"],
     [{"solver": "adam"}, {"solver": "sgd", "learning_rate_init": 0.01},
      {"solver": "lbfgs"}], []),
    (MLPRegressorPlus, MLPRegressor, ["friedman1", "diabetes"],
     [{"solver": "adam", "learning_rate_init": 0.01, "max_iter": 500},
      {"solver": "sgd", "learning_rate_init": 0.01, "max_iter": 500},
      {"solver": "lbfgs", "max_iter": 500}], []),
]
MLP_SIZE = {"hidden_layer_sizes": (32,)}


def split(name, seed):
    X, y = DATASETS[name][0]()
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=seed)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    if DATASETS[name][1] == "R2":  # targets scaled too (scikit-learn's SGD needs it)
        mean, std = y_train.mean(), y_train.std()
        y_train, y_test = (y_train - mean) / std, (y_test - mean) / std
    return X_train, X_test, y_train, y_test


def mean_score(cls, params, name):
    scores, seconds = [], 0.0
    for seed in SEEDS:
        X_train, X_test, y_train, y_test = split(name, seed)
        est = cls(random_state=seed, **params)
        start = time.perf_counter()
        est.fit(X_train, y_train)
        seconds += time.perf_counter() - start
        scores.append(est.score(X_test, y_test))
    return float(np.mean(scores)), seconds / len(SEEDS)


def cases(checked_only=False):
    """``(ours, theirs, data set, parameters, checked)`` for every comparison;
    ``checked`` marks those tests/test_quality.py holds to the tolerance."""
    for ours, theirs, names, configs, more in CASES:
        for i, name in enumerate(names):
            for j, config in enumerate(configs + more):
                checked = i == 0 and j < len(configs)
                if checked_only and not checked:
                    continue
                params = dict(config)
                if ours in (MLPClassifierPlus, MLPRegressorPlus):
                    params = {**MLP_SIZE, **params}
                yield ours, theirs, name, params, checked


def compare(ours, theirs, name, params):
    """``(ours, theirs, metric)``: mean scores and fit seconds of both."""
    return mean_score(ours, params, name), mean_score(theirs, params, name), \
        DATASETS[name][1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    if __package__ in (None, ""):
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks._common import add_save_argument, machine_description, save_results

    add_save_argument(parser)
    args = parser.parse_args()

    lines = [*(f"# {line}" for line in machine_description()),
             f"# mean test score over seeds {list(SEEDS)}; * = held to the tolerance "
             "by tests/test_quality.py",
             f"{'estimator':<19} {'data':<14} {'configuration':<44} {'ours':>7} "
             f"{'sklearn':>7} {'diff':>7} {'ok':>4} {'s/fit':>6} {'sk s/fit':>8}"]
    print("\n".join(lines), flush=True)
    for est, ref, name, params, checked in cases():
        (ours, t_ours), (theirs, t_theirs), metric = compare(est, ref, name, params)
        diff = ours - theirs
        ok = ("yes" if diff >= -TOLERANCE[metric] else "NO") + ("*" if checked else " ")
        config = {k: v for k, v in params.items() if k not in MLP_SIZE}
        line = (f"{est.__name__:<19} {name:<14} {str(config):<44} {ours:7.4f} "
                f"{theirs:7.4f} {diff:+7.4f} {ok:>4} {t_ours:6.3f} {t_theirs:8.3f}")
        print(line, flush=True)
        lines.append(line)
    save_results(args, "bench_quality.txt", "\n".join(lines) + "\n")


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        main()
