"""The fields of how it is learned: the objective, the schedule of updates, the
optimizers.

``dcgan.config.core.Config`` joins these sections with the others; each field names its
help, its spec (owned by the layer that reads it), when it applies and its role on resume
(``dcgan.config.fields``). Loads no TensorFlow.
"""

from __future__ import annotations

import dataclasses

from dcgan import options
from dcgan.config.fields import (
    ANY_PENALTY,
    BOOLEAN,
    D_ADAM,
    FRACTION,
    G_ADAM,
    IMAGE,
    PENALTY,
    POSITIVE_NUMBER,
    STATE,
    field,
)
from dcgan.gan import choices as gan
from dcgan.gan import objective
from dcgan.step import choices as step


@dataclasses.dataclass(frozen=True)
class ObjectiveFields:
    """What the run optimizes: the loss family and its options, penalties, D's stabilizers."""

    # The objective and the update schedule. The loss options apply when the chosen
    # family takes them (objective.FAMILIES), so they carry no `when` of their own.
    loss: str = field(
        "dcgan",
        "The loss family: "
        + "; ".join(f"{name}: {family.summary}" for name, family in objective.FAMILIES.items()),
        spec=options.Choice(tuple(objective.FAMILIES)),
    )
    generator_loss: str = field(
        "non_saturating",
        "G's loss for --loss=dcgan.",
        spec=options.Choice(objective.GENERATOR_LOSSES),
    )
    label_smoothing: float = field(
        0.0, "One-sided: real target is 1 - this.", spec=gan.LABEL_SMOOTHING
    )
    clip_value: float = field(
        0.01,
        "WGAN clips D's weights to [-c, c]; 0: no clipping (the critic then needs --penalty "
        "or --spectral_norm).",
        spec=gan.CLIP_VALUE,
    )
    gp_weight: float = field(10.0, "WGAN-GP penalty weight lambda.", spec=gan.GP_WEIGHT)
    lsgan_targets: tuple[float, ...] = field(
        (1.0, 0.0, 1.0),
        "LSGAN's real, fake and generator targets (Mao et al.'s b, a, c; e.g. 1,-1,0).",
        spec=gan.LSGAN_TARGETS,
    )
    # Penalties of D's inputs' gradient, for any family (objective.PENALTIES).
    penalty: str = field(
        "none",
        "A penalty added to D's loss: none; "
        + "; ".join(f"{name}: {kind.summary}" for name, kind in objective.PENALTIES.items()),
        spec=options.Choice(objective.PENALTY_CHOICES),
    )
    penalty_weight: float = field(
        10.0,
        "lambda of --penalty=gp or lp, gamma of r1 or r2.",
        spec=gan.PENALTY_WEIGHT,
        when=PENALTY,
    )
    penalty_every: int = field(
        1,
        "Lazy regularization: compute the penalty on every k-th D update only, with k times "
        "its weight (StyleGAN2).",
        spec=gan.PENALTY_EVERY,
        when=ANY_PENALTY,
    )
    spectral_norm: bool = field(
        False,
        "Spectral normalization of every D layer (Miyato et al. 2018): one power iteration "
        "per D update.",
        spec=BOOLEAN,
        role=STATE,
    )
    g_spectral_norm: bool = field(
        False,
        "Spectral normalization of every G layer too, as SAGAN and BigGAN do: one power "
        "iteration per G update; the weight average copies G's estimates.",
        spec=BOOLEAN,
        role=STATE,
    )
    # STATE: D's input is pack samples wide.
    pack: int = field(
        1,
        "PacGAN (Lin et al. 2018): D judges packs of this many samples, concatenated; must "
        "divide --batch_size.",
        spec=step.PACK,
        role=STATE,
    )
    diff_augment: tuple[str, ...] = field(
        (),
        "Differentiable augmentation of D's real and fake inputs (Zhao et al. 2020), any of "
        f"{', '.join(gan.AUGMENTATIONS)}; empty: none.",
        spec=options.Names(gan.AUGMENTATIONS),
        when=IMAGE,
    )


@dataclasses.dataclass(frozen=True)
class ScheduleFields:
    """How a step orders its updates."""

    n_critic: int = field(1, "D updates per G update.", spec=step.N_CRITIC)
    train_order: str = field(
        "d_first", "Which network updates first in a step.", spec=options.Choice(step.TRAIN_ORDERS)
    )
    updates: str = field(
        "alternating",
        "How a step's updates share forward passes: alternating (D's on fresh fakes, then "
        "G's on fresh noise through the updated D); reuse_fakes (one G forward: D's update "
        "on it, then G's through it and the updated D); simultaneous (one forward of each "
        "net, both gradients from it: G's sees D before its update). The last two need "
        "--n_critic=1.",
        spec=options.Choice(step.UPDATES),
    )


@dataclasses.dataclass(frozen=True)
class OptimizerFields:
    """The optimizers, their learning rates and the weight average of G."""

    g_optimizer: str = field(
        "adam", "G's optimizer.", spec=options.Choice(step.OPTIMIZERS), role=STATE
    )
    d_optimizer: str = field(
        "adam", "D's optimizer.", spec=options.Choice(step.OPTIMIZERS), role=STATE
    )
    g_lr: float = field(2e-4, "G's learning rate.", spec=POSITIVE_NUMBER)
    d_lr: float = field(2e-4, "D's learning rate.", spec=POSITIVE_NUMBER)
    g_beta1: float = field(0.5, "G's Adam beta1.", spec=FRACTION, when=G_ADAM)
    d_beta1: float = field(0.5, "D's Adam beta1.", spec=FRACTION, when=D_ADAM)
    g_beta2: float = field(0.999, "G's Adam beta2.", spec=FRACTION, when=G_ADAM)
    d_beta2: float = field(0.999, "D's Adam beta2.", spec=FRACTION, when=D_ADAM)
    lr_decay_steps: int = field(
        0,
        "Decay both learning rates linearly to 0 over this many steps (>= --train_steps); "
        "0: constant.",
        spec=step.LR_DECAY_STEPS,
    )
    # STATE: whether the checkpoint holds generator_ema, the EMA of G.
    g_ema_decay: float = field(
        0.0,
        "Keep an exponential moving average of G's weights with this decay, in [0, 1), and "
        "sample, evaluate and export with it; 0: none.",
        spec=step.G_EMA_DECAY,
        role=STATE,
    )
