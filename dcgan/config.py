"""The run configuration: one frozen dataclass, its validation, and its flagfile form.

Field names are the flag names of ``dcgan.train``; that entry point is the only place
that reads flags. Everything below it takes a ``Config``.
"""

from __future__ import annotations

import dataclasses
import json

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
)
IMAGE_DATASETS = ("glyphs", "folder", "mnist", "fashion_mnist", "cifar10", "npy")
# --dataset=tfds:NAME is an image set from TensorFlow Datasets (optional dependency).
TFDS_PREFIX = "tfds:"
IMAGE_SIZES = (28, 32, 64, 128)
CHANNELS = (1, 3)
NORMALIZATIONS = ("batch", "layer", "none")
LOSSES = ("dcgan", "wgan", "wgan-gp")
GENERATOR_LOSSES = ("non_saturating", "minimax")
OPTIMIZERS = ("adam", "rmsprop")
TRAIN_ORDERS = ("d_first", "g_first")
NONFINITE_ACTIONS = ("stop", "skip")
ACTIVATIONS = ("relu", "leaky_relu", "elu", "selu", "tanh")
UPSAMPLINGS = ("transpose", "nearest")
NOISES = ("normal", "uniform")
CROPS = ("none", "center")
RESIZE_METHODS = ("bilinear", "bicubic", "area", "nearest", "lanczos3")
BAD_IMAGE_ACTIONS = ("skip", "fail")
# The metrics ``--eval_every`` computes, per dataset (dcgan.evaluation); npy_vectors has
# no reference distribution, so it has none.
TOY_METRICS = {
    "ring2d": ("modes", "high_quality", "reverse_kl"),
    "grid2d": ("modes", "high_quality", "reverse_kl"),
    "gaussian1d": ("w1", "ks"),
}
IMAGE_METRICS = ("fid", "kid")
# Metrics where more is better; every other metric is a distance (less is better).
HIGHER_IS_BETTER = ("modes", "high_quality")


class ConfigError(ValueError):
    """An invalid flag value or combination; the message is one line naming the flag."""


