"""First-order optimizers: SGD, momentum, Adagrad, RMSprop, Adam, AdamW, Nadam, Lion.

Every optimizer maps gradients to the steps that the engine subtracts from the
parameters (``param -= step``). The code uses only the array-API namespace
``xp`` it is given, keeps scalar maths in Python floats, and updates its
state arrays in place (the engine hands it a private copy of the state).
Gradient clipping and decoupled weight decay are not part of any optimizer:
the engine scales the gradients by
:func:`~skoptim.optim._transforms.global_norm_scale` before the update rule
and adds the decay to its step after it, reading the optimizer's
``clip_norm`` and ``weight_decay`` (:class:`skoptim._kernels.FusedApply`; a
CPU kernel does both, the L2 penalty's gradient and the parameter update in
the rule's own pass over the parameters).
"""

# SPDX-License-Identifier: BSD-3-Clause

import difflib
import functools
import inspect
import math
from numbers import Real

import numpy as np
from sklearn.base import clone
from sklearn.utils._param_validation import Interval, InvalidParameterError

from skoptim._kernels import FusedRule, run_fused

from ._base import Optimizer

_CLIP_NORM = [Interval(Real, 0, None, closed="neither"), None]
_DECAY = [Interval(Real, 0, 1, closed="left")]
_EPSILON = [Interval(Real, 0, None, closed="neither")]
_WEIGHT_DECAY = [Interval(Real, 0, None, closed="left")]


def _zeros(params, xp):
    """One zero array per parameter array."""
    return [xp.zeros_like(p) for p in params]


class SGD(Optimizer):
    """Plain stochastic gradient descent.

    The step is the gradient times the learning rate. Use :class:`Momentum`
    for the heavy-ball and Nesterov variants.

    Parameters
    ----------
    clip_norm : float or None, default=None
        If set, the training engine rescales the gradients before each step
        so that their global L2 norm (over all parameter arrays together) is
        at most ``clip_norm``. ``None`` disables clipping.

    Attributes
    ----------
    scale_invariant : bool
        False: multiplying the gradients by a constant multiplies the steps.

    See Also
    --------
    Momentum : SGD with (Nesterov) momentum.
    Adam : Adaptive moment estimation.

    Notes
    -----
    With gradient :math:`g_t` and learning rate :math:`\\eta_t`, the update is

    .. math:: \\theta_{t+1} = \\theta_t - \\eta_t g_t .

    The optimizer keeps no state (``init`` returns ``None``).

    References
    ----------
    .. [1] H. Robbins and S. Monro, "A stochastic approximation method",
       The Annals of Mathematical Statistics, 22(3), 400-407, 1951.

    Examples
    --------
    >>> import numpy as np
    >>> from skoptim.optim import SGD
    >>> opt = SGD()
    >>> state = opt.init([np.zeros(2)], xp=np)
    >>> steps, state = opt.update([np.array([1.0, -2.0])], state, lr=0.1, xp=np)
    >>> print(steps[0])
    [ 0.1 -0.2]
    """

    _parameter_constraints: dict = {"clip_norm": _CLIP_NORM}

    scale_invariant = False

    def __init__(self, clip_norm=None):
        self.clip_norm = clip_norm

    def init(self, params, *, xp):
        """Return ``None``: plain SGD has no state."""
        return None

    def update(self, grads, state, *, lr, xp, apply=None):
        """Return ``(lr * grads, state)``, scaling the gradients in place."""
        steps = []
        for g in grads:
            step = run_fused(_SGD, g, [], {"lr": lr}, apply)
            if step is None:
                g *= lr
                step = g
            steps.append(step)
        return steps, state


