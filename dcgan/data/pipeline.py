"""``make_dataset``: the one place every training source ends, as batches a run can resume.

An infinite dataset of float32 batches with a fully static shape, deterministic for a
given seed, so a training run can be reproduced and resumed (the iterator goes into the
checkpoint). Image batches are ``[batch, size, size, channels]`` in ``[-1, 1]``; vector
batches are ``[batch, dim]``. Each kind of source has its module (see ``dcgan.data``).

With ``labels=True`` a labeled source (:data:`LABELED_DATASETS`, ``tfds:NAME``) gives
``(images, labels)`` batches instead, the labels int32 ``[batch]``: the same images in
the same order as without labels, each label carried beside its image through every
shuffle, shard, skip and flip (``dcgan.data.classes`` names the classes).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from dcgan.data import arrays, folder, glyphs, tfds, tfrecord, toys
from dcgan.data.choices import (
    DATASETS,
    ENCODED_DATASETS,
    RESIZE_METHODS,
    TFDS_PREFIX,
    VECTOR_DATASETS,
    has_labels,
    is_tfds,
    no_labels_text,
)
from dcgan.data.common import DataError, to_model_range
from dcgan.data.common import check_int as _check_int


def make_dataset(
    name: str,
    *,
    batch_size: int,
    seed: int,
    image_size: int = 32,
    channels: int = 1,
    data_dir: str | None = None,
    data_file: str | None = None,
    data_pattern: str | None = None,
    crop: str = "none",
    crop_size: int = 0,
    resize_method: str = "bilinear",
    random_flip: bool = False,
    on_bad_image: str = "skip",
    skipped_images: tf.Variable | None = None,
    vector_dim: int | None = None,
    cache: str = "",
    shard: tuple[int, int] = (1, 0),
    tfds_download: bool = False,
    labels: bool = False,
) -> tf.data.Dataset:
    """Builds an infinite, deterministic dataset of float32 batches.

    Args:
        name: One of :data:`DATASETS`, or ``tfds:NAME`` for a prepared TensorFlow
            Datasets set (see :mod:`dcgan.data.tfds`).
        batch_size: Examples per batch; the last partial batch of an epoch is dropped.
        seed: Non-negative seed for shuffling, flipping and sampling (the glyph images
            are a fixed set; the seed only orders them).
        image_size: Side of the square images (image sets only; glyphs supports
            :data:`GLYPH_SIZES`; other sets are resized to it).
        channels: 1 (grayscale) or 3 (RGB), image sets only; sources are converted.
        data_dir: Root folder searched recursively, required for ``"folder"``; for
            ``tfds:NAME``, the TFDS data directory (None: TFDS's default).
        data_file: The .npy file, required for ``"npy"``.
        data_pattern: A glob of TFRecord files, required for ``"tfrecord"`` (see
            :mod:`dcgan.data.tfrecord`).
        crop: ``"center"`` or ``"none"``, folders and TFRecords (see
            :func:`dcgan.data.folder.folder_images`).
        crop_size: Side of the center crop; 0 takes the largest square.
        resize_method: How images of another size are resized (folder, Keras and npy
            sets), one of :data:`RESIZE_METHODS`.
        random_flip: Mirror each image left-right with probability 1/2 (image sets).
        on_bad_image: ``"skip"`` or ``"fail"`` on a file that cannot be decoded.
        skipped_images: int64 variable counting skipped files (folders and TFRecords);
            the caller checkpoints it next to the iterator.
        vector_dim: For ``"npy_vectors"``: the width the file must have (None: any).
        cache: Folders only: ``""`` streams from disk, ``"memory"`` decodes the set once
            and holds it in memory, a file path also keeps it in that .npy file.
        shard: ``(num_shards, index)``: the part of the data this worker of
            ``num_shards`` reads; the parts are disjoint and together the whole set.
            ``(1, 0)``, the default, is the whole set.
        tfds_download: For ``tfds:NAME``: let TFDS download and prepare a set that is
            not in ``data_dir`` yet.
        labels: Give each image's class too: glyphs (the character), the Keras sets,
            a folder of class subfolders, TFRecords with ``image/class/label``, ``npy``
            with ``<name>_labels.npy`` beside the file, a tfds set with a ClassLabel
            ``label``. The images are exactly those of ``labels=False``.

    Returns:
        A repeated, prefetched ``tf.data.Dataset`` of ``[batch_size, image_size,
        image_size, channels]`` images in [-1, 1], or of ``[batch_size, dim]`` vectors;
        with ``labels``, of ``(images, labels)`` with int32 ``labels [batch_size]`` in
        ``[0, len(class_names(name, ...)))``; read without tf.data's autotuning (see
        ``_without_autotuning``).

    Raises:
        DataError: If an argument is invalid, the source is missing or unusable, or
            ``labels`` is asked of a source without class labels.
    """
    check_source(name, labels=labels)
    _check_int("batch_size", batch_size, minimum=1)
    _check_int("seed", seed, minimum=0)
    _check_shard(shard)
    if name in VECTOR_DATASETS:
        return _without_autotuning(
            toys.toy_dataset(name, batch_size=batch_size, seed=seed, shard=shard)
        )
    if name == "npy_vectors":
        vectors = arrays.npy_vectors(data_file, dim=vector_dim)
        dataset = _array_dataset(vectors, batch_size, seed, shard=shard)
        return _without_autotuning(dataset.prefetch(tf.data.AUTOTUNE))
    _check_int("image_size", image_size, minimum=1)
    if channels not in (1, 3) or isinstance(channels, bool):
        raise DataError(f"channels must be 1 or 3, got {channels!r}")
    if resize_method not in RESIZE_METHODS:
        raise DataError(
            f"resize_method {resize_method!r} is invalid; choose one of: "
            f"{', '.join(RESIZE_METHODS)}"
        )
    shape = dict(image_size=image_size, channels=channels)
    # What the two sources of encoded images share.
    decoding = dict(
        seed=seed,
        crop=crop,
        crop_size=crop_size,
        resize_method=resize_method,
        on_bad_image=on_bad_image,
        skipped_images=skipped_images,
        shard=shard,
        labels=labels,
        **shape,
    )
    if name == "folder":
        dataset = folder.folder_images(data_dir, batch_size=batch_size, cache=cache, **decoding)
    elif name == "tfrecord":
        dataset = tfrecord.tfrecord_images(data_pattern, **decoding)
    elif is_tfds(name):
        dataset = tfds.tfds_images(
            name,
            data_dir=data_dir,
            seed=seed,
            resize_method=resize_method,
            shard=shard,
            download=tfds_download,
            labels=labels,
            **shape,
        )
    else:
        images, image_labels = _image_array(
            name, image_size=image_size, data_file=data_file, labels=labels
        )
        dataset = _array_dataset(
            images, batch_size, seed, resize_method, shard=shard, labels=image_labels, **shape
        )
    if name in ENCODED_DATASETS or is_tfds(name):  # they stream single images
        dataset = dataset.batch(batch_size, drop_remainder=True)
    if random_flip:
        dataset = _flip_dataset(dataset, seed, shard)
    return _without_autotuning(dataset.prefetch(tf.data.AUTOTUNE))


def _without_autotuning(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """``dataset`` with tf.data's autotuning off.

    Freeing an autotuned iterator waits for its tuning thread's next scheduled wake-up
    instead of waking it (TensorFlow 2.21): up to a minute once the iterator is a minute
    old. A run's command sat that long after its last line, and a process that freed an
    old run stalled as long. Without autotuning, each ``AUTOTUNE`` map and interleave runs
    at a fixed parallelism tf.data picks from the cores, and each ``AUTOTUNE`` prefetch
    buffer grows when it runs dry. Every map that autotuning would parallelize names its
    parallelism, so the pipeline, and the position a checkpoint saves, is the same with
    autotuning on: runs saved with it resume.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def check_source(name: str, *, labels: bool = False) -> None:
    """Raises DataError unless ``name`` is a source, with class labels if ``labels``."""
    if name not in DATASETS and not is_tfds(name):
        raise DataError(
            f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}, {TFDS_PREFIX}NAME"
        )
    if labels and not has_labels(name):
        raise DataError(no_labels_text(name))


