"""Which values and combinations of ``Config`` fields are allowed: ``validate``.

Every ``Config`` runs these checks when it is built, so a run, a flagfile and a saved
config.json are all checked the same way, once. Each field is checked against its spec
(``dcgan.config.fields``); the rules below are the ones between fields. A rule a layer
owns is that layer's check (``dcgan.step.choices``, ``dcgan.gan.objective``), with its
options spelled as flags. Each failure is a one-line ``ConfigError`` that quotes the bad
value and says what is allowed. Loads no TensorFlow.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from dcgan import options
from dcgan.config.fields import LEARNING, ConfigError, no_effect_message
from dcgan.evaluation import choices as evaluation
from dcgan.gan import choices as gan
from dcgan.gan import objective
from dcgan.step import choices as step


def validate(config: Any) -> None:
    """Checks every field of ``config`` and their combinations.

    Raises:
        ConfigError: for the first invalid value or combination found.
    """
    try:
        for field in dataclasses.fields(config):
            field.metadata["spec"].check(field.name, getattr(config, field.name))
        _check_run(config)
        _check_architecture(config)
        _check_evaluation(config)
        _check_objective(config)
        _check_conditioning(config)
    except options.OptionError as e:
        raise ConfigError.from_option(e) from None
    _check_data(config)
    _check_loss_options(config)


def _check_run(config: Any) -> None:
    """Checks the run's length, profile, devices and the flags a resume may change."""
    steps = config.profile_steps
    if steps and not (len(steps) == 2 and 0 <= steps[0] < steps[1] <= config.train_steps):
        raise options.invalid(
            "profile_steps",
            steps,
            "empty, or START,END with 0 <= START < END <= {train_steps}",
            train_steps=config.train_steps,
        )
    if 0 < config.lr_decay_steps < config.train_steps:
        raise options.invalid(
            "lr_decay_steps",
            config.lr_decay_steps,
            "0 (constant) or >= {train_steps}: the learning rates reach 0 there, and later "
            "steps would not learn",
            train_steps=config.train_steps,
        )
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
            raise options.invalid("allow_flag_changes", name, ", ".join(changeable))


