"""Shared fixtures of the skoptim tests: datasets and state snapshots.

Every dataset fixture returns read-only arrays, so a test that lets an
estimator write into its input fails loudly instead of corrupting the data of
the tests that follow. ``snapshot`` records an estimator's attributes to check
that a failed or interrupted fit left them exactly as they were.
"""

import os

# SciPy reads this once, at import: set it before anything imports SciPy so
# that scikit-learn's array-API checks run (issue #4).
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import copy
import dataclasses
import math

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.datasets import load_diabetes, make_regression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skoptim._backend import cuda_available


def _read_only(*arrays):
    out = []
    for a in arrays:
        a = np.array(a, copy=True)
        a.setflags(write=False)
        out.append(a)
    return tuple(out)


@pytest.fixture(scope="session")
def diabetes_split():
    """sklearn's diabetes data, standardized, split with ``random_state=0``.

    Returns ``(X_train, X_test, y_train, y_test)``; the target is ~150 in scale.
    """
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return _read_only(*train_test_split(X, y, random_state=0))


@pytest.fixture(scope="session")
def synthetic_split():
    """``make_regression(25000, 50, noise=10, random_state=0)``: 20k train, 5k test.

    Returns ``(X_train, X_test, y_train, y_test)``.
    """
    X, y = make_regression(25000, 50, noise=10, random_state=0)
    return _read_only(X[:20000], X[20000:], y[:20000], y[20000:])


@pytest.fixture(scope="session")
def regression_data():
    """A small standardized linear problem: 200 x 5, low noise. ``(X, y)``."""
    X, y = make_regression(200, 5, noise=1.0, random_state=0)
    X = StandardScaler().fit_transform(X)
    return _read_only(X, y)


@pytest.fixture(scope="session")
def sparse_coef_data():
    """300 x 10 standardized data where only 3 features matter. ``(X, y)``."""
    X, y = make_regression(300, 10, n_informative=3, noise=1.0, random_state=0)
    X = StandardScaler().fit_transform(X)
    return _read_only(X, y)


# Attributes that sklearn's callback machinery owns; a callback may change its
# own state during a fit, so they are not part of an estimator's fitted state.
_CALLBACK_KEYS = {"_skl_callbacks", "_callback_fit_ctx", "_skl_callbacks_to_teardown",
                  "_parent_callback_ctx"}


def _assert_tree_equal(a, b, path):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray), path
        assert a.dtype == b.dtype, path
        np.testing.assert_array_equal(a, b, err_msg=path)
    elif sp.issparse(a) or sp.issparse(b):
        assert sp.issparse(a) and sp.issparse(b), path
        np.testing.assert_array_equal(a.toarray(), b.toarray(), err_msg=path)
    elif isinstance(a, BaseEstimator):
        assert type(a) is type(b), path
        assert a.get_params() == b.get_params(), path
    elif dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), path
        for f in dataclasses.fields(a):
            _assert_tree_equal(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for k in a:
            _assert_tree_equal(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), path
        for i, (u, v) in enumerate(zip(a, b)):
            _assert_tree_equal(u, v, f"{path}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), path
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


class StateSnapshot:
    """A deep copy of an estimator's attributes, to check later that nothing changed."""

    def __init__(self, estimator):
        self.attributes = copy.deepcopy(
            {k: v for k, v in vars(estimator).items() if k not in _CALLBACK_KEYS}
        )

    def assert_unchanged(self, estimator):
        now = {k: v for k, v in vars(estimator).items() if k not in _CALLBACK_KEYS}
        assert now.keys() == self.attributes.keys()
        for name in now:
            _assert_tree_equal(self.attributes[name], now[name], name)


@pytest.fixture
def snapshot():
    """``snapshot(est)`` records ``vars(est)``; ``.assert_unchanged(est)`` compares."""
    return StateSnapshot


def pytest_collection_modifyitems(config, items):
    """scikit-learn's array-API checks skip CuPy when it is not installed, but
    run (and fail) where CuPy is installed without a usable GPU: skip those
    too, for the same reason."""
    cupy_items = [item for item in items if "array_namespace=cupy" in item.name]
    if cupy_items and not cuda_available():
        skip = pytest.mark.skip(reason="CuPy is installed but finds no CUDA device")
        for item in cupy_items:
            item.add_marker(skip)


_SUITE_COUNTS = pytest.StashKey[list]()


@pytest.fixture
def suite_counts(request):
    """A list whose lines are printed in the terminal summary: the counts of
    scikit-learn's own test files run against the Plus classes (issue #8)."""
    return request.config.stash.setdefault(_SUITE_COUNTS, [])


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    lines = config.stash.get(_SUITE_COUNTS, [])
    if lines:
        terminalreporter.section("scikit-learn's own tests with the Plus classes")
        for line in lines:
            terminalreporter.write_line(line)
