"""The two InceptionV3 feature networks FID is measured in, read from disk or fetched.

- ``inception``: Keras's InceptionV3 ImageNet weights, 2,048-d average-pool features at
  299 px. Its FIDs compare with each other, not with papers.
- ``ttur_inception``: the frozen TensorFlow graph of the FID reference implementation
  (Heusel et al. 2017, github.com/bioinf-jku/TTUR; ``classify_image_graph_def.pb`` from
  ``inception-2015-12-05.tgz``), its ``pool_3`` features. The FIDs of papers' tables
  (and of pytorch-fid, which ports this graph) are measured in it.

Both are read from the Keras cache (``~/.keras/models/``, ``$KERAS_HOME`` moves it) and
fetched into it where missing, as ``keras.applications`` does, unless ``$DCGAN_OFFLINE``
is set: a machine without network gets one line that says where to put the file.
"""

from __future__ import annotations

import os
import socket
import tarfile
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from dcgan.evaluation.extractor import EvaluationError, Extractor, fit_input
from dcgan.io import storage

KERAS_WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
# Where keras.applications.InceptionV3 fetches the file, and its MD5, which
# keras.utils.get_file checks.
KERAS_WEIGHTS_URL = (
    f"https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
    f"{KERAS_WEIGHTS_FILE}"
)
KERAS_WEIGHTS_MD5 = "bcbd6486424b2319ff4ef7d526e38f63"
# The graph TTUR's fid.py downloads, and the archive it comes in (no hash is published).
TTUR_GRAPH_FILE = "classify_image_graph_def.pb"
TTUR_ARCHIVE_URL = "http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz"
# TTUR feeds [0, 255] images of any size here; the graph resizes them to 299 px itself.
TTUR_INPUT = "ExpandDims:0"
TTUR_OUTPUT = "pool_3:0"
# Set (to anything but ""), nothing is fetched: the user's word that there is no network.
OFFLINE_ENV = "DCGAN_OFFLINE"
# Seconds a fetch waits on a silent connection, so that a firewalled machine fails
# rather than hangs.
FETCH_TIMEOUT = 60
_ALLOWED = (
    "allowed: that file there (README, Evaluation), or --eval_classifier=PATH "
    "(python -m dcgan.classifier trains one)"
)


def keras_extractor(
    weights_path: str | None = None, *, fetch: Callable[..., str] | None = None
) -> Extractor:
    """Keras's InceptionV3: 2,048-d average-pool features at 299 px.

    Args:
        weights_path: the no-top weights file; default ``KERAS_WEIGHTS_FILE`` in the Keras
            cache, fetched there if it is missing.
        fetch: what fetches the default file, called as ``keras.utils.get_file`` (the
            default) is; returns the file's path.

    Returns:
        The extractor; it has no classes (the weights have no top).

    Raises:
        EvaluationError: if the weights file is missing and cannot be fetched, or does
            not fit the network.
    """
    if weights_path is None:
        weights_path = _cached(
            KERAS_WEIGHTS_FILE,
            "InceptionV3 weights",
            lambda: (fetch or keras.utils.get_file)(
                KERAS_WEIGHTS_FILE,
                KERAS_WEIGHTS_URL,
                cache_subdir="models",
                file_hash=KERAS_WEIGHTS_MD5,
            ),
        )
    elif not os.path.isfile(weights_path):
        raise EvaluationError(f"InceptionV3 weights not found at {weights_path}")
    network = keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg")
    try:
        network.load_weights(weights_path)
    except (ValueError, OSError) as e:
        raise EvaluationError(f"{weights_path} does not hold InceptionV3 weights ({e})") from None

    def extract(images: np.ndarray) -> tuple[np.ndarray, None]:
        # Keras's InceptionV3 expects RGB in [-1, 1] at 299 px; our images use that range.
        return network(fit_input(images, (299, 299, 3)), training=False).numpy(), None

    return Extractor(extract, f"InceptionV3 pool3 (2048-d) from {weights_path}")


