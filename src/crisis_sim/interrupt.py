"""Ctrl-C as a request: stop once the chunk in hand is committed.

Python's own KeyboardInterrupt can strike anywhere, even inside a garbage-collector callback,
where it is printed and ignored and the run goes on to the end. Commands therefore turn the
first SIGINT into a flag, set as soon as they start work (before the result file exists), which
the commit loop checks; a second SIGINT stops at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

_active: list[Callable[[], bool]] = []  # the checker of the handler in place, if any


@contextmanager
def stop_on_ctrl_c() -> Iterator[Callable[[], bool]]:
    """Turn Ctrl-C into a request to stop once the chunk in hand is committed.

    Yields a function that says whether a stop was requested. Nested uses share the outer
    handler, so a Ctrl-C caught while the command prepares is seen by the commit loop.
    """
    import signal
    import sys
    import threading

    if _active:
        yield _active[-1]
        return
    requested: list[bool] = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return

    def handler(signum: int, frame: object) -> None:
        if requested:
            raise KeyboardInterrupt
        requested.append(True)
        if sys.stderr.isatty():
            print(
                "\ncrisis-sim: stopping after the current chunk (Ctrl-C again: at once)",
                file=sys.stderr,
            )

    previous = signal.signal(signal.SIGINT, handler)
    _active.append(lambda: bool(requested))
    try:
        yield _active[-1]
    finally:
        _active.pop()
        signal.signal(signal.SIGINT, previous)
