"""The backend's device-side randomness: counter-based uniform draws and row
keys, which CuPy computes on the GPU with the same integer arithmetic
(tests/test_gpu.py compares the two devices)."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from scipy import stats

from skoptim._backend import DeviceRNG, hash_uniform, resolve_backend, row_keys

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