class Momentum(Optimizer):
    """Stochastic gradient descent with heavy-ball or Nesterov momentum.

    This is scikit-learn's ``MLPClassifier(solver='sgd')`` formulation, where
    the learning rate sits inside the velocity, so a change of learning rate
    acts on new gradients only.

    Parameters
    ----------
    momentum : float, default=0.9
        Momentum factor :math:`\\mu` in ``[0, 1]``; 0 gives plain SGD.

    nesterov : bool, default=False
        Whether to use Nesterov's momentum (a look-ahead along the new
        velocity) instead of the heavy-ball update.

    clip_norm : float or None, default=None
        If set, the training engine rescales the gradients before each step
        so that their global L2 norm (over all parameter arrays together) is
        at most ``clip_norm``. ``None`` disables clipping.

    Attributes
    ----------
    scale_invariant : bool
        False: multiplying the gradients by a constant multiplies the steps.

    See Also
    --------
    SGD : Plain stochastic gradient descent.
    Nadam : Adam with Nesterov momentum.

    Notes
    -----
    With velocity :math:`v_0 = 0`, gradient :math:`g_t` and learning rate
    :math:`\\eta_t`:

    .. math::

        v_{t+1} &= \\mu v_t - \\eta_t g_t \\\\
        \\theta_{t+1} &= \\theta_t + v_{t+1}
            && \\text{(heavy ball)} \\\\
        \\theta_{t+1} &= \\theta_t + \\mu v_{t+1} - \\eta_t g_t
            && \\text{(Nesterov)}

    The steps returned are the negated increments. Both match
    ``sklearn.neural_network._stochastic_optimizers.SGDOptimizer``.

    References
    ----------
    .. [1] B. T. Polyak, "Some methods of speeding up the convergence of
       iteration methods", USSR Computational Mathematics and Mathematical
       Physics, 4(5), 1-17, 1964.
    .. [2] I. Sutskever, J. Martens, G. Dahl and G. Hinton, "On the importance
       of initialization and momentum in deep learning", ICML 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from skoptim.optim import Momentum
    >>> opt = Momentum(momentum=0.5)
    >>> state = opt.init([np.zeros(1)], xp=np)
    >>> steps, state = opt.update([np.array([1.0])], state, lr=0.1, xp=np)
    >>> steps, state = opt.update([np.array([1.0])], state, lr=0.1, xp=np)
    >>> print(steps[0])
    [0.15]
    """

    _parameter_constraints: dict = {
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterov": ["boolean"],
        "clip_norm": _CLIP_NORM,
    }

    scale_invariant = False

    def step_gain(self):
        """Steady-state amplification of the step, ``1 / (1 - momentum)``."""
        return 1.0 / max(1.0 - self.momentum, 1e-3)

    def __init__(self, momentum=0.9, nesterov=False, clip_norm=None):
        self.momentum = momentum
        self.nesterov = nesterov
        self.clip_norm = clip_norm

    def init(self, params, *, xp):
        """Return ``{"velocity": [zeros]}``."""
        return {"velocity": _zeros(params, xp)}

    def update(self, grads, state, *, lr, xp, apply=None):
        """Return the momentum steps and the state with the new velocity."""
        mu = self.momentum
        rule = _NESTEROV if self.nesterov else _HEAVY_BALL
        steps = []
        for g, v in zip(grads, state["velocity"], strict=True):
            step = run_fused(rule, g, [v], {"mu": mu, "lr": lr}, apply)
            if step is not None:
                steps.append(step)
                continue
            v *= mu
            v -= lr * g
            if self.nesterov:
                # step = -(mu * v_new - lr * g), built in the gradient's buffer
                g *= lr
                g -= mu * v
                steps.append(g)
            else:
                steps.append(-v)
        return steps, state


class Adagrad(Optimizer):
    """Adagrad: per-coordinate rates shrinking with the accumulated squares.

    Parameters
    ----------
    epsilon : float, default=1e-8
        Added to the square root of the accumulator for numerical stability.

    initial_accumulator_value : float, default=0.0
        Starting value of the sum of squared gradients.

    clip_norm : float or None, default=None
        If set, the training engine rescales the gradients before each step
        so that their global L2 norm (over all parameter arrays together) is
        at most ``clip_norm``. ``None`` disables clipping.

    Attributes
    ----------
    scale_invariant : bool
        True (when ``initial_accumulator_value=0`` and up to ``epsilon``):
        multiplying the gradients by a constant leaves the steps unchanged.

    See Also
    --------
    RMSprop : Adagrad with an exponentially decaying accumulator.

    Notes
    -----
    With :math:`G_0` equal to ``initial_accumulator_value``:

    .. math::

        G_t &= G_{t-1} + g_t^2 \\\\
        \\theta_{t+1} &= \\theta_t - \\eta_t \\frac{g_t}{\\sqrt{G_t} + \\epsilon}

    This is PyTorch's ``Adagrad`` with ``lr_decay=0``.

    References
    ----------
    .. [1] J. Duchi, E. Hazan and Y. Singer, "Adaptive subgradient methods for
       online learning and stochastic optimization", JMLR 12, 2121-2159, 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from skoptim.optim import Adagrad
    >>> opt = Adagrad()
    >>> state = opt.init([np.zeros(2)], xp=np)
    >>> steps, state = opt.update([np.array([3.0, -4.0])], state, lr=0.1, xp=np)
    >>> print(np.round(steps[0], 6))
    [ 0.1 -0.1]
    """

    _parameter_constraints: dict = {
        "epsilon": _EPSILON,
        "initial_accumulator_value": [Interval(Real, 0, None, closed="left")],
        "clip_norm": _CLIP_NORM,
    }

    scale_invariant = True

    def __init__(self, epsilon=1e-8, initial_accumulator_value=0.0, clip_norm=None):
        self.epsilon = epsilon
        self.initial_accumulator_value = initial_accumulator_value
        self.clip_norm = clip_norm

    def init(self, params, *, xp):
        """Return ``{"sum_squares": [initial_accumulator_value]}``."""
        value = float(self.initial_accumulator_value)
        return {"sum_squares": [xp.full_like(p, value) for p in params]}

    def update(self, grads, state, *, lr, xp, apply=None):
        """Return the Adagrad steps and the state with the grown accumulator."""
        steps = []
        for g, acc in zip(grads, state["sum_squares"], strict=True):
            step = run_fused(_ADAGRAD, g, [acc], {"lr": lr, "eps": self.epsilon},
                             apply)
            if step is not None:
                steps.append(step)
                continue
            acc += g * g
            denom = xp.sqrt(acc)
            denom += self.epsilon
            g *= lr
            steps.append(g / denom)
        return steps, state

    def prox_metric(self, state, indices, *, xp):
        """``1 / (sqrt(G) + epsilon)`` per penalized array."""
        return [1.0 / (xp.sqrt(state["sum_squares"][i]) + self.epsilon) for i in indices]


