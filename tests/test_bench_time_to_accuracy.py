"""benchmarks/bench_time_to_accuracy.py (issue #12) runs end to end on tiny
sizes and prints one table per task with every contender; its timings are not
checked here (performance is measured by the benchmark, never by tests)."""

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))
from benchmarks import bench_time_to_accuracy as bench  # noqa: E402


def test_bayes_accuracy_of_the_classification_labels():
    # No threshold: the closed form 1 - arccos(corr) / pi.
    assert math.isclose(bench.bayes_accuracy(0.81, 0.0), 1 - math.acos(0.9) / math.pi,
                        abs_tol=1e-6)
    r2 = bench.r2_for_bayes_accuracy(0.9, bench.CLASS_THRESHOLD)
    assert 0 < r2 < 1
    assert math.isclose(bench.bayes_accuracy(r2, bench.CLASS_THRESHOLD), 0.9, abs_tol=1e-6)


def test_tiny_run_prints_a_table_per_task_with_every_contender(capsys):
    rows = bench.main(["--sizes", "2000", "--max-k", "3", "--repeats", "1",
                       "--n-test", "2000"])
    out = capsys.readouterr().out

    assert "## Machine" in out and "- CPU:" in out
    assert "learning_rate='invscaling'" in out and "learning_rate='constant'" in out
    tables = {}
    for task in ("regression", "classification"):
        names = bench.TASKS[task]
        heading = f"### {task}: {names['plus']}() vs {names['sklearn']}"
        assert heading in out
        table = out.split(heading)[1].split("\n\n")[1]
        header = table.splitlines()[0]
        for column in (names["optimum"], f"sklearn {names['sklearn']} default",
                       "sklearn best-tuned", f"{names['plus']} default",
                       "tuned/Plus (>=1)", "default/Plus (>=3)", "verdict"):
            assert column in header
        body = table.splitlines()[2:]
        assert [line.split("|")[2].strip() for line in body] == ["dense", "sparse"]
        assert all(line.split("|")[1].strip() == "2,000" for line in body)
        assert all(line.rstrip(" |").split("|")[-1].strip() in
                   ("MET", "NOT MET", "undecided") for line in body)
        tables[task] = table
        # Every contender was scanned: the Plus default, sklearn's default and grid.
        assert len(rows[task]) == 2
        default, plus, grid = bench.contenders(task, bench.parse_args([]))
        for contender in (default, plus, *grid):
            assert out.count(contender.name) == 2  # its scan line, once per storage
        for row in rows[task]:
            assert row.plus.curve and row.default.curve
            assert len(row.grid) == 1 + len(grid)
    assert "## Summary" in out
    assert "time per size: 2,000 rows" in out
    assert "not written" in out
