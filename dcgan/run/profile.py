"""A TensorFlow profiler trace of a run's steps ``--profile_steps=START,END``.

The loop calls ``before`` each call of the compiled step and ``after`` once the device
has caught up; the trace goes into the workdir, for TensorBoard's Profile tab.
"""

from __future__ import annotations

import importlib.util
import os

import tensorflow as tf

from dcgan.config import Config


class Profile:
    """A TensorFlow profiler trace of the steps ``config.profile_steps`` = (START, END):
    from step START to step END, into the workdir, for TensorBoard's Profile tab."""

    def __init__(self, config: Config, logdir: str, step: int):
        self._logdir = logdir
        self._steps = config.profile_steps
        self._running = False
        if self._steps and step > self._steps[0]:
            print(
                f"--profile_steps={self._steps[0]},{self._steps[1]}: the run starts at step "
                f"{step}, past {self._steps[0]}; no profile",
                flush=True,
            )
            self._steps = ()

    def before(self, step: int) -> None:
        """Starts the trace if the next call begins at START."""
        if self._steps and step == self._steps[0]:
            tf.profiler.experimental.start(self._logdir)
            self._running = True

    def after(self, step: int) -> None:
        """Ends the trace once the device has reached END."""
        if self._running and step >= self._steps[1]:
            self.close()
            print(
                f"profile of steps {self._steps[0]}-{self._steps[1]}: {self._where()}", flush=True
            )

    def close(self) -> None:
        if self._running:
            self._running = False
            tf.profiler.experimental.stop()

    def __enter__(self) -> Profile:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()  # also when the run fails or stops inside the profiled steps

    def _where(self) -> str:
        where = os.path.join(self._logdir, "plugins", "profile")
        if importlib.util.find_spec("tensorboard_plugin_profile") is None:
            return (
                f"written under {where}; TensorBoard shows it in its Profile tab once "
                "the plugin is installed: pip install tensorboard-plugin-profile"
            )
        return f"written under {where}; see TensorBoard's Profile tab"
