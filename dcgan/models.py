"""Generator and discriminator networks: DCGAN conv nets for images, MLPs for vectors.

The DCGAN nets follow Radford et al. 2015 ("Unsupervised Representation Learning with
Deep Convolutional Generative Adversarial Networks"): strided (transposed) convolutions
instead of pooling, N(0, 0.02) weight init, ReLU + tanh in the generator, LeakyReLU(0.2)
in the discriminator, and no normalization on the discriminator's first layer.

Every model is a functional ``keras.Model`` built from ``keras.Input``, so its variables
exist as soon as it is constructed. Discriminators return logits (no sigmoid), and every
model's last layer runs in float32 so the outputs stay float32 under a mixed-precision
policy such as ``"mixed_float16"``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import keras

SUPPORTED_IMAGE_SIZES = (28, 32, 64, 128)
NORMALIZATIONS = ("batch", "layer", "none")
#: Hidden-layer activations accepted by the MLP nets; "leaky_relu" uses slope 0.2.
ACTIVATIONS = ("relu", "leaky_relu", "elu", "selu", "tanh")

_LEAKY_SLOPE = 0.2
_INIT_STDDEV = 0.02
_BN_MOMENTUM = 0.9


def _check_positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name}={value!r} is not supported; allowed: an integer >= 1")


def _check_choice(name: str, value: object, allowed: Sequence) -> None:
    # Type check first so that 64.0 or True do not slip through `in` by equality.
    expected = numbers.Integral if isinstance(allowed[0], int) else str
    if isinstance(value, bool) or not isinstance(value, expected) or value not in allowed:
        allowed_text = ", ".join(repr(a) if isinstance(a, str) else str(a) for a in allowed)
        raise ValueError(f"{name}={value!r} is not supported; allowed: {allowed_text}")


def _check_hidden_units(value: object) -> tuple[int, ...]:
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


def _check_dcgan_args(
    image_size: int, channels: int, base_width: int, kernel_size: int, norm: str
) -> None:
    _check_choice("image_size", image_size, SUPPORTED_IMAGE_SIZES)
    _check_choice("channels", channels, (1, 3))
    _check_positive_int("base_width", base_width)
    _check_positive_int("kernel_size", kernel_size)
    _check_choice("norm", norm, NORMALIZATIONS)


def _start_size(image_size: int) -> int:
    # 28 = 7 * 2**2; every other supported size is 4 * 2**n.
    return 7 if image_size == 28 else 4


def _num_resamplings(image_size: int) -> int:
    return round(math.log2(image_size / _start_size(image_size)))


def _init() -> keras.initializers.Initializer:
    # A fresh instance per layer: an unseeded Keras 3 initializer instance returns the
    # same values on every call, so sharing one would give equal-shaped kernels equal values.
    return keras.initializers.RandomNormal(mean=0.0, stddev=_INIT_STDDEV)


def _norm_layer(norm: str, name: str) -> keras.layers.Layer | None:
    if norm == "batch":
        # Momentum 0.9, not Keras' 0.99: with 0.99 the moving statistics that inference
        # (sample grids, dcgan.sample) uses lag hundreds of steps behind training.
        return keras.layers.BatchNormalization(momentum=_BN_MOMENTUM, name=name)
    if norm == "layer":
        # Per-example statistics over H, W, C: unlike batch norm, this keeps each
        # example's output independent of the rest of the batch, which the per-example
        # WGAN-GP gradient penalty assumes. On the generator's reshaped projection this
        # equals LayerNormalization over the flat Dense output.
        return keras.layers.LayerNormalization(axis=[1, 2, 3], name=name)
    return None


def _activation_layer(activation: str, name: str) -> keras.layers.Layer:
    if activation == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=_LEAKY_SLOPE, name=name)
    return keras.layers.Activation(activation, name=name)


def dcgan_generator(
    *,
    image_size: int,
    channels: int,
    latent_dim: int,
    base_width: int = 64,
    kernel_size: int = 4,
    norm: str = "batch",
) -> keras.Model:
    """Builds the DCGAN generator: latent vector -> image in [-1, 1].

    Dense projection to ``[s0, s0, ch0]`` (s0 = 7 for 28 px, else 4), then stride-2
    transposed convolutions that double the spatial size and halve the width down to
    ``base_width``, and a last transposed convolution to ``channels`` with tanh. For 64 px
    and ``base_width=64`` the widths are 512, 256, 128, 64, ``channels`` as in the paper.

    Args:
        image_size: Output height and width; one of ``SUPPORTED_IMAGE_SIZES``.
        channels: Output channels, 1 (grayscale) or 3 (RGB).
        latent_dim: Size of the input noise vector, >= 1.
        base_width: Filters of the last hidden block; earlier blocks use powers-of-two
            multiples of it. >= 1.
        kernel_size: Side of the square transposed-convolution kernels, >= 1.
        norm: Normalization after each hidden layer; one of ``NORMALIZATIONS``.

    Returns:
        A ``keras.Model`` named "generator" mapping ``[B, latent_dim]`` to float32
        ``[B, image_size, image_size, channels]`` in [-1, 1].

    Raises:
        ValueError: If any argument is outside its allowed values.
    """
    _check_dcgan_args(image_size, channels, base_width, kernel_size, norm)
    _check_positive_int("latent_dim", latent_dim)
    s0 = _start_size(image_size)
    n = _num_resamplings(image_size)
    width = base_width * 2 ** (n - 1)
    # A bias before batch norm is cancelled by its mean subtraction; keep it otherwise.
    use_bias = norm != "batch"

    z = keras.Input(shape=(latent_dim,), name="z")  # [B, latent_dim]
    x = keras.layers.Dense(
        s0 * s0 * width, use_bias=use_bias, kernel_initializer=_init(), name="project"
    )(z)
    x = keras.layers.Reshape((s0, s0, width), name="reshape")(x)  # [B, s0, s0, ch0]
    norm_layer = _norm_layer(norm, "project_norm")
    if norm_layer is not None:
        x = norm_layer(x)
    x = keras.layers.ReLU(name="project_relu")(x)
    for i in range(1, n):
        width //= 2
        x = keras.layers.Conv2DTranspose(
            width,
            kernel_size,
            strides=2,
            padding="same",
            use_bias=use_bias,
            kernel_initializer=_init(),
            name=f"up{i}",
        )(x)  # [B, s0 * 2**i, s0 * 2**i, width]
        norm_layer = _norm_layer(norm, f"up{i}_norm")
        if norm_layer is not None:
            x = norm_layer(x)
        x = keras.layers.ReLU(name=f"up{i}_relu")(x)
    x = keras.layers.Conv2DTranspose(
        channels,
        kernel_size,
        strides=2,
        padding="same",
        kernel_initializer=_init(),
        name="to_image",
    )(x)
    image = keras.layers.Activation("tanh", dtype="float32", name="tanh")(x)  # [B, S, S, C]
    return keras.Model(z, image, name="generator")


def dcgan_discriminator(
    *,
    image_size: int,
    channels: int,
    base_width: int = 64,
    kernel_size: int = 4,
    norm: str = "batch",
) -> keras.Model:
    """Builds the DCGAN discriminator (or WGAN critic): image -> one logit.

    Stride-2 convolutions halve the spatial size and double the width, starting at
    ``base_width``, until the size reaches 4 (7 for 28 px); the first convolution has no
    normalization. For 64 px and ``base_width=64`` the widths are 64, 128, 256, 512.

    Args:
        image_size: Input height and width; one of ``SUPPORTED_IMAGE_SIZES``.
        channels: Input channels, 1 (grayscale) or 3 (RGB).
        base_width: Filters of the first convolution, >= 1.
        kernel_size: Side of the square convolution kernels, >= 1.
        norm: Normalization after every convolution but the first; one of
            ``NORMALIZATIONS``. Use "layer" or "none" for a WGAN-GP critic.

    Returns:
        A ``keras.Model`` named "discriminator" mapping ``[B, image_size, image_size,
        channels]`` images in [-1, 1] to float32 logits ``[B, 1]`` (no sigmoid).

    Raises:
        ValueError: If any argument is outside its allowed values.
    """
    _check_dcgan_args(image_size, channels, base_width, kernel_size, norm)
    n = _num_resamplings(image_size)

    image = keras.Input(shape=(image_size, image_size, channels), name="image")  # [B, S, S, C]
    x = keras.layers.Conv2D(
        base_width, kernel_size, strides=2, padding="same", kernel_initializer=_init(), name="down1"
    )(image)
    x = keras.layers.LeakyReLU(negative_slope=_LEAKY_SLOPE, name="down1_lrelu")(x)
    width = base_width
    for i in range(2, n + 1):
        width *= 2
        x = keras.layers.Conv2D(
            width,
            kernel_size,
            strides=2,
            padding="same",
            use_bias=norm != "batch",
            kernel_initializer=_init(),
            name=f"down{i}",
        )(x)  # [B, S / 2**i, S / 2**i, width]
        norm_layer = _norm_layer(norm, f"down{i}_norm")
        if norm_layer is not None:
            x = norm_layer(x)
        x = keras.layers.LeakyReLU(negative_slope=_LEAKY_SLOPE, name=f"down{i}_lrelu")(x)
    x = keras.layers.Flatten(name="flatten")(x)  # [B, s0 * s0 * width]
    logits = keras.layers.Dense(1, kernel_initializer=_init(), dtype="float32", name="logits")(
        x
    )  # [B, 1]
    return keras.Model(image, logits, name="discriminator")


def mlp_generator(
    *,
    latent_dim: int,
    output_dim: int,
    hidden_units: Sequence[int] = (200, 100, 50),
    activation: str = "relu",
) -> keras.Model:
    """Builds a fully connected generator for vector data.

    Args:
        latent_dim: Size of the input noise vector, >= 1.
        output_dim: Size of each generated vector, >= 1.
        hidden_units: Widths of the hidden Dense layers; non-empty, each >= 1.
        activation: Hidden-layer activation; one of ``ACTIVATIONS``.

    Returns:
        A ``keras.Model`` named "generator" mapping ``[B, latent_dim]`` to float32
        ``[B, output_dim]``. The output is linear: vector data is not bounded to [-1, 1].

    Raises:
        ValueError: If any argument is outside its allowed values.
    """
    _check_positive_int("latent_dim", latent_dim)
    _check_positive_int("output_dim", output_dim)
    units = _check_hidden_units(hidden_units)
    _check_choice("activation", activation, ACTIVATIONS)

    z = keras.Input(shape=(latent_dim,), name="z")  # [B, latent_dim]
    x = z
    for i, width in enumerate(units, start=1):
        x = keras.layers.Dense(width, name=f"hidden{i}")(x)
        x = _activation_layer(activation, f"hidden{i}_{activation}")(x)
    sample = keras.layers.Dense(output_dim, dtype="float32", name="output")(x)  # [B, D]
    return keras.Model(z, sample, name="generator")


def mlp_discriminator(
    *, input_dim: int, hidden_units: Sequence[int] = (200, 50), activation: str = "leaky_relu"
) -> keras.Model:
    """Builds a fully connected discriminator (or critic) for vector data.

    Args:
        input_dim: Size of each input vector, >= 1.
        hidden_units: Widths of the hidden Dense layers; non-empty, each >= 1.
        activation: Hidden-layer activation; one of ``ACTIVATIONS``.

    Returns:
        A ``keras.Model`` named "discriminator" mapping ``[B, input_dim]`` to float32
        logits ``[B, 1]`` (no sigmoid).

    Raises:
        ValueError: If any argument is outside its allowed values.
    """
    _check_positive_int("input_dim", input_dim)
    units = _check_hidden_units(hidden_units)
    _check_choice("activation", activation, ACTIVATIONS)

    sample = keras.Input(shape=(input_dim,), name="sample")  # [B, D]
    x = sample
    for i, width in enumerate(units, start=1):
        x = keras.layers.Dense(width, name=f"hidden{i}")(x)
        x = _activation_layer(activation, f"hidden{i}_{activation}")(x)
    logits = keras.layers.Dense(1, dtype="float32", name="logits")(x)  # [B, 1]
    return keras.Model(sample, logits, name="discriminator")
