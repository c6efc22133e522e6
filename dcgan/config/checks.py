"""Which values and combinations of ``Config`` fields are allowed: ``validate``.

Every ``Config`` runs these checks when it is built (``Config.__post_init__``), so a
run, a flagfile and a saved config.json are all checked the same way, once. Each
failure is a one-line ``ConfigError`` that quotes the bad value and says what is allowed.

Loads no TensorFlow, like ``dcgan.config``.
"""

from __future__ import annotations

import dataclasses

from dcgan.config import (
    AUGMENTATIONS,
    CLASS_METRICS,
    DATASETS,
    LEARNING,
    TFDS_PREFIX,
    Config,
    ConfigError,
    format_value,
    no_effect_message,
)
from dcgan.gan import objective

_UNITS = "a non-empty comma-separated list of positive integers"
# Density and coverage need each real image's 5 nearest other real images.
MIN_IMAGE_SAMPLES = 6
IMAGE_SAMPLES_ALLOWED = (
    f"an integer >= {MIN_IMAGE_SAMPLES} for images (density and coverage use each real "
    "image's 5 nearest neighbours)"
)


def validate(config: Config) -> None:
    """Checks every field of ``config`` and their combinations.

    Raises:
        ConfigError: for the first invalid value or combination found.
    """
    for name in ("g_hidden_units", "d_hidden_units"):
        units = getattr(config, name)
        if not isinstance(units, tuple) or not all(_is_int(u) for u in units):
            _fail(name, units, _UNITS)
    shape = config.noise_shape
    if not isinstance(shape, tuple) or not all(_is_int(s) for s in shape):
        _fail("noise_shape", shape, "a comma-separated list of positive integers, or empty")
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
        "steps_per_loop",
    ):
        _at_least(config, name, 1)
    _at_least(config, "keep_checkpoints", 0)
    steps = config.profile_steps
    if steps and not (
        len(steps) == 2
        and all(_is_int(s) for s in steps)
        and 0 <= steps[0] < steps[1] <= config.train_steps
    ):
        _fail(
            "profile_steps",
            ",".join(map(str, steps)),
            f"empty, or START,END with 0 <= START < END <= --train_steps={config.train_steps}",
        )
    _at_least(config, "lr_decay_steps", 0)
    if 0 < config.lr_decay_steps < config.train_steps:
        _fail(
            "lr_decay_steps",
            config.lr_decay_steps,
            f"0 (constant) or >= --train_steps={config.train_steps}: the learning rates "
            "reach 0 there, and later steps would not learn",
        )
    _at_least(config, "seed", 0)
    if not isinstance(config.dataset, str) or not (
        config.dataset in DATASETS or (config.is_tfds and len(config.dataset) > len(TFDS_PREFIX))
    ):
        _fail("dataset", config.dataset, f"{', '.join(DATASETS)}, or {TFDS_PREFIX}NAME")
    for field in dataclasses.fields(config):
        if field.metadata["choices"]:
            _one_of(config, field.name, field.metadata["choices"])
    _at_least(config, "crop_size", 0)
    _at_least(config, "vector_dim", 0)
    if not isinstance(config.random_flip, bool):
        _fail("random_flip", config.random_flip, "true or false")
    for name in ("deterministic", "spectral_norm", "sync_batch_norm", "jit_compile"):
        if not isinstance(getattr(config, name), bool):
            _fail(name, getattr(config, name), "true or false")
    if config.jit_compile and config.strategy != "default":
        raise ConfigError(
            f"--jit_compile compiles one device's step, so it cannot be used with "
            f"--strategy={config.strategy}; allowed: --strategy=default (TPUs compile with "
            "XLA anyway)"
        )
    if config.updates == "reuse_fakes" and config.strategy != "default":
        raise ConfigError(
            f"--updates=reuse_fakes runs on one device, so it cannot be used with "
            f"--strategy={config.strategy}; allowed: --strategy=default, or "
            "--updates=simultaneous (one forward of each net) on several devices"
        )
    changeable = [f.name for f in dataclasses.fields(config) if f.metadata["role"] == LEARNING]
    for name in config.allow_flag_changes:
        if name not in changeable:
            _fail("allow_flag_changes", name, ", ".join(changeable))
    for name in ("g_hidden_units", "d_hidden_units"):
        units = getattr(config, name)
        if not units or min(units) < 1:
            _fail(name, units, _UNITS)
    _in_range(config, "label_smoothing", 0.0, 1.0)
    _in_range(config, "g_ema_decay", 0.0, 1.0)
    for name in ("g_beta1", "d_beta1", "g_beta2", "d_beta2"):
        _in_range(config, name, 0.0, 1.0)
    for name in ("g_lr", "d_lr", "noise_scale", "penalty_weight"):
        if not getattr(config, name) > 0:
            _fail(name, getattr(config, name), "a number > 0")
    if not config.clip_value >= 0:
        _fail("clip_value", config.clip_value, "a number >= 0 (0: no clipping)")
    _validate_architecture(config)
    _validate_evaluation(config)
    if not config.gp_weight >= 0:
        _fail("gp_weight", config.gp_weight, "a number >= 0")
    _validate_objective(config)
    if config.dataset == "folder" and not config.data_dir:
        raise ConfigError("--dataset=folder needs --data_dir, the folder holding the images")
    if config.dataset == "tfrecord" and not config.data_pattern:
        raise ConfigError(
            "--dataset=tfrecord needs --data_pattern, a glob of TFRecord shards, e.g. "
            "gs://bucket/celeba/train-*.tfrecord"
        )
    if config.dataset in ("npy", "npy_vectors") and not config.data_file:
        raise ConfigError(
            f"--dataset={config.dataset} needs --data_file, the .npy file holding the data"
        )
    _check_loss_options(config)


