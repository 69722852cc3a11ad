"""Hold Ctrl-C off a few statements that must happen together (store a trial, count it).

Without this, a SIGINT that lands between writing a trial to the database and adding it to the
run's history leaves a stored record the run's report does not count.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from types import FrameType
from typing import Iterator


@contextmanager
def sigint_deferred() -> Iterator[None]:
    """Run the body with SIGINT held; a SIGINT that arrived meanwhile is delivered on exit.

    Outside the main thread, or when SIGINT is ignored or not Python's to handle, the body runs as is.
    """
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield
        return
    caught: list[tuple[int, FrameType | None]] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        caught.append((signum, frame))

    signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            previous(*caught[0])
