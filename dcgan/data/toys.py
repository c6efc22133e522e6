"""The toy vector sets: 1-D and 2-D Gaussian mixtures sampled on the fly.

``gaussian1d`` is the standard normal; ``ring2d`` (8 modes on the unit circle) and
``grid2d`` (25 modes on a 5 x 5 grid) are the mode-coverage sets of the GAN literature,
whose centers :mod:`dcgan.evaluation` needs to score samples. Nothing is stored: each
batch is drawn from the seed and the batch's index.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from dcgan.data.choices import VECTOR_DATASETS
from dcgan.data.common import DataError


def mixture_centers(name: str) -> tuple[np.ndarray, float]:
    """Returns the mode centers and per-axis stddev of a 2-D Gaussian mixture set.

    Args:
        name: ``"ring2d"`` (8 modes on the unit circle) or ``"grid2d"`` (5 x 5 grid).

    Returns:
        A ``[K, 2]`` float64 array of centers (a fresh copy) and the stddev.

    Raises:
        DataError: If ``name`` is not a mixture set.
    """
    if name == "ring2d":
        angles = 2 * np.pi * np.arange(8) / 8
        return np.stack([np.cos(angles), np.sin(angles)], axis=1), 0.01
    if name == "grid2d":
        xs, ys = np.meshgrid(np.arange(-4.0, 5.0, 2.0), np.arange(-4.0, 5.0, 2.0), indexing="ij")
        return np.stack([xs.ravel(), ys.ravel()], axis=1), 0.05
    raise DataError(f"mixture_centers: unknown mixture {name!r}; choose one of: ring2d, grid2d")


def toy_dataset(
    name: str, *, batch_size: int, seed: int, shard: tuple[int, int] = (1, 0)
) -> tf.data.Dataset:
    """An infinite, prefetched dataset of ``[batch_size, dim]`` float32 samples of a toy set.

    Args:
        name: One of :data:`VECTOR_DATASETS`.
        batch_size: Samples per batch.
        seed: Non-negative seed; batch ``k`` depends only on ``(seed, k)``.
        shard: ``(n, i)``: worker i of n draws batches i, i + n, … of the one-worker
            stream, so no two workers draw the same batch.

    Returns:
        The dataset; it holds no state beyond its counter, so resuming needs no data.
    """
    dim = VECTOR_DATASETS[name]
    if name == "gaussian1d":
        centers, stddev = np.zeros((1, 1)), 1.0
    else:
        centers, stddev = mixture_centers(name)
    centers = tf.constant(centers, tf.float32)
    num_modes = centers.shape[0]
    seed = tf.constant(seed, tf.int64)

    def sample(step: tf.Tensor) -> tf.Tensor:
        # Batch `step` depends only on (seed, step): no state to save when resuming.
        mode_seed, noise_seed = tf.unstack(
            tf.random.experimental.stateless_split(tf.stack([seed, step]), num=2)
        )
        modes = tf.random.stateless_uniform(
            [batch_size], seed=mode_seed, minval=0, maxval=num_modes, dtype=tf.int32
        )
        noise = tf.random.stateless_normal([batch_size, dim], seed=noise_seed)
        return tf.gather(centers, modes) + stddev * noise

    num_shards, index = shard
    dataset = tf.data.Dataset.counter(start=index, step=num_shards).map(
        sample, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    return dataset.prefetch(tf.data.AUTOTUNE)
