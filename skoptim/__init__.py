"""skoptim: scikit-learn estimators trained with modern optimization techniques.

Optimizers (SGD, momentum, Nesterov, Adagrad, RMSprop, Adam, AdamW, Nadam,
Lion), learning-rate schedules, L1/L2/elastic-net, dropout and early stopping
inside estimators that behave like scikit-learn's own. Importing skoptim never
imports CuPy or PyTorch.
"""

# SPDX-License-Identifier: BSD-3-Clause

from skoptim import optim
from skoptim._backend import move_to
from skoptim.engine import DivergenceError
from skoptim.linear_model import SGDClassifierPlus, SGDRegressorPlus
from skoptim.neural_network import MLPClassifierPlus, MLPRegressorPlus

__version__ = "0.1.0.dev0"

__all__ = [
    "DivergenceError",
    "MLPClassifierPlus",
    "MLPRegressorPlus",
    "SGDClassifierPlus",
    "SGDRegressorPlus",
    "__version__",
    "move_to",
    "optim",
]
