"""Sharded TFRecord files of encoded images: the usual format for millions of images.

Each record is a ``tf.train.Example`` holding one encoded image (PNG, JPEG or any format
``tf.io.decode_image`` reads) as bytes under ``image/encoded``, the key TensorFlow's
own image sets use; ``python -m dcgan.write_tfrecords`` writes such shards from a
folder. The shards may be on any file system TensorFlow reads (``gs://…``).

Images are decoded, cropped and resized exactly as :mod:`dcgan.data.folder` does it
(its ``image_decoder``), and records that cannot be parsed or decoded are skipped and
counted, or fail the run, the same way; a record is named ``<shard>#<index>`` in errors.

A labeled run reads each record's class from the int64 feature ``image/class/label``
(the TF-Slim / ImageNet convention), and its name, where given, from the bytes feature
``image/class/text``; ``python -m dcgan.write_tfrecords --labels`` writes both from a
folder of class subfolders. A record without a label stops a labeled run with one line
naming it; the images read and their order are those of an unlabeled run.

The order is deterministic for a seed: each epoch the shard list is shuffled, records are
read from several shards at a time in a fixed rotation, then shuffled in a buffer; every
epoch gives every record once.
The iterator is checkpointed with the run; the buffer holds encoded bytes, which is why
it is kept small.
"""

from __future__ import annotations

import tensorflow as tf
from google.protobuf.message import DecodeError

