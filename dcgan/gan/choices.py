"""The GAN layer's names and rules, free of TensorFlow: networks, noise, augmentation,
and the values the losses' options take.

``dcgan.config`` declares its fields with these and the library modules (``models``,
``noise``, ``augment``, ``losses``, ``objective``) check their arguments with them, so
each list and each bound is written once. Loads no TensorFlow.
"""

from __future__ import annotations

import math

from dcgan import options

# The image sides the DCGAN networks are built for.
IMAGE_SIZES = (28, 32, 64, 128)
# The image networks: Radford et al.'s conv nets (dcgan.gan.models) or SNGAN's residual
# nets (dcgan.gan.resnet).
ARCHITECTURES = ("dcgan", "resnet")
# Kernel initialization of the image nets: each net's published one (DCGAN N(0, 0.02),
# the ResNets' Glorot uniform) or orthogonal (BigGAN, Brock et al. 2019).
WEIGHT_INITS = ("default", "orthogonal")
# How G and D take a class (dcgan.gan.conditioning): not at all, a projection D, an
# auxiliary classifier D (ACGAN).
CONDITIONINGS = ("none", "projection", "acgan")
NORMALIZATIONS = ("batch", "layer", "none")
# Hidden-layer activations accepted by every net; "leaky_relu" uses slope 0.2.
ACTIVATIONS = ("relu", "leaky_relu", "elu", "selu", "tanh")
# How the generator doubles the spatial size: a stride-2 transposed convolution, or a
# nearest-neighbour upsample followed by a stride-1 convolution (no checkerboard
# artifacts; S1's generator).
UPSAMPLINGS = ("transpose", "nearest")
# Keras dtype policies a model may be built with (``--precision``).
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
NOISE_DISTRIBUTIONS = ("normal", "uniform")
# DiffAugment's transforms, in the order they are applied.
AUGMENTATIONS = ("color", "translation", "cutout")

# The options of the loss families and penalties (``dcgan.gan.objective``).
LABEL_SMOOTHING = options.Number(0.0, 1.0, open_high=True)
CLIP_VALUE = options.Number(0, note="(0: no clipping)")
GP_WEIGHT = options.Number(0)
PENALTY_WEIGHT = options.Number(0, open_low=True)
PENALTY_EVERY = options.Integer(1)


def attention_sizes(
    architecture: str, image_size: int, start_size: int, d_stride1_block: int = 0
) -> tuple[int, ...]:
    """The map sides where G and D can both attend (``--attention_size``): G's hidden
    maps after each doubling (its first map and the image excluded), that are also the
    output of one of D's blocks."""
    g_sizes, size = set(), start_size * 2
    while size < image_size:
        g_sizes.add(size)
        size *= 2
    d_sizes, size = set(), image_size
    if architecture == "resnet":  # halvings down to 8 (7 for 28 px)
        while size > (7 if image_size == 28 else 8):
            size //= 2
            d_sizes.add(size)
    else:  # one block per halving down to 4 (7 for 28 px); a stride-1 block keeps it
        for index in range(1, num_resamplings(image_size) + 1):
            size = size if index == d_stride1_block else size // 2
            d_sizes.add(size)
    return tuple(sorted(g_sizes & d_sizes))


def num_resamplings(image_size: int, start_size: int | None = None) -> int:
    """The doublings of a DCGAN G from ``start_size`` (default ``default_start_size``) to
    ``image_size``: also the halvings, one per block, of a DCGAN D down to it."""
    start_size = start_size or default_start_size(image_size)
    return round(math.log2(image_size / start_size))


def default_start_size(image_size: int) -> int:
    """The generator's first spatial size: 7 for 28 px (7 * 2**2), else 4."""
    return 7 if image_size == 28 else 4


def targets_differ(real_target: float, fake_target: float) -> bool:
    """Whether least squares' real and fake targets differ: D cannot learn to tell apart
    what it is asked to map to one value."""
    return real_target != fake_target


class LsganTargets(options.Spec):
    """LSGAN's real, fake and generator targets (Mao et al.'s b, a, c)."""

    allowed = (
        "three numbers: the real, fake and generator targets, the real different from the fake"
    )

    def accepts(self, value) -> bool:
        return (
            isinstance(value, tuple)
            and len(value) == 3
            and all(options.is_number(t) for t in value)
            and targets_differ(value[0], value[1])
        )


LSGAN_TARGETS = LsganTargets()
