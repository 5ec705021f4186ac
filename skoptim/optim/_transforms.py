"""The clipping scale the engine applies to the gradients before
:meth:`Optimizer.update` (one factor for all parameters, so that no optimizer
carries a flag for it; the engine's :class:`~skoptim._kernels.FusedApply`
multiplies by it in the update's pass)."""

# SPDX-License-Identifier: BSD-3-Clause


def global_norm_scale(grads, clip_norm, *, xp):
    """``min(1, clip_norm / global_norm)`` of ``grads``, a 0-d array."""
    # The norm stays a 0-d device array so that clipping needs no host sync.
    squared_norm = xp.sum(grads[0] * grads[0])
    for g in grads[1:]:
        squared_norm = squared_norm + xp.sum(g * g)
    norm = xp.sqrt(squared_norm)
    limit = xp.zeros_like(norm) + clip_norm
    # limit / max(norm, limit) is exactly 1 when norm <= clip_norm, and never
    # divides by zero (clip_norm > 0), so a zero gradient stays zero, not NaN.
    return limit / xp.maximum(norm, limit)