class RMSprop(Optimizer):
    """RMSprop: gradients divided by a running root mean square.

    Parameters
    ----------
    rho : float, default=0.9
        Decay rate :math:`\\rho` in ``[0, 1)`` of the running average of the
        squared gradients (PyTorch calls it ``alpha``; here ``alpha`` is the
        regularization strength).

    epsilon : float, default=1e-8
        Added to the root mean square for numerical stability.

    momentum : float, default=0.0
        Momentum factor :math:`\\mu` in ``[0, 1)`` applied to the normalized
        gradients; 0 disables momentum.

    centered : bool, default=False
        Whether to divide by an estimate of the gradient's standard
        deviation (the mean square minus the squared running mean) instead of
        its root mean square.

    clip_norm : float or None, default=None
        If set, the training engine rescales the gradients before each step
        so that their global L2 norm (over all parameter arrays together) is
        at most ``clip_norm``. ``None`` disables clipping.

    Attributes
    ----------
    scale_invariant : bool
        True (up to ``epsilon``): multiplying the gradients by a constant
        leaves the steps unchanged.

    See Also
    --------
    Adagrad : Non-decaying accumulator of squared gradients.
    Adam : RMSprop with a bias-corrected first moment.

    Notes
    -----
    With :math:`s_0 = \\bar g_0 = b_0 = 0`:

    .. math::

        s_t &= \\rho s_{t-1} + (1 - \\rho) g_t^2 \\\\
        \\bar g_t &= \\rho \\bar g_{t-1} + (1 - \\rho) g_t
            \\quad (\\text{centered only}) \\\\
        d_t &= \\sqrt{s_t} + \\epsilon
            \\quad\\text{or}\\quad \\sqrt{s_t - \\bar g_t^2} + \\epsilon
            \\quad (\\text{centered}) \\\\
        b_t &= \\mu b_{t-1} + g_t / d_t \\\\
        \\theta_{t+1} &= \\theta_t - \\eta_t b_t

    When ``momentum=0``, :math:`b_t = g_t / d_t`. This is PyTorch's
    ``RMSprop`` (with ``alpha`` renamed ``rho``). In centered mode the
    variance estimate is floored at 0 against rounding.

    References
    ----------
    .. [1] T. Tieleman and G. Hinton, "Lecture 6.5 - RMSProp: divide the
       gradient by a running average of its recent magnitude", COURSERA:
       Neural Networks for Machine Learning, 2012.
    .. [2] A. Graves, "Generating sequences with recurrent neural networks",
       arXiv:1308.0850, 2013 (centered variant).

    Examples
    --------
    >>> import numpy as np
    >>> from skoptim.optim import RMSprop
    >>> opt = RMSprop(rho=0.75)
    >>> state = opt.init([np.zeros(2)], xp=np)
    >>> steps, state = opt.update([np.array([1.0, -2.0])], state, lr=0.1, xp=np)
    >>> print(np.round(steps[0], 6))
    [ 0.2 -0.2]
    """

    _parameter_constraints: dict = {
        "rho": _DECAY,
        "epsilon": _EPSILON,
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "centered": ["boolean"],
        "clip_norm": _CLIP_NORM,
    }

    scale_invariant = True

    def __init__(
        self, rho=0.9, epsilon=1e-8, momentum=0.0, centered=False, clip_norm=None
    ):
        self.rho = rho
        self.epsilon = epsilon
        self.momentum = momentum
        self.centered = centered
        self.clip_norm = clip_norm

    def init(self, params, *, xp):
        """Return the running averages (and momentum buffers when used)."""
        state = {"mean_square": _zeros(params, xp)}
        if self.centered:
            state["mean"] = _zeros(params, xp)
        if self.momentum > 0:
            state["momentum_buffer"] = _zeros(params, xp)
        return state

    def update(self, grads, state, *, lr, xp, apply=None):
        """Return the RMSprop steps and the updated running averages."""
        rho = self.rho
        n = len(grads)
        means = state.get("mean", [None] * n)
        buffers = state.get("momentum_buffer", [None] * n)
        steps = []
        for g, sq, mean, buf in zip(
            grads, state["mean_square"], means, buffers, strict=True
        ):
            if mean is None:
                scalars = {"rho": rho, "mu": self.momentum, "lr": lr, "eps": self.epsilon}
                step = (run_fused(_RMSPROP, g, [sq], scalars, apply) if buf is None
                        else run_fused(_RMSPROP_MOMENTUM, g, [sq, buf], scalars, apply))
                if step is not None:
                    steps.append(step)
                    continue
            elif apply is not None:
                apply.prologue(g)  # no kernel for the centered variant
            sq *= rho
            sq += (1.0 - rho) * (g * g)
            if mean is None:
                denom = xp.sqrt(sq)
            else:
                mean *= rho
                mean += (1.0 - rho) * g
                var = sq - mean * mean
                # s_t >= mean_t**2 holds exactly (Jensen); rounding may not.
                denom = xp.sqrt(xp.maximum(var, xp.zeros_like(var)))
            denom += self.epsilon
            if buf is None:
                g *= lr
                steps.append(g / denom)
            else:
                buf *= self.momentum
                buf += g / denom
                steps.append(lr * buf)
        return steps, state

    def prox_metric(self, state, indices, *, xp):
        """``1 / (sqrt(mean_square) + epsilon)`` per penalized array."""
        return [1.0 / (xp.sqrt(state["mean_square"][i]) + self.epsilon) for i in indices]


