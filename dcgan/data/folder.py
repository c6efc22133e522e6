"""Image folders: listed once, streamed from disk, decoded in parallel, bad files skipped.

A folder of 200k JPEGs (CelebA) never sits in memory: only the sorted list of paths
does, and each epoch shuffles that list and decodes files as batches are needed.

A corrupt or truncated file must not end a long run, and must not vanish silently
either: files are decoded through ``dcgan.data.decode``, which counts the bad ones into
a caller-owned ``tf.Variable`` and drops them. The count is not part of the iterator's
state (tf.data cannot save a variable), so the caller saves the variable in the same
checkpoint as the iterator: both describe the files decoded so far, including those
waiting in prefetch buffers, so a resumed run continues both exactly.

The folder may be on any file system TensorFlow reads (``gs://bucket/faces``): it is
listed and read through ``tf.io.gfile``.
"""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import tensorflow as tf

from dcgan.data.choices import IMAGE_EXTENSIONS
from dcgan.data.common import DataError
from dcgan.data.decode import bad_image_text, check_decode_options, image_decoder, keep_decoded
from dcgan.io import storage

# Bounds the shuffle buffer's memory; paths are short strings, so this is a few MB.
_SHUFFLE_BUFFER = 10_000
# Files decoded concurrently; enough to keep every core busy on small JPEGs.
_CYCLE_LENGTH = 16
# Bad files in a row after which a large folder is taken to hold nothing decodable.
_MOST_BAD_IN_A_ROW = 1000


def list_images(data_dir: str) -> list[str]:
    """Lists image files under ``data_dir`` recursively, sorted for determinism.

    Hidden files and folders (names starting with ".") are skipped, so macOS
    ``._name.jpg`` metadata files are not mistaken for images.

    Args:
        data_dir: Root folder: a local path or any path ``tf.io.gfile`` lists.

    Returns:
        Sorted paths whose extension is in :data:`IMAGE_EXTENSIONS` (any case).
    """
    paths = []
    walk = os.walk(data_dir) if storage.is_local(data_dir) else _gfile_walk(data_dir)
    for root, dirs, files in walk:
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        paths.extend(
            os.path.join(root, f)
            for f in files
            if not f.startswith(".") and f.lower().endswith(IMAGE_EXTENSIONS)
        )
    return sorted(paths)


def find_images(data_dir: str) -> list[str]:
    """``list_images`` of a folder that must exist and hold images (``~`` expanded).

    Raises:
        DataError: if the folder is missing, not a folder, or holds no image files.
    """
    root = storage.expand(data_dir)
    if not tf.io.gfile.exists(root):
        raise DataError(f"data_dir {data_dir!r} does not exist")
    if not tf.io.gfile.isdir(root):
        raise DataError(f"data_dir {data_dir!r} is not a directory")
    paths = list_images(root)
    if not paths:
        raise DataError(
            f"no image files under {data_dir!r}; allowed extensions (any case): "
            f"{', '.join(IMAGE_EXTENSIONS)}"
        )
    return paths


def _gfile_walk(top: str):
    """``os.walk``'s ``(root, dirs, files)`` through ``tf.io.gfile``, top down.

    An object store answers one request per listing, but one more per name asked
    "directory?": a name with an image extension is taken for a file unasked (200k
    requests saved on CelebA), and GCS marks its directories with a trailing "/".
    """
    dirs, files = [], []
    for name in tf.io.gfile.listdir(top):
        if name.endswith("/"):
            dirs.append(name.rstrip("/"))
        elif name.lower().endswith(IMAGE_EXTENSIONS):
            files.append(name)
        elif tf.io.gfile.isdir(os.path.join(top, name)):
            dirs.append(name)
        else:
            files.append(name)
    yield top, dirs, files
    for name in dirs:  # after the yield: the caller prunes dirs in place, as with os.walk
        yield from _gfile_walk(os.path.join(top, name))


