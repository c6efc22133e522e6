"""Stopping a run on SIGINT or SIGTERM, in seconds, whatever it is doing.

The first signal asks: the loop checks it between steps, so the step in flight finishes
and a checkpoint is written; while the run is still starting, nothing is saved yet and
it stops at once (``RunStopped``). A second signal aborts at once.

Python runs a signal handler only when the main thread runs Python, and a training step
waiting on a stalled input pipeline, file system or device runs none. So a watchdog
thread hears the signals too (``signal.set_wakeup_fd``): if the process has not ended
``STOP_SECONDS`` after the first signal, or a second one comes, it prints one line and
exits without saving. Checkpoints already written stay as they are: a checkpoint being
written when the process exits is never listed, and a resume skips it.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator

WATCHED = (signal.SIGINT, signal.SIGTERM)
# Seconds a stop request waits for the run to end before the watchdog ends it;
# DCGAN_STOP_SECONDS overrides it.
STOP_SECONDS = float(os.environ.get("DCGAN_STOP_SECONDS", "20"))


class RunStopped(BaseException):
    """A signal stopped the run while it was starting; nothing was saved.

    A ``BaseException``, as ``KeyboardInterrupt`` is: the signal can land inside any
    library's ``except Exception`` (``inspect.getfullargspec`` has one, and TensorFlow
    calls it while it loads), which would otherwise turn the user's stop into that
    library's error and a traceback.
    """

    def __init__(self, signum: int):
        super().__init__(f"stopped by {signal.Signals(signum).name} while starting; nothing saved")
        self.signum = signum


class StopRequest:
    """The signal that asked the run to stop, once one has, and what the run is doing.

    Attributes:
        signal: the first signal's number, once the main thread has handled it.
        phase: what the run is doing, for the watchdog's line ("starting", "training",
            "evaluating", …); while "starting", a signal raises ``RunStopped``.
        latest: where the last whole checkpoint is, for the watchdog's line.
    """

    def __init__(self, handler: Callable):
        self.signal: int | None = None
        self.phase = "starting"
        self.latest: Callable[[], str | None] = lambda: None
        self._handler = handler

    def take_back(self) -> None:
        """Installs the handlers again: TensorFlow's coordination service (multi-worker)
        puts a SIGTERM handler of its own in place when its strategy starts."""
        for sig in WATCHED:
            signal.signal(sig, self._handler)


@contextlib.contextmanager
def stop_on_signals(stop_seconds: float = STOP_SECONDS) -> Iterator[StopRequest]:
    """Turns SIGINT and SIGTERM into a ``StopRequest``, with a watchdog behind it.

    Must be entered in the main thread.
    """

    def handle(signum, frame):
        name = signal.Signals(signum).name
        if request.signal is not None:
            _abort(f"second signal ({name}): aborting without saving", signum)
        request.signal = signum
        if request.phase == "starting":
            raise RunStopped(signum)
        print(f"got {name}: stopping after this step", flush=True)

    request = StopRequest(handle)
    previous = {sig: signal.getsignal(sig) for sig in WATCHED}
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)  # the C handler must never block on it
    previous_fd = signal.set_wakeup_fd(write_fd)
    finished = threading.Event()
    watchdog = threading.Thread(
        target=_watch,
        args=(read_fd, request, finished, stop_seconds),
        name="dcgan-stop-watchdog",
        daemon=True,
    )
    for sig in WATCHED:
        signal.signal(sig, handle)
    watchdog.start()
    try:
        yield request
    finally:
        finished.set()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(previous_fd)
        os.close(write_fd)  # ends the watchdog's read
        watchdog.join(timeout=1.0)
        os.close(read_fd)


def _watch(read_fd: int, request: StopRequest, finished: threading.Event, seconds: float):
    """Ends the process ``seconds`` after the first watched signal, or at a second one,
    unless the run finishes first."""
    first = deadline = None
    while not finished.is_set():
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        readable, _, _ = select.select([read_fd], [], [], timeout)
        if readable:
            received = os.read(read_fd, 64)
            if not received:  # the write end closed: the run is over
                return
            for signum in received:
                if signum not in WATCHED or finished.is_set():
                    continue
                if first is not None:
                    name = signal.Signals(signum).name
                    _abort(f"second signal ({name}): aborting without saving", signum)
                first, deadline = signum, time.monotonic() + seconds
        elif deadline is not None and not finished.is_set():
            latest = request.latest()
            kept = f"the latest checkpoint, {latest}, is intact" if latest else "nothing saved"
            _abort(
                f"got {signal.Signals(first).name}, but the run did not stop within "
                f"{seconds:g} s (it was {request.phase}: a stalled input pipeline, file "
                f"system or device?); exiting without saving; {kept}",
                first,
            )


def _abort(message: str, signum: int) -> None:
    print(message, file=sys.stderr, flush=True)
    os._exit(128 + signum)
