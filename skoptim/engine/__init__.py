"""The engine: *how* every skoptim estimator is trained.

- :mod:`._problem`: the hooks an estimator's problem supplies (what is trained);
- :mod:`._loop`: the epoch loop, its configuration and the training state;
- :mod:`._data`: the validation split, batch order and row gathering;
- :mod:`._step`: the parameter buffer and one optimizer step;
- :mod:`._monitor`: loss, divergence, best weights, callbacks and stopping;
- :mod:`._lbfgs`: full-batch L-BFGS on the same problem.
"""

# SPDX-License-Identifier: BSD-3-Clause

from skoptim.engine._data import take, validation_split
from skoptim.engine._lbfgs import train_lbfgs
from skoptim.engine._loop import TrainConfig, TrainingState, train
from skoptim.engine._monitor import Callbacks, DivergenceError, EpochReport, FitResult
from skoptim.engine._problem import Problem
from skoptim.engine._step import FlatParams, StepRule

__all__ = [
    "Callbacks",
    "DivergenceError",
    "EpochReport",
    "FitResult",
    "FlatParams",
    "Problem",
    "StepRule",
    "TrainConfig",
    "TrainingState",
    "take",
    "train",
    "train_lbfgs",
    "validation_split",
]
