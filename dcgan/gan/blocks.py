"""What every network builder shares: argument checks, initializer, norm and activation
layers, the weight-layer classes (spectrally normalized or not), batch-norm
synchronization.

The builders of ``dcgan.gan.models`` and ``dcgan.gan.resnet`` build from these, so every
net checks its arguments and makes its layers alike.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import NamedTuple

import keras

from dcgan.gan import spectral
from dcgan.gan.choices import IMAGE_SIZES, NORMALIZATIONS, PRECISIONS

_LEAKY_SLOPE = 0.2
_INIT_STDDEV = 0.02
_BN_MOMENTUM = 0.9


def check_positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name}={value!r} is not supported; allowed: an integer >= 1")


def check_choice(name: str, value: object, allowed: Sequence) -> None:
    # Type check first so that 64.0 or True do not slip through `in` by equality.
    expected = numbers.Integral if isinstance(allowed[0], int) else str
    if isinstance(value, bool) or not isinstance(value, expected) or value not in allowed:
        allowed_text = ", ".join(repr(a) if isinstance(a, str) else str(a) for a in allowed)
        raise ValueError(f"{name}={value!r} is not supported; allowed: {allowed_text}")


def check_conv_args(image_size: int, base_width: int, kernel_size: int, norm: str) -> None:
    """The arguments both DCGAN conv nets take."""
    check_choice("image_size", image_size, IMAGE_SIZES)
    check_positive_int("base_width", base_width)
    check_positive_int("kernel_size", kernel_size)
    check_choice("norm", norm, NORMALIZATIONS)


def check_start_size(image_size: int, start_size: int) -> None:
    """G's first side: the image side divided by a power of two >= 2."""
    check_positive_int("start_size", start_size)
    ratio = image_size / start_size
    if ratio < 2 or ratio != 2 ** round(math.log2(ratio)):
        raise ValueError(
            f"start_size={start_size!r} is not supported for image_size={image_size}; "
            "allowed: image_size divided by a power of two >= 2"
        )


def check_hidden_units(value: object) -> tuple[int, ...]:
    valid = (
        isinstance(value, Sequence)
        and not isinstance(value, (str, bytes))
        and len(value) > 0
        and all(
            not isinstance(u, bool) and isinstance(u, numbers.Integral) and u >= 1 for u in value
        )
    )
    if not valid:
        raise ValueError(
            f"hidden_units={value!r} is not supported; "
            "allowed: a non-empty sequence of integers >= 1"
        )
    return tuple(int(u) for u in value)


def check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name}={value!r} is not supported; allowed: True, False")


def check_dtype_policy(dtype_policy: object) -> None:
    if dtype_policy is not None:
        check_choice("dtype_policy", dtype_policy, PRECISIONS)


def initializer(
    weight_init: str = "default", *, glorot: bool = False
) -> keras.initializers.Initializer:
    """A kernel initializer: orthogonal for ``weight_init="orthogonal"`` (BigGAN), else
    the net's published one, N(0, 0.02) (DCGAN) or Glorot uniform (``glorot``: the
    ResNets, SAGAN's attention)."""
    # A fresh instance per layer: an unseeded Keras 3 initializer instance returns the
    # same values on every call, so sharing one would give equal-shaped kernels equal values.
    if weight_init == "orthogonal":
        return keras.initializers.Orthogonal()
    if glorot:
        return keras.initializers.GlorotUniform()
    return keras.initializers.RandomNormal(mean=0.0, stddev=_INIT_STDDEV)


def norm_layer(
    norm: str, name: str, dtype_policy: str | None, *, affine: bool = True
) -> keras.layers.Layer | None:
    """The normalization layer ``norm`` (None for "none"); without ``affine``, it has
    no scale and offset of its own (a class-conditional affine follows it)."""
    if norm == "batch":
        # Momentum 0.9, not Keras' 0.99: with 0.99 the moving statistics that inference
        # (sample grids, dcgan.sample) uses lag hundreds of steps behind training.
        return keras.layers.BatchNormalization(
            momentum=_BN_MOMENTUM, center=affine, scale=affine, dtype=dtype_policy, name=name
        )
    if norm == "layer":
        # Per-example statistics over H, W, C: unlike batch norm, this keeps each
        # example's output independent of the rest of the batch, which the per-example
        # WGAN-GP gradient penalty assumes. On the generator's reshaped projection this
        # equals LayerNormalization over the flat Dense output.
        return keras.layers.LayerNormalization(
            axis=[1, 2, 3], center=affine, scale=affine, dtype=dtype_policy, name=name
        )
    return None


class LayerClasses(NamedTuple):
    """The weight layers a net is built from: spectrally normalized, or Keras's own."""

    conv: type
    conv_transpose: type
    dense: type


def layer_classes(spectral_norm: bool) -> LayerClasses:
    """The classes of a net's weight layers: ``dcgan.gan.spectral``'s with
    ``spectral_norm``, else Keras's."""
    if spectral_norm:
        return LayerClasses(
            spectral.SpectralConv2D, spectral.SpectralConv2DTranspose, spectral.SpectralDense
        )
    return LayerClasses(keras.layers.Conv2D, keras.layers.Conv2DTranspose, keras.layers.Dense)


def activation_layer(activation: str, name: str, dtype_policy: str | None) -> keras.layers.Layer:
    if activation == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=_LEAKY_SLOPE, dtype=dtype_policy, name=name)
    return keras.layers.Activation(activation, dtype=dtype_policy, name=name)


def synchronize_batch_norm(model: keras.Model) -> None:
    """Makes every batch-norm layer of ``model`` take its batch statistics over all
    replicas (``BatchNormalization(synchronized=True)``): the statistics, and so the
    step, are those of the global batch. One all-reduce per layer and call."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True  # read at call time