from dcgan.data.choices import TFRECORD_CLASS_TEXT, TFRECORD_LABEL
from dcgan.data.common import DataError
from dcgan.data.decode import check_decode_options, image_decoder, keep_decoded, no_label_text
from dcgan.data.folder import class_folders, find_images
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
    labels: bool = False,
) -> tf.data.Dataset:
    """An infinite dataset of single images ``[image_size, image_size, channels]``, or of
    ``(image, label)`` pairs.

    Args:
        pattern: A glob of TFRecord files (``tf.io.gfile.glob``).
        seed: Seed of the per-epoch shard shuffle and of the record shuffle.
        image_size, channels, crop, crop_size, resize_method, on_bad_image,
            skipped_images: as in :func:`dcgan.data.folder.folder_images`.
        shard: ``(num_shards, index)``: this worker's part. With at least
            ``num_shards`` files it reads files ``index``, ``index + num_shards``, …;
            with fewer, every file and keeps records ``index``, ``index + num_shards``, ….
        labels: Pair each image with its int32 label, ``image/class/label``.

    Returns:
        float32 images in [-1, 1], in a deterministic order for a given seed.

    Raises:
        DataError: if the options are invalid, the pattern matches no file, a shard
            cannot be read or is not a TFRecord file of examples holding ``image/encoded``
            (and ``image/class/label`` for ``labels``), or this worker's part holds no
            record. A later record without a label fails where its batch is read, with
            an error ``bad_image_message`` turns into one line.
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
    _check_first_record(filled[0], labels=labels)

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
        _parse_labeled if labels else _parse,
        image_size=image_size,
        channels=channels,
        crop=crop,
        crop_size=crop_size,
        resize_method=resize_method,
        labeled=labels,
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


# The label features, parsed as lists: a missing or repeated label is then seen, where
# a fixed-length feature would fail the parse and the image would count as bad.
_LABEL_FEATURES = {
    TFRECORD_LABEL: tf.io.RaggedFeature(tf.int64),
    TFRECORD_CLASS_TEXT: tf.io.RaggedFeature(tf.string),
}


def _parse_labeled(record: tf.Tensor, name: tf.Tensor) -> tuple[tf.Tensor, ...]:
    features = {
        FEATURE: tf.io.FixedLenFeature([], tf.string),
        TFRECORD_LABEL: _LABEL_FEATURES[TFRECORD_LABEL],
    }
    parsed = tf.io.parse_single_example(record, features)
    return parsed[FEATURE], name, _one_value(parsed[TFRECORD_LABEL], -1)


def _one_value(values: tf.Tensor, default) -> tf.Tensor:
    """The only value of ``values`` (a list feature), or ``default`` unless it has one."""
    return tf.where(tf.size(values) == 1, tf.concat([values, [default]], 0)[0], default)


def _check_first_record(path: str, *, labels: bool = False) -> None:
    """Refuses a file that is not TFRecords of examples with ``image/encoded`` (and a
    label, for ``labels``), by its first record: a wrong pattern fails now, not as
    millions of skipped records."""
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
    if labels:
        label = example.features.feature.get(TFRECORD_LABEL)
        values = list(label.int64_list.value) if label is not None else []
        if len(values) != 1 or values[0] < 0:
            raise DataError(no_label_text(f"{path}#0"))


def tfrecord_class_names(pattern: str | None) -> tuple[str, ...]:
    """The class names of labeled shards, in label order (label k is ``names[k]``).

    There are ``max(image/class/label) + 1`` classes; class k is named by the
    ``image/class/text`` of its records where they have one, else ``"k"``. Only those
    two features are parsed, but every record of every shard is read once: a pass over
    all the set's bytes (as long as an epoch's reading, without the decoding).

    Raises:
        DataError: if the pattern matches no shard, the shards hold no record, a record
            holds no label (naming the first), or a label has two names.
    """
    names: dict[int, set[str]] = {}
    largest = -1
    for path in list_shards(pattern):
        records = (
            tf.data.TFRecordDataset(path)
            .ignore_errors()  # damage ends the file here as it does in training
            .enumerate()
            .map(_label_and_text, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            .ignore_errors()  # a record that is no Example is a bad image, not a label
            .batch(4096)
        )
        for index, label, text in records.as_numpy_iterator():
            if (label < 0).any():
                raise DataError(no_label_text(f"{path}#{index[label < 0][0]}"))
            largest = max(largest, int(label.max()))
            named = text != b""
            for k, name in set(zip(label[named].tolist(), text[named].tolist(), strict=True)):
                names.setdefault(k, set()).add(name.decode("utf-8", "replace"))
    if largest < 0:
        raise DataError(f"the TFRecord shards matching {pattern!r} hold no records")
    for k, found in sorted(names.items()):
        if len(found) > 1:
            raise DataError(
                f"label {k} has {len(found)} names in the shards matching {pattern!r}: "
                f"{sorted(found)}; allowed: one {TFRECORD_CLASS_TEXT!r} per label"
            )
    return tuple(next(iter(names[k])) if k in names else str(k) for k in range(largest + 1))


def _label_and_text(index: tf.Tensor, record: tf.Tensor) -> tuple[tf.Tensor, ...]:
    parsed = tf.io.parse_single_example(record, _LABEL_FEATURES)
    label, text = parsed[TFRECORD_LABEL], parsed[TFRECORD_CLASS_TEXT]
    return index, _one_value(label, -1), _one_value(text, "")


def shard_names(prefix: str, num_shards: int) -> list[str]:
    """``<prefix>-00000-of-0000N.tfrecord``, …: the files ``write_shards`` writes."""
    return [f"{prefix}-{k:05d}-of-{num_shards:05d}.tfrecord" for k in range(num_shards)]


def write_shards(
    data_dir: str, prefix: str, *, num_shards: int, labels: bool = False
) -> list[tuple[str, int]]:
    """Writes the image files under ``data_dir`` into ``num_shards`` TFRecord files.

    Each file becomes one ``tf.train.Example`` with its bytes as they are (no
    re-encoding) under ``image/encoded`` and its path relative to ``data_dir`` under
    ``image/filename``; with ``labels``, its class under ``image/class/label`` (the index
    of its class subfolder, as ``--dataset=folder`` labels it) and the subfolder's name
    under ``image/class/text``. File i of the sorted listing goes to shard
    ``i % num_shards``, so the shards are alike in size and the same folder always gives
    the same bytes.
    All shards are written under temporary names and renamed only once all are
    complete: a failure leaves no shard behind.

    Args:
        data_dir: The folder, searched recursively as ``--dataset=folder`` does.
        prefix: Path prefix of the shards (see ``shard_names``); any file system.
        num_shards: How many files to write, >= 1.
        labels: Write each image's class: ``data_dir`` must be a folder of class
            subfolders (see :func:`dcgan.data.folder.class_folders`).

    Returns:
        ``(path, records)`` of each shard, in order.

    Raises:
        DataError: if the folder holds no images (or, with ``labels``, is not a folder
            of class subfolders), ``num_shards`` < 1, or a file cannot be read or a
            shard written (nothing is left behind then).
    """
    if isinstance(num_shards, bool) or not isinstance(num_shards, int) or num_shards < 1:
        raise DataError(f"num_shards must be an integer >= 1, got {num_shards!r}")
    if labels:
        listing = class_folders(data_dir, needed_by="--labels")
        paths = listing.paths
        classes = [(int(k), listing.class_names[k]) for k in listing.labels]
    else:
        paths = find_images(data_dir)
        classes = [None] * len(paths)
    root = storage.expand(data_dir)
    names = shard_names(storage.expand(prefix), num_shards)
    temporaries = [f"{name}.tmp" for name in names]
    try:
        for k, temporary in enumerate(temporaries):
            with tf.io.TFRecordWriter(temporary) as writer:
                for path, label in zip(paths[k::num_shards], classes[k::num_shards], strict=True):
                    relative = path[len(root) :].lstrip("/")  # list_images joined it to root
                    writer.write(_example(storage.read_bytes(path), relative, label))
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


def _example(encoded: bytes, filename: str, label: tuple[int, str] | None = None) -> bytes:
    """A serialized example of one image file; ``label``: its class and the class's name
    ("": none)."""

    def feature(value: bytes) -> tf.train.Feature:
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))

    features = {FEATURE: feature(encoded), "image/filename": feature(filename.encode())}
    if label is not None:
        index, text = label
        features[TFRECORD_LABEL] = tf.train.Feature(int64_list=tf.train.Int64List(value=[index]))
        if text:
            features[TFRECORD_CLASS_TEXT] = feature(text.encode())
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()
