"""The ``cryptovol`` executable: decides whether a command runs under the supervisor before
importing anything heavy (the supervisor itself needs only the standard library)."""

from __future__ import annotations

import os
import sys

# Commands that run long work get a supervisor: a signal stops them within seconds.
SUPERVISED = {"pipeline", "train", "ingest", "drift", "refresh", "monitor", "retrain", "schedule", "replay",
              "pull", "stream"}


def main() -> None:
    from cryptovol.processes import SUPERVISED_ENV, supervise

    argv = sys.argv[1:]
    command = next((a for a in argv if not a.startswith("-")), None)
    if command in SUPERVISED and not os.environ.get(SUPERVISED_ENV):
        sys.exit(supervise(argv))
    from cryptovol.cli.app import main as run

    run(argv)
