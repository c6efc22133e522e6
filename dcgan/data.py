"""Input pipelines: the one interface every training source goes through.

:func:`make_dataset` is the one place where every source ends: an infinite dataset of
float32 batches with a fully static shape, deterministic for a given seed, so a training
run can be reproduced and resumed (the iterator goes into the checkpoint). Image
batches are ``[batch, size, size, channels]`` in ``[-1, 1]``; vector batches are
``[batch, dim]``.

Sources: the toy vector sets and the rendered glyph set live here; image folders in
:mod:`dcgan.sources.folder`; Keras sets and .npy arrays in :mod:`dcgan.sources.arrays`.
"""

from __future__ import annotations

import functools
import string

import numpy as np
import tensorflow as tf
from PIL import Image, ImageDraw, ImageFont

from dcgan.sources import DataError, arrays, folder, tfds, to_model_range
from dcgan.sources import check_int as _check_int

IMAGE_DATASETS = ("glyphs", "folder", *arrays.KERAS_DATASETS, "npy")
VECTOR_DATASETS = {"gaussian1d": 1, "ring2d": 2, "grid2d": 2}
# The order of dcgan.config.DATASETS (the flag's choices): newer sources come last.
DATASETS = ("glyphs", "folder", *VECTOR_DATASETS, *arrays.KERAS_DATASETS, "npy", "npy_vectors")
IMAGE_EXTENSIONS = folder.IMAGE_EXTENSIONS
CROPS = folder.CROPS
RESIZE_METHODS = folder.RESIZE_METHODS
BAD_IMAGE_ACTIONS = folder.BAD_IMAGE_ACTIONS
bad_image_message = folder.bad_image_message
npy_vector_dim = arrays.npy_vector_dim

GLYPH_SIZES = (28, 32, 64, 128)
GLYPH_CHARACTERS = string.ascii_uppercase + string.ascii_lowercase + string.digits
_GLYPH_SCALE = (0.6, 1.0)
_GLYPH_GAIN = (1.5, 3.0)

__all__ = ["DataError", "make_dataset", "mixture_centers", "render_glyphs"]


def make_dataset(
    name: str,
    *,
    batch_size: int,
    seed: int,
    image_size: int = 32,
    channels: int = 1,
    data_dir: str | None = None,
    data_file: str | None = None,
    crop: str = "none",
    crop_size: int = 0,
    resize_method: str = "bilinear",
    random_flip: bool = False,
    on_bad_image: str = "skip",
    skipped_images: tf.Variable | None = None,
    vector_dim: int | None = None,
    cache: str = "",
) -> tf.data.Dataset:
    """Builds an infinite, deterministic dataset of float32 batches.

    Args:
        name: One of :data:`DATASETS`, or ``tfds:NAME`` for a prepared TensorFlow
            Datasets set (see :mod:`dcgan.sources.tfds`).
        batch_size: Examples per batch; the last partial batch of an epoch is dropped.
        seed: Non-negative seed for shuffling, flipping and sampling (the glyph images
            are a fixed set; the seed only orders them).
        image_size: Side of the square images (image sets only; glyphs supports
            :data:`GLYPH_SIZES`; other sets are resized to it).
        channels: 1 (grayscale) or 3 (RGB), image sets only; sources are converted.
        data_dir: Root folder searched recursively, required for ``"folder"``; for
            ``tfds:NAME``, the TFDS data directory (None: TFDS's default).
        data_file: The .npy file, required for ``"npy"``.
        crop: ``"center"`` or ``"none"``, folders only (see
            :func:`dcgan.sources.folder.folder_images`).
        crop_size: Side of the center crop; 0 takes the largest square.
        resize_method: How images of another size are resized (folder, Keras and npy
            sets), one of :data:`RESIZE_METHODS`.
        random_flip: Mirror each image left-right with probability 1/2 (image sets).
        on_bad_image: ``"skip"`` or ``"fail"`` on a file that cannot be decoded.
        skipped_images: int64 variable counting skipped files (folders); the caller
            checkpoints it next to the iterator.
        vector_dim: For ``"npy_vectors"``: the width the file must have (None: any).
        cache: Folders only: ``""`` streams from disk, ``"memory"`` decodes the set once
            and holds it in memory, a file path also keeps it in that .npy file.

    Returns:
        A repeated, prefetched ``tf.data.Dataset`` of ``[batch_size, image_size,
        image_size, channels]`` images in [-1, 1], or of ``[batch_size, dim]`` vectors.

    Raises:
        DataError: If an argument is invalid or the source is missing or unusable.
    """
    if name not in DATASETS and not name.startswith(tfds.PREFIX):
        raise DataError(
            f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}, {tfds.PREFIX}NAME"
        )
    _check_int("batch_size", batch_size, minimum=1)
    _check_int("seed", seed, minimum=0)
    if name in VECTOR_DATASETS:
        return _vector_dataset(name, batch_size=batch_size, seed=seed)
    if name == "npy_vectors":
        vectors = arrays.npy_vectors(data_file, dim=vector_dim)
        return _array_dataset(vectors, batch_size, seed).prefetch(tf.data.AUTOTUNE)
    _check_int("image_size", image_size, minimum=1)
    if channels not in (1, 3) or isinstance(channels, bool):
        raise DataError(f"channels must be 1 or 3, got {channels!r}")
    if resize_method not in RESIZE_METHODS:
        raise DataError(
            f"resize_method {resize_method!r} is invalid; choose one of: "
            f"{', '.join(RESIZE_METHODS)}"
        )
    shape = dict(image_size=image_size, channels=channels)
    if name == "folder":
        dataset = folder.folder_images(
            data_dir,
            batch_size=batch_size,
            seed=seed,
            crop=crop,
            crop_size=crop_size,
            resize_method=resize_method,
            on_bad_image=on_bad_image,
            skipped_images=skipped_images,
            cache=cache,
            **shape,
        ).batch(batch_size, drop_remainder=True)
    elif name.startswith(tfds.PREFIX):
        dataset = tfds.tfds_images(
            name, data_dir=data_dir, seed=seed, resize_method=resize_method, **shape
        ).batch(batch_size, drop_remainder=True)
    elif name == "glyphs":
        # The set itself is fixed (render seed 0), like a downloaded dataset, so runs
        # with different seeds train on the same images and only the order differs.
        glyphs = render_glyphs(image_size=image_size)
        dataset = _array_dataset(glyphs, batch_size, seed, resize_method, **shape)
    elif name == "npy":
        images = arrays.npy_images(data_file)
        dataset = _array_dataset(images, batch_size, seed, resize_method, **shape)
    else:
        images = arrays.keras_images(name)
        dataset = _array_dataset(images, batch_size, seed, resize_method, **shape)
    if random_flip:
        dataset = _flip_dataset(dataset, seed)
    return dataset.prefetch(tf.data.AUTOTUNE)


