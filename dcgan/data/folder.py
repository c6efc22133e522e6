"""Image folders: listed once, streamed from disk, decoded in parallel, bad files skipped.

A folder of 200k JPEGs (CelebA) never sits in memory: only the sorted list of paths
does, and each epoch shuffles that list and decodes files as batches are needed.

A corrupt or truncated file must not end a long run, and must not vanish silently
either. ``tf.data``'s ``ignore_errors`` only drops, so each file is decoded in its own
one-element dataset whose error is turned into a placeholder with ``ok = False``;
the placeholders are counted into a caller-owned ``tf.Variable`` and filtered out.
The count is not part of the iterator's state (tf.data cannot save a variable), so the
caller saves the variable in the same checkpoint as the iterator: both describe the
files decoded so far, including those waiting in prefetch buffers, so a resumed run
continues both exactly.
"""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import tensorflow as tf

from dcgan.data.common import DataError, to_model_range

# Every format tf.io.decode_image reads (GIF: the first frame).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
CROPS = ("none", "center")
RESIZE_METHODS = ("bilinear", "bicubic", "area", "nearest", "lanczos3")
BAD_IMAGE_ACTIONS = ("skip", "fail")
# Bounds the shuffle buffer's memory; paths are short strings, so this is a few MB.
_SHUFFLE_BUFFER = 10_000
# Files decoded concurrently; enough to keep every core busy on small JPEGs.
_CYCLE_LENGTH = 16
# Found in the message of the error a bad file raises with on_bad_image="fail".
_BAD_IMAGE_MARKER = "dcgan: unreadable image file"


def list_images(data_dir: str) -> list[str]:
    """Lists image files under ``data_dir`` recursively, sorted for determinism.

    Hidden files and folders (names starting with ".") are skipped, so macOS
    ``._name.jpg`` metadata files are not mistaken for images.

    Args:
        data_dir: Root folder.

    Returns:
        Sorted paths whose extension is in :data:`IMAGE_EXTENSIONS` (any case).
    """
    paths = []
    for root, dirs, files in os.walk(data_dir):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        paths.extend(
            os.path.join(root, f)
            for f in files
            if not f.startswith(".") and f.lower().endswith(IMAGE_EXTENSIONS)
        )
    return sorted(paths)


