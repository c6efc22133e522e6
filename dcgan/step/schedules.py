"""The update schedules, by name: how a step's D and G updates share forward passes.

Each schedule takes the step's ``Updates``, its real batches (one per D update) and the
run's number of its first D update, and returns the metrics of the last D update and of
the G update. ``alternating`` is the only one that takes several D updates or G first
(``dcgan.step.choices.check_schedule``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import tensorflow as tf

from dcgan.step.choices import UPDATES, check_schedule
from dcgan.step.updates import Updates

Metrics = dict[str, tf.Tensor]
Schedule = Callable[[Updates, list[tf.Tensor], tf.Tensor], tuple[Metrics, Metrics]]


def alternating(
    updates: Updates, reals: list[tf.Tensor], first_d_update: tf.Tensor, *, g_first: bool = False
) -> tuple[Metrics, Metrics]:
    """D's updates, each on its own real batch and fresh fakes, then G's on fresh noise
    through the updated D (``g_first``: G's first). G's update takes the first batch
    (its size, and for a relativistic loss D's outputs on it)."""
    real = reals[0]
    if g_first:
        g_metrics = updates.generator_update(real)
    # Unrolled: n_critic is small and static, and each update's collectives then have a
    # place of their own in the graph (checked with two workers, n_critic 3).
    for i, batch in enumerate(reals):
        d_metrics = updates.discriminator_update(batch, first_d_update + i)
    if not g_first:
        g_metrics = updates.generator_update(real)
    return d_metrics, g_metrics


def reuse_fakes(
    updates: Updates, reals: list[tf.Tensor], first_d_update: tf.Tensor
) -> tuple[Metrics, Metrics]:
    """One G forward: D's update on it, then G's through it and the updated D (the
    PyTorch DCGAN example's step)."""
    return updates.reuse_fakes_update(reals[0], first_d_update)


def simultaneous(
    updates: Updates, reals: list[tf.Tensor], first_d_update: tf.Tensor
) -> tuple[Metrics, Metrics]:
    """One forward of each net and both gradients from it, applied together: G's sees D
    before this step's update (the TF DCGAN tutorial's step)."""
    return updates.simultaneous_update(reals[0], first_d_update)


# One function per name of ``choices.UPDATES``, named after it.
SCHEDULES: dict[str, Schedule] = {name: globals()[name] for name in UPDATES}


def build(name: str, *, n_critic: int, train_order: str) -> Schedule:
    """The schedule ``name`` with the step's order bound.

    Raises:
        options.OptionError: for an unknown name, or a schedule that cannot run with
            ``n_critic`` D updates in ``train_order``.
    """
    check_schedule(updates=name, n_critic=n_critic, train_order=train_order)
    if name == "alternating":
        return functools.partial(alternating, g_first=train_order == "g_first")
    return SCHEDULES[name]
