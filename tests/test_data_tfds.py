"""--dataset=tfds:NAME, against a stand-in for TensorFlow Datasets' ``load``.

CI does not install TensorFlow Datasets (it is optional), so the module is replaced by
one whose ``load`` behaves as TFDS's does for a prepared set: a dataset of feature dicts
with uint8 images of any size.
"""

import functools
import sys
import types

import numpy as np
import pytest
import tensorflow as tf
from configs import from_flags, tiny_image

from dcgan import data
from dcgan.config import ConfigError
from dcgan.run import loop


class ClassLabel:
    """Stands in for ``tfds.features.ClassLabel``: the names of labels 0, 1, …"""

    def __init__(self, names):
        self.names = list(names)


def fake_tfds(images, *, features=("image", "label"), calls=None, labels=None, label_feature=None):
    """A ``tensorflow_datasets`` module whose ``load`` serves ``images`` (a list), image i
    labeled ``labels[i]`` (default ``i % 2``); the ``label`` feature's info is
    ``label_feature`` (default a ClassLabel of "even", "odd")."""
    labels = [i % 2 for i in range(len(images))] if labels is None else labels
    info_features = {"image": object(), "label": label_feature or ClassLabel(["even", "odd"])}
    info = types.SimpleNamespace(features={k: info_features[k] for k in features})

    def load(name, *, split, data_dir, download, shuffle_files, with_info=False):
        if calls is not None:
            calls.append(dict(name=name, split=split, data_dir=data_dir, download=download))
        if name != "tiny":
            raise AssertionError(f"Dataset {name}: could not find data in {data_dir}.")
        # Concatenated constants, not a Python generator: like TFDS's file readers, the
        # pipeline can be saved with a checkpoint.
        parts = [
            tf.data.Dataset.from_tensors({"image": image, "label": tf.constant(label, tf.int64)})
            for image, label in zip(images, labels, strict=True)
        ]
        dataset = functools.reduce(lambda a, b: a.concatenate(b), parts)
        dataset = dataset.map(lambda e: {k: e[k] for k in features})
        if split != "train":  # even_splits' part i of n: examples i, i + n, …
            index, num_shards = (int(n) for n in split.split(":"))
            dataset = dataset.shard(num_shards, index)
        return (dataset, info) if with_info else dataset

    def even_splits(split, n):
        return [f"{i}:{n}" for i in range(n)]

    return types.SimpleNamespace(
        load=load, even_splits=even_splits, features=types.SimpleNamespace(ClassLabel=ClassLabel)
    )


def random_images(count, channels, rng):
    rng = rng or np.random.default_rng(0)
    return [
        rng.integers(0, 256, (10 + i, 14 + 2 * i, channels), dtype=np.uint8) for i in range(count)
    ]


@pytest.mark.parametrize("source_channels, channels", [(3, 1), (1, 3), (4, 3), (3, 3)])
def test_images_of_any_size_and_mode_become_the_runs_shape(monkeypatch, source_channels, channels):
    rng = np.random.default_rng(0)
    images = random_images(6, source_channels, rng)
    calls = []
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", fake_tfds(images, calls=calls))
    dataset = data.make_dataset(
        "tfds:tiny", batch_size=4, seed=1, image_size=28, channels=channels, data_dir="/tfds"
    )
    batches = list(dataset.take(3).as_numpy_iterator())  # 12 images: the set repeats
    assert calls == [dict(name="tiny", split="train", data_dir="/tfds", download=False)]
    for batch in batches:
        assert batch.shape == (4, 28, 28, channels) and batch.dtype == np.float32
        assert batch.min() >= -1.0 and batch.max() <= 1.0
    # Each output is one of the source images converted as the other sources convert:
    # channels first (alpha dropped, gray tiled, RGB to rounded gray), then resized.
    expected = []
    for image in images:
        pixels = tf.cast(image[..., :3] if source_channels == 4 else image, tf.float32)
        if channels == 3 and source_channels == 1:
            pixels = tf.tile(pixels, [1, 1, 3])
        if channels == 1 and source_channels == 3:
            pixels = tf.round(tf.image.rgb_to_grayscale(pixels))
        resized = tf.image.resize(pixels, [28, 28], "bilinear", antialias=True)
        expected.append(np.clip(resized.numpy() / 127.5 - 1.0, -1.0, 1.0))
    for image in np.concatenate(batches):
        distances = [np.abs(image - e).max() for e in expected]
        assert min(distances) < 1e-5
    # An epoch holds every image once.
    first_epoch = np.concatenate(batches)[:6]
    matched = {int(np.argmin([np.abs(i - e).max() for e in expected])) for i in first_epoch}
    assert matched == set(range(6))


