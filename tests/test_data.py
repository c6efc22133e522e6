"""Tests for dcgan.data: shapes, value ranges, determinism and the statistics of each set."""

import math
import os
import re

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from dcgan import data
from dcgan.data import DataError, glyphs, make_dataset, tfrecord

S = math.sqrt(0.5)
RING_CENTERS = np.array(
    [[1, 0], [S, S], [0, 1], [-S, S], [-1, 0], [-S, -S], [0, -1], [S, -S]], np.float64
)
GRID_CENTERS = np.array([[x, y] for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)], float)
# Float32 resizing and scaling leave ~1e-7 of error on values that are exact in uint8.
EXACT = 1e-6
# ITU-R 601 luma of pure red, as both decoders and tf.image.rgb_to_grayscale compute it.
RED_GRAY = round(0.299 * 255)


def batches(dataset, count):
    return [b.numpy() for b in dataset.take(count)]


def nearest(points, centers):
    distances = np.linalg.norm(points[:, None, :] - centers[None, :, :], axis=-1)
    return distances.argmin(axis=1), distances.min(axis=1)


def assert_binomial_counts(modes, num_modes):
    # Equal weights: each count is Binomial(n, 1/K); 5 standard deviations never trips
    # by chance (p < 1e-6 per mode) but catches a missing or doubled mode.
    n = len(modes)
    counts = np.bincount(modes, minlength=num_modes)
    p = 1 / num_modes
    tolerance = 5 * math.sqrt(n * p * (1 - p))
    assert counts.min() > 0
    np.testing.assert_array_less(np.abs(counts - n * p), tolerance)


# ---------------------------------------------------------------- vector sets


@pytest.mark.parametrize("name,dim", [("gaussian1d", 1), ("ring2d", 2), ("grid2d", 2)])
def test_vector_set_shape_and_determinism(name, dim):
    assert data.VECTOR_DATASETS[name] == dim
    dataset = make_dataset(name, batch_size=16, seed=3)
    assert dataset.element_spec.shape.as_list() == [16, dim]
    assert dataset.element_spec.dtype.name == "float32"

    first = batches(dataset, 4)
    again = batches(make_dataset(name, batch_size=16, seed=3), 4)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])
    other = batches(make_dataset(name, batch_size=16, seed=4), 1)[0]
    assert not np.array_equal(first[0], other)
    # Batch i depends only on (seed, i), so skipping reproduces it without replaying.
    np.testing.assert_array_equal(batches(dataset.skip(2), 1)[0], first[2])


def test_gaussian1d_moments():
    n = 20_000
    (x,) = batches(make_dataset("gaussian1d", batch_size=n, seed=0), 1)
    # Standard errors: mean 1/sqrt(n) = 0.007, std 1/sqrt(2n) = 0.005; allow 5 of each.
    assert abs(x.mean()) < 5 / math.sqrt(n)
    assert abs(x.std() - 1) < 5 / math.sqrt(2 * n)


def test_ring2d_points_sit_on_the_unit_circle_modes():
    n = 8_000
    (x,) = batches(make_dataset("ring2d", batch_size=n, seed=1), 1)
    modes, distance = nearest(x, RING_CENTERS)
    # A 2-D Gaussian point lies beyond 6 sigma with probability exp(-18).
    assert distance.max() < 6 * 0.01
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=6 * 0.01)
    assert_binomial_counts(modes, 8)


def test_grid2d_points_sit_on_the_grid_modes():
    n = 5_000
    (x,) = batches(make_dataset("grid2d", batch_size=n, seed=2), 1)
    modes, distance = nearest(x, GRID_CENTERS)
    assert distance.max() < 6 * 0.05
    assert_binomial_counts(modes, 25)


def test_mixture_centers_match_hand_written_values():
    centers, stddev = data.mixture_centers("ring2d")
    np.testing.assert_allclose(centers, RING_CENTERS, atol=1e-12)
    assert stddev == 0.01
    centers, stddev = data.mixture_centers("grid2d")
    np.testing.assert_array_equal(centers, GRID_CENTERS)
    assert stddev == 0.05
    with pytest.raises(DataError, match="'gaussian1d'"):
        data.mixture_centers("gaussian1d")


# ---------------------------------------------------------------- glyphs


