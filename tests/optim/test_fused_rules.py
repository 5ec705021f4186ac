"""The GPU kernels' update rules (FusedRule bodies) against the optimizers'
generic array code.

CuPy runs each rule's body as CUDA C. The body is also valid Python, so here
it is executed with NumPy in place of the kernel, through the same call the
optimizer makes on a GPU (``run_fused``, patched), and every optimizer must
then produce the same steps and state as its generic code path. A GPU session
runs the kernels themselves (tests/test_gpu.py).
"""

import ast
import re

import numpy as np
import pytest
from numpy.testing import assert_allclose

import skoptim.optim._optimizers as optimizers_module
import skoptim._kernels as kernels_module
from skoptim._kernels import FusedRule
from skoptim.optim import SGD, Adagrad, Adam, AdamW, Lion, Momentum, Nadam, RMSprop

RNG = np.random.default_rng(0)
PARAM = RNG.normal(size=50)
GRADS = [RNG.normal(size=50) * scale for scale in (1.0, 0.1, 3.0, 1e-4, 0.5)]
LRS = [0.1, 0.05, 0.02, 0.02, 0.01]

# (optimizer, the rule its fused path must use)
CASES = [
    (SGD(), "sgd"),
    (Momentum(momentum=0.7), "heavy_ball"),
    (Momentum(momentum=0.9, nesterov=True), "nesterov"),
    (Adagrad(initial_accumulator_value=0.1), "adagrad"),
    (RMSprop(rho=0.8), "rmsprop"),
    (RMSprop(rho=0.8, momentum=0.5), "rmsprop_momentum"),
    (Adam(beta_1=0.8, beta_2=0.99), "adam"),
    (Adam(amsgrad=True), "amsgrad"),
    (AdamW(), "adam"),
    (Nadam(), "nadam"),
    (Lion(), "lion"),
]

_FUNCTIONS = {"sqrt": np.sqrt, "fmax": np.fmax, "skoptim_sign": np.sign}


def _statements(rule):
    """``(target, expression)`` pairs of a rule's body."""
    pairs = []
    for statement in rule.body.split(";"):
        if statement.strip():
            target, expression = statement.split("=", 1)
            pairs.append((target.strip(), expression.strip()))
    return pairs


def run_rule_with_numpy(rule, g, states, scalars):
    """What the CuPy kernel computes, element by element, done with NumPy."""
    env = {"g": g, **dict(zip(rule.states, states)), **scalars, **_FUNCTIONS}
    for target, expression in _statements(rule):
        env[target] = eval(expression, {"__builtins__": {}}, env)
    for name, array in zip(rule.states, states):
        array[...] = env[name]
    return np.asarray(env["step"], dtype=g.dtype)


def _run(optimizer, fused, monkeypatch, cpu_kernels=False):
    """Steps and state of five updates: the generic NumPy code (``fused`` and
    ``cpu_kernels`` False), the rule's body run by NumPy through the GPU call
    (``fused``), or the compiled CPU kernels (``cpu_kernels``)."""
    used = []
    monkeypatch.setattr(kernels_module, "CPU_KERNELS", cpu_kernels)
    if fused:
        def run_fused(rule, g, states, scalars, apply=None):
            assert apply is None
            used.append(rule.name)
            return run_rule_with_numpy(rule, g, states, scalars)

        monkeypatch.setattr(optimizers_module, "run_fused", run_fused)
    state = optimizer.init([PARAM.copy()], xp=np)
    steps = []
    for g, lr in zip(GRADS, LRS):
        (step,), state = optimizer.update([g.copy()], state, lr=lr, xp=np)
        steps.append(step.copy())
    monkeypatch.undo()
    return steps, state, used


@pytest.mark.parametrize("optimizer, rule_name", CASES, ids=[repr(c[0]) for c in CASES])
def test_fused_rule_matches_generic_update(optimizer, rule_name, monkeypatch):
    expected_steps, expected_state, _ = _run(optimizer, False, monkeypatch)
    steps, state, used = _run(optimizer, True, monkeypatch)
    assert used == [rule_name] * len(GRADS)
    for actual, expected in zip(steps, expected_steps):
        assert_allclose(actual, expected, rtol=1e-12, atol=1e-15)
    for key, arrays in (expected_state or {}).items():
        if isinstance(arrays, list):
            assert_allclose(state[key][0], arrays[0], rtol=1e-12, atol=1e-15)
        else:
            assert state[key] == arrays


