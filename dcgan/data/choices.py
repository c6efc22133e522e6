"""The data layer's names: the sources and their options, free of TensorFlow.

``dcgan.config`` declares its data fields with these, and the source modules read
them, so each list is written here once. Loads no TensorFlow.
"""

from __future__ import annotations

from dcgan import options

# Image sets that Keras downloads to its cache (``keras.datasets``).
KERAS_DATASETS = ("mnist", "fashion_mnist", "cifar10")
# The toy vector sets, each with the dimension of its vectors.
VECTOR_DATASETS = {"gaussian1d": 1, "ring2d": 2, "grid2d": 2}
# --dataset's choices, in the order the help lists them (newer sources come last).
DATASETS = (
    "glyphs",
    "folder",
    *VECTOR_DATASETS,
    *KERAS_DATASETS,
    "npy",
    "npy_vectors",
    "tfrecord",
)
IMAGE_DATASETS = ("glyphs", "folder", *KERAS_DATASETS, "npy", "tfrecord")
# Sources of encoded image files, decoded, cropped and skipped when bad alike; they count
# the files they skip.
ENCODED_DATASETS = ("folder", "tfrecord")
# --dataset=tfds:NAME is an image set from TensorFlow Datasets (an optional dependency).
TFDS_PREFIX = "tfds:"
# Every format tf.io.decode_image reads (GIF: the first frame).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
CHANNELS = (1, 3)
CROPS = ("none", "center")
RESIZE_METHODS = ("bilinear", "bicubic", "area", "nearest", "lanczos3")
BAD_IMAGE_ACTIONS = ("skip", "fail")
# The features of a labeled TFRecord example (the TF-Slim / ImageNet convention): the
# class as an int64, optionally its name as bytes.
TFRECORD_LABEL = "image/class/label"
TFRECORD_CLASS_TEXT = "image/class/text"
# Sources that can give each image its class (``make_dataset(labels=True)``,
# ``class_names``), besides tfds:NAME sets with a ClassLabel ``label`` feature.
LABELED_DATASETS = ("glyphs", *KERAS_DATASETS, "folder", "tfrecord", "npy")
# What each of them needs to have labels, for the error that refuses a source without.
LABELED_SOURCES = (
    f"{', '.join(('glyphs', *KERAS_DATASETS))}, a folder with one subfolder per class, "
    f"tfrecord with {TFRECORD_LABEL}, npy with <name>_labels.npy beside it, "
    "a tfds set with a label feature"
)


def is_tfds(dataset: str) -> bool:
    """Whether ``dataset`` names a TensorFlow Datasets set, ``tfds:NAME``."""
    return dataset.startswith(TFDS_PREFIX)


def is_image(dataset: str) -> bool:
    """Whether ``dataset`` holds images (rather than vectors)."""
    return dataset in IMAGE_DATASETS or is_tfds(dataset)


def has_labels(dataset: str) -> bool:
    """Whether ``dataset`` can have class labels (the source itself may still lack them:
    a folder without class subfolders, a tfds set without a ``label`` feature)."""
    return dataset in LABELED_DATASETS or is_tfds(dataset)


def no_labels_text(dataset: str, reason: str = "") -> str:
    """The one line that refuses class labels from ``dataset``; ``reason`` says why."""
    why = f" ({reason})" if reason else ""
    return f"--dataset={dataset} has no class labels{why}; allowed: {LABELED_SOURCES}"


class Dataset(options.Spec):
    """A name of ``DATASETS``, or ``tfds:NAME``."""

    allowed = f"{', '.join(DATASETS)}, or {TFDS_PREFIX}NAME"

    def accepts(self, value) -> bool:
        return isinstance(value, str) and (
            value in DATASETS or (is_tfds(value) and len(value) > len(TFDS_PREFIX))
        )


DATASET = Dataset()
