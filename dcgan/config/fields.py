"""How a ``Config`` field is declared: its help, its spec, when it applies, its role.

Each field carries what belongs to it in its metadata (see ``field``): ``help``, the
flag's help text; ``spec``, the values it takes (a ``dcgan.options.Spec``, usually the
owning layer's); ``when``, an ``Applies`` saying when the field has an effect (None:
always; the loss options say it in ``dcgan.gan.objective.FAMILIES`` instead); ``role``,
what a resumed run may do with it. This module also answers which fields apply to a run
and refuses flags that would be ignored. Loads no TensorFlow.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from dcgan import options
from dcgan.data.choices import IMAGE_DATASETS, TFDS_PREFIX
from dcgan.gan import objective

# A field's role when a workdir is resumed. STATE: it shapes the saved state (the
# checkpoint could not hold another value), so it never changes. RUN: how long and how
# visibly the run goes and how it reacts to failures, not what it learns; it may always
# change. LEARNING: it changes what is learned; only with --allow_flag_changes.
STATE, RUN, LEARNING = "state", "run", "learning"

# The specs many fields share.
POSITIVE = options.Integer(1)
COUNT = options.Integer(0)
BOOLEAN = options.Boolean()
TEXT = options.Text()
POSITIVE_NUMBER = options.Number(0, open_low=True)
FRACTION = options.Number(0.0, 1.0, open_high=True)
ALARM = options.Number(0, 1, note="(0: off)")


class ConfigError(ValueError):
    """An invalid flag value or combination; the message is one line naming the flag."""

    @classmethod
    def from_option(cls, error: options.OptionError) -> ConfigError:
        """The error of a layer's rule, with its options spelled as flags."""
        return cls(error.as_flags())


@dataclasses.dataclass(frozen=True)
class Applies:
    """When a field has an effect.

    Attributes:
        test: whether it has one in a (valid) run, given the config.
        needs: what it takes, for the error on a flag that would be ignored.
    """

    test: Callable[[Any], bool]
    needs: str


IMAGE = Applies(
    lambda c: c.is_image, f"an image dataset ({', '.join(IMAGE_DATASETS)}, {TFDS_PREFIX}NAME)"
)
VECTOR = Applies(lambda c: not c.is_image, "a vector dataset")
DATA_DIR = Applies(
    lambda c: c.dataset == "folder" or c.is_tfds, f"--dataset=folder or {TFDS_PREFIX}NAME"
)
FOLDER = Applies(lambda c: c.dataset == "folder", "--dataset=folder")
# The options of the DCGAN conv nets that SNGAN's ResNets fix (3x3 kernels, ReLU, nearest
# upsampling, no normalization in D) or do not have.
DCGAN_NETS = Applies(
    lambda c: c.is_image and c.architecture == "dcgan",
    f"{IMAGE.needs} and --architecture=dcgan",
)
# Activations: every net but the ResNets, which use ReLU.
ACTIVATIONS = Applies(
    lambda c: not c.is_image or c.architecture == "dcgan",
    "--architecture=dcgan or a vector dataset (the ResNets use ReLU)",
)
TFDS = Applies(lambda c: c.is_tfds, f"--dataset={TFDS_PREFIX}NAME")
TFRECORD = Applies(lambda c: c.dataset == "tfrecord", "--dataset=tfrecord")
# Sources of encoded image files, decoded (and cropped, and skipped when bad) alike.
ENCODED = Applies(lambda c: c.dataset in ("folder", "tfrecord"), "--dataset=folder or tfrecord")
NPY = Applies(lambda c: c.dataset in ("npy", "npy_vectors"), "--dataset=npy or npy_vectors")
NPY_VECTORS = Applies(lambda c: c.dataset == "npy_vectors", "--dataset=npy_vectors")
CENTER_CROP = Applies(
    lambda c: ENCODED.test(c) and c.crop == "center",
    "--dataset=folder or tfrecord, and --crop=center",
)
RESIZED = Applies(
    lambda c: c.is_image and c.dataset != "glyphs",
    "an image dataset other than glyphs (glyphs are rendered at --image_size)",
)
G_ADAM = Applies(lambda c: c.g_optimizer == "adam", "--g_optimizer=adam")
D_ADAM = Applies(lambda c: c.d_optimizer == "adam", "--d_optimizer=adam")
EVAL = Applies(lambda c: c.eval_every > 0, "--eval_every > 0")
IMAGE_EVAL = Applies(
    lambda c: c.is_image and c.eval_every > 0, "an image dataset and --eval_every > 0"
)
BEST = Applies(lambda c: bool(c.best_metric), "--best_metric")
CONDITIONAL = Applies(
    lambda c: c.is_image and c.conditioning != "none", "--conditioning other than none"
)
ACGAN = Applies(lambda c: c.is_image and c.conditioning == "acgan", "--conditioning=acgan")
CONDITIONAL_DCGAN = Applies(
    lambda c: DCGAN_NETS.test(c) and c.conditioning != "none",
    f"{DCGAN_NETS.needs}, and --conditioning other than none",
)
MIRRORED = Applies(lambda c: c.strategy == "mirrored", "--strategy=mirrored")
TPU = Applies(lambda c: c.strategy == "tpu", "--strategy=tpu")
REPLICATED_BATCH_NORM = Applies(
    lambda c: c.strategy != "default" and "batch" in (c.g_norm, c.d_norm),
    "--strategy other than default and batch norm in G or D (--g_norm or --d_norm=batch)",
)
PENALTY = Applies(lambda c: c.penalty != "none", "--penalty other than none")
ANY_PENALTY = Applies(
    lambda c: c.penalty != "none" or c.loss == "wgan-gp",
    "a penalty: --penalty other than none, or --loss=wgan-gp",
)


