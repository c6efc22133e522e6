"""Image folders: listed once, streamed from disk, decoded in parallel, bad files skipped.

A folder of 200k JPEGs (CelebA) never sits in memory: only the sorted list of paths
does, and each epoch shuffles that list and decodes files as batches are needed.

A corrupt or truncated file must not end a long run, and must not vanish silently
either: files are decoded through ``dcgan.data.decode``, which counts the bad ones into
a caller-owned ``tf.Variable`` and drops them. The count is not part of the iterator's
state (tf.data cannot save a variable), so the caller saves the variable in the same
checkpoint as the iterator: both describe the files decoded so far, including those
waiting in prefetch buffers, so a resumed run continues both exactly.

A labeled folder has one subfolder per class (``class_folders``): the label of an image
is the index, in sorted order, of the subfolder it is under, at any depth. Labels travel
with their paths through the shuffle, so a skipped file takes its label with it.

The folder may be on any file system TensorFlow reads (``gs://bucket/faces``): it is
listed and read through ``tf.io.gfile``.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import tensorflow as tf

from dcgan.data import folder_cache
from dcgan.data.choices import IMAGE_EXTENSIONS
from dcgan.data.common import DataError
from dcgan.data.decode import check_decode_options, image_decoder, keep_decoded
from dcgan.io import storage

# Bounds the shuffle buffer's memory; paths are short strings, so this is a few MB.
_SHUFFLE_BUFFER = 10_000
# Bad files in a row after which a large folder is taken to hold nothing decodable.
_MOST_BAD_IN_A_ROW = 1000


def list_images(data_dir: str) -> list[str]:
    """Lists image files under ``data_dir`` recursively, sorted for determinism.

    Hidden files and folders (names starting with ".") are skipped, so macOS
    ``._name.jpg`` metadata files are not mistaken for images.

    Args:
        data_dir: Root folder: a local path or any path ``tf.io.gfile`` lists.

    Returns:
        Sorted paths whose extension is in :data:`IMAGE_EXTENSIONS` (any case).
    """
    paths = []
    for root, dirs, files in _walk(data_dir):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        paths.extend(
            os.path.join(root, f)
            for f in files
            if not f.startswith(".") and f.lower().endswith(IMAGE_EXTENSIONS)
        )
    return sorted(paths)


def find_images(data_dir: str) -> list[str]:
    """``list_images`` of a folder that must exist and hold images (``~`` expanded).

    Raises:
        DataError: if the folder is missing, not a folder, or holds no image files.
    """
    paths = list_images(_existing_dir(data_dir))
    if not paths:
        raise DataError(
            f"no image files under {data_dir!r}; allowed extensions (any case): "
            f"{', '.join(IMAGE_EXTENSIONS)}"
        )
    return paths


def _existing_dir(data_dir: str) -> str:
    """``data_dir`` with ``~`` expanded; raises DataError unless it is a folder."""
    root = storage.expand(data_dir)
    if not tf.io.gfile.exists(root):
        raise DataError(f"data_dir {data_dir!r} does not exist")
    if not tf.io.gfile.isdir(root):
        raise DataError(f"data_dir {data_dir!r} is not a directory")
    return root


@dataclasses.dataclass(frozen=True)
class ClassFolders:
    """A folder of labeled images: its class subfolders' names, sorted, and every image
    file (sorted as ``list_images``) with the index of the class subfolder it is under."""

    class_names: tuple[str, ...]
    paths: list[str]
    labels: np.ndarray  # int64 [len(paths)]


def class_folders(data_dir: str | None, *, needed_by: str = "a labeled run") -> ClassFolders:
    """Lists a folder whose immediate subfolders are the classes (hidden ones aside).

    Args:
        data_dir: The root folder: local, or any path ``tf.io.gfile`` reads.
        needed_by: Who needs the labels, for the error when there are none.

    Raises:
        DataError: if the folder is missing, has fewer than two class subfolders, a
            class subfolder holds no image (its class could never be shown nor learnt),
            or an image lies directly in ``data_dir`` (it has no class).
    """
    if not data_dir:
        raise DataError("--data_dir is required for dataset 'folder'")
    root = _existing_dir(data_dir)
    _, dirs, _ = next(iter(_walk(root)))
    class_names = tuple(sorted(name for name in dirs if not name.startswith(".")))
    if len(class_names) < 2:
        raise DataError(
            f"data_dir {data_dir!r} has {len(class_names)} subfolder(s); {needed_by} needs "
            "labeled images: put each class's images in its own subfolder (at least two)"
        )
    paths = list_images(root)
    index = {name: label for label, name in enumerate(class_names)}
    # list_images joined each path to root; its first part below root is its class.
    tops = [path[len(root) :].lstrip("/").partition("/") for path in paths]
    labels = np.array([index[top] if below else -1 for top, _, below in tops], np.int64)
    counts = np.bincount(labels[labels >= 0], minlength=len(class_names))
    if not counts.all():
        empty = class_names[int(np.flatnonzero(counts == 0)[0])]
        raise DataError(
            f"data_dir {data_dir!r}: class subfolder {empty!r} holds no image files; "
            f"remove it or add its images (extensions: {', '.join(IMAGE_EXTENSIONS)})"
        )
    loose = np.flatnonzero(labels < 0)
    if loose.size:
        first = tops[loose[0]][0]
        raise DataError(
            f"data_dir {data_dir!r} holds {loose.size} image file(s) outside the class "
            f"subfolders, e.g. {first!r}; {needed_by} needs every image in the subfolder "
            "of its class: move them into one, or remove them"
        )
    return ClassFolders(class_names, paths, labels)


def _walk(top: str):
    """``os.walk(top)``, or for another file system ``_gfile_walk(top)``."""
    return os.walk(top) if storage.is_local(top) else _gfile_walk(top)


def _gfile_walk(top: str):
    """``os.walk``'s ``(root, dirs, files)`` through ``tf.io.gfile``, top down.

    An object store answers one request per listing, but one more per name asked
    "directory?": a name with an image extension is taken for a file unasked (200k
    requests saved on CelebA), and GCS marks its directories with a trailing "/".
    """
    dirs, files = [], []
    for name in tf.io.gfile.listdir(top):
        if name.endswith("/"):
            dirs.append(name.rstrip("/"))
        elif name.lower().endswith(IMAGE_EXTENSIONS):
            files.append(name)
        elif tf.io.gfile.isdir(os.path.join(top, name)):
            dirs.append(name)
        else:
            files.append(name)
    yield top, dirs, files
    for name in dirs:  # after the yield: the caller prunes dirs in place, as with os.walk
        yield from _gfile_walk(os.path.join(top, name))


def _read_file(path: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    return tf.io.read_file(path), path


def _read_labeled_file(label: tf.Tensor, path: tf.Tensor) -> tuple[tf.Tensor, ...]:
    # The path last: image_decoder names a file it cannot read by the element's last part.
    return tf.io.read_file(path), path, label


def folder_images(
    data_dir: str | None,
    *,
    batch_size: int,
    seed: int,
    image_size: int,
    channels: int,
    crop: str = "none",
    crop_size: int = 0,
    resize_method: str = "bilinear",
    on_bad_image: str = "skip",
    skipped_images: tf.Variable | None = None,
    cache: str = "",
    shard: tuple[int, int] = (1, 0),
    labels: bool = False,
) -> tf.data.Dataset:
    """An infinite dataset of single images ``[image_size, image_size, channels]``, or of
    ``(image, label)`` pairs.

    Args:
        data_dir: Root folder, searched recursively: local, or any path ``tf.io.gfile``
            reads (``gs://…``).
        batch_size: The folder (each shard of it) must hold at least this many files.
        seed: Seed of the per-epoch shuffle of the file list.
        image_size: Side of the square output images.
        channels: 1 (grayscale) or 3 (RGB); every file is converted to it.
        crop: ``"center"`` crops a centered square before resizing; ``"none"``
            resizes the whole image (stretching non-square ones).
        crop_size: Side of the center crop; 0 takes the largest square. Images smaller
            than ``crop_size`` give the largest square they have.
        resize_method: A ``tf.image.resize`` method, antialiased when downscaling.
        on_bad_image: ``"skip"`` drops files that cannot be decoded, ``"fail"`` stops
            with an error naming the file (see :func:`bad_image_message`).
        skipped_images: int64 variable incremented for every skipped file.
        cache: ``""`` streams from disk; ``"memory"`` decodes every file once, up front,
            and keeps the set in memory as uint8; a file path also saves that set as an
            .npy file there (with a .json key beside it) and reuses it while the folder
            listing and the options match.
        shard: ``(num_shards, index)``: this worker reads only files ``index``,
            ``index + num_shards``, … of the sorted listing (a file cache gets its own
            file per shard); ``(1, 0)`` reads them all.
        labels: Pair each image with its int32 label: the folder must be a class folder
            (see ``class_folders``); the images and their order are those of an
            unlabeled run.

    Returns:
        float32 images in [-1, 1], in a deterministic order for a given seed.

    Raises:
        DataError: if the folder is missing, holds no image files, or too few, or
            (``labels``) is not a folder of class subfolders.
    """
    if not data_dir:
        raise DataError("--data_dir is required for dataset 'folder'")
    check_decode_options(
        crop=crop, crop_size=crop_size, resize_method=resize_method, on_bad_image=on_bad_image
    )
    root = storage.expand(data_dir)
    if labels:
        listing = class_folders(data_dir)
        paths, class_names, path_labels = listing.paths, listing.class_names, listing.labels
    else:
        paths, class_names, path_labels = find_images(data_dir), None, None
    num_shards, index = shard
    paths = paths[index::num_shards]
    if labels:
        path_labels = path_labels[index::num_shards]
    where = f"under {data_dir!r}" + (f" in shard {index} of {num_shards}" if num_shards > 1 else "")
    if len(paths) < batch_size:
        raise DataError(f"only {len(paths)} images {where}, fewer than batch_size={batch_size}")

    decode_or_flag = image_decoder(
        _read_labeled_file if labels else _read_file,
        image_size=image_size,
        channels=channels,
        crop=crop,
        crop_size=crop_size,
        resize_method=resize_method,
        labeled=labels,
    )
    if cache:
        if num_shards > 1 and cache != "memory":
            # Workers share the storage: each writes and reads only its own file.
            stem, extension = os.path.splitext(cache)
            cache = f"{stem}.shard-{index:05d}-of-{num_shards:05d}{extension}"
        images, image_labels = folder_cache.cached_images(
            cache,
            paths,
            decode_or_flag,
            key=dict(
                data_dir=storage.absolute(root),
                image_size=image_size,
                channels=channels,
                crop=crop,
                crop_size=crop_size,
                resize_method=resize_method,
                class_names=list(class_names) if labels else None,  # as JSON reads it
            ),
            on_bad_image=on_bad_image,
            skipped_images=skipped_images,
            labels=path_labels,
        )
        if len(images) < batch_size:
            raise DataError(
                f"only {len(images)} readable images {where}, fewer than batch_size={batch_size}"
            )
        return folder_cache.memory_images(images, seed, image_labels)

    # The labels travel beside the paths: the shuffle orders the pairs as it would order
    # the paths alone (its order depends on the seed and the count only).
    dataset = (
        tf.data.Dataset.from_tensor_slices((path_labels, paths) if labels else paths)
        .shuffle(min(len(paths), _SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .interleave(
            decode_or_flag,
            cycle_length=folder_cache.CYCLE_LENGTH,
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
    )
    # A whole pass of bad files (or 1,000 in a row of a large folder) means nothing here
    # decodes: give up instead of filtering forever.
    give_up_after = min(len(paths), _MOST_BAD_IN_A_ROW)
    whole = " (a whole pass)" if give_up_after == len(paths) else ""
    return keep_decoded(
        dataset,
        on_bad_image=on_bad_image,
        skipped_images=skipped_images,
        give_up_after=give_up_after,
        tried=f"image files read {where}{whole}",
    )


def decode_files(
    paths: list[str], *, image_size: int, channels: int, resize_method: str = "bilinear"
) -> np.ndarray:
    """Every file of ``paths`` decoded and resized, in order: uint8 ``[N, S, S, C]``.

    Raises:
        DataError: naming the first file that cannot be decoded (none is skipped, so
            the images stay aligned with ``paths``).
    """
    decode_or_flag = image_decoder(
        _read_file, image_size=image_size, channels=channels, resize_method=resize_method
    )
    return folder_cache.decode_all(paths, decode_or_flag, "fail")[0]
