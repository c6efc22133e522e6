"""Tests for dcgan.data.folder: formats, modes, crops, bad files and their count."""

import os
import re

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from dcgan import data
from dcgan.data import DataError, folder, folder_cache


def take(dataset, count):
    return [b.numpy() for b in dataset.take(count)]


def gray_levels(batch):
    """The solid gray level (0-255) of each image of a batch, checking it is solid."""
    gray = (batch.reshape(len(batch), -1) + 1) * 127.5
    assert gray.std(axis=1).max() < 1.0
    return gray.mean(axis=1)


def palette_image(index_color, size=(30, 20)):
    image = Image.new("P", size, 0)
    palette = [0, 0, 0] * 256
    palette[3:6] = index_color
    image.putpalette(palette)
    image.paste(1, (0, 0, *size))
    return image


# Each file one gray level, so the level identifies it. Every mode and format the issue
# names; sizes all differ. (level, relative path, how to write it)
MIXED = [
    (20, "a.jpg", lambda p: Image.new("L", (40, 30), 20).save(p)),
    (40, "b.PNG", lambda p: Image.new("RGB", (17, 50), (40, 40, 40)).save(p)),
    (60, "n/c.png", lambda p: Image.new("RGBA", (33, 33), (60, 60, 60, 90)).save(p)),
    (80, "n/d.png", lambda p: palette_image([80, 80, 80]).save(p)),
    (100, "n/m/e.bmp", lambda p: Image.new("L", (9, 70), 100).save(p)),
    (120, "n/m/f.bmp", lambda p: Image.new("RGB", (64, 64), (120,) * 3).save(p)),
    (
        140,
        "g.webp",
        lambda p: Image.new("RGBA", (21, 19), (140, 140, 140, 255)).save(p, lossless=True),
    ),
    (160, "h.webp", lambda p: Image.new("L", (50, 10), 160).save(p, lossless=True)),
    (180, "i.gif", lambda p: palette_image([180, 180, 180]).save(p)),
    # 16-bit grayscale PNG: 220 * 257 is 220 in 8 bits.
    (
        220,
        "n/k.png",
        lambda p: Image.fromarray(np.full((12, 14), 220 * 257, np.uint16)).save(p),
    ),
    # An animated GIF: the first frame is the image.
    (
        200,
        "n/j.GIF",
        lambda p: Image.new("L", (16, 16), 200).save(
            p, save_all=True, append_images=[Image.new("L", (16, 16), 10)]
        ),
    ),
]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    for _, name, write in MIXED:
        os.makedirs(os.path.dirname(root / name), exist_ok=True)
        write(str(root / name))
    return str(root)


@pytest.mark.parametrize("channels", [1, 3])
def test_every_format_and_mode_is_read(mixed, channels):
    dataset = data.make_dataset(
        "folder", batch_size=len(MIXED), seed=0, data_dir=mixed, image_size=8, channels=channels
    )
    (batch,) = take(dataset, 1)
    assert batch.shape == (len(MIXED), 8, 8, channels)
    # One epoch is exactly one batch, so every file shows up once.
    np.testing.assert_allclose(
        sorted(gray_levels(batch)), sorted(level for level, *_ in MIXED), atol=1.5
    )


