"""Displays in scikit-learn's style: the training curves of a fitted estimator
and the curve of any learning-rate schedule.

Like :class:`sklearn.metrics.RocCurveDisplay`, each display holds the data it
draws, builds from an estimator (or schedule) with a class method and draws
with :meth:`plot`, keeping the matplotlib objects in ``ax_``, ``figure_`` and
``lines_``. matplotlib is imported only when something is drawn; without it a
clear error names the ``plot`` extra.
"""

# SPDX-License-Identifier: BSD-3-Clause

from sklearn.utils.validation import check_is_fitted

from skoptim.optim import Clock, resolve_schedule

__all__ = ["LossCurveDisplay", "ScheduleDisplay"]

PLOT_INSTALL_HINT = 'pip install "skoptim[plot]"'


def _pyplot(caller):
    """matplotlib's pyplot, or an ImportError that says how to get it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # the optional dependency is missing
        raise ImportError(
            f"{caller} needs matplotlib, which is not installed. Install skoptim's "
            f"'plot' extra: {PLOT_INSTALL_HINT} (or pip install matplotlib)."
        ) from exc
    return plt


def _axes(ax, caller):
    if ax is None:
        _, ax = _pyplot(caller).subplots()
    return ax


class LossCurveDisplay:
    """The training loss (and the validation score) of a fitted estimator, per
    epoch (or L-BFGS iteration).

    Build it with :meth:`from_estimator`, or from the curves themselves.

    Parameters
    ----------
    loss_curve : list of float
        The objective after each epoch (``loss_curve_``).
    validation_scores : list of float or None, default=None
        The validation score after each epoch (``validation_scores_``), drawn
        on a second y axis.
    estimator_name : str or None, default=None
        The name shown in the legend.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes of the loss.
    score_ax_ : matplotlib Axes or None
        The second axes, of the validation score.
    figure_ : matplotlib Figure
        The figure holding the axes.
    lines_ : list of matplotlib Line2D
        The curves drawn.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from skoptim import MLPClassifierPlus
    >>> from skoptim.plotting import LossCurveDisplay
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifierPlus(hidden_layer_sizes=(8,), max_iter=20,
    ...                         random_state=0).fit(X, y)  # doctest: +SKIP
    >>> display = LossCurveDisplay.from_estimator(clf)  # doctest: +SKIP
    """

    def __init__(self, loss_curve, validation_scores=None, estimator_name=None):
        self.loss_curve = loss_curve
        self.validation_scores = validation_scores
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None, **kwargs):
        """Draw the curves of a fitted skoptim estimator.

        Parameters
        ----------
        estimator : fitted estimator
            Any skoptim estimator (it has ``loss_curve_``); in a
            :class:`~sklearn.pipeline.Pipeline`, its last step is used.
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.
        name : str, default=None
            The legend's name; the estimator's class name when None.
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot` for the loss.

        Returns
        -------
        display : LossCurveDisplay
        """
        if hasattr(estimator, "steps"):
            estimator = estimator.steps[-1][1]
        check_is_fitted(estimator)
        if not hasattr(estimator, "loss_curve_"):
            raise TypeError(
                f"{type(estimator).__name__} has no loss_curve_: pass a fitted skoptim "
                "estimator (or a pipeline ending with one)."
            )
        display = cls(list(estimator.loss_curve_),
                      getattr(estimator, "validation_scores_", None),
                      name or type(estimator).__name__)
        return display.plot(ax=ax, **kwargs)

    def plot(self, ax=None, *, name=None, **kwargs):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.
        name : str, default=None
            The legend's name; ``estimator_name`` when None.
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot` for the loss.

        Returns
        -------
        display : LossCurveDisplay
            This object, with ``ax_``, ``figure_`` and ``lines_`` set.
        """
        ax = _axes(ax, "LossCurveDisplay")
        name = name or self.estimator_name
        epochs = range(1, len(self.loss_curve) + 1)
        label = "training loss" if name is None else f"{name}: training loss"
        self.lines_ = ax.plot(epochs, self.loss_curve, label=label, **kwargs)
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss")
        self.score_ax_ = None
        if self.validation_scores:
            score_ax = ax.twinx()
            label = "validation score" if name is None else f"{name}: validation score"
            self.lines_ += score_ax.plot(range(1, len(self.validation_scores) + 1),
                                         self.validation_scores, linestyle="--",
                                         color="tab:orange", label=label)
            score_ax.set_ylabel("validation score")
            self.score_ax_ = score_ax
        # Every curve of the axes in one legend (several estimators may share it).
        handles = ax.get_legend_handles_labels()[0]
        ax.legend(handles=handles + [h for h in self.lines_ if h not in handles],
                  loc="best")
        self.ax_, self.figure_ = ax, ax.figure
        return self


class ScheduleDisplay:
    """A learning-rate schedule's rate over steps or epochs.

    Build it with :meth:`from_schedule`, which runs the schedule on a
    simulated clock: ``steps_per_epoch`` optimizer steps per epoch, each of
    ``batch_size`` samples, so that every schedule finds the counter it reads
    (steps, epochs or samples seen; see :class:`~skoptim.optim.Clock`).

    Parameters
    ----------
    steps : list of int
        The step of each rate (from 0).
    rates : list of float
        The learning rate of each step.
    steps_per_epoch : int
        Steps in one epoch, to draw against epochs.
    schedule_name : str or None, default=None
        The name shown in the legend.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    lines_ : list of matplotlib Line2D

    Examples
    --------
    >>> from skoptim.optim import CosineDecay
    >>> from skoptim.plotting import ScheduleDisplay
    >>> display = ScheduleDisplay.from_schedule(
    ...     CosineDecay(warmup_steps=10), base_lr=0.1, n_epochs=5, steps_per_epoch=20,
    ...     plot=False)
    >>> round(max(display.rates), 3), display.rates[0] < display.rates[10]
    (0.1, True)
    """

    def __init__(self, steps, rates, steps_per_epoch, schedule_name=None):
        self.steps = steps
        self.rates = rates
        self.steps_per_epoch = steps_per_epoch
        self.schedule_name = schedule_name

    @classmethod
    def from_schedule(cls, schedule, *, base_lr=0.01, n_epochs=10, steps_per_epoch=100,
                      batch_size=1, metrics=None, power_t=0.5, x="step", ax=None,
                      name=None, plot=True, **kwargs):
        """Run ``schedule`` for ``n_epochs`` epochs and draw its rate.

        Parameters
        ----------
        schedule : str or Schedule
            A name of :mod:`skoptim.optim` (``'cosine'``, ``'step'``, ...) or
            a schedule object.
        base_lr : float, default=0.01
            The base rate (``learning_rate_init`` or ``eta0``).
        n_epochs : int, default=10
            Epochs to run.
        steps_per_epoch : int, default=100
            Optimizer steps (mini-batches) per epoch.
        batch_size : int, default=1
            Samples per step, for schedules that count samples.
        metrics : list of float or None, default=None
            The monitored value (lower is better) at the end of each epoch,
            for metric-driven schedules (``'plateau'``, ``'adaptive'``); an
            ``'adaptive'`` schedule also sees a stall after each epoch that
            does not improve on the best metric.
        power_t : float, default=0.5
            The exponent of ``'invscaling'`` when given by name.
        x : {'step', 'epoch'}, default='step'
            The unit of the x axis.
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.
        name : str, default=None
            The legend's name; the schedule's repr when None.
        plot : bool, default=True
            Draw (False only computes the rates, without matplotlib).
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot`.

        Returns
        -------
        display : ScheduleDisplay
        """
        schedule = resolve_schedule(schedule, power_t=power_t)
        state = schedule.init()
        total = n_epochs * steps_per_epoch
        steps, rates, best = [], [], float("inf")
        for epoch in range(n_epochs):
            for k in range(steps_per_epoch):
                step = epoch * steps_per_epoch + k
                clock = Clock(step=step, epoch=epoch, n_samples_seen=float(step * batch_size),
                              total_steps=total)
                steps.append(step)
                rates.append(float(schedule.rate(base_lr, clock, state)))
            if metrics is not None and epoch < len(metrics):
                state = schedule.update(state, metrics[epoch])
                if metrics[epoch] >= best:
                    state, _ = schedule.on_stall(state, base_lr=base_lr)
                best = min(best, metrics[epoch])
        display = cls(steps, rates, steps_per_epoch, name or repr(schedule))
        return display.plot(ax=ax, x=x, **kwargs) if plot else display

    def plot(self, ax=None, *, x="step", name=None, **kwargs):
        """Draw the rates against steps or epochs.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.
        x : {'step', 'epoch'}, default='step'
            The unit of the x axis.
        name : str, default=None
            The legend's name; ``schedule_name`` when None.
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot`.

        Returns
        -------
        display : ScheduleDisplay
            This object, with ``ax_``, ``figure_`` and ``lines_`` set.
        """
        if x not in ("step", "epoch"):
            raise ValueError(f"x must be 'step' or 'epoch'; got {x!r}.")
        ax = _axes(ax, "ScheduleDisplay")
        xs = (self.steps if x == "step"
              else [s / self.steps_per_epoch for s in self.steps])
        self.lines_ = ax.plot(xs, self.rates, label=name or self.schedule_name, **kwargs)
        ax.set_xlabel("optimizer step" if x == "step" else "epoch")
        ax.set_ylabel("learning rate")
        ax.legend(loc="best")
        self.ax_, self.figure_ = ax, ax.figure
        return self
