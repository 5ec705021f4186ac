"""GPU behaviour (issue #4): CuPy and PyTorch CUDA inputs, device='cuda'.

Skipped where no CUDA device with CuPy is available (CI has none); run on a
GPU machine with ``python -m pytest tests/test_gpu.py``.
"""

import pickle
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from numpy.testing import assert_allclose
from sklearn.datasets import load_digits, make_regression
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skoptim import (
    MLPClassifierPlus,
    MLPRegressorPlus,
    SGDClassifierPlus,
    SGDRegressorPlus,
    move_to,
)
from skoptim._backend import cuda_available
from skoptim.optim import Adagrad, Adam, Lion, Momentum, Nadam, RMSprop


pytestmark = pytest.mark.gpu
requires_gpu = pytest.mark.skipif(not cuda_available(), reason="needs CuPy and a CUDA GPU")

GPU_ESTIMATORS = [
    SGDRegressorPlus(device="cuda"),
    SGDRegressorPlus(device="cuda", solver="adam", learning_rate="constant"),
    SGDRegressorPlus(device="cuda", dropout=0.2),
    SGDRegressorPlus(device="cuda", early_stopping=True),
    MLPClassifierPlus(device="cuda"),
    MLPClassifierPlus(device="cuda", dropout=0.3),
    MLPClassifierPlus(device="cuda", solver="lbfgs"),
    MLPClassifierPlus(device="cuda", early_stopping=True, learning_rate_init=0.05),
    SGDClassifierPlus(device="cuda"),
    SGDClassifierPlus(device="cuda", loss="log_loss", solver="adam",
                      learning_rate="constant"),
    MLPRegressorPlus(device="cuda"),
    MLPRegressorPlus(device="cuda", loss="quantile", quantile=0.7),
]


