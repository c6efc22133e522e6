"""The fields of what is learned from: the data, the networks and the noise z.

``dcgan.config.core.Config`` joins these sections with the others; each field names its
help, its spec (owned by the layer that reads it), when it applies and its role on resume
(``dcgan.config.fields``). Loads no TensorFlow.
"""

from __future__ import annotations

import dataclasses

from dcgan import options
from dcgan.config.fields import (
    ACGAN,
    ACTIVATIONS,
    BOOLEAN,
    CENTER_CROP,
    CONDITIONAL,
    CONDITIONAL_DCGAN,
    COUNT,
    DATA_DIR,
    DCGAN_NETS,
    ENCODED,
    FOLDER,
    IMAGE,
    LEARNING,
    NPY,
    NPY_VECTORS,
    POSITIVE,
    POSITIVE_NUMBER,
    RESIZED,
    RUN,
    STATE,
    TEXT,
    TFDS,
    TFRECORD,
    VECTOR,
    field,
)
from dcgan.data import choices as data
from dcgan.gan import choices as gan


@dataclasses.dataclass(frozen=True)
class DataFields:
    """The data: which source, where it is, how its images are read."""

    dataset: str = field(
        "glyphs",
        f"Training data: {', '.join(data.DATASETS)}, or {data.TFDS_PREFIX}NAME (a prepared "
        "TensorFlow Datasets set); glyphs ships with the package.",
        spec=data.DATASET,
        role=STATE,
    )
    data_dir: str = field(
        "",
        "Image folder for --dataset=folder; TFDS data directory for tfds:NAME (default TFDS's).",
        spec=TEXT,
        when=DATA_DIR,
    )
    tfds_download: bool = field(
        False,
        "tfds:NAME: let TFDS download and prepare a set that is not in --data_dir yet "
        "(needs network and disk); off, a missing set is refused in one line.",
        spec=BOOLEAN,
        when=TFDS,
    )
    image_size: int = field(
        32,
        "Side of the square images, pixels.",
        spec=options.Choice(gan.IMAGE_SIZES),
        when=IMAGE,
        role=STATE,
    )
    channels: int = field(
        1, "1 for grayscale, 3 for RGB.", spec=options.Choice(data.CHANNELS), when=IMAGE, role=STATE
    )
    data_file: str = field(
        "", ".npy file: N x H x W x C uint8 images or N x D vectors.", spec=TEXT, when=NPY
    )
    data_pattern: str = field(
        "",
        "TFRecord shards for --dataset=tfrecord: a glob, e.g. "
        "gs://bucket/celeba/train-*.tfrecord (tf.train.Example records, image/encoded).",
        spec=TEXT,
        when=TFRECORD,
    )
    crop: str = field(
        "none",
        "center: crop a centered square before resizing (folder, tfrecord).",
        spec=options.Choice(data.CROPS),
        when=ENCODED,
    )
    crop_size: int = field(
        0, "Side of the center crop; 0: the largest square.", spec=COUNT, when=CENTER_CROP
    )
    resize_method: str = field(
        "bilinear",
        "How images of other sizes are resized.",
        spec=options.Choice(data.RESIZE_METHODS),
        when=RESIZED,
    )
    random_flip: bool = field(
        False, "Mirror each image left-right with p = 1/2.", spec=BOOLEAN, when=IMAGE
    )
    on_bad_image: str = field(
        "skip",
        "An undecodable file or record: skip (counted) or fail.",
        spec=options.Choice(data.BAD_IMAGE_ACTIONS),
        when=ENCODED,
        role=RUN,
    )
    # STATE: the networks' input and output width.
    vector_dim: int = field(
        0,
        "Width D of --dataset=npy_vectors; 0: from the file.",
        spec=COUNT,
        when=NPY_VECTORS,
        role=STATE,
    )
    cache: str = field(
        "", "Folder: '' streams; memory, or an .npy path, decodes once.", spec=TEXT, when=FOLDER
    )