def mixture_centers(name: str) -> tuple[np.ndarray, float]:
    """Returns the mode centers and per-axis stddev of a 2-D Gaussian mixture set.

    Args:
        name: ``"ring2d"`` (8 modes on the unit circle) or ``"grid2d"`` (5 x 5 grid).

    Returns:
        A ``[K, 2]`` float64 array of centers (a fresh copy) and the stddev.

    Raises:
        DataError: If ``name`` is not a mixture set.
    """
    if name == "ring2d":
        angles = 2 * np.pi * np.arange(8) / 8
        return np.stack([np.cos(angles), np.sin(angles)], axis=1), 0.01
    if name == "grid2d":
        xs, ys = np.meshgrid(np.arange(-4.0, 5.0, 2.0), np.arange(-4.0, 5.0, 2.0), indexing="ij")
        return np.stack([xs.ravel(), ys.ravel()], axis=1), 0.05
    raise DataError(f"mixture_centers: unknown mixture {name!r}; choose one of: ring2d, grid2d")


def render_glyphs(*, image_size: int, seed: int = 0, num_images: int = 11_904) -> np.ndarray:
    """Renders augmented letters and digits, white on black, with Pillow's bundled font.

    Image ``i`` shows character ``GLYPH_CHARACTERS[i % 62]`` at a random scale (capital
    letters are 0.6-1.0 of the frame tall; a glyph that would not fit is shrunk),
    a random shift that keeps the ink inside the frame, and a random brightness gain
    that saturates the strokes toward white. Results are cached in-process and
    returned read-only.

    Args:
        image_size: Side of the square images, one of :data:`GLYPH_SIZES`.
        seed: Seed for the augmentation draws.
        num_images: How many images to make.

    Returns:
        A read-only uint8 array of shape ``[num_images, image_size, image_size, 1]``.

    Raises:
        DataError: If ``image_size`` is unsupported or ``num_images`` is not positive.
    """
    _check_int("image_size", image_size, minimum=1)
    if image_size not in GLYPH_SIZES:
        raise DataError(
            f"glyphs: image_size {image_size!r} is not supported; use one of "
            f"{', '.join(map(str, GLYPH_SIZES))}"
        )
    _check_int("seed", seed, minimum=0)
    _check_int("num_images", num_images, minimum=1)
    return _render_glyphs_cached(image_size, seed, num_images)


