"""What a feature network is to the metrics: images in [-1, 1] to features and classes.

``dcgan.evaluation.features`` makes one from a domain classifier, and
``dcgan.evaluation.inception`` from either InceptionV3.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import tensorflow as tf

_CHUNK = 256  # images per extractor call, to bound memory


class EvaluationError(RuntimeError):
    """A missing or unusable feature extractor; the message is one line."""


@dataclasses.dataclass(frozen=True)
class Extractor:
    """Maps images ``[N, H, W, C]`` in [-1, 1] to features and, if it can, classes.

    Attributes:
        extract: ``images -> (features [N, D], logits [N, K] or None)``, one chunk.
        description: which network and layer, recorded with every FID.
        num_classes: K, the classes of the logits; 0 for a network without classes.
    """

    extract: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray | None]]
    description: str
    num_classes: int = 0

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(features [N, D], predicted classes [N] or None)``, computed in chunks."""
        features, logits = self.with_logits(images)
        return features, (None if logits is None else np.argmax(logits, axis=-1))

    def with_logits(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(features [N, D], class logits [N, K] or None)``, computed in chunks."""
        features, logits = [], []
        for start in range(0, len(images), _CHUNK):
            chunk_features, chunk_logits = self.extract(images[start : start + _CHUNK])
            features.append(chunk_features)
            if chunk_logits is not None:
                logits.append(chunk_logits)
        return np.concatenate(features), (np.concatenate(logits) if logits else None)


def fit_input(images: np.ndarray, input_shape: tuple) -> tf.Tensor:
    """``images`` resized and converted to a network's ``(H, W, C)`` input."""
    batch = tf.convert_to_tensor(images, tf.float32)
    height, width, channels = input_shape
    if height is not None and tuple(batch.shape[1:3]) != (height, width):
        batch = tf.image.resize(batch, [height, width], antialias=True)
    if channels == 3 and batch.shape[-1] == 1:
        batch = tf.image.grayscale_to_rgb(batch)
    elif channels == 1 and batch.shape[-1] == 3:
        batch = tf.reduce_mean(batch, axis=-1, keepdims=True)
    return batch
