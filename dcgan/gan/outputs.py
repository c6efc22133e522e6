"""D's outputs as per-example vectors: the one shape check every loss and penalty shares."""

from __future__ import annotations

import tensorflow as tf


def per_example(outputs: tf.Tensor, name: str) -> tf.Tensor:
    """Returns ``outputs`` as shape [B], accepting [B] or [B, 1]."""
    outputs = tf.convert_to_tensor(outputs)
    rank = outputs.shape.rank
    if rank == 1:
        return outputs
    if rank == 2 and outputs.shape[-1] == 1:
        return tf.squeeze(outputs, axis=-1)
    raise ValueError(f"{name} must have shape [B] or [B, 1], got {outputs.shape}")
