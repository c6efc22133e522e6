"""Runs a dcgan entry point as a user would: ``python -m MODULE ARGS`` from the repo root."""

import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The hard timeout, in seconds, of a child that loads TensorFlow and does a little work:
# such a child takes 10-25 s alone on a 2-core machine, and several times that while the
# suite's workers and background commands share the cores (a CI run once killed a
# 12-second command at 30 s). The timeout is there to end a hang, not to time anything.
CHILD_TIMEOUT = 120


# The elapsed time before each line a run prints (``dcgan.run.history``).
_ELAPSED = re.compile(r"^\[\d+:\d\d:\d\d\] ")


def log_line(line):
    """A line a run printed, without the elapsed time before it."""
    return _ELAPSED.sub("", line)


def log_lines(out):
    """The lines a run printed, without the elapsed time before each."""
    return [log_line(line) for line in out.splitlines()]


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
    runs ``function(...)`` (``run_module``, say) in the pool; ``command(name, module,
    ...)`` queues a command line to share one child process with the others of its
    module and environment (``run_batch``), and ``start`` submits those batches. ``env``
    (kept as ``.env``) adds to the environment of every queued command line: a module
    whose commands need a variable (an empty KERAS_HOME, say) gives it here, so that
    they still share one process. A test reads ``result(name)``, waiting for it if
    needed, and ``folder(name)``. ``close`` waits for what is running and drops what has
    not started.
    """

    def __init__(self, tmp_path_factory, env=None):
        self._tmp_path_factory = tmp_path_factory
        self.env = dict(env or {})
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
        self._folders, self._futures, self._queued = {}, {}, {}

    def mkdir(self, name):
        self._folders[name] = self._tmp_path_factory.mktemp(name)
        return self._folders[name]

    def folder(self, name):
        return self._folders[name]

    def submit(self, name, function, *args, **kwargs):
        self._futures[name] = self._pool.submit(function, *args, **kwargs)

    def command(self, name, module, *args, env=None, timeout=CHILD_TIMEOUT):
        """Queues ``python -m module *args`` to run, with the other command lines queued
        for ``module`` and ``env``, in one child process (``run_batch``); ``start``
        submits the queued batches."""
        env = {**self.env, **(env or {})}
        batch = self._queued.setdefault((module, tuple(sorted(env.items()))), [])
        batch.append((name, args, timeout))

    def start(self):
        """Submits every queued batch to the pool."""
        for (module, env), batch in self._queued.items():
            timeout = sum(t for _, _, t in batch)
            argvs = [args for _, args, _ in batch]
            future = self._pool.submit(run_batch, module, argvs, env=dict(env), timeout=timeout)
            for index, (name, _, _) in enumerate(batch):
                self._futures[name] = _Item(future, index)
        self._queued = {}

    def result(self, name):
        self.start()
        return self._futures[name].result()

    def close(self):
        self._pool.shutdown(wait=True, cancel_futures=True)


class _Item:
    """The result of one command line of a batch."""

    def __init__(self, future, index):
        self._future, self._index = future, index

    def result(self):
        return self._future.result()[self._index]


def run_batch(module, argvs, *, env=None, timeout):
    """Runs each command line of ``argvs`` as ``python -m module *argv`` would, one after
    another in one child process (``tests/batch_child.py``); returns a
    ``subprocess.CompletedProcess`` for each, in order.

    Loading TensorFlow costs a process about 6 s of CPU on a 2-core machine, more than
    most commands under test then do; a batch pays it once. What must be a process of
    its own (a signal, a worker, a crash) uses ``run_module`` or ``start_module``.

    Raises:
        subprocess.TimeoutExpired: after killing it, if the batch runs ``timeout`` seconds.
        RuntimeError: if the child itself fails, quoting its stderr.
    """
    with tempfile.TemporaryDirectory() as folder:
        results_path = os.path.join(folder, "results.json")
        child = subprocess.run(
            [sys.executable, os.path.join(ROOT, "tests", "batch_child.py"), module, results_path],
            input=json.dumps([list(argv) for argv in argvs]),
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=timeout,
            env=None if not env else {**os.environ, **env},
        )
        if child.returncode != 0 or not os.path.exists(results_path):
            raise RuntimeError(f"the batch of {module} failed: {child.stderr[-3000:]}")
        with open(results_path) as f:
            results = json.load(f)
    return [
        subprocess.CompletedProcess(
            [sys.executable, "-m", module, *argv], r["returncode"], r["stdout"], r["stderr"]
        )
        for argv, r in zip(argvs, results, strict=True)
    ]


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
