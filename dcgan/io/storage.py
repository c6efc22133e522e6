"""Files on any file system TensorFlow reads: local paths, ``gs://…``, ``ram://…``.

A TPU writes its checkpoints to a bucket and a cluster reads its data from one, so every
file a run lists, reads or writes goes through ``tf.io.gfile``, which knows the scheme.
Plain local paths keep a few local-only courtesies (``~`` expanded, absolute paths in
messages). A leaf: imports no other project module.
"""

from __future__ import annotations

import os
import re

import tensorflow as tf


def is_local(path: str) -> bool:
    """Whether ``path`` names the local file system (no ``scheme://`` prefix)."""
    return "://" not in path


def expand(path: str) -> str:
    """``path`` with a leading ``~`` expanded; a ``scheme://`` path as it is."""
    return os.path.expanduser(path) if is_local(path) else path


def absolute(path: str) -> str:
    """The absolute form of a local path; a ``scheme://`` path is absolute already."""
    return os.path.abspath(path) if is_local(path) else path


def parent(path: str) -> str:
    """The directory holding ``path``: absolute for a local path, ``scheme://…`` else."""
    if is_local(path):
        return os.path.dirname(os.path.abspath(path))
    scheme, rest = path.split("://", 1)
    return f"{scheme}://{rest.rstrip('/').rpartition('/')[0]}"


def read_bytes(path: str) -> bytes:
    """The contents of the file at ``path``.

    Raises:
        tf.errors.OpError: if it cannot be read (``NotFoundError`` if it is missing).
    """
    with tf.io.gfile.GFile(path, "rb") as f:
        return f.read()


def read_text(path: str) -> str:
    """The contents of the UTF-8 text file at ``path`` (see ``read_bytes``)."""
    return read_bytes(path).decode()


def write_bytes(path: str, data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically: the file appears complete or not at all.

    It is written beside ``path`` as ``<path>.tmp`` and renamed (an atomic rename
    locally; on an object store a copy the reader sees only once it is whole).

    Raises:
        tf.errors.OpError: if the file cannot be written; the temporary one is removed.
    """
    temporary = f"{path}.tmp"
    try:
        with tf.io.gfile.GFile(temporary, "wb") as f:
            f.write(data)
        tf.io.gfile.rename(temporary, path, overwrite=True)
    except tf.errors.OpError:
        remove_quietly(temporary)
        raise


def write_text(path: str, text: str) -> None:
    """Writes ``text`` as UTF-8 to ``path`` atomically (see ``write_bytes``)."""
    write_bytes(path, text.encode())


def remove_quietly(path: str) -> None:
    """Removes the file or empty directory ``path`` if it is there; never raises."""
    try:
        if tf.io.gfile.exists(path):
            tf.io.gfile.remove(path)
    except tf.errors.OpError:
        pass


def reason(error: Exception, limit: int = 300) -> str:
    """One line for an ``OSError`` or a TensorFlow error, at most ``limit`` characters.

    TensorFlow's errors span many lines and name the op that failed, which says nothing
    to a user; both go.
    """
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    text = " ".join(message.split())
    text = re.sub(r"\{\{function_node [^}]*\}\} | \[Op:\w+\]$", "", text)
    return text if len(text) <= limit else text[: limit - 3] + "..."