@pytest.mark.parametrize("optimizer, rule_name", CASES, ids=[repr(c[0]) for c in CASES])
def test_compiled_cpu_kernel_matches_generic_update(optimizer, rule_name, monkeypatch):
    """The numba kernel built from the same body gives the generic code's
    steps and state (the same operations per element, no fast-math)."""
    pytest.importorskip("numba")
    expected_steps, expected_state, _ = _run(optimizer, False, monkeypatch)
    steps, state, _ = _run(optimizer, False, monkeypatch, cpu_kernels=True)
    for actual, expected in zip(steps, expected_steps):
        assert_allclose(actual, expected, rtol=1e-14, atol=1e-300)
    for key, arrays in (expected_state or {}).items():
        if isinstance(arrays, list):
            assert_allclose(state[key][0], arrays[0], rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("rule", [r for r in vars(optimizers_module).values()
                                  if isinstance(r, FusedRule)], ids=lambda r: r.name)
def test_compiled_cpu_kernel_keeps_float32(rule):
    """Literals are typed as the arrays: a float32 kernel computes in float32
    (as the CUDA kernel's T), within float32 rounding of the float64 one."""
    pytest.importorskip("numba")
    rng = np.random.default_rng(1)
    g64 = rng.normal(size=64)
    states64 = [np.abs(rng.normal(size=64)) for _ in rule.states]
    scalars = {name: 0.5 for name in rule.scalars}
    g32, states32 = g64.astype(np.float32), [s.astype(np.float32) for s in states64]
    step64 = kernels_module.run_fused(rule, g64.copy(), states64, scalars)
    step32 = kernels_module.run_fused(rule, g32, states32, scalars)
    assert step32.dtype == np.float32
    assert_allclose(step32, step64, rtol=1e-5, atol=1e-6)


def test_compiled_kernels_are_cached_for_the_next_process(tmp_path):
    """A second process loads the machine code numba cached for the generated
    kernel module instead of compiling it again."""
    pytest.importorskip("numba")
    import os
    import subprocess
    import sys

    code = ("import numpy as np\n"
            "from skoptim._kernels import cpu_kernel\n"
            "from skoptim.optim._optimizers import _ADAM\n"
            "k = cpu_kernel(_ADAM, np.float64)\n"
            "g = np.ones(8); k(g, np.zeros(8), np.zeros(8), 0.9, 0.999, 0.1, 1e-8)\n"
            "print(sum(k.stats.cache_hits.values()), sum(k.stats.cache_misses.values()))\n")
    env = {**os.environ, "SKOPTIM_CACHE_DIR": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, check=True).stdout.split() for _ in range(2)]
    assert runs[0] == ["0", "1"]  # compiled, then written to the cache
    assert runs[1] == ["1", "0"]  # loaded from it


def test_centered_rmsprop_keeps_the_generic_path(monkeypatch):
    """Centered RMSprop has no kernel: run_fused is never asked."""
    monkeypatch.setattr(optimizers_module, "run_fused",
                        lambda *args, **kwargs: pytest.fail("no fused rule expected"))
    RMSprop(centered=True).update([GRADS[0].copy()],
                                  RMSprop(centered=True).init([PARAM], xp=np),
                                  lr=0.1, xp=np)


def _rules():
    return [v for v in vars(optimizers_module).values() if isinstance(v, FusedRule)]


def test_every_rule_is_covered():
    assert {rule.name for rule in _rules()} == {name for _, name in CASES}


@pytest.mark.parametrize("rule", _rules(), ids=lambda r: r.name)
def test_rule_body_is_in_the_c_and_python_subset(rule):
    """Only what means the same in CUDA C and Python: declared names, the
    three functions, + - * / and parentheses, integer literals (a float
    literal would be a double in C), one assignment per statement."""
    assert re.fullmatch(r"[A-Za-z0-9_ +\-*/().,;=]+", rule.body)
    assert "**" not in rule.body and "//" not in rule.body
    assert not re.search(r"\d\.\d|\d\.|\.\d", rule.body)
    names = {"g", *rule.scalars, *rule.states, "step"}
    assigned = set()
    for target, expression in _statements(rule):
        assert target in set(rule.states) | {"step"}
        assert "=" not in expression
        tree = ast.parse(expression, mode="eval")
        for node in ast.walk(tree):
            assert isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call,
                                     ast.Name, ast.Constant, ast.Load, ast.Add, ast.Sub,
                                     ast.Mult, ast.Div, ast.USub)), ast.dump(node)
            if isinstance(node, ast.Call):
                assert node.func.id in _FUNCTIONS
            elif isinstance(node, ast.Name) and node.id not in _FUNCTIONS:
                assert node.id in names
            elif isinstance(node, ast.Constant):
                assert isinstance(node.value, int)
        assigned.add(target)
    assert assigned == set(rule.states) | {"step"}


