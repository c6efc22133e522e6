"""Where image examples come from: folders of files and in-memory arrays.

``dcgan.data`` is the interface (``make_dataset``); the modules here each turn one kind
of source into a ``tf.data.Dataset``. Together with ``dcgan/data.py`` they form the data
leaf: they import nothing else from the project.
"""

from __future__ import annotations

import numpy as np


class DataError(ValueError):
    """Bad or missing input data; message is one line."""


def check_int(what: str, value: object, *, minimum: int) -> None:
    """Raises DataError unless ``value`` is an integer (not a bool) >= ``minimum``."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise DataError(f"{what} must be an integer >= {minimum}, got {value!r}")
