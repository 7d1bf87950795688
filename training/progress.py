"""The progress of a training run, as log records of the logger ``training.progress``.

A run has a known number of steps (each fold's model fits, baselines and classifiers, then the
leakage audit, the final refit, the report and the registration). The command line draws a
progress bar with an estimate from these records; elsewhere (a scheduled run) they are debug
lines of the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger("training.progress")
AFTER_FOLDS = ("leakage audit", "final refit", "report", "registration")


@dataclass
class Steps:
    title: str
    total: int
    done: int = 0

    @classmethod
    def for_training(cls, title: str, folds: int, families: int) -> Steps:
        """Per fold: each family's fit, the baselines, the classifiers; then AFTER_FOLDS."""
        return cls(title, folds * (families + 2) + len(AFTER_FOLDS))

    def step(self, what: str) -> None:
        self.done = min(self.done + 1, self.total)
        log.debug("%s: %s (%d of %d)", self.title, what, self.done, self.total,
                  extra={"progress": {"title": self.title, "step": what, "done": self.done,
                                      "total": self.total}})