class Adam(Optimizer):
    """Adam: adaptive moment estimation, in scikit-learn's formulation.

    Parameters
    ----------
    beta_1 : float, default=0.9
        Exponential decay rate for the first-moment estimate, in ``[0, 1)``.

    beta_2 : float, default=0.999
        Exponential decay rate for the second-moment estimate, in ``[0, 1)``.

    epsilon : float, default=1e-8
        Added to the root of the second moment for numerical stability.

    amsgrad : bool, default=False
        Whether to divide by the running maximum of the second-moment
        estimate (AMSGrad) instead of the estimate itself.

    clip_norm : float or None, default=None
        If set, the training engine rescales the gradients before each step
        so that their global L2 norm (over all parameter arrays together) is
        at most ``clip_norm``. ``None`` disables clipping.

    Attributes
    ----------
    scale_invariant : bool
        True (up to ``epsilon``): multiplying the gradients by a constant
        leaves the steps unchanged.

    See Also
    --------
    AdamW : Adam with decoupled weight decay.
    Nadam : Adam with Nesterov momentum.

    Notes
    -----
    With :math:`m_0 = v_0 = 0` and :math:`t` counting updates from 1:

    .. math::

        m_t &= \\beta_1 m_{t-1} + (1 - \\beta_1) g_t \\\\
        v_t &= \\beta_2 v_{t-1} + (1 - \\beta_2) g_t^2 \\\\
        \\hat v_t &= \\max(\\hat v_{t-1}, v_t)
            \\quad (\\text{AMSGrad; otherwise } \\hat v_t = v_t) \\\\
        \\eta'_t &= \\eta_t \\sqrt{1 - \\beta_2^t} / (1 - \\beta_1^t) \\\\
        \\theta_{t+1} &= \\theta_t - \\eta'_t \\frac{m_t}{\\sqrt{\\hat v_t} + \\epsilon}

    This folds the bias corrections into the rate, as
    ``sklearn.neural_network._stochastic_optimizers.AdamOptimizer`` and
    Algorithm 1 of [1]_ (end of section 2) do; it differs from the textbook
    form only in where :math:`\\epsilon` enters. AMSGrad takes the maximum of
    the uncorrected second moments.

    References
    ----------
    .. [1] D. P. Kingma and J. Ba, "Adam: A method for stochastic
       optimization", ICLR 2015, arXiv:1412.6980.
    .. [2] S. J. Reddi, S. Kale and S. Kumar, "On the convergence of Adam and
       beyond", ICLR 2018 (AMSGrad).

    Examples
    --------
    >>> import numpy as np
    >>> from skoptim.optim import Adam
    >>> opt = Adam()
    >>> state = opt.init([np.zeros(2)], xp=np)
    >>> steps, state = opt.update([np.array([0.5, -2.0])], state, lr=0.1, xp=np)
    >>> print(np.round(steps[0], 6))
    [ 0.1 -0.1]
    """

    _parameter_constraints: dict = {
        "beta_1": _DECAY,
        "beta_2": _DECAY,
        "epsilon": _EPSILON,
        "amsgrad": ["boolean"],
        "clip_norm": _CLIP_NORM,
    }

    scale_invariant = True

    def __init__(
        self, beta_1=0.9, beta_2=0.999, epsilon=1e-8, amsgrad=False, clip_norm=None
    ):
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad
        self.clip_norm = clip_norm

    def init(self, params, *, xp):
        """Return the step count and zero first and second moments."""
        state = {"n_steps": 0, "m": _zeros(params, xp), "v": _zeros(params, xp)}
        if self.amsgrad:
            state["v_max"] = _zeros(params, xp)
        return state

    def update(self, grads, state, *, lr, xp, apply=None):
        """Return the Adam steps and the updated moments."""
        b1, b2 = self.beta_1, self.beta_2
        state["n_steps"] += 1
        t = state["n_steps"]
        lr_t = lr * math.sqrt(1.0 - b2**t) / (1.0 - b1**t)
        v_max = state.get("v_max")
        steps = []
        scalars = {"b1": b1, "b2": b2, "lr_t": lr_t, "eps": self.epsilon}
        for i, (g, m, v) in enumerate(zip(grads, state["m"], state["v"], strict=True)):
            step = (run_fused(_ADAM, g, [m, v], scalars, apply) if v_max is None
                    else run_fused(_AMSGRAD, g, [m, v, v_max[i]], scalars, apply))
            if step is not None:
                steps.append(step)
                continue
            m *= b1
            m += (1.0 - b1) * g
            # The gradient buffer is ours to overwrite: it becomes g**2, then
            # the denominator, then the step (fewer temporaries per step).
            g *= g
            g *= 1.0 - b2
            v *= b2
            v += g
            if v_max is not None:
                v_max[i] = xp.maximum(v_max[i], v)
                v = v_max[i]
            if isinstance(g, np.ndarray):
                step = np.sqrt(v, out=g)
                step += self.epsilon
                np.divide(m, step, out=step)
            else:
                denom = xp.sqrt(v)
                denom += self.epsilon
                step = m / denom
            step *= lr_t
            steps.append(step)
        return steps, state

    def prox_metric(self, state, indices, *, xp):
        """The bias-corrected ``1 / (sqrt(v) + epsilon)`` of the last step."""
        t = max(state["n_steps"], 1)
        factor = math.sqrt(1.0 - self.beta_2**t) / (1.0 - self.beta_1**t)
        v = state.get("v_max", state["v"])
        return [factor / (xp.sqrt(v[i]) + self.epsilon) for i in indices]


