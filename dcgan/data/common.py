"""What every source module shares: the error type, argument checks, pixel conversion.

Each module of :mod:`dcgan.data` turns one kind of source into examples; they all report
problems as :class:`DataError` and convert pixels with :func:`to_model_range`, so every
source yields the same ranges and shapes.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


class DataError(ValueError):
    """Bad or missing input data; message is one line."""


def check_int(what: str, value: object, *, minimum: int) -> None:
    """Raises DataError unless ``value`` is an integer (not a bool) >= ``minimum``."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise DataError(f"{what} must be an integer >= {minimum}, got {value!r}")


def to_model_range(
    pixels: tf.Tensor, *, image_size: int, channels: int, resize_method: str = "bilinear"
) -> tf.Tensor:
    """uint8-valued pixels ``[..., H, W, C]`` (C = 1 or 3) as float32 in [-1, 1] at
    ``image_size`` with ``channels``: one image or a batch.

    Gray is tiled to RGB; RGB becomes the rounded gray the image decoders would give.
    Images already at ``image_size`` (static shape) are not resampled.
    """
    pixels = tf.cast(pixels, tf.float32)
    if channels == 3 and pixels.shape[-1] == 1:
        pixels = tf.concat([pixels] * 3, axis=-1)
    elif channels == 1 and pixels.shape[-1] == 3:
        pixels = tf.round(tf.image.rgb_to_grayscale(pixels))
    if tuple(pixels.shape[-3:-1]) != (image_size, image_size):
        pixels = tf.image.resize(pixels, [image_size, image_size], resize_method, antialias=True)
    # Float rounding in resize can step a hair outside the range the models expect.
    return tf.clip_by_value(pixels / 127.5 - 1.0, -1.0, 1.0)
