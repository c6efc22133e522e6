"""What a run shows in TensorBoard besides samples: grouped scalar tags.

A step's metrics keep their own names everywhere (the trainer's dict, the stdout log
line, the README); TensorBoard files each under a group, ``group/name``, so that the
Scalars page opens as a few sections (``loss/d_loss``, ``D/d_accuracy``, ...) instead
of one flat list. ``summary_tag`` is the one place that decides the group.
"""

from __future__ import annotations

from dcgan import objective

# The group of a metric no table below names and whose prefix says no network.
DEFAULT_GROUP = "other"

# Group -> the metrics filed under it. Every metric the trainer and the loop emit is
# named here; tests/test_summaries.py checks that against trainers of every objective.
GROUPS: dict[str, tuple[str, ...]] = {
    # What the networks minimize: D's loss with its parts and its penalty terms, G's loss.
    "loss": (
        "d_loss",
        "d_loss_real",
        "d_loss_fake",
        "g_loss",
        *(kind.metric for kind in objective.PENALTIES.values()),
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