class AdamW(Adam):
    """Adam with decoupled weight decay (AdamW).

    The steps are Adam's; the training engine adds the decay
    ``lr * weight_decay * param`` to the steps of the penalized parameters
    (coefficients, not intercepts), instead of adding an L2 term to the
    gradients, where Adam's normalization would weaken it.

    Parameters
    ----------
    beta_1 : float, default=0.9
        Exponential decay rate for the first-moment estimate, in ``[0, 1)``.

    beta_2 : float, default=0.999
        Exponential decay rate for the second-moment estimate, in ``[0, 1)``.

    epsilon : float, default=1e-8
        Added to the root of the second moment for numerical stability.

    amsgrad : bool, default=False
        Whether to divide by the running maximum of the second-moment
        estimate (AMSGrad) instead of the estimate itself.

    weight_decay : float, default=0.01
        Decoupled weight decay coefficient :math:`\\lambda`; the decay per step
        is the learning rate times ``weight_decay`` times the parameter.

    clip_norm : float or None, default=None
        If set, the training engine rescales the gradients before each step
        so that their global L2 norm (over all parameter arrays together) is
        at most ``clip_norm``. ``None`` disables clipping.

    Attributes
    ----------
    scale_invariant : bool
        True (up to ``epsilon``): multiplying the gradients by a constant
        leaves the steps unchanged.

    See Also
    --------
    Adam : The same steps without the decay.
    Lion : Sign-based optimizer, also with decoupled weight decay.

    Notes
    -----
    With Adam's step :math:`\\Delta_t` (see :class:`Adam`):

    .. math:: \\theta_{t+1} = \\theta_t - \\Delta_t - \\eta_t \\lambda \\theta_t

    The decay uses the learning rate including the schedule, as PyTorch's
    ``AdamW`` does.

    References
    ----------
    .. [1] I. Loshchilov and F. Hutter, "Decoupled weight decay
       regularization", ICLR 2019, arXiv:1711.05101.

    Examples
    --------
    >>> import numpy as np
    >>> from skoptim.optim import AdamW
    >>> opt = AdamW(weight_decay=0.1)
    >>> state = opt.init([np.zeros(2)], xp=np)
    >>> steps, state = opt.update([np.array([0.5, -2.0])], state, lr=0.1, xp=np)
    >>> print(np.round(steps[0], 6))
    [ 0.1 -0.1]
    """

    _parameter_constraints: dict = {
        **Adam._parameter_constraints,
        "weight_decay": _WEIGHT_DECAY,
    }

    def __init__(
        self,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        amsgrad=False,
        weight_decay=0.01,
        clip_norm=None,
    ):
        super().__init__(
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            clip_norm=clip_norm,
        )
        self.weight_decay = weight_decay


