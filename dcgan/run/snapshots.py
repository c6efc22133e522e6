"""What the training loop draws from the fixed noise: sample grids, histograms, plots.

Called from the eager loop (``dcgan.run.loop``) every ``--image_every`` steps; it samples
through ``Trainer.generate``, so a run with a weight average shows the average.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from dcgan.config import Config
from dcgan.io import images, plots
from dcgan.run import builder
from dcgan.run.workdir import Workdir
from dcgan.step.trainer import Trainer


def write(trainer: Trainer, config: Config, workdir: Workdir, writer, step: int) -> None:
    """Renders the fixed noise: a PNG grid and image summary, or histograms and a plot.

    For 1-D and 2-D vector data the plot (real vs generated with D over them, see
    ``dcgan.io.plots``) is written as the image summary ``fixed_noise_plot`` and as the
    sample PNG.
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
            if samples.shape[1] <= 2:  # a histogram or a scatter; wider data has none
                plot = vector_plot(trainer, config, samples, step=step)  # [H, W, 3] uint8
                workdir.write_sample_grid(step, plot)
                tf.summary.image("fixed_noise_plot", plot[tf.newaxis])


REAL_GRID_NAME = "real.png"


def write_real(config: Config, workdir: Workdir, writer, num_examples: int) -> str | None:
    """Writes a grid of ``num_examples`` real images once, at the start of an image run:
    ``samples/real.png`` and the image summary ``real_samples`` at step 0, to set beside
    the fixed-noise grids. Vector runs draw the real data in every plot already.

    Returns:
        The PNG's path, or None for a vector run.
    """
    if not config.is_image:
        return None
    grid = images.make_grid(builder.real_examples(config, num_examples))
    tf.io.gfile.makedirs(workdir.samples_dir)
    path = os.path.join(workdir.samples_dir, REAL_GRID_NAME)
    images.write_png(path, grid)
    with writer.as_default(step=0):
        tf.summary.image("real_samples", grid[tf.newaxis])
    return path


def vector_plot(trainer: Trainer, config: Config, samples: np.ndarray, *, step: int) -> np.ndarray:
    """Draws generated ``samples`` [N, D] against real data, with D's output over them.

    The plot's title shows ``step``, the step the samples were taken at.

    D's output is drawn as the objective reads it (``Objective.d_of_x``): a classifier's
    probability of "real", or a critic's scores normalized over the plotted area.
    The real batch comes from a separate pipeline with the run's seed, so the plot never
    takes data from the training iterator.
    """
    real = builder.real_examples(config, len(samples))
    dim = samples.shape[1]
    lo, hi = plots.padded_range(real, samples)
    axis = np.linspace(lo, hi, 200 if dim == 1 else 100, dtype=np.float32)
    if dim == 1:
        points = axis[:, None]  # [200, 1]
    else:
        xs, ys = np.meshgrid(axis, axis[::-1])  # row 0 at the top: y = hi
        points = np.stack([xs.ravel(), ys.ravel()], axis=1)  # [100 * 100, 2]
    # A packing D judges a pack; a point's value is its verdict on a pack of copies.
    packs = np.tile(points, (1, trainer.pack))  # [N, pack * D]
    outputs = trainer.discriminator(packs, training=False).numpy().ravel()
    d_values = trainer.objective.d_of_x(outputs)
    # A critic's scores have no scale: d_of_x maps the plotted ones onto [0, 1].
    d_label = "D(x): critic score, min-max scaled" if trainer.objective.critic else "D(x)"
    if dim == 1:
        return plots.render(
            plots.histogram_figure(
                real, samples, d_values=d_values, value_range=(lo, hi), step=step, d_label=d_label
            )
        )
    return plots.render(
        plots.scatter_figure(
            real,
            samples,
            d_grid=d_values.reshape(len(axis), len(axis)),
            extent=(lo, hi),
            step=step,
            d_label=d_label,
        )
    )