def _read_file(path: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    return tf.io.read_file(path), path


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
    shard: tuple[int, int] = (1, 0),
) -> tf.data.Dataset:
    """An infinite dataset of single images ``[image_size, image_size, channels]``.

    Args:
        data_dir: Root folder, searched recursively: local, or any path ``tf.io.gfile``
            reads (``gs://…``).
        batch_size: The folder (each shard of it) must hold at least this many files.
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
        shard: ``(num_shards, index)``: this worker reads only files ``index``,
            ``index + num_shards``, … of the sorted listing (a file cache gets its own
            file per shard); ``(1, 0)`` reads them all.

    Returns:
        float32 images in [-1, 1], in a deterministic order for a given seed.

    Raises:
        DataError: if the folder is missing, holds no image files, or too few.
    """
    if not data_dir:
        raise DataError("--data_dir is required for dataset 'folder'")
    check_decode_options(
        crop=crop, crop_size=crop_size, resize_method=resize_method, on_bad_image=on_bad_image
    )
    root = storage.expand(data_dir)
    paths = find_images(data_dir)
    num_shards, index = shard
    paths = paths[index::num_shards]
    where = f"under {data_dir!r}" + (f" in shard {index} of {num_shards}" if num_shards > 1 else "")
    if len(paths) < batch_size:
        raise DataError(f"only {len(paths)} images {where}, fewer than batch_size={batch_size}")

    decode_or_flag = image_decoder(
        _read_file,
        image_size=image_size,
        channels=channels,
        crop=crop,
        crop_size=crop_size,
        resize_method=resize_method,
    )
    if cache:
        if num_shards > 1 and cache != "memory":
            # Workers share the storage: each writes and reads only its own file.
            stem, extension = os.path.splitext(cache)
            cache = f"{stem}.shard-{index:05d}-of-{num_shards:05d}{extension}"
        images = _cached_images(
            cache,
            paths,
            decode_or_flag,
            key=dict(
                data_dir=storage.absolute(root),
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
                f"only {len(images)} readable images {where}, fewer than batch_size={batch_size}"
            )
        return _memory_images(images, seed)

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
    )
    # A whole pass of bad files (or 1,000 in a row of a large folder) means nothing here
    # decodes: give up instead of filtering forever.
    give_up_after = min(len(paths), _MOST_BAD_IN_A_ROW)
    whole = " (a whole pass)" if give_up_after == len(paths) else ""
    return keep_decoded(
        dataset,
        on_bad_image=on_bad_image,
        skipped_images=skipped_images,
        give_up_after=give_up_after,
        tried=f"image files read {where}{whole}",
    )


def decode_files(
    paths: list[str], *, image_size: int, channels: int, resize_method: str = "bilinear"
) -> np.ndarray:
    """Every file of ``paths`` decoded and resized, in order: uint8 ``[N, S, S, C]``.

    Raises:
        DataError: naming the first file that cannot be decoded (none is skipped, so
            the images stay aligned with ``paths``).
    """
    decode_or_flag = image_decoder(
        _read_file, image_size=image_size, channels=channels, resize_method=resize_method
    )
    return _decode_all(paths, decode_or_flag, "fail")[0]


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
            raise DataError(bad_image_text(path))
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
        cache = storage.expand(cache)
        if tf.io.gfile.isdir(cache):
            raise DataError(f"cache {cache!r} is a directory; allowed: memory or a file path")
        try:
            saved = json.loads(storage.read_text(cache + ".json"))
            if {k: saved.get(k) for k in key} == key:
                with tf.io.gfile.GFile(cache, "rb") as f:
                    images, skipped = np.load(f, allow_pickle=False), saved["skipped"]
        except (OSError, ValueError, KeyError, tf.errors.OpError):
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
        tf.io.gfile.makedirs(os.path.dirname(storage.absolute(cache)))
        with tf.io.gfile.GFile(cache + ".tmp", "wb") as f:
            np.save(f, images)
        tf.io.gfile.rename(cache + ".tmp", cache, overwrite=True)
        storage.write_text(cache + ".json", json.dumps(key, indent=2))
    except (OSError, tf.errors.OpError) as e:
        storage.remove_quietly(cache + ".tmp")
        raise DataError(
            f"cannot write the cache file {cache!r}: {storage.reason(e)}; allowed: a file "
            "path in a writable directory, or memory"
        ) from None


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
