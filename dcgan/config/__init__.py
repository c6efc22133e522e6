"""The run configuration: one frozen dataclass, its flagfile and JSON forms, resuming.

Field names are the flag names of ``dcgan.train``; that entry point is the only place
that reads flags, and it defines them from the fields. Everything below it takes a
``Config``.

Each field carries what belongs to it in its metadata (see ``_field``): ``help``, the
flag's help text; ``choices``, the allowed values (or None); ``when``, an ``Applies``
saying when the field has an effect (None: always; the loss options say it in
``dcgan.objective.FAMILIES`` instead); ``role``, what a resumed run may do with it.

Every ``Config`` is validated when built, by ``dcgan.config_checks``. Neither module
loads TensorFlow: flag errors must be instant.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from dcgan.gan import objective

# Copies of lists owned by modules that load TensorFlow (dcgan.data, dcgan.models);
# tests/test_config.py checks that each equals its owner's.
DATASETS = (
    "glyphs",
    "folder",
    "gaussian1d",
    "ring2d",
    "grid2d",
    "mnist",
    "fashion_mnist",
    "cifar10",
    "npy",
    "npy_vectors",
    "tfrecord",
)
IMAGE_DATASETS = ("glyphs", "folder", "mnist", "fashion_mnist", "cifar10", "npy", "tfrecord")
CROPS = ("none", "center")
RESIZE_METHODS = ("bilinear", "bicubic", "area", "nearest", "lanczos3")
BAD_IMAGE_ACTIONS = ("skip", "fail")
IMAGE_SIZES = (28, 32, 64, 128)
NORMALIZATIONS = ("batch", "layer", "none")
ACTIVATIONS = ("relu", "leaky_relu", "elu", "selu", "tanh")
UPSAMPLINGS = ("transpose", "nearest")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
# Owned here (dcgan.builder reads OPTIMIZERS). The leaves dcgan.noise and dcgan.trainer keep
# their own NOISE_DISTRIBUTIONS, TRAIN_ORDERS and UPDATES; tests/test_config.py checks they
# agree.
CHANNELS = (1, 3)
OPTIMIZERS = ("adam", "rmsprop")
TRAIN_ORDERS = ("d_first", "g_first")
UPDATES = ("alternating", "reuse_fakes", "simultaneous")
NONFINITE_ACTIONS = ("stop", "skip")
NOISE_DISTRIBUTIONS = ("normal", "uniform")
# Owned by dcgan.objective, which loads no TensorFlow either.
LOSSES = tuple(objective.FAMILIES)
GENERATOR_LOSSES = objective.GENERATOR_LOSSES
PENALTY_CHOICES = objective.PENALTY_CHOICES
# Copy of dcgan.augment.POLICIES, in the order they are applied.
AUGMENTATIONS = ("color", "translation", "cutout")
# Copy of dcgan.distribute.STRATEGIES.
STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")
# --dataset=tfds:NAME is an image set from TensorFlow Datasets (optional dependency).
TFDS_PREFIX = "tfds:"
# The metrics ``--eval_every`` computes, per dataset (dcgan.evaluation); npy_vectors has
# no reference distribution, so it has none.
TOY_METRICS = {
    "ring2d": ("modes", "high_quality", "reverse_kl"),
    "grid2d": ("modes", "high_quality", "reverse_kl"),
    "gaussian1d": ("w1", "ks"),
}
IMAGE_METRICS = ("fid", "kid", "precision", "recall", "density", "coverage")
# Image metrics of a feature network with classes (a domain classifier, not InceptionV3).
CLASS_METRICS = ("classes_covered", "class_kl")
# Copy of the keys of dcgan.features.SHIPPED_CLASSIFIERS: datasets whose image runs
# have a domain classifier by default.
SHIPPED_CLASSIFIER_DATASETS = ("glyphs",)
# Metrics where more is better; every other metric is a distance (less is better).
HIGHER_IS_BETTER = (
    "modes", "high_quality", "precision", "recall", "density", "coverage", "classes_covered",
)  # fmt: skip
# Old names of renamed fields, old -> new: older runs' config.json holds the old name,
# and ``dcgan.train`` still accepts the old flag (with a warning).
RENAMED_FIELDS = {"noise": "noise_distribution"}
# Old fields whose meaning moved into other fields: old -> (a function from the old
# value to the new fields' values, the replacement as flags spell it). Older runs'
# config.json may hold them, and ``dcgan.train`` still accepts the old flag (with a
# warning).
REPLACED_FIELDS: dict[str, tuple[Callable[[Any], dict[str, Any]], str]] = {
    "r1_weight": (
        lambda gamma: {"penalty": "r1", "penalty_weight": gamma} if gamma else {},
        "--penalty=r1 --penalty_weight=GAMMA",
    ),
}

# A field's role when a workdir is resumed. STATE: it shapes the saved state (the
# checkpoint could not hold another value), so it never changes. RUN: how long and how
# visibly the run goes and how it reacts to failures, not what it learns; it may always
# change. LEARNING: it changes what is learned; only with --allow_flag_changes.
STATE, RUN, LEARNING = "state", "run", "learning"


class ConfigError(ValueError):
    """An invalid flag value or combination; the message is one line naming the flag."""


@dataclasses.dataclass(frozen=True)
class Applies:
    """When a field has an effect.

    Attributes:
        test: whether it has one in a (valid) run.
        needs: what it takes, for the error on a flag that would be ignored.
    """

    test: Callable[[Config], bool]
    needs: str


_IMAGE = Applies(
    lambda c: c.is_image, f"an image dataset ({', '.join(IMAGE_DATASETS)}, {TFDS_PREFIX}NAME)"
)
_VECTOR = Applies(lambda c: not c.is_image, "a vector dataset")
_DATA_DIR = Applies(
    lambda c: c.dataset == "folder" or c.is_tfds, f"--dataset=folder or {TFDS_PREFIX}NAME"
)
_FOLDER = Applies(lambda c: c.dataset == "folder", "--dataset=folder")
_TFRECORD = Applies(lambda c: c.dataset == "tfrecord", "--dataset=tfrecord")
# Sources of encoded image files, decoded (and cropped, and skipped when bad) alike.
_ENCODED = Applies(lambda c: c.dataset in ("folder", "tfrecord"), "--dataset=folder or tfrecord")
_NPY = Applies(lambda c: c.dataset in ("npy", "npy_vectors"), "--dataset=npy or npy_vectors")
_NPY_VECTORS = Applies(lambda c: c.dataset == "npy_vectors", "--dataset=npy_vectors")
_CENTER_CROP = Applies(
    lambda c: _ENCODED.test(c) and c.crop == "center",
    "--dataset=folder or tfrecord, and --crop=center",
)
_RESIZED = Applies(
    lambda c: c.is_image and c.dataset != "glyphs",
    "an image dataset other than glyphs (glyphs are rendered at --image_size)",
)
_G_ADAM = Applies(lambda c: c.g_optimizer == "adam", "--g_optimizer=adam")
_D_ADAM = Applies(lambda c: c.d_optimizer == "adam", "--d_optimizer=adam")
_EVAL = Applies(lambda c: c.eval_every > 0, "--eval_every > 0")
_IMAGE_EVAL = Applies(
    lambda c: c.is_image and c.eval_every > 0, "an image dataset and --eval_every > 0"
)
_BEST = Applies(lambda c: bool(c.best_metric), "--best_metric")
_MIRRORED = Applies(lambda c: c.strategy == "mirrored", "--strategy=mirrored")
_TPU = Applies(lambda c: c.strategy == "tpu", "--strategy=tpu")
_REPLICATED_BATCH_NORM = Applies(
    lambda c: c.strategy != "default" and "batch" in (c.g_norm, c.d_norm),
    "--strategy other than default and batch norm in G or D (--g_norm or --d_norm=batch)",
)
_PENALTY = Applies(lambda c: c.penalty != "none", "--penalty other than none")
_ANY_PENALTY = Applies(
    lambda c: c.penalty != "none" or c.loss == "wgan-gp",
    "a penalty: --penalty other than none, or --loss=wgan-gp",
)


def _field(
    default: Any,
    help: str,
    *,
    choices: tuple | None = None,
    when: Applies | None = None,
    role: str = LEARNING,
) -> Any:
    """A ``Config`` field with its flag's help, its choices, when it applies and its role.

    Args:
        default: the default value; ``dataclasses.MISSING`` for a required field.
        help: the flag's help text.
        choices: the allowed values; None: any value of the type (checked in ``_validate``).
        when: when the field has an effect; None: always.
        role: STATE, RUN or LEARNING (see their comment).
    """
    metadata = {"help": help, "choices": choices, "when": when, "role": role}
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class Config:
    """Everything that defines a training run. Defaults follow Radford et al. (2015)."""

    # The run.
    workdir: str = _field(
        dataclasses.MISSING,
        "Directory of the run: checkpoints, summaries, samples.",
        role=RUN,
    )
    train_steps: int = _field(10_000, "Generator updates to reach.", role=RUN)
    batch_size: int = _field(64, "Examples per batch (per update).")
    seed: int = _field(0, "Seed of the weights, noise and data order.")
    log_every: int = _field(100, "Steps between stdout lines.", role=RUN)
    summary_every: int = _field(100, "Steps between TensorBoard scalars.", role=RUN)
    image_every: int = _field(1000, "Steps between fixed-noise sample grids.", role=RUN)
    checkpoint_every: int = _field(1000, "Steps between checkpoints.", role=RUN)
    keep_checkpoints: int = _field(5, "Checkpoints kept; 0 keeps all.", role=RUN)
    # STATE: the checkpointed fixed noise holds grid_size**2 vectors.
    grid_size: int = _field(8, "Sample grid is grid_size^2 images.", when=_IMAGE, role=STATE)
    deterministic: bool = _field(False, "Deterministic ops: bit-exact reruns on GPU.", role=RUN)
    # STATE: under mixed_float16 each optimizer is wrapped in a loss-scale optimizer, which
    # moves its slots in the checkpoint (under inner_optimizer/) and adds the loss scale.
    precision: str = _field(
        "float32",
        "Keras dtype policy of G and D (variables stay float32): float32 on CPUs; "
        "mixed_float16 on NVIDIA GPUs with tensor cores (dynamic loss scaling per network); "
        "mixed_bfloat16 on TPUs and on CPUs or GPUs with bfloat16 units. Fixed for a run's life.",
        choices=PRECISIONS,
        role=STATE,
    )
    on_nonfinite: str = _field(
        "stop",
        "On a NaN/Inf loss or gradient: stop or skip.",
        choices=NONFINITE_ACTIONS,
        role=RUN,
    )
    allow_flag_changes: tuple[str, ...] = _field(
        (), "Flags a resumed run may change from the saved run (e.g. g_lr,d_lr).", role=RUN
    )
    # Evaluation during training (dcgan.evaluation) and the best checkpoint. Evaluation
    # reads G; it never changes what is learned, so these are RUN fields.
    eval_every: int = _field(
        0,
        "Steps between evaluations (metrics in TensorBoard under eval/); 0: never.",
        role=RUN,
    )
    eval_samples: int = _field(
        10_000, "Generated (and real) examples per evaluation.", when=_EVAL, role=RUN
    )
    best_metric: str = _field(
        "",
        "Keep the checkpoint with the best value of this metric in best/: modes, high_quality, "
        "reverse_kl (ring2d, grid2d), w1, ks (gaussian1d), fid, kid, precision, recall, "
        "density, coverage (images), classes_covered, class_kl (images measured by a "
        "classifier); '': none.",
        when=_EVAL,
        role=RUN,
    )
    patience: int = _field(
        0,
        "Stop after this many evaluations without a better --best_metric; 0: never.",
        when=_BEST,
        role=RUN,
    )
    eval_classifier: str = _field(
        "",
        "Saved Keras classifier (python -m dcgan.classifier) whose activations and classes "
        "evaluation uses; '': the one shipped for the dataset (glyphs), else InceptionV3 "
        "(Keras cache).",
        when=_IMAGE_EVAL,
        role=RUN,
    )
    eval_layer: str = _field(
        "", "Layer of --eval_classifier; '': its penultimate.", when=_IMAGE_EVAL, role=RUN
    )
    # The mode-collapse alarm: an evaluation with one of these below its threshold
    # prints a line and writes TensorBoard text.
    alarm_coverage: float = _field(
        0.05, "Mode-collapse alarm below this coverage; 0: off.", when=_IMAGE_EVAL, role=RUN
    )
    alarm_recall: float = _field(
        0.05, "Mode-collapse alarm below this recall; 0: off.", when=_IMAGE_EVAL, role=RUN
    )
    alarm_classes_covered: float = _field(
        0.9,
        "Mode-collapse alarm below this fraction of the classifier's classes covered; 0: off.",
        when=_IMAGE_EVAL,
        role=RUN,
    )
    # The data.
    dataset: str = _field(
        "glyphs",
        f"Training data: {', '.join(DATASETS)}, or {TFDS_PREFIX}NAME (a prepared TensorFlow "
        "Datasets set); glyphs ships with the package.",
        role=STATE,
    )
    data_dir: str = _field(
        "",
        "Image folder for --dataset=folder; TFDS data directory for tfds:NAME (default TFDS's).",
        when=_DATA_DIR,
    )
    image_size: int = _field(
        32, "Side of the square images, pixels.", choices=IMAGE_SIZES, when=_IMAGE, role=STATE
    )
    channels: int = _field(
        1, "1 for grayscale, 3 for RGB.", choices=CHANNELS, when=_IMAGE, role=STATE
    )
    data_file: str = _field(
        "", ".npy file: N x H x W x C uint8 images or N x D vectors.", when=_NPY
    )
    data_pattern: str = _field(
        "",
        "TFRecord shards for --dataset=tfrecord: a glob, e.g. "
        "gs://bucket/celeba/train-*.tfrecord (tf.train.Example records, image/encoded).",
        when=_TFRECORD,
    )
    crop: str = _field(
        "none",
        "center: crop a centered square before resizing (folder, tfrecord).",
        choices=CROPS,
        when=_ENCODED,
    )
    crop_size: int = _field(0, "Side of the center crop; 0: the largest square.", when=_CENTER_CROP)
    resize_method: str = _field(
        "bilinear",
        "How images of other sizes are resized.",
        choices=RESIZE_METHODS,
        when=_RESIZED,
    )
    random_flip: bool = _field(False, "Mirror each image left-right with p = 1/2.", when=_IMAGE)
    on_bad_image: str = _field(
        "skip",
        "An undecodable file or record: skip (counted) or fail.",
        choices=BAD_IMAGE_ACTIONS,
        when=_ENCODED,
        role=RUN,
    )
    # STATE: the networks' input and output width.
    vector_dim: int = _field(
        0, "Width D of --dataset=npy_vectors; 0: from the file.", when=_NPY_VECTORS, role=STATE
    )
    cache: str = _field(
        "", "Folder: '' streams; memory, or an .npy path, decodes once.", when=_FOLDER
    )
    # The networks.
    latent_dim: int = _field(100, "Size of the noise vector z.", role=STATE)
    g_base_width: int = _field(64, "Filters of G's last block.", when=_IMAGE, role=STATE)
    d_base_width: int = _field(64, "Filters of D's first block.", when=_IMAGE, role=STATE)
    kernel_size: int = _field(4, "Convolution kernel size.", when=_IMAGE, role=STATE)
    g_norm: str = _field(
        "batch", "Normalization in G.", choices=NORMALIZATIONS, when=_IMAGE, role=STATE
    )
    d_norm: str = _field(
        "batch",
        "Normalization in D (not batch for wgan-gp).",
        choices=NORMALIZATIONS,
        when=_IMAGE,
        role=STATE,
    )
    g_hidden_units: tuple[int, ...] = _field(
        (200, 100, 50), "Hidden layers of the MLP G.", when=_VECTOR, role=STATE
    )
    d_hidden_units: tuple[int, ...] = _field(
        (200, 50), "Hidden layers of the MLP D.", when=_VECTOR, role=STATE
    )
    g_activation: str = _field(
        "relu",
        "G's hidden activation (leaky_relu: slope 0.2).",
        choices=ACTIVATIONS,
        role=STATE,
    )
    d_activation: str = _field(
        "leaky_relu",
        "D's hidden activation (leaky_relu: slope 0.2).",
        choices=ACTIVATIONS,
        role=STATE,
    )
    g_upsample: str = _field(
        "transpose",
        "How G doubles its size: stride-2 transposed conv, or nearest upsample + conv.",
        choices=UPSAMPLINGS,
        when=_IMAGE,
        role=STATE,
    )
    g_start_size: int = _field(
        0, "G's first spatial size; 0: 7 for 28 px, else 4.", when=_IMAGE, role=STATE
    )
    d_stride1_block: int = _field(
        0, "D block (1-based) with stride 1; 0: none.", when=_IMAGE, role=STATE
    )
    d_dense_units: int = _field(
        0, "Hidden Dense layer before D's logit; 0: none.", when=_IMAGE, role=STATE
    )
    d_dropout: float = _field(0.0, "Dropout rate after each D block.", when=_IMAGE, role=STATE)
    # The noise z: latent_dim values shaped noise_shape (empty: a flat vector), drawn
    # from N(0, noise_scale**2) or U(-noise_scale, noise_scale).
    noise_distribution: str = _field(
        "normal",
        "Distribution of z: normal or uniform.",
        choices=NOISE_DISTRIBUTIONS,
        role=STATE,
    )
    noise_scale: float = _field(1.0, "Stddev of normal z; half-width of uniform z.", role=STATE)
    noise_shape: tuple[int, ...] = _field(
        (),
        "Shape of z for image G, e.g. 4,4,4 (product latent_dim); empty: a flat vector.",
        when=_IMAGE,
        role=STATE,
    )
    # The objective and the update schedule. The loss options apply when the chosen
    # family takes them (objective.FAMILIES), so they carry no `when` of their own.
    loss: str = _field(
        "dcgan",
        "The loss family: "
        + "; ".join(f"{name}: {family.summary}" for name, family in objective.FAMILIES.items()),
        choices=LOSSES,
    )
    generator_loss: str = _field(
        "non_saturating", "G's loss for --loss=dcgan.", choices=GENERATOR_LOSSES
    )
    label_smoothing: float = _field(0.0, "One-sided: real target is 1 - this.")
    clip_value: float = _field(
        0.01,
        "WGAN clips D's weights to [-c, c]; 0: no clipping (the critic then needs --penalty "
        "or --spectral_norm).",
    )
    gp_weight: float = _field(10.0, "WGAN-GP penalty weight lambda.")
    lsgan_targets: tuple[float, ...] = _field(
        (1.0, 0.0, 1.0),
        "LSGAN's real, fake and generator targets (Mao et al.'s b, a, c; e.g. 1,-1,0).",
    )
    # Penalties of D's inputs' gradient, for any family (objective.PENALTIES).
    penalty: str = _field(
        "none",
        "A penalty added to D's loss: none; "
        + "; ".join(f"{name}: {kind.summary}" for name, kind in objective.PENALTIES.items()),
        choices=PENALTY_CHOICES,
    )
    penalty_weight: float = _field(
        10.0, "lambda of --penalty=gp or lp, gamma of r1 or r2.", when=_PENALTY
    )
    penalty_every: int = _field(
        1,
        "Lazy regularization: compute the penalty on every k-th D update only, with k times "
        "its weight (StyleGAN2).",
        when=_ANY_PENALTY,
    )
    # Stabilizers of D.
    spectral_norm: bool = _field(
        False,
        "Spectral normalization of every D layer (Miyato et al. 2018): one power iteration "
        "per D update.",
        role=STATE,
    )
    # STATE: D's input is pack samples wide.
    pack: int = _field(
        1,
        "PacGAN (Lin et al. 2018): D judges packs of this many samples, concatenated; must "
        "divide --batch_size.",
        role=STATE,
    )
    diff_augment: tuple[str, ...] = _field(
        (),
        "Differentiable augmentation of D's real and fake inputs (Zhao et al. 2020), any of "
        f"{', '.join(AUGMENTATIONS)}; empty: none.",
        when=_IMAGE,
    )
    n_critic: int = _field(1, "D updates per G update.")
    train_order: str = _field(
        "d_first", "Which network updates first in a step.", choices=TRAIN_ORDERS
    )
    updates: str = _field(
        "alternating",
        "How a step's updates share forward passes: alternating (D's on fresh fakes, then "
        "G's on fresh noise through the updated D); reuse_fakes (one G forward: D's update "
        "on it, then G's through it and the updated D); simultaneous (one forward of each "
        "net, both gradients from it: G's sees D before its update). The last two need "
        "--n_critic=1.",
        choices=UPDATES,
    )
    # The optimizers.
    g_optimizer: str = _field("adam", "G's optimizer.", choices=OPTIMIZERS, role=STATE)
    d_optimizer: str = _field("adam", "D's optimizer.", choices=OPTIMIZERS, role=STATE)
    g_lr: float = _field(2e-4, "G's learning rate.")
    d_lr: float = _field(2e-4, "D's learning rate.")
    g_beta1: float = _field(0.5, "G's Adam beta1.", when=_G_ADAM)
    d_beta1: float = _field(0.5, "D's Adam beta1.", when=_D_ADAM)
    g_beta2: float = _field(0.999, "G's Adam beta2.", when=_G_ADAM)
    d_beta2: float = _field(0.999, "D's Adam beta2.", when=_D_ADAM)
    lr_decay_steps: int = _field(
        0,
        "Decay both learning rates linearly to 0 over this many steps (>= --train_steps); "
        "0: constant.",
    )
    # STATE: whether the checkpoint holds generator_ema, the EMA of G.
    g_ema_decay: float = _field(
        0.0,
        "Keep an exponential moving average of G's weights with this decay, in [0, 1), and "
        "sample, evaluate and export with it; 0: none.",
        role=STATE,
    )
    # The devices. How the step runs never changes what the checkpoint holds: a run may
    # resume under another strategy (the data order aside; see the README).
    strategy: str = _field(
        "default",
        "Where the step runs: default (one device), mirrored (this machine's GPUs, or "
        "--devices), multi_worker (the machines in TF_CONFIG), tpu (--tpu). --batch_size "
        "is the global batch, split evenly over the replicas.",
        choices=STRATEGIES,
        role=RUN,
    )
    devices: tuple[str, ...] = _field(
        (),
        "Devices to mirror over, e.g. /gpu:0,/gpu:1; empty: every GPU.",
        when=_MIRRORED,
        role=RUN,
    )
    tpu: str = _field("", "The TPU: its name, 'local', or grpc://host:port.", when=_TPU, role=RUN)
    steps_per_loop: int = _field(
        1,
        "Generator steps per call of the compiled step (fewer host round trips for small "
        "nets and TPUs); logs, summaries, images and checkpoints still land on their steps.",
        role=RUN,
    )
    profile_steps: tuple[int, ...] = _field(
        (),
        "START,END: a TensorFlow profiler trace of the steps from START to END, in the "
        "workdir (TensorBoard's Profile tab, with tensorboard-plugin-profile); empty: none.",
        role=RUN,
    )
    jit_compile: bool = _field(
        False,
        "Compile the step with XLA (one device; measure first: on CPUs oneDNN is often faster).",
        role=RUN,
    )
    sync_batch_norm: bool = _field(
        False,
        "Batch norm statistics over the global batch (all replicas), not each replica's.",
        when=_REPLICATED_BATCH_NORM,
    )

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(field.default, tuple) and isinstance(value, list):
                object.__setattr__(self, field.name, tuple(value))  # JSON and absl give lists
        # Imported here, not at the top: config_checks imports this module.
        from dcgan.config import checks

        checks.validate(self)

    @property
    def eval_metrics(self) -> tuple[str, ...]:
        """Names of the metrics an evaluation of this run computes (empty: none exist)."""
        if self.is_image:
            return IMAGE_METRICS + (CLASS_METRICS if self.has_classifier else ())
        return TOY_METRICS.get(self.dataset, ())

    @property
    def has_classifier(self) -> bool:
        """Whether an image run is measured by a domain classifier, which has classes:
        ``--eval_classifier``, or the one shipped for its dataset."""
        return bool(self.eval_classifier) or self.dataset in SHIPPED_CLASSIFIER_DATASETS

    @property
    def is_image(self) -> bool:
        """Whether the dataset holds images (DCGAN nets) rather than vectors (MLPs)."""
        return self.dataset in IMAGE_DATASETS or self.is_tfds

    @property
    def is_tfds(self) -> bool:
        """Whether the dataset is a TensorFlow Datasets set, ``tfds:NAME``."""
        return self.dataset.startswith(TFDS_PREFIX)

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """Shape of one noise example: ``noise_shape``, or ``(latent_dim,)`` if empty."""
        return self.noise_shape or (self.latent_dim,)

    @property
    def g_start(self) -> int:
        """G's first spatial size: ``g_start_size``, or 7 for 28 px and 4 otherwise."""
        return self.g_start_size or (7 if self.image_size == 28 else 4)

    def applicable_fields(self) -> tuple[str, ...]:
        """Names of the fields that have an effect in this run, in declaration order."""
        return tuple(f.name for f in dataclasses.fields(self) if _applies(self, f.name))

    def to_flagfile(self) -> str:
        """Returns the run as flagfile text that ``dcgan.train --flagfile`` accepts.

        Only applicable fields are written, so the file passes ``check_explicit_flags``.
        """
        names = self.applicable_fields()
        return "".join(f"--{name}={format_value(getattr(self, name))}\n" for name in names)

    def to_json(self) -> str:
        """Serializes every field to JSON."""
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Config:
        """Parses ``to_json`` output, also of runs saved before a field was renamed.

        Raises:
            ConfigError: for unknown fields or invalid values.
        """
        values = json.loads(text)
        for old, new in RENAMED_FIELDS.items():
            if old in values:
                if new in values:
                    raise ConfigError(
                        f"config fields {old!r} and {new!r} both given; {old!r} is the old "
                        f"name of {new!r}: keep only {new!r}"
                    )
                values[new] = values.pop(old)  # a run saved before the rename
        for old, (translate, _) in REPLACED_FIELDS.items():
            if old in values:
                values.update(translate(values.pop(old)))
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown config fields {unknown}; known: {sorted(known)}")
        return cls(**values)


