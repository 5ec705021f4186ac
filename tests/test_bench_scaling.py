"""benchmarks/bench_scaling.py runs end to end (quick sizes) and prints its
three tables; its timings are not checked (the benchmark measures them)."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))
from benchmarks import bench_mlp, bench_scaling  # noqa: E402


def test_epoch_flops_counts_forward_weight_gradient_and_backpropagated_products():
    # 784-128-10 on n rows: 2 products per layer (forward, weight gradient),
    # plus carrying the derivative down through the second layer.
    n = 3
    expected = 2 * 2 * n * (784 * 128 + 128 * 10) + 2 * n * 128 * 10
    assert bench_mlp.epoch_flops(n, [784, 128, 10]) == expected


def test_gemm_rate_is_a_positive_rate():
    assert bench_mlp.gemm_rate(np.float32, sizes=(64,), repeats=1) > 0


def test_quick_run_prints_the_three_tables(capsys, monkeypatch):
    monkeypatch.setattr(bench_scaling, "gemm_rate", lambda dtype: 1e11)
    bench_scaling.main(["--quick"])
    out = capsys.readouterr().out
    assert "## MLP, rows" in out and "## MLP, hidden width" in out
    assert "## Linear regression, rows" in out
    for name in ("skoptim MLPClassifierPlus", "sklearn MLPClassifier",
                 "skoptim SGDRegressorPlus", "sklearn SGDRegressor"):
        assert out.count(f"| {name}") >= 2
    assert "not written" in out


def test_mlp_regressor_quick_run_prints_both_dtypes(capsys):
    from benchmarks import bench_mlp_regressor

    bench_mlp_regressor.main(["--quick", "--no-torch"])
    out = capsys.readouterr().out
    assert "### float64" in out and "### float32" in out
    assert out.count("| skoptim MLPRegressorPlus") == 2
    assert out.count("| sklearn MLPRegressor") == 2
    assert "not written" in out


def test_mlp_floor_times_every_piece_and_prints_both_dtypes(capsys):
    from benchmarks import bench_mlp_floor

    rng = np.random.default_rng(0)
    X = rng.random((640, 784)).astype(np.float32)
    y = rng.integers(0, 10, 640)
    pieces = bench_mlp_floor.floor_epoch(X, y, np.float32, 128, epochs=1, warm=2)
    assert list(pieces) == list(bench_mlp_floor.PIECES)
    assert all(seconds > 0 for seconds in pieces.values())
    bench_mlp_floor.main(["--quick", "--rounds", "1"])
    out = capsys.readouterr().out
    for dtype in ("float32", "float64"):
        assert f"- {dtype}: 2x scikit-learn needs an epoch of" in out
        for what in ("bare loop: the epoch", "MLPClassifierPlus fit", "MLPClassifier fit"):
            assert f"| {dtype} | {what}" in out
    assert "not written" in out
