"""The backend's device-side randomness: counter-based uniform draws, row
keys and dropout masks, computed where the data lives with the same integer
arithmetic (tests/test_gpu.py compares the GPU with the host)."""

import importlib.util

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from numpy.testing import assert_array_equal
from scipy import stats

from skoptim._backend import resolve_backend, to_numpy
from skoptim._random import DeviceRNG, RowNoise, device_row_keys, hash_uniform, row_keys

BACKEND = resolve_backend(np.zeros((1, 1)))
BACKEND32 = resolve_backend(np.zeros((1, 1), dtype=np.float32))


@pytest.mark.parametrize("seed", [0, 1, 2**62 + 12345])
def test_hash_uniform_is_uniform(seed):
    u = hash_uniform(seed, (200_000,), -2.0, 3.0, BACKEND)
    assert u.dtype == np.float64 and u.shape == (200_000,)
    assert u.min() >= -2.0 and u.max() < 3.0
    assert stats.kstest(u, stats.uniform(loc=-2.0, scale=5.0).cdf).pvalue > 1e-3
    # Neighbouring counters are uncorrelated.
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01


def test_hash_uniform_seeds_give_independent_streams():
    a = hash_uniform(7, (100_000,), 0.0, 1.0, BACKEND)
    b = hash_uniform(8, (100_000,), 0.0, 1.0, BACKEND)
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.01
    assert stats.ks_2samp(a, b).pvalue > 1e-3


def test_hash_uniform_is_reproducible_and_shaped():
    a = hash_uniform(5, (30, 4), -1.0, 1.0, BACKEND32)
    b = hash_uniform(5, (30, 4), -1.0, 1.0, BACKEND32)
    assert a.shape == (30, 4) and a.dtype == np.float32
    assert_array_equal(a, b)
    # The position decides the value: a longer draw starts with the shorter one.
    flat = hash_uniform(5, (200,), -1.0, 1.0, BACKEND32)
    assert_array_equal(flat[:120], a.ravel())


def test_device_rng_uniform_continues_the_stream():
    """Each draw takes a fresh seed from the host stream, whose saved state
    resumes it exactly (what partial_fit and pickling rely on)."""
    rng = DeviceRNG(BACKEND, 0)
    first = rng.uniform(0.0, 1.0, (5,))
    state = rng.state()
    second = rng.uniform(0.0, 1.0, (5,))
    assert not np.array_equal(first, second)
    assert_array_equal(DeviceRNG(BACKEND, state).uniform(0.0, 1.0, (5,)), second)


def _fisher_yates(n, u):
    """Reference: Durstenfeld's shuffle of ``range(n)`` in Python, step ``i``
    (from the top) swapping with ``floor(u_i * (i + 1))``."""
    idx = list(range(n))
    for k, i in enumerate(range(n - 1, 0, -1)):
        j = min(int(u[k] * (i + 1)), i)
        idx[i], idx[j] = idx[j], idx[i]
    return np.array(idx)


@pytest.mark.parametrize("n", [0, 1, 2, 7, 1000])
def test_device_rng_permutation_is_fisher_yates_on_the_stream(n):
    rng = DeviceRNG(BACKEND, 3)
    perm = rng.permutation(n)
    assert perm.dtype == np.int32 and perm.shape == (n,)
    # The same steps as the reference on the stream's uniform draws, and the
    # stream advanced by exactly those draws.
    stream = np.random.default_rng(3)
    assert_array_equal(perm, _fisher_yates(n, stream.random(max(n - 1, 0))))
    assert rng.state() == stream.bit_generator.state


def test_device_rng_permutation_in_chunks_is_one_shuffle(monkeypatch):
    from skoptim import _random

    whole = DeviceRNG(BACKEND, 5).permutation(1000)
    monkeypatch.setattr(_random, "_SHUFFLE_CHUNK", 64)  # 16 chunks
    assert_array_equal(DeviceRNG(BACKEND, 5).permutation(1000), whole)


def test_device_rng_permutation_is_uniform():
    """All 24 orders of 4 items about equally often (chi-squared), and each
    item at each place of 50 equally often."""
    rng = DeviceRNG(BACKEND, 11)
    counts = {}
    for _ in range(12_000):
        key = tuple(rng.permutation(4))
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) == 24
    assert stats.chisquare(list(counts.values())).pvalue > 1e-3
    places = np.zeros((50, 50))
    for _ in range(4_000):
        places[np.arange(50), rng.permutation(50)] += 1
    assert stats.chisquare(places.ravel()).pvalue > 1e-3