def _image_array(
    name: str, *, image_size: int, data_file: str | None, labels: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """The uint8 images ``[N, H, W, C]`` of an in-memory set (glyphs, npy or a Keras set)
    and, if ``labels``, their int64 labels ``[N]`` (else None)."""
    if name == "glyphs":
        # The set itself is fixed (render seed 0), like a downloaded dataset, so runs
        # with different seeds train on the same images and only the order differs.
        images = glyphs.render_glyphs(image_size=image_size)
        return images, (glyphs.glyph_labels(len(images)) if labels else None)
    if name == "npy":
        images = arrays.npy_images(data_file)
        return images, (arrays.npy_labels(data_file) if labels else None)
    if labels:
        return arrays.keras_labeled_images(name)
    return arrays.keras_images(name), None


def _array_dataset(
    examples: np.ndarray,
    batch_size: int,
    seed: int,
    resize_method: str = "bilinear",
    *,
    image_size: int | None = None,
    channels: int | None = None,
    shard: tuple[int, int] = (1, 0),
    labels: np.ndarray | None = None,
) -> tf.data.Dataset:
    """Batches of an in-memory set: uint8 images ``[N, H, W, C]`` converted to the run's
    shape, or (``image_size`` None) float32 vectors ``[N, D]`` as they are; with
    ``labels [N]``, ``(examples, labels)`` batches. A ``shard`` ``(n, i)`` holds
    examples i, i + n, …"""
    num_shards, index = shard
    examples = examples[index::num_shards]
    if labels is not None:
        labels = tf.constant(labels[index::num_shards], tf.int32)
    count = examples.shape[0]
    if count < batch_size:
        part = f" (part {index} of {num_shards})" if num_shards > 1 else ""
        raise DataError(
            f"the set{part} holds only {count} examples, fewer than batch_size={batch_size}"
        )
    examples = tf.constant(examples)

    def to_float(indices: tf.Tensor) -> tf.Tensor | tuple[tf.Tensor, tf.Tensor]:
        batch = tf.gather(examples, indices)
        if image_size is not None:
            batch = to_model_range(
                batch, image_size=image_size, channels=channels, resize_method=resize_method
            )
        return batch if labels is None else (batch, tf.gather(labels, indices))

    # Shuffling indices instead of images keeps the shuffle buffer (and any saved
    # iterator state) at 8 bytes per image instead of a full copy of the set.
    return (
        tf.data.Dataset.range(count)
        .shuffle(count, seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .batch(batch_size, drop_remainder=True)
        .map(to_float, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    )


def _check_shard(shard: object) -> None:
    """Raises DataError unless ``shard`` is ``(num_shards, index)`` with 0 <= index < num_shards."""
    valid = (
        isinstance(shard, tuple)
        and len(shard) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) for n in shard)
        and 0 <= shard[1] < shard[0]
    )
    if not valid:
        raise DataError(
            f"shard {shard!r} is invalid; allowed: (num_shards, index) with 0 <= index < "
            "num_shards, e.g. (1, 0) for the whole set"
        )


def _flip_dataset(dataset: tf.data.Dataset, seed: int, shard: tuple[int, int]) -> tf.data.Dataset:
    """Each image mirrored left-right with probability 1/2; labels pass unchanged."""
    seed = tf.constant(seed, tf.int64)
    labeled = isinstance(dataset.element_spec, tuple)

    def flip(element, step: tf.Tensor):
        batch, labels = element if labeled else (element, None)
        # Batch `step`'s flips depend only on (seed, step): the counter's position is
        # saved with the iterator, so a resumed run flips the same images.
        coins = tf.random.stateless_uniform([batch.shape[0]], seed=tf.stack([seed, step]))
        batch = tf.where(coins[:, None, None, None] < 0.5, tf.reverse(batch, axis=[2]), batch)
        return (batch, labels) if labeled else batch

    # Worker i of n flips as batches i, i + n, … of one worker would: its own coins.
    num_shards, index = shard
    counter = tf.data.Dataset.counter(start=index, step=num_shards)
    return tf.data.Dataset.zip(dataset, counter).map(
        flip, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )


def source_size(
    name: str,
    *,
    data_dir: str | None = None,
    data_file: str | None = None,
    data_pattern: str | None = None,
) -> str | None:
    """What a source holds, in words, for the first line of a run: ``11,904 images``,
    ``3 shards``; None where counting would mean reading the set (Keras sets, TFDS).

    Raises:
        DataError: if the source is missing or unreadable.
    """
    if name in VECTOR_DATASETS:
        return "sampled per batch"
    if name == "glyphs":
        return f"{glyphs.NUM_GLYPHS:,} images"
    if name == "folder":
        return f"{len(folder.list_images(data_dir)):,} image files"
    if name == "tfrecord":
        shards = len(tf.io.gfile.glob(data_pattern))
        return f"{shards:,} shard{'s' if shards != 1 else ''}"
    if name in ("npy", "npy_vectors"):
        return f"{arrays.npy_shape(data_file)[0][0]:,} examples"
    return None
