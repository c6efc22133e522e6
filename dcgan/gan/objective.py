"""What a run optimizes: D's and G's losses, D's penalties, weight clipping, reading D.

An ``Objective`` is one loss family with its options bound, plus the penalties added to
D's loss, assembled from the tensor functions of ``dcgan.gan.losses`` and
``dcgan.gan.penalties``. The trainer asks it everything it needs; nothing else in the
project branches on a family's name. Families (``FAMILIES``) and penalties
(``PENALTIES``) are selected by name with ``build``; each family names the ``Config``
fields it reads, so ``dcgan.config`` refuses a flag the chosen family would ignore.

Loads no TensorFlow when imported (``dcgan.config`` reads ``FAMILIES`` to check flags at
once); the tensor functions are imported when an objective is built.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from dcgan import options
from dcgan.gan import choices

# (critic(x) -> outputs [B] or [B, 1], real [B, ...], fake [B, ...], rng, *,
#  inner_scale=1.0) -> penalty [B]
PenaltyFunction = Callable[..., Any]
# (real_outputs [B], fake_outputs [B]) -> (D calls each real "real" [B], each fake "real" [B])
Verdict = Callable[[Any, Any], tuple[Any, Any]]


@dataclasses.dataclass(frozen=True)
class Penalty:
    """A per-example term of D's loss: ``weight * function(critic, real, fake, rng)``.

    Attributes:
        name: the metric that reports the term's unweighted batch mean.
        weight: the factor in D's loss.
        function: ``(critic, real, fake, rng, *, inner_scale=1.0) -> [B]``; ``critic``
            maps a batch to D's outputs in training mode, ``rng`` is the run's
            ``tf.random.Generator``, and ``inner_scale`` multiplies D's outputs before
            their input gradient is taken (divided out again in float32): pass D's loss
            scale under mixed_float16 (see ``dcgan.gan.penalties``).
        every: lazy regularization (Karras et al. 2020, "Analyzing and Improving the
            Image Quality of StyleGAN", section 4.3): the term is computed on every
            ``every``-th D update only, with weight ``every * weight``, so that its
            average pull is unchanged at a fraction of the cost.
    """

    name: str
    weight: float
    function: PenaltyFunction
    every: int = 1


@dataclasses.dataclass(frozen=True)
class Objective:
    """A loss family with its options bound: everything the step needs to know of it.

    Attributes:
        name: the family's key in ``FAMILIES``.
        discriminator_loss: ``(real_outputs, fake_outputs) -> (real_loss, fake_loss)``,
            each per example [B], from separate forward passes of D.
        generator_loss: ``fake_outputs -> loss`` [B], or with ``generator_needs_real``
            ``(fake_outputs, real_outputs) -> loss`` [B].
        penalties: terms added to D's per-example loss, in this order.
        clip_value: > 0: D's weights are clipped into [-clip_value, clip_value] after
            every D update (WGAN); 0: no clipping.
        critic: D's outputs are unbounded scores (min-max scaled for a plot) rather than
            logits of the probability of "real".
        verdict: which outputs D calls "real", for the ``d_accuracy`` metric; None for a
            Wasserstein critic, whose outputs give no verdict but a distance estimate.
        generator_needs_real: G's loss reads D's outputs on a real batch too (the
            relativistic losses).
    """

    name: str
    discriminator_loss: Callable[[Any, Any], tuple[Any, Any]]
    generator_loss: Callable[..., Any]
    penalties: tuple[Penalty, ...] = ()
    clip_value: float = 0.0
    critic: bool = False
    verdict: Verdict | None = None
    generator_needs_real: bool = False

    def d_metrics(self, real_outputs, fake_outputs) -> dict[str, Any]:
        """What D's outputs on one update say: ``d_accuracy`` or ``wasserstein_estimate``.

        Args:
            real_outputs: D's float32 outputs on the real batch, [B].
            fake_outputs: D's float32 outputs on the fake batch, [B].
        """
        import tensorflow as tf

        if self.verdict is None:
            return {
                "wasserstein_estimate": tf.reduce_mean(real_outputs) - tf.reduce_mean(fake_outputs)
            }
        real_called_real, fake_called_real = self.verdict(real_outputs, fake_outputs)
        correct = tf.concat([real_called_real, tf.logical_not(fake_called_real)], axis=0)
        return {"d_accuracy": tf.reduce_mean(tf.cast(correct, tf.float32))}

    def d_of_x(self, outputs: np.ndarray) -> np.ndarray:
        """D's outputs on some points as the value in [0, 1] a plot draws as "D(x)".

        A classifier's logit becomes its probability of "real". Scores have no scale, so
        they are min-max normalized over the points given.
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


@dataclasses.dataclass(frozen=True)
class PenaltyKind:
    """An entry of ``PENALTIES``.

    Attributes:
        metric: the name its values are reported under.
        function: ``(critic, real, fake, rng, *, inner_scale=1.0) -> [B]``.
        scale: the term's weight per unit of ``--penalty_weight``: 1 for lambda of the
            gradient penalties, 1/2 for gamma of R1 and R2 (written gamma / 2 * ...).
        summary: one line for ``--penalty``'s help.
    """

    metric: str
    function: PenaltyFunction
    scale: float
    summary: str


# The generator losses of the dcgan family: ``dcgan.gan.losses.<name>_generator_loss``.
GENERATOR_LOSSES = ("non_saturating", "minimax")


def _logit_verdict(real_outputs, fake_outputs):
    return real_outputs > 0, fake_outputs > 0


def _relativistic_verdict(real_outputs, fake_outputs):
    import tensorflow as tf

    # RaGAN's D judges each example against the other batch's mean.
    return (
        real_outputs > tf.reduce_mean(fake_outputs),
        fake_outputs > tf.reduce_mean(real_outputs),
    )


def _dcgan(*, generator_loss: str = "non_saturating", label_smoothing: float = 0.0) -> Objective:
    from dcgan.gan import losses

    options.Choice(GENERATOR_LOSSES).check("generator_loss", generator_loss)
    choices.LABEL_SMOOTHING.check("label_smoothing", label_smoothing)

    def discriminator_loss(real_logits, fake_logits):
        return losses.minimax_discriminator_loss(
            real_logits, fake_logits, label_smoothing=label_smoothing
        )

    return Objective(
        name="dcgan",
        discriminator_loss=discriminator_loss,
        generator_loss=getattr(losses, f"{generator_loss}_generator_loss"),
        verdict=_logit_verdict,
    )


def _wgan(*, clip_value: float = 0.01) -> Objective:
    from dcgan.gan import losses

    choices.CLIP_VALUE.check("clip_value", clip_value)
    return Objective(
        name="wgan",
        discriminator_loss=losses.wasserstein_discriminator_loss,
        generator_loss=losses.wasserstein_generator_loss,
        clip_value=clip_value,
        critic=True,
    )


def _wgan_gp(*, gp_weight: float = 10.0) -> Objective:
    choices.GP_WEIGHT.check("gp_weight", gp_weight)
    gp = PENALTIES["gp"]
    wgan = _wgan(clip_value=0.0)
    return dataclasses.replace(
        wgan, name="wgan-gp", penalties=(Penalty(gp.metric, gp_weight, gp.function),)
    )


def _hinge() -> Objective:
    from dcgan.gan import losses

    return Objective(
        name="hinge",
        discriminator_loss=losses.hinge_discriminator_loss,
        generator_loss=losses.hinge_generator_loss,
        critic=True,
        verdict=_logit_verdict,  # the margin sits at 0
    )


def _lsgan(*, lsgan_targets: tuple[float, ...] = (1.0, 0.0, 1.0)) -> Objective:
    from dcgan.gan import losses

    choices.LSGAN_TARGETS.check("lsgan_targets", tuple(lsgan_targets))
    real_target, fake_target, generator_target = map(float, lsgan_targets)

    def discriminator_loss(real_outputs, fake_outputs):
        return losses.least_squares_discriminator_loss(
            real_outputs, fake_outputs, real_target=real_target, fake_target=fake_target
        )

    def generator_loss(fake_outputs):
        return losses.least_squares_generator_loss(fake_outputs, target=generator_target)

    def verdict(real_outputs, fake_outputs):
        # D regresses toward a target: it calls "real" what lies nearer the real one.
        def nearer_real(outputs):
            return abs(outputs - real_target) < abs(outputs - fake_target)

        return nearer_real(real_outputs), nearer_real(fake_outputs)

    return Objective(
        name="lsgan",
        discriminator_loss=discriminator_loss,
        generator_loss=generator_loss,
        critic=True,
        verdict=verdict,
    )


def _ragan() -> Objective:
    from dcgan.gan import losses

    return Objective(
        name="ragan",
        discriminator_loss=losses.relativistic_average_discriminator_loss,
        generator_loss=losses.relativistic_average_generator_loss,
        verdict=_relativistic_verdict,
        generator_needs_real=True,
    )


def _gradient_penalty(critic, real, fake, rng, *, inner_scale=1.0):
    from dcgan.gan import penalties

    return penalties.gradient_penalty(critic, real, fake, rng=rng, inner_scale=inner_scale)


def _lipschitz_penalty(critic, real, fake, rng, *, inner_scale=1.0):
    from dcgan.gan import penalties

    return penalties.lipschitz_penalty(critic, real, fake, rng=rng, inner_scale=inner_scale)


def _r1(critic, real, fake, rng, *, inner_scale=1.0):
    del fake, rng  # R1 looks at real data only
    from dcgan.gan import penalties

    return penalties.r1_penalty(critic, real, inner_scale=inner_scale)


def _r2(critic, real, fake, rng, *, inner_scale=1.0):
    del real, rng  # R2 looks at generated data only
    from dcgan.gan import penalties

    return penalties.r2_penalty(critic, fake, inner_scale=inner_scale)


FAMILIES: dict[str, Family] = {
    "dcgan": Family(
        _dcgan,
        ("generator_loss", "label_smoothing"),
        "sigmoid cross-entropy on D's logits (Goodfellow et al. 2014)",
    ),
    "wgan": Family(
        _wgan,
        ("clip_value",),
        "Wasserstein critic, its weights clipped unless --clip_value=0 (Arjovsky et al. 2017)",
    ),
    "wgan-gp": Family(
        _wgan_gp,
        ("gp_weight",),
        "Wasserstein critic with a gradient penalty (Gulrajani et al. 2017): the shortcut for "
        "--loss=wgan --clip_value=0 --penalty=gp",
    ),
    "hinge": Family(_hinge, (), "hinge loss (Lim & Ye 2017; the SAGAN and BigGAN form)"),
    "lsgan": Family(_lsgan, ("lsgan_targets",), "least squares toward targets (Mao et al. 2017)"),
    "ragan": Family(_ragan, (), "relativistic average sigmoid loss (Jolicoeur-Martineau 2018)"),
}

PENALTIES: dict[str, PenaltyKind] = {
    "gp": PenaltyKind(
        "gradient_penalty",
        _gradient_penalty,
        1.0,
        "lambda * (||grad D(x_hat)|| - 1)^2 on real-fake interpolates (Gulrajani et al. 2017)",
    ),
    "lp": PenaltyKind(
        "lipschitz_penalty",
        _lipschitz_penalty,
        1.0,
        "lambda * max(0, ||grad D(x_hat)|| - 1)^2, one-sided (WGAN-LP, Petzka et al. 2018)",
    ),
    "r1": PenaltyKind(
        "r1_penalty",
        _r1,
        0.5,
        "gamma/2 * ||grad D(x)||^2 on real data (Mescheder et al. 2018)",
    ),
    "r2": PenaltyKind(
        "r2_penalty",
        _r2,
        0.5,
        "gamma/2 * ||grad D(G(z))||^2 on generated data (Mescheder et al. 2018)",
    ),
}
# --penalty's choices: none, then the PENALTIES.
PENALTY_CHOICES = ("none", *PENALTIES)


def check_penalty(loss: str, penalty: str) -> None:
    """Refuses an unknown penalty, or one on top of ``wgan-gp``'s own gradient penalty (a
    second constraint of the same critic, which no paper trains).

    Raises:
        options.OptionError: naming the penalty and what is allowed.
    """
    options.Choice(PENALTY_CHOICES).check("penalty", penalty)
    if penalty != "none" and loss == "wgan-gp":
        raise options.OptionError(
            "{penalty} cannot be used with {loss}, which has its gradient penalty already "
            "({--gp_weight}); for another penalty use {loss=wgan} {clip_value=0} {penalty}",
            penalty=penalty,
            loss=loss,
        )


def build(
    name: str,
    *,
    penalty: str = "none",
    penalty_weight: float = 10.0,
    penalty_every: int = 1,
    **family_options,
) -> Objective:
    """Builds the objective of family ``name`` with ``options`` and a penalty.

    Args:
        name: a key of ``FAMILIES``.
        penalty: "none" or a key of ``PENALTIES``, added to D's loss. ``wgan-gp``
            carries its own gradient penalty and takes none besides.
        penalty_weight: lambda of gp and lp, gamma of r1 and r2.
        penalty_every: apply every penalty (``wgan-gp``'s too) on every k-th D update
            only, with k times the weight (lazy regularization).
        **family_options: some of the family's ``options``; the others keep their
            defaults.

    Raises:
        ValueError: for an unknown family or penalty, an option the family does not
            take, or an invalid value; the message names the value and what is allowed.
    """
    family = FAMILIES.get(name)
    if family is None:
        raise ValueError(f"loss={name!r} is not one of {list(FAMILIES)}")
    foreign = sorted(set(family_options) - set(family.options))
    if foreign:
        raise ValueError(
            f"{foreign[0]} does not apply to loss {name!r}; it takes {list(family.options)}"
        )
    check_penalty(name, penalty)
    choices.PENALTY_WEIGHT.check("penalty_weight", penalty_weight)
    choices.PENALTY_EVERY.check("penalty_every", penalty_every)
    built = family.make(**family_options)
    penalties = built.penalties
    if penalty != "none":
        kind = PENALTIES[penalty]
        penalties = (Penalty(kind.metric, kind.scale * penalty_weight, kind.function),)
    penalties = tuple(dataclasses.replace(p, every=penalty_every) for p in penalties)
    return dataclasses.replace(built, penalties=penalties)
