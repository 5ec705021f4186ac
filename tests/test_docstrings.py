"""Docstrings: shared parameters read the same, and every parameter is documented."""

import inspect

import pytest
from sklearn.externals._numpydoc.docscrape import ClassDoc

import skoptim.optim
from skoptim import MLPClassifierPlus, MLPRegressorPlus, SGDClassifierPlus, SGDRegressorPlus

ESTIMATORS = [SGDRegressorPlus, SGDClassifierPlus, MLPClassifierPlus, MLPRegressorPlus]
# Parameters whose meaning is the same in every estimator (STYLE section 5):
# their descriptions must be identical so that the copies cannot drift.
SHARED_VERBATIM = ["device", "warm_start"]
PUBLIC_CLASSES = ESTIMATORS + [
    getattr(skoptim.optim, name) for name in skoptim.optim.__all__
    if inspect.isclass(getattr(skoptim.optim, name))
    and name not in ("Clock", "Optimizer", "Schedule")
]


def _params(cls):
    return {p.name: " ".join(p.desc) for p in ClassDoc(cls)["Parameters"]}


@pytest.mark.parametrize("name", SHARED_VERBATIM)
def test_shared_parameter_descriptions_are_identical(name):
    descriptions = {cls.__name__: _params(cls)[name] for cls in ESTIMATORS}
    assert len(set(descriptions.values())) == 1, descriptions


@pytest.mark.parametrize("cls", PUBLIC_CLASSES, ids=lambda c: c.__name__)
def test_every_init_parameter_is_documented_in_order(cls):
    # scikit-learn's own reading of the constructor (sorted) against the
    # documented names, then the order of the signature.
    names = cls._get_param_names()
    documented = list(_params(cls))
    assert sorted(documented) == names
    signature = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    if names:
        assert documented == signature