@requires_gpu
@parametrize_with_checks(GPU_ESTIMATORS)
def test_estimator_checks_with_device_cuda(estimator, check):
    """The whole estimator suite with training on the GPU (NumPy in and out)."""
    check(estimator)


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(2000, 20, noise=5.0, random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.fixture
def torch_cuda():
    """PyTorch, where it can use a CUDA device."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch without CUDA")
    return torch


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


# CPU/GPU agreement: the GPU draws its shuffles on the device (another
# stream than the host's), so these fits keep the data order; initial
# weights come from the host stream and dropout masks are hashed from the
# rows' content, which gives the same masks on both devices.


@requires_gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cuda_fit_of_numpy_data_matches_cpu_fit(regression, dtype):
    X, y = regression
    X = X.astype(dtype)
    kw = dict(random_state=0, max_iter=20, tol=None, shuffle=False, dropout=0.1)
    cpu = SGDRegressorPlus(**kw).fit(X, y)
    gpu = SGDRegressorPlus(device="cuda", **kw).fit(X, y)
    assert isinstance(gpu.coef_, np.ndarray) and gpu.coef_.dtype == dtype
    rtol = 1e-3 if dtype == np.float32 else 1e-9
    assert_allclose(gpu.coef_, cpu.coef_, rtol=rtol, atol=rtol)


@requires_gpu
@pytest.mark.parametrize("solver", ["adam", "sgd", "rmsprop", "nadam"])
def test_cuda_mlp_matches_cpu_mlp(digits, solver):
    X, y = digits
    kw = dict(hidden_layer_sizes=(32,), max_iter=5, random_state=0, shuffle=False,
              dropout=0.2, solver=solver)
    cpu = MLPClassifierPlus(**kw).fit(X, y)
    gpu = MLPClassifierPlus(device="cuda", **kw).fit(X, y)
    # cuBLAS and OpenBLAS sum in other orders, and adaptive optimizers scale
    # small gradients up: agreement to 1e-6, where a wrong kernel or mask
    # would differ at 1e-2 or more.
    for a, b in zip(cpu.coefs_, gpu.coefs_):
        assert_allclose(b, a, rtol=1e-6, atol=1e-8)
    assert_allclose(gpu.predict_proba(X), cpu.predict_proba(X), rtol=1e-6, atol=1e-8)


@requires_gpu
@pytest.mark.parametrize("Estimator", [SGDRegressorPlus, MLPClassifierPlus])
def test_cupy_input_trains_on_gpu_and_returns_cupy(Estimator, regression, digits):
    import cupy

    X, y = regression if Estimator is SGDRegressorPlus else digits
    est = Estimator(random_state=0, max_iter=5).fit(cupy.asarray(X), cupy.asarray(y))
    pred = est.predict(cupy.asarray(X))
    assert isinstance(pred, cupy.ndarray)
    attr = est.coef_ if Estimator is SGDRegressorPlus else est.coefs_[0]
    assert isinstance(attr, cupy.ndarray)


@requires_gpu
def test_cupy_sparse_input_matches_dense(regression):
    import cupy
    import cupyx.scipy.sparse as cusp

    X, y = regression
    X[np.abs(X) < 0.5] = 0.0
    dense = SGDRegressorPlus(random_state=0, max_iter=5, tol=None).fit(
        cupy.asarray(X), cupy.asarray(y))
    sparse = SGDRegressorPlus(random_state=0, max_iter=5, tol=None).fit(
        cusp.csr_matrix(sp.csr_matrix(X)), cupy.asarray(y))
    assert_allclose(cupy.asnumpy(sparse.coef_), cupy.asnumpy(dense.coef_), rtol=1e-9)


@requires_gpu
def test_device_cpu_moves_cupy_input_to_the_host(regression):
    import cupy

    X, y = regression
    est = SGDRegressorPlus(device="cpu", random_state=0, max_iter=5).fit(
        cupy.asarray(X), cupy.asarray(y))
    assert isinstance(est.coef_, np.ndarray)


@requires_gpu
def test_torch_cuda_input_with_array_api_dispatch(regression, torch_cuda):
    torch = torch_cuda
    X, y = regression
    Xt = torch.asarray(X, device="cuda")
    yt = torch.asarray(y, device="cuda")
    with sklearn.config_context(array_api_dispatch=True):
        est = SGDRegressorPlus(random_state=0, max_iter=5).fit(Xt, yt)
        pred = est.predict(Xt)
    assert pred.device.type == "cuda"


@requires_gpu
def test_gpu_fit_is_reproducible_with_random_state(digits):
    import cupy

    X, y = digits
    kw = dict(hidden_layer_sizes=(32,), max_iter=3, dropout=0.2, random_state=0)
    a = MLPClassifierPlus(**kw).fit(cupy.asarray(X), cupy.asarray(y))
    b = MLPClassifierPlus(**kw).fit(cupy.asarray(X), cupy.asarray(y))
    for wa, wb in zip(a.coefs_, b.coefs_):
        assert bool(cupy.all(wa == wb))


@requires_gpu
def test_gpu_trained_model_pickled_after_move_to_loads_where_cupy_cannot_import(
        digits, tmp_path):
    """A model trained on the GPU, moved to NumPy and pickled, loads and
    predicts in a fresh interpreter where importing CuPy fails."""
    import cupy

    X, y = digits
    est = MLPClassifierPlus(hidden_layer_sizes=(16,), max_iter=3, random_state=0).fit(
        cupy.asarray(X), cupy.asarray(y))
    expected = cupy.asnumpy(est.predict_proba(cupy.asarray(X)))
    blob = pickle.dumps(move_to(est, "numpy"))
    assert b"cupy" not in blob
    (tmp_path / "model.pkl").write_bytes(blob)
    np.save(tmp_path / "X.npy", X)
    code = (
        "import sys; sys.modules['cupy'] = None; sys.modules['cupyx'] = None\n"
        "import pickle, numpy as np\n"
        f"est = pickle.loads(open({str(tmp_path / 'model.pkl')!r}, 'rb').read())\n"
        f"np.save({str(tmp_path / 'proba.npy')!r}, "
        f"est.predict_proba(np.load({str(tmp_path / 'X.npy')!r})))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert_allclose(np.load(tmp_path / "proba.npy"), expected, rtol=1e-10)


FUSED_OPTIMIZERS = [Momentum(), Momentum(nesterov=True), Adagrad(), RMSprop(),
                    RMSprop(momentum=0.5), Adam(), Adam(amsgrad=True), Nadam(), Lion()]


@requires_gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("optimizer", FUSED_OPTIMIZERS, ids=repr)
def test_fused_kernels_match_the_generic_numpy_update(optimizer, dtype):
    """Each optimizer's CUDA kernel against its generic code run by NumPy."""
    import cupy
    from array_api_compat import array_namespace

    from skoptim import _kernels

    cupy_xp = array_namespace(cupy.empty(0))
    rng = np.random.default_rng(0)
    grads = [(rng.normal(size=1000) * scale).astype(dtype) for scale in (1, 0.1, 3, 0.5)]

    def steps(xp, to_numpy):
        state = optimizer.init([xp.asarray(np.zeros(1000, dtype=dtype))], xp=xp)
        out = []
        for g in grads:
            (step,), state = optimizer.update([xp.asarray(g.copy())], state, lr=0.01, xp=xp)
            out.append(to_numpy(step))
        return out

    _kernels._KERNELS.clear()
    on_gpu = steps(cupy_xp, cupy.asnumpy)
    assert _kernels._KERNELS, "the GPU update did not use a fused kernel"
    on_cpu = steps(np, np.asarray)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for a, b in zip(on_gpu, on_cpu):
        assert a.dtype == dtype
        assert_allclose(a, b, rtol=rtol, atol=rtol * 1e-2)


@requires_gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_initial_weights_drawn_on_gpu_equal_the_host_draws(dtype):
    """hash_uniform runs the same integer arithmetic on the GPU: the same seed
    gives the same numbers (to the last bit of the final scaling)."""
    import cupy

    from skoptim._backend import resolve_backend
    from skoptim._random import hash_uniform

    host = hash_uniform(3, (300, 7), -0.5, 0.5, resolve_backend(np.zeros(1, dtype)))
    gpu_backend = resolve_backend(cupy.zeros(1, dtype))
    device = hash_uniform(3, (300, 7), -0.5, 0.5, gpu_backend)
    assert isinstance(device, cupy.ndarray) and device.dtype == dtype
    assert_allclose(cupy.asnumpy(device), host, rtol=0, atol=4 * np.finfo(dtype).eps)


@requires_gpu
def test_row_keys_on_gpu_equal_the_host_keys():
    import cupy

    from skoptim._random import row_keys

    X = np.random.default_rng(0).normal(size=(20_000, 9))
    X[X < 0] = 0.0
    keys = row_keys(cupy.asarray(X))
    assert isinstance(keys, cupy.ndarray)
    np.testing.assert_array_equal(cupy.asnumpy(keys), row_keys(X))


@requires_gpu
def test_device_cuda_moves_torch_cpu_input_to_torch_gpu(regression, torch_cuda):
    torch = torch_cuda
    X, y = regression
    with sklearn.config_context(array_api_dispatch=True):
        est = SGDRegressorPlus(device="cuda", random_state=0, max_iter=5, shuffle=False).fit(
            torch.asarray(X), torch.asarray(y))
        ref = SGDRegressorPlus(random_state=0, max_iter=5, shuffle=False).fit(
            torch.asarray(X), torch.asarray(y))
    # Trained on the GPU, exposed on the input's device (the CPU).
    assert est.coef_.device.type == "cpu"
    assert_allclose(est.coef_.numpy(), ref.coef_.numpy(), rtol=1e-9)


@requires_gpu
def test_dropout_masks_on_gpu_equal_the_host_masks():
    import cupy

    from skoptim._backend import resolve_backend
    from skoptim._random import RowNoise, device_row_keys

    X = np.random.default_rng(0).normal(size=(300, 5))
    masks = []
    for data in (X, cupy.asarray(X)):
        backend = resolve_backend(data)
        noise = RowNoise(backend, device_row_keys(data, backend), seed=11, epoch=2)
        masks.append(noise.keep_mask(64, 0.8, stream=1))
    assert isinstance(masks[1], cupy.ndarray)
    np.testing.assert_array_equal(cupy.asnumpy(masks[1]), masks[0])


@requires_gpu
def test_device_cuda_fit_of_numpy_data_keeps_nothing_on_the_gpu(digits):
    """With NumPy input, the attributes and the training state come back to
    the host (the model pickles without CuPy), and partial_fit carries the
    state to the GPU and back."""
    X, y = digits
    est = MLPClassifierPlus(device="cuda", hidden_layer_sizes=(16,), max_iter=3,
                            random_state=0).fit(X, y)
    assert b"cupy" not in pickle.dumps(est)
    ref = MLPClassifierPlus(hidden_layer_sizes=(16,), max_iter=3, random_state=0,
                            shuffle=False)
    gpu = MLPClassifierPlus(device="cuda", hidden_layer_sizes=(16,), max_iter=3,
                            random_state=0, shuffle=False)
    for _ in range(3):
        ref.partial_fit(X, y, classes=np.unique(y))
        gpu.partial_fit(X, y, classes=np.unique(y))
    assert b"cupy" not in pickle.dumps(gpu)
    for a, b in zip(gpu.coefs_, ref.coefs_):
        assert_allclose(a, b, rtol=1e-8, atol=1e-10)


@requires_gpu
@pytest.mark.parametrize("Estimator", [SGDRegressorPlus, MLPClassifierPlus])
def test_pipeline_with_scaler_stays_on_the_gpu(Estimator, regression, digits):
    import cupy
    from sklearn.pipeline import make_pipeline

    X, y = regression if Estimator is SGDRegressorPlus else digits
    with sklearn.config_context(array_api_dispatch=True):
        pipe = make_pipeline(StandardScaler(), Estimator(max_iter=5, random_state=0))
        pipe.fit(cupy.asarray(X), cupy.asarray(y))
        pred = pipe.predict(cupy.asarray(X))
    assert isinstance(pred, cupy.ndarray)
