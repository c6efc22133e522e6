"""What a run leaves on disk to be read without TensorBoard: its console log and metrics.

- ``log.txt``: every line the loop prints, as printed, each after the time elapsed since
  the session started (``[0:04:05] step 400/3000 …``);
- ``metrics.jsonl``: one JSON object a line for every summary step's scalars
  (``"kind": "train"``) and every evaluation (``"kind": "eval"``), each with its
  ``step``, ``time`` (Unix seconds), ``elapsed`` (seconds into its session) and
  ``train_seconds`` (seconds the run has spent training, over all its sessions:
  evaluations, samples, summaries and checkpoints not counted), the metrics under the
  names of the log line. ``pandas.read_json(path, lines=True)`` reads it.

Both grow across the sessions of a run. A resumed session first drops the records past
the step it resumes from (a session killed after logging a step its checkpoint does not
hold), so each step is recorded once. On a file system that cannot append (``gs://``,
``ram://``), each file is rewritten whole at ``flush``; locally, each line is appended and
flushed as it comes, so a killed run keeps every line it printed.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import time
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from dcgan.io import storage

LOG_NAME = "log.txt"
METRICS_NAME = "metrics.jsonl"
# The elapsed time before each line ``History.say`` prints.
_ELAPSED = re.compile(r"^\[\d+:\d\d:\d\d\] ")


def format_clock(seconds: float) -> str:
    """Elapsed time as ``H:MM:SS`` (``0:04:05``), the prefix of each log line."""
    minutes, secs = divmod(max(0, int(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def strip_elapsed(line: str) -> str:
    """A line ``History.say`` printed, without the elapsed time before it (for a program
    that reads a run's stdout)."""
    return _ELAPSED.sub("", line)


class History:
    """The console of one session and the run's history files.

    Lines said before ``open`` (while the run is prepared, before its workdir may be
    written) go to stdout at once and to ``log.txt`` when it opens.

    Args:
        clock: seconds on a monotonic clock (the elapsed time of each line).
        wall: seconds since the epoch (the ``time`` of each record).
        out: where lines are printed.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        out=None,
    ):
        self._clock, self._wall = clock, wall
        self._out = out
        self._start = clock()
        self._pending: list[str] = []  # log lines said before open
        self._files: dict[str, _File] = {}
        self._evaluations: list[dict] = []  # the run's eval records, read once at open
        self._training: Callable[[], float] | None = None
        self._trained_before = 0.0  # train_seconds of the earlier sessions' last record

    def elapsed(self) -> float:
        """Seconds since the session started."""
        return self._clock() - self._start

    def say(self, text: str) -> None:
        """Prints ``text`` after the elapsed time and keeps it in ``log.txt``."""
        line = f"[{format_clock(self.elapsed())}] {text}"
        print(line, file=self._out or sys.stdout, flush=True)
        if self._files:
            self._files[LOG_NAME].write(line)
        else:
            self._pending.append(line)

    def open(self, directory: str, step: int) -> None:
        """Starts writing ``log.txt`` and ``metrics.jsonl`` in ``directory``.

        Args:
            directory: the run's workdir, checked writable.
            step: the step the session starts at; records past it are dropped.
        """
        metrics = _File(os.path.join(directory, METRICS_NAME))
        kept = metrics.keep(lambda line: _step_of(line) <= step)
        records = [json.loads(line) for line in kept]
        self._evaluations = [record for record in records if record.get("kind") == "eval"]
        # A resumed session goes on from its last record: the time trained after it, up
        # to the interruption, is lost with the steps the checkpoint does not hold.
        self._trained_before = max((r.get("train_seconds") or 0.0 for r in records), default=0.0)
        self._files = {LOG_NAME: _File(os.path.join(directory, LOG_NAME)), METRICS_NAME: metrics}
        for line in self._pending:
            self._files[LOG_NAME].write(line)
        self._pending = []

    def time_training(self, seconds: Callable[[], float]) -> None:
        """From now on, ``seconds()`` is how long this session has trained: each record's
        ``train_seconds`` adds it to the earlier sessions'."""
        self._training = seconds

    def record(self, kind: str, step: int, values: dict[str, float]) -> None:
        """Appends a record of ``values`` at ``step`` to ``metrics.jsonl``.

        Args:
            kind: ``train`` (a summary step's scalars) or ``eval`` (an evaluation).
            step: the generator step.
            values: metric name -> number; a NaN or infinity is written as null.
        """
        record = {
            "kind": kind,
            "step": int(step),
            "time": round(self._wall(), 3),
            "elapsed": round(self.elapsed(), 3),
        }
        if self._training is not None:
            record["train_seconds"] = round(self._trained_before + self._training(), 3)
        for name, value in values.items():
            if _is_integer(value):
                record[name] = int(value)
            else:
                number = float(value)
                record[name] = number if math.isfinite(number) else None
        self._files[METRICS_NAME].write(json.dumps(record))
        if kind == "eval":
            self._evaluations.append(record)

    def evaluations(self) -> list[dict]:
        """The run's evaluations recorded so far, this session's and earlier ones'."""
        return list(self._evaluations)

    def flush(self) -> None:
        """Writes what a file system that cannot append holds in memory."""
        for file in self._files.values():
            file.flush()


class _File:
    """A text file of lines, appended to locally, rewritten whole elsewhere."""

    def __init__(self, path: str):
        self.path = path
        self._local = storage.is_local(path)
        self._lines: list[str] = []  # the whole file, where it is rewritten
        if not self._local and tf.io.gfile.exists(path):
            self._lines = storage.read_text(path).splitlines()

    def keep(self, wanted: Callable[[str], bool]) -> list[str]:
        """Drops the lines that are not ``wanted``; the file is rewritten if any went.

        Returns:
            The lines kept.
        """
        if not self._local:
            self._lines = [line for line in self._lines if wanted(line)]
            self.flush()
            return list(self._lines)
        if not os.path.exists(self.path):
            return []
        with open(self.path) as f:
            lines = f.read().splitlines()
        kept = [line for line in lines if wanted(line)]
        if len(kept) != len(lines):
            storage.write_text(self.path, "".join(f"{line}\n" for line in kept))
        return kept

    def write(self, line: str) -> None:
        if self._local:
            with open(self.path, "a") as f:
                f.write(f"{line}\n")
        else:
            self._lines.append(line)

    def flush(self) -> None:
        if not self._local:
            storage.write_text(self.path, "".join(f"{line}\n" for line in self._lines))


def _is_integer(value) -> bool:
    """Whether ``value`` (a number, NumPy scalar or tensor) is a count, kept exact."""
    if isinstance(value, tf.Tensor):
        return value.dtype.is_integer
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _step_of(line: str) -> float:
    """The step of a ``metrics.jsonl`` line; infinite (dropped on resume) for a line that
    is no record: the last line of a session killed while writing it."""
    try:
        return json.loads(line)["step"]
    except (ValueError, KeyError, TypeError):
        return math.inf
