"""``python -m skoptim``: the demo and the benchmark launcher."""

import os
import subprocess
import sys

import pytest

from skoptim.__main__ import BENCHMARKS, main


def _run(*args, cwd):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "skoptim", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_demo_prints_every_estimator_next_to_scikit_learns_and_writes_the_figure(tmp_path):
    pytest.importorskip("matplotlib")
    result = _run("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    for name in ("sklearn MLPClassifier", "MLPClassifierPlus", "sklearn SGDClassifier",
                 "SGDClassifierPlus", "sklearn SGDRegressor", "SGDRegressorPlus",
                 "sklearn MLPRegressor", "MLPRegressorPlus", "GridSearchCV"):
        assert name in out
    assert "[13/13]" in out  # progress while it runs
    assert (tmp_path / "skoptim_demo.png").stat().st_size > 0
    assert "loss curves written to skoptim_demo.png" in out
    # L1 shows exact zeros: fewer non-zero weights than weights.
    sparse = [line for line in out.splitlines() if "sparse weights" in line
              and "/" in line.split()[-1]]
    assert sparse and all(int(line.split()[-1].split("/")[0])
                          < int(line.split()[-1].split("/")[1]) for line in sparse)


def test_demo_help_explains_it(tmp_path):
    result = _run("demo", "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "scikit-learn counterparts" in result.stdout and "--figure" in result.stdout


def test_bench_lists_its_scripts_and_refuses_unknown_ones(capsys):
    assert main(["bench", "bench_nothing.py"]) == 2
    assert "Unknown benchmark" in capsys.readouterr().err
    help_text = subprocess.run([sys.executable, "-m", "skoptim", "bench", "--help"],
                               capture_output=True, text=True, check=True).stdout
    for name, _, _ in BENCHMARKS:
        assert name in help_text


def test_readme_commands_are_the_demo_and_the_ci_test_command():
    """The README's first command runs the demo; its test command is .ci/run's."""
    from pathlib import Path

    root = Path(__file__).parents[1]
    readme = (root / "README.md").read_text()
    commands = [block.split("```")[0].strip() for block in readme.split("```bash\n")[1:]]
    assert commands[0].endswith("python -m skoptim demo")
    test_command = next(c for c in commands if c.endswith("python -m pytest"))
    assert test_command in (root / ".ci" / "run").read_text()