# When each field applies: its own ``when``, or for an option of the loss families, when
# the run's family takes it; None: always.
_LOSS_OPTIONS = {name for family in objective.FAMILIES.values() for name in family.options}


def _loss_option(name: str) -> Applies:
    takers = [loss for loss, family in objective.FAMILIES.items() if name in family.options]
    return Applies(
        lambda c: name in objective.FAMILIES[c.loss].options, f"--loss={' or '.join(takers)}"
    )


_APPLIES = {
    f.name: _loss_option(f.name) if f.name in _LOSS_OPTIONS else f.metadata["when"]
    for f in dataclasses.fields(Config)
}
STATE_FIELDS = tuple(f.name for f in dataclasses.fields(Config) if f.metadata["role"] == STATE)
RUN_FIELDS = tuple(f.name for f in dataclasses.fields(Config) if f.metadata["role"] == RUN)


def _applies(config: Config, name: str) -> bool:
    condition = _APPLIES.get(name)
    return condition is None or condition.test(config)


def check_explicit_flags(config: Config, explicit: set[str] | frozenset[str]) -> None:
    """Refuses flags that were set explicitly but have no effect in this run.

    A silently ignored flag (``--clip_value`` on a WGAN-GP run, say) is a mistake the
    user would not otherwise see.

    Args:
        config: the run.
        explicit: names of the flags given on the command line or in a flagfile.

    Raises:
        ConfigError: naming the first such flag and what it needs.
    """
    for name in sorted(explicit):
        if not _applies(config, name):
            raise ConfigError(no_effect_message(config, name))


