"""dcgan.evaluation.inception: both InceptionV3 feature networks, from disk or fetched.

No test fetches: each fetch is a function of the test's, and the networks are made here
(an untrained Keras InceptionV3's weights; a stand-in GraphDef with the TTUR graph's
input and output names)."""

import os
import socket
import tarfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from dcgan.evaluation import features, inception
from dcgan.gan import mlp


def test_inception_weights_missing_offline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("DCGAN_OFFLINE", "1")
    expected = f"{tmp_path}/models/{inception.KERAS_WEIGHTS_FILE}"
    with pytest.raises(features.EvaluationError, match="DCGAN_OFFLINE forbids") as raised:
        inception.keras_extractor(fetch=pytest.fail)  # never called
    assert expected in str(raised.value) and "dcgan.classifier" in str(raised.value)
    # The default of an image set without a shipped classifier is InceptionV3.
    with pytest.raises(features.EvaluationError, match="InceptionV3 weights not found"):
        features.make_extractor(classifier="", layer="", dataset="folder")


def test_missing_inception_weights_are_fetched_into_the_keras_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("DCGAN_OFFLINE")
    calls = []

    def fetch(fname, origin, *, cache_subdir, file_hash):
        # As keras.utils.get_file would: the file lands in $KERAS_HOME/<cache_subdir>.
        calls.append((fname, origin, cache_subdir, file_hash))
        path = str(tmp_path / cache_subdir / "fetched.weights.h5")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        keras.applications.InceptionV3(include_top=False, weights=None).save_weights(path)
        return path

    extractor = inception.keras_extractor(fetch=fetch)
    assert calls == [
        (
            "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
            "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
            "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
            "models",
            "bcbd6486424b2319ff4ef7d526e38f63",
        )
    ]
    assert extractor.description.endswith("fetched.weights.h5")
    assert socket.getdefaulttimeout() is None  # the fetch's timeout is put back


