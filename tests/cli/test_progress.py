"""Training's steps reach the terminal as a progress bar with the time left; in a log (no
terminal) they stay debug lines, and the run's own log lines still print."""

from __future__ import annotations

import io
import logging

from rich.console import Console

from cryptovol.cli.progress import ProgressBars, attach
from training.progress import AFTER_FOLDS, Steps


def test_a_training_run_counts_every_fit_of_every_fold_then_what_follows():
    steps = Steps.for_training("training m", folds=4, families=2)
    assert steps.total == 4 * (2 + 2) + len(AFTER_FOLDS)


def test_the_steps_draw_a_bar_with_an_estimate_on_a_terminal():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    bars = attach(console)
    try:
        steps = Steps.for_training("training crypto-vol-forecaster-1d-h7", folds=2, families=2)
        for _ in range(steps.total - 1):
            steps.step("fold 1 of 2: lightgbm")
        assert not bars.progress.tasks[0].finished
        steps.step("registration")
        task = bars.progress.tasks[0]
        assert task.finished and task.completed == task.total == 12
        assert "left" in out.getvalue() and "12/12" in out.getvalue()
        assert "training crypto-vol-forecaster-1d-h7: done" in out.getvalue()
    finally:
        logger = logging.getLogger("training.progress")
        logger.removeHandler(bars)
        logger.propagate = True


def test_without_a_terminal_nothing_is_drawn():
    bars = ProgressBars(Console(file=io.StringIO(), force_terminal=False))
    assert bars.progress.disable