@dataclasses.dataclass(frozen=True)
class Config:
    """Everything that defines a training run. Defaults follow Radford et al. (2015)."""

    workdir: str
    # The run.
    train_steps: int = 10_000
    batch_size: int = 64
    seed: int = 0
    log_every: int = 100
    summary_every: int = 100
    image_every: int = 1000
    checkpoint_every: int = 1000
    keep_checkpoints: int = 5
    grid_size: int = 8
    deterministic: bool = False
    on_nonfinite: str = "stop"
    allow_flag_changes: tuple[str, ...] = ()
    # Evaluation during training (dcgan.evaluation) and the best checkpoint.
    eval_every: int = 0  # 0: never
    eval_samples: int = 10_000
    best_metric: str = ""  # "": keep no best checkpoint
    patience: int = 0  # evaluations without a better best_metric before stopping; 0: never
    eval_classifier: str = ""  # "": InceptionV3 from the Keras cache
    eval_layer: str = ""  # "": the classifier's penultimate layer
    # The data.
    dataset: str = "glyphs"
    data_dir: str = ""
    image_size: int = 32
    channels: int = 1
    data_file: str = ""
    crop: str = "none"
    crop_size: int = 0
    resize_method: str = "bilinear"
    random_flip: bool = False
    on_bad_image: str = "skip"
    vector_dim: int = 0
    cache: str = ""
    # The networks.
    latent_dim: int = 100
    g_base_width: int = 64
    d_base_width: int = 64
    kernel_size: int = 4
    g_norm: str = "batch"
    d_norm: str = "batch"
    g_hidden_units: tuple[int, ...] = (200, 100, 50)
    d_hidden_units: tuple[int, ...] = (200, 50)
    g_activation: str = "relu"
    d_activation: str = "leaky_relu"
    g_upsample: str = "transpose"
    g_start_size: int = 0  # 0: 7 for 28 px, else 4
    d_stride1_block: int = 0  # 0: every D block has stride 2
    d_dense_units: int = 0  # 0: no hidden Dense layer before D's logit
    d_dropout: float = 0.0
    # The noise z: latent_dim values shaped noise_shape (empty: a flat vector), drawn
    # from N(0, noise_scale**2) or U(-noise_scale, noise_scale).
    noise: str = "normal"
    noise_scale: float = 1.0
    noise_shape: tuple[int, ...] = ()
    # The objective and the update schedule.
    loss: str = "dcgan"
    generator_loss: str = "non_saturating"
    label_smoothing: float = 0.0
    clip_value: float = 0.01
    gp_weight: float = 10.0
    r1_weight: float = 0.0  # gamma of the R1 penalty on D's gradient at real data (dcgan)
    n_critic: int = 1
    train_order: str = "d_first"
    # The optimizers.
    g_optimizer: str = "adam"
    d_optimizer: str = "adam"
    g_lr: float = 2e-4
    d_lr: float = 2e-4
    g_beta1: float = 0.5
    d_beta1: float = 0.5
    g_beta2: float = 0.999
    d_beta2: float = 0.999
    # Both learning rates fall linearly to 0 over this many generator steps; 0: constant.
    lr_decay_steps: int = 0
    # Decay of an exponential moving average of G's weights, the generator that sampling,
    # evaluation and export use; 0: none (they use G itself).
    g_ema_decay: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "allow_flag_changes", tuple(self.allow_flag_changes))
        for name in ("g_hidden_units", "d_hidden_units"):
            units = getattr(self, name)
            if not isinstance(units, (list, tuple)) or not all(_is_int(u) for u in units):
                _fail(name, units, "a non-empty comma-separated list of positive integers")
            object.__setattr__(self, name, tuple(units))  # JSON gives lists
        shape = self.noise_shape
        if not isinstance(shape, (list, tuple)) or not all(_is_int(s) for s in shape):
            _fail("noise_shape", shape, "a comma-separated list of positive integers, or empty")
        object.__setattr__(self, "noise_shape", tuple(shape))
        _validate(self)

    def learning_rates(self, step: int) -> dict[str, float]:
        """``{"g_lr": …, "d_lr": …}`` at ``step``, after ``lr_decay_steps``' linear decay."""
        factor = max(0.0, 1.0 - step / self.lr_decay_steps) if self.lr_decay_steps else 1.0
        return {"g_lr": self.g_lr * factor, "d_lr": self.d_lr * factor}

    @property
    def eval_metrics(self) -> tuple[str, ...]:
        """Names of the metrics an evaluation of this run computes (empty: none exist)."""
        if self.is_image:
            return IMAGE_METRICS
        return TOY_METRICS.get(self.dataset, ())

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
        lines = []
        for name in self.applicable_fields():
            value = getattr(self, name)
            if isinstance(value, tuple):
                value = ",".join(str(v) for v in value)
            lines.append(f"--{name}={value}")
        return "\n".join(lines) + "\n"

    def to_json(self) -> str:
        """Serializes every field to JSON."""
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Config:
        """Parses ``to_json`` output.

        Raises:
            ConfigError: for unknown fields or invalid values.
        """
        values = json.loads(text)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown config fields {unknown}; known: {sorted(known)}")
        return cls(**values)