@pytest.mark.parametrize("size", [28, 64])
def test_render_glyphs(size):
    images = data.render_glyphs(image_size=size, seed=5, num_images=150)
    assert images.shape == (150, size, size, 1)
    assert images.dtype == np.uint8
    flat = images.reshape(len(images), -1)
    # Every glyph has background and, thanks to the gain, saturated strokes.
    assert (flat.min(axis=1) == 0).all()
    assert (flat.max(axis=1) == 255).all()
    ink = (flat > 127).mean(axis=1)
    assert ink.min() > 0.01 and ink.max() < 0.6
    assert len(np.unique(flat, axis=0)) == 150
    assert data.render_glyphs(image_size=size, seed=5, num_images=150) is images
    assert not images.flags.writeable
    fresh = glyphs._render_glyphs_cached.__wrapped__(size, 5, 150)
    np.testing.assert_array_equal(fresh, images)
    other = data.render_glyphs(image_size=size, seed=6, num_images=150)
    assert not np.array_equal(other, images)


def test_glyph_dataset_batches_come_from_the_rendered_set():
    dataset = make_dataset("glyphs", batch_size=32, seed=0, image_size=32)
    assert dataset.element_spec.shape.as_list() == [32, 32, 32, 1]
    assert dataset.element_spec.dtype.name == "float32"
    first = batches(dataset, 2)
    assert first[0].min() == -1.0 and first[0].max() == 1.0
    as_uint8 = (first[0] + 1) * 127.5
    np.testing.assert_allclose(as_uint8, np.round(as_uint8), atol=1e-4)
    as_uint8 = np.round(as_uint8)
    rendered = {image.tobytes() for image in data.render_glyphs(image_size=32)}
    assert all(image.astype(np.uint8).tobytes() in rendered for image in as_uint8)

    again = batches(make_dataset("glyphs", batch_size=32, seed=0, image_size=32), 2)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    other = batches(make_dataset("glyphs", batch_size=32, seed=1, image_size=32), 1)[0]
    assert not np.array_equal(first[0], other)


def test_glyph_dataset_with_three_channels_repeats_gray():
    gray = batches(make_dataset("glyphs", batch_size=8, seed=0, image_size=28), 1)[0]
    rgb_set = make_dataset("glyphs", batch_size=8, seed=0, image_size=28, channels=3)
    assert rgb_set.element_spec.shape.as_list() == [8, 28, 28, 3]
    rgb = batches(rgb_set, 1)[0]
    for channel in range(3):
        np.testing.assert_array_equal(rgb[..., channel : channel + 1], gray)


# ---------------------------------------------------------------- folder

LEVELS = np.arange(10, 250, 20)  # 12 distinct solid gray levels, one per file


def save(path, mode, size, color):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.new(mode, size, color).save(path)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """Nested PNG/JPEG files, gray and RGB, mixed sizes, plus files that must be skipped."""
    root = tmp_path_factory.mktemp("tree")
    layouts = [
        ("{}.png", "L"),
        ("a/{}.PNG", "RGB"),
        ("a/b/{}.jpg", "RGB"),
        ("c/{}.JPEG", "L"),
    ]
    for i, level in enumerate(LEVELS):
        pattern, mode = layouts[i % 4]
        color = int(level) if mode == "L" else (int(level),) * 3
        save(str(root / pattern.format(i)), mode, (20 + 7 * i, 50 - 2 * i), color)
    (root / "notes.txt").write_text("not an image")
    # Undecodable files that only pass the extension check if hidden names are not skipped.
    (root / "a" / "._0.jpg").write_bytes(b"AppleDouble")
    os.makedirs(root / ".cache")
    (root / ".cache" / "x.png").write_bytes(b"junk")
    return str(root)


def identify(batch):
    """Maps each solid image of a batch back to its gray level, checking it is solid."""
    gray = (batch.reshape(len(batch), -1) + 1) * 127.5
    assert gray.std(axis=1).max() < 1.0
    index = np.abs(gray.mean(axis=1)[:, None] - LEVELS[None, :]).argmin(axis=1)
    np.testing.assert_allclose(gray.mean(axis=1), LEVELS[index], atol=2)
    return index


@pytest.mark.parametrize("channels", [1, 3])
def test_folder_epochs_cover_every_file_once(tree, channels):
    dataset = make_dataset("folder", batch_size=4, seed=0, data_dir=tree, channels=channels)
    assert dataset.element_spec.shape.as_list() == [4, 32, 32, channels]
    assert dataset.element_spec.dtype.name == "float32"
    six = batches(dataset, 6)
    for batch in six:
        assert batch.min() >= -1.0 and batch.max() <= 1.0
    first_epoch = np.concatenate([identify(b) for b in six[:3]])
    second_epoch = np.concatenate([identify(b) for b in six[3:]])
    assert sorted(first_epoch) == list(range(12))
    assert sorted(second_epoch) == list(range(12))
    assert list(first_epoch) != list(second_epoch)  # reshuffled: equal with p = 1/12!


