"""Runs a dcgan entry point as a user would: ``python -m MODULE ARGS`` from the repo root."""

import os
import re
import subprocess
import sys
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_module(module, *args, env=None, timeout=600):
    """Runs ``python -m module *args``; ``env`` adds to (not replaces) the environment.

    Raises:
        subprocess.TimeoutExpired: after killing it, if it runs ``timeout`` seconds.
    """
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        env=None if env is None else {**os.environ, **env},
    )


def start_module(module, *args, timeout, env=None):
    """Starts ``python -u -m module *args`` with text pipes for stdout and stderr.

    A watchdog kills the process ``timeout`` seconds after the start, so that a test
    blocked on reading its output ends too; ``env`` replaces the environment.
    """
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", module, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    watchdog = threading.Timer(timeout, process.kill)
    watchdog.daemon = True
    watchdog.start()
    return process


# TensorFlow's C++ core logs from its own threads ("E0000 00:00:… jpeg_mem.cc:331] …"),
# so such a line can land after the program's last words (a tf.data worker still
# decoding the next bad file while the program exits).
_NATIVE_LOG = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d")


def program_stderr(result) -> list[str]:
    """The stderr lines of ``result`` that the program wrote, TensorFlow's C++ logs left out."""
    return [line for line in result.stderr.strip().splitlines() if not _NATIVE_LOG.match(line)]
