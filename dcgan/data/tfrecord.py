"""Sharded TFRecord files of encoded images: the usual format for millions of images.

Each record is a ``tf.train.Example`` holding one encoded image (PNG, JPEG or any format
``tf.io.decode_image`` reads) as bytes under ``image/encoded``, the key TensorFlow's
own image sets use; ``python -m dcgan.write_tfrecords`` writes such shards from a
folder. The shards may be on any file system TensorFlow reads (``gs://…``).

Images are decoded, cropped and resized exactly as :mod:`dcgan.data.folder` does it
(its ``image_decoder``), and records that cannot be parsed or decoded are skipped and
counted, or fail the run, the same way; a record is named ``<shard>#<index>`` in errors.

The order is deterministic for a seed: each epoch the shard list is shuffled, records are
read from several shards at a time in a fixed rotation, then shuffled in a buffer; every
epoch gives every record once.
The iterator is checkpointed with the run; the buffer holds encoded bytes, which is why
it is kept small.
"""

from __future__ import annotations

import tensorflow as tf
from google.protobuf.message import DecodeError

from dcgan.data.common import DataError
from dcgan.data.decode import check_decode_options, image_decoder, keep_decoded
from dcgan.data.folder import find_images
from dcgan.io import storage

FEATURE = "image/encoded"
# Shards read at once: enough to mix the shards' contents and keep the cores busy.
_CYCLE_LENGTH = 16
# Encoded records in the shuffle buffer. It is saved with each checkpoint (tens of MB for
# 1000 CelebA JPEGs would be too much), so the shard shuffle does most of the mixing.
_SHUFFLE_BUFFER = 1000
_EXAMPLE = "a glob of TFRecord files, e.g. gs://bucket/celeba/train-*.tfrecord"
# Bad records in a row after which the shards are taken to hold nothing decodable.
_MOST_BAD_IN_A_ROW = 1000
# The bytes a record takes in its file besides its data: its length and two checksums.
_RECORD_FRAMING = 16


def list_shards(pattern: str | None) -> dict[str, int]:
    """The files matching ``pattern``, sorted, with their sizes in bytes.

    Raises:
        DataError: if the pattern is empty or matches nothing, a shard cannot be read,
            or every shard is empty.
    """
    if not pattern:
        raise DataError(f"--data_pattern is required for dataset 'tfrecord': {_EXAMPLE}")
    try:
        shards = sorted(tf.io.gfile.glob(storage.expand(pattern)))
    except tf.errors.OpError as e:
        raise DataError(
            f"data_pattern {pattern!r} cannot be listed ({storage.reason(e)})"
        ) from None
    if not shards:
        raise DataError(f"no files match data_pattern {pattern!r}; allowed: {_EXAMPLE}")
    sizes = {}
    for shard in shards:
        try:
            sizes[shard] = tf.io.gfile.stat(shard).length
        except tf.errors.OpError as e:
            raise DataError(
                f"TFRecord shard {shard!r} cannot be read ({storage.reason(e)})"
            ) from None
    return sizes


