"""Training a domain classifier, the feature space of a domain without InceptionV3.

``build_classifier`` is a small CNN whose penultimate layer, ``features``, is the feature
space of evaluation; ``train_classifier`` trains it on dimmed, blurred and noisy copies
of a labeled set (``augment``) and reports its held-out accuracy. A classifier is saved
as ``NAME.keras`` with a record ``NAME.json`` beside it: the data it learned, its class
names, its input shape and its held-out accuracy (``save_classifier``, ``load_record``).
``dcgan.classifier`` is the command; ``dcgan.evaluation.features`` reads the result.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from dcgan.data import labeled as labeled_data

FEATURE_LAYER = "features"


def build_classifier(
    input_shape: tuple[int, int, int],
    num_classes: int,
    *,
    width: int = 32,
    feature_units: int = 128,
) -> keras.Model:
    """A small CNN: three strided 3x3 ReLU convolutions, then ``features``, then ``logits``.

    Widths ``width``, 2 ``width``, 4 ``width``; the penultimate layer ``features``
    (``feature_units``, ReLU) is the feature space of evaluation, the last layer
    ``logits`` has one unit per class. No batch norm: its moving statistics made the
    held-out accuracy of a pooled variant collapse (41 % against 95 % on the glyphs), and
    a feature space should not depend on them. The features see the flattened map, not a
    pooled one, so where a stroke lies counts.
    """
    inputs = keras.Input(input_shape)
    x = inputs
    for multiple in (1, 2, 4):
        x = keras.layers.Conv2D(width * multiple, 3, strides=2, padding="same", activation="relu")(
            x
        )
    x = keras.layers.Flatten()(x)
    features = keras.layers.Dense(feature_units, activation="relu", name=FEATURE_LAYER)(x)
    logits = keras.layers.Dense(num_classes, name="logits")(features)
    return keras.Model(inputs, logits, name="domain_classifier")


def split(num_examples: int, *, held_out: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and held-out examples: a seeded shuffle, the last
    ``held_out`` fraction held out (at least one example each)."""
    order = np.random.default_rng(seed).permutation(num_examples)
    count = min(max(1, round(held_out * num_examples)), num_examples - 1)
    return np.sort(order[:-count]), np.sort(order[-count:])


#: Ranges of the training augmentation (see ``augment``).
GAIN_RANGE = (0.5, 1.0)
BLUR_SIGMA_RANGE = (0.0, 1.0)
NOISE_STDDEV_RANGE = (0.0, 0.1)
_BLUR_RADIUS = 2


