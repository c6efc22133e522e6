"""The DCGAN generator and discriminator for images (``dcgan.gan.mlp`` has the MLPs).

The DCGAN nets follow Radford et al. 2015 ("Unsupervised Representation Learning with
Deep Convolutional Generative Adversarial Networks"): strided (transposed) convolutions
instead of pooling, N(0, 0.02) weight init, ReLU + tanh in the generator, LeakyReLU(0.2)
in the discriminator, and no normalization on the discriminator's first layer.

Every model is a functional ``keras.Model`` built from ``keras.Input``, so its variables
exist as soon as it is constructed. Discriminators return logits (no sigmoid).

Precision: every builder takes ``dtype_policy``, one of ``PRECISIONS``, and gives it to
every layer it makes, so one process can hold a float32 and a mixed-precision model side
by side (``keras.mixed_precision.set_global_policy`` would change every model built
after it); None uses Keras' global policy. Under a mixed policy the variables stay
float32 and the layers compute in float16 or bfloat16, except the last layer of every
model (G's tanh or output, D's logits), which runs in float32 so that images, samples and
logits are float32: the losses and the penalties' gradient norms then start from float32
values. Batch and layer normalization compute their statistics in float32 (Keras casts
half-precision inputs up), and ``dcgan.gan.spectral`` computes sigma in float32.

With ``spectral_norm=True`` a net's weight layers are ``dcgan.gan.spectral``'s
spectrally normalized versions (Miyato et al. 2018); the trainer then runs
``dcgan.gan.spectral.power_iterate`` on that net before each of its updates.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import keras

from dcgan.gan import attention, blocks
from dcgan.gan import conditioning as conditioning_lib
from dcgan.gan.choices import ACTIVATIONS, UPSAMPLINGS, default_start_size, num_resamplings


def dcgan_generator(
    *,
    image_size: int,
    channels: int,
    latent_dim: int,
    base_width: int = 64,
    kernel_size: int = 4,
    norm: str = "batch",
    activation: str = "relu",
    upsample: str = "transpose",
    start_size: int | None = None,
    noise_shape: Sequence[int] | None = None,
    attention_size: int = 0,
    spectral_norm: bool = False,
    num_classes: int = 0,
    class_norm: bool = False,
    weight_init: str = "default",
    dtype_policy: str | None = None,
) -> keras.Model:
    """Builds the DCGAN generator: latent noise -> image in [-1, 1].

    Dense projection to ``[s0, s0, ch0]`` (s0 = ``start_size``), then blocks that double
    the spatial size and halve the width down to ``base_width``, and a last block to
    ``channels`` with tanh. For 64 px and ``base_width=64`` the widths are 512, 256, 128,
    64, ``channels`` as in the paper. Spatial noise ``[s0, s0, c]`` (S1's 4x4x4) skips the
    dense projection: a stride-1 convolution maps it to ``[s0, s0, ch0]``.

    Args:
        image_size: Output height and width; one of ``IMAGE_SIZES``.
        channels: Output channels, 1 (grayscale) or 3 (RGB).
        latent_dim: Size of the input noise vector, >= 1.
        base_width: Filters of the last hidden block; earlier blocks use powers-of-two
            multiples of it. >= 1.
        kernel_size: Side of the square transposed-convolution kernels, >= 1.
        norm: Normalization after each hidden layer; one of ``NORMALIZATIONS``.
        activation: Hidden-layer activation; one of ``ACTIVATIONS``.
        upsample: How each block doubles the size; one of ``UPSAMPLINGS``.
        start_size: s0; ``image_size`` must be s0 times a power of two >= 2. Default
            ``default_start_size(image_size)``.
        noise_shape: Shape of one noise example: ``(latent_dim,)`` (the default) or
            ``(s0, s0, c)`` with ``s0 * s0 * c == latent_dim``.
        attention_size: SAGAN's self-attention after the block that outputs this side
            (``dcgan.gan.attention``); 0: none.
        spectral_norm: Whether every weight layer is spectrally normalized, as SAGAN and
            BigGAN do in G (``dcgan.gan.spectral``).
        num_classes: K > 1: a class-conditional G, ``[z, label] -> image``, that joins
            a learned label embedding to z (``dcgan.gan.conditioning``); 0: ``z ->
            image``. Needs vector noise.
        class_norm: With ``num_classes``, each hidden layer's normalization has no
            affine parameters of its own and ``ClassAffine`` follows it: the class's
            learned gamma and beta (conditional batch norm, as the ResNet G and SNGAN's
            and BigGAN's Gs). The class then reaches every layer, not only the input.
        weight_init: "default" (N(0, 0.02)) or "orthogonal" kernels.
        dtype_policy: Keras dtype policy of every layer, one of ``PRECISIONS``; None:
            Keras' global policy. The last layer runs in float32 under any policy.

    Returns:
        A ``keras.Model`` named "generator" mapping ``[B, *noise_shape]`` to float32
        ``[B, image_size, image_size, channels]`` in [-1, 1].

    Raises:
        ValueError: If any argument is outside its allowed values.
    """
    blocks.check_conv_args(image_size, base_width, kernel_size, norm)
    blocks.check_choice("channels", channels, (1, 3))
    blocks.check_positive_int("latent_dim", latent_dim)
    blocks.check_choice("activation", activation, ACTIVATIONS)
    blocks.check_choice("upsample", upsample, UPSAMPLINGS)
    blocks.check_bool("spectral_norm", spectral_norm)
    blocks.check_bool("class_norm", class_norm)
    if class_norm and not num_classes:
        raise ValueError("class_norm=True needs a conditional G; allowed: num_classes > 1")
    blocks.check_dtype_policy(dtype_policy)
    layers = blocks.layer_classes(spectral_norm)
    s0 = start_size or default_start_size(image_size)
    blocks.check_start_size(image_size, s0)
    noise_shape = tuple(noise_shape or (latent_dim,))
    if noise_shape != (latent_dim,) and (
        len(noise_shape) != 3 or noise_shape[:2] != (s0, s0) or math.prod(noise_shape) != latent_dim
    ):
        raise ValueError(
            f"noise_shape={noise_shape!r} is not supported; allowed: ({latent_dim},) or "
            f"({s0}, {s0}, c) with {s0}*{s0}*c == latent_dim={latent_dim}"
        )
    n = num_resamplings(image_size, s0)
    width = base_width * 2 ** (n - 1)
    # A bias before batch norm is cancelled by its mean subtraction; keep it otherwise.
    use_bias = norm != "batch"

    if num_classes and len(noise_shape) != 1:
        raise ValueError(
            f"num_classes={num_classes} needs vector noise, not noise_shape={noise_shape!r}"
        )
    z = keras.Input(shape=noise_shape, name="z")  # [B, *noise_shape]
    inputs, x, label = z, z, None
    if num_classes:
        conditioning_lib.check("projection", num_classes)
        label = conditioning_lib.label_input()
        inputs = [z, label]
        x = conditioning_lib.join_label(
            z, label, num_classes=num_classes, dtype_policy=dtype_policy
        )
    if len(noise_shape) == 1:
        x = layers.dense(
            s0 * s0 * width,
            use_bias=use_bias,
            kernel_initializer=blocks.initializer(weight_init),
            dtype=dtype_policy,
            name="project",
        )(x)
        x = keras.layers.Reshape((s0, s0, width), dtype=dtype_policy, name="reshape")(x)
        # [B, s0, s0, ch0]
    else:
        x = layers.conv(
            width,
            kernel_size,
            padding="same",
            use_bias=use_bias,
            kernel_initializer=blocks.initializer(weight_init),
            dtype=dtype_policy,
            name="project",
        )(z)  # [B, s0, s0, ch0]

    def normalize(x, name):
        layer = blocks.norm_layer(norm, name, dtype_policy, affine=not class_norm)
        x = layer(x) if layer is not None else x
        if class_norm:
            affine = conditioning_lib.ClassAffine(
                num_classes, dtype=dtype_policy, name=f"{name}_class_affine"
            )
            x = affine([x, label])
        return x

    x = normalize(x, "project_norm")
    x = blocks.activation_layer(activation, f"project_{activation}", dtype_policy)(x)
    for i in range(1, n):
        width //= 2
        x = _upsample_block(
            x, width, kernel_size, upsample, use_bias, f"up{i}", layers, dtype_policy, weight_init
        )
        # [B, s0 * 2**i, s0 * 2**i, width]
        x = normalize(x, f"up{i}_norm")
        x = blocks.activation_layer(activation, f"up{i}_{activation}", dtype_policy)(x)
        if x.shape[1] == attention_size:
            x = attention.self_attention(
                x,
                name="attention",
                spectral_norm=spectral_norm,
                weight_init=weight_init,
                dtype_policy=dtype_policy,
            )
    x = _upsample_block(
        x, channels, kernel_size, upsample, True, "to_image", layers, dtype_policy, weight_init
    )
    # float32 under any policy: G's images are float32, and tanh saturates in float32.
    image = keras.layers.Activation("tanh", dtype="float32", name="tanh")(x)  # [B, S, S, C]
    return keras.Model(inputs, image, name="generator")


def _upsample_block(
    x,
    filters: int,
    kernel_size: int,
    upsample: str,
    use_bias: bool,
    name: str,
    layers: blocks.LayerClasses,
    dtype_policy: str | None,
    weight_init: str,
):
    """Doubles the spatial size of ``x`` [B, H, W, _] -> [B, 2H, 2W, filters]."""
    if upsample == "nearest":
        x = keras.layers.UpSampling2D(
            2, interpolation="nearest", dtype=dtype_policy, name=f"{name}_upsample"
        )(x)
        return layers.conv(
            filters,
            kernel_size,
            padding="same",
            use_bias=use_bias,
            kernel_initializer=blocks.initializer(weight_init),
            dtype=dtype_policy,
            name=name,
        )(x)
    return layers.conv_transpose(
        filters,
        kernel_size,
        strides=2,
        padding="same",
        use_bias=use_bias,
        kernel_initializer=blocks.initializer(weight_init),
        dtype=dtype_policy,
        name=name,
    )(x)


def dcgan_discriminator(
    *,
    image_size: int,
    channels: int,
    base_width: int = 64,
    kernel_size: int = 4,
    norm: str = "batch",
    activation: str = "leaky_relu",
    stride1_block: int = 0,
    dense_units: int = 0,
    dropout: float = 0.0,
    spectral_norm: bool = False,
    attention_size: int = 0,
    conditioning: str = "none",
    num_classes: int = 0,
    weight_init: str = "default",
    dtype_policy: str | None = None,
) -> keras.Model:
    """Builds the DCGAN discriminator (or WGAN critic): image -> one logit.

    Stride-2 convolutions halve the spatial size and double the width, starting at
    ``base_width``, until the size reaches 4 (7 for 28 px); the first convolution has no
    normalization. For 64 px and ``base_width=64`` the widths are 64, 128, 256, 512.
    Optionally block ``stride1_block`` keeps the size (S3's 512-wide block; D then ends
    at twice the size), each block ends in dropout (S5), and a hidden Dense layer comes
    before the logit (S1's 2048 units).

    Args:
        image_size: Input height and width; one of ``IMAGE_SIZES``.
        channels: Input channels, an integer >= 1: 1 (grayscale), 3 (RGB), or m times
            that for m images packed along the channels (PacGAN).
        base_width: Filters of the first convolution, >= 1.
        kernel_size: Side of the square convolution kernels, >= 1.
        norm: Normalization after every convolution but the first; one of
            ``NORMALIZATIONS``. Use "layer" or "none" for a WGAN-GP critic.
        activation: Activation after every block; one of ``ACTIVATIONS``.
        stride1_block: 1-based index of the block that uses stride 1; 0 for none.
        dense_units: Width of a hidden Dense layer before the logit; 0 for none.
        dropout: Dropout rate after every block's activation, in [0, 1).
        spectral_norm: Whether every Conv2D and Dense layer, the logit's included, is
            ``spectral.SpectralConv2D`` / ``spectral.SpectralDense`` (same names, plus a
            non-trainable ``u`` variable each). False builds exactly the plain net.
        attention_size: SAGAN's self-attention after the first block that outputs this
            side; 0: none.
        conditioning: "projection" or "acgan" with ``num_classes`` K: the class head
            of ``dcgan.gan.conditioning.discriminator`` on the features the logit reads;
            "none": none.
        num_classes: K, with a conditioning.
        weight_init: "default" (N(0, 0.02)) or "orthogonal" kernels.
        dtype_policy: Keras dtype policy of every layer, one of ``PRECISIONS``; None:
            Keras' global policy. The last layer runs in float32 under any policy.

    Returns:
        A ``keras.Model`` named "discriminator" mapping ``[B, image_size, image_size,
        channels]`` images in [-1, 1] to float32 logits ``[B, 1]`` (no sigmoid); with a
        conditioning, the inputs and outputs that conditioning gives.

    Raises:
        ValueError: If any argument is outside its allowed values.
    """
    blocks.check_conv_args(image_size, base_width, kernel_size, norm)
    blocks.check_positive_int("channels", channels)
    blocks.check_choice("activation", activation, ACTIVATIONS)
    n = num_resamplings(image_size)
    blocks.check_choice("stride1_block", stride1_block, tuple(range(n + 1)))
    if (
        isinstance(dense_units, bool)
        or not isinstance(dense_units, numbers.Integral)
        or dense_units < 0
    ):
        raise ValueError(f"dense_units={dense_units!r} is not supported; allowed: an integer >= 0")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout={dropout!r} is not supported; allowed: a number in [0, 1)")
    blocks.check_bool("spectral_norm", spectral_norm)
    blocks.check_dtype_policy(dtype_policy)
    conv, _, dense = blocks.layer_classes(spectral_norm)
    suffix = "lrelu" if activation == "leaky_relu" else activation

    image = keras.Input(shape=(image_size, image_size, channels), name="image")  # [B, S, S, C]
    x = image
    width = base_width
    attended = False
    for i in range(1, n + 1):
        x = conv(
            width,
            kernel_size,
            strides=1 if i == stride1_block else 2,
            padding="same",
            use_bias=i == 1 or norm != "batch",
            kernel_initializer=blocks.initializer(weight_init),
            dtype=dtype_policy,
            name=f"down{i}",
        )(x)  # [B, S / 2**i, S / 2**i, width] (one halving fewer after a stride-1 block)
        norm_layer = blocks.norm_layer(norm, f"down{i}_norm", dtype_policy) if i > 1 else None
        if norm_layer is not None:
            x = norm_layer(x)
        x = blocks.activation_layer(activation, f"down{i}_{suffix}", dtype_policy)(x)
        if dropout:
            x = keras.layers.Dropout(dropout, dtype=dtype_policy, name=f"down{i}_dropout")(x)
        if x.shape[1] == attention_size and not attended:  # a stride-1 block repeats a size
            x = attention.self_attention(
                x,
                name="attention",
                spectral_norm=spectral_norm,
                weight_init=weight_init,
                dtype_policy=dtype_policy,
            )
            attended = True
        width *= 2
    x = keras.layers.Flatten(dtype=dtype_policy, name="flatten")(x)  # [B, s0 * s0 * width]
    if dense_units:
        x = dense(
            dense_units,
            kernel_initializer=blocks.initializer(weight_init),
            dtype=dtype_policy,
            name="hidden",
        )(x)
        x = blocks.activation_layer(activation, f"hidden_{suffix}", dtype_policy)(x)
    # float32 under any policy: the logits feed the losses, and float16 would round them.
    logits = dense(
        1, kernel_initializer=blocks.initializer(weight_init), dtype="float32", name="logits"
    )(x)  # [B, 1]
    return conditioning_lib.discriminator(
        image,
        x,
        logits,
        conditioning=conditioning,
        num_classes=num_classes,
        dense=dense,
        kernel_initializer=lambda: blocks.initializer(weight_init),
    )
