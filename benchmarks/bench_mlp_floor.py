"""P1's epoch without the engine: the floor under MLPClassifierPlus's epoch.

The same work as a P1 epoch of ``MLPClassifierPlus`` (784-128-10 ReLU, Adam
lr 1e-3 with L2 alpha 1e-4, batch 128, 60,000 MNIST-style images of
``bench_mlp.py``), written as a bare Python loop over skoptim's own pieces,
with nothing else: the compiled row gathering (``take_rows``), the four
matrix products into reused buffers (NumPy's BLAS), the compiled bias plus
ReLU, bias, softmax cross-entropy and ReLU-derivative passes, and the fused
Adam step over the one parameter buffer (penalty included). No engine, no
checks, no schedule, no monitor. Each piece is timed over two epochs of
shuffled batches (best of ``--rounds``), next to a fit of
``MLPClassifierPlus`` and of scikit-learn's ``MLPClassifier`` on the same
arrays in the same run (their epoch: a 3-epoch fit less a 1-epoch fit).

What it tells: how far the engine is from its own kernels, and whether
"2x faster than scikit-learn" (issue 12, P1) is possible at all with these
kernels on this machine: the floor must be under half of scikit-learn's
epoch.

Usage::

    python benchmarks/bench_mlp_floor.py            # float32 and float64
    python benchmarks/bench_mlp_floor.py --quick    # 10,000 rows
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._common import (  # noqa: E402
    Report,
    add_save_argument,
    format_table,
    report_header,
    save_results,
)
from benchmarks.bench_mlp import make_mnist_like  # noqa: E402

PIECES = ("gather", "layer 1 forward", "layer 2 and loss", "layer 1 gradient", "Adam step")


def floor_epoch(X, y, dtype, batch, epochs=2, warm=50, seed=0):
    """Seconds per epoch of each piece of the bare loop (a dict)."""
    from skoptim import _cpu_passes as passes
    from skoptim._kernels import cpu_kernel
    from skoptim.optim._optimizers import _ADAM

    rng = np.random.default_rng(seed)
    n, d = X.shape
    h, k = 128, 10
    Y = np.eye(k, dtype=dtype)[y]
    sizes = [d * h, h * k, h, k]  # penalized weights first, as FlatParams lays them
    P = (rng.uniform(-0.05, 0.05, sum(sizes))).astype(dtype)
    G, M, V = (np.zeros_like(P) for _ in range(3))
    cuts = np.cumsum([0] + sizes)
    W1, W2 = P[:cuts[1]].reshape(d, h), P[cuts[1]:cuts[2]].reshape(h, k)
    b1, b2 = P[cuts[2]:cuts[3]], P[cuts[3]:]
    G1, G2 = G[:cuts[1]].reshape(d, h), G[cuts[1]:cuts[2]].reshape(h, k)
    g1, g2 = G[cuts[2]:cuts[3]], G[cuts[3]:]
    A = np.empty((batch, d), dtype)
    Z, O, D1 = np.empty((batch, h), dtype), np.empty((batch, k), dtype), np.empty((batch, h), dtype)
    scale, value = np.full(batch, 1.0 / batch, dtype), np.empty(batch, dtype)
    adam = cpu_kernel(_ADAM, dtype, fused_apply=True)
    t = np.zeros(len(PIECES))
    steps = n // batch
    dt = np.dtype(dtype).type
    for step in range(-warm, epochs * steps):
        if step % steps == 0 or step == -warm:
            order = rng.permutation(n).astype(np.uintp)
        rows = order[(step % steps) * batch:(step % steps + 1) * batch]
        c0 = time.perf_counter()
        passes.take_rows(X, rows, A)
        c1 = time.perf_counter()
        np.matmul(A, W1, out=Z)
        passes.bias_relu(Z, b1)
        c2 = time.perf_counter()
        np.matmul(Z, W2, out=O)
        passes.bias_add(O, b2)
        passes.softmax_cross_entropy(O, Y[rows], scale, value)
        np.matmul(Z.T, O, out=G2)
        np.sum(O, axis=0, out=g2)
        np.matmul(O, W2.T, out=D1)
        passes.relu_backward(D1, Z, g1)
        c3 = time.perf_counter()
        np.matmul(A.T, D1, out=G1)
        c4 = time.perf_counter()
        adam(G, M, V, P, cuts[2], dt(1e-4 / batch), dt(1.0), dt(1.0), dt(0.0),
             dt(0.9), dt(0.999), dt(1e-3), dt(1e-8))
        c5 = time.perf_counter()
        if step >= 0:
            t += np.diff([c0, c1, c2, c3, c4, c5])
    return dict(zip(PIECES, t / epochs))


def fit_epoch(make, X, y):
    """Seconds per epoch of ``make(k).fit(X, y)``: a 3-epoch fit less a 1-epoch
    fit (the set-up cancels)."""
    times = {}
    for k in (1, 3):
        est = make(k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            est.fit(X, y)
            times[k] = time.perf_counter() - start
    return (times[3] - times[1]) / 2


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 rows")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (the best counts)")
    add_save_argument(parser)
    args = parser.parse_args(argv)
    from sklearn.neural_network import MLPClassifier

    from skoptim import MLPClassifierPlus

    report = Report()
    report_header(report, "# P1's epoch without the engine: the floor under MLPClassifierPlus",
                  "bench_mlp_floor.py", argv)
    n = 10_000 if args.quick else 60_000
    X64, y, _, _ = make_mnist_like(n, 10)
    batch = 128
    report(f"data: {n:,} x 784 MNIST-style images (bench_mlp.py's), 784-128-10 ReLU, "
           f"Adam, batch {batch}; best of {args.rounds} rounds; a fit's epoch is a "
           "3-epoch fit less a 1-epoch fit")
    report()
    rows = []
    for dtype in (np.float32, np.float64):
        X = np.ascontiguousarray(X64, dtype=dtype)
        common = dict(hidden_layer_sizes=(128,), solver="adam", alpha=1e-4,
                      batch_size=batch, learning_rate_init=1e-3, random_state=0)
        ours = lambda k: MLPClassifierPlus(max_iter=k, n_iter_no_change=k + 1,  # noqa: E731
                                           **common)
        theirs = lambda k: MLPClassifier(max_iter=k, n_iter_no_change=k + 1,  # noqa: E731
                                         **common)
        ours(1).fit(X[:512], y[:512])  # compiled kernels loaded
        best = None
        fit_ours = fit_theirs = float("inf")
        for _ in range(args.rounds):  # the contenders take turns
            pieces = floor_epoch(X, y, dtype, batch)
            if best is None or sum(pieces.values()) < sum(best.values()):
                best = pieces
            fit_ours = min(fit_ours, fit_epoch(ours, X, y))
            fit_theirs = min(fit_theirs, fit_epoch(theirs, X, y))
        floor = sum(best.values())
        name = np.dtype(dtype).name
        for piece, seconds in best.items():
            rows.append([name, f"bare loop: {piece}", f"{seconds:.3f}", ""])
        rows.append([name, "bare loop: the epoch", f"{floor:.3f}",
                     f"{fit_theirs / floor:.2f}x"])
        rows.append([name, "MLPClassifierPlus fit", f"{fit_ours:.3f}",
                     f"{fit_theirs / fit_ours:.2f}x"])
        rows.append([name, "MLPClassifier fit", f"{fit_theirs:.3f}", "1.00x"])
        report(f"- {name}: 2x scikit-learn needs an epoch of {fit_theirs / 2:.3f} s; "
               f"the bare loop takes {floor:.3f} s "
               f"({'under' if floor < fit_theirs / 2 else 'above'} it), "
               f"MLPClassifierPlus {fit_ours:.3f} s ({fit_ours / floor:.2f}x the bare loop)")
    report()
    report(format_table(["dtype", "what", "s/epoch", "scikit-learn's time / its"], rows,
                        align="llrr"))
    save_results(args, "bench_mlp_floor_quick.txt" if args.quick else "bench_mlp_floor.txt",
                 report.text())


if __name__ == "__main__":
    main()
