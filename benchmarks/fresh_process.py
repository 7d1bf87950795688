"""Run one measurement in a fresh (spawned) process, so that its peak RSS is its own."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable


def in_fresh_process(target: Callable, *args) -> dict:
    """Call ``target(*args, queue)`` in a spawned process; return what it put on the queue."""
    context = mp.get_context("spawn")
    queue = context.Queue()
    proc = context.Process(target=target, args=(*args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result
