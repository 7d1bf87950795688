"""A progress bar with an estimate, drawn from the ``progress`` log records of long work
(``training.progress``): the work only logs its steps, the command line draws them."""

from __future__ import annotations

import logging

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

SOURCES = ("training.progress",)


class ProgressBars(logging.Handler):
    """One bar per title (a training run per horizon), advanced by each record's ``progress``."""

    def __init__(self, console: Console):
        super().__init__(level=logging.DEBUG)
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                                 console=console, transient=False, disable=not console.is_terminal)
        self.tasks: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        info = getattr(record, "progress", None)
        if not info:
            return
        title = info["title"]
        if title not in self.tasks:
            self.progress.start()
            self.tasks[title] = self.progress.add_task(title, total=info["total"])
        self.progress.update(self.tasks[title], completed=info["done"],
                             description=f"{title}: {info['step']}")
        if info["done"] >= info["total"]:
            self.progress.update(self.tasks[title], description=f"{title}: done")
            if all(task.finished for task in self.progress.tasks):
                self.progress.stop()  # the results print below the finished bars

    def close(self) -> None:
        self.progress.stop()
        super().close()


def attach(console: Console) -> ProgressBars:
    """Draw the progress records of :data:`SOURCES` on ``console`` (the log's own console, so
    that log lines print above the bars)."""
    bars = ProgressBars(console)
    for name in SOURCES:
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False  # the steps are drawn, not printed as lines
        logger.addHandler(bars)
    return bars