def field(
    default: Any,
    help: str,
    *,
    spec: options.Spec,
    when: Applies | None = None,
    role: str = LEARNING,
) -> Any:
    """A ``Config`` field with its flag's help, its spec, when it applies and its role.

    Args:
        default: the default value; ``dataclasses.MISSING`` for a required field.
        help: the flag's help text.
        spec: the values the field takes; a ``Choice`` also gives the flag its choices.
        when: when the field has an effect; None: always.
        role: STATE, RUN or LEARNING (see their comment).
    """
    metadata = {"help": help, "spec": spec, "when": when, "role": role}
    return dataclasses.field(default=default, metadata=metadata)


def choices(field: dataclasses.Field) -> tuple | None:
    """The values a field's flag is an enum of, or None."""
    spec = field.metadata["spec"]
    return spec.values if isinstance(spec, options.Choice) else None


def loss_option(name: str) -> Applies:
    """When an option of the loss families applies: the run's family takes it."""
    takers = [loss for loss, family in objective.FAMILIES.items() if name in family.options]
    return Applies(
        lambda c: name in objective.FAMILIES[c.loss].options, f"--loss={' or '.join(takers)}"
    )


LOSS_OPTIONS = {name for family in objective.FAMILIES.values() for name in family.options}


def applies(config: Any, name: str) -> bool:
    """Whether field ``name`` has an effect in ``config``."""
    condition = _condition(config, name)
    return condition is None or condition.test(config)


def _condition(config: Any, name: str) -> Applies | None:
    if name in LOSS_OPTIONS:
        return loss_option(name)
    return config.__dataclass_fields__[name].metadata["when"]


def check_explicit_flags(config: Any, explicit: set[str] | frozenset[str]) -> None:
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
        if not applies(config, name):
            raise ConfigError(no_effect_message(config, name))


def no_effect_message(config: Any, name: str) -> str:
    """The error for field ``name``, set although it has no effect in ``config``."""
    return (
        f"--{name} has no effect here: it needs {_condition(config, name).needs} "
        f"(this run has --dataset={config.dataset} --loss={config.loss} "
        f"--g_optimizer={config.g_optimizer} --d_optimizer={config.d_optimizer})"
    )
