"""``python -m skoptim``: the demo and the benchmark suite.

``python -m skoptim demo`` trains each skoptim estimator next to its
scikit-learn counterpart on data that ships with scikit-learn, with the same
settings and then with what skoptim adds, runs a small grid search over
optimizers and schedules, and prints a table. ``python -m skoptim bench`` runs
the benchmark scripts of a clone of the repository.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import subprocess
import sys
from pathlib import Path

# (script, arguments of a quick run, what it measures)
BENCHMARKS = [
    ("bench_quality.py", [], "test scores next to scikit-learn, 5 seeds"),
    ("bench_sizes.py", ["--quick"], "SGDRegressorPlus vs SGDRegressor, 100 to 10,000 rows"),
    ("bench_sgd.py", ["--quick"], "time to a target R² (SPEC P2)"),
    ("bench_mlp.py", ["--quick"], "784-128-10 MLP epochs vs scikit-learn and PyTorch"),
    ("bench_mlp_regressor.py", ["--quick"], "784-128-1 MLPRegressorPlus epochs, the same"),
    ("bench_mlp_floor.py", ["--quick"],
     "P1's epoch as a bare loop of skoptim's kernels: the floor under the MLP's epoch"),
    ("bench_exact.py", ["--quick"], "the exact mode (batch_size=1) vs scikit-learn's loop"),
    ("bench_time_to_accuracy.py", ["--quick"],
     "time to a target R² / accuracy over sizes, regression and classification"),
    ("bench_scaling.py", ["--quick"], "time per epoch over rows and hidden widths"),
    ("bench_text.py", ["--quick"], "SGDClassifierPlus vs SGDClassifier on hashed text"),
]


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m skoptim",
        description="skoptim's demo and benchmarks.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo", help="train each Plus estimator next to scikit-learn's (about a minute)",
        description=(
            "Train SGDClassifierPlus, SGDRegressorPlus, MLPClassifierPlus and "
            "MLPRegressorPlus next to their scikit-learn counterparts on digits, "
            "breast cancer, diabetes and Friedman #1 (scaled; a quarter held out), "
            "first with the same settings, then with what skoptim adds (AdamW with a "
            "cosine schedule, per-layer dropout, L1 sparsity, early stopping with the "
            "best epoch restored), and run a grid search over optimizers, a nested "
            "optimizer parameter and schedules. Prints the test score, fit time, "
            "epochs and non-zero weights of each, and writes the loss curves to a "
            "PNG file when matplotlib is installed."),
    )
    demo.add_argument("--figure", default="skoptim_demo.png",
                      help="where to write the loss curves (default: %(default)s); "
                           "'' for none")
    bench = sub.add_parser(
        "bench", help="run the benchmark scripts of a repository clone",
        description=(
            "Run the scripts under benchmarks/ of a clone of the repository, one "
            "after the other, each in its own process: "
            + "; ".join(f"{name} ({what})" for name, _, what in BENCHMARKS)
            + ". Quick runs by default; --full runs the recorded configurations "
            "(tens of minutes)."),
    )
    bench.add_argument("names", nargs="*", help="scripts to run (default: all)")
    bench.add_argument("--full", action="store_true",
                       help="full runs instead of quick ones")
    bench.add_argument("--save", action="store_true",
                       help="write the reports to benchmarks/results/")
    return parser


def _benchmarks_dir():
    for root in (Path(__file__).resolve().parent.parent, Path.cwd()):
        if (root / "benchmarks" / "bench_quality.py").exists():
            return root
    return None


def _bench(args):
    root = _benchmarks_dir()
    if root is None:
        print("The benchmarks live in the repository, not in the installed package: "
              "run `python -m skoptim bench` from a clone (pip install -e . there).",
              file=sys.stderr)
        return 2
    known = {name: (extra, what) for name, extra, what in BENCHMARKS}
    names = args.names or list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        print(f"Unknown benchmark {unknown}; choose from {list(known)}.", file=sys.stderr)
        return 2
    status = 0
    for name in names:
        extra, what = known[name]
        command = [sys.executable, str(root / "benchmarks" / name),
                   *([] if args.full else extra), *(["--save"] if args.save else [])]
        print(f"== {name}: {what}\n$ {' '.join(command[1:])}", flush=True)
        status = max(status, subprocess.call(command, cwd=root))
    return status


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from skoptim._demo import run_demo

        run_demo(figure=args.figure or None)
        return 0
    return _bench(args)


if __name__ == "__main__":
    sys.exit(main())