def test_folder_is_deterministic_per_seed(tree):
    first = batches(make_dataset("folder", batch_size=4, seed=7, data_dir=tree), 3)
    again = batches(make_dataset("folder", batch_size=4, seed=7, data_dir=tree), 3)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    other = batches(make_dataset("folder", batch_size=4, seed=8, data_dir=tree), 3)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


RED = (255, 0, 0)
WHITE_RGB = [1.0, 1.0, 1.0]
RED_RGB = [1.0, -1.0, -1.0]
RED_AS_GRAY = [RED_GRAY / 127.5 - 1]


@pytest.mark.parametrize(
    "name,mode,color,channels,expected,atol",
    [
        ("white.png", "L", 255, 1, [1.0], EXACT),
        ("white.png", "L", 255, 3, WHITE_RGB, EXACT),
        ("black.jpg", "L", 0, 3, [-1.0] * 3, EXACT),
        ("red.png", "RGB", RED, 3, RED_RGB, EXACT),
        ("red.png", "RGB", RED, 1, RED_AS_GRAY, EXACT),
        ("red.jpg", "RGB", RED, 3, RED_RGB, 3 / 127.5),
        ("red.jpg", "RGB", RED, 1, RED_AS_GRAY, 3 / 127.5),
        ("red.png", "RGBA", RED + (128,), 1, RED_AS_GRAY, EXACT),
        ("cmyk.jpg", "CMYK", (0, 255, 255, 0), 1, RED_AS_GRAY, 3 / 127.5),
    ],
)
def test_folder_color_conversion(tmp_path, name, mode, color, channels, expected, atol):
    save(str(tmp_path / name), mode, (40, 24), color)
    dataset = make_dataset(
        "folder", batch_size=1, seed=0, data_dir=str(tmp_path), image_size=16, channels=channels
    )
    (batch,) = batches(dataset, 1)
    assert batch.shape == (1, 16, 16, channels)
    np.testing.assert_allclose(batch, np.broadcast_to(expected, batch.shape), atol=atol, rtol=0)


# ---------------------------------------------------------------- errors


def raises(pattern):
    return pytest.raises(DataError, match=re.escape(pattern))


def test_errors_quote_the_bad_value(tmp_path):
    errors = []
    with raises("'imagenet'") as info:
        make_dataset("imagenet", batch_size=4, seed=0)
    assert all(name in str(info.value) for name in data.DATASETS)
    errors.append(info.value)
    with raises("--data_dir") as info:
        make_dataset("folder", batch_size=4, seed=0)
    errors.append(info.value)
    missing = str(tmp_path / "nope")
    with raises(repr(missing)) as info:
        make_dataset("folder", batch_size=4, seed=0, data_dir=missing)
    errors.append(info.value)
    a_file = tmp_path / "file.png"
    a_file.write_bytes(b"")
    with raises(repr(str(a_file))) as info:
        make_dataset("folder", batch_size=4, seed=0, data_dir=str(a_file))
    errors.append(info.value)
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "sub" / "readme.txt").write_text("x")
    with raises(repr(str(empty))) as info:
        make_dataset("folder", batch_size=4, seed=0, data_dir=str(empty))
    assert all(ext in str(info.value) for ext in data.IMAGE_EXTENSIONS)
    errors.append(info.value)
    few = tmp_path / "few"
    for i in range(3):
        save(str(few / f"{i}.png"), "L", (8, 8), 0)
    with raises("batch_size=4") as info:
        make_dataset("folder", batch_size=4, seed=0, data_dir=str(few))
    assert repr(str(few)) in str(info.value)
    errors.append(info.value)
    assert all("\n" not in str(error) for error in errors)


@pytest.mark.parametrize(
    "kwargs,quoted",
    [
        ({"name": "glyphs", "image_size": 48}, "48"),
        ({"name": "glyphs", "channels": 2}, "2"),
        ({"name": "folder", "channels": 4}, "4"),
        ({"name": "ring2d", "batch_size": 0}, "batch_size"),
        ({"name": "ring2d", "seed": -1}, "-1"),
        ({"name": "glyphs", "image_size": 32.0}, "32.0"),
    ],
)
def test_bad_options(tmp_path, kwargs, quoted):
    options = {"batch_size": 4, "seed": 0, "data_dir": str(tmp_path)} | kwargs
    with pytest.raises(DataError, match=re.escape(quoted)) as info:
        make_dataset(options.pop("name"), **options)
    assert "\n" not in str(info.value)


def test_render_glyphs_rejects_bad_arguments():
    with raises("48"):
        data.render_glyphs(image_size=48)
    with raises("num_images"):
        data.render_glyphs(image_size=32, num_images=0)


