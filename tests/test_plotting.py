"""The displays of skoptim.plotting (matplotlib optional)."""

import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_iris
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skoptim import MLPClassifierPlus, SGDRegressorPlus
from skoptim.optim import Clock, CosineDecay, ExponentialDecay, InvScaling, StepDecay
from skoptim.plotting import LossCurveDisplay, ScheduleDisplay

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


@pytest.fixture(scope="module")
def fitted():
    X, y = load_iris(return_X_y=True)
    return make_pipeline(StandardScaler(), MLPClassifierPlus(
        hidden_layer_sizes=(8,), max_iter=15, early_stopping=True, random_state=0,
        learning_rate_init=0.01)).fit(X, y)


def test_loss_curve_display_draws_the_fitted_curves(fitted):
    est = fitted[-1]
    display = LossCurveDisplay.from_estimator(fitted, name="mlp")
    loss_line, score_line = display.lines_
    assert_allclose(loss_line.get_ydata(), est.loss_curve_)
    assert_allclose(loss_line.get_xdata(), np.arange(1, len(est.loss_curve_) + 1))
    assert_allclose(score_line.get_ydata(), est.validation_scores_)
    assert display.score_ax_ is not None and display.figure_ is display.ax_.figure
    assert loss_line.get_label() == "mlp: training loss"
    matplotlib.pyplot.close(display.figure_)


def test_loss_curve_displays_share_an_axes_and_its_legend():
    X, y = load_iris(return_X_y=True)
    fig, ax = matplotlib.pyplot.subplots()
    for seed in (0, 1):
        est = SGDRegressorPlus(max_iter=5, tol=None, random_state=seed).fit(X, y)
        LossCurveDisplay.from_estimator(est, ax=ax, name=f"seed {seed}")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "seed 0: training loss", "seed 1: training loss"]
    matplotlib.pyplot.close(fig)


def test_loss_curve_display_refuses_an_unfitted_estimator():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(SGDRegressorPlus())


@pytest.mark.parametrize("schedule, counter", [
    (CosineDecay(warmup_steps=7), "step"),
    (ExponentialDecay(gamma=0.5), "epoch"),
    (StepDecay(step_size=2, gamma=0.1), "epoch"),
    (InvScaling(power_t=0.5), "n_samples_seen"),
], ids=["cosine", "exponential", "step", "invscaling"])
def test_schedule_display_runs_the_schedule_on_its_counter(schedule, counter):
    """Each rate is the schedule's at the clock of that step (steps, epochs and
    samples seen advance together)."""
    display = ScheduleDisplay.from_schedule(schedule, base_lr=0.1, n_epochs=4,
                                            steps_per_epoch=5, batch_size=3, plot=False)
    assert display.steps == list(range(20))
    for step, rate in zip(display.steps, display.rates):
        clock = Clock(step=step, epoch=step // 5, n_samples_seen=3.0 * step,
                      total_steps=20)
        assert rate == pytest.approx(schedule.rate(0.1, clock))


def test_schedule_display_plots_against_epochs():
    display = ScheduleDisplay.from_schedule("exponential", base_lr=0.1, n_epochs=3,
                                            steps_per_epoch=4, x="epoch")
    assert_allclose(display.lines_[0].get_xdata(), np.arange(12) / 4)
    assert display.ax_.get_xlabel() == "epoch"
    matplotlib.pyplot.close(display.figure_)


def test_adaptive_schedule_display_reacts_to_stalled_metrics():
    display = ScheduleDisplay.from_schedule("adaptive", base_lr=0.1, n_epochs=4,
                                            steps_per_epoch=1, metrics=[1.0, 2.0, 0.5, 0.6],
                                            plot=False)
    assert display.rates == pytest.approx([0.1, 0.1, 0.02, 0.02])


def test_without_matplotlib_the_error_names_the_plot_extra():
    code = ("import sys; sys.modules['matplotlib'] = None; "
            "sys.modules['matplotlib.pyplot'] = None\n"
            "from skoptim.plotting import ScheduleDisplay\n"
            "try:\n    ScheduleDisplay.from_schedule('constant')\n"
            "except ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "skoptim[plot]" in out and "ScheduleDisplay needs matplotlib" in out