def augment(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Images in [-1, 1] made dimmer, blurrier and noisier, the way a generator errs.

    Each image's intensity above black is scaled by a gain drawn from ``GAIN_RANGE``
    (black stays black); the batch is blurred by a Gaussian of a standard deviation
    drawn from ``BLUR_SIGMA_RANGE`` pixels; each image gets Gaussian noise with a
    standard deviation drawn from ``NOISE_STDDEV_RANGE``. Trained on clean renders only,
    a classifier's features move with brightness far more than with shape: dimming the
    real glyphs to 0.8 of their intensity took their FID from 21 to 3,709, a systematic
    one-pixel shift only to 108. A feature space for evaluation must weigh what a
    sample shows over how bright it is.

    Args:
        images: ``[B, H, W, C]`` in [-1, 1].
        seed: a ``[2]`` integer seed of the stateless draws.

    Returns:
        The augmented images, ``[B, H, W, C]`` in [-1, 1].
    """
    gain_seed, blur_seed, scale_seed, noise_seed = tf.unstack(
        tf.random.experimental.stateless_split(seed, 4)
    )
    batch = tf.shape(images)[0]
    gain = tf.random.stateless_uniform([batch, 1, 1, 1], gain_seed, *GAIN_RANGE)
    images = (images + 1.0) * gain - 1.0
    images = gaussian_blur(images, tf.random.stateless_uniform([], blur_seed, *BLUR_SIGMA_RANGE))
    stddev = tf.random.stateless_uniform([batch, 1, 1, 1], scale_seed, *NOISE_STDDEV_RANGE)
    images = images + stddev * tf.random.stateless_normal(tf.shape(images), noise_seed)
    return tf.clip_by_value(images, -1.0, 1.0)


def gaussian_blur(images: tf.Tensor, sigma: float | tf.Tensor) -> tf.Tensor:
    """``images [B, H, W, C]`` blurred by a 5x5 Gaussian of standard deviation ``sigma``
    pixels (0: unchanged), with mirrored borders."""
    sigma = tf.maximum(tf.cast(sigma, tf.float32), 1e-3)  # 0 would divide by zero
    taps = tf.range(-_BLUR_RADIUS, _BLUR_RADIUS + 1, dtype=tf.float32)
    kernel = tf.exp(-0.5 * (taps / sigma) ** 2)
    kernel = kernel / tf.reduce_sum(kernel)
    channels = images.shape[-1]
    kernel = tf.tile((kernel[:, None] * kernel[None, :])[:, :, None, None], [1, 1, channels, 1])
    # Mirrored borders: zero padding would be mid-gray in [-1, 1].
    pad = [[0, 0], [_BLUR_RADIUS, _BLUR_RADIUS], [_BLUR_RADIUS, _BLUR_RADIUS], [0, 0]]
    return tf.nn.depthwise_conv2d(
        tf.pad(tf.convert_to_tensor(images, tf.float32), pad, mode="SYMMETRIC"),
        kernel,
        [1, 1, 1, 1],
        "VALID",
    )


def train_classifier(
    labeled: labeled_data.LabeledImages,
    *,
    epochs: int,
    batch_size: int = 128,
    held_out: float = 0.1,
    seed: int = 0,
    augmented: bool = True,
    log: Callable[[str], None] = print,
) -> tuple[keras.Model, dict]:
    """Trains ``build_classifier`` on ``labeled`` with Adam and reports held-out accuracy.

    Images enter in [-1, 1], the range of the generator's outputs that it will judge;
    with ``augmented``, every training batch goes through ``augment``. The held-out
    accuracy is measured on the images as they are.

    Returns:
        ``(model, record)``; the record holds the held-out accuracy and the split's sizes.
    """
    keras.utils.set_random_seed(seed)
    train, test = split(len(labeled.labels), held_out=held_out, seed=seed)
    images = labeled.images.astype(np.float32) / 127.5 - 1.0
    model = build_classifier(images.shape[1:], len(labeled.class_names))
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    examples = tf.data.Dataset.from_tensor_slices((images[train], labeled.labels[train]))
    for epoch in range(epochs):
        batches = examples.shuffle(len(train), seed=seed + epoch).batch(batch_size)
        if augmented:
            batches = batches.enumerate().map(
                lambda index, batch, epoch=epoch: (
                    augment(batch[0], tf.stack([tf.constant(seed + epoch, tf.int64), index])),
                    batch[1],
                )
            )
        history = model.fit(batches, epochs=1, verbose=0)
        log(
            f"epoch {epoch + 1}/{epochs}: loss={history.history['loss'][-1]:.4f} "
            f"accuracy={history.history['accuracy'][-1]:.4f}"
        )
    _, accuracy = model.evaluate(images[test], labeled.labels[test], verbose=0)
    record = {
        "held_out_accuracy": float(accuracy),
        "num_train": len(train),
        "num_held_out": len(test),
        "held_out": held_out,
        "epochs": epochs,
        "batch_size": batch_size,
        "seed": seed,
        "augmented": augmented,
    }
    return model, record


def record_path(path: str) -> str:
    """The JSON record beside a classifier: ``NAME.keras`` -> ``NAME.json``."""
    return os.path.splitext(path)[0] + ".json"


def save_classifier(model: keras.Model, path: str, record: dict) -> None:
    """Writes the model to ``path`` (``.keras``) and ``record`` beside it as JSON.

    Only the network is saved, not the optimizer's state, which would triple the file.
    """
    plain = keras.Model(model.inputs, model.outputs, name=model.name)  # same layers, no optimizer
    # Written beside and renamed into place: a failed save leaves an existing classifier
    # and its record as they were.
    temporary = path + ".tmp.keras"
    plain.save(temporary)
    with tf.io.gfile.GFile(record_path(path) + ".tmp", "w") as f:
        f.write(json.dumps(record, indent=2, sort_keys=True) + "\n")
    tf.io.gfile.rename(temporary, path, overwrite=True)
    tf.io.gfile.rename(record_path(path) + ".tmp", record_path(path), overwrite=True)


def load_record(path: str) -> dict | None:
    """The JSON record beside the classifier at ``path``, or None if it has none."""
    try:
        with tf.io.gfile.GFile(record_path(path)) as f:
            return json.loads(f.read())
    except (tf.errors.NotFoundError, json.JSONDecodeError):
        return None
