"""Stopping a run on SIGINT or SIGTERM: the first asks, a second aborts.

The handler only records the signal; the loop checks it between steps, so the step in
flight finishes and a checkpoint is written.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator


class StopRequest:
    """The signal that asked the run to stop, once one has."""

    signal: int | None = None


@contextlib.contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """Turns the first SIGINT/SIGTERM into a stop request; a second one aborts at once.

    The handler only records the signal: the loop checks it between steps, so the step
    in flight finishes and a checkpoint is written.
    """
    request = StopRequest()

    def handle(signum, frame):
        if request.signal is not None:
            print(
                f"second signal ({signal.Signals(signum).name}): aborting without saving",
                file=sys.stderr,
                flush=True,
            )
            os._exit(128 + signum)
        request.signal = signum
        print(f"got {signal.Signals(signum).name}: stopping after this step", flush=True)

    watched = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.getsignal(sig) for sig in watched}
    for sig in watched:
        signal.signal(sig, handle)
    try:
        yield request
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
