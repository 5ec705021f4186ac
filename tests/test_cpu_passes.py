"""The compiled passes of a training step (skoptim/_cpu_passes.py) against
the NumPy operations they replace."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

pytest.importorskip("numba")

from skoptim import _cpu_passes as passes  # noqa: E402
from skoptim.heads._classification import SoftmaxHead  # noqa: E402
from skoptim.models import weighted_mean  # noqa: E402


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bias_relu_bias_add_and_relu_backward_are_numpys_bit_for_bit(dtype):
    rng = np.random.default_rng(0)
    z, b = rng.normal(size=(37, 11)).astype(dtype), rng.normal(size=11).astype(dtype)
    out = z.copy()
    passes.bias_relu(out, b)
    assert_array_equal(out, np.maximum(z + b, 0))
    out = z.copy()
    passes.bias_add(out, b)
    assert_array_equal(out, z + b)
    a = np.maximum(z + b, 0)
    delta = rng.normal(size=z.shape).astype(dtype)
    expected = np.where(a > 0, delta, 0).astype(dtype)
    colsum = np.empty(11, dtype=dtype)
    passes.relu_backward(delta, a, colsum)
    assert_array_equal(delta, expected)
    assert_array_equal(colsum, np.sum(expected, axis=0))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1.0, 300.0])
def test_softmax_mean_loss_matches_the_heads_loss_and_weighted_mean(dtype, weighted, scale):
    """Loss sum and derivative of the mean loss as the generic head code
    computes them, also for logits far beyond exp's range (stable)."""
    rng = np.random.default_rng(1)
    z = (scale * rng.normal(size=(50, 7))).astype(dtype)
    Y = np.eye(7, dtype=bool)[rng.integers(0, 7, 50)]  # as the classifier passes it
    sw = rng.uniform(0.5, 2.0, 50).astype(dtype) if weighted else None
    head = SoftmaxHead("softmax", xp=np)
    expected_loss, expected_dz = weighted_mean(*head.loss(z, Y), sw, xp=np)
    loss, dz = head.mean_loss(z.copy(), Y, sw)
    assert dz.dtype == dtype and np.isfinite(loss)
    rtol = 1e-5 if dtype == np.float32 else 1e-13
    assert_allclose(loss, expected_loss, rtol=rtol)
    assert_allclose(dz, expected_dz, rtol=rtol, atol=1e-7 if dtype == np.float32 else 1e-16)


def test_softmax_mean_loss_only_for_softmax_on_numpy():
    head = SoftmaxHead("logistic", xp=np)
    assert head.mean_loss(np.zeros((3, 1)), np.zeros((3, 1)), None) is None
    head = SoftmaxHead("softmax", xp=np)
    # a non-contiguous z (a view) takes the generic path
    assert head.mean_loss(np.zeros((3, 4))[:, ::2], np.zeros((3, 2)), None) is None


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_csr_arrays_are_unsigned_views_of_scipys_index_arrays(index_dtype):
    import scipy.sparse as sp

    from skoptim._kernels import csr_arrays

    X = sp.random(50, 40, density=0.2, format="csr", random_state=0)
    X.indices, X.indptr = X.indices.astype(index_dtype), X.indptr.astype(index_dtype)
    indptr, indices, data = csr_arrays(X)
    for view, original in ((indptr, X.indptr), (indices, X.indices)):
        assert view.dtype.kind == "u" and view.dtype.itemsize == original.dtype.itemsize
        assert np.shares_memory(view, original)  # no copy
        assert_array_equal(view, original)
    assert data is X.data


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_batch_gather_is_numpys_take(dtype):
    from skoptim.engine._data import _Gather

    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 7)).astype(dtype)
    gather = _Gather(X, np)
    for rows in (rng.permutation(300)[:64], rng.permutation(300)[:5]):  # buffer reused
        batch = gather(rows)
        assert batch.dtype == dtype
        assert_array_equal(batch, X[rows])
