"""What a run optimizes: D's and G's losses, D's penalties, weight clipping, reading D.

An ``Objective`` is one loss family with its options bound, assembled from the pure
tensor functions of ``dcgan.losses``. The trainer asks it everything it needs (the
losses, which penalties to add with which weights, whether to clip D's weights, which
metrics of D mean something); nothing else in the project branches on a family's name.

Families are the entries of ``FAMILIES``, selected by name with ``build``. Each entry
names the ``Config`` fields it reads, so ``dcgan.config`` refuses a flag the chosen family
would ignore without a table of its own. Adding a family is one entry here plus its
functions in ``dcgan.losses``.

This module loads no TensorFlow when imported: ``dcgan.config`` reads ``FAMILIES`` to
check flags, and flag errors must not wait seconds for TensorFlow. ``dcgan.losses`` is
imported when an objective is built.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

# critic(x) -> outputs [B] or [B, 1], real [B, ...], fake [B, ...], rng -> penalty [B]
PenaltyFunction = Callable[[Callable[[Any], Any], Any, Any, Any], Any]


@dataclasses.dataclass(frozen=True)
class Penalty:
    """A per-example term of D's loss: ``weight * function(critic, real, fake, rng)``.

    Attributes:
        name: the metric that reports the term's unweighted batch mean.
        weight: the factor in D's loss.
        function: ``(critic, real, fake, rng) -> [B]``; ``critic`` maps a batch to D's
            outputs in training mode, ``rng`` is the run's ``tf.random.Generator``.
    """

    name: str
    weight: float
    function: PenaltyFunction


@dataclasses.dataclass(frozen=True)
class Objective:
    """A loss family with its options bound: everything the step needs to know of it.

    Attributes:
        name: the family's key in ``FAMILIES``.
        discriminator_loss: ``(real_outputs, fake_outputs) -> (real_loss, fake_loss)``,
            each per example [B], from separate forward passes of D.
        generator_loss: ``fake_outputs -> loss`` [B].
        penalties: terms added to D's per-example loss, in this order.
        clip_value: > 0: D's weights are clipped into [-clip_value, clip_value] after
            every D update (WGAN); 0: no clipping.
        critic: D's outputs are a critic's unbounded scores (a Wasserstein estimate means
            something) rather than a classifier's logits (accuracy means something).
    """

    name: str
    discriminator_loss: Callable[[Any, Any], tuple[Any, Any]]
    generator_loss: Callable[[Any], Any]
    penalties: tuple[Penalty, ...] = ()
    clip_value: float = 0.0
    critic: bool = False

    def d_of_x(self, outputs: np.ndarray) -> np.ndarray:
        """D's outputs on some points as the value in [0, 1] a plot draws as "D(x)".

        A classifier's logit becomes its probability of "real". A critic's scores have no
        scale, so they are min-max normalized over the points given.
        """
        outputs = np.asarray(outputs)
        if not self.critic:
            return 0.5 * (1.0 + np.tanh(outputs / 2.0))  # sigmoid, without overflow
        low, high = outputs.min(), outputs.max()
        return (outputs - low) / max(high - low, 1e-12)


@dataclasses.dataclass(frozen=True)
class Family:
    """An entry of ``FAMILIES``.

    Attributes:
        make: builds the ``Objective`` from the options, given as keywords.
        options: the names of the options ``make`` takes, which are ``Config`` fields;
            a flag for another family's option is refused.
        summary: one line for ``--loss``'s help.
    """

    make: Callable[..., Objective]
    options: tuple[str, ...]
    summary: str


# The generator losses of the dcgan family: ``dcgan.losses.<name>_generator_loss``.
GENERATOR_LOSSES = ("non_saturating", "minimax")


def _dcgan(
    *,
    generator_loss: str = "non_saturating",
    label_smoothing: float = 0.0,
    r1_weight: float = 0.0,
) -> Objective:
    from dcgan import losses

    if generator_loss not in GENERATOR_LOSSES:
        raise ValueError(
            f"generator_loss={generator_loss!r} is not one of {list(GENERATOR_LOSSES)}"
        )
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing={label_smoothing} must be in [0, 1)")
    if r1_weight < 0:
        raise ValueError(f"r1_weight={r1_weight} must be >= 0")

    def discriminator_loss(real_logits, fake_logits):
        return losses.minimax_discriminator_loss(
            real_logits, fake_logits, label_smoothing=label_smoothing
        )

    penalties = ()
    if r1_weight:
        # Mescheder et al. (2018) write the penalty as gamma / 2 * ||grad D(x)||^2.
        penalties = (Penalty("r1_penalty", 0.5 * r1_weight, _r1),)
    return Objective(
        name="dcgan",
        discriminator_loss=discriminator_loss,
        generator_loss=getattr(losses, f"{generator_loss}_generator_loss"),
        penalties=penalties,
    )


def _wgan(*, clip_value: float = 0.01) -> Objective:
    from dcgan import losses

    if not clip_value > 0:
        raise ValueError(f"clip_value={clip_value} must be > 0")
    return Objective(
        name="wgan",
        discriminator_loss=losses.wasserstein_discriminator_loss,
        generator_loss=losses.wasserstein_generator_loss,
        clip_value=clip_value,
        critic=True,
    )


def _wgan_gp(*, gp_weight: float = 10.0) -> Objective:
    from dcgan import losses

    if not gp_weight >= 0:
        raise ValueError(f"gp_weight={gp_weight} must be >= 0")
    return Objective(
        name="wgan-gp",
        discriminator_loss=losses.wasserstein_discriminator_loss,
        generator_loss=losses.wasserstein_generator_loss,
        penalties=(Penalty("gradient_penalty", gp_weight, _gradient_penalty),),
        critic=True,
    )


def _gradient_penalty(critic, real, fake, rng):
    from dcgan import losses

    return losses.gradient_penalty(critic, real, fake, rng=rng)


def _r1(critic, real, fake, rng):
    del fake, rng  # R1 looks at real data only
    from dcgan import losses

    return losses.r1_penalty(critic, real)


FAMILIES: dict[str, Family] = {
    "dcgan": Family(
        _dcgan,
        ("generator_loss", "label_smoothing", "r1_weight"),
        "sigmoid cross-entropy on D's logits (Goodfellow et al. 2014), optional R1",
    ),
    "wgan": Family(
        _wgan, ("clip_value",), "Wasserstein critic with weight clipping (Arjovsky et al. 2017)"
    ),
    "wgan-gp": Family(
        _wgan_gp,
        ("gp_weight",),
        "Wasserstein critic with a gradient penalty (Gulrajani et al. 2017)",
    ),
}


def build(name: str, **options) -> Objective:
    """Builds the objective of family ``name`` with ``options``.

    Args:
        name: a key of ``FAMILIES``.
        **options: some of the family's ``options``; the others keep their defaults.

    Raises:
        ValueError: for an unknown family, an option the family does not take, or an
            invalid option value; the message names the value and what is allowed.
    """
    family = FAMILIES.get(name)
    if family is None:
        raise ValueError(f"loss={name!r} is not one of {list(FAMILIES)}")
    foreign = sorted(set(options) - set(family.options))
    if foreign:
        raise ValueError(
            f"{foreign[0]} does not apply to loss {name!r}; it takes {list(family.options)}"
        )
    return family.make(**options)
