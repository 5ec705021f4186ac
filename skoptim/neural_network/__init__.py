"""Neural networks trained on the shared engine."""

from skoptim.neural_network._mlp import MLPClassifierPlus

__all__ = ["MLPClassifierPlus"]