def test_order_depends_only_on_the_seed(monkeypatch):
    images = random_images(8, 3, np.random.default_rng(1))
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", fake_tfds(images))

    def first(seed):
        dataset = data.make_dataset("tfds:tiny", batch_size=8, seed=seed, image_size=32)
        return next(iter(dataset)).numpy()

    np.testing.assert_array_equal(first(3), first(3))
    assert not np.array_equal(first(3), first(4))


def test_missing_set_and_missing_package_are_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", fake_tfds(random_images(1, 3, None)))
    with pytest.raises(data.DataError) as excinfo:
        data.make_dataset("tfds:celeb_a", batch_size=4, seed=0, data_dir="/nowhere")
    message = str(excinfo.value)
    assert "\n" not in message
    assert message.startswith(
        "--dataset=tfds:celeb_a: the training split could not be loaded from /nowhere "
        "(Dataset celeb_a: could not find data in /nowhere.); --tfds_download lets TFDS "
        "download and prepare it here, or prepare it where there is network"
    )
    assert "`tfds build celeb_a`" in message

    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)  # import fails
    with pytest.raises(data.DataError, match="needs TensorFlow Datasets: pip install"):
        data.make_dataset("tfds:celeb_a", batch_size=4, seed=0)


def test_tfds_download_lets_tfds_prepare_the_set(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setitem(
        sys.modules, "tensorflow_datasets", fake_tfds(random_images(4, 3, None), calls=calls)
    )
    config = tiny_image(
        tmp_path / "run",
        dataset="tfds:tiny",
        data_dir="/tfds",
        tfds_download=True,
        channels=3,
        batch_size=4,
        train_steps=1,
    )
    loop.train(config)
    assert calls and all(call["download"] for call in calls)
    # Where the download fails (no network), the line says what was tried.
    with pytest.raises(data.DataError) as excinfo:
        data.make_dataset("tfds:celeb_a", batch_size=4, seed=0, tfds_download=True)
    assert "; the download or preparation failed; with no network here, prepare it" in str(
        excinfo.value
    )
    # It only applies to TFDS sets.
    with pytest.raises(ConfigError, match="--tfds_download has no effect here: it needs "):
        from_flags(f"--workdir={tmp_path / 'x'}", "--tfds_download")


def test_a_set_without_images_is_refused(monkeypatch):
    images = random_images(2, 3, np.random.default_rng(2))
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", fake_tfds(images, features=("label",)))
    with pytest.raises(data.DataError, match=r"has no 'image' feature; its features: \['label'\]"):
        data.make_dataset("tfds:tiny", batch_size=2, seed=0)


def test_a_short_run_trains_on_a_tfds_set(monkeypatch, tmp_path):
    images = random_images(10, 3, np.random.default_rng(3))
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", fake_tfds(images))
    config = tiny_image(
        tmp_path / "run", dataset="tfds:tiny", channels=3, batch_size=4, train_steps=3
    )
    trainer = loop.train(config)
    assert int(trainer.step.numpy()) == 3
    assert tf.train.latest_checkpoint(str(tmp_path / "run" / "checkpoints")).endswith("ckpt-3")
