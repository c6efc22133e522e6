"""Decoding encoded images, the same for every source of image files (folders, TFRecords).

``image_decoder`` turns one source element (a path, a record) into a one-element dataset
``(image, ok, name)``, or ``(image, ok, name, label)`` for a labeled run: a file that
cannot be loaded or decoded becomes a placeholder with ``ok = False`` instead of an error
(``tf.data``'s ``ignore_errors`` would only drop it). ``keep_decoded`` counts the
placeholders into a caller-owned variable and drops them, each with its label, or with
``on_bad_image="fail"`` raises an error naming the file, which ``bad_image_message``
turns into one line where the batch is consumed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import tensorflow as tf

from dcgan.data.choices import BAD_IMAGE_ACTIONS, CROPS, RESIZE_METHODS, TFRECORD_LABEL
from dcgan.data.common import DataError, to_model_range

# Found in the message of the error a bad file raises with on_bad_image="fail".
_BAD_IMAGE_MARKER = "dcgan: unreadable image file"
# Found in the message of the error a source raises when every element in a row is bad.
_NOTHING_DECODABLE_MARKER = "dcgan: nothing decodable"
# Found in the message of the error a labeled run raises on an element without a label.
_NO_LABEL_MARKER = "dcgan: no class label"


def check_decode_options(
    *, crop: str, crop_size: int, resize_method: str, on_bad_image: str
) -> None:
    """Raises DataError unless the options of ``image_decoder`` and ``keep_decoded`` are valid."""
    for name, value, allowed in (
        ("crop", crop, CROPS),
        ("resize_method", resize_method, RESIZE_METHODS),
        ("on_bad_image", on_bad_image, BAD_IMAGE_ACTIONS),
    ):
        if value not in allowed:
            raise DataError(f"{name} {value!r} is invalid; choose one of: {', '.join(allowed)}")
    if isinstance(crop_size, bool) or not isinstance(crop_size, int) or crop_size < 0:
        raise DataError(f"crop_size must be an integer >= 0, got {crop_size!r}")


def image_decoder(
    load: Callable,
    *,
    image_size: int,
    channels: int,
    crop: str = "none",
    crop_size: int = 0,
    resize_method: str = "bilinear",
    labeled: bool = False,
) -> Callable[..., tf.data.Dataset]:
    """A function from one source element to a one-element dataset ``(image, ok, name)``,
    or ``(image, ok, name, label)`` if ``labeled``.

    Args:
        load: maps the element (a path, a record; its last part is its name) to
            ``(encoded bytes, name)``, or if ``labeled`` ``(encoded bytes, name, label)``
            with an int64 label (-1: the element has none; ``keep_decoded`` refuses it);
            the name identifies the image in errors. Its errors count as a bad image too.
        image_size, channels, crop, crop_size, resize_method: as in ``folder_images``.
        labeled: whether ``load`` gives a label.

    Returns:
        The function: ``image`` is float32 ``[image_size, image_size, channels]`` in
        [-1, 1] and ``ok`` True, or, for an element that cannot be loaded or decoded,
        zeros and ``ok`` False (``keep_decoded`` drops and counts those).
    """

    def decode(*element: tf.Tensor) -> tuple[tf.Tensor, ...]:
        encoded, name, *label = load(*element)
        # Decoding to RGB first works for every file (palette, RGBA, 16-bit, CMYK);
        # decode_image(channels=1) rejects CMYK JPEGs. Rounding reproduces the
        # decoders' own uint8 grayscale.
        image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
        if crop == "center":
            height, width = tf.shape(image)[0], tf.shape(image)[1]
            side = tf.minimum(height, width)
            if crop_size:
                side = tf.minimum(side, crop_size)
            image = tf.image.crop_to_bounding_box(
                image, (height - side) // 2, (width - side) // 2, side, side
            )
        image = to_model_range(
            image, image_size=image_size, channels=channels, resize_method=resize_method
        )
        return tf.ensure_shape(image, [image_size, image_size, channels]), True, name, *label

    def decode_or_flag(*element: tf.Tensor) -> tf.data.Dataset:
        name = element[-1]  # a placeholder's name: the element's last part
        placeholder = (tf.zeros([image_size, image_size, channels]), False, name)
        if labeled:  # dropped with its placeholder, so any label does
            placeholder += (tf.constant(-1, tf.int64),)
        return (
            tf.data.Dataset.from_tensors(element)
            .map(decode)
            .ignore_errors()
            .concatenate(tf.data.Dataset.from_tensors(placeholder))
            .take(1)
        )

    return decode_or_flag


def keep_decoded(
    dataset: tf.data.Dataset,
    *,
    on_bad_image: str,
    skipped_images: tf.Variable | None,
    give_up_after: int,
    tried: str,
) -> tf.data.Dataset:
    """The images of a dataset of ``(image, ok, name)``: bad ones counted, then dropped
    (``"skip"``) or raised as an error naming them (``"fail"``, see ``bad_image_message``).

    Of a dataset of ``(image, ok, name, label)`` (``image_decoder(labeled=True)``), the
    pairs ``(image, label)``, the label int32; a bad image is dropped with its label, so
    the two stay aligned. A good image whose label is negative (its record has none)
    raises an error that ``bad_image_message`` turns into one line naming it.

    A source whose elements all fail would otherwise filter forever and never yield a
    batch: after ``give_up_after`` bad elements in a row the pipeline raises an error that
    ``bad_image_message`` turns into one line naming ``tried`` (what was read, e.g. "image
    files under 'faces'").
    """
    # How many bad elements in a row: a safety valve, not state a resumed run needs (it
    # restarts at 0), so it is a variable of the pipeline, not of the checkpoint.
    streak = tf.Variable(0, dtype=tf.int64, trainable=False, name="bad_image_streak")
    limit = tf.constant(give_up_after, tf.int64)
    labeled = len(dataset.element_spec) == 4

    def check(image: tf.Tensor, ok: tf.Tensor, name: tf.Tensor, *label: tf.Tensor):
        # Both modes build the same pipeline (tf.data parallelizes a map only when it
        # touches no variable), so a resumed run may switch between them.
        if on_bad_image == "fail":
            tf.debugging.Assert(ok, [_BAD_IMAGE_MARKER, name], summarize=1)
        if skipped_images is not None:
            skipped_images.assign_add(tf.cast(tf.logical_not(ok), tf.int64))
        bad_in_a_row = streak.assign(tf.where(ok, tf.zeros_like(limit), streak + 1))
        tf.debugging.Assert(
            bad_in_a_row < limit, [_NOTHING_DECODABLE_MARKER, tried, bad_in_a_row], summarize=3
        )
        if not labeled:
            return image, ok
        # A bad image's label is a placeholder's: only a good one must have its own.
        has_label = tf.logical_or(tf.logical_not(ok), label[0] >= 0)
        tf.debugging.Assert(has_label, [_NO_LABEL_MARKER, name], summarize=1)
        return (image, tf.cast(label[0], tf.int32)), ok

    dataset = (
        dataset.map(check)
        .filter(lambda example, ok: ok)  # one lambda per line: autograph reads the source
        # Parallel by name, as autotuning made it before it was turned off (see
        # pipeline._without_autotuning), so that the runs saved then resume.
        .map(lambda example, ok: example, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    )
    options = tf.data.Options()
    # The only external state is the skip counter, which the caller checkpoints itself,
    # and the streak of bad elements.
    options.experimental_external_state_policy = tf.data.experimental.ExternalStatePolicy.IGNORE
    return dataset.with_options(options)


@contextlib.contextmanager
def as_data_errors() -> Iterator[None]:
    """Turns the error a bad image (``on_bad_image="fail"``) or a source with nothing
    decodable raised, where its batch was read, into a one-line ``DataError``.

    Raises:
        DataError: with the line of ``bad_image_message``.
    """
    try:
        yield
    except tf.errors.InvalidArgumentError as e:
        message = bad_image_message(e)
        if message is None:
            raise
        raise DataError(message) from None


def bad_image_message(error: Exception) -> str | None:
    """The one-line message for the error a bad file, an all-bad source, or an element
    without a label raised, else None.

    The errors surface where the batch is consumed (the training step), as a
    ``tf.errors.InvalidArgumentError`` holding the values ``keep_decoded`` asserted on.
    """
    text = str(error)
    if _BAD_IMAGE_MARKER in text:
        return bad_image_text(_asserted(text, _BAD_IMAGE_MARKER)[0])
    if _NOTHING_DECODABLE_MARKER in text:
        tried, count = _asserted(text, _NOTHING_DECODABLE_MARKER)[:2]
        return (
            f"no image could be decoded: the last {count} {tried} all failed; nothing can "
            "be trained on them (check the files, and that they are images)"
        )
    if _NO_LABEL_MARKER in text:
        return no_label_text(_asserted(text, _NO_LABEL_MARKER)[0])
    return None


def _asserted(text: str, marker: str) -> list[str]:
    """The values an assertion printed after ``marker``: ``[marker] [a] [b]`` -> a, b."""
    rest = text.split(marker, 1)[1]
    return [part.split("]", 1)[0].replace("\\'", "'") for part in rest.split(" [")[1:]]


def no_label_text(name: str) -> str:
    """The one line that refuses an element of a labeled run without a class label."""
    return (
        f"record {name!r} holds no class label (one int64 >= 0 under {TFRECORD_LABEL!r}); "
        "a labeled run needs one in every record (python -m dcgan.write_tfrecords --labels "
        "writes them from a folder of class subfolders)"
    )


def bad_image_text(path: str) -> str:
    return (
        f"cannot decode image file {path!r}; --on_bad_image=skip skips unreadable files "
        "and counts them"
    )