def _validate_objective(config: Config) -> None:
    """Checks the loss, its penalty and D's stabilizers against each other."""
    if config.updates != "alternating" and (
        config.n_critic != 1 or config.train_order != "d_first"
    ):
        bad = f"--n_critic={config.n_critic}" if config.n_critic != 1 else "--train_order=g_first"
        raise ConfigError(
            f"--updates={config.updates} shares one fake batch between one D and one G update, "
            f"so it cannot be used with {bad}; allowed: --n_critic=1 --train_order=d_first, "
            "or --updates=alternating"
        )
    _at_least(config, "penalty_every", 1)
    _at_least(config, "pack", 1)
    if config.batch_size % config.pack:
        _fail(
            "pack",
            config.pack,
            f"a divisor of --batch_size={config.batch_size} (D judges batch_size / pack packs)",
        )
    targets = config.lsgan_targets
    if len(targets) != 3 or not all(isinstance(t, (int, float)) for t in targets):
        _fail("lsgan_targets", targets, "three numbers: the real, fake and generator targets")
    if targets[0] == targets[1]:
        _fail("lsgan_targets", targets, "a real target different from the fake target")
    augmentations = config.diff_augment
    if not all(name in AUGMENTATIONS for name in augmentations) or len(set(augmentations)) < len(
        augmentations
    ):
        _fail(
            "diff_augment", augmentations, f"empty or distinct names of {', '.join(AUGMENTATIONS)}"
        )
    clipping = config.loss == "wgan" and config.clip_value > 0
    clip_flags = f"--loss=wgan --clip_value={config.clip_value} (weight clipping)"
    if config.penalty != "none" and config.loss == "wgan-gp":
        raise ConfigError(
            f"--penalty={config.penalty} cannot be used with --loss=wgan-gp, which has its "
            f"gradient penalty already (--gp_weight); for another penalty use --loss=wgan "
            f"--clip_value=0 --penalty={config.penalty}"
        )
    if config.penalty != "none" and clipping:
        raise ConfigError(
            f"--penalty={config.penalty} cannot be used with {clip_flags}: set --clip_value=0 "
            "to constrain the critic with the penalty alone"
        )
    if config.spectral_norm and clipping:
        raise ConfigError(
            f"--spectral_norm cannot be used with {clip_flags}: set --clip_value=0 to "
            "constrain the critic with spectral normalization alone"
        )
    if config.loss == "wgan" and not clipping and config.penalty == "none":
        if not config.spectral_norm:
            raise ConfigError(
                "--loss=wgan --clip_value=0 leaves the critic unconstrained (its scores "
                "diverge): set --clip_value > 0, a --penalty, or --spectral_norm"
            )
    penalty = "--loss=wgan-gp" if config.loss == "wgan-gp" else f"--penalty={config.penalty}"
    if penalty != "--penalty=none" and config.is_image and config.d_norm == "batch":
        # The penalties are per example; batch norm makes each of D's outputs depend on
        # the whole batch, so the per-example input gradient is not what they penalize.
        raise ConfigError(
            f"--d_norm=batch cannot be used with {penalty} (the penalty is per example); "
            "allowed: --d_norm=layer or --d_norm=none"
        )