def _nvrtc():
    """CuPy's binding of NVRTC, the CUDA compiler (no GPU needed), or None."""
    try:
        from cupy_backends.cuda.libs import nvrtc

        nvrtc.getVersion()
    except Exception:  # not installed, or no NVRTC library
        return None
    return nvrtc


def _cuda_source(rule, ctype):
    """The rule as a CUDA kernel shaped like CuPy's elementwise kernels: the
    gradient read by value, scalars by value, states and step by reference."""
    from skoptim._kernels import _SIGN_PREAMBLE

    params = ["const T* _raw_g"] + [f"T {name}" for name in rule.scalars]
    params += [f"T* _raw_{name}" for name in rule.states + ("step",)]
    refs = "".join(f"        T& {name} = _raw_{name}[_i];\n"
                   for name in rule.states + ("step",))
    return (f"{_SIGN_PREAMBLE}\ntypedef {ctype} T;\n"
            f'extern "C" __global__ void skoptim_{rule.name}('
            f"{', '.join(params)}, long long _n) {{\n"
            "    for (long long _i = blockIdx.x * blockDim.x + threadIdx.x; _i < _n;\n"
            "         _i += (long long)blockDim.x * gridDim.x) {\n"
            "        const T g = _raw_g[_i];\n"
            f"{refs}        {rule.body}\n    }}\n}}\n")


@pytest.mark.skipif(_nvrtc() is None, reason="needs CuPy's NVRTC (the gpu extra)")
@pytest.mark.parametrize("ctype", ["float", "double"])
@pytest.mark.parametrize("rule", _rules(), ids=lambda r: r.name)
def test_rule_body_compiles_as_cuda(rule, ctype):
    nvrtc = _nvrtc()
    program = nvrtc.createProgram(_cuda_source(rule, ctype), f"{rule.name}.cu", [], [])
    try:
        nvrtc.compileProgram(program, ["-arch=compute_80"])
    except Exception as exc:
        pytest.fail(f"{exc}\n{nvrtc.getProgramLog(program)}")
    assert "warning" not in nvrtc.getProgramLog(program).lower()
    assert nvrtc.getPTX(program)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_kernel_flushes_subnormal_states_to_zero(dtype):
    """Moments of parameters whose gradients are zero decay into subnormal
    numbers (slow arithmetic on CPUs): the CPU kernel stores them as zero;
    the step it returns is the generic code's."""
    pytest.importorskip("numba")
    tiny = np.finfo(dtype).tiny
    g = np.array([0.0, 0.0, 1e-3], dtype=dtype)
    m = np.array([tiny / 4, 4 * tiny, 1e-3], dtype=dtype)
    v = np.array([tiny / 8, 1.0, 1e-6], dtype=dtype)
    expected_m, expected_v = m.copy(), v.copy()
    scalars = {"b1": 0.9, "b2": 0.999, "lr_t": 1e-3, "eps": 1e-8}
    expected = run_rule_with_numpy(kernels_module.FusedRule(
        "adam", ("b1", "b2", "lr_t", "eps"), ("m", "v"), optimizers_module._ADAM.body),
        g.copy(), [expected_m, expected_v], scalars)
    step = kernels_module.run_fused(optimizers_module._ADAM, g.copy(), [m, v], scalars)
    assert_allclose(step, expected, rtol=1e-6, atol=0)
    assert m[0] == 0 and v[0] == 0  # b1 * tiny / 4 is subnormal: flushed
    assert m[1] == expected_m[1] and 0 < m[1] < 4 * tiny  # 0.9 * 4 tiny stays normal
    assert_allclose(m[2], expected_m[2]) and v[2] == expected_v[2]
