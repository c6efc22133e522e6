"""A trained generator, restored from a workdir for use without training.

The entry points that only generate (``dcgan.sample``, ``dcgan.interpolate``,
``dcgan.export``) rebuild G from the run's config.json and restore only G's weights,
so neither D nor the optimizers need to match or even exist in the checkpoint. A run
trained with ``--g_ema_decay`` gives the EMA of G's weights unless asked for G itself.
"""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from dcgan.config import Config, ConfigError
from dcgan.run.builder import build_networks
from dcgan.run.checkpoints import CheckpointError
from dcgan.run.workdir import Workdir


@dataclasses.dataclass(frozen=True)
class Pretrained:
    """A restored generator and the run it comes from."""

    config: Config
    generator: keras.Model
    checkpoint: str  # the restored checkpoint's path prefix
    ema: bool = False  # whether ``generator`` holds the EMA of G's weights (generator_ema)


def load_generator(workdir: str, *, checkpoint: str | None = None, ema: bool = True) -> Pretrained:
    """Rebuilds G from ``workdir``'s config and restores its weights.

    Args:
        workdir: the workdir of a ``dcgan.train`` run.
        checkpoint: a checkpoint prefix, or "best" for the one in the workdir's best/;
            default the workdir's latest.
        ema: restore the exponential moving average of G's weights if the run kept
            one (``--g_ema_decay``); False: G's own weights.

    Raises:
        ConfigError: if the workdir holds no run (no config.json) or an invalid one.
        CheckpointError: if there is no checkpoint, it is damaged (the message names the
            intact ones to pick with ``--checkpoint``), or it does not hold this G.
    """
    directory = Workdir(workdir)
    config = directory.saved_config()
    if config is None:
        raise ConfigError(f"--workdir={workdir} holds no dcgan run (no config.json)")
    if checkpoint == "best":
        checkpoint = directory.best_checkpoint()
        if checkpoint is None:
            raise CheckpointError(
                f"--workdir={workdir} has no best checkpoint: it is kept by runs trained with "
                "--eval_every and --best_metric"
            )
    generator, _ = build_networks(config)
    ema = ema and config.g_ema_decay > 0
    # The EMA has G's architecture: it restores into a freshly built G.
    key = "generator_ema" if ema else "generator"
    path = directory.restore(
        tf.train.Checkpoint(**{key: generator}),
        path=checkpoint,
        partial=True,
        choose_with="--checkpoint",
    )
    if path is None:
        raise CheckpointError(f"--workdir={workdir} has no checkpoint yet")
    return Pretrained(config=config, generator=generator, checkpoint=path, ema=ema)
