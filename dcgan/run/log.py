"""The stdout line the loop prints every ``--log_every`` steps.

``step 40/3000 d_loss=… g_loss=… … steps_per_sec=12.31 eta=4m05s``: the losses first,
the other metrics in name order, the counters of bad updates and skipped images only
once they are not zero.
"""

from __future__ import annotations

import math

import tensorflow as tf

# The order of the columns of the stdout log line; other metrics follow.
_LOG_FIRST = ("d_loss", "g_loss")


def log_line(step: int, total: int, metrics: dict, steps_per_sec: float) -> str:
    quiet = {"nonfinite_updates", "skipped_images"}  # shown once they are not zero
    names = [*_LOG_FIRST, *sorted(set(metrics) - set(_LOG_FIRST) - quiet)]
    names += [name for name in sorted(quiet) if name in metrics and int(metrics[name])]
    values = " ".join(f"{name}={format_metric(metrics[name])}" for name in names)
    # At the speed of the last interval; NaN or 0 steps/s leave it unknown ("?").
    if step >= total:
        eta = format_duration(0.0)
    elif steps_per_sec > 0:  # False for NaN too
        eta = format_duration((total - step) / steps_per_sec)
    else:
        eta = format_duration(math.inf)
    return f"step {step}/{total} {values} steps_per_sec={steps_per_sec:.2f} eta={eta}"


def format_duration(seconds: float) -> str:
    """A duration, compactly: ``12s``, ``4m05s``, ``1h02m`` (seconds dropped past an hour).

    Args:
        seconds: the duration; rounded to whole seconds first.

    Returns:
        The text; ``?`` for a NaN, infinite or negative duration.
    """
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def format_metric(value: tf.Tensor) -> str:
    return str(int(value)) if value.dtype.is_integer else f"{float(value):.4f}"
