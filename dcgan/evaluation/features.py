"""Feature spaces for FID, KID and the k-NN metrics: domain classifiers and InceptionV3.

A **domain classifier** is a small CNN trained on a labeled set of the domain a GAN
learns (``dcgan.classifier`` trains one). Its penultimate layer, ``features``, is a
feature space that needs no download, and its last layer's logits give the class of a
generated sample, so a run can count the classes it covers. One for the built-in glyphs
ships with the package (``SHIPPED_CLASSIFIERS``). The standard InceptionV3 pool features
are read from weights on local disk: nothing is downloaded at run time.

A classifier is saved as ``NAME.keras`` with a record ``NAME.json`` beside it: the data
it learned, its class names, its input shape and its held-out accuracy.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from dcgan.data import labeled as labeled_data

_CHUNK = 256  # images per extractor call, to bound memory
INCEPTION_WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
FEATURE_LAYER = "features"
_ASSETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets")
#: Classifiers that ship with the package, by dataset: the default feature space of an
#: image run on that dataset (``--eval_classifier=''``).
SHIPPED_CLASSIFIERS = {"glyphs": os.path.join(_ASSETS, "glyphs_classifier.keras")}


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
        features, classes = [], []
        for start in range(0, len(images), _CHUNK):
            chunk_features, logits = self.extract(images[start : start + _CHUNK])
            features.append(chunk_features)
            if logits is not None:
                classes.append(np.argmax(logits, axis=-1))
        return np.concatenate(features), (np.concatenate(classes) if classes else None)


def inception_extractor(weights_path: str | None = None) -> Extractor:
    """InceptionV3's 2048-d average-pool features at 299 px: the standard FID features.

    Args:
        weights_path: the no-top weights file; default the Keras cache,
            ``~/.keras/models/`` + ``INCEPTION_WEIGHTS_FILE`` (``$KERAS_HOME`` moves it).

    Returns:
        The extractor; it has no classes (the weights have no top).

    Raises:
        EvaluationError: if the weights file is missing or does not fit the network.
    """
    if weights_path is None:
        home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
        weights_path = os.path.join(home, "models", INCEPTION_WEIGHTS_FILE)
    if not os.path.isfile(weights_path):
        raise EvaluationError(
            f"InceptionV3 weights not found at {weights_path}: nothing is downloaded at run "
            f"time, so put {INCEPTION_WEIGHTS_FILE} there, or pass --eval_classifier=PATH "
            "(train one with python -m dcgan.classifier)"
        )
    network = keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg")
    try:
        network.load_weights(weights_path)
    except (ValueError, OSError) as e:
        raise EvaluationError(f"{weights_path} does not hold InceptionV3 weights ({e})") from None

    def extract(images: np.ndarray) -> tuple[np.ndarray, None]:
        # Inception expects RGB in [-1, 1] at 299 px; our images already use that range.
        batch = _fit_input(images, (299, 299, 3))
        return network(batch, training=False).numpy(), None

    return Extractor(extract, f"InceptionV3 pool3 (2048-d) from {weights_path}")


def classifier_extractor(path: str, *, layer: str | None = None) -> Extractor:
    """A saved Keras classifier's activations at ``layer`` (default: its penultimate).

    Images are resized to the classifier's input size and turned gray or RGB to match
    its channels, so a classifier of 32 px glyphs measures a 64 px glyph run too. The
    classes are the argmax of the model's output: its last layer is taken to be logits
    (or probabilities) over classes.

    Raises:
        EvaluationError: if the file cannot be loaded or has no such layer.
    """
    if not tf.io.gfile.exists(path):
        raise EvaluationError(
            f"no classifier at {path}: train one with python -m dcgan.classifier "
            f"--dataset=... --output={path}"
        )
    try:
        model = keras.models.load_model(path, compile=False)
    except (ValueError, OSError) as e:
        raise EvaluationError(f"cannot load a Keras model from {path} ({e})") from None
    names = [candidate.name for candidate in model.layers]
    if len(names) < 2 and not layer:
        raise EvaluationError(f"{path} has one layer, {names}: it has no penultimate layer")
    chosen = layer or names[-2]
    if chosen not in names:
        raise EvaluationError(f"{path} has no layer {chosen!r}; its layers: {', '.join(names)}")
    outputs = model.outputs[0]
    if len(model.outputs) != 1 or len(outputs.shape) != 2:
        raise EvaluationError(
            f"{path} is not a classifier: its output must be one [batch, classes] tensor, "
            f"got {[tuple(o.shape) for o in model.outputs]}"
        )
    both = keras.Model(model.inputs, [model.get_layer(chosen).output, outputs])
    input_shape = tuple(model.inputs[0].shape[1:])

    def extract(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        features, logits = both(_fit_input(images, input_shape), training=False)
        return np.reshape(features.numpy(), [len(images), -1]), logits.numpy()

    return Extractor(
        extract, f"{os.path.basename(path)} layer {chosen}", num_classes=int(outputs.shape[-1])
    )


def _fit_input(images: np.ndarray, input_shape: tuple) -> tf.Tensor:
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


def default_classifier(dataset: str) -> str | None:
    """The classifier that ships for ``dataset``, or None (then InceptionV3 is the default)."""
    return SHIPPED_CLASSIFIERS.get(dataset)


def make_extractor(*, classifier: str, layer: str, dataset: str) -> Extractor:
    """The feature space of an image run: ``classifier``, the one shipped for ``dataset``,
    or InceptionV3.

    Raises:
        EvaluationError: if the classifier or the Inception weights cannot be loaded.
    """
    path = classifier or default_classifier(dataset)
    if path:
        return classifier_extractor(path, layer=layer or None)
    return inception_extractor()


# -- Training a domain classifier ------------------------------------------------------


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
