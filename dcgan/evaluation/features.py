"""Feature spaces for FID, KID and the k-NN metrics: domain classifiers and InceptionV3.

A **domain classifier** (``dcgan.evaluation.classifiers`` trains one) is a small CNN
trained on a labeled set of the domain a GAN learns. Its penultimate layer is a feature
space that needs no download, and its last layer's logits give the class of a generated
sample, so a run can count the classes it covers. One for the built-in glyphs ships with
the package (``SHIPPED_CLASSIFIERS``). The standard InceptionV3 pool features need
Keras's InceptionV3 weights: read from the Keras cache, and fetched into it, as Keras
does, where they are missing (unless ``$DCGAN_OFFLINE`` is set); a machine without
network gets one line that says where to put the file.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from dcgan.evaluation.choices import SHIPPED_CLASSIFIER_DATASETS
from dcgan.io import storage

_CHUNK = 256  # images per extractor call, to bound memory
INCEPTION_WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
# Where keras.applications.InceptionV3 fetches the file, and its MD5, which
# keras.utils.get_file checks.
INCEPTION_WEIGHTS_URL = (
    f"https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
    f"{INCEPTION_WEIGHTS_FILE}"
)
INCEPTION_WEIGHTS_MD5 = "bcbd6486424b2319ff4ef7d526e38f63"
# Set (to anything but ""), nothing is fetched: the user's word that there is no network.
OFFLINE_ENV = "DCGAN_OFFLINE"
# Seconds a fetch waits on a silent connection, so that a firewalled machine fails
# rather than hangs.
FETCH_TIMEOUT = 60
# dcgan/assets, beside the subpackages: declared as package data in setup.cfg.
_ASSETS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "assets")
#: Classifiers that ship with the package, by dataset: the default feature space of an
#: image run on that dataset (``--eval_classifier=''``).
SHIPPED_CLASSIFIERS = {
    dataset: os.path.join(_ASSETS, f"{dataset}_classifier.keras")
    for dataset in SHIPPED_CLASSIFIER_DATASETS
}


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


def inception_extractor(
    weights_path: str | None = None, *, fetch: Callable[..., str] | None = None
) -> Extractor:
    """InceptionV3's 2048-d average-pool features at 299 px: the standard FID features.

    Args:
        weights_path: the no-top weights file; default the Keras cache,
            ``~/.keras/models/`` + ``INCEPTION_WEIGHTS_FILE`` (``$KERAS_HOME`` moves it),
            fetched there if it is missing.
        fetch: what fetches the default file, called as ``keras.utils.get_file`` (the
            default) is; returns the file's path.

    Returns:
        The extractor; it has no classes (the weights have no top).

    Raises:
        EvaluationError: if the weights file is missing and cannot be fetched, or does
            not fit the network.
    """
    if weights_path is None:
        weights_path = _cached_inception_weights(fetch or keras.utils.get_file)
    elif not os.path.isfile(weights_path):
        raise EvaluationError(f"InceptionV3 weights not found at {weights_path}")
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


def _cached_inception_weights(fetch: Callable[..., str]) -> str:
    """The path of the InceptionV3 weights in the Keras cache, fetched if missing."""
    home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    path = os.path.join(home, "models", INCEPTION_WEIGHTS_FILE)
    if os.path.isfile(path):
        return path
    allowed = (
        "allowed: that file there (README, Evaluation), or --eval_classifier=PATH "
        "(python -m dcgan.classifier trains one)"
    )
    if os.environ.get(OFFLINE_ENV):
        raise EvaluationError(
            f"InceptionV3 weights not found at {path}, and ${OFFLINE_ENV} forbids fetching "
            f"them; {allowed}"
        )
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(FETCH_TIMEOUT)
    try:
        return fetch(
            INCEPTION_WEIGHTS_FILE,
            INCEPTION_WEIGHTS_URL,
            cache_subdir="models",
            file_hash=INCEPTION_WEIGHTS_MD5,
        )
    except Exception as e:  # noqa: BLE001 - no network, a proxy, a bad hash: one line
        # Keras says "URL fetch failure on <url>: <errno> -- <reason>": the cause is last.
        reason = storage.reason(e, limit=1000).rpartition(" -- ")[2]
        reason = reason if len(reason) <= 60 else reason[:57] + "..."
        raise EvaluationError(
            f"InceptionV3 weights not found at {path}, and fetching them failed ({reason}); "
            f"{allowed}"
        ) from None
    finally:
        socket.setdefaulttimeout(previous)


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
    except Exception as e:  # a file of another kind fails anywhere in Keras's reader
        raise EvaluationError(
            f"cannot load a Keras model from {path} ({type(e).__name__}: "
            f"{storage.reason(e, limit=120)}); allowed: a .keras file that "
            "python -m dcgan.classifier or keras.Model.save wrote"
        ) from None
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
