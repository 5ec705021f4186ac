"""Gradient and step transforms shared by every optimizer.

Clipping runs on the gradients before :meth:`Optimizer.update`; decoupled
weight decay runs on the steps after it. Both are separate pieces so that no
optimizer carries a flag for them.
"""

# SPDX-License-Identifier: BSD-3-Clause


def clip_by_global_norm(grads, clip_norm, *, xp):
    """Scale ``grads`` by ``min(1, clip_norm / global_norm)``; identity for ``None``."""
    if clip_norm is None or not grads:
        return grads
    # The norm stays a 0-d device array so that clipping needs no host sync.
    squared_norm = xp.sum(grads[0] * grads[0])
    for g in grads[1:]:
        squared_norm = squared_norm + xp.sum(g * g)
    norm = xp.sqrt(squared_norm)
    limit = xp.zeros_like(norm) + clip_norm
    # limit / max(norm, limit) is exactly 1 when norm <= clip_norm, and never
    # divides by zero (clip_norm > 0), so a zero gradient stays zero, not NaN.
    scale = limit / xp.maximum(norm, limit)
    return [g * scale for g in grads]


def decoupled_weight_decay(steps, params, rate, *, xp):
    """Add ``rate * param`` to each step in place (Loshchilov & Hutter)."""
    if rate:
        for step, param in zip(steps, params, strict=True):
            step += rate * param
    return steps
