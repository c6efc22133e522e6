"""Differentiable Augmentation (DiffAugment) of the images D sees, real and fake alike.

Zhao, Liu, Lin, Zhu & Han, "Differentiable Augmentation for Data-Efficient GAN
Training" (NeurIPS 2020). With a small data set (a few hundred images, e.g. 500) D
memorizes the real images and its feedback to G collapses. DiffAugment shows D randomly
transformed images instead; the transforms are differentiable, so G's gradient flows
through them back to G.

How to use it, as the paper requires:
- Apply ``diff_augment`` to every batch D sees, real and fake alike: augmenting only the
  real images teaches G to produce augmented images.
- Apply it in both D's update and G's update (the fakes G is scored on are augmented
  too), with the same policy, inside the compiled train step.
- Every random number comes from the ``tf.random.Generator`` passed in (the run's
  checkpointed generator), so a resumed run draws the same augmentations. Per call, the
  transforms in ``policy`` draw, in ``AUGMENTATIONS`` order, with one generator call of shape
  [B] each:
    color:       u1, u2, u3 float32 uniform in [0, 1) (brightness, saturation, contrast)
    translation: dy then dx, int32 uniform in [-s, s] (rows, then columns)
    cutout:      row offset then column offset, int32 (see ``_cutout``)
  A transform not in ``policy`` draws nothing; an empty policy leaves the generator's
  state untouched. The draws do not depend on the images' dtype.

Images are [B, H, W, C] in [-1, 1]; the transforms keep their shape and dtype, work on a
dynamic batch size inside ``tf.function``, and draw per example.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from dcgan.gan.choices import AUGMENTATIONS


def _check_policy(policy: Sequence[str]) -> None:
    """Raises unless ``policy`` names each of AUGMENTATIONS at most once."""
    if isinstance(policy, str):
        raise TypeError(
            f"policy must be a sequence of names from {list(AUGMENTATIONS)}, got the string "
            f"{policy!r}"
        )
    seen = set()
    for name in policy:
        if name not in AUGMENTATIONS:
            raise ValueError(
                f"unknown augmentation {name!r} in policy; allowed: {list(AUGMENTATIONS)}"
            )
        if name in seen:
            raise ValueError(
                f"augmentation {name!r} appears twice in policy {list(policy)}; "
                f"each of {list(AUGMENTATIONS)} may appear once"
            )
        seen.add(name)


def _dim(images: tf.Tensor, axis: int):
    """The size of ``images`` along ``axis``: a Python int when static, else a tensor."""
    static = images.shape[axis]
    return static if static is not None else tf.shape(images)[axis]


def _per_example_uniform(rng: tf.random.Generator, batch, dtype: tf.DType) -> tf.Tensor:
    """One float32 U[0, 1) draw per example, as ``dtype`` [B, 1, 1, 1]."""
    draw = rng.uniform([batch])  # [B], float32 whatever the images' dtype
    return tf.reshape(tf.cast(draw, dtype), [-1, 1, 1, 1])


def _color(images: tf.Tensor, rng: tf.random.Generator) -> tf.Tensor:
    """Random brightness, then saturation, then contrast, per example.

    With u1, u2, u3 ~ U[0, 1) drawn in that order:
        brightness: x + (u1 - 0.5)
        saturation: (x - m) * (2 u2) + m,   m = mean of x over channels
        contrast:   (x - m) * (u3 + 0.5) + m,   m = mean of x over H, W, C
    """
    batch = tf.shape(images)[0]
    brightness = _per_example_uniform(rng, batch, images.dtype) - 0.5
    saturation = _per_example_uniform(rng, batch, images.dtype) * 2.0
    contrast = _per_example_uniform(rng, batch, images.dtype) + 0.5
    images = images + brightness
    channel_mean = tf.reduce_mean(images, axis=3, keepdims=True)  # [B, H, W, 1]
    images = (images - channel_mean) * saturation + channel_mean
    image_mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)  # [B, 1, 1, 1]
    return (images - image_mean) * contrast + image_mean


def _shift(images: tf.Tensor, shift: tf.Tensor, axis: int) -> tf.Tensor:
    """Moves each example's content by ``shift`` [B] pixels along ``axis`` (1 or 2).

    out[..., i, ...] = images[..., i - shift, ...], and 0 where i - shift falls outside
    the image: one zero is padded on both ends and every outside index points at it.
    """
    size = _dim(images, axis)
    paddings = [[0, 0], [0, 0], [0, 0], [0, 0]]
    paddings[axis] = [1, 1]
    padded = tf.pad(images, paddings)  # one more zero on both ends of ``axis``
    index = tf.range(size)[tf.newaxis, :] - shift[:, tf.newaxis] + 1  # [B, size]
    index = tf.clip_by_value(index, 0, size + 1)
    return tf.gather(padded, index, axis=axis, batch_dims=1)


def _translation(images: tf.Tensor, rng: tf.random.Generator) -> tf.Tensor:
    """Moves each example by whole pixels (dy, dx), filling what is vacated with 0.

    dy ~ uniform integers in [-s, s], s = int(H / 8 + 0.5), drawn first; dx likewise
    with W. The content moves down by dy and right by dx:
    out[y, x] = images[y - dy, x - dx], or 0 outside the image.
    """
    batch = tf.shape(images)[0]
    shifted = images
    for axis in (1, 2):
        size = _dim(images, axis)
        reach = (size + 4) // 8  # int(size / 8 + 0.5) in integer arithmetic
        shift = rng.uniform([batch], minval=-reach, maxval=reach + 1, dtype=tf.int32)
        shifted = _shift(shifted, shift, axis)
    return shifted


def _cutout_span(rng: tf.random.Generator, batch, size) -> tf.Tensor:
    """Which of ``size`` positions a cut of length int(size / 2 + 0.5) covers: bool [B, size].

    The cut's first position is an offset drawn uniformly from
    [0, size + (1 - length % 2)) minus length // 2, as the reference implementation
    does: its center is uniform over the image and the cut is clipped to the image.
    """
    length = (size + 1) // 2  # int(size / 2 + 0.5) in integer arithmetic
    offset = rng.uniform([batch], minval=0, maxval=size + 1 - length % 2, dtype=tf.int32)
    start = (offset - length // 2)[:, tf.newaxis]  # [B, 1]
    position = tf.range(size)[tf.newaxis, :]  # [1, size]
    return (position >= start) & (position < start + length)


def _cutout(images: tf.Tensor, rng: tf.random.Generator) -> tf.Tensor:
    """Sets a random square of each example to 0 (rows drawn first, then columns)."""
    batch = tf.shape(images)[0]
    rows = _cutout_span(rng, batch, _dim(images, 1))  # [B, H]
    columns = _cutout_span(rng, batch, _dim(images, 2))  # [B, W]
    cut = rows[:, :, tf.newaxis] & columns[:, tf.newaxis, :]  # [B, H, W]
    keep = tf.cast(tf.logical_not(cut), images.dtype)[..., tf.newaxis]  # [B, H, W, 1]
    return images * keep


_TRANSFORMS = {"color": _color, "translation": _translation, "cutout": _cutout}


def diff_augment(images: tf.Tensor, policy: Sequence[str], rng: tf.random.Generator) -> tf.Tensor:
    """Applies the transforms named in ``policy`` to ``images``, in AUGMENTATIONS order.

    Zhao et al., "Differentiable Augmentation for Data-Efficient GAN Training" (2020):
    call it on real and fake batches alike, in D's and G's updates. Each example gets
    its own random draws; see the module docstring for the order of the draws.

    Args:
        images: [B, H, W, C] in [-1, 1], float32, float16 or bfloat16; B may be dynamic.
        policy: names from AUGMENTATIONS, each at most once, in any order; the transforms
            run in AUGMENTATIONS order whatever the order here. Empty: no augmentation.
        rng: the generator every random number is drawn from; advances its state.

    Returns:
        The augmented images, with the shape and dtype of ``images``.

    Raises:
        TypeError: if ``policy`` is a single string rather than a sequence of names.
        ValueError: if ``policy`` names an unknown transform or one twice, or
            ``images`` is not rank 4 or not floating point.
    """
    _check_policy(policy)
    images = tf.convert_to_tensor(images)
    if images.shape.rank != 4:
        raise ValueError(f"images must be [B, H, W, C] (rank 4), got shape {images.shape}")
    if not images.dtype.is_floating:
        raise ValueError(f"images must be floating point in [-1, 1], got dtype {images.dtype.name}")
    for name in AUGMENTATIONS:
        if name in policy:
            images = _TRANSFORMS[name](images, rng)
    return images
