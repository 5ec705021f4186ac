"""Neural networks trained by stochastic optimization."""

# SPDX-License-Identifier: BSD-3-Clause

from skoptim.neural_network._mlp import MLPClassifierPlus
from skoptim.neural_network._mlp_regressor import MLPRegressorPlus

__all__ = ["MLPClassifierPlus", "MLPRegressorPlus"]