def bad_folder(root):
    """4 good files (levels 50, 100, 150, 200) and 4 bad ones of the usual kinds."""
    os.makedirs(root / "deep" / "er")
    for i, level in enumerate((50, 100, 150, 200)):
        Image.new("RGB", (20 + i, 24), (level,) * 3).save(
            root / ("deep" if i % 2 else "") / f"{i}.png"
        )
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), np.uint8)).save(root / "whole.jpg")
    whole = (root / "whole.jpg").read_bytes()
    os.remove(root / "whole.jpg")
    (root / "deep" / "er" / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    (root / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    (root / "empty.jpg").write_bytes(b"")
    (root / "deep" / "text.webp").write_text("not an image at all")
    return str(root)


def test_bad_files_are_skipped_and_counted(tmp_path):
    root = bad_folder(tmp_path)
    skipped = tf.Variable(0, dtype=tf.int64)
    dataset = data.make_dataset(
        "folder", batch_size=4, seed=1, data_dir=root, image_size=8, skipped_images=skipped
    )
    epochs = 10
    levels = np.concatenate([gray_levels(b) for b in take(dataset, epochs)])
    # Only good files come out, each once per epoch (a batch is one epoch of them).
    for epoch in levels.reshape(epochs, 4):
        np.testing.assert_allclose(sorted(epoch), [50, 100, 150, 200], atol=1)
    # To reach the last good file of epoch 10, every file of epochs 1-9 was decoded:
    # 4 bad ones each. Decoding runs ahead of consumption by at most a few buffers.
    count = int(skipped.numpy())
    assert 4 * (epochs - 1) <= count <= 4 * (epochs + 20)


def test_on_bad_image_fail_names_the_file(tmp_path):
    Image.new("L", (8, 8), 0).save(tmp_path / "good.png")
    (tmp_path / "bad.png").write_bytes(b"garbage")
    dataset = data.make_dataset(
        "folder", batch_size=1, seed=0, data_dir=str(tmp_path), on_bad_image="fail"
    )
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        take(dataset, 4)
    message = data.bad_image_message(info.value)
    assert message == (
        f"cannot decode image file {str(tmp_path / 'bad.png')!r}; --on_bad_image=skip skips "
        "unreadable files and counts them"
    )
    assert data.bad_image_message(tf.errors.InvalidArgumentError(None, None, "other")) is None


def square_on_black(path, size, box):
    """A black RGB image with a white rectangle box = (left, top, right, bottom)."""
    pixels = np.zeros((size[1], size[0], 3), np.uint8)
    left, top, right, bottom = box
    pixels[top:bottom, left:right] = 255
    Image.fromarray(pixels).save(path)


@pytest.mark.parametrize(
    "crop,crop_size,expected",
    [
        # 60x40 with a white 20x20 square in the middle (x 20-40, y 10-30).
        # crop_size 20 keeps only the square: all white.
        ("center", 20, np.ones((20, 20))),
        # Largest square, 40x40 (x 10-50): the square is its middle half; area-resized
        # by 2, the middle 10x10 of the 20x20 output.
        ("center", 0, np.pad(np.ones((10, 10)), 5)),
        # Larger than the image: the largest square again.
        ("center", 500, np.pad(np.ones((10, 10)), 5)),
        # No crop, 60x40 squeezed to 60x60 then halved... here resized by 3 in x and 2
        # in y: the square covers x 20-40 -> output columns 6.67-13.33, y rows 5-15.
        ("none", 0, None),
    ],
)
def test_center_crop(tmp_path, crop, crop_size, expected):
    square_on_black(tmp_path / "x.png", (60, 40), (20, 10, 40, 30))
    dataset = data.make_dataset(
        "folder",
        batch_size=1,
        seed=0,
        data_dir=str(tmp_path),
        image_size=20,
        crop=crop,
        crop_size=crop_size,
        resize_method="area",
    )
    (batch,) = take(dataset, 1)
    white = (batch[0, :, :, 0] + 1) / 2  # [20, 20] in [0, 1]
    if expected is None:
        column = np.clip(
            np.minimum(np.arange(20) + 1, 40 / 3) - np.maximum(np.arange(20), 20 / 3), 0, 1
        )
        expected = np.zeros((20, 20))
        expected[5:15] = column
    np.testing.assert_allclose(white, expected, atol=1e-5)


def test_listing_skips_hidden_and_other_files(tmp_path):
    for name in ("b.jpg", "A.JPEG", "s/c.Png", "s/t/d.bmp", "e.gif", "f.webp"):
        os.makedirs(os.path.dirname(tmp_path / name), exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    for name in ("._b.jpg", ".hidden/x.png", "notes.txt", "raw.tiff"):
        os.makedirs(os.path.dirname(tmp_path / name), exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    found = [os.path.relpath(p, tmp_path) for p in folder.list_images(str(tmp_path))]
    assert found == sorted(["b.jpg", "A.JPEG", "s/c.Png", "s/t/d.bmp", "e.gif", "f.webp"])


@pytest.mark.parametrize(
    "kwargs,quoted",
    [
        ({"crop": "corner"}, "'corner'"),
        ({"crop_size": -1}, "-1"),
        ({"resize_method": "cubic"}, "'cubic'"),
        ({"on_bad_image": "ignore"}, "'ignore'"),
    ],
)
def test_bad_folder_options(tmp_path, kwargs, quoted):
    Image.new("L", (8, 8), 0).save(tmp_path / "a.png")
    with pytest.raises(DataError, match=re.escape(quoted)) as info:
        data.make_dataset("folder", batch_size=1, seed=0, data_dir=str(tmp_path), **kwargs)
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------- cache


def cache_run(root, cache, skipped=None, batch_size=4, **options):
    dataset = data.make_dataset(
        "folder",
        batch_size=batch_size,
        seed=1,
        data_dir=root,
        image_size=8,
        cache=cache,
        skipped_images=skipped,
        **options,
    )
    return take(dataset, 3)


def test_memory_cache_holds_the_good_files_and_counts_bad_ones_exactly(tmp_path):
    root = bad_folder(tmp_path)
    skipped = tf.Variable(0, dtype=tf.int64)
    batches = cache_run(root, "memory", skipped)
    for batch in batches:  # one epoch per batch of 4, each good file once
        np.testing.assert_allclose(sorted(gray_levels(batch)), [50, 100, 150, 200], atol=1)
    # Decoded once, up front: exactly the 4 bad files, however far training runs.
    assert int(skipped.numpy()) == 4
    assert [b.tolist() for b in cache_run(root, "memory")] == [b.tolist() for b in batches]


def test_file_cache_is_reused_until_the_folder_or_options_change(tmp_path, monkeypatch):
    root = bad_folder(tmp_path / "images")
    cache = str(tmp_path / "cache" / "faces.npy")
    first = cache_run(root, cache)
    stored = np.load(cache)
    assert stored.shape == (4, 8, 8, 1) and stored.dtype == np.uint8
    np.testing.assert_array_equal(sorted(stored[:, 0, 0, 0]), [50, 100, 150, 200])

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again")

    with monkeypatch.context() as patch:
        patch.setattr(folder_cache, "decode_all", no_decoding)
        skipped = tf.Variable(0, dtype=tf.int64)
        again = cache_run(root, cache, skipped)
        assert int(skipped.numpy()) == 4  # the count is kept with the cache
        for a, b in zip(first, again, strict=True):
            np.testing.assert_array_equal(a, b)
        with pytest.raises(AssertionError, match="decoded again"):
            cache_run(root, cache, resize_method="area")
        Image.new("L", (9, 9), 25).save(os.path.join(root, "new.png"))
        with pytest.raises(AssertionError, match="decoded again"):
            cache_run(root, cache)
    cache_run(root, cache, batch_size=5)
    assert len(np.load(cache)) == 5


def test_cache_errors(tmp_path):
    root = bad_folder(tmp_path / "images")
    with pytest.raises(DataError, match=re.escape("cannot decode image file")) as info:
        cache_run(root, "memory", on_bad_image="fail")
    assert "corrupt.png" in str(info.value) or "truncated.jpg" in str(info.value)
    os.makedirs(tmp_path / "adir")
    with pytest.raises(DataError, match="is a directory"):
        cache_run(root, str(tmp_path / "adir"))
    with pytest.raises(DataError, match="only 4 readable images"):
        cache_run(root, "memory", batch_size=5)