def tfrecord_images(
    pattern: str | None,
    *,
    seed: int,
    image_size: int,
    channels: int,
    crop: str = "none",
    crop_size: int = 0,
    resize_method: str = "bilinear",
    on_bad_image: str = "skip",
    skipped_images: tf.Variable | None = None,
    shard: tuple[int, int] = (1, 0),
) -> tf.data.Dataset:
    """An infinite dataset of single images ``[image_size, image_size, channels]``.

    Args:
        pattern: A glob of TFRecord files (``tf.io.gfile.glob``).
        seed: Seed of the per-epoch shard shuffle and of the record shuffle.
        image_size, channels, crop, crop_size, resize_method, on_bad_image,
            skipped_images: as in :func:`dcgan.data.folder.folder_images`.
        shard: ``(num_shards, index)``: this worker's part. With at least
            ``num_shards`` files it reads files ``index``, ``index + num_shards``, …;
            with fewer, every file and keeps records ``index``, ``index + num_shards``, ….

    Returns:
        float32 images in [-1, 1], in a deterministic order for a given seed.

    Raises:
        DataError: if the options are invalid, the pattern matches no file, a shard
            cannot be read or is not a TFRecord file of examples holding ``image/encoded``,
            or this worker's part holds no record.
    """
    check_decode_options(
        crop=crop, crop_size=crop_size, resize_method=resize_method, on_bad_image=on_bad_image
    )
    sizes = list_shards(pattern)
    shards = list(sizes)
    num_shards, index = shard
    by_file = len(shards) >= num_shards
    if by_file:
        shards = shards[index::num_shards]
    filled = [path for path in shards if sizes[path]]
    if not filled:
        part = f" (part {index} of {num_shards})" if num_shards > 1 else ""
        raise DataError(f"the TFRecord shards matching {pattern!r}{part} hold no records")
    _check_first_record(filled[0])

    shard_sizes = tf.constant([sizes[path] for path in shards], tf.int64)
    if by_file:
        records = (
            tf.data.Dataset.from_tensor_slices((shards, shard_sizes))
            .shuffle(len(shards), seed=seed, reshuffle_each_iteration=True)
            .interleave(
                _named_records,
                cycle_length=min(_CYCLE_LENGTH, len(shards)),
                num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=True,
            )
        )
    else:
        # Too few files to give every worker its own: all read every record, in file
        # order, and keep every num_shards-th.
        records = (
            tf.data.Dataset.from_tensor_slices((shards, shard_sizes))
            .flat_map(_named_records)
            .shard(num_shards, index)
        )
    decode_or_flag = image_decoder(
        _parse,
        image_size=image_size,
        channels=channels,
        crop=crop,
        crop_size=crop_size,
        resize_method=resize_method,
    )
    # Repeated last: every epoch holds every record once, reshuffled each time.
    records = records.shuffle(_SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True).repeat()
    dataset = records.interleave(
        decode_or_flag,
        cycle_length=_CYCLE_LENGTH,
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    return keep_decoded(
        dataset,
        on_bad_image=on_bad_image,
        skipped_images=skipped_images,
        give_up_after=_MOST_BAD_IN_A_ROW,
        tried=f"records read from {pattern!r}",
    )


def _named_records(path: tf.Tensor, size: tf.Tensor) -> tf.data.Dataset:
    """The serialized records of one file, each with its name ``<file>#<index>``.

    A file that ends early (cut short) or holds a corrupt record ends there, with one
    element more: empty bytes named for what was read, which decode as a bad image, so
    the damage is counted and reported like one (and ``--on_bad_image=fail`` names it).
    The records' sizes, framing included, add up to the file's size when it is whole.
    """
    records = tf.data.TFRecordDataset(path).ignore_errors()  # an error ends the file
    end = tf.data.Dataset.from_tensors((tf.constant(b""), tf.constant(True)))
    marked = records.map(lambda record: (record, tf.constant(False))).concatenate(end)

    def name(state, element):
        (index, consumed), (record, is_end) = state, element
        length = tf.cast(tf.strings.length(record), tf.int64) + _RECORD_FRAMING
        consumed += tf.where(is_end, tf.zeros_like(length), length)
        cut_short = tf.strings.join(
            [path, " (cut short or corrupt: records end at byte ",
             tf.strings.as_string(consumed), " of ", tf.strings.as_string(size), ")"]
        )  # fmt: skip
        record_name = tf.strings.join([path, tf.strings.as_string(index)], "#")
        whole = is_end & tf.equal(consumed, size)
        return (index + 1, consumed), (record, tf.where(is_end, cut_short, record_name), whole)

    start = (tf.constant(0, tf.int64), tf.constant(0, tf.int64))
    return (
        marked.scan(start, name)
        .filter(lambda record, record_name, whole: tf.logical_not(whole))
        .map(lambda record, record_name, whole: (record, record_name))
    )


def _parse(record: tf.Tensor, name: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    features = {FEATURE: tf.io.FixedLenFeature([], tf.string)}
    return tf.io.parse_single_example(record, features)[FEATURE], name


def _check_first_record(path: str) -> None:
    """Refuses a file that is not TFRecords of examples with ``image/encoded``, by its
    first record: a wrong pattern fails now, not as millions of skipped records."""
    try:
        (record,) = tf.data.TFRecordDataset(path).take(1)
        example = tf.train.Example.FromString(record.numpy())
    except (tf.errors.OpError, DecodeError) as e:
        raise DataError(
            f"TFRecord shard {path!r} cannot be read as TFRecords of tf.train.Example "
            f"({storage.reason(e)})"
        ) from None
    if FEATURE not in example.features.feature:
        keys = sorted(example.features.feature) or "none"
        raise DataError(
            f"the first record of {path!r} holds no {FEATURE!r} (its features: {keys}); "
            f"allowed: tf.train.Example records with the encoded image under {FEATURE!r}"
        )


def shard_names(prefix: str, num_shards: int) -> list[str]:
    """``<prefix>-00000-of-0000N.tfrecord``, …: the files ``write_shards`` writes."""
    return [f"{prefix}-{k:05d}-of-{num_shards:05d}.tfrecord" for k in range(num_shards)]


def write_shards(data_dir: str, prefix: str, *, num_shards: int) -> list[tuple[str, int]]:
    """Writes the image files under ``data_dir`` into ``num_shards`` TFRecord files.

    Each file becomes one ``tf.train.Example`` with its bytes as they are (no
    re-encoding) under ``image/encoded`` and its path relative to ``data_dir`` under
    ``image/filename``. File i of the sorted listing goes to shard ``i % num_shards``, so
    the shards are alike in size and the same folder always gives the same bytes.
    All shards are written under temporary names and renamed only once all are
    complete: a failure leaves no shard behind.

    Args:
        data_dir: The folder, searched recursively as ``--dataset=folder`` does.
        prefix: Path prefix of the shards (see ``shard_names``); any file system.
        num_shards: How many files to write, >= 1.

    Returns:
        ``(path, records)`` of each shard, in order.

    Raises:
        DataError: if the folder holds no images, ``num_shards`` < 1, or a file cannot
            be read or a shard written (nothing is left behind then).
    """
    if isinstance(num_shards, bool) or not isinstance(num_shards, int) or num_shards < 1:
        raise DataError(f"num_shards must be an integer >= 1, got {num_shards!r}")
    paths = find_images(data_dir)
    root = storage.expand(data_dir)
    names = shard_names(storage.expand(prefix), num_shards)
    temporaries = [f"{name}.tmp" for name in names]
    try:
        for k, temporary in enumerate(temporaries):
            with tf.io.TFRecordWriter(temporary) as writer:
                for path in paths[k::num_shards]:
                    relative = path[len(root) :].lstrip("/")  # list_images joined it to root
                    writer.write(_example(storage.read_bytes(path), relative))
        for temporary, name in zip(temporaries, names, strict=True):
            tf.io.gfile.rename(temporary, name, overwrite=True)
    except tf.errors.OpError as e:
        for temporary in temporaries:
            storage.remove_quietly(temporary)
        raise DataError(
            f"cannot write the TFRecord shards {prefix}-*: {storage.reason(e)}; allowed: a "
            "prefix in a writable directory"
        ) from None
    return [(name, len(paths[k::num_shards])) for k, name in enumerate(names)]


def _example(encoded: bytes, filename: str) -> bytes:
    def feature(value: bytes) -> tf.train.Feature:
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))

    features = {FEATURE: feature(encoded), "image/filename": feature(filename.encode())}
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()
