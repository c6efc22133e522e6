"""ResNet generator and discriminator for images: the residual nets of SNGAN.

Miyato et al. 2018 ("Spectral Normalization for Generative Adversarial Networks",
appendix B.4, the CIFAR-10 ResNet that compare_gan and Mimicry reuse), after Gulrajani
et al. 2017 ("Improved Training of Wasserstein GANs", appendix F):

- **G**: z -> Dense to a ``start x start x width`` map -> one *up block* per doubling ->
  BN -> ReLU -> 3x3 conv to the image's channels -> tanh. An up block is
  ``BN -> ReLU -> 2x nearest upsample -> 3x3 conv -> BN -> ReLU -> 3x3 conv`` added to a
  shortcut ``2x nearest upsample -> 1x1 conv``.
- **D**: an *optimized first block* ``3x3 conv -> ReLU -> 3x3 conv -> 2x2 average pool``
  added to ``2x2 average pool -> 1x1 conv``; *down blocks*
  ``ReLU -> 3x3 conv -> ReLU -> 3x3 conv -> 2x2 average pool`` added to
  ``1x1 conv -> 2x2 average pool``, until the map is 8 x 8 (7 x 7 for 28 px); two blocks
  that keep the size, added to the identity; then ReLU, the sum over positions (global sum
  pooling) and a Dense logit.

For 32 px this is SNGAN's CIFAR-10 pair: G's three up blocks from 4 x 4, D's optimized
block, one down block and two plain blocks, all at one width. The widths come from the
existing flags: G's blocks are ``4 * g_base_width`` wide (256 at the default 64, as
published), D's ``2 * d_base_width`` (128). Convolutions start from Glorot-uniform
weights, as in the authors' code (orthogonal ones with ``weight_init``, as in BigGAN);
G normalizes with ``norm`` (batch by default), D not at all (spectral normalization,
``spectral_norm=True``, is its stabilizer).

As in ``dcgan.gan.models``, every model is a flat functional ``keras.Model`` (its layers
are what batch-norm synchronization and power iteration look for), every layer gets
``dtype_policy`` and the last layer computes in float32. D returns logits.
"""

from __future__ import annotations

import keras

from dcgan.gan import attention, blocks
from dcgan.gan import conditioning as conditioning_lib
from dcgan.gan.choices import IMAGE_SIZES, NORMALIZATIONS, default_start_size

# Residual blocks of G and D have this many times the base width of the flags.
G_WIDTH_FACTOR = 4
D_WIDTH_FACTOR = 2


def _check_size(image_size: int) -> None:
    blocks.check_choice("image_size", image_size, IMAGE_SIZES)


def d_final_size(image_size: int) -> int:
    """The side of D's last feature map: 7 for 28 px, else 8."""
    return 7 if image_size == 28 else 8