def test_array_parts_are_disjoint_and_cover_the_set(tmp_path):
    # 30 solid images, level 5 * i; part i of 3 holds examples i, i + 3, …
    levels = 5 * np.arange(30, dtype=np.uint8)
    np.save(tmp_path / "x.npy", np.broadcast_to(levels[:, None, None, None], (30, 4, 4, 1)))
    for index in range(3):
        dataset = make_dataset(
            "npy",
            batch_size=10,
            seed=0,
            image_size=4,
            data_file=str(tmp_path / "x.npy"),
            shard=(3, index),
        )
        for batch in batches(dataset, 2):  # a batch is one epoch of the part
            got = np.round((batch[:, 0, 0, 0] + 1) * 127.5)
            np.testing.assert_array_equal(np.sort(got), levels[index::3])


def test_toy_parts_are_the_one_worker_batches_dealt_round_robin():
    whole = batches(make_dataset("ring2d", batch_size=4, seed=7), 6)
    for index in range(2):
        part = batches(make_dataset("ring2d", batch_size=4, seed=7, shard=(2, index)), 3)
        np.testing.assert_array_equal(part, whole[index::2])


@pytest.mark.parametrize("shard", [(0, 0), (2, 2), (2, -1), [1, 0], (1.0, 0)])
def test_invalid_shard(shard):
    with pytest.raises(DataError, match=r"shard .* is invalid; allowed: \(num_shards, index\)"):
        make_dataset("ring2d", batch_size=4, seed=0, shard=shard)


def test_source_size_says_what_a_source_holds(tmp_path):
    assert data.source_size("glyphs") == "11,904 images"
    assert len(data.render_glyphs(image_size=28)) == 11_904
    assert data.source_size("ring2d") == "sampled per batch"
    (tmp_path / "images" / "sub").mkdir(parents=True)
    for name in ("a.png", "sub/b.jpg", "sub/c.JPEG", "notes.txt", ".hidden.png"):
        (tmp_path / "images" / name).write_bytes(b"")
    assert data.source_size("folder", data_dir=str(tmp_path / "images")) == "3 image files"
    for name in ("t-00000-of-00002.tfrecord", "t-00001-of-00002.tfrecord", "other.txt"):
        (tmp_path / name).write_bytes(b"")
    pattern = str(tmp_path / "t-*.tfrecord")
    assert data.source_size("tfrecord", data_pattern=pattern) == "2 shards"
    np.save(tmp_path / "v.npy", np.zeros((1234, 3), np.float32))
    assert data.source_size("npy_vectors", data_file=str(tmp_path / "v.npy")) == "1,234 examples"
    assert data.source_size("mnist") is None  # counting would mean loading it


def _source_kwargs(source, tree, tmp_path):
    images = dict(image_size=8, channels=3, random_flip=True)
    if source == "tfrecord":
        os.makedirs(tmp_path / "shards")
        tfrecord.write_shards(tree, str(tmp_path / "shards" / "train"), num_shards=2)
        return dict(data_pattern=str(tmp_path / "shards" / "train-*"), **images)
    return {
        "ring2d": dict(),
        "glyphs": dict(image_size=28, labels=True, random_flip=True),
        "folder": dict(data_dir=tree, crop="center", **images),
        "folder_in_memory": dict(data_dir=tree, cache="memory", **images),
    }[source]


@pytest.mark.parametrize("source", ["ring2d", "glyphs", "folder", "folder_in_memory", "tfrecord"])
def test_pipelines_read_without_autotuning_and_resume_positions_saved_with_it(
    source, tree, tmp_path
):
    # Freeing an autotuned iterator can wait a minute (pipeline._without_autotuning); the
    # runs saved while the pipelines autotuned must still resume where they were.
    kwargs = _source_kwargs(source, tree, tmp_path)
    name = source.split("_")[0]
    dataset = make_dataset(name, batch_size=3, seed=1, **kwargs)
    assert dataset.options().autotune.enabled is False
    autotuned = tf.data.Options()
    autotuned.autotune.enabled = True
    saved = iter(make_dataset(name, batch_size=3, seed=1, **kwargs).with_options(autotuned))
    for _ in range(5):
        next(saved)
    prefix = tf.train.Checkpoint(data=saved).write(str(tmp_path / "ckpt" / "data"))
    expected = [tf.nest.flatten(next(saved)) for _ in range(3)]
    resumed = iter(dataset)
    tf.train.Checkpoint(data=resumed).read(prefix).assert_consumed()
    for want in expected:
        for got, part in zip(tf.nest.flatten(next(resumed)), want, strict=True):
            np.testing.assert_array_equal(got.numpy(), part.numpy())
