"""Image sets that fit in memory: Keras's MNIST, Fashion-MNIST, CIFAR-10, and .npy files.

Each loader returns a uint8 array ``[N, H, W, C]``; ``dcgan.data`` shuffles indices into
it, so the iterator's saved state stays a few bytes per image.
"""

from __future__ import annotations

import os

import numpy as np

from dcgan.data.common import DataError

_KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
# The files keras.datasets.<name>.load_data() reads from the Keras cache
# ($KERAS_HOME/datasets, default ~/.keras/datasets), and where it downloads them from.
KERAS_FILES = {
    "mnist": (("mnist.npz", _KERAS_URL + "mnist.npz"),),
    "fashion_mnist": tuple(
        (os.path.join("fashion-mnist", name), _KERAS_URL + name)
        for name in (
            "train-labels-idx1-ubyte.gz",
            "train-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz",
        )
    ),
    "cifar10": (
        (
            "cifar-10-batches-py-target_archive",
            "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        ),
    ),
}


def keras_cache_dir() -> str:
    """The folder keras.datasets reads and downloads to."""
    # Keras reads KERAS_HOME once, when it is imported; ask it instead of the
    # environment so the answer is the folder it will really use.
    from keras.src.backend import config as keras_config

    return os.path.join(os.path.expanduser(keras_config.keras_home()), "datasets")


# The class names of each set's labels 0..K-1, from the sets' documentation.
KERAS_CLASS_NAMES = {
    "mnist": tuple("0123456789"),
    "fashion_mnist": (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ),
    "cifar10": (
        "airplane", "automobile", "bird", "cat", "deer",
        "dog", "frog", "horse", "ship", "truck",
    ),
}  # fmt: skip


def keras_images(name: str) -> np.ndarray:
    """The training images of a ``keras.datasets`` set, ``[N, H, W, C]`` uint8.

    Args:
        name: One of :data:`KERAS_DATASETS`.

    Raises:
        DataError: if the files are not in the Keras cache and cannot be downloaded,
            naming each file, where it goes, and where it comes from.
    """
    return keras_labeled_images(name)[0]


def keras_labeled_images(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The training images ``[N, H, W, C]`` uint8 and labels ``[N]`` int64 of a
    ``keras.datasets`` set; raises like ``keras_images``."""
    import keras

    if name not in KERAS_FILES:
        raise DataError(f"unknown Keras dataset {name!r}; choose one of: {', '.join(KERAS_FILES)}")
    loader = {
        "mnist": keras.datasets.mnist,
        "fashion_mnist": keras.datasets.fashion_mnist,
        "cifar10": keras.datasets.cifar10,
    }[name]
    try:
        (images, labels), _ = loader.load_data()
    except Exception as e:  # noqa: BLE001 - Keras raises bare Exceptions for fetch failures
        cache = keras_cache_dir()
        wanted = "; ".join(
            f"{os.path.join(cache, file)} (from {url})" for file, url in KERAS_FILES[name]
        )
        reason = " ".join(str(e).split())[:200]
        raise DataError(
            f"dataset {name!r} is not in the Keras cache and could not be downloaded "
            f"({type(e).__name__}: {reason}); put these files there: {wanted}"
        ) from None
    images = np.asarray(images, np.uint8)
    images = images[..., np.newaxis] if images.ndim == 3 else images
    return images, np.asarray(labels, np.int64).reshape(-1)


def npy_shape(path: str, *, what: str = "data_file") -> tuple[tuple[int, ...], np.dtype]:
    """Reads an .npy file's shape and dtype from its header, without loading the data.

    Args:
        path: The file.
        what: What the file is, for errors: ``data_file``, ``labels file``.

    Raises:
        DataError: if the file is missing or is not an .npy array.
    """
    try:
        array = np.load(os.path.expanduser(path), mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{what} {path!r} does not exist") from None
    except (OSError, ValueError) as e:
        reason = " ".join(str(e).split())
        raise DataError(f"{what} {path!r} is not a .npy array file ({reason})") from None
    if not isinstance(array, np.ndarray):  # an .npz archive
        raise DataError(f"{what} {path!r} is not a .npy array file (an .npz archive?)")
    return array.shape, array.dtype


def npy_images(path: str | None) -> np.ndarray:
    """Loads an .npy file of uint8 images, ``[N, H, W, C]`` (C 1, 3 or 4) or ``[N, H, W]``.

    An alpha channel is dropped.

    Raises:
        DataError: if the file is missing, unreadable, or holds the wrong rank or dtype.
    """
    _npy_image_count(path)
    images = np.load(os.path.expanduser(path), allow_pickle=False)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    return images[..., :3]


def _npy_image_count(path: str | None) -> int:
    """The number of images in an .npy file of images, read from its header; raises as
    ``npy_images`` does."""
    if not path:
        raise DataError("--data_file is required for dataset 'npy'")
    shape, dtype = npy_shape(path)
    allowed = "N x H x W x C uint8 images (C = 1, 3 or 4) or N x H x W grayscale"
    if len(shape) not in (3, 4) or (len(shape) == 4 and shape[3] not in (1, 3, 4)):
        raise DataError(f"data_file {path!r} holds an array of shape {shape}; allowed: {allowed}")
    if dtype != np.uint8:
        raise DataError(f"data_file {path!r} holds {dtype} values; allowed: {allowed}")
    if shape[0] == 0:
        raise DataError(f"data_file {path!r} holds no images (shape {shape})")
    return shape[0]


def npy_labels_path(data_file: str) -> str:
    """Where the labels of ``X.npy`` are: ``X_labels.npy`` beside it."""
    stem = data_file[: -len(".npy")] if data_file.endswith(".npy") else data_file
    return f"{stem}_labels.npy"


def npy_labels(data_file: str | None) -> np.ndarray:
    """The class labels of the images in ``data_file``, from ``X_labels.npy`` beside it.

    Args:
        data_file: The .npy file of images (``--data_file``).

    Returns:
        int64 ``[N]``, the label of each image, all >= 0 (the set's classes are
        ``0 … max``).

    Raises:
        DataError: if ``data_file`` is not an .npy file of images (as ``npy_images``
            says), or the labels file is missing, is not an integer array of one label
            per image, or holds a negative label.
    """
    count = _npy_image_count(data_file)
    path = npy_labels_path(data_file)
    allowed = f"an integer array of shape ({count},), the class (>= 0) of each image"
    if not os.path.exists(os.path.expanduser(path)):
        raise DataError(
            f"data_file {data_file!r} has no labels: {path!r} does not exist; allowed: {allowed}"
        )
    shape, dtype = npy_shape(path, what="labels file")
    if shape != (count,):
        raise DataError(
            f"labels file {path!r} holds an array of shape {shape} for {count} images in "
            f"{data_file!r}; allowed: {allowed}"
        )
    if not np.issubdtype(dtype, np.integer):
        raise DataError(f"labels file {path!r} holds {dtype} values; allowed: {allowed}")
    labels = np.load(os.path.expanduser(path), allow_pickle=False)
    if labels.min() < 0:
        first = int(np.flatnonzero(labels < 0)[0])
        raise DataError(
            f"labels file {path!r} holds the negative label {labels[first]} (image {first}); "
            f"allowed: {allowed}"
        )
    return labels.astype(np.int64)


def npy_vector_dim(path: str | None) -> int:
    """The width D of an .npy file of vectors ``[N, D]``, read from its header.

    Raises:
        DataError: if the file is missing, unreadable, or not a 2-D float array.
    """
    if not path:
        raise DataError("--data_file is required for dataset 'npy_vectors'")
    shape, dtype = npy_shape(path)
    allowed = "an N x D array of floats (float16, float32 or float64)"
    if len(shape) != 2 or not np.issubdtype(dtype, np.floating):
        raise DataError(
            f"data_file {path!r} holds a {dtype} array of shape {shape}; allowed: {allowed}"
        )
    if shape[0] == 0 or shape[1] == 0:
        raise DataError(f"data_file {path!r} holds no vectors (shape {shape})")
    return shape[1]


def npy_vectors(path: str | None, *, dim: int | None = None) -> np.ndarray:
    """Loads an .npy file of vectors ``[N, D]`` as float32.

    Args:
        path: The file.
        dim: The width the run's networks were built for; None accepts any.

    Raises:
        DataError: if the file is not a 2-D float array, holds a non-finite value, or
            its width is not ``dim``.
    """
    width = npy_vector_dim(path)
    if dim is not None and width != dim:
        raise DataError(
            f"data_file {path!r} holds vectors of width {width}, but the run has --vector_dim={dim}"
        )
    vectors = np.load(os.path.expanduser(path), allow_pickle=False).astype(np.float32)
    if not np.isfinite(vectors).all():
        raise DataError(f"data_file {path!r} holds NaN or infinite values; allowed: finite floats")
    return vectors