def resnet_generator(
    *,
    image_size: int,
    channels: int,
    latent_dim: int,
    base_width: int = 64,
    norm: str = "batch",
    start_size: int | None = None,
    attention_size: int = 0,
    spectral_norm: bool = False,
    num_classes: int = 0,
    weight_init: str = "default",
    dtype_policy: str | None = None,
) -> keras.Model:
    """Builds SNGAN's ResNet generator: z -> image in [-1, 1].

    Args:
        image_size: Output height and width; one of ``IMAGE_SIZES``.
        channels: Output channels, >= 1.
        latent_dim: Size of z, >= 1.
        base_width: The blocks are ``G_WIDTH_FACTOR * base_width`` wide.
        norm: Normalization before each activation of G; one of ``NORMALIZATIONS``.
        start_size: Side of the first map, ``image_size / 2**k``; None: 7 for 28 px,
            else 4.
        attention_size: SAGAN's self-attention after the up block that outputs this
            side (``dcgan.gan.attention``); 0: none.
        spectral_norm: Whether every Conv2D and Dense layer is spectrally normalized,
            as SAGAN and BigGAN do in G.
        num_classes: K > 1: a class-conditional G, ``[z, label] -> image``, whose every
            normalization is conditional (no affine of its own, then the class's
            ``conditioning.ClassAffine``), as SNGAN's; 0: ``z -> image``.
        weight_init: "default" (Glorot uniform) or "orthogonal" kernels.
        dtype_policy: Keras dtype policy of every layer; the tanh runs in float32.

    Returns:
        A ``keras.Model`` named "generator" mapping ``[B, latent_dim]`` to float32
        ``[B, image_size, image_size, channels]``.

    Raises:
        ValueError: If any argument is outside its allowed values.
    """
    _check_size(image_size)
    for name, value in (("channels", channels), ("latent_dim", latent_dim)):
        blocks.check_positive_int(name, value)
    blocks.check_positive_int("base_width", base_width)
    blocks.check_choice("norm", norm, NORMALIZATIONS)
    blocks.check_bool("spectral_norm", spectral_norm)
    blocks.check_dtype_policy(dtype_policy)
    conv_class, _, dense_class = blocks.layer_classes(spectral_norm)
    start = start_size or default_start_size(image_size)
    blocks.check_start_size(image_size, start)
    width = G_WIDTH_FACTOR * base_width
    policy = dict(dtype=dtype_policy)

    z = keras.Input(shape=(latent_dim,), name="z")
    inputs, label = z, None
    if num_classes:
        conditioning_lib.check("projection", num_classes)
        label = conditioning_lib.label_input()
        inputs = [z, label]

    def normalize_and_activate(x, name):
        layer = blocks.norm_layer(norm, f"{name}_norm", dtype_policy, affine=not num_classes)
        x = layer(x) if layer is not None else x
        if num_classes:
            x = conditioning_lib.ClassAffine(num_classes, name=f"{name}_class_affine", **policy)(
                [x, label]
            )
        return keras.layers.ReLU(name=f"{name}_relu", **policy)(x)

    def conv(filters, size, name):
        return conv_class(
            filters,
            size,
            padding="same",
            kernel_initializer=blocks.initializer(weight_init, glorot=True),
            name=name,
            **policy,
        )

    x = dense_class(
        start * start * width,
        kernel_initializer=blocks.initializer(weight_init, glorot=True),
        name="project",
        **policy,
    )(z)
    x = keras.layers.Reshape((start, start, width), name="reshape", **policy)(x)
    for i in range(1, (image_size // start).bit_length()):
        name = f"up{i}"
        h = normalize_and_activate(x, f"{name}_a")
        h = keras.layers.UpSampling2D(2, name=f"{name}_upsample", **policy)(h)
        h = conv(width, 3, f"{name}_conv_a")(h)
        h = normalize_and_activate(h, f"{name}_b")
        h = conv(width, 3, f"{name}_conv_b")(h)
        s = keras.layers.UpSampling2D(2, name=f"{name}_shortcut_upsample", **policy)(x)
        s = conv(width, 1, f"{name}_shortcut")(s)
        x = keras.layers.Add(name=f"{name}_add", **policy)([h, s])
        if x.shape[1] == attention_size:
            x = attention.self_attention(
                x,
                name="attention",
                spectral_norm=spectral_norm,
                weight_init=weight_init,
                dtype_policy=dtype_policy,
            )
    x = normalize_and_activate(x, "out")
    x = conv(channels, 3, "to_image")(x)
    image = keras.layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model(inputs, image, name="generator")


def resnet_discriminator(
    *,
    image_size: int,
    channels: int,
    base_width: int = 64,
    spectral_norm: bool = False,
    attention_size: int = 0,
    conditioning: str = "none",
    num_classes: int = 0,
    weight_init: str = "default",
    dtype_policy: str | None = None,
) -> keras.Model:
    """Builds SNGAN's ResNet discriminator (or critic): image -> one logit.

    Args:
        image_size: Input height and width; one of ``IMAGE_SIZES``.
        channels: Input channels: 1, 3, or m times that for m packed images (PacGAN).
        base_width: The blocks are ``D_WIDTH_FACTOR * base_width`` wide.
        spectral_norm: Whether every Conv2D and Dense layer is spectrally normalized.
        attention_size: SAGAN's self-attention after the block that outputs this side;
            0: none.
        conditioning: "projection" (SNGAN's conditional D) or "acgan" with
            ``num_classes`` K: the class head of ``dcgan.gan.conditioning.discriminator``
            on the summed features; "none": none.
        num_classes: K, with a conditioning.
        weight_init: "default" (Glorot uniform) or "orthogonal" kernels.
        dtype_policy: Keras dtype policy of every layer; the logit runs in float32.

    Returns:
        A ``keras.Model`` named "discriminator" mapping ``[B, image_size, image_size,
        channels]`` to float32 logits ``[B, 1]``; with a conditioning, the inputs and
        outputs that conditioning gives.

    Raises:
        ValueError: If any argument is outside its allowed values.
    """
    _check_size(image_size)
    blocks.check_positive_int("channels", channels)
    blocks.check_positive_int("base_width", base_width)
    blocks.check_bool("spectral_norm", spectral_norm)
    blocks.check_dtype_policy(dtype_policy)
    conv_class, _, dense_class = blocks.layer_classes(spectral_norm)
    width = D_WIDTH_FACTOR * base_width
    policy = dict(dtype=dtype_policy)

    def conv(size, name):
        return conv_class(
            width,
            size,
            padding="same",
            kernel_initializer=blocks.initializer(weight_init, glorot=True),
            name=name,
            **policy,
        )

    def relu(name):
        return keras.layers.ReLU(name=name, **policy)

    def pool(name):
        return keras.layers.AveragePooling2D(2, name=name, **policy)

    image = keras.Input(shape=(image_size, image_size, channels), name="image")
    # The optimized first block: no activation before its first convolution.
    h = conv(3, "block1_conv_a")(image)
    h = conv(3, "block1_conv_b")(relu("block1_relu_b")(h))
    h = pool("block1_pool")(h)
    s = conv(1, "block1_shortcut")(pool("block1_shortcut_pool")(image))
    x = keras.layers.Add(name="block1_add", **policy)([h, s])
    size, index = image_size // 2, 1

    def attend(x, size):
        if size != attention_size:
            return x
        return attention.self_attention(
            x,
            name="attention",
            spectral_norm=spectral_norm,
            weight_init=weight_init,
            dtype_policy=dtype_policy,
        )

    x = attend(x, size)
    while size > d_final_size(image_size):
        index += 1
        name = f"block{index}"
        h = conv(3, f"{name}_conv_a")(relu(f"{name}_relu_a")(x))
        h = conv(3, f"{name}_conv_b")(relu(f"{name}_relu_b")(h))
        h = pool(f"{name}_pool")(h)
        s = pool(f"{name}_shortcut_pool")(conv(1, f"{name}_shortcut")(x))
        x = keras.layers.Add(name=f"{name}_add", **policy)([h, s])
        size //= 2
        x = attend(x, size)
    for _ in range(2):  # two blocks at the final size, identity shortcuts
        index += 1
        name = f"block{index}"
        h = conv(3, f"{name}_conv_a")(relu(f"{name}_relu_a")(x))
        h = conv(3, f"{name}_conv_b")(relu(f"{name}_relu_b")(h))
        x = keras.layers.Add(name=f"{name}_add", **policy)([h, x])
    x = relu("out_relu")(x)
    # The sum over positions (SNGAN's global sum pooling): the mean times their count.
    x = keras.layers.GlobalAveragePooling2D(name="mean", **policy)(x)
    x = keras.layers.Rescaling(float(size * size), name="sum", **policy)(x)
    logits = dense_class(
        1,
        kernel_initializer=blocks.initializer(weight_init, glorot=True),
        dtype="float32",
        name="logits",
    )(x)
    return conditioning_lib.discriminator(
        image,
        x,
        logits,
        conditioning=conditioning,
        num_classes=num_classes,
        dense=dense_class,
        kernel_initializer=lambda: blocks.initializer(weight_init, glorot=True),
    )
