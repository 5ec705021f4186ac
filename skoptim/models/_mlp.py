"""The multilayer perceptron: fully connected layers, hidden activations,
dropout on hidden units, Glorot initialisation, back-propagation.

On NumPy the training pass writes each layer's output into buffers reused
from batch to batch, and the element-wise work around the products (bias
plus ReLU, the ReLU's mask with the bias gradient) runs as compiled passes
(:mod:`skoptim._cpu_passes`) where they apply."""

# SPDX-License-Identifier: BSD-3-Clause

import math

import numpy as np
import scipy.sparse as sp

from skoptim._kernels import cpu_passes, matmul, matmul_T, sum_rows, transpose
from skoptim.engine import StepRule
from skoptim.heads._classification import sigmoid
from skoptim.models._problem import layer_bound

ACTIVATIONS = ("identity", "logistic", "tanh", "relu")


class _Workspace:
    """Output buffers reused from batch to batch, by name: a request for
    fewer rows (the last batch) gets the first rows of the buffer."""

    def __init__(self):
        self.buffers = {}

    def get(self, key, shape, dtype):
        buf = self.buffers.get(key)
        if buf is None or buf.shape[0] < shape[0] or buf.shape[1:] != shape[1:] \
                or buf.dtype != dtype:
            buf = self.buffers[key] = np.empty(shape, dtype=dtype)
        return buf[:shape[0]]


# Rows per chunk of a prediction: the widest layer's activations of one chunk
# take about this many bytes (MLPModel.decision).
_CHUNK_BYTES = 1 << 20


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
        self._work = None  # the training pass's reused buffers (NumPy)

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

    def _bias_activation(self, z, b, hidden):
        """``f(z + b)`` (``z + b`` for the output layer), in place for NumPy:
        one compiled pass for ReLU and identity where numba is installed."""
        kernels = cpu_passes(z, b)
        if kernels is not None and (not hidden or self.activation in ("relu", "identity")):
            if hidden and self.activation == "relu":
                kernels.bias_relu(z, b)
            else:
                kernels.bias_add(z, b)
            return z
        z += b
        return self._hidden(z) if hidden else z

    def _hidden_derivative(self, delta, a, bias_grad=None):
        """``(delta * f'(z), column sums or None)``, written with the
        activation ``a = f(z)`` (in place for NumPy). A compiled ReLU pass
        also sums the columns into ``bias_grad`` (the next layer down's bias
        gradient) and returns it."""
        xp, act = self.backend.xp, self.activation
        if act == "relu":
            if self.backend.is_numpy:
                kernels = (cpu_passes(delta, a, bias_grad) if bias_grad is not None
                           else None)
                if kernels is not None:
                    kernels.relu_backward(delta, a, bias_grad)
                    return delta, bias_grad
                np.copyto(delta, 0, where=a <= 0)
                return delta, None
            return xp.where(a > 0, delta, xp.zeros_like(delta)), None
        if act == "tanh":
            return delta * (1.0 - a * a), None
        if act == "logistic":
            return delta * (a * (1.0 - a)), None
        return delta, None

    def forward(self, params, X, *, noise=None):
        """The training pass: ``(z, cache)``, the output layer's raw values,
        and the activations (after dropout), pre-dropout activations and
        dropout masks. NumPy layer outputs are written into buffers reused
        from batch to batch (``z`` and the cache are valid until the next
        call)."""
        if self._work is None:
            self._work = _Workspace() if self.backend.is_numpy else False
        return self._layers(params, X, noise, self._work or None)

    def _layers(self, params, X, noise, work):
        acts, pre, masks = [X], [], []
        a = X
        for layer in range(self.n_layers):
            W = params[2 * layer]
            if work is not None and isinstance(a, np.ndarray):
                z = np.matmul(a, W, out=work.get(("z", layer), (a.shape[0], W.shape[1]),
                                                  W.dtype))
            else:
                z = matmul(a, W)
            if layer == self.n_layers - 1:
                return self._bias_activation(z, params[2 * layer + 1], False), (acts, pre,
                                                                                masks)
            a = self._bias_activation(z, params[2 * layer + 1], True)
            pre.append(a)
            rate = self.dropout[layer]
            mask = None
            if noise is not None and rate > 0:
                mask = noise.keep_mask(a.shape[1], 1.0 - rate, stream=layer)
                a = a * mask
            masks.append(mask)
            acts.append(a)
        raise AssertionError("unreachable")

    def output_bound(self, params, scale):
        """A bound of the outputs' absolute values for inputs of at most
        ``scale`` (in absolute value), layer by layer: each layer's bound
        (:func:`skoptim.models._problem.layer_bound`) is the next one's input
        scale, 1 after a logistic or tanh layer."""
        xp = self.backend.xp
        for layer in range(self.n_layers):
            scale = layer_bound(params[2 * layer], params[2 * layer + 1], scale, xp)
            if layer < self.n_layers - 1 and self.activation in ("logistic", "tanh"):
                scale = min(scale, 1.0)
        return scale

    def decision(self, params, X):
        """The output layer's raw values (no dropout, new arrays).

        NumPy and SciPy inputs run in chunks of rows whose widest layer holds
        about ``_CHUNK_BYTES``: a prediction on many rows keeps one chunk's
        hidden activations, not every row's (rows are independent, so the
        values are the whole batch's)."""
        n = X.shape[0]
        host = isinstance(params[0], np.ndarray) and (isinstance(X, np.ndarray)
                                                      or sp.issparse(X))
        rows = max(256, _CHUNK_BYTES // (max(self.sizes[1:]) * params[0].itemsize)) \
            if host else n
        if n <= rows:
            return self._layers(params, X, None, None)[0]
        out = None
        for start in range(0, n, rows):
            z = self._layers(params, X[start:start + rows], None, None)[0]
            if out is None:
                out = np.empty((n, z.shape[1]), dtype=z.dtype)
            out[start:start + z.shape[0]] = z
        return out

    def backward(self, params, cache, delta, *, out=None):
        """Back-propagate ``delta``, the derivative in the output's raw values."""
        xp = self.backend.xp
        acts, pre, masks = cache
        grads = [None] * (2 * self.n_layers)
        out = out or grads
        work = self._work or None
        bias_grad = None  # a bias gradient the activation's pass summed
        for layer in range(self.n_layers - 1, -1, -1):
            grads[2 * layer] = matmul_T(acts[layer], delta, xp, out=out[2 * layer])
            grads[2 * layer + 1] = (bias_grad if bias_grad is not None
                                    else sum_rows(delta, xp, out=out[2 * layer + 1]))
            if layer == 0:
                break
            W = params[2 * layer]
            if work is not None and isinstance(delta, np.ndarray):
                delta = np.matmul(delta, W.T, out=work.get(
                    ("delta", layer), (delta.shape[0], W.shape[0]), W.dtype))
            else:
                delta = delta @ transpose(W, xp)
            if masks[layer - 1] is not None:
                delta = delta * masks[layer - 1]
            delta, bias_grad = self._hidden_derivative(delta, pre[layer - 1],
                                                       out[2 * layer - 1])
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
