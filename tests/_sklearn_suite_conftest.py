"""conftest.py of a copy of scikit-learn's own test files (issue #8).

``tests/test_sklearn_suite.py`` copies a test file of the installed
scikit-learn into a temporary directory, puts this file beside it as
``conftest.py`` and runs pytest there in a subprocess with scikit-learn's own
conftest as a plugin (``-p sklearn.conftest``, for ``global_random_seed`` and
the like). Importing this module rebinds the scikit-learn names listed in
``SKOPTIM_SUITE_TARGETS`` to skoptim's classes *before* pytest imports the test
module, so ``from sklearn.neural_network import MLPClassifier``,
``linear_model.SGDRegressor(...)`` and the test files' own helpers and
subclasses all build skoptim estimators.

Environment:

``SKOPTIM_SUITE_TARGETS``
    ``module:Name=skoptim.Class`` pairs separated by commas.
``SKOPTIM_SUITE_DEFAULTS``
    JSON of constructor defaults to override (``{"batch_size": 1}`` runs the
    exact per-sample mode); empty for the defaults.
``SKOPTIM_SUITE_REPORT``
    Where to write the JSON report: one record per test that involves a
    substituted class (its outcome and, on failure, the error's last line).
"""

import copyreg
import importlib
import inspect
import json
import os

import pytest

_TARGETS = []  # (sklearn module, sklearn name, suite class)
_created = [0]  # estimators of a substituted class built so far


def _suite_class(base, defaults):
    """A subclass of ``base`` that counts its instances and, where asked,
    changes constructor defaults (visible to ``get_params``/``clone``)."""
    init = base.__init__
    sig = inspect.signature(init)
    params = [p.replace(default=defaults[p.name]) if p.name in defaults else p
              for p in sig.parameters.values()]

    def __init__(self, *args, **kwargs):
        for name, value in defaults.items():
            kwargs.setdefault(name, value)
        _created[0] += 1
        init(self, *args, **kwargs)

    __init__.__signature__ = sig.replace(parameters=params)
    cls = type(base.__name__, (base,), {"__init__": __init__,
                                        "__module__": base.__module__,
                                        "__doc__": base.__doc__})
    # Pickled (the tests pickle estimators, also to worker processes that
    # never import this file), an instance is one of ``base`` with the same
    # parameters: its defaults are stored on it.
    cls.__reduce_ex__ = lambda self, protocol: (
        copyreg._reconstructor, (base, object, None), self.__getstate__())
    return cls


def _install():
    defaults = json.loads(os.environ.get("SKOPTIM_SUITE_DEFAULTS") or "{}")
    for pair in filter(None, os.environ.get("SKOPTIM_SUITE_TARGETS", "").split(",")):
        target, ours = pair.split("=")
        module_name, name = target.split(":")
        our_module, our_name = ours.rsplit(".", 1)
        cls = _suite_class(getattr(importlib.import_module(our_module), our_name),
                           defaults)
        module = importlib.import_module(module_name)
        setattr(module, name, cls)
        _TARGETS.append((module_name, name, cls))


_install()
_NAMES = tuple(name for _, name, _ in _TARGETS)


def _mentions_target(item):
    """Whether a test may involve a substituted class: one of its parameters
    is (or is named after, or builds) one, or its source names one."""
    callspec = getattr(item, "callspec", None)
    estimator_params = []
    if callspec is not None:
        for value in callspec.params.values():
            name = getattr(value, "__name__", None)
            if isinstance(value, type) or callable(value) and name and name[0].isupper():
                estimator_params.append(value)
    if estimator_params:
        # Parametrized over estimators: only the substituted ones count.
        return any(any(n in getattr(v, "__name__", "") for n in _NAMES)
                   or (isinstance(v, type) and issubclass(v, tuple(c for *_, c in _TARGETS)))
                   for v in estimator_params)
    try:
        source = inspect.getsource(item.function)
    except (OSError, TypeError):
        return False
    return any(n in source for n in _NAMES)


def pytest_collection_modifyitems(config, items):
    keep = [item for item in items if _mentions_target(item)]
    dropped = [item for item in items if item not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep


_records = {}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    before = _created[0]
    result = yield
    record = _records.setdefault(item.nodeid, {})
    record["involved"] = _created[0] > before
    return result


def pytest_runtest_logreport(report):
    record = _records.setdefault(report.nodeid, {"outcome": "passed"})
    if report.when == "call" or report.failed or report.skipped:
        if report.failed:
            record["outcome"] = "failed"
            crash = getattr(report.longrepr, "reprcrash", None)
            record["message"] = (crash.message if crash is not None
                                 else str(report.longrepr))[-400:]
        elif report.skipped and record.get("outcome") != "failed":
            record["outcome"] = "skipped"
        elif record.get("outcome") not in ("failed", "skipped"):
            record["outcome"] = "passed"


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("SKOPTIM_SUITE_REPORT")
    if path:
        with open(path, "w") as f:
            json.dump(_records, f, indent=1, sort_keys=True)
