"""The lines the loop prints: what a run trains, and its progress every ``--log_every``.

``step 40/3000 d_loss=… g_loss=… … steps_per_sec=12.31 eta=4m05s``: the losses first,
the other metrics in name order, the counters of bad updates and skipped images only
once they are not zero. ``dcgan.run.history`` prints them after the elapsed time.
"""

from __future__ import annotations

import math

import tensorflow as tf

from dcgan import data
from dcgan.distribute import devices

# The order of the columns of the stdout log line; other metrics follow.
_LOG_FIRST = ("d_loss", "g_loss")


def describe(config, trainer, cluster) -> str:
    """The first line of a session: the data, the networks, the objective, the devices and
    the precision.

    Args:
        config: the run (``dcgan.config.Config``).
        trainer: its built trainer (``dcgan.step.trainer.Trainer``).
        cluster: its devices (``dcgan.distribute.devices.Cluster``).

    Returns:
        e.g. ``glyphs 28x28x1 (11,904 images), batch 64 | DCGAN nets: G 1,024,321 and D 102,977
        parameters | loss dcgan, lr G 0.0002 D 0.0002 | default strategy, 1 replica on
        CPU:0 | float32``; a conditional run's nets say ``conditioned on 62 classes
        (projection)``.
    """
    shape = trainer.generator.output_shape[1:]
    source = "x".join(map(str, shape)) if config.is_image else f"{shape[-1]}-d vectors"
    size = data.source_size(
        config.dataset,
        data_dir=config.data_dir or None,
        data_file=config.data_file or None,
        data_pattern=config.data_pattern or None,
    )
    if size:
        source += f" ({size})"
    nets = (
        {"dcgan": "DCGAN nets", "resnet": "ResNets"}[config.architecture]
        if config.is_image
        else "MLPs"
    )
    g_params = trainer.generator.count_params()
    d_params = trainer.discriminator.count_params()
    if config.conditioning != "none":
        nets += f" conditioned on {config.num_classes} classes ({config.conditioning})"
    replicas = f"{cluster.num_replicas} replica{'s' if cluster.num_replicas > 1 else ''}"
    workers = f" on {cluster.num_workers} workers" if cluster.num_workers > 1 else ""
    short = [name.rpartition("device:")[2] for name in devices.compute_devices(cluster.strategy)]
    where = f" on {','.join(short)}"
    return (
        f"{config.dataset} {source}, batch {config.batch_size} | {nets}: G {g_params:,} and "
        f"D {d_params:,} parameters | loss {config.loss}, lr G {config.g_lr:g} D "
        f"{config.d_lr:g} | {config.strategy} strategy, {replicas}{workers}{where} | "
        f"{config.precision}"
    )


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
