"""Image sets from TensorFlow Datasets: ``--dataset=tfds:NAME`` (e.g. ``tfds:celeb_a``).

TensorFlow Datasets is optional: it is imported only when such a dataset is asked for.
Nothing is downloaded at run time: the set must already be prepared in the TFDS data
directory (``--data_dir``, else ``$TFDS_DATA_DIR``, else ``~/tensorflow_datasets``).
The training split's ``image`` feature is streamed from the prepared files.
"""

from __future__ import annotations

import tensorflow as tf

from dcgan.data.choices import TFDS_PREFIX
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
) -> tf.data.Dataset:
    """An infinite dataset of single images ``[image_size, image_size, channels]``.

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

    Returns:
        float32 images in [-1, 1], in a deterministic order for a given seed.

    Raises:
        DataError: if TFDS is not installed, the set is not prepared, or it has no
            ``image`` feature.
    """
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
        dataset = tfds.load(
            dataset_name, split=split, data_dir=data_dir, download=download, shuffle_files=False
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
    spec = dataset.element_spec
    if not isinstance(spec, dict) or "image" not in spec:
        keys = sorted(spec) if isinstance(spec, dict) else type(spec).__name__
        raise DataError(f"--dataset={name} has no 'image' feature; its features: {keys}")
    shape = spec["image"].shape
    if shape.rank != 3 or shape[-1] not in (1, 2, 3, 4):
        raise DataError(
            f"--dataset={name}: its images have shape {shape}; allowed: [H, W, C] with C = 1 to 4"
        )

    def convert(example: dict) -> tf.Tensor:
        image = example["image"]
        source = image.shape[-1]
        if source in (2, 4):  # gray + alpha, RGBA: the alpha is dropped
            image = image[..., : source - 1]
        image = to_model_range(
            image, image_size=image_size, channels=channels, resize_method=resize_method
        )
        return tf.ensure_shape(image, [image_size, image_size, channels])

    return (
        dataset.shuffle(_SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .map(convert, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    )