@functools.lru_cache(maxsize=4)
def _render_glyphs_cached(image_size: int, seed: int, num_images: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # Draw everything up front so each image's randomness does not depend on glyph sizes.
    scales = rng.uniform(*_GLYPH_SCALE, size=num_images)
    gains = rng.uniform(*_GLYPH_GAIN, size=num_images)
    shifts = rng.uniform(size=(num_images, 2))

    reference = ImageFont.load_default(size=100).getbbox("H")
    cap_height_per_point = (reference[3] - reference[1]) / 100

    # Local caches: a few thousand (character, size) masks are reused across images
    # but are not worth keeping after the set is rendered.
    fonts: dict[int, ImageFont.FreeTypeFont] = {}
    masks: dict[tuple[str, int], np.ndarray] = {}

    def glyph_mask(char: str, point_size: int) -> np.ndarray:
        while True:
            if point_size not in fonts:
                fonts[point_size] = ImageFont.load_default(size=point_size)
            font = fonts[point_size]
            left, top, right, bottom = font.getbbox(char)
            if (right - left <= image_size and bottom - top <= image_size) or point_size == 1:
                break
            point_size -= 1
        canvas = Image.new("L", (right - left, bottom - top))
        ImageDraw.Draw(canvas).text((-left, -top), char, fill=255, font=font)
        return np.asarray(canvas, np.float32)

    images = np.zeros((num_images, image_size, image_size, 1), np.uint8)
    for i in range(num_images):
        char = GLYPH_CHARACTERS[i % len(GLYPH_CHARACTERS)]
        point_size = round(scales[i] * image_size / cap_height_per_point)
        if (char, point_size) not in masks:
            masks[char, point_size] = glyph_mask(char, point_size)
        glyph = masks[char, point_size]
        height, width = glyph.shape
        top = int(shifts[i, 0] * (image_size - height + 1))
        left = int(shifts[i, 1] * (image_size - width + 1))
        bright = np.minimum(glyph * gains[i], 255.0).astype(np.uint8)
        images[i, top : top + height, left : left + width, 0] = bright
    images.flags.writeable = False
    return images


def _vector_dataset(name: str, *, batch_size: int, seed: int) -> tf.data.Dataset:
    dim = VECTOR_DATASETS[name]
    if name == "gaussian1d":
        centers, stddev = np.zeros((1, 1)), 1.0
    else:
        centers, stddev = mixture_centers(name)
    centers = tf.constant(centers, tf.float32)
    num_modes = centers.shape[0]
    seed = tf.constant(seed, tf.int64)

    def sample(step: tf.Tensor) -> tf.Tensor:
        # Batch `step` depends only on (seed, step): no state to save when resuming.
        mode_seed, noise_seed = tf.unstack(
            tf.random.experimental.stateless_split(tf.stack([seed, step]), num=2)
        )
        modes = tf.random.stateless_uniform(
            [batch_size], seed=mode_seed, minval=0, maxval=num_modes, dtype=tf.int32
        )
        noise = tf.random.stateless_normal([batch_size, dim], seed=noise_seed)
        return tf.gather(centers, modes) + stddev * noise

    dataset = tf.data.Dataset.counter().map(
        sample, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    return dataset.prefetch(tf.data.AUTOTUNE)


def _array_dataset(
    examples: np.ndarray,
    batch_size: int,
    seed: int,
    resize_method: str = "bilinear",
    *,
    image_size: int | None = None,
    channels: int | None = None,
) -> tf.data.Dataset:
    """Batches of an in-memory set: uint8 images ``[N, H, W, C]`` converted to the run's
    shape, or (``image_size`` None) float32 vectors ``[N, D]`` as they are."""
    count = examples.shape[0]
    if count < batch_size:
        raise DataError(f"the set holds only {count} examples, fewer than batch_size={batch_size}")
    examples = tf.constant(examples)

    def to_float(indices: tf.Tensor) -> tf.Tensor:
        batch = tf.gather(examples, indices)
        if image_size is None:
            return batch
        return to_model_range(
            batch, image_size=image_size, channels=channels, resize_method=resize_method
        )

    # Shuffling indices instead of images keeps the shuffle buffer (and any saved
    # iterator state) at 8 bytes per image instead of a full copy of the set.
    return (
        tf.data.Dataset.range(count)
        .shuffle(count, seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .batch(batch_size, drop_remainder=True)
        .map(to_float, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    )


def _flip_dataset(dataset: tf.data.Dataset, seed: int) -> tf.data.Dataset:
    seed = tf.constant(seed, tf.int64)

    def flip(batch: tf.Tensor, step: tf.Tensor) -> tf.Tensor:
        # Batch `step`'s flips depend only on (seed, step): the counter's position is
        # saved with the iterator, so a resumed run flips the same images.
        coins = tf.random.stateless_uniform([batch.shape[0]], seed=tf.stack([seed, step]))
        return tf.where(coins[:, None, None, None] < 0.5, tf.reverse(batch, axis=[2]), batch)

    return tf.data.Dataset.zip(dataset, tf.data.Dataset.counter()).map(
        flip, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
