"""The data layer: every training source as batches in [-1, 1] (``make_dataset``).

One module per kind of source, each used through ``dcgan.data.pipeline.make_dataset``:

- ``toys``: the toy vector sets (gaussian1d, ring2d, grid2d);
- ``glyphs``: the built-in glyph image set;
- ``folder``: folders of image files (``folder_cache``: decoded once); ``tfrecord``:
  shards of encoded images; both decode through ``decode``;
- ``arrays``: Keras's image sets and .npy arrays; ``tfds``: TensorFlow Datasets sets;
- ``classes``: the class names of a labeled source (``make_dataset(labels=True)``);
- ``labeled``: labeled sets, for training a domain classifier;
- ``common``: what they share (``DataError``, pixel conversion);
- ``choices``: the names of the sources and their options, free of TensorFlow.

Importing the package loads no TensorFlow (``dcgan.config`` reads ``choices`` to check
flags at once). The names most callers need are attributes of the package, loaded with
their module on first use: ``data.make_dataset``, ``data.DataError``, ….
"""

from __future__ import annotations

import importlib

from dcgan.data.choices import (  # noqa: F401 - the package's names
    BAD_IMAGE_ACTIONS,
    CROPS,
    DATASETS,
    ENCODED_DATASETS,
    IMAGE_DATASETS,
    IMAGE_EXTENSIONS,
    LABELED_DATASETS,
    RESIZE_METHODS,
    VECTOR_DATASETS,
)

# Attribute -> the module that defines it, imported when the attribute is first read.
_LAZY = {
    "make_dataset": "pipeline",
    "class_names": "classes",
    "source_size": "pipeline",
    "DataError": "common",
    "bad_image_message": "decode",
    "npy_vector_dim": "arrays",
    "mixture_centers": "toys",
    "render_glyphs": "glyphs",
    "GLYPH_SIZES": "glyphs",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'dcgan.data' has no attribute {name!r}")
    return getattr(importlib.import_module(f"dcgan.data.{_LAZY[name]}"), name)
