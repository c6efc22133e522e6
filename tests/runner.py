"""Runs a dcgan entry point as a user would: ``python -m MODULE ARGS`` from the repo root."""

import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

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


def run_modules(*commands, timeout, env=None):
    """Runs each ``(module, *args)`` of ``commands`` as ``run_module`` does, two at a time;
    returns their results in order.

    A test process only waits on its commands, so two at a time keep both cores of a
    2-core machine busy: independent commands take about half as long.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(run_module, *c, env=env, timeout=timeout) for c in commands]
        return [future.result() for future in futures]


class Commands:
    """Commands submitted up front and run two at a time in the background, so that a
    module's commands and its in-process tests share both cores of a 2-core machine.

    ``mkdir(name)`` makes a fresh folder for a command; ``submit(name, function, ...)``
    runs ``function(...)`` (``run_module``, say) in the pool; a test reads ``result(name)``,
    waiting for it if needed, and ``folder(name)``. ``close`` waits for what is running
    and drops what has not started.
    """

    def __init__(self, tmp_path_factory):
        self._tmp_path_factory = tmp_path_factory
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
        self._folders, self._futures = {}, {}

    def mkdir(self, name):
        self._folders[name] = self._tmp_path_factory.mktemp(name)
        return self._folders[name]

    def folder(self, name):
        return self._folders[name]

    def submit(self, name, function, *args, **kwargs):
        self._futures[name] = self._pool.submit(function, *args, **kwargs)

    def result(self, name):
        return self._futures[name].result()

    def close(self):
        self._pool.shutdown(wait=True, cancel_futures=True)


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


class Background:
    """A child process started now and read later: it runs while the tests in between do.

    A test process mostly waits on its children, so one started early uses the core the
    tests leave free. Its output goes to temporary files (a full pipe would stall it).
    """

    def __init__(self, argv, *, timeout, env=None):
        self._out, self._err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
        self.process = subprocess.Popen(
            argv, stdout=self._out, stderr=self._err, text=True, cwd=ROOT, env=env
        )
        self._deadline = time.monotonic() + timeout
        self._result = None

    def result(self) -> subprocess.CompletedProcess:
        """Waits for the process; its exit status, stdout and stderr.

        Raises:
            subprocess.TimeoutExpired: after killing it, at ``timeout`` seconds from its start.
        """
        if self._result is None:
            try:
                self.process.wait(timeout=max(0.0, self._deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.kill()
                raise
            output = []
            for file in (self._out, self._err):
                file.seek(0)
                output.append(file.read())
                file.close()
            self._result = subprocess.CompletedProcess(
                self.process.args, self.process.returncode, *output
            )
        return self._result

    def kill(self) -> None:
        """Ends the process if it still runs (a module's teardown calls this)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


# TensorFlow's C++ core logs from its own threads ("E0000 00:00:… jpeg_mem.cc:331] …"),
# so such a line can land after the program's last words (a tf.data worker still
# decoding the next bad file while the program exits).
_NATIVE_LOG = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d")


def program_stderr(result) -> list[str]:
    """The stderr lines of ``result`` that the program wrote, TensorFlow's C++ logs left out."""
    return [line for line in result.stderr.strip().splitlines() if not _NATIVE_LOG.match(line)]
