"""Helpers over trees of arrays (lists, tuples, dicts and dataclasses of
arrays, such as a training state): map, copy and move."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
import scipy.sparse as sp


def map_arrays(value, func):
    """``value`` with ``func`` applied to every array inside it, through
    lists, tuples, dicts and dataclasses (such as the training state)."""
    if isinstance(value, list):
        return [map_arrays(v, func) for v in value]
    if isinstance(value, tuple):
        return tuple(map_arrays(v, func) for v in value)
    if isinstance(value, dict):
        return {k: map_arrays(v, func) for k, v in value.items()}
    if hasattr(value, "__dataclass_fields__") and not isinstance(value, type):
        from dataclasses import fields, replace

        return replace(value, **{f.name: map_arrays(getattr(value, f.name), func)
                                 for f in fields(value) if f.init})
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return func(value)
    return value


def move_tree(value, backend):
    """``value`` with the floating arrays inside it moved to ``backend``;
    sparse matrices and integer NumPy arrays (labels, indices) stay as they are."""
    def move(a):
        if sp.issparse(a) or (isinstance(a, np.ndarray) and a.dtype.kind not in "fc"):
            return a
        return backend.move(a)

    return map_arrays(value, move)


def copy_tree(obj, xp):
    """Copy the arrays inside nested lists, tuples, dicts and dataclasses."""
    return map_arrays(obj, lambda a: xp.asarray(a, copy=True))