def _check_loss_options(config: Config) -> None:
    """Refuses an option of another loss family set away from its default.

    The builder hands a family only the options it takes (``objective.FAMILIES``), so any
    other would be ignored without a word. Flags get the same refusal, earlier, from
    ``check_explicit_flags``; this one covers a ``Config`` built in code.
    """
    takes = objective.FAMILIES[config.loss].options
    options = {name for family in objective.FAMILIES.values() for name in family.options}
    for field in dataclasses.fields(config):
        name = field.name
        if name in options and name not in takes and getattr(config, name) != field.default:
            raise ConfigError(no_effect_message(config, name))


def _validate_architecture(config: Config) -> None:
    """Checks the image-network options against each other and the image size."""
    for name in ("g_start_size", "d_stride1_block", "d_dense_units"):
        _at_least(config, name, 0)
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
        _at_least(config, name, minimum)
    if config.is_image and config.eval_every and config.eval_samples < MIN_IMAGE_SAMPLES:
        _fail("eval_samples", config.eval_samples, IMAGE_SAMPLES_ALLOWED)
    available = config.eval_metrics
    if config.eval_every and not available:
        _fail(
            "eval_every",
            config.eval_every,
            f"0: --dataset={config.dataset} has no reference distribution to measure against",
        )
    if config.best_metric in CLASS_METRICS and config.is_image and not config.has_classifier:
        raise ConfigError(
            f"--best_metric={config.best_metric} needs a feature network with classes: pass "
            "--eval_classifier=PATH (train one with python -m dcgan.classifier); InceptionV3 "
            "has none"
        )
    if config.best_metric and config.best_metric not in available:
        _fail("best_metric", config.best_metric, f"'' (none) or one of {', '.join(available)}")
    for name in ("alarm_coverage", "alarm_recall", "alarm_classes_covered"):
        value = getattr(config, name)
        if not 0 <= value <= 1:
            _fail(name, value, "a number in [0, 1] (0: off)")
    if config.eval_layer and not config.eval_classifier:
        raise ConfigError(
            f"--eval_layer={config.eval_layer} needs --eval_classifier, the Keras model whose "
            "layer it names (InceptionV3 always uses its pool features)"
        )


def _one_of(config: Config, name: str, choices: tuple) -> None:
    value = getattr(config, name)
    # Type first: True == 1 and 32.0 == 32 would pass a bare `in`.
    if type(value) is not type(choices[0]) or value not in choices:
        _fail(name, value, ", ".join(map(str, choices)))


def _at_least(config: Config, name: str, minimum: int) -> None:
    value = getattr(config, name)
    if not _is_int(value) or value < minimum:
        _fail(name, value, f"an integer >= {minimum}")


def _in_range(config: Config, name: str, low: float, high: float) -> None:
    value = getattr(config, name)
    if not low <= value < high:
        _fail(name, value, f"a number in [{low}, {high})")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _fail(name: str, value, allowed: str) -> None:
    raise ConfigError(f"--{name}={format_value(value)} is invalid; allowed: {allowed}")
