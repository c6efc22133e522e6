"""Image sets from TensorFlow Datasets: ``--dataset=tfds:NAME`` (e.g. ``tfds:celeb_a``).

TensorFlow Datasets is optional: it is imported only when such a dataset is asked for.
Nothing is downloaded at run time: the set must already be prepared in the TFDS data
directory (``--data_dir``, else ``$TFDS_DATA_DIR``, else ``~/tensorflow_datasets``).
The training split's ``image`` feature is streamed from the prepared files; a labeled
run pairs it with the ``label`` feature, which must be a ``ClassLabel`` (its names are
the class names).
"""

from __future__ import annotations

import tensorflow as tf

from dcgan.data.choices import TFDS_PREFIX, no_labels_text
from dcgan.data.common import DataError, to_model_range

_SHUFFLE_BUFFER = 10_000


def tfds_images(
    name: str,
    *,
    data_dir: str | None,
    seed: int,
    image_size: int,
    channels: int,
    resize_method: str = "bilinear",
    shard: tuple[int, int] = (1, 0),
    download: bool = False,
    labels: bool = False,
) -> tf.data.Dataset:
    """An infinite dataset of single images ``[image_size, image_size, channels]``, or of
    ``(image, label)`` pairs.

    Args:
        name: ``tfds:NAME``, optionally with a config and version (``NAME/CONFIG:1.0.0``).
        data_dir: The TFDS data directory; None for TFDS's default.
        seed: Seed of the shuffle.
        image_size: Side of the square output images.
        channels: 1 or 3; sources are converted (alpha is dropped).
        resize_method: A ``tf.image.resize`` method, antialiased when downscaling.
        shard: ``(n, i)``: worker i of n reads the i-th of n even, disjoint parts of the
            split (``tfds.even_splits``).
        download: let TFDS download and prepare the set in ``data_dir`` if it is not
            there (``--tfds_download``); else a set that is not prepared is refused.
        labels: Pair each image with its int32 ``label``.

    Returns:
        float32 images in [-1, 1], in a deterministic order for a given seed.

    Raises:
        DataError: if TFDS is not installed, the set is not prepared, or it has no
            ``image`` feature (or, for ``labels``, no ClassLabel ``label`` feature).
    """
    dataset, info = _load(name, data_dir=data_dir, shard=shard, download=download)
    spec = dataset.element_spec
    if not isinstance(spec, dict) or "image" not in spec:
        keys = sorted(spec) if isinstance(spec, dict) else type(spec).__name__
        raise DataError(f"--dataset={name} has no 'image' feature; its features: {keys}")
    shape = spec["image"].shape
    if shape.rank != 3 or shape[-1] not in (1, 2, 3, 4):
        raise DataError(
            f"--dataset={name}: its images have shape {shape}; allowed: [H, W, C] with C = 1 to 4"
        )
    if labels:
        _label_names(name, info)

    def convert(example: dict) -> tf.Tensor | tuple[tf.Tensor, tf.Tensor]:
        image = example["image"]
        source = image.shape[-1]
        if source in (2, 4):  # gray + alpha, RGBA: the alpha is dropped
            image = image[..., : source - 1]
        image = to_model_range(
            image, image_size=image_size, channels=channels, resize_method=resize_method
        )
        image = tf.ensure_shape(image, [image_size, image_size, channels])
        return (image, tf.cast(example["label"], tf.int32)) if labels else image

    return (
        dataset.shuffle(_SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .map(convert, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    )


def tfds_class_names(name: str, *, data_dir: str | None, download: bool = False) -> tuple[str, ...]:
    """The names of the classes of ``tfds:NAME``'s ClassLabel ``label`` feature, from the
    set's metadata (no example is read).

    Args:
        name, data_dir, download: as in ``tfds_images``.

    Raises:
        DataError: as ``tfds_images`` does, or if the set has no ClassLabel ``label``.
    """
    return _label_names(name, _load(name, data_dir=data_dir, download=download)[1])


def _label_names(name: str, info) -> tuple[str, ...]:
    """The names of the set's ClassLabel ``label`` feature (``info``: its DatasetInfo)."""
    import tensorflow_datasets as tfds

    features = info.features
    label = features["label"] if "label" in features.keys() else None
    if not isinstance(label, tfds.features.ClassLabel):
        reason = f"its features {sorted(features.keys())} hold no ClassLabel 'label'"
        raise DataError(no_labels_text(name, reason))
    return tuple(label.names)


def _load(
    name: str, *, data_dir: str | None, shard: tuple[int, int] = (1, 0), download: bool
) -> tuple[tf.data.Dataset, object]:
    """The examples of worker ``shard``'s part of the training split, and the set's
    ``DatasetInfo``; raises a one-line DataError where TFDS cannot give them."""
    dataset_name = name[len(TFDS_PREFIX) :]
    if not name.startswith(TFDS_PREFIX) or not dataset_name:
        raise DataError(
            f"dataset {name!r} is invalid; allowed: {TFDS_PREFIX}NAME, e.g. tfds:celeb_a"
        )
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise DataError(
            f"--dataset={name} needs TensorFlow Datasets: pip install tensorflow-datasets"
        ) from None
    num_shards, index = shard
    split = tfds.even_splits("train", n=num_shards)[index] if num_shards > 1 else "train"
    try:
        return tfds.load(
            dataset_name,
            split=split,
            data_dir=data_dir,
            download=download,
            shuffle_files=False,
            with_info=True,
        )
    except Exception as e:  # noqa: BLE001 -- TFDS raises many types; each becomes one line
        where = data_dir or "TFDS's data directory ($TFDS_DATA_DIR or ~/tensorflow_datasets)"
        text = " ".join(str(e).split())[:300]
        if download:
            how = "the download or preparation failed; with no network here, prepare it"
        else:
            how = "--tfds_download lets TFDS download and prepare it here, or prepare it"
        raise DataError(
            f"--dataset={name}: the training split could not be loaded from {where} ({text}); "
            f"{how} where there is network (`tfds build {dataset_name}`) and copy the data "
            "directory here"
        ) from None
