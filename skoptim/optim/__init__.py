"""Optimizers and learning-rate schedules shared by every skoptim estimator.

Optimizers (``solver=``) turn gradients into steps; schedules
(``learning_rate=``) turn the base rate and the training clock into the rate
of the next step. Both are small parameter objects with ``get_params`` and
``set_params``, so nested tuning such as ``solver__beta_1`` works; the state
they evolve (moments, step counts, plateau counters) is kept by the training
engine. Strings are shorthand for the objects: see :data:`OPTIMIZERS` and
:data:`SCHEDULES`.
"""

# SPDX-License-Identifier: BSD-3-Clause

from ._base import Clock, Optimizer, Schedule
from ._optimizers import (
    OPTIMIZERS,
    SGD,
    Adagrad,
    Adam,
    AdamW,
    Lion,
    Momentum,
    Nadam,
    RMSprop,
    resolve_optimizer,
)
from ._schedules import (
    SCHEDULES,
    Adaptive,
    Constant,
    CosineDecay,
    ExponentialDecay,
    InverseTimeDecay,
    InvScaling,
    Optimal,
    ReduceOnPlateau,
    StepDecay,
    optimal_t0,
    resolve_schedule,
)

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adaptive",
    "Clock",
    "Constant",
    "CosineDecay",
    "ExponentialDecay",
    "InvScaling",
    "InverseTimeDecay",
    "Lion",
    "Momentum",
    "Nadam",
    "Optimal",
    "Optimizer",
    "RMSprop",
    "ReduceOnPlateau",
    "Schedule",
    "StepDecay",
    "optimal_t0",
    "resolve_optimizer",
    "resolve_schedule",
]
