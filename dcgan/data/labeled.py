"""Labeled image sets, for training a domain classifier (``dcgan.classifier``).

The built-in glyphs (the label is the character), the Keras sets in the Keras cache
(their labels), and a folder whose subfolders are the classes. Images are uint8
``[N, H, W, C]``, labels int64 ``[N]`` in ``[0, len(class_names))``. The labels and
class names are those a labeled training run reads (``make_dataset(labels=True)``,
``dcgan.data.classes``): each rule is stated once, by the source's module.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from dcgan.data import arrays, folder, glyphs
from dcgan.data.choices import KERAS_DATASETS
from dcgan.data.common import DataError
from dcgan.io import storage

# The labeled sets a classifier trains on: those that fit in memory, decoded.
CLASSIFIER_DATASETS = ("glyphs", *KERAS_DATASETS, "folder")


@dataclasses.dataclass(frozen=True)
class LabeledImages:
    """uint8 ``images [N, H, W, C]`` and ``labels [N]`` indexing ``class_names``."""

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]


def labeled_images(
    dataset: str, *, data_dir: str = "", image_size: int = 0, channels: int = 0
) -> LabeledImages:
    """The images and labels of ``dataset``, resized and converted if asked.

    Args:
        dataset: one of ``CLASSIFIER_DATASETS``.
        data_dir: the folder of ``folder``: one subfolder of images per class.
        image_size: the side of the images; 0: the set's own (glyphs: 32; required
            for a folder).
        channels: 1 or 3; 0: the set's own (a folder: 3).

    Raises:
        DataError: for an unknown set, a set that is missing, a folder that is not one
            of class subfolders (see ``folder.class_folders``), or an unreadable image.
    """
    if dataset not in CLASSIFIER_DATASETS:
        raise DataError(
            f"dataset {dataset!r} has no labels to train a classifier on; "
            f"allowed: {', '.join(CLASSIFIER_DATASETS)}"
        )
    if channels not in (0, 1, 3):
        raise DataError(f"channels {channels!r} is invalid; allowed: 0 (the set's own), 1, 3")
    if dataset == "glyphs":
        images = glyphs.render_glyphs(image_size=image_size or 32)
        labels = glyphs.glyph_labels(len(images))
        return _converted(LabeledImages(images, labels, glyphs.GLYPH_CLASS_NAMES), 0, channels)
    if dataset == "folder":
        return _folder(data_dir, image_size=image_size, channels=channels or 3)
    images, labels = arrays.keras_labeled_images(dataset)
    labeled = LabeledImages(images, labels, arrays.KERAS_CLASS_NAMES[dataset])
    return _converted(labeled, image_size, channels)


def _folder(data_dir: str, *, image_size: int, channels: int) -> LabeledImages:
    if not image_size:
        raise DataError("a folder's images need a size: pass --image_size (e.g. 64)")
    root = storage.expand(data_dir) if data_dir else ""
    if not root or not tf.io.gfile.isdir(root):
        raise DataError(f"data_dir {data_dir!r} is not a directory; a folder set needs one")
    listing = folder.class_folders(data_dir, needed_by="a classifier")
    images = folder.decode_files(listing.paths, image_size=image_size, channels=channels)
    return LabeledImages(images, listing.labels, listing.class_names)


def _converted(labeled: LabeledImages, image_size: int, channels: int) -> LabeledImages:
    """``labeled`` with its images resized to ``image_size`` and ``channels`` (0: as is)."""
    images = labeled.images
    if image_size and images.shape[1:3] != (image_size, image_size):
        resized = tf.image.resize(images, [image_size, image_size], antialias=True)
        images = np.clip(np.round(resized.numpy()), 0, 255).astype(np.uint8)
    if channels == 3 and images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    elif channels == 1 and images.shape[-1] == 3:
        images = np.round(images.astype(np.float32).mean(axis=-1, keepdims=True)).astype(np.uint8)
    return dataclasses.replace(labeled, images=images)