# Fields that only mean something under a condition: (condition, what it requires).
_CONDITIONS = {
    "image": (
        lambda c: c.is_image,
        f"an image dataset ({', '.join(IMAGE_DATASETS)}, {TFDS_PREFIX}NAME)",
    ),
    "data_dir": (
        lambda c: c.dataset == "folder" or c.is_tfds,
        f"--dataset=folder or {TFDS_PREFIX}NAME",
    ),
    "vector": (lambda c: not c.is_image, "a vector dataset"),
    "folder": (lambda c: c.dataset == "folder", "--dataset=folder"),
    "npy": (lambda c: c.dataset in ("npy", "npy_vectors"), "--dataset=npy or npy_vectors"),
    "npy_vectors": (lambda c: c.dataset == "npy_vectors", "--dataset=npy_vectors"),
    "center_crop": (
        lambda c: c.dataset == "folder" and c.crop == "center",
        "--dataset=folder --crop=center",
    ),
    "resized": (
        lambda c: c.is_image and c.dataset != "glyphs",
        "an image dataset other than glyphs (glyphs are rendered at --image_size)",
    ),
    "dcgan": (lambda c: c.loss == "dcgan", "--loss=dcgan"),
    "wgan": (lambda c: c.loss == "wgan", "--loss=wgan"),
    "wgan-gp": (lambda c: c.loss == "wgan-gp", "--loss=wgan-gp"),
    "g_adam": (lambda c: c.g_optimizer == "adam", "--g_optimizer=adam"),
    "d_adam": (lambda c: c.d_optimizer == "adam", "--d_optimizer=adam"),
    "eval": (lambda c: c.eval_every > 0, "--eval_every > 0"),
    "image_eval": (
        lambda c: c.is_image and c.eval_every > 0,
        "an image dataset and --eval_every > 0",
    ),
    "best": (lambda c: bool(c.best_metric), "--best_metric"),
}
_FIELD_CONDITIONS = {
    "data_dir": "data_dir",
    "image_size": "image",
    "channels": "image",
    "grid_size": "image",
    "g_base_width": "image",
    "d_base_width": "image",
    "kernel_size": "image",
    "g_norm": "image",
    "d_norm": "image",
    "g_hidden_units": "vector",
    "d_hidden_units": "vector",
    "g_upsample": "image",
    "g_start_size": "image",
    "d_stride1_block": "image",
    "d_dense_units": "image",
    "d_dropout": "image",
    "noise_shape": "image",
    "generator_loss": "dcgan",
    "label_smoothing": "dcgan",
    "clip_value": "wgan",
    "gp_weight": "wgan-gp",
    "r1_weight": "dcgan",
    "g_beta1": "g_adam",
    "g_beta2": "g_adam",
    "d_beta1": "d_adam",
    "d_beta2": "d_adam",
    "data_file": "npy",
    "crop": "folder",
    "crop_size": "center_crop",
    "resize_method": "resized",
    "random_flip": "image",
    "on_bad_image": "folder",
    "vector_dim": "npy_vectors",
    "cache": "folder",
    "eval_samples": "eval",
    "best_metric": "eval",
    "patience": "best",
    "eval_classifier": "image_eval",
    "eval_layer": "image_eval",
}

# Fields that decide the shape or meaning of the saved state: a workdir trained with one
# value cannot be resumed with another.
STATE_FIELDS = (
    "dataset",
    "image_size",
    "channels",
    "latent_dim",
    "grid_size",  # the checkpointed fixed noise holds grid_size**2 vectors
    "g_base_width",
    "d_base_width",
    "kernel_size",
    "g_norm",
    "d_norm",
    "g_hidden_units",
    "d_hidden_units",
    "g_optimizer",
    "d_optimizer",
    "g_activation",
    "d_activation",
    "g_upsample",
    "g_start_size",
    "d_stride1_block",
    "d_dense_units",
    "d_dropout",
    "noise",
    "noise_scale",
    "noise_shape",
    "vector_dim",  # the networks' input and output width
    "g_ema_decay",  # whether the checkpoint holds an averaged generator
)


# Fields a resumed run may change without asking: how long and how visibly it runs,
# how it reacts to failures, not what it learns.
RUN_FIELDS = (
    "workdir",
    "train_steps",
    "log_every",
    "summary_every",
    "image_every",
    "checkpoint_every",
    "keep_checkpoints",
    "deterministic",
    "on_nonfinite",
    "allow_flag_changes",
    "on_bad_image",
    # Evaluation reads G; it never changes what is learned.
    "eval_every",
    "eval_samples",
    "best_metric",
    "patience",
    "eval_classifier",
    "eval_layer",
)


