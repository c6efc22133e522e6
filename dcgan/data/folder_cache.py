"""A folder decoded once (``--cache``): held in memory, or kept in an .npy file for later runs.

A small folder decodes faster once than every epoch: ``cached_images`` decodes every file
up front (counting the bad ones), and ``memory_images`` serves the uint8 set as shuffled
indices. A cache file is reused only while its .json key (the folder's listing, the
decoding options, and the class names of a labeled run) matches the run's; a labeled
run keeps its labels in a third file beside it, aligned with the images that decoded.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from dcgan.data.common import DataError
from dcgan.data.decode import bad_image_text
from dcgan.io import storage

# Files decoded concurrently; enough to keep every core busy on small JPEGs.
CYCLE_LENGTH = 16


def decode_all(
    elements: list[str] | tuple[np.ndarray, list[str]],
    decode_or_flag: Callable[..., tf.data.Dataset],
    on_bad_image: str,
) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Decodes every file once, in order.

    Args:
        elements: the paths, or for a labeled run ``(labels, paths)``.
        decode_or_flag: ``image_decoder``'s function for them.
        on_bad_image: ``"skip"`` or ``"fail"``.

    Returns:
        The uint8 images that decoded, their int64 labels (None without labels), and how
        many files were skipped.

    Raises:
        DataError: naming the first bad file, with ``on_bad_image="fail"``.
    """
    dataset = (
        tf.data.Dataset.from_tensor_slices(elements)
        .interleave(
            decode_or_flag,
            cycle_length=CYCLE_LENGTH,
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        .batch(256)
        .prefetch(2)
    )
    kept, kept_labels, skipped = [], [], 0
    for images, ok, batch_paths, *labels in dataset:
        ok = ok.numpy()
        if on_bad_image == "fail" and not ok.all():
            path = batch_paths.numpy()[~ok][0].decode()
            raise DataError(bad_image_text(path))
        skipped += int((~ok).sum())
        kept.append(np.round((images.numpy()[ok] + 1.0) * 127.5).astype(np.uint8))
        kept_labels += [label.numpy()[ok] for label in labels]
    return np.concatenate(kept), np.concatenate(kept_labels) if kept_labels else None, skipped


def cached_images(
    cache: str,
    paths: list[str],
    decode_or_flag: Callable[..., tf.data.Dataset],
    *,
    key: dict,
    on_bad_image: str,
    skipped_images: tf.Variable | None,
    labels: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The decoded folder: from the cache file when its key matches, else decoded now.

    Args:
        cache: ``"memory"``, or the .npy file to reuse or write.
        paths: the folder's image files.
        decode_or_flag: ``image_decoder``'s function for them (``labeled`` if
            ``labels`` is given).
        key: the decoding options; the listing is added here. A labeled run's key holds
            its class names, an unlabeled run's None, so neither reuses the other's file.
        on_bad_image: ``"skip"`` or ``"fail"``.
        skipped_images: set to the number of files that did not decode.
        labels: the int64 label of each path, for a labeled run.

    Returns:
        The uint8 images ``[N, S, S, C]`` and, for a labeled run, their labels ``[N]``.

    Raises:
        DataError: if ``cache`` is a directory or cannot be written, or a file cannot be
            decoded with ``on_bad_image="fail"``.
    """
    key = dict(key, files=len(paths), listing_sha256=_listing_hash(paths))
    images = None
    if cache != "memory":
        cache = storage.expand(cache)
        if tf.io.gfile.isdir(cache):
            raise DataError(f"cache {cache!r} is a directory; allowed: memory or a file path")
        try:
            saved = json.loads(storage.read_text(cache + ".json"))
            # A key written before labels existed has no class_names: an unlabeled one.
            if {k: saved.get(k) for k in key} == key:
                images, kept_labels = _read_npy(cache), None
                if labels is not None:
                    kept_labels = _read_npy(cache + ".labels.npy")
                    if len(kept_labels) != len(images):
                        raise ValueError("labels and images differ in number")
                skipped = saved["skipped"]
        except (OSError, ValueError, KeyError, tf.errors.OpError):
            images = None  # no cache yet, or an unreadable one: decode again
    if images is None:
        elements = paths if labels is None else (labels, paths)
        images, kept_labels, skipped = decode_all(elements, decode_or_flag, on_bad_image)
        if cache != "memory":
            _write_cache(cache, images, kept_labels, dict(key, skipped=skipped))
    if skipped_images is not None:
        skipped_images.assign(skipped)  # the same every run: the set is decoded once
    return images, kept_labels


def _read_npy(path: str) -> np.ndarray:
    with tf.io.gfile.GFile(path, "rb") as f:
        return np.load(f, allow_pickle=False)


def _write_cache(cache: str, images: np.ndarray, labels: np.ndarray | None, key: dict) -> None:
    # Written under temporary names and renamed, the key last, so an interrupted write
    # leaves no half file that a later run would trust.
    arrays = {cache: images}
    if labels is not None:
        arrays[cache + ".labels.npy"] = labels
    try:
        tf.io.gfile.makedirs(os.path.dirname(storage.absolute(cache)))
        for path, array in arrays.items():
            with tf.io.gfile.GFile(path + ".tmp", "wb") as f:
                np.save(f, array)
            tf.io.gfile.rename(path + ".tmp", path, overwrite=True)
        storage.write_text(cache + ".json", json.dumps(key, indent=2))
    except (OSError, tf.errors.OpError) as e:
        for path in arrays:
            storage.remove_quietly(path + ".tmp")
        raise DataError(
            f"cannot write the cache file {cache!r}: {storage.reason(e)}; allowed: a file "
            "path in a writable directory, or memory"
        ) from None


def _listing_hash(paths: list[str]) -> str:
    return hashlib.sha256("\n".join(paths).encode()).hexdigest()


def memory_images(
    images: np.ndarray, seed: int, labels: np.ndarray | None = None
) -> tf.data.Dataset:
    """The decoded set, shuffled each epoch: single float32 images in [-1, 1], or
    ``(image, label)`` pairs with int32 labels if ``labels`` is given."""
    count = len(images)
    images = tf.constant(images)
    if labels is not None:
        labels = tf.constant(labels, tf.int32)

    def to_float(index: tf.Tensor):
        image = tf.cast(tf.gather(images, index), tf.float32) / 127.5 - 1.0
        return image if labels is None else (image, tf.gather(labels, index))

    # Shuffled indices keep the saved iterator state at 8 bytes per image.
    return (
        tf.data.Dataset.range(count)
        .shuffle(count, seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .map(to_float, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    )