def folder_images(
    data_dir: str | None,
    *,
    batch_size: int,
    seed: int,
    image_size: int,
    channels: int,
    crop: str = "none",
    crop_size: int = 0,
    resize_method: str = "bilinear",
    on_bad_image: str = "skip",
    skipped_images: tf.Variable | None = None,
    cache: str = "",
) -> tf.data.Dataset:
    """An infinite dataset of single images ``[image_size, image_size, channels]``.

    Args:
        data_dir: Root folder, searched recursively.
        batch_size: The folder must hold at least this many image files.
        seed: Seed of the per-epoch shuffle of the file list.
        image_size: Side of the square output images.
        channels: 1 (grayscale) or 3 (RGB); every file is converted to it.
        crop: ``"center"`` crops a centered square before resizing; ``"none"``
            resizes the whole image (stretching non-square ones).
        crop_size: Side of the center crop; 0 takes the largest square. Images smaller
            than ``crop_size`` give the largest square they have.
        resize_method: A ``tf.image.resize`` method, antialiased when downscaling.
        on_bad_image: ``"skip"`` drops files that cannot be decoded, ``"fail"`` stops
            with an error naming the file (see :func:`bad_image_message`).
        skipped_images: int64 variable incremented for every skipped file.
        cache: ``""`` streams from disk; ``"memory"`` decodes every file once, up front,
            and keeps the set in memory as uint8; a file path also saves that set as an
            .npy file there (with a .json key beside it) and reuses it while the folder
            listing and the options match.

    Returns:
        float32 images in [-1, 1], in a deterministic order for a given seed.

    Raises:
        DataError: if the folder is missing, holds no image files, or too few.
    """
    if not data_dir:
        raise DataError("--data_dir is required for dataset 'folder'")
    for name, value, allowed in (
        ("crop", crop, CROPS),
        ("resize_method", resize_method, RESIZE_METHODS),
        ("on_bad_image", on_bad_image, BAD_IMAGE_ACTIONS),
    ):
        if value not in allowed:
            raise DataError(f"{name} {value!r} is invalid; choose one of: {', '.join(allowed)}")
    if isinstance(crop_size, bool) or not isinstance(crop_size, int) or crop_size < 0:
        raise DataError(f"crop_size must be an integer >= 0, got {crop_size!r}")
    root = os.path.expanduser(data_dir)
    if not os.path.exists(root):
        raise DataError(f"data_dir {data_dir!r} does not exist")
    if not os.path.isdir(root):
        raise DataError(f"data_dir {data_dir!r} is not a directory")
    paths = list_images(root)
    if not paths:
        raise DataError(
            f"no image files under {data_dir!r}; allowed extensions (any case): "
            f"{', '.join(IMAGE_EXTENSIONS)}"
        )
    if len(paths) < batch_size:
        raise DataError(
            f"only {len(paths)} images under {data_dir!r}, fewer than batch_size={batch_size}"
        )

    def decode(path: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        # Decoding to RGB first works for every file (palette, RGBA, 16-bit, CMYK);
        # decode_image(channels=1) rejects CMYK JPEGs. Rounding reproduces the
        # decoders' own uint8 grayscale.
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        if crop == "center":
            height, width = tf.shape(image)[0], tf.shape(image)[1]
            side = tf.minimum(height, width)
            if crop_size:
                side = tf.minimum(side, crop_size)
            image = tf.image.crop_to_bounding_box(
                image, (height - side) // 2, (width - side) // 2, side, side
            )
        image = to_model_range(
            image, image_size=image_size, channels=channels, resize_method=resize_method
        )
        return tf.ensure_shape(image, [image_size, image_size, channels]), True, path

    def decode_or_flag(path: tf.Tensor) -> tf.data.Dataset:
        placeholder = (tf.zeros([image_size, image_size, channels]), False, path)
        return (
            tf.data.Dataset.from_tensors(path)
            .map(decode)
            .ignore_errors()
            .concatenate(tf.data.Dataset.from_tensors(placeholder))
            .take(1)
        )

    if cache:
        images = _cached_images(
            cache,
            paths,
            decode_or_flag,
            key=dict(
                data_dir=os.path.abspath(root),
                image_size=image_size,
                channels=channels,
                crop=crop,
                crop_size=crop_size,
                resize_method=resize_method,
            ),
            on_bad_image=on_bad_image,
            skipped_images=skipped_images,
        )
        if len(images) < batch_size:
            raise DataError(
                f"only {len(images)} readable images under {data_dir!r}, fewer than "
                f"batch_size={batch_size}"
            )
        return _memory_images(images, seed)

    def check(image: tf.Tensor, ok: tf.Tensor, path: tf.Tensor):
        # Both modes build the same pipeline (tf.data parallelizes a map only when it
        # touches no variable), so a resumed run may switch between them.
        if on_bad_image == "fail":
            tf.debugging.Assert(ok, [_BAD_IMAGE_MARKER, path], summarize=1)
        if skipped_images is not None:
            skipped_images.assign_add(tf.cast(tf.logical_not(ok), tf.int64))
        return image, ok

    dataset = (
        tf.data.Dataset.from_tensor_slices(paths)
        .shuffle(min(len(paths), _SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .interleave(
            decode_or_flag,
            cycle_length=_CYCLE_LENGTH,
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        .map(check)
        .filter(lambda image, ok: ok)
        .map(lambda image, ok: image)
    )
    options = tf.data.Options()
    # The only external state is the skip counter, which the caller checkpoints itself.
    options.experimental_external_state_policy = tf.data.experimental.ExternalStatePolicy.IGNORE
    return dataset.with_options(options)


def _decode_all(paths: list[str], decode_or_flag, on_bad_image: str) -> tuple[np.ndarray, int]:
    """Decodes every file once, in order; returns the uint8 images and the skip count."""
    dataset = (
        tf.data.Dataset.from_tensor_slices(paths)
        .interleave(
            decode_or_flag,
            cycle_length=_CYCLE_LENGTH,
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        .batch(256)
        .prefetch(2)
    )
    kept, skipped = [], 0
    for images, ok, batch_paths in dataset:
        ok = ok.numpy()
        if on_bad_image == "fail" and not ok.all():
            path = batch_paths.numpy()[~ok][0].decode()
            raise DataError(_bad_image_text(path))
        skipped += int((~ok).sum())
        kept.append(np.round((images.numpy()[ok] + 1.0) * 127.5).astype(np.uint8))
    return np.concatenate(kept), skipped


def _cached_images(
    cache: str, paths: list[str], decode_or_flag, *, key: dict, on_bad_image: str, skipped_images
) -> np.ndarray:
    """The decoded folder: from the cache file when its key matches, else decoded now."""
    key = dict(key, files=len(paths), listing_sha256=_listing_hash(paths))
    images = None
    if cache != "memory":
        cache = os.path.expanduser(cache)
        if os.path.isdir(cache):
            raise DataError(f"cache {cache!r} is a directory; allowed: memory or a file path")
        try:
            with open(cache + ".json") as f:
                saved = json.load(f)
            if {k: saved.get(k) for k in key} == key:
                images, skipped = np.load(cache, allow_pickle=False), saved["skipped"]
        except (OSError, ValueError, KeyError):
            images = None  # no cache yet, or an unreadable one: decode again
    if images is None:
        images, skipped = _decode_all(paths, decode_or_flag, on_bad_image)
        if cache != "memory":
            _write_cache(cache, images, dict(key, skipped=skipped))
    if skipped_images is not None:
        skipped_images.assign(skipped)  # the same every run: the set is decoded once
    return images


def _write_cache(cache: str, images: np.ndarray, key: dict) -> None:
    # Written under temporary names and renamed, so an interrupted write leaves no
    # half file that a later run would trust.
    try:
        os.makedirs(os.path.dirname(os.path.abspath(cache)), exist_ok=True)
        with open(cache + ".tmp", "wb") as f:
            np.save(f, images)
        os.replace(cache + ".tmp", cache)
        with open(cache + ".json.tmp", "w") as f:
            json.dump(key, f, indent=2)
        os.replace(cache + ".json.tmp", cache + ".json")
    except OSError as e:
        raise DataError(f"cannot write the cache file {cache!r}: {e.strerror}") from None


def _listing_hash(paths: list[str]) -> str:
    return hashlib.sha256("\n".join(paths).encode()).hexdigest()


def _memory_images(images: np.ndarray, seed: int) -> tf.data.Dataset:
    count = len(images)
    images = tf.constant(images)

    def to_float(index: tf.Tensor) -> tf.Tensor:
        return tf.cast(tf.gather(images, index), tf.float32) / 127.5 - 1.0

    # Shuffled indices keep the saved iterator state at 8 bytes per image.
    return (
        tf.data.Dataset.range(count)
        .shuffle(count, seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .map(to_float, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    )


def bad_image_message(error: Exception) -> str | None:
    """The one-line message for the error an unreadable file raised, else None.

    With ``on_bad_image="fail"`` the error surfaces where the batch is consumed (the
    training step), as a ``tf.errors.InvalidArgumentError``.
    """
    text = str(error)
    if _BAD_IMAGE_MARKER not in text:
        return None
    path = text.split(_BAD_IMAGE_MARKER, 1)[1].split("]", 2)[1].strip(" [")
    return _bad_image_text(path)


def _bad_image_text(path: str) -> str:
    return (
        f"cannot decode image file {path!r}; --on_bad_image=skip skips unreadable files "
        "and counts them"
    )
