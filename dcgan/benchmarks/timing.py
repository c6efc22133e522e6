"""How the benchmarks time and report: windows and their median, peak memory, text tables.

A figure is the median of several timed windows after warm-up: one slow window (the
other user of a shared machine, a page fault, Python's garbage collector) then moves
it little, and the spread of the windows says how steady the machine was.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence


def window_times(
    call: Callable[[], object], *, windows: int, calls: int, warmup: int = 0
) -> list[float]:
    """Seconds per call of ``call`` in each of ``windows`` windows of ``calls`` calls.

    ``call`` must wait for its work to finish (read a result back): a timer stopped while
    the device still runs measures only the dispatch.

    Args:
        call: one unit of work.
        windows: timed windows, >= 1.
        calls: calls per window, >= 1.
        warmup: untimed calls first (tracing, caches, allocator growth).

    Returns:
        ``windows`` durations in seconds, each a window's time divided by ``calls``.

    Raises:
        ValueError: for windows or calls < 1, or warmup < 0.
    """
    if windows < 1 or calls < 1 or warmup < 0:
        raise ValueError(
            f"windows={windows}, calls={calls}, warmup={warmup}: need windows >= 1, "
            "calls >= 1, warmup >= 0"
        )
    for _ in range(warmup):
        call()
    times = []
    for _ in range(windows):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        times.append((time.perf_counter() - start) / calls)
    return times


def interleaved_window_times(
    calls: Mapping[str, tuple[Callable[[], object], int]], *, windows: int, rewarm: int = 0
) -> dict[str, list[float]]:
    """``window_times`` of several calls, their windows interleaved: window 1 of each,
    then window 2 of each, and so on (warm them first).

    A machine whose load drifts (another user, thermal limits) then slows all of them
    alike, and the ratios between them hold; timed one after the other, one timed in a
    busy minute would look slow next to one timed in a quiet one.

    Args:
        calls: name -> (one unit of work that waits for its result, calls per window).
        windows: timed windows of each.
        rewarm: untimed calls before each window: the other calls in between evict
            what a call had cached (oneDNN keeps a bounded cache of compiled kernels),
            which its first call after them rebuilds.

    Returns:
        name -> ``windows`` durations in seconds per call.
    """
    times = {name: [] for name in calls}
    for _ in range(windows):
        for name, (call, count) in calls.items():
            times[name] += window_times(call, windows=1, calls=count, warmup=rewarm)
    return times


def median(values: Sequence[float]) -> float:
    """The median of ``values`` (the mean of the middle two for an even count).

    Raises:
        ValueError: for no values.
    """
    if not values:
        raise ValueError("median of no values")
    return statistics.median(values)


def peak_rss_mib() -> float:
    """The process's peak resident memory so far (everything run before included)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes vs KiB


def render_table(rows: Sequence[Sequence[str]], *, left: int = 1) -> str:
    """Aligns text rows into columns: the first ``left`` left-aligned, the rest right.

    Args:
        rows: the header first, then one row per record, all of the same length.
        left: how many leading columns hold names rather than numbers.
    """
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    align = [str.ljust] * left + [str.rjust] * (len(widths) - left)
    return "\n".join(
        "  ".join(a(c, w) for a, c, w in zip(align, row, widths, strict=True)).rstrip()
        for row in rows
    )
