"""What a run shows in TensorBoard besides samples: grouped scalar tags, its flags, hparams.

A step's metrics keep their own names everywhere (the trainer's dict, the stdout log
line, the README); TensorBoard files each under a group, ``group/name``, so that the
Scalars page opens as a few sections (``loss/d_loss``, ``D/d_accuracy``, ...) instead
of one flat list. ``summary_tag`` is the one place that decides the group.

At the start of a run the loop also writes the run's flags, as a Markdown table
(``write_flags``, the Text tab) and as HParams (``write_hparams``, the HParams tab,
where runs compare side by side with their final metrics), and the Custom Scalars tab's
layout (``write_layout``), which opens on the losses and the evaluations where the
Scalars tab lists its sections alphabetically.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import tensorflow as tf
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.custom_scalar import summary as custom_scalar
from tensorboard.plugins.hparams import api as hp
from tensorboard.plugins.hparams import plugin_data_pb2

from dcgan.config import Config, format_value
from dcgan.gan import objective
from dcgan.io import storage

# The groups of the evaluation's tags, which the loop writes beside the step's metrics.
_EVAL_GROUPS = ("eval/", "best/")
# The text summary of the run's flags.
FLAGS_TAG = "config/flags"
# The group of a metric no table below names and whose prefix says no network.
DEFAULT_GROUP = "other"

# Group -> the metrics filed under it. Every metric the trainer and the loop emit is
# named here; tests/test_summaries.py checks that against trainers of every objective.
GROUPS: dict[str, tuple[str, ...]] = {
    # What the networks minimize: D's loss with its parts, its penalty terms and ACGAN's
    # class loss, G's loss.
    "loss": (
        "d_loss",
        "d_loss_real",
        "d_loss_fake",
        "g_loss",
        *(kind.metric for kind in objective.PENALTIES.values()),
        "d_class_loss",
    ),
    # What D's outputs and its update say; the loss scale exists under mixed_float16 only.
    "D": (
        "d_accuracy",
        "wasserstein_estimate",
        "d_output_real",
        "d_output_fake",
        "d_grad_norm",
        "d_loss_scale",
    ),
    "G": ("g_grad_norm", "g_loss_scale"),
    "speed": ("steps_per_sec",),
    "lr": ("g_lr", "d_lr"),
    # Counters that stay 0 in a healthy run.
    "health": ("nonfinite_updates", "skipped_images"),
}
_GROUP_OF = {name: group for group, names in GROUPS.items() for name in names}


def summary_tag(name: str) -> str:
    """The TensorBoard tag of a metric: ``group/name``, the name itself unchanged.

    A metric no group names goes by its prefix (``d_`` to D, ``g_`` to G), else to
    ``DEFAULT_GROUP``, so a new metric is still shown, near its kin. A name that already
    holds a ``/`` (``eval/fid``) is a tag already and is returned as it is.

    Args:
        name: the metric's name, as the trainer's dict and the log line spell it.

    Returns:
        The tag, e.g. ``loss/d_loss``, ``D/d_accuracy``, ``speed/steps_per_sec``.
    """
    if "/" in name:
        return name
    group = _GROUP_OF.get(name)
    if group is None:
        group = {"d_": "D", "g_": "G"}.get(name[:2], DEFAULT_GROUP)
    return f"{group}/{name}"


def flags_markdown(config: Config) -> str:
    """The run's flags as a Markdown table, in field order.

    Only the fields that have an effect in this run are listed: the same flags as the
    workdir's ``flags.txt``.

    Args:
        config: the run.

    Returns:
        A ``| flag | value |`` table, one row per applicable field.
    """
    rows = ["| flag | value |", "|---|---|"]
    for name in config.applicable_fields():
        value = format_value(getattr(config, name)).replace("|", "\\|")
        rows.append(f"| `{name}` | `{value}` |" if value else f"| `{name}` | |")
    return "\n".join(rows)


def write_flags(writer: tf.summary.SummaryWriter, config: Config, step: int) -> None:
    """Writes ``flags_markdown`` as the text summary ``FLAGS_TAG`` at ``step``.

    Args:
        writer: the run's writer.
        config: the run.
        step: the step the session starts at: a resumed run that changed flags shows
            both tables, each at its own step.
    """
    with writer.as_default(step=step):
        tf.summary.text(FLAGS_TAG, flags_markdown(config))


def hparam_value(value: object) -> bool | int | float | str:
    """A config value as HParams takes it.

    Args:
        value: a ``Config`` field's value.

    Returns:
        Numbers, bools and strings as they are; a tuple as its flag spelling
        (comma-joined); anything else as a string.
    """
    if isinstance(value, (bool, int, float, str)):
        return value
    return format_value(value)


def hparams(config: Config) -> dict[str, bool | int | float | str]:
    """The run's HParams.

    Args:
        config: the run.

    Returns:
        Every applicable field but ``NOT_HPARAMS`` by name, its value as
        ``hparam_value``. A field with no
        effect in this run is left out, so its cell stays empty rather than show a
        default the run ignored.
    """
    return {
        name: hparam_value(getattr(config, name))
        for name in config.applicable_fields()
        if name not in NOT_HPARAMS
    }


def hparams_metrics(config: Config) -> list[hp.Metric]:
    """The metrics the HParams tab shows for a run (it shows each one's last value).

    Args:
        config: the run.

    Returns:
        D's and G's losses always; with evaluation, every ``eval/<metric>`` (its last
        value is the final evaluation's); with ``best_metric``, ``best/<metric>`` (the
        loop writes it at each new best, so its last value is the best).
    """
    metrics = [
        hp.Metric(summary_tag("d_loss"), description="D's loss at the last summary."),
        hp.Metric(summary_tag("g_loss"), description="G's loss at the last summary."),
    ]
    if config.eval_every:
        metrics += [
            hp.Metric(f"eval/{name}", description=f"{name} of the last evaluation.")
            for name in config.eval_metrics
        ]
    if config.best_metric:
        metrics.append(
            hp.Metric(
                f"best/{config.best_metric}",
                display_name=f"best {config.best_metric}",
                description=f"The best {config.best_metric} of any evaluation (best/ holds "
                "its checkpoint).",
            )
        )
    return metrics


# The HParams tab's columns: what changes what is learned first, then every other field
# in field order. The fields that only say how a run is kept or watched (NOT_HPARAMS)
# are not hyperparameters and are left out; flags.txt and the Text tab have them.
LEADING_HPARAMS = (
    "loss",
    "g_lr",
    "d_lr",
    "batch_size",
    "architecture",
    "dataset",
    "image_size",
    "latent_dim",
    "g_base_width",
    "d_base_width",
    "n_critic",
    "penalty",
    "penalty_weight",
    "spectral_norm",
    "g_spectral_norm",
    "g_ema_decay",
    "diff_augment",
    "train_steps",
    "seed",
)
NOT_HPARAMS = (
    "alarm_coverage",
    "alarm_recall",
    "alarm_classes_covered",
    "allow_flag_changes",
    "log_every",
    "summary_every",
    "image_every",
    "checkpoint_every",
    "keep_checkpoints",
    "workdir",
)
# TensorBoard 2.21 ignores the declared order: it sorts the columns by whether a value
# differs between sessions, then by name, and shows the first five. Declaring these
# five as differing is the one way the format offers to open the tab on them.
SHOWN_HPARAMS = ("architecture", "batch_size", "d_lr", "g_lr", "loss")


def hparams_order() -> list[str]:
    """The HParams tab's columns: ``LEADING_HPARAMS``, then the other fields in field
    order but ``NOT_HPARAMS``."""
    names = [f.name for f in dataclasses.fields(Config)]
    rest = [n for n in names if n not in LEADING_HPARAMS and n not in NOT_HPARAMS]
    return [*LEADING_HPARAMS, *rest]


def session_name(config: Config) -> str:
    """The run's name in the HParams tab: its workdir, absolute (every session of a run
    shares it, so they show as one)."""
    return storage.absolute(storage.expand(config.workdir))


def write_hparams(writer: tf.summary.SummaryWriter, config: Config) -> None:
    """Writes the HParams experiment (the fields, the metrics) and this run's values.

    Every field of ``hparams_order`` is declared, applicable here or not: TensorBoard takes the
    experiment's columns from one run of the logdir (the first it finds), and all runs
    share the fields. The metrics declared are this run's (``hparams_metrics``).

    The columns come in ``hparams_order``, ``SHOWN_HPARAMS`` first (see there); the
    session is named ``session_name``. The
    plugin writes both at step 0. A resumed run writes them again: TensorBoard keeps
    the latest record of a tag at a step it has seen, so the HParams tab shows the flags
    of the run's latest session, and the metrics' last values cover all sessions.

    Args:
        writer: the run's writer.
        config: the run.
    """
    fields = {f.name: f for f in dataclasses.fields(Config)}
    declared = [
        hp.HParam(name, description=fields[name].metadata["help"]) for name in hparams_order()
    ]
    experiment = hp.hparams_config_pb(hparams=declared, metrics=hparams_metrics(config))
    [value] = experiment.value
    data = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
    for info in data.experiment.hparam_infos:
        info.differs = info.name in SHOWN_HPARAMS
    value.metadata.plugin_data.content = data.SerializeToString()
    with writer.as_default():
        with tf.summary.experimental.summary_scope("hparams_config"):
            tf.summary.experimental.write_raw_pb(experiment.SerializeToString(), step=0)
        hp.hparams(hparams(config), trial_id=session_name(config))


def scalars_layout(config: Config, metrics: Sequence[str]) -> layout_pb2.Layout:
    """The Custom Scalars tab of a run: its losses, its evaluations, then D, G and speed.

    Args:
        config: the run; with evaluation, each metric it measures gets a chart (their
            scales differ too much to share one), with the best value beside it.
        metrics: the names of the metrics the run writes at its summaries (the step's and
            ``steps_per_sec``): a chart shows those of its tags that the run has, and a
            chart with none is left out rather than drawn empty.

    Returns:
        The layout; a chart's tags are regular expressions matched in full.
    """
    written = {summary_tag(name) for name in metrics}

    def chart(title: str, *tags: str) -> list[layout_pb2.Chart]:
        patterns = [f"^{tag}$" for tag in tags if tag in written or tag.startswith(_EVAL_GROUPS)]
        content = layout_pb2.MultilineChartContent(tag=patterns)
        return [layout_pb2.Chart(title=title, multiline=content)] if patterns else []

    penalties = [summary_tag(kind.metric) for kind in objective.PENALTIES.values()]
    categories = [
        layout_pb2.Category(
            title="losses",
            chart=[
                *chart("D and G", summary_tag("d_loss"), summary_tag("g_loss")),
                *chart(
                    "D on real and fake", summary_tag("d_loss_real"), summary_tag("d_loss_fake")
                ),
                *chart("penalties", *penalties),
                *chart("ACGAN class loss", summary_tag("d_class_loss")),
            ],
        )
    ]
    if config.eval_every:
        charts = []
        for name in config.eval_metrics:
            tags = [f"eval/{name}"] + ([f"best/{name}"] if name == config.best_metric else [])
            charts += chart(name, *tags)
        categories.append(layout_pb2.Category(title="evaluation", chart=charts))
    categories.append(
        layout_pb2.Category(
            title="D and G",
            chart=[
                *chart("D's outputs", summary_tag("d_output_real"), summary_tag("d_output_fake")),
                *chart("D's accuracy", summary_tag("d_accuracy")),
                *chart("gradient norms", summary_tag("d_grad_norm"), summary_tag("g_grad_norm")),
                *chart("steps per second", summary_tag("steps_per_sec")),
            ],
            closed=True,
        )
    )
    return layout_pb2.Layout(category=categories)


def write_layout(writer: tf.summary.SummaryWriter, config: Config, metrics: Sequence[str]) -> None:
    """Writes ``scalars_layout`` for the Custom Scalars tab (at step 0: one per run)."""
    with writer.as_default():
        summary = custom_scalar.pb(scalars_layout(config, metrics))
        tf.summary.experimental.write_raw_pb(summary.SerializeToString(), step=0)
