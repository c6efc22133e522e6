"""The eager outer loop of a run: restore, step, log, summarize, sample, checkpoint.

All I/O of training happens here, between calls of the compiled ``Trainer.train_step``.
"""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

from dcgan import config as config_lib
from dcgan import data, images, plots
from dcgan.config import Config
from dcgan.trainer import Trainer, build_trainer
from dcgan.workdir import Workdir

# The order of the columns of the stdout log line; other metrics follow.
_LOG_FIRST = ("d_loss", "g_loss")


def prepare(config: Config) -> tuple[Trainer, tf.data.Dataset, Workdir, tf.train.CheckpointManager]:
    """Validates the run against its workdir and data, builds it, and restores it.

    Nothing is written before every check has passed, so a refused run leaves the
    workdir as it was.

    Raises:
        ConfigError: if the workdir holds a different run.
        data.DataError: if the data is missing or unreadable.
        CheckpointError: if the latest checkpoint does not match the networks.
    """
    workdir = Workdir(config.workdir)
    saved = workdir.saved_config()
    if saved is not None:
        config_lib.check_resumable(saved, config)
    dataset = data.make_dataset(
        config.dataset,
        batch_size=config.batch_size,
        seed=config.seed,
        image_size=config.image_size,
        channels=config.channels,
        data_dir=config.data_dir or None,
    )
    # Weight initialization draws from Keras' global seed.
    keras.utils.set_random_seed(config.seed)
    trainer = build_trainer(config)
    checkpoint = tf.train.Checkpoint(**trainer.checkpoint_items())
    workdir.restore(checkpoint)
    # A restore brings back the saved learning rates; the flags of this run win.
    trainer.set_learning_rates(g_lr=config.g_lr, d_lr=config.d_lr)
    manager = workdir.checkpoint_manager(checkpoint, keep=config.keep_checkpoints)
    workdir.save_config(config)
    return trainer, dataset, workdir, manager


def train(config: Config) -> Trainer:
    """Trains until ``config.train_steps`` generator updates, resuming if possible.

    Returns:
        The trainer, at step ``config.train_steps``.
    """
    trainer, dataset, workdir, manager = prepare(config)
    step = int(trainer.step.numpy())
    if step >= config.train_steps:
        print(
            f"workdir {config.workdir} is at step {step} >= --train_steps={config.train_steps}:"
            " nothing to do",
            flush=True,
        )
        return trainer
    print(
        f"{'resuming from' if step else 'starting at'} step {step}; "
        f"training to step {config.train_steps} in {config.workdir}",
        flush=True,
    )
    writer = workdir.summary_writer()
    if step == 0:
        _write_samples(trainer, workdir, writer, config, step)

    iterator = iter(dataset)
    last_log_step, last_log_time = step, time.perf_counter()
    steps_per_sec = float("nan")
    while step < config.train_steps:
        metrics = trainer.train_step(iterator)
        step += 1
        final = step == config.train_steps
        if step % config.log_every == 0 or final:
            now = time.perf_counter()
            steps_per_sec = (step - last_log_step) / (now - last_log_time)
            last_log_step, last_log_time = step, now
            print(_log_line(step, config.train_steps, metrics, steps_per_sec), flush=True)
        if step % config.summary_every == 0 or final:
            with writer.as_default(step=step):
                for name, value in metrics.items():
                    tf.summary.scalar(name, value)
                if np.isfinite(steps_per_sec):
                    tf.summary.scalar("steps_per_sec", steps_per_sec)
        if step % config.image_every == 0 or final:
            _write_samples(trainer, workdir, writer, config, step)
        if step % config.checkpoint_every == 0 or final:
            manager.save(checkpoint_number=step)
    writer.flush()
    print(f"done at step {step}; checkpoint {manager.latest_checkpoint}", flush=True)
    return trainer


def _log_line(step: int, total: int, metrics: dict, steps_per_sec: float) -> str:
    names = [*_LOG_FIRST, *sorted(set(metrics) - set(_LOG_FIRST))]
    values = " ".join(f"{name}={float(metrics[name]):.4f}" for name in names)
    return f"step {step}/{total} {values} steps_per_sec={steps_per_sec:.2f}"


def _write_samples(trainer, workdir, writer, config, step) -> None:
    """Renders the fixed noise: a PNG grid and image summary, or histograms and a plot.

    For vector data the plot (real vs generated with D over them, see ``dcgan.plots``)
    is written as the image summary ``fixed_noise_plot`` and as the sample PNG.
    """
    samples = trainer.generate(trainer.fixed_noise).numpy()
    with writer.as_default(step=step):
        if config.is_image:
            grid = images.make_grid(samples)  # [H, W, C] uint8
            workdir.write_sample_grid(step, grid)
            tf.summary.image("fixed_noise_samples", grid[tf.newaxis])
        else:
            for dim in range(samples.shape[1]):
                tf.summary.histogram(f"fixed_noise_samples/dim{dim}", samples[:, dim])
            plot = vector_plot(trainer, config, samples)  # [H, W, 3] uint8
            workdir.write_sample_grid(step, plot)
            tf.summary.image("fixed_noise_plot", plot[tf.newaxis])


def vector_plot(trainer: Trainer, config: Config, samples: np.ndarray) -> np.ndarray:
    """Draws generated ``samples`` [N, D] against real data, with D's output over them.

    D's output is shown as a probability: sigmoid of the logit for ``--loss=dcgan``; a
    critic's scores have no scale, so they are min-max normalized over the plotted area.
    The real batch comes from a separate pipeline with the run's seed, so the plot never
    takes data from the training iterator.
    """
    real = next(iter(data.make_dataset(config.dataset, batch_size=len(samples), seed=config.seed)))
    real = real.numpy()
    dim = samples.shape[1]
    lo, hi = plots.padded_range(real, samples)
    axis = np.linspace(lo, hi, 200 if dim == 1 else 100, dtype=np.float32)
    if dim == 1:
        points = axis[:, None]  # [200, 1]
    else:
        xs, ys = np.meshgrid(axis, axis[::-1])  # row 0 at the top: y = hi
        points = np.stack([xs.ravel(), ys.ravel()], axis=1)  # [100 * 100, 2]
    scores = trainer.discriminator(points, training=False).numpy().ravel()
    if config.loss == "dcgan":
        d_values = 0.5 * (1.0 + np.tanh(scores / 2.0))  # sigmoid, without overflow
    else:
        d_values = (scores - scores.min()) / max(scores.max() - scores.min(), 1e-12)
    if dim == 1:
        return plots.histogram_1d(real, samples, d_values=d_values, value_range=(lo, hi))
    return plots.scatter_2d(
        real, samples, d_grid=d_values.reshape(len(axis), len(axis)), extent=(lo, hi)
    )