def test_device_rng_permutation_does_not_depend_on_the_compiled_passes(monkeypatch):
    from skoptim import _kernels

    on = DeviceRNG(BACKEND, 2).permutation(500)
    monkeypatch.setattr(_kernels, "CPU_KERNELS", False)
    assert_array_equal(DeviceRNG(BACKEND, 2).permutation(500), on)


def test_row_keys_identify_equal_rows_across_storage():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 6))
    X[rng.random(X.shape) < 0.5] = 0.0
    X[10] = X[3]
    keys = row_keys(X)
    assert keys.dtype == np.uint64
    assert keys[10] == keys[3]
    assert len(np.unique(keys)) == 49
    assert_array_equal(row_keys(sp.csr_matrix(X)), keys)
    assert_array_equal(row_keys(X, chunk_rows=7), keys)
    assert_array_equal(row_keys(X.astype(np.float32)), row_keys(
        X.astype(np.float32).astype(np.float64)))


def _splitmix64_finaliser(z):
    """Reference: Steele, Lea & Flood's splitmix64 output function on uint64."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _reference_mask(X, seed, epoch, stream, n_cols, keep_prob):
    """The dropout mask computed on the host with uint64 arithmetic."""
    golden = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        base = _splitmix64_finaliser(np.uint64(seed) ^ (np.uint64(epoch + 1) * golden))
        cols = (np.arange(1, n_cols + 1, dtype=np.uint64) * golden) ^ _splitmix64_finaliser(
            base + np.uint64(stream))
        z = _splitmix64_finaliser(row_keys(X)[:, None] + cols[None, :])
    keep = (z >> np.uint64(40)) < np.uint64(int(keep_prob * (1 << 24)))
    return keep / keep_prob


def _namespaces():
    yield "numpy", np.asarray
    yield "array_api_strict", pytest.importorskip("array_api_strict").asarray
    if importlib.util.find_spec("torch") is not None:
        import torch

        yield "torch", torch.asarray


@pytest.mark.parametrize("name, asarray", list(_namespaces()),
                         ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_masks_are_the_same_bits_in_every_namespace(name, asarray, dtype):
    """Masks are hashed in the data's namespace with int64 arithmetic; they
    equal the uint64 reference, so every device draws the same masks."""
    X = np.random.default_rng(0).normal(size=(40, 3)).astype(dtype)
    with sklearn.config_context(array_api_dispatch=True):
        Xa = asarray(X)
        backend = resolve_backend(Xa)
        noise = RowNoise(backend, device_row_keys(Xa, backend), seed=2**62 + 7, epoch=3)
        mask = noise.keep_mask(257, 0.7, stream=2)
    mask = np.asarray(to_numpy(mask))
    assert mask.dtype == dtype and mask.shape == (40, 257)
    np.testing.assert_allclose(mask, _reference_mask(X, 2**62 + 7, 3, 2, 257, 0.7),
                               rtol=1e-6)
    assert abs(np.mean(mask > 0) - 0.7) < 0.02


@pytest.mark.parametrize("storage", ["float64", "float32", "csr"])
def test_row_keys_compiled_equal_numpy_keys(storage, monkeypatch):
    from skoptim import _kernels

    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 9)) * 10.0 ** rng.integers(-30, 30, size=(300, 9))
    X[rng.random(X.shape) < 0.4] = 0.0
    X[0, :3] = [-0.0, np.inf, np.nan]  # a signed zero counts as zero
    X[5] = X[6]
    data = {"float64": X, "float32": X.astype(np.float32), "csr": sp.csr_matrix(X)}[storage]
    if storage == "csr":  # a stored zero counts as none
        data.data[data.indptr[1]] = 0.0
        X = data.toarray()
    compiled = row_keys(data)
    # Other layouts (F order, a strided view) take NumPy's passes.
    assert_array_equal(row_keys(np.asfortranarray(X)), row_keys(X))
    assert_array_equal(row_keys(np.repeat(X, 2, axis=1)[:, ::2]), row_keys(X))
    if storage == "csr":
        assert_array_equal(compiled, row_keys(X))
    monkeypatch.setattr(_kernels, "CPU_KERNELS", False)
    assert_array_equal(compiled, row_keys(data))
    assert compiled[5] == compiled[6]
    monkeypatch.setattr(_kernels, "CPU_KERNELS", True)
    zero = X.copy()
    zero[0, 0] = 0.0
    assert row_keys(zero)[0] == row_keys(X)[0]