def no_effect_message(config: Config, name: str) -> str:
    """The error for field ``name``, set although it has no effect in ``config``."""
    return (
        f"--{name} has no effect here: it needs {_APPLIES[name].needs} "
        f"(this run has --dataset={config.dataset} --loss={config.loss} "
        f"--g_optimizer={config.g_optimizer} --d_optimizer={config.d_optimizer})"
    )


def check_resumable(saved: Config, config: Config) -> None:
    """Refuses to resume a workdir whose saved run differs in what the model learns.

    ``RUN_FIELDS`` may always change; ``STATE_FIELDS`` never (the checkpoint could not
    hold them); any other field only when ``config.allow_flag_changes`` names it.

    Raises:
        ConfigError: naming the field, the saved value, the new one and the way out.
    """
    for field in dataclasses.fields(config):
        name = field.name
        old, new = getattr(saved, name), getattr(config, name)
        if name in RUN_FIELDS or old == new:
            continue
        prefix = (
            f"--{name}={format_value(new)} differs from {format_value(old)} in the run saved "
            f"in {config.workdir}"
        )
        if name in STATE_FIELDS:
            raise ConfigError(
                f"{prefix}; it shapes the saved checkpoint, so resume with the same "
                "value or use a new --workdir"
            )
        if name not in config.allow_flag_changes:
            raise ConfigError(
                f"{prefix}; pass --allow_flag_changes={name} to change it, or use a new --workdir"
            )


def format_value(value: Any) -> str:
    """``value`` as a flag spells it: a tuple comma-separated, anything else ``str``."""
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
