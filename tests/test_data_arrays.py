"""Tests for dcgan.data.arrays and the in-memory path of dcgan.data: .npy files, the
Keras sets (from a generated fake Keras cache, never downloaded), and random flips."""

import gzip
import re
import urllib.error

import numpy as np
import pytest
from keras.src.backend import config as keras_config
from keras.src.utils import file_utils

from dcgan import data
from dcgan.data import arrays, labeled
from dcgan.data import choices as data_choices
from dcgan.data.common import DataError


def take(dataset, count):
    return [b.numpy() for b in dataset.take(count)]


def as_uint8(batch):
    values = (batch + 1) * 127.5
    np.testing.assert_allclose(values, np.round(values), atol=1e-4)
    return np.round(values).astype(np.uint8)


def distinct_images(count, height, width, channels):
    """Images whose first pixel is their index, so each batch image can be traced."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (count, height, width, channels), np.uint8)
    images[:, 0, 0, :] = np.arange(count)[:, None]
    return images


# ---------------------------------------------------------------- npy


def test_npy_batches_are_the_stored_images(tmp_path):
    images = distinct_images(10, 32, 32, 3)
    np.save(tmp_path / "x.npy", images)
    dataset = data.make_dataset(
        "npy", batch_size=5, seed=0, data_file=str(tmp_path / "x.npy"), image_size=32, channels=3
    )
    assert dataset.element_spec.shape.as_list() == [5, 32, 32, 3]
    got = np.concatenate([as_uint8(b) for b in take(dataset, 2)])  # one epoch
    order = got[:, 0, 0, 0]
    assert sorted(order) == list(range(10))
    np.testing.assert_array_equal(got, images[order])


def test_npy_grayscale_rank3_to_rgb_and_resized(tmp_path):
    images = np.full((4, 28, 20), 200, np.uint8)
    np.save(tmp_path / "g.npy", images)
    dataset = data.make_dataset(
        "npy", batch_size=4, seed=0, data_file=str(tmp_path / "g.npy"), image_size=32, channels=3
    )
    (batch,) = take(dataset, 1)
    assert batch.shape == (4, 32, 32, 3)
    np.testing.assert_allclose(batch, 200 / 127.5 - 1, atol=1e-5)


def test_npy_rgba_drops_alpha_and_converts_to_gray(tmp_path):
    images = np.zeros((2, 8, 8, 4), np.uint8)
    images[..., 0] = 255  # red, alpha 0
    np.save(tmp_path / "r.npy", images)
    dataset = data.make_dataset(
        "npy", batch_size=2, seed=0, data_file=str(tmp_path / "r.npy"), image_size=8
    )
    (batch,) = take(dataset, 1)
    np.testing.assert_allclose(batch, round(0.299 * 255) / 127.5 - 1, atol=1e-5)


@pytest.mark.parametrize(
    "array,quoted",
    [
        (np.zeros((100, 2), np.float32), "shape (100, 2)"),
        (np.zeros((5, 8, 8, 2), np.uint8), "shape (5, 8, 8, 2)"),
        (np.zeros((5, 8, 8, 3), np.float32), "float32"),
        (np.zeros((0, 8, 8), np.uint8), "no images"),
    ],
)
def test_npy_wrong_arrays_are_refused(tmp_path, array, quoted):
    path = str(tmp_path / "bad.npy")
    np.save(path, array)
    with pytest.raises(DataError, match=re.escape(quoted)) as info:
        data.make_dataset("npy", batch_size=1, seed=0, data_file=path)
    assert repr(path) in str(info.value) and "\n" not in str(info.value)


def test_npy_missing_or_not_npy(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        arrays.npy_images(str(tmp_path / "none.npy"))
    (tmp_path / "text.npy").write_text("hello")
    with pytest.raises(DataError, match="not a .npy array file"):
        arrays.npy_images(str(tmp_path / "text.npy"))
    np.savez(tmp_path / "z.npz", x=np.zeros((2, 8, 8), np.uint8))
    with pytest.raises(DataError, match="npz"):
        arrays.npy_images(str(tmp_path / "z.npz"))
    with pytest.raises(DataError, match="--data_file"):
        arrays.npy_images(None)
    np.save(tmp_path / "few.npy", np.zeros((3, 8, 8), np.uint8))
    with pytest.raises(DataError, match="batch_size=4"):
        data.make_dataset("npy", batch_size=4, seed=0, data_file=str(tmp_path / "few.npy"))


def test_npy_shape_reads_only_the_header(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((7, 5, 3, 1), np.uint8))
    assert arrays.npy_shape(str(tmp_path / "x.npy")) == ((7, 5, 3, 1), np.uint8)


# ---------------------------------------------------------------- Keras sets


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """A fresh, empty Keras cache; any download attempt fails as it does offline."""
    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path))

    def offline(url, *args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(file_utils, "urlretrieve", offline)
    return tmp_path


def write_idx(path, array):
    """Writes an IDX file as Fashion-MNIST ships it: gzip, big-endian header, uint8."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


def test_fashion_mnist_from_the_keras_cache(keras_home):
    folder = keras_home / "datasets" / "fashion-mnist"
    folder.mkdir(parents=True)
    images = distinct_images(12, 28, 28, 1)[..., 0]
    write_idx(folder / "train-images-idx3-ubyte.gz", images)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(12, np.uint8))
    write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((2, 28, 28), np.uint8))
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(2, np.uint8))
    loaded = arrays.keras_images("fashion_mnist")
    np.testing.assert_array_equal(loaded, images[..., None])

    dataset = data.make_dataset("fashion_mnist", batch_size=6, seed=0, image_size=28)
    got = np.concatenate([as_uint8(b) for b in take(dataset, 2)])
    np.testing.assert_array_equal(got, images[got[:, 0, 0, 0], :, :, None])


