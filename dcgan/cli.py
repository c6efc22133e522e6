"""Plumbing shared by the entry points: one-line errors and exit statuses.

Exit statuses: 2 for usage errors (bad flags, flags that disagree with the workdir),
1 for bad input found while preparing the run (data, checkpoints).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Callable

from absl import flags
from absl import logging as absl_logging

USAGE_ERROR = 2
INPUT_ERROR = 1
CHECKPOINT_HELP = (
    "Checkpoint prefix, or 'best' for the best checkpoint of a --best_metric run; default "
    "the latest of --workdir."
)


def define_generator_flags() -> None:
    """Defines ``--checkpoint`` and ``--ema``: which trained generator an entry point loads."""
    flags.DEFINE_string("checkpoint", None, CHECKPOINT_HELP)
    flags.DEFINE_boolean(
        "ema",
        True,
        "Use the run's moving average of G's weights if it kept one (--g_ema_decay); "
        "--noema: G's own weights.",
    )


def quiet_tensorflow() -> None:
    """Imports TensorFlow with its INFO chatter hidden, so the run's own lines stand out.

    ``TF_CPP_MIN_LOG_LEVEL`` and ``--verbosity`` set by the user win. (The few lines
    TensorFlow's C++ core prints while loading come before any setting can apply.)
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    if not flags.FLAGS["verbosity"].present:
        absl_logging.set_verbosity(absl_logging.WARNING)
    import tensorflow as tf

    tf.get_logger().setLevel(logging.WARNING)


def fail(program: str, error: Exception | str, status: int) -> None:
    """Ends the program with ``<program>: error: <message>`` on one stderr line.

    The traceback of the error being handled is printed first only if ``--verbosity``
    was given.
    """
    if (
        isinstance(error, Exception)
        and flags.FLAGS.is_parsed()
        and flags.FLAGS["verbosity"].present
    ):
        traceback.print_exception(error)
    message = " ".join(str(error).split())
    print(f"{program}: error: {message}", file=sys.stderr)
    sys.exit(status)


def flags_parser(program: str) -> Callable[[list[str]], list[str]]:
    """An ``app.run`` flags parser that reports a bad flag in one line, exit status 2."""

    def parse(argv: list[str]) -> list[str]:
        try:
            return flags.FLAGS(argv)
        except flags.Error as e:
            fail(program, e, USAGE_ERROR)

    return parse


def require_workdir(program: str, workdir: str | None) -> None:
    """Refuses a missing ``--workdir`` (entry points that read a trained run)."""
    if not workdir:
        fail(program, "--workdir is required: the workdir of a dcgan.train run", USAGE_ERROR)


def check_output_file(
    program: str, output: str | None, extensions: tuple[str, ...], *, flag: str = "output"
) -> str:
    """Refuses an ``--output`` (or ``--<flag>``) with another extension or in a missing
    directory.

    Returns:
        The extension, lower case.
    """
    extension = os.path.splitext(output or "")[1].lower()
    if extension not in extensions:
        allowed = " or ".join(extensions)
        fail(
            program,
            f"--{flag}={output} is invalid; allowed: a path ending in {allowed}",
            USAGE_ERROR,
        )
    if is_local(output):
        parent = os.path.dirname(os.path.abspath(output))
        exists = os.path.isdir(parent)
    else:
        quiet_tensorflow()
        import tensorflow as tf

        from dcgan.io import storage

        parent = storage.parent(output)
        exists = tf.io.gfile.isdir(parent)
    if not exists:
        fail(program, f"--{flag}={output}: directory {parent} does not exist", USAGE_ERROR)
    return extension


def is_local(path: str) -> bool:
    """Whether ``path`` is local, not ``scheme://…``: ``dcgan.io.storage.is_local`` without
    loading TensorFlow, so that local flag errors stay instant."""
    return "://" not in path


def path_exists(path: str) -> bool:
    """Whether a file or directory is at ``path``, local or ``scheme://…`` (which loads
    TensorFlow to ask its file system layer)."""
    if is_local(path):
        return os.path.exists(path)
    quiet_tensorflow()
    import tensorflow as tf

    return tf.io.gfile.exists(path)


def load_generator(program: str, workdir: str, checkpoint: str | None):
    """Restores the trained G of ``workdir``; a bad run or checkpoint ends the program.

    ``--ema`` (see ``define_generator_flags``) picks the run's EMA of G's weights over G itself
    when the run kept one; an explicit ``--ema`` or ``--noema`` on a run that kept none is
    refused (it would do nothing).

    Returns:
        ``dcgan.run.pretrained.Pretrained``: the run's config, G and the checkpoint path.
    """
    from dcgan.config import ConfigError
    from dcgan.run import pretrained
    from dcgan.run.checkpoints import CheckpointError

    ema = flags.FLAGS.ema
    try:
        trained = pretrained.load_generator(workdir, checkpoint=checkpoint, ema=ema)
    except ConfigError as e:
        fail(program, e, USAGE_ERROR)
    except CheckpointError as e:
        fail(program, e, INPUT_ERROR)
    if flags.FLAGS["ema"].present and not trained.config.g_ema_decay:
        fail(
            program,
            f"--{'' if ema else 'no'}ema has no effect: --workdir={workdir} kept no "
            "average of G's weights (it trained with --g_ema_decay=0)",
            USAGE_ERROR,
        )
    return trained


def requested_classes(program: str, workdir: str, config, spec: str | None) -> list[int] | None:
    """The class indices ``--classes`` names (``spec``) for a run of ``workdir``; None
    where it names none. A bad class, or any ``--classes`` on a run that is not
    class-conditional, ends the program with one line."""
    from dcgan.config import ConfigError
    from dcgan.run import classes

    if spec is None:
        return None
    if config.conditioning == "none":
        fail(
            program,
            f"--classes has no effect: --workdir={workdir} is not class-conditional (it "
            "trained with --conditioning=none)",
            USAGE_ERROR,
        )
    names = classes.read(workdir) or tuple(map(str, range(config.num_classes)))
    try:
        return classes.parse(spec, names)
    except ConfigError as e:
        fail(program, e, USAGE_ERROR)


def check_no_arguments(program: str, argv: list[str]) -> None:
    """Refuses positional arguments, which absl would otherwise ignore."""
    if len(argv) > 1:
        fail(program, f"unexpected arguments {argv[1:]}; every option is a --flag", USAGE_ERROR)


def run_child(module: str, args: list[str], *, cwd: str | None = None) -> None:
    """Runs ``python -m module *args`` (a benchmark's training run, say) to its end.

    Raises:
        RuntimeError: naming the command and quoting its last stderr line, if it fails.
    """
    result = subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, cwd=cwd
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"{module} {' '.join(args)} failed: {last}")