class Nadam(Optimizer):
    """Nadam: Adam with Nesterov momentum (Dozat, constant momentum).

    Parameters
    ----------
    beta_1 : float, default=0.9
        Exponential decay rate for the first-moment estimate, in ``[0, 1)``.

    beta_2 : float, default=0.999
        Exponential decay rate for the second-moment estimate, in ``[0, 1)``.

    epsilon : float, default=1e-8
        Added to the root of the bias-corrected second moment for numerical
        stability.

    clip_norm : float or None, default=None
        If set, the training engine rescales the gradients before each step
        so that their global L2 norm (over all parameter arrays together) is
        at most ``clip_norm``. ``None`` disables clipping.

    Attributes
    ----------
    scale_invariant : bool
        True (up to ``epsilon``): multiplying the gradients by a constant
        leaves the steps unchanged.

    See Also
    --------
    Adam : Adam without the Nesterov look-ahead.
    Momentum : SGD with Nesterov momentum.

    Notes
    -----
    Algorithm 2 of [1]_ with a constant momentum :math:`\\mu_t = \\beta_1`
    (no momentum schedule), which is also ``optax.nadam``. With
    :math:`m_0 = v_0 = 0` and :math:`t` counting updates from 1:

    .. math::

        m_t &= \\beta_1 m_{t-1} + (1 - \\beta_1) g_t \\\\
        v_t &= \\beta_2 v_{t-1} + (1 - \\beta_2) g_t^2 \\\\
        \\hat m_t &= \\frac{\\beta_1 m_t}{1 - \\beta_1^{t+1}}
            + \\frac{(1 - \\beta_1) g_t}{1 - \\beta_1^t} \\\\
        \\hat v_t &= \\frac{v_t}{1 - \\beta_2^t} \\\\
        \\theta_{t+1} &= \\theta_t
            - \\eta_t \\frac{\\hat m_t}{\\sqrt{\\hat v_t} + \\epsilon}

    PyTorch's ``NAdam`` and Keras's ``Nadam`` instead multiply
    :math:`\\beta_1` by a warm-up schedule (``momentum_decay``), so their
    first steps differ.

    References
    ----------
    .. [1] T. Dozat, "Incorporating Nesterov momentum into Adam", ICLR 2016
       workshop track.

    Examples
    --------
    >>> import numpy as np
    >>> from skoptim.optim import Nadam
    >>> opt = Nadam()
    >>> state = opt.init([np.zeros(2)], xp=np)
    >>> steps, state = opt.update([np.array([0.5, -2.0])], state, lr=0.1, xp=np)
    >>> print(np.round(steps[0], 6))
    [ 0.147368 -0.147368]
    """

    _parameter_constraints: dict = {
        "beta_1": _DECAY,
        "beta_2": _DECAY,
        "epsilon": _EPSILON,
        "clip_norm": _CLIP_NORM,
    }

    scale_invariant = True

    def __init__(self, beta_1=0.9, beta_2=0.999, epsilon=1e-8, clip_norm=None):
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.clip_norm = clip_norm

    def init(self, params, *, xp):
        """Return the step count and zero first and second moments."""
        return {"n_steps": 0, "m": _zeros(params, xp), "v": _zeros(params, xp)}

    def update(self, grads, state, *, lr, xp, apply=None):
        """Return the Nadam steps and the updated moments."""
        b1, b2 = self.beta_1, self.beta_2
        state["n_steps"] += 1
        t = state["n_steps"]
        coef_m = lr * b1 / (1.0 - b1 ** (t + 1))
        coef_g = lr * (1.0 - b1) / (1.0 - b1**t)
        inv_root_bias = 1.0 / math.sqrt(1.0 - b2**t)
        scalars = {"b1": b1, "b2": b2, "coef_m": coef_m, "coef_g": coef_g,
                   "inv_root_bias": inv_root_bias, "eps": self.epsilon}
        steps = []
        for g, m, v in zip(grads, state["m"], state["v"], strict=True):
            step = run_fused(_NADAM, g, [m, v], scalars, apply)
            if step is not None:
                steps.append(step)
                continue
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * (g * g)
            denom = xp.sqrt(v)
            denom *= inv_root_bias
            denom += self.epsilon
            numer = coef_m * m
            g *= coef_g
            numer += g
            steps.append(numer / denom)
        return steps, state

    def prox_metric(self, state, indices, *, xp):
        """``1 / (sqrt(v / (1 - beta_2**t)) + epsilon)`` of the last step."""
        t = max(state["n_steps"], 1)
        inv_root_bias = 1.0 / math.sqrt(1.0 - self.beta_2**t)
        return [1.0 / (xp.sqrt(state["v"][i]) * inv_root_bias + self.epsilon)
                for i in indices]