def test_a_labeled_keras_set_for_a_classifier(keras_home):
    folder = keras_home / "datasets" / "fashion-mnist"
    folder.mkdir(parents=True)
    images = distinct_images(12, 28, 28, 1)[..., 0]
    labels = np.arange(12, dtype=np.uint8) % 10
    write_idx(folder / "train-images-idx3-ubyte.gz", images)
    write_idx(folder / "train-labels-idx1-ubyte.gz", labels)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((2, 28, 28), np.uint8))
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(2, np.uint8))
    found = labeled.labeled_images("fashion_mnist", image_size=14, channels=3)
    np.testing.assert_array_equal(found.labels, labels)
    assert found.class_names[9] == "Ankle boot" and len(found.class_names) == 10
    assert found.images.shape == (12, 14, 14, 3) and found.images.dtype == np.uint8
    # Shrunk by 2 (a filter that keeps each image's mean), gray repeated in three channels.
    np.testing.assert_allclose(
        found.images[..., 0].mean(axis=(1, 2)), images.mean(axis=(1, 2)), rtol=0.02, atol=1
    )
    np.testing.assert_array_equal(found.images[..., 0], found.images[..., 2])


@pytest.mark.parametrize("name", data_choices.KERAS_DATASETS)
def test_missing_keras_files_say_what_to_put_where(keras_home, name):
    with pytest.raises(DataError) as info:
        data.make_dataset(name, batch_size=4, seed=0)
    message = str(info.value)
    assert "\n" not in message
    assert f"dataset {name!r} is not in the Keras cache" in message
    for file, url in arrays.KERAS_FILES[name]:
        assert f"{keras_home / 'datasets' / file} (from {url})" in message


def test_keras_sets_are_shaped_for_the_run(monkeypatch):
    cifar = distinct_images(8, 32, 32, 3)
    monkeypatch.setattr(arrays, "keras_images", lambda name: cifar)
    dataset = data.make_dataset("cifar10", batch_size=8, seed=0, image_size=64, channels=1)
    (batch,) = take(dataset, 1)
    assert batch.shape == (8, 64, 64, 1)
    assert batch.min() >= -1 and batch.max() <= 1


# ---------------------------------------------------------------- flips


def test_random_flip_mirrors_about_half_and_is_deterministic(tmp_path):
    images = np.zeros((400, 8, 8, 1), np.uint8)
    images[:, :, :4] = 255  # left half white
    images[:, 0, 7, 0] = np.arange(400) % 256  # breaks symmetry, marks the image
    np.save(tmp_path / "h.npy", images)
    path = str(tmp_path / "h.npy")

    def run(seed, flip):
        dataset = data.make_dataset(
            "npy", batch_size=100, seed=seed, data_file=path, image_size=8, random_flip=flip
        )
        return np.concatenate([as_uint8(b) for b in take(dataset, 4)])

    plain, flipped = run(3, False), run(3, True)
    mirrored = (flipped[:, 1:, 4:] == 255).all(axis=(1, 2, 3))  # row 0 holds the mark
    # Same order, each image either itself or its mirror image.
    np.testing.assert_array_equal(flipped[~mirrored], plain[~mirrored])
    np.testing.assert_array_equal(flipped[mirrored], plain[mirrored][:, :, ::-1])
    # Binomial(400, 1/2): 5 standard deviations is 50.
    assert abs(mirrored.sum() - 200) < 50
    np.testing.assert_array_equal(run(3, True), flipped)
    assert not np.array_equal(run(4, True), flipped)


# ---------------------------------------------------------------- npy vectors


def test_npy_vectors_batches_are_the_stored_rows(tmp_path):
    vectors = np.arange(30, dtype=np.float64).reshape(10, 3) / 7  # row i starts at 3i/7
    np.save(tmp_path / "v.npy", vectors)
    assert data.npy_vector_dim(str(tmp_path / "v.npy")) == 3
    dataset = data.make_dataset(
        "npy_vectors", batch_size=5, seed=0, data_file=str(tmp_path / "v.npy"), vector_dim=3
    )
    assert dataset.element_spec.shape.as_list() == [5, 3]
    assert dataset.element_spec.dtype.name == "float32"
    got = np.concatenate(take(dataset, 2))  # one epoch
    rows = np.round(got[:, 0] * 7 / 3).astype(int)
    assert sorted(rows) == list(range(10))
    np.testing.assert_array_equal(got, vectors[rows].astype(np.float32))


@pytest.mark.parametrize(
    "array,quoted",
    [
        (np.zeros((4, 8, 8), np.uint8), "uint8 array of shape (4, 8, 8)"),
        (np.zeros((4, 2), np.int64), "int64 array of shape (4, 2)"),
        (np.zeros((0, 2), np.float32), "no vectors"),
        (np.array([[1.0, np.nan]] * 4), "NaN or infinite"),
        (np.zeros((4, 5), np.float32), "width 5, but the run has --vector_dim=2"),
    ],
)
def test_npy_vectors_wrong_arrays_are_refused(tmp_path, array, quoted):
    path = str(tmp_path / "v.npy")
    np.save(path, array)
    with pytest.raises(DataError, match=re.escape(quoted)) as info:
        data.make_dataset("npy_vectors", batch_size=1, seed=0, data_file=path, vector_dim=2)
    assert repr(path) in str(info.value) and "\n" not in str(info.value)
