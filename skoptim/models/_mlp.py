"""The multilayer perceptron: fully connected layers, hidden activations,
dropout on hidden units, Glorot initialisation, back-propagation."""

# SPDX-License-Identifier: BSD-3-Clause

import math

import numpy as np

from skoptim._kernels import matmul, matmul_T, sum_rows, transpose
from skoptim.engine import StepRule
from skoptim.heads._classification import sigmoid

ACTIVATIONS = ("identity", "logistic", "tanh", "relu")


class MLPModel:
    """Layers ``a_{l+1} = f(a_l @ W_l + b_l)``, the last one without ``f``.

    The parameters are ``[W_0, b_0, W_1, b_1, ...]``; the weights (even
    indices) are penalized, scikit-learn's MLP way (``alpha / n_samples``
    per batch). The fitted attributes are ``coefs_`` and ``intercepts_``.

    Parameters
    ----------
    sizes : list of int
        Widths of the input, hidden and output layers.
    activation : {'identity', 'logistic', 'tanh', 'relu'}
        The hidden activation.
    dropout : tuple of float
        The dropout rate of each hidden layer (inverted dropout).
    backend : Backend
    """

    penalty_per_sample = True
    weight_attributes = ("coefs_", "intercepts_")

    def __init__(self, sizes, *, activation, dropout, backend):
        self.sizes, self.activation, self.backend = list(sizes), activation, backend
        self.n_layers = len(sizes) - 1
        self.dropout = tuple(dropout)
        self.penalized = tuple(range(0, 2 * self.n_layers, 2))
        self.uses_noise = any(r > 0 for r in self.dropout)

    def init_params(self, rng, init=None):
        """Glorot uniform weights and biases, as scikit-learn draws them (its
        bound uses a factor 2 for the logistic activation, 6 otherwise)."""
        factor = 2.0 if self.activation == "logistic" else 6.0
        params = []
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:]):
            bound = math.sqrt(factor / (fan_in + fan_out))
            params.append(rng.uniform(-bound, bound, (fan_in, fan_out)))
            params.append(rng.uniform(-bound, bound, (fan_out,)))
        return params

    def _hidden(self, z):
        """Apply the hidden activation in place where the namespace allows."""
        xp, act = self.backend.xp, self.activation
        if act == "relu":
            if self.backend.is_numpy:
                return np.maximum(z, 0, out=z)
            return xp.clip(z, min=0.0)
        if act == "tanh":
            return xp.tanh(z)
        if act == "logistic":
            return sigmoid(z, xp)
        return z

    def _hidden_derivative(self, delta, a):
        """``delta * f'(z)`` written with the activation ``a = f(z)``."""
        xp, act = self.backend.xp, self.activation
        if act == "relu":
            if self.backend.is_numpy:
                delta[a <= 0] = 0
                return delta
            return xp.where(a > 0, delta, xp.zeros_like(delta))
        if act == "tanh":
            return delta * (1.0 - a * a)
        if act == "logistic":
            return delta * (a * (1.0 - a))
        return delta

    def forward(self, params, X, *, noise=None):
        """``(z, cache)``: the output layer's raw values, and the activations
        (after dropout), pre-dropout activations and dropout masks."""
        acts, pre, masks = [X], [], []
        a = X
        for layer in range(self.n_layers):
            z = matmul(a, params[2 * layer])
            z += params[2 * layer + 1]
            if layer == self.n_layers - 1:
                return z, (acts, pre, masks)
            a = self._hidden(z)
            pre.append(a)
            rate = self.dropout[layer]
            mask = None
            if noise is not None and rate > 0:
                mask = noise.keep_mask(a.shape[1], 1.0 - rate, stream=layer)
                a = a * mask
            masks.append(mask)
            acts.append(a)
        raise AssertionError("unreachable")

    def decision(self, params, X):
        """The output layer's raw values (no dropout)."""
        return self.forward(params, X)[0]

    def backward(self, params, cache, delta, *, out=None):
        """Back-propagate ``delta``, the derivative in the output's raw values."""
        xp = self.backend.xp
        acts, pre, masks = cache
        grads = [None] * (2 * self.n_layers)
        out = out or grads
        for layer in range(self.n_layers - 1, -1, -1):
            grads[2 * layer] = matmul_T(acts[layer], delta, xp, out=out[2 * layer])
            grads[2 * layer + 1] = sum_rows(delta, xp, out=out[2 * layer + 1])
            if layer == 0:
                break
            delta = delta @ transpose(params[2 * layer], xp)
            if masks[layer - 1] is not None:
                delta = delta * masks[layer - 1]
            delta = self._hidden_derivative(delta, pre[layer - 1])
        return grads

    def fitted_attributes(self, params):
        return {"coefs_": list(params[0::2]), "intercepts_": list(params[1::2])}

    def params_from_attributes(self, attributes):
        coefs, intercepts = attributes["coefs_"], attributes["intercepts_"]
        if len(coefs) != self.n_layers or len(intercepts) != self.n_layers:
            raise ValueError(
                f"coefs_ and intercepts_ hold {len(coefs)} and {len(intercepts)} layers, "
                f"but hidden_layer_sizes asks for {self.n_layers}; refit without "
                "warm_start (or partial_fit) to change the architecture."
            )
        return [p for pair in zip(coefs, intercepts) for p in pair]

    def step_rule(self, optimizer, *, n, grouped):
        return StepRule()