def test_a_failed_fetch_is_one_short_line(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("DCGAN_OFFLINE")

    def fetch(*args, **kwargs):
        assert socket.getdefaulttimeout() == inception.FETCH_TIMEOUT  # no endless hang
        raise Exception(  # what keras.utils.get_file raises for a URLError
            "URL fetch failure on https://storage.googleapis.com/…: None -- [Errno -2] Name or "
            "service not known"
        )

    with pytest.raises(features.EvaluationError) as raised:
        inception.keras_extractor(fetch=fetch)
    message = str(raised.value)
    assert message.startswith(f"InceptionV3 weights not found at {tmp_path}/models/")
    assert ", and fetching failed ([Errno -2] Name or service not known); " in message
    assert "allowed: that file there (README, Evaluation), or --eval_classifier=PATH" in message
    # About 300 characters with a Keras home of 20 (/home/alice/.keras).
    assert "\n" not in message and len(message) - len(str(tmp_path)) <= 290


def test_inception_loads_local_weights_and_refuses_foreign_ones(tmp_path):
    # Real loading code on weights made here: an untrained InceptionV3's own weights.
    path = str(tmp_path / "inception.weights.h5")
    source = keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg")
    source.save_weights(path)
    extractor = inception.keras_extractor(path)
    images = np.random.default_rng(3).uniform(-1, 1, (2, 299, 299, 3)).astype(np.float32)
    # Same features as the network the weights came from: they were really loaded.
    got, classes = extractor(images)
    np.testing.assert_allclose(got, source(images, training=False), atol=1e-5)
    assert classes is None and extractor.num_classes == 0
    gray = np.random.default_rng(4).uniform(-1, 1, (2, 32, 32, 1)).astype(np.float32)
    assert extractor(gray)[0].shape == (2, 2048)
    assert extractor.description.startswith("InceptionV3 pool3 (2048-d)")
    other = str(tmp_path / "other.weights.h5")
    mlp.mlp_generator(latent_dim=2, output_dim=2, hidden_units=(4,)).save_weights(other)
    with pytest.raises(features.EvaluationError, match="does not hold InceptionV3 weights"):
        inception.keras_extractor(other)


# The stand-in graph's pool_3 width, and its weights: pool_3 = mean over pixels of the
# graph's normalized input, (x - 128) / 128, times W.
_WIDTH = 4
_W = np.arange(3 * _WIDTH, dtype=np.float32).reshape(3, _WIDTH) / 10 - 0.5


def stand_in_ttur_graph(path):
    """A GraphDef wired as the reference one is at its two ends: a batch of one made by
    ``ExpandDims`` from a decoded image, ``pool_3`` [N, 1, 1, D], and the reshape to
    [1, D] the real graph has after it (which a batch must not reach)."""
    graph = tf.Graph()
    with graph.as_default():
        decoded = tf.compat.v1.placeholder(tf.float32, [None, None, 3], name="Cast")
        image = tf.expand_dims(decoded, 0, name="ExpandDims")
        normalized = (image - 128.0) / 128.0
        pooled = tf.reduce_mean(normalized, axis=[1, 2]) @ tf.constant(_W)
        pool3 = tf.reshape(pooled, [-1, 1, 1, _WIDTH], name="pool_3")
        tf.reshape(pool3, [1, _WIDTH], name="pool_3/_reshape")
    with open(path, "wb") as f:
        f.write(graph.as_graph_def().SerializeToString())
    return path


def expected_ttur_features(images):
    """The stand-in's features in NumPy, fed as TTUR feeds: RGB in [0, 255]."""
    rgb = np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images
    pixels = (rgb.astype(np.float64) + 1) * 127.5
    return ((pixels - 128) / 128).mean(axis=(1, 2)) @ _W


def test_ttur_graph_gets_a_batch_in_0_255_and_gives_pool_3(tmp_path):
    path = stand_in_ttur_graph(str(tmp_path / "classify_image_graph_def.pb"))
    extractor = inception.ttur_extractor(path)
    rng = np.random.default_rng(5)
    rgb = rng.uniform(-1, 1, (300, 6, 5, 3)).astype(np.float32)  # two chunks, any size
    got, classes = extractor(rgb)
    np.testing.assert_allclose(got, expected_ttur_features(rgb), rtol=1e-4, atol=1e-5)
    assert classes is None and extractor.num_classes == 0
    gray = rng.uniform(-1, 1, (3, 8, 8, 1)).astype(np.float32)
    np.testing.assert_allclose(extractor(gray)[0], expected_ttur_features(gray), atol=1e-5)
    assert extractor.description == f"TTUR Inception pool_3 (2048-d) from {path}"


def test_a_missing_ttur_graph_is_fetched_and_taken_out_of_its_archive(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("DCGAN_OFFLINE")
    calls = []

    def fetch(fname, origin, *, cache_subdir):
        # As keras.utils.get_file would: the archive lands in $KERAS_HOME/<cache_subdir>.
        calls.append((fname, origin, cache_subdir))
        assert socket.getdefaulttimeout() == inception.FETCH_TIMEOUT
        archive = tmp_path / cache_subdir / fname
        os.makedirs(archive.parent, exist_ok=True)
        graph = stand_in_ttur_graph(str(tmp_path / "graph.pb"))
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(graph, arcname="classify_image_graph_def.pb")
        return str(archive)

    cached = tmp_path / "models" / "classify_image_graph_def.pb"
    monkeypatch.setattr(keras.utils, "get_file", fetch)  # what fetches by default
    extractor = features.make_extractor(classifier="ttur_inception", layer="", dataset="folder")
    assert calls == [
        (
            "inception-2015-12-05.tgz",
            "http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz",
            "models",
        )
    ]
    assert extractor.description.endswith(str(cached)) and cached.is_file()
    images = np.zeros((2, 4, 4, 3), np.float32)
    np.testing.assert_allclose(extractor(images)[0], expected_ttur_features(images), atol=1e-5)
    inception.ttur_extractor(fetch=pytest.fail)  # from the cache: nothing fetched again
    assert socket.getdefaulttimeout() is None


def test_ttur_graph_errors_are_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("DCGAN_OFFLINE", "1")
    with pytest.raises(inception.EvaluationError) as raised:
        inception.ttur_extractor(fetch=pytest.fail)
    assert str(raised.value) == (
        f"The TTUR Inception graph not found at {tmp_path}/models/classify_image_graph_def.pb, "
        "and $DCGAN_OFFLINE forbids fetching; allowed: that file there (README, Evaluation), "
        "or --eval_classifier=PATH (python -m dcgan.classifier trains one)"
    )
    monkeypatch.delenv("DCGAN_OFFLINE")

    def fetch_junk(fname, origin, *, cache_subdir):
        path = tmp_path / cache_subdir / fname
        os.makedirs(path.parent, exist_ok=True)
        path.write_bytes(b"not a tar")  # what a captive portal serves
        return str(path)

    with pytest.raises(
        inception.EvaluationError,
        match=r"fetching failed \(the archive holds no classify_image_graph_def.pb\)",
    ):
        inception.ttur_extractor(fetch=fetch_junk)
    assert not (tmp_path / "models" / "classify_image_graph_def.pb").exists()
    junk = tmp_path / "junk.pb"
    junk.write_bytes(b"\xff" * 40)
    with pytest.raises(inception.EvaluationError, match="is not a TensorFlow GraphDef"):
        inception.ttur_extractor(str(junk))
    graph = tf.Graph()
    with graph.as_default():
        tf.constant(1.0, name="pool_3")
    other = tmp_path / "other.pb"
    other.write_bytes(graph.as_graph_def().SerializeToString())
    with pytest.raises(inception.EvaluationError) as raised:
        inception.ttur_extractor(str(other))
    assert str(raised.value) == (
        f"{other} is not the TTUR Inception graph: it has no ExpandDims:0 (allowed: "
        "classify_image_graph_def.pb from "
        "http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz)"
    )
    with pytest.raises(inception.EvaluationError, match="graph not found at /nowhere.pb"):
        inception.ttur_extractor("/nowhere.pb")