class Lion(Optimizer):
    """Lion: evolved sign momentum.

    Every coordinate moves by exactly the learning rate (or not at all), in
    the direction of the sign of an interpolation between the momentum and
    the gradient. Lion usually wants a learning rate 3 to 10 times smaller
    than Adam's.

    Parameters
    ----------
    beta_1 : float, default=0.9
        Interpolation factor between the momentum and the current gradient
        for the update direction, in ``[0, 1)``.

    beta_2 : float, default=0.99
        Exponential decay rate of the momentum, in ``[0, 1)``.

    weight_decay : float, default=0.0
        Decoupled weight decay coefficient :math:`\\lambda`, applied by the
        training engine to the penalized parameters as for :class:`AdamW`.

    clip_norm : float or None, default=None
        If set, the training engine rescales the gradients before each step
        so that their global L2 norm (over all parameter arrays together) is
        at most ``clip_norm``. ``None`` disables clipping.

    Attributes
    ----------
    scale_invariant : bool
        True: multiplying the gradients by a positive constant leaves the
        steps unchanged.

    See Also
    --------
    AdamW : Adam with decoupled weight decay.

    Notes
    -----
    With :math:`m_0 = 0`:

    .. math::

        c_t &= \\beta_1 m_{t-1} + (1 - \\beta_1) g_t \\\\
        \\theta_{t+1} &= \\theta_t - \\eta_t (\\operatorname{sign}(c_t)
            + \\lambda \\theta_t) \\\\
        m_t &= \\beta_2 m_{t-1} + (1 - \\beta_2) g_t

    where :math:`\\operatorname{sign}(0) = 0`.

    References
    ----------
    .. [1] X. Chen et al., "Symbolic discovery of optimization algorithms",
       NeurIPS 2023, arXiv:2302.06675.

    Examples
    --------
    >>> import numpy as np
    >>> from skoptim.optim import Lion
    >>> opt = Lion()
    >>> state = opt.init([np.zeros(3)], xp=np)
    >>> steps, state = opt.update([np.array([0.5, -2.0, 0.0])], state, lr=0.01, xp=np)
    >>> print(steps[0])
    [ 0.01 -0.01  0.  ]
    """

    _parameter_constraints: dict = {
        "beta_1": _DECAY,
        "beta_2": _DECAY,
        "weight_decay": _WEIGHT_DECAY,
        "clip_norm": _CLIP_NORM,
    }

    scale_invariant = True

    def __init__(self, beta_1=0.9, beta_2=0.99, weight_decay=0.0, clip_norm=None):
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.weight_decay = weight_decay
        self.clip_norm = clip_norm

    def init(self, params, *, xp):
        """Return ``{"m": [zeros]}``."""
        return {"m": _zeros(params, xp)}

    def update(self, grads, state, *, lr, xp, apply=None):
        """Return the sign steps and the updated momentum."""
        b1, b2 = self.beta_1, self.beta_2
        steps = []
        for g, m in zip(grads, state["m"], strict=True):
            step = run_fused(_LION, g, [m], {"b1": b1, "b2": b2, "lr": lr}, apply)
            if step is not None:
                steps.append(step)
                continue
            direction = b1 * m
            direction += (1.0 - b1) * g
            step = xp.sign(direction)
            step *= lr
            steps.append(step)
            m *= b2
            m += (1.0 - b2) * g
        return steps, state


# The elementwise updates above as single GPU kernels (see FusedRule): each
# body must compute what the generic code of its optimizer computes
# (tests/optim/test_fused_rules.py runs both).
_SGD = FusedRule("sgd", ("lr",), (), "step = lr * g;")
_HEAVY_BALL = FusedRule("heavy_ball", ("mu", "lr"), ("vel",),
                        "vel = mu * vel - lr * g; step = -vel;")
_NESTEROV = FusedRule("nesterov", ("mu", "lr"), ("vel",),
                      "vel = mu * vel - lr * g; step = lr * g - mu * vel;")
_ADAGRAD = FusedRule("adagrad", ("lr", "eps"), ("acc",),
                     "acc = acc + g * g; step = lr * g / (sqrt(acc) + eps);")
_RMSPROP = FusedRule("rmsprop", ("rho", "mu", "lr", "eps"), ("sq",),
                     "sq = rho * sq + (1 - rho) * (g * g); "
                     "step = lr * g / (sqrt(sq) + eps);")
_RMSPROP_MOMENTUM = FusedRule("rmsprop_momentum", ("rho", "mu", "lr", "eps"),
                              ("sq", "buf"),
                              "sq = rho * sq + (1 - rho) * (g * g); "
                              "buf = mu * buf + g / (sqrt(sq) + eps); step = lr * buf;")
_ADAM = FusedRule("adam", ("b1", "b2", "lr_t", "eps"), ("m", "v"),
                  "m = b1 * m + (1 - b1) * g; v = b2 * v + (1 - b2) * (g * g); "
                  "step = lr_t * m / (sqrt(v) + eps);")
