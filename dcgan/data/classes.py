"""The class names of a labeled source: what label i of ``make_dataset(labels=True)`` means.

Each source states its classes where it keeps them, and :func:`class_names` asks it
without decoding an image:

- ``glyphs``: the 62 characters, in the order ``render_glyphs`` draws them;
- ``mnist``, ``fashion_mnist``, ``cifar10``: the names the sets publish;
- ``folder``: the class subfolders of ``data_dir``, sorted (the folder is listed);
- ``tfrecord``: ``max(image/class/label) + 1`` classes, named by ``image/class/text``
  where the records have one, else ``"0"``, ``"1"``, … (every record is read once);
- ``npy``: ``max + 1`` of ``<name>_labels.npy`` beside the file, named ``"0"``, ``"1"``, …;
- ``tfds:NAME``: the names of the set's ClassLabel ``label`` feature (its metadata).
"""

from __future__ import annotations

from dcgan.data import arrays, folder, glyphs, pipeline, tfds, tfrecord
from dcgan.data.choices import KERAS_DATASETS


def class_names(
    name: str,
    *,
    data_dir: str | None = None,
    data_file: str | None = None,
    data_pattern: str | None = None,
    tfds_download: bool = False,
) -> tuple[str, ...]:
    """The class names of a labeled source, in label order: label i is ``names[i]``.

    Args:
        name: The dataset, as ``make_dataset`` takes it.
        data_dir: The folder of ``"folder"``; the TFDS data directory of ``tfds:NAME``.
        data_file: The .npy file of ``"npy"`` (its labels are in ``<name>_labels.npy``).
        data_pattern: The glob of ``"tfrecord"`` shards.
        tfds_download: For ``tfds:NAME``: let TFDS download and prepare the set.

    Returns:
        The names, one per class. For tfrecord, every record of every shard is read
        (only the label features are parsed): as long as reading the set once.

    Raises:
        DataError: If the source has no class labels, or is missing or unusable; the
            message is the one ``make_dataset(labels=True)`` gives.
    """
    pipeline.check_source(name, labels=True)
    if name == "glyphs":
        return glyphs.GLYPH_CLASS_NAMES
    if name in KERAS_DATASETS:
        return arrays.KERAS_CLASS_NAMES[name]
    if name == "folder":
        return folder.class_folders(data_dir).class_names
    if name == "tfrecord":
        return tfrecord.tfrecord_class_names(data_pattern)
    if name == "npy":
        return tuple(str(k) for k in range(int(arrays.npy_labels(data_file).max()) + 1))
    return tfds.tfds_class_names(name, data_dir=data_dir, download=tfds_download)