def _applies(config: Config, name: str) -> bool:
    condition = _FIELD_CONDITIONS.get(name)
    return condition is None or _CONDITIONS[condition][0](config)


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
        condition = _FIELD_CONDITIONS.get(name)
        if condition is not None and not _CONDITIONS[condition][0](config):
            raise ConfigError(
                f"--{name} has no effect here: it needs {_CONDITIONS[condition][1]} "
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
            f"--{name}={_show(new)} differs from {_show(old)} in the run saved in {config.workdir}"
        )
        if name in STATE_FIELDS:
            raise ConfigError(
                f"{prefix}; it shapes the saved networks, so resume with the same "
                "value or use a new --workdir"
            )
        if name not in config.allow_flag_changes:
            raise ConfigError(
                f"{prefix}; pass --allow_flag_changes={name} to change it, or use a new --workdir"
            )


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _show(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _fail(name: str, value, allowed: str) -> None:
    raise ConfigError(f"--{name}={_show(value)} is invalid; allowed: {allowed}")


def _validate(config: Config) -> None:
    def one_of(name, choices):
        value = getattr(config, name)
        # Type first: True == 1 and 32.0 == 32 would pass a bare `in`.
        if type(value) is not type(choices[0]) or value not in choices:
            _fail(name, value, ", ".join(map(str, choices)))

    def at_least(name, minimum):
        value = getattr(config, name)
        if not _is_int(value) or value < minimum:
            _fail(name, value, f"an integer >= {minimum}")

    def in_range(name, low, high, *, high_open=True):
        value = getattr(config, name)
        ok = low <= value < high if high_open else low <= value <= high
        if not ok:
            _fail(name, value, f"a number in [{low}, {high}{')' if high_open else ']'}")

    if not config.workdir:
        _fail("workdir", config.workdir, "a directory path (it is created if missing)")
    for name in (
        "train_steps",
        "batch_size",
        "log_every",
        "summary_every",
        "image_every",
        "checkpoint_every",
        "grid_size",
        "latent_dim",
        "g_base_width",
        "d_base_width",
        "kernel_size",
        "n_critic",
    ):
        at_least(name, 1)
    at_least("keep_checkpoints", 0)
    at_least("lr_decay_steps", 0)
    if 0 < config.lr_decay_steps < config.train_steps:
        _fail(
            "lr_decay_steps",
            config.lr_decay_steps,
            f"0 (constant) or >= --train_steps={config.train_steps}: the learning rates "
            "reach 0 there, and later steps would not learn",
        )
    at_least("seed", 0)
    if not isinstance(config.dataset, str) or not (
        config.dataset in DATASETS or (config.is_tfds and len(config.dataset) > len(TFDS_PREFIX))
    ):
        _fail("dataset", config.dataset, f"{', '.join(DATASETS)}, or {TFDS_PREFIX}NAME")
    one_of("image_size", IMAGE_SIZES)
    one_of("channels", CHANNELS)
    one_of("g_norm", NORMALIZATIONS)
    one_of("d_norm", NORMALIZATIONS)
    one_of("loss", LOSSES)
    one_of("generator_loss", GENERATOR_LOSSES)
    one_of("train_order", TRAIN_ORDERS)
    one_of("on_nonfinite", NONFINITE_ACTIONS)
    one_of("crop", CROPS)
    one_of("resize_method", RESIZE_METHODS)
    one_of("on_bad_image", BAD_IMAGE_ACTIONS)
    at_least("crop_size", 0)
    at_least("vector_dim", 0)
    if not isinstance(config.random_flip, bool):
        _fail("random_flip", config.random_flip, "true or false")
    if not isinstance(config.deterministic, bool):
        _fail("deterministic", config.deterministic, "true or false")
    changeable = [
        f.name
        for f in dataclasses.fields(config)
        if f.name not in RUN_FIELDS and f.name not in STATE_FIELDS
    ]
    for name in config.allow_flag_changes:
        if name not in changeable:
            _fail("allow_flag_changes", name, ", ".join(changeable))
    one_of("g_optimizer", OPTIMIZERS)
    one_of("d_optimizer", OPTIMIZERS)
    one_of("g_activation", ACTIVATIONS)
    one_of("d_activation", ACTIVATIONS)
    one_of("g_upsample", UPSAMPLINGS)
    one_of("noise", NOISES)
    for name in ("g_hidden_units", "d_hidden_units"):
        units = getattr(config, name)
        if not units or min(units) < 1:
            _fail(name, units, "a non-empty comma-separated list of positive integers")
    in_range("label_smoothing", 0.0, 1.0)
    in_range("g_ema_decay", 0.0, 1.0)
    for name in ("g_beta1", "d_beta1", "g_beta2", "d_beta2"):
        in_range(name, 0.0, 1.0)
    for name in ("g_lr", "d_lr", "clip_value", "noise_scale"):
        if not getattr(config, name) > 0:
            _fail(name, getattr(config, name), "a number > 0")
    _validate_architecture(config)
    _validate_evaluation(config)
    if not config.gp_weight >= 0:
        _fail("gp_weight", config.gp_weight, "a number >= 0")
    if not config.r1_weight >= 0:
        _fail("r1_weight", config.r1_weight, "a number >= 0")
    if config.dataset == "folder" and not config.data_dir:
        raise ConfigError("--dataset=folder needs --data_dir, the folder holding the images")
    if config.dataset in ("npy", "npy_vectors") and not config.data_file:
        raise ConfigError(
            f"--dataset={config.dataset} needs --data_file, the .npy file holding the data"
        )
    if config.loss == "wgan-gp" and config.is_image and config.d_norm == "batch":
        # The penalty is per example; batch norm makes each critic output depend on the
        # whole batch, so the per-example input gradient is not what the paper penalizes.
        raise ConfigError(
            "--d_norm=batch cannot be used with --loss=wgan-gp (the gradient penalty is per "
            "example); allowed: --d_norm=layer or --d_norm=none"
        )
    if config.r1_weight and config.loss != "dcgan":
        _fail(
            "r1_weight", config.r1_weight, f"0 with --loss={config.loss} (R1 is for --loss=dcgan)"
        )
    if config.r1_weight and config.is_image and config.d_norm == "batch":
        raise ConfigError(
            f"--d_norm=batch cannot be used with --r1_weight={config.r1_weight} (the R1 "
            "penalty is per example); allowed: --d_norm=layer or --d_norm=none, or "
            "--r1_weight=0"
        )


def _validate_architecture(config: Config) -> None:
    """Checks the image-network options against each other and the image size."""
    for name in ("g_start_size", "d_stride1_block", "d_dense_units"):
        value = getattr(config, name)
        if not _is_int(value) or value < 0:
            _fail(name, value, "an integer >= 0")
    if not 0.0 <= config.d_dropout < 1.0:
        _fail("d_dropout", config.d_dropout, "a number in [0, 1)")
    size = config.image_size
    starts = [size // 2**k for k in range(1, 8) if size % 2**k == 0]
    if config.g_start_size and config.g_start_size not in starts:
        _fail("g_start_size", config.g_start_size, f"0 (auto) or one of {starts} for {size} px")
    # D halves the size down to 4 (7 for 28 px): one block per halving.
    d_blocks = (size // (7 if size == 28 else 4)).bit_length() - 1
    if config.d_stride1_block > d_blocks:
        _fail("d_stride1_block", config.d_stride1_block, f"0 (none) to {d_blocks} for {size} px")
    shape = config.noise_shape
    if shape and not config.is_image:
        _fail("noise_shape", shape, "empty for a vector dataset (its G is an MLP)")
    start = config.g_start
    if shape and (len(shape) != 3 or shape[:2] != (start, start) or min(shape) < 1):
        _fail("noise_shape", shape, f"empty or {start},{start},c (G's first size is {start})")
    if shape and shape[0] * shape[1] * shape[2] != config.latent_dim:
        _fail("noise_shape", shape, f"a shape of latent_dim={config.latent_dim} values")


def _validate_evaluation(config: Config) -> None:
    """Checks --eval_every, --best_metric and --patience against the dataset."""
    for name, minimum in (("eval_every", 0), ("eval_samples", 2), ("patience", 0)):
        value = getattr(config, name)
        if not _is_int(value) or value < minimum:
            _fail(name, value, f"an integer >= {minimum}")
    available = config.eval_metrics
    if config.eval_every and not available:
        _fail(
            "eval_every",
            config.eval_every,
            f"0: --dataset={config.dataset} has no reference distribution to measure against",
        )
    if config.best_metric and config.best_metric not in available:
        _fail("best_metric", config.best_metric, f"'' (none) or one of {', '.join(available)}")
    if config.eval_layer and not config.eval_classifier:
        raise ConfigError(
            f"--eval_layer={config.eval_layer} needs --eval_classifier, the Keras model whose "
            "layer it names (InceptionV3 always uses its pool features)"
        )