@dataclasses.dataclass(frozen=True)
class NetworkFields:
    """The networks: widths, normalizations, activations and their shapes."""

    latent_dim: int = field(100, "Size of the noise vector z.", spec=POSITIVE, role=STATE)
    g_base_width: int = field(
        64,
        "Filters of G's last block (resnet: 4x in every block).",
        spec=POSITIVE,
        when=IMAGE,
        role=STATE,
    )
    d_base_width: int = field(
        64,
        "Filters of D's first block (resnet: 2x in every block).",
        spec=POSITIVE,
        when=IMAGE,
        role=STATE,
    )
    architecture: str = field(
        "dcgan",
        "Image nets: dcgan (Radford et al. 2015) or resnet (SNGAN's, Miyato et al. 2018).",
        spec=options.Choice(gan.ARCHITECTURES),
        when=IMAGE,
        role=STATE,
    )
    attention_size: int = field(
        0,
        "Side of the feature maps where G and D attend to themselves (SAGAN); 0: none.",
        spec=COUNT,
        when=IMAGE,
        role=STATE,
    )
    conditioning: str = field(
        "none",
        "Class-conditional training on a labeled source: G draws the class asked for and D "
        "judges (image, class) with a projection (Miyato & Koyama 2018) or an auxiliary "
        "classifier (acgan, Odena et al. 2017); none: unconditional.",
        spec=options.Choice(gan.CONDITIONINGS),
        when=IMAGE,
        role=STATE,
    )
    num_classes: int = field(
        0,
        "Classes of a conditional run; 0: as many as the source holds (saved with the run, "
        "which keeps the class names in classes.json).",
        spec=COUNT,
        when=CONDITIONAL,
        role=STATE,
    )
    class_weight: float = field(
        1.0,
        "Weight of the class cross-entropy that --conditioning=acgan adds to D's and G's losses.",
        spec=POSITIVE_NUMBER,
        when=ACGAN,
        role=LEARNING,
    )
    weight_init: str = field(
        "default",
        "Kernels of the image nets: default (dcgan N(0, 0.02), resnet Glorot) or orthogonal.",
        spec=options.Choice(gan.WEIGHT_INITS),
        when=IMAGE,
        role=STATE,
    )
    kernel_size: int = field(
        4, "Convolution kernel size.", spec=POSITIVE, when=DCGAN_NETS, role=STATE
    )
    g_norm: str = field(
        "batch",
        "Normalization in G.",
        spec=options.Choice(gan.NORMALIZATIONS),
        when=IMAGE,
        role=STATE,
    )
    d_norm: str = field(
        "batch",
        "Normalization in D (not batch for wgan-gp).",
        spec=options.Choice(gan.NORMALIZATIONS),
        when=DCGAN_NETS,
        role=STATE,
    )
    g_hidden_units: tuple[int, ...] = field(
        (200, 100, 50),
        "Hidden layers of the MLP G.",
        spec=options.Integers(1),
        when=VECTOR,
        role=STATE,
    )
    d_hidden_units: tuple[int, ...] = field(
        (200, 50), "Hidden layers of the MLP D.", spec=options.Integers(1), when=VECTOR, role=STATE
    )
    g_activation: str = field(
        "relu",
        "G's hidden activation (leaky_relu: slope 0.2).",
        spec=options.Choice(gan.ACTIVATIONS),
        when=ACTIVATIONS,
        role=STATE,
    )
    d_activation: str = field(
        "leaky_relu",
        "D's hidden activation (leaky_relu: slope 0.2).",
        spec=options.Choice(gan.ACTIVATIONS),
        when=ACTIVATIONS,
        role=STATE,
    )
    g_upsample: str = field(
        "transpose",
        "How G doubles its size: stride-2 transposed conv, or nearest upsample + conv.",
        spec=options.Choice(gan.UPSAMPLINGS),
        when=DCGAN_NETS,
        role=STATE,
    )
    g_class_norm: bool = field(
        False,
        "The DCGAN G also scales and shifts each normalized layer by its class's learned "
        "gamma and beta (conditional batch norm, as the ResNet G always does), besides "
        "joining the class to z.",
        spec=BOOLEAN,
        when=CONDITIONAL_DCGAN,
        role=STATE,
    )
    g_start_size: int = field(
        0, "G's first spatial size; 0: 7 for 28 px, else 4.", spec=COUNT, when=IMAGE, role=STATE
    )
    d_stride1_block: int = field(
        0, "D block (1-based) with stride 1; 0: none.", spec=COUNT, when=DCGAN_NETS, role=STATE
    )
    d_dense_units: int = field(
        0, "Hidden Dense layer before D's logit; 0: none.", spec=COUNT, when=DCGAN_NETS, role=STATE
    )
    d_dropout: float = field(
        0.0,
        "Dropout rate after each D block.",
        spec=options.Number(0, 1, open_high=True),
        when=DCGAN_NETS,
        role=STATE,
    )


@dataclasses.dataclass(frozen=True)
class NoiseFields:
    """The noise z."""

    # The noise z: latent_dim values shaped noise_shape (empty: a flat vector), drawn
    # from N(0, noise_scale**2) or U(-noise_scale, noise_scale).
    noise_distribution: str = field(
        "normal",
        "Distribution of z: normal or uniform.",
        spec=options.Choice(gan.NOISE_DISTRIBUTIONS),
        role=STATE,
    )
    noise_scale: float = field(
        1.0, "Stddev of normal z; half-width of uniform z.", spec=POSITIVE_NUMBER, role=STATE
    )
    noise_shape: tuple[int, ...] = field(
        (),
        "Shape of z for image G, e.g. 4,4,4 (product latent_dim); empty: a flat vector.",
        spec=options.Integers(1, allow_empty=True),
        when=DCGAN_NETS,
        role=STATE,
    )