_AMSGRAD = FusedRule("amsgrad", ("b1", "b2", "lr_t", "eps"), ("m", "v", "v_max"),
                     "m = b1 * m + (1 - b1) * g; v = b2 * v + (1 - b2) * (g * g); "
                     "v_max = fmax(v_max, v); step = lr_t * m / (sqrt(v_max) + eps);")
_NADAM = FusedRule("nadam", ("b1", "b2", "coef_m", "coef_g", "inv_root_bias", "eps"),
                   ("m", "v"),
                   "m = b1 * m + (1 - b1) * g; v = b2 * v + (1 - b2) * (g * g); "
                   "step = (coef_m * m + coef_g * g) / (sqrt(v) * inv_root_bias + eps);")
_LION = FusedRule("lion", ("b1", "b2", "lr"), ("m",),
                  "step = lr * skoptim_sign(b1 * m + (1 - b1) * g); "
                  "m = b2 * m + (1 - b2) * g;")


OPTIMIZERS = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": functools.partial(Momentum, nesterov=True),
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
    "nadam": Nadam,
    "lion": Lion,
}


def unknown_name_error(value, names, param):
    """scikit-learn's error type for an unknown option, listing the valid ones
    and suggesting the closest, case-insensitively (``'AdamW'`` -> ``'adamw'``)."""
    names = sorted(names)
    message = f"Unknown {param} {value!r}. Valid names: " + ", ".join(
        repr(name) for name in names)
    lowered = {name.lower(): name for name in names}
    close = difflib.get_close_matches(value.lower(), list(lowered), n=1)
    if close:
        message += f". Did you mean {lowered[close[0]]!r}?"
    else:
        message += "."
    return InvalidParameterError(message)


@functools.lru_cache(maxsize=None)
def _parameter_names(cls):
    """The names ``cls(...)`` accepts (read once per class)."""
    return frozenset(inspect.signature(cls).parameters)


def _resolve(value, *, param, table, base, flat, also_valid=()):
    """Shared body of :func:`resolve_optimizer` and ``resolve_schedule``."""
    if isinstance(value, base):
        return clone(value)._validate()
    if isinstance(value, str):
        if value not in table:
            raise unknown_name_error(value, [*table, *also_valid], param)
        factory = table[value]
        # A name may fix some arguments (functools.partial): those win over flat.
        cls = getattr(factory, "func", factory)
        fixed = getattr(factory, "keywords", {})
        accepted = _parameter_names(cls)
        kwargs = {k: v for k, v in flat.items() if k in accepted and k not in fixed}
        return factory(**kwargs)._validate()
    if isinstance(value, type) and issubclass(value, base):
        raise TypeError(
            f"The {param!r} parameter must be a {base.__name__} instance, not a "
            f"class; got {value.__name__}. Pass {value.__name__}() instead."
        )
    raise TypeError(
        f"The {param!r} parameter must be a str among "
        f"{sorted(table)} or an instance of skoptim.optim.{base.__name__}; "
        f"got {value!r} of type {type(value).__name__}."
    )


def resolve_optimizer(solver, *, also_valid=(), **flat):
    """Return a fresh, validated optimizer for ``solver``.

    Parameters
    ----------
    solver : str or Optimizer
        A name from :data:`OPTIMIZERS` or an optimizer object. An object is
        cloned (the caller's object is never modified) and its own
        hyperparameters are kept: ``flat`` is ignored.

    **flat : dict
        scikit-learn's flat hyperparameters (``momentum``, ``nesterov``,
        ``beta_1``, ``beta_2``, ``epsilon``, ``clip_norm``, ...). Only used
        when ``solver`` is a str: the ones the optimizer's constructor accepts
        configure it, the others are ignored. ``'nesterov'`` always sets
        ``nesterov=True``.

    also_valid : tuple of str, default=()
        Names the caller handles itself (``'lbfgs'``), listed among the valid
        ones when ``solver`` is unknown.

    Returns
    -------
    optimizer : Optimizer
        A new optimizer whose hyperparameters passed their constraint checks.

    Raises
    ------
    ValueError
        For an unknown name (an ``InvalidParameterError``, as scikit-learn
        raises for an unknown option) or an invalid hyperparameter value.
    TypeError
        When ``solver`` is neither a str nor an :class:`Optimizer`.

    Examples
    --------
    >>> from skoptim.optim import Adam, resolve_optimizer
    >>> resolve_optimizer("adam", beta_1=0.8, momentum=0.5)
    Adam(beta_1=0.8)
    >>> resolve_optimizer(Adam(beta_2=0.9), beta_2=0.99)
    Adam(beta_2=0.9)
    """
    return _resolve(solver, param="solver", table=OPTIMIZERS, base=Optimizer, flat=flat,
                    also_valid=also_valid)