def ttur_extractor(
    graph_path: str | None = None, *, fetch: Callable[..., str] | None = None
) -> Extractor:
    """The FID reference implementation's Inception graph: its 2,048-d ``pool_3``.

    Images go in as TTUR feeds them: RGB in [0, 255] at their own size (gray repeated
    to three channels); the graph's own bilinear resize takes them to 299 px.

    Args:
        graph_path: the ``GraphDef`` file; default ``TTUR_GRAPH_FILE`` in the Keras cache,
            taken out of the fetched archive if it is missing.
        fetch: what fetches the archive, called as ``keras.utils.get_file`` (the default)
            is; returns the archive's path.

    Raises:
        EvaluationError: if the graph is missing and cannot be fetched, or is not the
            TTUR Inception graph.
    """
    if graph_path is None:
        graph_path = _cached(TTUR_GRAPH_FILE, "The TTUR Inception graph", lambda: _unpack(fetch))
    elif not os.path.isfile(graph_path):
        raise EvaluationError(f"the TTUR Inception graph not found at {graph_path}")
    graph_def = tf.compat.v1.GraphDef()
    try:
        with open(graph_path, "rb") as f:
            graph_def.ParseFromString(f.read())
    except Exception as e:  # noqa: BLE001 - protobuf's DecodeError, or a file it cannot read
        raise EvaluationError(f"{graph_path} is not a TensorFlow GraphDef ({e})") from None
    names = {node.name for node in graph_def.node}
    missing = [t for t in (TTUR_INPUT, TTUR_OUTPUT) if t.partition(":")[0] not in names]
    if missing:
        raise EvaluationError(
            f"{graph_path} is not the TTUR Inception graph: it has no {', '.join(missing)} "
            f"(allowed: {TTUR_GRAPH_FILE} from {TTUR_ARCHIVE_URL})"
        )

    def pool(images: tf.Tensor) -> tf.Tensor:
        # The graph's ExpandDims made a batch of one from a decoded JPEG; feeding a batch
        # in its place is what TTUR does, and every op up to pool_3 takes one.
        (features,) = tf.compat.v1.import_graph_def(
            graph_def, input_map={TTUR_INPUT: images}, return_elements=[TTUR_OUTPUT], name=""
        )
        return tf.reshape(features, [tf.shape(images)[0], -1])

    network = tf.compat.v1.wrap_function(pool, [tf.TensorSpec([None, None, None, 3], tf.float32)])

    def extract(images: np.ndarray) -> tuple[np.ndarray, None]:
        batch = fit_input(images, (None, None, 3))
        return network((batch + 1.0) * 127.5).numpy(), None

    return Extractor(extract, f"TTUR Inception pool_3 (2048-d) from {graph_path}")


def _unpack(fetch: Callable[..., str] | None) -> str:
    """Fetches TTUR's archive into the Keras cache and takes the graph out of it."""
    archive = (fetch or keras.utils.get_file)(
        os.path.basename(TTUR_ARCHIVE_URL), TTUR_ARCHIVE_URL, cache_subdir="models"
    )
    target = os.path.join(os.path.dirname(archive), TTUR_GRAPH_FILE)
    try:
        with tarfile.open(archive) as tar:
            member = tar.extractfile(TTUR_GRAPH_FILE)
            if member is None:
                raise KeyError(TTUR_GRAPH_FILE)
            # Written whole under another name first: a broken download leaves no graph.
            storage.write_bytes(target, member.read())
    except (tarfile.TarError, KeyError, OSError, tf.errors.OpError) as e:
        # The archive's path is in the cache the message names; the reason must be short.
        raise RuntimeError(f"the archive holds no {TTUR_GRAPH_FILE}") from e
    return target


def _cached(name: str, what: str, fetch: Callable[[], str]) -> str:
    """The path of ``name`` in the Keras cache's ``models/``, fetched if it is missing."""
    home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    path = os.path.join(home, "models", name)
    if os.path.isfile(path):
        return path
    if os.environ.get(OFFLINE_ENV):
        raise EvaluationError(
            f"{what} not found at {path}, and ${OFFLINE_ENV} forbids fetching; {_ALLOWED}"
        )
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(FETCH_TIMEOUT)
    try:
        return fetch()
    except Exception as e:  # noqa: BLE001 - no network, a proxy, a bad hash: one line
        # Keras says "URL fetch failure on <url>: <errno> -- <reason>": the cause is last.
        reason = storage.reason(e, limit=1000).rpartition(" -- ")[2]
        reason = reason if len(reason) <= 60 else reason[:57] + "..."
        raise EvaluationError(
            f"{what} not found at {path}, and fetching failed ({reason}); {_ALLOWED}"
        ) from None
    finally:
        socket.setdefaulttimeout(previous)
