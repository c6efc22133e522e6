r"""Trains a GAN: ``python -m dcgan.train --flagfile=experiments/quickstart.flags``.

Flags live only here: one per ``Config`` field (``dcgan.config.flags``); they become the
``Config`` that everything below receives. A workdir that holds a checkpoint is resumed
from it. Errors in flags, data or checkpoints end the run with one line on stderr before
any training.
"""

from __future__ import annotations

import sys

from absl import app, flags

from dcgan import cli
from dcgan.config import ConfigError
from dcgan.config import flags as config_flags
from dcgan.run import signals

_PROGRAM = "dcgan.train"
config_flags.define_flags()
flags.adopt_module_key_flags(config_flags)  # --help lists them as this program's


def main(argv: list[str]) -> None:
    cli.check_no_arguments(_PROGRAM, argv)
    try:
        parsed = config_flags.parse(argv=sys.argv)
    except ConfigError as e:
        cli.fail(_PROGRAM, e, cli.USAGE_ERROR)
    for warning in config_flags.deprecation_warnings():
        print(f"{_PROGRAM}: warning: {warning}", file=sys.stderr)
    if parsed.note():
        print(f"{_PROGRAM}: {parsed.note()}", file=sys.stderr)
    config = parsed.config
    # From here on a signal stops the run within seconds, in any phase.
    try:
        with signals.stop_on_signals() as stop:
            _train(config, stop)
    except signals.RunStopped as e:  # a user's stop, not an error: the shell's status for it
        print(f"{_PROGRAM}: {e}", file=sys.stderr, flush=True)
        sys.exit(128 + e.signum)


def _train(config, stop) -> None:
    # Imported after the flag checks: TensorFlow takes seconds to load.
    cli.quiet_tensorflow()
    from dcgan.data.common import DataError
    from dcgan.distribute.devices import DistributeError
    from dcgan.evaluation.features import EvaluationError
    from dcgan.run import loop
    from dcgan.run.checkpoints import CheckpointError
    from dcgan.run.workdir import WorkdirError

    try:
        loop.train(config, stop=stop)
    except (ConfigError, DistributeError) as e:
        cli.fail(_PROGRAM, e, cli.USAGE_ERROR)
    except (DataError, CheckpointError, WorkdirError, loop.NonFiniteError, EvaluationError) as e:
        cli.fail(_PROGRAM, e, cli.INPUT_ERROR)


if __name__ == "__main__":
    app.run(main, flags_parser=cli.flags_parser(_PROGRAM))