def _check_architecture(config: Any) -> None:
    """Checks the image-network options against each other and the image size."""
    size = config.image_size
    starts = [size // 2**k for k in range(1, 8) if size % 2**k == 0]
    if config.g_start_size and config.g_start_size not in starts:
        raise options.invalid(
            "g_start_size", config.g_start_size, f"0 (auto) or one of {starts} for {size} px"
        )
    # D halves the size down to 4 (7 for 28 px): one block per halving.
    d_blocks = gan.num_resamplings(size)
    if config.d_stride1_block > d_blocks:
        raise options.invalid(
            "d_stride1_block", config.d_stride1_block, f"0 (none) to {d_blocks} for {size} px"
        )
    if config.attention_size:
        stride1 = config.d_stride1_block if config.architecture == "dcgan" else 0
        sizes = gan.attention_sizes(config.architecture, size, config.g_start, stride1)
        if config.attention_size not in sizes:
            raise options.invalid(
                "attention_size",
                config.attention_size,
                f"0 (none) or a side both nets reach at {size} px: {list(sizes)}",
            )
    shape = config.noise_shape
    if shape and not config.is_image:
        raise options.invalid("noise_shape", shape, "empty for a vector dataset (its G is an MLP)")
    start = config.g_start
    if shape and (len(shape) != 3 or shape[:2] != (start, start)):
        raise options.invalid(
            "noise_shape", shape, f"empty or {start},{start},c (G's first size is {start})"
        )
    if shape and shape[0] * shape[1] * shape[2] != config.latent_dim:
        raise options.invalid(
            "noise_shape", shape, f"a shape of latent_dim={config.latent_dim} values"
        )


def _check_evaluation(config: Any) -> None:
    """Checks --eval_every, --eval_samples and --best_metric against the dataset."""
    if config.is_image and config.eval_every:
        if not evaluation.IMAGE_SAMPLES.accepts(config.eval_samples):
            raise options.invalid(
                "eval_samples", config.eval_samples, evaluation.IMAGE_SAMPLES_ALLOWED
            )
    available = config.eval_metrics
    if config.eval_every and not available:
        raise options.invalid(
            "eval_every",
            config.eval_every,
            f"0: --dataset={config.dataset} has no reference distribution to measure against",
        )
    metric = config.best_metric
    with_classes = evaluation.CLASS_METRICS + evaluation.CONDITIONAL_METRICS
    if metric in with_classes and config.is_image and not config.has_classifier:
        raise ConfigError(
            f"--best_metric={metric} needs a feature network with classes: pass "
            "--eval_classifier=PATH (train one with python -m dcgan.classifier); InceptionV3 "
            "has none"
        )
    if metric and metric not in available:
        raise options.invalid("best_metric", metric, f"'' (none) or one of {', '.join(available)}")
    if config.eval_layer and not config.has_classifier:
        raise ConfigError(
            f"--eval_layer={config.eval_layer} needs --eval_classifier=PATH, the Keras model "
            "whose layer it names (an InceptionV3 always uses its pool features)"
        )


def _check_objective(config: Any) -> None:
    """Checks the loss, its penalty, D's stabilizers and the schedule against each other."""
    step.check_schedule(
        updates=config.updates, n_critic=config.n_critic, train_order=config.train_order
    )
    if config.batch_size % config.pack:
        raise options.invalid(
            "pack",
            config.pack,
            "a divisor of {batch_size} (D judges batch_size / pack packs)",
            batch_size=config.batch_size,
        )
    objective.check_penalty(config.loss, config.penalty)
    clipping = config.loss == "wgan" and config.clip_value > 0
    clip_flags = f"--loss=wgan --clip_value={config.clip_value} (weight clipping)"
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
    unconstrained = not (clipping or config.penalty != "none" or config.spectral_norm)
    if config.loss == "wgan" and unconstrained:
        raise ConfigError(
            "--loss=wgan --clip_value=0 leaves the critic unconstrained (its scores "
            "diverge): set --clip_value > 0, a --penalty, or --spectral_norm"
        )
    penalty = "--loss=wgan-gp" if config.loss == "wgan-gp" else f"--penalty={config.penalty}"
    batch_norm_d = config.is_image and config.architecture == "dcgan" and config.d_norm == "batch"
    if penalty != "--penalty=none" and batch_norm_d:
        # The penalties are per example; batch norm makes each of D's outputs depend on
        # the whole batch, so the per-example input gradient is not what they penalize.
        raise ConfigError(
            f"--d_norm=batch cannot be used with {penalty} (the penalty is per example); "
            "allowed: --d_norm=layer or --d_norm=none"
        )


def _check_conditioning(config: Any) -> None:
    """Refuses what a class-conditional run cannot define."""
    if config.conditioning == "none":
        return
    flag = f"--conditioning={config.conditioning}"
    if config.pack > 1:
        raise ConfigError(
            f"--pack={config.pack} cannot be used with {flag}: a pack of {config.pack} "
            "samples has no one class to judge it by; allowed: --pack=1"
        )
    if len(config.latent_shape) != 1:
        raise ConfigError(
            f"--noise_shape={','.join(map(str, config.latent_shape))} cannot be used with "
            f"{flag}: the class joins vector noise; allowed: --noise_shape= (vector noise)"
        )


def _check_data(config: Any) -> None:
    """Refuses a data source without the file or folder it reads."""
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


def _check_loss_options(config: Any) -> None:
    """Refuses an option of another loss family set away from its default.

    The builder hands a family only the options it takes (``objective.FAMILIES``), so any
    other would be ignored without a word. Flags get the same refusal, earlier, from
    ``check_explicit_flags``; this one covers a ``Config`` built in code.
    """
    takes = objective.FAMILIES[config.loss].options
    others = {name for family in objective.FAMILIES.values() for name in family.options}
    for field in dataclasses.fields(config):
        name = field.name
        if name in others and name not in takes and getattr(config, name) != field.default:
            raise ConfigError(no_effect_message(config, name))
