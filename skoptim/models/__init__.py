"""Models: what is trained, as parameters and passes.

A model owns its parameter layout, its forward and backward passes, which
arrays are penalized and its fitted-attribute names; a head
(:mod:`skoptim.heads`) gives the output its meaning. :class:`ModelProblem`
pairs the two for the engine.
"""

# SPDX-License-Identifier: BSD-3-Clause

from skoptim.models._linear import LinearModel, LinearProblem
from skoptim.models._mlp import MLPModel
from skoptim.models._problem import ModelProblem, weighted_mean

__all__ = ["LinearModel", "LinearProblem", "MLPModel", "ModelProblem", "weighted_mean"]
